/*
 * fields.c — the texts that mean "missing" in a CSV field: pandas' default
 * list plus the caller's, set on a model at bind (see fields.h).
 */
#include "base/error.h"
#include "formula/fields.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* pandas' default na_values. */
static const char *const default_na_values[] = {
    "",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A",  "NA",       "NULL", "NaN",     "None",     "n/a",  "nan",  "null"};

/* The texts meaning missing: pandas' default list (unless opts->no_default_na),
 * then opts->na_values, as pandas' na_values with keep_default_na; a field
 * is missing when it equals one exactly (spaces included, as pandas). */
ooc_status ooc_model_set_na_values(ooc_model *m, const ooc_model_data_options *opts, ooc_error *err)
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

