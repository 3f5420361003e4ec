/*
 * glm.c — ooc_glm: generalized linear models by out-of-core IRLS, as
 * statsmodels' GLM.fit() (its _fit_irls) computes them.
 *
 * Each iteration is one pass over the source (ooc_for_each_block): from
 * the current β every row's η = xᵀβ + offset, μ = g⁻¹(η), IRLS weight
 * W = w/(g'(μ)²V(μ)) and working response z = η + g'(μ)(y - μ) - offset
 * (glm_family.c) go into a fresh accumulator as rows [x z] weighted by W,
 * whose triangle R_aug of [√W X, √W z] (the backend's qr or normal) gives
 * the next β = R⁻¹(R_aug's last column); the deviance and Pearson χ² at that
 * μ are summed in long double in the same pass.  So pass j+1 both measures
 * the deviance D_j of β_j and accumulates the triangle for β_{j+1}:
 *
 *   [mean of y]  pass 1: μ₀ from y → D₀, R(μ₀) → β₁
 *                pass 2: μ(β₁) → D₁, R(μ₁) → β₂;  |D₀ - D₁| <= tol?  ...
 *                pass j+1: D_j;  |D_{j-1} - D_j| <= tol → β_j, converged
 *
 * exactly statsmodels' sequence: starting μ (family.starting_mu, whose
 * (y + ȳ)/2 needs a first pass for ȳ except for the binomial's
 * (y + 0.5)/2), the deviance history starting at D₀, each D_j divided by
 * the scale statsmodels holds when it records it (Pearson χ²/df_resid at
 * μ_{j-1}, at μ₀ for D₀; 1 for binomial and poisson), convergence when
 * |D_{j-1} - D_j| <= tol (np.allclose with rtol 0), iterations = j, and the
 * covariance scale·(XᵀW(μ_{j-1})X)⁻¹ from the weights the last WLS used (the
 * triangle of pass j, kept), with scale and the statistics at μ_j.  The
 * triangle pass j+1 accumulated is then not needed; when j is the last
 * iteration allowed, that pass accumulates nothing.
 *
 * The null model of the summary (null_deviance, llnull, the pseudo R²) is
 * the weighted mean without an offset, summed in one pass; with an offset it
 * is statsmodels' `null`, a constant and the offset fitted by IRLS of its
 * own, whose one-parameter steps ride along the same passes (null_fit).
 *
 * Aliased columns are found on the first triangle (fit's rule: tolerance
 * max(nobs, p)·ε) and left out of every later pass.  Memory: the O(p²)
 * triangles and covariance (checked against the memory available first)
 * and one block's scratch, whatever the rows.
 *
 * Frequency weights f (a column of X) and var_weights v (the source's
 * weights) enter every row's terms as statsmodels' iweights f·v; the
 * constants and n = Σf are glm_family.c's and glm_stats.c's.
 *
 * With a collective (several processes, each over its share of the rows)
 * every pass ends, on every process however its own pass went, in an
 * agreement (a failed process stops all), then the pass's sums are merged
 * by a tree towards rank 0 in row order and rank 0's broadcast, and its
 * triangle merged as fit's (ooc_accumulator_reduce).  So every process holds
 * the same sums and triangle, and rank 0's aliased columns, R_K and β are
 * broadcast (as fit.c does), so every decision that follows (deviance,
 * convergence, the null model's steps, separation, iteration count) is made
 * on the same numbers by the same operations, alike on every process; a
 * failure there is met by all at once, and reported by rank 0 alone.
 */
#include "solve/accumulator.h"
#include "solve/cluster.h"
#include "solve/collective.h"
#include "solve/glm_family.h"
#include "solve/glm_input.h"
#include "solve/glm_stats.h"
#include "solve/passes.h"
#include "solve/triangle.h"

#include "base/clock.h"
#include "base/error.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* statsmodels' perfect-prediction test: np.allclose(mu - endog, 0) */
#define PERFECT_ATOL 1e-8

void ooc_glm_options_init(ooc_glm_options *o)
{
    memset(o, 0, sizeof *o);
    o->family = OOC_GLM_BINOMIAL;
    o->link = OOC_GLM_LINK_DEFAULT;
    o->method = OOC_METHOD_QR;
    o->max_iter = 100;
    o->tol = 1e-8;
}

/* The fit's working state. */
typedef struct glm_work {
    ooc_source *src;
    ooc_backend *be;
    const ooc_glm_options *o;
    const ooc_collective *coll; /* o->collective */
    bool own_failure;           /* this process's own pass failed (not a shared failure) */
    ooc_glm_family family;
    ooc_glm_link link;
    ooc_pass_env env;
    ooc_glm_layout lay;
    size_t p;     /* columns of X */
    size_t nreg;  /* regressors: X less the response, offset, exposure */
    size_t *reg;  /* their columns of X */
    size_t npush; /* columns pushed per row: the regressors, then the kept ones */
    size_t *push; /* their columns of X */
    const char **push_names;
    char *y_name; /* a categorical response's "LHS[level]" */
    size_t k;                          /* kept regressors (after the first triangle) */
    size_t *kept;                      /* their indexes among the regressors */
    double *beta_x;                    /* p: β on X's columns, 0 for the others */
    double *beta_k;                    /* k */
    double *beta_prev;                 /* k: the β before (the last step, for the warnings) */
    double *rk;                        /* (k+1)²: R_K of the triangle that gave β_k */
    double *xb, *irls_w, *irls_z, *xs; /* one block's scratch */
    int passes;
    ooc_glm_result *r;
} glm_work;

static void glm_work_free(glm_work *w)
{
    free(w->reg);
    free(w->push);
    free(w->push_names);
    free(w->y_name);
    free(w->kept);
    free(w->beta_x);
    free(w->beta_k);
    free(w->beta_prev);
    free(w->rk);
    free(w->xb);
    free(w->irls_w);
    free(w->irls_z);
    free(w->xs);
    ooc_glm_result_free(w->r);
}

/* ---- passes ------------------------------------------------------------------- */

/* One pass: the rows job's settings, the accumulator fed (NULL: none) and
 * what the rows summed. */
typedef struct glm_pass {
    glm_work *w;
    ooc_glm_rows_job job; /* data, n, first_row, xb filled per block */
    bool from_beta;       /* η from β (else statsmodels' starting μ) */
    ooc_accumulator *acc;
    ooc_glm_sums sums;
} glm_pass;

static ooc_status glm_block(void *ctx, const ooc_block *b, ooc_error *err)
{
    ooc_status status = OOC_OK;
    glm_pass *ps = ctx;
    glm_work *w = ps->w;
    const size_t n = b->nrows;
    ooc_glm_rows_job job = ps->job;
    job.data = b->data;
    job.n = n;
    job.first_row = b->first_row;
    job.y_name = w->r->y_name;
    if (ps->from_beta && n > 0) {
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)w->p, 1.0, b->data, (int)b->ncols,
                    w->beta_x, 1, 0.0, w->xb, 1);
        job.xb = w->xb;
    }
    OOC_CHECK(ooc_glm_rows(w->family, w->link, &w->lay, &job, &ps->sums, err));
    if (ps->acc && n > 0) {
        const double *x = b->data;
        size_t ldx = b->ncols;
        bool contiguous = true;
        for (size_t j = 0; j < w->npush; j++)
            contiguous = contiguous && w->push[j] == j;
        if (!contiguous) {
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < w->npush; j++)
                    w->xs[i * w->npush + j] = b->data[i * b->ncols + w->push[j]];
            x = w->xs;
            ldx = w->npush;
        }
        ooc_rows rows = {
            .nrows = n, .x = x, .ldx = ldx, .order = OOC_ROW_MAJOR, .y = w->irls_z, .w = w->irls_w};
        OOC_CHECK(ooc_accumulator_push(ps->acc, &rows, err));
    }
out:
    return status;
}

/* ---- across processes ---------------------------------------------------------- */

/* Every process reaches this after its share of a pass, however it went
 * (`local`): a process whose pass failed reports its own error, the others
 * stop with OOC_ERR_REMOTE. */
static ooc_status pass_agree(glm_work *w, ooc_status local, ooc_error *err)
{
    w->own_failure = local != OOC_OK;
    return ooc_coll_agree(w->coll, local, false, err);
}

typedef struct sums_tree {
    ooc_glm_sums mine, in;
} sums_tree;

static const void *sums_give(void *ctx) { return &((sums_tree *)ctx)->mine; }

static ooc_status sums_take(void *ctx, ooc_error *err)
{
    (void)err;
    sums_tree *t = ctx;
    ooc_glm_sums_merge(&t->mine, &t->in);
    return OOC_OK;
}

/* A pass's sums over every process (a no-op alone): merged by the tree
 * towards rank 0, the rows in order, then rank 0's broadcast.  Processes of
 * one collective share the architecture: the struct travels as it is. */
static ooc_status reduce_sums(const ooc_collective *c, ooc_glm_sums *s, ooc_error *err)
{
    ooc_status status = OOC_OK, local = OOC_OK;
    if (!ooc_coll_active(c))
        return OOC_OK;
    sums_tree t;
    memset(&t, 0, sizeof t);
    t.mine = *s;
    ooc_coll_tree_ops ops = {sums_give, sums_take, &t, &t.in, sizeof t.in};
    OOC_CHECK(ooc_coll_tree(c, &ops, &local, err));
    OOC_CHECK(ooc_coll_broadcast(c, &t.mine, sizeof t.mine, err));
    *s = t.mine;
out:
    return status;
}

/* Run one pass over the source (rewound unless it is the first) as phase
 * `phase`, feeding an accumulator of the pushed columns when `accumulate`;
 * with a collective, agreed and merged over the processes.  On success
 * *acc (when accumulating) is the caller's. */
static ooc_status run_pass(glm_work *w, glm_pass *ps, bool accumulate, const char *phase,
                           ooc_accumulator **acc, ooc_error *err)
{
    ooc_status status = OOC_OK, local = OOC_OK;
    ps->w = w;
    ps->acc = NULL;
    if (accumulate) {
        ooc_accumulator_options ao;
        ooc_accumulator_options_init(&ao);
        ao.p = w->npush;
        ao.column_names = w->push_names;
        ao.y_name = "IRLS working response";
        ao.weighted = true;
        ao.method = w->o->method;
        local = ooc_accumulator_create(&ao, w->be, &ps->acc, err);
        ps->job.irls_w = w->irls_w;
        ps->job.irls_z = w->irls_z;
    }
    if (local == OOC_OK)
        local = ooc_for_each_block(w->src, w->passes > 0, phase, OOC_STAGE_ACCUMULATE, &w->env,
                                   glm_block, ps, err);
    w->passes++;
    OOC_CHECK(pass_agree(w, local, err));
    OOC_CHECK(reduce_sums(w->coll, &ps->sums, err));
    if (accumulate) {
        OOC_CHECK(ooc_accumulator_reduce(ps->acc, w->coll, w->o->trace, err));
        *acc = ps->acc;
        ps->acc = NULL;
    }
out:
    ooc_accumulator_free(ps->acc);
    ps->acc = NULL;
    return status;
}

/* The cluster pass's rows (cluster.h) at the final β: s_i = W_i·(z_i - x_iβ)
 * = w_i(y_i - μ_i)/(g'(μ_i)V(μ_i)) and h_i the observed Hessian's factor
 * (W_i for a canonical link), statsmodels' score_obs and hessian_factor
 * times the scale, which cancels in the sandwich. */
static ooc_status glm_cluster_rows(void *ctx, const ooc_block *b, double *s, double *h,
                                   ooc_error *err)
{
    ooc_status status = OOC_OK;
    glm_work *w = ctx;
    const size_t n = b->nrows;
    ooc_glm_sums sums = {0};
    ooc_glm_rows_job job = {.data = b->data, .n = n, .first_row = b->first_row,
                            .y_name = w->r->y_name, .xb = w->xb, .null_mu = NAN,
                            .irls_w = w->irls_w, .irls_z = w->irls_z, .oim = h};
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)w->p, 1.0, b->data, (int)b->ncols,
                w->beta_x, 1, 0.0, w->xb, 1);
    OOC_CHECK(ooc_glm_rows(w->family, w->link, &w->lay, &job, &sums, err));
    for (size_t i = 0; i < n; i++)
        s[i] = w->irls_w[i] * (w->irls_z[i] - w->xb[i]);
out:
    return status;
}

/* The cluster-robust covariance (cluster.c) from a pass at the final β, in
 * the basis of the last triangle.  Errors: those of ooc_cluster_covariance,
 * OOC_ERR_NOMEM. */
static ooc_status cluster_covariance(glm_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t k = w->k;
    size_t *cols = malloc((k ? k : 1) * sizeof *cols);
    double *cov = malloc((k ? k * k : 1) * sizeof *cov), *meat = malloc((k ? k * k : 1) * sizeof *meat);
    OOC_FAIL_IF(!cols || !cov || !meat, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++)
        cols[i] = w->reg[w->kept[i]];
    /* frequency weights count as repeated rows in the correction: the fit of
     * the expanded data (statsmodels uses the rows, and warns that cov_type
     * is not fully supported with freq_weights) */
    OOC_CHECK(ooc_cluster_covariance(w->src, &w->o->cluster, w->nreg, w->r->wnobs, cols, k,
                                     w->rk, glm_cluster_rows, w, true, w->coll, &w->env, cov,
                                     meat, &w->r->cluster, err));
    w->r->passes++;
    w->r->cov = OOC_COV_CLUSTER;
    OOC_CHECK(ooc_glm_covariance(w->r, w->rk, k, w->kept, w->beta_k, cov, err));
out:
    free(cols);
    free(cov);
    free(meat);
    return status;
}

/* State of the pass summing f_i·lgamma(v_i / scale) (the llf of a gamma with
 * var_weights). */
typedef struct lgamma_pass {
    long wcol, fcol;
    double scale;
    long double sum;
} lgamma_pass;

static ooc_status lgamma_block(void *ctx, const ooc_block *b, ooc_error *err)
{
    (void)err;
    lgamma_pass *lp = ctx;
    for (size_t i = 0; i < b->nrows; i++) {
        const double *r = b->data + i * b->ncols;
        const double fw = lp->fcol >= 0 ? r[lp->fcol] : 1.0;
        lp->sum += fw * (long double)lgamma(r[lp->wcol] / lp->scale);
    }
    return OOC_OK;
}

/* ---- the triangles ------------------------------------------------------------ */

/* The first triangle (all regressors): the aliased ones, R_K of the kept
 * ones into w->rk, and from now on only the kept columns are pushed. */
static ooc_status first_triangle(glm_work *w, const double *r_aug, uint64_t nobs, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t nreg = w->nreg;
    ooc_glm_result *r = w->r;
    size_t m = ooc_triangle_rows(r_aug, nreg + 1, nreg);
    double nmax = (double)(nobs > nreg ? nobs : nreg);
    OOC_CHECK(
        ooc_find_aliased(r_aug, nreg + 1, nreg, m, nmax * DBL_EPSILON, r->aliased, &w->k, err));
    /* across processes, rank 0's columns and R_K (fit.c's rule) */
    OOC_CHECK(ooc_coll_broadcast(w->coll, r->aliased, nreg * sizeof(bool), err));
    w->k = 0;
    for (size_t j = 0; j < nreg; j++)
        w->k += !r->aliased[j];
    OOC_FAIL_IF(w->k == 0, err, OOC_ERR_DATA,
                "every regressor is zero on the rows: there is nothing to fit");
    OOC_CHECK(ooc_retriangularize(r_aug, nreg + 1, r->aliased, w->k, w->rk, err));
    OOC_CHECK(ooc_coll_broadcast(w->coll, w->rk, (w->k + 1) * (w->k + 1) * sizeof(double), err));
    r->rank = w->k;
    r->n_aliased = nreg - w->k;
    for (size_t j = 0, c = 0; j < nreg; j++)
        if (!r->aliased[j]) {
            w->kept[c] = j;
            w->push[c] = w->reg[j];
            w->push_names[c] = r->names[j];
            c++;
        }
    w->npush = w->k;
out:
    return status;
}

/* β_K = R_K⁻¹z from w->rk (the backend's triangular solve; across
 * processes rank 0's, broadcast), spread over X's columns into beta_x.
 * Errors: OOC_ERR_NUMERIC (a zero diagonal: the weighted design lost rank),
 * the backend's. */
static ooc_status solve_beta(glm_work *w, int iteration, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const size_t k = w->k;
    if (iteration > 1)
        memcpy(w->beta_prev, w->beta_k, k * sizeof(double));
    for (size_t i = 0; i < k; i++) {
        OOC_FAIL_IF(!(w->rk[i * (k + 1) + i] > 0.0), err, OOC_ERR_NUMERIC,
                    "IRLS iteration %d: the weighted design is singular at column '%s' (its "
                    "IRLS weights vanished)",
                    iteration, w->r->names[w->kept[i]]);
        w->beta_k[i] = w->rk[i * (k + 1) + k];
    }
    OOC_CHECK(ooc_backend_solve_triangle(w->be, w->rk, k, k + 1, w->beta_k, err));
    OOC_CHECK(ooc_coll_broadcast(w->coll, w->beta_k, k * sizeof(double), err));
    for (size_t i = 0; i < k; i++)
        w->beta_x[w->push[i]] = w->beta_k[i];
out:
    return status;
}

/* ---- setup -------------------------------------------------------------------- */

/* Family and link, the columns (response, weight, offset, exposure,
 * regressors), the memory check, the result and the scratch. */
static ooc_status setup(glm_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_glm_options *o = w->o;
    ooc_source *src = w->src;
    const ooc_glm_input *input = ooc_glm_input_of(src);
    w->family = o->family;
    OOC_FAIL_IF((unsigned)o->family > OOC_GLM_INVERSE_GAUSSIAN, err, OOC_ERR_INVALID_ARG,
                "unknown GLM family %d", (int)o->family);
    w->link = o->link == OOC_GLM_LINK_DEFAULT ? ooc_glm_default_link(o->family) : o->link;
    OOC_FAIL_IF(!ooc_glm_link_allowed(w->family, w->link), err, OOC_ERR_INVALID_ARG,
                "the %s link is not one of the %s family's (statsmodels' %s.links)",
                ooc_glm_link_name(w->link), ooc_glm_family_name(w->family),
                ooc_glm_family_title(w->family));
    OOC_FAIL_IF(o->exposure_column && w->link != OOC_GLM_LINK_LOG, err, OOC_ERR_INVALID_ARG,
                "an exposure needs the log link (statsmodels: \"exposure can only be used with "
                "the log link function\"); give log(exposure) as an offset instead");
    OOC_FAIL_IF(o->max_iter < 0 || !(o->tol >= 0.0), err, OOC_ERR_INVALID_ARG,
                "max_iter must be >= 1 and tol >= 0 (got %d and %g)", o->max_iter, o->tol);
    w->p = src->p;
    w->lay = (ooc_glm_layout){
        .ld = src->ncols, .ycol = src->p, .wcol = -1, .fcol = -1, .ocol = -1, .ecol = -1};
    long ycol = -1;
    if (o->response_column)
        OOC_CHECK(ooc_glm_find_column(src, "response", o->response_column, &ycol, err));
    else if (input && input->response_term)
        OOC_CHECK(ooc_glm_categorical_response(src, input, &ycol, &w->y_name, err));
    else
        OOC_FAIL_IF(!src->has_y, err, OOC_ERR_INVALID_ARG,
                    "the input has no response (y): give a formula with 'y ~ ...', a /Y "
                    "dataset, or a response column");
    if (ycol >= 0)
        w->lay.ycol = (size_t)ycol;
    if (src->has_weights)
        w->lay.wcol = (long)src->ncols - 1;
    if (o->offset_column)
        OOC_CHECK(ooc_glm_find_column(src, "offset", o->offset_column, &w->lay.ocol, err));
    if (o->exposure_column)
        OOC_CHECK(ooc_glm_find_column(src, "exposure", o->exposure_column, &w->lay.ecol, err));
    if (o->freq_weights_column)
        OOC_CHECK(ooc_glm_find_column(src, "frequency weight", o->freq_weights_column,
                                      &w->lay.fcol, err));
    const long special[] = {ycol, w->lay.ocol, w->lay.ecol, w->lay.fcol};
    for (size_t a = 0; a < 4; a++)
        for (size_t b = a + 1; b < 4; b++)
            OOC_FAIL_IF(special[a] >= 0 && special[a] == special[b], err, OOC_ERR_INVALID_ARG,
                        "the response, offset, exposure and frequency weights must be "
                        "different columns");
    const size_t p = src->p;
    w->reg = malloc((p ? p : 1) * sizeof(size_t));
    OOC_FAIL_IF(!w->reg, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < p; j++)
        if ((long)j != ycol && (long)j != w->lay.ocol && (long)j != w->lay.ecol &&
            (long)j != w->lay.fcol)
            w->reg[w->nreg++] = j;
    OOC_FAIL_IF(w->nreg == 0, err, OOC_ERR_INVALID_ARG,
                "the model has no regressors (not even an intercept)");
    const size_t nreg = w->nreg;
    size_t m_est = src->nrows < nreg ? (size_t)src->nrows : nreg;
    OOC_CHECK(ooc_check_dense_memory("glm", nreg + 1, nreg, nreg, m_est, 0, err));
    const char **names = malloc(nreg * sizeof(char *));
    OOC_FAIL_IF(!names, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < nreg; j++)
        names[j] = src->column_names ? src->column_names[w->reg[j]] : NULL;
    w->r = ooc_glm_result_alloc(nreg, names);
    free(names);
    OOC_FAIL_IF(!w->r, err, OOC_ERR_NOMEM, "out of memory for %zu columns", nreg);
    ooc_glm_result *r = w->r;
    r->family = w->family;
    r->link = w->link;
    r->method = o->method;
    r->weighted = src->has_weights;
    const char *y_name = o->y_name            ? o->y_name
                         : o->response_column ? o->response_column
                         : w->y_name          ? w->y_name
                                              : src->y_name;
    /* a CSV formula with the model's terms (ooc_glm_source_open): the caller's */
    const char *formula =
        input && src->formula && !strcmp(src->formula, input->formula) ? input->user_formula
                                                                       : src->formula;
    r->y_name = ooc_strdup_or_null(y_name);
    r->formula = ooc_strdup_or_null(formula);
    r->offset_name = ooc_strdup_or_null(o->offset_column);
    r->exposure_name = ooc_strdup_or_null(o->exposure_column);
    r->freq_weights_name = ooc_strdup_or_null(o->freq_weights_column);
    int max_iter = o->max_iter > 0 ? o->max_iter : 100;
    r->deviance_history = malloc(((size_t)max_iter + 1) * sizeof(double));
    OOC_FAIL_IF((y_name && !r->y_name) || (formula && !r->formula) ||
                    (o->offset_column && !r->offset_name) ||
                    (o->freq_weights_column && !r->freq_weights_name) ||
                    (o->exposure_column && !r->exposure_name) || !r->deviance_history,
                err, OOC_ERR_NOMEM, "out of memory");
    size_t rows = src->block_rows ? src->block_rows : 1;
    w->push = malloc(nreg * sizeof(size_t));
    w->push_names = malloc(nreg * sizeof(char *));
    w->kept = malloc(nreg * sizeof(size_t));
    w->beta_x = calloc(p, sizeof(double));
    w->beta_k = malloc(nreg * sizeof(double));
    w->beta_prev = calloc(nreg, sizeof(double));
    w->rk = malloc((nreg + 1) * (nreg + 1) * sizeof(double));
    w->xb = malloc(rows * sizeof(double));
    w->irls_w = malloc(rows * sizeof(double));
    w->irls_z = malloc(rows * sizeof(double));
    w->xs = malloc(rows * nreg * sizeof(double));
    OOC_FAIL_IF(!w->push || !w->push_names || !w->kept || !w->beta_x || !w->beta_k ||
                    !w->beta_prev || !w->rk || !w->xb || !w->irls_w || !w->irls_z || !w->xs,
                err, OOC_ERR_NOMEM, "out of memory for %zu columns and %zu-row blocks", nreg, rows);
    w->npush = nreg;
    for (size_t j = 0; j < nreg; j++) {
        w->push[j] = w->reg[j];
        w->push_names[j] = r->names[j];
    }
out:
    return status;
}

/* ---- the iterations ------------------------------------------------------------ */

/* The warnings a finished fit carries. */
static ooc_status fit_warnings(glm_work *w, const ooc_glm_sums *end, double last_change,
                               ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_glm_result *r = w->r;
    if (!ooc_glm_link_safe(w->family, w->link))
        OOC_CHECK(ooc_glm_add_warning(r, err,
                                      "The %s link function does not respect the domain of "
                                      "the %s family.",
                                      ooc_glm_link_title(w->link),
                                      ooc_glm_family_title(w->family)));
    if (r->n_aliased)
        OOC_CHECK(ooc_glm_add_warning(r, err,
                                      "The design is rank deficient: %zu of its %zu columns "
                                      "are aliased with the ones before them (not estimable: "
                                      "NaN).",
                                      r->n_aliased, r->p));
    if (!r->converged)
        OOC_CHECK(ooc_glm_add_warning(r, err,
                                      "IRLS did not converge in %d iterations: the deviance "
                                      "changed by %.3g in the last one (tolerance %.3g).",
                                      r->iterations, last_change,
                                      w->o->tol > 0.0 ? w->o->tol : 1e-8));
    if (end->n_boundary) {
        /* the coefficients that still moved by more than 0.1% in the last
         * iteration: those of a separating direction grow by about 1 each time */
        char moving[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < w->k && len < sizeof moving - 64; i++) {
            double step = fabs(w->beta_k[i] - w->beta_prev[i]);
            if (step > 1e-3 * fabs(w->beta_k[i]))
                len += (size_t)snprintf(moving + len, sizeof moving - len, "%s'%s' (by %.3g)",
                                        len ? ", " : "; still moving in the last iteration: ",
                                        r->names[w->kept[i]], step);
        }
        bool binomial = w->family == OOC_GLM_BINOMIAL;
        OOC_CHECK(ooc_glm_add_warning(
            r, err,
            "%llu rows %s (the first is row %llu): a sign of quasi-complete separation%s; the "
            "coefficients of the columns that separate are then infinite and their standard "
            "errors meaningless.",
            (unsigned long long)end->n_boundary,
            binomial ? "have fitted probabilities within 1e-8 of their 0/1 response"
                     : "with a count of 0 have fitted rates below 1e-8",
            (unsigned long long)end->first_boundary, moving));
    }
    if (end->max_resid <= PERFECT_ATOL && w->family != OOC_GLM_BINOMIAL)
        OOC_CHECK(ooc_glm_add_warning(
            r, err, "Perfect separation or prediction detected, parameter may not be identified"));
out:
    return status;
}

/* The null model of a fit with an offset or exposure: statsmodels' null,
 * GLM(y, 1, offset, var_weights).fit(start_params=g(ȳ)), an IRLS fit of
 * its own.  Its steps (one intercept: b₀ = ΣWz/ΣW) ride along the main
 * fit's passes, and take passes of their own if the main fit converges
 * first; its history and convergence test are the main fit's. */
typedef struct null_fit {
    bool active; /* a step to take in the next pass */
    int iter;    /* steps taken */
    double b0;   /* the intercept of the next step */
    double scale_prev, dev_prev, df_resid;
    bool have; /* converged or out of iterations: dev is its deviance */
    long double dev;
} null_fit;

/* After a pass that took a null step: the deviance, the test, the next b₀. */
static void null_step(null_fit *nf, const ooc_glm_sums *s, ooc_glm_family f, double tol,
                      int max_iter)
{
    if (!nf->active)
        return;
    if (s->null_failed || !(s->null_w > 0)) {
        nf->active = false;
        return;
    }
    double scale = ooc_glm_scale(f, (double)s->null_pearson, nf->df_resid);
    double dev = (double)s->null_dev / (nf->iter ? nf->scale_prev : scale);
    bool done = nf->iter > 0 && (fabs(nf->dev_prev - dev) <= tol || nf->iter == max_iter);
    nf->dev_prev = dev;
    nf->scale_prev = scale;
    if (done) {
        nf->active = false;
        nf->have = true;
        nf->dev = s->null_dev;
        return;
    }
    nf->b0 = (double)(s->null_wz / s->null_w);
    nf->iter++;
}

/* The pre-pass, the iterations and the statistics. */
static ooc_status iterate(glm_work *w, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_glm_options *o = w->o;
    ooc_glm_result *r = w->r;
    const int max_iter = o->max_iter > 0 ? o->max_iter : 100;
    const double tol = o->tol > 0.0 ? o->tol : 1e-8;
    const bool has_offset = w->lay.ocol >= 0 || w->lay.ecol >= 0;
    ooc_accumulator *acc = NULL;
    glm_pass constants = {0}, ps = {0};
    double t0 = ooc_clock_seconds();
    char phase[64];

    /* the mean of y for (y + ȳ)/2, and every row checked */
    const bool prepass = ooc_glm_start_needs_mean(w->family);
    null_fit nf = {0};
    if (prepass) {
        constants.job = (ooc_glm_rows_job){.scan_only = true, .constants = true, .null_mu = NAN};
        OOC_CHECK(run_pass(w, &constants, false, "GLM: mean of y", NULL, err));
        OOC_FAIL_IF(constants.sums.n == 0, err, OOC_ERR_DATA, "the input has no rows to fit");
        nf = (null_fit){
            .active = has_offset,
            .b0 = ooc_glm_link_value(w->link, (double)(constants.sums.y / constants.sums.n)),
            .df_resid = (double)constants.sums.wn - 1};
    }

    /* iteration 1 from the starting μ: D₀ and the first triangle */
    ps.job = (ooc_glm_rows_job){
        .constants = !prepass, .null_mu = NAN, .null_irls = nf.active, .null_b0 = nf.b0};
    if (prepass) {
        ps.job.ymean = (double)(constants.sums.y / constants.sums.n);
        if (!has_offset)
            ps.job.null_mu = (double)(constants.sums.wy / constants.sums.w);
    }
    OOC_CHECK(run_pass(w, &ps, true, "IRLS iteration 1", &acc, err));
    if (!prepass) {
        constants = ps;
        nf = (null_fit){
            .active = has_offset,
            .b0 = ooc_glm_link_value(w->link, (double)(constants.sums.y / constants.sums.n)),
            .df_resid = (double)constants.sums.wn - 1};
    } else {
        null_step(&nf, &ps.sums, w->family, tol, max_iter);
    }
    const uint64_t nobs = constants.sums.n;
    OOC_FAIL_IF(nobs == 0, err, OOC_ERR_DATA, "the input has no rows to fit");
    OOC_FAIL_IF(!(constants.sums.wn > 0), err, OOC_ERR_DATA,
                "the frequency weights of all %llu rows are 0: there is nothing to fit",
                (unsigned long long)nobs);
    bool has_null = !isnan(ps.job.null_mu);
    long double null_dev = ps.sums.null_dev;
    const double null_mu = has_offset ? NAN : (double)(constants.sums.wy / constants.sums.w);
    OOC_FAIL_IF(!isfinite((double)ps.sums.dev), err, OOC_ERR_NUMERIC,
                "the deviance at the starting values is %g (statsmodels: \"The first guess on "
                "the deviance function returned a nan\")",
                (double)ps.sums.dev);
    const double *r_aug;
    OOC_CHECK(ooc_accumulator_triangle(acc, o->trace, &r_aug, err));
    OOC_CHECK(first_triangle(w, r_aug, nobs, err));
    ooc_accumulator_free(acc);
    acc = NULL;
    OOC_CHECK(solve_beta(w, 1, err));
    /* statsmodels records each deviance divided by the scale it holds then: the
     * one at μ₀ for D₀, then the previous μ's (1 for binomial and poisson) */
    const double df_resid = (double)constants.sums.wn - (double)w->k;
    double scale_prev = ooc_glm_scale(w->family, (double)ps.sums.pearson, df_resid);
    r->deviance_history[0] = (double)ps.sums.dev / scale_prev;

    /* pass j+1: the deviance D_j of β_j, and the triangle for β_{j+1} */
    double change = NAN;
    for (int j = 1;; j++) {
        const bool last = j == max_iter;
        if (isnan(change))
            snprintf(phase, sizeof phase, "IRLS iteration %d", j + 1);
        else if (last)
            snprintf(phase, sizeof phase, "IRLS: deviance after iteration %d", j);
        else
            snprintf(phase, sizeof phase, "IRLS iteration %d (deviance change %.2g)", j + 1,
                     change);
        ps = (glm_pass){
            .from_beta = true,
            .job = {.null_mu = has_null ? NAN : null_mu, .null_irls = nf.active, .null_b0 = nf.b0}};
        OOC_CHECK(run_pass(w, &ps, !last, phase, &acc, err));
        null_step(&nf, &ps.sums, w->family, tol, max_iter);
        if (!has_null && !isnan(null_mu)) {
            has_null = true;
            null_dev = ps.sums.null_dev;
        }
        const double dev = (double)ps.sums.dev / scale_prev;
        OOC_FAIL_IF(!isfinite(dev), err, OOC_ERR_NUMERIC,
                    "IRLS iteration %d: the deviance is %g (%g over the scale %g)", j, dev,
                    (double)ps.sums.dev, scale_prev);
        r->deviance_history[j] = dev;
        scale_prev = ooc_glm_scale(w->family, (double)ps.sums.pearson, df_resid);
        OOC_FAIL_IF(w->family == OOC_GLM_BINOMIAL && ps.sums.max_resid <= PERFECT_ATOL, err,
                    OOC_ERR_NUMERIC,
                    "perfect separation: after IRLS iteration %d every fitted probability is "
                    "within %g of its 0/1 response, so the maximum-likelihood estimates do not "
                    "exist (the coefficients grow without bound): a column, or a combination "
                    "of columns, separates the responses; drop it, or fit a penalized model",
                    j, PERFECT_ATOL);
        change = fabs(r->deviance_history[j - 1] - dev);
        ooc_log(&o->log, OOC_LOG_DEBUG, "IRLS iteration %d: deviance %.17g, change %.3g", j, dev,
                change);
        r->converged = change <= tol;
        if (r->converged || last) {
            r->iterations = j;
            break;
        }
        /* not converged: β_{j+1} from this pass's triangle */
        OOC_CHECK(ooc_accumulator_triangle(acc, o->trace, &r_aug, err));
        memcpy(w->rk, r_aug, (w->k + 1) * (w->k + 1) * sizeof(double));
        ooc_accumulator_free(acc);
        acc = NULL;
        OOC_CHECK(solve_beta(w, j + 1, err));
    }
    ooc_accumulator_free(acc);
    acc = NULL;
    const ooc_glm_sums end = ps.sums;
    /* the null model of an offset fit, when it needs more iterations than the fit */
    while (nf.active) {
        snprintf(phase, sizeof phase, "GLM: null model, iteration %d", nf.iter + 1);
        ps = (glm_pass){
            .job = {.null_mu = NAN, .null_irls = true, .null_only = true, .null_b0 = nf.b0}};
        OOC_CHECK(run_pass(w, &ps, false, phase, NULL, err));
        null_step(&nf, &ps.sums, w->family, tol, max_iter);
    }
    if (has_offset) {
        has_null = nf.have;
        null_dev = nf.dev;
    }

    /* statistics at μ_j; the covariance from the triangle that gave β_j */
    ooc_glm_totals totals = {
        .constants = &constants.sums, .end = &end, .has_null = has_null, .null_dev = null_dev};
    if (w->family == OOC_GLM_GAMMA && w->lay.wcol >= 0) {
        lgamma_pass lp = {w->lay.wcol, w->lay.fcol, scale_prev, 0.0L};
        status = ooc_for_each_block(w->src, true, "GLM: gamma log-likelihood",
                                    OOC_STAGE_RESIDUAL_PASS, &w->env, lgamma_block, &lp, err);
        w->passes++;
        OOC_CHECK(pass_agree(w, status, err));
        OOC_CHECK(ooc_coll_sum_long(w->coll, &lp.sum, 1, err));
        totals.lgamma_ws = lp.sum;
    }
    r->passes = w->passes;
    r->seconds_passes = ooc_clock_seconds() - t0;
    t0 = ooc_clock_seconds();
    /* rk is still the triangle that gave β_j: the weights of μ_{j-1} */
    ooc_glm_statistics(r, &totals);
    OOC_CHECK(w->o->cov == OOC_COV_CLUSTER ? cluster_covariance(w, err)
                                           : ooc_glm_covariance(r, w->rk, w->k, w->kept,
                                                                w->beta_k, NULL, err));
    OOC_CHECK(fit_warnings(w, &end, change, err));
    if (has_offset && !has_null)
        OOC_CHECK(ooc_glm_add_warning(r, err,
                                      "The null model (a constant and the offset) left the "
                                      "family's range: null_deviance, llnull and the pseudo "
                                      "R-squared are not given."));
    r->seconds_finalize = ooc_clock_seconds() - t0;
out:
    ooc_accumulator_free(acc);
    return status;
}

ooc_status ooc_glm(ooc_source *src, ooc_backend *be, const ooc_glm_options *o, ooc_glm_result **out,
                   ooc_error *err)
{
    ooc_error_clear(err);
    ooc_status status = OOC_OK;
    ooc_glm_options defaults;
    if (!o) {
        ooc_glm_options_init(&defaults);
        o = &defaults;
    }
    glm_work w = {.src = src,
                  .be = be,
                  .o = o,
                  .coll = o->collective,
                  .env = {o->cancel, o->trace, o->progress}};
    *out = NULL;
    /* every process checks the same options against the same columns: a failure is
     * everyone's, reported by rank 0 */
    OOC_CHECK(ooc_coll_agree(w.coll, setup(&w, err), true, err));
    ooc_trace_set_meta(o->trace, "family", "%s", ooc_glm_family_name(w.family));
    ooc_trace_set_meta(o->trace, "link", "%s", ooc_glm_link_name(w.link));
    ooc_trace_set_meta(o->trace, "method", "%s", ooc_method_name(o->method));
    ooc_trace_set_meta(o->trace, "p", "%zu", w.nreg);
    status = iterate(&w, err);
    /* a failure outside this process's own passes follows from what every process shares
     * (the merged sums, rank 0's β): all met it at once, and rank 0 reports it */
    if (status != OOC_OK && status != OOC_ERR_REMOTE && !w.own_failure &&
        ooc_coll_active(w.coll) && w.coll->rank != 0) {
        ooc_error_clear(err);
        status = OOC_FAIL(err, OOC_ERR_REMOTE,
                          "stopped because process 0 of %d failed the same way (it reports why)",
                          w.coll->size);
    }
    OOC_CHECK(status);
    for (size_t i = 0; i < w.r->nwarnings; i++)
        ooc_log(&o->log, OOC_LOG_WARNING, "%s", w.r->warnings[i]);
    *out = w.r;
    w.r = NULL;
out:
    glm_work_free(&w);
    return status;
}
