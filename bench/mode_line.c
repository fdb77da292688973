/*
 * mode_line.c - the request/reply modes on stream sockets: one line out,
 * one line back.
 *
 *   pingpong  persistent connections, each with one request in flight;
 *   connect   a new connection per request: connect, one line, the
 *             reply, close (the latency includes the connect);
 *   idle      one round trip per connection, then the connection is held
 *             open and idle until the end (memory per connection).
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bench.h"

#define EV_ANY_ERR	(EPOLLERR | EPOLLHUP)

static void line_send(struct ss_conn *cn);

/* Readies the next request in the slot's buffers; false: no tickets. */
static bool
line_prepare(struct ss_conn *cn, uint64_t now)
{
	struct ss_worker *w = cn->w;

	if (!ss_conn_take_ticket(cn))
		return false;
	cn->seq = w->next_seq++;
	ss_payload_request(&w->run->payload, cn->seq, cn->sbuf, cn->ebuf);
	cn->soff = cn->roff = 0;
	cn->t0 = now;
	cn->deadline = now + w->run->set->timeout_ns;
	return true;
}

/* Connected: send the request prepared, or prepare one first. */
static void
line_go(struct ss_conn *cn, bool prepared)
{
	if (!prepared && !line_prepare(cn, ss_now_ns()))
		return;
	cn->state = SS_SENDING;
	line_send(cn);
}

/* An idle-mode slot has connected and been answered, or given up. */
static void
line_settle(struct ss_conn *cn)
{
	if (cn->settled)
		return;
	cn->settled = true;
	atomic_fetch_add(&cn->w->run->settled, 1);
}

static void
pingpong_start(struct ss_conn *cn)
{
	int r = ss_conn_open(cn);

	if (r == 1)
		line_go(cn, false);
	else if (r < 0 && cn->w->run->set->mode == &ss_mode_idle)
		line_settle(cn);
}

static void
connect_start(struct ss_conn *cn)
{
	int r;

	if (!line_prepare(cn, ss_now_ns()))
		return;
	r = ss_conn_open(cn);
	if (r == 1)
		line_go(cn, true);
}

/* A whole reply of n bytes is in rbuf. */
static void
line_complete(struct ss_conn *cn, size_t n)
{
	struct ss_worker *w = cn->w;
	const struct ss_mode_ops *mode = w->run->set->mode;
	uint64_t now = ss_now_ns();

	if (!ss_payload_check(&w->run->payload, cn->ebuf, cn->rbuf, n)) {
		/* The stream may be out of step now: start afresh. */
		ss_count(&w->c.mismatches, 1);
		ss_conn_close(cn, 0);
		if (mode == &ss_mode_idle)
			line_settle(cn);
		return;
	}
	ss_conn_record(cn, cn->t0, now, n);
	if (mode == &ss_mode_pingpong) {
		line_go(cn, false);
	} else if (mode == &ss_mode_connect) {
		ss_conn_close(cn, 0);
		connect_start(cn);
	} else {
		cn->state = SS_HOLDING;
		line_settle(cn);
	}
}

static void
line_send(struct ss_conn *cn)
{
	size_t size = cn->w->run->set->size;

	while (cn->soff < size) {
		ssize_t n = send(cn->fd, cn->sbuf + cn->soff, size - cn->soff,
		    MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ss_conn_fail(cn, errno);
			return;
		}
		cn->soff += (size_t)n;
	}
	/* The reply raises a fresh edge when it comes: no read until then. */
	cn->state = SS_WAITING;
}

/* Reads until the reply's '\n', the socket runs dry, or it fails. */
static void
line_recv(struct ss_conn *cn)
{
	for (;;) {
		ssize_t n = recv(cn->fd, cn->rbuf + cn->roff,
		    cn->rcap - cn->roff, 0);
		char *nl;

		if (n > 0) {
			nl = memchr(cn->rbuf + cn->roff, '\n', (size_t)n);
			cn->roff += (size_t)n;
			if (nl != NULL && (size_t)(nl - cn->rbuf) + 1 ==
			    cn->roff) {
				line_complete(cn, cn->roff);
				return;
			}
			/* Bytes after the line, or a line that does not
			 * fit: either way not the reply to this request. */
			if (nl != NULL || cn->roff == cn->rcap) {
				ss_count(&cn->w->c.mismatches, 1);
				ss_conn_close(cn, 0);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		ss_conn_fail(cn, n == 0 ? ECONNRESET : errno);
		return;
	}
}

/* A held connection should hear nothing: data or a close is counted. */
static void
line_hold_event(struct ss_conn *cn)
{
	char buf[256];
	ssize_t n = recv(cn->fd, buf, sizeof(buf), 0);

	if (n > 0) {
		ss_count(&cn->w->c.mismatches, 1);
		ss_conn_close(cn, 0);
	} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		ss_conn_fail(cn, n == 0 ? ECONNRESET : errno);
	}
}

static void
line_event(struct ss_conn *cn, uint32_t events)
{
	switch (cn->state) {
	case SS_CONNECTING:
		if (!(events & (EPOLLOUT | EV_ANY_ERR)))
			return;
		if (ss_conn_finish_connect(cn) < 0) {
			if (cn->w->run->set->mode == &ss_mode_idle)
				line_settle(cn);
			return;
		}
		line_go(cn, cn->w->run->set->mode == &ss_mode_connect);
		return;
	case SS_SENDING:
		if (events & (EPOLLOUT | EV_ANY_ERR))
			line_send(cn);
		return;
	case SS_WAITING:
		if (events & (EPOLLIN | EPOLLRDHUP | EV_ANY_ERR))
			line_recv(cn);
		return;
	case SS_HOLDING:
		if (events & (EPOLLIN | EPOLLRDHUP | EV_ANY_ERR))
			line_hold_event(cn);
		return;
	default:
		return;
	}
}

static void
line_tick(struct ss_conn *cn, uint64_t now)
{
	const struct ss_mode_ops *mode = cn->w->run->set->mode;

	if (now < cn->deadline)
		return;
	switch (cn->state) {
	case SS_IDLE:
		mode->start(cn);
		return;
	case SS_WAITING:
		/* A pool serves only so many at once; the rest wait in the
		 * listen queue, and that is what idle mode measures. */
		if (mode == &ss_mode_idle) {
			line_settle(cn);
			cn->deadline = UINT64_MAX;
			return;
		}
		/* FALLTHROUGH */
	case SS_CONNECTING:
	case SS_SENDING:
		ss_count(&cn->w->c.timeouts, 1);
		ss_conn_close(cn, 0);
		if (mode == &ss_mode_idle)
			line_settle(cn);
		return;
	default:
		return;
	}
}

const struct ss_mode_ops ss_mode_pingpong = {
	.name = "pingpong", .socktype = SOCK_STREAM, .default_size = 64,
	.start = pingpong_start, .event = line_event, .tick = line_tick,
};

const struct ss_mode_ops ss_mode_connect = {
	.name = "connect", .socktype = SOCK_STREAM, .default_size = 64,
	.start = connect_start, .event = line_event, .tick = line_tick,
};

const struct ss_mode_ops ss_mode_idle = {
	.name = "idle", .socktype = SOCK_STREAM, .default_size = 64,
	.start = pingpong_start, .event = line_event, .tick = line_tick,
};
