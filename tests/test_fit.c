/* test_fit.c — ooc_fit / ooc_svd through an in-memory source against
 * independent long-double references written here (normal equations solved
 * by Cholesky in long double; Jacobi eigenvalues of the long-double Gram),
 * rank-deficient designs, constant detection, HC covariance, refinement,
 * data errors, and closed-form identities of the t/F/incomplete-beta code.
 *
 * Tolerances: the references carry ~cond²·1e-19 relative error (negligible
 * here, cond < 1e3).  QR results are backward stable: relative error in β
 * ≲ c·p·cond·eps; normal equations ≲ c·p·cond²·eps; we use c = 100. */
#include "error.h"
#include "fit.h"
#include "memsource.h"
#include "stats.h"
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
    for (size_t j = 0; j < k; j++) { /* Cholesky g = L Lᵀ in place (lower) */
        long double d = g[j][j];
        for (size_t m = 0; m < j; m++)
            d -= g[j][m] * g[j][m];
        if (d <= 0)
            return false;
        g[j][j] = sqrtl(d);
        for (size_t i = j + 1; i < k; i++) {
            long double s = g[i][j];
            for (size_t m = 0; m < j; m++)
                s -= g[i][m] * g[j][m];
            g[i][j] = s / g[j][j];
        }
    }
    long double z[20];
    for (size_t i = 0; i < k; i++) {
        long double s = h[i];
        for (size_t m = 0; m < i; m++)
            s -= g[i][m] * z[m];
        z[i] = s / g[i][i];
    }
    for (size_t i = k; i-- > 0;) {
        long double s = z[i];
        for (size_t m = i + 1; m < k; m++)
            s -= g[m][i] * b[idx[m]];
        b[idx[i]] = s / g[i][i];
    }
    *ssr = 0.0L;
    for (size_t i = 0; i < n; i++) {
        long double r = y[i];
        for (size_t a = 0; a < k; a++)
            r -= (long double)x[i * p + idx[a]] * b[idx[a]];
        *ssr += (w ? w[i] : 1.0L) * r * r;
    }
    return true;
}

/* Eigenvalues (descending) of the long double Gram XᵀX by cyclic Jacobi. */
static void ref_eigenvalues(const double *x, size_t n, size_t p, long double *ev)
{
    long double a[20][20] = {{0}};
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < p; r++)
            for (size_t c = 0; c < p; c++)
                a[r][c] += (long double)x[i * p + r] * x[i * p + c];
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
                double cond = r->condition_number;
                double tol = 100.0 * (double)pr.p * DBL_EPSILON *
                             (m == OOC_METHOD_NORMAL && !refine ? cond * cond : cond);
                CHECK(r->rank == pr.p && r->n_aliased == 0 && r->nobs == pr.n);
                for (size_t j = 0; j < pr.p; j++)
                    CHECK_MSG(rel(r->params[j], b[j]) <= tol, "case %zu %s refine %d: β%zu %.17g vs %.17Lg (tol %g)",
                              c, ooc_method_name((ooc_method)m), refine, j, r->params[j], b[j], tol);
                CHECK_MSG(rel(r->ssr, ssr) <= 1e-8, "ssr %.17g vs %.17Lg", r->ssr, ssr);
                CHECK(r->k_constant == (cases[c].icpt ? 1 : 0));
                CHECK(r->const_idx == (cases[c].icpt ? 0 : -1));
                CHECK(refine ? r->refine_passes >= 1 : r->refine_passes == 0);
                /* statistics consistent with their definitions */
                CHECK(fabs(r->df_resid - (double)(pr.n - pr.p)) == 0.0);
                CHECK(rel(r->scale, ssr / (long double)(pr.n - pr.p)) <= 1e-8);
                for (size_t j = 0; j < pr.p; j++) {
                    CHECK(rel(r->tvalues[j], (long double)r->params[j] / r->bse[j]) <= 1e-15);
                    CHECK(r->conf_lower[j] < r->params[j] && r->params[j] < r->conf_upper[j]);
                    CHECK(r->pvalues[j] >= 0.0 && r->pvalues[j] <= 1.0);
                }
                /* eigenvalues of XᵀWX vs σ² (unweighted cases) */
                if (!pr.w) {
                    long double ev[20];
                    ref_eigenvalues(pr.x, pr.n, pr.p, ev);
                    for (size_t j = 0; j < pr.p; j++) {
                        double s = r->singular_values[j];
                        double tol_s = 100.0 * (double)pr.p * DBL_EPSILON *
                                       (m == OOC_METHOD_NORMAL ? cond * cond : cond);
                        CHECK_MSG(rel(s * s, ev[j]) <= tol_s, "σ%zu² %.17g vs %.17Lg", j, s * s, ev[j]);
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
        for (size_t j = 0; j < 5; j++)
            if (use[j])
                CHECK_MSG(rel(r->params[j], b[j]) <= 1e-9, "β%zu %.17g vs %.17Lg", j, r->params[j], b[j]);
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
        CHECK(rel(r->rsquared, 1.0L - (long double)r->ssr / r->centered_tss) <= 1e-15);
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
            CHECK_MSG(rel(r->bse[a], sqrtl(factor * v)) <= 1e-10, "HC%d bse%zu %.17g vs %.17Lg",
                      hc - 1, a, r->bse[a], sqrtl(factor * v));
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
        ref_eigenvalues(pr.x, pr.n, 2, ev);
        CHECK(sv->k == 2 && sv->nrows == 50);
        for (size_t j = 0; j < 2; j++)
            CHECK(rel(sv->s[j] * sv->s[j], ev[j]) <= 1e-12);
        /* rows of Vᵀ are unit vectors */
        for (size_t j = 0; j < 2; j++)
            CHECK(fabs(hypot(sv->vt[j * 2], sv->vt[j * 2 + 1]) - 1.0) <= 1e-14);
    }
    ooc_svd_result_free(sv);
    ooc_backend_free(be);
    ooc_source_free(src);
    ooc_fit_result_free(NULL);
    ooc_svd_result_free(NULL);
    free_problem(&pr);
}

/* Closed forms and identities of the distribution code (scipy comparisons
 * are in oracle_statsmodels.py). */
static void test_distributions(void)
{
    double xs[] = {1e-12, 1e-3, 0.1, 0.37, 0.5, 0.9, 0.999};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x = xs[i], y = 1.0 - x, ix, ic;
        ooc_beta_inc(1.0, 1.0, x, y, &ix, &ic);
        CHECK_MSG(fabs(ix - x) <= 1e-14 * x, "I_x(1,1) %g: %.17g", x, ix);
        CHECK(fabs(ix + ic - 1.0) <= 4 * DBL_EPSILON);
        double as[] = {0.5, 3.0, 17.5, 250.0};
        for (size_t k = 0; k < sizeof as / sizeof as[0]; k++) {
            double a = as[k];
            ooc_beta_inc(a, 1.0, x, y, &ix, NULL); /* I_x(a,1) = x^a */
            double want = pow(x, a);
            CHECK_MSG(want < 1e-300 || fabs(ix - want) <= 1e-13 * want, "I_x(%g,1) x=%g: %.17g vs %.17g", a, x, ix, want);
            ooc_beta_inc(1.0, a, x, y, NULL, &ic); /* 1 - I_x(1,b) = (1-x)^b */
            want = pow(y, a);
            CHECK_MSG(want < 1e-300 || fabs(ic - want) <= 1e-13 * want, "I_x(1,%g) x=%g: %.17g vs %.17g", a, x, ic, want);
        }
    }
    double dfs[] = {1, 2, 3.5, 10, 47, 1000, 1e5};
    double ts[] = {0.0, 0.3, 1.0, 1.96, 4.0, 12.0, 60.0};
    for (size_t d = 0; d < sizeof dfs / sizeof dfs[0]; d++) {
        double nu = dfs[d];
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            double t = ts[i];
            double cdf = ooc_t_cdf(t, nu), cdfm = ooc_t_cdf(-t, nu);
            CHECK(fabs(cdf + cdfm - 1.0) <= 4 * DBL_EPSILON);
            double p2 = ooc_t_pvalue_two_sided(t, nu);
            CHECK(fabs(p2 - 2.0 * ooc_t_sf(t, nu)) <= 1e-15 * p2 + 1e-300);
            /* T² ~ F(1, ν) */
            double fsf = ooc_f_sf(t * t, 1.0, nu);
            CHECK_MSG(fabs(fsf - p2) <= 1e-13 * p2 + 1e-300, "F(1,%g)(%g²) %.17g vs %.17g", nu, t, fsf, p2);
        }
        /* Cauchy (ν = 1): cdf(t) = 1/2 + atan(t)/π */
        if (nu == 1.0)
            for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
                CHECK(fabs(ooc_t_sf(ts[i], 1.0) - (0.5 - atan(ts[i]) / pi)) <= 1e-14);
        /* ν = 2: sf(t) = 1/2 - t / (2√(t²+2)) */
        if (nu == 2.0)
            for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
                double t = ts[i], s2 = sqrt(t * t + 2.0), want = 1.0 / (s2 * (s2 + t));
                CHECK(fabs(ooc_t_sf(t, 2.0) - want) <= 1e-14 * want + 1e-300);
            }
        double probs[] = {0.975, 0.5, 0.01, 1e-9};
        for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) {
            double q = ooc_t_ppf(probs[i], nu);
            CHECK_MSG(fabs(ooc_t_cdf(q, nu) - probs[i]) <= 1e-13 * probs[i], "ppf(%g, %g) = %g", probs[i], nu, q);
        }
    }
    /* F(2, d2): sf(f) = (1 + 2f/d2)^(-d2/2) */
    double fs[] = {0.1, 1.0, 5.0, 400.0};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        double want = pow(1.0 + 2.0 * fs[i] / 47.0, -47.0 / 2.0);
        CHECK_MSG(fabs(ooc_f_sf(fs[i], 2.0, 47.0) - want) <= 1e-13 * want, "F(2,47) %g", fs[i]);
    }
    CHECK(isnan(ooc_t_sf(1.0, -1.0)) && isnan(ooc_f_sf(1.0, 0.0, 3.0)) && isnan(ooc_t_ppf(1.5, 3)));
    CHECK(fabs(ooc_log_beta(0.5, 0.5) - log(pi)) <= 1e-15);
    CHECK(fabs(ooc_log_beta(30.0, 40.0) - (lgamma(30.0) + lgamma(40.0) - lgamma(70.0))) <= 1e-12);
}

int main(void)
{
    test_distributions();
    test_full_rank();
    test_rank_deficient();
    test_constant_detection();
    test_hc();
    test_errors();
    return TEST_EXIT();
}
