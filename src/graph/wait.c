/* Cancellable sleep for throttle waits and retry backoff (see wait.h). */
#include "config.h"

#include "graph/wait.h"
#include "util/err.h"
#include "util/timeutil.h"

#include <errno.h>
#include <time.h>

int wait_cancellable(double seconds, const atomic_int *cancel)
{
	double end = time_mono_s() + seconds, left;

	for (;;) {
		struct timespec ts;

		if (wait_cancelled(cancel))
			return CV_ECANCELLED;
		left = end - time_mono_s();
		if (left <= 0)
			return 0;
		if (left > WAIT_SLICE_S)
			left = WAIT_SLICE_S;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}
