/*
 * target.c - parsing and connecting to the benchmark target.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "target.h"

static int
parse_port(const char *s, in_port_t *port_r)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port_r = htons((in_port_t)v);
	return 0;
}

/* HOST:PORT with HOST in 127.0.0.0/8, ::1 (bracketed or not), localhost. */
static int
parse_inet(struct ss_target *t, const char *hostport, const char **err_r)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->addr;
	const char *colon = strrchr(hostport, ':');
	char host[64];
	size_t len;
	in_port_t port;

	if (colon == NULL || parse_port(colon + 1, &port) < 0) {
		*err_r = "expected HOST:PORT with a port from 1 to 65535";
		return -1;
	}
	len = (size_t)(colon - hostport);
	if (len >= 2 && hostport[0] == '[' && hostport[len - 1] == ']') {
		hostport++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host)) {
		*err_r = "expected HOST:PORT";
		return -1;
	}
	memcpy(host, hostport, len);
	host[len] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(&t->addr, 0, sizeof(t->addr));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		t->addrlen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			goto not_loopback;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		t->addrlen = sizeof(*sin6);
		return 0;
	}
not_loopback:
	*err_r = "loopback only: HOST must be in 127.0.0.0/8, ::1 or "
	    "localhost (sockserv-bench never loads another machine)";
	return -1;
}

static int
parse_unix(struct ss_target *t, const char *path, const char **err_r)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sun->sun_path)) {
		*err_r = "expected a socket path of 1 to 107 bytes";
		return -1;
	}
	memset(&t->addr, 0, sizeof(t->addr));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	t->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + 1);
	return 0;
}

int
ss_target_parse(struct ss_target *t, const char *text, const char **err_r)
{
	t->text = text;
	t->tcp = false;
	if (strncmp(text, "tcp:", 4) == 0) {
		t->socktype = SOCK_STREAM;
		t->tcp = true;
		return parse_inet(t, text + 4, err_r);
	}
	if (strncmp(text, "udp:", 4) == 0) {
		t->socktype = SOCK_DGRAM;
		return parse_inet(t, text + 4, err_r);
	}
	if (strncmp(text, "unix:", 5) == 0) {
		t->socktype = SOCK_STREAM;
		return parse_unix(t, text + 5, err_r);
	}
	if (strncmp(text, "unix-dgram:", 11) == 0) {
		t->socktype = SOCK_DGRAM;
		return parse_unix(t, text + 11, err_r);
	}
	*err_r = "expected tcp:HOST:PORT, udp:HOST:PORT, unix:PATH or "
	    "unix-dgram:PATH";
	return -1;
}

int
ss_target_connect(const struct ss_target *t, bool *connected_r)
{
	int family = t->addr.ss_family;
	int one = 1, fd, saved;

	fd = socket(family, t->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (t->tcp)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	/* An address length of the family alone autobinds a unique name. */
	if (family == AF_UNIX && t->socktype == SOCK_DGRAM) {
		struct sockaddr_un self = { .sun_family = AF_UNIX };

		if (bind(fd, (struct sockaddr *)&self,
		    sizeof(sa_family_t)) < 0)
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&t->addr, t->addrlen) == 0) {
		*connected_r = true;
		return fd;
	}
	if (errno == EINPROGRESS) {
		*connected_r = false;
		return fd;
	}
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
