/*
 * harness.h - drives the built sockservd from check tests.
 *
 * Every test runs in its own process (check's CK_FORK default) with its own
 * temporary directory, holding the config files it writes and the daemon
 * logs. Daemons started here are killed when the test process ends however
 * it ends (a failed assertion, check's timeout), and the directories are
 * removed when the test case ends, unless SS_TEST_LEAVE=1 is set: then their
 * paths are printed and they are kept for whoever debugs a failure.
 *
 * Every helper that can fail fails the test with ck_assert_msg, quoting the
 * tail of the log of the daemon started last, so callers never check
 * return values for errors.
 *
 * The environment comes from `make check` (AM_TESTS_ENVIRONMENT):
 * SS_SOCKSERVD, SS_PLUGIN_DIR, SS_FIXTURE_DIR, SS_SRCDIR and SS_BUILDDIR.
 */
#ifndef SS_TEST_HARNESS_H
#define SS_TEST_HARNESS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <check.h>

/*
 * How long any single wait (start, stop, run, receive) may take: 10 s,
 * times $SS_TEST_TIMEOUT_SCALE (sanitizer builds run several times
 * slower; .ci/run sets it for them).
 */
#define H_TIMEOUT_MS h_timeout_ms()
int h_timeout_ms(void);

/* The concurrency models, for tcase_add_loop_test(tc, t, 0, H_NMODELS). */
#define H_NMODELS 3
extern const char *const h_models[H_NMODELS];

/* --- suite and files ----------------------------------------------------- */

/* Adds the fixtures that create and remove the temporary directories. */
void h_add_fixtures(TCase *tc);

/*
 * A test case of one test, run `loops` times with _i = 0 .. loops - 1
 * (H_NMODELS: once per concurrency model), or once when loops is 0.
 */
struct h_case {
	const char *name;
	const TTest *test;
	int loops;
};

/* Adds one test case per entry, each with h_add_fixtures. */
void h_add_cases(Suite *suite, const struct h_case *cases, size_t n);

/* Runs every test of the suite; returns the process exit status. */
int h_run_suite(Suite *suite);

/* The value of a variable set by `make check`; fails when it is unset. */
const char *h_env(const char *name);

/*
 * A formatted path (or any short string) that stays valid until the test
 * ends; "%s/x" with h_tmpdir() names a file in the temporary directory.
 */
const char *h_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *h_tmpdir(void);
/* $SS_FIXTURE_DIR/NAME.so */
const char *h_fixture(const char *name);

/* Writes a formatted file into the temporary directory; returns its path. */
const char *h_write_file(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Copies src to NAME in the temporary directory with exactly `mode`;
 * returns its path. Tests use files of the source tree through such
 * copies, so that neither the checkout's modes nor the umask matter (the
 * daemon refuses a group-writable plugin, as it should).
 */
const char *h_copy_file(const char *src, const char *name, mode_t mode);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int h_free_port(void);

/* Whole file contents, NUL-terminated, truncated to cap - 1 bytes. */
void h_read_file(const char *path, char *buf, size_t cap);

/*
 * Quotes bytes C-style ("a\nb") for failure messages; the result stays
 * valid until four more calls.
 */
const char *h_quote(const char *s, size_t n);

/* True when `word` occurs in `text` not glued to letters, digits or '_'. */
bool h_contains_word(const char *text, const char *word);

long h_now_ms(void);
void h_sleep_ms(long ms);

/* --- the daemon ---------------------------------------------------------- */

struct h_daemon {
	pid_t pid;		/* 0 once it has been waited for */
	const char *log;	/* its stdout and stderr */
};

/*
 * Starts `$SS_SOCKSERVD -F -f CONF [EXTRA...]` with SOCKSERV_PLUGIN_DIR set
 * to $SS_PLUGIN_DIR; `extra` is NULL or a NULL-terminated argument list.
 */
void h_daemon_start(struct h_daemon *d, const char *conf,
    const char *const *extra);

/* Waits until the daemon accepts a TCP connection on 127.0.0.1:port. */
void h_daemon_wait_port(struct h_daemon *d, int port);

void h_daemon_signal(struct h_daemon *d, int sig);

/*
 * Waits for the daemon to exit; returns its exit status, or 128 + the
 * signal that killed it. Fails after H_TIMEOUT_MS, killing it.
 */
int h_daemon_wait_exit(struct h_daemon *d);

/* h_daemon_signal, then h_daemon_wait_exit. */
int h_daemon_stop(struct h_daemon *d, int sig);

/* The last bytes of the daemon's log, for failure messages. */
const char *h_daemon_log_tail(const struct h_daemon *d);

bool h_log_contains(const struct h_daemon *d, const char *needle);

/*
 * How many lines of the daemon's whole log hold `word` as
 * h_contains_word finds it ("reloaded" is not in "reloading").
 */
size_t h_log_count(const struct h_daemon *d, const char *word);

/* True when one line of the log holds both a and b (b may be NULL). */
bool h_log_line_has(const struct h_daemon *d, const char *a, const char *b);

/*
 * True when one line of the log holds `text` and the words a and b (b
 * may be NULL), as h_contains_word finds them.
 */
bool h_log_line_has_words(const struct h_daemon *d, const char *text,
    const char *a, const char *b);

/*
 * Waits until h_log_count(d, word) >= n; fails when the daemon exits
 * first or H_TIMEOUT_MS pass.
 */
void h_daemon_wait_log(struct h_daemon *d, const char *word, size_t n);

/* --- running the daemon to completion (-t, -V, refusals) ----------------- */

struct h_result {
	int status;		/* exit status, or 128 + signal */
	char output[16384];	/* stdout and stderr, NUL-terminated */
};

/*
 * Runs `$SS_SOCKSERVD ARGS...` to completion, with SOCKSERV_PLUGIN_DIR
 * set; `args` ends with NULL. Fails when it runs longer than H_TIMEOUT_MS.
 * h_run(&r, "-t", "-f", conf) supplies the NULL.
 */
void h_run_argv(struct h_result *r, const char *const *args);
#define h_run(r, ...) \
	h_run_argv((r), (const char *const[]){ __VA_ARGS__, NULL })

/* --- the environment systemd gives, and processes that detach ----------- */

/*
 * Like h_daemon_start and h_run_argv, and h_spawn like h_daemon_start
 * for any program (argv[0] an absolute path, argv ending with NULL), its
 * output in d->log. But the process started gets none of the systemd
 * variables of the test's environment (NOTIFY_SOCKET, WATCHDOG_USEC,
 * WATCHDOG_PID, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES, JOURNAL_STREAM,
 * INVOCATION_ID), so that a test run from a systemd service behaves as
 * any other; then `env` (NULL or a NULL-terminated list) sets each
 * "NAME=VALUE" and unsets each "NAME".
 */
void h_daemon_start_env(struct h_daemon *d, const char *conf,
    const char *const *extra, const char *const *env);
void h_run_env(struct h_result *r, const char *const *args,
    const char *const *env);
void h_spawn(struct h_daemon *d, const char *const *argv,
    const char *const *env);

/* The absolute path of program in PATH; fails when there is none. */
const char *h_which(const char *program);

/*
 * Processes whose command line holds `arg` as one whole argument (say the
 * config file of a daemon that detaches, so is no child of the test, or
 * of one that changes its user, which clears the PR_SET_PDEATHSIG that
 * would have killed it with the test) are killed when the test ends
 * however it ends: by the test's teardown, or by the test case's, which
 * runs in check's runner process.
 */
void h_kill_at_end(const char *arg);

/*
 * The running processes other than the caller whose command line holds
 * `arg` as one whole argument (zombies have none), at most cap, in pids;
 * returns how many there are (possibly more than cap).
 */
size_t h_procs_with_arg(const char *arg, pid_t *pids, size_t cap);

/* --- TCP clients --------------------------------------------------------- */

/* Connects to 127.0.0.1:port; send and recv time out after H_TIMEOUT_MS. */
int h_connect(int port);

/* Like h_connect, but returns -1 with errno set instead of failing. */
int h_try_connect(int port);

/* Like h_connect, to [::1]:port. */
int h_connect6(int port);

/*
 * Like h_connect, from the address src of 127.0.0.0/8 ("127.0.0.3"):
 * another client host, as access rules and max_per_source see it.
 */
int h_connect_from(const char *src, int port);

/*
 * The local end of a connected socket: as the daemon names its client,
 * "ip:port" or "[ip6]:port" (valid until the test ends), and its port.
 */
const char *h_client_name(int fd);
int h_local_port(int fd);

void h_send(int fd, const char *s);
void h_shutdown_write(int fd);

/* Reads until n bytes or end of input; returns the bytes read. */
size_t h_recv_n(int fd, char *buf, size_t n);

/* Reads until end of input, NUL-terminates; fails when cap is too small. */
size_t h_recv_all(int fd, char *buf, size_t cap);

/* Reads one line (with its '\n', unless input ended), NUL-terminated. */
size_t h_recv_line(int fd, char *buf, size_t cap);

/* Reads strlen(expected) bytes and fails unless they are exactly those. */
void h_expect(int fd, const char *expected);

/* Fails unless the peer has closed the connection with nothing more sent. */
void h_expect_eof(int fd);

/* --- unix stream clients ------------------------------------------------- */

/*
 * A path in the temporary directory for a unix socket; fails, rather than
 * letting bind or the daemon fail obscurely, when it does not fit
 * sun_path (set TMPDIR to a shorter directory then).
 */
const char *h_sock_path(const char *name);

/* Connects to the unix stream socket at path; timeouts as h_connect. */
int h_connect_unix(const char *path);

/* Like h_connect_unix, but returns -1 with errno set instead of failing. */
int h_try_connect_unix(const char *path);

/* Waits until the daemon accepts a connection on the unix socket path. */
void h_daemon_wait_unix(struct h_daemon *d, const char *path);

/* --- datagram clients ---------------------------------------------------- */

/*
 * A UDP socket connected to 127.0.0.1:port (family AF_INET) or
 * [::1]:port (AF_INET6), so it sends there with h_dgram_send and receives
 * only what comes from there.
 */
int h_udp_connect(int family, int port);

/*
 * A unix datagram socket bound to `bound` (or unbound when NULL), not
 * connected: send with h_dgram_send_to. Replies reach it only when bound.
 */
int h_unix_dgram_socket(const char *bound);

/* Sends one datagram of n bytes on a connected socket. */
void h_dgram_send(int fd, const void *buf, size_t n);

/* Sends one datagram of n bytes to the unix datagram socket at path. */
void h_dgram_send_to(int fd, const char *path, const void *buf, size_t n);

/*
 * Waits up to ms for one datagram; returns its length (NUL-terminated in
 * buf, truncated to cap - 1), or -1 when none came in time.
 */
ssize_t h_dgram_recv(int fd, char *buf, size_t cap, long ms);

/*
 * Waits until an echo server answers on UDP 127.0.0.1:port or [::1]:port:
 * a datagram has no connection to wait for, so a probe is sent until it
 * comes back (from a socket of its own, closed after, so a late reply to a
 * probe never reaches the test's sockets).
 */
void h_daemon_wait_udp(struct h_daemon *d, int family, int port);

/*
 * Waits until a unix datagram socket is bound at path by a live process
 * (connect(2) succeeds: the kernel queues datagrams for it from then on).
 */
void h_daemon_wait_unix_dgram(struct h_daemon *d, const char *path);

/* --- processes ----------------------------------------------------------- */

/*
 * The child processes of pid (zombies included), at most cap, in pids;
 * returns how many there are (possibly more than cap).
 */
size_t h_children(pid_t pid, pid_t *pids, size_t cap);

/* The threads of pid, from /proc/PID/task. */
size_t h_threads(pid_t pid);

/* A NOTIFY_SOCKET of the test's, and all it received, for failures. */
struct h_notify {
	int fd;
	const char *path;
	char transcript[8192];
	size_t len;
};

/* Binds the socket in the temporary directory (pass n->path on). */
void h_notify_open(struct h_notify *n);
/*
 * Waits up to H_TIMEOUT_MS for the next message holding `want` (a line
 * of it), skipping others; returns it (valid until the next call).
 */
const char *h_notify_wait(struct h_notify *n, const struct h_daemon *d,
    const char *want);

#endif /* SS_TEST_HARNESS_H */
