/*
 * Sleeping that a cancel flag can cut short: throttle waits and retry
 * backoffs are slept in short slices so a job stops promptly when the user
 * cancels it from another thread.
 */
#ifndef CV_GRAPH_WAIT_H
#define CV_GRAPH_WAIT_H

#include <stddef.h>

#define WAIT_SLICE_S 0.05

/* Has the caller's cancel flag been raised? Read atomically, so a flag set
 * from another thread (ideally with __atomic_store_n) is not a data race. */
static inline int wait_cancelled(const volatile int *flag)
{
	return flag != NULL && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
}

/* Sleep `seconds` (<= 0: not at all). Returns 0, or CV_ECANCELLED as soon as
 * *cancel becomes non-zero (cancel may be NULL). */
int wait_cancellable(double seconds, const volatile int *cancel);

#endif
