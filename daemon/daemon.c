/*
 * daemon.c - starts and stops the servers and runs the main thread's loop,
 * the only place signals are handled: they arrive on a signalfd, so no
 * code runs in signal context.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"

#include "clock.h"
#include "concurrency.h"
#include "conf.h"
#include "counters.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "signals.h"
#include "stats.h"
#include "strbuf.h"
#include "transport.h"

/*
 * After the stop deadline, the models take up to about 2 s more (a
 * second for SIGTERM before SIGKILL, a second of grace): then the main
 * loop stops waiting. After a second stop signal, it waits this little.
 */
#define DAEMON_EXIT_GRACE	3.0
#define DAEMON_HURRY_GRACE	0.5
/* STATUS= totals for systemd are refreshed at most this often. */
#define DAEMON_STATUS_INTERVAL	1.0

static struct ss_server *daemon_server(const struct daemon *d, size_t i);

/*
 * In a child forked for `ctx` (a server): closes what the daemon has open
 * but the child must not keep. Not transport->close()d: the parent still
 * owns the socket files. A listener kept by mistake would keep the port
 * open after the parent stopped; the model closes its own when the
 * child does not accept.
 */
static void
daemon_child_hook(void *arg, void *ctx)
{
	struct daemon *d = arg;
	struct ss_server *srv = ctx, *s;
	size_t i;

	for (i = 0; i < d->nservers + d->nretired; i++) {
		s = daemon_server(d, i);
		if (s != srv && s->listen_fd >= 0 && !s->handed_over &&
		    s->listen_fd != srv->listen_fd) {
			close(s->listen_fd);
			s->listen_fd = -1;
		}
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		s->wake_fd = -1;
		if (s != srv && s->stop_fd >= 0) {
			close(s->stop_fd);
			s->stop_fd = -1;
		}
	}
	close(d->signal_fd);
	close(d->done_fd);
	d->signal_fd = d->done_fd = -1;
	if (d->control.arg != NULL)
		d->control.child_close(d->control.arg);
}

/*
 * server_env's render_metrics: every server serving now, for ss_metrics.
 * A reload swaps `servers` under the connection table's exclusive lock,
 * so its read side keeps the list whole while it is walked. In a forked
 * child the list is the one of the fork, its counters live (shared).
 */
static void
daemon_render_metrics(void *arg, struct strbuf *out)
{
	struct daemon *d = arg;
	struct stats_source src;

	conntable_hold(&d->conns);
	src = (struct stats_source){ .servers = d->servers,
	    .nservers = d->nservers, .uptime = clock_now() - d->started,
	    .version = PACKAGE_VERSION };
	stats_prometheus(&src, out);
	conntable_release(&d->conns);
}

int
daemon_create(struct daemon *d, struct conf *conf,
    const char *default_plugin_dir, int log_level_option)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->conf = conf;
	d->default_plugin_dir = default_plugin_dir;
	d->log_level_option = log_level_option;
	d->pid = getpid();
	d->started = clock_now();
	d->signal_fd = d->done_fd = -1;
	if (conntable_init(&d->conns) < 0) {
		conf_free(conf);
		free(conf);
		goto nomem;
	}
	d->conns.child_hook = daemon_child_hook;
	d->conns.hook_arg = d;
	d->env = (struct server_env){ .conf = conf, .conns = &d->conns,
	    .done_fd = -1, .render_metrics = daemon_render_metrics,
	    .render_arg = d };
	if (daemon_keep_conf(d, conf) < 0) {
		conf_free(conf);
		free(conf);
		goto nomem;
	}
	d->servers = calloc(conf->nservers, sizeof(*d->servers));
	if (d->servers == NULL)
		goto nomem;
	for (i = 0; i < conf->nservers; i++) {
		d->servers[i] = server_new(&conf->servers[i], &d->env);
		if (d->servers[i] == NULL)
			goto nomem;
		d->nservers++;
	}
	return 0;
nomem:
	log_error("out of memory");
	return -1;
}

void
daemon_destroy(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->nservers; i++)
		server_free(d->servers[i]);
	for (i = 0; i < d->nretired; i++)
		server_free(d->retired[i]);
	for (i = 0; i < d->nconfs; i++) {
		conf_free(d->confs[i]);
		free(d->confs[i]);
	}
	free(d->servers);
	free(d->retired);
	free(d->confs);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->done_fd >= 0)
		close(d->done_fd);
	conntable_free(&d->conns);
	memset(d, 0, sizeof(*d));
}

static int
daemon_append(struct ss_server ***list, size_t *n, struct ss_server *srv)
{
	struct ss_server **grown = realloc(*list, (*n + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	grown[(*n)++] = srv;
	*list = grown;
	return 0;
}

int
daemon_retire(struct daemon *d, struct ss_server *srv)
{
	return daemon_append(&d->retired, &d->nretired, srv);
}

int
daemon_keep_conf(struct daemon *d, struct conf *conf)
{
	struct conf **grown = realloc(d->confs, (d->nconfs + 1) *
	    sizeof(*grown));

	if (grown == NULL)
		return -1;
	grown[d->nconfs++] = conf;
	d->confs = grown;
	return 0;
}

static bool
daemon_conf_used(const struct daemon *d, const struct conf *conf)
{
	size_t i;

	if (conf == d->conf)
		return true;
	for (i = 0; i < d->nretired; i++)
		if (d->retired[i]->conf >= conf->servers &&
		    d->retired[i]->conf < conf->servers + conf->nservers)
			return true;
	return false;
}

/*
 * Frees the retired servers whose last request has ended (their plugin
 * is finied and closed with them), then the configurations nobody uses.
 */
static void
daemon_collect(struct daemon *d)
{
	size_t i = 0, j;

	while (i < d->nretired) {
		struct ss_server *srv = d->retired[i];

		if (srv->running && !atomic_load(&srv->finished)) {
			i++;
			continue;
		}
		server_join(srv);
		server_fini(srv);
		server_free(srv);
		d->retired[i] = d->retired[--d->nretired];
	}
	for (j = 0; j < d->nconfs; ) {
		if (daemon_conf_used(d, d->confs[j])) {
			j++;
			continue;
		}
		conf_free(d->confs[j]);
		free(d->confs[j]);
		d->confs[j] = d->confs[--d->nconfs];
	}
}

/* Every server, current and retired, has finished (or never started). */
static bool
daemon_finished(const struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (d->servers[i]->running &&
		    !atomic_load(&d->servers[i]->finished))
			return false;
	return d->nretired == 0;
}

/* Plugin problems are configuration errors, printed as conf_load's are. */
int
daemon_load_plugins(struct daemon *d)
{
	char error[SERVER_ERROR_SIZE];
	int rc = 0;
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (server_load(d->servers[i], d->conf->plugin_dir,
		    false, d->conf->uid, error, sizeof(error)) < 0) {
			fprintf(stderr, "%s\n", error);
			rc = -1;
		}
	return rc;
}

int
daemon_init_plugins(struct daemon *d)
{
	char error[SERVER_ERROR_SIZE];
	int rc = 0;
	size_t i;

	for (i = 0; i < d->nservers; i++) {
		/* One that failed to load has been reported already. */
		if (d->servers[i]->plugin == NULL)
			continue;
		if (server_init(d->servers[i], error, sizeof(error)) < 0) {
			fprintf(stderr, "%s\n", error);
			rc = -1;
		}
	}
	return rc;
}

void
daemon_fini_plugins(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->nservers; i++)
		server_fini(d->servers[i]);
}

int
daemon_open(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (server_open(d->servers[i]) < 0)
			return -1;
	return 0;
}

int
daemon_start(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (server_start(d->servers[i]) < 0)
			return -1;
	return 0;
}

int
daemon_signals_init(struct daemon *d)
{
	sigset_t set;

	if (signals_block() < 0)
		return -1;
	signals_main_set(&set);
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	d->env.done_fd = d->done_fd;
	if (d->signal_fd < 0 || d->done_fd < 0) {
		log_errno(LOG_ERR, "cannot set up signal handling");
		return -1;
	}
	return 0;
}

/* "Serving 2 servers: 1532 requests, 3 in flight, 0 refused". */
static void
daemon_status_text(const struct daemon *d, char *buf, size_t size)
{
	unsigned long long requests = 0, refused = 0;
	unsigned in_flight = 0;
	size_t i;

	for (i = 0; i < d->nservers; i++) {
		const struct counters *c = d->servers[i]->counters;

		requests += counters_requests(c);
		refused += counters_refusals(c);
		in_flight += atomic_load(&c->in_flight);
	}
	snprintf(buf, size, "Serving %zu server%s: %llu requests, %u in "
	    "flight, %llu refused", d->nservers, d->nservers == 1 ? "" : "s",
	    requests, in_flight, refused);
}

void
daemon_notify_ready(struct daemon *d)
{
	char status[192];

	daemon_status_text(d, status, sizeof(status));
	notify_ready(status);
}

/*
 * STATUS= with live totals, at most once a second and only when they
 * changed; returns when to look again (0: never, outside systemd).
 */
static double
daemon_notify_totals(struct daemon *d, double *next, char *last,
    size_t size)
{
	char status[192];

	if (!notify_enabled())
		return 0;
	if (clock_now() >= *next) {
		daemon_status_text(d, status, sizeof(status));
		if (strcmp(status, last) != 0) {
			notify_status(status);
			snprintf(last, size, "%s", status);
		}
		*next = clock_now() + DAEMON_STATUS_INTERVAL;
	}
	return *next;
}

/* Every server, current and retired: i < nservers + nretired. */
static struct ss_server *
daemon_server(const struct daemon *d, size_t i)
{
	return i < d->nservers ? d->servers[i] : d->retired[i - d->nservers];
}

/*
 * Stops every server. Requests idle between lines end at once; the
 * others have shutdown_timeout, then the models' grace, and the main loop
 * gives up on what is still running DAEMON_EXIT_GRACE after that.
 */
static void
daemon_stop(struct daemon *d, int sig, double *exit_at)
{
	double deadline = clock_now() + d->conf->shutdown_timeout;
	size_t i;

	notify_stopping();
	log_notice("SIG%s: stopping (in-flight requests have %gs to finish)",
	    sigabbrev_np(sig), d->conf->shutdown_timeout);
	for (i = 0; i < d->nservers + d->nretired; i++)
		server_stop(daemon_server(d, i), deadline);
	for (i = 0; i < d->nservers + d->nretired; i++)
		server_end_idle(daemon_server(d, i));
	*exit_at = deadline + DAEMON_EXIT_GRACE;
	for (i = 0; i < d->nretired; i++)
		if (d->retired[i]->stop_deadline + DAEMON_EXIT_GRACE > *exit_at)
			*exit_at = d->retired[i]->stop_deadline +
			    DAEMON_EXIT_GRACE;
}

/* A second stop signal: what still runs is cut now, and then abandoned. */
static void
daemon_hurry(struct daemon *d, int sig, double *exit_at)
{
	size_t i;

	log_notice("SIG%s again: stopping now", sigabbrev_np(sig));
	for (i = 0; i < d->nservers + d->nretired; i++)
		server_hurry(daemon_server(d, i));
	if (clock_now() + DAEMON_HURRY_GRACE < *exit_at)
		*exit_at = clock_now() + DAEMON_HURRY_GRACE;
}

/* SIGUSR1: a status line per server. */
static void
daemon_status(struct daemon *d, bool stopping)
{
	size_t i;

	log_notice("SIGUSR1: %zu server%s%s", d->nservers, d->nservers == 1 ?
	    "" : "s", stopping ? ", stopping" : "");
	for (i = 0; i < d->nservers + d->nretired; i++)
		server_log_status(daemon_server(d, i), i < d->nservers ?
		    (stopping ? "stopping" : "serving") : "retired, finishing");
}

/*
 * At the exit deadline: servers whose thread is still busy (a sync
 * handler that never returns) are given up. Their socket is closed and
 * its file removed; their requests are logged as abandoned.
 */
static void
daemon_abandon(struct daemon *d)
{
	struct ss_server *srv;
	size_t i;

	for (i = 0; i < d->nservers + d->nretired; i++) {
		srv = daemon_server(d, i);
		if (!srv->running || atomic_load(&srv->finished))
			continue;
		srv->abandoned = server_report_abandoned(srv);
		if (srv->abandoned == 0)
			srv->abandoned = 1;
		if (!srv->handed_over)
			srv->transport->close(srv);
		srv->running = false;	/* never joined */
	}
	d->abandoned = true;
}

/*
 * Acts on one signal; *exit_at is 0 until a stop begins, then when the
 * main loop gives up waiting.
 */
static void
daemon_signal(struct daemon *d, const struct signalfd_siginfo *si,
    double *exit_at)
{
	bool stopping = *exit_at > 0;
	size_t i;

	switch (si->ssi_signo) {
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		if (!stopping)
			daemon_stop(d, (int)si->ssi_signo, exit_at);
		else
			daemon_hurry(d, (int)si->ssi_signo, exit_at);
		break;
	case SIGUSR1:
		daemon_status(d, stopping);
		break;
	case SIGHUP:
		if (stopping)
			log_notice("SIGHUP: stopping, not reloading");
		else if (d->reload != NULL)
			d->reload(d);
		break;
	case SIGCHLD:
		for (i = 0; i < d->nservers + d->nretired; i++)
			server_wake(daemon_server(d, i));
		break;
	}
}

/*
 * Cuts the live requests of every stopping server whose stop deadline
 * has passed; returns the next such deadline to come, or 0.
 */
static double
daemon_cut_due(struct daemon *d)
{
	double now = clock_now(), next = 0;
	size_t i;

	for (i = 0; i < d->nservers + d->nretired; i++) {
		struct ss_server *srv = daemon_server(d, i);

		if (!atomic_load(&srv->stopping) || srv->cut_sent)
			continue;
		if (srv->stop_deadline <= now) {
			server_cut(srv);
			srv->cut_sent = true;
		} else if (next == 0 || srv->stop_deadline < next) {
			next = srv->stop_deadline;
		}
	}
	return next;
}

int
daemon_run(struct daemon *d)
{
	struct pollfd pfd[2 + DAEMON_SOURCE_NPOLL] = {
		{ .fd = d->signal_fd, .events = POLLIN },
		{ .fd = d->done_fd, .events = POLLIN },
	};
	double watchdog = notify_watchdog_interval(), next_ping = 0, wake;
	double next_cut, exit_at = 0, next_status = 0, status_at, control_at;
	size_t ncontrol;
	char last_status[192] = "";
	struct signalfd_siginfo si;
	eventfd_t n;
	size_t i;

	while (!(exit_at > 0 && daemon_finished(d))) {
		if (watchdog > 0 && clock_now() >= next_ping) {
			notify_watchdog();
			next_ping = clock_now() + watchdog;
		}
		if (exit_at > 0 && clock_now() >= exit_at) {
			daemon_abandon(d);
			break;
		}
		next_cut = daemon_cut_due(d);
		status_at = exit_at == 0 ? daemon_notify_totals(d, &next_status,
		    last_status, sizeof(last_status)) : 0;
		wake = watchdog > 0 ? next_ping : 0;
		if (status_at > 0 && (wake == 0 || status_at < wake))
			wake = status_at;
		if (next_cut > 0 && (wake == 0 || next_cut < wake))
			wake = next_cut;
		if (exit_at > 0 && (wake == 0 || exit_at < wake))
			wake = exit_at;
		ncontrol = 0;
		if (d->control.arg != NULL) {
			ncontrol = d->control.pollfds(d->control.arg, pfd + 2);
			control_at = d->control.deadline(d->control.arg);
			if (control_at > 0 && (wake == 0 || control_at < wake))
				wake = control_at;
		}
		if (poll(pfd, 2 + ncontrol, wake > 0 ? clock_poll_ms(wake) :
		    -1) < 0) {
			if (errno == EINTR)
				continue;
			log_errno(LOG_ERR, "poll");
			if (exit_at == 0)
				daemon_stop(d, SIGTERM, &exit_at);
			/* Without poll, wait for the threads by joining. */
			break;
		}
		while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si))
			daemon_signal(d, &si, &exit_at);
		if (eventfd_read(d->done_fd, &n) == 0)
			daemon_collect(d);
		if (d->control.arg != NULL)
			d->control.serve(d->control.arg, pfd + 2, ncontrol,
			    exit_at > 0);
	}
	for (i = 0; i < d->nservers; i++)
		server_join(d->servers[i]);
	for (i = 0; i < d->nretired; i++)
		server_join(d->retired[i]);
	for (i = 0; i < d->nservers + d->nretired; i++)
		if (daemon_server(d, i)->abandoned > 0)
			d->abandoned = true;
	return 0;
}
