/*
 * model.c — the data side of formulas (see model.h): binding variables to
 * CSV columns and inferring their types, discovering categorical levels,
 * building patsy's column layout (term ordering, full-rank contrast choice,
 * column names) and evaluating design rows from CSV blocks.
 *
 * Missing values follow patsy's NA_action="drop": a row is dropped when a
 * categorical factor's value is missing or a numeric factor's value is NaN
 * (a missing numeric field reads as NaN).  Level discovery follows patsy's
 * categorical sniffing, which sees every row (also rows dropped for other
 * variables), and pandas' dtype rules (int levels only when the whole column
 * is integral and has no missing value).
 *
 * Contrast columns are sparse, and a column records only the levels where its
 * coefficient is not 0 (treatment: one level; sum: a level and the reference;
 * full-rank Sum's first column: every level), so a categorical costs memory
 * in proportion to its levels and columns, never levels x columns.  Every step
 * that looks at terms, factors or columns uses hashing or sorting, so a
 * formula of 100 000 terms is as cheap per term as a short one.
 */
#include "base/error.h"
#include "formula/formula_internal.h"
#include "csv/numparse.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pandas' default na_values. */
static const char *const default_na_values[] = {
    "",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A",  "NA",       "NULL", "NaN",     "None",     "n/a",  "nan",  "null"};

/* ------------------------------------------------------------------ */
/* Text -> index hash table                                           */
/* ------------------------------------------------------------------ */

/* FNV-1a, then a final mix: the table uses the low bits, and FNV's low bits
 * depend only on the low bits of the bytes (texts such as x1 .. x99999
 * would crowd into few slots). */
static uint64_t hash_text(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 32;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}

void ooc_text_index_free(ooc_text_index *ix)
{
    if (!ix)
        return;
    if (ix->owns_keys)
        for (size_t i = 0; i < ix->cap; i++)
            free(ix->slots[i].key);
    free(ix->slots);
    bool owns = ix->owns_keys;
    memset(ix, 0, sizeof *ix);
    ix->owns_keys = owns;
}

/* Slot of s[0..len) in ix (cap > 0), or of the empty slot where it would go. */
static size_t text_slot(const ooc_text_index *ix, const char *s, size_t len)
{
    size_t mask = ix->cap - 1;
    size_t i = (size_t)hash_text(s, len) & mask;
    while (ix->slots[i].key &&
           (ix->slots[i].len != len || memcmp(ix->slots[i].key, s, len) != 0))
        i = (i + 1) & mask;
    return i;
}

bool ooc_text_index_find(const ooc_text_index *ix, const char *s, size_t len, size_t *value)
{
    if (!ix->cap)
        return false;
    const ooc_text_slot *slot = &ix->slots[text_slot(ix, s, len)];
    if (!slot->key)
        return false;
    *value = slot->value;
    return true;
}

static bool text_index_grow(ooc_text_index *ix)
{
    size_t ncap = ix->cap ? 2 * ix->cap : 16;
    ooc_text_index bigger = {calloc(ncap, sizeof(ooc_text_slot)), ncap, ix->n, ix->owns_keys};
    if (!bigger.slots)
        return false;
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i].key)
            bigger.slots[text_slot(&bigger, ix->slots[i].key, ix->slots[i].len)] = ix->slots[i];
    free(ix->slots);
    *ix = bigger;
    return true;
}

bool ooc_text_index_insert(ooc_text_index *ix, const char *s, size_t len, size_t value)
{
    if ((ix->n + 1) * 2 > ix->cap && !text_index_grow(ix))
        return false;
    ooc_text_slot *slot = &ix->slots[text_slot(ix, s, len)];
    if (slot->key)
        return true;
    char *key = (char *)s;
    if (ix->owns_keys) {
        key = malloc(len + 1);
        if (!key)
            return false;
        memcpy(key, s, len);
        key[len] = '\0';
    }
    slot->key = key;
    slot->len = len;
    slot->value = value;
    ix->n++;
    return true;
}

/* ------------------------------------------------------------------ */
/* Field classification                                               */
/* ------------------------------------------------------------------ */

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static bool is_na_text(const ooc_model *m, const char *s, size_t len)
{
    trim(&s, &len);
    if (len == 0)
        return m->na_empty;
    if (!m->na_first_char[(unsigned char)s[0]] || (len < 64 && !(m->na_len_mask >> len & 1)))
        return false;
    for (size_t i = 0; i < m->n_na_values; i++)
        if (m->na_lens[i] == len && memcmp(m->na_values[i], s, len) == 0)
            return true;
    return false;
}

/* Text that Python's float() reads as NaN ("nan", "NaN", "-nan", ...): patsy
 * takes such a categorical value as missing, even when pandas kept it as
 * text (not in the NA list). */
static bool is_nan_text(const char *s, size_t len)
{
    trim(&s, &len);
    if (!len || !strchr("nN+-", s[0]))
        return false;
    double x;
    return ooc_parse_double(s, len, &x) && isnan(x);
}

/* pandas' boolean spellings: 1 True, 0 False, -1 neither. */
static int bool_text(const char *s, size_t len)
{
    trim(&s, &len);
    if ((len == 4 && (!memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4) || !memcmp(s, "true", 4))))
        return 1;
    if ((len == 5 && (!memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5) || !memcmp(s, "false", 5))))
        return 0;
    return -1;
}

/* An integer literal as pandas reads into int64: [+-]digits. */
static bool is_integer_text(const char *s, size_t len)
{
    trim(&s, &len);
    if (len && (s[0] == '+' || s[0] == '-')) {
        s++;
        len--;
    }
    if (!len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static const char *field_text(const ooc_csv_block *blk, size_t row, size_t col, size_t *len)
{
    size_t k = row * blk->nfields + col;
    *len = blk->field_lens[k];
    return blk->fields[k];
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                         */
/* ------------------------------------------------------------------ */

ooc_status ooc_model_parse(const char *formula, const ooc_formula_var *vars, size_t nvars,
                           ooc_model **out, ooc_error *err)
{
    if (!formula || !out || (nvars && !vars))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_parse: formula and out are required");
    *out = NULL;
    ooc_model *m = calloc(1, sizeof *m);
    if (!m || !(m->formula = strdup(formula))) {
        free(m);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory parsing the formula");
    }
    ooc_status status = ooc_formula_build(m, vars, nvars, err);
    if (status != OOC_OK) {
        ooc_model_free(m);
        return status;
    }
    *out = m;
    return OOC_OK;
}

const char *ooc_model_formula(const ooc_model *m) { return m->formula; }

bool ooc_model_has_response(const ooc_model *m) { return m->has_response; }

const char *ooc_model_response_name(const ooc_model *m)
{
    return m->has_response ? m->factors[m->response_factor].code : NULL;
}

size_t ooc_model_ncols(const ooc_model *m) { return m->ncols; }

const char *ooc_model_column_name(const ooc_model *m, size_t j)
{
    return j < m->ncols ? m->columns[j].name : NULL;
}

void ooc_model_free(ooc_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nvars; i++) {
        free(m->vars[i].name);
        free(m->vars[i].text);
        ooc_text_index_free(m->vars[i].seen);
        free(m->vars[i].seen);
    }
    free(m->vars);
    ooc_text_index_free(&m->var_index);
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        free(f->code);
        free(f->ref.text);
        ooc_level_list_free(&f->levels);
        free(f->prog);
        if (m->lookups) {
            ooc_text_index_free(&m->lookups[i].by_text);
            free(m->lookups[i].sorted_values);
            free(m->lookups[i].sorted_index);
        }
    }
    free(m->factors);
    ooc_text_index_free(&m->factor_index);
    free(m->lookups);
    free(m->categoricals);
    for (size_t i = 0; i < m->rhs.n; i++)
        free(m->rhs.items[i].factors);
    free(m->rhs.items);
    free(m->file_name);
    free(m->formula);
    for (size_t i = 0; i < m->n_na_values; i++)
        free(m->na_values[i]);
    free(m->na_values);
    free(m->na_lens);
    for (size_t i = 0; i < m->ncols; i++)
        free(m->columns[i].name);
    free(m->columns);
    free(m->parts);
    free(m);
}

/* ------------------------------------------------------------------ */
/* Bind                                                               */
/* ------------------------------------------------------------------ */

/* The texts meaning missing: pandas' default list (unless opts->no_default_na),
 * then opts->na_values, as pandas' na_values with keep_default_na. */
static ooc_status copy_na_values(ooc_model *m, const ooc_model_data_options *opts, ooc_error *err)
{
    size_t ndefault = opts && opts->no_default_na
                          ? 0
                          : sizeof default_na_values / sizeof default_na_values[0];
    size_t ngiven = opts && opts->na_values ? opts->n_na_values : 0;
    size_t n = ndefault + ngiven;
    m->na_values = calloc(n ? n : 1, sizeof *m->na_values);
    m->na_lens = calloc(n ? n : 1, sizeof *m->na_lens);
    if (!m->na_values || !m->na_lens)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    m->na_len_mask = 0;
    memset(m->na_first_char, 0, sizeof m->na_first_char);
    m->na_empty = false;
    for (size_t i = 0; i < n; i++) {
        const char *s = i < ndefault ? default_na_values[i] : opts->na_values[i - ndefault];
        size_t len = s ? strlen(s) : 0;
        s = s ? s : "";
        trim(&s, &len);
        m->na_values[i] = malloc(len + 1);
        if (!m->na_values[i])
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        memcpy(m->na_values[i], s, len);
        m->na_values[i][len] = '\0';
        m->na_lens[i] = len;
        if (len < 64)
            m->na_len_mask |= (uint64_t)1 << len;
        m->n_na_values = i + 1;
        if (len == 0)
            m->na_empty = true;
        else
            m->na_first_char[(unsigned char)s[0]] = 1;
    }
    return OOC_OK;
}

/* non_numeric_row's cache values: not looked at yet, and no such row. */
#define ROW_UNCHECKED SIZE_MAX
#define ROW_NONE (SIZE_MAX - 1)

/* First sample row whose value of variable `var` is neither missing nor a
 * number, or ROW_NONE.  cache[var] keeps the answer, so each variable's
 * sample values are read once however many factors use it. */
static size_t non_numeric_row(const ooc_model *m, const ooc_csv_block *sample, size_t var,
                              size_t *cache)
{
    if (cache[var] != ROW_UNCHECKED)
        return cache[var];
    cache[var] = ROW_NONE;
    size_t col = m->vars[var].column;
    for (size_t r = 0; sample && r < sample->nrecords; r++) {
        size_t len;
        const char *s = field_text(sample, r, col, &len);
        double v;
        if (!is_na_text(m, s, len) && !ooc_parse_double(s, len, &v)) {
            cache[var] = r;
            break;
        }
    }
    return cache[var];
}

/* True when some sample value of CSV column `col` is a number (not missing). */
static bool has_number(const ooc_model *m, const ooc_csv_block *sample, size_t col)
{
    for (size_t r = 0; r < sample->nrecords; r++) {
        size_t len;
        const char *s = field_text(sample, r, col, &len);
        double v;
        if (!is_na_text(m, s, len) && ooc_parse_double(s, len, &v) && !isnan(v))
            return true;
    }
    return false;
}

/* The "unknown column" error for variable v: the formula with a caret under
 * its first use and the start of the header, bounded whatever the header:
 * the first 8 names, each quoted and cut to 40 bytes, then how many in all. */
static ooc_status unknown_column(const ooc_model *m, const ooc_variable *v,
                                 const char *const *names, size_t ncols, ooc_error *err)
{
    enum { SHOWN = 8, NAME_ROOM = 96 };
    char cols[SHOWN * (NAME_ROOM + 2) + 48] = "";
    size_t o = 0, k;
    for (k = 0; k < ncols && k < SHOWN; k++) {
        char name[NAME_ROOM];
        ooc_quote_excerpt(name, sizeof name, names[k], strlen(names[k]));
        o += (size_t)snprintf(cols + o, sizeof cols - o, "%s%s", k ? ", " : "", name);
    }
    if (k < ncols)
        snprintf(cols + o, sizeof cols - o, ", ... (%zu columns)", ncols);
    return ooc_formula_error(err, m->formula, v->origin, v->origin_len,
                             "unknown column '%s' (%s has columns: %s)", v->name, m->file_name,
                             cols);
}

ooc_status ooc_model_bind(ooc_model *m, const char *const *names, size_t ncols,
                          const ooc_csv_block *sample, const ooc_model_data_options *opts,
                          ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_text_index header = {0}; /* header name -> first column with it (borrowed keys) */
    size_t *bad_row = NULL;      /* non_numeric_row's cache */
    if (!m || (ncols && !names) || m->bound)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_bind: bad arguments or bound twice");
    if (sample && sample->nrecords && sample->nfields != ncols)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_bind: sample has %zu fields, header has %zu", sample->nfields,
                        ncols);
    m->file_name = strdup(opts && opts->file_name ? opts->file_name : "<input>");
    if (!m->file_name)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    m->missing_is_error = opts && opts->missing_is_error;
    OOC_CHECK(copy_na_values(m, opts, err));

    for (size_t j = 0; j < ncols; j++)
        OOC_FAIL_IF(!ooc_text_index_insert(&header, names[j], strlen(names[j]), j), err,
                    OOC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; opts && k < opts->ndtypes; k++) {
        const ooc_column_dtype *d = &opts->dtypes[k];
        size_t j;
        OOC_FAIL_IF(!d->column || !ooc_text_index_find(&header, d->column, strlen(d->column), &j),
                    err, OOC_ERR_INVALID_ARG, "--dtype names column '%s', which %s does not have",
                    d->column ? d->column : "", m->file_name);
    }
    for (size_t i = 0; i < m->nvars; i++) {
        ooc_variable *v = &m->vars[i];
        size_t j;
        if (!ooc_text_index_find(&header, v->name, strlen(v->name), &j)) {
            status = unknown_column(m, v, names, ncols, err);
            goto out;
        }
        v->column = j;
        v->pinned = 0;
        for (size_t k = 0; opts && k < opts->ndtypes; k++)
            if (!strcmp(opts->dtypes[k].column, v->name))
                v->pinned = opts->dtypes[k].type;
        v->numeric_use = false;
        v->any_missing = false;
        v->all_numeric = v->all_integral = v->all_bool = true;
    }
    bad_row = malloc((m->nvars ? m->nvars : 1) * sizeof *bad_row);
    OOC_FAIL_IF(!bad_row, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->nvars; i++)
        bad_row[i] = ROW_UNCHECKED;
    /* Bare variables whose sample data is not numeric are categorical. */
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        ooc_variable *v = &m->vars[f->var];
        if (f->kind != OOC_FACTOR_VAR || v->pinned == OOC_COLUMN_NUMERIC)
            continue;
        size_t row = v->pinned == OOC_COLUMN_CATEGORICAL ? 0
                                                         : non_numeric_row(m, sample, f->var, bad_row);
        if (row == ROW_NONE)
            continue;
        if (m->has_response && m->response_factor == i && v->pinned) {
            status = OOC_FAIL(err, OOC_ERR_DATA,
                              "column '%s': the response must be numeric, but --dtype makes it "
                              "categorical", v->name);
            goto out;
        }
        if (m->has_response && m->response_factor == i) {
            size_t len;
            const char *s = field_text(sample, row, m->vars[f->var].column, &len);
            char q[64];
            ooc_quote_excerpt(q, sizeof q, s, len);
            status = OOC_FAIL(err, OOC_ERR_DATA,
                              "%s, line %llu, column '%s': the response must be numeric, found %s",
                              m->file_name, (unsigned long long)sample->line_numbers[row],
                              m->vars[f->var].name, q);
            goto out;
        }
        f->categorical = true;
        v->needs_scan = true;
        if (!v->pinned && !v->text && has_number(m, sample, v->column)) {
            size_t len;
            const char *s = field_text(sample, row, v->column, &len);
            char q[64];
            ooc_quote_excerpt(q, sizeof q, s, len);
            v->text = strdup(q);
            OOC_FAIL_IF(!v->text, err, OOC_ERR_NOMEM, "out of memory");
            v->text_line = sample->line_numbers[row];
        }
    }
    for (size_t i = 0; i < m->nfactors; i++) {
        const ooc_factor *f = &m->factors[i];
        if (f->kind == OOC_FACTOR_VAR && !f->categorical)
            m->vars[f->var].numeric_use = true;
        for (size_t k = 0; f->kind == OOC_FACTOR_EXPR && k < f->nprog; k++)
            if (f->prog[k].op == OOC_EX_VAR)
                m->vars[f->prog[k].var].numeric_use = true;
    }
    /* A variable used in arithmetic must hold numbers. */
    for (size_t i = 0; i < m->nfactors; i++) {
        const ooc_factor *f = &m->factors[i];
        for (size_t k = 0; f->kind == OOC_FACTOR_EXPR && k < f->nprog; k++) {
            if (f->prog[k].op != OOC_EX_VAR)
                continue;
            const ooc_variable *v = &m->vars[f->prog[k].var];
            if (v->pinned == OOC_COLUMN_CATEGORICAL) {
                status = OOC_FAIL(err, OOC_ERR_DATA,
                                  "column '%s' is categorical (--dtype) but used in '%s', which "
                                  "needs numbers", v->name, f->code);
                goto out;
            }
            size_t row = non_numeric_row(m, sample, f->prog[k].var, bad_row);
            if (row == ROW_NONE)
                continue;
            size_t len;
            const char *s = field_text(sample, row, v->column, &len);
            char q[64];
            ooc_quote_excerpt(q, sizeof q, s, len);
            status = OOC_FAIL(err, OOC_ERR_DATA,
                              "%s, line %llu, column '%s': %s is not a number (the column is "
                              "used in '%s')",
                              m->file_name, (unsigned long long)sample->line_numbers[row],
                              v->name, q, f->code);
            goto out;
        }
    }
    for (size_t i = 0; i < m->nvars; i++) {
        if (m->vars[i].needs_scan) {
            m->vars[i].seen = calloc(1, sizeof *m->vars[i].seen);
            OOC_FAIL_IF(!m->vars[i].seen, err, OOC_ERR_NOMEM, "out of memory");
            m->vars[i].seen->owns_keys = true;
        }
    }
    m->csv_columns = ncols;
    m->bound = true;
out:
    ooc_text_index_free(&header);
    free(bad_row);
    return status;
}

bool ooc_model_needs_level_scan(const ooc_model *m)
{
    for (size_t i = 0; i < m->nvars; i++)
        if (m->vars[i].needs_scan)
            return true;
    return false;
}

ooc_status ooc_model_scan_levels(ooc_model *m, const ooc_csv_block *blk, ooc_error *err)
{
    if (!m || !blk || !m->bound || m->levels_resolved)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_scan_levels: model not bound or levels already resolved");
    if (blk->nrecords && blk->nfields != m->csv_columns)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_scan_levels: block has %zu fields per record, header has %zu",
                        blk->nfields, m->csv_columns);
    for (size_t i = 0; i < m->nvars; i++) {
        ooc_variable *v = &m->vars[i];
        if (!v->needs_scan)
            continue;
        for (size_t r = 0; r < blk->nrecords; r++) {
            size_t len;
            const char *s = field_text(blk, r, v->column, &len);
            double x;
            bool numeric = ooc_parse_double(s, len, &x);
            if (is_na_text(m, s, len) || (numeric && isnan(x))) {
                v->any_missing = true;
                continue;
            }
            if (v->all_bool && bool_text(s, len) < 0)
                v->all_bool = false;
            if (v->all_numeric && !numeric)
                v->all_numeric = false;
            if (v->all_integral && (!numeric || !is_integer_text(s, len)))
                v->all_integral = false;
            if (!ooc_text_index_insert(v->seen, s, len, v->seen->n))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory collecting levels");
        }
    }
    return OOC_OK;
}

/* ------------------------------------------------------------------ */
/* Levels: discovery, lookups, references                             */
/* ------------------------------------------------------------------ */

static int cmp_level_num(const void *a, const void *b)
{
    double x = ((const ooc_level *)a)->num, y = ((const ooc_level *)b)->num;
    return (x > y) - (x < y);
}

static int cmp_level_text(const void *a, const void *b)
{
    return strcmp(((const ooc_level *)a)->text, ((const ooc_level *)b)->text);
}

/* The sorted levels of a scanned variable, as patsy would find them, into the
 * empty list *out (partly filled on failure; the caller frees it). */
static ooc_status discover_levels(const ooc_model *m, const ooc_variable *v, ooc_level_list *out,
                                  ooc_error *err)
{
    const ooc_text_index *seen = v->seen;
    if (v->all_bool && seen->n && v->pinned != OOC_COLUMN_CATEGORICAL) {
        out->items = calloc(2, sizeof *out->items);
        if (!out->items)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        out->n = 2;
        for (int b = 0; b < 2; b++) {
            out->items[b].kind = OOC_LEVEL_BOOL;
            out->items[b].num = b;
            out->items[b].text = strdup(b ? "True" : "False");
            if (!out->items[b].text)
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        return OOC_OK;
    }
    if (seen->n == 0)
        return OOC_FAIL(err, OOC_ERR_DATA, "%s, column '%s': no non-missing values, so no levels",
                        m->file_name, v->name);
    out->items = calloc(seen->n, sizeof *out->items);
    if (!out->items)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    ooc_level_kind kind = !v->all_numeric || v->pinned == OOC_COLUMN_CATEGORICAL ? OOC_LEVEL_STR
                          : (v->all_integral && !v->any_missing) ? OOC_LEVEL_INT
                                                                 : OOC_LEVEL_FLOAT;
    for (size_t i = 0; i < seen->cap; i++) {
        const ooc_text_slot *slot = &seen->slots[i];
        if (!slot->key)
            continue;
        ooc_level *l = &out->items[out->n++];
        l->kind = kind;
        if (kind == OOC_LEVEL_STR) {
            if (!(l->text = strdup(slot->key)))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        } else {
            ooc_parse_double(slot->key, slot->len, &l->num);
        }
    }
    if (kind == OOC_LEVEL_STR) {
        qsort(out->items, out->n, sizeof *out->items, cmp_level_text);
        return OOC_OK;
    }
    qsort(out->items, out->n, sizeof *out->items, cmp_level_num);
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++)
        if (k == 0 || out->items[i].num != out->items[k - 1].num)
            out->items[k++] = out->items[i];
    out->n = k;
    for (size_t i = 0; i < out->n; i++) {
        char buf[64];
        if (kind == OOC_LEVEL_INT)
            snprintf(buf, sizeof buf, "%.0f", out->items[i].num);
        else
            ooc_python_float_repr(out->items[i].num, buf, sizeof buf);
        if (!(out->items[i].text = strdup(buf)))
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    }
    return OOC_OK;
}

/* A numeric level's value and position, for the sorted lookup table. */
typedef struct level_pos {
    double value;
    size_t index;
} level_pos;

static int cmp_level_pos(const void *a, const void *b)
{
    double x = ((const level_pos *)a)->value, y = ((const level_pos *)b)->value;
    return (x > y) - (x < y);
}

static ooc_status build_lookup(const ooc_factor *f, ooc_factor_lookup *lk, ooc_error *err)
{
    lk->bool_index[0] = lk->bool_index[1] = SIZE_MAX;
    const ooc_level_list *l = &f->levels;
    ooc_level_kind kind = l->items[0].kind;
    if (kind == OOC_LEVEL_STR) {
        for (size_t i = 0; i < l->n; i++)
            if (!ooc_text_index_insert(&lk->by_text, l->items[i].text, strlen(l->items[i].text),
                                       i))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        return OOC_OK;
    }
    if (kind == OOC_LEVEL_BOOL) {
        for (size_t i = 0; i < l->n; i++)
            lk->bool_index[l->items[i].num != 0] = i;
        return OOC_OK;
    }
    level_pos *pos = malloc(l->n * sizeof *pos);
    lk->sorted_values = malloc(l->n * sizeof *lk->sorted_values);
    lk->sorted_index = malloc(l->n * sizeof *lk->sorted_index);
    if (!pos || !lk->sorted_values || !lk->sorted_index) {
        free(pos);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < l->n; i++)
        pos[i] = (level_pos){l->items[i].num, i};
    qsort(pos, l->n, sizeof *pos, cmp_level_pos); /* values are distinct: no ties to order */
    for (size_t i = 0; i < l->n; i++) {
        lk->sorted_values[i] = pos[i].value;
        lk->sorted_index[i] = pos[i].index;
    }
    lk->nsorted = l->n;
    free(pos);
    return OOC_OK;
}

/* patsy's _get_level: the level equal to the reference, else an int position. */
static ooc_status resolve_reference(const ooc_model *m, ooc_factor *f, ooc_error *err)
{
    size_t n = f->levels.n;
    if (!f->has_ref) {
        f->ref_index = f->contrast == OOC_CONTRAST_SUM ? n - 1 : 0;
        return OOC_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (ooc_level_equal(&f->ref, &f->levels.items[i])) {
            f->ref_index = i;
            return OOC_OK;
        }
    }
    if (f->ref.kind == OOC_LEVEL_INT) {
        double pos = f->ref.num < 0 ? f->ref.num + (double)n : f->ref.num;
        if (pos >= 0 && pos < (double)n) {
            f->ref_index = (size_t)pos;
            return OOC_OK;
        }
        return ooc_formula_error(err, m->formula, f->origin, f->origin_len,
                                 "specified level %s is out of range", f->ref.text);
    }
    bool quoted = f->ref.kind == OOC_LEVEL_STR;
    return ooc_formula_error(err, m->formula, f->origin, f->origin_len,
                             "specified level %s%s%s not found", quoted ? "'" : "", f->ref.text,
                             quoted ? "'" : "");
}

ooc_status ooc_model_resolve_levels(ooc_model *m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!m || !m->bound || m->levels_resolved || m->lookups) /* lookups: tried and failed */
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_resolve_levels: model not bound or levels already resolved");
    m->lookups = calloc(m->nfactors ? m->nfactors : 1, sizeof *m->lookups);
    m->categoricals = malloc((m->nfactors ? m->nfactors : 1) * sizeof *m->categoricals);
    if (!m->lookups || !m->categoricals)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        if (!f->categorical)
            continue;
        if (!f->has_given_levels)
            OOC_CHECK(discover_levels(m, &m->vars[f->var], &f->levels, err));
        OOC_CHECK(build_lookup(f, &m->lookups[i], err));
        OOC_CHECK(resolve_reference(m, f, err));
        m->categoricals[m->ncategoricals++] = i;
    }
    /* The scan's tables are no longer needed: every factor has its own levels now. */
    for (size_t i = 0; i < m->nvars; i++) {
        ooc_text_index_free(m->vars[i].seen);
        free(m->vars[i].seen);
        m->vars[i].seen = NULL;
    }
    m->levels_resolved = true;
out:
    return status;
}

size_t ooc_model_ncategoricals(const ooc_model *m)
{
    return m->levels_resolved ? m->ncategoricals : 0;
}

bool ooc_model_categorical_info(const ooc_model *m, size_t i, ooc_model_categorical *out)
{
    if (i >= ooc_model_ncategoricals(m))
        return false;
    const ooc_factor *f = &m->factors[m->categoricals[i]];
    out->name = f->code;
    out->column = m->vars[f->var].name;
    out->nlevels = f->levels.n;
    const ooc_variable *v = &m->vars[f->var];
    bool inferred = f->kind == OOC_FACTOR_VAR && v->text;
    out->text = inferred ? v->text : NULL;
    out->text_line = inferred ? v->text_line : 0;
    return true;
}

/* ------------------------------------------------------------------ */
/* Columns: patsy's ordering, full-rank contrasts, names              */
/* ------------------------------------------------------------------ */

/* Most categorical factors one term may interact (patsy enumerates 2^k subsets). */
#define MAX_TERM_CATEGORICALS 16
/* Most columns a design may have; more is refused as a formula error (such a
 * design cannot be fitted, and naming its columns alone would exhaust memory). */
#define MAX_COLUMNS ((size_t)1 << 22)

static bool factor_is_numeric(const ooc_factor *f) { return !f->categorical; }

/* A subterm: the set of (factor, full-rank) pairs, coded factor*2+full, sorted. */
typedef struct subterm {
    size_t codes[MAX_TERM_CATEGORICALS];
    size_t n;
} subterm;

static bool subterm_equal(const subterm *a, const subterm *b)
{
    return a->n == b->n && memcmp(a->codes, b->codes, a->n * sizeof a->codes[0]) == 0;
}

static uint64_t subterm_hash(const subterm *s)
{
    uint64_t h = 1469598103934665603ull ^ s->n;
    for (size_t i = 0; i < s->n; i++)
        h = (h ^ s->codes[i]) * 1099511628211ull;
    return h;
}

static void subterm_sort(subterm *s)
{
    for (size_t i = 1; i < s->n; i++)
        for (size_t k = i; k > 0 && s->codes[k - 1] > s->codes[k]; k--) {
            size_t t = s->codes[k];
            s->codes[k] = s->codes[k - 1];
            s->codes[k - 1] = t;
        }
}

static bool subterm_has(const subterm *s, size_t code)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->codes[i] == code)
            return true;
    return false;
}

/* patsy _Subterm.can_absorb: long has exactly one more pair and contains short. */
static bool can_absorb(const subterm *lng, const subterm *shrt)
{
    if (lng->n != shrt->n + 1)
        return false;
    for (size_t i = 0; i < shrt->n; i++)
        if (!subterm_has(lng, shrt->codes[i]))
            return false;
    return true;
}

static void absorb(subterm *lng, const subterm *shrt)
{
    size_t extra = 0;
    for (size_t i = 0; i < lng->n; i++)
        if (!subterm_has(shrt, lng->codes[i]))
            extra = lng->codes[i];
    *lng = *shrt;
    lng->codes[lng->n++] = extra | 1u;
    subterm_sort(lng);
}

static void simplify_subterms(subterm *subs, size_t *n)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t s = 0; s < *n && !changed; s++) {
            for (size_t l = s + 1; l < *n && !changed; l++) {
                if (can_absorb(&subs[l], &subs[s])) {
                    absorb(&subs[l], &subs[s]);
                    memmove(&subs[s], &subs[s + 1], (*n - s - 1) * sizeof *subs);
                    (*n)--;
                    changed = true;
                }
            }
        }
    }
}

/* A slot of the hash set of used subterms: valid only when its generation is
 * the layout's current one, so starting a new bucket is O(1). */
typedef struct used_slot {
    size_t generation;
    size_t index;        /* into layout.used */
} used_slot;

/* State of build_columns: the subterms already used in the current bucket
 * (patsy's used_subterms) as a vector and a hash set over it. */
typedef struct layout {
    subterm *used;
    size_t nused, used_cap;
    used_slot *table;
    size_t table_cap;    /* power of two, or 0 */
    size_t generation;   /* >= 1; slots of older generations are empty */
    size_t columns_cap;
} layout;

/* Slot of s in lay's table (table_cap > 0), or the empty slot where it would go. */
static size_t used_slot_of(const layout *lay, const subterm *s)
{
    size_t mask = lay->table_cap - 1;
    size_t i = (size_t)subterm_hash(s) & mask;
    while (lay->table[i].generation == lay->generation &&
           !subterm_equal(&lay->used[lay->table[i].index], s))
        i = (i + 1) & mask;
    return i;
}

static bool used_has(const layout *lay, const subterm *s)
{
    return lay->table_cap && lay->table[used_slot_of(lay, s)].generation == lay->generation;
}

/* Add the subterms subs[0..n) (not used yet, distinct) to the used set. */
static ooc_status used_add(layout *lay, const subterm *subs, size_t n, ooc_error *err)
{
    if (lay->nused + n > lay->used_cap) {
        size_t ncap = 2 * (lay->nused + n) + 8;
        subterm *bigger = realloc(lay->used, ncap * sizeof *bigger);
        if (!bigger)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        lay->used = bigger;
        lay->used_cap = ncap;
    }
    if ((lay->nused + n) * 2 > lay->table_cap) {
        size_t ncap = lay->table_cap ? lay->table_cap : 16;
        while ((lay->nused + n) * 2 > ncap)
            ncap *= 2;
        used_slot *table = calloc(ncap, sizeof *table);
        if (!table)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        free(lay->table);
        lay->table = table;
        lay->table_cap = ncap;
        lay->generation = 1;
        for (size_t i = 0; i < lay->nused; i++)
            lay->table[used_slot_of(lay, &lay->used[i])] = (used_slot){1, i};
    }
    for (size_t i = 0; i < n; i++) {
        lay->used[lay->nused] = subs[i];
        lay->table[used_slot_of(lay, &subs[i])] = (used_slot){lay->generation, lay->nused};
        lay->nused++;
    }
    return OOC_OK;
}

/* Start a new bucket: no subterm used yet. */
static void used_clear(layout *lay)
{
    lay->nused = 0;
    lay->generation++;
}

/* Contrast column `col` of categorical factor `fi` (full or reduced rank):
 * its part of the design column and its name suffix. */
static void contrast_part(const ooc_model *m, size_t fi, bool full, size_t col,
                          ooc_col_part *part, char *suffix, size_t suffix_size)
{
    const ooc_factor *f = &m->factors[fi];
    size_t ref = f->ref_index;
    part->factor = fi;
    part->ref = ref;
    if (f->contrast == OOC_CONTRAST_TREATMENT && full) {
        part->kind = OOC_PART_INDICATOR;
        part->level = col;
        snprintf(suffix, suffix_size, "[%s]", f->levels.items[col].text);
        return;
    }
    if (f->contrast == OOC_CONTRAST_SUM && full) {
        if (col == 0) {
            part->kind = OOC_PART_ONES;
            snprintf(suffix, suffix_size, "[mean]");
            return;
        }
        col--;
    }
    part->level = col < ref ? col : col + 1;
    part->kind = f->contrast == OOC_CONTRAST_SUM ? OOC_PART_SUM : OOC_PART_INDICATOR;
    snprintf(suffix, suffix_size, "[%s.%s]", f->contrast == OOC_CONTRAST_SUM ? "S" : "T",
             f->levels.items[part->level].text);
}

static size_t contrast_ncols(const ooc_factor *f, bool full)
{
    size_t n = f->levels.n;
    if (full)
        return n;
    return n ? n - 1 : 0;
}

/* Append the columns of one subterm of `term`. */
static ooc_status add_subterm_columns(ooc_model *m, layout *lay, const ooc_term *term,
                                      const subterm *sub, ooc_error *err)
{
    size_t fac[OOC_MAX_TERM_FACTORS], counts[OOC_MAX_TERM_FACTORS];
    bool full[OOC_MAX_TERM_FACTORS];
    size_t q = 0, total = 1;
    for (size_t i = 0; i < term->nfactors; i++) {
        size_t f = term->factors[i];
        if (factor_is_numeric(&m->factors[f])) {
            fac[q] = f;
            full[q] = false;
            counts[q++] = 1;
        } else if (subterm_has(sub, 2 * f) || subterm_has(sub, 2 * f + 1)) {
            fac[q] = f;
            full[q] = subterm_has(sub, 2 * f + 1);
            counts[q] = contrast_ncols(&m->factors[f], full[q]);
            if (counts[q] && total > (MAX_COLUMNS - m->ncols) / counts[q])
                return ooc_formula_error(err, m->formula, 0, strlen(m->formula),
                                         "the design would have more than %zu columns",
                                         MAX_COLUMNS);
            total *= counts[q++];
        }
    }
    for (size_t c = 0; c < total; c++) {
        if (m->ncols == lay->columns_cap) {
            size_t ncap = lay->columns_cap ? 2 * lay->columns_cap : 16;
            ooc_column *bigger = realloc(m->columns, ncap * sizeof *bigger);
            if (!bigger)
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
            m->columns = bigger;
            lay->columns_cap = ncap;
        }
        if (m->nparts + q > m->parts_cap) {
            size_t ncap = 2 * (m->parts_cap + q) + 16;
            ooc_col_part *bigger = realloc(m->parts, ncap * sizeof *bigger);
            if (!bigger)
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
            m->parts = bigger;
            m->parts_cap = ncap;
        }
        ooc_column *col = &m->columns[m->ncols];
        col->first_part = m->nparts;
        col->nparts = q;
        col->name = NULL;
        size_t name_cap = 16, name_len = 0;
        char *name = malloc(name_cap);
        if (!name)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        name[0] = '\0';
        size_t rest = c; /* leftmost factor varies fastest */
        for (size_t k = 0; k < q; k++) {
            const ooc_factor *f = &m->factors[fac[k]];
            size_t idx = rest % counts[k];
            rest /= counts[k];
            char suffix[512] = "";
            ooc_col_part *part = &m->parts[m->nparts++];
            part->factor = fac[k];
            part->kind = OOC_PART_NUMERIC;
            if (!factor_is_numeric(f))
                contrast_part(m, fac[k], full[k], idx, part, suffix, sizeof suffix);
            size_t need = name_len + strlen(f->code) + strlen(suffix) + 2;
            if (need > name_cap) {
                char *bigger = realloc(name, need * 2);
                if (!bigger) {
                    free(name);
                    return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
                }
                name = bigger;
                name_cap = need * 2;
            }
            name_len += (size_t)sprintf(name + name_len, "%s%s%s", k ? ":" : "", f->code, suffix);
        }
        if (q == 0) {
            free(name);
            name = strdup("Intercept");
            if (!name)
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        col->name = name;
        m->ncols++;
    }
    return OOC_OK;
}

/* patsy's pick_contrasts_for_term followed by the columns of each subterm. */
static ooc_status add_term_columns(ooc_model *m, layout *lay, const ooc_term *term,
                                   ooc_error *err)
{
    size_t cat[OOC_MAX_TERM_FACTORS], k = 0;
    for (size_t i = 0; i < term->nfactors; i++)
        if (!factor_is_numeric(&m->factors[term->factors[i]]))
            cat[k++] = term->factors[i];
    if (k > MAX_TERM_CATEGORICALS)
        return ooc_formula_error(err, m->formula, 0, strlen(m->formula),
                                 "a term interacts more than %d categorical factors",
                                 MAX_TERM_CATEGORICALS);
    size_t nsubsets = (size_t)1 << k;
    subterm *subs = malloc(nsubsets * sizeof *subs);
    if (!subs)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    size_t nsubs = 0;
    /* Subsets by size, then lexicographically by position (patsy _subsets_sorted). */
    for (size_t size = 0; size <= k; size++) {
        size_t idx[MAX_TERM_CATEGORICALS];
        for (size_t i = 0; i < size; i++)
            idx[i] = i;
        for (;;) {
            subterm s = {.n = size};
            for (size_t i = 0; i < size; i++)
                s.codes[i] = 2 * cat[idx[i]];
            subterm_sort(&s);
            if (!used_has(lay, &s))
                subs[nsubs++] = s;
            /* next combination */
            size_t i = size;
            while (i > 0 && idx[i - 1] == k - size + i - 1)
                i--;
            if (i == 0)
                break;
            idx[i - 1]++;
            for (size_t j = i; j < size; j++)
                idx[j] = idx[j - 1] + 1;
        }
    }
    ooc_status status = used_add(lay, subs, nsubs, err);
    if (status == OOC_OK)
        simplify_subterms(subs, &nsubs);
    for (size_t i = 0; i < nsubs && status == OOC_OK; i++)
        status = add_subterm_columns(m, lay, term, &subs[i], err);
    free(subs);
    return status;
}

/* A term's place in patsy's column order: its bucket (the terms with the same
 * numeric factors; the bucket without any comes first, the others in order
 * of their first term), then its degree, then its place in the formula. */
typedef struct term_order {
    const size_t *key;   /* the term's numeric factors, sorted */
    size_t nkey;
    size_t bucket;       /* 0: no numeric factors; else 1 + the bucket's first term */
    size_t degree;
    size_t index;        /* the term's place in m->rhs */
} term_order;

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static bool same_key(const term_order *a, const term_order *b)
{
    return a->nkey == b->nkey && memcmp(a->key, b->key, a->nkey * sizeof *a->key) == 0;
}

/* Order by numeric key, then by place: groups each bucket, its first term first. */
static int cmp_by_key(const void *a, const void *b)
{
    const term_order *x = a, *y = b;
    if (x->nkey != y->nkey)
        return x->nkey < y->nkey ? -1 : 1;
    for (size_t i = 0; i < x->nkey; i++)
        if (x->key[i] != y->key[i])
            return x->key[i] < y->key[i] ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* patsy's column order: bucket, then degree, then place. */
static int cmp_column_order(const void *a, const void *b)
{
    const term_order *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    if (x->degree != y->degree)
        return x->degree < y->degree ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static ooc_status build_columns(ooc_model *m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t nt = m->rhs.n, nkeys = 0;
    for (size_t i = 0; i < nt; i++)
        nkeys += m->rhs.items[i].nfactors;
    term_order *order = malloc((nt ? nt : 1) * sizeof *order);
    size_t *keys = malloc((nkeys ? nkeys : 1) * sizeof *keys);
    layout lay = {.generation = 1};
    OOC_FAIL_IF(!order || !keys, err, OOC_ERR_NOMEM, "out of memory");
    size_t used_keys = 0;
    for (size_t i = 0; i < nt; i++) {
        const ooc_term *t = &m->rhs.items[i];
        term_order *o = &order[i];
        o->key = keys + used_keys;
        o->nkey = 0;
        for (size_t k = 0; k < t->nfactors; k++)
            if (factor_is_numeric(&m->factors[t->factors[k]]))
                keys[used_keys + o->nkey++] = t->factors[k];
        qsort(keys + used_keys, o->nkey, sizeof *keys, cmp_size);
        used_keys += o->nkey;
        o->degree = t->nfactors;
        o->index = i;
    }
    qsort(order, nt, sizeof *order, cmp_by_key);
    for (size_t i = 0; i < nt; i++)
        order[i].bucket = i > 0 && same_key(&order[i - 1], &order[i]) ? order[i - 1].bucket
                          : order[i].nkey                             ? 1 + order[i].index
                                                                      : 0;
    qsort(order, nt, sizeof *order, cmp_column_order);
    for (size_t i = 0; i < nt; i++) {
        if (i > 0 && order[i].bucket != order[i - 1].bucket)
            used_clear(&lay);
        OOC_CHECK(add_term_columns(m, &lay, &m->rhs.items[order[i].index], err));
    }
out:
    free(order);
    free(keys);
    free(lay.used);
    free(lay.table);
    return status;
}

ooc_status ooc_model_finish_levels(ooc_model *m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!m || !m->bound || m->finished)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_finish_levels: model not bound or already finished");
    if (!m->levels_resolved)
        OOC_CHECK(ooc_model_resolve_levels(m, err));
    for (size_t i = 0; i < m->nfactors; i++)
        if (m->factors[i].stack_depth > m->max_stack)
            m->max_stack = m->factors[i].stack_depth;
    OOC_CHECK(build_columns(m, err));
    m->finished = true;
out:
    return status;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                         */
/* ------------------------------------------------------------------ */

struct ooc_model_scratch {
    double *var_value;
    unsigned char *var_missing;
    size_t *level;
    double *value;
    double *stack;
    size_t *nf_entry; /* per column of X, then y: its entry in the block's ooc_nonfinite, or
                         SIZE_MAX; all SIZE_MAX between calls */
};

ooc_model_scratch *ooc_model_scratch_new(const ooc_model *m)
{
    ooc_model_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->var_value = calloc(m->nvars + 1, sizeof *s->var_value);
    s->var_missing = calloc(m->nvars + 1, 1);
    s->level = calloc(m->nfactors + 1, sizeof *s->level);
    s->value = calloc(m->nfactors + 1, sizeof *s->value);
    s->stack = calloc(m->max_stack + 1, sizeof *s->stack);
    s->nf_entry = malloc((m->ncols + 1) * sizeof *s->nf_entry);
    if (!s->var_value || !s->var_missing || !s->level || !s->value || !s->stack ||
        !s->nf_entry) {
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
    free(s->level);
    free(s->value);
    free(s->stack);
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

static double run_program(const ooc_factor *f, const double *vars, double *st)
{
    size_t sp = 0;
    for (size_t i = 0; i < f->nprog; i++) {
        const ooc_ex_instr *in = &f->prog[i];
        switch (in->op) {
        case OOC_EX_CONST: st[sp++] = in->value; break;
        case OOC_EX_VAR: st[sp++] = vars[in->var]; break;
        case OOC_EX_NEG: st[sp - 1] = -st[sp - 1]; break;
        case OOC_EX_ADD: sp--; st[sp - 1] = st[sp - 1] + st[sp]; break;
        case OOC_EX_SUB: sp--; st[sp - 1] = st[sp - 1] - st[sp]; break;
        case OOC_EX_MUL: sp--; st[sp - 1] = st[sp - 1] * st[sp]; break;
        case OOC_EX_DIV: sp--; st[sp - 1] = st[sp - 1] / st[sp]; break;
        case OOC_EX_POW: sp--; st[sp - 1] = pow(st[sp - 1], st[sp]); break;
        case OOC_EX_SQUARE: st[sp - 1] = st[sp - 1] * st[sp - 1]; break;
        case OOC_EX_SQRT: st[sp - 1] = sqrt(st[sp - 1]); break;
        case OOC_EX_RECIP: st[sp - 1] = 1.0 / st[sp - 1]; break;
        case OOC_EX_LOG: st[sp - 1] = log(st[sp - 1]); break;
        case OOC_EX_LOG1P: st[sp - 1] = log1p(st[sp - 1]); break;
        case OOC_EX_EXP: st[sp - 1] = exp(st[sp - 1]); break;
        case OOC_EX_ABS: st[sp - 1] = fabs(st[sp - 1]); break;
        }
    }
    return st[0];
}

static ooc_status data_error(const ooc_model *m, ooc_error *err, const ooc_csv_block *blk,
                             size_t row, size_t var, const char *what)
{
    size_t len;
    const char *s = field_text(blk, row, m->vars[var].column, &len);
    char q[64];
    ooc_quote_excerpt(q, sizeof q, s, len);
    return OOC_FAIL(err, OOC_ERR_DATA, "%s, line %llu, column '%s': %s %s", m->file_name,
                    (unsigned long long)blk->line_numbers[row], m->vars[var].name, what, q);
}

/* Level index of the text of a categorical factor; false when not a level. */
static bool lookup_level(const ooc_factor *f, const ooc_factor_lookup *lk, const char *s,
                         size_t len, size_t *level)
{
    switch (f->levels.items[0].kind) {
    case OOC_LEVEL_STR: return ooc_text_index_find(&lk->by_text, s, len, level);
    case OOC_LEVEL_BOOL: {
        int b = bool_text(s, len);
        if (b < 0 || lk->bool_index[b] == SIZE_MAX)
            return false;
        *level = lk->bool_index[b];
        return true;
    }
    default: {
        double x;
        if (!ooc_parse_double(s, len, &x))
            return false;
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
    }
}

/* Read record r's variables and evaluate every factor into s (values of
 * numeric factors, level indices of categorical ones).  *missing is the first
 * factor whose value is missing, or SIZE_MAX.  Errors (OOC_ERR_DATA): a
 * non-number in a numeric variable, a value not among a factor's levels. */
static ooc_status load_record(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                              size_t r, size_t *missing, ooc_error *err)
{
    for (size_t v = 0; v < m->nvars; v++) {
        size_t len;
        const char *t = field_text(blk, r, m->vars[v].column, &len);
        bool na = is_na_text(m, t, len) || (!m->vars[v].numeric_use && is_nan_text(t, len));
        if (m->vars[v].numeric_use) {
            double x = NAN;
            if (!na && !ooc_parse_double(t, len, &x))
                return data_error(m, err, blk, r, v, "expected a number, found");
            na = na || isnan(x);
            s->var_value[v] = x;
        }
        s->var_missing[v] = na;
    }
    *missing = SIZE_MAX;
    for (size_t i = 0; i < m->nfactors; i++) {
        const ooc_factor *f = &m->factors[i];
        bool na;
        if (f->categorical) {
            na = s->var_missing[f->var];
            if (!na) {
                size_t len;
                const char *t = field_text(blk, r, m->vars[f->var].column, &len);
                if (!lookup_level(f, &m->lookups[i], t, len, &s->level[i]))
                    return data_error(m, err, blk, r, f->var,
                                      f->has_given_levels ? "value not among the given levels:"
                                                          : "value not among the levels:");
            }
        } else if (f->kind == OOC_FACTOR_VAR) {
            s->value[i] = s->var_value[f->var];
            na = isnan(s->value[i]);
        } else {
            s->value[i] = run_program(f, s->var_value, s->stack);
            na = isnan(s->value[i]);
        }
        if (na && *missing == SIZE_MAX)
            *missing = i;
    }
    return OOC_OK;
}

/* The missing_is_error failure for factor `fi` of record r. */
static ooc_status missing_error(const ooc_model *m, const ooc_model_scratch *s,
                                const ooc_csv_block *blk, size_t r, size_t fi, ooc_error *err)
{
    const ooc_factor *f = &m->factors[fi];
    if (f->kind != OOC_FACTOR_EXPR)
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
        case OOC_PART_NUMERIC: acc *= s->value[pt->factor]; break;
        case OOC_PART_INDICATOR: acc *= s->level[pt->factor] == pt->level ? 1.0 : 0.0; break;
        case OOC_PART_SUM: {
            size_t level = s->level[pt->factor];
            acc *= level == pt->level ? 1.0 : level == pt->ref ? -1.0 : 0.0;
            break;
        }
        case OOC_PART_ONES: break; /* a factor of 1.0 */
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

ooc_status ooc_model_eval(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                          double *X, double *y, size_t *nrows_out, size_t *ndropped,
                          ooc_nonfinite *nf, ooc_error *err)
{
    if (!m || !m->finished || !s || !blk || !nrows_out || !ndropped ||
        (blk->nrecords && !X) || (blk->nrecords && m->has_response && !y))
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
        double *row = X + kept * p;
        for (size_t c = 0; c < p; c++) {
            row[c] = column_value(m, s, &m->columns[c]);
            if (nf && !isfinite(row[c]))
                OOC_CHECK(note_nonfinite(s, nf, c, r, err));
        }
        if (m->has_response && y) {
            y[kept] = s->value[m->response_factor];
            if (nf && !isfinite(y[kept]))
                OOC_CHECK(note_nonfinite(s, nf, p, r, err));
        }
        kept++;
    }
    *nrows_out = kept;
    *ndropped = dropped;
out:
    for (size_t e = 0; nf && e < nf->n; e++)
        s->nf_entry[nf->items[e].column] = SIZE_MAX;
    return status;
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
    const char *t = field_text(blk, r, m->vars[v].column, &len);
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
    double value = column < m->ncols ? column_value(m, s, col) : s->value[m->response_factor];
    for (size_t k = 0; k < col->nparts; k++) {
        if (parts[k].kind == OOC_PART_NUMERIC && !isfinite(s->value[parts[k].factor])) {
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
        ooc_python_float_repr(s->value[parts[k].factor], value_text, sizeof value_text);
        append(buf, size, &o, "%s%s = %s", sep, m->factors[parts[k].factor].code, value_text);
        sep = " and ";
    }
    return value;
}
