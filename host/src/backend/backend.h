/*
 * backend.h — the accumulator seam: a struct of function pointers plus a
 * private context (ggml-style), implemented by the CPU (backend_cpu.c) and
 * by the CUDA backend in device/.
 *
 * One pass over the data:
 *     be->ops->begin(be, &layout, method, err);
 *     for each block:  be->ops->accumulate(be, block->data, block->nrows, err);
 *     be->ops->finish(be, r_aug, err);      -> (p_aug x p_aug) upper triangle on the host
 * The triangle R_aug satisfies R_augᵀR_aug = [X y]ᵀW[X y] (W = diag(w) when the
 * layout names a weight column), so with R_aug = [[R, z], [0, ρ]]: β = R⁻¹z,
 * RSS = ρ², and the singular values of W^½X are those of R.
 *
 * The optional second-pass operation (NULL: host BLAS) takes the same host
 * blocks and small host matrices; optional finalize operations (triangular
 * solve, SVD of the triangle; NULL: host LAPACK) take small host matrices
 * after finish().  Callers reach them through ooc_backend_project /
 * _solve_triangle / _svd_triangle (end of this file), which supply the host
 * defaults.  The HC covariance's second pass is host code
 * (solve/second_passes.c), in the basis R gives.
 *
 * Blocks are host pointers to row-major rows with `layout.ld` doubles per row
 * (the source's [X y w] layout); the first p_aug values of a row are the
 * columns to accumulate.  Backends never keep a block pointer after the call
 * returns.  A backend is used from one thread at a time.
 */
#ifndef OOC_BACKEND_H
#define OOC_BACKEND_H

#include "backend/block_scan.h"
#include "oocsolve.h"
#include "stream/source.h"

#include <stddef.h>

/* What a backend can do, described as data. */
typedef struct ooc_backend_caps {
    const char *name;            /* "cpu", "cuda", ... */
    bool supports_qr;
    bool supports_normal;
    bool wants_pinned_memory;    /* ring buffers should come from `allocator` */
    ooc_allocator allocator;     /* allocator for ring buffers (pinned for GPUs) */
    unsigned raw_codecs;         /* raw chunks accumulate_raw decodes (OOC_RAW_ZLIB, source.h);
                                  * 0: blocks must come decoded */
    bool raw_requested;          /* the user asked for decoding in the backend (--gpu-decode on):
                                  * a source that cannot hand chunks over says why in a note */
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
    /* Optional (NULL, or caps.raw_codecs 0: never called): decode the chunks of
     * a raw block (source.h) of nrows rows in the backend, scan the decoded
     * rows (layout.ld doubles apart) as spec says into scan_out
     * (OOC_SCAN_WIDTH(spec->p) doubles, block_scan.h's order) and add them,
     * without copying them back.  When the scan finds a non-finite value or
     * an invalid weight (ooc_scan_bad), no row is added and the decoded rows
     * are written into rows_out (nrows · ld doubles) for the caller's message.
     * A chunk that does not decode (bad zlib header, corrupt stream, wrong
     * size, Adler-32 mismatch) is OOC_ERR_CORRUPT naming it (raw->describe),
     * and no row of its block is added.  Errors: OOC_ERR_CORRUPT,
     * OOC_ERR_BACKEND, OOC_ERR_NOMEM. */
    ooc_status (*accumulate_raw)(ooc_backend *be, const ooc_raw_block *raw, size_t nrows,
                                 const ooc_scan_spec *spec, double *scan_out, double *rows_out,
                                 ooc_error *err);
    /* Free the backend's context (not the ooc_backend itself; see ooc_backend_free). */
    void (*destroy)(ooc_backend *be);
} ooc_backend_ops;

struct ooc_backend {
    const ooc_backend_ops *ops;
    ooc_backend_caps caps;
    ooc_backend_layout layout;   /* set by begin() */
    void *ctx;                   /* private to the implementation */
    void *pass_owner;            /* the accumulator whose pass is open, or NULL: host
                                  * bookkeeping (solve/accumulator.c), zeroed by the creator */
};

/* --gpu-decode: where a deflate (+shuffle) HDF5 design's chunks are
 * inflated during the accumulation pass. */
typedef enum ooc_gpu_decode {
    OOC_GPU_DECODE_AUTO = 0,   /* on the GPU when the backend can (nvCOMP, one GPU) */
    OOC_GPU_DECODE_ON = 1,     /* on the GPU; creating the backend fails when it cannot */
    OOC_GPU_DECODE_OFF = 2     /* on the host's decode workers */
} ooc_gpu_decode;

/* Which kernel the CPU backend's qr method uses (see backend_cpu.c). */
typedef enum ooc_cpu_qr_kernel {
    OOC_CPU_QR_AUTO = 0,   /* rows when p_aug <= ooc_tsqr_rows_max_p(), else lapack */
    OOC_CPU_QR_ROWS = 1,   /* row-major Householder (tsqr_rows.c); begin() fails beyond its width */
    OOC_CPU_QR_LAPACK = 2  /* dgeqrf on [R; column-major panel] */
} ooc_cpu_qr_kernel;

/* Which library runs the CPU backend's Gram (method normal's dsyrk). */
typedef enum ooc_cpu_gram_blas {
    OOC_CPU_GRAM_AUTO = 0,     /* BLIS where OpenBLAS runs kernels written for older CPUs
                                * (ooc_blas_core_warning) and BLIS loads, else OpenBLAS */
    OOC_CPU_GRAM_OPENBLAS = 1,
    OOC_CPU_GRAM_BLIS = 2      /* create() fails when BLIS does not load */
} ooc_cpu_gram_blas;

/* "auto", "openblas", "blis" → *out; false for any other text. */
bool ooc_cpu_gram_blas_parse(const char *text, ooc_cpu_gram_blas *out);

/* Options of the CPU backend. */
typedef struct ooc_cpu_backend_options {
    int nthreads;        /* worker threads, each owning a partial triangle; 0: 2 */
    size_t panel_rows;   /* rows per QR panel / SYRK call; 0: 256 for the rows kernel, else 2048 */
    ooc_cpu_qr_kernel qr_kernel; /* 0: auto */
    ooc_cpu_gram_blas gram_blas; /* 0: auto */
    ooc_trace *trace;    /* "accumulate" spans of the helper threads ("qr worker N" /
                          * "syrk worker N"); may be NULL, must outlive the backend */
} ooc_cpu_backend_options;

/* Worker threads the CPU backend runs for `requested` (its options'
 * nthreads): requested when positive, else 2. */
int ooc_cpu_backend_threads(int requested);

/* Create the CPU backend (OpenBLAS + LAPACKE).  opts may be NULL (defaults).
 * The backend owns its worker threads; free with ooc_backend_free.
 * Errors: OOC_ERR_NOMEM, OOC_ERR_INTERNAL (thread creation),
 * OOC_ERR_UNSUPPORTED (gram_blas BLIS, and BLIS does not load: the reason). */
ooc_status ooc_cpu_backend_create(const ooc_cpu_backend_options *opts, ooc_backend **out,
                                  ooc_error *err);

/* The library that runs a CPU backend's Gram, for the reports: "openblas
 * (Cooperlake)" or "blis 0.9.0 (zen3)"; owned by the backend.  NULL when be
 * is not the CPU backend. */
const char *ooc_cpu_backend_gram_blas(const ooc_backend *be);

/* ===================================================================== *
 * Calling a backend: optional operations resolved here (backend.c).       *
 * Callers use these, not be->ops->project / solve_triangle /             *
 * svd_triangle: each calls the backend's op when it has one, else the    *
 * host default with BLAS/LAPACK.  The triangle helpers are shared by the *
 * accumulators (CPU and CUDA) and by callers that merge saved triangles. *
 * backend.c also defines ooc_backend_free (declared in oocsolve.h).      *
 * ===================================================================== */

/* out = X_rows · M (second pass of the SVD vectors): X_rows the first p =
 * be->layout.p_aug values of each of the nrows rows (layout.ld doubles
 * apart, scaled by √w when the layout names a weight column), M p x k
 * row-major, out nrows x k row-major.  The backend's project op, else
 * dgemm on the host (weighted rows are first scaled into a temporary
 * nrows x p copy).  Errors: OOC_ERR_NOMEM (that copy), the op's. */
ooc_status ooc_backend_project(ooc_backend *be, const double *rows, size_t nrows, const double *m,
                               size_t k, double *out, ooc_error *err);

/* The backend's accumulate_raw (see ooc_backend_ops); OOC_ERR_UNSUPPORTED
 * when it has none, so callers put a source in raw mode only for a backend
 * whose caps.raw_codecs say it decodes (host decoding is the fallback). */
ooc_status ooc_backend_accumulate_raw(ooc_backend *be, const ooc_raw_block *raw, size_t nrows,
                                      const ooc_scan_spec *spec, double *scan_out,
                                      double *rows_out, ooc_error *err);

/* Solve R x = b in place (rhs_inout: b in, x out) for the k x k upper
 * triangle R, row-major with leading dimension ld (>= k); entries below the
 * diagonal are not read, and no zero diagonal is checked for (like dtrsv).
 * k == 0 does nothing.  The backend's solve_triangle op, else dtrsv on the
 * host.  Errors: the op's (OOC_ERR_BACKEND, OOC_ERR_NOMEM). */
ooc_status ooc_backend_solve_triangle(ooc_backend *be, const double *r, size_t k, size_t ld,
                                      double *rhs_inout, ooc_error *err);

/* Singular values of the m x p upper trapezoid A (m <= p): the first m rows,
 * row-major with leading dimension ld (>= p), of a p x p upper triangle
 * whose rows from m on are zero.  Entries below the diagonal are taken as
 * zero.  sigma gets p values: the m singular values, descending, then zeros;
 * vt, when not NULL, the first m rows of Vᵀ (m x p row-major, leading
 * dimension p; A = UΣVᵀ).  The full triangle (m == p) goes to the backend's
 * svd_triangle op when it has one; otherwise (no op, or m < p) dgesdd runs
 * on the host in O(m²p).  A is workspace: the host path overwrites it
 * (the op path leaves it), so pass a copy you own.  m == 0 only zeroes
 * sigma.  Errors: OOC_ERR_NOMEM, OOC_ERR_NUMERIC (the SVD did not
 * converge), OOC_ERR_INTERNAL (dgesdd refused an argument), the op's. */
ooc_status ooc_backend_svd_triangle(ooc_backend *be, double *a, size_t m, size_t p, size_t ld,
                                    double *sigma, double *vt, ooc_error *err);

/* Write R in finish()'s output form: the upper triangle of the p x p
 * column-major matrix a (leading dimension lda) into out, row-major with
 * leading dimension ldo, each row negated where its diagonal is negative
 * (a non-negative diagonal: the R of RᵀR is then unique for full rank) and
 * zeros below the diagonal.  Only a's first nr rows are read; out's rows
 * from nr on are zero.  Only the p columns of each row of out are written. */
void ooc_triangle_emit_nonneg(const double *a, size_t lda, size_t p, size_t nr, double *out,
                              size_t ldo);

/* Merge the upper triangle R2 into R: afterwards R is the R factor of the
 * stacked [R1; R2] (R1 being R's value on entry), so RᵀR = R1ᵀR1 + R2ᵀR2.
 * Both are p x p upper triangles, row-major, with leading dimensions ldr
 * and ld2 (>= p); only their first m1 and m2 rows are read (pass p when the
 * triangle is full; fewer when it came from fewer rows than columns and
 * its later rows are zero: the merge then costs O((m1+m2)·p²) instead of
 * O(p³)), and entries below the diagonal are taken as zero.  On success R
 * has finish()'s output form: its first min(m1 + m2, p) rows hold the
 * merged triangle with a non-negative diagonal, zeros below the diagonal
 * and in the rows after.  Computed on the host (as the accumulators' own
 * panels are): by dtpqrt (R1 over R2) when m1 + m2 >= p, else as the dgeqrf
 * of the (m1+m2) x p stack.  m2 == 0 only brings
 * R to that form.  Errors: OOC_ERR_INVALID_ARG (m1 or m2 > p, a leading
 * dimension < p), OOC_ERR_NOMEM, OOC_ERR_INTERNAL (LAPACK failed); R is
 * unchanged on error. */
ooc_status ooc_triangle_merge(double *r, size_t ldr, size_t m1, const double *r2, size_t ld2,
                              size_t m2, size_t p, ooc_error *err);

#endif
