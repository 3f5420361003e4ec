/*
 * glm_stats.h — statsmodels' GLMResults statistics from what the IRLS
 * passes summed (glm_stats.c): the result object, scale, log-likelihoods,
 * information criteria, the null model, the covariance and the tests.
 */
#ifndef OOC_SOLVE_GLM_STATS_H
#define OOC_SOLVE_GLM_STATS_H

#include "oocsolve.h"
#include "solve/glm_family.h"

/* A result for p regressors (names copied; every array NaN, aliased all
 * false).  NULL when out of memory. */
ooc_glm_result *ooc_glm_result_alloc(size_t p, const char *const *names);

/* Append a printf-formatted warning to r.  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_glm_add_warning(ooc_glm_result *r, ooc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The family's scale: 1 (binomial, poisson), else Pearson χ² / df_resid. */
double ooc_glm_scale(ooc_glm_family f, double pearson_chi2, double df_resid);

/* What the statistics take from the passes. */
typedef struct ooc_glm_totals {
    const ooc_glm_sums *constants; /* the pass that summed the constants */
    const ooc_glm_sums *end;       /* the pass at the final μ: deviance, Pearson χ² */
    bool has_null;                 /* null_dev below holds the null model's deviance */
    long double null_dev;
    long double lgamma_ws; /* gamma with var_weights: Σ f_i·lgamma(v_i/scale) */
} ooc_glm_totals;

/* nobs, df, deviance, Pearson χ², scale, llf, llnull, pseudo R², aic, bic
 * into r (r->family, r->link and r->rank set).  The log-likelihoods are
 * statsmodels' loglike summed per family from the deviance and the
 * constants (glm_family.h); Gaussian with the identity link takes the
 * concentrated one, as statsmodels' llf does. */
void ooc_glm_statistics(ooc_glm_result *r, const ooc_glm_totals *t);

/* cov = r->scale·(R_KᵀR_K)⁻¹ from rk ((k+1) x (k+1), R_K in its first k
 * columns, a positive diagonal), or the given k x k cov_k (a robust one;
 * NULL: the former), then params (beta_k), bse, z, P>|z| and the 95%
 * interval of the kept regressors (kept: their k indexes).
 * Errors: OOC_ERR_NOMEM. */
ooc_status ooc_glm_covariance(ooc_glm_result *r, const double *rk, size_t k, const size_t *kept,
                              const double *beta_k, const double *cov_k, ooc_error *err);

#endif
