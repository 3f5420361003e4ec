/*
 * fields.h — internal to the formula wing: how it reads the text of a CSV
 * field as pandas would (missing-value texts, NaN spellings, booleans,
 * integer literals).  Bind (type inference, level scan) and evaluation read
 * every field through these, so they are inline here; fields.c sets a
 * model's missing-value texts.
 */
#ifndef OOC_FORMULA_FIELDS_H
#define OOC_FORMULA_FIELDS_H

#include "formula/formula_internal.h"
#include "csv/numparse.h"

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Fill m's missing-value texts (na_values, na_lens, the quick-reject masks):
 * pandas' default list (unless opts->no_default_na), then opts->na_values,
 * exactly as given.  opts may be NULL.  Errors: OOC_ERR_NOMEM (what was
 * copied stays in m, freed with it). */
ooc_status ooc_model_set_na_values(ooc_model *m, const ooc_model_data_options *opts,
                                   ooc_error *err);

/* Field `col` of record `row` of blk: its text (not NUL-terminated) and *len. */
static inline const char *ooc_field_text(const ooc_csv_block *blk, size_t row, size_t col,
                                         size_t *len)
{
    size_t k = row * blk->nfields + col;
    *len = blk->field_lens[k];
    return blk->fields[k];
}

/* Strip the spaces and tabs around s[0..*len). */
static inline void ooc_field_trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* True when text s[0..len) is one of m's missing-value texts.  As in pandas,
 * the text must match exactly: " NA", "NA " and " " are text, not missing. */
static inline bool ooc_field_is_na(const ooc_model *m, const char *s, size_t len)
{
    if (len == 0)
        return m->na_empty;
    if (!m->na_first_char[(unsigned char)s[0]] || (len < 64 && !(m->na_len_mask >> len & 1)))
        return false;
    for (size_t i = 0; i < m->n_na_values; i++)
        if (m->na_lens[i] == len && memcmp(m->na_values[i], s, len) == 0)
            return true;
    return false;
}

/* True when s[0..len) is a missing-value text of m with spaces or tabs
 * around it: pandas reads that as text, which is worth saying in the message
 * about a number expected. */
static inline bool ooc_field_is_spaced_na(const ooc_model *m, const char *s, size_t len)
{
    const char *t = s;
    size_t tlen = len;
    ooc_field_trim(&t, &tlen);
    return tlen != len && ooc_field_is_na(m, t, tlen);
}

/* The note a message adds about such a text. */
#define OOC_SPACED_NA_NOTE " (pandas reads a missing-value text with spaces around it as text)"

/* Text that Python's float() reads as NaN ("nan", "NaN", "-nan", ...): patsy
 * takes such a categorical value as missing, even when pandas kept it as
 * text (not in the NA list). */
static inline bool ooc_field_is_nan(const char *s, size_t len)
{
    ooc_field_trim(&s, &len);
    if (!len || !strchr("nN+-", s[0]))
        return false;
    double x;
    return ooc_parse_double(s, len, &x) && isnan(x);
}

/* pandas' boolean spellings, exactly (pandas reads "True " as text): 1 True,
 * 0 False, -1 neither. */
static inline int ooc_field_bool(const char *s, size_t len)
{
    if ((len == 4 && (!memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4) || !memcmp(s, "true", 4))))
        return 1;
    if ((len == 5 && (!memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5) || !memcmp(s, "false", 5))))
        return 0;
    return -1;
}

/* An integer literal as pandas reads into int64: [+-]digits. */
static inline bool ooc_field_is_integer(const char *s, size_t len)
{
    ooc_field_trim(&s, &len);
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

#endif
