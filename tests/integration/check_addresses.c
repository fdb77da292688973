/*
 * check_addresses.c - who the client is: IPv6 and dual-stack listeners
 * (tcp and udp), how the log names a client (IPv4, IPv6, an unnamed unix
 * client or datagram sender, which has nowhere to be answered), and the
 * access rules that allow or deny an address.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* %1$d port of the IPv6-only server, %2$d port of the dual-stack one. */
static const char ipv6_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"v6\"; transport = \"%3$s\"; listen = \"[::1]:%1$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; },\n"
    "  { name = \"dual\"; transport = \"%3$s\"; listen = \"*:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; }\n"
    ");\n";

/* %1$d tcp port, %2$d udp port: 127.0.0.3 is denied, the rest allowed. */
static const char access_conf[] =
    "daemon: { shutdown_timeout = 5.0; };\n"
    "servers = (\n"
    "  { name = \"t\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\";\n"
    "    access = { allow = [ \"127.0.0.0/8\" ]; deny = [ \"127.0.0.3\" ]; }; },\n"
    "  { name = \"u\"; transport = \"udp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"sync\";\n"
    "    access = { allow = [ \"10.0.0.0/8\" ]; }; }\n"
    ");\n";

/* Fails unless a log line says "request from CLIENT". */
static void
expect_request_from(const struct h_daemon *d, const char *client)
{
	ck_assert_msg(h_log_line_has_words(d, "request from", client, NULL),
	    "no log line says \"request from %s\"%s", client,
	    h_daemon_log_tail(d));
}

/* --- IPv6 and dual stack ------------------------------------------------- */

/* Starts the servers of ipv6_conf over `transport`, on free ports. */
static void
ipv6_start(struct h_daemon *d, const char *transport, int *v6_r,
    int *dual_r)
{
	h_require_ipv6();
	*v6_r = h_free_port();
	*dual_r = h_free_port();
	h_daemon_start(d, h_write_file("ipv6.conf", ipv6_conf, *v6_r, *dual_r,
	    transport), NULL);
}

/*
 * "[::1]:PORT" serves IPv6 only; "*:PORT" serves IPv4 and IPv6. The log
 * names an IPv6 client "[::1]:port".
 */
START_TEST(test_ipv6_and_dual_stack)
{
	const char *client;
	struct h_daemon d;
	int v6, dual, fd;

	ipv6_start(&d, "tcp", &v6, &dual);
	/* Every listener is bound before any accepts. */
	h_daemon_wait_port(&d, dual);

	fd = h_connect6(v6);
	client = h_client_name(fd);
	h_exchange_fd(&d, fd, "over ipv6\n", "over ipv6\n", "[::1], v6");
	h_expect_refused(&d, v6, "with the server on [::1] only");

	h_exchange(&d, dual, "dual over ipv4\n", "dual over ipv4\n", NULL);
	h_exchange_fd(&d, h_connect6(dual), "dual over ipv6\n",
	    "dual over ipv6\n", "[::1], dual");

	h_expect_clean_stop(&d);
	expect_request_from(&d, client);
}
END_TEST

/*
 * UDP on "[::1]:PORT" serves IPv6 only; on "*:PORT" both families. The
 * log names an IPv6 client "[::1]:port".
 */
START_TEST(test_udp_ipv6)
{
	const char *client;
	struct h_daemon d;
	int v6, dual, fd;

	ipv6_start(&d, "udp", &v6, &dual);
	h_daemon_wait_udp(&d, AF_INET6, v6);
	h_daemon_wait_udp(&d, AF_INET6, dual);

	fd = h_udp_connect(AF_INET6, v6);
	client = h_client_name(fd);
	h_dgram_send(fd, "over ipv6\n", 10);
	h_dgram_expect_reply(&d, fd, "over ipv6\n", "udp [::1], v6");
	close(fd);
	fd = h_udp_connect(AF_INET, v6);
	h_dgram_send(fd, "v4 to v6 only\n", 14);
	h_expect_silence(&d, fd, H_SILENCE_MS, "udp, IPv4 to a server on "
	    "[::1] only");
	close(fd);

	fd = h_udp_connect(AF_INET, dual);
	h_dgram_send(fd, "dual v4\n", 8);
	h_dgram_expect_reply(&d, fd, "dual v4\n", "udp 127.0.0.1, dual");
	close(fd);
	fd = h_udp_connect(AF_INET6, dual);
	h_dgram_send(fd, "dual v6\n", 8);
	h_dgram_expect_reply(&d, fd, "dual v6\n", "udp [::1], dual");
	close(fd);

	h_expect_clean_stop(&d);
	expect_request_from(&d, client);
}
END_TEST

/* --- how the log names a client ------------------------------------------ */

/*
 * The debug log line for a request names its client as ss_client_name
 * does, "127.0.0.1:port" with this client's own port (not only the
 * probe h_daemon_wait_port sent).
 */
START_TEST(test_client_name_logged)
{
	const char *client;
	struct h_daemon d;
	struct h_ep e;
	int fd;

	h_ep_init(&e, "tcp", "short_lines");
	h_ep_start(&d, &e, "echo", h_path("concurrency = \"%s\";",
	    h_models[_i]));
	fd = h_connect(e.port);
	client = h_client_name(fd);
	h_exchange_fd(&d, fd, "hello\n", "hello\n", client);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_contains(&d, "request from 127.0.0.1:"),
	    "no log line says \"request from 127.0.0.1:\"%s",
	    h_daemon_log_tail(&d));
	expect_request_from(&d, client);
}
END_TEST

/* A unix stream client without a bound address is "(unnamed...)". */
START_TEST(test_unix_client_unnamed)
{
	struct h_daemon d;
	struct h_ep e;

	h_ep_init(&e, "unix", "echo");
	h_ep_start(&d, &e, "echo", "concurrency = \"threading\";");
	h_ep_exchange(&d, &e, "who am i\n", "who am i\n");
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_contains(&d, "request from (unnamed"), "no log "
	    "line says \"request from (unnamed\"%s", h_daemon_log_tail(&d));
}
END_TEST

/*
 * A unix datagram from an unbound socket has nowhere to be answered: the
 * daemon says so at debug ("unnamed") and goes on serving.
 */
START_TEST(test_unix_dgram_unnamed_sender)
{
	struct h_daemon d;
	struct h_ep e;
	int fd;

	h_ep_init(&e, "unix-dgram", "echo");
	h_ep_start(&d, &e, "echo", "concurrency = \"threading\";");
	fd = h_unix_dgram_socket(NULL);
	h_dgram_send_to(fd, e.path, "hello\n", 6);
	h_expect_silence(&d, fd, H_SILENCE_MS, "unix-dgram, an unbound "
	    "sender");
	close(fd);
	h_daemon_wait_line(&d, "unnamed");
	h_ep_exchange(&d, &e, "named\n", "named\n");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- access rules -------------------------------------------------------- */

/*
 * Access rules: a denied stream client is closed without a byte and one
 * line is logged; an allowed one is served; a datagram from outside the
 * allow list gets no reply and one log line.
 */
START_TEST(test_access_rules)
{
	struct h_daemon d;
	int tcp = h_free_port(), udp = h_free_port(), fd;

	h_daemon_start(&d, h_write_file("access.conf", access_conf, tcp, udp),
	    NULL);
	h_daemon_wait_port(&d, tcp);
	fd = h_connect_from("127.0.0.3", tcp);
	h_expect_closed(&d, fd, "denied client 127.0.0.3");
	fd = h_connect_from("127.0.0.4", tcp);
	h_exchange_fd(&d, fd, "hello\n", "hello\n", "allowed client 127.0.0.4");
	fd = h_udp_connect(AF_INET, udp);
	h_dgram_send(fd, "x\n", 2);
	h_expect_silence(&d, fd, H_SILENCE_MS, "a datagram from outside the "
	    "allow list");
	close(fd);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_count(&d, "refused by access rules") == 2,
	    "expected one log line per refusal (2)%s", h_daemon_log_tail(&d));
	ck_assert_msg(h_log_contains(&d, "server t: 127.0.0.3:"),
	    "the refusal does not name the client%s", h_daemon_log_tail(&d));
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "ipv6_and_dual_stack", test_ipv6_and_dual_stack, 0 },
		{ "udp_ipv6", test_udp_ipv6, 0 },
		{ "client_name_logged", test_client_name_logged, H_NMODELS },
		{ "unix_client_unnamed", test_unix_client_unnamed, 0 },
		{ "unix_dgram_unnamed_sender", test_unix_dgram_unnamed_sender,
		    0 },
		{ "access_rules", test_access_rules, 0 },
	};
	Suite *suite = suite_create("addresses");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
