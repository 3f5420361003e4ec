/*
 * collective.h — what every wing uses of an ooc_collective (oocsolve.h),
 * several processes (e.g. MPI ranks) working on one job: agreeing on
 * failure, broadcasts, tree sums, gathers.
 *
 * A failure on one process must not leave another waiting for it: every
 * exchange is preceded by ooc_coll_agree, which every process reaches, and
 * once an exchange has started each process plays its whole part (a local
 * failure during it is carried to the next agreement instead).  Every
 * function is a no-op (or returns `local`) when the collective is NULL or
 * has one process.  Users: the fit's merge of accumulators
 * (solve/collective.c), the CSV split and level merge of a parallel ingest
 * (csv/csv_split.c, csv/design_stream.c) and its parts (hdf5/ingest.c).
 */
#ifndef OOC_BASE_COLLECTIVE_H
#define OOC_BASE_COLLECTIVE_H

#include "oocsolve.h"

#include <stdbool.h>
#include <stddef.h>

/* True when c has more than one process. */
bool ooc_coll_active(const ooc_collective *c);

/* Every process offers its status `local`; called by every process at the
 * same point.  Returns local when it failed, except that with `shared` (a
 * failure every process meets alike, from the same inputs: a formula error,
 * a bad header) the processes other than 0 return OOC_ERR_REMOTE when
 * process 0 failed too, so that the message is reported once; OOC_ERR_REMOTE
 * naming the lowest failed process when another one failed ("stopped because
 * process K of N failed (it reports why)"); the transport's error; else
 * OOC_OK. */
ooc_status ooc_coll_agree(const ooc_collective *c, ooc_status local, bool shared, ooc_error *err);

/* rank 0's bytes into every process's data. */
ooc_status ooc_coll_broadcast(const ooc_collective *c, void *data, size_t bytes,
                              ooc_error *err);

/* Element-wise sums over the processes, in place on every process: a binary
 * tree towards rank 0 (each sum adds two partial sums), then a broadcast. */
ooc_status ooc_coll_sum(const ooc_collective *c, double *x, size_t n, ooc_error *err);
ooc_status ooc_coll_sum_long(const ooc_collective *c, long double *x, size_t n,
                             ooc_error *err);

/* One tree reduction: what a process gives (its running result, as bytes)
 * and how it takes in what it received into `incoming`. */
typedef struct ooc_coll_tree_ops {
    const void *(*give)(void *ctx);
    ooc_status (*take)(void *ctx, ooc_error *err);
    void *ctx;
    void *incoming;
    size_t bytes;
} ooc_coll_tree_ops;

/* The binary tree towards rank 0: at step s (1, 2, 4, ...) a process whose
 * rank is s modulo 2s gives its running result to rank - s and stops; one
 * that is 0 modulo 2s takes in rank + s's.  Every process plays its part
 * even after a failure of its own taking in, which *local carries to the
 * caller's next agreement.  Returns the transport's status. */
ooc_status ooc_coll_tree(const ooc_collective *c, const ooc_coll_tree_ops *t, ooc_status *local,
                         ooc_error *err);

/* Process 0 collects every process's `nbytes` bytes at `mine`: on process 0
 * *all becomes their concatenation in rank order (malloc'ed, the caller
 * frees it) and (*sizes)[k] process k's byte count (malloc'ed too); on the
 * others both become NULL.  Agrees first (a failure of `local`, which this
 * process carries in, stops every process as ooc_coll_agree does) and again
 * once process 0 has room.  Errors: as ooc_coll_agree, OOC_ERR_NOMEM. */
ooc_status ooc_coll_gather(const ooc_collective *c, ooc_status local, const void *mine,
                           size_t nbytes, void **all, size_t **sizes, ooc_error *err);

/* Process 0's *nbytes bytes at *data into every process: on the others
 * *data becomes a malloc'ed copy (the caller frees it) and *nbytes its size.
 * Agrees first (carrying `local`, as ooc_coll_gather).  Errors: as
 * ooc_coll_agree, OOC_ERR_NOMEM. */
ooc_status ooc_coll_broadcast_bytes(const ooc_collective *c, ooc_status local, void **data,
                                    size_t *nbytes, ooc_error *err);

#endif
