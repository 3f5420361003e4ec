/*
 * ols_stats.c — statsmodels' statistics from the kept triangle: the result
 * object, warnings, constant detection, the covariance (nonrobust or the HC
 * sandwich in R's basis), the robust Wald F, and the first-pass error bound
 * that decides automatic refinement.  See ols_stats.h.
 */
#include "solve/ols_stats.h"

#include "base/error.h"
#include "solve/passes.h"
#include "solve/stats.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ooc_result_parts_alloc(const ooc_result_parts *r, const char *const *names)
{
    size_t p = r->p, n = p ? p : 1;
    *r->names = ooc_names_copy(names, p);
    *r->aliased = calloc(n, sizeof(bool));
    double **arrays[] = {r->params,  r->bse,        r->tvalues,
                         r->pvalues, r->conf_lower, r->conf_upper};
    bool ok = *r->names && *r->aliased;
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        *arrays[i] = malloc(n * sizeof(double));
        ok = ok && *arrays[i];
        for (size_t j = 0; *arrays[i] && j < p; j++)
            (*arrays[i])[j] = NAN;
    }
    *r->cov_params = malloc(n * n * sizeof(double));
    for (size_t j = 0; *r->cov_params && j < p * p; j++)
        (*r->cov_params)[j] = NAN;
    return ok && *r->cov_params;
}

void ooc_result_parts_free(const ooc_result_parts *r)
{
    ooc_names_free(*r->names, r->p);
    free(*r->y_name);
    free(*r->formula);
    free(*r->aliased);
    free(*r->params);
    free(*r->bse);
    free(*r->tvalues);
    free(*r->pvalues);
    free(*r->conf_lower);
    free(*r->conf_upper);
    free(*r->cov_params);
    ooc_names_free(*r->warnings, *r->nwarnings);
}

ooc_status ooc_result_parts_warn(const ooc_result_parts *r, ooc_error *err, const char *fmt,
                                 va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char **grown = realloc(*r->warnings, (*r->nwarnings + 1) * sizeof(char *));
    if (!grown)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    *r->warnings = grown;
    grown[*r->nwarnings] = ooc_strdup_or_null(buf);
    if (!grown[*r->nwarnings])
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    (*r->nwarnings)++;
    return OOC_OK;
}

ooc_status ooc_result_add_warning(ooc_fit_result *r, ooc_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ooc_status st = ooc_result_parts_warn(&OOC_RESULT_PARTS(r), err, fmt, ap);
    va_end(ap);
    return st;
}

/* statsmodels' k_constant/const_idx from column min/max (see
 * statsmodels/base/data.py _handle_constant); the implicit-constant check
 * (ones in the column space of X) uses Xᵀw and R. */
void ooc_detect_constant(const ooc_side_stats *st, size_t p, const double *rk, size_t k,
                            const bool *aliased, int *k_constant, long *const_idx)
{
    *const_idx = -1;
    long first_nonzero = -1, first_one = -1;
    size_t nconst = 0;
    for (size_t j = 0; j < p; j++) {
        if (st->nobs == 0 || st->colmin[j] != st->colmax[j])
            continue;
        nconst++;
        if (first_one < 0 && st->colmin[j] == 1.0)
            first_one = (long)j;
        if (first_nonzero < 0 && st->colmin[j] != 0.0)
            first_nonzero = (long)j;
    }
    if (nconst > 0 && (first_one >= 0 || first_nonzero >= 0)) {
        *k_constant = 1;
        *const_idx = first_one >= 0 ? first_one : first_nonzero;
        return;
    }
    /* implicit: residual of √w regressed on W^½X_K is Σw - ‖R⁻ᵀ(X_Kᵀw)‖² */
    *k_constant = 0;
    if (k == 0 || st->sum_w <= 0.0L)
        return;
    double *u = malloc(k * sizeof(double));
    if (!u)
        return;
    size_t c = 0;
    for (size_t j = 0; j < p; j++)
        if (!aliased[j])
            u[c++] = (double)st->xw[j];
    cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)k, rk, (int)(k + 1), u,
                1);
    long double unorm2 = 0.0L;
    for (size_t i = 0; i < k; i++)
        unorm2 += (long double)u[i] * u[i];
    free(u);
    long double resid2 = st->sum_w - unorm2;
    /* relative residual norm below 1e-6: the ones vector lies in span(X) up to
     * the rounding of this normal-equations style computation (~√(cond·eps)) */
    if (resid2 <= 1e-12L * st->sum_w)
        *k_constant = 1;
}

/* cov = factor·R⁻¹ M R⁻ᵀ (k x k row-major) for the k x k upper triangle R
 * (row-major, leading dimension ldr, nonzero diagonal) and the symmetric M
 * (its upper triangle read; NULL: the identity, so factor·(RᵀR)⁻¹): two
 * triangular solves (dtrsm), each backward stable, then the mean of the two
 * triangles, which the solves leave equal only to rounding. */
void ooc_sandwich_cov(const double *r, size_t ldr, size_t k, const double *m, double factor,
                         double *cov)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            cov[i * k + j] = m ? m[(i < j ? i : j) * k + (i < j ? j : i)] : (double)(i == j);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, (int)k,
                1.0, r, (int)ldr, cov, (int)k);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasTrans, CblasNonUnit, (int)k, (int)k,
                factor, r, (int)ldr, cov, (int)k);
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            cov[i * k + j] = cov[j * k + i] = 0.5 * (cov[i * k + j] + cov[j * k + i]);
}

/* The least-squares perturbation bound ε·(2κ/cos θ + κ²·tan θ) for the
 * first-pass β (see ooc_refine_mode): κ is LAPACK's 1-norm condition estimate
 * (dtrcon) of R_K with its columns scaled to unit norm, sin²θ = ssr / yy.
 * rk is (k+1) x (k+1) row-major with R_K in its first k columns.  NaN when the
 * bound means nothing (y is zero or orthogonal to the columns). */
double ooc_first_pass_error_bound(const double *rk, size_t k, double ssr, double yy,
                                     ooc_error *err, ooc_status *status)
{
    *status = OOC_OK;
    if (!(yy > 0.0) || !(ssr < yy))
        return NAN;
    double *scaled = malloc(k * k * sizeof(double));
    if (!scaled) {
        *status = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        return NAN;
    }
    for (size_t j = 0; j < k; j++) {
        double norm = 0.0;
        for (size_t i = 0; i <= j; i++)
            norm = hypot(norm, rk[i * (k + 1) + j]);
        for (size_t i = 0; i < k; i++)
            scaled[i * k + j] = i <= j && norm > 0.0 ? rk[i * (k + 1) + j] / norm : 0.0;
    }
    double rcond = 0.0;
    lapack_int info = LAPACKE_dtrcon(LAPACK_ROW_MAJOR, '1', 'U', 'N', (lapack_int)k, scaled,
                                     (lapack_int)k, &rcond);
    free(scaled);
    if (info != 0) {
        *status = OOC_FAIL(err, OOC_ERR_INTERNAL, "dtrcon: bad argument %d", (int)-info);
        return NAN;
    }
    if (!(rcond > 0.0))
        return INFINITY;
    double kappa = 1.0 / rcond, sin2 = ssr / yy, cos_theta = sqrt(1.0 - sin2);
    return DBL_EPSILON * (2.0 * kappa / cos_theta + kappa * kappa * sqrt(sin2) / cos_theta);
}

void ooc_fit_result_free(ooc_fit_result *r)
{
    if (!r)
        return;
    ooc_result_parts_free(&OOC_RESULT_PARTS(r));
    free(r->singular_values);
    free(r);
}

ooc_fit_result *ooc_fit_result_alloc(const ooc_accumulator *acc)
{
    size_t p = acc->p;
    ooc_fit_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p = p;
    bool ok = ooc_result_parts_alloc(&OOC_RESULT_PARTS(r), (const char *const *)acc->names);
    r->y_name = ooc_strdup_or_null(acc->y_name);
    r->formula = ooc_strdup_or_null(acc->formula);
    r->singular_values = malloc(p * sizeof(double));
    if (!ok || (acc->y_name && !r->y_name) || (acc->formula && !r->formula) ||
        !r->singular_values) {
        ooc_fit_result_free(r);
        return NULL;
    }
    r->const_idx = -1;
    return r;
}

/* The robust Wald F when f·M is not positive definite (a two-way cluster
 * meat V₁ + V₂ - V₁₂ need not be): as statsmodels, β_Lᵀ V_LL⁻¹ β_L / q with
 * V = R⁻¹(f·M)R⁻ᵀ and L the kept columns but the constant c (c = k: none),
 * solved by Bunch-Kaufman (cond(X)² times less accurate than the definite
 * case, which never forms V).  NaN when V_LL is singular.  Errors:
 * OOC_ERR_NOMEM. */
static ooc_status indefinite_wald(ooc_fit_result *r, const double *rk, size_t k, const double *z,
                                  const double *mq, double factor, size_t c, size_t q,
                                  double df_denom, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *v = malloc(k * k * sizeof(double)), *vll = malloc(q * q * sizeof(double));
    double *beta = malloc(k * sizeof(double)), *bl = malloc(q * sizeof(double));
    lapack_int *ipiv = malloc(q * sizeof(lapack_int));
    OOC_FAIL_IF(!v || !vll || !beta || !bl || !ipiv, err, OOC_ERR_NOMEM, "out of memory");
    ooc_sandwich_cov(rk, k + 1, k, mq, factor, v);
    memcpy(beta, z, k * sizeof(double));
    cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, rk, (int)(k + 1),
                beta, 1);
    for (size_t i = 0, a = 0; i < k; i++) {
        if (i == c)
            continue;
        bl[a] = beta[i];
        for (size_t j = 0, b = 0; j < k; j++)
            if (j != c)
                vll[a * q + b++] = v[i * k + j];
        a++;
    }
    memcpy(beta, bl, q * sizeof(double));
    if (LAPACKE_dsysv(LAPACK_ROW_MAJOR, 'U', (lapack_int)q, 1, vll, (lapack_int)q, ipiv, bl, 1) !=
        0)
        goto out;
    r->fvalue = cblas_ddot((int)q, beta, 1, bl, 1) / (double)q;
    r->f_pvalue = ooc_f_sf(r->fvalue, (double)q, df_denom);
out:
    free(v);
    free(vll);
    free(beta);
    free(bl);
    free(ipiv);
    return status;
}

/* Robust Wald F that the coefficients other than the constant are zero
 * (statsmodels' fvalue for cov_type != nonrobust), in the basis of R_K, never
 * through the covariance: with V = R⁻¹(f·M)R⁻ᵀ (sandwich_cov) and L the kept
 * columns but the constant c, the Wald form β_Lᵀ V_LL⁻¹ β_L equals (Schur
 * complement) min over t of (β - t·e_c)ᵀ V⁻¹ (β - t·e_c) = ‖C⁻¹(z - t·r_c)‖²,
 * z = Rβ, r_c column c of R, f·M = C Cᵀ (Cholesky): the squared distance of
 * u = C⁻¹z from the line through v = C⁻¹r_c, or ‖u‖² without a constant.
 * Its condition is that of the meat; solving with V_LL, whose condition is
 * about cond(X)² times larger, lost 5 digits on Longley.  z: k values (kept
 * in step with a refined β); mq: k x k, upper triangle.  When f·M is not
 * positive definite, indefinite_wald.  NaN for an implicit constant
 * (statsmodels: its issue #2444).  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_robust_f_test(ooc_fit_result *r, const double *rk, size_t k, const double *z,
                                const double *mq, double factor, double df_denom,
                                const size_t *kept_index, ooc_error *err)
{
    ooc_status status = OOC_OK;
    r->fvalue = r->f_pvalue = NAN;
    if (r->k_constant && r->const_idx < 0)
        return OOC_OK;
    size_t c = k; /* the constant's position among the kept columns; k: none */
    for (size_t i = 0; i < k; i++)
        if (r->k_constant && (long)kept_index[i] == r->const_idx)
            c = i;
    size_t q = c < k ? k - 1 : k;
    if (q == 0)
        return OOC_OK;
    double *chol = malloc(k * k * sizeof(double));
    double *u = malloc(k * sizeof(double)), *v = malloc(k * sizeof(double));
    OOC_FAIL_IF(!chol || !u || !v, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++)
            chol[i * k + j] = factor * mq[j * k + i];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)k, chol, (lapack_int)k) != 0) {
        status = indefinite_wald(r, rk, k, z, mq, factor, c, q, df_denom, err);
        goto out;
    }
    memcpy(u, z, k * sizeof(double));
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)k, chol, (int)k, u, 1);
    double t = 0.0;
    if (c < k) {
        for (size_t i = 0; i < k; i++)
            v[i] = i <= c ? rk[i * (k + 1) + c] : 0.0;
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)k, chol, (int)k,
                    v, 1);
        t = cblas_ddot((int)k, u, 1, v, 1) / cblas_ddot((int)k, v, 1, v, 1);
    }
    double wald = 0.0;
    for (size_t i = 0; i < k; i++) {
        double d = c < k ? u[i] - t * v[i] : u[i];
        wald += d * d;
    }
    r->fvalue = wald / (double)q;
    r->f_pvalue = ooc_f_sf(r->fvalue, (double)q, df_denom);
out:
    free(chol);
    free(u);
    free(v);
    return status;
}

/* statsmodels' sums of squares, R², likelihood, information criteria and F
 * (nonrobust) into r, from the side statistics and the kept triangle rk (k
 * columns; r->ssr set). */
void ooc_fit_statistics(ooc_fit_result *r, const ooc_side_stats *st, const double *rk, size_t k)
{
    const size_t p = r->p;
    /* constant and total sums of squares (statsmodels' definitions) */
    ooc_detect_constant(st, p, rk, k, r->aliased, &r->k_constant, &r->const_idx);
    r->centered_tss = st->y_m2;
    r->uncentered_tss = (double)st->sum_wy2;
    r->df_resid = (double)st->nobs - (double)k;
    r->df_model = (double)k - r->k_constant;
    double tss = r->k_constant ? r->centered_tss : r->uncentered_tss;
    r->ess = tss - r->ssr;
    r->rsquared = 1.0 - r->ssr / tss;
    r->rsquared_adj =
        1.0 - ((double)st->nobs - r->k_constant) / r->df_resid * (1.0 - r->rsquared);
    r->scale = r->ssr / r->df_resid;
    double nobs2 = (double)st->nobs / 2.0;
    r->llf = -log(r->ssr) * nobs2 - (1.0 + log(3.14159265358979323846 / nobs2)) * nobs2 + 0.5 * (double)st->sum_log_w;
    r->aic = -2.0 * r->llf + 2.0 * (r->df_model + r->k_constant);
    r->bic = -2.0 * r->llf + log((double)st->nobs) * (r->df_model + r->k_constant);
    if (r->df_model > 0.0 && r->df_resid > 0.0) {
        r->fvalue = (r->ess / r->df_model) / (r->ssr / r->df_resid);
        r->f_pvalue = ooc_f_sf(r->fvalue, r->df_model, r->df_resid);
    } else {
        r->fvalue = r->f_pvalue = NAN;
    }

}

/* The warnings statsmodels prints under its summary (rank, conditioning),
 * and ours for method normal on an ill-conditioned design.
 * Errors: OOC_ERR_NOMEM. */
ooc_status ooc_fit_warnings(ooc_fit_result *r, uint64_t nobs, ooc_method method, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t p = r->p;
    if (r->n_aliased > 0) {
        char list[768] = "";
        size_t used = 0;
        for (size_t j = 0; j < p && used + 4 < sizeof list; j++) {
            if (!r->aliased[j])
                continue;
            int n = snprintf(list + used, sizeof list - used, "%s'%s'", used ? ", " : "",
                             r->names[j]);
            used = n > 0 && (size_t)n < sizeof list - used ? used + (size_t)n : sizeof list - 1;
        }
        OOC_CHECK(ooc_result_add_warning(r, err,
                              "Rank deficient: %zu of %zu columns are not estimable (linearly "
                              "dependent on earlier columns), reported as NaN: %s",
                              r->n_aliased, p, list));
    }
    if (nobs < p)
        OOC_CHECK(ooc_result_add_warning(r, err, "The input rank is higher than the number of observations."));
    if (r->df_resid <= 0.0)
        OOC_CHECK(ooc_result_add_warning(r, err,
                              "No residual degrees of freedom: standard errors and tests are "
                              "undefined."));
    if (r->min_eigenvalue < 1e-10)
        OOC_CHECK(ooc_result_add_warning(r, err,
                              "The smallest eigenvalue is %6.3g. This might indicate that there "
                              "are strong multicollinearity problems or that the design matrix "
                              "is singular.",
                              r->min_eigenvalue));
    else if (r->condition_number > 1000.0)
        OOC_CHECK(ooc_result_add_warning(r, err,
                              "The condition number is large, %6.3g. This might indicate that "
                              "there are strong multicollinearity or other numerical problems.",
                              r->condition_number));
    if (method == OOC_METHOD_NORMAL &&
        r->scaled_condition_number * r->scaled_condition_number * DBL_EPSILON > 1e-10)
        OOC_CHECK(ooc_result_add_warning(r, err,
                              "Ill-conditioned for method 'normal': it squares the condition "
                              "number (%.3g after column scaling), so expect only about %.0f "
                              "correct digits; use --method qr.",
                              r->scaled_condition_number,
                              fmax(0.0, -log10(r->scaled_condition_number *
                                               r->scaled_condition_number * DBL_EPSILON))));
out:
    return status;
}
