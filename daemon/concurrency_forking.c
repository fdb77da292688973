/*
 * concurrency_forking.c - a new process per request (ForkingMixIn), or a
 * pool of `workers` processes forked once that accept by themselves, the
 * way Apache's prefork does (workers > 0).
 *
 * Only the server's own thread forks, reaps and kills (the pool's first
 * workers are forked before it starts), so the table of children needs
 * no lock. Children are reaped by pid when the main thread forwards
 * SIGCHLD as a wake-up; the accept loop never blocks on them.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "concurrency.h"
#include "conf.h"
#include "conntable.h"
#include "lifecycle.h"
#include "log.h"
#include "persource.h"
#include "request.h"
#include "server.h"
#include "signals.h"
#include "transport.h"

/* A child, and the max_per_source count it holds, released at reap. */
struct child {
	pid_t pid;
	bool counted;
	socklen_t peerlen;
	struct sockaddr_storage peer;
};

struct forking {
	struct child *children;
	unsigned n;
	bool told_end_idle;	/* SIGNALS_END_IDLE sent to all */
};

static struct forking *
forking_state(struct ss_server *srv)
{
	struct forking *f = srv->model;

	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return NULL;
		f->children = calloc((size_t)srv->conf->max_children,
		    sizeof(*f->children));
		if (f->children == NULL) {
			free(f);
			return NULL;
		}
		srv->model = f;
	}
	return f;
}

/*
 * Forks for srv. The child keeps its connection keep_fd (and its
 * listening socket when keep_listener), nothing else the daemon has
 * open, and dies with the forking thread; SIGNALS_END_IDLE reaches it
 * once it is ready for it.
 */
static pid_t
forking_fork(struct ss_server *srv, bool keep_listener, int keep_fd)
{
	pid_t parent = getpid(), pid;

	pid = conntable_fork(srv->env->conns, keep_fd, srv);
	if (pid != 0)
		return pid;
	if (!keep_listener && srv->listen_fd >= 0) {
		close(srv->listen_fd);
		srv->listen_fd = -1;
	}
	srv->owned_path = NULL;		/* the parent's to remove */
	srv->child = true;
	/*
	 * A child must not outlive the daemon with its sockets. The signal
	 * follows the forking thread, which only ends after its children.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	signals_child();
	server_child_init(srv);
	return 0;
}

/*
 * Forks; in the child runs `body` and exits. Returns the child's pid in
 * the parent, or -1 after logging.
 */
static pid_t
forking_spawn(struct ss_server *srv, bool keep_listener,
    void (*body)(struct ss_server *, struct ss_request *),
    struct ss_request *req)
{
	struct forking *f = forking_state(srv);
	pid_t pid;

	if (f == NULL) {
		log_error("server %s: out of memory", srv->name);
		return -1;
	}
	pid = forking_fork(srv, keep_listener, req != NULL ? req->fd : -1);
	if (pid == 0) {
		body(srv, req);
		fflush(NULL);
		_exit(0);
	}
	if (pid < 0) {
		log_errno(LOG_ERR, "server %s: cannot fork", srv->name);
		return -1;
	}
	f->children[f->n] = (struct child){ .pid = pid };
	/* The parent releases the request's count when the child is gone. */
	if (req != NULL && req->counted) {
		f->children[f->n].counted = true;
		f->children[f->n].peer = req->peer;
		f->children[f->n].peerlen = req->peerlen;
		req->counted = false;
	}
	f->n++;
	return pid;
}

static void
forking_serve_one(struct ss_server *srv, struct ss_request *req)
{
	(void)srv;
	/* Made in the parent, which releases its max_per_source count. */
	req->counted = false;
	lifecycle_run(req);
	request_free(req);
}

static int
forking_dispatch(struct ss_server *srv, struct ss_request *req)
{
	/* A datagram's reply leaves through the server's socket. */
	pid_t pid = forking_spawn(srv, !srv->transport->stream,
	    forking_serve_one, req);

	request_free(req);
	if (pid < 0) {
		server_request_end(srv);
		return -1;
	}
	return 0;
}

/* How log lines call this model's processes. */
static const char *
forking_what(const struct ss_server *srv)
{
	return srv->concurrency->start != NULL ? "worker" : "child";
}

static void
forking_report(struct ss_server *srv, pid_t pid, int status)
{
	const char *what = forking_what(srv);
	/* At stop, SIGTERM and SIGKILL are ours: not worth a warning. */
	bool ours = atomic_load(&srv->stopping) &&
	    (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL);

	if (WIFSIGNALED(status))
		log_msg(ours ? LOG_INFO : LOG_WARNING, "server %s: %s %ld "
		    "killed by signal %d (%s)", srv->name, what, (long)pid,
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warning("server %s: %s %ld exited with status %d",
		    srv->name, what, (long)pid, WEXITSTATUS(status));
}

/* Drops child i from the table, with what it held. */
static void
forking_forget(struct ss_server *srv, unsigned i)
{
	struct forking *f = srv->model;
	struct child *c = &f->children[i];

	if (c->counted)
		persource_release(srv->persource,
		    (const struct sockaddr *)&c->peer, c->peerlen);
	f->children[i] = f->children[--f->n];
	server_request_end(srv);
}

/* Reaps the children that ended; returns how many. */
static unsigned
forking_collect(struct ss_server *srv)
{
	struct forking *f = srv->model;
	unsigned i = 0, reaped = 0;
	int status;

	while (f != NULL && i < f->n) {
		if (waitpid(f->children[i].pid, &status, WNOHANG) ==
		    f->children[i].pid) {
			forking_report(srv, f->children[i].pid, status);
			forking_forget(srv, i);
			reaped++;
		} else {
			i++;
		}
	}
	return reaped;
}

static void
forking_reap(struct ss_server *srv)
{
	forking_collect(srv);
}

static void forking_signal_all(struct ss_server *srv, int sig);

/* At the daemon's stop, children end their idle requests too. */
static void
forking_end_idle(struct ss_server *srv)
{
	struct forking *f = srv->model;

	if (f != NULL && !f->told_end_idle && atomic_load(&srv->end_idle)) {
		f->told_end_idle = true;
		forking_signal_all(srv, SIGNALS_END_IDLE);
	}
}

static unsigned
forking_wait(struct ss_server *srv, double deadline)
{
	struct forking *f = srv->model;
	struct pollfd pfd = { .fd = srv->wake_fd, .events = POLLIN };
	eventfd_t count;

	forking_end_idle(srv);
	forking_collect(srv);
	while (f != NULL && f->n > 0) {
		int n = poll(&pfd, 1, clock_poll_ms(server_drain_deadline(srv,
		    deadline)));

		if (n == 0)
			break;
		if (n > 0)
			(void)eventfd_read(srv->wake_fd, &count);
		forking_end_idle(srv);
		forking_collect(srv);
	}
	return f != NULL ? f->n : 0;
}


static void
forking_signal_all(struct ss_server *srv, int sig)
{
	struct forking *f = srv->model;
	unsigned i;

	for (i = 0; f != NULL && i < f->n; i++)
		(void)kill(f->children[i].pid, sig);
}

/* SIGTERM, a second to go, then SIGKILL and a blocking reap. */
static void
forking_abort(struct ss_server *srv)
{
	struct forking *f = srv->model;
	int status;

	log_warning("server %s: %u %s(s) still running at the shutdown "
	    "deadline: sending SIGTERM", srv->name, f->n, forking_what(srv));
	forking_signal_all(srv, SIGTERM);
	if (forking_wait(srv, clock_now() + 1.0) == 0)
		return;
	log_warning("server %s: %u %s(s) still running after SIGTERM: sending SIGKILL",
	    srv->name, f->n, forking_what(srv));
	forking_signal_all(srv, SIGKILL);
	while (f->n > 0) {
		(void)waitpid(f->children[f->n - 1].pid, &status, 0);
		forking_forget(srv, f->n - 1);
	}
}

static void
forking_release(struct ss_server *srv)
{
	struct forking *f = srv->model;

	if (f != NULL) {
		free(f->children);
		free(f);
		srv->model = NULL;
	}
}

const struct concurrency_ops concurrency_forking_ops = {
	.name = "forking",
	.dispatch = forking_dispatch,
	.reap = forking_reap,
	.drain = forking_wait,
	.abort = forking_abort,
	.release = forking_release,
};

/* --- the pool ------------------------------------------------------------ */

static void
prefork_work(struct ss_server *srv, struct ss_request *req)
{
	(void)req;
	server_work(srv);
}

/* A pool worker counts as in flight for as long as it lives. */
static int
prefork_spawn(struct ss_server *srv)
{
	server_request_begin(srv);
	if (forking_spawn(srv, true, prefork_work, NULL) < 0) {
		server_request_end(srv);
		return -1;
	}
	return 0;
}

static int
prefork_start(struct ss_server *srv)
{
	int i;

	for (i = 0; i < srv->conf->workers; i++)
		if (prefork_spawn(srv) < 0)
			return -1;
	return 0;
}

/* A worker that died is replaced until the server stops. */
static void
prefork_reap(struct ss_server *srv)
{
	unsigned died = forking_collect(srv);

	if (died > 0 && !atomic_load(&srv->stopping)) {
		log_notice("server %s: replacing %u worker(s)", srv->name,
		    died);
		while (died-- > 0)
			(void)prefork_spawn(srv);
	}
}


/* Workers leave on the stop descriptor after their current request. */
const struct concurrency_ops concurrency_prefork_ops = {
	.name = "forking",
	.start = prefork_start,
	.reap = prefork_reap,
	.drain = forking_wait,
	.abort = forking_abort,
	.release = forking_release,
};
