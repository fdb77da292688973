/*
 * transport.h - how a server gets requests: one table of operations per
 * transport (tcp now; udp and unix beside it later).
 */
#ifndef SS_TRANSPORT_H
#define SS_TRANSPORT_H

#include <stdbool.h>
#include <sys/socket.h>

struct ss_server;
struct ss_request;
struct conf_server;

struct transport_ops {
	const char *name;
	bool supported;		/* false: known name, not in this version */
	/* Checks and parses conf->listen into conf->addr. */
	int (*parse_listen)(struct conf_server *conf, const char **error_r);
	/* Creates srv->listen_fd, bound and listening. Logs failures. */
	int (*open)(struct ss_server *srv);
	/*
	 * Takes the next request off the listening socket into req (fd and
	 * peer). Returns 1 on success, 0 when none is pending, -1 on error
	 * (logged; errno kept so the caller can back off).
	 */
	int (*accept)(struct ss_server *srv, struct ss_request *req);
	/* Stops new requests at once; safe from another thread. */
	void (*stop_accepting)(struct ss_server *srv);
	/* Releases what open created. */
	void (*close)(struct ss_server *srv);
};

/* The transport called `name`, or NULL. */
const struct transport_ops *transport_find(const char *name);

extern const struct transport_ops transport_tcp_ops;

#endif /* SS_TRANSPORT_H */
