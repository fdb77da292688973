/*
 * mode_bulk.c - each connection streams lines as fast as the server takes
 * them and reads the echo back as fast as it comes, with at most
 * SS_BULK_WINDOW bytes out and not yet returned. Every byte returned is
 * checked against the stream; each line's latency runs from the moment
 * its last byte was sent to the moment its '\n' came back.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bench.h"

static void
bulk_reset(struct ss_conn *cn)
{
	cn->sent = cn->rcvd = cn->lines_sent = cn->lines_rcvd = 0;
}

static void
bulk_pump(struct ss_conn *cn)
{
	struct ss_worker *w = cn->w;
	const struct ss_payload *p = &w->run->payload;
	uint64_t now = ss_now_ns();

	while (cn->writable && !ss_worker_stopping(w, now)) {
		/* A server may send back more than it got (expect any). */
		uint64_t inflight = cn->sent > cn->rcvd ?
		    cn->sent - cn->rcvd : 0;
		size_t want;
		ssize_t n;

		if (inflight >= SS_BULK_WINDOW)
			return;
		want = SS_BULK_WINDOW - inflight;
		if (want > SS_PAYLOAD_CHUNK)
			want = SS_PAYLOAD_CHUNK;
		n = send(cn->fd, ss_payload_stream(p, cn->sent), want,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				cn->writable = false;
			else
				ss_conn_fail(cn, errno);
			return;
		}
		now = ss_now_ns();
		if (inflight == 0)
			cn->deadline = now + w->run->set->timeout_ns;
		cn->sent += (uint64_t)n;
		for (; cn->lines_sent < cn->sent / p->size; cn->lines_sent++)
			cn->ring[cn->lines_sent % cn->nring] = now;
	}
}

/* How many lines end in buf: known from offsets, unless replies vary. */
static uint64_t
bulk_lines_in(const struct ss_conn *cn, const char *buf, size_t n)
{
	const struct ss_payload *p = &cn->w->run->payload;
	uint64_t lines = 0;
	const char *nl;

	if (p->expect != SS_EXPECT_ANY)
		return (cn->rcvd + n) / p->size - cn->rcvd / p->size;
	while ((nl = memchr(buf, '\n', n)) != NULL) {
		lines++;
		n -= (size_t)(nl - buf) + 1;
		buf = nl + 1;
	}
	return lines;
}

/* Takes in n bytes just read; false when they are not what was sent. */
static bool
bulk_take(struct ss_conn *cn, size_t n)
{
	const struct ss_payload *p = &cn->w->run->payload;
	uint64_t now = ss_now_ns(), lines;

	if (p->expect != SS_EXPECT_ANY &&
	    memcmp(cn->rbuf, ss_payload_reply_stream(p, cn->rcvd), n) != 0)
		return false;
	lines = bulk_lines_in(cn, cn->rbuf, n);
	for (; lines > 0; lines--, cn->lines_rcvd++) {
		/* A reply line with no request line sent for it (expect
		 * any) has no start time. */
		uint64_t t0 = cn->lines_rcvd < cn->lines_sent ?
		    cn->ring[cn->lines_rcvd % cn->nring] : now;

		ss_conn_record(cn, t0, now, 0);
	}
	ss_conn_bytes(cn, now, n);
	cn->rcvd += n;
	cn->deadline = now + cn->w->run->set->timeout_ns;
	return true;
}

static void
bulk_drain(struct ss_conn *cn)
{
	for (;;) {
		ssize_t n = recv(cn->fd, cn->rbuf, cn->rcap, 0);

		if (n > 0) {
			if (!bulk_take(cn, (size_t)n)) {
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

static void
bulk_stream(struct ss_conn *cn)
{
	bulk_reset(cn);
	cn->state = SS_STREAMING;
	cn->writable = true;
	bulk_pump(cn);
}

static void
bulk_start(struct ss_conn *cn)
{
	if (ss_conn_open(cn) == 1)
		bulk_stream(cn);
}

static void
bulk_event(struct ss_conn *cn, uint32_t events)
{
	if (cn->state == SS_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ||
		    ss_conn_finish_connect(cn) < 0)
			return;
		bulk_stream(cn);
		return;
	}
	if (cn->state != SS_STREAMING)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
		bulk_drain(cn);
	if (cn->state != SS_STREAMING)
		return;
	if (events & EPOLLOUT)
		cn->writable = true;
	bulk_pump(cn);
}

static void
bulk_tick(struct ss_conn *cn, uint64_t now)
{
	if (now < cn->deadline)
		return;
	if (cn->state == SS_IDLE) {
		bulk_start(cn);
	} else if (cn->state == SS_CONNECTING ||
	    (cn->state == SS_STREAMING && cn->sent > cn->rcvd)) {
		ss_count(&cn->w->c.timeouts, 1);
		ss_conn_close(cn, 0);
	}
}

const struct ss_mode_ops ss_mode_bulk = {
	.name = "bulk", .socktype = SOCK_STREAM, .default_size = 16384,
	.start = bulk_start, .event = bulk_event, .tick = bulk_tick,
};
