/* test_fit.c — ooc_fit / ooc_svd through an in-memory source against
 * independent long-double references written here (normal equations solved
 * by Cholesky in long double; Jacobi eigenvalues of the long-double Gram),
 * rank-deficient designs, constant detection, HC covariance, refinement,
 * data errors, and closed-form identities of the t/F/incomplete-beta code.
 *
 * Tolerances are first-order rounding-error bounds computed per problem from
 * the long-double reference (see `bounds` below; the same formulas as
 * tests/interop/lsq_bounds.py): the backward error γ = (p·√n + 3)·ε per column,
 * κ = κ₂(W^½X) from the reference Gram's eigenvalues, tan θ and ρ from its
 * residual; the reference's own error is the normal-equations bound in long
 * double (unit 2^-63).  Closed forms of the distribution code use the error
 * model of host/src/stats.c (beta_tol).  The worst error/tolerance ratios are
 * printed. */
#include "base/error.h"
#include "backend/backend.h"
#include "stream/source.h"
#include "stream/memsource.h"
#include "solve/stats.h"
#include "ld_cholesky.h"
#include "lsq_bounds.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

static const double pi = 3.14159265358979323846;

static double rnd(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Weighted least squares in long double over the columns with use[j]:
 * solves (XᵀWX) b = XᵀWy by Cholesky; returns false if not positive definite. */
static bool ref_solve(const double *x, const double *y, const double *w, size_t n, size_t p,
                      const bool *use, long double *b, long double *ssr)
{
    long double g[20][20] = {{0}}, h[20] = {0};
    size_t idx[20], k = 0;
    for (size_t j = 0; j < p; j++)
        if (use[j])
            idx[k++] = j;
    for (size_t i = 0; i < n; i++) {
        long double wi = w ? w[i] : 1.0L;
        for (size_t a = 0; a < k; a++) {
            h[a] += wi * x[i * p + idx[a]] * y[i];
            for (size_t c = 0; c < k; c++)
                g[a][c] += wi * x[i * p + idx[a]] * x[i * p + idx[c]];
        }
    }
    long double bk[20];
    if (!ld_cholesky_solve(&g[0][0], 20, k, h, bk))
        return false;
    for (size_t i = 0; i < k; i++)
        b[idx[i]] = bk[i];
    *ssr = 0.0L;
    for (size_t i = 0; i < n; i++) {
        long double r = y[i];
        for (size_t a = 0; a < k; a++)
            r -= (long double)x[i * p + idx[a]] * b[idx[a]];
        *ssr += (w ? w[i] : 1.0L) * r * r;
    }
    return true;
}

/* Eigenvalues (descending) of the k x k long double symmetric a (destroyed) by
 * cyclic Jacobi. */
static void jacobi_eigenvalues(long double a[20][20], size_t p, long double *ev)
{
    for (int sweep = 0; sweep < 60; sweep++)
        for (size_t r = 0; r < p; r++)
            for (size_t c = r + 1; c < p; c++) {
                if (fabsl(a[r][c]) < 1e-30L * (fabsl(a[r][r]) + fabsl(a[c][c])))
                    continue;
                long double theta = (a[c][c] - a[r][r]) / (2 * a[r][c]);
                long double t = (theta >= 0 ? 1 : -1) / (fabsl(theta) + sqrtl(theta * theta + 1));
                long double cs = 1 / sqrtl(t * t + 1), sn = t * cs;
                for (size_t m = 0; m < p; m++) { /* columns */
                    long double u = a[m][r], v = a[m][c];
                    a[m][r] = cs * u - sn * v;
                    a[m][c] = sn * u + cs * v;
                }
                for (size_t m = 0; m < p; m++) { /* rows */
                    long double u = a[r][m], v = a[c][m];
                    a[r][m] = cs * u - sn * v;
                    a[c][m] = sn * u + cs * v;
                }
            }
    for (size_t i = 0; i < p; i++)
        ev[i] = a[i][i];
    for (size_t i = 0; i < p; i++) /* sort descending */
        for (size_t j = i + 1; j < p; j++)
            if (ev[j] > ev[i]) {
                long double t = ev[i];
                ev[i] = ev[j];
                ev[j] = t;
            }
}

/* Eigenvalues (descending) of the long double Gram XᵀWX of the columns with
 * use[j] (all when use is NULL); returns how many. */
static size_t ref_eigenvalues(const double *x, const double *w, size_t n, size_t p,
                              const bool *use, long double *ev)
{
    long double a[20][20] = {{0}};
    size_t idx[20], k = 0;
    for (size_t j = 0; j < p; j++)
        if (!use || use[j])
            idx[k++] = j;
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < k; r++)
            for (size_t c = 0; c < k; c++)
                a[r][c] += (w ? (long double)w[i] : 1.0L) * x[i * p + idx[r]] * x[i * p + idx[c]];
    jacobi_eigenvalues(a, k, ev);
    return k;
}

/* First-order rounding-error bounds for one least-squares solve (relative
 * unless named otherwise).  Backward error: Householder QR (any fold order)
 * and the normal equations' Gram + Cholesky are exact for data perturbed by
 * ‖Δa_j‖ ≤ γ‖a_j‖ per column (|ΔG_jk| ≤ γ‖a_j‖‖a_k‖); worst case γ = c·n·p·u
 * (Higham, Accuracy and Stability, 2nd ed., Thm 19.4, §20.2), with rounding
 * errors of random sign λ·√(n·p)·u (Higham & Mary, SIAM J. Sci. Comput. 41,
 * 2019): we take γ = (p·√n + 3)·ε (λ = 2√p, plus 3ε for roundings that do
 * not grow with n) and ε_A = √p·γ ≥ ‖ΔA‖₂/‖A‖₂.  Then
 *   β, qr:      κε_A(2 + (κ+1)tan θ)/(1 - κε_A)            (Higham Thm 20.1)
 *   β, normal:  pγκ²(1 + 1/cos θ)   (‖ΔG‖ ≤ pγ‖A‖², ‖Δ(Aᵀb)‖ ≤ √pγ‖A‖‖b‖)
 *   β, refined: the qr bound (each long-double residual pass contracts the
 *               error by ~pγκ² ≪ 1 down to the rounding of β itself)
 *   ssr:        ρ = (‖b‖ + ‖A‖_F‖β‖)/‖r‖; qr: 2γρ + (γρ)², normal: γρ², plus
 *               (ηρ)² from an inexact β̂
 *   σ_j²:       qr 2ε_Aκ_j + (ε_Aκ_j)² (Weyl), normal pγκ_j², κ_j = σ_1/σ_j
 *   (AᵀA)⁻¹_jj: e_G·κ², e_G = 2ε_A + ε_A² (qr) or pγ (normal)
 * A lost or repeated row moves β by ~1/n relative and a wrong triangle by
 * O(1), far above these (≤ 1e-11 for the problems here). */
typedef struct bounds {
    double gamma, eps_A, kappa, tan_theta, rho, beta_norm, eta, eta_ref, d_ssr, e_G;
} bounds;

static bounds lsq_bounds(const double *x, const double *y, const double *w, size_t n, size_t p,
                         const bool *use, const long double *b, long double ssr, int method,
                         bool refined)
{
    bounds o;
    long double ev[20], yy = 0.0L, trace = 0.0L, bb = 0.0L;
    size_t k = ref_eigenvalues(x, w, n, p, use, ev);
    for (size_t i = 0; i < n; i++)
        yy += (w ? (long double)w[i] : 1.0L) * y[i] * y[i];
    for (size_t j = 0; j < k; j++)
        trace += ev[j];
    for (size_t j = 0; j < p; j++)
        if (!use || use[j])
            bb += b[j] * b[j];
    o.gamma = gamma_np(n, p);
    o.eps_A = sqrt((double)p) * o.gamma;
    o.kappa = (double)sqrtl(ev[0] / ev[k - 1]);
    o.tan_theta = (double)sqrtl(ssr / (yy - ssr));
    o.beta_norm = (double)sqrtl(bb);
    o.rho = (double)((sqrtl(yy) + sqrtl(trace) * sqrtl(bb)) / sqrtl(ssr));
    double kp = o.kappa, sec = sqrt(1.0 + o.tan_theta * o.tan_theta);
    double eta_qr = kp * o.eps_A * (2.0 + (kp + 1.0) * o.tan_theta) / (1.0 - kp * o.eps_A);
    double eta_normal = (double)p * o.gamma * kp * kp * (1.0 + sec);
    o.eta = method == OOC_METHOD_NORMAL && !refined ? eta_normal : eta_qr;
    double gamma_ld = ((double)p * sqrt((double)n) + 3.0) * 0x1p-63;
    o.eta_ref = (double)p * gamma_ld * kp * kp * (1.0 + sec);
    double gr = o.gamma * o.rho;
    o.d_ssr = (method == OOC_METHOD_NORMAL ? gr * o.rho : 2.0 * gr + gr * gr) +
              (o.eta * o.rho) * (o.eta * o.rho);
    o.e_G = method == OOC_METHOD_NORMAL ? (double)p * o.gamma : 2.0 * o.eps_A + o.eps_A * o.eps_A;
    return o;
}

/* Relative bound on σ_j² (σ_1² = ev[0]) for `method`, plus the Jacobi
 * reference's own long-double error (p·2^-63·κ_j²). */
static double sv2_tol(const bounds *bd, int method, size_t p, long double ev0, long double evj)
{
    double kj = (double)sqrtl(ev0 / evj);
    double ours = method == OOC_METHOD_NORMAL ? (double)p * bd->gamma * kj * kj
                                              : 2.0 * bd->eps_A * kj + bd->eps_A * kj * bd->eps_A * kj;
    return ours + (double)p * 0x1p-63 * kj * kj;
}

/* Largest error/tolerance ratio per kind of check (printed at the end). */
static double worst_beta, worst_ssr, worst_sv, worst_hc, worst_dist;

static void note(double *worst, double err, double tol)
{
    if (err / tol > *worst)
        *worst = err / tol;
}

typedef struct problem {
    size_t n, p;
    double *x, *y, *w;
} problem;

/* y = Xβ + noise; column 0 is an intercept when `intercept`. */
static problem make_problem(size_t n, size_t p, bool intercept, bool weighted,
                            unsigned long long seed)
{
    problem pr = {n, p, malloc(n * p * sizeof(double)), malloc(n * sizeof(double)),
                  weighted ? malloc(n * sizeof(double)) : NULL};
    for (size_t i = 0; i < n; i++) {
        double yi = 0.0;
        for (size_t j = 0; j < p; j++) {
            double v = (intercept && j == 0) ? 1.0 : rnd(&seed) * (1.0 + (double)j) + 0.3;
            pr.x[i * p + j] = v;
            yi += v * (0.5 + (double)j);
        }
        pr.y[i] = yi + 0.1 * rnd(&seed);
        if (weighted)
            pr.w[i] = 0.2 + rnd(&seed) * rnd(&seed) + 1.0;
    }
    return pr;
}

static void free_problem(problem *pr)
{
    free(pr->x);
    free(pr->y);
    free(pr->w);
}

static ooc_status run_fit(const problem *pr, const char *const *names, ooc_fit_options *o,
                          size_t block_rows, ooc_fit_result **res, ooc_error *err)
{
    ooc_mem_source_spec spec = {.x = pr->x, .y = pr->y, .w = pr->w, .nrows = pr->n, .p = pr->p,
                                .column_names = names, .block_rows = block_rows};
    ooc_source *src = NULL;
    ooc_backend *be = NULL;
    ooc_status st = ooc_mem_source_open(&spec, &src, err);
    if (st == OOC_OK)
        st = ooc_cpu_backend_create(NULL, &be, err);
    if (st == OOC_OK)
        st = ooc_fit(src, be, o, res, err);
    ooc_backend_free(be);
    ooc_source_free(src);
    return st;
}

static double rel(double a, long double b)
{
    return fabs((double)((a - b) / (fabsl(b) > 1e-300L ? fabsl(b) : 1.0L)));
}

static void test_full_rank(void)
{
    struct { size_t n, p; bool icpt, w; } cases[] = {
        {200, 5, true, false}, {200, 5, true, true}, {1000, 8, false, false}, {37, 3, false, true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        problem pr = make_problem(cases[c].n, cases[c].p, cases[c].icpt, cases[c].w, 77 + c);
        bool use[20];
        long double b[20], ssr;
        for (size_t j = 0; j < pr.p; j++)
            use[j] = true;
        CHECK(ref_solve(pr.x, pr.y, pr.w, pr.n, pr.p, use, b, &ssr));
        for (int m = 0; m < 2; m++)
            for (int refine = 0; refine < 2; refine++) {
                ooc_fit_options o;
                ooc_fit_options_init(&o);
                o.method = (ooc_method)m;
                o.refine = refine ? OOC_REFINE_ALWAYS : OOC_REFINE_NEVER;
                ooc_fit_result *r = NULL;
                ooc_error err = {0};
                CHECK_MSG(run_fit(&pr, NULL, &o, 64, &r, &err) == OOC_OK, "%s", err.message);
                if (!r)
                    continue;
                bounds bd = lsq_bounds(pr.x, pr.y, pr.w, pr.n, pr.p, use, b, ssr, m, refine);
                double tol = (bd.eta + bd.eta_ref) * bd.beta_norm; /* normwise, per component */
                CHECK(r->rank == pr.p && r->n_aliased == 0 && r->nobs == pr.n);
                for (size_t j = 0; j < pr.p; j++) {
                    double e_b = fabs((double)(r->params[j] - b[j]));
                    note(&worst_beta, e_b, tol);
                    CHECK_MSG(e_b <= tol, "case %zu %s refine %d: β%zu %.17g vs %.17Lg (tol %g)", c,
                              ooc_method_name((ooc_method)m), refine, j, r->params[j], b[j], tol);
                }
                /* the long-double reference ssr is exact to ~n·2^-64 */
                double tol_ssr = bd.d_ssr + 1e-3 * bd.gamma;
                note(&worst_ssr, rel(r->ssr, ssr), tol_ssr);
                CHECK_MSG(rel(r->ssr, ssr) <= tol_ssr, "ssr %.17g vs %.17Lg (tol %g)", r->ssr, ssr,
                          tol_ssr);
                CHECK(r->k_constant == (cases[c].icpt ? 1 : 0));
                CHECK(r->const_idx == (cases[c].icpt ? 0 : -1));
                CHECK(refine ? r->refine_passes >= 1 : r->refine_passes == 0);
                /* statistics consistent with their definitions */
                CHECK(fabs(r->df_resid - (double)(pr.n - pr.p)) == 0.0); /* integers: exact */
                CHECK(rel(r->scale, ssr / (long double)(pr.n - pr.p)) <= tol_ssr + DBL_EPSILON);
                for (size_t j = 0; j < pr.p; j++) {
                    /* t = β/bse is one correctly rounded division of the same doubles: ≤ ε/2
                     * from the long-double quotient (ε allows a long-double intermediate) */
                    CHECK(rel(r->tvalues[j], (long double)r->params[j] / r->bse[j]) <= DBL_EPSILON);
                    CHECK(r->conf_lower[j] < r->params[j] && r->params[j] < r->conf_upper[j]);
                    CHECK(r->pvalues[j] >= 0.0 && r->pvalues[j] <= 1.0);
                }
                /* eigenvalues of XᵀX vs σ² (unweighted cases) */
                if (!pr.w) {
                    long double ev[20];
                    ref_eigenvalues(pr.x, NULL, pr.n, pr.p, NULL, ev);
                    for (size_t j = 0; j < pr.p; j++) {
                        double s = r->singular_values[j];
                        double tol_s = sv2_tol(&bd, m, pr.p, ev[0], ev[j]);
                        note(&worst_sv, rel(s * s, ev[j]), tol_s);
                        CHECK_MSG(rel(s * s, ev[j]) <= tol_s, "σ%zu² %.17g vs %.17Lg (tol %g)", j,
                                  s * s, ev[j], tol_s);
                    }
                }
                ooc_fit_result_free(r);
            }
        free_problem(&pr);
    }
}

static void test_rank_deficient(void)
{
    const char *names[] = {"Intercept", "a", "zero", "b", "a_copy"};
    problem pr = make_problem(120, 5, true, false, 5);
    for (size_t i = 0; i < pr.n; i++) {
        pr.x[i * 5 + 2] = 0.0;
        pr.x[i * 5 + 4] = pr.x[i * 5 + 1];
    }
    bool use[5] = {true, true, false, true, false};
    long double b[5], ssr;
    CHECK(ref_solve(pr.x, pr.y, NULL, pr.n, 5, use, b, &ssr));
    for (int m = 0; m < 2; m++) {
        ooc_fit_options o;
        ooc_fit_options_init(&o);
        o.method = (ooc_method)m;
        ooc_fit_result *r = NULL;
        ooc_error err = {0};
        CHECK_MSG(run_fit(&pr, names, &o, 50, &r, &err) == OOC_OK, "%s", err.message);
        if (!r)
            continue;
        CHECK(r->rank == 3 && r->n_aliased == 2);
        CHECK(r->aliased[2] && r->aliased[4] && !r->aliased[0] && !r->aliased[1] && !r->aliased[3]);
        CHECK(isnan(r->params[2]) && isnan(r->params[4]) && isnan(r->bse[4]));
        /* the kept columns' R is that of the full QR (each column gets at most p = 5
         * reflections), so the bounds use p = 5 and κ of the kept columns */
        bounds bd = lsq_bounds(pr.x, pr.y, NULL, pr.n, 5, use, b, ssr, m, false);
        double tol = (bd.eta + bd.eta_ref) * bd.beta_norm;
        for (size_t j = 0; j < 5; j++)
            if (use[j]) {
                double e_b = fabs((double)(r->params[j] - b[j]));
                note(&worst_beta, e_b, tol);
                CHECK_MSG(e_b <= tol, "β%zu %.17g vs %.17Lg (tol %g)", j, r->params[j], b[j], tol);
            }
        CHECK(r->df_resid == (double)(pr.n - 3) && r->df_model == 2.0);
        bool named = false;
        for (size_t i = 0; i < r->nwarnings; i++)
            named = named || (strstr(r->warnings[i], "'zero'") && strstr(r->warnings[i], "'a_copy'"));
        CHECK_MSG(named, "no warning naming the aliased columns");
        ooc_fit_result_free(r);
    }
    free_problem(&pr);

    /* n < p: the trailing columns cannot be estimated */
    problem small = make_problem(3, 5, true, false, 9);
    ooc_fit_options o;
    ooc_fit_options_init(&o);
    ooc_fit_result *r = NULL;
    ooc_error err = {0};
    CHECK_MSG(run_fit(&small, NULL, &o, 2, &r, &err) == OOC_OK, "%s", err.message);
    if (r) {
        CHECK(r->rank == 3 && r->aliased[3] && r->aliased[4] && r->df_resid == 0.0);
        bool warned = false;
        for (size_t i = 0; i < r->nwarnings; i++)
            warned = warned || strstr(r->warnings[i], "higher than the number of observations");
        CHECK(warned);
        ooc_fit_result_free(r);
    }
    free_problem(&small);
}

static void test_constant_detection(void)
{
    /* implicit constant: two indicator columns that sum to one, no intercept */
    problem pr = make_problem(100, 3, false, false, 11);
    for (size_t i = 0; i < pr.n; i++) {
        pr.x[i * 3 + 0] = i % 3 == 0 ? 1.0 : 0.0;
        pr.x[i * 3 + 1] = i % 3 == 0 ? 0.0 : 1.0;
    }
    ooc_fit_options o;
    ooc_fit_options_init(&o);
    ooc_fit_result *r = NULL;
    ooc_error err = {0};
    CHECK(run_fit(&pr, NULL, &o, 30, &r, &err) == OOC_OK);
    if (r) {
        CHECK(r->k_constant == 1 && r->const_idx == -1);
        /* R² = 1 - ssr/tss: two roundings of quantities ≤ 1, so within ε absolutely */
        CHECK(fabs((double)(r->rsquared - (1.0L - (long double)r->ssr / r->centered_tss))) <=
              DBL_EPSILON);
        ooc_fit_result_free(r);
    }
    /* explicit constant 2.5 at column 2 */
    for (size_t i = 0; i < pr.n; i++)
        pr.x[i * 3 + 2] = 2.5;
    CHECK(run_fit(&pr, NULL, &o, 30, &r, &err) == OOC_OK);
    if (r) {
        CHECK(r->k_constant == 1 && r->const_idx == 2);
        ooc_fit_result_free(r);
    }
    free_problem(&pr);
}

/* HC0/HC1 against the sandwich computed here in long double. */
static void test_hc(void)
{
    problem pr = make_problem(300, 3, true, true, 21);
    size_t n = pr.n, p = 3;
    bool use[3] = {true, true, true};
    long double b[3], ssr;
    CHECK(ref_solve(pr.x, pr.y, pr.w, n, p, use, b, &ssr));
    long double g[3][3] = {{0}}, meat[3][3] = {{0}}, inv[3][3];
    for (size_t i = 0; i < n; i++) {
        long double e = pr.y[i];
        for (size_t j = 0; j < p; j++)
            e -= (long double)pr.x[i * p + j] * b[j];
        long double s = pr.w[i] * e;
        for (size_t a = 0; a < p; a++)
            for (size_t c = 0; c < p; c++) {
                g[a][c] += pr.w[i] * (long double)pr.x[i * p + a] * pr.x[i * p + c];
                meat[a][c] += s * s * pr.x[i * p + a] * pr.x[i * p + c];
            }
    }
    /* 3x3 inverse by cofactors */
    long double det = g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1]) -
                      g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0]) +
                      g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
    for (size_t a = 0; a < 3; a++)
        for (size_t c = 0; c < 3; c++) {
            size_t r0 = (c + 1) % 3, r1 = (c + 2) % 3, c0 = (a + 1) % 3, c1 = (a + 2) % 3;
            inv[a][c] = (g[r0][c0] * g[r1][c1] - g[r0][c1] * g[r1][c0]) / det;
        }
    /* Tolerance of the HC standard errors sqrt((BMB)_jj), B = (XᵀWX)⁻¹ (inv),
     * M = Σ ẽ_i² a_i a_iᵀ (meat) with a_i = √w_i·x_i, ẽ_i = √w_i·e_i: each ẽ_i is off
     * by at most ψ_i = ‖a_i‖·‖Δβ‖ + γ(|b_i| + |a_i|ᵀ|β|) (β̂'s error, then forming
     * the residual), so to first order
     *   |Δ(BMB)_jj| ≤ 2‖Δb_j‖·‖M‖^½·(b_jᵀMb_j)^½ + Σ_i (2|ẽ_i|ψ_i + ψ_i²)(a_iᵀb_j)²,
     * b_j = Be_j with ‖Δb_j‖ ≤ e_G·κ²·‖b_j‖; bse's relative error is half the
     * variance's plus 3ε (sqrt, HC1's factor, the products) — the same formula as
     * tests/interop/lsq_bounds.py.  A lost row or wrong weight moves bse by ~1/n = 3e-3. */
    bounds bd = lsq_bounds(pr.x, pr.y, pr.w, n, p, use, b, ssr, OOC_METHOD_QR, false);
    double hc_tol[3];
    {
        long double mnorm2 = 0.0L, dv[3] = {0}, bcol[3] = {0};
        for (size_t a = 0; a < p; a++)
            for (size_t c = 0; c < p; c++) {
                mnorm2 += meat[a][c] * meat[a][c]; /* ‖M‖₂ ≤ ‖M‖_F */
                bcol[c] += inv[a][c] * inv[a][c];
            }
        for (size_t i = 0; i < n; i++) {
            long double sw = sqrtl((long double)pr.w[i]), e = pr.y[i], anorm = 0.0L, abs_ab = 0.0L;
            for (size_t j = 0; j < p; j++) {
                e -= (long double)pr.x[i * p + j] * b[j];
                anorm += sw * sw * pr.x[i * p + j] * pr.x[i * p + j];
                abs_ab += fabsl(sw * pr.x[i * p + j] * b[j]);
            }
            long double psi = sqrtl(anorm) * bd.eta * bd.beta_norm +
                              bd.gamma * (fabsl(sw * pr.y[i]) + abs_ab);
            long double wgt = 2.0L * fabsl(sw * e) * psi + psi * psi;
            for (size_t j = 0; j < p; j++) {
                long double ab = 0.0L; /* a_iᵀ b_j */
                for (size_t c = 0; c < p; c++)
                    ab += sw * pr.x[i * p + c] * inv[c][j];
                dv[j] += wgt * ab * ab;
            }
        }
        double d_bread = bd.e_G * bd.kappa * bd.kappa;
        for (size_t j = 0; j < p; j++) {
            long double v = 0.0L;
            for (size_t k1 = 0; k1 < p; k1++)
                for (size_t k2 = 0; k2 < p; k2++)
                    v += inv[j][k1] * meat[k1][k2] * inv[k2][j];
            long double d = 2.0L * d_bread * sqrtl(bcol[j]) * sqrtl(sqrtl(mnorm2) * v) + dv[j];
            hc_tol[j] = (double)(0.5L * d / v) + 3.0 * DBL_EPSILON;
        }
    }
    for (int hc = 1; hc <= 2; hc++) {
        ooc_fit_options o;
        ooc_fit_options_init(&o);
        o.cov = (ooc_cov_type)hc;
        ooc_fit_result *r = NULL;
        ooc_error err = {0};
        CHECK(run_fit(&pr, NULL, &o, 40, &r, &err) == OOC_OK);
        if (!r)
            continue;
        long double factor = hc == 2 ? (long double)n / (long double)(n - p) : 1.0L;
        for (size_t a = 0; a < p; a++) {
            long double v = 0.0L;
            for (size_t k1 = 0; k1 < p; k1++)
                for (size_t k2 = 0; k2 < p; k2++)
                    v += inv[a][k1] * meat[k1][k2] * inv[k2][a];
            note(&worst_hc, rel(r->bse[a], sqrtl(factor * v)), hc_tol[a]);
            CHECK_MSG(rel(r->bse[a], sqrtl(factor * v)) <= hc_tol[a],
                      "HC%d bse%zu %.17g vs %.17Lg (tol %g)", hc - 1, a, r->bse[a],
                      sqrtl(factor * v), hc_tol[a]);
        }
        CHECK(isfinite(r->fvalue) && r->f_pvalue >= 0.0 && r->f_pvalue <= 1.0);
        ooc_fit_result_free(r);
    }
    free_problem(&pr);
}

static void test_errors(void)
{
    problem pr = make_problem(50, 2, true, true, 3);
    ooc_fit_options o;
    ooc_fit_options_init(&o);
    ooc_fit_result *r = NULL;
    ooc_error err = {0};
    pr.x[17 * 2 + 1] = NAN;
    CHECK(run_fit(&pr, NULL, &o, 8, &r, &err) == OOC_ERR_DATA);
    CHECK_MSG(strstr(err.message, "row 18") && strstr(err.message, "'x1'"), "%s", err.message);
    pr.x[17 * 2 + 1] = 1.0;
    pr.y[40] = -INFINITY;
    ooc_error_clear(&err);
    CHECK(run_fit(&pr, NULL, &o, 8, &r, &err) == OOC_ERR_DATA);
    CHECK_MSG(strstr(err.message, "row 41") && strstr(err.message, "-inf"), "%s", err.message);
    pr.y[40] = 1.0;
    pr.w[30] = -1.0;
    ooc_error_clear(&err);
    CHECK(run_fit(&pr, NULL, &o, 8, &r, &err) == OOC_ERR_DATA);
    CHECK_MSG(strstr(err.message, "row 31") && strstr(err.message, "weight"), "%s", err.message);
    CHECK(r == NULL);
    /* no response */
    ooc_mem_source_spec spec = {.x = pr.x, .nrows = pr.n, .p = 2};
    ooc_source *src = NULL;
    ooc_backend *be = NULL;
    CHECK(ooc_mem_source_open(&spec, &src, &err) == OOC_OK);
    CHECK(ooc_cpu_backend_create(NULL, &be, &err) == OOC_OK);
    CHECK(ooc_fit(src, be, &o, &r, &err) == OOC_ERR_INVALID_ARG);
    /* the SVD of X needs no response: σ² = eigenvalues of XᵀX */
    ooc_svd_options so;
    ooc_svd_options_init(&so);
    so.vectors = true;
    ooc_svd_result *sv = NULL;
    CHECK(ooc_svd(src, be, &so, &sv, &err) == OOC_OK);
    if (sv) {
        long double ev[20];
        ref_eigenvalues(pr.x, NULL, pr.n, 2, NULL, ev);
        CHECK(sv->k == 2 && sv->nrows == 50);
        bounds bd = {.gamma = (2.0 * sqrt(50.0) + 3.0) * DBL_EPSILON};
        bd.eps_A = sqrt(2.0) * bd.gamma;
        for (size_t j = 0; j < 2; j++) { /* svd runs qr (its default) */
            double tol = sv2_tol(&bd, OOC_METHOD_QR, 2, ev[0], ev[j]);
            note(&worst_sv, rel(sv->s[j] * sv->s[j], ev[j]), tol);
            CHECK_MSG(rel(sv->s[j] * sv->s[j], ev[j]) <= tol, "σ%zu² %.17g vs %.17Lg (tol %g)", j,
                      sv->s[j] * sv->s[j], ev[j], tol);
        }
        /* rows of Vᵀ are unit vectors: LAPACK's orthogonal factors are orthonormal to
         * O(p·ε) (Higham Lemma 19.3 for products of reflections/rotations), plus one
         * rounding in hypot: 4·p·ε */
        for (size_t j = 0; j < 2; j++)
            CHECK(fabs(hypot(sv->vt[j * 2], sv->vt[j * 2 + 1]) - 1.0) <= 4 * 2 * DBL_EPSILON);
    }
    ooc_svd_result_free(sv);
    ooc_backend_free(be);
    ooc_source_free(src);
    ooc_fit_result_free(NULL);
    ooc_svd_result_free(NULL);
    free_problem(&pr);
}

/* Relative error bound of ooc_beta_inc(a, b, x, 1-x) (host/src/stats.c: I =
 * exp(log prefactor)·continued fraction/a, or the complement): the exponential
 * turns the log prefactor's absolute rounding error — log and log1p ≤ 1 ulp
 * (glibc's documented x86_64 maxima), products and sums ≤ ½ ulp, so ≤ 2ε per
 * unit of |a ln x| + |b ln(1-x)| + |ln B(a,b)| — into relative error; the
 * continued fraction's first denominator 1 - (a+b)x/(a+1) is at least
 * 2/(a+b+2) on the side it is used, a cancellation of up to ε(a+b+2)/2, which
 * later Lentz steps can repeat (allowed twice: a+b+2); 16ε covers the other
 * O(ε) roundings of the converged Lentz factors and the final product and
 * division.  This is the implementation's error model, not a conditioning: the
 * closed forms below are exact mathematically. */
static double beta_tol(double a, double b, double x)
{
    double y = 1.0 - x;
    double lx = x > 0.0 ? fabs(a * log(x)) : 0.0, ly = y > 0.0 ? fabs(b * log(y)) : 0.0;
    double lb = fabs(lgamma(a) + lgamma(b) - lgamma(a + b));
    return DBL_EPSILON * (16.0 + 2.0 * (lx + ly + lb) + (a + b + 2.0));
}

/* The t density (for the quantile check's conditioning term only). */
static double t_density(double t, double nu)
{
    return exp(lgamma(0.5 * (nu + 1.0)) - lgamma(0.5 * nu) - 0.5 * log(nu * pi) -
               0.5 * (nu + 1.0) * log1p(t * t / nu));
}

/* Closed forms and identities of the distribution code (scipy comparisons
 * are in oracle_statsmodels.py).  References computed here use glibc's
 * functions, ≤ 1 ulp for log, log1p, exp, pow, atan and ≤ 4 ulp for lgamma
 * (glibc's documented x86_64 maxima, libm-test-ulps). */
static void check_dist(double err, double tol)
{
    note(&worst_dist, err, tol);
}

static void test_distributions(void)
{
    double xs[] = {1e-12, 1e-3, 0.1, 0.37, 0.5, 0.9, 0.999};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x = xs[i], y = 1.0 - x, ix, ic;
        ooc_beta_inc(1.0, 1.0, x, y, &ix, &ic);
        double tol = beta_tol(1.0, 1.0, x) * x;
        check_dist(fabs(ix - x), tol);
        CHECK_MSG(fabs(ix - x) <= tol, "I_x(1,1) %g: %.17g (tol %g)", x, ix, tol);
        /* one of the pair is 1 - the other (≤ ½ulp of 1), the sum one more: ≤ ε */
        CHECK(fabs(ix + ic - 1.0) <= DBL_EPSILON);
        double as[] = {0.5, 3.0, 17.5, 250.0};
        for (size_t k = 0; k < sizeof as / sizeof as[0]; k++) {
            double a = as[k];
            ooc_beta_inc(a, 1.0, x, y, &ix, NULL); /* I_x(a,1) = x^a; pow ≤ 1 ulp */
            double want = pow(x, a);
            tol = (beta_tol(a, 1.0, x) + DBL_EPSILON) * want;
            if (want >= 1e-300)
                check_dist(fabs(ix - want), tol);
            CHECK_MSG(want < 1e-300 || fabs(ix - want) <= tol, "I_x(%g,1) x=%g: %.17g vs %.17g (tol %g)",
                      a, x, ix, want, tol);
            ooc_beta_inc(1.0, a, x, y, NULL, &ic); /* 1 - I_x(1,b) = (1-x)^b */
            want = pow(y, a);
            tol = (beta_tol(1.0, a, x) + DBL_EPSILON) * want;
            if (want >= 1e-300)
                check_dist(fabs(ic - want), tol);
            CHECK_MSG(want < 1e-300 || fabs(ic - want) <= tol, "I_x(1,%g) x=%g: %.17g vs %.17g (tol %g)",
                      a, x, ic, want, tol);
        }
    }
    double dfs[] = {1, 2, 3.5, 10, 47, 1000, 1e5};
    double ts[] = {0.0, 0.3, 1.0, 1.96, 4.0, 12.0, 60.0};
    for (size_t d = 0; d < sizeof dfs / sizeof dfs[0]; d++) {
        double nu = dfs[d];
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            double t = ts[i], x = nu / (nu + t * t);
            double cdf = ooc_t_cdf(t, nu), cdfm = ooc_t_cdf(-t, nu);
            /* cdf(±t) are 1 - tail/2 (one rounding) and tail/2 (exact) of the same tail */
            CHECK(fabs(cdf + cdfm - 1.0) <= DBL_EPSILON);
            double p2 = ooc_t_pvalue_two_sided(t, nu);
            /* the same tail, scaled by 1/2 and 2: exact unless tail/2 is subnormal, where it
             * may lose its last bit (2^-1074) */
            CHECK(fabs(p2 - 2.0 * ooc_t_sf(t, nu)) <= 0x1p-1074);
            /* T² ~ F(1, ν): both evaluate I_x(ν/2, 1/2), each within beta_tol */
            double fsf = ooc_f_sf(t * t, 1.0, nu), tol = 2.0 * beta_tol(0.5 * nu, 0.5, x) * p2;
            if (p2 >= 1e-300)
                check_dist(fabs(fsf - p2), tol);
            CHECK_MSG(fabs(fsf - p2) <= tol + 1e-300, "F(1,%g)(%g²) %.17g vs %.17g (tol %g)", nu, t,
                      fsf, p2, tol);
        }
        /* Cauchy (ν = 1): sf(t) = 1/2 - atan(t)/π; the reference's atan (≤ 1 ulp ≤ ε below 2,
         * then /π), the division (≤ ε/8 below 1/2), the double π (ε/4 at most) and the exact
         * subtraction add ≤ 0.7ε absolutely: we allow ε */
        if (nu == 1.0)
            for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
                double t = ts[i], sf = ooc_t_sf(t, 1.0), want = 0.5 - atan(t) / pi;
                double tol = beta_tol(0.5, 0.5, 1.0 / (1.0 + t * t)) * sf + DBL_EPSILON;
                check_dist(fabs(sf - want), tol);
                CHECK_MSG(fabs(sf - want) <= tol, "Cauchy sf(%g) %.17g vs %.17g", t, sf, want);
            }
        /* ν = 2: sf(t) = 1/2 - t / (2√(t²+2)) = 1/(s(s+t)), s = √(t²+2): the reference has
         * five roundings (≤ 3ε relative) */
        if (nu == 2.0)
            for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
                double t = ts[i], s2 = sqrt(t * t + 2.0), want = 1.0 / (s2 * (s2 + t));
                double tol = (beta_tol(1.0, 0.5, 2.0 / (2.0 + t * t)) + 3.0 * DBL_EPSILON) * want;
                check_dist(fabs(ooc_t_sf(t, 2.0) - want), tol);
                CHECK(fabs(ooc_t_sf(t, 2.0) - want) <= tol + 1e-300);
            }
        /* quantiles: Newton stops once its step is ≤ 4ε|q|, so cdf(q) - p is within the
         * cdf's own error twice (at q and at the root) plus pdf(q)·4ε|q| */
        double probs[] = {0.975, 0.5, 0.01, 1e-9};
        for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
            double q = ooc_t_ppf(probs[i], nu);
            double tol = 2.0 * beta_tol(0.5 * nu, 0.5, nu / (nu + q * q)) * probs[i] +
                         4.0 * DBL_EPSILON * fabs(q) * t_density(q, nu);
            check_dist(fabs(ooc_t_cdf(q, nu) - probs[i]), tol);
            CHECK_MSG(fabs(ooc_t_cdf(q, nu) - probs[i]) <= tol, "ppf(%g, %g) = %g", probs[i], nu, q);
        }
    }
    /* F(2, d2): sf(f) = (1 + 2f/d2)^(-d2/2); the reference's base carries ~1.5ε, which the
     * power 23.5 amplifies, plus pow's ulp: ≤ 37ε relative */
    double fs[] = {0.1, 1.0, 5.0, 400.0};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        double want = pow(1.0 + 2.0 * fs[i] / 47.0, -47.0 / 2.0);
        double tol = (beta_tol(23.5, 1.0, 47.0 / (47.0 + 2.0 * fs[i])) + 37.0 * DBL_EPSILON) * want;
        check_dist(fabs(ooc_f_sf(fs[i], 2.0, 47.0) - want), tol);
        CHECK_MSG(fabs(ooc_f_sf(fs[i], 2.0, 47.0) - want) <= tol, "F(2,47) %g", fs[i]);
    }
    CHECK(isnan(ooc_t_sf(1.0, -1.0)) && isnan(ooc_f_sf(1.0, 0.0, 3.0)) && isnan(ooc_t_ppf(1.5, 3)));
    /* ln B(½,½) = ln π: ours is 2·lgamma(½) - lgamma(1) (≤ 4 ulp each), the reference log
     * (≤ 1 ulp) */
    double tol = (8.0 * lgamma(0.5) + 2.0 * log(pi)) * DBL_EPSILON;
    check_dist(fabs(ooc_log_beta(0.5, 0.5) - log(pi)), tol);
    CHECK(fabs(ooc_log_beta(0.5, 0.5) - log(pi)) <= tol);
    /* ln B(30,40) by Stirling vs three lgammas (≤ 4 ulp each, cancelling from ~400 to -48):
     * both within ~4ε per unit of the terms' magnitudes */
    double lg = lgamma(30.0) + lgamma(40.0) - lgamma(70.0);
    tol = 8.0 * DBL_EPSILON * (fabs(lgamma(30.0)) + fabs(lgamma(40.0)) + fabs(lgamma(70.0)));
    check_dist(fabs(ooc_log_beta(30.0, 40.0) - lg), tol);
    CHECK(fabs(ooc_log_beta(30.0, 40.0) - lg) <= tol);
}

int main(void)
{
    test_distributions();
    test_full_rank();
    test_rank_deficient();
    test_constant_detection();
    test_hc();
    test_errors();
    printf("test_fit: worst error/tolerance: beta %.2e, ssr %.2e, singular values %.2e, "
           "HC bse %.2e, distributions %.2e\n",
           worst_beta, worst_ssr, worst_sv, worst_hc, worst_dist);
    return TEST_EXIT();
}
