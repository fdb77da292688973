/*
 * discard.c - the Discard Protocol (RFC 863), as xinetd's internal
 * "discard" service: whatever the client sends is read and thrown away.
 *
 * Stream (tcp, unix): reads until the client closes its side, then the
 * connection is closed; nothing is ever sent. Datagram (udp,
 * unix-dgram): the datagram is dropped, and no reply is sent.
 *
 * No options: any key is refused.
 */
#include <stdlib.h>

#include <sockserv/plugin.h>

/*
 * Large reads bypass the request's input buffer; the buffer is on the
 * heap, as a handler's stack may be as small as 64 KiB.
 */
#define DISCARD_CHUNK	(64 * 1024)

/* No options: a key given is refused, as a likely mistake. */
static int
discard_init(ss_server *srv, const config_setting_t *options)
{
	return ss_options(srv, options, NULL);
}

/*
 * One loop serves both kinds of transport: on a datagram, ss_read
 * returns its bytes and then 0, and a request that writes nothing sends
 * nothing back.
 */
static int
discard_handle(ss_request *req)
{
	char *buf;
	ssize_t n;

	if ((buf = malloc(DISCARD_CHUNK)) == NULL) {
		ss_log(ss_server_of(req), LOG_ERR, "out of memory");
		return -1;
	}
	while ((n = ss_read(req, buf, DISCARD_CHUNK)) > 0)
		continue;
	free(buf);
	return n < 0 ? -1 : 0;
}

SS_HANDLER(
	.name = "discard",
	.version = "1.0",
	.init = discard_init,
	.handle = discard_handle,
);
