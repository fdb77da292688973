/*
 * sockserv/plugin.h - the whole contract between sockservd and a handler
 * plugin.
 *
 * A plugin is a shared object that exports exactly one symbol, a
 * `const struct ss_handler ss_handler`, and links against nothing of the
 * daemon: the ss_* functions below are resolved from the running sockservd
 * when the plugin is loaded. Build one with
 *
 *     cc -shared -fPIC $(pkg-config --cflags sockserv) -o my.so my.c
 *
 * The model is Python's socketserver: a server owns a listening socket and
 * one handler; every request (a stream connection or a datagram) runs
 * through verify_request -> setup -> handle -> finish. See
 * sockserv-plugin(3) for a walk-through.
 */
#ifndef SOCKSERV_PLUGIN_H
#define SOCKSERV_PLUGIN_H

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
 * header. Appending a member to struct ss_handler does not bump it: the
 * daemon reads `size` and treats members past it as absent.
 */
#define SS_PLUGIN_ABI 1

/* Opaque handles; only the functions below look inside. */
typedef struct ss_server ss_server;
typedef struct ss_request ss_request;

#if defined(__GNUC__)
#define SS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SS_PRINTF(f, a)
#endif

struct ss_handler {
	int abi;		/* SS_PLUGIN_ABI the plugin was built with */
	size_t size;		/* sizeof(struct ss_handler) at build time */
	const char *name;	/* short name, used in log lines */
	const char *version;	/* free-form, logged at load */

	/*
	 * Server scope. Each runs in the daemon's main process, never
	 * concurrently with requests of the same server unless stated.
	 */

	/*
	 * Once per configured server, after the whole configuration is
	 * read and before any socket accepts, any privilege drop or any
	 * fork. `options` is the server's `options` group (NULL when
	 * absent); it stays valid until fini. Return 0, or -1 to refuse
	 * the server (log why with ss_log first): the daemon does not
	 * start. Optional.
	 */
	int (*init)(ss_server *srv, const config_setting_t *options);

	/*
	 * Once at stop, after the last request of the server has finished
	 * (or been abandoned at shutdown_timeout). Optional.
	 */
	void (*fini)(ss_server *srv);

	/*
	 * Per request, in the thread or process that will serve it, after
	 * the daemon's own access checks. Return 0 to refuse the request:
	 * it is closed without setup or handle. Optional (accept all).
	 */
	int (*verify_request)(ss_request *req);

	/*
	 * In the server's own thread, after `timeout` seconds without a
	 * request (never when timeout is 0). Optional.
	 */
	void (*handle_timeout)(ss_server *srv);

	/*
	 * In the server's own thread, after each request the serve loop
	 * dispatches and at least every 0.5 s while idle. Keep it short:
	 * the loop does not accept while it runs. Optional.
	 */
	void (*service_actions)(ss_server *srv);

	/*
	 * Per request, in the thread or process that serves it: the
	 * server's own thread (sync), a new thread (threading) or child
	 * (forking), or a pool worker thread or process (workers > 0).
	 * Return 0 on success. A non-zero return calls handle_error and
	 * skips handle and finish. Optional.
	 */
	int (*setup)(ss_request *req);

	/*
	 * Serves the request: read with ss_read/ss_readline, reply with
	 * ss_write/ss_printf. Return 0 on success; any other value is
	 * passed to handle_error. Required.
	 */
	int (*handle)(ss_request *req);

	/*
	 * Runs whenever setup succeeded, even when handle failed: release
	 * what setup acquired here. Optional.
	 */
	void (*finish)(ss_request *req);

	/*
	 * After a failing setup or handle, with the value it returned.
	 * Optional; the default logs the client and the error.
	 */
	void (*handle_error)(ss_request *req, int err);
};

/*
 * Request I/O. Every call below blocks the calling thread only; each is
 * bounded as a whole by the server's request_timeout, and by what is left
 * of its max_request_time (errno ETIMEDOUT). Buffers belong to the caller
 * and are not kept after the call returns.
 *
 * When the daemon stops, a line read (ss_readline, ss_getline) waiting
 * with no part of a line received returns end of input at once; other
 * calls have until shutdown_timeout, then fail. Treat end of input as
 * the end of the request, as for a client that closed.
 *
 * On a datagram server (udp, unix-dgram) the request's input is its one
 * datagram, whose end is the end of input, and what ss_write collects is
 * sent back to the sender as one datagram after finish (nothing written,
 * nothing sent).
 */

/* Up to n bytes; 0 at end of input; -1 on error or timeout (errno set). */
ssize_t ss_read(ss_request *req, void *buf, size_t n);

/*
 * One line including its '\n' (the last line of the input may lack it),
 * NUL-terminated in buf; returns the bytes stored, not counting the NUL.
 * 0 at end of input; -1 on error, timeout, or a line longer than
 * min(cap - 1, max_line) (errno EMSGSIZE; the rest of the line is not
 * consumed, so give up on the request).
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
 * Writes all n bytes or fails with -1. On a stream, one call becomes one
 * send, so a reply line written at once reaches the client in one
 * segment. On a datagram server it appends to the reply, failing with
 * EMSGSIZE past max_packet_size.
 */
ssize_t ss_write(ss_request *req, const void *buf, size_t n);

/* Formatted ss_write. Returns 0 on success, -1 on failure. */
int ss_printf(ss_request *req, const char *fmt, ...) SS_PRINTF(2, 3);

/* The client's address; *len receives its length when len is not NULL. */
const struct sockaddr *ss_client_address(ss_request *req, socklen_t *len);

/*
 * "ip:port", "[ip6]:port" or the peer's unix path; for an unbound unix
 * peer "(unnamed pid=PID uid=UID)" (stream) or "(unnamed)" (datagram).
 * Owned by the request.
 */
const char *ss_client_name(ss_request *req);

/* The server a request belongs to, and its configured name. */
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
 * of the server (in threading mode, concurrently: guard what changes).
 * Request data belongs to one request; set it in setup, free it in
 * finish.
 */
void *ss_server_data(ss_server *srv);
void ss_set_server_data(ss_server *srv, void *data);
void *ss_request_data(ss_request *req);
void ss_set_request_data(ss_request *req, void *data);

/*
 * Logs through the daemon, tagged with the server's name. `level` is a
 * syslog priority, LOG_ERR ... LOG_DEBUG. Safe from any thread.
 */
void ss_log(ss_server *srv, int level, const char *fmt, ...) SS_PRINTF(3, 4);

/*
 * access(2) for `path`, as the user the daemon serves requests as: `mode`
 * is F_OK, or R_OK, W_OK and X_OK or'ed. For init, which runs as root
 * before the privilege drop, where access(2) itself says yes to nearly
 * everything: with daemon.user set, the answer is that user's, with its
 * group (daemon.group, or its primary one) and no supplementary groups,
 * as requests will run; the daemon asks from a short-lived child process
 * of its own, ACLs and all. Without daemon.user, or once the daemon runs
 * as that user (init on reload), it is faccessat(2) with AT_EACCESS.
 * Returns 0, or -1 with errno set (EACCES, ENOENT, ...).
 */
int ss_access(ss_server *srv, const char *path, int mode);

/*
 * daemon.user, the user the daemon serves requests as once it has dropped
 * privileges, or NULL when none is set (the daemon keeps the user it was
 * started as). For messages, as in "user NAME cannot write to DIR".
 */
const char *ss_server_user(ss_server *srv);

#ifdef __cplusplus
}
#endif

#endif /* SOCKSERV_PLUGIN_H */
