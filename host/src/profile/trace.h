/*
 * trace.h — profiling of a run: stage spans from any thread, resource
 * counters sampled in the background, Chrome trace-event JSON output, and
 * the end-of-run summary ("where did the time go, what bounded the run").
 *
 * Recording (ooc_trace):
 *   ooc_trace_token t = ooc_trace_begin(tr, OOC_STAGE_DECOMPRESS);
 *   ... inflate one chunk ...
 *   ooc_trace_end_bytes(tr, t, chunk_nbytes);
 * Every recording function accepts tr == NULL and then does nothing, so
 * library code calls them unconditionally with the trace pointer from its
 * options.  A span costs two clock_gettime(CLOCK_MONOTONIC) calls and an
 * append to the calling thread's own buffer (no lock, no allocation except
 * one small block per 1024 spans).  Spans are meant per block or chunk
 * (thousands per run), not per row.  Spans on one thread may nest.
 *
 * A sampler thread records counter tracks every `sample_interval_ms`:
 * resident memory (RSS, /proc/self/statm), process CPU % (getrusage deltas;
 * 100 = one core busy) and any counter the pipeline registers with
 * ooc_trace_counter_add (ring buffers in use, bytes read, ...).
 *
 * Output and analysis work on an ooc_trace_data: a plain snapshot taken from
 * a live trace (ooc_trace_snapshot) or read back from a JSON file written by
 * this module (ooc_trace_load).  The summary and the SVG renderer (svg.h)
 * take an ooc_trace_data, so `oocsolve profile-summary` on a file prints the
 * same table as the end of a profiled run.
 *
 * Summary rules (ooc_trace_analyze):
 *  - Busy time of a stage: the time threads spent inside its spans,
 *    counting only the innermost open span of each thread (a span nested in
 *    another takes its time away from the parent), so stage busy times never
 *    double count and sum to the total busy thread time.
 *  - Parallelism: total busy thread time / wall time (1.0 = one thread busy
 *    on average).  Overlap: the fraction of wall time during which at least
 *    two different stages were active at once (on different threads).
 *    Idle: the fraction of wall time with no span active on any thread.
 *  - Bounding stage: the stage with the largest busy time per thread that
 *    ran it, relative to wall time (busy / threads / wall).  A stage whose
 *    threads were busy ~100% of the run had no slack: the other stages
 *    waited on it, so speeding it up (or giving it more threads) is what
 *    shortens the run.  A low maximum (< 50%) means no stage saturated its
 *    threads and the run was bounded by something untraced (waiting, I/O
 *    outside spans); the summary says so.
 */
#ifndef OOC_TRACE_H
#define OOC_TRACE_H

#include "oocsolve.h"

#include <stdint.h>
#include <stdio.h>

/* Pipeline stages.  Names (ooc_stage_name) appear in the JSON and are
 * stable: the JSON reader maps them back. */
typedef enum ooc_stage {
    OOC_STAGE_CSV_TOKENIZE = 0, /* read CSV bytes and split records/fields */
    OOC_STAGE_LEVEL_SCAN,       /* extra pass collecting categorical levels */
    OOC_STAGE_FORMULA_EVAL,     /* evaluate the design on a block of records */
    OOC_STAGE_COMPRESS,         /* shuffle + deflate a chunk for writing */
    OOC_STAGE_CHUNK_WRITE,      /* write a compressed chunk to HDF5 */
    OOC_STAGE_CHUNK_READ,       /* read a raw chunk from HDF5 */
    OOC_STAGE_DECOMPRESS,       /* inflate a chunk */
    OOC_STAGE_UNSHUFFLE,        /* undo the byte shuffle */
    OOC_STAGE_COPY_TO_DEVICE,   /* host -> GPU transfer */
    OOC_STAGE_ACCUMULATE,       /* Gram / TSQR update with one block */
    OOC_STAGE_FINALIZE,         /* solve, SVD of R, statistics */
    OOC_STAGE_WRITE_OUTPUT,     /* write results (report, HDF5 metadata, commit) */
    OOC_STAGE_RESIDUAL_PASS,    /* a later pass over one block: refinement residuals,
                                 * HC sandwich meat, SVD's U = X V S^-1 */
    OOC_STAGE_MEMORIZE,         /* the scan pass's stateful transforms (center, bs, ...):
                                 * memorizing their arguments, and learning from them */
    OOC_STAGE_COUNT
} ooc_stage;

/* Stable lower-case name of a stage ("formula eval"); "?" when out of range. */
const char *ooc_stage_name(ooc_stage stage);

/* The stage called `name` (as ooc_stage_name gives); false if none. */
bool ooc_stage_from_name(const char *name, ooc_stage *stage);

typedef struct ooc_trace ooc_trace;

typedef struct ooc_trace_options {
    unsigned sample_interval_ms; /* counter sampling period; 0: 50 ms */
    bool no_sampler;             /* true: no sampler thread, no counter tracks */
} ooc_trace_options;

/* Start a trace now (time 0) and its sampler thread; the calling thread is
 * registered as thread "main".  `opts` may be NULL for defaults.
 * Free with ooc_trace_free.  Errors: OOC_ERR_NOMEM (memory or thread). */
ooc_status ooc_trace_create(const ooc_trace_options *opts, ooc_trace **out, ooc_error *err);

/* Stop the sampler (a final sample is taken) and fix the end time of the
 * run.  Spans ending later are still kept.  Idempotent; NULL is a no-op. */
void ooc_trace_finish(ooc_trace *tr);

/* Stop the sampler and free everything; no thread may record afterwards.
 * NULL is a no-op. */
void ooc_trace_free(ooc_trace *tr);

/* An open span, returned by ooc_trace_begin and passed to ooc_trace_end. */
typedef struct ooc_trace_token {
    int64_t start_ns;
    int stage; /* -1: nothing to record */
} ooc_trace_token;

/* Open a span of `stage` on the calling thread.  Thread-safe; cheap. */
ooc_trace_token ooc_trace_begin(ooc_trace *tr, ooc_stage stage);

/* Close a span (records it in the calling thread's buffer). */
void ooc_trace_end(ooc_trace *tr, ooc_trace_token token);

/* Close a span that processed `nbytes` bytes (shown in the span's args and
 * used for the stage's MB/s in the summary). */
void ooc_trace_end_bytes(ooc_trace *tr, ooc_trace_token token, uint64_t nbytes);

/* Name the calling thread's lane ("reader", "inflate 1"); copied, at most
 * 63 bytes kept.  Threads never named show as "thread N". */
void ooc_trace_name_thread(ooc_trace *tr, const char *name);

/* A counter read by the sampler thread: returns the current value.  Called
 * with an internal lock held, so it must be quick and must not call back
 * into the trace. */
typedef double (*ooc_trace_counter_fn)(void *ctx);

typedef enum ooc_trace_counter_kind {
    OOC_COUNTER_VALUE = 0, /* plot the value as read (buffers in use) */
    OOC_COUNTER_RATE = 1   /* the value is a running total; plot its rate per second */
} ooc_trace_counter_kind;

/* Register a counter track named `name` with display unit `unit` (e.g.
 * "buffers", "MB/s"); for OOC_COUNTER_RATE the plotted value is
 * d(read(ctx))/dt * `scale`, otherwise read(ctx) * `scale`.  Returns an id
 * for ooc_trace_counter_remove, or -1 when tr is NULL or the table of 16
 * counters is full (the counter is then not sampled). */
int ooc_trace_counter_add(ooc_trace *tr, const char *name, const char *unit,
                          ooc_trace_counter_kind kind, double scale, ooc_trace_counter_fn read,
                          void *ctx);

/* Stop sampling counter `id` (its samples are kept).  After this returns,
 * `read` is not called again, so ctx may be freed.  id < 0 is a no-op. */
void ooc_trace_counter_remove(ooc_trace *tr, int id);

/* Record a run parameter (command line, formula, rows, p, method, threads)
 * for the JSON "otherData" section; the value is printf-formatted.  Setting
 * a key again replaces it. */
void ooc_trace_set_meta(ooc_trace *tr, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- snapshot of a trace: input of the summary, the JSON writer and SVG ---- */

typedef struct ooc_trace_span_rec {
    int64_t start_ns; /* since the trace start */
    int64_t dur_ns;
    uint64_t nbytes;  /* 0: not given */
    int thread;       /* index into ooc_trace_data.threads */
    ooc_stage stage;
} ooc_trace_span_rec;

typedef struct ooc_trace_thread_rec {
    int tid;          /* lane id in the JSON (1, 2, ...) */
    char name[64];
} ooc_trace_thread_rec;

typedef struct ooc_trace_sample {
    int64_t t_ns;
    double value;
} ooc_trace_sample;

typedef struct ooc_trace_counter_rec {
    char name[48];
    char unit[16];
    ooc_trace_sample *samples;
    size_t nsamples;
} ooc_trace_counter_rec;

typedef struct ooc_trace_meta_rec {
    char *key;
    char *value;
} ooc_trace_meta_rec;

typedef struct ooc_trace_data {
    int64_t wall_ns;                  /* trace start to finish (or last span end) */
    ooc_trace_span_rec *spans;        /* sorted by thread, then start, longest first */
    size_t nspans;
    ooc_trace_thread_rec *threads;
    size_t nthreads;
    ooc_trace_counter_rec *counters;
    size_t ncounters;
    ooc_trace_meta_rec *meta;
    size_t nmeta;
    uint64_t dropped_spans;           /* spans lost to allocation failure */
} ooc_trace_data;

/* Copy everything recorded so far into a new ooc_trace_data (free with
 * ooc_trace_data_free).  Safe while other threads record (their spans
 * completed before the call are included).  Errors: OOC_ERR_NOMEM. */
ooc_status ooc_trace_snapshot(ooc_trace *tr, ooc_trace_data **out, ooc_error *err);

/* Free a snapshot; NULL is a no-op. */
void ooc_trace_data_free(ooc_trace_data *data);

/* Sort data->spans into the order documented above (thread, start time,
 * longer spans first so that parents precede the spans nested in them). */
void ooc_trace_data_sort_spans(ooc_trace_data *data);

/* Value of metadata `key`, or NULL. */
const char *ooc_trace_data_meta(const ooc_trace_data *data, const char *key);

/* Write `data` as Chrome trace-event JSON (loadable by Perfetto and
 * chrome://tracing): "X" events per span, "C" counter events, "M"
 * process/thread names, otherData with the metadata.  Written to a
 * temporary file in the same directory and renamed over `path` on success.
 * Errors: OOC_ERR_IO (create/write/rename, message names the file). */
ooc_status ooc_trace_data_write_json(const ooc_trace_data *data, const char *path,
                                     ooc_error *err);

/* Finish the trace, snapshot it and write it to `path` (as above). */
ooc_status ooc_trace_write_json(ooc_trace *tr, const char *path, ooc_error *err);

/* Read a JSON trace written by ooc_trace_data_write_json.  Errors:
 * OOC_ERR_IO (cannot read), OOC_ERR_CORRUPT (not JSON / not our format;
 * the message gives the line and column or the event index). */
ooc_status ooc_trace_load(const char *path, ooc_trace_data **out, ooc_error *err);

/* ---- summary ---- */

typedef struct ooc_stage_stats {
    uint64_t nspans;
    int64_t busy_ns;      /* innermost-span time, summed over threads */
    int nthreads;         /* distinct threads that ran the stage */
    uint64_t nbytes;      /* bytes reported by its spans */
    double utilization;   /* busy_ns / nthreads / wall_ns */
} ooc_stage_stats;

typedef struct ooc_trace_stats {
    int64_t wall_ns;
    ooc_stage_stats stage[OOC_STAGE_COUNT];
    int64_t busy_ns;          /* sum over stages */
    double parallelism;       /* busy_ns / wall_ns */
    double overlap_fraction;  /* wall fraction with >= 2 distinct stages active */
    double idle_fraction;     /* wall fraction with no span active */
    int bounding_stage;       /* ooc_stage, or -1 when there are no spans */
    double peak_rss_mb;       /* NaN without an RSS track */
    double mean_cpu_percent;  /* NaN without a CPU track */
} ooc_trace_stats;

/* Compute the summary numbers of `data` (rules in the header comment).
 * Errors: OOC_ERR_NOMEM. */
ooc_status ooc_trace_analyze(const ooc_trace_data *data, ooc_trace_stats *stats, ooc_error *err);

/* The summary as a text table (malloc'ed, caller frees; ends with '\n'):
 * per stage spans, busy seconds, % of wall, threads, busy per thread, MB/s;
 * then parallelism, overlap, idle, the bounding stage, peak RSS, mean CPU.
 * Errors: OOC_ERR_NOMEM. */
ooc_status ooc_trace_summary_text(const ooc_trace_data *data, char **text, ooc_error *err);

#endif
