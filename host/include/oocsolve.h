/*
 * oocsolve.h — public interface of liboocsolve.
 *
 * oocsolve turns CSV files plus a patsy-compatible formula into chunked,
 * compressed HDF5 design matrices, and fits least-squares models / computes
 * SVDs of design matrices far larger than memory by streaming them.
 *
 * Conventions (every function follows them):
 *  - Functions return an ooc_status; OOC_OK (0) is success.
 *  - Functions that can fail take an `ooc_error *err` last.  On failure the
 *    library writes a human-readable message into it (file, row, column or
 *    dataset and chunk where they apply).  `err` may be NULL.
 *  - The library never prints and never exits; diagnostics that are not
 *    errors (notes, warnings) go to the caller's log sink, if one is given.
 *  - Objects are freed with their *_free function; *_free(NULL) is a no-op.
 */
#ifndef OOCSOLVE_H
#define OOCSOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes.  Numbers are stable; new codes are only ever appended. */
typedef enum ooc_status {
    OOC_OK = 0,
    OOC_ERR_NOMEM = 1,        /* allocation failed */
    OOC_ERR_IO = 2,           /* open/read/write/rename failed */
    OOC_ERR_CSV = 3,          /* malformed CSV: ragged row, unterminated quote, bad header */
    OOC_ERR_FORMULA = 4,      /* formula syntax error or unknown name */
    OOC_ERR_DATA = 5,         /* a value does not fit the model: non-numeric, missing, unknown level, NaN/Inf */
    OOC_ERR_HDF5 = 6,         /* an HDF5 library call failed or the file does not have the expected layout */
    OOC_ERR_CORRUPT = 7,      /* compressed chunk fails to decode, checksum mismatch, truncated file */
    OOC_ERR_INVALID_ARG = 8,  /* caller passed an invalid option */
    OOC_ERR_NUMERIC = 9,      /* factorisation failed (not positive definite, no convergence) */
    OOC_ERR_BACKEND = 10,     /* compute backend (CUDA/cuBLAS/cuSOLVER) failure */
    OOC_ERR_UNSUPPORTED = 11, /* valid request that this build cannot do */
    OOC_ERR_INTERRUPTED = 12, /* the caller's cancel flag was raised */
    OOC_ERR_INTERNAL = 13     /* a bug: an invariant did not hold */
} ooc_status;

/* Short constant description of a status ("out of memory", ...).  Never NULL. */
const char *ooc_strerror(ooc_status status);

/* Error detail filled in by a failing call. */
typedef struct ooc_error {
    ooc_status status;
    char message[1536];
} ooc_error;

/* Severity of a log message passed to a log sink. */
typedef enum ooc_log_level { OOC_LOG_DEBUG = 0, OOC_LOG_NOTE = 1, OOC_LOG_WARNING = 2 } ooc_log_level;

/* Caller-chosen log sink.  Called from the thread that calls the library
 * function (never from internal worker threads).  `message` has no trailing
 * newline and is only valid during the call. */
typedef void (*ooc_log_fn)(void *user_data, ooc_log_level level, const char *message);

typedef struct ooc_log_sink {
    ooc_log_fn fn;   /* NULL: messages are dropped */
    void *user_data;
} ooc_log_sink;

/* A named value usable inside the formula, e.g. levels=lnames.  `value` is a
 * Python-like literal list such as "[0, 1, 2]" or "['a', 'b']". */
typedef struct ooc_formula_var {
    const char *name;
    const char *value;
} ooc_formula_var;

/* A column's type as the caller pins it (pandas' dtype=): numeric (float,
 * int) or categorical (str, object, category).  Unpinned columns are inferred. */
typedef enum ooc_column_type { OOC_COLUMN_NUMERIC = 1, OOC_COLUMN_CATEGORICAL = 2 } ooc_column_type;

typedef struct ooc_column_dtype {
    const char *column;          /* a name in the CSV header */
    ooc_column_type type;
} ooc_column_dtype;

/* Options for reading CSV files (shared by ingest and fit-from-CSV). */
typedef struct ooc_csv_settings {
    char delimiter;              /* default ',' */
    const char *const *na_values;/* more strings that mean "missing", added to pandas' default
                                  * list (keep_default_na=True); may be NULL */
    size_t n_na_values;
    bool no_default_na;          /* true: na_values alone mean missing (keep_default_na=False) */
    bool missing_is_error;       /* false (default): drop rows with a missing value, as patsy does */
    const ooc_column_dtype *dtypes; /* pinned column types; a name not in the header is an
                                     * OOC_ERR_INVALID_ARG error */
    size_t ndtypes;
} ooc_csv_settings;

/* Statistics of one ingest. */
typedef struct ooc_ingest_stats {
    uint64_t rows_read;          /* data records in the CSV */
    uint64_t rows_written;       /* rows of the design matrix */
    uint64_t rows_dropped;       /* rows dropped for missing values */
    size_t ncols;                /* columns of X */
    uint64_t bytes_in;           /* CSV bytes read */
    uint64_t bytes_out;          /* compressed chunk bytes written */
    double seconds;              /* wall time */
} ooc_ingest_stats;

/* Instrumentation created by the caller (host/src/trace.h: profile spans and
 * counters; host/src/progress.h: live status line); opaque here.  Options
 * take them as pointers that may be NULL. */
typedef struct ooc_trace ooc_trace;
typedef struct ooc_progress ooc_progress;

typedef struct ooc_ingest_options {
    const char *csv_path;        /* input CSV (required) */
    const char *formula;         /* "y ~ terms" or "terms" (required) */
    const char *output_path;     /* HDF5 file to create (required); replaced atomically */
    const ooc_formula_var *vars; /* named values for the formula */
    size_t nvars;
    ooc_csv_settings csv;
    int compression_level;       /* deflate level 0..9 (0: no deflate); default 1 */
    bool shuffle;                /* byte shuffle before deflate; default true */
    size_t chunk_rows;           /* rows per HDF5 chunk; 0: automatic */
    int nthreads;                /* worker threads; 0: number of online CPUs */
    size_t max_levels;           /* refuse a categorical with more levels; 0 (default): no limit */
    bool durable;                /* fsync the output before renaming it into place (default false) */
    const volatile int *cancel;  /* if non-NULL and becomes non-zero, stop with OOC_ERR_INTERRUPTED */
    ooc_log_sink log;
    ooc_trace *trace;            /* records stage spans and run parameters; NULL: none */
    ooc_progress *progress;      /* counts rows and bytes for a status line; NULL: none */
} ooc_ingest_options;

/* Fill `opts` with defaults (all pointers NULL). */
void ooc_ingest_options_init(ooc_ingest_options *opts);

/* Read a CSV, evaluate the formula, write /X (and /Y when the formula has a
 * response) to opts->output_path.  The file is written under a temporary
 * name in the same directory and renamed into place only on success; on any
 * failure nothing is left behind and an existing file is untouched.
 * `stats` may be NULL. */
ooc_status ooc_ingest(const ooc_ingest_options *opts, ooc_ingest_stats *stats, ooc_error *err);

/* Version string, e.g. "0.1.0". */
const char *ooc_version(void);

#ifdef __cplusplus
}
#endif
#endif /* OOCSOLVE_H */
