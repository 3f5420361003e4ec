/*
 * ring.c — ordered ring of buffers with one producer thread and a worker
 * pool (see ring.h for the contract).
 *
 * Each slot cycles FREE -> PRODUCING -> QUEUED -> RUNNING -> DONE -> HELD ->
 * FREE (or ends in FAILED).  Slot k always carries sequence numbers
 * k, k + nslots, k + 2*nslots, ...: the producer waits for "its" slot to be
 * FREE, which both bounds memory and keeps the producer at most nslots jobs
 * ahead of the consumer.  One mutex guards all state; three condition
 * variables wake the producer (slot freed / stop), the workers (job queued /
 * shutdown) and the consumer (job finished / end of pass / worker idle).
 */
#include "stream/ring.h"

#include "base/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum slot_state {
    SLOT_FREE,
    SLOT_PRODUCING,
    SLOT_QUEUED,
    SLOT_RUNNING,
    SLOT_DONE,
    SLOT_FAILED,
    SLOT_HELD
};

/* Sequence number of a slot that holds no job of the current pass. */
#define NO_SEQ UINT64_MAX
/* How often blocked threads look at the caller's cancel flag. */
#define CANCEL_POLL_NS 20000000L

typedef struct ring_slot {
    void *buffer;
    enum slot_state state;
    uint64_t seq;
    ooc_error err; /* why the job failed (state FAILED) */
} ring_slot;

typedef struct worker_arg {
    ooc_ring *ring;
    int index;
} worker_arg;

struct ooc_ring {
    ooc_ring_config cfg;
    ring_slot *slots;
    int *queue; /* FIFO of QUEUED slots, capacity nslots */
    int queue_head;
    int queue_count;

    pthread_mutex_t mu;
    pthread_cond_t producer_cv;
    pthread_cond_t worker_cv;
    pthread_cond_t consumer_cv;
    bool mu_ready, producer_cv_ready, worker_cv_ready, consumer_cv_ready;

    pthread_t *workers;
    worker_arg *worker_args;
    int nworkers_started;
    int running;   /* jobs inside process() */
    bool shutdown; /* workers exit */

    atomic_int slots_in_use; /* slots not FREE; written under mu, read lock-free */

    pthread_t producer;
    bool producer_started;
    bool stop; /* producer exits */

    bool pass_active;
    uint64_t next_seq; /* next sequence the consumer receives */
    bool ended;        /* producer reported the end ... */
    uint64_t end_seq;  /* ... at this sequence */
    bool finished;     /* consumer saw the end or an error: sticky outcome */
    ooc_error outcome;
};

static bool cancelled(const ooc_ring *ring)
{
    return ring->cfg.cancel && *ring->cfg.cancel;
}

/* Wait on cv; with a cancel flag, wake up periodically to look at it. */
static void wait_polling(ooc_ring *ring, pthread_cond_t *cv)
{
    if (!ring->cfg.cancel) {
        pthread_cond_wait(cv, &ring->mu);
        return;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += CANCEL_POLL_NS;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, &ring->mu, &deadline);
}

static void *producer_main(void *arg)
{
    ooc_ring *ring = arg;
    const ooc_ring_config *cfg = &ring->cfg;
    if (cfg->producer_begin)
        cfg->producer_begin(cfg->ctx);

    pthread_mutex_lock(&ring->mu);
    for (uint64_t seq = 0;; seq++) {
        int slot = (int)(seq % (uint64_t)cfg->nslots);
        ring_slot *s = &ring->slots[slot];
        while (!ring->stop && !cancelled(ring) && s->state != SLOT_FREE)
            wait_polling(ring, &ring->producer_cv);
        if (ring->stop || cancelled(ring))
            break;
        s->state = SLOT_PRODUCING;
        s->seq = seq;
        atomic_fetch_add_explicit(&ring->slots_in_use, 1, memory_order_relaxed);
        pthread_mutex_unlock(&ring->mu);

        bool end = false;
        ooc_error e;
        ooc_error_clear(&e);
        ooc_status st = cfg->produce(cfg->ctx, slot, seq, s->buffer, &end, &e);

        pthread_mutex_lock(&ring->mu);
        if (st != OOC_OK) {
            s->err = e;
            s->err.status = st;
            s->state = SLOT_FAILED;
            pthread_cond_broadcast(&ring->consumer_cv);
            break;
        }
        if (end) {
            s->state = SLOT_FREE;
            s->seq = NO_SEQ;
            atomic_fetch_sub_explicit(&ring->slots_in_use, 1, memory_order_relaxed);
            ring->ended = true;
            ring->end_seq = seq;
            pthread_cond_broadcast(&ring->consumer_cv);
            break;
        }
        if (ring->stop) {
            s->state = SLOT_FREE;
            s->seq = NO_SEQ;
            atomic_fetch_sub_explicit(&ring->slots_in_use, 1, memory_order_relaxed);
            break;
        }
        s->state = SLOT_QUEUED;
        ring->queue[(ring->queue_head + ring->queue_count) % cfg->nslots] = slot;
        ring->queue_count++;
        pthread_cond_signal(&ring->worker_cv);
    }
    pthread_mutex_unlock(&ring->mu);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    ooc_ring *ring = wa->ring;
    const ooc_ring_config *cfg = &ring->cfg;
    if (cfg->worker_begin)
        cfg->worker_begin(cfg->ctx, wa->index);

    pthread_mutex_lock(&ring->mu);
    for (;;) {
        while (!ring->shutdown && ring->queue_count == 0)
            pthread_cond_wait(&ring->worker_cv, &ring->mu);
        if (ring->shutdown)
            break;
        int slot = ring->queue[ring->queue_head];
        ring->queue_head = (ring->queue_head + 1) % cfg->nslots;
        ring->queue_count--;
        ring_slot *s = &ring->slots[slot];
        s->state = SLOT_RUNNING;
        ring->running++;
        uint64_t seq = s->seq;
        pthread_mutex_unlock(&ring->mu);

        ooc_error e;
        ooc_error_clear(&e);
        ooc_status st = cfg->process(cfg->ctx, wa->index, slot, seq, s->buffer, &e);

        pthread_mutex_lock(&ring->mu);
        ring->running--;
        if (st == OOC_OK) {
            s->state = SLOT_DONE;
        } else {
            s->err = e;
            s->err.status = st;
            s->state = SLOT_FAILED;
        }
        pthread_cond_broadcast(&ring->consumer_cv);
    }
    pthread_mutex_unlock(&ring->mu);
    return NULL;
}

int ooc_ring_default_threads(int requested)
{
    if (requested > 0)
        return requested;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static bool init_cond(pthread_cond_t *cv)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return false;
    bool ok =
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_cond_init(cv, &attr) == 0;
    pthread_condattr_destroy(&attr);
    return ok;
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
    atomic_init(&ring->slots_in_use, 0);
    if (!ring->cfg.allocator.alloc)
        ring->cfg.allocator = ooc_default_allocator;
    const int nslots = cfg->nslots;

    ring->slots = calloc((size_t)nslots, sizeof *ring->slots);
    ring->queue = calloc((size_t)nslots, sizeof *ring->queue);
    ring->workers = calloc((size_t)cfg->nworkers, sizeof *ring->workers);
    ring->worker_args = calloc((size_t)cfg->nworkers, sizeof *ring->worker_args);
    OOC_FAIL_IF(!ring->slots || !ring->queue || !ring->workers || !ring->worker_args, err,
                OOC_ERR_NOMEM, "ring: out of memory for %d slots", nslots);
    for (int i = 0; i < nslots; i++) {
        ring->slots[i].seq = NO_SEQ;
        ring->slots[i].buffer =
            ring->cfg.allocator.alloc(cfg->slot_nbytes, ring->cfg.allocator.ctx);
        OOC_FAIL_IF(!ring->slots[i].buffer, err, OOC_ERR_NOMEM,
                    "ring: cannot allocate buffer %d of %d (%zu bytes each)", i + 1, nslots,
                    cfg->slot_nbytes);
    }

    ring->mu_ready = pthread_mutex_init(&ring->mu, NULL) == 0;
    ring->producer_cv_ready = ring->mu_ready && init_cond(&ring->producer_cv);
    ring->worker_cv_ready =
        ring->producer_cv_ready && pthread_cond_init(&ring->worker_cv, NULL) == 0;
    ring->consumer_cv_ready = ring->worker_cv_ready && init_cond(&ring->consumer_cv);
    OOC_FAIL_IF(!ring->consumer_cv_ready, err, OOC_ERR_NOMEM,
                "ring: cannot initialise mutex/condition variables");

    for (int i = 0; i < cfg->nworkers; i++) {
        ring->worker_args[i].ring = ring;
        ring->worker_args[i].index = i;
        int rc = pthread_create(&ring->workers[i], NULL, worker_main, &ring->worker_args[i]);
        OOC_FAIL_IF(rc != 0, err, OOC_ERR_NOMEM, "ring: cannot start worker thread %d: %s", i,
                    strerror(rc));
        ring->nworkers_started++;
    }
    *out = ring;
    ring = NULL;
out:
    ooc_ring_free(ring);
    return status;
}

void ooc_ring_stop(ooc_ring *ring)
{
    if (!ring)
        return;
    pthread_mutex_lock(&ring->mu);
    if (!ring->pass_active) {
        pthread_mutex_unlock(&ring->mu);
        return;
    }
    ring->stop = true;
    pthread_cond_broadcast(&ring->producer_cv);
    pthread_mutex_unlock(&ring->mu);

    if (ring->producer_started) {
        pthread_join(ring->producer, NULL);
        ring->producer_started = false;
    }

    pthread_mutex_lock(&ring->mu);
    ring->queue_count = 0;
    ring->queue_head = 0;
    while (ring->running > 0)
        pthread_cond_wait(&ring->consumer_cv, &ring->mu);
    for (int i = 0; i < ring->cfg.nslots; i++) {
        ring->slots[i].state = SLOT_FREE;
        ring->slots[i].seq = NO_SEQ;
    }
    atomic_store_explicit(&ring->slots_in_use, 0, memory_order_relaxed);
    ring->stop = false;
    ring->pass_active = false;
    ring->ended = false;
    ring->finished = false;
    ring->next_seq = 0;
    pthread_mutex_unlock(&ring->mu);
}

ooc_status ooc_ring_start(ooc_ring *ring, ooc_error *err)
{
    ooc_ring_stop(ring);
    pthread_mutex_lock(&ring->mu);
    ring->pass_active = true;
    ooc_error_clear(&ring->outcome);
    pthread_mutex_unlock(&ring->mu);
    int rc = pthread_create(&ring->producer, NULL, producer_main, ring);
    if (rc != 0) {
        pthread_mutex_lock(&ring->mu);
        ring->pass_active = false;
        pthread_mutex_unlock(&ring->mu);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "ring: cannot start the producer thread: %s",
                        strerror(rc));
    }
    ring->producer_started = true;
    return OOC_OK;
}

/* Record the pass's final outcome (called with the mutex held). */
static void finish(ooc_ring *ring, ooc_status status, const char *message)
{
    ring->finished = true;
    ring->outcome.status = status;
    snprintf(ring->outcome.message, sizeof ring->outcome.message, "%s", message);
}

ooc_status ooc_ring_next(ooc_ring *ring, int *slot, uint64_t *seq, ooc_error *err)
{
    *slot = -1;
    pthread_mutex_lock(&ring->mu);
    if (!ring->pass_active) {
        pthread_mutex_unlock(&ring->mu);
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "ring: next() called before start()");
    }
    while (!ring->finished) {
        const uint64_t want = ring->next_seq;
        const int k = (int)(want % (uint64_t)ring->cfg.nslots);
        ring_slot *s = &ring->slots[k];
        if (s->seq == want && s->state == SLOT_DONE) {
            s->state = SLOT_HELD;
            ring->next_seq++;
            *slot = k;
            if (seq)
                *seq = want;
            pthread_mutex_unlock(&ring->mu);
            return OOC_OK;
        }
        if (s->seq == want && s->state == SLOT_FAILED)
            finish(ring, s->err.status, s->err.message);
        else if (ring->ended && ring->end_seq == want)
            finish(ring, OOC_OK, "");
        else if (cancelled(ring))
            finish(ring, OOC_ERR_INTERRUPTED, "interrupted (cancel flag raised)");
        else if (s->state == SLOT_HELD)
            finish(ring, OOC_ERR_INVALID_ARG,
                   "ring exhausted: the consumer holds all buffers; release blocks before "
                   "asking for more");
        else
            wait_polling(ring, &ring->consumer_cv);
    }
    ooc_status st = ring->outcome.status;
    if (st != OOC_OK && err && !(err->status != OOC_OK && err->message[0])) {
        err->status = st;
        memcpy(err->message, ring->outcome.message, sizeof err->message);
    }
    pthread_mutex_unlock(&ring->mu);
    return st;
}

void ooc_ring_release(ooc_ring *ring, int slot)
{
    if (slot < 0 || slot >= ring->cfg.nslots)
        return;
    pthread_mutex_lock(&ring->mu);
    if (ring->slots[slot].state == SLOT_HELD) {
        ring->slots[slot].state = SLOT_FREE;
        atomic_fetch_sub_explicit(&ring->slots_in_use, 1, memory_order_relaxed);
        pthread_cond_broadcast(&ring->producer_cv);
    }
    pthread_mutex_unlock(&ring->mu);
}

int ooc_ring_slots_in_use(const ooc_ring *ring)
{
    return atomic_load_explicit(&ring->slots_in_use, memory_order_relaxed);
}

void *ooc_ring_buffer(const ooc_ring *ring, int slot)
{
    return ring->slots[slot].buffer;
}

void ooc_ring_free(ooc_ring *ring)
{
    if (!ring)
        return;
    if (ring->consumer_cv_ready) {
        ooc_ring_stop(ring);
        pthread_mutex_lock(&ring->mu);
        ring->shutdown = true;
        pthread_cond_broadcast(&ring->worker_cv);
        pthread_mutex_unlock(&ring->mu);
        for (int i = 0; i < ring->nworkers_started; i++)
            pthread_join(ring->workers[i], NULL);
    }
    if (ring->consumer_cv_ready)
        pthread_cond_destroy(&ring->consumer_cv);
    if (ring->worker_cv_ready)
        pthread_cond_destroy(&ring->worker_cv);
    if (ring->producer_cv_ready)
        pthread_cond_destroy(&ring->producer_cv);
    if (ring->mu_ready)
        pthread_mutex_destroy(&ring->mu);
    if (ring->slots) {
        for (int i = 0; i < ring->cfg.nslots; i++)
            if (ring->slots[i].buffer)
                ring->cfg.allocator.free(ring->slots[i].buffer, ring->cfg.allocator.ctx);
    }
    free(ring->slots);
    free(ring->queue);
    free(ring->workers);
    free(ring->worker_args);
    free(ring);
}
