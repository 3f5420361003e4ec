/*
 * ingest.c — ooc_ingest: CSV + formula -> design stream -> HDF5 writer.
 *
 * One process writes OUT.  Several processes (opts->collective) each write
 * their share of the records (the design stream's split, csv_split.h) as a
 * part, OUT.part-K-of-N.h5 (K from 1, as wide as N), a file like the one
 * process's with the serial chunking, and process 0 writes OUT: /X and /Y
 * virtual datasets joining the parts in order (ooc_h5_join_write).  Every
 * file is written under a temporary name; once all are complete the parts
 * are renamed into place, then OUT, each step agreed between the processes,
 * and a failure at any step removes what was renamed (base/collective.h's
 * agreements: no process is left waiting).
 */
#include "csv/design_stream.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/collective.h"
#include "hdf5/h5parts.h"
#include "hdf5/h5write.h"
#include "stream/source.h"
#include "profile/progress.h"
#include "profile/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ooc_ingest_options_init(ooc_ingest_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->csv.delimiter = ',';
    opts->compression_level = 1;
    opts->shuffle = true;
}

/* What one process's part holds, summed over the processes for the stats. */
typedef struct part_counts {
    uint64_t rows_read, rows_written, rows_dropped, bytes_in, bytes_out;
} part_counts;

/* The kept columns' values as stored: numbers as they are, texts as codes
 * in order of first appearance (so the file does not depend on the order in
 * which threads met them). */
typedef struct kept_values {
    size_t n;             /* columns */
    bool *text;           /* per column */
    size_t **code_of_id;  /* per text column: the dictionary id's code, SIZE_MAX: none yet */
    size_t *ids_cap;
    uint64_t **key_of_code; /* per text column: codes -> keys */
    size_t *ncodes, *codes_cap;
    double *values;       /* one block's rows x n */
} kept_values;

static void kept_free(kept_values *kv)
{
    for (size_t k = 0; kv->code_of_id && k < kv->n; k++) {
        free(kv->code_of_id[k]);
        free(kv->key_of_code[k]);
    }
    free(kv->text);
    free(kv->code_of_id);
    free(kv->ids_cap);
    free(kv->key_of_code);
    free(kv->ncodes);
    free(kv->codes_cap);
    free(kv->values);
}

/* Block `rows`'s kept values (keys as the design stream delivers them) into
 * kv->values.  Errors: OOC_ERR_NOMEM. */
static ooc_status kept_convert(kept_values *kv, const ooc_design_rows *rows, ooc_error *err)
{
    const size_t n = kv->n;
    for (size_t i = 0; i < rows->nrows; i++) {
        for (size_t k = 0; k < n; k++) {
            uint64_t key;
            memcpy(&key, &rows->extra[i * n + k], sizeof key);
            if (!kv->text[k]) {
                memcpy(&kv->values[i * n + k], &key, sizeof key);
                continue;
            }
            size_t id = (size_t)(key - OOC_KEY_TEXT_BASE);
            if (id >= kv->ids_cap[k]) {
                size_t cap = kv->ids_cap[k] ? kv->ids_cap[k] : 64;
                while (cap <= id)
                    cap *= 2;
                size_t *grown = realloc(kv->code_of_id[k], cap * sizeof *grown);
                if (!grown)
                    return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for kept texts");
                for (size_t j = kv->ids_cap[k]; j < cap; j++)
                    grown[j] = SIZE_MAX;
                kv->code_of_id[k] = grown;
                kv->ids_cap[k] = cap;
            }
            if (kv->code_of_id[k][id] == SIZE_MAX) {
                if (kv->ncodes[k] == kv->codes_cap[k]) {
                    size_t cap = kv->codes_cap[k] ? 2 * kv->codes_cap[k] : 64;
                    uint64_t *grown = realloc(kv->key_of_code[k], cap * sizeof *grown);
                    if (!grown)
                        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for kept texts");
                    kv->key_of_code[k] = grown;
                    kv->codes_cap[k] = cap;
                }
                kv->key_of_code[k][kv->ncodes[k]] = key;
                kv->code_of_id[k][id] = kv->ncodes[k]++;
            }
            kv->values[i * n + k] = (double)kv->code_of_id[k][id];
        }
    }
    return OOC_OK;
}

/* The kept columns of texts: /keep_levels/NAME.  Errors: the writer's,
 * OOC_ERR_NOMEM. */
static ooc_status kept_levels(const kept_values *kv, const ooc_model *m,
                              const ooc_ingest_options *opts, ooc_h5_writer *writer,
                              ooc_error *err)
{
    ooc_status status = OOC_OK;
    const char **texts = NULL;
    size_t *lens = NULL;
    for (size_t k = 0; k < kv->n; k++) {
        if (!kv->text[k])
            continue;
        size_t n = kv->ncodes[k];
        free(texts);
        free(lens);
        texts = malloc((n ? n : 1) * sizeof *texts);
        lens = malloc((n ? n : 1) * sizeof *lens);
        OOC_FAIL_IF(!texts || !lens, err, OOC_ERR_NOMEM, "out of memory for kept texts");
        for (size_t c = 0; c < n; c++) {
            texts[c] = ooc_model_key_text(m, kv->key_of_code[k][c], &lens[c]);
            OOC_FAIL_IF(!texts[c], err, OOC_ERR_INTERNAL, "a kept text without its key");
        }
        OOC_CHECK(ooc_h5w_put_levels(writer, opts->keep_columns[k], texts, lens, n, err));
    }
out:
    free(texts);
    free(lens);
    return status;
}

/* Every block of the design stream into the writer (kv: the kept columns,
 * n = 0 without). */
static ooc_status write_rows(const ooc_ingest_options *opts, ooc_design_stream *ds,
                             ooc_h5_writer *writer, kept_values *kv, uint64_t *rows_written,
                             ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_design_stream_progress before;
    ooc_design_stream_get_progress(ds, &before);
    ooc_progress_phase(opts->progress, "writing", 0, before.file_size);
    uint64_t bytes_reported = before.bytes_read;
    for (;;) {
        ooc_design_rows rows;
        bool done;
        OOC_CHECK(ooc_design_stream_next(ds, &rows, &done, err));
        if (done)
            break;
        OOC_FAIL_IF(opts->cancel && *opts->cancel, err, OOC_ERR_INTERRUPTED, "interrupted");
        if (kv->n)
            OOC_CHECK(kept_convert(kv, &rows, err));
        OOC_CHECK(ooc_h5w_append_kept(writer, rows.X, rows.y, kv->n ? kv->values : NULL,
                                      rows.nrows, err));
        *rows_written += rows.nrows;
        ooc_design_stream_progress now;
        ooc_design_stream_get_progress(ds, &now);
        ooc_progress_add(opts->progress, rows.nrows, now.bytes_read - bytes_reported);
        bytes_reported = now.bytes_read;
    }
out:
    return status;
}

/* The parts published as opts->output_path (h5parts.h), and every process's
 * counts summed into *total (on every process). */
static ooc_status publish(const ooc_ingest_options *opts, const ooc_collective *c,
                          ooc_h5_writer **writer, const char *part, const part_counts *mine,
                          size_t p, const char *const *names, const char *transforms,
                          bool with_y, part_counts *total, ooc_error *err)
{
    ooc_status status = OOC_OK;
    double sums[5] = {(double)mine->rows_read, (double)mine->rows_written,
                      (double)mine->rows_dropped, (double)mine->bytes_in,
                      (double)mine->bytes_out};
    ooc_h5_parts_options po = {.out = opts->output_path,
                               .part = part,
                               .rows = mine->rows_written,
                               .ncols = p,
                               .with_y = with_y,
                               .formula = opts->formula,
                               .column_names = names,
                               .transforms = transforms,
                               .durable = opts->durable};
    OOC_CHECK(ooc_h5_parts_publish(c, &po, writer, err));
    /* counts below 2^53 add exactly in doubles */
    OOC_CHECK(ooc_coll_sum(c, sums, 5, err));
    *total = (part_counts){(uint64_t)sums[0], (uint64_t)sums[1], (uint64_t)sums[2],
                           (uint64_t)sums[3], (uint64_t)sums[4]};
out:
    return status;
}

ooc_status ooc_ingest(const ooc_ingest_options *opts, ooc_ingest_stats *stats, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK, local = OOC_OK;
    double t0 = ooc_clock_seconds();
    ooc_design_stream *ds = NULL;
    ooc_h5_writer *writer = NULL;
    const char **names = NULL;
    char *part = NULL, *transforms = NULL;
    uint64_t rows_written = 0;
    ooc_codec codec;
    const ooc_collective *c = opts->collective;
    const bool split = ooc_coll_active(c);
    kept_values kv = {0};

    if (!opts->csv_path || !opts->formula || !opts->output_path)
        local = OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                         "ingest needs an input CSV, a formula and an output path");
    else if (opts->compression_level < 0 || opts->compression_level > 9)
        local = OOC_FAIL(err, OOC_ERR_INVALID_ARG, "compression level must be 0..9, got %d",
                         opts->compression_level);
    else if (opts->n_keep && split)
        local = OOC_FAIL(err, OOC_ERR_UNSUPPORTED,
                         "ingest --keep is for one process: the kept texts' codes would have to "
                         "agree across the parts; ingest without MPI");
    else
        local = ooc_codec_parse(opts->codec, &codec, err);
    if (local == OOC_OK && opts->transforms_from)
        local = ooc_h5_read_transforms(opts->transforms_from, &transforms, err);
    OOC_CHECK(ooc_coll_agree(c, local, true, err));

    ooc_design_stream_options so = {
        .csv_path = opts->csv_path,
        .formula = opts->formula,
        .vars = opts->vars,
        .nvars = opts->nvars,
        .csv = opts->csv,
        .nthreads = opts->nthreads,
        .max_levels = opts->max_levels,
        .cancel = opts->cancel,
        .trace = opts->trace,
        .progress = opts->progress,
        .log = opts->log,
        .one_pass = true,
        .transforms = transforms,
        .transforms_source = opts->transforms_from,
        .collective = c,
        .extra_columns = opts->keep_columns,
        .nextra = opts->n_keep,
        .nextra_keys = opts->n_keep,
    };
    OOC_CHECK(ooc_design_stream_open(&so, &ds, err));
    const ooc_model *model = ooc_design_stream_model(ds);
    size_t p = ooc_model_ncols(model);
    local = OOC_OK;
    if (p == 0)
        local = OOC_FAIL(err, OOC_ERR_FORMULA, "formula '%s' gives a design with no columns",
                         opts->formula);
    else if (!(names = malloc(p * sizeof *names)))
        local = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(ooc_coll_agree(c, local, true, err));
    for (size_t j = 0; j < p; j++)
        names[j] = ooc_model_column_name(model, j);
    free(transforms); /* the model's own JSON is stored: the same text when it was given */
    transforms = NULL;
    OOC_CHECK(ooc_coll_agree(c, ooc_model_transforms_json(model, &transforms, err), true, err));
    if (opts->n_keep) {
        const size_t n = opts->n_keep;
        kv.n = n;
        kv.text = calloc(n, sizeof *kv.text);
        kv.code_of_id = calloc(n, sizeof *kv.code_of_id);
        kv.ids_cap = calloc(n, sizeof *kv.ids_cap);
        kv.key_of_code = calloc(n, sizeof *kv.key_of_code);
        kv.ncodes = calloc(n, sizeof *kv.ncodes);
        kv.codes_cap = calloc(n, sizeof *kv.codes_cap);
        kv.values = malloc(ooc_design_stream_block_rows(ds) * n * sizeof *kv.values);
        OOC_FAIL_IF(!kv.text || !kv.code_of_id || !kv.ids_cap || !kv.key_of_code || !kv.ncodes ||
                        !kv.codes_cap || !kv.values,
                    err, OOC_ERR_NOMEM, "out of memory");
        for (size_t k = 0; k < n; k++)
            kv.text[k] = ooc_model_key_is_text(model, k);
    }

    if (split && !(part = ooc_h5_part_path(opts->output_path, c->rank, c->size)))
        local = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    ooc_h5_writer_options wo = {
        .path = split ? part : opts->output_path,
        .ncols = p,
        .with_y = ooc_model_has_response(model),
        .chunk_rows = opts->chunk_rows,
        .level = opts->compression_level,
        .shuffle = opts->shuffle,
        .codec = codec,
        .nthreads = opts->nthreads,
        .durable = opts->durable,
        .formula = opts->formula,
        .column_names = names,
        .transforms = transforms,
        .nkeep = opts->n_keep,
        .keep_names = opts->keep_columns,
        .trace = opts->trace,
    };
    if (local == OOC_OK)
        local = ooc_h5w_create(&wo, &writer, err);
    /* the processes create their parts side by side: a failure (a directory that cannot be
     * written) is usually everyone's */
    OOC_CHECK(ooc_coll_agree(c, local, true, err));

    ooc_trace_set_meta(opts->trace, "csv", "%s", opts->csv_path);
    ooc_trace_set_meta(opts->trace, "formula", "%s", opts->formula);
    ooc_trace_set_meta(opts->trace, "output", "%s", wo.path);
    ooc_trace_set_meta(opts->trace, "p", "%zu", p);
    ooc_trace_set_meta(opts->trace, "threads", "%d", opts->nthreads);
    ooc_trace_set_meta(opts->trace, "compression_level", "%d", opts->compression_level);
    ooc_trace_set_meta(opts->trace, "codec", "%s",
                       opts->codec && *opts->codec ? opts->codec : "deflate");
    local = write_rows(opts, ds, writer, &kv, &rows_written, err);
    if (local == OOC_OK)
        local = kept_levels(&kv, model, opts, writer, err);

    ooc_h5_write_stats ws = {0};
    ooc_trace_token commit_span = ooc_trace_begin(opts->trace, OOC_STAGE_WRITE_OUTPUT);
    if (local == OOC_OK)
        local = ooc_h5w_finish(writer, &ws, err);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    ooc_design_stream_progress prog;
    ooc_design_stream_get_progress(ds, &prog);
    part_counts mine = {prog.records, rows_written, prog.rows_dropped, prog.bytes_read,
                        ws.stored_bytes},
                total = mine;
    if (split) {
        OOC_CHECK(publish(opts, c, &writer, part, &mine, p, names, transforms, wo.with_y, &total,
                          err));
    } else {
        ooc_h5_writer *committing = writer;
        writer = NULL; /* commit frees the writer on every path */
        OOC_CHECK(ooc_h5w_commit(committing, NULL, err));
    }
    ooc_trace_end_bytes(opts->trace, commit_span, ws.stored_bytes);
    ooc_trace_set_meta(opts->trace, "rows", "%llu", (unsigned long long)rows_written);

    if (stats) {
        stats->rows_read = total.rows_read;
        stats->rows_dropped = total.rows_dropped;
        stats->rows_written = total.rows_written;
        stats->ncols = p;
        stats->bytes_in = total.bytes_in;
        stats->bytes_out = total.bytes_out;
        stats->seconds = ooc_clock_seconds() - t0;
    }
out:
    ooc_h5w_abort(writer);
    free(part);
    free(names);
    free(transforms);
    ooc_design_stream_close(ds);
    kept_free(&kv);
    return status;
}
