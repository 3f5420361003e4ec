/*
 * h5join.h — a dataset that is an HDF5 virtual dataset joining whole
 * datasets of other files one after the other: what a parallel ingest's
 * OUT.h5 holds (ooc_h5_join_write, h5write.h).  The HDF5 source reads such
 * a file as its parts (stream/concat_source.c), with direct chunk reads and
 * its own decoders on workers, where H5Dread of the virtual dataset would
 * decode every chunk in HDF5 on one thread (and could not decode blosc);
 * `info` lists the parts.
 */
#ifndef OOC_H5JOIN_H
#define OOC_H5JOIN_H

#include "oocsolve.h"

#include <hdf5.h>
#include <stdint.h>

typedef struct ooc_h5_join {
    size_t nparts;      /* 0: not such a join */
    char **paths;       /* each part's file, found as HDF5 finds it (malloc'ed) */
    uint64_t *rows;     /* each part's rows */
    char *problem;      /* not such a join because a mapped part is missing or is not of the
                         * mapped shape (HDF5 would read fill values there): why (malloc'ed);
                         * else NULL */
} ooc_h5_join;

/* Whether dataset `name` of the open `file` (at `path`) joins the whole
 * datasets of the same name of other files, in order, all its columns: then
 * *j lists them.  j->nparts is 0 when it does not (not virtual; a mapping of
 * part of a dataset or of some columns, of another dataset name, a file name
 * pattern or the file itself; or HDF5_VDS_PREFIX set, which changes where
 * HDF5 looks for the parts): the dataset is then read as any other.  A part
 * that is missing or not of the mapped shape sets j->problem instead, since
 * HDF5 would read fill values in its place.  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_h5_join_probe(const char *path, hid_t file, const char *name, ooc_h5_join *j,
                             ooc_error *err);

/* Whether two joins have the same parts and rows. */
bool ooc_h5_join_same(const ooc_h5_join *a, const ooc_h5_join *b);

/* Free the lists and empty *j (an empty one is fine). */
void ooc_h5_join_free(ooc_h5_join *j);

#endif
