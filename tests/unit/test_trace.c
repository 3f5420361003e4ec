/*
 * test_trace.c — the profiling module: spans from several threads with
 * nesting, counters, the JSON writer and reader (round trip, malformed
 * input), the summary numbers on an exact synthetic trace and on a timed
 * one, the SVG renderer, the progress reporter, NULL safety, and the cost
 * of a span.
 */
#include "base/json.h"
#include "profile/progress.h"
#include "profile/svg.h"
#include "profile/trace.h"
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_null_safety(void)
{
    ooc_trace_token t = ooc_trace_begin(NULL, OOC_STAGE_DECOMPRESS);
    CHECK(t.stage == -1);
    ooc_trace_end(NULL, t);
    ooc_trace_end_bytes(NULL, t, 10);
    ooc_trace_name_thread(NULL, "x");
    CHECK(ooc_trace_counter_add(NULL, "c", "u", OOC_COUNTER_VALUE, 1, NULL, NULL) == -1);
    ooc_trace_counter_remove(NULL, 3);
    ooc_trace_set_meta(NULL, "k", "%d", 1);
    ooc_trace_finish(NULL);
    ooc_trace_free(NULL);
    ooc_trace_data_free(NULL);
    ooc_json_free(NULL);
    ooc_progress_add(NULL, 1, 2);
    ooc_progress_phase(NULL, "p", 1, 2);
    ooc_progress_finish(NULL, true);
    ooc_progress_free(NULL);
    char buf[8] = "x";
    ooc_progress_format(NULL, buf, sizeof buf);
    CHECK(buf[0] == '\0');
    CHECK_STREQ(ooc_stage_name(OOC_STAGE_FORMULA_EVAL), "formula eval");
    CHECK_STREQ(ooc_stage_name((ooc_stage)99), "?");
    ooc_stage s;
    CHECK(ooc_stage_from_name("copy to device", &s) && s == OOC_STAGE_COPY_TO_DEVICE);
    CHECK(!ooc_stage_from_name("copy", &s));
}

/* ---- several threads, nesting, counters ---- */

typedef struct worker_ctx {
    ooc_trace *tr;
    int index;
    atomic_uint_least64_t *blocks_done;
} worker_ctx;

#define SPANS_PER_WORKER 1500 /* more than one span block of 1024 */

static void *worker(void *arg)
{
    worker_ctx *w = arg;
    char name[32];
    snprintf(name, sizeof name, "worker %d", w->index);
    ooc_trace_name_thread(w->tr, name);
    for (int i = 0; i < SPANS_PER_WORKER; i++) {
        ooc_trace_token outer = ooc_trace_begin(w->tr, OOC_STAGE_ACCUMULATE);
        ooc_trace_token inner = ooc_trace_begin(w->tr, OOC_STAGE_COPY_TO_DEVICE);
        ooc_trace_end_bytes(w->tr, inner, 100);
        ooc_trace_end(w->tr, outer);
        atomic_fetch_add(w->blocks_done, 1);
    }
    return NULL;
}

static double read_blocks(void *ctx)
{
    return (double)atomic_load((atomic_uint_least64_t *)ctx);
}

static atomic_int remove_probe_calls;
static double remove_probe(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&remove_probe_calls, 1);
    return 1.0;
}

static void test_threads_and_counters(void)
{
    ooc_trace *tr = NULL;
    ooc_error err = {0};
    ooc_trace_options to = {.sample_interval_ms = 5};
    CHECK(ooc_trace_create(&to, &tr, &err) == OOC_OK);
    if (!tr)
        return;
    atomic_uint_least64_t blocks = 0;
    int blocks_id = ooc_trace_counter_add(tr, "blocks", "blocks", OOC_COUNTER_VALUE, 1.0,
                                          read_blocks, &blocks);
    int rate_id = ooc_trace_counter_add(tr, "block rate", "blocks/s", OOC_COUNTER_RATE, 1.0,
                                        read_blocks, &blocks);
    int probe_id = ooc_trace_counter_add(tr, "probe", "", OOC_COUNTER_VALUE, 1.0, remove_probe,
                                         NULL);
    CHECK(blocks_id >= 0 && rate_id >= 0 && probe_id >= 0);
    ooc_trace_counter_remove(tr, probe_id);
    int calls_after_remove = atomic_load(&remove_probe_calls);

    enum { NW = 3 };
    pthread_t th[NW];
    worker_ctx ctx[NW];
    for (int i = 0; i < NW; i++) {
        ctx[i] = (worker_ctx){tr, i, &blocks};
        CHECK(pthread_create(&th[i], NULL, worker, &ctx[i]) == 0);
    }
    /* A snapshot while the workers record must be consistent. */
    ooc_trace_data *mid = NULL;
    CHECK(ooc_trace_snapshot(tr, &mid, &err) == OOC_OK);
    if (mid)
        CHECK(mid->nspans <= (size_t)NW * SPANS_PER_WORKER * 2);
    ooc_trace_data_free(mid);
    for (int i = 0; i < NW; i++)
        pthread_join(th[i], NULL);
    ooc_trace_token t = ooc_trace_begin(tr, OOC_STAGE_FINALIZE);
    sleep_ms(30); /* let the sampler see the final counter values */
    ooc_trace_end(tr, t);
    ooc_trace_set_meta(tr, "formula", "y ~ a + \"b\"\n\tC(c)");
    ooc_trace_set_meta(tr, "rows", "%d", 1234);
    ooc_trace_set_meta(tr, "rows", "%d", 4321); /* replaces */
    ooc_trace_finish(tr);
    CHECK(atomic_load(&remove_probe_calls) == calls_after_remove);

    ooc_trace_data *d = NULL;
    CHECK(ooc_trace_snapshot(tr, &d, &err) == OOC_OK);
    if (!d) {
        ooc_trace_free(tr);
        return;
    }
    CHECK(d->nthreads == NW + 1);
    CHECK_STREQ(d->threads[0].name, "main");
    CHECK(d->nspans == (size_t)NW * SPANS_PER_WORKER * 2 + 1);
    CHECK_STREQ(ooc_trace_data_meta(d, "rows"), "4321");
    CHECK(ooc_trace_data_meta(d, "oocsolve_version") != NULL);
    /* Sorted by thread then start, parents first; each copy span lies inside its accumulate. */
    size_t per_thread[NW + 1] = {0};
    bool nested_ok = true, sorted_ok = true;
    for (size_t i = 0; i < d->nspans; i++) {
        const ooc_trace_span_rec *s = &d->spans[i];
        per_thread[s->thread]++;
        if (i > 0 && s->thread == d->spans[i - 1].thread && s->start_ns < d->spans[i - 1].start_ns)
            sorted_ok = false;
        if (s->stage == OOC_STAGE_COPY_TO_DEVICE) {
            const ooc_trace_span_rec *parent = &d->spans[i - 1];
            if (parent->stage != OOC_STAGE_ACCUMULATE || parent->start_ns > s->start_ns ||
                parent->start_ns + parent->dur_ns < s->start_ns + s->dur_ns || s->nbytes != 100)
                nested_ok = false;
        }
    }
    CHECK(sorted_ok);
    CHECK(nested_ok);
    for (int i = 1; i <= NW; i++) {
        CHECK(per_thread[i] == 2 * SPANS_PER_WORKER);
        CHECK(strncmp(d->threads[i].name, "worker ", 7) == 0);
    }
    /* Counters: RSS, CPU, blocks (ends at the total), block rate. */
    const ooc_trace_counter_rec *rss = NULL, *blk = NULL, *rate = NULL, *cpu = NULL;
    for (size_t i = 0; i < d->ncounters; i++) {
        if (!strcmp(d->counters[i].name, "RSS"))
            rss = &d->counters[i];
        if (!strcmp(d->counters[i].name, "CPU"))
            cpu = &d->counters[i];
        if (!strcmp(d->counters[i].name, "blocks"))
            blk = &d->counters[i];
        if (!strcmp(d->counters[i].name, "block rate"))
            rate = &d->counters[i];
    }
    CHECK(rss && rss->nsamples >= 2 && rss->samples[0].value > 0.1);
    CHECK(cpu && cpu->nsamples >= 1);
    CHECK(blk && blk->samples[blk->nsamples - 1].value == NW * SPANS_PER_WORKER);
    CHECK(rate && rate->nsamples >= 1);
    if (rate) {
        /* The rate integrates back to the total. */
        double integral = 0;
        int64_t prev = 0;
        bool have_prev = false;
        for (size_t k = 0; k < rate->nsamples; k++) {
            /* rate sample k covers the interval since the previous reading */
            if (have_prev)
                integral += rate->samples[k].value * (double)(rate->samples[k].t_ns - prev) / 1e9;
            prev = rate->samples[k].t_ns;
            have_prev = true;
        }
        /* ≤ the total (the rate may miss increments after its last reading), up to
         * rounding: each term is Δcount·(1 + δ), |δ| ≤ 5u (·scale·1e9/Δt here, ·Δt/1e9
         * above), and the sum adds ≤ nsamples·u relative: (nsamples + 5)·ε covers both */
        CHECK(integral <= NW * SPANS_PER_WORKER * (1.0 + (double)(rate->nsamples + 5) * DBL_EPSILON));
    }

    /* JSON round trip. */
    const char *path = "test_trace_roundtrip.json";
    CHECK(ooc_trace_data_write_json(d, path, &err) == OOC_OK);
    ooc_trace_data *back = NULL;
    CHECK_MSG(ooc_trace_load(path, &back, &err) == OOC_OK, "%s", err.message);
    if (back) {
        CHECK(back->nspans == d->nspans);
        CHECK(back->nthreads == d->nthreads);
        CHECK(back->wall_ns == d->wall_ns);
        bool same = back->nspans == d->nspans;
        for (size_t i = 0; same && i < d->nspans; i++)
            same = back->spans[i].start_ns == d->spans[i].start_ns &&
                   back->spans[i].dur_ns == d->spans[i].dur_ns &&
                   back->spans[i].stage == d->spans[i].stage &&
                   back->spans[i].nbytes == d->spans[i].nbytes &&
                   back->threads[back->spans[i].thread].tid == d->threads[d->spans[i].thread].tid;
        CHECK(same);
        for (size_t i = 0; i < d->nthreads && i < back->nthreads; i++)
            CHECK_STREQ(back->threads[i].name, d->threads[i].name);
        CHECK(back->ncounters == d->ncounters);
        for (size_t i = 0; i < d->ncounters && i < back->ncounters; i++) {
            CHECK_STREQ(back->counters[i].name, d->counters[i].name);
            CHECK_STREQ(back->counters[i].unit, d->counters[i].unit);
            CHECK(back->counters[i].nsamples == d->counters[i].nsamples);
        }
        CHECK_STREQ(ooc_trace_data_meta(back, "formula"), "y ~ a + \"b\"\n\tC(c)");
        CHECK_STREQ(ooc_trace_data_meta(back, "rows"), "4321");
        /* Same summary from memory and from the file. */
        char *s1 = NULL, *s2 = NULL;
        CHECK(ooc_trace_summary_text(d, &s1, &err) == OOC_OK);
        CHECK(ooc_trace_summary_text(back, &s2, &err) == OOC_OK);
        if (s1 && s2)
            CHECK_STREQ(s1, s2);
        if (s1)
            CHECK(strstr(s1, "accumulate") && strstr(s1, "copy to device"));
        free(s1);
        free(s2);
    }
    ooc_trace_data_free(back);
    ooc_trace_data_free(d);
    ooc_trace_free(tr);
    remove(path);
}

/* ---- summary numbers ---- */

static void add_span(ooc_trace_data *d, int thread, ooc_stage stage, int64_t a_ms, int64_t b_ms)
{
    d->spans[d->nspans++] = (ooc_trace_span_rec){a_ms * MS, (b_ms - a_ms) * MS, 0, thread, stage};
}

/* Known intervals (ms), wall 1000:
 *   thread 0: tokenize [0,600)
 *   thread 1: eval [100,400), eval [450,750)
 *   thread 2: eval [200,500) with compress [300,350) nested
 * busy: tokenize 600, eval 300+300+250 = 850 on 2 threads, compress 50;
 * >= 2 stages active during [100,600) = 50%; nothing active [750,1000) = 25%. */
static void test_summary_exact(void)
{
    ooc_trace_data *d = calloc(1, sizeof *d);
    d->spans = calloc(8, sizeof *d->spans);
    d->threads = calloc(3, sizeof *d->threads);
    d->nthreads = 3;
    for (int i = 0; i < 3; i++) {
        d->threads[i].tid = i + 1;
        snprintf(d->threads[i].name, sizeof d->threads[i].name, "t%d", i);
    }
    d->wall_ns = 1000 * MS;
    add_span(d, 0, OOC_STAGE_CSV_TOKENIZE, 0, 600);
    add_span(d, 1, OOC_STAGE_FORMULA_EVAL, 450, 750);
    add_span(d, 1, OOC_STAGE_FORMULA_EVAL, 100, 400);
    add_span(d, 2, OOC_STAGE_COMPRESS, 300, 350);
    add_span(d, 2, OOC_STAGE_FORMULA_EVAL, 200, 500);
    ooc_trace_data_sort_spans(d);
    CHECK(d->spans[3].stage == OOC_STAGE_FORMULA_EVAL && d->spans[4].stage == OOC_STAGE_COMPRESS);

    ooc_trace_stats st;
    ooc_error err = {0};
    CHECK(ooc_trace_analyze(d, &st, &err) == OOC_OK);
    CHECK(st.stage[OOC_STAGE_CSV_TOKENIZE].busy_ns == 600 * MS);
    CHECK(st.stage[OOC_STAGE_FORMULA_EVAL].busy_ns == 850 * MS);
    CHECK(st.stage[OOC_STAGE_FORMULA_EVAL].nthreads == 2);
    CHECK(st.stage[OOC_STAGE_FORMULA_EVAL].nspans == 3);
    CHECK(st.stage[OOC_STAGE_COMPRESS].busy_ns == 50 * MS);
    CHECK(st.busy_ns == 1500 * MS);
    /* The times are integers of ns, exact in double; parallelism, overlap and idle are one
     * correctly rounded division each of exact values, so they equal 1.5, 0.5 and 0.25
     * exactly; utilization divides twice (busy / threads / wall) and 0.425 is itself
     * rounded: within 3u·0.425 < ε. */
    CHECK(st.parallelism == 1.5);
    CHECK(fabs(st.stage[OOC_STAGE_FORMULA_EVAL].utilization - 0.425) <= DBL_EPSILON);
    CHECK_MSG(st.overlap_fraction == 0.5, "overlap %g", st.overlap_fraction);
    CHECK_MSG(st.idle_fraction == 0.25, "idle %g", st.idle_fraction);
    CHECK(st.bounding_stage == OOC_STAGE_CSV_TOKENIZE);
    CHECK(isnan(st.peak_rss_mb));

    char *text = NULL;
    CHECK(ooc_trace_summary_text(d, &text, &err) == OOC_OK);
    if (text) {
        CHECK_MSG(strstr(text, "bounded by: csv tokenize") != NULL, "%s", text);
        CHECK_MSG(strstr(text, "parallelism 1.50") != NULL, "%s", text);
        CHECK_MSG(strstr(text, "50.0% of wall") != NULL, "%s", text);
    }
    free(text);

    /* No stage saturated: only 10% busy. */
    d->nspans = 0;
    add_span(d, 0, OOC_STAGE_CHUNK_READ, 0, 100);
    CHECK(ooc_trace_summary_text(d, &text, &err) == OOC_OK);
    if (text)
        CHECK_MSG(strstr(text, "no stage kept its threads busy") != NULL, "%s", text);
    free(text);

    /* Empty trace. */
    d->nspans = 0;
    CHECK(ooc_trace_analyze(d, &st, &err) == OOC_OK);
    CHECK(st.bounding_stage == -1 && st.busy_ns == 0);
    ooc_trace_data_free(d);
}

typedef struct timed_ctx {
    ooc_trace *tr;
    ooc_stage stage;
    int delay_ms, nspans, span_ms;
} timed_ctx;

static void *timed_worker(void *arg)
{
    timed_ctx *c = arg;
    sleep_ms(c->delay_ms);
    for (int i = 0; i < c->nspans; i++) {
        ooc_trace_token t = ooc_trace_begin(c->tr, c->stage);
        sleep_ms(c->span_ms);
        ooc_trace_end(c->tr, t);
    }
    return NULL;
}

/* Real threads: tokenize busy for 300 ms; eval for 100 ms starting at 100 ms.
 * Tokenize bounds the run; two stages overlap ~1/3 of the wall.  Sleep
 * timing on a loaded 2-core machine is loose, hence the tolerance. */
static void test_summary_timed(void)
{
    ooc_trace *tr = NULL;
    ooc_error err = {0};
    ooc_trace_options to = {.no_sampler = true};
    CHECK(ooc_trace_create(&to, &tr, &err) == OOC_OK);
    if (!tr)
        return;
    timed_ctx a = {tr, OOC_STAGE_CSV_TOKENIZE, 0, 6, 50};
    timed_ctx b = {tr, OOC_STAGE_FORMULA_EVAL, 100, 2, 50};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, timed_worker, &a) == 0);
    CHECK(pthread_create(&tb, NULL, timed_worker, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ooc_trace_finish(tr);
    ooc_trace_data *d = NULL;
    ooc_trace_stats st;
    CHECK(ooc_trace_snapshot(tr, &d, &err) == OOC_OK);
    if (d && ooc_trace_analyze(d, &st, &err) == OOC_OK) {
        double wall = (double)st.wall_ns;
        double tok = (double)st.stage[OOC_STAGE_CSV_TOKENIZE].busy_ns;
        double ev = (double)st.stage[OOC_STAGE_FORMULA_EVAL].busy_ns;
        CHECK(st.bounding_stage == OOC_STAGE_CSV_TOKENIZE);
        CHECK_MSG(tok / wall > 0.85, "tokenize busy %.3f of wall", tok / wall);
        CHECK_MSG(fabs(st.overlap_fraction - ev / wall) < 0.02, "overlap %.3f, eval %.3f",
                  st.overlap_fraction, ev / wall);
        CHECK_MSG(st.overlap_fraction > 0.2 && st.overlap_fraction < 0.45, "overlap %.3f",
                  st.overlap_fraction);
        CHECK(st.stage[OOC_STAGE_CSV_TOKENIZE].nspans == 6);
    }
    ooc_trace_data_free(d);
    ooc_trace_free(tr);
}

/* ---- JSON reader ---- */

static void test_json_reader(void)
{
    ooc_error err = {0};
    ooc_json_value *v = NULL;
    const char *doc = " {\"a\": [1, -2.5e3, 0.125, true, false, null],\n"
                      "  \"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\", \"o\": {}, \"e\": []} ";
    CHECK_MSG(ooc_json_parse(doc, strlen(doc), "doc", &v, &err) == OOC_OK, "%s", err.message);
    if (v) {
        const ooc_json_value *a = ooc_json_get(v, "a");
        CHECK(a && a->type == OOC_JSON_ARRAY && a->n == 6);
        if (a && a->n == 6) { /* exact: these decimals are doubles, parsed correctly rounded */
            CHECK(a->items[0].number == 1 && a->items[1].number == -2500 &&
                  a->items[2].number == 0.125);
            CHECK(a->items[3].type == OOC_JSON_BOOL && a->items[3].boolean);
            CHECK(a->items[4].type == OOC_JSON_BOOL && !a->items[4].boolean);
            CHECK(a->items[5].type == OOC_JSON_NULL);
        }
        const ooc_json_value *s = ooc_json_get(v, "s");
        CHECK(s && s->type == OOC_JSON_STRING &&
              !strcmp(s->string, "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80"));
        CHECK(ooc_json_get(v, "o") && ooc_json_get(v, "o")->type == OOC_JSON_OBJECT);
        CHECK(ooc_json_get(v, "missing") == NULL);
        CHECK(ooc_json_get(s, "x") == NULL);
    }
    ooc_json_free(v);

    static const struct {
        const char *text;
        const char *message_part;
    } bad[] = {
        {"", "line 1, column 1: expected a value"},
        {"[1,]", "column 4: expected a value"},
        {"{\"a\" 1}", "expected ':'"},
        {"{\"a\":1,}", "expected a member name"},
        {"[1 2]", "expected ',' or ']'"},
        {"01", "end of input after the value"},
        {"1.", "a digit after '.'"},
        {"-", "expected a digit"},
        {"1e+", "a digit in the exponent"},
        {"\"abc", "closing '\"'"},
        {"\"a\nb\"", "control characters"},
        {"\"\\x\"", "an escape"},
        {"\"\\u12G4\"", "four hex digits"},
        {"\"\\ud800x\"", "low surrogate"},
        {"\"\\udc00\"", "high surrogate"},
        {"\"\\u0000\"", "NUL"},
        {"tru", "expected a value"},
        {"{}\n  x", "line 2, column 3"},
        {"{\"a\":[1]} {}", "end of input after the value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = NULL;
        ooc_error e = {0};
        ooc_status st = ooc_json_parse(bad[i].text, strlen(bad[i].text), "t.json", &v, &e);
        CHECK_MSG(st == OOC_ERR_CORRUPT && !v, "case %zu accepted", i);
        CHECK_MSG(strstr(e.message, bad[i].message_part) && strstr(e.message, "t.json"),
                  "case %zu: '%s' lacks '%s'", i, e.message, bad[i].message_part);
        ooc_json_free(v);
    }
    /* Nesting limit. */
    char deep[200];
    memset(deep, '[', sizeof deep);
    err = (ooc_error){0};
    CHECK(ooc_json_parse(deep, sizeof deep, "deep", &v, &err) == OOC_ERR_CORRUPT);
    CHECK(strstr(err.message, "nesting") != NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_load_errors(void)
{
    ooc_error err = {0};
    ooc_trace_data *d = NULL;
    CHECK(ooc_trace_load("no_such_trace.json", &d, &err) == OOC_ERR_IO);
    CHECK(strstr(err.message, "no_such_trace.json") != NULL);
    const char *path = "test_trace_bad.json";
    write_text(path, "{\"traceEvents\":[]}");
    err = (ooc_error){0};
    CHECK(ooc_trace_load(path, &d, &err) == OOC_ERR_CORRUPT && !d);
    CHECK(strstr(err.message, "not an oocsolve trace") != NULL);
    write_text(path, "{\"otherData\":{\"trace_format\":\"oocsolve-trace 1\",\"wall_us\":\"5\"},"
                     "\"traceEvents\":[{\"ph\":\"X\",\"name\":\"bogus\",\"tid\":1,\"ts\":0,\"dur\":1}]}");
    err = (ooc_error){0};
    CHECK(ooc_trace_load(path, &d, &err) == OOC_ERR_CORRUPT);
    CHECK_MSG(strstr(err.message, "event 0") && strstr(err.message, "bogus"), "%s", err.message);
    write_text(path, "{\"otherData\":{\"trace_format\":\"oocsolve-trace 1\",\"wall_us\":\"x\"},"
                     "\"traceEvents\":[]}");
    err = (ooc_error){0};
    CHECK(ooc_trace_load(path, &d, &err) == OOC_ERR_CORRUPT);
    CHECK(strstr(err.message, "wall_us") != NULL);
    write_text(path, "{\"otherData\":{\"trace_format\":\"oocsolve-trace 1\",\"wall_us\":\"5\"},"
                     "\"traceEvents\":[{\"ph\":\"i\",\"name\":\"instant\",\"ts\":1}]}");
    err = (ooc_error){0};
    CHECK_MSG(ooc_trace_load(path, &d, &err) == OOC_OK, "%s", err.message); /* unknown ph skipped */
    CHECK(d && d->nspans == 0 && d->wall_ns == 5000);
    ooc_trace_data_free(d);
    remove(path);

    /* Writing into a directory that does not exist. */
    ooc_trace_data empty = {0};
    err = (ooc_error){0};
    CHECK(ooc_trace_data_write_json(&empty, "no_such_dir/x.json", &err) == OOC_ERR_IO);
    CHECK(strstr(err.message, "no_such_dir/x.json") != NULL);
}

/* ---- SVG ---- */

static void test_svg(void)
{
    ooc_trace_data *d = calloc(1, sizeof *d);
    d->spans = calloc(4000, sizeof *d->spans);
    d->threads = calloc(2, sizeof *d->threads);
    d->counters = calloc(1, sizeof *d->counters);
    d->nthreads = 2;
    d->threads[0] = (ooc_trace_thread_rec){1, "main <&>"};
    d->threads[1] = (ooc_trace_thread_rec){2, "worker 1"};
    d->wall_ns = 1000 * MS;
    /* 2000 tiny back-to-back spans merge into few rectangles. */
    for (int i = 0; i < 2000; i++)
        d->spans[d->nspans++] =
            (ooc_trace_span_rec){i * MS / 4, MS / 8, 0, 1, OOC_STAGE_DECOMPRESS};
    add_span(d, 0, OOC_STAGE_ACCUMULATE, 0, 900);
    add_span(d, 0, OOC_STAGE_COPY_TO_DEVICE, 100, 200);
    ooc_trace_data_sort_spans(d);
    d->ncounters = 1;
    snprintf(d->counters[0].name, sizeof d->counters[0].name, "RSS");
    snprintf(d->counters[0].unit, sizeof d->counters[0].unit, "MB");
    d->counters[0].samples = calloc(100, sizeof(ooc_trace_sample));
    for (int k = 0; k < 100; k++)
        d->counters[0].samples[k] = (ooc_trace_sample){k * 10 * MS, 100.0 + k};
    d->counters[0].nsamples = 100;

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ooc_error err = {0};
    CHECK(f && ooc_svg_render(d, NULL, f, &err) == OOC_OK);
    if (f)
        fclose(f);
    if (buf) {
        CHECK(strncmp(buf, "<?xml", 5) == 0);
        CHECK(strstr(buf, "</svg>\n") != NULL);
        CHECK(strstr(buf, "main &lt;&amp;&gt;") != NULL);
        CHECK(strstr(buf, "decompress (") != NULL); /* legend */
        CHECK(strstr(buf, "<polyline") != NULL);
        size_t rects = 0;
        for (const char *p = buf; (p = strstr(p, "<rect")); p++)
            rects++;
        CHECK_MSG(rects < 200, "%zu rects: tiny spans were not merged", rects);
        CHECK(strstr(buf, "<title>decompress: 2000 spans, 250 ms</title>") != NULL);
    }
    free(buf);
    err = (ooc_error){0};
    CHECK(ooc_svg_write(d, NULL, "no_such_dir/x.svg", &err) == OOC_ERR_IO);
    CHECK(strstr(err.message, "no_such_dir/x.svg") != NULL);
    ooc_trace_data_free(d);
}

/* ---- progress ---- */

typedef struct progress_ctx {
    ooc_progress *p;
    int n;
} progress_ctx;

static void *progress_adder(void *arg)
{
    progress_ctx *c = arg;
    for (int i = 0; i < c->n; i++) {
        ooc_progress_add(c->p, 10, 1000);
        if (i % 100 == 0)
            sleep_ms(1);
    }
    return NULL;
}

static void test_progress(void)
{
    ooc_error err = {0};
    ooc_progress *p = NULL;
    CHECK(ooc_progress_create(&(ooc_progress_options){.mode = OOC_PROGRESS_ON}, &p, &err) ==
          OOC_ERR_INVALID_ARG);

    FILE *out = tmpfile();
    if (!out)
        return;
    ooc_progress_options po = {.to = out, .mode = OOC_PROGRESS_ON, .label = "test", .interval_ms = 10};
    CHECK(ooc_progress_create(&po, &p, &err) == OOC_OK);
    ooc_progress_phase(p, "writing", 0, 4000000);
    progress_ctx c = {p, 2000};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, progress_adder, &c);
    pthread_create(&t2, NULL, progress_adder, &c);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    uint64_t rows, bytes;
    ooc_progress_get(p, &rows, &bytes);
    CHECK(rows == 40000 && bytes == 4000000);
    char line[256];
    ooc_progress_format(p, line, sizeof line);
    CHECK_MSG(strstr(line, "test: writing: 40,000 rows") && strstr(line, "4.0 MB of 4.0 MB (100%)"),
              "%s", line);
    sleep_ms(30);
    ooc_progress_finish(p, true);
    ooc_progress_finish(p, true); /* idempotent */
    ooc_progress_free(p);
    fflush(out);
    long size = ftell(out);
    rewind(out);
    char *text = calloc(1, (size_t)size + 1);
    CHECK(text && fread(text, 1, (size_t)size, out) == (size_t)size);
    fclose(out);
    if (text) {
        CHECK_MSG(strstr(text, "test: writing:") != NULL, "%s", text);
        CHECK_MSG(strstr(text, "test: done: 40,000 rows, 4.0 MB in") != NULL, "%s", text);
        CHECK(strchr(text, '\r') == NULL); /* not a terminal: plain lines */
        CHECK(text[strlen(text) - 1] == '\n');
    }
    free(text);

    /* auto on a non-terminal and off print nothing but still count. */
    for (int mode = OOC_PROGRESS_AUTO; mode <= OOC_PROGRESS_OFF; mode += 2) {
        out = tmpfile();
        if (!out)
            return;
        po = (ooc_progress_options){.to = out, .mode = (ooc_progress_mode)mode, .interval_ms = 5};
        CHECK(ooc_progress_create(&po, &p, &err) == OOC_OK);
        ooc_progress_add(p, 5, 0);
        sleep_ms(20);
        ooc_progress_get(p, &rows, &bytes);
        CHECK(rows == 5);
        ooc_progress_free(p);
        CHECK(ftell(out) == 0);
        fclose(out);
    }

    /* Rows only, with a known total: percentage and ETA. */
    po = (ooc_progress_options){.to = stderr, .mode = OOC_PROGRESS_OFF};
    CHECK(ooc_progress_create(&po, &p, &err) == OOC_OK);
    ooc_progress_phase(p, NULL, 1000, 0);
    sleep_ms(60);
    ooc_progress_add(p, 250, 0);
    ooc_progress_format(p, line, sizeof line);
    CHECK_MSG(strstr(line, "250 rows (25%)") && strstr(line, "rows/s") && strstr(line, "ETA 0:00"),
              "%s", line);
    ooc_progress_free(p);
}

/* ---- cost of a span ---- */

static void test_span_cost(void)
{
    ooc_trace *tr = NULL;
    ooc_error err = {0};
    CHECK(ooc_trace_create(NULL, &tr, &err) == OOC_OK);
    enum { N = 200000 };
    int64_t t0 = mono_ns();
    for (int i = 0; i < N; i++)
        ooc_trace_end(tr, ooc_trace_begin(tr, OOC_STAGE_DECOMPRESS));
    int64_t t1 = mono_ns();
    for (int i = 0; i < N; i++)
        ooc_trace_end(NULL, ooc_trace_begin(NULL, OOC_STAGE_DECOMPRESS));
    int64_t t2 = mono_ns();
    double per_span = (double)(t1 - t0) / N, per_null = (double)(t2 - t1) / N;
    printf("span cost: %.1f ns recorded, %.2f ns with a NULL trace\n", per_span, per_null);
    /* Generous bound (sanitizer builds are slower); spans are per block, not per row. */
    CHECK_MSG(per_span < 5000, "%.1f ns per span", per_span);
    ooc_trace_free(tr);
}

int main(void)
{
    test_null_safety();
    test_threads_and_counters();
    test_summary_exact();
    test_summary_timed();
    test_json_reader();
    test_load_errors();
    test_svg();
    test_progress();
    test_span_cost();
    return TEST_EXIT();
}
