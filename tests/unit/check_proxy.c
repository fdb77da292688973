/*
 * check_proxy.c - the PROXY protocol parser against HAProxy's
 * proxy-protocol.txt: every header form, every prefix of one, and every
 * malformed case the grammar allows us to construct.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "../run_suite.h"

/* Parses s (n bytes) and returns proxy_parse's result. */
static int
parse_n(const void *s, size_t n, struct proxy_header *h)
{
	const char *error = NULL;
	int r;

	r = proxy_parse(s, n, h, &error);
	if (r < 0)
		ck_assert_msg(error != NULL && *error != '\0',
		    "a refusal without a reason");
	return r;
}

static int
parse(const char *s, struct proxy_header *h)
{
	return parse_n(s, strlen(s), h);
}

/* Every proper prefix of a valid header asks for more. */
static void
assert_prefixes_wait(const void *s, size_t n)
{
	struct proxy_header h;
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(parse_n(s, i, &h) == 0,
		    "prefix of %zu bytes of %zu not taken as incomplete", i, n);
}

static void
assert_inet(const struct sockaddr_storage *ss, socklen_t len, int family,
    const char *ip, unsigned port)
{
	char text[INET6_ADDRSTRLEN];
	const void *a;
	unsigned p;

	ck_assert_int_eq(ss->ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		ck_assert_uint_eq(len, sizeof(*sin));
		a = &sin->sin_addr;
		p = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)ss;

		ck_assert_uint_eq(len, sizeof(*sin6));
		a = &sin6->sin6_addr;
		p = ntohs(sin6->sin6_port);
	}
	ck_assert_ptr_nonnull(inet_ntop(family, a, text, sizeof(text)));
	ck_assert_str_eq(text, ip);
	ck_assert_uint_eq(p, port);
}

static void
assert_refused(const char *s)
{
	struct proxy_header h;

	ck_assert_msg(parse(s, &h) == -1, "accepted: \"%s\"", s);
}

/* --- version 1 ----------------------------------------------------------- */

START_TEST(test_v1_tcp4)
{
	static const char hdr[] =
	    "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
	struct proxy_header h;
	char buf[256];

	ck_assert_int_eq(parse(hdr, &h), 1);
	ck_assert_uint_eq(h.len, strlen(hdr));
	ck_assert_int_eq(h.version, 1);
	ck_assert(h.proxied);
	assert_inet(&h.src, h.srclen, AF_INET, "192.168.0.1", 56324);
	assert_inet(&h.dst, h.dstlen, AF_INET, "192.168.0.11", 443);
	assert_prefixes_wait(hdr, strlen(hdr));
	/* What follows the header is the client's, not the parser's. */
	snprintf(buf, sizeof(buf), "%sGET / HTTP/1.0\r\n\r\n", hdr);
	ck_assert_int_eq(parse(buf, &h), 1);
	ck_assert_uint_eq(h.len, strlen(hdr));
}
END_TEST

START_TEST(test_v1_tcp6)
{
	static const char hdr[] = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
	struct proxy_header h;

	ck_assert_int_eq(parse(hdr, &h), 1);
	ck_assert(h.proxied);
	assert_inet(&h.src, h.srclen, AF_INET6, "2001:db8::1", 65535);
	assert_inet(&h.dst, h.dstlen, AF_INET6, "::1", 0);
	assert_prefixes_wait(hdr, strlen(hdr));
	/* An IPv4-mapped address is an IPv6 address. */
	ck_assert_int_eq(parse("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n", &h),
	    1);
	assert_inet(&h.src, h.srclen, AF_INET6, "::ffff:10.0.0.1", 1);
}
END_TEST

START_TEST(test_v1_unknown)
{
	/* The longest header the specification allows: 107 bytes. */
	static const char longest[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_header h;

	ck_assert_int_eq(parse("PROXY UNKNOWN\r\n", &h), 1);
	ck_assert(!h.proxied);
	ck_assert_uint_eq(h.len, 15);
	ck_assert_uint_eq(strlen(longest), PROXY_V1_MAX);
	ck_assert_int_eq(parse(longest, &h), 1);
	ck_assert(!h.proxied);
	ck_assert_uint_eq(h.len, PROXY_V1_MAX);
	/* Whatever follows UNKNOWN is ignored, even if it is not addresses. */
	ck_assert_int_eq(parse("PROXY UNKNOWN whatever\r\n", &h), 1);
	ck_assert(!h.proxied);
}
END_TEST

START_TEST(test_v1_not_a_header)
{
	assert_refused("GET / HTTP/1.0\r\n");
	assert_refused("hello\n");
	assert_refused("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY-TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused(" PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("X");
}
END_TEST

START_TEST(test_v1_line_ending)
{
	struct proxy_header h;

	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n");
	assert_refused("PROXY \r\n");
	assert_refused("PROXY\r\n");
	/* A lone CR is not the end: more is needed. */
	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", &h), 0);
}
END_TEST

START_TEST(test_v1_too_long)
{
	char buf[PROXY_V1_MAX + 32];
	struct proxy_header h;

	/* 106 bytes without an end may still become a header; 107 may not. */
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(parse_n(buf, PROXY_V1_MAX - 1, &h), 0);
	ck_assert_int_eq(parse_n(buf, PROXY_V1_MAX, &h), -1);
	ck_assert_int_eq(parse_n(buf, sizeof(buf), &h), -1);
	/* An end past the limit does not make it acceptable. */
	memcpy(buf + PROXY_V1_MAX + 2, "\r\n", 2);
	ck_assert_int_eq(parse_n(buf, PROXY_V1_MAX + 4, &h), -1);
}
END_TEST

START_TEST(test_v1_fields)
{
	assert_refused("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4\r\n");
	assert_refused("PROXY TCP4 1.2.3.4\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n");
	assert_refused("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n");
	assert_refused("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n");
	assert_refused("PROXY UNKNOWN\t\r\n");
}
END_TEST

START_TEST(test_v1_ports)
{
	struct proxy_header h;

	ck_assert_int_eq(parse("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n", &h),
	    1);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 http 2\r\n");
}
END_TEST

START_TEST(test_v1_addresses)
{
	assert_refused("PROXY TCP4 256.1.1.1 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 localhost 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 ::1 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP4 1.2.3.4 ::1 1 2\r\n");
	assert_refused("PROXY TCP6 1.2.3.4 ::1 1 2\r\n");
	assert_refused("PROXY TCP6 ::1 5.6.7.8 1 2\r\n");
	assert_refused("PROXY TCP6 [::1] ::1 1 2\r\n");
	assert_refused("PROXY TCP6 ::1%lo ::1 1 2\r\n");
	assert_refused("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n");
}
END_TEST

START_TEST(test_v1_nul_inside)
{
	static const char hdr[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
	struct proxy_header h;

	ck_assert_int_eq(parse_n(hdr, sizeof(hdr) - 1, &h), -1);
}
END_TEST

/* --- version 2 ----------------------------------------------------------- */

static const unsigned char sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header: signature, ver_cmd, fam, then `len` bytes of block. */
static size_t
v2(unsigned char *buf, unsigned ver_cmd, unsigned fam,
    const unsigned char *block, size_t len)
{
	memcpy(buf, sig, sizeof(sig));
	buf[12] = (unsigned char)ver_cmd;
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(len >> 8);
	buf[15] = (unsigned char)len;
	if (len > 0)
		memcpy(buf + 16, block, len);
	return 16 + len;
}

/* 192.0.2.1:4660 -> 198.51.100.2:80 */
static const unsigned char inet_block[12] = {
	192, 0, 2, 1, 198, 51, 100, 2, 0x12, 0x34, 0, 80
};

START_TEST(test_v2_tcp4)
{
	unsigned char buf[64];
	struct proxy_header h;
	size_t n;

	n = v2(buf, 0x21, 0x11, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert_uint_eq(h.len, n);
	ck_assert_int_eq(h.version, 2);
	ck_assert(h.proxied);
	assert_inet(&h.src, h.srclen, AF_INET, "192.0.2.1", 0x1234);
	assert_inet(&h.dst, h.dstlen, AF_INET, "198.51.100.2", 80);
	assert_prefixes_wait(buf, n);
	/* Bytes after the header stay the client's. */
	memcpy(buf + n, "hello\n", 6);
	ck_assert_int_eq(parse_n(buf, n + 6, &h), 1);
	ck_assert_uint_eq(h.len, n);
}
END_TEST

START_TEST(test_v2_tcp6)
{
	unsigned char block[36] = { 0 }, buf[64];
	struct proxy_header h;
	size_t n;

	block[0] = 0x20; block[1] = 0x01; block[2] = 0x0d; block[3] = 0xb8;
	block[15] = 1;				/* 2001:db8::1 */
	block[31] = 1;				/* ::1 */
	block[32] = 0xff; block[33] = 0xff;	/* 65535 */
	block[34] = 0x01; block[35] = 0xbb;	/* 443 */
	n = v2(buf, 0x21, 0x21, block, sizeof(block));
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(h.proxied);
	assert_inet(&h.src, h.srclen, AF_INET6, "2001:db8::1", 65535);
	assert_inet(&h.dst, h.dstlen, AF_INET6, "::1", 443);
	assert_prefixes_wait(buf, n);
}
END_TEST

START_TEST(test_v2_local)
{
	unsigned char buf[64];
	struct proxy_header h;
	size_t n;

	/* A health check: LOCAL, any family, the block skipped. */
	n = v2(buf, 0x20, 0x00, NULL, 0);
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(!h.proxied);
	ck_assert_uint_eq(h.len, 16);
	n = v2(buf, 0x20, 0x11, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(!h.proxied);
	ck_assert_uint_eq(h.len, n);
}
END_TEST

START_TEST(test_v2_unspec_and_unix)
{
	unsigned char block[216] = { 0 }, buf[256];
	struct proxy_header h;
	size_t n;

	n = v2(buf, 0x21, 0x00, NULL, 0);
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(!h.proxied);
	memcpy(block, "/run/client.sock", 16);
	n = v2(buf, 0x21, 0x31, block, sizeof(block));
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(!h.proxied);
	ck_assert_uint_eq(h.len, n);
}
END_TEST

START_TEST(test_v2_tlvs)
{
	unsigned char block[64], buf[128];
	struct proxy_header h;
	size_t n;

	memcpy(block, inet_block, 12);
	/* PP2_TYPE_NOOP with 3 bytes, then PP2_TYPE_AUTHORITY "a.b". */
	memcpy(block + 12, "\x04\x00\x03xyz\x02\x00\x03" "a.b", 12);
	n = v2(buf, 0x21, 0x11, block, 24);
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(h.proxied);
	ck_assert_uint_eq(h.len, n);
	/* A TLV longer than what is left of the block. */
	memcpy(block + 12, "\x04\x00\x09xyz", 6);
	n = v2(buf, 0x21, 0x11, block, 18);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	/* Two stray bytes: too short for a TLV header. */
	memcpy(block + 12, "\x04\x00", 2);
	n = v2(buf, 0x21, 0x11, block, 14);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
}
END_TEST

/* The check value every CRC catalogue gives for CRC-32C. */
START_TEST(test_crc32c_vector)
{
	ck_assert_uint_eq(proxy_crc32c("123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(proxy_crc32c("", 0), 0);
	/* RFC 3720, B.4: 32 bytes of zeros, and of 0xff. */
	ck_assert_uint_eq(proxy_crc32c((const unsigned char[32]){ 0 }, 32),
	    0x8a9136aau);
	ck_assert_uint_eq(proxy_crc32c((const unsigned char[32]){
	    [0 ... 31] = 0xff }, 32), 0x62a8ab43u);
}
END_TEST

/*
 * A tcp4 header with a NOOP TLV, then a CRC32C TLV of `vlen` bytes
 * holding the header's checksum (computed with the value zeroed, as
 * HAProxy's proxy-v2-options crc32c does) plus `delta`; returns its
 * length.
 */
static size_t
v2_crc(unsigned char *buf, size_t vlen, uint32_t delta)
{
	unsigned char block[64];
	uint32_t crc;
	size_t n, at;

	memcpy(block, inet_block, 12);
	memcpy(block + 12, "\x04\x00\x02zz", 5);
	block[17] = 0x03;
	block[18] = (unsigned char)(vlen >> 8);
	block[19] = (unsigned char)vlen;
	memset(block + 20, 0, vlen);
	n = v2(buf, 0x21, 0x11, block, 20 + vlen);
	at = 16 + 20;
	crc = proxy_crc32c(buf, n) + delta;
	if (vlen >= 4) {
		buf[at] = (unsigned char)(crc >> 24);
		buf[at + 1] = (unsigned char)(crc >> 16);
		buf[at + 2] = (unsigned char)(crc >> 8);
		buf[at + 3] = (unsigned char)crc;
	}
	return n;
}

START_TEST(test_v2_crc32c)
{
	unsigned char buf[128];
	struct proxy_header h;
	size_t n, i;

	/* The right checksum: accepted, and every prefix waits. */
	n = v2_crc(buf, 4, 0);
	ck_assert_int_eq(parse_n(buf, n, &h), 1);
	ck_assert(h.proxied);
	ck_assert_uint_eq(h.len, n);
	assert_inet(&h.src, h.srclen, AF_INET, "192.0.2.1", 0x1234);
	assert_prefixes_wait(buf, n);
	/* A wrong one, and a right one over a header changed since. */
	n = v2_crc(buf, 4, 1);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	for (i = 16; i < n; i++) {
		/* Byte 33, the TLV's type: no CRC32C TLV then, so no check. */
		if (i == 33)
			continue;
		n = v2_crc(buf, 4, 0);
		buf[i] ^= 0x01;
		ck_assert_msg(parse_n(buf, n, &h) == -1, "a flipped bit in "
		    "byte %zu went unnoticed", i);
	}
	/* A CRC32C TLV of any length but 4 is malformed. */
	n = v2_crc(buf, 0, 0);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	n = v2_crc(buf, 3, 0);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	n = v2_crc(buf, 5, 0);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
}
END_TEST

START_TEST(test_v2_malformed)
{
	unsigned char buf[64];
	struct proxy_header h;
	size_t n;

	/* Version 1 in the binary header, and version 3. */
	n = v2(buf, 0x11, 0x11, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	ck_assert_int_eq(parse_n(buf, 13, &h), -1);
	n = v2(buf, 0x31, 0x11, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	/* Commands other than LOCAL and PROXY. */
	n = v2(buf, 0x22, 0x11, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	n = v2(buf, 0x2f, 0x11, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	/* An unknown family, and datagram or unspecified transports. */
	n = v2(buf, 0x21, 0x41, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	n = v2(buf, 0x21, 0x12, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	n = v2(buf, 0x21, 0x10, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	/* Address blocks shorter than their family's. */
	n = v2(buf, 0x21, 0x11, inet_block, 8);
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	n = v2(buf, 0x21, 0x21, inet_block, sizeof(inet_block));
	ck_assert_int_eq(parse_n(buf, n, &h), -1);
	/* A broken signature, at every byte. */
	for (size_t i = 0; i < sizeof(sig); i++) {
		n = v2(buf, 0x21, 0x11, inet_block, sizeof(inet_block));
		buf[i] ^= 0x40;
		ck_assert_msg(parse_n(buf, n, &h) == -1, "byte %zu", i);
	}
}
END_TEST

START_TEST(test_v2_too_long)
{
	unsigned char buf[16];
	struct proxy_header h;

	/* Refused on the length field alone, before the block arrives. */
	v2(buf, 0x21, 0x11, NULL, 0);
	buf[14] = (unsigned char)((PROXY_V2_MAX - 16 + 1) >> 8);
	buf[15] = (unsigned char)(PROXY_V2_MAX - 16 + 1);
	ck_assert_int_eq(parse_n(buf, sizeof(buf), &h), -1);
	buf[14] = buf[15] = 0xff;
	ck_assert_int_eq(parse_n(buf, sizeof(buf), &h), -1);
	/* The largest allowed length waits for its block. */
	buf[14] = (unsigned char)((PROXY_V2_MAX - 16) >> 8);
	buf[15] = (unsigned char)(PROXY_V2_MAX - 16);
	ck_assert_int_eq(parse_n(buf, sizeof(buf), &h), 0);
}
END_TEST

START_TEST(test_empty_input_waits)
{
	struct proxy_header h;

	ck_assert_int_eq(parse_n("", 0, &h), 0);
}
END_TEST

int
main(void)
{
	Suite *suite = suite_create("proxy");
	TCase *tc = tcase_create("proxy");

	tcase_add_test(tc, test_v1_tcp4);
	tcase_add_test(tc, test_v1_tcp6);
	tcase_add_test(tc, test_v1_unknown);
	tcase_add_test(tc, test_v1_not_a_header);
	tcase_add_test(tc, test_v1_line_ending);
	tcase_add_test(tc, test_v1_too_long);
	tcase_add_test(tc, test_v1_fields);
	tcase_add_test(tc, test_v1_ports);
	tcase_add_test(tc, test_v1_addresses);
	tcase_add_test(tc, test_v1_nul_inside);
	tcase_add_test(tc, test_v2_tcp4);
	tcase_add_test(tc, test_v2_tcp6);
	tcase_add_test(tc, test_v2_local);
	tcase_add_test(tc, test_v2_unspec_and_unix);
	tcase_add_test(tc, test_v2_tlvs);
	tcase_add_test(tc, test_crc32c_vector);
	tcase_add_test(tc, test_v2_crc32c);
	tcase_add_test(tc, test_v2_malformed);
	tcase_add_test(tc, test_v2_too_long);
	tcase_add_test(tc, test_empty_input_waits);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
