/*
 * design_stream.c — ordered parallel evaluation of a formula over CSV blocks.
 *
 * A fixed set of slots cycles FREE -> PENDING -> RUNNING -> DONE -> FREE.
 * The caller's thread tokenizes records into FREE slots (tokenizing must be
 * sequential: quoted newlines make record boundaries depend on everything
 * before them); worker threads evaluate PENDING slots, oldest first; the
 * caller receives DONE slots strictly in sequence order.
 *
 * Each block's counts of non-finite values come back with it and are merged
 * on the caller's thread in file order, so the first line of each column is
 * the first in the file; the text of a warning is made then, from the
 * block's records, only for the columns that will be named.
 */
#include "csv/design_stream.h"

#include "csv/csv.h"
#include "base/error.h"
#include "profile/progress.h"
#include "profile/trace.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum slot_state { SLOT_FREE, SLOT_PENDING, SLOT_RUNNING, SLOT_DONE };

typedef struct slot {
    ooc_csv_block blk;
    double *X;
    double *y;
    size_t cap_rows;
    size_t nrows;
    size_t ndropped;
    uint64_t seq;
    enum slot_state state;
    ooc_status status;
    ooc_error err;
    ooc_nonfinite nf;     /* non-finite values the evaluation wrote */
} slot;

/* Columns of X (and y) named one by one in the warnings about non-finite values. */
#define NONFINITE_WARNINGS 20

/* A column's non-finite values over the pass. */
typedef struct nonfinite_column {
    size_t column;        /* of X; ncols: y */
    uint64_t count;
    uint64_t line;        /* of the first */
    double value;         /* the first (only for the named columns) */
    char *what;           /* where it came from (only for the named columns) */
} nonfinite_column;

struct ooc_design_stream {
    ooc_design_stream_options opts;
    ooc_csv_reader *reader;
    ooc_model *model;
    size_t ncols;
    bool has_y;

    slot *slots;
    int nslots;
    pthread_t *threads;
    ooc_model_scratch **scratch;
    int nthreads;
    int threads_started;

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* a slot became PENDING, or stop */
    pthread_cond_t done_cv; /* a slot became DONE */
    bool stop;

    uint64_t next_submit_seq;
    uint64_t next_deliver_seq;
    bool eof;
    int delivered_slot; /* slot lent to the caller by the last next(), or -1 */

    uint64_t records;
    uint64_t rows_dropped;

    /* non-finite values of the first pass, in order of their first line */
    size_t *nf_index;               /* column (of X, then y) -> its nf_cols entry, or SIZE_MAX;
                                       NULL until the first */
    nonfinite_column *nf_cols;
    size_t nf_n, nf_cap;
    ooc_model_scratch *nf_scratch;  /* for describing them on the caller's thread */
    bool nf_reported;               /* the warnings were given: later passes are not counted */
};

typedef struct worker_arg {
    ooc_design_stream *ds;
    int index;
} worker_arg;

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The PENDING slot with the smallest sequence number, or NULL. */
static slot *oldest_pending(ooc_design_stream *ds)
{
    slot *best = NULL;
    for (int i = 0; i < ds->nslots; i++) {
        slot *s = &ds->slots[i];
        if (s->state == SLOT_PENDING && (!best || s->seq < best->seq))
            best = s;
    }
    return best;
}

static void *worker_main(void *p)
{
    worker_arg *arg = p;
    ooc_design_stream *ds = arg->ds;
    ooc_model_scratch *scratch = ds->scratch[arg->index];
    char name[32];
    snprintf(name, sizeof name, "formula eval %d", arg->index + 1);
    ooc_trace_name_thread(ds->opts.trace, name);
    pthread_mutex_lock(&ds->mu);
    for (;;) {
        slot *s = NULL;
        while (!ds->stop && !(s = oldest_pending(ds)))
            pthread_cond_wait(&ds->work_cv, &ds->mu);
        if (ds->stop)
            break;
        s->state = SLOT_RUNNING;
        pthread_mutex_unlock(&ds->mu);

        ooc_error_clear(&s->err);
        ooc_trace_token span = ooc_trace_begin(ds->opts.trace, OOC_STAGE_FORMULA_EVAL);
        s->status = ooc_model_eval(ds->model, scratch, &s->blk, s->X, ds->has_y ? s->y : NULL,
                                   &s->nrows, &s->ndropped, &s->nf, &s->err);
        ooc_trace_end(ds->opts.trace, span);

        pthread_mutex_lock(&ds->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&ds->done_cv);
    }
    pthread_mutex_unlock(&ds->mu);
    free(arg);
    return NULL;
}

static bool cancelled(const ooc_design_stream *ds)
{
    return ds->opts.cancel && *ds->opts.cancel;
}

/* Read every block once to collect categorical levels, then rewind. */
static ooc_status scan_levels(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    ooc_trace *tr = ds->opts.trace;
    ooc_progress_phase(ds->opts.progress, "scanning levels", 0, ooc_csv_file_size(ds->reader));
    for (;;) {
        OOC_FAIL_IF(cancelled(ds), err, OOC_ERR_INTERRUPTED, "interrupted while scanning levels");
        uint64_t bytes_before = ooc_csv_bytes_read(ds->reader);
        ooc_trace_token span = ooc_trace_begin(tr, OOC_STAGE_CSV_TOKENIZE);
        OOC_CHECK(ooc_csv_next_block(ds->reader, &blk, err));
        uint64_t nbytes = ooc_csv_bytes_read(ds->reader) - bytes_before;
        ooc_trace_end_bytes(tr, span, nbytes);
        if (blk.nrecords == 0)
            break;
        span = ooc_trace_begin(tr, OOC_STAGE_LEVEL_SCAN);
        OOC_CHECK(ooc_model_scan_levels(ds->model, &blk, err));
        ooc_trace_end(tr, span);
        ooc_progress_add(ds->opts.progress, blk.nrecords, nbytes);
    }
    OOC_CHECK(ooc_csv_rewind(ds->reader, err));
out:
    ooc_csv_block_free(&blk);
    return status;
}

/* Refuse a categorical with more than max_levels levels, before any column exists. */
static ooc_status check_max_levels(const ooc_design_stream *ds, ooc_error *err)
{
    ooc_model_categorical c;
    for (size_t i = 0; ooc_model_categorical_info(ds->model, i, &c); i++)
        if (c.nlevels > ds->opts.max_levels)
            return OOC_FAIL(err, OOC_ERR_DATA,
                            "%s, column '%s': %zu levels in categorical '%s', more than the limit "
                            "of %zu (--max-levels)",
                            ds->opts.csv_path, c.column, c.nlevels, c.name, ds->opts.max_levels);
    return OOC_OK;
}

/* Warn about each column inferred categorical because of a text value among
 * numbers (patsy's rule, kept): the value, its line, and the levels it now has. */
static void warn_text_categoricals(const ooc_design_stream *ds)
{
    ooc_model_categorical c;
    for (size_t i = 0; ooc_model_categorical_info(ds->model, i, &c); i++)
        if (c.text)
            ooc_log(&ds->opts.log, OOC_LOG_WARNING,
                    "%s, line %llu, column '%s': %s is not a number, so the column is "
                    "categorical (as pandas and patsy make it), with %zu levels; "
                    "--dtype %s=float makes such a value an error instead",
                    ds->opts.csv_path, (unsigned long long)c.text_line, c.column, c.text,
                    c.nlevels, c.column);
}

/* Parse the formula and bind it to the header and the first block. */
static ooc_status prepare_model(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_design_stream_options *o = &ds->opts;
    ooc_csv_block sample;
    ooc_csv_block_init(&sample);
    const char **names = NULL;

    OOC_CHECK(ooc_model_parse(o->formula, o->vars, o->nvars, &ds->model, err));
    size_t ncsv = ooc_csv_ncols(ds->reader);
    names = malloc(ncsv * sizeof *names);
    OOC_FAIL_IF(!names, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < ncsv; j++)
        names[j] = ooc_csv_column_name(ds->reader, j);

    OOC_CHECK(ooc_csv_next_block(ds->reader, &sample, err));
    ooc_model_data_options mo = {
        .file_name = o->csv_path,
        .na_values = o->csv.na_values,
        .n_na_values = o->csv.n_na_values,
        .no_default_na = o->csv.no_default_na,
        .missing_is_error = o->csv.missing_is_error,
        .dtypes = o->csv.dtypes,
        .ndtypes = o->csv.ndtypes,
    };
    OOC_CHECK(ooc_model_bind(ds->model, names, ncsv, &sample, &mo, err));
    OOC_CHECK(ooc_csv_rewind(ds->reader, err));
    if (ooc_model_needs_level_scan(ds->model))
        OOC_CHECK(scan_levels(ds, err));
    if (o->one_pass)
        ooc_csv_last_pass(ds->reader); /* no rewind follows: a pipe is not kept any more */
    OOC_CHECK(ooc_model_resolve_levels(ds->model, err));
    warn_text_categoricals(ds);
    if (o->max_levels)
        OOC_CHECK(check_max_levels(ds, err));
    OOC_CHECK(ooc_model_finish_levels(ds->model, err));
    ds->ncols = ooc_model_ncols(ds->model);
    /* Bound each slot's design rows (block_records x ncols doubles) to about 4 MiB, and use the
     * reader's block size, which it may already have lowered for a wide file. */
    ooc_csv_limit_block_records(ds->reader, (size_t)(1u << 19) / (ds->ncols + 1));
    ds->opts.block_records = ooc_csv_block_records(ds->reader);
    ds->has_y = ooc_model_has_response(ds->model);
out:
    free(names);
    ooc_csv_block_free(&sample);
    return status;
}

static ooc_status start_workers(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t rows = ds->opts.block_records;
    for (int i = 0; i < ds->nslots; i++) {
        slot *s = &ds->slots[i];
        ooc_csv_block_init(&s->blk);
        s->cap_rows = rows;
        s->X = malloc((rows * ds->ncols + 1) * sizeof(double));
        s->y = malloc((rows + 1) * sizeof(double));
        OOC_FAIL_IF(!s->X || !s->y, err, OOC_ERR_NOMEM, "out of memory for row blocks");
    }
    for (int i = 0; i < ds->nthreads; i++) {
        ds->scratch[i] = ooc_model_scratch_new(ds->model);
        OOC_FAIL_IF(!ds->scratch[i], err, OOC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < ds->nthreads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        OOC_FAIL_IF(!arg, err, OOC_ERR_NOMEM, "out of memory");
        arg->ds = ds;
        arg->index = i;
        if (pthread_create(&ds->threads[i], NULL, worker_main, arg) != 0) {
            free(arg);
            OOC_FAIL_IF(true, err, OOC_ERR_INTERNAL, "cannot start worker thread");
        }
        ds->threads_started++;
    }
out:
    return status;
}

ooc_status ooc_design_stream_open(const ooc_design_stream_options *o, ooc_design_stream **out,
                                  ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    ooc_design_stream *ds = calloc(1, sizeof *ds);
    if (!ds)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    ds->opts = *o;
    if (!ds->opts.block_records)
        ds->opts.block_records = 32768;
    ds->nthreads = o->nthreads > 0 ? o->nthreads : online_cpus();
    ds->nslots = 2 * ds->nthreads + 2;
    ds->delivered_slot = -1;
    pthread_mutex_init(&ds->mu, NULL);
    pthread_cond_init(&ds->work_cv, NULL);
    pthread_cond_init(&ds->done_cv, NULL);

    OOC_FAIL_IF(!o->csv_path || !o->formula, err, OOC_ERR_INVALID_ARG,
                "a CSV path and a formula are required");
    ooc_csv_reader_options ro = {.delimiter = o->csv.delimiter ? o->csv.delimiter : ',',
                                 .block_records = ds->opts.block_records,
                                 .cancel = o->cancel,
                                 .log = o->log};
    OOC_CHECK(ooc_csv_open(o->csv_path, &ro, &ds->reader, err));
    OOC_CHECK(prepare_model(ds, err));

    ds->slots = calloc((size_t)ds->nslots, sizeof *ds->slots);
    ds->threads = calloc((size_t)ds->nthreads, sizeof *ds->threads);
    ds->scratch = calloc((size_t)ds->nthreads, sizeof *ds->scratch);
    OOC_FAIL_IF(!ds->slots || !ds->threads || !ds->scratch, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(start_workers(ds, err));
    *out = ds;
out:
    if (status != OOC_OK)
        ooc_design_stream_close(ds);
    return status;
}

const ooc_model *ooc_design_stream_model(const ooc_design_stream *ds) { return ds->model; }

size_t ooc_design_stream_block_rows(const ooc_design_stream *ds) { return ds->opts.block_records; }

/* Index of the in-flight slot holding sequence number `seq`, or -1. */
static int slot_with_seq(const ooc_design_stream *ds, uint64_t seq)
{
    for (int i = 0; i < ds->nslots; i++)
        if (ds->slots[i].state != SLOT_FREE && ds->slots[i].seq == seq)
            return i;
    return -1;
}

static int free_slot(const ooc_design_stream *ds)
{
    for (int i = 0; i < ds->nslots; i++)
        if (ds->slots[i].state == SLOT_FREE)
            return i;
    return -1;
}

/* Tokenize the next block into free slot `i` and queue it (caller holds no lock). */
static ooc_status submit_block(ooc_design_stream *ds, int i, ooc_error *err)
{
    slot *s = &ds->slots[i];
    uint64_t bytes_before = ooc_csv_bytes_read(ds->reader);
    ooc_trace_token span = ooc_trace_begin(ds->opts.trace, OOC_STAGE_CSV_TOKENIZE);
    ooc_status status = ooc_csv_next_block(ds->reader, &s->blk, err);
    if (status != OOC_OK)
        return status;
    ooc_trace_end_bytes(ds->opts.trace, span, ooc_csv_bytes_read(ds->reader) - bytes_before);
    if (s->blk.nrecords == 0) {
        ds->eof = true;
        return OOC_OK;
    }
    ds->records += s->blk.nrecords;
    pthread_mutex_lock(&ds->mu);
    s->seq = ds->next_submit_seq++;
    s->state = SLOT_PENDING;
    pthread_cond_signal(&ds->work_cv);
    pthread_mutex_unlock(&ds->mu);
    return OOC_OK;
}

/* Add slot s's non-finite values to the pass's, describing each column's
 * first one while its record is at hand (for the columns to be named). */
static ooc_status merge_nonfinite(ooc_design_stream *ds, const slot *s, ooc_error *err)
{
    if (ds->nf_reported || s->nf.n == 0)
        return OOC_OK;
    if (!ds->nf_index) {
        ds->nf_index = malloc((ds->ncols + 1) * sizeof *ds->nf_index);
        if (!ds->nf_index)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        for (size_t c = 0; c <= ds->ncols; c++)
            ds->nf_index[c] = SIZE_MAX;
    }
    for (size_t i = 0; i < s->nf.n; i++) {
        const ooc_nonfinite_entry *e = &s->nf.items[i];
        if (ds->nf_index[e->column] != SIZE_MAX) {
            ds->nf_cols[ds->nf_index[e->column]].count += e->count;
            continue;
        }
        if (ds->nf_n == ds->nf_cap) {
            size_t ncap = ds->nf_cap ? 2 * ds->nf_cap : 16;
            nonfinite_column *bigger = realloc(ds->nf_cols, ncap * sizeof *bigger);
            if (!bigger)
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
            ds->nf_cols = bigger;
            ds->nf_cap = ncap;
        }
        nonfinite_column *c = &ds->nf_cols[ds->nf_n];
        *c = (nonfinite_column){e->column, e->count, s->blk.line_numbers[e->record], NAN, NULL};
        if (ds->nf_n < NONFINITE_WARNINGS) {
            char what[400];
            if (!ds->nf_scratch && !(ds->nf_scratch = ooc_model_scratch_new(ds->model)))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
            c->value = ooc_model_describe_nonfinite(ds->model, ds->nf_scratch, &s->blk,
                                                    e->record, e->column, what, sizeof what);
            if (!(c->what = strdup(what)))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        ds->nf_index[e->column] = ds->nf_n++;
    }
    return OOC_OK;
}

/* Forget the non-finite values counted so far (a pass that did not finish). */
static void clear_nonfinite(ooc_design_stream *ds)
{
    for (size_t i = 0; i < ds->nf_n; i++) {
        ds->nf_index[ds->nf_cols[i].column] = SIZE_MAX;
        free(ds->nf_cols[i].what);
    }
    ds->nf_n = 0;
}

/* The warnings about the pass's non-finite values, through the caller's sink. */
static void report_nonfinite(ooc_design_stream *ds)
{
    const char *path = ds->opts.csv_path;
    for (size_t i = 0; i < ds->nf_n && i < NONFINITE_WARNINGS; i++) {
        const nonfinite_column *c = &ds->nf_cols[i];
        const char *value = isnan(c->value) ? "nan" : c->value > 0 ? "inf" : "-inf";
        const char *plural = c->count == 1 ? "" : "s";
        if (c->column < ds->ncols)
            ooc_log(&ds->opts.log, OOC_LOG_WARNING,
                    "%s, line %llu: column '%s' of X is %s, from %s (%llu non-finite value%s in "
                    "this column)",
                    path, (unsigned long long)c->line,
                    ooc_model_column_name(ds->model, c->column), value, c->what,
                    (unsigned long long)c->count, plural);
        else
            ooc_log(&ds->opts.log, OOC_LOG_WARNING,
                    "%s, line %llu: the response '%s' is %s, from %s (%llu non-finite value%s)",
                    path, (unsigned long long)c->line, ooc_model_response_name(ds->model), value,
                    c->what, (unsigned long long)c->count, plural);
    }
    if (ds->nf_n > NONFINITE_WARNINGS)
        ooc_log(&ds->opts.log, OOC_LOG_WARNING, "%s: %zu more columns have non-finite values",
                path, ds->nf_n - NONFINITE_WARNINGS);
    ds->nf_reported = true;
}

ooc_status ooc_design_stream_next(ooc_design_stream *ds, ooc_design_rows *rows, bool *done,
                                  ooc_error *err)
{
    memset(rows, 0, sizeof *rows);
    *done = false;
    if (ds->delivered_slot >= 0) {
        pthread_mutex_lock(&ds->mu);
        ds->slots[ds->delivered_slot].state = SLOT_FREE;
        pthread_mutex_unlock(&ds->mu);
        ds->delivered_slot = -1;
    }
    for (;;) {
        if (cancelled(ds))
            return OOC_FAIL(err, OOC_ERR_INTERRUPTED, "interrupted");
        pthread_mutex_lock(&ds->mu);
        int i = slot_with_seq(ds, ds->next_deliver_seq);
        bool ready = i >= 0 && ds->slots[i].state == SLOT_DONE;
        int f = free_slot(ds);
        pthread_mutex_unlock(&ds->mu);

        if (ready) {
            slot *s = &ds->slots[i];
            ds->next_deliver_seq++;
            if (s->status != OOC_OK) {
                if (err)
                    *err = s->err;
                return s->status;
            }
            ds->rows_dropped += s->ndropped;
            ooc_status st = merge_nonfinite(ds, s, err);
            if (st != OOC_OK)
                return st;
            if (s->nrows == 0) { /* every row dropped: nothing to hand out */
                pthread_mutex_lock(&ds->mu);
                s->state = SLOT_FREE;
                pthread_mutex_unlock(&ds->mu);
                continue;
            }
            ds->delivered_slot = i;
            rows->X = s->X;
            rows->y = ds->has_y ? s->y : NULL;
            rows->nrows = s->nrows;
            rows->ncols = ds->ncols;
            return OOC_OK;
        }
        if (f >= 0 && !ds->eof) {
            ooc_status st = submit_block(ds, f, err);
            if (st != OOC_OK)
                return st;
            continue;
        }
        if (i < 0 && ds->eof) {
            if (!ds->nf_reported)
                report_nonfinite(ds);
            *done = true;
            return OOC_OK;
        }
        /* Wait for the oldest block to finish evaluating. */
        if (i < 0)
            return OOC_FAIL(err, OOC_ERR_INTERNAL, "design stream lost block %llu",
                            (unsigned long long)ds->next_deliver_seq);
        pthread_mutex_lock(&ds->mu);
        while (ds->slots[i].state != SLOT_DONE)
            pthread_cond_wait(&ds->done_cv, &ds->mu);
        pthread_mutex_unlock(&ds->mu);
    }
}

bool ooc_design_stream_nonfinite_origin(const ooc_design_stream *ds, size_t column, char *buf,
                                        size_t size)
{
    if (ds->nf_reported || !ds->nf_index || column > ds->ncols ||
        ds->nf_index[column] == SIZE_MAX)
        return false;
    const nonfinite_column *c = &ds->nf_cols[ds->nf_index[column]];
    snprintf(buf, size, "%s, line %llu%s%s%s", ds->opts.csv_path, (unsigned long long)c->line,
             c->what ? " (from " : "", c->what ? c->what : "", c->what ? ")" : "");
    return true;
}

void ooc_design_stream_get_progress(const ooc_design_stream *ds, ooc_design_stream_progress *p)
{
    p->records = ds->records;
    p->rows_dropped = ds->rows_dropped;
    p->bytes_read = ooc_csv_bytes_read(ds->reader);
    p->file_size = ooc_csv_file_size(ds->reader);
}

ooc_status ooc_design_stream_rewind(ooc_design_stream *ds, ooc_error *err)
{
    /* Let in-flight evaluations finish, then forget them. */
    pthread_mutex_lock(&ds->mu);
    for (int i = 0; i < ds->nslots; i++) {
        while (ds->slots[i].state == SLOT_PENDING || ds->slots[i].state == SLOT_RUNNING)
            pthread_cond_wait(&ds->done_cv, &ds->mu);
        ds->slots[i].state = SLOT_FREE;
    }
    pthread_mutex_unlock(&ds->mu);
    ds->delivered_slot = -1;
    ds->next_submit_seq = ds->next_deliver_seq = 0;
    ds->eof = false;
    ds->records = ds->rows_dropped = 0;
    if (!ds->nf_reported)
        clear_nonfinite(ds);
    return ooc_csv_rewind(ds->reader, err);
}

void ooc_design_stream_close(ooc_design_stream *ds)
{
    if (!ds)
        return;
    pthread_mutex_lock(&ds->mu);
    ds->stop = true;
    pthread_cond_broadcast(&ds->work_cv);
    pthread_mutex_unlock(&ds->mu);
    for (int i = 0; i < ds->threads_started; i++)
        pthread_join(ds->threads[i], NULL);
    if (ds->scratch)
        for (int i = 0; i < ds->nthreads; i++)
            ooc_model_scratch_free(ds->scratch[i]);
    if (ds->slots)
        for (int i = 0; i < ds->nslots; i++) {
            ooc_csv_block_free(&ds->slots[i].blk);
            ooc_nonfinite_free(&ds->slots[i].nf);
            free(ds->slots[i].X);
            free(ds->slots[i].y);
        }
    for (size_t i = 0; i < ds->nf_n; i++)
        free(ds->nf_cols[i].what);
    free(ds->nf_cols);
    free(ds->nf_index);
    ooc_model_scratch_free(ds->nf_scratch);
    free(ds->slots);
    free(ds->threads);
    free(ds->scratch);
    ooc_model_free(ds->model);
    ooc_csv_close(ds->reader);
    pthread_mutex_destroy(&ds->mu);
    pthread_cond_destroy(&ds->work_cv);
    pthread_cond_destroy(&ds->done_cv);
    free(ds);
}
