/*
 * collective.c — agreeing, broadcasting, summing and gathering across the
 * processes of an ooc_collective (collective.h).
 *
 * Sizes travel before the bytes, and a process that has no room for what it
 * is about to receive says so at an agreement, before anything is sent, so a
 * sender never waits for a receive that will not come.
 */
#include "base/collective.h"

#include "base/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool ooc_coll_active(const ooc_collective *c)
{
    return c && c->size > 1;
}

ooc_status ooc_coll_agree(const ooc_collective *c, ooc_status local, bool shared, ooc_error *err)
{
    if (!ooc_coll_active(c))
        return local;
    int first = -1;
    ooc_error transport = {0};
    ooc_status st = c->agree(c->ctx, local != OOC_OK, &first, &transport);
    if (local != OOC_OK) {
        if (st == OOC_OK && shared && first == 0 && c->rank != 0) {
            ooc_error_clear(err); /* process 0 has the same message */
            return OOC_FAIL(err, OOC_ERR_REMOTE,
                            "stopped because process 0 of %d failed the same way (it reports why)",
                            c->size);
        }
        return local;
    }
    if (st != OOC_OK) {
        if (err)
            *err = transport;
        return st;
    }
    if (first >= 0)
        return OOC_FAIL(err, OOC_ERR_REMOTE,
                        "stopped because process %d of %d failed (it reports why)", first,
                        c->size);
    return OOC_OK;
}

ooc_status ooc_coll_gather(const ooc_collective *c, ooc_status local, const void *mine,
                           size_t nbytes, void **all, size_t **sizes, ooc_error *err)
{
    ooc_status status = OOC_OK;
    unsigned char *buf = NULL;
    size_t *counts = NULL;
    *all = NULL;
    *sizes = NULL;
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    const int n = ooc_coll_active(c) ? c->size : 1, me = ooc_coll_active(c) ? c->rank : 0;
    if (me != 0) {
        uint64_t size = nbytes;
        OOC_CHECK(c->send(c->ctx, 0, &size, sizeof size, err));
        OOC_CHECK(ooc_coll_agree(c, OOC_OK, false, err));
        OOC_CHECK(c->send(c->ctx, 0, mine, nbytes, err));
        goto out;
    }
    counts = malloc((size_t)n * sizeof *counts);
    local = counts ? OOC_OK : OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    size_t total = nbytes;
    for (int k = 1; k < n; k++) { /* every size is received, whatever happened */
        uint64_t size;
        OOC_CHECK(c->recv(c->ctx, k, &size, sizeof size, err));
        if (counts)
            counts[k] = (size_t)size;
        total += (size_t)size;
    }
    if (local == OOC_OK) {
        counts[0] = nbytes;
        buf = malloc(total ? total : 1);
        if (!buf)
            local = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %zu bytes from %d processes",
                             total, n);
    }
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    if (nbytes)
        memcpy(buf, mine, nbytes);
    size_t at = nbytes;
    for (int k = 1; k < n; k++) {
        OOC_CHECK(c->recv(c->ctx, k, buf + at, counts[k], err));
        at += counts[k];
    }
    *all = buf;
    *sizes = counts;
    buf = NULL;
    counts = NULL;
out:
    free(buf);
    free(counts);
    return status;
}

ooc_status ooc_coll_broadcast_bytes(const ooc_collective *c, ooc_status local, void **data,
                                    size_t *nbytes, ooc_error *err)
{
    ooc_status status = OOC_OK;
    void *copy = NULL;
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    if (!ooc_coll_active(c))
        goto out;
    uint64_t size = *nbytes;
    OOC_CHECK(c->broadcast(c->ctx, &size, sizeof size, err));
    if (c->rank != 0) {
        copy = malloc(size ? (size_t)size : 1);
        local = copy ? OOC_OK
                     : OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for %llu bytes from process 0",
                                (unsigned long long)size);
    }
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    if (c->rank == 0) {
        OOC_CHECK(c->broadcast(c->ctx, *data, (size_t)size, err));
    } else {
        OOC_CHECK(c->broadcast(c->ctx, copy, (size_t)size, err));
        *data = copy;
        *nbytes = (size_t)size;
        copy = NULL;
    }
out:
    free(copy);
    return status;
}

ooc_status ooc_coll_broadcast(const ooc_collective *c, void *data, size_t bytes, ooc_error *err)
{
    return !ooc_coll_active(c) ? OOC_OK : c->broadcast(c->ctx, data, bytes, err);
}

ooc_status ooc_coll_tree(const ooc_collective *c, const ooc_coll_tree_ops *t, ooc_status *local,
                         ooc_error *err)
{
    for (int step = 1; step < c->size; step *= 2) {
        if (c->rank % (2 * step) == step)
            return c->send(c->ctx, c->rank - step, t->give(t->ctx), t->bytes, err);
        if (c->rank % (2 * step) == 0 && c->rank + step < c->size) {
            ooc_status st = c->recv(c->ctx, c->rank + step, t->incoming, t->bytes, err);
            if (st != OOC_OK)
                return st;
            if (*local == OOC_OK)
                *local = t->take(t->ctx, err);
        }
    }
    return OOC_OK;
}

/* ---- sums ------------------------------------------------------------------ */

typedef struct sum_job {
    void *x;          /* the running sum */
    const void *in;   /* what was received */
    size_t n;
    bool extended;    /* long double, else double */
} sum_job;

static ooc_status add_in(void *ctx, ooc_error *err)
{
    (void)err;
    sum_job *j = ctx;
    for (size_t i = 0; i < j->n; i++)
        if (j->extended)
            ((long double *)j->x)[i] += ((const long double *)j->in)[i];
        else
            ((double *)j->x)[i] += ((const double *)j->in)[i];
    return OOC_OK;
}

static const void *running_sum(void *ctx)
{
    return ((sum_job *)ctx)->x;
}

static ooc_status sum(const ooc_collective *c, void *x, size_t n, size_t elem, bool extended,
                      ooc_error *err)
{
    if (!ooc_coll_active(c) || n == 0)
        return OOC_OK;
    ooc_status status = OOC_OK, local = OOC_OK;
    void *buf = malloc(n * elem);
    if (!buf)
        local = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for a sum of %zu values", n);
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    sum_job job = {x, buf, n, extended};
    ooc_coll_tree_ops t = {running_sum, add_in, &job, buf, n * elem};
    OOC_CHECK(ooc_coll_tree(c, &t, &local, err));
    OOC_CHECK(ooc_coll_agree(c, local, false, err));
    OOC_CHECK(c->broadcast(c->ctx, x, n * elem, err));
out:
    free(buf);
    return status;
}

ooc_status ooc_coll_sum(const ooc_collective *c, double *x, size_t n, ooc_error *err)
{
    return sum(c, x, n, sizeof *x, false, err);
}

ooc_status ooc_coll_sum_long(const ooc_collective *c, long double *x, size_t n, ooc_error *err)
{
    return sum(c, x, n, sizeof *x, true, err);
}
