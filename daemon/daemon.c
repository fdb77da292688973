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
#include <sys/signalfd.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "server.h"
#include "transport.h"

int
daemon_create(struct daemon *d, struct conf *conf)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->conf = conf;
	d->pid = getpid();
	d->signal_fd = d->done_fd = -1;
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
	free(d->servers);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
	if (d->done_fd >= 0)
		close(d->done_fd);
	memset(d, 0, sizeof(*d));
}

int
daemon_load_plugins(struct daemon *d)
{
	int rc = 0;
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (server_load(d->servers[i], d->conf->plugin_dir) < 0)
			rc = -1;
	return rc;
}

int
daemon_init_plugins(struct daemon *d)
{
	int rc = 0;
	size_t i;

	for (i = 0; i < d->nservers; i++)
		if (server_init(d->servers[i]) < 0)
			rc = -1;
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

static void
daemon_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
}

int
daemon_signals_init(struct daemon *d)
{
	sigset_t set;

	/* Peers that vanish must cost an EPIPE, never the process. */
	signal(SIGPIPE, SIG_IGN);
	daemon_sigset(&set);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
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

void
daemon_after_fork(struct daemon *d, struct ss_server *srv,
    bool keep_listener)
{
	sigset_t set;
	size_t i;

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
	daemon_sigset(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void
daemon_notify_ready(struct daemon *d)
{
	char status[128];

	snprintf(status, sizeof(status), "Serving %zu server%s", d->nservers,
	    d->nservers == 1 ? "" : "s");
	notify_ready(status);
}

static void
daemon_stop(struct daemon *d, int sig)
{
	double deadline = clock_now() + d->conf->shutdown_timeout;
	size_t i;

	notify_stopping();
	log_notice("SIG%s: stopping (in-flight requests have %gs to finish)",
	    sigabbrev_np(sig), d->conf->shutdown_timeout);
	for (i = 0; i < d->nservers; i++)
		server_stop(d->servers[i], deadline);
}

/* Acts on one signal; *stopping records that a stop has begun. */
static void
daemon_signal(struct daemon *d, const struct signalfd_siginfo *si,
    bool *stopping)
{
	size_t i;

	switch (si->ssi_signo) {
	case SIGTERM:
	case SIGINT:
		if (!*stopping)
			daemon_stop(d, (int)si->ssi_signo);
		else
			log_notice("SIG%s: already stopping",
			    sigabbrev_np((int)si->ssi_signo));
		*stopping = true;
		break;
	case SIGHUP:
		log_notice("SIGHUP: reload is not supported by this version; "
		    "ignored");
		break;
	case SIGCHLD:
		for (i = 0; i < d->nservers; i++)
			server_wake(d->servers[i]);
		break;
	}
}

int
daemon_run(struct daemon *d)
{
	struct pollfd pfd[2] = {
		{ .fd = d->signal_fd, .events = POLLIN },
		{ .fd = d->done_fd, .events = POLLIN },
	};
	double watchdog = notify_watchdog_interval(), next_ping = 0;
	struct signalfd_siginfo si;
	bool stopping = false;
	size_t running = 0, done = 0, i;
	eventfd_t n;

	for (i = 0; i < d->nservers; i++)
		running += d->servers[i]->running;
	while (done < running) {
		if (watchdog > 0 && clock_now() >= next_ping) {
			notify_watchdog();
			next_ping = clock_now() + watchdog;
		}
		if (poll(pfd, 2, watchdog > 0 ? clock_poll_ms(next_ping) :
		    -1) < 0) {
			if (errno == EINTR)
				continue;
			log_errno(LOG_ERR, "poll");
			if (!stopping)
				daemon_stop(d, SIGTERM);
			break;
		}
		while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si))
			daemon_signal(d, &si, &stopping);
		if (eventfd_read(d->done_fd, &n) == 0)
			done += n;
	}
	for (i = 0; i < d->nservers; i++)
		server_join(d->servers[i]);
	return 0;
}
