/*
 * fuzz_addr.c - the listen address and access rule parsers, on one
 * NUL-terminated copy of the input.
 *
 * Beyond "does not crash", each accepted address formats into a name
 * that fits ADDR_NAME_MAX and parses back to the same address, and each
 * accepted rule has its host bits cleared and matches its own network.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "acl.h"
#include "addr.h"
#include "fuzz.h"

static void
check_inet(const char *text)
{
	struct sockaddr_storage ss, again;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	socklen_t len, againlen;
	const char *error = NULL;
	char name[ADDR_NAME_MAX];

	if (addr_parse_inet(text, &ss, &len, &error) < 0) {
		if (error == NULL)
			abort();
		return;
	}
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		abort();
	memset(name, 'x', sizeof(name));
	addr_format((const struct sockaddr *)&ss, len, name, sizeof(name));
	if (memchr(name, '\0', sizeof(name)) == NULL)
		abort();
	/* A mapped IPv6 address prints as IPv4 on purpose: no round trip. */
	if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	if (addr_parse_inet(name, &again, &againlen, &error) < 0 ||
	    !addr_equal((const struct sockaddr *)&ss, len,
	    (const struct sockaddr *)&again, againlen))
		abort();
}

/* The network address itself, as a client address of its family. */
static socklen_t
net_client(const struct acl_net *net, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (net->family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, net->addr, 4);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, net->addr, 16);
	return sizeof(*sin6);
}

static void
check_acl(const char *text)
{
	struct acl_net net;
	struct acl acl = { 0 };
	struct sockaddr_storage ss;
	const char *error = NULL;
	size_t bytes, i;
	socklen_t len;

	if (acl_parse(text, &net, &error) < 0) {
		if (error == NULL)
			abort();
		return;
	}
	if (net.family != AF_INET && net.family != AF_INET6)
		abort();
	bytes = net.family == AF_INET ? 4 : 16;
	if (net.prefix > bytes * 8)
		abort();
	for (i = net.prefix; i < 128; i++)
		if (net.addr[i / 8] & (0x80 >> (i % 8)))
			abort();
	len = net_client(&net, &ss);
	acl.allow = &net;
	acl.nallow = 1;
	if (!acl_permits(&acl, (const struct sockaddr *)&ss, len))
		abort();
	acl.deny = &net;
	acl.ndeny = 1;
	if (acl_permits(&acl, (const struct sockaddr *)&ss, len))
		abort();
}

/* Peer addresses come from the kernel; any unix path must print safely. */
static void
check_unix_format(const uint8_t *data, size_t size)
{
	struct sockaddr_un sun;
	size_t pathmax = sizeof(sun.sun_path);
	char name[ADDR_NAME_MAX];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, data, size < pathmax ? size : pathmax);
	addr_format((const struct sockaddr *)&sun, (socklen_t)(offsetof(
	    struct sockaddr_un, sun_path) + (size < pathmax ? size : pathmax)),
	    name, sizeof(name));
	if (memchr(name, '\0', sizeof(name)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_inet(text);
	check_acl(text);
	check_unix_format(data, size);
	free(text);
	return 0;
}
