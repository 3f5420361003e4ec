/*
 * zcodec.c — HDF5-compatible shuffle, zlib-stream and blosc codecs (see
 * zcodec.h).
 *
 * Codec choice, measured on seed-like data (shuffled 1 MiB chunks of N(0,1)
 * columns, their products and 0/1 dummies; one core of this project's build
 * machine): ISA-L level 1 compresses at ~425 MB/s to ratio 1.55, libdeflate
 * level 1 at ~140 MB/s to ratio 1.60, libdeflate level 6 at ~50 MB/s to 1.63.
 * The default (level 1) therefore uses ISA-L; levels above ISA-L's maximum
 * (3) use libdeflate, which still yields the better ratio people ask for with
 * a high level.  libdeflate also decompresses faster (~550 vs ~450 MB/s).
 *
 * Blosc goes through libblosc 1.x's context functions (blosc_compress_ctx,
 * blosc_decompress_ctx): no global state, no lock, safe from any thread, and
 * one internal thread per call (the callers' worker pools are the
 * parallelism).  libblosc prints to stderr on some invalid arguments, so
 * every argument is checked here first; and blosc_decompress_ctx trusts the
 * frame's header for the input's length, so the header is checked against
 * the stored size (blosc_cbuffer_validate) before libblosc reads past it.
 */
#include "hdf5/zcodec.h"

#include "base/error.h"

#include <blosc.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
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

/* ---- codec choice and blosc -------------------------------------------- */

ooc_status ooc_codec_parse(const char *text, ooc_codec *out, ooc_error *err)
{
    /* Snappy is left out: PyTables' and hdf5plugin's blosc builds lack it,
     * so they could not read the file (libblosc still decodes it). */
    static const int writable[] = {BLOSC_BLOSCLZ, BLOSC_LZ4, BLOSC_LZ4HC, BLOSC_ZLIB, BLOSC_ZSTD};
    static const char prefix[] = "blosc:";
    memset(out, 0, sizeof *out);
    if (!text || !*text || strcmp(text, "deflate") == 0)
        return OOC_OK;
    const char *name = NULL;
    if (strcmp(text, "blosc") == 0)
        name = BLOSC_BLOSCLZ_COMPNAME;
    else if (strncmp(text, prefix, sizeof prefix - 1) == 0)
        name = text + sizeof prefix - 1;
    char choices[128] = "";
    size_t used = 0;
    for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
        const char *lib = NULL;
        if (blosc_compcode_to_compname(writable[i], &lib) < 0 || !lib)
            continue; /* not in this libblosc */
        if (name && strcmp(name, lib) == 0) {
            out->blosc = true;
            out->compressor = writable[i];
            return OOC_OK;
        }
        int n =
            snprintf(choices + used, sizeof choices - used, "%sblosc:%s", used ? ", " : "", lib);
        if (n > 0 && (size_t)n < sizeof choices - used)
            used += (size_t)n;
    }
    return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "unknown codec '%s': use deflate, %s", text,
                    choices);
}

const char *ooc_blosc_compressor_name(int code)
{
    switch (code) {
    case BLOSC_BLOSCLZ: return BLOSC_BLOSCLZ_COMPNAME;
    case BLOSC_LZ4: return BLOSC_LZ4_COMPNAME;
    case BLOSC_LZ4HC: return BLOSC_LZ4HC_COMPNAME;
    case BLOSC_SNAPPY: return BLOSC_SNAPPY_COMPNAME;
    case BLOSC_ZLIB: return BLOSC_ZLIB_COMPNAME;
    case BLOSC_ZSTD: return BLOSC_ZSTD_COMPNAME;
    default: return NULL;
    }
}

void ooc_blosc_cd_values(const ooc_codec *codec, int level, bool shuffle, size_t typesize,
                         size_t chunk_nbytes, unsigned cd_values[OOC_BLOSC_NPARAMS])
{
    cd_values[0] = OOC_BLOSC_FILTER_REVISION;
    cd_values[1] = BLOSC_VERSION_FORMAT;
    cd_values[2] = (unsigned)typesize;
    cd_values[3] = (unsigned)chunk_nbytes;
    cd_values[4] = (unsigned)level;
    cd_values[5] = shuffle ? BLOSC_SHUFFLE : BLOSC_NOSHUFFLE;
    cd_values[6] = (unsigned)codec->compressor;
}

ooc_status ooc_blosc_compress(const ooc_codec *codec, int level, bool shuffle, size_t typesize,
                              const void *src, size_t nbytes, void *dst, size_t dst_capacity,
                              size_t *out_nbytes, ooc_error *err)
{
    const char *name = NULL;
    *out_nbytes = 0;
    if (level < 0 || level > 9)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "blosc level must be 0..9, got %d", level);
    if (typesize < 1 || typesize > BLOSC_MAX_TYPESIZE || nbytes > BLOSC_MAX_BUFFERSIZE)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "blosc takes up to %d bytes of 1..%d-byte elements, not %zu bytes of "
                        "%zu-byte ones",
                        BLOSC_MAX_BUFFERSIZE, BLOSC_MAX_TYPESIZE, nbytes, typesize);
    if (blosc_compcode_to_compname(codec->compressor, &name) < 0 || !name)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "blosc compressor %d is not in this libblosc (%s)", codec->compressor,
                        blosc_list_compressors());
    /* Less room than a header: libblosc would not even write that. */
    if (dst_capacity < BLOSC_MAX_OVERHEAD)
        return OOC_OK;
    int n = blosc_compress_ctx(level, shuffle ? BLOSC_SHUFFLE : BLOSC_NOSHUFFLE, typesize, nbytes,
                               src, dst, dst_capacity, name, 0, 1);
    if (n < 0)
        return OOC_FAIL(err, OOC_ERR_INTERNAL, "blosc (%s) failed to compress %zu bytes (error %d)",
                        name, nbytes, n);
    *out_nbytes = (size_t)n;
    return OOC_OK;
}

ooc_status ooc_blosc_decompress(const void *src, size_t src_nbytes, void *dst,
                                size_t expected_nbytes, ooc_error *err)
{
    size_t nbytes = 0, cbytes = 0, blocksize = 0;
    if (src_nbytes < BLOSC_MIN_HEADER_LENGTH)
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "blosc frame of %zu bytes is shorter than its %d-byte header", src_nbytes,
                        BLOSC_MIN_HEADER_LENGTH);
    const unsigned char *header = src;
    if (header[0] < 1 || header[0] > BLOSC_VERSION_FORMAT)
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "blosc header has format version %d; libblosc %s reads versions 1..%d",
                        header[0], blosc_get_version_string(), BLOSC_VERSION_FORMAT);
    blosc_cbuffer_sizes(src, &nbytes, &cbytes, &blocksize);
    if (blosc_cbuffer_validate(src, src_nbytes, &nbytes) != 0)
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "blosc header declares %zu compressed bytes (and %zu decompressed), but "
                        "%zu are stored",
                        cbytes, nbytes, src_nbytes);
    if (nbytes != expected_nbytes)
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "blosc header declares %zu decompressed bytes, not the expected %zu",
                        nbytes, expected_nbytes);
    if (nbytes == 0)
        return OOC_OK;
    int n = blosc_decompress_ctx(src, dst, expected_nbytes, 1);
    if (n < 0 || (size_t)n != expected_nbytes) {
        const char *lib = blosc_cbuffer_complib(src);
        return OOC_FAIL(err, OOC_ERR_CORRUPT,
                        "blosc frame of %zu bytes (%s) does not decompress (error %d): corrupt "
                        "data, or a compressor this libblosc lacks (%s)",
                        src_nbytes, lib ? lib : "unknown compressor", n, blosc_list_compressors());
    }
    return OOC_OK;
}
