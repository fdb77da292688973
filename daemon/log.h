/*
 * log.h - the daemon's one way to say something.
 *
 * Lines go to stderr (timestamped), to the journal (priority-prefixed
 * stderr under systemd) or to syslog, each as one write, so lines from
 * threads and forked children never interleave and no lock is held across
 * fork.
 */
#ifndef SS_LOG_H
#define SS_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_AUTO,	/* journal under systemd, syslog when detached,
				   else stderr */
	LOG_TARGET_STDERR,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_SYSLOG,
};

void log_set_level(int level);
int log_get_level(void);

/* "auto", "stderr" or "syslog"; -1 when unknown. */
int log_target_parse(const char *name, enum log_target *target_r);
/* Picks where lines go; -1 (logged) when syslog cannot be reached. */
int log_set_target(enum log_target target, bool detached);
/* JOURNAL_STREAM or INVOCATION_ID say systemd started us. */
bool log_under_systemd(void);

void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As log_msg, with ": strerror(errno)" appended. */
void log_errno(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* What an access line says, field by field, for the journal. */
struct log_access {
	const char *server;
	const char *client;
	size_t bytes_in, bytes_out;
	unsigned long long duration_us;
	const char *result;
};

/*
 * The per-request line `line` at info. Logging to the journal, it goes
 * through sd_journal_sendv with the fields SERVER=, CLIENT=, BYTES_IN=,
 * BYTES_OUT=, DURATION_US= and RESULT= besides MESSAGE=, so journalctl
 * can select on them; elsewhere (or should the journal refuse it) it is
 * an ordinary line.
 */
void log_access(const struct log_access *a, const char *line);

/*
 * Writes one critical line made of `parts` (a NULL-terminated list of
 * strings) with nothing but async-signal-safe calls: for a signal
 * handler's last words.
 */
void log_crash(const char *const *parts);

#define log_error(...)		log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)		log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)		log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)		log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* SS_LOG_H */
