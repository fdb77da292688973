/*
 * check_stop.c - SPEC §6 stopping and signals, in every model and pool:
 * a request idle between lines ends at once on SIGINT/SIGTERM, one in the
 * middle of a line keeps shutdown_timeout to finish it, a handler that
 * never returns is abandoned (logged) at the deadline and the daemon
 * exits, a second stop signal stops at once, SIGQUIT stops like SIGTERM,
 * SIGUSR1 logs a status line per server, SIGUSR2 and SIGPIPE are ignored.
 *
 * Bounds are generous (shutdown_timeout = 30 s where a test shows that
 * the stop does not wait for it); what is asserted is that the stop did
 * not wait out the deadline, never how fast it was.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/*
 * %1$s model, %2$d workers, %3$d port, %4$s handler, %5$s options,
 * %6$s shutdown_timeout, %7$s unix socket path of a second (echo) server.
 */
static const char stop_conf[] =
    "daemon: { shutdown_timeout = %6$s; };\n"
    "servers = (\n"
    "  { name = \"main\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"%4$s\"; concurrency = \"%1$s\"; workers = %2$d;\n"
    "    %5$s },\n"
    "  { name = \"side\"; transport = \"unix\"; listen = \"%7$s\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; }\n"
    ");\n";

struct stop_run {
	struct h_daemon d;
	int port;
	const char *pid_file;
	const char *sock;
};

/* Starts the configuration for h_pooled[i]; fixture plugins by path. */
static void
stop_start(struct stop_run *r, int i, const char *handler,
    const char *options, const char *shutdown_timeout)
{
	const char *conf;

	r->port = h_free_port();
	r->pid_file = h_path("%s/sockservd.pid", h_tmpdir());
	r->sock = h_sock_path("side.sock");
	conf = h_write_file("stop.conf", stop_conf, h_pooled[i].model,
	    h_pooled[i].workers, r->port, handler, options, shutdown_timeout,
	    r->sock);
	h_daemon_start(&r->d, conf, (const char *const[]){ "-p", r->pid_file,
	    NULL });
	h_daemon_wait_port(&r->d, r->port);
	h_daemon_wait_unix(&r->d, r->sock);
}

/* The daemon exited 0, with its pid file and socket file removed. */
static void
expect_clean_exit(struct stop_run *r, int status, const char *what)
{
	h_expect_exit_ok(&r->d, status, what);
	h_expect_gone(&r->d, r->pid_file, h_path("after %s", what));
	h_expect_gone(&r->d, r->sock, h_path("after %s", what));
	ck_assert_msg(h_log_contains(&r->d, "stopped"), "%s: no \"stopped\" "
	    "line%s", what, h_daemon_log_tail(&r->d));
}

/*
 * An echo client idle between lines (Ctrl-C with `nc` attached): SIGINT
 * ends its request at once as end of input, long before the 30 s
 * shutdown_timeout, and the access line says it was cut, not ok.
 */
START_TEST(test_idle_request_ends_at_stop)
{
	struct stop_run r;
	const char *name;
	long started;
	int fd, status;

	stop_start(&r, _i, "echo", "", "30.0");
	fd = h_connect(r.port);
	name = h_client_name(fd);
	h_send(fd, "hello\n");
	h_expect(fd, "hello\n");
	started = h_now_ms();
	h_daemon_signal(&r.d, SIGINT);
	h_expect_eof(fd);
	status = h_daemon_wait_exit(&r.d);
	ck_assert_msg(h_now_ms() - started < 15000, "%s: the stop waited "
	    "%ld ms for an idle client (shutdown_timeout 30 s)%s",
	    h_pooled[_i].model, h_now_ms() - started, h_daemon_log_tail(&r.d));
	expect_clean_exit(&r, status, "SIGINT with an idle client");
	ck_assert_msg(h_log_line_has(&r.d, name, "cut at stop"), "%s: the "
	    "access line of %s does not say \"cut at stop\"%s",
	    h_pooled[_i].model, name, h_daemon_log_tail(&r.d));
	ck_assert_msg(!h_log_line_has(&r.d, name, " ok"), "%s: %s logged "
	    "as ok%s", h_pooled[_i].model, name, h_daemon_log_tail(&r.d));
	close(fd);
}
END_TEST

/*
 * A client in the middle of a line when SIGTERM comes keeps
 * shutdown_timeout to finish it: the rest of the line, sent after the
 * signal, is answered; then, idle, the request ends.
 */
START_TEST(test_partial_line_finishes)
{
	struct stop_run r;
	int fd;

	stop_start(&r, _i, "echo", "", "30.0");
	fd = h_connect(r.port);
	h_send(fd, "hel");
	h_sleep_ms(300);
	h_daemon_signal(&r.d, SIGTERM);
	h_daemon_wait_log(&r.d, "stopping", 1);
	h_sleep_ms(300);
	h_send(fd, "lo\n");
	h_expect(fd, "hello\n");
	h_expect_eof(fd);
	expect_clean_exit(&r, h_daemon_wait_exit(&r.d),
	    "SIGTERM with a partial line");
	close(fd);
}
END_TEST

/*
 * A handler that never returns nor calls ss_* (the stuck fixture with
 * spin = true): after shutdown_timeout = 1 s the daemon logs what it
 * abandons and exits 0, in every model; in sync mode it is the server's
 * own thread that never comes back.
 */
START_TEST(test_spinning_handler_abandoned)
{
	struct stop_run r;
	int fd;

	stop_start(&r, _i, h_fixture("stuck"), "options = { spin = true; };",
	    "1.0");
	fd = h_connect(r.port);
	h_send(fd, "go\n");
	h_expect(fd, "stuck\n");
	expect_clean_exit(&r, h_daemon_stop(&r.d, SIGTERM),
	    "SIGTERM with a spinning handler");
	if (strcmp(h_pooled[_i].model, "forking") == 0)
		ck_assert_msg(h_log_line_has(&r.d, "still running at the "
		    "shutdown deadline", "SIGTERM"), "%s: no line says the "
		    "process was ended%s", h_pooled[_i].model,
		    h_daemon_log_tail(&r.d));
	else
		ck_assert_msg(h_log_line_has(&r.d, "abandoned at the stop "
		    "deadline: request from", "stuck"), "%s: no line says "
		    "the request was abandoned%s", h_pooled[_i].model,
		    h_daemon_log_tail(&r.d));
	close(fd);
}
END_TEST

/*
 * A second SIGTERM or SIGINT stops at once, without waiting out the
 * 30 s shutdown_timeout for a handler that never returns.
 */
START_TEST(test_second_signal_stops_now)
{
	struct stop_run r;
	long started;
	int fd, status;

	stop_start(&r, _i, h_fixture("stuck"), "options = { spin = true; };",
	    "30.0");
	fd = h_connect(r.port);
	h_send(fd, "go\n");
	h_expect(fd, "stuck\n");
	started = h_now_ms();
	h_daemon_signal(&r.d, SIGTERM);
	h_daemon_wait_log(&r.d, "stopping", 1);
	h_daemon_signal(&r.d, SIGINT);
	status = h_daemon_wait_exit(&r.d);
	ck_assert_msg(h_now_ms() - started < 15000, "%s: a second signal "
	    "still waited %ld ms (shutdown_timeout 30 s)%s", h_pooled[_i].model,
	    h_now_ms() - started, h_daemon_log_tail(&r.d));
	expect_clean_exit(&r, status, "a second stop signal");
	ck_assert_msg(h_log_contains(&r.d, "SIGINT again: stopping now"),
	    "no line says \"SIGINT again: stopping now\"%s",
	    h_daemon_log_tail(&r.d));
	close(fd);
}
END_TEST

/* SIGQUIT (Ctrl-\) stops like SIGTERM: cleanly, exit 0. */
START_TEST(test_sigquit_stops)
{
	struct stop_run r;
	int fd;

	stop_start(&r, _i, "echo", "", "30.0");
	fd = h_connect(r.port);
	h_send(fd, "hi\n");
	h_expect(fd, "hi\n");
	expect_clean_exit(&r, h_daemon_stop(&r.d, SIGQUIT), "SIGQUIT");
	ck_assert_msg(h_log_contains(&r.d, "SIGQUIT: stopping"), "no line "
	    "says \"SIGQUIT: stopping\"%s", h_daemon_log_tail(&r.d));
	close(fd);
}
END_TEST

/*
 * SIGUSR1 logs one status line per server, with its transport, model,
 * requests in flight and served, and the daemon goes on serving.
 */
START_TEST(test_sigusr1_logs_status)
{
	struct stop_run r;
	int fd, idle;

	stop_start(&r, _i, "echo", "", "30.0");
	fd = h_connect(r.port);
	h_send(fd, "one\n");
	h_expect(fd, "one\n");
	close(fd);
	idle = h_connect(r.port);
	h_send(idle, "two\n");
	h_expect(idle, "two\n");
	/*
	 * The harness's readiness probes count as requests too: once they
	 * and "one" are logged ok, only "two" is in flight.
	 */
	h_daemon_wait_log(&r.d, "ok", 3);
	h_daemon_signal(&r.d, SIGUSR1);
	h_daemon_wait_log(&r.d, "SIGUSR1", 1);
	h_daemon_wait_log(&r.d, "since", 2);
	ck_assert_msg(h_log_line_has(&r.d, "server main: serving tcp",
	    h_path("%s, %d workers", h_pooled[_i].model, h_pooled[_i].workers)),
	    "%s: no status line for server main%s", h_pooled[_i].model,
	    h_daemon_log_tail(&r.d));
	ck_assert_msg(h_log_line_has(&r.d, "server main:",
	    "requests: 1 in flight, 3 since start"), "%s: the status of main "
	    "does not count 1 request in flight, 3 in all%s", h_pooled[_i].model,
	    h_daemon_log_tail(&r.d));
	ck_assert_msg(h_log_line_has(&r.d, "server side: serving unix",
	    "requests: 0 in flight, 1 since start"), "%s: no status line for "
	    "server side%s", h_pooled[_i].model, h_daemon_log_tail(&r.d));
	/* Served on: the idle client first, which a sync server is busy with. */
	h_send(idle, "three\n");
	h_expect(idle, "three\n");
	close(idle);
	fd = h_connect(r.port);
	h_send(fd, "four\n");
	h_expect(fd, "four\n");
	close(fd);
	expect_clean_exit(&r, h_daemon_stop(&r.d, SIGTERM), "SIGTERM");
}
END_TEST

/* SIGUSR2 and SIGPIPE, sent by habit, change nothing. */
START_TEST(test_ignored_signals)
{
	static const int sigs[] = { SIGUSR2, SIGPIPE };
	struct stop_run r;
	size_t i;
	int fd;

	stop_start(&r, _i, "echo", "", "30.0");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		fd = h_connect(r.port);
		h_send(fd, "before\n");
		h_expect(fd, "before\n");
		h_daemon_signal(&r.d, sigs[i]);
		h_sleep_ms(200);
		ck_assert_msg(kill(r.d.pid, 0) == 0, "%s: SIG%s ended the "
		    "daemon%s", h_pooled[_i].model, sigabbrev_np(sigs[i]),
		    h_daemon_log_tail(&r.d));
		h_send(fd, "after\n");
		h_expect(fd, "after\n");
		close(fd);
	}
	expect_clean_exit(&r, h_daemon_stop(&r.d, SIGTERM), "SIGTERM");
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "idle_request_ends_at_stop", test_idle_request_ends_at_stop,
		    H_NPOOLED },
		{ "partial_line_finishes", test_partial_line_finishes,
		    H_NPOOLED },
		{ "spinning_handler_abandoned",
		    test_spinning_handler_abandoned, H_NPOOLED },
		{ "second_signal_stops_now", test_second_signal_stops_now,
		    H_NPOOLED },
		{ "sigquit_stops", test_sigquit_stops, H_NPOOLED },
		{ "sigusr1_logs_status", test_sigusr1_logs_status, H_NPOOLED },
		{ "ignored_signals", test_ignored_signals, H_NPOOLED },
	};
	Suite *suite = suite_create("stop");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
