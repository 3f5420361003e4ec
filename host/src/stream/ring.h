/*
 * ring.h — an ordered ring of buffers filled by one producer thread and a
 * pool of worker threads, consumed strictly in sequence order.
 *
 * The ring owns `nslots` buffers of `slot_nbytes` bytes (allocated with the
 * caller's ooc_allocator, e.g. pinned memory for a GPU) and three kinds of
 * threads:
 *
 *   producer (one thread, started by ooc_ring_start):
 *       for seq = 0, 1, 2, ...: waits until slot seq % nslots is free, then
 *       calls produce(ctx, slot, seq, ...) which prepares the job for that
 *       slot (e.g. reads raw HDF5 chunks; only this thread runs produce, so
 *       a library that must not be called concurrently lives here) and
 *       either queues it or reports the end of the pass.
 *   workers (nworkers threads, alive for the ring's lifetime):
 *       take queued slots in FIFO order and call process(ctx, worker, slot,
 *       seq, buffer, err) — the expensive part (inflate, parse), in parallel.
 *   consumer (the caller's thread):
 *       ooc_ring_next() returns slots in sequence order 0, 1, 2, ... as soon
 *       as each is processed; ooc_ring_release() makes a slot reusable.
 *
 * Job data: the ring knows nothing about a job.  Callers keep their own
 * per-slot state in an array indexed by slot; the ring's locking guarantees
 * that what produce wrote for a slot is visible to process, and what process
 * wrote is visible to the consumer that receives the slot.
 *
 * Errors: a failing produce or process stores its ooc_error with the slot.
 * The consumer receives the blocks before it in order and then that error
 * from ooc_ring_next (errors are delivered in sequence order, so the result
 * does not depend on thread timing).  After an error or the end of a pass,
 * ooc_ring_next keeps returning the same outcome until ooc_ring_start.
 *
 * Cancellation: if `cancel` is non-NULL, the producer and ooc_ring_next poll
 * it (every ~20 ms while waiting); once it is non-zero ooc_ring_next returns
 * OOC_ERR_INTERRUPTED.
 *
 * Memory does not grow with the number of jobs: at most nslots jobs exist.
 * All functions except the callbacks are called from the consumer thread.
 */
#ifndef OOC_RING_H
#define OOC_RING_H

#include "oocsolve.h"
#include "stream/source.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ooc_ring ooc_ring;

/* Callbacks and sizes of a ring.  ctx is passed to every callback. */
typedef struct ooc_ring_config {
    int nslots;                 /* buffers in the ring (>= 1) */
    int nworkers;               /* worker threads (>= 1) */
    size_t slot_nbytes;         /* bytes per buffer (> 0) */
    ooc_allocator allocator;    /* buffer allocator; zeroed: ooc_default_allocator */
    const volatile int *cancel; /* may be NULL */
    void *ctx;

    /* Optional (may be NULL): runs first on the producer thread of every
     * pass, e.g. to set thread-local library state. */
    void (*producer_begin)(void *ctx);
    /* Optional (may be NULL): runs once on each worker thread when it
     * starts (inside ooc_ring_create), e.g. to name the thread in a trace. */
    void (*worker_begin)(void *ctx, int worker);
    /* Producer: prepare job `seq` for `slot` (its buffer given) and return
     * OOC_OK, or set *end = true when there are no more jobs (the slot is
     * then left unused).  A non-OK status ends the pass with that error. */
    ooc_status (*produce)(void *ctx, int slot, uint64_t seq, void *buffer, bool *end,
                          ooc_error *err);
    /* Worker `worker` (0..nworkers-1; at most one call per worker at a time,
     * so per-worker scratch state may be indexed by it): do job `seq` in
     * `slot`.  A non-OK status is delivered to the consumer at `seq`. */
    ooc_status (*process)(void *ctx, int worker, int slot, uint64_t seq, void *buffer,
                          ooc_error *err);
} ooc_ring_config;

/* Allocate the buffers and start the workers (idle until ooc_ring_start).
 * *out is NULL on failure.  Errors: OOC_ERR_INVALID_ARG (bad sizes),
 * OOC_ERR_NOMEM (buffers, threads). */
ooc_status ooc_ring_create(const ooc_ring_config *cfg, ooc_ring **out, ooc_error *err);

/* Begin a pass at seq 0: stops any pass in progress (as ooc_ring_stop) and
 * starts the producer thread.  Slots held by the consumer are taken back, so
 * the caller must not use them afterwards.  Errors: OOC_ERR_NOMEM (thread). */
ooc_status ooc_ring_start(ooc_ring *ring, ooc_error *err);

/* The next slot in sequence order: OOC_OK with *slot >= 0 (its buffer from
 * ooc_ring_buffer, its number in *seq, may be NULL), or OOC_OK with
 * *slot = -1 at the end of the pass.  Blocks while the slot is in flight.
 * Errors: the status of the failed produce/process, OOC_ERR_INTERRUPTED,
 * OOC_ERR_INVALID_ARG when no pass was started or the ring is exhausted
 * (all slots held by the consumer). */
ooc_status ooc_ring_next(ooc_ring *ring, int *slot, uint64_t *seq, ooc_error *err);

/* Make a slot returned by ooc_ring_next reusable by the producer. */
void ooc_ring_release(ooc_ring *ring, int slot);

/* Buffers in use right now: slots being produced, queued, processed, done
 * or held by the consumer (0..nslots).  A relaxed atomic read, callable from
 * any thread (e.g. a trace counter sampler) while the ring lives. */
int ooc_ring_slots_in_use(const ooc_ring *ring);

/* The buffer of a slot (slot_nbytes bytes, owned by the ring). */
void *ooc_ring_buffer(const ooc_ring *ring, int slot);

/* Stop the current pass, if any: the producer finishes its current produce
 * call and exits, queued jobs are dropped, running jobs complete; then every
 * slot is free.  No-op when no pass runs. */
void ooc_ring_stop(ooc_ring *ring);

/* Stop, join all threads, free the buffers.  NULL is a no-op. */
void ooc_ring_free(ooc_ring *ring);

/* Worker threads to use for a requested count: n > 0 as given, otherwise
 * the number of online CPUs (at least 1). */
int ooc_ring_default_threads(int requested);

#endif
