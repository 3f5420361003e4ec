/*
 * progress.h — a live one-line status for long runs.
 *
 * The CLI creates the reporter with the stream to write to (stderr; never
 * stdout) and passes the pointer into the library through its options.
 * Library code only ever calls the NULL-safe, lock-free
 *     ooc_progress_add(p, rows, bytes);
 * (and ooc_progress_phase at the start of a pass), so the library itself
 * never prints.  A reporter thread owned by the object prints every
 * interval: on a terminal the line is redrawn in place with '\r'
 * ("ingest: 1,250,000 rows  96.0 MB of 410 MB (23%)  48.1 MB/s  0:02  ETA 0:07"),
 * otherwise a plain line is appended at a slower pace.  ooc_progress_finish
 * prints the final line ("... done in 0:08").
 *
 * The public API (oocsolve.h) declares the type, ooc_progress_free, and a
 * silent counter for bindings (ooc_progress_counter_create: an OFF reporter)
 * with ooc_progress_read, a locked snapshot of phase, counts and totals.
 */
#ifndef OOC_PROGRESS_H
#define OOC_PROGRESS_H

#include "oocsolve.h"

#include <stdint.h>
#include <stdio.h>

typedef enum ooc_progress_mode {
    OOC_PROGRESS_AUTO = 0, /* on when the stream is a terminal */
    OOC_PROGRESS_ON,
    OOC_PROGRESS_OFF
} ooc_progress_mode;

typedef struct ooc_progress_options {
    FILE *to;               /* where to print (required unless mode is OFF) */
    ooc_progress_mode mode;
    const char *label;      /* line prefix, e.g. "ingest"; copied; NULL: none */
    unsigned interval_ms;   /* 0: 500 on a terminal, 5000 otherwise */
} ooc_progress_options;

/* Create a reporter and, unless it resolves to off, start its thread.
 * An off reporter still counts (ooc_progress_get works) but prints nothing.
 * Errors: OOC_ERR_INVALID_ARG (no stream), OOC_ERR_NOMEM (memory, thread). */
ooc_status ooc_progress_create(const ooc_progress_options *opts, ooc_progress **out,
                               ooc_error *err);

/* Start a new phase: label it ("scanning levels", "writing"), reset the
 * done counters and the rate clock, and set the totals if known (0:
 * unknown; the ETA and percentage need total_bytes or total_rows).
 * `name` is copied.  NULL p is a no-op. */
void ooc_progress_phase(ooc_progress *p, const char *name, uint64_t total_rows,
                        uint64_t total_bytes);

/* Count work done.  Thread-safe, lock-free; NULL p is a no-op. */
void ooc_progress_add(ooc_progress *p, uint64_t rows, uint64_t bytes);

/* Current counts of the phase (for tests and final statistics). */
void ooc_progress_get(const ooc_progress *p, uint64_t *rows, uint64_t *bytes);

/* Format the status line as the reporter thread would print it now
 * (without '\r' or newline) into buf.  Thread-safe. */
void ooc_progress_format(ooc_progress *p, char *buf, size_t size);

/* Stop the thread and print the final line (if printing is on); `ok`
 * false prints "stopped" instead of "done".  Idempotent; NULL is a no-op. */
void ooc_progress_finish(ooc_progress *p, bool ok);

#endif
