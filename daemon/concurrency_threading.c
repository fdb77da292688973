/*
 * concurrency_threading.c - a new thread per request (ThreadingMixIn).
 *
 * Threads are detached and counted, not joined: a finished thread is
 * forgotten at once, so nothing grows with the number of requests served.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "concurrency.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "server.h"

static void *
threading_run(void *arg)
{
	struct ss_request *req = arg;
	struct ss_server *srv = req->srv;

	lifecycle_run(req);
	request_free(req);
	server_request_end(srv);
	return NULL;
}

static int
threading_dispatch(struct ss_server *srv, struct ss_request *req)
{
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, threading_run, req);
	pthread_attr_destroy(&attr);
	if (err == 0)
		return 0;
	log_error("server %s: cannot start a thread for %s: %s", srv->name,
	    req->name, strerror(err));
	request_free(req);
	server_request_end(srv);
	return -1;
}

static unsigned
threading_drain(struct ss_server *srv, double deadline)
{
	struct timespec ts;
	unsigned left;

	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&srv->lock);
	while (srv->in_flight > 0 &&
	    pthread_cond_timedwait(&srv->idle, &srv->lock, &ts) != ETIMEDOUT)
		;
	left = srv->in_flight;
	pthread_mutex_unlock(&srv->lock);
	return left;
}

/*
 * No abort: a thread cannot be stopped safely from outside. Requests
 * blocked in ss_* I/O are already cut at the stop deadline; one stuck
 * elsewhere is abandoned (see server_thread).
 */
const struct concurrency_ops concurrency_threading_ops = {
	.name = "threading",
	.dispatch = threading_dispatch,
	.drain = threading_drain,
};
