/*
 * tempfile.h — unnamed temporary files in $TMPDIR, and whole-buffer
 * positioned reads and writes on them.  Used where a pass keeps data on disk
 * instead of in memory: a pipe's copy (csv/bytesource.c) and the sorted runs
 * of a column's values (base/sorted_spill.c).  Errors are reported as errno
 * values, so that each caller's message says what the file was for.
 */
#ifndef OOC_TEMPFILE_H
#define OOC_TEMPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The directory temporary files go to: $TMPDIR when set and not empty, else
 * "/tmp" (a pointer into the environment or a literal: not to be freed). */
const char *ooc_tempfile_dir(void);

/* A file descriptor (O_RDWR, close-on-exec) of a new temporary file in
 * `dir` that has no name (O_TMPFILE, or a name unlinked at once), so it
 * disappears when closed; -1 with errno set when it cannot be made. */
int ooc_tempfile_open(const char *dir);

/* Write data[0..n) at `offset` (retrying short writes and EINTR).  False
 * with errno set on failure (EIO when the system makes no progress). */
bool ooc_pwrite_all(int fd, const void *data, size_t n, uint64_t offset);

/* Read exactly n bytes at `offset` into dst.  False with errno set on
 * failure (EIO when the file is shorter). */
bool ooc_pread_all(int fd, void *dst, size_t n, uint64_t offset);

#endif
