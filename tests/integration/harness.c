/*
 * harness.c - temporary directories, the daemon as a child process, and
 * TCP clients with timeouts, for the integration tests.
 *
 * Cleaning up must survive a failed assertion: check ends a failing test
 * process with _exit(), so neither the checked teardown nor atexit()
 * handlers run. Hence two nets that need no code in the dying process:
 * each daemon gets PR_SET_PDEATHSIG(SIGKILL), so it dies with the test,
 * and the temporary directories live under one directory per test case
 * that the check runner process (an unchecked fixture) removes at the end.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_PATHS	64
#define MAX_DAEMONS	16
#define MAX_ARGS	32
#define LOG_TAIL	3000

const char *const h_models[H_NMODELS] = { "sync", "threading", "forking" };

static char case_dir[PATH_MAX];		/* per test case, in the runner */
static char test_dir[PATH_MAX];		/* per test, in the test process */
static char paths[MAX_PATHS][PATH_MAX];
static int npaths;
static pid_t daemons[MAX_DAEMONS];	/* started and not yet waited for */
static const struct h_daemon *last_daemon;
static int nspawned;

/* --- time, strings, files ------------------------------------------------ */

long
h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void
h_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *
h_env(const char *name)
{
	const char *value = getenv(name);

	ck_assert_msg(value != NULL && *value != '\0',
	    "%s is not set; run the tests with `make check`", name);
	return value;
}

static const char *
vpath(const char *fmt, va_list ap)
{
	char *p;
	int n;

	ck_assert_msg(npaths < MAX_PATHS, "harness: more than %d paths in "
	    "one test", MAX_PATHS);
	p = paths[npaths++];
	n = vsnprintf(p, PATH_MAX, fmt, ap);
	ck_assert_msg(n >= 0 && n < PATH_MAX, "harness: path too long: %s", p);
	return p;
}

const char *
h_path(const char *fmt, ...)
{
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	p = vpath(fmt, ap);
	va_end(ap);
	return p;
}

const char *
h_tmpdir(void)
{
	ck_assert_msg(test_dir[0] != '\0', "harness: no temporary directory; "
	    "add h_add_fixtures() to the test case");
	return test_dir;
}

const char *
h_fixture(const char *name)
{
	return h_path("%s/%s.so", h_env("SS_FIXTURE_DIR"), name);
}

const char *
h_write_file(const char *name, const char *fmt, ...)
{
	const char *path = h_path("%s/%s", h_tmpdir(), name);
	va_list ap;
	FILE *f;
	int ok;

	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot create %s: %s", path,
	    strerror(errno));
	va_start(ap, fmt);
	ok = vfprintf(f, fmt, ap) >= 0;
	va_end(ap);
	ok = (fclose(f) == 0) && ok;
	ck_assert_msg(ok, "cannot write %s: %s", path, strerror(errno));
	return path;
}

/* Reads the last cap - 1 bytes of a file (all of a short one). */
static size_t
read_tail(const char *path, char *buf, size_t cap)
{
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= cap)
		lseek(fd, st.st_size - (off_t)(cap - 1), SEEK_SET);
	while (len < cap - 1 && (r = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return len;
}

void
h_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t r;

	ck_assert_msg(fd >= 0, "cannot open %s: %s", path, strerror(errno));
	while (len < cap - 1 && (r = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
}

const char *
h_copy_file(const char *src, const char *name, mode_t mode)
{
	const char *path = h_path("%s/%s", h_tmpdir(), name);
	char buf[65536];
	ssize_t n = 0;
	int in, out;

	in = open(src, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(in >= 0, "cannot open %s: %s", src, strerror(errno));
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(out >= 0, "cannot create %s: %s", path, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_msg(write(out, buf, (size_t)n) == n, "cannot write "
		    "%s: %s", path, strerror(errno));
	ck_assert_msg(n == 0, "cannot read %s: %s", src, strerror(errno));
	close(in);
	ck_assert_msg(close(out) == 0, "cannot write %s: %s", path,
	    strerror(errno));
	/* chmod, not the umask-masked mode of open(), sets exactly `mode`. */
	ck_assert_msg(chmod(path, mode) == 0, "chmod %s: %s", path,
	    strerror(errno));
	return path;
}

const char *
h_quote(const char *s, size_t n)
{
	static char bufs[4][1024];
	static int next;
	char *out = bufs[next++ % 4];
	size_t o = 0, i;

	out[o++] = '"';
	for (i = 0; i < n && o < sizeof(bufs[0]) - 8; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			o += (size_t)sprintf(out + o, "\\n");
		else if (c == '"' || c == '\\')
			o += (size_t)sprintf(out + o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)sprintf(out + o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	o += (size_t)sprintf(out + o, i < n ? "\"..." : "\"");
	return out;
}

static bool
is_word_char(char c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

bool
h_contains_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = strstr(text, word); p != NULL; p = strstr(p + 1, word)) {
		if ((p == text || !is_word_char(p[-1])) && !is_word_char(p[n]))
			return true;
	}
	return false;
}

/* --- child processes ----------------------------------------------------- */

static void
register_pid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_DAEMONS; i++) {
		if (daemons[i] == 0) {
			daemons[i] = pid;
			return;
		}
	}
	kill(-pid, SIGKILL);
	ck_abort_msg("harness: more than %d daemons in one test", MAX_DAEMONS);
}

static void
unregister_pid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_DAEMONS; i++)
		if (daemons[i] == pid)
			daemons[i] = 0;
}

/*
 * Kills the daemons still running and whatever they forked (each leads
 * its own process group, which its unreaped pid keeps reserved).
 */
static void
kill_daemons(void)
{
	int i;

	for (i = 0; i < MAX_DAEMONS; i++) {
		if (daemons[i] == 0)
			continue;
		kill(-daemons[i], SIGKILL);
		waitpid(daemons[i], NULL, 0);
		daemons[i] = 0;
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

static pid_t
spawn_env(const char *const argv[], const char *out, bool scrub,
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

static pid_t
spawn(const char *const argv[], const char *out)
{
	return spawn_env(argv, out, false, NULL);
}

/* argv[0] = $SS_SOCKSERVD, then `head` and `tail`, each up to NULL. */
static void
build_argv(const char *argv[MAX_ARGS], const char *const *head,
    const char *const *tail)
{
	size_t n = 0;

	argv[n++] = h_env("SS_SOCKSERVD");
	for (; head != NULL && *head != NULL; head++) {
		ck_assert_msg(n < MAX_ARGS - 1, "harness: too many arguments");
		argv[n++] = *head;
	}
	for (; tail != NULL && *tail != NULL; tail++) {
		ck_assert_msg(n < MAX_ARGS - 1, "harness: too many arguments");
		argv[n++] = *tail;
	}
	argv[n] = NULL;
}

static int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* Returns true and sets *code_r once the daemon has exited. */
static bool
reap(struct h_daemon *d, bool block, int *code_r)
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

static void
kill_and_reap(struct h_daemon *d)
{
	int code;

	kill(-d->pid, SIGKILL);
	reap(d, true, &code);
}

/* --- processes that are not the test's children -------------------------- */

/* In the test case's directory: the arguments given to h_kill_at_end. */
#define KILL_LIST	"kill-at-end"

/* Whether /proc/PID/cmdline holds `arg` as one whole argument. */
static bool
cmdline_has(const char *pid, const char *arg)
{
	char path[64], buf[8192];
	size_t len = 0, off;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (len < sizeof(buf) - 1 &&
	    (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	for (off = 0; off < len; off += strlen(buf + off) + 1)
		if (strcmp(buf + off, arg) == 0)
			return true;
	return false;
}

/* h_procs_with_arg without assertions, for the runner's teardown. */
static size_t
procs_with_arg(const char *arg, pid_t *pids, size_t cap)
{
	struct dirent *e;
	size_t n = 0;
	DIR *dir;

	dir = opendir("/proc");
	if (dir == NULL)
		return 0;
	while ((e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]) ||
		    atoi(e->d_name) == getpid() || !cmdline_has(e->d_name, arg))
			continue;
		if (n < cap)
			pids[n] = (pid_t)atoi(e->d_name);
		n++;
	}
	closedir(dir);
	return n;
}

size_t
h_procs_with_arg(const char *arg, pid_t *pids, size_t cap)
{
	ck_assert_msg(access("/proc/self/cmdline", R_OK) == 0, "cannot read "
	    "/proc/self/cmdline: %s", strerror(errno));
	return procs_with_arg(arg, pids, cap);
}

/*
 * Kills what h_kill_at_end listed in the test case's directory `dir`,
 * again until none is left (a dying process may still fork).
 */
static void
kill_listed(const char *dir)
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
			n = procs_with_arg(line, pids, 64);
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
	char path[PATH_MAX];
	FILE *f;
	int ok;

	ck_assert_msg(case_dir[0] != '\0', "harness: no test case directory; "
	    "add h_add_fixtures() to the test case");
	ck_assert_msg(*arg != '\0' && strchr(arg, '\n') == NULL, "harness: "
	    "h_kill_at_end needs one non-empty line, not %s",
	    h_quote(arg, strlen(arg)));
	ck_assert_msg(snprintf(path, sizeof(path), "%s/%s", case_dir,
	    KILL_LIST) < (int)sizeof(path), "harness: path too long");
	f = fopen(path, "ae");
	ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
	ok = fprintf(f, "%s\n", arg) > 0;
	ok = (fclose(f) == 0) && ok;
	ck_assert_msg(ok, "cannot write %s: %s", path, strerror(errno));
}

/* --- temporary directories ----------------------------------------------- */

static bool
leave_files(void)
{
	const char *v = getenv("SS_TEST_LEAVE");

	return v != NULL && strcmp(v, "1") == 0;
}

static int
remove_entry(const char *path, const struct stat *st, int type,
    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "harness: cannot remove %s: %s\n", path,
		    strerror(errno));
	return 0;
}

static void
remove_tree(const char *dir)
{
	if (leave_files()) {
		fprintf(stderr, "harness: SS_TEST_LEAVE=1, kept %s\n", dir);
		return;
	}
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Unchecked: runs in the check runner, whose teardown survives any test. */
static void
case_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	n = snprintf(case_dir, sizeof(case_dir), "%s/sockserv-%s-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
	    program_invocation_short_name);
	ck_assert_msg(n > 0 && (size_t)n < sizeof(case_dir) &&
	    mkdtemp(case_dir) != NULL, "mkdtemp %s: %s", case_dir,
	    strerror(errno));
}

static void
case_teardown(void)
{
	kill_listed(case_dir);
	if (case_dir[0] != '\0')
		remove_tree(case_dir);
	case_dir[0] = '\0';
}

static void
test_setup(void)
{
	int n;

	n = snprintf(test_dir, sizeof(test_dir), "%s/test-XXXXXX", case_dir);
	ck_assert_msg(n > 0 && (size_t)n < sizeof(test_dir) &&
	    mkdtemp(test_dir) != NULL, "mkdtemp %s: %s", test_dir,
	    strerror(errno));
	npaths = 0;
	nspawned = 0;
	last_daemon = NULL;
}

static void
test_teardown(void)
{
	kill_daemons();
	kill_listed(case_dir);
	remove_tree(test_dir);
	test_dir[0] = '\0';
}

void
h_add_fixtures(TCase *tc)
{
	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, test_setup, test_teardown);
}

void
h_add_cases(Suite *suite, const struct h_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		TCase *tc = tcase_create(cases[i].name);

		h_add_fixtures(tc);
		if (cases[i].loops > 0)
			tcase_add_loop_test(tc, cases[i].test, 0,
			    cases[i].loops);
		else
			tcase_add_test(tc, cases[i].test);
		suite_add_tcase(suite, tc);
	}
}

int
h_run_suite(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --- the daemon ---------------------------------------------------------- */

const char *
h_daemon_log_tail(const struct h_daemon *d)
{
	static char text[LOG_TAIL + PATH_MAX + 64];
	char tail[LOG_TAIL];

	if (d == NULL)
		return "";
	read_tail(d->log, tail, sizeof(tail));
	snprintf(text, sizeof(text), "\n--- %s (last %d bytes) ---\n%s",
	    d->log, LOG_TAIL, tail);
	return text;
}

bool
h_log_contains(const struct h_daemon *d, const char *needle)
{
	static char text[1 << 20];

	read_tail(d->log, text, sizeof(text));
	return strstr(text, needle) != NULL;
}

/*
 * How many lines of the daemon's whole log hold the substrings sub1 and
 * sub2 and the words word1 and word2 (as h_contains_word finds them);
 * each NULL asks for nothing.
 */
static size_t
log_lines(const struct h_daemon *d, const char *sub1, const char *sub2,
    const char *word1, const char *word2)
{
	struct stat st;
	char *text, *line, *save;
	size_t len = 0, n = 0;
	ssize_t r;
	int fd;

	fd = open(d->log, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0 && fstat(fd, &st) == 0, "cannot open %s: %s",
	    d->log, strerror(errno));
	text = malloc((size_t)st.st_size + 1);
	ck_assert_msg(text != NULL, "harness: out of memory");
	while (len < (size_t)st.st_size &&
	    (r = read(fd, text + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)r;
	close(fd);
	text[len] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if ((sub1 == NULL || strstr(line, sub1) != NULL) &&
		    (sub2 == NULL || strstr(line, sub2) != NULL) &&
		    (word1 == NULL || h_contains_word(line, word1)) &&
		    (word2 == NULL || h_contains_word(line, word2)))
			n++;
	free(text);
	return n;
}

size_t
h_log_count(const struct h_daemon *d, const char *word)
{
	return log_lines(d, NULL, NULL, word, NULL);
}

bool
h_log_line_has(const struct h_daemon *d, const char *a, const char *b)
{
	return log_lines(d, a, b, NULL, NULL) > 0;
}

bool
h_log_line_has_words(const struct h_daemon *d, const char *text,
    const char *a, const char *b)
{
	return log_lines(d, text, NULL, a, b) > 0;
}

void
h_daemon_start(struct h_daemon *d, const char *conf, const char *const *extra)
{
	const char *const head[] = { "-F", "-f", conf, NULL };
	const char *argv[MAX_ARGS];

	build_argv(argv, head, extra);
	d->log = h_path("%s/sockservd-%d.log", h_tmpdir(), ++nspawned);
	d->pid = spawn(argv, d->log);
	last_daemon = d;
}

void
h_daemon_wait_port(struct h_daemon *d, int port)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int code = 0, fd;

	ck_assert_msg(d->pid > 0, "wait_port: the daemon is not running");
	while ((fd = h_try_connect(port)) < 0) {
		ck_assert_msg(!reap(d, false, &code), "sockservd exited with "
		    "status %d before accepting on 127.0.0.1:%d%s", code,
		    port, h_daemon_log_tail(d));
		if (h_now_ms() > deadline) {
			kill_and_reap(d);
			ck_abort_msg("sockservd did not accept on 127.0.0.1:%d "
			    "within %d ms%s", port, H_TIMEOUT_MS,
			    h_daemon_log_tail(d));
		}
		h_sleep_ms(20);
	}
	close(fd);
}

void
h_daemon_signal(struct h_daemon *d, int sig)
{
	ck_assert_msg(d->pid > 0, "signal: the daemon is not running");
	ck_assert_msg(kill(d->pid, sig) == 0, "kill %ld: %s", (long)d->pid,
	    strerror(errno));
}

int
h_daemon_wait_exit(struct h_daemon *d)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int code;

	ck_assert_msg(d->pid > 0, "wait_exit: the daemon is not running");
	while (!reap(d, false, &code)) {
		if (h_now_ms() > deadline) {
			kill_and_reap(d);
			ck_abort_msg("sockservd did not exit within %d ms; "
			    "killed%s", H_TIMEOUT_MS, h_daemon_log_tail(d));
		}
		h_sleep_ms(20);
	}
	return code;
}

int
h_daemon_stop(struct h_daemon *d, int sig)
{
	h_daemon_signal(d, sig);
	return h_daemon_wait_exit(d);
}

void
h_run_argv(struct h_result *r, const char *const *args)
{
	const char *argv[MAX_ARGS];
	struct h_daemon d;

	build_argv(argv, args, NULL);
	d.log = h_path("%s/run-%d.out", h_tmpdir(), ++nspawned);
	d.pid = spawn(argv, d.log);
	r->status = h_daemon_wait_exit(&d);
	h_read_file(d.log, r->output, sizeof(r->output));
}

void
h_spawn(struct h_daemon *d, const char *const *argv, const char *const *env)
{
	size_t n;

	for (n = 0; argv[n] != NULL; n++)
		ck_assert_msg(n < MAX_ARGS - 1, "harness: too many arguments");
	ck_assert_msg(n > 0 && argv[0][0] == '/', "harness: h_spawn needs "
	    "an absolute program path (h_which finds one)");
	d->log = h_path("%s/sockservd-%d.log", h_tmpdir(), ++nspawned);
	d->pid = spawn_env(argv, d->log, true, env);
	last_daemon = d;
}

void
h_daemon_start_env(struct h_daemon *d, const char *conf,
    const char *const *extra, const char *const *env)
{
	const char *const head[] = { "-F", "-f", conf, NULL };
	const char *argv[MAX_ARGS];

	build_argv(argv, head, extra);
	h_spawn(d, argv, env);
}

void
h_run_env(struct h_result *r, const char *const *args,
    const char *const *env)
{
	const char *argv[MAX_ARGS];
	struct h_daemon d;

	build_argv(argv, args, NULL);
	d.log = h_path("%s/run-%d.out", h_tmpdir(), ++nspawned);
	d.pid = spawn_env(argv, d.log, true, env);
	r->status = h_daemon_wait_exit(&d);
	h_read_file(d.log, r->output, sizeof(r->output));
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

int
h_timeout_ms(void)
{
	const char *scale = getenv("SS_TEST_TIMEOUT_SCALE");
	int n = scale != NULL ? atoi(scale) : 1;

	return 10000 * (n > 1 ? n : 1);
}

/* --- TCP clients --------------------------------------------------------- */

static int
h_pick_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	ck_assert_msg(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0,
	    "cannot pick a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sin.sin_port);
}

/*
 * The kernel may hand out a port again as soon as it is closed, so the
 * ports given to one test are remembered and never repeated.
 */
int
h_free_port(void)
{
	static int given[64];
	static size_t ngiven;
	size_t i;
	int port;

	for (;;) {
		port = h_pick_port();
		for (i = 0; i < ngiven && given[i] != port; i++)
			;
		if (i == ngiven)
			break;
	}
	if (ngiven < sizeof(given) / sizeof(given[0]))
		given[ngiven++] = port;
	return port;
}

/* To 127.0.0.1:port, from src (an address of 127.0.0.0/8) or any. */
static int
try_connect_from(const char *src, int port)
{
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd, saved;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (src != NULL)
		ck_assert_msg(inet_pton(AF_INET, src, &from.sin_addr) == 1,
		    "not an IPv4 address: %s", src);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((src != NULL && bind(fd, (struct sockaddr *)&from,
	    sizeof(from)) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
h_try_connect(int port)
{
	return try_connect_from(NULL, port);
}

int
h_connect(int port)
{
	int fd = h_try_connect(port);

	ck_assert_msg(fd >= 0, "connect 127.0.0.1:%d: %s%s", port,
	    strerror(errno), h_daemon_log_tail(last_daemon));
	return fd;
}

int
h_connect_from(const char *src, int port)
{
	int fd = try_connect_from(src, port);

	ck_assert_msg(fd >= 0, "connect 127.0.0.1:%d from %s: %s%s", port,
	    src, strerror(errno), h_daemon_log_tail(last_daemon));
	return fd;
}

const char *
h_client_name(int fd)
{
	const struct sockaddr_in *sin;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		return h_path("[%s]:%d", host, ntohs(sin6->sin6_port));
	}
	sin = (const struct sockaddr_in *)&ss;
	inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
	return h_path("%s:%d", host, ntohs(sin->sin_port));
}

int
h_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ck_assert_msg(getsockname(fd, (struct sockaddr *)&ss, &len) == 0,
	    "getsockname: %s", strerror(errno));
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int
h_connect6(int port)
{
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int fd, saved;

	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons((unsigned short)port);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)) {
		saved = errno;
		close(fd);
		errno = saved;
		fd = -1;
	}
	ck_assert_msg(fd >= 0, "connect [::1]:%d: %s%s", port,
	    strerror(errno), h_daemon_log_tail(last_daemon));
	return fd;
}

void
h_send(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	ssize_t r;

	while (off < len) {
		r = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_msg(r > 0, "send %s: %s%s", h_quote(s, len),
		    strerror(errno), h_daemon_log_tail(last_daemon));
		off += (size_t)r;
	}
}

void
h_shutdown_write(int fd)
{
	ck_assert_msg(shutdown(fd, SHUT_WR) == 0, "shutdown: %s",
	    strerror(errno));
}

/* One recv; fails on error or timeout, saying what had arrived. */
static size_t
recv_some(int fd, char *buf, size_t n, size_t got)
{
	ssize_t r;

	do
		r = recv(fd, buf + got, n - got, 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0, "recv: %s after %zu bytes (%s)%s",
	    errno == EAGAIN ? "no data within the timeout" : strerror(errno),
	    got, h_quote(buf, got), h_daemon_log_tail(last_daemon));
	return (size_t)r;
}

size_t
h_recv_n(int fd, char *buf, size_t n)
{
	size_t got = 0, r;

	while (got < n && (r = recv_some(fd, buf, n, got)) > 0)
		got += r;
	return got;
}

size_t
h_recv_all(int fd, char *buf, size_t cap)
{
	size_t got = 0, r;

	while ((r = recv_some(fd, buf, cap - 1, got)) > 0) {
		got += r;
		ck_assert_msg(got < cap - 1, "more than %zu bytes before end "
		    "of input: %s", cap - 2, h_quote(buf, got));
	}
	buf[got] = '\0';
	return got;
}

size_t
h_recv_line(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap - 1 && recv_some(fd, buf, got + 1, got) == 1) {
		if (buf[got++] == '\n')
			break;
	}
	buf[got] = '\0';
	return got;
}

void
h_expect(int fd, const char *expected)
{
	char buf[4096];
	size_t n = strlen(expected), got;

	ck_assert_msg(n <= sizeof(buf), "harness: expected reply too long");
	got = h_recv_n(fd, buf, n);
	ck_assert_msg(got == n && memcmp(buf, expected, n) == 0,
	    "expected %s, received %s%s", h_quote(expected, n),
	    h_quote(buf, got), h_daemon_log_tail(last_daemon));
}

void
h_expect_eof(int fd)
{
	char buf[256];
	ssize_t r;

	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r == 0, "expected end of input, %s %s%s",
	    r > 0 ? "received" : strerror(errno),
	    h_quote(buf, r > 0 ? (size_t)r : 0),
	    h_daemon_log_tail(last_daemon));
}

/* --- unix stream clients ------------------------------------------------- */

const char *
h_sock_path(const char *name)
{
	struct sockaddr_un sun;
	const char *path = h_path("%s/%s", h_tmpdir(), name);

	ck_assert_msg(strlen(path) < sizeof(sun.sun_path), "%s is too long "
	    "for a unix socket (%zu bytes at most); set TMPDIR to a shorter "
	    "directory", path, sizeof(sun.sun_path) - 1);
	return path;
}

static socklen_t
unix_address(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	ck_assert_msg(strlen(path) < sizeof(sun->sun_path), "harness: unix "
	    "socket path too long: %s", path);
	strcpy(sun->sun_path, path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path) + 1);
}

static int
set_timeouts(int fd)
{
	struct timeval tv = { H_TIMEOUT_MS / 1000, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return 0;
}

int
h_try_connect_unix(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = unix_address(&sun, path);
	int fd, saved;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (set_timeouts(fd) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
h_connect_unix(const char *path)
{
	int fd = h_try_connect_unix(path);

	ck_assert_msg(fd >= 0, "connect %s: %s%s", path, strerror(errno),
	    h_daemon_log_tail(last_daemon));
	return fd;
}

/*
 * Calls ready(arg) every 20 ms until it returns true; fails when the
 * daemon exits first or H_TIMEOUT_MS pass.
 */
static void
wait_ready(struct h_daemon *d, bool (*ready)(const void *), const void *arg,
    const char *what)
{
	long deadline = h_now_ms() + H_TIMEOUT_MS;
	int code = 0;

	ck_assert_msg(d->pid > 0, "waiting for %s: the daemon is not running",
	    what);
	while (!ready(arg)) {
		ck_assert_msg(!reap(d, false, &code), "sockservd exited with "
		    "status %d before serving %s%s", code, what,
		    h_daemon_log_tail(d));
		if (h_now_ms() > deadline) {
			kill_and_reap(d);
			ck_abort_msg("sockservd did not serve %s within %d ms%s",
			    what, H_TIMEOUT_MS, h_daemon_log_tail(d));
		}
		h_sleep_ms(20);
	}
}

static bool
unix_accepts(const void *path)
{
	int fd = h_try_connect_unix(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void
h_daemon_wait_unix(struct h_daemon *d, const char *path)
{
	wait_ready(d, unix_accepts, path, path);
}

struct log_wait {
	const struct h_daemon *d;
	const char *word;
	size_t n;
};

static bool
log_reached(const void *arg)
{
	const struct log_wait *w = arg;

	return h_log_count(w->d, w->word) >= w->n;
}

void
h_daemon_wait_log(struct h_daemon *d, const char *word, size_t n)
{
	struct log_wait w = { d, word, n };
	char what[256];

	/* Not h_path: a test may wait many times. */
	snprintf(what, sizeof(what), "%zu log line(s) with %s", n,
	    h_quote(word, strlen(word)));
	wait_ready(d, log_reached, &w, what);
}

/* --- datagram clients ---------------------------------------------------- */

static int
try_udp_connect(int family, int port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr *sa;
	socklen_t len;
	int fd, saved;

	if (family == AF_INET6) {
		sin6.sin6_addr = in6addr_loopback;
		sin6.sin6_port = htons((unsigned short)port);
		sa = (struct sockaddr *)&sin6;
		len = sizeof(sin6);
	} else {
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((unsigned short)port);
		sa = (struct sockaddr *)&sin;
		len = sizeof(sin);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (set_timeouts(fd) < 0 || connect(fd, sa, len) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
h_udp_connect(int family, int port)
{
	int fd = try_udp_connect(family, port);

	ck_assert_msg(fd >= 0, "UDP socket to %s:%d: %s",
	    family == AF_INET6 ? "[::1]" : "127.0.0.1", port, strerror(errno));
	return fd;
}

int
h_unix_dgram_socket(const char *bound)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_msg(fd >= 0 && set_timeouts(fd) == 0, "unix datagram "
	    "socket: %s", strerror(errno));
	if (bound != NULL) {
		len = unix_address(&sun, bound);
		ck_assert_msg(bind(fd, (struct sockaddr *)&sun, len) == 0,
		    "bind %s: %s", bound, strerror(errno));
	}
	return fd;
}

void
h_dgram_send(int fd, const void *buf, size_t n)
{
	ssize_t r;

	do
		r = send(fd, buf, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0 && (size_t)r == n, "send datagram %s: %s%s",
	    h_quote(buf, n), r < 0 ? strerror(errno) : "short send",
	    h_daemon_log_tail(last_daemon));
}

void
h_dgram_send_to(int fd, const char *path, const void *buf, size_t n)
{
	struct sockaddr_un sun;
	socklen_t len = unix_address(&sun, path);
	ssize_t r;

	do
		r = sendto(fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&sun,
		    len);
	while (r < 0 && errno == EINTR);
	ck_assert_msg(r >= 0 && (size_t)r == n, "send datagram %s to %s: %s%s",
	    h_quote(buf, n), path, r < 0 ? strerror(errno) : "short send",
	    h_daemon_log_tail(last_daemon));
}

/* Like h_dgram_recv, but returns -2 with errno set on an error. */
static ssize_t
try_dgram_recv(int fd, char *buf, size_t cap, long ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long deadline = h_now_ms() + ms, left;
	ssize_t r;
	int n;

	for (;;) {
		left = deadline - h_now_ms();
		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -2;
		if (n == 0)
			return -1;
		r = recv(fd, buf, cap - 1, MSG_DONTWAIT);
		if (r >= 0) {
			buf[r] = '\0';
			return r;
		}
		if (errno != EINTR && errno != EAGAIN)
			return -2;
	}
}

ssize_t
h_dgram_recv(int fd, char *buf, size_t cap, long ms)
{
	ssize_t r = try_dgram_recv(fd, buf, cap, ms);

	ck_assert_msg(r >= -1, "recv datagram: %s%s", strerror(errno),
	    h_daemon_log_tail(last_daemon));
	return r;
}

struct udp_probe {
	int family, port;
};

static bool
udp_answers(const void *arg)
{
	const struct udp_probe *p = arg;
	static const char probe[] = "probe\n";
	char buf[64];
	ssize_t r;
	int fd;

	fd = try_udp_connect(p->family, p->port);
	if (fd < 0)
		return false;
	/* Refused (ICMP port unreachable) until the daemon has bound. */
	r = send(fd, probe, sizeof(probe) - 1, MSG_NOSIGNAL);
	if (r == (ssize_t)sizeof(probe) - 1)
		r = try_dgram_recv(fd, buf, sizeof(buf), 200);
	close(fd);
	return r == (ssize_t)sizeof(probe) - 1 &&
	    memcmp(buf, probe, sizeof(probe) - 1) == 0;
}

void
h_daemon_wait_udp(struct h_daemon *d, int family, int port)
{
	struct udp_probe p = { family, port };

	wait_ready(d, udp_answers, &p, h_path("udp %s:%d",
	    family == AF_INET6 ? "[::1]" : "127.0.0.1", port));
}

static bool
unix_dgram_bound(const void *path)
{
	struct sockaddr_un sun;
	socklen_t len = unix_address(&sun, path);
	int fd, r;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	r = connect(fd, (struct sockaddr *)&sun, len);
	close(fd);
	return r == 0;
}

void
h_daemon_wait_unix_dgram(struct h_daemon *d, const char *path)
{
	wait_ready(d, unix_dgram_bound, path, path);
}

/* --- processes ----------------------------------------------------------- */

/* The parent pid from /proc/PID/stat, or -1 when it is gone. */
static pid_t
parent_of(const char *pid)
{
	char path[64], buf[512];
	const char *p;
	int fd, ppid;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...", where comm may hold ')' itself. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return (pid_t)ppid;
}

size_t
h_children(pid_t pid, pid_t *pids, size_t cap)
{
	struct dirent *e;
	size_t n = 0;
	DIR *dir;

	dir = opendir("/proc");
	ck_assert_msg(dir != NULL, "opendir /proc: %s", strerror(errno));
	while ((e = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (parent_of(e->d_name) != pid)
			continue;
		if (n < cap)
			pids[n] = (pid_t)atoi(e->d_name);
		n++;
	}
	closedir(dir);
	return n;
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
