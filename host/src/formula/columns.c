/*
 * columns.c — patsy's column layout of the design: term ordering (buckets by
 * numeric factors, then degree), the full-rank choice of contrasts for each
 * term's categoricals (patsy's subterms), the sparse parts of each column and
 * the column names.  Every step uses hashing or sorting, so a formula of
 * 100 000 terms is as cheap per term as a short one.
 *
 * Contrast columns are sparse, and a column records only the levels where its
 * coefficient is not 0 (treatment: one level; sum: a level and the reference;
 * full-rank Sum's first column: every level), or, for Helmert, Diff and Poly,
 * which of the coding's columns it is (its values come from
 * ooc_contrast_value), so a categorical costs memory in proportion to its
 * levels and columns, never levels x columns (but Poly's own coding).
 */
#include "base/error.h"
#include "formula/formula_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * its part of the design column and its name suffix, as patsy names them. */
static void contrast_part(const ooc_model *m, size_t fi, bool full, size_t col,
                          ooc_col_part *part, char *suffix, size_t suffix_size)
{
    static const char *const poly_names[] = {".Constant", ".Linear", ".Quadratic", ".Cubic"};
    const ooc_factor *f = &m->factors[fi];
    const ooc_level *levels = f->levels.items;
    size_t ref = f->ref_index;
    part->factor = fi;
    part->ref = ref;
    if (f->contrast == OOC_CONTRAST_HELMERT || f->contrast == OOC_CONTRAST_DIFF ||
        f->contrast == OOC_CONTRAST_POLY) {
        /* column j of the full-rank coding; reduced rank leaves out the constant j = 0 */
        size_t j = full ? col : col + 1;
        part->kind = OOC_PART_CODED;
        part->level = j;
        if (f->contrast == OOC_CONTRAST_POLY && j < 4)
            snprintf(suffix, suffix_size, "%s", poly_names[j]);
        else if (f->contrast == OOC_CONTRAST_POLY)
            snprintf(suffix, suffix_size, "^%zu", j);
        else if (f->contrast == OOC_CONTRAST_HELMERT)
            snprintf(suffix, suffix_size, "[H.%s]", j ? levels[j].text : "intercept");
        else /* Diff: full rank names every level, reduced rank all but the last */
            snprintf(suffix, suffix_size, "[D.%s]", levels[full ? j : j - 1].text);
        return;
    }
    if (f->contrast == OOC_CONTRAST_TREATMENT && full) {
        part->kind = OOC_PART_INDICATOR;
        part->level = col;
        snprintf(suffix, suffix_size, "[%s]", levels[col].text);
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
             levels[part->level].text);
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
            counts[q] = m->factors[f].width;
            if (total > (MAX_COLUMNS - m->ncols) / counts[q])
                return ooc_formula_error(err, m->formula, 0, strlen(m->formula),
                                         "the design would have more than %zu columns",
                                         MAX_COLUMNS);
            total *= counts[q++];
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
            part->level = idx; /* a numeric factor's column (patsy names it [idx] when it has
                                * several) */
            if (!factor_is_numeric(f))
                contrast_part(m, fac[k], full[k], idx, part, suffix, sizeof suffix);
            else if (f->width > 1)
                snprintf(suffix, sizeof suffix, "[%zu]", idx);
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
    OOC_CHECK(ooc_model_learn(m, err));
    m->nvalues = 0;
    for (size_t i = 0; i < m->nfactors; i++) { /* the numeric factors' values, side by side */
        ooc_factor *f = &m->factors[i];
        f->width = f->kind == OOC_FACTOR_SPLINE ? f->tf[0].width : 1;
        f->value_at = m->nvalues;
        if (factor_is_numeric(f))
            m->nvalues += f->width;
    }
    OOC_CHECK(build_columns(m, err));
    m->finished = true;
out:
    return status;
}
