/*
 * server.h - one configured server: its socket, its plugin, its serve loop.
 *
 * Each server runs its serve loop in a thread of its own, so a busy sync
 * server never delays another server. The main thread only starts, wakes
 * and stops servers.
 */
#ifndef SS_SERVER_H
#define SS_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sockserv/plugin.h>

#include "ratelimit.h"

struct conf_server;
struct daemon;
struct plugin;
struct transport_ops;
struct concurrency_ops;
struct options_report;

/* Shared with forked children (MAP_SHARED), so they can report back. */
struct server_shared {
	/* clock_now() of the last request begun, in nanoseconds. */
	_Atomic long long last_request_ns;
	/* Requests begun, and running their hooks, in any process. */
	atomic_ullong requests;
	atomic_uint active;
	/* Refusals and drops counted for the once-a-second log lines. */
	struct ratelimit ratelimit;
};

struct ss_server {
	const struct conf_server *conf;
	const char *name;
	struct daemon *daemon;
	const struct transport_ops *transport;
	const struct concurrency_ops *concurrency;
	struct plugin *plugin;
	const struct ss_handler *handler;
	void *data;			/* the plugin's, per server */
	struct server_shared *shared;
	struct persource *persource;	/* max_per_source counts, or NULL */
	bool child;			/* this copy lives in a forked child */
	bool initialized;		/* init succeeded: fini is owed */
	struct options_report *options_report;	/* while init runs */

	int listen_fd;
	bool listener_ready;		/* tcp: connections inherit their
					   options from listen_fd */
	char *owned_path;		/* absolute path of a unix socket file
					   to remove at stop, or NULL */
	bool inherited;			/* listen_fd came from systemd */
	bool handed_over;		/* listen_fd now belongs to a successor
					   (reload): neither shut nor closed */
	int wake_fd;			/* eventfd: a request ended, a child exited */
	int stop_fd;			/* eventfd: written once at stop, never read */
	pthread_t thread;
	bool running;			/* thread started, not yet joined */
	atomic_bool finished;		/* the thread has nothing left to do */

	atomic_bool stopping;
	double stop_deadline;		/* valid once stopping is set */
	atomic_bool end_idle;		/* the daemon stops: idle requests end */
	atomic_bool hurry;		/* a second stop signal: end everything */
	double hurry_until;		/* valid once hurry is set */

	pthread_mutex_t lock;		/* guards in_flight and the model's state */
	pthread_cond_t idle;		/* signalled when in_flight drops */
	unsigned in_flight;
	struct ss_request *live;	/* stream requests served in this
					   process, for server_cut */
	bool cut;			/* server_cut has run */
	bool cut_sent;			/* main thread's: it called server_cut */
	void *model;			/* concurrency model's own state */
	unsigned abandoned;		/* requests left running at exit */
};

struct ss_server *server_new(const struct conf_server *conf,
    struct daemon *daemon);
void server_free(struct ss_server *srv);

/* Room for an error server_load or server_init hands up. */
#define SERVER_ERROR_SIZE	4096

/*
 * Loads the plugin (a private copy when `fresh`, trusting files of
 * `trusted` too: see plugin_open). On failure returns -1 with
 * "FILE:LINE: server NAME: cannot load plugin PATH: REASON" in error_r
 * (`size` bytes), at the line of the handler setting, for the caller to
 * report once.
 */
int server_load(struct ss_server *srv, const char *plugin_dir, bool fresh,
    uid_t trusted, char *error_r, size_t size);
/* Uses a plugin another server has loaded already. */
void server_share_plugin(struct ss_server *srv, struct plugin *plugin);
/*
 * Runs the plugin's init. When it reported problems with its options
 * (options.h), returns -1 with their lines in error_r, one per problem,
 * separated by '\n'; when it refused without, with "FILE:LINE: server
 * NAME: plugin PATH: init refused its options", at the line of the
 * options (of the handler when there are none).
 */
int server_init(struct ss_server *srv, char *error_r, size_t size);
void server_fini(struct ss_server *srv);

/* Binds the listening socket and creates the wake descriptors. */
int server_open(struct ss_server *srv);
/* Starts the serve loop thread. */
int server_start(struct ss_server *srv);
/*
 * Stops accepting at once and lets in-flight requests run until
 * `deadline` (clock_now() time). Callable from the main thread only.
 */
void server_stop(struct ss_server *srv, double deadline);
/* Nudges the serve loop (a child exited). Async-signal-safe. */
void server_wake(struct ss_server *srv);
void server_join(struct ss_server *srv);

/*
 * A pool worker's life: takes requests off the listening socket and serves
 * them itself until the server stops. Used by both pools.
 */
void server_work(struct ss_server *srv);

/*
 * A stream request being served in this process (not a forked child)
 * joins the server's live list while its plugin runs, so server_cut can
 * reach it; it leaves before its connection is closed.
 */
void server_live_add(struct ss_request *req);
void server_live_remove(struct ss_request *req);

/*
 * At the stop deadline: shuts down the connection of every live request,
 * which ends whatever ss_* call it is blocked in, and of any that
 * starts later. Callable from any thread.
 */
void server_cut(struct ss_server *srv);

/*
 * The daemon stops (not a reload): requests idle in a line read, with
 * nothing buffered, end at once as at end of input, here and in forked
 * children (which the server's thread tells by SERVER_END_IDLE_SIGNAL).
 * Callable from the main thread, after server_stop.
 */
void server_end_idle(struct ss_server *srv);

/*
 * A second stop signal: cuts every live request now, and the model stops
 * waiting for what is left. Callable from the main thread.
 */
void server_hurry(struct ss_server *srv);

/*
 * What a model's drain waits until instead of `deadline`: sooner once
 * hurried. Drains call it each time they wake.
 */
double server_drain_deadline(struct ss_server *srv, double deadline);

/*
 * In a forked child of srv: SERVER_END_IDLE_SIGNAL, blocked in the daemon
 * since before the fork, ends the child's idle request from now on.
 */
#define SERVER_END_IDLE_SIGNAL	(SIGRTMIN + 1)
void server_child_init(struct ss_server *srv);

/*
 * Logs the requests srv leaves running (client and time) as abandoned at
 * the stop; returns how many there are.
 */
unsigned server_report_abandoned(struct ss_server *srv);

/* SIGUSR1: one line saying how srv is doing. */
void server_log_status(struct ss_server *srv, const char *state);

/* In-flight accounting shared by every concurrency model. */
void server_request_begin(struct ss_server *srv);
void server_request_end(struct ss_server *srv);

#endif /* SS_SERVER_H */
