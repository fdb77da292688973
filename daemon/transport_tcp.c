/*
 * transport_tcp.c - TCP over IPv4 and IPv6 (socketserver.TCPServer).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

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
tcp_open(struct ss_server *srv)
{
	int nodelay = srv->conf->tcp_nodelay;

	if (transport_inet_bind(srv, SOCK_STREAM) < 0)
		return -1;
	/* Accepted connections inherit it: no setsockopt per connection. */
	(void)setsockopt(srv->listen_fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
	    sizeof(nodelay));
	if (listen(srv->listen_fd, srv->conf->request_queue_size) < 0) {
		log_errno(LOG_ERR, "server %s: cannot listen on %s",
		    srv->name, srv->conf->listen);
		return -1;
	}
	return 0;
}

/*
 * Whether connections accepted on the listening socket come with
 * TCP_NODELAY as configured. A socket this server bound does; one kept
 * from before a reload or passed by systemd may not: asked once.
 */
static bool
tcp_nodelay_inherited(struct ss_server *srv)
{
	int on = 0;
	socklen_t len = sizeof(on);
	int state = atomic_load(&srv->nodelay_inherited);

	if (state < 0) {
		if (getsockopt(srv->listen_fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    &len) < 0)
			on = -1;
		state = (on != 0) == srv->conf->tcp_nodelay;
		atomic_store(&srv->nodelay_inherited, state);
	}
	return state == 1;
}

static int
tcp_accept(struct ss_server *srv, struct ss_request *req)
{
	int nodelay = srv->conf->tcp_nodelay, r;

	r = transport_stream_accept(srv, req);
	if (r == 1 && !tcp_nodelay_inherited(srv))
		(void)setsockopt(req->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
		    sizeof(nodelay));
	return r;
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

const struct transport_ops transport_tcp_ops = {
	.name = "tcp",
	.stream = true,
	.parse_listen = tcp_parse_listen,
	.open = tcp_open,
	.accept = tcp_accept,
	.recv = request_stream_recv,
	.send = request_stream_send,
	.stop_accepting = tcp_stop_accepting,
	.close = transport_close_socket,
};
