/* test_h5source.c — the ordered ring (ring.h) and the HDF5 block source
 * (h5source.c): files are written here with the HDF5 C API in many layouts
 * (chunk shapes including column-split and partial chunks, shuffle on/off,
 * deflate levels, fletcher32, float32/int/big-endian, unallocated chunks,
 * contiguous storage) and every delivered block is compared bit-for-bit with
 * the matrix that was written; damaged and malformed files must fail with
 * messages naming the dataset and row/chunk.  Blosc datasets (filter 32001,
 * which this libhdf5 lacks) are written chunk by chunk with libblosc's own
 * blosc_compress, as PyTables' filter would write them. */
#include "base/error.h"
#include "stream/ring.h"
#include "stream/source.h"
#include "hdf5/zcodec.h"
#include "testutil.h"

#include <blosc.h>
#include <hdf5.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- ring tests */

typedef struct ring_test {
    uint64_t njobs;
    uint64_t fail_at; /* job that fails in process (UINT64_MAX: none) */
    uint64_t produced_seq[16];
    int concurrent;
    int max_concurrent;
    unsigned workers_begun; /* bit i: worker_begin ran for worker i */
    pthread_mutex_t mu;
} ring_test;

static void rt_worker_begin(void *ctx, int worker)
{
    ring_test *t = ctx;
    pthread_mutex_lock(&t->mu);
    t->workers_begun |= 1u << worker;
    pthread_mutex_unlock(&t->mu);
}

static ooc_status rt_produce(void *ctx, int slot, uint64_t seq, void *buffer, bool *end,
                             ooc_error *err)
{
    ring_test *t = ctx;
    (void)err;
    if (seq >= t->njobs) {
        *end = true;
        return OOC_OK;
    }
    t->produced_seq[slot] = seq;
    *(uint64_t *)buffer = seq * 1000;
    return OOC_OK;
}

static ooc_status rt_process(void *ctx, int worker, int slot, uint64_t seq, void *buffer,
                             ooc_error *err)
{
    ring_test *t = ctx;
    (void)worker;
    pthread_mutex_lock(&t->mu);
    if (++t->concurrent > t->max_concurrent)
        t->max_concurrent = t->concurrent;
    pthread_mutex_unlock(&t->mu);
    /* Uneven work so jobs finish out of order. */
    struct timespec nap = {0, (long)((seq * 7919) % 5) * 200000L};
    nanosleep(&nap, NULL);
    uint64_t *v = buffer;
    ooc_status st = OOC_OK;
    if (t->produced_seq[slot] != seq)
        st = OOC_FAIL(err, OOC_ERR_INTERNAL, "slot %d has job %llu, expected %llu", slot,
                      (unsigned long long)t->produced_seq[slot], (unsigned long long)seq);
    else if (seq == t->fail_at)
        st = OOC_FAIL(err, OOC_ERR_CORRUPT, "job %llu failed on purpose", (unsigned long long)seq);
    else
        *v += 1;
    pthread_mutex_lock(&t->mu);
    t->concurrent--;
    pthread_mutex_unlock(&t->mu);
    return st;
}

static ooc_ring *make_test_ring(ring_test *t, int nslots, int nworkers, const volatile int *cancel)
{
    ooc_ring_config cfg = {.nslots = nslots,
                           .nworkers = nworkers,
                           .slot_nbytes = sizeof(uint64_t),
                           .cancel = cancel,
                           .ctx = t,
                           .worker_begin = rt_worker_begin,
                           .produce = rt_produce,
                           .process = rt_process};
    ooc_ring *ring = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_ring_create(&cfg, &ring, &err) == OOC_OK, "%s", err.message);
    return ring;
}

static void test_ring(void)
{
    ring_test t = {.njobs = 40, .fail_at = UINT64_MAX};
    pthread_mutex_init(&t.mu, NULL);
    ooc_ring *ring = make_test_ring(&t, 5, 3, NULL);
    if (!ring)
        return;
    ooc_error err = {0};
    for (int pass = 0; pass < 2; pass++) {
        CHECK(ooc_ring_start(ring, &err) == OOC_OK);
        uint64_t expect = 0;
        int slot, held = -1;
        uint64_t seq;
        while (ooc_ring_next(ring, &slot, &seq, &err) == OOC_OK && slot >= 0) {
            CHECK_MSG(seq == expect, "got job %llu, expected %llu", (unsigned long long)seq,
                      (unsigned long long)expect);
            CHECK(*(uint64_t *)ooc_ring_buffer(ring, slot) == seq * 1000 + 1);
            int in_use = ooc_ring_slots_in_use(ring);
            CHECK_MSG(in_use >= (held >= 0 ? 2 : 1) && in_use <= 5, "%d slots in use", in_use);
            expect++;
            /* Hold one block across the next call to exercise out-of-order release. */
            if (held >= 0)
                ooc_ring_release(ring, held);
            held = slot;
        }
        if (held >= 0)
            ooc_ring_release(ring, held);
        CHECK_MSG(expect == t.njobs, "pass %d delivered %llu jobs", pass,
                  (unsigned long long)expect);
        CHECK_MSG(ooc_ring_slots_in_use(ring) == 0, "%d slots in use after the pass",
                  ooc_ring_slots_in_use(ring));
        /* The end is sticky. */
        CHECK(ooc_ring_next(ring, &slot, NULL, &err) == OOC_OK && slot == -1);
    }
    CHECK(t.max_concurrent >= 2);

    /* An error at job 7 arrives after jobs 0..6, and stays. */
    t.fail_at = 7;
    CHECK(ooc_ring_start(ring, &err) == OOC_OK);
    uint64_t delivered = 0;
    int slot;
    ooc_status st;
    while ((st = ooc_ring_next(ring, &slot, NULL, &err)) == OOC_OK && slot >= 0) {
        delivered++;
        ooc_ring_release(ring, slot);
    }
    CHECK(st == OOC_ERR_CORRUPT && delivered == 7);
    CHECK(strstr(err.message, "job 7 failed") != NULL);
    ooc_error err2 = {0};
    CHECK(ooc_ring_next(ring, &slot, NULL, &err2) == OOC_ERR_CORRUPT);

    /* Stop in the middle of a pass, then a clean pass.  (Workers may still
     * be busy after the error: stop them before changing the jobs.) */
    ooc_ring_stop(ring);
    t.fail_at = UINT64_MAX;
    CHECK(ooc_ring_start(ring, &err) == OOC_OK);
    CHECK(ooc_ring_next(ring, &slot, NULL, &err) == OOC_OK && slot >= 0);
    ooc_ring_stop(ring);
    CHECK(ooc_ring_start(ring, &err) == OOC_OK);
    delivered = 0;
    while (ooc_ring_next(ring, &slot, NULL, &err) == OOC_OK && slot >= 0) {
        delivered++;
        ooc_ring_release(ring, slot);
    }
    CHECK(delivered == t.njobs);

    /* Holding every buffer and asking for more is an error, not a deadlock. */
    CHECK(ooc_ring_start(ring, &err) == OOC_OK);
    for (int i = 0; i < 5; i++)
        CHECK(ooc_ring_next(ring, &slot, NULL, &err) == OOC_OK && slot >= 0);
    ooc_error err3 = {0};
    CHECK(ooc_ring_next(ring, &slot, NULL, &err3) == OOC_ERR_INVALID_ARG);
    CHECK(strstr(err3.message, "exhausted") != NULL);
    CHECK(ooc_ring_slots_in_use(ring) == 5);
    ooc_ring_stop(ring);
    CHECK(ooc_ring_slots_in_use(ring) == 0);
    ooc_ring_free(ring);
    CHECK_MSG(t.workers_begun == 7u, "worker_begin ran for workers %#x", t.workers_begun);

    /* Cancellation. */
    volatile int cancel = 0;
    ring = make_test_ring(&t, 2, 1, &cancel);
    CHECK(ooc_ring_start(ring, &err) == OOC_OK);
    CHECK(ooc_ring_next(ring, &slot, NULL, &err) == OOC_OK && slot >= 0);
    cancel = 1;
    ooc_ring_release(ring, slot);
    ooc_error err4 = {0};
    int guard = 0;
    while ((st = ooc_ring_next(ring, &slot, NULL, &err4)) == OOC_OK && slot >= 0 && guard++ < 50)
        ooc_ring_release(ring, slot);
    CHECK(st == OOC_ERR_INTERRUPTED);
    ooc_ring_free(ring);
    ooc_ring_free(NULL);
    pthread_mutex_destroy(&t.mu);
}

/* ----------------------------------------------------------- file helpers */

/* Deterministic values with full 53-bit mantissas, different per (i, j). */
static double value_at(size_t i, size_t j)
{
    return sin((double)i * 0.7 + (double)j * 1.3) * 1000.0 + (double)i / 3.0;
}

typedef struct dset_spec {
    const char *name;
    int rank;                       /* 1 or 2 */
    hsize_t nrows, ncols;           /* ncols ignored for rank 1 */
    hsize_t chunk_rows, chunk_cols; /* chunk_rows 0: contiguous */
    hid_t file_type;                /* e.g. H5T_IEEE_F64LE */
    bool shuffle;
    int deflate; /* 0: none */
    bool fletcher32;
    bool fletcher_first; /* put fletcher32 before the other filters */
    bool fill_defined;
    double fill;
    hsize_t skip_chunk_row; /* leave this chunk row unwritten (unallocated); 0: none */
    size_t col_offset;      /* values come from value_at(i, j + col_offset) */
} dset_spec;

/* Write one dataset whose element (i, j) is value_at(i, j + col_offset) (or
 * the fill value where a chunk row is skipped).  Returns 0 on success. */
static int write_dataset(hid_t file, const dset_spec *d)
{
    hsize_t dims[2] = {d->nrows, d->ncols};
    hsize_t maxdims[2] = {H5S_UNLIMITED, d->ncols};
    hsize_t chunk[2] = {d->chunk_rows, d->chunk_cols};
    const size_t ncols = d->rank == 2 ? (size_t)d->ncols : 1;
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (d->chunk_rows) {
        H5Pset_chunk(dcpl, d->rank, chunk);
        if (d->fletcher32 && d->fletcher_first)
            H5Pset_fletcher32(dcpl);
        if (d->shuffle)
            H5Pset_shuffle(dcpl);
        if (d->deflate)
            H5Pset_deflate(dcpl, (unsigned)d->deflate);
        if (d->fletcher32 && !d->fletcher_first)
            H5Pset_fletcher32(dcpl);
    }
    if (d->fill_defined)
        H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &d->fill);
    hid_t space = H5Screate_simple(d->rank, dims, d->chunk_rows ? maxdims : NULL);
    hid_t dset = H5Dcreate2(file, d->name, d->file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    int rc = dset < 0;
    double *data = malloc((size_t)d->nrows * ncols * sizeof(double) + 1);
    for (size_t i = 0; i < d->nrows; i++)
        for (size_t j = 0; j < ncols; j++)
            data[i * ncols + j] = value_at(i, j + d->col_offset);
    if (!rc && !d->skip_chunk_row) {
        rc = H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0;
    } else if (!rc) {
        /* Write every chunk row except skip_chunk_row. */
        for (hsize_t r0 = 0; r0 < d->nrows && !rc; r0 += d->chunk_rows) {
            if (r0 / d->chunk_rows == d->skip_chunk_row)
                continue;
            hsize_t start[2] = {r0, 0};
            hsize_t count[2] = {d->chunk_rows, ncols};
            if (r0 + count[0] > d->nrows)
                count[0] = d->nrows - r0;
            hid_t mem = H5Screate_simple(d->rank, count, NULL);
            H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
            rc = H5Dwrite(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, data + r0 * ncols) < 0;
            H5Sclose(mem);
        }
    }
    free(data);
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    return rc;
}

/* Attach a variable-length string array attribute. */
static void write_names_attr(hid_t obj, const char *attr, const char *const *names, size_t n)
{
    hsize_t dims[1] = {n};
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t a = H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, names);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
}

/* Attach a scalar fixed-length string attribute. */
static void write_text_attr(hid_t obj, const char *attr, const char *text)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(text));
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, attr, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, text);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
}

static int write_file(const char *path, const dset_spec *specs, size_t n)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        rc |= write_dataset(file, &specs[i]);
    H5Fclose(file);
    return rc;
}

/* Read every block of `path`; returns the status and fills *out (nrows x
 * ncols row-major, caller frees) while checking block order and sizes. */
static ooc_status read_all(const char *path, const ooc_source_options *o, double **out,
                           uint64_t *nrows, size_t *ncols, ooc_error *err)
{
    ooc_source *src = NULL;
    *out = NULL;
    ooc_status st = ooc_h5_source_open(path, o, &src, err);
    if (st != OOC_OK)
        return st;
    CHECK(src->nrows != UINT64_MAX && src->ncols == src->p + src->has_y + src->has_weights);
    double *m = malloc((size_t)src->nrows * src->ncols * sizeof(double) + 8);
    uint64_t next_row = 0;
    ooc_block *b;
    while ((st = src->vt->next(src, &b, err)) == OOC_OK && b) {
        CHECK_MSG(b->first_row == next_row, "block at row %llu, expected %llu",
                  (unsigned long long)b->first_row, (unsigned long long)next_row);
        CHECK(b->ncols == src->ncols && b->nrows >= 1 && b->nrows <= src->block_rows);
        if (b->first_row == next_row && b->first_row + b->nrows <= src->nrows)
            memcpy(m + b->first_row * src->ncols, b->data, b->nrows * b->ncols * sizeof(double));
        next_row += b->nrows;
        src->vt->release(src, b);
    }
    if (st == OOC_OK)
        CHECK_MSG(next_row == src->nrows, "delivered %llu of %llu rows",
                  (unsigned long long)next_row, (unsigned long long)src->nrows);
    *nrows = src->nrows;
    *ncols = src->ncols;
    ooc_source_free(src);
    *out = m;
    return st;
}

/* Expected block value of column k (see the layouts built below). */
typedef double (*expected_fn)(size_t row, size_t col);

/* Bit for bit: the source only copies, unshuffles and inflates bytes, and
 * widens float32/int32 to double, which is exact; the expected values come from
 * the same value_at() (same libm, same process) that wrote the file. */
static void check_matrix(const char *what, const double *m, uint64_t nrows, size_t ncols,
                         expected_fn expect)
{
    size_t bad = 0;
    for (size_t i = 0; i < nrows; i++)
        for (size_t k = 0; k < ncols; k++) {
            double want = expect(i, k), got = m[i * ncols + k];
            if (memcmp(&want, &got, sizeof want) != 0 && bad++ < 3)
                fprintf(stderr, "%s: [%zu,%zu] = %.17g, expected %.17g\n", what, i, k, got, want);
        }
    CHECK_MSG(bad == 0, "%s: %zu values differ", what, bad);
}

/* X (p columns from value_at(i, j)), then y = value_at(i, 100). */
static size_t g_p;
static double expect_xy(size_t i, size_t k)
{
    return k < g_p ? value_at(i, k) : value_at(i, 100);
}

static const char *tmp_path(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 256, "h5source_%s_%d.h5", name, (int)getpid());
    return p;
}

/* ---------------------------------------------------------- layout tests */

typedef struct layout_case {
    const char *label;
    hsize_t n, p;
    hsize_t xchunk_rows, xchunk_cols, ychunk_rows;
    bool shuffle;
    int deflate;
    bool fletcher32;
    bool fletcher_first;
} layout_case;

static void test_layouts(void)
{
    static const layout_case cases[] = {
        {"shuffle+deflate1", 1000, 5, 100, 5, 64, true, 1, false, false},
        {"deflate6 no shuffle, partial chunks", 1003, 4, 128, 4, 1000, false, 6, false, false},
        {"column-split chunks", 1003, 7, 50, 3, 77, true, 9, true, false},
        {"fletcher32 only", 517, 3, 64, 2, 100, false, 0, true, false},
        {"fletcher32 first", 300, 6, 33, 6, 50, true, 4, true, true},
        {"no filters", 250, 2, 16, 1, 250, false, 0, false, false},
        {"contiguous X, chunked Y", 400, 3, 0, 0, 64, false, 0, false, false},
        {"single row", 1, 3, 10, 3, 10, true, 1, false, false},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const layout_case *lc = &cases[c];
        const char *path = tmp_path("layout");
        dset_spec specs[2] = {
            {.name = "/X",
             .rank = 2,
             .nrows = lc->n,
             .ncols = lc->p,
             .chunk_rows = lc->xchunk_rows,
             .chunk_cols = lc->xchunk_cols,
             .file_type = H5T_IEEE_F64LE,
             .shuffle = lc->shuffle,
             .deflate = lc->deflate,
             .fletcher32 = lc->fletcher32,
             .fletcher_first = lc->fletcher_first},
            {.name = "/Y",
             .rank = 1,
             .nrows = lc->n,
             .chunk_rows = lc->ychunk_rows,
             .chunk_cols = 1,
             .file_type = H5T_IEEE_F64LE,
             .shuffle = lc->shuffle,
             .deflate = lc->deflate,
             .fletcher32 = lc->fletcher32,
             .col_offset = 100},
        };
        CHECK_MSG(write_file(path, specs, 2) == 0, "%s: cannot write", lc->label);
        g_p = (size_t)lc->p;
        static const size_t block_rows[] = {0, 1, 97, 256};
        static const int threads[] = {1, 2, 3};
        for (size_t b = 0; b < 4; b++) {
            ooc_source_options o;
            ooc_source_options_init(&o);
            o.block_rows = block_rows[b];
            o.nthreads = threads[b % 3];
            o.ring_size = b == 2 ? 1 : 0;
            double *m = NULL;
            uint64_t n = 0;
            size_t ncols = 0;
            ooc_error err = {0};
            ooc_status st = read_all(path, &o, &m, &n, &ncols, &err);
            CHECK_MSG(st == OOC_OK, "%s (block_rows %zu): %s", lc->label, block_rows[b],
                      err.message);
            if (st == OOC_OK) {
                CHECK(n == lc->n && ncols == lc->p + 1);
                check_matrix(lc->label, m, n, ncols, expect_xy);
            }
            free(m);
        }
        remove(path);
    }
}

/* float32 X, int32 big-endian Y, big-endian float64 weights, a skipped
 * (unallocated) chunk row with a fill value. */
static double expect_types(size_t i, size_t k)
{
    if (k < 3) {
        if (i >= 40 && i < 60 && k < 3)
            return 0.0; /* unallocated chunk row 2 of X (chunks of 20 rows) */
        return (double)(float)value_at(i, k);
    }
    if (k == 3)
        return (double)(int32_t)value_at(i, 100);
    if (i >= 90 && i < 120)
        return 2.5; /* unallocated weights chunk row 3, fill value 2.5 */
    return value_at(i, 200);
}

static void test_types_and_fill(void)
{
    const char *path = tmp_path("types");
    dset_spec specs[3] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 203,
         .ncols = 3,
         .chunk_rows = 20,
         .chunk_cols = 2,
         .file_type = H5T_IEEE_F32LE,
         .shuffle = true,
         .deflate = 1,
         .skip_chunk_row = 2},
        {.name = "/Y",
         .rank = 2,
         .nrows = 203,
         .ncols = 1,
         .chunk_rows = 64,
         .chunk_cols = 1,
         .file_type = H5T_STD_I32BE,
         .shuffle = true,
         .deflate = 3,
         .col_offset = 100},
        {.name = "/W",
         .rank = 1,
         .nrows = 203,
         .chunk_rows = 30,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64BE,
         .deflate = 2,
         .fletcher32 = true,
         .fill_defined = true,
         .fill = 2.5,
         .skip_chunk_row = 3,
         .col_offset = 200},
    };
    CHECK(write_file(path, specs, 3) == 0);
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.w_dataset = "/W";
    o.block_rows = 50;
    o.nthreads = 2;
    double *m = NULL;
    uint64_t n = 0;
    size_t ncols = 0;
    ooc_error err = {0};
    ooc_status st = read_all(path, &o, &m, &n, &ncols, &err);
    CHECK_MSG(st == OOC_OK, "%s", err.message);
    if (st == OOC_OK) {
        CHECK(n == 203 && ncols == 5);
        check_matrix("types", m, n, ncols, expect_types);
    }
    free(m);
    remove(path);
}

/* y and weights taken from named columns of X; column names and formula. */
static double expect_columns(size_t i, size_t k)
{
    static const size_t source_col[] = {0, 2, 4, 1, 3}; /* a, c, d | y | w */
    return value_at(i, source_col[k]);
}

static void test_named_columns(void)
{
    const char *path = tmp_path("columns");
    dset_spec x = {.name = "/X",
                   .rank = 2,
                   .nrows = 120,
                   .ncols = 5,
                   .chunk_rows = 25,
                   .chunk_cols = 5,
                   .file_type = H5T_IEEE_F64LE,
                   .shuffle = true,
                   .deflate = 1};
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(write_dataset(file, &x) == 0);
    hid_t d = H5Dopen2(file, "/X", H5P_DEFAULT);
    static const char *const names[] = {"a", "y", "c", "w", "d"};
    write_names_attr(d, "column_names", names, 5);
    write_text_attr(d, "formula", "y ~ a + c + d");
    H5Dclose(d);
    H5Fclose(file);

    ooc_source_options o;
    ooc_source_options_init(&o);
    o.y_column = "y";
    o.w_column = "w";
    o.block_rows = 32;
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        CHECK(src->p == 3 && src->has_y && src->has_weights && src->ncols == 5);
        CHECK_STREQ(src->column_names[0], "a");
        CHECK_STREQ(src->column_names[1], "c");
        CHECK_STREQ(src->column_names[2], "d");
        CHECK(src->formula && strcmp(src->formula, "y ~ a + c + d") == 0);
        CHECK(src->y_name && strcmp(src->y_name, "y") == 0);
        ooc_source_free(src);
    }
    double *m = NULL;
    uint64_t n = 0;
    size_t ncols = 0;
    ooc_status st = read_all(path, &o, &m, &n, &ncols, &err);
    CHECK_MSG(st == OOC_OK, "%s", err.message);
    if (st == OOC_OK)
        check_matrix("named columns", m, n, ncols, expect_columns);
    free(m);

    /* Without a response dataset or column: svd-style open works, fit-style fails. */
    ooc_source_options_init(&o);
    o.need_y = false;
    CHECK_MSG(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        CHECK(src->p == 5 && !src->has_y && src->ncols == 5);
        CHECK_STREQ(src->column_names[3], "w");
        ooc_source_free(src);
    }
    ooc_source_options_init(&o);
    ooc_error e2 = {0};
    CHECK(ooc_h5_source_open(path, &o, &src, &e2) != OOC_OK && src == NULL);
    CHECK_MSG(strstr(e2.message, "'/Y'") != NULL, "%s", e2.message);
    o.y_column = "nope";
    ooc_error e3 = {0};
    CHECK(ooc_h5_source_open(path, &o, &src, &e3) == OOC_ERR_INVALID_ARG);
    CHECK_MSG(strstr(e3.message, "'nope'") != NULL && strstr(e3.message, "'d'") != NULL, "%s",
              e3.message);
    remove(path);
}

/* Two passes give identical blocks; generic names without column_names;
 * the y name comes from the dataset; zero-row files yield no blocks. */
static void test_rewind_and_empty(void)
{
    const char *path = tmp_path("rewind");
    dset_spec specs[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 700,
         .ncols = 2,
         .chunk_rows = 64,
         .chunk_cols = 2,
         .file_type = H5T_IEEE_F64LE,
         .shuffle = true,
         .deflate = 1},
        {.name = "/Y",
         .rank = 1,
         .nrows = 700,
         .chunk_rows = 64,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE,
         .deflate = 1,
         .col_offset = 100},
    };
    CHECK(write_file(path, specs, 2) == 0);
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.block_rows = 128;
    o.ring_size = 2;
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        CHECK_STREQ(src->column_names[0], "x0");
        CHECK_STREQ(src->column_names[1], "x1");
        CHECK(src->y_name && strcmp(src->y_name, "Y") == 0);
        CHECK(src->formula == NULL);
        double sums[3] = {0, 0, 0};
        for (int pass = 0; pass < 3; pass++) {
            ooc_block *b;
            ooc_status st;
            int nblocks = 0;
            while ((st = src->vt->next(src, &b, &err)) == OOC_OK && b) {
                for (size_t i = 0; i < b->nrows * b->ncols; i++)
                    sums[pass] += b->data[i] * (double)(i + b->first_row);
                src->vt->release(src, b);
                /* Rewind in the middle of the second pass. */
                if (pass == 1 && ++nblocks == 2)
                    break;
            }
            CHECK(st == OOC_OK);
            CHECK(src->vt->rewind(src, &err) == OOC_OK);
        }
        /* the same values summed in the same order: bitwise equal; the second pass
         * stopped after two blocks, so its sum is far off */
        CHECK(sums[0] == sums[2] && sums[0] != sums[1]);
        ooc_source_free(src);
    }
    /* Generic names work as column selectors too. */
    o.y_column = "x1";
    CHECK_MSG(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        CHECK(src->p == 1 && src->has_y && src->ncols == 2);
        CHECK_STREQ(src->column_names[0], "x0");
        CHECK(src->y_name && strcmp(src->y_name, "x1") == 0);
        ooc_source_free(src);
    }
    remove(path);

    dset_spec empty[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 0,
         .ncols = 4,
         .chunk_rows = 10,
         .chunk_cols = 4,
         .file_type = H5T_IEEE_F64LE,
         .deflate = 1},
        {.name = "/Y",
         .rank = 1,
         .nrows = 0,
         .chunk_rows = 10,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE},
    };
    CHECK(write_file(path, empty, 2) == 0);
    ooc_source_options_init(&o);
    CHECK_MSG(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        ooc_block *b = (ooc_block *)1;
        CHECK(src->nrows == 0 && src->vt->next(src, &b, &err) == OOC_OK && b == NULL);
        ooc_source_free(src);
    }
    ooc_source_free(NULL);
    remove(path);
}

/* ------------------------------------------------------------ bad inputs */

static void expect_open_error(const char *label, const char *path, const ooc_source_options *o,
                              ooc_status want, const char *needle)
{
    ooc_source *src = (ooc_source *)1;
    ooc_error err = {0};
    ooc_status st = ooc_h5_source_open(path, o, &src, &err);
    CHECK_MSG(st == want, "%s: status %d (%s), expected %d", label, (int)st, err.message,
              (int)want);
    CHECK_MSG(src == NULL, "%s: source not NULL on failure", label);
    CHECK_MSG(strstr(err.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", label,
              err.message, needle);
    if (st == OOC_OK)
        ooc_source_free(src);
}

/* Open, then read all blocks expecting a failure whose message has needle. */
static void expect_read_error(const char *label, const char *path, const ooc_source_options *o,
                              ooc_status want, const char *needle)
{
    double *m = NULL;
    uint64_t n;
    size_t ncols;
    ooc_error err = {0};
    ooc_status st = read_all(path, o, &m, &n, &ncols, &err);
    free(m);
    CHECK_MSG(st == want, "%s: status %d (%s), expected %d", label, (int)st, err.message,
              (int)want);
    CHECK_MSG(strstr(err.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", label,
              err.message, needle);
}

static void test_bad_layouts(void)
{
    const char *path = tmp_path("bad");
    ooc_source_options o;
    ooc_source_options_init(&o);

    dset_spec only_y = {.name = "/Y",
                        .rank = 1,
                        .nrows = 10,
                        .chunk_rows = 5,
                        .chunk_cols = 1,
                        .file_type = H5T_IEEE_F64LE};
    CHECK(write_file(path, &only_y, 1) == 0);
    expect_open_error("missing X", path, &o, OOC_ERR_HDF5, "'/X'");

    dset_spec mismatch[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 10,
         .ncols = 2,
         .chunk_rows = 5,
         .chunk_cols = 2,
         .file_type = H5T_IEEE_F64LE},
        {.name = "/Y",
         .rank = 1,
         .nrows = 9,
         .chunk_rows = 5,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE},
    };
    CHECK(write_file(path, mismatch, 2) == 0);
    expect_open_error("row mismatch", path, &o, OOC_ERR_HDF5, "row count mismatch");

    dset_spec rank1[2] = {
        {.name = "/X",
         .rank = 1,
         .nrows = 10,
         .chunk_rows = 5,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE},
        {.name = "/Y",
         .rank = 1,
         .nrows = 10,
         .chunk_rows = 5,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE},
    };
    CHECK(write_file(path, rank1, 2) == 0);
    expect_open_error("X rank 1", path, &o, OOC_ERR_HDF5, "2-D");

    dset_spec wide_y[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 10,
         .ncols = 2,
         .chunk_rows = 5,
         .chunk_cols = 2,
         .file_type = H5T_IEEE_F64LE},
        {.name = "/Y",
         .rank = 2,
         .nrows = 10,
         .ncols = 2,
         .chunk_rows = 5,
         .chunk_cols = 2,
         .file_type = H5T_IEEE_F64LE},
    };
    CHECK(write_file(path, wide_y, 2) == 0);
    expect_open_error("Y n x 2", path, &o, OOC_ERR_HDF5, "'/Y'");

    /* X of strings. */
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {3, 2};
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 8);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(file, "/X", str, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(space);
    H5Tclose(str);
    H5Fclose(file);
    expect_open_error("string X", path, &o, OOC_ERR_HDF5, "strings");

    expect_open_error("not HDF5", "/nonexistent/dir/file.h5", &o, OOC_ERR_HDF5,
                      "/nonexistent/dir/file.h5");
    remove(path);
}

/* Overwrite element (row, col) of dataset `name` (1-D when col is 0 and rank 1). */
static void set_value(const char *path, const char *name, hsize_t row, hsize_t col, double v)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t start[2] = {row, col}, count[2] = {1, 1};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    CHECK(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, &v) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(file);
}

static void test_nan_row(void)
{
    const char *path = tmp_path("nan");
    dset_spec specs[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 800,
         .ncols = 3,
         .chunk_rows = 100,
         .chunk_cols = 3,
         .file_type = H5T_IEEE_F64LE,
         .shuffle = true,
         .deflate = 1},
        {.name = "/Y",
         .rank = 1,
         .nrows = 800,
         .chunk_rows = 100,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE,
         .col_offset = 100},
    };
    CHECK(write_file(path, specs, 2) == 0);
    /* An Inf at Y[650], then also a NaN at X[537, 2]: the first in row order is reported. */
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.block_rows = 200;
    set_value(path, "/Y", 650, 0, INFINITY);
    expect_read_error("Inf in Y", path, &o, OOC_ERR_DATA, "'/Y' row 650 (0-based)");
    expect_read_error("Inf in Y", path, &o, OOC_ERR_DATA, "infinite");
    set_value(path, "/X", 537, 2, NAN);
    expect_read_error("NaN in X", path, &o, OOC_ERR_DATA, "row 537");
    expect_read_error("NaN in X (column)", path, &o, OOC_ERR_DATA, "'/X' column 2 ('x2')");
    expect_read_error("NaN in X (kind)", path, &o, OOC_ERR_DATA, "NaN");
    remove(path);
}

/* Byte offset and size of the chunk at `row` of dataset `name`. */
static int chunk_location(const char *path, const char *name, hsize_t row, haddr_t *addr,
                          hsize_t *size)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    hsize_t offset[2] = {row, 0};
    unsigned mask = 0;
    herr_t rc = H5Dget_chunk_info_by_coord(d, offset, &mask, addr, size);
    H5Dclose(d);
    H5Fclose(file);
    return rc < 0;
}

static void flip_bytes(const char *path, long at, int count)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < count; i++) {
        fseek(f, at + i, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at + i, SEEK_SET);
        fputc(c ^ 0x5a, f);
    }
    fclose(f);
}

static void test_damaged_files(void)
{
    const char *path = tmp_path("damaged");
    dset_spec specs[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 1000,
         .ncols = 4,
         .chunk_rows = 100,
         .chunk_cols = 4,
         .file_type = H5T_IEEE_F64LE,
         .shuffle = true,
         .deflate = 1},
        {.name = "/Y",
         .rank = 1,
         .nrows = 1000,
         .chunk_rows = 100,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE,
         .fletcher32 = true,
         .col_offset = 100},
    };
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.block_rows = 200;
    haddr_t addr = 0;
    hsize_t size = 0;

    /* Corrupt deflate stream of X's chunk at row 300. */
    CHECK(write_file(path, specs, 2) == 0);
    CHECK(chunk_location(path, "/X", 300, &addr, &size) == 0 && size > 20);
    flip_bytes(path, (long)addr + (long)size / 2, 8);
    expect_read_error("corrupt deflate", path, &o, OOC_ERR_CORRUPT, "'/X' chunk at row 300");

    /* Fletcher32 mismatch in Y's chunk at row 700 (no compression). */
    CHECK(write_file(path, specs, 2) == 0);
    CHECK(chunk_location(path, "/Y", 700, &addr, &size) == 0 && size == 804);
    flip_bytes(path, (long)addr + 16, 1);
    expect_read_error("fletcher32", path, &o, OOC_ERR_CORRUPT, "fletcher32");
    expect_read_error("fletcher32 chunk", path, &o, OOC_ERR_CORRUPT, "'/Y' chunk at row 700");

    /* Truncated copies: opening or reading fails cleanly. */
    CHECK(write_file(path, specs, 2) == 0);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long full = ftell(f);
    fclose(f);
    static const double fractions[] = {0.9, 0.5, 0.05};
    for (size_t k = 0; k < 3; k++) {
        CHECK(truncate(path, (off_t)((double)full * fractions[k])) == 0);
        ooc_source *src = NULL;
        ooc_error err = {0};
        ooc_status st = ooc_h5_source_open(path, &o, &src, &err);
        if (st == OOC_OK) {
            ooc_block *b;
            while ((st = src->vt->next(src, &b, &err)) == OOC_OK && b)
                src->vt->release(src, b);
            ooc_source_free(src);
        }
        CHECK_MSG(st != OOC_OK, "truncated to %.0f%%: no error", fractions[k] * 100);
        CHECK_MSG(strstr(err.message, path) != NULL, "truncated: message \"%s\" lacks the path",
                  err.message);
    }
    remove(path);
}

/* ------------------------------------------------------------------ blosc */

typedef struct blosc_spec {
    const char *name;
    int rank;
    hsize_t nrows, ncols, chunk_rows, chunk_cols;
    const char *compressor; /* blosc_compress's compressor name */
    bool hdf5_shuffle;      /* HDF5's shuffle filter before blosc (applied here, too) */
    bool deflate_first;     /* deflate declared before blosc (no chunks written) */
    bool partial_unfiltered; /* H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS (no chunks written) */
    hsize_t raw_chunk_row;  /* this chunk row stored raw, blosc masked off; 0: none */
    size_t col_offset;
} blosc_spec;

/* Write a blosc dataset of value_at(i, j + col_offset) (zero padding past
 * the last row): the filter declared optional with PyTables' parameters,
 * each chunk compressed by blosc_compress (libblosc's global function, not
 * the library's context one) and written with H5Dwrite_chunk. */
static int write_blosc_dataset(hid_t file, const blosc_spec *d)
{
    hsize_t dims[2] = {d->nrows, d->ncols}, maxdims[2] = {H5S_UNLIMITED, d->ncols};
    hsize_t chunk[2] = {d->chunk_rows, d->chunk_cols};
    const size_t ncols = d->rank == 2 ? (size_t)d->ncols : 1;
    const size_t ccols = d->rank == 2 ? (size_t)d->chunk_cols : 1;
    const size_t chunk_nbytes = (size_t)d->chunk_rows * ccols * sizeof(double);
    unsigned cd[7] = {2, 2, 8, (unsigned)chunk_nbytes, 5, d->hdf5_shuffle ? 0 : 1,
                      (unsigned)blosc_compname_to_compcode(d->compressor)};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int rc = H5Pset_chunk(dcpl, d->rank, chunk) < 0 ||
             (d->deflate_first && H5Pset_deflate(dcpl, 1) < 0) ||
             (d->hdf5_shuffle && H5Pset_shuffle(dcpl) < 0) ||
             H5Pset_filter(dcpl, 32001, H5Z_FLAG_OPTIONAL, 7, cd) < 0 ||
             (d->partial_unfiltered &&
              H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) < 0);
    hid_t space = H5Screate_simple(d->rank, dims, maxdims);
    hid_t dset = H5Dcreate2(file, d->name, H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    rc |= dset < 0;
    double *values = malloc(chunk_nbytes);
    unsigned char *shuffled = malloc(chunk_nbytes);
    unsigned char *frame = malloc(chunk_nbytes + BLOSC_MAX_OVERHEAD);
    blosc_set_compressor(d->compressor);
    for (hsize_t r0 = 0; !rc && !d->deflate_first && !d->partial_unfiltered && r0 < d->nrows;
         r0 += d->chunk_rows) {
        for (hsize_t c0 = 0; c0 < ncols; c0 += ccols) {
            for (size_t i = 0; i < d->chunk_rows; i++)
                for (size_t j = 0; j < ccols; j++) {
                    size_t row = (size_t)r0 + i, col = (size_t)c0 + j;
                    values[i * ccols + j] =
                        row < d->nrows && col < ncols ? value_at(row, col + d->col_offset) : 0.0;
                }
            const void *input = values;
            if (d->hdf5_shuffle) {
                ooc_shuffle(values, shuffled, chunk_nbytes, sizeof(double));
                input = shuffled;
            }
            hsize_t offset[2] = {r0, c0};
            if (d->raw_chunk_row && r0 / d->chunk_rows == d->raw_chunk_row) {
                rc |= H5Dwrite_chunk(dset, H5P_DEFAULT, d->hdf5_shuffle ? 2u : 1u, offset,
                                     chunk_nbytes, input) < 0;
                continue;
            }
            int n = blosc_compress(5, d->hdf5_shuffle ? BLOSC_NOSHUFFLE : BLOSC_SHUFFLE,
                                   sizeof(double), chunk_nbytes, input, frame,
                                   chunk_nbytes + BLOSC_MAX_OVERHEAD);
            rc |= n <= 0 || H5Dwrite_chunk(dset, H5P_DEFAULT, 0, offset, (size_t)n, frame) < 0;
        }
    }
    free(values);
    free(shuffled);
    free(frame);
    if (dset >= 0)
        H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    return rc;
}

static int write_blosc_file(const char *path, const blosc_spec *specs, size_t n)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        rc |= write_blosc_dataset(file, &specs[i]);
    H5Fclose(file);
    return rc;
}

static void test_blosc(void)
{
    const char *path = tmp_path("blosc");
    blosc_init();
    /* Every compressor blosc reads (snappy too: written elsewhere, decoded
     * here), column-split chunks, a chunk stored raw with blosc masked off,
     * HDF5's shuffle filter stacked under blosc. */
    static const struct {
        const char *compressor;
        hsize_t chunk_cols;
        bool hdf5_shuffle;
    } cases[] = {{"lz4", 5, false},    {"zstd", 3, false},    {"blosclz", 5, true},
                 {"lz4hc", 2, false},  {"zlib", 5, false},    {"snappy", 5, false}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        blosc_spec specs[2] = {
            {.name = "/X", .rank = 2, .nrows = 1003, .ncols = 5, .chunk_rows = 100,
             .chunk_cols = cases[c].chunk_cols, .compressor = cases[c].compressor,
             .hdf5_shuffle = cases[c].hdf5_shuffle, .raw_chunk_row = 4},
            {.name = "/Y", .rank = 1, .nrows = 1003, .ncols = 1, .chunk_rows = 256,
             .chunk_cols = 1, .compressor = cases[c].compressor, .col_offset = 100},
        };
        CHECK_MSG(write_blosc_file(path, specs, 2) == 0, "blosc %s: cannot write",
                  cases[c].compressor);
        g_p = 5;
        static const size_t block_rows[] = {0, 97};
        for (size_t b = 0; b < 2; b++) {
            ooc_source_options o;
            ooc_source_options_init(&o);
            o.block_rows = block_rows[b];
            o.nthreads = 1 + (int)b;
            double *m = NULL;
            uint64_t n = 0;
            size_t ncols = 0;
            ooc_error err = {0};
            ooc_status st = read_all(path, &o, &m, &n, &ncols, &err);
            CHECK_MSG(st == OOC_OK, "blosc %s (block_rows %zu): %s", cases[c].compressor,
                      block_rows[b], err.message);
            if (st == OOC_OK) {
                CHECK(n == 1003 && ncols == 6);
                check_matrix(cases[c].compressor, m, n, ncols, expect_xy);
            }
            free(m);
        }
    }

    /* Damaged frames name the chunk and what is wrong with it. */
    blosc_spec lz4[2] = {
        {.name = "/X", .rank = 2, .nrows = 1000, .ncols = 4, .chunk_rows = 100, .chunk_cols = 4,
         .compressor = "lz4"},
        {.name = "/Y", .rank = 1, .nrows = 1000, .ncols = 1, .chunk_rows = 100, .chunk_cols = 1,
         .compressor = "lz4", .col_offset = 100},
    };
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.block_rows = 200;
    haddr_t addr = 0;
    hsize_t size = 0;
    static const struct {
        long at;
        const char *says;
    } damage[] = {{5, "blosc header declares"}, /* nbytes */
                  {13, "compressed bytes"},     /* cbytes */
                  {19, "does not decompress"}}; /* the first block's offset */
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; k++) {
        CHECK(write_blosc_file(path, lz4, 2) == 0);
        CHECK(chunk_location(path, "/X", 300, &addr, &size) == 0 && size > 20);
        flip_bytes(path, (long)addr + damage[k].at, 1);
        expect_read_error("damaged blosc chunk", path, &o, OOC_ERR_CORRUPT,
                          "'/X' chunk at row 300, column 0 of");
        expect_read_error("damaged blosc chunk", path, &o, OOC_ERR_CORRUPT, damage[k].says);
    }

    /* Pipelines only HDF5 could decode, and it has no blosc filter. */
    blosc_spec after_deflate = lz4[0];
    after_deflate.deflate_first = true;
    CHECK(write_blosc_file(path, &after_deflate, 1) == 0);
    expect_open_error("blosc after deflate", path, &o, OOC_ERR_UNSUPPORTED,
                      "'/X' in '" /* path */);
    expect_open_error("blosc after deflate", path, &o, OOC_ERR_UNSUPPORTED,
                      "is blosc-compressed and applies blosc to data another filter resized");
    blosc_spec partial = lz4[0];
    partial.partial_unfiltered = true;
    CHECK(write_blosc_file(path, &partial, 1) == 0);
    expect_open_error("blosc, partial chunks unfiltered", path, &o, OOC_ERR_UNSUPPORTED,
                      "leaves partial edge chunks unfiltered, so only the HDF5 library could "
                      "read it, and it has no blosc filter");
    blosc_destroy();
    remove(path);
}

/* Ring buffers come from the caller's allocator (pinned memory for a GPU). */
typedef struct counting_allocator {
    int allocs, frees;
    size_t nbytes;
} counting_allocator;

static void *counting_alloc(size_t nbytes, void *ctx)
{
    counting_allocator *c = ctx;
    c->allocs++;
    c->nbytes = nbytes;
    return malloc(nbytes);
}

static void counting_free(void *ptr, void *ctx)
{
    counting_allocator *c = ctx;
    c->frees++;
    free(ptr);
}

static void test_allocator(void)
{
    const char *path = tmp_path("alloc");
    dset_spec specs[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 3000,
         .ncols = 3,
         .chunk_rows = 100,
         .chunk_cols = 3,
         .file_type = H5T_IEEE_F64LE,
         .deflate = 1},
        {.name = "/Y",
         .rank = 1,
         .nrows = 3000,
         .chunk_rows = 1000,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE,
         .col_offset = 100},
    };
    CHECK(write_file(path, specs, 2) == 0);
    counting_allocator counter = {0};
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.allocator = (ooc_allocator){counting_alloc, counting_free, &counter};
    o.ring_size = 3;
    o.block_rows = 128;
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK_MSG(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK, "%s", err.message);
    if (src) {
        CHECK(counter.allocs == 3 && counter.nbytes == 128 * 4 * sizeof(double));
        ooc_block *b;
        size_t blocks = 0;
        while (src->vt->next(src, &b, &err) == OOC_OK && b) {
            blocks++;
            src->vt->release(src, b);
        }
        CHECK(blocks == (3000 + 127) / 128 && counter.allocs == 3);
        ooc_source_free(src);
        CHECK(counter.frees == 3);
    }
    remove(path);

    /* Automatic block size: ~2 MiB (1304 rows of 201 doubles), raised to 2 of Y's
     * 1000-row chunks: X's 50-row chunks divide them, so blocks of 2000 rows start on
     * chunk boundaries of both and nothing straddles.  With 300-row X chunks, which do
     * not divide 1000, it takes 4 Y chunks so that few straddle, rounded to X's chunks:
     * 3900 rows. */
    dset_spec wide[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 5000,
         .ncols = 200,
         .chunk_rows = 50,
         .chunk_cols = 200,
         .file_type = H5T_IEEE_F64LE},
        {.name = "/Y",
         .rank = 1,
         .nrows = 5000,
         .chunk_rows = 1000,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE,
         .col_offset = 100},
    };
    CHECK(write_file(path, wide, 2) == 0);
    ooc_source_options_init(&o);
    CHECK(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK);
    if (src) {
        CHECK_MSG(src->block_rows == 2000, "automatic block_rows %zu", src->block_rows);
        ooc_source_free(src);
    }
    remove(path);
    wide[0].chunk_rows = 300;
    CHECK(write_file(path, wide, 2) == 0);
    CHECK(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK);
    if (src) {
        CHECK_MSG(src->block_rows == 3900, "automatic block_rows %zu", src->block_rows);
        ooc_source_free(src);
    }
    remove(path);
}

static void test_cancel(void)
{
    const char *path = tmp_path("cancel");
    dset_spec specs[2] = {
        {.name = "/X",
         .rank = 2,
         .nrows = 5000,
         .ncols = 4,
         .chunk_rows = 100,
         .chunk_cols = 4,
         .file_type = H5T_IEEE_F64LE,
         .deflate = 1},
        {.name = "/Y",
         .rank = 1,
         .nrows = 5000,
         .chunk_rows = 100,
         .chunk_cols = 1,
         .file_type = H5T_IEEE_F64LE},
    };
    CHECK(write_file(path, specs, 2) == 0);
    volatile int cancel = 0;
    ooc_source_options o;
    ooc_source_options_init(&o);
    o.block_rows = 100;
    o.cancel = &cancel;
    ooc_source *src = NULL;
    ooc_error err = {0};
    CHECK(ooc_h5_source_open(path, &o, &src, &err) == OOC_OK);
    if (src) {
        ooc_block *b;
        CHECK(src->vt->next(src, &b, &err) == OOC_OK && b);
        src->vt->release(src, b);
        cancel = 1;
        ooc_status st;
        int more = 0;
        while ((st = src->vt->next(src, &b, &err)) == OOC_OK && b && more++ < 100)
            src->vt->release(src, b);
        CHECK(st == OOC_ERR_INTERRUPTED);
        ooc_source_free(src);
    }
    remove(path);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    test_ring();
    test_layouts();
    test_types_and_fill();
    test_named_columns();
    test_rewind_and_empty();
    test_bad_layouts();
    test_nan_row();
    test_damaged_files();
    test_blosc();
    test_allocator();
    test_cancel();
    return TEST_EXIT();
}
