/*
 * fit.c — passes over a source through a backend, and the finalize step
 * (rank detection, solve, statsmodels statistics, SVD).  See fit.h.
 *
 * Everything after the accumulation works on the small (p+1)×(p+1) triangle
 * R_aug = [[R, z], [0, ρ]] with RᵀR = XᵀWX, so finalize costs O(p³)
 * regardless of the number of rows, and O(m²p) when R has only m < p nonzero
 * rows (fewer rows than columns; triangle_rows).  Its p-squared arrays are
 * checked against the memory available before anything is allocated
 * (check_dense_memory), and the cancel flag between its stages.
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
#include "solve/fit.h"

#include "base/error.h"
#include "hdf5/h5write.h"
#include "profile/progress.h"
#include "solve/stats.h"
#include "profile/trace.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
        for (size_t j = 0; j < p_aug; j++) {
            char where[512];
            if (isfinite(row[j]))
                continue;
            if (src->locate_nonfinite && src->locate_nonfinite(src, j, where, sizeof where))
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "%s: non-finite value %g in column '%s' (row %llu of the design)",
                                where, row[j], column_label(src, j),
                                (unsigned long long)(b->first_row + i + 1));
            return OOC_FAIL(err, OOC_ERR_DATA, "non-finite value %g in column '%s' at row %llu",
                            row[j], column_label(src, j),
                            (unsigned long long)(b->first_row + i + 1));
        }
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

/* Rows of the p x p upper triangle r (row-major, leading dimension ld) up to
 * its last nonzero row; from there on R is zero, so its rank is at most this.
 * The CPU backend (its lapack qr kernel, the one wide designs use) leaves
 * exactly zero the rows a design with fewer rows than columns never filled,
 * and the dense steps below then work on the m x p trapezoid: O(m²p) instead
 * of O(p³). */
static size_t triangle_rows(const double *r, size_t ld, size_t p)
{
    size_t m = p;
    while (m > 0) {
        const double *row = r + (m - 1) * ld;
        size_t j = m - 1;
        while (j < p && row[j] == 0.0)
            j++;
        if (j < p)
            break;
        m--;
    }
    return m;
}

/* Singular values (descending) of the p x p upper triangle R stored row-major
 * with leading dimension ld, zero from row m on (triangle_rows); columns
 * scaled to unit norm when `scaled`.  s gets p values, zero after the first
 * m; vt, when not NULL, the first m rows of Vᵀ (m x p row-major).  The full
 * triangle (m = p) goes to the backend's svd_triangle when it has one, else
 * to LAPACK's dgesdd here; a trapezoid (m < p) always to dgesdd here,
 * O(m²p). */
static ooc_status triangle_singular_values(ooc_backend *be, const double *r, size_t ld, size_t p,
                                           size_t m, bool scaled, double *s, double *vt,
                                           ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *a = malloc((m ? m : 1) * p * sizeof(double));
    double *u = NULL;
    OOC_FAIL_IF(!a, err, OOC_ERR_NOMEM, "out of memory for the SVD of a %zux%zu triangle", m, p);
    for (size_t i = m; i < p; i++)
        s[i] = 0.0;
    if (m == 0)
        goto out;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < p; j++)
            a[i * p + j] = j >= i ? r[i * ld + j] : 0.0;
    if (scaled) {
        for (size_t j = 0; j < p; j++) {
            double nrm = 0.0;
            for (size_t i = 0; i <= j && i < m; i++)
                nrm = hypot(nrm, a[i * p + j]);
            if (nrm > 0.0)
                for (size_t i = 0; i <= j && i < m; i++)
                    a[i * p + j] /= nrm;
        }
    }
    if (m == p && be->ops->svd_triangle) {
        status = be->ops->svd_triangle(be, a, p, p, s, vt, err);
        goto out;
    }
    /* The row-major m x p trapezoid is, column-major, its transpose Aᵀ (p x m)
     * = U'ΣV'ᵀ; A has the same singular values and Vᵀ = U'ᵀ, which is U'
     * (leading dimension p) read row-major. */
    lapack_int info;
    if (vt) {
        u = malloc(m * m * sizeof(double));
        OOC_FAIL_IF(!u, err, OOC_ERR_NOMEM, "out of memory for the SVD of a %zux%zu triangle", m,
                    p);
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)p, (lapack_int)m, a,
                              (lapack_int)p, s, vt, (lapack_int)p, u, (lapack_int)m);
    } else {
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)p, (lapack_int)m, a,
                              (lapack_int)p, s, NULL, 1, NULL, 1);
    }
    OOC_FAIL_IF(info == LAPACK_WORK_MEMORY_ERROR, err, OOC_ERR_NOMEM,
                "out of memory for the workspace of the SVD of a %zux%zu triangle", m, p);
    OOC_FAIL_IF(info > 0, err, OOC_ERR_NUMERIC,
                "SVD of the %zux%zu triangle did not converge (dgesdd info %d)", m, p, (int)info);
    OOC_FAIL_IF(info != 0, err, OOC_ERR_INTERNAL, "dgesdd: bad argument %d", (int)-info);
out:
    free(a);
    free(u);
    return status;
}

/* ---- memory of the dense steps --------------------------------------------- */

/* Bytes the system can give this process now: MemAvailable from
 * /proc/meminfo, else the free physical pages; 0 when neither is known. */
static double available_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb = 0;
        bool found = false;
        while (!found && fgets(line, sizeof line, f))
            found = sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
        fclose(f);
        if (found)
            return 1024.0 * (double)kb;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0.0;
}

/* Bytes of triangle_singular_values on an m x p trapezoid: the copy, and
 * dgesdd's documented minimal workspace and iwork (with vectors also U' and
 * V', and the workspace of jobz 'S'). */
static double svd_bytes(size_t m, size_t p, bool vectors)
{
    double M = (double)m, P = (double)p;
    double work = vectors ? P * M + M * M + 3.0 * M * M + fmax(P, 4.0 * M * M + 4.0 * M)
                          : 3.0 * M + fmax(P, 7.0 * M);
    return 8.0 * (M * P + work) + 8.0 * M * (double)sizeof(lapack_int);
}

/* Refuse, before allocating them, the dense arrays of `what` ("fit" / "svd")
 * that cannot fit in the memory available now: the p_aug x p_aug triangle
 * (0: already held), the p_cov x p_cov covariance (fit's cov_params; 0:
 * none), the SVD of the triangle's m x p nonzero rows, and the k_vt x p Vᵀ an
 * svd with vectors keeps (0: none).  Errors: OOC_ERR_NOMEM, naming each size. */
static ooc_status check_dense_memory(const char *what, size_t p_aug, size_t p_cov, size_t p,
                                     size_t m, size_t k_vt, ooc_error *err)
{
    const double gb = 1e9;
    double tri = 8.0 * (double)p_aug * (double)p_aug;
    double cov = 8.0 * (double)p_cov * (double)p_cov;
    double svd = svd_bytes(m, p, k_vt > 0) + 8.0 * (double)k_vt * (double)p;
    double need = tri + cov + svd, avail = available_memory();
    if (avail <= 0.0 || need <= avail)
        return OOC_OK;
    char parts[256] = "";
    size_t used = 0;
    if (p_aug > 0)
        used += (size_t)snprintf(parts, sizeof parts, "the %zux%zu triangle %.3g GB, ", p_aug,
                                 p_aug, tri / gb);
    if (p_cov > 0)
        used += (size_t)snprintf(parts + used, sizeof parts - used,
                                 "the %zux%zu covariance %.3g GB, ", p_cov, p_cov, cov / gb);
    snprintf(parts + used, sizeof parts - used, "the SVD of its %zu nonzero rows%s %.3g GB", m,
             k_vt > 0 ? " with vectors" : "", svd / gb);
    return OOC_FAIL(err, OOC_ERR_NOMEM,
                    "%s of %zu columns needs %.3g GB for its dense arrays (%s), but %.3g GB of "
                    "memory is available: use fewer columns or a machine with more memory",
                    what, p, need / gb, parts, avail / gb);
}

/* Aliased columns: go through the columns of R (row-major, ld; zero from row
 * m on) in order, keeping a Householder QR of the kept ones; column j is
 * aliased when its part orthogonal to them is <= tol times its norm.  At most
 * m columns are kept, so the reflectors take m x m doubles. */
static ooc_status find_aliased(const double *r, size_t ld, size_t p, size_t m, double tol,
                               bool *aliased, size_t *rank, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t m1 = m ? m : 1;
    double *col = malloc(m1 * sizeof(double));
    double *v = calloc(m1 * m1, sizeof(double)); /* reflector h in v[h*m .. ] (rows h..m-1) */
    double *tau = calloc(m1, sizeof(double));
    OOC_FAIL_IF(!col || !v || !tau, err, OOC_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t j = 0; j < p; j++) {
        for (size_t i = 0; i < m; i++)
            col[i] = i <= j ? r[i * ld + j] : 0.0;
        double norm0 = cblas_dnrm2((int)m, col, 1);
        for (size_t h = 0; h < k; h++) {
            double dot = 0.0;
            for (size_t i = h; i < m; i++)
                dot += v[h * m + i] * col[i];
            for (size_t i = h; i < m; i++)
                col[i] -= tau[h] * dot * v[h * m + i];
        }
        double resid = k < m ? cblas_dnrm2((int)(m - k), col + k, 1) : 0.0;
        if (norm0 == 0.0 || resid <= tol * norm0) {
            aliased[j] = true;
            continue;
        }
        aliased[j] = false;
        double alpha = col[k];
        double t = 0.0;
        LAPACKE_dlarfg((lapack_int)(m - k), &alpha, col + k + 1, 1, &t);
        v[k * m + k] = 1.0;
        for (size_t i = k + 1; i < m; i++)
            v[k * m + i] = col[i];
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

/* The second pass of --cov HC0/HC1: the sandwich's "meat" in the orthogonal
 * basis that R_K gives,
 *     mq = Σ_i ẽ_i² q_i q_iᵀ,   q_i = R_K⁻ᵀ a_i,   a_i = √w_i·x_i,K,
 *     ẽ_i = √w_i·(y_i - x_iᵀβ),
 * k x k, upper triangle.  The q_i are the rows of Q = A R_K⁻¹, whose columns
 * are orthonormal, so mq is as well conditioned as the residuals make it and
 * sandwich_cov's R_K⁻¹ mq R_K⁻ᵀ costs about cond(X)·ε; the textbook
 * (AᵀA)⁻¹ (Σ ẽ_i² a_i a_iᵀ) (AᵀA)⁻¹ costs cond(X)²·ε (tests/hc_exact.py has
 * the bounds).  Per block: the rows ẽ_i·a_i = w_i e_i x_i,K (e_i formed in
 * long double), one dtrsm by R_K, one dsyrk.  rk: (k+1) x (k+1) row-major
 * with R_K in its first k columns; beta_full: p values, 0 for aliased. */
static ooc_status hc_pass(ooc_source *src, const ooc_backend_layout *lay, const size_t *kept_index,
                          size_t k, const double *beta_full, const double *rk, double *mq,
                          const volatile int *cancel, instruments ins, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_block *b = NULL;
    size_t p = src->p;
    double *scratch = malloc(src->block_rows * k * sizeof(double));
    OOC_FAIL_IF(!scratch, err, OOC_ERR_NOMEM, "out of memory for a %zu-row block",
                src->block_rows);
    memset(mq, 0, k * k * sizeof(double));
    OOC_CHECK(src->vt->rewind(src, err));
    begin_phase(ins.progress, "residual pass (HC)", src);
    for (;;) {
        OOC_CHECK(check_cancel(cancel, err));
        OOC_CHECK(src->vt->next(src, &b, err));
        if (!b)
            break;
        OOC_FAIL_IF(b->nrows > src->block_rows, err, OOC_ERR_INTERNAL,
                    "block of %zu rows exceeds the source's %zu", b->nrows, src->block_rows);
        ooc_trace_token span = ooc_trace_begin(ins.trace, OOC_STAGE_RESIDUAL_PASS);
        for (size_t i = 0; i < b->nrows; i++) {
            const double *row = b->data + i * lay->ld;
            long double fit = 0.0L;
            for (size_t j = 0; j < p; j++)
                fit += (long double)row[j] * beta_full[j];
            double w = lay->weight_col >= 0 ? row[lay->weight_col] : 1.0;
            double we = w * (double)((long double)row[p] - fit);
            for (size_t c = 0; c < k; c++)
                scratch[i * k + c] = row[kept_index[c]] * we;
        }
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit,
                    (int)b->nrows, (int)k, 1.0, rk, (int)(k + 1), scratch, (int)k);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)b->nrows, 1.0, scratch,
                    (int)k, 1.0, mq, (int)k);
        ooc_trace_end_bytes(ins.trace, span, block_nbytes(b));
        ooc_progress_add(ins.progress, b->nrows, block_nbytes(b));
        src->vt->release(src, b);
        b = NULL;
    }
out:
    if (b)
        src->vt->release(src, b);
    free(scratch);
    return status;
}

/* cov = factor·R⁻¹ M R⁻ᵀ (k x k row-major) for the k x k upper triangle R
 * (row-major, leading dimension ldr, nonzero diagonal) and the symmetric M
 * (its upper triangle read; NULL: the identity, so factor·(RᵀR)⁻¹): two
 * triangular solves (dtrsm), each backward stable, then the mean of the two
 * triangles, which the solves leave equal only to rounding. */
static void sandwich_cov(const double *r, size_t ldr, size_t k, const double *m, double factor,
                         double *cov)
{
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            cov[i * k + j] = m ? m[(i < j ? i : j) * k + (i < j ? j : i)] : (double)(i == j);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, (int)k,
                1.0, r, (int)ldr, cov, (int)k);
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasTrans, CblasNonUnit, (int)k, (int)k,
                factor, r, (int)ldr, cov, (int)k);
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++)
            cov[i * k + j] = cov[j * k + i] = 0.5 * (cov[i * k + j] + cov[j * k + i]);
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

/* Robust Wald F that the coefficients other than the constant are zero
 * (statsmodels' fvalue for cov_type != nonrobust), in the basis of R_K, never
 * through the covariance: with V = R⁻¹(f·M)R⁻ᵀ (sandwich_cov) and L the kept
 * columns but the constant c, the Wald form β_Lᵀ V_LL⁻¹ β_L equals (Schur
 * complement) min over t of (β - t·e_c)ᵀ V⁻¹ (β - t·e_c) = ‖C⁻¹(z - t·r_c)‖²,
 * z = Rβ, r_c column c of R, f·M = C Cᵀ (Cholesky): the squared distance of
 * u = C⁻¹z from the line through v = C⁻¹r_c, or ‖u‖² without a constant.
 * Its condition is that of the meat; solving with V_LL, whose condition is
 * about cond(X)² times larger, lost 5 digits on Longley.  z: k values (kept
 * in step with a refined β); mq: k x k, upper triangle.  NaN when f·M is not
 * positive definite, and for an implicit constant (statsmodels: its issue
 * #2444).  Errors: OOC_ERR_NOMEM. */
static ooc_status robust_f_test(ooc_fit_result *r, const double *rk, size_t k, const double *z,
                                const double *mq, double factor, const size_t *kept_index,
                                ooc_error *err)
{
    ooc_status status = OOC_OK;
    r->fvalue = r->f_pvalue = NAN;
    if (r->k_constant && r->const_idx < 0)
        return OOC_OK;
    size_t c = k; /* the constant's position among the kept columns; k: none */
    for (size_t i = 0; i < k; i++)
        if (r->k_constant && (long)kept_index[i] == r->const_idx)
            c = i;
    size_t q = c < k ? k - 1 : k;
    if (q == 0)
        return OOC_OK;
    double *chol = malloc(k * k * sizeof(double));
    double *u = malloc(k * sizeof(double)), *v = malloc(k * sizeof(double));
    OOC_FAIL_IF(!chol || !u || !v, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j <= i; j++)
            chol[i * k + j] = factor * mq[j * k + i];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)k, chol, (lapack_int)k) != 0)
        goto out;
    memcpy(u, z, k * sizeof(double));
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)k, chol, (int)k, u, 1);
    double t = 0.0;
    if (c < k) {
        for (size_t i = 0; i < k; i++)
            v[i] = i <= c ? rk[i * (k + 1) + c] : 0.0;
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)k, chol, (int)k,
                    v, 1);
        t = cblas_ddot((int)k, u, 1, v, 1) / cblas_ddot((int)k, v, 1, v, 1);
    }
    double wald = 0.0;
    for (size_t i = 0; i < k; i++) {
        double d = c < k ? u[i] - t * v[i] : u[i];
        wald += d * d;
    }
    r->fvalue = wald / (double)q;
    r->f_pvalue = ooc_f_sf(r->fvalue, (double)q, r->df_resid);
out:
    free(chol);
    free(u);
    free(v);
    return status;
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
    /* R's nonzero rows are at most the rows, when the source knows them */
    size_t m_est = src->nrows < p ? (size_t)src->nrows : p;
    status = check_dense_memory("fit", p_aug, p, p, m_est, 0, err);
    if (status != OOC_OK)
        return status;
    ooc_fit_result *r = alloc_result(src);
    side_stats st = {0};
    double *r_aug = malloc(p_aug * p_aug * sizeof(double));
    double *rk = NULL, *beta_full = calloc(p, sizeof(double)), *cov_k = NULL, *z_k = NULL;
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
    /* finalize spans, interrupted by the passes over the data; the cancel
     * flag is checked between its stages */
    ooc_trace_token fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
    OOC_CHECK(check_cancel(o->cancel, err));
    size_t m = triangle_rows(r_aug, p_aug, p);
    if (m > m_est)
        OOC_CHECK(check_dense_memory("fit", 0, 0, p, m, 0, err));

    /* conditioning of W^½X (all columns) */
    OOC_CHECK(triangle_singular_values(be, r_aug, p_aug, p, m, false, r->singular_values, NULL,
                                       err));
    OOC_CHECK(check_cancel(o->cancel, err));
    OOC_CHECK(triangle_singular_values(be, r_aug, p_aug, p, m, true, scaled_s, NULL, err));
    OOC_CHECK(check_cancel(o->cancel, err));
    r->min_eigenvalue = r->singular_values[p - 1] * r->singular_values[p - 1];
    r->condition_number = r->singular_values[p - 1] > 0.0
                              ? r->singular_values[0] / r->singular_values[p - 1]
                              : INFINITY;
    r->scaled_condition_number = scaled_s[p - 1] > 0.0 ? scaled_s[0] / scaled_s[p - 1] : INFINITY;

    /* rank and aliased columns */
    double nmax = (double)(st.nobs > p ? st.nobs : p);
    OOC_CHECK(find_aliased(r_aug, p_aug, p, m, nmax * DBL_EPSILON, r->aliased, &k, err));
    OOC_CHECK(check_cancel(o->cancel, err));
    r->rank = k;
    r->n_aliased = p - k;
    rk = malloc((k + 1) * (k + 1) * sizeof(double));
    beta_k = calloc(k ? k : 1, sizeof(double));
    z_k = calloc(k ? k : 1, sizeof(double));
    OOC_FAIL_IF(!rk || !beta_k || !z_k, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(retriangularize(r_aug, p_aug, r->aliased, k, rk, err));
    for (size_t j = 0, c = 0; j < p; j++)
        if (!r->aliased[j])
            kept_index[c++] = j;

    /* β_K = R_K⁻¹ z (the backend's solve_triangle when it has one), RSS = ρ² */
    for (size_t i = 0; i < k; i++)
        z_k[i] = beta_k[i] = rk[i * (k + 1) + k];
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
            /* RᵀR δ = g; z = Rβ follows β (robust_f_test) */
            cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)k, rk,
                        (int)(k + 1), tmp, 1);
            double rdelta2 = cblas_ddot((int)k, tmp, 1, tmp, 1); /* ‖Rδ‖² */
            for (size_t i = 0; i < k; i++)
                z_k[i] += tmp[i];
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

    /* covariance: scale·(RᵀR)⁻¹, or the HC sandwich R⁻¹ M R⁻ᵀ (hc_pass) */
    if (k > 0) {
        OOC_CHECK(check_cancel(o->cancel, err));
        cov_k = malloc(k * k * sizeof(double));
        OOC_FAIL_IF(!cov_k, err, OOC_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < k; i++)
            OOC_FAIL_IF(!(rk[i * (k + 1) + i] > 0.0), err, OOC_ERR_NUMERIC,
                        "the triangular factor is singular at column '%s'",
                        r->names[kept_index[i]]);
        double factor = o->cov == OOC_COV_HC1 ? (double)st.nobs / r->df_resid : 1.0;
        if (o->cov == OOC_COV_NONROBUST) {
            sandwich_cov(rk, k + 1, k, NULL, r->scale, cov_k);
        } else {
            double ts0 = now_seconds();
            meat = malloc(k * k * sizeof(double));
            OOC_FAIL_IF(!meat, err, OOC_ERR_NOMEM, "out of memory");
            ooc_trace_end(o->trace, fin);
            OOC_CHECK(hc_pass(src, &layout, kept_index, k, beta_full, rk, meat, o->cancel, ins,
                              err));
            fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
            sandwich_cov(rk, k + 1, k, meat, factor, cov_k);
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
            OOC_CHECK(robust_f_test(r, rk, k, z_k, meat, factor, kept_index, err));
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
    free(z_k);
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
    bool want_vt = o->vectors || o->u_out;
    /* R's nonzero rows are at most the rows, when the source knows them */
    size_t m_est = src->nrows < p ? (size_t)src->nrows : p;
    size_t k_est = o->k > 0 && o->k < m_est ? o->k : m_est;
    status = check_dense_memory("svd", p, 0, p, m_est, want_vt ? k_est : 0, err);
    if (status != OOC_OK)
        return status;
    ooc_svd_result *r = calloc(1, sizeof *r);
    double *r_aug = malloc(p * p * sizeof(double));
    double *s = malloc(p * sizeof(double));
    double *vt = NULL;
    OOC_FAIL_IF(!r || !r_aug || !s, err, OOC_ERR_NOMEM, "out of memory for %zu columns", p);
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
    OOC_FAIL_IF(r->nrows == 0, err, OOC_ERR_DATA, "the input has no rows: nothing to decompose");
    ooc_trace_token fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
    OOC_CHECK(check_cancel(o->cancel, err));
    /* min(rows, columns) values, as numpy's svd; Vᵀ then needs that many rows
     * of the triangle, zero rows included (their vectors complete the basis) */
    size_t kmax = r->nrows < p ? (size_t)r->nrows : p;
    size_t m = triangle_rows(r_aug, p, p);
    if (m < kmax)
        m = kmax;
    r->k = o->k > 0 && o->k < kmax ? o->k : kmax;
    if (m > m_est)
        OOC_CHECK(check_dense_memory("svd", 0, 0, p, m, want_vt ? r->k : 0, err));
    if (want_vt) {
        vt = malloc(m * p * sizeof(double));
        OOC_FAIL_IF(!vt, err, OOC_ERR_NOMEM, "out of memory for %zu singular vectors", m);
    }
    OOC_CHECK(triangle_singular_values(be, r_aug, p, p, m, false, s, vt, err));
    OOC_CHECK(check_cancel(o->cancel, err));
    r->condition_number = s[kmax - 1] > 0.0 ? s[0] / s[kmax - 1] : INFINITY;
    r->s = malloc(r->k * sizeof(double));
    OOC_FAIL_IF(!r->s, err, OOC_ERR_NOMEM, "out of memory");
    memcpy(r->s, s, r->k * sizeof(double));
    if (want_vt) {
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
