/*
 * ordered_pool.h — a pool of worker threads that runs jobs out of order and
 * hands their results back strictly in submission order.
 *
 * The pool has `nslots` job slots and `nworkers` threads.  Job number seq
 * (0, 1, 2, ... within a pass) always lives in slot seq % nslots, so at most
 * nslots jobs exist at once and memory is bounded.  The pool knows nothing of
 * a job's data: callers keep their own per-slot state (buffers, inputs,
 * results) in arrays indexed by slot.
 *
 * Roles (each a single thread at a time; producer and consumer may be the
 * same thread, then using the non-waiting forms):
 *   producer:  ooc_ordered_pool_claim() the slot of the next job, fill it,
 *              ooc_ordered_pool_submit() it; ooc_ordered_pool_end() when there
 *              are no more jobs in this pass.  At most one slot is claimed at
 *              a time.
 *   workers:   call process(ctx, worker, slot, seq, err) on submitted jobs,
 *              oldest first, several at once.  `worker` is 0..nworkers-1 and
 *              a worker runs one job at a time, so per-worker scratch state
 *              may be indexed by it.
 *   consumer:  ooc_ordered_pool_next() returns processed jobs in sequence
 *              order; the consumer holds each until ooc_ordered_pool_release(),
 *              which frees its slot for a later job.
 *
 * Ownership: the pool owns its threads and its bookkeeping only; a slot's
 * data belongs to whoever holds the slot (producer: claimed; worker: while
 * process runs; consumer: from next to release).  The pool's lock orders
 * these hand-overs, so what the producer wrote is visible to process, and
 * what process wrote is visible to the consumer.
 *
 * Errors: a failing process, or a job the producer submits with a failed
 * status, is delivered by ooc_ordered_pool_next at its place in the sequence:
 * the consumer first receives every job before it, so the outcome does not
 * depend on thread timing.  After an error, the end of the pass, a cancel or
 * an exhausted ring, ooc_ordered_pool_next keeps returning that outcome until
 * ooc_ordered_pool_reset.
 *
 * Cancellation: with a `cancel` flag, waits in claim and next wake every
 * 20 ms (a CLOCK_MONOTONIC timed wait) to look at it; once it is non-zero
 * they return OOC_ERR_INTERRUPTED.  Jobs already running are not interrupted.
 *
 * Shutdown: ooc_ordered_pool_stop (any thread) makes claim return no slot, so
 * a producer thread can be told to exit; ooc_ordered_pool_reset drops queued
 * jobs, waits for running ones and starts a new pass at seq 0;
 * ooc_ordered_pool_free joins the workers.
 *
 * A pthread lock, unlock, wait or signal that fails means the pool's memory
 * is corrupt; the pool then aborts rather than run unsynchronised.
 */
#ifndef OOC_ORDERED_POOL_H
#define OOC_ORDERED_POOL_H

#include "oocsolve.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ooc_ordered_pool ooc_ordered_pool;

/* Slot numbers ooc_ordered_pool_claim and _next return instead of a slot. */
enum {
    OOC_POOL_NO_SLOT = -1,   /* claim: slot busy (not waiting), pool stopped or pass ended;
                                next: the end of the pass */
    OOC_POOL_NOT_READY = -2, /* next without waiting: the next job is not processed yet */
};

typedef struct ooc_ordered_pool_config {
    int nslots;                 /* jobs in flight at most (>= 1) */
    int nworkers;               /* worker threads (>= 1) */
    const volatile int *cancel; /* may be NULL */
    void *ctx;                  /* passed to the callbacks */
    /* Optional (may be NULL): runs once on each worker thread as it starts,
     * e.g. to name the thread in a trace. */
    void (*worker_begin)(void *ctx, int worker);
    /* The job in `slot`, number `seq`, on worker `worker`.  A non-OK status
     * (with err filled) is delivered to the consumer at `seq`. */
    ooc_status (*process)(void *ctx, int worker, int slot, uint64_t seq, ooc_error *err);
} ooc_ordered_pool_config;

/* Create the pool and start its workers (idle until a job is submitted).
 * *out is NULL on failure.  Errors: OOC_ERR_INVALID_ARG (counts, no process
 * callback), OOC_ERR_NOMEM (memory, threads, mutex or condition variables). */
ooc_status ooc_ordered_pool_create(const ooc_ordered_pool_config *cfg, ooc_ordered_pool **out,
                                   ooc_error *err);

/* Producer: claim the slot of the next job, seq in *seq (may be NULL).  With
 * `wait`, blocks until that slot is free; without, *slot is OOC_POOL_NO_SLOT
 * when it is busy.  *slot is also OOC_POOL_NO_SLOT once the pool is stopped or
 * the pass ended.  Errors: OOC_ERR_INTERRUPTED (cancel flag),
 * OOC_ERR_INVALID_ARG (a slot is already claimed). */
ooc_status ooc_ordered_pool_claim(ooc_ordered_pool *pool, bool wait, int *slot, uint64_t *seq,
                                  ooc_error *err);

/* Producer: hand the claimed slot to the workers.  With status != OOC_OK the
 * job is not processed: it fails with that status and *job_err (may be NULL),
 * delivered in order like a failed process. */
void ooc_ordered_pool_submit(ooc_ordered_pool *pool, int slot, ooc_status status,
                             const ooc_error *job_err);

/* Producer: no more jobs in this pass; a claimed slot goes back unused.  The
 * consumer receives the end after the jobs submitted before. */
void ooc_ordered_pool_end(ooc_ordered_pool *pool);

/* Consumer: the next job in sequence order.  *slot is the job's slot (its
 * number in *seq, which may be NULL; the consumer holds it until release),
 * OOC_POOL_NO_SLOT at the end of the pass, or, without `wait`,
 * OOC_POOL_NOT_READY while the job is not processed yet.  With `wait`, blocks
 * until one of those (a job never submitted is waited for).  Errors: the
 * failed job's status and error, OOC_ERR_INTERRUPTED (cancel flag),
 * OOC_ERR_INVALID_ARG when the next job's slot is still held by the consumer
 * (the ring is exhausted). */
ooc_status ooc_ordered_pool_next(ooc_ordered_pool *pool, bool wait, int *slot, uint64_t *seq,
                                 ooc_error *err);

/* Consumer: give back a slot returned by next.  Other values are ignored. */
void ooc_ordered_pool_release(ooc_ordered_pool *pool, int slot);

/* Any thread: claim returns OOC_POOL_NO_SLOT (waking a waiting producer)
 * until ooc_ordered_pool_reset. */
void ooc_ordered_pool_stop(ooc_ordered_pool *pool);

/* Owner, with no thread inside claim, submit or next: drop queued jobs, wait
 * for running ones, free every slot, and begin a new pass at seq 0 (clears
 * the end, the stop and the consumer's outcome). */
void ooc_ordered_pool_reset(ooc_ordered_pool *pool);

/* Slots not free (claimed, queued, running, processed or held): 0..nslots.
 * A relaxed atomic read, callable from any thread while the pool lives. */
int ooc_ordered_pool_in_use(const ooc_ordered_pool *pool);

/* Reset, stop and join the workers, free the pool.  NULL is a no-op. */
void ooc_ordered_pool_free(ooc_ordered_pool *pool);

/* Worker threads for a requested count: n > 0 as given, otherwise the number
 * of online CPUs (at least 1). */
int ooc_ordered_pool_default_threads(int requested);

#endif
