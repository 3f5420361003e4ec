/*
 * accumulator.c — the accumulated state of a fit (the public
 * ooc_accumulator): rows from sources or from the caller, checked once per
 * value, folded into the side statistics and handed to the backend; passes
 * closed and merged into one triangle.  See accumulator.h and oocsolve.h.
 */
#include "solve/accumulator.h"

#include "backend/block_scan.h"
#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows staged per backend call when the caller pushes its own arrays. */
#define STAGE_ROWS 2048

void ooc_accumulator_options_init(ooc_accumulator_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = OOC_METHOD_QR;
}

ooc_status ooc_accumulator_alloc(size_t p, bool with_y, bool weighted, ooc_method method,
                                 ooc_backend *be, ooc_accumulator **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    if (p == 0)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "an accumulator needs at least one column");
    if (method == OOC_METHOD_QR ? !be->caps.supports_qr : !be->caps.supports_normal)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED, "backend '%s' does not support method '%s'",
                        be->caps.name, ooc_method_name(method));
    ooc_accumulator *acc = calloc(1, sizeof *acc);
    OOC_FAIL_IF(!acc, err, OOC_ERR_NOMEM, "out of memory");
    acc->be = be;
    acc->method = method;
    acc->p = p;
    acc->p_aug = p + (with_y ? 1 : 0);
    acc->with_y = with_y;
    acc->weighted = weighted;
    size_t pa = acc->p_aug;
    acc->r_aug = calloc(pa * pa, sizeof(double));
    acc->scan = malloc(2 * OOC_SCAN_WIDTH(p) * sizeof(double));
    OOC_FAIL_IF(!acc->r_aug || !acc->scan, err,
                OOC_ERR_NOMEM, "out of memory for the state of %zu columns", p);
    if (with_y) {
        acc->st.colmin = malloc(p * sizeof(double));
        acc->st.colmax = malloc(p * sizeof(double));
        acc->st.xw = calloc(p, sizeof(long double));
        OOC_FAIL_IF(!acc->st.colmin || !acc->st.colmax || !acc->st.xw, err, OOC_ERR_NOMEM,
                    "out of memory for the state of %zu columns", p);
        for (size_t j = 0; j < p; j++) {
            acc->st.colmin[j] = INFINITY;
            acc->st.colmax[j] = -INFINITY;
        }
    }
    *out = acc;
    acc = NULL;
out:
    ooc_accumulator_free(acc);
    return status;
}

ooc_status ooc_accumulator_create(const ooc_accumulator_options *o, ooc_backend *be,
                                  ooc_accumulator **out, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    ooc_accumulator *acc = NULL;
    OOC_CHECK(ooc_accumulator_alloc(o->p, true, o->weighted, o->method, be, &acc, err));
    acc->names = ooc_names_copy(o->column_names, o->p);
    acc->y_name = ooc_strdup_or_null(o->y_name ? o->y_name : "y");
    acc->formula = ooc_strdup_or_null(o->formula);
    acc->log = o->log;
    OOC_FAIL_IF(!acc->names || !acc->y_name || (o->formula && !acc->formula), err, OOC_ERR_NOMEM,
                "out of memory");
    *out = acc;
    acc = NULL;
out:
    ooc_accumulator_free(acc);
    return status;
}

ooc_status ooc_accumulator_for_source(const ooc_source *src, bool with_y, ooc_backend *be,
                                      ooc_method method, ooc_accumulator **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_accumulator *acc = NULL;
    OOC_CHECK(ooc_accumulator_alloc(src->p, with_y, src->has_weights, method, be, &acc, err));
    acc->names = ooc_names_copy((const char *const *)src->column_names, src->p);
    acc->y_name = ooc_strdup_or_null(src->y_name);
    acc->formula = ooc_strdup_or_null(src->formula);
    OOC_FAIL_IF(!acc->names || (src->y_name && !acc->y_name) || (src->formula && !acc->formula),
                err, OOC_ERR_NOMEM, "out of memory");
    *out = acc;
    acc = NULL;
out:
    ooc_accumulator_free(acc);
    return status;
}

void ooc_accumulator_free(ooc_accumulator *acc)
{
    if (!acc)
        return;
    if (acc->pass_open && acc->be->pass_owner == acc)
        acc->be->pass_owner = NULL; /* its rows are dropped: the next begin() resets */
    ooc_names_free(acc->names, acc->p);
    free(acc->y_name);
    free(acc->formula);
    free(acc->st.colmin);
    free(acc->st.colmax);
    free(acc->st.xw);
    free(acc->r_aug);
    free(acc->scratch_r);
    free(acc->scan);
    free(acc->stage);
    free(acc);
}

uint64_t ooc_accumulator_rows(const ooc_accumulator *acc) { return acc->st.nobs; }

/* Both NULL, or equal strings. */
static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

ooc_status ooc_accumulator_check_source(const ooc_accumulator *acc, const ooc_source *src,
                                        const char *what, ooc_error *err)
{
    if (src->p != acc->p)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "this input has %zu columns and %s has %zu", src->p, what, acc->p);
    for (size_t j = 0; j < acc->p; j++) {
        const char *name = src->column_names && src->column_names[j] ? src->column_names[j] : "";
        if (strcmp(name, acc->names[j]) != 0)
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                            "column %zu is '%s' in this input and '%s' in %s", j + 1, name,
                            acc->names[j], what);
    }
    if (src->has_weights != acc->weighted)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "this input is %s and %s is %s",
                        src->has_weights ? "weighted" : "unweighted", what,
                        acc->weighted ? "weighted" : "unweighted");
    if (acc->with_y && src->y_name && acc->y_name && strcmp(src->y_name, acc->y_name) != 0)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "the response is '%s' in this input and '%s' in %s", src->y_name,
                        acc->y_name, what);
    if (src->formula && acc->formula && !same_text(src->formula, acc->formula))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "the formula is '%s' in this input and '%s' in %s", src->formula,
                        acc->formula, what);
    return OOC_OK;
}

/* ---- checking and scanning rows ------------------------------------------- */

/* Where a bad value sits, for the message: the source's own locator (CSV:
 * file and line) when there is one. */
typedef struct row_origin {
    const ooc_source *src; /* NULL: rows pushed by the caller */
    bool unchecked;        /* rows a backend decoded (raw block): checked here, whatever the
                            * source's values_finite says */
} row_origin;

static const char *column_label(const ooc_accumulator *acc, size_t j)
{
    if (j < acc->p)
        return acc->names[j];
    if (acc->with_y && j == acc->p)
        return acc->y_name ? acc->y_name : "y";
    return "weight";
}

/* The row and column of the first non-finite value or invalid weight in a
 * block of [x y w] rows (ld apart, weight in column wcol or none), as an
 * OOC_ERR_DATA error; OOC_OK when there is none. */
static ooc_status find_bad_value(const ooc_accumulator *acc, row_origin origin,
                                 const double *data, size_t nrows, size_t ld, long wcol,
                                 uint64_t first_row, ooc_error *err)
{
    for (size_t i = 0; i < nrows; i++) {
        const double *row = data + i * ld;
        for (size_t j = 0; j < acc->p_aug; j++) {
            char where[512];
            if (isfinite(row[j]))
                continue;
            if (origin.src && origin.src->locate_nonfinite &&
                origin.src->locate_nonfinite(origin.src, j, where, sizeof where))
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "%s: non-finite value %g in column '%s' (row %llu of the design)",
                                where, row[j], column_label(acc, j),
                                (unsigned long long)(first_row + i + 1));
            return OOC_FAIL(err, OOC_ERR_DATA, "non-finite value %g in column '%s' at row %llu",
                            row[j], column_label(acc, j),
                            (unsigned long long)(first_row + i + 1));
        }
        if (wcol >= 0 && (!isfinite(row[wcol]) || row[wcol] < 0.0))
            return OOC_FAIL(err, OOC_ERR_DATA,
                            "invalid weight %g at row %llu (weights must be finite and >= 0)",
                            row[wcol], (unsigned long long)(first_row + i + 1));
    }
    return OOC_OK;
}

/* Check one block's values (finite, weights >= 0) and fold it into the side
 * statistics: the only place a value is checked.  The block's reductions
 * come as a scan vector (backend/block_scan.h: sums taken per segment in
 * double, merged in segment order), computed here from the rows or by the
 * backend that decoded them (accumulate_raw); the sums are added to the long
 * double totals.  y's block mean and centered sum of squares come from sums
 * of y - K, K the block's first y (shifted data: no second pass, and no
 * cancellation while the block's values are near K), and are merged with
 * Chan's formula.  The check rides along: x·0 is NaN exactly when x is not
 * finite, and NaN sticks, so the branch-free scan screens the block, and
 * only a block that fails is searched row by row (find_bad_value, over
 * data) for the message.  A bad block changes nothing. */
static ooc_status fold_scan(ooc_accumulator *acc, row_origin origin, const ooc_scan_spec *sp,
                            const double *v, const double *data, size_t n, size_t nc,
                            uint64_t first_row, ooc_error *err)
{
    const size_t p = acc->p;
    ooc_side_stats *st = &acc->st;
    if (ooc_scan_bad(sp, v))
        return find_bad_value(acc, origin, data, n, nc, (long)sp->wcol, first_row, err);
    st->nobs += n;
    if (sp->wcol >= 0)
        st->sum_log_w += v[OOC_SCAN_LOGW(p)];
    if (!acc->with_y || n == 0)
        return OOC_OK;
    const double *ys = v + OOC_SCAN_Y(p), shift = v[OOC_SCAN_SHIFT(p)];
    for (size_t j = 0; j < p; j++) {
        st->xw[j] += v[OOC_SCAN_XW(p) + j];
        st->colmin[j] = v[OOC_SCAN_MIN(p) + j] < st->colmin[j] ? v[OOC_SCAN_MIN(p) + j]
                                                                : st->colmin[j];
        st->colmax[j] = v[OOC_SCAN_MAX(p) + j] > st->colmax[j] ? v[OOC_SCAN_MAX(p) + j]
                                                                : st->colmax[j];
    }
    const double bw = ys[0], sy = ys[1], sy2 = ys[2];
    st->sum_w += bw;
    st->sum_wy2 += ys[3];
    if (bw > 0.0) {
        double bm2 = sy2 - sy * (sy / bw);
        ooc_side_stats_add_y(st, bw, shift + sy / bw, bm2 < 0.0 ? 0.0 : bm2);
    }
    return OOC_OK;
}

/* What scanning a block of this accumulator's pass computes: values a source
 * has checked (values_finite) are not checked again, rows a backend decoded
 * (origin.unchecked) always are; weights always are (>= 0). */
static ooc_scan_spec scan_spec(const ooc_accumulator *acc, row_origin origin, long wcol)
{
    const bool finite_known = origin.src && origin.src->values_finite && !origin.unchecked;
    return (ooc_scan_spec){.p = acc->p, .has_y = acc->with_y, .check_finite = !finite_known,
                           .wcol = wcol};
}

/* Scan a host block (nc doubles a row) and fold it in (fold_scan). */
static ooc_status scan_block(ooc_accumulator *acc, row_origin origin, const double *data,
                             size_t n, size_t nc, long wcol, uint64_t first_row, ooc_error *err)
{
    const ooc_scan_spec sp = scan_spec(acc, origin, wcol);
    ooc_scan_block(data, nc, &sp, n, acc->scan, acc->scan + OOC_SCAN_WIDTH(acc->p));
    return fold_scan(acc, origin, &sp, acc->scan, data, n, nc, first_row, err);
}

void ooc_side_stats_add_y(ooc_side_stats *st, double wsum, double mean, double m2)
{
    if (!(wsum > 0.0))
        return;
    double total = st->y_wsum + wsum, delta = mean - st->y_mean;
    st->y_mean += delta * wsum / total;
    st->y_m2 += m2 + delta * delta * st->y_wsum * wsum / total;
    st->y_wsum = total;
}

/* ---- passes ----------------------------------------------------------------- */

/* Open a backend pass for blocks ld doubles apart with the weight in wcol
 * (closing a pass of another layout first). */
static ooc_status ensure_pass(ooc_accumulator *acc, size_t ld, long wcol, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (acc->pass_open && acc->pass_layout.ld == ld && acc->pass_layout.weight_col == wcol)
        return OOC_OK;
    const double *r;
    if (acc->pass_open)
        OOC_CHECK(ooc_accumulator_triangle(acc, NULL, &r, err));
    /* another accumulator's rows pending on the same backend: close its pass first */
    if (acc->be->pass_owner && acc->be->pass_owner != acc)
        OOC_CHECK(ooc_accumulator_triangle(acc->be->pass_owner, NULL, &r, err));
    acc->pass_layout = (ooc_backend_layout){.p_aug = acc->p_aug, .ld = ld, .weight_col = wcol};
    OOC_CHECK(acc->be->ops->begin(acc->be, &acc->pass_layout, acc->method, err));
    acc->pass_open = true;
    acc->be->pass_owner = acc;
out:
    return status;
}

ooc_status ooc_accumulator_triangle(ooc_accumulator *acc, ooc_trace *trace,
                                    const double **r_aug, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (acc->pass_open) {
        size_t pa = acc->p_aug;
        ooc_trace_token merge = ooc_trace_begin(trace, OOC_STAGE_FINALIZE);
        acc->pass_open = false;
        acc->be->pass_owner = NULL;
        if (!acc->have_r) {
            status = acc->be->ops->finish(acc->be, acc->r_aug, err);
        } else {
            if (!acc->scratch_r)
                acc->scratch_r = malloc(pa * pa * sizeof(double));
            status = acc->scratch_r ? acc->be->ops->finish(acc->be, acc->scratch_r, err)
                                    : OOC_FAIL(err, OOC_ERR_NOMEM,
                                               "out of memory for a %zux%zu triangle", pa, pa);
            if (status == OOC_OK)
                status = ooc_triangle_merge(acc->r_aug, pa, pa, acc->scratch_r, pa, pa, pa, err);
        }
        ooc_trace_end(trace, merge);
        OOC_CHECK(status);
        acc->have_r = true;
    }
    *r_aug = acc->r_aug;
out:
    return status;
}

/* One block of a source pass. */
typedef struct source_pass {
    ooc_accumulator *acc;
    const ooc_source *src;
} source_pass;

static ooc_status accumulate_block(void *ctx, const ooc_block *b, ooc_error *err)
{
    ooc_status status = OOC_OK;
    source_pass *sp = ctx;
    ooc_accumulator *acc = sp->acc;
    row_origin origin = {sp->src, b->raw != NULL};
    const long wcol = acc->pass_layout.weight_col;
    if (b->raw) {
        /* the backend decodes the chunks and scans the rows where they are:
         * only a block that fails the check comes back (into b->data), for
         * the message, and none of its rows is added */
        const ooc_scan_spec spec = scan_spec(acc, origin, wcol);
        OOC_CHECK(ooc_backend_accumulate_raw(acc->be, b->raw, b->nrows, &spec, acc->scan, b->data,
                                             err));
        OOC_CHECK(fold_scan(acc, origin, &spec, acc->scan, b->data, b->nrows, b->ncols,
                            b->first_row, err));
        goto out;
    }
    OOC_CHECK(scan_block(acc, origin, b->data, b->nrows, b->ncols, wcol, b->first_row, err));
    OOC_CHECK(acc->be->ops->accumulate(acc->be, b->data, b->nrows, err));
out:
    return status;
}

ooc_status ooc_accumulator_add_pass(ooc_accumulator *acc, ooc_source *src,
                                    const ooc_pass_env *env, ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_FAIL_IF(acc->with_y && !src->has_y, err, OOC_ERR_INVALID_ARG,
                "the input has no response (y)");
    OOC_CHECK(ensure_pass(acc, src->ncols, src->has_weights ? (long)src->ncols - 1 : -1, err));
    source_pass sp = {acc, src};
    /* chunks decoded by the backend when it can and the source can hand
     * them over (this pass only: later passes need the rows on the host) */
    bool raw = acc->be->caps.raw_codecs && acc->be->ops->accumulate_raw && src->set_raw &&
               src->set_raw(src, acc->be->caps.raw_codecs, acc->be->caps.raw_requested);
    /* a pass starts where the source stands: a fresh source is not rewound */
    status = ooc_for_each_block(src, false, "accumulate", OOC_STAGE_ACCUMULATE, env,
                                accumulate_block, &sp, err);
    if (raw)
        src->set_raw(src, 0, false);
out:
    return status;
}

ooc_status ooc_accumulator_add_source(ooc_accumulator *acc, ooc_source *src,
                                      const ooc_fit_options *o, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = ooc_accumulator_check_source(acc, src, "the accumulated state", err);
    if (status != OOC_OK)
        return status;
    ooc_pass_env env = {0};
    if (o)
        env = (ooc_pass_env){o->cancel, o->trace, o->progress};
    return ooc_accumulator_add_pass(acc, src, &env, err);
}

/* ---- rows pushed by the caller ------------------------------------------------ */

/* Value (i, j) of the caller's X. */
static double x_at(const ooc_rows *r, size_t ldx, size_t i, size_t j)
{
    return r->order == OOC_ROW_MAJOR ? r->x[i * ldx + j] : r->x[j * ldx + i];
}

/* The caller's block checked before any of it is added: a bad value leaves
 * the accumulator as it was.  Errors: OOC_ERR_DATA naming row and column. */
static ooc_status check_rows(const ooc_accumulator *acc, const ooc_rows *r, size_t ldx,
                             ooc_error *err)
{
    uint64_t base = acc->st.nobs;
    for (size_t i = 0; i < r->nrows; i++) {
        for (size_t j = 0; j < acc->p; j++) {
            double v = x_at(r, ldx, i, j);
            if (!isfinite(v))
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "non-finite value %g in column '%s' at row %llu", v,
                                acc->names[j], (unsigned long long)(base + i + 1));
        }
        if (!isfinite(r->y[i]))
            return OOC_FAIL(err, OOC_ERR_DATA, "non-finite value %g in column '%s' at row %llu",
                            r->y[i], acc->y_name, (unsigned long long)(base + i + 1));
        if (r->w && (!isfinite(r->w[i]) || r->w[i] < 0.0))
            return OOC_FAIL(err, OOC_ERR_DATA,
                            "invalid weight %g at row %llu (weights must be finite and >= 0)",
                            r->w[i], (unsigned long long)(base + i + 1));
    }
    return OOC_OK;
}

ooc_status ooc_accumulator_push(ooc_accumulator *acc, const ooc_rows *r, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    const size_t p = acc->p, ncols = p + 1 + (acc->weighted ? 1 : 0);
    size_t ldx = r->ldx ? r->ldx : (r->order == OOC_ROW_MAJOR ? p : r->nrows);
    OOC_FAIL_IF(!acc->with_y, err, OOC_ERR_INVALID_ARG, "this accumulator takes no pushed rows");
    if (r->nrows == 0)
        return OOC_OK;
    OOC_FAIL_IF(!r->x || !r->y, err, OOC_ERR_INVALID_ARG, "a block of rows needs x and y");
    OOC_FAIL_IF(acc->weighted != (r->w != NULL), err, OOC_ERR_INVALID_ARG,
                acc->weighted ? "this accumulator is weighted: the rows need w"
                              : "this accumulator is unweighted: w must be NULL");
    OOC_FAIL_IF(r->order != OOC_ROW_MAJOR && r->order != OOC_COL_MAJOR, err, OOC_ERR_INVALID_ARG,
                "unknown storage order %d", (int)r->order);
    OOC_FAIL_IF(ldx < (r->order == OOC_ROW_MAJOR ? p : r->nrows), err, OOC_ERR_INVALID_ARG,
                "ldx %zu is smaller than the %s (%zu)", ldx,
                r->order == OOC_ROW_MAJOR ? "columns" : "rows",
                r->order == OOC_ROW_MAJOR ? p : r->nrows);
    OOC_CHECK(check_rows(acc, r, ldx, err));
    if (!acc->stage) {
        acc->stage = malloc(STAGE_ROWS * ncols * sizeof(double));
        OOC_FAIL_IF(!acc->stage, err, OOC_ERR_NOMEM, "out of memory");
    }
    long wcol = acc->weighted ? (long)ncols - 1 : -1;
    OOC_CHECK(ensure_pass(acc, ncols, wcol, err));
    row_origin caller = {.src = NULL};
    for (size_t i0 = 0; i0 < r->nrows; i0 += STAGE_ROWS) {
        size_t n = r->nrows - i0 < STAGE_ROWS ? r->nrows - i0 : STAGE_ROWS;
        for (size_t i = 0; i < n; i++) {
            double *row = acc->stage + i * ncols;
            for (size_t j = 0; j < p; j++)
                row[j] = x_at(r, ldx, i0 + i, j);
            row[p] = r->y[i0 + i];
            if (r->w)
                row[p + 1] = r->w[i0 + i];
        }
        OOC_CHECK(scan_block(acc, caller, acc->stage, n, ncols, wcol, acc->st.nobs, err));
        OOC_CHECK(acc->be->ops->accumulate(acc->be, acc->stage, n, err));
    }
out:
    return status;
}
