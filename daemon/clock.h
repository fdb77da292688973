/*
 * clock.h - monotonic time in seconds and deadlines for poll(2).
 */
#ifndef SS_CLOCK_H
#define SS_CLOCK_H

#include <limits.h>
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

#endif /* SS_CLOCK_H */
