/*
 * transport_tcp.c - TCP over IPv4 and IPv6 (socketserver.TCPServer).
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "addr.h"
#include "clock.h"
#include "conf.h"
#include "conn.h"
#include "log.h"
#include "request.h"
#include "server_state.h"
#include "transport.h"

/*
 * Accepted connections inherit TCP_NODELAY, SO_RCVTIMEO and SO_SNDTIMEO
 * from the listening socket: set there, as configured and to
 * request_timeout, before it listens, they cost no syscall per
 * connection. On a socket passed by systemd, connections may have been
 * queued before: those are armed one by one.
 */
static bool
tcp_listener_setup(struct ss_server *srv)
{
	struct timeval tv = clock_timeval(srv->conf->request_timeout);
	int nodelay = srv->conf->tcp_nodelay;

	return setsockopt(srv->listen_fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
	    sizeof(nodelay)) == 0 &&
	    setsockopt(srv->listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == 0 &&
	    setsockopt(srv->listen_fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
	    sizeof(tv)) == 0;
}

static int
tcp_open(struct ss_server *srv)
{
	if (transport_inet_bind(srv, SOCK_STREAM) < 0)
		return -1;
	srv->listener_ready = tcp_listener_setup(srv);
	if (listen(srv->listen_fd, srv->conf->request_queue_size) < 0) {
		log_errno(LOG_ERR, "server %s: cannot listen on %s",
		    srv->name, srv->conf->listen);
		return -1;
	}
	return 0;
}

static int
tcp_accept(struct ss_server *srv, struct ss_request *req)
{
	int nodelay = srv->conf->tcp_nodelay, r;

	r = transport_stream_accept(srv, req);
	if (r != 1)
		return r;
	if (srv->listener_ready)
		req->rcv_armed = req->snd_armed = srv->conf->request_timeout;
	else
		(void)setsockopt(req->fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
		    sizeof(nodelay));
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

const struct transport_ops transport_tcp_ops = {
	.name = "tcp",
	.stream = true,
	.open = tcp_open,
	.accept = tcp_accept,
	.conn = &conn_socket_ops,
	.stop_accepting = tcp_stop_accepting,
	.close = transport_close_socket,
	.can_keep = transport_same_address,
};
