/*
 * transforms.c — patsy's stateful transforms, one value at a time: checking
 * a call's arguments, memorizing its argument's values in the scan pass,
 * learning (patsy's memorize_finish) and transforming.
 *
 *  - center(x): the mean, summed in long double (Neumaier), subtracted as the
 *    float64 patsy subtracts.
 *  - standardize(x, center=True, rescale=True, ddof=0), scale(): patsy's
 *    running mean and M2 in long double, updated row by row in file order as
 *    patsy does, so the same arithmetic gives the same numbers.
 *  - bs(x, df, knots, degree, include_intercept, lower_bound, upper_bound):
 *    inner knots at numpy's linear-interpolation percentiles of every value
 *    of x (np.percentile's arithmetic on the exact order statistics, from a
 *    sorted spill of the values: base/sorted_spill.h), bounds at the min and
 *    max; splines.c evaluates the basis.
 *  - cr(), cc() (df, knots, lower_bound, upper_bound, constraints='center'):
 *    inner knots at percentiles of the distinct values within the bounds, as
 *    patsy's _get_all_sorted_knots; the centering constraint from the
 *    unconstrained basis' column means over every value (a pass over the
 *    spill once the knots are known).
 * Missing arguments (NaN) are left out of what is learned (patsy would learn
 * NaN and then drop every row); the caller notes how many.
 */
#include "base/error.h"
#include "base/sorted_spill.h"
#include "formula/formula_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ooc_transform_free(ooc_transform *t)
{
    if (!t)
        return;
    free(t->code);
    free(t->knots);
    ooc_sorted_spill_free(t->spill);
    free(t->all_knots);
    free(t->f);
    free(t->constraint);
    free(t->q);
    memset(t, 0, sizeof *t);
}

void ooc_factor_free_transforms(ooc_factor *f)
{
    for (size_t i = 0; i < f->ntf; i++)
        ooc_transform_free(&f->tf[i]);
    free(f->tf);
    f->tf = NULL;
    f->ntf = 0;
}

static bool is_spline(const ooc_transform *t) { return t->kind >= OOC_TF_BS; }
static bool is_crs(const ooc_transform *t) { return t->kind == OOC_TF_CR || t->kind == OOC_TF_CC; }

/* Inner knots a bs/cr/cc call asks for when df is given (patsy's count). */
static long inner_knot_count(const ooc_transform *t)
{
    if (t->kind == OOC_TF_BS)
        return t->df - (t->degree + 1) + (t->include_intercept ? 0 : 1);
    long n = t->df - 2 + (t->constrain_center ? 1 : 0);
    return t->kind == OOC_TF_CC ? n + 1 : n;
}

static ooc_status call_error(const ooc_transform *t, const char *formula, ooc_error *err,
                             const char *what)
{
    return ooc_formula_error(err, formula, t->origin, t->origin_len, "%s: %s", t->code, what);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

ooc_status ooc_transform_check(ooc_transform *t, const char *formula, ooc_error *err)
{
    char what[200];
    t->min = INFINITY;
    t->max = -INFINITY;
    if (!is_spline(t)) {
        t->width = 1;
        return OOC_OK;
    }
    if (!t->df && !t->has_knots)
        return call_error(t, formula, err, "give df or knots");
    if (t->has_lower && t->has_upper && t->lower > t->upper)
        return call_error(t, formula, err, "lower_bound > upper_bound");
    if (t->kind == OOC_TF_BS) {
        if (t->degree < 0 || t->degree > 62)
            return call_error(t, formula, err, "degree must be an integer from 0 to 62");
        long order = t->degree + 1, ninner = (long)t->nknots;
        if (t->df) {
            ninner = inner_knot_count(t);
            if (ninner < 0) {
                snprintf(what, sizeof what,
                         "df=%ld is too small for degree=%ld and include_intercept=%s; must be "
                         ">= %ld",
                         t->df, t->degree, t->include_intercept ? "True" : "False",
                         t->df - ninner);
                return call_error(t, formula, err, what);
            }
            if (t->has_knots && (size_t)ninner != t->nknots) {
                snprintf(what, sizeof what,
                         "df=%ld with degree=%ld implies %ld knots, but %zu knots were provided",
                         t->df, t->degree, ninner, t->nknots);
                return call_error(t, formula, err, what);
            }
        }
        if (order + ninner > OOC_MAX_SPLINE_COLUMNS)
            return call_error(t, formula, err, "more columns than the "
                                               "supported " OOC_STR(OOC_MAX_SPLINE_COLUMNS));
        t->nall = (size_t)(2 * order + ninner);
        t->width = (size_t)(order + ninner - 1 + (t->include_intercept ? 1 : 0));
    } else {
        long nc = t->constrain_center ? 1 : 0, ninner = -1;
        if (t->df) {
            long min_df = t->kind == OOC_TF_CR && !nc ? 2 : 1;
            if (t->df < min_df) {
                snprintf(what, sizeof what, "'df'=%ld must be greater than or equal to %ld",
                         t->df, min_df);
                return call_error(t, formula, err, what);
            }
            ninner = inner_knot_count(t);
        }
        if (t->has_knots) { /* patsy takes np.unique(knots) */
            qsort(t->knots, t->nknots, sizeof *t->knots, cmp_double);
            size_t u = 0;
            for (size_t i = 0; i < t->nknots; i++)
                if (i == 0 || t->knots[i] != t->knots[u - 1])
                    t->knots[u++] = t->knots[i];
            t->nknots = u;
            if (ninner >= 0 && (size_t)ninner != u) {
                snprintf(what, sizeof what,
                         "needed number of inner knots=%ld does not match provided number of "
                         "inner knots=%zu",
                         ninner, u);
                return call_error(t, formula, err, what);
            }
            ninner = (long)u;
        }
        if (ninner > OOC_MAX_SPLINE_COLUMNS - 2)
            return call_error(t, formula, err, "more columns than the "
                                               "supported " OOC_STR(OOC_MAX_SPLINE_COLUMNS));
        t->nall = (size_t)ninner + 2;
        t->nbasis = t->kind == OOC_TF_CC ? t->nall - 1 : t->nall;
        if (t->nbasis <= (size_t)nc)
            return call_error(t, formula, err, "the spline would have no columns");
        t->width = t->nbasis - (size_t)nc;
    }
    return OOC_OK;
}

/* The spline needs its argument's values again after the scan: for
 * quantile knots, or for cr/cc's centering constraint. */
static bool needs_spill(const ooc_transform *t)
{
    if (!is_spline(t))
        return false;
    if (is_crs(t) && t->constrain_center)
        return true;
    return !t->has_knots && inner_knot_count(t) > 0;
}

bool ooc_transform_needs_data(const ooc_transform *t)
{
    return !is_spline(t) || needs_spill(t) || !t->has_lower || !t->has_upper;
}

ooc_status ooc_transform_memorize(ooc_transform *t, double x, ooc_error *err)
{
    if (isnan(x)) {
        t->nmissing++;
        return OOC_OK;
    }
    if (isinf(x))
        return OOC_FAIL(err, OOC_ERR_DATA,
                        "%s: its argument is %s, and a stateful transform cannot learn from an "
                        "infinite value",
                        t->code, x > 0 ? "inf" : "-inf");
    t->n++;
    if (x < t->min)
        t->min = x;
    if (x > t->max)
        t->max = x;
    switch (t->kind) {
    case OOC_TF_CENTER: { /* Neumaier's compensated sum */
        long double v = x, s = t->sum + v;
        t->comp += fabsl(t->sum) >= fabsl(v) ? (t->sum - s) + v : (v - s) + t->sum;
        t->sum = s;
        return OOC_OK;
    }
    case OOC_TF_STANDARDIZE: { /* patsy's Standardize.memorize_chunk, one row */
        long double delta = (long double)x - t->mean;
        t->mean += delta / (long double)t->n;
        t->m2 += delta * ((long double)x - t->mean);
        return OOC_OK;
    }
    default:
        if (!needs_spill(t))
            return OOC_OK;
        if (!t->spill) {
            char what[300];
            snprintf(what, sizeof what, "the values of %s", t->code);
            ooc_status status = ooc_sorted_spill_create(0, what, &t->spill, err);
            if (status != OOC_OK)
                return status;
        }
        return ooc_sorted_spill_add(t->spill, x, err);
    }
}

/* numpy's linear percentile of the n sorted values `next` hands out, at the
 * fractions q[0..nq) (ascending): virtual index (n-1)q, numpy's _lerp.
 * `distinct_in` (cr/cc): only distinct values within [lo, hi] count, and n
 * is their number.  Errors: OOC_ERR_IO. */
static ooc_status percentiles(ooc_transform *t, uint64_t n, const double *q, size_t nq,
                              bool distinct_in, double lo, double hi, double *out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_CHECK(ooc_sorted_spill_rewind(t->spill, err));
    uint64_t index = 0;
    size_t k = 0;
    double v, prev = NAN, a = NAN;
    bool have = false;
    while (k < nq && ooc_sorted_spill_next(t->spill, &v, &status, err)) {
        if (distinct_in && (v < lo || v > hi || (have && v == prev)))
            continue;
        have = true;
        prev = v;
        /* the needed order statistics of quantile k: prev = floor((n-1)q), next = prev+1 */
        while (k < nq) {
            double virt = (double)(n - 1) * q[k];
            if (virt >= (double)(n - 1)) {
                if (index != n - 1)
                    break;
                out[k++] = v;
                continue;
            }
            double below = floor(virt);
            uint64_t i0 = (uint64_t)below;
            if (index == i0) {
                a = v;
                break;
            }
            if (index != i0 + 1)
                break;
            double gamma = virt - below, diff = v - a;
            double r = a + diff * gamma;
            if (gamma >= 0.5)
                r = v - diff * (1 - gamma);
            out[k++] = r;
        }
        index++;
    }
    OOC_CHECK(status);
    OOC_FAIL_IF(k < nq, err, OOC_ERR_INTERNAL, "%s: %zu of %zu quantiles found", t->code, k, nq);
out:
    return status;
}

/* Distinct values of the spill within [lo, hi]. */
static ooc_status count_distinct(ooc_transform *t, double lo, double hi, uint64_t *count,
                                 ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_CHECK(ooc_sorted_spill_rewind(t->spill, err));
    double v, prev = NAN;
    bool have = false;
    *count = 0;
    while (ooc_sorted_spill_next(t->spill, &v, &status, err)) {
        if (v < lo || v > hi || (have && v == prev))
            continue;
        have = true;
        prev = v;
        (*count)++;
    }
out:
    return status;
}

static ooc_status learn_error(const ooc_transform *t, const char *file_name, ooc_error *err,
                              const char *what)
{
    return OOC_FAIL(err, OOC_ERR_DATA, "%s: %s %s", file_name, t->code, what);
}

/* A spline's exterior knots (*lo, *hi: the given bounds, else the data's
 * extremes), checked as patsy checks them: lo <= hi, and the n inner knots
 * `inner` within [lo, hi].  Errors: OOC_ERR_DATA naming the call. */
static ooc_status spline_bounds(const ooc_transform *t, const char *file_name,
                                const double *inner, size_t n, double *lo, double *hi,
                                ooc_error *err)
{
    *lo = t->has_lower ? t->lower : t->min;
    *hi = t->has_upper ? t->upper : t->max;
    if (*lo > *hi)
        return learn_error(t, file_name, err, "has lower_bound > upper_bound");
    for (size_t i = 0; i < n; i++)
        if (inner[i] < *lo || inner[i] > *hi)
            return OOC_FAIL(err, OOC_ERR_DATA, "%s: %s has a knot (%.17g) outside [%.17g, %.17g]",
                            file_name, t->code, inner[i], *lo, *hi);
    return OOC_OK;
}

/* bs: patsy's BS.memorize_finish. */
static ooc_status learn_bs(ooc_transform *t, const char *file_name, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t order = (size_t)t->degree + 1, ninner = t->nall - 2 * order;
    double *inner = malloc((ninner + 1) * sizeof *inner), *q = malloc((ninner + 1) * sizeof *q);
    t->all_knots = malloc(t->nall * sizeof *t->all_knots);
    OOC_FAIL_IF(!inner || !q || !t->all_knots, err, OOC_ERR_NOMEM, "out of memory");
    if (t->has_knots) {
        memcpy(inner, t->knots, ninner * sizeof *inner);
    } else if (ninner) {
        double step = 1.0 / (double)(ninner + 1); /* np.linspace(0, 1, ninner + 2)[1:-1] */
        for (size_t i = 0; i < ninner; i++)
            q[i] = (100.0 * ((double)(i + 1) * step)) / 100.0; /* np.percentile(x, 100 * p) */
        OOC_CHECK(percentiles(t, t->n, q, ninner, false, 0, 0, inner, err));
    }
    double lo, hi;
    OOC_CHECK(spline_bounds(t, file_name, inner, ninner, &lo, &hi, err));
    for (size_t i = 0; i < order; i++) {
        t->all_knots[2 * i] = lo;
        t->all_knots[2 * i + 1] = hi;
    }
    memcpy(t->all_knots + 2 * order, inner, ninner * sizeof *inner);
    qsort(t->all_knots, t->nall, sizeof *t->all_knots, cmp_double);
out:
    free(inner);
    free(q);
    return status;
}

/* cr/cc: patsy's _get_all_sorted_knots, then the second-derivative map. */
static ooc_status learn_crs_knots(ooc_transform *t, const char *file_name, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t ninner = t->nall - 2;
    double *inner = malloc((ninner + 1) * sizeof *inner), *q = malloc((ninner + 1) * sizeof *q);
    double *all = malloc((ninner + 2) * sizeof *all);
    OOC_FAIL_IF(!inner || !q || !all, err, OOC_ERR_NOMEM, "out of memory");
    double lo, hi; /* given knots checked here; quantiles fall within by construction */
    OOC_CHECK(spline_bounds(t, file_name, t->knots, t->has_knots ? ninner : 0, &lo, &hi, err));
    if (t->has_knots) {
        memcpy(inner, t->knots, ninner * sizeof *inner);
    } else if (ninner) {
        uint64_t d = 0;
        OOC_CHECK(count_distinct(t, lo, hi, &d, err));
        OOC_FAIL_IF(d == 0, err, OOC_ERR_DATA,
                    "%s: %s: no data values between lower_bound (%.17g) and upper_bound "
                    "(%.17g), so its %zu inner knots cannot be placed",
                    file_name, t->code, lo, hi, ninner);
        double step = 100.0 / (double)(ninner + 1); /* np.linspace(0, 100, ninner + 2)[1:-1] */
        for (size_t i = 0; i < ninner; i++)
            q[i] = ((double)(i + 1) * step) / 100.0;
        OOC_CHECK(percentiles(t, d, q, ninner, true, lo, hi, inner, err));
    }
    /* np.unique([lo, hi] + inner) must have ninner + 2 values */
    all[0] = lo;
    all[1] = hi;
    memcpy(all + 2, inner, ninner * sizeof *inner);
    qsort(all, ninner + 2, sizeof *all, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < ninner + 2; i++)
        if (u == 0 || all[i] != all[u - 1])
            all[u++] = all[i];
    OOC_FAIL_IF(u != ninner + 2, err, OOC_ERR_DATA,
                "%s: %s: unable to place %zu + 2 distinct knots between lower_bound (%.17g) and "
                "upper_bound (%.17g): the data have too few distinct values there",
                file_name, t->code, ninner, lo, hi);
    t->all_knots = all;
    all = NULL;
    t->f = malloc(t->nbasis * t->nall * sizeof *t->f);
    OOC_FAIL_IF(!t->f, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(ooc_crs_second_derivative_map(t->all_knots, t->nall, t->kind == OOC_TF_CC, t->f,
                                            err));
out:
    free(inner);
    free(q);
    free(all);
    return status;
}

/* The constraint null space from the unconstrained basis' column means c. */
static ooc_status set_constraint(ooc_transform *t, const double *c, ooc_error *err)
{
    t->q = malloc(t->nbasis * t->width * sizeof *t->q);
    if (!t->q)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    return ooc_constraint_null_space(c, t->nbasis, t->q, err);
}

/* cr/cc's centering constraint: the column means of the unconstrained basis
 * over every value (long double sums; patsy's are float64 pairwise). */
static ooc_status learn_centering(ooc_transform *t, ooc_error *err)
{
    ooc_status status = OOC_OK;
    long double *sum = calloc(t->nbasis, sizeof *sum);
    double *row = malloc(t->nbasis * sizeof *row), *c = malloc(t->nbasis * sizeof *c), v;
    OOC_FAIL_IF(!sum || !row || !c, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(ooc_sorted_spill_rewind(t->spill, err));
    while (ooc_sorted_spill_next(t->spill, &v, &status, err)) {
        ooc_crs_basis(t->all_knots, t->nall, t->kind == OOC_TF_CC, t->f, v, row);
        for (size_t j = 0; j < t->nbasis; j++)
            sum[j] += row[j];
    }
    OOC_CHECK(status);
    for (size_t j = 0; j < t->nbasis; j++)
        c[j] = (double)(sum[j] / (long double)t->n);
    t->constraint = c;
    c = NULL;
    OOC_CHECK(set_constraint(t, t->constraint, err));
out:
    free(sum);
    free(row);
    free(c);
    return status;
}

ooc_status ooc_transform_learn(ooc_transform *t, const char *file_name, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (t->learned)
        return OOC_OK;
    if (t->n == 0 && ooc_transform_needs_data(t))
        return learn_error(t, file_name, err,
                           "has no value to learn from: its argument is missing in every row");
    switch (t->kind) {
    case OOC_TF_CENTER:
        t->mean_value = (double)((t->sum + t->comp) / (long double)t->n);
        break;
    case OOC_TF_STANDARDIZE: {
        long double dof = (long double)((double)t->n - t->ddof);
        if (t->rescale && !(dof > 0))
            return learn_error(t, file_name, err, "has n - ddof <= 0: it cannot rescale");
        t->scale = sqrtl(t->m2 / dof);
        if (t->rescale && !(t->scale > 0))
            return learn_error(t, file_name, err,
                               "cannot rescale: its argument has the same value in every row");
        break;
    }
    case OOC_TF_BS: OOC_CHECK(learn_bs(t, file_name, err)); break;
    case OOC_TF_CR:
    case OOC_TF_CC:
        OOC_CHECK(learn_crs_knots(t, file_name, err));
        if (t->constrain_center)
            OOC_CHECK(learn_centering(t, err));
        break;
    }
    t->learned = true;
    ooc_sorted_spill_free(t->spill);
    t->spill = NULL;
out:
    return status;
}

double ooc_transform_value(const ooc_transform *t, double x)
{
    if (t->kind == OOC_TF_CENTER)
        return x - t->mean_value;
    /* standardize: patsy's in-place -= and /= upcast pandas' column to the long
     * double of its state, and the design rounds the result once */
    long double v = x;
    if (t->center)
        v -= t->mean;
    if (t->rescale)
        v /= t->scale;
    return (double)v;
}

bool ooc_transform_columns(const ooc_transform *t, double x, double *out)
{
    if (t->kind == OOC_TF_BS) {
        if (x < t->all_knots[0] || x > t->all_knots[t->nall - 1])
            return false;
        double b[OOC_MAX_SPLINE_COLUMNS + 1];
        ooc_bspline_basis(t->all_knots, t->nall, (size_t)t->degree, x, b);
        memcpy(out, b + (t->include_intercept ? 0 : 1), t->width * sizeof *out);
        return true;
    }
    double row[OOC_MAX_SPLINE_COLUMNS + 1];
    double *b = t->q ? row : out;
    ooc_crs_basis(t->all_knots, t->nall, t->kind == OOC_TF_CC, t->f, x, b);
    if (t->q)
        for (size_t j = 0; j < t->width; j++) {
            double s = 0.0;
            for (size_t i = 0; i < t->nbasis; i++)
                s += b[i] * t->q[i * t->width + j];
            out[j] = s;
        }
    return true;
}
