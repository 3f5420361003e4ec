/*
 * backend_cpu.c — the CPU accumulator (OpenBLAS + LAPACKE) behind backend.h.
 *
 * Each of `nthreads` workers owns a partial accumulator; accumulate() splits a
 * block into nthreads contiguous row ranges, runs them in parallel (the
 * calling thread is worker 0) and returns when all are done, so the caller
 * may release the block immediately.
 *
 *  - qr: Q-less TSQR, with one of two kernels (chosen in begin()):
 *    - "rows" (tsqr_rows.c; narrow designs, p_aug <= ooc_tsqr_rows_max_p()):
 *      the worker folds its rows straight from the row-major block into its
 *      R, panel_rows rows at a time (default 256: the panel stays in L1/L2),
 *      by Householder reflections that work on whole rows with vector
 *      instructions.  A panel the kernel refuses (magnitudes whose squares
 *      could overflow or underflow) is factored by the lapack kernel instead.
 *      Measured 5.8× faster than the lapack kernel for 2.5M×13 on one
 *      thread of this machine (docs/ARCHITECTURE.md).
 *    - "lapack": the worker copies its rows column-major (scaled by √w) under
 *      its current R, gathering them across accumulate() calls until a panel
 *      of panel_rows rows (default 2048, at least 4·p_aug) is full; then the
 *      stack [R; panel] is factored by dgeqrt and the new R is its upper
 *      triangle.  dgeqrt (compact WY, recursive panels: BLAS-3 throughout)
 *      measured faster than dgeqrf on the stack (by 5% at p_aug = 1001, 20%
 *      at 201) and than dtpqrt on R over the panel (whose panels are BLAS-2;
 *      equal at 1001, 20% slower at 201), although the stack costs
 *      (panel_rows + p_aug) / panel_rows times more flops.
 *      Until a worker has folded p_aug rows its R has only as many nonzero
 *      rows as it has seen (`nr`), and only those are stacked: a wide design
 *      with few rows costs O(rows²·p_aug) here, not O(p_aug³).
 *    finish() factors the last partial panels and merges the workers' R
 *    (their nonzero rows) with ooc_triangle_merge (backend.c).
 *  - normal: upper Gram by dsyrk.  A row-major block is, column-major, the
 *    p_aug×b matrix [X y]ᵀ, so syrk(Upper, NoTrans, n=p_aug, k=b, lda=ld)
 *    reads a worker's share in place when it has at least min(panel_rows,
 *    p_aug) rows; shorter shares (wide designs give short blocks) and
 *    weighted rows are gathered, scaled, into a panel first, so each syrk
 *    call has k = panel_rows: k = 131 (a 1001-column block's share) updated
 *    the whole p×p Gram for little work each time (60k×1001: 2.12 s →
 *    1.41 s).  finish() sums the Grams, scales them to unit diagonal, factors with pivoted
 *    Cholesky (dpstrf, LAPACK's default tolerance, so a numerically singular
 *    Gram gives zero rows instead of failing) and re-triangularises the
 *    unpivoted, unscaled factor with dgeqrf, giving an R_aug with the same
 *    RᵀR as the Gram in the original column order.
 *
 * With a trace, the helper threads (workers 1..n-1) record an "accumulate"
 * span per share of a block on lanes "qr worker N" / "syrk worker N"; worker
 * 0's share runs inside the caller's own accumulate span.
 */
#include "backend/backend.h"

#include "backend/blis_gram.h"
#include "base/error.h"
#include "profile/trace.h"
#include "backend/tsqr_rows.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cpu_worker {
    double *acc;          /* p_aug x p_aug column-major: R (qr) or upper Gram (normal) */
    double *panel;        /* (panel_rows + p_aug) x p_aug, column-major, leading dimension
                             panel_rows + p_aug: qr keeps R in its top p_aug rows and buffers
                             up to panel_rows rows below it across accumulate calls */
    size_t fill;          /* qr: rows buffered below R, not yet factored */
    size_t nr;            /* rows of R (in acc, and on top of the panel) that may be nonzero:
                             min(rows folded, p_aug) for the lapack kernel, else p_aug; the
                             rest of acc is zero and the panel's rows from nr on hold the
                             buffered rows */
    double *tau;          /* p_aug */
    double *tblk;         /* qr: dgeqrt's T, geqrt_block(p_aug) x p_aug */
    double *work;         /* dgeqrf (normal's gram_to_r) and dgeqrt (qr) workspace */
    size_t lwork;
    double *rrows;        /* qr, rows kernel: R, p_aug rows of ooc_tsqr_rows_stride(p_aug) */
    double *rpanel;       /* qr, rows kernel: panel_rows rows of the same stride */
    const double *rows;   /* current job */
    size_t nrows;
    ooc_status status;    /* result of the current job */
    ooc_error err;
    pthread_t thread;
    bool started;
    int lane_method;      /* method the thread's trace lane is named after; -1: unnamed */
} cpu_worker;

typedef struct cpu_ctx {
    int nthreads;
    size_t requested_panel_rows; /* from the options; 0: the kernel's default */
    ooc_cpu_qr_kernel requested_qr_kernel;
    ooc_gram_update_fn gram_update; /* normal's dsyrk: OpenBLAS's or BLIS's */
    char gram_blas[64];          /* which, for the reports */
    bool rows_kernel;            /* qr with the rows kernel in the current pass */
    int active;                  /* workers that take rows in the current pass (<= nthreads) */
    size_t panel_rows;           /* in force for the current pass (lapack kernel: >= 4 p_aug) */
    ooc_trace *trace;     /* may be NULL */
    ooc_method method;
    bool begun;
    cpu_worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t cv_job;
    pthread_cond_t cv_done;
    unsigned long generation;  /* bumped for every job */
    int pending;               /* helper workers still running the current job */
    bool quit;
} cpu_ctx;

typedef struct worker_arg {
    ooc_backend *be;
    int index;
} worker_arg;

/* dgeqrt's block size for p_aug columns.  Measured (CPU seconds of a fit,
 * 300k×201 and 60k×1001 h5py files, 2 cores, Intel Cooper Lake): at 201
 * columns nb 32 1.50 s, 64 1.58 s, 128 1.75 s, 256 1.95 s; at 1001 columns
 * 32 5.24 s, 64 5.05 s, 128 5.00 s, 256 5.38 s. */
static size_t geqrt_block(size_t p)
{
    size_t nb = p < 512 ? 32 : 64;
    return nb < p ? nb : p;
}

/* Columns from which finish() runs OpenBLAS on every worker's core. */
#define THREADED_FINISH_MIN_P 256

/* The workers parallelise over row ranges; OpenBLAS's own threads inside
 * their small calls only contend for the same cores (measured 2.8x slower
 * for 2.5M×13 TSQR on 2 cores), so BLAS runs single-threaded while they
 * accumulate.  This is a process-wide OpenBLAS setting, left alone when it is
 * already 1: setting it restarts the server threads the CLI stopped
 * (OpenBLAS 0.3.21; see host/cli/main.c). */
static void single_threaded_blas(const cpu_ctx *c)
{
    if (c->nthreads > 1 && openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

const char *ooc_method_name(ooc_method m)
{
    return m == OOC_METHOD_NORMAL ? "normal" : "qr";
}

/* Copy rows [0, m) of a row-major block into column-major dst (leading
 * dimension ldd, starting at row `row0`), scaling each row by √w. */
static void copy_rows_colmajor(const ooc_backend_layout *lay, const double *rows, size_t m,
                               double *dst, size_t ldd, size_t row0)
{
    for (size_t i = 0; i < m; i++) {
        const double *r = rows + i * lay->ld;
        double s = lay->weight_col >= 0 ? sqrt(r[lay->weight_col]) : 1.0;
        for (size_t j = 0; j < lay->p_aug; j++)
            dst[j * ldd + row0 + i] = r[j] * s;
    }
}

/* QR of the first m rows of the panel ([R; B], leading dimension ldp): the
 * new R, the upper trapezoid of its first min(m, p) rows, is stored in acc
 * (column-major p x p, upper) and w->nr becomes min(m, p).  acc's rows from
 * there on are not written: they are zero, since nr never decreases. */
static ooc_status qr_stack(cpu_worker *w, size_t p, size_t m, size_t ldp, ooc_error *err)
{
    size_t nb = geqrt_block(p);
    if (nb > m)
        nb = m;
    lapack_int info = LAPACKE_dgeqrt_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)p,
                                          (lapack_int)nb, w->panel, (lapack_int)ldp, w->tblk,
                                          (lapack_int)nb, w->work);
    if (info != 0)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "dgeqrt failed on a %zux%zu panel (info %d)", m,
                        p, (int)info);
    w->nr = m < p ? m : p;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j && i < w->nr; i++)
            w->acc[j * p + i] = w->panel[j * ldp + i];
    return OOC_OK;
}

/* Place the nr rows of R (upper part of acc) on top of the panel (leading
 * dimension ldp). */
static void put_r_on_top(const cpu_worker *w, size_t p, size_t ldp)
{
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < w->nr; i++)
            w->panel[j * ldp + i] = i <= j ? w->acc[j * p + i] : 0.0;
}

/* Factor the rows a qr worker has buffered (if any) into its R. */
static ooc_status flush_panel(cpu_ctx *c, cpu_worker *w, size_t p, ooc_error *err)
{
    if (w->fill == 0)
        return OOC_OK;
    size_t ldp = c->panel_rows + p;
    ooc_status st = qr_stack(w, p, w->nr + w->fill, ldp, err);
    if (st == OOC_OK)
        put_r_on_top(w, p, ldp);
    w->fill = 0;
    return st;
}

/* Row-major R (stride doubles per row) -> column-major p x p upper R in acc. */
static void rrows_to_acc(cpu_worker *w, size_t p)
{
    size_t stride = ooc_tsqr_rows_stride(p);
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            w->acc[j * p + i] = i <= j ? w->rrows[i * stride + j] : 0.0;
}

/* Column-major upper R in acc -> row-major R (zeros below the diagonal). */
static void acc_to_rrows(cpu_worker *w, size_t p)
{
    size_t stride = ooc_tsqr_rows_stride(p);
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            w->rrows[i * stride + j] = j >= i ? w->acc[j * p + i] : 0.0;
}

/* The rows kernel refused a panel (the m scaled rows in w->rpanel): factor
 * [R; panel] with dgeqrf and store the new R back in w->rrows. */
static ooc_status fold_panel_lapack(cpu_ctx *c, cpu_worker *w, size_t p, size_t m,
                                    ooc_error *err)
{
    size_t stride = ooc_tsqr_rows_stride(p), ldp = c->panel_rows + p;
    rrows_to_acc(w, p);
    put_r_on_top(w, p, ldp);
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < m; i++)
            w->panel[j * ldp + p + i] = w->rpanel[i * stride + j];
    ooc_status st = qr_stack(w, p, p + m, ldp, err);
    if (st == OOC_OK)
        acc_to_rrows(w, p);
    return st;
}

/* normal: rows [0, m) of a row-major block, each scaled by √w, into dst as
 * consecutive rows of p_aug doubles (column-major, that is the p_aug x m
 * matrix [X y]ᵀ that syrk takes). */
static void copy_rows_gram_panel(const ooc_backend_layout *lay, const double *rows, size_t m,
                                 double *dst)
{
    for (size_t i = 0; i < m; i++) {
        const double *r = rows + i * lay->ld;
        double s = lay->weight_col >= 0 ? sqrt(r[lay->weight_col]) : 1.0;
        for (size_t j = 0; j < lay->p_aug; j++)
            dst[i * lay->p_aug + j] = r[j] * s;
    }
}

/* normal: add the Gram of the rows a worker has gathered (if any) to its acc. */
static void flush_gram_panel(const cpu_ctx *c, cpu_worker *w, size_t p)
{
    if (w->fill == 0)
        return;
    c->gram_update((int)p, (int)w->fill, w->panel, (int)p, w->acc, (int)p);
    w->fill = 0;
}

/* Run one worker's share of a block.  qr buffers rows under R and factors a
 * panel only when panel_rows rows have gathered, so the work per row does not
 * grow when blocks are short (wide designs give short blocks). */
static ooc_status worker_run(ooc_backend *be, cpu_worker *w, ooc_error *err)
{
    cpu_ctx *c = be->ctx;
    const ooc_backend_layout *lay = &be->layout;
    size_t p = lay->p_aug;
    for (size_t done = 0; done < w->nrows;) {
        size_t m = w->nrows - done;
        const double *rows = w->rows + done * lay->ld;
        if (c->rows_kernel) {
            if (m > c->panel_rows)
                m = c->panel_rows;
            if (!ooc_tsqr_rows_fold(w->rrows, w->rpanel, p, rows, lay->ld, lay->weight_col, m)) {
                ooc_status st = fold_panel_lapack(c, w, p, m, err);
                if (st != OOC_OK)
                    return st;
            }
        } else if (c->method == OOC_METHOD_QR) {
            if (m > c->panel_rows - w->fill)
                m = c->panel_rows - w->fill;
            copy_rows_colmajor(lay, rows, m, w->panel, c->panel_rows + p, w->nr + w->fill);
            w->fill += m;
            if (w->fill == c->panel_rows) {
                ooc_status st = flush_panel(c, w, p, err);
                if (st != OOC_OK)
                    return st;
            }
        } else if (w->fill == 0 && (m >= c->panel_rows || m >= p) && lay->weight_col < 0) {
            /* a tall enough share: syrk reads the block in place (k >= p_aug
             * is enough work per update of the p_aug² Gram: gathering 655-row
             * shares at 201 columns measured 5% slower) */
            c->gram_update((int)p, (int)m, rows, (int)lay->ld, w->acc, (int)p);
        } else {
            if (m > c->panel_rows - w->fill)
                m = c->panel_rows - w->fill;
            copy_rows_gram_panel(lay, rows, m, w->panel + w->fill * p);
            w->fill += m;
            if (w->fill == c->panel_rows)
                flush_gram_panel(c, w, p);
        }
        done += m;
    }
    return OOC_OK;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    ooc_backend *be = wa->be;
    cpu_ctx *c = be->ctx;
    cpu_worker *w = &c->workers[wa->index];
    const int wa_index = wa->index;
    free(wa);
    unsigned long seen = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->quit && c->generation == seen)
            pthread_cond_wait(&c->cv_job, &c->mu);
        if (c->quit)
            break;
        seen = c->generation;
        pthread_mutex_unlock(&c->mu);
        if (c->trace && w->lane_method != (int)c->method) {
            char lane[32];
            snprintf(lane, sizeof lane, "%s worker %d",
                     c->method == OOC_METHOD_QR ? "qr" : "syrk", wa_index);
            ooc_trace_name_thread(c->trace, lane);
            w->lane_method = (int)c->method;
        }
        ooc_trace_token span = ooc_trace_begin(c->trace, OOC_STAGE_ACCUMULATE);
        w->status = worker_run(be, w, &w->err);
        ooc_trace_end_bytes(c->trace, span, (uint64_t)w->nrows * be->layout.ld * sizeof(double));
        pthread_mutex_lock(&c->mu);
        if (--c->pending == 0)
            pthread_cond_signal(&c->cv_done);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void free_worker_buffers(cpu_worker *w)
{
    free(w->acc);
    free(w->panel);
    free(w->tau);
    free(w->tblk);
    free(w->work);
    free(w->rrows);
    free(w->rpanel);
    w->acc = w->panel = w->tau = w->tblk = w->work = w->rrows = w->rpanel = NULL;
}

static ooc_status cpu_begin(ooc_backend *be, const ooc_backend_layout *layout, ooc_method method,
                            ooc_error *err)
{
    cpu_ctx *c = be->ctx;
    if (layout->p_aug == 0 || layout->ld < layout->p_aug ||
        (layout->weight_col >= 0 && (size_t)layout->weight_col >= layout->ld) ||
        layout->p_aug > 46000)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "cpu backend: bad block layout (p_aug %zu, row length %zu, weight column %ld)",
                        layout->p_aug, layout->ld, layout->weight_col);
    if (method != OOC_METHOD_QR && method != OOC_METHOD_NORMAL)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED, "cpu backend: unknown method %d", (int)method);
    be->layout = *layout;
    c->method = method;
    size_t p = layout->p_aug;
    single_threaded_blas(c);
    c->rows_kernel = false;
    if (method == OOC_METHOD_QR) {
        bool fits = p <= ooc_tsqr_rows_max_p();
        if (c->requested_qr_kernel == OOC_CPU_QR_ROWS && !fits)
            return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                            "cpu backend: the rows qr kernel takes at most %zu columns on this "
                            "CPU (%s), not %zu",
                            ooc_tsqr_rows_max_p(), ooc_tsqr_rows_isa(), p);
        c->rows_kernel = c->requested_qr_kernel != OOC_CPU_QR_LAPACK && fits;
    }
    /* lapack kernel: at least 4p rows per panel, since stacking R (p rows) over
     * the panel costs about (p + panel_rows) / panel_rows times the minimum
     * work.  The final merge stacks p rows under R, so panels hold at least p
     * rows with either kernel. */
    size_t panel_rows = c->requested_panel_rows ? c->requested_panel_rows
                        : c->rows_kernel        ? 256
                                                : 2048;
    /* The rows kernel folds about 40M rows of 13 columns per second on one
     * thread, faster than ~8 cores decode them, so it runs on the calling
     * thread alone unless there are many workers: splitting each block and
     * waking a helper measured slower on 2 cores (0.46 vs 0.45 s, W1). */
    c->active = c->rows_kernel ? (c->nthreads + 7) / 8 : c->nthreads;
    size_t min_rows = c->rows_kernel ? p : 4 * p;
    if (panel_rows < min_rows)
        panel_rows = min_rows;
    c->panel_rows = panel_rows;
    for (int t = 0; t < c->nthreads; t++) {
        cpu_worker *w = &c->workers[t];
        free_worker_buffers(w);
        w->acc = calloc(p * p, sizeof(double));
        w->panel = calloc((panel_rows + p) * p, sizeof(double));
        w->fill = 0;
        w->nr = method == OOC_METHOD_QR && !c->rows_kernel ? 0 : p;
        w->tau = malloc(p * sizeof(double));
        /* qr stacks go through dgeqrt with either kernel (the rows kernel's
         * refused panels too) */
        if (method == OOC_METHOD_QR)
            w->tblk = malloc(geqrt_block(p) * p * sizeof(double));
        if (c->rows_kernel) {
            w->rrows = ooc_tsqr_rows_alloc(p, p);
            w->rpanel = ooc_tsqr_rows_alloc(panel_rows, p);
        }
        if (!w->acc || !w->panel || !w->tau || (method == OOC_METHOD_QR && !w->tblk) ||
            (c->rows_kernel && (!w->rrows || !w->rpanel)))
            return OOC_FAIL(err, OOC_ERR_NOMEM, "cpu backend: out of memory for %zu columns", p);
        double query = 0.0;
        lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)(panel_rows + p),
                                              (lapack_int)p, w->panel,
                                              (lapack_int)(panel_rows + p), w->tau, &query, -1);
        if (info != 0)
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "dgeqrf workspace query failed (info %d)",
                            (int)info);
        /* dgeqrf's (gram_to_r), and dgeqrt's geqrt_block(p_aug) x p_aug */
        size_t geqrt_work = geqrt_block(p) * p;
        w->lwork = (size_t)query > geqrt_work ? (size_t)query : geqrt_work;
        w->work = malloc(w->lwork * sizeof(double));
        if (!w->work)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "cpu backend: out of memory for workspace");
    }
    c->begun = true;
    return OOC_OK;
}

static ooc_status cpu_accumulate(ooc_backend *be, const double *rows, size_t nrows,
                                 ooc_error *err)
{
    cpu_ctx *c = be->ctx;
    if (!c->begun)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "cpu backend: accumulate before begin");
    if (nrows == 0)
        return OOC_OK;
    int parts = c->active;
    if ((size_t)parts > nrows)
        parts = (int)nrows;
    size_t per = nrows / (size_t)parts, extra = nrows % (size_t)parts, start = 0;
    for (int t = 0; t < c->nthreads; t++) {
        size_t n = t < parts ? per + ((size_t)t < extra ? 1 : 0) : 0;
        c->workers[t].rows = rows + start * be->layout.ld;
        c->workers[t].nrows = n;
        c->workers[t].status = OOC_OK;
        memset(&c->workers[t].err, 0, sizeof c->workers[t].err);
        start += n;
    }
    const bool helpers = c->active > 1;
    if (helpers) {
        pthread_mutex_lock(&c->mu);
        c->pending = c->nthreads - 1;
        c->generation++;
        pthread_cond_broadcast(&c->cv_job);
        pthread_mutex_unlock(&c->mu);
    }
    ooc_status st = worker_run(be, &c->workers[0], err);
    if (helpers) {
        pthread_mutex_lock(&c->mu);
        while (c->pending > 0)
            pthread_cond_wait(&c->cv_done, &c->mu);
        pthread_mutex_unlock(&c->mu);
    }
    for (int t = 1; t < c->nthreads && st == OOC_OK; t++) {
        if (c->workers[t].status != OOC_OK) {
            st = c->workers[t].status;
            if (err)
                *err = c->workers[t].err;
        }
    }
    return st;
}

/* Whether the upper triangle of a worker's acc (its nr rows) is finite. */
static bool all_finite(const cpu_worker *w, size_t p)
{
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j && i < w->nr; i++)
            if (!isfinite(w->acc[j * p + i]))
                return false;
    return true;
}

/* normal: Gram (upper, column-major, in w0->acc) -> R in w0->acc. */
static ooc_status gram_to_r(cpu_worker *w0, size_t p, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double *g = w0->acc;
    double *scale = malloc(p * sizeof(double));
    lapack_int *piv = malloc(p * sizeof(lapack_int));
    double *m = calloc(p * p, sizeof(double));
    OOC_FAIL_IF(!scale || !piv || !m, err, OOC_ERR_NOMEM, "cpu backend: out of memory");
    for (size_t j = 0; j < p; j++)
        scale[j] = g[j * p + j] > 0.0 ? sqrt(g[j * p + j]) : 1.0;
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j; i++)
            g[j * p + i] /= scale[i] * scale[j];
    lapack_int rank = 0;
    lapack_int info = LAPACKE_dpstrf(LAPACK_COL_MAJOR, 'U', (lapack_int)p, g, (lapack_int)p, piv,
                                     &rank, -1.0);
    OOC_FAIL_IF(info < 0, err, OOC_ERR_INTERNAL, "dpstrf: bad argument %d", (int)-info);
    /* A = P UᵀU Pᵀ: column piv[k] of U·Pᵀ is column k of U; rows >= rank are zero. */
    for (size_t k = 0; k < p; k++) {
        size_t col = (size_t)piv[k] - 1;
        for (size_t i = 0; i <= k && i < (size_t)rank; i++)
            m[col * p + i] = g[k * p + i] * scale[col];
    }
    /* only its first `rank` rows are nonzero: O(rank²·p), not O(p³) */
    lapack_int qinfo = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, rank, (lapack_int)p, m,
                                           (lapack_int)p, w0->tau, w0->work,
                                           (lapack_int)w0->lwork);
    OOC_FAIL_IF(qinfo != 0, err, OOC_ERR_INTERNAL, "dgeqrf failed (info %d)", (int)qinfo);
    memset(g, 0, p * p * sizeof(double));
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i <= j && i < (size_t)rank; i++)
            g[j * p + i] = m[j * p + i];
out:
    free(scale);
    free(piv);
    free(m);
    return status;
}

/* qr: r_aug = the active workers' triangles (their nr nonzero rows) merged
 * into worker 0's, in finish()'s output form. */
static ooc_status merge_workers(const cpu_ctx *c, size_t p, double *r_aug, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t nr = c->workers[0].nr;
    double *rt = NULL;
    ooc_triangle_emit_nonneg(c->workers[0].acc, p, p, nr, r_aug, p);
    if (c->active > 1) {
        rt = malloc(p * p * sizeof(double));
        OOC_FAIL_IF(!rt, err, OOC_ERR_NOMEM, "cpu backend: out of memory");
    }
    for (int t = 1; t < c->active; t++) {
        const cpu_worker *wt = &c->workers[t];
        ooc_triangle_emit_nonneg(wt->acc, p, p, wt->nr, rt, p);
        OOC_CHECK(ooc_triangle_merge(r_aug, p, nr, rt, p, wt->nr, p, err));
        nr = nr + wt->nr < p ? nr + wt->nr : p;
    }
out:
    free(rt);
    return status;
}

static ooc_status cpu_finish(ooc_backend *be, double *r_aug, ooc_error *err)
{
    cpu_ctx *c = be->ctx;
    if (!c->begun)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "cpu backend: finish before begin");
    size_t p = be->layout.p_aug;
    cpu_worker *w0 = &c->workers[0];
    /* The workers are idle from here on: the O(p³) work that follows (here,
     * and the caller's factorizations of the triangle) may use every worker's
     * core through OpenBLAS's threads.  Only for wide designs: the threads
     * spin for ~0.1 CPU s after use (host/cli/main.c), more than the whole
     * finish costs at small p.  begin() sets one thread again. */
    if (c->nthreads > 1 && p >= THREADED_FINISH_MIN_P)
        openblas_set_num_threads(c->nthreads);
    /* workers past c->active took no rows: their triangles are zero */
    if (c->rows_kernel)
        for (int t = 0; t < c->active; t++)
            rrows_to_acc(&c->workers[t], p);
    else if (c->method == OOC_METHOD_QR)
        for (int t = 0; t < c->active; t++) {
            ooc_status st = flush_panel(c, &c->workers[t], p, err);
            if (st != OOC_OK)
                return st;
        }
    else
        for (int t = 0; t < c->active; t++)
            flush_gram_panel(c, &c->workers[t], p);
    for (int t = 0; t < c->active; t++)
        if (!all_finite(&c->workers[t], p))
            return OOC_FAIL(err, OOC_ERR_NUMERIC,
                            "the accumulated %s factor is not finite: the data contain NaN or "
                            "Inf, or values too large to square",
                            ooc_method_name(c->method));
    if (c->method == OOC_METHOD_QR) {
        ooc_status st = merge_workers(c, p, r_aug, err);
        if (st != OOC_OK)
            return st;
    } else {
        for (int t = 1; t < c->active; t++)
            for (size_t j = 0; j < p; j++)
                for (size_t i = 0; i <= j; i++)
                    w0->acc[j * p + i] += c->workers[t].acc[j * p + i];
        ooc_status st = gram_to_r(w0, p, err);
        if (st != OOC_OK)
            return st;
        ooc_triangle_emit_nonneg(w0->acc, p, p, p, r_aug, p);
    }
    c->begun = false;
    return OOC_OK;
}

static void cpu_destroy(ooc_backend *be)
{
    cpu_ctx *c = be->ctx;
    if (!c)
        return;
    if (c->workers) {
        pthread_mutex_lock(&c->mu);
        c->quit = true;
        pthread_cond_broadcast(&c->cv_job);
        pthread_mutex_unlock(&c->mu);
        for (int t = 0; t < c->nthreads; t++) {
            if (c->workers[t].started)
                pthread_join(c->workers[t].thread, NULL);
            free_worker_buffers(&c->workers[t]);
        }
        free(c->workers);
    }
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv_job);
    pthread_cond_destroy(&c->cv_done);
    free(c);
    be->ctx = NULL;
}

static const ooc_backend_ops cpu_ops = {
    .begin = cpu_begin,
    .accumulate = cpu_accumulate,
    .finish = cpu_finish,
    .project = NULL,
    .destroy = cpu_destroy,
};

int ooc_cpu_backend_threads(int requested)
{
    return requested > 0 ? requested : 2;
}

const char *ooc_cpu_backend_gram_blas(const ooc_backend *be)
{
    return be && be->ops == &cpu_ops ? ((const cpu_ctx *)be->ctx)->gram_blas : NULL;
}

ooc_status ooc_cpu_backend_create(const ooc_cpu_backend_options *opts, ooc_backend **out,
                                  ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    ooc_backend *be = calloc(1, sizeof *be);
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "cpu backend: out of memory");
    }
    be->ops = &cpu_ops;
    be->ctx = c;
    be->caps = (ooc_backend_caps){
        .name = "cpu",
        .supports_qr = true,
        .supports_normal = true,
        .wants_pinned_memory = false,
        .allocator = ooc_default_allocator,
    };
    c->nthreads = ooc_cpu_backend_threads(opts ? opts->nthreads : 0);
    single_threaded_blas(c);
    c->requested_panel_rows = opts ? opts->panel_rows : 0;
    c->requested_qr_kernel = opts ? opts->qr_kernel : OOC_CPU_QR_AUTO;
    c->trace = opts ? opts->trace : NULL;
    status = ooc_gram_update_choose(opts ? opts->gram_blas : OOC_CPU_GRAM_AUTO, &c->gram_update,
                                    c->gram_blas, sizeof c->gram_blas, err);
    if (status != OOC_OK)
        goto out;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv_job, NULL);
    pthread_cond_init(&c->cv_done, NULL);
    c->workers = calloc((size_t)c->nthreads, sizeof *c->workers);
    OOC_FAIL_IF(!c->workers, err, OOC_ERR_NOMEM, "cpu backend: out of memory");
    for (int t = 0; t < c->nthreads; t++)
        c->workers[t].lane_method = -1;
    for (int t = 1; t < c->nthreads; t++) {
        worker_arg *wa = malloc(sizeof *wa);
        OOC_FAIL_IF(!wa, err, OOC_ERR_NOMEM, "cpu backend: out of memory");
        wa->be = be;
        wa->index = t;
        int rc = pthread_create(&c->workers[t].thread, NULL, worker_main, wa);
        if (rc != 0) {
            free(wa);
            status = OOC_FAIL(err, OOC_ERR_INTERNAL, "cpu backend: cannot start worker thread: %s",
                              strerror(rc));
            goto out;
        }
        c->workers[t].started = true;
    }
    *out = be;
out:
    if (status != OOC_OK)
        ooc_backend_free(be);
    return status;
}
