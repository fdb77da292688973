/*
 * request.h - one request (a stream connection or a datagram), its
 * buffered input, its pending reply and the plugin's per-request state.
 */
#ifndef SS_REQUEST_H
#define SS_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "addr.h"

struct conn_ops;
struct ss_server;

/*
 * Input is read in chunks of this size; ss_readline copies out of it. A
 * stream that fills it gets REQUEST_RBUF_BIG instead, on the heap: bulk
 * data then costs a recv per 64 KiB, while a client that sends a line at
 * a time never costs more than the 4 KiB.
 */
#define REQUEST_RBUF_SIZE 4096
#define REQUEST_RBUF_BIG (64 * 1024)
/* ss_getline's buffer starts at this size and doubles up to max_line + 1. */
#define REQUEST_LINE_START 256

struct ss_request {
	struct ss_server *srv;
	const struct conn_ops *conn;	/* how its bytes come and go, set
					   by the transport's accept */
	int fd;			/* the connection; -1 for a datagram */
	double rcv_armed, snd_armed;	/* SO_RCVTIMEO, SO_SNDTIMEO; 0: unset */
	struct ss_request *live_prev, *live_next;	/* in srv->live */
	bool live;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char name[ADDR_NAME_MAX];
	void *data;		/* the plugin's, per request */
	char *in;		/* rbuf, a bigger buffer, or the datagram
				   (both owned) */
	size_t rcap;		/* what in holds at most, for a stream */
	size_t rpos, rlen;	/* unread input is in[rpos..rlen) */
	char *line;		/* ss_getline's line (owned), or NULL */
	size_t linecap;
	char *metrics;		/* ss_metrics's text (owned), or NULL */
	char *out;		/* a datagram's reply (owned), or NULL */
	size_t outlen;
	size_t bytes_in, bytes_out;	/* for the access log line */
	bool counted;		/* holds one of its source's max_per_source */
	atomic_bool idle;	/* waiting for a line, nothing buffered */
	atomic_bool cut;	/* ended by the daemon's stop */
	bool timed_out;		/* failed with ETIMEDOUT */
	bool proxy_pending;	/* its PROXY header is still to be read */
	double started;
	char rbuf[REQUEST_RBUF_SIZE];
};

/* A request of srv with no connection yet (fd -1). NULL when out of memory. */
struct ss_request *request_new(struct ss_server *srv);
/* Names the peer once accept filled fd and peer. */
void request_accepted(struct ss_request *req);
/* Closes the connection and frees the request. */
void request_free(struct ss_request *req);

/*
 * The deadline of an I/O call begun now: request_timeout from now, never
 * past the request's max_request_time.
 */
double request_deadline(const struct ss_request *req);


/*
 * The request the calling thread serves (lifecycle_run sets it), for
 * signal handlers: the crash report and a child's end of idle requests.
 */
void request_set_current(struct ss_request *req);
struct ss_request *request_current(void);

#endif /* SS_REQUEST_H */
