/*
 * fit.c — passes over a source through a backend, and the finalize step
 * (rank detection, solve, statsmodels statistics, SVD).  See fit.h.
 *
 * Everything after the accumulation works on the small (p+1)×(p+1) triangle
 * R_aug = [[R, z], [0, ρ]] with RᵀR = XᵀWX, so finalize costs O(p³)
 * regardless of the number of rows.
 *
 * Profiling (options.trace / .progress): on the calling thread every block
 * of the first pass is an "accumulate" span (side statistics + backend
 * update) and every block of a later pass (refinement, HC meat, U) a
 * "residual pass" span; the merge, solve, SVD and statistics are
 * "finalize" spans; --u-out's appends and commit are "write output".
 * Waiting for the source's next block is left outside spans.  Each pass
 * starts a progress phase and reports rows and bytes per block.
 */
#define _POSIX_C_SOURCE 200809L
#include "fit.h"

#include "error.h"
#include "h5write.h"
#include "progress.h"
#include "stats.h"
#include "trace.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ooc_cov_name(ooc_cov_type c)
{
    switch (c) {
    case OOC_COV_HC0:
        return "HC0";
    case OOC_COV_HC1:
        return "HC1";
    default:
        return "nonrobust";
    }
}

void ooc_fit_options_init(ooc_fit_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = OOC_METHOD_QR;
    o->cov = OOC_COV_NONROBUST;
    o->max_refine = 3;
}

void ooc_svd_options_init(ooc_svd_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = OOC_METHOD_QR;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static char **copy_names(char *const *names, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char generic[32];
        snprintf(generic, sizeof generic, "x%zu", i);
        out[i] = dup_or_null(names && names[i] ? names[i] : generic);
        if (!out[i]) {
            free_names(out, n);
            return NULL;
        }
    }
    return out;
}

static ooc_status add_warning(ooc_fit_result *r, ooc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ooc_status add_warning(ooc_fit_result *r, ooc_error *err, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **grown = realloc(r->warnings, (r->nwarnings + 1) * sizeof(char *));
    if (!grown)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    r->warnings = grown;
    r->warnings[r->nwarnings] = dup_or_null(buf);
    if (!r->warnings[r->nwarnings])
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    r->nwarnings++;
    return OOC_OK;
}

/* ---- pass 1: accumulate R_aug and the side statistics ------------------- */

/* Side statistics gathered while accumulating (fit only). */
typedef struct side_stats {
    uint64_t nobs;
    double *colmin, *colmax;   /* p, explicit constant detection */
    long double *xw;           /* Σ w·x_j, implicit constant detection */
    long double sum_w, sum_log_w, sum_wy2;
    double y_wsum, y_mean, y_m2; /* weighted mean / centered SS of y (Chan's merge) */
} side_stats;

static const char *column_label(const ooc_source *src, size_t j)
{
    if (j < src->p)
        return src->column_names && src->column_names[j] ? src->column_names[j] : "x";
    if (src->has_y && j == src->p)
        return src->y_name ? src->y_name : "y";
    return "weight";
}

/* The row and column of the first non-finite value or invalid weight in a
 * block, as an OOC_ERR_DATA error; OOC_OK when there is none. */
static ooc_status find_bad_value(const ooc_source *src, const ooc_block *b, size_t p_aug,
                                 long wcol, ooc_error *err)
{
    for (size_t i = 0; i < b->nrows; i++) {
        const double *row = b->data + i * b->ncols;
        for (size_t j = 0; j < p_aug; j++)
            if (!isfinite(row[j]))
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "non-finite value %g in column '%s' at row %llu", row[j],
                                column_label(src, j), (unsigned long long)(b->first_row + i + 1));
        if (wcol >= 0 && (!isfinite(row[wcol]) || row[wcol] < 0.0))
            return OOC_FAIL(err, OOC_ERR_DATA,
                            "invalid weight %g at row %llu (weights must be finite and >= 0)",
                            row[wcol], (unsigned long long)(b->first_row + i + 1));
    }
    return OOC_OK;
}

/* Check one block's values (finite, weights >= 0) and fold it into st (when
 * not NULL) in one pass over the rows.  Sums are taken per block in double
 * and added to the long double totals; y's block mean and centered sum of
 * squares come from sums of y - K, K the block's first y (shifted data: no
 * second pass, and no cancellation while the block's values are near K), and
 * are merged with Chan's formula.  The check rides along: x·0 is NaN exactly
 * when x is not finite, and NaN sticks, so a branch-free loop (which the
 * compiler vectorises) screens the block, and only a block that fails is
 * searched row by row (find_bad_value) for the message.  flags: p_aug
 * doubles; xw_block: p doubles. */
static ooc_status scan_block(const ooc_source *src, const ooc_block *b, size_t p_aug, long wcol,
                             side_stats *st, double *xw_block, double *flags, ooc_error *err)
{
    const size_t p = src->p, nc = b->ncols, n = b->nrows;
    const bool has_y = src->has_y;
    double *restrict fl = flags;
    double bw = 0.0, sy = 0.0, sy2 = 0.0, bwy2 = 0.0, blogw = 0.0, wflag = 0.0;
    const double shift = has_y && n > 0 ? b->data[p] : 0.0;
    memset(flags, 0, p_aug * sizeof(double));
    if (!st) {
        for (size_t i = 0; i < n; i++) {
            const double *restrict row = b->data + i * nc;
            for (size_t j = 0; j < p_aug; j++)
                fl[j] += row[j] * 0.0;
        }
    } else {
        double *restrict mn = st->colmin, *restrict mx = st->colmax, *restrict xw = xw_block;
        memset(xw_block, 0, p * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            const double *restrict row = b->data + i * nc;
            const double w = wcol >= 0 ? row[wcol] : 1.0;
            for (size_t j = 0; j < p_aug; j++)
                fl[j] += row[j] * 0.0;
            for (size_t j = 0; j < p; j++) {
                const double v = row[j];
                mn[j] = v < mn[j] ? v : mn[j];
                mx[j] = v > mx[j] ? v : mx[j];
                xw[j] += w * v;
            }
            bw += w;
            if (has_y) {
                const double y = row[p], d = y - shift;
                sy += w * d;
                sy2 += w * d * d;
                bwy2 += w * y * y;
            }
        }
    }
    if (wcol >= 0)
        for (size_t i = 0; i < n; i++) {
            double w = b->data[i * nc + (size_t)wcol];
            wflag += w * 0.0 + (w < 0.0 ? NAN : 0.0);
            blogw += log(w);
        }
    bool bad = !(wflag == 0.0);
    for (size_t j = 0; j < p_aug; j++)
        bad |= !(flags[j] == 0.0);
    if (bad)
        return find_bad_value(src, b, p_aug, wcol, err);
    if (!st)
        return OOC_OK;
    st->nobs += n;
    for (size_t j = 0; j < p; j++)
        st->xw[j] += xw_block[j];
    st->sum_w += bw;
    st->sum_log_w += blogw;
    st->sum_wy2 += bwy2;
    if (has_y && bw > 0.0) {
        double bmean = shift + sy / bw, bm2 = sy2 - sy * (sy / bw);
        if (bm2 < 0.0)
            bm2 = 0.0;
        double total = st->y_wsum + bw, delta = bmean - st->y_mean;
        st->y_mean += delta * bw / total;
        st->y_m2 += bm2 + delta * delta * st->y_wsum * bw / total;
        st->y_wsum = total;
    }
    return OOC_OK;
}

/* Start progress phase `name` of a pass over src; the totals are known when
 * the source knows its row count (HDF5: rows x columns x 8 bytes). */
static void begin_phase(ooc_progress *prog, const char *name, const ooc_source *src)
{
    uint64_t rows = src->nrows != UINT64_MAX ? src->nrows : 0;
    ooc_progress_phase(prog, name, rows, rows * src->ncols * sizeof(double));
}

/* Bytes of a block's [X y w] values. */
static uint64_t block_nbytes(const ooc_block *b)
{
    return (uint64_t)b->nrows * b->ncols * sizeof(double);
}

static ooc_status check_cancel(const volatile int *cancel, ooc_error *err)
{
    if (cancel && *cancel)
        return OOC_FAIL(err, OOC_ERR_INTERRUPTED, "interrupted");
    return OOC_OK;
}

/* Instrumentation handed to the passes (both may be NULL). */
typedef struct instruments {
    ooc_trace *trace;
    ooc_progress *progress;
} instruments;

/* One pass: every block to the backend; r_aug gets the p_aug x p_aug triangle. */
static ooc_status accumulate_pass(ooc_source *src, ooc_backend *be,
                                  const ooc_backend_layout *layout, ooc_method method,
                                  side_stats *st, const volatile int *cancel, instruments ins,
                                  double *r_aug, uint64_t *nrows, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_block *b = NULL;
    double *xw_block = NULL, *flags = NULL;
    if (method == OOC_METHOD_QR ? !be->caps.supports_qr : !be->caps.supports_normal)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED, "backend '%s' does not support method '%s'",
                        be->caps.name, ooc_method_name(method));
    xw_block = malloc((src->p ? src->p : 1) * sizeof(double));
    flags = malloc(layout->p_aug * sizeof(double));
    OOC_FAIL_IF(!xw_block || !flags, err, OOC_ERR_NOMEM, "out of memory");
    *nrows = 0;
    begin_phase(ins.progress, "accumulate", src);
    OOC_CHECK(be->ops->begin(be, layout, method, err));
    for (;;) {
        OOC_CHECK(check_cancel(cancel, err));
        OOC_CHECK(src->vt->next(src, &b, err));
        if (!b)
            break;
        ooc_trace_token span = ooc_trace_begin(ins.trace, OOC_STAGE_ACCUMULATE);
        OOC_CHECK(
            scan_block(src, b, layout->p_aug, layout->weight_col, st, xw_block, flags, err));
        OOC_CHECK(be->ops->accumulate(be, b->data, b->nrows, err));
        ooc_trace_end_bytes(ins.trace, span, block_nbytes(b));
        ooc_progress_add(ins.progress, b->nrows, block_nbytes(b));
        *nrows += b->nrows;
        src->vt->release(src, b);
        b = NULL;
    }
    ooc_trace_token merge = ooc_trace_begin(ins.trace, OOC_STAGE_FINALIZE);
    OOC_CHECK(be->ops->finish(be, r_aug, err));
    ooc_trace_end(ins.trace, merge);
out:
    if (b)
        src->vt->release(src, b);
    free(xw_block);
    free(flags);
    return status;
}

/* ---- finalize helpers ---------------------------------------------------- */

/* Singular values (descending) of the p x p upper triangle stored row-major
 * with leading dimension ld; columns scaled to unit norm when `scaled`.  The
 * backend's svd_triangle when it has one, else LAPACK's dgesdd here. */
static ooc_status triangle_singular_values(ooc_backend *be, const double *r, size_t ld, size_t p,
                                           bool scaled, double *s, double *vt, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *a = malloc(p * p * sizeof(double));
    double *u = NULL;
    OOC_FAIL_IF(!a, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            a[i * p + j] = j >= i ? r[i * ld + j] : 0.0;
    if (scaled) {
        for (size_t j = 0; j < p; j++) {
            double nrm = 0.0;
            for (size_t i = 0; i <= j; i++)
                nrm = hypot(nrm, a[i * p + j]);
            if (nrm > 0.0)
                for (size_t i = 0; i <= j; i++)
                    a[i * p + j] /= nrm;
        }
    }
    if (be->ops->svd_triangle) {
        status = be->ops->svd_triangle(be, a, p, p, s, vt, err);
        goto out;
    }
    /* The row-major triangle is, column-major, its transpose Aᵀ = U'ΣV'ᵀ; A has
     * the same singular values and Vᵀ = U'ᵀ, which is U' read row-major. */
    lapack_int info;
    if (vt) {
        u = malloc(p * p * sizeof(double));
        OOC_FAIL_IF(!u, err, OOC_ERR_NOMEM, "out of memory");
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)p, (lapack_int)p, a,
                              (lapack_int)p, s, vt, (lapack_int)p, u, (lapack_int)p);
    } else {
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)p, (lapack_int)p, a,
                              (lapack_int)p, s, NULL, 1, NULL, 1);
    }
    OOC_FAIL_IF(info != 0, err, OOC_ERR_NUMERIC,
                "SVD of the %zux%zu triangle did not converge (dgesdd info %d)", p, p, (int)info);
out:
    free(a);
    free(u);
    return status;
}

/* Aliased columns: go through the columns of R (row-major, ld) in order,
 * keeping a Householder QR of the kept ones; column j is aliased when its
 * part orthogonal to them is <= tol times its norm. */
static ooc_status find_aliased(const double *r, size_t ld, size_t p, double tol, bool *aliased,
                               size_t *rank, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *col = malloc(p * sizeof(double));
    double *v = calloc(p * p, sizeof(double)); /* reflector h in v[h*p .. ] (rows h..p-1) */
    double *tau = calloc(p ? p : 1, sizeof(double));
    OOC_FAIL_IF(!col || !v || !tau, err, OOC_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < p; j++) {
        for (size_t i = 0; i < p; i++)
            col[i] = i <= j ? r[i * ld + j] : 0.0;
        double norm0 = cblas_dnrm2((int)p, col, 1);
        for (size_t h = 0; h < k; h++) {
            double dot = 0.0;
            for (size_t i = h; i < p; i++)
                dot += v[h * p + i] * col[i];
            for (size_t i = h; i < p; i++)
                col[i] -= tau[h] * dot * v[h * p + i];
        }
        double resid = k < p ? cblas_dnrm2((int)(p - k), col + k, 1) : 0.0;
        if (norm0 == 0.0 || resid <= tol * norm0) {
            aliased[j] = true;
            continue;
        }
        aliased[j] = false;
        double alpha = col[k];
        double t = 0.0;
        LAPACKE_dlarfg((lapack_int)(p - k), &alpha, col + k + 1, 1, &t);
        v[k * p + k] = 1.0;
        for (size_t i = k + 1; i < p; i++)
            v[k * p + i] = col[i];
        tau[k] = t;
        k++;
    }
    *rank = k;
out:
    free(col);
    free(v);
    free(tau);
    return status;
}

/* QR of the kept columns of R_aug (plus the y column): rk is (k+1)x(k+1)
 * row-major upper with a non-negative diagonal. */
static ooc_status retriangularize(const double *r_aug, size_t p_aug, const bool *aliased,
                                  size_t k, double *rk, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t kc = k + 1, c = 0;
    double *a = malloc(p_aug * kc * sizeof(double)); /* column-major p_aug x kc */
    double *tau = malloc(kc * sizeof(double));
    OOC_FAIL_IF(!a || !tau, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < p_aug; j++) {
        if (j + 1 < p_aug && aliased[j])
            continue;
        for (size_t i = 0; i < p_aug; i++)
            a[c * p_aug + i] = r_aug[i * p_aug + j];
        c++;
    }
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)p_aug, (lapack_int)kc, a,
                                     (lapack_int)p_aug, tau);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_NUMERIC, "dgeqrf failed (info %d)", (int)info);
    for (size_t i = 0; i < kc; i++) {
        double sign = a[i * p_aug + i] < 0.0 ? -1.0 : 1.0;
        for (size_t j = 0; j < kc; j++)
            rk[i * kc + j] = j >= i ? sign * a[j * p_aug + i] : 0.0;
    }
out:
    free(a);
    free(tau);
    return status;
}

/* statsmodels' k_constant/const_idx from column min/max (see
 * statsmodels/base/data.py _handle_constant); the implicit-constant check
 * (ones in the column space of X) uses Xᵀw and R. */
static void detect_constant(const side_stats *st, size_t p, const double *rk, size_t k,
                            const bool *aliased, int *k_constant, long *const_idx)
{
    *const_idx = -1;
    long first_nonzero = -1, first_one = -1;
    size_t nconst = 0;
    for (size_t j = 0; j < p; j++) {
        if (st->nobs == 0 || st->colmin[j] != st->colmax[j])
            continue;
        nconst++;
        if (first_one < 0 && st->colmin[j] == 1.0)
            first_one = (long)j;
        if (first_nonzero < 0 && st->colmin[j] != 0.0)
            first_nonzero = (long)j;
    }
    if (nconst > 0 && (first_one >= 0 || first_nonzero >= 0)) {
        *k_constant = 1;
        *const_idx = first_one >= 0 ? first_one : first_nonzero;
        return;
    }
    /* implicit: residual of √w regressed on W^½X_K is Σw - ‖R⁻ᵀ(X_Kᵀw)‖² */
    *k_constant = 0;
    if (k == 0 || st->sum_w <= 0.0L)
        return;
    double *u = malloc(k * sizeof(double));
    if (!u)
        return;
    size_t c = 0;
    for (size_t j = 0; j < p; j++)
        if (!aliased[j])
            u[c++] = (double)st->xw[j];
    cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)k, rk, (int)(k + 1), u,
                1);
    long double unorm2 = 0.0L;
    for (size_t i = 0; i < k; i++)
        unorm2 += (long double)u[i] * u[i];
    free(u);
    long double resid2 = st->sum_w - unorm2;
    /* relative residual norm below 1e-6: the ones vector lies in span(X) up to
     * the rounding of this normal-equations style computation (~√(cond·eps)) */
    if (resid2 <= 1e-12L * st->sum_w)
        *k_constant = 1;
}

/* ---- second passes -------------------------------------------------------- */

/* Host default for hc_meat: meat (upper) += Σ (w e)² x xᵀ. */
static ooc_status host_hc_meat(const ooc_backend_layout *lay, size_t p, const double *rows,
                               size_t nrows, const double *beta, double *meat, double *scratch)
{
    for (size_t i = 0; i < nrows; i++) {
        const double *row = rows + i * lay->ld;
        long double fit = 0.0L;
        for (size_t j = 0; j < p; j++)
            fit += (long double)row[j] * beta[j];
        double w = lay->weight_col >= 0 ? row[lay->weight_col] : 1.0;
        double s = w * (double)((long double)row[p] - fit);
        for (size_t j = 0; j < p; j++)
            scratch[i * p + j] = row[j] * s;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)p, (int)nrows, 1.0, scratch, (int)p,
                1.0, meat, (int)p);
    return OOC_OK;
}

/* Host default for project: out = (W^½ X_rows) · m. */
static ooc_status host_project(const ooc_backend_layout *lay, size_t p, const double *rows,
                               size_t nrows, const double *m, size_t k, double *out,
                               double *scratch)
{
    const double *x = rows;
    int ldx = (int)lay->ld;
    if (lay->weight_col >= 0) {
        for (size_t i = 0; i < nrows; i++) {
            const double *row = rows + i * lay->ld;
            double s = sqrt(row[lay->weight_col]);
            for (size_t j = 0; j < p; j++)
                scratch[i * p + j] = row[j] * s;
        }
        x = scratch;
        ldx = (int)p;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nrows, (int)k, (int)p, 1.0, x, ldx,
                m, (int)k, 0.0, out, (int)k);
    return OOC_OK;
}

/* HC meat over all rows (kept columns only matter; beta has 0 for aliased). */
static ooc_status hc_pass(ooc_source *src, ooc_backend *be, const double *beta, double *meat,
                          const volatile int *cancel, instruments ins, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_block *b = NULL;
    size_t p = src->p;
    double *scratch = NULL;
    memset(meat, 0, p * p * sizeof(double));
    OOC_CHECK(src->vt->rewind(src, err));
    begin_phase(ins.progress, "residual pass (HC)", src);
    if (!be->ops->hc_meat) {
        scratch = malloc(src->block_rows * p * sizeof(double));
        OOC_FAIL_IF(!scratch, err, OOC_ERR_NOMEM, "out of memory for a %zu-row block",
                    src->block_rows);
    }
    for (;;) {
        OOC_CHECK(check_cancel(cancel, err));
        OOC_CHECK(src->vt->next(src, &b, err));
        if (!b)
            break;
        OOC_FAIL_IF(b->nrows > src->block_rows, err, OOC_ERR_INTERNAL,
                    "block of %zu rows exceeds the source's %zu", b->nrows, src->block_rows);
        ooc_trace_token span = ooc_trace_begin(ins.trace, OOC_STAGE_RESIDUAL_PASS);
        if (be->ops->hc_meat)
            OOC_CHECK(be->ops->hc_meat(be, b->data, b->nrows, beta, meat, err));
        else
            OOC_CHECK(host_hc_meat(&be->layout, p, b->data, b->nrows, beta, meat, scratch));
        ooc_trace_end_bytes(ins.trace, span, block_nbytes(b));
        ooc_progress_add(ins.progress, b->nrows, block_nbytes(b));
        src->vt->release(src, b);
        b = NULL;
    }
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < i; j++)
            meat[i * p + j] = meat[j * p + i];
out:
    if (b)
        src->vt->release(src, b);
    free(scratch);
    return status;
}

/* The least-squares perturbation bound ε·(2κ/cos θ + κ²·tan θ) for the
 * first-pass β (see ooc_refine_mode): κ is LAPACK's 1-norm condition estimate
 * (dtrcon) of R_K with its columns scaled to unit norm, sin²θ = ssr / yy.
 * rk is (k+1) x (k+1) row-major with R_K in its first k columns.  NaN when the
 * bound means nothing (y is zero or orthogonal to the columns). */
static double first_pass_error_bound(const double *rk, size_t k, double ssr, double yy,
                                     ooc_error *err, ooc_status *status)
{
    *status = OOC_OK;
    if (!(yy > 0.0) || !(ssr < yy))
        return NAN;
    double *scaled = malloc(k * k * sizeof(double));
    if (!scaled) {
        *status = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        return NAN;
    }
    for (size_t j = 0; j < k; j++) {
        double norm = 0.0;
        for (size_t i = 0; i <= j; i++)
            norm = hypot(norm, rk[i * (k + 1) + j]);
        for (size_t i = 0; i < k; i++)
            scaled[i * k + j] = i <= j && norm > 0.0 ? rk[i * (k + 1) + j] / norm : 0.0;
    }
    double rcond = 0.0;
    lapack_int info = LAPACKE_dtrcon(LAPACK_ROW_MAJOR, '1', 'U', 'N', (lapack_int)k, scaled,
                                     (lapack_int)k, &rcond);
    free(scaled);
    if (info != 0) {
        *status = OOC_FAIL(err, OOC_ERR_INTERNAL, "dtrcon: bad argument %d", (int)-info);
        return NAN;
    }
    if (!(rcond > 0.0))
        return INFINITY;
    double kappa = 1.0 / rcond, sin2 = ssr / yy, cos_theta = sqrt(1.0 - sin2);
    return DBL_EPSILON * (2.0 * kappa / cos_theta + kappa * kappa * sqrt(sin2) / cos_theta);
}

/* One refinement pass: g = X_Kᵀ W (y - X_K β) and Σ w r², in long double. */
static ooc_status residual_pass(ooc_source *src, const ooc_backend_layout *lay,
                                const bool *aliased, const double *beta_full, long double *g,
                                long double *ssr, const volatile int *cancel, instruments ins,
                                ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_block *b = NULL;
    size_t p = src->p;
    for (size_t j = 0; j < p; j++)
        g[j] = 0.0L;
    *ssr = 0.0L;
    OOC_CHECK(src->vt->rewind(src, err));
    begin_phase(ins.progress, "residual pass (refine)", src);
    for (;;) {
        OOC_CHECK(check_cancel(cancel, err));
        OOC_CHECK(src->vt->next(src, &b, err));
        if (!b)
            break;
        ooc_trace_token span = ooc_trace_begin(ins.trace, OOC_STAGE_RESIDUAL_PASS);
        for (size_t i = 0; i < b->nrows; i++) {
            const double *row = b->data + i * lay->ld;
            long double r = row[p];
            for (size_t j = 0; j < p; j++)
                r -= (long double)row[j] * beta_full[j];
            long double w = lay->weight_col >= 0 ? row[lay->weight_col] : 1.0;
            long double wr = w * r;
            for (size_t j = 0; j < p; j++)
                if (!aliased[j])
                    g[j] += wr * row[j];
            *ssr += wr * r;
        }
        ooc_trace_end_bytes(ins.trace, span, block_nbytes(b));
        ooc_progress_add(ins.progress, b->nrows, block_nbytes(b));
        src->vt->release(src, b);
        b = NULL;
    }
out:
    if (b)
        src->vt->release(src, b);
    return status;
}

/* ---- the fit driver ------------------------------------------------------- */

void ooc_fit_result_free(ooc_fit_result *r)
{
    if (!r)
        return;
    free_names(r->names, r->p);
    free(r->y_name);
    free(r->formula);
    free(r->aliased);
    free(r->params);
    free(r->bse);
    free(r->tvalues);
    free(r->pvalues);
    free(r->conf_lower);
    free(r->conf_upper);
    free(r->cov_params);
    free(r->singular_values);
    free_names(r->warnings, r->nwarnings);
    free(r);
}

static ooc_fit_result *alloc_result(const ooc_source *src)
{
    size_t p = src->p;
    ooc_fit_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p = p;
    r->names = copy_names(src->column_names, p);
    r->y_name = dup_or_null(src->y_name);
    r->formula = dup_or_null(src->formula);
    r->aliased = calloc(p, sizeof(bool));
    double **arrays[] = {&r->params,     &r->bse,        &r->tvalues,        &r->pvalues,
                         &r->conf_lower, &r->conf_upper, &r->singular_values};
    bool ok = r->names && r->aliased && (!src->y_name || r->y_name) &&
              (!src->formula || r->formula);
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        *arrays[i] = malloc(p * sizeof(double));
        ok = ok && *arrays[i];
    }
    r->cov_params = malloc(p * p * sizeof(double));
    if (!ok || !r->cov_params) {
        ooc_fit_result_free(r);
        return NULL;
    }
    for (size_t i = 0; i < p; i++)
        r->params[i] = r->bse[i] = r->tvalues[i] = r->pvalues[i] = r->conf_lower[i] =
            r->conf_upper[i] = NAN;
    for (size_t i = 0; i < p * p; i++)
        r->cov_params[i] = NAN;
    r->const_idx = -1;
    return r;
}

/* Wald F test that the coefficients other than the constant are zero, with
 * the robust covariance (statsmodels' fvalue for cov_type != nonrobust). */
static void robust_f_test(ooc_fit_result *r, const double *beta_k, const double *cov_k,
                          const size_t *kept_index, size_t k)
{
    r->fvalue = r->f_pvalue = NAN;
    if (r->k_constant && r->const_idx < 0)
        return; /* implicit constant: statsmodels returns NaN (its issue #2444) */
    size_t q = 0;
    size_t *sel = malloc((k ? k : 1) * sizeof(size_t));
    double *v = malloc((k > 0 ? k * k : 1) * sizeof(double));
    double *b = malloc((k ? k : 1) * sizeof(double));
    if (!sel || !v || !b)
        goto out;
    for (size_t i = 0; i < k; i++)
        if (!(r->k_constant && (long)kept_index[i] == r->const_idx))
            sel[q++] = i;
    if (q == 0)
        goto out;
    for (size_t a = 0; a < q; a++) {
        b[a] = beta_k[sel[a]];
        for (size_t c = 0; c < q; c++)
            v[a * q + c] = cov_k[sel[a] * k + sel[c]];
    }
    double *bsol = malloc(q * sizeof(double));
    if (!bsol)
        goto out;
    memcpy(bsol, b, q * sizeof(double));
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)q, 1, v, (lapack_int)q, bsol, 1) == 0) {
        double quad = 0.0;
        for (size_t a = 0; a < q; a++)
            quad += b[a] * bsol[a];
        r->fvalue = quad / (double)q;
        r->f_pvalue = ooc_f_sf(r->fvalue, (double)q, r->df_resid);
    }
    free(bsol);
out:
    free(sel);
    free(v);
    free(b);
}

ooc_status ooc_fit(ooc_source *src, ooc_backend *be, const ooc_fit_options *o,
                   ooc_fit_result **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    if (!src->has_y)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "the input has no response (y): give a formula with 'y ~ ...' or a /Y "
                        "dataset / --y-column");
    size_t p = src->p, p_aug = p + 1, k = 0;
    ooc_fit_result *r = alloc_result(src);
    side_stats st = {0};
    double *r_aug = malloc(p_aug * p_aug * sizeof(double));
    double *rk = NULL, *beta_full = calloc(p, sizeof(double)), *rinv = NULL, *cov_k = NULL;
    double *meat = NULL, *tmp = NULL, *beta_k = NULL, *scaled_s = malloc(p * sizeof(double));
    size_t *kept_index = malloc(p * sizeof(size_t));
    long double *g = NULL;
    st.colmin = malloc(p * sizeof(double));
    st.colmax = malloc(p * sizeof(double));
    st.xw = calloc(p, sizeof(long double));
    OOC_FAIL_IF(!r || !r_aug || !beta_full || !scaled_s || !kept_index || !st.colmin ||
                    !st.colmax || !st.xw,
                err, OOC_ERR_NOMEM, "out of memory for %zu columns", p);
    for (size_t j = 0; j < p; j++) {
        st.colmin[j] = INFINITY;
        st.colmax[j] = -INFINITY;
    }
    r->method = o->method;
    r->cov = o->cov;
    r->weighted = src->has_weights;

    ooc_backend_layout layout = {.p_aug = p_aug,
                                 .ld = src->ncols,
                                 .weight_col = src->has_weights ? (long)src->ncols - 1 : -1};
    instruments ins = {o->trace, o->progress};
    ooc_trace_set_meta(o->trace, "method", "%s", ooc_method_name(o->method));
    ooc_trace_set_meta(o->trace, "p", "%zu", p);
    ooc_trace_set_meta(o->trace, "cov", "%s", ooc_cov_name(o->cov));
    ooc_trace_set_meta(o->trace, "refine", "%s",
                       o->refine == OOC_REFINE_ALWAYS ? "yes"
                       : o->refine == OOC_REFINE_NEVER ? "no"
                                                       : "auto");
    double t0 = now_seconds();
    uint64_t nrows = 0;
    OOC_CHECK(accumulate_pass(src, be, &layout, o->method, &st, o->cancel, ins, r_aug, &nrows,
                              err));
    double t1 = now_seconds();
    r->seconds_accumulate = t1 - t0;
    r->nobs = st.nobs;
    ooc_trace_set_meta(o->trace, "rows", "%llu", (unsigned long long)st.nobs);
    OOC_FAIL_IF(st.nobs == 0, err, OOC_ERR_DATA, "the input has no rows to fit");
    /* finalize spans, interrupted by the passes over the data */
    ooc_trace_token fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);

    /* conditioning of W^½X (all columns) */
    OOC_CHECK(triangle_singular_values(be, r_aug, p_aug, p, false, r->singular_values, NULL,
                                       err));
    OOC_CHECK(triangle_singular_values(be, r_aug, p_aug, p, true, scaled_s, NULL, err));
    r->min_eigenvalue = r->singular_values[p - 1] * r->singular_values[p - 1];
    r->condition_number = r->singular_values[p - 1] > 0.0
                              ? r->singular_values[0] / r->singular_values[p - 1]
                              : INFINITY;
    r->scaled_condition_number = scaled_s[p - 1] > 0.0 ? scaled_s[0] / scaled_s[p - 1] : INFINITY;

    /* rank and aliased columns */
    double nmax = (double)(st.nobs > p ? st.nobs : p);
    OOC_CHECK(find_aliased(r_aug, p_aug, p, nmax * DBL_EPSILON, r->aliased, &k, err));
    r->rank = k;
    r->n_aliased = p - k;
    rk = malloc((k + 1) * (k + 1) * sizeof(double));
    beta_k = calloc(k ? k : 1, sizeof(double));
    OOC_FAIL_IF(!rk || !beta_k, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(retriangularize(r_aug, p_aug, r->aliased, k, rk, err));
    for (size_t j = 0, c = 0; j < p; j++)
        if (!r->aliased[j])
            kept_index[c++] = j;

    /* β_K = R_K⁻¹ z (the backend's solve_triangle when it has one), RSS = ρ² */
    for (size_t i = 0; i < k; i++)
        beta_k[i] = rk[i * (k + 1) + k];
    if (k > 0 && be->ops->solve_triangle)
        OOC_CHECK(be->ops->solve_triangle(be, rk, k, k + 1, beta_k, err));
    else if (k > 0)
        cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, rk,
                    (int)(k + 1), beta_k, 1);
    r->ssr = rk[k * (k + 1) + k] * rk[k * (k + 1) + k];
    for (size_t i = 0; i < k; i++)
        beta_full[kept_index[i]] = beta_k[i];

    r->error_estimate = NAN;
    if (k > 0 && o->refine == OOC_REFINE_AUTO) {
        ooc_status bst;
        r->error_estimate = first_pass_error_bound(rk, k, r->ssr, (double)st.sum_wy2, err, &bst);
        OOC_CHECK(bst);
        r->refined_automatically = r->error_estimate > OOC_AUTO_REFINE_BOUND;
    }
    if (k > 0 && (o->refine == OOC_REFINE_ALWAYS || r->refined_automatically)) {
        ooc_trace_end(o->trace, fin);
        double tr0 = now_seconds();
        g = malloc(p * sizeof(long double));
        tmp = malloc(k * sizeof(double));
        OOC_FAIL_IF(!g || !tmp, err, OOC_ERR_NOMEM, "out of memory");
        int max_passes = o->max_refine > 0 ? o->max_refine : 3;
        for (int pass = 0; pass < max_passes; pass++) {
            long double ssr_ld;
            OOC_CHECK(residual_pass(src, &layout, r->aliased, beta_full, g, &ssr_ld, o->cancel,
                                    ins, err));
            for (size_t i = 0; i < k; i++)
                tmp[i] = (double)g[kept_index[i]];
            /* RᵀR δ = g */
            cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)k, rk,
                        (int)(k + 1), tmp, 1);
            double rdelta2 = cblas_ddot((int)k, tmp, 1, tmp, 1); /* ‖Rδ‖² */
            cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, rk,
                        (int)(k + 1), tmp, 1);
            double dnorm = 0.0, bnorm = 0.0;
            for (size_t i = 0; i < k; i++) {
                beta_k[i] += tmp[i];
                beta_full[kept_index[i]] = beta_k[i];
                dnorm = hypot(dnorm, tmp[i]);
                bnorm = hypot(bnorm, beta_k[i]);
            }
            /* SSR at the corrected β: ssr(β+δ) = ssr(β) - ‖Rδ‖² */
            double ssr_new = (double)ssr_ld - rdelta2;
            r->ssr = ssr_new > 0.0 ? ssr_new : 0.0;
            r->refine_passes = pass + 1;
            r->refine_last_step = bnorm > 0.0 ? dnorm / bnorm : dnorm;
            if (r->refine_last_step <= 4.0 * DBL_EPSILON)
                break;
        }
        r->seconds_refine = now_seconds() - tr0;
        fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
    }
    /* constant and total sums of squares (statsmodels' definitions) */
    detect_constant(&st, p, rk, k, r->aliased, &r->k_constant, &r->const_idx);
    r->centered_tss = st.y_m2;
    r->uncentered_tss = (double)st.sum_wy2;
    r->df_resid = (double)st.nobs - (double)k;
    r->df_model = (double)k - r->k_constant;
    double tss = r->k_constant ? r->centered_tss : r->uncentered_tss;
    r->ess = tss - r->ssr;
    r->rsquared = 1.0 - r->ssr / tss;
    r->rsquared_adj =
        1.0 - ((double)st.nobs - r->k_constant) / r->df_resid * (1.0 - r->rsquared);
    r->scale = r->ssr / r->df_resid;
    double nobs2 = (double)st.nobs / 2.0;
    r->llf = -log(r->ssr) * nobs2 - (1.0 + log(3.14159265358979323846 / nobs2)) * nobs2 + 0.5 * (double)st.sum_log_w;
    r->aic = -2.0 * r->llf + 2.0 * (r->df_model + r->k_constant);
    r->bic = -2.0 * r->llf + log((double)st.nobs) * (r->df_model + r->k_constant);
    if (r->df_model > 0.0 && r->df_resid > 0.0) {
        r->fvalue = (r->ess / r->df_model) / (r->ssr / r->df_resid);
        r->f_pvalue = ooc_f_sf(r->fvalue, r->df_model, r->df_resid);
    } else {
        r->fvalue = r->f_pvalue = NAN;
    }

    /* covariance: scale·(RᵀR)⁻¹ or the HC sandwich */
    if (k > 0) {
        rinv = malloc(k * k * sizeof(double));
        cov_k = malloc(k * k * sizeof(double));
        OOC_FAIL_IF(!rinv || !cov_k, err, OOC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++)
                rinv[i * k + j] = j >= i ? rk[i * (k + 1) + j] : 0.0;
        lapack_int info =
            LAPACKE_dtrtri(LAPACK_ROW_MAJOR, 'U', 'N', (lapack_int)k, rinv, (lapack_int)k);
        OOC_FAIL_IF(info != 0, err, OOC_ERR_NUMERIC,
                    "the triangular factor is singular (dtrtri info %d)", (int)info);
        /* bread = R⁻¹R⁻ᵀ */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)k, (int)k, (int)k, 1.0, rinv,
                    (int)k, rinv, (int)k, 0.0, cov_k, (int)k);
        if (o->cov == OOC_COV_NONROBUST) {
            for (size_t i = 0; i < k * k; i++)
                cov_k[i] *= r->scale;
        } else {
            double ts0 = now_seconds();
            meat = malloc(p * p * sizeof(double));
            tmp = realloc(tmp, k * k * 2 * sizeof(double));
            OOC_FAIL_IF(!meat || !tmp, err, OOC_ERR_NOMEM, "out of memory");
            ooc_trace_end(o->trace, fin);
            OOC_CHECK(hc_pass(src, be, beta_full, meat, o->cancel, ins, err));
            fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
            double *meat_k = tmp, *half = tmp + k * k;
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++)
                    meat_k[i * k + j] = meat[kept_index[i] * p + kept_index[j]];
            double factor = o->cov == OOC_COV_HC1 ? (double)st.nobs / r->df_resid : 1.0;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)k, (int)k, 1.0,
                        cov_k, (int)k, meat_k, (int)k, 0.0, half, (int)k);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)k, (int)k,
                        factor, half, (int)k, cov_k, (int)k, 0.0, meat_k, (int)k);
            memcpy(cov_k, meat_k, k * k * sizeof(double));
            r->seconds_second_pass = now_seconds() - ts0;
        }
        /* statsmodels: t for nonrobust, normal for robust covariances (use_t=False) */
        r->use_t = o->cov == OOC_COV_NONROBUST;
        double q = r->use_t ? ooc_t_ppf(0.975, r->df_resid) : ooc_norm_ppf(0.975);
        for (size_t i = 0; i < k; i++) {
            size_t j = kept_index[i];
            r->params[j] = beta_k[i];
            r->bse[j] = sqrt(cov_k[i * k + i]);
            r->tvalues[j] = r->params[j] / r->bse[j];
            r->pvalues[j] = r->use_t ? ooc_t_pvalue_two_sided(r->tvalues[j], r->df_resid)
                                     : 2.0 * ooc_norm_sf(fabs(r->tvalues[j]));
            r->conf_lower[j] = r->params[j] - q * r->bse[j];
            r->conf_upper[j] = r->params[j] + q * r->bse[j];
            for (size_t c = 0; c < k; c++)
                r->cov_params[j * p + kept_index[c]] = cov_k[i * k + c];
        }
        if (o->cov != OOC_COV_NONROBUST)
            robust_f_test(r, beta_k, cov_k, kept_index, k);
    }

    /* warnings */
    if (r->n_aliased > 0) {
        char list[768] = "";
        size_t used = 0;
        for (size_t j = 0; j < p && used + 4 < sizeof list; j++) {
            if (!r->aliased[j])
                continue;
            int n = snprintf(list + used, sizeof list - used, "%s'%s'", used ? ", " : "",
                             r->names[j]);
            used = n > 0 && (size_t)n < sizeof list - used ? used + (size_t)n : sizeof list - 1;
        }
        OOC_CHECK(add_warning(r, err,
                              "Rank deficient: %zu of %zu columns are not estimable (linearly "
                              "dependent on earlier columns), reported as NaN: %s",
                              r->n_aliased, p, list));
    }
    if (st.nobs < p)
        OOC_CHECK(add_warning(r, err, "The input rank is higher than the number of observations."));
    if (r->df_resid <= 0.0)
        OOC_CHECK(add_warning(r, err,
                              "No residual degrees of freedom: standard errors and tests are "
                              "undefined."));
    if (r->min_eigenvalue < 1e-10)
        OOC_CHECK(add_warning(r, err,
                              "The smallest eigenvalue is %6.3g. This might indicate that there "
                              "are strong multicollinearity problems or that the design matrix "
                              "is singular.",
                              r->min_eigenvalue));
    else if (r->condition_number > 1000.0)
        OOC_CHECK(add_warning(r, err,
                              "The condition number is large, %6.3g. This might indicate that "
                              "there are strong multicollinearity or other numerical problems.",
                              r->condition_number));
    if (o->method == OOC_METHOD_NORMAL &&
        r->scaled_condition_number * r->scaled_condition_number * DBL_EPSILON > 1e-10)
        OOC_CHECK(add_warning(r, err,
                              "Ill-conditioned for method 'normal': it squares the condition "
                              "number (%.3g after column scaling), so expect only about %.0f "
                              "correct digits; use --method qr.",
                              r->scaled_condition_number,
                              fmax(0.0, -log10(r->scaled_condition_number *
                                               r->scaled_condition_number * DBL_EPSILON))));
    r->seconds_finalize = now_seconds() - t1 - r->seconds_refine - r->seconds_second_pass;
    ooc_trace_end(o->trace, fin);
    for (size_t i = 0; i < r->nwarnings; i++)
        ooc_log(&o->log, OOC_LOG_WARNING, "%s", r->warnings[i]);
    *out = r;
    r = NULL;
out:
    ooc_fit_result_free(r);
    free(r_aug);
    free(rk);
    free(beta_full);
    free(beta_k);
    free(rinv);
    free(cov_k);
    free(meat);
    free(tmp);
    free(g);
    free(scaled_s);
    free(kept_index);
    free(st.colmin);
    free(st.colmax);
    free(st.xw);
    return status;
}

/* ---- SVD ------------------------------------------------------------------ */

void ooc_svd_result_free(ooc_svd_result *r)
{
    if (!r)
        return;
    free_names(r->names, r->p);
    free(r->s);
    free(r->vt);
    free(r->u_path);
    free(r);
}

/* Second pass: U = W^½X · V_k Σ_k⁻¹ appended to an HDF5 writer. */
static ooc_status write_u(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                          ooc_svd_result *r, ooc_error *err)
{
    ooc_trace *tr = o->trace;
    ooc_status status = OOC_OK;
    size_t p = r->p, k = r->k;
    ooc_block *b = NULL;
    ooc_h5_writer *w = NULL;
    char **unames = NULL;
    double *m = malloc(p * k * sizeof(double));
    double *ublock = malloc(src->block_rows * k * sizeof(double));
    double *scratch = malloc(src->block_rows * p * sizeof(double));
    unames = calloc(k, sizeof(char *));
    OOC_FAIL_IF(!m || !ublock || !scratch || !unames, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < k; c++) {
        OOC_FAIL_IF(!(r->s[c] > 0.0), err, OOC_ERR_NUMERIC,
                    "cannot write U: singular value %zu is zero (X is rank deficient); ask for "
                    "fewer with -k",
                    c + 1);
        for (size_t j = 0; j < p; j++)
            m[j * k + c] = r->vt[c * p + j] / r->s[c];
        char name[32];
        snprintf(name, sizeof name, "u%zu", c);
        unames[c] = dup_or_null(name);
        OOC_FAIL_IF(!unames[c], err, OOC_ERR_NOMEM, "out of memory");
    }
    ooc_h5_writer_options wo = {.path = o->u_out,
                                .ncols = k,
                                .with_y = false,
                                .level = 1,
                                .shuffle = true,
                                .nthreads = o->nthreads,
                                .formula = NULL,
                                .column_names = (const char *const *)unames,
                                .trace = tr};
    OOC_CHECK(ooc_h5w_create(&wo, &w, err));
    OOC_CHECK(src->vt->rewind(src, err));
    begin_phase(o->progress, "writing U", src);
    for (;;) {
        OOC_CHECK(check_cancel(o->cancel, err));
        OOC_CHECK(src->vt->next(src, &b, err));
        if (!b)
            break;
        OOC_FAIL_IF(b->nrows > src->block_rows, err, OOC_ERR_INTERNAL,
                    "block of %zu rows exceeds the source's %zu", b->nrows, src->block_rows);
        size_t nrows = b->nrows;
        uint64_t nbytes = block_nbytes(b);
        ooc_trace_token span = ooc_trace_begin(tr, OOC_STAGE_RESIDUAL_PASS);
        if (be->ops->project)
            OOC_CHECK(be->ops->project(be, b->data, nrows, m, k, ublock, err));
        else
            OOC_CHECK(host_project(&be->layout, p, b->data, nrows, m, k, ublock, scratch));
        ooc_trace_end_bytes(tr, span, nbytes);
        src->vt->release(src, b);
        b = NULL;
        span = ooc_trace_begin(tr, OOC_STAGE_WRITE_OUTPUT);
        OOC_CHECK(ooc_h5w_append(w, ublock, NULL, nrows, err));
        ooc_trace_end_bytes(tr, span, (uint64_t)nrows * k * sizeof(double));
        ooc_progress_add(o->progress, nrows, nbytes);
    }
    ooc_trace_token commit = ooc_trace_begin(tr, OOC_STAGE_WRITE_OUTPUT);
    status = ooc_h5w_commit(w, NULL, err);
    ooc_trace_end(tr, commit);
    w = NULL;
    if (status == OOC_OK) {
        r->u_path = dup_or_null(o->u_out);
        OOC_FAIL_IF(!r->u_path, err, OOC_ERR_NOMEM, "out of memory");
    }
out:
    if (b)
        src->vt->release(src, b);
    ooc_h5w_abort(w);
    free_names(unames, k);
    free(m);
    free(ublock);
    free(scratch);
    return status;
}

ooc_status ooc_svd(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                   ooc_svd_result **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    size_t p = src->p;
    ooc_svd_result *r = calloc(1, sizeof *r);
    double *r_aug = malloc(p * p * sizeof(double));
    double *s = malloc(p * sizeof(double));
    double *vt = malloc(p * p * sizeof(double));
    OOC_FAIL_IF(!r || !r_aug || !s || !vt, err, OOC_ERR_NOMEM, "out of memory for %zu columns", p);
    r->p = p;
    r->names = copy_names(src->column_names, p);
    OOC_FAIL_IF(!r->names, err, OOC_ERR_NOMEM, "out of memory");
    ooc_backend_layout layout = {.p_aug = p,
                                 .ld = src->ncols,
                                 .weight_col = src->has_weights ? (long)src->ncols - 1 : -1};
    instruments ins = {o->trace, o->progress};
    ooc_trace_set_meta(o->trace, "method", "%s", ooc_method_name(o->method));
    ooc_trace_set_meta(o->trace, "p", "%zu", p);
    double t0 = now_seconds();
    OOC_CHECK(accumulate_pass(src, be, &layout, o->method, NULL, o->cancel, ins, r_aug, &r->nrows,
                              err));
    r->seconds_accumulate = now_seconds() - t0;
    ooc_trace_set_meta(o->trace, "rows", "%llu", (unsigned long long)r->nrows);
    ooc_trace_token fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
    OOC_CHECK(triangle_singular_values(be, r_aug, p, p, false, s, vt, err));
    r->k = o->k > 0 && o->k < p ? o->k : p;
    r->condition_number = s[p - 1] > 0.0 ? s[0] / s[p - 1] : INFINITY;
    r->s = malloc(r->k * sizeof(double));
    OOC_FAIL_IF(!r->s, err, OOC_ERR_NOMEM, "out of memory");
    memcpy(r->s, s, r->k * sizeof(double));
    if (o->vectors || o->u_out) {
        r->vt = malloc(r->k * p * sizeof(double));
        OOC_FAIL_IF(!r->vt, err, OOC_ERR_NOMEM, "out of memory");
        memcpy(r->vt, vt, r->k * p * sizeof(double));
    }
    ooc_trace_end(o->trace, fin);
    if (o->u_out) {
        double t1 = now_seconds();
        OOC_CHECK(write_u(src, be, o, r, err));
        r->seconds_u = now_seconds() - t1;
    }
    *out = r;
    r = NULL;
out:
    ooc_svd_result_free(r);
    free(r_aug);
    free(s);
    free(vt);
    return status;
}
