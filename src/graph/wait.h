/*
 * Sleeping that a cancel flag can cut short: throttle waits and retry
 * backoffs are slept in short slices so a job stops promptly when the user
 * cancels it from another thread.
 */
#ifndef CV_GRAPH_WAIT_H
#define CV_GRAPH_WAIT_H

#include <stdatomic.h>
#include <stddef.h>

#define WAIT_SLICE_S 0.05

/* Has the caller's cancel flag been raised (by another thread, or a signal
 * handler: a lock-free atomic store is async-signal-safe)? */
static inline int wait_cancelled(const atomic_int *flag)
{
	return flag != NULL && atomic_load_explicit(flag, memory_order_relaxed) != 0;
}

/* Sleep `seconds` (<= 0: not at all). Returns 0, or CV_ECANCELLED as soon as
 * *cancel becomes non-zero (cancel may be NULL). */
int wait_cancellable(double seconds, const atomic_int *cancel);

#endif
