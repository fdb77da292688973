/*
 * harness.c - the suite, the temporary directories, files and strings of
 * the integration tests' harness (harness.h).
 *
 * Cleaning up must survive a failed assertion: check ends a failing test
 * process with _exit(), so neither the checked teardown nor atexit()
 * handlers run. Hence two nets that need no code in the dying process:
 * each daemon gets PR_SET_PDEATHSIG(SIGKILL), so it dies with the test
 * (harness_process.c), and the temporary directories live under one
 * directory per test case that the check runner process (an unchecked
 * fixture) removes at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness_int.h"
#include "../run_suite.h"

#define MAX_PATHS	64

const char *const h_models[H_NMODELS] = { "sync", "threading", "forking" };
const struct h_pooled h_pooled[H_NPOOLED] = {
	{ "sync", 0 }, { "threading", 0 }, { "threading", 2 },
	{ "forking", 0 }, { "forking", 2 },
};

static char case_dir[PATH_MAX];		/* per test case, in the runner */
static char test_dir[PATH_MAX];		/* per test, in the test process */
static char paths[MAX_PATHS][PATH_MAX];
static int npaths;

/* --- time and strings ---------------------------------------------------- */

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

int
h_timeout_ms(void)
{
	const char *scale = getenv("SS_TEST_TIMEOUT_SCALE");
	int n = scale != NULL ? atoi(scale) : 1;

	return 10000 * (n > 1 ? n : 1);
}

int
h_utc_year(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return tm.tm_year + 1900;
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

/* --- files --------------------------------------------------------------- */

const char *
h_tmpdir(void)
{
	ck_assert_msg(test_dir[0] != '\0', "harness: no temporary directory; "
	    "add h_add_fixtures() to the test case");
	return test_dir;
}

const char *
h_preload_asan_options(void)
{
	const char *asan = getenv("ASAN_OPTIONS");

	return h_path("ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
}

const char *
h_fixture(const char *name)
{
	return h_path("%s/%s.so", h_env("SS_FIXTURE_DIR"), name);
}

const char *
h_plugin(const char *name)
{
	return h_path("%s/%s.so", h_env("SS_PLUGIN_DIR"), name);
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

ssize_t
hi_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (len < cap - 1 && (r = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
	return (ssize_t)len;
}

void
h_read_file(const char *path, char *buf, size_t cap)
{
	ck_assert_msg(hi_read(path, buf, cap) >= 0, "cannot open %s: %s",
	    path, strerror(errno));
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
h_mkdir(const char *name, mode_t mode)
{
	const char *dir = h_path("%s/%s", h_tmpdir(), name);

	ck_assert_msg(mkdir(dir, 0700) == 0 && chmod(dir, mode) == 0,
	    "mkdir %s: %s", dir, strerror(errno));
	return dir;
}

void
h_expect_gone(const struct h_daemon *d, const char *path, const char *when)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) < 0 && errno == ENOENT, "%s is still "
	    "there %s%s", path, when, h_daemon_log_tail(d));
}

/* --- temporary directories ----------------------------------------------- */

const char *
hi_case_dir(void)
{
	return case_dir;
}

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
	hi_kill_listed(case_dir);
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
	hi_daemon_reset();
}

static void
test_teardown(void)
{
	hi_kill_children();
	hi_kill_listed(case_dir);
	remove_tree(test_dir);
	test_dir[0] = '\0';
}

/* --- the suite ----------------------------------------------------------- */

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
	return run_suite(suite);
}
