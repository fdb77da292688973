/*
 * transport_tcp.c - TCP over IPv4 and IPv6 (socketserver.TCPServer).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "transport.h"

static int
tcp_parse_listen(struct conf_server *conf, const char **error_r)
{
	return addr_parse_inet(conf->listen, &conf->addr, &conf->addrlen,
	    error_r);
}

static int
tcp_setopt(struct ss_server *srv, int level, int name, int value,
    const char *what)
{
	if (setsockopt(srv->listen_fd, level, name, &value,
	    sizeof(value)) == 0)
		return 0;
	log_errno(LOG_ERR, "server %s: %s on %s", srv->name, what,
	    srv->conf->listen);
	return -1;
}

static int
tcp_open(struct ss_server *srv)
{
	const struct conf_server *conf = srv->conf;
	int family = conf->addr.ss_family;

	srv->listen_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (srv->listen_fd < 0) {
		log_errno(LOG_ERR, "server %s: socket", srv->name);
		return -1;
	}
	if (tcp_setopt(srv, SOL_SOCKET, SO_REUSEADDR,
	    conf->allow_reuse_address, "SO_REUSEADDR") < 0 ||
	    tcp_setopt(srv, SOL_SOCKET, SO_REUSEPORT,
	    conf->allow_reuse_port, "SO_REUSEPORT") < 0)
		return -1;
	/* "*:PORT" is one dual-stack socket for IPv4 and IPv6. */
	if (family == AF_INET6 && tcp_setopt(srv, IPPROTO_IPV6, IPV6_V6ONLY,
	    0, "IPV6_V6ONLY") < 0)
		return -1;
	if (bind(srv->listen_fd, (const struct sockaddr *)&conf->addr,
	    conf->addrlen) < 0) {
		log_errno(LOG_ERR, "server %s: cannot bind %s", srv->name,
		    conf->listen);
		return -1;
	}
	if (listen(srv->listen_fd, conf->request_queue_size) < 0) {
		log_errno(LOG_ERR, "server %s: cannot listen on %s",
		    srv->name, conf->listen);
		return -1;
	}
	return 0;
}

static int
tcp_accept(struct ss_server *srv, struct ss_request *req)
{
	int one = 1;

	req->fd = accept4(srv->listen_fd, (struct sockaddr *)&req->peer,
	    &req->peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (req->fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR || errno == ECONNABORTED)
			return 0;
		return -1;
	}
	if (srv->conf->tcp_nodelay)
		(void)setsockopt(req->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	return 1;
}

static void
tcp_stop_accepting(struct ss_server *srv)
{
	/*
	 * On Linux, shutting a listening socket down unhashes it: new
	 * connections are refused from this instant, while the serve loop
	 * may still be polling the descriptor.
	 */
	if (srv->listen_fd >= 0)
		(void)shutdown(srv->listen_fd, SHUT_RDWR);
}

static void
tcp_close(struct ss_server *srv)
{
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	srv->listen_fd = -1;
}

const struct transport_ops transport_tcp_ops = {
	.name = "tcp",
	.supported = true,
	.parse_listen = tcp_parse_listen,
	.open = tcp_open,
	.accept = tcp_accept,
	.stop_accepting = tcp_stop_accepting,
	.close = tcp_close,
};
