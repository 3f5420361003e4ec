/*
 * second_passes.c — fit's passes after the first, over the same source:
 * refinement residuals (long double) and the HC sandwich's meat in R's
 * basis.  See second_passes.h.
 */
#include "solve/second_passes.h"

#include "base/error.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* State of an HC pass. */
typedef struct hc_ctx {
    const ooc_backend_layout *lay;
    size_t p, k;
    const size_t *kept_index;
    const double *beta_full, *rk;
    double *mq, *scratch;
} hc_ctx;

static ooc_status hc_block(void *arg, const ooc_block *b, ooc_error *err)
{
    (void)err;
    hc_ctx *c = arg;
    const size_t p = c->p, k = c->k;
    for (size_t i = 0; i < b->nrows; i++) {
        const double *row = b->data + i * c->lay->ld;
        long double fit = 0.0L;
        for (size_t j = 0; j < p; j++)
            fit += (long double)row[j] * c->beta_full[j];
        double w = c->lay->weight_col >= 0 ? row[c->lay->weight_col] : 1.0;
        double we = w * (double)((long double)row[p] - fit);
        for (size_t h = 0; h < k; h++)
            c->scratch[i * k + h] = row[c->kept_index[h]] * we;
    }
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, (int)b->nrows,
                (int)k, 1.0, c->rk, (int)(k + 1), c->scratch, (int)k);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)k, (int)b->nrows, 1.0, c->scratch,
                (int)k, 1.0, c->mq, (int)k);
    return OOC_OK;
}

ooc_status ooc_hc_pass(ooc_source *src, const ooc_backend_layout *lay, const size_t *kept_index,
                       size_t k, const double *beta_full, const double *rk, double *mq,
                       const ooc_pass_env *env, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hc_ctx c = {lay, src->p, k, kept_index, beta_full, rk, mq, NULL};
    c.scratch = malloc((src->block_rows ? src->block_rows : 1) * k * sizeof(double));
    OOC_FAIL_IF(!c.scratch, err, OOC_ERR_NOMEM, "out of memory for a %zu-row block",
                src->block_rows);
    memset(mq, 0, k * k * sizeof(double));
    status = ooc_for_each_block(src, true, "residual pass (HC)", OOC_STAGE_RESIDUAL_PASS, env,
                                hc_block, &c, err);
out:
    free(c.scratch);
    return status;
}

/* State of a refinement pass. */
typedef struct residual_ctx {
    const ooc_backend_layout *lay;
    size_t p;
    const bool *aliased;
    const double *beta_full;
    long double *g, ssr;
} residual_ctx;

static ooc_status residual_block(void *arg, const ooc_block *b, ooc_error *err)
{
    (void)err;
    residual_ctx *c = arg;
    const size_t p = c->p;
    for (size_t i = 0; i < b->nrows; i++) {
        const double *row = b->data + i * c->lay->ld;
        long double r = row[p];
        for (size_t j = 0; j < p; j++)
            r -= (long double)row[j] * c->beta_full[j];
        long double w = c->lay->weight_col >= 0 ? row[c->lay->weight_col] : 1.0;
        long double wr = w * r;
        for (size_t j = 0; j < p; j++)
            if (!c->aliased[j])
                c->g[j] += wr * row[j];
        c->ssr += wr * r;
    }
    return OOC_OK;
}

ooc_status ooc_residual_pass(ooc_source *src, const ooc_backend_layout *lay, const bool *aliased,
                             const double *beta_full, long double *g, long double *ssr,
                             const ooc_pass_env *env, ooc_error *err)
{
    residual_ctx c = {lay, src->p, aliased, beta_full, g, 0.0L};
    for (size_t j = 0; j < src->p; j++)
        g[j] = 0.0L;
    ooc_status status = ooc_for_each_block(src, true, "residual pass (refine)",
                                           OOC_STAGE_RESIDUAL_PASS, env, residual_block, &c, err);
    *ssr = c.ssr;
    return status;
}
