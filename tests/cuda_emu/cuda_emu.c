/*
 * cuda_emu.c — a strict CPU emulation of exactly the CUDA runtime, cuBLAS and
 * cuSOLVER functions used by device/backend_cuda.c, built on OpenBLAS and
 * LAPACKE.  It is compiled against the real CUDA 13 headers, so every
 * definition below must match the toolkit's prototype (a drift is a compile
 * error).  Linked in place of libcudart/libcublas/libcusolver into the
 * emulated test build of the backend.
 *
 * What "strict" means here:
 *  - device memory (cudaMalloc) is an mmap'd region kept PROT_NONE except
 *    while queued device work executes, so a host dereference of a device
 *    pointer faults;
 *  - every stream operation (copies, memsets, cuBLAS/cuSOLVER calls, event
 *    records/waits) is queued and executed lazily, only where CUDA guarantees
 *    completion: cudaStreamSynchronize, cudaEventSynchronize,
 *    cudaDeviceSynchronize, blocking cudaMemcpy (drains the legacy stream and
 *    the blocking streams), cudaFree, cudaStreamDestroy.  cudaStreamWaitEvent
 *    queues a marker that runs the recording stream up to the event first.
 *    An async copy therefore reads its host source when it executes, not
 *    when it is enqueued — also for pageable memory, which is stricter than
 *    CUDA (CUDA stages pageable sources before returning);
 *  - copy kinds are checked against where the pointers live, device extents
 *    are checked against their allocation, device memory must belong to the
 *    device of the stream that uses it;
 *  - cuBLAS/cuSOLVER arguments are checked as the libraries document
 *    (dimensions, leading dimensions, fill/side/op enums, data types,
 *    workspace sizes) and rejected with *_STATUS_INVALID_VALUE; devInfo is
 *    written by the (lazy) execution with LAPACK's info semantics.
 * Not covered: timing, real concurrency between streams, the per-thread
 * default stream, device-pointer mode in cuBLAS, multiple host threads.
 */
#include "cuda_emu.h"

#include <cuda_runtime_api.h>
#include <cublas_v2.h>
#include <cusolverDn.h>

#include <cblas.h>
#include <lapacke.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EMU_MAX_DEVICES 8

/* ---------------------------------------------------------------- state -- */

typedef struct emu_region {
    char *base;
    size_t nbytes;      /* requested size */
    size_t mapped;      /* mmap'd size (page multiple) */
    size_t accounted;   /* bytes charged to the device (256-byte granules) */
    int device;
    struct emu_region *next;
} emu_region;

typedef struct emu_pinned {
    char *base;
    size_t nbytes;
    struct emu_pinned *next;
} emu_pinned;

typedef enum op_kind {
    OP_COPY,     /* 2-D copy: height rows of width bytes */
    OP_MEMSET,
    OP_RECORD,   /* event marker: completion = stream executed past it */
    OP_WAIT,     /* run another stream up to a sequence number first */
    OP_SYRK,
    OP_GEAM,
    OP_DGMM,
    OP_TRMM,
    OP_GEQRF,
    OP_POTRF,
    OP_TRSV,
    OP_GESVD
} op_kind;

typedef struct emu_op {
    op_kind kind;
    struct emu_op *next;
    uint64_t seq;
    void *dst;
    const void *src;
    const void *src2;
    void *work;
    void *aux;           /* geqrf: tau; gesvd: S */
    void *u, *vt;        /* gesvd: U and VT (NULL when not computed) */
    int *info;
    size_t width, height, dpitch, spitch;
    int iarg[8];
    int64_t larg[4];
    double alpha, beta;
    struct CUstream_st *wait_stream;
    uint64_t wait_seq;
} emu_op;

struct CUstream_st {
    int device;
    unsigned int flags;
    emu_op *head, *tail;
    uint64_t enqueued;   /* sequence number of the last queued op */
    uint64_t executed;   /* sequence number of the last executed op */
    struct CUstream_st *next_all;
    bool is_default;
};

struct CUevent_st {
    struct CUstream_st *stream;   /* stream of the last record, NULL when complete/never recorded */
    uint64_t seq;
    struct CUevent_st *next_all;
};

struct cublasContext {
    int device;
    cudaStream_t stream;
};

struct cusolverDnContext {
    int device;
    cudaStream_t stream;
};

struct cusolverDnParams {
    int unused;
};

static struct {
    bool initialised;
    int device_count;
    size_t device_memory;
    bool pinned_available;
    int current;
    size_t used[EMU_MAX_DEVICES];
    emu_region *regions;
    emu_pinned *pinned;
    struct CUstream_st defaults[EMU_MAX_DEVICES];
    struct CUstream_st *streams;   /* created streams */
    struct CUevent_st *events;
    int open_depth;                /* > 0 while device memory is accessible */
    cudaError_t last_error;
    ooc_emu_stats stats;
    char diagnostic[512];
} emu;

static void emu_init(void)
{
    if (emu.initialised)
        return;
    emu.initialised = true;
    emu.device_count = 1;
    emu.device_memory = (size_t)8 << 30;
    emu.pinned_available = true;
    const char *count = getenv("OOC_EMU_DEVICE_COUNT");
    if (count && *count) {
        long v = strtol(count, NULL, 10);
        emu.device_count = v < 0 ? 0 : v > EMU_MAX_DEVICES ? EMU_MAX_DEVICES : (int)v;
    }
    const char *mem = getenv("OOC_EMU_DEVICE_MEMORY");
    if (mem && *mem)
        emu.device_memory = (size_t)strtoull(mem, NULL, 10);
    for (int d = 0; d < EMU_MAX_DEVICES; d++) {
        emu.defaults[d].device = d;
        emu.defaults[d].is_default = true;
    }
}

static void diagnose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diagnose(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(emu.diagnostic, sizeof emu.diagnostic, fmt, ap);
    va_end(ap);
    emu.stats.argument_errors++;
}

static cudaError_t fail_rt(cudaError_t e)
{
    emu.last_error = e;
    return e;
}

/* --------------------------------------------------------- memory model -- */

static void protect_all(int prot)
{
    for (emu_region *r = emu.regions; r; r = r->next)
        if (mprotect(r->base, r->mapped, prot) != 0) {
            fprintf(stderr, "cuda_emu: mprotect failed: %s\n", strerror(errno));
            abort();   /* the emulator cannot keep its guarantees: stop the test */
        }
}

static void device_open(void)
{
    if (emu.open_depth++ == 0)
        protect_all(PROT_READ | PROT_WRITE);
}

static void device_close(void)
{
    if (--emu.open_depth == 0)
        protect_all(PROT_NONE);
}

static emu_region *find_region(const void *p)
{
    const char *c = p;
    for (emu_region *r = emu.regions; r; r = r->next)
        if (c >= r->base && c < r->base + r->nbytes)
            return r;
    return NULL;
}

static bool is_pinned(const void *p, size_t n)
{
    const char *c = p;
    for (emu_pinned *h = emu.pinned; h; h = h->next)
        if (c >= h->base && c + n <= h->base + h->nbytes)
            return true;
    return false;
}

/* A device range [p, p + nbytes) inside one allocation of `device`. */
static bool device_range_ok(const void *p, size_t nbytes, int device, const char *what)
{
    if (nbytes == 0)
        return true;
    emu_region *r = find_region(p);
    if (!r) {
        diagnose("%s: %p is not device memory", what, p);
        return false;
    }
    if ((const char *)p + nbytes > r->base + r->nbytes) {
        diagnose("%s: %zu bytes at offset %zu overrun a %zu-byte allocation", what, nbytes,
                 (size_t)((const char *)p - r->base), r->nbytes);
        return false;
    }
    if (device >= 0 && r->device != device) {
        diagnose("%s: memory of device %d used by work on device %d", what, r->device, device);
        return false;
    }
    return true;
}

/* Bytes spanned by a column-major rows x cols double matrix with leading dimension ld. */
static size_t matrix_bytes(int64_t rows, int64_t cols, int64_t ld)
{
    if (rows <= 0 || cols <= 0)
        return 0;
    return (size_t)((cols - 1) * ld + rows) * sizeof(double);
}

/* ---------------------------------------------------------- stream model -- */

static struct CUstream_st *resolve_stream(cudaStream_t s)
{
    if (s == NULL || s == cudaStreamLegacy || s == cudaStreamPerThread)
        return &emu.defaults[emu.current];
    return s;
}

static emu_op *new_op(op_kind kind)
{
    emu_op *op = calloc(1, sizeof *op);
    if (op)
        op->kind = kind;
    return op;
}

static void enqueue(struct CUstream_st *s, emu_op *op)
{
    op->seq = ++s->enqueued;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    emu.stats.ops_enqueued++;
}

static void execute(emu_op *op);

static void run_stream_until(struct CUstream_st *s, uint64_t seq)
{
    device_open();
    while (s->executed < seq && s->head) {
        emu_op *op = s->head;
        s->head = op->next;
        if (!s->head)
            s->tail = NULL;
        if (op->kind == OP_WAIT)
            run_stream_until(op->wait_stream, op->wait_seq);
        else
            execute(op);
        s->executed = op->seq;
        emu.stats.ops_executed++;
        free(op);
    }
    device_close();
}

static void drain(struct CUstream_st *s)
{
    if (s->head)
        emu.stats.sync_points++;
    run_stream_until(s, s->enqueued);
}

/* All streams of a device; only the legacy and blocking ones when blocking_only. */
static void drain_device(int device, bool blocking_only)
{
    drain(&emu.defaults[device]);
    for (struct CUstream_st *s = emu.streams; s; s = s->next_all)
        if (s->device == device && (!blocking_only || !(s->flags & cudaStreamNonBlocking)))
            drain(s);
}

static void run_copy(emu_op *op)
{
    char *d = op->dst;
    const char *s = op->src;
    for (size_t row = 0; row < op->height; row++)
        memmove(d + row * op->dpitch, s + row * op->spitch, op->width);
}

/* Column-major element (i, j) with leading dimension ld. */
#define AT(a, i, j, ld) ((a)[(size_t)(j) * (size_t)(ld) + (size_t)(i)])

static void run_geam(emu_op *op)
{
    /* C = alpha op(A) + beta op(B); m = iarg[2], n = iarg[3] */
    int ta = op->iarg[0], tb = op->iarg[1], m = op->iarg[2], n = op->iarg[3];
    int lda = op->iarg[4], ldb = op->iarg[5], ldc = op->iarg[6];
    const double *a = op->src, *b = op->src2;
    double *c = op->dst;
    double *tmp = malloc((size_t)m * (size_t)n * sizeof(double) + 1);
    if (!tmp)
        abort();
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double av = ta == CUBLAS_OP_N ? AT(a, i, j, lda) : AT(a, j, i, lda);
            double v = op->alpha * av;
            if (op->beta != 0.0)
                v += op->beta * (tb == CUBLAS_OP_N ? AT(b, i, j, ldb) : AT(b, j, i, ldb));
            tmp[(size_t)j * (size_t)m + (size_t)i] = v;
        }
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
            AT(c, i, j, ldc) = tmp[(size_t)j * (size_t)m + (size_t)i];
    free(tmp);
}

static void run_dgmm(emu_op *op)
{
    int side = op->iarg[0], m = op->iarg[1], n = op->iarg[2];
    int lda = op->iarg[3], incx = op->iarg[4], ldc = op->iarg[5];
    const double *a = op->src, *x = op->src2;
    double *c = op->dst;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = side == CUBLAS_SIDE_LEFT ? x[(size_t)i * (size_t)incx]
                                                : x[(size_t)j * (size_t)incx];
            AT(c, i, j, ldc) = AT(a, i, j, lda) * s;
        }
}

static void run_trmm(emu_op *op)
{
    int side = op->iarg[0], uplo = op->iarg[1], trans = op->iarg[2], diag = op->iarg[3];
    int m = op->iarg[4], n = op->iarg[5], lda = op->iarg[6], ldb = op->iarg[7];
    int ldc = (int)op->larg[0];
    const double *b = op->src2;
    double *c = op->dst;
    if (c != b)
        for (int j = 0; j < n; j++)
            memmove(&AT(c, 0, j, ldc), &AT(b, 0, j, ldb), (size_t)m * sizeof(double));
    cblas_dtrmm(CblasColMajor, side == CUBLAS_SIDE_LEFT ? CblasLeft : CblasRight,
                uplo == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                trans == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                diag == CUBLAS_DIAG_UNIT ? CblasUnit : CblasNonUnit, m, n, op->alpha, op->src, lda,
                c, ldc);
}

static void execute(emu_op *op)
{
    switch (op->kind) {
    case OP_COPY:
        run_copy(op);
        break;
    case OP_MEMSET:
        memset(op->dst, op->iarg[0], op->width);
        break;
    case OP_RECORD:
    case OP_WAIT:
        break;
    case OP_SYRK:
        cblas_dsyrk(CblasColMajor, op->iarg[0] == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                    op->iarg[1] == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, op->iarg[2],
                    op->iarg[3], op->alpha, op->src, op->iarg[4], op->beta, op->dst, op->iarg[5]);
        break;
    case OP_GEAM:
        run_geam(op);
        break;
    case OP_DGMM:
        run_dgmm(op);
        break;
    case OP_TRMM:
        run_trmm(op);
        break;
    case OP_GEQRF: {
        /* the device workspace is LAPACK's work array */
        size_t lwork = op->width / sizeof(double);
        lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)op->larg[0],
                                              (lapack_int)op->larg[1], op->dst,
                                              (lapack_int)op->larg[2], op->aux, op->work,
                                              (lapack_int)lwork);
        *op->info = (int)info;
        break;
    }
    case OP_POTRF: {
        lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR,
                                              op->iarg[0] == CUBLAS_FILL_MODE_UPPER ? 'U' : 'L',
                                              (lapack_int)op->larg[0], op->dst,
                                              (lapack_int)op->larg[2]);
        *op->info = (int)info;
        break;
    }
    case OP_TRSV:
        cblas_dtrsv(CblasColMajor, op->iarg[0] == CUBLAS_FILL_MODE_UPPER ? CblasUpper : CblasLower,
                    op->iarg[1] == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                    op->iarg[2] == CUBLAS_DIAG_UNIT ? CblasUnit : CblasNonUnit, op->iarg[3],
                    op->src, op->iarg[4], op->dst, op->iarg[5]);
        break;
    case OP_GESVD: {
        /* A is overwritten, as by cuSOLVER; the device workspace is LAPACK's work array */
        size_t lwork = op->width / sizeof(double);
        lapack_int info = LAPACKE_dgesvd_work(
            LAPACK_COL_MAJOR, (char)op->iarg[0], (char)op->iarg[1], (lapack_int)op->larg[0],
            (lapack_int)op->larg[1], op->dst, (lapack_int)op->larg[2], op->aux, op->u,
            (lapack_int)op->larg[3], op->vt, (lapack_int)op->iarg[2], op->work,
            (lapack_int)lwork);
        *op->info = (int)info;
        break;
    }
    }
}

/* ------------------------------------------------------ emulator knobs -- */

void ooc_emu_get_stats(ooc_emu_stats *out)
{
    emu_init();
    *out = emu.stats;
    size_t used = 0;
    for (int d = 0; d < EMU_MAX_DEVICES; d++)
        used += emu.used[d];
    out->device_bytes_in_use = used;
}

void ooc_emu_reset_stats(void)
{
    emu_init();
    memset(&emu.stats, 0, sizeof emu.stats);
}

void ooc_emu_set_device_count(int count)
{
    emu_init();
    emu.device_count = count < 0 ? 0 : count > EMU_MAX_DEVICES ? EMU_MAX_DEVICES : count;
    if (emu.current >= emu.device_count)
        emu.current = 0;
}

void ooc_emu_set_device_memory(size_t nbytes)
{
    emu_init();
    emu.device_memory = nbytes;
}

void ooc_emu_set_pinned_available(bool available)
{
    emu_init();
    emu.pinned_available = available;
}

size_t ooc_emu_pending_ops(void)
{
    emu_init();
    size_t n = 0;
    for (int d = 0; d < EMU_MAX_DEVICES; d++)
        n += emu.defaults[d].enqueued - emu.defaults[d].executed;
    for (struct CUstream_st *s = emu.streams; s; s = s->next_all)
        n += s->enqueued - s->executed;
    return n;
}

const char *ooc_emu_last_diagnostic(void)
{
    return emu.diagnostic;
}

bool ooc_emu_is_device_pointer(const void *ptr)
{
    emu_init();
    return find_region(ptr) != NULL;
}

/* -------------------------------------------------------- CUDA runtime -- */

const char *cudaGetErrorName(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidPitchValue: return "cudaErrorInvalidPitchValue";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    default: return "unknown error";
    }
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = emu.last_error;
    emu.last_error = cudaSuccess;
    return e;
}

cudaError_t cudaGetDeviceCount(int *count)
{
    emu_init();
    if (!count)
        return fail_rt(cudaErrorInvalidValue);
    *count = emu.device_count;
    return emu.device_count > 0 ? cudaSuccess : fail_rt(cudaErrorNoDevice);
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    emu_init();
    if (!prop)
        return fail_rt(cudaErrorInvalidValue);
    if (device < 0 || device >= emu.device_count)
        return fail_rt(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "oocsolve CUDA emulator");
    prop->totalGlobalMem = emu.device_memory;
    prop->major = 8;
    prop->minor = 0;
    prop->multiProcessorCount = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    emu_init();
    if (device < 0 || device >= emu.device_count)
        return fail_rt(cudaErrorInvalidDevice);
    emu.current = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    emu_init();
    if (!device)
        return fail_rt(cudaErrorInvalidValue);
    *device = emu.current;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    emu_init();
    drain_device(emu.current, false);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    emu_init();
    if (!free_bytes || !total_bytes)
        return fail_rt(cudaErrorInvalidValue);
    *total_bytes = emu.device_memory;
    *free_bytes = emu.device_memory > emu.used[emu.current]
                      ? emu.device_memory - emu.used[emu.current] : 0;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    emu_init();
    if (!devPtr)
        return fail_rt(cudaErrorInvalidValue);
    *devPtr = NULL;
    if (emu.device_count == 0)
        return fail_rt(cudaErrorNoDevice);
    size_t accounted = (size + 255) / 256 * 256;
    if (size > emu.device_memory || accounted > emu.device_memory - emu.used[emu.current])
        return fail_rt(cudaErrorMemoryAllocation);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t mapped = (size == 0 ? 1 : (size + page - 1) / page) * page;
    emu_region *r = calloc(1, sizeof *r);
    void *base = mmap(NULL, mapped, emu.open_depth > 0 ? PROT_READ | PROT_WRITE : PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!r || base == MAP_FAILED) {
        free(r);
        if (base != MAP_FAILED)
            munmap(base, mapped);
        return fail_rt(cudaErrorMemoryAllocation);
    }
    r->base = base;
    r->nbytes = size;
    r->mapped = mapped;
    r->accounted = accounted;
    r->device = emu.current;
    r->next = emu.regions;
    emu.regions = r;
    emu.used[emu.current] += accounted;
    *devPtr = base;
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr)
{
    emu_init();
    if (!devPtr)
        return cudaSuccess;
    emu_region **link = &emu.regions;
    while (*link && (*link)->base != devPtr)
        link = &(*link)->next;
    if (!*link) {
        diagnose("cudaFree(%p): not an allocation base", devPtr);
        return fail_rt(cudaErrorInvalidValue);
    }
    /* cudaFree synchronises the device before releasing memory */
    for (int d = 0; d < emu.device_count; d++)
        drain_device(d, false);
    emu_region *r = *link;
    *link = r->next;
    emu.used[r->device] -= r->accounted;
    munmap(r->base, r->mapped);
    free(r);
    return cudaSuccess;
}

cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
    emu_init();
    if (!pHost)
        return fail_rt(cudaErrorInvalidValue);
    *pHost = NULL;
    if (flags > 0x0f)
        return fail_rt(cudaErrorInvalidValue);
    if (!emu.pinned_available)
        return fail_rt(cudaErrorMemoryAllocation);
    emu_pinned *h = calloc(1, sizeof *h);
    void *p = NULL;
    if (!h || posix_memalign(&p, 4096, size ? size : 1) != 0) {
        free(h);
        return fail_rt(cudaErrorMemoryAllocation);
    }
    h->base = p;
    h->nbytes = size;
    h->next = emu.pinned;
    emu.pinned = h;
    *pHost = p;
    return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr)
{
    emu_init();
    if (!ptr)
        return cudaSuccess;
    emu_pinned **link = &emu.pinned;
    while (*link && (*link)->base != ptr)
        link = &(*link)->next;
    if (!*link) {
        diagnose("cudaFreeHost(%p): not cudaHostAlloc memory", ptr);
        return fail_rt(cudaErrorInvalidValue);
    }
    for (int d = 0; d < emu.device_count; d++)
        drain_device(d, false);
    emu_pinned *h = *link;
    *link = h->next;
    free(h->base);
    free(h);
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    emu_init();
    if (!pStream || (flags & ~(unsigned)cudaStreamNonBlocking))
        return fail_rt(cudaErrorInvalidValue);
    struct CUstream_st *s = calloc(1, sizeof *s);
    if (!s)
        return fail_rt(cudaErrorMemoryAllocation);
    s->device = emu.current;
    s->flags = flags;
    s->next_all = emu.streams;
    emu.streams = s;
    *pStream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    emu_init();
    struct CUstream_st **link = &emu.streams;
    while (*link && *link != stream)
        link = &(*link)->next_all;
    if (!stream || !*link)
        return fail_rt(cudaErrorInvalidResourceHandle);
    drain(stream);
    /* events recorded on it are complete now */
    for (struct CUevent_st *e = emu.events; e; e = e->next_all)
        if (e->stream == stream)
            e->stream = NULL;
    *link = stream->next_all;
    free(stream);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    emu_init();
    drain(resolve_stream(stream));
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    emu_init();
    if (!event || (flags & ~0x0fu))
        return fail_rt(cudaErrorInvalidValue);
    struct CUevent_st *e = calloc(1, sizeof *e);
    if (!e)
        return fail_rt(cudaErrorMemoryAllocation);
    e->next_all = emu.events;
    emu.events = e;
    *event = e;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    emu_init();
    struct CUevent_st **link = &emu.events;
    while (*link && *link != event)
        link = &(*link)->next_all;
    if (!event || !*link)
        return fail_rt(cudaErrorInvalidResourceHandle);
    *link = event->next_all;
    free(event);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    emu_init();
    if (!event)
        return fail_rt(cudaErrorInvalidResourceHandle);
    struct CUstream_st *s = resolve_stream(stream);
    emu_op *op = new_op(OP_RECORD);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    enqueue(s, op);
    event->stream = s;
    event->seq = op->seq;
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    emu_init();
    if (!event)
        return fail_rt(cudaErrorInvalidResourceHandle);
    if (event->stream && event->stream->executed < event->seq) {
        emu.stats.sync_points++;
        run_stream_until(event->stream, event->seq);
    }
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    emu_init();
    if (!event)
        return fail_rt(cudaErrorInvalidResourceHandle);
    if (flags != 0)
        return fail_rt(cudaErrorInvalidValue);
    struct CUstream_st *s = resolve_stream(stream);
    if (!event->stream)
        return cudaSuccess;   /* never recorded or already complete: no dependency */
    emu_op *op = new_op(OP_WAIT);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    op->wait_stream = event->stream;
    op->wait_seq = event->seq;
    enqueue(s, op);
    return cudaSuccess;
}

/* Check a copy of height rows x width bytes against kind and pointer homes. */
static cudaError_t check_copy(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind, int device,
                              const char *what)
{
    if (width == 0 || height == 0)
        return cudaSuccess;
    if (!dst || !src) {
        diagnose("%s: NULL pointer", what);
        return cudaErrorInvalidValue;
    }
    size_t dspan = (height - 1) * dpitch + width, sspan = (height - 1) * spitch + width;
    bool dst_dev = find_region(dst) != NULL, src_dev = find_region(src) != NULL;
    if (kind == cudaMemcpyDefault) {
        kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                       : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    }
    bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((int)kind < 0 || (int)kind > 4 || dst_dev != want_dst_dev || src_dev != want_src_dev) {
        diagnose("%s: kind %d does not match pointers (dst %s, src %s)", what, (int)kind,
                 dst_dev ? "device" : "host", src_dev ? "device" : "host");
        return cudaErrorInvalidMemcpyDirection;
    }
    if ((dst_dev && !device_range_ok(dst, dspan, device, what)) ||
        (src_dev && !device_range_ok(src, sspan, device, what)))
        return cudaErrorInvalidValue;
    if (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToHost) {
        const void *host = kind == cudaMemcpyHostToDevice ? src : dst;
        size_t span = kind == cudaMemcpyHostToDevice ? sspan : dspan;
        if (is_pinned(host, span)) {
            emu.stats.pinned_copies++;
            emu.stats.pinned_bytes += width * height;
        } else {
            emu.stats.pageable_copies++;
            emu.stats.pageable_bytes += width * height;
        }
    }
    return cudaSuccess;
}

static cudaError_t queue_copy(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              struct CUstream_st *s, const char *what)
{
    cudaError_t e = check_copy(dst, dpitch, src, spitch, width, height, kind, s->device, what);
    if (e != cudaSuccess)
        return fail_rt(e);
    emu_op *op = new_op(OP_COPY);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    op->dst = dst;
    op->src = src;
    op->dpitch = dpitch;
    op->spitch = spitch;
    op->width = width;
    op->height = height;
    enqueue(s, op);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    emu_init();
    return queue_copy(dst, count, src, count, count, 1, kind, resolve_stream(stream),
                      "cudaMemcpyAsync");
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              cudaStream_t stream)
{
    emu_init();
    if (height > 1 && (width > dpitch || width > spitch)) {
        diagnose("cudaMemcpy2DAsync: width %zu exceeds pitch (dst %zu, src %zu)", width, dpitch,
                 spitch);
        return fail_rt(cudaErrorInvalidPitchValue);
    }
    return queue_copy(dst, dpitch, src, spitch, width, height, kind, resolve_stream(stream),
                      "cudaMemcpy2DAsync");
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    emu_init();
    struct CUstream_st *s = &emu.defaults[emu.current];
    cudaError_t e = queue_copy(dst, count, src, count, count, 1, kind, s, "cudaMemcpy");
    if (e != cudaSuccess)
        return e;
    /* legacy default stream: waits for the blocking streams, then completes */
    drain_device(emu.current, true);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    emu_init();
    struct CUstream_st *s = resolve_stream(stream);
    if (!device_range_ok(devPtr, count, s->device, "cudaMemsetAsync"))
        return fail_rt(cudaErrorInvalidValue);
    emu_op *op = new_op(OP_MEMSET);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    op->dst = devPtr;
    op->iarg[0] = value;
    op->width = count;
    enqueue(s, op);
    return cudaSuccess;
}

/* --------------------------------------------------------------- cuBLAS -- */

const char *cublasGetStatusName(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_<unknown>";
    }
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    default: return "unknown error";
    }
}

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    emu_init();
    if (!handle)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (emu.device_count == 0)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    struct cublasContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUBLAS_STATUS_ALLOC_FAILED;
    h->device = emu.current;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    if (!handle)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

/* Common checks: handle, current device; returns the handle's stream or NULL. */
static struct CUstream_st *blas_stream(cublasHandle_t handle, const char *what)
{
    if (!handle) {
        diagnose("%s: NULL handle", what);
        return NULL;
    }
    if (handle->device != emu.current) {
        diagnose("%s: handle of device %d used while device %d is current", what, handle->device,
                 emu.current);
        return NULL;
    }
    struct CUstream_st *s = resolve_stream(handle->stream);
    if (s->is_default)
        s = &emu.defaults[handle->device];
    return s;
}

static cublasStatus_t blas_invalid(const char *what, const char *why)
{
    diagnose("%s: %s", what, why);
    return CUBLAS_STATUS_INVALID_VALUE;
}

static bool valid_op(cublasOperation_t t)
{
    return t == CUBLAS_OP_N || t == CUBLAS_OP_T || t == CUBLAS_OP_C;
}

static bool valid_fill(cublasFillMode_t f)
{
    return f == CUBLAS_FILL_MODE_LOWER || f == CUBLAS_FILL_MODE_UPPER;
}

static int imax1(int64_t v)
{
    return v > 1 ? (int)v : 1;
}

cublasStatus_t cublasDsyrk_v2(cublasHandle_t handle, cublasFillMode_t uplo,
                              cublasOperation_t trans, int n, int k, const double *alpha,
                              const double *A, int lda, const double *beta, double *C, int ldc)
{
    const char *what = "cublasDsyrk";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_fill(uplo) || !valid_op(trans))
        return blas_invalid(what, "bad uplo or trans");
    if (n < 0 || k < 0)
        return blas_invalid(what, "negative dimension");
    int arows = trans == CUBLAS_OP_N ? n : k, acols = trans == CUBLAS_OP_N ? k : n;
    if (lda < imax1(arows) || ldc < imax1(n))
        return blas_invalid(what, "leading dimension too small");
    if (!alpha || !beta)
        return blas_invalid(what, "NULL alpha or beta");
    if (!device_range_ok(A, matrix_bytes(arows, acols, lda), s->device, what) ||
        !device_range_ok(C, matrix_bytes(n, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_SYRK);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = uplo;
    op->iarg[1] = trans;
    op->iarg[2] = n;
    op->iarg[3] = k;
    op->iarg[4] = lda;
    op->iarg[5] = ldc;
    op->alpha = *alpha;   /* host pointer mode: read at call time */
    op->beta = *beta;
    op->src = A;
    op->dst = C;
    enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDgeam(cublasHandle_t handle, cublasOperation_t transa,
                           cublasOperation_t transb, int m, int n, const double *alpha,
                           const double *A, int lda, const double *beta, const double *B, int ldb,
                           double *C, int ldc)
{
    const char *what = "cublasDgeam";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(transa) || !valid_op(transb))
        return blas_invalid(what, "bad transa or transb");
    if (m < 0 || n < 0)
        return blas_invalid(what, "negative dimension");
    int arows = transa == CUBLAS_OP_N ? m : n, acols = transa == CUBLAS_OP_N ? n : m;
    int brows = transb == CUBLAS_OP_N ? m : n, bcols = transb == CUBLAS_OP_N ? n : m;
    if (lda < imax1(arows) || ldb < imax1(brows) || ldc < imax1(m))
        return blas_invalid(what, "leading dimension too small");
    if (!alpha || !beta)
        return blas_invalid(what, "NULL alpha or beta");
    /* in-place rules of cublas<t>geam */
    if ((C == A && (transa != CUBLAS_OP_N || lda != ldc)) ||
        (C == B && (transb != CUBLAS_OP_N || ldb != ldc)))
        return blas_invalid(what, "in-place operand must be untransposed with ld equal to ldc");
    if (!device_range_ok(A, matrix_bytes(arows, acols, lda), s->device, what) ||
        !device_range_ok(B, matrix_bytes(brows, bcols, ldb), s->device, what) ||
        !device_range_ok(C, matrix_bytes(m, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_GEAM);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = transa;
    op->iarg[1] = transb;
    op->iarg[2] = m;
    op->iarg[3] = n;
    op->iarg[4] = lda;
    op->iarg[5] = ldb;
    op->iarg[6] = ldc;
    op->alpha = *alpha;
    op->beta = *beta;
    op->src = A;
    op->src2 = B;
    op->dst = C;
    enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDdgmm(cublasHandle_t handle, cublasSideMode_t mode, int m, int n,
                           const double *A, int lda, const double *x, int incx, double *C, int ldc)
{
    const char *what = "cublasDdgmm";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_SIDE_LEFT && mode != CUBLAS_SIDE_RIGHT)
        return blas_invalid(what, "bad side mode");
    if (m < 0 || n < 0)
        return blas_invalid(what, "negative dimension");
    if (lda < imax1(m) || ldc < imax1(m))
        return blas_invalid(what, "leading dimension too small");
    if (incx <= 0)
        return blas_invalid(what, "the emulator supports incx > 0 only");
    if (C == A && lda != ldc)
        return blas_invalid(what, "in-place requires lda == ldc");
    int xlen = mode == CUBLAS_SIDE_LEFT ? m : n;
    size_t xbytes = xlen > 0 ? ((size_t)(xlen - 1) * (size_t)incx + 1) * sizeof(double) : 0;
    if (!device_range_ok(A, matrix_bytes(m, n, lda), s->device, what) ||
        !device_range_ok(x, xbytes, s->device, what) ||
        !device_range_ok(C, matrix_bytes(m, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_DGMM);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = mode;
    op->iarg[1] = m;
    op->iarg[2] = n;
    op->iarg[3] = lda;
    op->iarg[4] = incx;
    op->iarg[5] = ldc;
    op->src = A;
    op->src2 = x;
    op->dst = C;
    enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDtrmm_v2(cublasHandle_t handle, cublasSideMode_t side, cublasFillMode_t uplo,
                              cublasOperation_t trans, cublasDiagType_t diag, int m, int n,
                              const double *alpha, const double *A, int lda, const double *B,
                              int ldb, double *C, int ldc)
{
    const char *what = "cublasDtrmm";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if ((side != CUBLAS_SIDE_LEFT && side != CUBLAS_SIDE_RIGHT) || !valid_fill(uplo) ||
        !valid_op(trans) || (diag != CUBLAS_DIAG_UNIT && diag != CUBLAS_DIAG_NON_UNIT))
        return blas_invalid(what, "bad side, uplo, trans or diag");
    if (m < 0 || n < 0)
        return blas_invalid(what, "negative dimension");
    int ka = side == CUBLAS_SIDE_LEFT ? m : n;
    if (lda < imax1(ka) || ldb < imax1(m) || ldc < imax1(m))
        return blas_invalid(what, "leading dimension too small");
    if (!alpha)
        return blas_invalid(what, "NULL alpha");
    if (C == B && ldb != ldc)
        return blas_invalid(what, "in-place requires ldb == ldc");
    if (!device_range_ok(A, matrix_bytes(ka, ka, lda), s->device, what) ||
        !device_range_ok(B, matrix_bytes(m, n, ldb), s->device, what) ||
        !device_range_ok(C, matrix_bytes(m, n, ldc), s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_TRMM);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = side;
    op->iarg[1] = uplo;
    op->iarg[2] = trans;
    op->iarg[3] = diag;
    op->iarg[4] = m;
    op->iarg[5] = n;
    op->iarg[6] = lda;
    op->iarg[7] = ldb;
    op->larg[0] = ldc;
    op->alpha = *alpha;
    op->src = A;
    op->src2 = B;
    op->dst = C;
    enqueue(s, op);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDtrsv_v2(cublasHandle_t handle, cublasFillMode_t uplo,
                              cublasOperation_t trans, cublasDiagType_t diag, int n,
                              const double *A, int lda, double *x, int incx)
{
    const char *what = "cublasDtrsv";
    emu_init();
    struct CUstream_st *s = blas_stream(handle, what);
    if (!s)
        return handle ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_fill(uplo) || !valid_op(trans) ||
        (diag != CUBLAS_DIAG_UNIT && diag != CUBLAS_DIAG_NON_UNIT))
        return blas_invalid(what, "bad uplo, trans or diag");
    if (n < 0)
        return blas_invalid(what, "negative dimension");
    if (lda < imax1(n))
        return blas_invalid(what, "leading dimension too small");
    if (incx == 0)
        return blas_invalid(what, "incx is 0");
    size_t step = (size_t)(incx > 0 ? incx : -(int64_t)incx);
    size_t xbytes = n > 0 ? ((size_t)(n - 1) * step + 1) * sizeof(double) : 0;
    if (!device_range_ok(A, matrix_bytes(n, n, lda), s->device, what) ||
        !device_range_ok(x, xbytes, s->device, what))
        return CUBLAS_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_TRSV);
    if (!op)
        return CUBLAS_STATUS_ALLOC_FAILED;
    op->iarg[0] = uplo;
    op->iarg[1] = trans;
    op->iarg[2] = diag;
    op->iarg[3] = n;
    op->iarg[4] = lda;
    op->iarg[5] = incx;
    op->src = A;
    op->dst = x;
    enqueue(s, op);
    emu.stats.trsv_calls++;
    return CUBLAS_STATUS_SUCCESS;
}

/* ------------------------------------------------------------- cuSOLVER -- */

cusolverStatus_t cusolverDnCreate(cusolverDnHandle_t *handle)
{
    emu_init();
    if (!handle)
        return CUSOLVER_STATUS_INVALID_VALUE;
    if (emu.device_count == 0)
        return CUSOLVER_STATUS_NOT_INITIALIZED;
    struct cusolverDnContext *h = calloc(1, sizeof *h);
    if (!h)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    h->device = emu.current;
    *handle = h;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnDestroy(cusolverDnHandle_t handle)
{
    if (!handle)
        return CUSOLVER_STATUS_NOT_INITIALIZED;
    free(handle);
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnSetStream(cusolverDnHandle_t handle, cudaStream_t streamId)
{
    if (!handle)
        return CUSOLVER_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnCreateParams(cusolverDnParams_t *params)
{
    if (!params)
        return CUSOLVER_STATUS_INVALID_VALUE;
    *params = calloc(1, sizeof **params);
    return *params ? CUSOLVER_STATUS_SUCCESS : CUSOLVER_STATUS_ALLOC_FAILED;
}

cusolverStatus_t cusolverDnDestroyParams(cusolverDnParams_t params)
{
    if (!params)
        return CUSOLVER_STATUS_INVALID_VALUE;
    free(params);
    return CUSOLVER_STATUS_SUCCESS;
}

static struct CUstream_st *solver_stream(cusolverDnHandle_t handle, const char *what)
{
    if (!handle) {
        diagnose("%s: NULL handle", what);
        return NULL;
    }
    if (handle->device != emu.current) {
        diagnose("%s: handle of device %d used while device %d is current", what, handle->device,
                 emu.current);
        return NULL;
    }
    struct CUstream_st *s = resolve_stream(handle->stream);
    if (s->is_default)
        s = &emu.defaults[handle->device];
    return s;
}

static cusolverStatus_t solver_invalid(const char *what, const char *why)
{
    diagnose("%s: %s", what, why);
    return CUSOLVER_STATUS_INVALID_VALUE;
}

/* dgeqrf's LAPACK workspace for an m x n problem, in bytes. */
static size_t geqrf_work_bytes(int64_t m, int64_t n, int64_t lda)
{
    double query = 0.0;
    double dummy = 0.0;
    lapack_int info = LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, &dummy,
                                          (lapack_int)lda, &dummy, &query, -1);
    size_t words = info == 0 && query > 1.0 ? (size_t)query : 1;
    if (words < (size_t)(n > 1 ? n : 1))
        words = (size_t)(n > 1 ? n : 1);
    return words * sizeof(double);
}

cusolverStatus_t cusolverDnXgeqrf_bufferSize(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                             int64_t m, int64_t n, cudaDataType dataTypeA,
                                             const void *A, int64_t lda, cudaDataType dataTypeTau,
                                             const void *tau, cudaDataType computeType,
                                             size_t *workspaceInBytesOnDevice,
                                             size_t *workspaceInBytesOnHost)
{
    const char *what = "cusolverDnXgeqrf_bufferSize";
    emu_init();
    if (!solver_stream(handle, what))
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params || !workspaceInBytesOnDevice || !workspaceInBytesOnHost)
        return solver_invalid(what, "NULL params or size pointer");
    if (m < 0 || n < 0 || lda < imax1(m) || m > INT32_MAX || n > INT32_MAX)
        return solver_invalid(what, "bad m, n or lda");
    if (dataTypeA != CUDA_R_64F || dataTypeTau != CUDA_R_64F || computeType != CUDA_R_64F) {
        diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    (void)A;
    (void)tau;
    *workspaceInBytesOnDevice = geqrf_work_bytes(m, n, lda);
    *workspaceInBytesOnHost = 0;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXgeqrf(cusolverDnHandle_t handle, cusolverDnParams_t params, int64_t m,
                                  int64_t n, cudaDataType dataTypeA, void *A, int64_t lda,
                                  cudaDataType dataTypeTau, void *tau, cudaDataType computeType,
                                  void *bufferOnDevice, size_t workspaceInBytesOnDevice,
                                  void *bufferOnHost, size_t workspaceInBytesOnHost, int *info)
{
    const char *what = "cusolverDnXgeqrf";
    emu_init();
    struct CUstream_st *s = solver_stream(handle, what);
    if (!s)
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params)
        return solver_invalid(what, "NULL params");
    if (m < 0 || n < 0 || lda < imax1(m) || m > INT32_MAX || n > INT32_MAX)
        return solver_invalid(what, "bad m, n or lda");
    if (dataTypeA != CUDA_R_64F || dataTypeTau != CUDA_R_64F || computeType != CUDA_R_64F) {
        diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    size_t need = geqrf_work_bytes(m, n, lda);
    if (workspaceInBytesOnDevice < need)
        return solver_invalid(what, "device workspace smaller than cusolverDnXgeqrf_bufferSize");
    (void)bufferOnHost;
    (void)workspaceInBytesOnHost;
    int64_t k = m < n ? m : n;
    if (!device_range_ok(A, matrix_bytes(m, n, lda), s->device, what) ||
        !device_range_ok(tau, (size_t)k * sizeof(double), s->device, what) ||
        !device_range_ok(bufferOnDevice, workspaceInBytesOnDevice, s->device, what) ||
        !device_range_ok(info, sizeof(int), s->device, what))
        return CUSOLVER_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_GEQRF);
    if (!op)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    op->larg[0] = m;
    op->larg[1] = n;
    op->larg[2] = lda;
    op->dst = A;
    op->work = bufferOnDevice;
    op->width = workspaceInBytesOnDevice;
    op->info = info;
    op->aux = tau;
    enqueue(s, op);
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXpotrf_bufferSize(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                             cublasFillMode_t uplo, int64_t n,
                                             cudaDataType dataTypeA, const void *A, int64_t lda,
                                             cudaDataType computeType,
                                             size_t *workspaceInBytesOnDevice,
                                             size_t *workspaceInBytesOnHost)
{
    const char *what = "cusolverDnXpotrf_bufferSize";
    emu_init();
    if (!solver_stream(handle, what))
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params || !workspaceInBytesOnDevice || !workspaceInBytesOnHost)
        return solver_invalid(what, "NULL params or size pointer");
    if (!valid_fill(uplo) || n < 0 || lda < imax1(n) || n > INT32_MAX)
        return solver_invalid(what, "bad uplo, n or lda");
    if (dataTypeA != CUDA_R_64F || computeType != CUDA_R_64F) {
        diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    (void)A;
    *workspaceInBytesOnDevice = sizeof(double);
    *workspaceInBytesOnHost = 0;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXpotrf(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                  cublasFillMode_t uplo, int64_t n, cudaDataType dataTypeA,
                                  void *A, int64_t lda, cudaDataType computeType,
                                  void *bufferOnDevice, size_t workspaceInBytesOnDevice,
                                  void *bufferOnHost, size_t workspaceInBytesOnHost, int *info)
{
    const char *what = "cusolverDnXpotrf";
    emu_init();
    struct CUstream_st *s = solver_stream(handle, what);
    if (!s)
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!params)
        return solver_invalid(what, "NULL params");
    if (!valid_fill(uplo) || n < 0 || lda < imax1(n) || n > INT32_MAX)
        return solver_invalid(what, "bad uplo, n or lda");
    if (dataTypeA != CUDA_R_64F || computeType != CUDA_R_64F) {
        diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    if (workspaceInBytesOnDevice < sizeof(double))
        return solver_invalid(what, "device workspace smaller than cusolverDnXpotrf_bufferSize");
    (void)bufferOnHost;
    (void)workspaceInBytesOnHost;
    if (!device_range_ok(A, matrix_bytes(n, n, lda), s->device, what) ||
        !device_range_ok(bufferOnDevice, workspaceInBytesOnDevice, s->device, what) ||
        !device_range_ok(info, sizeof(int), s->device, what))
        return CUSOLVER_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_POTRF);
    if (!op)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    op->iarg[0] = uplo;
    op->larg[0] = n;
    op->larg[2] = lda;
    op->dst = A;
    op->info = info;
    enqueue(s, op);
    return CUSOLVER_STATUS_SUCCESS;
}

/* gesvd's job characters, as LAPACK reads them (either case). */
static bool valid_svd_job(signed char job)
{
    switch (job) {
    case 'A': case 'a': case 'S': case 's': case 'O': case 'o': case 'N': case 'n':
        return true;
    default:
        return false;
    }
}

static bool job_is(signed char job, char upper)
{
    return job == upper || job == upper - 'A' + 'a';
}

/* The argument rules of cusolverDnXgesvd(_bufferSize), LAPACK's dgesvd plus
 * cuSOLVER's m >= n; NULL (with a diagnostic) when they hold, else the
 * status to return. */
static cusolverStatus_t check_gesvd(const char *what, cusolverDnParams_t params, signed char jobu,
                                    signed char jobvt, int64_t m, int64_t n, cudaDataType ta,
                                    int64_t lda, cudaDataType ts, cudaDataType tu, int64_t ldu,
                                    cudaDataType tvt, int64_t ldvt, cudaDataType tc)
{
    if (!params)
        return solver_invalid(what, "NULL params");
    if (!valid_svd_job(jobu) || !valid_svd_job(jobvt))
        return solver_invalid(what, "jobu and jobvt must be one of 'A', 'S', 'O', 'N'");
    if (job_is(jobu, 'O') && job_is(jobvt, 'O'))
        return solver_invalid(what, "jobu and jobvt cannot both be 'O'");
    if (m < 0 || n < 0 || m > INT32_MAX || n > INT32_MAX)
        return solver_invalid(what, "bad m or n");
    if (m < n)
        return solver_invalid(what, "gesvd supports m >= n only");
    if (lda < imax1(m))
        return solver_invalid(what, "lda < max(1, m)");
    if (ldu < 1 || ((job_is(jobu, 'A') || job_is(jobu, 'S')) && ldu < m) || ldu > INT32_MAX)
        return solver_invalid(what, "ldu < m for jobu 'A'/'S' (or < 1)");
    int64_t kmin = m < n ? m : n;
    if (ldvt < 1 || (job_is(jobvt, 'A') && ldvt < n) || (job_is(jobvt, 'S') && ldvt < kmin) ||
        ldvt > INT32_MAX)
        return solver_invalid(what, "ldvt < n for jobvt 'A', < min(m, n) for 'S' (or < 1)");
    if (ta != CUDA_R_64F || ts != CUDA_R_64F || tu != CUDA_R_64F || tvt != CUDA_R_64F ||
        tc != CUDA_R_64F) {
        diagnose("%s: the emulator supports CUDA_R_64F only", what);
        return CUSOLVER_STATUS_NOT_SUPPORTED;
    }
    return CUSOLVER_STATUS_SUCCESS;
}

/* dgesvd's LAPACK workspace for the problem, in bytes. */
static size_t gesvd_work_bytes(signed char jobu, signed char jobvt, int64_t m, int64_t n,
                               int64_t lda, int64_t ldu, int64_t ldvt)
{
    double query = 0.0, dummy = 0.0;
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, (char)jobu, (char)jobvt,
                                          (lapack_int)m, (lapack_int)n, &dummy, (lapack_int)lda,
                                          &dummy, &dummy, (lapack_int)ldu, &dummy,
                                          (lapack_int)ldvt, &query, -1);
    int64_t kmin = m < n ? m : n, kmax = m < n ? n : m;
    /* LAPACK's minimum, max(1, 3 min(m,n) + max(m,n), 5 min(m,n)) */
    int64_t minimum = 3 * kmin + kmax > 5 * kmin ? 3 * kmin + kmax : 5 * kmin;
    size_t words = info == 0 && query > 1.0 ? (size_t)query : 1;
    if (words < (size_t)(minimum > 1 ? minimum : 1))
        words = (size_t)(minimum > 1 ? minimum : 1);
    return words * sizeof(double);
}

cusolverStatus_t cusolverDnXgesvd_bufferSize(
    cusolverDnHandle_t handle, cusolverDnParams_t params, signed char jobu, signed char jobvt,
    int64_t m, int64_t n, cudaDataType dataTypeA, const void *A, int64_t lda,
    cudaDataType dataTypeS, const void *S, cudaDataType dataTypeU, const void *U, int64_t ldu,
    cudaDataType dataTypeVT, const void *VT, int64_t ldvt, cudaDataType computeType,
    size_t *workspaceInBytesOnDevice, size_t *workspaceInBytesOnHost)
{
    const char *what = "cusolverDnXgesvd_bufferSize";
    emu_init();
    if (!solver_stream(handle, what))
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    if (!workspaceInBytesOnDevice || !workspaceInBytesOnHost)
        return solver_invalid(what, "NULL size pointer");
    cusolverStatus_t rc = check_gesvd(what, params, jobu, jobvt, m, n, dataTypeA, lda, dataTypeS,
                                      dataTypeU, ldu, dataTypeVT, ldvt, computeType);
    if (rc != CUSOLVER_STATUS_SUCCESS)
        return rc;
    (void)A;   /* sizes depend on the shape only */
    (void)S;
    (void)U;
    (void)VT;
    *workspaceInBytesOnDevice = gesvd_work_bytes(jobu, jobvt, m, n, lda, ldu, ldvt);
    *workspaceInBytesOnHost = 0;
    emu.stats.gesvd_size_queries++;
    return CUSOLVER_STATUS_SUCCESS;
}

cusolverStatus_t cusolverDnXgesvd(cusolverDnHandle_t handle, cusolverDnParams_t params,
                                  signed char jobu, signed char jobvt, int64_t m, int64_t n,
                                  cudaDataType dataTypeA, void *A, int64_t lda,
                                  cudaDataType dataTypeS, void *S, cudaDataType dataTypeU, void *U,
                                  int64_t ldu, cudaDataType dataTypeVT, void *VT, int64_t ldvt,
                                  cudaDataType computeType, void *bufferOnDevice,
                                  size_t workspaceInBytesOnDevice, void *bufferOnHost,
                                  size_t workspaceInBytesOnHost, int *info)
{
    const char *what = "cusolverDnXgesvd";
    emu_init();
    struct CUstream_st *s = solver_stream(handle, what);
    if (!s)
        return handle ? CUSOLVER_STATUS_EXECUTION_FAILED : CUSOLVER_STATUS_NOT_INITIALIZED;
    cusolverStatus_t rc = check_gesvd(what, params, jobu, jobvt, m, n, dataTypeA, lda, dataTypeS,
                                      dataTypeU, ldu, dataTypeVT, ldvt, computeType);
    if (rc != CUSOLVER_STATUS_SUCCESS)
        return rc;
    if (workspaceInBytesOnDevice < gesvd_work_bytes(jobu, jobvt, m, n, lda, ldu, ldvt))
        return solver_invalid(what, "device workspace smaller than cusolverDnXgesvd_bufferSize");
    (void)bufferOnHost;
    (void)workspaceInBytesOnHost;
    int64_t kmin = m < n ? m : n;
    /* U: m x m ('A') or m x min(m,n) ('S'); VT: n x n ('A') or min(m,n) x n ('S') */
    int64_t ucols = job_is(jobu, 'A') ? m : job_is(jobu, 'S') ? kmin : 0;
    int64_t vtrows = job_is(jobvt, 'A') ? n : job_is(jobvt, 'S') ? kmin : 0;
    if (!device_range_ok(A, matrix_bytes(m, n, lda), s->device, what) ||
        !device_range_ok(S, (size_t)kmin * sizeof(double), s->device, what) ||
        !device_range_ok(U, matrix_bytes(m, ucols, ldu), s->device, what) ||
        !device_range_ok(VT, matrix_bytes(vtrows, n, ldvt), s->device, what) ||
        !device_range_ok(bufferOnDevice, workspaceInBytesOnDevice, s->device, what) ||
        !device_range_ok(info, sizeof(int), s->device, what))
        return CUSOLVER_STATUS_INVALID_VALUE;
    emu_op *op = new_op(OP_GESVD);
    if (!op)
        return CUSOLVER_STATUS_ALLOC_FAILED;
    op->iarg[0] = jobu;
    op->iarg[1] = jobvt;
    op->iarg[2] = (int)ldvt;
    op->larg[0] = m;
    op->larg[1] = n;
    op->larg[2] = lda;
    op->larg[3] = ldu;
    op->dst = A;
    op->aux = S;
    op->u = ucols ? U : NULL;
    op->vt = vtrows ? VT : NULL;
    op->work = bufferOnDevice;
    op->width = workspaceInBytesOnDevice;
    op->info = info;
    enqueue(s, op);
    emu.stats.gesvd_calls++;
    return CUSOLVER_STATUS_SUCCESS;
}
