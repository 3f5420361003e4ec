/*
 * bench_parse.c — throughput of the CSV tokenizer and of ooc_parse_double.
 *
 *   bench_parse [file.csv [rows]]
 *
 * Without a file argument, writes a CSV shaped like the seed workload
 * (a,b,c,d: floats printed with %.17g; cat1: integer 0..4; y: float; default
 * 1,000,000 rows) to $TMPDIR (or /tmp) and removes it afterwards.  Reports:
 *   - tokenizing only (ooc_csv_next_block over the whole file, page cache warm),
 *     MB/s, best of 3;
 * All times are process CPU time (see now_seconds).
 *   - numbers/s of ooc_parse_double and of strtod over every field of every
 *     block (parse time only, tokenizing excluded), best of 3, after checking
 *     that both give bit-identical results for every field.
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "csv/csv.h"
#include "csv/numparse.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this process (user + system): on a shared, busy machine it
 * measures the work done, where wall time would also count waiting for a core. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 42;

static double rng_uniform(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (double)(rng_state >> 11) * 0x1p-53;
}

/* Approximately standard normal (sum of uniforms), enough for realistic digits. */
static double rng_normal(void)
{
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += rng_uniform();
    return (s - 2.0) * 1.7320508075688772;
}

static int write_seed_csv(const char *path, long rows)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("a,b,c,d,cat1,y\n", f);
    for (long i = 0; i < rows; i++) {
        double a = rng_normal(), b = rng_normal(), c = rng_normal(), d = rng_normal() * 1e-5;
        int cat = (int)(rng_uniform() * 5);
        double y = 1.5 * a - 2 * b + 0.5 * a * b + cat + rng_normal();
        fprintf(f, "%.17g,%.17g,%.17g,%.17g,%d,%.17g\n", a, b, c, d, cat, y);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int fail(const char *what, const ooc_error *err)
{
    fprintf(stderr, "bench_parse: %s: %s\n", what, err->message);
    return 1;
}

int main(int argc, char **argv)
{
    char generated[512] = "";
    const char *path = argc > 1 ? argv[1] : NULL;
    long rows = argc > 2 ? atol(argv[2]) : 1000000;
    if (!path) {
        const char *tmp = getenv("TMPDIR");
        snprintf(generated, sizeof generated, "%s/bench_parse_%ld.csv", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        if (write_seed_csv(generated, rows) != 0) {
            fprintf(stderr, "bench_parse: cannot write %s: %s\n", generated, strerror(errno));
            return 1;
        }
        path = generated;
    }

    ooc_error err = {0};
    ooc_csv_reader *r = NULL;
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    int rc = 1;
    if (ooc_csv_open(path, NULL, &r, &err) != OOC_OK) {
        rc = fail("open", &err);
        goto out;
    }
    double best_tok = INFINITY;
    uint64_t nrecords = 0, nbytes = 0;
    for (int rep = 0; rep < 3; rep++) {
        if (ooc_csv_rewind(r, &err) != OOC_OK) {
            rc = fail("rewind", &err);
            goto out;
        }
        double t0 = now_seconds();
        nrecords = 0;
        for (;;) {
            if (ooc_csv_next_block(r, &blk, &err) != OOC_OK) {
                rc = fail("tokenize", &err);
                goto out;
            }
            if (blk.nrecords == 0)
                break;
            nrecords += blk.nrecords;
        }
        double t = now_seconds() - t0;
        nbytes = ooc_csv_bytes_read(r);
        if (t < best_tok)
            best_tok = t;
    }
    printf("file: %s (%.1f MB, %llu records, %zu columns)\n", path, (double)nbytes / 1e6,
           (unsigned long long)nrecords, ooc_csv_ncols(r));
    printf("tokenize:         %8.1f MB/s  (%.3f s, best of 3)\n", (double)nbytes / 1e6 / best_tok,
           best_tok);

    /* Parsing: time only the parse loops, per block; verify against strtod once. */
    double best_fast = INFINITY, best_strtod = INFINITY;
    uint64_t nnumbers = 0, mismatches = 0, rejected = 0;
    double sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t_fast = 0, t_strtod = 0;
        nnumbers = 0;
        if (ooc_csv_rewind(r, &err) != OOC_OK) {
            rc = fail("rewind", &err);
            goto out;
        }
        for (;;) {
            if (ooc_csv_next_block(r, &blk, &err) != OOC_OK) {
                rc = fail("tokenize", &err);
                goto out;
            }
            if (blk.nrecords == 0)
                break;
            size_t n = blk.nrecords * blk.nfields;
            double t0 = now_seconds();
            for (size_t i = 0; i < n; i++) {
                double v;
                if (ooc_parse_double(blk.fields[i], blk.field_lens[i], &v))
                    sink += v;
            }
            double t1 = now_seconds();
            for (size_t i = 0; i < n; i++)
                sink += strtod(blk.fields[i], NULL);
            double t2 = now_seconds();
            t_fast += t1 - t0;
            t_strtod += t2 - t1;
            nnumbers += n;
            if (rep == 0) {
                for (size_t i = 0; i < n; i++) {
                    double v = 0, ref = strtod(blk.fields[i], NULL);
                    if (!ooc_parse_double(blk.fields[i], blk.field_lens[i], &v))
                        rejected++;
                    else if (memcmp(&v, &ref, sizeof v) != 0)
                        mismatches++;
                }
            }
        }
        if (t_fast < best_fast)
            best_fast = t_fast;
        if (t_strtod < best_strtod)
            best_strtod = t_strtod;
    }
    printf("ooc_parse_double: %8.1f M numbers/s (%.3f s for %llu numbers)\n",
           (double)nnumbers / 1e6 / best_fast, best_fast, (unsigned long long)nnumbers);
    printf("strtod:           %8.1f M numbers/s (%.3f s)\n", (double)nnumbers / 1e6 / best_strtod,
           best_strtod);
    printf("verified: %llu mismatches, %llu rejected (checksum %g)\n",
           (unsigned long long)mismatches, (unsigned long long)rejected, sink);
    rc = mismatches || rejected ? 1 : 0;
out:
    ooc_csv_block_free(&blk);
    ooc_csv_close(r);
    if (generated[0])
        unlink(generated);
    return rc;
}
