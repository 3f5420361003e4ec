/*
 * decode_launch.h — the GPU decoder's kernel launches, called by
 * backend_cuda.c (plain C).  Defined by decode_kernels.cu (nvcc, real CUDA
 * builds) and, for the emulated builds, by tests/cuda_emu/decode_emu.c (CPU
 * twins queued on the emulated stream).  Both run the functions of
 * decode_kernels.h.  Every pointer is device memory; each launch is queued on
 * `stream` and returns the launch's error (cudaGetLastError), not the
 * kernel's.
 */
#ifndef OOC_DECODE_LAUNCH_H
#define OOC_DECODE_LAUNCH_H

#include "decode_kernels.h"

#include <cuda_runtime_api.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Scatter the nchunks chunks' values into the row-major block (ld doubles
 * apart): ooc_scatter_value for every k < rows · cols of each chunk;
 * max_values is the largest rows · cols. */
cudaError_t ooc_gpu_scatter(const ooc_gpu_chunk *chunks, size_t nchunks, uint64_t max_values,
                            double *rows, uint64_t ld, cudaStream_t stream);

/* The Adler-32 of every chunk with check_adler: segment sums into sums
 * (2 per segment, at 2·seg_base), then adler[i] = ooc_adler_combine (chunks
 * without check_adler get 0).  max_segments: the most segments of a chunk. */
cudaError_t ooc_gpu_adler(const ooc_gpu_chunk *chunks, size_t nchunks, uint64_t max_segments,
                          uint32_t *sums, uint32_t *adler, cudaStream_t stream);

/* The scan vector (backend/block_scan.h) of the block's nrows rows (ld
 * doubles apart) into total (OOC_SCAN_WIDTH(spec.p) doubles), in its order:
 * ooc_scan_column for every column of every segment into seg (one vector of
 * that width per segment), then each entry merged over the segments in
 * order (ooc_scan_merge_value; unused entries keep their initial value) and
 * the shift set. */
cudaError_t ooc_gpu_scan(const double *rows, uint64_t ld, ooc_scan_spec spec, uint64_t nrows,
                         double *seg, double *total, cudaStream_t stream);

/* out[i] = sqrt(rows[i · ld + col]) for i < nrows: the weights' square roots
 * the update scales rows by (correctly rounded, as the host's sqrt). */
cudaError_t ooc_gpu_sqrt_column(const double *rows, uint64_t ld, uint64_t col, uint64_t nrows,
                                double *out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
