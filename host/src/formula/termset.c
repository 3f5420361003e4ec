/*
 * termset.c — patsy's term lists while a formula is evaluated: unique terms
 * (equal when their factor sets are equal) in order of first appearance, as
 * an ordered hash set (see termset.h).
 */
#include "formula/termset.h"

#include <stdlib.h>
#include <string.h>

/* Free ts's terms and table, and empty it. */
void ooc_termset_free(ooc_termset *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->items[i].factors);
    free(ts->items);
    free(ts->table);
    memset(ts, 0, sizeof *ts);
}

/* An order-independent hash of the factor set f[0..n) (distinct factors). */
uint64_t ooc_term_hash(const size_t *f, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull * (n + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)f[i] + 0x9e3779b97f4a7c15ull; /* splitmix64 of the factor */
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        h += x ^ (x >> 31);
    }
    return h;
}

/* Whether the distinct factors a[0..na) and b[0..nb) form the same set. */
static bool same_factors(const size_t *a, size_t na, const size_t *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && b[j] != a[i])
            j++;
        if (j == nb)
            return false;
    }
    return true;
}

/* The live item equal to the factor set f[0..n) with hash h, or SIZE_MAX. */
size_t ooc_termset_find(const ooc_termset *ts, const size_t *f, size_t n, uint64_t h)
{
    if (!ts->table_cap)
        return SIZE_MAX;
    size_t mask = ts->table_cap - 1;
    for (size_t i = (size_t)h & mask; ts->table[i]; i = (i + 1) & mask) {
        const ooc_termset_item *t = &ts->items[ts->table[i] - 1];
        if (!t->dead && t->hash == h && same_factors(t->factors, t->nfactors, f, n))
            return ts->table[i] - 1;
    }
    return SIZE_MAX;
}

/* Put item `index` in the first empty slot of its probe sequence. */
static void termset_place(ooc_termset *ts, size_t index)
{
    size_t mask = ts->table_cap - 1;
    size_t i = (size_t)ts->items[index].hash & mask;
    while (ts->table[i])
        i = (i + 1) & mask;
    ts->table[i] = index + 1;
    ts->table_used++;
}

/* Make room for one more item and its slot.  Returns false when out of memory. */
static bool termset_reserve(ooc_termset *ts)
{
    if (ts->n == ts->cap) {
        size_t ncap = ts->cap ? 2 * ts->cap : 8;
        ooc_termset_item *bigger = realloc(ts->items, ncap * sizeof *bigger);
        if (!bigger)
            return false;
        ts->items = bigger;
        ts->cap = ncap;
    }
    if ((ts->table_used + 1) * 2 <= ts->table_cap)
        return true;
    size_t ncap = 16;
    while ((ts->live + 1) * 4 > ncap) /* rebuild over the live items only */
        ncap *= 2;
    size_t *table = calloc(ncap, sizeof *table);
    if (!table)
        return false;
    free(ts->table);
    ts->table = table;
    ts->table_cap = ncap;
    ts->table_used = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (!ts->items[i].dead)
            termset_place(ts, i);
    return true;
}

/* Append the new term f[0..n) (distinct factors, hash h; not in ts), copying f. */
bool ooc_termset_append(ooc_termset *ts, const size_t *f, size_t n, uint64_t h)
{
    if (!termset_reserve(ts))
        return false;
    ooc_termset_item *t = &ts->items[ts->n];
    t->factors = malloc((n ? n : 1) * sizeof *t->factors);
    if (!t->factors)
        return false;
    memcpy(t->factors, f, n * sizeof *f);
    t->nfactors = n;
    t->hash = h;
    t->dead = false;
    termset_place(ts, ts->n);
    ts->n++;
    ts->live++;
    return true;
}

/* Remove the term equal to t from ts, if there. */
void ooc_termset_remove(ooc_termset *ts, const ooc_termset_item *t)
{
    size_t i = ooc_termset_find(ts, t->factors, t->nfactors, t->hash);
    if (i != SIZE_MAX) {
        ts->items[i].dead = true;
        ts->live--;
    }
}
