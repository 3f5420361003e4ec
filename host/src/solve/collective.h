/*
 * collective.h — the solve wing's use of an ooc_collective (oocsolve.h):
 * agreeing on failure, sums, and the merge of accumulators across
 * processes.  Every function is a no-op (or returns `local`) when the
 * collective is NULL or has one process.
 */
#ifndef OOC_SOLVE_COLLECTIVE_H
#define OOC_SOLVE_COLLECTIVE_H

#include "oocsolve.h"
#include "solve/accumulator.h"

/* Every process offers its status; returns `local` when it failed (its err
 * untouched), OOC_ERR_REMOTE naming the lowest failed process when another
 * did, else OOC_OK.  Called by every process at the same point. */
ooc_status ooc_coll_agree(const ooc_collective *c, ooc_status local, ooc_error *err);

/* rank 0's bytes into every process's data. */
ooc_status ooc_coll_broadcast(const ooc_collective *c, void *data, size_t bytes,
                              ooc_error *err);

/* Element-wise sums over the processes, in place on every process: a binary
 * tree towards rank 0 (each sum adds two partial sums), then a broadcast. */
ooc_status ooc_coll_sum(const ooc_collective *c, double *x, size_t n, ooc_error *err);
ooc_status ooc_coll_sum_long(const ooc_collective *c, long double *x, size_t n,
                             ooc_error *err);

/* Merge every process's accumulator (its open pass closed first, under
 * trace) into one, held afterwards by every process: the triangles by a
 * binary tree of stacked-QR merges (ooc_triangle_merge), the side statistics
 * summed (extremes by min/max, y's moments by Chan's formula), then rank 0's
 * result broadcast.  The processes' accumulators must have the same shape
 * (they come from the same inputs).  Errors: the backend's, the
 * transport's, OOC_ERR_NOMEM. */
ooc_status ooc_accumulator_reduce(ooc_accumulator *acc, const ooc_collective *c,
                                  ooc_trace *trace, ooc_error *err);

#endif
