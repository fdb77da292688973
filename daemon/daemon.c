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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "concurrency.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "transport.h"

/*
 * After the stop deadline, the models take up to about 2 s more (a
 * second for SIGTERM before SIGKILL, a second of grace): then the main
 * loop stops waiting. After a second stop signal, it waits this little.
 */
#define DAEMON_EXIT_GRACE	3.0
#define DAEMON_HURRY_GRACE	0.5

/* One mark per descriptor the process may ever have. */
static int
daemon_conn_init(struct daemon *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > (1 << 20))
		rl.rlim_max = 1 << 20;
	d->conn_max = (int)rl.rlim_max;
	d->conn_open = calloc((size_t)d->conn_max, sizeof(*d->conn_open));
	atomic_init(&d->conn_high, -1);
	return d->conn_open != NULL ? 0 : -1;
}

void
daemon_hold(struct daemon *d)
{
	pthread_rwlock_rdlock(&d->fork_lock);
}

void
daemon_release(struct daemon *d)
{
	pthread_rwlock_unlock(&d->fork_lock);
}

void
daemon_mark_conn(struct daemon *d, int fd, bool open)
{
	int high;

	if (fd < 0 || fd >= d->conn_max)
		return;
	atomic_store(&d->conn_open[fd], open);
	high = atomic_load(&d->conn_high);
	while (open && fd > high &&
	    !atomic_compare_exchange_weak(&d->conn_high, &high, fd))
		;
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
	d->signal_fd = d->done_fd = -1;
	pthread_rwlock_init(&d->fork_lock, NULL);
	if (daemon_conn_init(d) < 0) {
		conf_free(conf);
		free(conf);
		goto nomem;
	}
	if (daemon_keep_conf(d, conf) < 0) {
		conf_free(conf);
		free(conf);
		goto nomem;
	}
	d->servers = calloc(conf->nservers, sizeof(*d->servers));
	if (d->servers == NULL)
		goto nomem;
	for (i = 0; i < conf->nservers; i++) {
		d->servers[i] = server_new(&conf->servers[i], d);
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
	pthread_rwlock_destroy(&d->fork_lock);
	free(d->conn_open);
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

/* The signals the main loop reads from its signalfd. */
static void
daemon_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGCHLD);
}

int
daemon_signals_init(struct daemon *d)
{
	sigset_t set, blocked;

	/*
	 * Peers that vanish must cost an EPIPE, never the process; SIGUSR2
	 * means nothing here, and no signal sent by habit may kill the
	 * daemon without its cleanup.
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	daemon_sigset(&set);
	/* Only forked children take it, once they have its handler. */
	blocked = set;
	sigaddset(&blocked, SERVER_END_IDLE_SIGNAL);
	if (pthread_sigmask(SIG_BLOCK, &blocked, NULL) != 0) {
		log_error("cannot block signals");
		return -1;
	}
	d->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->signal_fd < 0 || d->done_fd < 0) {
		log_errno(LOG_ERR, "cannot set up signal handling");
		return -1;
	}
	return 0;
}

void
daemon_server_done(struct daemon *d)
{
	(void)eventfd_write(d->done_fd, 1);
}

/* In the child: what the daemon had open is not the child's business. */
static void
daemon_after_fork(struct daemon *d, struct ss_server *srv,
    bool keep_listener, int keep_fd)
{
	int high = atomic_load(&d->conn_high), fd;
	sigset_t set;
	size_t i;

	for (fd = 0; fd <= high; fd++)
		if (fd != keep_fd && atomic_load(&d->conn_open[fd]))
			close(fd);
	for (i = 0; i < d->nservers; i++) {
		struct ss_server *s = d->servers[i];
		bool own = s == srv;

		/*
		 * Closed, not transport->close()d: the parent still owns the
		 * socket files. A listener kept by mistake would keep the
		 * port open after the parent stopped.
		 */
		if (!(own && keep_listener) && s->listen_fd >= 0) {
			close(s->listen_fd);
			s->listen_fd = -1;
		}
		s->owned_path = NULL;	/* the parent's to remove */
		close(s->wake_fd);
		s->wake_fd = -1;
		if (!own) {
			close(s->stop_fd);
			s->stop_fd = -1;
		}
	}
	srv->child = true;
	/*
	 * A child must not outlive the daemon with its sockets. The signal
	 * follows the forking thread, which only ends after its children.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != d->pid)
		_exit(1);
	close(d->signal_fd);
	close(d->done_fd);
	d->signal_fd = d->done_fd = -1;
	/*
	 * Ctrl-C, Ctrl-\\, a hangup and a kill of the process group reach
	 * every child: the parent decides when its children stop. SIGTERM
	 * stays fatal, for the parent's own use at the stop deadline.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	daemon_sigset(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	server_child_init(srv);
}

pid_t
daemon_fork(struct daemon *d, struct ss_server *srv, bool keep_listener,
    int keep_fd)
{
	pid_t pid;

	pthread_rwlock_wrlock(&d->fork_lock);
	pid = fork();
	if (pid != 0) {
		pthread_rwlock_unlock(&d->fork_lock);
		return pid;
	}
	daemon_after_fork(d, srv, keep_listener, keep_fd);
	/*
	 * The lock's writer was the parent's thread, which the child is
	 * not as far as the lock can tell: a new lock, not an unlock.
	 */
	pthread_rwlock_init(&d->fork_lock, NULL);
	return 0;
}

void
daemon_notify_ready(struct daemon *d)
{
	char status[128];

	snprintf(status, sizeof(status), "Serving %zu server%s", d->nservers,
	    d->nservers == 1 ? "" : "s");
	notify_ready(status);
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
		else
			daemon_reload(d);
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
	struct pollfd pfd[2] = {
		{ .fd = d->signal_fd, .events = POLLIN },
		{ .fd = d->done_fd, .events = POLLIN },
	};
	double watchdog = notify_watchdog_interval(), next_ping = 0, wake;
	double next_cut, exit_at = 0;
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
		wake = watchdog > 0 ? next_ping : 0;
		if (next_cut > 0 && (wake == 0 || next_cut < wake))
			wake = next_cut;
		if (exit_at > 0 && (wake == 0 || exit_at < wake))
			wake = exit_at;
		if (poll(pfd, 2, wake > 0 ? clock_poll_ms(wake) : -1) < 0) {
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
