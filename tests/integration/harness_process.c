/*
 * harness_process.c - the processes of the integration tests' harness
 * (harness.h): children that die with the test, processes found in /proc,
 * the ones to kill when the test ends, and systemd's notify socket.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness_int.h"

#define MAX_CHILDREN	16

/* In the test case's directory: the arguments given to h_kill_at_end. */
#define KILL_LIST	"kill-at-end"

static pid_t children[MAX_CHILDREN];	/* started and not yet waited for */

/* --- children that die with the test ------------------------------------- */

static void
register_pid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
	kill(-pid, SIGKILL);
	ck_abort_msg("harness: more than %d daemons in one test", MAX_CHILDREN);
}

static void
unregister_pid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

/*
 * Kills the children still running and whatever they forked (each leads
 * its own process group, which its unreaped pid keeps reserved).
 */
void
hi_kill_children(void)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == 0)
			continue;
		kill(-children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
		children[i] = 0;
	}
}

/*
 * What systemd hands the processes it runs: removed for h_spawn and its
 * kin, so that a test run from a systemd service behaves as any other.
 */
static const char *const systemd_vars[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
	"LISTEN_PID", "LISTEN_FDNAMES", "JOURNAL_STREAM", "INVOCATION_ID",
};

/*
 * In the child, for h_spawn and its kin: the systemd variables removed,
 * then "NAME=VALUE" entries of env set and "NAME" entries unset.
 */
static void
child_env(const char *const *env)
{
	char name[256];
	const char *eq;
	size_t i, n;

	for (i = 0; i < sizeof(systemd_vars) / sizeof(systemd_vars[0]); i++)
		unsetenv(systemd_vars[i]);
	for (; env != NULL && *env != NULL; env++) {
		eq = strchr(*env, '=');
		if (eq == NULL) {
			unsetenv(*env);
			continue;
		}
		n = (size_t)(eq - *env);
		if (n == 0 || n >= sizeof(name))
			_exit(127);
		memcpy(name, *env, n);
		name[n] = '\0';
		setenv(name, eq + 1, 1);
	}
}

/*
 * In the child: stdout and stderr to `out`, a clean signal state, exec.
 * With `scrub`, child_env(env) prepares the environment.
 */
static void __attribute__((noreturn))
child_exec(const char *const argv[], const char *out, const char *plugin_dir,
    pid_t parent, bool scrub, const char *const *env)
{
	static const int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	sigset_t none;
	size_t i;
	int fd;

	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0)
		_exit(127);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	setenv("SOCKSERV_PLUGIN_DIR", plugin_dir, 1);
	if (scrub)
		child_env(env);
	execv(argv[0], (char *const *)argv);
	fprintf(stderr, "harness: cannot execute %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

pid_t
hi_spawn(const char *const argv[], const char *out, bool scrub,
    const char *const *env)
{
	const char *plugin_dir = h_env("SS_PLUGIN_DIR");
	pid_t parent = getpid();
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		child_exec(argv, out, plugin_dir, parent, scrub, env);
	/* Also here, so a kill(-pid) right after fork cannot miss. */
	setpgid(pid, pid);
	register_pid(pid);
	return pid;
}

static int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

bool
hi_reap(struct h_daemon *d, bool block, int *code_r)
{
	int status;
	pid_t r;

	do
		r = waitpid(d->pid, &status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0, "waitpid %ld: %s", (long)d->pid,
	    strerror(errno));
	if (r == 0)
		return false;
	/*
	 * Whatever it forked is left alone: stopping its children is the
	 * daemon's job, which tests check. Once reaped, its group id may be
	 * reused, so it is not ours to signal any more.
	 */
	unregister_pid(d->pid);
	d->pid = 0;
	*code_r = exit_code(status);
	return true;
}

void
hi_kill_and_reap(struct h_daemon *d)
{
	int code;

	kill(-d->pid, SIGKILL);
	hi_reap(d, true, &code);
}

const char *
h_which(const char *program)
{
	const char *path = getenv("PATH"), *p, *end;
	char candidate[PATH_MAX];
	int n;

	for (p = path; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = snprintf(candidate, sizeof(candidate), "%.*s/%s",
		    (int)(end - p), p, program);
		if (end > p && n > 0 && n < (int)sizeof(candidate) &&
		    access(candidate, X_OK) == 0)
			return h_path("%s", candidate);
	}
	ck_abort_msg("%s is not in PATH (%s); this test needs it", program,
	    path != NULL ? path : "unset");
	return NULL;
}

void
h_no_core_files(void)
{
	struct rlimit rl;

	ck_assert_msg(getrlimit(RLIMIT_CORE, &rl) == 0, "getrlimit: %s",
	    strerror(errno));
	rl.rlim_cur = 0;
	ck_assert_msg(setrlimit(RLIMIT_CORE, &rl) == 0,
	    "setrlimit(RLIMIT_CORE): %s", strerror(errno));
}

/* --- processes in /proc -------------------------------------------------- */

/* /proc/PID/stat, from pid given as text; false when it is gone. */
static bool
read_stat(const char *pid, struct h_proc_stat *st)
{
	char path[64], buf[1024];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	if (hi_read(path, buf, sizeof(buf)) <= 0)
		return false;
	/* "pid (comm) state ppid pgrp session ... utime stime", comm may
	   hold ')' itself. */
	p = strrchr(buf, ')');
	return p != NULL && sscanf(p + 1, " %c %ld %*d %ld %*d %*d %*u %*u "
	    "%*u %*u %*u %lu %lu", &st->state, &st->ppid, &st->sid,
	    &st->utime, &st->stime) == 5;
}

bool
h_proc_stat(pid_t pid, struct h_proc_stat *st)
{
	char name[32];

	snprintf(name, sizeof(name), "%ld", (long)pid);
	return read_stat(name, st);
}

bool
h_running(pid_t pid)
{
	struct h_proc_stat st;

	return h_proc_stat(pid, &st) && st.state != 'Z' && st.state != 'X';
}

size_t
h_threads(pid_t pid)
{
	char path[64];
	struct dirent *e;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	dir = opendir(path);
	ck_assert_msg(dir != NULL, "opendir %s: %s", path, strerror(errno));
	while ((e = readdir(dir)) != NULL)
		if (isdigit((unsigned char)e->d_name[0]))
			n++;
	closedir(dir);
	return n;
}

size_t
h_wait_children(const struct h_daemon *d, size_t n, pid_t gone, pid_t *pids,
    size_t cap)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	size_t count, i;
	bool seen;

	for (;;) {
		count = h_children(d->pid, pids, cap);
		for (seen = false, i = 0; i < count && i < cap; i++)
			seen = seen || (gone != 0 && pids[i] == gone);
		if ((count == n && !seen) || h_now_ms() > deadline)
			return count;
		h_sleep_ms(50);
	}
}

/* Whether /proc/PID/cmdline holds `arg` as one whole argument. */
static bool
cmdline_has(const char *pid, const char *arg)
{
	char path[64], buf[8192];
	ssize_t len;
	size_t off;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if ((len = hi_read(path, buf, sizeof(buf))) < 0)
		return false;
	for (off = 0; off < (size_t)len; off += strlen(buf + off) + 1)
		if (strcmp(buf + off, arg) == 0)
			return true;
	return false;
}

/*
 * The processes other than the caller for which match(PID, arg) holds
 * (PID as /proc names it), at most cap, in pids; returns how many there
 * are (possibly more than cap), 0 when /proc cannot be read. No
 * assertions: the runner's teardown uses it too.
 */
static size_t
scan_proc(bool (*match)(const char *, const void *), const void *arg,
    pid_t *pids, size_t cap)
{
	struct dirent *e;
	size_t n = 0;
	DIR *dir;

	dir = opendir("/proc");
	if (dir == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]) ||
		    atoi(e->d_name) == getpid() || !match(e->d_name, arg))
			continue;
		if (n < cap)
			pids[n] = (pid_t)atoi(e->d_name);
		n++;
	}
	closedir(dir);
	return n;
}

static bool
child_of(const char *pid, const void *parent)
{
	struct h_proc_stat st;

	return read_stat(pid, &st) && st.ppid == (long)*(const pid_t *)parent;
}

size_t
h_children(pid_t pid, pid_t *pids, size_t cap)
{
	ck_assert_msg(access("/proc/self/stat", R_OK) == 0, "cannot read "
	    "/proc/self/stat: %s", strerror(errno));
	return scan_proc(child_of, &pid, pids, cap);
}

static bool
with_arg(const char *pid, const void *arg)
{
	return cmdline_has(pid, arg);
}

size_t
h_procs_with_arg(const char *arg, pid_t *pids, size_t cap)
{
	ck_assert_msg(access("/proc/self/cmdline", R_OK) == 0, "cannot read "
	    "/proc/self/cmdline: %s", strerror(errno));
	return scan_proc(with_arg, arg, pids, cap);
}

/* --- processes to kill at the end ---------------------------------------- */

/*
 * Kills what h_kill_at_end listed in the test case's directory `dir`,
 * again until none is left (a dying process may still fork).
 */
void
hi_kill_listed(const char *dir)
{
	char path[PATH_MAX], line[PATH_MAX];
	pid_t pids[64];
	size_t n, i;
	int tries;
	FILE *f;

	if (dir[0] == '\0' || snprintf(path, sizeof(path), "%s/%s", dir,
	    KILL_LIST) >= (int)sizeof(path))
		return;
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		for (tries = 0; tries < 250; tries++) {
			n = scan_proc(with_arg, line, pids, 64);
			if (n == 0)
				break;
			for (i = 0; i < n && i < 64; i++)
				kill(pids[i], SIGKILL);
			h_sleep_ms(20);
		}
	}
	fclose(f);
}

void
h_kill_at_end(const char *arg)
{
	const char *dir = hi_case_dir();
	char path[PATH_MAX];
	FILE *f;
	int ok;

	ck_assert_msg(dir[0] != '\0', "harness: no test case directory; "
	    "add h_add_fixtures() to the test case");
	ck_assert_msg(*arg != '\0' && strchr(arg, '\n') == NULL, "harness: "
	    "h_kill_at_end needs one non-empty line, not %s",
	    h_quote(arg, strlen(arg)));
	ck_assert_msg(snprintf(path, sizeof(path), "%s/%s", dir,
	    KILL_LIST) < (int)sizeof(path), "harness: path too long");
	f = fopen(path, "ae");
	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ok = fprintf(f, "%s\n", arg) > 0;
	ok = (fclose(f) == 0) && ok;
	ck_assert_msg(ok, "cannot write %s: %s", path, strerror(errno));
}

/* --- systemd notifications ----------------------------------------------- */

void
h_notify_open(struct h_notify *n)
{
	n->path = h_sock_path("notify");
	n->fd = h_unix_dgram_socket(n->path);
	n->transcript[0] = '\0';
	n->len = 0;
}

const char *
h_notify_wait(struct h_notify *n, const struct h_daemon *d, const char *want)
{
	static char msg[4096];
	long deadline = h_now_ms() + H_TIMEOUT_MS, left;
	ssize_t r;

	while ((left = deadline - h_now_ms()) > 0) {
		r = h_dgram_recv(n->fd, msg, sizeof(msg), left);
		if (r < 0)
			break;
		n->len += (size_t)snprintf(n->transcript + n->len,
		    sizeof(n->transcript) - n->len, "[%s]",
		    h_quote(msg, (size_t)r));
		if (n->len >= sizeof(n->transcript))
			n->len = sizeof(n->transcript) - 1;
		if (h_contains_word(msg, want))
			return msg;
	}
	ck_abort_msg("no %s on NOTIFY_SOCKET within %d ms; received: %s%s",
	    want, H_TIMEOUT_MS, n->transcript, h_daemon_log_tail(d));
	return NULL;
}
