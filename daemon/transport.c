/*
 * transport.c - the one place where transport names map to operations,
 * and socket set-up shared by the inet transports.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "request.h"
#include "server_state.h"
#include "transport.h"

static const struct transport_ops *const transports[] = {
	&transport_tcp_ops,
	&transport_udp_ops,
	&transport_unix_ops,
	&transport_unix_dgram_ops,
};

const struct transport_ops *
transport_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i]->name, name) == 0)
			return transports[i];
	return NULL;
}

int
transport_setopt(struct ss_server *srv, int level, int name, int value,
    const char *what)
{
	if (setsockopt(srv->listen_fd, level, name, &value,
	    sizeof(value)) == 0)
		return 0;
	log_errno(LOG_ERR, "server %s: %s on %s", srv->name, what,
	    srv->conf->listen);
	return -1;
}

int
transport_inet_bind(struct ss_server *srv, int type)
{
	const struct conf_server *conf = srv->conf;
	int family = conf->addr.ss_family;

	srv->listen_fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (srv->listen_fd < 0) {
		log_errno(LOG_ERR, "server %s: socket", srv->name);
		return -1;
	}
	if (transport_setopt(srv, SOL_SOCKET, SO_REUSEADDR,
	    conf->allow_reuse_address, "SO_REUSEADDR") < 0 ||
	    transport_setopt(srv, SOL_SOCKET, SO_REUSEPORT,
	    conf->allow_reuse_port, "SO_REUSEPORT") < 0)
		return -1;
	/* "*:PORT" is one dual-stack socket for IPv4 and IPv6. */
	if (family == AF_INET6 && transport_setopt(srv, IPPROTO_IPV6,
	    IPV6_V6ONLY, 0, "IPV6_V6ONLY") < 0)
		return -1;
	if (bind(srv->listen_fd, (const struct sockaddr *)&conf->addr,
	    conf->addrlen) < 0) {
		log_errno(LOG_ERR, "server %s: cannot bind %s", srv->name,
		    conf->listen);
		return -1;
	}
	return 0;
}

int
transport_stream_accept(struct ss_server *srv, struct ss_request *req)
{
	req->fd = accept4(srv->listen_fd, (struct sockaddr *)&req->peer,
	    &req->peerlen, SOCK_CLOEXEC);
	if (req->fd >= 0) {
		req->conn = srv->transport->conn;
		request_accepted(req);
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
	    errno == ECONNABORTED)
		return 0;
	return -1;
}

bool
transport_same_address(const struct ss_server *old,
    const struct conf_server *conf)
{
	const struct conf_server *o = old->conf;

	return o->transport == conf->transport &&
	    addr_equal((const struct sockaddr *)&o->addr, o->addrlen,
	    (const struct sockaddr *)&conf->addr, conf->addrlen);
}

void
transport_close_socket(struct ss_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
}
