/*
 * model.c — the life cycle of an ooc_model (see model.h for the steps):
 * parsing a formula into a new model, the accessors of its formula, response
 * and columns, and freeing it.  The steps themselves live in terms.c (parse),
 * bind.c, levels.c, columns.c and eval.c.
 */
#include "base/error.h"
#include "formula/formula_internal.h"

#include <stdlib.h>
#include <string.h>

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
        free(f->scores);
        free(f->poly);
        ooc_factor_free_transforms(f);
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
    for (size_t i = 0; i < m->ntests; i++)
        free(m->tests[i].text);
    free(m->tests);
    free(m->file_name);
    free(m->formula);
    for (size_t i = 0; i < m->n_na_values; i++)
        free(m->na_values[i]);
    free(m->na_values);
    free(m->na_lens);
    for (size_t i = 0; i < m->nextra; i++)
        free(m->extra_names[i]);
    free(m->extra_names);
    free(m->extra_columns);
    ooc_key_dict_free(m->key_dict);
    free(m->key_text);
    for (size_t i = 0; i < m->ncols; i++)
        free(m->columns[i].name);
    free(m->columns);
    free(m->parts);
    ooc_model_scratch_free(m->memo);
    free(m);
}
