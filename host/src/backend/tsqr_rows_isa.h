/*
 * tsqr_rows_isa.h — the per-instruction-set builds of the row-major QR
 * kernel (tsqr_rows_kernel.c compiled once per variant by CMake) and their
 * limits.  Internal to tsqr_rows.c and the tests; callers use tsqr_rows.h.
 * Each has ooc_tsqr_rows_fold's contract, but refuses (returns false) when p
 * exceeds its own limit, and may only be called on a CPU that has its
 * instructions.
 */
#ifndef OOC_TSQR_ROWS_ISA_H
#define OOC_TSQR_ROWS_ISA_H

#include "backend/tsqr_rows.h"

/* baseline: 2-double vectors, p <= 16 (SSE2 on x86-64) */
bool ooc_tsqr_rows_fold_base(double *r, double *panel, size_t p, const double *rows, size_t ld,
                             long weight_col, size_t m);
#define OOC_TSQR_ROWS_BASE_MAX_P 16

#if defined(__x86_64__)
#define OOC_TSQR_ROWS_HAVE_X86_VARIANTS 1
/* AVX2 + FMA: 4-double vectors, p <= 32 */
bool ooc_tsqr_rows_fold_avx2(double *r, double *panel, size_t p, const double *rows, size_t ld,
                             long weight_col, size_t m);
#define OOC_TSQR_ROWS_AVX2_MAX_P 32
/* AVX-512F: 8-double vectors, p <= 64 */
bool ooc_tsqr_rows_fold_avx512(double *r, double *panel, size_t p, const double *rows,
                               size_t ld, long weight_col, size_t m);
#define OOC_TSQR_ROWS_AVX512_MAX_P 64
#endif

#endif
