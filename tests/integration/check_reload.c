/*
 * check_reload.c - SIGHUP (SPEC §6, daemon/reload.c): reloads under load
 * refuse and break nothing, a replaced plugin file runs anew while the
 * requests in flight finish on the old code, servers come and go with
 * the config, a bad new config keeps the old one running, and systemd
 * hears RELOADING=1 then READY=1.
 *
 * Each reload is waited for in the log ("reloaded" or "reload failed")
 * before the next SIGHUP, since signals sent closer together may merge
 * into one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* The log lines that end a reload, one way or the other. */
#define RELOADED	"reloaded"
#define RELOAD_FAILED	"reload failed"

/* --- files --------------------------------------------------------------- */

/*
 * Writes a file of the temporary directory the way an administrator
 * should: a temporary name, then rename(2) over the old one, so the
 * daemon never reads half a file. Returns its path.
 */
static const char *
write_atomic(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
write_atomic(const char *name, const char *fmt, ...)
{
	const char *path = h_path("%s/%s", h_tmpdir(), name);
	char tmp[4096];
	va_list ap;
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	ck_assert_msg(f != NULL, "cannot create %s: %s", tmp, strerror(errno));
	va_start(ap, fmt);
	ok = vfprintf(f, fmt, ap) >= 0;
	va_end(ap);
	ok = (fclose(f) == 0) && ok;
	ck_assert_msg(ok && rename(tmp, path) == 0, "cannot write %s: %s",
	    path, strerror(errno));
	return path;
}

/*
 * Copies src to dst, a new inode put in place by rename(2) as a package
 * manager does, never dst rewritten in place.
 */
static void
copy_atomic(const char *src, const char *dst)
{
	char tmp[4096], buf[65536];
	ssize_t r = 0;
	int in, out;
	bool ok = true;

	snprintf(tmp, sizeof(tmp), "%s.new", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(in >= 0, "cannot open %s: %s", src, strerror(errno));
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ck_assert_msg(out >= 0, "cannot create %s: %s", tmp, strerror(errno));
	while (ok && (r = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)r) == r;
	ok = ok && r == 0;
	ok = (close(out) == 0) && ok;
	close(in);
	ck_assert_msg(ok && rename(tmp, dst) == 0, "cannot copy %s to %s: %s",
	    src, dst, strerror(errno));
}

/* --- the daemon ---------------------------------------------------------- */

/* The reloads the daemon has finished, as its log tells. */
struct reloads {
	size_t ok, failed;
};

/*
 * SIGHUP, then waits for the reload to end; fails unless it ended as
 * `expect_ok` says.
 */
static void
reload(struct h_daemon *d, struct reloads *n, bool expect_ok,
    const char *what)
{
	size_t ok, failed;

	h_daemon_signal(d, SIGHUP);
	h_daemon_wait_log(d, expect_ok ? RELOADED : RELOAD_FAILED,
	    (expect_ok ? n->ok : n->failed) + 1);
	ok = h_log_count(d, RELOADED);
	failed = h_log_count(d, RELOAD_FAILED);
	ck_assert_msg(ok == n->ok + (expect_ok ? 1 : 0) &&
	    failed == n->failed + (expect_ok ? 0 : 1), "%s: expected the "
	    "reload to %s, the log has %zu \"" RELOADED "\" (%zu before) and "
	    "%zu \"" RELOAD_FAILED "\" (%zu before)%s", what,
	    expect_ok ? "succeed" : "fail", ok, n->ok, failed, n->failed,
	    h_daemon_log_tail(d));
	n->ok = ok;
	n->failed = failed;
}

/* --- 1. reloads under load ----------------------------------------------- */

/*
 * %1$d port of a, %2$s its plugin file, %3$d port of b, %4$d its workers,
 * %5$d port of c. Log level notice: one line per request would be many.
 */
static const char load_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"notice\"; };\n"
    "servers = (\n"
    "  { name = \"a\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"%2$s\"; concurrency = \"threading\"; },\n"
    "  { name = \"b\"; transport = \"tcp\"; listen = \"127.0.0.1:%3$d\";\n"
    "    handler = \"echo\"; concurrency = \"forking\"; workers = %4$d; },\n"
    "  { name = \"c\"; transport = \"udp\"; listen = \"127.0.0.1:%5$d\";\n"
    "    handler = \"echo\"; concurrency = \"sync\"; }\n"
    ");\n";

/* A syntax error on line 3: a setting without a value. */
static const char syntax_error_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"notice\"; };\n"
    "servers = (\n"
    "  { name = \"a\"; transport = ; }\n"
    ");\n";

#define LOAD_RELOADS		10
#define LOAD_GAP_MS		300
#define LOAD_MIN_OK		100
#define LOAD_UDP_WAIT_MS	5000
#define MAX_FAILURES		5

/* What the clients share: counts and the first failures. */
struct load {
	atomic_bool stop;
	pthread_mutex_t lock;
	long ok, failed;
	char failures[MAX_FAILURES][256];
	int nfailures;
};

struct client {
	struct load *load;
	const char *name;
	int port;
	bool udp;
	long ok, upper;		/* upper: "HELLO\n" replies */
};

/* h_quote is not for threads: a plain, bounded quoting of its own. */
static void
quote_into(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

static void
client_failed(struct client *c, const char *why)
{
	struct load *l = c->load;

	pthread_mutex_lock(&l->lock);
	l->failed++;
	if (l->nfailures < MAX_FAILURES)
		snprintf(l->failures[l->nfailures++], sizeof(l->failures[0]),
		    "client %s, port %d: %s", c->name, c->port, why);
	pthread_mutex_unlock(&l->lock);
}

/*
 * connect, "hello\n", shutdown(SHUT_WR), read to EOF: "hello\n" or
 * "HELLO\n". Returns false with `why` filled in on anything else; the
 * socket's timeouts (H_TIMEOUT_MS) bound every step.
 */
static bool
tcp_once(struct client *c, char *why, size_t cap)
{
	static const char hello[] = "hello\n";
	char buf[64], q[128];
	size_t got = 0;
	ssize_t r;
	int fd;

	fd = h_try_connect(c->port);
	if (fd < 0) {
		snprintf(why, cap, "connect: %s", strerror(errno));
		return false;
	}
	do
		r = send(fd, hello, sizeof(hello) - 1, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(hello) - 1) {
		snprintf(why, cap, "send: %s", r < 0 ? strerror(errno) :
		    "short send");
		close(fd);
		return false;
	}
	if (shutdown(fd, SHUT_WR) < 0) {
		snprintf(why, cap, "shutdown: %s", strerror(errno));
		close(fd);
		return false;
	}
	for (;;) {
		r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (got += (size_t)r) == sizeof(buf) - 1)
			break;
	}
	close(fd);
	quote_into(q, sizeof(q), buf, got);
	if (r < 0) {
		snprintf(why, cap, "recv after \"%s\": %s", q,
		    errno == EAGAIN ? "no reply within the timeout" :
		    strerror(errno));
		return false;
	}
	if (got == 6 && memcmp(buf, "HELLO\n", 6) == 0) {
		c->upper++;
		return true;
	}
	if (got == 6 && memcmp(buf, "hello\n", 6) == 0)
		return true;
	snprintf(why, cap, "reply \"%s\"%s, expected hello or HELLO", q,
	    r > 0 ? " and more" : "");
	return false;
}

/*
 * "hello N\n" in one datagram from a connected UDP socket; the reply,
 * within LOAD_UDP_WAIT_MS, must be the same. The number tells a late
 * reply to an earlier datagram from the right one.
 */
static bool
udp_once(int fd, long seq, char *why, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char msg[64], buf[256], q[128];
	long deadline = h_now_ms() + LOAD_UDP_WAIT_MS, left;
	size_t len;
	ssize_t r;
	int n;

	len = (size_t)snprintf(msg, sizeof(msg), "hello %ld\n", seq);
	do
		r = send(fd, msg, len, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)len) {
		snprintf(why, cap, "send: %s", r < 0 ? strerror(errno) :
		    "short send");
		return false;
	}
	for (;;) {
		left = deadline - h_now_ms();
		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, cap, "no reply to datagram %ld within "
			    "%d ms%s%s", seq, LOAD_UDP_WAIT_MS, n < 0 ? ": " :
			    "", n < 0 ? strerror(errno) : "");
			return false;
		}
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (r < 0) {
		snprintf(why, cap, "recv: %s", strerror(errno));
		return false;
	}
	if ((size_t)r == len && memcmp(buf, msg, len) == 0)
		return true;
	quote_into(q, sizeof(q), buf, (size_t)r);
	snprintf(why, cap, "datagram %ld: reply \"%s\"", seq, q);
	return false;
}

static void *
client_thread(void *arg)
{
	struct client *c = arg;
	char why[512];
	long seq = 0;
	int fd = -1;
	bool ok;

	if (c->udp && (fd = h_try_udp_connect(AF_INET, c->port)) < 0) {
		snprintf(why, sizeof(why), "UDP socket: %s", strerror(errno));
		client_failed(c, why);
		return NULL;
	}
	while (!atomic_load(&c->load->stop)) {
		ok = c->udp ? udp_once(fd, ++seq, why, sizeof(why)) :
		    tcp_once(c, why, sizeof(why));
		if (!ok) {
			client_failed(c, why);
			continue;
		}
		c->ok++;
		pthread_mutex_lock(&c->load->lock);
		c->load->ok++;
		pthread_mutex_unlock(&c->load->lock);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * Ten SIGHUPs, LOAD_GAP_MS apart, while clients keep a threading server
 * (its handler a plugin file of the temporary directory), a forking pool
 * and a UDP sync server busy. Before the 4th the plugin file becomes
 * upper.so; the 6th meets a syntax error, the 7th the valid config
 * again; the 9th gives the pool 3 workers. No request may fail: no
 * refused connection, no reset, no timeout, no wrong reply.
 */
START_TEST(test_reloads_under_load)
{
	struct load load = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct client clients[] = {
		{ .name = "a#1" }, { .name = "a#2" }, { .name = "b" },
		{ .name = "c (udp)", .udp = true },
	};
	const size_t nclients = sizeof(clients) / sizeof(clients[0]);
	pthread_t threads[sizeof(clients) / sizeof(clients[0])];
	const char *so, *conf, *what;
	struct reloads n = { 0, 0 };
	char failures[MAX_FAILURES * 260 + 1] = "";
	struct h_daemon d;
	int pa, pb, pc, i, err;
	size_t k;

	pa = h_free_port();
	pb = h_free_port();
	pc = h_free_port();
	so = h_path("%s/handler.so", h_tmpdir());
	copy_atomic(h_plugin("echo"), so);
	conf = write_atomic("load.conf", load_conf, pa, so, pb, 2, pc);
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, pa);
	h_daemon_wait_port(&d, pb);
	h_daemon_wait_udp(&d, AF_INET, pc);

	clients[0].port = clients[1].port = pa;
	clients[2].port = pb;
	clients[3].port = pc;
	for (k = 0; k < nclients; k++) {
		clients[k].load = &load;
		err = pthread_create(&threads[k], NULL, client_thread,
		    &clients[k]);
		ck_assert_msg(err == 0, "pthread_create: %s", strerror(err));
	}
	h_sleep_ms(LOAD_GAP_MS);

	for (i = 1; i <= LOAD_RELOADS; i++) {
		what = h_path("reload %d", i);
		if (i == 4)
			copy_atomic(h_plugin("upper"), so);
		if (i == 6)
			write_atomic("load.conf", syntax_error_conf);
		if (i == 7)
			write_atomic("load.conf", load_conf, pa, so, pb, 2, pc);
		if (i == 9)
			write_atomic("load.conf", load_conf, pa, so, pb, 3, pc);
		reload(&d, &n, i != 6, what);
		h_sleep_ms(LOAD_GAP_MS);
	}

	atomic_store(&load.stop, true);
	for (k = 0; k < nclients; k++)
		pthread_join(threads[k], NULL);
	for (i = 0; i < load.nfailures; i++) {
		strcat(failures, "\n  ");
		strcat(failures, load.failures[i]);
	}
	ck_assert_msg(load.failed == 0, "%ld of %ld requests failed during "
	    "the reloads; the first ones:%s%s", load.failed,
	    load.failed + load.ok, failures, h_daemon_log_tail(&d));
	ck_assert_msg(load.ok >= LOAD_MIN_OK, "only %ld requests made it "
	    "during %d reloads, expected at least %d%s", load.ok,
	    LOAD_RELOADS, LOAD_MIN_OK, h_daemon_log_tail(&d));
	for (k = 0; k < nclients; k++)
		ck_assert_msg(clients[k].ok > 0, "client %s got no reply at "
		    "all%s", clients[k].name, h_daemon_log_tail(&d));

	/* The new code is live, the rest unchanged; the reloads add up. */
	h_exchange(&d, pa, "hello\n", "HELLO\n", "server a after its plugin "
	    "file became upper.so");
	h_exchange(&d, pb, "hello\n", "hello\n", "server b after the reloads");
	h_udp_exchange(&d, pc, "hello\n", "hello\n", "server c after the "
	    "reloads");
	ck_assert_msg(n.ok == LOAD_RELOADS - 1 && n.failed == 1, "expected "
	    "%d \"" RELOADED "\" lines and 1 \"" RELOAD_FAILED "\", the log "
	    "has %zu and %zu%s", LOAD_RELOADS - 1, n.ok, n.failed,
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has(&d, h_path("%s:3:", conf), "syntax error"),
	    "no log line says \"%s:3: ... syntax error\"%s", conf,
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line_has(&d, "server b: serving", "3 workers"),
	    "no log line says server b serves with 3 workers after the "
	    "9th reload%s", h_daemon_log_tail(&d));
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 2. requests in flight finish on the old code ------------------------ */

/* %1$s model, %2$d port, %3$s plugin file, %4$s its options. */
static const char inflight_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"debug\"; };\n"
    "servers = (\n"
    "  { name = \"s\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"%1$s\";\n"
    "    %4$s }\n"
    ");\n";

/*
 * The handler file is slow.so (1.5 s per line) when a client's request
 * starts; echo.so replaces it and SIGHUP reloads. A client after the
 * reload gets its echo from the new code while the first one still
 * waits; then the first one gets its line from the old code.
 */
START_TEST(test_inflight_finishes_on_old_code)
{
	const char *so, *accepted;
	struct h_daemon d;
	struct reloads n = { 0, 0 };
	int port, old, fresh;

	port = h_free_port();
	so = h_path("%s/handler.so", h_tmpdir());
	copy_atomic(h_fixture("slow"), so);
	h_daemon_start(&d, write_atomic("inflight.conf", inflight_conf,
	    h_models[_i], port, so, "options = { delay_ms = 1500; };"), NULL);
	h_daemon_wait_port(&d, port);

	old = h_connect(port);
	accepted = h_path("server s: request from 127.0.0.1:%d",
	    h_local_port(old));
	h_send(old, "one\n");
	h_shutdown_write(old);
	/* Taken by the slow server: it must finish there, whatever comes. */
	h_daemon_wait_log(&d, accepted, 1);

	copy_atomic(h_plugin("echo"), so);
	/* echo refuses any option: its configuration has none. */
	write_atomic("inflight.conf", inflight_conf, h_models[_i], port, so,
	    "");
	reload(&d, &n, true, "reload onto echo.so");
	fresh = h_connect(port);
	h_exchange_fd(&d, fresh, "two\n", "two\n", "client after the reload");
	h_expect_silence(&d, old, 0, "client in flight on slow.so, when the "
	    "client after the reload has its echo");
	h_expect_rest(&d, old, "one\n", "client in flight on slow.so");
	close(old);
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 3. servers come and go ---------------------------------------------- */

/* %1$s the servers. */
static const char servers_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "%1$s"
    ");\n";

/* %1$s name, %2$d port, %3$s handler, %4$s model, %5$s "," or "". */
#define TCP_SERVER \
    "  { name = \"%s\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\";\n" \
    "    handler = \"%s\"; concurrency = \"%s\"; }%s\n"

/*
 * {A on P1} -> {A on P1, B on P2}: B answers, A still does. Then
 * -> {B on P2}: P1 refuses connections once "reloaded" is logged; B
 * still answers.
 */
START_TEST(test_servers_come_and_go)
{
	const char *model = h_models[_i], *conf;
	struct reloads n = { 0, 0 };
	struct h_daemon d;
	int p1, p2;

	p1 = h_free_port();
	p2 = h_free_port();
	conf = write_atomic("servers.conf", servers_conf, h_path(TCP_SERVER,
	    "A", p1, "echo", model, ""));
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, p1);
	h_exchange(&d, p1, "hello\n", "hello\n", "A before any reload");
	h_expect_refused(&d, p2, "before B is configured");

	write_atomic("servers.conf", servers_conf, h_path(TCP_SERVER TCP_SERVER,
	    "A", p1, "echo", model, ",", "B", p2, "upper", model, ""));
	reload(&d, &n, true, "reload adding B");
	h_exchange(&d, p2, "hello\n", "HELLO\n", "B, added by the reload");
	h_exchange(&d, p1, "hello\n", "hello\n", "A, kept by the reload");

	write_atomic("servers.conf", servers_conf, h_path(TCP_SERVER,
	    "B", p2, "upper", model, ""));
	reload(&d, &n, true, "reload removing A");
	h_expect_refused(&d, p1, "after the reload removing A");
	h_exchange(&d, p2, "hello\n", "HELLO\n", "B after the reload removing A");
	h_expect_clean_stop(&d);
}
END_TEST

/* %1$d tcp port, %2$s model, %3$s socket path or "" for none. */
static const char unix_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"t\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\"; concurrency = \"%2$s\"; }%3$s\n"
    ");\n";

/* %1$s socket path, %2$s model. */
#define UNIX_SERVER \
    ",\n  { name = \"u\"; transport = \"unix\"; listen = \"%s\";\n" \
    "    handler = \"upper\"; concurrency = \"%s\"; }"

/*
 * A unix server kept by a reload keeps its socket file and answers; one
 * removed by a reload has its socket file removed by the time
 * "reloaded" is logged, so clients find no socket (ENOENT).
 */
START_TEST(test_unix_server_removed)
{
	const char *model = h_models[_i], *sock, *conf, *with_u;
	struct reloads n = { 0, 0 };
	struct h_daemon d;
	struct stat st;
	int port, fd;

	port = h_free_port();
	sock = h_sock_path("u.sock");
	with_u = h_path(UNIX_SERVER, sock, model);
	conf = write_atomic("unix.conf", unix_conf, port, model, with_u);
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, port);
	h_daemon_wait_unix(&d, sock);

	reload(&d, &n, true, "reload keeping u");
	ck_assert_msg(stat(sock, &st) == 0, "%s after the reload keeping u: "
	    "%s%s", sock, strerror(errno), h_daemon_log_tail(&d));
	ck_assert_msg(S_ISSOCK(st.st_mode), "%s after the reload keeping u: "
	    "not a socket (mode %#o)%s", sock, (unsigned)st.st_mode,
	    h_daemon_log_tail(&d));
	h_exchange_fd(&d, h_connect_unix(sock), "hello\n", "HELLO\n",
	    "u after the reload keeping it");

	write_atomic("unix.conf", unix_conf, port, model, "");
	reload(&d, &n, true, "reload removing u");
	h_expect_gone(&d, sock, "after the reload removing u");
	fd = h_try_connect_unix(sock);
	ck_assert_msg(fd < 0 && errno == ENOENT, "connect %s after the reload "
	    "removing u: expected ENOENT, got %s%s", sock,
	    fd >= 0 ? "a connection" : strerror(errno), h_daemon_log_tail(&d));
	h_exchange(&d, port, "hello\n", "hello\n", "t after the reload "
	    "removing u");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 4. a bad new config ------------------------------------------------- */

/*
 * %1$s handler of s1, %2$d its port, %3$s handler of s2, %4$d its port,
 * %5$s handler of s3, %6$d its port, %7$s a fourth server, on line 9.
 */
static const char bad_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"s1\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"%1$s\"; concurrency = \"threading\"; },\n"
    "  { name = \"s2\"; transport = \"tcp\"; listen = \"127.0.0.1:%4$d\";\n"
    "    handler = \"%3$s\"; concurrency = \"forking\"; workers = 2; },\n"
    "  { name = \"s3\"; transport = \"udp\"; listen = \"127.0.0.1:%6$d\";\n"
    "    handler = \"%5$s\"; concurrency = \"sync\"; }%7$s\n"
    ");\n";

/* The fourth server, or what is wrong with it: %d a port. */
static const char *const bad_servers[] = {
	",\n  { name = \"s4\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\"; "
	    "handler = \"echo\"; bogus_key = 1; }",
	",\n  { name = \"s1\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\"; "
	    "handler = \"echo\"; }",
	",\n  { name = \"s4\"; transport = \"tcp\"; listen = \"127.0.0.1:%d\"; "
	    "handler = \"echo\"; }",
};
static const char *const bad_names[] = {
	"an unknown key", "a duplicate server name", "a port in use",
};

/* s1 echoes, s2 upper-cases, s3 echoes over UDP, as they did at start. */
static void
expect_old_servers(struct h_daemon *d, int p1, int p2, int p3,
    const char *when)
{
	h_exchange(d, p1, "hello\n", "hello\n", h_path("s1 (echo) %s", when));
	h_exchange(d, p2, "hello\n", "HELLO\n", h_path("s2 (upper) %s", when));
	h_udp_exchange(d, p3, "hello\n", "hello\n", h_path("s3 (udp echo) %s",
	    when));
}

/*
 * The new config swaps every handler (echo <-> upper) and adds a fourth
 * server with something wrong: an unknown key, a duplicate name, or
 * (valid, but failing to bind) a port the test listens on. "reload
 * failed" is logged, with FILE:LINE for the config errors, and every
 * server answers as before. The valid config then reloads.
 */
START_TEST(test_bad_config_keeps_old)
{
	const char *conf, *when = h_path("after the reload with %s",
	    bad_names[_i]);
	struct reloads n = { 0, 0 };
	struct h_daemon d;
	int p1, p2, p3, p4, held = -1;

	p1 = h_free_port();
	p2 = h_free_port();
	p3 = h_free_port();
	p4 = h_free_port();
	conf = write_atomic("bad.conf", bad_conf, "echo", p1, "upper", p2,
	    "echo", p3, "");
	h_daemon_start(&d, conf, NULL);
	h_daemon_wait_port(&d, p1);
	h_daemon_wait_port(&d, p2);
	h_daemon_wait_udp(&d, AF_INET, p3);
	expect_old_servers(&d, p1, p2, p3, "at start");

	if (_i == 2)
		held = h_listen(p4);
	write_atomic("bad.conf", bad_conf, "upper", p1, "echo", p2, "upper",
	    p3, h_path(bad_servers[_i], p4));
	reload(&d, &n, false, h_path("reload with %s", bad_names[_i]));
	if (_i == 0)
		ck_assert_msg(h_log_line_has(&d, h_path("%s:9: ", conf),
		    "unknown key 'bogus_key'"), "no log line says \"%s:9: "
		    "unknown key 'bogus_key'\"%s", conf,
		    h_daemon_log_tail(&d));
	else if (_i == 1)
		ck_assert_msg(h_log_line_has(&d, h_path("%s:9: ", conf),
		    "duplicate server name 's1'"), "no log line says \"%s:9: "
		    "duplicate server name 's1'\"%s", conf,
		    h_daemon_log_tail(&d));
	else
		ck_assert_msg(h_log_line_has(&d, "server s4",
		    h_path("cannot bind 127.0.0.1:%d", p4)), "no log line says "
		    "\"server s4: cannot bind 127.0.0.1:%d\"%s", p4,
		    h_daemon_log_tail(&d));
	expect_old_servers(&d, p1, p2, p3, when);

	/* The failed reload left nothing behind that stops a good one. */
	if (held >= 0)
		close(held);
	write_atomic("bad.conf", bad_conf, "echo", p1, "upper", p2, "echo",
	    p3, "");
	reload(&d, &n, true, "reload with the valid config again");
	expect_old_servers(&d, p1, p2, p3, "after the valid config again");
	h_expect_clean_stop(&d);
}
END_TEST

/* --- 5. systemd notifications -------------------------------------------- */

/* %1$d port, %2$s handler. */
static const char notify_conf[] =
    "daemon: { shutdown_timeout = 10.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"e\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"%2$s\"; concurrency = \"threading\"; }\n"
    ");\n";

/*
 * SIGHUP: RELOADING=1, then READY=1 once the reload is done; the same
 * when the reload fails, so systemd never waits for a reload forever.
 */
START_TEST(test_notify_reloading_ready)
{
	struct reloads n = { 0, 0 };
	struct h_notify nt;
	struct h_daemon d;
	int port;

	h_notify_open(&nt);
	port = h_free_port();
	h_daemon_start_env(&d, write_atomic("notify.conf", notify_conf, port,
	    "echo"), NULL, (const char *const[]){
	    h_path("NOTIFY_SOCKET=%s", nt.path), NULL });
	h_notify_wait(&nt, &d, "READY=1");

	write_atomic("notify.conf", notify_conf, port, "upper");
	h_daemon_signal(&d, SIGHUP);
	h_notify_wait(&nt, &d, "RELOADING=1");
	h_notify_wait(&nt, &d, "READY=1");
	ck_assert_msg(h_log_count(&d, RELOADED) == 1, "READY=1 after "
	    "RELOADING=1, but no \"" RELOADED "\" in the log%s",
	    h_daemon_log_tail(&d));
	n.ok = 1;
	/* READY=1 promises the new config is served. */
	h_exchange(&d, port, "hello\n", "HELLO\n", "client after READY=1 of the "
	    "reload");

	write_atomic("notify.conf", "servers = ( { name = ; } );\n");
	h_daemon_signal(&d, SIGHUP);
	h_notify_wait(&nt, &d, "RELOADING=1");
	h_notify_wait(&nt, &d, "READY=1");
	h_daemon_wait_log(&d, RELOAD_FAILED, 1);
	n.failed = 1;
	h_exchange(&d, port, "hello\n", "HELLO\n", "client after the failed "
	    "reload");

	write_atomic("notify.conf", notify_conf, port, "echo");
	reload(&d, &n, true, "reload after the failed one");
	h_notify_wait(&nt, &d, "RELOADING=1");
	h_notify_wait(&nt, &d, "READY=1");
	h_daemon_signal(&d, SIGTERM);
	h_notify_wait(&nt, &d, "STOPPING=1");
	h_expect_exit_ok(&d, h_daemon_wait_exit(&d), "SIGTERM");
	close(nt.fd);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "reloads_under_load", test_reloads_under_load, 0 },
		{ "inflight_finishes_on_old_code",
		    test_inflight_finishes_on_old_code, H_NMODELS },
		{ "servers_come_and_go", test_servers_come_and_go, H_NMODELS },
		{ "unix_server_removed", test_unix_server_removed, H_NMODELS },
		{ "bad_config_keeps_old", test_bad_config_keeps_old,
		    sizeof(bad_servers) / sizeof(bad_servers[0]) },
		{ "notify_reloading_ready", test_notify_reloading_ready, 0 },
	};
	Suite *suite = suite_create("reload");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
