/* test_glm.c — the GLM (solve/glm*.c) through its row loop and through
 * ooc_glm on in-memory sources, against references written here:
 *  - every link's IRLS weight w·(dμ/dη)²/V(μ) and working response
 *    η + (y - μ)/(dμ/dη) - offset from closed-form dμ/dη (not the code's
 *    g'(μ) form), and every family's unit deviance and Pearson term from
 *    their textbook formulas;
 *  - row errors (a response outside the family's range, a zero weight, an
 *    exposure <= 0) naming the row;
 *  - a logit fit iterated to its fixed point against a long double Newton
 *    solve of the score equations; the Gaussian identity GLM against
 *    ooc_fit (the same least squares: β, standard errors, log-likelihood);
 *    a constant offset c moving only the intercept, by -c; an aliased
 *    column; the response from a column of X; perfect separation, an
 *    unknown column, the cancel flag.
 * Tolerances: closed forms to 1e-12 relative (a few roundings of functions
 * accurate to an ulp or two, times the condition of the expression, < 100
 * here); fits to the first-order bound 100·κ·ε with κ < 10 for these
 * designs (1e-12), the long double reference being 2^-63 accurate. */
#include "backend/backend.h"
#include "base/error.h"
#include "ld_cholesky.h"
#include "solve/glm_family.h"
#include "stream/memsource.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double rnd(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static bool near(double a, double b, double rel)
{
    return fabs(a - b) <= rel * fmax(fabs(b), 1e-300);
}

/* ---- names ------------------------------------------------------------------------ */

static void test_names(void)
{
    ooc_glm_family f;
    ooc_glm_link l;
    CHECK(ooc_glm_family_parse("inverse_gaussian", &f) && f == OOC_GLM_INVERSE_GAUSSIAN);
    CHECK(ooc_glm_family_parse("InverseGaussian", &f) && f == OOC_GLM_INVERSE_GAUSSIAN);
    CHECK(!ooc_glm_family_parse("negative_binomial", &f));
    CHECK(ooc_glm_link_parse("CLogLog", &l) && l == OOC_GLM_LINK_CLOGLOG);
    CHECK(ooc_glm_link_parse("inverse", &l) && l == OOC_GLM_LINK_INVERSE_POWER);
    CHECK(!ooc_glm_link_parse("logc", &l));
    for (int i = 0; i <= OOC_GLM_INVERSE_GAUSSIAN; i++) {
        CHECK(ooc_glm_family_parse(ooc_glm_family_name((ooc_glm_family)i), &f) && (int)f == i);
        CHECK(ooc_glm_link_allowed((ooc_glm_family)i, ooc_glm_default_link((ooc_glm_family)i)));
    }
    CHECK(!ooc_glm_link_allowed(OOC_GLM_POISSON, OOC_GLM_LINK_LOGIT));
    CHECK(ooc_glm_link_allowed(OOC_GLM_GAMMA, OOC_GLM_LINK_LOG) &&
          !ooc_glm_link_safe(OOC_GLM_GAMMA, OOC_GLM_LINK_INVERSE_POWER));
    CHECK_STREQ(ooc_glm_link_title(OOC_GLM_LINK_INVERSE_POWER), "InversePower");
}

/* ---- one row through ooc_glm_rows ----------------------------------------------------- */

/* μ = g⁻¹(η) and dμ/dη in closed form */
static void inverse_link(ooc_glm_link l, double eta, double *mu, double *dmu)
{
    switch (l) {
    case OOC_GLM_LINK_LOG: *mu = *dmu = exp(eta); break;
    case OOC_GLM_LINK_LOGIT:
        *mu = 1 / (1 + exp(-eta));
        *dmu = *mu * (1 - *mu);
        break;
    case OOC_GLM_LINK_PROBIT:
        *mu = 0.5 * erfc(-eta / sqrt(2.0));
        *dmu = exp(-eta * eta / 2) / sqrt(2 * M_PI);
        break;
    case OOC_GLM_LINK_CLOGLOG:
        *mu = -expm1(-exp(eta));
        *dmu = exp(eta - exp(eta));
        break;
    case OOC_GLM_LINK_LOGLOG:
        *mu = exp(-exp(-eta));
        *dmu = exp(-exp(-eta) - eta);
        break;
    case OOC_GLM_LINK_CAUCHY:
        *mu = 0.5 + atan(eta) / M_PI;
        *dmu = 1 / (M_PI * (1 + eta * eta));
        break;
    case OOC_GLM_LINK_INVERSE_POWER:
        *mu = 1 / eta;
        *dmu = -1 / (eta * eta);
        break;
    case OOC_GLM_LINK_INVERSE_SQUARED:
        *mu = 1 / sqrt(eta);
        *dmu = -0.5 / (eta * sqrt(eta));
        break;
    case OOC_GLM_LINK_SQRT:
        *mu = eta * eta;
        *dmu = 2 * eta;
        break;
    default: *mu = eta, *dmu = 1;
    }
}

static double variance(ooc_glm_family f, double mu)
{
    switch (f) {
    case OOC_GLM_BINOMIAL: return mu * (1 - mu);
    case OOC_GLM_POISSON: return mu;
    case OOC_GLM_GAMMA: return mu * mu;
    case OOC_GLM_INVERSE_GAUSSIAN: return mu * mu * mu;
    default: return 1;
    }
}

/* textbook unit deviances */
static double unit_deviance(ooc_glm_family f, double y, double mu)
{
    switch (f) {
    case OOC_GLM_BINOMIAL:
        return 2 *
               ((y > 0 ? y * log(y / mu) : 0) + (y < 1 ? (1 - y) * log((1 - y) / (1 - mu)) : 0));
    case OOC_GLM_POISSON: return 2 * ((y > 0 ? y * log(y / mu) : 0) - (y - mu));
    case OOC_GLM_GAMMA: return 2 * (-log(y / mu) + (y - mu) / mu);
    case OOC_GLM_INVERSE_GAUSSIAN: return (y - mu) * (y - mu) / (y * mu * mu);
    default: return (y - mu) * (y - mu);
    }
}

static void test_rows(void)
{
    static const struct {
        ooc_glm_family f;
        ooc_glm_link l;
        double eta, y;
    } cases[] = {
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_LOGIT, 0.7, 1},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_LOGIT, -2.5, 0.3},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_PROBIT, -1.2, 0},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_CLOGLOG, 0.4, 1},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_LOGLOG, 0.9, 0},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_CAUCHY, -0.6, 1},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_LOG, -0.8, 1},
        {OOC_GLM_BINOMIAL, OOC_GLM_LINK_IDENTITY, 0.35, 0},
        {OOC_GLM_POISSON, OOC_GLM_LINK_LOG, 1.3, 4},
        {OOC_GLM_POISSON, OOC_GLM_LINK_LOG, -0.3, 0},
        {OOC_GLM_POISSON, OOC_GLM_LINK_SQRT, 1.7, 2},
        {OOC_GLM_POISSON, OOC_GLM_LINK_IDENTITY, 2.5, 3},
        {OOC_GLM_GAUSSIAN, OOC_GLM_LINK_IDENTITY, 0.9, -1.5},
        {OOC_GLM_GAUSSIAN, OOC_GLM_LINK_LOG, 0.2, 2.0},
        {OOC_GLM_GAUSSIAN, OOC_GLM_LINK_INVERSE_POWER, 0.5, 1.5},
        {OOC_GLM_GAMMA, OOC_GLM_LINK_INVERSE_POWER, 0.8, 2.2},
        {OOC_GLM_GAMMA, OOC_GLM_LINK_LOG, 0.6, 0.9},
        {OOC_GLM_INVERSE_GAUSSIAN, OOC_GLM_LINK_INVERSE_SQUARED, 0.7, 1.4},
        {OOC_GLM_INVERSE_GAUSSIAN, OOC_GLM_LINK_IDENTITY, 1.6, 0.8},
    };
    /* rows [x y w off]: x unused here, η = xb + off */
    const ooc_glm_layout lay = {.ld = 4, .ycol = 1, .wcol = 2, .fcol = -1, .ocol = 3, .ecol = -1};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const double w = 1.7, off = 0.25, y = cases[c].y;
        const double row[4] = {0, y, w, off}, xb = cases[c].eta - off;
        double irls_w, irls_z, mu, dmu;
        ooc_glm_sums s = {0};
        ooc_error err = {0};
        ooc_glm_rows_job job = {
            .data = row, .n = 1, .xb = &xb, .null_mu = NAN, .irls_w = &irls_w, .irls_z = &irls_z};
        CHECK(ooc_glm_rows(cases[c].f, cases[c].l, &lay, &job, &s, &err) == OOC_OK);
        inverse_link(cases[c].l, cases[c].eta, &mu, &dmu);
        double v = variance(cases[c].f, mu);
        CHECK_MSG(near(irls_w, w * dmu * dmu / v, 1e-12), "case %zu: W %.17g vs %.17g", c, irls_w,
                  w * dmu * dmu / v);
        CHECK_MSG(near(irls_z, cases[c].eta + (y - mu) / dmu - off, 1e-12),
                  "case %zu: z %.17g vs %.17g", c, irls_z, cases[c].eta + (y - mu) / dmu - off);
        CHECK_MSG(near((double)s.dev, w * unit_deviance(cases[c].f, y, mu), 1e-12),
                  "case %zu: deviance %.17g vs %.17g", c, (double)s.dev,
                  w * unit_deviance(cases[c].f, y, mu));
        CHECK_MSG(near((double)s.pearson, w * (y - mu) * (y - mu) / v, 1e-12),
                  "case %zu: Pearson %.17g", c, (double)s.pearson);
        CHECK(s.n == 1 && near(s.max_resid, fabs(y - mu), 1e-12));
    }

    /* bad rows name their row (first_row 41: the 42nd) */
    static const struct {
        ooc_glm_family f;
        double y, w, e;
        const char *words;
    } bad[] = {
        {OOC_GLM_BINOMIAL, 1.5, 1, 1, "row 42: the response y is 1.5"},
        {OOC_GLM_POISSON, -2, 1, 1, "poisson family needs it >= 0"},
        {OOC_GLM_GAMMA, 0, 1, 1, "gamma family needs it > 0"},
        {OOC_GLM_GAUSSIAN, NAN, 1, 1, "row 42: the response y is nan"},
        {OOC_GLM_POISSON, 1, 0, 1, "row 42 has weight 0"},
        {OOC_GLM_POISSON, 1, -1, 1, "invalid weight -1"},
        {OOC_GLM_POISSON, 1, 1, 0, "row 42: the exposure is 0"},
    };
    const ooc_glm_layout lay_e = {.ld = 4, .ycol = 1, .wcol = 2, .fcol = -1, .ocol = -1, .ecol = 3};
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        const double row[4] = {0, bad[c].y, bad[c].w, bad[c].e}, xb = 0.1;
        ooc_glm_sums s = {0};
        ooc_error err = {0};
        ooc_glm_rows_job job = {
            .data = row, .n = 1, .first_row = 41, .xb = &xb, .null_mu = NAN, .y_name = "y"};
        CHECK(ooc_glm_rows(bad[c].f, ooc_glm_default_link(bad[c].f), &lay_e, &job, &s, &err) ==
              OOC_ERR_DATA);
        CHECK_MSG(strstr(err.message, bad[c].words), "'%s' lacks '%s'", err.message, bad[c].words);
    }
    /* a fitted mean the link takes out of range */
    const double row[4] = {0, 1, 1, 1}, xb = -2;
    ooc_glm_sums s = {0};
    ooc_error err = {0};
    ooc_glm_rows_job job = {.data = row, .n = 1, .xb = &xb, .null_mu = NAN};
    CHECK(ooc_glm_rows(OOC_GLM_POISSON, OOC_GLM_LINK_IDENTITY, &lay_e, &job, &s, &err) ==
          OOC_ERR_NUMERIC);
    CHECK_MSG(strstr(err.message, "the identity link does not keep it there"), "%s", err.message);

    /* freq_weights: a row with f = 3 counts as three copies of the row in every term, the
     * constants and Σf (one multiplication by 3 more: 1e-15 relative covers its rounding) */
    const ooc_glm_layout lay_f = {.ld = 5, .ycol = 1, .wcol = 2, .fcol = 4, .ocol = 3, .ecol = -1};
    const double one[5] = {0, 2, 1.5, 0.1, 1}, three[5] = {0, 2, 1.5, 0.1, 3}, xb_f = 0.4;
    ooc_glm_sums s1 = {0}, s3 = {0};
    double w1, z1, w3, z3;
    ooc_glm_rows_job jf = {.data = one, .n = 1, .xb = &xb_f, .null_mu = NAN, .constants = true,
                           .irls_w = &w1, .irls_z = &z1};
    CHECK(ooc_glm_rows(OOC_GLM_GAMMA, OOC_GLM_LINK_LOG, &lay_f, &jf, &s1, &err) == OOC_OK);
    jf.data = three;
    jf.irls_w = &w3;
    jf.irls_z = &z3;
    CHECK(ooc_glm_rows(OOC_GLM_GAMMA, OOC_GLM_LINK_LOG, &lay_f, &jf, &s3, &err) == OOC_OK);
    CHECK(near(w3, 3 * w1, 1e-15) && z3 == z1);
    CHECK(near((double)s3.dev, 3 * (double)s1.dev, 1e-15) &&
          near((double)s3.pearson, 3 * (double)s1.pearson, 1e-15));
    CHECK(s3.n == 1 && s3.wn == 3 && s1.wn == 1 && s3.y == s1.y); /* Σy unweighted: start */
    CHECK(near((double)s3.w, 3 * (double)s1.w, 1e-15) &&
          near((double)s3.log_w, 3 * (double)s1.log_w, 1e-15) &&
          near((double)s3.wlog_w, 3 * (double)s1.wlog_w, 1e-15) &&
          near((double)s3.log_y, 3 * (double)s1.log_y, 1e-15));
    const double negf[5] = {0, 2, 1.5, 0.1, -1};
    jf.data = negf;
    jf.first_row = 6;
    ooc_error err_f = {0};
    CHECK(ooc_glm_rows(OOC_GLM_GAMMA, OOC_GLM_LINK_LOG, &lay_f, &jf, &s1, &err_f) == OOC_ERR_DATA);
    CHECK_MSG(strstr(err_f.message, "row 7: invalid frequency weight -1"), "%s", err_f.message);

    /* sums of two processes' shares merged in row order: the earlier first boundary row */
    ooc_glm_sums a = {.n = 2, .dev = 1, .max_resid = 0.5, .n_boundary = 0, .wn = 2},
                 b = {.n = 3, .dev = 2, .max_resid = 0.7, .n_boundary = 2, .first_boundary = 4,
                      .wn = 3, .null_failed = true};
    ooc_glm_sums_merge(&a, &b);
    CHECK(a.n == 5 && a.dev == 3 && a.max_resid == 0.7 && a.n_boundary == 2 &&
          a.first_boundary == 4 && a.wn == 5 && a.null_failed);
    ooc_glm_sums c = {.n_boundary = 1, .first_boundary = 2};
    ooc_glm_sums_merge(&c, &b);
    CHECK(c.n_boundary == 3 && c.first_boundary == 2);
}

/* ---- fits on in-memory sources ---------------------------------------------------------- */

#define N 400
#define P 4

typedef struct data {
    double x[N * P], x3[N * 3], y[N], w[N]; /* x3: the first 3 columns of x */
    const char *names[P];
} data;

/* columns: 1, x1, x2, a fourth as the case needs; y a logit draw */
static void make_data(data *d, unsigned long long seed)
{
    unsigned long long s = seed;
    static const char *names[P] = {"Intercept", "x1", "x2", "x3"};
    memcpy(d->names, names, sizeof names);
    for (size_t i = 0; i < N; i++) {
        double x1 = rnd(&s) * 1.5, x2 = rnd(&s);
        d->x[i * P] = 1;
        d->x[i * P + 1] = x1;
        d->x[i * P + 2] = x2;
        d->x[i * P + 3] = rnd(&s);
        memcpy(d->x3 + i * 3, d->x + i * P, 3 * sizeof(double));
        double eta = 0.3 + 1.1 * x1 - 0.7 * x2;
        d->y[i] = (rnd(&s) + 1) / 2 < 1 / (1 + exp(-eta)) ? 1 : 0;
        d->w[i] = 1.5 + rnd(&s);
    }
}

static ooc_status glm_on(const data *d, size_t p, const double *x, const double *w,
                         const ooc_glm_options *o, ooc_backend *be, ooc_glm_result **out,
                         ooc_error *err)
{
    ooc_mem_source_spec spec = {
        .x = x, .y = d->y, .w = w, .nrows = N, .p = p, .column_names = d->names, .block_rows = 97};
    ooc_source *src = NULL;
    ooc_error_clear(err);
    ooc_status st = ooc_mem_source_open(&spec, &src, err);
    if (st == OOC_OK)
        st = ooc_glm(src, be, o, out, err);
    ooc_source_free(src);
    return st;
}

/* The logit MLE by Newton's method in long double on the first 3 columns. */
static void logit_reference(const data *d, const double *w, long double *b)
{
    b[0] = b[1] = b[2] = 0;
    for (int it = 0; it < 60; it++) {
        long double g[9] = {0}, h[3] = {0}, step[3];
        for (size_t i = 0; i < N; i++) {
            const double *x = d->x + i * P;
            long double eta = b[0] * x[0] + b[1] * x[1] + b[2] * x[2];
            long double mu = 1 / (1 + expl(-eta)), wi = w ? w[i] : 1;
            for (int a = 0; a < 3; a++) {
                h[a] += wi * x[a] * (d->y[i] - mu);
                for (int c = 0; c < 3; c++)
                    g[a * 3 + c] += wi * mu * (1 - mu) * x[a] * x[c];
            }
        }
        if (!ld_cholesky_solve(g, 3, 3, h, step))
            return;
        for (int a = 0; a < 3; a++)
            b[a] += step[a];
    }
}

static void test_fits(ooc_backend *be)
{
    static data d;
    make_data(&d, 12345);
    ooc_glm_options o;
    ooc_glm_result *r = NULL;
    ooc_error err = {0};
    /* x3 := 2·x1 (aliased) for the first fits */
    static double xa[N * P];
    memcpy(xa, d.x, sizeof xa);
    for (size_t i = 0; i < N; i++)
        xa[i * P + 3] = 2 * xa[i * P + 1];

    /* logit to its fixed point (tol tiny: stop when the deviance stops changing)
     * against Newton in long double; x3 aliased, weighted */
    ooc_glm_options_init(&o);
    o.tol = 1e-300;
    CHECK(glm_on(&d, P, xa, d.w, &o, be, &r, &err) == OOC_OK);
    if (r) {
        long double b[3];
        logit_reference(&d, d.w, b);
        for (int a = 0; a < 3; a++)
            CHECK_MSG(near(r->params[a], (double)b[a], 1e-12), "logit β%d %.17g vs %.17Lg", a,
                      r->params[a], b[a]);
        CHECK(r->aliased[3] && !r->aliased[2] && r->rank == 3 && r->n_aliased == 1);
        CHECK(isnan(r->params[3]) && isnan(r->bse[3]));
        CHECK(r->converged && r->iterations < 20 && r->weighted);
        CHECK(r->df_model == 2 && r->df_resid == N - 3);
        CHECK(r->nwarnings >= 1 && strstr(r->warnings[0], "1 of its 4 columns are aliased"));
    }
    ooc_glm_result_free(r);
    r = NULL;

    /* the Gaussian identity GLM is least squares: ooc_fit's β, bse, llf */
    static double yg[N];
    unsigned long long s = 99;
    for (size_t i = 0; i < N; i++)
        yg[i] = 1 + 2 * d.x[i * P + 1] - d.x[i * P + 2] + rnd(&s);
    ooc_mem_source_spec spec = {.x = d.x, .y = yg, .nrows = N, .p = P, .column_names = d.names};
    ooc_source *src = NULL;
    ooc_fit_result *fr = NULL;
    ooc_fit_options fo;
    ooc_fit_options_init(&fo);
    ooc_glm_options_init(&o);
    o.family = OOC_GLM_GAUSSIAN;
    CHECK(ooc_mem_source_open(&spec, &src, &err) == OOC_OK);
    CHECK(src && ooc_fit(src, be, &fo, &fr, &err) == OOC_OK);
    ooc_source_free(src);
    src = NULL;
    CHECK(ooc_mem_source_open(&spec, &src, &err) == OOC_OK);
    CHECK(src && ooc_glm(src, be, &o, &r, &err) == OOC_OK);
    ooc_source_free(src);
    if (r && fr) {
        for (size_t j = 0; j < P; j++) {
            CHECK_MSG(near(r->params[j], fr->params[j], 1e-12), "β%zu", j);
            CHECK_MSG(near(r->bse[j], fr->bse[j], 1e-12), "bse%zu", j);
        }
        CHECK(near(r->llf, fr->llf, 1e-12) && near(r->deviance, fr->ssr, 1e-12));
        CHECK(near(r->scale, fr->scale, 1e-12) && r->iterations == 3 && r->passes == 5);
    }
    ooc_fit_result_free(fr);
    ooc_glm_result_free(r);
    r = NULL;

    /* poisson with a constant offset c in column x3: the intercept moves by -c,
     * nothing else (the log link: exp(β₀ - c + c + ...)); y := counts */
    static double xo[N * P], yc[N];
    memcpy(xo, d.x, sizeof xo);
    for (size_t i = 0; i < N; i++) {
        xo[i * P + 3] = 0.75;
        yc[i] = floor(3 * (rnd(&s) + 1) * exp(0.3 * d.x[i * P + 1]));
    }
    data dc = d;
    memcpy(dc.y, yc, sizeof yc);
    ooc_glm_result *r0 = NULL;
    ooc_glm_options_init(&o);
    o.family = OOC_GLM_POISSON;
    CHECK(glm_on(&dc, 3, d.x3, NULL, &o, be, &r0, &err) == OOC_OK);
    /* P columns with x3 the offset: the source has 4, the regressors 3 */
    ooc_mem_source_spec so = {.x = xo, .y = yc, .nrows = N, .p = P, .column_names = d.names};
    o.offset_column = "x3";
    CHECK(ooc_mem_source_open(&so, &src, &err) == OOC_OK);
    CHECK(src && ooc_glm(src, be, &o, &r, &err) == OOC_OK);
    ooc_source_free(src);
    if (r && r0) {
        CHECK(r->p == 3 && !strcmp(r->offset_name, "x3") && !strcmp(r->names[2], "x2"));
        CHECK_MSG(fabs(r->params[0] - (r0->params[0] - 0.75)) <=
                      1e-12 * fabs(r0->params[0]) + 1e-12,
                  "intercept %.17g vs %.17g - 0.75", r->params[0], r0->params[0]);
        CHECK(near(r->params[1], r0->params[1], 1e-12) && near(r->bse[1], r0->bse[1], 1e-12));
        CHECK(near(r->deviance, r0->deviance, 1e-12) && near(r->llf, r0->llf, 1e-12));
        /* the null model with a constant offset is the constant-only one */
        CHECK_MSG(near(r->null_deviance, r0->null_deviance, 1e-10), "null deviance %.17g vs %.17g",
                  r->null_deviance, r0->null_deviance);
        CHECK(r->iterations == r0->iterations);
    }
    ooc_glm_result_free(r);
    ooc_glm_result_free(r0);
    r = r0 = NULL;

    /* the response from a column of X: y := x3 > 0 as a column, the source without y */
    static double xr[N * P];
    memcpy(xr, d.x, sizeof xr);
    for (size_t i = 0; i < N; i++)
        xr[i * P + 3] = d.y[i];
    ooc_mem_source_spec sr = {
        .x = xr, .nrows = N, .p = P, .column_names = d.names, .block_rows = 97};
    ooc_glm_options_init(&o);
    o.response_column = "x3";
    CHECK(ooc_mem_source_open(&sr, &src, &err) == OOC_OK);
    CHECK(src && ooc_glm(src, be, &o, &r, &err) == OOC_OK);
    ooc_source_free(src);
    CHECK(glm_on(&d, 3, d.x3, NULL, &o, be, &r0, &err) == OOC_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "the response column 'x3' is not a column"));
    o.response_column = NULL;
    CHECK(glm_on(&d, 3, d.x3, NULL, &o, be, &r0, &err) == OOC_OK);
    if (r && r0) {
        CHECK(r->p == 3 && !strcmp(r->y_name, "x3"));
        for (size_t j = 0; j < 3; j++)
            CHECK(near(r->params[j], r0->params[j], 1e-13));
    }
    ooc_glm_result_free(r);
    ooc_glm_result_free(r0);
    r = r0 = NULL;

    /* perfect separation: y = x1 > 0 */
    static data ds;
    ds = d;
    for (size_t i = 0; i < N; i++)
        ds.y[i] = d.x[i * P + 1] > 0;
    ooc_glm_options_init(&o);
    CHECK(glm_on(&ds, 3, d.x3, NULL, &o, be, &r, &err) == OOC_ERR_NUMERIC && !r);
    CHECK(strstr(err.message, "perfect separation"));

    /* options refused; the cancel flag */
    o.link = OOC_GLM_LINK_INVERSE_SQUARED;
    CHECK(glm_on(&d, 3, d.x3, NULL, &o, be, &r, &err) == OOC_ERR_INVALID_ARG);
    ooc_glm_options_init(&o);
    o.family = OOC_GLM_POISSON;
    o.exposure_column = "x2";
    o.link = OOC_GLM_LINK_SQRT;
    CHECK(glm_on(&d, 3, d.x3, NULL, &o, be, &r, &err) == OOC_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "exposure needs the log link"));
    volatile int cancel = 2;
    ooc_glm_options_init(&o);
    o.cancel = &cancel;
    CHECK(glm_on(&d, 3, d.x3, NULL, &o, be, &r, &err) == OOC_ERR_INTERRUPTED && !r);
}

int main(void)
{
    test_names();
    test_rows();
    ooc_backend *be = NULL;
    ooc_error err;
    CHECK(ooc_cpu_backend_create(NULL, &be, &err) == OOC_OK);
    if (be)
        test_fits(be);
    ooc_backend_free(be);
    return TEST_EXIT();
}
