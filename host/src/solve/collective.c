/*
 * collective.c — merging accumulators across the processes of an
 * ooc_collective (collective.h), over base/collective.h's exchanges: every
 * exchange agreed first, every process playing its whole part.
 */
#include "solve/collective.h"

#include "backend/backend.h"
#include "base/error.h"
#include "profile/trace.h"

#include <stdlib.h>
#include <string.h>

/* ---- accumulators ---------------------------------------------------------- */

/* An accumulator's state as bytes: the triangle, then (with y) the side
 * statistics; processes of one collective share the architecture, so long
 * doubles travel as they are. */
typedef struct packed_layout {
    size_t p, p_aug;
    bool with_y;
    size_t bytes;
} packed_layout;

static packed_layout layout_of(const ooc_accumulator *acc)
{
    packed_layout l = {acc->p, acc->p_aug, acc->with_y, 0};
    l.bytes = l.p_aug * l.p_aug * sizeof(double) + sizeof(uint64_t);
    if (l.with_y)
        l.bytes += 2 * l.p * sizeof(double) + l.p * sizeof(long double) +
                   3 * sizeof(long double) + 3 * sizeof(double);
    return l;
}

/* Copies n bytes between *cursor and mem (to the buffer when `out`) and
 * advances the cursor. */
static void move(unsigned char **cursor, void *mem, size_t n, bool out)
{
    if (out)
        memcpy(*cursor, mem, n);
    else
        memcpy(mem, *cursor, n);
    *cursor += n;
}

/* r (p_aug²) and st to or from buf. */
static void transfer(const packed_layout *l, unsigned char *buf, double *r, ooc_side_stats *st,
                     bool out)
{
    unsigned char *cur = buf;
    move(&cur, r, l->p_aug * l->p_aug * sizeof(double), out);
    move(&cur, &st->nobs, sizeof st->nobs, out);
    if (!l->with_y)
        return;
    move(&cur, st->colmin, l->p * sizeof(double), out);
    move(&cur, st->colmax, l->p * sizeof(double), out);
    move(&cur, st->xw, l->p * sizeof(long double), out);
    move(&cur, &st->sum_w, sizeof st->sum_w, out);
    move(&cur, &st->sum_log_w, sizeof st->sum_log_w, out);
    move(&cur, &st->sum_wy2, sizeof st->sum_wy2, out);
    move(&cur, &st->y_wsum, sizeof st->y_wsum, out);
    move(&cur, &st->y_mean, sizeof st->y_mean, out);
    move(&cur, &st->y_m2, sizeof st->y_m2, out);
}

typedef struct merge_job {
    ooc_accumulator *acc;
    packed_layout l;
    unsigned char *buf;     /* received state */
    double *r_in;           /* p_aug² */
    ooc_side_stats in;      /* its arrays: p doubles, p doubles, p long doubles */
} merge_job;

/* Fold the received state into the accumulator. */
static ooc_status merge_in(void *ctx, ooc_error *err)
{
    merge_job *j = ctx;
    ooc_accumulator *acc = j->acc;
    ooc_side_stats *st = &acc->st;
    const size_t pa = j->l.p_aug;
    transfer(&j->l, j->buf, j->r_in, &j->in, false);
    ooc_status status = ooc_triangle_merge(acc->r_aug, pa, pa, j->r_in, pa, pa, pa, err);
    if (status != OOC_OK)
        return status;
    st->nobs += j->in.nobs;
    if (!j->l.with_y)
        return OOC_OK;
    for (size_t k = 0; k < j->l.p; k++) {
        st->colmin[k] = j->in.colmin[k] < st->colmin[k] ? j->in.colmin[k] : st->colmin[k];
        st->colmax[k] = j->in.colmax[k] > st->colmax[k] ? j->in.colmax[k] : st->colmax[k];
        st->xw[k] += j->in.xw[k];
    }
    st->sum_w += j->in.sum_w;
    st->sum_log_w += j->in.sum_log_w;
    st->sum_wy2 += j->in.sum_wy2;
    ooc_side_stats_add_y(st, j->in.y_wsum, j->in.y_mean, j->in.y_m2);
    return OOC_OK;
}

/* The running merge (this process's rows and those it has taken in), packed
 * into the job's buffer. */
static const void *packed_running(void *ctx)
{
    merge_job *j = ctx;
    transfer(&j->l, j->buf, j->acc->r_aug, &j->acc->st, true);
    return j->buf;
}

ooc_status ooc_accumulator_reduce(ooc_accumulator *acc, const ooc_collective *c,
                                  ooc_trace *trace, ooc_error *err)
{
    if (!ooc_coll_active(c))
        return OOC_OK;
    ooc_status status = OOC_OK, local = OOC_OK;
    merge_job job = {.acc = acc, .l = layout_of(acc)};
    const double *r;
    local = ooc_accumulator_triangle(acc, trace, &r, err);
    const size_t p = job.l.p, pa = job.l.p_aug;
    job.buf = malloc(job.l.bytes);
    job.r_in = malloc(pa * pa * sizeof(double));
    job.in.colmin = malloc((p ? p : 1) * sizeof(double));
    job.in.colmax = malloc((p ? p : 1) * sizeof(double));
    job.in.xw = malloc((p ? p : 1) * sizeof(long double));
    if (local == OOC_OK && (!job.buf || !job.r_in || !job.in.colmin || !job.in.colmax ||
                            !job.in.xw))
        local = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory to merge the processes' %zu-column "
                                             "triangles", pa);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    ooc_trace_token span = ooc_trace_begin(trace, OOC_STAGE_FINALIZE);
    ooc_coll_tree_ops t = {packed_running, merge_in, &job, job.buf, job.l.bytes};
    status = ooc_coll_tree(c, &t, &local, err);
    ooc_trace_end(trace, span);
    OOC_CHECK(status);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    if (c->rank == 0)
        transfer(&job.l, job.buf, acc->r_aug, &acc->st, true);
    OOC_CHECK(c->broadcast(c->ctx, job.buf, job.l.bytes, err));
    if (c->rank != 0)
        transfer(&job.l, job.buf, acc->r_aug, &acc->st, false);
    acc->have_r = true;
out:
    free(job.buf);
    free(job.r_in);
    free(job.in.colmin);
    free(job.in.colmax);
    free(job.in.xw);
    return status;
}
