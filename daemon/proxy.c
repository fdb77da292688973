/*
 * proxy.c - parses PROXY protocol headers, v1 and v2, as HAProxy's
 * proxy-protocol.txt specifies them, strictly: a load balancer writes
 * them by program, so anything off the grammar is refused rather than
 * guessed at, and a v2 header's CRC32C TLV must match.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy.h"

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1_sig[] = "PROXY ";

#define V1_SIG_LEN (sizeof(v1_sig) - 1)
#define V2_FIXED 16

/* v2 address block sizes, by family. */
#define V2_INET_LEN 12
#define V2_INET6_LEN 36
#define V2_UNIX_LEN 216

/* PP2_TYPE_CRC32C: the header's CRC32c, 4 bytes in network order. */
#define V2_TLV_CRC32C 0x03
#define V2_CRC32C_LEN 4
/* Reflected Castagnoli polynomial (RFC 3720, B.4). */
#define CRC32C_POLY 0x82f63b78u

static int
fail(const char **error_r, const char *why)
{
	*error_r = why;
	return -1;
}

/* A v1 port: 0-65535 in decimal, no sign, no leading zero. */
static bool
v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool
v1_addr(int family, const char *ip, const char *port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	uint16_t p;

	if (!v1_port(port, &p))
		return false;
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
			return false;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		/* inet_pton would take a dotted quad here too: TCP6 may not. */
		if (strchr(ip, ':') == NULL ||
		    inet_pton(AF_INET6, ip, &sin6->sin6_addr) != 1)
			return false;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		*len = sizeof(*sin6);
	}
	return true;
}

/*
 * Splits line at single spaces into fields; returns how many (max + 1
 * when there are more than max), -1 when one is empty.
 */
static int
v1_split(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *sp = strchr(p, ' ');

		if (*p == ' ' || *p == '\0')
			return -1;
		if (n == max)
			return max + 1;
		fields[n++] = p;
		if (sp == NULL)
			return n;
		*sp = '\0';
		p = sp + 1;
	}
}

static int
proxy_v1(const char *buf, size_t n, struct proxy_header *h,
    const char **error_r)
{
	char line[PROXY_V1_MAX + 1], *f[6];
	const char *nl;
	size_t len, i;
	int family, nf;

	if (memcmp(buf, v1_sig, n < V1_SIG_LEN ? n : V1_SIG_LEN) != 0)
		return fail(error_r, "no PROXY header");
	nl = memchr(buf, '\n', n < PROXY_V1_MAX ? n : PROXY_V1_MAX);
	if (nl == NULL)
		return n >= PROXY_V1_MAX ? fail(error_r, "PROXY v1 header "
		    "longer than 107 bytes") : 0;
	len = (size_t)(nl - buf) + 1;
	if (len < V1_SIG_LEN + 2 || nl[-1] != '\r')
		return fail(error_r, "PROXY v1 header not ended by CRLF");
	/* The line between "PROXY " and CRLF, printable ASCII only. */
	for (i = V1_SIG_LEN; i < len - 2; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return fail(error_r, "PROXY v1 header holds a control "
			    "character");
	memcpy(line, buf + V1_SIG_LEN, len - 2 - V1_SIG_LEN);
	line[len - 2 - V1_SIG_LEN] = '\0';

	memset(h, 0, sizeof(*h));
	h->len = len;
	h->version = 1;
	/* UNKNOWN: whatever follows up to CRLF is to be ignored. */
	if (strcmp(line, "UNKNOWN") == 0 || strncmp(line, "UNKNOWN ", 8) == 0)
		return 1;
	nf = v1_split(line, f, 6);
	if (nf < 0)
		return fail(error_r, "PROXY v1 header: empty field");
	if (strcmp(f[0], "TCP4") != 0 && strcmp(f[0], "TCP6") != 0)
		return fail(error_r, "PROXY v1 header: bad protocol (expected "
		    "TCP4, TCP6 or UNKNOWN)");
	if (nf != 5)
		return fail(error_r, "PROXY v1 header: expected source and "
		    "destination addresses and ports");
	family = f[0][3] == '4' ? AF_INET : AF_INET6;
	if (!v1_addr(family, f[1], f[3], &h->src, &h->srclen) ||
	    !v1_addr(family, f[2], f[4], &h->dst, &h->dstlen))
		return fail(error_r, "PROXY v1 header: bad address or port");
	h->proxied = true;
	return 1;
}

static void
v2_inet(struct sockaddr_storage *ss, socklen_t *len, const unsigned char *ip,
    const unsigned char *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip, 4);
	memcpy(&sin->sin_port, port, 2);
	*len = sizeof(*sin);
}

static void
v2_inet6(struct sockaddr_storage *ss, socklen_t *len,
    const unsigned char *ip, const unsigned char *port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, ip, 16);
	memcpy(&sin6->sin6_port, port, 2);
	*len = sizeof(*sin6);
}

/*
 * CRC32c, bit by bit: a header is at most PROXY_V2_MAX bytes, so a table
 * buys nothing measurable. No Debian library offers CRC32c to C
 * conveniently: zlib has only the IEEE CRC-32, libcrcutil is C++.
 */
static uint32_t
crc32c_update(uint32_t crc, const unsigned char *p, size_t n)
{
	int k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (CRC32C_POLY & -(crc & 1));
	}
	return crc;
}

uint32_t
proxy_crc32c(const void *buf, size_t n)
{
	return ~crc32c_update(~0u, buf, n);
}

/*
 * The CRC32c TLV whose value starts at `value` in the header hdr[0..len):
 * the checksum of the whole header with that value taken as zeros must
 * be the value.
 */
static bool
v2_crc32c_ok(const unsigned char *hdr, size_t len, const unsigned char *value)
{
	static const unsigned char zeros[V2_CRC32C_LEN];
	size_t off = (size_t)(value - hdr);
	uint32_t crc, want;

	crc = crc32c_update(~0u, hdr, off);
	crc = crc32c_update(crc, zeros, sizeof(zeros));
	crc = ~crc32c_update(crc, value + V2_CRC32C_LEN,
	    len - off - V2_CRC32C_LEN);
	want = (uint32_t)value[0] << 24 | (uint32_t)value[1] << 16 |
	    (uint32_t)value[2] << 8 | value[3];
	return crc == want;
}

/*
 * The TLVs in p[0..n), which fill it exactly (type, 16-bit length,
 * value), of the header hdr[0..len). Returns 0, or -1 with *error_r set:
 * a malformed TLV, or a CRC32c TLV that is not 4 bytes or does not match
 * the header.
 */
static int
v2_tlvs(const unsigned char *hdr, size_t len, const unsigned char *p,
    size_t n, const char **error_r)
{
	while (n > 0) {
		size_t vlen;

		if (n < 3)
			return fail(error_r, "PROXY v2 header: malformed TLV");
		vlen = (size_t)p[1] << 8 | p[2];
		if (vlen > n - 3)
			return fail(error_r, "PROXY v2 header: malformed TLV");
		if (p[0] == V2_TLV_CRC32C) {
			if (vlen != V2_CRC32C_LEN)
				return fail(error_r, "PROXY v2 header: CRC32C "
				    "TLV not 4 bytes long");
			if (!v2_crc32c_ok(hdr, len, p + 3))
				return fail(error_r, "PROXY v2 header: CRC32C "
				    "mismatch");
		}
		p += 3 + vlen;
		n -= 3 + vlen;
	}
	return 0;
}

static int
proxy_v2(const unsigned char *buf, size_t n, struct proxy_header *h,
    const char **error_r)
{
	const unsigned char *a = buf + V2_FIXED;
	size_t len, need = 0;
	int family, proto;

	if (memcmp(buf, v2_sig, n < sizeof(v2_sig) ? n : sizeof(v2_sig)) != 0)
		return fail(error_r, "no PROXY header");
	if (n > sizeof(v2_sig) && buf[12] >> 4 != 2)
		return fail(error_r, "PROXY v2 header: unsupported version");
	if (n > sizeof(v2_sig) && (buf[12] & 0x0f) > 1)
		return fail(error_r, "PROXY v2 header: unknown command");
	if (n < V2_FIXED)
		return 0;
	len = (size_t)buf[14] << 8 | buf[15];
	if (V2_FIXED + len > PROXY_V2_MAX)
		return fail(error_r, "PROXY v2 header longer than allowed");
	if (n < V2_FIXED + len)
		return 0;

	memset(h, 0, sizeof(*h));
	h->len = V2_FIXED + len;
	h->version = 2;
	family = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	/* LOCAL: the proxy's own connection (a health check). */
	if ((buf[12] & 0x0f) == 0)
		return 1;
	switch (family) {
	case 0:
		return 1;	/* UNSPEC: the real endpoints stand */
	case 1:
		need = V2_INET_LEN;
		break;
	case 2:
		need = V2_INET6_LEN;
		break;
	case 3:
		need = V2_UNIX_LEN;
		break;
	default:
		return fail(error_r, "PROXY v2 header: unknown address family");
	}
	if (proto != 1)
		return fail(error_r, "PROXY v2 header: not a stream connection");
	if (len < need)
		return fail(error_r, "PROXY v2 header: address block too short");
	/* LOCAL and UNSPEC blocks, which are to be discarded, never get here. */
	if (v2_tlvs(buf, h->len, a + need, len - need, error_r) < 0)
		return -1;
	if (family == 1) {
		v2_inet(&h->src, &h->srclen, a, a + 8);
		v2_inet(&h->dst, &h->dstlen, a + 4, a + 10);
		h->proxied = true;
	} else if (family == 2) {
		v2_inet6(&h->src, &h->srclen, a, a + 32);
		v2_inet6(&h->dst, &h->dstlen, a + 16, a + 34);
		h->proxied = true;
	}
	/* A unix client has no address worth more than the proxy's own. */
	return 1;
}

int
proxy_parse(const void *buf, size_t n, struct proxy_header *h,
    const char **error_r)
{
	const unsigned char *p = buf;

	if (n == 0)
		return 0;
	if (p[0] == v2_sig[0])
		return proxy_v2(p, n, h, error_r);
	return proxy_v1(buf, n, h, error_r);
}
