/*
 * check_lifecycle.c - the socketserver request lifecycle and a clean stop,
 * under each concurrency model, seen through the fixture plugins
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

/* %1$s model, %2$s shutdown_timeout, %4$s slow.so, %5$d delay_ms. */
static const char slow_conf[] =
    "daemon: { shutdown_timeout = %2$s; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"slow\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"%4$s\"; concurrency = \"%1$s\"; max_children = 64;\n"
    "    options = { delay_ms = %5$d; }; }\n"
    ");\n";

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
    const char *shutdown_timeout, int delay_ms)
{
	int port = h_free_port();
	const char *conf;

	conf = h_write_file("slow.conf", slow_conf, model, shutdown_timeout,
	    port, h_fixture("slow"), delay_ms);
	h_daemon_start(d, conf, NULL);
	h_daemon_wait_port(d, port);
	return port;
}

static void
expect_clean_stop(struct h_daemon *d, int code)
{
	ck_assert_msg(code == 0, "sockservd exited with %d on SIGTERM, "
	    "expected 0%s", code, h_daemon_log_tail(d));
}

/* Sends `request` and end of input; the reply up to EOF must be `reply`. */
static void
exchange(struct servers *s, int port, const char *request, const char *reply)
{
	int fd = h_connect(port);
	char buf[256];
	size_t n;

	h_send(fd, request);
	h_shutdown_write(fd);
	n = h_recv_all(fd, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, reply) == 0, "request %s: expected %s, "
	    "received %s%s", h_quote(request, strlen(request)),
	    h_quote(reply, strlen(reply)), h_quote(buf, n),
	    h_daemon_log_tail(&s->d));
	close(fd);
}

static void
expect_line(struct servers *s, int fd, const char *line)
{
	char buf[256];
	size_t n = h_recv_line(fd, buf, sizeof(buf));

	ck_assert_msg(strcmp(buf, line) == 0, "expected the line %s, "
	    "received %s%s", h_quote(line, strlen(line)), h_quote(buf, n),
	    h_daemon_log_tail(&s->d));
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
	expect_line(&s, fd, "setup\n");
	h_send(fd, "one\n");
	expect_line(&s, fd, "handle one\n");
	h_send(fd, "two\n");
	expect_line(&s, fd, "handle two\n");
	h_shutdown_write(fd);
	expect_line(&s, fd, "finish\n");
	h_expect_eof(fd);
	close(fd);
	exchange(&s, s.lc, "three\nfour\n",
	    "setup\nhandle three\nhandle four\nfinish\n");
	expect_clean_stop(&s.d, h_daemon_stop(&s.d, SIGTERM));
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
	const char *expected = "setup\nhandle_error -1\nfinish\n";
	struct servers s;
	char buf[256];
	size_t n;
	int fd;

	lifecycle_start(&s, h_models[_i]);
	fd = h_connect(s.lc);
	h_send(fd, "fail\n");
	n = h_recv_all(fd, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, expected) == 0, "expected %s then EOF, "
	    "received %s%s", h_quote(expected, strlen(expected)),
	    h_quote(buf, n), h_daemon_log_tail(&s.d));
	close(fd);
	exchange(&s, s.lc, "again\n", "setup\nhandle again\nfinish\n");
	exchange(&s, s.echo, "other server\n", "other server\n");
	expect_clean_stop(&s.d, h_daemon_stop(&s.d, SIGTERM));
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
	exchange(&s, s.lc, "x\n", "setup\nhandle x\nfinish\n");
	expect_clean_stop(&s.d, h_daemon_stop(&s.d, SIGTERM));
}
END_TEST

/* A stopping daemon refuses new clients rather than queueing them. */
static void
expect_refused(struct h_daemon *d, int port, const char *when)
{
	int fd = h_try_connect(port);

	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "connect after "
	    "SIGTERM, %s: expected ECONNREFUSED, got %s%s", when,
	    fd >= 0 ? "a connection" : strerror(errno), h_daemon_log_tail(d));
}

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
	char buf[64];
	int port, fd;
	size_t n;

	port = slow_start(&d, h_models[_i], "10.0", 1500);
	fd = h_connect(port);
	h_send(fd, "slow\n");
	h_shutdown_write(fd);
	h_sleep_ms(300);
	h_daemon_signal(&d, SIGTERM);
	if (beside_loop) {
		h_sleep_ms(300);
		expect_refused(&d, port, "request in flight");
	}
	n = h_recv_all(fd, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, "slow\n") == 0, "in-flight request: "
	    "expected \"slow\\n\", received %s%s", h_quote(buf, n),
	    h_daemon_log_tail(&d));
	close(fd);
	expect_refused(&d, port, "reply received");
	expect_clean_stop(&d, h_daemon_wait_exit(&d));
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
	char c;
	int port, fd;
	ssize_t r;

	port = slow_start(&d, h_models[_i], "0.5", 0);
	fd = h_connect(port);
	h_sleep_ms(300);
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM));
	r = recv(fd, &c, 1, 0);
	ck_assert_msg(r == 0 || (r < 0 && errno == ECONNRESET), "abandoned "
	    "request: expected its connection closed, recv gave %s%s",
	    r > 0 ? "data" : strerror(errno), h_daemon_log_tail(&d));
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
	};
	Suite *suite = suite_create("lifecycle");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
