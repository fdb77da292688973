/*
 * check_hostile.c - SPEC §8 "Bad input" and §7 against a live daemon:
 * clients that send nothing or trickle bytes, ten thousand idle
 * connections, EMFILE on accept, resets and half-closes mid-request,
 * plugins that crash (forking) or never return. Each test names the limit
 * that applies, asserts the log line that reports the event and that the
 * daemon goes on serving (and, where it stops, exits 0).
 *
 * Fixture plugins: tests/fixtures/crash.c ("segv\n" raises SIGSEGV,
 * "abort\n" aborts, other lines are echoed) and tests/fixtures/stuck.c
 * (answers "stuck\n" to a first line, then blocks in ss_read, or with
 * `spin = true` never returns without any ss_* call).
 *
 * No tight timing: bounds are generous (the machine is small and shared),
 * and where time matters the order of events shows it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* --- configurations ------------------------------------------------------ */

/*
 * One echo server: %1$s model, %2$d port, %3$s log level, %4$s extra
 * server settings.
 */
static const char echo_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"%3$s\"; };\n"
    "servers = (\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"%1$s\"; %4$s }\n"
    ");\n";

/*
 * A loaded threading server and a quiet sync one: %1$d port of "loaded",
 * %2$d port of "quiet".
 */
static const char idle_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"notice\"; };\n"
    "servers = (\n"
    "  { name = \"loaded\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%1$d\"; handler = \"echo\";\n"
    "    concurrency = \"threading\"; max_children = 11000;\n"
    "    request_timeout = 60.0; },\n"
    "  { name = \"quiet\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%2$d\"; handler = \"echo\";\n"
    "    concurrency = \"sync\"; }\n"
    ");\n";

/*
 * One server with a fixture plugin: %1$s model, %2$d port, %3$s plugin
 * path, %4$s extra server settings, %5$s shutdown_timeout.
 */
static const char fixture_conf[] =
    "daemon: { shutdown_timeout = %5$s; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"hostile\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%2$d\"; handler = \"%3$s\";\n"
    "    concurrency = \"%1$s\"; %4$s }\n"
    ");\n";

/* --- helpers ------------------------------------------------------------- */

/*
 * Makes RLIMIT_NOFILE at least `need` for the test and the daemons it
 * starts (they inherit it), raising the hard limit when it is lower and
 * the test may (root, or CAP_SYS_RESOURCE).
 */
static void
raise_nofile(rlim_t need)
{
	struct rlimit rl;

	ck_assert_msg(getrlimit(RLIMIT_NOFILE, &rl) == 0,
	    "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= need)
		return;
	rl.rlim_cur = need;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		rl.rlim_max = need;
	ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0, "this test needs "
	    "%lu file descriptors, and cannot raise RLIMIT_NOFILE to that: %s; "
	    "raise the hard limit (`ulimit -Hn %lu`, or LimitNOFILE=) before "
	    "running it", (unsigned long)need, strerror(errno),
	    (unsigned long)need);
}

/* utime + stime of a process (all its threads), in clock ticks. */
static unsigned long
cpu_ticks(pid_t pid)
{
	struct h_proc_stat st;

	ck_assert_msg(h_proc_stat(pid, &st), "/proc/%ld/stat: %s", (long)pid,
	    strerror(errno));
	return st.utime + st.stime;
}

/* The soft RLIMIT_NOFILE of a running process, from /proc/PID/limits. */
static long
proc_nofile(pid_t pid)
{
	char buf[4096], *p;
	long soft = -1;

	h_read_file(h_path("/proc/%ld/limits", (long)pid), buf, sizeof(buf));
	p = strstr(buf, "Max open files");
	if (p != NULL)
		sscanf(p + strlen("Max open files"), " %ld", &soft);
	return soft;
}

/* Fails unless no process holds `conf` in its command line. */
static void
expect_no_process_left(struct h_daemon *d, const char *conf)
{
	pid_t pids[8];
	size_t n = h_procs_with_arg(conf, pids, 8);

	ck_assert_msg(n == 0, "%zu process(es) of the stopped daemon are "
	    "left (the first: pid %ld)%s", n, (long)pids[0],
	    h_daemon_log_tail(d));
}

static int
fixture_start(struct h_daemon *d, const char *model, const char *fixture,
    const char *extra, const char *shutdown_timeout, const char **conf_r)
{
	int port = h_free_port();
	const char *conf;

	conf = h_write_file("hostile.conf", fixture_conf, model, port,
	    h_fixture(fixture), extra, shutdown_timeout);
	h_daemon_start(d, conf, NULL);
	h_daemon_wait_port(d, port);
	if (conf_r != NULL)
		*conf_r = conf;
	return port;
}

static int
echo_start(struct h_daemon *d, const char *model, const char *level,
    const char *extra)
{
	int port = h_free_port();

	h_daemon_start(d, h_write_file("echo.conf", echo_conf, model, port,
	    level, extra), NULL);
	h_daemon_wait_port(d, port);
	return port;
}

/* --- 1. slow clients ----------------------------------------------------- */

#define SLOW_SILENT	500
#define SLOW_TRICKLE	20
#define SLOW_TOTAL	(SLOW_SILENT + SLOW_TRICKLE)
#define TRICKLE_MS	300
#define SLOW_BOUND_MS	15000

/*
 * 500 clients that send nothing and 20 that send one byte (never a
 * newline) every 300 ms hold a threading echo server with
 * request_timeout = 1.0 and max_children = 1000.
 *
 * The limits: max_children caps the requests in flight (1000 > 520, so
 * every slow client gets a thread, and the one after them too), and
 * request_timeout bounds each ss_readline call as a whole, not each
 * recv, so trickling does not extend it: a per-syscall timeout of 1 s
 * would never fire on bytes 300 ms apart, and the tricklers are kept
 * trickling until the daemon closes them.
 *
 * Meanwhile a normal client is served; then every slow client is closed
 * by the daemon within 15 s, each cut is logged by the default
 * handle_error ("... failed (-1): Connection timed out"), and the server
 * still serves.
 */
START_TEST(test_slow_clients_cut_at_request_timeout)
{
	static int fds[SLOW_TOTAL];
	static bool open_[SLOW_TOTAL];
	static struct pollfd pfd[SLOW_TOTAL];
	static int idx[SLOW_TOTAL];
	long start, next_trickle, now;
	int port, i, left, silent_left, n;
	struct h_daemon d;
	char buf[256];
	ssize_t r;

	raise_nofile(SLOW_TOTAL + 256);
	port = echo_start(&d, "threading", "info",
	    "request_timeout = 1.0; max_children = 1000;");
	start = h_now_ms();
	for (i = 0; i < SLOW_TOTAL; i++) {
		fds[i] = h_connect(port);
		open_[i] = true;
	}
	for (i = SLOW_SILENT; i < SLOW_TOTAL; i++)
		h_send(fds[i], "x");
	h_expect_echo(&d, port, "served among 520 slow clients\n",
	    "a normal client among the slow ones");

	left = SLOW_TOTAL;
	next_trickle = h_now_ms() + TRICKLE_MS;
	while (left > 0 && (now = h_now_ms()) < start + SLOW_BOUND_MS) {
		long wait = next_trickle - now;

		for (i = 0, n = 0; i < SLOW_TOTAL; i++) {
			if (!open_[i])
				continue;
			pfd[n] = (struct pollfd){ .fd = fds[i],
			    .events = POLLIN };
			idx[n++] = i;
		}
		if (wait > 0 && poll(pfd, (nfds_t)n, (int)wait) < 0)
			ck_assert_msg(errno == EINTR, "poll: %s",
			    strerror(errno));
		for (i = 0; wait > 0 && i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			r = recv(fds[idx[i]], buf, sizeof(buf), MSG_DONTWAIT);
			ck_assert_msg(r <= 0, "slow client %d: the echo server "
			    "sent %s, though no line was complete%s", idx[i],
			    h_quote(buf, (size_t)r), h_daemon_log_tail(&d));
			if (r == 0 || errno == ECONNRESET) {
				open_[idx[i]] = false;
				left--;
			}
		}
		if (h_now_ms() < next_trickle)
			continue;
		next_trickle += TRICKLE_MS;
		for (i = SLOW_SILENT; i < SLOW_TOTAL; i++) {
			if (!open_[i])
				continue;
			r = send(fds[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (r < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				open_[i] = false;
				left--;
			}
		}
	}
	for (i = 0, silent_left = 0; i < SLOW_SILENT; i++)
		silent_left += open_[i];
	ck_assert_msg(left == 0, "after %d s, %d of %d silent and %d of %d "
	    "trickling clients are still connected; request_timeout = 1.0 "
	    "should have cut them all%s", SLOW_BOUND_MS / 1000, silent_left,
	    SLOW_SILENT, left - silent_left, SLOW_TRICKLE,
	    h_daemon_log_tail(&d));
	for (i = 0; i < SLOW_TOTAL; i++)
		close(fds[i]);

	/* Logged before the connection closes: all there already. */
	ck_assert_msg(h_log_count(&d, "Connection timed out") >= SLOW_TOTAL,
	    "%zu log lines say \"Connection timed out\", expected one per "
	    "slow client (%d)%s", h_log_count(&d, "Connection timed out"),
	    SLOW_TOTAL, h_daemon_log_tail(&d));
	ck_assert_msg(h_log_count(&d, "failed") >= SLOW_TOTAL, "%zu log "
	    "lines say \"failed\", expected at least one per slow client "
	    "(%d)%s", h_log_count(&d, "failed"), SLOW_TOTAL,
	    h_daemon_log_tail(&d));
	h_expect_echo(&d, port, "after the slow ones\n",
	    "a normal client after the slow ones were cut");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 2. ten thousand idle connections ------------------------------------ */

#define IDLE_CONNS	10000
#define IDLE_BOUND_MS	(6 * H_TIMEOUT_MS)

/*
 * Waits until the daemon runs at most/at least `target` threads; fails
 * after `bound_ms`, or at once when the log says a thread could not be
 * started.
 */
static void
wait_threads(struct h_daemon *d, size_t target, bool at_least, long bound_ms,
    const char *what)
{
	long deadline = h_now_ms() + bound_ms;
	size_t n;

	for (;;) {
		n = h_threads(d->pid);
		if (at_least ? n >= target : n <= target)
			return;
		ck_assert_msg(!h_log_contains(d, "cannot start a thread"),
		    "%s: the daemon could not start a thread per connection "
		    "(%zu threads running)%s", what, n, h_daemon_log_tail(d));
		ck_assert_msg(h_now_ms() < deadline, "%s: the daemon runs %zu "
		    "threads after %ld s, expected %s %zu%s", what, n,
		    bound_ms / 1000, at_least ? "at least" : "at most",
		    target, h_daemon_log_tail(d));
		h_sleep_ms(100);
	}
}

/*
 * 10 000 connections that send nothing to a threading server with
 * max_children = 11000 and request_timeout = 60 (so none is cut while
 * the test runs): the daemon takes every one (a thread each), and both
 * another server of the same daemon (sync) and the loaded server itself
 * serve a normal client. Once the clients close, every request thread
 * ends (none is kept), and both servers still serve.
 *
 * The limits: max_children (11000) caps the requests in flight;
 * RLIMIT_NOFILE must hold 10 000 connections in the daemon, and as many
 * in the test: each process holds one end of each connection, so each
 * needs 10 000 descriptors and some, not 20 000. The test raises it (the
 * daemon inherits it), and fails, saying so, when the hard limit is lower.
 */
START_TEST(test_ten_thousand_idle_connections)
{
	static int fds[IDLE_CONNS];
	int loaded, quiet, i;
	struct h_daemon d;
	size_t base;
	long start;

	raise_nofile(IDLE_CONNS + 100);
	loaded = h_free_port();
	quiet = h_free_port();
	h_daemon_start(&d, h_write_file("idle.conf", idle_conf, loaded, quiet),
	    NULL);
	h_daemon_wait_port(&d, loaded);
	h_daemon_wait_port(&d, quiet);
	/*
	 * The daemon's own threads, all started once it says it is ready,
	 * and perhaps a probe's not ended yet (hence base - 1 below).
	 */
	h_daemon_wait_log(&d, "ready", 1);
	base = h_threads(d.pid);

	start = h_now_ms();
	for (i = 0; i < IDLE_CONNS; i++) {
		fds[i] = h_try_connect(loaded);
		ck_assert_msg(fds[i] >= 0, "idle connection %d of %d: %s%s",
		    i + 1, IDLE_CONNS, strerror(errno), h_daemon_log_tail(&d));
		ck_assert_msg(h_now_ms() - start < IDLE_BOUND_MS, "only %d "
		    "of %d idle connections made in %d s%s", i + 1,
		    IDLE_CONNS, IDLE_BOUND_MS / 1000, h_daemon_log_tail(&d));
	}
	/* Connected is not accepted: a thread per request shows that. */
	wait_threads(&d, base - 1 + IDLE_CONNS, true, 3 * H_TIMEOUT_MS,
	    "10000 idle connections accepted");

	h_expect_echo(&d, quiet, "quiet server beside 10000 idle\n",
	    "the sync server beside 10000 idle connections");
	h_expect_echo(&d, loaded, "loaded server with 10000 idle\n",
	    "the threading server holding 10000 idle connections");

	for (i = 0; i < IDLE_CONNS; i++)
		close(fds[i]);
	wait_threads(&d, base, false, 3 * H_TIMEOUT_MS,
	    "after the 10000 idle clients closed");
	h_expect_echo(&d, loaded, "loaded server afterwards\n",
	    "the threading server after the idle clients closed");
	h_expect_echo(&d, quiet, "quiet server afterwards\n",
	    "the sync server after the idle clients closed");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 3. EMFILE on accept ------------------------------------------------- */

#define EMFILE_LIMIT	"64"
#define EMFILE_CONNS	100
#define EMFILE_WINDOW_MS 2000

/*
 * The daemon runs with RLIMIT_NOFILE = 64 (prlimit execs it, so it keeps
 * the pid), a threading echo server with request_timeout = 30 (no idle
 * connection is cut meanwhile) and max_children = 1000 (so the cap does
 * not stop accepting first). 100 silent clients exhaust its descriptors:
 * accept fails with EMFILE, and the listener backs off (0.1 s) instead of
 * spinning on a socket that stays readable. The error is logged once for
 * the burst, however many retries fail, and the daemon uses well under a
 * second of CPU over 2 s of it. Once the clients close, it logs
 * "accepting again" and serves.
 */
START_TEST(test_emfile_on_accept_backs_off)
{
	static int fds[EMFILE_CONNS];
	const char *argv[8], *conf;
	unsigned long before, used;
	long ticks = sysconf(_SC_CLK_TCK);
	struct h_daemon d;
	int port, i;

	ck_assert_msg(ticks > 0, "sysconf(_SC_CLK_TCK): %s", strerror(errno));
	port = h_free_port();
	conf = h_write_file("emfile.conf", echo_conf, "threading", port,
	    "info", "request_timeout = 30.0; max_children = 1000;");
	argv[0] = h_which("prlimit");
	argv[1] = "--nofile=" EMFILE_LIMIT ":" EMFILE_LIMIT;
	argv[2] = h_env("SS_SOCKSERVD");
	argv[3] = "-F";
	argv[4] = "-f";
	argv[5] = conf;
	argv[6] = NULL;
	h_spawn(&d, argv, NULL);
	h_daemon_wait_port(&d, port);
	/*
	 * The readiness probe's request holds a descriptor until it ends:
	 * ended later, it would let the daemon accept again mid-burst.
	 */
	h_daemon_wait_line(&d, " in=0 out=0 ", " ok");
	ck_assert_msg(proc_nofile(d.pid) == atol(EMFILE_LIMIT), "the daemon "
	    "runs with RLIMIT_NOFILE %ld, expected " EMFILE_LIMIT "%s",
	    proc_nofile(d.pid), h_daemon_log_tail(&d));

	/*
	 * The readiness probe's request must have ended and freed its
	 * descriptor first, or the daemon accepts once more when it does.
	 */
	h_daemon_wait_log(&d, "ok", 1);
	for (i = 0; i < EMFILE_CONNS; i++)
		fds[i] = h_connect(port);
	h_daemon_wait_log(&d, "accept (retrying", 1);

	before = cpu_ticks(d.pid);
	h_sleep_ms(EMFILE_WINDOW_MS);
	used = cpu_ticks(d.pid) - before;
	ck_assert_msg(!h_log_contains(&d, "accepting again"), "the daemon "
	    "accepted again while %d silent clients held its descriptors; "
	    "the test did not keep it at EMFILE%s", EMFILE_CONNS,
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_count(&d, "accept (retrying") == 1, "%zu log "
	    "lines say \"accept (retrying\" during one EMFILE burst of %d ms, "
	    "expected exactly one%s", h_log_count(&d, "accept (retrying"),
	    EMFILE_WINDOW_MS, h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has(&d, "accept (retrying",
	    "Too many open files"), "the \"accept (retrying\" line does not "
	    "say \"Too many open files\"%s", h_daemon_log_tail(&d));
	ck_assert_msg(used < (unsigned long)ticks, "at EMFILE the daemon used "
	    "%lu clock ticks of CPU in %d ms (%ld ticks a second): a busy "
	    "loop%s", used, EMFILE_WINDOW_MS, ticks, h_daemon_log_tail(&d));

	for (i = 0; i < EMFILE_CONNS; i++)
		close(fds[i]);
	h_daemon_wait_log(&d, "accepting again", 1);
	h_expect_echo(&d, port, "after EMFILE\n",
	    "a normal client after the EMFILE burst");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 4. resets and half-closes ------------------------------------------- */

#define BULK_TOTAL	(1 << 20)
#define BULK_RESET_AT	(BULK_TOTAL / 2)
#define BULK_LINE	64
#define BULK_CHUNK	(1 << 16)

/* BULK_CHUNK bytes of BULK_LINE-byte lines, NUL-terminated. */
static const char *
bulk_lines(void)
{
	static char buf[BULK_CHUNK + 1];
	size_t i;

	if (buf[0] == '\0') {
		memset(buf, 'b', BULK_CHUNK);
		for (i = BULK_LINE - 1; i < BULK_CHUNK; i += BULK_LINE)
			buf[i] = '\n';
	}
	return buf;
}

/*
 * Sends up to `total` bytes of lines to the echo server without ever
 * blocking, reading (and dropping) the echo meanwhile, until `echoed`
 * bytes have come back (so the daemon has read and written that much);
 * returns the bytes sent. Bounded by H_TIMEOUT_MS.
 */
static size_t
pump(struct h_daemon *d, int fd, size_t total, size_t echoed)
{
	const char *lines = bulk_lines();
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	size_t sent = 0, got = 0, off, want;
	char buf[BULK_CHUNK];
	ssize_t r;

	ck_assert_msg(echoed <= total, "harness: pump %zu of %zu", echoed,
	    total);
	while (got < echoed) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (sent < total)
			pfd.events |= POLLOUT;
		ck_assert_msg(h_now_ms() < deadline, "pumping lines: %zu bytes "
		    "sent, %zu echoed in %d ms%s", sent, got, H_TIMEOUT_MS,
		    h_daemon_log_tail(d));
		if (poll(&pfd, 1, 100) < 0) {
			ck_assert_msg(errno == EINTR, "poll: %s",
			    strerror(errno));
			continue;
		}
		if ((pfd.revents & POLLOUT) && sent < total) {
			/* Whole lines: the chunk holds a whole number. */
			off = sent % BULK_CHUNK;
			want = BULK_CHUNK - off;
			if (want > total - sent)
				want = total - sent;
			r = send(fd, lines + off, want,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			ck_assert_msg(r >= 0 || errno == EAGAIN, "send after "
			    "%zu bytes: %s%s", sent, strerror(errno),
			    h_daemon_log_tail(d));
			if (r > 0)
				sent += (size_t)r;
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			ck_assert_msg(r > 0 || (r < 0 && errno == EAGAIN),
			    "the echo server closed after %zu bytes sent: %s%s",
			    sent, r == 0 ? "EOF" : strerror(errno),
			    h_daemon_log_tail(d));
			if (r > 0)
				got += (size_t)r;
		}
	}
	return sent;
}

/* Waits until the echo of what the client sent begins to come back. */
static void
wait_readable(struct h_daemon *d, int fd, const char *who)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, H_TIMEOUT_MS);
	while (n < 0 && errno == EINTR);
	ck_assert_msg(n > 0, "%s: no echo within %d ms%s", who, H_TIMEOUT_MS,
	    h_daemon_log_tail(d));
}

/* Waits for the log line that ends the request of client `name`. */
static void
wait_request_logged(struct h_daemon *d, const char *name)
{
	h_daemon_wait_log(d, h_path("%s in", name), 1);
}

/*
 * For each model, on an echo server: (a) a client sends half a line and
 * resets (SO_LINGER {1, 0}); (b) a client sends a line, shuts down its
 * write side and closes without reading the reply, once with one line
 * and once with its receive buffer holding unread echo, so its close
 * resets and the daemon's write meets EPIPE or ECONNRESET; (c) a client
 * sends 1 MB of lines, reading the echo, and resets once half of it has
 * come back.
 *
 * The daemon ignores SIGPIPE: each request ends (its access line is
 * logged), (a) and (c) fail with the reset logged, a normal client is
 * served, and SIGTERM still stops it with 0 (not 128 + SIGPIPE).
 */
START_TEST(test_resets_mid_request)
{
	const char *model = h_models[_i], *a, *b1, *b2, *c;
	struct h_daemon d;
	int port, fd;

	port = echo_start(&d, model, "debug", "");

	/* (a) Half a line, then a reset once the daemon has the client. */
	fd = h_connect(port);
	a = h_client_name(fd);
	h_send(fd, "half a li");
	h_daemon_wait_log(&d, h_path("request from %s", a), 1);
	h_close_reset(fd);
	h_daemon_wait_log(&d, h_path("request from %s failed", a), 1);
	ck_assert_msg(h_log_line_has(&d, h_path("request from %s failed", a),
	    "Connection reset by peer"), "the failure of %s, reset after "
	    "half a line, does not say \"Connection reset by peer\"%s", a,
	    h_daemon_log_tail(&d));
	wait_request_logged(&d, a);

	/* (b1) A line, end of input, and gone before the reply. */
	fd = h_connect(port);
	b1 = h_client_name(fd);
	h_send(fd, "nobody reads this\n");
	h_shutdown_write(fd);
	close(fd);
	wait_request_logged(&d, b1);

	/* (b2) The same with unread echo in hand: the close resets. */
	fd = h_connect(port);
	b2 = h_client_name(fd);
	h_send(fd, bulk_lines());
	wait_readable(&d, fd, "a client sending 64 KB of lines");
	h_shutdown_write(fd);
	close(fd);
	wait_request_logged(&d, b2);

	/* (c) A reset half-way through 1 MB to echo, both ways busy. */
	fd = h_connect(port);
	c = h_client_name(fd);
	pump(&d, fd, BULK_TOTAL, BULK_RESET_AT);
	h_close_reset(fd);
	h_daemon_wait_log(&d, h_path("request from %s failed", c), 1);
	wait_request_logged(&d, c);

	h_expect_echo(&d, port, "after the resets\n",
	    "a normal client after the resets");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 5. crashes in forking mode ------------------------------------------ */

static const struct {
	const char *line;
	const char *logged;
} crashes[] = {
	{ "segv\n", "killed by signal 11" },
	{ "abort\n", "killed by signal 6" },
};

/*
 * forking with workers = 0: a request whose handle crashes (SIGSEGV,
 * abort) takes down only its child. Its client sees the connection
 * close, the daemon logs "child PID killed by signal N", and the next
 * client is served.
 */
START_TEST(test_crash_kills_only_the_child)
{
	struct h_daemon d;
	char what[64];
	int port, fd;

	h_no_core_files();
	snprintf(what, sizeof(what), "the client that sent %s",
	    h_quote(crashes[_i].line, strlen(crashes[_i].line)));
	port = fixture_start(&d, "forking", "crash", "workers = 0;", "5.0",
	    NULL);
	fd = h_connect(port);
	h_send(fd, "before\n");
	h_expect(fd, "before\n");
	h_send(fd, crashes[_i].line);
	h_expect_closed(&d, fd, what);
	close(fd);
	h_daemon_wait_log(&d, crashes[_i].logged, 1);
	ck_assert_msg(h_log_line_has(&d, "child", crashes[_i].logged),
	    "no log line says \"child PID %s\"%s", crashes[_i].logged,
	    h_daemon_log_tail(&d));
	h_expect_echo(&d, port, "after the crash\n",
	    "a client after the crash");
	h_expect_echo(&d, port, "and another\n",
	    "a second client after the crash");
	h_expect_clean_stop(&d);
}
END_TEST

#define POOL_WORKERS	2

/*
 * forking with workers = 2 (a pool): a worker that crashes is logged
 * ("worker PID killed by signal 11") and replaced ("replacing 1
 * worker(s)"); the pool is back to two workers and serves.
 */
START_TEST(test_crash_replaces_pool_worker)
{
	struct h_daemon d;
	pid_t kids[8];
	int port, fd, i;
	size_t n;

	h_no_core_files();
	port = fixture_start(&d, "forking", "crash", "workers = 2;", "5.0",
	    NULL);
	fd = h_connect(port);
	h_send(fd, "segv\n");
	h_expect_closed(&d, fd, "the client whose worker crashed");
	close(fd);
	h_daemon_wait_log(&d, "killed by signal 11", 1);
	ck_assert_msg(h_log_line_has(&d, "worker", "killed by signal 11"),
	    "no log line says \"worker PID killed by signal 11\"%s",
	    h_daemon_log_tail(&d));
	h_daemon_wait_log(&d, "replacing", 1);

	n = h_wait_children(&d, POOL_WORKERS, 0, kids, 8);
	ck_assert_msg(n == POOL_WORKERS, "the pool has %zu processes after "
	    "the crash, expected %d%s", n, POOL_WORKERS,
	    h_daemon_log_tail(&d));
	for (i = 0; i < 2 * POOL_WORKERS; i++)
		h_expect_echo(&d, port, "pool after the crash\n",
		    "a client of the pool after the crash");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 6. handles that never return ---------------------------------------- */

/*
 * (a) A handle blocked in ss_readline on a client that sends nothing:
 * request_timeout (1.0) cuts it, in every model. The client sees the
 * connection close, the default handle_error logs "Connection timed out",
 * and the next client is served (it ends its request itself, with EOF).
 */
START_TEST(test_blocked_handle_cut_at_request_timeout)
{
	const char *name;
	struct h_daemon d;
	int port, fd;

	port = fixture_start(&d, h_models[_i], "stuck",
	    "request_timeout = 1.0;", "5.0", NULL);
	fd = h_connect(port);
	name = h_client_name(fd);
	h_send(fd, "go\n");
	h_expect(fd, "stuck\n");
	h_expect_closed(&d, fd, "a silent client of a blocked handle");
	close(fd);
	h_daemon_wait_log(&d, h_path("request from %s failed", name), 1);
	ck_assert_msg(h_log_line_has(&d, h_path("request from %s failed", name),
	    "Connection timed out"), "the failure of %s does not say "
	    "\"Connection timed out\"%s", name, h_daemon_log_tail(&d));

	fd = h_connect(port);
	h_send(fd, "go\n");
	h_expect(fd, "stuck\n");
	h_shutdown_write(fd);
	h_expect_eof(fd);
	close(fd);
	h_expect_clean_stop(&d);
}
END_TEST

/*
 * A client whose handle (the stuck fixture with `options`) is stuck in
 * its `what` (a child, a thread) when SIGTERM comes, with
 * shutdown_timeout = 1.0: the daemon exits 0 all the same, the client's
 * connection closes, and no process of the daemon is left.
 */
static void
stop_stuck(struct h_daemon *d, const char *model, const char *options,
    const char *what)
{
	const char *conf;
	int port, fd;

	port = fixture_start(d, model, "stuck", options, "1.0", &conf);
	fd = h_connect(port);
	h_send(fd, "go\n");
	h_expect(fd, "stuck\n");
	h_expect_exit_ok(d, h_daemon_stop(d, SIGTERM), h_path("SIGTERM with a "
	    "%s stuck past shutdown_timeout", what));
	h_expect_closed(d, fd, h_path("the client of the stuck %s", what));
	close(fd);
	expect_no_process_left(d, conf);
}

/*
 * (b) forking, workers = 0, a handle that never returns nor calls ss_*:
 * at SIGTERM with shutdown_timeout = 1.0 the daemon waits for it until
 * the deadline, then ends the child (SIGTERM, then SIGKILL a second later
 * when it ignores SIGTERM), and exits 0 within the harness's stop bound.
 * Its client sees the connection close, and no process of the daemon is
 * left.
 */
START_TEST(test_spinning_child_killed_at_stop)
{
	static const char *const options[] = {
		"options = { spin = true; };",
		"options = { spin = true; ignore_term = true; };",
	};
	struct h_daemon d;

	stop_stuck(&d, "forking", options[_i], "child");
	ck_assert_msg(h_log_line_has(&d, "still running at the shutdown "
	    "deadline", "SIGTERM"), "no warning says the child was still "
	    "running at the deadline%s", h_daemon_log_tail(&d));
	if (_i == 0)
		ck_assert_msg(h_log_line_has(&d, "child",
		    "killed by signal 15"), "no log line says \"child PID "
		    "killed by signal 15\"%s", h_daemon_log_tail(&d));
	else
		ck_assert_msg(h_log_line_has(&d, "still running after SIGTERM",
		    "SIGKILL"),
		    "no warning says SIGKILL followed%s",
		    h_daemon_log_tail(&d));
}
END_TEST

/*
 * (c) threading, the same handle: a thread cannot be killed from
 * outside, so at the deadline (plus the daemon's grace for requests cut
 * at their next I/O, which this one never makes) the request is
 * abandoned: the daemon logs that it was "abandoned at the stop
 * deadline", with its client, skips the plugin's fini ("fini skipped") since the plugin
 * is still running, and exits 0 anyway. Its exit closes the connection,
 * and no process is left.
 */
START_TEST(test_spinning_thread_abandoned_at_stop)
{
	struct h_daemon d;

	stop_stuck(&d, "threading", "options = { spin = true; };", "thread");
	ck_assert_msg(h_log_contains(&d, "abandoned at the stop deadline: "
	    "request from"), "no log line says a request was \"abandoned at "
	    "the stop deadline\"%s", h_daemon_log_tail(&d));
	ck_assert_msg(h_log_contains(&d, "fini skipped"), "no log line says "
	    "\"fini skipped\"%s", h_daemon_log_tail(&d));
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "slow_clients_cut_at_request_timeout",
		    test_slow_clients_cut_at_request_timeout, 0 },
		{ "ten_thousand_idle_connections",
		    test_ten_thousand_idle_connections, 0 },
		{ "emfile_on_accept_backs_off",
		    test_emfile_on_accept_backs_off, 0 },
		{ "resets_mid_request", test_resets_mid_request, H_NMODELS },
		{ "crash_kills_only_the_child",
		    test_crash_kills_only_the_child,
		    sizeof(crashes) / sizeof(crashes[0]) },
		{ "crash_replaces_pool_worker",
		    test_crash_replaces_pool_worker, 0 },
		{ "blocked_handle_cut_at_request_timeout",
		    test_blocked_handle_cut_at_request_timeout, H_NMODELS },
		{ "spinning_child_killed_at_stop",
		    test_spinning_child_killed_at_stop, 2 },
		{ "spinning_thread_abandoned_at_stop",
		    test_spinning_thread_abandoned_at_stop, 0 },
	};
	Suite *suite = suite_create("hostile");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
