/*
 * check_lifecycle.c - the socketserver request lifecycle and a clean stop
 * (SIGTERM or SIGINT, shutdown_timeout, block_on_close), under each
 * concurrency model, seen through the fixture plugins
 * tests/fixtures/lifecycle.c (reports every hook) and slow.c (keeps a
 * request in flight).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* %1$s model, %3$s lifecycle.so; a second lifecycle server refuses all. */
static const char lifecycle_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"lc\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"%1$s\"; max_children = 64; },\n"
    "  { name = \"refuse\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%4$d\"; handler = \"%3$s\";\n"
    "    concurrency = \"%1$s\"; max_children = 64;\n"
    "    options = { refuse = true; }; },\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%5$d\";\n"
    "    handler = \"echo\"; concurrency = \"%1$s\"; max_children = 64; }\n"
    ");\n";

/*
 * %1$s model, %2$s shutdown_timeout, %4$s slow.so, %5$d delay_ms, %6$s
 * more server settings.
 */
static const char slow_conf[] =
    "daemon: { shutdown_timeout = %2$s; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"slow\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"%4$s\"; concurrency = \"%1$s\"; max_children = 64;\n"
    "    options = { delay_ms = %5$d; }; %6$s }\n"
    ");\n";

/* The models that serve a request beside the accept loop. */
static const char *const pool_models[] = { "threading", "forking" };

struct servers {
	struct h_daemon d;
	int lc, refuse, echo;
};

static void
lifecycle_start(struct servers *s, const char *model)
{
	const char *conf;

	s->lc = h_free_port();
	s->refuse = h_free_port();
	s->echo = h_free_port();
	conf = h_write_file("lifecycle.conf", lifecycle_conf, model, s->lc,
	    h_fixture("lifecycle"), s->refuse, s->echo);
	h_daemon_start(&s->d, conf, NULL);
	h_daemon_wait_port(&s->d, s->lc);
	h_daemon_wait_port(&s->d, s->refuse);
	h_daemon_wait_port(&s->d, s->echo);
}

/* Returns the port of the one slow server. */
static int
slow_start(struct h_daemon *d, const char *model,
    const char *shutdown_timeout, int delay_ms, const char *extra)
{
	int port = h_free_port();
	const char *conf;

	conf = h_write_file("slow.conf", slow_conf, model, shutdown_timeout,
	    port, h_fixture("slow"), delay_ms, extra);
	h_daemon_start(d, conf, NULL);
	h_daemon_wait_port(d, port);
	return port;
}

/*
 * Step by step: setup answers before the client sends anything, handle
 * answers each line as it comes, finish runs once the client is done.
 * The log names the client (read after the stop, when it is complete).
 */
START_TEST(test_hooks_in_order)
{
	const char *client;
	struct servers s;
	int fd;

	lifecycle_start(&s, h_models[_i]);
	fd = h_connect(s.lc);
	client = h_client_name(fd);
	h_expect_line(&s.d, fd, "setup\n", NULL);
	h_send(fd, "one\n");
	h_expect_line(&s.d, fd, "handle one\n", NULL);
	h_send(fd, "two\n");
	h_expect_line(&s.d, fd, "handle two\n", NULL);
	h_shutdown_write(fd);
	h_expect_line(&s.d, fd, "finish\n", NULL);
	h_expect_eof(fd);
	close(fd);
	h_exchange(&s.d, s.lc, "three\nfour\n",
	    "setup\nhandle three\nhandle four\nfinish\n", NULL);
	h_expect_clean_stop(&s.d);
	ck_assert_msg(h_log_contains(&s.d, client), "no log line names the "
	    "client %s%s", client, h_daemon_log_tail(&s.d));
}
END_TEST

/*
 * A failing handle: handle_error gets its value, finish still runs after
 * it, the daemon closes the connection without waiting for the client,
 * and both this server and the others go on serving.
 */
START_TEST(test_handle_error_then_serving)
{
	struct servers s;
	int fd;

	lifecycle_start(&s, h_models[_i]);
	fd = h_connect(s.lc);
	h_send(fd, "fail\n");
	h_expect_rest(&s.d, fd, "setup\nhandle_error -1\nfinish\n",
	    "a failing handle");
	close(fd);
	h_exchange(&s.d, s.lc, "again\n", "setup\nhandle again\nfinish\n",
	    NULL);
	h_exchange(&s.d, s.echo, "other server\n", "other server\n", NULL);
	h_expect_clean_stop(&s.d);
}
END_TEST

START_TEST(test_verify_request_refuses)
{
	struct servers s;
	int fd;

	lifecycle_start(&s, h_models[_i]);
	fd = h_connect(s.refuse);
	h_expect_eof(fd);
	close(fd);
	h_exchange(&s.d, s.lc, "x\n", "setup\nhandle x\nfinish\n", NULL);
	h_expect_clean_stop(&s.d);
}
END_TEST

/*
 * SIGTERM while a request sleeps: it completes, new clients are refused
 * and the daemon exits 0. Where requests run beside the accept loop (all
 * but sync), the listener must be closed at once, even while the request
 * is still in flight: a forked child must not keep it open either.
 */
START_TEST(test_sigterm_lets_request_finish)
{
	bool beside_loop = strcmp(h_models[_i], "sync") != 0;
	struct h_daemon d;
	int port, fd;

	port = slow_start(&d, h_models[_i], "10.0", 1500, "");
	fd = h_connect(port);
	h_send(fd, "slow\n");
	h_shutdown_write(fd);
	h_sleep_ms(300);
	h_daemon_signal(&d, SIGTERM);
	if (beside_loop) {
		h_sleep_ms(300);
		h_expect_refused(&d, port, "after SIGTERM, request in flight");
	}
	h_expect_rest(&d, fd, "slow\n", "in-flight request");
	close(fd);
	h_expect_refused(&d, port, "after SIGTERM, reply received");
	h_expect_exit_ok(&d, h_daemon_wait_exit(&d), "SIGTERM");
}
END_TEST

/*
 * A client that never sends leaves its request blocked in ss_readline;
 * shutdown_timeout must cut it so the daemon stops (well before the
 * 30 s request_timeout) and the client sees its connection closed.
 */
START_TEST(test_shutdown_timeout_cuts_request)
{
	struct h_daemon d;
	int port, fd;

	port = slow_start(&d, h_models[_i], "0.5", 0, "");
	fd = h_connect(port);
	h_sleep_ms(300);
	h_expect_clean_stop(&d);
	h_expect_closed(&d, fd, "abandoned request");
	close(fd);
}
END_TEST

/*
 * SIGINT stops like SIGTERM: the request in flight (its first reply
 * already received, its second line sleeping in the plugin) gets its
 * whole reply, new clients are refused, and the daemon exits 0.
 */
START_TEST(test_sigint_lets_request_finish)
{
	struct h_daemon d;
	int port, fd;

	port = slow_start(&d, h_models[_i], "10.0", 800, "");
	fd = h_connect(port);
	h_send(fd, "one\n");
	h_expect_line(&d, fd, "one\n", "slow request, first line");
	h_send(fd, "two\n");
	h_shutdown_write(fd);
	h_sleep_ms(300);
	h_daemon_signal(&d, SIGINT);
	h_expect_rest(&d, fd, "two\n", "slow request in flight at SIGINT");
	close(fd);
	h_expect_refused(&d, port, "after SIGINT");
	h_expect_exit_ok(&d, h_daemon_wait_exit(&d), "SIGINT");
}
END_TEST

/*
 * block_on_close = false: SIGTERM does not wait for a request sleeping
 * 3 s in the plugin. The daemon exits 0 and the client gets its
 * connection closed, never the delayed reply.
 */
START_TEST(test_block_on_close_false)
{
	const char *model = pool_models[_i];
	struct h_daemon d;
	int port, fd;

	port = slow_start(&d, model, "10.0", 3000, "block_on_close = false;");
	fd = h_connect(port);
	h_send(fd, "slow\n");
	h_shutdown_write(fd);
	h_sleep_ms(300);
	h_expect_exit_ok(&d, h_daemon_stop(&d, SIGTERM), h_path("SIGTERM, "
	    "%s, block_on_close = false", model));
	h_expect_closed(&d, fd, h_path("%s, block_on_close = false: the "
	    "in-flight request", model));
	close(fd);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "hooks_in_order", test_hooks_in_order, H_NMODELS },
		{ "handle_error_then_serving", test_handle_error_then_serving,
		    H_NMODELS },
		{ "verify_request_refuses", test_verify_request_refuses,
		    H_NMODELS },
		{ "sigterm_lets_request_finish",
		    test_sigterm_lets_request_finish, H_NMODELS },
		{ "shutdown_timeout_cuts_request",
		    test_shutdown_timeout_cuts_request, H_NMODELS },
		{ "sigint_lets_request_finish",
		    test_sigint_lets_request_finish, H_NMODELS },
		{ "block_on_close_false", test_block_on_close_false,
		    sizeof(pool_models) / sizeof(pool_models[0]) },
	};
	Suite *suite = suite_create("lifecycle");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
