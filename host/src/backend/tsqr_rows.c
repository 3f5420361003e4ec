/*
 * tsqr_rows.c — storage helpers of the row-major QR kernel and the choice of
 * its build for this CPU (AVX-512, AVX2+FMA or baseline; see
 * tsqr_rows_kernel.c), made on each call from the CPU's feature flags.
 */
#include "backend/tsqr_rows.h"
#include "backend/tsqr_rows_isa.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef bool (*fold_fn)(double *, double *, size_t, const double *, size_t, long, size_t);

typedef struct variant {
    const char *isa;
    size_t max_p;
    fold_fn fold;
} variant;

/* The widest variant this CPU (and its OS, which must save the vector
 * registers: libgcc's feature check includes that) can run. */
static variant best_variant(void)
{
#if defined(OOC_TSQR_ROWS_HAVE_X86_VARIANTS)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return (variant){"avx512", OOC_TSQR_ROWS_AVX512_MAX_P, ooc_tsqr_rows_fold_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (variant){"avx2", OOC_TSQR_ROWS_AVX2_MAX_P, ooc_tsqr_rows_fold_avx2};
#endif
    return (variant){"base", OOC_TSQR_ROWS_BASE_MAX_P, ooc_tsqr_rows_fold_base};
}

size_t ooc_tsqr_rows_max_p(void)
{
    return best_variant().max_p;
}

const char *ooc_tsqr_rows_isa(void)
{
    return best_variant().isa;
}

bool ooc_tsqr_rows_fold(double *r, double *panel, size_t p, const double *rows, size_t ld,
                        long weight_col, size_t m)
{
    return best_variant().fold(r, panel, p, rows, ld, weight_col, m);
}

size_t ooc_tsqr_rows_stride(size_t p)
{
    return (p + 7) / 8 * 8;
}

double *ooc_tsqr_rows_alloc(size_t nrows, size_t p)
{
    size_t stride = ooc_tsqr_rows_stride(p);
    if (nrows == 0 || stride == 0 || nrows > SIZE_MAX / sizeof(double) / stride)
        return NULL;
    size_t nbytes = nrows * stride * sizeof(double); /* a multiple of 64 */
    double *a = aligned_alloc(64, nbytes);
    if (a)
        memset(a, 0, nbytes);
    return a;
}
