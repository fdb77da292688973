/*
 * conn.h - how a request's bytes come and go: one table of operations
 * per kind of connection (a plain stream socket, a datagram, and later
 * TLS over a socket, or a coroutine's wait), so request.c calls the
 * table and never asks which kind it has.
 */
#ifndef SS_CONN_H
#define SS_CONN_H

#include <sys/types.h>

struct ss_request;

struct conn_ops {
	const char *name;
	/*
	 * Up to n bytes, waiting no later than *deadline (clock_now()
	 * time, which the stop may bring forward): the count, 0 at end of
	 * input, -1 with errno set (ETIMEDOUT at the deadline).
	 */
	ssize_t (*read)(struct ss_request *req, void *buf, size_t n,
	    double *deadline);
	/* All n bytes, or -1 with errno set; bounded like read. */
	ssize_t (*write)(struct ss_request *req, const void *buf, size_t n,
	    double *deadline);
	/*
	 * Waits until `events` (POLLIN, POLLOUT) may be done without
	 * waiting, or until deadline (0: only asks): 1 ready, 0 not, -1
	 * error.
	 */
	int (*wait)(struct ss_request *req, int events, double deadline);
	/*
	 * shutdown(2) of the connection (SHUT_RD, SHUT_RDWR), which ends a
	 * call blocked on it; from any thread, async-signal-safe.
	 */
	void (*shutdown)(struct ss_request *req, int how);
	/* Closes what the connection holds. */
	void (*close)(struct ss_request *req);
};

extern const struct conn_ops conn_socket_ops;
extern const struct conn_ops conn_datagram_ops;

#endif /* SS_CONN_H */
