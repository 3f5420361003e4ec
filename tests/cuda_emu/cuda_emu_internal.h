/*
 * cuda_emu_internal.h — what the three parts of the CUDA emulator share: the
 * device-memory registry, the lazy stream queue and the emulator's state
 * (runtime.c owns them), which cublas.c and cusolver.c queue their calls on.
 *
 * The emulator is a strict CPU emulation of exactly the CUDA runtime, cuBLAS
 * and cuSOLVER functions used by device/backend_cuda.c, built on OpenBLAS and
 * LAPACKE.  It is compiled against the real CUDA 13 headers, so every
 * definition must match the toolkit's prototype (a drift is a compile error).
 * Linked in place of libcudart/libcublas/libcusolver into the emulated test
 * build of the backend.
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
#ifndef OOC_CUDA_EMU_INTERNAL_H
#define OOC_CUDA_EMU_INTERNAL_H

#include "cuda_emu.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_MAX_DEVICES 8

/* One cudaMalloc allocation. */
typedef struct emu_region {
    char *base;
    size_t nbytes;      /* requested size */
    size_t mapped;      /* mmap'd size (page multiple) */
    size_t accounted;   /* bytes charged to the device (256-byte granules) */
    int device;
    struct emu_region *next;
} emu_region;

/* One cudaHostAlloc allocation. */
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
    OP_SYRK,     /* cuBLAS operations (cublas.c executes them) */
    OP_GEAM,
    OP_DGMM,
    OP_TRMM,
    OP_TRSV,
    OP_GEQRF,    /* cuSOLVER operations (cusolver.c executes them) */
    OP_POTRF,
    OP_GESVD,
    OP_FUNCTION  /* a kernel twin or an nvCOMP call: op->run(op), then op->arg freed */
} op_kind;

/* A queued stream operation; the fields each kind uses are set by the call
 * that queues it and read by the code that executes it. */
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
    void (*run)(struct emu_op *op);   /* OP_FUNCTION */
    void *arg;                        /* OP_FUNCTION: its arguments (malloc'd, freed after) */
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

/* The emulator's whole state (defined in runtime.c). */
typedef struct emu_state {
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
    ooc_emu_stats traffic;       /* copies' bytes since start, for OOC_EMU_TRAFFIC */
    char traffic_path[1024];
    char diagnostic[512];
} emu_state;

extern emu_state emu;

/* Set the defaults (device count, memory: from the environment) on first use. */
void emu_init(void);

/* Record a diagnostic for a rejected call (ooc_emu_last_diagnostic) and
 * count it as an argument error. */
void emu_diagnose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when the device range [p, p + nbytes) lies inside one allocation of
 * `device` (any device when device < 0); else false with a diagnostic naming
 * `what`.  An empty range is always valid. */
bool emu_device_range_ok(const void *p, size_t nbytes, int device, const char *what);


/* The stream work queued by a cuBLAS/cuSOLVER handle of `device` bound to
 * `stream` goes to (a default stream means that device's legacy stream);
 * NULL with a diagnostic when `device` is not the current device. */
struct CUstream_st *emu_handle_stream(int device, cudaStream_t stream, const char *what);

/* A zeroed operation of `kind` (NULL when out of memory); emu_enqueue takes it. */
emu_op *emu_new_op(op_kind kind);

/* Append op to stream s, which owns it from now on (it is executed lazily). */
void emu_enqueue(struct CUstream_st *s, emu_op *op);

/* Queue run(op) on the stream work of the current device's `stream` goes
 * to, arg (malloc'd; freed after run, or now when queueing fails) in op->arg:
 * how decode_emu.c's kernel twins and nvcomp.c's decompression run lazily,
 * device memory accessible.  cudaErrorMemoryAllocation when out of memory. */
cudaError_t emu_enqueue_function(cudaStream_t stream, void (*run)(emu_op *op), void *arg);

/* Execute a queued cuBLAS operation (cublas.c), device memory accessible. */
void emu_execute_blas(emu_op *op);

/* Execute a queued cuSOLVER operation (cusolver.c), device memory accessible. */
void emu_execute_solver(emu_op *op);

/* cuBLAS's fill modes (also the uplo argument of cuSOLVER). */
static inline bool emu_valid_fill(cublasFillMode_t f)
{
    return f == CUBLAS_FILL_MODE_LOWER || f == CUBLAS_FILL_MODE_UPPER;
}

/* max(1, v), the smallest valid leading dimension for v rows. */
static inline int emu_imax1(int64_t v)
{
    return v > 1 ? (int)v : 1;
}

/* Bytes spanned by a column-major rows x cols double matrix with leading dimension ld. */
static inline size_t emu_matrix_bytes(int64_t rows, int64_t cols, int64_t ld)
{
    if (rows <= 0 || cols <= 0)
        return 0;
    return (size_t)((cols - 1) * ld + rows) * sizeof(double);
}

#endif
