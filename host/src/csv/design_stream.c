/*
 * design_stream.c — ordered parallel evaluation of a formula over CSV blocks.
 *
 * The caller's thread tokenizes records into the ordered pool's free slots
 * (tokenizing must be sequential: quoted newlines make record boundaries
 * depend on everything before them); the pool's workers evaluate them, oldest
 * first; the caller receives them strictly in sequence order
 * (base/ordered_pool.h).  The caller's thread is both the pool's producer and
 * its consumer, so it never blocks on a slot: it delivers a finished block,
 * else tokenizes into a free slot, else waits for the oldest block.
 *
 * Each block's counts of non-finite values come back with it and are merged
 * on the caller's thread in file order, so the first line of each column is
 * the first in the file; the text of a warning is made then, from the
 * block's records, only for the columns that will be named.
 *
 * Several processes (options.collective) each open the file, agree on their
 * shares (csv_split.h), bind the formula to the file's first block, scan
 * their own records for levels and merge the scans (base/collective.h), then read
 * their own records only; every step that can fail ends in an agreement.
 */
#include "csv/design_stream.h"

#include "csv/csv.h"
#include "base/collective.h"
#include "csv/csv_split.h"
#include "base/error.h"
#include "base/ordered_pool.h"
#include "profile/progress.h"
#include "profile/trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block in flight: the records, then (once evaluated) their rows. */
typedef struct slot {
    ooc_csv_block blk;
    double *X;            /* the rows (augmented: [X y extra...]) */
    double *y;            /* y, when not augmented (NULL otherwise) */
    double *extra;        /* the extra columns, when not augmented (NULL otherwise) */
    ooc_model_rows out;   /* where evaluation writes into X and y */
    size_t nrows;
    size_t ndropped;
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
    size_t ld;            /* doubles per row in a slot's X */

    slot *slots;
    int nslots;
    ooc_model_scratch **scratch; /* one per worker */
    int nthreads;
    ooc_ordered_pool *pool;

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

/* The pool's worker start: name the thread's trace lane. */
static void name_worker(void *ctx, int worker)
{
    ooc_design_stream *ds = ctx;
    char name[32];
    snprintf(name, sizeof name, "formula eval %d", worker + 1);
    ooc_trace_name_thread(ds->opts.trace, name);
}

/* The pool's job: evaluate the design on the records of a slot. */
static ooc_status eval_slot(void *ctx, int worker, int i, uint64_t seq, ooc_error *err)
{
    ooc_design_stream *ds = ctx;
    slot *s = &ds->slots[i];
    (void)seq;
    ooc_trace_token span = ooc_trace_begin(ds->opts.trace, OOC_STAGE_FORMULA_EVAL);
    ooc_status status = ooc_model_eval_rows(ds->model, ds->scratch[worker], &s->blk, &s->out,
                                            &s->nrows, &s->ndropped, &s->nf, err);
    ooc_trace_end(ds->opts.trace, span);
    return status;
}

static bool cancelled(const ooc_design_stream *ds)
{
    return ds->opts.cancel && *ds->opts.cancel;
}

/* Read every block once to collect categorical levels and memorize the
 * stateful transforms' arguments (whichever the model needs), then rewind. */
static ooc_status scan_records(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_csv_block blk;
    ooc_csv_block_init(&blk);
    ooc_trace *tr = ds->opts.trace;
    bool levels = ooc_model_needs_level_scan(ds->model);
    bool memorize = ooc_model_needs_memorize(ds->model);
    ooc_progress_phase(ds->opts.progress,
                       levels && memorize ? "scanning levels, learning transforms"
                       : levels           ? "scanning levels"
                                          : "learning transforms",
                       0, ooc_csv_file_size(ds->reader));
    for (;;) {
        OOC_FAIL_IF(cancelled(ds), err, OOC_ERR_INTERRUPTED, "interrupted while scanning levels");
        uint64_t bytes_before = ooc_csv_bytes_read(ds->reader);
        ooc_trace_token span = ooc_trace_begin(tr, OOC_STAGE_CSV_TOKENIZE);
        OOC_CHECK(ooc_csv_next_block(ds->reader, &blk, err));
        uint64_t nbytes = ooc_csv_bytes_read(ds->reader) - bytes_before;
        ooc_trace_end_bytes(tr, span, nbytes);
        if (blk.nrecords == 0)
            break;
        if (levels) {
            span = ooc_trace_begin(tr, OOC_STAGE_LEVEL_SCAN);
            OOC_CHECK(ooc_model_scan_levels(ds->model, &blk, err));
            ooc_trace_end(tr, span);
        }
        if (memorize) {
            span = ooc_trace_begin(tr, OOC_STAGE_MEMORIZE);
            OOC_CHECK(ooc_model_memorize(ds->model, &blk, err));
            ooc_trace_end(tr, span);
        }
        ooc_progress_add(ds->opts.progress, blk.nrecords, nbytes);
    }
    OOC_CHECK(ooc_csv_rewind(ds->reader, err));
out:
    ooc_csv_block_free(&blk);
    return status;
}

/* Note each stateful transform that left missing arguments out of what it
 * learned (patsy would have learned NaN from them and dropped every row). */
static void note_transform_missing(const ooc_design_stream *ds)
{
    const char *call;
    uint64_t n, missing;
    for (size_t i = 0; ooc_model_transform_info(ds->model, i, &call, &n, &missing); i++)
        if (missing)
            ooc_log(&ds->opts.log, OOC_LOG_NOTE,
                    "%s: %s learned from the %llu rows where its argument is not missing and "
                    "left out %llu where it is (patsy would learn NaN from them and then drop "
                    "every row); those rows are dropped from the design",
                    ds->opts.csv_path, call, (unsigned long long)n, (unsigned long long)missing);
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
 * numbers (patsy's rule, kept): the value, its line, and the levels it now has.
 * Several processes all find the same: process 0 alone warns. */
static void warn_text_categoricals(const ooc_design_stream *ds)
{
    const ooc_collective *c = ds->opts.collective;
    if (ooc_coll_active(c) && c->rank != 0)
        return;
    ooc_model_categorical cat;
    for (size_t i = 0; ooc_model_categorical_info(ds->model, i, &cat); i++)
        if (cat.text)
            ooc_log(&ds->opts.log, OOC_LOG_WARNING,
                    "%s, line %llu, column '%s': %s is not a number, so the column is "
                    "categorical (as pandas and patsy make it), with %zu levels; "
                    "--dtype %s=float makes such a value an error instead",
                    ds->opts.csv_path, (unsigned long long)cat.text_line, cat.column, cat.text,
                    cat.nlevels, cat.column);
}

/* Parse the formula and bind it to the header and the first block of the
 * file (the same on every process). */
static ooc_status bind_model(ooc_design_stream *ds, ooc_error *err)
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
        .extra_columns = o->extra_columns,
        .nextra = o->nextra,
        .nextra_keys = o->nextra_keys,
    };
    OOC_CHECK(ooc_model_bind(ds->model, names, ncsv, &sample, &mo, err));
out:
    free(names);
    ooc_csv_block_free(&sample);
    return status;
}

/* Several processes: every process's levels gathered at process 0, merged
 * there and sent back, so that each has the levels of the whole file. */
static ooc_status merge_levels(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK, local;
    const ooc_collective *c = ds->opts.collective;
    void *mine = NULL, *all = NULL, *merged = NULL;
    size_t nmine = 0, nmerged = 0, *sizes = NULL;
    local = ooc_model_pack_levels(ds->model, &mine, &nmine, err);
    OOC_CHECK(ooc_coll_gather(c, local, mine, nmine, &all, &sizes, err));
    if (c->rank == 0) {
        size_t at = sizes[0];
        for (int k = 1; k < c->size && local == OOC_OK; k++) {
            local = ooc_model_merge_levels(ds->model, (const char *)all + at, sizes[k], err);
            at += sizes[k];
        }
        if (local == OOC_OK)
            local = ooc_model_pack_levels(ds->model, &merged, &nmerged, err);
    }
    OOC_CHECK(ooc_coll_broadcast_bytes(c, local, &merged, &nmerged, err));
    if (c->rank != 0)
        local = ooc_model_merge_levels(ds->model, merged, nmerged, err);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
out:
    free(mine);
    free(all);
    free(sizes);
    free(merged);
    return status;
}

/* Fix the levels and the design's columns (the same on every process). */
static ooc_status finish_model(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_design_stream_options *o = &ds->opts;
    OOC_CHECK(ooc_model_resolve_levels(ds->model, err));
    warn_text_categoricals(ds);
    if (o->max_levels)
        OOC_CHECK(check_max_levels(ds, err));
    ooc_trace_token span = ooc_trace_begin(o->trace, OOC_STAGE_MEMORIZE);
    status = ooc_model_learn(ds->model, err);
    ooc_trace_end(o->trace, span);
    OOC_CHECK(status);
    if (!o->transforms)
        note_transform_missing(ds);
    OOC_CHECK(ooc_model_finish_levels(ds->model, err));
    ds->ncols = ooc_model_ncols(ds->model);
    ds->has_y = ooc_model_has_response(ds->model);
    ds->ld = o->augmented ? ds->ncols + ds->has_y + o->nextra : ds->ncols;
    /* Bound each slot's rows (block_records x (ncols + 1 + nextra) doubles) to about 4 MiB,
     * and use the reader's block size, which it may already have lowered for a wide file. */
    ooc_csv_limit_block_records(ds->reader, (size_t)(1u << 19) / (ds->ncols + 1 + o->nextra));
    ds->opts.block_records = ooc_csv_block_records(ds->reader);
out:
    return status;
}

/* Bind the model to the file's first records, go to this process's records
 * (`share`, or the first of the file), scan them for levels when needed
 * (merged across processes), and fix the design.  With several processes
 * each step ends in an agreement (a failure that every process meets alike
 * reported by process 0 alone). */
static ooc_status prepare_model(ooc_design_stream *ds, const ooc_csv_share *share, ooc_error *err)
{
    ooc_status status = OOC_OK, local;
    const ooc_collective *c = ds->opts.collective;
    local = bind_model(ds, err);
    if (local == OOC_OK && ds->opts.transforms)
        local = ooc_model_load_transforms(ds->model, ds->opts.transforms,
                                          ds->opts.transforms_source, err);
    if (local == OOC_OK && ooc_coll_active(c) && ooc_model_needs_memorize(ds->model))
        local = OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                         "%s: formula '%s' has stateful transforms (center, standardize, bs, "
                         "cr, cc), which learn from the whole file in one process: ingest it "
                         "without mpirun, or give what they learned with --transforms-from "
                         "FILE.h5",
                         ds->opts.csv_path, ds->opts.formula);
    OOC_CHECK(ooc_coll_agree(c, local, true, err));
    local = share ? ooc_csv_restrict(ds->reader, share->begin, share->end, share->line,
                                     c->rank == 0, err)
                  : ooc_csv_rewind(ds->reader, err);
    bool levels = ooc_model_needs_level_scan(ds->model);
    if (local == OOC_OK && (levels || ooc_model_needs_memorize(ds->model)))
        local = scan_records(ds, err);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    if (levels && ooc_coll_active(c))
        OOC_CHECK(merge_levels(ds, err));
    if (ds->opts.one_pass)
        ooc_csv_last_pass(ds->reader); /* no rewind follows: a pipe is not kept any more */
    OOC_CHECK(ooc_coll_agree(c, finish_model(ds, err), true, err));
out:
    return status;
}

static ooc_status start_workers(ooc_design_stream *ds, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t rows = ds->opts.block_records;
    for (int i = 0; i < ds->nslots; i++) {
        slot *s = &ds->slots[i];
        ooc_csv_block_init(&s->blk);
        s->X = malloc((rows * ds->ld + 1) * sizeof(double));
        OOC_FAIL_IF(!s->X, err, OOC_ERR_NOMEM, "out of memory for row blocks");
        if (ds->opts.augmented) {
            s->out = (ooc_model_rows){s->X, ds->ld, s->X + ds->ncols, ds->ld,
                                      s->X + ds->ncols + ds->has_y, ds->ld};
        } else {
            s->y = malloc((rows + 1) * sizeof(double));
            OOC_FAIL_IF(!s->y, err, OOC_ERR_NOMEM, "out of memory for row blocks");
            const size_t ne = ds->opts.nextra;
            s->extra = ne ? malloc(rows * ne * sizeof(double)) : NULL;
            OOC_FAIL_IF(ne && !s->extra, err, OOC_ERR_NOMEM, "out of memory for row blocks");
            s->out = (ooc_model_rows){s->X, ds->ld, s->y, 1, s->extra, ne};
        }
    }
    for (int i = 0; i < ds->nthreads; i++) {
        ds->scratch[i] = ooc_model_scratch_new(ds->model);
        OOC_FAIL_IF(!ds->scratch[i], err, OOC_ERR_NOMEM, "out of memory");
    }
    ooc_ordered_pool_config pc = {
        .nslots = ds->nslots,
        .nworkers = ds->nthreads,
        .ctx = ds,
        .worker_begin = name_worker,
        .process = eval_slot,
    };
    OOC_CHECK(ooc_ordered_pool_create(&pc, &ds->pool, err));
out:
    return status;
}

/* Several processes: this one's share of the records (csv_split.h), the
 * file having been checked to be a plain one first. */
static ooc_status find_share(ooc_design_stream *ds, ooc_csv_share *share, ooc_error *err)
{
    const ooc_collective *c = ds->opts.collective;
    uint64_t offset, line, size = ooc_csv_file_size(ds->reader);
    ooc_csv_data_start(ds->reader, &offset, &line);
    return ooc_csv_split(ds->opts.csv_path, ds->opts.csv.delimiter ? ds->opts.csv.delimiter : ',',
                         offset, line, size, c, ds->opts.cancel, share, err);
}

ooc_status ooc_design_stream_open(const ooc_design_stream_options *o, ooc_design_stream **out,
                                  ooc_error *err)
{
    ooc_status status = OOC_OK, local;
    *out = NULL;
    ooc_design_stream *ds = calloc(1, sizeof *ds);
    if (!ds)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    ds->opts = *o;
    if (!ds->opts.block_records)
        ds->opts.block_records = 32768;
    ds->nthreads = ooc_ordered_pool_default_threads(o->nthreads);
    ds->nslots = 2 * ds->nthreads + 2;
    ds->delivered_slot = -1;
    const ooc_collective *c = o->collective;
    const bool split = ooc_coll_active(c);

    local = OOC_OK;
    if (!o->csv_path || !o->formula)
        local = OOC_FAIL(err, OOC_ERR_INVALID_ARG, "a CSV path and a formula are required");
    else if (split && (!o->one_pass || o->augmented))
        local = OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                         "a CSV split among processes is read once, as X and y (ingest)");
    ooc_csv_reader_options ro = {.delimiter = o->csv.delimiter ? o->csv.delimiter : ',',
                                 .block_records = ds->opts.block_records,
                                 .cancel = o->cancel,
                                 .log = o->log};
    if (local == OOC_OK)
        local = ooc_csv_open(o->csv_path, &ro, &ds->reader, err);
    if (local == OOC_OK && split && ooc_csv_file_size(ds->reader) == 0)
        local = OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                         "'%s' is a pipe or a compressed file, which %d processes cannot split "
                         "among themselves: read it with one process (without mpirun), or "
                         "decompress it to a plain file first",
                         o->csv_path, c->size);
    OOC_CHECK(ooc_coll_agree(c, local, true, err));
    ooc_csv_share share;
    if (split)
        OOC_CHECK(find_share(ds, &share, err));
    OOC_CHECK(prepare_model(ds, split ? &share : NULL, err));

    ds->slots = calloc((size_t)ds->nslots, sizeof *ds->slots);
    ds->scratch = calloc((size_t)ds->nthreads, sizeof *ds->scratch);
    local = ds->slots && ds->scratch ? start_workers(ds, err)
                                     : OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    *out = ds;
out:
    if (status != OOC_OK)
        ooc_design_stream_close(ds);
    return status;
}

const ooc_model *ooc_design_stream_model(const ooc_design_stream *ds) { return ds->model; }

size_t ooc_design_stream_block_rows(const ooc_design_stream *ds) { return ds->opts.block_records; }

/* Tokenize the next block into claimed slot `i` and submit it, or end the
 * pool's pass at the end of the file. */
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
        ooc_ordered_pool_end(ds->pool);
        return OOC_OK;
    }
    ds->records += s->blk.nrecords;
    ooc_ordered_pool_submit(ds->pool, i, OOC_OK, NULL);
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
    ooc_ordered_pool_release(ds->pool, ds->delivered_slot);
    ds->delivered_slot = -1;
    bool wait = false; /* for the oldest block: set when nothing else can be done */
    for (;;) {
        if (cancelled(ds))
            return OOC_FAIL(err, OOC_ERR_INTERRUPTED, "interrupted");
        int i;
        ooc_status st = ooc_ordered_pool_next(ds->pool, wait, &i, NULL, err);
        if (st != OOC_OK)
            return st;
        wait = false;
        if (i >= 0) {
            const slot *s = &ds->slots[i];
            ds->rows_dropped += s->ndropped;
            st = merge_nonfinite(ds, s, err);
            if (st != OOC_OK)
                return st;
            if (s->nrows == 0) { /* every row dropped: nothing to hand out */
                ooc_ordered_pool_release(ds->pool, i);
                continue;
            }
            ds->delivered_slot = i;
            rows->X = s->X;
            rows->y = s->y && ds->has_y ? s->y : NULL;
            rows->extra = s->extra;
            rows->nrows = s->nrows;
            rows->ncols = ds->ncols;
            rows->ld = ds->ld;
            return OOC_OK;
        }
        if (i == OOC_POOL_NO_SLOT) { /* the end of the file, every block delivered */
            if (!ds->nf_reported)
                report_nonfinite(ds);
            *done = true;
            return OOC_OK;
        }
        /* The oldest block is being evaluated: tokenize the next one meanwhile, if a slot is
         * free, else wait for it. */
        int f = OOC_POOL_NO_SLOT;
        if (!ds->eof) {
            st = ooc_ordered_pool_claim(ds->pool, false, &f, NULL, err);
            if (st != OOC_OK)
                return st;
        }
        if (f >= 0) {
            st = submit_block(ds, f, err);
            if (st != OOC_OK)
                return st;
        } else {
            wait = true;
        }
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
    /* Forget the blocks in flight (running evaluations finish first). */
    ooc_ordered_pool_reset(ds->pool);
    ds->delivered_slot = -1;
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
    ooc_ordered_pool_free(ds->pool); /* joins the workers before their slots and scratch go */
    if (ds->scratch)
        for (int i = 0; i < ds->nthreads; i++)
            ooc_model_scratch_free(ds->scratch[i]);
    if (ds->slots)
        for (int i = 0; i < ds->nslots; i++) {
            ooc_csv_block_free(&ds->slots[i].blk);
            ooc_nonfinite_free(&ds->slots[i].nf);
            free(ds->slots[i].X);
            free(ds->slots[i].y);
            free(ds->slots[i].extra);
        }
    for (size_t i = 0; i < ds->nf_n; i++)
        free(ds->nf_cols[i].what);
    free(ds->nf_cols);
    free(ds->nf_index);
    ooc_model_scratch_free(ds->nf_scratch);
    free(ds->slots);
    free(ds->scratch);
    ooc_model_free(ds->model);
    ooc_csv_close(ds->reader);
    free(ds);
}
