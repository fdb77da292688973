/*
 * harness_dgram.c - datagram clients of the integration tests' harness
 * (harness.h), and endpoints: one server's address whatever its
 * transport, so a test can say "exchange with this server" once for all
 * four.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness_int.h"

/* --- datagram sockets ---------------------------------------------------- */

int
h_try_udp_connect(int family, int port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = hi_loopback(port);
	struct sockaddr *sa;
	socklen_t len;
	int fd, saved;

	if (family == AF_INET6) {
		sin6.sin6_addr = in6addr_loopback;
		sin6.sin6_port = htons((unsigned short)port);
		sa = (struct sockaddr *)&sin6;
		len = sizeof(sin6);
	} else {
		sa = (struct sockaddr *)&sin;
		len = sizeof(sin);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (hi_set_timeouts(fd) < 0 || connect(fd, sa, len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
h_udp_connect(int family, int port)
{
	int fd = h_try_udp_connect(family, port);

	ck_assert_msg(fd >= 0, "UDP socket to %s:%d: %s",
	    family == AF_INET6 ? "[::1]" : "127.0.0.1", port, strerror(errno));
	return fd;
}

int
h_unix_dgram_socket(const char *bound)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && hi_set_timeouts(fd) == 0, "unix datagram "
	    "socket: %s", strerror(errno));
	if (bound != NULL) {
		len = hi_unix_address(&sun, bound);
		ck_assert_msg(bind(fd, (struct sockaddr *)&sun, len) == 0,
		    "bind %s: %s", bound, strerror(errno));
	}
	return fd;
}

void
h_dgram_send(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do
		r = send(fd, buf, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0 && (size_t)r == n, "send datagram %s: %s%s",
	    h_quote(buf, n), r < 0 ? strerror(errno) : "short send",
	    h_daemon_log_tail(hi_last_daemon()));
}

void
h_dgram_send_to(int fd, const char *path, const void *buf, size_t n)
{
	struct sockaddr_un sun;
	socklen_t len = hi_unix_address(&sun, path);
	ssize_t r;

	do
		r = sendto(fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&sun,
		    len);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0 && (size_t)r == n, "send datagram %s to %s: %s%s",
	    h_quote(buf, n), path, r < 0 ? strerror(errno) : "short send",
	    h_daemon_log_tail(hi_last_daemon()));
}

/* Like h_dgram_recv, but returns -2 with errno set on an error. */
static ssize_t
try_dgram_recv(int fd, char *buf, size_t cap, long ms)
{
	long deadline = h_now_ms() + ms;
	ssize_t r;
	int n;

	for (;;) {
		n = hi_poll_in(fd, deadline);
		if (n < 0)
			return -2;
		if (n == 0)
			return -1;
		r = recv(fd, buf, cap - 1, MSG_DONTWAIT);
		if (r >= 0) {
			buf[r] = '\0';
			return r;
		}
		if (errno != EINTR && errno != EAGAIN)
			return -2;
	}
}

ssize_t
h_dgram_recv(int fd, char *buf, size_t cap, long ms)
{
	ssize_t r = try_dgram_recv(fd, buf, cap, ms);

	ck_assert_msg(r >= -1, "recv datagram: %s%s", strerror(errno),
	    h_daemon_log_tail(hi_last_daemon()));
	return r;
}

void
h_dgram_expect_reply(const struct h_daemon *d, int fd, const char *reply,
    const char *who)
{
	char buf[4096];
	ssize_t n;

	n = h_dgram_recv(fd, buf, sizeof(buf), H_TIMEOUT_MS);
	ck_assert_msg(n >= 0, "%s: no reply within %d ms, expected %s%s",
	    who != NULL ? who : "datagram client", H_TIMEOUT_MS,
	    h_quote(reply, strlen(reply)), h_daemon_log_tail(d));
	ck_assert_msg((size_t)n == strlen(reply) && memcmp(buf, reply,
	    (size_t)n) == 0, "%s: expected the reply %s, received %s%s",
	    who != NULL ? who : "datagram client", h_quote(reply,
	    strlen(reply)), h_quote(buf, (size_t)n), h_daemon_log_tail(d));
}

void
h_udp_exchange(const struct h_daemon *d, int port, const char *request,
    const char *reply, const char *who)
{
	int fd = h_udp_connect(AF_INET, port);

	h_dgram_send(fd, request, strlen(request));
	h_dgram_expect_reply(d, fd, reply, who);
	close(fd);
}

/* --- waiting for datagram servers ---------------------------------------- */

struct udp_probe {
	int family, port;
};

static bool
udp_answers(const void *arg)
{
	const struct udp_probe *p = arg;
	static const char probe[] = "probe\n";
	char buf[64];
	ssize_t r;
	int fd;

	fd = h_try_udp_connect(p->family, p->port);
	if (fd < 0)
		return false;
	/* Refused (ICMP port unreachable) until the daemon has bound. */
	r = send(fd, probe, sizeof(probe) - 1, MSG_NOSIGNAL);
	if (r == (ssize_t)sizeof(probe) - 1)
		r = try_dgram_recv(fd, buf, sizeof(buf), 200);
	close(fd);
	return r == (ssize_t)sizeof(probe) - 1 &&
	    memcmp(buf, probe, sizeof(probe) - 1) == 0;
}

void
h_daemon_wait_udp(struct h_daemon *d, int family, int port)
{
	struct udp_probe p = { family, port };
	char what[64];

	snprintf(what, sizeof(what), "udp %s:%d",
	    family == AF_INET6 ? "[::1]" : "127.0.0.1", port);
	hi_wait_ready(d, udp_answers, &p, what);
}

static bool
unix_dgram_bound(const void *path)
{
	struct sockaddr_un sun;
	socklen_t len = hi_unix_address(&sun, path);
	int fd, r;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sun, len);
	close(fd);
	return r == 0;
}

void
h_daemon_wait_unix_dgram(struct h_daemon *d, const char *path)
{
	hi_wait_ready(d, unix_dgram_bound, path, path);
}

/* --- endpoints ----------------------------------------------------------- */

void
h_ep_init(struct h_ep *e, const char *transport, const char *name)
{
	int n;

	memset(e, 0, sizeof(*e));
	e->transport = transport;
	e->datagram = strcmp(transport, "udp") == 0 ||
	    strcmp(transport, "unix-dgram") == 0;
	e->unix_path = strncmp(transport, "unix", 4) == 0;
	ck_assert_msg(strlen(name) < sizeof(e->name), "harness: server name "
	    "too long: %s", name);
	strcpy(e->name, name);
	if (e->unix_path) {
		n = snprintf(e->path, sizeof(e->path), "%s/%s.sock",
		    h_tmpdir(), name);
		ck_assert_msg(n > 0 && (size_t)n < sizeof(e->path), "%s/%s.sock "
		    "is too long for a unix socket; set TMPDIR to a shorter "
		    "directory", h_tmpdir(), name);
		strcpy(e->listen, e->path);
	} else {
		e->port = h_free_port();
		snprintf(e->listen, sizeof(e->listen), "127.0.0.1:%d",
		    e->port);
	}
}

void
h_ep_wait(struct h_daemon *d, const struct h_ep *e)
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

void
h_ep_start(struct h_daemon *d, const struct h_ep *e, const char *handler,
    const char *settings)
{
	const char *conf;

	conf = h_write_file(h_path("%s.conf", e->name),
	    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
	    "servers = (\n"
	    "  { name = \"%s\"; transport = \"%s\"; listen = \"%s\";\n"
	    "    handler = \"%s\"; %s }\n"
	    ");\n", e->name, e->transport, e->listen, handler, settings);
	h_daemon_start(d, conf, NULL);
	h_ep_wait(d, e);
}

int
h_ep_connect(const struct h_ep *e)
{
	ck_assert_msg(!e->datagram, "harness: %s is a datagram transport",
	    e->transport);
	return e->unix_path ? h_connect_unix(e->path) : h_connect(e->port);
}

int
h_ep_dgram_client(const struct h_ep *e, const char **name_r)
{
	static unsigned nclients;
	char path[sizeof(e->path)];
	int fd, n;

	ck_assert_msg(e->datagram, "harness: %s is a stream transport",
	    e->transport);
	if (!e->unix_path) {
		fd = h_udp_connect(AF_INET, e->port);
		if (name_r != NULL)
			*name_r = h_client_name(fd);
		return fd;
	}
	/* Not h_sock_path: a test may make many clients. */
	n = snprintf(path, sizeof(path), "%s/client%u.sock", h_tmpdir(),
	    nclients++);
	ck_assert_msg(n > 0 && (size_t)n < sizeof(path), "%s/client.sock is "
	    "too long for a unix socket; set TMPDIR to a shorter directory",
	    h_tmpdir());
	fd = h_unix_dgram_socket(path);
	if (name_r != NULL)
		*name_r = h_path("%s", path);
	return fd;
}

void
h_ep_dgram_send(const struct h_ep *e, int fd, const void *buf, size_t n)
{
	if (e->unix_path)
		h_dgram_send_to(fd, e->path, buf, n);
	else
		h_dgram_send(fd, buf, n);
}

size_t
h_ep_transact(const struct h_daemon *d, const struct h_ep *e,
    const char *request, char *buf, size_t cap)
{
	ssize_t n;
	int fd;

	if (!e->datagram)
		return h_transact(h_ep_connect(e), request, buf, cap);
	fd = h_ep_dgram_client(e, NULL);
	h_ep_dgram_send(e, fd, request, strlen(request));
	n = h_dgram_recv(fd, buf, cap, H_TIMEOUT_MS);
	close(fd);
	ck_assert_msg(n >= 0, "%s (%s): no reply to the datagram %s within "
	    "%d ms%s", e->name, e->transport, h_quote(request,
	    strlen(request)), H_TIMEOUT_MS, h_daemon_log_tail(d));
	return (size_t)n;
}

void
h_ep_exchange(const struct h_daemon *d, const struct h_ep *e,
    const char *request, const char *reply)
{
	char buf[4096];
	size_t n = h_ep_transact(d, e, request, buf, sizeof(buf));

	ck_assert_msg(n == strlen(reply) && memcmp(buf, reply, n) == 0,
	    "%s (%s): request %s: expected %s, received %s%s", e->name,
	    e->transport, h_quote(request, strlen(request)), h_quote(reply,
	    strlen(reply)), h_quote(buf, n), h_daemon_log_tail(d));
}
