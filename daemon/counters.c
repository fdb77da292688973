/*
 * counters.c - a server's counters in shared memory.
 */
#include <sys/mman.h>

#include "counters.h"

struct counters *
counters_new(void)
{
	struct counters *c;

	/* Anonymous shared memory comes zeroed: every counter at 0. */
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	c->refs = 1;
	return c;
}

struct counters *
counters_ref(struct counters *c)
{
	c->refs++;
	return c;
}

void
counters_unref(struct counters *c)
{
	if (c != NULL && --c->refs == 0)
		munmap(c, sizeof(*c));
}

unsigned long long
counters_bound_us(unsigned i)
{
	return COUNTERS_FIRST_BOUND_US << i;
}

static unsigned
counters_bucket(unsigned long long us)
{
	unsigned i;

	for (i = 0; i < COUNTERS_BUCKETS; i++)
		if (us <= counters_bound_us(i))
			return i;
	return COUNTERS_BUCKETS;
}

void
counters_end(struct counters *c, enum counters_end how, size_t in,
    size_t out, double seconds)
{
	unsigned long long us = seconds > 0 ?
	    (unsigned long long)(seconds * 1e6) : 0;

	atomic_fetch_add_explicit(&c->ended[how], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->bytes_in, in, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->bytes_out, out, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->latency[counters_bucket(us)], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&c->latency_sum_us, us,
	    memory_order_relaxed);
	atomic_fetch_sub_explicit(&c->in_flight, 1, memory_order_relaxed);
}

unsigned long long
counters_requests(const struct counters *c)
{
	unsigned long long n = atomic_load(&c->in_flight);
	unsigned i;

	for (i = 0; i < COUNTERS_NENDS; i++)
		n += atomic_load(&c->ended[i]);
	return n;
}

unsigned long long
counters_refusals(const struct counters *c)
{
	unsigned long long n = 0;
	unsigned i;

	for (i = 0; i < COUNTERS_NREFUSALS; i++)
		n += atomic_load(&c->refused[i]);
	return n;
}
