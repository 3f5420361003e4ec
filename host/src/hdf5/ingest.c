/* ingest.c — ooc_ingest: CSV + formula -> design stream -> HDF5 writer. */
#include "csv/design_stream.h"
#include "base/clock.h"
#include "base/error.h"
#include "hdf5/h5write.h"
#include "profile/progress.h"
#include "profile/trace.h"

#include <stdlib.h>
#include <string.h>

void ooc_ingest_options_init(ooc_ingest_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->csv.delimiter = ',';
    opts->compression_level = 1;
    opts->shuffle = true;
}

ooc_status ooc_ingest(const ooc_ingest_options *opts, ooc_ingest_stats *stats, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    double t0 = ooc_clock_seconds();
    ooc_design_stream *ds = NULL;
    ooc_h5_writer *writer = NULL;
    const char **names = NULL;
    uint64_t rows_written = 0;
    ooc_codec codec;

    OOC_FAIL_IF(!opts->csv_path || !opts->formula || !opts->output_path, err,
                OOC_ERR_INVALID_ARG, "ingest needs an input CSV, a formula and an output path");
    OOC_FAIL_IF(opts->compression_level < 0 || opts->compression_level > 9, err,
                OOC_ERR_INVALID_ARG, "compression level must be 0..9, got %d",
                opts->compression_level);
    OOC_CHECK(ooc_codec_parse(opts->codec, &codec, err));

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
    };
    OOC_CHECK(ooc_design_stream_open(&so, &ds, err));
    const ooc_model *model = ooc_design_stream_model(ds);
    size_t p = ooc_model_ncols(model);
    OOC_FAIL_IF(p == 0, err, OOC_ERR_FORMULA, "formula '%s' gives a design with no columns",
                opts->formula);
    names = malloc(p * sizeof *names);
    OOC_FAIL_IF(!names, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < p; j++)
        names[j] = ooc_model_column_name(model, j);

    ooc_h5_writer_options wo = {
        .path = opts->output_path,
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
        .trace = opts->trace,
    };
    OOC_CHECK(ooc_h5w_create(&wo, &writer, err));

    ooc_trace_set_meta(opts->trace, "csv", "%s", opts->csv_path);
    ooc_trace_set_meta(opts->trace, "formula", "%s", opts->formula);
    ooc_trace_set_meta(opts->trace, "output", "%s", opts->output_path);
    ooc_trace_set_meta(opts->trace, "p", "%zu", p);
    ooc_trace_set_meta(opts->trace, "threads", "%d", opts->nthreads);
    ooc_trace_set_meta(opts->trace, "compression_level", "%d", opts->compression_level);
    ooc_trace_set_meta(opts->trace, "codec", "%s",
                       opts->codec && *opts->codec ? opts->codec : "deflate");
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
        OOC_CHECK(ooc_h5w_append(writer, rows.X, rows.y, rows.nrows, err));
        rows_written += rows.nrows;
        ooc_design_stream_progress now;
        ooc_design_stream_get_progress(ds, &now);
        ooc_progress_add(opts->progress, rows.nrows, now.bytes_read - bytes_reported);
        bytes_reported = now.bytes_read;
    }

    ooc_h5_write_stats ws;
    ooc_h5_writer *committing = writer;
    writer = NULL; /* commit frees the writer on every path */
    ooc_trace_token commit_span = ooc_trace_begin(opts->trace, OOC_STAGE_WRITE_OUTPUT);
    OOC_CHECK(ooc_h5w_commit(committing, &ws, err));
    ooc_trace_end_bytes(opts->trace, commit_span, ws.stored_bytes);
    ooc_trace_set_meta(opts->trace, "rows", "%llu", (unsigned long long)rows_written);

    if (stats) {
        ooc_design_stream_progress prog;
        ooc_design_stream_get_progress(ds, &prog);
        stats->rows_read = prog.records;
        stats->rows_dropped = prog.rows_dropped;
        stats->rows_written = rows_written;
        stats->ncols = p;
        stats->bytes_in = prog.bytes_read;
        stats->bytes_out = ws.stored_bytes;
        stats->seconds = ooc_clock_seconds() - t0;
    }
out:
    ooc_h5w_abort(writer);
    free(names);
    ooc_design_stream_close(ds);
    return status;
}
