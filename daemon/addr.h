/*
 * addr.h - socket addresses as users write them and as logs print them.
 */
#ifndef SS_ADDR_H
#define SS_ADDR_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/socket.h>

/* Long enough for "[ipv6%scope]:port" and for a unix socket path. */
#define ADDR_NAME_MAX 128

/*
 * Plain decimal digits (no sign, no space) from min to max, as a port or
 * a prefix length is written: 0 with *v_r set, or -1.
 */
int addr_parse_number(const char *text, unsigned long min,
    unsigned long max, unsigned long *v_r);

/*
 * Parses "HOST:PORT", "[IPV6]:PORT" or "*:PORT" (every address, IPv4 and
 * IPv6). HOST is a numeric address or "localhost"; PORT is 1-65535.
 * Returns 0, or -1 with *error_r set to a static description of what is
 * expected.
 */
int addr_parse_inet(const char *text, struct sockaddr_storage *ss,
    socklen_t *len_r, const char **error_r);

/*
 * A unix socket path of 1 to 107 bytes, as a sockaddr_un. Returns 0, or
 * -1 with *error_r set as addr_parse_inet does.
 */
int addr_parse_unix(const char *path, struct sockaddr_storage *ss,
    socklen_t *len_r, const char **error_r);

/*
 * Formats an address as "ip:port", "[ip6]:port" or a unix path
 * ("(unnamed)" for an unbound unix peer). Always NUL-terminates buf.
 */
void addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t size);

/* True when both name the same address and port (or path). */
bool addr_equal(const struct sockaddr *a, socklen_t alen,
    const struct sockaddr *b, socklen_t blen);

#endif /* SS_ADDR_H */
