/* test_backend.c — every backend method on the same inputs: the triangle
 * R_aug from the CPU backend (qr with each kernel, and normal; 1..3 threads,
 * several panel sizes, with and without weights) must satisfy
 * R_augᵀR_aug = [X y]ᵀW[X y] computed in long double, to the backward-error
 * bound of gram_tol (lsq_bounds.h).  Columns scaled by 2^±700 (outside the rows
 * kernel's range, so its panels go through the LAPACK fallback) must give R
 * with the same columns scaled, to the R factor's perturbation bound.  The
 * worst error/tolerance ratios are printed, so a CPU, BLAS kernel or FMA use
 * that eats into the margins shows before it fails. */
#include "backend/backend.h"
#include "stream/memsource.h"
#include "lsq_bounds.h"
#include "testutil.h"
#include "backend/tsqr_rows.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

static double worst_gram = 0.0, worst_scaled = 0.0; /* largest error / tolerance */

/* xorshift64* uniform in (-1, 1): deterministic test data */
static double rnd(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* max |RᵀR - G| / max|G| with G the long double Gram of the rows */
static double gram_error(const double *r, size_t pa, const double *rows, size_t n, size_t ld,
                         long wcol)
{
    double maxdiff = 0.0, maxg = 0.0;
    for (size_t a = 0; a < pa; a++)
        for (size_t b = 0; b < pa; b++) {
            long double g = 0.0L, rr = 0.0L;
            for (size_t i = 0; i < n; i++) {
                long double w = wcol >= 0 ? rows[i * ld + (size_t)wcol] : 1.0L;
                g += w * rows[i * ld + a] * rows[i * ld + b];
            }
            for (size_t i = 0; i < pa; i++)
                rr += (long double)r[i * pa + a] * r[i * pa + b];
            double d = fabs((double)(rr - g));
            maxdiff = d > maxdiff ? d : maxdiff;
            maxg = fabs((double)g) > maxg ? fabs((double)g) : maxg;
        }
    return maxg > 0 ? maxdiff / maxg : maxdiff;
}

/* BLIS must load (cmake/bootstrap.sh installs it): its Gram is held to the
 * same bound as OpenBLAS's. */
static const struct {
    ooc_method method;
    ooc_cpu_qr_kernel kernel;
    ooc_cpu_gram_blas gram;
} configs[] = {
    {OOC_METHOD_QR, OOC_CPU_QR_AUTO, OOC_CPU_GRAM_AUTO},
    {OOC_METHOD_QR, OOC_CPU_QR_ROWS, OOC_CPU_GRAM_AUTO},
    {OOC_METHOD_QR, OOC_CPU_QR_LAPACK, OOC_CPU_GRAM_AUTO},
    {OOC_METHOD_NORMAL, OOC_CPU_QR_AUTO, OOC_CPU_GRAM_OPENBLAS},
    {OOC_METHOD_NORMAL, OOC_CPU_QR_AUTO, OOC_CPU_GRAM_BLIS},
};

static void run_case(size_t n, size_t pa, bool weighted, int nthreads, size_t panel)
{
    unsigned long long seed = 0x9E3779B97F4A7C15ULL ^ (n * 131 + pa);
    size_t ld = pa + (weighted ? 1 : 0);
    double *rows = malloc(n * ld * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < pa; j++)
            rows[i * ld + j] = rnd(&seed) + (j == 0 ? 1.0 : 0.0);
        if (weighted)
            rows[i * ld + pa] = 0.5 + 0.5 * (rnd(&seed) + 1.0);
    }
    for (size_t k = 0; k < sizeof configs / sizeof configs[0]; k++) {
        ooc_method m = configs[k].method;
        ooc_backend *be = NULL;
        ooc_error err = {0};
        ooc_cpu_backend_options bo = {.nthreads = nthreads,
                                      .panel_rows = panel,
                                      .qr_kernel = configs[k].kernel,
                                      .gram_blas = configs[k].gram};
        CHECK_MSG(ooc_cpu_backend_create(&bo, &be, &err) == OOC_OK, "%s", err.message);
        if (!be)
            break;
        CHECK(be->caps.supports_qr && be->caps.supports_normal);
        ooc_backend_layout lay = {.p_aug = pa, .ld = ld, .weight_col = weighted ? (long)pa : -1};
        double *r = malloc(pa * pa * sizeof(double));
        if (configs[k].kernel == OOC_CPU_QR_ROWS && pa > ooc_tsqr_rows_max_p()) {
            CHECK(be->ops->begin(be, &lay, m, &err) == OOC_ERR_UNSUPPORTED);
            free(r);
            ooc_backend_free(be);
            continue;
        }
        CHECK(be->ops->begin(be, &lay, m, &err) == OOC_OK);
        /* feed in uneven blocks */
        size_t done = 0, step = 7;
        while (done < n) {
            size_t b = n - done < step ? n - done : step;
            CHECK(be->ops->accumulate(be, rows + done * ld, b, &err) == OOC_OK);
            done += b;
            step = step * 3 + 1;
        }
        CHECK(be->ops->finish(be, r, &err) == OOC_OK);
        double e = gram_error(r, pa, rows, n, ld, lay.weight_col);
        double tol = gram_tol(n, pa);
        worst_gram = fmax(worst_gram, e / tol);
        CHECK_MSG(e <= tol, "%s/%d on %s n=%zu p_aug=%zu w=%d threads=%d panel=%zu: error %g > %g",
                  ooc_method_name(m), (int)configs[k].kernel, ooc_cpu_backend_gram_blas(be), n,
                  pa, weighted, nthreads, panel, e, tol);
        for (size_t i = 0; i < pa; i++) { /* structure: exact by construction */
            CHECK(r[i * pa + i] >= 0.0);
            for (size_t j = 0; j < i; j++)
                CHECK(r[i * pa + j] == 0.0);
        }
        free(r);
        ooc_backend_free(be);
    }
    free(rows);
}

/* R of the rows (qr, given kernel, 2 threads, blocks of 1000 rows) into r. */
static void qr_of(const double *rows, size_t n, size_t pa, ooc_cpu_qr_kernel kernel, double *r)
{
    ooc_backend *be = NULL;
    ooc_error err = {0};
    ooc_cpu_backend_options bo = {.nthreads = 2, .qr_kernel = kernel};
    CHECK(ooc_cpu_backend_create(&bo, &be, &err) == OOC_OK);
    ooc_backend_layout lay = {.p_aug = pa, .ld = pa, .weight_col = -1};
    CHECK(be->ops->begin(be, &lay, OOC_METHOD_QR, &err) == OOC_OK);
    for (size_t done = 0; done < n; done += 1000)
        CHECK(be->ops->accumulate(be, rows + done * pa, n - done < 1000 ? n - done : 1000, &err) ==
              OOC_OK);
    CHECK(be->ops->finish(be, r, &err) == OOC_OK);
    ooc_backend_free(be);
}

/* κ₂ of the n x p row-major matrix (LAPACK's SVD of a copy). */
static double condition_2(const double *rows, size_t n, size_t p)
{
    double *a = malloc(n * p * sizeof(double)), *s = malloc(p * sizeof(double)),
           *superb = malloc(p * sizeof(double));
    memcpy(a, rows, n * p * sizeof(double));
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)n, (lapack_int)p, a,
                                     (lapack_int)p, s, NULL, 1, NULL, 1, superb);
    CHECK(info == 0);
    double kappa = s[0] / s[p - 1];
    free(a);
    free(s);
    free(superb);
    return kappa;
}

/* Scaling column `col` by 2^e scales column `col` of R by 2^e; with e = ±700
 * the rows kernel refuses every panel and the LAPACK fallback runs.  Both R's
 * are exact R factors of rows perturbed by ‖Δa_j‖ ≤ γ‖a_j‖ per column (scaling
 * a column by a power of two changes no relative error, so the unscaled rows'
 * κ applies), and the R factor moves by ‖ΔR‖_F/‖R‖₂ ≤ √2·κ₂(A)·‖ΔA‖_F/‖A‖₂
 * (Sun, BIT 31, 1991), with ‖ΔA‖_F ≤ γ√p·‖A‖₂: the two differ by at most
 * 2√2·κ·√p·γ relative, 4e-13 here (κ ≈ 2), while a wrong column scale or a
 * lost block is O(1) or ~1/n = 2e-4. */
static void test_extreme_scales(void)
{
    const size_t n = 5000, pa = 6, col = 2;
    unsigned long long seed = 4242;
    double *rows = malloc(n * pa * sizeof(double)), *scaled = malloc(n * pa * sizeof(double));
    double r0[36], r1[36];
    for (size_t i = 0; i < n * pa; i++)
        rows[i] = rnd(&seed) + (i % pa == 0 ? 1.0 : 0.0);
    qr_of(rows, n, pa, OOC_CPU_QR_AUTO, r0);
    double tol = 2.0 * sqrt(2.0) * condition_2(rows, n, pa) * sqrt((double)pa) * gamma_np(n, pa);
    static const int exps[] = {700, -700};
    for (size_t e = 0; e < 2; e++) {
        for (size_t i = 0; i < n * pa; i++)
            scaled[i] = i % pa == col ? ldexp(rows[i], exps[e]) : rows[i];
        qr_of(scaled, n, pa, OOC_CPU_QR_AUTO, r1);
        double diff2 = 0.0, norm2 = 0.0;
        for (size_t i = 0; i < pa; i++)
            for (size_t j = i; j < pa; j++) {
                double got = j == col ? ldexp(r1[i * pa + j], -exps[e]) : r1[i * pa + j];
                diff2 += (got - r0[i * pa + j]) * (got - r0[i * pa + j]);
                norm2 += r0[i * pa + j] * r0[i * pa + j];
            }
        double rel = sqrt(diff2 / norm2);
        worst_scaled = fmax(worst_scaled, rel / tol);
        CHECK_MSG(rel <= tol, "column scaled by 2^%d: |ΔR|_F/|R|_F = %g > %g", exps[e], rel, tol);
    }
    free(rows);
    free(scaled);
}

static void test_invalid_layout(void)
{
    ooc_backend *be = NULL;
    ooc_error err = {0};
    CHECK(ooc_cpu_backend_create(NULL, &be, &err) == OOC_OK);
    ooc_backend_layout bad = {.p_aug = 3, .ld = 2, .weight_col = -1};
    CHECK(be->ops->begin(be, &bad, OOC_METHOD_QR, &err) == OOC_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "layout") != NULL);
    /* NaN in the data: finish reports OOC_ERR_NUMERIC instead of returning garbage */
    ooc_backend_layout lay = {.p_aug = 2, .ld = 2, .weight_col = -1};
    double rows[4] = {1.0, NAN, 2.0, 3.0}, r[4];
    for (int m = 0; m < 2; m++) {
        CHECK(be->ops->begin(be, &lay, (ooc_method)m, &err) == OOC_OK);
        CHECK(be->ops->accumulate(be, rows, 2, &err) == OOC_OK);
        CHECK(be->ops->finish(be, r, &err) == OOC_ERR_NUMERIC);
    }
    ooc_backend_free(be);
    ooc_backend_free(NULL);
}

int main(void)
{
    size_t ns[] = {1, 2, 5, 50, 3000};
    size_t ps[] = {1, 3, 13, 40, 70};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof ps / sizeof ps[0]; b++)
            for (int t = 1; t <= 3; t++) {
                run_case(ns[a], ps[b], false, t, t == 3 ? 5 : 0);
                run_case(ns[a], ps[b], true, t, 64);
            }
    test_extreme_scales();
    test_invalid_layout();
    printf("test_backend: worst error/tolerance: Gram identity %.2e, scaled columns %.2e\n",
           worst_gram, worst_scaled);
    return TEST_EXIT();
}
