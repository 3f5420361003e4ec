/*
 * termset.h — internal to the formula wing: the ordered hash set of terms
 * that terms.c builds while it evaluates a formula (termset.c).
 */
#ifndef OOC_TERMSET_H
#define OOC_TERMSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A term while the formula is evaluated: its factors (distinct, in order of
 * appearance), a hash of the set of them, and whether '-' removed it. */
typedef struct ooc_termset_item {
    size_t *factors;
    size_t nfactors;
    uint64_t hash;
    bool dead;
} ooc_termset_item;

/* patsy's term lists: unique terms (equal when their factor sets are equal)
 * in order of first appearance.  A hash table over `items` makes adding and
 * removing O(1); a removed term stays in `items`, marked dead, so the order
 * of the others is kept without moving them, and a term added again after
 * its removal is appended anew. */
typedef struct ooc_termset {
    ooc_termset_item *items;
    size_t n, cap;
    size_t live;         /* items not dead */
    size_t *table;       /* 1 + index into items; 0: empty slot */
    size_t table_cap;    /* power of two, or 0 */
    size_t table_used;   /* occupied slots */
} ooc_termset;

/* Free the terms and the table of ts and empty it (the struct is the caller's). */
void ooc_termset_free(ooc_termset *ts);

/* An order-independent hash of the factor set f[0..n) (distinct factors). */
uint64_t ooc_term_hash(const size_t *f, size_t n);

/* Index in ts->items of the live term equal to the factor set f[0..n) with
 * hash h (ooc_term_hash), or SIZE_MAX. */
size_t ooc_termset_find(const ooc_termset *ts, const size_t *f, size_t n, uint64_t h);

/* Append the term f[0..n) (distinct factors, hash h; not in ts), copying f.
 * Returns false when out of memory. */
bool ooc_termset_append(ooc_termset *ts, const size_t *f, size_t n, uint64_t h);

/* Mark the live term equal to t dead, if ts has one. */
void ooc_termset_remove(ooc_termset *ts, const ooc_termset_item *t);

#endif
