/*
 * request.c - request I/O for plugins: ss_read, ss_readline, ss_getline,
 * ss_write and the per-request accessors, over the request's connection
 * table (conn.h). Each call is bounded as a whole by request_timeout and
 * max_request_time, and by the server's stop deadline once it stops.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "conn.h"
#include "conntable.h"
#include "persource.h"
#include "request.h"
#include "server_state.h"

static __thread struct ss_request *request_serving;

void
request_set_current(struct ss_request *req)
{
	request_serving = req;
}

struct ss_request *
request_current(void)
{
	return request_serving;
}

struct ss_request *
request_new(struct ss_server *srv)
{
	struct ss_request *req;

	/* The buffer is not cleared: only in[rpos..rlen) is ever read. */
	req = malloc(sizeof(*req));
	if (req == NULL)
		return NULL;
	memset(req, 0, offsetof(struct ss_request, rbuf));
	req->srv = srv;
	req->in = req->rbuf;
	req->rcap = sizeof(req->rbuf);
	req->fd = -1;
	req->peerlen = sizeof(req->peer);
	req->started = clock_now();
	return req;
}

void
request_accepted(struct ss_request *req)
{
	addr_format((struct sockaddr *)&req->peer, req->peerlen, req->name,
	    sizeof(req->name));
}

void
request_free(struct ss_request *req)
{
	if (req == NULL)
		return;
	if (req->counted)
		persource_release(req->srv->persource,
		    (const struct sockaddr *)&req->peer, req->peerlen);
	if (req->fd >= 0) {
		/* Unmarked and closed as one, as far as fork() can tell. */
		conntable_hold(req->srv->env->conns);
		conntable_mark(req->srv->env->conns, req->fd, false);
		req->conn->close(req);
		conntable_release(req->srv->env->conns);
	}
	if (req->in != req->rbuf)
		free(req->in);
	free(req->line);
	free(req->metrics);
	free(req->out);
	free(req);
}

/*
 * A call's deadline: request_timeout from now, but never past the
 * request's whole max_request_time, so a client that sends a line just
 * inside request_timeout cannot hold its place for ever.
 */
double
request_deadline(const struct ss_request *req)
{
	const struct conf_server *conf = req->srv->conf;
	double deadline = clock_now() + conf->request_timeout;

	if (conf->max_request_time > 0 &&
	    req->started + conf->max_request_time < deadline)
		deadline = req->started + conf->max_request_time;
	return deadline;
}

/*
 * Refills the input buffer from the connection; a datagram, read whole
 * at accept, reports end of input here. Returns what recv returned.
 */
static ssize_t
request_fill(struct ss_request *req, double *deadline)
{
	char *big;
	ssize_t r;

	req->rpos = req->rlen = 0;
	r = req->conn->read(req, req->in, req->rcap, deadline);
	if (r <= 0)
		return r;
	req->rlen = (size_t)r;
	/* Filled to the brim: more is coming, read it in bigger chunks. */
	if (req->in == req->rbuf && req->fd >= 0 &&
	    req->rlen == sizeof(req->rbuf) &&
	    (big = malloc(REQUEST_RBUF_BIG)) != NULL) {
		memcpy(big, req->rbuf, req->rlen);
		req->in = big;
		req->rcap = REQUEST_RBUF_BIG;
	}
	return r;
}

ssize_t
ss_read(ss_request *req, void *buf, size_t n)
{
	double deadline = request_deadline(req);
	size_t avail;
	ssize_t r;

	if (n == 0)
		return 0;
	if (req->rpos == req->rlen) {
		/* Large reads skip the buffer instead of copying through it. */
		if (n >= req->rcap)
			return req->conn->read(req, buf, n,
			    &deadline);
		r = request_fill(req, &deadline);
		if (r <= 0)
			return r;
	}
	avail = req->rlen - req->rpos;
	if (n > avail)
		n = avail;
	memcpy(buf, req->in + req->rpos, n);
	req->rpos += n;
	return (ssize_t)n;
}

/*
 * A line read waiting with nothing buffered is idle: once the daemon
 * stops, it ends at once as at end of input (server_end_idle shuts the
 * reading side of one already waiting) instead of holding the stop for
 * shutdown_timeout. What the client has sent already is still read: only
 * a wait for more is skipped.
 */
static ssize_t
request_fill_idle(struct ss_request *req, double *deadline)
{
	ssize_t r;

	if (req->fd < 0)
		return request_fill(req, deadline);
	/* Ordered against server_end_idle: one of the two sees the other. */
	atomic_store(&req->idle, true);
	if (atomic_load(&req->srv->end_idle) &&
	    req->conn->wait(req, POLLIN, 0) == 0) {
		req->rpos = req->rlen = 0;
		atomic_store(&req->cut, true);
		r = 0;
	} else {
		r = request_fill(req, deadline);
	}
	atomic_store(&req->idle, false);
	return r;
}

/*
 * Makes the line buffer hold at least `need` bytes, doubling from a small
 * start so short lines cost little, never beyond `most`.
 */
static int
request_line_grow(char **buf, size_t *cap, size_t need, size_t most)
{
	size_t size = *cap > 0 ? *cap : REQUEST_LINE_START;
	char *grown;

	while (size < need)
		size *= 2;
	if (size > most)
		size = most;
	grown = realloc(*buf, size);
	if (grown == NULL)
		return -1;
	*buf = grown;
	*cap = size;
	return 0;
}

/*
 * Reads one line into *buf (stored bytes from 0), NUL-terminated. With
 * `grow`, *buf is the request's own line buffer, reallocated as the line
 * needs up to limit + 1 bytes; without, it holds *cap bytes. Returns the
 * line's length, 0 at end of input, -1 on error or past `limit`.
 */
static ssize_t
request_line(struct ss_request *req, char **buf, size_t *cap, size_t limit,
    bool grow)
{
	double deadline = request_deadline(req);
	size_t stored = 0;

	for (;;) {
		const char *start, *nl;
		size_t take;
		ssize_t r;

		if (req->rpos == req->rlen) {
			r = stored == 0 ? request_fill_idle(req, &deadline) :
			    request_fill(req, &deadline);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
		}
		start = req->in + req->rpos;
		nl = memchr(start, '\n', req->rlen - req->rpos);
		take = nl ? (size_t)(nl - start) + 1 : req->rlen - req->rpos;
		if (stored + take > limit) {
			errno = EMSGSIZE;
			return -1;
		}
		if (grow && stored + take + 1 > *cap &&
		    request_line_grow(buf, cap, stored + take + 1, limit + 1) < 0)
			return -1;
		memcpy(*buf + stored, start, take);
		stored += take;
		req->rpos += take;
		if (nl != NULL)
			break;
	}
	if (*buf != NULL)
		(*buf)[stored] = '\0';
	return (ssize_t)stored;
}

ssize_t
ss_readline(ss_request *req, char *buf, size_t cap)
{
	size_t limit;

	if (cap < 2) {
		errno = EINVAL;
		return -1;
	}
	limit = cap - 1;
	if (limit > req->srv->conf->max_line)
		limit = req->srv->conf->max_line;
	return request_line(req, &buf, &cap, limit, false);
}

ssize_t
ss_getline(ss_request *req, const char **line_r)
{
	ssize_t r;

	r = request_line(req, &req->line, &req->linecap,
	    req->srv->conf->max_line, true);
	/* At end of input with no line buffer yet, still a string. */
	*line_r = r >= 0 && req->line != NULL ? req->line : "";
	return r;
}

ssize_t
ss_write(ss_request *req, const void *buf, size_t n)
{
	double deadline = request_deadline(req);

	return req->conn->write(req, buf, n, &deadline);
}

int
ss_printf(ss_request *req, const char *fmt, ...)
{
	char small[1024], *big = NULL;
	va_list ap;
	ssize_t r;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if ((size_t)len >= sizeof(small)) {
		big = malloc((size_t)len + 1);
		if (big == NULL)
			return -1;
		va_start(ap, fmt);
		vsnprintf(big, (size_t)len + 1, fmt, ap);
		va_end(ap);
	}
	r = ss_write(req, big ? big : small, (size_t)len);
	free(big);
	return r < 0 ? -1 : 0;
}

const struct sockaddr *
ss_client_address(ss_request *req, socklen_t *len)
{
	if (len != NULL)
		*len = req->peerlen;
	return (const struct sockaddr *)&req->peer;
}

const char *
ss_client_name(ss_request *req)
{
	return req->name;
}

ss_server *
ss_server_of(ss_request *req)
{
	return req->srv;
}

void *
ss_request_data(ss_request *req)
{
	return req->data;
}

void
ss_set_request_data(ss_request *req, void *data)
{
	req->data = data;
}
