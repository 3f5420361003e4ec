/*
 * svd.c — ooc_svd: one pass into an accumulator without y (R of W^½X), the
 * singular values and Vᵀ of the triangle, and optionally U written by a
 * second pass (u_writer.c).  With a collective, every process accumulates
 * its share and the triangles are merged (collective.h) before the SVD;
 * rank 0's Σ and Vᵀ are broadcast, and U is written as one part per process
 * joined by one file.
 */
#include "solve/accumulator.h"
#include "solve/collective.h"
#include "solve/triangle.h"
#include "solve/u_writer.h"

#include "base/clock.h"
#include "base/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ooc_svd_options_init(ooc_svd_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = OOC_METHOD_QR;
}

void ooc_svd_result_free(ooc_svd_result *r)
{
    if (!r)
        return;
    ooc_names_free(r->names, r->p);
    free(r->s);
    free(r->vt);
    free(r->u_path);
    free(r);
}

ooc_status ooc_svd(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                   ooc_svd_result **out, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    *out = NULL;
    size_t p = src->p;
    bool want_vt = o->vectors || o->u_out;
    /* R's nonzero rows are at most the rows, when the source knows them */
    size_t m_est = src->nrows < p ? (size_t)src->nrows : p;
    size_t k_est = o->k > 0 && o->k < m_est ? o->k : m_est;
    status = ooc_check_dense_memory("svd", p, 0, p, m_est, want_vt ? k_est : 0, err);
    if (status != OOC_OK)
        return status;
    ooc_accumulator *acc = NULL;
    ooc_svd_result *r = calloc(1, sizeof *r);
    double *s = malloc(p * sizeof(double));
    double *vt = NULL;
    const double *r_aug = NULL;
    ooc_trace_token fin = {0, -1};
    OOC_FAIL_IF(!r || !s, err, OOC_ERR_NOMEM, "out of memory for %zu columns", p);
    r->p = p;
    r->names = ooc_names_copy((const char *const *)src->column_names, p);
    OOC_FAIL_IF(!r->names, err, OOC_ERR_NOMEM, "out of memory");
    ooc_trace_set_meta(o->trace, "method", "%s", ooc_method_name(o->method));
    ooc_trace_set_meta(o->trace, "p", "%zu", p);
    ooc_pass_env env = {o->cancel, o->trace, o->progress};
    double t0 = ooc_clock_seconds();
    status = ooc_accumulator_for_source(src, false, be, o->method, &acc, err);
    if (status == OOC_OK)
        status = ooc_accumulator_add_pass(acc, src, &env, err);
    /* every process reaches this agreement, however its pass went */
    OOC_CHECK(ooc_coll_agree(o->collective, status, false, err));
    OOC_CHECK(ooc_accumulator_reduce(acc, o->collective, o->trace, err));
    OOC_CHECK(ooc_accumulator_triangle(acc, o->trace, &r_aug, err));
    r->seconds_accumulate = ooc_clock_seconds() - t0;
    r->nrows = acc->st.nobs;
    ooc_trace_set_meta(o->trace, "rows", "%llu", (unsigned long long)r->nrows);
    OOC_FAIL_IF(r->nrows == 0, err, OOC_ERR_DATA, "the input has no rows: nothing to decompose");
    fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
    OOC_CHECK(ooc_check_cancel(o->cancel, err));
    /* min(rows, columns) values, as numpy's svd; Vᵀ then needs that many rows
     * of the triangle, zero rows included (their vectors complete the basis) */
    size_t kmax = r->nrows < p ? (size_t)r->nrows : p;
    size_t m = ooc_triangle_rows(r_aug, p, p);
    if (m < kmax)
        m = kmax;
    r->k = o->k > 0 && o->k < kmax ? o->k : kmax;
    if (m > m_est)
        OOC_CHECK(ooc_check_dense_memory("svd", 0, 0, p, m, want_vt ? r->k : 0, err));
    if (want_vt) {
        vt = malloc(m * p * sizeof(double));
        OOC_FAIL_IF(!vt, err, OOC_ERR_NOMEM, "out of memory for %zu singular vectors", m);
    }
    OOC_CHECK(ooc_triangle_singular_values(be, r_aug, p, p, m, false, s, vt, err));
    OOC_CHECK(ooc_check_cancel(o->cancel, err));
    r->condition_number = s[kmax - 1] > 0.0 ? s[0] / s[kmax - 1] : INFINITY;
    r->s = malloc(r->k * sizeof(double));
    OOC_FAIL_IF(!r->s, err, OOC_ERR_NOMEM, "out of memory");
    memcpy(r->s, s, r->k * sizeof(double));
    if (want_vt) {
        r->vt = malloc(r->k * p * sizeof(double));
        OOC_FAIL_IF(!r->vt, err, OOC_ERR_NOMEM, "out of memory");
        memcpy(r->vt, vt, r->k * p * sizeof(double));
    }
    /* rank 0's values and vectors on every process, so that the parts of U
     * agree even where the processes' SVDs round differently */
    OOC_CHECK(ooc_coll_broadcast(o->collective, r->s, r->k * sizeof(double), err));
    if (want_vt)
        OOC_CHECK(ooc_coll_broadcast(o->collective, r->vt, r->k * p * sizeof(double), err));
    ooc_trace_end(o->trace, fin);
    fin = (ooc_trace_token){0, -1};
    /* the triangle is not needed any more: give its memory back before U */
    ooc_accumulator_free(acc);
    acc = NULL;
    if (o->u_out) {
        double t1 = ooc_clock_seconds();
        OOC_CHECK(ooc_write_u(src, be, o, r, err));
        r->seconds_u = ooc_clock_seconds() - t1;
    }
    *out = r;
    r = NULL;
out:
    ooc_trace_end(o->trace, fin);
    ooc_accumulator_free(acc);
    ooc_svd_result_free(r);
    free(s);
    free(vt);
    return status;
}
