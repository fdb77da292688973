/*
 * check_crash.c - SPEC §8: a handler that crashes the daemon (sync and
 * threading models, where the handler runs in the daemon's own process)
 * is logged before the process dies, naming the server, the plugin, the
 * client and the signal, and the process then dies by that signal as it
 * would have (a core dump where enabled). With the listening socket held
 * by systemd (a socket unit) and Restart=on-failure, clients that connect
 * while the daemon is down are queued, then served by the restarted
 * daemon, not refused: this test holds the socket as systemd would and
 * restarts the daemon as the shipped unit says.
 *
 * Fixture: tests/fixtures/crash.c ("segv\n" raises SIGSEGV, "abort\n"
 * aborts, "overflow\n" overflows the stack; other lines are echoed).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* The models whose handlers run in the daemon's own process. */
static const struct {
	const char *model;
	int workers;
} models[] = {
	{ "sync", 0 }, { "threading", 0 }, { "threading", 2 },
};

static const struct {
	const char *line;
	int sig;
} crashes[] = {
	{ "segv\n", SIGSEGV },
	{ "abort\n", SIGABRT },
	/* At the smallest stack a handler thread may have. */
	{ "overflow\n", SIGSEGV },
};

#define NCASES (int)(sizeof(models) / sizeof(models[0]) * \
    sizeof(crashes) / sizeof(crashes[0]))

/* %1$d port, %2$s model, %3$d workers, %4$s crash fixture. */
static const char crash_conf[] =
    "servers = (\n"
    "  { name = \"crashy\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%1$d\"; handler = \"%4$s\";\n"
    "    concurrency = \"%2$s\"; workers = %3$d;\n"
    "    thread_stack_size = 65536; }\n"
    ");\n";

/*
 * Each model with each crash: the daemon dies by the signal, and its
 * last line names server, plugin, client and signal.
 */
START_TEST(test_crash_logged)
{
	int m = _i / (int)(sizeof(crashes) / sizeof(crashes[0]));
	int c = _i % (int)(sizeof(crashes) / sizeof(crashes[0]));
	const char *conf, *name;
	struct h_daemon d;
	int port, fd, status;

	port = h_free_port();
	conf = h_write_file("crash.conf", crash_conf, port, models[m].model,
	    models[m].workers, h_fixture("crash"));
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, port);
	fd = h_connect(port);
	name = h_client_name(fd);
	h_send(fd, "still fine\n");
	h_expect(fd, "still fine\n");
	h_send(fd, crashes[c].line);
	status = h_daemon_wait_exit(&d);
	ck_assert_msg(status == 128 + crashes[c].sig, "%s, %s: exit status "
	    "%d, not death by SIG%s%s", models[m].model, crashes[c].line,
	    status, sigabbrev_np(crashes[c].sig), h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has(&d, "crit: server crashy: plugin crash (",
	    h_path("crashed with signal SIG%s serving %s: sockservd dies",
	    sigabbrev_np(crashes[c].sig), name)), "%s, %s: no line reports "
	    "the crash with server, plugin, signal and client %s%s",
	    models[m].model, crashes[c].line, name, h_daemon_log_tail(&d));
	close(fd);
}
END_TEST

/*
 * The shipped service restarts the daemon on failure; its socket unit
 * keeps the listening socket meanwhile.
 */
START_TEST(test_unit_restarts_on_failure)
{
	char unit[8192];

	h_read_file(h_path("%s/conf/sockservd.service.in", h_env("SS_SRCDIR")),
	    unit, sizeof(unit));
	ck_assert_msg(strstr(unit, "\nRestart=on-failure\n") != NULL,
	    "conf/sockservd.service.in has no Restart=on-failure");
}
END_TEST

/*
 * Starts sockservd as systemd would from a socket unit: the socket as fd
 * 3, LISTEN_FDS=1, LISTEN_PID the daemon's own pid (the shell's, which
 * exec keeps), LISTEN_FDNAMES the server's name.
 */
static void
activate(struct h_daemon *d, const char *conf, int lfd)
{
	const char *script = h_path("export LISTEN_PID=$$; exec \"$0\" -F -f \"$1\" "
	    "3<&%d %d<&-", lfd, lfd);

	h_spawn(d, (const char *const[]){ "/bin/sh", "-c", script,
	    h_env("SS_SOCKSERVD"), conf, NULL },
	    (const char *const[]){ "LISTEN_FDS=1", "LISTEN_FDNAMES=crashy",
	    "LISTEN_PID", NULL });
}

/*
 * The daemon crashes with a socket unit's socket; clients connect while
 * it is down (queued by the kernel on the socket systemd keeps); the
 * restarted daemon serves every one of them.
 */
START_TEST(test_restart_serves_queued_clients)
{
	enum { QUEUED = 5 };
	struct h_daemon first, second;
	int lfd, port, fd, queued[QUEUED], i, status;
	const char *conf;
	char line[64];

	/* As a socket unit's ListenStream=, and passed on as systemd does. */
	lfd = h_listen(0);
	port = h_local_port(lfd);
	ck_assert_msg(fcntl(lfd, F_SETFD, 0) == 0, "fcntl: %s",
	    strerror(errno));
	conf = h_write_file("crash.conf", crash_conf, port, "threading", 0,
	    h_fixture("crash"));
	activate(&first, conf, lfd);
	fd = h_connect(port);	/* the first client: served once started */
	h_send(fd, "first\n");
	h_expect(fd, "first\n");
	ck_assert_msg(h_log_contains(&first, "passed by systemd"), "the "
	    "daemon did not adopt the socket%s", h_daemon_log_tail(&first));
	h_send(fd, "segv\n");
	status = h_daemon_wait_exit(&first);
	ck_assert_msg(status == 128 + SIGSEGV, "exit status %d, not SIGSEGV%s",
	    status, h_daemon_log_tail(&first));
	close(fd);

	/* Down: connections are queued on the socket, not refused. */
	for (i = 0; i < QUEUED; i++) {
		queued[i] = h_connect(port);
		snprintf(line, sizeof(line), "queued %d\n", i);
		h_send(queued[i], line);
	}
	activate(&second, conf, lfd);
	for (i = 0; i < QUEUED; i++) {
		snprintf(line, sizeof(line), "queued %d\n", i);
		h_expect(queued[i], line);
		close(queued[i]);
	}
	h_expect_clean_stop(&second);
	close(lfd);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "crash_logged", test_crash_logged, NCASES },
		{ "unit_restarts_on_failure", test_unit_restarts_on_failure,
		    0 },
		{ "restart_serves_queued_clients",
		    test_restart_serves_queued_clients, 0 },
	};
	struct rlimit no_core = { 0, 0 };
	Suite *suite = suite_create("crash");

	/* The crashes are on purpose: no core files from the daemons. */
	setrlimit(RLIMIT_CORE, &no_core);
	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
