/*
 * eval.c — evaluation of design rows from CSV blocks: per-thread scratch,
 * the stack machine that runs numeric expressions, reading a record's
 * variables and factors (a categorical's level through its lookup table),
 * the product of each column's parts, and the description of where a
 * non-finite value came from.
 *
 * Missing values follow patsy's NA_action="drop": a row is dropped when a
 * categorical factor's value is missing or a numeric factor's value is NaN
 * (a missing numeric field reads as NaN).  A boolean factor is never missing:
 * numpy's comparisons with NaN are False (!= True), so are pandas' of a
 * missing text with a string, and patsy keeps the row.
 */
#include "base/error.h"
#include "formula/fields.h"
#include "csv/numparse.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ooc_model_scratch *ooc_model_scratch_new(const ooc_model *m)
{
    ooc_model_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->var_value = calloc(m->nvars + 1, sizeof *s->var_value);
    s->var_missing = calloc(m->nvars + 1, 1);
    s->test_value = calloc(m->ntests + 1, sizeof *s->test_value);
    s->level = calloc(m->nfactors + 1, sizeof *s->level);
    size_t depth = 0;
    for (size_t i = 0; i < m->nfactors; i++)
        if (m->factors[i].stack_depth > depth)
            depth = m->factors[i].stack_depth;
    s->value = calloc(m->nvalues + 1, sizeof *s->value);
    s->stack = calloc(depth + 1, sizeof *s->stack);
    s->extra_value = calloc(m->nextra + 1, sizeof *s->extra_value);
    s->nf_entry = malloc((m->ncols + 1) * sizeof *s->nf_entry);
    if (!s->var_value || !s->var_missing || !s->test_value || !s->level || !s->value || !s->stack ||
        !s->extra_value || !s->nf_entry) {
        ooc_model_scratch_free(s);
        return NULL;
    }
    for (size_t c = 0; c <= m->ncols; c++)
        s->nf_entry[c] = SIZE_MAX;
    return s;
}

void ooc_model_scratch_free(ooc_model_scratch *s)
{
    if (!s)
        return;
    free(s->var_value);
    free(s->var_missing);
    free(s->test_value);
    free(s->level);
    free(s->value);
    free(s->stack);
    free(s->extra_value);
    free(s->nf_entry);
    free(s);
}

void ooc_nonfinite_free(ooc_nonfinite *nf)
{
    if (!nf)
        return;
    free(nf->items);
    memset(nf, 0, sizeof *nf);
}

double ooc_factor_run(const ooc_factor *f, ooc_model_scratch *s, bool feed,
                      ooc_status *feed_status, ooc_error *err)
{
    const double *vars = s->var_value;
    double *st = s->stack;
    size_t sp = 0;
    for (size_t i = 0; i < f->nprog; i++) {
        const ooc_ex_instr *in = &f->prog[i];
        switch (in->op) {
        case OOC_EX_CONST: st[sp++] = in->value; break;
        case OOC_EX_VAR: st[sp++] = vars[in->var]; break;
        case OOC_EX_TEXT: st[sp++] = s->test_value[in->var]; break;
        case OOC_EX_ADD: sp--; st[sp - 1] = st[sp - 1] + st[sp]; break;
        case OOC_EX_SUB: sp--; st[sp - 1] = st[sp - 1] - st[sp]; break;
        case OOC_EX_MUL: sp--; st[sp - 1] = st[sp - 1] * st[sp]; break;
        case OOC_EX_DIV: sp--; st[sp - 1] = st[sp - 1] / st[sp]; break;
        case OOC_EX_TRANSFORM:
            if (!feed)
                st[sp - 1] = ooc_transform_value(&f->tf[in->var], st[sp - 1]);
            else if (*feed_status == OOC_OK)
                *feed_status = ooc_transform_memorize(&f->tf[in->var], st[sp - 1], err);
            break;
        default: {
            size_t k = (size_t)ooc_ex_arity(in->op);
            sp -= k - 1;
            double *a = &st[sp - 1];
            a[0] = ooc_ex_eval(in->op, a[0], k > 1 ? a[1] : 0.0, k > 2 ? a[2] : 0.0);
            break;
        }
        }
    }
    return st[0];
}

/* f's program run on the record read into s, applying its transforms. */
static double run_program(const ooc_factor *f, ooc_model_scratch *s)
{
    return ooc_factor_run(f, s, false, NULL, NULL);
}

/* The OOC_ERR_DATA error about CSV column `column` (named `name`) of record
 * `row`: file, line, column, `what` and the quoted text. */
static ooc_status field_error(const ooc_model *m, ooc_error *err, const ooc_csv_block *blk,
                              size_t row, size_t column, const char *name, const char *what)
{
    size_t len;
    const char *s = ooc_field_text(blk, row, column, &len);
    char q[64];
    ooc_quote_excerpt(q, sizeof q, s, len);
    return OOC_FAIL(err, OOC_ERR_DATA, "%s, line %llu, column '%s': %s %s", m->file_name,
                    (unsigned long long)blk->line_numbers[row], name, what, q);
}

/* field_error about variable `var`'s column. */
static ooc_status data_error(const ooc_model *m, ooc_error *err, const ooc_csv_block *blk,
                             size_t row, size_t var, const char *what)
{
    return field_error(m, err, blk, row, m->vars[var].column, m->vars[var].name, what);
}

/* The number in text t[0..len) of a numeric field into *x: NaN when missing
 * (one of the missing-value texts, or a NaN spelling).  False when it is not
 * a number. */
static inline bool read_number(const ooc_model *m, const char *t, size_t len, double *x)
{
    *x = NAN;
    return ooc_field_is_na(m, t, len) || ooc_parse_double(t, len, x);
}

/* Level index of the number x among numeric (or boolean) levels; false when
 * it is none of them. */
static bool lookup_number(const ooc_factor *f, const ooc_factor_lookup *lk, double x,
                          size_t *level)
{
    if (f->levels.items[0].kind == OOC_LEVEL_BOOL) {
        if ((x != 0 && x != 1) || lk->bool_index[x != 0] == SIZE_MAX)
            return false;
        *level = lk->bool_index[x != 0];
        return true;
    }
    size_t lo = 0, hi = lk->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (lk->sorted_values[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == lk->nsorted || lk->sorted_values[lo] != x)
        return false;
    *level = lk->sorted_index[lo];
    return true;
}

/* Level index of the text of a categorical factor; false when not a level. */
static bool lookup_level(const ooc_factor *f, const ooc_factor_lookup *lk, const char *s,
                         size_t len, size_t *level)
{
    switch (f->levels.items[0].kind) {
    case OOC_LEVEL_STR: return ooc_text_index_find(&lk->by_text, s, len, level);
    case OOC_LEVEL_BOOL: {
        int b = ooc_field_bool(s, len);
        if (b < 0 || lk->bool_index[b] == SIZE_MAX)
            return false;
        *level = lk->bool_index[b];
        return true;
    }
    default: {
        double x;
        return ooc_parse_double(s, len, &x) && lookup_number(f, lk, x, level);
    }
    }
}

/* The group keys' dictionary: texts -> ids under one lock (the evaluation
 * threads share it), and the texts by id.  Ids are in order of first sight,
 * so they differ from run to run with several threads; a key is only
 * compared for equality (ingest numbers them in row order). */
struct ooc_key_dict {
    pthread_mutex_t lock;
    ooc_text_index ix;  /* its keys borrowed from texts */
    char **texts; /* ix.n texts by id (owned) */
    size_t *lens;
    size_t cap;
};

ooc_key_dict *ooc_key_dict_new(void)
{
    ooc_key_dict *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

void ooc_key_dict_free(ooc_key_dict *d)
{
    if (!d)
        return;
    const size_t n = d->ix.n; /* the index forgets it when freed */
    ooc_text_index_free(&d->ix);
    for (size_t i = 0; i < n; i++)
        free(d->texts[i]);
    free(d->texts);
    free(d->lens);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* The id of t[0..len), added when new (under d's lock).  False when out of
 * memory. */
static bool key_dict_id(ooc_key_dict *d, const char *t, size_t len, size_t *id)
{
    bool ok = true;
    pthread_mutex_lock(&d->lock);
    if (!ooc_text_index_find(&d->ix, t, len, id)) {
        *id = d->ix.n;
        if (*id == d->cap) {
            size_t cap = d->cap ? 2 * d->cap : 64;
            char **texts = realloc(d->texts, cap * sizeof *texts);
            if (texts)
                d->texts = texts;
            size_t *lens = texts ? realloc(d->lens, cap * sizeof *lens) : NULL;
            if (lens)
                d->lens = lens;
            ok = texts && lens;
            if (ok)
                d->cap = cap;
        }
        char *copy = ok ? malloc(len + 1) : NULL;
        if (copy) {
            memcpy(copy, t, len);
            copy[len] = '\0';
        }
        ok = copy && ooc_text_index_insert(&d->ix, copy, len, *id);
        if (ok) {
            d->texts[*id] = copy;
            d->lens[*id] = len;
        } else {
            free(copy);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return ok;
}

const char *ooc_model_key_text(const ooc_model *m, uint64_t key, size_t *len)
{
    const ooc_key_dict *d = m->key_dict;
    if (!d || key < OOC_KEY_TEXT_BASE || key - OOC_KEY_TEXT_BASE >= d->ix.n)
        return NULL;
    *len = d->lens[key - OOC_KEY_TEXT_BASE];
    return d->texts[key - OOC_KEY_TEXT_BASE];
}

bool ooc_model_key_is_text(const ooc_model *m, size_t k)
{
    return m->key_text && k < m->nextra_keys && m->key_text[k];
}

/* A missing key (no number or text has it). */
#define KEY_MISSING UINT64_C(0x7FF8000000000000)

/* The key of key column k's text t[0..len) (ooc_model.h, OOC_KEY_TEXT_BASE)
 * into *slot's bits; KEY_MISSING for a missing value.  Errors: OOC_ERR_DATA
 * (a numeric key column's text that is not a number), OOC_ERR_NOMEM. */
static ooc_status group_key(const ooc_model *m, size_t k, const ooc_csv_block *blk, size_t r,
                            size_t column, const char *t, size_t len, double *slot,
                            ooc_error *err)
{
    uint64_t key = KEY_MISSING;
    double v;
    if (ooc_field_is_na(m, t, len) || ooc_field_is_nan(t, len)) {
        /* missing */
    } else if (!ooc_model_key_is_text(m, k)) {
        if (!ooc_parse_double(t, len, &v))
            return field_error(m, err, blk, r, column,
                               m->extra_names[m->nextra - m->nextra_keys + k],
                               "expected a number (the group column's first records are "
                               "numbers; --dtype NAME=str reads its values as texts), found");
        v = v == 0.0 ? 0.0 : v;
        memcpy(&key, &v, sizeof key);
    } else {
        size_t id;
        if (!key_dict_id(m->key_dict, t, len, &id))
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for the group keys");
        key = OOC_KEY_TEXT_BASE + id;
    }
    memcpy(slot, &key, sizeof key);
    return OOC_OK;
}

/* True when extra column k's slot holds a missing key. */
static bool key_missing(const double *slot)
{
    uint64_t key;
    memcpy(&key, slot, sizeof key);
    return key == KEY_MISSING;
}

/* Read record r's variables into s (numbers, NaN when missing; whether each
 * is missing).  Errors (OOC_ERR_DATA): a non-number in a numeric variable. */
ooc_status ooc_model_read_variables(const ooc_model *m, ooc_model_scratch *s,
                                    const ooc_csv_block *blk, size_t r, ooc_error *err)
{
    for (size_t v = 0; v < m->nvars; v++) {
        size_t len;
        const char *t = ooc_field_text(blk, r, m->vars[v].column, &len);
        if (m->vars[v].numeric_use) {
            if (!read_number(m, t, len, &s->var_value[v]))
                return data_error(m, err, blk, r, v,
                                  ooc_field_is_spaced_na(m, t, len)
                                      ? "expected a number" OOC_SPACED_NA_NOTE ", found"
                                      : "expected a number, found");
            s->var_missing[v] = isnan(s->var_value[v]);
        } else {
            s->var_missing[v] = ooc_field_is_na(m, t, len) || ooc_field_is_nan(t, len);
        }
    }
    for (size_t k = 0; k < m->ntests; k++) {
        const ooc_text_test *test = &m->tests[k];
        size_t len;
        const char *t = ooc_field_text(blk, r, m->vars[test->var].column, &len);
        bool same = !ooc_field_is_na(m, t, len) && len == test->len &&
                    memcmp(t, test->text, len) == 0;
        s->test_value[k] = same == test->equal;
    }
    return OOC_OK;
}

/* A spline's value outside the knots patsy learned: an error naming the row. */
static ooc_status spline_range_error(const ooc_model *m, const ooc_csv_block *blk, size_t r,
                                     const ooc_factor *f, double x, ooc_error *err)
{
    const ooc_transform *t = &f->tf[0];
    char xs[40], lo[40], hi[40];
    ooc_python_float_repr(x, xs, sizeof xs);
    ooc_python_float_repr(t->all_knots[0], lo, sizeof lo);
    ooc_python_float_repr(t->all_knots[t->nall - 1], hi, sizeof hi);
    return OOC_FAIL(err, OOC_ERR_DATA,
                    "%s, line %llu: %s: the argument is %s, outside the knots' range [%s, %s] "
                    "(patsy refuses such a value too; lower_bound= and upper_bound= widen it)",
                    m->file_name, (unsigned long long)blk->line_numbers[r], f->code, xs, lo, hi);
}

/* Read record r's variables and extra columns and evaluate every factor into
 * s (values of numeric factors, level indices of categorical ones).
 * *missing is the first factor whose value is missing, else nfactors + k for
 * the first missing extra column k, else SIZE_MAX.  Errors (OOC_ERR_DATA): a
 * non-number in a numeric variable or an extra column, a value not among a
 * factor's levels, a spline's argument outside its knots. */
static ooc_status load_record(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                              size_t r, size_t *missing, ooc_error *err)
{
    ooc_status status = ooc_model_read_variables(m, s, blk, r, err);
    if (status != OOC_OK)
        return status;
    const size_t nnum = m->nextra - m->nextra_keys; /* extra columns read as numbers */
    for (size_t k = 0; k < m->nextra; k++) {
        size_t len;
        const char *t = ooc_field_text(blk, r, m->extra_columns[k], &len);
        if (k >= nnum) {
            ooc_status st = group_key(m, k - nnum, blk, r, m->extra_columns[k], t, len,
                                      &s->extra_value[k], err);
            if (st != OOC_OK)
                return st;
            continue;
        }
        if (!read_number(m, t, len, &s->extra_value[k]))
            return field_error(m, err, blk, r, m->extra_columns[k], m->extra_names[k],
                               "expected a number, found");
    }
    *missing = SIZE_MAX;
    for (size_t i = 0; i < m->nfactors; i++) {
        const ooc_factor *f = &m->factors[i];
        bool na;
        if (f->kind == OOC_FACTOR_BOOL) {
            /* a boolean is never missing: a comparison with NaN is False, as numpy's */
            na = false;
            int b = run_program(f, s) != 0;
            if (m->lookups[i].bool_index[b] == SIZE_MAX)
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "%s, line %llu: '%s' is %s, which is not among the given levels",
                                m->file_name, (unsigned long long)blk->line_numbers[r], f->code,
                                b ? "True" : "False");
            s->level[i] = m->lookups[i].bool_index[b];
        } else if (f->kind == OOC_FACTOR_CATEXPR) {
            double x = run_program(f, s);
            na = isnan(x);
            if (!na && !lookup_number(f, &m->lookups[i], x, &s->level[i])) {
                char xs[40];
                ooc_python_float_repr(x, xs, sizeof xs);
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "%s, line %llu: '%s' is %s, which is not among the given levels",
                                m->file_name, (unsigned long long)blk->line_numbers[r], f->code,
                                xs);
            }
        } else if (f->categorical) {
            na = s->var_missing[f->var];
            if (!na) {
                size_t len;
                const char *t = ooc_field_text(blk, r, m->vars[f->var].column, &len);
                if (!lookup_level(f, &m->lookups[i], t, len, &s->level[i]))
                    return data_error(m, err, blk, r, f->var,
                                      f->has_given_levels ? "value not among the given levels:"
                                                          : "value not among the levels:");
            }
        } else if (f->kind == OOC_FACTOR_VAR) {
            s->value[f->value_at] = s->var_value[f->var];
            na = isnan(s->value[f->value_at]);
        } else if (f->kind == OOC_FACTOR_SPLINE) {
            double x = run_program(f, s);
            na = isnan(x);
            if (!na && !ooc_transform_columns(&f->tf[0], x, &s->value[f->value_at]))
                return spline_range_error(m, blk, r, f, x, err);
        } else {
            s->value[f->value_at] = run_program(f, s);
            na = isnan(s->value[f->value_at]);
        }
        if (na && *missing == SIZE_MAX)
            *missing = i;
    }
    for (size_t k = 0; k < nnum && *missing == SIZE_MAX; k++)
        if (isnan(s->extra_value[k]))
            *missing = m->nfactors + k;
    /* a row kept for the fit must have its groups (statsmodels has no rule for a
     * missing group: np.unique would make NaN a group of its own) */
    for (size_t k = nnum; k < m->nextra && *missing == SIZE_MAX; k++)
        if (key_missing(&s->extra_value[k]))
            return field_error(m, err, blk, r, m->extra_columns[k], m->extra_names[k],
                               "missing group value in a row that is otherwise complete:");
    return OOC_OK;
}

/* The missing_is_error failure for factor `fi` of record r (fi - nfactors:
 * an extra column). */
static ooc_status missing_error(const ooc_model *m, const ooc_model_scratch *s,
                                const ooc_csv_block *blk, size_t r, size_t fi, ooc_error *err)
{
    if (fi >= m->nfactors)
        return field_error(m, err, blk, r, m->extra_columns[fi - m->nfactors],
                           m->extra_names[fi - m->nfactors], "missing value");
    const ooc_factor *f = &m->factors[fi];
    if (ooc_factor_reads_column(f->kind))
        return data_error(m, err, blk, r, f->var, "missing value");
    for (size_t k = 0; k < f->nprog; k++)
        if (f->prog[k].op == OOC_EX_VAR && s->var_missing[f->prog[k].var])
            return data_error(m, err, blk, r, f->prog[k].var, "missing value");
    return OOC_FAIL(err, OOC_ERR_DATA, "%s, line %llu: '%s' evaluates to NaN", m->file_name,
                    (unsigned long long)blk->line_numbers[r], f->code);
}

/* Value of design column `col` for the record loaded in s: the product of its
 * parts, in order (so signed zeros and inf*0 come out as patsy's do). */
static inline double column_value(const ooc_model *m, const ooc_model_scratch *s,
                                  const ooc_column *col)
{
    double acc = 1.0;
    for (size_t k = 0; k < col->nparts; k++) {
        const ooc_col_part *pt = &m->parts[col->first_part + k];
        switch (pt->kind) {
        case OOC_PART_NUMERIC: acc *= s->value[m->factors[pt->factor].value_at + pt->level]; break;
        case OOC_PART_INDICATOR: acc *= s->level[pt->factor] == pt->level ? 1.0 : 0.0; break;
        case OOC_PART_SUM: {
            size_t level = s->level[pt->factor];
            acc *= level == pt->level ? 1.0 : level == pt->ref ? -1.0 : 0.0;
            break;
        }
        case OOC_PART_ONES: break; /* a factor of 1.0 */
        case OOC_PART_CODED:
            acc *= ooc_contrast_value(&m->factors[pt->factor], s->level[pt->factor], pt->level);
            break;
        }
    }
    return acc;
}

/* Count a non-finite value in `column` (of X, or ncols for y) of record r. */
static ooc_status note_nonfinite(ooc_model_scratch *s, ooc_nonfinite *nf, size_t column, size_t r,
                                 ooc_error *err)
{
    size_t e = s->nf_entry[column];
    if (e != SIZE_MAX) {
        nf->items[e].count++;
        return OOC_OK;
    }
    if (nf->n == nf->cap) {
        size_t ncap = nf->cap ? 2 * nf->cap : 8;
        ooc_nonfinite_entry *bigger = realloc(nf->items, ncap * sizeof *bigger);
        if (!bigger)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory counting non-finite values");
        nf->items = bigger;
        nf->cap = ncap;
    }
    nf->items[nf->n] = (ooc_nonfinite_entry){column, 1, r};
    s->nf_entry[column] = nf->n++;
    return OOC_OK;
}

ooc_status ooc_model_eval_rows(const ooc_model *m, ooc_model_scratch *s,
                               const ooc_csv_block *blk, const ooc_model_rows *out,
                               size_t *nrows_out, size_t *ndropped, ooc_nonfinite *nf,
                               ooc_error *err)
{
    if (!m || !m->finished || !s || !blk || !out || !nrows_out || !ndropped ||
        (blk->nrecords && !out->X) || (blk->nrecords && m->has_response && !out->y))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_eval: bad arguments");
    if (blk->nrecords && blk->nfields != m->csv_columns)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_eval: block has %zu fields per record, header has %zu",
                        blk->nfields, m->csv_columns);
    ooc_status status = OOC_OK;
    size_t kept = 0, dropped = 0;
    const size_t p = m->ncols;
    if (nf)
        nf->n = 0;
    for (size_t r = 0; r < blk->nrecords; r++) {
        size_t missing;
        OOC_CHECK(load_record(m, s, blk, r, &missing, err));
        if (missing != SIZE_MAX) {
            if (m->missing_is_error) {
                status = missing_error(m, s, blk, r, missing, err);
                goto out;
            }
            dropped++;
            continue;
        }
        double *row = out->X + kept * out->ldx;
        for (size_t c = 0; c < p; c++) {
            row[c] = column_value(m, s, &m->columns[c]);
            if (nf && !isfinite(row[c]))
                OOC_CHECK(note_nonfinite(s, nf, c, r, err));
        }
        if (m->has_response) {
            double *y = &out->y[kept * out->ldy];
            *y = s->value[m->factors[m->response_factor].value_at];
            if (nf && !isfinite(*y))
                OOC_CHECK(note_nonfinite(s, nf, p, r, err));
        }
        if (out->extra)
            memcpy(out->extra + kept * out->ldextra, s->extra_value,
                   m->nextra * sizeof *s->extra_value);
        kept++;
    }
    *nrows_out = kept;
    *ndropped = dropped;
out:
    for (size_t e = 0; nf && e < nf->n; e++)
        s->nf_entry[nf->items[e].column] = SIZE_MAX;
    return status;
}

ooc_status ooc_model_eval(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                          double *X, double *y, size_t *nrows_out, size_t *ndropped,
                          ooc_nonfinite *nf, ooc_error *err)
{
    ooc_model_rows out = {X, m ? m->ncols : 0, y, 1, NULL, 0};
    return ooc_model_eval_rows(m, s, blk, &out, nrows_out, ndropped, nf, err);
}

/* Append the printf-style text to buf[*o..size), truncating at the end. */
static void append(char *buf, size_t size, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *o, const char *fmt, ...)
{
    if (*o + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *o, size - *o, fmt, ap);
    va_end(ap);
    *o = w < 0 ? size - 1 : *o + (size_t)w < size ? *o + (size_t)w : size - 1;
}

/* The CSV text of variable v in record r, quoted. */
static void append_field(const ooc_model *m, const ooc_csv_block *blk, size_t r, size_t v,
                         char *buf, size_t size, size_t *o)
{
    size_t len;
    const char *t = ooc_field_text(blk, r, m->vars[v].column, &len);
    char q[64];
    ooc_quote_excerpt(q, sizeof q, t, len);
    append(buf, size, o, "%s", q);
}

/* Where the non-finite value of numeric factor fi in record r came from. */
static void describe_factor(const ooc_model *m, const ooc_csv_block *blk, size_t r, size_t fi,
                            char *buf, size_t size, size_t *o)
{
    const ooc_factor *f = &m->factors[fi];
    if (f->kind == OOC_FACTOR_VAR) {
        append_field(m, blk, r, f->var, buf, size, o);
        append(buf, size, o, " in CSV column '%s'", m->vars[f->var].name);
        return;
    }
    append(buf, size, o, "%s", f->code);
    const char *sep = " with ";
    for (size_t k = 0; k < f->nprog; k++) {
        if (f->prog[k].op != OOC_EX_VAR)
            continue;
        size_t v = f->prog[k].var, prev = 0;
        while (prev < k && !(f->prog[prev].op == OOC_EX_VAR && f->prog[prev].var == v))
            prev++;
        if (prev < k)
            continue; /* named already */
        append(buf, size, o, "%s%s = ", sep, m->vars[v].name);
        append_field(m, blk, r, v, buf, size, o);
        sep = ", ";
    }
}

double ooc_model_describe_nonfinite(const ooc_model *m, ooc_model_scratch *s,
                                    const ooc_csv_block *blk, size_t record, size_t column,
                                    char *buf, size_t size)
{
    size_t o = 0, missing;
    ooc_error ignored;
    buf[0] = '\0';
    if (!m->finished || record >= blk->nrecords || column > m->ncols ||
        (column == m->ncols && !m->has_response) ||
        load_record(m, s, blk, record, &missing, &ignored) != OOC_OK) {
        append(buf, size, &o, "(the record cannot be evaluated)");
        return NAN;
    }
    ooc_col_part response = {m->response_factor, OOC_PART_NUMERIC, 0, 0};
    ooc_column ycol = {NULL, 0, 1};
    const ooc_column *col = column < m->ncols ? &m->columns[column] : &ycol;
    const ooc_col_part *parts = column < m->ncols ? m->parts + col->first_part : &response;
    double value = column < m->ncols ? column_value(m, s, col)
                                     : s->value[m->factors[m->response_factor].value_at];
    for (size_t k = 0; k < col->nparts; k++) {
        if (parts[k].kind == OOC_PART_NUMERIC &&
            !isfinite(s->value[m->factors[parts[k].factor].value_at + parts[k].level])) {
            describe_factor(m, blk, record, parts[k].factor, buf, size, &o);
            return value;
        }
    }
    /* Every factor is finite: the product overflowed. */
    append(buf, size, &o, "the product of");
    const char *sep = " ";
    for (size_t k = 0; k < col->nparts; k++) {
        if (parts[k].kind != OOC_PART_NUMERIC)
            continue;
        char value_text[40];
        ooc_python_float_repr(s->value[m->factors[parts[k].factor].value_at + parts[k].level],
                              value_text, sizeof value_text);
        append(buf, size, &o, "%s%s = %s", sep, m->factors[parts[k].factor].code, value_text);
        sep = " and ";
    }
    return value;
}
