/*
 * log.c - formats and writes log lines to stderr, the journal or syslog.
 *
 * Every line leaves in one write(2) or send(2), without a lock, so lines
 * from threads and forked children never interleave and fork() can never
 * catch a log lock held.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#ifdef HAVE_LIBSYSTEMD
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#endif

static atomic_int log_level = LOG_INFO;
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_syslog_fd = -1;
#ifdef HAVE_LIBSYSTEMD
#define LOG_JOURNAL_SOCKET	"/run/systemd/journal/socket"
static bool log_journal_native;		/* access lines with their fields */
#endif

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void
log_set_level(int level)
{
	atomic_store(&log_level, level);
}

int
log_get_level(void)
{
	return atomic_load(&log_level);
}

bool
log_under_systemd(void)
{
	return getenv("JOURNAL_STREAM") != NULL ||
	    getenv("INVOCATION_ID") != NULL;
}

int
log_target_parse(const char *name, enum log_target *target_r)
{
	if (strcmp(name, "auto") == 0)
		*target_r = LOG_TARGET_AUTO;
	else if (strcmp(name, "stderr") == 0)
		*target_r = LOG_TARGET_STDERR;
	else if (strcmp(name, "syslog") == 0)
		*target_r = LOG_TARGET_SYSLOG;
	else
		return -1;
	return 0;
}

/* The datagram socket of syslog(3), opened once: sends need no lock. */
static int
log_syslog_open(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX,
	    .sun_path = "/dev/log" };
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
log_set_target(enum log_target target, bool detached)
{
	bool chosen = target != LOG_TARGET_AUTO;

	if (target == LOG_TARGET_AUTO)
		target = log_under_systemd() ? LOG_TARGET_JOURNAL :
		    detached ? LOG_TARGET_SYSLOG : LOG_TARGET_STDERR;
	if (target == LOG_TARGET_SYSLOG && log_syslog_fd < 0) {
		log_syslog_fd = log_syslog_open();
		if (log_syslog_fd < 0 && chosen) {
			log_errno(LOG_ERR, "cannot reach syslog at /dev/log");
			return -1;
		}
		if (log_syslog_fd < 0) {
			log_errno(LOG_WARNING, "no syslog at /dev/log: once "
			    "started, the detached daemon logs nothing (set "
			    "log_target or use -F)");
			target = LOG_TARGET_STDERR;
		}
	}
	log_target = target;
#ifdef HAVE_LIBSYSTEMD
	/*
	 * sd_journal_sendv reports success when no journald listens: only
	 * where its socket is, does an access line leave through it.
	 */
	log_journal_native = target == LOG_TARGET_JOURNAL &&
	    access(LOG_JOURNAL_SOCKET, W_OK) == 0;
#endif
	return 0;
}

/* The part before the message, as the target wants it. */
static size_t
log_header(char *buf, size_t size, int level)
{
	struct timespec ts;
	struct tm tm;
	size_t n = 0;
	int r;

	switch (log_target) {
	case LOG_TARGET_JOURNAL:
		/* journald reads the priority and adds time, name and pid. */
		r = snprintf(buf, size, "<%d>", level);
		break;
	case LOG_TARGET_SYSLOG:
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = (size_t)snprintf(buf, size, "<%d>", LOG_DAEMON | level);
		n += strftime(buf + n, size - n, "%b %e %H:%M:%S ", &tm);
		r = snprintf(buf + n, size - n, "sockservd[%ld]: ",
		    (long)getpid());
		break;
	default:
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(buf + n, size - n, ".%03ldZ sockservd[%ld]: %s: ",
		    ts.tv_nsec / 1000000, (long)getpid(), level_names[level]);
		break;
	}
	n += r > 0 ? (size_t)r : 0;
	return n < size ? n : size - 1;
}

void
log_vmsg(int level, const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	size_t n;
	int r;

	if (level > atomic_load(&log_level))
		return;
	if (level < LOG_EMERG || level > LOG_DEBUG)
		level = LOG_ERR;
	n = log_header(line, sizeof(line), level);
	if (prefix != NULL) {
		r = snprintf(line + n, sizeof(line) - n, "%s", prefix);
		if (r > 0)
			n = n + (size_t)r < sizeof(line) ? n + (size_t)r :
			    sizeof(line) - 1;
	}
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = n + (size_t)r < sizeof(line) - 1 ? n + (size_t)r :
		    sizeof(line) - 2;
	/* A lost line is not worth a retry, nor a line about it. */
	if (log_target == LOG_TARGET_SYSLOG) {
		(void)!send(log_syslog_fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		return;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_errno(int level, const char *fmt, ...)
{
	char msg[1536];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, "%s: %s", msg, strerror(saved));
}

#ifdef HAVE_LIBSYSTEMD
/* One "NAME=value" field of at most `size` bytes in buf, as an iovec. */
static struct iovec
log_field(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct iovec
log_field(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	return (struct iovec){ .iov_base = buf,
	    .iov_len = (size_t)n < size ? (size_t)n : size - 1 };
}

static bool
log_access_journal(const struct log_access *a, const char *line)
{
	char f[8][600];
	struct iovec iov[8];

	iov[0] = log_field(f[0], sizeof(f[0]), "MESSAGE=%s", line);
	iov[1] = log_field(f[1], sizeof(f[1]), "PRIORITY=%d", LOG_INFO);
	iov[2] = log_field(f[2], sizeof(f[2]), "SERVER=%s", a->server);
	iov[3] = log_field(f[3], sizeof(f[3]), "CLIENT=%s", a->client);
	iov[4] = log_field(f[4], sizeof(f[4]), "BYTES_IN=%zu", a->bytes_in);
	iov[5] = log_field(f[5], sizeof(f[5]), "BYTES_OUT=%zu", a->bytes_out);
	iov[6] = log_field(f[6], sizeof(f[6]), "DURATION_US=%llu",
	    a->duration_us);
	iov[7] = log_field(f[7], sizeof(f[7]), "RESULT=%s", a->result);
	return sd_journal_sendv(iov, 8) >= 0;
}
#endif

void
log_access(const struct log_access *a, const char *line)
{
	if (LOG_INFO > atomic_load(&log_level))
		return;
#ifdef HAVE_LIBSYSTEMD
	if (log_journal_native && log_access_journal(a, line))
		return;
#else
	(void)a;
#endif
	log_msg(LOG_INFO, "%s", line);
}

/* --- the crash line: async-signal-safe ----------------------------------- */

/* A line put together without stdio, locale or locks. */
struct safe_line {
	char buf[1024];
	size_t n;
};

static void
safe_str(struct safe_line *l, const char *s)
{
	while (s != NULL && *s != '\0' && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = *s++;
}

static void
safe_num(struct safe_line *l, unsigned long long v, int width)
{
	char digits[24];
	int i = 0;

	do {
		digits[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && i < (int)sizeof(digits));
	while (width-- > i && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = '0';
	while (i > 0 && l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = digits[--i];
}

/*
 * gmtime_r may take glibc's time zone lock: the date is worked out by
 * hand (days since 1970-01-01 to a civil date, proleptic Gregorian).
 */
static void
safe_utc(struct safe_line *l)
{
	struct timespec ts;
	long long days, era, y;
	unsigned doe, yoe, doy, mp, d, m, sec;

	clock_gettime(CLOCK_REALTIME, &ts);
	days = ts.tv_sec / 86400;
	sec = (unsigned)(ts.tv_sec % 86400);
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = (unsigned)(days - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = (long long)yoe + era * 400 + (m <= 2);
	safe_num(l, (unsigned long long)y, 4);
	safe_str(l, "-");
	safe_num(l, m, 2);
	safe_str(l, "-");
	safe_num(l, d, 2);
	safe_str(l, "T");
	safe_num(l, sec / 3600, 2);
	safe_str(l, ":");
	safe_num(l, sec / 60 % 60, 2);
	safe_str(l, ":");
	safe_num(l, sec % 60, 2);
	safe_str(l, ".");
	safe_num(l, (unsigned long long)ts.tv_nsec / 1000000, 3);
	safe_str(l, "Z");
}

void
log_crash(const char *const *parts)
{
	struct safe_line l = { .n = 0 };

	switch (log_target) {
	case LOG_TARGET_JOURNAL:
		safe_str(&l, "<2>");
		break;
	case LOG_TARGET_SYSLOG:
		safe_str(&l, "<");
		safe_num(&l, LOG_DAEMON | LOG_CRIT, 1);
		safe_str(&l, ">sockservd[");
		safe_num(&l, (unsigned long long)getpid(), 1);
		safe_str(&l, "]: ");
		break;
	default:
		safe_utc(&l);
		safe_str(&l, " sockservd[");
		safe_num(&l, (unsigned long long)getpid(), 1);
		safe_str(&l, "]: crit: ");
		break;
	}
	while (*parts != NULL)
		safe_str(&l, *parts++);
	if (log_target == LOG_TARGET_SYSLOG) {
		(void)!send(log_syslog_fd, l.buf, l.n, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		return;
	}
	l.buf[l.n++] = '\n';
	(void)!write(STDERR_FILENO, l.buf, l.n);
}
