/*
 * concurrency_sync.c - one request at a time, in the server's own thread
 * (socketserver's plain TCPServer).
 */
#include "concurrency.h"
#include "lifecycle.h"
#include "request.h"
#include "server.h"

static int
sync_dispatch(struct ss_server *srv, struct ss_request *req)
{
	lifecycle_run(req);
	request_free(req);
	server_request_end(srv);
	return 0;
}

/* Nothing outlives dispatch, so there is never anything to wait for. */
static unsigned
sync_drain(struct ss_server *srv, double deadline)
{
	(void)srv;
	(void)deadline;
	return 0;
}

const struct concurrency_ops concurrency_sync_ops = {
	.name = "sync",
	.dispatch = sync_dispatch,
	.drain = sync_drain,
};
