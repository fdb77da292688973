/*
 * bench.h - what the parts of sockserv-bench share: the run's settings,
 * the worker threads with their connections and counters, and the
 * operations each mode plugs into a worker's event loop.
 *
 * Each worker owns its connections, its epoll set, its counters and its
 * histogram; nothing in a worker is written by another thread. The main
 * thread only reads the counters (relaxed atomics) for the progress line
 * and merges everything once the workers have been joined.
 */
#ifndef SS_BENCH_H
#define SS_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "payload.h"
#include "target.h"

#define SS_NS_PER_S	1000000000ull
#define SS_NS_PER_MS	1000000ull
/* How long a slot waits before it reconnects after a failure. */
#define SS_RETRY_NS	(20 * SS_NS_PER_MS)
/* Bulk: the most bytes a connection has sent and not yet had back. */
#define SS_BULK_WINDOW	(1024 * 1024)

struct ss_conn;

/* A mode: what a connection slot does, driven by the worker's loop. */
struct ss_mode_ops {
	const char *name;
	int socktype;		/* the targets it takes */
	size_t default_size;
	/* Starts (or restarts) the slot's work: usually opens a socket. */
	void (*start)(struct ss_conn *);
	/* epoll reported events on the slot's socket. */
	void (*event)(struct ss_conn *, uint32_t events);
	/* Every few milliseconds: timeouts and retries due by now. */
	void (*tick)(struct ss_conn *, uint64_t now);
};

extern const struct ss_mode_ops ss_mode_pingpong, ss_mode_connect,
    ss_mode_idle, ss_mode_bulk, ss_mode_dgram;

struct ss_settings {
	const struct ss_mode_ops *mode;
	struct ss_target target;
	int connections;
	int threads;
	size_t size;
	enum ss_expect expect;
	uint64_t duration_ns;
	uint64_t warmup_ns;
	uint64_t timeout_ns;
	uint64_t max_requests;	/* 0: no cap */
	bool progress;
	bool quiet;
	bool histogram;	/* print the buckets after the summary */
};

/* Shared by all workers; written before they start, except as noted. */
struct ss_run {
	const struct ss_settings *set;
	struct ss_payload payload;
	uint64_t start_ns;	/* connections open from here */
	uint64_t measure_ns;	/* warm-up over: counted from here */
	uint64_t end_ns;
	atomic_bool stop;	/* set by the main thread on a signal */
	atomic_int_fast64_t tickets;	/* requests left under -n */
	atomic_int settled;	/* idle mode: slots connected and answered
				   (or given up waiting) */
	atomic_int running;	/* workers not yet finished */
};

/* One worker's counters: written by it alone, read by the main thread. */
struct ss_counters {
	atomic_uint_fast64_t requests;	/* verified replies */
	atomic_uint_fast64_t bytes;	/* reply bytes received */
	atomic_uint_fast64_t connect_errors;
	atomic_uint_fast64_t resets;	/* resets and unexpected closes */
	atomic_uint_fast64_t timeouts;
	atomic_uint_fast64_t mismatches;
	atomic_uint_fast64_t lost;	/* datagrams never answered */
};

enum ss_conn_state {
	SS_IDLE,		/* no socket: waiting for retry_ns */
	SS_CONNECTING,
	SS_SENDING,
	SS_WAITING,		/* request sent, reply not complete */
	SS_HOLDING,		/* idle mode: answered, held open */
	SS_STREAMING,		/* bulk */
	SS_DONE,		/* no more work for this slot */
};

struct ss_conn {
	struct ss_worker *w;
	int fd;
	enum ss_conn_state state;
	bool served;		/* at least one verified reply */
	bool settled;		/* idle mode: counted in run->settled */
	bool writable;		/* bulk: the socket took all we gave it */
	uint64_t seq;		/* the request in flight */
	uint64_t t0;		/* when it started */
	uint64_t deadline;	/* its timeout, or when to retry */
	size_t soff, roff;	/* bytes of it sent, of its reply read */
	char *sbuf, *ebuf, *rbuf;	/* request, expected, reply */
	size_t rcap;
	/* bulk */
	uint64_t sent, rcvd, lines_sent, lines_rcvd;
	uint64_t *ring;		/* when each line in flight was sent */
	size_t nring;
};

struct ss_worker {
	struct ss_run *run;
	int epfd;
	pthread_t thread;
	struct ss_conn *conns;
	int nconns;
	uint64_t next_seq;
	uint64_t finished_ns;
	uint64_t last_reply_ns;
	struct ss_counters c;
	struct ss_hist hist;
};

/* Adds n to a counter only the calling worker writes. */
static inline void
ss_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
	    + n, memory_order_relaxed);
}

static inline uint64_t
ss_read_count(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

uint64_t ss_now_ns(void);

/* worker.c */
int ss_worker_init(struct ss_worker *w, struct ss_run *run, int nconns);
void ss_worker_free(struct ss_worker *w);
void *ss_worker_main(void *worker);

/*
 * Opens the slot's socket and adds it to the epoll set (edge-triggered,
 * in and out). Returns 1 when the connect completed at once, 0 when it is
 * under way (state SS_CONNECTING, deadline set), -1 when it failed
 * (counted as a connect error, retry scheduled).
 */
int ss_conn_open(struct ss_conn *cn);
/* Closes the socket; the slot starts again after delay_ns. */
void ss_conn_close(struct ss_conn *cn, uint64_t delay_ns);
/*
 * After EPOLLOUT on a connecting socket: 0 when connected, -1 (counted,
 * socket closed, retry scheduled) when the connect failed.
 */
int ss_conn_finish_connect(struct ss_conn *cn);
/* Takes a request ticket under -n; false: the slot is done. */
bool ss_conn_take_ticket(struct ss_conn *cn);
/* A verified reply of n bytes to a request started at t0. */
void ss_conn_record(struct ss_conn *cn, uint64_t t0, uint64_t now, size_t n);
/* Reply bytes that ss_conn_record did not count (bulk). */
void ss_conn_bytes(struct ss_conn *cn, uint64_t now, size_t n);
/* Counts an I/O failure (errno) as a reset, then closes and retries. */
void ss_conn_fail(struct ss_conn *cn, int err);
bool ss_worker_measuring(const struct ss_worker *w, uint64_t now);
bool ss_worker_stopping(const struct ss_worker *w, uint64_t now);

#endif /* SS_BENCH_H */
