/*
 * harness.h - drives the built sockservd from check tests, so that a test
 * reads as its scenario: start a daemon, talk to it, expect what it does.
 *
 * Every test runs in its own process (check's CK_FORK default) with its own
 * temporary directory, holding the config files it writes and the daemon
 * logs. Daemons started here are killed when the test process ends however
 * it ends (a failed assertion, check's timeout), and the directories are
 * removed when the test case ends, unless SS_TEST_LEAVE=1 is set: then their
 * paths are printed and they are kept for whoever debugs a failure.
 *
 * Every helper that can fail fails the test with ck_assert_msg, so callers
 * never check return values for errors. A failure message quotes the tail
 * of the log of the daemon `d` a helper is given, or, where it is given
 * none, of the daemon started last; a NULL `d` quotes no log (a daemon
 * that detached has none the test holds). `who` names the client or the
 * step in a failure message; NULL lets the helper name it.
 *
 * The environment comes from `make check` (AM_TESTS_ENVIRONMENT):
 * SS_SOCKSERVD, SS_PLUGIN_DIR, SS_FIXTURE_DIR, SS_SRCDIR and SS_BUILDDIR.
 *
 * The parts: harness.c (suite, files, strings), harness_process.c (child
 * processes, /proc, systemd's notify socket), harness_daemon.c (the daemon
 * and its log), harness_client.c (stream clients) and harness_dgram.c
 * (datagram clients, and endpoints of any transport).
 */
#ifndef SS_TEST_HARNESS_H
#define SS_TEST_HARNESS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>
#include <check.h>

struct h_daemon;

/*
 * How long any single wait (start, stop, run, receive) may take: 10 s,
 * times $SS_TEST_TIMEOUT_SCALE (sanitizer builds run several times
 * slower; .ci/run sets it for them).
 */
#define H_TIMEOUT_MS h_timeout_ms()
int h_timeout_ms(void);

/* How long a client waits to be sure that nothing arrives. */
#define H_SILENCE_MS 500

/* The concurrency models, for tcase_add_loop_test(tc, t, 0, H_NMODELS). */
#define H_NMODELS 3
extern const char *const h_models[H_NMODELS];

/* Every model and both pools (workers = 2), for loops of H_NPOOLED. */
struct h_pooled {
	const char *model;
	int workers;
};
#define H_NPOOLED 5
extern const struct h_pooled h_pooled[H_NPOOLED];

/* --- suite and files (harness.c) ----------------------------------------- */

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
 * A test has 64 of them: helpers called in loops never use them.
 */
const char *h_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *h_tmpdir(void);
/* $SS_FIXTURE_DIR/NAME.so and $SS_PLUGIN_DIR/NAME.so */
const char *h_fixture(const char *name);
const char *h_plugin(const char *name);
/*
 * "ASAN_OPTIONS=..." for a daemon started with a fixture in LD_PRELOAD:
 * the test's own options, and ASan's check that its runtime comes first
 * turned off (the shim must come first to be seen at all).
 */
const char *h_preload_asan_options(void);

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

/* Creates the directory NAME in the temporary one, with exactly `mode`. */
const char *h_mkdir(const char *name, mode_t mode);

/* Nothing is at path any more (a socket or pid file the daemon removes). */
void h_expect_gone(const struct h_daemon *d, const char *path,
    const char *when);

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

/* The year now in UTC (a test reading a year must allow for the next). */
int h_utc_year(void);

/* --- processes (harness_process.c) --------------------------------------- */

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

/* What /proc/PID/stat says of a process. */
struct h_proc_stat {
	char state;			/* R, S, D, Z (a zombie), ... */
	long ppid, sid;
	unsigned long utime, stime;	/* in clock ticks, all threads */
};

/* Fills st from /proc/PID/stat; false when the process is gone. */
bool h_proc_stat(pid_t pid, struct h_proc_stat *st);

/*
 * True while pid runs. A zombie has ended: once the daemon is gone, its
 * orphans are reaped by whoever adopts them, which may take its time.
 */
bool h_running(pid_t pid);

/*
 * The child processes of pid (zombies included), at most cap, in pids;
 * returns how many there are (possibly more than cap).
 */
size_t h_children(pid_t pid, pid_t *pids, size_t cap);

/* The threads of pid, from /proc/PID/task. */
size_t h_threads(pid_t pid);

/*
 * Waits up to H_TIMEOUT_MS until the daemon has exactly n children, none
 * of them `gone` (unless 0); returns how many it has then, in pids as
 * h_children fills them.
 */
size_t h_wait_children(const struct h_daemon *d, size_t n, pid_t gone,
    pid_t *pids, size_t cap);

/* No core files from the crashes a test causes on purpose. */
void h_no_core_files(void);

/* A NOTIFY_SOCKET of the test's, and all it received, for failures. */
struct h_notify {
	int fd;
	const char *path;
	char transcript[8192];
	size_t len;
};

/* Binds the socket in the temporary directory (pass n->path on). */
void h_notify_open(struct h_notify *n);

/* --- the daemon (harness_daemon.c) --------------------------------------- */

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

/*
 * Fails unless `code` (of h_daemon_stop or h_daemon_wait_exit) is 0: the
 * daemon exited cleanly on `after` ("SIGTERM", or what led to the exit).
 */
void h_expect_exit_ok(const struct h_daemon *d, int code, const char *after);

/* SIGTERM, then h_expect_exit_ok: the daemon stops cleanly. */
void h_expect_clean_stop(struct h_daemon *d);

/* The last bytes of the daemon's log, for failure messages. */
const char *h_daemon_log_tail(const struct h_daemon *d);

bool h_log_contains(const struct h_daemon *d, const char *needle);

/*
 * How many lines of the daemon's whole log hold `word` as
 * h_contains_word finds it ("reloaded" is not in "reloading").
 */
size_t h_log_count(const struct h_daemon *d, const char *word);

/*
 * Lines of the daemon's whole log that hold every one of up to four
 * substrings (a NULL ends the list early): h_log_line_has(d, a, b)
 * whether there is one, h_log_lines(d, a, b) how many, h_log_line(d, a, b)
 * the first (valid until the next call; NULL when there is none).
 */
#define h_log_line_has(d, ...) \
	(h_log_lines_v((d), (const char *const[]){ __VA_ARGS__, NULL }) > 0)
#define h_log_lines(d, ...) \
	h_log_lines_v((d), (const char *const[]){ __VA_ARGS__, NULL })
#define h_log_line(d, ...) \
	h_log_line_v((d), (const char *const[]){ __VA_ARGS__, NULL })
size_t h_log_lines_v(const struct h_daemon *d, const char *const *subs);
const char *h_log_line_v(const struct h_daemon *d, const char *const *subs);

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

/* Waits likewise until h_log_line_has(d, ...) holds. */
#define h_daemon_wait_line(d, ...) \
	h_daemon_wait_line_v((d), (const char *const[]){ __VA_ARGS__, NULL })
void h_daemon_wait_line_v(struct h_daemon *d, const char *const *subs);

/* Waits likewise until h_log_line_has_words(d, text, a, b) holds. */
void h_daemon_wait_words(struct h_daemon *d, const char *text, const char *a,
    const char *b);

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

/* Fail unless the run exited with `status`, or its output holds needle. */
void h_expect_status(const struct h_result *r, int status, const char *what);
void h_expect_output(const struct h_result *r, const char *needle,
    const char *what);

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

/*
 * Waits up to H_TIMEOUT_MS for the next message on the notify socket
 * holding `want` (a line of it), skipping others; returns it (valid until
 * the next call).
 */
const char *h_notify_wait(struct h_notify *n, const struct h_daemon *d,
    const char *want);

/* --- stream clients (harness_client.c) ----------------------------------- */

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int h_free_port(void);

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

/* Fails, rather than skips, on a machine without the ::1 loopback. */
void h_require_ipv6(void);

/*
 * A TCP socket listening on 127.0.0.1:port, held by the test (a port in
 * use, a socket unit's socket); port 0 lets the kernel pick one, which
 * h_local_port tells.
 */
int h_listen(int port);

/*
 * The local end of a connected socket: as the daemon names its client,
 * "ip:port" or "[ip6]:port" (valid until the test ends), and its port.
 */
const char *h_client_name(int fd);
int h_local_port(int fd);

/* Sends a string, or n bytes (NUL bytes included), all of it. */
void h_send(int fd, const char *s);
void h_send_bytes(int fd, const void *buf, size_t n);
void h_shutdown_write(int fd);

/* Closes with SO_LINGER {1, 0}: the peer gets a RST, not a FIN. */
void h_close_reset(int fd);

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

/* The next line on fd (its '\n' included) must be `line`. */
void h_expect_line(const struct h_daemon *d, int fd, const char *line,
    const char *who);

/* Everything on fd up to end of input must be `rest`. */
void h_expect_rest(const struct h_daemon *d, int fd, const char *rest,
    const char *who);

/*
 * The daemon closes the connection (end of input or a reset) with nothing
 * sent; the receive timeout (H_TIMEOUT_MS) bounds the wait.
 */
void h_expect_closed(const struct h_daemon *d, int fd, const char *who);

/*
 * For `ms` nothing arrives on fd: no data, no end of input, no error; an
 * ICMP refusal of a datagram socket counts as nothing. With ms 0, only
 * what is there already counts.
 */
void h_expect_silence(const struct h_daemon *d, int fd, long ms,
    const char *who);

/* Connecting to 127.0.0.1:port is refused (ECONNREFUSED). */
void h_expect_refused(const struct h_daemon *d, int port, const char *who);

/*
 * Sends `request` and end of input, then reads the reply up to the end of
 * input into buf (NUL-terminated) and closes fd; returns its length.
 */
size_t h_transact(int fd, const char *request, char *buf, size_t cap);

/* h_transact, failing unless the reply is exactly `reply`. */
void h_exchange_fd(const struct h_daemon *d, int fd, const char *request,
    const char *reply, const char *who);

/* h_exchange_fd on a new connection to 127.0.0.1:port. */
void h_exchange(const struct h_daemon *d, int port, const char *request,
    const char *reply, const char *who);

/* h_exchange of `line` with an echo server: `line` comes back. */
void h_expect_echo(const struct h_daemon *d, int port, const char *line,
    const char *who);

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

/* --- datagram clients (harness_dgram.c) ---------------------------------- */

/*
 * A UDP socket connected to 127.0.0.1:port (family AF_INET) or
 * [::1]:port (AF_INET6), so it sends there with h_dgram_send and receives
 * only what comes from there.
 */
int h_udp_connect(int family, int port);

/*
 * Like h_udp_connect, but returns -1 with errno set instead of failing:
 * for a thread of the test's, where a check assertion must not be made.
 */
int h_try_udp_connect(int family, int port);

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

/* The one datagram that comes within H_TIMEOUT_MS must be `reply`. */
void h_dgram_expect_reply(const struct h_daemon *d, int fd,
    const char *reply, const char *who);

/*
 * One datagram `request` from a new UDP client to 127.0.0.1:port; the one
 * reply must be `reply`.
 */
void h_udp_exchange(const struct h_daemon *d, int port, const char *request,
    const char *reply, const char *who);

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

/* --- endpoints: one server's address, whatever its transport ------------- */

/*
 * Its strings live in the struct, not in h_path's 64, so that a test may
 * hold many.
 */
struct h_ep {
	char name[64];		/* the server's; NAME.sock is its socket file */
	const char *transport;	/* "tcp", "udp", "unix" or "unix-dgram" */
	bool datagram;		/* udp, unix-dgram */
	bool unix_path;		/* unix, unix-dgram */
	int port;		/* tcp, udp: on 127.0.0.1 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char listen[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/*
 * A fresh endpoint for server `name` of `transport`: a free port, or the
 * socket file NAME.sock in the temporary directory; listen says it as a
 * config's `listen` does.
 */
void h_ep_init(struct h_ep *e, const char *transport, const char *name);

/* Waits until the server serves; over UDP it must be an echo server. */
void h_ep_wait(struct h_daemon *d, const struct h_ep *e);

/*
 * Starts a daemon (shutdown_timeout 5, log_level debug) with one server on
 * e, named as e, serving `handler` (a plugin's name or path) with
 * `settings` (more server settings, or ""); then h_ep_wait.
 */
void h_ep_start(struct h_daemon *d, const struct h_ep *e, const char *handler,
    const char *settings);

/* Connects to a stream endpoint. */
int h_ep_connect(const struct h_ep *e);

/*
 * A datagram client of e: connected (udp) or bound to a socket file of
 * its own (unix-dgram); *name_r, unless name_r is NULL, is the client as
 * the daemon names it.
 */
int h_ep_dgram_client(const struct h_ep *e, const char **name_r);

/* Sends one datagram of n bytes from a client of e to e. */
void h_ep_dgram_send(const struct h_ep *e, int fd, const void *buf,
    size_t n);

/*
 * Sends `request` from a new client (a stream then ends its input) and
 * returns the reply: up to the end of input, or the one reply datagram
 * (which must come within H_TIMEOUT_MS), NUL-terminated in buf.
 */
size_t h_ep_transact(const struct h_daemon *d, const struct h_ep *e,
    const char *request, char *buf, size_t cap);

/* h_ep_transact, failing unless the reply is exactly `reply`. */
void h_ep_exchange(const struct h_daemon *d, const struct h_ep *e,
    const char *request, const char *reply);

#endif /* SS_TEST_HARNESS_H */
