/*
 * sorted_spill.h — the values of a column in ascending order, out of core:
 * an external merge sort.  Values are added in any order; each run of
 * `run_values` is sorted in memory and written to an unnamed temporary file
 * in $TMPDIR (base/tempfile.h); reading merges the runs with a heap, any
 * number of times.  When every value fits in one run no file is made.
 *
 * Memory: 2 x run_values doubles while adding (a run and the radix sort's
 * second buffer), then MERGE_BUFFER doubles per
 * run while reading (32 KiB a run: 1e9 values in runs of 2^20 need about
 * 30 MiB); disk: 8 bytes a value.  Used for exact quantiles of a column
 * (formula/transforms.c: the knots of bs, cr and cc).
 */
#ifndef OOC_SORTED_SPILL_H
#define OOC_SORTED_SPILL_H

#include "oocsolve.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ooc_sorted_spill ooc_sorted_spill;

/* A new, empty spill (*out; free with ooc_sorted_spill_free) whose runs hold
 * run_values values (0: 2^20).  `what` names the values in I/O messages
 * ("the values of bs(x, df=5)"; copied).  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_sorted_spill_create(size_t run_values, const char *what, ooc_sorted_spill **out,
                                   ooc_error *err);

/* Add a value (not NaN).  Errors: OOC_ERR_IO (the temporary file cannot be
 * made or written: the message names the directory and says to set TMPDIR),
 * OOC_ERR_INVALID_ARG (reading has begun), OOC_ERR_NOMEM. */
ooc_status ooc_sorted_spill_add(ooc_sorted_spill *s, double v, ooc_error *err);

/* Values added so far. */
uint64_t ooc_sorted_spill_count(const ooc_sorted_spill *s);

/* Start reading from the smallest value (again: any number of times).  No
 * value may be added after the first call.  Errors: OOC_ERR_IO,
 * OOC_ERR_NOMEM. */
ooc_status ooc_sorted_spill_rewind(ooc_sorted_spill *s, ooc_error *err);

/* The next value in ascending order (-0.0 and 0.0 compare equal) into *v;
 * false at the end.  Errors (*status, else left alone): OOC_ERR_IO. */
bool ooc_sorted_spill_next(ooc_sorted_spill *s, double *v, ooc_status *status, ooc_error *err);

/* Close the file and free everything.  NULL is a no-op. */
void ooc_sorted_spill_free(ooc_sorted_spill *s);

#endif
