/*
 * glm_input.c — a GLM's input: ooc_glm_source_open (oocsolve.h), the CSV
 * formula rewritten with the model's extra columns as terms, and how ooc_glm
 * finds those columns again (glm_input.h).
 */
#include "solve/glm_input.h"

#include "base/error.h"
#include "base/textbuf.h"
#include "stream/source.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void glm_input_free(void *p)
{
    ooc_glm_input *in = p;
    if (!in)
        return;
    free(in->formula);
    free(in->user_formula);
    free(in->response_term);
    free(in->lhs);
    free(in);
}

const ooc_glm_input *ooc_glm_input_of(const ooc_source *src)
{
    return src && src->attached_free == glm_input_free ? src->attached : NULL;
}

/* Append the term naming CSV column `name`: I((name)) when it is a Python
 * identifier, else I((Q('name'))) (quotes and backslashes escaped). */
static void column_term(ooc_textbuf *b, const char *name)
{
    bool ident = isalpha((unsigned char)name[0]) || name[0] == '_';
    for (const char *c = name; *c && ident; c++)
        ident = isalnum((unsigned char)*c) || *c == '_';
    if (ident) {
        ooc_textbuf_printf(b, "I((%s))", name);
        return;
    }
    ooc_textbuf_append(b, "I((Q('");
    for (const char *c = name; *c; c++) {
        if (*c == '\'' || *c == '\\')
            ooc_textbuf_append(b, "\\");
        ooc_textbuf_append_n(b, c, 1);
    }
    ooc_textbuf_append(b, "')))");
}

ooc_status ooc_glm_find_column(const ooc_source *src, const char *what, const char *name,
                               long *col, ooc_error *err)
{
    ooc_status status = OOC_OK;
    char *term = NULL;
    /* from a rewritten CSV, the term first: the formula may name the column too (a
     * regressor); an HDF5 input opened with a formula has the column itself */
    if (ooc_glm_input_of(src)) {
        ooc_textbuf b = {0};
        column_term(&b, name);
        OOC_CHECK(ooc_textbuf_take(&b, &term, err, "naming the %s column", what));
    }
    for (int pass = term ? 0 : 1; pass < 2; pass++)
        for (size_t j = 0; j < src->p; j++)
            if (src->column_names && src->column_names[j] &&
                !strcmp(src->column_names[j], pass == 0 ? term : name)) {
                *col = (long)j;
                goto out;
            }
    status = OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                      "the %s column '%s' is not a column of the input (its %zu columns are "
                      "named like '%s')",
                      what, name, src->p,
                      src->p && src->column_names ? src->column_names[0] : "");
out:
    free(term);
    return status;
}

/* The offset of formula's top-level '~' (outside quotes and brackets), or -1. */
static long tilde_at(const char *formula)
{
    int depth = 0;
    char quote = 0;
    for (const char *c = formula; *c; c++) {
        if (quote) {
            if (*c == '\\' && c[1])
                c++;
            else if (*c == quote)
                quote = 0;
        } else if (*c == '\'' || *c == '"') {
            quote = *c;
        } else if (*c == '(' || *c == '[' || *c == '{') {
            depth++;
        } else if (*c == ')' || *c == ']' || *c == '}') {
            depth--;
        } else if (*c == '~' && depth == 0) {
            return (long)(c - formula);
        }
    }
    return -1;
}

/* in->formula: the caller's formula plus the offset, exposure and frequency
 * weight terms, or (categorical, the formula having a '~') its right-hand
 * side, those, and the response's Treatment(1) term, without a response. */
static ooc_status rewrite(ooc_glm_input *in, const ooc_glm_options *o, bool categorical,
                          ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_textbuf b = {0};
    const char *user = in->user_formula;
    if (categorical) {
        const long t = tilde_at(user);
        const char *lhs = user;
        int lhs_len = (int)t;
        while (lhs_len > 0 && isspace((unsigned char)lhs[lhs_len - 1]))
            lhs_len--;
        while (lhs_len > 0 && isspace((unsigned char)*lhs))
            lhs++, lhs_len--;
        ooc_textbuf_printf(&b, "%.*s", lhs_len, lhs);
        OOC_CHECK(ooc_textbuf_take(&b, &in->lhs, err, "rewriting the formula"));
        ooc_textbuf_printf(&b, "C(%s, Treatment(1))", in->lhs);
        OOC_CHECK(ooc_textbuf_take(&b, &in->response_term, err, "rewriting the formula"));
        user += t + 1;
    }
    ooc_textbuf_append(&b, user);
    const char *const extra[] = {o->offset_column, o->exposure_column, o->freq_weights_column};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (extra[i]) {
            ooc_textbuf_append(&b, " + ");
            column_term(&b, extra[i]);
        }
    if (categorical)
        ooc_textbuf_printf(&b, " + %s", in->response_term);
    free(in->formula);
    in->formula = NULL;
    OOC_CHECK(ooc_textbuf_take(&b, &in->formula, err, "rewriting the formula"));
out:
    return status;
}

ooc_status ooc_glm_source_open(const char *const *paths, size_t npaths,
                               const ooc_source_options *so, const ooc_glm_options *o,
                               ooc_source **out, ooc_error *err)
{
    ooc_error_clear(err);
    *out = NULL;
    ooc_glm_options glm_defaults;
    if (!o) {
        ooc_glm_options_init(&glm_defaults);
        o = &glm_defaults;
    }
    if (!so || !so->formula) /* HDF5: the columns are named as they are */
        return ooc_source_open_files(paths, npaths, so, out, err);
    ooc_status status = OOC_OK;
    ooc_glm_input *in = calloc(1, sizeof *in);
    OOC_FAIL_IF(!in || !(in->user_formula = strdup(so->formula)), err, OOC_ERR_NOMEM,
                "out of memory");
    OOC_CHECK(rewrite(in, o, false, err));
    ooc_source_options opts = *so;
    opts.formula = in->formula;
    status = ooc_source_open_files(paths, npaths, &opts, out, err);
    /* a binomial response the formula layer refused (not numeric): again as a term; the
     * first error is the one reported when that fails too */
    if (status == OOC_ERR_DATA && o->family == OOC_GLM_BINOMIAL && tilde_at(so->formula) >= 0) {
        ooc_error err2 = {0};
        if (rewrite(in, o, true, &err2) == OOC_OK) {
            opts.formula = in->formula;
            opts.need_y = false;
            if (ooc_source_open_files(paths, npaths, &opts, out, &err2) == OOC_OK) {
                status = OOC_OK;
                ooc_error_clear(err);
            }
        }
        if (status != OOC_OK) {
            free(in->response_term);
            in->response_term = NULL;
        }
    }
    if (status == OOC_OK) {
        (*out)->attached = in;
        (*out)->attached_free = glm_input_free;
        in = NULL;
    }
out:
    glm_input_free(in);
    return status;
}

ooc_status ooc_glm_categorical_response(const ooc_source *src, const ooc_glm_input *in,
                                        long *col, char **y_name, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const char *term = in->response_term;
    const size_t tl = strlen(term);
    size_t ncols = 0;
    long first = -1;
    for (size_t j = 0; j < src->p; j++) {
        const char *name = src->column_names ? src->column_names[j] : NULL;
        if (name && !strncmp(name, term, tl) && name[tl] == '[') {
            ncols++;
            first = first >= 0 ? first : (long)j;
        }
    }
    const char *first_name = first >= 0 ? src->column_names[first] : NULL;
    const bool treatment = first_name && !strncmp(first_name + tl, "[T.", 3);
    OOC_FAIL_IF(ncols >= 2 && !treatment, err, OOC_ERR_DATA,
                "the binomial response '%s' is categorical and the formula has neither an "
                "intercept nor a categorical term: code the response as 0/1, or keep the "
                "intercept",
                in->lhs);
    OOC_FAIL_IF(ncols != 1 || !treatment, err, OOC_ERR_DATA,
                "the binomial response '%s' is categorical with %zu level%s; it needs exactly 2 "
                "(or 0/1 values)",
                in->lhs, ncols + 1, ncols ? "s" : "");
    const char *level = first_name + tl + 3;
    ooc_textbuf b = {0};
    ooc_textbuf_printf(&b, "%s[%.*s]", in->lhs, (int)(strlen(level) - 1), level);
    OOC_CHECK(ooc_textbuf_take(&b, y_name, err, "naming the response"));
    *col = first;
out:
    return status;
}
