/*
 * worker.c - one thread's event loop: its connection slots, the epoll set
 * they share, the periodic tick for timeouts and retries, and the
 * accounting every mode uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* Timeouts and retries are checked this often. */
#define TICK_NS		(10 * SS_NS_PER_MS)
#define MAX_EVENTS	256
/* How long the end waits for servers to close their side. */
#define WIND_DOWN_NS	(200 * SS_NS_PER_MS)

uint64_t
ss_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SS_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static int
conn_init(struct ss_conn *cn, struct ss_worker *w)
{
	const struct ss_settings *set = w->run->set;
	size_t size = set->size;

	cn->w = w;
	cn->fd = -1;
	cn->state = SS_IDLE;
	/* Room for a reply twice the request (expect any) or a bulk read. */
	cn->rcap = set->mode == &ss_mode_bulk ? SS_PAYLOAD_CHUNK :
	    (size * 2 > 4096 ? size * 2 : 4096);
	cn->rbuf = malloc(cn->rcap);
	if (set->mode == &ss_mode_bulk) {
		cn->nring = SS_BULK_WINDOW / size + 2;
		cn->ring = calloc(cn->nring, sizeof(*cn->ring));
		return cn->rbuf != NULL && cn->ring != NULL ? 0 : -1;
	}
	cn->sbuf = malloc(size);
	cn->ebuf = malloc(size);
	return cn->rbuf && cn->sbuf && cn->ebuf ? 0 : -1;
}

int
ss_worker_init(struct ss_worker *w, struct ss_run *run, int nconns)
{
	memset(w, 0, sizeof(*w));
	w->run = run;
	w->nconns = nconns;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->conns = calloc((size_t)nconns, sizeof(*w->conns));
	if (w->epfd < 0 || w->conns == NULL)
		return -1;
	for (int i = 0; i < nconns; i++)
		if (conn_init(&w->conns[i], w) < 0)
			return -1;
	return 0;
}

void
ss_worker_free(struct ss_worker *w)
{
	for (int i = 0; w->conns != NULL && i < w->nconns; i++) {
		struct ss_conn *cn = &w->conns[i];

		if (cn->fd >= 0)
			close(cn->fd);
		free(cn->sbuf);
		free(cn->ebuf);
		free(cn->rbuf);
		free(cn->ring);
	}
	free(w->conns);
	if (w->epfd >= 0)
		close(w->epfd);
}

bool
ss_worker_measuring(const struct ss_worker *w, uint64_t now)
{
	return now >= w->run->measure_ns && now < w->run->end_ns;
}

bool
ss_worker_stopping(const struct ss_worker *w, uint64_t now)
{
	return now >= w->run->end_ns ||
	    atomic_load_explicit(&w->run->stop, memory_order_relaxed);
}

int
ss_conn_open(struct ss_conn *cn)
{
	struct ss_run *run = cn->w->run;
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = cn,
	};
	bool connected;
	int fd;

	fd = ss_target_connect(&run->set->target, &connected);
	if (fd >= 0 && epoll_ctl(cn->w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		ss_count(&cn->w->c.connect_errors, 1);
		cn->state = SS_IDLE;
		cn->deadline = ss_now_ns() + SS_RETRY_NS;
		return -1;
	}
	cn->fd = fd;
	if (connected)
		return 1;
	cn->state = SS_CONNECTING;
	cn->deadline = ss_now_ns() + run->set->timeout_ns;
	return 0;
}

void
ss_conn_close(struct ss_conn *cn, uint64_t delay_ns)
{
	/* Closing the only descriptor also takes it out of the epoll set. */
	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
	cn->state = SS_IDLE;
	cn->deadline = ss_now_ns() + delay_ns;
}

int
ss_conn_finish_connect(struct ss_conn *cn)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == 0)
		return 0;
	ss_count(&cn->w->c.connect_errors, 1);
	ss_conn_close(cn, SS_RETRY_NS);
	return -1;
}

bool
ss_conn_take_ticket(struct ss_conn *cn)
{
	struct ss_run *run = cn->w->run;

	/* Warm-up requests are not counted, so they take no ticket. */
	if (run->set->max_requests == 0 || ss_now_ns() < run->measure_ns ||
	    atomic_fetch_sub(&run->tickets, 1) > 0)
		return true;
	ss_conn_close(cn, 0);
	cn->state = SS_DONE;
	return false;
}

void
ss_conn_record(struct ss_conn *cn, uint64_t t0, uint64_t now, size_t n)
{
	struct ss_worker *w = cn->w;

	cn->served = true;
	if (!ss_worker_measuring(w, now))
		return;
	w->last_reply_ns = now;
	ss_count(&w->c.requests, 1);
	ss_count(&w->c.bytes, n);
	ss_hist_record(&w->hist, now - t0);
}

void
ss_conn_bytes(struct ss_conn *cn, uint64_t now, size_t n)
{
	if (ss_worker_measuring(cn->w, now))
		ss_count(&cn->w->c.bytes, n);
}

void
ss_conn_fail(struct ss_conn *cn, int err)
{
	(void)err;
	if (cn->state == SS_CONNECTING)
		ss_count(&cn->w->c.connect_errors, 1);
	else
		ss_count(&cn->w->c.resets, 1);
	ss_conn_close(cn, SS_RETRY_NS);
}

/* Runs the tick of every live slot; returns how many are live. */
static int
worker_tick(struct ss_worker *w, uint64_t now)
{
	const struct ss_mode_ops *ops = w->run->set->mode;
	int live = 0;

	for (int i = 0; i < w->nconns; i++) {
		struct ss_conn *cn = &w->conns[i];

		if (cn->state == SS_DONE)
			continue;
		ops->tick(cn, now);
		live += cn->state != SS_DONE;
	}
	return live;
}

/*
 * At the end, stream connections are shut down for writing and read
 * until the server closes them too (for at most WIND_DOWN_NS), so that
 * servers see a clean end of input instead of a reset: closing a socket
 * with a reply still unread would send one.
 */
static void
worker_wind_down(struct ss_worker *w)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t until = ss_now_ns() + WIND_DOWN_NS;
	char buf[SS_PAYLOAD_CHUNK];
	int open = 0;

	for (int i = 0; i < w->nconns; i++) {
		struct ss_conn *cn = &w->conns[i];

		if (cn->fd < 0)
			continue;
		if (w->run->set->target.socktype != SOCK_STREAM ||
		    cn->state == SS_CONNECTING ||
		    shutdown(cn->fd, SHUT_WR) < 0) {
			ss_conn_close(cn, 0);
			continue;
		}
		cn->state = SS_DONE;
		open++;
	}
	while (open > 0 && ss_now_ns() < until) {
		int n = epoll_wait(w->epfd, evs, MAX_EVENTS,
		    (int)((until - ss_now_ns()) / SS_NS_PER_MS) + 1);

		for (int i = 0; i < n; i++) {
			struct ss_conn *cn = evs[i].data.ptr;
			ssize_t r;

			while (cn->fd >= 0 &&
			    (r = recv(cn->fd, buf, sizeof(buf), 0)) != 0)
				if (r < 0 && errno != EINTR)
					break;
			if (cn->fd >= 0 && (r == 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK))) {
				ss_conn_close(cn, 0);
				open--;
			}
		}
	}
}

void *
ss_worker_main(void *arg)
{
	struct ss_worker *w = arg;
	const struct ss_mode_ops *ops = w->run->set->mode;
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now, next_tick;

	for (int i = 0; i < w->nconns; i++)
		ops->start(&w->conns[i]);
	now = ss_now_ns();
	next_tick = now + TICK_NS;
	while (!ss_worker_stopping(w, now)) {
		int n, ms = (int)((next_tick - now) / SS_NS_PER_MS) + 1;

		n = epoll_wait(w->epfd, evs, MAX_EVENTS, ms);
		for (int i = 0; i < n; i++)
			ops->event(evs[i].data.ptr, evs[i].events);
		now = ss_now_ns();
		if (now < next_tick)
			continue;
		next_tick = now + TICK_NS;
		/* All slots done (-n): the run ended with the last reply. */
		if (worker_tick(w, now) == 0) {
			if (w->last_reply_ns != 0)
				now = w->last_reply_ns;
			break;
		}
	}
	w->finished_ns = now;
	worker_wind_down(w);
	atomic_fetch_sub(&w->run->running, 1);
	return NULL;
}
