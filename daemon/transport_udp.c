/*
 * transport_udp.c - UDP over IPv4 and IPv6 (socketserver.UDPServer).
 */
#include <sys/socket.h>

#include "addr.h"
#include "conf.h"
#include "conn.h"
#include "transport.h"

static int
udp_open(struct ss_server *srv)
{
	return transport_inet_bind(srv, SOCK_DGRAM);
}

/*
 * No stop_accepting: a datagram socket has no queue of clients to refuse,
 * and in-flight requests still send their replies through it.
 */
const struct transport_ops transport_udp_ops = {
	.name = "udp",
	.stream = false,
	.open = udp_open,
	.accept = datagram_accept,
	.conn = &conn_datagram_ops,
	.complete = datagram_complete,
	.close = transport_close_socket,
	.can_keep = transport_same_address,
};
