/*
 * check_plugins.c - the shipped line plugins (echo, upper, timestamp),
 * byte for byte, under each concurrency model, found through
 * SOCKSERV_PLUGIN_DIR as `make run` finds them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static void
servers_stop(struct servers *s)
{
	int code = h_daemon_stop(&s->d, SIGTERM);

	ck_assert_msg(code == 0, "sockservd exited with %d on SIGTERM%s",
	    code, h_daemon_log_tail(&s->d));
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

/* Sends `request` and end of input; returns everything up to EOF. */
static size_t
exchange(int port, const char *request, char *reply, size_t cap)
{
	int fd = h_connect(port);
	size_t n;

	h_send(fd, request);
	h_shutdown_write(fd);
	n = h_recv_all(fd, reply, cap);
	close(fd);
	return n;
}

START_TEST(test_echo_line)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	converse(s.echo, "hello\n", "hello\n");
	servers_stop(&s);
}
END_TEST

START_TEST(test_echo_session)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	converse(s.echo, "a\nbb\n\nccc\n", "a\nbb\n\nccc\n");
	servers_stop(&s);
}
END_TEST

START_TEST(test_echo_unterminated_line)
{
	struct servers s;
	char reply[64];
	size_t n;

	servers_start(&s, h_models[_i]);
	n = exchange(s.echo, "abc", reply, sizeof(reply));
	ck_assert_msg(strcmp(reply, "abc") == 0, "expected \"abc\", received "
	    "%s%s", h_quote(reply, n), h_daemon_log_tail(&s.d));
	servers_stop(&s);
}
END_TEST

START_TEST(test_upper)
{
	struct servers s;

	servers_start(&s, h_models[_i]);
	converse(s.upper, "Hello, World 42\n", "HELLO, WORLD 42\n");
	servers_stop(&s);
}
END_TEST

static int
utc_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return tm.tm_year + 1900;
}

START_TEST(test_timestamp_format_utc)
{
	char reply[64], before[32], after[32];
	struct servers s;
	size_t n;

	servers_start(&s, h_models[_i]);
	snprintf(before, sizeof(before), "[%d] x\n", utc_year());
	n = exchange(s.year, "x\n", reply, sizeof(reply));
	snprintf(after, sizeof(after), "[%d] x\n", utc_year());
	ck_assert_msg(strcmp(reply, before) == 0 || strcmp(reply, after) == 0,
	    "expected %s, received %s%s", h_quote(after, strlen(after)),
	    h_quote(reply, n), h_daemon_log_tail(&s.d));
	servers_stop(&s);
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
	n = exchange(s.ctime, "x\n", reply, sizeof(reply));
	ck_assert_msg(n == 29 && reply[0] == '[' && is_ctime(reply + 1) &&
	    strcmp(reply + 25, "] x\n") == 0, "expected \"[<ctime>] x\\n\", "
	    "received %s%s", h_quote(reply, n), h_daemon_log_tail(&s.d));
	servers_stop(&s);
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
	servers_stop(&s);
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
	servers_stop(&s);
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
	};
	Suite *suite = suite_create("plugins");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
