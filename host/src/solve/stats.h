/*
 * stats.h — probability distributions needed for regression statistics:
 * the regularized incomplete beta function and, through it, Student t and
 * F tail probabilities and the t quantile.  Pure functions, thread-safe,
 * accurate to about 1e-14 relative (see stats.c for the method).
 * Invalid arguments (negative degrees of freedom, NaN) give NaN.
 */
#ifndef OOC_STATS_H
#define OOC_STATS_H

/* Regularized incomplete beta I_x(a, b) and its complement 1 - I_x(a, b),
 * for a, b > 0 and x in [0, 1].  `y` must be 1 - x, computed by the caller as
 * accurately as it can (passing both avoids cancellation in the tails).
 * Either output pointer may be NULL. */
void ooc_beta_inc(double a, double b, double x, double y, double *ix, double *ix_complement);

/* Student t with `df` degrees of freedom: P(T <= t). */
double ooc_t_cdf(double t, double df);

/* Student t survival function P(T > t). */
double ooc_t_sf(double t, double df);

/* Two-sided p-value P(|T| > |t|) (statsmodels' pvalues: 2 * t.sf(|t|)). */
double ooc_t_pvalue_two_sided(double t, double df);

/* Quantile: the t with P(T <= t) = prob, 0 < prob < 1. */
double ooc_t_ppf(double prob, double df);

/* F(d1, d2) survival function P(F > f). */
double ooc_f_sf(double f, double d1, double d2);

/* Standard normal survival function P(Z > z). */
double ooc_norm_sf(double z);

/* Standard normal quantile: the z with P(Z <= z) = prob, 0 < prob < 1. */
double ooc_norm_ppf(double prob);

/* Natural log of the beta function B(a, b) (accurate also for large a, b). */
double ooc_log_beta(double a, double b);

#endif
