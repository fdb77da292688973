/*
 * check_persource.c - max_per_source's counts (daemon/persource.c): per
 * address up to the limit, released one by one, IPv4 and IPv6 keys (an
 * IPv4-mapped IPv6 address is its IPv4 one), unix clients never counted,
 * a full table, and counts shared with forked processes.
 */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "persource.h"
#include "../run_suite.h"

static struct persource *ps;

/* A client address, "1.2.3.4" or "2001:db8::1", on `port`. */
struct client {
	struct sockaddr_storage ss;
	socklen_t len;
};

static struct client
client(const char *ip, int port)
{
	struct client c;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c.ss;

	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		c.len = sizeof(*sin);
		return c;
	}
	ck_assert_msg(inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1, "%s",
	    ip);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((unsigned short)port);
	c.len = sizeof(*sin6);
	return c;
}

static bool
acquire(const char *ip, int port)
{
	struct client c = client(ip, port);

	return persource_acquire(ps, (struct sockaddr *)&c.ss, c.len);
}

static void
release(const char *ip, int port)
{
	struct client c = client(ip, port);

	persource_release(ps, (struct sockaddr *)&c.ss, c.len);
}

static void
teardown(void)
{
	persource_free(ps);
	ps = NULL;
}

/* limit requests of one address pass, the next does not; ports differ. */
START_TEST(test_counts_up_to_the_limit)
{
	ps = persource_new(2, 8);
	ck_assert_ptr_nonnull(ps);
	ck_assert(acquire("10.0.0.1", 1000));
	ck_assert(acquire("10.0.0.1", 1001));
	ck_assert(!acquire("10.0.0.1", 1002));
	ck_assert(!acquire("10.0.0.1", 1000));
}
END_TEST

/* A release makes room for one more, and only one. */
START_TEST(test_release_makes_room)
{
	ps = persource_new(2, 8);
	ck_assert(acquire("10.0.0.1", 1));
	ck_assert(acquire("10.0.0.1", 2));
	release("10.0.0.1", 1);
	ck_assert(acquire("10.0.0.1", 3));
	ck_assert(!acquire("10.0.0.1", 4));
	release("10.0.0.1", 2);
	release("10.0.0.1", 3);
	ck_assert(acquire("10.0.0.1", 5));
	ck_assert(acquire("10.0.0.1", 6));
	ck_assert(!acquire("10.0.0.1", 7));
}
END_TEST

/* Each address has its count. */
START_TEST(test_addresses_count_apart)
{
	ps = persource_new(1, 8);
	ck_assert(acquire("10.0.0.1", 1));
	ck_assert(!acquire("10.0.0.1", 2));
	ck_assert(acquire("10.0.0.2", 1));
	ck_assert(acquire("2001:db8::1", 1));
	ck_assert(!acquire("2001:db8::1", 2));
	ck_assert(acquire("2001:db8::2", 1));
}
END_TEST

/* ::ffff:10.0.0.1 is 10.0.0.1 reached over a dual-stack socket. */
START_TEST(test_mapped_ipv4_is_ipv4)
{
	ps = persource_new(1, 8);
	ck_assert(acquire("10.0.0.1", 1));
	ck_assert(!acquire("::ffff:10.0.0.1", 2));
	release("::ffff:10.0.0.1", 2);
	ck_assert(acquire("10.0.0.1", 3));
}
END_TEST

/* Clients without an IP address (unix) always pass, uncounted. */
START_TEST(test_unix_clients_not_counted)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in short_sin = { .sin_family = AF_INET };
	int i;

	ps = persource_new(1, 1);
	strcpy(sun.sun_path, "/run/client.sock");
	for (i = 0; i < 5; i++)
		ck_assert(persource_acquire(ps, (struct sockaddr *)&sun,
		    sizeof(sun)));
	/* An IPv4 address too short to hold one is none. */
	for (i = 0; i < 5; i++)
		ck_assert(persource_acquire(ps, (struct sockaddr *)&short_sin,
		    sizeof(short_sin) - 1));
	/* None of them took the one slot. */
	ck_assert(acquire("10.0.0.1", 1));
}
END_TEST

/* When every slot holds an address in flight, a new address waits. */
START_TEST(test_table_full)
{
	ps = persource_new(5, 2);
	ck_assert(acquire("10.0.0.1", 1));
	ck_assert(acquire("10.0.0.2", 1));
	ck_assert(!acquire("10.0.0.3", 1));
	/* Addresses in the table still get their own count. */
	ck_assert(acquire("10.0.0.1", 2));
	release("10.0.0.2", 1);
	ck_assert(acquire("10.0.0.3", 1));
}
END_TEST

/* Releasing what was never acquired changes nothing, nor goes below 0. */
START_TEST(test_release_without_acquire)
{
	ps = persource_new(1, 4);
	release("10.0.0.9", 1);
	ck_assert(acquire("10.0.0.1", 1));
	release("10.0.0.1", 1);
	release("10.0.0.1", 1);
	ck_assert(acquire("10.0.0.1", 2));
	ck_assert(!acquire("10.0.0.1", 3));
}
END_TEST

/* Forked pool workers count in the same table. */
START_TEST(test_shared_with_forked_processes)
{
	int status;
	pid_t pid;

	ps = persource_new(1, 4);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(acquire("10.0.0.1", 1) ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child could not count its request");
	ck_assert(!acquire("10.0.0.1", 2));
	release("10.0.0.1", 1);
	ck_assert(acquire("10.0.0.1", 2));
}
END_TEST

int
main(void)
{
	Suite *suite = suite_create("persource");
	TCase *tc = tcase_create("persource");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_counts_up_to_the_limit);
	tcase_add_test(tc, test_release_makes_room);
	tcase_add_test(tc, test_addresses_count_apart);
	tcase_add_test(tc, test_mapped_ipv4_is_ipv4);
	tcase_add_test(tc, test_unix_clients_not_counted);
	tcase_add_test(tc, test_table_full);
	tcase_add_test(tc, test_release_without_acquire);
	tcase_add_test(tc, test_shared_with_forked_processes);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
