/* test_tsqr_rows.c — the row-major Householder kernel (tsqr_rows.c) against
 * independent references:
 *  - backward error: RᵀR equals the Gram of all folded rows computed in long
 *    double, to gram_tol (Householder QR's backward error bound, lsq_bounds.h);
 *  - forward: R equals LAPACK's dgeqrf R of the stacked rows (rows' signs
 *    normalised) to the R factor's perturbation bound 2√2·κ·√p·γ (κ of the
 *    data from LAPACK's SVD here);
 *  - every specialisation (p = 1..64 crosses each vector count), panels of 1
 *    row up, weights, a zero column and an exactly repeated column;
 *  - refusals leave R untouched: huge, tiny, NaN and Inf columns, a huge R,
 *    p above the limit;
 *  - each instruction-set build this CPU can run (baseline, AVX2, AVX-512),
 *    not only the one the dispatcher picks, in one run; it prints which ran,
 *    which this CPU lacks, the dispatcher's pick, and the worst
 *    error/tolerance ratios (the margins a different CPU may eat into). */
#include "lsq_bounds.h"
#include "testutil.h"
#include "backend/tsqr_rows.h"
#include "backend/tsqr_rows_isa.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64* uniform in (-1, 1): deterministic test data */
static double rnd(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static double worst_gram = 0.0, worst_forward = 0.0; /* largest error / tolerance */

/* max |RᵀR - G| / max|G|, G the long double Gram of n rows (ld apart, weighted
 * by column wcol when >= 0); r is p x stride row-major. */
static double gram_error(const double *r, size_t p, size_t stride, const double *rows, size_t n,
                         size_t ld, long wcol)
{
    double maxdiff = 0.0, maxg = 0.0;
    for (size_t a = 0; a < p; a++)
        for (size_t b = a; b < p; b++) {
            long double g = 0.0L, rr = 0.0L;
            for (size_t i = 0; i < n; i++) {
                long double w = wcol >= 0 ? rows[i * ld + (size_t)wcol] : 1.0L;
                g += w * rows[i * ld + a] * rows[i * ld + b];
            }
            for (size_t i = 0; i <= a; i++)
                rr += (long double)r[i * stride + a] * r[i * stride + b];
            double d = fabs((double)(rr - g));
            maxdiff = d > maxdiff ? d : maxdiff;
            maxg = fabs((double)g) > maxg ? fabs((double)g) : maxg;
        }
    return maxg > 0 ? maxdiff / maxg : maxdiff;
}

/* ‖R_ours - R_lapack‖_F / ‖R_lapack‖_F, comparing rows after making both
 * diagonals non-negative; *kappa gets κ₂ of the (weighted) rows. */
static double lapack_difference(const double *r, size_t p, size_t stride, const double *rows,
                                size_t n, size_t ld, long wcol, double *kappa)
{
    double *a = malloc(n * p * sizeof(double)), *tau = malloc(p * sizeof(double));
    double *c = malloc(n * p * sizeof(double)), *sv = malloc(p * sizeof(double)),
           *superb = malloc(p * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double s = wcol >= 0 ? sqrt(rows[i * ld + (size_t)wcol]) : 1.0;
        for (size_t j = 0; j < p; j++)
            a[j * n + i] = rows[i * ld + j] * s;
    }
    memcpy(c, a, n * p * sizeof(double));
    CHECK(LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)n, (lapack_int)p, c,
                         (lapack_int)n, sv, NULL, 1, NULL, 1, superb) == 0);
    *kappa = sv[0] / sv[p - 1];
    CHECK(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)p, a, (lapack_int)n, tau) ==
          0);
    double diff2 = 0.0, norm2 = 0.0;
    for (size_t i = 0; i < p && i < n; i++) {
        double so = r[i * stride + i] < 0 ? -1.0 : 1.0, sl = a[i * n + i] < 0 ? -1.0 : 1.0;
        for (size_t j = i; j < p; j++) {
            double ours = so * r[i * stride + j], ref = sl * a[j * n + i];
            diff2 += (ours - ref) * (ours - ref);
            norm2 += ref * ref;
        }
    }
    free(a);
    free(tau);
    free(c);
    free(sv);
    free(superb);
    return norm2 > 0 ? sqrt(diff2 / norm2) : sqrt(diff2);
}

typedef bool (*fold_fn)(double *, double *, size_t, const double *, size_t, long, size_t);
static fold_fn fold = ooc_tsqr_rows_fold; /* the build under test */
static const char *fold_name = "dispatch";

/* Fold n random rows of p columns in panels of `panel` rows; check both references. */
static void run_case(size_t p, size_t n, size_t panel, bool weighted)
{
    unsigned long long seed = 0x2545F4914F6CDD1DULL ^ (p * 7919 + n * 31 + panel);
    size_t ld = p + (weighted ? 2 : 1); /* a spare column the kernel must ignore */
    long wcol = weighted ? (long)p + 1 : -1;
    double *rows = malloc(n * ld * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < ld; j++)
            rows[i * ld + j] = rnd(&seed) + (j == 0 ? 2.0 : 0.0);
        if (weighted)
            rows[i * ld + (size_t)wcol] = 0.25 + rnd(&seed) * rnd(&seed) + 0.75;
    }
    size_t stride = ooc_tsqr_rows_stride(p);
    double *r = ooc_tsqr_rows_alloc(p, p), *pn = ooc_tsqr_rows_alloc(panel, p);
    CHECK(r && pn);
    for (size_t done = 0; done < n; done += panel) {
        size_t m = n - done < panel ? n - done : panel;
        CHECK_MSG(fold(r, pn, p, rows + done * ld, ld, wcol, m), "%s p=%zu refused", fold_name,
                  p);
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < stride; j++)
            if (j < i || j >= p)
                CHECK_MSG(r[i * stride + j] == 0.0, "p=%zu: R[%zu][%zu] = %g, not zero", p, i, j,
                          r[i * stride + j]);
    double tol = gram_tol(n, p);
    double ge = gram_error(r, p, stride, rows, n, ld, wcol);
    worst_gram = fmax(worst_gram, ge / tol);
    CHECK_MSG(ge <= tol, "%s p=%zu n=%zu panel=%zu weighted=%d: gram error %.3g > %.3g", fold_name,
              p, n, panel, weighted, ge, tol);
    if (n >= p) {
        /* Both R's are exact R factors of rows within γ per column, and the R factor
         * moves by ‖ΔR‖_F/‖R‖₂ ≤ √2·κ₂(A)·‖ΔA‖_F/‖A‖₂ (Sun, BIT 31, 1991) with
         * ‖ΔA‖_F ≤ γ√p·‖A‖₂: they differ by at most 2√2·κ·√p·γ (≤ 1e-11 here, for
         * κ ≤ 10), a wrong row or triangle by ≥ 1/n. */
        double kappa;
        double ld_diff = lapack_difference(r, p, stride, rows, n, ld, wcol, &kappa);
        double ftol = 2.0 * sqrt(2.0) * kappa * sqrt((double)p) * gamma_np(n, p);
        worst_forward = fmax(worst_forward, ld_diff / ftol);
        CHECK_MSG(ld_diff <= ftol, "p=%zu n=%zu panel=%zu: differs from dgeqrf by %.3g > %.3g",
                  p, n, panel, ld_diff, ftol);
    }
    free(rows);
    free(r);
    free(pn);
}

/* Column 2 is zero and column 4 repeats column 1: R[2][2] must be exactly 0
 * (reflections of a zero column stay zero), R[4][4] must vanish to rounding —
 * R is exact for columns within γ·‖a_j‖, so |R[4][4]| ≤ ‖Δa_4 - Δa_1‖ ≤
 * 2γ·max‖a_j‖, while an independent column gives R[5][5] ≈ ‖a_5‖ (> 0.1 of it
 * for these random columns, a statistical not a rounding threshold) — and the
 * Gram identity still hold. */
static void test_rank_deficient(void)
{
    const size_t p = 6, n = 500;
    unsigned long long seed = 99;
    double *rows = malloc(n * p * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p; j++)
            rows[i * p + j] = rnd(&seed);
        rows[i * p + 2] = 0.0;
        rows[i * p + 4] = rows[i * p + 1];
    }
    size_t stride = ooc_tsqr_rows_stride(p);
    double *r = ooc_tsqr_rows_alloc(p, p), *pn = ooc_tsqr_rows_alloc(128, p);
    for (size_t done = 0; done < n; done += 128)
        CHECK(ooc_tsqr_rows_fold(r, pn, p, rows + done * p, p, -1, n - done < 128 ? n - done : 128));
    double scale = fabs(r[0]), colmax = 0.0;
    for (size_t j = 0; j < p; j++) {
        double c = 0.0;
        for (size_t i = 0; i < n; i++)
            c += rows[i * p + j] * rows[i * p + j];
        colmax = fmax(colmax, sqrt(c));
    }
    CHECK(r[2 * stride + 2] == 0.0);
    CHECK_MSG(fabs(r[4 * stride + 4]) <= 2.0 * gamma_np(n, p) * colmax, "R[4][4] = %g > %g",
              r[4 * stride + 4], 2.0 * gamma_np(n, p) * colmax);
    CHECK(fabs(r[5 * stride + 5]) > 0.1 * scale);
    CHECK(gram_error(r, p, stride, rows, n, p, -1) <= gram_tol(n, p));
    free(rows);
    free(r);
    free(pn);
}

/* A fold that must be refused: returns false and leaves R as it was. */
static void expect_refused(const char *what, double *r, double *pn, size_t p, const double *rows,
                           size_t ld, size_t m)
{
    size_t nbytes = p * ooc_tsqr_rows_stride(p) * sizeof(double);
    double *before = malloc(nbytes);
    memcpy(before, r, nbytes);
    CHECK_MSG(!ooc_tsqr_rows_fold(r, pn, p, rows, ld, -1, m), "%s: not refused", what);
    CHECK_MSG(memcmp(before, r, nbytes) == 0, "%s: R changed", what);
    free(before);
}

static void test_refusals(void)
{
    const size_t p = 5, m = 40;
    unsigned long long seed = 7;
    double rows[40 * 5];
    double *r = ooc_tsqr_rows_alloc(p, p), *pn = ooc_tsqr_rows_alloc(m, p);
    for (size_t i = 0; i < m * p; i++)
        rows[i] = rnd(&seed);
    CHECK(ooc_tsqr_rows_fold(r, pn, p, rows, p, -1, m));

    rows[3 * p + 2] = 1e85; /* one entry whose square is 1e170: still in range */
    CHECK(ooc_tsqr_rows_fold(r, pn, p, rows, p, -1, m));
    CHECK(gram_error(r, p, ooc_tsqr_rows_stride(p), rows, m, p, -1) < 1.0); /* finite */
    memset(r, 0, p * ooc_tsqr_rows_stride(p) * sizeof(double));
    CHECK(ooc_tsqr_rows_fold(r, pn, p, rows, p, -1, m));

    rows[3 * p + 2] = 1e200;
    expect_refused("a 1e200 entry", r, pn, p, rows, p, m);
    CHECK(pn[3 * ooc_tsqr_rows_stride(p) + 2] == 1e200); /* the panel holds the rows */
    for (size_t i = 0; i < m; i++)
        rows[i * p + 2] = 1e-200 * rnd(&seed);
    expect_refused("a column of 1e-200", r, pn, p, rows, p, m);
    rows[5 * p + 2] = NAN;
    expect_refused("a NaN", r, pn, p, rows, p, m);
    rows[5 * p + 2] = INFINITY;
    expect_refused("an Inf", r, pn, p, rows, p, m);
    for (size_t i = 0; i < m; i++)
        rows[i * p + 2] = rnd(&seed);
    CHECK(ooc_tsqr_rows_fold(r, pn, p, rows, p, -1, m));
    r[1] = 1e250; /* an R from a LAPACK fallback with huge values */
    expect_refused("a huge R", r, pn, p, rows, p, m);

    double *wide = calloc(2 * 65, sizeof(double));
    double *rw = ooc_tsqr_rows_alloc(65, 65), *pw = ooc_tsqr_rows_alloc(2, 65);
    CHECK(!ooc_tsqr_rows_fold(rw, pw, 65, wide, 65, -1, 2));
    CHECK(!ooc_tsqr_rows_fold(rw, pw, 0, wide, 65, -1, 2));
    free(wide);
    free(rw);
    free(pw);
    free(r);
    free(pn);
}

/* The random cases with one build, for every p it takes. */
static void run_variant(fold_fn f, const char *name, size_t max_p)
{
    static const size_t ps[] = {1, 2, 3, 7, 8, 9, 13, 15, 16, 17, 24, 25, 31, 33, 40, 48, 57, 64};
    fold = f;
    fold_name = name;
    for (size_t k = 0; k < sizeof ps / sizeof ps[0] && ps[k] <= max_p; k++) {
        run_case(ps[k], 3 * ps[k] + 50, 64, false);
        run_case(ps[k], 1000, 256, k % 2 == 0);
    }
    double r[8 * 17] = {0}, pn[8 * 24] = {0}, rows[2 * 17] = {0};
    CHECK_MSG(!f(r, pn, max_p + 1, rows, max_p + 1, -1, 1), "%s took p=%zu", name, max_p + 1);
}

int main(void)
{
    run_variant(ooc_tsqr_rows_fold_base, "base", OOC_TSQR_ROWS_BASE_MAX_P);
    printf("test_tsqr_rows: ran the base build (p <= %d)\n", OOC_TSQR_ROWS_BASE_MAX_P);
#if defined(OOC_TSQR_ROWS_HAVE_X86_VARIANTS)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        run_variant(ooc_tsqr_rows_fold_avx2, "avx2", OOC_TSQR_ROWS_AVX2_MAX_P);
        printf("test_tsqr_rows: ran the avx2 build (p <= %d)\n", OOC_TSQR_ROWS_AVX2_MAX_P);
    } else {
        printf("test_tsqr_rows: skipped the avx2 build: this CPU lacks AVX2+FMA\n");
    }
    if (__builtin_cpu_supports("avx512f")) {
        run_variant(ooc_tsqr_rows_fold_avx512, "avx512", OOC_TSQR_ROWS_AVX512_MAX_P);
        printf("test_tsqr_rows: ran the avx512 build (p <= %d)\n", OOC_TSQR_ROWS_AVX512_MAX_P);
    } else {
        printf("test_tsqr_rows: skipped the avx512 build: this CPU lacks AVX-512F\n");
    }
#else
    printf("test_tsqr_rows: not x86-64: only the base build exists\n");
#endif
    printf("test_tsqr_rows: the dispatcher picks %s (p <= %zu)\n", ooc_tsqr_rows_isa(),
           ooc_tsqr_rows_max_p());
    fold = ooc_tsqr_rows_fold;
    fold_name = ooc_tsqr_rows_isa();
    CHECK(ooc_tsqr_rows_max_p() >= OOC_TSQR_ROWS_BASE_MAX_P);
    run_case(13, 10, 1, false);     /* one row per fold */
    run_case(13, 7, 16, false);     /* fewer rows than columns */
    run_case(13, 20000, 300, true); /* many panels, odd size */
    test_rank_deficient();
    test_refusals();
    printf("test_tsqr_rows: worst error/tolerance: Gram identity %.2e, vs dgeqrf %.2e\n",
           worst_gram, worst_forward);
    return TEST_EXIT();
}
