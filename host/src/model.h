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
 *      levels were not given), then ooc_model_finish_levels()
 *      (otherwise call ooc_model_finish_levels() directly)
 *   4. ooc_model_eval() on each block: any number of threads concurrently
 *      (the model is read-only from here on).
 *
 * Column order, column names and categorical coding follow patsy's
 * dmatrices exactly (term ordering, full-rank rules for categoricals with or
 * without an intercept and inside interactions, Treatment/Sum contrasts).
 */
#ifndef OOC_MODEL_H
#define OOC_MODEL_H

#include "csv.h"
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
    const char *const *na_values;   /* strings meaning "missing"; NULL: pandas' default list */
    size_t n_na_values;
    bool missing_is_error;          /* report a missing value as OOC_ERR_DATA instead of dropping the row */
} ooc_model_data_options;

/* Resolve variable names against the CSV header (`names`, `ncols`) and infer
 * the type of each plain variable from `sample` (typically the first block;
 * may have zero records).  Errors: OOC_ERR_FORMULA for an unknown column name
 * (message with caret into the formula), OOC_ERR_DATA. */
ooc_status ooc_model_bind(ooc_model *m, const char *const *names, size_t ncols,
                          const ooc_csv_block *sample, const ooc_model_data_options *opts,
                          ooc_error *err);

/* True when some categorical has levels to discover from the data. */
bool ooc_model_needs_level_scan(const ooc_model *m);

/* Add the levels seen in `blk`.  Like patsy, levels come from every row,
 * including rows later dropped for another variable's missing value.
 * Single-threaded. */
ooc_status ooc_model_scan_levels(ooc_model *m, const ooc_csv_block *blk, ooc_error *err);

/* Sort discovered levels as patsy does and fix the design's columns. */
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

/* Evaluate the design on `blk`.  Writes the kept rows to X (row-major,
 * blk->nrecords*ncols capacity) and y (blk->nrecords capacity; may be NULL
 * when the model has no response); *nrows_out = rows kept; *ndropped = rows
 * dropped for missing values.  Thread-safe for distinct scratch objects.
 * Errors (OOC_ERR_DATA) name file, line, column and quote the text: a
 * non-numeric value in a numeric variable, a level not in the given levels,
 * a missing value when missing_is_error. */
ooc_status ooc_model_eval(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                          double *X, double *y, size_t *nrows_out, size_t *ndropped,
                          ooc_error *err);

/* Free a model.  NULL is a no-op. */
void ooc_model_free(ooc_model *m);

#endif
