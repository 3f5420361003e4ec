/*
 * model.h — patsy-compatible formulas: parsing, term expansion, categorical
 * coding, and evaluation of the design matrix on blocks of CSV records.
 *
 * Life cycle of an ooc_model:
 *   1. ooc_model_parse()        formula text -> terms (no data needed yet)
 *   2. ooc_model_bind()         map the variables the formula reads to CSV
 *                               columns and learn their types from a sample
 *                               block (a plain variable whose sample values
 *                               are not all numbers or missing becomes
 *                               categorical, as pandas+patsy would treat it)
 *   3. if ooc_model_needs_level_scan(): feed every block of the file to
 *      ooc_model_scan_levels() (discovers the levels of categoricals whose
 *      levels were not given); in the same pass, if
 *      ooc_model_needs_memorize() (stateful transforms: center, standardize,
 *      scale, bs, cr, cc), to ooc_model_memorize(), unless
 *      ooc_model_load_transforms() gave what they learned from another file
 *   4. optionally ooc_model_resolve_levels(), after which
 *      ooc_model_categorical_info() tells each categorical's number of levels
 *      (to refuse too many before any column exists), then
 *      ooc_model_finish_levels(), which fixes the design's columns (it
 *      resolves the levels itself when step 4 was skipped)
 *   5. ooc_model_eval() on each block: any number of threads concurrently
 *      (the model is read-only from here on).
 *
 * Memory is proportional to the formula's terms and factors, the levels of
 * its categoricals and the design's columns; evaluation scratch is
 * proportional to the columns.
 *
 * Stateful transforms learn from every record (patsy memorizes every row,
 * also rows later dropped for a missing value), leaving out the records
 * where their argument is missing (patsy would learn NaN and drop every
 * row); a spline's knots are exact quantiles, from a sorted copy of its
 * argument's values on disk (8 bytes a record, in $TMPDIR).
 *
 * Column order, column names and categorical coding follow patsy's
 * dmatrices exactly (term ordering, full-rank rules for categoricals with or
 * without an intercept and inside interactions, the Treatment, Sum, Helmert,
 * Diff and Poly contrasts; a boolean expression is a categorical of levels
 * False and True).
 */
#ifndef OOC_MODEL_H
#define OOC_MODEL_H

#include "csv/csv.h"
#include "oocsolve.h"

typedef struct ooc_model ooc_model;

/* Parse `formula`.  `vars` supplies named values usable as levels=NAME.
 * Errors: OOC_ERR_FORMULA with a message that shows the formula and a caret
 * under the offending token; OOC_ERR_NOMEM. */
ooc_status ooc_model_parse(const char *formula, const ooc_formula_var *vars, size_t nvars,
                           ooc_model **out, ooc_error *err);

/* The formula text as given. */
const char *ooc_model_formula(const ooc_model *m);

/* True when the formula has a left-hand side (y ~ ...). */
bool ooc_model_has_response(const ooc_model *m);

/* Name of the response column in the CSV (valid when has_response); for a
 * transformed response such as np.log(y) this is the expression text. */
const char *ooc_model_response_name(const ooc_model *m);

/* How bind should treat data. */
typedef struct ooc_model_data_options {
    const char *file_name;          /* used in error messages */
    const char *const *na_values;   /* strings meaning "missing", added to pandas' default list */
    size_t n_na_values;
    bool no_default_na;             /* na_values alone (pandas' keep_default_na=False) */
    bool missing_is_error;          /* report a missing value as OOC_ERR_DATA instead of dropping the row */
    const ooc_column_dtype *dtypes; /* pinned column types (not inferred) */
    size_t ndtypes;
    const char *const *extra_columns; /* CSV columns read besides the formula's variables, as
                                       * plain numbers (the weights): ooc_model_eval_rows writes
                                       * them after each row's values; a row where one is
                                       * missing is dropped (an error when missing_is_error), as
                                       * for the formula's variables */
    size_t nextra;
    size_t nextra_keys;             /* the last nextra_keys extra columns are group keys
                                     * (ooc_model_key below), not numbers: a missing one in a
                                     * row kept for the fit is an OOC_ERR_DATA error */
} ooc_model_data_options;

/* A group key's 64 bits, as ooc_model_eval_rows writes it into an extra
 * column's double slot (memcpy'd, so read it back with memcpy).  A key
 * column is of numbers or of texts, as pandas types a column: texts when
 * some value of the first records (bind's sample) is not a number, unless
 * --dtype pins it (numeric, or str/categorical: texts).  A number's key is
 * its IEEE bits (-0 as +0: "1" and "1.0" are one group); a text's an id
 * from the model's dictionary of texts (thread-safe; ids in the NaN
 * patterns OOC_KEY_TEXT_BASE + n, which no number has). */
#define OOC_KEY_TEXT_BASE UINT64_C(0x7FF8000000000001)

/* Whether key column k (of the nextra_keys) holds texts. */
bool ooc_model_key_is_text(const ooc_model *m, size_t k);

/* The text of a text key (its length in *len, the text NUL-terminated), or
 * NULL for any other key.  Valid while the model lives; not to be called
 * while rows are evaluated on other threads. */
const char *ooc_model_key_text(const ooc_model *m, uint64_t key, size_t *len);

/* Resolve variable names against the CSV header (`names`, `ncols`) and infer
 * the type of each plain variable from `sample` (typically the first block;
 * may have zero records), unless opts->dtypes pins it.  Errors:
 * OOC_ERR_FORMULA for an unknown column name (message with caret into the
 * formula), OOC_ERR_INVALID_ARG for a pinned or extra column not in the header,
 * OOC_ERR_DATA (a non-numeric response, a categorical column in arithmetic). */
ooc_status ooc_model_bind(ooc_model *m, const char *const *names, size_t ncols,
                          const ooc_csv_block *sample, const ooc_model_data_options *opts,
                          ooc_error *err);

/* True when some categorical has levels to discover from the data. */
bool ooc_model_needs_level_scan(const ooc_model *m);

/* Add the levels seen in `blk`.  Like patsy, levels come from every row,
 * including rows later dropped for another variable's missing value.
 * Single-threaded. */
ooc_status ooc_model_scan_levels(ooc_model *m, const ooc_csv_block *blk, ooc_error *err);

/* True when some stateful transform has to learn from the data (and what it
 * learned was not loaded). */
bool ooc_model_needs_memorize(const ooc_model *m);

/* Memorize the stateful transforms' arguments in every record of `blk`, in
 * file order (single-threaded).  Errors: OOC_ERR_DATA (a non-number in a
 * numeric variable: file, line, column), OOC_ERR_IO (the sorted copy of a
 * spline's argument in $TMPDIR), OOC_ERR_NOMEM, OOC_ERR_INVALID_ARG (not
 * bound, or finished). */
ooc_status ooc_model_memorize(ooc_model *m, const ooc_csv_block *blk, ooc_error *err);

/* Learn (patsy's memorize_finish) every transform from what was memorized;
 * once (ooc_model_finish_levels calls it).  Errors: OOC_ERR_DATA (nothing to
 * learn from, knots that cannot be placed: the message names the call),
 * OOC_ERR_IO, OOC_ERR_NOMEM. */
ooc_status ooc_model_learn(ooc_model *m, ooc_error *err);

/* Stateful transform i (in factor order): its call as patsy writes it, the
 * values it learned from and the missing ones it left out; false past the
 * last. */
bool ooc_model_transform_info(const ooc_model *m, size_t i, const char **call, uint64_t *n,
                              uint64_t *nmissing);

/* What the transforms learned, as JSON text (*out malloc'ed; NULL when the
 * formula has none).  After learning.  Errors: OOC_ERR_INVALID_ARG (not
 * learned), OOC_ERR_NOMEM. */
ooc_status ooc_model_transforms_json(const ooc_model *m, char **out, ooc_error *err);

/* Take what the transforms learned from JSON that ooc_model_transforms_json
 * wrote for the same formula (`source` names where it came from in
 * messages); nothing is learned from the data then.  Before finishing.
 * Errors: OOC_ERR_INVALID_ARG (another formula's transforms: the message
 * names both calls), OOC_ERR_CORRUPT (not such JSON, damaged values),
 * OOC_ERR_NOMEM. */
ooc_status ooc_model_load_transforms(ooc_model *m, const char *json, const char *source,
                                     ooc_error *err);

/* The level scan's findings so far (each scanned column's distinct
 * non-missing texts, and whether it had missing, non-numeric, non-integral
 * or non-boolean values) as bytes: *out (malloc'ed, the caller frees it),
 * *nbytes.  For processes that each scanned a share of a file: merged with
 * ooc_model_merge_levels, the levels are those of the whole file.
 * Errors: OOC_ERR_INVALID_ARG (not bound, or levels resolved), OOC_ERR_NOMEM. */
ooc_status ooc_model_pack_levels(const ooc_model *m, void **out, size_t *nbytes, ooc_error *err);

/* Add what ooc_model_pack_levels packed from a model of the same formula
 * bound to the same header, as if its blocks had been scanned here too.
 * Errors: OOC_ERR_INVALID_ARG (not bound, or levels resolved),
 * OOC_ERR_INTERNAL (bytes that are not such a model's), OOC_ERR_NOMEM. */
ooc_status ooc_model_merge_levels(ooc_model *m, const void *data, size_t nbytes, ooc_error *err);

/* Fix the levels of every categorical factor: discovered levels sorted as
 * patsy sorts them, given levels as given; references resolved.  Builds no
 * column (memory in proportion to the levels) and frees the scan's tables.
 * Errors: OOC_ERR_DATA (a scanned column has no non-missing value),
 * OOC_ERR_FORMULA (a reference level not among the levels, Poly scores not
 * as many as the levels, Poly of more than 500 levels; caret at the factor),
 * OOC_ERR_NOMEM, OOC_ERR_INVALID_ARG (not bound, or called again: after a
 * failure the model can only be freed). */
ooc_status ooc_model_resolve_levels(ooc_model *m, ooc_error *err);

/* A categorical factor, as ooc_model_categorical_info describes it. */
typedef struct ooc_model_categorical {
    const char *name;    /* the factor as column names show it: "g", "C(g, Sum)" (owned by m) */
    const char *column;  /* the CSV column it reads (owned by m) */
    size_t nlevels;      /* its number of levels */
    const char *text;    /* inferred categorical although the sample also had numbers: the
                          * first non-numeric value, quoted (owned by m); else NULL */
    uint64_t text_line;  /* the line of `text` */
} ooc_model_categorical;

/* Number of categorical factors; 0 until the levels are resolved. */
size_t ooc_model_ncategoricals(const ooc_model *m);

/* Describe categorical factor i (i < ooc_model_ncategoricals(m)) in *out;
 * false when i is out of range. */
bool ooc_model_categorical_info(const ooc_model *m, size_t i, ooc_model_categorical *out);

/* Fix the design's columns (resolving the levels first if not done yet).
 * Errors: those of ooc_model_resolve_levels, OOC_ERR_FORMULA for a design
 * patsy's rules cannot lay out here (a term interacting more than 16
 * categoricals, more than 2^22 columns), OOC_ERR_NOMEM. */
ooc_status ooc_model_finish_levels(ooc_model *m, ooc_error *err);

/* Number of columns of X, and the name of column j (patsy's column_names). */
size_t ooc_model_ncols(const ooc_model *m);
const char *ooc_model_column_name(const ooc_model *m, size_t j);

/* Per-thread scratch space for ooc_model_eval (opaque).  _new returns an
 * owned scratch sized for m, or NULL when out of memory; _free(NULL) is a
 * no-op. */
typedef struct ooc_model_scratch ooc_model_scratch;
ooc_model_scratch *ooc_model_scratch_new(const ooc_model *m);
void ooc_model_scratch_free(ooc_model_scratch *s);

/* Non-finite values (inf, -inf, nan: from "1e400" in the CSV, I(a/0),
 * an overflowing product...) that one ooc_model_eval call wrote, per column.
 * They are kept in X as pandas and patsy keep them; this is what a caller
 * needs to warn about them. */
typedef struct ooc_nonfinite_entry {
    size_t column;    /* column of X; ooc_model_ncols(m) stands for y */
    uint64_t count;   /* non-finite values of this column in the block */
    size_t record;    /* index in the block of the first record with one */
} ooc_nonfinite_entry;

typedef struct ooc_nonfinite {
    ooc_nonfinite_entry *items; /* one per column that has any, in order of first record */
    size_t n, cap;
} ooc_nonfinite;

/* Free the entries (the struct itself is the caller's).  NULL is a no-op. */
void ooc_nonfinite_free(ooc_nonfinite *nf);

/* Where ooc_model_eval_rows writes kept row i (room for blk->nrecords rows):
 * its ncols values of X at X + i*ldx; the response at y[i*ldy]; the extra
 * columns of bind (in their order) at extra + i*ldextra.  y may be NULL
 * only when the model has no response; extra may be NULL (not written).
 * [X y w] rows ld apart: {rows, ld, rows + ncols, ld, rows + ncols + 1, ld}. */
typedef struct ooc_model_rows {
    double *X;
    size_t ldx;
    double *y;
    size_t ldy;
    double *extra;
    size_t ldextra;
} ooc_model_rows;

/* Evaluate the design on `blk` into `out` (the caller's buffers);
 * *nrows_out = rows kept; *ndropped = rows dropped for missing values
 * (of the formula's variables or the extra columns); `nf` (may be NULL) is
 * refilled with the non-finite values written to X and y (the extra columns
 * are not counted).  Thread-safe for distinct scratch objects.  Errors
 * (OOC_ERR_DATA) name file, line, column and quote the text: a non-numeric
 * value in a numeric variable or an extra column, a level not in the given
 * levels (for a boolean factor: file, line and the factor), a missing value
 * when missing_is_error; OOC_ERR_INVALID_ARG (a
 * model not finished, a missing buffer); OOC_ERR_NOMEM (growing nf). */
ooc_status ooc_model_eval_rows(const ooc_model *m, ooc_model_scratch *s,
                               const ooc_csv_block *blk, const ooc_model_rows *out,
                               size_t *nrows_out, size_t *ndropped, ooc_nonfinite *nf,
                               ooc_error *err);

/* ooc_model_eval_rows with X packed (blk->nrecords*ncols capacity,
 * row-major) and y apart (blk->nrecords capacity; may be NULL when the model
 * has no response); the extra columns are read (a row missing one is
 * dropped) but not written.  Errors: as ooc_model_eval_rows. */
ooc_status ooc_model_eval(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                          double *X, double *y, size_t *nrows_out, size_t *ndropped,
                          ooc_nonfinite *nf, ooc_error *err);

/* For a warning about a non-finite value that ooc_model_eval reported for
 * `column` (of X, or ooc_model_ncols(m) for y) in record `record` of blk:
 * writes to buf (NUL-terminated, truncated to `size` bytes, size >= 1) where
 * it came from -- the quoted CSV text and column of a numeric variable, an
 * expression and the texts of its inputs, or the factor values of a product
 * that overflowed -- and returns the value.  Uses s as scratch. */
double ooc_model_describe_nonfinite(const ooc_model *m, ooc_model_scratch *s,
                                    const ooc_csv_block *blk, size_t record, size_t column,
                                    char *buf, size_t size);

/* Free a model.  NULL is a no-op. */
void ooc_model_free(ooc_model *m);

#endif
