/*
 * ring.c — ordered ring of buffers with one producer thread and a worker
 * pool (see ring.h for the contract).
 *
 * The ordering, the workers, the error delivery and the cancel polling are
 * the ordered pool's (base/ordered_pool.h): slot k of the ring is slot k of
 * the pool.  The ring adds the buffers and the producer thread, which claims
 * slots in sequence, runs produce and submits them.
 */
#include "stream/ring.h"

#include "base/error.h"
#include "base/ordered_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ooc_ring {
    ooc_ring_config cfg;
    ooc_ordered_pool *pool;
    void **buffers;

    pthread_t producer;
    bool producer_started;
    bool pass_active; /* start was called and no stop since (consumer thread only) */
};

static void *producer_main(void *arg)
{
    ooc_ring *ring = arg;
    const ooc_ring_config *cfg = &ring->cfg;
    if (cfg->producer_begin)
        cfg->producer_begin(cfg->ctx);
    for (;;) {
        int slot;
        uint64_t seq;
        ooc_error e;
        ooc_error_clear(&e);
        /* A cancel or a stop ends the producer; the consumer sees the cancel itself. */
        if (ooc_ordered_pool_claim(ring->pool, true, &slot, &seq, &e) != OOC_OK || slot < 0)
            break;
        bool end = false;
        ooc_status st = cfg->produce(cfg->ctx, slot, seq, ring->buffers[slot], &end, &e);
        if (st == OOC_OK && end) {
            ooc_ordered_pool_end(ring->pool);
            break;
        }
        ooc_ordered_pool_submit(ring->pool, slot, st, &e);
        if (st != OOC_OK)
            break;
    }
    return NULL;
}

/* The pool's callbacks: the ring's, with the slot's buffer. */
static ooc_status process_slot(void *ctx, int worker, int slot, uint64_t seq, ooc_error *err)
{
    ooc_ring *ring = ctx;
    return ring->cfg.process(ring->cfg.ctx, worker, slot, seq, ring->buffers[slot], err);
}

static void begin_worker(void *ctx, int worker)
{
    ooc_ring *ring = ctx;
    if (ring->cfg.worker_begin)
        ring->cfg.worker_begin(ring->cfg.ctx, worker);
}

int ooc_ring_default_threads(int requested)
{
    return ooc_ordered_pool_default_threads(requested);
}

ooc_status ooc_ring_create(const ooc_ring_config *cfg, ooc_ring **out, ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    if (cfg->nslots < 1 || cfg->nworkers < 1 || cfg->slot_nbytes == 0 || !cfg->produce ||
        !cfg->process)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "ring: need nslots >= 1, nworkers >= 1, slot_nbytes > 0 and both "
                        "callbacks (got nslots=%d, nworkers=%d, slot_nbytes=%zu)",
                        cfg->nslots, cfg->nworkers, cfg->slot_nbytes);

    ooc_ring *ring = calloc(1, sizeof *ring);
    if (!ring)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "ring: out of memory");
    ring->cfg = *cfg;
    if (!ring->cfg.allocator.alloc)
        ring->cfg.allocator = ooc_default_allocator;
    const int nslots = cfg->nslots;
    ring->buffers = calloc((size_t)nslots, sizeof *ring->buffers);
    OOC_FAIL_IF(!ring->buffers, err, OOC_ERR_NOMEM, "ring: out of memory for %d slots", nslots);
    for (int i = 0; i < nslots; i++) {
        ring->buffers[i] = ring->cfg.allocator.alloc(cfg->slot_nbytes, ring->cfg.allocator.ctx);
        OOC_FAIL_IF(!ring->buffers[i], err, OOC_ERR_NOMEM,
                    "ring: cannot allocate buffer %d of %d (%zu bytes each)", i + 1, nslots,
                    cfg->slot_nbytes);
    }
    ooc_ordered_pool_config pc = {
        .nslots = nslots,
        .nworkers = cfg->nworkers,
        .cancel = cfg->cancel,
        .ctx = ring,
        .worker_begin = begin_worker,
        .process = process_slot,
    };
    OOC_CHECK(ooc_ordered_pool_create(&pc, &ring->pool, err));
    *out = ring;
    ring = NULL;
out:
    ooc_ring_free(ring);
    return status;
}

void ooc_ring_stop(ooc_ring *ring)
{
    if (!ring || !ring->pass_active)
        return;
    ooc_ordered_pool_stop(ring->pool);
    if (ring->producer_started) {
        if (pthread_join(ring->producer, NULL) != 0)
            abort(); /* the producer is ours and joined once: only corrupt state fails */
        ring->producer_started = false;
    }
    ooc_ordered_pool_reset(ring->pool);
    ring->pass_active = false;
}

ooc_status ooc_ring_start(ooc_ring *ring, ooc_error *err)
{
    ooc_ring_stop(ring);
    int rc = pthread_create(&ring->producer, NULL, producer_main, ring);
    if (rc != 0)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "ring: cannot start the producer thread: %s",
                        strerror(rc));
    ring->producer_started = true;
    ring->pass_active = true;
    return OOC_OK;
}

ooc_status ooc_ring_next(ooc_ring *ring, int *slot, uint64_t *seq, ooc_error *err)
{
    *slot = -1;
    if (!ring->pass_active)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ring: next() called before start()");
    ooc_status st = ooc_ordered_pool_next(ring->pool, true, slot, seq, err);
    if (*slot < 0)
        *slot = -1;
    return st;
}

void ooc_ring_release(ooc_ring *ring, int slot)
{
    ooc_ordered_pool_release(ring->pool, slot);
}

int ooc_ring_slots_in_use(const ooc_ring *ring)
{
    return ooc_ordered_pool_in_use(ring->pool);
}

void *ooc_ring_buffer(const ooc_ring *ring, int slot)
{
    return ring->buffers[slot];
}

void ooc_ring_free(ooc_ring *ring)
{
    if (!ring)
        return;
    if (ring->pool) {
        ooc_ring_stop(ring);
        ooc_ordered_pool_free(ring->pool);
    }
    if (ring->buffers)
        for (int i = 0; i < ring->cfg.nslots; i++)
            if (ring->buffers[i])
                ring->cfg.allocator.free(ring->buffers[i], ring->cfg.allocator.ctx);
    free(ring->buffers);
    free(ring);
}
