/*
 * test_cuda_backend.c — the CUDA backend against the CPU backend
 * (ooc_cpu_backend_create) on the same blocks: R_aug, β and the singular
 * values of R agree to 1e-12 relative (normwise) on well-conditioned random
 * data (p_aug 2, 13, 201; weighted and not; qr and normal), on a 2.5M x 12
 * seed-like workload, and on the NIST StRD sets (argv[1] = their folder),
 * where both backends are also checked against the certified β within the
 * error bound of each method (nist_error_bounds).
 *
 * Built three ways (tests/cuda.cmake):
 *  - emulated (OOC_TEST_EMULATED): linked to tests/cuda_emu; adds the
 *    emulator-only checks (multi-GPU with 2 emulated devices, OOM panel
 *    fallback, pageable fallback, pinned-copy accounting, device-spec
 *    selection with 0/1/2 devices, handing ooc_backend_open this backend's
 *    plugin table directly (test_cuda_plugin.c tests loading it with dlopen);
 *  - emulated with the planted race (OOC_TEST_RACY_BACKEND: backend built
 *    with OOC_CUDA_TEST_SKIP_COPY_WAIT): only the race scenario, which must
 *    now give a WRONG triangle;
 *  - ooc_fit / ooc_svd end to end (finalize on the device: backend.h
 *    solve_triangle / svd_triangle): through the GPU backend vs the CPU
 *    backend on random data (β, standard errors, SSR, singular values,
 *    condition numbers, Vᵀ up to sign to 1e-12), and, to isolate the finalize,
 *    a "hybrid" backend (the CPU's accumulation, the GPU's finalize) vs the
 *    CPU on the NIST sets; emulated, the call counters prove the device ran the
 *    solve and the SVDs and that the gesvd workspace was queried once;
 *  - real (label gpu): the comparisons on real GPUs; exit 77 (skipped) when
 *    the CUDA runtime reports no device.
 *
 * Blocks are fed through ONE host buffer from the backend's allocator that is
 * refilled before every accumulate() call, so a backend that returned before
 * its copy finished would read the next block's rows.
 */
#include "backend/backend.h"
#include "backend/device.h"
#include "base/error.h"
#include "testutil.h"
#ifndef OOC_TEST_RACY_BACKEND
#include "backend/backend_select.h"
#include "backend/backend.h"
#include "stream/source.h"
#include "stream/memsource.h"
#endif
#ifdef OOC_TEST_EMULATED
#include "cuda_emu.h"
#endif

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Agreement of two backends on well-conditioned data: both are backward
 * stable with errors of a few hundred eps at these sizes; 1e-12 leaves a
 * margin of ~20x while any algorithmic mistake (lost block, wrong weight,
 * wrong triangle) is O(1). */
#ifndef OOC_TEST_RACY_BACKEND
static const double TOL = 1e-12;
#endif

/* ------------------------------------------------------------ data sets -- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double gauss(uint64_t *s)
{
    double u = uniform01(s), v = uniform01(s);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Rows [first, first + n) of a data set into buf (ld doubles per row). */
typedef struct dataset {
    const char *name;
    size_t p_aug;
    size_t ld;
    long weight_col;
    uint64_t nrows;
    void (*fill)(const struct dataset *ds, uint64_t first, size_t n, double *buf);
    const double *table;   /* NIST: nrows x ld row-major */
    int zero_col;          /* random: this X column is all zeros (>= 0) */
    bool nan_row;          /* random: row 5 gets a NaN */
} dataset;

/* Random: intercept + N(0,1) columns, y = Σ (j+1)/p x_j + N(0,1), w ~ U(0.5, 2). */
static void fill_random(const dataset *ds, uint64_t first, size_t n, double *buf)
{
    size_t p = ds->p_aug - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = (first + i) * 0x2545f4914f6cdd1dull + ds->p_aug;
        double *r = buf + i * ds->ld, y = 0.0;
        for (size_t j = 0; j < p; j++) {
            r[j] = j == 0 && p > 1 ? 1.0 : gauss(&s);
            if ((int)j == ds->zero_col)
                r[j] = 0.0;
            y += (double)(j + 1) / (double)p * r[j];
        }
        r[p] = y + gauss(&s);
        if (ds->weight_col >= 0)
            r[ds->weight_col] = 0.5 + 1.5 * uniform01(&s);
        if (ds->nan_row && first + i == 5)
            r[0] = NAN;
    }
}

static dataset random_set(const char *name, size_t p_aug, bool weighted, uint64_t nrows)
{
    dataset ds = {name, p_aug, p_aug + 1, weighted ? (long)p_aug : -1, nrows, fill_random,
                  NULL, -1, false};
    return ds;
}

#ifndef OOC_TEST_RACY_BACKEND
/* The seed's design: a, b, c, d, d:c, a:b, a:c, 5 dummies of cat1; y = X·arange(0,1,1/12) + N(0,1). */
static void fill_seed(const dataset *ds, uint64_t first, size_t n, double *buf)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t s = (first + i) * 0x9e3779b97f4a7c15ull + 77;
        double a = gauss(&s), b = gauss(&s), c = gauss(&s), d = gauss(&s);
        int cat = (int)(splitmix(&s) % 5);
        double *r = buf + i * ds->ld;
        double x[12] = {a, b, c, d, d * c, a * b, a * c, 0, 0, 0, 0, 0};
        x[7 + cat] = 1.0;
        double y = 0.0;
        for (int j = 0; j < 12; j++) {
            r[j] = x[j];
            y += x[j] * j / 12.0;
        }
        r[12] = y + gauss(&s);
    }
}

static void fill_table(const dataset *ds, uint64_t first, size_t n, double *buf)
{
    memcpy(buf, ds->table + first * ds->ld, n * ds->ld * sizeof(double));
}
#endif

/* --------------------------------------------------------- running it -- */

/* One pass of `be` over ds in blocks of block_rows through a single reused
 * host buffer from the backend's allocator; R_aug (row-major) into r. */
static ooc_status run_pass(ooc_backend *be, const dataset *ds, ooc_method method,
                           size_t block_rows, double *r, ooc_error *err)
{
    ooc_backend_layout lay = {ds->p_aug, ds->ld, ds->weight_col};
    ooc_status st = be->ops->begin(be, &lay, method, err);
    if (st != OOC_OK)
        return st;
    double *buf = be->caps.allocator.alloc(block_rows * ds->ld * sizeof(double),
                                           be->caps.allocator.ctx);
    if (!buf)
        return OOC_ERR_NOMEM;
    for (uint64_t done = 0; done < ds->nrows && st == OOC_OK;) {
        size_t n = ds->nrows - done < block_rows ? (size_t)(ds->nrows - done) : block_rows;
        ds->fill(ds, done, n, buf);
        st = be->ops->accumulate(be, buf, n, err);
        done += n;
    }
    /* scribble over the buffer: nothing may read it after accumulate returned */
    for (size_t i = 0; i < block_rows * ds->ld; i++)
        buf[i] = 1e300;
    if (st == OOC_OK)
        st = be->ops->finish(be, r, err);
    be->caps.allocator.free(buf, be->caps.allocator.ctx);
    return st;
}

static ooc_backend *cpu_backend(void)
{
    ooc_cpu_backend_options o = {.nthreads = 2, .panel_rows = 0};
    ooc_backend *be = NULL;
    ooc_error err = {0};
    if (ooc_cpu_backend_create(&o, &be, &err) != OOC_OK)
        fprintf(stderr, "cpu backend: %s\n", err.message);
    return be;
}

typedef struct log_capture {
    char text[4096];
    int warnings;
    int notes;
} log_capture;

static void capture(void *user, ooc_log_level level, const char *message)
{
    log_capture *lc = user;
    size_t len = strlen(lc->text);
    snprintf(lc->text + len, sizeof lc->text - len, "%s\n", message);
    if (level == OOC_LOG_WARNING)
        lc->warnings++;
    if (level == OOC_LOG_NOTE)
        lc->notes++;
}

static ooc_backend *gpu_backend(const int *devices, int ndev, size_t panel_rows, log_capture *lc)
{
    ooc_cuda_backend_options o = {.devices = devices, .ndevices = ndev, .panel_rows = panel_rows};
    if (lc)
        o.log = (ooc_log_sink){capture, lc};
    ooc_backend *be = NULL;
    ooc_error err = {0};
    if (ooc_cuda_backend_create(&o, &be, &err) != OOC_OK)
        fprintf(stderr, "cuda backend: %s\n", err.message);
    return be;
}

/* ----------------------------------------------------- comparing them -- */

/* ||a - b|| / ||b|| (Frobenius). */
static double rel_diff(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

#ifndef OOC_TEST_RACY_BACKEND

/* β = R⁻¹z from the row-major R_aug (p_aug x p_aug). */
static void solve_beta(const double *r, size_t p_aug, double *beta)
{
    size_t p = p_aug - 1;
    for (size_t j = 0; j < p; j++)
        beta[j] = r[j * p_aug + p];
    cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)p, r, (int)p_aug,
                beta, 1);
}

/* Singular values of R (the leading p x p of R_aug). */
static void singular_values(const double *r, size_t p_aug, double *s)
{
    size_t p = p_aug - 1;
    double *a = malloc(p * p * sizeof(double)), *superb = malloc(p * sizeof(double));
    if (!a || !superb)
        abort();
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            a[i * p + j] = r[i * p_aug + j];
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', (lapack_int)p, (lapack_int)p, a,
                                     (lapack_int)p, s, NULL, 1, NULL, 1, superb);
    if (info != 0)
        s[0] = NAN;
    free(a);
    free(superb);
}

/* 2-norm condition of the leading n x n of R_aug (row-major, p_aug wide)
 * with its columns scaled to unit norm, i.e. of the column-equilibrated
 * matrix; sv is scratch (n values). */
static double scaled_condition(const double *r, size_t p_aug, size_t n, double *sv)
{
    double *a = calloc((n + 1) * (n + 1), sizeof(double));
    if (!a)
        abort();
    for (size_t j = 0; j < n; j++) {
        double norm = 0.0;
        for (size_t i = 0; i <= j; i++)
            norm += r[i * p_aug + j] * r[i * p_aug + j];
        norm = norm > 0.0 ? sqrt(norm) : 1.0;
        for (size_t i = 0; i <= j; i++)
            a[i * (n + 1) + j] = r[i * p_aug + j] / norm;
    }
    singular_values(a, n + 1, sv);
    free(a);
    return sv[n - 1] > 0.0 ? sv[0] / sv[n - 1] : INFINITY;
}

typedef struct agreement {
    double r, beta, sv;
} agreement;

static agreement compare(const double *rg, const double *rc, size_t p_aug)
{
    size_t p = p_aug - 1;
    double *bg = malloc(p_aug * sizeof(double)), *bc = malloc(p_aug * sizeof(double));
    double *sg = malloc(p_aug * sizeof(double)), *sc = malloc(p_aug * sizeof(double));
    if (!bg || !bc || !sg || !sc)
        abort();
    agreement a = {rel_diff(rg, rc, p_aug * p_aug), 0.0, 0.0};
    if (p > 0) {
        solve_beta(rg, p_aug, bg);
        solve_beta(rc, p_aug, bc);
        singular_values(rg, p_aug, sg);
        singular_values(rc, p_aug, sc);
        a.beta = rel_diff(bg, bc, p);
        a.sv = rel_diff(sg, sc, p);
    }
    free(bg);
    free(bc);
    free(sg);
    free(sc);
    return a;
}

/* GPU vs CPU on ds with both methods. */
static void check_against_cpu(ooc_backend *gpu, ooc_backend *cpu, const dataset *ds,
                              size_t block_rows)
{
    size_t n = ds->p_aug * ds->p_aug;
    double *rg = malloc(n * sizeof(double)), *rc = malloc(n * sizeof(double));
    if (!rg || !rc)
        abort();
    for (int m = 0; m < 2; m++) {
        ooc_method method = m ? OOC_METHOD_NORMAL : OOC_METHOD_QR;
        ooc_error eg = {0}, ec = {0};
        ooc_status sg = run_pass(gpu, ds, method, block_rows, rg, &eg);
        ooc_status sc = run_pass(cpu, ds, method, block_rows, rc, &ec);
        CHECK_MSG(sg == OOC_OK, "%s %s: gpu: %s", ds->name, ooc_method_name(method), eg.message);
        CHECK_MSG(sc == OOC_OK, "%s %s: cpu: %s", ds->name, ooc_method_name(method), ec.message);
        if (sg != OOC_OK || sc != OOC_OK)
            continue;
        agreement a = compare(rg, rc, ds->p_aug);
        printf("  %-22s %-6s gpu vs cpu: R %.2e  beta %.2e  sv %.2e\n", ds->name,
               ooc_method_name(method), a.r, a.beta, a.sv);
        CHECK_MSG(a.r <= TOL && a.beta <= TOL && a.sv <= TOL,
                  "%s %s: R %.3g beta %.3g sv %.3g > %g", ds->name, ooc_method_name(method), a.r,
                  a.beta, a.sv, TOL);
    }
    free(rg);
    free(rc);
}

static void test_random(ooc_backend *gpu, ooc_backend *cpu)
{
    static const size_t ps[] = {2, 13, 201};   /* p = 1, 12, 200 plus y */
    char name[64];
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
        for (int w = 0; w < 2; w++) {
            snprintf(name, sizeof name, "random p=%zu%s", ps[k] - 1, w ? " w" : "");
            dataset ds = random_set(name, ps[k], w, ps[k] > 100 ? 2500 : 20000);
            check_against_cpu(gpu, cpu, &ds, 1777);
        }
}

/* The 2.5M x 12 seed-like workload in 65536-row blocks. */
static void test_seed_workload(ooc_backend *gpu, ooc_backend *cpu, uint64_t nrows)
{
    dataset ds = {"seed 2.5M x 12", 13, 13, -1, nrows, fill_seed, NULL, -1, false};
    clock_t t0 = clock();
    check_against_cpu(gpu, cpu, &ds, 65536);
    printf("  seed workload: %.1f s CPU time for 2 backends x 2 methods\n",
           (double)(clock() - t0) / CLOCKS_PER_SEC);
}

/* Failures surface as the right status. */
static void test_numeric_errors(ooc_backend *gpu)
{
    double r[13 * 13];
    ooc_error err = {0};
    dataset ds = random_set("zero column", 13, false, 500);
    ds.zero_col = 4;
    CHECK(run_pass(gpu, &ds, OOC_METHOD_NORMAL, 100, r, &err) == OOC_ERR_NUMERIC);
    CHECK_MSG(strstr(err.message, "cusolverDnXpotrf") != NULL, "%s", err.message);
    ooc_error_clear(&err);
    CHECK(run_pass(gpu, &ds, OOC_METHOD_QR, 100, r, &err) == OOC_OK);
    ds.zero_col = -1;
    ds.nan_row = true;
    CHECK(run_pass(gpu, &ds, OOC_METHOD_QR, 100, r, &err) == OOC_ERR_NUMERIC);
    CHECK_MSG(strstr(err.message, "not finite") != NULL, "%s", err.message);
    ooc_backend_layout bad = {5, 3, -1};
    ooc_error_clear(&err);
    CHECK(gpu->ops->begin(gpu, &bad, OOC_METHOD_QR, &err) == OOC_ERR_INVALID_ARG);
    CHECK(gpu->ops->accumulate(gpu, r, 1, &err) == OOC_ERR_INTERNAL);
}

/* ------------------------------------------------------------------ NIST -- */

/* Load a NIST CSV (header, then numbers) and build [1, x, x², ..., y] or [1, x1..xk, y]. */
static int nist_degree(const char *name)
{
    if (!strcmp(name, "Norris"))
        return 1;
    if (!strcmp(name, "Pontius"))
        return 2;
    if (!strcmp(name, "Filip"))
        return 10;
    if (!strncmp(name, "Wampler", 7))
        return 5;
    return 0;   /* Longley: linear in its 6 columns */
}

static double *load_nist(const char *dir, const char *name, size_t *p_aug, uint64_t *nrows)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.csv", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[4096];
    double *table = NULL;
    size_t ncols = 0, n = 0, cap = 0;
    int degree = nist_degree(name);
    if (fgets(line, sizeof line, f)) {
        ncols = 1;
        for (char *c = line; *c; c++)
            ncols += *c == ',';
    }
    size_t nx = ncols - 1;
    *p_aug = (degree ? (size_t)degree + 1 : nx + 1) + 1;
    while (fgets(line, sizeof line, f)) {
        double v[16];
        char *s = line;
        for (size_t j = 0; j < ncols && j < 16; j++) {
            v[j] = strtod(s, &s);
            if (*s == ',')
                s++;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            double *t = realloc(table, cap * *p_aug * sizeof(double));
            if (!t)
                abort();
            table = t;
        }
        double *r = table + n * *p_aug;
        r[0] = 1.0;
        if (degree)
            for (int k = 1; k <= degree; k++)
                r[k] = pow(v[0], k);
        else
            for (size_t j = 0; j < nx; j++)
                r[1 + j] = v[j];
        r[*p_aug - 1] = v[ncols - 1];
        n++;
    }
    fclose(f);
    *nrows = n;
    return table;
}

/* Certified β from certified.json: the numbers after "beta": [ for the set. */
static int load_certified(const char *dir, const char *name, double *beta, int max)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/certified.json", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    char key[64];
    snprintf(key, sizeof key, "\"%s\"", name);
    char *at = strstr(text, key);
    at = at ? strstr(at, "\"beta\"") : NULL;
    at = at ? strchr(at, '[') : NULL;
    int k = 0;
    while (at && *at != ']' && k < max) {
        at++;
        beta[k++] = strtod(at, &at);
        while (*at == ' ' || *at == '\n')
            at++;
    }
    return k;
}

/* Log relative error, NIST's digits-correct score (capped at 15). */
static double lre(const double *b, const double *cert, size_t p)
{
    double worst = 15.0;
    for (size_t j = 0; j < p; j++) {
        double e = cert[j] != 0.0 ? fabs(b[j] - cert[j]) / fabs(cert[j]) : fabs(b[j]);
        double d = e > 0.0 ? -log10(e) : e == 0.0 ? 15.0 : 0.0;   /* NaN: 0 digits */
        worst = d < worst ? d : worst;
    }
    return worst;
}

static const char *const NIST_SETS[] = {"Norris",   "Pontius",  "Longley",  "Wampler1", "Wampler2",
                                        "Wampler3", "Wampler4", "Wampler5", "Filip"};

/* Error bounds for β on a NIST set, in the column-scaled variables z = Dβ
 * (D = diag of the column norms ‖a_j‖), normwise: ‖D(β̂ − β)‖ / ‖Dβ‖.
 * Column scaling is free for both methods (Householder QR's backward error
 * is columnwise; the normal equations are equilibrated), so the condition
 * number that counts is κ_s, that of the scaled design A_s = A D⁻¹.
 *  - qr, one pass (Higham, Accuracy and Stability of Numerical Algorithms,
 *    2nd ed., Thm 20.3 with the columnwise backward error of Householder QR,
 *    Thm 19.13; TSQR's stacked merges have the same kind of bound, Mori,
 *    Yamamoto & Zhang 2012): the computed β̂ solves a problem perturbed by
 *    ‖ΔA_s‖_F ≤ ε_b = n·p_aug·√p·u (γ_{n·p_aug} per column with the constant
 *    c = 1, over p columns), so
 *        err ≤ κ_s ε_b (2 + (κ_s + 1) ρ),   ρ = ‖r‖ / (‖A_s‖₂ ‖z‖).
 *  - normal (ibid. §20.4: forming AᵀA and Cholesky, backward error
 *    (n·p_aug + p_aug²)·u in the equilibrated Gram):
 *        err ≤ (n·p_aug + p_aug²) u κ_s² (1 + ‖y‖ / (‖A_s‖₂ ‖z‖)).
 * The bounds hold for any correctly rounded arithmetic, whatever the kernel
 * or its blocking (GPU, CPU, AVX-512/AVX2/baseline, FMA or not); measured
 * errors are 10³–10⁵ below them.  A wrong answer (lost block, wrong row,
 * wrong triangle) has err = O(1), above every bound that is below 1 here.
 * Everything is taken from the CPU's R_aug (row-major, p_aug wide):
 * ‖a_j‖ = ‖R e_j‖, ‖r‖ = |R[p][p]|, ‖y‖ = ‖R_aug e_p‖. */
typedef struct nist_bounds {
    double qr, normal;    /* the two bounds above */
    double cond;          /* κ_s */
} nist_bounds;

static nist_bounds nist_error_bounds(const double *r, size_t p_aug, uint64_t nrows,
                                     const double *beta, double *colnorm)
{
    const double u = 0x1p-53;
    size_t p = p_aug - 1;
    double sv[16], z2 = 0.0, y2 = 0.0;
    for (size_t j = 0; j <= p; j++) {
        double s = 0.0;
        for (size_t i = 0; i <= j; i++)
            s += r[i * p_aug + j] * r[i * p_aug + j];
        colnorm[j] = sqrt(s);
        if (j < p)
            z2 += (beta[j] * colnorm[j]) * (beta[j] * colnorm[j]);
        else
            y2 = s;
    }
    nist_bounds b;
    b.cond = scaled_condition(r, p_aug, p, sv);
    double n = (double)nrows, pa = (double)p_aug, anorm = sv[0], z = sqrt(z2);
    double rho = fabs(r[p * p_aug + p]) / (anorm * z);
    double eps_b = n * pa * sqrt((double)p) * u;
    b.qr = b.cond * eps_b * (2.0 + (b.cond + 1.0) * rho);
    b.normal = (n * pa + pa * pa) * u * b.cond * b.cond * (1.0 + sqrt(y2) / (anorm * z));
    return b;
}

/* ‖D(b − cert)‖ / ‖D cert‖ (see nist_error_bounds). */
static double scaled_error(const double *b, const double *cert, const double *colnorm, size_t p)
{
    double num = 0.0, den = 0.0;
    for (size_t j = 0; j < p; j++) {
        double e = (b[j] - cert[j]) * colnorm[j], c = cert[j] * colnorm[j];
        num += e * e;
        den += c * c;
    }
    return sqrt(num / den);
}

static void test_nist(ooc_backend *gpu, ooc_backend *cpu, const char *dir)
{
    for (size_t k = 0; k < sizeof NIST_SETS / sizeof NIST_SETS[0]; k++) {
        const char *set = NIST_SETS[k];
        size_t p_aug = 0;
        uint64_t nrows = 0;
        double *table = load_nist(dir, set, &p_aug, &nrows);
        double cert[16];
        int ncert = load_certified(dir, set, cert, 16);
        CHECK_MSG(table && (size_t)ncert == p_aug - 1, "cannot load NIST set %s from %s",
                  set, dir);
        if (!table || (size_t)ncert != p_aug - 1) {
            free(table);
            continue;
        }
        dataset ds = {set, p_aug, p_aug, -1, nrows, fill_table, table, -1, false};
        double rg[16 * 16], rc[16 * 16], bg[16], bc[16], sv[16], colnorm[16];
        nist_bounds bound = {0};
        double cond_aug = 0.0;   /* of [X y], columns scaled, from the CPU's QR */
        for (int m = 0; m < 2; m++) {
            ooc_method method = m ? OOC_METHOD_NORMAL : OOC_METHOD_QR;
            ooc_error eg = {0}, ec = {0};
            ooc_status sg = run_pass(gpu, &ds, method, 10, rg, &eg);
            ooc_status sc = run_pass(cpu, &ds, method, 10, rc, &ec);
            CHECK_MSG(sc == OOC_OK, "%s cpu: %s", set, ec.message);
            if (method == OOC_METHOD_QR && sc == OOC_OK) {
                bound = nist_error_bounds(rc, p_aug, nrows, cert, colnorm);
                cond_aug = scaled_condition(rc, p_aug, p_aug, sv);
            }
            if (method == OOC_METHOD_NORMAL && sg == OOC_ERR_NUMERIC) {
                /* potrf may refuse only a Gram singular to working precision:
                 * cond([X y])² beyond ~1/eps (exact fits: y in span(X)) */
                printf("  NIST %-9s normal gpu: not positive definite (cond([X y]) %.2g)\n",
                       set, cond_aug);
                CHECK_MSG(cond_aug * cond_aug > 1e14,
                          "%s: potrf refused a Gram with cond([X y]) %.3g", set, cond_aug);
                continue;
            }
            CHECK_MSG(sg == OOC_OK, "%s %s gpu: %s", set, ooc_method_name(method),
                      eg.message);
            if (sg != OOC_OK || sc != OOC_OK)
                continue;
            solve_beta(rg, p_aug, bg);
            solve_beta(rc, p_aug, bc);
            size_t p = p_aug - 1;
            double err_g = scaled_error(bg, cert, colnorm, p);
            double err_c = scaled_error(bc, cert, colnorm, p);
            double limit = method == OOC_METHOD_QR ? bound.qr : bound.normal;
            printf("  NIST %-9s %-6s LRE gpu %4.1f cpu %4.1f  scaled error gpu %.1e cpu %.1e "
                   "bound %.1e  (scaled cond(X) %.2g)\n", set, ooc_method_name(method),
                   lre(bg, cert, p), lre(bc, cert, p), err_g, err_c, limit, bound.cond);
            /* both backends within the bound of the certified β (NaN fails);
             * where the bound is 1 or more it says nothing and is not checked */
            if (limit < 1.0) {
                CHECK_MSG(err_g <= limit, "%s %s: gpu scaled error %.3g > bound %.3g", set,
                          ooc_method_name(method), err_g, limit);
                CHECK_MSG(err_c <= limit, "%s %s: cpu scaled error %.3g > bound %.3g", set,
                          ooc_method_name(method), err_c, limit);
            }
        }
        free(table);
    }
}


/* ------------------------------------------------- finalize on the device -- */

/* Relative normwise difference of two p-vectors, skipping NaN (aliased) entries. */
static double rel_diff_finite(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i]))
            continue;
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static double rel_scalar(double a, double b)
{
    return b != 0.0 ? fabs(a - b) / fabs(b) : fabs(a);
}

/* ooc_fit of ds (method) through be, over a memory source. */
static ooc_fit_result *fit_dataset(ooc_backend *be, const dataset *ds, ooc_method method,
                                   size_t block_rows)
{
    size_t p = ds->p_aug - 1, n = (size_t)ds->nrows;
    double *rows = malloc(n * ds->ld * sizeof(double));
    double *x = malloc(n * p * sizeof(double)), *y = malloc(n * sizeof(double));
    double *w = ds->weight_col >= 0 ? malloc(n * sizeof(double)) : NULL;
    if (!rows || !x || !y || (ds->weight_col >= 0 && !w))
        abort();
    ds->fill(ds, 0, n, rows);
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * p, rows + i * ds->ld, p * sizeof(double));
        y[i] = rows[i * ds->ld + p];
        if (w)
            w[i] = rows[i * ds->ld + (size_t)ds->weight_col];
    }
    ooc_mem_source_spec spec = {.x = x, .y = y, .w = w, .nrows = n, .p = p,
                                .block_rows = block_rows, .allocator = be->caps.allocator};
    ooc_source *src = NULL;
    ooc_fit_result *r = NULL;
    ooc_error err = {0};
    ooc_fit_options o;
    ooc_fit_options_init(&o);
    o.method = method;
    ooc_status st = ooc_mem_source_open(&spec, &src, &err);
    if (st == OOC_OK)
        st = ooc_fit(src, be, &o, &r, &err);
    CHECK_MSG(st == OOC_OK, "%s %s fit on %s: %s", ds->name, ooc_method_name(method),
              be->caps.name, err.message);
    ooc_source_free(src);
    free(rows);
    free(x);
    free(y);
    free(w);
    return r;
}

/* Two fits agree: β, standard errors, singular values (normwise), SSR and the
 * condition numbers, each to tol relative. */
static void check_fits_agree(const char *what, const ooc_fit_result *a, const ooc_fit_result *b,
                             double tol)
{
    if (!a || !b)
        return;
    size_t p = b->p;
    double d_beta = rel_diff_finite(a->params, b->params, p);
    double d_bse = rel_diff_finite(a->bse, b->bse, p);
    double d_sv = rel_diff(a->singular_values, b->singular_values, p);
    double d_ssr = rel_scalar(a->ssr, b->ssr);
    double d_cond = rel_scalar(a->condition_number, b->condition_number);
    double d_scond = rel_scalar(a->scaled_condition_number, b->scaled_condition_number);
    printf("  fit %-30s beta %.1e bse %.1e sv %.1e ssr %.1e cond %.1e scaled cond %.1e\n", what,
           d_beta, d_bse, d_sv, d_ssr, d_cond, d_scond);
    CHECK_MSG(a->rank == b->rank, "%s: rank %zu vs %zu", what, a->rank, b->rank);
    CHECK_MSG(d_beta <= tol && d_bse <= tol && d_sv <= tol && d_ssr <= tol && d_cond <= tol &&
                  d_scond <= tol,
              "%s: beta %.3g bse %.3g sv %.3g ssr %.3g cond %.3g scaled cond %.3g > %g", what,
              d_beta, d_bse, d_sv, d_ssr, d_cond, d_scond, tol);
}

#ifdef OOC_TEST_EMULATED
/* The emulator's finalize counters since the last reset. */
static ooc_emu_stats finalize_counts(void)
{
    ooc_emu_stats s;
    ooc_emu_get_stats(&s);
    return s;
}
#endif

/* Full GPU fit vs CPU fit on random data; the device did the β solve and the
 * two SVDs (unscaled, scaled) of each fit, and queried the gesvd workspace
 * once for all fits of one size. */
static void test_fit_on_device(ooc_backend *gpu, ooc_backend *cpu)
{
    CHECK(gpu->ops->solve_triangle && gpu->ops->svd_triangle);
    CHECK(!cpu->ops->solve_triangle && !cpu->ops->svd_triangle);
    static const size_t ps[] = {2, 13, 51};
    char name[64];
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
        for (int wt = 0; wt < 2; wt++) {
#ifdef OOC_TEST_EMULATED
            ooc_emu_reset_stats();
#endif
            for (int m = 0; m < 2; m++) {
                ooc_method method = m ? OOC_METHOD_NORMAL : OOC_METHOD_QR;
                snprintf(name, sizeof name, "random p=%zu%s %s", ps[k] - 1, wt ? " w" : "",
                         ooc_method_name(method));
                dataset ds = random_set(name, ps[k], wt, 5000);
                ooc_fit_result *rg = fit_dataset(gpu, &ds, method, 1234);
                ooc_fit_result *rc = fit_dataset(cpu, &ds, method, 1234);
                check_fits_agree(name, rg, rc, TOL);
                ooc_fit_result_free(rg);
                ooc_fit_result_free(rc);
            }
#ifdef OOC_TEST_EMULATED
            ooc_emu_stats s = finalize_counts();
            CHECK_MSG(s.trsv_calls == 2 && s.gesvd_calls == 4 && s.argument_errors == 0,
                      "p=%zu: %zu device solves, %zu device SVDs for 2 fits (expected 2, 4)",
                      ps[k] - 1, s.trsv_calls, s.gesvd_calls);
            /* 4 SVDs of one size: one workspace query (none when the size did not change) */
            CHECK_MSG(s.gesvd_size_queries <= 1, "%zu gesvd workspace queries for 4 SVDs",
                      s.gesvd_size_queries);
#endif
        }
}

/* ooc_svd with vectors through the GPU vs the CPU: singular values to 1e-12,
 * Vᵀ rows equal up to sign (the SVD fixes them only up to sign). */
static void test_svd_on_device(ooc_backend *gpu, ooc_backend *cpu)
{
    dataset ds = random_set("svd p=20", 21, true, 4000);
    size_t p = 21;   /* ooc_svd takes all columns of X: here the 20 of X plus y */
    ooc_svd_result *res[2] = {NULL, NULL};
    ooc_backend *be[2] = {gpu, cpu};
    double *rows = malloc(ds.nrows * ds.ld * sizeof(double)), *x = malloc(ds.nrows * p * sizeof(double));
    if (!rows || !x)
        abort();
    ds.fill(&ds, 0, (size_t)ds.nrows, rows);
    for (size_t i = 0; i < ds.nrows; i++)
        memcpy(x + i * p, rows + i * ds.ld, p * sizeof(double));
#ifdef OOC_TEST_EMULATED
    ooc_emu_reset_stats();
#endif
    for (int b = 0; b < 2; b++) {
        ooc_mem_source_spec spec = {.x = x, .nrows = ds.nrows, .p = p, .block_rows = 999,
                                    .allocator = be[b]->caps.allocator};
        ooc_source *src = NULL;
        ooc_error err = {0};
        ooc_svd_options o;
        ooc_svd_options_init(&o);
        o.vectors = true;
        ooc_status st = ooc_mem_source_open(&spec, &src, &err);
        if (st == OOC_OK)
            st = ooc_svd(src, be[b], &o, &res[b], &err);
        CHECK_MSG(st == OOC_OK, "svd on %s: %s", be[b]->caps.name, err.message);
        ooc_source_free(src);
    }
#ifdef OOC_TEST_EMULATED
    ooc_emu_stats s = finalize_counts();
    CHECK_MSG(s.gesvd_calls == 1 && s.gesvd_size_queries == 1 && s.argument_errors == 0,
              "svd: %zu device SVDs, %zu workspace queries", s.gesvd_calls,
              s.gesvd_size_queries);
#endif
    if (res[0] && res[1] && res[0]->vt && res[1]->vt) {
        double d_s = rel_diff(res[0]->s, res[1]->s, p), d_v = 0.0;
        for (size_t i = 0; i < p; i++) {
            double dot = cblas_ddot((int)p, res[0]->vt + i * p, 1, res[1]->vt + i * p, 1);
            double sign = dot < 0.0 ? -1.0 : 1.0;
            for (size_t j = 0; j < p; j++)
                d_v = fmax(d_v, fabs(sign * res[0]->vt[i * p + j] - res[1]->vt[i * p + j]));
        }
        printf("  svd p=%zu gpu vs cpu: s %.1e, max |Vt| difference (up to sign) %.1e\n", p, d_s,
               d_v);
        /* singular values are well separated here (gaps >> eps·σmax), so the
         * vectors are determined to ~eps·σmax/gap */
        CHECK_MSG(d_s <= TOL && d_v <= 1e-10, "svd: s %.3g, Vt %.3g", d_s, d_v);
    } else {
        CHECK_MSG(false, "svd results missing");
    }
    ooc_svd_result_free(res[0]);
    ooc_svd_result_free(res[1]);
    free(rows);
    free(x);
}

/* The CPU backend's accumulation with the GPU backend's finalize operations:
 * fit through it and through the CPU alone see the same R, so any difference
 * is the device finalize's. */
static ooc_backend *hybrid_gpu;

static ooc_status hybrid_solve(ooc_backend *be, const double *r, size_t k, size_t ld,
                               double *rhs, ooc_error *err)
{
    (void)be;
    return hybrid_gpu->ops->solve_triangle(hybrid_gpu, r, k, ld, rhs, err);
}

static ooc_status hybrid_svd(ooc_backend *be, const double *r, size_t k, size_t ld, double *s,
                             double *vt, ooc_error *err)
{
    (void)be;
    return hybrid_gpu->ops->svd_triangle(hybrid_gpu, r, k, ld, s, vt, err);
}

static void test_nist_finalize(ooc_backend *gpu, ooc_backend *cpu, const char *dir)
{
    /* the CPU backend itself with its ops swapped while the hybrid fit runs
     * (its worker threads keep a pointer to that very ooc_backend) */
    const ooc_backend_ops *cpu_ops = cpu->ops;
    ooc_backend_ops ops = *cpu_ops;
    ops.solve_triangle = hybrid_solve;
    ops.svd_triangle = hybrid_svd;
    hybrid_gpu = gpu;
    for (size_t k = 0; k < sizeof NIST_SETS / sizeof NIST_SETS[0]; k++) {
        const char *set = NIST_SETS[k];
        size_t p_aug = 0;
        uint64_t nrows = 0;
        double *table = load_nist(dir, set, &p_aug, &nrows);
        CHECK_MSG(table != NULL, "cannot load NIST set %s", set);
        if (!table)
            continue;
        dataset ds = {set, p_aug, p_aug, -1, nrows, fill_table, table, -1, false};
#ifdef OOC_TEST_EMULATED
        ooc_emu_reset_stats();
#endif
        cpu->ops = &ops;
        ooc_fit_result *rh = fit_dataset(cpu, &ds, OOC_METHOD_QR, 10);
        cpu->ops = cpu_ops;
        ooc_fit_result *rc = fit_dataset(cpu, &ds, OOC_METHOD_QR, 10);
#ifdef OOC_TEST_EMULATED
        ooc_emu_stats s = finalize_counts();
        CHECK_MSG(s.trsv_calls == 1 && s.gesvd_calls == 2, "%s: %zu solves, %zu SVDs on device",
                  set, s.trsv_calls, s.gesvd_calls);
        double tol = TOL;
#else
        /* a real GPU's trsv rounds differently from the host's: β may differ by
         * ~cond(R)·eps (the LAPACK error bound), still far below any mistake */
        double tol = rc ? fmax(TOL, 64.0 * 2.2e-16 * rc->condition_number) : TOL;
#endif
        char what[64];
        snprintf(what, sizeof what, "NIST %s, device finalize", set);
        check_fits_agree(what, rh, rc, tol);
        ooc_fit_result_free(rh);
        ooc_fit_result_free(rc);
        free(table);
    }
}

#endif /* !OOC_TEST_RACY_BACKEND */

/* ---------------------------------------------------- synchronisation -- */

/* 20 blocks through one host buffer: right only if accumulate() waited for its copy. */
static double race_scenario(ooc_backend *gpu, ooc_backend *cpu)
{
    dataset ds = random_set("race", 13, false, 20000);
    double rg[13 * 13], rc[13 * 13];
    ooc_error err = {0};
    CHECK(run_pass(gpu, &ds, OOC_METHOD_QR, 1000, rg, &err) == OOC_OK);
    CHECK(run_pass(cpu, &ds, OOC_METHOD_QR, 1000, rc, &err) == OOC_OK);
    return rel_diff(rg, rc, 13 * 13);
}

/* ------------------------------------------------- emulator-only tests -- */

#if defined(OOC_TEST_EMULATED) && !defined(OOC_TEST_RACY_BACKEND)
static void test_pinned_accounting(ooc_backend *cpu)
{
    ooc_backend *gpu = gpu_backend(NULL, 0, 4096, NULL);
    CHECK(gpu && gpu->caps.wants_pinned_memory);
    dataset ds = random_set("pinned", 13, true, 30000);
    ooc_emu_reset_stats();
    check_against_cpu(gpu, cpu, &ds, 5000);
    ooc_emu_stats s;
    ooc_emu_get_stats(&s);
    size_t data_bytes = 2 * 30000 * ds.ld * sizeof(double);   /* 2 methods */
    printf("  pinned copies %zu (%zu bytes), pageable %zu (%zu bytes), ops %zu, syncs %zu\n",
           s.pinned_copies, s.pinned_bytes, s.pageable_copies, s.pageable_bytes, s.ops_executed,
           s.sync_points);
    CHECK(s.pinned_bytes >= data_bytes);
    CHECK(s.pageable_bytes < data_bytes / 100);   /* only the final triangles */
    CHECK(s.argument_errors == 0);
    ooc_backend_free(gpu);

    /* pinning unavailable: pageable buffers, one warning, same answers */
    ooc_emu_set_pinned_available(false);
    log_capture lc = {.text = ""};
    gpu = gpu_backend(NULL, 0, 4096, &lc);
    CHECK(gpu != NULL);
    ooc_emu_reset_stats();
    if (gpu)
        check_against_cpu(gpu, cpu, &ds, 5000);
    ooc_emu_get_stats(&s);
    CHECK(s.pageable_bytes >= data_bytes);
    CHECK_MSG(lc.warnings == 1 && strstr(lc.text, "pageable"), "log: %s", lc.text);
    ooc_backend_free(gpu);
    ooc_emu_set_pinned_available(true);
}

/* Failures of the device finalize surface as statuses: a bad leading
 * dimension, device memory running out while the buffers grow (then a retry
 * succeeds), and no device work left queued. */
static void test_finalize_errors(ooc_backend *gpu)
{
    enum { K = 300 };
    double *r = calloc(K * K, sizeof(double)), s[K], b[K];
    if (!r)
        abort();
    for (size_t i = 0; i < K; i++) {
        r[i * K + i] = 1.0 + (double)i;
        b[i] = 1.0;
    }
    ooc_error err = {0};
    CHECK(gpu->ops->svd_triangle(gpu, r, 3, 2, s, NULL, &err) == OOC_ERR_INVALID_ARG);
    CHECK(gpu->ops->solve_triangle(gpu, r, 3, 2, b, &err) == OOC_ERR_INVALID_ARG);
    ooc_emu_stats st;
    ooc_emu_get_stats(&st);
    ooc_emu_set_device_memory(st.device_bytes_in_use);
    ooc_error_clear(&err);
    CHECK(gpu->ops->svd_triangle(gpu, r, K, K, s, NULL, &err) == OOC_ERR_BACKEND);
    CHECK_MSG(strstr(err.message, "cudaErrorMemoryAllocation") != NULL, "%s", err.message);
    ooc_emu_set_device_memory((size_t)8 << 30);
    ooc_error_clear(&err);
    CHECK_MSG(gpu->ops->svd_triangle(gpu, r, K, K, s, NULL, &err) == OOC_OK, "%s", err.message);
    CHECK(s[0] == (double)K && s[K - 1] == 1.0);   /* diagonal: exact singular values */
    CHECK(gpu->ops->solve_triangle(gpu, r, K, K, b, &err) == OOC_OK);
    CHECK(b[K - 1] == 1.0 / K && b[0] == 1.0);
    CHECK(ooc_emu_pending_ops() == 0);
    free(r);
}

static void test_oom_fallback(ooc_backend *cpu)
{
    dataset ds = random_set("oom", 13, true, 30000);
    /* 65536-row panels need ~20 MiB for this layout; 4 MiB forces smaller ones */
    ooc_emu_stats st;
    ooc_emu_get_stats(&st);   /* the main test backend still holds its buffers */
    ooc_emu_set_device_memory(st.device_bytes_in_use + ((size_t)4 << 20));
    log_capture lc = {.text = ""};
    ooc_backend *gpu = gpu_backend(NULL, 0, 0, &lc);
    CHECK(gpu != NULL);
    if (gpu)
        check_against_cpu(gpu, cpu, &ds, 20000);
    CHECK_MSG(lc.notes >= 1 && strstr(lc.text, "retrying"), "log: %s", lc.text);
    ooc_backend_free(gpu);
    /* too small for even the minimum panel: a clear error */
    ooc_emu_set_device_memory(st.device_bytes_in_use + ((size_t)16 << 10));
    gpu = gpu_backend(NULL, 0, 0, NULL);
    ooc_error err = {0};
    double r[13 * 13];
    CHECK(gpu && run_pass(gpu, &ds, OOC_METHOD_QR, 1000, r, &err) == OOC_ERR_BACKEND);
    printf("  tiny device: %s\n", err.message);
    CHECK_MSG(strstr(err.message, "out of GPU memory") != NULL, "%s", err.message);
    ooc_backend_free(gpu);
    ooc_emu_set_device_memory((size_t)8 << 30);
}

static void test_multi_gpu(ooc_backend *cpu)
{
    ooc_emu_set_device_count(2);
    ooc_backend *gpu = NULL;
    ooc_error err = {0};
    ooc_backend_open_options opts = {.plugin = ooc_cuda_plugin_entry()};
    CHECK(ooc_backend_open("gpu:1,0", &opts, &gpu, &err) == OOC_OK);
    if (gpu) {
        CHECK_STREQ(gpu->caps.name, "cuda");
        dataset ds = random_set("2 GPUs p=12 w", 13, true, 20000);
        check_against_cpu(gpu, cpu, &ds, 1500);
        dataset big = random_set("2 GPUs p=200", 201, false, 2000);
        check_against_cpu(gpu, cpu, &big, 333);
    }
    ooc_backend_free(gpu);
    ooc_emu_set_device_count(1);
    gpu = NULL;
    ooc_error_clear(&err);
    CHECK(ooc_backend_open("gpu:0,1", &opts, &gpu, &err) == OOC_ERR_INVALID_ARG && !gpu);
    CHECK(strstr(err.message, "GPU 1 does not exist") != NULL);
}

static void test_select(void)
{
    ooc_device_spec spec;
    ooc_error err = {0};
    CHECK(ooc_device_spec_parse("gpu:0,3", &spec, &err) == OOC_OK && spec.kind == OOC_DEVICE_GPU &&
          spec.ngpus == 2 && spec.gpus[1] == 3);
    CHECK(ooc_device_spec_parse(NULL, &spec, &err) == OOC_OK && spec.kind == OOC_DEVICE_AUTO);
    CHECK(ooc_device_spec_parse("gpu:1,1", &spec, &err) == OOC_ERR_INVALID_ARG);
    CHECK(ooc_device_spec_parse("gpu:", &spec, &err) == OOC_ERR_INVALID_ARG);
    CHECK(ooc_device_spec_parse("gpu:0;1", &spec, &err) == OOC_ERR_INVALID_ARG);
    ooc_error_clear(&err);
    CHECK(ooc_device_spec_parse("tpu", &spec, &err) == OOC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(err.message, "\"tpu\"") != NULL, "%s", err.message);
    ooc_backend *be = NULL;
    log_capture lc = {.text = ""};
    const ooc_cuda_plugin *plugin = ooc_cuda_plugin_entry();
    CHECK(plugin->abi_version == OOC_CUDA_PLUGIN_ABI);
    ooc_backend_open_options opts = {.log = {capture, &lc}, .plugin = plugin};
    CHECK(ooc_backend_open("auto", &opts, &be, &err) == OOC_OK && be &&
          !strcmp(be->caps.name, "cuda"));
    ooc_backend_free(be);
    CHECK(ooc_backend_open("cpu", &opts, &be, &err) == OOC_OK && !strcmp(be->caps.name, "cpu"));
    ooc_backend_free(be);
    CHECK(lc.notes == 0);
    ooc_emu_set_device_count(0);
    CHECK(ooc_backend_open("auto", &opts, &be, &err) == OOC_OK && !strcmp(be->caps.name, "cpu"));
    ooc_backend_free(be);
    CHECK_MSG(lc.notes == 1 && strstr(lc.text, "cudaErrorNoDevice"), "log: %s", lc.text);
    be = NULL;
    ooc_error_clear(&err);
    CHECK(ooc_backend_open("gpu", &opts, &be, &err) == OOC_ERR_BACKEND && !be);
    CHECK(strstr(err.message, "no usable GPU") != NULL);
    ooc_gpu_info *list = NULL;
    int count = -1;
    char why[256];
    CHECK(ooc_gpu_list(plugin, &list, &count, why, sizeof why, &err) == OOC_OK && count == 0 &&
          !list);
    CHECK(strstr(why, "cudaErrorNoDevice") != NULL);
    ooc_emu_set_device_count(1);
    CHECK(ooc_gpu_list(plugin, &list, &count, why, sizeof why, &err) == OOC_OK && count == 1 &&
          list);
    if (list)
        CHECK_STREQ(list[0].name, "oocsolve CUDA emulator");
    free(list);
}
#endif

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char why[256] = "";
    if (ooc_cuda_device_count(why, sizeof why) == 0) {
        printf("test_cuda_backend: no GPU (%s): skipped\n", why);
        return 77;
    }
    ooc_backend *cpu = cpu_backend();
    ooc_backend *gpu = gpu_backend(NULL, 0, 3000, NULL);
    CHECK(cpu && gpu);
    if (!cpu || !gpu)
        return TEST_EXIT();
#ifdef OOC_TEST_RACY_BACKEND
    double d = race_scenario(gpu, cpu);
    printf("  planted race (accumulate returns before its copy): |R - R_cpu|/|R_cpu| = %.3g\n", d);
    CHECK_MSG(d > 1e-3, "the emulator did not expose the missing copy wait (diff %.3g)", d);
#else
    const char *nist_dir = argc > 1 ? argv[1] : getenv("OOC_NIST_DIR");
    double d = race_scenario(gpu, cpu);
    printf("  correct synchronisation through one reused buffer: diff %.3g\n", d);
    CHECK(d <= TOL);
    test_random(gpu, cpu);
    test_numeric_errors(gpu);
    test_fit_on_device(gpu, cpu);
    test_svd_on_device(gpu, cpu);
    if (nist_dir) {
        test_nist(gpu, cpu, nist_dir);
        test_nist_finalize(gpu, cpu, nist_dir);
    } else {
        CHECK_MSG(false, "pass the NIST StRD folder as argv[1]");
    }
    test_seed_workload(gpu, cpu, 2500000);
#ifdef OOC_TEST_EMULATED
    test_finalize_errors(gpu);
    test_pinned_accounting(cpu);
    test_oom_fallback(cpu);
    test_multi_gpu(cpu);
    test_select();
    CHECK(ooc_emu_pending_ops() == 0);
#endif
#endif
    ooc_backend_free(gpu);
    ooc_backend_free(cpu);
    if (!test_failures)
        printf("test_cuda_backend: all checks passed\n");
    return TEST_EXIT();
}
