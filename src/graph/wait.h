/*
 * Sleeping that a cancel flag can cut short: throttle waits and retry
 * backoffs are slept in short slices so a job stops promptly when the user
 * cancels it from another thread.
 */
#ifndef CV_GRAPH_WAIT_H
#define CV_GRAPH_WAIT_H

#define WAIT_SLICE_S 0.05

/* Sleep `seconds` (<= 0: not at all). Returns 0, or CV_ECANCELLED as soon as
 * *cancel becomes non-zero (cancel may be NULL). */
int wait_cancellable(double seconds, const volatile int *cancel);

#endif
