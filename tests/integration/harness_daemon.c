/*
 * harness_daemon.c - the daemon of the integration tests' harness
 * (harness.h): started, waited for, stopped, run to completion, and its
 * log read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness_int.h"

#define MAX_ARGS	32
#define LOG_TAIL	3000
#define MAX_SUBS	4

static const struct h_daemon *last_daemon;
static int nspawned;

void
hi_daemon_reset(void)
{
	nspawned = 0;
	last_daemon = NULL;
}

const struct h_daemon *
hi_last_daemon(void)
{
	return last_daemon;
}

/* --- starting, waiting, stopping ----------------------------------------- */

/* argv[0] = $SS_SOCKSERVD, then `head` and `tail`, each up to NULL. */
static void
build_argv(const char *argv[MAX_ARGS], const char *const *head,
    const char *const *tail)
{
	size_t n = 0;

	argv[n++] = h_env("SS_SOCKSERVD");
	for (; head != NULL && *head != NULL; head++) {
		ck_assert_msg(n < MAX_ARGS - 1, "harness: too many arguments");
		argv[n++] = *head;
	}
	for (; tail != NULL && *tail != NULL; tail++) {
		ck_assert_msg(n < MAX_ARGS - 1, "harness: too many arguments");
		argv[n++] = *tail;
	}
	argv[n] = NULL;
}

/* Starts argv with its output in a log of its own; d becomes the last. */
static void
start(struct h_daemon *d, const char *const argv[], bool scrub,
    const char *const *env)
{
	d->log = h_path("%s/sockservd-%d.log", h_tmpdir(), ++nspawned);
	d->pid = hi_spawn(argv, d->log, scrub, env);
	last_daemon = d;
}

void
h_daemon_start(struct h_daemon *d, const char *conf, const char *const *extra)
{
	const char *const head[] = { "-F", "-f", conf, NULL };
	const char *argv[MAX_ARGS];

	build_argv(argv, head, extra);
	start(d, argv, false, NULL);
}

void
h_spawn(struct h_daemon *d, const char *const *argv, const char *const *env)
{
	size_t n;

	for (n = 0; argv[n] != NULL; n++)
		ck_assert_msg(n < MAX_ARGS - 1, "harness: too many arguments");
	ck_assert_msg(n > 0 && argv[0][0] == '/', "harness: h_spawn needs "
	    "an absolute program path (h_which finds one)");
	start(d, argv, true, env);
}

void
h_daemon_start_env(struct h_daemon *d, const char *conf,
    const char *const *extra, const char *const *env)
{
	const char *const head[] = { "-F", "-f", conf, NULL };
	const char *argv[MAX_ARGS];

	build_argv(argv, head, extra);
	h_spawn(d, argv, env);
}

void
hi_wait_ready(struct h_daemon *d, bool (*ready)(const void *), const void *arg,
    const char *what)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int code = 0;

	ck_assert_msg(d->pid > 0, "waiting for %s: the daemon is not running",
	    what);
	while (!ready(arg)) {
		ck_assert_msg(!hi_reap(d, false, &code), "sockservd exited "
		    "with status %d before serving %s%s", code, what,
		    h_daemon_log_tail(d));
		if (h_now_ms() > deadline) {
			hi_kill_and_reap(d);
			ck_abort_msg("sockservd did not serve %s within %d ms%s",
			    what, H_TIMEOUT_MS, h_daemon_log_tail(d));
		}
		h_sleep_ms(20);
	}
}

static bool
port_accepts(const void *arg)
{
	int fd = h_try_connect(*(const int *)arg);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void
h_daemon_wait_port(struct h_daemon *d, int port)
{
	char what[64];

	snprintf(what, sizeof(what), "127.0.0.1:%d", port);
	hi_wait_ready(d, port_accepts, &port, what);
}

void
h_daemon_signal(struct h_daemon *d, int sig)
{
	ck_assert_msg(d->pid > 0, "signal: the daemon is not running");
	ck_assert_msg(kill(d->pid, sig) == 0, "kill %ld: %s", (long)d->pid,
	    strerror(errno));
}

int
h_daemon_wait_exit(struct h_daemon *d)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int code;

	ck_assert_msg(d->pid > 0, "wait_exit: the daemon is not running");
	while (!hi_reap(d, false, &code)) {
		if (h_now_ms() > deadline) {
			hi_kill_and_reap(d);
			ck_abort_msg("sockservd did not exit within %d ms; "
			    "killed%s", H_TIMEOUT_MS, h_daemon_log_tail(d));
		}
		h_sleep_ms(20);
	}
	return code;
}

int
h_daemon_stop(struct h_daemon *d, int sig)
{
	h_daemon_signal(d, sig);
	return h_daemon_wait_exit(d);
}

void
h_expect_exit_ok(const struct h_daemon *d, int code, const char *after)
{
	ck_assert_msg(code == 0, "sockservd exited with %d on %s, expected "
	    "0%s%s", code, after, code == 128 + SIGPIPE ?
	    " (killed by SIGPIPE)" : "", h_daemon_log_tail(d));
}

void
h_expect_clean_stop(struct h_daemon *d)
{
	h_expect_exit_ok(d, h_daemon_stop(d, SIGTERM), "SIGTERM");
}

/* --- running to completion ----------------------------------------------- */

static void
run(struct h_result *r, const char *const *args, bool scrub,
    const char *const *env)
{
	const char *argv[MAX_ARGS];
	struct h_daemon d;

	build_argv(argv, args, NULL);
	d.log = h_path("%s/run-%d.out", h_tmpdir(), ++nspawned);
	d.pid = hi_spawn(argv, d.log, scrub, env);
	r->status = h_daemon_wait_exit(&d);
	h_read_file(d.log, r->output, sizeof(r->output));
}

void
h_run_argv(struct h_result *r, const char *const *args)
{
	run(r, args, false, NULL);
}

void
h_run_env(struct h_result *r, const char *const *args,
    const char *const *env)
{
	run(r, args, true, env);
}

void
h_expect_status(const struct h_result *r, int status, const char *what)
{
	ck_assert_msg(r->status == status, "%s: expected exit status %d, "
	    "got %d; output:\n%s", what, status, r->status, r->output);
}

void
h_expect_output(const struct h_result *r, const char *needle, const char *what)
{
	ck_assert_msg(strstr(r->output, needle) != NULL, "%s: expected %s "
	    "in the output:\n%s", what, h_quote(needle, strlen(needle)),
	    r->output);
}

/* --- the log ------------------------------------------------------------- */

/* Reads the last cap - 1 bytes of a file (all of a short one). */
static size_t
read_tail(const char *path, char *buf, size_t cap)
{
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= cap)
		lseek(fd, st.st_size - (off_t)(cap - 1), SEEK_SET);
	while (len < cap - 1 && (r = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return len;
}

const char *
h_daemon_log_tail(const struct h_daemon *d)
{
	static char text[LOG_TAIL + PATH_MAX + 64];
	char tail[LOG_TAIL];

	if (d == NULL)
		return "";
	read_tail(d->log, tail, sizeof(tail));
	snprintf(text, sizeof(text), "\n--- %s (last %d bytes) ---\n%s",
	    d->log, LOG_TAIL, tail);
	return text;
}

bool
h_log_contains(const struct h_daemon *d, const char *needle)
{
	static char text[1 << 20];

	read_tail(d->log, text, sizeof(text));
	return strstr(text, needle) != NULL;
}

/* What a log line must hold: substrings, and words (h_contains_word). */
struct match {
	const char *subs[MAX_SUBS + 1];	/* NULL-terminated */
	const char *words[2];		/* each NULL: nothing */
};

static bool
line_matches(const char *line, const struct match *m)
{
	size_t i;

	for (i = 0; m->subs[i] != NULL; i++)
		if (strstr(line, m->subs[i]) == NULL)
			return false;
	for (i = 0; i < 2; i++)
		if (m->words[i] != NULL && !h_contains_word(line, m->words[i]))
			return false;
	return true;
}

static struct match
match_subs(const char *const *subs)
{
	struct match m = { { NULL }, { NULL, NULL } };
	size_t i;

	for (i = 0; subs[i] != NULL; i++) {
		ck_assert_msg(i < MAX_SUBS, "harness: more than %d substrings "
		    "for one log line", MAX_SUBS);
		m.subs[i] = subs[i];
	}
	return m;
}

/*
 * How many lines of the daemon's whole log match m; with first_r, the
 * first one is copied there (`cap` bytes, "" when none matches).
 */
static size_t
log_lines(const struct h_daemon *d, const struct match *m, char *first_r,
    size_t cap)
{
	struct stat st;
	char *text, *line, *save;
	size_t len = 0, n = 0;
	ssize_t r;
	int fd;

	fd = open(d->log, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0 && fstat(fd, &st) == 0, "cannot open %s: %s",
	    d->log, strerror(errno));
	text = malloc((size_t)st.st_size + 1);
	ck_assert_msg(text != NULL, "harness: out of memory");
	while (len < (size_t)st.st_size &&
	    (r = read(fd, text + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)r;
	close(fd);
	text[len] = '\0';
	if (first_r != NULL)
		first_r[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (!line_matches(line, m))
			continue;
		if (n++ == 0 && first_r != NULL)
			snprintf(first_r, cap, "%s", line);
	}
	free(text);
	return n;
}

size_t
h_log_count(const struct h_daemon *d, const char *word)
{
	struct match m = { { NULL }, { word, NULL } };

	return log_lines(d, &m, NULL, 0);
}

size_t
h_log_lines_v(const struct h_daemon *d, const char *const *subs)
{
	struct match m = match_subs(subs);

	return log_lines(d, &m, NULL, 0);
}

const char *
h_log_line_v(const struct h_daemon *d, const char *const *subs)
{
	static char line[4096];
	struct match m = match_subs(subs);

	return log_lines(d, &m, line, sizeof(line)) > 0 ? line : NULL;
}

bool
h_log_line_has_words(const struct h_daemon *d, const char *text,
    const char *a, const char *b)
{
	struct match m = { { text, NULL }, { a, b } };

	return log_lines(d, &m, NULL, 0) > 0;
}

/* --- waiting for the log ------------------------------------------------- */

struct log_wait {
	const struct h_daemon *d;
	struct match m;
	size_t n;
};

static bool
log_reached(const void *arg)
{
	const struct log_wait *w = arg;

	return log_lines(w->d, &w->m, NULL, 0) >= w->n;
}

/*
 * Describes m for a failure message, in `what` (not in h_path's strings:
 * a test may wait many times).
 */
static void
describe(const struct match *m, size_t n, char *what, size_t cap)
{
	const char *sep = " with ";
	size_t len, i;

	len = (size_t)snprintf(what, cap, "%zu log line(s)", n);
	for (i = 0; m->subs[i] != NULL && len < cap; i++, sep = " and ")
		len += (size_t)snprintf(what + len, cap - len, "%s%s", sep,
		    h_quote(m->subs[i], strlen(m->subs[i])));
	for (i = 0; i < 2 && len < cap; i++) {
		if (m->words[i] == NULL)
			continue;
		len += (size_t)snprintf(what + len, cap - len, "%sthe word %s",
		    sep, h_quote(m->words[i], strlen(m->words[i])));
		sep = " and ";
	}
}

static void
wait_log(struct h_daemon *d, const struct match *m, size_t n)
{
	struct log_wait w = { d, *m, n };
	char what[1024];

	describe(m, n, what, sizeof(what));
	hi_wait_ready(d, log_reached, &w, what);
}

void
h_daemon_wait_log(struct h_daemon *d, const char *word, size_t n)
{
	struct match m = { { NULL }, { word, NULL } };

	wait_log(d, &m, n);
}

void
h_daemon_wait_line_v(struct h_daemon *d, const char *const *subs)
{
	struct match m = match_subs(subs);

	wait_log(d, &m, 1);
}

void
h_daemon_wait_words(struct h_daemon *d, const char *text, const char *a,
    const char *b)
{
	struct match m = { { text, NULL }, { a, b } };

	wait_log(d, &m, 1);
}
