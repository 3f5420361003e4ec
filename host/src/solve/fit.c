/*
 * fit.c — ooc_fit: the first pass into an accumulator (or on top of a saved
 * state), then finalize on the small triangle: conditioning and rank, the
 * solve and its refinement, statistics, covariance and warnings.  Finalize
 * is also ooc_accumulator_fit, for rows the caller pushed (no second pass).
 *
 * Everything after the accumulation works on the small (p+1)×(p+1) triangle
 * R_aug = [[R, z], [0, ρ]] with RᵀR = XᵀWX, so finalize costs O(p³)
 * regardless of the number of rows, and O(m²p) when R has only m < p nonzero
 * rows (fewer rows than columns; ooc_triangle_rows).  Its p-squared arrays
 * are checked against the memory available before anything is allocated
 * (ooc_check_dense_memory), and the cancel flag between its stages.
 *
 * Rank rule: column j is aliased when its component orthogonal to the kept
 * columns before it is at most tol = max(nobs, p)·eps times its norm (the
 * numpy matrix_rank tolerance, applied column by column in formula order as
 * R's lm does with its 1e-7).  Aliased coefficients are NaN ("not
 * estimable"); the rest are fitted on the kept columns.
 *
 * Profiling (options.trace / .progress): every block of the first pass is
 * an "accumulate" span and every block of a later pass (refinement, HC meat)
 * a "residual pass" span; the merge, solve, SVD and statistics are
 * "finalize" spans.  Each pass starts a progress phase.
 *
 * With a collective (several processes, each over its share of the rows),
 * the accumulators are merged after the first pass and every process
 * finalizes the merged state; each decision that steers the passes (the
 * aliased columns and R_K, β and the refinement's progress) is rank 0's,
 * broadcast, so that all take the same branches even where their CPUs
 * round differently.  The passes' sums are reduced over the processes.
 */
#include "solve/accumulator.h"
#include "solve/cluster.h"
#include "solve/collective.h"
#include "solve/ols_stats.h"
#include "solve/second_passes.h"
#include "solve/state_file.h"
#include "solve/stats.h"
#include "solve/triangle.h"

#include "base/clock.h"
#include "base/error.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *ooc_cov_name(ooc_cov_type c)
{
    switch (c) {
    case OOC_COV_HC0:
        return "HC0";
    case OOC_COV_HC1:
        return "HC1";
    case OOC_COV_CLUSTER:
        return "cluster";
    default:
        return "nonrobust";
    }
}

void ooc_fit_options_init(ooc_fit_options *o)
{
    memset(o, 0, sizeof *o);
    o->method = OOC_METHOD_QR;
    o->cov = OOC_COV_NONROBUST;
    o->max_refine = 3;
}

/* Finalize's working state: inputs, the kept triangle and the solution. */
typedef struct fit_work {
    ooc_accumulator *acc;
    ooc_source *src;             /* for second passes; NULL: none (pushed rows, a resumed state) */
    ooc_backend_layout layout;   /* src's blocks */
    const ooc_fit_options *o;
    ooc_pass_env env;
    ooc_fit_result *r;
    const double *r_aug;         /* p_aug x p_aug, the accumulator's */
    size_t p, p_aug, m, k;       /* m: nonzero rows of R; k: kept columns */
    double *rk;                  /* (k+1) x (k+1): R_K, z, ρ */
    double *beta_full, *beta_k, *z_k;
    size_t *kept_index;
    ooc_trace_token fin;         /* the open "finalize" span */
} fit_work;

static void fit_work_free(fit_work *w)
{
    free(w->rk);
    free(w->beta_full);
    free(w->beta_k);
    free(w->z_k);
    free(w->kept_index);
}

/* Singular values of W^½X (plain and column-scaled), the aliased columns, and
 * R_K of the kept ones. */
static ooc_status conditioning_and_rank(fit_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_fit_result *r = w->r;
    const size_t p = w->p;
    double *scaled_s = malloc(p * sizeof(double));
    OOC_FAIL_IF(!scaled_s, err, OOC_ERR_NOMEM, "out of memory for %zu columns", p);
    OOC_CHECK(ooc_triangle_singular_values(w->acc->be, w->r_aug, w->p_aug, p, w->m, false,
                                           r->singular_values, NULL, err));
    OOC_CHECK(ooc_check_cancel(w->o->cancel, err));
    OOC_CHECK(ooc_triangle_singular_values(w->acc->be, w->r_aug, w->p_aug, p, w->m, true,
                                           scaled_s, NULL, err));
    OOC_CHECK(ooc_check_cancel(w->o->cancel, err));
    r->min_eigenvalue = r->singular_values[p - 1] * r->singular_values[p - 1];
    r->condition_number = r->singular_values[p - 1] > 0.0
                              ? r->singular_values[0] / r->singular_values[p - 1]
                              : INFINITY;
    r->scaled_condition_number = scaled_s[p - 1] > 0.0 ? scaled_s[0] / scaled_s[p - 1] : INFINITY;

    uint64_t nobs = w->acc->st.nobs;
    double nmax = (double)(nobs > p ? nobs : p);
    OOC_CHECK(ooc_find_aliased(w->r_aug, w->p_aug, p, w->m, nmax * DBL_EPSILON, r->aliased,
                               &w->k, err));
    OOC_CHECK(ooc_check_cancel(w->o->cancel, err));
    OOC_CHECK(ooc_coll_broadcast(w->o->collective, r->aliased, p * sizeof(bool), err));
    w->k = 0;
    for (size_t j = 0; j < p; j++)
        w->k += !r->aliased[j];
    const size_t k = w->k;
    r->rank = k;
    r->n_aliased = p - k;
    w->rk = malloc((k + 1) * (k + 1) * sizeof(double));
    w->beta_k = calloc(k ? k : 1, sizeof(double));
    w->z_k = calloc(k ? k : 1, sizeof(double));
    OOC_FAIL_IF(!w->rk || !w->beta_k || !w->z_k, err, OOC_ERR_NOMEM, "out of memory");
    OOC_CHECK(ooc_retriangularize(w->r_aug, w->p_aug, r->aliased, k, w->rk, err));
    OOC_CHECK(ooc_coll_broadcast(w->o->collective, w->rk, (k + 1) * (k + 1) * sizeof(double),
                                 err));
    for (size_t j = 0, c = 0; j < p; j++)
        if (!r->aliased[j])
            w->kept_index[c++] = j;
out:
    free(scaled_s);
    return status;
}

/* Rank 0's solution and refinement state on every process (a no-op alone):
 * β_K, z_K, the SSR, the error bound and the last step, then β in full. */
static ooc_status sync_solution(fit_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_collective *c = w->o->collective;
    const size_t k = w->k;
    if (!c || c->size <= 1)
        return OOC_OK;
    double *state = malloc((2 * k + 3) * sizeof(double));
    OOC_FAIL_IF(!state, err, OOC_ERR_NOMEM, "out of memory");
    memcpy(state, w->beta_k, k * sizeof(double));
    memcpy(state + k, w->z_k, k * sizeof(double));
    state[2 * k] = w->r->ssr;
    state[2 * k + 1] = w->r->error_estimate;
    state[2 * k + 2] = w->r->refine_last_step;
    OOC_CHECK(ooc_coll_broadcast(c, state, (2 * k + 3) * sizeof(double), err));
    memcpy(w->beta_k, state, k * sizeof(double));
    memcpy(w->z_k, state + k, k * sizeof(double));
    w->r->ssr = state[2 * k];
    w->r->error_estimate = state[2 * k + 1];
    w->r->refine_last_step = state[2 * k + 2];
    for (size_t i = 0; i < k; i++)
        w->beta_full[w->kept_index[i]] = w->beta_k[i];
out:
    free(state);
    return status;
}

/* Refinement passes over the source: δ from RᵀR δ = X_Kᵀ W (y - X_K β),
 * residuals in long double; stop once ‖δ‖/‖β‖ <= 4ε or after max_refine. */
static ooc_status refine(fit_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_fit_result *r = w->r;
    const size_t p = w->p, k = w->k;
    const double *rk = w->rk;
    long double *g = malloc(p * sizeof(long double));
    double *tmp = malloc(k * sizeof(double));
    OOC_FAIL_IF(!g || !tmp, err, OOC_ERR_NOMEM, "out of memory");
    int max_passes = w->o->max_refine > 0 ? w->o->max_refine : 3;
    for (int pass = 0; pass < max_passes; pass++) {
        long double ssr_ld;
        OOC_CHECK(ooc_coll_agree(w->o->collective,
                                 ooc_residual_pass(w->src, &w->layout, r->aliased, w->beta_full,
                                                   g, &ssr_ld, &w->env, err),
                                 false, err));
        OOC_CHECK(ooc_coll_sum_long(w->o->collective, g, p, err));
        OOC_CHECK(ooc_coll_sum_long(w->o->collective, &ssr_ld, 1, err));
        for (size_t i = 0; i < k; i++)
            tmp[i] = (double)g[w->kept_index[i]];
        /* RᵀR δ = g; z = Rβ follows β (the robust F) */
        cblas_dtrsv(CblasRowMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)k, rk, (int)(k + 1),
                    tmp, 1);
        double rdelta2 = cblas_ddot((int)k, tmp, 1, tmp, 1); /* ‖Rδ‖² */
        for (size_t i = 0; i < k; i++)
            w->z_k[i] += tmp[i];
        cblas_dtrsv(CblasRowMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)k, rk,
                    (int)(k + 1), tmp, 1);
        double dnorm = 0.0, bnorm = 0.0;
        for (size_t i = 0; i < k; i++) {
            w->beta_k[i] += tmp[i];
            w->beta_full[w->kept_index[i]] = w->beta_k[i];
            dnorm = hypot(dnorm, tmp[i]);
            bnorm = hypot(bnorm, w->beta_k[i]);
        }
        /* SSR at the corrected β: ssr(β+δ) = ssr(β) - ‖Rδ‖² */
        double ssr_new = (double)ssr_ld - rdelta2;
        r->ssr = ssr_new > 0.0 ? ssr_new : 0.0;
        r->refine_passes = pass + 1;
        r->refine_last_step = bnorm > 0.0 ? dnorm / bnorm : dnorm;
        OOC_CHECK(sync_solution(w, err));
        if (r->refine_last_step <= 4.0 * DBL_EPSILON)
            break;
    }
out:
    free(g);
    free(tmp);
    return status;
}

/* β_K = R_K⁻¹ z (the backend's triangular solve), RSS = ρ², then the
 * refinement passes when asked for or when the first-pass error bound is
 * above OOC_AUTO_REFINE_BOUND (without a source: a warning instead). */
static ooc_status solve(fit_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_fit_result *r = w->r;
    const size_t k = w->k;
    const double *rk = w->rk;
    for (size_t i = 0; i < k; i++)
        w->z_k[i] = w->beta_k[i] = rk[i * (k + 1) + k];
    if (k > 0)
        OOC_CHECK(ooc_backend_solve_triangle(w->acc->be, rk, k, k + 1, w->beta_k, err));
    r->ssr = rk[k * (k + 1) + k] * rk[k * (k + 1) + k];
    for (size_t i = 0; i < k; i++)
        w->beta_full[w->kept_index[i]] = w->beta_k[i];

    r->error_estimate = NAN;
    bool wants;
    if (k > 0 && w->o->refine == OOC_REFINE_AUTO) {
        ooc_status bst;
        r->error_estimate =
            ooc_first_pass_error_bound(rk, k, r->ssr, (double)w->acc->st.sum_wy2, err, &bst);
        OOC_CHECK(bst);
    }
    OOC_CHECK(sync_solution(w, err));
    wants = k > 0 && w->o->refine == OOC_REFINE_AUTO && r->error_estimate > OOC_AUTO_REFINE_BOUND;
    if (wants && !w->src) {
        OOC_CHECK(ooc_result_add_warning(
            r, err,
            "The first-pass error bound %.3g exceeds %.0e, but refinement needs another pass "
            "over every row, and an accumulated state has not kept them: expect about %.0f "
            "correct digits.",
            r->error_estimate, OOC_AUTO_REFINE_BOUND, fmax(0.0, -log10(r->error_estimate))));
        return OOC_OK;
    }
    r->refined_automatically = wants;
    if (k > 0 && (w->o->refine == OOC_REFINE_ALWAYS || wants)) {
        ooc_trace_end(w->o->trace, w->fin);
        double t0 = ooc_clock_seconds();
        status = refine(w, err);
        r->seconds_refine = ooc_clock_seconds() - t0;
        w->fin = ooc_trace_begin(w->o->trace, OOC_STAGE_FINALIZE);
    }
out:
    return status;
}

/* A cluster pass's scores: s_i = w_i·e_i, e_i in long double (as the HC pass). */
typedef struct ols_scores {
    const ooc_backend_layout *lay;
    size_t p;
    const double *beta_full;
} ols_scores;

static ooc_status ols_score_rows(void *ctx, const ooc_block *b, double *s, double *h,
                                 ooc_error *err)
{
    (void)h;
    (void)err;
    const ols_scores *c = ctx;
    for (size_t i = 0; i < b->nrows; i++) {
        const double *row = b->data + i * c->lay->ld;
        long double fit = 0.0L;
        for (size_t j = 0; j < c->p; j++)
            fit += (long double)row[j] * c->beta_full[j];
        double w = c->lay->weight_col >= 0 ? row[c->lay->weight_col] : 1.0;
        s[i] = w * (double)((long double)row[c->p] - fit);
    }
    return OOC_OK;
}

/* scale·(RᵀR)⁻¹, or the HC sandwich R⁻¹ M R⁻ᵀ (second pass), or the cluster
 * one (cluster.c), then the standard errors, tests and intervals of the kept
 * coefficients. */
static ooc_status covariance(fit_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_fit_result *r = w->r;
    const ooc_fit_options *o = w->o;
    const size_t p = w->p, k = w->k;
    const double *rk = w->rk;
    double *cov_k = NULL, *meat = NULL;
    if (k == 0)
        return OOC_OK;
    OOC_CHECK(ooc_check_cancel(o->cancel, err));
    cov_k = malloc(k * k * sizeof(double));
    OOC_FAIL_IF(!cov_k, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++)
        OOC_FAIL_IF(!(rk[i * (k + 1) + i] > 0.0), err, OOC_ERR_NUMERIC,
                    "the triangular factor is singular at column '%s'",
                    r->names[w->kept_index[i]]);
    double factor = o->cov == OOC_COV_HC1 ? (double)w->acc->st.nobs / r->df_resid : 1.0;
    double df_denom = r->df_resid;
    if (o->cov == OOC_COV_NONROBUST) {
        ooc_sandwich_cov(rk, k + 1, k, NULL, r->scale, cov_k);
    } else if (o->cov == OOC_COV_CLUSTER) {
        double t0 = ooc_clock_seconds();
        meat = malloc(k * k * sizeof(double));
        OOC_FAIL_IF(!meat, err, OOC_ERR_NOMEM, "out of memory");
        ols_scores sc = {&w->layout, p, w->beta_full};
        ooc_trace_end(o->trace, w->fin);
        status = ooc_cluster_covariance(w->src, &o->cluster, p, 0.0, w->kept_index, k, rk,
                                        ols_score_rows, &sc, false, o->collective, &w->env,
                                        cov_k, meat, &r->cluster, err);
        w->fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
        OOC_CHECK(status);
        if (!isnan(r->cluster.df_resid_inference))
            df_denom = r->cluster.df_resid_inference;
        r->seconds_second_pass = ooc_clock_seconds() - t0;
    } else {
        double t0 = ooc_clock_seconds();
        meat = malloc(k * k * sizeof(double));
        OOC_FAIL_IF(!meat, err, OOC_ERR_NOMEM, "out of memory");
        ooc_trace_end(o->trace, w->fin);
        status = ooc_coll_agree(o->collective,
                                ooc_hc_pass(w->src, &w->layout, w->kept_index, k, w->beta_full,
                                            rk, meat, &w->env, err),
                                false, err);
        w->fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
        OOC_CHECK(status);
        OOC_CHECK(ooc_coll_sum(o->collective, meat, k * k, err));
        ooc_sandwich_cov(rk, k + 1, k, meat, factor, cov_k);
        r->seconds_second_pass = ooc_clock_seconds() - t0;
    }
    /* statsmodels: t for nonrobust, normal for robust covariances (use_t=False) */
    r->use_t = o->cov == OOC_COV_NONROBUST;
    double q = r->use_t ? ooc_t_ppf(0.975, r->df_resid) : ooc_norm_ppf(0.975);
    for (size_t i = 0; i < k; i++) {
        size_t j = w->kept_index[i];
        r->params[j] = w->beta_k[i];
        r->bse[j] = sqrt(cov_k[i * k + i]);
        r->tvalues[j] = r->params[j] / r->bse[j];
        r->pvalues[j] = r->use_t ? ooc_t_pvalue_two_sided(r->tvalues[j], r->df_resid)
                                 : 2.0 * ooc_norm_sf(fabs(r->tvalues[j]));
        r->conf_lower[j] = r->params[j] - q * r->bse[j];
        r->conf_upper[j] = r->params[j] + q * r->bse[j];
        for (size_t c = 0; c < k; c++)
            r->cov_params[j * p + w->kept_index[c]] = cov_k[i * k + c];
    }
    if (o->cov != OOC_COV_NONROBUST)
        OOC_CHECK(ooc_robust_f_test(r, rk, k, w->z_k, meat, factor, df_denom, w->kept_index,
                                    err));
out:
    free(cov_k);
    free(meat);
    return status;
}

/* Everything after the first pass, on acc's triangle.  src: the source whose
 * rows alone made acc, for refinement and HC passes; NULL when there is none
 * (then HC and refine ALWAYS are refused).  seconds_accumulate goes into the
 * result. */
static ooc_status finalize(ooc_accumulator *acc, ooc_source *src, const ooc_fit_options *o,
                           double seconds_accumulate, ooc_fit_result **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    fit_work w = {.acc = acc, .src = src, .o = o, .p = acc->p, .p_aug = acc->p_aug,
                  .fin = {0, -1}};
    *out = NULL;
    OOC_FAIL_IF(!acc->with_y, err, OOC_ERR_INVALID_ARG, "the accumulated rows have no response");
    OOC_FAIL_IF(!src && o->cov != OOC_COV_NONROBUST, err, OOC_ERR_UNSUPPORTED,
                "the %s covariance needs a second pass over every row, and an accumulated "
                "state has not kept them: use the nonrobust covariance, or fit all the data "
                "from its files",
                ooc_cov_name(o->cov));
    OOC_FAIL_IF(!src && o->refine == OOC_REFINE_ALWAYS, err, OOC_ERR_UNSUPPORTED,
                "refinement needs another pass over every row, and an accumulated state has "
                "not kept them");
    const size_t p = w.p;
    double t0 = ooc_clock_seconds();
    OOC_CHECK(ooc_accumulator_triangle(acc, o->trace, &w.r_aug, err));
    uint64_t nobs = acc->st.nobs;
    ooc_trace_set_meta(o->trace, "rows", "%llu", (unsigned long long)nobs);
    OOC_FAIL_IF(nobs == 0, err, OOC_ERR_DATA, "the input has no rows to fit");
    w.env = (ooc_pass_env){o->cancel, o->trace, o->progress};
    if (src)
        w.layout = (ooc_backend_layout){.p_aug = w.p_aug,
                                        .ld = src->ncols,
                                        .weight_col = src->has_weights ? (long)src->ncols - 1
                                                                       : -1};
    w.r = ooc_fit_result_alloc(acc);
    w.beta_full = calloc(p, sizeof(double));
    w.kept_index = malloc(p * sizeof(size_t));
    OOC_FAIL_IF(!w.r || !w.beta_full || !w.kept_index, err, OOC_ERR_NOMEM,
                "out of memory for %zu columns", p);
    w.r->method = acc->method;
    w.r->cov = o->cov;
    w.r->weighted = acc->weighted;
    w.r->nobs = nobs;
    w.r->seconds_accumulate = seconds_accumulate;
    /* finalize spans, interrupted by the passes over the data; the cancel
     * flag is checked between its stages */
    w.fin = ooc_trace_begin(o->trace, OOC_STAGE_FINALIZE);
    OOC_CHECK(ooc_check_cancel(o->cancel, err));
    size_t m_est = nobs < p ? (size_t)nobs : p;
    w.m = ooc_triangle_rows(w.r_aug, w.p_aug, p);
    if (w.m > m_est)
        OOC_CHECK(ooc_check_dense_memory("fit", 0, 0, p, w.m, 0, err));
    OOC_CHECK(conditioning_and_rank(&w, err));
    OOC_CHECK(solve(&w, err));
    ooc_fit_statistics(w.r, &acc->st, w.rk, w.k);
    OOC_CHECK(covariance(&w, err));
    OOC_CHECK(ooc_fit_warnings(w.r, nobs, acc->method, err));
    w.r->seconds_finalize =
        ooc_clock_seconds() - t0 - w.r->seconds_refine - w.r->seconds_second_pass;
    for (size_t i = 0; i < w.r->nwarnings; i++)
        ooc_log(&o->log, OOC_LOG_WARNING, "%s", w.r->warnings[i]);
    *out = w.r;
    w.r = NULL;
out:
    ooc_trace_end(o->trace, w.fin);
    ooc_fit_result_free(w.r);
    fit_work_free(&w);
    return status;
}

ooc_status ooc_accumulator_fit(ooc_accumulator *acc, const ooc_fit_options *o,
                               ooc_fit_result **out, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_fit_options defaults;
    if (!o) {
        ooc_fit_options_init(&defaults);
        o = &defaults;
    }
    return finalize(acc, NULL, o, 0.0, out, err);
}

/* The accumulator ooc_fit starts from: empty and shaped like src, or the
 * saved state o->resume_state checked against src and o->method. */
static ooc_status start_state(ooc_source *src, ooc_backend *be, const ooc_fit_options *o,
                              ooc_accumulator **acc, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!o->resume_state)
        return ooc_accumulator_for_source(src, true, be, o->method, acc, err);
    OOC_FAIL_IF(o->cov != OOC_COV_NONROBUST || o->refine == OOC_REFINE_ALWAYS, err,
                OOC_ERR_UNSUPPORTED,
                "%s%s%s needs another pass over every row, and the rows of the saved state "
                "'%s' are not read again: resume with the nonrobust covariance and automatic "
                "refinement, or fit all the data from its files",
                o->cov != OOC_COV_NONROBUST ? "a robust (" : "refinement",
                o->cov != OOC_COV_NONROBUST ? ooc_cov_name(o->cov) : "",
                o->cov != OOC_COV_NONROBUST ? ") covariance" : "", o->resume_state);
    OOC_CHECK(ooc_accumulator_load(o->resume_state, be, acc, err));
    char what[1100];
    snprintf(what, sizeof what, "the saved state '%s'", o->resume_state);
    OOC_FAIL_IF((*acc)->method != o->method, err, OOC_ERR_INVALID_ARG,
                "the method is '%s' in this run and '%s' in %s", ooc_method_name(o->method),
                ooc_method_name((*acc)->method), what);
    OOC_CHECK(ooc_accumulator_check_source(*acc, src, what, err));
out:
    if (status != OOC_OK) {
        ooc_accumulator_free(*acc);
        *acc = NULL;
    }
    return status;
}

ooc_status ooc_fit(ooc_source *src, ooc_backend *be, const ooc_fit_options *o,
                   ooc_fit_result **out, ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    ooc_accumulator *acc = NULL;
    *out = NULL;
    if (!src->has_y)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "the input has no response (y): give a formula with 'y ~ ...' or a /Y "
                        "dataset / --y-column");
    size_t p = src->p;
    /* R's nonzero rows are at most the rows, when the source knows them */
    size_t m_est = src->nrows < p ? (size_t)src->nrows : p;
    OOC_CHECK(ooc_check_dense_memory("fit", p + 1, p, p, m_est, 0, err));
    ooc_trace_set_meta(o->trace, "method", "%s", ooc_method_name(o->method));
    ooc_trace_set_meta(o->trace, "p", "%zu", p);
    ooc_trace_set_meta(o->trace, "cov", "%s", ooc_cov_name(o->cov));
    ooc_trace_set_meta(o->trace, "refine", "%s",
                       o->refine == OOC_REFINE_ALWAYS ? "yes"
                       : o->refine == OOC_REFINE_NEVER ? "no"
                                                       : "auto");
    OOC_FAIL_IF(o->collective && (o->save_state || o->resume_state), err, OOC_ERR_UNSUPPORTED,
                "saving or resuming a state is for one process: fit with several processes "
                "(MPI) without --save-state / --resume");
    ooc_pass_env env = {o->cancel, o->trace, o->progress};
    double t0 = ooc_clock_seconds();
    status = start_state(src, be, o, &acc, err);
    if (status == OOC_OK)
        status = ooc_accumulator_add_pass(acc, src, &env, err);
    /* every process reaches this agreement, however its pass went */
    OOC_CHECK(ooc_coll_agree(o->collective, status, false, err));
    OOC_CHECK(ooc_accumulator_reduce(acc, o->collective, o->trace, err));
    double seconds_accumulate = ooc_clock_seconds() - t0;
    if (o->save_state)
        OOC_CHECK(ooc_accumulator_save(acc, o->save_state, err));
    OOC_CHECK(finalize(acc, o->resume_state ? NULL : src, o, seconds_accumulate, out, err));
out:
    ooc_accumulator_free(acc);
    return status;
}
