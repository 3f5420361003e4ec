/*
 * formula_internal.h — internal representation of a parsed formula and the
 * functions the files of the formula wing share: formula_lex.c (tokenizer,
 * patsy token spacing, caret messages), text_index.c (text -> index hash
 * table), pyexpr.c (factors from Python expressions, level literals),
 * terms.c (formula grammar, term algebra), model.c (life cycle), bind.c
 * (binding to CSV columns, level scan), fields.h/.c (CSV field texts as
 * pandas reads them), levels.c (categorical levels), columns.c (design
 * columns) and eval.c (design rows).  Not part of the public interface.
 */
#ifndef OOC_FORMULA_INTERNAL_H
#define OOC_FORMULA_INTERNAL_H

#include "formula/model.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most factors in one term: the parser refuses more (after merging repeated
 * factors), so the model's per-term arrays have this size. */
#define OOC_MAX_TERM_FACTORS 64

/* Deepest nesting the parsers follow (parentheses and calls inside a factor;
 * parenthesised right operands and unary operators in the formula), so that
 * hostile formulas cannot exhaust the stack.  A chain of operators at one
 * level (a + b + c ...) is parsed in a loop, however long. */
#define OOC_MAX_NESTING 200

/* ---- text -> index hash table (open addressing, linear probing) ----
 * Defined in text_index.c; used for variable names and factor codes while parsing,
 * header names at bind, and level texts (scan and lookup). */
typedef struct ooc_text_slot {
    char *key;           /* NULL: empty slot */
    size_t len;          /* key length in bytes (the key may hold NUL bytes) */
    size_t value;
} ooc_text_slot;

typedef struct ooc_text_index {
    ooc_text_slot *slots;
    size_t cap;          /* power of two; 0: empty */
    size_t n;
    bool owns_keys;      /* keys are copies freed with the index; else borrowed */
} ooc_text_index;

/* The group keys' dictionary of texts (eval.c): text -> id, shared by the
 * evaluation threads under its lock. */
typedef struct ooc_key_dict ooc_key_dict;

/* A new, empty dictionary; NULL when out of memory. */
ooc_key_dict *ooc_key_dict_new(void);

/* Free it.  NULL is a no-op. */
void ooc_key_dict_free(ooc_key_dict *d);

/* Value stored for text s[0..len) in ix; false when absent. */
bool ooc_text_index_find(const ooc_text_index *ix, const char *s, size_t len, size_t *value);

/* Insert s[0..len) -> value (copying the text when the index owns its keys;
 * borrowed keys must outlive the index).  An existing key keeps its value.
 * Returns false when out of memory. */
bool ooc_text_index_insert(ooc_text_index *ix, const char *s, size_t len, size_t value);

/* Free the table (and owned keys) and empty it.  NULL is a no-op. */
void ooc_text_index_free(ooc_text_index *ix);

/* ---- tokens of the Python-like expression language ---- */
typedef enum ooc_tok_type { OOC_TOK_NAME, OOC_TOK_NUMBER, OOC_TOK_STRING, OOC_TOK_OP } ooc_tok_type;

typedef struct ooc_tok {
    ooc_tok_type type;
    size_t start; /* byte offset in the formula */
    size_t len;
} ooc_tok;

/* Split `text` into tokens (whitespace skipped).  *out is malloc'ed and owned
 * by the caller.  Errors: OOC_ERR_FORMULA (caret message), OOC_ERR_NOMEM. */
ooc_status ooc_formula_tokenize(const char *text, ooc_tok **out, size_t *ntok, ooc_error *err);

/* True when token `t` of `text` is exactly the operator string `op`. */
bool ooc_tok_is(const char *text, const ooc_tok *t, const char *op);

/* patsy's pretty_untokenize of toks[0..n): the normalised code text used as a
 * factor's name.  Returns a malloc'ed string or NULL when out of memory. */
char *ooc_formula_untokenize(const char *text, const ooc_tok *toks, size_t n);

/* Record an OOC_ERR_FORMULA error whose message is
 *   "formula error: <what>\n  <formula>\n  <spaces>^^^"
 * with carets under formula[pos, pos+len).  Returns OOC_ERR_FORMULA. */
ooc_status ooc_formula_error(ooc_error *err, const char *formula, size_t pos, size_t len,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Python's repr() of a float ("1.0", "0.1", "1e-05", "inf"), into dst. */
void ooc_python_float_repr(double v, char *dst, size_t dstsize);

/* ---- levels of categorical factors ---- */
typedef enum ooc_level_kind {
    OOC_LEVEL_INT,   /* integral number printed without a decimal point */
    OOC_LEVEL_FLOAT, /* number printed as Python's float repr */
    OOC_LEVEL_STR,   /* text */
    OOC_LEVEL_BOOL   /* False (0) / True (1) */
} ooc_level_kind;

typedef struct ooc_level {
    ooc_level_kind kind;
    double num;  /* INT/FLOAT/BOOL value */
    char *text;  /* owned: the string for STR, the printed form for all kinds */
} ooc_level;

/* A list of level values parsed from a Python-like literal: [..], (..),
 * range(..), list(range(..)), np.arange(..). */
typedef struct ooc_level_list {
    ooc_level *items;
    size_t n;
} ooc_level_list;

/* Free the items and their owned text and empty the list.  NULL is a no-op. */
void ooc_level_list_free(ooc_level_list *l);

/* Python equality between two levels (1 == 1.0 == True, strings by text). */
bool ooc_level_equal(const ooc_level *a, const ooc_level *b);

/* Printed form of a level as patsy names it: s[0..slen) for STR, "True" /
 * "False" for BOOL, v without a decimal point for INT, Python's float repr
 * for FLOAT.  Returns a malloc'ed string or NULL when out of memory. */
char *ooc_level_text(ooc_level_kind kind, double v, const char *s, size_t slen);

/* ---- expressions (I(), np.log(), comparisons, ...) compiled to postfix ----
 * Values are doubles; a boolean is 0.0 (False) or 1.0 (True).  Operations
 * take their operands from the top of the stack (ooc_ex_arity of them) and
 * push one result. */
typedef enum ooc_ex_op {
    OOC_EX_CONST, OOC_EX_VAR, OOC_EX_NEG, OOC_EX_ADD, OOC_EX_SUB, OOC_EX_MUL, OOC_EX_DIV,
    OOC_EX_POW, OOC_EX_SQUARE, OOC_EX_SQRT, OOC_EX_RECIP, OOC_EX_LOG, OOC_EX_LOG1P, OOC_EX_EXP,
    OOC_EX_ABS, OOC_EX_LOG10, OOC_EX_LOG2, OOC_EX_EXPM1, OOC_EX_SIN, OOC_EX_COS, OOC_EX_FLOOR,
    OOC_EX_CEIL,
    OOC_EX_MIN, OOC_EX_MAX,                 /* numpy's minimum / maximum (NaN propagates) */
    OOC_EX_CLIP,                            /* numpy's clip(x, lo, hi) */
    OOC_EX_WHERE,                           /* numpy's where(cond, a, b) */
    OOC_EX_LT, OOC_EX_LE, OOC_EX_GT, OOC_EX_GE, OOC_EX_EQ, OOC_EX_NE, /* -> boolean */
    OOC_EX_AND, OOC_EX_OR, OOC_EX_XOR, OOC_EX_NOT, /* booleans -> boolean */
    OOC_EX_TRANSFORM,                       /* center/standardize: the factor's transform
                                             * `var` applied to its operand (eval.c) */
    OOC_EX_TEXT                             /* -> boolean: the record's result of the
                                             * model's text comparison `var` (tests) */
} ooc_ex_op;

/* Operands an operation takes from the stack (0 for CONST, VAR and TEXT). */
static inline int ooc_ex_arity(ooc_ex_op op)
{
    switch (op) {
    case OOC_EX_CONST:
    case OOC_EX_VAR:
    case OOC_EX_TEXT: return 0;
    case OOC_EX_ADD: case OOC_EX_SUB: case OOC_EX_MUL: case OOC_EX_DIV: case OOC_EX_POW:
    case OOC_EX_MIN: case OOC_EX_MAX: case OOC_EX_LT: case OOC_EX_LE: case OOC_EX_GT:
    case OOC_EX_GE: case OOC_EX_EQ: case OOC_EX_NE: case OOC_EX_AND: case OOC_EX_OR:
    case OOC_EX_XOR: return 2;
    case OOC_EX_CLIP:
    case OOC_EX_WHERE: return 3;
    default: return 1;
    }
}

/* The result of operation op (arity 1 to 3) on x, y, z, as numpy computes it
 * elementwise on float64: the C library's functions (log10 in long double:
 * glibc's double log10 is only within 2 ulps, and numpy's within 1), NaN
 * propagating through minimum / maximum (on a tie the second operand, as
 * numpy), clip keeping x on a tie and ignoring a NaN bound, where's NaN
 * condition true, comparisons false against NaN (!= true).  The one
 * definition of the operations: constant folding (pyexpr.c) and evaluation
 * (eval.c) both use it. */
static inline double ooc_ex_eval(ooc_ex_op op, double x, double y, double z)
{
    switch (op) {
    case OOC_EX_NEG: return -x;
    case OOC_EX_ADD: return x + y;
    case OOC_EX_SUB: return x - y;
    case OOC_EX_MUL: return x * y;
    case OOC_EX_DIV: return x / y;
    case OOC_EX_POW: return pow(x, y);
    case OOC_EX_SQUARE: return x * x;
    case OOC_EX_SQRT: return sqrt(x);
    case OOC_EX_RECIP: return 1.0 / x;
    case OOC_EX_LOG: return log(x);
    case OOC_EX_LOG1P: return log1p(x);
    case OOC_EX_EXP: return exp(x);
    case OOC_EX_ABS: return fabs(x);
    case OOC_EX_LOG10: return (double)log10l((long double)x);
    case OOC_EX_LOG2: return log2(x);
    case OOC_EX_EXPM1: return expm1(x);
    case OOC_EX_SIN: return sin(x);
    case OOC_EX_COS: return cos(x);
    case OOC_EX_FLOOR: return floor(x);
    case OOC_EX_CEIL: return ceil(x);
    case OOC_EX_MIN: return isnan(x) ? x : x < y ? x : y;
    case OOC_EX_MAX: return isnan(x) ? x : x > y ? x : y;
    case OOC_EX_CLIP: {
        double v = x < y ? y : x;
        return v > z ? z : v;
    }
    case OOC_EX_WHERE: return x != 0 ? y : z;
    case OOC_EX_LT: return x < y;
    case OOC_EX_LE: return x <= y;
    case OOC_EX_GT: return x > y;
    case OOC_EX_GE: return x >= y;
    case OOC_EX_EQ: return x == y;
    case OOC_EX_NE: return x != y;
    case OOC_EX_AND: return (x != 0) && (y != 0);
    case OOC_EX_OR: return (x != 0) || (y != 0);
    case OOC_EX_XOR: return (x != 0) != (y != 0);
    case OOC_EX_NOT: return x == 0;
    case OOC_EX_CONST:
    case OOC_EX_VAR:
    case OOC_EX_TEXT:      /* operands of the record: eval.c */
    case OOC_EX_TRANSFORM: break; /* needs what the transform learned: eval.c */
    }
    return NAN;
}

typedef struct ooc_ex_instr {
    ooc_ex_op op;
    size_t var;   /* OOC_EX_VAR: variable index; OOC_EX_TEXT: text comparison index */
    double value; /* OOC_EX_CONST */
} ooc_ex_instr;

/* A column of texts compared with a string literal (g == 'a', 'a' != g), as
 * pandas compares a str column: the field's exact text (spaces kept) against
 * the literal's, a missing field equal to nothing (== False, != True).  Each
 * is evaluated once per record (eval.c) and read by OOC_EX_TEXT. */
typedef struct ooc_text_test {
    size_t var;          /* the variable compared */
    bool equal;          /* ==; else != */
    char *text;          /* the literal, decoded (owned; may hold NUL bytes) */
    size_t len;
    size_t origin, origin_len; /* the comparison in the formula (carets) */
} ooc_text_test;

/* ---- factors, variables, terms ---- */
typedef enum ooc_factor_kind {
    OOC_FACTOR_VAR,  /* a bare column name: numeric or (decided at bind) categorical */
    OOC_FACTOR_CAT,  /* C(name, ...) */
    OOC_FACTOR_EXPR, /* numeric expression: I(...), np.log(x), ... */
    OOC_FACTOR_BOOL, /* boolean expression (a > 0, I((a > 0) & (b < 1)), C(a > 0, ...)):
                      * categorical, levels [False, True] unless given */
    OOC_FACTOR_SPLINE, /* bs(), cr(), cc() of an expression: prog computes the argument,
                        * tf[0] the columns */
    OOC_FACTOR_CATEXPR /* C() of a numeric expression with given numeric levels: prog
                        * computes the value, matched to a level as a number */
} ooc_factor_kind;

/* The factor reads one CSV column as its value (VAR, CAT); else it runs prog. */
static inline bool ooc_factor_reads_column(ooc_factor_kind k)
{
    return k == OOC_FACTOR_VAR || k == OOC_FACTOR_CAT;
}

typedef enum ooc_contrast_kind {
    OOC_CONTRAST_TREATMENT, OOC_CONTRAST_SUM, OOC_CONTRAST_HELMERT, OOC_CONTRAST_DIFF,
    OOC_CONTRAST_POLY
} ooc_contrast_kind;

/* ---- stateful transforms (transforms.c, splines.c) ----
 * patsy's center, standardize (scale), bs, cr and cc: what each is asked for,
 * what it memorizes in the scan pass over every record, and what it learns
 * from that before the design pass (or reads back from an ingested file). */
/* Most columns a spline may have (its basis is computed on the stack). */
#define OOC_MAX_SPLINE_COLUMNS 200
#define OOC_STR_(x) #x
#define OOC_STR(x) OOC_STR_(x)

typedef enum ooc_transform_kind {
    OOC_TF_CENTER, OOC_TF_STANDARDIZE, OOC_TF_BS, OOC_TF_CR, OOC_TF_CC
} ooc_transform_kind;

typedef struct ooc_transform {
    ooc_transform_kind kind;
    char *code;              /* the call as patsy writes it: "center(x)" (owned) */
    size_t origin, origin_len; /* the call in the formula (carets) */
    /* arguments */
    bool center, rescale;    /* standardize */
    double ddof;
    long df;                 /* bs/cr/cc: 0 when not given */
    bool has_knots;
    double *knots;           /* the given inner knots (owned) */
    size_t nknots;
    long degree;             /* bs */
    bool include_intercept;  /* bs */
    bool has_lower, has_upper;
    double lower, upper;
    bool constrain_center;   /* cr/cc: constraints='center' */
    /* memorized */
    uint64_t n, nmissing;    /* values seen; NaN arguments left out */
    long double sum, comp;   /* center: Neumaier's sum */
    long double mean, m2;    /* standardize: patsy's running mean and M2, row by row */
    double min, max;
    struct ooc_sorted_spill *spill; /* bs/cr/cc that need the values again: quantile
                                     * knots, or cr/cc's centering constraint */
    /* learned */
    bool learned;
    double mean_value;       /* center: the mean as patsy subtracts it (float64) */
    long double scale;       /* standardize: sqrt(M2 / (n - ddof)) */
    double *all_knots;       /* bs: with the boundary knots repeated; cr/cc: distinct */
    size_t nall;
    double *f;               /* cr/cc: the map from values at the knots to second
                              * derivatives, nbasis x nall (row-major) */
    double *constraint;      /* cr/cc with constraints='center': the unconstrained
                              * columns' means (nbasis) */
    double *q;               /* cr/cc with a constraint: nbasis x width, the basis of the
                              * constraint's null space the columns are multiplied by */
    size_t nbasis;           /* cr/cc: unconstrained columns */
    size_t width;            /* columns the transform gives (1: center, standardize) */
} ooc_transform;

typedef struct ooc_factor {
    ooc_factor_kind kind;
    char *code;          /* patsy's normalised code: the factor's name */
    size_t origin, origin_len;
    size_t var;          /* VAR, CAT: the variable */
    bool categorical;    /* CAT, BOOL, or VAR whose sample data is not numeric */
    /* categoricals */
    ooc_contrast_kind contrast;
    bool has_ref;        /* Treatment(reference=v) / Sum(omit=v) */
    ooc_level ref;
    bool has_given_levels;
    ooc_level_list levels;  /* given, or discovered by the level scan */
    size_t ref_index;       /* resolved at finish */
    double *scores;         /* Poly(scores=[...]): nscores values (owned); NULL: 0, 1, ... */
    size_t nscores;
    double *poly;           /* Poly: levels x levels coding, row-major (column 0 the
                             * constant), computed when the levels are resolved (owned) */
    /* EXPR, BOOL, SPLINE */
    ooc_ex_instr *prog;
    size_t nprog;
    size_t stack_depth;
    ooc_transform *tf;      /* stateful transforms the program calls (OOC_EX_TRANSFORM
                             * var: index), or SPLINE's (owned) */
    size_t ntf;
    /* numeric factors: their values in the evaluation scratch (set at finish) */
    size_t value_at;        /* first value */
    size_t width;           /* values: 1, or a spline's columns */
} ooc_factor;

typedef struct ooc_variable {
    char *name;          /* CSV column name */
    size_t origin, origin_len; /* first use in the formula (for carets) */
    size_t column;       /* CSV column index, set at bind */
    bool numeric_use;    /* read as a number (bare numeric or inside an expression); set at bind */
    bool needs_scan;     /* some categorical factor of it has no given levels */
    ooc_column_type pinned; /* set at bind from the caller's dtypes; 0: inferred */
    char *text;          /* inferred categorical with numbers in the sample: the first
                          * non-numeric value, quoted (owned); NULL otherwise */
    uint64_t text_line;  /* its line */
    /* level scan state: distinct non-missing texts and what they look like
     * (freed once the levels are resolved) */
    ooc_text_index *seen;
    bool any_missing, all_numeric, all_integral, all_bool;
} ooc_variable;

typedef struct ooc_term {
    size_t *factors;     /* factor indices, in order of appearance; empty: intercept */
    size_t nfactors;
} ooc_term;

typedef struct ooc_term_list {
    ooc_term *items;
    size_t n, cap;
} ooc_term_list;

/* How a design column uses one of its factors.  Contrast columns are sparse,
 * so a categorical part is described by the levels where its coefficient is
 * not 0 instead of a vector over all levels. */
typedef enum ooc_part_kind {
    OOC_PART_NUMERIC,    /* the factor's value */
    OOC_PART_INDICATOR,  /* 1 at `level`, else 0 (treatment, full-rank dummy) */
    OOC_PART_SUM,        /* 1 at `level`, -1 at the factor's reference, else 0 */
    OOC_PART_ONES,       /* 1 at every level (Sum's full-rank "[mean]" column) */
    OOC_PART_CODED       /* Helmert, Diff, Poly: column `level` of the factor's full-rank
                          * coding (ooc_contrast_value), 0 being the constant column */
} ooc_part_kind;

typedef struct ooc_col_part {
    size_t factor;
    ooc_part_kind kind;
    size_t level;        /* INDICATOR, SUM; CODED: the coding's column */
    size_t ref;          /* SUM: the reference level */
} ooc_col_part;

typedef struct ooc_column {
    char *name;
    size_t first_part, nparts;
} ooc_column;

/* Per-categorical-factor lookup built when the levels are resolved. */
typedef struct ooc_factor_lookup {
    ooc_text_index by_text;    /* STR levels */
    double *sorted_values;     /* numeric levels sorted, with ... */
    size_t *sorted_index;      /* ... their level indices */
    size_t nsorted;
    size_t bool_index[2];      /* BOOL levels: index of False / True, SIZE_MAX if absent */
} ooc_factor_lookup;

struct ooc_model {
    char *formula;
    ooc_variable *vars;
    size_t nvars, vars_cap;
    ooc_text_index var_index;         /* variable name -> index (borrowed keys) */
    ooc_factor *factors;
    size_t nfactors, factors_cap;
    ooc_text_index factor_index;      /* factor code -> index (borrowed keys) */
    bool has_response;
    size_t response_factor;
    ooc_term_list rhs;       /* in formula order (intercept as the empty term); every factor
                              * and variable is used by these terms or is the response */
    ooc_text_test *tests;    /* text comparisons of the factors' programs (OOC_EX_TEXT) */
    size_t ntests, tests_cap;
    /* bind */
    bool bound;
    size_t csv_columns;               /* fields per record of the bound CSV */
    char *file_name;
    char **na_values;
    size_t *na_lens;
    size_t n_na_values;
    uint64_t na_len_mask;             /* bit L set when some NA string has length L (< 64) */
    unsigned char na_first_char[256]; /* 1 when some NA string starts with this byte */
    bool na_empty;                    /* "" is missing */
    bool missing_is_error;
    size_t *extra_columns;            /* CSV columns of the data options' extra_columns ... */
    char **extra_names;               /* ... and their names (owned) */
    size_t nextra;
    size_t nextra_keys;               /* the last nextra_keys extra columns are group keys */
    struct ooc_key_dict *key_dict;    /* their texts' ids (eval.c); NULL: no keys */
    bool *key_text;                   /* per key column: texts (else numbers) */
    /* resolve levels */
    bool levels_resolved;
    ooc_factor_lookup *lookups;       /* per factor (used for categoricals) */
    size_t *categoricals;             /* indices of the categorical factors */
    size_t ncategoricals;
    /* finish */
    bool finished;
    ooc_column *columns;
    size_t ncols;
    ooc_col_part *parts;
    size_t nparts, parts_cap;
    size_t nvalues;          /* numeric factors' values: sum of widths */
    bool transforms_learned; /* every transform has learned (or been given) its state */
    struct ooc_model_scratch *memo; /* the memorize pass's scratch (transform_state.c) */
};

/* Per-thread evaluation scratch (eval.c). */
struct ooc_model_scratch {
    double *var_value;
    unsigned char *var_missing;
    double *test_value;  /* the record's text comparisons: 0 or 1 (ooc_model.tests) */
    size_t *level;
    double *value;       /* numeric factors' values (ooc_factor value_at, width) */
    double *stack;
    double *extra_value; /* the record's extra columns; NaN: missing */
    size_t *nf_entry;    /* per column of X, then y: its entry in the block's ooc_nonfinite, or
                            SIZE_MAX; all SIZE_MAX between calls */
};

/* Read record r's variables into s (numbers, NaN when missing; whether each
 * is missing) and its text comparisons.  Errors (OOC_ERR_DATA): a non-number
 * in a numeric variable, naming file, line and column. */
ooc_status ooc_model_read_variables(const ooc_model *m, ooc_model_scratch *s,
                                    const ooc_csv_block *blk, size_t r, ooc_error *err);

/* Value of column j (0: the constant column) of the full-rank Helmert, Diff or
 * Poly coding of categorical factor f at level `level` (levels.c); patsy's
 * numbers: Helmert's integers, Diff's (j-n)/n and j/n, Poly's orthonormal
 * polynomials. */
double ooc_contrast_value(const ooc_factor *f, size_t level, size_t j);

/* ---- stateful transforms (transforms.c) ---- */

/* Free what t owns and zero it.  NULL is a no-op. */
void ooc_transform_free(ooc_transform *t);

/* Free the transforms factor f owns. */
void ooc_factor_free_transforms(ooc_factor *f);

/* Check t's arguments as patsy's memorize_finish would (df against degree and
 * knots, bounds against knots) and size it (width) where the data are not
 * needed for that.  Errors: OOC_ERR_FORMULA with a caret at the call. */
ooc_status ooc_transform_check(ooc_transform *t, const char *formula, ooc_error *err);

/* True when t has something to learn from the data. */
bool ooc_transform_needs_data(const ooc_transform *t);

/* Memorize one value of t's argument (NaN: counted in nmissing, else used).
 * Errors: OOC_ERR_DATA (an infinite value: the message names the call, not
 * the row), OOC_ERR_IO (the sorted spill), OOC_ERR_NOMEM. */
ooc_status ooc_transform_memorize(ooc_transform *t, double x, ooc_error *err);

/* What t learns from its memorized values (patsy's memorize_finish).
 * Errors: OOC_ERR_DATA (nothing to learn from, knots that cannot be placed:
 * the message names the call), OOC_ERR_IO, OOC_ERR_NOMEM. */
ooc_status ooc_transform_learn(ooc_transform *t, const char *file_name, ooc_error *err);

/* center / standardize applied to x. */
double ooc_transform_value(const ooc_transform *t, double x);

/* A spline's t->width columns at x into out; false when patsy refuses x
 * (bs: outside the knots). */
bool ooc_transform_columns(const ooc_transform *t, double x, double *out);

/* ---- splines (splines.c): patsy's arithmetic ---- */

/* The n - degree - 1 B-spline basis functions of `degree` on the sorted
 * knots t[0..n) at x (t[degree] <= x <= t[n-degree-1]) into out, as scipy's
 * splev computes each (FITPACK's fpbspl, the same operations in the same
 * order). */
void ooc_bspline_basis(const double *t, size_t n, size_t degree, double x, double *out);

/* patsy's natural (cyclic: false) or cyclic cubic regression spline: the
 * map F from values at the n distinct sorted knots to second derivatives,
 * rows x n row-major (rows = n natural, n - 1 cyclic).  Errors: OOC_ERR_DATA
 * (a singular system), OOC_ERR_NOMEM. */
ooc_status ooc_crs_second_derivative_map(const double *knots, size_t n, bool cyclic, double *f,
                                         ooc_error *err);

/* The unconstrained cr/cc basis at x (n or n - 1 values) from the knots and
 * F: patsy's _get_free_crs_dmatrix for one row. */
void ooc_crs_basis(const double *knots, size_t n, bool cyclic, const double *f, double x,
                   double *out);

/* The null space of the 1 x k constraint c as k x (k - 1) row-major q:
 * columns 1.. of the complete Q of c's QR, as scipy.linalg.qr gives it.
 * Errors: OOC_ERR_DATA (LAPACK failed), OOC_ERR_NOMEM. */
ooc_status ooc_constraint_null_space(const double *c, size_t k, double *q, ooc_error *err);

/* The transforms of the response and rhs factors: run f's program on the
 * record read into s (ooc_model_read_variables) with s's stack (`feed`:
 * memorize each transform's operand instead of applying it, leaving it on
 * the stack). */
double ooc_factor_run(const ooc_factor *f, ooc_model_scratch *s, bool feed,
                      ooc_status *feed_status, ooc_error *err);

/* ---- parsing (terms.c, pyexpr.c) ---- */

/* Parse the formula into m (vars, factors, terms).  Used by ooc_model_parse. */
ooc_status ooc_formula_build(ooc_model *m, const ooc_formula_var *vars, size_t nvars,
                             ooc_error *err);

/* The factor of the Python expression toks[first, first+count) of m->formula
 * (*index): found by its normalised code, or added to m with the variables it
 * reads (a factor that fails to parse stays in m, freed with it).  `fvars`
 * supplies the values of levels=NAME.  Errors: OOC_ERR_FORMULA (caret
 * message), OOC_ERR_NOMEM. */
ooc_status ooc_formula_make_factor(ooc_model *m, const ooc_tok *toks, size_t first,
                                   size_t count, const ooc_formula_var *fvars, size_t nfvars,
                                   size_t *index, ooc_error *err);

/* Parse a level-list literal from `text` (a formula variable's value).
 * Errors are reported with a caret into `formula` at [pos, pos+len). */
ooc_status ooc_parse_level_literal(const char *text, ooc_level_list *out, const char *formula,
                                   size_t pos, size_t len, ooc_error *err);

#endif
