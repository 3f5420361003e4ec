/*
 * tsqr_rows.h — fold a panel of rows into a small upper triangle by
 * Householder reflections, working on row-major rows: the CPU backend's qr
 * kernel for narrow designs (see tsqr_rows_kernel.c for the algorithm and
 * the measurements behind it).
 *
 * Storage: the triangle R is p rows of `ooc_tsqr_rows_stride(p)` doubles
 * (row-major, zeros below the diagonal and in the padding); the panel is up
 * to `capacity` rows of the same stride.  Both must be 64-byte aligned
 * (ooc_tsqr_rows_alloc) and their padding columns must be zero.
 */
#ifndef OOC_TSQR_ROWS_H
#define OOC_TSQR_ROWS_H

#include <stdbool.h>
#include <stddef.h>

/* Widest rows (columns, y included) the kernel takes on this CPU: 64 with
 * AVX-512, 32 with AVX2+FMA, 16 otherwise. */
size_t ooc_tsqr_rows_max_p(void);

/* The instruction set the kernel uses on this CPU: "avx512", "avx2" or
 * "base".  Static string. */
const char *ooc_tsqr_rows_isa(void);

/* Doubles per stored row for p columns: p rounded up to a multiple of 8. */
size_t ooc_tsqr_rows_stride(size_t p);

/* A zeroed, 64-byte aligned array of `nrows` rows of ooc_tsqr_rows_stride(p)
 * doubles, or NULL when out of memory.  Release with free(). */
double *ooc_tsqr_rows_alloc(size_t nrows, size_t p);

/* Replace R by the R factor of [R; S], S the m rows at `rows` (row-major, `ld`
 * doubles apart, their first p values, each row multiplied by
 * sqrt(row[weight_col]) when weight_col >= 0).  The scaled rows are first
 * copied into `panel` (m <= its capacity), which the reflections then
 * overwrite.  The sign of R's diagonal is not normalised.
 *
 * Returns false, with R unchanged and the scaled rows in `panel`, when some
 * column of S is not finite or has a magnitude whose square could overflow or
 * underflow (column magnitudes outside about [2^-300, 2^300]): the caller must then
 * factor [R; panel] another way (LAPACK scales its norms).  Also false, with
 * nothing done, when p is 0 or above ooc_tsqr_rows_max_p().  Never fails
 * otherwise. */
bool ooc_tsqr_rows_fold(double *r, double *panel, size_t p, const double *rows, size_t ld,
                        long weight_col, size_t m);

#endif
