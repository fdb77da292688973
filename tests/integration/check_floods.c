/*
 * check_floods.c - floods do not become log floods: refusals and drops
 * are logged as one line per server per reason per second with a count
 * (a UDP flood against max_per_source, a TCP flood against the access
 * rules, unix-dgram replies with nowhere to go); access_log turns the
 * per-request line off.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* How long a flood lasts; the log may have a line a second, and two more. */
#define FLOOD_MS	1500
#define FLOOD_SECONDS	((FLOOD_MS + 999) / 1000)
#define FLOOD_LINES	(FLOOD_SECONDS + 2)
/* Connections a TCP flood makes at most, to spare the machine's ports. */
#define FLOOD_CONNS	4000

/* --- reading the log ----------------------------------------------------- */

/* What the log says about one reason of one server. */
struct tally {
	unsigned lines;			/* lines about the reason */
	unsigned long long events;	/* events these lines account for */
	unsigned served;		/* access lines of `client` */
};

/*
 * Reads the log of d: lines of server `server` holding `full` (an
 * event's own line, 1 event) and lines saying "N more WHAT in the last"
 * (N events; an event's own line may end so, then it counts 1 + N). With
 * `client`, also the access lines ("CLIENT... in=") of that client's
 * address.
 */
static struct tally
log_tally(const struct h_daemon *d, const char *server, const char *full,
    const char *what, const char *client)
{
	struct tally t = { 0, 0, 0 };
	char prefix[128], more[128], mine[192];
	char *line = NULL, *p, *q;
	size_t cap = 0;
	FILE *f;

	/* Not h_path: a test reads the log many times. */
	snprintf(prefix, sizeof(prefix), "server %s: ", server);
	snprintf(more, sizeof(more), " more %s in the last ", what);
	snprintf(mine, sizeof(mine), "%s%s", prefix, client != NULL ? client :
	    "");

	f = fopen(d->log, "r");
	ck_assert_msg(f != NULL, "cannot open %s: %s", d->log,
	    strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		bool own;

		if (strstr(line, prefix) == NULL)
			continue;
		if (client != NULL && strstr(line, mine) != NULL &&
		    strstr(line, " in=") != NULL)
			t.served++;
		own = strstr(line, full) != NULL;
		p = strstr(line, more);
		if (own)
			t.events++;
		if (p != NULL) {
			for (q = p; q > line && isdigit((unsigned char)q[-1]);
			    q--)
				;
			ck_assert_msg(q < p, "no count before \"%s\" in %s",
			    more, h_quote(line, strlen(line)));
			t.events += strtoull(q, NULL, 10);
		}
		if (own || p != NULL)
			t.lines++;
	}
	free(line);
	fclose(f);
	return t;
}

/*
 * Waits until the log accounts for `events` events (plus the access
 * lines of `client`, when given); fails with what it found otherwise.
 */
static struct tally
wait_tally(const struct h_daemon *d, const char *server, const char *full,
    const char *what, const char *client, unsigned long long events)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	struct tally t;

	for (;;) {
		t = log_tally(d, server, full, what, client);
		if (t.events + t.served >= events || h_now_ms() > deadline)
			break;
		h_sleep_ms(100);
	}
	ck_assert_msg(t.events + t.served == events, "server %s: %llu "
	    "events expected in the log (\"%s\" or \"N more %s\"%s), found "
	    "%llu in %u lines%s%s", server, events, full, what,
	    client != NULL ? ", and requests served" : "", t.events, t.lines,
	    client != NULL ? h_path(" and %u requests served", t.served) : "",
	    h_daemon_log_tail(d));
	return t;
}

static void
expect_few_lines(const struct h_daemon *d, const struct tally *t,
    const char *what, unsigned max)
{
	ck_assert_msg(t->lines <= max, "%u log lines about %s for a flood of "
	    "%d ms, expected at most %u (one a second, and two more)%s",
	    t->lines, what, FLOOD_MS, max, h_daemon_log_tail(d));
	ck_assert_msg(t->events >= 100, "only %llu %s: the flood was no "
	    "flood%s", t->events, what, h_daemon_log_tail(d));
}

/* --- a UDP flood against max_per_source ---------------------------------- */

/*
 * The kernel's counts for the UDP socket bound to 127.0.0.1:port:
 * datagrams dropped for want of buffer space, and bytes still queued.
 */
static void
udp_socket_counts(int port, unsigned long *drops_r, unsigned long *queued_r)
{
	char local[32], line[512], *tok[16], *save;
	bool found = false;
	FILE *f;
	int n;

	snprintf(local, sizeof(local), "0100007F:%04X", port);
	f = fopen("/proc/net/udp", "r");
	ck_assert_msg(f != NULL, "/proc/net/udp: %s", strerror(errno));
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		n = 0;
		for (tok[n] = strtok_r(line, " \n", &save); tok[n] != NULL &&
		    n < 15; tok[++n] = strtok_r(NULL, " \n", &save))
			;
		/* sl local rem st tx:rx tr when retrnsmt uid timeout inode
		   ref pointer drops */
		if (n < 13 || strcmp(tok[1], local) != 0 ||
		    strcmp(tok[2], "00000000:0000") != 0)
			continue;
		found = true;
		*drops_r = strtoul(tok[n - 1], NULL, 10);
		*queued_r = strtoul(strchr(tok[4], ':') + 1, NULL, 16);
	}
	fclose(f);
	ck_assert_msg(found, "no UDP socket on 127.0.0.1:%d in /proc/net/udp",
	    port);
}

/*
 * Sends "x\n" from 127.0.0.3 to 127.0.0.1:port as fast as it can for
 * FLOOD_MS; returns how many datagrams left.
 */
static unsigned long
udp_flood(int port)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in from = { .sin_family = AF_INET };
	unsigned long sent = 0, tries = 0;
	long end = h_now_ms() + FLOOD_MS;
	int fd;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.3", &from.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&from,
	    sizeof(from)) == 0 && connect(fd, (struct sockaddr *)&to,
	    sizeof(to)) == 0, "flood socket: %s", strerror(errno));
	while ((tries++ % 64 != 0) || h_now_ms() < end)
		if (send(fd, "x\n", 2, MSG_NOSIGNAL) == 2)
			sent++;
	close(fd);
	return sent;
}

/*
 * %1$d port, %2$s slow.so, %3$s model, %4$d workers, %5$d port of a tcp
 * server that says when the daemon is up (every socket is bound first).
 */
static const char udp_flood_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"udp1\"; transport = \"udp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"%2$s\"; concurrency = \"%3$s\"; workers = %4$d;\n"
    "    max_per_source = 2;\n"
    "    options = { delay_ms = 4000; fast = \"quick\"; }; },\n"
    "  { name = \"up\"; transport = \"tcp\"; listen = \"127.0.0.1:%5$d\";\n"
    "    handler = \"echo\"; }\n"
    ");\n";

static const struct { const char *model; int workers; } flood_cases[] = {
	{ "threading", 0 }, { "threading", 4 }, { "forking", 4 },
};

/*
 * A UDP flood from 127.0.0.3 while its two requests in flight sleep in
 * the plugin: every other datagram is refused by max_per_source. The
 * log has at most a line a second about it (and two more), and what
 * those lines count, with the two served, is every datagram the daemon
 * received (the kernel's drops left out). The server answers another
 * client at once. Pool workers and forked workers count together.
 */
START_TEST(test_udp_flood_max_per_source)
{
	const char *model = flood_cases[_i].model, *conf;
	unsigned long sent, drops, queued;
	struct h_daemon d;
	struct tally t;
	int port = h_free_port(), up = h_free_port();

	conf = h_write_file("udp.conf", udp_flood_conf, port, h_fixture("slow"),
	    model, flood_cases[_i].workers, up);
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, up);
	sent = udp_flood(port);

	/*
	 * Everything the daemon received is either refused or served (the
	 * two in flight end after delay_ms).
	 */
	udp_socket_counts(port, &drops, &queued);
	t = wait_tally(&d, "udp1", "refused: max_per_source (2)",
	    "requests refused (max_per_source)", "127.0.0.3:", sent - drops);
	ck_assert_msg(t.served >= 1, "no request of the flood was served%s",
	    h_daemon_log_tail(&d));
	expect_few_lines(&d, &t, "max_per_source refusals", FLOOD_LINES);

	h_udp_exchange(&d, port, "quick\n", "quick\n", "another client after "
	    "the flood");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- a TCP flood against the access rules -------------------------------- */

/* %1$d port, %2$s model, %3$d workers: 127.0.0.3 is denied. */
static const char tcp_flood_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"t\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\"; concurrency = \"%2$s\"; workers = %3$d;\n"
    "    access = { allow = [ \"127.0.0.0/8\" ]; deny = [ \"127.0.0.3\" ]; };\n"
    "  }\n"
    ");\n";

/*
 * Connections from the denied 127.0.0.3, one after another for FLOOD_MS:
 * each is closed unserved, and the log has at most a line a second
 * about them, whose counts add up to every one. 127.0.0.4 is served.
 */
START_TEST(test_tcp_flood_access_rules)
{
	const char *model = flood_cases[_i].model;
	unsigned long conns = 0;
	struct h_daemon d;
	struct tally t;
	int port = h_free_port(), fd;
	long end;

	h_daemon_start(&d, h_write_file("tcp.conf", tcp_flood_conf, port,
	    model, flood_cases[_i].workers), NULL);
	h_daemon_wait_port(&d, port);
	end = h_now_ms() + FLOOD_MS;
	while (h_now_ms() < end && conns < FLOOD_CONNS) {
		fd = h_connect_from("127.0.0.3", port);
		h_expect_closed(&d, fd, "a denied client");
		close(fd);
		conns++;
	}
	t = wait_tally(&d, "t", "refused by access rules",
	    "requests refused (access)", NULL, conns);
	expect_few_lines(&d, &t, "access refusals", FLOOD_LINES);

	h_exchange_fd(&d, h_connect_from("127.0.0.4", port), "hello\n",
	    "hello\n", "127.0.0.4 after the flood");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- unix-dgram replies with nowhere to go ------------------------------- */

/* %1$s socket path. */
static const char unnamed_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"ud\"; transport = \"unix-dgram\"; listen = \"%1$s\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; }\n"
    ");\n";

#define UNNAMED_BURST	50

/*
 * A unix-dgram client that never bound its socket has no address to be
 * answered at: its request's access line says "undeliverable", not ok,
 * and the drops are logged as such, a burst of them in a line a second
 * with a count. A bound client is answered, "ok".
 */
START_TEST(test_unix_dgram_undeliverable)
{
	const char *path = h_sock_path("ud.sock"), *me;
	struct h_daemon d;
	struct tally t;
	int fd, i;

	h_daemon_start(&d, h_write_file("ud.conf", unnamed_conf, path), NULL);
	h_daemon_wait_unix_dgram(&d, path);
	fd = h_unix_dgram_socket(NULL);
	h_dgram_send_to(fd, path, "hello\n", 6);
	h_daemon_wait_line(&d, "server ud: (unnamed) in=6 out=0 time=",
	    "s undeliverable");
	ck_assert_msg(!h_log_line_has(&d, "server ud: (unnamed) in=", " ok"),
	    "an undeliverable reply logged as ok%s", h_daemon_log_tail(&d));

	for (i = 0; i < UNNAMED_BURST; i++)
		h_dgram_send_to(fd, path, "hello\n", 6);
	close(fd);
	t = wait_tally(&d, "ud", "undeliverable: the sender's socket has no "
	    "name", "replies undeliverable", NULL, UNNAMED_BURST + 1);
	ck_assert_msg(t.lines <= 3, "%u log lines about %d undeliverable "
	    "replies sent at once, expected at most 3%s", t.lines,
	    UNNAMED_BURST + 1, h_daemon_log_tail(&d));

	me = h_sock_path("client.sock");
	fd = h_unix_dgram_socket(me);
	h_dgram_send_to(fd, path, "named\n", 6);
	h_dgram_expect_reply(&d, fd, "named\n", "a bound client");
	close(fd);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_line_has(&d, h_path("server ud: %s in=6 out=6 ",
	    me), "s ok"), "no access line \"server ud: %s in=6 out=6 ...s "
	    "ok\"%s", me, h_daemon_log_tail(&d));
}
END_TEST

/* --- access_log ---------------------------------------------------------- */

/* %1$d port of "quiet" (access_log = false), %2$d of "loud" (default). */
static const char access_log_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"quiet\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\"; access_log = false; },\n"
    "  { name = \"loud\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; }\n"
    ");\n";

/* Sends one line and expects it back; returns the client's name. */
static const char *
echo_once(const struct h_daemon *d, int port)
{
	int fd = h_connect(port);
	const char *client = h_client_name(fd);

	h_exchange_fd(d, fd, "hello\n", "hello\n", client);
	return client;
}

/*
 * access_log = false: requests are served with no access line; the
 * server beside it, with the default, logs one per request.
 */
START_TEST(test_access_log_off)
{
	const char *quiet_client, *loud_client;
	int quiet = h_free_port(), loud = h_free_port();
	struct h_daemon d;

	h_daemon_start(&d, h_write_file("al.conf", access_log_conf, quiet,
	    loud), NULL);
	h_daemon_wait_port(&d, quiet);
	h_daemon_wait_port(&d, loud);
	quiet_client = echo_once(&d, quiet);
	loud_client = echo_once(&d, loud);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_line_has(&d, h_path("server loud: %s in=6 out=6 ",
	    loud_client), "s ok"), "no access line for %s on loud%s",
	    loud_client, h_daemon_log_tail(&d));
	ck_assert_msg(!h_log_line_has(&d, "server quiet: ", " in="), "an "
	    "access line on quiet (access_log = false), e.g. for %s%s",
	    quiet_client, h_daemon_log_tail(&d));
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "udp_flood_max_per_source", test_udp_flood_max_per_source,
		    sizeof(flood_cases) / sizeof(flood_cases[0]) },
		{ "tcp_flood_access_rules", test_tcp_flood_access_rules,
		    sizeof(flood_cases) / sizeof(flood_cases[0]) },
		{ "unix_dgram_undeliverable", test_unix_dgram_undeliverable,
		    0 },
		{ "access_log_off", test_access_log_off, 0 },
	};
	Suite *suite = suite_create("floods");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
