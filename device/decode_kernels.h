/*
 * decode_kernels.h — the per-element logic of decoding HDF5 deflate (+shuffle)
 * chunks on the GPU, written once: compiled by nvcc into the kernels of
 * decode_kernels.cu (OOC_HD is __host__ __device__ there) and by the C
 * compiler into the host code of backend_cuda.c (the zlib header) and the
 * emulator's CPU twins of the kernels (tests/cuda_emu/decode_emu.c, plain
 * loops over the same functions), so the emulated tests run this arithmetic.
 *
 * Everything is integer and byte work, exact on any device: the decoded
 * rows are bit for bit the host decoder's (hdf5/h5source.c + zcodec.c).
 * The scan of the decoded rows is backend/block_scan.h's.  decode_launch.h
 * declares the launches.
 */
#ifndef OOC_DECODE_KERNELS_H
#define OOC_DECODE_KERNELS_H

#include "backend/block_scan.h" /* OOC_HD; the scan the decoder runs on the rows */

#include <stdint.h>
#include <string.h>

/* Adler-32 is summed over segments of this many bytes, one thread each, and
 * the segments combined per chunk: 4096 · 255 and 4096² · 255 / 2 stay below
 * 2³² (zlib's NMAX bound, 5552, is the same argument). */
#define OOC_ADLER_SEGMENT 4096u
#define OOC_ADLER_MOD 65521u

/* One chunk as the kernels see it (built on the host from an ooc_raw_chunk,
 * copied to the device).  src is the device address of its decoded bytes:
 * chunk_rows x chunk_cols float64, HDF5-shuffled when `shuffled`. */
typedef struct ooc_gpu_chunk {
    uint64_t src;          /* device address of the inflated (or plain) bytes */
    uint64_t nbytes;       /* decoded bytes: chunk_rows * chunk_cols * 8 */
    uint64_t seg_base;     /* index of its first Adler-32 segment (check_adler) */
    uint32_t chunk_cols;
    uint32_t shuffled;
    uint32_t row_skip;     /* first chunk row copied */
    uint32_t rows;         /* chunk rows copied */
    uint32_t block_row;    /* block row of chunk row row_skip */
    uint32_t cols;         /* chunk columns copied */
    uint32_t dest_col;     /* block column of chunk column 0 */
    uint32_t check_adler;  /* 1: a zlib chunk, whose Adler-32 the kernels compute */
} ooc_gpu_chunk;

/* A zlib stream header (RFC 1950) that deflate data may follow: CM 8
 * (deflate), a window of at most 32 KiB (CINFO <= 7), FCHECK (the two bytes
 * big-endian a multiple of 31) and no preset dictionary (FDICT).  Returns 0
 * when good, else which rule it breaks: 1 CM, 2 CINFO, 3 FCHECK, 4 FDICT. */
OOC_HD static inline int ooc_zlib_header_check(unsigned char cmf, unsigned char flg)
{
    if ((cmf & 0x0f) != 8)
        return 1;
    if ((cmf >> 4) > 7)
        return 2;
    if ((((unsigned)cmf << 8) | flg) % 31 != 0)
        return 3;
    if (flg & 0x20)
        return 4;
    return 0;
}

/* Element e (0-based) of a decoded chunk of n 8-byte elements as a double:
 * shuffled, byte b of element e sits at b·n + e (HDF5's shuffle filter: the
 * bytes of each significance together); else the 8 bytes at 8e.  The bytes
 * are little-endian, as on every CUDA device and the hosts this builds for. */
OOC_HD static inline double ooc_chunk_element(const unsigned char *src, uint64_t n,
                                              uint32_t shuffled, uint64_t e)
{
    uint64_t bits = 0;
    for (unsigned b = 0; b < 8; b++) {
        uint64_t at = shuffled ? (uint64_t)b * n + e : 8 * e + b;
        bits |= (uint64_t)src[at] << (8 * b);
    }
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Value k (0 <= k < rows · cols) of chunk c's part of the block, written
 * into the row-major block rows (ld doubles apart). */
OOC_HD static inline void ooc_scatter_value(const ooc_gpu_chunk *c, double *rows, uint64_t ld,
                                            uint64_t k)
{
    uint64_t r = k / c->cols, j = k % c->cols;
    uint64_t e = (uint64_t)(c->row_skip + r) * c->chunk_cols + j;
    const unsigned char *src = (const unsigned char *)(uintptr_t)c->src;
    rows[(uint64_t)(c->block_row + r) * ld + c->dest_col + j] =
        ooc_chunk_element(src, c->nbytes / 8, c->shuffled, e);
}

/* Segment s of chunk c: its byte sum and the sum of each byte times its
 * distance from the segment's end (both mod 65521), for ooc_adler_combine. */
OOC_HD static inline void ooc_adler_segment(const ooc_gpu_chunk *c, uint64_t s, uint32_t *sum1,
                                            uint32_t *sum2)
{
    const unsigned char *p = (const unsigned char *)(uintptr_t)c->src + s * OOC_ADLER_SEGMENT;
    uint64_t left = c->nbytes - s * OOC_ADLER_SEGMENT;
    uint32_t len = left < OOC_ADLER_SEGMENT ? (uint32_t)left : OOC_ADLER_SEGMENT;
    uint32_t a = 0, b = 0;
    for (uint32_t i = 0; i < len; i++) {
        a += p[i];
        b += a;   /* Σ_i (len - i)·p[i], summed as Σ of running sums */
    }
    *sum1 = a % OOC_ADLER_MOD;
    *sum2 = b % OOC_ADLER_MOD;
}

/* Segments of a chunk of nbytes bytes. */
OOC_HD static inline uint64_t ooc_adler_segments(uint64_t nbytes)
{
    return (nbytes + OOC_ADLER_SEGMENT - 1) / OOC_ADLER_SEGMENT;
}

/* The Adler-32 of a chunk from its segments' sums in order (nseg of them,
 * sums[2s], sums[2s+1]), nbytes in all.  With A = 1 + Σ d and B = Σ_k (n - k)
 * d_k + n over the whole message: appending a segment of length L with sums
 * (s1, s2) gives A' = A + s1 and B' = B + L·A + s2. */
OOC_HD static inline uint32_t ooc_adler_combine(const uint32_t *sums, uint64_t nseg,
                                                uint64_t nbytes)
{
    uint32_t a = 1, b = 0;
    for (uint64_t s = 0; s < nseg; s++) {
        uint64_t left = nbytes - s * OOC_ADLER_SEGMENT;
        uint32_t len = left < OOC_ADLER_SEGMENT ? (uint32_t)left : OOC_ADLER_SEGMENT;
        b = (uint32_t)((b + (uint64_t)len % OOC_ADLER_MOD * a + sums[2 * s + 1]) % OOC_ADLER_MOD);
        a = (a + sums[2 * s]) % OOC_ADLER_MOD;
    }
    return (b << 16) | a;
}

#endif
