/*
 * addr.c - parsing listen addresses and printing peer addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

int
addr_parse_number(const char *text, unsigned long min, unsigned long max,
    unsigned long *v_r)
{
	unsigned long v;
	char *end;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*v_r = v;
	return 0;
}

static int
addr_parse_port(const char *text, in_port_t *port_r)
{
	unsigned long v;

	if (addr_parse_number(text, 1, 65535, &v) < 0)
		return -1;
	*port_r = htons((in_port_t)v);
	return 0;
}

/* Splits "HOST:PORT" / "[HOST]:PORT" into host (copied into buf) and port. */
static int
addr_split(const char *text, char *host, size_t hostsize,
    const char **port_r, int *bracketed_r)
{
	const char *colon, *end;
	size_t n;

	*bracketed_r = text[0] == '[';
	if (*bracketed_r) {
		end = strchr(text, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		text++;
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return -1;
		end = colon;
	}
	n = (size_t)(end - text);
	if (n == 0 || n >= hostsize)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	*port_r = colon + 1;
	return 0;
}

int
addr_parse_inet(const char *text, struct sockaddr_storage *ss,
    socklen_t *len_r, const char **error_r)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *port;
	int bracketed;
	in_port_t p;

	memset(ss, 0, sizeof(*ss));
	if (addr_split(text, host, sizeof(host), &port, &bracketed) < 0) {
		*error_r = "expected \"HOST:PORT\", \"[IPV6]:PORT\" or \"*:PORT\"";
		return -1;
	}
	if (addr_parse_port(port, &p) < 0) {
		*error_r = "expected a port number from 1 to 65535";
		return -1;
	}
	if (!bracketed && strcmp(host, "*") == 0) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = p;
		*len_r = sizeof(*sin6);
		return 0;
	}
	if (!bracketed && strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (bracketed && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = p;
		*len_r = sizeof(*sin6);
		return 0;
	}
	if (!bracketed && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = p;
		*len_r = sizeof(*sin);
		return 0;
	}
	*error_r = bracketed ? "expected a numeric IPv6 address in brackets" :
	    "expected a numeric IPv4 address, \"localhost\", \"*\" or [IPV6]";
	return -1;
}

void
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
	char host[INET6_ADDRSTRLEN];
	size_t pathlen;

	if (size == 0)
		return;
	switch (len >= sizeof(sa_family_t) ? sa->sa_family : AF_UNSPEC) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		/* An IPv4 client of a dual-stack socket reads as one. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host,
			    sizeof(host));
			snprintf(buf, size, "%s:%u", host,
			    ntohs(sin6->sin6_port));
			break;
		}
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		pathlen = len - offsetof(struct sockaddr_un, sun_path);
		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] == '\0')
			snprintf(buf, size, "(unnamed)");
		else
			snprintf(buf, size, "%.*s", (int)strnlen(sun->sun_path,
			    pathlen), sun->sun_path);
		break;
	default:
		snprintf(buf, size, "(unknown)");
		break;
	}
}

bool
addr_equal(const struct sockaddr *a, socklen_t alen,
    const struct sockaddr *b, socklen_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

int
addr_parse_unix(const char *path, struct sockaddr_storage *ss,
    socklen_t *len_r, const char **error_r)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sun->sun_path)) {
		*error_r = "expected a socket path of 1 to 107 bytes";
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	*len_r = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}
