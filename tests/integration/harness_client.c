/*
 * harness_client.c - stream clients of the integration tests' harness
 * (harness.h): TCP and unix connections with timeouts, and what a test
 * expects to receive on them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness_int.h"

/* What a reply may hold for h_expect_rest and its kin. */
#define REPLY_MAX	4096

/* who, or what a helper calls it when the caller named nothing. */
static const char *
who_or(const char *who, const char *dflt)
{
	return who != NULL ? who : dflt;
}

/* --- ports and addresses ------------------------------------------------- */

struct sockaddr_in
hi_loopback(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	return sin;
}

static int
pick_port(void)
{
	struct sockaddr_in sin = hi_loopback(0);
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "cannot pick a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sin.sin_port);
}

/*
 * The kernel may hand out a port again as soon as it is closed, so the
 * ports given to one test are remembered and never repeated.
 */
int
h_free_port(void)
{
	static int given[64];
	static size_t ngiven;
	size_t i;
	int port;

	for (;;) {
		port = pick_port();
		for (i = 0; i < ngiven && given[i] != port; i++)
			;
		if (i == ngiven)
			break;
	}
	if (ngiven < sizeof(given) / sizeof(given[0]))
		given[ngiven++] = port;
	return port;
}

int
h_listen(int port)
{
	struct sockaddr_in sin = hi_loopback(port);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 && listen(fd, 64) == 0, "cannot listen on "
	    "127.0.0.1:%d: %s", port, strerror(errno));
	return fd;
}

void
h_require_ipv6(void)
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

const char *
h_client_name(int fd)
{
	const struct sockaddr_in *sin;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		return h_path("[%s]:%d", host, ntohs(sin6->sin6_port));
	}
	sin = (const struct sockaddr_in *)&ss;
	inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	return h_path("%s:%d", host, ntohs(sin->sin_port));
}

int
h_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* --- connecting ---------------------------------------------------------- */

int
hi_set_timeouts(int fd)
{
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

/*
 * A stream socket of `family` with the timeouts, bound to `from` unless
 * it is NULL, connected to `to`; -1 with errno set on failure.
 */
static int
try_connect_sa(int family, const struct sockaddr *from, socklen_t fromlen,
    const struct sockaddr *to, socklen_t tolen)
{
	int fd, saved;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((from != NULL && bind(fd, from, fromlen) < 0) ||
	    hi_set_timeouts(fd) < 0 || connect(fd, to, tolen) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* To 127.0.0.1:port, from src (an address of 127.0.0.0/8) or any. */
static int
try_connect_from(const char *src, int port)
{
	struct sockaddr_in sin = hi_loopback(port);
	struct sockaddr_in from = { .sin_family = AF_INET };

	if (src != NULL)
		ck_assert_msg(inet_pton(AF_INET, src, &from.sin_addr) == 1,
		    "not an IPv4 address: %s", src);
	return try_connect_sa(AF_INET, src != NULL ?
	    (struct sockaddr *)&from : NULL, sizeof(from),
	    (struct sockaddr *)&sin, sizeof(sin));
}

int
h_try_connect(int port)
{
	return try_connect_from(NULL, port);
}

int
h_connect(int port)
{
	int fd = h_try_connect(port);

	ck_assert_msg(fd >= 0, "connect 127.0.0.1:%d: %s%s", port,
	    strerror(errno), h_daemon_log_tail(hi_last_daemon()));
	return fd;
}

int
h_connect_from(const char *src, int port)
{
	int fd = try_connect_from(src, port);

	ck_assert_msg(fd >= 0, "connect 127.0.0.1:%d from %s: %s%s", port,
	    src, strerror(errno), h_daemon_log_tail(hi_last_daemon()));
	return fd;
}

int
h_connect6(int port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int fd;

	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons((unsigned short)port);
	fd = try_connect_sa(AF_INET6, NULL, 0, (struct sockaddr *)&sin6,
	    sizeof(sin6));
	ck_assert_msg(fd >= 0, "connect [::1]:%d: %s%s", port,
	    strerror(errno), h_daemon_log_tail(hi_last_daemon()));
	return fd;
}

const char *
h_sock_path(const char *name)
{
	struct sockaddr_un sun;
	const char *path = h_path("%s/%s", h_tmpdir(), name);

	ck_assert_msg(strlen(path) < sizeof(sun.sun_path), "%s is too long "
	    "for a unix socket (%zu bytes at most); set TMPDIR to a shorter "
	    "directory", path, sizeof(sun.sun_path) - 1);
	return path;
}

socklen_t
hi_unix_address(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	ck_assert_msg(strlen(path) < sizeof(sun->sun_path), "harness: unix "
	    "socket path too long: %s", path);
	strcpy(sun->sun_path, path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path) + 1);
}

int
h_try_connect_unix(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = hi_unix_address(&sun, path);

	return try_connect_sa(AF_UNIX, NULL, 0, (struct sockaddr *)&sun, len);
}

int
h_connect_unix(const char *path)
{
	int fd = h_try_connect_unix(path);

	ck_assert_msg(fd >= 0, "connect %s: %s%s", path, strerror(errno),
	    h_daemon_log_tail(hi_last_daemon()));
	return fd;
}

static bool
unix_accepts(const void *path)
{
	int fd = h_try_connect_unix(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void
h_daemon_wait_unix(struct h_daemon *d, const char *path)
{
	hi_wait_ready(d, unix_accepts, path, path);
}

/* --- sending and receiving ----------------------------------------------- */

void
h_send_bytes(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = send(fd, p + off, n - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_msg(r > 0, "send %s: %s%s", h_quote(p, n),
		    strerror(errno), h_daemon_log_tail(hi_last_daemon()));
		off += (size_t)r;
	}
}

void
h_send(int fd, const char *s)
{
	h_send_bytes(fd, s, strlen(s));
}

void
h_shutdown_write(int fd)
{
	ck_assert_msg(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
}

void
h_close_reset(int fd)
{
	struct linger lg = { 1, 0 };

	ck_assert_msg(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)) == 0, "SO_LINGER: %s", strerror(errno));
	close(fd);
}

/* One recv; fails on error or timeout, saying what had arrived. */
static size_t
recv_some(int fd, char *buf, size_t n, size_t got)
{
	ssize_t r;

	do
		r = recv(fd, buf + got, n - got, 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0, "recv: %s after %zu bytes (%s)%s",
	    errno == EAGAIN ? "no data within the timeout" : strerror(errno),
	    got, h_quote(buf, got), h_daemon_log_tail(hi_last_daemon()));
	return (size_t)r;
}

size_t
h_recv_n(int fd, char *buf, size_t n)
{
	size_t got = 0, r;

	while (got < n && (r = recv_some(fd, buf, n, got)) > 0)
		got += r;
	return got;
}

size_t
h_recv_all(int fd, char *buf, size_t cap)
{
	size_t got = 0, r;

	while ((r = recv_some(fd, buf, cap - 1, got)) > 0) {
		got += r;
		ck_assert_msg(got < cap - 1, "more than %zu bytes before end "
		    "of input: %s", cap - 2, h_quote(buf, got));
	}
	buf[got] = '\0';
	return got;
}

size_t
h_recv_line(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap - 1 && recv_some(fd, buf, got + 1, got) == 1) {
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = '\0';
	return got;
}

/* --- what a client expects ----------------------------------------------- */

void
h_expect(int fd, const char *expected)
{
	char buf[REPLY_MAX];
	size_t n = strlen(expected), got;

	ck_assert_msg(n <= sizeof(buf), "harness: expected reply too long");
	got = h_recv_n(fd, buf, n);
	ck_assert_msg(got == n && memcmp(buf, expected, n) == 0,
	    "expected %s, received %s%s", h_quote(expected, n),
	    h_quote(buf, got), h_daemon_log_tail(hi_last_daemon()));
}

void
h_expect_eof(int fd)
{
	char buf[256];
	ssize_t r;

	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 0, "expected end of input, %s %s%s",
	    r > 0 ? "received" : strerror(errno),
	    h_quote(buf, r > 0 ? (size_t)r : 0),
	    h_daemon_log_tail(hi_last_daemon()));
}

/*
 * The next line on fd, or with !line all up to the end of input, must
 * be `expected`.
 */
static void
expect_next(const struct h_daemon *d, int fd, bool line, const char *expected,
    const char *who)
{
	char buf[REPLY_MAX];
	size_t n = line ? h_recv_line(fd, buf, sizeof(buf)) :
	    h_recv_all(fd, buf, sizeof(buf));

	ck_assert_msg(n == strlen(expected) && memcmp(buf, expected, n) == 0,
	    "%s: expected %s%s%s, received %s%s", who_or(who, "client"),
	    line ? "the line " : "", h_quote(expected, strlen(expected)),
	    line ? "" : " then end of input", h_quote(buf, n),
	    h_daemon_log_tail(d));
}

void
h_expect_line(const struct h_daemon *d, int fd, const char *line,
    const char *who)
{
	expect_next(d, fd, true, line, who);
}

void
h_expect_rest(const struct h_daemon *d, int fd, const char *rest,
    const char *who)
{
	expect_next(d, fd, false, rest, who);
}

void
h_expect_closed(const struct h_daemon *d, int fd, const char *who)
{
	char buf[256];
	ssize_t r;

	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 0 || (r < 0 && errno == ECONNRESET), "%s: expected "
	    "the connection closed (end of input or a reset) with nothing "
	    "sent, recv gave %s %s%s", who_or(who, "client"),
	    r > 0 ? "data" : errno == EAGAIN ? "nothing within the timeout" :
	    strerror(errno), h_quote(buf, r > 0 ? (size_t)r : 0),
	    h_daemon_log_tail(d));
}

int
hi_poll_in(int fd, long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long left;
	int n;

	do {
		left = deadline - h_now_ms();
		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (n < 0 && errno == EINTR);
	return n;
}

void
h_expect_silence(const struct h_daemon *d, int fd, long ms, const char *who)
{
	long deadline = h_now_ms() + ms;
	char buf[256];
	ssize_t r;
	int n;

	for (;;) {
		n = hi_poll_in(fd, deadline);
		ck_assert_msg(n >= 0, "poll: %s", strerror(errno));
		if (n == 0)
			return;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EAGAIN || errno == EINTR ||
		    errno == ECONNREFUSED))
			continue;
		ck_abort_msg("%s: expected nothing within %ld ms, got %s %s%s",
		    who_or(who, "client"), ms, r > 0 ? "data" : r == 0 ?
		    "end of input (or an empty datagram)" : strerror(errno),
		    h_quote(buf, r > 0 ? (size_t)r : 0), h_daemon_log_tail(d));
	}
}

void
h_expect_refused(const struct h_daemon *d, int port, const char *who)
{
	int fd = h_try_connect(port);

	if (fd >= 0)
		close(fd);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "127.0.0.1:%d, %s: "
	    "expected ECONNREFUSED, got %s%s", port, who_or(who, "connect"),
	    fd >= 0 ? "a connection" : strerror(errno), h_daemon_log_tail(d));
}

/* --- requests ------------------------------------------------------------ */

size_t
h_transact(int fd, const char *request, char *buf, size_t cap)
{
	size_t n;

	h_send(fd, request);
	h_shutdown_write(fd);
	n = h_recv_all(fd, buf, cap);
	close(fd);
	return n;
}

void
h_exchange_fd(const struct h_daemon *d, int fd, const char *request,
    const char *reply, const char *who)
{
	char buf[REPLY_MAX];
	size_t n = h_transact(fd, request, buf, sizeof(buf));

	ck_assert_msg(strcmp(buf, reply) == 0, "%s: sent %s, expected %s then "
	    "end of input, received %s%s", who_or(who, "client"),
	    h_quote(request, strlen(request)), h_quote(reply, strlen(reply)),
	    h_quote(buf, n), h_daemon_log_tail(d));
}

void
h_exchange(const struct h_daemon *d, int port, const char *request,
    const char *reply, const char *who)
{
	char name[32];

	snprintf(name, sizeof(name), "127.0.0.1:%d", port);
	h_exchange_fd(d, h_connect(port), request, reply, who_or(who, name));
}

void
h_expect_echo(const struct h_daemon *d, int port, const char *line,
    const char *who)
{
	h_exchange(d, port, line, line, who);
}
