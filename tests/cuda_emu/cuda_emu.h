/*
 * cuda_emu.h — test-only controls of the strict CPU emulation of the CUDA
 * runtime, cuBLAS and cuSOLVER calls made by device/backend_cuda.c
 * (tests/cuda_emu/runtime.c, cublas.c, cusolver.c).  The emulation itself is
 * reached through the real CUDA headers; this header only adds knobs and
 * counters for tests.
 *
 * Not thread-safe: like the backend it serves, the emulator is driven from
 * one thread.
 */
#ifndef OOC_CUDA_EMU_H
#define OOC_CUDA_EMU_H

#include <stdbool.h>
#include <stddef.h>

/* Counters since the last ooc_emu_reset_stats(). */
typedef struct ooc_emu_stats {
    size_t pinned_copies;      /* host<->device copies whose host side is cudaHostAlloc memory */
    size_t pinned_bytes;
    size_t pageable_copies;    /* host<->device copies whose host side is ordinary memory */
    size_t pageable_bytes;
    size_t h2d_bytes;          /* bytes copied host to device (either kind of host memory) */
    size_t d2h_bytes;          /* bytes copied device to host */
    size_t ops_enqueued;       /* stream operations queued (copies, memsets, library calls, markers) */
    size_t ops_executed;       /* of those, executed (lazily, at synchronisation points) */
    size_t sync_points;        /* host synchronisation calls that executed queued work */
    size_t argument_errors;    /* calls rejected for invalid arguments */
    size_t device_bytes_in_use;/* current cudaMalloc total on all devices */
    size_t trsv_calls;         /* cublasDtrsv calls accepted (queued) */
    size_t gesvd_calls;        /* cusolverDnXgesvd calls accepted (queued) */
    size_t gesvd_size_queries; /* cusolverDnXgesvd_bufferSize calls answered */
    size_t nvcomp_batches;     /* nvcompBatchedDeflateDecompressAsync calls queued (nvcomp.c) */
    size_t nvcomp_chunks;      /* chunks in them */
} ooc_emu_stats;

/* Copy the counters into *out. */
void ooc_emu_get_stats(ooc_emu_stats *out);

/* Zero the counters (device_bytes_in_use is kept).  With the environment
 * variable OOC_EMU_TRAFFIC set to a path, the emulator writes the counters
 * of the whole process there when it exits (or its module is unloaded), as
 * JSON {"h2d_bytes": N, "d2h_bytes": N, "nvcomp_chunks": N}: how a test of a
 * program (the CLI over the emulated plugin) sees what crossed "PCIe". */
void ooc_emu_reset_stats(void);

/* Number of emulated devices reported by cudaGetDeviceCount (default: env
 * OOC_EMU_DEVICE_COUNT, else 1).  0 makes cudaGetDeviceCount fail with
 * cudaErrorNoDevice.  At most 8. */
void ooc_emu_set_device_count(int count);

/* Memory of each emulated device in bytes (default: env
 * OOC_EMU_DEVICE_MEMORY, else 8 GiB).  cudaMalloc beyond it fails with
 * cudaErrorMemoryAllocation. */
void ooc_emu_set_device_memory(size_t nbytes);

/* When false, cudaHostAlloc fails with cudaErrorMemoryAllocation (to test
 * the pageable fallback).  Default true. */
void ooc_emu_set_pinned_available(bool available);

/* Queued, not yet executed stream operations on all streams. */
size_t ooc_emu_pending_ops(void);

/* The last diagnostic the emulator produced for a rejected call ("" if
 * none); static storage, overwritten by the next diagnostic. */
const char *ooc_emu_last_diagnostic(void);

/* The nvCOMP stand-in (nvcomp.c): chunk `index` of every later batch
 * reports nvcompErrorCannotDecompress without being inflated; -1 stops it.
 * Default: the environment variable OOC_EMU_NVCOMP_FAIL, else -1. */
void ooc_emu_nvcomp_fail_chunk(long index);

/* True when ptr lies inside memory returned by cudaMalloc. */
bool ooc_emu_is_device_pointer(const void *ptr);

#endif
