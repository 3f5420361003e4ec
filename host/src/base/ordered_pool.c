/*
 * ordered_pool.c — worker pool with in-order delivery (see ordered_pool.h).
 *
 * Each slot cycles FREE -> CLAIMED -> QUEUED -> RUNNING -> DONE -> HELD ->
 * FREE.  Three counters walk the sequence: next_claim (producer), next_run
 * (workers take job next_run, so jobs start oldest first) and next_deliver
 * (consumer).  Job seq always uses slot seq % nslots: the producer waits for
 * that slot to be FREE, which bounds memory and keeps it at most nslots jobs
 * ahead of the consumer.  One mutex guards all state; three condition
 * variables (all on CLOCK_MONOTONIC, for the cancel polling) wake the
 * producer (slot freed, stop), the workers (job queued, shutdown) and the
 * consumer (job done, end of pass, running job finished).
 */
#include "base/ordered_pool.h"

#include "base/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum slot_state { SLOT_FREE, SLOT_CLAIMED, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE, SLOT_HELD };

/* Sequence number of a slot that holds no job of the current pass. */
#define NO_SEQ UINT64_MAX
/* How often a wait looks at the caller's cancel flag. */
#define CANCEL_POLL_NS 20000000L

typedef struct pool_slot {
    enum slot_state state;
    uint64_t seq;
    ooc_error err; /* the job's outcome (err.status OOC_OK: success) */
} pool_slot;

typedef struct worker_arg {
    ooc_ordered_pool *pool;
    int index;
} worker_arg;

struct ooc_ordered_pool {
    ooc_ordered_pool_config cfg;
    pool_slot *slots;

    pthread_mutex_t mu;
    pthread_cond_t claim_cv;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    int sync_ready; /* how many of mu, claim_cv, work_cv, done_cv were initialised */

    pthread_t *workers;
    worker_arg *worker_args;
    int nworkers_started;
    int running;   /* jobs inside process() */
    bool shutdown; /* workers exit */

    atomic_int in_use; /* slots not FREE; written under mu, read lock-free */

    uint64_t next_claim, next_run, next_deliver;
    int claimed;      /* slot claimed and not yet submitted, or -1 */
    bool stopped;     /* claim hands out nothing */
    bool ended;       /* the producer ended the pass ... */
    uint64_t end_seq; /* ... before this job */
    bool finished;    /* the consumer met an error or the end: sticky outcome */
    ooc_error outcome;
};

/* A failing pthread lock/unlock/wait/signal means corrupt state (see the header). */
static void must(int rc)
{
    if (rc != 0)
        abort();
}

static void lock(ooc_ordered_pool *pool) { must(pthread_mutex_lock(&pool->mu)); }
static void unlock(ooc_ordered_pool *pool) { must(pthread_mutex_unlock(&pool->mu)); }

static bool cancelled(const ooc_ordered_pool *pool)
{
    return pool->cfg.cancel && *pool->cfg.cancel;
}

/* Wait on cv (mutex held); with a cancel flag, wake up every CANCEL_POLL_NS to look at it. */
static void wait_on(ooc_ordered_pool *pool, pthread_cond_t *cv)
{
    if (!pool->cfg.cancel) {
        must(pthread_cond_wait(cv, &pool->mu));
        return;
    }
    struct timespec deadline;
    must(clock_gettime(CLOCK_MONOTONIC, &deadline));
    deadline.tv_nsec += CANCEL_POLL_NS;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = pthread_cond_timedwait(cv, &pool->mu, &deadline);
    if (rc != ETIMEDOUT)
        must(rc);
}

static void set_free(ooc_ordered_pool *pool, pool_slot *s)
{
    s->state = SLOT_FREE;
    s->seq = NO_SEQ;
    atomic_fetch_sub_explicit(&pool->in_use, 1, memory_order_relaxed);
}

/* The job workers should start next, or NULL (mutex held). */
static pool_slot *runnable(ooc_ordered_pool *pool)
{
    pool_slot *s = &pool->slots[pool->next_run % (uint64_t)pool->cfg.nslots];
    return s->state == SLOT_QUEUED && s->seq == pool->next_run ? s : NULL;
}

static void *worker_main(void *arg)
{
    const worker_arg *wa = arg;
    ooc_ordered_pool *pool = wa->pool;
    const ooc_ordered_pool_config *cfg = &pool->cfg;
    if (cfg->worker_begin)
        cfg->worker_begin(cfg->ctx, wa->index);

    lock(pool);
    for (;;) {
        pool_slot *s = NULL;
        while (!pool->shutdown && !(s = runnable(pool)))
            must(pthread_cond_wait(&pool->work_cv, &pool->mu));
        if (pool->shutdown)
            break;
        s->state = SLOT_RUNNING;
        pool->next_run++;
        pool->running++;
        uint64_t seq = s->seq;
        bool submitted_ok = s->err.status == OOC_OK;
        unlock(pool);

        ooc_error e;
        ooc_error_clear(&e);
        ooc_status st = OOC_OK;
        if (submitted_ok)
            st = cfg->process(cfg->ctx, wa->index, (int)(s - pool->slots), seq, &e);

        lock(pool);
        pool->running--;
        if (st != OOC_OK) {
            s->err = e;
            s->err.status = st;
        }
        s->state = SLOT_DONE;
        must(pthread_cond_broadcast(&pool->done_cv));
    }
    unlock(pool);
    return NULL;
}

int ooc_ordered_pool_default_threads(int requested)
{
    if (requested > 0)
        return requested;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* A condition variable timed on CLOCK_MONOTONIC. */
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

ooc_status ooc_ordered_pool_create(const ooc_ordered_pool_config *cfg, ooc_ordered_pool **out,
                                   ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    if (cfg->nslots < 1 || cfg->nworkers < 1 || !cfg->process)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG,
                        "worker pool: need nslots >= 1, nworkers >= 1 and a process callback "
                        "(got nslots=%d, nworkers=%d)",
                        cfg->nslots, cfg->nworkers);
    ooc_ordered_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "worker pool: out of memory");
    pool->cfg = *cfg;
    pool->claimed = -1;
    atomic_init(&pool->in_use, 0);
    pool->slots = calloc((size_t)cfg->nslots, sizeof *pool->slots);
    pool->workers = calloc((size_t)cfg->nworkers, sizeof *pool->workers);
    pool->worker_args = calloc((size_t)cfg->nworkers, sizeof *pool->worker_args);
    OOC_FAIL_IF(!pool->slots || !pool->workers || !pool->worker_args, err, OOC_ERR_NOMEM,
                "worker pool: out of memory for %d slots", cfg->nslots);
    for (int i = 0; i < cfg->nslots; i++)
        pool->slots[i].seq = NO_SEQ;

    pthread_cond_t *cvs[] = {&pool->claim_cv, &pool->work_cv, &pool->done_cv};
    if (pthread_mutex_init(&pool->mu, NULL) == 0)
        pool->sync_ready = 1;
    for (int i = 0; i < 3 && pool->sync_ready == i + 1; i++)
        if (init_cond(cvs[i]))
            pool->sync_ready++;
    OOC_FAIL_IF(pool->sync_ready < 4, err, OOC_ERR_NOMEM,
                "worker pool: cannot initialise the mutex and condition variables");

    for (int i = 0; i < cfg->nworkers; i++) {
        pool->worker_args[i] = (worker_arg){pool, i};
        int rc = pthread_create(&pool->workers[i], NULL, worker_main, &pool->worker_args[i]);
        OOC_FAIL_IF(rc != 0, err, OOC_ERR_NOMEM, "worker pool: cannot start worker thread %d: %s",
                    i, strerror(rc));
        pool->nworkers_started++;
    }
    *out = pool;
    pool = NULL;
out:
    ooc_ordered_pool_free(pool);
    return status;
}

ooc_status ooc_ordered_pool_claim(ooc_ordered_pool *pool, bool wait, int *slot, uint64_t *seq,
                                  ooc_error *err)
{
    ooc_status status = OOC_OK;
    *slot = OOC_POOL_NO_SLOT;
    lock(pool);
    OOC_FAIL_IF(pool->claimed >= 0, err, OOC_ERR_INVALID_ARG,
                "worker pool: slot %d is claimed already", pool->claimed);
    const int k = (int)(pool->next_claim % (uint64_t)pool->cfg.nslots);
    pool_slot *s = &pool->slots[k];
    while (wait && !pool->stopped && !pool->ended && !cancelled(pool) && s->state != SLOT_FREE)
        wait_on(pool, &pool->claim_cv);
    OOC_FAIL_IF(cancelled(pool), err, OOC_ERR_INTERRUPTED, "interrupted (cancel flag raised)");
    if (pool->stopped || pool->ended || s->state != SLOT_FREE)
        goto out;
    s->state = SLOT_CLAIMED;
    s->seq = pool->next_claim++;
    ooc_error_clear(&s->err);
    atomic_fetch_add_explicit(&pool->in_use, 1, memory_order_relaxed);
    pool->claimed = k;
    *slot = k;
    if (seq)
        *seq = s->seq;
out:
    unlock(pool);
    return status;
}

void ooc_ordered_pool_submit(ooc_ordered_pool *pool, int slot, ooc_status status,
                             const ooc_error *job_err)
{
    lock(pool);
    if (slot == pool->claimed) {
        pool_slot *s = &pool->slots[slot];
        if (status != OOC_OK) {
            if (job_err)
                s->err = *job_err;
            s->err.status = status;
        }
        s->state = SLOT_QUEUED;
        pool->claimed = -1;
        must(pthread_cond_signal(&pool->work_cv));
    }
    unlock(pool);
}

void ooc_ordered_pool_end(ooc_ordered_pool *pool)
{
    lock(pool);
    if (pool->claimed >= 0) {
        set_free(pool, &pool->slots[pool->claimed]);
        pool->claimed = -1;
        pool->next_claim--;
    }
    pool->ended = true;
    pool->end_seq = pool->next_claim;
    must(pthread_cond_broadcast(&pool->done_cv));
    unlock(pool);
}

/* Record the consumer's sticky outcome (mutex held). */
static void finish(ooc_ordered_pool *pool, const ooc_error *outcome)
{
    pool->finished = true;
    pool->outcome = *outcome;
}

ooc_status ooc_ordered_pool_next(ooc_ordered_pool *pool, bool wait, int *slot, uint64_t *seq,
                                 ooc_error *err)
{
    *slot = OOC_POOL_NO_SLOT;
    lock(pool);
    while (!pool->finished) {
        const uint64_t want = pool->next_deliver;
        const int k = (int)(want % (uint64_t)pool->cfg.nslots);
        pool_slot *s = &pool->slots[k];
        ooc_error e;
        ooc_error_clear(&e);
        if (s->seq == want && s->state == SLOT_DONE) {
            if (s->err.status != OOC_OK) {
                finish(pool, &s->err);
                break;
            }
            s->state = SLOT_HELD;
            pool->next_deliver++;
            *slot = k;
            if (seq)
                *seq = want;
            unlock(pool);
            return OOC_OK;
        }
        if (pool->ended && pool->end_seq == want) {
            finish(pool, &e);
        } else if (cancelled(pool)) {
            ooc_error_set(&e, OOC_ERR_INTERRUPTED, __FILE__, __LINE__,
                          "interrupted (cancel flag raised)");
            finish(pool, &e);
        } else if (s->state == SLOT_HELD) {
            ooc_error_set(&e, OOC_ERR_INVALID_ARG, __FILE__, __LINE__,
                          "ring exhausted: the consumer holds all buffers; release blocks "
                          "before asking for more");
            finish(pool, &e);
        } else if (!wait) {
            *slot = OOC_POOL_NOT_READY;
            unlock(pool);
            return OOC_OK;
        } else {
            wait_on(pool, &pool->done_cv);
        }
    }
    ooc_status st = pool->outcome.status;
    if (st != OOC_OK && err && !(err->status != OOC_OK && err->message[0]))
        *err = pool->outcome; /* the first error wins, as with ooc_error_set */
    unlock(pool);
    return st;
}

void ooc_ordered_pool_release(ooc_ordered_pool *pool, int slot)
{
    if (slot < 0 || slot >= pool->cfg.nslots)
        return;
    lock(pool);
    if (pool->slots[slot].state == SLOT_HELD) {
        set_free(pool, &pool->slots[slot]);
        must(pthread_cond_broadcast(&pool->claim_cv));
    }
    unlock(pool);
}

void ooc_ordered_pool_stop(ooc_ordered_pool *pool)
{
    lock(pool);
    pool->stopped = true;
    must(pthread_cond_broadcast(&pool->claim_cv));
    unlock(pool);
}

void ooc_ordered_pool_reset(ooc_ordered_pool *pool)
{
    lock(pool);
    for (int i = 0; i < pool->cfg.nslots; i++)
        if (pool->slots[i].state == SLOT_QUEUED)
            pool->slots[i].state = SLOT_FREE; /* dropped: no worker takes it now */
    while (pool->running > 0)
        must(pthread_cond_wait(&pool->done_cv, &pool->mu));
    for (int i = 0; i < pool->cfg.nslots; i++) {
        pool->slots[i].state = SLOT_FREE;
        pool->slots[i].seq = NO_SEQ;
    }
    atomic_store_explicit(&pool->in_use, 0, memory_order_relaxed);
    pool->next_claim = pool->next_run = pool->next_deliver = 0;
    pool->claimed = -1;
    pool->stopped = pool->ended = pool->finished = false;
    unlock(pool);
}

int ooc_ordered_pool_in_use(const ooc_ordered_pool *pool)
{
    return atomic_load_explicit(&pool->in_use, memory_order_relaxed);
}

void ooc_ordered_pool_free(ooc_ordered_pool *pool)
{
    if (!pool)
        return;
    if (pool->sync_ready == 4) {
        ooc_ordered_pool_reset(pool);
        lock(pool);
        pool->shutdown = true;
        must(pthread_cond_broadcast(&pool->work_cv));
        unlock(pool);
        for (int i = 0; i < pool->nworkers_started; i++)
            must(pthread_join(pool->workers[i], NULL));
    }
    if (pool->sync_ready > 3)
        pthread_cond_destroy(&pool->done_cv);
    if (pool->sync_ready > 2)
        pthread_cond_destroy(&pool->work_cv);
    if (pool->sync_ready > 1)
        pthread_cond_destroy(&pool->claim_cv);
    if (pool->sync_ready > 0)
        pthread_mutex_destroy(&pool->mu);
    free(pool->slots);
    free(pool->workers);
    free(pool->worker_args);
    free(pool);
}
