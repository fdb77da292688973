/*
 * check_addr.c - unit tests for daemon/addr.c: parsing listen addresses,
 * formatting addresses for logs, comparing them.
 *
 * Links only daemon/addr.c. No test touches DNS: "localhost" is the one
 * name addr_parse_inet() accepts, and it must resolve without a lookup.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "addr.h"
#include "../run_suite.h"

static struct sockaddr_storage ss;
static socklen_t sslen;
static const char *error;

static int parse(const char *text)
{
	memset(&ss, 0xa5, sizeof(ss));
	sslen = 0;
	error = NULL;
	return addr_parse_inet(text, &ss, &sslen, &error);
}

static const struct sockaddr_in *sin4(void)
{
	return (const struct sockaddr_in *)&ss;
}

static const struct sockaddr_in6 *sin6(void)
{
	return (const struct sockaddr_in6 *)&ss;
}

/* Parsing must succeed; a failure prints the text and the reason. */
static void parse_ok(const char *text)
{
	int ret = parse(text);

	ck_assert_msg(ret == 0, "addr_parse_inet(\"%s\") failed: %s", text,
	    error != NULL ? error : "(no error)");
}

/* Parsing must fail, and say why. */
static void parse_fails(const char *text)
{
	int ret = parse(text);

	ck_assert_msg(ret == -1, "addr_parse_inet(\"%s\") returned %d, "
	    "expected -1", text, ret);
	ck_assert_msg(error != NULL, "addr_parse_inet(\"%s\") failed "
	    "without setting *error_r", text);
}

/* --- addr_parse_inet: accepted forms ------------------------------------ */

START_TEST(test_parse_ipv4)
{
	struct in_addr want;

	parse_ok("127.0.0.1:7007");
	inet_pton(AF_INET, "127.0.0.1", &want);
	ck_assert_int_eq(sin4()->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin4()->sin_port), 7007);
	ck_assert_uint_eq(sin4()->sin_addr.s_addr, want.s_addr);
	ck_assert_uint_eq(sslen, sizeof(struct sockaddr_in));
}
END_TEST

START_TEST(test_parse_ipv6_bracketed)
{
	parse_ok("[::1]:8080");
	ck_assert_int_eq(sin6()->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6()->sin6_port), 8080);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6()->sin6_addr));
	ck_assert_uint_eq(sslen, sizeof(struct sockaddr_in6));
}
END_TEST

/* "*" binds one IPv6 socket that also takes IPv4 (dual stack). */
START_TEST(test_parse_star_is_ipv6_any)
{
	parse_ok("*:9000");
	ck_assert_int_eq(sin6()->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6()->sin6_port), 9000);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6()->sin6_addr));
	ck_assert_uint_eq(sslen, sizeof(struct sockaddr_in6));
}
END_TEST

START_TEST(test_parse_localhost_is_ipv4_loopback)
{
	parse_ok("localhost:80");
	ck_assert_int_eq(sin4()->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin4()->sin_port), 80);
	ck_assert_uint_eq(ntohl(sin4()->sin_addr.s_addr), INADDR_LOOPBACK);
}
END_TEST

START_TEST(test_parse_port_1)
{
	parse_ok("127.0.0.1:1");
	ck_assert_int_eq(ntohs(sin4()->sin_port), 1);
}
END_TEST

START_TEST(test_parse_port_65535)
{
	parse_ok("127.0.0.1:65535");
	ck_assert_int_eq(ntohs(sin4()->sin_port), 65535);
}
END_TEST

/* --- addr_parse_inet: rejected forms ------------------------------------ */

START_TEST(test_parse_rejects_empty)
{
	parse_fails("");
}
END_TEST

START_TEST(test_parse_rejects_missing_host)
{
	parse_fails(":80");
}
END_TEST

START_TEST(test_parse_rejects_missing_port)
{
	parse_fails("127.0.0.1");
}
END_TEST

START_TEST(test_parse_rejects_empty_port)
{
	parse_fails("127.0.0.1:");
}
END_TEST

START_TEST(test_parse_rejects_port_0)
{
	parse_fails("127.0.0.1:0");
}
END_TEST

START_TEST(test_parse_rejects_port_65536)
{
	parse_fails("127.0.0.1:65536");
}
END_TEST

START_TEST(test_parse_rejects_negative_port)
{
	parse_fails("127.0.0.1:-1");
}
END_TEST

/* strtoul() alone would take "+80" and " 80". */
START_TEST(test_parse_rejects_signed_port)
{
	parse_fails("127.0.0.1:+80");
}
END_TEST

START_TEST(test_parse_rejects_port_with_trailing_garbage)
{
	parse_fails("127.0.0.1:8x");
}
END_TEST

/* inet_pton() has the last word on IPv4 text, and it rejects "1.2.3". */
START_TEST(test_parse_rejects_short_ipv4)
{
	parse_fails("1.2.3:80");
}
END_TEST

START_TEST(test_parse_rejects_ipv6_without_colon_after_bracket)
{
	parse_fails("[::1]80");
}
END_TEST

START_TEST(test_parse_rejects_unclosed_bracket)
{
	parse_fails("[::1");
}
END_TEST

/* "::1:80" is ambiguous (a port or the last group?), so brackets are
 * required around IPv6 addresses. */
START_TEST(test_parse_rejects_ipv6_without_brackets)
{
	parse_fails("::1:80");
}
END_TEST

START_TEST(test_parse_rejects_hostnames_other_than_localhost)
{
	parse_fails("example.invalid:80");
}
END_TEST

/* --- addr_format -------------------------------------------------------- */

static socklen_t make_inet(struct sockaddr_storage *out, int family,
    const char *ip, int port)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)out;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, ip, &a->sin_addr), 1);
		return sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
		return sizeof(*a);
	}
}

static socklen_t make_unix(struct sockaddr_un *out, const char *path)
{
	memset(out, 0, sizeof(*out));
	out->sun_family = AF_UNIX;
	strcpy(out->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

START_TEST(test_format_ipv4)
{
	struct sockaddr_storage a;
	socklen_t len = make_inet(&a, AF_INET, "127.0.0.1", 7007);
	char buf[ADDR_NAME_MAX];

	addr_format((struct sockaddr *)&a, len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:7007");
}
END_TEST

START_TEST(test_format_ipv6_in_brackets)
{
	struct sockaddr_storage a;
	socklen_t len = make_inet(&a, AF_INET6, "::1", 8080);
	char buf[ADDR_NAME_MAX];

	addr_format((struct sockaddr *)&a, len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::1]:8080");
}
END_TEST

START_TEST(test_format_unix_path)
{
	struct sockaddr_un a;
	socklen_t len = make_unix(&a, "/run/sockserv/echo.sock");
	char buf[ADDR_NAME_MAX];

	addr_format((struct sockaddr *)&a, len, buf, sizeof(buf));
	ck_assert_str_eq(buf, "/run/sockserv/echo.sock");
}
END_TEST

/* An unbound unix client shows up in accept() with only the family. */
START_TEST(test_format_unnamed_unix_peer)
{
	struct sockaddr_un a;
	char buf[ADDR_NAME_MAX];

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	addr_format((struct sockaddr *)&a, sizeof(sa_family_t), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "(unnamed)");
}
END_TEST

/* A short buffer is truncated and terminated; the bytes after it stay. */
START_TEST(test_format_truncates_without_overrun)
{
	struct sockaddr_storage a;
	socklen_t len = make_inet(&a, AF_INET, "127.0.0.1", 7007);
	char buf[16];
	size_t size = 5, i;

	memset(buf, 'Z', sizeof(buf));
	addr_format((struct sockaddr *)&a, len, buf, size);
	ck_assert_msg(memchr(buf, '\0', size) != NULL,
	    "addr_format did not NUL-terminate a %zu-byte buffer", size);
	ck_assert_uint_lt(strlen(buf), size);
	ck_assert(strncmp(buf, "127.0.0.1:7007", strlen(buf)) == 0);
	for (i = size; i < sizeof(buf); i++)
		ck_assert_msg(buf[i] == 'Z', "byte %zu past the buffer was "
		    "overwritten", i);
}
END_TEST

/* --- addr_equal --------------------------------------------------------- */

START_TEST(test_equal_same_ipv4)
{
	struct sockaddr_storage a, b;
	socklen_t alen = make_inet(&a, AF_INET, "127.0.0.1", 7007);
	socklen_t blen = make_inet(&b, AF_INET, "127.0.0.1", 7007);

	ck_assert(addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

START_TEST(test_equal_same_ipv6)
{
	struct sockaddr_storage a, b;
	socklen_t alen = make_inet(&a, AF_INET6, "::1", 8080);
	socklen_t blen = make_inet(&b, AF_INET6, "::1", 8080);

	ck_assert(addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

START_TEST(test_equal_differs_by_port)
{
	struct sockaddr_storage a, b;
	socklen_t alen = make_inet(&a, AF_INET, "127.0.0.1", 7007);
	socklen_t blen = make_inet(&b, AF_INET, "127.0.0.1", 7008);

	ck_assert(!addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

START_TEST(test_equal_differs_by_address)
{
	struct sockaddr_storage a, b;
	socklen_t alen = make_inet(&a, AF_INET, "127.0.0.1", 7007);
	socklen_t blen = make_inet(&b, AF_INET, "127.0.0.2", 7007);

	ck_assert(!addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

START_TEST(test_equal_differs_by_family)
{
	struct sockaddr_storage a, b;
	socklen_t alen = make_inet(&a, AF_INET, "127.0.0.1", 7007);
	socklen_t blen = make_inet(&b, AF_INET6, "::1", 7007);

	ck_assert(!addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

START_TEST(test_equal_same_unix_path)
{
	struct sockaddr_un a, b;
	socklen_t alen = make_unix(&a, "/tmp/a.sock");
	socklen_t blen = make_unix(&b, "/tmp/a.sock");

	ck_assert(addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

START_TEST(test_equal_differs_by_unix_path)
{
	struct sockaddr_un a, b;
	socklen_t alen = make_unix(&a, "/tmp/a.sock");
	socklen_t blen = make_unix(&b, "/tmp/b.sock");

	ck_assert(!addr_equal((struct sockaddr *)&a, alen,
	    (struct sockaddr *)&b, blen));
}
END_TEST

/* --- the suite ---------------------------------------------------------- */

static TCase *tcase_parse_ok(void)
{
	TCase *tc = tcase_create("parse_accepts");

	tcase_add_test(tc, test_parse_ipv4);
	tcase_add_test(tc, test_parse_ipv6_bracketed);
	tcase_add_test(tc, test_parse_star_is_ipv6_any);
	tcase_add_test(tc, test_parse_localhost_is_ipv4_loopback);
	tcase_add_test(tc, test_parse_port_1);
	tcase_add_test(tc, test_parse_port_65535);
	return tc;
}

static TCase *tcase_parse_errors(void)
{
	TCase *tc = tcase_create("parse_rejects");

	tcase_add_test(tc, test_parse_rejects_empty);
	tcase_add_test(tc, test_parse_rejects_missing_host);
	tcase_add_test(tc, test_parse_rejects_missing_port);
	tcase_add_test(tc, test_parse_rejects_empty_port);
	tcase_add_test(tc, test_parse_rejects_port_0);
	tcase_add_test(tc, test_parse_rejects_port_65536);
	tcase_add_test(tc, test_parse_rejects_negative_port);
	tcase_add_test(tc, test_parse_rejects_signed_port);
	tcase_add_test(tc, test_parse_rejects_port_with_trailing_garbage);
	tcase_add_test(tc, test_parse_rejects_short_ipv4);
	tcase_add_test(tc, test_parse_rejects_ipv6_without_colon_after_bracket);
	tcase_add_test(tc, test_parse_rejects_unclosed_bracket);
	tcase_add_test(tc, test_parse_rejects_ipv6_without_brackets);
	tcase_add_test(tc, test_parse_rejects_hostnames_other_than_localhost);
	return tc;
}

static TCase *tcase_format(void)
{
	TCase *tc = tcase_create("format");

	tcase_add_test(tc, test_format_ipv4);
	tcase_add_test(tc, test_format_ipv6_in_brackets);
	tcase_add_test(tc, test_format_unix_path);
	tcase_add_test(tc, test_format_unnamed_unix_peer);
	tcase_add_test(tc, test_format_truncates_without_overrun);
	return tc;
}

static TCase *tcase_equal(void)
{
	TCase *tc = tcase_create("equal");

	tcase_add_test(tc, test_equal_same_ipv4);
	tcase_add_test(tc, test_equal_same_ipv6);
	tcase_add_test(tc, test_equal_differs_by_port);
	tcase_add_test(tc, test_equal_differs_by_address);
	tcase_add_test(tc, test_equal_differs_by_family);
	tcase_add_test(tc, test_equal_same_unix_path);
	tcase_add_test(tc, test_equal_differs_by_unix_path);
	return tc;
}

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");

	suite_add_tcase(s, tcase_parse_ok());
	suite_add_tcase(s, tcase_parse_errors());
	suite_add_tcase(s, tcase_format());
	suite_add_tcase(s, tcase_equal());
	return s;
}

int main(void)
{
	return run_suite(addr_suite());
}
