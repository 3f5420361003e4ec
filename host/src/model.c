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
 */
#include "error.h"
#include "formula_internal.h"
#include "numparse.h"

#include <math.h>
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

static uint64_t hash_text(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void index_free(ooc_level_index *ix)
{
    if (!ix)
        return;
    if (ix->owns_keys)
        for (size_t i = 0; i < ix->cap; i++)
            free(ix->keys[i]);
    free(ix->keys);
    free(ix->values);
    memset(ix, 0, sizeof *ix);
}

/* Slot of `s` in ix, or of the empty slot where it would go. */
static size_t index_slot(const ooc_level_index *ix, const char *s, size_t len)
{
    size_t mask = ix->cap - 1;
    size_t i = (size_t)hash_text(s, len) & mask;
    while (ix->keys[i] && (strncmp(ix->keys[i], s, len) != 0 || ix->keys[i][len] != '\0'))
        i = (i + 1) & mask;
    return i;
}

static bool index_find(const ooc_level_index *ix, const char *s, size_t len, size_t *value)
{
    if (!ix->cap)
        return false;
    size_t i = index_slot(ix, s, len);
    if (!ix->keys[i])
        return false;
    *value = ix->values[i];
    return true;
}

static bool index_grow(ooc_level_index *ix)
{
    size_t ncap = ix->cap ? 2 * ix->cap : 16;
    ooc_level_index bigger = {calloc(ncap, sizeof(char *)), calloc(ncap, sizeof(size_t)), ncap, 0,
                              ix->owns_keys};
    if (!bigger.keys || !bigger.values) {
        free(bigger.keys);
        free(bigger.values);
        return false;
    }
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->keys[i])
            continue;
        size_t j = index_slot(&bigger, ix->keys[i], strlen(ix->keys[i]));
        bigger.keys[j] = ix->keys[i];
        bigger.values[j] = ix->values[i];
        bigger.n++;
    }
    free(ix->keys);
    free(ix->values);
    *ix = bigger;
    return true;
}

/* Insert s -> value (copying s when the index owns its keys); no-op if present. */
static bool index_insert(ooc_level_index *ix, char *s, size_t len, size_t value)
{
    if ((ix->n + 1) * 2 > ix->cap && !index_grow(ix))
        return false;
    size_t i = index_slot(ix, s, len);
    if (ix->keys[i])
        return true;
    char *key = s;
    if (ix->owns_keys) {
        key = malloc(len + 1);
        if (!key)
            return false;
        memcpy(key, s, len);
        key[len] = '\0';
    }
    ix->keys[i] = key;
    ix->values[i] = value;
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
        index_free(m->vars[i].seen);
        free(m->vars[i].seen);
    }
    free(m->vars);
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        free(f->code);
        free(f->ref.text);
        ooc_level_list_free(&f->levels);
        free(f->prog);
        if (m->lookups) {
            index_free(&m->lookups[i].by_text);
            free(m->lookups[i].sorted_values);
            free(m->lookups[i].sorted_index);
        }
    }
    free(m->factors);
    free(m->lookups);
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
    for (size_t i = 0; i < m->ncoef; i++)
        free(m->coef_store[i]);
    free(m->coef_store);
    free(m);
}

/* ------------------------------------------------------------------ */
/* Bind                                                               */
/* ------------------------------------------------------------------ */

static ooc_status copy_na_values(ooc_model *m, const ooc_model_data_options *opts, ooc_error *err)
{
    const char *const *list = default_na_values;
    size_t n = sizeof default_na_values / sizeof default_na_values[0];
    if (opts && opts->na_values) {
        list = opts->na_values;
        n = opts->n_na_values;
    }
    m->na_values = calloc(n ? n : 1, sizeof *m->na_values);
    m->na_lens = calloc(n ? n : 1, sizeof *m->na_lens);
    if (!m->na_values || !m->na_lens)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    m->na_len_mask = 0;
    memset(m->na_first_char, 0, sizeof m->na_first_char);
    m->na_empty = false;
    for (size_t i = 0; i < n; i++) {
        const char *s = list[i] ? list[i] : "";
        size_t len = strlen(s);
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

/* First sample row whose value of column `col` is neither missing nor a number. */
static bool find_non_numeric(const ooc_model *m, const ooc_csv_block *sample, size_t col,
                             size_t *row)
{
    for (size_t r = 0; sample && r < sample->nrecords; r++) {
        size_t len;
        const char *s = field_text(sample, r, col, &len);
        double v;
        if (!is_na_text(m, s, len) && !ooc_parse_double(s, len, &v)) {
            *row = r;
            return true;
        }
    }
    return false;
}

ooc_status ooc_model_bind(ooc_model *m, const char *const *names, size_t ncols,
                          const ooc_csv_block *sample, const ooc_model_data_options *opts,
                          ooc_error *err)
{
    ooc_status status = OOC_OK;
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

    for (size_t i = 0; i < m->nvars; i++) {
        ooc_variable *v = &m->vars[i];
        size_t j = 0;
        while (j < ncols && strcmp(names[j], v->name) != 0)
            j++;
        if (j == ncols) {
            char cols[256];
            size_t o = 0;
            for (size_t k = 0; k < ncols && o + 8 < sizeof cols; k++) {
                int w = snprintf(cols + o, sizeof cols - o, "%s%s", k ? ", " : "", names[k]);
                if (w < 0 || o + (size_t)w >= sizeof cols - 4) {
                    memcpy(cols + o, ", ...", 6);
                    o += 5;
                    break;
                }
                o += (size_t)w;
            }
            cols[o] = '\0';
            return ooc_formula_error(err, m->formula, v->origin, v->origin_len,
                                     "unknown column '%s' (%s has columns: %s)", v->name,
                                     m->file_name, cols);
        }
        v->column = j;
        v->numeric_use = false;
        v->any_missing = false;
        v->all_numeric = v->all_integral = v->all_bool = true;
    }
    /* Bare variables whose sample data is not numeric are categorical. */
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        size_t row;
        if (f->kind == OOC_FACTOR_VAR &&
            find_non_numeric(m, sample, m->vars[f->var].column, &row)) {
            if (m->has_response && m->response_factor == i) {
                size_t len;
                const char *s = field_text(sample, row, m->vars[f->var].column, &len);
                char q[64];
                ooc_quote_excerpt(q, sizeof q, s, len);
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "%s, line %llu, column '%s': the response must be numeric, "
                                "found %s",
                                m->file_name, (unsigned long long)sample->line_numbers[row],
                                m->vars[f->var].name, q);
            }
            f->categorical = true;
            m->vars[f->var].needs_scan = true;
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
            size_t row;
            if (find_non_numeric(m, sample, v->column, &row)) {
                size_t len;
                const char *s = field_text(sample, row, v->column, &len);
                char q[64];
                ooc_quote_excerpt(q, sizeof q, s, len);
                return OOC_FAIL(err, OOC_ERR_DATA,
                                "%s, line %llu, column '%s': %s is not a number (the column is "
                                "used in '%s')",
                                m->file_name, (unsigned long long)sample->line_numbers[row],
                                v->name, q, f->code);
            }
        }
    }
    for (size_t i = 0; i < m->nvars; i++) {
        if (m->vars[i].needs_scan) {
            m->vars[i].seen = calloc(1, sizeof *m->vars[i].seen);
            if (!m->vars[i].seen)
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
            m->vars[i].seen->owns_keys = true;
        }
    }
    m->csv_columns = ncols;
    m->bound = true;
out:
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
    if (!m || !blk || !m->bound || m->finished)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_scan_levels: model not bound");
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
            if (!index_insert(v->seen, (char *)s, len, v->seen->n))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory collecting levels");
        }
    }
    return OOC_OK;
}

/* ------------------------------------------------------------------ */
/* Finish: levels, lookups, columns                                   */
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

/* The sorted levels of a scanned variable, as patsy would find them. */
static ooc_status discover_levels(const ooc_model *m, const ooc_variable *v, ooc_level_list *out,
                                  ooc_error *err)
{
    const ooc_level_index *seen = v->seen;
    if (v->all_bool && seen->n) {
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
    ooc_level_kind kind = !v->all_numeric ? OOC_LEVEL_STR
                          : (v->all_integral && !v->any_missing) ? OOC_LEVEL_INT
                                                                 : OOC_LEVEL_FLOAT;
    for (size_t i = 0; i < seen->cap; i++) {
        if (!seen->keys[i])
            continue;
        ooc_level *l = &out->items[out->n];
        l->kind = kind;
        if (kind != OOC_LEVEL_STR)
            ooc_parse_double(seen->keys[i], strlen(seen->keys[i]), &l->num);
        out->n++;
    }
    if (kind == OOC_LEVEL_STR) {
        size_t k = 0;
        for (size_t i = 0; i < seen->cap; i++)
            if (seen->keys[i] && !(out->items[k++].text = strdup(seen->keys[i])))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
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

static ooc_status copy_levels(const ooc_level_list *src, ooc_level_list *dst, ooc_error *err)
{
    dst->items = calloc(src->n ? src->n : 1, sizeof *dst->items);
    if (!dst->items)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < src->n; i++) {
        dst->items[i] = src->items[i];
        dst->items[i].text = strdup(src->items[i].text);
        if (!dst->items[i].text)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        dst->n = i + 1;
    }
    return OOC_OK;
}

static ooc_status build_lookup(const ooc_factor *f, ooc_factor_lookup *lk, ooc_error *err)
{
    lk->bool_index[0] = lk->bool_index[1] = SIZE_MAX;
    const ooc_level_list *l = &f->levels;
    ooc_level_kind kind = l->items[0].kind;
    if (kind == OOC_LEVEL_STR) {
        for (size_t i = 0; i < l->n; i++)
            if (!index_insert(&lk->by_text, l->items[i].text, strlen(l->items[i].text), i))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        return OOC_OK;
    }
    if (kind == OOC_LEVEL_BOOL) {
        for (size_t i = 0; i < l->n; i++)
            lk->bool_index[l->items[i].num != 0] = i;
        return OOC_OK;
    }
    lk->sorted_values = malloc(l->n * sizeof *lk->sorted_values);
    lk->sorted_index = malloc(l->n * sizeof *lk->sorted_index);
    if (!lk->sorted_values || !lk->sorted_index)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    /* insertion sort: level lists are short and this runs once */
    for (size_t i = 0; i < l->n; i++) {
        size_t k = i;
        while (k > 0 && lk->sorted_values[k - 1] > l->items[i].num) {
            lk->sorted_values[k] = lk->sorted_values[k - 1];
            lk->sorted_index[k] = lk->sorted_index[k - 1];
            k--;
        }
        lk->sorted_values[k] = l->items[i].num;
        lk->sorted_index[k] = i;
    }
    lk->nsorted = l->n;
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

static bool factor_is_numeric(const ooc_factor *f) { return !f->categorical; }

/* A subterm: the set of (factor, full-rank) pairs, coded factor*2+full, sorted. */
typedef struct subterm {
    size_t codes[64];
    size_t n;
} subterm;

static bool subterm_equal(const subterm *a, const subterm *b)
{
    return a->n == b->n && memcmp(a->codes, b->codes, a->n * sizeof a->codes[0]) == 0;
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

typedef struct layout {
    subterm *used;
    size_t nused, used_cap;
    size_t columns_cap;
} layout;

static ooc_status store_coef(ooc_model *m, double *coef, ooc_error *err)
{
    if (m->ncoef == m->coef_cap) {
        size_t ncap = m->coef_cap ? 2 * m->coef_cap : 16;
        double **bigger = realloc(m->coef_store, ncap * sizeof *bigger);
        if (!bigger) {
            free(coef);
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        m->coef_store = bigger;
        m->coef_cap = ncap;
    }
    m->coef_store[m->ncoef++] = coef;
    return OOC_OK;
}

/* Contrast column `col` of factor f (full or reduced rank): its coefficients
 * per level and its name suffix. */
static ooc_status contrast_column(ooc_model *m, const ooc_factor *f, bool full, size_t col,
                                  const double **coef_out, char *suffix, size_t suffix_size,
                                  ooc_error *err)
{
    size_t n = f->levels.n, ref = f->ref_index;
    double *coef = calloc(n ? n : 1, sizeof *coef);
    if (!coef)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    ooc_status status = store_coef(m, coef, err);
    if (status != OOC_OK)
        return status;
    *coef_out = coef;
    if (f->contrast == OOC_CONTRAST_TREATMENT && full) {
        coef[col] = 1.0;
        snprintf(suffix, suffix_size, "[%s]", f->levels.items[col].text);
        return OOC_OK;
    }
    if (f->contrast == OOC_CONTRAST_SUM && full) {
        if (col == 0) {
            for (size_t i = 0; i < n; i++)
                coef[i] = 1.0;
            snprintf(suffix, suffix_size, "[mean]");
            return OOC_OK;
        }
        col--;
    }
    size_t level = col < ref ? col : col + 1;
    coef[level] = 1.0;
    if (f->contrast == OOC_CONTRAST_SUM)
        coef[ref] = -1.0;
    snprintf(suffix, suffix_size, "[%s.%s]", f->contrast == OOC_CONTRAST_SUM ? "S" : "T",
             f->levels.items[level].text);
    return OOC_OK;
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
    ooc_status status = OOC_OK;
    size_t fac[64], counts[64];
    bool full[64];
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
            part->coef = NULL;
            if (!factor_is_numeric(f)) {
                status = contrast_column(m, f, full[k], idx, &part->coef, suffix, sizeof suffix,
                                         err);
                if (status != OOC_OK) {
                    free(name);
                    return status;
                }
            }
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
    return status;
}

/* patsy's pick_contrasts_for_term followed by the columns of each subterm. */
static ooc_status add_term_columns(ooc_model *m, layout *lay, const ooc_term *term,
                                   ooc_error *err)
{
    size_t cat[64], k = 0;
    for (size_t i = 0; i < term->nfactors; i++)
        if (!factor_is_numeric(&m->factors[term->factors[i]]))
            cat[k++] = term->factors[i];
    if (k > 16)
        return ooc_formula_error(err, m->formula, 0, strlen(m->formula),
                                 "a term interacts more than 16 categorical factors");
    size_t nsubsets = (size_t)1 << k;
    subterm *subs = malloc(nsubsets * sizeof *subs);
    if (!subs)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    size_t nsubs = 0;
    /* Subsets by size, then lexicographically by position (patsy _subsets_sorted). */
    for (size_t size = 0; size <= k; size++) {
        size_t idx[64];
        for (size_t i = 0; i < size; i++)
            idx[i] = i;
        for (;;) {
            subterm s = {.n = size};
            for (size_t i = 0; i < size; i++)
                s.codes[i] = 2 * cat[idx[i]];
            subterm_sort(&s);
            bool used = false;
            for (size_t u = 0; u < lay->nused && !used; u++)
                used = subterm_equal(&lay->used[u], &s);
            if (!used)
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
    if (lay->nused + nsubs > lay->used_cap) {
        size_t ncap = 2 * (lay->nused + nsubs) + 8;
        subterm *bigger = realloc(lay->used, ncap * sizeof *bigger);
        if (!bigger) {
            free(subs);
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        lay->used = bigger;
        lay->used_cap = ncap;
    }
    memcpy(lay->used + lay->nused, subs, nsubs * sizeof *subs);
    lay->nused += nsubs;
    simplify_subterms(subs, &nsubs);
    ooc_status status = OOC_OK;
    for (size_t i = 0; i < nsubs && status == OOC_OK; i++)
        status = add_subterm_columns(m, lay, term, &subs[i], err);
    free(subs);
    return status;
}

/* The numeric factors of a term, as a sorted array (the bucket key). */
static size_t numeric_key(const ooc_model *m, const ooc_term *t, size_t *key)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nfactors; i++)
        if (factor_is_numeric(&m->factors[t->factors[i]]))
            key[n++] = t->factors[i];
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && key[k - 1] > key[k]; k--) {
            size_t tmp = key[k];
            key[k] = key[k - 1];
            key[k - 1] = tmp;
        }
    return n;
}

static ooc_status build_columns(ooc_model *m, ooc_error *err)
{
    size_t nt = m->rhs.n;
    size_t *bucket = malloc((nt ? nt : 1) * sizeof *bucket);   /* bucket id per term */
    size_t *order = malloc((nt ? nt : 1) * sizeof *order);     /* bucket ids in output order */
    layout lay = {0};
    ooc_status status = OOC_OK;
    if (!bucket || !order) {
        status = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nt; i++)
        if (m->rhs.items[i].nfactors > 64) {
            status = ooc_formula_error(err, m->formula, 0, strlen(m->formula),
                                       "a term has more than 64 factors");
            goto out;
        }
    size_t nbuckets = 0;
    size_t empty_bucket = SIZE_MAX;
    for (size_t i = 0; i < nt; i++) {
        size_t key[64], kn = numeric_key(m, &m->rhs.items[i], key);
        bucket[i] = SIZE_MAX;
        for (size_t j = 0; j < i && bucket[i] == SIZE_MAX; j++) {
            size_t other[64], on = numeric_key(m, &m->rhs.items[j], other);
            if (on == kn && memcmp(key, other, kn * sizeof key[0]) == 0)
                bucket[i] = bucket[j];
        }
        if (bucket[i] == SIZE_MAX) {
            bucket[i] = nbuckets;
            order[nbuckets++] = bucket[i];
            if (kn == 0)
                empty_bucket = bucket[i];
        }
    }
    if (empty_bucket != SIZE_MAX) { /* the no-numerics bucket always comes first */
        size_t pos = 0;
        while (order[pos] != empty_bucket)
            pos++;
        memmove(order + 1, order, pos * sizeof *order);
        order[0] = empty_bucket;
    }
    for (size_t b = 0; b < nbuckets; b++) {
        lay.nused = 0;
        size_t maxdeg = 0;
        for (size_t i = 0; i < nt; i++)
            if (bucket[i] == order[b] && m->rhs.items[i].nfactors > maxdeg)
                maxdeg = m->rhs.items[i].nfactors;
        /* stable sort by degree: visit degrees in increasing order */
        for (size_t deg = 0; deg <= maxdeg; deg++)
            for (size_t i = 0; i < nt; i++)
                if (bucket[i] == order[b] && m->rhs.items[i].nfactors == deg)
                    OOC_CHECK(add_term_columns(m, &lay, &m->rhs.items[i], err));
    }
out:
    free(bucket);
    free(order);
    free(lay.used);
    return status;
}

ooc_status ooc_model_finish_levels(ooc_model *m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!m || !m->bound || m->finished)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_finish_levels: model not bound or already finished");
    m->lookups = calloc(m->nfactors ? m->nfactors : 1, sizeof *m->lookups);
    if (!m->lookups)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        if (!f->categorical)
            continue;
        if (!f->has_given_levels) {
            ooc_level_list found = {NULL, 0};
            status = discover_levels(m, &m->vars[f->var], &found, err);
            if (status == OOC_OK)
                status = copy_levels(&found, &f->levels, err);
            ooc_level_list_free(&found);
            if (status != OOC_OK)
                goto out;
        }
        OOC_CHECK(build_lookup(f, &m->lookups[i], err));
        OOC_CHECK(resolve_reference(m, f, err));
    }
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
    if (!s->var_value || !s->var_missing || !s->level || !s->value || !s->stack) {
        ooc_model_scratch_free(s);
        return NULL;
    }
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
    free(s);
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
    case OOC_LEVEL_STR: return index_find(&lk->by_text, s, len, level);
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

ooc_status ooc_model_eval(const ooc_model *m, ooc_model_scratch *s, const ooc_csv_block *blk,
                          double *X, double *y, size_t *nrows_out, size_t *ndropped,
                          ooc_error *err)
{
    if (!m || !m->finished || !s || !blk || !nrows_out || !ndropped ||
        (blk->nrecords && !X) || (blk->nrecords && m->has_response && !y))
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_eval: bad arguments");
    if (blk->nrecords && blk->nfields != m->csv_columns)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_eval: block has %zu fields per record, header has %zu",
                        blk->nfields, m->csv_columns);
    size_t kept = 0, dropped = 0;
    const size_t p = m->ncols;
    for (size_t r = 0; r < blk->nrecords; r++) {
        /* Read the variables. */
        for (size_t v = 0; v < m->nvars; v++) {
            size_t len;
            const char *t = field_text(blk, r, m->vars[v].column, &len);
            bool na = is_na_text(m, t, len);
            if (m->vars[v].numeric_use) {
                double x = NAN;
                if (!na && !ooc_parse_double(t, len, &x))
                    return data_error(m, err, blk, r, v, "expected a number, found");
                na = na || isnan(x);
                s->var_value[v] = x;
            }
            s->var_missing[v] = na;
        }
        /* Evaluate the factors. */
        bool missing = false;
        size_t missing_factor = 0;
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
            if (na && !missing) {
                missing = true;
                missing_factor = i;
            }
        }
        if (missing) {
            if (m->missing_is_error) {
                const ooc_factor *f = &m->factors[missing_factor];
                size_t var = f->var;
                bool found = f->kind != OOC_FACTOR_EXPR;
                for (size_t k = 0; !found && k < f->nprog; k++)
                    if (f->prog[k].op == OOC_EX_VAR && s->var_missing[f->prog[k].var]) {
                        var = f->prog[k].var;
                        found = true;
                    }
                if (found)
                    return data_error(m, err, blk, r, var, "missing value");
                return OOC_FAIL(err, OOC_ERR_DATA, "%s, line %llu: '%s' evaluates to NaN",
                                m->file_name, (unsigned long long)blk->line_numbers[r], f->code);
            }
            dropped++;
            continue;
        }
        double *row = X + kept * p;
        for (size_t c = 0; c < p; c++) {
            const ooc_column *col = &m->columns[c];
            double acc = 1.0;
            for (size_t k = 0; k < col->nparts; k++) {
                const ooc_col_part *part = &m->parts[col->first_part + k];
                acc *= part->coef ? part->coef[s->level[part->factor]] : s->value[part->factor];
            }
            row[c] = acc;
        }
        if (m->has_response && y)
            y[kept] = s->value[m->response_factor];
        kept++;
    }
    *nrows_out = kept;
    *ndropped = dropped;
    return OOC_OK;
}
