/*
 * h5parts.h — a design written by several processes (an ooc_collective):
 * each writes its rows as a part, OUT.part-K-of-N.h5, a file like one
 * process's, and process 0 writes OUT, whose /X (and /Y) are virtual
 * datasets joining the parts in order (h5write.h's ooc_h5_join_write).
 * Used by a parallel ingest and by svd's U written across processes.
 */
#ifndef OOC_HDF5_H5PARTS_H
#define OOC_HDF5_H5PARTS_H

#include "hdf5/h5write.h"
#include "oocsolve.h"

/* OUT.part-K-of-N.h5 for process `rank` of `size` (OUT less a final ".h5"),
 * K = rank + 1 padded with zeros to N's width.  Returns a malloc'ed string
 * or NULL. */
char *ooc_h5_part_path(const char *out, int rank, int size);

/* What one process publishes. */
typedef struct ooc_h5_parts_options {
    const char *out;                  /* the joining file's final name */
    const char *part;                 /* this process's part (ooc_h5_part_path) */
    uint64_t rows;                    /* rows of this process's part */
    size_t ncols;                     /* columns of X */
    bool with_y;
    const char *formula;              /* the joining file's attributes, as the writer's */
    const char *const *column_names;
    const char *transforms;
    bool durable;                     /* fsync before the renames */
} ooc_h5_parts_options;

/* Every process has its part finished under a temporary name (*writer,
 * ooc_h5w_finish): process 0 writes the joining file; every part is renamed
 * into place, then the joining file, each step agreed between the processes;
 * a failure anywhere removes every file renamed so far.  Frees *writer.
 * Called by every process.  Errors: the writer's, the transport's,
 * OOC_ERR_REMOTE (another process failed), OOC_ERR_NOMEM. */
ooc_status ooc_h5_parts_publish(const ooc_collective *c, const ooc_h5_parts_options *o,
                                ooc_h5_writer **writer, ooc_error *err);

#endif
