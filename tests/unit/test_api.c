/* test_api.c — the public C API through <oocsolve.h> alone, linked against
 * liboocsolve.so (so it also proves that everything it calls is exported):
 *  - accumulator: rows pushed in uneven blocks, row-major, column-major with
 *    ldx > rows and row-major with ldx > p (padding holds NaN, so a reader
 *    that ignores ldx fails), weighted and not, qr and normal, against each
 *    other and a long-double reference; a bad value inside a pushed block is
 *    refused with its row and leaves the accumulator as it was; save / load
 *    in the middle of the rows; load of a missing file, of an HDF5 file that
 *    is not a state, of a state whose /R was poisoned; HC / refine ALWAYS
 *    refused on accumulated rows;
 *  - sources: ingest of CSVs the test writes, the source's shape and names,
 *    ooc_fit against the dense reference, save_state + resume_state equal to
 *    the two files opened as one matrix, incompatible resumes refused with
 *    what differs, ooc_svd against LAPACK's dgesdd of the dense X.
 *
 * Tolerances are first-order rounding-error bounds computed per problem
 * (the model of lsq_bounds.h / tests/interop/lsq_bounds.py; `bounds_of`
 * below writes each out): γ = (p·√n + 3)·ε per column, ε_A = √p·γ, κ the
 * condition number of W^½X from LAPACK's SVD (needed to about one digit),
 * tan θ and ρ from the long-double reference.  Two results of the same rows
 * may differ by the sum of their bounds.  A lost, repeated or wrongly
 * weighted block moves β by ~1/n relative, orders of magnitude above these
 * bounds (≤ 1e-12 here).  The worst error/tolerance ratio is printed. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include <oocsolve.h>

#include "ld_cholesky.h"
#include "lsq_bounds.h"
#include "testutil.h"

#include <float.h>
#include <hdf5.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { PMAX = 8, N = 5000, P = 7, N_A = 3000, N_B = 2000, P_SRC = 5 };

static const double pi = 3.14159265358979323846;
static const char *const acc_names[P] = {"const", "x1", "x2", "x3", "x4", "x5", "x6"};
/* patsy's column order for FORMULA: intercept, the categorical's treatment
 * columns, then the numeric terms */
static const char *const FORMULA = "y ~ x1 + x2 + C(g)";
static const char *const src_names[P_SRC] = {"Intercept", "C(g)[T.b]", "C(g)[T.c]", "x1", "x2"};

static double worst_ratio = 0.0;
static char worst_what[160];

/* ---- temporary files ------------------------------------------------------------- */

enum {
    F_A_CSV, F_B_CSV, F_A_H5, F_B_H5, F_STATE_A, F_STATE_AB, F_STATE_OTHER, F_HALF, F_TAMPERED,
    F_PLAIN, F_MISSING, NFILES
};
static const char *const file_names[NFILES] = {
    "a.csv", "b.csv", "a.h5", "b.h5", "state_a.h5", "state_ab.h5", "state_other.h5", "half.h5",
    "tampered.h5", "plain.h5", "missing.h5"};
static char tmpdir[256];
static char paths[NFILES][300];

static void make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/ooc_test_api_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror(tmpdir);
        exit(1);
    }
    for (int i = 0; i < NFILES; i++)
        snprintf(paths[i], sizeof paths[i], "%s/%s", tmpdir, file_names[i]);
}

/* Removes the files this test makes; the folder must then be empty (no
 * temporary file of an atomic write left behind). */
static void remove_tmpdir(void)
{
    for (int i = 0; i < NFILES; i++)
        unlink(paths[i]);
    CHECK_MSG(rmdir(tmpdir) == 0, "%s is not empty after the test", tmpdir);
}

/* ---- problems and their long-double reference ------------------------------------------ */

/* xorshift64*: uniform in [-1, 1). */
static double rnd(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* n rows of [X y w], X row-major n x p; w NULL: unweighted. */
typedef struct problem {
    size_t n, p;
    const double *x, *y, *w;
} problem;

/* The first n rows of pr. */
static problem head(const problem *pr, size_t n)
{
    problem h = *pr;
    h.n = n;
    return h;
}

/* Weighted least squares solved in long double (Cholesky of the Gram),
 * with the problem's conditioning for the bounds. */
typedef struct reference {
    size_t n, p;
    double params[PMAX];          /* β rounded to double */
    double ssr, centered_tss, uncentered_tss, llf, sum_abs_log_w;
    double kappa, tan_theta, rho;
} reference;

/* Singular values (descending) of the row-major n x p matrix a (destroyed)
 * by LAPACK's dgesdd: a is the column-major p x n matrix aᵀ, whose singular
 * values are the same. */
static lapack_int singular_values(double *a, size_t n, size_t p, double *s)
{
    return LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)p, (lapack_int)n, a, (lapack_int)p,
                          s, NULL, 1, NULL, 1);
}

/* κ₂ of W^½X from LAPACK's SVD (double: κ is needed to about one digit). */
static double condition_number(const problem *pr)
{
    double *a = malloc(pr->n * pr->p * sizeof(double)), s[PMAX];
    for (size_t i = 0; i < pr->n; i++)
        for (size_t j = 0; j < pr->p; j++)
            a[i * pr->p + j] = pr->x[i * pr->p + j] * (pr->w ? sqrt(pr->w[i]) : 1.0);
    lapack_int info = singular_values(a, pr->n, pr->p, s);
    free(a);
    CHECK(info == 0);
    return s[0] / s[pr->p - 1];
}

/* The reference of pr's rows: normal equations in long double, residuals,
 * sums of squares and llf from the long-double β. */
static reference ref_solve(const problem *pr)
{
    const size_t n = pr->n, p = pr->p;
    long double g[PMAX][PMAX] = {{0}}, h[PMAX] = {0}, yy = 0.0L, sw = 0.0L, swy = 0.0L,
                slogw = 0.0L, sabslogw = 0.0L, trace = 0.0L;
    for (size_t i = 0; i < n; i++) {
        const double *xi = pr->x + i * p;
        long double wi = pr->w ? pr->w[i] : 1.0L;
        for (size_t a = 0; a < p; a++) {
            h[a] += wi * xi[a] * pr->y[i];
            for (size_t c = 0; c < p; c++)
                g[a][c] += wi * xi[a] * xi[c];
        }
        yy += wi * pr->y[i] * pr->y[i];
        sw += wi;
        swy += wi * pr->y[i];
        if (pr->w) {
            slogw += logl(wi);
            sabslogw += fabsl(logl(wi));
        }
    }
    for (size_t j = 0; j < p; j++)
        trace += g[j][j];
    long double b[PMAX], bb = 0.0L;
    CHECK(ld_cholesky_solve(&g[0][0], PMAX, p, h, b));
    long double ssr = 0.0L, ctss = 0.0L, mean = swy / sw;
    for (size_t i = 0; i < n; i++) {
        long double r = pr->y[i], wi = pr->w ? pr->w[i] : 1.0L;
        for (size_t a = 0; a < p; a++)
            r -= (long double)pr->x[i * p + a] * b[a];
        ssr += wi * r * r;
        ctss += wi * (pr->y[i] - mean) * (pr->y[i] - mean);
    }
    reference ref = {.n = n, .p = p};
    for (size_t j = 0; j < p; j++) {
        ref.params[j] = (double)b[j];
        bb += b[j] * b[j];
    }
    long double half_n = 0.5L * (long double)n;
    ref.ssr = (double)ssr;
    ref.centered_tss = (double)ctss;
    ref.uncentered_tss = (double)yy;
    ref.llf = (double)(-half_n * logl(ssr) - half_n * (1.0L + logl(2.0L * pi / (long double)n)) +
                       0.5L * slogw);
    ref.sum_abs_log_w = (double)sabslogw;
    ref.kappa = condition_number(pr);
    ref.tan_theta = (double)sqrtl(ssr / (yy - ssr));
    ref.rho = (double)((sqrtl(yy) + sqrtl(trace) * sqrtl(bb)) / sqrtl(ssr));
    return ref;
}

/* Bounds on one result of a problem: relative on β (normwise), ssr and the
 * centered TSS, absolute on llf. */
typedef struct fit_bounds {
    double beta, ssr, tss, llf;
} fit_bounds;

static fit_bounds add_bounds(fit_bounds a, fit_bounds b)
{
    return (fit_bounds){a.beta + b.beta, a.ssr + b.ssr, a.tss + b.tss, a.llf + b.llf};
}

/* llf = -n/2·log ssr - n/2·(1 + log(2π/n)) + ½Σlog w moves by n/2·δssr
 * (δssr relative), plus γ times the magnitude of its terms (the logs and
 * the n-term sum Σlog w). */
static double llf_bound(const reference *ref, double d_ssr, double gamma)
{
    double n = (double)ref->n;
    return 0.5 * n * d_ssr +
           gamma * (0.5 * n * (fabs(log(ref->ssr)) + 1.0 + fabs(log(2.0 * pi / n))) +
                    0.5 * ref->sum_abs_log_w);
}

/* One oocsolve result by `method` (Higham, Accuracy and Stability, 2nd ed.):
 *   β, qr:      κε_A(2 + (κ+1)tan θ)/(1 - κε_A)   (Thm 20.1, backward error ε_A)
 *   β, normal:  pγκ²(1 + 1/cos θ)   (‖ΔG‖ ≤ pγ‖A‖², ‖Δ(Aᵀb)‖ ≤ √pγ‖A‖‖b‖)
 *   ssr:        ρ = (‖b‖ + ‖A‖_F‖β‖)/‖r‖: qr 2γρ + (γρ)², normal γρ², plus
 *               (ηρ)² from the inexact β (ssr is stationary in β)
 *   centered TSS: Σw·y² of n positive terms within γ, and the weighted mean's
 *               error magnified by uncentered/centered
 *   llf:        llf_bound. */
static fit_bounds bounds_of(const reference *ref, ooc_method method)
{
    const double g = gamma_np(ref->n, ref->p), eps_A = sqrt((double)ref->p) * g;
    const double k = ref->kappa, sec = sqrt(1.0 + ref->tan_theta * ref->tan_theta);
    fit_bounds b;
    if (method == OOC_METHOD_NORMAL) {
        b.beta = (double)ref->p * g * k * k * (1.0 + sec);
        b.ssr = g * ref->rho * ref->rho;
    } else {
        b.beta = k * eps_A * (2.0 + (k + 1.0) * ref->tan_theta) / (1.0 - k * eps_A);
        b.ssr = 2.0 * g * ref->rho + (g * ref->rho) * (g * ref->rho);
    }
    b.ssr += (b.beta * ref->rho) * (b.beta * ref->rho);
    b.tss = g * ref->uncentered_tss / ref->centered_tss;
    b.llf = llf_bound(ref, b.ssr, g);
    return b;
}

/* The reference's own error: the normal equations in long double (unit
 * 2^-63 in place of ε: pγ_ld·κ²(1 + 1/cos θ) on β; residuals formed in long
 * double, 2γ_ld·ρ on ssr), then one rounding to double (ε). */
static fit_bounds reference_bounds(const reference *ref)
{
    const double g = ((double)ref->p * sqrt((double)ref->n) + 3.0) * 0x1p-63;
    const double k = ref->kappa, sec = sqrt(1.0 + ref->tan_theta * ref->tan_theta);
    fit_bounds b;
    b.beta = (double)ref->p * g * k * k * (1.0 + sec) + DBL_EPSILON;
    b.ssr = 2.0 * g * ref->rho + (b.beta * ref->rho) * (b.beta * ref->rho) + DBL_EPSILON;
    b.tss = g * ref->uncentered_tss / ref->centered_tss + DBL_EPSILON;
    b.llf = llf_bound(ref, b.ssr, g) + DBL_EPSILON * fabs(ref->llf);
    return b;
}

/* The reference as a result, for check_same. */
static ooc_fit_result ref_as_result(reference *ref)
{
    ooc_fit_result r;
    memset(&r, 0, sizeof r);
    r.p = ref->p;
    r.rank = ref->p;
    r.nobs = ref->n;
    r.df_resid = (double)(ref->n - ref->p);
    r.params = ref->params;
    r.ssr = ref->ssr;
    r.centered_tss = ref->centered_tss;
    r.llf = ref->llf;
    return r;
}

/* |got - want| <= tol, recording the worst ratio. */
static void check_close(const char *what, const char *quantity, double got, double want,
                        double tol)
{
    double d = fabs(got - want), ratio = tol > 0.0 ? d / tol : (d == 0.0 ? 0.0 : INFINITY);
    CHECK_MSG(d <= tol, "%s: %s %.17g vs %.17g (|diff| %.3g > tolerance %.3g)", what, quantity,
              got, want, d, tol);
    if (ratio > worst_ratio) {
        worst_ratio = ratio;
        snprintf(worst_what, sizeof worst_what, "%s: %s", what, quantity);
    }
}

/* a and b fit the same rows; tol: the sum of their bounds.  Counts must be
 * equal, β normwise within tol.beta·‖β_b‖, the rest within theirs. */
static void check_same(const char *what, const ooc_fit_result *a, const ooc_fit_result *b,
                       fit_bounds tol)
{
    if (!a || !b) {
        CHECK_MSG(a && b, "%s: a result is missing", what);
        return;
    }
    CHECK_MSG(a->p == b->p && a->nobs == b->nobs && a->df_resid == b->df_resid &&
                  a->rank == b->rank,
              "%s: p %zu/%zu nobs %llu/%llu df_resid %g/%g rank %zu/%zu", what, a->p, b->p,
              (unsigned long long)a->nobs, (unsigned long long)b->nobs, a->df_resid, b->df_resid,
              a->rank, b->rank);
    if (a->p != b->p)
        return;
    double d2 = 0.0, b2 = 0.0;
    for (size_t j = 0; j < a->p; j++) {
        d2 += (a->params[j] - b->params[j]) * (a->params[j] - b->params[j]);
        b2 += b->params[j] * b->params[j];
    }
    check_close(what, "‖β‖", sqrt(d2), 0.0, tol.beta * sqrt(b2));
    check_close(what, "ssr", a->ssr, b->ssr, tol.ssr * b->ssr);
    check_close(what, "centered_tss", a->centered_tss, b->centered_tss,
                tol.tss * b->centered_tss);
    check_close(what, "llf", a->llf, b->llf, tol.llf);
}

/* A result against the long-double reference of its rows. */
static void check_reference(const char *what, const ooc_fit_result *r, reference *ref,
                            ooc_method method)
{
    ooc_fit_result want = ref_as_result(ref);
    check_same(what, r, &want, add_bounds(bounds_of(ref, method), reference_bounds(ref)));
}

/* err cleared for a call (each public call clears it too; this keeps the
 * checks independent of that). */
static ooc_error *fresh(ooc_error *err)
{
    memset(err, 0, sizeof *err);
    return err;
}

/* err's message holds `text` (and, for "row N", not as the start of a longer number). */
static bool message_has(const ooc_error *err, const char *text)
{
    const char *at = strstr(err->message, text);
    return at && !(at[strlen(text)] >= '0' && at[strlen(text)] <= '9');
}

/* ---- accumulator ------------------------------------------------------------------- */

/* The accumulator test's data: N x P, column 0 constant, the others uniform
 * with mild correlation (κ about 3), y with noise, weights in [0.5, 1.5]. */
typedef struct acc_data {
    double x[N * P], y[N], w[N];
} acc_data;

static void make_acc_data(acc_data *d)
{
    unsigned long long s = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < N; i++) {
        double *xi = d->x + i * P, fit = 0.0;
        xi[0] = 1.0;
        for (size_t j = 1; j < P; j++)
            xi[j] = rnd(&s) + 0.3 * (j > 1 ? xi[j - 1] : 0.0) + 0.1 * (double)j;
        for (size_t j = 0; j < P; j++)
            fit += xi[j] * (1.0 + 0.25 * (double)j * (j % 2 ? -1.0 : 1.0));
        d->y[i] = fit + 0.2 * rnd(&s);
        d->w[i] = 1.0 + 0.5 * rnd(&s);
    }
}

/* An empty accumulator of acc_names on be (NULL, and a failed check, on error). */
static ooc_accumulator *new_accumulator(ooc_backend *be, bool weighted, ooc_method method)
{
    ooc_accumulator_options o;
    ooc_accumulator_options_init(&o);
    o.p = P;
    o.column_names = acc_names;
    o.weighted = weighted;
    o.method = method;
    ooc_accumulator *acc = NULL;
    ooc_error err;
    ooc_status st = ooc_accumulator_create(&o, be, &acc, fresh(&err));
    CHECK_MSG(st == OOC_OK && acc, "ooc_accumulator_create: %s", err.message);
    return acc;
}

/* Push rows [i0, i1) of pr as one block in `order`, the leading dimension
 * `pad` larger than needed (0: ldx = 0, the default); the padding holds NaN,
 * which a push that ignored ldx would refuse. */
static ooc_status push_rows(ooc_accumulator *acc, const problem *pr, size_t i0, size_t i1,
                            ooc_order order, size_t pad, ooc_error *err)
{
    const size_t rows = i1 - i0, p = pr->p;
    const size_t ld = order == OOC_ROW_MAJOR ? p + pad : rows + pad;
    const size_t lines = order == OOC_ROW_MAJOR ? rows : p, size = lines * ld;
    double *buf = malloc((size > 0 ? size : 1) * sizeof(double));
    for (size_t k = 0; k < size; k++)
        buf[k] = NAN;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = 0; j < p; j++)
            buf[order == OOC_ROW_MAJOR ? i * ld + j : j * ld + i] = pr->x[(i0 + i) * p + j];
    ooc_rows r = {.nrows = rows, .x = buf, .ldx = pad ? ld : 0, .order = order,
                  .y = pr->y + i0, .w = pr->w ? pr->w + i0 : NULL};
    ooc_status st = ooc_accumulator_push(acc, &r, err);
    free(buf);
    return st;
}

/* Fit the accumulated rows with default options. */
static ooc_fit_result *fit_accumulated(ooc_accumulator *acc, const char *what)
{
    ooc_fit_result *r = NULL;
    ooc_error err;
    ooc_status st = ooc_accumulator_fit(acc, NULL, &r, fresh(&err));
    CHECK_MSG(st == OOC_OK && r, "%s: ooc_accumulator_fit: %s", what, err.message);
    return st == OOC_OK ? r : NULL;
}

/* One way of pushing all rows. */
typedef struct layout {
    const char *name;
    ooc_order order;
    size_t pad;
    const size_t *blocks; /* block sizes, summing to N, ending with 0 */
    ooc_method method;
} layout;

/* Blocks around the 2048 rows the library stages per backend call. */
static const size_t blocks_a[] = {1, 2047, 2, 2049, 901, 0};
static const size_t blocks_b[] = {700, 3, 4096, 201, 0};
static const size_t blocks_c[] = {2500, 1, 2499, 0};
static const size_t blocks_d[] = {N, 0};

/* A new accumulator fed every row of pr as layout l says, fitted. */
static ooc_fit_result *fit_layout(ooc_backend *be, const problem *pr, const layout *l)
{
    ooc_accumulator *acc = new_accumulator(be, pr->w != NULL, l->method);
    ooc_fit_result *r = NULL;
    if (!acc)
        return NULL;
    size_t i0 = 0;
    ooc_status st = OOC_OK;
    ooc_error err;
    for (const size_t *b = l->blocks; *b && st == OOC_OK; i0 += *b++)
        st = push_rows(acc, pr, i0, i0 + *b, l->order, l->pad, fresh(&err));
    CHECK_MSG(st == OOC_OK && i0 == N, "%s: push: %s", l->name, err.message);
    CHECK(ooc_accumulator_rows(acc) == N);
    if (st == OOC_OK)
        r = fit_accumulated(acc, l->name);
    ooc_accumulator_free(acc);
    return r;
}

/* Every layout gives the fit of the reference; the names and flags follow
 * the accumulator's options. */
static void test_layouts(ooc_backend *be, const acc_data *d)
{
    const layout layouts[] = {
        {"row-major", OOC_ROW_MAJOR, 0, blocks_a, OOC_METHOD_QR},
        {"column-major, ldx > rows", OOC_COL_MAJOR, 5, blocks_b, OOC_METHOD_QR},
        {"row-major, ldx > p", OOC_ROW_MAJOR, 3, blocks_c, OOC_METHOD_QR},
        {"column-major, ldx = 0", OOC_COL_MAJOR, 0, blocks_a, OOC_METHOD_QR},
        {"row-major, normal", OOC_ROW_MAJOR, 0, blocks_d, OOC_METHOD_NORMAL},
    };
    const size_t nl = sizeof layouts / sizeof layouts[0];
    for (int weighted = 0; weighted < 2; weighted++) {
        problem pr = {N, P, d->x, d->y, weighted ? d->w : NULL};
        reference ref = ref_solve(&pr);
        ooc_fit_result *first = NULL;
        for (size_t l = 0; l < nl; l++) {
            char what[120];
            snprintf(what, sizeof what, "accumulator %s, %s", layouts[l].name,
                     weighted ? "weighted" : "unweighted");
            ooc_fit_result *r = fit_layout(be, &pr, &layouts[l]);
            if (!r)
                continue;
            check_reference(what, r, &ref, layouts[l].method);
            CHECK(r->nobs == N && r->df_resid == (double)(N - P) && r->rank == P);
            CHECK(r->weighted == (weighted != 0) && r->method == layouts[l].method);
            for (size_t j = 0; j < P; j++)
                CHECK_STREQ(r->names[j], acc_names[j]);
            if (!first)
                first = r;
            else {
                check_same(what, r, first,
                           add_bounds(bounds_of(&ref, layouts[l].method),
                                      bounds_of(&ref, layouts[0].method)));
                ooc_fit_result_free(r);
            }
        }
        ooc_fit_result_free(first);
    }
}

/* Two accumulators on one backend, pushes interleaved: rows pending in one
 * are merged into it before the other opens a pass, so each fit equals the
 * reference of its own rows (the weighted and the unweighted problem). */
static void test_shared_backend(ooc_backend *be, const acc_data *d)
{
    problem plain = {N, P, d->x, d->y, NULL}, weighted = {N, P, d->x, d->y, d->w};
    reference ref_plain = ref_solve(&plain), ref_weighted = ref_solve(&weighted);
    ooc_accumulator *a = new_accumulator(be, false, OOC_METHOD_QR);
    ooc_accumulator *b = new_accumulator(be, true, OOC_METHOD_QR);
    ooc_error err;
    for (size_t i0 = 0; a && b && i0 < N; i0 += 1000) {
        size_t i1 = i0 + 1000 < N ? i0 + 1000 : N;
        CHECK(push_rows(a, &plain, i0, i1, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
        CHECK(push_rows(b, &weighted, i0, i1, OOC_COL_MAJOR, 0, fresh(&err)) == OOC_OK);
    }
    ooc_fit_result *ra = a ? fit_accumulated(a, "shared backend, a") : NULL;
    ooc_fit_result *rb = b ? fit_accumulated(b, "shared backend, b") : NULL;
    if (ra)
        check_reference("shared backend, unweighted", ra, &ref_plain, OOC_METHOD_QR);
    if (rb)
        check_reference("shared backend, weighted", rb, &ref_weighted, OOC_METHOD_QR);
    ooc_fit_result_free(ra);
    ooc_fit_result_free(rb);
    ooc_accumulator_free(a);
    ooc_accumulator_free(b);
}

/* A NaN in X, an Inf in y, a negative weight in the middle of a block that
 * spans more than one staging round: OOC_ERR_DATA naming the row (counted
 * from the accumulator's first) and nothing of the block added. */
static void test_bad_values(ooc_backend *be, acc_data *d)
{
    enum { BEFORE = 1000, BLOCK_END = 4000, BAD = 3500 }; /* BAD: 0-based, row 3501 */
    problem pr = {N, P, d->x, d->y, d->w};
    problem first_rows = head(&pr, BEFORE);
    reference ref_all = ref_solve(&pr), ref_first = ref_solve(&first_rows);
    const char *kinds[] = {"NaN in X", "Inf in y", "negative weight"};
    for (int kind = 0; kind < 3; kind++) {
        double *slot = kind == 0 ? &d->x[BAD * P + 3] : kind == 1 ? &d->y[BAD] : &d->w[BAD];
        double saved = *slot;
        ooc_accumulator *acc = new_accumulator(be, true, OOC_METHOD_QR);
        if (!acc)
            return;
        ooc_error err;
        CHECK(push_rows(acc, &pr, 0, BEFORE, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
        *slot = kind == 0 ? NAN : kind == 1 ? INFINITY : -1.0;
        ooc_status st = push_rows(acc, &pr, BEFORE, BLOCK_END, OOC_ROW_MAJOR, 0, fresh(&err));
        *slot = saved;
        CHECK_MSG(st == OOC_ERR_DATA, "%s: status %d: %s", kinds[kind], (int)st, err.message);
        CHECK_MSG(message_has(&err, "row 3501"), "%s: %s", kinds[kind], err.message);
        const char *names_it = kind == 0 ? "'x3'" : kind == 1 ? "'y'" : "weight";
        CHECK_MSG(strstr(err.message, names_it), "%s: %s", kinds[kind], err.message);
        CHECK(ooc_accumulator_rows(acc) == BEFORE);
        char what[80];
        snprintf(what, sizeof what, "after a refused block (%s)", kinds[kind]);
        ooc_fit_result *r = fit_accumulated(acc, what);
        check_reference(what, r, &ref_first, OOC_METHOD_QR);
        ooc_fit_result_free(r);
        CHECK(push_rows(acc, &pr, BEFORE, N, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
        snprintf(what, sizeof what, "all rows after a refused block (%s)", kinds[kind]);
        r = fit_accumulated(acc, what);
        check_reference(what, r, &ref_all, OOC_METHOD_QR);
        ooc_fit_result_free(r);
        ooc_accumulator_free(acc);
    }
}

/* Plain HDF5 file with one dataset /X: not a state. */
static void write_plain_hdf5(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {2, 2};
    double v[4] = {1, 2, 3, 4};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset = H5Dcreate2(f, "/X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    CHECK(f >= 0 && dset >= 0 &&
          H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(f);
}

/* Entry (0, 1) of the state's /R ((p+1) x (p+1)) set to NaN. */
static void poison_r(const char *path, size_t p)
{
    double r[(PMAX + 1) * (PMAX + 1)];
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t dset = f >= 0 ? H5Dopen2(f, "/R", H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = dset >= 0 ? H5Dget_space(dset) : H5I_INVALID_HID;
    CHECK(space >= 0 && H5Sget_simple_extent_npoints(space) == (hssize_t)((p + 1) * (p + 1)));
    CHECK(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, r) >= 0);
    r[1] = NAN;
    CHECK(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, r) >= 0);
    H5Sclose(space);
    H5Dclose(dset);
    H5Fclose(f);
}

/* load(path) fails with one of the statuses given (second may repeat the
 * first) and a message holding `text`; *out stays NULL. */
static void check_load_fails(ooc_backend *be, const char *path, ooc_status want1,
                             ooc_status want2, const char *text)
{
    static char sentinel; /* *out must be reset to NULL on failure */
    ooc_accumulator *acc = (ooc_accumulator *)&sentinel;
    ooc_error err;
    ooc_status st = ooc_accumulator_load(path, be, &acc, fresh(&err));
    CHECK_MSG((st == want1 || st == want2) && !acc, "load '%s': status %d: %s", path, (int)st,
              err.message);
    CHECK_MSG(strstr(err.message, text), "load '%s': message lacks \"%s\": %s", path, text,
              err.message);
    if (st == OOC_OK)
        ooc_accumulator_free(acc);
}

/* Half the rows, saved and loaded, then the other half: the fit of all rows.
 * Then the failures of load. */
static void test_save_load(ooc_backend *be, const acc_data *d)
{
    problem pr = {N, P, d->x, d->y, d->w};
    reference ref = ref_solve(&pr);
    ooc_error err;
    ooc_accumulator *acc = new_accumulator(be, true, OOC_METHOD_QR), *loaded = NULL;
    if (!acc)
        return;
    CHECK(push_rows(acc, &pr, 0, N / 2, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
    ooc_status st = ooc_accumulator_save(acc, paths[F_HALF], fresh(&err));
    CHECK_MSG(st == OOC_OK, "save: %s", err.message);
    /* one accumulator at a time uses the backend's pass: acc's is closed
     * (by its fit) before loaded opens one */
    CHECK(push_rows(acc, &pr, N / 2, N, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
    ooc_fit_result *r_saved = fit_accumulated(acc, "saved, second half");
    st = ooc_accumulator_load(paths[F_HALF], be, &loaded, fresh(&err));
    CHECK_MSG(st == OOC_OK && loaded, "load: %s", err.message);
    if (!loaded) {
        ooc_fit_result_free(r_saved);
        ooc_accumulator_free(acc);
        return;
    }
    CHECK(ooc_accumulator_rows(loaded) == N / 2);
    CHECK(push_rows(loaded, &pr, N / 2, N, OOC_COL_MAJOR, 0, fresh(&err)) == OOC_OK);
    ooc_fit_result *r_loaded = fit_accumulated(loaded, "saved, loaded, second half");
    ooc_fit_result *r_one = fit_layout(
        be, &pr, &(layout){"one accumulator", OOC_ROW_MAJOR, 0, blocks_d, OOC_METHOD_QR});
    fit_bounds two = add_bounds(bounds_of(&ref, OOC_METHOD_QR), bounds_of(&ref, OOC_METHOD_QR));
    check_same("loaded state + second half vs one accumulator", r_loaded, r_one, two);
    check_same("saved accumulator + second half vs one accumulator", r_saved, r_one, two);
    check_reference("loaded state + second half", r_loaded, &ref, OOC_METHOD_QR);
    if (r_loaded) {
        CHECK(r_loaded->weighted && r_loaded->method == OOC_METHOD_QR);
        for (size_t j = 0; j < P; j++)
            CHECK_STREQ(r_loaded->names[j], acc_names[j]);
    }
    ooc_fit_result_free(r_loaded);
    ooc_fit_result_free(r_saved);
    ooc_fit_result_free(r_one);

    /* damaged and wrong inputs */
    check_load_fails(be, paths[F_MISSING], OOC_ERR_IO, OOC_ERR_HDF5, paths[F_MISSING]);
    write_plain_hdf5(paths[F_PLAIN]);
    check_load_fails(be, paths[F_PLAIN], OOC_ERR_HDF5, OOC_ERR_HDF5, "not an oocsolve state");
    check_load_fails(be, paths[F_PLAIN], OOC_ERR_HDF5, OOC_ERR_HDF5, paths[F_PLAIN]);
    CHECK_MSG(ooc_accumulator_save(loaded, paths[F_TAMPERED], fresh(&err)) == OOC_OK, "%s", err.message);
    poison_r(paths[F_TAMPERED], P);
    check_load_fails(be, paths[F_TAMPERED], OOC_ERR_HDF5, OOC_ERR_HDF5, "/R");
    ooc_accumulator_free(loaded);
    ooc_accumulator_free(acc);
}

/* Accumulated rows are not kept: HC covariances and forced refinement are
 * refused. */
static void test_unsupported(ooc_backend *be, const acc_data *d)
{
    problem pr = {N, P, d->x, d->y, NULL};
    ooc_error err;
    ooc_accumulator *acc = new_accumulator(be, false, OOC_METHOD_QR);
    if (!acc)
        return;
    CHECK(push_rows(acc, &pr, 0, N, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
    ooc_fit_options o;
    for (int c = 0; c < 3; c++) {
        ooc_fit_options_init(&o);
        if (c < 2)
            o.cov = c == 0 ? OOC_COV_HC0 : OOC_COV_HC1;
        else
            o.refine = OOC_REFINE_ALWAYS;
        ooc_fit_result *r = NULL;
        ooc_status st = ooc_accumulator_fit(acc, &o, &r, fresh(&err));
        CHECK_MSG(st == OOC_ERR_UNSUPPORTED && !r, "case %d: status %d: %s", c, (int)st,
                  err.message);
        ooc_fit_result_free(r);
    }
    ooc_fit_result *r = fit_accumulated(acc, "nonrobust after the refusals");
    CHECK(r && r->nobs == N);
    ooc_fit_result_free(r);
    ooc_accumulator_free(acc);
}

/* ---- sources --------------------------------------------------------------------- */

/* CSV rows of y, x1, x2, g (level 0..2 = a..c), and the dense design in
 * src_names' order. */
typedef struct csv_data {
    double y[N_A + N_B], x1[N_A + N_B], x2[N_A + N_B];
    int g[N_A + N_B];
    double x[(N_A + N_B) * P_SRC];
} csv_data;

static void make_csv_data(csv_data *d)
{
    unsigned long long s = 0x2545f4914f6cdd1dULL;
    for (size_t i = 0; i < N_A + N_B; i++) {
        d->x1[i] = 2.0 * rnd(&s);
        d->x2[i] = rnd(&s) + 0.5 * d->x1[i];
        /* every file starts with the three levels, so both have the same columns */
        size_t in_file = i < N_A ? i : i - N_A;
        d->g[i] = in_file < 3 ? (int)in_file : (int)((rnd(&s) + 1.0) * 1.5) % 3;
        d->y[i] = 1.0 + 0.5 * d->x1[i] - 2.0 * d->x2[i] + (d->g[i] == 1 ? 0.3 : 0.0) -
                  (d->g[i] == 2 ? 0.7 : 0.0) + 0.2 * rnd(&s);
        double *xi = d->x + i * P_SRC;
        xi[0] = 1.0;
        xi[1] = d->g[i] == 1;
        xi[2] = d->g[i] == 2;
        xi[3] = d->x1[i];
        xi[4] = d->x2[i];
    }
}

/* Rows [i0, i1) as a CSV (%.17g: read back exactly). */
static void write_csv(const char *path, const csv_data *d, size_t i0, size_t i1)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "y,x1,x2,g\n");
    for (size_t i = i0; i < i1; i++)
        fprintf(f, "%.17g,%.17g,%.17g,%c\n", d->y[i], d->x1[i], d->x2[i], "abc"[d->g[i]]);
    CHECK(fclose(f) == 0);
}

/* csv through FORMULA into the HDF5 design h5 (rows: the rows expected). */
static void ingest(const char *csv, const char *h5, uint64_t rows)
{
    ooc_ingest_options o;
    ooc_ingest_options_init(&o);
    o.csv_path = csv;
    o.formula = FORMULA;
    o.output_path = h5;
    o.nthreads = 2;
    ooc_ingest_stats stats;
    ooc_error err;
    ooc_status st = ooc_ingest(&o, &stats, fresh(&err));
    CHECK_MSG(st == OOC_OK, "ingest %s: %s", csv, err.message);
    CHECK(st != OOC_OK || (stats.rows_written == rows && stats.ncols == P_SRC));
}

/* The files as one source (NULL, and a failed check, on error). */
static ooc_source *open_files(const char *const *files, size_t nfiles, bool need_y)
{
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.need_y = need_y;
    o.nthreads = 2;
    ooc_source *src = NULL;
    ooc_error err;
    ooc_status st = ooc_source_open_files(files, nfiles, &o, &src, fresh(&err));
    CHECK_MSG(st == OOC_OK && src, "open %s: %s", files[0], err.message);
    return st == OOC_OK ? src : NULL;
}

/* ooc_fit of the files as one matrix; the status in *st, err filled. */
static ooc_fit_result *fit_files(ooc_backend *be, const char *const *files, size_t nfiles,
                                 const ooc_fit_options *o, ooc_status *st, ooc_error *err)
{
    ooc_fit_result *r = NULL;
    ooc_source *src = open_files(files, nfiles, true);
    *st = src ? ooc_fit(src, be, o, &r, err) : OOC_ERR_IO;
    ooc_source_free(src);
    return r;
}

/* The source's shape and names. */
static void check_source(const char *path)
{
    ooc_source *src = open_files(&path, 1, true);
    if (!src)
        return;
    CHECK(ooc_source_rows(src) == N_A);
    CHECK(ooc_source_columns(src) == P_SRC);
    CHECK(ooc_source_has_response(src));
    CHECK(!ooc_source_has_weights(src));
    for (size_t j = 0; j < P_SRC && ooc_source_columns(src) == P_SRC; j++)
        CHECK_STREQ(ooc_source_column_name(src, j), src_names[j]);
    ooc_source_free(src);
}

/* A state of the same shape whose last column is named x9. */
static void write_other_state(ooc_backend *be, const csv_data *d)
{
    const char *names[P_SRC] = {src_names[0], src_names[1], src_names[2], src_names[3], "x9"};
    ooc_accumulator_options ao;
    ooc_accumulator_options_init(&ao);
    ao.p = P_SRC;
    ao.column_names = names;
    ooc_accumulator *acc = NULL;
    ooc_error err;
    CHECK_MSG(ooc_accumulator_create(&ao, be, &acc, fresh(&err)) == OOC_OK, "%s", err.message);
    if (!acc)
        return;
    problem pr = {N_A, P_SRC, d->x, d->y, NULL};
    CHECK(push_rows(acc, &pr, 0, N_A, OOC_ROW_MAJOR, 0, fresh(&err)) == OOC_OK);
    CHECK_MSG(ooc_accumulator_save(acc, paths[F_STATE_OTHER], fresh(&err)) == OOC_OK, "%s",
              err.message);
    ooc_accumulator_free(acc);
}

/* A fit of B that must fail with status want1 or want2 and a message
 * holding every text. */
static void check_resume_fails(ooc_backend *be, const char *what, const ooc_fit_options *o,
                               ooc_status want1, ooc_status want2, const char *const *texts,
                               size_t ntexts)
{
    ooc_status st;
    ooc_error err;
    const char *b = paths[F_B_H5];
    ooc_fit_result *r = fit_files(be, &b, 1, o, &st, fresh(&err));
    CHECK_MSG((st == want1 || st == want2) && !r, "%s: status %d: %s", what, (int)st,
              err.message);
    for (size_t i = 0; i < ntexts; i++)
        CHECK_MSG(strstr(err.message, texts[i]), "%s: message lacks \"%s\": %s", what, texts[i],
                  err.message);
    ooc_fit_result_free(r);
}

/* Fit A saving its state, fit B resuming it: the fit of A and B as one
 * matrix.  Then resumes that must be refused. */
static void test_resume(ooc_backend *be, csv_data *d)
{
    problem pr_a = {N_A, P_SRC, d->x, d->y, NULL}, pr_ab = {N_A + N_B, P_SRC, d->x, d->y, NULL};
    reference ref_a = ref_solve(&pr_a), ref_ab = ref_solve(&pr_ab);
    const char *a = paths[F_A_H5], *b = paths[F_B_H5], *ab[2] = {a, b};
    ooc_fit_options o;
    ooc_status st;
    ooc_error err;

    ooc_fit_options_init(&o);
    ooc_fit_result *r_a = fit_files(be, &a, 1, &o, &st, fresh(&err));
    CHECK_MSG(st == OOC_OK, "fit A: %s", err.message);
    check_reference("fit A", r_a, &ref_a, OOC_METHOD_QR);
    if (r_a) {
        CHECK(r_a->y_name && strcmp(r_a->y_name, "y") == 0);
        CHECK(r_a->formula && strcmp(r_a->formula, FORMULA) == 0);
    }

    o.save_state = paths[F_STATE_A];
    ooc_fit_result *r_saving = fit_files(be, &a, 1, &o, &st, fresh(&err));
    CHECK_MSG(st == OOC_OK, "fit A --save-state: %s", err.message);
    fit_bounds two_a = add_bounds(bounds_of(&ref_a, OOC_METHOD_QR), bounds_of(&ref_a, OOC_METHOD_QR));
    check_same("fit A saving its state vs fit A", r_saving, r_a, two_a);

    ooc_fit_options_init(&o);
    o.resume_state = paths[F_STATE_A];
    o.save_state = paths[F_STATE_AB];
    ooc_fit_result *r_resumed = fit_files(be, &b, 1, &o, &st, fresh(&err));
    CHECK_MSG(st == OOC_OK, "fit B resuming A: %s", err.message);
    ooc_fit_options_init(&o);
    ooc_fit_result *r_both = fit_files(be, ab, 2, &o, &st, fresh(&err));
    CHECK_MSG(st == OOC_OK, "fit A, B as one matrix: %s", err.message);
    fit_bounds two_ab =
        add_bounds(bounds_of(&ref_ab, OOC_METHOD_QR), bounds_of(&ref_ab, OOC_METHOD_QR));
    check_same("B resuming A vs A, B as one matrix", r_resumed, r_both, two_ab);
    check_reference("B resuming A", r_resumed, &ref_ab, OOC_METHOD_QR);
    check_reference("A, B as one matrix", r_both, &ref_ab, OOC_METHOD_QR);

    /* the state saved while resuming holds every row */
    ooc_accumulator *acc = NULL;
    CHECK_MSG(ooc_accumulator_load(paths[F_STATE_AB], be, &acc, fresh(&err)) == OOC_OK, "%s",
              err.message);
    if (acc) {
        CHECK(ooc_accumulator_rows(acc) == N_A + N_B);
        ooc_fit_result *r_state = fit_accumulated(acc, "state saved while resuming");
        check_same("state saved while resuming vs A, B as one matrix", r_state, r_both, two_ab);
        ooc_fit_result_free(r_state);
        ooc_accumulator_free(acc);
    }

    ooc_fit_options_init(&o);
    o.resume_state = paths[F_STATE_A];
    o.method = OOC_METHOD_NORMAL;
    check_resume_fails(be, "resume a qr state by normal", &o, OOC_ERR_INVALID_ARG,
                       OOC_ERR_INVALID_ARG, (const char *const[]){"'normal'", "'qr'", paths[F_STATE_A]}, 3);
    ooc_fit_options_init(&o);
    o.resume_state = paths[F_STATE_A];
    o.cov = OOC_COV_HC1;
    check_resume_fails(be, "resume with HC1", &o, OOC_ERR_UNSUPPORTED, OOC_ERR_UNSUPPORTED,
                       (const char *const[]){"HC"}, 1);
    ooc_fit_options_init(&o);
    o.resume_state = paths[F_STATE_A];
    o.refine = OOC_REFINE_ALWAYS;
    check_resume_fails(be, "resume with refine ALWAYS", &o, OOC_ERR_UNSUPPORTED,
                       OOC_ERR_UNSUPPORTED,
                       (const char *const[]){"refinement"}, 1);
    write_other_state(be, d);
    ooc_fit_options_init(&o);
    o.resume_state = paths[F_STATE_OTHER];
    check_resume_fails(be, "resume a state of other columns", &o, OOC_ERR_INVALID_ARG,
                       OOC_ERR_INVALID_ARG,
                       (const char *const[]){"column 5", "'x2'", "'x9'"}, 3);
    o.resume_state = paths[F_MISSING];
    check_resume_fails(be, "resume a missing state", &o, OOC_ERR_IO, OOC_ERR_HDF5,
                       (const char *const[]){paths[F_MISSING]}, 1);

    ooc_fit_result_free(r_a);
    ooc_fit_result_free(r_saving);
    ooc_fit_result_free(r_resumed);
    ooc_fit_result_free(r_both);
}

/* ooc_svd of file A against LAPACK's dgesdd of the dense X.  Both are
 * backward stable with ‖ΔA‖₂ ≤ ε_A·‖A‖₂ (ε_A = √p·γ), so by Weyl each σ_j is
 * within ε_A·σ_1 of the exact one (qr; LAPACK); the normal method's Gram
 * gives |Δσ_j²| ≤ pγ·σ_1², i.e. |Δσ_j| ≤ pγ·σ_1²/(2σ_j). */
static void test_svd(ooc_backend *be, const csv_data *d)
{
    double a[N_A * P_SRC], s_ref[P_SRC];
    memcpy(a, d->x, sizeof a);
    CHECK(singular_values(a, N_A, P_SRC, s_ref) == 0);
    const double g = gamma_np(N_A, P_SRC), eps_A = sqrt((double)P_SRC) * g;
    for (int m = 0; m < 2; m++) {
        const ooc_method method = m ? OOC_METHOD_NORMAL : OOC_METHOD_QR;
        const char *path = paths[F_A_H5];
        ooc_source *src = open_files(&path, 1, false);
        if (!src)
            return;
        ooc_svd_options o;
        ooc_svd_options_init(&o);
        o.method = method;
        ooc_svd_result *r = NULL;
        ooc_error err;
        ooc_status st = ooc_svd(src, be, &o, &r, fresh(&err));
        ooc_source_free(src);
        CHECK_MSG(st == OOC_OK && r, "svd (%s): %s", ooc_method_name(method), err.message);
        if (!r)
            continue;
        CHECK(r->p == P_SRC && r->k == P_SRC && r->nrows == N_A);
        for (size_t j = 0; j < P_SRC && r->k == P_SRC; j++) {
            double mine = method == OOC_METHOD_QR
                              ? eps_A * s_ref[0]
                              : (double)P_SRC * g * s_ref[0] * s_ref[0] / (2.0 * s_ref[j]);
            char what[60];
            snprintf(what, sizeof what, "svd (%s) vs dgesdd", ooc_method_name(method));
            check_close(what, "σ_j", r->s[j], s_ref[j], mine + eps_A * s_ref[0]);
        }
        ooc_svd_result_free(r);
    }
}

/* Two CSVs, ingested; the source, the resumed fits, the SVD. */
static void test_sources(ooc_backend *be)
{
    csv_data *d = malloc(sizeof *d);
    make_csv_data(d);
    write_csv(paths[F_A_CSV], d, 0, N_A);
    write_csv(paths[F_B_CSV], d, N_A, N_A + N_B);
    ingest(paths[F_A_CSV], paths[F_A_H5], N_A);
    ingest(paths[F_B_CSV], paths[F_B_H5], N_B);
    check_source(paths[F_A_H5]);
    test_resume(be, d);
    test_svd(be, d);
    free(d);
}

/* The small constant functions and the backend's allocator. */
static void test_basics(ooc_backend *be)
{
    CHECK(ooc_version() && *ooc_version());
    CHECK(ooc_strerror(OOC_ERR_DATA) && *ooc_strerror(OOC_ERR_DATA));
    CHECK_STREQ(ooc_method_name(OOC_METHOD_QR), "qr");
    CHECK_STREQ(ooc_method_name(OOC_METHOD_NORMAL), "normal");
    CHECK_STREQ(ooc_cov_name(OOC_COV_HC1), "HC1");
    CHECK_STREQ(ooc_backend_name(be), "cpu");
    ooc_allocator al = ooc_backend_allocator(be);
    void *buf = al.alloc ? al.alloc(4096, al.ctx) : NULL;
    CHECK(buf != NULL);
    if (buf)
        al.free(buf, al.ctx);
    ooc_accumulator_options ao;
    ooc_accumulator_options_init(&ao);
    ooc_accumulator *acc = NULL;
    ooc_error err;
    CHECK(ooc_accumulator_create(&ao, be, &acc, fresh(&err)) == OOC_ERR_INVALID_ARG && !acc);
}

int main(void)
{
    make_tmpdir();
    ooc_backend *be = NULL;
    ooc_error err;
    if (ooc_backend_create("cpu", NULL, &be, fresh(&err)) != OOC_OK) {
        fprintf(stderr, "ooc_backend_create(cpu): %s\n", err.message);
        return 1;
    }
    acc_data *d = malloc(sizeof *d);
    make_acc_data(d);
    test_basics(be);
    test_layouts(be, d);
    test_shared_backend(be, d);
    test_bad_values(be, d);
    test_save_load(be, d);
    test_unsupported(be, d);
    test_sources(be);
    free(d);
    ooc_backend_free(be);
    remove_tmpdir();
    printf("worst error/tolerance %.3g (%s)\n", worst_ratio, worst_what);
    return TEST_EXIT();
}
