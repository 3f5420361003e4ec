/*
 * clock.h — the monotonic clock (CLOCK_MONOTONIC) the library and the CLI
 * time their work with: elapsed times, rates, trace timestamps.  The origin
 * is arbitrary; only differences mean something.  Being CLOCK_MONOTONIC, a
 * value also serves as a deadline for a condition variable whose clock
 * attribute is CLOCK_MONOTONIC (the progress and trace sampler threads).
 */
#ifndef OOC_CLOCK_H
#define OOC_CLOCK_H

#include <stdint.h>

/* The monotonic clock now, in nanoseconds. */
int64_t ooc_clock_ns(void);

/* The monotonic clock now, in seconds. */
double ooc_clock_seconds(void);

#endif
