/*
 * check_transports.c - what only some transports do, and the settings
 * only they take: unix socket files (socket_mode, socket_owner and
 * socket_group, stale and busy paths, a regular file in the way, removal
 * on stop), an empty datagram, tcp_nodelay, and the configuration errors
 * of transport and model settings (socket_mode, workers).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"

static const char *const unix_transports[] = { "unix", "unix-dgram" };
static const char *const dgram_transports[] = { "udp", "unix-dgram" };

/* One server: %1$s name, %2$s transport, %3$s listen, %4$s handler, %5$s
 * further settings. */
#define SERVER \
    "  { name = \"%s\"; transport = \"%s\"; listen = \"%s\";\n" \
    "    handler = \"%s\"; %s }"
#define DAEMON \
    "daemon: { shutdown_timeout = 5.0; log_level = \"debug\"; };\n"

static void
expect_socket_mode(struct h_daemon *d, const char *path, mode_t mode)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "stat %s: %s%s", path,
	    strerror(errno), h_daemon_log_tail(d));
	ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket (mode %o)%s",
	    path, (unsigned)st.st_mode, h_daemon_log_tail(d));
	ck_assert_msg((st.st_mode & 07777) == mode, "%s has mode %04o, "
	    "expected %04o%s", path, (unsigned)(st.st_mode & 07777),
	    (unsigned)mode, h_daemon_log_tail(d));
}

/* A unix stream socket bound at path; listening when `listening`. */
static int
unix_listener(const char *path, bool listening)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	ck_assert(strlen(path) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == 0, "bind %s: %s", path, strerror(errno));
	ck_assert_msg(!listening || listen(fd, 8) == 0, "listen %s: %s",
	    path, strerror(errno));
	return fd;
}

/* --- unix socket files --------------------------------------------------- */

/*
 * The socket file gets socket_mode ("0660" by default) whatever the
 * umask, serves, and is removed by a clean stop.
 */
START_TEST(test_socket_mode)
{
	const char *transport = unix_transports[_i];
	struct h_ep dflt, priv;
	struct h_daemon d;
	const char *conf;

	h_ep_init(&dflt, transport, "default");
	h_ep_init(&priv, transport, "private");
	conf = h_write_file("mode.conf", DAEMON "servers = (\n" SERVER ",\n"
	    SERVER "\n);\n",
	    "default", transport, dflt.path, "echo", "",
	    "private", transport, priv.path, "echo", "socket_mode = \"0600\";");
	h_daemon_start(&d, conf, NULL);
	h_ep_wait(&d, &dflt);
	h_ep_wait(&d, &priv);
	expect_socket_mode(&d, dflt.path, 0660);
	expect_socket_mode(&d, priv.path, 0600);
	h_ep_exchange(&d, &dflt, "hello\n", "hello\n");
	h_ep_exchange(&d, &priv, "hello\n", "hello\n");
	h_expect_clean_stop(&d);
	h_expect_gone(&d, dflt.path, "after a clean stop");
	h_expect_gone(&d, priv.path, "after a clean stop");
}
END_TEST

/*
 * socket_owner by name and socket_group by number. As root the group is
 * 1, not ours, so the chown is seen; otherwise only our own ids are
 * allowed, and the test shows the settings are at least accepted.
 */
START_TEST(test_socket_owner_group)
{
	const char *transport = unix_transports[_i];
	struct passwd *pw = getpwuid(getuid());
	gid_t gid = geteuid() == 0 ? 1 : getegid();
	struct h_daemon d;
	struct stat st;
	struct h_ep e;

	ck_assert_msg(pw != NULL, "no passwd entry for uid %ld",
	    (long)getuid());
	h_ep_init(&e, transport, "owned");
	h_ep_start(&d, &e, "echo", h_path("socket_owner = \"%s\"; "
	    "socket_group = \"%ld\";", pw->pw_name, (long)gid));
	ck_assert_msg(lstat(e.path, &st) == 0, "stat %s: %s", e.path,
	    strerror(errno));
	ck_assert_msg(st.st_uid == pw->pw_uid && st.st_gid == gid, "%s: "
	    "owner %ld:%ld, expected %ld:%ld (socket_owner \"%s\", "
	    "socket_group \"%ld\")%s", e.path, (long)st.st_uid,
	    (long)st.st_gid, (long)pw->pw_uid, (long)gid, pw->pw_name,
	    (long)gid, h_daemon_log_tail(&d));
	expect_socket_mode(&d, e.path, 0660);
	h_ep_exchange(&d, &e, "owned\n", "owned\n");
	h_expect_clean_stop(&d);
	h_expect_gone(&d, e.path, "after a clean stop");
}
END_TEST

/* A socket file nobody listens on (a crashed server's) is replaced. */
START_TEST(test_stale_socket_replaced)
{
	struct h_daemon d;
	struct h_ep e;
	int fd;

	h_ep_init(&e, "unix", "stale");
	close(unix_listener(e.path, false));
	fd = h_try_connect_unix(e.path);
	ck_assert_msg(fd < 0 && errno == ECONNREFUSED, "the stale socket %s "
	    "should refuse connections: %s", e.path,
	    fd >= 0 ? "connected" : strerror(errno));
	h_ep_start(&d, &e, "echo", "");
	h_ep_exchange(&d, &e, "over a stale path\n", "over a stale path\n");
	h_expect_clean_stop(&d);
	h_expect_gone(&d, e.path, "after a clean stop");
}
END_TEST

/*
 * A socket another process listens on is in use: the daemon exits 1
 * naming the path, and leaves that socket alone.
 */
START_TEST(test_socket_in_use)
{
	struct h_result r;
	const char *conf;
	struct h_ep e;
	int other, fd;

	h_ep_init(&e, "unix", "busy");
	other = unix_listener(e.path, true);
	conf = h_write_file("busy.conf", DAEMON "servers = (\n" SERVER
	    "\n);\n", "echo", "unix", e.path, "echo", "");
	h_run(&r, "-F", "-f", conf);
	h_expect_status(&r, 1, "unix socket path in use");
	h_expect_output(&r, e.path, "unix socket path in use");
	h_expect_output(&r, "in use", "unix socket path in use");
	fd = h_try_connect_unix(e.path);
	ck_assert_msg(fd >= 0, "the other process's socket %s no longer "
	    "accepts after sockservd gave up on it: %s; output:\n%s", e.path,
	    strerror(errno), r.output);
	close(fd);
	close(other);
}
END_TEST

/* A path that is a regular file is never replaced. */
START_TEST(test_path_is_regular_file)
{
	const char *path, *conf;
	struct h_result r;
	char content[64];

	/* h_sock_path only checks that the path would fit a socket. */
	path = h_write_file(strrchr(h_sock_path("file.sock"), '/') + 1,
	    "precious data\n");
	conf = h_write_file("file.conf", DAEMON "servers = (\n" SERVER
	    "\n);\n", "echo", "unix", path, "echo", "");
	h_run(&r, "-F", "-f", conf);
	h_expect_status(&r, 1, "unix socket path is a regular file");
	h_expect_output(&r, path, "unix socket path is a regular file");
	h_expect_output(&r, "not a socket", "unix socket path is a regular file");
	h_read_file(path, content, sizeof(content));
	ck_assert_msg(strcmp(content, "precious data\n") == 0, "%s was "
	    "changed: now %s; output:\n%s", path,
	    h_quote(content, strlen(content)), r.output);
}
END_TEST

/* --- datagrams ----------------------------------------------------------- */

/* An empty datagram is a request with no input: echo sends nothing. */
START_TEST(test_empty_datagram)
{
	const char *transport = dgram_transports[_i];
	struct h_daemon d;
	struct h_ep e;
	int fd;

	h_ep_init(&e, transport, "echo");
	h_ep_start(&d, &e, "echo", "concurrency = \"threading\";");
	fd = h_ep_dgram_client(&e, NULL);
	h_ep_dgram_send(&e, fd, "", 0);
	h_expect_silence(&d, fd, H_SILENCE_MS, h_path("%s, an empty datagram "
	    "to echo", transport));
	h_ep_dgram_send(&e, fd, "hello\n", 6);
	h_dgram_expect_reply(&d, fd, "hello\n", transport);
	close(fd);
	h_expect_clean_stop(&d);
}
END_TEST

/* --- tcp ----------------------------------------------------------------- */

/*
 * TCP_NODELAY of the daemon's end of the connection whose local end is
 * fd: the daemon's descriptors are copied in with pidfd_getfd until one
 * has fd's address as its peer.
 */
static int
server_side_nodelay(pid_t pid, int fd)
{
	struct sockaddr_storage mine, peer;
	socklen_t minelen = sizeof(mine), peerlen;
	int pidfd, target, copy, on = -1;
	socklen_t len = sizeof(on);

	ck_assert(getsockname(fd, (struct sockaddr *)&mine, &minelen) == 0);
	pidfd = pidfd_open(pid, 0);
	ck_assert_msg(pidfd >= 0, "pidfd_open: %s", strerror(errno));
	for (target = 0; target < 1024 && on < 0; target++) {
		copy = pidfd_getfd(pidfd, target, 0);
		if (copy < 0)
			continue;
		peerlen = sizeof(peer);
		if (getpeername(copy, (struct sockaddr *)&peer, &peerlen) == 0 &&
		    peerlen == minelen && memcmp(&peer, &mine, minelen) == 0)
			ck_assert(getsockopt(copy, IPPROTO_TCP, TCP_NODELAY, &on,
			    &len) == 0);
		close(copy);
	}
	close(pidfd);
	ck_assert_msg(on >= 0, "no connection of the daemon has the test's "
	    "address as its peer");
	return on != 0;
}

/* %1$d and %2$d: ports with tcp_nodelay true and false. */
static const char nodelay_conf[] =
    "servers = (\n"
    "  { name = \"on\"; transport = \"tcp\"; listen = \"127.0.0.1:%1$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\"; },\n"
    "  { name = \"off\"; transport = \"tcp\"; listen = \"127.0.0.1:%2$d\";\n"
    "    handler = \"echo\"; concurrency = \"threading\";\n"
    "    tcp_nodelay = false; }\n"
    ");\n";

START_TEST(test_tcp_nodelay)
{
	struct h_daemon d;
	int on = h_free_port(), off = h_free_port(), fd;

	h_daemon_start(&d, h_write_file("nodelay.conf", nodelay_conf, on,
	    off), NULL);
	h_daemon_wait_port(&d, on);
	h_daemon_wait_port(&d, off);
	/* A reply proves the request is being served, its socket open. */
	fd = h_connect(on);
	h_send(fd, "x\n");
	h_expect(fd, "x\n");
	ck_assert_msg(server_side_nodelay(d.pid, fd) == 1,
	    "tcp_nodelay = true, yet Nagle is on");
	close(fd);
	fd = h_connect(off);
	h_send(fd, "x\n");
	h_expect(fd, "x\n");
	ck_assert_msg(server_side_nodelay(d.pid, fd) == 0,
	    "tcp_nodelay = false, yet TCP_NODELAY is set");
	close(fd);
	h_expect_clean_stop(&d);
}
END_TEST

/* --- configuration errors ------------------------------------------------ */

static const struct config_case {
	const char *what;
	const char *transport;
	const char *settings;	/* on line 4 of the file */
	int status;		/* of -t */
	const char *key;	/* named with the line when status is 2 */
} config_cases[] = {
	{ "workers with sync", "tcp",
	    "concurrency = \"sync\"; workers = 2;", 2, "workers" },
	{ "workers over max_children", "tcp",
	    "concurrency = \"threading\"; workers = 50; max_children = 40;",
	    2, "workers" },
	{ "negative workers", "tcp",
	    "concurrency = \"forking\"; workers = -1;", 2, "workers" },
	{ "socket_mode not octal", "unix",
	    "socket_mode = \"999\";", 2, "socket_mode" },
	{ "socket_mode on tcp", "tcp",
	    "socket_mode = \"0660\";", 2, "socket_mode" },
	/* Their valid neighbours, so the errors above are the settings'. */
	{ "workers = max_children", "tcp",
	    "concurrency = \"threading\"; workers = 40; max_children = 40;",
	    0, NULL },
	{ "forking pool", "udp",
	    "concurrency = \"forking\"; workers = 3;", 0, NULL },
	{ "socket_mode on unix", "unix",
	    "socket_mode = \"0600\";", 0, NULL },
	{ "socket_mode on unix-dgram", "unix-dgram",
	    "socket_mode = \"0640\"; max_packet_size = 1024;", 0, NULL },
};

START_TEST(test_config)
{
	const struct config_case *c = &config_cases[_i];
	struct h_result r;
	const char *conf;
	struct h_ep e;

	h_ep_init(&e, c->transport, "s");
	conf = h_write_file("case.conf",
	    "daemon: { log_level = \"info\"; };\n"
	    "servers = (\n"
	    "  { name = \"s\"; transport = \"%s\"; listen = \"%s\";\n"
	    "    handler = \"echo\"; %s }\n"
	    ");\n", c->transport, e.listen, c->settings);
	h_run(&r, "-t", "-f", conf);
	h_expect_status(&r, c->status, h_path("-t, %s", c->what));
	if (c->status != 2)
		return;
	h_expect_output(&r, h_path("%s:4:", conf), h_path("-t, %s", c->what));
	h_expect_output(&r, c->key, h_path("-t, %s", c->what));
	/* Not only -t: starting refuses it the same way. */
	h_run(&r, "-F", "-f", conf);
	h_expect_status(&r, 2, c->what);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "socket_mode", test_socket_mode, 2 },
		{ "socket_owner_group", test_socket_owner_group, 2 },
		{ "stale_socket_replaced", test_stale_socket_replaced, 0 },
		{ "socket_in_use", test_socket_in_use, 0 },
		{ "path_is_regular_file", test_path_is_regular_file, 0 },
		{ "empty_datagram", test_empty_datagram, 2 },
		{ "tcp_nodelay", test_tcp_nodelay, 0 },
		{ "config", test_config,
		    (int)(sizeof(config_cases) / sizeof(config_cases[0])) },
	};
	Suite *suite = suite_create("transports");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
