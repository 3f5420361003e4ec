/*
 * bench_gram.c — the Gram rate of this machine: how fast the BLAS forms
 * [X y]ᵀ[X y] (dsyrk, upper) for a design of P columns, the compute half of
 * the limit bench/run.py sets for fit --method normal on wide designs.
 *
 * usage: bench_gram P [NROWS] [THREADS] [PASSES]
 *
 * Two ways, on rows already in memory (random normal; no reading, no decode):
 *  1. "per-thread": THREADS threads, each with OpenBLAS single-threaded,
 *     folding its share of NROWS rows into its own Gram by dsyrk on panels
 *     of 2048 rows (as the CPU backend's workers do);
 *  2. "one call": one thread, OpenBLAS with THREADS threads, dsyrk on panels
 *     of 2048·THREADS rows.
 * Prints the best of PASSES for each, in seconds for NROWS rows and in GF/s
 * counting P²·NROWS flops (the upper triangle: what syrk must do), and the
 * better one as "gram limit".  Defaults: NROWS 60000, THREADS online CPUs,
 * PASSES 3.  The kernel OpenBLAS runs (its core name) is printed.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void openblas_set_num_threads(int);
char *openblas_get_corename(void);

#define PANEL_ROWS 2048

typedef struct share {
    size_t p, rows;
    const double *panel;    /* PANEL_ROWS x p, row-major (= p x PANEL_ROWS column-major) */
    double *gram;           /* p x p */
} share;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Fold `rows` rows (the panel, reused) into s->gram, PANEL_ROWS at a time. */
static void *fold(void *arg)
{
    share *s = arg;
    for (size_t done = 0; done < s->rows; done += PANEL_ROWS) {
        size_t k = s->rows - done < PANEL_ROWS ? s->rows - done : PANEL_ROWS;
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)s->p, (int)k, 1.0, s->panel,
                    (int)s->p, 1.0, s->gram, (int)s->p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gram P [NROWS] [THREADS] [PASSES]\n");
        return 2;
    }
    size_t p = strtoul(argv[1], NULL, 10);
    size_t nrows = argc > 2 ? strtoul(argv[2], NULL, 10) : 60000;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = argc > 3 ? atoi(argv[3]) : (online > 0 ? (int)online : 1);
    int passes = argc > 4 ? atoi(argv[4]) : 3;
    if (p == 0 || nrows == 0 || threads < 1 || threads > 256 || passes < 1) {
        fprintf(stderr, "bench_gram: bad arguments\n");
        return 2;
    }
    size_t panel_rows = PANEL_ROWS * (size_t)threads;
    double *panel = malloc(panel_rows * p * sizeof(double));
    double *grams = calloc((size_t)threads * p * p, sizeof(double));
    share *shares = calloc((size_t)threads, sizeof *shares);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!panel || !grams || !shares || !tids) {
        fprintf(stderr, "bench_gram: out of memory\n");
        return 1;
    }
    unsigned long long x = 88172645463325252ull;   /* xorshift: values in [-1, 1) */
    for (size_t i = 0; i < panel_rows * p; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        panel[i] = (double)(x >> 11) * 0x1p-52 - 1.0;
    }
    double best_threads = 1e300, best_one = 1e300;
    for (int pass = 0; pass < passes; pass++) {
        openblas_set_num_threads(1);
        double t = now();
        for (int i = 0; i < threads; i++) {
            shares[i] = (share){p, nrows / (size_t)threads + ((size_t)i < nrows % (size_t)threads),
                                panel, grams + (size_t)i * p * p};
            if (pthread_create(&tids[i], NULL, fold, &shares[i]) != 0) {
                fprintf(stderr, "bench_gram: cannot start a thread\n");
                return 1;
            }
        }
        for (int i = 0; i < threads; i++)
            pthread_join(tids[i], NULL);
        double dt = now() - t;
        best_threads = dt < best_threads ? dt : best_threads;
        openblas_set_num_threads(threads);
        t = now();
        for (size_t done = 0; done < nrows; done += panel_rows) {
            size_t k = nrows - done < panel_rows ? nrows - done : panel_rows;
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)p, (int)k, 1.0, panel,
                        (int)p, 1.0, grams, (int)p);
        }
        dt = now() - t;
        best_one = dt < best_one ? dt : best_one;
    }
    double flops = (double)p * (double)p * (double)nrows;
    printf("bench_gram: p %zu, %zu rows, %d threads, OpenBLAS core %s\n", p, nrows, threads,
           openblas_get_corename());
    printf("per-thread dsyrk  %8.3f s  %6.1f GF/s\n", best_threads, flops / best_threads * 1e-9);
    printf("one call dsyrk    %8.3f s  %6.1f GF/s\n", best_one, flops / best_one * 1e-9);
    double best = best_threads < best_one ? best_threads : best_one;
    printf("gram limit        %8.3f s  %6.1f GF/s\n", best, flops / best * 1e-9);
    free(panel);
    free(grams);
    free(shares);
    free(tids);
    return 0;
}
