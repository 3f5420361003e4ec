/*
 * bench_h5write.c — compression codecs and the HDF5 writer on seed-like data.
 *
 * usage: bench_h5write [NROWS [THREADS [OUT.h5]]]     (defaults 2500000, 2, bench_h5write.h5)
 *
 * Data like the seed's design matrix (12 columns): a, b, c, d ~ N(0,1)
 * printed with %.17g and parsed back, the products d*c, a*b, a*c and five
 * 0/1 dummy columns; y = X beta + N(0,1).
 *
 * 1. Codecs, one thread, CPU time (robust on a shared machine): libdeflate vs
 *    ISA-L at level 1 (and libdeflate 6), with and without shuffle, on
 *    ~1 MiB chunks; every stream is decoded by libdeflate and compared.
 * 2. The writer end to end (level 1 + shuffle, level 1 without shuffle,
 *    level 0): wall and CPU seconds, MB/s of raw X+Y, ratio; the file is read
 *    back with H5Dread and compared bit for bit.
 */
#include "hdf5/h5write.h"
#include "hdf5/zcodec.h"

#include <hdf5.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NCOLS 12

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double uniform01(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static double normal01(void)
{
    return sqrt(-2.0 * log(uniform01())) * cos(2.0 * M_PI * uniform01());
}

static void make_rows(double *X, double *y, size_t n)
{
    char text[40];
    for (size_t i = 0; i < n; i++) {
        double v[4];
        for (int k = 0; k < 4; k++) {
            snprintf(text, sizeof text, "%.17g", normal01());
            v[k] = strtod(text, NULL);
        }
        double *r = X + i * NCOLS;
        r[0] = v[0], r[1] = v[1], r[2] = v[2], r[3] = v[3];
        r[4] = v[3] * v[2], r[5] = v[0] * v[1], r[6] = v[0] * v[2];
        int cat = (int)(uniform01() * 5);
        y[i] = normal01();
        for (int k = 0; k < 5; k++)
            r[7 + k] = (k == cat);
        for (int j = 0; j < NCOLS; j++)
            y[i] += r[j] * j / (double)NCOLS;
    }
}

typedef enum codec { LIBDEFLATE, ISAL } codec;

/* Compress every chunk; returns total compressed bytes, 0 on a failed round trip. */
static size_t run_codec(codec which, int level, const unsigned char *data, size_t nchunks,
                        size_t chunk_nbytes, double *cpu_seconds)
{
    unsigned char *out = malloc(chunk_nbytes + 1024), *back = malloc(chunk_nbytes);
    struct libdeflate_compressor *ld = libdeflate_alloc_compressor(level);
    struct libdeflate_decompressor *dec = libdeflate_alloc_decompressor();
    size_t lvl_nbytes = ISAL_DEF_LVL1_DEFAULT;
    unsigned char *lvl_buf = malloc(lvl_nbytes);
    size_t total = 0;
    bool ok = out && back && ld && dec && lvl_buf;
    double cpu = 0;
    for (size_t c = 0; ok && c < nchunks; c++) {
        const unsigned char *in = data + c * chunk_nbytes;
        size_t zn = 0;
        double t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
        if (which == LIBDEFLATE) {
            zn = libdeflate_zlib_compress(ld, in, chunk_nbytes, out, chunk_nbytes + 1024);
        } else {
            struct isal_zstream s;
            isal_deflate_stateless_init(&s);
            s.level = (uint32_t)level;
            s.level_buf = lvl_buf;
            s.level_buf_size = (uint32_t)lvl_nbytes;
            s.gzip_flag = IGZIP_ZLIB;
            s.next_in = (uint8_t *)(uintptr_t)in;
            s.avail_in = (uint32_t)chunk_nbytes;
            s.next_out = out;
            s.avail_out = (uint32_t)(chunk_nbytes + 1024);
            zn = isal_deflate_stateless(&s) == COMP_OK ? s.total_out : 0;
        }
        cpu += clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
        size_t got = 0;
        ok = zn > 0 &&
             libdeflate_zlib_decompress(dec, out, zn, back, chunk_nbytes, &got) ==
                 LIBDEFLATE_SUCCESS &&
             got == chunk_nbytes && memcmp(back, in, chunk_nbytes) == 0;
        total += zn;
    }
    *cpu_seconds = cpu;
    libdeflate_free_compressor(ld);
    libdeflate_free_decompressor(dec);
    free(lvl_buf);
    free(out);
    free(back);
    return ok ? total : 0;
}

static int bench_codecs(const double *X, size_t n)
{
    size_t chunk_rows = ((size_t)1 << 20) / (NCOLS * 8), chunk_nbytes = chunk_rows * NCOLS * 8;
    size_t nchunks = n / chunk_rows > 40 ? 40 : n / chunk_rows;
    if (nchunks == 0)
        return 0;
    unsigned char *shuffled = malloc(nchunks * chunk_nbytes);
    if (!shuffled)
        return 1;
    for (size_t c = 0; c < nchunks; c++)
        ooc_shuffle((const unsigned char *)X + c * chunk_nbytes, shuffled + c * chunk_nbytes,
                    chunk_nbytes, 8);
    printf("codecs: %zu chunks of %zu bytes, one thread, MB/s of input per CPU second\n", nchunks,
           chunk_nbytes);
    static const struct { codec which; int level; const char *name; } runs[] = {
        {ISAL, 1, "isa-l      level 1"},
        {LIBDEFLATE, 1, "libdeflate level 1"},
        {LIBDEFLATE, 6, "libdeflate level 6"},
    };
    int failed = 0;
    for (int shuffle = 1; shuffle >= 0; shuffle--)
        for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
            const unsigned char *data = shuffle ? shuffled : (const unsigned char *)X;
            double cpu = 0;
            size_t z = run_codec(runs[r].which, runs[r].level, data, nchunks, chunk_nbytes, &cpu);
            if (!z) {
                printf("  %s: ROUND TRIP FAILED\n", runs[r].name);
                failed = 1;
                continue;
            }
            printf("  %s  shuffle=%d: %7.1f MB/s  ratio %.3f\n", runs[r].name, shuffle,
                   (double)(nchunks * chunk_nbytes) / cpu / 1e6,
                   (double)(nchunks * chunk_nbytes) / (double)z);
        }
    free(shuffled);
    return failed;
}

static int bench_writer(const double *X, const double *y, size_t n, int threads, const char *path,
                        int level, bool shuffle)
{
    ooc_h5_writer_options o = {.path = path, .ncols = NCOLS, .with_y = true, .level = level,
                               .shuffle = shuffle, .nthreads = threads};
    ooc_h5_writer *w = NULL;
    ooc_h5_write_stats st = {0};
    ooc_error err = {0};
    const size_t block = 50000;
    double t0 = clock_seconds(CLOCK_MONOTONIC), c0 = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    ooc_status status = ooc_h5w_create(&o, &w, &err);
    for (size_t i = 0; status == OOC_OK && i < n; i += block)
        status = ooc_h5w_append(w, X + i * NCOLS, y + i, n - i < block ? n - i : block, &err);
    if (status == OOC_OK)
        status = ooc_h5w_commit(w, &st, &err);
    else
        ooc_h5w_abort(w);
    double wall = clock_seconds(CLOCK_MONOTONIC) - t0;
    double cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (status != OOC_OK) {
        fprintf(stderr, "bench_h5write: %s\n", err.message);
        return 1;
    }
    /* Verify: read back through HDF5's own filters. */
    double *back = malloc(n * NCOLS * sizeof *back);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dx = f >= 0 ? H5Dopen2(f, "X", H5P_DEFAULT) : -1;
    hid_t dy = f >= 0 ? H5Dopen2(f, "Y", H5P_DEFAULT) : -1;
    bool ok = back && dx >= 0 && dy >= 0 &&
              H5Dread(dx, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0 &&
              memcmp(back, X, n * NCOLS * sizeof *back) == 0 &&
              H5Dread(dy, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) >= 0 &&
              memcmp(back, y, n * sizeof *back) == 0;
    if (dy >= 0)
        H5Dclose(dy);
    if (dx >= 0)
        H5Dclose(dx);
    if (f >= 0)
        H5Fclose(f);
    free(back);
    double mb = (double)(n * (NCOLS + 1) * 8) / 1e6;
    printf("writer: level %d shuffle=%d threads %d: %.2f s wall (%.0f MB/s), %.2f s CPU "
           "(%.0f MB per CPU s), %.0f MB -> %.1f MB, ratio %.3f, chunk %zu rows, %s\n",
           level, shuffle, threads, wall, mb / wall, cpu, mb / cpu, mb,
           (double)st.stored_bytes / 1e6, (double)st.raw_bytes / (double)st.stored_bytes,
           st.chunk_rows, ok ? "verified" : "VERIFY FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2500000;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    const char *path = argc > 3 ? argv[3] : "bench_h5write.h5";
    double *X = malloc(n * NCOLS * sizeof *X), *y = malloc(n * sizeof *y);
    if (!X || !y || n == 0) {
        fprintf(stderr, "bench_h5write: cannot allocate %zu rows\n", n);
        return 1;
    }
    make_rows(X, y, n);
    int failed = bench_codecs(X, n);
    failed |= bench_writer(X, y, n, threads, path, 1, true);
    failed |= bench_writer(X, y, n, threads, path, 1, false);
    failed |= bench_writer(X, y, n, threads, path, 0, false);
    remove(path);
    free(X);
    free(y);
    return failed;
}
