/*
 * backend.h — the accumulator seam: a struct of function pointers plus a
 * private context (ggml-style), implemented by the CPU (backend_cpu.c) and,
 * later, by a CUDA backend in device/.
 *
 * One pass over the data:
 *     be->ops->begin(be, &layout, method, err);
 *     for each block:  be->ops->accumulate(be, block->data, block->nrows, err);
 *     be->ops->finish(be, r_aug, err);      -> (p_aug x p_aug) upper triangle on the host
 * The triangle R_aug satisfies R_augᵀR_aug = [X y]ᵀW[X y] (W = diag(w) when the
 * layout names a weight column), so with R_aug = [[R, z], [0, ρ]]: β = R⁻¹z,
 * RSS = ρ², and the singular values of W^½X are those of R.
 *
 * The optional second-pass operation (NULL: the dispatcher in fit.c computes
 * it on the host with BLAS) takes the same host blocks and small host
 * matrices; optional finalize operations (triangular solve, SVD of the
 * triangle; NULL: host LAPACK) take small host matrices after finish().  The
 * HC covariance's second pass is host code (fit.c), in the basis R gives.
 *
 * Blocks are host pointers to row-major rows with `layout.ld` doubles per row
 * (the source's [X y w] layout); the first p_aug values of a row are the
 * columns to accumulate.  Backends never keep a block pointer after the call
 * returns.  A backend is used from one thread at a time.
 */
#ifndef OOC_BACKEND_H
#define OOC_BACKEND_H

#include "oocsolve.h"
#include "stream/source.h"

#include <stddef.h>

/* How the triangle is accumulated. */
typedef enum ooc_method {
    OOC_METHOD_QR = 0,     /* Q-less TSQR of [X y]: stable (error ~ cond(X)·eps) */
    OOC_METHOD_NORMAL = 1  /* Gram [X y]ᵀ[X y] by SYRK + Cholesky: fast (error ~ cond(X)²·eps) */
} ooc_method;

/* "qr" / "normal". */
const char *ooc_method_name(ooc_method m);

/* What a backend can do, described as data. */
typedef struct ooc_backend_caps {
    const char *name;            /* "cpu", "cuda", ... */
    bool supports_qr;
    bool supports_normal;
    bool wants_pinned_memory;    /* ring buffers should come from `allocator` */
    ooc_allocator allocator;     /* allocator for ring buffers (pinned for GPUs) */
} ooc_backend_caps;

/* Shape of the blocks handed to accumulate(). */
typedef struct ooc_backend_layout {
    size_t p_aug;      /* columns accumulated: p columns of X plus y (1 <= p_aug) */
    size_t ld;         /* doubles per row of a block (>= p_aug) */
    long weight_col;   /* column of the row holding the weight w >= 0 (rows are scaled by √w), or -1 */
} ooc_backend_layout;

typedef struct ooc_backend ooc_backend;

typedef struct ooc_backend_ops {
    /* Start a pass (resets any previous accumulation).  Required.
     * Errors: OOC_ERR_UNSUPPORTED (method), OOC_ERR_INVALID_ARG, OOC_ERR_NOMEM. */
    ooc_status (*begin)(ooc_backend *be, const ooc_backend_layout *layout, ooc_method method,
                        ooc_error *err);
    /* Add nrows rows (row-major, layout.ld apart).  Required. */
    ooc_status (*accumulate)(ooc_backend *be, const double *rows, size_t nrows, ooc_error *err);
    /* Write the p_aug x p_aug upper triangle (row-major, zeros below the
     * diagonal, non-negative diagonal) into r_aug.  Required.
     * Errors: OOC_ERR_NUMERIC when the factorisation fails. */
    ooc_status (*finish)(ooc_backend *be, double *r_aug, ooc_error *err);
    /* Optional, second pass (SVD vectors): out = X_rows · M, X_rows the first p
     * values of each row (scaled by √w when weighted), M p x k row-major,
     * out nrows x k row-major.  NULL: host default (dgemm). */
    ooc_status (*project)(ooc_backend *be, const double *rows, size_t nrows, const double *m,
                          size_t k, double *out, ooc_error *err);
    /* Optional, finalize: solve R x = b in place (rhs_inout: b in, x out) for
     * the k x k upper triangle R stored row-major with leading dimension ld
     * (>= k); entries below the diagonal are not read.  No check for a zero
     * diagonal (like dtrsv): callers pass a triangle of full rank.  Called after
     * finish(), independent of the pass state.  NULL: host default (dtrsv).
     * Errors: OOC_ERR_BACKEND, OOC_ERR_NOMEM. */
    ooc_status (*solve_triangle)(ooc_backend *be, const double *r, size_t k, size_t ld,
                                 double *rhs_inout, ooc_error *err);
    /* Optional, finalize: singular values (descending, into sigma[k]) of the
     * k x k upper triangle R stored row-major with leading dimension ld (>= k);
     * entries below the diagonal are taken as zero.  When vt is not NULL it
     * receives Vᵀ (k x k row-major, R = UΣVᵀ).  Called after finish(),
     * independent of the pass state.  NULL: host default (dgesdd).
     * Errors: OOC_ERR_NUMERIC (the SVD did not converge), OOC_ERR_BACKEND,
     * OOC_ERR_NOMEM. */
    ooc_status (*svd_triangle)(ooc_backend *be, const double *r, size_t k, size_t ld,
                               double *sigma, double *vt, ooc_error *err);
    /* Free the backend's context (not the ooc_backend itself; see ooc_backend_free). */
    void (*destroy)(ooc_backend *be);
} ooc_backend_ops;

struct ooc_backend {
    const ooc_backend_ops *ops;
    ooc_backend_caps caps;
    ooc_backend_layout layout;   /* set by begin() */
    void *ctx;                   /* private to the implementation */
};

/* Which kernel the CPU backend's qr method uses (see backend_cpu.c). */
typedef enum ooc_cpu_qr_kernel {
    OOC_CPU_QR_AUTO = 0,   /* rows when p_aug <= ooc_tsqr_rows_max_p(), else lapack */
    OOC_CPU_QR_ROWS = 1,   /* row-major Householder (tsqr_rows.c); begin() fails beyond its width */
    OOC_CPU_QR_LAPACK = 2  /* dgeqrf on [R; column-major panel] */
} ooc_cpu_qr_kernel;

/* Options of the CPU backend. */
typedef struct ooc_cpu_backend_options {
    int nthreads;        /* worker threads, each owning a partial triangle; 0: 2 */
    size_t panel_rows;   /* rows per QR panel / SYRK call; 0: 256 for the rows kernel, else 2048 */
    ooc_cpu_qr_kernel qr_kernel; /* 0: auto */
    ooc_trace *trace;    /* "accumulate" spans of the helper threads ("qr worker N" /
                          * "syrk worker N"); may be NULL, must outlive the backend */
} ooc_cpu_backend_options;

/* Worker threads the CPU backend runs for `requested` (its options'
 * nthreads): requested when positive, else 2. */
int ooc_cpu_backend_threads(int requested);

/* Create the CPU backend (OpenBLAS + LAPACKE).  opts may be NULL (defaults).
 * The backend owns its worker threads; free with ooc_backend_free.
 * Errors: OOC_ERR_NOMEM, OOC_ERR_INTERNAL (thread creation). */
ooc_status ooc_cpu_backend_create(const ooc_cpu_backend_options *opts, ooc_backend **out,
                                  ooc_error *err);

/* Destroy a backend.  NULL is a no-op. */
void ooc_backend_free(ooc_backend *be);

#endif
