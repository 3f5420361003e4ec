/*
 * u_writer.c — svd's U pass (see u_writer.h).  Per block: the backend's
 * project (a "residual pass" span), then the block of U appended to the
 * writer, which compresses on its own threads (a "write output" span).
 * With a collective each process writes U's rows of its share as a part,
 * and process 0 the file that joins them (hdf5/h5parts.h).
 */
#include "solve/u_writer.h"

#include "base/collective.h"
#include "base/error.h"
#include "hdf5/h5parts.h"
#include "hdf5/h5write.h"
#include "solve/passes.h"

#include <stdio.h>
#include <stdlib.h>

/* State of the U pass. */
typedef struct u_pass {
    ooc_backend *be;
    ooc_h5_writer *w;
    ooc_trace *trace;
    const double *m; /* p x k: V_k Σ_k⁻¹ */
    size_t k;
    double *ublock;
} u_pass;

static ooc_status u_block(void *arg, const ooc_block *b, ooc_error *err)
{
    ooc_status status = OOC_OK;
    u_pass *u = arg;
    ooc_trace_token span = ooc_trace_begin(u->trace, OOC_STAGE_RESIDUAL_PASS);
    status = ooc_backend_project(u->be, b->data, b->nrows, u->m, u->k, u->ublock, err);
    ooc_trace_end_bytes(u->trace, span, (uint64_t)b->nrows * b->ncols * sizeof(double));
    OOC_CHECK(status);
    span = ooc_trace_begin(u->trace, OOC_STAGE_WRITE_OUTPUT);
    status = ooc_h5w_append(u->w, u->ublock, NULL, b->nrows, err);
    ooc_trace_end_bytes(u->trace, span, (uint64_t)b->nrows * u->k * sizeof(double));
out:
    return status;
}

ooc_status ooc_write_u(ooc_source *src, ooc_backend *be, const ooc_svd_options *o,
                       ooc_svd_result *r, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t p = r->p, k = r->k;
    u_pass u = {.be = be, .trace = o->trace, .k = k};
    char *part = NULL;
    char **unames = calloc(k ? k : 1, sizeof(char *));
    double *m = malloc(p * k * sizeof(double));
    u.m = m;
    u.ublock = malloc((src->block_rows ? src->block_rows : 1) * k * sizeof(double));
    OOC_FAIL_IF(!m || !u.ublock || !unames, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < k; c++) {
        OOC_FAIL_IF(!(r->s[c] > 0.0), err, OOC_ERR_NUMERIC,
                    "cannot write U: singular value %zu is zero (X is rank deficient); ask for "
                    "fewer with -k",
                    c + 1);
        for (size_t j = 0; j < p; j++)
            m[j * k + c] = r->vt[c * p + j] / r->s[c];
        char name[32];
        snprintf(name, sizeof name, "u%zu", c);
        unames[c] = ooc_strdup_or_null(name);
        OOC_FAIL_IF(!unames[c], err, OOC_ERR_NOMEM, "out of memory");
    }
    const ooc_collective *c = o->collective;
    const bool split = ooc_coll_active(c);
    if (split) {
        part = ooc_h5_part_path(o->u_out, c->rank, c->size);
        OOC_FAIL_IF(!part, err, OOC_ERR_NOMEM, "out of memory");
    }
    ooc_h5_writer_options wo = {.path = split ? part : o->u_out,
                                .ncols = k,
                                .with_y = false,
                                .level = 1,
                                .shuffle = true,
                                .nthreads = o->nthreads,
                                .formula = NULL,
                                .column_names = (const char *const *)unames,
                                .trace = o->trace};
    ooc_pass_env env = {o->cancel, o->trace, o->progress};
    status = ooc_h5w_create(&wo, &u.w, err);
    if (status == OOC_OK)
        status = ooc_for_each_block(src, true, "writing U", OOC_STAGE_COUNT, &env, u_block, &u,
                                    err);
    ooc_trace_token commit = ooc_trace_begin(o->trace, OOC_STAGE_WRITE_OUTPUT);
    ooc_h5_write_stats ws = {0};
    if (status == OOC_OK)
        status = ooc_h5w_finish(u.w, &ws, err);
    /* every process reaches this agreement, however its pass went */
    status = ooc_coll_agree(c, status, false, err);
    if (status == OOC_OK && split) {
        ooc_h5_parts_options po = {.out = o->u_out,
                                   .part = part,
                                   .rows = src->nrows,
                                   .ncols = k,
                                   .column_names = (const char *const *)unames};
        status = ooc_h5_parts_publish(c, &po, &u.w, err);
    } else if (status == OOC_OK) {
        status = ooc_h5w_commit(u.w, NULL, err);
        u.w = NULL;
    }
    ooc_trace_end(o->trace, commit);
    OOC_CHECK(status);
    r->u_path = ooc_strdup_or_null(o->u_out);
    OOC_FAIL_IF(!r->u_path, err, OOC_ERR_NOMEM, "out of memory");
out:
    ooc_h5w_abort(u.w);
    free(part);
    ooc_names_free(unames, k);
    free(m);
    free(u.ublock);
    return status;
}
