/*
 * test_decode_kernels.c — the GPU decoder's per-element functions
 * (device/decode_kernels.h), on the host, against independent references:
 *  - Adler-32 by segments (ooc_adler_segment + ooc_adler_combine, how the
 *    kernels split it) equals the byte-at-a-time definition of RFC 1950, for
 *    lengths around the segment size and zlib's NMAX, and for all-0xff data
 *    (the largest sums: the segment's 32-bit bound);
 *  - the zlib header check accepts what zlib writes at every level (78 01,
 *    78 5e, 78 9c, 78 da) and names the rule a bad header breaks;
 *  - ooc_chunk_element of a shuffled chunk is element e of ooc_unshuffle
 *    (hdf5/zcodec.c, the host decoder), and ooc_scatter_value puts each
 *    value where the host's scatter does.
 */
#include "decode_kernels.h"
#include "hdf5/zcodec.h"
#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* RFC 1950's definition, one byte at a time. */
static uint32_t adler_reference(const unsigned char *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

/* Adler-32 of p[0..n) as the kernels compute it. */
static uint32_t adler_by_segments(const unsigned char *p, size_t n)
{
    ooc_gpu_chunk c = {.src = (uint64_t)(uintptr_t)p, .nbytes = n, .check_adler = 1};
    uint64_t nseg = ooc_adler_segments(n);
    uint32_t *sums = malloc((2 * nseg + 2) * sizeof *sums);
    for (uint64_t s = 0; s < nseg; s++)
        ooc_adler_segment(&c, s, &sums[2 * s], &sums[2 * s + 1]);
    uint32_t v = ooc_adler_combine(sums, nseg, n);
    free(sums);
    return v;
}

static void test_adler(void)
{
    const size_t lengths[] = {0, 1, 2, 4095, 4096, 4097, 5552, 8192, 3 * 5552 + 1, 100003};
    const size_t max = 100003;
    unsigned char *data = malloc(max), *ones = malloc(max);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (unsigned char)x;
        ones[i] = 0xff;
    }
    for (size_t k = 0; k < sizeof lengths / sizeof *lengths; k++) {
        size_t n = lengths[k];
        CHECK_MSG(adler_by_segments(data, n) == adler_reference(data, n), "random, %zu bytes", n);
        CHECK_MSG(adler_by_segments(ones, n) == adler_reference(ones, n), "0xff, %zu bytes", n);
    }
    free(data);
    free(ones);
}

static void test_zlib_header(void)
{
    const unsigned char good[][2] = {{0x78, 0x01}, {0x78, 0x5e}, {0x78, 0x9c}, {0x78, 0xda},
                                     {0x08, 0x1d}};
    for (size_t k = 0; k < sizeof good / sizeof *good; k++)
        CHECK_MSG(ooc_zlib_header_check(good[k][0], good[k][1]) == 0, "%02x %02x", good[k][0],
                  good[k][1]);
    CHECK(ooc_zlib_header_check(0x00, 0x5e) == 1);   /* CM 0 */
    CHECK(ooc_zlib_header_check(0x88, 0x98) == 2);   /* CINFO 8: a 64 KiB window */
    CHECK(ooc_zlib_header_check(0x78, 0x9d) == 3);   /* FCHECK */
    CHECK(ooc_zlib_header_check(0x78, 0xbb) == 4);   /* FDICT (0x78bb is a multiple of 31) */
}

static void test_unshuffle_and_scatter(void)
{
    enum { ROWS = 37, COLS = 3, N = ROWS * COLS, LD = 5 };
    double values[N], shuffled[N], natural[N];
    for (size_t e = 0; e < N; e++)
        values[e] = (double)e * 1.0000001 - 17.25;
    ooc_shuffle(values, shuffled, sizeof values, 8);
    ooc_unshuffle(shuffled, natural, sizeof shuffled, 8);
    for (uint64_t e = 0; e < N; e++) {
        double v = ooc_chunk_element((const unsigned char *)shuffled, N, 1, e);
        double u = ooc_chunk_element((const unsigned char *)values, N, 0, e);
        CHECK_MSG(memcmp(&v, &natural[e], 8) == 0, "shuffled element %llu",
                  (unsigned long long)e);
        CHECK_MSG(memcmp(&u, &values[e], 8) == 0, "plain element %llu", (unsigned long long)e);
    }
    /* chunk rows 5..20, its first 2 columns, into block rows 3.. at column 1 */
    double block[40 * LD];
    for (size_t i = 0; i < 40 * LD; i++)
        block[i] = -1.0;
    ooc_gpu_chunk c = {.src = (uint64_t)(uintptr_t)shuffled, .nbytes = sizeof shuffled,
                       .chunk_cols = COLS, .shuffled = 1, .row_skip = 5, .rows = 16,
                       .block_row = 3, .cols = 2, .dest_col = 1};
    for (uint64_t k = 0; k < (uint64_t)c.rows * c.cols; k++)
        ooc_scatter_value(&c, block, LD, k);
    for (size_t r = 0; r < 40; r++)
        for (size_t j = 0; j < LD; j++) {
            bool inside = r >= 3 && r < 19 && j >= 1 && j < 3;
            double want = inside ? values[(r - 3 + 5) * COLS + (j - 1)] : -1.0;
            CHECK_MSG(block[r * LD + j] == want, "block (%zu, %zu)", r, j);
        }
}

int main(void)
{
    test_adler();
    test_zlib_header();
    test_unshuffle_and_scatter();
    return TEST_EXIT();
}
