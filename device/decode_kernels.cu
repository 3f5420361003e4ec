/*
 * decode_kernels.cu — the GPU decoder's kernels (decode_launch.h), thin
 * loops over the functions of decode_kernels.h and backend/block_scan.h,
 * which the emulator's CPU twins (tests/cuda_emu/decode_emu.c) run too.
 * Compiled by nvcc only in the real CUDA build of the plugin with nvCOMP,
 * with -fmad=false: no a·b + c fused, so the scan's sums round as the host's.
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

/* one thread per (segment, column): consecutive threads take a segment's
 * consecutive columns */
__global__ void scan_segment_kernel(const double *rows, uint64_t ld, ooc_scan_spec spec,
                                    uint64_t nrows, double *seg)
{
    const uint64_t ncol = ooc_scan_columns(&spec), step = ooc_scan_segment_rows(nrows);
    const uint64_t nseg = ooc_scan_segments(nrows), width = OOC_SCAN_WIDTH(spec.p);
    const double shift = ooc_scan_shift(rows, &spec, nrows);
    for (uint64_t t = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; t < nseg * ncol;
         t += (uint64_t)gridDim.x * blockDim.x) {
        const uint64_t s = t / ncol, i0 = s * step;
        ooc_scan_column(rows, ld, &spec, t % ncol, i0, nrows - i0 < step ? nrows : i0 + step,
                        shift, seg + s * width);
    }
}

/* one thread per entry of the vector */
__global__ void scan_merge_kernel(const double *rows, ooc_scan_spec spec, uint64_t nrows,
                                  const double *seg, double *total)
{
    const uint64_t p = spec.p, width = OOC_SCAN_WIDTH(p), nseg = ooc_scan_segments(nrows);
    const uint64_t e = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= width)
        return;
    double t = ooc_scan_initial(p, e);
    if (ooc_scan_entry_used(&spec, e))
        for (uint64_t s = 0; s < nseg; s++)
            t = ooc_scan_merge_value(p, e, t, seg[s * width + e]);
    total[e] = e == OOC_SCAN_SHIFT(p) ? ooc_scan_shift(rows, &spec, nrows) : t;
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

extern "C" cudaError_t ooc_gpu_scan(const double *rows, uint64_t ld, ooc_scan_spec spec,
                                    uint64_t nrows, double *seg, double *total,
                                    cudaStream_t stream)
{
    const uint64_t threads = ooc_scan_segments(nrows) * ooc_scan_columns(&spec);
    if (threads > 0)
        scan_segment_kernel<<<blocks_for(threads), kThreads, 0, stream>>>(rows, ld, spec, nrows,
                                                                          seg);
    scan_merge_kernel<<<blocks_for(OOC_SCAN_WIDTH(spec.p)), kThreads, 0, stream>>>(
        rows, spec, nrows, seg, total);
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
