/*
 * trace.c — the span recorder, the counter sampler thread, snapshots and the
 * Chrome trace-event JSON writer (see trace.h).
 *
 * Each recording thread owns a trace_thread with a chain of fixed-size span
 * blocks.  Only the owner appends; it publishes a span by a release store of
 * the block's count, so a snapshot can copy completed spans while threads
 * keep recording, without a lock on the hot path.  The thread finds its
 * trace_thread through a thread-local cache keyed by the trace's unique id
 * (not its address, which a later trace may reuse); the first span of a
 * thread in a trace takes the trace mutex once to register it.
 */
#include "profile/trace.h"

#include "base/clock.h"
#include "base/error.h"
#include "base/outfile.h"
#include "base/json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SPANS_PER_BLOCK 1024
#define MAX_COUNTERS 16
#define COUNTER_RSS 0
#define COUNTER_CPU 1

static const char *const stage_names[OOC_STAGE_COUNT] = {
    [OOC_STAGE_CSV_TOKENIZE] = "csv tokenize",
    [OOC_STAGE_LEVEL_SCAN] = "level scan",
    [OOC_STAGE_FORMULA_EVAL] = "formula eval",
    [OOC_STAGE_COMPRESS] = "compress",
    [OOC_STAGE_CHUNK_WRITE] = "chunk write",
    [OOC_STAGE_CHUNK_READ] = "chunk read",
    [OOC_STAGE_DECOMPRESS] = "decompress",
    [OOC_STAGE_UNSHUFFLE] = "unshuffle",
    [OOC_STAGE_COPY_TO_DEVICE] = "copy to device",
    [OOC_STAGE_ACCUMULATE] = "accumulate",
    [OOC_STAGE_FINALIZE] = "finalize",
    [OOC_STAGE_WRITE_OUTPUT] = "write output",
    [OOC_STAGE_RESIDUAL_PASS] = "residual pass",
    [OOC_STAGE_MEMORIZE] = "memorize",
};

const char *ooc_stage_name(ooc_stage stage)
{
    return (unsigned)stage < OOC_STAGE_COUNT ? stage_names[stage] : "?";
}

bool ooc_stage_from_name(const char *name, ooc_stage *stage)
{
    for (int s = 0; s < OOC_STAGE_COUNT; s++)
        if (!strcmp(name, stage_names[s])) {
            *stage = (ooc_stage)s;
            return true;
        }
    return false;
}

typedef struct raw_span {
    int64_t start_ns; /* CLOCK_MONOTONIC */
    int64_t dur_ns;
    uint64_t nbytes;
    int stage;
} raw_span;

typedef struct span_block {
    _Atomic(struct span_block *) next;
    atomic_size_t n;
    raw_span spans[SPANS_PER_BLOCK];
} span_block;

typedef struct trace_thread {
    struct trace_thread *next;
    pthread_t self;
    int tid;
    char name[64];           /* guarded by the trace mutex */
    span_block *head;
    span_block *tail;        /* only the owner thread touches tail */
    atomic_uint_least64_t dropped;
} trace_thread;

typedef struct counter_track {
    bool used;
    bool active;
    char name[48];
    char unit[16];
    ooc_trace_counter_kind kind;
    double scale;
    ooc_trace_counter_fn read;
    void *ctx;
    double last_raw;         /* for rates */
    int64_t last_ns;
    bool have_last;
    ooc_trace_sample *samples;
    size_t nsamples, cap;
} counter_track;

struct ooc_trace {
    uint64_t id;
    int64_t t0_ns;
    int64_t end_ns;          /* 0 until finished */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* wakes the sampler to stop */
    trace_thread *threads;   /* registration order */
    int nthreads;

    unsigned interval_ms;
    bool sampler_running;
    bool stop;
    pthread_t sampler;
    counter_track counters[MAX_COUNTERS];
    int64_t last_cpu_ns;
    int64_t last_cpu_wall_ns;
    long page_size;

    ooc_trace_meta_rec *meta;
    size_t nmeta, meta_cap;
};

/* Source of trace ids for the thread-local cache (ids never repeat, unlike
 * addresses).  The only process-wide state of the module. */
static atomic_uint_least64_t next_trace_id = 1;
static _Thread_local uint64_t tls_trace_id;
static _Thread_local trace_thread *tls_thread;

/* Register the calling thread (trace mutex held).  NULL on allocation failure. */
static trace_thread *register_thread_locked(ooc_trace *tr)
{
    pthread_t self = pthread_self();
    trace_thread **link = &tr->threads;
    for (trace_thread *t = tr->threads; t; t = t->next) {
        if (pthread_equal(t->self, self))
            return t;
        link = &t->next;
    }
    trace_thread *t = calloc(1, sizeof *t);
    span_block *b = calloc(1, sizeof *b);
    if (!t || !b) {
        free(t);
        free(b);
        return NULL;
    }
    t->self = self;
    t->tid = ++tr->nthreads;
    snprintf(t->name, sizeof t->name, "thread %d", t->tid);
    t->head = t->tail = b;
    *link = t;
    return t;
}

static trace_thread *this_thread(ooc_trace *tr)
{
    if (tls_trace_id == tr->id)
        return tls_thread;
    pthread_mutex_lock(&tr->mu);
    trace_thread *t = register_thread_locked(tr);
    pthread_mutex_unlock(&tr->mu);
    if (t) {
        tls_trace_id = tr->id;
        tls_thread = t;
    }
    return t;
}

ooc_trace_token ooc_trace_begin(ooc_trace *tr, ooc_stage stage)
{
    ooc_trace_token tok = {0, -1};
    if (tr && (unsigned)stage < OOC_STAGE_COUNT) {
        tok.start_ns = ooc_clock_ns();
        tok.stage = (int)stage;
    }
    return tok;
}

void ooc_trace_end_bytes(ooc_trace *tr, ooc_trace_token token, uint64_t nbytes)
{
    if (!tr || token.stage < 0)
        return;
    int64_t end = ooc_clock_ns();
    trace_thread *t = this_thread(tr);
    if (!t)
        return;
    span_block *b = t->tail;
    size_t n = atomic_load_explicit(&b->n, memory_order_relaxed);
    if (n == SPANS_PER_BLOCK) {
        span_block *nb = calloc(1, sizeof *nb);
        if (!nb) {
            atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
            return;
        }
        atomic_store_explicit(&b->next, nb, memory_order_release);
        t->tail = b = nb;
        n = 0;
    }
    b->spans[n] = (raw_span){token.start_ns, end - token.start_ns, nbytes, token.stage};
    atomic_store_explicit(&b->n, n + 1, memory_order_release);
}

void ooc_trace_end(ooc_trace *tr, ooc_trace_token token)
{
    ooc_trace_end_bytes(tr, token, 0);
}

void ooc_trace_name_thread(ooc_trace *tr, const char *name)
{
    if (!tr || !name)
        return;
    trace_thread *t = this_thread(tr);
    if (!t)
        return;
    pthread_mutex_lock(&tr->mu);
    snprintf(t->name, sizeof t->name, "%s", name);
    pthread_mutex_unlock(&tr->mu);
}

/* ---- counters ---- */

static void push_sample_locked(counter_track *c, int64_t t_ns, double value)
{
    if (!isfinite(value))
        return;
    if (c->nsamples == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        ooc_trace_sample *grown = realloc(c->samples, cap * sizeof *grown);
        if (!grown)
            return; /* a missing sample only makes the plot coarser */
        c->samples = grown;
        c->cap = cap;
    }
    c->samples[c->nsamples++] = (ooc_trace_sample){t_ns, value};
}

static bool read_rss_mb(const ooc_trace *tr, double *mb)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return false;
    unsigned long size_pages, resident_pages;
    int got = fscanf(f, "%lu %lu", &size_pages, &resident_pages);
    fclose(f);
    if (got != 2)
        return false;
    *mb = (double)resident_pages * (double)tr->page_size / 1e6;
    return true;
}

static int64_t process_cpu_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ((int64_t)ru.ru_utime.tv_sec + (int64_t)ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + (int64_t)ru.ru_stime.tv_usec) * 1000;
}

/* One sample of every active counter (trace mutex held). */
static void take_sample_locked(ooc_trace *tr)
{
    int64_t t = ooc_clock_ns();
    double rss;
    if (read_rss_mb(tr, &rss))
        push_sample_locked(&tr->counters[COUNTER_RSS], t, rss);
    int64_t cpu = process_cpu_ns();
    if (cpu >= 0 && tr->last_cpu_ns >= 0 && t > tr->last_cpu_wall_ns) {
        double pct = 100.0 * (double)(cpu - tr->last_cpu_ns) / (double)(t - tr->last_cpu_wall_ns);
        push_sample_locked(&tr->counters[COUNTER_CPU], t, pct);
    }
    tr->last_cpu_ns = cpu;
    tr->last_cpu_wall_ns = t;
    for (int i = COUNTER_CPU + 1; i < MAX_COUNTERS; i++) {
        counter_track *c = &tr->counters[i];
        if (!c->active)
            continue;
        double raw = c->read(c->ctx);
        if (c->kind == OOC_COUNTER_VALUE) {
            push_sample_locked(c, t, raw * c->scale);
        } else {
            if (c->have_last && t > c->last_ns)
                push_sample_locked(c, t, (raw - c->last_raw) * c->scale * 1e9 / (double)(t - c->last_ns));
            c->last_raw = raw;
            c->last_ns = t;
            c->have_last = true;
        }
    }
}

static void *sampler_main(void *arg)
{
    ooc_trace *tr = arg;
    pthread_mutex_lock(&tr->mu);
    int64_t next = ooc_clock_ns();
    while (!tr->stop) {
        next += (int64_t)tr->interval_ms * 1000000;
        struct timespec deadline = {(time_t)(next / 1000000000), (long)(next % 1000000000)};
        int rc = 0;
        while (!tr->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&tr->cv, &tr->mu, &deadline);
        if (tr->stop)
            break;
        take_sample_locked(tr);
        int64_t now = ooc_clock_ns();
        if (next < now - (int64_t)tr->interval_ms * 1000000)
            next = now; /* fell behind (suspended): do not burst */
    }
    pthread_mutex_unlock(&tr->mu);
    return NULL;
}

int ooc_trace_counter_add(ooc_trace *tr, const char *name, const char *unit,
                          ooc_trace_counter_kind kind, double scale, ooc_trace_counter_fn read,
                          void *ctx)
{
    if (!tr || !read || !name)
        return -1;
    int id = -1;
    pthread_mutex_lock(&tr->mu);
    for (int i = COUNTER_CPU + 1; i < MAX_COUNTERS; i++) {
        counter_track *c = &tr->counters[i];
        if (c->used)
            continue;
        c->used = c->active = true;
        snprintf(c->name, sizeof c->name, "%s", name);
        snprintf(c->unit, sizeof c->unit, "%s", unit ? unit : "");
        c->kind = kind;
        c->scale = scale;
        c->read = read;
        c->ctx = ctx;
        c->have_last = false;
        id = i;
        break;
    }
    /* A first reading now: values start at the registration time, rates get their base. */
    if (id >= 0 && tr->sampler_running) {
        counter_track *c = &tr->counters[id];
        int64_t t = ooc_clock_ns();
        double raw = read(ctx);
        if (kind == OOC_COUNTER_VALUE)
            push_sample_locked(c, t, raw * scale);
        c->last_raw = raw;
        c->last_ns = t;
        c->have_last = true;
    }
    if (id >= 0 && !tr->sampler_running)
        tr->counters[id].active = false; /* no sampler: nothing will read it */
    pthread_mutex_unlock(&tr->mu);
    return id;
}

void ooc_trace_counter_remove(ooc_trace *tr, int id)
{
    if (!tr || id <= COUNTER_CPU || id >= MAX_COUNTERS)
        return;
    pthread_mutex_lock(&tr->mu);
    tr->counters[id].active = false;
    tr->counters[id].read = NULL;
    tr->counters[id].ctx = NULL;
    pthread_mutex_unlock(&tr->mu);
}

/* ---- metadata ---- */

static void set_meta_locked(ooc_trace *tr, const char *key, const char *value)
{
    for (size_t i = 0; i < tr->nmeta; i++)
        if (!strcmp(tr->meta[i].key, key)) {
            char *v = strdup(value);
            if (v) {
                free(tr->meta[i].value);
                tr->meta[i].value = v;
            }
            return;
        }
    if (tr->nmeta == tr->meta_cap) {
        size_t cap = tr->meta_cap ? 2 * tr->meta_cap : 16;
        ooc_trace_meta_rec *grown = realloc(tr->meta, cap * sizeof *grown);
        if (!grown)
            return;
        tr->meta = grown;
        tr->meta_cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return;
    }
    tr->meta[tr->nmeta++] = (ooc_trace_meta_rec){k, v};
}

void ooc_trace_set_meta(ooc_trace *tr, const char *key, const char *fmt, ...)
{
    if (!tr || !key || !fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *value = NULL;
    int n = vasprintf(&value, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    pthread_mutex_lock(&tr->mu);
    set_meta_locked(tr, key, value);
    pthread_mutex_unlock(&tr->mu);
    free(value);
}

/* ---- lifetime ---- */

ooc_status ooc_trace_create(const ooc_trace_options *opts, ooc_trace **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    ooc_trace *tr = calloc(1, sizeof *tr);
    if (!tr)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for the profile trace");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&tr->mu, NULL);
    pthread_cond_init(&tr->cv, &ca);
    pthread_condattr_destroy(&ca);

    tr->id = atomic_fetch_add(&next_trace_id, 1);
    tr->t0_ns = ooc_clock_ns();
    tr->interval_ms = opts && opts->sample_interval_ms ? opts->sample_interval_ms : 50;
    tr->page_size = sysconf(_SC_PAGESIZE);
    if (tr->page_size <= 0)
        tr->page_size = 4096;
    counter_track *rss = &tr->counters[COUNTER_RSS], *cpu = &tr->counters[COUNTER_CPU];
    rss->used = cpu->used = true;
    snprintf(rss->name, sizeof rss->name, "RSS");
    snprintf(rss->unit, sizeof rss->unit, "MB");
    snprintf(cpu->name, sizeof cpu->name, "CPU");
    snprintf(cpu->unit, sizeof cpu->unit, "%%");
    tr->last_cpu_ns = process_cpu_ns();
    tr->last_cpu_wall_ns = tr->t0_ns;

    pthread_mutex_lock(&tr->mu);
    trace_thread *main_thread = register_thread_locked(tr);
    if (main_thread)
        snprintf(main_thread->name, sizeof main_thread->name, "main");
    set_meta_locked(tr, "oocsolve_version", ooc_version());
    char cpus[24];
    snprintf(cpus, sizeof cpus, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    set_meta_locked(tr, "cpus", cpus);
    time_t wall = time(NULL);
    struct tm tm;
    char stamp[40];
    if (localtime_r(&wall, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", &tm))
        set_meta_locked(tr, "start_time", stamp);
    pthread_mutex_unlock(&tr->mu);
    OOC_FAIL_IF(!main_thread, err, OOC_ERR_NOMEM, "out of memory for the profile trace");

    if (!(opts && opts->no_sampler)) {
        pthread_mutex_lock(&tr->mu);
        take_sample_locked(tr); /* RSS at time 0 */
        pthread_mutex_unlock(&tr->mu);
        OOC_FAIL_IF(pthread_create(&tr->sampler, NULL, sampler_main, tr) != 0, err,
                    OOC_ERR_NOMEM, "cannot start the profile sampler thread");
        tr->sampler_running = true;
    }
    *out = tr;
out:
    if (status != OOC_OK)
        ooc_trace_free(tr);
    return status;
}

void ooc_trace_finish(ooc_trace *tr)
{
    if (!tr)
        return;
    pthread_mutex_lock(&tr->mu);
    bool join = tr->sampler_running;
    tr->stop = true;
    tr->sampler_running = false;
    pthread_cond_broadcast(&tr->cv);
    pthread_mutex_unlock(&tr->mu);
    if (join)
        pthread_join(tr->sampler, NULL);
    pthread_mutex_lock(&tr->mu);
    if (!tr->end_ns) {
        if (join)
            take_sample_locked(tr);
        tr->end_ns = ooc_clock_ns();
    }
    for (int i = 0; i < MAX_COUNTERS; i++)
        tr->counters[i].active = false;
    pthread_mutex_unlock(&tr->mu);
}

void ooc_trace_free(ooc_trace *tr)
{
    if (!tr)
        return;
    ooc_trace_finish(tr);
    for (trace_thread *t = tr->threads; t;) {
        trace_thread *next_t = t->next;
        for (span_block *b = t->head; b;) {
            span_block *next_b = atomic_load(&b->next);
            free(b);
            b = next_b;
        }
        free(t);
        t = next_t;
    }
    for (int i = 0; i < MAX_COUNTERS; i++)
        free(tr->counters[i].samples);
    for (size_t i = 0; i < tr->nmeta; i++) {
        free(tr->meta[i].key);
        free(tr->meta[i].value);
    }
    free(tr->meta);
    pthread_mutex_destroy(&tr->mu);
    pthread_cond_destroy(&tr->cv);
    free(tr);
}

/* ---- snapshot ---- */

static int compare_spans(const void *pa, const void *pb)
{
    const ooc_trace_span_rec *a = pa, *b = pb;
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    if (a->dur_ns != b->dur_ns)
        return a->dur_ns > b->dur_ns ? -1 : 1; /* parents before their children */
    return 0;
}

void ooc_trace_data_sort_spans(ooc_trace_data *data)
{
    if (data->nspans > 1)
        qsort(data->spans, data->nspans, sizeof *data->spans, compare_spans);
}

void ooc_trace_data_free(ooc_trace_data *data)
{
    if (!data)
        return;
    free(data->spans);
    free(data->threads);
    if (data->counters)
        for (size_t i = 0; i < data->ncounters; i++)
            free(data->counters[i].samples);
    free(data->counters);
    if (data->meta)
        for (size_t i = 0; i < data->nmeta; i++) {
            free(data->meta[i].key);
            free(data->meta[i].value);
        }
    free(data->meta);
    free(data);
}

const char *ooc_trace_data_meta(const ooc_trace_data *data, const char *key)
{
    for (size_t i = 0; i < data->nmeta; i++)
        if (!strcmp(data->meta[i].key, key))
            return data->meta[i].value;
    return NULL;
}

/* Copy spans, threads, counters and metadata (trace mutex held). */
static ooc_status snapshot_locked(ooc_trace *tr, ooc_trace_data *d, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t nspans = 0;
    for (trace_thread *t = tr->threads; t; t = t->next)
        for (span_block *b = t->head; b; b = atomic_load_explicit(&b->next, memory_order_acquire))
            nspans += atomic_load_explicit(&b->n, memory_order_acquire);
    d->threads = calloc((size_t)tr->nthreads + 1, sizeof *d->threads);
    d->spans = malloc((nspans + 1) * sizeof *d->spans);
    d->counters = calloc(MAX_COUNTERS, sizeof *d->counters);
    d->meta = calloc(tr->nmeta + 1, sizeof *d->meta);
    OOC_FAIL_IF(!d->threads || !d->spans || !d->counters || !d->meta, err, OOC_ERR_NOMEM,
                "out of memory copying the profile trace");

    int64_t last_end = 0;
    for (trace_thread *t = tr->threads; t; t = t->next) {
        int ti = (int)d->nthreads++;
        d->threads[ti].tid = t->tid;
        snprintf(d->threads[ti].name, sizeof d->threads[ti].name, "%s", t->name);
        d->dropped_spans += atomic_load_explicit(&t->dropped, memory_order_relaxed);
        for (span_block *b = t->head; b; b = atomic_load_explicit(&b->next, memory_order_acquire)) {
            size_t n = atomic_load_explicit(&b->n, memory_order_acquire);
            for (size_t i = 0; i < n && d->nspans < nspans; i++) {
                const raw_span *r = &b->spans[i];
                ooc_trace_span_rec *s = &d->spans[d->nspans++];
                s->start_ns = r->start_ns - tr->t0_ns;
                s->dur_ns = r->dur_ns;
                s->nbytes = r->nbytes;
                s->thread = ti;
                s->stage = (ooc_stage)r->stage;
                if (s->start_ns + s->dur_ns > last_end)
                    last_end = s->start_ns + s->dur_ns;
            }
        }
    }
    ooc_trace_data_sort_spans(d);

    for (int i = 0; i < MAX_COUNTERS; i++) {
        const counter_track *c = &tr->counters[i];
        if (!c->used || !c->nsamples)
            continue;
        ooc_trace_counter_rec *rc = &d->counters[d->ncounters++];
        snprintf(rc->name, sizeof rc->name, "%s", c->name);
        snprintf(rc->unit, sizeof rc->unit, "%s", c->unit);
        rc->samples = malloc(c->nsamples * sizeof *rc->samples);
        OOC_FAIL_IF(!rc->samples, err, OOC_ERR_NOMEM, "out of memory copying the profile trace");
        for (size_t k = 0; k < c->nsamples; k++)
            rc->samples[k] = (ooc_trace_sample){c->samples[k].t_ns - tr->t0_ns, c->samples[k].value};
        rc->nsamples = c->nsamples;
    }
    for (size_t i = 0; i < tr->nmeta; i++) {
        d->meta[i].key = strdup(tr->meta[i].key);
        d->meta[i].value = strdup(tr->meta[i].value);
        d->nmeta = i + 1;
        OOC_FAIL_IF(!d->meta[i].key || !d->meta[i].value, err, OOC_ERR_NOMEM,
                    "out of memory copying the profile trace");
    }
    d->wall_ns = (tr->end_ns ? tr->end_ns : ooc_clock_ns()) - tr->t0_ns;
    if (last_end > d->wall_ns)
        d->wall_ns = last_end;
out:
    return status;
}

ooc_status ooc_trace_snapshot(ooc_trace *tr, ooc_trace_data **out, ooc_error *err)
{
    *out = NULL;
    ooc_trace_data *d = calloc(1, sizeof *d);
    if (!d)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory copying the profile trace");
    pthread_mutex_lock(&tr->mu);
    ooc_status status = snapshot_locked(tr, d, err);
    pthread_mutex_unlock(&tr->mu);
    if (status != OOC_OK) {
        ooc_trace_data_free(d);
        return status;
    }
    *out = d;
    return OOC_OK;
}

/* ---- JSON writer ---- */

/* Microseconds with nanosecond resolution, as Chrome's "ts"/"dur" expect. */
static void write_us(FILE *f, int64_t ns)
{
    fprintf(f, "%lld.%03lld", (long long)(ns / 1000), (long long)llabs(ns % 1000));
}

static void write_trace_body(FILE *f, const ooc_trace_data *d)
{
    fputs("{\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"trace_format\":\"oocsolve-trace 1\"", f);
    fputs(",\"wall_us\":\"", f);
    write_us(f, d->wall_ns);
    fprintf(f, "\",\"dropped_spans\":\"%llu\"", (unsigned long long)d->dropped_spans);
    for (size_t i = 0; i < d->nmeta; i++) {
        fputc(',', f);
        ooc_json_write_string(f, d->meta[i].key);
        fputc(':', f);
        ooc_json_write_string(f, d->meta[i].value);
    }
    fputs("},\n\"traceEvents\":[\n", f);
    fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"oocsolve\"}}",
          f);
    for (size_t i = 0; i < d->nthreads; i++) {
        fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":",
                d->threads[i].tid);
        ooc_json_write_string(f, d->threads[i].name);
        fprintf(f, "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
                   "\"args\":{\"sort_index\":%d}}",
                d->threads[i].tid, d->threads[i].tid);
    }
    for (size_t i = 0; i < d->nspans; i++) {
        const ooc_trace_span_rec *s = &d->spans[i];
        fprintf(f, ",\n{\"name\":\"%s\",\"cat\":\"stage\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":",
                ooc_stage_name(s->stage), d->threads[s->thread].tid);
        write_us(f, s->start_ns);
        fputs(",\"dur\":", f);
        write_us(f, s->dur_ns);
        if (s->nbytes)
            fprintf(f, ",\"args\":{\"bytes\":%llu}", (unsigned long long)s->nbytes);
        fputc('}', f);
    }
    for (size_t i = 0; i < d->ncounters; i++) {
        const ooc_trace_counter_rec *c = &d->counters[i];
        for (size_t k = 0; k < c->nsamples; k++) {
            fputs(",\n{\"name\":", f);
            ooc_json_write_string(f, c->name);
            fputs(",\"cat\":\"resource\",\"ph\":\"C\",\"pid\":1,\"ts\":", f);
            write_us(f, c->samples[k].t_ns);
            fputs(",\"args\":{", f);
            ooc_json_write_string(f, c->unit);
            fprintf(f, ":%.9g}}", c->samples[k].value);
        }
    }
    fputs("\n]}\n", f);
}

static void write_trace_body_cb(FILE *f, const void *data)
{
    write_trace_body(f, data);
}

ooc_status ooc_trace_data_write_json(const ooc_trace_data *data, const char *path,
                                     ooc_error *err)
{
    return ooc_write_file_atomic(path, "profile trace", write_trace_body_cb, data, err);
}

ooc_status ooc_trace_write_json(ooc_trace *tr, const char *path, ooc_error *err)
{
    ooc_trace_data *d = NULL;
    ooc_trace_finish(tr);
    ooc_status status = ooc_trace_snapshot(tr, &d, err);
    if (status == OOC_OK)
        status = ooc_trace_data_write_json(d, path, err);
    ooc_trace_data_free(d);
    return status;
}
