/*
 * acl.h - access rules: which client addresses a server serves.
 */
#ifndef SS_ACL_H
#define SS_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct acl_net {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network byte order, host bits 0 */
	unsigned prefix;		/* 0-32 or 0-128 */
};

struct acl {
	struct acl_net *allow;		/* empty: everyone */
	size_t nallow;
	struct acl_net *deny;		/* wins over allow */
	size_t ndeny;
};

/*
 * Parses "ADDR" or "ADDR/PREFIX", IPv4 or IPv6. Returns 0, or -1 with
 * *error_r set to what is expected.
 */
int acl_parse(const char *text, struct acl_net *net, const char **error_r);

/*
 * Whether a client may be served: not in deny, and in allow when allow
 * is not empty. IPv4 clients of a dual-stack socket (::ffff:a.b.c.d)
 * match IPv4 rules. Clients without an IP address (unix) always may.
 */
bool acl_permits(const struct acl *acl, const struct sockaddr *sa,
    socklen_t len);

void acl_free(struct acl *acl);

#endif /* SS_ACL_H */
