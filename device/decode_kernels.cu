/*
 * decode_kernels.cu — the GPU decoder's kernels (decode_launch.h), thin
 * loops over the functions of decode_kernels.h, which the emulator's CPU
 * twins (tests/cuda_emu/decode_emu.c) run too.  Compiled by nvcc only in the
 * real CUDA build of the plugin with nvCOMP.
 */
#include "decode_launch.h"

#include <math.h>

namespace {

constexpr unsigned kThreads = 256;

/* grid.y: chunk; x: values of that chunk */
__global__ void scatter_kernel(const ooc_gpu_chunk *chunks, double *rows, uint64_t ld)
{
    const ooc_gpu_chunk c = chunks[blockIdx.y];
    const uint64_t n = (uint64_t)c.rows * c.cols;
    for (uint64_t k = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; k < n;
         k += (uint64_t)gridDim.x * blockDim.x)
        ooc_scatter_value(&c, rows, ld, k);
}

/* grid.y: chunk; x: its segments */
__global__ void adler_segment_kernel(const ooc_gpu_chunk *chunks, uint32_t *sums)
{
    const ooc_gpu_chunk c = chunks[blockIdx.y];
    if (!c.check_adler)
        return;
    const uint64_t nseg = ooc_adler_segments(c.nbytes);
    for (uint64_t s = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; s < nseg;
         s += (uint64_t)gridDim.x * blockDim.x)
        ooc_adler_segment(&c, s, &sums[2 * (c.seg_base + s)], &sums[2 * (c.seg_base + s) + 1]);
}

/* one thread per chunk */
__global__ void adler_combine_kernel(const ooc_gpu_chunk *chunks, size_t nchunks,
                                     const uint32_t *sums, uint32_t *adler)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nchunks)
        return;
    const ooc_gpu_chunk c = chunks[i];
    adler[i] = c.check_adler ? ooc_adler_combine(sums + 2 * c.seg_base,
                                                 ooc_adler_segments(c.nbytes), c.nbytes)
                             : 0u;
}

__global__ void sqrt_kernel(const double *rows, uint64_t ld, uint64_t col, uint64_t nrows,
                            double *out)
{
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < nrows;
         i += (uint64_t)gridDim.x * blockDim.x)
        out[i] = sqrt(rows[i * ld + col]);
}

/* Blocks for n items, capped (the kernels stride over the rest). */
unsigned blocks_for(uint64_t n)
{
    uint64_t b = (n + kThreads - 1) / kThreads;
    return b == 0 ? 1u : b > 65535u ? 65535u : (unsigned)b;
}

} // namespace

extern "C" cudaError_t ooc_gpu_scatter(const ooc_gpu_chunk *chunks, size_t nchunks,
                                       uint64_t max_values, double *rows, uint64_t ld,
                                       cudaStream_t stream)
{
    if (nchunks == 0)
        return cudaSuccess;
    if (nchunks > 65535)
        return cudaErrorInvalidValue;
    scatter_kernel<<<dim3(blocks_for(max_values), (unsigned)nchunks), kThreads, 0, stream>>>(
        chunks, rows, ld);
    return cudaGetLastError();
}

extern "C" cudaError_t ooc_gpu_adler(const ooc_gpu_chunk *chunks, size_t nchunks,
                                     uint64_t max_segments, uint32_t *sums, uint32_t *adler,
                                     cudaStream_t stream)
{
    if (nchunks == 0)
        return cudaSuccess;
    if (nchunks > 65535)
        return cudaErrorInvalidValue;
    adler_segment_kernel<<<dim3(blocks_for(max_segments), (unsigned)nchunks), kThreads, 0,
                           stream>>>(chunks, sums);
    adler_combine_kernel<<<blocks_for(nchunks), kThreads, 0, stream>>>(chunks, nchunks, sums,
                                                                        adler);
    return cudaGetLastError();
}

extern "C" cudaError_t ooc_gpu_sqrt_column(const double *rows, uint64_t ld, uint64_t col,
                                           uint64_t nrows, double *out, cudaStream_t stream)
{
    if (nrows == 0)
        return cudaSuccess;
    sqrt_kernel<<<blocks_for(nrows), kThreads, 0, stream>>>(rows, ld, col, nrows, out);
    return cudaGetLastError();
}
