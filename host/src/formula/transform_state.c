/*
 * transform_state.c — the model's stateful transforms as a whole: the
 * memorize pass over CSV records (every record, in file order, as patsy
 * memorizes every row of its data), learning once the pass is over, and what
 * was learned as JSON text, which ingest stores with the design (/X's
 * attribute oocsolve_transforms) and reads back to build another file with
 * the same centres, scales and knots.
 *
 * The JSON: {"format": 1, "transforms": [{"call": CODE, "n": N, "missing": M,
 * ...}, ...]} in the order of the factors and of the calls in each, with
 * center's "mean", standardize's "mean" and "scale" (long doubles as the pair
 * [hi, lo] of doubles whose sum they are, exactly), a spline's "knots" (every
 * knot) and cr/cc's "constraint" (the column means; null without one).
 * Numbers are the shortest texts that read back bit for bit (base/dtoa.h).
 */
#include "base/dtoa.h"
#include "base/error.h"
#include "base/json.h"
#include "base/textbuf.h"
#include "formula/formula_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Transform i of the model in factor order (NULL past the end). */
static ooc_transform *transform_at(const ooc_model *m, size_t i)
{
    for (size_t f = 0; f < m->nfactors; f++) {
        if (i < m->factors[f].ntf)
            return &m->factors[f].tf[i];
        i -= m->factors[f].ntf;
    }
    return NULL;
}

bool ooc_model_needs_memorize(const ooc_model *m)
{
    if (m->transforms_learned)
        return false;
    ooc_transform *t;
    for (size_t i = 0; (t = transform_at(m, i)); i++)
        if (ooc_transform_needs_data(t))
            return true;
    return false;
}

ooc_status ooc_model_memorize(ooc_model *m, const ooc_csv_block *blk, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!m || !blk || !m->bound || m->finished)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_memorize: model not bound or finished");
    if (!m->memo) {
        m->memo = ooc_model_scratch_new(m);
        if (!m->memo)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    }
    for (size_t r = 0; r < blk->nrecords && status == OOC_OK; r++) {
        OOC_CHECK(ooc_model_read_variables(m, m->memo, blk, r, err));
        for (size_t i = 0; i < m->nfactors && status == OOC_OK; i++) {
            const ooc_factor *f = &m->factors[i];
            if (!f->ntf)
                continue;
            double x = ooc_factor_run(f, m->memo, f->kind != OOC_FACTOR_SPLINE, &status, err);
            if (status == OOC_OK && f->kind == OOC_FACTOR_SPLINE)
                status = ooc_transform_memorize(&f->tf[0], x, err);
        }
        if (status == OOC_ERR_DATA) { /* an infinite argument: say where */
            char what[sizeof err->message];
            snprintf(what, sizeof what, "%s", err->message);
            status = OOC_FAIL(err, OOC_ERR_DATA, "%s, line %llu: %s", m->file_name,
                              (unsigned long long)blk->line_numbers[r], what);
        }
    }
out:
    return status;
}

ooc_status ooc_model_learn(ooc_model *m, ooc_error *err)
{
    ooc_transform *t;
    for (size_t i = 0; (t = transform_at(m, i)); i++) {
        ooc_status status = ooc_transform_learn(t, m->file_name ? m->file_name : "formula", err);
        if (status != OOC_OK)
            return status;
    }
    m->transforms_learned = true;
    return OOC_OK;
}

bool ooc_model_transform_info(const ooc_model *m, size_t i, const char **call, uint64_t *n,
                              uint64_t *nmissing)
{
    const ooc_transform *t = transform_at(m, i);
    if (!t)
        return false;
    *call = t->code;
    *n = t->n;
    *nmissing = t->nmissing;
    return true;
}

/* ---- JSON ---------------------------------------------------------------- */

static void put_number(ooc_textbuf *b, double x)
{
    char buf[OOC_DTOA_SIZE];
    if (!isfinite(x)) {
        ooc_textbuf_append(b, "null");
        return;
    }
    ooc_format_double(x, buf);
    ooc_textbuf_append(b, buf);
}

static void put_long_double(ooc_textbuf *b, long double v)
{
    double hi = (double)v, lo = isfinite(hi) ? (double)(v - hi) : 0.0;
    ooc_textbuf_append(b, "[");
    put_number(b, hi);
    ooc_textbuf_append(b, ", ");
    put_number(b, lo);
    ooc_textbuf_append(b, "]");
}

static void put_array(ooc_textbuf *b, const double *x, size_t n)
{
    ooc_textbuf_append(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            ooc_textbuf_append(b, ", ");
        put_number(b, x[i]);
    }
    ooc_textbuf_append(b, "]");
}

ooc_status ooc_model_transforms_json(const ooc_model *m, char **out, ooc_error *err)
{
    *out = NULL;
    if (!transform_at(m, 0))
        return OOC_OK;
    if (!m->transforms_learned)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_transforms_json: nothing learned yet");
    ooc_textbuf b = {0};
    ooc_textbuf_append(&b, "{\"format\": 1, \"transforms\": [");
    ooc_transform *t;
    for (size_t i = 0; (t = transform_at(m, i)); i++) {
        ooc_textbuf_append(&b, i ? ",\n  {\"call\": " : "\n  {\"call\": ");
        ooc_json_append_string(&b, t->code);
        ooc_textbuf_printf(&b, ", \"n\": %llu, \"missing\": %llu", (unsigned long long)t->n,
                           (unsigned long long)t->nmissing);
        switch (t->kind) {
        case OOC_TF_CENTER:
            ooc_textbuf_append(&b, ", \"mean\": ");
            put_number(&b, t->mean_value);
            break;
        case OOC_TF_STANDARDIZE:
            ooc_textbuf_append(&b, ", \"mean\": ");
            put_long_double(&b, t->mean);
            ooc_textbuf_append(&b, ", \"scale\": ");
            put_long_double(&b, t->scale);
            break;
        default:
            ooc_textbuf_append(&b, ", \"knots\": ");
            put_array(&b, t->all_knots, t->nall);
            if (t->kind != OOC_TF_BS) {
                ooc_textbuf_append(&b, ", \"constraint\": ");
                if (t->constraint)
                    put_array(&b, t->constraint, t->nbasis);
                else
                    ooc_textbuf_append(&b, "null");
            }
            break;
        }
        ooc_textbuf_append(&b, "}");
    }
    ooc_textbuf_append(&b, "\n]}\n");
    return ooc_textbuf_take(&b, out, err, "formatting what the transforms learned");
}

/* Member `key` of `obj` as a finite number into *x; false when it is not. */
static bool get_number(const ooc_json_value *obj, const char *key, double *x)
{
    const ooc_json_value *v = ooc_json_get(obj, key);
    if (!v || v->type != OOC_JSON_NUMBER || !isfinite(v->number))
        return false;
    *x = v->number;
    return true;
}

static bool get_long_double(const ooc_json_value *obj, const char *key, long double *x)
{
    const ooc_json_value *v = ooc_json_get(obj, key);
    if (!v || v->type != OOC_JSON_ARRAY || v->n != 2 || v->items[0].type != OOC_JSON_NUMBER ||
        v->items[1].type != OOC_JSON_NUMBER)
        return false;
    *x = (long double)v->items[0].number + v->items[1].number;
    return isfinite(*x);
}

/* Member `key` as n finite numbers into a new array *out. */
static bool get_array(const ooc_json_value *obj, const char *key, size_t n, double **out)
{
    const ooc_json_value *v = ooc_json_get(obj, key);
    if (!v || v->type != OOC_JSON_ARRAY || v->n != n)
        return false;
    double *x = malloc((n + 1) * sizeof *x);
    if (!x)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v->items[i].type != OOC_JSON_NUMBER || !isfinite(v->items[i].number) ||
            (i && v->items[i].number < x[i - 1])) {
            free(x);
            return false;
        }
        x[i] = v->items[i].number;
    }
    *out = x;
    return true;
}

/* Set t's learned state from its JSON object; false when it does not fit. */
static bool load_one(ooc_transform *t, const ooc_json_value *o, ooc_error *err, ooc_status *status)
{
    double n = 0, missing = 0;
    if (!get_number(o, "n", &n) || !get_number(o, "missing", &missing))
        return false;
    t->n = (uint64_t)n;
    t->nmissing = (uint64_t)missing;
    switch (t->kind) {
    case OOC_TF_CENTER: return get_number(o, "mean", &t->mean_value);
    case OOC_TF_STANDARDIZE:
        return get_long_double(o, "mean", &t->mean) && get_long_double(o, "scale", &t->scale);
    default:
        break;
    }
    if (!get_array(o, "knots", t->nall, &t->all_knots))
        return false;
    if (t->kind == OOC_TF_BS)
        return true;
    t->f = malloc(t->nbasis * t->nall * sizeof *t->f);
    if (!t->f || (*status = ooc_crs_second_derivative_map(t->all_knots, t->nall,
                                                           t->kind == OOC_TF_CC, t->f, err)) !=
                     OOC_OK)
        return false;
    const ooc_json_value *cv = ooc_json_get(o, "constraint");
    if (!t->constrain_center)
        return cv && cv->type == OOC_JSON_NULL;
    if (!cv || cv->type != OOC_JSON_ARRAY || cv->n != t->nbasis)
        return false;
    t->constraint = malloc(t->nbasis * sizeof *t->constraint);
    t->q = malloc(t->nbasis * t->width * sizeof *t->q);
    if (!t->constraint || !t->q)
        return false;
    for (size_t i = 0; i < t->nbasis; i++) {
        if (cv->items[i].type != OOC_JSON_NUMBER)
            return false;
        t->constraint[i] = cv->items[i].number;
    }
    *status = ooc_constraint_null_space(t->constraint, t->nbasis, t->q, err);
    return *status == OOC_OK;
}

ooc_status ooc_model_load_transforms(ooc_model *m, const char *json, const char *source,
                                     ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_json_value *root = NULL;
    if (m->finished || m->transforms_learned)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ooc_model_load_transforms: too late");
    size_t count = 0;
    while (transform_at(m, count))
        count++;
    OOC_CHECK(ooc_json_parse(json, strlen(json), source, &root, err));
    const ooc_json_value *list = ooc_json_get(root, "transforms");
    const ooc_json_value *format = ooc_json_get(root, "format");
    OOC_FAIL_IF(!format || format->type != OOC_JSON_NUMBER || format->number != 1 || !list ||
                    list->type != OOC_JSON_ARRAY,
                err, OOC_ERR_CORRUPT, "%s: what the transforms learned is not in a format this "
                "version reads", source);
    OOC_FAIL_IF(list->n != count, err, OOC_ERR_INVALID_ARG,
                "%s holds what %zu stateful transform%s learned; formula '%s' has %zu", source,
                list->n, list->n == 1 ? "" : "s", m->formula, count);
    for (size_t i = 0; i < count; i++) {
        ooc_transform *t = transform_at(m, i);
        const ooc_json_value *o = &list->items[i], *call = ooc_json_get(o, "call");
        OOC_FAIL_IF(!call || call->type != OOC_JSON_STRING || strcmp(call->string, t->code), err,
                    OOC_ERR_INVALID_ARG,
                    "%s holds what '%s' learned, but formula '%s' calls '%s' there", source,
                    call && call->type == OOC_JSON_STRING ? call->string : "?", m->formula,
                    t->code);
        if (!load_one(t, o, err, &status)) {
            OOC_CHECK(status);
            OOC_FAIL_IF(true, err, OOC_ERR_CORRUPT, "%s: what '%s' learned is damaged", source,
                        t->code);
        }
        t->learned = true;
    }
    m->transforms_learned = true;
out:
    ooc_json_free(root);
    return status;
}
