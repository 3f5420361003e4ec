/*
 * trace_summary.c — the numbers and the table printed at the end of a
 * profiled run (rules in trace.h: innermost-span busy time, parallelism,
 * overlap, idle, bounding stage).
 *
 * Method: per thread, the (sorted) spans are walked with a stack of open
 * spans, cutting the thread's time into segments that each belong to the
 * innermost open span.  A sweep over all segment end points then measures
 * how long >= 2 distinct stages, and how long no stage, were active.
 */
#include "profile/trace.h"

#include "base/error.h"
#include "base/textbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct segment {
    int64_t a, b;
    int stage;
} segment;

typedef struct sweep_event {
    int64_t t;
    int delta; /* +1 start, -1 end */
    int stage;
} sweep_event;

typedef struct cutter {
    const ooc_trace_data *d;
    segment *segs;
    size_t nsegs;
    ooc_trace_stats *stats;
    bool *ran;            /* [thread * OOC_STAGE_COUNT + stage] */
    size_t *stack;        /* indices of open spans */
    size_t depth;
    int64_t cursor;
    int thread;
} cutter;

static int64_t span_end(const ooc_trace_span_rec *s) { return s->start_ns + s->dur_ns; }

static void emit(cutter *c, int stage, int64_t a, int64_t b)
{
    if (b <= a)
        return;
    c->segs[c->nsegs++] = (segment){a, b, stage};
    c->stats->stage[stage].busy_ns += b - a;
    c->ran[(size_t)c->thread * OOC_STAGE_COUNT + (size_t)stage] = true;
}

/* Close every open span that ends by `t`, giving each its remaining time. */
static void close_until(cutter *c, int64_t t)
{
    while (c->depth > 0) {
        const ooc_trace_span_rec *top = &c->d->spans[c->stack[c->depth - 1]];
        int64_t end = span_end(top);
        if (end > t)
            break;
        emit(c, (int)top->stage, c->cursor, end);
        if (end > c->cursor)
            c->cursor = end;
        c->depth--;
    }
}

static int compare_events(const void *pa, const void *pb)
{
    const sweep_event *a = pa, *b = pb;
    return a->t < b->t ? -1 : a->t > b->t;
}

ooc_status ooc_trace_analyze(const ooc_trace_data *data, ooc_trace_stats *stats, ooc_error *err)
{
    ooc_status status = OOC_OK;
    memset(stats, 0, sizeof *stats);
    stats->wall_ns = data->wall_ns;
    stats->bounding_stage = -1;
    stats->peak_rss_mb = NAN;
    stats->mean_cpu_percent = NAN;
    sweep_event *events = NULL;
    cutter c = {.d = data, .stats = stats};
    c.segs = malloc((2 * data->nspans + 1) * sizeof *c.segs);
    c.stack = malloc((data->nspans + 1) * sizeof *c.stack);
    c.ran = calloc(data->nthreads * OOC_STAGE_COUNT + 1, sizeof *c.ran);
    OOC_FAIL_IF(!c.segs || !c.stack || !c.ran, err, OOC_ERR_NOMEM,
                "out of memory summarizing the profile");

    for (size_t i = 0; i < data->nspans; i++) {
        const ooc_trace_span_rec *s = &data->spans[i];
        if (i == 0 || s->thread != data->spans[i - 1].thread) {
            close_until(&c, INT64_MAX);
            c.thread = s->thread;
            c.cursor = INT64_MIN;
        }
        close_until(&c, s->start_ns);
        if (c.depth > 0)
            emit(&c, (int)data->spans[c.stack[c.depth - 1]].stage, c.cursor, s->start_ns);
        if (s->start_ns > c.cursor)
            c.cursor = s->start_ns;
        c.stack[c.depth++] = i;
        stats->stage[s->stage].nspans++;
        stats->stage[s->stage].nbytes += s->nbytes;
    }
    close_until(&c, INT64_MAX);

    double wall = data->wall_ns > 0 ? (double)data->wall_ns : 1.0;
    double best = -1;
    for (int st = 0; st < OOC_STAGE_COUNT; st++) {
        ooc_stage_stats *ss = &stats->stage[st];
        for (size_t t = 0; t < data->nthreads; t++)
            ss->nthreads += c.ran[t * OOC_STAGE_COUNT + (size_t)st];
        stats->busy_ns += ss->busy_ns;
        ss->utilization = ss->nthreads ? (double)ss->busy_ns / ss->nthreads / wall : 0.0;
        if (ss->nthreads && ss->utilization > best) {
            best = ss->utilization;
            stats->bounding_stage = st;
        }
    }
    stats->parallelism = (double)stats->busy_ns / wall;

    /* Sweep: how long were >= 2 distinct stages, or none, active. */
    events = malloc((2 * c.nsegs + 1) * sizeof *events);
    OOC_FAIL_IF(!events, err, OOC_ERR_NOMEM, "out of memory summarizing the profile");
    for (size_t i = 0; i < c.nsegs; i++) {
        events[2 * i] = (sweep_event){c.segs[i].a, +1, c.segs[i].stage};
        events[2 * i + 1] = (sweep_event){c.segs[i].b, -1, c.segs[i].stage};
    }
    qsort(events, 2 * c.nsegs, sizeof *events, compare_events);
    int active[OOC_STAGE_COUNT] = {0};
    int distinct = 0, busy_threads = 0;
    int64_t overlap = 0, covered = 0, prev = 0;
    for (size_t i = 0; i < 2 * c.nsegs; i++) {
        const sweep_event *e = &events[i];
        if (e->t > prev) {
            if (distinct >= 2)
                overlap += e->t - prev;
            if (busy_threads > 0)
                covered += e->t - prev;
        }
        prev = e->t;
        int before = active[e->stage];
        active[e->stage] += e->delta;
        distinct += (before == 0 && active[e->stage] > 0) - (before > 0 && active[e->stage] == 0);
        busy_threads += e->delta;
    }
    stats->overlap_fraction = (double)overlap / wall;
    stats->idle_fraction = data->wall_ns > covered ? (double)(data->wall_ns - covered) / wall : 0.0;

    for (size_t i = 0; i < data->ncounters; i++) {
        const ooc_trace_counter_rec *cr = &data->counters[i];
        if (!cr->nsamples)
            continue;
        double peak = -INFINITY, sum = 0;
        for (size_t k = 0; k < cr->nsamples; k++) {
            peak = fmax(peak, cr->samples[k].value);
            sum += cr->samples[k].value;
        }
        if (!strcmp(cr->name, "RSS"))
            stats->peak_rss_mb = peak;
        else if (!strcmp(cr->name, "CPU"))
            stats->mean_cpu_percent = sum / (double)cr->nsamples;
    }
out:
    free(events);
    free(c.segs);
    free(c.stack);
    free(c.ran);
    return status;
}

ooc_status ooc_trace_summary_text(const ooc_trace_data *data, char **text, ooc_error *err)
{
    *text = NULL;
    ooc_trace_stats st;
    ooc_status status = ooc_trace_analyze(data, &st, err);
    if (status != OOC_OK)
        return status;
    ooc_textbuf t = {0};
    double wall_s = (double)st.wall_ns / 1e9, wall = st.wall_ns > 0 ? (double)st.wall_ns : 1.0;
    const char *command = ooc_trace_data_meta(data, "command");
    ooc_textbuf_printf(&t, "profile: wall %.3f s, %zu threads, %zu spans%s%s\n", wall_s,
                       data->nthreads, data->nspans, command ? " — " : "", command ? command : "");
    bool any_bytes = false;
    for (int s = 0; s < OOC_STAGE_COUNT; s++)
        any_bytes |= st.stage[s].nbytes > 0;
    ooc_textbuf_printf(&t, "  %-16s %8s %9s %7s %7s %11s%s\n", "stage", "spans", "busy s",
                       "% wall", "threads", "busy/thread", any_bytes ? "    MB/s" : "");
    for (int s = 0; s < OOC_STAGE_COUNT; s++) {
        const ooc_stage_stats *ss = &st.stage[s];
        if (!ss->nspans)
            continue;
        ooc_textbuf_printf(&t, "  %-16s %8llu %9.3f %7.1f %7d %10.1f%%",
                           ooc_stage_name((ooc_stage)s), (unsigned long long)ss->nspans,
                           (double)ss->busy_ns / 1e9, 100.0 * (double)ss->busy_ns / wall,
                           ss->nthreads, 100.0 * ss->utilization);
        if (ss->nbytes && ss->busy_ns > 0)
            ooc_textbuf_printf(&t, " %8.1f",
                               (double)ss->nbytes / 1e6 / ((double)ss->busy_ns / 1e9));
        ooc_textbuf_append(&t, "\n");
    }
    if (any_bytes)
        ooc_textbuf_append(&t, "  (MB/s: bytes a stage processed per second of its busy time, "
                               "one thread)\n");
    ooc_textbuf_printf(&t, "overlap: parallelism %.2f (busy thread time / wall); >= 2 stages at "
                           "once %.1f%% of wall; nothing traced running %.1f%%\n",
                       st.parallelism, 100.0 * st.overlap_fraction, 100.0 * st.idle_fraction);
    if (st.bounding_stage < 0) {
        ooc_textbuf_append(&t, "bounded by: no spans recorded\n");
    } else {
        const ooc_stage_stats *b = &st.stage[st.bounding_stage];
        if (b->utilization >= 0.5)
            ooc_textbuf_printf(&t, "bounded by: %s — its %d thread%s busy %.0f%% of the wall "
                                   "time\n",
                               ooc_stage_name((ooc_stage)st.bounding_stage), b->nthreads,
                               b->nthreads == 1 ? " was" : "s were", 100.0 * b->utilization);
        else
            ooc_textbuf_printf(&t, "bounded by: no stage kept its threads busy (most: %s, %.0f%%) "
                                   "— the run waited outside the traced stages\n",
                               ooc_stage_name((ooc_stage)st.bounding_stage),
                               100.0 * b->utilization);
    }
    if (!isnan(st.peak_rss_mb) || !isnan(st.mean_cpu_percent)) {
        ooc_textbuf_append(&t, "resources:");
        if (!isnan(st.peak_rss_mb))
            ooc_textbuf_printf(&t, " peak RSS %.1f MB", st.peak_rss_mb);
        if (!isnan(st.mean_cpu_percent))
            ooc_textbuf_printf(&t, "%s mean CPU %.0f%%", isnan(st.peak_rss_mb) ? "" : ";",
                               st.mean_cpu_percent);
        ooc_textbuf_append(&t, "\n");
    }
    if (data->dropped_spans)
        ooc_textbuf_printf(&t, "warning: %llu spans were not recorded (out of memory)\n",
                           (unsigned long long)data->dropped_spans);
    return ooc_textbuf_take(&t, text, err, "formatting the profile summary");
}
