/*
 * check_control.c - SPEC §10 control socket and sockservctl: status and
 * stats --json (parsed by python3's json), reload that answers whether
 * it applied the new configuration and why not, stop, log-level; the
 * socket file's mode and owner, its removal at stop, no socket without
 * daemon.control; and bad clients (garbage, a 1 MiB line, silence, a
 * client that never reads, more clients than the cap) that get a clear
 * error while the daemon goes on serving.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* %1$s the control line (or ""), %2$d the echo port, %3$s log level. */
static const char control_conf[] =
    "daemon: { log_level = \"%3$s\"; shutdown_timeout = 5; %1$s };\n"
    "servers = (\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; }\n"
    ");\n";

struct ctl_env {
	struct h_daemon d;
	const char *sock;
	const char *conf;
	int port;
};

/* A daemon with an echo server and a control socket in the temp dir. */
static void
start(struct ctl_env *e, const char *level, const char *more)
{
	e->port = h_free_port();
	e->sock = h_sock_path("control.sock");
	e->conf = h_write_file("c.conf", control_conf,
	    h_path("control = \"%s\"; %s", e->sock, more), e->port, level);
	h_daemon_start(&e->d, e->conf, NULL);
	h_daemon_wait_port(&e->d, e->port);
	h_daemon_wait_unix(&e->d, e->sock);
}

/* Runs `sockservctl -s SOCK ARGS...` to completion. */
static void
ctl_argv(struct h_result *r, const char *sock, const char *const *args)
{
	const char *argv[16];
	struct h_daemon p;
	size_t n = 0;

	argv[n++] = h_env("SS_SOCKSERVCTL");
	argv[n++] = "-s";
	argv[n++] = sock;
	for (; *args != NULL && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	h_spawn(&p, argv, NULL);
	r->status = h_daemon_wait_exit(&p);
	h_read_file(p.log, r->output, sizeof(r->output));
}
#define ctl(r, sock, ...) \
	ctl_argv((r), (sock), (const char *const[]){ __VA_ARGS__, NULL })

/* Reads up to the end of input; a reset after the reply ends it too. */
static size_t
recv_reply(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap) {
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return n;
}

/* One raw request on a fresh connection; the reply up to its end. */
static void
raw_request(const char *sock, const char *request, char *buf, size_t cap)
{
	int fd = h_connect_unix(sock);

	h_send(fd, request);
	recv_reply(fd, buf, cap);
	close(fd);
}

static void
expect_served(struct ctl_env *e, const char *why)
{
	struct h_result r;

	h_expect_echo(&e->d, e->port, "still here\n", why);
	ctl(&r, e->sock, "status");
	h_expect_status(&r, 0, why);
	h_expect_output(&r, "SERVER", why);
}

START_TEST(test_status_table)
{
	struct ctl_env e;
	struct h_result r;
	struct stat st;

	start(&e, "info", "");
	ck_assert_msg(lstat(e.sock, &st) == 0 && S_ISSOCK(st.st_mode),
	    "%s is no socket", e.sock);
	ck_assert_msg((st.st_mode & 07777) == 0600, "control socket mode %o, "
	    "expected 600", (unsigned)(st.st_mode & 07777));
	h_expect_echo(&e.d, e.port, "hello\n", "echo");
	ctl(&r, e.sock, "status");
	h_expect_status(&r, 0, "status");
	h_expect_output(&r, "sockservd ", "status");
	h_expect_output(&r, "IN-FLIGHT", "status");
	ck_assert_msg(h_contains_word(r.output, "echo") &&
	    h_contains_word(r.output, "tcp") &&
	    h_contains_word(r.output, "threading") &&
	    strstr(r.output, h_path("127.0.0.1:%d", e.port)) != NULL,
	    "status lacks the server's line:\n%s", r.output);
	ck_assert_msg(strstr(r.output, "\nok") == NULL, "the status line "
	    "\"ok\" reached the output:\n%s", r.output);
	h_expect_clean_stop(&e.d);
}
END_TEST

/* The JSON parses, and says what the requests did. */
START_TEST(test_stats_json)
{
	static const char check[] =
	    "import json, sys\n"
	    "s = json.load(open(sys.argv[1]))\n"
	    "assert isinstance(s['version'], str)\n"
	    "assert s['uptime_seconds'] >= 0\n"
	    "[v] = s['servers']\n"
	    "assert v['name'] == 'echo' and v['transport'] == 'tcp'\n"
	    "assert v['address'] == '127.0.0.1:' + sys.argv[2]\n"
	    "assert v['model'] == 'threading' and v['workers'] == 0\n"
	    "assert v['handler'] == 'echo'\n"
	    "assert v['ok'] >= 2 and v['requests'] >= v['ok']\n"
	    "assert v['bytes_in'] >= 8 and v['bytes_out'] >= 8\n"
	    "assert set(v['refused']) == {'access', 'max_per_source',\n"
	    "    'verify_request', 'proxy', 'tls'}\n"
	    "b = v['latency']['buckets']\n"
	    "assert b[-1]['le'] == '+Inf' and b[-1]['count'] == "
	    "v['latency']['count']\n";
	struct ctl_env e;
	struct h_result r, py;
	struct h_daemon p;
	const char *json;

	start(&e, "info", "");
	h_expect_echo(&e.d, e.port, "one\n", "first");
	h_expect_echo(&e.d, e.port, "two\n", "second");
	ctl(&r, e.sock, "stats", "--json");
	h_expect_status(&r, 0, "stats --json");
	json = h_write_file("stats.json", "%s", r.output);
	h_spawn(&p, (const char *const[]){ h_which("python3"), "-c", check,
	    json, h_path("%d", e.port), NULL }, NULL);
	py.status = h_daemon_wait_exit(&p);
	h_read_file(p.log, py.output, sizeof(py.output));
	ck_assert_msg(py.status == 0, "the JSON does not hold: %s\n%s",
	    py.output, r.output);
	h_expect_clean_stop(&e.d);
}
END_TEST

START_TEST(test_reload)
{
	struct ctl_env e;
	struct h_result r;

	start(&e, "info", "");
	ctl(&r, e.sock, "reload");
	h_expect_status(&r, 0, "reload");
	h_daemon_wait_log(&e.d, "reloaded", 1);
	/* A broken configuration: refused, said why, the old one serves. */
	h_write_file("c.conf", "daemon: { colour = \"red\"; control = "
	    "\"%s\"; };\nservers = ( );\n", e.sock);
	ctl(&r, e.sock, "reload");
	h_expect_status(&r, 1, "reload of a broken configuration");
	h_expect_output(&r, "colour", "reload of a broken configuration");
	h_expect_output(&r, "c.conf:1:", "reload of a broken configuration");
	h_expect_output(&r, "not applied", "reload of a broken configuration");
	ck_assert_msg(h_log_line_has(&e.d, "reload failed", "previous"),
	    "the failed reload is not logged%s", h_daemon_log_tail(&e.d));
	expect_served(&e, "after the failed reload");
	h_expect_clean_stop(&e.d);
}
END_TEST

START_TEST(test_stop)
{
	struct ctl_env e;
	struct h_result r;

	start(&e, "info", "");
	ctl(&r, e.sock, "stop");
	h_expect_status(&r, 0, "stop");
	h_expect_exit_ok(&e.d, h_daemon_wait_exit(&e.d), "sockservctl stop");
	h_expect_gone(&e.d, e.sock, "after the stop");
	ctl(&r, e.sock, "status");
	h_expect_status(&r, 3, "status without a daemon");
	h_expect_output(&r, "cannot connect", "status without a daemon");
}
END_TEST

/* The control line of a command is at info: it shows when info does. */
START_TEST(test_log_level)
{
	struct ctl_env e;
	struct h_result r;

	start(&e, "notice", "");
	ctl(&r, e.sock, "status");
	h_expect_status(&r, 0, "status at notice");
	ck_assert_msg(!h_log_contains(&e.d, "control: status"), "an info "
	    "line at level notice%s", h_daemon_log_tail(&e.d));
	ctl(&r, e.sock, "log-level", "info");
	h_expect_status(&r, 0, "log-level info");
	ctl(&r, e.sock, "status");
	ck_assert_msg(h_log_contains(&e.d, "control: status"), "no info "
	    "line after log-level info%s", h_daemon_log_tail(&e.d));
	ctl(&r, e.sock, "log-level", "loud");
	h_expect_status(&r, 1, "log-level loud");
	h_expect_output(&r, "unknown log level", "log-level loud");
	ctl(&r, e.sock, "frobnicate");
	h_expect_status(&r, 2, "an unknown command");
	h_expect_clean_stop(&e.d);
}
END_TEST

START_TEST(test_garbage_and_long_lines)
{
	static char big[1 << 20];
	struct ctl_env e;
	char buf[4096];
	size_t sent = 0;
	ssize_t w;
	int fd;

	start(&e, "info", "");
	raw_request(e.sock, "\x01\xff garbage\n", buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "error: unknown command", 22) == 0,
	    "garbage got: %s", h_quote(buf, strlen(buf)));
	raw_request(e.sock, "\n", buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "error: empty request", 20) == 0,
	    "an empty line got: %s", h_quote(buf, strlen(buf)));
	/* 1 MiB without a newline: cut off after 1024 bytes, told why. */
	memset(big, 'x', sizeof(big));
	fd = h_connect_unix(e.sock);
	while (sent < sizeof(big)) {
		w = send(fd, big + sent, sizeof(big) - sent, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	recv_reply(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_msg(strstr(buf, "error: request line too long") != NULL,
	    "a 1 MiB line got: %s", h_quote(buf, strlen(buf)));
	ck_assert_msg(sent < sizeof(big), "the daemon read the whole MiB");
	expect_served(&e, "after garbage");
	h_expect_clean_stop(&e.d);
}
END_TEST

/*
 * A silent client and one that sends requests without ever reading hold
 * nothing up; the silent one is told and dropped at its deadline.
 */
START_TEST(test_silent_and_greedy_clients)
{
	struct ctl_env e;
	char buf[4096];
	size_t i;
	int silent, greedy;

	start(&e, "info", "");
	silent = h_connect_unix(e.sock);
	greedy = h_connect_unix(e.sock);
	for (i = 0; i < 10000; i++)
		if (send(greedy, "status\n", 7, MSG_NOSIGNAL |
		    MSG_DONTWAIT) != 7)
			break;
	expect_served(&e, "with a silent and a greedy client");
	recv_reply(silent, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, "error: no request line in time\n") == 0,
	    "the silent client got: %s", h_quote(buf, strlen(buf)));
	ck_assert_msg(h_log_contains(&e.d, "no whole request line"), "the "
	    "dropped client is not logged%s", h_daemon_log_tail(&e.d));
	close(silent);
	close(greedy);
	expect_served(&e, "after them");
	h_expect_clean_stop(&e.d);
}
END_TEST

/*
 * 20 at once, none saying anything yet: the 4 over the cap of 16 are
 * told so and closed, the 16 are served; then all is well.
 */
START_TEST(test_many_clients)
{
	enum { N = 20, CAP = 16 };
	struct pollfd pfd[N];
	struct ctl_env e;
	char buf[4096];
	int fd[N], i, served = 0, refused = 0;
	long until;

	start(&e, "info", "");
	for (i = 0; i < N; i++) {
		fd[i] = h_connect_unix(e.sock);
		pfd[i] = (struct pollfd){ .fd = fd[i], .events = POLLIN };
	}
	until = h_now_ms() + H_TIMEOUT_MS;
	while (refused < N - CAP && h_now_ms() < until) {
		ck_assert_int_ge(poll(pfd, N, 100), 0);
		for (i = 0; i < N; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			recv_reply(fd[i], buf, sizeof(buf));
			ck_assert_msg(strcmp(buf, "error: too many control "
			    "clients at once; try again\n") == 0, "client %d "
			    "got: %s", i, h_quote(buf, strlen(buf)));
			close(fd[i]);
			pfd[i].fd = fd[i] = -1;
			refused++;
		}
	}
	ck_assert_msg(refused == N - CAP, "%d refused, expected %d%s",
	    refused, N - CAP, h_daemon_log_tail(&e.d));
	for (i = 0; i < N; i++) {
		if (fd[i] < 0)
			continue;
		h_send(fd[i], "status\n");
		recv_reply(fd[i], buf, sizeof(buf));
		close(fd[i]);
		ck_assert_msg(strstr(buf, "SERVER") != NULL &&
		    strstr(buf, "\nok\n") != NULL, "client %d got: %s", i,
		    h_quote(buf, strlen(buf)));
		served++;
	}
	ck_assert_int_eq(served, CAP);
	h_daemon_wait_line(&e.d, "control: refused", "at most 16");
	expect_served(&e, "after 20 clients");
	h_expect_clean_stop(&e.d);
}
END_TEST

START_TEST(test_absent_key_no_socket)
{
	const char *sock = h_sock_path("control.sock");
	struct h_daemon d;
	struct h_result r;
	int port = h_free_port();

	h_daemon_start(&d, h_write_file("c.conf", control_conf, "", port,
	    "info"), NULL);
	h_daemon_wait_port(&d, port);
	ctl(&r, sock, "status");
	h_expect_status(&r, 3, "status without daemon.control");
	ck_assert_msg(!h_log_contains(&d, "control socket"), "a control "
	    "socket without daemon.control%s", h_daemon_log_tail(&d));
	h_expect_clean_stop(&d);
}
END_TEST

/* Owned by daemon.user, so the daemon can still serve (and remove) it. */
START_TEST(test_owner_is_the_daemon_user)
{
	struct passwd *pw = getpwnam("nobody");
	struct ctl_env e;
	struct stat st;

	ck_assert_msg(pw != NULL, "no user nobody on this machine");
	ck_assert_msg(geteuid() == 0, "the test needs root to change users");
	start(&e, "info", "user = \"nobody\";");
	ck_assert_msg(lstat(e.sock, &st) == 0, "no %s", e.sock);
	ck_assert_msg(st.st_uid == pw->pw_uid && (st.st_mode & 07777) ==
	    0600, "control socket uid %ld mode %o, expected %ld and 600",
	    (long)st.st_uid, (unsigned)(st.st_mode & 07777),
	    (long)pw->pw_uid);
	h_expect_clean_stop(&e.d);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "status_table", test_status_table, 0 },
		{ "stats_json", test_stats_json, 0 },
		{ "reload", test_reload, 0 },
		{ "stop", test_stop, 0 },
		{ "log_level", test_log_level, 0 },
		{ "garbage_and_long_lines", test_garbage_and_long_lines, 0 },
		{ "silent_and_greedy_clients", test_silent_and_greedy_clients,
		    0 },
		{ "many_clients", test_many_clients, 0 },
		{ "absent_key_no_socket", test_absent_key_no_socket, 0 },
		{ "owner_is_the_daemon_user", test_owner_is_the_daemon_user,
		    0 },
	};
	Suite *suite = suite_create("control");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
