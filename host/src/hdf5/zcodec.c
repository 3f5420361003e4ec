/*
 * zcodec.c — HDF5-compatible shuffle and zlib-stream codecs (see zcodec.h).
 *
 * Codec choice, measured on seed-like data (shuffled 1 MiB chunks of N(0,1)
 * columns, their products and 0/1 dummies; one core of this project's build
 * machine): ISA-L level 1 compresses at ~425 MB/s to ratio 1.55, libdeflate
 * level 1 at ~140 MB/s to ratio 1.60, libdeflate level 6 at ~50 MB/s to 1.63.
 * The default (level 1) therefore uses ISA-L; levels above ISA-L's maximum
 * (3) use libdeflate, which still yields the better ratio people ask for with
 * a high level.  libdeflate also decompresses faster (~550 vs ~450 MB/s).
 */
#include "hdf5/zcodec.h"

#include "base/error.h"

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- shuffle ----------------------------------------------------------- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OOC_LITTLE_ENDIAN 1
#else
#define OOC_LITTLE_ENDIAN 0
#endif

/* Transpose the 8x8 byte matrix held in r[0..7] (row i = the 8 bytes of
 * r[i] in memory order, little-endian) in place: afterwards byte i of r[j]
 * is what was byte j of r[i].  Three rounds swap 4x4, 2x2 and 1x1 blocks. */
static void transpose8x8(uint64_t r[8])
{
    for (int i = 0; i < 4; i++) {
        uint64_t a = r[i], b = r[i + 4];
        r[i] = (a & 0x00000000FFFFFFFFull) | (b << 32);
        r[i + 4] = (a >> 32) | (b & 0xFFFFFFFF00000000ull);
    }
    static const int rows2[4] = {0, 1, 4, 5};
    for (int k = 0; k < 4; k++) {
        int i = rows2[k];
        uint64_t a = r[i], b = r[i + 2];
        r[i] = (a & 0x0000FFFF0000FFFFull) | ((b & 0x0000FFFF0000FFFFull) << 16);
        r[i + 2] = ((a >> 16) & 0x0000FFFF0000FFFFull) | (b & 0xFFFF0000FFFF0000ull);
    }
    for (int i = 0; i < 8; i += 2) {
        uint64_t a = r[i], b = r[i + 1];
        r[i] = (a & 0x00FF00FF00FF00FFull) | ((b & 0x00FF00FF00FF00FFull) << 8);
        r[i + 1] = ((a >> 8) & 0x00FF00FF00FF00FFull) | (b & 0xFF00FF00FF00FF00ull);
    }
}

void ooc_shuffle(const void *src, void *dst, size_t nbytes, size_t elem_size)
{
    const unsigned char *in = src;
    unsigned char *out = dst;
    size_t n = elem_size ? nbytes / elem_size : 0;
    size_t i = 0;
    if (elem_size <= 1 || n <= 1) {
        memcpy(out, in, nbytes);
        return;
    }
    if (elem_size == 8 && OOC_LITTLE_ENDIAN) {
        for (; i + 8 <= n; i += 8) {
            uint64_t r[8];
            memcpy(r, in + i * 8, sizeof r);
            transpose8x8(r);
            for (size_t j = 0; j < 8; j++)
                memcpy(out + j * n + i, &r[j], 8);
        }
    }
    for (; i < n; i++)
        for (size_t j = 0; j < elem_size; j++)
            out[j * n + i] = in[i * elem_size + j];
    memcpy(out + n * elem_size, in + n * elem_size, nbytes - n * elem_size);
}

void ooc_unshuffle(const void *src, void *dst, size_t nbytes, size_t elem_size)
{
    const unsigned char *in = src;
    unsigned char *out = dst;
    size_t n = elem_size ? nbytes / elem_size : 0;
    size_t i = 0;
    if (elem_size <= 1 || n <= 1) {
        memcpy(out, in, nbytes);
        return;
    }
    if (elem_size == 8 && OOC_LITTLE_ENDIAN) {
        for (; i + 8 <= n; i += 8) {
            uint64_t r[8];
            for (size_t j = 0; j < 8; j++)
                memcpy(&r[j], in + j * n + i, 8);
            transpose8x8(r);
            memcpy(out + i * 8, r, sizeof r);
        }
    }
    for (; i < n; i++)
        for (size_t j = 0; j < elem_size; j++)
            out[i * elem_size + j] = in[j * n + i];
    memcpy(out + n * elem_size, in + n * elem_size, nbytes - n * elem_size);
}

/* ---- zlib compression -------------------------------------------------- */

struct ooc_zlib_compressor {
    int isal_level;                          /* 1..3 when ISA-L is used, else 0 */
    unsigned char *isal_level_buf;           /* ISA-L's per-level scratch */
    size_t isal_level_buf_nbytes;
    struct libdeflate_compressor *libdeflate; /* used when isal_level == 0 */
};

/* Run ISA-L once on a buffer; returns the output size or 0 on any failure
 * (including output overflow). */
static size_t isal_zlib_compress(ooc_zlib_compressor *c, const void *src, size_t src_nbytes,
                                 void *dst, size_t dst_capacity)
{
    if (src_nbytes > UINT32_MAX)
        return 0;
    struct isal_zstream s;
    isal_deflate_stateless_init(&s);
    s.level = (uint32_t)c->isal_level;
    s.level_buf = c->isal_level_buf;
    s.level_buf_size = (uint32_t)c->isal_level_buf_nbytes;
    s.gzip_flag = IGZIP_ZLIB;
    s.next_in = (uint8_t *)(uintptr_t)src; /* ISA-L does not write its input */
    s.avail_in = (uint32_t)src_nbytes;
    s.next_out = dst;
    s.avail_out = dst_capacity > UINT32_MAX ? UINT32_MAX : (uint32_t)dst_capacity;
    if (isal_deflate_stateless(&s) != COMP_OK)
        return 0;
    return s.total_out;
}

ooc_status ooc_zlib_compressor_new(int level, ooc_zlib_compressor **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_zlib_compressor *c = NULL;
    *out = NULL;
    OOC_FAIL_IF(level < 1 || level > 9, err, OOC_ERR_INVALID_ARG,
                "deflate level must be 1..9, got %d", level);
    c = calloc(1, sizeof *c);
    OOC_FAIL_IF(!c, err, OOC_ERR_NOMEM, "out of memory allocating a compressor");
    if (level <= ISAL_DEF_MAX_LEVEL) {
        static const size_t level_buf_nbytes[4] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                                   ISAL_DEF_LVL3_DEFAULT};
        c->isal_level = level;
        c->isal_level_buf_nbytes = level_buf_nbytes[level];
        c->isal_level_buf = malloc(c->isal_level_buf_nbytes);
        OOC_FAIL_IF(!c->isal_level_buf, err, OOC_ERR_NOMEM,
                    "out of memory allocating a compressor");
        /* Some ISA-L builds lack the higher levels on some CPUs: probe once
         * and fall back to libdeflate rather than failing every chunk. */
        unsigned char probe_in[64] = {0}, probe_out[128];
        if (isal_zlib_compress(c, probe_in, sizeof probe_in, probe_out, sizeof probe_out) == 0) {
            free(c->isal_level_buf);
            c->isal_level_buf = NULL;
            c->isal_level = 0;
        }
    }
    if (c->isal_level == 0) {
        c->libdeflate = libdeflate_alloc_compressor(level);
        OOC_FAIL_IF(!c->libdeflate, err, OOC_ERR_NOMEM,
                    "out of memory allocating a compressor");
    }
    *out = c;
    c = NULL;
out:
    ooc_zlib_compressor_free(c);
    return status;
}

size_t ooc_zlib_compress(ooc_zlib_compressor *c, const void *src, size_t src_nbytes, void *dst,
                         size_t dst_capacity)
{
    if (c->isal_level)
        return isal_zlib_compress(c, src, src_nbytes, dst, dst_capacity);
    return libdeflate_zlib_compress(c->libdeflate, src, src_nbytes, dst, dst_capacity);
}

void ooc_zlib_compressor_free(ooc_zlib_compressor *c)
{
    if (!c)
        return;
    free(c->isal_level_buf);
    if (c->libdeflate)
        libdeflate_free_compressor(c->libdeflate);
    free(c);
}

/* ---- zlib decompression ------------------------------------------------ */

struct ooc_zlib_decompressor {
    struct libdeflate_decompressor *libdeflate;
};

ooc_status ooc_zlib_decompressor_new(ooc_zlib_decompressor **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_zlib_decompressor *d = calloc(1, sizeof *d);
    *out = NULL;
    OOC_FAIL_IF(!d, err, OOC_ERR_NOMEM, "out of memory allocating a decompressor");
    d->libdeflate = libdeflate_alloc_decompressor();
    OOC_FAIL_IF(!d->libdeflate, err, OOC_ERR_NOMEM, "out of memory allocating a decompressor");
    *out = d;
    d = NULL;
out:
    ooc_zlib_decompressor_free(d);
    return status;
}

ooc_status ooc_zlib_decompress(ooc_zlib_decompressor *d, const void *src, size_t src_nbytes,
                               void *dst, size_t dst_capacity, size_t *out_nbytes,
                               ooc_error *err)
{
    size_t got = 0;
    *out_nbytes = 0;
    enum libdeflate_result r =
        libdeflate_zlib_decompress(d->libdeflate, src, src_nbytes, dst, dst_capacity, &got);
    switch (r) {
    case LIBDEFLATE_SUCCESS:
        *out_nbytes = got;
        return OOC_OK;
    case LIBDEFLATE_INSUFFICIENT_SPACE:
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "deflate stream of %zu bytes decompresses to more than the expected %zu "
                        "bytes",
                        src_nbytes, dst_capacity);
    case LIBDEFLATE_SHORT_OUTPUT: /* only reported when actual size is not requested */
    case LIBDEFLATE_BAD_DATA:
    default:
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "deflate stream of %zu bytes is corrupt (invalid data, Adler-32 "
                        "mismatch, or more than the expected %zu bytes of output)",
                        src_nbytes, dst_capacity);
    }
}

void ooc_zlib_decompressor_free(ooc_zlib_decompressor *d)
{
    if (!d)
        return;
    if (d->libdeflate)
        libdeflate_free_decompressor(d->libdeflate);
    free(d);
}
