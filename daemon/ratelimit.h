/*
 * ratelimit.h - floods of refusals and drops become one log line per
 * server per reason per second, with a count, instead of a line each.
 *
 * The state lives in the server's shared memory (struct server_shared),
 * so threads, pool workers and forked children of one server count
 * together, with atomics only: no lock is ever held across fork().
 */
#ifndef SS_RATELIMIT_H
#define SS_RATELIMIT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum ratelimit_reason {
	RATELIMIT_ACCESS,		/* refused by the access rules */
	RATELIMIT_PER_SOURCE,		/* refused by max_per_source */
	RATELIMIT_VERIFY,		/* refused by verify_request */
	RATELIMIT_TRUSTED,		/* a peer not in proxy_trusted */
	RATELIMIT_PROXY,		/* a bad or missing PROXY header */
	RATELIMIT_OVERSIZE,		/* a datagram over max_packet_size */
	RATELIMIT_UNDELIVERABLE,	/* a datagram reply that could not go */
	RATELIMIT_ACCEPT,		/* accept(2) failing */
	RATELIMIT_NREASONS
};

/* One reason's second. */
struct ratelimit_slot {
	/* When the current second began, in ms of clock_now(); 0: never. */
	_Atomic uint64_t start_ms;
	/* Events of this reason not logged in a line of their own yet. */
	_Atomic uint64_t omitted;
};

struct ratelimit {
	struct ratelimit_slot slot[RATELIMIT_NREASONS];
	const char *name;		/* the server's, for count lines */
	/*
	 * Called when a count starts that someone must log if no event
	 * carries it (the server's serve loop); from any of its threads or
	 * forked children.
	 */
	void (*wake)(void *arg);
	void *wake_arg;
};

/*
 * For memory fresh from mmap (which is zeroed anyway), before any fork,
 * so children share the counts and know the owner.
 */
void ratelimit_init(struct ratelimit *rl, const char *name,
    void (*wake)(void *arg), void *wake_arg);

/*
 * One event of `reason` on srv. The first of a second is logged in full,
 * as fmt says, at the reason's level, followed by how many the line
 * before it left out; the others of that second are only counted. Any
 * thread or process of the server may call it. Returns true when the
 * line was written (it may be filtered out by the log level still).
 */
bool ratelimit_log(struct ratelimit *rl, enum ratelimit_reason reason,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool ratelimit_vlog(struct ratelimit *rl, enum ratelimit_reason reason,
    const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * For the serve loop: logs the counts whose second is over and that no
 * new event has carried yet ("N more ... in the last 1.0s"); every
 * pending count when `all` (at the end of the server).
 */
void ratelimit_flush(struct ratelimit *rl, bool all);

/*
 * When ratelimit_flush has something to do next, in clock_now() time;
 * 0 when no count is pending.
 */
double ratelimit_due(const struct ratelimit *rl);

#endif /* SS_RATELIMIT_H */
