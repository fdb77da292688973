/*
 * check_limits.c - the limits a server enforces (max_children,
 * request_timeout, max_request_time, max_line), IPv6 and dual-stack listeners, SIGINT as a
 * clean stop, and the client's name in the log, seen through the fixture
 * plugins tests/fixtures/lifecycle.c and slow.c and the shipped echo.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* How long a client waits to be sure that nothing arrives. */
#define SILENCE_MS 500

/* The models with a cap on requests in flight (sync serves one anyway). */
static const char *const capped_models[] = { "threading", "forking" };

/* %1$s model, %2$d port, %3$s lifecycle.so, %4$s extra server settings. */
static const char lifecycle_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"lc\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"%1$s\"; %4$s }\n"
    ");\n";

/* %1$s model, %2$d port, %3$s extra server settings. */
static const char echo_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"short_lines\"; transport = \"tcp\";\n"
    "    listen = \"127.0.0.1:%2$d\"; handler = \"echo\";\n"
    "    concurrency = \"%1$s\"; %3$s }\n"
    ");\n";

/* %1$d port of the IPv6-only server, %2$d port of the dual-stack one. */
static const char ipv6_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"v6\"; transport = \"tcp\"; listen = \"[::1]:%1$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; },\n"
    "  { name = \"dual\"; transport = \"tcp\"; listen = \"*:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; }\n"
    ");\n";

/* %1$s model, %2$d port, %3$s slow.so, %4$d delay_ms. */
static const char slow_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"slow\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"%1$s\";\n"
    "    options = { delay_ms = %4$d; }; }\n"
    ");\n";

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

/* Starts the one lifecycle server; returns its port. */
static int
lifecycle_start(struct h_daemon *d, const char *model, const char *extra)
{
	int port = h_free_port();
	const char *conf;

	conf = h_write_file("lifecycle.conf", lifecycle_conf, model, port,
	    h_fixture("lifecycle"), extra);
	h_daemon_start(d, conf, NULL);
	h_daemon_wait_port(d, port);
	return port;
}

/* Starts the one echo server "short_lines"; returns its port. */
static int
echo_start(struct h_daemon *d, const char *model, const char *extra)
{
	int port = h_free_port();
	const char *conf;

	conf = h_write_file("echo.conf", echo_conf, model, port, extra);
	h_daemon_start(d, conf, NULL);
	h_daemon_wait_port(d, port);
	return port;
}

static void
expect_clean_stop(struct h_daemon *d, int code, const char *sig)
{
	ck_assert_msg(code == 0, "sockservd exited with %d on %s, expected 0%s",
	    code, sig, h_daemon_log_tail(d));
}

static void
expect_line(struct h_daemon *d, int fd, const char *line, const char *who)
{
	char buf[256];
	size_t n = h_recv_line(fd, buf, sizeof(buf));

	ck_assert_msg(strcmp(buf, line) == 0, "%s: expected the line %s, "
	    "received %s%s", who, h_quote(line, strlen(line)),
	    h_quote(buf, n), h_daemon_log_tail(d));
}

/* Everything up to EOF must be `rest`. */
static void
expect_rest(struct h_daemon *d, int fd, const char *rest, const char *who)
{
	char buf[512];
	size_t n = h_recv_all(fd, buf, sizeof(buf));

	ck_assert_msg(strcmp(buf, rest) == 0, "%s: expected %s then EOF, "
	    "received %s%s", who, h_quote(rest, strlen(rest)),
	    h_quote(buf, n), h_daemon_log_tail(d));
}

/* Sends `request` and end of input; the reply up to EOF must be `reply`. */
static void
exchange_fd(struct h_daemon *d, int fd, const char *request,
    const char *reply)
{
	h_send(fd, request);
	h_shutdown_write(fd);
	expect_rest(d, fd, reply, h_quote(request, strlen(request)));
	close(fd);
}

static void
exchange(struct h_daemon *d, int port, const char *request,
    const char *reply)
{
	exchange_fd(d, h_connect(port), request, reply);
}

/*
 * For SILENCE_MS nothing may happen on the connection: no data, no end
 * of input, no reset.
 */
static void
expect_silence(struct h_daemon *d, int fd, const char *who)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long deadline = h_now_ms() + SILENCE_MS;
	char buf[256];
	ssize_t r = 0;
	long left;
	int n = 0;

	while ((left = deadline - h_now_ms()) > 0) {
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	ck_assert_msg(n >= 0, "poll: %s", strerror(errno));
	if (n > 0) {
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		ck_assert_msg(0, "%s: expected nothing within %d ms, got %s "
		    "%s%s", who, SILENCE_MS,
		    r > 0 ? "data" : r == 0 ? "end of input" : strerror(errno),
		    h_quote(buf, r > 0 ? (size_t)r : 0), h_daemon_log_tail(d));
	}
}

/* The daemon must close the connection without sending anything. */
static void
expect_closed(struct h_daemon *d, int fd, const char *who)
{
	char buf[256];
	ssize_t r;

	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 0 || (r < 0 && errno == ECONNRESET), "%s: expected "
	    "the connection closed (EOF or ECONNRESET), recv gave %s %s%s",
	    who, r > 0 ? "data" : strerror(errno),
	    h_quote(buf, r > 0 ? (size_t)r : 0), h_daemon_log_tail(d));
}

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
	expect_line(&d, a, "setup\n", "client A");
	b = h_connect(port);
	expect_line(&d, b, "setup\n", "client B");
	c = h_connect(port);
	expect_silence(&d, c, "client C, third of max_children = 2");
	h_send(a, "quit\n");
	expect_line(&d, a, "finish\n", "client A after quit");
	h_expect_eof(a);
	close(a);
	expect_line(&d, c, "setup\n", "client C once A has finished");
	h_send(b, "quit\n");
	expect_rest(&d, b, "finish\n", "client B after quit");
	close(b);
	h_send(c, "quit\n");
	expect_rest(&d, c, "finish\n", "client C after quit");
	close(c);
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
}
END_TEST

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
	expect_line(&d, fd, "setup\n", "silent client");
	expect_rest(&d, fd, "handle_error -1\nfinish\n", "silent client");
	waited = h_now_ms() - start;
	close(fd);
	/* A lower bound only: a busy machine makes it later, never sooner. */
	ck_assert_msg(waited >= 400, "silent client cut after %ld ms, before "
	    "request_timeout = 0.5%s", waited, h_daemon_log_tail(&d));
	exchange(&d, port, "x\nquit\n", "setup\nhandle x\nfinish\n");
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
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
	exchange(&d, port, "still here\n", "still here\n");
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
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
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
	ck_assert_msg(!h_log_contains(&d, "max_request_time"), "the log names "
	    "max_request_time, which is off%s", h_daemon_log_tail(&d));
}
END_TEST

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
	expect_closed(&d, fd, "a 101-byte line after max_line = 16");
	close(fd);

	fd = h_connect(port);
	h_send(fd, "0123456789abcdef\n");
	expect_closed(&d, fd, "a 17-byte line with max_line = 16");
	close(fd);

	exchange(&d, port, "ok\n", "ok\n");
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
	ck_assert_msg(h_log_line_has_words(&d, "Message too long",
	    "short_lines", client), "no log line says \"Message too long\" "
	    "naming the server short_lines and the client %s%s", client,
	    h_daemon_log_tail(&d));
}
END_TEST

/* Fails, rather than skips, on a machine without the ::1 loopback. */
static void
require_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int fd;

	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0, "IPv6 unavailable on this machine: "
	    "socket(AF_INET6): %s; this test needs the ::1 loopback",
	    strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0,
	    "IPv6 unavailable on this machine: cannot bind [::1]:0: %s; "
	    "this test needs the ::1 loopback", strerror(errno));
	close(fd);
}

/*
 * "[::1]:PORT" serves IPv6 only; "*:PORT" serves IPv4 and IPv6. The log
 * names an IPv6 client "[::1]:port".
 */
START_TEST(test_ipv6_and_dual_stack)
{
	const char *conf, *client;
	struct h_daemon d;
	int v6, dual, fd;

	require_ipv6_loopback();
	v6 = h_free_port();
	dual = h_free_port();
	conf = h_write_file("ipv6.conf", ipv6_conf, v6, dual);
	h_daemon_start(&d, conf, NULL);
	/* Every listener is bound before any accepts. */
	h_daemon_wait_port(&d, dual);

	fd = h_connect6(v6);
	client = h_client_name(fd);
	exchange_fd(&d, fd, "over ipv6\n", "over ipv6\n");
	fd = h_try_connect(v6);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "127.0.0.1:%d, with "
	    "the server on [::1]:%d only: expected ECONNREFUSED, got %s%s",
	    v6, v6, fd >= 0 ? "a connection" : strerror(errno),
	    h_daemon_log_tail(&d));

	exchange(&d, dual, "dual over ipv4\n", "dual over ipv4\n");
	exchange_fd(&d, h_connect6(dual), "dual over ipv6\n",
	    "dual over ipv6\n");

	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
	ck_assert_msg(h_log_line_has_words(&d, "request from", client, NULL),
	    "no log line says \"request from %s\"%s", client,
	    h_daemon_log_tail(&d));
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

	port = h_free_port();
	h_daemon_start(&d, h_write_file("slow.conf", slow_conf, h_models[_i],
	    port, h_fixture("slow"), 800), NULL);
	h_daemon_wait_port(&d, port);
	fd = h_connect(port);
	h_send(fd, "one\n");
	expect_line(&d, fd, "one\n", "slow request, first line");
	h_send(fd, "two\n");
	h_shutdown_write(fd);
	h_sleep_ms(300);
	h_daemon_signal(&d, SIGINT);
	expect_rest(&d, fd, "two\n", "slow request in flight at SIGINT");
	close(fd);
	fd = h_try_connect(port);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "connect after SIGINT: "
	    "expected ECONNREFUSED, got %s%s",
	    fd >= 0 ? "a connection" : strerror(errno), h_daemon_log_tail(&d));
	expect_clean_stop(&d, h_daemon_wait_exit(&d), "SIGINT");
}
END_TEST

/*
 * The debug log line for a request names its client as ss_client_name
 * does, "127.0.0.1:port" with this client's own port (not only the
 * probe h_daemon_wait_port sent).
 */
START_TEST(test_client_name_logged)
{
	const char *client;
	struct h_daemon d;
	int port, fd;

	port = echo_start(&d, h_models[_i], "");
	fd = h_connect(port);
	client = h_client_name(fd);
	exchange_fd(&d, fd, "hello\n", "hello\n");
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
	ck_assert_msg(h_log_contains(&d, "request from 127.0.0.1:"),
	    "no log line says \"request from 127.0.0.1:\"%s",
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has_words(&d, "request from", client, NULL),
	    "no log line says \"request from %s\"%s", client,
	    h_daemon_log_tail(&d));
}
END_TEST

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
	exchange(&d, echo, "quick\n", "quick\n");
	expect_silence(&d, fd, "slow server while the other one answered");
	expect_rest(&d, fd, "slow\n", "slow server, in the end");
	close(fd);
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
}
END_TEST

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
	expect_line(&d, a, "setup\n", "first from 127.0.0.3");
	b = h_connect_from("127.0.0.3", port);
	expect_line(&d, b, "setup\n", "second from 127.0.0.3");
	c = h_connect_from("127.0.0.3", port);
	expect_closed(&d, c, "third from 127.0.0.3");
	other = h_connect_from("127.0.0.4", port);
	expect_line(&d, other, "setup\n", "first from 127.0.0.4");
	exchange_fd(&d, a, "quit\n", "finish\n");
	/* A forking parent releases the count when it reaps the child. */
	again = served_again(port);
	ck_assert_msg(again >= 0, "127.0.0.3 not served again after one of "
	    "its requests ended%s", h_daemon_log_tail(&d));
	exchange_fd(&d, b, "quit\n", "finish\n");
	exchange_fd(&d, again, "quit\n", "finish\n");
	exchange_fd(&d, other, "quit\n", "finish\n");
	close(c);
	ck_assert_msg(h_log_contains(&d, "refused: max_per_source (2)"),
	    "no log line for the refused request%s", h_daemon_log_tail(&d));
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
}
END_TEST

/* %1$d tcp port, %2$d udp port: 127.0.0.3 is denied, the rest allowed. */
static const char access_conf[] =
    "daemon: { shutdown_timeout = 5.0; };\n"
    "servers = (\n"
    "  { name = \"t\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\";\n"
    "    access = { allow = [ \"127.0.0.0/8\" ]; deny = [ \"127.0.0.3\" ]; }; },\n"
    "  { name = \"u\"; transport = \"udp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"sync\";\n"
    "    access = { allow = [ \"10.0.0.0/8\" ]; }; }\n"
    ");\n";

/*
 * Access rules: a denied stream client is closed without a byte and one
 * line is logged; an allowed one is served; a datagram from outside the
 * allow list gets no reply and one log line.
 */
START_TEST(test_access_rules)
{
	struct h_daemon d;
	int tcp = h_free_port(), udp = h_free_port(), fd;
	char buf[64];

	h_daemon_start(&d, h_write_file("access.conf", access_conf, tcp, udp),
	    NULL);
	h_daemon_wait_port(&d, tcp);
	fd = h_connect_from("127.0.0.3", tcp);
	expect_closed(&d, fd, "denied client 127.0.0.3");
	fd = h_connect_from("127.0.0.4", tcp);
	exchange_fd(&d, fd, "hello\n", "hello\n");
	fd = h_udp_connect(AF_INET, udp);
	h_dgram_send(fd, "x\n", 2);
	ck_assert_msg(h_dgram_recv(fd, buf, sizeof(buf), SILENCE_MS) < 0,
	    "a datagram from outside the allow list was answered%s",
	    h_daemon_log_tail(&d));
	close(fd);
	expect_clean_stop(&d, h_daemon_stop(&d, SIGTERM), "SIGTERM");
	ck_assert_msg(h_log_count(&d, "refused by access rules") == 2,
	    "expected one log line per refusal (2)%s", h_daemon_log_tail(&d));
	ck_assert_msg(h_log_contains(&d, "server t: 127.0.0.3:"),
	    "the refusal does not name the client%s", h_daemon_log_tail(&d));
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
		{ "ipv6_and_dual_stack", test_ipv6_and_dual_stack, 0 },
		{ "sigint_lets_request_finish",
		    test_sigint_lets_request_finish, H_NMODELS },
		{ "client_name_logged", test_client_name_logged, H_NMODELS },
		{ "busy_server_does_not_delay_others",
		    test_busy_server_does_not_delay_others, H_NMODELS },
		{ "max_per_source", test_max_per_source,
		    sizeof(per_source_cases) / sizeof(per_source_cases[0]) },
		{ "access_rules", test_access_rules, 0 },
	};
	Suite *suite = suite_create("limits");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
