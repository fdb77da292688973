/*
 * acl.c - CIDR rules, parsed once and matched per request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "addr.h"

static int
acl_parse_prefix(const char *text, unsigned max, unsigned *prefix_r)
{
	unsigned long v;

	if (addr_parse_number(text, 0, max, &v) < 0)
		return -1;
	*prefix_r = (unsigned)v;
	return 0;
}

/* Clears the host bits, so "10.1.2.3/8" is 10.0.0.0/8. */
static void
acl_mask(struct acl_net *net)
{
	size_t bytes = net->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < bytes; i++) {
		unsigned bit = (unsigned)i * 8;

		if (bit >= net->prefix)
			net->addr[i] = 0;
		else if (net->prefix - bit < 8)
			net->addr[i] &= (unsigned char)(0xff << (8 -
			    (net->prefix - bit)));
	}
}

int
acl_parse(const char *text, struct acl_net *net, const char **error_r)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);

	memset(net, 0, sizeof(*net));
	if (n == 0 || n >= sizeof(host)) {
		*error_r = "expected an address or ADDRESS/PREFIX";
		return -1;
	}
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, host, net->addr) == 1)
		net->family = AF_INET6;
	else {
		*error_r = "expected a numeric IPv4 or IPv6 address";
		return -1;
	}
	net->prefix = net->family == AF_INET ? 32 : 128;
	if (slash != NULL && acl_parse_prefix(slash + 1, net->prefix,
	    &net->prefix) < 0) {
		*error_r = net->family == AF_INET ?
		    "expected a prefix length from 0 to 32" :
		    "expected a prefix length from 0 to 128";
		return -1;
	}
	/* Clients are matched as IPv4 when mapped: so must such rules be. */
	if (net->family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)net->addr)) {
		if (net->prefix < 96) {
			*error_r = "expected a prefix of at least 96 for an "
			    "IPv4-mapped address (or the IPv4 form)";
			return -1;
		}
		memmove(net->addr, net->addr + 12, 4);
		memset(net->addr + 4, 0, 12);
		net->family = AF_INET;
		net->prefix -= 96;
	}
	acl_mask(net);
	return 0;
}

static bool
acl_match(const struct acl_net *net, int family, const unsigned char *addr)
{
	unsigned full = net->prefix / 8, rest = net->prefix % 8;

	if (net->family != family || memcmp(net->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((addr[full] ^ net->addr[full]) &
	    (0xff << (8 - rest))) == 0;
}

static bool
acl_any(const struct acl_net *nets, size_t n, int family,
    const unsigned char *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (acl_match(&nets[i], family, addr))
			return true;
	return false;
}

bool
acl_permits(const struct acl *acl, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const unsigned char *addr;
	int family;

	if (acl->nallow == 0 && acl->ndeny == 0)
		return true;
	if (sa->sa_family == AF_INET && len >= sizeof(*sin)) {
		family = AF_INET;
		addr = (const unsigned char *)&sin->sin_addr;
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(*sin6)) {
		family = AF_INET6;
		addr = (const unsigned char *)&sin6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			family = AF_INET;
			addr += 12;
		}
	} else {
		return true;
	}
	if (acl_any(acl->deny, acl->ndeny, family, addr))
		return false;
	return acl->nallow == 0 || acl_any(acl->allow, acl->nallow, family,
	    addr);
}

void
acl_free(struct acl *acl)
{
	free(acl->allow);
	free(acl->deny);
	memset(acl, 0, sizeof(*acl));
}
