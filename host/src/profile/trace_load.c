/*
 * trace_load.c — read a profile trace JSON written by trace.c back into an
 * ooc_trace_data (for `oocsolve profile-summary` and `profile-svg`).
 *
 * Accepts exactly the subset we write: otherData with trace_format
 * "oocsolve-trace 1" and wall_us, "M" thread_name events, "X" span events
 * named after ooc_stage_name, "C" counter events with one series in args.
 * Other event types are skipped, so a trace edited in Perfetto still loads.
 */
#include "base/json.h"
#include "profile/trace.h"

#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACE_BYTES ((size_t)1 << 30)

static ooc_status read_file(const char *path, char **text, size_t *len, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *text = NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    OOC_FAIL_IF(!f, err, OOC_ERR_IO, "cannot open trace '%s': %s", path, strerror(errno));
    for (;;) {
        if (cap - n < 65536) {
            OOC_FAIL_IF(cap >= MAX_TRACE_BYTES, err, OOC_ERR_INVALID_ARG,
                        "trace '%s' is larger than 1 GiB", path);
            cap = cap ? 2 * cap : 1 << 20;
            char *grown = realloc(buf, cap);
            OOC_FAIL_IF(!grown, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            OOC_FAIL_IF(ferror(f), err, OOC_ERR_IO, "cannot read trace '%s': %s", path,
                        strerror(errno));
            break;
        }
    }
    *text = buf;
    *len = n;
    buf = NULL;
out:
    if (f)
        fclose(f);
    free(buf);
    return status;
}

/* Index of the thread with lane id `tid`, adding it (named "thread N") if new; -1: no memory. */
static int thread_index(ooc_trace_data *d, size_t *cap, int tid)
{
    for (size_t i = 0; i < d->nthreads; i++)
        if (d->threads[i].tid == tid)
            return (int)i;
    if (d->nthreads == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        ooc_trace_thread_rec *grown = realloc(d->threads, ncap * sizeof *grown);
        if (!grown)
            return -1;
        d->threads = grown;
        *cap = ncap;
    }
    ooc_trace_thread_rec *t = &d->threads[d->nthreads];
    t->tid = tid;
    snprintf(t->name, sizeof t->name, "thread %d", tid);
    return (int)d->nthreads++;
}

static ooc_trace_counter_rec *counter_named(ooc_trace_data *d, size_t *cap, const char *name,
                                            const char *unit)
{
    for (size_t i = 0; i < d->ncounters; i++)
        if (!strcmp(d->counters[i].name, name))
            return &d->counters[i];
    if (d->ncounters == *cap) {
        size_t ncap = *cap ? 2 * *cap : 8;
        ooc_trace_counter_rec *grown = realloc(d->counters, ncap * sizeof *grown);
        if (!grown)
            return NULL;
        d->counters = grown;
        *cap = ncap;
    }
    ooc_trace_counter_rec *c = &d->counters[d->ncounters++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->unit, sizeof c->unit, "%s", unit);
    return c;
}

/* Microseconds (JSON number) to nanoseconds, rounded. */
static int64_t us_to_ns(double us)
{
    double ns = us * 1000.0;
    return (int64_t)(ns < 0 ? ns - 0.5 : ns + 0.5);
}

static bool number_member(const ooc_json_value *obj, const char *key, double *out)
{
    const ooc_json_value *v = ooc_json_get(obj, key);
    if (!v || v->type != OOC_JSON_NUMBER)
        return false;
    *out = v->number;
    return true;
}

static ooc_status load_metadata(const ooc_json_value *other, ooc_trace_data *d, const char *path,
                                ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_json_value *format = ooc_json_get(other, "trace_format");
    OOC_FAIL_IF(!format || format->type != OOC_JSON_STRING ||
                    strcmp(format->string, "oocsolve-trace 1") != 0,
                err, OOC_ERR_CORRUPT,
                "trace '%s' is not an oocsolve trace (otherData.trace_format is not "
                "\"oocsolve-trace 1\")", path);
    const ooc_json_value *wall = ooc_json_get(other, "wall_us");
    char *end = NULL;
    double wall_us = wall && wall->type == OOC_JSON_STRING ? strtod(wall->string, &end) : -1;
    OOC_FAIL_IF(!end || *end || !(wall_us >= 0), err, OOC_ERR_CORRUPT,
                "trace '%s': otherData.wall_us is missing or not a non-negative number", path);
    d->wall_ns = us_to_ns(wall_us);
    const ooc_json_value *dropped = ooc_json_get(other, "dropped_spans");
    if (dropped && dropped->type == OOC_JSON_STRING)
        d->dropped_spans = strtoull(dropped->string, NULL, 10);

    d->meta = calloc(other->n + 1, sizeof *d->meta);
    OOC_FAIL_IF(!d->meta, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
    for (size_t i = 0; i < other->n; i++) {
        const ooc_json_member *m = &other->members[i];
        if (!strcmp(m->key, "trace_format") || !strcmp(m->key, "wall_us") ||
            !strcmp(m->key, "dropped_spans") || m->value.type != OOC_JSON_STRING)
            continue;
        ooc_trace_meta_rec *r = &d->meta[d->nmeta++];
        r->key = strdup(m->key);
        r->value = strdup(m->value.string);
        OOC_FAIL_IF(!r->key || !r->value, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'",
                    path);
    }
out:
    return status;
}

/* One event of traceEvents (index i, for messages). */
static ooc_status load_event(const ooc_json_value *ev, size_t i, ooc_trace_data *d,
                             size_t *span_cap, size_t *thread_cap, size_t *counter_cap,
                             const char *path, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_json_value *ph = ooc_json_get(ev, "ph");
    const ooc_json_value *name = ooc_json_get(ev, "name");
    const ooc_json_value *args = ooc_json_get(ev, "args");
    OOC_FAIL_IF(!ph || ph->type != OOC_JSON_STRING || !name || name->type != OOC_JSON_STRING, err,
                OOC_ERR_CORRUPT, "trace '%s': event %zu has no \"ph\" or \"name\" string", path, i);
    double tid = 0, ts = 0, dur = 0;
    if (!strcmp(ph->string, "M")) {
        if (strcmp(name->string, "thread_name") != 0)
            return OOC_OK;
        const ooc_json_value *tname = ooc_json_get(args, "name");
        OOC_FAIL_IF(!number_member(ev, "tid", &tid) || !tname || tname->type != OOC_JSON_STRING,
                    err, OOC_ERR_CORRUPT, "trace '%s': thread_name event %zu lacks tid or args.name",
                    path, i);
        int t = thread_index(d, thread_cap, (int)tid);
        OOC_FAIL_IF(t < 0, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
        snprintf(d->threads[t].name, sizeof d->threads[t].name, "%s", tname->string);
    } else if (!strcmp(ph->string, "X")) {
        ooc_stage stage;
        OOC_FAIL_IF(!ooc_stage_from_name(name->string, &stage), err, OOC_ERR_CORRUPT,
                    "trace '%s': event %zu names unknown stage \"%.64s\"", path, i, name->string);
        OOC_FAIL_IF(!number_member(ev, "tid", &tid) || !number_member(ev, "ts", &ts) ||
                        !number_member(ev, "dur", &dur) || dur < 0,
                    err, OOC_ERR_CORRUPT,
                    "trace '%s': span event %zu lacks a numeric tid, ts or non-negative dur", path,
                    i);
        int t = thread_index(d, thread_cap, (int)tid);
        OOC_FAIL_IF(t < 0, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
        if (d->nspans == *span_cap) {
            size_t cap = *span_cap ? 2 * *span_cap : 1024;
            ooc_trace_span_rec *grown = realloc(d->spans, cap * sizeof *grown);
            OOC_FAIL_IF(!grown, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
            d->spans = grown;
            *span_cap = cap;
        }
        double nbytes = 0;
        number_member(args, "bytes", &nbytes);
        d->spans[d->nspans++] = (ooc_trace_span_rec){
            .start_ns = us_to_ns(ts),
            .dur_ns = us_to_ns(dur),
            .nbytes = nbytes > 0 ? (uint64_t)nbytes : 0,
            .thread = t,
            .stage = stage,
        };
    } else if (!strcmp(ph->string, "C")) {
        OOC_FAIL_IF(!number_member(ev, "ts", &ts) || !args || args->type != OOC_JSON_OBJECT ||
                        args->n != 1 || args->members[0].value.type != OOC_JSON_NUMBER,
                    err, OOC_ERR_CORRUPT,
                    "trace '%s': counter event %zu needs ts and one numeric series in args", path,
                    i);
        ooc_trace_counter_rec *c = counter_named(d, counter_cap, name->string, args->members[0].key);
        OOC_FAIL_IF(!c, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
        if ((c->nsamples & (c->nsamples - 1)) == 0) { /* capacity: powers of two */
            ooc_trace_sample *grown =
                realloc(c->samples, (c->nsamples ? 2 * c->nsamples : 1) * sizeof *grown);
            OOC_FAIL_IF(!grown, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
            c->samples = grown;
        }
        c->samples[c->nsamples++] =
            (ooc_trace_sample){us_to_ns(ts), args->members[0].value.number};
    }
out:
    return status;
}

ooc_status ooc_trace_load(const char *path, ooc_trace_data **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    ooc_json_value *root = NULL;
    ooc_trace_data *d = NULL;
    char what[512];
    snprintf(what, sizeof what, "trace '%s'", path);

    OOC_CHECK(read_file(path, &text, &len, err));
    OOC_CHECK(ooc_json_parse(text, len, what, &root, err));
    const ooc_json_value *other = ooc_json_get(root, "otherData");
    const ooc_json_value *events = ooc_json_get(root, "traceEvents");
    OOC_FAIL_IF(!other || other->type != OOC_JSON_OBJECT || !events ||
                    events->type != OOC_JSON_ARRAY,
                err, OOC_ERR_CORRUPT,
                "trace '%s' is not an oocsolve trace (needs \"otherData\" and \"traceEvents\")",
                path);
    d = calloc(1, sizeof *d);
    OOC_FAIL_IF(!d, err, OOC_ERR_NOMEM, "out of memory reading trace '%s'", path);
    OOC_CHECK(load_metadata(other, d, path, err));
    size_t span_cap = 0, thread_cap = 0, counter_cap = 0;
    for (size_t i = 0; i < events->n; i++) {
        OOC_FAIL_IF(events->items[i].type != OOC_JSON_OBJECT, err, OOC_ERR_CORRUPT,
                    "trace '%s': event %zu is not an object", path, i);
        OOC_CHECK(load_event(&events->items[i], i, d, &span_cap, &thread_cap, &counter_cap, path,
                             err));
    }
    ooc_trace_data_sort_spans(d);
    *out = d;
    d = NULL;
out:
    ooc_trace_data_free(d);
    ooc_json_free(root);
    free(text);
    return status;
}
