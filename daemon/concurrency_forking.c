/*
 * concurrency_forking.c - a new process per request (ForkingMixIn).
 *
 * Only the server's own thread forks, reaps and kills, so the table of
 * children needs no lock. Children are reaped by pid when the main thread
 * forwards SIGCHLD as a wake-up; the accept loop never blocks on them.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "concurrency.h"
#include "conf.h"
#include "daemon.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "server.h"

struct forking {
	pid_t *pids;
	unsigned n;
};

static struct forking *
forking_state(struct ss_server *srv)
{
	struct forking *f = srv->model;

	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return NULL;
		f->pids = calloc((size_t)srv->conf->max_children,
		    sizeof(*f->pids));
		if (f->pids == NULL) {
			free(f);
			return NULL;
		}
		srv->model = f;
	}
	return f;
}

static void
forking_child(struct ss_server *srv, struct ss_request *req)
{
	daemon_after_fork(srv->daemon);
	/* The parent enforces the stop deadline by killing the child. */
	req->cancel_fd = -1;
	lifecycle_run(req);
	request_free(req);
	fflush(NULL);
	_exit(0);
}

static int
forking_dispatch(struct ss_server *srv, struct ss_request *req)
{
	struct forking *f = forking_state(srv);
	pid_t pid;

	if (f == NULL) {
		log_error("server %s: out of memory", srv->name);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		log_errno(LOG_ERR, "server %s: cannot fork for %s", srv->name,
		    req->name);
		goto fail;
	}
	if (pid == 0)
		forking_child(srv, req);
	f->pids[f->n++] = pid;
	request_free(req);
	return 0;
fail:
	request_free(req);
	server_request_end(srv);
	return -1;
}

static void
forking_report(struct ss_server *srv, pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_warning("server %s: child %ld killed by signal %d (%s)",
		    srv->name, (long)pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("server %s: child %ld exited with status %d",
		    srv->name, (long)pid, WEXITSTATUS(status));
}

static void
forking_reap(struct ss_server *srv)
{
	struct forking *f = srv->model;
	unsigned i = 0;
	int status;

	while (f != NULL && i < f->n) {
		if (waitpid(f->pids[i], &status, WNOHANG) == f->pids[i]) {
			forking_report(srv, f->pids[i], status);
			f->pids[i] = f->pids[--f->n];
			server_request_end(srv);
		} else {
			i++;
		}
	}
}

static unsigned
forking_drain(struct ss_server *srv, double deadline)
{
	struct forking *f = srv->model;
	struct pollfd pfd = { .fd = srv->wake_fd, .events = POLLIN };
	eventfd_t count;

	forking_reap(srv);
	while (f != NULL && f->n > 0) {
		int n = poll(&pfd, 1, clock_poll_ms(deadline));

		if (n == 0)
			break;
		if (n > 0)
			(void)eventfd_read(srv->wake_fd, &count);
		forking_reap(srv);
	}
	return f != NULL ? f->n : 0;
}

static void
forking_signal_all(struct ss_server *srv, int sig)
{
	struct forking *f = srv->model;
	unsigned i;

	for (i = 0; f != NULL && i < f->n; i++)
		(void)kill(f->pids[i], sig);
}

/* SIGTERM, a second to go, then SIGKILL and a blocking reap. */
static void
forking_abort(struct ss_server *srv)
{
	struct forking *f = srv->model;
	int status;

	forking_signal_all(srv, SIGTERM);
	if (forking_drain(srv, clock_now() + 1.0) == 0)
		return;
	forking_signal_all(srv, SIGKILL);
	while (f->n > 0) {
		(void)waitpid(f->pids[f->n - 1], &status, 0);
		f->n--;
		server_request_end(srv);
	}
}

static void
forking_release(struct ss_server *srv)
{
	struct forking *f = srv->model;

	if (f != NULL) {
		free(f->pids);
		free(f);
		srv->model = NULL;
	}
}

const struct concurrency_ops concurrency_forking_ops = {
	.name = "forking",
	.dispatch = forking_dispatch,
	.reap = forking_reap,
	.drain = forking_drain,
	.abort = forking_abort,
	.release = forking_release,
};
