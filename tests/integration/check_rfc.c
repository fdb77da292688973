/*
 * check_rfc.c - the RFC services, discard (RFC 863), chargen (RFC 864),
 * daytime (RFC 867) and time (RFC 868), checked against the RFCs and
 * against what xinetd's internal services do, on every transport and
 * under each concurrency model.
 *
 * One daemon per test serves every plugin on every transport. It runs
 * with TZ=ABC-5 (a zone called "ABC", five hours east of UTC), so that
 * local time and UTC tell apart in daytime's replies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* How long a client waits to be sure that nothing arrives. */
#define SILENCE_MS 300

/* The daemon's zone: "ABC", UTC+5 (POSIX counts west as positive). */
#define ZONE_ENV "TZ=ABC-5"
#define ZONE_NAME "ABC"
#define ZONE_OFFSET (5 * 3600)

/* Clocks may tick between the daemon's reading and the test's. */
#define CLOCK_SLACK 5

/* chargen: RFC 864's pattern, and xinetd's datagram reply. */
#define CG_CHARS 95
#define CG_WIDTH 72
#define CG_LINE (CG_WIDTH + 2)
#define CG_DGRAM 512
#define CG_DGRAM_LINES 7	/* 6 of 72 characters, one of 66 */
#define CG_MAX_BYTES 100000	/* the bounded server's max_bytes */

/* RFC 868: seconds from 1900-01-01 to 1970-01-01. */
#define TIME_OFFSET 2208988800u

enum transport { TCP, UDP, UNIX, UNIX_DGRAM, NTRANSPORTS };

static const char *const transport_names[NTRANSPORTS] = { "tcp", "udp",
    "unix", "unix-dgram" };

enum service { CHARGEN, BOUNDED, DISCARD, DAYTIME, DAYTIME_UTC, TIME,
    NSERVICES };

static const struct service_conf {
	const char *label;	/* the servers are named LABEL-TRANSPORT */
	const char *handler;
	const char *options;
} services[NSERVICES] = {
	[CHARGEN] = { "chargen", "chargen", "" },
	[BOUNDED] = { "bounded", "chargen",
	    "options = { max_bytes = 100000; };" },
	[DISCARD] = { "discard", "discard", "" },
	[DAYTIME] = { "daytime", "daytime", "" },
	[DAYTIME_UTC] = { "daytime-utc", "daytime",
	    "options = { utc = true; };" },
	[TIME] = { "time", "time", "" },
};

struct rfc {
	struct h_daemon d;
	struct h_ep ep[NSERVICES][NTRANSPORTS];
};

/*
 * Starts one daemon serving every service on every transport with
 * `model`, and waits until all of them serve.
 */
static void
rfc_start(struct rfc *r, const char *model)
{
	static const char *const env[] = { ZONE_ENV, NULL };
	static const char *const extra[] = { "-l", "info", NULL };
	static char conf[16384];
	size_t len;
	int s, t;

	len = (size_t)snprintf(conf, sizeof(conf),
	    "daemon: { shutdown_timeout = 5.0; };\nservers = (\n");
	for (s = 0; s < NSERVICES; s++) {
		for (t = 0; t < NTRANSPORTS; t++) {
			struct h_ep *e = &r->ep[s][t];
			char name[64];

			snprintf(name, sizeof(name), "%s-%s",
			    services[s].label, transport_names[t]);
			h_ep_init(e, transport_names[t], name);
			len += (size_t)snprintf(conf + len, sizeof(conf) - len,
			    "  { name = \"%s\"; transport = \"%s\"; "
			    "listen = \"%s\";\n    handler = \"%s\"; "
			    "concurrency = \"%s\"; %s }%s\n", e->name,
			    transport_names[t], e->listen, services[s].handler,
			    model, services[s].options,
			    s == NSERVICES - 1 && t == NTRANSPORTS - 1 ?
			    "" : ",");
			ck_assert(len < sizeof(conf));
		}
	}
	snprintf(conf + len, sizeof(conf) - len, ");\n");
	h_daemon_start_env(&r->d, h_write_file("rfc.conf", "%s", conf), extra,
	    env);
	/*
	 * Every socket is bound once one accepts (discard reads the probe's
	 * end of input and is done), and every server has started once the
	 * daemon says it is ready.
	 */
	h_daemon_wait_port(&r->d, r->ep[DISCARD][TCP].port);
	h_daemon_wait_log(&r->d, "ready", 1);
}

/* --- the daemon's log ---------------------------------------------------- */

/*
 * Waits for the access line of a request to server e that holds
 * `detail` (NULL: anything) and ends with `result` (" ok", " refused"),
 * then fails if the log says a request of that server failed.
 */
static void
expect_access_line(struct rfc *r, const struct h_ep *e, const char *detail,
    const char *result)
{
	const char *server = h_path("server %s: ", e->name);

	h_daemon_wait_line(&r->d, server, " in=", detail);
	ck_assert_msg((detail != NULL ?
	    h_log_line_has(&r->d, server, detail, result) :
	    h_log_line_has(&r->d, server, result)) &&
	    !h_log_line_has(&r->d, server, "failed") &&
	    !h_log_line_has(&r->d, server, "warning:"), "%s: expected an "
	    "access line with %s%s, and no error%s", e->name,
	    detail != NULL ? detail : "", result, h_daemon_log_tail(&r->d));
}

/* --- chargen --------------------------------------------------------------- */

/* Byte i of RFC 864's text, starting with line `first`. */
static char
chargen_byte(unsigned first, size_t i)
{
	size_t line = first + i / CG_LINE, col = i % CG_LINE;

	if (col == CG_WIDTH)
		return '\r';
	if (col == CG_WIDTH + 1)
		return '\n';
	return (char)(' ' + (line + col) % CG_CHARS);
}

/* Fails unless buf is the text from line `first` on, cut at n bytes. */
static void
expect_chargen_text(struct rfc *r, const char *what, const char *buf,
    size_t n, unsigned first)
{
	size_t i, line;
	char want;

	for (i = 0; i < n && buf[i] == chargen_byte(first, i); i++)
		continue;
	if (i == n)
		return;
	want = chargen_byte(first, i);
	line = i - i % CG_LINE;
	ck_abort_msg("%s: byte %zu (line %zu, column %zu) is %s, expected %s; "
	    "the line: %s%s", what, i, first + i / CG_LINE, i % CG_LINE,
	    h_quote(buf + i, 1), h_quote(&want, 1), h_quote(buf + line,
	    n - line < CG_LINE ? n - line : CG_LINE), h_daemon_log_tail(&r->d));
}

/*
 * 500 lines, so the rotation wraps past its 95 lines more than five
 * times, each exactly as RFC 864 has it, from line 0; what the client
 * sends is ignored. When the client closes, the request ends as a
 * success: the daemon logs no error.
 */
START_TEST(test_chargen_stream)
{
	static char buf[500 * CG_LINE];
	static const enum transport ts[] = { TCP, UNIX };
	struct rfc r;
	size_t i, n;
	int fd;

	rfc_start(&r, h_models[_i]);
	for (i = 0; i < 2; i++) {
		const struct h_ep *e = &r.ep[CHARGEN][ts[i]];

		fd = h_ep_connect(e);
		h_send(fd, "ignored\r\n");
		n = h_recv_n(fd, buf, sizeof(buf));
		ck_assert_msg(n == sizeof(buf), "%s: %zu bytes, then end of "
		    "input; expected more than %zu%s", e->name, n, sizeof(buf),
		    h_daemon_log_tail(&r.d));
		expect_chargen_text(&r, e->name, buf, n, 0);
		close(fd);
		expect_access_line(&r, e, NULL, " ok");
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* max_bytes: exactly that many bytes of the text, then the server closes. */
START_TEST(test_chargen_max_bytes)
{
	static char buf[2 * CG_MAX_BYTES];
	static const enum transport ts[] = { TCP, UNIX };
	struct rfc r;
	size_t i, n;
	int fd;

	rfc_start(&r, h_models[_i]);
	for (i = 0; i < 2; i++) {
		const struct h_ep *e = &r.ep[BOUNDED][ts[i]];

		fd = h_ep_connect(e);
		n = h_recv_all(fd, buf, sizeof(buf));
		ck_assert_msg(n == CG_MAX_BYTES, "%s: %zu bytes before end of "
		    "input, expected max_bytes = %d%s", e->name, n,
		    CG_MAX_BYTES, h_daemon_log_tail(&r.d));
		expect_chargen_text(&r, e->name, buf, n, 0);
		close(fd);
		expect_access_line(&r, e, h_path("out=%d ", CG_MAX_BYTES),
		    " ok");
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/*
 * A datagram, whatever it holds, gets RFC 864's largest reply: 512
 * bytes, 6 lines of 72 characters and one of 66, each ending "\r\n", in
 * the rotation. The next datagram, even from another client, gets the
 * lines that follow: the 7 lines after the first reply's first.
 */
START_TEST(test_chargen_datagram)
{
	static const enum transport ts[] = { UDP, UNIX_DGRAM };
	char reply[2 * CG_DGRAM], expected[CG_DGRAM];
	unsigned first = 0, next;
	struct rfc r;
	size_t i, j, n;

	rfc_start(&r, h_models[_i]);
	for (i = 0; i < 2; i++) {
		const struct h_ep *e = &r.ep[CHARGEN][ts[i]];

		for (j = 0; j < 2; j++) {
			n = h_ep_transact(&r.d, e, j == 0 ? "" : "anything\n",
			    reply, sizeof(reply));
			ck_assert_msg(n == CG_DGRAM, "%s: a reply of %zu "
			    "bytes, expected %d%s", e->name, n, CG_DGRAM,
			    h_daemon_log_tail(&r.d));
			next = (unsigned char)reply[0] - ' ';
			if (j == 1)
				ck_assert_msg(next == (first + CG_DGRAM_LINES)
				    % CG_CHARS, "%s: the second reply starts "
				    "with line %u, expected %u, the line after "
				    "the first reply's last%s", e->name, next,
				    (first + CG_DGRAM_LINES) % CG_CHARS,
				    h_daemon_log_tail(&r.d));
			first = next;
			/* 6 whole lines, then the 7th cut to 66. */
			for (n = 0; n < 6 * CG_LINE + 66; n++)
				expected[n] = chargen_byte(first, n);
			memcpy(expected + n, "\r\n", 2);
			ck_assert_msg(memcmp(reply, expected, CG_DGRAM) == 0,
			    "%s: expected %s, received %s%s", e->name,
			    h_quote(expected, CG_DGRAM), h_quote(reply,
			    CG_DGRAM), h_daemon_log_tail(&r.d));
		}
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* --- discard --------------------------------------------------------------- */

/*
 * A megabyte is read and nothing comes back; the connection stays open
 * until the client closes its side, then the server closes too.
 */
START_TEST(test_discard_stream)
{
	static const enum transport ts[] = { TCP, UNIX };
	static char chunk[65536 + 1];
	struct rfc r;
	size_t i, k;
	int fd;

	memset(chunk, 'x', sizeof(chunk) - 1);
	rfc_start(&r, h_models[_i]);
	for (i = 0; i < 2; i++) {
		const struct h_ep *e = &r.ep[DISCARD][ts[i]];

		fd = h_ep_connect(e);
		for (k = 0; k < 16; k++)
			h_send(fd, chunk);
		h_send(fd, "last line\r\n");
		h_expect_silence(&r.d, fd, SILENCE_MS, e->name);
		h_shutdown_write(fd);
		h_expect_eof(fd);
		close(fd);
		expect_access_line(&r, e, h_path("in=%d out=0 ",
		    16 * 65536 + 11), " ok");
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* A datagram is received (the access line says so) and gets no reply. */
START_TEST(test_discard_datagram)
{
	static const enum transport ts[] = { UDP, UNIX_DGRAM };
	struct rfc r;
	size_t i;
	int fd;

	rfc_start(&r, h_models[_i]);
	for (i = 0; i < 2; i++) {
		const struct h_ep *e = &r.ep[DISCARD][ts[i]];

		fd = h_ep_dgram_client(e, NULL);
		h_ep_dgram_send(e, fd, "to be discarded\n", 16);
		h_expect_silence(&r.d, fd, SILENCE_MS, e->name);
		expect_access_line(&r, e, "in=16 out=0 ", " ok");
		close(fd);
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* --- daytime --------------------------------------------------------------- */

/*
 * A reply in xinetd's format, "25 NOV 2026 14:45:22 ABC\r\n": two-digit
 * day, upper-case month, year, time, zone. Its time, read as UTC, must
 * be within CLOCK_SLACK seconds of now + offset.
 */
static void
expect_daytime(struct rfc *r, const char *what, const char *reply,
    size_t n, const char *zone, long offset)
{
	static const char months[] = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC";
	char tail[32];
	const char *end;
	long delta;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	end = strptime(reply, "%d %b %Y %H:%M:%S", &tm);
	snprintf(tail, sizeof(tail), " %s\r\n", zone);
	ck_assert_msg(end != NULL && strcmp(end, tail) == 0 &&
	    reply[2] == ' ' && memcmp(reply + 3, months + 3 * tm.tm_mon,
	    3) == 0 && strlen(reply) == n, "%s: expected \"DD MON YYYY "
	    "HH:MM:SS %s\\r\\n\", received %s%s", what, zone,
	    h_quote(reply, n), h_daemon_log_tail(&r->d));
	delta = (long)(timegm(&tm) - time(NULL)) - offset;
	ck_assert_msg(delta >= -CLOCK_SLACK && delta <= CLOCK_SLACK, "%s: %s "
	    "is %ld s off now%s%s", what, h_quote(reply, n), delta,
	    offset != 0 ? " in UTC+5" : " in UTC", h_daemon_log_tail(&r->d));
}

/*
 * Local time (the daemon's TZ, UTC+5 named ABC) by default, UTC with
 * utc = true. On a stream the line comes at once, though the client
 * sends nothing, and the server closes; a datagram gets it as reply.
 */
START_TEST(test_daytime)
{
	static const enum service ss[] = { DAYTIME, DAYTIME_UTC };
	char reply[256];
	struct rfc r;
	size_t i, n;
	int t, fd;

	rfc_start(&r, h_models[_i]);
	for (i = 0; i < 2; i++) {
		for (t = 0; t < NTRANSPORTS; t++) {
			const struct h_ep *e = &r.ep[ss[i]][t];

			if (e->datagram) {
				n = h_ep_transact(&r.d, e, "what time is it?\n",
				    reply, sizeof(reply));
			} else {
				fd = h_ep_connect(e);
				n = h_recv_all(fd, reply, sizeof(reply));
				close(fd);
			}
			expect_daytime(&r, e->name, reply, n, ss[i] == DAYTIME ?
			    ZONE_NAME : "UTC", ss[i] == DAYTIME ?
			    ZONE_OFFSET : 0);
		}
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* --- time ------------------------------------------------------------------ */

/*
 * 4 bytes, most significant first: now in seconds since 1900, modulo
 * 2^32. On a stream they come at once, then the server closes.
 */
START_TEST(test_time)
{
	uint32_t value, expected;
	unsigned char b[64];
	struct rfc r;
	int32_t delta;
	size_t n;
	int t, fd;

	rfc_start(&r, h_models[_i]);
	for (t = 0; t < NTRANSPORTS; t++) {
		const struct h_ep *e = &r.ep[TIME][t];

		if (e->datagram) {
			n = h_ep_transact(&r.d, e, "\n", (char *)b, sizeof(b));
		} else {
			fd = h_ep_connect(e);
			n = h_recv_all(fd, (char *)b, sizeof(b));
			close(fd);
		}
		expected = (uint32_t)time(NULL) + TIME_OFFSET;
		ck_assert_msg(n == 4, "%s: %zu bytes %s, expected 4%s",
		    e->name, n, h_quote((char *)b, n), h_daemon_log_tail(&r.d));
		value = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		delta = (int32_t)(value - expected);
		ck_assert_msg(delta >= -CLOCK_SLACK && delta <= CLOCK_SLACK,
		    "%s: %lu is %ld s off now (%lu since 1900)%s", e->name,
		    (unsigned long)value, (long)delta,
		    (unsigned long)expected, h_daemon_log_tail(&r.d));
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* --- xinetd's guard against reflection ------------------------------------- */

/* A UDP socket bound to a free port below 1024, connected to port. */
static int
low_port_client(int port, int *low_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, low;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (low = 1023; low >= 600; low--) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
		sin.sin_port = htons((unsigned short)low);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
			break;
		ck_assert_msg(errno == EADDRINUSE, "this test binds a port "
		    "below 1024, which needs root: bind %d: %s", low,
		    strerror(errno));
		close(fd);
	}
	ck_assert_msg(low >= 600, "no free UDP port in 600..1023");
	sin.sin_port = htons((unsigned short)port);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect: %s", strerror(errno));
	*low_r = low;
	return fd;
}

/*
 * chargen, daytime and time over UDP, as xinetd's, answer no datagram
 * from a port below 1024 (where echo and chargen of another host would
 * bounce replies forever), log a warning naming the sender, and refuse
 * the request; from a port above, they answer.
 */
START_TEST(test_udp_low_port_refused)
{
	static const enum service ss[] = { CHARGEN, DAYTIME, TIME };
	char reply[2048];
	const char *who;
	struct rfc r;
	int fd, low;
	size_t i;

	rfc_start(&r, "sync");
	for (i = 0; i < 3; i++) {
		const struct h_ep *e = &r.ep[ss[i]][UDP];

		fd = low_port_client(e->port, &low);
		h_dgram_send(fd, "x", 1);
		h_expect_silence(&r.d, fd, SILENCE_MS, e->name);
		close(fd);
		who = h_path("127.0.0.1:%d", low);
		h_daemon_wait_line(&r.d, h_path("warning: server %s: ",
		    e->name), "denial of service", who);
		h_daemon_wait_line(&r.d, h_path("server %s: %s ", e->name, who),
		    " refused");
		ck_assert_msg(h_ep_transact(&r.d, e, "x", reply, sizeof(reply))
		    > 0, "%s: no reply from a port above 1023", e->name);
	}
	h_expect_clean_stop(&r.d);
}
END_TEST

/* --- options ----------------------------------------------------------------- */

/*
 * `sockservd -t` on one server of `handler` with `options`, on line 1:
 * the exit status, and for a refusal (key not NULL) the one report
 * "FILE:1: server s: option KEY: ...", with nothing more about init.
 */
static void
check_options(const char *handler, const char *options, int status,
    const char *key)
{
	struct h_result res;
	const char *conf, *want = NULL, *first = NULL;

	conf = h_write_file("options.conf", "servers = ( { name = \"s\"; "
	    "transport = \"tcp\"; listen = \"127.0.0.1:%d\"; handler = "
	    "\"%s\"; options = { %s }; } );\n", h_free_port(), handler,
	    options);
	h_run(&res, "-t", "-f", conf);
	if (key != NULL) {
		want = h_path("%s:1: server s: option %s: ", conf, key);
		first = strstr(res.output, want);
	}
	ck_assert_msg(res.status == status && (key == NULL ||
	    (first != NULL && strstr(first + 1, want) == NULL &&
	    strstr(res.output, "init refused") == NULL)),
	    "%s with options { %s }: expected exit status %d%s%s, got %d:\n%s",
	    handler, options, status, key != NULL ? " and one report " : "",
	    key != NULL ? want : "", res.status, res.output);
}

/*
 * A wrong type, a value out of range or a key a plugin does not know
 * makes init fail, reported at the option's line; good values, 64-bit
 * ones included, pass.
 */
START_TEST(test_options)
{
	check_options("chargen", "max_bytes = -1;", 2, "max_bytes");
	check_options("chargen", "max_bytes = \"1M\";", 2, "max_bytes");
	check_options("chargen", "max_bytes = 1.5;", 2, "max_bytes");
	check_options("daytime", "utc = \"yes\";", 2, "utc");
	check_options("daytime", "utc = 1;", 2, "utc");
	check_options("chargen", "max_bytes = 0;", 0, NULL);
	check_options("chargen", "max_bytes = 10000000000L;", 0, NULL);
	check_options("daytime", "utc = false;", 0, NULL);
	check_options("chargen", "other = 1;", 2, "other");
	check_options("daytime", "other = 1;", 2, "other");
	check_options("time", "other = 1;", 2, "other");
	check_options("discard", "other = 1;", 2, "other");
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "chargen_stream", test_chargen_stream, H_NMODELS },
		{ "chargen_max_bytes", test_chargen_max_bytes, H_NMODELS },
		{ "chargen_datagram", test_chargen_datagram, H_NMODELS },
		{ "discard_stream", test_discard_stream, H_NMODELS },
		{ "discard_datagram", test_discard_datagram, H_NMODELS },
		{ "daytime", test_daytime, H_NMODELS },
		{ "time", test_time, H_NMODELS },
		{ "udp_low_port_refused", test_udp_low_port_refused, 0 },
		{ "options", test_options, 0 },
	};
	Suite *suite = suite_create("rfc");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
