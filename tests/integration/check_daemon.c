/*
 * check_daemon.c - sockservd as a daemon: detaching with a pid file, the
 * log (access lines, priority prefixes under systemd, targets), dropping
 * privileges, systemd's notification protocol and watchdog, and socket
 * activation through the real systemd-socket-activate.
 *
 * A daemon that detaches is no child of the test: the test process makes
 * itself a child subreaper so the orphaned daemon is reparented to it and
 * its exit status can be read, and h_kill_at_end(conf) kills it however
 * the test ends.
 */
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/*
 * One server. %1$s daemon settings (line 3, for errors that name it),
 * %2$s name, %3$s transport, %4$s listen, %5$s handler, %6$s more server
 * settings.
 */
static const char one_server_conf[] =
    "daemon: {\n"
    "  shutdown_timeout = 5.0;\n"
    "  %1$s\n"
    "};\n"
    "servers = (\n"
    "  { name = \"%2$s\"; transport = \"%3$s\"; listen = \"%4$s\";\n"
    "    handler = \"%5$s\"; concurrency = \"threading\"; %6$s }\n"
    ");\n";

/* Two tcp servers, "echo" on %1$s and "upper" on %2$s. */
static const char two_servers_conf[] =
    "daemon: { shutdown_timeout = 5.0; log_level = \"info\"; };\n"
    "servers = (\n"
    "  { name = \"echo\"; transport = \"tcp\"; listen = \"%1$s\";\n"
    "    handler = \"echo\"; },\n"
    "  { name = \"upper\"; transport = \"tcp\"; listen = \"%2$s\";\n"
    "    handler = \"upper\"; }\n"
    ");\n";

/* How the timestamped (stderr) format starts every line. */
static const char stamp_re[] =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
    "sockservd\\[[0-9]+\\]: (error|warning|notice|info|debug): ";

/* --- configs and clients ------------------------------------------------- */

static const char *
server_conf(const char *daemon, const char *name, const char *transport,
    const char *listen, const char *handler, const char *more)
{
	return h_write_file("sockserv.conf", one_server_conf, daemon, name,
	    transport, listen, handler, more);
}

/* One tcp echo server named "echo" on 127.0.0.1:port. */
static const char *
echo_conf(const char *daemon, int port)
{
	return server_conf(daemon, "echo", "tcp",
	    h_path("127.0.0.1:%d", port), "echo", "");
}

/* --- the log ------------------------------------------------------------- */

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Fails unless every line of the log matches (or, !match, none does) re. */
static void
expect_every_line(const struct h_daemon *d, const char *re, bool match,
    const char *what)
{
	static char log[1 << 20];
	char *line, *save;
	regex_t rx;
	int nlines = 0;

	ck_assert_msg(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) == 0,
	    "regcomp %s", re);
	h_read_file(d->log, log, sizeof(log));
	for (line = strtok_r(log, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		nlines++;
		if ((regexec(&rx, line, 0, NULL, 0) == 0) != match) {
			regfree(&rx);
			ck_abort_msg("%s; this line is not: %s%s", what,
			    h_quote(line, strlen(line)), h_daemon_log_tail(d));
		}
	}
	regfree(&rx);
	ck_assert_msg(nlines > 0, "%s; the log is empty", what);
}

/* --- processes that detach ----------------------------------------------- */

/* The daemon a launcher leaves behind becomes this process's child. */
static void
become_subreaper(void)
{
	ck_assert_msg(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0,
	    "prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
}

/*
 * Runs `sockservd -f CONF [EXTRA...]` without -F to completion: the
 * launcher, which detaches the daemon. Whatever it leaves running is
 * killed when the test ends.
 */
static void
launch(struct h_result *r, const char *conf, const char *extra1,
    const char *extra2)
{
	const char *const args[] = { "-f", conf, extra1, extra2, NULL };

	h_kill_at_end(conf);
	h_run_env(r, args, NULL);
}

static pid_t
read_pid_file(const char *path, const struct h_result *r)
{
	char buf[64], *end;
	long pid;

	ck_assert_msg(access(path, F_OK) == 0, "no pid file %s after the "
	    "launcher exited: %s; its output:\n%s", path, strerror(errno),
	    r->output);
	h_read_file(path, buf, sizeof(buf));
	pid = strtol(buf, &end, 10);
	ck_assert_msg(pid > 0 && strcmp(end, "\n") == 0, "pid file %s holds "
	    "%s, expected a pid and a newline", path,
	    h_quote(buf, strlen(buf)));
	return (pid_t)pid;
}

/* Where /proc/PID/NAME points. */
static const char *
proc_link(pid_t pid, const char *name)
{
	char target[PATH_MAX];
	ssize_t n;

	n = readlink(h_path("/proc/%ld/%s", (long)pid, name), target,
	    sizeof(target) - 1);
	ck_assert_msg(n >= 0, "readlink /proc/%ld/%s: %s", (long)pid, name,
	    strerror(errno));
	target[n] = '\0';
	return h_path("%s", target);
}

/*
 * The detached daemon, reparented to this subreaper, exits within
 * H_TIMEOUT_MS; returns its exit status.
 */
static int
wait_orphan_exit(pid_t pid)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		ck_assert_msg(r == 0, "waitpid %ld: %s", (long)pid,
		    strerror(errno));
		if (h_now_ms() > deadline) {
			kill(pid, SIGKILL);
			ck_abort_msg("the detached sockservd (pid %ld) did not "
			    "exit within %d ms of SIGTERM; killed", (long)pid,
			    H_TIMEOUT_MS);
		}
		h_sleep_ms(20);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

/* SIGTERM to the detached daemon: it exits 0 and removes its pid file. */
static void
stop_detached(pid_t pid, const char *pid_file)
{
	int code;

	ck_assert_msg(kill(pid, SIGTERM) == 0, "kill %ld: %s", (long)pid,
	    strerror(errno));
	code = wait_orphan_exit(pid);
	ck_assert_msg(code == 0, "the detached sockservd exited with %d on "
	    "SIGTERM, expected 0", code);
	ck_assert_msg(access(pid_file, F_OK) < 0 && errno == ENOENT,
	    "pid file %s still there after the daemon stopped", pid_file);
}

/*
 * The one process running with `conf` on its command line: the daemon
 * the launcher left, which must be the pid in the pid file.
 */
static void
expect_daemon_is(const char *conf, pid_t pid)
{
	pid_t pids[8];
	size_t n = h_procs_with_arg(conf, pids, 8);

	ck_assert_msg(n == 1 && pids[0] == pid, "expected one process "
	    "running with -f %s, pid %ld from the pid file; found %zu "
	    "(first %ld)", conf, (long)pid, n, n > 0 ? (long)pids[0] : 0L);
}

/* Nothing runs with `conf` on its command line within H_TIMEOUT_MS. */
static void
expect_no_daemon_left(const char *conf)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	pid_t pid;

	while (h_procs_with_arg(conf, &pid, 1) > 0) {
		ck_assert_msg(h_now_ms() < deadline, "a sockservd (pid %ld) "
		    "with -f %s still runs %d ms after its launcher failed",
		    (long)pid, conf, H_TIMEOUT_MS);
		h_sleep_ms(20);
	}
}

/* --- detaching ----------------------------------------------------------- */

/*
 * Without -F the launcher exits 0 only once the daemon serves; the pid
 * file names the daemon, another process, orphaned (here reparented to
 * the test, a subreaper), in a session of its own, in "/", with stdin,
 * stdout and stderr on /dev/null. SIGTERM stops it with status 0 and
 * removes the pid file.
 */
START_TEST(test_detach)
{
	const char *pid_file = h_path("%s/s.pid", h_tmpdir()), *conf;
	struct h_proc_stat st = { .ppid = 0 };
	long ppid, sid, deadline;
	struct h_result r;
	int port, fd, i;
	pid_t pid;

	become_subreaper();
	port = h_free_port();
	conf = echo_conf(h_path("pid_file = \"%s\";", pid_file), port);
	launch(&r, conf, NULL, NULL);
	h_expect_status(&r, 0, "detached start");
	fd = h_try_connect(port);
	ck_assert_msg(fd >= 0, "connect to 127.0.0.1:%d right after the "
	    "launcher exited 0: %s; it must wait until the daemon serves; "
	    "its output:\n%s", port, strerror(errno), r.output);
	h_exchange_fd(NULL, fd, "hello\n", "hello\n", "the detached daemon");

	pid = read_pid_file(pid_file, &r);
	ck_assert_msg(pid != getpid(), "the pid file names the test");
	expect_daemon_is(conf, pid);
	deadline = h_now_ms() + H_TIMEOUT_MS;
	while (h_proc_stat(pid, &st) && st.ppid != getpid() &&
	    h_now_ms() < deadline)
		h_sleep_ms(20);
	ppid = st.ppid;
	sid = st.sid;
	ck_assert_msg(ppid == getpid(), "the daemon (pid %ld) has parent %ld, "
	    "expected to be orphaned and reparented to the test (%ld), a "
	    "subreaper", (long)pid, ppid, (long)getpid());
	ck_assert_msg(sid != getsid(0) && sid != pid, "the daemon's session "
	    "is %ld (the test's is %ld): expected a session of its own that "
	    "it does not lead, after setsid and a second fork", sid,
	    (long)getsid(0));
	ck_assert_msg(strcmp(proc_link(pid, "cwd"), "/") == 0, "the daemon's "
	    "working directory is %s, expected /", proc_link(pid, "cwd"));
	for (i = 0; i < 3; i++) {
		const char *fdname = h_path("fd/%d", i);

		ck_assert_msg(strcmp(proc_link(pid, fdname), "/dev/null") == 0,
		    "the daemon's fd %d is %s, expected /dev/null", i,
		    proc_link(pid, fdname));
	}
	h_exchange_fd(NULL, h_connect(port), "again\n", "again\n",
	    "the detached daemon, again");

	stop_detached(pid, pid_file);
	h_expect_refused(NULL, port, "after the detached daemon stopped");
}
END_TEST

/*
 * A second start with the pid file of a running daemon fails with status
 * 1, naming the pid file; the first one goes on serving.
 */
START_TEST(test_detach_second_start_refused)
{
	const char *pid_file = h_path("%s/s.pid", h_tmpdir()), *conf;
	struct h_result r, second;
	int port;
	pid_t pid;

	become_subreaper();
	port = h_free_port();
	conf = echo_conf(h_path("pid_file = \"%s\";", pid_file), port);
	launch(&r, conf, NULL, NULL);
	h_expect_status(&r, 0, "first detached start");
	pid = read_pid_file(pid_file, &r);

	launch(&second, conf, NULL, NULL);
	h_expect_status(&second, 1, "second start, same pid file");
	ck_assert_msg(strstr(second.output, pid_file) != NULL &&
	    strstr(second.output, "running") != NULL, "second start: expected "
	    "a message naming %s and saying \"running\", got:\n%s", pid_file,
	    second.output);
	ck_assert_msg(read_pid_file(pid_file, &r) == pid, "the second start "
	    "changed the pid file");
	expect_daemon_is(conf, pid);
	h_exchange_fd(NULL, h_connect(port), "still\n", "still\n",
	    "the first daemon");
	stop_detached(pid, pid_file);
}
END_TEST

/*
 * A pid file left behind, naming a process that is not sockservd (the
 * test itself) or none at all (999999 > pid_max), does not block a
 * start, which replaces it.
 */
START_TEST(test_detach_stale_pid_file)
{
	const char *pid_file = h_path("%s/s.pid", h_tmpdir()), *conf;
	long stale = _i == 0 ? (long)getpid() : 999999L;
	struct h_result r;
	int port;
	pid_t pid;

	become_subreaper();
	h_write_file("s.pid", "%ld\n", stale);
	port = h_free_port();
	conf = echo_conf(h_path("pid_file = \"%s\";", pid_file), port);
	launch(&r, conf, NULL, NULL);
	h_expect_status(&r, 0, h_path("start over a stale pid file "
	    "naming %ld", stale));
	pid = read_pid_file(pid_file, &r);
	ck_assert_msg(pid != stale, "the pid file still names %ld", stale);
	expect_daemon_is(conf, pid);
	h_exchange_fd(NULL, h_connect(port), "hello\n", "hello\n",
	    "the daemon");
	stop_detached(pid, pid_file);
}
END_TEST

/*
 * -p FILE overrides daemon.pid_file, whose file is never written; a
 * relative FILE (_i = 1) is relative to the directory sockservd was
 * started in, not to "/" where the daemon lives.
 */
START_TEST(test_detach_pid_file_option)
{
	const char *conf_pid = h_path("%s/conf.pid", h_tmpdir());
	const char *cli_pid = h_path("%s/cli.pid", h_tmpdir());
	struct h_result r;
	const char *conf;
	int port;
	pid_t pid;

	become_subreaper();
	ck_assert_msg(chdir(h_tmpdir()) == 0, "chdir %s: %s", h_tmpdir(),
	    strerror(errno));
	port = h_free_port();
	conf = echo_conf(h_path("pid_file = \"%s\";", conf_pid), port);
	launch(&r, conf, "-p", _i == 0 ? cli_pid : "cli.pid");
	h_expect_status(&r, 0, "detached start with -p");
	pid = read_pid_file(cli_pid, &r);
	ck_assert_msg(access(conf_pid, F_OK) < 0 && errno == ENOENT,
	    "daemon.pid_file %s was written despite -p", conf_pid);
	expect_daemon_is(conf, pid);
	h_exchange_fd(NULL, h_connect(port), "hello\n", "hello\n",
	    "the daemon");
	stop_detached(pid, cli_pid);
}
END_TEST

/*
 * Sockets are bound before detaching: a port in use fails the launcher
 * with status 1 and the bind error on its terminal, leaving nothing.
 */
START_TEST(test_detach_port_in_use)
{
	const char *pid_file = h_path("%s/s.pid", h_tmpdir()), *conf;
	struct h_result r;
	int port, busy;

	become_subreaper();
	port = h_free_port();
	busy = h_listen(port);
	conf = echo_conf(h_path("pid_file = \"%s\";", pid_file), port);
	launch(&r, conf, NULL, NULL);
	h_expect_status(&r, 1, "detached start on a port in use");
	ck_assert_msg(strstr(r.output, h_path("cannot bind 127.0.0.1:%d",
	    port)) != NULL && strstr(r.output, strerror(EADDRINUSE)) != NULL,
	    "expected \"cannot bind 127.0.0.1:%d: %s\" on the launcher's "
	    "output, got:\n%s", port, strerror(EADDRINUSE), r.output);
	expect_no_daemon_left(conf);
	ck_assert_msg(access(pid_file, F_OK) < 0, "pid file %s left behind",
	    pid_file);
	close(busy);
}
END_TEST

/*
 * A plugin whose init refuses its options (after the fork) fails the
 * launcher with status 2, a configuration error, and no daemon nor pid
 * file stays behind.
 */
START_TEST(test_detach_init_fail)
{
	const char *pid_file = h_path("%s/s.pid", h_tmpdir()), *conf;
	struct h_result r;

	become_subreaper();
	conf = server_conf(h_path("pid_file = \"%s\";", pid_file),
	    "broken", "tcp", h_path("127.0.0.1:%d", h_free_port()),
	    h_fixture("init_fail"), "");
	launch(&r, conf, NULL, NULL);
	h_expect_status(&r, 2, "detached start, plugin init failing");
	expect_no_daemon_left(conf);
	ck_assert_msg(access(pid_file, F_OK) < 0, "pid file %s left behind "
	    "by a start that failed", pid_file);
}
END_TEST

/* --- the log ------------------------------------------------------------- */

static const struct access_case {
	const char *handler, *options, *request, *reply, *counts, *result;
} access_cases[] = {
	{ "echo", "", "hello\n", "hello\n", "in=6 out=6 time=", "s ok" },
	{ "lifecycle", "options = { refuse = true; };", "", "",
	    "in=0 out=0 time=", "s refused" },
	{ "lifecycle", "", "fail\n", "setup\nhandle_error -1\nfinish\n",
	    "in=5 out=29 time=", "s failed (-1)" },
};

/*
 * At log_level info, each request gets one access line, at info:
 * "server NAME: CLIENT in=N out=M time=Ts RESULT", where RESULT is ok,
 * refused (verify_request said no) or "failed (RC)". Refusals are logged
 * one a second, the others counted: the client's comes a second after
 * the readiness probe's.
 */
START_TEST(test_access_line)
{
	const struct access_case *c = &access_cases[_i];
	const char *conf, *client, *line, *handler;
	struct h_daemon d;
	int port, fd;

	port = h_free_port();
	handler = strcmp(c->handler, "echo") == 0 ? "echo" :
	    h_fixture(c->handler);
	conf = server_conf("log_level = \"info\";", "srv", "tcp",
	    h_path("127.0.0.1:%d", port), handler, c->options);
	h_daemon_start_env(&d, conf, NULL, NULL);
	h_daemon_wait_port(&d, port);
	if (strcmp(c->result, "s refused") == 0) {
		h_daemon_wait_log(&d, "refused", 1);
		h_sleep_ms(1100);
	}
	fd = h_connect(port);
	client = h_client_name(fd);
	h_exchange_fd(&d, fd, c->request, c->reply, "client");
	h_expect_clean_stop(&d);

	ck_assert_msg(h_log_lines(&d, h_path("server srv: %s ", client)) == 1,
	    "expected one access line \"server srv: %s ...\", found %zu%s",
	    client, h_log_lines(&d, h_path("server srv: %s ", client)),
	    h_daemon_log_tail(&d));
	line = h_log_line(&d, h_path("server srv: %s ", client), NULL);
	ck_assert_msg(strstr(line, h_path(" info: server srv: %s %s", client,
	    c->counts)) != NULL && ends_with(line, c->result), "expected the "
	    "access line \"info: server srv: %s %s...%s\", got %s%s", client,
	    c->counts, c->result, h_quote(line, strlen(line)),
	    h_daemon_log_tail(&d));
}
END_TEST

/* At notice, requests are served and logged with no access line. */
START_TEST(test_notice_level_no_access_line)
{
	struct h_daemon d;
	int port;

	port = h_free_port();
	h_daemon_start_env(&d, echo_conf("log_level = \"notice\";", port),
	    NULL, NULL);
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "hello\n", "hello\n", NULL);
	h_exchange(&d, port, "again\n", "again\n", NULL);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_contains(&d, "ready"), "no \"ready\" line: is "
	    "this the log?%s", h_daemon_log_tail(&d));
	ck_assert_msg(!h_log_contains(&d, " in=") &&
	    !h_log_contains(&d, "time="), "an access line at log_level "
	    "notice%s", h_daemon_log_tail(&d));
}
END_TEST

static const char *const systemd_markers[] = {
	"JOURNAL_STREAM=1:1", "INVOCATION_ID=0123456789abcdef",
};

/*
 * Under systemd (JOURNAL_STREAM or INVOCATION_ID set) sockservd stays
 * in the foreground without -F, and every log line starts with a "<N>"
 * priority for journald and carries no timestamp: <5> notice, <6> info,
 * <4> warning. The access line would go to journald with its fields
 * (check_counters): the journal shim, with no file to write to, refuses
 * it, so it comes here as the other lines do, whether or not a journald
 * runs on the machine.
 */
START_TEST(test_journal_prefixes_under_systemd)
{
	const char *const env[] = { systemd_markers[_i],
	    h_path("LD_PRELOAD=%s", h_fixture("journal")),
	    h_preload_asan_options(), "SS_JOURNAL_FILE", NULL };
	const char *conf, *client;
	struct h_daemon d;
	pid_t pids[4];
	size_t n;
	int port, fd;

	port = h_free_port();
	conf = echo_conf("log_level = \"info\";", port);
	h_kill_at_end(conf);
	h_spawn(&d, (const char *const[]){ h_env("SS_SOCKSERVD"), "-f", conf,
	    NULL }, env);
	h_daemon_wait_port(&d, port);
	n = h_procs_with_arg(conf, pids, 4);
	ck_assert_msg(n == 1 && pids[0] == d.pid, "with %s and no -F, "
	    "expected sockservd to serve in the foreground as pid %ld; %zu "
	    "process(es) run with its config (first %ld)%s", env[0],
	    (long)d.pid, n, n > 0 ? (long)pids[0] : 0L, h_daemon_log_tail(&d));
	fd = h_connect(port);
	client = h_client_name(fd);
	h_exchange_fd(&d, fd, "hello\n", "hello\n", "client");
	h_expect_clean_stop(&d);

	expect_every_line(&d, "^<[0-7]>", true, h_path("with %s every log "
	    "line must start with <N>", env[0]));
	expect_every_line(&d, "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:", false,
	    h_path("with %s no log line may hold a timestamp", env[0]));
	ck_assert_msg(h_log_line(&d, "<5>sockservd ", " ready", NULL) !=
	    NULL, "no \"<5>sockservd ... ready\" line%s",
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line(&d, h_path("<6>server echo: %s in=6 out=6 "
	    "time=", client), NULL) != NULL, "no \"<6>server echo: %s in=6 "
	    "out=6 time=\" line%s", client, h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line(&d, "<4>running as root", NULL) != NULL,
	    "no \"<4>running as root\" line%s", h_daemon_log_tail(&d));
}
END_TEST

/* log_target = "stderr" keeps the timestamped format under systemd. */
START_TEST(test_stderr_target_under_systemd)
{
	const char *const env[] = { systemd_markers[_i], NULL };
	struct h_daemon d;
	int port;

	port = h_free_port();
	h_daemon_start_env(&d, echo_conf("log_level = \"info\"; "
	    "log_target = \"stderr\";", port), NULL, env);
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "hello\n", "hello\n", NULL);
	h_expect_clean_stop(&d);
	expect_every_line(&d, stamp_re, true, h_path("with log_target = "
	    "\"stderr\" and %s every line must be timestamped", env[0]));
	ck_assert_msg(h_log_line(&d, " notice: sockservd ", " ready",
	    NULL) != NULL, "no \"notice: sockservd ... ready\" line%s",
	    h_daemon_log_tail(&d));
	ck_assert_msg(h_log_line(&d, " info: server echo: 127.0.0.1:",
	    "in=6 out=6", NULL) != NULL, "no access line%s",
	    h_daemon_log_tail(&d));
}
END_TEST

/*
 * Outside systemd, with -F, every line on stderr is timestamped and
 * names the daemon's pid and the level.
 */
START_TEST(test_stderr_format)
{
	struct h_daemon d;
	pid_t pid;
	int port;

	port = h_free_port();
	h_daemon_start_env(&d, echo_conf("log_level = \"debug\";", port),
	    NULL, NULL);
	pid = d.pid;
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "hello\n", "hello\n", NULL);
	h_expect_clean_stop(&d);
	expect_every_line(&d, stamp_re, true, "on stderr every line must be "
	    "timestamped, with the pid and the level");
	ck_assert_msg(h_log_line(&d, h_path(" sockservd[%ld]: notice: "
	    "sockservd ", (long)pid), " ready", NULL) != NULL, "no line "
	    "\"sockservd[%ld]: notice: sockservd ... ready\"%s", (long)pid,
	    h_daemon_log_tail(&d));
}
END_TEST

/* log_target = "syslog" with no /dev/log: exit 1, saying so. */
START_TEST(test_syslog_target_unreachable)
{
	struct h_result r;
	const char *conf;

	ck_assert_msg(access("/dev/log", F_OK) < 0 && errno == ENOENT,
	    "/dev/log exists on this machine; this test expects a machine "
	    "without a syslog socket, where log_target = \"syslog\" fails");
	conf = echo_conf("log_target = \"syslog\";", h_free_port());
	h_run_env(&r, (const char *const[]){ "-F", "-f", conf, NULL }, NULL);
	ck_assert_msg(r.status == 1 && strstr(r.output, "syslog") != NULL &&
	    strstr(r.output, "/dev/log") != NULL, "log_target = \"syslog\" "
	    "without /dev/log: expected exit status 1 and a message naming "
	    "syslog and /dev/log, got %d:\n%s", r.status, r.output);
}
END_TEST

/* --- privileges ---------------------------------------------------------- */

static void
require_root(void)
{
	ck_assert_msg(geteuid() == 0, "this test runs as root (it drops "
	    "sockservd's privileges to nobody), not as uid %ld",
	    (long)geteuid());
}

/* Real, effective, saved and filesystem ids: all `id`. */
static bool
all_four(const long ids[4], long id)
{
	return ids[0] == id && ids[1] == id && ids[2] == id && ids[3] == id;
}

/* "Uid:", "Gid:": four ids, all `id`; "Groups:": none. */
static void
expect_ids(const struct h_daemon *d, const char *status_path, uid_t uid,
    gid_t gid)
{
	char status[8192], *line, *save;
	long ids[4];
	int seen = 0;

	h_read_file(status_path, status, sizeof(status));
	for (line = strtok_r(status, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "Uid: %ld %ld %ld %ld", &ids[0], &ids[1],
		    &ids[2], &ids[3]) == 4) {
			seen++;
			ck_assert_msg(all_four(ids, (long)uid), "%s: %s, "
			    "expected uid %ld for all four%s", status_path,
			    line, (long)uid, h_daemon_log_tail(d));
		} else if (sscanf(line, "Gid: %ld %ld %ld %ld", &ids[0],
		    &ids[1], &ids[2], &ids[3]) == 4) {
			seen++;
			ck_assert_msg(all_four(ids, (long)gid), "%s: %s, "
			    "expected gid %ld for all four%s", status_path,
			    line, (long)gid, h_daemon_log_tail(d));
		} else if (strncmp(line, "Groups:", 7) == 0) {
			seen++;
			ck_assert_msg(line[7 + strspn(line + 7, " \t")] == '\0',
			    "%s: %s, expected no supplementary groups%s",
			    status_path, line, h_daemon_log_tail(d));
		}
	}
	ck_assert_msg(seen == 3, "%s lacks Uid:, Gid: or Groups:",
	    status_path);
}

/*
 * daemon.user = "nobody" (with group "nogroup", or, _i = 1, the user's
 * own group): every thread runs with nobody's ids and none of the
 * supplementary groups it started with, the socket bound as root still
 * serves, and the log says so.
 */
START_TEST(test_user_drops_privileges)
{
	const struct passwd *pw;
	const struct group *gr;
	const char *settings, *conf, *task_dir, *status;
	struct h_daemon d;
	struct dirent *e;
	int nthreads = 0;
	DIR *dir;
	uid_t uid;
	gid_t gid;
	int port;

	require_root();
	pw = getpwnam("nobody");
	ck_assert_msg(pw != NULL, "no user nobody on this machine");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (_i == 0) {
		gr = getgrnam("nogroup");
		ck_assert_msg(gr != NULL, "no group nogroup on this machine");
		gid = gr->gr_gid;
		settings = "log_level = \"info\"; user = \"nobody\"; "
		    "group = \"nogroup\";";
	} else {
		settings = "log_level = \"info\"; user = \"nobody\";";
	}
	/* Supplementary groups for the daemon to inherit, and to drop. */
	ck_assert_msg(setgroups(2, (const gid_t[]){ 0, 1 }) == 0,
	    "setgroups: %s", strerror(errno));
	port = h_free_port();
	conf = echo_conf(settings, port);
	/* Changing its ids cleared the daemon's PR_SET_PDEATHSIG. */
	h_kill_at_end(conf);
	h_daemon_start_env(&d, conf, NULL, NULL);
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "hello\n", "hello\n", NULL);

	task_dir = h_path("/proc/%ld/task", (long)d.pid);
	dir = opendir(task_dir);
	ck_assert_msg(dir != NULL, "opendir %s: %s", task_dir,
	    strerror(errno));
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		/* A thread that ended meanwhile has nothing left to check. */
		status = h_path("%s/%s/status", task_dir, e->d_name);
		if (access(status, R_OK) == 0)
			expect_ids(&d, status, uid, gid);
		nthreads++;
	}
	closedir(dir);
	ck_assert_msg(nthreads > 0, "no threads in %s", task_dir);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_contains(&d, "running as user nobody"), "no "
	    "\"running as user nobody\" line%s", h_daemon_log_tail(&d));
}
END_TEST

/* As root with no daemon.user, a warning says so. */
START_TEST(test_root_warning)
{
	struct h_daemon d;
	int port;

	require_root();
	port = h_free_port();
	h_daemon_start_env(&d, echo_conf("log_level = \"info\";", port),
	    NULL, NULL);
	h_daemon_wait_port(&d, port);
	h_expect_clean_stop(&d);
	ck_assert_msg(h_log_line(&d, " warning: ", "running as root",
	    NULL) != NULL, "no warning \"running as root\"%s",
	    h_daemon_log_tail(&d));
}
END_TEST

/* An unknown user is a configuration error: status 2, FILE:LINE. */
START_TEST(test_unknown_user)
{
	const char *conf, *where;
	struct h_result r;

	conf = echo_conf("user = \"no-such-user-sockserv\";", h_free_port());
	where = h_path("%s:3:", conf);
	if (_i == 0)
		h_run_env(&r, (const char *const[]){ "-F", "-f", conf, NULL },
		    NULL);
	else
		h_run_env(&r, (const char *const[]){ "-t", "-f", conf, NULL },
		    NULL);
	ck_assert_msg(r.status == 2 && strstr(r.output, where) != NULL &&
	    strstr(r.output, "no-such-user-sockserv") != NULL, "%s with an "
	    "unknown user: expected exit status 2 and \"%s ... "
	    "no-such-user-sockserv\", got %d:\n%s", _i == 0 ? "-F" : "-t",
	    where, r.status, r.output);
}
END_TEST

/* --- systemd notifications ----------------------------------------------- */

/*
 * READY=1 (with STATUS=Serving 1 server) comes once the port accepts;
 * STOPPING=1 on SIGTERM; no WATCHDOG=1 without WATCHDOG_USEC.
 */
START_TEST(test_notify_ready_stopping)
{
	struct h_notify n;
	struct h_daemon d;
	const char *msg;
	int port, fd;

	h_notify_open(&n);
	port = h_free_port();
	h_daemon_start_env(&d, echo_conf("log_level = \"info\";", port), NULL,
	    (const char *const[]){ h_path("NOTIFY_SOCKET=%s", n.path), NULL });
	msg = h_notify_wait(&n, &d, "READY=1");
	ck_assert_msg(strstr(msg, "STATUS=Serving 1 server") != NULL, "READY=1 "
	    "without \"STATUS=Serving 1 server\": %s%s",
	    h_quote(msg, strlen(msg)), h_daemon_log_tail(&d));
	/* No wait: READY=1 promises the port accepts already. */
	fd = h_try_connect(port);
	ck_assert_msg(fd >= 0, "connect right after READY=1: %s%s",
	    strerror(errno), h_daemon_log_tail(&d));
	h_exchange_fd(&d, fd, "hello\n", "hello\n", "client after READY=1");
	h_daemon_signal(&d, SIGTERM);
	h_notify_wait(&n, &d, "STOPPING=1");
	h_expect_exit_ok(&d, h_daemon_wait_exit(&d), "SIGTERM");
	ck_assert_msg(strstr(n.transcript, "WATCHDOG=1") == NULL, "WATCHDOG=1 "
	    "sent without WATCHDOG_USEC: %s", n.transcript);
	ck_assert_msg(strstr(strstr(n.transcript, "READY=1") + 1, "READY=1") ==
	    NULL, "READY=1 sent more than once: %s", n.transcript);
}
END_TEST

/*
 * WATCHDOG_USEC=200000: WATCHDOG=1 again and again, with WATCHDOG_PID
 * unset or (_i = 1) naming the daemon, as systemd sets it.
 */
START_TEST(test_watchdog)
{
	const char *conf, *notify_env;
	struct h_notify n;
	struct h_daemon d;
	int port;

	h_notify_open(&n);
	port = h_free_port();
	conf = echo_conf("log_level = \"info\";", port);
	notify_env = h_path("NOTIFY_SOCKET=%s", n.path);
	if (_i == 0)
		h_daemon_start_env(&d, conf, NULL, (const char *const[]){
		    notify_env, "WATCHDOG_USEC=200000", NULL });
	else
		/* The shell's pid is the daemon's once it execs. */
		h_spawn(&d, (const char *const[]){ "/bin/sh", "-c",
		    "WATCHDOG_PID=$$; export WATCHDOG_PID; "
		    "exec \"$0\" -F -f \"$1\"", h_env("SS_SOCKSERVD"), conf,
		    NULL }, (const char *const[]){ notify_env,
		    "WATCHDOG_USEC=200000", NULL });
	h_notify_wait(&n, &d, "READY=1");
	h_notify_wait(&n, &d, "WATCHDOG=1");
	h_notify_wait(&n, &d, "WATCHDOG=1");
	h_notify_wait(&n, &d, "WATCHDOG=1");
	h_exchange(&d, port, "hello\n", "hello\n", NULL);
	h_expect_clean_stop(&d);
}
END_TEST

/* --- socket activation --------------------------------------------------- */

/*
 * `systemd-socket-activate [-d] -l LISTEN... --fdname=NAMES -E ...
 * $SS_SOCKSERVD -F -f CONF`: it waits for the first client, then execs
 * sockservd with the sockets as fd 3 onward.
 */
static void
activate(struct h_daemon *d, bool datagram, const char *listen1,
    const char *listen2, const char *fdnames, const char *notify_path,
    const char *conf)
{
	const char *argv[24];
	size_t n = 0;

	argv[n++] = h_which("systemd-socket-activate");
	if (datagram)
		argv[n++] = "-d";
	argv[n++] = "-l";
	argv[n++] = listen1;
	if (listen2 != NULL) {
		argv[n++] = "-l";
		argv[n++] = listen2;
	}
	if (fdnames != NULL)
		argv[n++] = h_path("--fdname=%s", fdnames);
	argv[n++] = "-E";
	argv[n++] = h_path("SOCKSERV_PLUGIN_DIR=%s", h_env("SS_PLUGIN_DIR"));
	if (notify_path != NULL) {
		argv[n++] = "-E";
		argv[n++] = h_path("NOTIFY_SOCKET=%s", notify_path);
	}
	argv[n++] = h_env("SS_SOCKSERVD");
	argv[n++] = "-F";
	argv[n++] = "-f";
	argv[n++] = conf;
	argv[n] = NULL;
	h_spawn(d, argv, NULL);
}

static void
expect_adopted(const struct h_daemon *d, const char *server, int fd)
{
	const char *text = h_path("server %s: using socket %d passed by "
	    "systemd", server, fd);

	ck_assert_msg(h_log_contains(d, text), "no %s in the log%s",
	    h_quote(text, strlen(text)), h_daemon_log_tail(d));
}

/*
 * A passed socket named like a server goes to it even though the
 * server's listen differs: the reply comes through the passed socket, the
 * configured address stays unbound, and READY=1 follows.
 */
START_TEST(test_activation_by_name)
{
	struct h_notify n;
	struct h_daemon d;
	int passed, configured;

	h_notify_open(&n);
	passed = h_free_port();
	configured = h_free_port();
	activate(&d, false, h_path("127.0.0.1:%d", passed), NULL, "echo",
	    n.path, echo_conf("log_level = \"info\";", configured));
	h_daemon_wait_port(&d, passed);
	h_exchange(&d, passed, "hello\n", "hello\n", NULL);
	h_notify_wait(&n, &d, "READY=1");
	expect_adopted(&d, "echo", 3);
	h_expect_refused(&d, configured, "the server's own listen, unused "
	    "under socket activation");
	h_exchange(&d, passed, "again\n", "again\n", NULL);
	h_expect_clean_stop(&d);
}
END_TEST

/* A passed socket with a name no server has goes to the same address. */
START_TEST(test_activation_by_address)
{
	struct h_daemon d;
	int port;

	port = h_free_port();
	activate(&d, false, h_path("127.0.0.1:%d", port), NULL,
	    _i == 0 ? "unknown-name" : NULL, NULL,
	    echo_conf("log_level = \"info\";", port));
	h_daemon_wait_port(&d, port);
	h_exchange(&d, port, "hello\n", "hello\n", NULL);
	expect_adopted(&d, "echo", 3);
	h_exchange(&d, port, "again\n", "again\n", NULL);
	h_expect_clean_stop(&d);
}
END_TEST

/*
 * Two sockets, named in the opposite order of the servers: each goes to
 * its server by name.
 */
START_TEST(test_activation_two_sockets)
{
	struct h_daemon d;
	int p_upper, p_echo;
	const char *conf;

	p_upper = h_free_port();
	p_echo = h_free_port();
	conf = h_write_file("two.conf", two_servers_conf,
	    h_path("127.0.0.1:%d", h_free_port()),
	    h_path("127.0.0.1:%d", h_free_port()));
	activate(&d, false, h_path("127.0.0.1:%d", p_upper),
	    h_path("127.0.0.1:%d", p_echo), "upper:echo", NULL, conf);
	h_daemon_wait_port(&d, p_upper);
	h_exchange(&d, p_upper, "hello\n", "HELLO\n", NULL);
	h_exchange(&d, p_echo, "hello\n", "hello\n", NULL);
	expect_adopted(&d, "upper", 3);
	expect_adopted(&d, "echo", 4);
	h_expect_clean_stop(&d);
}
END_TEST

/* A passed socket no server claims: exit 1, "matches no server". */
START_TEST(test_activation_no_match)
{
	struct h_daemon d;
	int passed, code;

	passed = h_free_port();
	activate(&d, false, h_path("127.0.0.1:%d", passed), NULL, "zzz", NULL,
	    echo_conf("log_level = \"info\";", h_free_port()));
	/*
	 * The first client (this wait's own) makes systemd-socket-activate
	 * start sockservd, which may be gone before any second one.
	 */
	h_daemon_wait_port(&d, passed);
	code = h_daemon_wait_exit(&d);
	ck_assert_msg(code == 1, "a passed socket matching no server: "
	    "expected exit status 1, got %d%s", code, h_daemon_log_tail(&d));
	ck_assert_msg(h_log_contains(&d, "matches no server") &&
	    h_log_contains(&d, "'zzz'"), "no message saying the socket "
	    "named 'zzz' \"matches no server\"%s", h_daemon_log_tail(&d));
}
END_TEST

/* A datagram socket (-d) goes to the udp server of its name. */
START_TEST(test_activation_udp)
{
	struct h_daemon d;
	int passed;

	passed = h_free_port();
	activate(&d, true, h_path("127.0.0.1:%d", passed), NULL, "udpecho",
	    NULL, server_conf("log_level = \"info\";", "udpecho", "udp",
	    h_path("127.0.0.1:%d", h_free_port()), "echo", ""));
	h_daemon_wait_udp(&d, AF_INET, passed);
	h_udp_exchange(&d, passed, "hello\n", "hello\n", "udp through the "
	    "passed socket");
	expect_adopted(&d, "udpecho", 3);
	h_expect_clean_stop(&d);
}
END_TEST

int
main(void)
{
	const struct h_case cases[] = {
		{ "detach", test_detach, 0 },
		{ "detach_second_start_refused",
		    test_detach_second_start_refused, 0 },
		{ "detach_stale_pid_file", test_detach_stale_pid_file, 2 },
		{ "detach_pid_file_option", test_detach_pid_file_option, 2 },
		{ "detach_port_in_use", test_detach_port_in_use, 0 },
		{ "detach_init_fail", test_detach_init_fail, 0 },
		{ "access_line", test_access_line,
		    sizeof(access_cases) / sizeof(access_cases[0]) },
		{ "notice_level_no_access_line",
		    test_notice_level_no_access_line, 0 },
		{ "journal_prefixes_under_systemd",
		    test_journal_prefixes_under_systemd, 2 },
		{ "stderr_target_under_systemd",
		    test_stderr_target_under_systemd, 2 },
		{ "stderr_format", test_stderr_format, 0 },
		{ "syslog_target_unreachable", test_syslog_target_unreachable,
		    0 },
		{ "user_drops_privileges", test_user_drops_privileges, 2 },
		{ "root_warning", test_root_warning, 0 },
		{ "unknown_user", test_unknown_user, 2 },
		{ "notify_ready_stopping", test_notify_ready_stopping, 0 },
		{ "watchdog", test_watchdog, 2 },
		{ "activation_by_name", test_activation_by_name, 0 },
		{ "activation_by_address", test_activation_by_address, 2 },
		{ "activation_two_sockets", test_activation_two_sockets, 0 },
		{ "activation_no_match", test_activation_no_match, 0 },
		{ "activation_udp", test_activation_udp, 0 },
	};
	Suite *suite = suite_create("daemon");

	h_add_cases(suite, cases, sizeof(cases) / sizeof(cases[0]));
	return h_run_suite(suite);
}
