/*
 * server.c - a server's life (load, init, open, serve, stop, fini) and
 * its serve loop, which knows neither its transport nor its concurrency
 * model: it only calls their operations.
 */
#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "admit.h"
#include "clock.h"
#include "concurrency.h"
#include "conf.h"
#include "crash.h"
#include "conn.h"
#include "conntable.h"
#include "counters.h"
#include "lifecycle.h"
#include "log.h"
#include "options.h"
#include "persource.h"
#include "plugin.h"
#include "ratelimit.h"
#include "request.h"
#include "server.h"
#include "signals.h"
#include "transport.h"

/* Accepts at most this many connections per loop turn, to stay fair. */
#define SERVER_ACCEPT_BATCH	32
/* service_actions runs at least this often while idle (SPEC §4). */
#define SERVER_SERVICE_INTERVAL	0.5
/* After an accept error such as EMFILE, wait this long before retrying. */
#define SERVER_ACCEPT_BACKOFF	0.1
/* Grace after the stop deadline for requests cut at their next I/O. */
#define SERVER_ABORT_GRACE	1.0

/*
 * A count waits for the serve loop to log it. A forked child has no
 * descriptor of the loop's; the parent's main thread turns SIGCHLD into
 * a wake-up of every serve loop (daemon.c), which then finds the count.
 */
static void
server_ratelimit_wake(void *arg)
{
	struct ss_server *srv = arg;

	if (srv->child)
		(void)kill(getppid(), SIGCHLD);
	else
		server_wake(srv);
}

struct ss_server *
server_new(const struct conf_server *conf, const struct server_env *env)
{
	struct ss_server *srv;
	pthread_condattr_t attr;

	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	srv->shared = mmap(NULL, sizeof(*srv->shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (srv->shared == MAP_FAILED) {
		free(srv);
		return NULL;
	}
	atomic_init(&srv->shared->last_request_ns, 0);
	ratelimit_init(&srv->shared->ratelimit, conf->name,
	    server_ratelimit_wake, srv);
	/* Never more sources in flight than requests in flight. */
	if ((srv->counters = counters_new()) == NULL ||
	    (conf->max_per_source > 0 && (srv->persource = persource_new(
	    (unsigned)conf->max_per_source, (unsigned)conf->max_children +
	    1)) == NULL)) {
		counters_unref(srv->counters);
		munmap(srv->shared, sizeof(*srv->shared));
		free(srv);
		return NULL;
	}
	srv->conf = conf;
	srv->name = conf->name;
	srv->env = env;
	/* Names the configuration has checked. */
	srv->transport = transport_find(conf->transport->name);
	srv->concurrency = concurrency_find(conf->concurrency_name,
	    conf->workers);
	srv->listen_fd = srv->wake_fd = srv->stop_fd = -1;
	atomic_init(&srv->stopping, false);
	atomic_init(&srv->finished, false);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->idle, &attr);
	pthread_condattr_destroy(&attr);
	return srv;
}

void
server_free(struct ss_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->handed_over)
		srv->listen_fd = -1;	/* the successor's now */
	srv->transport->close(srv);
	if (srv->concurrency->release != NULL)
		srv->concurrency->release(srv);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	if (srv->stop_fd >= 0)
		close(srv->stop_fd);
	/* A plugin still running abandoned requests must stay mapped. */
	if (srv->abandoned == 0)
		plugin_close(srv->plugin);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	/* Counts of the last second, now that nothing adds to them. */
	ratelimit_flush(&srv->shared->ratelimit, true);
	munmap(srv->shared, sizeof(*srv->shared));
	counters_unref(srv->counters);
	persource_free(srv->persource);
	free(srv);
}

int
server_load(struct ss_server *srv, const char *plugin_dir, bool fresh,
    uid_t trusted, char *error_r, size_t size)
{
	const struct conf_server *cs = srv->conf;
	char why[PLUGIN_ERROR_SIZE], where[CONF_WHERE_SIZE];

	srv->plugin = plugin_open(cs->handler, plugin_dir, fresh, trusted,
	    why, sizeof(why));
	if (srv->plugin == NULL) {
		snprintf(error_r, size, "%s: server %s: %s", conf_where(where,
		    sizeof(where), cs->handler_file, cs->handler_line),
		    srv->name, why);
		return -1;
	}
	srv->handler = &srv->plugin->handler;
	return 0;
}

void
server_share_plugin(struct ss_server *srv, struct plugin *plugin)
{
	srv->plugin = plugin_ref(plugin);
	srv->handler = &plugin->handler;
}

int
server_init(struct ss_server *srv, char *error_r, size_t size)
{
	const struct conf_server *cs = srv->conf;
	char where[CONF_WHERE_SIZE];
	int rc = 0;

	options_begin(srv);
	if (srv->handler->init != NULL)
		rc = srv->handler->init(srv, cs->options);
	/* What its option lookups reported says why better than we can. */
	if (options_end(srv, error_r, size) > 0) {
		if (rc == 0 && srv->handler->fini != NULL)
			srv->handler->fini(srv);
		return -1;
	}
	if (rc != 0) {
		snprintf(error_r, size, "%s: server %s: plugin %s: init "
		    "refused its options", conf_where(where, sizeof(where),
		    cs->handler_file, cs->options_line ? cs->options_line :
		    cs->handler_line), srv->name, srv->plugin->path);
		return -1;
	}
	srv->initialized = true;
	return 0;
}

void
server_fini(struct ss_server *srv)
{
	if (!srv->initialized)
		return;
	srv->initialized = false;
	if (srv->abandoned != 0) {
		log_warning("server %s: %u request(s) still running; plugin "
		    "fini skipped", srv->name, srv->abandoned);
		return;
	}
	if (srv->handler->fini != NULL)
		srv->handler->fini(srv);
}

int
server_open(struct ss_server *srv)
{
	srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->wake_fd < 0 || srv->stop_fd < 0) {
		log_errno(LOG_ERR, "server %s: eventfd", srv->name);
		return -1;
	}
	/*
	 * A socket passed by systemd, or kept from before a reload, is
	 * bound and listening already.
	 */
	return srv->listen_fd >= 0 ? 0 : srv->transport->open(srv);
}

void
server_request_begin(struct ss_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	srv->in_flight++;
	pthread_mutex_unlock(&srv->lock);
}

void
server_request_end(struct ss_server *srv)
{
	bool was_full;

	pthread_mutex_lock(&srv->lock);
	was_full = srv->in_flight == (unsigned)srv->conf->max_children;
	srv->in_flight--;
	pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
	/* The loop stops polling the listener at the cap; tell it to resume. */
	if (was_full)
		server_wake(srv);
}

const char *
server_where(const struct ss_server *srv, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!srv->inherited || getsockname(srv->listen_fd,
	    (struct sockaddr *)&ss, &len) < 0)
		return srv->conf->listen;
	addr_format((struct sockaddr *)&ss, len, buf, size);
	return buf;
}

void
server_log_status(struct ss_server *srv, const char *state)
{
	const struct counters *c = srv->counters;
	char where[ADDR_NAME_MAX];

	log_notice("server %s: %s %s %s, %s, %d workers, handler %s %s: "
	    "requests: %u in flight, %llu since start (%llu ok, %llu failed, "
	    "%llu timed out, %llu cut), %llu refused, %llu bytes in, %llu "
	    "bytes out", srv->name, state, srv->transport->name,
	    server_where(srv, where, sizeof(where)), srv->concurrency->name,
	    srv->conf->workers, srv->handler->name, srv->handler->version,
	    atomic_load(&c->in_flight), counters_requests(c),
	    atomic_load(&c->ended[COUNTERS_OK]),
	    atomic_load(&c->ended[COUNTERS_FAILED]),
	    atomic_load(&c->ended[COUNTERS_TIMED_OUT]),
	    atomic_load(&c->ended[COUNTERS_CUT]), counters_refusals(c),
	    atomic_load(&c->bytes_in), atomic_load(&c->bytes_out));
}

static bool
server_has_room(struct ss_server *srv)
{
	bool room;

	pthread_mutex_lock(&srv->lock);
	room = srv->in_flight < (unsigned)srv->conf->max_children;
	pthread_mutex_unlock(&srv->lock);
	return room;
}

/*
 * After an accept error (EMFILE, ENFILE, ENOBUFS...) the listener rests
 * for SERVER_ACCEPT_BACKOFF instead of spinning on a socket that stays
 * readable; the error is logged once until an accept succeeds again,
 * and no more than once a second for the whole server (pool workers each
 * have their own backoff, and a limit can come and go).
 */
struct backoff {
	double retry_at;	/* 0: not resting */
	bool failing;
	bool logged;		/* the failing began with a line of its own */
};

/*
 * Takes one request off the listening socket: the request, or NULL when
 * there is none (or after an error, which starts a backoff).
 */
static struct ss_request *
server_accept_one(struct ss_server *srv, struct backoff *b)
{
	struct ss_request *req = request_new(srv);
	int r = -1;

	/* Accepted and marked as one, as far as fork() can tell. */
	if (req != NULL) {
		conntable_hold(srv->env->conns);
		r = srv->transport->accept(srv, req);
		conntable_mark(srv->env->conns, req->fd, true);
		conntable_release(srv->env->conns);
	}
	if (r == 1) {
		counters_accepted(srv->counters);
		if (b->failing && b->logged)
			log_notice("server %s: accepting again", srv->name);
		b->failing = false;
		if (!admit_accepted(req)) {
			request_free(req);
			return NULL;
		}
		log_debug("server %s: request from %s", srv->name, req->name);
		return req;
	}
	request_free(req);
	if (r < 0 && !atomic_load(&srv->stopping) && errno != EINVAL) {
		if (!b->failing)
			b->logged = ratelimit_log(&srv->shared->ratelimit, RATELIMIT_ACCEPT,
			    "server %s: accept (retrying every %gs): %s",
			    srv->name, SERVER_ACCEPT_BACKOFF, strerror(errno));
		b->failing = true;
		b->retry_at = clock_now() + SERVER_ACCEPT_BACKOFF;
	}
	return NULL;
}

/* Accepts and dispatches pending requests; returns how many. */
static int
server_accept(struct ss_server *srv, struct backoff *b)
{
	struct ss_request *req;
	int n;

	/*
	 * Once stopping, not one more: after a reload the socket belongs to
	 * the successor, whose code new clients must get.
	 */
	for (n = 0; n < SERVER_ACCEPT_BATCH && server_has_room(srv) &&
	    !atomic_load(&srv->stopping); n++) {
		req = server_accept_one(srv, b);
		if (req == NULL)
			break;
		server_request_begin(srv);
		srv->concurrency->dispatch(srv, req);
		if (srv->handler->service_actions != NULL)
			srv->handler->service_actions(srv);
	}
	return n;
}

/*
 * Each worker waits on an epoll set of its own holding the listening
 * socket with EPOLLEXCLUSIVE: a new connection wakes one idle worker,
 * not all of them (poll would wake every one, for one to get it). While
 * accepting rests after an error, the socket leaves the set.
 */
static int
server_work_watch(struct ss_server *srv, int ep, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE,
	    .data.fd = srv->listen_fd };

	if (epoll_ctl(ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, srv->listen_fd,
	    &ev) == 0)
		return 0;
	log_errno(LOG_ERR, "server %s: epoll_ctl", srv->name);
	return -1;
}

void
server_work(struct ss_server *srv)
{
	struct backoff backoff = { 0, false, false };
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = srv->stop_fd };
	struct epoll_event got[2];
	struct ss_request *req;
	int ep, n, i;
	bool ready, stop;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, srv->stop_fd, &ev) < 0 ||
	    server_work_watch(srv, ep, true) < 0) {
		log_errno(LOG_ERR, "server %s: epoll", srv->name);
		if (ep >= 0)
			close(ep);
		return;
	}
	for (;;) {
		n = epoll_wait(ep, got, 2, clock_poll_ms(backoff.retry_at));
		if (n < 0 && errno != EINTR) {
			log_errno(LOG_ERR, "server %s: epoll_wait", srv->name);
			break;
		}
		ready = stop = false;
		for (i = 0; i < n; i++) {
			if (got[i].data.fd == srv->stop_fd)
				stop = true;
			else
				ready = true;
		}
		/*
		 * Woken for a connection, a worker takes it even when it
		 * is stopping: EPOLLEXCLUSIVE woke no other waiter for it,
		 * and the workers of the server a reload started, on the
		 * same socket, would wait for it in vain.
		 */
		if (ready) {
			req = server_accept_one(srv, &backoff);
			if (req != NULL) {
				lifecycle_run(req);
				request_free(req);
			}
		}
		if (stop)
			break;
		if (ready && backoff.retry_at != 0 &&
		    server_work_watch(srv, ep, false) < 0)
			break;
		if (!ready && backoff.retry_at != 0 &&
		    clock_now() >= backoff.retry_at) {
			backoff.retry_at = 0;
			if (server_work_watch(srv, ep, true) < 0)
				break;
		}
	}
	close(ep);
}

/* When the loop must next wake up by itself (0: never). */
static double
server_next_wakeup(struct ss_server *srv, double last_request,
    double retry_at)
{
	double next = retry_at, due;

	if (srv->handler->service_actions != NULL) {
		double t = clock_now() + SERVER_SERVICE_INTERVAL;

		if (next == 0 || t < next)
			next = t;
	}
	if (srv->conf->timeout > 0) {
		double t = last_request + srv->conf->timeout;

		if (next == 0 || t < next)
			next = t;
	}
	/* Only while a count waits for its line (server_ratelimit_wake). */
	due = ratelimit_due(&srv->shared->ratelimit);
	if (due > 0 && (next == 0 || due < next))
		next = due;
	return next;
}

static void
server_serve(struct ss_server *srv)
{
	const struct ss_handler *h = srv->handler;
	/* Pools take requests themselves; the loop then only supervises. */
	bool dispatching = srv->concurrency->dispatch != NULL;
	double last_request = clock_now();
	struct backoff backoff = { 0, false, false };
	struct pollfd pfd[3];
	eventfd_t count;

	while (!atomic_load(&srv->stopping)) {
		bool listening = dispatching && server_has_room(srv) &&
		    clock_now() >= backoff.retry_at;
		double now, latest;
		int dispatched;

		pfd[0] = (struct pollfd){ .fd = srv->stop_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = srv->wake_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = listening ? srv->listen_fd : -1,
		    .events = POLLIN };
		if (poll(pfd, 3, clock_poll_ms(server_next_wakeup(srv,
		    last_request, backoff.retry_at))) < 0 && errno != EINTR) {
			log_errno(LOG_ERR, "server %s: poll", srv->name);
			break;
		}
		if (pfd[1].revents & POLLIN) {
			(void)eventfd_read(srv->wake_fd, &count);
			if (srv->concurrency->reap != NULL)
				srv->concurrency->reap(srv);
		}
		if (backoff.retry_at != 0 && clock_now() >= backoff.retry_at)
			backoff.retry_at = 0;
		dispatched = (pfd[2].revents & POLLIN) ?
		    server_accept(srv, &backoff) : 0;
		ratelimit_flush(&srv->shared->ratelimit, false);
		now = clock_now();
		/* Requests begun by threads, children and workers count too. */
		latest = (double)atomic_load(&srv->shared->last_request_ns) / 1e9;
		if (latest > last_request)
			last_request = latest;
		if (srv->conf->timeout > 0 &&
		    now - last_request >= srv->conf->timeout) {
			if (h->handle_timeout != NULL)
				h->handle_timeout(srv);
			last_request = now;
		}
		/* After a dispatch it already ran, once per request. */
		if (dispatched == 0 && h->service_actions != NULL)
			h->service_actions(srv);
	}
}

static void *
server_thread(void *arg)
{
	char altstack[CRASH_ALTSTACK_SIZE];
	struct ss_server *srv = arg;
	const struct concurrency_ops *model = srv->concurrency;
	unsigned left;

	crash_thread_begin(altstack);
	server_serve(srv);
	left = model->drain(srv, srv->stop_deadline);
	if (left > 0 && model->abort != NULL)
		model->abort(srv);
	if (left > 0)
		left = model->drain(srv, clock_now() + SERVER_ABORT_GRACE);
	if (left > 0)
		left = server_report_abandoned(srv);
	srv->abandoned = left;
	crash_thread_end();
	atomic_store(&srv->finished, true);
	(void)eventfd_write(srv->env->done_fd, 1);
	return NULL;
}

int
server_start(struct ss_server *srv)
{
	char where[ADDR_NAME_MAX];
	int err;

	if (srv->concurrency->start != NULL &&
	    srv->concurrency->start(srv) < 0)
		return -1;
	err = pthread_create(&srv->thread, NULL, server_thread, srv);
	if (err != 0) {
		log_error("server %s: cannot start: %s", srv->name,
		    strerror(err));
		return -1;
	}
	srv->running = true;
	log_notice("server %s: serving %s on %s%s (%s, %d workers, handler %s "
	    "%s)", srv->name, srv->transport->name, server_where(srv, where,
	    sizeof(where)), srv->inherited ? " passed by systemd" : "",
	    srv->concurrency->name, srv->conf->workers, srv->handler->name,
	    srv->handler->version);
	return 0;
}

void
server_stop(struct ss_server *srv, double deadline)
{
	if (atomic_load(&srv->stopping))
		return;
	/* Before `stopping`: once the loop sees it, it may close the socket. */
	/*
	 * A socket systemd passed stays systemd's: shutting it would break
	 * the next activation. It is only closed.
	 */
	if (srv->transport->stop_accepting != NULL && !srv->inherited &&
	    !srv->handed_over)
		srv->transport->stop_accepting(srv);
	srv->stop_deadline = srv->conf->block_on_close ? deadline :
	    clock_now();
	atomic_store(&srv->stopping, true);
	if (srv->stop_fd >= 0)
		(void)eventfd_write(srv->stop_fd, 1);
}

void
server_join(struct ss_server *srv)
{
	if (!srv->running)
		return;
	pthread_join(srv->thread, NULL);
	srv->running = false;
}

const char *
ss_server_name(ss_server *srv)
{
	return srv->name;
}

const char *
ss_server_transport(ss_server *srv)
{
	return srv->transport->name;
}

void *
ss_server_data(ss_server *srv)
{
	return srv->data;
}

void
ss_set_server_data(ss_server *srv, void *data)
{
	srv->data = data;
}

void
ss_log(ss_server *srv, int level, const char *fmt, ...)
{
	char prefix[320];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "server %s: plugin %s: ", srv->name,
	    srv->handler->name);
	va_start(ap, fmt);
	log_vmsg(level, prefix, fmt, ap);
	va_end(ap);
}
