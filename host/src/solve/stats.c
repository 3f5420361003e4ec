/*
 * stats.c — regularized incomplete beta, Student t and F distributions.
 *
 * I_x(a, b) is evaluated with the continued fraction of DLMF 8.17.22 by the
 * modified Lentz method, on the side x < (a+1)/(a+b+2) where it converges
 * quickly (the other side through I_x(a,b) = 1 - I_{1-x}(b,a), returning the
 * complement directly so tails never cancel).  The prefactor
 * x^a (1-x)^b / B(a,b) is the delicate part for large a, b (residual degrees
 * of freedom in the millions): lgamma differences would lose ~log10(a)
 * digits, so for a, b >= 10 it is written with Stirling's series as
 *     a·log1p(d/x0) + b·log1p(-d/y0) + ½log(ab/(a+b)) - ½log 2π - Δ,
 * x0 = a/(a+b), d = x - x0 = (x·b - y·a)/(a+b), Δ the Stirling corrections,
 * whose first-order errors cancel.  Tested against scipy in
 * tests/interop/oracle_statsmodels.py and with closed forms in tests/unit/test_fit.c.
 */
#include "solve/stats.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

static const double half_log_2pi = 0.91893853320467274178;

/* lnΓ(x) - [(x-½)ln x - x + ½ln 2π] for x >= 10 (Stirling series; the first
 * omitted term is below 1e-17 at x = 10). */
static double stirling_correction(double x)
{
    static const double coef[] = {1.0 / 12.0,           -1.0 / 360.0,  1.0 / 1260.0,
                                  -1.0 / 1680.0,        1.0 / 1188.0,  -691.0 / 360360.0,
                                  1.0 / 156.0,          -3617.0 / 122400.0};
    double x2 = 1.0 / (x * x), term = 1.0 / x, sum = 0.0;
    for (size_t k = 0; k < sizeof coef / sizeof coef[0]; k++) {
        sum += coef[k] * term;
        term *= x2;
    }
    return sum;
}

double ooc_log_beta(double a, double b)
{
    if (!(a > 0.0) || !(b > 0.0))
        return NAN;
    double lo = a < b ? a : b, hi = a < b ? b : a;
    if (hi < 10.0)
        return lgamma(lo) + lgamma(hi) - lgamma(lo + hi);
    /* lnΓ(hi) - lnΓ(hi+lo) by Stirling, without large cancelling terms */
    double ratio = -(hi + lo - 0.5) * log1p(lo / hi) - lo * log(hi) + lo +
                   stirling_correction(hi) - stirling_correction(hi + lo);
    if (lo < 10.0)
        return lgamma(lo) + ratio;
    /* lnΓ(lo) by Stirling too */
    return (lo - 0.5) * log(lo) - lo + half_log_2pi + stirling_correction(lo) + ratio;
}

/* log of x^a y^b / B(a, b), y = 1 - x. */
static double log_prefactor(double a, double b, double x, double y)
{
    if (a >= 10.0 && b >= 10.0) {
        double s = a + b, x0 = a / s, y0 = b / s;
        double d = (x * b - y * a) / s;
        return a * log1p(d / x0) + b * log1p(-d / y0) + 0.5 * log(a * b / s) - half_log_2pi -
               (stirling_correction(a) + stirling_correction(b) - stirling_correction(s));
    }
    double lx = x < 0.5 ? log(x) : log1p(-y);
    double ly = y < 0.5 ? log(y) : log1p(-x);
    return a * lx + b * ly - ooc_log_beta(a, b);
}

/* One step of the modified Lentz method with partial numerator `coef`:
 * updates the ratios *c and *d (kept away from 0 by `tiny`) and returns the
 * factor c*d the convergent is multiplied by. */
static double lentz_step(double coef, double *c, double *d, double tiny)
{
    *d = 1.0 + coef * *d;
    if (fabs(*d) < tiny)
        *d = tiny;
    *c = 1.0 + coef / *c;
    if (fabs(*c) < tiny)
        *c = tiny;
    *d = 1.0 / *d;
    return *d * *c;
}

/* Continued fraction for I_x(a,b) / (x^a y^b / (a B(a,b))), modified Lentz. */
static double beta_continued_fraction(double a, double b, double x)
{
    const double tiny = 1e-300;
    const int max_iter = 1000000;
    double c = 1.0;
    double d = 1.0 - (a + b) * x / (a + 1.0);
    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= max_iter; m++) {
        double two_m = 2.0 * m;
        double even = m * (b - m) * x / ((a + two_m - 1.0) * (a + two_m));
        h *= lentz_step(even, &c, &d, tiny);
        double odd = -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1.0));
        double delta = lentz_step(odd, &c, &d, tiny);
        h *= delta;
        if (fabs(delta - 1.0) < 0.5 * DBL_EPSILON)
            return h;
    }
    return NAN;
}

void ooc_beta_inc(double a, double b, double x, double y, double *ix, double *ix_complement)
{
    double lower, upper;
    if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0) || !(y >= 0.0) || x > 1.0 || y > 1.0) {
        lower = upper = NAN;
    } else if (x == 0.0) {
        lower = 0.0;
        upper = 1.0;
    } else if (y == 0.0) {
        lower = 1.0;
        upper = 0.0;
    } else if (x < (a + 1.0) / (a + b + 2.0)) {
        lower = exp(log_prefactor(a, b, x, y)) * beta_continued_fraction(a, b, x) / a;
        upper = 1.0 - lower;
    } else {
        upper = exp(log_prefactor(b, a, y, x)) * beta_continued_fraction(b, a, y) / b;
        lower = 1.0 - upper;
    }
    if (ix)
        *ix = lower;
    if (ix_complement)
        *ix_complement = upper;
}

double ooc_t_sf(double t, double df)
{
    if (!(df > 0.0) || isnan(t))
        return NAN;
    if (isinf(t))
        return t > 0 ? 0.0 : 1.0;
    double t2 = t * t, den = df + t2;
    double tail;
    ooc_beta_inc(0.5 * df, 0.5, df / den, t2 / den, &tail, NULL); /* P(|T| > |t|) */
    return t > 0.0 ? 0.5 * tail : 1.0 - 0.5 * tail;
}

double ooc_t_cdf(double t, double df)
{
    return ooc_t_sf(-t, df);
}

double ooc_t_pvalue_two_sided(double t, double df)
{
    if (!(df > 0.0) || isnan(t))
        return NAN;
    if (isinf(t))
        return 0.0;
    double t2 = t * t, den = df + t2, tail;
    ooc_beta_inc(0.5 * df, 0.5, df / den, t2 / den, &tail, NULL);
    return tail;
}

static double t_pdf(double t, double df)
{
    return exp(-ooc_log_beta(0.5 * df, 0.5) - 0.5 * log(df) -
               0.5 * (df + 1.0) * log1p(t * t / df));
}

/* t > 0 with P(T > t) = q, 0 < q < 1/2: Newton from t = 0.  sf is convex and
 * decreasing on t > 0, so the iterates increase monotonically to the root. */
static double t_isf_upper(double q, double df)
{
    double t = 0.0;
    for (int it = 0; it < 500; it++) {
        double step = (ooc_t_sf(t, df) - q) / t_pdf(t, df);
        if (!isfinite(step))
            return NAN;
        t += step;
        if (fabs(step) <= 4.0 * DBL_EPSILON * fabs(t))
            break;
    }
    return t;
}

double ooc_t_ppf(double prob, double df)
{
    if (!(df > 0.0) || !(prob > 0.0) || !(prob < 1.0))
        return NAN;
    if (prob == 0.5)
        return 0.0;
    return prob > 0.5 ? t_isf_upper(1.0 - prob, df) : -t_isf_upper(prob, df);
}

double ooc_f_sf(double f, double d1, double d2)
{
    if (!(d1 > 0.0) || !(d2 > 0.0) || isnan(f))
        return NAN;
    if (f <= 0.0)
        return 1.0;
    if (isinf(f))
        return 0.0;
    double den = d2 + d1 * f, sf;
    ooc_beta_inc(0.5 * d2, 0.5 * d1, d2 / den, d1 * f / den, &sf, NULL);
    return sf;
}

double ooc_norm_sf(double z)
{
    return 0.5 * erfc(z / 1.41421356237309504880);
}

/* Newton on the upper tail from z = 0 (sf is convex for z > 0, so the iterates
 * increase monotonically to the root), as for the t quantile. */
double ooc_norm_ppf(double prob)
{
    if (!(prob > 0.0) || !(prob < 1.0))
        return NAN;
    if (prob == 0.5)
        return 0.0;
    double q = prob > 0.5 ? 1.0 - prob : prob, z = 0.0;
    for (int it = 0; it < 500; it++) {
        double pdf = exp(-0.5 * z * z) * 0.39894228040143267794;
        double step = (ooc_norm_sf(z) - q) / pdf;
        if (!isfinite(step))
            return NAN;
        z += step;
        if (fabs(step) <= 4.0 * DBL_EPSILON * fabs(z))
            break;
    }
    return prob > 0.5 ? z : -z;
}
