/*
 * glm_family.h — the GLM families and links (glm_family.c), computed as
 * statsmodels computes them (its clipping included), and the row loop of
 * an IRLS pass: each row checked, its μ, deviance and Pearson terms summed
 * in long double, its IRLS weight and working response.
 *
 * The log-likelihood is not summed per row: for every family here it is a
 * function of the deviance, the scale and sums that do not depend on μ
 * (ooc_glm_sums' constants), e.g. binomial and poisson
 * llf = Σ w·ll_sat(y) - deviance/2, Gaussian
 * llf = -deviance/(2s) - n/2·log(2πs) + ½Σ log w (glm_stats.c has them all).
 * statsmodels sums the same terms per row; the two agree to rounding except
 * where its clipping of y/μ at ε acts (a fitted mean 4.5e15 times the
 * response), which a fit does not reach.
 */
#ifndef OOC_SOLVE_GLM_FAMILY_H
#define OOC_SOLVE_GLM_FAMILY_H

#include "oocsolve.h"

/* The family's default link (statsmodels' default). */
ooc_glm_link ooc_glm_default_link(ooc_glm_family f);

/* Whether statsmodels accepts link l for family f (Family.links). */
bool ooc_glm_link_allowed(ooc_glm_family f, ooc_glm_link l);

/* Whether link l respects f's domain (statsmodels' safe_links; otherwise it
 * gives a DomainWarning). */
bool ooc_glm_link_safe(ooc_glm_family f, ooc_glm_link l);

/* statsmodels' class names, for the summary: "Binomial", "InverseGaussian";
 * "Logit", "InversePower", "CLogLog". */
const char *ooc_glm_family_title(ooc_glm_family f);
const char *ooc_glm_link_title(ooc_glm_link l);

/* Whether the scale is fixed at 1 (binomial, poisson) rather than Pearson
 * χ² / df_resid. */
bool ooc_glm_scale_is_one(ooc_glm_family f);

/* g(μ) as statsmodels' Link.__call__ computes it (its clipping included). */
double ooc_glm_link_value(ooc_glm_link l, double mu);

/* Whether statsmodels' starting μ needs the mean of y ((y + ȳ)/2: every
 * family but binomial, whose start is (y + 0.5)/2). */
bool ooc_glm_start_needs_mean(ooc_glm_family f);

/* Where a block's row holds what (doubles from the row's start). */
typedef struct ooc_glm_layout {
    size_t ld;       /* doubles per row */
    size_t ycol;     /* the response */
    long wcol;       /* the weight (var_weights), or -1 */
    long fcol;       /* the frequency weight (freq_weights), or -1 */
    long ocol, ecol; /* the offset, the exposure, or -1 */
} ooc_glm_layout;

/* What a pass sums over its rows (long double).  The constants do not
 * depend on μ and are summed only when asked.  A row's weight w is its
 * var_weight times its freq_weight (statsmodels' iweights): every term of
 * the deviance, Pearson χ² and log-likelihood is a freq_weight times the
 * row's term with its var_weight. */
typedef struct ooc_glm_sums {
    uint64_t n;
    long double dev;         /* Σ w·d(y, μ), statsmodels' deviance */
    long double pearson;     /* Σ w·(y - μ)²/V(μ) */
    long double null_dev;    /* Σ w·d(y, μ₀) at the null model's mean μ₀ (when asked) */
    long double null_pearson, null_w, null_wz; /* the null model's IRLS step (null_b0): its
                               * Pearson χ², Σ W and Σ W·z */
    bool null_failed;         /* a null model's μ left the family's range: no null model */
    double max_resid;        /* max |y - μ| (statsmodels' perfect-prediction test) */
    uint64_t n_boundary;     /* rows predicted perfectly to statsmodels' tolerance 1e-8:
                              * binomial, μ that close to a 0/1 response; poisson, μ <= 1e-8
                              * for a count of 0 (the signs of (quasi-)separation) */
    uint64_t first_boundary; /* the first of them, 1-based; 0: none */
    /* constants (f the freq_weight, v the var_weight, w = f·v) */
    long double wn;            /* Σ f (statsmodels' wnobs) */
    long double y, w, wy;      /* Σ y (unweighted: the starting μ), Σ w, Σ w·y */
    long double log_w, wlog_w; /* Σ f·log v, Σ w·log v (var_weights only) */
    long double log_y;         /* Σ f·log y (gamma, inverse Gaussian) */
    long double w_sat;         /* Σ w·ll_sat(y) (binomial, poisson): the saturated model's
                                * log-likelihood, llf = w_sat - deviance/2 */
} ooc_glm_sums;

/* What one call of ooc_glm_rows computes. */
typedef struct ooc_glm_rows_job {
    const double *data; /* n rows, layout lay */
    size_t n;
    uint64_t first_row; /* 0-based row number of the first (messages) */
    const char *y_name; /* the response's name (messages; may be NULL) */
    bool scan_only;     /* only check the rows and sum the constants (no μ) */
    const double *xb;   /* n values x·β (the offset is added here), or NULL: start
                         * from statsmodels' starting μ (ymean for the families that
                         * need it) */
    double ymean;
    double null_mu;          /* the null model's mean (sums null_dev), or NaN: none */
    bool null_irls;          /* with an offset, the null model (a constant and the offset)
                              * is an IRLS fit of its own: take its step from the intercept
                              * null_b0 (sums null_dev at μ₀ = g⁻¹(b₀ + offset),
                              * null_pearson, null_w, null_wz) */
    double null_b0;
    bool null_only;          /* only the null model's step (the main fit has converged) */
    bool constants;          /* sum the constants */
    double *irls_w, *irls_z; /* n IRLS weights w/(g'(μ)²V(μ)) and working responses
                              * η + g'(μ)(y - μ) - offset, or NULL: none wanted */
    double *oim;             /* with irls_w: n observed-Hessian factors (statsmodels'
                              * hessian_factor, scale 1; the IRLS weight for a canonical
                              * link), or NULL */
} ooc_glm_rows_job;

/* Check the job's rows (a finite response in the family's range, a weight
 * > 0, a frequency weight >= 0, a finite offset, an exposure > 0), then
 * (unless scan_only) compute each μ (checked: finite, inside the family's
 * range), add to s, and fill irls_w / irls_z.
 * Errors: OOC_ERR_DATA (a bad value, its row named, 1-based), OOC_ERR_NUMERIC
 * (a fitted mean outside the family's range, its row named). */
ooc_status ooc_glm_rows(ooc_glm_family f, ooc_glm_link l, const ooc_glm_layout *lay,
                        const ooc_glm_rows_job *job, ooc_glm_sums *s, ooc_error *err);

/* Add `later`, the sums of the rows after into's (another process's share),
 * into `into`: sums added, the largest residual kept, the first boundary
 * row the earlier one. */
void ooc_glm_sums_merge(ooc_glm_sums *into, const ooc_glm_sums *later);

#endif
