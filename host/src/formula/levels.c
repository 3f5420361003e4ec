/*
 * levels.c — the levels of categorical factors: level values (printing,
 * Python equality), discovery of the levels a scan has seen, sorted as patsy
 * sorts them, the per-factor lookup tables from a field's text to its level
 * (read by eval.c), the resolution of Treatment/Sum references, and the
 * values of the Helmert, Diff and Poly codings (Poly's orthonormal
 * polynomials computed once per factor, in long double).
 */
#include "base/error.h"
#include "formula/formula_internal.h"
#include "csv/numparse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ooc_level_list_free(ooc_level_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

bool ooc_level_equal(const ooc_level *a, const ooc_level *b)
{
    bool a_str = a->kind == OOC_LEVEL_STR, b_str = b->kind == OOC_LEVEL_STR;
    if (a_str || b_str)
        return a_str && b_str && strcmp(a->text, b->text) == 0;
    return a->num == b->num;
}

/* Printed form of a level (patsy uses str() for strings, repr() otherwise). */
char *ooc_level_text(ooc_level_kind kind, double v, const char *s, size_t slen)
{
    char buf[64];
    switch (kind) {
    case OOC_LEVEL_STR: {
        char *t = malloc(slen + 1);
        if (t) {
            memcpy(t, s, slen);
            t[slen] = '\0';
        }
        return t;
    }
    case OOC_LEVEL_BOOL: snprintf(buf, sizeof buf, "%s", v != 0 ? "True" : "False"); break;
    case OOC_LEVEL_INT: snprintf(buf, sizeof buf, "%.0f", v); break;
    case OOC_LEVEL_FLOAT: ooc_python_float_repr(v, buf, sizeof buf); break;
    }
    return strdup(buf);
}

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
    for (size_t i = 0; i < out->n; i++)
        if (!(out->items[i].text = ooc_level_text(kind, out->items[i].num, NULL, 0)))
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
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
    if (f->kind == OOC_FACTOR_BOOL) {
        /* the levels equal to False and True (Python: False == 0, True == 1) */
        for (size_t i = l->n; i-- > 0;)
            for (int b = 0; b < 2; b++)
                if (l->items[i].num == b)
                    lk->bool_index[b] = i;
        return OOC_OK;
    }
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

/* Poly's coding of f (patsy's Poly: the scores, 0, 1, ... by default, and
 * the columns of QR of their Vandermonde matrix, signed so that R's diagonal
 * is positive, with the constant column set to 1) into f->poly.  Column k is
 * the orthonormal polynomial of degree k on the scores, computed here without
 * the Vandermonde matrix: Arnoldi on diag(scores) from the constant vector,
 * each new column orthogonalised twice against the earlier ones, in long
 * double.  That is accurate to a few long double ulps whatever the scores'
 * spacing, so the doubles are the exact values correctly rounded but for
 * rare ties; patsy's own QR is within about n * cond(V) * 2^-53 of them
 * (tests/interop/interop_patsy.py compares with that bound).  O(n^3) time
 * and O(n^2) memory for n levels.  Errors: OOC_ERR_FORMULA (scores and
 * levels differ in number), OOC_ERR_NOMEM. */
/* Most levels a Poly coding may have: its cost is O(levels^3). */
#define OOC_POLY_MAX_LEVELS 500

static ooc_status poly_coding(const ooc_model *m, ooc_factor *f, ooc_error *err)
{
    size_t n = f->levels.n;
    if (f->scores && f->nscores != n)
        return ooc_formula_error(err, m->formula, f->origin, f->origin_len,
                                 "number of levels (%zu) does not match number of scores (%zu)",
                                 n, f->nscores);
    if (n > OOC_POLY_MAX_LEVELS)
        return ooc_formula_error(err, m->formula, f->origin, f->origin_len,
                                 "Poly of %zu levels: at most %d (patsy's polynomials of such "
                                 "degree are rounding noise)",
                                 n, OOC_POLY_MAX_LEVELS);
    long double *q = malloc(n * n * sizeof *q), *x = malloc(n * sizeof *x);
    f->poly = malloc(n * n * sizeof *f->poly);
    if (!q || !x || !f->poly) {
        free(q);
        free(x);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    }
    long double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i] = f->scores ? (long double)f->scores[i] : (long double)i;
    mean /= (long double)n;
    for (size_t i = 0; i < n; i++) {
        x[i] -= mean;                     /* q[k*n + i]: column k, level i */
        q[i] = 1.0L / sqrtl((long double)n);
    }
    for (size_t k = 1; k < n; k++) {
        long double *v = q + k * n, norm = 0;
        for (size_t i = 0; i < n; i++)
            v[i] = x[i] * q[(k - 1) * n + i];
        for (int pass = 0; pass < 2; pass++) {
            for (size_t j = 0; j < k; j++) {
                long double d = 0;
                for (size_t i = 0; i < n; i++)
                    d += v[i] * q[j * n + i];
                for (size_t i = 0; i < n; i++)
                    v[i] -= d * q[j * n + i];
            }
        }
        for (size_t i = 0; i < n; i++)
            norm += v[i] * v[i];
        norm = sqrtl(norm);
        for (size_t i = 0; i < n; i++)
            v[i] /= norm;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++)
            f->poly[i * n + k] = k == 0 ? 1.0 : (double)q[k * n + i];
    free(q);
    free(x);
    return OOC_OK;
}

double ooc_contrast_value(const ooc_factor *f, size_t level, size_t j)
{
    size_t n = f->levels.n, c = j - 1;
    if (f->contrast == OOC_CONTRAST_POLY)
        return f->poly[level * n + j];
    if (j == 0)
        return 1.0;
    if (f->contrast == OOC_CONTRAST_HELMERT) /* column c: -1 up to level c, c+1 at c+1 */
        return level <= c ? -1.0 : level == c + 1 ? (double)(c + 1) : 0.0;
    /* Diff, column c: (c+1-n)/n up to level c, (c+1)/n after: one rounding, as numpy */
    return level <= c ? ((double)(c + 1) - (double)n) / (double)n : (double)(c + 1) / (double)n;
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
        if (!f->has_given_levels && f->kind != OOC_FACTOR_BOOL)
            OOC_CHECK(discover_levels(m, &m->vars[f->var], &f->levels, err));
        OOC_CHECK(build_lookup(f, &m->lookups[i], err));
        OOC_CHECK(resolve_reference(m, f, err));
        if (f->contrast == OOC_CONTRAST_POLY)
            OOC_CHECK(poly_coding(m, f, err));
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
    bool column = ooc_factor_reads_column(f->kind);
    out->name = f->code;
    out->column = column ? m->vars[f->var].name : f->code;
    out->nlevels = f->levels.n;
    bool inferred = f->kind == OOC_FACTOR_VAR && m->vars[f->var].text;
    out->text = inferred ? m->vars[f->var].text : NULL;
    out->text_line = inferred ? m->vars[f->var].text_line : 0;
    return true;
}
