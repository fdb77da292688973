/*
 * check_acl.c - CIDR parsing and matching of access rules.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "../run_suite.h"

static struct acl_net nets[2][4];

/* An acl from up to four allow and four deny rules (NULL-terminated). */
static struct acl
make_acl(const char *const *allow, const char *const *deny)
{
	struct acl acl = { nets[0], 0, nets[1], 0 };
	const char *error;

	for (; allow != NULL && *allow != NULL; allow++)
		ck_assert_msg(acl_parse(*allow, &acl.allow[acl.nallow++],
		    &error) == 0, "%s: %s", *allow, error);
	for (; deny != NULL && *deny != NULL; deny++)
		ck_assert_msg(acl_parse(*deny, &acl.deny[acl.ndeny++],
		    &error) == 0, "%s: %s", *deny, error);
	return acl;
}

static bool
permits(const struct acl *acl, const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, ip, &sin.sin_addr) == 1)
		return acl_permits(acl, (struct sockaddr *)&sin, sizeof(sin));
	ck_assert_msg(inet_pton(AF_INET6, ip, &sin6.sin6_addr) == 1, "%s", ip);
	return acl_permits(acl, (struct sockaddr *)&sin6, sizeof(sin6));
}

START_TEST(test_parse_accepts)
{
	static const struct { const char *text; int family; unsigned prefix; }
	    ok[] = {
		{ "127.0.0.1", AF_INET, 32 }, { "10.0.0.0/8", AF_INET, 8 },
		{ "0.0.0.0/0", AF_INET, 0 }, { "::1", AF_INET6, 128 },
		{ "2001:db8::/32", AF_INET6, 32 }, { "::/0", AF_INET6, 0 },
	};
	struct acl_net net;
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(acl_parse(ok[i].text, &net, &error) == 0,
		    "%s refused: %s", ok[i].text, error);
		ck_assert_int_eq(net.family, ok[i].family);
		ck_assert_uint_eq(net.prefix, ok[i].prefix);
	}
}
END_TEST

START_TEST(test_parse_refuses)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1",
		"10.0.0.0/8x", "10.0.0", "example.org", "1.2.3.4/ 8",
		"1.2.3.4/08x",
	};
	struct acl_net net;
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		ck_assert_msg(acl_parse(bad[i], &net, &error) < 0 &&
		    error != NULL, "\"%s\" accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_host_bits_are_cleared)
{
	static const char *const allow[] = { "10.1.2.3/8", NULL };
	struct acl acl = make_acl(allow, NULL);

	ck_assert(permits(&acl, "10.200.0.1"));
	ck_assert(!permits(&acl, "11.0.0.1"));
}
END_TEST

START_TEST(test_empty_allow_means_everyone)
{
	struct acl acl = make_acl(NULL, NULL);

	ck_assert(permits(&acl, "192.0.2.1"));
	ck_assert(permits(&acl, "2001:db8::1"));
}
END_TEST

START_TEST(test_deny_wins)
{
	static const char *const allow[] = { "127.0.0.0/8", NULL };
	static const char *const deny[] = { "127.0.0.1", NULL };
	struct acl acl = make_acl(allow, deny);

	ck_assert(!permits(&acl, "127.0.0.1"));
	ck_assert(permits(&acl, "127.0.0.2"));
	ck_assert(!permits(&acl, "10.0.0.1"));
}
END_TEST

START_TEST(test_odd_prefixes)
{
	static const char *const allow[] = { "192.168.0.0/23",
	    "2001:db8:0:80::/57", NULL };
	struct acl acl = make_acl(allow, NULL);

	ck_assert(permits(&acl, "192.168.1.255"));
	ck_assert(!permits(&acl, "192.168.2.0"));
	ck_assert(permits(&acl, "2001:db8:0:ff::1"));
	ck_assert(!permits(&acl, "2001:db8:0:100::1"));
	ck_assert(!permits(&acl, "2001:db8:0:7f::1"));
}
END_TEST

START_TEST(test_mapped_ipv4_matches_ipv4_rules)
{
	static const char *const deny[] = { "127.0.0.1", NULL };
	struct acl acl = make_acl(NULL, deny);

	ck_assert(!permits(&acl, "::ffff:127.0.0.1"));
	ck_assert(permits(&acl, "::ffff:127.0.0.2"));
	ck_assert(permits(&acl, "::1"));
}
END_TEST

START_TEST(test_mapped_rule_is_an_ipv4_rule)
{
	static const char *const deny[] = { "::ffff:10.0.0.0/104", NULL };
	struct acl acl = make_acl(NULL, deny);
	struct acl_net net;
	const char *error;

	ck_assert(!permits(&acl, "10.9.9.9"));
	ck_assert(!permits(&acl, "::ffff:10.9.9.9"));
	ck_assert(permits(&acl, "11.0.0.1"));
	ck_assert(acl_parse("::ffff:10.0.0.0/95", &net, &error) < 0);
}
END_TEST

START_TEST(test_unix_clients_always_pass)
{
	static const char *const allow[] = { "127.0.0.1", NULL };
	struct acl acl = make_acl(allow, NULL);
	struct sockaddr sa = { .sa_family = AF_UNIX };

	ck_assert(acl_permits(&acl, &sa, sizeof(sa_family_t)));
}
END_TEST

int
main(void)
{
	Suite *suite = suite_create("acl");
	TCase *tc = tcase_create("acl");

	tcase_add_test(tc, test_parse_accepts);
	tcase_add_test(tc, test_parse_refuses);
	tcase_add_test(tc, test_host_bits_are_cleared);
	tcase_add_test(tc, test_empty_allow_means_everyone);
	tcase_add_test(tc, test_deny_wins);
	tcase_add_test(tc, test_odd_prefixes);
	tcase_add_test(tc, test_mapped_ipv4_matches_ipv4_rules);
	tcase_add_test(tc, test_mapped_rule_is_an_ipv4_rule);
	tcase_add_test(tc, test_unix_clients_always_pass);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
