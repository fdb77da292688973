/*
 * server_live.c - a server's requests in flight in this process, and how
 * the stop ends them: idle ones at once, the rest at the deadline, all
 * at a second stop signal; and what it abandons, named.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "request.h"
#include "server_live.h"
#include "signals.h"

/* The drains' grace after a second stop signal, which wants the stop now. */
#define SERVER_HURRY_GRACE	0.2
/* At most this many abandoned requests are named one by one. */
#define SERVER_REPORT_MAX	10

/* The server a forked child serves, for its signal handler. */
static struct ss_server *server_child_self;

void
server_live_add(struct ss_request *req)
{
	struct ss_server *srv = req->srv;

	if (req->fd < 0 || srv->child)
		return;
	pthread_mutex_lock(&srv->lock);
	if (srv->cut) {
		req->conn->shutdown(req, SHUT_RDWR);
		atomic_store(&req->cut, true);
	}
	req->live_prev = NULL;
	req->live_next = srv->live;
	if (srv->live != NULL)
		srv->live->live_prev = req;
	srv->live = req;
	req->live = true;
	pthread_mutex_unlock(&srv->lock);
}

void
server_live_remove(struct ss_request *req)
{
	struct ss_server *srv = req->srv;

	if (!req->live)
		return;
	pthread_mutex_lock(&srv->lock);
	if (req->live_prev != NULL)
		req->live_prev->live_next = req->live_next;
	else
		srv->live = req->live_next;
	if (req->live_next != NULL)
		req->live_next->live_prev = req->live_prev;
	req->live = false;
	pthread_mutex_unlock(&srv->lock);
}

void
server_cut(struct ss_server *srv)
{
	struct ss_request *req;

	pthread_mutex_lock(&srv->lock);
	if (!srv->cut) {
		srv->cut = true;
		for (req = srv->live; req != NULL; req = req->live_next) {
			req->conn->shutdown(req, SHUT_RDWR);
			atomic_store(&req->cut, true);
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

void
server_end_idle(struct ss_server *srv)
{
	struct ss_request *req;

	pthread_mutex_lock(&srv->lock);
	/* Ordered against request_fill_idle: one of the two sees the other. */
	atomic_store(&srv->end_idle, true);
	for (req = srv->live; req != NULL; req = req->live_next)
		if (atomic_load(&req->idle)) {
			/* The read returns what was sent, then end of input. */
			req->conn->shutdown(req, SHUT_RD);
			atomic_store(&req->cut, true);
		}
	pthread_mutex_unlock(&srv->lock);
	/* Forked children are told by the server's thread, in its drain. */
	server_wake(srv);
}

double
server_drain_deadline(struct ss_server *srv, double deadline)
{
	if (atomic_load(&srv->hurry) && srv->hurry_until < deadline)
		return srv->hurry_until;
	return deadline;
}

void
server_hurry(struct ss_server *srv)
{
	srv->hurry_until = clock_now() + SERVER_HURRY_GRACE;
	atomic_store(&srv->hurry, true);
	server_cut(srv);
	pthread_mutex_lock(&srv->lock);
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	server_wake(srv);
}

static void
server_child_end_idle(int sig)
{
	struct ss_request *req = request_current();

	(void)sig;
	atomic_store(&server_child_self->end_idle, true);
	if (req != NULL && req->fd >= 0 && atomic_load(&req->idle)) {
		req->conn->shutdown(req, SHUT_RD);
		atomic_store(&req->cut, true);
	}
}

void
server_child_init(struct ss_server *srv)
{
	struct sigaction sa;
	sigset_t set;

	server_child_self = srv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = server_child_end_idle;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGNALS_END_IDLE, &sa, NULL);
	/* Sent before this point, it waited, blocked, for the handler. */
	sigemptyset(&set);
	sigaddset(&set, SIGNALS_END_IDLE);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

unsigned
server_report_abandoned(struct ss_server *srv)
{
	const struct ss_request *req;
	unsigned n = 0, left;
	double now = clock_now();

	pthread_mutex_lock(&srv->lock);
	for (req = srv->live; req != NULL; req = req->live_next)
		if (n++ < SERVER_REPORT_MAX)
			log_warning("server %s: abandoned at the stop deadline: "
			    "request from %s, running for %.1fs in plugin %s",
			    srv->name, req->name, now - req->started,
			    srv->handler->name);
	left = srv->in_flight;
	pthread_mutex_unlock(&srv->lock);
	/* Datagrams, forked children, or more than named. */
	if (left > n || n > SERVER_REPORT_MAX)
		log_warning("server %s: %u request(s) abandoned at the stop "
		    "deadline in all (plugin %s)", srv->name,
		    left > n ? left : n, srv->handler->name);
	return left > n ? left : n;
}
