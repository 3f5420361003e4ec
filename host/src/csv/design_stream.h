/*
 * design_stream.h — CSV + formula -> design matrix rows, in order, in parallel.
 *
 * Opens the CSV, parses and binds the formula (discovering categorical levels
 * and memorizing what stateful transforms such as center() and bs() learn
 * with an extra pass over the file when needed: one pass for both), then tokenizes
 * blocks of records on the calling thread while worker threads evaluate the
 * design on earlier blocks.  ooc_design_stream_next() hands back evaluated
 * blocks strictly in file order.  Memory is bounded: a fixed number of
 * blocks are in flight.
 *
 * Non-finite values the formula produces (a CSV number beyond double's range,
 * I(a/0), ...) are kept, as pandas and patsy keep them; at the end of the
 * first complete pass the stream warns through the caller's log sink, one
 * warning per column of X (or y) that has any, in order of their first line:
 * the line, the value, the CSV text or expression it came from, and how many
 * the column has (at most 20 such warnings, then one line with the rest).
 *
 * Rows come as X packed with y apart (ingest: rows -> HDF5 writer), or as
 * augmented rows [X y extra...] (the CSV source of fit/svd: its blocks'
 * layout, the weights an extra column).
 */
#ifndef OOC_DESIGN_STREAM_H
#define OOC_DESIGN_STREAM_H

#include "formula/model.h"
#include "oocsolve.h"

typedef struct ooc_design_stream ooc_design_stream;

typedef struct ooc_design_stream_options {
    const char *csv_path;
    const char *formula;
    const ooc_formula_var *vars;
    size_t nvars;
    ooc_csv_settings csv;
    size_t block_records;        /* CSV records per block; 0: 32768 */
    int nthreads;                /* evaluation threads; 0: online CPUs */
    const volatile int *cancel;  /* raise to stop with OOC_ERR_INTERRUPTED */
    ooc_trace *trace;            /* spans: csv tokenize, level scan, formula eval; may be NULL */
    ooc_progress *progress;      /* the level scan reports its pass here; may be NULL */
    size_t max_levels;           /* refuse a categorical with more levels (checked after the
                                  * level scan, before any column is built); 0: no limit */
    ooc_log_sink log;            /* warnings, and the note when a pipe is spooled to $TMPDIR;
                                  * called from the thread calling _open and _next */
    bool one_pass;               /* the caller never calls ooc_design_stream_rewind: a pipe
                                  * (/dev/stdin, a FIFO) is then read once, kept only for the
                                  * level scan when there is one */
    bool augmented;              /* rows [X y extra...] (y when the formula has a response)
                                  * instead of X packed and y apart */
    const char *const *extra_columns; /* CSV columns read as plain numbers after X and y in
                                  * augmented rows (the weights), else apart (rows.extra); a
                                  * row where one is missing is dropped, as for the
                                  * formula's variables */
    size_t nextra;
    const char *transforms;      /* what the formula's stateful transforms learned, as JSON
                                  * (ooc_model_transforms_json of another file: its centres
                                  * and knots are used, nothing is learned here); NULL: they
                                  * learn from this file in the scan pass */
    const char *transforms_source; /* where `transforms` came from, for messages */
    size_t nextra_keys;          /* the last nextra_keys extra columns are group keys, not
                                  * numbers (ooc_model_data_options, OOC_KEY_TEXT_BASE) */
    const ooc_collective *collective; /* one of several processes, each reading its share of
                                  * the records of the same plain file (csv_split.h) with
                                  * the levels of the whole file (every process's gathered
                                  * and merged; warnings that every process would give
                                  * alike come from process 0 only); only with one_pass and
                                  * without augmented.  NULL or one process: the whole file */
} ooc_design_stream_options;

/* Open and prepare (parse, bind, level scan; with a collective, find this
 * process's share first and merge the levels after the scan: every process
 * calls it, and it fails everywhere when it fails anywhere, OOC_ERR_REMOTE
 * where another process reports why).  Errors: those of the CSV reader and
 * the model (OOC_ERR_IO, OOC_ERR_CSV, OOC_ERR_FORMULA, OOC_ERR_DATA),
 * OOC_ERR_DATA for a categorical with more than max_levels levels (naming it,
 * its column and its count), OOC_ERR_INVALID_ARG (extra columns not in the
 * header), OOC_ERR_UNSUPPORTED (a pipe or a
 * compressed file split among processes), OOC_ERR_REMOTE, OOC_ERR_NOMEM. */
ooc_status ooc_design_stream_open(const ooc_design_stream_options *o, ooc_design_stream **out,
                                  ooc_error *err);

/* The bound model (column names, response); owned by the stream. */
const ooc_model *ooc_design_stream_model(const ooc_design_stream *ds);

/* Most rows a block from ooc_design_stream_next can have (bounded so that a
 * block of a wide design stays around 4 MiB). */
size_t ooc_design_stream_block_rows(const ooc_design_stream *ds);

/* A block of evaluated rows; pointers stay valid until the next call to
 * ooc_design_stream_next, rewind or close. */
typedef struct ooc_design_rows {
    const double *X;     /* nrows rows of ld doubles: X's ncols values (then, augmented, y
                          * and the extra columns) */
    const double *y;     /* nrows, or NULL without a response or with augmented rows */
    const double *extra; /* nrows x nextra extra columns (keys as bits, ooc_model.h), or NULL
                          * with augmented rows or none */
    size_t nrows;
    size_t ncols;        /* columns of X */
    size_t ld;           /* doubles from one row to the next: ncols, or augmented
                          * ncols + has_y + nextra */
} ooc_design_rows;

/* Next block in file order; rows->nrows == 0 and *done = true at the end
 * (after the warnings about non-finite values, on the first pass).  Blocks
 * whose rows were all dropped are skipped. */
ooc_status ooc_design_stream_next(ooc_design_stream *ds, ooc_design_rows *rows, bool *done,
                                  ooc_error *err);

/* Where column `column` (of X; ooc_model_ncols of the model: y) got its
 * first non-finite value in the blocks delivered so far of the first pass:
 * writes "FILE, line L (from TEXT)" to buf (truncated to size >= 1 bytes;
 * the text only for the first columns, as in the warnings).  False when
 * there is none or the first pass is over. */
bool ooc_design_stream_nonfinite_origin(const ooc_design_stream *ds, size_t column, char *buf,
                                        size_t size);

/* Progress: records read, rows dropped, CSV bytes consumed, file size. */
typedef struct ooc_design_stream_progress {
    uint64_t records;
    uint64_t rows_dropped;
    uint64_t bytes_read;
    uint64_t file_size;
} ooc_design_stream_progress;
void ooc_design_stream_get_progress(const ooc_design_stream *ds, ooc_design_stream_progress *p);

/* Start another pass over the file (same model, levels already known). */
ooc_status ooc_design_stream_rewind(ooc_design_stream *ds, ooc_error *err);

/* Stop the workers and free everything.  NULL is a no-op. */
void ooc_design_stream_close(ooc_design_stream *ds);

#endif
