/*
 * sockserv/plugin.h - the whole contract between sockservd and a handler
 * plugin: every fact a plugin author needs is in this file, and
 * sockserv-plugin(3) only expands on it.
 *
 * A plugin is a shared object that exports exactly one symbol, its
 * descriptor `ss_handler` (write it with SS_HANDLER below), and links
 * against nothing of the daemon: the ss_* functions below are resolved
 * from the running sockservd when the plugin is loaded (libconfig's
 * functions too: no -lconfig needed). Build one with
 *
 *     cc -shared -fPIC $(pkg-config --cflags sockserv) -o my.so my.c
 *
 * A server's `handler` names plugin_dir/NAME.so, or a path when it holds
 * a '/'. The file and its directory must be owned by root, by the user
 * sockservd runs as or by daemon.user, and be writable by no group or
 * others. It is loaded with dlopen(RTLD_NOW | RTLD_LOCAL): every symbol
 * it uses must resolve at once, and its own stay private to it. A plugin
 * that cannot be loaded, or whose descriptor is wrong, is a
 * configuration error reported at the handler's line, "FILE:LINE: server
 * NAME: cannot load plugin PATH: REASON": the daemon does not start
 * (exit status 2) and a reload fails.
 *
 * The model is Python's socketserver: a server owns a listening socket and
 * one handler; every request (a stream connection or a datagram) runs
 * through verify_request -> setup -> handle -> finish. plugins/echo.c in
 * the sources is the annotated template to copy.
 */
#ifndef SOCKSERV_PLUGIN_H
#define SOCKSERV_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <syslog.h>
#include <libconfig.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Bumped whenever a change would break a plugin built against an older
 * header. Appending a member to struct ss_handler, or a function here,
 * does not bump it: the daemon reads `size` and treats members past it
 * as absent. A plugin that calls a function this sockservd lacks fails
 * to load, its refusal naming the undefined symbol.
 */
#define SS_PLUGIN_ABI 1

/* Opaque handles; only the functions below look inside. */
typedef struct ss_server ss_server;
typedef struct ss_request ss_request;

#if defined(__GNUC__)
#define SS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SS_EXPORT __attribute__((visibility("default")))
#else
#define SS_PRINTF(f, a)
#define SS_EXPORT
#endif

struct ss_handler {
	int abi;		/* SS_PLUGIN_ABI the plugin was built with */
	size_t size;		/* sizeof(struct ss_handler) at build time */
	const char *name;	/* short name, in log lines (NULL: the path) */
	const char *version;	/* free-form, logged at load (NULL: "?") */

	/*
	 * Server scope: init and fini run in the daemon's main thread,
	 * never while a request of the same server runs.
	 */

	/*
	 * Once per configured server, before the server serves any
	 * request and before its pool (workers) is started. `options` is
	 * the server's `options` group, or NULL when it has none; it and
	 * every string read from it stay valid until fini has returned.
	 * Read it with the ss_option* calls below. Return 0, or -1 to
	 * refuse the server, after the ss_option* call that reported why
	 * or after logging why with ss_log. Optional.
	 *
	 * At start: after the sockets are bound and the daemon has
	 * detached (threads started here belong to the daemon), and before
	 * it drops privileges to daemon.user, so as the user that started
	 * it (root, usually): open here what only root may open; ss_access
	 * tells what requests will be allowed. A refusal stops the start
	 * (exit status 2).
	 * Under `sockservd -t`: as the user running it, no socket bound;
	 * fini follows at once.
	 * On a reload (SIGHUP): after the privilege drop (as daemon.user
	 * when it is set), for every server of the new configuration (each
	 * a new ss_server, even when nothing of it changed) while the
	 * previous servers still serve. A refusal fails the reload; the
	 * running servers go on.
	 */
	int (*init)(ss_server *srv, const config_setting_t *options);

	/*
	 * Once, when init succeeded: at stop, after the server's last
	 * request has finished (or was cut at shutdown_timeout); when a
	 * reload has replaced the server, after its last request; at
	 * once when a reload or a start fails after this server's init
	 * succeeded, or when init returned 0 after an option lookup
	 * reported a problem; after init under -t. Skipped when a request
	 * was abandoned while running outside the ss_* calls (the plugin
	 * may still be in use). Stop the plugin's threads and free the
	 * server data: after fini the plugin's code may be unloaded.
	 * Optional.
	 */
	void (*fini)(ss_server *srv);

	/*
	 * Per request, first, in the thread or process that will serve it,
	 * after the daemon's own access checks. Return 0 to refuse the
	 * request: it is closed (a datagram gets no reply) without setup or
	 * handle, and its access line says "refused". Optional (serve all).
	 */
	int (*verify_request)(ss_request *req);

	/*
	 * In the server's own thread of the daemon, after `timeout` seconds
	 * without a request, and again after each further such period
	 * (never when timeout is 0). Optional.
	 */
	void (*handle_timeout)(ss_server *srv);

	/*
	 * In the server's own thread of the daemon, after each request the
	 * serve loop dispatches (a pool's workers take theirs themselves)
	 * and at least every 0.5 s while idle. Keep it short: the server
	 * does not accept while it runs. Optional. Like handle_timeout, it
	 * may run while requests of a threading server or of a pool run.
	 */
	void (*service_actions)(ss_server *srv);

	/*
	 * Per request, in the thread or process that serves it (see
	 * "Threads and processes" below). Return 0 on success. A non-zero
	 * return calls handle_error and skips handle and finish: release
	 * what a failing setup acquired before returning. Optional.
	 */
	int (*setup)(ss_request *req);

	/*
	 * Serves the request: read with ss_getline/ss_read, reply with
	 * ss_write/ss_printf, until end of input if it serves several
	 * lines (there is no keep-alive loop around it). Return 0 on
	 * success; any other value is passed to handle_error. Required.
	 */
	int (*handle)(ss_request *req);

	/*
	 * Runs whenever setup succeeded (or is absent), even when handle
	 * failed, after handle_error: release what setup acquired. Then
	 * the daemon closes the request; a plugin never closes it.
	 * Optional.
	 */
	void (*finish)(ss_request *req);

	/*
	 * After a failing setup or handle, with the value it returned,
	 * before finish: the request is still open, so an error reply can
	 * be written (on a datagram, it joins the reply). The server goes
	 * on serving. Optional; the default logs at warning the client, the
	 * value and errno as the failing hook left it ("server echo:
	 * request from 127.0.0.1:50412 failed (-1): Connection timed out"),
	 * at info when errno is ECONNRESET or EPIPE (the client went away):
	 * so return -1 right after a failing ss_* call.
	 */
	void (*handle_error)(ss_request *req, int err);
};

/*
 * The descriptor, with abi and size filled in:
 *
 *     SS_HANDLER(.name = "echo", .version = "1.0", .handle = echo_handle);
 *
 * defines `const struct ss_handler ss_handler`, visible even under
 * -fvisibility=hidden. The arguments are the members' designated
 * initialisers; members left out are NULL. Writing the descriptor out,
 * with .abi = SS_PLUGIN_ABI and .size = sizeof(struct ss_handler), is
 * the same thing.
 */
#define SS_HANDLER(...) \
	extern const struct ss_handler ss_handler SS_EXPORT; \
	const struct ss_handler ss_handler = { .abi = SS_PLUGIN_ABI, \
	    .size = sizeof(struct ss_handler), __VA_ARGS__ }

/*
 * Threads and processes. Every server runs its serve loop in a thread
 * of its own, whatever its concurrency model; init and fini run in the
 * main thread, handle_timeout and service_actions in the server's
 * thread, and the request hooks here:
 *
 *   sync        the server's thread, one request at a time;
 *   threading   a new thread per request, or with workers one of the
 *               pool's threads: concurrently, so what they share (server
 *               data, globals) is read-only or guarded;
 *   forking     a new child process per request, or with workers one
 *               of the pool's long-lived worker processes.
 *
 * A forked process is a copy of the daemon, made when the request came
 * (a pool's workers: once the server's init has run, and again for each
 * worker replaced): it sees globals and server data as they were then,
 * and what it changes in them, or in anything else in memory, never
 * reaches the daemon nor any other process. A per-request child's
 * changes end with its request; a pool worker's last for that worker's
 * next requests, and only for them. Descriptors opened in init are
 * shared by all of them. fini never runs in a forked process.
 *
 * Two servers naming the same plugin file share one loaded copy of it,
 * its global variables included, and their hooks run at the same time
 * (after a reload, servers naming a changed file have a copy each: see
 * below). Keep state in ss_server_data and ss_request_data, not in
 * globals.
 *
 * A plugin must not call exit(3) or fork(2), nor install signal
 * handlers: it returns an error instead. A crash in a sync or threading
 * server takes the daemon down; in a forking child or worker, only that
 * process, which is logged (a worker is replaced). At stop, a request
 * blocked in an ss_* call is woken at the shutdown deadline; a sync or
 * threading one blocked anywhere else cannot be, and is abandoned
 * (then fini is skipped), so prefer the ss_* calls to other blocking.
 *
 * Stack. What a request hook may use:
 *
 *   threading   thread_stack_size, each request or pool thread's stack:
 *               512 KiB unless configured, 64 KiB at the least;
 *   sync        the server's thread, created with the process's default
 *               thread stack: the stack limit (ulimit -s), usually
 *               8 MiB (2 MiB when unlimited);
 *   forking     that of the thread that forked it: as sync.
 *
 * So a plugin meant for every model keeps buffers beyond a few KiB off
 * the stack: ss_getline reads a line into the request's own buffer.
 *
 * Reload, globals and loaded copies. On SIGHUP the daemon builds the new
 * servers beside the running ones: every new server's init runs (after
 * the privilege drop), then the new servers take new requests while the
 * previous ones finish theirs on the code they started on, and get
 * their fini after their last request. A plugin file unchanged since a
 * running server loaded it (same path, device, inode, size and
 * modification time) is shared with that server: same code, same
 * globals, and the new server's init runs before the old server's fini.
 * A new or changed file is loaded from a private copy in memory (a
 * memfd), one per new server naming it: its globals start fresh (their
 * initialisers and constructors run again), while the old copy stays
 * loaded for the old requests and is unloaded (dlclose) after the last
 * fini that used it. Libraries the plugin links against are not loaded
 * again. Install a new version by replacing the file (install(1),
 * mv(1)), never by writing into it (cp(1)): that changes running code.
 */

/*
 * Request I/O. Every call below blocks the calling thread only; each is
 * bounded as a whole by the server's request_timeout, and by what is left
 * of its max_request_time (errno ETIMEDOUT). Buffers belong to the caller
 * and are not kept after the call returns. Input is buffered by the
 * daemon, so ss_read and the line reads may be mixed on one request.
 *
 * When the daemon stops, a line read (ss_readline, ss_getline) waiting
 * with no part of a line received returns end of input at once; other
 * calls have until shutdown_timeout, then fail. Treat end of input as
 * the end of the request, as for a client that closed.
 *
 * On a datagram server (udp, unix-dgram) the request's input is its one
 * datagram, whose end is the end of input, and the calls never wait.
 * What ss_write collects is sent back to the sender as one datagram
 * after finish (nothing written, nothing sent); a failure to send it is
 * logged, not reported to the plugin, and an unbound unix-dgram sender
 * cannot be answered. A datagram larger than max_packet_size never
 * reaches the plugin.
 */

/*
 * Up to n bytes, as soon as some are there; 0 at end of input (or when n
 * is 0); -1 on error or timeout (errno set).
 */
ssize_t ss_read(ss_request *req, void *buf, size_t n);

/*
 * One line including its '\n' (the last line of the input may lack it),
 * NUL-terminated in buf; returns the bytes stored, not counting the NUL.
 * 0 at end of input; -1 on error, timeout, or a line longer than
 * min(cap - 1, max_line) (errno EMSGSIZE; the rest of the line is not
 * consumed, so give up on the request); EINVAL when cap < 2. A line may
 * hold NUL bytes: use the length returned, not strlen.
 */
ssize_t ss_readline(ss_request *req, char *buf, size_t cap);

/*
 * One line as ss_readline reads it, without a buffer of the caller's:
 * *line points to it, NUL-terminated, in the request's own buffer, which
 * grows to the longest line read (at most max_line + 1 bytes) and stays
 * valid until the request's next read or its end. Returns its length; 0
 * at end of input (*line is then ""); -1 on error, timeout, or a line
 * longer than max_line (EMSGSIZE). The way to read lines in a handler:
 * no line buffer on the handler's stack.
 */
ssize_t ss_getline(ss_request *req, const char **line);

/*
 * Writes all n bytes and returns n, or fails with -1. On a stream, one
 * call becomes one send (and tcp_nodelay is on by default), so a reply
 * line written at once reaches the client in one segment. A client gone
 * gives EPIPE or ECONNRESET, never SIGPIPE. On a datagram server it
 * appends to the reply, failing with EMSGSIZE (and appending nothing)
 * past max_packet_size.
 */
ssize_t ss_write(ss_request *req, const void *buf, size_t n);

/* Formatted ss_write. Returns 0 on success, -1 on failure. */
int ss_printf(ss_request *req, const char *fmt, ...) SS_PRINTF(2, 3);

/*
 * The client's address; *len receives its length when len is not NULL.
 * With proxy_protocol, the client the PROXY header names (when it names
 * one), as for ss_client_name. On a unix transport a struct sockaddr_un,
 * with no path (*len at most offsetof(sun_path)) for an unbound client.
 * Owned by the request, valid until it is closed after finish.
 */
const struct sockaddr *ss_client_address(ss_request *req, socklen_t *len);

/*
 * "ip:port", "[ip6]:port" or the peer's unix path; for an unbound unix
 * peer "(unnamed pid=PID uid=UID)" (stream) or "(unnamed)" (datagram).
 * Owned by the request, valid until it is closed after finish.
 */
const char *ss_client_name(ss_request *req);

/*
 * The server a request belongs to, and its configured name. Strings the
 * ss_server_* calls return stay valid until fini has returned.
 */
ss_server *ss_server_of(ss_request *req);
const char *ss_server_name(ss_server *srv);

/*
 * The server's transport: "tcp", "udp", "unix" or "unix-dgram". A plugin
 * that serves both kinds tells a stream (read to end of input) from a
 * datagram (one request, one reply) by it.
 */
const char *ss_server_transport(ss_server *srv);

/*
 * Plugin state. Server data is set in init and shared by every request
 * of the server (in threading mode, concurrently: guard what changes;
 * in forking mode, each process has its own copy). Request data belongs
 * to one request; set it in setup, free it in finish. The daemon frees
 * neither.
 */
void *ss_server_data(ss_server *srv);
void ss_set_server_data(ss_server *srv, void *data);
void *ss_request_data(ss_request *req);
void ss_set_request_data(ss_request *req, void *data);

/*
 * Options, for init. Each lookup takes the `options` group init was given
 * (or a group inside it) and a key. An absent key (or a NULL group)
 * leaves *value as it was, the default, and returns 0; a present one of
 * the right type and range is stored and returns 0; anything else is
 * reported, as the daemon reports its own configuration errors, and
 * returns -1:
 *
 *     FILE:LINE: server NAME: option KEY: what is wrong (what was expected)
 *
 * at the key's line (in its own file, for an @include'd one), and only
 * once init has returned: on stderr, at start and under -t (exit status
 * 2), as errors of the log on a reload (which then fails); no other line
 * says init refused. A server whose init reported a problem is refused
 * even if init returns 0 (fini then runs at once). Outside init, a
 * report goes to the log as an error at once.
 *
 *   string    const char *: a string, valid until fini has returned
 *   int       long long: an integer (not 1.5), in [min, max] unless
 *             both are 0 (a lower bound only: max LLONG_MAX)
 *   bool      bool: true or false (not 0 or 1)
 *   seconds   double: a number, integer or not, 0 or more
 *   size      size_t: an integer number of bytes, 0 or more, in
 *             [min, max] unless both are 0 (max SIZE_MAX: no upper bound)
 *
 * Integers may be written with libconfig's L suffix (64 bits).
 */
int ss_option_string(ss_server *srv, const config_setting_t *options,
    const char *key, const char **value);
int ss_option_int(ss_server *srv, const config_setting_t *options,
    const char *key, long long *value, long long min, long long max);
int ss_option_bool(ss_server *srv, const config_setting_t *options,
    const char *key, bool *value);
int ss_option_seconds(ss_server *srv, const config_setting_t *options,
    const char *key, double *value);
int ss_option_size(ss_server *srv, const config_setting_t *options,
    const char *key, size_t *value, size_t min, size_t max);

/*
 * Refuses every key of `options` not in `keys` (a NULL-terminated list),
 * each reported at its line as "option KEY: unknown (expected ...)".
 * Returns 0 when all are known (or options is NULL), else -1.
 */
int ss_options_known(ss_server *srv, const config_setting_t *options,
    const char *const *keys);

/* The types of struct ss_option, and what its `value` points to. */
enum ss_option_type {
	SS_OPTION_STRING,	/* const char * */
	SS_OPTION_INT,		/* long long */
	SS_OPTION_BOOL,		/* bool */
	SS_OPTION_SECONDS,	/* double */
	SS_OPTION_SIZE,		/* size_t */
};

/* One known key of a table for ss_options. */
struct ss_option {
	const char *key;	/* NULL ends the table */
	enum ss_option_type type;
	void *value;		/* the default in, the value out */
	long long min, max;	/* int, size: the range; both 0: any */
};

/*
 * The lookups as one table: each key of `options` is looked up in
 * `table` and read as its entry says, and a key the table lacks is
 * refused, as ss_options_known does. Every problem is reported, in the
 * order of the file. Returns 0 when there was none (or options is
 * NULL), else -1. A table NULL knows no key: a plugin without options
 * refuses them all with ss_options(srv, options, NULL).
 *
 *     const struct ss_option table[] = {
 *         { "format",  SS_OPTION_STRING,  &format,   0, 0 },
 *         { "retries", SS_OPTION_INT,     &retries,  0, 10 },
 *         { NULL,      0,                 NULL,      0, 0 },
 *     };
 *
 *     if (ss_options(srv, options, table) < 0)
 *         return -1;
 */
int ss_options(ss_server *srv, const config_setting_t *options,
    const struct ss_option *table);

/*
 * Reports a problem of the plugin's own finding as the lookups report
 * theirs, at the line of `key` in `options` (of the group when the key
 * is absent, of the server's handler setting when options is NULL):
 * "FILE:LINE: server NAME: option KEY: MESSAGE", or, with key NULL,
 * "FILE:LINE: server NAME: plugin PLUGIN: MESSAGE". Say what was
 * expected in parentheses, as "(expected an octal mode such as
 * \"0640\")". init then returns -1.
 */
void ss_option_error(ss_server *srv, const config_setting_t *options,
    const char *key, const char *fmt, ...) SS_PRINTF(4, 5);

/*
 * Logs through the daemon, tagged with the server's and the plugin's
 * names: "server NAME: plugin PLUGIN: message". `level` is a syslog
 * priority, LOG_ERR ... LOG_DEBUG; lines below the daemon's log level
 * are dropped, and a message past about 2000 bytes is cut. Safe from any
 * thread and any forked process.
 */
void ss_log(ss_server *srv, int level, const char *fmt, ...) SS_PRINTF(3, 4);

/*
 * access(2) for `path`, as the user the daemon serves requests as: `mode`
 * is F_OK, or R_OK, W_OK and X_OK or'ed. For init, which at start runs
 * as root before the privilege drop, where access(2) itself says yes to
 * nearly everything: with daemon.user set, the answer is that user's,
 * with its group (daemon.group, or its primary one) and no supplementary
 * groups, as requests will run; the daemon asks from a short-lived child
 * process of its own, ACLs and all. Without daemon.user, or once the
 * daemon runs as that user (init on reload), it is faccessat(2) with
 * AT_EACCESS. A relative path is taken from the daemon's working
 * directory, "/" once it has detached. Returns 0, or -1 with errno set
 * (EACCES, ENOENT, ..., or EPERM when the child could not take the
 * user's ids, which the daemon logs). Safe from any thread.
 */
int ss_access(ss_server *srv, const char *path, int mode);

/*
 * daemon.user, the user the daemon serves requests as once it has dropped
 * privileges, or NULL when none is set (the daemon keeps the user it was
 * started as). For messages, as in "user NAME cannot write to DIR".
 */
const char *ss_server_user(ss_server *srv);

/*
 * The daemon's counters (requests by how they ended, refusals by reason,
 * bytes, a latency histogram, ...) for every server it serves now, in
 * Prometheus's text exposition format 0.0.4, NUL-terminated; *len, unless
 * len is NULL, receives its length. Each series carries the labels
 * server, transport and model. The counters live in memory the daemon
 * shares with its threads and forked processes, so the values are live
 * in every model; in a forked process the servers listed are those of
 * the fork (a reload since is not seen). The text is owned by the
 * request and valid until its next ss_metrics or its end. NULL, with
 * errno ENOMEM, when out of memory. Safe from any request hook; the
 * shipped metrics plugin serves it over HTTP.
 */
const char *ss_metrics(ss_request *req, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* SOCKSERV_PLUGIN_H */
