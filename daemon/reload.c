/*
 * reload.c - SIGHUP: the new configuration is read and its servers are
 * built aside (plugins loaded and initialised, sockets kept or bound); only
 * when all of that succeeded do they replace the running ones. Anything
 * wrong and the running configuration stays, untouched.
 *
 * A server whose transport and address are unchanged takes over its
 * predecessor's listening socket, so no connection is refused during the
 * reload. Predecessors stop as on SIGTERM, but without shutting the
 * socket: their requests in flight finish on the code they started on,
 * and their plugins are finied and closed after their last request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conf.h"
#include "counters.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "plugin.h"
#include "reload.h"
#include "server.h"
#include "strbuf.h"
#include "transport.h"

/* The servers that will replace the running ones, until committed. */
struct successor {
	struct conf *conf;
	struct ss_server **servers;
	struct ss_server **predecessors;	/* same socket, or NULL */
	size_t n;
};

static void reload_error(const struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Every error of a reload is logged, and also handed to whoever asked
 * for the reload when it gave a sink (the control socket's reply).
 */
static void
reload_error(const struct daemon *d, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_error("%s", line);
	if (d->reload_errors != NULL)
		strbuf_printf(d->reload_errors, "%s\n", line);
}

/* The running server listening where conf says, or NULL. */
static struct ss_server *
reload_same_socket(const struct daemon *d, const struct conf_server *conf)
{
	const struct transport_ops *ops = transport_find(conf->transport->name);
	size_t i;

	for (i = 0; i < d->nservers; i++) {
		if (ops->can_keep(d->servers[i], conf))
			return d->servers[i];
	}
	return NULL;
}

/*
 * An unchanged plugin file is shared with the running server that loaded
 * it; a new or changed one is loaded as a private copy, so the new code
 * runs although the old one stays mapped for its requests.
 */
static int
reload_plugin(const struct daemon *d, struct ss_server *srv,
    const struct conf *conf)
{
	const char *plugin_dir = conf->plugin_dir;
	char *path = plugin_path(srv->conf->handler, plugin_dir);
	char error[SERVER_ERROR_SIZE];
	size_t i;

	if (path == NULL) {
		reload_error(d, "out of memory");
		return -1;
	}
	for (i = 0; i < d->nservers; i++) {
		struct plugin *p = d->servers[i]->plugin;

		if (strcmp(p->path, path) == 0 && !plugin_changed(p)) {
			server_share_plugin(srv, p);
			free(path);
			return 0;
		}
	}
	free(path);
	if (server_load(srv, plugin_dir, true, conf->uid, error,
	    sizeof(error)) < 0) {
		reload_error(d, "%s", error);
		return -1;
	}
	return 0;
}

/* Undoes reload_build: nothing of the running servers is touched. */
static void
reload_discard(struct successor *next)
{
	size_t i;

	for (i = 0; i < next->n; i++) {
		struct ss_server *srv = next->servers[i];

		server_fini(srv);
		/* A borrowed socket goes back to its owner untouched. */
		if (next->predecessors[i] != NULL)
			srv->listen_fd = -1;
		server_free(srv);
	}
	free(next->servers);
	free(next->predecessors);
	conf_free(next->conf);
	free(next->conf);
}

/* An error of server_init: one log line per problem it found. */
static void
reload_log_lines(const struct daemon *d, char *text)
{
	char *line, *next;

	for (line = text; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		reload_error(d, "%s", line);
	}
}

/* One new server: plugin, socket (borrowed or bound), init. */
static int
reload_build_one(struct daemon *d, struct successor *next, size_t i)
{
	const struct conf_server *cs = &next->conf->servers[i];
	struct ss_server *srv = server_new(cs, &d->env);
	struct ss_server *old;
	char error[SERVER_ERROR_SIZE];

	if (srv == NULL) {
		reload_error(d, "out of memory");
		return -1;
	}
	next->servers[next->n] = srv;
	old = reload_same_socket(d, cs);
	next->predecessors[next->n++] = old;
	if (old != NULL) {
		/* Kept: its totals run on, counted by both while old ends. */
		counters_unref(srv->counters);
		srv->counters = counters_ref(old->counters);
		srv->listen_fd = old->listen_fd;
		srv->inherited = old->inherited;
		/* What connections inherit from it still holds if unchanged. */
		srv->listener_ready = old->listener_ready &&
		    old->conf->request_timeout == cs->request_timeout &&
		    old->conf->tcp_nodelay == cs->tcp_nodelay;
	}
	if (reload_plugin(d, srv, next->conf) < 0)
		return -1;
	if (server_open(srv) < 0) {
		/* server_open has logged the system's reason. */
		reload_error(d, "server %s: cannot open its socket %s (the log "
		    "says why)", cs->name, cs->listen);
		return -1;
	}
	if (server_init(srv, error, sizeof(error)) < 0) {
		reload_log_lines(d, error);
		return -1;
	}
	return 0;
}

static int
reload_build(struct daemon *d, struct successor *next)
{
	size_t n = next->conf->nservers, i;

	next->servers = calloc(n, sizeof(*next->servers));
	next->predecessors = calloc(n, sizeof(*next->predecessors));
	if (next->servers == NULL || next->predecessors == NULL) {
		reload_error(d, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (reload_build_one(d, next, i) < 0)
			return -1;
	return 0;
}

/* From here on nothing can fail: the successor takes over. */
static void
reload_commit(struct daemon *d, struct successor *next)
{
	double deadline = clock_now() + d->conf->shutdown_timeout;
	struct ss_server **old = d->servers;
	size_t nold = d->nservers, kept = 0, i;

	for (i = 0; i < next->n; i++) {
		struct ss_server *srv = next->servers[i], *pred;

		pred = next->predecessors[i];
		if (pred == NULL)
			continue;
		pred->handed_over = true;
		srv->owned_path = pred->owned_path;
		pred->owned_path = NULL;
		kept++;
	}
	conntable_exclusive(&d->conns);
	d->servers = next->servers;
	d->nservers = next->n;
	d->conf = next->conf;
	d->env.conf = d->conf;
	conntable_release(&d->conns);
	for (i = 0; i < next->n; i++)
		(void)server_start(next->servers[i]);
	for (i = 0; i < nold; i++) {
		server_stop(old[i], deadline);
		if (daemon_retire(d, old[i]) < 0) {
			/* Cannot track it: let it finish before going on. */
			server_join(old[i]);
			server_fini(old[i]);
			server_free(old[i]);
		}
	}
	free(old);
	free(next->predecessors);
	log_notice("reloaded %s: %zu server(s), %zu kept their socket",
	    d->conf->path, d->nservers, kept);
}

void
daemon_reload(struct daemon *d)
{
	struct successor next = { 0 };
	size_t i;

	notify_reloading();
	log_notice("SIGHUP: reloading %s", d->conf->path);
	next.conf = calloc(1, sizeof(*next.conf));
	if (next.conf == NULL || daemon_keep_conf(d, next.conf) < 0) {
		reload_error(d, "reload failed: out of memory");
		free(next.conf);
		daemon_notify_ready(d);
		return;
	}
	/* Room is made now so the commit cannot fail; kept once committed. */
	d->nconfs--;
	if (conf_load(next.conf, d->conf->path, d->default_plugin_dir) < 0) {
		for (i = 0; i < next.conf->nerrors; i++)
			reload_error(d, "%s", next.conf->errors[i]);
		reload_error(d, "reload failed; still serving the previous "
		    "configuration");
		reload_discard(&next);
		daemon_notify_ready(d);
		return;
	}
	if (reload_build(d, &next) < 0) {
		reload_error(d, "reload failed; still serving the previous "
		    "configuration");
		reload_discard(&next);
		daemon_notify_ready(d);
		return;
	}
	d->nconfs++;
	log_set_level(d->log_level_option >= 0 ? d->log_level_option :
	    next.conf->log_level);
	reload_commit(d, &next);
	daemon_notify_ready(d);
}
