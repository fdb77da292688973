/*
 * server_state.h - what one server is made of, as every layer that
 * serves it sees it: its configuration, socket, plugin, stop state and
 * requests in flight. The functions live with their layers: server.c
 * (its life and serve loop), server_live.c (its requests in flight and
 * their stop), the models, the transports.
 */
#ifndef SS_SERVER_STATE_H
#define SS_SERVER_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/types.h>

#include <sockserv/plugin.h>

#include "ratelimit.h"

struct conf_server;
struct conf;
struct options_report;
struct counters;
struct conntable;
struct plugin;
struct transport_ops;
struct concurrency_ops;
struct strbuf;

/* Shared with forked children (MAP_SHARED), so they can report back. */
struct server_shared {
	/* clock_now() of the last request begun, in nanoseconds. */
	_Atomic long long last_request_ns;
	/* Refusals and drops counted for the once-a-second log lines. */
	struct ratelimit ratelimit;
};

/*
 * What a server gets from whoever runs it, shared by all its servers:
 * the whole configuration (daemon-wide settings), the connection table
 * forks consult, and an eventfd each server thread writes as its last act.
 * render_metrics (NULL when nobody provides it) appends every server's
 * counters as Prometheus text, for ss_metrics: from any thread or forked
 * child, so the owner guards its list of servers itself.
 */
struct server_env {
	const struct conf *conf;
	struct conntable *conns;
	int done_fd;
	void (*render_metrics)(void *arg, struct strbuf *out);
	void *render_arg;
};

struct ss_server {
	const struct conf_server *conf;
	const char *name;
	const struct server_env *env;
	const struct transport_ops *transport;
	const struct concurrency_ops *concurrency;
	struct plugin *plugin;
	const struct ss_handler *handler;
	void *data;			/* the plugin's, per server */
	struct server_shared *shared;
	struct counters *counters;	/* shared too, and across a reload */
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

/*
 * Nudges the serve loop (a request ended, a child exited).
 * Async-signal-safe.
 */
static inline void
server_wake(struct ss_server *srv)
{
	if (srv->wake_fd >= 0)
		(void)eventfd_write(srv->wake_fd, 1);
}

#endif /* SS_SERVER_STATE_H */
