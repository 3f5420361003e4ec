/*
 * bind.c — binding a parsed formula to a CSV file: its variables to header
 * columns, the type of each plain variable inferred from a sample block (or
 * pinned by the caller), the checks that arithmetic and the response read
 * numbers and that text comparisons read texts, and the level scan that
 * collects the distinct texts of the categoricals whose levels were not
 * given.  Level discovery follows patsy's
 * categorical sniffing, which sees every row (also rows dropped for other
 * variables), and pandas' dtype rules (int levels only when the whole column
 * is integral and has no missing value).  The scan's state packs into bytes
 * and merges into another model's, for processes that each scanned a share
 * of one file.
 */
#include "base/error.h"
#include "formula/fields.h"
#include "csv/numparse.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        const char *s = ooc_field_text(sample, r, col, &len);
        double v;
        if (!ooc_field_is_na(m, s, len) && !ooc_parse_double(s, len, &v)) {
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
        const char *s = ooc_field_text(sample, r, col, &len);
        double v;
        if (!ooc_field_is_na(m, s, len) && ooc_parse_double(s, len, &v) && !isnan(v))
            return true;
    }
    return false;
}

/* Refuse text comparison t (g == 'a') unless pandas reads its column as
 * texts: pinned categorical, or with some text among the sample's values
 * that is not a boolean spelling.  pandas finds a column of numbers or of
 * booleans equal to no string, so the comparison would be False (!= True) in
 * every row: surely not what was meant.  An empty sample has nothing to
 * compare.  Errors: OOC_ERR_FORMULA, with a caret under the comparison. */
static ooc_status check_text_column(const ooc_model *m, const ooc_text_test *t,
                                    const ooc_csv_block *sample, size_t *cache, ooc_error *err)
{
    const ooc_variable *v = &m->vars[t->var];
    if (v->pinned == OOC_COLUMN_CATEGORICAL || !sample || sample->nrecords == 0)
        return OOC_OK;
    const char *what;
    if (v->pinned == OOC_COLUMN_NUMERIC) {
        what = "numbers (--dtype)";
    } else if (non_numeric_row(m, sample, t->var, cache) == ROW_NONE) {
        what = "numbers (its first records hold no text)";
    } else {
        what = "booleans (its first records hold only True / False)";
        for (size_t r = 0; r < sample->nrecords; r++) {
            size_t len;
            const char *s = ooc_field_text(sample, r, v->column, &len);
            if (!ooc_field_is_na(m, s, len) && ooc_field_bool(s, len) < 0)
                return OOC_OK;
        }
    }
    return ooc_formula_error(err, m->formula, t->origin, t->origin_len,
                             "pandas reads column '%s' as %s, and those never equal a string: "
                             "this would be %s in every row; --dtype %s=str reads the column as "
                             "text", v->name, what, t->equal ? "False" : "True", v->name);
}

/* The start of the header, bounded whatever the header: the first 8 names,
 * each quoted and cut to 40 bytes, then how many in all. */
static void header_excerpt(const char *const *names, size_t ncols, char *out, size_t size)
{
    enum { SHOWN = 8, NAME_ROOM = 96 };
    size_t o = 0, k;
    out[0] = '\0';
    for (k = 0; k < ncols && k < SHOWN && o < size; k++) {
        char name[NAME_ROOM];
        ooc_quote_excerpt(name, sizeof name, names[k], strlen(names[k]));
        o += (size_t)snprintf(out + o, size - o, "%s%s", k ? ", " : "", name);
    }
    if (k < ncols && o < size)
        snprintf(out + o, size - o, ", ... (%zu columns)", ncols);
}

/* Room for header_excerpt's text. */
#define HEADER_EXCERPT_SIZE (8 * 98 + 48)

/* The "unknown column" error for variable v: the formula with a caret under
 * its first use and the start of the header. */
static ooc_status unknown_column(const ooc_model *m, const ooc_variable *v,
                                 const char *const *names, size_t ncols, ooc_error *err)
{
    char cols[HEADER_EXCERPT_SIZE];
    header_excerpt(names, ncols, cols, sizeof cols);
    return ooc_formula_error(err, m->formula, v->origin, v->origin_len,
                             "unknown column '%s' (%s has columns: %s)", v->name, m->file_name,
                             cols);
}

/* Bind the data options' extra columns to the header (m->extra_columns,
 * m->extra_names; with keys, their dictionary and whether each column holds
 * texts: pinned by dtypes, else as the sample's values look).  Errors: OOC_ERR_INVALID_ARG (not in the header, with its
 * start), OOC_ERR_NOMEM. */
static ooc_status bind_extra_columns(ooc_model *m, const ooc_text_index *header,
                                     const char *const *names, size_t ncols,
                                     const ooc_csv_block *sample,
                                     const ooc_model_data_options *opts, ooc_error *err)
{
    size_t n = opts ? opts->nextra : 0;
    if (n == 0)
        return OOC_OK;
    m->extra_columns = malloc(n * sizeof *m->extra_columns);
    m->extra_names = calloc(n, sizeof *m->extra_names);
    if (!m->extra_columns || !m->extra_names)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const char *name = opts->extra_columns[k];
        if (!name || !ooc_text_index_find(header, name, strlen(name), &m->extra_columns[k])) {
            char cols[HEADER_EXCERPT_SIZE];
            header_excerpt(names, ncols, cols, sizeof cols);
            return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "unknown column '%s' (%s has columns: %s)",
                            name ? name : "", m->file_name, cols);
        }
        if (!(m->extra_names[k] = strdup(name)))
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        m->nextra = k + 1;
    }
    m->nextra_keys = opts->nextra_keys < n ? opts->nextra_keys : n;
    if (m->nextra_keys == 0)
        return OOC_OK;
    m->key_dict = ooc_key_dict_new();
    m->key_text = calloc(m->nextra_keys, sizeof *m->key_text);
    if (!m->key_dict || !m->key_text)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    /* a key column of texts when pinned so, or when a sample value is not a number */
    for (size_t k = 0; k < m->nextra_keys; k++) {
        size_t col = m->extra_columns[n - m->nextra_keys + k];
        const char *name = m->extra_names[n - m->nextra_keys + k];
        ooc_column_type pinned = 0;
        for (size_t d = 0; d < opts->ndtypes; d++)
            if (opts->dtypes[d].column && !strcmp(opts->dtypes[d].column, name))
                pinned = opts->dtypes[d].type;
        m->key_text[k] = pinned == OOC_COLUMN_CATEGORICAL;
        for (size_t r = 0; !pinned && sample && r < sample->nrecords && !m->key_text[k]; r++) {
            size_t len;
            const char *t = ooc_field_text(sample, r, col, &len);
            double v;
            m->key_text[k] = !ooc_field_is_na(m, t, len) && !ooc_parse_double(t, len, &v);
        }
    }
    return OOC_OK;
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
    OOC_CHECK(ooc_model_set_na_values(m, opts, err));

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
    OOC_CHECK(bind_extra_columns(m, &header, names, ncols, sample, opts, err));
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
            const char *s = ooc_field_text(sample, row, m->vars[f->var].column, &len);
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
            const char *s = ooc_field_text(sample, row, v->column, &len);
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
        for (size_t k = 0; k < f->nprog; k++)
            if (f->prog[k].op == OOC_EX_VAR)
                m->vars[f->prog[k].var].numeric_use = true;
    }
    /* A variable used in arithmetic must hold numbers. */
    for (size_t i = 0; i < m->nfactors; i++) {
        const ooc_factor *f = &m->factors[i];
        for (size_t k = 0; k < f->nprog; k++) {
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
            const char *s = ooc_field_text(sample, row, v->column, &len);
            char q[64];
            ooc_quote_excerpt(q, sizeof q, s, len);
            status = OOC_FAIL(err, OOC_ERR_DATA,
                              "%s, line %llu, column '%s': %s is not a number (the column is "
                              "used in '%s')%s",
                              m->file_name, (unsigned long long)sample->line_numbers[row],
                              v->name, q, f->code,
                              ooc_field_is_spaced_na(m, s, len) ? OOC_SPACED_NA_NOTE : "");
            goto out;
        }
    }
    for (size_t k = 0; k < m->ntests; k++)
        OOC_CHECK(check_text_column(m, &m->tests[k], sample, bad_row, err));
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

/* Take one field text of scanned variable v into its level scan. */
static ooc_status scan_text(const ooc_model *m, ooc_variable *v, const char *s, size_t len,
                            ooc_error *err)
{
    double x;
    bool numeric = ooc_parse_double(s, len, &x);
    if (ooc_field_is_na(m, s, len) || (numeric && isnan(x))) {
        v->any_missing = true;
        return OOC_OK;
    }
    if (v->all_bool && ooc_field_bool(s, len) < 0)
        v->all_bool = false;
    if (v->all_numeric && !numeric)
        v->all_numeric = false;
    if (v->all_integral && (!numeric || !ooc_field_is_integer(s, len)))
        v->all_integral = false;
    if (!ooc_text_index_insert(v->seen, s, len, v->seen->n))
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory collecting levels");
    return OOC_OK;
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
            const char *s = ooc_field_text(blk, r, v->column, &len);
            ooc_status status = scan_text(m, v, s, len, err);
            if (status != OOC_OK)
                return status;
        }
    }
    return OOC_OK;
}

/* ---- the level scan's state as bytes -------------------------------------
 * For each scanned variable in order: one byte of flags (any_missing,
 * !all_numeric, !all_integral, !all_bool: the scan only ever sets them),
 * the count of texts (8 bytes), then each text as its length (8 bytes) and
 * its bytes.  A missing text is not kept: its flag says it was seen. */

enum { SEEN_MISSING = 1, SEEN_NON_NUMERIC = 2, SEEN_NON_INTEGRAL = 4, SEEN_NON_BOOL = 8 };

static void put_u64(unsigned char **p, uint64_t v)
{
    memcpy(*p, &v, sizeof v);
    *p += sizeof v;
}

ooc_status ooc_model_pack_levels(const ooc_model *m, void **out, size_t *nbytes, ooc_error *err)
{
    *out = NULL;
    *nbytes = 0;
    if (!m->bound || m->levels_resolved)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_pack_levels: model not bound or levels already resolved");
    size_t total = 0;
    for (size_t i = 0; i < m->nvars; i++)
        if (m->vars[i].needs_scan) {
            const ooc_text_index *seen = m->vars[i].seen;
            total += 1 + sizeof(uint64_t);
            for (size_t k = 0; k < seen->cap; k++)
                if (seen->slots[k].key)
                    total += sizeof(uint64_t) + seen->slots[k].len;
        }
    unsigned char *buf = malloc(total ? total : 1), *p = buf;
    if (!buf)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %zu bytes of levels", total);
    for (size_t i = 0; i < m->nvars; i++) {
        const ooc_variable *v = &m->vars[i];
        if (!v->needs_scan)
            continue;
        *p++ = (unsigned char)((v->any_missing ? SEEN_MISSING : 0) |
                               (v->all_numeric ? 0 : SEEN_NON_NUMERIC) |
                               (v->all_integral ? 0 : SEEN_NON_INTEGRAL) |
                               (v->all_bool ? 0 : SEEN_NON_BOOL));
        put_u64(&p, v->seen->n);
        for (size_t k = 0; k < v->seen->cap; k++) {
            const ooc_text_slot *slot = &v->seen->slots[k];
            if (!slot->key)
                continue;
            put_u64(&p, slot->len);
            memcpy(p, slot->key, slot->len);
            p += slot->len;
        }
    }
    *out = buf;
    *nbytes = total;
    return OOC_OK;
}

/* The next 8-byte number of data[*at..n), or false when it is not there. */
static bool get_u64(const unsigned char *data, size_t n, size_t *at, uint64_t *v)
{
    if (n - *at < sizeof *v)
        return false;
    memcpy(v, data + *at, sizeof *v);
    *at += sizeof *v;
    return true;
}

ooc_status ooc_model_merge_levels(ooc_model *m, const void *data, size_t nbytes, ooc_error *err)
{
    if (!m->bound || m->levels_resolved)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ooc_model_merge_levels: model not bound or levels already resolved");
    const unsigned char *d = data;
    size_t at = 0;
    for (size_t i = 0; i < m->nvars; i++) {
        ooc_variable *v = &m->vars[i];
        if (!v->needs_scan)
            continue;
        if (at >= nbytes)
            goto damaged;
        unsigned flags = d[at++];
        uint64_t count;
        if (!get_u64(d, nbytes, &at, &count))
            goto damaged;
        v->any_missing |= (flags & SEEN_MISSING) != 0;
        v->all_numeric &= !(flags & SEEN_NON_NUMERIC);
        v->all_integral &= !(flags & SEEN_NON_INTEGRAL);
        v->all_bool &= !(flags & SEEN_NON_BOOL);
        for (uint64_t k = 0; k < count; k++) {
            uint64_t len;
            if (!get_u64(d, nbytes, &at, &len) || len > nbytes - at)
                goto damaged;
            if (!ooc_text_index_insert(v->seen, (const char *)d + at, (size_t)len, v->seen->n))
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory collecting levels");
            at += (size_t)len;
        }
    }
    if (at == nbytes)
        return OOC_OK;
damaged:
    return OOC_FAIL(err, OOC_ERR_INTERNAL,
                    "ooc_model_merge_levels: %zu bytes that are not another model's levels",
                    nbytes);
}
