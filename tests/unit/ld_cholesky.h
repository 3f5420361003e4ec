/*
 * ld_cholesky.h — the C tests' long double reference solve of the normal
 * equations, written once (test_fit.c, test_api.c).
 */
#ifndef OOC_TEST_LD_CHOLESKY_H
#define OOC_TEST_LD_CHOLESKY_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

/* Solve G b = h in long double by Cholesky, G = L Lᵀ: G is k x k symmetric
 * positive definite, row-major with leading dimension ld (its lower triangle
 * is overwritten by L); b gets k values (k <= 64).  false when G is not
 * positive definite. */
static inline bool ld_cholesky_solve(long double *g, size_t ld, size_t k, const long double *h,
                                     long double *b)
{
    long double z[64];
    if (k > 64)
        return false;
    for (size_t j = 0; j < k; j++) {
        long double d = g[j * ld + j];
        for (size_t m = 0; m < j; m++)
            d -= g[j * ld + m] * g[j * ld + m];
        if (!(d > 0))
            return false;
        g[j * ld + j] = sqrtl(d);
        for (size_t i = j + 1; i < k; i++) {
            long double s = g[i * ld + j];
            for (size_t m = 0; m < j; m++)
                s -= g[i * ld + m] * g[j * ld + m];
            g[i * ld + j] = s / g[j * ld + j];
        }
    }
    for (size_t i = 0; i < k; i++) {
        long double s = h[i];
        for (size_t m = 0; m < i; m++)
            s -= g[i * ld + m] * z[m];
        z[i] = s / g[i * ld + i];
    }
    for (size_t i = k; i-- > 0;) {
        long double s = z[i];
        for (size_t m = i + 1; m < k; m++)
            s -= g[m * ld + i] * b[m];
        b[i] = s / g[i * ld + i];
    }
    return true;
}

#endif
