/*
 * check_matrix.c - every transport under every concurrency model, with
 * and without a worker pool: the same servers (echo, upper, timestamp,
 * the lifecycle fixture with a timeout, and the fixture refusing every
 * request) must answer byte for byte, carry a load without losing a reply,
 * run handle_timeout, refuse through verify_request and stop cleanly.
 *
 * Each combination is a test case of its own, named after it
 * ("udp-forking-w3"), so every failure line check prints names it, even
 * those raised inside the harness. One daemon serves all the checks of a
 * combination.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* Clients of the stream load, all connected at once. */
#define STREAM_CLIENTS 50

/* Datagrams of the datagram load, and how many may await their reply. */
#define DGRAM_COUNT 500
#define DGRAM_WINDOW 16

static const char *const transports[] = { "tcp", "udp", "unix",
    "unix-dgram" };
#define NTRANSPORTS (sizeof(transports) / sizeof(transports[0]))

/* Every model with workers = 0, and the two that take a pool with 3. */
static const struct {
	const char *model;
	int workers;
} models[] = {
	{ "sync", 0 },
	{ "threading", 0 },
	{ "threading", 3 },
	{ "forking", 0 },
	{ "forking", 3 },
};
#define NMODELS (sizeof(models) / sizeof(models[0]))
#define NCOMBOS (NTRANSPORTS * NMODELS)

enum server { ECHO, UPPER, YEAR, LC, REFUSE, NSERVERS };

static const char *const server_names[NSERVERS] = { "echo", "upper",
    "year", "lc", "refuse" };

struct matrix {
	const char *transport, *model;
	int workers;
	bool datagram, unix_path;
	char label[64];
	struct h_daemon d;
	struct h_ep ep[NSERVERS];
};

static void
combo(struct matrix *m, int i)
{
	memset(m, 0, sizeof(*m));
	m->transport = transports[(size_t)i / NMODELS];
	m->model = models[(size_t)i % NMODELS].model;
	m->workers = models[(size_t)i % NMODELS].workers;
	m->datagram = strcmp(m->transport, "udp") == 0 ||
	    strcmp(m->transport, "unix-dgram") == 0;
	m->unix_path = strncmp(m->transport, "unix", 4) == 0;
	snprintf(m->label, sizeof(m->label), "%s-%s-w%d", m->transport,
	    m->model, m->workers);
}

/* The settings of server s beyond name, transport, listen, handler. */
static const char *
server_extra(enum server s)
{
	switch (s) {
	case YEAR:
		return "options = { format = \"%Y\"; utc = true; };";
	case LC:
		return "timeout = 0.5;";
	case REFUSE:
		return "options = { refuse = true; };";
	default:
		return "";
	}
}

static const char *
server_handler(enum server s)
{
	switch (s) {
	case ECHO:
		return "echo";
	case UPPER:
		return "upper";
	case YEAR:
		return "timestamp";
	default:
		return h_fixture("lifecycle");
	}
}

static const char *
write_conf(struct matrix *m)
{
	char servers[4096], workers[32] = "";
	size_t len = 0;
	int s, n;

	/* workers is left at its default 0 rather than spelt out. */
	if (m->workers > 0)
		snprintf(workers, sizeof(workers), " workers = %d;",
		    m->workers);
	for (s = 0; s < NSERVERS; s++) {
		n = snprintf(servers + len, sizeof(servers) - len,
		    "%s  { name = \"%s\"; transport = \"%s\"; listen = \"%s\";\n"
		    "    handler = \"%s\"; concurrency = \"%s\";%s\n"
		    "    max_children = 64; %s }",
		    s > 0 ? ",\n" : "", server_names[s], m->transport,
		    m->ep[s].listen, server_handler((enum server)s), m->model,
		    workers, server_extra((enum server)s));
		ck_assert_msg(n > 0 && (size_t)n < sizeof(servers) - len,
		    "[%s] config too long", m->label);
		len += (size_t)n;
	}
	return h_write_file("matrix.conf",
	    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"
	    "servers = (\n%s\n);\n", servers);
}

static void
matrix_start(struct matrix *m)
{
	int s;

	for (s = 0; s < NSERVERS; s++)
		h_ep_init(&m->ep[s], m->transport, server_names[s]);
	h_daemon_start(&m->d, write_conf(m), NULL);
	/*
	 * Every server is bound before any serves, so over UDP (where only
	 * an echo server can be probed) waiting for echo is enough.
	 */
	if (strcmp(m->transport, "udp") == 0) {
		h_ep_wait(&m->d, &m->ep[ECHO]);
		return;
	}
	for (s = 0; s < NSERVERS; s++)
		h_ep_wait(&m->d, &m->ep[s]);
}

/* --- stream transports --------------------------------------------------- */

/* The refusing server closes the connection without a byte. */
static void
stream_expect_refused(struct matrix *m)
{
	int fd = h_ep_connect(&m->ep[REFUSE]);

	/* Nothing sent: over unix a write after the close fails (EPIPE). */
	h_expect_closed(&m->d, fd, h_path("[%s] refused by verify_request",
	    m->label));
	close(fd);
}

/*
 * STREAM_CLIENTS clients connect before any sends; then each sends its
 * own line and end of input; then every reply is read. However the model
 * schedules them, each gets exactly its own line back.
 */
static void
stream_load(struct matrix *m)
{
	int fds[STREAM_CLIENTS], i;
	char line[64];

	for (i = 0; i < STREAM_CLIENTS; i++)
		fds[i] = h_ep_connect(&m->ep[ECHO]);
	for (i = 0; i < STREAM_CLIENTS; i++) {
		snprintf(line, sizeof(line), "client %d\n", i);
		h_send(fds[i], line);
		h_shutdown_write(fds[i]);
	}
	for (i = 0; i < STREAM_CLIENTS; i++) {
		snprintf(line, sizeof(line), "client %d\n", i);
		h_expect_rest(&m->d, fds[i], line, "one of the concurrent "
		    "clients");
		close(fds[i]);
	}
}

/* --- datagram transports ------------------------------------------------- */

/* The refusing server sends no reply at all. */
static void
dgram_expect_refused(struct matrix *m)
{
	const struct h_ep *e = &m->ep[REFUSE];
	int fd = h_ep_dgram_client(e, NULL);

	h_ep_dgram_send(e, fd, "x\n", 2);
	h_expect_silence(&m->d, fd, H_SILENCE_MS, h_path("[%s] refused by "
	    "verify_request", m->label));
	close(fd);
}

/* The first few datagrams that got no reply, for a failure message. */
static const char *
missing(const bool *got, int sent)
{
	static char text[256];
	size_t len = 0;
	int i, shown = 0;

	text[0] = '\0';
	for (i = 0; i < sent && shown < 10; i++) {
		if (got[i])
			continue;
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d",
		    shown++ > 0 ? ", " : "", i);
	}
	return text;
}

/*
 * DGRAM_COUNT distinct datagrams to echo, never more than DGRAM_WINDOW
 * awaiting a reply (so loopback buffers cannot overflow and excuse a
 * loss); each must come back exactly once, in any order. Nothing is
 * retried: a missing reply is a failure, and so is a silence of
 * H_TIMEOUT_MS while replies are due.
 */
static void
dgram_load(struct matrix *m)
{
	const struct h_ep *e = &m->ep[ECHO];
	int fd = h_ep_dgram_client(e, NULL);
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int sent = 0, received = 0, k;
	bool got[DGRAM_COUNT] = { false };
	char payload[64], buf[256], expected[64];
	ssize_t n;

	while (received < DGRAM_COUNT) {
		while (sent < DGRAM_COUNT && sent - received < DGRAM_WINDOW) {
			snprintf(payload, sizeof(payload), "dgram %d\n", sent++);
			h_ep_dgram_send(e, fd, payload, strlen(payload));
		}
		n = h_dgram_recv(fd, buf, sizeof(buf),
		    deadline - h_now_ms());
		ck_assert_msg(n >= 0, "[%s] %d datagrams sent, %d replies, "
		    "then none for %d ms; no reply to datagrams %s%s",
		    m->label, sent, received, H_TIMEOUT_MS, missing(got, sent),
		    h_daemon_log_tail(&m->d));
		/* A slow server (forking, sanitizers) is not a lossy one. */
		deadline = h_now_ms() + H_TIMEOUT_MS;
		k = -1;
		if (sscanf(buf, "dgram %d", &k) == 1 && k >= 0 && k < sent)
			snprintf(expected, sizeof(expected), "dgram %d\n", k);
		else
			expected[0] = '\0';
		ck_assert_msg(k >= 0 && k < sent && strcmp(buf, expected) == 0,
		    "[%s] wrong reply %s after %d datagrams sent%s", m->label,
		    h_quote(buf, (size_t)n), sent, h_daemon_log_tail(&m->d));
		ck_assert_msg(!got[k], "[%s] a second reply to datagram %d: "
		    "%s%s", m->label, k, h_quote(buf, (size_t)n),
		    h_daemon_log_tail(&m->d));
		got[k] = true;
		received++;
	}
	close(fd);
}

/* --- both ---------------------------------------------------------------- */

/*
 * timestamp with format "%Y" and utc: "[YEAR] x\n"; a new year may begin
 * meanwhile.
 */
static void
expect_year(struct matrix *m)
{
	char before[32], after[32], buf[512];
	size_t n;

	snprintf(before, sizeof(before), "[%d] x\n", h_utc_year());
	snprintf(after, sizeof(after), "[%d] x\n", h_utc_year() + 1);
	n = h_ep_transact(&m->d, &m->ep[YEAR], "x\n", buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, before) == 0 || strcmp(buf, after) == 0,
	    "[%s] year, request \"x\\n\": expected %s, received %s%s",
	    m->label, h_quote(before, strlen(before)), h_quote(buf, n),
	    h_daemon_log_tail(&m->d));
}

/*
 * lc (timeout = 0.5) has run handle_timeout, tagged with its name, while
 * refuse, the same plugin with the default timeout 0, never does.
 */
static void
expect_handle_timeout(struct matrix *m)
{
	h_daemon_wait_words(&m->d, "handle_timeout fired", "lc", NULL);
	ck_assert_msg(!h_log_line_has_words(&m->d, "handle_timeout fired",
	    "refuse", NULL),
	    "[%s] handle_timeout ran for refuse, whose timeout is 0 (never)%s",
	    m->label, h_daemon_log_tail(&m->d));
}

/* A clean stop, which removes every socket file. */
static void
expect_clean_stop(struct matrix *m)
{
	const char *when = h_path("[%s] after a clean stop", m->label);
	int s;

	h_expect_clean_stop(&m->d);
	for (s = 0; m->unix_path && s < NSERVERS; s++)
		h_expect_gone(&m->d, m->ep[s].path, when);
}

START_TEST(test_matrix)
{
	struct matrix m;

	combo(&m, _i);
	matrix_start(&m);

	h_ep_exchange(&m.d, &m.ep[ECHO], "hello\n", "hello\n");
	h_ep_exchange(&m.d, &m.ep[ECHO], "a\nb\n", "a\nb\n");
	h_ep_exchange(&m.d, &m.ep[UPPER], "hello\n", "HELLO\n");
	expect_year(&m);
	h_ep_exchange(&m.d, &m.ep[LC], "x\n", "setup\nhandle x\nfinish\n");

	if (m.datagram) {
		dgram_expect_refused(&m);
		dgram_load(&m);
	} else {
		stream_expect_refused(&m);
		stream_load(&m);
	}
	/* The server still answers after the load. */
	h_ep_exchange(&m.d, &m.ep[ECHO], "after\n", "after\n");
	expect_handle_timeout(&m);
	expect_clean_stop(&m);
}
END_TEST

int
main(void)
{
	/* check keeps the name pointer; these outlive the run. */
	static char labels[NCOMBOS][sizeof(((struct matrix *)0)->label)];
	Suite *suite = suite_create("matrix");
	struct matrix m;
	TCase *tc;
	int i;

	for (i = 0; i < (int)NCOMBOS; i++) {
		combo(&m, i);
		memcpy(labels[i], m.label, sizeof(labels[i]));
		tc = tcase_create(labels[i]);
		h_add_fixtures(tc);
		tcase_add_loop_test(tc, test_matrix, i, i + 1);
		suite_add_tcase(suite, tc);
	}
	return h_run_suite(suite);
}
