/*
 * glm_family.c — statsmodels' GLM families and links, and the row loop of
 * an IRLS pass.  See glm_family.h.
 *
 * Every formula follows statsmodels 0.14/0.15 (genmod/families/family.py,
 * links.py, varfuncs.py), its clipping included: logit-type links and the
 * binomial variance clip μ to [ε, 1-ε], the log link to [ε, ∞), the
 * deviance ratios y/μ to [ε, ∞), and the binomial deviance adds 1e-20 to μ
 * and 1-μ.  One shortcut: the probit link's derivative, statsmodels'
 * 1/φ(Φ⁻¹(μ)), is 1/φ(η) here (Φ⁻¹ by Newton per row and pass would cost
 * more than the rest of the row); Φ⁻¹(Φ(η)) is η to the rounding of μ,
 * which moves the IRLS weight of a row by at most |η|·ulp(μ)/φ(η) relative,
 * 4e-10 at |η| = 5 for a row whose weight is then 1e-5 of a central row's,
 * and where μ is clipped the clipped value's Φ⁻¹ is used as statsmodels does.
 */
#include "solve/glm_family.h"

#include "base/error.h"
#include "solve/stats.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EPS DBL_EPSILON
#define BINOM_TINY 1e-20 /* statsmodels' Binomial deviance guard */
#define INV_SQRT_2PI 0.39894228040143267794
#define PREDICTED 1e-8                /* statsmodels' np.allclose(mu - endog, 0) tolerance */
#define PROBIT_CLIP 8.125890664701908 /* Φ⁻¹(1-ε) = -Φ⁻¹(ε), scipy's norm.ppf */

/* ---- names ------------------------------------------------------------------ */

static const struct {
    const char *name, *title;
} family_names[] = {
    [OOC_GLM_BINOMIAL] = {"binomial", "Binomial"},
    [OOC_GLM_POISSON] = {"poisson", "Poisson"},
    [OOC_GLM_GAUSSIAN] = {"gaussian", "Gaussian"},
    [OOC_GLM_GAMMA] = {"gamma", "Gamma"},
    [OOC_GLM_INVERSE_GAUSSIAN] = {"inverse_gaussian", "InverseGaussian"},
};

static const struct {
    const char *name, *title;
} link_names[] = {
    [OOC_GLM_LINK_DEFAULT] = {"default", "Default"},
    [OOC_GLM_LINK_IDENTITY] = {"identity", "Identity"},
    [OOC_GLM_LINK_LOG] = {"log", "Log"},
    [OOC_GLM_LINK_LOGIT] = {"logit", "Logit"},
    [OOC_GLM_LINK_PROBIT] = {"probit", "Probit"},
    [OOC_GLM_LINK_CLOGLOG] = {"cloglog", "CLogLog"},
    [OOC_GLM_LINK_LOGLOG] = {"loglog", "LogLog"},
    [OOC_GLM_LINK_CAUCHY] = {"cauchy", "Cauchy"},
    [OOC_GLM_LINK_INVERSE_POWER] = {"inverse_power", "InversePower"},
    [OOC_GLM_LINK_INVERSE_SQUARED] = {"inverse_squared", "InverseSquared"},
    [OOC_GLM_LINK_SQRT] = {"sqrt", "Sqrt"},
};

#define NFAMILIES (sizeof family_names / sizeof family_names[0])
#define NLINKS (sizeof link_names / sizeof link_names[0])

const char *ooc_glm_family_name(ooc_glm_family f)
{
    return (size_t)f < NFAMILIES ? family_names[f].name : "unknown";
}

const char *ooc_glm_link_name(ooc_glm_link l)
{
    return (size_t)l < NLINKS ? link_names[l].name : "unknown";
}

const char *ooc_glm_family_title(ooc_glm_family f)
{
    return (size_t)f < NFAMILIES ? family_names[f].title : "Unknown";
}

const char *ooc_glm_link_title(ooc_glm_link l)
{
    return (size_t)l < NLINKS ? link_names[l].title : "Unknown";
}

/* text equals name or title, ignoring case and '_' */
static bool same_name(const char *text, const char *name)
{
    for (;;) {
        while (*text == '_')
            text++;
        while (*name == '_')
            name++;
        if (!*text || !*name)
            return !*text && !*name;
        if (tolower((unsigned char)*text++) != tolower((unsigned char)*name++))
            return false;
    }
}

bool ooc_glm_family_parse(const char *text, ooc_glm_family *out)
{
    for (size_t i = 0; text && i < NFAMILIES; i++)
        if (same_name(text, family_names[i].name)) {
            *out = (ooc_glm_family)i;
            return true;
        }
    return false;
}

bool ooc_glm_link_parse(const char *text, ooc_glm_link *out)
{
    if (text && !strcasecmp(text, "inverse")) {
        *out = OOC_GLM_LINK_INVERSE_POWER;
        return true;
    }
    for (size_t i = 0; text && i < NLINKS; i++)
        if (same_name(text, link_names[i].name)) {
            *out = (ooc_glm_link)i;
            return true;
        }
    return false;
}

ooc_glm_link ooc_glm_default_link(ooc_glm_family f)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: return OOC_GLM_LINK_LOGIT;
    case OOC_GLM_POISSON: return OOC_GLM_LINK_LOG;
    case OOC_GLM_GAMMA: return OOC_GLM_LINK_INVERSE_POWER;
    case OOC_GLM_INVERSE_GAUSSIAN: return OOC_GLM_LINK_INVERSE_SQUARED;
    default: return OOC_GLM_LINK_IDENTITY;
    }
}

/* statsmodels' Family.links and safe_links, as bit sets of ooc_glm_link */
#define BIT(l) (1u << (l))
static unsigned allowed_links(ooc_glm_family f, bool safe)
{
    switch (f) {
    case OOC_GLM_BINOMIAL:
        return safe
                   ? BIT(OOC_GLM_LINK_LOGIT) | BIT(OOC_GLM_LINK_PROBIT) | BIT(OOC_GLM_LINK_CAUCHY)
                   : BIT(OOC_GLM_LINK_LOGIT) | BIT(OOC_GLM_LINK_PROBIT) | BIT(OOC_GLM_LINK_CAUCHY) |
                         BIT(OOC_GLM_LINK_LOG) | BIT(OOC_GLM_LINK_CLOGLOG) |
                         BIT(OOC_GLM_LINK_LOGLOG) | BIT(OOC_GLM_LINK_IDENTITY);
    case OOC_GLM_POISSON:
        return safe ? BIT(OOC_GLM_LINK_LOG)
                    : BIT(OOC_GLM_LINK_LOG) | BIT(OOC_GLM_LINK_IDENTITY) | BIT(OOC_GLM_LINK_SQRT);
    case OOC_GLM_GAUSSIAN:
        return BIT(OOC_GLM_LINK_LOG) | BIT(OOC_GLM_LINK_IDENTITY) | BIT(OOC_GLM_LINK_INVERSE_POWER);
    case OOC_GLM_GAMMA:
        return safe ? BIT(OOC_GLM_LINK_LOG)
                    : BIT(OOC_GLM_LINK_LOG) | BIT(OOC_GLM_LINK_IDENTITY) |
                          BIT(OOC_GLM_LINK_INVERSE_POWER);
    case OOC_GLM_INVERSE_GAUSSIAN:
        return safe ? BIT(OOC_GLM_LINK_INVERSE_SQUARED) | BIT(OOC_GLM_LINK_LOG)
                    : BIT(OOC_GLM_LINK_INVERSE_SQUARED) | BIT(OOC_GLM_LINK_INVERSE_POWER) |
                          BIT(OOC_GLM_LINK_IDENTITY) | BIT(OOC_GLM_LINK_LOG);
    default: return 0;
    }
}

bool ooc_glm_link_allowed(ooc_glm_family f, ooc_glm_link l)
{
    return (size_t)l < NLINKS && (allowed_links(f, false) & BIT(l)) != 0;
}

bool ooc_glm_link_safe(ooc_glm_family f, ooc_glm_link l)
{
    return (size_t)l < NLINKS && (allowed_links(f, true) & BIT(l)) != 0;
}

bool ooc_glm_scale_is_one(ooc_glm_family f)
{
    return f == OOC_GLM_BINOMIAL || f == OOC_GLM_POISSON;
}

bool ooc_glm_start_needs_mean(ooc_glm_family f) { return f != OOC_GLM_BINOMIAL; }

/* ---- links and variances ---------------------------------------------------- */

static inline double clip_prob(double p) { return p < EPS ? EPS : p > 1.0 - EPS ? 1.0 - EPS : p; }
static inline double clip_pos(double x) { return x < EPS ? EPS : x; }

/* Φ(z), scipy's ndtr: erfc on the side where it does not cancel */
static inline double norm_cdf(double z)
{
    return z < 0.0 ? 0.5 * erfc(-z / M_SQRT2) : 1.0 - 0.5 * erfc(z / M_SQRT2);
}

/* g(μ): statsmodels' Link.__call__ (the starting η) */
static double link_fn(ooc_glm_link l, double mu);

double ooc_glm_link_value(ooc_glm_link l, double mu) { return link_fn(l, mu); }

static double link_fn(ooc_glm_link l, double mu)
{
    switch (l) {
    case OOC_GLM_LINK_LOG: return log(clip_pos(mu));
    case OOC_GLM_LINK_LOGIT: {
        double p = clip_prob(mu);
        return log(p / (1.0 - p));
    }
    case OOC_GLM_LINK_PROBIT: return ooc_norm_ppf(clip_prob(mu));
    case OOC_GLM_LINK_CAUCHY: return tan(M_PI * (clip_prob(mu) - 0.5));
    case OOC_GLM_LINK_CLOGLOG: return log(-log(1.0 - clip_prob(mu)));
    case OOC_GLM_LINK_LOGLOG: return -log(-log(clip_prob(mu)));
    case OOC_GLM_LINK_INVERSE_POWER: return pow(mu, -1.0);
    case OOC_GLM_LINK_INVERSE_SQUARED: return pow(mu, -2.0);
    case OOC_GLM_LINK_SQRT: return sqrt(mu);
    default: return mu;
    }
}

/* g⁻¹(η): statsmodels' Link.inverse */
static inline double link_inverse(ooc_glm_link l, double eta)
{
    switch (l) {
    case OOC_GLM_LINK_LOG: return exp(eta);
    case OOC_GLM_LINK_LOGIT: return 1.0 / (1.0 + exp(-eta));
    case OOC_GLM_LINK_PROBIT: return norm_cdf(eta);
    case OOC_GLM_LINK_CAUCHY: return 0.5 + atan(eta) / M_PI;
    case OOC_GLM_LINK_CLOGLOG: return 1.0 - exp(-exp(eta));
    case OOC_GLM_LINK_LOGLOG: return exp(-exp(-eta));
    case OOC_GLM_LINK_INVERSE_POWER: return pow(eta, -1.0);
    case OOC_GLM_LINK_INVERSE_SQUARED: return pow(eta, -0.5);
    case OOC_GLM_LINK_SQRT: return eta * eta;
    default: return eta;
    }
}

/* g'(μ): statsmodels' Link.deriv (η for the probit's shortcut, see the top) */
static inline double link_deriv(ooc_glm_link l, double mu, double eta)
{
    switch (l) {
    case OOC_GLM_LINK_LOG: return 1.0 / clip_pos(mu);
    case OOC_GLM_LINK_LOGIT: {
        double p = clip_prob(mu);
        return 1.0 / (p * (1 - p));
    }
    case OOC_GLM_LINK_PROBIT: {
        double q = mu < EPS ? -PROBIT_CLIP : mu > 1.0 - EPS ? PROBIT_CLIP : eta;
        return 1.0 / (exp(-0.5 * q * q) * INV_SQRT_2PI);
    }
    case OOC_GLM_LINK_CAUCHY: {
        double q = tan(M_PI * (clip_prob(mu) - 0.5));
        return 1.0 / (1.0 / (M_PI * (1.0 + q * q)));
    }
    case OOC_GLM_LINK_CLOGLOG: {
        double p = clip_prob(mu);
        return 1.0 / ((p - 1) * log(1 - p));
    }
    case OOC_GLM_LINK_LOGLOG: {
        double p = clip_prob(mu);
        return -1.0 / (p * log(p));
    }
    case OOC_GLM_LINK_INVERSE_POWER: return -1.0 * pow(mu, -2.0);
    case OOC_GLM_LINK_INVERSE_SQUARED: return -2.0 * pow(mu, -3.0);
    case OOC_GLM_LINK_SQRT: return 0.5 * pow(mu, -0.5);
    default: return 1.0;
    }
}

/* g''(μ): statsmodels' Link.deriv2 (the probit's from η as link_deriv) */
static inline double link_deriv2(ooc_glm_link l, double mu, double eta)
{
    switch (l) {
    case OOC_GLM_LINK_LOG: {
        double p = clip_pos(mu);
        return -1.0 / (p * p);
    }
    case OOC_GLM_LINK_LOGIT: {
        double v = mu * (1 - mu);
        return (2 * mu - 1) / (v * v);
    }
    case OOC_GLM_LINK_PROBIT: {
        double q = mu < EPS ? -PROBIT_CLIP : mu > 1.0 - EPS ? PROBIT_CLIP : eta;
        double d = exp(-0.5 * q * q) * INV_SQRT_2PI;
        return q / (d * d);
    }
    case OOC_GLM_LINK_CAUCHY: {
        double a = M_PI * (clip_prob(mu) - 0.5), c = cos(a);
        return 2 * M_PI * M_PI * sin(a) / (c * c * c);
    }
    case OOC_GLM_LINK_CLOGLOG: {
        double p = clip_prob(mu), fl = log(1 - p);
        return -1 / ((1 - p) * (1 - p) * fl) * (1 + 1 / fl);
    }
    case OOC_GLM_LINK_LOGLOG: {
        double p = clip_prob(mu), lp = p * log(p);
        return (1 + log(p)) / (lp * lp);
    }
    case OOC_GLM_LINK_INVERSE_POWER: return 2.0 * pow(mu, -3.0);
    case OOC_GLM_LINK_INVERSE_SQUARED: return 6.0 * pow(mu, -4.0);
    case OOC_GLM_LINK_SQRT: return -0.25 * pow(mu, -1.5);
    default: return 0.0;
    }
}

/* V'(μ): statsmodels' variance functions' deriv */
static inline double variance_deriv(ooc_glm_family f, double mu)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: return 1 - 2 * clip_prob(mu);
    case OOC_GLM_POISSON: return mu < 0 ? -1.0 : 1.0;
    case OOC_GLM_GAMMA: return 2.0 * mu;
    case OOC_GLM_INVERSE_GAUSSIAN: return 3.0 * mu * fabs(mu);
    default: return 0.0;
    }
}

/* V(μ): statsmodels' variance functions */
static inline double variance(ooc_glm_family f, double mu)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: {
        double p = clip_prob(mu);
        return p * (1 - p);
    }
    case OOC_GLM_POISSON: return fabs(mu);
    case OOC_GLM_GAMMA: return mu * mu;
    case OOC_GLM_INVERSE_GAUSSIAN: return pow(fabs(mu), 3.0);
    default: return 1.0;
    }
}

/* the unit deviance d(y, μ): statsmodels' _resid_dev */
static inline double unit_deviance(ooc_glm_family f, double y, double mu)
{
    switch (f) {
    case OOC_GLM_BINOMIAL:
        /* y·log(y/μ) + (1-y)·log((1-y)/(1-μ)), each ratio clipped at ε (a term whose
         * y or 1-y is 0 is 0·log ε = 0) */
        if (y == 1.0)
            return 2.0 * log(clip_pos(1.0 / (mu + BINOM_TINY)));
        if (y == 0.0)
            return 2.0 * log(clip_pos(1.0 / (1.0 - mu + BINOM_TINY)));
        return 2.0 * (y * log(clip_pos(y / (mu + BINOM_TINY))) +
                      (1 - y) * log(clip_pos((1.0 - y) / (1.0 - mu + BINOM_TINY))));
    case OOC_GLM_POISSON: return 2.0 * ((y > 0.0 ? y * log(clip_pos(y / mu)) : 0.0) - (y - mu));
    case OOC_GLM_GAMMA: return 2.0 * (-log(clip_pos(y / mu)) + (y - mu) / mu);
    case OOC_GLM_INVERSE_GAUSSIAN: return 1.0 / (y * mu * mu) * ((y - mu) * (y - mu));
    default: return (y - mu) * (y - mu);
    }
}

/* x·log x, 0 at 0 */
static inline double xlogx(double x) { return x > 0.0 ? x * log(x) : 0.0; }

/* ---- the row loop ------------------------------------------------------------ */

static const char *family_range(ooc_glm_family f)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: return "in [0, 1]";
    case OOC_GLM_POISSON: return ">= 0";
    case OOC_GLM_GAUSSIAN: return "finite";
    default: return "> 0";
    }
}

static bool response_ok(ooc_glm_family f, double y)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: return y >= 0.0 && y <= 1.0;
    case OOC_GLM_POISSON: return y >= 0.0 && y < INFINITY;
    case OOC_GLM_GAUSSIAN: return isfinite(y);
    default: return y > 0.0 && y < INFINITY;
    }
}

static bool mean_ok(ooc_glm_family f, double mu)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: return mu >= 0.0 && mu <= 1.0;
    case OOC_GLM_GAUSSIAN: return isfinite(mu);
    default: return mu > 0.0 && mu < INFINITY;
    }
}

/* OOC_ERR_DATA for the first bad value of row `row` (1-based), or OOC_OK */
static ooc_status check_row(ooc_glm_family f, const ooc_glm_layout *lay, const double *r,
                            uint64_t row, const char *y_name, ooc_error *err)
{
    double y = r[lay->ycol];
    if (!response_ok(f, y))
        return OOC_FAIL(err, OOC_ERR_DATA,
                        "row %llu: the response %s is %.17g, and the %s family needs it %s%s",
                        (unsigned long long)row, y_name ? y_name : "y", y, ooc_glm_family_name(f),
                        family_range(f),
                        f == OOC_GLM_BINOMIAL  ? " (0/1, or a proportion)"
                        : f == OOC_GLM_POISSON ? " (a count)"
                                               : "");
    if (lay->wcol >= 0) {
        double w = r[lay->wcol];
        if (w == 0.0)
            return OOC_FAIL(err, OOC_ERR_DATA,
                            "row %llu has weight 0: a zero-weight row has no place in a GLM's "
                            "likelihood or degrees of freedom (statsmodels counts it as an "
                            "observation, R drops it); drop it from the input",
                            (unsigned long long)row);
        if (!(w > 0.0 && w < INFINITY))
            return OOC_FAIL(err, OOC_ERR_DATA,
                            "row %llu: invalid weight %g (weights must be finite and > 0)",
                            (unsigned long long)row, w);
    }
    if (lay->fcol >= 0 && !(r[lay->fcol] >= 0.0 && r[lay->fcol] < INFINITY))
        return OOC_FAIL(err, OOC_ERR_DATA,
                        "row %llu: invalid frequency weight %g (frequency weights must be "
                        "finite and >= 0)",
                        (unsigned long long)row, r[lay->fcol]);
    if (lay->ocol >= 0 && !isfinite(r[lay->ocol]))
        return OOC_FAIL(err, OOC_ERR_DATA, "row %llu: the offset is %g (it must be finite)",
                        (unsigned long long)row, r[lay->ocol]);
    if (lay->ecol >= 0 && !(r[lay->ecol] > 0.0 && r[lay->ecol] < INFINITY))
        return OOC_FAIL(err, OOC_ERR_DATA,
                        "row %llu: the exposure is %g (it must be finite and > 0)",
                        (unsigned long long)row, r[lay->ecol]);
    return OOC_OK;
}

/* the row's freq_weight (1 without them) */
static inline double freq_weight(const ooc_glm_layout *lay, const double *r)
{
    return lay->fcol >= 0 ? r[lay->fcol] : 1.0;
}

/* Σ over the rows of what does not depend on μ */
static void add_constants(ooc_glm_family f, const ooc_glm_layout *lay, const double *r,
                          ooc_glm_sums *s)
{
    const double y = r[lay->ycol], v = lay->wcol >= 0 ? r[lay->wcol] : 1.0;
    const double fw = freq_weight(lay, r), w = fw * v;
    s->wn += fw;
    s->y += y;
    s->w += w;
    s->wy += (long double)w * y;
    if (lay->wcol >= 0) {
        double lv = log(v);
        s->log_w += (long double)fw * lv;
        s->wlog_w += (long double)w * lv;
    }
    switch (f) {
    case OOC_GLM_BINOMIAL:
        /* lgamma(2) - lgamma(y+1) - lgamma(2-y) + y log y + (1-y) log(1-y): 0 for 0/1 */
        if (y != 0.0 && y != 1.0)
            s->w_sat += (long double)w * (-lgamma(y + 1) - lgamma(2 - y) + xlogx(y) + xlogx(1 - y));
        break;
    case OOC_GLM_POISSON: s->w_sat += (long double)w * (xlogx(y) - y - lgamma(y + 1)); break;
    case OOC_GLM_GAMMA:
    case OOC_GLM_INVERSE_GAUSSIAN: s->log_y += (long double)fw * log(y); break;
    default: break;
    }
}

ooc_status ooc_glm_rows(ooc_glm_family f, ooc_glm_link l, const ooc_glm_layout *lay,
                        const ooc_glm_rows_job *job, ooc_glm_sums *s, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const bool null_model = !isnan(job->null_mu), null_irls = job->null_irls;
    long double dev = 0.0L, pearson = 0.0L, null_dev = 0.0L;
    long double null_pearson = 0.0L, null_w = 0.0L, null_wz = 0.0L;
    double max_resid = s->max_resid;
    for (size_t i = 0; i < job->n; i++) {
        const double *r = job->data + i * lay->ld;
        const uint64_t row = job->first_row + i + 1;
        OOC_CHECK(check_row(f, lay, r, row, job->y_name, err));
        if (job->constants)
            add_constants(f, lay, r, s);
        if (job->scan_only)
            continue;
        const double y = r[lay->ycol];
        const double w = (lay->wcol >= 0 ? r[lay->wcol] : 1.0) * freq_weight(lay, r);
        double off = lay->ocol >= 0 ? r[lay->ocol] : 0.0;
        if (lay->ecol >= 0)
            off += log(r[lay->ecol]);
        if (null_irls && !s->null_failed) {
            /* the null model's IRLS step: μ from its intercept and the offset */
            const double eta0 = job->null_b0 + off, mu0 = link_inverse(l, eta0);
            if (mean_ok(f, mu0) && isfinite(eta0)) {
                const double v0 = variance(f, mu0), r0 = y - mu0, d0 = link_deriv(l, mu0, eta0);
                const double w0 = w * (1.0 / (d0 * d0 * v0));
                null_dev += w * unit_deviance(f, y, mu0);
                null_pearson += r0 * r0 / v0 * w;
                null_w += w0;
                null_wz += w0 * (eta0 + d0 * r0 - off);
            } else {
                s->null_failed = true;
            }
        }
        if (job->null_only)
            continue;
        double mu, eta;
        if (job->xb) {
            eta = job->xb[i] + off;
            mu = link_inverse(l, eta);
        } else {
            mu = f == OOC_GLM_BINOMIAL ? (y + 0.5) / 2 : (y + job->ymean) / 2.0;
            eta = link_fn(l, mu);
        }
        if (!mean_ok(f, mu) || !isfinite(eta)) {
            const ooc_glm_link safe = f == OOC_GLM_BINOMIAL ? OOC_GLM_LINK_LOGIT : OOC_GLM_LINK_LOG;
            char hint[160];
            if (l == safe || f == OOC_GLM_GAUSSIAN)
                snprintf(hint, sizeof hint, "the linear predictor has diverged");
            else
                snprintf(hint, sizeof hint, "the %s link does not keep it there (the %s link does)",
                         ooc_glm_link_name(l), ooc_glm_link_name(safe));
            status = OOC_FAIL(err, OOC_ERR_NUMERIC,
                              "row %llu: the fitted mean is %.17g (linear predictor %.17g), "
                              "outside the %s family's range (%s): %s",
                              (unsigned long long)row, mu, eta, ooc_glm_family_name(f),
                              family_range(f), hint);
            goto out;
        }
        const double v = variance(f, mu), resid = y - mu;
        dev += w * unit_deviance(f, y, mu);
        pearson += resid * resid / v * w;
        if (null_model)
            null_dev += w * unit_deviance(f, y, job->null_mu);
        if (fabs(resid) > max_resid)
            max_resid = fabs(resid);
        /* statsmodels' perfect-prediction tolerance, row by row */
        bool boundary =
            (f == OOC_GLM_BINOMIAL && (y == 0.0 || y == 1.0) && fabs(resid) <= PREDICTED) ||
            (f == OOC_GLM_POISSON && y == 0.0 && mu <= PREDICTED);
        if (boundary && s->n_boundary++ == 0)
            s->first_boundary = row;
        if (job->irls_w) {
            double d = link_deriv(l, mu, eta);
            job->irls_w[i] = w * (1.0 / (d * d * v));
            job->irls_z[i] = eta + d * resid - off;
            /* statsmodels' hessian_factor(observed=True): W·(1 + (y-μ)/(g'V)·(V g'' + V' g')) */
            if (job->oim)
                job->oim[i] = job->irls_w[i] *
                              (1 + resid / (d * v) *
                                       (v * link_deriv2(l, mu, eta) + variance_deriv(f, mu) * d));
        }
    }
out:
    s->n += job->n;
    s->dev += dev;
    s->pearson += pearson;
    s->null_dev += null_dev;
    s->null_pearson += null_pearson;
    s->null_w += null_w;
    s->null_wz += null_wz;
    s->max_resid = max_resid;
    return status;
}

void ooc_glm_sums_merge(ooc_glm_sums *into, const ooc_glm_sums *later)
{
    ooc_glm_sums *s = into;
    const ooc_glm_sums *t = later;
    s->n += t->n;
    s->dev += t->dev;
    s->pearson += t->pearson;
    s->null_dev += t->null_dev;
    s->null_pearson += t->null_pearson;
    s->null_w += t->null_w;
    s->null_wz += t->null_wz;
    s->null_failed = s->null_failed || t->null_failed;
    s->max_resid = t->max_resid > s->max_resid ? t->max_resid : s->max_resid;
    if (s->n_boundary == 0)
        s->first_boundary = t->first_boundary;
    s->n_boundary += t->n_boundary;
    s->wn += t->wn;
    s->y += t->y;
    s->w += t->w;
    s->wy += t->wy;
    s->log_w += t->log_w;
    s->wlog_w += t->wlog_w;
    s->log_y += t->log_y;
    s->w_sat += t->w_sat;
}
