/*
 * text_index.c — the text -> index hash table of the formula wing (open
 * addressing, linear probing; declared in formula_internal.h): variable names
 * and factor codes while parsing, header names at bind, level texts during
 * the level scan and lookups.
 */
#include "formula/formula_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
