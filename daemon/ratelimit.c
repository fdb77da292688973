/*
 * ratelimit.c - one log line per server per reason per second.
 *
 * Each reason has a second that begins with the line that opens it. An
 * event inside the second is counted, not logged; the first one after
 * it opens the next second, logged in full with the count of the one
 * before. When events stop, the serve loop logs the last count on its
 * own shortly after the second ends (ratelimit_due, ratelimit_flush).
 * Every event is thus either in a line of its own or in exactly one
 * count.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "clock.h"
#include "log.h"
#include "ratelimit.h"

#define RATELIMIT_SECOND_MS	1000
/*
 * The serve loop leaves a count this long after its second to the next
 * event, which logs it with a client's name, as long as events keep
 * coming.
 */
#define RATELIMIT_GRACE_MS	100

static const struct {
	int level;
	const char *what;	/* "N more WHAT in the last 1.0s" */
} reasons[RATELIMIT_NREASONS] = {
	[RATELIMIT_ACCESS] = { LOG_INFO, "requests refused (access)" },
	[RATELIMIT_PER_SOURCE] = { LOG_INFO,
	    "requests refused (max_per_source)" },
	[RATELIMIT_VERIFY] = { LOG_INFO, "requests refused (verify_request)" },
	[RATELIMIT_TRUSTED] = { LOG_WARNING,
	    "requests refused (proxy_trusted)" },
	[RATELIMIT_PROXY] = { LOG_WARNING, "requests refused (PROXY header)" },
	[RATELIMIT_OVERSIZE] = { LOG_WARNING,
	    "datagrams dropped (max_packet_size)" },
	[RATELIMIT_UNDELIVERABLE] = { LOG_INFO, "replies undeliverable" },
	[RATELIMIT_ACCEPT] = { LOG_ERR, "accept errors" },
};

void
ratelimit_init(struct ratelimit *rl, const char *name,
    void (*wake)(void *arg), void *wake_arg)
{
	int i;

	rl->name = name;
	rl->wake = wake;
	rl->wake_arg = wake_arg;
	for (i = 0; i < RATELIMIT_NREASONS; i++) {
		atomic_init(&rl->slot[i].start_ms, 0);
		atomic_init(&rl->slot[i].omitted, 0);
	}
}

/* Never 0, which means "no second yet". */
static uint64_t
ratelimit_now_ms(void)
{
	uint64_t ms = (uint64_t)(clock_now() * 1000.0);

	return ms > 0 ? ms : 1;
}

static double
ratelimit_seconds(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1000.0 : 0.0;
}

bool
ratelimit_vlog(struct ratelimit *rl, enum ratelimit_reason reason,
    const char *fmt, va_list ap)
{
	struct ratelimit_slot *s = &rl->slot[reason];
	int level = reasons[reason].level;
	uint64_t now, start, omitted;
	char msg[1024];

	/* Lines the level filters out need neither counting nor formatting. */
	if (level > log_get_level())
		return false;
	now = ratelimit_now_ms();
	start = atomic_load(&s->start_ms);
	for (;;) {
		if (start != 0 && now < start + RATELIMIT_SECOND_MS) {
			if (atomic_fetch_add(&s->omitted, 1) == 0)
				rl->wake(rl->wake_arg);
			return false;
		}
		/* On failure another event opened the second: count in it. */
		if (atomic_compare_exchange_weak(&s->start_ms, &start, now))
			break;
	}
	omitted = atomic_exchange(&s->omitted, 0);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (omitted == 0)
		log_msg(level, "%s", msg);
	else
		log_msg(level, "%s; %" PRIu64 " more %s in the last %.1fs", msg,
		    omitted, reasons[reason].what,
		    ratelimit_seconds(start, now));
	return true;
}

bool
ratelimit_log(struct ratelimit *rl, enum ratelimit_reason reason,
    const char *fmt, ...)
{
	va_list ap;
	bool logged;

	va_start(ap, fmt);
	logged = ratelimit_vlog(rl, reason, fmt, ap);
	va_end(ap);
	return logged;
}

void
ratelimit_flush(struct ratelimit *rl, bool all)
{
	uint64_t now = ratelimit_now_ms(), start, omitted;
	struct ratelimit_slot *s;
	int i;

	for (i = 0; i < RATELIMIT_NREASONS; i++) {
		s = &rl->slot[i];
		start = atomic_load(&s->start_ms);
		if (atomic_load(&s->omitted) == 0 || (!all &&
		    now < start + RATELIMIT_SECOND_MS + RATELIMIT_GRACE_MS))
			continue;
		/*
		 * This line opens a second of its own, so that an event just
		 * after it is counted rather than logged: still one line a
		 * second. Failing, an event has just carried the count.
		 */
		if (!atomic_compare_exchange_strong(&s->start_ms, &start, now))
			continue;
		omitted = atomic_exchange(&s->omitted, 0);
		if (omitted > 0)
			log_msg(reasons[i].level, "server %s: %" PRIu64 " more "
			    "%s in the last %.1fs", rl->name, omitted,
			    reasons[i].what, ratelimit_seconds(start, now));
	}
}

double
ratelimit_due(const struct ratelimit *rl)
{
	const struct ratelimit_slot *s;
	double due = 0, t;
	int i;

	for (i = 0; i < RATELIMIT_NREASONS; i++) {
		s = &rl->slot[i];
		if (atomic_load(&s->omitted) == 0)
			continue;
		/* A millisecond more, so the flush never finds it early. */
		t = (double)(atomic_load(&s->start_ms) + RATELIMIT_SECOND_MS +
		    RATELIMIT_GRACE_MS + 1) / 1000.0;
		if (due == 0 || t < due)
			due = t;
	}
	return due;
}
