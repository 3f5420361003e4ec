/*
 * glm_stats.c — statsmodels' GLMResults statistics (genmod/
 * generalized_linear_model.py) from the sums of the IRLS passes: the
 * result object, scale, log-likelihoods per family, the null model,
 * information criteria, covariance and z tests.  See glm_stats.h.
 */
#include "solve/glm_stats.h"

#include "base/error.h"
#include "solve/ols_stats.h"
#include "solve/stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ooc_glm_result_free(ooc_glm_result *r)
{
    if (!r)
        return;
    ooc_result_parts_free(&OOC_RESULT_PARTS(r));
    free(r->offset_name);
    free(r->exposure_name);
    free(r->freq_weights_name);
    free(r->deviance_history);
    free(r);
}

ooc_glm_result *ooc_glm_result_alloc(size_t p, const char *const *names)
{
    ooc_glm_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p = p;
    if (!ooc_result_parts_alloc(&OOC_RESULT_PARTS(r), names)) {
        ooc_glm_result_free(r);
        return NULL;
    }
    r->null_deviance = r->llnull = r->pseudo_rsquared = NAN;
    return r;
}

ooc_status ooc_glm_add_warning(ooc_glm_result *r, ooc_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ooc_status st = ooc_result_parts_warn(&OOC_RESULT_PARTS(r), err, fmt, ap);
    va_end(ap);
    return st;
}

double ooc_glm_scale(ooc_glm_family f, double pearson_chi2, double df_resid)
{
    return ooc_glm_scale_is_one(f) ? 1.0 : pearson_chi2 / df_resid;
}

/* statsmodels' Family.loglike(y, μ, var_weights, freq_weights, scale=s):
 * each row's loglike_obs times its freq_weight f, summed, from the deviance
 * D = Σ f·v·d(y, μ) at that μ and the constants c (n = Σf, Σf·v, Σf·log v,
 * Σf·v·log v, Σf·log y, Σf·v·ll_sat(y); v the var_weight).  Per family:
 *   binomial, poisson:  Σ f·v·ll_sat(y) - D/2            (scale 1)
 *   gaussian:  -D/(2s) - ½(n·log s - Σf·log v) - n/2·log 2π
 *   inverse gaussian:  -D/(2s) - ½(n·log s + 3Σf·log y - Σf·log v) - n/2·log 2π
 *   gamma:  (Σf·v·log v - log s·Σf·v - D/2 - Σf·v)/s - Σf·lgamma(v/s) - Σf·log y
 * (gamma: v/s·log(v/s·y/μ) - v/s·y/μ with log(y/μ) - y/μ = -d(y, μ)/2 - 1;
 * lgamma_ws is Σf·lgamma(v_i/s), n·lgamma(1/s) without var_weights). */
static double family_loglike(ooc_glm_family f, const ooc_glm_sums *c, bool weighted,
                             long double dev, double s, long double lgamma_ws)
{
    const long double n = c->wn, log2pi = 1.8378770664093454836L;
    switch (f) {
    case OOC_GLM_BINOMIAL:
    case OOC_GLM_POISSON: return (double)(c->w_sat - dev / 2);
    case OOC_GLM_GAUSSIAN:
        return (double)(-dev / (2 * s) - 0.5L * (n * logl(s) - c->log_w) - n / 2 * log2pi);
    case OOC_GLM_INVERSE_GAUSSIAN:
        return (double)(-dev / (2 * s) - 0.5L * (n * logl(s) + 3 * c->log_y - c->log_w) -
                        n / 2 * log2pi);
    case OOC_GLM_GAMMA: {
        long double lg = weighted ? lgamma_ws : n * lgammal(1.0L / s);
        return (double)((c->wlog_w - logl(s) * c->w - dev / 2 - c->w) / s - lg - c->log_y);
    }
    }
    return NAN;
}

void ooc_glm_statistics(ooc_glm_result *r, const ooc_glm_totals *t)
{
    const ooc_glm_sums *c = t->constants;
    /* statsmodels: nobs the rows (the pseudo R²'s), wnobs the freq_weights' sum (df_resid,
     * BIC, the profiled Gaussian scale) */
    const double nobs = (double)c->n, wnobs = (double)c->wn;
    r->nobs = c->n;
    r->wnobs = wnobs;
    r->df_model = (double)r->rank - 1;
    r->df_resid = wnobs - r->df_model - 1;
    r->deviance = (double)t->end->dev;
    r->pearson_chi2 = (double)t->end->pearson;
    r->scale = ooc_glm_scale(r->family, r->pearson_chi2, r->df_resid);
    /* statsmodels' llf: the Gaussian with the identity link profiles the scale
     * out (Σw(y-μ)²/nobs); every other model takes the estimated scale */
    double s_llf = r->family == OOC_GLM_GAUSSIAN && r->link == OOC_GLM_LINK_IDENTITY
                       ? (double)(t->end->dev / c->wn)
                       : r->scale;
    r->llf = family_loglike(r->family, c, r->weighted, t->end->dev, s_llf, t->lgamma_ws);
    if (t->has_null) {
        r->null_deviance = (double)t->null_dev;
        r->llnull = family_loglike(r->family, c, r->weighted, t->null_dev, r->scale, t->lgamma_ws);
        r->pseudo_rsquared = 1 - exp((r->llnull - r->llf) * (2 / nobs));
    }
    double k_params = r->df_model + 1;
    r->aic = -2 * r->llf + 2 * k_params;
    r->bic = -2 * r->llf + k_params * log(r->df_model + r->df_resid + 1);
    r->bic_deviance = r->deviance - (wnobs - r->df_model - 1) * log(wnobs);
}

ooc_status ooc_glm_covariance(ooc_glm_result *r, const double *rk, size_t k, const size_t *kept,
                              const double *beta_k, const double *cov_k, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t p = r->p;
    double *cov = malloc((k ? k * k : 1) * sizeof(double));
    OOC_FAIL_IF(!cov, err, OOC_ERR_NOMEM, "out of memory for a %zux%zu covariance", k, k);
    if (cov_k)
        memcpy(cov, cov_k, k * k * sizeof(double));
    else
        ooc_sandwich_cov(rk, k + 1, k, NULL, r->scale, cov);
    /* statsmodels' GLM: use_t False, so z and the normal distribution */
    r->use_t = false;
    const double q = ooc_norm_ppf(0.975);
    for (size_t i = 0; i < k; i++) {
        size_t j = kept[i];
        r->params[j] = beta_k[i];
        r->bse[j] = sqrt(cov[i * k + i]);
        r->tvalues[j] = r->params[j] / r->bse[j];
        r->pvalues[j] = 2.0 * ooc_norm_sf(fabs(r->tvalues[j]));
        r->conf_lower[j] = r->params[j] - q * r->bse[j];
        r->conf_upper[j] = r->params[j] + q * r->bse[j];
        for (size_t c = 0; c < k; c++)
            r->cov_params[j * p + kept[c]] = cov[i * k + c];
    }
out:
    free(cov);
    return status;
}
