/*
 * collective.h — the merge of accumulators across the processes of an
 * ooc_collective (oocsolve.h); the exchanges themselves are
 * base/collective.h's.  A no-op when the collective is NULL or has one
 * process.
 */
#ifndef OOC_SOLVE_COLLECTIVE_H
#define OOC_SOLVE_COLLECTIVE_H

#include "base/collective.h"
#include "oocsolve.h"
#include "solve/accumulator.h"

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
