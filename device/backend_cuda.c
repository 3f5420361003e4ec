/*
 * backend_cuda.c — the accumulator seam (backend.h) on NVIDIA GPUs with the
 * CUDA runtime, cuBLAS and cuSOLVER (64-bit generic API).  Plain C against
 * the runtime API; the only kernels are the optional GPU decoder's
 * (decode_launch.h, with OOC_HAVE_NVCOMP: accumulate_raw inflates an HDF5
 * source's deflate chunks with nvCOMP, see cuda_accumulate_raw).
 *
 * Per device: a copy stream, a compute stream, two staging slots (device
 * block buffer + √w vector, events `copied` and `consumed`).  accumulate()
 * splits a block into chunks of at most panel_rows rows and deals the chunks
 * round-robin over the devices.  For one chunk on one device:
 *
 *   host: wait `consumed` of the slot (the chunk two before on this device),
 *         check that chunk's devInfo; compute √w of the rows (weighted)
 *   copy stream:    wait consumed[slot]; H2D rows (+ √w) ; record copied[slot]
 *   compute stream: wait copied[slot]; update; D2H devInfo; record consumed[slot]
 *   host: cudaEventSynchronize(copied[slot]), then return
 *
 * So accumulate() returns as soon as the chunk's bytes are on the device (the
 * caller may then refill the host buffer) while the chunk's update, and the
 * update of the chunk before it, still run on the compute stream: the H2D
 * copy of chunk k overlaps the update of chunk k-1, and the update of chunk k
 * overlaps the host producing block k+1.  Two slots bound the work in flight.
 * Defining OOC_CUDA_TEST_SKIP_COPY_WAIT (tests only) drops the final
 * cudaEventSynchronize: a planted race the emulator must expose.
 *
 *  - normal: cublasDsyrk(Upper, NoTrans, n=p_aug, k=rows, lda=ld) on the
 *    row-major chunk read as the column-major p_aug x rows matrix [X y]ᵀ;
 *    weights: the host computes √w per row (b square roots) into a pinned
 *    vector copied with the chunk, cublasDdgmm scales the columns in place.
 *    finish: the Gram is equilibrated to unit diagonal (cublasDdgmm both
 *    sides), factored by cusolverDnXpotrf (Upper) and unscaled; devInfo > 0
 *    -> OOC_ERR_NUMERIC (unlike the CPU backend's pivoted Cholesky, a
 *    numerically singular Gram is an error here).
 *  - qr: a (p_aug + panel_rows) x p_aug column-major stack S: top p_aug rows
 *    = current R (cudaMemcpy2DAsync from the triangle buffer), below it the
 *    chunk transposed by cublasDgeam (and row-scaled by cublasDdgmm);
 *    cusolverDnXgeqrf(S); the new R = triu(S_top) extracted with cublasDtrmm
 *    against an identity (C = triu(S_top)·I), which leaves zeros below the
 *    diagonal without a kernel.  The geqrf workspace is queried once per
 *    begin() for the largest stack and reused.
 *  - several devices: each accumulates its own triangle; finish merges Grams
 *    by summation (then potrf on the first device) or R's on the host with
 *    ooc_triangle_merge (backend.c: dgeqrf of the stacked triangles).
 *  - finalize (backend.h solve_triangle / svd_triangle, after finish): on
 *    the first device, β by cublasDtrsv and the SVD of R by cusolverDnXgesvd
 *    (devInfo copied back and checked; its workspace queried once per size
 *    and reused), in buffers kept until the backend is destroyed.
 *  - device OOM in begin(): panels are halved (with a note) down to
 *    max(p_aug, 64) rows, then a clear OOC_ERR_BACKEND.
 * Built as the plugin oocsolve_cuda.so (device.h: the host loads it with
 * dlopen and reaches it only through ooc_cuda_plugin_entry), so this file
 * uses nothing from liboocsolve_core but error.c and backend.c (the triangle
 * helpers), which are compiled into the plugin with it.
 * Every CUDA/cuBLAS/cuSOLVER call goes through CUDA_TRY / CUBLAS_TRY /
 * CUSOLVER_TRY: OOC_ERR_BACKEND with the library's status name and the call
 * text, then `goto out`.  NVTX ranges mark copy / update / finish.
 */
#include "backend/device.h"

#include "base/error.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusolverDn.h>
#include <nvtx3/nvToolsExt.h>
#ifdef OOC_HAVE_NVCOMP
#include "decode_launch.h"

#include <dlfcn.h>
#include <nvcomp.h>
#include <nvcomp/deflate.h>
#endif

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOC_STR_(x) #x
#define OOC_STR(x) OOC_STR_(x)

#define CUDA_TRY(call)                                                                             \
    do {                                                                                           \
        cudaError_t cuda_rc_ = (call);                                                             \
        if (cuda_rc_ != cudaSuccess) {                                                             \
            status = OOC_FAIL(err, OOC_ERR_BACKEND, "CUDA runtime: %s (%s) in %s",                 \
                              cudaGetErrorName(cuda_rc_), cudaGetErrorString(cuda_rc_), #call);    \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define CUBLAS_TRY(call)                                                                           \
    do {                                                                                           \
        cublasStatus_t blas_rc_ = (call);                                                          \
        if (blas_rc_ != CUBLAS_STATUS_SUCCESS) {                                                   \
            status = OOC_FAIL(err, OOC_ERR_BACKEND, "cuBLAS: %s in %s",                            \
                              cublasGetStatusName(blas_rc_), #call);                               \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define CUSOLVER_TRY(call)                                                                         \
    do {                                                                                           \
        cusolverStatus_t solver_rc_ = (call);                                                      \
        if (solver_rc_ != CUSOLVER_STATUS_SUCCESS) {                                               \
            status = OOC_FAIL(err, OOC_ERR_BACKEND, "cuSOLVER: %s in %s",                          \
                              cusolver_status_name(solver_rc_), #call);                            \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

enum { DEFAULT_PANEL_ROWS = 65536, MIN_PANEL_ROWS = 64, NSLOTS = 2 };

/* One staging slot: device buffers for a chunk and its events. */
typedef struct cuda_slot {
    double *d_rows;       /* panel_rows x ld doubles: the chunk as copied */
    double *d_scale;      /* panel_rows: √w per row (weighted layouts) */
    double *h_scale;      /* host side of d_scale (pinned when possible) */
    int *d_info;          /* devInfo of this slot's geqrf */
    int *h_info;          /* host copy of d_info */
    cudaEvent_t copied;   /* on the copy stream after the chunk's H2D copies */
    cudaEvent_t consumed; /* on the compute stream after the update read the slot */
    bool in_flight;       /* consumed recorded and not yet waited for by the host */
    size_t chunk_index;   /* global index of the chunk that used the slot last (messages) */
} cuda_slot;

/* Everything one GPU owns. */
typedef struct cuda_dev {
    int ordinal;
    cudaStream_t copy_stream;
    cudaStream_t compute_stream;
    cublasHandle_t blas;
    cusolverDnHandle_t solver;
    cusolverDnParams_t params;
    cuda_slot slot[NSLOTS];
    int next_slot;
    double *d_acc;        /* p x p column-major: upper Gram (normal) or R (qr) */
    double *d_stack;      /* qr: (p + panel_rows) x p */
    double *d_tau;        /* qr: p */
    double *d_eye;        /* qr: p x p identity */
    double *d_equil;      /* normal: p equilibration factors */
    void *d_work;         /* cuSOLVER device workspace */
    size_t work_bytes;
    void *h_work;         /* cuSOLVER host workspace (usually none) */
    size_t h_work_bytes;
    int *d_final_info;    /* devInfo of potrf */
} cuda_dev;

/* Finalize buffers on the first device (solve_triangle, svd_triangle): grown
 * on demand, kept until the backend is destroyed. */
typedef struct cuda_final {
    double *d_a;             /* k x k column-major: the transposed triangle */
    double *d_vec;           /* k: right-hand side / singular values */
    double *d_u;             /* k x k: U of the transposed triangle (= V of R) */
    size_t cap;              /* the k the three buffers above hold */
    void *d_work;            /* cusolverDnXgesvd device workspace */
    size_t work_bytes;
    void *h_work;            /* cusolverDnXgesvd host workspace (usually none) */
    size_t h_work_bytes;
    size_t svd_k;            /* problem the workspace was sized for (0: none yet) */
    signed char svd_jobu;
} cuda_final;

#ifdef OOC_HAVE_NVCOMP
/* The GPU decoder's buffers on the first (only) device, grown on demand and
 * kept for the backend's life.  `small` holds the per-chunk arrays
 * (raw_layout), pinned on the host and mirrored on the device. */
typedef struct cuda_raw {
    unsigned char *h_in, *d_in;   /* the block's deflate payloads (plain chunks' elements) */
    unsigned char *d_dec;         /* the inflated chunks */
    double *d_rows, *d_scale;     /* the decoded block's rows and their √w */
    double *d_seg;                /* the scan's segment vectors (block_scan.h) */
    unsigned char *h_small, *d_small;
    uint32_t *d_sums;             /* Adler-32 segment sums */
    void *d_temp;                 /* nvCOMP's temporary memory */
    int *d_info, *h_info;         /* geqrf devInfo of each panel of the last block */
    size_t h_in_cap, d_in_cap, d_dec_cap, d_rows_cap, d_scale_cap, d_seg_cap, h_small_cap,
        d_small_cap, d_sums_cap, d_temp_cap, d_info_cap, h_info_cap; /* bytes */
    size_t infos_pending;         /* panels of the last block whose devInfo is unchecked */
    size_t blocks;                /* raw blocks accumulated (messages) */
} cuda_raw;
#endif

typedef struct cuda_ctx {
    int ndev;
    cuda_dev dev[OOC_CUDA_MAX_DEVICES];
    size_t requested_panel_rows;
    size_t panel_rows;     /* in effect after begin() */
    ooc_method method;
    bool begun;
    int next_dev;          /* round-robin position */
    size_t chunks;         /* chunks accumulated in this pass */
    ooc_log_sink log;
    bool warned_pageable;
    cuda_final final;      /* on dev[0] */
#ifdef OOC_HAVE_NVCOMP
    cuda_raw raw;          /* on dev[0] */
#endif
} cuda_ctx;

static const char *cusolver_status_name(cusolverStatus_t s)
{
    switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_INVALID_WORKSPACE: return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default: return "CUSOLVER_STATUS_<other>";
    }
}

/* ------------------------------------------------ pinned host allocator -- */

/* Every block handed out starts PINNED_HEADER bytes into the allocation; the
 * header records how it was obtained so free() needs no backend state. */
enum { PINNED_HEADER = 64 };
static const uint64_t TAG_PINNED = 0x6f6f632d70696e6eull;   /* "ooc-pinn" */
static const uint64_t TAG_PAGEABLE = 0x6f6f632d70616765ull; /* "ooc-page" */

static void *pinned_alloc(size_t nbytes, void *ctx_ptr)
{
    cuda_ctx *c = ctx_ptr;
    void *base = NULL;
    uint64_t tag = TAG_PINNED;
    if (nbytes > SIZE_MAX - PINNED_HEADER)
        return NULL;
    cudaError_t rc = cudaHostAlloc(&base, nbytes + PINNED_HEADER, cudaHostAllocPortable);
    if (rc != cudaSuccess) {
        (void)cudaGetLastError();   /* not sticky: clear it */
        base = aligned_alloc(PINNED_HEADER, (nbytes + 2 * PINNED_HEADER - 1) / PINNED_HEADER *
                                                PINNED_HEADER);
        if (!base)
            return NULL;
        tag = TAG_PAGEABLE;
        if (c && !c->warned_pageable) {
            c->warned_pageable = true;
            ooc_log(&c->log, OOC_LOG_WARNING,
                    "cannot pin %zu bytes of host memory (%s): using pageable buffers, host-to-GPU "
                    "copies will not overlap with computation",
                    nbytes, cudaGetErrorString(rc));
        }
    }
    memcpy(base, &tag, sizeof tag);
    return (char *)base + PINNED_HEADER;
}

static void pinned_free(void *ptr, void *ctx_ptr)
{
    (void)ctx_ptr;
    if (!ptr)
        return;
    char *base = (char *)ptr - PINNED_HEADER;
    uint64_t tag;
    memcpy(&tag, base, sizeof tag);
    if (tag == TAG_PINNED)
        (void)cudaFreeHost(base);   /* nothing useful to do on failure in a free function */
    else
        free(base);
}

/* ---------------------------------------------------------- device info -- */

int ooc_cuda_device_count(char *why, size_t why_size)
{
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess || count <= 0) {
        if (why && why_size)
            snprintf(why, why_size, "%s: %s", cudaGetErrorName(rc), cudaGetErrorString(rc));
        (void)cudaGetLastError();
        return 0;
    }
    return count;
}

ooc_status ooc_cuda_device_query(int index, ooc_cuda_device_info *info, ooc_error *err)
{
    ooc_status status = OOC_OK;
    struct cudaDeviceProp prop;
    memset(info, 0, sizeof *info);
    CUDA_TRY(cudaGetDeviceProperties(&prop, index));
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->total_bytes = prop.totalGlobalMem;
    info->cc_major = prop.major;
    info->cc_minor = prop.minor;
    info->multiprocessors = prop.multiProcessorCount;
out:
    return status;
}

/* -------------------------------------------------------- device buffers -- */

static void free_pass_buffers(cuda_dev *d)
{
    if (cudaSetDevice(d->ordinal) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    for (int s = 0; s < NSLOTS; s++) {
        cuda_slot *sl = &d->slot[s];
        (void)cudaFree(sl->d_rows);
        (void)cudaFree(sl->d_scale);
        pinned_free(sl->h_scale, NULL);
        sl->d_rows = sl->d_scale = sl->h_scale = NULL;
        sl->in_flight = false;
    }
    (void)cudaFree(d->d_acc);
    (void)cudaFree(d->d_stack);
    (void)cudaFree(d->d_tau);
    (void)cudaFree(d->d_eye);
    (void)cudaFree(d->d_equil);
    (void)cudaFree(d->d_work);
    free(d->h_work);
    d->d_acc = d->d_stack = d->d_tau = d->d_eye = d->d_equil = NULL;
    d->d_work = d->h_work = NULL;
    d->work_bytes = d->h_work_bytes = 0;
}

/* cudaMalloc that reports out-of-memory separately (*oom) from other errors. */
static ooc_status device_alloc(void **p, size_t nbytes, bool *oom, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cudaError_t rc = cudaMalloc(p, nbytes);
    if (rc == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        *p = NULL;
        *oom = true;
        return OOC_ERR_BACKEND;
    }
    CUDA_TRY(rc);
out:
    return status;
}

/* Allocate one device's buffers for a pass with `rows` rows per panel.
 * *oom is set when the failure was device memory running out. */
static ooc_status alloc_pass_buffers(cuda_ctx *c, cuda_dev *d, const ooc_backend_layout *lay,
                                     size_t rows, bool *oom, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t p = lay->p_aug;
    bool weighted = lay->weight_col >= 0;
    double *eye = NULL;
    CUDA_TRY(cudaSetDevice(d->ordinal));
    for (int s = 0; s < NSLOTS; s++) {
        cuda_slot *sl = &d->slot[s];
        OOC_CHECK(device_alloc((void **)&sl->d_rows, rows * lay->ld * sizeof(double), oom, err));
        if (weighted) {
            OOC_CHECK(device_alloc((void **)&sl->d_scale, rows * sizeof(double), oom, err));
            sl->h_scale = pinned_alloc(rows * sizeof(double), c);
            OOC_FAIL_IF(!sl->h_scale, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
        }
    }
    OOC_CHECK(device_alloc((void **)&d->d_acc, p * p * sizeof(double), oom, err));
    size_t dev_bytes = 0, host_bytes = 0;
    if (c->method == OOC_METHOD_QR) {
        size_t lds = p + rows;
        OOC_CHECK(device_alloc((void **)&d->d_stack, lds * p * sizeof(double), oom, err));
        OOC_CHECK(device_alloc((void **)&d->d_tau, p * sizeof(double), oom, err));
        OOC_CHECK(device_alloc((void **)&d->d_eye, p * p * sizeof(double), oom, err));
        CUSOLVER_TRY(cusolverDnXgeqrf_bufferSize(d->solver, d->params, (int64_t)lds, (int64_t)p,
                                                 CUDA_R_64F, d->d_stack, (int64_t)lds, CUDA_R_64F,
                                                 d->d_tau, CUDA_R_64F, &dev_bytes, &host_bytes));
        eye = calloc(p * p, sizeof(double));
        OOC_FAIL_IF(!eye, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
        for (size_t i = 0; i < p; i++)
            eye[i * p + i] = 1.0;
        CUDA_TRY(cudaMemcpy(d->d_eye, eye, p * p * sizeof(double), cudaMemcpyHostToDevice));
    } else {
        OOC_CHECK(device_alloc((void **)&d->d_equil, p * sizeof(double), oom, err));
        CUSOLVER_TRY(cusolverDnXpotrf_bufferSize(d->solver, d->params, CUBLAS_FILL_MODE_UPPER,
                                                 (int64_t)p, CUDA_R_64F, d->d_acc, (int64_t)p,
                                                 CUDA_R_64F, &dev_bytes, &host_bytes));
    }
    d->work_bytes = dev_bytes > 0 ? dev_bytes : sizeof(double);
    OOC_CHECK(device_alloc(&d->d_work, d->work_bytes, oom, err));
    if (host_bytes > 0) {
        d->h_work = malloc(host_bytes);
        OOC_FAIL_IF(!d->h_work, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
        d->h_work_bytes = host_bytes;
    }
    CUDA_TRY(cudaMemsetAsync(d->d_acc, 0, p * p * sizeof(double), d->compute_stream));
    CUDA_TRY(cudaStreamSynchronize(d->compute_stream));
out:
    free(eye);
    return status;
}

/* -------------------------------------------------------------- begin -- */

static ooc_status cuda_begin(ooc_backend *be, const ooc_backend_layout *layout, ooc_method method,
                             ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_ctx *c = be->ctx;
    size_t p = layout->p_aug;
    if (p == 0 || layout->ld < p ||
        (layout->weight_col >= 0 && (size_t)layout->weight_col >= layout->ld) || p > 46000)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "cuda backend: bad block layout (p_aug %zu, row length %zu, weight column "
                        "%ld)",
                        p, layout->ld, layout->weight_col);
    if (method != OOC_METHOD_QR && method != OOC_METHOD_NORMAL)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED, "cuda backend: unknown method %d", (int)method);
    be->layout = *layout;
    c->method = method;
    c->begun = false;
    c->next_dev = 0;
    c->chunks = 0;
#ifdef OOC_HAVE_NVCOMP
    c->raw.infos_pending = 0;   /* a failed pass's last panels: dropped with its rows */
    c->raw.blocks = 0;
#endif
    size_t min_rows = p > MIN_PANEL_ROWS ? p : MIN_PANEL_ROWS;
    size_t rows = c->requested_panel_rows < min_rows ? min_rows : c->requested_panel_rows;
    /* the largest row count cuBLAS's int dimensions accept for these buffers */
    while (rows > min_rows && (rows * layout->ld > INT32_MAX || rows + p > INT32_MAX))
        rows /= 2;
    for (;;) {
        bool oom = false;
        status = OOC_OK;
        for (int i = 0; i < c->ndev && status == OOC_OK; i++) {
            free_pass_buffers(&c->dev[i]);
            status = alloc_pass_buffers(c, &c->dev[i], layout, rows, &oom, err);
        }
        if (status == OOC_OK)
            break;
        for (int i = 0; i < c->ndev; i++)
            free_pass_buffers(&c->dev[i]);
        if (!oom)
            return status;
        if (rows <= min_rows) {
            size_t free_b = 0, total_b = 0;
            if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess)
                (void)cudaGetLastError();
            return OOC_FAIL(err, OOC_ERR_BACKEND,
                            "out of GPU memory: %zu columns with %zu-row panels do not fit "
                            "(%.1f MiB free of %.1f MiB on the device); use fewer columns or the "
                            "CPU backend (--device cpu)",
                            p, rows, free_b / 1048576.0, total_b / 1048576.0);
        }
        size_t smaller = rows / 2 < min_rows ? min_rows : rows / 2;
        ooc_error_clear(err);   /* the retry starts clean */
        ooc_log(&c->log, OOC_LOG_NOTE,
                "GPU out of memory with %zu-row panels for %zu columns; retrying with %zu rows",
                rows, p, smaller);
        rows = smaller;
    }
    c->panel_rows = rows;
    c->begun = true;
    return OOC_OK;
}

/* --------------------------------------------------------- accumulate -- */

/* Wait for a slot's previous update and check its devInfo. */
static ooc_status retire_slot(cuda_ctx *c, cuda_slot *sl, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!sl->in_flight)
        return OOC_OK;
    CUDA_TRY(cudaEventSynchronize(sl->consumed));
    sl->in_flight = false;
    if (c->method == OOC_METHOD_QR && *sl->h_info != 0)
        return OOC_FAIL(err, OOC_ERR_BACKEND,
                        "cusolverDnXgeqrf on chunk %zu returned devInfo %d (argument %d invalid)",
                        sl->chunk_index, *sl->h_info, -*sl->h_info);
out:
    return status;
}

/* Queue the update of m rows on device d's compute stream: the rows at
 * d_rows (ld apart; scaled in place when weighted, by d_scale), the geqrf
 * devInfo into d_info and copied to h_info. */
static ooc_status enqueue_update(cuda_ctx *c, cuda_dev *d, double *d_rows, const double *d_scale,
                                 int *d_info, int *h_info, const ooc_backend_layout *lay,
                                 size_t m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const double one = 1.0, zero = 0.0;
    int p = (int)lay->p_aug, ld = (int)lay->ld, rows = (int)m;
    bool weighted = lay->weight_col >= 0;
    if (c->method == OOC_METHOD_NORMAL) {
        if (weighted)
            CUBLAS_TRY(cublasDdgmm(d->blas, CUBLAS_SIDE_RIGHT, p, rows, d_rows, ld,
                                   d_scale, 1, d_rows, ld));
        CUBLAS_TRY(cublasDsyrk(d->blas, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N, p, rows, &one,
                               d_rows, ld, &one, d->d_acc, p));
        return OOC_OK;
    }
    size_t lds = (size_t)p + c->panel_rows;
    double *bottom = d->d_stack + p;
    /* S = [R; chunk] */
    CUDA_TRY(cudaMemcpy2DAsync(d->d_stack, lds * sizeof(double), d->d_acc,
                               (size_t)p * sizeof(double), (size_t)p * sizeof(double), (size_t)p,
                               cudaMemcpyDeviceToDevice, d->compute_stream));
    CUBLAS_TRY(cublasDgeam(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, p, &one, d_rows, ld, &zero,
                           bottom, (int)lds, bottom, (int)lds));
    if (weighted)
        CUBLAS_TRY(cublasDdgmm(d->blas, CUBLAS_SIDE_LEFT, rows, p, bottom, (int)lds, d_scale,
                               1, bottom, (int)lds));
    CUSOLVER_TRY(cusolverDnXgeqrf(d->solver, d->params, (int64_t)(p + rows), (int64_t)p,
                                  CUDA_R_64F, d->d_stack, (int64_t)lds, CUDA_R_64F, d->d_tau,
                                  CUDA_R_64F, d->d_work, d->work_bytes, d->h_work, d->h_work_bytes,
                                  d_info));
    /* R = triu(S_top) · I: zeros below the diagonal, no kernel needed */
    CUBLAS_TRY(cublasDtrmm(d->blas, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                           CUBLAS_DIAG_NON_UNIT, p, p, &one, d->d_stack, (int)lds, d->d_eye, p,
                           d->d_acc, p));
    CUDA_TRY(cudaMemcpyAsync(h_info, d_info, sizeof(int), cudaMemcpyDeviceToHost,
                             d->compute_stream));
out:
    return status;
}

/* Stage m rows on device d and queue their update; returns once they are copied. */
static ooc_status push_chunk(cuda_ctx *c, cuda_dev *d, const ooc_backend_layout *lay,
                             const double *rows, size_t m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    bool range_open = false;
    cuda_slot *sl = &d->slot[d->next_slot];
    d->next_slot = (d->next_slot + 1) % NSLOTS;
    CUDA_TRY(cudaSetDevice(d->ordinal));
    OOC_CHECK(retire_slot(c, sl, err));
    nvtxRangePushA("ooc copy H2D");
    range_open = true;
    if (lay->weight_col >= 0)
        for (size_t i = 0; i < m; i++)
            sl->h_scale[i] = sqrt(rows[i * lay->ld + (size_t)lay->weight_col]);
    /* the slot's buffers are free once its previous update has run */
    CUDA_TRY(cudaStreamWaitEvent(d->copy_stream, sl->consumed, 0));
    CUDA_TRY(cudaMemcpyAsync(sl->d_rows, rows, m * lay->ld * sizeof(double),
                             cudaMemcpyHostToDevice, d->copy_stream));
    if (lay->weight_col >= 0)
        CUDA_TRY(cudaMemcpyAsync(sl->d_scale, sl->h_scale, m * sizeof(double),
                                 cudaMemcpyHostToDevice, d->copy_stream));
    CUDA_TRY(cudaEventRecord(sl->copied, d->copy_stream));
    nvtxRangePop();
    nvtxRangePushA("ooc update");
    CUDA_TRY(cudaStreamWaitEvent(d->compute_stream, sl->copied, 0));
    OOC_CHECK(enqueue_update(c, d, sl->d_rows, sl->d_scale, sl->d_info, sl->h_info, lay, m, err));
    CUDA_TRY(cudaEventRecord(sl->consumed, d->compute_stream));
    sl->in_flight = true;
    sl->chunk_index = c->chunks++;
    nvtxRangePop();
    range_open = false;
#ifndef OOC_CUDA_TEST_SKIP_COPY_WAIT
    /* the caller may reuse `rows` only after this */
    CUDA_TRY(cudaEventSynchronize(sl->copied));
#endif
out:
    if (range_open)
        nvtxRangePop();
    return status;
}

static ooc_status cuda_accumulate(ooc_backend *be, const double *rows, size_t nrows,
                                  ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_ctx *c = be->ctx;
    if (!c->begun)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "cuda backend: accumulate before begin");
    nvtxRangePushA("ooc accumulate");
    for (size_t done = 0; done < nrows && status == OOC_OK;) {
        size_t m = nrows - done < c->panel_rows ? nrows - done : c->panel_rows;
        cuda_dev *d = &c->dev[c->next_dev];
        c->next_dev = (c->next_dev + 1) % c->ndev;
        status = push_chunk(c, d, &be->layout, rows + done * be->layout.ld, m, err);
        done += m;
    }
    nvtxRangePop();
    if (status != OOC_OK)
        c->begun = false;
    return status;
}

/* ------------------------------------------------ decoding on the device -- */

#ifdef OOC_HAVE_NVCOMP
/* The three nvCOMP functions the decoder calls.  The real plugin opens
 * libnvcomp.so.6 when a backend is created (found through the plugin's
 * RPATH, where the build found it, or the loader's path), so a plugin built
 * with nvCOMP still loads where nvCOMP is missing and decodes on the host;
 * the emulated builds link the stand-in (tests/cuda_emu/nvcomp.c). */
typedef struct nvcomp_api {
    nvcompStatus_t (*temp_size)(size_t, size_t, nvcompBatchedDeflateDecompressOpts_t, size_t *,
                                size_t, cudaStream_t);
    nvcompStatus_t (*decompress)(const void *const *, const size_t *, const size_t *, size_t *,
                                 size_t, void *const, size_t, void *const *,
                                 nvcompBatchedDeflateDecompressOpts_t, nvcompStatus_t *,
                                 cudaStream_t);
    const char *(*status_string)(nvcompStatus_t);
} nvcomp_api;

static nvcomp_api nvcomp;

/* Resolve nvcomp (once per process; the library stays loaded).  false with
 * the reason in why when it cannot be loaded. */
static bool nvcomp_load(char *why, size_t why_size)
{
#ifdef OOC_NVCOMP_EMULATED
    (void)why;
    (void)why_size;
    nvcomp = (nvcomp_api){nvcompBatchedDeflateDecompressGetTempSize,
                          nvcompBatchedDeflateDecompressAsync, nvcompGetStatusString};
    return true;
#else
    static const char *const file = "libnvcomp.so." OOC_STR(NVCOMP_VER_MAJOR);
    if (nvcomp.decompress)
        return true;
    void *lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    void *sym[3] = {NULL, NULL, NULL};
    if (lib) {
        sym[0] = dlsym(lib, "nvcompBatchedDeflateDecompressGetTempSize");
        sym[1] = dlsym(lib, "nvcompBatchedDeflateDecompressAsync");
        sym[2] = dlsym(lib, "nvcompGetStatusString");
    }
    if (!lib || !sym[0] || !sym[1] || !sym[2]) {
        const char *msg = dlerror();
        snprintf(why, why_size, "cannot load nvCOMP (%s): %s", file, msg ? msg : "symbol missing");
        if (lib)
            dlclose(lib);
        return false;
    }
    /* POSIX: dlsym's object pointer is the function */
    memcpy(&nvcomp.temp_size, &sym[0], sizeof sym[0]);
    memcpy(&nvcomp.status_string, &sym[2], sizeof sym[2]);
    memcpy(&nvcomp.decompress, &sym[1], sizeof sym[1]);
    return true;
#endif
}

#define NVCOMP_TRY(call)                                                                           \
    do {                                                                                           \
        nvcompStatus_t nvcomp_rc_ = (call);                                                        \
        if (nvcomp_rc_ != nvcompSuccess) {                                                         \
            status = OOC_FAIL(err, OOC_ERR_BACKEND, "nvCOMP: %s in %s",                            \
                              nvcomp.status_string(nvcomp_rc_), #call);                            \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Grow a device buffer to hold need bytes (its contents are not kept). */
static ooc_status grow_device(void **p, size_t *cap, size_t need, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (need <= *cap)
        return OOC_OK;
    bool oom = false;
    (void)cudaFree(*p);
    *p = NULL;
    *cap = 0;
    status = device_alloc(p, need, &oom, err);
    OOC_FAIL_IF(oom, err, OOC_ERR_BACKEND,
                "out of GPU memory for %zu bytes of the decoder's buffers; use --gpu-decode off "
                "or fewer rows per block (--block-rows)",
                need);
    OOC_CHECK(status);
    *cap = need;
out:
    return status;
}

/* Grow a pinned host buffer (pinned_alloc) to hold need bytes. */
static ooc_status grow_pinned(cuda_ctx *c, void **p, size_t *cap, size_t need, ooc_error *err)
{
    if (need <= *cap)
        return OOC_OK;
    pinned_free(*p, NULL);
    *cap = 0;
    *p = pinned_alloc(need, c);
    if (!*p)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "cuda backend: out of host memory (%zu bytes)", need);
    *cap = need;
    return OOC_OK;
}

static void raw_free(cuda_ctx *c)
{
    cuda_raw *r = &c->raw;
    if (c->ndev < 1 || cudaSetDevice(c->dev[0].ordinal) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    pinned_free(r->h_in, NULL);
    pinned_free(r->h_small, NULL);
    pinned_free(r->h_info, NULL);
    (void)cudaFree(r->d_in);
    (void)cudaFree(r->d_dec);
    (void)cudaFree(r->d_rows);
    (void)cudaFree(r->d_scale);
    (void)cudaFree(r->d_seg);
    (void)cudaFree(r->d_small);
    (void)cudaFree(r->d_sums);
    (void)cudaFree(r->d_temp);
    (void)cudaFree(r->d_info);
    memset(r, 0, sizeof *r);
}

/* Wait for the last raw block's update and check its panels' devInfo. */
static ooc_status raw_retire(cuda_ctx *c, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_raw *r = &c->raw;
    if (!r->infos_pending)
        return OOC_OK;
    CUDA_TRY(cudaSetDevice(c->dev[0].ordinal));
    CUDA_TRY(cudaStreamSynchronize(c->dev[0].compute_stream));
    for (size_t k = 0; k < r->infos_pending; k++)
        OOC_FAIL_IF(c->method == OOC_METHOD_QR && r->h_info[k] != 0, err, OOC_ERR_BACKEND,
                    "cusolverDnXgeqrf on panel %zu of decoded block %zu returned devInfo %d "
                    "(argument %d invalid)",
                    k, r->blocks, r->h_info[k], -r->h_info[k]);
out:
    r->infos_pending = 0;
    return status;
}

/* Where each per-chunk array lives in `small` for n chunks (8-byte aligned):
 * uploaded [0, upload): the kernels' chunk table, nvCOMP's input pointers,
 * output pointers, input sizes and output buffer sizes; downloaded [upload,
 * total): nvCOMP's output sizes and statuses, the computed Adler-32s. */
typedef struct raw_layout {
    size_t meta, in_ptr, out_ptr, in_size, buf_size, upload;
    size_t out_size, status, adler, scan, total;
} raw_layout;

/* Where the arrays of a block of n chunks, and its scan vector of width
 * doubles, lie in h_small / d_small: what is uploaded, then what comes back. */
static raw_layout raw_layout_for(size_t n, size_t width)
{
    raw_layout l;
    l.meta = 0;
    l.in_ptr = round8(n * sizeof(ooc_gpu_chunk));
    l.out_ptr = l.in_ptr + n * sizeof(void *);
    l.in_size = l.out_ptr + n * sizeof(void *);
    l.buf_size = l.in_size + n * sizeof(size_t);
    l.upload = l.buf_size + n * sizeof(size_t);
    l.out_size = l.upload;
    l.status = l.out_size + n * sizeof(size_t);
    l.adler = l.status + round8(n * sizeof(nvcompStatus_t));
    l.scan = l.adler + round8(n * sizeof(uint32_t));
    l.total = l.scan + width * sizeof(double);
    return l;
}

/* OOC_ERR_CORRUPT: chunk i of raw as raw->describe names it, then the reason. */
static ooc_status raw_chunk_error(const ooc_raw_block *raw, size_t i, ooc_error *err,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static ooc_status raw_chunk_error(const ooc_raw_block *raw, size_t i, ooc_error *err,
                                  const char *fmt, ...)
{
    char where[768] = "", reason[512];
    raw->describe(raw->describe_ctx, i, where, sizeof where);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return OOC_FAIL(err, OOC_ERR_CORRUPT, "%s: %s (decoded on the GPU)", where, reason);
}

/* The stored zlib stream's problem before any decoding (too short, or a
 * header that is not RFC 1950 deflate), as raw_chunk_error; OOC_OK if none. */
static ooc_status check_zlib_chunk(const ooc_raw_block *raw, size_t i, ooc_error *err)
{
    static const char *const rule[] = {"", "the compression method is not deflate (CM != 8)",
                                       "the window is larger than 32 KiB (CINFO > 7)",
                                       "the header check bits are wrong (FCHECK)",
                                       "a preset dictionary is asked for (FDICT)"};
    const ooc_raw_chunk *k = &raw->chunks[i];
    if (k->nbytes < 7)
        return raw_chunk_error(raw, i, err, "%zu stored bytes are too few for a zlib stream",
                               k->nbytes);
    int bad = ooc_zlib_header_check(k->bytes[0], k->bytes[1]);
    if (bad)
        return raw_chunk_error(raw, i, err, "bad zlib header %02x %02x: %s", k->bytes[0],
                               k->bytes[1], rule[bad]);
    return OOC_OK;
}

/* The totals a raw block needs (bytes, segments), its chunks checked. */
typedef struct raw_sizes {
    size_t in_total, dec_total, nz, nseg, max_dec;
    uint64_t max_seg, max_values;
} raw_sizes;

static ooc_status raw_measure(const ooc_raw_block *raw, size_t nrows, size_t ld, raw_sizes *z,
                              ooc_error *err)
{
    memset(z, 0, sizeof *z);
    for (size_t i = 0; i < raw->nchunks; i++) {
        const ooc_raw_chunk *k = &raw->chunks[i];
        size_t dec = k->chunk_rows * k->chunk_cols * sizeof(double);
        if (k->row_skip + k->rows > k->chunk_rows || k->cols > k->chunk_cols ||
            k->block_row + k->rows > nrows || k->dest_col + k->cols > ld || dec > UINT32_MAX ||
            (k->kind == OOC_RAW_PLAIN && k->nbytes != dec) ||
            (k->kind != OOC_RAW_PLAIN && k->kind != OOC_RAW_ZLIB))
            return OOC_FAIL(err, OOC_ERR_INTERNAL,
                            "cuda backend: raw chunk %zu does not fit a block of %zu rows", i,
                            nrows);
        if ((uint64_t)k->rows * k->cols > z->max_values)
            z->max_values = (uint64_t)k->rows * k->cols;
        if (k->kind == OOC_RAW_PLAIN) {
            z->in_total += round8(dec);
            continue;
        }
        ooc_status st = check_zlib_chunk(raw, i, err);
        if (st != OOC_OK)
            return st;
        z->in_total += round8(k->nbytes - 6);
        z->dec_total += round8(dec);
        z->nseg += ooc_adler_segments(dec);
        if (ooc_adler_segments(dec) > z->max_seg)
            z->max_seg = ooc_adler_segments(dec);
        if (dec > z->max_dec)
            z->max_dec = dec;
        z->nz++;
    }
    return OOC_OK;
}

/* Fill the pinned payload buffer and the per-chunk arrays (layout L) for
 * device buffers d_in, d_dec. */
static void raw_pack(const cuda_raw *r, const ooc_raw_block *raw, const raw_layout *L)
{
    ooc_gpu_chunk *meta = (ooc_gpu_chunk *)(void *)(r->h_small + L->meta);
    void **in_ptr = (void **)(void *)(r->h_small + L->in_ptr);
    void **out_ptr = (void **)(void *)(r->h_small + L->out_ptr);
    size_t *in_size = (size_t *)(void *)(r->h_small + L->in_size);
    size_t *buf_size = (size_t *)(void *)(r->h_small + L->buf_size);
    size_t in_at = 0, dec_at = 0, seg = 0, z = 0;
    for (size_t i = 0; i < raw->nchunks; i++) {
        const ooc_raw_chunk *k = &raw->chunks[i];
        size_t dec = k->chunk_rows * k->chunk_cols * sizeof(double);
        bool zlib = k->kind == OOC_RAW_ZLIB;
        size_t payload = zlib ? k->nbytes - 6 : k->nbytes;
        memcpy(r->h_in + in_at, zlib ? k->bytes + 2 : k->bytes, payload);
        meta[i] = (ooc_gpu_chunk){
            .src = (uint64_t)(uintptr_t)(zlib ? r->d_dec + dec_at : r->d_in + in_at),
            .nbytes = dec,
            .seg_base = seg,
            .chunk_cols = (uint32_t)k->chunk_cols,
            .shuffled = zlib && k->shuffled,
            .row_skip = (uint32_t)k->row_skip,
            .rows = (uint32_t)k->rows,
            .block_row = (uint32_t)k->block_row,
            .cols = (uint32_t)k->cols,
            .dest_col = (uint32_t)k->dest_col,
            .check_adler = zlib};
        if (zlib) {
            in_ptr[z] = r->d_in + in_at;
            in_size[z] = payload;
            out_ptr[z] = r->d_dec + dec_at;
            buf_size[z] = dec;
            z++;
            dec_at += round8(dec);
            seg += ooc_adler_segments(dec);
        }
        in_at += round8(payload);
    }
}

/* After the device ran: every zlib chunk's nvCOMP status, inflated size and
 * Adler-32 (against its stream's big-endian trailer). */
static ooc_status raw_verify(const cuda_raw *r, const ooc_raw_block *raw, const raw_layout *L,
                             ooc_error *err)
{
    const size_t *out_size = (const size_t *)(const void *)(r->h_small + L->out_size);
    const nvcompStatus_t *st = (const nvcompStatus_t *)(const void *)(r->h_small + L->status);
    const uint32_t *adler = (const uint32_t *)(const void *)(r->h_small + L->adler);
    for (size_t i = 0, z = 0; i < raw->nchunks; i++) {
        const ooc_raw_chunk *k = &raw->chunks[i];
        if (k->kind != OOC_RAW_ZLIB)
            continue;
        size_t dec = k->chunk_rows * k->chunk_cols * sizeof(double);
        if (st[z] != nvcompSuccess)
            return raw_chunk_error(raw, i, err,
                                   "nvCOMP cannot inflate its deflate stream of %zu bytes (%s)",
                                   k->nbytes - 6, nvcomp.status_string(st[z]));
        if (out_size[z] != dec)
            return raw_chunk_error(raw, i, err,
                                   "its deflate stream inflates to %zu bytes, not the chunk's %zu",
                                   out_size[z], dec);
        const unsigned char *t = k->bytes + k->nbytes - 4;
        uint32_t stored = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
        if (adler[i] != stored)
            return raw_chunk_error(raw, i, err,
                                   "Adler-32 mismatch: the stream says %08x, the inflated %zu "
                                   "bytes sum to %08x",
                                   stored, dec, adler[i]);
        z++;
    }
    return OOC_OK;
}

/* backend.h accumulate_raw on the first (only) device, all on its compute
 * stream:
 *   host:   each zlib header checked (RFC 1950: CM 8, CINFO <= 7, FCHECK, no
 *           FDICT); the deflate payloads (the streams without their 2-byte
 *           header and 4-byte Adler-32 trailer) packed 8-byte aligned into
 *           a pinned buffer with the chunk table and nvCOMP's arrays;
 *   device: H2D of the payloads and arrays (only compressed bytes cross to
 *           the GPU), nvcompBatchedDeflateDecompressAsync of the zlib chunks,
 *           the Adler-32 kernels, the scatter kernel (unshuffling on the
 *           fly) into the block's rows, the scan kernels (block_scan.h) over
 *           them; D2H of nvCOMP's sizes and statuses, the Adler-32s and the
 *           scan vector (4p + 8 doubles: the rows stay); synchronise;
 *   host:   every chunk checked (status, size, Adler-32) before any row is
 *           added: a damaged chunk is OOC_ERR_CORRUPT naming it; a scan that
 *           found a bad value brings the rows back into rows_out instead;
 *   device: √w by a kernel (weighted), then accumulate()'s update on panels
 *           of at most panel_rows rows, left running: the next call (or
 *           finish) waits for it and checks its devInfo. */
static ooc_status cuda_accumulate_raw(ooc_backend *be, const ooc_raw_block *raw, size_t nrows,
                                      const ooc_scan_spec *spec, double *scan_out,
                                      double *rows_out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_ctx *c = be->ctx;
    cuda_dev *d = &c->dev[0];
    cuda_raw *r = &c->raw;
    const ooc_backend_layout *lay = &be->layout;
    const size_t n = raw->nchunks, ld = lay->ld, width = OOC_SCAN_WIDTH(spec->p);
    const size_t nseg = ooc_scan_segments(nrows);
    const nvcompBatchedDeflateDecompressOpts_t opts = nvcompBatchedDeflateDecompressDefaultOpts;
    cudaStream_t stream = d->compute_stream;
    bool queued = false;
    raw_sizes z;
    if (!c->begun)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "cuda backend: accumulate before begin");
    if (c->ndev != 1)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "cuda backend: GPU decoding on %d GPUs", c->ndev);
    if (n > 65535)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                        "a block of %zu chunks is too many to decode on the GPU at once (at most "
                        "65535): use fewer rows per block (--block-rows)",
                        n);
    nvtxRangePushA("ooc decode");
    CUDA_TRY(cudaSetDevice(d->ordinal));
    OOC_CHECK(raw_retire(c, err));
    OOC_CHECK(raw_measure(raw, nrows, ld, &z, err));
    const raw_layout L = raw_layout_for(n, width);
    size_t temp_bytes = 0;
    if (z.nz)
        NVCOMP_TRY(nvcomp.temp_size(z.nz, z.max_dec, opts, &temp_bytes, z.dec_total, stream));
    const size_t npanels = (nrows + c->panel_rows - 1) / c->panel_rows;
    OOC_CHECK(grow_pinned(c, (void **)&r->h_in, &r->h_in_cap, z.in_total + 8, err));
    OOC_CHECK(grow_pinned(c, (void **)&r->h_small, &r->h_small_cap, L.total, err));
    OOC_CHECK(grow_pinned(c, (void **)&r->h_info, &r->h_info_cap, (npanels + 1) * sizeof(int),
                          err));
    OOC_CHECK(grow_device((void **)&r->d_in, &r->d_in_cap, z.in_total + 8, err));
    OOC_CHECK(grow_device((void **)&r->d_dec, &r->d_dec_cap, z.dec_total + 8, err));
    OOC_CHECK(grow_device((void **)&r->d_small, &r->d_small_cap, L.total, err));
    OOC_CHECK(grow_device((void **)&r->d_sums, &r->d_sums_cap, 8 * z.nseg + 8, err));
    OOC_CHECK(grow_device(&r->d_temp, &r->d_temp_cap, temp_bytes + 8, err));
    OOC_CHECK(grow_device((void **)&r->d_rows, &r->d_rows_cap, nrows * ld * sizeof(double) + 8,
                          err));
    OOC_CHECK(grow_device((void **)&r->d_scale, &r->d_scale_cap, nrows * sizeof(double) + 8, err));
    OOC_CHECK(grow_device((void **)&r->d_seg, &r->d_seg_cap, (nseg + 1) * width * sizeof(double),
                          err));
    OOC_CHECK(grow_device((void **)&r->d_info, &r->d_info_cap, (npanels + 1) * sizeof(int), err));
    raw_pack(r, raw, &L);

    queued = true;
    CUDA_TRY(cudaMemcpyAsync(r->d_in, r->h_in, z.in_total, cudaMemcpyHostToDevice, stream));
    CUDA_TRY(cudaMemcpyAsync(r->d_small, r->h_small, L.upload, cudaMemcpyHostToDevice, stream));
    if (z.nz) {
        NVCOMP_TRY(nvcomp.decompress(
            (const void *const *)(r->d_small + L.in_ptr), (const size_t *)(r->d_small + L.in_size),
            (const size_t *)(r->d_small + L.buf_size), (size_t *)(r->d_small + L.out_size), z.nz,
            r->d_temp, temp_bytes, (void *const *)(r->d_small + L.out_ptr), opts,
            (nvcompStatus_t *)(r->d_small + L.status), stream));
        CUDA_TRY(ooc_gpu_adler((const ooc_gpu_chunk *)(r->d_small + L.meta), n, z.max_seg,
                               r->d_sums, (uint32_t *)(r->d_small + L.adler), stream));
    }
    CUDA_TRY(ooc_gpu_scatter((const ooc_gpu_chunk *)(r->d_small + L.meta), n, z.max_values,
                             r->d_rows, ld, stream));
    CUDA_TRY(ooc_gpu_scan(r->d_rows, ld, *spec, nrows, r->d_seg, (double *)(r->d_small + L.scan),
                          stream));
    CUDA_TRY(cudaMemcpyAsync(r->h_small + L.upload, r->d_small + L.upload, L.total - L.upload,
                             cudaMemcpyDeviceToHost, stream));
    CUDA_TRY(cudaStreamSynchronize(stream));
    queued = false;
    OOC_CHECK(raw_verify(r, raw, &L, err));
    memcpy(scan_out, r->h_small + L.scan, width * sizeof(double));
    if (ooc_scan_bad(spec, scan_out)) {
        /* the caller names the bad value from the rows; none is added */
        CUDA_TRY(cudaMemcpy(rows_out, r->d_rows, nrows * ld * sizeof(double),
                            cudaMemcpyDeviceToHost));
        goto out;
    }

    r->blocks++;
    if (lay->weight_col >= 0)
        CUDA_TRY(ooc_gpu_sqrt_column(r->d_rows, ld, (uint64_t)lay->weight_col, nrows, r->d_scale,
                                     stream));
    for (size_t k = 0, done = 0; done < nrows; k++) {
        size_t m = nrows - done < c->panel_rows ? nrows - done : c->panel_rows;
        OOC_CHECK(enqueue_update(c, d, r->d_rows + done * ld, r->d_scale + done, r->d_info + k,
                                 r->h_info + k, lay, m, err));
        r->infos_pending = k + 1;
        done += m;
    }
out:
    if (queued && cudaStreamSynchronize(stream) != cudaSuccess)
        (void)cudaGetLastError();   /* already failing: no copy may still use the buffers */
    if (status != OOC_OK)
        c->begun = false;
    nvtxRangePop();
    return status;
}
#endif

/* ------------------------------------------------------------- finish -- */

/* Drain a device and check the devInfo of its last chunks. */
static ooc_status drain_device(cuda_ctx *c, cuda_dev *d, ooc_error *err)
{
    ooc_status status = OOC_OK;
    CUDA_TRY(cudaSetDevice(d->ordinal));
    CUDA_TRY(cudaStreamSynchronize(d->copy_stream));
    CUDA_TRY(cudaStreamSynchronize(d->compute_stream));
    for (int s = 0; s < NSLOTS; s++)
        OOC_CHECK(retire_slot(c, &d->slot[s], err));
out:
    return status;
}

/* Download a device's p x p column-major accumulator into host memory. */
static ooc_status download_acc(cuda_dev *d, size_t p, double *host, ooc_error *err)
{
    ooc_status status = OOC_OK;
    CUDA_TRY(cudaSetDevice(d->ordinal));
    CUDA_TRY(cudaMemcpy(host, d->d_acc, p * p * sizeof(double), cudaMemcpyDeviceToHost));
out:
    return status;
}

/* normal: the (summed) Gram G is on device 0.  Equilibrate, G' = D⁻¹GD⁻¹ with
 * D = diag(√G_ii) (two cublasDdgmm), factor G' = U'ᵀU' by cusolverDnXpotrf
 * and undo the scaling, U = U'D (cublasDdgmm): the same R as the CPU
 * backend's scaled Cholesky, robust to columns of very different magnitude.
 * R is downloaded into acc (column-major). */
static ooc_status cholesky_on_device(cuda_dev *d, size_t p, double *acc, ooc_error *err)
{
    ooc_status status = OOC_OK;
    int h_info = 0, n = (int)p;
    double *diag = malloc(p * sizeof(double)), *inv = malloc(p * sizeof(double));
    OOC_FAIL_IF(!diag || !inv, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
    CUDA_TRY(cudaSetDevice(d->ordinal));
    /* the diagonal: stride p + 1 */
    CUDA_TRY(cudaMemcpy2DAsync(diag, sizeof(double), d->d_acc, (p + 1) * sizeof(double),
                               sizeof(double), p, cudaMemcpyDeviceToHost, d->compute_stream));
    CUDA_TRY(cudaStreamSynchronize(d->compute_stream));
    for (size_t i = 0; i < p; i++) {
        diag[i] = diag[i] > 0.0 && isfinite(diag[i]) ? sqrt(diag[i]) : 1.0;
        inv[i] = 1.0 / diag[i];
    }
    CUDA_TRY(cudaMemcpyAsync(d->d_equil, inv, p * sizeof(double), cudaMemcpyHostToDevice,
                             d->compute_stream));
    CUBLAS_TRY(cublasDdgmm(d->blas, CUBLAS_SIDE_LEFT, n, n, d->d_acc, n, d->d_equil, 1, d->d_acc,
                           n));
    CUBLAS_TRY(cublasDdgmm(d->blas, CUBLAS_SIDE_RIGHT, n, n, d->d_acc, n, d->d_equil, 1, d->d_acc,
                           n));
    CUSOLVER_TRY(cusolverDnXpotrf(d->solver, d->params, CUBLAS_FILL_MODE_UPPER, (int64_t)p,
                                  CUDA_R_64F, d->d_acc, (int64_t)p, CUDA_R_64F, d->d_work,
                                  d->work_bytes, d->h_work, d->h_work_bytes, d->d_final_info));
    CUDA_TRY(cudaMemcpyAsync(d->d_equil, diag, p * sizeof(double), cudaMemcpyHostToDevice,
                             d->compute_stream));
    CUBLAS_TRY(cublasDdgmm(d->blas, CUBLAS_SIDE_RIGHT, n, n, d->d_acc, n, d->d_equil, 1, d->d_acc,
                           n));
    CUDA_TRY(cudaMemcpyAsync(&h_info, d->d_final_info, sizeof(int), cudaMemcpyDeviceToHost,
                             d->compute_stream));
    CUDA_TRY(cudaMemcpyAsync(acc, d->d_acc, p * p * sizeof(double), cudaMemcpyDeviceToHost,
                             d->compute_stream));
    CUDA_TRY(cudaStreamSynchronize(d->compute_stream));
    OOC_FAIL_IF(h_info < 0, err, OOC_ERR_BACKEND,
                "cusolverDnXpotrf returned devInfo %d (argument %d invalid)", h_info, -h_info);
    OOC_FAIL_IF(h_info > 0, err, OOC_ERR_NUMERIC,
                "the Gram matrix [X y]'[X y] is not positive definite (cusolverDnXpotrf: leading "
                "minor %d): the columns are collinear or too ill-conditioned for the normal "
                "method; use the qr method",
                h_info);
out:
    free(diag);
    free(inv);
    return status;
}

/* qr: r_aug = the devices' triangles merged into the first's, in finish()'s
 * output form.  acc, part: p x p host scratch. */
static ooc_status merge_devices(cuda_ctx *c, size_t p, double *acc, double *part, double *r_aug,
                                ooc_error *err)
{
    ooc_status status = OOC_OK;
    OOC_CHECK(download_acc(&c->dev[0], p, acc, err));
    ooc_triangle_emit_nonneg(acc, p, p, p, r_aug, p);
    for (int i = 1; i < c->ndev; i++) {
        OOC_CHECK(download_acc(&c->dev[i], p, acc, err));
        ooc_triangle_emit_nonneg(acc, p, p, p, part, p);
        OOC_CHECK(ooc_triangle_merge(r_aug, p, p, part, p, p, p, err));
    }
out:
    return status;
}

static ooc_status cuda_finish(ooc_backend *be, double *r_aug, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_ctx *c = be->ctx;
    size_t p = be->layout.p_aug;
    double *acc = NULL, *part = NULL;
    if (!c->begun)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "cuda backend: finish before begin");
    c->begun = false;
    nvtxRangePushA("ooc finish");
    acc = calloc(p * p, sizeof(double));
    part = calloc(p * p, sizeof(double));
    OOC_FAIL_IF(!acc || !part, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
    for (int i = 0; i < c->ndev; i++)
        OOC_CHECK(drain_device(c, &c->dev[i], err));
#ifdef OOC_HAVE_NVCOMP
    OOC_CHECK(raw_retire(c, err));
#endif
    if (c->method == OOC_METHOD_NORMAL) {
        if (c->ndev > 1) {
            for (int i = 0; i < c->ndev; i++) {
                OOC_CHECK(download_acc(&c->dev[i], p, part, err));
                for (size_t k = 0; k < p * p; k++)
                    acc[k] += part[k];
            }
            CUDA_TRY(cudaSetDevice(c->dev[0].ordinal));
            CUDA_TRY(cudaMemcpy(c->dev[0].d_acc, acc, p * p * sizeof(double),
                                cudaMemcpyHostToDevice));
        }
        OOC_CHECK(cholesky_on_device(&c->dev[0], p, acc, err));
        ooc_triangle_emit_nonneg(acc, p, p, p, r_aug, p);
    } else {
        OOC_CHECK(merge_devices(c, p, acc, part, r_aug, err));
    }
    /* r_aug has R's upper triangle; the device's entries below the diagonal
     * (not copied) are zero, or NaN only when an entry above is not finite */
    for (size_t k = 0; k < p * p; k++)
        OOC_FAIL_IF(!isfinite(r_aug[k]), err, OOC_ERR_NUMERIC,
                    "the accumulated %s factor is not finite: the data contain NaN or Inf, "
                    "negative weights, or values too large to square",
                    c->method == OOC_METHOD_NORMAL ? "normal" : "qr");
out:
    nvtxRangePop();
    free(acc);
    free(part);
    return status;
}

/* ------------------------------------------------ finalize on the device -- */

/* Free the finalize buffers (device 0 must exist). */
static void final_free(cuda_ctx *c)
{
    cuda_final *f = &c->final;
    if (c->ndev < 1)
        return;
    if (cudaSetDevice(c->dev[0].ordinal) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    (void)cudaFree(f->d_a);
    (void)cudaFree(f->d_vec);
    (void)cudaFree(f->d_u);
    (void)cudaFree(f->d_work);
    free(f->h_work);
    memset(f, 0, sizeof *f);
}

/* Make the finalize buffers (on the current device, the first) hold a k x k problem. */
static ooc_status final_reserve(cuda_final *f, size_t k, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (k <= f->cap)
        return OOC_OK;
    (void)cudaFree(f->d_a);
    (void)cudaFree(f->d_vec);
    (void)cudaFree(f->d_u);
    f->d_a = f->d_vec = f->d_u = NULL;
    f->cap = 0;
    CUDA_TRY(cudaMalloc((void **)&f->d_a, k * k * sizeof(double)));
    CUDA_TRY(cudaMalloc((void **)&f->d_vec, k * sizeof(double)));
    CUDA_TRY(cudaMalloc((void **)&f->d_u, k * k * sizeof(double)));
    f->cap = k;
out:
    return status;
}

/* The cusolverDnXgesvd workspace for a k x k problem with jobu (jobvt 'N'):
 * queried once per (k, jobu), grown when a query asks for more, reused. */
static ooc_status final_svd_workspace(cuda_dev *d, cuda_final *f, size_t k, signed char jobu,
                                      ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t dev_bytes = 0, host_bytes = 0;
    int64_t n = (int64_t)k;
    if (f->svd_k == k && f->svd_jobu == jobu)
        return OOC_OK;
    f->svd_k = 0;
    CUSOLVER_TRY(cusolverDnXgesvd_bufferSize(d->solver, d->params, jobu, 'N', n, n, CUDA_R_64F,
                                             f->d_a, n, CUDA_R_64F, f->d_vec, CUDA_R_64F, f->d_u,
                                             n, CUDA_R_64F, NULL, n, CUDA_R_64F, &dev_bytes,
                                             &host_bytes));
    if (dev_bytes > f->work_bytes) {
        (void)cudaFree(f->d_work);
        f->d_work = NULL;
        f->work_bytes = 0;
        CUDA_TRY(cudaMalloc(&f->d_work, dev_bytes));
        f->work_bytes = dev_bytes;
    }
    if (host_bytes > f->h_work_bytes) {
        free(f->h_work);
        f->h_work_bytes = 0;
        f->h_work = malloc(host_bytes);
        OOC_FAIL_IF(!f->h_work, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
        f->h_work_bytes = host_bytes;
    }
    f->svd_k = k;
    f->svd_jobu = jobu;
out:
    return status;
}

/* The finalize ops' shared argument check: a k x k triangle with leading
 * dimension ld >= k, k within cuBLAS's int range. */
static bool triangle_args_ok(size_t k, size_t ld, ooc_error *err)
{
    if (ld >= k && k <= INT32_MAX)
        return true;
    OOC_FAIL(err, OOC_ERR_INVALID_ARG,
             "cuda backend: bad triangle (%zu columns, leading dimension %zu)", k, ld);
    return false;
}

/* backend.h solve_triangle: R x = b on the first device.  The row-major
 * upper triangle, copied row by row into columns, is the column-major lower
 * triangle Rᵀ, so cublasDtrsv(Lower, Trans) solves (Rᵀ)ᵀx = b. */
static ooc_status cuda_solve_triangle(ooc_backend *be, const double *r, size_t k, size_t ld,
                                      double *rhs_inout, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_ctx *c = be->ctx;
    cuda_dev *d = &c->dev[0];
    cuda_final *f = &c->final;
    bool queued = false;
    if (k == 0)
        return OOC_OK;
    if (!triangle_args_ok(k, ld, err))
        return OOC_ERR_INVALID_ARG;
    nvtxRangePushA("ooc solve");
    CUDA_TRY(cudaSetDevice(d->ordinal));
    OOC_CHECK(final_reserve(f, k, err));
    queued = true;
    CUDA_TRY(cudaMemcpy2DAsync(f->d_a, k * sizeof(double), r, ld * sizeof(double),
                               k * sizeof(double), k, cudaMemcpyHostToDevice, d->compute_stream));
    CUDA_TRY(cudaMemcpyAsync(f->d_vec, rhs_inout, k * sizeof(double), cudaMemcpyHostToDevice,
                             d->compute_stream));
    CUBLAS_TRY(cublasDtrsv(d->blas, CUBLAS_FILL_MODE_LOWER, CUBLAS_OP_T, CUBLAS_DIAG_NON_UNIT,
                           (int)k, f->d_a, (int)k, f->d_vec, 1));
    CUDA_TRY(cudaMemcpyAsync(rhs_inout, f->d_vec, k * sizeof(double), cudaMemcpyDeviceToHost,
                             d->compute_stream));
    CUDA_TRY(cudaStreamSynchronize(d->compute_stream));
    queued = false;
out:
    if (queued && cudaStreamSynchronize(d->compute_stream) != cudaSuccess)
        (void)cudaGetLastError();   /* already failing: only make sure no copy still reads r */
    nvtxRangePop();
    return status;
}

/* backend.h svd_triangle: cusolverDnXgesvd on the first device.  The
 * row-major triangle (zeros below the diagonal) is, column-major, Rᵀ =
 * U'ΣV'ᵀ: the same singular values, and Vᵀ = U'ᵀ, which is U' (jobu 'S')
 * read row-major.  devInfo is copied back and checked. */
static ooc_status cuda_svd_triangle(ooc_backend *be, const double *r, size_t k, size_t ld,
                                    double *sigma, double *vt, ooc_error *err)
{
    ooc_status status = OOC_OK;
    cuda_ctx *c = be->ctx;
    cuda_dev *d = &c->dev[0];
    cuda_final *f = &c->final;
    bool queued = false;
    int h_info = 0;
    double *a = NULL;
    int64_t n = (int64_t)k;
    signed char jobu = vt ? 'S' : 'N';
    if (k == 0)
        return OOC_OK;
    if (!triangle_args_ok(k, ld, err))
        return OOC_ERR_INVALID_ARG;
    nvtxRangePushA("ooc svd");
    a = malloc(k * k * sizeof(double));
    OOC_FAIL_IF(!a, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            a[i * k + j] = j >= i ? r[i * ld + j] : 0.0;
    CUDA_TRY(cudaSetDevice(d->ordinal));
    OOC_CHECK(final_reserve(f, k, err));
    OOC_CHECK(final_svd_workspace(d, f, k, jobu, err));
    queued = true;
    CUDA_TRY(cudaMemcpyAsync(f->d_a, a, k * k * sizeof(double), cudaMemcpyHostToDevice,
                             d->compute_stream));
    CUSOLVER_TRY(cusolverDnXgesvd(d->solver, d->params, jobu, 'N', n, n, CUDA_R_64F, f->d_a, n,
                                  CUDA_R_64F, f->d_vec, CUDA_R_64F, vt ? f->d_u : NULL, n,
                                  CUDA_R_64F, NULL, n, CUDA_R_64F, f->d_work, f->work_bytes,
                                  f->h_work, f->h_work_bytes, d->d_final_info));
    CUDA_TRY(cudaMemcpyAsync(&h_info, d->d_final_info, sizeof(int), cudaMemcpyDeviceToHost,
                             d->compute_stream));
    CUDA_TRY(cudaMemcpyAsync(sigma, f->d_vec, k * sizeof(double), cudaMemcpyDeviceToHost,
                             d->compute_stream));
    if (vt)
        CUDA_TRY(cudaMemcpyAsync(vt, f->d_u, k * k * sizeof(double), cudaMemcpyDeviceToHost,
                                 d->compute_stream));
    CUDA_TRY(cudaStreamSynchronize(d->compute_stream));
    queued = false;
    OOC_FAIL_IF(h_info < 0, err, OOC_ERR_BACKEND,
                "cusolverDnXgesvd returned devInfo %d (argument %d invalid)", h_info, -h_info);
    OOC_FAIL_IF(h_info > 0, err, OOC_ERR_NUMERIC,
                "SVD of the %zux%zu triangle did not converge on the GPU (cusolverDnXgesvd: %d "
                "superdiagonals did not converge)",
                k, k, h_info);
out:
    if (queued && cudaStreamSynchronize(d->compute_stream) != cudaSuccess)
        (void)cudaGetLastError();   /* already failing: only make sure no copy still uses a */
    nvtxRangePop();
    free(a);
    return status;
}

/* ------------------------------------------------------ create/destroy -- */

static void destroy_device(cuda_dev *d)
{
    free_pass_buffers(d);
    if (cudaSetDevice(d->ordinal) != cudaSuccess) {
        (void)cudaGetLastError();
        return;
    }
    for (int s = 0; s < NSLOTS; s++) {
        cuda_slot *sl = &d->slot[s];
        if (sl->copied)
            (void)cudaEventDestroy(sl->copied);
        if (sl->consumed)
            (void)cudaEventDestroy(sl->consumed);
        (void)cudaFree(sl->d_info);
        pinned_free(sl->h_info, NULL);
    }
    (void)cudaFree(d->d_final_info);
    if (d->params)
        (void)cusolverDnDestroyParams(d->params);
    if (d->solver)
        (void)cusolverDnDestroy(d->solver);
    if (d->blas)
        (void)cublasDestroy(d->blas);
    if (d->copy_stream)
        (void)cudaStreamDestroy(d->copy_stream);
    if (d->compute_stream)
        (void)cudaStreamDestroy(d->compute_stream);
    memset(d, 0, sizeof *d);
}

static void cuda_destroy(ooc_backend *be)
{
    cuda_ctx *c = be->ctx;
    if (!c)
        return;
    final_free(c);
#ifdef OOC_HAVE_NVCOMP
    raw_free(c);
#endif
    for (int i = 0; i < c->ndev; i++)
        destroy_device(&c->dev[i]);
    free(c);
    be->ctx = NULL;
}

static ooc_status init_device(cuda_ctx *c, cuda_dev *d, int ordinal, ooc_error *err)
{
    ooc_status status = OOC_OK;
    d->ordinal = ordinal;
    CUDA_TRY(cudaSetDevice(ordinal));
    CUDA_TRY(cudaStreamCreateWithFlags(&d->copy_stream, cudaStreamNonBlocking));
    CUDA_TRY(cudaStreamCreateWithFlags(&d->compute_stream, cudaStreamNonBlocking));
    CUBLAS_TRY(cublasCreate(&d->blas));
    CUBLAS_TRY(cublasSetStream(d->blas, d->compute_stream));
    CUSOLVER_TRY(cusolverDnCreate(&d->solver));
    CUSOLVER_TRY(cusolverDnSetStream(d->solver, d->compute_stream));
    CUSOLVER_TRY(cusolverDnCreateParams(&d->params));
    for (int s = 0; s < NSLOTS; s++) {
        cuda_slot *sl = &d->slot[s];
        CUDA_TRY(cudaEventCreateWithFlags(&sl->copied, cudaEventDisableTiming));
        CUDA_TRY(cudaEventCreateWithFlags(&sl->consumed, cudaEventDisableTiming));
        CUDA_TRY(cudaMalloc((void **)&sl->d_info, sizeof(int)));
        sl->h_info = pinned_alloc(sizeof(int), c);
        OOC_FAIL_IF(!sl->h_info, err, OOC_ERR_NOMEM, "cuda backend: out of host memory");
        *sl->h_info = 0;
    }
    CUDA_TRY(cudaMalloc((void **)&d->d_final_info, sizeof(int)));
out:
    return status;
}

static const ooc_backend_ops cuda_ops = {
    .begin = cuda_begin,
    .accumulate = cuda_accumulate,
    .finish = cuda_finish,
    .project = NULL,
    .solve_triangle = cuda_solve_triangle,
    .svd_triangle = cuda_svd_triangle,
#ifdef OOC_HAVE_NVCOMP
    .accumulate_raw = cuda_accumulate_raw,
#endif
    .destroy = cuda_destroy,
};

ooc_status ooc_cuda_backend_create(const ooc_cuda_backend_options *opts, ooc_backend **out,
                                   ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    static const int default_device = 0;
    const int *devices = opts && opts->devices ? opts->devices : &default_device;
    int ndev = opts && opts->ndevices > 0 ? opts->ndevices : 1;
    if (!(opts && opts->devices))
        ndev = 1;
    if (ndev > OOC_CUDA_MAX_DEVICES)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "cuda backend: at most %d devices, got %d",
                        OOC_CUDA_MAX_DEVICES, ndev);
    char why[256] = "";
    int count = ooc_cuda_device_count(why, sizeof why);
    if (count == 0)
        return OOC_FAIL(err, OOC_ERR_BACKEND, "no usable CUDA device (%s)", why);
    for (int i = 0; i < ndev; i++) {
        if (devices[i] < 0 || devices[i] >= count)
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                            "GPU %d does not exist: the CUDA runtime reports %d device%s",
                            devices[i], count, count == 1 ? "" : "s");
        for (int j = 0; j < i; j++)
            if (devices[j] == devices[i])
                return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "GPU %d is listed twice", devices[i]);
    }
    ooc_backend *be = calloc(1, sizeof *be);
    cuda_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "cuda backend: out of memory");
    }
    be->ops = &cuda_ops;
    be->ctx = c;
    c->requested_panel_rows = opts && opts->panel_rows > 0 ? opts->panel_rows : DEFAULT_PANEL_ROWS;
    if (opts)
        c->log = opts->log;
    ooc_gpu_decode decode = opts ? opts->gpu_decode : OOC_GPU_DECODE_AUTO;
    char nvcomp_why[512] = "";
#ifdef OOC_HAVE_NVCOMP
    const char *no_decode = ndev > 1 ? "decoding on the GPU uses one GPU" : NULL;
    if (!no_decode && decode != OOC_GPU_DECODE_OFF && !nvcomp_load(nvcomp_why, sizeof nvcomp_why)) {
        no_decode = nvcomp_why;
        if (decode == OOC_GPU_DECODE_AUTO)
            ooc_log(&c->log, OOC_LOG_DEBUG, "%s: chunks are decoded on the host", nvcomp_why);
    }
#else
    const char *no_decode = "this CUDA plugin was built without nvCOMP";
    (void)nvcomp_why;
#endif
    be->caps = (ooc_backend_caps){
        .name = "cuda",
        .supports_qr = true,
        .supports_normal = true,
        .wants_pinned_memory = true,
        .allocator = {pinned_alloc, pinned_free, c},
        .raw_codecs = !no_decode && decode != OOC_GPU_DECODE_OFF ? OOC_RAW_ZLIB : 0,
        .raw_requested = decode == OOC_GPU_DECODE_ON,
    };
    OOC_FAIL_IF(decode == OOC_GPU_DECODE_ON && no_decode, err, OOC_ERR_UNSUPPORTED,
                "--gpu-decode on: %s; use --gpu-decode off (or auto)", no_decode);
    for (int i = 0; i < ndev; i++) {
        c->ndev = i + 1;
        OOC_CHECK(init_device(c, &c->dev[i], devices[i], err));
    }
    *out = be;
out:
    if (status != OOC_OK) {
        cuda_destroy(be);
        free(be);
    }
    return status;
}

/* ---------------------------------------------------------- plugin ABI -- */

static const ooc_cuda_plugin plugin_table = {
    .abi_version = OOC_CUDA_PLUGIN_ABI,
    .sizeof_backend = sizeof(ooc_backend),
    .sizeof_backend_ops = sizeof(ooc_backend_ops),
    .sizeof_error = sizeof(ooc_error),
    .sizeof_backend_options = sizeof(ooc_cuda_backend_options),
    .sizeof_device_info = sizeof(ooc_cuda_device_info),
    .sizeof_raw_block = sizeof(ooc_raw_block),
    .sizeof_raw_chunk = sizeof(ooc_raw_chunk),
    .sizeof_scan_spec = sizeof(ooc_scan_spec),
#if defined(OOC_HAVE_NVCOMP) && defined(OOC_NVCOMP_EMULATED)
    .decoders = "deflate (the emulator's nvCOMP stand-in, libdeflate)",
#elif defined(OOC_HAVE_NVCOMP)
    .decoders = "deflate (nvCOMP " OOC_STR(NVCOMP_VER_MAJOR) "." OOC_STR(NVCOMP_VER_MINOR) "."
                OOC_STR(NVCOMP_VER_PATCH) ")",
#else
    .decoders = "",
#endif
    .device_count = ooc_cuda_device_count,
    .device_query = ooc_cuda_device_query,
    .backend_create = ooc_cuda_backend_create,
};

/* The plugin is built with hidden visibility: this is its only export. */
__attribute__((visibility("default"))) const ooc_cuda_plugin *ooc_cuda_plugin_entry(void)
{
    return &plugin_table;
}
