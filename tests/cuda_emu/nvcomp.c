/*
 * nvcomp.c — a stand-in for the part of nvCOMP (NVIDIA's GPU compression
 * library) that device/backend_cuda.c calls, for the emulated builds: batched
 * deflate decompression inflated on the CPU with libdeflate, queued on the
 * emulated stream like the CUDA calls (cuda_emu_internal.h).  Compiled
 * against the real nvCOMP headers (the nvidia-libnvcomp-cu13 wheel), so a
 * prototype that drifts is a compile error.
 *
 * As nvCOMP documents: the temporary size depends on the batch; the call
 * checks its arguments (device-accessible arrays, input chunks aligned to
 * nvcompDeflateRequiredDecompressionAlignment, enough temporary memory) and
 * returns nvcompErrorInvalidValue for bad ones; each chunk gets a status
 * (nvcompErrorCannotDecompress for a corrupt stream or one that does not fit
 * its output buffer) and its inflated size.  Real nvCOMP calls corrupt input
 * undefined behaviour; the stand-in reports it, which is what the backend's
 * checks are written against.
 *
 * Knob (cuda_emu.h): ooc_emu_nvcomp_fail_chunk, or the environment variable
 * OOC_EMU_NVCOMP_FAIL=K read at the first batch: chunk K of every later batch
 * reports nvcompErrorCannotDecompress without being inflated.
 */
#include "cuda_emu_internal.h"

#include <nvcomp.h>
#include <nvcomp/deflate.h>

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>

static long fail_chunk = -1;
static bool fail_from_env_read;

void ooc_emu_nvcomp_fail_chunk(long index)
{
    fail_from_env_read = true;
    fail_chunk = index;
}

const char *nvcompGetStatusString(nvcompStatus_t status)
{
    switch (status) {
    case nvcompSuccess: return "nvcompSuccess";
    case nvcompErrorInvalidValue: return "nvcompErrorInvalidValue";
    case nvcompErrorNotSupported: return "nvcompErrorNotSupported";
    case nvcompErrorCannotDecompress: return "nvcompErrorCannotDecompress";
    case nvcompErrorBadChecksum: return "nvcompErrorBadChecksum";
    case nvcompErrorOutputBufferTooSmall: return "nvcompErrorOutputBufferTooSmall";
    case nvcompErrorCudaError: return "nvcompErrorCudaError";
    case nvcompErrorInternal: return "nvcompErrorInternal";
    default: return "nvcompError<other>";
    }
}

/* The stand-in's temporary memory: 64 bytes per chunk (a real nvCOMP needs
 * some; asking for it keeps the backend's allocation exercised). */
static size_t temp_for(size_t num_chunks)
{
    return 64 * num_chunks;
}

nvcompStatus_t nvcompBatchedDeflateDecompressGetTempSize(
    size_t num_chunks, size_t max_uncompressed_chunk_bytes,
    nvcompBatchedDeflateDecompressOpts_t decompress_opts, size_t *temp_bytes,
    size_t max_total_uncompressed_bytes, cudaStream_t stream)
{
    (void)decompress_opts;
    (void)stream;
    emu_init();
    if (!temp_bytes || max_uncompressed_chunk_bytes > nvcompDeflateDecompressionMaxAllowedChunkSize ||
        max_total_uncompressed_bytes < max_uncompressed_chunk_bytes) {
        emu_diagnose("nvcompBatchedDeflateDecompressGetTempSize: bad arguments (max chunk %zu, "
                     "total %zu)",
                     max_uncompressed_chunk_bytes, max_total_uncompressed_bytes);
        return nvcompErrorInvalidValue;
    }
    *temp_bytes = temp_for(num_chunks);
    return nvcompSuccess;
}

typedef struct inflate_args {
    const void *const *in_ptrs;
    const size_t *in_bytes, *buf_bytes;
    size_t *out_bytes;
    void *const *out_ptrs;
    nvcompStatus_t *statuses;
    size_t n;
    long fail;
} inflate_args;

/* A range the running decompression touches: device memory, or stop. */
static void must_be_device(const void *p, size_t nbytes, const char *what)
{
    if (!emu_device_range_ok(p, nbytes, -1, what)) {
        fprintf(stderr, "cuda_emu: nvCOMP fault: %s\n", ooc_emu_last_diagnostic());
        abort();   /* the emulator cannot keep its guarantees: stop the test */
    }
}

static void run_inflate(emu_op *op)
{
    const inflate_args *a = op->arg;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        fprintf(stderr, "cuda_emu: nvCOMP stand-in: out of memory\n");
        abort();
    }
    must_be_device(a->in_ptrs, a->n * sizeof *a->in_ptrs, "nvCOMP: input pointers");
    must_be_device(a->in_bytes, a->n * sizeof *a->in_bytes, "nvCOMP: input sizes");
    must_be_device(a->buf_bytes, a->n * sizeof *a->buf_bytes, "nvCOMP: output buffer sizes");
    must_be_device(a->out_bytes, a->n * sizeof *a->out_bytes, "nvCOMP: output sizes");
    must_be_device(a->out_ptrs, a->n * sizeof *a->out_ptrs, "nvCOMP: output pointers");
    must_be_device(a->statuses, a->n * sizeof *a->statuses, "nvCOMP: statuses");
    for (size_t i = 0; i < a->n; i++) {
        must_be_device(a->in_ptrs[i], a->in_bytes[i], "nvCOMP: input chunk");
        must_be_device(a->out_ptrs[i], a->buf_bytes[i], "nvCOMP: output chunk");
        size_t used = 0, produced = 0;
        enum libdeflate_result rc =
            (long)i == a->fail
                ? LIBDEFLATE_BAD_DATA
                : libdeflate_deflate_decompress_ex(d, a->in_ptrs[i], a->in_bytes[i],
                                                   a->out_ptrs[i], a->buf_bytes[i], &used,
                                                   &produced);
        a->statuses[i] = rc == LIBDEFLATE_SUCCESS ? nvcompSuccess : nvcompErrorCannotDecompress;
        a->out_bytes[i] = rc == LIBDEFLATE_SUCCESS ? produced : 0;
    }
    libdeflate_free_decompressor(d);
}

nvcompStatus_t nvcompBatchedDeflateDecompressAsync(
    const void *const *device_compressed_chunk_ptrs, const size_t *device_compressed_chunk_bytes,
    const size_t *device_uncompressed_buffer_bytes, size_t *device_uncompressed_chunk_bytes,
    size_t num_chunks, void *const device_temp_ptr, size_t temp_bytes,
    void *const *device_uncompressed_chunk_ptrs,
    nvcompBatchedDeflateDecompressOpts_t decompress_opts, nvcompStatus_t *device_statuses,
    cudaStream_t stream)
{
    (void)decompress_opts;
    emu_init();
    if (!fail_from_env_read) {
        const char *env = getenv("OOC_EMU_NVCOMP_FAIL");
        fail_chunk = env && *env ? strtol(env, NULL, 10) : -1;
        fail_from_env_read = true;
    }
    if (num_chunks == 0)
        return nvcompSuccess;
    const void *arrays[] = {device_compressed_chunk_ptrs, device_compressed_chunk_bytes,
                            device_uncompressed_buffer_bytes, device_uncompressed_chunk_bytes,
                            device_uncompressed_chunk_ptrs, device_statuses};
    const size_t entry[] = {sizeof(void *), sizeof(size_t), sizeof(size_t),
                            sizeof(size_t), sizeof(void *), sizeof(nvcompStatus_t)};
    for (size_t k = 0; k < sizeof arrays / sizeof *arrays; k++)
        if (!emu_device_range_ok(arrays[k], num_chunks * entry[k], -1,
                                 "nvcompBatchedDeflateDecompressAsync"))
            return nvcompErrorInvalidValue;
    if (temp_bytes < temp_for(num_chunks) ||
        !emu_device_range_ok(device_temp_ptr, temp_bytes, -1,
                             "nvcompBatchedDeflateDecompressAsync: temp")) {
        emu_diagnose("nvcompBatchedDeflateDecompressAsync: %zu bytes of temporary memory for "
                     "%zu chunks (needs %zu)",
                     temp_bytes, num_chunks, temp_for(num_chunks));
        return nvcompErrorInvalidValue;
    }
    inflate_args *a = malloc(sizeof *a);
    if (!a)
        return nvcompErrorInternal;
    *a = (inflate_args){device_compressed_chunk_ptrs, device_compressed_chunk_bytes,
                        device_uncompressed_buffer_bytes, device_uncompressed_chunk_bytes,
                        device_uncompressed_chunk_ptrs, device_statuses, num_chunks, fail_chunk};
    emu.stats.nvcomp_batches++;
    emu.stats.nvcomp_chunks += num_chunks;
    emu.traffic.nvcomp_chunks += num_chunks;
    return emu_enqueue_function(stream, run_inflate, a) == cudaSuccess ? nvcompSuccess
                                                                        : nvcompErrorCudaError;
}
