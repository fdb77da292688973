/*
 * check_limits.c - the timeouts and limits a server enforces on requests:
 * max_children (a queue, not a refusal), request_timeout, max_request_time,
 * max_line, max_packet_size and max_per_source, and that one busy server
 * limits no other. Seen through the fixture plugins
 * tests/fixtures/lifecycle.c and slow.c and the shipped echo.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* The models with a cap on requests in flight (sync serves one anyway). */
static const char *const capped_models[] = { "threading", "forking" };

static const char *const dgram_transports[] = { "udp", "unix-dgram" };

/* %1$s model of the echo server, %3$s slow.so; the slow one is sync. */
static const char busy_conf[] =
    "daemon: { shutdown_timeout = 10.0; };\n"
    "servers = (\n"
    "  { name = \"slow\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"sync\";\n"
    "    options = { delay_ms = 2000; }; },\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%4$d\";\n"
    "    handler = \"echo\"; concurrency = \"%1$s\"; }\n"
    ");\n";

/* h_ep_start with a concurrency model and more settings. */
static void
server_start(struct h_daemon *d, const struct h_ep *e, const char *handler,
    const char *model, const char *extra)
{
	h_ep_start(d, e, handler, h_path("concurrency = \"%s\"; %s", model,
	    extra));
}

/* Starts the one lifecycle server "lc" on tcp; returns its port. */
static int
lifecycle_start(struct h_daemon *d, const char *model, const char *extra)
{
	struct h_ep e;

	h_ep_init(&e, "tcp", "lc");
	server_start(d, &e, h_fixture("lifecycle"), model, extra);
	return e.port;
}

/* Starts the one echo server "short_lines" on tcp; returns its port. */
static int
echo_start(struct h_daemon *d, const char *model, const char *extra)
{
	struct h_ep e;

	h_ep_init(&e, "tcp", "short_lines");
	server_start(d, &e, "echo", model, extra);
	return e.port;
}

/* --- max_children -------------------------------------------------------- */

/*
 * At max_children requests in flight the next client waits in the listen
 * queue, neither refused nor served, and is served as soon as one of the
 * others finishes.
 */
START_TEST(test_max_children_queues)
{
	const char *model = capped_models[_i];
	struct h_daemon d;
	int port, a, b, c;

	port = lifecycle_start(&d, model, "max_children = 2;");
	a = h_connect(port);
	h_expect_line(&d, a, "setup\n", "client A");
	b = h_connect(port);
	h_expect_line(&d, b, "setup\n", "client B");
	c = h_connect(port);
	h_expect_silence(&d, c, H_SILENCE_MS, "client C, third of "
	    "max_children = 2");
	h_send(a, "quit\n");
	h_expect_line(&d, a, "finish\n", "client A after quit");
	h_expect_eof(a);
	close(a);
	h_expect_line(&d, c, "setup\n", "client C once A has finished");
	h_send(b, "quit\n");
	h_expect_rest(&d, b, "finish\n", "client B after quit");
	close(b);
	h_send(c, "quit\n");
	h_expect_rest(&d, c, "finish\n", "client C after quit");
	close(c);
	h_expect_clean_stop(&d);
}
END_TEST

/* --- request_timeout and max_request_time -------------------------------- */

/*
 * A client that sends nothing: ss_readline fails after request_timeout,
 * handle returns -1, handle_error and finish run, the connection closes,
 * and the server goes on serving.
 */
START_TEST(test_request_timeout_cuts_silent_client)
{
	struct h_daemon d;
	long start, waited;
	int port, fd;

	port = lifecycle_start(&d, h_models[_i], "request_timeout = 0.5;");
	start = h_now_ms();
	fd = h_connect(port);
	h_expect_line(&d, fd, "setup\n", "silent client");
	h_expect_rest(&d, fd, "handle_error -1\nfinish\n", "silent client");
	waited = h_now_ms() - start;
	close(fd);
	/* A lower bound only: a busy machine makes it later, never sooner. */
	ck_assert_msg(waited >= 400, "silent client cut after %ld ms, before "
	    "request_timeout = 0.5%s", waited, h_daemon_log_tail(&d));
	h_exchange(&d, port, "x\nquit\n", "setup\nhandle x\nfinish\n", NULL);
	h_expect_clean_stop(&d);
}
END_TEST

#define TICK_MS 500

/*
 * A client that sends "tick\n" every TICK_MS, well inside request_timeout,
 * and reads each echo, for up to `ms`: returns the milliseconds until
 * the daemon closed the connection, or -1 when it was served throughout.
 */
static long
ticking_client(struct h_daemon *d, int fd, long ms)
{
	long start = h_now_ms();
	char buf[16];
	size_t got;
	ssize_t r;

	while (h_now_ms() - start < ms) {
		if (send(fd, "tick\n", 5, MSG_NOSIGNAL) != 5)
			return h_now_ms() - start;
		/* A line sent as the daemon closes may earn a reset. */
		for (got = 0; got < 5; got += (size_t)r) {
			do
				r = recv(fd, buf + got, 5 - got, 0);
			while (r < 0 && errno == EINTR);
			ck_assert_msg(r >= 0 || errno == ECONNRESET,
			    "recv: %s%s", strerror(errno),
			    h_daemon_log_tail(d));
			if (r <= 0)
				return h_now_ms() - start;
		}
		ck_assert_msg(memcmp(buf, "tick\n", 5) == 0, "expected the "
		    "echo \"tick\\n\", got %s%s", h_quote(buf, got),
		    h_daemon_log_tail(d));
		h_sleep_ms(TICK_MS);
	}
	return -1;
}

/*
 * request_timeout = 1, max_request_time = 2: a client sending a line
 * every 0.5 s, which request_timeout alone would serve for ever, is cut
 * (at 2 s; only a lower bound is checked); the log names
 * max_request_time in the request's error and in its access line, and
 * the server serves on.
 */
START_TEST(test_max_request_time_cuts)
{
	const char *client;
	struct h_daemon d;
	int port, fd;
	long cut;

	port = echo_start(&d, h_models[_i], "request_timeout = 1; "
	    "max_request_time = 2.0;");
	fd = h_connect(port);
	client = h_client_name(fd);
	cut = ticking_client(&d, fd, H_TIMEOUT_MS);
	close(fd);
	ck_assert_msg(cut >= 0, "a client sending a line every %d ms was "
	    "still served after %d ms with max_request_time = 2%s", TICK_MS,
	    H_TIMEOUT_MS, h_daemon_log_tail(&d));
	ck_assert_msg(cut >= 1500, "cut after %ld ms, before max_request_time "
	    "= 2%s", cut, h_daemon_log_tail(&d));
	h_exchange(&d, port, "still here\n", "still here\n", NULL);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_line_has_words(&d, "max_request_time (2s) reached",
	    client, "failed"), "no log line says the request of %s failed at "
	    "\"max_request_time (2s) reached\"%s", client,
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has(&d, h_path("server short_lines: %s in=",
	    client), "s failed (-1): max_request_time"), "no access line for "
	    "%s ending in \"failed (-1): max_request_time\"%s", client,
	    h_daemon_log_tail(&d));
}
END_TEST

/* max_request_time = 0 (the default): the same client is served on. */
START_TEST(test_max_request_time_off)
{
	struct h_daemon d;
	int port, fd;
	long cut;

	port = echo_start(&d, "threading", "request_timeout = 1; "
	    "max_request_time = 0;");
	fd = h_connect(port);
	cut = ticking_client(&d, fd, 3200);
	ck_assert_msg(cut < 0, "with max_request_time = 0 a client sending a "
	    "line every %d ms was cut after %ld ms%s", TICK_MS, cut,
	    h_daemon_log_tail(&d));
	close(fd);
	h_expect_clean_stop(&d);
	ck_assert_msg(!h_log_contains(&d, "max_request_time"), "the log names "
	    "max_request_time, which is off%s", h_daemon_log_tail(&d));
}
END_TEST

/* --- max_line and max_packet_size ---------------------------------------- */

/*
 * max_line = 16 counts the '\n': 16 bytes are echoed, 17 or 101 are
 * refused with EMSGSIZE, which the default handle_error logs with the
 * server and the client, and the connection is closed. The server goes
 * on serving.
 */
START_TEST(test_max_line)
{
	char long_line[102];
	const char *client;
	struct h_daemon d;
	int port, fd;

	memset(long_line, 'y', 100);
	strcpy(long_line + 100, "\n");
	port = echo_start(&d, h_models[_i], "max_line = 16;");

	fd = h_connect(port);
	client = h_client_name(fd);
	h_send(fd, "0123456789abcde\n");
	h_expect(fd, "0123456789abcde\n");
	h_send(fd, long_line);
	h_expect_closed(&d, fd, "a 101-byte line after max_line = 16");
	close(fd);

	fd = h_connect(port);
	h_send(fd, "0123456789abcdef\n");
	h_expect_closed(&d, fd, "a 17-byte line with max_line = 16");
	close(fd);

	h_exchange(&d, port, "ok\n", "ok\n", NULL);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_line_has_words(&d, "Message too long",
	    "short_lines", client), "no log line says \"Message too long\" "
	    "naming the server short_lines and the client %s%s", client,
	    h_daemon_log_tail(&d));
}
END_TEST

/*
 * With max_packet_size = 100, a datagram of 100 bytes is served; one of
 * 101 or 200 bytes is dropped, not truncated, with a log line naming the
 * limit and the client; the server goes on serving.
 */
START_TEST(test_oversize_datagram)
{
	const char *transport = dgram_transports[_i];
	char big[201], edge[102], fits[101];
	const char *client;
	struct h_daemon d;
	struct h_ep e;
	int fd;

	memset(big, 'z', 199);
	strcpy(big + 199, "\n");
	memset(edge, 'e', 100);
	strcpy(edge + 100, "\n");
	memset(fits, 'f', 99);
	strcpy(fits + 99, "\n");
	h_ep_init(&e, transport, "echo");
	server_start(&d, &e, "echo", "threading", "max_packet_size = 100;");
	fd = h_ep_dgram_client(&e, &client);
	h_ep_dgram_send(&e, fd, big, 200);
	h_expect_silence(&d, fd, H_SILENCE_MS, h_path("%s, a 200-byte datagram "
	    "with max_packet_size = 100", transport));
	h_daemon_wait_words(&d, "max_packet_size", client, NULL);
	h_ep_dgram_send(&e, fd, edge, 101);
	h_expect_silence(&d, fd, H_SILENCE_MS, h_path("%s, a 101-byte datagram "
	    "with max_packet_size = 100", transport));
	h_ep_dgram_send(&e, fd, fits, 100);
	h_dgram_expect_reply(&d, fd, fits, h_path("%s, a 100-byte datagram",
	    transport));
	h_ep_dgram_send(&e, fd, "small\n", 6);
	h_dgram_expect_reply(&d, fd, "small\n", transport);
	close(fd);
	h_expect_clean_stop(&d);
}
END_TEST

/* --- max_per_source ------------------------------------------------------ */

/* %1$s model, %2$d port, %3$s lifecycle.so, %4$d workers. */
static const char per_source_conf[] =
    "daemon: { shutdown_timeout = 5.0; };\n"
    "servers = (\n"
    "  { name = \"ps\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"%1$s\"; workers = %4$d;\n"
    "    max_per_source = 2; }\n"
    ");\n";

static const struct { const char *model; int workers; } per_source_cases[] = {
	{ "threading", 0 }, { "forking", 0 }, { "threading", 4 },
	{ "forking", 4 },
};

/*
 * A connection from 127.0.0.3 that gets "setup\n", tried for 10 s: a
 * forking server releases a count only when it has reaped the child.
 */
static int
served_again(int port)
{
	char buf[16];
	long deadline = h_now_ms() + 10000;
	int fd;

	while (h_now_ms() < deadline) {
		fd = h_connect_from("127.0.0.3", port);
		if (recv(fd, buf, 6, MSG_WAITALL) == 6 &&
		    memcmp(buf, "setup\n", 6) == 0)
			return fd;
		close(fd);
		h_sleep_ms(100);
	}
	return -1;
}

/*
 * max_per_source = 2: a third request from the same address while two
 * are in flight is closed unserved and logged; another address is
 * served; once one ends, the address is served again. The clients use
 * 127.0.0.3 and .4, so the harness's readiness probe from 127.0.0.1
 * counts for neither.
 */
START_TEST(test_max_per_source)
{
	struct h_daemon d;
	int port = h_free_port(), a, b, c, other, again;

	h_daemon_start(&d, h_write_file("ps.conf", per_source_conf,
	    per_source_cases[_i].model, port, h_fixture("lifecycle"),
	    per_source_cases[_i].workers), NULL);
	h_daemon_wait_port(&d, port);
	a = h_connect_from("127.0.0.3", port);
	h_expect_line(&d, a, "setup\n", "first from 127.0.0.3");
	b = h_connect_from("127.0.0.3", port);
	h_expect_line(&d, b, "setup\n", "second from 127.0.0.3");
	c = h_connect_from("127.0.0.3", port);
	h_expect_closed(&d, c, "third from 127.0.0.3");
	other = h_connect_from("127.0.0.4", port);
	h_expect_line(&d, other, "setup\n", "first from 127.0.0.4");
	h_exchange_fd(&d, a, "quit\n", "finish\n", "first from 127.0.0.3");
	/* A forking parent releases the count when it reaps the child. */
	again = served_again(port);
	ck_assert_msg(again >= 0, "127.0.0.3 not served again after one of "
	    "its requests ended%s", h_daemon_log_tail(&d));
	h_exchange_fd(&d, b, "quit\n", "finish\n", "second from 127.0.0.3");
	h_exchange_fd(&d, again, "quit\n", "finish\n",
	    "127.0.0.3 served again");
	h_exchange_fd(&d, other, "quit\n", "finish\n", "first from 127.0.0.4");
	close(c);
	ck_assert_msg(h_log_contains(&d, "refused: max_per_source (2)"),
	    "no log line for the refused request%s", h_daemon_log_tail(&d));
	h_expect_clean_stop(&d);
}
END_TEST

/* --- servers are independent --------------------------------------------- */

/*
 * Servers are independent: while a sync server sits in a slow request,
 * another server of the same daemon answers at once. The order of the
 * replies shows it, not a clock.
 */
START_TEST(test_busy_server_does_not_delay_others)
{
	struct h_daemon d;
	int slow, echo, fd;

	slow = h_free_port();
	echo = h_free_port();
	h_daemon_start(&d, h_write_file("busy.conf", busy_conf, h_models[_i],
	    slow, h_fixture("slow"), echo), NULL);
	h_daemon_wait_port(&d, slow);
	h_daemon_wait_port(&d, echo);
	fd = h_connect(slow);
	h_send(fd, "slow\n");
	h_shutdown_write(fd);
	h_exchange(&d, echo, "quick\n", "quick\n", NULL);
	h_expect_silence(&d, fd, H_SILENCE_MS, "slow server while the other "
	    "one answered");
	h_expect_rest(&d, fd, "slow\n", "slow server, in the end");
	close(fd);
	h_expect_clean_stop(&d);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "max_children_queues", test_max_children_queues,
		    sizeof(capped_models) / sizeof(capped_models[0]) },
		{ "request_timeout_cuts_silent_client",
		    test_request_timeout_cuts_silent_client, H_NMODELS },
		{ "max_request_time_cuts", test_max_request_time_cuts,
		    H_NMODELS },
		{ "max_request_time_off", test_max_request_time_off, 0 },
		{ "max_line", test_max_line, H_NMODELS },
		{ "oversize_datagram", test_oversize_datagram,
		    sizeof(dgram_transports) / sizeof(dgram_transports[0]) },
		{ "max_per_source", test_max_per_source,
		    sizeof(per_source_cases) / sizeof(per_source_cases[0]) },
		{ "busy_server_does_not_delay_others",
		    test_busy_server_does_not_delay_others, H_NMODELS },
	};
	Suite *suite = suite_create("limits");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
