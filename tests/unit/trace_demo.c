/*
 * trace_demo.c — writes a realistic profile trace without needing a data
 * set: a "reader" thread tokenizes blocks and hands them through a small
 * bounded queue to two "eval" workers, the main thread compresses and
 * writes what they produce, then finalizes.  Work is real CPU work (so the
 * CPU % track means something) and memory grows during the run (so RSS
 * moves).  Used by trace_render.py to exercise `oocsolve profile-svg`.
 *
 * usage: trace_demo OUT.json
 */
#include "profile/trace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBLOCKS 48
#define QUEUE_SLOTS 4

typedef struct demo {
    ooc_trace *tr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int produced, consumed_by_eval, evaluated, written;
    atomic_int slots_in_use;
    atomic_uint_least64_t bytes_read;
    volatile double sink;
} demo;

/* About `units` x 0.1 ms of floating point work. */
static double burn(int units)
{
    double x = 1.0;
    for (long i = 0; i < (long)units * 20000; i++)
        x = x * 1.0000001 + 1e-9;
    return x;
}

static double slots_in_use(void *ctx)
{
    return (double)atomic_load(&((demo *)ctx)->slots_in_use);
}

static double bytes_read(void *ctx)
{
    return (double)atomic_load(&((demo *)ctx)->bytes_read);
}

static void *reader(void *arg)
{
    demo *d = arg;
    ooc_trace_name_thread(d->tr, "reader");
    for (int b = 0; b < NBLOCKS; b++) {
        pthread_mutex_lock(&d->mu);
        while (d->produced - d->written >= QUEUE_SLOTS)
            pthread_cond_wait(&d->cv, &d->mu);
        pthread_mutex_unlock(&d->mu);
        ooc_trace_token t = ooc_trace_begin(d->tr, OOC_STAGE_CSV_TOKENIZE);
        d->sink += burn(25);
        ooc_trace_end_bytes(d->tr, t, 4u << 20);
        atomic_fetch_add(&d->bytes_read, 4u << 20);
        atomic_fetch_add(&d->slots_in_use, 1);
        pthread_mutex_lock(&d->mu);
        d->produced++;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
    return NULL;
}

static void *evaluator(void *arg)
{
    demo *d = arg;
    static atomic_int next_name = 1;
    char name[32];
    snprintf(name, sizeof name, "eval %d", atomic_fetch_add(&next_name, 1));
    ooc_trace_name_thread(d->tr, name);
    for (;;) {
        pthread_mutex_lock(&d->mu);
        while (d->consumed_by_eval == d->produced && d->consumed_by_eval < NBLOCKS)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->consumed_by_eval == NBLOCKS) {
            pthread_mutex_unlock(&d->mu);
            return NULL;
        }
        d->consumed_by_eval++;
        pthread_mutex_unlock(&d->mu);
        ooc_trace_token t = ooc_trace_begin(d->tr, OOC_STAGE_FORMULA_EVAL);
        d->sink += burn(40);
        ooc_trace_end(d->tr, t);
        pthread_mutex_lock(&d->mu);
        d->evaluated++;
        pthread_cond_broadcast(&d->cv);
        pthread_mutex_unlock(&d->mu);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: trace_demo OUT.json\n");
        return 2;
    }
    demo d = {0};
    ooc_error err = {0};
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    ooc_trace_options to = {.sample_interval_ms = 10};
    if (ooc_trace_create(&to, &d.tr, &err) != OOC_OK) {
        fprintf(stderr, "trace_demo: %s\n", err.message);
        return 1;
    }
    ooc_trace_set_meta(d.tr, "command", "trace_demo %s", argv[1]);
    ooc_trace_set_meta(d.tr, "rows", "%d", NBLOCKS * 32768);
    ooc_trace_set_meta(d.tr, "threads", "3");
    int ring = ooc_trace_counter_add(d.tr, "ring buffers in use", "buffers", OOC_COUNTER_VALUE, 1.0,
                                     slots_in_use, &d);
    int rate = ooc_trace_counter_add(d.tr, "bytes read", "MB/s", OOC_COUNTER_RATE, 1e-6,
                                     bytes_read, &d);
    pthread_t th[3];
    pthread_create(&th[0], NULL, reader, &d);
    pthread_create(&th[1], NULL, evaluator, &d);
    pthread_create(&th[2], NULL, evaluator, &d);

    char *keep[NBLOCKS] = {0};
    for (int b = 0; b < NBLOCKS; b++) {
        pthread_mutex_lock(&d.mu);
        while (d.evaluated <= b)
            pthread_cond_wait(&d.cv, &d.mu);
        pthread_mutex_unlock(&d.mu);
        ooc_trace_token outer = ooc_trace_begin(d.tr, OOC_STAGE_CHUNK_WRITE);
        ooc_trace_token inner = ooc_trace_begin(d.tr, OOC_STAGE_COMPRESS);
        d.sink += burn(12);
        ooc_trace_end_bytes(d.tr, inner, 1u << 20);
        keep[b] = malloc(2u << 20); /* memory grows as "chunks" are kept */
        if (keep[b])
            memset(keep[b], b, 2u << 20);
        d.sink += burn(3);
        ooc_trace_end(d.tr, outer);
        atomic_fetch_sub(&d.slots_in_use, 1);
        pthread_mutex_lock(&d.mu);
        d.written++;
        pthread_cond_broadcast(&d.cv);
        pthread_mutex_unlock(&d.mu);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    ooc_trace_counter_remove(d.tr, ring);
    ooc_trace_counter_remove(d.tr, rate);
    ooc_trace_token fin = ooc_trace_begin(d.tr, OOC_STAGE_FINALIZE);
    d.sink += burn(60);
    ooc_trace_end(d.tr, fin);
    for (int b = 0; b < NBLOCKS; b++)
        free(keep[b]);
    ooc_status st = ooc_trace_write_json(d.tr, argv[1], &err);
    ooc_trace_free(d.tr);
    pthread_mutex_destroy(&d.mu);
    pthread_cond_destroy(&d.cv);
    if (st != OOC_OK) {
        fprintf(stderr, "trace_demo: %s\n", err.message);
        return 1;
    }
    return 0;
}
