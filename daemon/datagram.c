/*
 * datagram.c - requests of datagram transports (DatagramRequestHandler):
 * the datagram is read whole at accept and is the request's whole input;
 * what the handler writes is collected and sent back in one datagram
 * after finish. Drops are logged through ratelimit.h, so a flood of
 * them is one line a second with a count.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "clock.h"
#include "conf.h"
#include "conn.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "server_state.h"
#include "transport.h"

int
datagram_accept(struct ss_server *srv, struct ss_request *req)
{
	size_t max = srv->conf->max_packet_size;
	ssize_t n;
	char *buf;

	/* One byte more than allowed; MSG_TRUNC reports the real size. */
	buf = malloc(max + 1);
	if (buf == NULL)
		return -1;
	n = recvfrom(srv->listen_fd, buf, max + 1, MSG_TRUNC | MSG_DONTWAIT,
	    (struct sockaddr *)&req->peer, &req->peerlen);
	if (n < 0) {
		free(buf);
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -1;
	}
	/* Linux reports an unbound unix sender with no address at all. */
	if (req->peerlen < sizeof(sa_family_t)) {
		req->peer.ss_family = srv->conf->addr.ss_family;
		req->peerlen = sizeof(sa_family_t);
	}
	request_accepted(req);
	if ((size_t)n > max) {
		ratelimit_log(&srv->shared->ratelimit, RATELIMIT_OVERSIZE,
		    "server %s: datagram of %zd bytes from %s exceeds "
		    "max_packet_size %zu; dropped", srv->name, n, req->name,
		    max);
		free(buf);
		return 0;
	}
	req->in = buf;
	req->rpos = 0;
	req->rlen = (size_t)n;
	req->bytes_in = (size_t)n;
	req->conn = &conn_datagram_ops;
	return 1;
}

/* The datagram, read whole at accept, is all the input there is. */
static ssize_t
datagram_read(struct ss_request *req, void *buf, size_t n, double *deadline)
{
	(void)req;
	(void)buf;
	(void)n;
	(void)deadline;
	return 0;
}

/* Appended to the reply that datagram_complete sends. */
static ssize_t
datagram_write(struct ss_request *req, const void *buf, size_t n,
    double *deadline)
{
	size_t max = req->srv->conf->max_packet_size;
	char *grown;

	(void)deadline;
	if (n > max - req->outlen) {
		errno = EMSGSIZE;
		return -1;
	}
	grown = realloc(req->out, req->outlen + n);
	if (grown == NULL && req->outlen + n > 0)
		return -1;
	req->out = grown;
	memcpy(req->out + req->outlen, buf, n);
	req->outlen += n;
	return (ssize_t)n;
}

/* Never a wait: what there is is all there. */
static int
datagram_wait(struct ss_request *req, int events, double deadline)
{
	(void)req;
	(void)events;
	(void)deadline;
	return 1;
}

/* Nothing to shut or close: the socket is the server's. */
static void
datagram_shutdown(struct ss_request *req, int how)
{
	(void)req;
	(void)how;
}

static void
datagram_close(struct ss_request *req)
{
	(void)req;
}

const struct conn_ops conn_datagram_ops = {
	.name = "datagram",
	.read = datagram_read,
	.write = datagram_write,
	.wait = datagram_wait,
	.shutdown = datagram_shutdown,
	.close = datagram_close,
};

static bool
datagram_unnamed(const struct ss_request *req)
{
	return req->peer.ss_family == AF_UNIX &&
	    req->peerlen <= offsetof(struct sockaddr_un, sun_path);
}

/*
 * A reply that cannot go is the client's doing (its socket has no name,
 * is gone, or is not read), hence info; and, from a flood, rate-limited.
 */
int
datagram_complete(struct ss_request *req)
{
	struct ss_server *srv = req->srv;
	double deadline = clock_now() + srv->conf->request_timeout;
	struct pollfd pfd = { .fd = srv->listen_fd, .events = POLLOUT };
	const char *error;

	if (req->outlen == 0)
		return 0;
	if (datagram_unnamed(req)) {
		ratelimit_log(&srv->shared->ratelimit, RATELIMIT_UNDELIVERABLE,
		    "server %s: reply to %s undeliverable: the sender's "
		    "socket has no name (%zu bytes dropped)", srv->name,
		    req->name, req->outlen);
		return -1;
	}
	for (;;) {
		if (sendto(srv->listen_fd, req->out, req->outlen, MSG_NOSIGNAL,
		    (struct sockaddr *)&req->peer, req->peerlen) >= 0) {
			req->bytes_out = req->outlen;
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			error = strerror(errno);
			break;
		}
		if (errno != EINTR && poll(&pfd, 1, clock_poll_ms(deadline)) == 0) {
			error = "timed out";
			break;
		}
	}
	ratelimit_log(&srv->shared->ratelimit, RATELIMIT_UNDELIVERABLE,
	    "server %s: reply to %s undeliverable: %s", srv->name, req->name,
	    error);
	return -1;
}
