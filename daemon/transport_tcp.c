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
	if (transport_inet_bind(srv, SOCK_STREAM) < 0)
		return -1;
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
	int one = 1, r;

	r = transport_stream_accept(srv, req);
	if (r == 1 && srv->conf->tcp_nodelay)
		(void)setsockopt(req->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
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
