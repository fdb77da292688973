/*
 * conn_socket.c - a request's I/O on a stream socket (tcp, unix): the
 * plain connection, under which a TLS table will sit one day.
 *
 * Connections are blocking sockets: a call costs one recv or send, its
 * wait included, bounded by the socket's timeouts. Each call is bounded
 * as a whole by its deadline, and by the server's stop deadline once the
 * server stops.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "request.h"
#include "server_state.h"

/*
 * The time a call has left until *deadline, which shrinks to the stop
 * deadline once the server stops (in a forked child the parent enforces
 * that one, by signal).
 */
static double
socket_left(struct ss_request *req, double *deadline)
{
	struct ss_server *srv = req->srv;

	if (!srv->child && atomic_load(&srv->stopping) &&
	    srv->stop_deadline < *deadline)
		*deadline = srv->stop_deadline;
	if (atomic_load(&srv->hurry))
		return 0;
	return *deadline - clock_now();
}

/*
 * Sets SO_RCVTIMEO or SO_SNDTIMEO to `left` seconds unless what is set
 * (*armed, 0 for nothing) is as good: within 1% and 5 ms (the kernel
 * rounds to its tick anyway). Calls mostly start with a whole
 * request_timeout, which is what a tcp connection inherits from its
 * listening socket, so this is mostly no syscall at all.
 */
static int
socket_arm(struct ss_request *req, int opt, double *armed, double left)
{
	struct timeval tv;

	if (*armed > 0 && *armed <= left + left / 100 + 0.005 &&
	    *armed >= left - left / 100 - 0.005)
		return 0;
	tv = clock_timeval(left);
	if (setsockopt(req->fd, SOL_SOCKET, opt, &tv, sizeof(tv)) < 0)
		return -1;
	*armed = left;
	return 0;
}

/*
 * Stream I/O is one blocking recv or send per call, the wait included,
 * bounded by the socket's timeouts: no poll, and no try that fails with
 * EAGAIN first. A request still blocked at the server's stop deadline
 * is woken by server_cut shutting its connection down.
 */
static ssize_t
socket_read(struct ss_request *req, void *buf, size_t n, double *deadline)
{
	double left;
	ssize_t r;

	/* Unarmed (unix): a first try that cannot block spares the arming. */
	if (req->rcv_armed == 0) {
		r = recv(req->fd, buf, n, MSG_DONTWAIT);
		if (r >= 0) {
			req->bytes_in += (size_t)r;
			return r;
		}
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
	for (;;) {
		left = socket_left(req, deadline);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (socket_arm(req, SO_RCVTIMEO, &req->rcv_armed, left) < 0)
			return -1;
		r = recv(req->fd, buf, n, 0);
		if (r >= 0) {
			req->bytes_in += (size_t)r;
			return r;
		}
		/* EAGAIN: the timeout, or the kernel's rounding of it. */
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
	}
}

static ssize_t
socket_write(struct ss_request *req, const void *buf, size_t n,
    double *deadline)
{
	const char *p = buf;
	size_t done = 0;
	double left;
	ssize_t r;

	if (req->snd_armed == 0) {
		r = send(req->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			done = (size_t)r;
			req->bytes_out += (size_t)r;
		} else if (r < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK) {
			return -1;
		}
	}
	while (done < n) {
		left = socket_left(req, deadline);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (socket_arm(req, SO_SNDTIMEO, &req->snd_armed, left) < 0)
			return -1;
		r = send(req->fd, p + done, n - done, MSG_NOSIGNAL);
		if (r > 0) {
			done += (size_t)r;
			req->bytes_out += (size_t)r;
			continue;
		}
		if (r < 0 && errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK)
			return -1;
	}
	return (ssize_t)n;
}


static int
socket_wait(struct ss_request *req, int events, double deadline)
{
	struct pollfd pfd = { .fd = req->fd, .events = (short)events };
	int r;

	do
		r = poll(&pfd, 1, deadline > 0 ? clock_poll_ms(deadline) : 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : r;
}

/* Async-signal-safe: a forked child's signal handler calls it. */
static void
socket_shutdown(struct ss_request *req, int how)
{
	(void)shutdown(req->fd, how);
}

static void
socket_close(struct ss_request *req)
{
	close(req->fd);
}

const struct conn_ops conn_socket_ops = {
	.name = "socket",
	.read = socket_read,
	.write = socket_write,
	.wait = socket_wait,
	.shutdown = socket_shutdown,
	.close = socket_close,
};
