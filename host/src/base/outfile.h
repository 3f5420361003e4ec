/*
 * outfile.h — an output file written under a temporary name next to its
 * final path and renamed into place only when complete, so that the final
 * name holds either the old file or the whole new one, never a part.
 *
 * The temporary file is "NAME.oocsolve-partial-XXXXXX" in the output's
 * directory: not hidden, so one that SIGKILL or a crash leaves behind is seen
 * next to the output and recognised.
 *
 *     ooc_outfile out = {0};
 *     OOC_CHECK(ooc_outfile_begin(&out, path, err));
 *     ... write through out.fd, or create out.tmp_path by name (H5Fcreate
 *         with H5F_ACC_TRUNC) and close it again ...
 *     OOC_CHECK(ooc_outfile_commit(&out, durable, err));
 *   out:
 *     ooc_outfile_abort(&out);   (no-op after a commit, or before a begin)
 *
 * A zero-initialised ooc_outfile is "not begun".  Not thread-safe; one
 * outfile per output.
 */
#ifndef OOC_OUTFILE_H
#define OOC_OUTFILE_H

#include "oocsolve.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct ooc_outfile {
    char *path;     /* final name (a copy), NULL when not begun */
    char *tmp_path; /* temporary name in the same directory, NULL when there is none */
    int fd;         /* the temporary file opened read-write, -1 once closed */
} ooc_outfile;

/* Create a new, empty temporary file for `path` (O_EXCL, mode 0666 minus the
 * umask, like any new file) and keep it open read-write in f->fd.  When the
 * temporary name is longer than the directory allows (_PC_NAME_MAX), NAME is
 * cut at a UTF-8 character boundary; the random suffix and O_EXCL keep it
 * unique.  On failure *f is left "not begun".  Errors: OOC_ERR_INVALID_ARG
 * (path ends in '/'), OOC_ERR_IO (the temporary file cannot be created:
 * message names it and path), OOC_ERR_NOMEM. */
ooc_status ooc_outfile_begin(ooc_outfile *f, const char *path, ooc_error *err);

/* Finish the output: when `durable`, fsync the temporary file (its data and
 * size reach the disk before the rename, so after a power loss the final
 * name holds the old file or the complete new one); close f->fd, rename the
 * temporary file over f->path.  Whatever anything else holds open on the
 * temporary file (an HDF5 file id) must be closed first.  On success and on
 * failure *f is released (the temporary file is removed on failure) and left
 * "not begun".  Errors: OOC_ERR_IO with the path and the system's reason. */
ooc_status ooc_outfile_commit(ooc_outfile *f, bool durable, ooc_error *err);

/* Give up the output: close f->fd if open, remove the temporary file, free
 * the names; *f is left "not begun".  Never fails; f may be NULL, or not
 * begun (then nothing happens). */
void ooc_outfile_abort(ooc_outfile *f);

/* Write a file through stdio the same way: body(f, ctx) writes the content
 * to the temporary file, which is renamed over `path` only if every write
 * succeeded (otherwise it is removed).  `what` names the file's role in
 * messages ("profile trace").  Errors: OOC_ERR_IO, OOC_ERR_NOMEM, those of
 * ooc_outfile_begin. */
ooc_status ooc_write_file_atomic(const char *path, const char *what,
                                 void (*body)(FILE *f, const void *ctx), const void *ctx,
                                 ooc_error *err);

#endif
