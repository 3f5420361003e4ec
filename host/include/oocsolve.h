/*
 * oocsolve.h — public interface of liboocsolve.
 *
 * oocsolve turns CSV files plus a patsy-compatible formula into chunked,
 * compressed HDF5 design matrices, and fits least-squares models / computes
 * SVDs of design matrices far larger than memory by streaming them.
 *
 * Conventions (every function follows them):
 *  - Functions return an ooc_status; OOC_OK (0) is success.
 *  - Functions that can fail take an `ooc_error *err` last.  Each call clears
 *    it first (it need not be initialised); on failure the library writes a
 *    human-readable message into it (file, row, column or dataset and chunk
 *    where they apply).  `err` may be NULL.
 *  - The library never prints and never exits; diagnostics that are not
 *    errors (notes, warnings) go to the caller's log sink, if one is given.
 *  - Objects are freed with their *_free function; *_free(NULL) is a no-op.
 */
#ifndef OOCSOLVE_H
#define OOCSOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oocsolve/export.h"

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
    OOC_ERR_INTERNAL = 13,    /* a bug: an invariant did not hold */
    OOC_ERR_REMOTE = 14       /* another process of a collective fit failed (ooc_collective):
                               * that process reports its own error */
} ooc_status;

/* Short constant description of a status ("out of memory", ...).  Never NULL. */
OOC_API const char *ooc_strerror(ooc_status status);

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

/* Instrumentation created by the caller, opaque here: a trace (the CLI's
 * profile spans and counters, host/src/profile/trace.h) and a progress
 * counter (ooc_progress_counter_create below; the CLI's live status line is
 * the same object).  Options take them as pointers that may be NULL. */
typedef struct ooc_trace ooc_trace;
typedef struct ooc_progress ooc_progress;

typedef struct ooc_ingest_options {
    const char *csv_path;        /* input CSV (required) */
    const char *formula;         /* "y ~ terms" or "terms" (required) */
    const char *output_path;     /* HDF5 file to create (required); replaced atomically */
    const ooc_formula_var *vars; /* named values for the formula */
    size_t nvars;
    ooc_csv_settings csv;
    int compression_level;       /* deflate or blosc level 0..9 (0: no compression); default 1 */
    bool shuffle;                /* byte shuffle before compression; default true */
    size_t chunk_rows;           /* rows per HDF5 chunk; 0: automatic */
    int nthreads;                /* worker threads; 0: number of online CPUs */
    size_t max_levels;           /* refuse a categorical with more levels; 0 (default): no limit */
    bool durable;                /* fsync the output before renaming it into place (default false) */
    const volatile int *cancel;  /* if non-NULL and becomes non-zero, stop with OOC_ERR_INTERRUPTED */
    ooc_log_sink log;
    ooc_trace *trace;            /* records stage spans and run parameters; NULL: none */
    ooc_progress *progress;      /* counts rows and bytes for a status line; NULL: none */
    const char *codec;           /* how chunks are compressed: "deflate" (NULL, the default:
                                  * HDF5's shuffle + deflate filters, readable by any HDF5
                                  * reader) or "blosc:NAME", NAME one of lz4, zstd, blosclz,
                                  * lz4hc, zlib ("blosc" alone: blosclz): HDF5 filter 32001 as
                                  * PyTables writes it, byte shuffle inside blosc, readable by
                                  * PyTables and by h5py with hdf5plugin.  compression_level
                                  * and shuffle apply to either; level 0 stores chunks
                                  * uncompressed whatever the codec.  An unknown name is an
                                  * OOC_ERR_INVALID_ARG error. */
    const struct ooc_collective *collective; /* one of several processes (e.g. MPI ranks)
                                  * ingesting one plain CSV file together: each writes its
                                  * share of the records to output_path less ".h5" plus
                                  * ".part-K-of-N.h5" (K = rank + 1), and process 0 writes
                                  * output_path with /X and /Y as HDF5 virtual datasets
                                  * joining the parts (see ooc_ingest); NULL: alone */
    const char *transforms_from; /* an HDF5 file ingested with the same formula: its stateful
                                  * transforms' centres, scales and knots (center, standardize,
                                  * scale, bs, cr, cc) are used instead of learning them from
                                  * this CSV, so both files' designs agree (and can be fitted
                                  * together); NULL: they learn from this CSV */
    const char *const *keep_columns; /* CSV columns stored besides X and Y, for a later fit's
                                  * cluster covariance (ooc_source_options.keep_columns):
                                  * /keep, n x m float64 chunked and compressed as /X, its
                                  * attribute column_names; a column of numbers holds them,
                                  * a column of texts (one whose first records hold a value
                                  * that is not a number, as pandas types it, unless
                                  * csv.dtypes pins it) codes 0, 1, ... in order of first
                                  * appearance, its texts
                                  * in /keep_levels/NAME (fixed-width byte strings).  A row
                                  * dropped for the formula is dropped here; a kept row
                                  * without a value is OOC_ERR_DATA.  Not with collective */
    size_t n_keep;
} ooc_ingest_options;

/* Fill `opts` with defaults (all pointers NULL: codec deflate). */
OOC_API void ooc_ingest_options_init(ooc_ingest_options *opts);

/* Read a CSV, evaluate the formula, write /X (and /Y when the formula has a
 * response) to opts->output_path.  The file is written under a temporary
 * name in the same directory and renamed into place only on success; on any
 * failure nothing is left behind and an existing file is untouched.
 * `stats` may be NULL.
 *
 * With opts->collective (several processes, every one calling ooc_ingest
 * with the same options): the CSV is split at record boundaries into one
 * share per process; column types come from the file's first records and
 * categorical levels from every process's records, as one process would find
 * them; each process writes its part (a file like the one process's), and
 * process 0 the joining file, whose X and Y are those one process would have
 * written, bit for bit (ooc_source_open reads it with the parts' chunks).
 * The parts are renamed into place, then the joining file, once all are
 * complete; a failure on any process fails every process (OOC_ERR_REMOTE
 * where another process reports why) and leaves no file.  `stats` holds the
 * sums over the processes on every process.  A pipe or a compressed CSV
 * cannot be split (OOC_ERR_UNSUPPORTED). */
OOC_API ooc_status ooc_ingest(const ooc_ingest_options *opts, ooc_ingest_stats *stats, ooc_error *err);

/* ===================================================================== *
 * Sources: where the rows of [X y w] come from.                          *
 * ===================================================================== */

/* Allocator for a source's ring buffers (pinned host memory when a GPU
 * backend is used; ooc_backend_allocator gives the one a backend wants).
 * alloc returns NULL on failure. */
typedef struct ooc_allocator {
    void *(*alloc)(size_t nbytes, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} ooc_allocator;

/* How to open a source (HDF5 file or CSV + formula). */
typedef struct ooc_source_options {
    /* HDF5 */
    const char *x_dataset;        /* default "/X" */
    const char *y_dataset;        /* default "/Y"; ignored when y_column is set */
    const char *y_column;         /* take y from this named column of X (removed from X); NULL: none */
    const char *w_dataset;        /* weights dataset (e.g. "/W"); NULL: none unless w_column */
    const char *w_column;         /* weights from this named column of X (removed from X) */
    bool need_y;                  /* fail when no response is found (fit: true, svd: false) */
    uint64_t row_begin, row_end;  /* read only rows [row_begin, row_end) of the input (of the
                                   * files together, for ooc_source_open_files), numbered from
                                   * 0 as ever; row_end 0: to the end.  HDF5 only (an MPI
                                   * rank's share); a range past the end is OOC_ERR_INVALID_ARG */
    /* CSV (used when the path does not name an HDF5 file) */
    const char *formula;          /* required for CSV */
    const ooc_formula_var *vars;
    size_t nvars;
    ooc_csv_settings csv;
    const char *weights_name;     /* CSV: column holding observation weights */
    size_t max_levels;            /* CSV: refuse a categorical with more levels; 0: no limit */
    /* pipeline */
    size_t block_rows;            /* rows per block; 0: automatic */
    int ring_size;                /* buffers in the ring; 0: automatic (HDF5: threads + 2, CSV: 4) */
    int nthreads;                 /* worker threads; 0: online CPUs */
    ooc_allocator allocator;      /* ring buffer allocator; zeroed: the default (page-aligned heap) */
    const volatile int *cancel;   /* raise to stop with OOC_ERR_INTERRUPTED */
    ooc_log_sink log;
    /* instrumentation (both may be NULL; must outlive the source) */
    ooc_trace *trace;             /* HDF5: spans chunk read ("hdf5 reader" thread), decompress,
                                   * unshuffle ("decode N" threads), counters "ring buffers in
                                   * use" and "bytes read"; CSV: the design stream's spans */
    ooc_progress *progress;       /* CSV: the level-scan pass reports here (the caller reports
                                   * the blocks it consumes) */
    /* group keys (fit's and glm's cluster covariance) */
    const char *const *keep_columns; /* columns delivered with every row besides [X y w], as
                                   * group keys (numbers, or texts compared as texts): CSV:
                                   * any header column (not necessarily in the formula; a
                                   * row kept for the fit that misses one is OOC_ERR_DATA);
                                   * HDF5: the columns of /keep that `ingest --keep` wrote.
                                   * A column of texts cannot be kept across several files
                                   * (each numbers its texts; OOC_ERR_UNSUPPORTED) */
    size_t n_keep;
    const char *transforms_from;  /* CSV: an HDF5 file ingested with the same formula: its
                                   * stateful transforms' centres, scales and knots (center,
                                   * standardize, scale, bs, cr, cc) are used instead of
                                   * learning them from the CSV, as ooc_ingest_options'
                                   * (a value outside a spline's knots: OOC_ERR_DATA naming
                                   * the line).  A file holding none, or another formula's,
                                   * is OOC_ERR_INVALID_ARG, and so is an HDF5 input (it holds
                                   * its design already).  NULL: they learn from the CSV */
} ooc_source_options;

/* A stream of row blocks; opaque.  A source is used by one thread at a time
 * (it runs its own worker threads inside).  Free with ooc_source_free. */
typedef struct ooc_source ooc_source;

/* Defaults for every field. */
OOC_API void ooc_source_options_init(ooc_source_options *o);

/* Open `path`: an HDF5 file (detected by its signature; PyTables and h5py
 * files included) or a CSV (requires o->formula).  On success *out is the
 * caller's.  Errors name the file and dataset/chunk or line/column:
 * OOC_ERR_IO, OOC_ERR_HDF5, OOC_ERR_CSV, OOC_ERR_FORMULA, OOC_ERR_DATA,
 * OOC_ERR_INVALID_ARG, OOC_ERR_NOMEM. */
OOC_API ooc_status ooc_source_open(const char *path, const ooc_source_options *o,
                                   ooc_source **out, ooc_error *err);

/* Open several files as one matrix, their rows in the order given.  Every
 * file must have the first one's columns (count, names, order), response,
 * weights and formula; a mismatch is OOC_ERR_INVALID_ARG naming both files
 * and what differs.  Files are opened one at a time, and again on every
 * pass: the strings and arrays `o` points to must stay valid until the
 * source is freed (o itself is copied).  npaths == 1 is ooc_source_open.
 * Errors: as ooc_source_open. */
OOC_API ooc_status ooc_source_open_files(const char *const *paths, size_t npaths,
                                         const ooc_source_options *o, ooc_source **out,
                                         ooc_error *err);

/* Rows of the source, or UINT64_MAX when unknown before a pass ends (CSV). */
OOC_API uint64_t ooc_source_rows(const ooc_source *src);
/* Columns of X (y and weights not counted). */
OOC_API size_t ooc_source_columns(const ooc_source *src);
/* Name of column j of X (j < ooc_source_columns), owned by the source. */
OOC_API const char *ooc_source_column_name(const ooc_source *src, size_t j);
/* Whether the source has a response y / observation weights. */
OOC_API bool ooc_source_has_response(const ooc_source *src);
OOC_API bool ooc_source_has_weights(const ooc_source *src);

/* Destroy a source (stops its threads).  NULL is a no-op. */
OOC_API void ooc_source_free(ooc_source *src);

/* ===================================================================== *
 * Backends: where the accumulation and the small dense work run.         *
 * ===================================================================== */

/* How the triangle of [X y] is accumulated. */
typedef enum ooc_method {
    OOC_METHOD_QR = 0,     /* Q-less TSQR of [X y]: stable (error ~ cond(X)·eps) */
    OOC_METHOD_NORMAL = 1  /* Gram [X y]ᵀ[X y] by SYRK + Cholesky: fast (error ~ cond(X)²·eps) */
} ooc_method;

/* "qr" / "normal". */
OOC_API const char *ooc_method_name(ooc_method m);

/* A compute backend (CPU: OpenBLAS/LAPACKE; GPU: the CUDA plugin); opaque.
 * Used by one thread at a time: give each concurrent fit its own. */
typedef struct ooc_backend ooc_backend;

typedef struct ooc_backend_options {
    int cpu_threads;             /* CPU backend workers; 0: its default (2) */
    ooc_log_sink log;            /* notes, e.g. why "auto" chose the CPU */
    const char *cpu_gram_blas;   /* library of method normal's Gram on the CPU: "auto" (or
                                  * NULL: BLIS where OpenBLAS runs kernels for older CPUs and
                                  * libblis.so.4 loads, else OpenBLAS), "openblas", "blis" */
} ooc_backend_options;

/* Open the backend a device spec names: "auto" (or NULL: GPU 0 when the CUDA
 * plugin loads and a GPU is present, else the CPU), "cpu", "gpu", "gpu:N",
 * "gpu:0,1".  o may be NULL.  Free *out with ooc_backend_free.
 * Errors: OOC_ERR_INVALID_ARG (bad spec or cpu_gram_blas), OOC_ERR_UNSUPPORTED
 * (a GPU asked for, none installed; "blis" asked for, BLIS not installed),
 * OOC_ERR_BACKEND (the GPU cannot be used). */
OOC_API ooc_status ooc_backend_create(const char *device, const ooc_backend_options *o,
                                      ooc_backend **out, ooc_error *err);

/* "cpu", "cuda", ...; owned by the backend. */
OOC_API const char *ooc_backend_name(const ooc_backend *be);

/* The allocator ring buffers should use with this backend (pinned memory
 * for a GPU): put it in ooc_source_options.allocator. */
OOC_API ooc_allocator ooc_backend_allocator(const ooc_backend *be);

/* Destroy a backend.  NULL is a no-op. */
OOC_API void ooc_backend_free(ooc_backend *be);

/* ===================================================================== *
 * Fit: least squares (OLS / WLS) with statsmodels' statistics.           *
 * ===================================================================== */

typedef enum ooc_cov_type {
    OOC_COV_NONROBUST = 0,
    OOC_COV_HC0 = 1,
    OOC_COV_HC1 = 2,
    OOC_COV_CLUSTER = 3 /* cluster-robust (statsmodels' cov_type="cluster", CRV1): one-way or
                         * two-way over the source's kept columns (ooc_cluster_options) */
} ooc_cov_type;

/* "nonrobust" / "HC0" / "HC1" / "cluster". */
OOC_API const char *ooc_cov_name(ooc_cov_type c);

/* The cluster-robust covariance (cov OOC_COV_CLUSTER), as statsmodels'
 * fit(cov_type="cluster", cov_kwds={"groups": g, "use_correction": ...,
 * "df_correction": ...}).  The meat Σ_g S_g S_gᵀ sums each group's scores
 * S_g in a hash table of O(G·k) memory (G groups, k kept columns): at most
 * G·(16k + 80) bytes per grouping while its arrays grow by doubling (the
 * intersections' table of a two-way one: G₁₂·(16k + 96)), the rows in any
 * order.  Two-way:
 * V₁ + V₂ - V₁₂, V₁₂ over the intersections, each with its own correction
 * (statsmodels' cov_cluster_2groups). */
typedef struct ooc_cluster_options {
    const char *const *groups;  /* 1 or 2 names among the source's kept columns
                                 * (ooc_source_options.keep_columns) */
    size_t ngroups;
    bool no_correction;         /* statsmodels' use_correction=False: no G/(G-1)·(n-1)/(n-p) */
    bool no_df_correction;      /* df_correction=False: tests keep df_resid, not G - 1 */
    size_t max_bytes;           /* refuse (OOC_ERR_NOMEM, naming the estimate) when the
                                 * groups' tables would need more (two-way: a third each
                                 * to the three tables); 0: half the physical memory */
} ooc_cluster_options;

/* What a cluster covariance found (zero otherwise). */
typedef struct ooc_cluster_info {
    size_t ndims;               /* 1 or 2 groupings; 0: not clustered */
    uint64_t n_groups[2];       /* groups of each (statsmodels' n_groups) */
    bool use_correction;
    double df_resid_inference;  /* statsmodels': min(n_groups) - 1, or NaN without the
                                 * df correction */
} ooc_cluster_info;

/* When to run iterative refinement passes.  AUTO refines when the standard
 * least-squares perturbation bound for the first-pass β,
 *     ε·(2κ/cos θ + κ²·tan θ),   κ the scaled condition number of the kept
 *     columns (1-norm estimate), sin θ = ‖r‖/‖W^½y‖,
 * exceeds OOC_AUTO_REFINE_BOUND: an ill-conditioned design with a large
 * residual, where one double-precision QR pass leaves only ~6 correct digits
 * (NIST Wampler5, Filip).  Well-conditioned fits pay nothing. */
typedef enum ooc_refine_mode {
    OOC_REFINE_AUTO = 0,
    OOC_REFINE_ALWAYS = 1,
    OOC_REFINE_NEVER = 2
} ooc_refine_mode;
#define OOC_AUTO_REFINE_BOUND 1e-9

/* ===================================================================== *
 * Several processes as one fit (e.g. MPI ranks).                         *
 * ===================================================================== */

/* The operations a fit or SVD needs to run as one of `size` processes, each
 * over its own contiguous share of the rows (the source's row_begin/row_end),
 * rank 0 holding the first.  The library merges the processes' triangles by
 * a tree of stacked-QR merges and sums their side statistics with these; the
 * caller supplies them over its transport (the CLI: MPI, host/src/dist/).
 * Every process makes the same calls in the same order.  Each returns
 * OOC_OK or a transport error (filled into err); a failed transport call is
 * fatal to the collective.  All pointers stay valid during the call. */
typedef struct ooc_collective {
    int rank, size;             /* this process, and how many there are (size >= 1) */
    void *ctx;                  /* passed to each operation */
    /* Every process offers whether it failed; *first becomes the lowest rank
     * that did, or -1.  The one call a failed process still makes, so that
     * no process waits for it forever. */
    ooc_status (*agree)(void *ctx, bool failed, int *first, ooc_error *err);
    /* bytes from rank 0's data into every other process's data */
    ooc_status (*broadcast)(void *ctx, void *data, size_t bytes, ooc_error *err);
    /* point to point, matched in order between a pair of ranks */
    ooc_status (*send)(void *ctx, int to, const void *data, size_t bytes, ooc_error *err);
    ooc_status (*recv)(void *ctx, int from, void *data, size_t bytes, ooc_error *err);
} ooc_collective;

typedef struct ooc_fit_options {
    ooc_method method;          /* default OOC_METHOD_QR */
    ooc_refine_mode refine;     /* default AUTO; passes stop early once converged */
    int max_refine;             /* 0: 3 */
    ooc_cov_type cov;
    const char *save_state;     /* write the accumulated state (ooc_accumulator_save) to this
                                 * HDF5 file after the first pass; NULL: no */
    const char *resume_state;   /* start from this saved state: the result is that of fitting
                                 * its rows and the source's together.  Its rows are not read
                                 * again, so cov HC0/HC1 and refine ALWAYS are refused, and
                                 * AUTO only warns when it would have refined.  NULL: no */
    const volatile int *cancel; /* raise to stop with OOC_ERR_INTERRUPTED */
    ooc_log_sink log;
    ooc_trace *trace;           /* spans accumulate / finalize / residual pass, run metadata
                                 * (method, p, rows, cov); may be NULL */
    ooc_progress *progress;     /* rows and bytes per block, a phase per pass; may be NULL */
    const ooc_collective *collective; /* one of several processes, each fitting its share of
                                 * the rows (the source's row range): every process gets the
                                 * result of the whole; NULL: alone.  save_state/resume_state
                                 * are refused with it */
    ooc_cluster_options cluster;/* with cov OOC_COV_CLUSTER */
} ooc_fit_options;

/* Defaults (qr, nonrobust, automatic refinement). */
OOC_API void ooc_fit_options_init(ooc_fit_options *o);

/* Results, named like statsmodels' RegressionResults.  Arrays have p entries
 * (NaN for aliased columns); cov_params is p x p row-major.  Owned by the
 * caller as a whole: free with ooc_fit_result_free. */
typedef struct ooc_fit_result {
    size_t p;
    char **names;               /* p column names */
    char *y_name;               /* may be NULL */
    char *formula;              /* may be NULL */
    ooc_method method;
    ooc_cov_type cov;
    bool weighted;
    uint64_t nobs;
    size_t rank;
    bool *aliased;              /* p flags */
    size_t n_aliased;
    double *params, *bse, *tvalues, *pvalues, *conf_lower, *conf_upper, *cov_params;
    double *singular_values;    /* p singular values of W^½X, descending (those past the
                                 * rows are 0, as eigenvalues of XᵀWX are) */
    double ssr, centered_tss, uncentered_tss, ess, rsquared, rsquared_adj;
    double fvalue, f_pvalue, llf, aic, bic, df_model, df_resid, scale;
    double condition_number;    /* σmax/σmin of W^½X (statsmodels' condition_number) */
    double min_eigenvalue;      /* σmin² */
    double scaled_condition_number; /* the same after scaling columns to unit norm */
    bool use_t;                 /* t (nonrobust) or normal (HC, statsmodels' default use_t=False)
                                 * distribution for pvalues and conf_int */
    int k_constant;
    long const_idx;             /* explicit constant column, or -1 (none or implicit) */
    double error_estimate;      /* the first-pass bound that AUTO compares (NaN: not computed) */
    bool refined_automatically; /* AUTO decided to refine */
    int refine_passes;          /* refinement passes done */
    double refine_last_step;    /* ‖δ‖/‖β‖ of the last correction */
    char **warnings;            /* nwarnings messages (statsmodels' wording where it has one) */
    size_t nwarnings;
    double seconds_accumulate, seconds_refine, seconds_second_pass, seconds_finalize;
    ooc_cluster_info cluster;   /* cov OOC_COV_CLUSTER: the groups; the F test's
                                 * denominator df is cluster.df_resid_inference */
} ooc_fit_result;

/* Fit y on X by least squares (weighted when the source has weights).
 * A rank-deficient design is not an error (aliased columns + a warning).
 * Not thread-safe on the same source or backend; distinct ones may run
 * concurrently.  Errors: the source's errors; OOC_ERR_DATA (no rows, NaN/Inf
 * or a negative weight, naming the row and column); OOC_ERR_INVALID_ARG (no
 * response; a resume state that does not match the source, saying what
 * differs); OOC_ERR_UNSUPPORTED (HC or refine ALWAYS with resume_state);
 * OOC_ERR_NUMERIC (factorisation failed); OOC_ERR_INTERRUPTED (the cancel
 * flag, also between the stages of finalize); OOC_ERR_NOMEM (also before
 * anything is allocated, when the dense arrays exceed the memory available);
 * the HDF5 errors of the state files.  On success *out is owned by the
 * caller (ooc_fit_result_free). */
OOC_API ooc_status ooc_fit(ooc_source *src, ooc_backend *be, const ooc_fit_options *o,
                           ooc_fit_result **out, ooc_error *err);

/* NULL is a no-op. */
OOC_API void ooc_fit_result_free(ooc_fit_result *r);

/* ===================================================================== *
 * SVD of X.                                                              *
 * ===================================================================== */

typedef struct ooc_svd_options {
    ooc_method method;          /* how R is accumulated; default qr */
    size_t k;                   /* leading singular triplets to keep; 0: all min(rows, p) */
    bool vectors;               /* compute Vᵀ */
    const char *u_out;          /* write U (nrows x k) as dataset /X of this new HDF5 file; NULL: no */
    int nthreads;               /* HDF5 writer compression threads; 0: online CPUs */
    const volatile int *cancel;
    ooc_log_sink log;
    ooc_trace *trace;           /* spans accumulate / finalize / residual pass / write output
                                 * (and the U writer's), run metadata; may be NULL */
    ooc_progress *progress;     /* rows and bytes per block, a phase per pass; may be NULL */
    const ooc_collective *collective; /* as in ooc_fit_options; u_out is refused with it */
} ooc_svd_options;

/* Defaults (qr, all singular values, no vectors, no U output). */
OOC_API void ooc_svd_options_init(ooc_svd_options *o);

/* Owned by the caller as a whole: free with ooc_svd_result_free. */
typedef struct ooc_svd_result {
    size_t p, k;                /* k <= min(nrows, p) */
    char **names;               /* p column names */
    uint64_t nrows;
    double *s;                  /* k singular values, descending */
    double *vt;                 /* k x p row-major right singular vectors (NULL unless vectors or u_out) */
    double condition_number;    /* s[0]/s[min(nrows, p)-1] over all min(nrows, p) values (numpy's
                                 * cond) */
    char *u_path;               /* where U was written, or NULL */
    double seconds_accumulate, seconds_u;
} ooc_svd_result;

/* SVD of X (weighted rows when the source has weights; y is ignored): the
 * min(rows, p) singular values, as numpy's svd, or the k largest.  Threads
 * and errors: as ooc_fit, plus the HDF5 writer's when u_out is set. */
OOC_API ooc_status ooc_svd(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                           ooc_svd_result **out, ooc_error *err);

/* NULL is a no-op. */
OOC_API void ooc_svd_result_free(ooc_svd_result *r);

/* ===================================================================== *
 * Accumulator: rows pushed by the caller, fits that grow.                *
 * ===================================================================== */

/* The accumulated state of a fit: the triangle R_aug of [X y] (R_augᵀR_aug =
 * [X y]ᵀW[X y]) and the sums the statistics need (rows, Σw, Σlog w, Xᵀw,
 * column min/max, y's weighted mean and spread).  O(p²) memory whatever the
 * rows.  Not thread-safe: one thread at a time per accumulator and per
 * backend.  It uses its backend (borrowed: it must outlive the accumulator)
 * until freed; several accumulators may share one backend (rows pending in
 * one are merged into it before another starts a pass). */
typedef struct ooc_accumulator ooc_accumulator;

typedef struct ooc_accumulator_options {
    size_t p;                          /* columns of X (required, >= 1) */
    const char *const *column_names;   /* p names; NULL: x0, x1, ... (copied) */
    const char *y_name;                /* response name (copied; NULL: "y") */
    const char *formula;               /* recorded with the state (copied; may be NULL) */
    bool weighted;                     /* rows carry weights w >= 0 */
    ooc_method method;                 /* default qr */
    ooc_log_sink log;
} ooc_accumulator_options;

/* Defaults: p = 0 (must be set), unweighted, qr. */
OOC_API void ooc_accumulator_options_init(ooc_accumulator_options *o);

/* Create an empty accumulator on backend be (borrowed).
 * Errors: OOC_ERR_INVALID_ARG (p = 0), OOC_ERR_UNSUPPORTED (method not
 * supported by the backend), OOC_ERR_NOMEM. */
OOC_API ooc_status ooc_accumulator_create(const ooc_accumulator_options *o, ooc_backend *be,
                                          ooc_accumulator **out, ooc_error *err);

/* Storage order of a caller's X block. */
typedef enum ooc_order { OOC_ROW_MAJOR = 0, OOC_COL_MAJOR = 1 } ooc_order;

/* A block of rows owned by the caller (read during the call only). */
typedef struct ooc_rows {
    size_t nrows;
    const double *x;   /* nrows x p: element (i, j) at x[i*ldx + j] (row-major) or x[j*ldx + i] */
    size_t ldx;        /* 0: p (row-major) or nrows (column-major) */
    ooc_order order;
    const double *y;   /* nrows responses (required) */
    const double *w;   /* nrows weights >= 0 (required when weighted, else must be NULL) */
} ooc_rows;

/* Add rows.  Errors: OOC_ERR_DATA (NaN/Inf or a negative weight: the row,
 * counted from the accumulator's first, and column are named; nothing of the
 * block is added), OOC_ERR_INVALID_ARG (bad ldx, missing y or w),
 * OOC_ERR_BACKEND, OOC_ERR_NOMEM. */
OOC_API ooc_status ooc_accumulator_push(ooc_accumulator *acc, const ooc_rows *rows,
                                        ooc_error *err);

/* Add every row of a source (one pass; cancel, trace and progress from o,
 * which may be NULL).  Its columns must match (count, names, weights):
 * otherwise OOC_ERR_INVALID_ARG saying what differs.  Errors: the source's,
 * and those of ooc_accumulator_push. */
OOC_API ooc_status ooc_accumulator_add_source(ooc_accumulator *acc, ooc_source *src,
                                              const ooc_fit_options *o, ooc_error *err);

/* Rows accumulated so far. */
OOC_API uint64_t ooc_accumulator_rows(const ooc_accumulator *acc);

/* Fit on the rows accumulated so far; the accumulator stays usable (more
 * rows may follow).  No row is read again, so o->cov must be nonrobust and
 * o->refine not ALWAYS (OOC_ERR_UNSUPPORTED); AUTO warns when it would have
 * refined.  o->method, save_state and resume_state are ignored.  Errors: as
 * ooc_fit. */
OOC_API ooc_status ooc_accumulator_fit(ooc_accumulator *acc, const ooc_fit_options *o,
                                       ooc_fit_result **out, ooc_error *err);

/* Save the state to a new HDF5 file (written under a temporary name, renamed
 * into place when complete).  The file holds /R (p+1 x p+1), the sums as
 * small datasets and attributes, the column names, formula, method and
 * weighting; h5py and PyTables read it.  Errors: OOC_ERR_IO, OOC_ERR_HDF5,
 * OOC_ERR_NOMEM. */
OOC_API ooc_status ooc_accumulator_save(ooc_accumulator *acc, const char *path, ooc_error *err);

/* Create an accumulator from a saved state, on backend be (borrowed).
 * Errors: OOC_ERR_IO, OOC_ERR_HDF5 (not a state file, or a damaged one,
 * naming the file and what is wrong), OOC_ERR_UNSUPPORTED (a newer state
 * format, or a method be does not support), OOC_ERR_NOMEM. */
OOC_API ooc_status ooc_accumulator_load(const char *path, ooc_backend *be,
                                        ooc_accumulator **out, ooc_error *err);

/* NULL is a no-op. */
OOC_API void ooc_accumulator_free(ooc_accumulator *acc);

/* Version string, e.g. "0.1.0". */
OOC_API const char *ooc_version(void);

/* ===================================================================== *
 * Progress: counts a binding polls while a long call runs.               *
 * ===================================================================== */

/* A snapshot of an ooc_progress: the current phase ("scanning levels",
 * "writing", "accumulate", "refine", ...; "" before the first), the rows and
 * bytes done in it, and its totals when known (0: unknown; HDF5 sources
 * know theirs, CSV sources do not). */
typedef struct ooc_progress_state {
    char phase[64];
    uint64_t rows, bytes;
    uint64_t total_rows, total_bytes;
} ooc_progress_state;

/* Create a silent counter: it prints nothing and starts no thread.  Put it
 * in the progress field of ooc_ingest_options, ooc_source_options,
 * ooc_fit_options or ooc_svd_options (one call at a time per counter) and
 * read it with ooc_progress_read.  Free with ooc_progress_free.
 * Errors: OOC_ERR_NOMEM. */
OOC_API ooc_status ooc_progress_counter_create(ooc_progress **out, ooc_error *err);

/* Copy the current state of p into *s.  Thread-safe: another thread may
 * read while a call counts into p.  NULL p gives an empty state. */
OOC_API void ooc_progress_read(ooc_progress *p, ooc_progress_state *s);

/* Free a progress object (the CLI's printing reporter stops its thread and
 * prints its last line first).  NULL is a no-op. */
OOC_API void ooc_progress_free(ooc_progress *p);

/* ===================================================================== *
 * Text reports (for bindings: the CLI's statsmodels-style summary).      *
 * ===================================================================== */

/* Write the text summary of a fit (the one `oocsolve fit` prints, laid out
 * like statsmodels' summary()) into buf as a NUL-terminated string, as
 * snprintf does: at most size - 1 characters are stored (buf may be NULL
 * when size is 0) and *length (may be NULL) receives the full length, so a
 * caller whose buffer was too small calls again with *length + 1.
 * Errors: OOC_ERR_NOMEM, OOC_ERR_IO (the in-memory stream failed). */
OOC_API ooc_status ooc_fit_result_summary(const ooc_fit_result *r, char *buf, size_t size,
                                          size_t *length, ooc_error *err);

/* ===================================================================== *
 * GLM: generalized linear models by out-of-core IRLS, as statsmodels'   *
 * GLM.fit() (method "IRLS").                                             *
 * ===================================================================== */

/* The exponential family of the response (statsmodels' families). */
typedef enum ooc_glm_family {
    OOC_GLM_BINOMIAL = 0,        /* y in [0, 1] (0/1, or proportions); scale 1 */
    OOC_GLM_POISSON = 1,         /* y >= 0 (counts); scale 1 */
    OOC_GLM_GAUSSIAN = 2,        /* any y; scale: Pearson χ² / df_resid */
    OOC_GLM_GAMMA = 3,           /* y > 0; scale as Gaussian */
    OOC_GLM_INVERSE_GAUSSIAN = 4 /* y > 0; scale as Gaussian */
} ooc_glm_family;

/* The link g, μ = g⁻¹(Xβ + offset) (statsmodels' links).  DEFAULT is the
 * family's default (canonical) link: logit, log, identity, inverse_power,
 * inverse_squared. */
typedef enum ooc_glm_link {
    OOC_GLM_LINK_DEFAULT = 0,
    OOC_GLM_LINK_IDENTITY = 1,
    OOC_GLM_LINK_LOG = 2,
    OOC_GLM_LINK_LOGIT = 3,
    OOC_GLM_LINK_PROBIT = 4,
    OOC_GLM_LINK_CLOGLOG = 5,
    OOC_GLM_LINK_LOGLOG = 6,
    OOC_GLM_LINK_CAUCHY = 7,
    OOC_GLM_LINK_INVERSE_POWER = 8,  /* 1/μ */
    OOC_GLM_LINK_INVERSE_SQUARED = 9, /* 1/μ² */
    OOC_GLM_LINK_SQRT = 10
} ooc_glm_link;

/* "binomial", "poisson", "gaussian", "gamma", "inverse_gaussian". */
OOC_API const char *ooc_glm_family_name(ooc_glm_family f);
/* "identity", "log", "logit", "probit", "cloglog", "loglog", "cauchy",
 * "inverse_power", "inverse_squared", "sqrt" ("default" for DEFAULT). */
OOC_API const char *ooc_glm_link_name(ooc_glm_link l);
/* The names above (also statsmodels' class names, any case: "Binomial",
 * "InverseGaussian", "CLogLog", "InversePower", and "inverse" for
 * inverse_power) → *out; false for any other text. */
OOC_API bool ooc_glm_family_parse(const char *text, ooc_glm_family *out);
OOC_API bool ooc_glm_link_parse(const char *text, ooc_glm_link *out);

typedef struct ooc_glm_options {
    ooc_glm_family family;      /* default binomial */
    ooc_glm_link link;          /* default DEFAULT; a link statsmodels does not allow for
                                 * the family is OOC_ERR_INVALID_ARG */
    ooc_method method;          /* how each iteration's weighted triangle is accumulated:
                                 * qr (default, stable) or normal */
    int max_iter;               /* IRLS iterations at most; 0: 100 (statsmodels' maxiter) */
    double tol;                 /* converged when the deviance changes by at most tol
                                 * between iterations (absolute, statsmodels' atol);
                                 * 0: 1e-8 */
    const char *response_column;/* y from this column of X (not a regressor); NULL: the
                                 * source's response */
    const char *y_name;         /* the response's name in the result; NULL: the source's
                                 * (or response_column) */
    const char *offset_column;  /* a column of X added to the linear predictor with
                                 * coefficient 1 (not a regressor); NULL: none */
    const char *exposure_column;/* a column of X, > 0, whose log is added to the offset
                                 * (not a regressor); NULL: none */
    const char *freq_weights_column; /* a column of X, finite and >= 0, of frequency weights
                                 * (statsmodels' freq_weights: row i stands for f_i
                                 * observations; not a regressor): they multiply the IRLS
                                 * weights, the deviance, Pearson χ² and log-likelihood terms,
                                 * and df_resid counts Σf observations.  The source's own
                                 * weights are var_weights; both may be given.  NULL: none */
    const volatile int *cancel; /* raise to stop with OOC_ERR_INTERRUPTED */
    ooc_log_sink log;           /* the result's warnings, as they are found */
    ooc_trace *trace;           /* spans per block of every pass, finalize; may be NULL */
    ooc_progress *progress;     /* a phase per pass ("IRLS 3: deviance change 1.2e-05");
                                 * may be NULL */
    const ooc_collective *collective; /* one of several processes, each over its share of the
                                 * rows (the source's row range): every iteration's triangles
                                 * and sums are merged across them (as ooc_fit_options') and
                                 * rank 0's β and decisions broadcast; every process gets the
                                 * result of the whole.  NULL: alone */
    ooc_cov_type cov;           /* nonrobust (default) or cluster: statsmodels' sandwich of
                                 * the scores with the observed Hessian at the final β (one
                                 * more pass) */
    ooc_cluster_options cluster;
} ooc_glm_options;

/* Defaults (binomial, its default link, qr, statsmodels' maxiter and tol). */
OOC_API void ooc_glm_options_init(ooc_glm_options *o);

/* Results, named like statsmodels' GLMResults.  Arrays have p entries, the
 * regressors (the columns of X less the response, offset and exposure
 * columns), NaN for aliased ones; cov_params is p x p row-major.  Owned by
 * the caller as a whole: free with ooc_glm_result_free. */
typedef struct ooc_glm_result {
    size_t p;
    char **names;               /* p regressor names */
    char *y_name, *formula;     /* may be NULL */
    char *offset_name, *exposure_name, *freq_weights_name; /* the columns used, or NULL */
    ooc_glm_family family;
    ooc_glm_link link;          /* never DEFAULT */
    ooc_method method;
    bool weighted;              /* the source's weights, as statsmodels' var_weights */
    uint64_t nobs;              /* rows (statsmodels' nobs) */
    double wnobs;               /* Σ frequency weights (nobs without them; statsmodels'
                                 * model.wnobs): df_resid = wnobs - df_model - 1 */
    size_t rank;
    bool *aliased;              /* p flags (a column in the span of the ones before it) */
    size_t n_aliased;
    double *params, *bse, *tvalues, *pvalues, *conf_lower, *conf_upper, *cov_params;
    bool use_t;                 /* false: z statistics, normal p-values (statsmodels' GLM) */
    double deviance, pearson_chi2, scale, llf, aic, bic, bic_deviance, df_model, df_resid;
    double null_deviance, llnull, pseudo_rsquared; /* of the constant-only model
                                 * (Cox-Snell R²): with an offset or exposure a constant and
                                 * the offset, an IRLS fit of its own (statsmodels' null),
                                 * whose steps ride along the passes; NaN if its mean leaves
                                 * the family's range */
    int iterations;             /* statsmodels' fit_history["iteration"] */
    bool converged;
    double *deviance_history;   /* iterations + 1 values, statsmodels' fit_history
                                 * ["deviance"]: the deviance at the starting values, then
                                 * after each iteration, each divided by the scale of the
                                 * μ before it (1 for binomial and poisson) */
    int passes;                 /* passes over the data (iterations + 1, + 1 for the mean
                                 * of y that the starting values of families other than
                                 * binomial need, + those of an offset fit's null model that
                                 * outlasts the fit, + 1 for a weighted gamma's
                                 * log-likelihood) */
    char **warnings;            /* nwarnings messages */
    size_t nwarnings;
    double seconds_passes;      /* wall time of all passes */
    double seconds_finalize;
    ooc_cov_type cov;           /* nonrobust or cluster */
    ooc_cluster_info cluster;
} ooc_glm_result;

/* Fit a GLM of the source's response (or o->response_column) on its other
 * columns by iteratively reweighted least squares, each iteration one pass
 * over the source: from the current β every row's μ, IRLS weight
 * w·(dμ/dη)²/V(μ) and working response go into a fresh triangle (the
 * backend's accumulate, o->method), and the deviance and Pearson χ² are
 * summed in long double in the same pass.  Starting values, convergence
 * test, covariance (scale·(XᵀWX)⁻¹ from the last iteration's weights) and
 * statistics are statsmodels'.  The source's weights are var_weights,
 * o->freq_weights_column's freq_weights.  With o->collective, each process
 * passes over its share of the rows and the iterations are merged (every
 * process must call with the same options; a failure on one stops all, the
 * others with OOC_ERR_REMOTE).
 * Memory: O(p²) plus one block's scratch, whatever the rows.
 * Errors: the source's and the backend's; OOC_ERR_INVALID_ARG (a link the
 * family does not allow, an unknown column, no response); OOC_ERR_DATA
 * naming the row: a response outside the family's range (binomial [0, 1],
 * poisson >= 0, gamma and inverse Gaussian > 0), a zero or negative weight,
 * a negative frequency weight, an exposure <= 0, a non-finite value, no
 * rows (or frequency weights all 0); OOC_ERR_NUMERIC: perfect separation
 * (binomial: every fitted probability within 1e-8 of its 0/1 response), a
 * fitted mean outside the family's range (row named), a NaN deviance;
 * OOC_ERR_INTERRUPTED; OOC_ERR_NOMEM.  Not converging within
 * max_iter is a warning (converged false), as are fitted probabilities or
 * rates numerically 0 or 1 (quasi-separation, first row named). */
OOC_API ooc_status ooc_glm(ooc_source *src, ooc_backend *be, const ooc_glm_options *o,
                           ooc_glm_result **out, ooc_error *err);

/* NULL is a no-op. */
OOC_API void ooc_glm_result_free(ooc_glm_result *r);

/* Open the input of a GLM: ooc_source_open_files(paths, npaths, so), except
 * that from a CSV + formula (so->formula) the columns o names beside the
 * formula's (offset_column, exposure_column, freq_weights_column: CSV
 * columns) are added to the formula as terms, so that they follow its
 * missing-value rules as statsmodels' formula API applies them, and ooc_glm
 * with the same o finds them by those names; and a binomial response that is
 * a two-level categorical becomes the indicator of its first level in
 * patsy's order (statsmodels' success), named "LHS[level]".  The result's
 * formula is so->formula.  Without a formula (HDF5) the columns are X's, by
 * name.  Errors: as ooc_source_open_files (the first attempt's, when a
 * categorical response does not open either). */
OOC_API ooc_status ooc_glm_source_open(const char *const *paths, size_t npaths,
                                       const ooc_source_options *so, const ooc_glm_options *o,
                                       ooc_source **out, ooc_error *err);

/* The text summary of a GLM (`oocsolve glm`'s, laid out like statsmodels'
 * GLMResults.summary()) into buf, snprintf-style as ooc_fit_result_summary. */
OOC_API ooc_status ooc_glm_result_summary(const ooc_glm_result *r, char *buf, size_t size,
                                          size_t *length, ooc_error *err);

#ifdef __cplusplus
}
#endif
#endif /* OOCSOLVE_H */
