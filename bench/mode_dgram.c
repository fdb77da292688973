/*
 * mode_dgram.c - request/reply over datagrams (udp, unix-dgram): each
 * slot has a socket of its own with one datagram in flight. A datagram
 * not answered within the timeout counts as lost and the slot sends the
 * next; a reply to an older request that comes in after that is dropped,
 * not counted a mismatch.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "bench.h"

/* How long a slot waits when the socket's send buffer is full. */
#define DGRAM_BUSY_NS	SS_NS_PER_MS

static void
dgram_send(struct ss_conn *cn)
{
	size_t size = cn->w->run->set->size;
	ssize_t n;

	do
		n = send(cn->fd, cn->sbuf, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0) {
		cn->state = SS_WAITING;
		cn->deadline = cn->t0 + cn->w->run->set->timeout_ns;
		return;
	}
	cn->state = SS_SENDING;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		cn->deadline = ss_now_ns() + DGRAM_BUSY_NS;
		return;
	}
	/* ECONNREFUSED: nobody listens there (an ICMP error, for udp). */
	ss_count(&cn->w->c.connect_errors, 1);
	ss_conn_close(cn, SS_RETRY_NS);
}

static void
dgram_next(struct ss_conn *cn)
{
	struct ss_worker *w = cn->w;
	uint64_t now = ss_now_ns();

	if (!ss_conn_take_ticket(cn))
		return;
	cn->seq = w->next_seq++;
	ss_payload_request(&w->run->payload, cn->seq, cn->sbuf, cn->ebuf);
	cn->t0 = now;
	cn->deadline = now + w->run->set->timeout_ns;
	dgram_send(cn);
}

static void
dgram_start(struct ss_conn *cn)
{
	/* A datagram socket's connect only sets its peer: done at once. */
	if (ss_conn_open(cn) >= 0)
		dgram_next(cn);
}

/* A datagram came in while the slot waits for its reply. */
static void
dgram_reply(struct ss_conn *cn, size_t n, bool truncated)
{
	struct ss_worker *w = cn->w;
	const struct ss_payload *p = &w->run->payload;
	uint64_t seq;

	if (!truncated && ss_payload_check(p, cn->ebuf, cn->rbuf, n)) {
		ss_conn_record(cn, cn->t0, ss_now_ns(), n);
		dgram_next(cn);
		return;
	}
	/* Sequence numbers wrap at 10 digits, as in the payload. */
	seq = ss_payload_seq_of(p, cn->rbuf, n);
	if (!truncated && seq != UINT64_MAX &&
	    seq != cn->seq % 10000000000ull)
		return;
	ss_count(&w->c.mismatches, 1);
	dgram_next(cn);
}

static void
dgram_event(struct ss_conn *cn, uint32_t events)
{
	if (!(events & (EPOLLIN | EPOLLERR)) || cn->fd < 0)
		return;
	for (;;) {
		ssize_t n = recv(cn->fd, cn->rbuf, cn->rcap, MSG_TRUNC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			ss_count(&cn->w->c.connect_errors, 1);
			ss_conn_close(cn, SS_RETRY_NS);
			return;
		}
		/* Late replies to lost requests land here too: dropped. */
		if (cn->state != SS_WAITING)
			continue;
		dgram_reply(cn, (size_t)n > cn->rcap ? cn->rcap : (size_t)n,
		    (size_t)n > cn->rcap);
		if (cn->fd < 0)
			return;
	}
}

static void
dgram_tick(struct ss_conn *cn, uint64_t now)
{
	if (now < cn->deadline)
		return;
	switch (cn->state) {
	case SS_IDLE:
		dgram_start(cn);
		return;
	case SS_SENDING:
		dgram_send(cn);
		return;
	case SS_WAITING:
		ss_count(&cn->w->c.lost, 1);
		dgram_next(cn);
		return;
	default:
		return;
	}
}

const struct ss_mode_ops ss_mode_dgram = {
	.name = "dgram", .socktype = SOCK_DGRAM, .default_size = 64,
	.start = dgram_start, .event = dgram_event, .tick = dgram_tick,
};
