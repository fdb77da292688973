/*
 * check_pools.c - the processes and threads of the concurrency models:
 * worker pools (a killed forking worker is replaced, threading workers
 * exist before any request), per-request children reaped, and the
 * stacks thread_stack_size gives request threads.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const transports[] = { "tcp", "udp", "unix",
    "unix-dgram" };
#define NTRANSPORTS (int)(sizeof(transports) / sizeof(transports[0]))

/*
 * forking with workers = 3: exactly 3 children while idle. One killed
 * with SIGKILL is logged ("killed by signal"), reaped and replaced, and
 * requests go on being served. Stopping ends every worker.
 */
START_TEST(test_forking_pool_replaces_killed)
{
	const char *transport = transports[_i];
	pid_t pids[16], victim;
	struct h_daemon d;
	struct h_ep e;
	size_t n, i;
	int k;

	h_ep_init(&e, transport, "echo");
	h_ep_start(&d, &e, "echo", "concurrency = \"forking\"; workers = 3;");
	h_ep_exchange(&d, &e, "first\n", "first\n");
	n = h_wait_children(&d, 3, 0, pids, 16);
	ck_assert_msg(n == 3, "%s, forking workers = 3: %zu children while "
	    "idle, expected 3%s", transport, n, h_daemon_log_tail(&d));
	victim = pids[0];
	ck_assert_msg(kill(victim, SIGKILL) == 0, "kill %ld: %s",
	    (long)victim, strerror(errno));
	h_daemon_wait_line(&d, "killed by signal");
	n = h_wait_children(&d, 3, victim, pids, 16);
	ck_assert_msg(n == 3, "%s: after SIGKILL to worker %ld, %zu children "
	    "or the killed one still among them; expected 3, the killed one "
	    "reaped and replaced%s", transport, (long)victim, n,
	    h_daemon_log_tail(&d));
	for (k = 0; k < 6; k++)
		h_ep_exchange(&d, &e, h_path("after kill %d\n", k),
		    h_path("after kill %d\n", k));
	h_expect_clean_stop(&d);
	for (i = 0; i < 3; i++) {
		long deadline = h_now_ms() + H_TIMEOUT_MS;

		while (h_running(pids[i]) && h_now_ms() < deadline)
			h_sleep_ms(50);
		ck_assert_msg(!h_running(pids[i]), "%s: worker %ld outlived "
		    "the daemon's clean stop%s", transport, (long)pids[i],
		    h_daemon_log_tail(&d));
	}
}
END_TEST

/* threading with workers = 4: the threads exist before any request. */
START_TEST(test_threading_pool)
{
	long deadline;
	struct h_daemon d;
	struct h_ep e;
	size_t threads;
	int fds[8], i;
	char line[32];

	h_ep_init(&e, "tcp", "echo");
	h_ep_start(&d, &e, "echo", "concurrency = \"threading\"; workers = 4;");
	deadline = h_now_ms() + H_TIMEOUT_MS;
	while ((threads = h_threads(d.pid)) < 5 && h_now_ms() < deadline)
		h_sleep_ms(50);
	ck_assert_msg(threads >= 5, "threading workers = 4: %zu threads, "
	    "expected the 4 workers and the main thread at least%s", threads,
	    h_daemon_log_tail(&d));
	for (i = 0; i < 8; i++)
		fds[i] = h_connect(e.port);
	for (i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "pool client %d\n", i);
		h_send(fds[i], line);
		h_shutdown_write(fds[i]);
	}
	for (i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "pool client %d\n", i);
		h_expect_rest(&d, fds[i], line, "pool client");
		close(fds[i]);
	}
	h_expect_clean_stop(&d);
}
END_TEST

/* forking, workers = 0: once requests are done, no child is left over. */
START_TEST(test_no_zombies)
{
	const char *transport = transports[_i];
	struct h_daemon d;
	pid_t pids[16];
	struct h_ep e;
	size_t n;
	int k;

	h_ep_init(&e, transport, "echo");
	h_ep_start(&d, &e, "echo", "concurrency = \"forking\";");
	for (k = 0; k < 10; k++)
		h_ep_exchange(&d, &e, h_path("request %d\n", k),
		    h_path("request %d\n", k));
	n = h_wait_children(&d, 0, 0, pids, 16);
	ck_assert_msg(n == 0, "%s, forking per request: %zu children (zombies "
	    "included) left once every request is done, first pid %ld%s",
	    transport, n, (long)pids[0], h_daemon_log_tail(&d));
	h_expect_clean_stop(&d);
}
END_TEST

/* %1$d..%3$d ports; %4$s the stack fixture. */
static const char stack_conf[] =
    "servers = (\n"
    "  { name = \"default\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%1$d\"; handler = \"%4$s\";\n"
    "    concurrency = \"threading\"; },\n"
    "  { name = \"big\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%4$s\"; concurrency = \"threading\";\n"
    "    thread_stack_size = 2097152; },\n"
    "  { name = \"pool\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"%4$s\"; concurrency = \"threading\"; workers = 2;\n"
    "    thread_stack_size = 1048576; }\n"
    ");\n";

/*
 * Each thread's stack is thread_stack_size, plus the 16 KiB alternate
 * signal stack its crash report runs on (sockserv.conf(5)).
 */
START_TEST(test_thread_stack_size)
{
	static const struct { int which; const char *want; } cases[] = {
		{ 0, "stack 540672\n" },
		{ 1, "stack 2113536\n" },
		{ 2, "stack 1064960\n" },
	};
	struct h_daemon d;
	int port[3], fd;
	size_t i;

	for (i = 0; i < 3; i++)
		port[i] = h_free_port();
	h_daemon_start(&d, h_write_file("stack.conf", stack_conf, port[0],
	    port[1], port[2], h_fixture("stack")), NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_daemon_wait_port(&d, port[cases[i].which]);
		fd = h_connect(port[cases[i].which]);
		h_expect(fd, cases[i].want);
		close(fd);
	}
	h_expect_clean_stop(&d);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "forking_pool_replaces_killed",
		    test_forking_pool_replaces_killed, NTRANSPORTS },
		{ "threading_pool", test_threading_pool, 0 },
		{ "no_zombies", test_no_zombies, NTRANSPORTS },
		{ "thread_stack_size", test_thread_stack_size, 0 },
	};
	Suite *suite = suite_create("pools");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
