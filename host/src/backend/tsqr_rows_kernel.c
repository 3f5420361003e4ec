/*
 * tsqr_rows_kernel.c — Householder QR of [R; S] for a small upper triangle R and a
 * panel S of row-major rows, the CPU backend's qr kernel for narrow designs.
 *
 * Why not LAPACK: for p of a few dozen columns dgeqrf falls back to its
 * unblocked dgeqr2, a sequence of level-2 calls (dnrm2, dgemv, dger) that
 * each stream the whole panel, run column by column on column-major data
 * that first has to be transposed from the blocks' row-major rows, and treat
 * the p rows of R like any other rows.  Here:
 *
 *  - rows stay row-major (one row = ooc_tsqr_rows_stride(p) doubles, a
 *    multiple of 8, so a whole number of vectors of every width), so every
 *    operation on a row is a few vector instructions across its columns;
 *  - a reflector for column j touches only row j of R and the panel, as in
 *    LAPACK's dtpqrt (the rows of R below j are zero in column j);
 *  - each column costs ONE pass over the panel: the pass that applies
 *    reflector j to a row also accumulates that updated row's products with
 *    its own column j+1, g = Σ_i S[i][j+1]·S[i][:], which is everything
 *    reflector j+1 needs (its norm² is g[j+1], and vᵀa_k = R[j+1][k] + s·g[k]
 *    for the scale s of its vector).  The first gram row comes with the copy.
 *
 * The reflector is dlarfg's: β = -sign(α)·sqrt(α² + σ), τ = (β - α)/β,
 * v = [1; S[:,j]/(α - β)], with τ = 0 when σ = 0.  The norms are formed from
 * plain sums of squares, so the copy also sums |x| per column and the fold is
 * refused (caller: LAPACK, which scales) when a column's magnitude could make
 * them overflow or underflow.  Accuracy is that of Householder QR, like
 * dgeqrf's; tests/unit/test_tsqr_rows.c compares with a long double reference.
 *
 * The passes are written with GCC/Clang vector extensions of
 * OOC_TSQR_LANES doubles and specialised for 1–8 vectors per row.  CMake
 * compiles this file once per instruction set (8 lanes with AVX-512, 4 with
 * AVX2+FMA, 2 as the baseline), each defining OOC_TSQR_FOLD as its own
 * name; tsqr_rows.c picks one at run time.  A variant takes p up to
 * 8·OOC_TSQR_LANES.  (GCC's target_clones was tried: its resolver for
 * arch=… clones matches CPU models, not features, and chose the baseline on
 * this Xeon; and a 64-byte vector type compiled for AVX2 ran more than 10×
 * slower than native 32-byte vectors.)
 */
#include "backend/tsqr_rows_isa.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(OOC_TSQR_LANES) || !defined(OOC_TSQR_FOLD)
#error "compile with -DOOC_TSQR_LANES=<doubles per vector> -DOOC_TSQR_FOLD=<function name>"
#endif
#define LANES OOC_TSQR_LANES
#define MAX_VECTORS 8
/* Column magnitudes the plain sums of squares handle safely (see tsqr_rows.h). */
#define SAFE_MAX 0x1p300
#define SAFE_MIN 0x1p-300

typedef double vec __attribute__((vector_size(LANES * sizeof(double))));
typedef int64_t ivec __attribute__((vector_size(LANES * sizeof(double))));

#define INLINE static inline __attribute__((always_inline))

/* x in every lane; |a| lane by lane.  (Macros: passing 64-byte vectors to and
 * from functions draws ABI warnings on targets without AVX-512.) */
#define SPLAT(x) ((double)(x) - (vec){0}) /* x - 0.0 is x, even for -0.0 */
#define VABS(a) ((vec)((ivec)(a) & ((ivec){0} + INT64_MAX)))

/* Copy and scale the rows into the panel; g[v] = Σ_i S[i][0]·S[i][vector v],
 * abs_sum[v] = Σ_i |S[i][vector v]|.  A row is loaded a whole vector at a
 * time, lanes past column p masked to zero, whenever those loads stay inside
 * the caller's rows (all but the last few rows); the rest go through a scalar
 * copy. */
INLINE void copy_pass(double *panel, size_t stride, size_t p, const double *rows, size_t ld,
                      long weight_col, size_t m, vec *g, vec *abs_sum, const size_t nv)
{
    vec gs[MAX_VECTORS], as[MAX_VECTORS];
    ivec last_mask;
    for (size_t l = 0; l < LANES; l++)
        last_mask[l] = (nv - 1) * LANES + l < p ? -1 : 0;
    for (size_t v = 0; v < nv; v++)
        gs[v] = as[v] = SPLAT(0.0);
    const size_t extent = (m - 1) * ld + p; /* doubles readable at rows (m >= 1) */
    for (size_t i = 0; i < m; i++) {
        const double *src = rows + i * ld;
        double *dst = panel + i * stride;
        vec a[MAX_VECTORS];
        if (i * ld + nv * LANES <= extent) {
            for (size_t v = 0; v < nv; v++)
                memcpy(&a[v], src + LANES * v, sizeof a[v]);
            a[nv - 1] = (vec)((ivec)a[nv - 1] & last_mask);
        } else {
            memcpy(dst, src, p * sizeof(double)); /* the padding stays zero */
            for (size_t v = 0; v < nv; v++)
                a[v] = *(const vec *)(dst + LANES * v);
        }
        if (weight_col >= 0) {
            vec s = SPLAT(sqrt(src[weight_col]));
            for (size_t v = 0; v < nv; v++)
                a[v] *= s;
        }
        vec x0 = SPLAT(a[0][0]);
        for (size_t v = 0; v < nv; v++) {
            *(vec *)(dst + LANES * v) = a[v];
            as[v] += VABS(a[v]);
            gs[v] += x0 * a[v];
        }
    }
    for (size_t v = 0; v < nv; v++) {
        g[v] = gs[v];
        abs_sum[v] = as[v];
    }
}

/* One row of update_pass: apply reflector j to vectors [vs, vs+nv) of the
 * row, then acc[v] += S[i][j+1]·(updated vector v). */
INLINE void update_row(double *row, size_t j, size_t vs, const vec *c, vec *acc, const size_t nv)
{
    vec x = SPLAT(row[j]);
    for (size_t v = 0; v < nv; v++)
        *(vec *)(row + LANES * (vs + v)) -= x * c[v];
    vec y = SPLAT(row[j + 1]);
    for (size_t v = 0; v < nv; v++)
        acc[v] += y * *(const vec *)(row + LANES * (vs + v));
}

/* Apply reflector j (S[i][:] -= S[i][j]·c) to vectors [vs, vs+nv) of every
 * row and accumulate g[v] = Σ_i S[i][j+1]·S[i][vs+v] over the updated rows. */
INLINE void update_pass(double *panel, size_t stride, size_t m, size_t j, size_t vs,
                        const vec *c, vec *g, const size_t nv)
{
    /* enough independent accumulators to hide the FMA latency, few enough to stay in registers */
    enum { MAX_UNROLL = 4 };
    const size_t unroll = nv <= 2 ? 4 : nv <= 4 ? 2 : 1;
    vec acc[MAX_UNROLL][MAX_VECTORS];
    for (size_t u = 0; u < unroll; u++)
        for (size_t v = 0; v < nv; v++)
            acc[u][v] = SPLAT(0.0);
    size_t i = 0;
    for (; i + unroll <= m; i += unroll)
        for (size_t u = 0; u < unroll; u++)
            update_row(panel + (i + u) * stride, j, vs, c, acc[u], nv);
    for (; i < m; i++)
        update_row(panel + i * stride, j, vs, c, acc[0], nv);
    for (size_t v = 0; v < nv; v++) {
        vec sum = acc[0][v];
        for (size_t u = 1; u < unroll; u++)
            sum += acc[u][v];
        g[v] = sum;
    }
}

/* Whether every |R| entry is at most SAFE_MAX (false for NaN, whose bits
 * compare above infinity's): the bits of non-negative doubles order like the
 * numbers, so the check is an integer compare per lane. */
INLINE bool r_in_range(const double *r, size_t p, size_t stride)
{
    const double safe_max = SAFE_MAX;
    int64_t limit_bits;
    memcpy(&limit_bits, &safe_max, sizeof limit_bits);
    const ivec limit = (ivec){0} + limit_bits;
    ivec over = {0};
    for (size_t k = 0; k < p * stride; k += LANES)
        over |= (ivec)VABS(*(const vec *)(r + k)) > limit;
    for (size_t l = 0; l < LANES; l++)
        if (over[l])
            return false;
    return true;
}

bool OOC_TSQR_FOLD(double *r, double *panel, size_t p, const double *rows, size_t ld,
                        long weight_col, size_t m)
{
    const size_t stride = ooc_tsqr_rows_stride(p), nv = stride / LANES;
    if (p == 0 || nv > MAX_VECTORS)
        return false;
    if (m == 0)
        return true;
    vec gv[MAX_VECTORS], abs_sum[MAX_VECTORS], cv[MAX_VECTORS];
    double *g = (double *)gv, *c = (double *)cv;

#define COPY_CASE(N) \
    case N: copy_pass(panel, stride, p, rows, ld, weight_col, m, gv, abs_sum, N); break;
    switch (nv) {
        COPY_CASE(1) COPY_CASE(2) COPY_CASE(3) COPY_CASE(4)
        COPY_CASE(5) COPY_CASE(6) COPY_CASE(7) COPY_CASE(8)
        default: __builtin_unreachable(); /* 1 <= nv <= MAX_VECTORS */
    }
#undef COPY_CASE
    const double *col_abs_sum = (const double *)abs_sum;
    for (size_t k = 0; k < p; k++)
        if (col_abs_sum[k] != 0.0 &&
            !(col_abs_sum[k] <= SAFE_MAX && col_abs_sum[k] >= (double)m * SAFE_MIN))
            return false;
    if (!r_in_range(r, p, stride))
        return false;

    for (size_t j = 0; j < p; j++) {
        double *rj = r + j * stride;
        double sigma = g[j], alpha = rj[j];
        memset(c, 0, stride * sizeof(double));
        if (sigma != 0.0) {
            double beta = -copysign(sqrt(alpha * alpha + sigma), alpha);
            double tau = (beta - alpha) / beta, s = 1.0 / (alpha - beta);
            rj[j] = beta;
            for (size_t k = j + 1; k < p; k++) {
                double w = rj[k] + s * g[k];
                rj[k] -= tau * w;
                c[k] = tau * s * w;
            }
        }
        if (j + 1 == p)
            break;
        /* vectors holding columns > j: the others are finished */
        size_t vs = (j + 1) / LANES;
#define UPDATE_CASE(N) \
    case N: update_pass(panel, stride, m, j, vs, cv + vs, gv + vs, N); break;
        switch (nv - vs) {
            UPDATE_CASE(1) UPDATE_CASE(2) UPDATE_CASE(3) UPDATE_CASE(4)
            UPDATE_CASE(5) UPDATE_CASE(6) UPDATE_CASE(7) UPDATE_CASE(8)
            default: __builtin_unreachable(); /* 1 <= nv - vs <= nv <= MAX_VECTORS */
        }
#undef UPDATE_CASE
    }
    return true;
}
