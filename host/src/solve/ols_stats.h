/*
 * ols_stats.h — statsmodels' statistics on the kept triangle (ols_stats.c).
 * rk below is (k+1) x (k+1) row-major: R_K in its first k columns, z = Qᵀy
 * in the last, ρ (√SSR) in the corner.
 */
#ifndef OOC_SOLVE_OLS_STATS_H
#define OOC_SOLVE_OLS_STATS_H

#include "oocsolve.h"
#include "solve/accumulator.h"

#include <stdarg.h>

/* The members ooc_fit_result and ooc_glm_result share by name, by their
 * addresses (OOC_RESULT_PARTS(r) for either): the coefficient table, the
 * response and formula names, the warnings. */
typedef struct ooc_result_parts {
    size_t p;
    char ***names, **y_name, **formula;
    bool **aliased;
    double **params, **bse, **tvalues, **pvalues, **conf_lower, **conf_upper, **cov_params;
    char ***warnings;
    size_t *nwarnings;
} ooc_result_parts;

#define OOC_RESULT_PARTS(r)                                                                        \
    ((ooc_result_parts){(r)->p, &(r)->names, &(r)->y_name, &(r)->formula, &(r)->aliased,           \
                        &(r)->params, &(r)->bse, &(r)->tvalues, &(r)->pvalues,                     \
                        &(r)->conf_lower, &(r)->conf_upper, &(r)->cov_params, &(r)->warnings,      \
                        &(r)->nwarnings})

/* Allocate the coefficient table of p = r->p columns into a zeroed result:
 * names copied (ooc_names_copy), aliased all false, the p-arrays and the
 * p x p cov_params NaN (one element at least each).  false when out of
 * memory; what was allocated is set, for ooc_result_parts_free. */
bool ooc_result_parts_alloc(const ooc_result_parts *r, const char *const *names);

/* Free what the parts point to (NULL ones are fine); not the result. */
void ooc_result_parts_free(const ooc_result_parts *r);

/* Append a vprintf-formatted warning to the parts' warnings.  Errors:
 * OOC_ERR_NOMEM. */
ooc_status ooc_result_parts_warn(const ooc_result_parts *r, ooc_error *err, const char *fmt,
                                 va_list ap) __attribute__((format(printf, 3, 0)));

/* A result for acc's columns: names copied, every array NaN, const_idx -1.
 * NULL when out of memory. */
ooc_fit_result *ooc_fit_result_alloc(const ooc_accumulator *acc);

/* Append a printf-formatted warning to r.  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_result_add_warning(ooc_fit_result *r, ooc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* statsmodels' k_constant / const_idx: an explicit constant from the column
 * extremes, else an implicit one (ones in the span of the kept columns) from
 * Xᵀw and R_K. */
void ooc_detect_constant(const ooc_side_stats *st, size_t p, const double *rk, size_t k,
                         const bool *aliased, int *k_constant, long *const_idx);

/* cov = factor·R⁻¹ M R⁻ᵀ (k x k) for the upper triangle r (ldr) and the
 * symmetric m (upper triangle read; NULL: the identity). */
void ooc_sandwich_cov(const double *r, size_t ldr, size_t k, const double *m, double factor,
                      double *cov);

/* The least-squares perturbation bound ε·(2κ/cos θ + κ²·tan θ) of the
 * first-pass β (ooc_refine_mode); NaN when it means nothing.  *status gets
 * OOC_ERR_NOMEM or OOC_ERR_INTERNAL on failure. */
double ooc_first_pass_error_bound(const double *rk, size_t k, double ssr, double yy,
                                  ooc_error *err, ooc_status *status);

/* The robust Wald F (statsmodels' fvalue for an HC or cluster covariance)
 * into r, in R's basis: z = Rβ (k values), mq the meat (k x k, upper),
 * factor the HC1 scaling, df_denom the F's denominator df (df_resid; a
 * cluster's G - 1).  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_robust_f_test(ooc_fit_result *r, const double *rk, size_t k, const double *z,
                             const double *mq, double factor, double df_denom,
                             const size_t *kept_index, ooc_error *err);

/* statsmodels' sums of squares, R², llf, aic, bic and the nonrobust F into
 * r from the side statistics and rk (k kept columns; r->ssr already set). */
void ooc_fit_statistics(ooc_fit_result *r, const ooc_side_stats *st, const double *rk, size_t k);

/* Append the summary's warnings (rank, conditioning, method normal on an
 * ill-conditioned design) to r.  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_fit_warnings(ooc_fit_result *r, uint64_t nobs, ooc_method method, ooc_error *err);

#endif
