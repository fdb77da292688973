/*
 * transport.h - how a server gets requests and talks to clients: one table
 * of operations per transport (tcp, udp, unix, unix-dgram).
 */
#ifndef SS_TRANSPORT_H
#define SS_TRANSPORT_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

struct ss_server;
struct ss_request;
struct conf_server;
struct conn_ops;

struct transport_ops {
	const char *name;
	bool stream;		/* false: one datagram is one request */
	bool socket_file;	/* listen names a socket file (unix) */
	/* Creates srv->listen_fd, bound (and listening). Logs failures. */
	int (*open)(struct ss_server *srv);
	/*
	 * Takes the next request off the listening socket into req (peer,
	 * name, and the connection or the datagram). Returns 1 on success,
	 * 0 when there is nothing to serve, -1 on error (errno kept, not
	 * logged, so the caller can back off and log once).
	 */
	int (*accept)(struct ss_server *srv, struct ss_request *req);
	/* The I/O of its requests, behind ss_read and ss_write. */
	const struct conn_ops *conn;
	/*
	 * After finish: sends a datagram's reply. Optional. Returns 0 when
	 * the reply left (or there was none), -1 when it could not be
	 * delivered (logged, rate-limited).
	 */
	int (*complete)(struct ss_request *req);
	/* Stops new requests at once; safe from another thread. Optional. */
	void (*stop_accepting)(struct ss_server *srv);
	/* Releases what open created (the socket, a unix socket's file). */
	void (*close)(struct ss_server *srv);
	/*
	 * Reload: whether a server configured as `conf` can take over the
	 * listening socket of `old`, a running server, instead of binding
	 * its own.
	 */
	bool (*can_keep)(const struct ss_server *old,
	    const struct conf_server *conf);
};

/* The transport called `name`, or NULL. */
const struct transport_ops *transport_find(const char *name);

extern const struct transport_ops transport_tcp_ops;
extern const struct transport_ops transport_udp_ops;
extern const struct transport_ops transport_unix_ops;
extern const struct transport_ops transport_unix_dgram_ops;

/* Helpers shared by the transports. */

/* Creates, configures and binds srv->listen_fd for an inet address. */
int transport_inet_bind(struct ss_server *srv, int type);
/* accept4() of a stream connection into req. */
int transport_stream_accept(struct ss_server *srv, struct ss_request *req);
/* can_keep: the same transport on the same address. */
bool transport_same_address(const struct ss_server *old,
    const struct conf_server *conf);
/* Closes srv->listen_fd. */
void transport_close_socket(struct ss_server *srv);
/* setsockopt on the listening socket, logging a failure. */
int transport_setopt(struct ss_server *srv, int level, int name, int value,
    const char *what);

/* Datagram requests (datagram.c), shared by udp and unix-dgram. */
int datagram_accept(struct ss_server *srv, struct ss_request *req);
int datagram_complete(struct ss_request *req);

#endif /* SS_TRANSPORT_H */
