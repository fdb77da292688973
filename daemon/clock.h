/*
 * clock.h - monotonic time in seconds, deadlines for poll(2) and timeouts
 * for sockets.
 */
#ifndef SS_CLOCK_H
#define SS_CLOCK_H

#include <limits.h>
#include <sys/time.h>
#include <time.h>

static inline double
clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds until deadline for poll(2), rounded up; -1 when deadline <= 0. */
static inline int
clock_poll_ms(double deadline)
{
	double left;

	if (deadline <= 0)
		return -1;
	left = (deadline - clock_now()) * 1000.0;
	if (left <= 0)
		return 0;
	if (left >= INT_MAX)
		return INT_MAX;
	return (int)left + 1;
}

/*
 * `seconds` as an SO_RCVTIMEO or SO_SNDTIMEO value; never zero, which
 * would mean no timeout at all.
 */
static inline struct timeval
clock_timeval(double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1;
	return tv;
}

#endif /* SS_CLOCK_H */
