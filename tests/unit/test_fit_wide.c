/* test_fit_wide.c — designs with fewer rows than columns, and what finalize owes every design:
 * the CPU backend's triangle for few rows (exactly zero past the rows, RᵀR = XᵀX within QR's
 * backward error), 5 × 5000 fit and svd in bounded time with numpy's count of singular values
 * (min(rows, columns)) equal to LAPACK's SVD of X within Weyl's bound, 0 rows refused, the cancel
 * flag honoured after the last block (finalize), and the up-front refusal of a problem whose
 * dense arrays exceed the memory available.  (tests/interop/svd_wide.py compares with numpy through
 * the CLI.)
 *
 * Error bounds (ε = 2^-52).  Householder QR, like every Householder-based step here, is backward
 * stable column by column: ‖Δx_j‖ ≤ γ‖x_j‖ with γ = (r·√ℓ + 3)ε for r reflections of length ≤ ℓ
 * (the probabilistic constant of tests/interop/hc_exact.py and Higham & Mary 2019: 2√r standard
 * deviations, plus 3ε for the roundings that do not grow).
 *  - R of n rows (r = min(n, p) reflections of length ≤ n): |(RᵀR - XᵀX)_ij| ≤ (2γ + γ²)‖x_i‖‖x_j‖.
 *  - σ of X, once through R (QR, then dgesdd on the m x p trapezoid: r ≤ 3n reflections of
 *    length ≤ p) and once by dgesdd on X (LQ then bidiagonalisation: again ≤ 3n of length ≤ p):
 *    each is the exact σ of X + ΔX, ‖ΔX‖₂ ≤ ‖ΔX‖_F ≤ γ‖X‖_F, so by Weyl
 *    |σ̂_j - σ_j| ≤ 2(3n·√p + 3)ε·‖X‖_F for the two together.
 */
#define _POSIX_C_SOURCE 200809L
#include "base/error.h"
#include "backend/backend.h"
#include "stream/source.h"
#include "stream/memsource.h"
#include "lsq_bounds.h"
#include "testutil.h"
#include "backend/tsqr_rows.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double rnd(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double *random_matrix(size_t n, size_t p, unsigned long long seed)
{
    double *x = malloc((n * p > 0 ? n * p : 1) * sizeof(double));
    for (size_t i = 0; i < n * p; i++)
        x[i] = rnd(&seed) + 0.25;
    return x;
}

static ooc_source *mem_source(const double *x, const double *y, size_t n, size_t p,
                              size_t block_rows)
{
    ooc_mem_source_spec spec = {.x = x, .y = y, .nrows = n, .p = p, .block_rows = block_rows};
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK(ooc_mem_source_open(&spec, &src, &err) == OOC_OK);
    return src;
}

static ooc_backend *cpu_backend(int threads, ooc_cpu_qr_kernel kernel)
{
    ooc_cpu_backend_options bo = {.nthreads = threads, .qr_kernel = kernel};
    ooc_backend *be = NULL;
    ooc_error err = {0};
    CHECK(ooc_cpu_backend_create(&bo, &be, &err) == OOC_OK);
    return be;
}

/* The CPU backend's triangle of n x p rows (blocks of `block` rows): RᵀR = XᵀX within
 * (2γ + γ²)‖x_i‖‖x_j‖ (header; Gram in long double), and with the lapack qr kernel (wide designs,
 * p > ooc_tsqr_rows_max_p()) the rows from min(n, p) on are exactly zero, which lets finalize
 * work on the small side.  (The rows kernel leaves rounding noise there, ~ε‖X‖, harmless for
 * p ≤ 64.) */
static void check_triangle(size_t n, size_t p, size_t block, int threads, ooc_method method,
                           ooc_cpu_qr_kernel kernel)
{
    double *x = random_matrix(n, p, 7 + n + p);
    double *r = malloc(p * p * sizeof(double));
    ooc_backend *be = cpu_backend(threads, kernel);
    ooc_error err = {0};
    ooc_backend_layout lay = {.p_aug = p, .ld = p, .weight_col = -1};
    CHECK(be->ops->begin(be, &lay, method, &err) == OOC_OK);
    for (size_t i = 0; i < n; i += block)
        CHECK(be->ops->accumulate(be, x + i * p, n - i < block ? n - i : block, &err) == OOC_OK);
    CHECK(be->ops->finish(be, r, &err) == OOC_OK);
    size_t m = n < p ? n : p, nonzero_below = 0;
    for (size_t i = m; i < p; i++)
        for (size_t j = 0; j < p; j++)
            nonzero_below += r[i * p + j] != 0.0;
    bool lapack = kernel == OOC_CPU_QR_LAPACK ||
                  (kernel == OOC_CPU_QR_AUTO && p > ooc_tsqr_rows_max_p());
    CHECK_MSG(method != OOC_METHOD_QR || !lapack || nonzero_below == 0,
              "%zu x %zu (%s, %d threads): %zu nonzero entries past row %zu", n, p,
              ooc_method_name(method), threads, nonzero_below, m);
    size_t r_refl = m;
    double g = gamma_np(n, r_refl), worst = 0.0;
    if (method == OOC_METHOD_NORMAL) /* Gram rounding, |ΔG_ij| ≤ nε‖x_i‖‖x_j‖, then Cholesky */
        g = ((double)n + 3.0 * (double)p) * DBL_EPSILON;
    for (size_t a = 0; a < p; a++)
        for (size_t c = a; c < p; c++) {
            long double rr = 0.0L, xx = 0.0L, na = 0.0L, nc = 0.0L;
            for (size_t i = 0; i <= a; i++)
                rr += (long double)r[i * p + a] * r[i * p + c];
            for (size_t i = 0; i < n; i++) {
                xx += (long double)x[i * p + a] * x[i * p + c];
                na += (long double)x[i * p + a] * x[i * p + a];
                nc += (long double)x[i * p + c] * x[i * p + c];
            }
            double ratio = (double)(fabsl(rr - xx) / ((2.0L * g + g * g) * sqrtl(na * nc)));
            worst = ratio > worst ? ratio : worst;
        }
    CHECK_MSG(worst <= 1.0, "%zu x %zu (%s, %d threads): RᵀR - XᵀX is %.3g of its bound", n, p,
              ooc_method_name(method), threads, worst);
    printf("triangle %zu x %zu %s, %d thread(s): RᵀR - XᵀX at %.2g of its bound\n", n, p,
           ooc_method_name(method), threads, worst);
    ooc_backend_free(be);
    free(x);
    free(r);
}

static void test_triangles(void)
{
    /* the lapack kernel (p_aug > 64 or forced): few rows, a panel flush with R still empty
     * (panels hold 4p rows), then rows folded into a full R; one and two workers */
    for (int t = 1; t <= 2; t++) {
        check_triangle(5, 300, 2, t, OOC_METHOD_QR, OOC_CPU_QR_AUTO);
        check_triangle(1000, 100, 37, t, OOC_METHOD_QR, OOC_CPU_QR_AUTO);
        check_triangle(100, 10, 7, t, OOC_METHOD_QR, OOC_CPU_QR_LAPACK);
        check_triangle(3, 10, 1, t, OOC_METHOD_QR, OOC_CPU_QR_ROWS);
        check_triangle(3, 10, 1, t, OOC_METHOD_QR, OOC_CPU_QR_LAPACK);
        check_triangle(5, 300, 2, t, OOC_METHOD_NORMAL, OOC_CPU_QR_AUTO);
    }
}

/* 5 x 5000: the time bound.  Finalize after this fix writes O(p²) memory (the p_aug² triangle,
 * fit's p² cov_params, 400 MB together) and does O(n²p) flops; with first-touch page faults at
 * 0.5 ms/MB (docs/ARCHITECTURE.md) that is under 1 s of CPU, 2-3 s under ASan.  The O(p³) path
 * it replaces ran dgeqrf on (p+rows) x p twice and on 2p x p once (6p³ = 7.5e11 flops) before
 * the p x p SVD: more than 6.7 s of CPU even at the ~112 GFLOP/s peak of one AVX-512 core.  The
 * bound, 5 s of process CPU time (not wall time, so a loaded machine does not count), lies
 * between the two. */
static void test_wide(void)
{
    const size_t n = 5, p = 5000;
    const double cpu_bound = 5.0;
    double *x = random_matrix(n, p, 11), y[5];
    unsigned long long seed = 3;
    for (size_t i = 0; i < n; i++)
        y[i] = rnd(&seed);
    ooc_error err = {0};

    ooc_source *src = mem_source(x, NULL, n, p, n);
    ooc_backend *be = cpu_backend(2, OOC_CPU_QR_AUTO);
    ooc_svd_options so;
    ooc_svd_options_init(&so);
    ooc_svd_result *sr = NULL;
    double t0 = cpu_seconds();
    CHECK(ooc_svd(src, be, &so, &sr, &err) == OOC_OK);
    double t_svd = cpu_seconds() - t0;
    CHECK_MSG(t_svd <= cpu_bound, "svd of 5 x 5000 took %.2f s of CPU (bound %.0f)", t_svd,
              cpu_bound);
    if (sr) {
        CHECK_MSG(sr->k == n, "svd returned %zu singular values, not min(rows, columns) = %zu",
                  sr->k, n);
        /* reference: LAPACK's SVD of X itself (row-major n x p = column-major Xᵀ) */
        double *a = malloc(n * p * sizeof(double)), s_ref[5], fro = 0.0;
        memcpy(a, x, n * p * sizeof(double));
        for (size_t i = 0; i < n * p; i++)
            fro = hypot(fro, x[i]);
        CHECK(LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)p, (lapack_int)n, a,
                             (lapack_int)p, s_ref, NULL, 1, NULL, 1) == 0);
        double tol = 2.0 * (3.0 * (double)n * sqrt((double)p) + 3.0) * DBL_EPSILON * fro;
        double worst = 0.0;
        for (size_t j = 0; j < n && j < sr->k; j++)
            worst = fmax(worst, fabs(sr->s[j] - s_ref[j]) / tol);
        CHECK_MSG(worst <= 1.0, "singular values off by %.3g of Weyl's bound", worst);
        CHECK(sr->condition_number == sr->s[0] / sr->s[n - 1]);
        printf("svd 5 x 5000: %.2f s CPU (bound %.0f), singular values at %.2g of Weyl's bound "
               "%.3g\n",
               t_svd, cpu_bound, worst, tol);
        free(a);
    }
    ooc_svd_result_free(sr);
    ooc_source_free(src);

    src = mem_source(x, y, n, p, n);
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    ooc_fit_result *fr = NULL;
    t0 = cpu_seconds();
    CHECK(ooc_fit(src, be, &fo, &fr, &err) == OOC_OK);
    double t_fit = cpu_seconds() - t0;
    CHECK_MSG(t_fit <= cpu_bound, "fit of 5 x 5000 took %.2f s of CPU (bound %.0f)", t_fit,
              cpu_bound);
    if (fr) {
        CHECK_MSG(fr->rank == n, "rank %zu, expected %zu", fr->rank, n);
        size_t zeros = 0;
        for (size_t j = n; j < p; j++)
            zeros += fr->singular_values[j] == 0.0;
        CHECK(zeros == p - n && fr->singular_values[n - 1] > 0.0);
        printf("fit 5 x 5000: %.2f s CPU (bound %.0f), rank %zu\n", t_fit, cpu_bound, fr->rank);
    }
    ooc_fit_result_free(fr);
    ooc_source_free(src);
    ooc_backend_free(be);
    free(x);
}

static void test_zero_rows(void)
{
    ooc_source *src = mem_source(NULL, (const double[1]){0.0}, 0, 3, 0);
    ooc_backend *be = cpu_backend(2, OOC_CPU_QR_AUTO);
    ooc_error err = {0};
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    ooc_fit_result *fr = NULL;
    CHECK(ooc_fit(src, be, &fo, &fr, &err) == OOC_ERR_DATA && !fr);
    CHECK_MSG(strstr(err.message, "no rows") != NULL, "%s", err.message);
    ooc_source_free(src);
    src = mem_source(NULL, NULL, 0, 3, 0);
    ooc_svd_options so;
    ooc_svd_options_init(&so);
    ooc_svd_result *sr = NULL;
    memset(&err, 0, sizeof err);
    CHECK(ooc_svd(src, be, &so, &sr, &err) == OOC_ERR_DATA && !sr);
    CHECK_MSG(strstr(err.message, "no rows") != NULL, "%s", err.message);
    ooc_source_free(src);
    ooc_backend_free(be);
}

/* A source that raises a cancel flag when its pass ends: the next thing the caller does is
 * finalize, which must notice. */
typedef struct cancel_source {
    ooc_source pub;
    ooc_source *inner;
    volatile int *flag;
} cancel_source;

static ooc_status cs_next(ooc_source *src, ooc_block **blk, ooc_error *err)
{
    cancel_source *c = (cancel_source *)src;
    ooc_status st = c->inner->vt->next(c->inner, blk, err);
    if (st == OOC_OK && !*blk)
        *c->flag = 1;
    return st;
}

static void cs_release(ooc_source *src, ooc_block *blk)
{
    cancel_source *c = (cancel_source *)src;
    c->inner->vt->release(c->inner, blk);
}

static ooc_status cs_rewind(ooc_source *src, ooc_error *err)
{
    cancel_source *c = (cancel_source *)src;
    return c->inner->vt->rewind(c->inner, err);
}

static void cs_destroy(ooc_source *src)
{
    free(src);
}

static const ooc_source_vtable cs_vtable = {cs_next, cs_release, cs_rewind, cs_destroy};

static void test_cancel_in_finalize(void)
{
    const size_t n = 40, p = 300; /* wide enough that finalize has stages worth stopping */
    double *x = random_matrix(n, p, 5), y[40];
    for (size_t i = 0; i < n; i++)
        y[i] = x[i * p] - x[i * p + 1];
    for (int svd = 0; svd <= 1; svd++) {
        volatile int flag = 0;
        ooc_source *inner = mem_source(x, svd ? NULL : y, n, p, 16);
        cancel_source *cs = calloc(1, sizeof *cs);
        cs->pub = *inner;
        cs->pub.vt = &cs_vtable;
        cs->inner = inner;
        cs->flag = &flag;
        ooc_backend *be = cpu_backend(2, OOC_CPU_QR_AUTO);
        ooc_error err = {0};
        ooc_status st;
        if (svd) {
            ooc_svd_options so;
            ooc_svd_options_init(&so);
            so.cancel = &flag;
            ooc_svd_result *sr = NULL;
            st = ooc_svd(&cs->pub, be, &so, &sr, &err);
            CHECK(!sr);
        } else {
            ooc_fit_options fo;
            ooc_fit_options_init(&fo);
            fo.cancel = &flag;
            ooc_fit_result *fr = NULL;
            st = ooc_fit(&cs->pub, be, &fo, &fr, &err);
            CHECK(!fr);
        }
        CHECK_MSG(flag == 1 && st == OOC_ERR_INTERRUPTED,
                  "%s with the flag raised after the last block: %s (%s)", svd ? "svd" : "fit",
                  ooc_strerror(st), err.message);
        ooc_backend_free(be);
        ooc_source_free(&cs->pub);
        ooc_source_free(inner);
    }
    free(x);
}

/* MemAvailable in bytes, or 0 when /proc/meminfo does not say. */
static double mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    unsigned long long kb = 0;
    char line[256];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
    if (f)
        fclose(f);
    return found ? 1024.0 * (double)kb : 0.0;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A p whose p_aug x p_aug triangle alone (8p² bytes) is twice the memory available: fit and svd
 * must refuse before allocating it, quickly (< 1 s of CPU), without the peak RSS growing by as
 * much as 64 MB (the source's one-row blocks are 8p bytes), and say how much they need. */
static void test_refuse_memory(void)
{
    double avail = mem_available();
    if (avail <= 0.0) {
        printf("no MemAvailable in /proc/meminfo: up-front refusal not tested\n");
        return;
    }
    size_t p = (size_t)ceil(sqrt(2.0 * avail / 8.0)) + 1;
    double *x = random_matrix(1, p, 9), y = 1.0;
    ooc_backend *be = cpu_backend(2, OOC_CPU_QR_AUTO);
    for (int svd = 0; svd <= 1; svd++) {
        ooc_source *src = mem_source(x, svd ? NULL : &y, 1, p, 1);
        ooc_error err = {0};
        long rss0 = max_rss_kb();
        double t0 = cpu_seconds();
        ooc_status st;
        if (svd) {
            ooc_svd_options so;
            ooc_svd_options_init(&so);
            ooc_svd_result *sr = NULL;
            st = ooc_svd(src, be, &so, &sr, &err);
            CHECK(!sr);
        } else {
            ooc_fit_options fo;
            ooc_fit_options_init(&fo);
            ooc_fit_result *fr = NULL;
            st = ooc_fit(src, be, &fo, &fr, &err);
            CHECK(!fr);
        }
        double dt = cpu_seconds() - t0;
        long grew = max_rss_kb() - rss0;
        CHECK_MSG(st == OOC_ERR_NOMEM, "%s of %zu columns: %s", svd ? "svd" : "fit", p,
                  ooc_strerror(st));
        CHECK_MSG(strstr(err.message, "triangle") && strstr(err.message, "GB") &&
                      strstr(err.message, "available"),
                  "message does not name the sizes: %s", err.message);
        CHECK_MSG(dt < 1.0 && grew < 64 * 1024, "refusal took %.2f s, peak RSS grew %ld kB", dt,
                  grew);
        printf("%s of %zu columns refused in %.3f s: %s\n", svd ? "svd" : "fit", p, dt,
               err.message);
        ooc_source_free(src);
    }
    ooc_backend_free(be);
    free(x);
}

int main(void)
{
    test_triangles();
    test_wide();
    test_zero_rows();
    test_cancel_in_finalize();
    test_refuse_memory();
    return TEST_EXIT();
}
