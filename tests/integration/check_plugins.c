/*
 * check_plugins.c - the shipped line plugins (echo, upper, timestamp),
 * byte for byte, under each concurrency model, found through
 * SOCKSERV_PLUGIN_DIR as `make run` finds them; every shipped plugin
 * served from threads with the smallest stack thread_stack_size allows;
 * the options plugins refuse, the lookups' values, and a plugin in the
 * style of before SS_HANDLER.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NCLIENTS 50

/* One daemon, four servers; %1$s is the concurrency model. */
static const char plugins_conf[] =
    "daemon: { shutdown_timeout = 5.0; };\n"
    "servers = (\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"%1$s\"; max_children = 64; },\n"
    "  { name = \"upper\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"upper\"; concurrency = \"%1$s\"; max_children = 64; },\n"
    "  { name = \"year\"; transport = \"tcp\"; listen = \"127.0.0.1:%4$d\";\n"
    "    handler = \"timestamp\"; concurrency = \"%1$s\"; max_children = 64;\n"
    "    options = { format = \"%%Y\"; utc = true; }; },\n"
    "  { name = \"ctime\"; transport = \"tcp\"; listen = \"127.0.0.1:%5$d\";\n"
    "    handler = \"timestamp\"; concurrency = \"%1$s\";\n"
    "    max_children = 64; }\n"
    ");\n";

struct servers {
	struct h_daemon d;
	int echo, upper, year, ctime;
};

static void
servers_start(struct servers *s, const char *model)
{
	static const char *const extra[] = { "-l", "debug", NULL };
	const char *conf;

	s->echo = h_free_port();
	s->upper = h_free_port();
	s->year = h_free_port();
	s->ctime = h_free_port();
	conf = h_write_file("plugins.conf", plugins_conf, model, s->echo,
	    s->upper, s->year, s->ctime);
	h_daemon_start(&s->d, conf, extra);
	h_daemon_wait_port(&s->d, s->echo);
	h_daemon_wait_port(&s->d, s->upper);
	h_daemon_wait_port(&s->d, s->year);
	h_daemon_wait_port(&s->d, s->ctime);
}

/*
 * Sends `request`, expects `reply` while the connection is still open
 * (the plugins answer line by line), then expects the server to close
 * once the client has shut down its side.
 */
static void
converse(int port, const char *request, const char *reply)
{
	int fd = h_connect(port);

	h_send(fd, request);
	h_expect(fd, reply);
	h_shutdown_write(fd);
	h_expect_eof(fd);
	close(fd);
}

START_TEST(test_echo_line)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	converse(s.echo, "hello\n", "hello\n");
	h_expect_clean_stop(&s.d);
}
END_TEST

START_TEST(test_echo_session)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	converse(s.echo, "a\nbb\n\nccc\n", "a\nbb\n\nccc\n");
	h_expect_clean_stop(&s.d);
}
END_TEST

START_TEST(test_echo_unterminated_line)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	h_exchange(&s.d, s.echo, "abc", "abc", "a line without its newline");
	h_expect_clean_stop(&s.d);
}
END_TEST

START_TEST(test_upper)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	converse(s.upper, "Hello, World 42\n", "HELLO, WORLD 42\n");
	h_expect_clean_stop(&s.d);
}
END_TEST

START_TEST(test_timestamp_format_utc)
{
	char reply[64], before[32], after[32];
	struct servers s;
	size_t n;

	servers_start(&s, h_models[_i]);
	snprintf(before, sizeof(before), "[%d] x\n", h_utc_year());
	n = h_transact(h_connect(s.year), "x\n", reply, sizeof(reply));
	snprintf(after, sizeof(after), "[%d] x\n", h_utc_year());
	ck_assert_msg(strcmp(reply, before) == 0 || strcmp(reply, after) == 0,
	    "expected %s, received %s%s", h_quote(after, strlen(after)),
	    h_quote(reply, n), h_daemon_log_tail(&s.d));
	h_expect_clean_stop(&s.d);
}
END_TEST

/* "Wed Nov 25 12:00:00 2026": ctime(3) without its newline. */
static bool
is_ctime(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	return strptime(s, "%a %b %e %H:%M:%S %Y", &tm) == s + 24 &&
	    s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[13] == ':' &&
	    s[16] == ':' && s[19] == ' ';
}

START_TEST(test_timestamp_default_format)
{
	struct servers s;
	char reply[64];
	size_t n;

	servers_start(&s, h_models[_i]);
	n = h_transact(h_connect(s.ctime), "x\n", reply, sizeof(reply));
	ck_assert_msg(n == 29 && reply[0] == '[' && is_ctime(reply + 1) &&
	    strcmp(reply + 25, "] x\n") == 0, "expected \"[<ctime>] x\\n\", "
	    "received %s%s", h_quote(reply, n), h_daemon_log_tail(&s.d));
	h_expect_clean_stop(&s.d);
}
END_TEST

/*
 * Every client is connected before any sends, so a sync server has the
 * other 49 waiting in its listen queue; each reply must still be the
 * client's own line.
 */
START_TEST(test_concurrent_clients)
{
	char line[64], reply[64];
	int fds[NCLIENTS], i;
	struct servers s;
	size_t n;

	servers_start(&s, h_models[_i]);
	for (i = 0; i < NCLIENTS; i++)
		fds[i] = h_connect(s.echo);
	for (i = 0; i < NCLIENTS; i++) {
		snprintf(line, sizeof(line), "client %d line\n", i);
		h_send(fds[i], line);
		h_shutdown_write(fds[i]);
	}
	for (i = 0; i < NCLIENTS; i++) {
		snprintf(line, sizeof(line), "client %d line\n", i);
		n = h_recv_all(fds[i], reply, sizeof(reply));
		ck_assert_msg(strcmp(reply, line) == 0, "client %d: expected "
		    "%s, received %s%s", i, h_quote(line, strlen(line)),
		    h_quote(reply, n), h_daemon_log_tail(&s.d));
		close(fds[i]);
	}
	h_expect_clean_stop(&s.d);
}
END_TEST

/*
 * The socketserver tutorial's client: one send, one recv, close. It
 * relies on a reply line arriving in one segment.
 */
START_TEST(test_one_shot_client)
{
	struct servers s;
	char reply[1024];
	ssize_t n;
	int fd;

	servers_start(&s, h_models[_i]);
	fd = h_connect(s.echo);
	h_send(fd, "hi\n");
	n = recv(fd, reply, sizeof(reply), 0);
	ck_assert_msg(n == 3 && memcmp(reply, "hi\n", 3) == 0, "one recv: "
	    "expected \"hi\\n\", received %s%s",
	    h_quote(reply, n > 0 ? (size_t)n : 0), h_daemon_log_tail(&s.d));
	close(fd);
	converse(s.echo, "still there\n", "still there\n");
	h_expect_clean_stop(&s.d);
}
END_TEST

/* --- the smallest stack -------------------------------------------------- */

/* Longer than any line buffer a 64 KiB stack could hold with room left. */
#define LONG_LINE	60000
#define DISCARDED	(256 * 1024)
#define CG_CHARS	95
#define CG_WIDTH	72
#define CG_LINE		(CG_WIDTH + 2)
#define CG_READ		(3 * CG_CHARS * CG_LINE)
#define TIME_OFFSET	2208988800u

/* Each server's model: %1$d is workers (0: a thread per request). */
#define SMALL_STACK \
    " transport = \"tcp\"; concurrency = \"threading\"; workers = %1$d;\n" \
    "    thread_stack_size = 65536; }"

/*
 * Every shipped plugin, one server each, in threads of thread_stack_size
 * 65536: the least the daemon accepts, and what every shipped plugin
 * must run in. %2$d..%9$d are the ports, %10$s upload's directory.
 */
static const char small_stack_conf[] =
    "daemon: { shutdown_timeout = 5.0; };\n"
    "servers = (\n"
    "  { name = \"echo\"; handler = \"echo\"; listen = \"127.0.0.1:%2$d\";\n"
    "   " SMALL_STACK ",\n"
    "  { name = \"upper\"; handler = \"upper\"; listen = \"127.0.0.1:%3$d\";\n"
    "   " SMALL_STACK ",\n"
    "  { name = \"timestamp\"; handler = \"timestamp\";\n"
    "    listen = \"127.0.0.1:%4$d\";" SMALL_STACK ",\n"
    "  { name = \"discard\"; handler = \"discard\";\n"
    "    listen = \"127.0.0.1:%5$d\";" SMALL_STACK ",\n"
    "  { name = \"chargen\"; handler = \"chargen\";\n"
    "    listen = \"127.0.0.1:%6$d\";" SMALL_STACK ",\n"
    "  { name = \"daytime\"; handler = \"daytime\";\n"
    "    listen = \"127.0.0.1:%7$d\";" SMALL_STACK ",\n"
    "  { name = \"time\"; handler = \"time\"; listen = \"127.0.0.1:%8$d\";\n"
    "   " SMALL_STACK ",\n"
    "  { name = \"upload\"; handler = \"upload\";\n"
    "    listen = \"127.0.0.1:%9$d\"; options = { directory = \"%10$s\"; };\n"
    "   " SMALL_STACK "\n"
    ");\n";

enum small { S_ECHO, S_UPPER, S_TIMESTAMP, S_DISCARD, S_CHARGEN,
    S_DAYTIME, S_TIME, S_UPLOAD, S_SERVERS };

struct small_stack {
	struct h_daemon d;
	int port[S_SERVERS];
	const char *dir;	/* upload's */
};

static void
small_start(struct small_stack *s, int workers)
{
	static const char *const extra[] = { "-l", "info", NULL };
	const char *conf;
	int i;

	s->dir = h_mkdir("uploads", 0700);
	for (i = 0; i < S_SERVERS; i++)
		s->port[i] = h_free_port();
	conf = h_write_file("small.conf", small_stack_conf, workers,
	    s->port[S_ECHO], s->port[S_UPPER], s->port[S_TIMESTAMP],
	    s->port[S_DISCARD], s->port[S_CHARGEN], s->port[S_DAYTIME],
	    s->port[S_TIME], s->port[S_UPLOAD], s->dir);
	h_daemon_start(&s->d, conf, extra);
	for (i = 0; i < S_SERVERS; i++)
		h_daemon_wait_port(&s->d, s->port[i]);
}

/*
 * converse() for replies longer than h_expect takes: sends `request`,
 * expects exactly `reply` back, then the end once the client shuts down.
 */
static void
converse_long(struct small_stack *s, int port, const char *request,
    const char *reply)
{
	size_t len = strlen(reply), n;
	char *got = malloc(len);
	int fd = h_connect(port);

	ck_assert_msg(got != NULL, "out of memory");
	h_send(fd, request);
	n = h_recv_n(fd, got, len);
	ck_assert_msg(n == len && memcmp(got, reply, len) == 0, "expected "
	    "%zu bytes %s..., received %zu bytes %s...%s", len,
	    h_quote(reply, 32), n, h_quote(got, n < 32 ? n : 32),
	    h_daemon_log_tail(&s->d));
	h_shutdown_write(fd);
	h_expect_eof(fd);
	close(fd);
	free(got);
}

/* A line of n bytes, its '\n' included, of letters that upper changes. */
static char *
long_line(size_t n)
{
	char *line = malloc(n + 1);
	size_t i;

	ck_assert_msg(line != NULL, "out of memory");
	for (i = 0; i < n - 1; i++)
		line[i] = (char)('a' + i % 26);
	line[n - 1] = '\n';
	line[n] = '\0';
	return line;
}

static void
small_upper(struct small_stack *s)
{
	char *line = long_line(LONG_LINE), *want = strdup(line);
	size_t i;

	ck_assert_msg(want != NULL, "out of memory");
	for (i = 0; i < LONG_LINE - 1; i++)
		want[i] = (char)(want[i] - 'a' + 'A');
	converse(s->port[S_UPPER], "Hello, World 42\n", "HELLO, WORLD 42\n");
	converse_long(s, s->port[S_UPPER], line, want);
	free(want);
	free(line);
}

/* "[<ctime>] " and the line. */
static void
small_timestamp(struct small_stack *s)
{
	char *line = long_line(LONG_LINE), *reply = malloc(LONG_LINE + 64);
	size_t n;

	ck_assert_msg(reply != NULL, "out of memory");
	n = h_transact(h_connect(s->port[S_TIMESTAMP]), line, reply, LONG_LINE + 64);
	ck_assert_msg(n > LONG_LINE + 3 && reply[0] == '[' &&
	    memcmp(reply + n - LONG_LINE - 2, "] ", 2) == 0 &&
	    memcmp(reply + n - LONG_LINE, line, LONG_LINE) == 0, "timestamp: "
	    "expected \"[<time>] <the line>\", received %s...%s",
	    h_quote(reply, n < 64 ? n : 64), h_daemon_log_tail(&s->d));
	free(reply);
	free(line);
}

/* What the client sends is read to its end, and nothing comes back. */
static void
small_discard(struct small_stack *s)
{
	char *data = long_line(DISCARDED);
	int fd = h_connect(s->port[S_DISCARD]);
	size_t off;
	ssize_t r;

	for (off = 0; off < DISCARDED; off += (size_t)r) {
		r = send(fd, data + off, DISCARDED - off, MSG_NOSIGNAL);
		ck_assert_msg(r > 0 || errno == EINTR, "discard: send: %s%s",
		    strerror(errno), h_daemon_log_tail(&s->d));
		if (r < 0)
			r = 0;
	}
	h_shutdown_write(fd);
	h_expect_eof(fd);
	close(fd);
	free(data);
}

/* A bounded read of RFC 864's text, then the client goes. */
static void
small_chargen(struct small_stack *s)
{
	static char buf[CG_READ];
	int fd = h_connect(s->port[S_CHARGEN]);
	size_t n, i, col;
	char want;

	n = h_recv_n(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_msg(n == sizeof(buf), "chargen: %zu bytes, then end of "
	    "input%s", n, h_daemon_log_tail(&s->d));
	for (i = 0; i < n; i++) {
		col = i % CG_LINE;
		want = col == CG_WIDTH ? '\r' : col == CG_WIDTH + 1 ? '\n' :
		    (char)(' ' + (i / CG_LINE + col) % CG_CHARS);
		ck_assert_msg(buf[i] == want, "chargen: byte %zu is %s, "
		    "expected %s%s", i, h_quote(buf + i, 1), h_quote(&want, 1),
		    h_daemon_log_tail(&s->d));
	}
}

/* "25 NOV 2026 14:45:22 ZONE\r\n", then the server closes. */
static void
small_daytime(struct small_stack *s)
{
	char reply[128];
	size_t n;

	n = h_transact(h_connect(s->port[S_DAYTIME]), "", reply, sizeof(reply));
	ck_assert_msg(n >= 22 && reply[2] == ' ' && reply[6] == ' ' &&
	    reply[14] == ':' && reply[17] == ':' &&
	    strcmp(reply + n - 2, "\r\n") == 0, "daytime: expected \"DD MON "
	    "YYYY HH:MM:SS ZONE\\r\\n\", received %s%s", h_quote(reply, n),
	    h_daemon_log_tail(&s->d));
}

/* RFC 868's 4 bytes, about now, then the server closes. */
static void
small_time(struct small_stack *s)
{
	unsigned char reply[8];
	uint32_t got, now;
	size_t n;

	n = h_transact(h_connect(s->port[S_TIME]), "", (char *)reply, sizeof(reply));
	now = (uint32_t)time(NULL) + TIME_OFFSET;
	got = (uint32_t)reply[0] << 24 | (uint32_t)reply[1] << 16 |
	    (uint32_t)reply[2] << 8 | reply[3];
	ck_assert_msg(n == 4 && (uint32_t)(now - got) <= 60, "time: "
	    "expected 4 bytes near %u, received %s%s", now,
	    h_quote((char *)reply, n), h_daemon_log_tail(&s->d));
}

/* A small post is stored, and the reply carries its digest. */
static void
small_upload(struct small_stack *s)
{
	char content[16];

	converse(s->port[S_UPLOAD], "post|hello.txt|5\nhello",
	    "ok 5 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9"
	    "824\n");
	h_read_file(h_path("%s/hello.txt", s->dir), content, sizeof(content));
	ck_assert_msg(strcmp(content, "hello") == 0, "upload: hello.txt holds "
	    "%s", h_quote(content, strlen(content)));
}

/*
 * thread_stack_size's minimum serves every shipped plugin, a thread per
 * request (_i = 0) and a pool of two (_i = 1): each main path with a
 * real client, then the daemon still answers and stops cleanly. A
 * plugin with a line buffer of max_line on its stack overflows it and
 * takes the whole daemon down with the first request.
 */
START_TEST(test_smallest_stack)
{
	struct small_stack s;
	char *line = long_line(LONG_LINE);

	small_start(&s, _i == 0 ? 0 : 2);
	converse(s.port[S_ECHO], "hello\n", "hello\n");
	converse_long(&s, s.port[S_ECHO], line, line);
	small_upper(&s);
	small_timestamp(&s);
	small_discard(&s);
	small_chargen(&s);
	small_daytime(&s);
	small_time(&s);
	small_upload(&s);
	converse(s.port[S_ECHO], "still there\n", "still there\n");
	converse(s.port[S_UPPER], "still there\n", "STILL THERE\n");
	h_expect_clean_stop(&s.d);
	free(line);
}
END_TEST

/* --- options ------------------------------------------------------------ */

/* One server of `handler`; its options group alone on line 3. */
static const char option_conf[] =
    "servers = ( { name = \"s\"; transport = \"tcp\";\n"
    "  listen = \"127.0.0.1:%d\"; handler = \"%s\";\n"
    "  options = { %s }; } );\n";

/* Shipped plugins refuse a wrong type or an unknown key at its line. */
static const struct {
	const char *handler, *options, *report;
} refused_options[] = {
	{ "upper", "locale_aware = \"yes\";", "option locale_aware: wrong "
	    "type (expected true or false)" },
	{ "upper", "locale = true;", "option locale: unknown (expected "
	    "locale_aware)" },
	{ "timestamp", "utc = 1;", "option utc: wrong type (expected true "
	    "or false)" },
	{ "timestamp", "format = 5;", "option format: wrong type (expected "
	    "a string)" },
	{ "timestamp", "format = \"\";", "option format: empty (expected a "
	    "strftime(3) format)" },
	{ "timestamp", "zone = \"UTC\";", "option zone: unknown (expected "
	    "format or utc)" },
	{ "echo", "upper = true;", "option upper: unknown (plugin echo takes "
	    "no options)" },
};

#define NREFUSED_OPTIONS \
	((int)(sizeof(refused_options) / sizeof(refused_options[0])))

/*
 * Under -t and at a start (_i odd), the daemon exits 2 with the one
 * report "FILE:3: server s: option KEY: ...", as a line of its own,
 * nothing about init after it.
 */
START_TEST(test_options_refused)
{
	const char *mode = _i % 2 == 0 ? "-t" : "-F", *conf, *head, *line;
	int i = _i / 2;
	struct h_result r;

	conf = h_write_file("option.conf", option_conf, h_free_port(),
	    refused_options[i].handler, refused_options[i].options);
	head = h_path("%s:3: server s: %s", conf, refused_options[i].report);
	h_run(&r, mode, "-f", conf);
	line = strstr(r.output, head);
	ck_assert_msg(r.status == 2 && line != NULL &&
	    (line == r.output || line[-1] == '\n') &&
	    strstr(line + 1, head) == NULL &&
	    strstr(r.output, "init refused") == NULL, "%s { %s }, %s: "
	    "expected exit status 2 and one line %s, got %d:\n%s",
	    refused_options[i].handler, refused_options[i].options, mode,
	    h_quote(head, strlen(head)), r.status, r.output);
}
END_TEST

/*
 * The options fixture, read with a table (_i 0) or a call per key (_i
 * 1), serves the values it read: the defaults, and what the file says,
 * an integer number of seconds included.
 */
START_TEST(test_options_read)
{
	static const char *const extra[] = { "-l", "info", NULL };
	const char *fixture = h_fixture(_i == 0 ? "options_table" :
	    "options_keys");
	int set = h_free_port(), unset = h_free_port(), fd;
	const char *conf;
	struct h_daemon d;

	conf = h_write_file("options.conf", "servers = (\n"
	    "  { name = \"set\"; transport = \"tcp\"; listen = "
	    "\"127.0.0.1:%d\";\n    handler = \"%s\";\n"
	    "    options = { name = \"x\"; count = 10; flag = true; wait = 3;"
	    " limit = 16; }; },\n"
	    "  { name = \"unset\"; transport = \"tcp\"; listen = "
	    "\"127.0.0.1:%d\";\n    handler = \"%s\"; }\n"
	    ");\n", set, fixture, unset, fixture);
	h_daemon_start(&d, conf, extra);
	h_daemon_wait_port(&d, set);
	h_daemon_wait_port(&d, unset);
	fd = h_connect(set);
	h_expect(fd, "name=x count=10 flag=true wait=3 limit=16\n");
	close(fd);
	fd = h_connect(unset);
	h_expect(fd, "name=none count=1 flag=false wait=0.5 limit=1024\n");
	close(fd);
	h_expect_clean_stop(&d);
}
END_TEST

/*
 * A plugin written before SS_HANDLER and the option lookups (its
 * descriptor spelt out, libconfig's lookups, ss_readline into its own
 * buffer) loads and serves; its ss_log lines carry the server's name and
 * the plugin's.
 */
START_TEST(test_abi1_plugin)
{
	static const char *const extra[] = { "-l", "info", NULL };
	int port = h_free_port();
	const char *conf;
	struct h_daemon d;

	conf = h_write_file("abi1.conf", "servers = ( { name = \"old\"; "
	    "transport = \"tcp\";\n  listen = \"127.0.0.1:%d\"; handler = "
	    "\"%s\"; concurrency = \"%s\";\n  options = { prefix = \"> \"; "
	    "repeat = 2; }; } );\n", port, h_fixture("abi1"), h_models[_i]);
	h_daemon_start(&d, conf, extra);
	h_daemon_wait_port(&d, port);
	converse(port, "one\ntwo\n", "> one\n> one\n> two\n> two\n");
	ck_assert_msg(h_log_line_has(&d, "notice: server old: plugin abi1: "
	    "abi1 ready", NULL), "no ss_log line tagged with the server and "
	    "the plugin%s", h_daemon_log_tail(&d));
	h_expect_clean_stop(&d);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "echo_line", test_echo_line, H_NMODELS },
		{ "echo_session", test_echo_session, H_NMODELS },
		{ "echo_unterminated_line", test_echo_unterminated_line,
		    H_NMODELS },
		{ "upper", test_upper, H_NMODELS },
		{ "timestamp_format_utc", test_timestamp_format_utc,
		    H_NMODELS },
		{ "timestamp_default_format", test_timestamp_default_format,
		    H_NMODELS },
		{ "concurrent_clients", test_concurrent_clients, H_NMODELS },
		{ "one_shot_client", test_one_shot_client, H_NMODELS },
		{ "smallest_stack", test_smallest_stack, 2 },
		{ "options_refused", test_options_refused,
		    NREFUSED_OPTIONS * 2 },
		{ "options_read", test_options_read, 2 },
		{ "abi1_plugin", test_abi1_plugin, H_NMODELS },
	};
	Suite *suite = suite_create("plugins");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
