/*
 * check_proxy.c - proxy_protocol: a real HAProxy (send-proxy and
 * send-proxy-v2, IPv4 and IPv6 clients) in front of sockservd, the
 * client's own address reaching the plugin and the access and
 * max_per_source checks, HAProxy's CRC32C checksum TLV verified;
 * proxy_trusted; and hostile headers sent
 * straight to the daemon, each closing its connection with a log line
 * while the daemon keeps serving.
 *
 * Clients connect from 127.0.0.2 and up, so the address the plugin sees
 * is told apart from HAProxy's own 127.0.0.1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "harness.h"

/* %1$s model, %2$d port, %3$s whoami.so, %4$s more settings. */
static const char proxy_conf[] =
    "servers = (\n"
    "  { name = \"who\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"%1$s\";\n"
    "    proxy_protocol = true;\n"
    "    %4$s }\n"
    ");\n";

/*
 * %1$d..%4$d frontends (v1, v2, v1 on ::1, v2 on ::1), %5$d sockservd;
 * %6$d a v2 frontend with HAProxy's CRC32C TLV, %7$d the same one in
 * front of the test itself, which reads the header.
 */
static const char haproxy_conf[] =
    "global\n"
    "  maxconn 200\n"
    "defaults\n"
    "  mode tcp\n"
    "  timeout connect 10s\n"
    "  timeout client 60s\n"
    "  timeout server 60s\n"
    "listen v1\n"
    "  bind 127.0.0.1:%1$d\n"
    "  server s 127.0.0.1:%5$d send-proxy\n"
    "listen v2\n"
    "  bind 127.0.0.1:%2$d\n"
    "  server s 127.0.0.1:%5$d send-proxy-v2\n"
    "listen v1six\n"
    "  bind [::1]:%3$d\n"
    "  server s 127.0.0.1:%5$d send-proxy\n"
    "listen v2six\n"
    "  bind [::1]:%4$d\n"
    "  server s 127.0.0.1:%5$d send-proxy-v2\n"
    "listen v2crc\n"
    "  bind 127.0.0.1:%6$d\n"
    "  server s 127.0.0.1:%5$d send-proxy-v2 proxy-v2-options crc32c\n"
    "listen v2tap\n"
    "  bind 127.0.0.1:%7$d\n"
    "  server s 127.0.0.1:%8$d send-proxy-v2 proxy-v2-options crc32c\n";

struct setup {
	struct h_daemon d, haproxy;
	int port;		/* sockservd */
	int v1, v2, v1six, v2six;	/* HAProxy's frontends */
	int v2crc, v2tap;
	int tap;		/* v2tap's server: the test's listening socket */
};

static void
start_daemon(struct setup *s, const char *model, const char *more)
{
	static const char *const extra[] = { "-l", "debug", NULL };
	const char *conf;

	s->port = h_free_port();
	conf = h_write_file("proxy.conf", proxy_conf, model, s->port,
	    h_fixture("whoami"), more);
	h_daemon_start(&s->d, conf, extra);
	h_daemon_wait_port(&s->d, s->port);
	/* The readiness probe sent no header: its log line comes first. */
	h_daemon_wait_log(&s->d, "PROXY", 1);
}

static void
start_haproxy(struct setup *s)
{
	const char *conf;

	s->v1 = h_free_port();
	s->v2 = h_free_port();
	s->v1six = h_free_port();
	s->v2six = h_free_port();
	s->v2crc = h_free_port();
	s->v2tap = h_free_port();
	s->tap = h_listen(0);
	conf = h_write_file("haproxy.cfg", haproxy_conf, s->v1, s->v2,
	    s->v1six, s->v2six, s->port, s->v2crc, s->v2tap,
	    h_local_port(s->tap));
	h_spawn(&s->haproxy, (const char *const[]){ h_which("haproxy"),
	    "-db", "-f", conf, NULL }, NULL);
	/* Every frontend is bound before HAProxy accepts on any. */
	h_daemon_wait_port(&s->haproxy, s->v1);
}

static void
stop_all(struct setup *s)
{
	if (s->haproxy.pid != 0) {
		h_daemon_stop(&s->haproxy, SIGTERM);
		close(s->tap);
	}
	h_expect_clean_stop(&s->d);
}

/* Sends a line and expects the whoami line for `who`, then the echo. */
static void
expect_whoami(int fd, const char *who, const char *family, int port)
{
	char want[128], line[256];

	h_send(fd, "hello\n");
	snprintf(want, sizeof(want), "%s %s %d\n", who, family, port);
	h_recv_line(fd, line, sizeof(line));
	ck_assert_msg(strcmp(line, want) == 0, "got %s, expected %s",
	    h_quote(line, strlen(line)), h_quote(want, strlen(want)));
	h_expect(fd, "hello\n");
}

/* A direct connection that sends `n` bytes of `bytes` first. */
static int
send_raw(int port, const char *src, const void *bytes, size_t n)
{
	int fd = h_connect_from(src, port);

	h_send_bytes(fd, bytes, n);
	return fd;
}

/* --- through HAProxy ----------------------------------------------------- */

START_TEST(test_haproxy_passes_the_client)
{
	struct setup s = { 0 };
	int fd, i;

	start_daemon(&s, h_models[_i], "proxy_trusted = [ \"127.0.0.1\" ];");
	start_haproxy(&s);
	for (i = 0; i < 2; i++) {
		const char *src = i == 0 ? "127.0.0.2" : "127.0.0.3";
		int front = i == 0 ? s.v1 : s.v2;

		fd = h_connect_from(src, front);
		expect_whoami(fd, h_client_name(fd), "inet", h_local_port(fd));
		close(fd);
	}
	for (i = 0; i < 2; i++) {
		fd = h_connect6(i == 0 ? s.v1six : s.v2six);
		expect_whoami(fd, h_client_name(fd), "inet6", h_local_port(fd));
		close(fd);
	}
	/* The access line names the client, not HAProxy. */
	h_daemon_wait_log(&s.d, "127.0.0.3", 1);
	stop_all(&s);
}
END_TEST

static const char *const concurrent_models[] = { "threading", "forking" };

START_TEST(test_haproxy_access_and_max_per_source)
{
	struct setup s = { 0 };
	int held, again, other, denied;

	/* A sync server would serve the held request alone: no second. */
	start_daemon(&s, concurrent_models[_i], "max_per_source = 1;\n"
	    "    access = { deny = [ \"127.0.0.3\" ]; };");
	start_haproxy(&s);
	/* One request from .2 in flight: a second from .2 is refused... */
	held = h_connect_from("127.0.0.2", s.v2);
	expect_whoami(held, h_client_name(held), "inet", h_local_port(held));
	again = h_connect_from("127.0.0.2", s.v1);
	h_expect_closed(&s.d, again, "a second request from 127.0.0.2");
	h_daemon_wait_log(&s.d, "max_per_source", 1);
	/* ...one from .4 is not, though all come from HAProxy... */
	other = h_connect_from("127.0.0.4", s.v1);
	expect_whoami(other, h_client_name(other), "inet", h_local_port(other));
	/* ...and .3 is denied by the access rules. */
	denied = h_connect_from("127.0.0.3", s.v2);
	h_expect_closed(&s.d, denied, "127.0.0.3");
	h_daemon_wait_log(&s.d, "access", 1);
	ck_assert(h_log_contains(&s.d, "127.0.0.3"));
	close(held);
	close(again);
	close(other);
	close(denied);
	stop_all(&s);
}
END_TEST

/* CRC32c, bit by bit: the test's own, to check HAProxy's and the daemon's. */
static uint32_t
crc32c(const unsigned char *p, size_t n)
{
	uint32_t crc = ~0u;
	int k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? crc >> 1 ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

/*
 * Reads a v2 header (tcp4, as HAProxy sends for a 127.0.0.x client) from
 * fd and returns the offset of its CRC32C TLV's value, failing when it
 * has none; *len_r is the header's length.
 */
static size_t
read_crc_header(int fd, unsigned char *hdr, size_t cap, size_t *len_r)
{
	size_t len, at;

	ck_assert_msg(h_recv_n(fd, (char *)hdr, 16) == 16 && hdr[12] == 0x21 &&
	    hdr[13] == 0x11, "HAProxy sent no v2 tcp4 header: %s",
	    h_quote((char *)hdr, 16));
	len = 16 + ((size_t)hdr[14] << 8 | hdr[15]);
	ck_assert_msg(len <= cap && h_recv_n(fd, (char *)hdr + 16, len - 16) ==
	    len - 16, "a v2 header of %zu bytes", len);
	for (at = 16 + 12; at + 3 <= len;
	    at += 3 + ((size_t)hdr[at + 1] << 8 | hdr[at + 2]))
		if (hdr[at] == 0x03 && hdr[at + 1] == 0 && hdr[at + 2] == 4)
			break;
	ck_assert_msg(at + 7 <= len, "HAProxy's header holds no CRC32C TLV: "
	    "%s", h_quote((char *)hdr, len));
	*len_r = len;
	return at + 3;
}

/*
 * HAProxy's proxy-v2-options crc32c: the header it sends carries the
 * checksum (seen through the test's own listener, and checked by the
 * test's own CRC32c), and the daemon takes the header and its client.
 */
START_TEST(test_haproxy_crc32c)
{
	struct setup s = { 0 };
	unsigned char hdr[1024];
	size_t len, at;
	uint32_t sent;
	int fd, peer;

	start_daemon(&s, "threading", "proxy_trusted = [ \"127.0.0.1\" ];");
	start_haproxy(&s);
	fd = h_connect_from("127.0.0.2", s.v2tap);
	h_send(fd, "hello\n");
	peer = accept(s.tap, NULL, NULL);
	ck_assert_msg(peer >= 0, "accept: %s", strerror(errno));
	at = read_crc_header(peer, hdr, sizeof(hdr), &len);
	sent = (uint32_t)hdr[at] << 24 | (uint32_t)hdr[at + 1] << 16 |
	    (uint32_t)hdr[at + 2] << 8 | hdr[at + 3];
	memset(hdr + at, 0, 4);
	ck_assert_msg(crc32c(hdr, len) == sent, "HAProxy's CRC32C %08x, the "
	    "header's %08x", sent, crc32c(hdr, len));
	close(peer);
	close(fd);

	fd = h_connect_from("127.0.0.3", s.v2crc);
	expect_whoami(fd, h_client_name(fd), "inet", h_local_port(fd));
	close(fd);
	ck_assert_msg(!h_log_contains(&s.d, "CRC32C"), "a CRC32C complaint%s",
	    h_daemon_log_tail(&s.d));
	stop_all(&s);
}
END_TEST

/* --- straight to the daemon ---------------------------------------------- */

START_TEST(test_trusted_and_untrusted_peers)
{
	static const char hdr[] = "PROXY TCP4 192.0.2.7 127.0.0.1 1234 80\r\n"
	    "hello\n";
	struct setup s = { 0 };
	int fd;

	start_daemon(&s, h_models[_i],
	    "proxy_trusted = [ \"127.0.0.1\", \"127.0.0.4/31\" ];");
	/* A trusted peer names the client, and its data follows at once. */
	fd = send_raw(s.port, "127.0.0.5", hdr, strlen(hdr));
	h_expect(fd, "192.0.2.7:1234 inet 1234\n");
	h_expect(fd, "hello\n");
	close(fd);
	/* Anyone else may not, however good the header. */
	fd = send_raw(s.port, "127.0.0.6", hdr, strlen(hdr));
	h_expect_closed(&s.d, fd, "an untrusted peer");
	close(fd);
	h_daemon_wait_log(&s.d, "proxy_trusted", 1);
	ck_assert(h_log_contains(&s.d, "127.0.0.6"));
	stop_all(&s);
}
END_TEST

START_TEST(test_local_and_unknown_keep_the_peer)
{
	static const char v2_local[16] = "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00";
	static const char v1_unknown[] = "PROXY UNKNOWN\r\n";
	struct setup s = { 0 };
	int fd;

	start_daemon(&s, h_models[_i], "");
	fd = send_raw(s.port, "127.0.0.2", v2_local, sizeof(v2_local));
	expect_whoami(fd, h_client_name(fd), "inet", h_local_port(fd));
	close(fd);
	fd = send_raw(s.port, "127.0.0.2", v1_unknown, strlen(v1_unknown));
	expect_whoami(fd, h_client_name(fd), "inet", h_local_port(fd));
	close(fd);
	stop_all(&s);
}
END_TEST

/* Headers the daemon must refuse, each closing only its connection. */
static const struct bad_header {
	const char *what;
	const char *bytes;
	size_t len;		/* 0: strlen(bytes) */
} bad_headers[] = {
	{ "no header", "hello\n", 0 },
	{ "a v1 header with LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", 0 },
	{ "a v1 header without ports", "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", 0 },
	{ "a v1 header with a bad port",
	  "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", 0 },
	{ "a v1 header with mixed families",
	  "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", 0 },
	{ "a v1 header over 107 bytes", "PROXY UNKNOWN "
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "\r\n", 0 },
	{ "a v2 header of version 1",
	  "\r\n\r\n\0\r\nQUIT\n\x11\x11\x00\x0c" "ABCDEFGHIJKL", 28 },
	{ "a v2 header over the limit",
	  "\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff", 16 },
	{ "a v2 header with a short address block",
	  "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04" "ABCD", 20 },
	{ "a v2 datagram header",
	  "\r\n\r\n\0\r\nQUIT\n\x21\x12\x00\x0c" "ABCDEFGHIJKL", 28 },
	/*
	 * Last, so that its line is logged in full (see below).
	 * 192.0.2.1:4660 -> 198.51.100.2:80, a checksum of 0, not its own.
	 */
	{ "a v2 header whose CRC32C does not match",
	  "\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x13"
	  "\xc0\x00\x02\x01\xc6\x33\x64\x02\x12\x34\x00\x50"
	  "\x03\x00\x04\x00\x00\x00\x00", 35 },
};

START_TEST(test_bad_headers_close_the_connection)
{
	struct setup s = { 0 };
	size_t i, base, n = sizeof(bad_headers) / sizeof(bad_headers[0]);
	int fd;

	start_daemon(&s, h_models[_i], "");
	base = h_log_count(&s.d, "PROXY");
	for (i = 0; i < n; i++) {
		const struct bad_header *b = &bad_headers[i];

		/*
		 * Refusals are logged in full once a second, counted in
		 * between: the last one comes a second after the line
		 * before, so its own reason is logged.
		 */
		if (i == n - 1)
			h_sleep_ms(1100);
		fd = send_raw(s.port, "127.0.0.2", b->bytes,
		    b->len ? b->len : strlen(b->bytes));
		h_expect_closed(&s.d, fd, b->what);
		close(fd);
		h_daemon_wait_log(&s.d, "PROXY", base + i + 1);
	}
	/* Nothing reached the plugin; the daemon serves the next client. */
	ck_assert(!h_log_contains(&s.d, " ok"));
	ck_assert_msg(h_log_contains(&s.d, "CRC32C mismatch"), "the CRC32C "
	    "refusal is not logged as such%s", h_daemon_log_tail(&s.d));
	fd = send_raw(s.port, "127.0.0.2",
	    "PROXY TCP4 192.0.2.9 127.0.0.1 999 80\r\n", 39);
	expect_whoami(fd, "192.0.2.9:999", "inet", 999);
	close(fd);
	stop_all(&s);
}
END_TEST

START_TEST(test_slow_or_silent_peers_are_cut)
{
	struct setup s = { 0 };
	long started;
	int silent, partial, fd;

	start_daemon(&s, h_models[_i], "request_timeout = 1.0;");
	started = h_now_ms();
	silent = h_connect_from("127.0.0.2", s.port);
	partial = send_raw(s.port, "127.0.0.3", "PROXY TCP4 1.2", 14);
	h_expect_closed(&s.d, silent, "a peer that sends nothing");
	h_expect_closed(&s.d, partial, "a peer that stops mid-header");
	ck_assert_msg(h_now_ms() - started >= 900, "cut before "
	    "request_timeout");
	/*
	 * Both at once: refusals are logged once a second (ratelimit.h),
	 * so one line names its peer and the other may be only counted.
	 */
	h_daemon_wait_line(&s.d, "no PROXY header: Connection timed out");
	close(silent);
	close(partial);
	/*
	 * A peer that closes mid-header is logged too: more than two
	 * seconds on, after any count the line above left to a line of its
	 * own, so in full.
	 */
	h_sleep_ms(2300);
	fd = send_raw(s.port, "127.0.0.4", "\r\n\r\n\0\r\nQ", 9);
	close(fd);
	h_daemon_wait_line(&s.d, "127.0.0.4", "PROXY header");
	fd = send_raw(s.port, "127.0.0.2", "PROXY UNKNOWN\r\n", 15);
	h_send(fd, "still here\n");
	h_recv_line(fd, (char[64]){ 0 }, 64);
	h_expect(fd, "still here\n");
	close(fd);
	stop_all(&s);
}
END_TEST

/*
 * max_request_time bounds the wait for the header too: with a
 * request_timeout longer than the harness waits, a peer stuck mid-header
 * is cut at max_request_time = 1 s.
 */
START_TEST(test_max_request_time_bounds_the_header)
{
	struct setup s = { 0 };
	int partial;

	start_daemon(&s, h_models[_i], "request_timeout = 600.0; "
	    "max_request_time = 1.0;");
	partial = send_raw(s.port, "127.0.0.3", "PROXY TCP4 1.2", 14);
	h_expect_closed(&s.d, partial, "a peer stuck mid-header past "
	    "max_request_time");
	close(partial);
	stop_all(&s);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "haproxy_passes_the_client",
		  test_haproxy_passes_the_client, H_NMODELS },
		{ "haproxy_access_and_max_per_source",
		  test_haproxy_access_and_max_per_source,
		  sizeof(concurrent_models) / sizeof(concurrent_models[0]) },
		{ "haproxy_crc32c", test_haproxy_crc32c, 0 },
		{ "max_request_time_bounds_the_header",
		  test_max_request_time_bounds_the_header, H_NMODELS },
		{ "trusted_and_untrusted_peers",
		  test_trusted_and_untrusted_peers, H_NMODELS },
		{ "local_and_unknown_keep_the_peer",
		  test_local_and_unknown_keep_the_peer, 0 },
		{ "bad_headers_close_the_connection",
		  test_bad_headers_close_the_connection, H_NMODELS },
		{ "slow_or_silent_peers_are_cut",
		  test_slow_or_silent_peers_are_cut, H_NMODELS },
	};
	Suite *suite = suite_create("proxy");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
