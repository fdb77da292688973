/*
 * counters.h - what a server has done, counted where it happens: in its
 * serve loop, its threads, its forked children and pool workers alike,
 * in memory they all share (atomics only, no lock held across fork).
 *
 * A reload hands a kept server's counters to its successor (both count
 * into them while the old one finishes), so totals run on; a new server
 * starts at zero.
 */
#ifndef SS_COUNTERS_H
#define SS_COUNTERS_H

#include <stdatomic.h>
#include <stddef.h>

enum counters_refusal {
	COUNTERS_ACCESS,		/* access rules */
	COUNTERS_PER_SOURCE,		/* max_per_source */
	COUNTERS_VERIFY,		/* the plugin's verify_request */
	COUNTERS_PROXY,			/* PROXY: untrusted peer or bad header */
	COUNTERS_TLS,			/* TLS handshake (to come) */
	COUNTERS_NREFUSALS
};

/* How a request that was served ended. */
enum counters_end {
	COUNTERS_OK,
	COUNTERS_FAILED,		/* setup or handle failed */
	COUNTERS_TIMED_OUT,		/* failed at request_timeout or
					   max_request_time */
	COUNTERS_CUT,			/* ended by the daemon's stop */
	COUNTERS_NENDS
};

/*
 * Latency buckets: a request's duration is counted in the first bucket
 * whose bound it does not exceed; the bounds grow by powers of two from
 * 100 microseconds (0.0001 s) to about 1678 s, then +Inf.
 */
#define COUNTERS_BUCKETS	25
#define COUNTERS_FIRST_BOUND_US	100ULL

struct counters {
	atomic_ullong accepted;		/* connections and datagrams taken */
	atomic_uint in_flight;		/* requests running their hooks */
	atomic_ullong refused[COUNTERS_NREFUSALS];
	atomic_ullong ended[COUNTERS_NENDS];
	atomic_ullong bytes_in, bytes_out;
	atomic_ullong latency[COUNTERS_BUCKETS + 1];	/* last: +Inf */
	atomic_ullong latency_sum_us;
	/* Servers of this process pointing here; the main thread's. */
	unsigned refs;
};

/* A zeroed block in shared memory, with one reference; NULL on failure. */
struct counters *counters_new(void);
struct counters *counters_ref(struct counters *c);
void counters_unref(struct counters *c);

/* The bound of bucket i in microseconds (i < COUNTERS_BUCKETS). */
unsigned long long counters_bound_us(unsigned i);

static inline void
counters_accepted(struct counters *c)
{
	atomic_fetch_add_explicit(&c->accepted, 1, memory_order_relaxed);
}

static inline void
counters_refused(struct counters *c, enum counters_refusal why)
{
	atomic_fetch_add_explicit(&c->refused[why], 1, memory_order_relaxed);
}

static inline void
counters_begin(struct counters *c)
{
	atomic_fetch_add_explicit(&c->in_flight, 1, memory_order_relaxed);
}

/* A request that began was refused after all (counted as such). */
static inline void
counters_leave(struct counters *c)
{
	atomic_fetch_sub_explicit(&c->in_flight, 1, memory_order_relaxed);
}

/* A request that began (counters_begin) has ended. */
void counters_end(struct counters *c, enum counters_end how, size_t in,
    size_t out, double seconds);

/* Requests begun: ended in every way, and in flight. */
unsigned long long counters_requests(const struct counters *c);
unsigned long long counters_refusals(const struct counters *c);

#endif /* SS_COUNTERS_H */
