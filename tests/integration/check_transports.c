/*
 * check_transports.c - what only some transports or models do: unix
 * socket files (mode, stale and busy paths, removal on stop, unnamed
 * clients), datagrams (oversize, empty, unnamed senders, IPv6), worker
 * pools (a killed worker is replaced), block_on_close = false, reaping
 * per-request children, and the configuration errors of these settings.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

/* How long a client waits to be sure that nothing arrives. */
#define SILENCE_MS 500

/* How long the daemon gets to react to something (a log line, a fork). */
#define REACT_MS 5000

static const char *const transports[] = { "tcp", "udp", "unix",
    "unix-dgram" };
#define NTRANSPORTS (int)(sizeof(transports) / sizeof(transports[0]))

static const char *const unix_transports[] = { "unix", "unix-dgram" };
static const char *const dgram_transports[] = { "udp", "unix-dgram" };
static const char *const pool_models[] = { "threading", "forking" };

/* --- one server's endpoint, whatever its transport ----------------------- */

struct ep {
	const char *transport;
	int port;		/* tcp, udp */
	const char *path;	/* unix, unix-dgram */
	const char *listen;
};

static bool
is_unix(const char *transport)
{
	return strncmp(transport, "unix", 4) == 0;
}

static bool
is_datagram(const char *transport)
{
	return strcmp(transport, "udp") == 0 ||
	    strcmp(transport, "unix-dgram") == 0;
}

/* A fresh endpoint; `name` names the socket file of unix transports. */
static void
ep_init(struct ep *e, const char *transport, const char *name)
{
	memset(e, 0, sizeof(*e));
	e->transport = transport;
	if (is_unix(transport)) {
		e->path = h_sock_path(h_path("%s.sock", name));
		e->listen = e->path;
	} else {
		e->port = h_free_port();
		e->listen = h_path("127.0.0.1:%d", e->port);
	}
}

/* Waits until the server serves; over UDP it must be an echo server. */
static void
ep_wait(struct h_daemon *d, const struct ep *e)
{
	if (strcmp(e->transport, "tcp") == 0)
		h_daemon_wait_port(d, e->port);
	else if (strcmp(e->transport, "udp") == 0)
		h_daemon_wait_udp(d, AF_INET, e->port);
	else if (strcmp(e->transport, "unix") == 0)
		h_daemon_wait_unix(d, e->path);
	else
		h_daemon_wait_unix_dgram(d, e->path);
}

/* A unix datagram client bound to a path of its own; returns the path. */
static const char *
bound_client(int *fd)
{
	static int n;
	const char *path = h_sock_path(h_path("client%d.sock", n++));

	*fd = h_unix_dgram_socket(path);
	return path;
}

/* A datagram client of e: connected (udp) or bound (unix-dgram). */
static int
dgram_client(const struct ep *e, const char **name_r)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	const char *path;
	int fd;

	if (is_unix(e->transport)) {
		path = bound_client(&fd);
		if (name_r != NULL)
			*name_r = path;
		return fd;
	}
	fd = h_udp_connect(AF_INET, e->port);
	ck_assert_msg(getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "getsockname: %s", strerror(errno));
	if (name_r != NULL)
		*name_r = h_path("127.0.0.1:%d", ntohs(sin.sin_port));
	return fd;
}

static void
dgram_send(const struct ep *e, int fd, const void *buf, size_t n)
{
	if (is_unix(e->transport))
		h_dgram_send_to(fd, e->path, buf, n);
	else
		h_dgram_send(fd, buf, n);
}

/* The one reply datagram to `request` must be `reply`. */
static void
dgram_expect_reply(struct h_daemon *d, const struct ep *e, int fd,
    const char *request, size_t len, const char *reply)
{
	char buf[1024];
	ssize_t n;

	dgram_send(e, fd, request, len);
	n = h_dgram_recv(fd, buf, sizeof(buf), H_TIMEOUT_MS);
	ck_assert_msg(n >= 0, "%s: datagram %s: no reply within %d ms, "
	    "expected %s%s", e->transport, h_quote(request, len), H_TIMEOUT_MS,
	    h_quote(reply, strlen(reply)), h_daemon_log_tail(d));
	ck_assert_msg((size_t)n == strlen(reply) && memcmp(buf, reply,
	    (size_t)n) == 0, "%s: datagram %s: expected the reply %s, "
	    "received %s%s", e->transport, h_quote(request, len),
	    h_quote(reply, strlen(reply)), h_quote(buf, (size_t)n),
	    h_daemon_log_tail(d));
}

/* For SILENCE_MS no datagram may come back (an ICMP refusal is none). */
static void
dgram_expect_none(struct h_daemon *d, const char *transport, int fd,
    const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long deadline = h_now_ms() + SILENCE_MS, left;
	char buf[1024];
	ssize_t r;

	while ((left = deadline - h_now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR ||
		    errno == ECONNREFUSED))
			continue;
		ck_assert_msg(0, "%s, %s: expected no reply within %d ms, "
		    "received %s%s", transport, what, SILENCE_MS,
		    r >= 0 ? h_quote(buf, (size_t)r) : strerror(errno),
		    h_daemon_log_tail(d));
	}
}

/* Sends `request` (stream: then EOF) to e; the reply must be `reply`. */
static void
ep_exchange(struct h_daemon *d, const struct ep *e, const char *request,
    const char *reply)
{
	char buf[1024];
	size_t n;
	int fd;

	if (is_datagram(e->transport)) {
		fd = dgram_client(e, NULL);
		dgram_expect_reply(d, e, fd, request, strlen(request), reply);
		close(fd);
		return;
	}
	fd = is_unix(e->transport) ? h_connect_unix(e->path) :
	    h_connect(e->port);
	h_send(fd, request);
	h_shutdown_write(fd);
	n = h_recv_all(fd, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, reply) == 0, "%s: request %s: expected %s, "
	    "received %s%s", e->transport, h_quote(request, strlen(request)),
	    h_quote(reply, strlen(reply)), h_quote(buf, n),
	    h_daemon_log_tail(d));
	close(fd);
}

/* --- configurations and common checks ------------------------------------ */

/* One server: %1$s name, %2$s transport, %3$s listen, %4$s handler, %5$s
 * further settings. */
#define SERVER \
    "  { name = \"%s\"; transport = \"%s\"; listen = \"%s\";\n" \
    "    handler = \"%s\"; %s }"
#define DAEMON \
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"

/* Starts one echo server on e with `extra` settings, and waits for it. */
static void
echo_start(struct h_daemon *d, const struct ep *e, const char *extra)
{
	const char *conf;

	conf = h_write_file("echo.conf", DAEMON "servers = (\n" SERVER "\n);\n",
	    "echo", e->transport, e->listen, "echo", extra);
	h_daemon_start(d, conf, NULL);
	ep_wait(d, e);
}

static void
expect_clean_stop(struct h_daemon *d)
{
	int code = h_daemon_stop(d, SIGTERM);

	ck_assert_msg(code == 0, "sockservd exited with %d on SIGTERM, "
	    "expected 0%s", code, h_daemon_log_tail(d));
}

static void
expect_gone(struct h_daemon *d, const char *path)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) < 0 && errno == ENOENT, "%s is still "
	    "there after a clean stop%s", path, h_daemon_log_tail(d));
}

static void
expect_socket_mode(struct h_daemon *d, const char *path, mode_t mode)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "stat %s: %s%s", path,
	    strerror(errno), h_daemon_log_tail(d));
	ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket (mode %o)%s",
	    path, (unsigned)st.st_mode, h_daemon_log_tail(d));
	ck_assert_msg((st.st_mode & 07777) == mode, "%s has mode %04o, "
	    "expected %04o%s", path, (unsigned)(st.st_mode & 07777),
	    (unsigned)mode, h_daemon_log_tail(d));
}

/*
 * Waits up to REACT_MS for a log line holding `text` and, when not NULL,
 * the word `word`; fails without one.
 */
static void
expect_log_line(const struct h_daemon *d, const char *text, const char *word)
{
	long deadline = h_now_ms() + REACT_MS;

	while (!h_log_line_has_words(d, text, word, NULL) &&
	    h_now_ms() < deadline)
		h_sleep_ms(50);
	ck_assert_msg(h_log_line_has_words(d, text, word, NULL), "no log line "
	    "says %s%s%s "
	    "within %d ms%s", h_quote(text, strlen(text)),
	    word != NULL ? " naming " : "", word != NULL ? word : "",
	    REACT_MS, h_daemon_log_tail(d));
}

/* A unix stream socket bound at path; listening when `listening`. */
static int
unix_listener(const char *path, bool listening)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	ck_assert(strlen(path) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "bind %s: %s", path, strerror(errno));
	ck_assert_msg(!listening || listen(fd, 8) == 0, "listen %s: %s",
	    path, strerror(errno));
	return fd;
}

static void
expect_status(const struct h_result *r, int status, const char *what)
{
	ck_assert_msg(r->status == status, "%s: expected exit status %d, "
	    "got %d; output:\n%s", what, status, r->status, r->output);
}

static void
expect_output(const struct h_result *r, const char *needle, const char *what)
{
	ck_assert_msg(strstr(r->output, needle) != NULL, "%s: expected %s "
	    "in the output:\n%s", what, h_quote(needle, strlen(needle)),
	    r->output);
}

/* --- unix socket files --------------------------------------------------- */

/*
 * The socket file gets socket_mode ("0660" by default) whatever the
 * umask, serves, and is removed by a clean stop.
 */
START_TEST(test_socket_mode)
{
	const char *transport = unix_transports[_i];
	struct ep dflt, priv;
	struct h_daemon d;
	const char *conf;

	ep_init(&dflt, transport, "default");
	ep_init(&priv, transport, "private");
	conf = h_write_file("mode.conf", DAEMON "servers = (\n" SERVER ",\n"
	    SERVER "\n);\n",
	    "default", transport, dflt.path, "echo", "",
	    "private", transport, priv.path, "echo", "socket_mode = \"0600\";");
	h_daemon_start(&d, conf, NULL);
	ep_wait(&d, &dflt);
	ep_wait(&d, &priv);
	expect_socket_mode(&d, dflt.path, 0660);
	expect_socket_mode(&d, priv.path, 0600);
	ep_exchange(&d, &dflt, "hello\n", "hello\n");
	ep_exchange(&d, &priv, "hello\n", "hello\n");
	expect_clean_stop(&d);
	expect_gone(&d, dflt.path);
	expect_gone(&d, priv.path);
}
END_TEST

/*
 * socket_owner by name and socket_group by number. As root the group is
 * 1, not ours, so the chown is seen; otherwise only our own ids are
 * allowed, and the test shows the settings are at least accepted.
 */
START_TEST(test_socket_owner_group)
{
	const char *transport = unix_transports[_i];
	struct passwd *pw = getpwuid(getuid());
	gid_t gid = geteuid() == 0 ? 1 : getegid();
	struct h_daemon d;
	struct stat st;
	struct ep e;

	ck_assert_msg(pw != NULL, "no passwd entry for uid %ld",
	    (long)getuid());
	ep_init(&e, transport, "owned");
	echo_start(&d, &e, h_path("socket_owner = \"%s\"; "
	    "socket_group = \"%ld\";", pw->pw_name, (long)gid));
	ck_assert_msg(lstat(e.path, &st) == 0, "stat %s: %s", e.path,
	    strerror(errno));
	ck_assert_msg(st.st_uid == pw->pw_uid && st.st_gid == gid, "%s: "
	    "owner %ld:%ld, expected %ld:%ld (socket_owner \"%s\", "
	    "socket_group \"%ld\")%s", e.path, (long)st.st_uid,
	    (long)st.st_gid, (long)pw->pw_uid, (long)gid, pw->pw_name,
	    (long)gid, h_daemon_log_tail(&d));
	expect_socket_mode(&d, e.path, 0660);
	ep_exchange(&d, &e, "owned\n", "owned\n");
	expect_clean_stop(&d);
	expect_gone(&d, e.path);
}
END_TEST

/* A socket file nobody listens on (a crashed server's) is replaced. */
START_TEST(test_stale_socket_replaced)
{
	struct h_daemon d;
	struct ep e;
	int fd;

	ep_init(&e, "unix", "stale");
	close(unix_listener(e.path, false));
	fd = h_try_connect_unix(e.path);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "the stale socket %s "
	    "should refuse connections: %s", e.path,
	    fd >= 0 ? "connected" : strerror(errno));
	echo_start(&d, &e, "");
	ep_exchange(&d, &e, "over a stale path\n", "over a stale path\n");
	expect_clean_stop(&d);
	expect_gone(&d, e.path);
}
END_TEST

/*
 * A socket another process listens on is in use: the daemon exits 1
 * naming the path, and leaves that socket alone.
 */
START_TEST(test_socket_in_use)
{
	struct h_result r;
	const char *conf;
	struct ep e;
	int other, fd;

	ep_init(&e, "unix", "busy");
	other = unix_listener(e.path, true);
	conf = h_write_file("busy.conf", DAEMON "servers = (\n" SERVER
	    "\n);\n", "echo", "unix", e.path, "echo", "");
	h_run(&r, "-F", "-f", conf);
	expect_status(&r, 1, "unix socket path in use");
	expect_output(&r, e.path, "unix socket path in use");
	expect_output(&r, "in use", "unix socket path in use");
	fd = h_try_connect_unix(e.path);
	ck_assert_msg(fd >= 0, "the other process's socket %s no longer "
	    "accepts after sockservd gave up on it: %s; output:\n%s", e.path,
	    strerror(errno), r.output);
	close(fd);
	close(other);
}
END_TEST

/* A path that is a regular file is never replaced. */
START_TEST(test_path_is_regular_file)
{
	const char *path, *conf;
	struct h_result r;
	char content[64];

	/* h_sock_path only checks that the path would fit a socket. */
	path = h_write_file(strrchr(h_sock_path("file.sock"), '/') + 1,
	    "precious data\n");
	conf = h_write_file("file.conf", DAEMON "servers = (\n" SERVER
	    "\n);\n", "echo", "unix", path, "echo", "");
	h_run(&r, "-F", "-f", conf);
	expect_status(&r, 1, "unix socket path is a regular file");
	expect_output(&r, path, "unix socket path is a regular file");
	expect_output(&r, "not a socket", "unix socket path is a regular file");
	h_read_file(path, content, sizeof(content));
	ck_assert_msg(strcmp(content, "precious data\n") == 0, "%s was "
	    "changed: now %s; output:\n%s", path,
	    h_quote(content, strlen(content)), r.output);
}
END_TEST

/* A unix stream client without a bound address is "(unnamed...)". */
START_TEST(test_unix_client_unnamed)
{
	struct h_daemon d;
	struct ep e;

	ep_init(&e, "unix", "echo");
	echo_start(&d, &e, "concurrency = \"threading\";");
	ep_exchange(&d, &e, "who am i\n", "who am i\n");
	expect_clean_stop(&d);
	ck_assert_msg(h_log_contains(&d, "request from (unnamed"), "no log "
	    "line says \"request from (unnamed\"%s", h_daemon_log_tail(&d));
}
END_TEST

/* --- datagrams ----------------------------------------------------------- */

/*
 * A unix datagram from an unbound socket has nowhere to be answered: the
 * daemon says so at debug ("unnamed") and goes on serving.
 */
START_TEST(test_unix_dgram_unnamed_sender)
{
	struct h_daemon d;
	struct ep e;
	int fd;

	ep_init(&e, "unix-dgram", "echo");
	echo_start(&d, &e, "concurrency = \"threading\";");
	fd = h_unix_dgram_socket(NULL);
	h_dgram_send_to(fd, e.path, "hello\n", 6);
	dgram_expect_none(&d, e.transport, fd, "an unbound sender");
	close(fd);
	expect_log_line(&d, "unnamed", NULL);
	ep_exchange(&d, &e, "named\n", "named\n");
	expect_clean_stop(&d);
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
	struct ep e;
	int fd;

	memset(big, 'z', 199);
	strcpy(big + 199, "\n");
	memset(edge, 'e', 100);
	strcpy(edge + 100, "\n");
	memset(fits, 'f', 99);
	strcpy(fits + 99, "\n");
	ep_init(&e, transport, "echo");
	echo_start(&d, &e, "concurrency = \"threading\"; "
	    "max_packet_size = 100;");
	fd = dgram_client(&e, &client);
	dgram_send(&e, fd, big, 200);
	dgram_expect_none(&d, transport, fd, "a 200-byte datagram with "
	    "max_packet_size = 100");
	expect_log_line(&d, "max_packet_size", client);
	dgram_send(&e, fd, edge, 101);
	dgram_expect_none(&d, transport, fd, "a 101-byte datagram with "
	    "max_packet_size = 100");
	dgram_expect_reply(&d, &e, fd, fits, 100, fits);
	dgram_expect_reply(&d, &e, fd, "small\n", 6, "small\n");
	close(fd);
	expect_clean_stop(&d);
}
END_TEST

/* An empty datagram is a request with no input: echo sends nothing. */
START_TEST(test_empty_datagram)
{
	const char *transport = dgram_transports[_i];
	struct h_daemon d;
	struct ep e;
	int fd;

	ep_init(&e, transport, "echo");
	echo_start(&d, &e, "concurrency = \"threading\";");
	fd = dgram_client(&e, NULL);
	dgram_send(&e, fd, "", 0);
	dgram_expect_none(&d, transport, fd, "an empty datagram to echo");
	dgram_expect_reply(&d, &e, fd, "hello\n", 6, "hello\n");
	close(fd);
	expect_clean_stop(&d);
}
END_TEST

/* Fails, rather than skips, on a machine without the ::1 loopback. */
static void
require_ipv6_loopback(void)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int fd;

	sin6.sin6_addr = in6addr_loopback;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&sin6,
	    sizeof(sin6)) == 0, "IPv6 unavailable on this machine: cannot "
	    "bind [::1]:0: %s; this test needs the ::1 loopback",
	    strerror(errno));
	close(fd);
}

/* The "[::1]:port" name of a UDP client socket. */
static const char *
client_name6(int fd)
{
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	char host[INET6_ADDRSTRLEN];

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&sin6, &len) == 0,
	    "getsockname: %s", strerror(errno));
	inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof(host));
	return h_path("[%s]:%d", host, ntohs(sin6.sin6_port));
}

/*
 * UDP on "[::1]:PORT" serves IPv6 only; on "*:PORT" both families. The
 * log names an IPv6 client "[::1]:port".
 */
START_TEST(test_udp_ipv6)
{
	struct ep v6 = { .transport = "udp" }, dual = { .transport = "udp" };
	const char *conf, *client;
	struct h_daemon d;
	int fd;

	require_ipv6_loopback();
	v6.port = h_free_port();
	dual.port = h_free_port();
	conf = h_write_file("udp6.conf", DAEMON "servers = (\n" SERVER ",\n"
	    SERVER "\n);\n",
	    "v6", "udp", h_path("[::1]:%d", v6.port), "echo", "",
	    "dual", "udp", h_path("*:%d", dual.port), "echo", "");
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_udp(&d, AF_INET6, v6.port);
	h_daemon_wait_udp(&d, AF_INET6, dual.port);

	fd = h_udp_connect(AF_INET6, v6.port);
	client = client_name6(fd);
	dgram_expect_reply(&d, &v6, fd, "over ipv6\n", 10, "over ipv6\n");
	close(fd);
	fd = h_udp_connect(AF_INET, v6.port);
	h_dgram_send(fd, "v4 to v6 only\n", 14);
	dgram_expect_none(&d, "udp", fd, "IPv4 to a server on [::1] only");
	close(fd);

	fd = h_udp_connect(AF_INET, dual.port);
	dgram_expect_reply(&d, &dual, fd, "dual v4\n", 8, "dual v4\n");
	close(fd);
	fd = h_udp_connect(AF_INET6, dual.port);
	dgram_expect_reply(&d, &dual, fd, "dual v6\n", 8, "dual v6\n");
	close(fd);

	expect_clean_stop(&d);
	ck_assert_msg(h_log_line_has_words(&d, "request from", client, NULL),
	    "no log line says \"request from %s\"%s", client,
	    h_daemon_log_tail(&d));
}
END_TEST

/* --- worker pools and children ------------------------------------------- */

/*
 * Waits up to REACT_MS until the daemon has exactly `n` children, none
 * of them `gone` (unless 0); returns their count, filling pids.
 */
static size_t
wait_children(struct h_daemon *d, size_t n, pid_t gone, pid_t *pids,
    size_t cap)
{
	long deadline = h_now_ms() + REACT_MS;
	size_t count, i;
	bool seen;

	for (;;) {
		count = h_children(d->pid, pids, cap);
		for (seen = false, i = 0; i < count && i < cap; i++)
			seen = seen || pids[i] == gone;
		if ((count == n && !seen) || h_now_ms() > deadline)
			return count;
		h_sleep_ms(50);
	}
}

/*
 * True while pid runs. A zombie has ended: once the daemon is gone, its
 * orphans are reaped by whoever adopts them, which may take its time.
 */
static bool
running(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

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
	size_t n, i;
	struct ep e;
	int k;

	ep_init(&e, transport, "echo");
	echo_start(&d, &e, "concurrency = \"forking\"; workers = 3;");
	ep_exchange(&d, &e, "first\n", "first\n");
	n = wait_children(&d, 3, 0, pids, 16);
	ck_assert_msg(n == 3, "%s, forking workers = 3: %zu children while "
	    "idle, expected 3%s", transport, n, h_daemon_log_tail(&d));
	victim = pids[0];
	ck_assert_msg(kill(victim, SIGKILL) == 0, "kill %ld: %s",
	    (long)victim, strerror(errno));
	expect_log_line(&d, "killed by signal", NULL);
	n = wait_children(&d, 3, victim, pids, 16);
	ck_assert_msg(n == 3, "%s: after SIGKILL to worker %ld, %zu children "
	    "or the killed one still among them; expected 3, the killed one "
	    "reaped and replaced%s", transport, (long)victim, n,
	    h_daemon_log_tail(&d));
	for (k = 0; k < 6; k++)
		ep_exchange(&d, &e, h_path("after kill %d\n", k),
		    h_path("after kill %d\n", k));
	expect_clean_stop(&d);
	for (i = 0; i < 3; i++) {
		long deadline = h_now_ms() + REACT_MS;

		while (running(pids[i]) && h_now_ms() < deadline)
			h_sleep_ms(50);
		ck_assert_msg(!running(pids[i]), "%s: worker %ld outlived the "
		    "daemon's clean stop%s", transport, (long)pids[i],
		    h_daemon_log_tail(&d));
	}
}
END_TEST

/* threading with workers = 4: the threads exist before any request. */
START_TEST(test_threading_pool)
{
	long deadline;
	struct h_daemon d;
	struct ep e;
	size_t threads;
	int fds[8], i;
	char line[32], buf[64];

	ep_init(&e, "tcp", "echo");
	echo_start(&d, &e, "concurrency = \"threading\"; workers = 4;");
	deadline = h_now_ms() + REACT_MS;
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
		h_recv_all(fds[i], buf, sizeof(buf));
		ck_assert_msg(strcmp(buf, line) == 0, "pool client %d: "
		    "expected %s, received %s%s", i,
		    h_quote(line, strlen(line)), h_quote(buf, strlen(buf)),
		    h_daemon_log_tail(&d));
		close(fds[i]);
	}
	expect_clean_stop(&d);
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
	const char *conf;
	char buf[64];
	struct ep e;
	ssize_t r;
	int fd, code;

	ep_init(&e, "tcp", "slow");
	conf = h_write_file("slow.conf", "daemon: { shutdown_timeout = 10.0; "
	    "log_level = \"debug\"; };\nservers = (\n" SERVER "\n);\n",
	    "slow", "tcp", e.listen, h_fixture("slow"),
	    h_path("concurrency = \"%s\"; block_on_close = false;\n"
	    "    options = { delay_ms = 3000; };", model));
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, e.port);
	fd = h_connect(e.port);
	h_send(fd, "slow\n");
	h_shutdown_write(fd);
	h_sleep_ms(300);
	code = h_daemon_stop(&d, SIGTERM);
	ck_assert_msg(code == 0, "%s, block_on_close = false: exit status %d "
	    "on SIGTERM, expected 0%s", model, code, h_daemon_log_tail(&d));
	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 0 || (r < 0 && errno == ECONNRESET), "%s, "
	    "block_on_close = false: expected the in-flight request dropped "
	    "(EOF or reset), recv gave %s %s%s", model,
	    r > 0 ? "data" : strerror(errno),
	    h_quote(buf, r > 0 ? (size_t)r : 0), h_daemon_log_tail(&d));
	close(fd);
}
END_TEST

/* forking, workers = 0: once requests are done, no child is left over. */
START_TEST(test_no_zombies)
{
	const char *transport = transports[_i];
	struct h_daemon d;
	pid_t pids[16];
	struct ep e;
	size_t n;
	int k;

	ep_init(&e, transport, "echo");
	echo_start(&d, &e, "concurrency = \"forking\";");
	for (k = 0; k < 10; k++)
		ep_exchange(&d, &e, h_path("request %d\n", k),
		    h_path("request %d\n", k));
	n = wait_children(&d, 0, 0, pids, 16);
	ck_assert_msg(n == 0, "%s, forking per request: %zu children (zombies "
	    "included) left once every request is done, first pid %ld%s",
	    transport, n, (long)pids[0], h_daemon_log_tail(&d));
	expect_clean_stop(&d);
}
END_TEST

/* --- configuration errors ------------------------------------------------ */

static const struct config_case {
	const char *what;
	const char *transport;
	const char *settings;	/* on line 4 of the file */
	int status;		/* of -t */
	const char *key;	/* named with the line when status is 2 */
} config_cases[] = {
	{ "workers with sync", "tcp",
	    "concurrency = \"sync\"; workers = 2;", 2, "workers" },
	{ "workers over max_children", "tcp",
	    "concurrency = \"threading\"; workers = 50; max_children = 40;",
	    2, "workers" },
	{ "negative workers", "tcp",
	    "concurrency = \"forking\"; workers = -1;", 2, "workers" },
	{ "socket_mode not octal", "unix",
	    "socket_mode = \"999\";", 2, "socket_mode" },
	{ "socket_mode on tcp", "tcp",
	    "socket_mode = \"0660\";", 2, "socket_mode" },
	/* Their valid neighbours, so the errors above are the settings'. */
	{ "workers = max_children", "tcp",
	    "concurrency = \"threading\"; workers = 40; max_children = 40;",
	    0, NULL },
	{ "forking pool", "udp",
	    "concurrency = \"forking\"; workers = 3;", 0, NULL },
	{ "socket_mode on unix", "unix",
	    "socket_mode = \"0600\";", 0, NULL },
	{ "socket_mode on unix-dgram", "unix-dgram",
	    "socket_mode = \"0640\"; max_packet_size = 1024;", 0, NULL },
};

/*
 * TCP_NODELAY of the daemon's end of the connection whose local end is
 * fd: the daemon's descriptors are copied in with pidfd_getfd until one
 * has fd's address as its peer.
 */
static int
server_side_nodelay(pid_t pid, int fd)
{
	struct sockaddr_storage mine, peer;
	socklen_t minelen = sizeof(mine), peerlen;
	int pidfd, target, copy, on = -1;
	socklen_t len = sizeof(on);

	ck_assert(getsockname(fd, (struct sockaddr *)&mine, &minelen) == 0);
	pidfd = pidfd_open(pid, 0);
	ck_assert_msg(pidfd >= 0, "pidfd_open: %s", strerror(errno));
	for (target = 0; target < 1024 && on < 0; target++) {
		copy = pidfd_getfd(pidfd, target, 0);
		if (copy < 0)
			continue;
		peerlen = sizeof(peer);
		if (getpeername(copy, (struct sockaddr *)&peer, &peerlen) == 0 &&
		    peerlen == minelen && memcmp(&peer, &mine, minelen) == 0)
			ck_assert(getsockopt(copy, IPPROTO_TCP, TCP_NODELAY, &on,
			    &len) == 0);
		close(copy);
	}
	close(pidfd);
	ck_assert_msg(on >= 0, "no connection of the daemon has the test's "
	    "address as its peer");
	return on != 0;
}

/* %1$d and %2$d: ports with tcp_nodelay true and false. */
static const char nodelay_conf[] =
    "servers = (\n"
    "  { name = \"on\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; },\n"
    "  { name = \"off\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\";\n"
    "    tcp_nodelay = false; }\n"
    ");\n";

START_TEST(test_tcp_nodelay)
{
	struct h_daemon d;
	int on = h_free_port(), off = h_free_port(), fd;

	h_daemon_start(&d, h_write_file("nodelay.conf", nodelay_conf, on,
	    off), NULL);
	h_daemon_wait_port(&d, on);
	h_daemon_wait_port(&d, off);
	/* A reply proves the request is being served, its socket open. */
	fd = h_connect(on);
	h_send(fd, "x\n");
	h_expect(fd, "x\n");
	ck_assert_msg(server_side_nodelay(d.pid, fd) == 1,
	    "tcp_nodelay = true, yet Nagle is on");
	close(fd);
	fd = h_connect(off);
	h_send(fd, "x\n");
	h_expect(fd, "x\n");
	ck_assert_msg(server_side_nodelay(d.pid, fd) == 0,
	    "tcp_nodelay = false, yet TCP_NODELAY is set");
	close(fd);
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM), 0);
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
	ck_assert_int_eq(h_daemon_stop(&d, SIGTERM), 0);
}
END_TEST

START_TEST(test_config)
{
	const struct config_case *c = &config_cases[_i];
	struct h_result r;
	const char *conf;
	struct ep e;

	ep_init(&e, c->transport, "s");
	conf = h_write_file("case.conf",
	    "daemon: { log_level = \"info\"; };\n"
	    "servers = (\n"
	    "  { name = \"s\"; transport = \"%s\"; listen = \"%s\";\n"
	    "    handler = \"echo\"; %s }\n"
	    ");\n", c->transport, e.listen, c->settings);
	h_run(&r, "-t", "-f", conf);
	expect_status(&r, c->status, h_path("-t, %s", c->what));
	if (c->status != 2)
		return;
	expect_output(&r, h_path("%s:4:", conf), h_path("-t, %s", c->what));
	expect_output(&r, c->key, h_path("-t, %s", c->what));
	/* Not only -t: starting refuses it the same way. */
	h_run(&r, "-F", "-f", conf);
	expect_status(&r, 2, c->what);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "socket_mode", test_socket_mode, 2 },
		{ "socket_owner_group", test_socket_owner_group, 2 },
		{ "stale_socket_replaced", test_stale_socket_replaced, 0 },
		{ "socket_in_use", test_socket_in_use, 0 },
		{ "path_is_regular_file", test_path_is_regular_file, 0 },
		{ "unix_client_unnamed", test_unix_client_unnamed, 0 },
		{ "unix_dgram_unnamed_sender", test_unix_dgram_unnamed_sender,
		    0 },
		{ "oversize_datagram", test_oversize_datagram, 2 },
		{ "empty_datagram", test_empty_datagram, 2 },
		{ "udp_ipv6", test_udp_ipv6, 0 },
		{ "forking_pool_replaces_killed",
		    test_forking_pool_replaces_killed, NTRANSPORTS },
		{ "threading_pool", test_threading_pool, 0 },
		{ "block_on_close_false", test_block_on_close_false, 2 },
		{ "no_zombies", test_no_zombies, NTRANSPORTS },
		{ "tcp_nodelay", test_tcp_nodelay, 0 },
		{ "thread_stack_size", test_thread_stack_size, 0 },
		{ "config", test_config,
		    (int)(sizeof(config_cases) / sizeof(config_cases[0])) },
	};
	Suite *suite = suite_create("transports");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
