/*
 * test_h5write.c — tests of the HDF5 writer (h5write.h), the shuffle, zlib
 * and blosc codecs and the codec names (zcodec.h) and ooc_h5_describe
 * (h5info.h).
 *
 * The writer's files are read back with plain HDF5 calls (H5Dread through
 * the library's own shuffle/deflate filters, so the encoding is checked by
 * an independent decoder) and compared bit for bit with what was appended.
 * This libhdf5 has no blosc filter: blosc files are read chunk by chunk
 * (H5Dread_chunk) and decoded with libblosc's global blosc_decompress, not
 * the context function the library uses (PyTables and hdf5plugin read them
 * in interop/codec_blosc.py).
 *
 * With arguments `--write-sample FILE` it instead writes the small
 * deterministic file used by interop_pytables.py (values there are
 * X[i][j] = (i*p + j) * 0.5 - 3 and Y[i] = i / 4, exact in binary).
 */
#include "base/error.h"
#include "hdf5/h5info.h"
#include "hdf5/h5write.h"
#include "testutil.h"
#include "hdf5/zcodec.h"

#include <blosc.h>
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x12345678abcdefull;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Seed-like rows: a few "continuous" columns with 17-digit values, products,
 * 0/1 dummies; every 7th column random bit patterns (incompressible). */
static void fill_matrix(double *X, double *y, size_t n, size_t p, bool incompressible)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p; j++) {
            uint64_t r = rng_next();
            double v;
            if (incompressible) {
                memcpy(&v, &r, sizeof v);
                if (v != v) /* keep NaN payloads out of the picture */
                    v = (double)r;
            } else if (j % 3 == 0) {
                v = (double)(r >> 11) / 9007199254740992.0 - 0.5;
            } else if (j % 3 == 1) {
                v = (double)(r % 2);
            } else {
                v = (double)(i % 5) * 0.25;
            }
            X[i * p + j] = v;
        }
        y[i] = (double)(rng_next() >> 11) / 1024.0;
    }
}

/* Count directory entries whose names start with `prefix`. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Read a scalar fixed-length string attribute; checks its HDF5 type
 * (size = strlen, NULLTERM, cset).  Empty value: NULL dataspace expected. */
static void check_string_attr(hid_t obj, const char *name, const char *expected, H5T_cset_t cset)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    CHECK_MSG(attr >= 0, "attribute %s missing", name);
    if (attr < 0)
        return;
    hid_t type = H5Aget_type(attr);
    hid_t space = H5Aget_space(attr);
    size_t len = strlen(expected);
    CHECK(H5Tget_class(type) == H5T_STRING);
    CHECK(!H5Tis_variable_str(type));
    CHECK_MSG(H5Tget_size(type) == (len ? len : 1), "%s: size %zu", name, H5Tget_size(type));
    CHECK(H5Tget_strpad(type) == H5T_STR_NULLTERM);
    CHECK_MSG(H5Tget_cset(type) == cset, "%s: cset", name);
    if (len == 0) {
        CHECK_MSG(H5Sget_simple_extent_type(space) == H5S_NULL, "%s: dataspace not NULL", name);
    } else {
        CHECK(H5Sget_simple_extent_type(space) == H5S_SCALAR);
        char buf[256] = {0};
        CHECK(len < sizeof buf);
        CHECK(H5Aread(attr, type, buf) >= 0);
        CHECK_STREQ(buf, expected);
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attr);
}

/* ---- codec tests -------------------------------------------------------- */

static void test_shuffle(void)
{
    unsigned char in[203], ref[203], out[203], back[203];
    static const size_t elem_sizes[] = {1, 2, 3, 4, 8, 16};
    for (size_t k = 0; k < sizeof in; k++)
        in[k] = (unsigned char)rng_next();
    for (size_t e = 0; e < sizeof elem_sizes / sizeof elem_sizes[0]; e++) {
        size_t es = elem_sizes[e];
        for (size_t nbytes = 0; nbytes <= sizeof in; nbytes += (nbytes < 40 ? 1 : 17)) {
            /* Reference: HDF5's definition, written out naively. */
            size_t n = nbytes / es;
            memcpy(ref, in, nbytes);
            if (n > 1)
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < es; j++)
                        ref[j * n + i] = in[i * es + j];
            memset(out, 0xAA, sizeof out);
            ooc_shuffle(in, out, nbytes, es);
            CHECK_MSG(memcmp(out, ref, nbytes) == 0, "shuffle elem %zu nbytes %zu", es, nbytes);
            ooc_unshuffle(out, back, nbytes, es);
            CHECK_MSG(memcmp(back, in, nbytes) == 0, "unshuffle elem %zu nbytes %zu", es, nbytes);
        }
    }
}

static void test_zlib(void)
{
    size_t n = 100000;
    double *data = malloc(n * sizeof *data), *y = malloc(n * sizeof *y);
    unsigned char *z = malloc(n * sizeof *data + 1024), *back = malloc(n * sizeof *data);
    fill_matrix(data, y, n / 10, 10, false);
    ooc_zlib_decompressor *d = NULL;
    ooc_error err = {0};
    CHECK(ooc_zlib_decompressor_new(&d, &err) == OOC_OK);
    for (int level = 1; level <= 9; level++) {
        ooc_zlib_compressor *c = NULL;
        CHECK(ooc_zlib_compressor_new(level, &c, &err) == OOC_OK);
        size_t zn = ooc_zlib_compress(c, data, n * sizeof *data, z, n * sizeof *data);
        CHECK_MSG(zn > 2 && zn < n * sizeof *data, "level %d: %zu bytes", level, zn);
        CHECK((z[0] & 0x0f) == 8 && ((z[0] << 8) | z[1]) % 31 == 0); /* zlib header */
        size_t got = 0;
        CHECK(ooc_zlib_decompress(d, z, zn, back, n * sizeof *data, &got, &err) == OOC_OK);
        CHECK(got == n * sizeof *data && memcmp(back, data, got) == 0);
        /* Too little room for the output: 0, not an overflow. */
        CHECK(ooc_zlib_compress(c, data, n * sizeof *data, z, 16) == 0);
        /* Flipped byte in the middle: corrupt (Adler-32 or structure). */
        z[zn / 2] ^= 0x40;
        ooc_error_clear(&err);
        CHECK(ooc_zlib_decompress(d, z, zn, back, n * sizeof *data, &got, &err) ==
              OOC_ERR_CORRUPT);
        z[zn / 2] ^= 0x40;
        /* Output larger than the caller's buffer. */
        ooc_error_clear(&err);
        CHECK(ooc_zlib_decompress(d, z, zn, back, 1000, &got, &err) == OOC_ERR_CORRUPT);
        CHECK_MSG(strstr(err.message, "more than the expected 1000 bytes") != NULL, "level %d: %s",
                  level, err.message);
        ooc_zlib_compressor_free(c);
    }
    ooc_zlib_compressor *bad = NULL;
    CHECK(ooc_zlib_compressor_new(0, &bad, &err) == OOC_ERR_INVALID_ARG && bad == NULL);
    ooc_zlib_compressor_free(NULL);
    ooc_zlib_decompressor_free(NULL);
    ooc_zlib_decompressor_free(d);
    free(data);
    free(y);
    free(z);
    free(back);
}

/* Little-endian 32-bit field of a blosc header. */
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_codec_names(void)
{
    static const struct {
        const char *text;
        bool blosc;
        int compressor;
    } good[] = {{NULL, false, 0},       {"", false, 0},
                {"deflate", false, 0},  {"blosc", true, BLOSC_BLOSCLZ},
                {"blosc:blosclz", true, BLOSC_BLOSCLZ}, {"blosc:lz4", true, BLOSC_LZ4},
                {"blosc:lz4hc", true, BLOSC_LZ4HC},     {"blosc:zlib", true, BLOSC_ZLIB},
                {"blosc:zstd", true, BLOSC_ZSTD}};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        ooc_codec c = {true, 99};
        ooc_error err = {0};
        CHECK_MSG(ooc_codec_parse(good[k].text, &c, &err) == OOC_OK, "%s: %s",
                  good[k].text ? good[k].text : "NULL", err.message);
        CHECK_MSG(c.blosc == good[k].blosc && (!c.blosc || c.compressor == good[k].compressor),
                  "%s: blosc %d compressor %d", good[k].text ? good[k].text : "NULL", c.blosc,
                  c.compressor);
    }
    /* snappy: libblosc has it, but PyTables' and hdf5plugin's blosc do not. */
    static const char *const bad[] = {"blosc:snappy", "blosc:", "lz4", "Blosc:lz4", "deflate:1",
                                      "blosc:lz4 ", "zstd"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ooc_codec c;
        ooc_error err = {0};
        CHECK_MSG(ooc_codec_parse(bad[k], &c, &err) == OOC_ERR_INVALID_ARG, "%s accepted", bad[k]);
        CHECK_MSG(strstr(err.message, bad[k]) &&
                      strstr(err.message, "use deflate, blosc:blosclz, blosc:lz4, blosc:lz4hc, "
                                          "blosc:zlib, blosc:zstd"),
                  "%s: %s", bad[k], err.message);
    }
    static const char *const names[] = {"blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"};
    for (int code = 0; code < 6; code++) {
        const char *name = ooc_blosc_compressor_name(code);
        CHECK_MSG(name && strcmp(name, names[code]) == 0, "code %d: %s", code,
                  name ? name : "NULL");
    }
    CHECK(ooc_blosc_compressor_name(-1) == NULL && ooc_blosc_compressor_name(6) == NULL);
    unsigned cd[OOC_BLOSC_NPARAMS];
    ooc_codec zstd = {true, BLOSC_ZSTD};
    ooc_blosc_cd_values(&zstd, 7, false, 8, 98304, cd);
    static const unsigned want[OOC_BLOSC_NPARAMS] = {2, 2, 8, 98304, 7, 0, 5};
    CHECK(memcmp(cd, want, sizeof cd) == 0);
    ooc_codec lz4 = {true, BLOSC_LZ4};
    ooc_blosc_cd_values(&lz4, 1, true, 4, 4096, cd);
    static const unsigned want_lz4[OOC_BLOSC_NPARAMS] = {2, 2, 4, 4096, 1, 1, 1};
    CHECK(memcmp(cd, want_lz4, sizeof cd) == 0);
}

/* Compress and decompress one buffer; checks the frame's header fields by
 * hand and decodes it with libblosc's global blosc_decompress too.
 * compressible: 1 the frame must be smaller than the input, 0 it must not
 * fit (stored raw by the writer), -1 either. */
static void blosc_round_trip(const ooc_codec *c, int level, bool shuffle, size_t typesize,
                             const void *data, size_t nbytes, int compressible)
{
    unsigned char *z = malloc(nbytes + BLOSC_MAX_OVERHEAD), *back = malloc(nbytes + 1);
    size_t zn = 0;
    ooc_error err = {0};
    CHECK(ooc_blosc_compress(c, level, shuffle, typesize, data, nbytes, z, nbytes - 1, &zn,
                             &err) == OOC_OK);
    if (compressible == 1)
        CHECK_MSG(zn > BLOSC_MIN_HEADER_LENGTH && zn < nbytes,
                  "compressor %d level %d shuffle %d: %zu of %zu bytes", c->compressor, level,
                  shuffle, zn, nbytes);
    else if (compressible == 0)
        CHECK_MSG(zn == 0, "incompressible: %zu of %zu bytes", zn, nbytes);
    if (zn == 0) /* with room for a header more, the frame always fits (blosc.h) */
        CHECK(ooc_blosc_compress(c, level, shuffle, typesize, data, nbytes, z,
                                 nbytes + BLOSC_MAX_OVERHEAD, &zn, &err) == OOC_OK &&
              zn == nbytes + BLOSC_MAX_OVERHEAD);
    /* Header: format version 2, flags (bit 0: byte shuffle; bits 5-7: the
     * compressor's format), type size, then nbytes, block size, cbytes. */
    CHECK(z[0] == BLOSC_VERSION_FORMAT && z[3] == typesize);
    CHECK(le32(z + 4) == nbytes && le32(z + 12) == zn);
    if (!(z[2] & BLOSC_MEMCPYED))
        CHECK_MSG((z[2] & BLOSC_DOSHUFFLE) == (shuffle ? BLOSC_DOSHUFFLE : 0), "flags %#x",
                  z[2]);
    memset(back, 0xEE, nbytes + 1);
    CHECK_MSG(ooc_blosc_decompress(z, zn, back, nbytes, &err) == OOC_OK, "%s", err.message);
    CHECK(memcmp(back, data, nbytes) == 0 && back[nbytes] == 0xEE);
    memset(back, 0, nbytes);
    CHECK(blosc_decompress(z, back, nbytes) == (int)nbytes && memcmp(back, data, nbytes) == 0);
    free(z);
    free(back);
}

static void test_blosc(void)
{
    uint64_t rng_saved = rng_state; /* the later tests' data stays what it was */
    size_t n = 12000, nbytes = n * sizeof(double);
    double *data = malloc(nbytes), *y = malloc(n * sizeof *y), *noise = malloc(nbytes);
    fill_matrix(data, y, n / 12, 12, false);
    fill_matrix(noise, y, n / 12, 12, true);
    static const int compressors[] = {BLOSC_BLOSCLZ, BLOSC_LZ4, BLOSC_LZ4HC, BLOSC_ZLIB,
                                      BLOSC_ZSTD};
    for (size_t k = 0; k < sizeof compressors / sizeof compressors[0]; k++) {
        ooc_codec c = {true, compressors[k]};
        /* Shuffled, seed-like data shrinks with every compressor and level;
         * unshuffled, blosclz at low levels gives up. */
        for (int level = 1; level <= 9; level += 4)
            for (int shuffle = 0; shuffle <= 1; shuffle++)
                blosc_round_trip(&c, level, shuffle, sizeof(double), data, nbytes,
                                 shuffle ? 1 : -1);
        blosc_round_trip(&c, 5, true, sizeof(double), noise, nbytes, 0);
        blosc_round_trip(&c, 5, true, 1, data, 1001, 1); /* 1-byte elements, odd length */
        blosc_round_trip(&c, 0, true, sizeof(double), data, nbytes, 0); /* level 0: a copy */
    }

    /* A frame made by libblosc's global API (as another writer would) decodes. */
    blosc_init();
    ooc_codec lz4 = {true, BLOSC_LZ4};
    unsigned char *z = malloc(nbytes + BLOSC_MAX_OVERHEAD), *back = malloc(nbytes);
    CHECK(blosc_set_compressor("zstd") >= 0);
    int zn = blosc_compress(3, BLOSC_SHUFFLE, 8, nbytes, data, z, nbytes + BLOSC_MAX_OVERHEAD);
    ooc_error err = {0};
    CHECK(zn > 0 && ooc_blosc_decompress(z, (size_t)zn, back, nbytes, &err) == OOC_OK &&
          memcmp(back, data, nbytes) == 0);

    /* Bad arguments are refused before libblosc sees them (it would print). */
    size_t out = 1;
    CHECK(ooc_blosc_compress(&lz4, 10, true, 8, data, nbytes, z, nbytes, &out, &err) ==
              OOC_ERR_INVALID_ARG && out == 0);
    ooc_error_clear(&err);
    CHECK(ooc_blosc_compress(&lz4, 1, true, 0, data, nbytes, z, nbytes, &out, &err) ==
          OOC_ERR_INVALID_ARG);
    ooc_error_clear(&err);
    CHECK(ooc_blosc_compress(&lz4, 1, true, 256, data, nbytes, z, nbytes, &out, &err) ==
          OOC_ERR_INVALID_ARG);
    ooc_codec unknown = {true, 42};
    ooc_error_clear(&err);
    CHECK(ooc_blosc_compress(&unknown, 1, true, 8, data, nbytes, z, nbytes, &out, &err) ==
          OOC_ERR_INVALID_ARG);
    CHECK(ooc_blosc_compress(&lz4, 1, true, 8, data, nbytes, z, BLOSC_MAX_OVERHEAD - 1, &out,
                             &err) == OOC_OK && out == 0); /* no room: 0, not an overflow */

    /* Damaged frames: each check names what is wrong. */
    size_t good = 0;
    ooc_error_clear(&err);
    CHECK(ooc_blosc_compress(&lz4, 5, true, 8, data, nbytes, z, nbytes - 1, &good, &err) ==
          OOC_OK && good > 100);
    static const struct {
        size_t at;        /* byte flipped (SIZE_MAX: none) */
        long stored;      /* stored size relative to the frame's */
        size_t expected;  /* 0: nbytes */
        const char *says; /* in the message */
    } damage[] = {
        {SIZE_MAX, -(long)(1 << 30), 0, "shorter than its 16-byte header"}, /* 0 bytes stored */
        {SIZE_MAX, -1, 0, "but"},                     /* stored size one short */
        {SIZE_MAX, 1, 0, "but"},                      /* one byte more */
        {SIZE_MAX, 0, 1000, "not the expected 1000"}, /* a chunk of another size */
        {0, 0, 0, "format version"},                  /* version byte */
        {5, 0, 0, "decompressed bytes, not the expected"}, /* nbytes */
        {13, 0, 0, "compressed bytes"},               /* cbytes */
        {19, 0, 0, "does not decompress"},            /* first block's offset, high byte */
    };
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; k++) {
        unsigned char *copy = malloc(good + 2);
        memcpy(copy, z, good);
        copy[good] = copy[good + 1] = 0;
        if (damage[k].at != SIZE_MAX)
            copy[damage[k].at] ^= 0x5A;
        long stored = (long)good + damage[k].stored;
        size_t expected = damage[k].expected ? damage[k].expected : nbytes;
        ooc_error_clear(&err);
        CHECK_MSG(ooc_blosc_decompress(copy, stored > 0 ? (size_t)stored : 0, back, expected,
                                       &err) == OOC_ERR_CORRUPT,
                  "damage %zu decoded", k);
        CHECK_MSG(strstr(err.message, damage[k].says) != NULL, "damage %zu: %s", k, err.message);
        free(copy);
    }
    blosc_destroy();
    rng_state = rng_saved;
    free(z);
    free(back);
    free(data);
    free(y);
    free(noise);
}

/* Threads compressing and decompressing at once (each its own compressor
 * and data): the context functions share no state. */
typedef struct blosc_thread_arg {
    int compressor;
    unsigned seed;
    int failures;
} blosc_thread_arg;

static void *blosc_thread(void *p)
{
    blosc_thread_arg *a = p;
    size_t n = 4096, nbytes = n * sizeof(double);
    double *data = malloc(nbytes), *back = malloc(nbytes);
    unsigned char *z = malloc(nbytes);
    ooc_codec c = {true, a->compressor};
    for (int round = 0; round < 40; round++) {
        for (size_t i = 0; i < n; i++)
            data[i] = (double)((a->seed + (unsigned)round * 7919u + (unsigned)i * 31u) % 1000) / 8;
        size_t zn = 0;
        ooc_error err = {0};
        if (ooc_blosc_compress(&c, 5, true, 8, data, nbytes, z, nbytes - 1, &zn, &err) != OOC_OK ||
            zn == 0 || ooc_blosc_decompress(z, zn, back, nbytes, &err) != OOC_OK ||
            memcmp(back, data, nbytes) != 0)
            a->failures++;
    }
    free(data);
    free(back);
    free(z);
    return NULL;
}

static void test_blosc_threads(void)
{
    enum { NTHREADS = 5 };
    static const int compressors[NTHREADS] = {BLOSC_BLOSCLZ, BLOSC_LZ4, BLOSC_LZ4HC, BLOSC_ZLIB,
                                              BLOSC_ZSTD};
    pthread_t t[NTHREADS];
    blosc_thread_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (blosc_thread_arg){compressors[i], 1000u * (unsigned)i, 0};
        CHECK(pthread_create(&t[i], NULL, blosc_thread, &args[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_MSG(args[i].failures == 0, "thread %d: %d failed round trips", i, args[i].failures);
    }
}

/* ---- writer round trips -------------------------------------------------- */

typedef struct write_case {
    size_t n, p, chunk_rows;
    bool with_y;
    bool incompressible;
} write_case;

/* Check the dataset's creation properties: chunk dims and filter pipeline
 * (blosc: the filter alone, optional, PyTables' parameters). */
static void check_dcpl(hid_t dset, int rank, size_t chunk_rows, size_t p, int level, bool shuffle,
                       const ooc_codec *codec)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    hsize_t chunk[2] = {0, 0};
    CHECK(H5Pget_layout(dcpl) == H5D_CHUNKED);
    CHECK(H5Pget_chunk(dcpl, 2, chunk) == rank);
    CHECK(chunk[0] == chunk_rows);
    if (rank == 2)
        CHECK(chunk[1] == p);
    int nfilters = H5Pget_nfilters(dcpl);
    if (codec->blosc && level > 0) {
        unsigned flags = 0, cd[10];
        size_t ncd = 10;
        CHECK(nfilters == 1);
        CHECK(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL) == 32001);
        CHECK(flags & H5Z_FLAG_OPTIONAL);
        unsigned want[7] = {2, 2, 8, (unsigned)(chunk_rows * (rank == 2 ? p : 1) * 8),
                            (unsigned)level, shuffle ? 1u : 0u, (unsigned)codec->compressor};
        CHECK_MSG(ncd == 7 && memcmp(cd, want, sizeof want) == 0,
                  "cd_values %zu: %u %u %u %u %u %u %u", ncd, cd[0], cd[1], cd[2], cd[3], cd[4],
                  cd[5], cd[6]);
        H5Pclose(dcpl);
        return;
    }
    CHECK(nfilters == (shuffle ? 1 : 0) + (level > 0 ? 1 : 0));
    int idx = 0;
    if (shuffle) {
        unsigned flags, cd[4];
        size_t ncd = 4;
        CHECK(H5Pget_filter2(dcpl, (unsigned)idx++, &flags, &ncd, cd, 0, NULL, NULL) ==
              H5Z_FILTER_SHUFFLE);
    }
    if (level > 0) {
        unsigned flags, cd[4];
        size_t ncd = 4;
        CHECK(H5Pget_filter2(dcpl, (unsigned)idx, &flags, &ncd, cd, 0, NULL, NULL) ==
              H5Z_FILTER_DEFLATE);
        CHECK(ncd == 1 && cd[0] == (unsigned)level);
    }
    H5Pclose(dcpl);
}

/* Filter mask and size of every chunk: either fully filtered and smaller
 * than the raw chunk, or the compressor skipped (its mask bit set) and stored
 * at the raw size.  Returns the number of chunks with the compressor skipped. */
static size_t check_masks(hid_t dset, size_t n, size_t chunk_nbytes, size_t chunk_rows, int level,
                          bool shuffle, bool blosc)
{
    unsigned deflate_bit = 1u << (shuffle && !blosc ? 1 : 0);
    size_t skipped = 0;
    for (size_t r = 0; r < n; r += chunk_rows) {
        hsize_t off[2] = {r, 0};
        unsigned mask = 99;
        haddr_t addr;
        hsize_t size = 0;
        CHECK(H5Dget_chunk_info_by_coord(dset, off, &mask, &addr, &size) >= 0);
        if (level == 0) {
            CHECK_MSG(mask == 0 && size == chunk_nbytes, "chunk at row %zu mask %u", r, mask);
        } else if (mask == 0) {
            CHECK_MSG(size < chunk_nbytes, "chunk at row %zu: %llu bytes", r,
                      (unsigned long long)size);
        } else {
            CHECK_MSG(mask == deflate_bit && size == chunk_nbytes, "chunk at row %zu mask %u", r,
                      mask);
            skipped++;
        }
    }
    return skipped;
}

/* Read nrows rows of `ncols` doubles of a blosc dataset chunk by chunk
 * (H5Dread_chunk), decoded with libblosc's blosc_decompress (a chunk whose
 * mask skips blosc is raw). */
static bool read_blosc(hid_t dset, size_t nrows, size_t ncols, size_t chunk_rows, double *out)
{
    size_t chunk_nbytes = chunk_rows * ncols * sizeof(double);
    unsigned char *stored = malloc(chunk_nbytes + BLOSC_MAX_OVERHEAD);
    double *decoded = malloc(chunk_nbytes);
    bool ok = stored && decoded;
    for (size_t r = 0; ok && r < nrows; r += chunk_rows) {
        hsize_t off[2] = {r, 0}, size = 0;
        uint32_t mask = 0;
        ok = H5Dget_chunk_storage_size(dset, off, &size) >= 0 &&
             size <= chunk_nbytes + BLOSC_MAX_OVERHEAD &&
             H5Dread_chunk(dset, H5P_DEFAULT, off, &mask, stored) >= 0;
        if (ok && mask == 0) {
            ok = blosc_decompress(stored, decoded, chunk_nbytes) == (int)chunk_nbytes;
        } else if (ok) {
            ok = size == chunk_nbytes;
            memcpy(decoded, stored, chunk_nbytes);
        }
        size_t rows = nrows - r < chunk_rows ? nrows - r : chunk_rows;
        if (ok)
            memcpy(out + r * ncols, decoded, rows * ncols * sizeof(double));
    }
    free(stored);
    free(decoded);
    return ok;
}

/* Read a whole dataset: through HDF5's filters, or read_blosc. */
static bool read_back(hid_t dset, bool blosc, size_t nrows, size_t ncols, size_t chunk_rows,
                      double *out)
{
    if (blosc)
        return read_blosc(dset, nrows, ncols, chunk_rows, out);
    return H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
}

static void run_write_case(const write_case *wc, int level, bool shuffle, int nthreads,
                           const char *codec_name)
{
    ooc_codec codec;
    CHECK(ooc_codec_parse(codec_name, &codec, NULL) == OOC_OK);
    const bool blosc = codec.blosc && level > 0; /* level 0: no compression filter */
    char path[64];
    snprintf(path, sizeof path, "h5w_case.h5");
    size_t n = wc->n, p = wc->p;
    double *X = malloc((n ? n : 1) * p * sizeof *X), *y = malloc((n ? n : 1) * sizeof *y);
    fill_matrix(X, y, n, p, wc->incompressible);

    ooc_h5_writer_options o = {.path = path, .ncols = p, .with_y = wc->with_y,
                               .chunk_rows = wc->chunk_rows, .level = level,
                               .shuffle = shuffle, .codec = codec, .nthreads = nthreads};
    ooc_h5_writer *w = NULL;
    ooc_error err = {0};
    ooc_status st = ooc_h5w_create(&o, &w, &err);
    CHECK_MSG(st == OOC_OK, "%s", err.message);
    if (st != OOC_OK)
        goto done;
    /* Append in irregular pieces so rows straddle chunk boundaries. */
    size_t done_rows = 0, piece = 1;
    while (done_rows < n && st == OOC_OK) {
        size_t m = piece < n - done_rows ? piece : n - done_rows;
        st = ooc_h5w_append(w, X + done_rows * p, y + done_rows, m, &err);
        done_rows += m;
        piece = piece * 3 + 1;
    }
    CHECK_MSG(st == OOC_OK, "%s", err.message);
    ooc_h5_write_stats stats = {0};
    st = ooc_h5w_commit(w, &stats, &err);
    CHECK_MSG(st == OOC_OK, "%s", err.message);
    if (st != OOC_OK)
        goto done;
    size_t expect_chunk_rows = wc->chunk_rows;
    if (!expect_chunk_rows)
        expect_chunk_rows = ((1u << 20) + p * 4) / (p * 8);
    CHECK(stats.nrows == n);
    CHECK(stats.chunk_rows == expect_chunk_rows);
    size_t nchunks = (n + expect_chunk_rows - 1) / expect_chunk_rows;
    size_t raw = nchunks * expect_chunk_rows * 8 * (p + (wc->with_y ? 1 : 0));
    CHECK_MSG(stats.raw_bytes == raw, "raw %llu expected %zu", (unsigned long long)stats.raw_bytes,
              raw);
    /* Blosc leaves chunks under 4 KiB (some of them shorter than its
     * minimum buffer, 128 bytes) as they are. */
    bool small = expect_chunk_rows * p * 8 < 4096;
    if (level == 0)
        CHECK(stats.stored_bytes == raw);
    else if (!wc->incompressible && n > 0 && !(blosc && small))
        CHECK_MSG(stats.stored_bytes < raw, "%s level %d: %llu stored of %zu", codec_name, level,
                  (unsigned long long)stats.stored_bytes, raw);
    CHECK(count_entries(".", "h5w_case.h5.oocsolve-partial-") == 0);

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    hid_t dx = H5Dopen2(f, "X", H5P_DEFAULT);
    hid_t sx = H5Dget_space(dx);
    hsize_t dims[2] = {0, 0}, maxdims[2] = {0, 0};
    CHECK(H5Sget_simple_extent_ndims(sx) == 2);
    H5Sget_simple_extent_dims(sx, dims, maxdims);
    CHECK(dims[0] == n && dims[1] == p && maxdims[0] == H5S_UNLIMITED && maxdims[1] == p);
    H5Sclose(sx);
    check_dcpl(dx, 2, expect_chunk_rows, p, level, shuffle, &codec);
    size_t skipped = check_masks(dx, n, expect_chunk_rows * p * 8, expect_chunk_rows, level,
                                 shuffle, blosc);
    if (wc->incompressible && level > 0)
        CHECK(skipped == nchunks - 1); /* all but the zero-padded last chunk */
    if (!wc->incompressible && !small && level > 0)
        CHECK(skipped == 0);
    if (n > 0) {
        double *back = malloc(n * p * sizeof *back);
        CHECK(read_back(dx, blosc, n, p, expect_chunk_rows, back));
        CHECK_MSG(memcmp(back, X, n * p * sizeof *back) == 0,
                  "X differs: n=%zu p=%zu level=%d shuffle=%d threads=%d codec %s", n, p, level,
                  shuffle, nthreads, codec_name);
        free(back);
    }
    H5Dclose(dx);
    htri_t has_y = H5Lexists(f, "Y", H5P_DEFAULT);
    CHECK(has_y == (wc->with_y ? 1 : 0));
    if (wc->with_y) {
        hid_t dy = H5Dopen2(f, "Y", H5P_DEFAULT);
        hid_t sy = H5Dget_space(dy);
        CHECK(H5Sget_simple_extent_ndims(sy) == 1);
        H5Sget_simple_extent_dims(sy, dims, maxdims);
        CHECK(dims[0] == n && maxdims[0] == H5S_UNLIMITED);
        H5Sclose(sy);
        check_dcpl(dy, 1, expect_chunk_rows, p, level, shuffle, &codec);
        if (n > 0) {
            double *back = malloc(n * sizeof *back);
            CHECK(read_back(dy, blosc, n, 1, expect_chunk_rows, back));
            CHECK_MSG(memcmp(back, y, n * sizeof *back) == 0, "Y differs: n=%zu", n);
            free(back);
        }
        H5Dclose(dy);
    }
    H5Fclose(f);
    unlink(path);
done:
    free(X);
    free(y);
}

static void test_round_trips(void)
{
    static const write_case cases[] = {
        {0, 3, 4, true, false},        /* empty */
        {1, 3, 4, true, false},        /* one row, partial chunk */
        {12, 3, 4, true, false},       /* exactly 3 chunks */
        {13, 3, 4, true, false},       /* 3 chunks + 1 row */
        {1000, 1, 64, true, false},    /* p = 1 */
        {130, 200, 16, false, false},  /* p = 200, no Y */
        {300, 5, 32, true, true},      /* incompressible: deflate skipped per chunk */
        {25000, 12, 0, true, false},   /* automatic chunk rows (10923) */
    };
    static const int levels[] = {0, 1, 6};
    static const char *const codecs[] = {"deflate", "blosc:lz4", "blosc:zstd"};
    for (size_t k = 0; k < sizeof codecs / sizeof codecs[0]; k++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (size_t l = 0; l < 3; l++)
                for (int shuffle = 0; shuffle <= 1; shuffle++) {
                    int nthreads = 1 + (int)((c + l + (size_t)shuffle + k) % 4);
                    run_write_case(&cases[c], levels[l], shuffle, nthreads, codecs[k]);
                }
}

/* ---- attributes ---------------------------------------------------------- */

static void test_attributes(void)
{
    const char *path = "h5w_attrs.h5";
    const char *names[3] = {"Intercept", "C(cat, Treatment)[T.b]", "a:b"};
    double X[6] = {1, 2, 3, 4, 5, 6}, y[2] = {7, 8};
    ooc_h5_writer_options o = {.path = path, .ncols = 3, .with_y = true, .level = 1,
                               .shuffle = true, .nthreads = 2, .formula = "y ~ a*b + C(cat)",
                               .column_names = names};
    ooc_h5_writer *w = NULL;
    ooc_error err = {0};
    mode_t mask = umask(0);
    umask(mask);
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 2, &err) == OOC_OK);
    CHECK_MSG(ooc_h5w_commit(w, NULL, &err) == OOC_OK, "%s", err.message);

    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0);
    check_string_attr(f, "CLASS", "GROUP", H5T_CSET_UTF8);
    check_string_attr(f, "PYTABLES_FORMAT_VERSION", "2.1", H5T_CSET_UTF8);
    check_string_attr(f, "TITLE", "", H5T_CSET_UTF8);
    check_string_attr(f, "VERSION", "1.0", H5T_CSET_UTF8);
    static const char *const dsets[2] = {"X", "Y"};
    for (int k = 0; k < 2; k++) {
        hid_t d = H5Dopen2(f, dsets[k], H5P_DEFAULT);
        check_string_attr(d, "CLASS", "EARRAY", H5T_CSET_ASCII);
        check_string_attr(d, "VERSION", "1.1", H5T_CSET_ASCII);
        check_string_attr(d, "TITLE", "", H5T_CSET_ASCII);
        hid_t a = H5Aopen(d, "EXTDIM", H5P_DEFAULT);
        hid_t t = H5Aget_type(a);
        int32_t extdim = -1;
        CHECK(H5Tequal(t, H5T_STD_I32LE) > 0);
        CHECK(H5Aread(a, H5T_NATIVE_INT32, &extdim) >= 0 && extdim == 0);
        H5Tclose(t);
        H5Aclose(a);
        CHECK(H5Aexists(d, "formula") == (k == 0));
        CHECK(H5Aexists(d, "column_names") == (k == 0));
        H5Dclose(d);
    }
    hid_t dx = H5Dopen2(f, "X", H5P_DEFAULT);
    check_string_attr(dx, "formula", "y ~ a*b + C(cat)", H5T_CSET_UTF8);
    hid_t a = H5Aopen(dx, "column_names", H5P_DEFAULT);
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    hsize_t nn = 0;
    CHECK(H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8);
    CHECK(H5Sget_simple_extent_ndims(s) == 1);
    H5Sget_simple_extent_dims(s, &nn, NULL);
    CHECK(nn == 3);
    char *got[3] = {NULL, NULL, NULL};
    CHECK(H5Aread(a, t, got) >= 0);
    for (int j = 0; j < 3; j++)
        CHECK(got[j] && strcmp(got[j], names[j]) == 0);
    H5Dvlen_reclaim(t, s, H5P_DEFAULT, got);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    H5Dclose(dx);
    H5Fclose(f);
    unlink(path);
}

/* Thousands of column names: more than fits an object header (64 KiB). */
static void test_many_columns(void)
{
    const char *path = "h5w_wide.h5";
    size_t p = 6000;
    char **names = malloc(p * sizeof *names);
    double *X = calloc(2 * p, sizeof *X), y[2] = {1, 2};
    for (size_t j = 0; j < p; j++) {
        names[j] = malloc(40);
        snprintf(names[j], 40, "C(zipcode, Treatment)[T.%05zu]", j);
        X[p + j] = (double)j;
    }
    ooc_h5_writer_options o = {.path = path, .ncols = p, .with_y = true, .level = 1,
                               .shuffle = true, .nthreads = 2, .formula = "y ~ C(zipcode)",
                               .column_names = (const char *const *)names};
    ooc_h5_writer *w = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_h5w_create(&o, &w, &err) == OOC_OK, "%s", err.message);
    if (w) {
        CHECK(ooc_h5w_append(w, X, y, 2, &err) == OOC_OK);
        CHECK_MSG(ooc_h5w_commit(w, NULL, &err) == OOC_OK, "%s", err.message);
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t d = H5Dopen2(f, "X", H5P_DEFAULT);
        hid_t a = H5Aopen(d, "column_names", H5P_DEFAULT);
        hid_t t = H5Aget_type(a), s = H5Aget_space(a);
        char **got = calloc(p, sizeof *got);
        CHECK(H5Aread(a, t, got) >= 0);
        CHECK(got[p - 1] && strcmp(got[p - 1], names[p - 1]) == 0);
        H5Dvlen_reclaim(t, s, H5P_DEFAULT, got);
        free(got);
        H5Sclose(s);
        H5Tclose(t);
        H5Aclose(a);
        H5Dclose(d);
        H5Fclose(f);
    }
    unlink(path);
    for (size_t j = 0; j < p; j++)
        free(names[j]);
    free(names);
    free(X);
}

/* ---- failure paths ------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

static bool file_has_text(const char *path, const char *text)
{
    char buf[128] = {0};
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void test_abort_and_failures(void)
{
    double X[40], y[10];
    fill_matrix(X, y, 10, 4, false);
    ooc_error err = {0};
    ooc_h5_writer *w = NULL;

    /* Abort: no file, no temp file; an existing file at path is untouched. */
    write_text("h5w_keep.h5", "precious");
    ooc_h5_writer_options o = {.path = "h5w_keep.h5", .ncols = 4, .with_y = true,
                               .chunk_rows = 3, .level = 1, .shuffle = true, .nthreads = 3};
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(count_entries(".", "h5w_keep.h5.oocsolve-partial-") == 1);
    CHECK(ooc_h5w_append(w, X, y, 10, &err) == OOC_OK);
    ooc_h5w_abort(w);
    ooc_h5w_abort(NULL);
    CHECK(file_has_text("h5w_keep.h5", "precious"));
    CHECK(count_entries(".", "h5w_keep.h5.oocsolve-partial-") == 0);

    /* Abort without an existing file leaves nothing. */
    o.path = "h5w_aborted.h5";
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 4, &err) == OOC_OK);
    ooc_h5w_abort(w);
    CHECK(!file_exists("h5w_aborted.h5"));
    CHECK(count_entries(".", "h5w_aborted.h5.oocsolve-partial-") == 0);

    /* Successful commit replaces the existing file. */
    o.path = "h5w_keep.h5";
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 10, &err) == OOC_OK);
    CHECK(ooc_h5w_commit(w, NULL, &err) == OOC_OK);
    CHECK(H5Fis_hdf5("h5w_keep.h5") > 0);
    unlink("h5w_keep.h5");

    /* Path is a directory: commit fails, directory and its content intact. */
    mkdir("h5w_dir.h5", 0777);
    write_text("h5w_dir.h5/inside.txt", "inside");
    o.path = "h5w_dir.h5";
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 10, &err) == OOC_OK);
    ooc_error_clear(&err);
    CHECK(ooc_h5w_commit(w, NULL, &err) == OOC_ERR_IO);
    CHECK(strstr(err.message, "h5w_dir.h5") != NULL);
    CHECK(file_has_text("h5w_dir.h5/inside.txt", "inside"));
    CHECK(count_entries(".", "h5w_dir.h5.oocsolve-partial-") == 0);
    unlink("h5w_dir.h5/inside.txt");
    rmdir("h5w_dir.h5");

    /* Target directory removed while writing: commit fails cleanly. */
    mkdir("h5w_gone", 0777);
    o.path = "h5w_gone/out.h5";
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 10, &err) == OOC_OK);
    {
        DIR *d = opendir("h5w_gone");
        struct dirent *e;
        char victim[300];
        while (d && (e = readdir(d)) != NULL)
            if (strstr(e->d_name, ".oocsolve-partial-")) {
                snprintf(victim, sizeof victim, "h5w_gone/%s", e->d_name);
                unlink(victim);
            }
        if (d)
            closedir(d);
    }
    CHECK(rmdir("h5w_gone") == 0);
    ooc_error_clear(&err);
    CHECK(ooc_h5w_commit(w, NULL, &err) == OOC_ERR_IO);
    CHECK(strstr(err.message, "h5w_gone/out.h5") != NULL);

    /* Temp file cannot be created: clear I/O error naming the path. */
    o.path = "h5w_no_such_dir/out.h5";
    ooc_error_clear(&err);
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_ERR_IO && w == NULL);
    CHECK(strstr(err.message, "h5w_no_such_dir/out.h5") != NULL);

    /* Invalid options. */
    ooc_h5_writer_options bad = o;
    bad.path = "h5w_bad.h5";
    bad.ncols = 0;
    CHECK(ooc_h5w_create(&bad, &w, &err) == OOC_ERR_INVALID_ARG);
    bad.ncols = 4;
    bad.level = 10;
    CHECK(ooc_h5w_create(&bad, &w, &err) == OOC_ERR_INVALID_ARG);
    bad.level = 1;
    bad.chunk_rows = (size_t)1 << 40;
    CHECK(ooc_h5w_create(&bad, &w, &err) == OOC_ERR_INVALID_ARG);
    bad.chunk_rows = 0;
    bad.path = "h5w_dir_slash/";
    CHECK(ooc_h5w_create(&bad, &w, &err) == OOC_ERR_INVALID_ARG);
    CHECK(!file_exists("h5w_bad.h5"));

    /* Append without y when /Y is written: invalid argument, writer still usable. */
    o.path = "h5w_y.h5";
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, NULL, 2, &err) == OOC_ERR_INVALID_ARG);
    CHECK(ooc_h5w_append(w, X, y, 2, &err) == OOC_OK);
    CHECK(ooc_h5w_commit(w, NULL, &err) == OOC_OK);
    unlink("h5w_y.h5");
}

/* ---- describe ----------------------------------------------------------- */

static void test_describe(void)
{
    const char *path = "h5w_describe.h5";
    const char *names[2] = {"a", "b:c"};
    double X[20], y[10];
    fill_matrix(X, y, 10, 2, false);
    ooc_h5_writer_options o = {.path = path, .ncols = 2, .with_y = true, .chunk_rows = 4,
                               .level = 1, .shuffle = true, .nthreads = 1,
                               .formula = "y ~ 0 + a + b:c", .column_names = names};
    ooc_h5_writer *w = NULL;
    ooc_error err = {0};
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 10, &err) == OOC_OK);
    CHECK(ooc_h5w_commit(w, NULL, &err) == OOC_OK);

    char *text = NULL;
    CHECK_MSG(ooc_h5_describe(path, &text, &err) == OOC_OK, "%s", err.message);
    if (text) {
        static const char *const facts[] = {"/X", "/Y", "float64", "(10, 2)", "(4, 2)",
                                            "shuffle", "deflate(level=1)", "3 chunks", "EARRAY",
                                            "y ~ 0 + a + b:c", "b:c", "(10,)", "codec: deflate\n"};
        for (size_t k = 0; k < sizeof facts / sizeof facts[0]; k++)
            CHECK_MSG(strstr(text, facts[k]) != NULL, "'%s' not in:\n%s", facts[k], text);
        free(text);
    }
    char *json = NULL;
    CHECK_MSG(ooc_h5_describe_json(path, &json, &err) == OOC_OK, "%s", err.message);
    if (json) {
        static const char *const facts[] = {"\"name\": \"/X\"", "\"shape\": [10, 2]",
                                            "\"chunks\": [4, 2]", "\"name\": \"deflate\"",
                                            "\"params\": [1]", "\"nchunks\": 3",
                                            "\"column_names\": [\"a\", \"b:c\"]",
                                            "\"formula\": \"y ~ 0 + a + b:c\"",
                                            "\"codec\": \"deflate\""};
        for (size_t k = 0; k < sizeof facts / sizeof facts[0]; k++)
            CHECK_MSG(strstr(json, facts[k]) != NULL, "'%s' not in:\n%s", facts[k], json);
        free(json);
    }
    unlink(path);

    /* Blosc: the compressor, level and shuffle from the filter's parameters. */
    CHECK(ooc_codec_parse("blosc:zstd", &o.codec, NULL) == OOC_OK);
    o.level = 3;
    CHECK(ooc_h5w_create(&o, &w, &err) == OOC_OK);
    CHECK(ooc_h5w_append(w, X, y, 10, &err) == OOC_OK);
    CHECK(ooc_h5w_commit(w, NULL, &err) == OOC_OK);
    text = NULL;
    CHECK_MSG(ooc_h5_describe(path, &text, &err) == OOC_OK, "%s", err.message);
    if (text) {
        CHECK_MSG(strstr(text, "filters: blosc(compressor=zstd, level=3, shuffle=byte, "
                               "element_size=8)\n    codec: blosc:zstd\n") &&
                      !strstr(text, "deflate"),
                  "%s", text);
        free(text);
    }
    json = NULL;
    CHECK_MSG(ooc_h5_describe_json(path, &json, &err) == OOC_OK, "%s", err.message);
    if (json) {
        CHECK_MSG(strstr(json, "{\"id\": 32001, \"name\": \"blosc\", \"params\": [2, 2, 8, "
                               "64, 3, 1, 5]}], \"codec\": \"blosc:zstd\""),
                  "%s", json);
        free(json);
    }
    unlink(path);

    /* Missing and non-HDF5 files: errors that name the file. */
    ooc_error_clear(&err);
    text = NULL;
    CHECK(ooc_h5_describe("h5w_missing.h5", &text, &err) == OOC_ERR_IO && text == NULL);
    CHECK(strstr(err.message, "h5w_missing.h5") != NULL);
    write_text("h5w_not.h5", "a,b\n1,2\n");
    ooc_error_clear(&err);
    CHECK(ooc_h5_describe("h5w_not.h5", &text, &err) == OOC_ERR_HDF5 && text == NULL);
    CHECK(strstr(err.message, "h5w_not.h5") != NULL && strstr(err.message, "not an HDF5"));
    unlink("h5w_not.h5");
}

/* ---- sample for the interop test ------------------------------------------ */

static int write_sample(const char *path)
{
    size_t n = 1000, p = 4;
    const char *names[4] = {"Intercept", "a", "C(g)[T.b]", "a:b"};
    double *X = malloc(n * p * sizeof *X), *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < p; j++)
            X[i * p + j] = (double)(i * p + j) * 0.5 - 3;
        y[i] = (double)i / 4;
    }
    ooc_h5_writer_options o = {.path = path, .ncols = p, .with_y = true, .chunk_rows = 300,
                               .level = 1, .shuffle = true, .nthreads = 2,
                               .formula = "y ~ a + C(g) + a:b", .column_names = names};
    ooc_h5_writer *w = NULL;
    ooc_error err = {0};
    ooc_status st = ooc_h5w_create(&o, &w, &err);
    if (st == OOC_OK)
        st = ooc_h5w_append(w, X, y, n, &err);
    if (st == OOC_OK)
        st = ooc_h5w_commit(w, NULL, &err);
    else
        ooc_h5w_abort(w);
    free(X);
    free(y);
    if (st != OOC_OK) {
        fprintf(stderr, "write-sample: %s\n", err.message);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-sample") == 0)
        return write_sample(argv[2]);
    test_shuffle();
    test_zlib();
    test_codec_names();
    test_blosc();
    test_blosc_threads();
    test_round_trips();
    test_attributes();
    test_many_columns();
    test_abort_and_failures();
    test_describe();
    return TEST_EXIT();
}
