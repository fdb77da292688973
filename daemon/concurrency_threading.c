/*
 * concurrency_threading.c - a new thread per request (ThreadingMixIn), or
 * a pool of `workers` threads started once (workers > 0).
 *
 * Threads are detached and counted, not joined: a finished thread is
 * forgotten at once, so nothing grows with the number of requests served.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "concurrency.h"
#include "conf.h"
#include "crash.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "server.h"

static void *
threading_run(void *arg)
{
	char altstack[CRASH_ALTSTACK_SIZE];
	struct ss_request *req = arg;
	struct ss_server *srv = req->srv;

	crash_thread_begin(altstack);
	lifecycle_run(req);
	request_free(req);
	server_request_end(srv);
	crash_thread_end();
	return NULL;
}

static int
threading_spawn(struct ss_server *srv, void *(*run)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The handler gets thread_stack_size whole, besides the altstack. */
	err = pthread_attr_setstacksize(&attr, srv->conf->thread_stack_size +
	    CRASH_ALTSTACK_SIZE);
	if (err == 0)
		err = pthread_create(&thread, &attr, run, arg);
	pthread_attr_destroy(&attr);
	return err;
}

static int
threading_dispatch(struct ss_server *srv, struct ss_request *req)
{
	int err = threading_spawn(srv, threading_run, req);

	if (err == 0)
		return 0;
	log_error("server %s: cannot start a thread for %s: %s", srv->name,
	    req->name, strerror(err));
	request_free(req);
	server_request_end(srv);
	return -1;
}

/* A pool thread counts as in flight for as long as it lives. */
static void *
thread_pool_run(void *arg)
{
	char altstack[CRASH_ALTSTACK_SIZE];
	struct ss_server *srv = arg;

	crash_thread_begin(altstack);
	server_work(srv);
	server_request_end(srv);
	crash_thread_end();
	return NULL;
}

static int
thread_pool_start(struct ss_server *srv)
{
	int i, err;

	for (i = 0; i < srv->conf->workers; i++) {
		server_request_begin(srv);
		err = threading_spawn(srv, thread_pool_run, srv);
		if (err != 0) {
			server_request_end(srv);
			log_error("server %s: cannot start worker thread %d of "
			    "%d: %s", srv->name, i + 1, srv->conf->workers,
			    strerror(err));
			return -1;
		}
	}
	return 0;
}

static unsigned
threading_drain(struct ss_server *srv, double deadline)
{
	struct timespec ts;
	unsigned left;
	double until;

	pthread_mutex_lock(&srv->lock);
	while (srv->in_flight > 0) {
		/* server_hurry broadcasts, and may have moved it. */
		until = server_drain_deadline(srv, deadline);
		ts.tv_sec = (time_t)until;
		ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
		if (pthread_cond_timedwait(&srv->idle, &srv->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
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

/* Pool threads leave on the stop descriptor, after their request. */
const struct concurrency_ops concurrency_thread_pool_ops = {
	.name = "threading",
	.start = thread_pool_start,
	.drain = threading_drain,
};
