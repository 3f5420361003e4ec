/*
 * test_h5write.c — tests of the HDF5 writer (h5write.h), the shuffle/zlib
 * codecs (zcodec.h) and ooc_h5_describe (h5info.h).
 *
 * The writer's files are read back with plain HDF5 calls (H5Dread through
 * the library's own shuffle/deflate filters, so the encoding is checked by
 * an independent decoder) and compared bit for bit with what was appended.
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

#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
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

/* ---- writer round trips -------------------------------------------------- */

typedef struct write_case {
    size_t n, p, chunk_rows;
    bool with_y;
    bool incompressible;
} write_case;

/* Check the dataset's creation properties: chunk dims and filter pipeline. */
static void check_dcpl(hid_t dset, int rank, size_t chunk_rows, size_t p, int level, bool shuffle)
{
    hid_t dcpl = H5Dget_create_plist(dset);
    hsize_t chunk[2] = {0, 0};
    CHECK(H5Pget_layout(dcpl) == H5D_CHUNKED);
    CHECK(H5Pget_chunk(dcpl, 2, chunk) == rank);
    CHECK(chunk[0] == chunk_rows);
    if (rank == 2)
        CHECK(chunk[1] == p);
    int nfilters = H5Pget_nfilters(dcpl);
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
 * than the raw chunk, or deflate skipped (its mask bit set) and stored at the
 * raw size.  Returns the number of chunks with deflate skipped. */
static size_t check_masks(hid_t dset, size_t n, size_t chunk_nbytes, size_t chunk_rows, int level,
                          bool shuffle)
{
    unsigned deflate_bit = 1u << (shuffle ? 1 : 0);
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

static void run_write_case(const write_case *wc, int level, bool shuffle, int nthreads)
{
    char path[64];
    snprintf(path, sizeof path, "h5w_case.h5");
    size_t n = wc->n, p = wc->p;
    double *X = malloc((n ? n : 1) * p * sizeof *X), *y = malloc((n ? n : 1) * sizeof *y);
    fill_matrix(X, y, n, p, wc->incompressible);

    ooc_h5_writer_options o = {.path = path, .ncols = p, .with_y = wc->with_y,
                               .chunk_rows = wc->chunk_rows, .level = level,
                               .shuffle = shuffle, .nthreads = nthreads};
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
    if (level == 0)
        CHECK(stats.stored_bytes == raw);
    else if (!wc->incompressible && n > 0)
        CHECK(stats.stored_bytes < raw);
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
    check_dcpl(dx, 2, expect_chunk_rows, p, level, shuffle);
    size_t skipped = check_masks(dx, n, expect_chunk_rows * p * 8, expect_chunk_rows, level,
                                 shuffle);
    if (wc->incompressible && level > 0)
        CHECK(skipped == nchunks - 1); /* all but the zero-padded last chunk */
    if (!wc->incompressible && expect_chunk_rows * p * 8 >= 4096 && level > 0)
        CHECK(skipped == 0);
    if (n > 0) {
        double *back = malloc(n * p * sizeof *back);
        CHECK(H5Dread(dx, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
        CHECK_MSG(memcmp(back, X, n * p * sizeof *back) == 0,
                  "X differs: n=%zu p=%zu level=%d shuffle=%d threads=%d", n, p, level, shuffle,
                  nthreads);
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
        check_dcpl(dy, 1, expect_chunk_rows, p, level, shuffle);
        if (n > 0) {
            double *back = malloc(n * sizeof *back);
            CHECK(H5Dread(dy, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0);
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
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t l = 0; l < 3; l++)
            for (int shuffle = 0; shuffle <= 1; shuffle++) {
                int nthreads = 1 + (int)((c + l + (size_t)shuffle) % 4);
                run_write_case(&cases[c], levels[l], shuffle, nthreads);
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
                                            "y ~ 0 + a + b:c", "b:c", "(10,)"};
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
                                            "\"formula\": \"y ~ 0 + a + b:c\""};
        for (size_t k = 0; k < sizeof facts / sizeof facts[0]; k++)
            CHECK_MSG(strstr(json, facts[k]) != NULL, "'%s' not in:\n%s", facts[k], json);
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
    test_round_trips();
    test_attributes();
    test_many_columns();
    test_abort_and_failures();
    test_describe();
    return TEST_EXIT();
}
