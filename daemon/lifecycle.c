/*
 * lifecycle.c - the per-request part of socketserver's BaseServer and
 * BaseRequestHandler.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "clock.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "transport.h"

static void
lifecycle_default_error(struct ss_request *req, int err, int saved_errno)
{
	if (saved_errno != 0)
		log_warning("server %s: request from %s failed (%d): %s",
		    req->srv->name, req->name, err, strerror(saved_errno));
	else
		log_warning("server %s: request from %s failed (%d)",
		    req->srv->name, req->name, err);
}

static void
lifecycle_error(struct ss_request *req, int err, int saved_errno)
{
	const struct ss_handler *h = req->srv->handler;

	if (h->handle_error != NULL)
		h->handle_error(req, err);
	else
		lifecycle_default_error(req, err, saved_errno);
}

/* Runs the hooks; false when verify_request refused the request. */
static bool
lifecycle_hooks(struct ss_request *req)
{
	const struct ss_handler *h = req->srv->handler;
	int rc;

	if (h->verify_request != NULL && !h->verify_request(req)) {
		log_info("server %s: request from %s refused by "
		    "verify_request", req->srv->name, req->name);
		return false;
	}
	errno = 0;
	if (h->setup != NULL && (rc = h->setup(req)) != 0) {
		lifecycle_error(req, rc, errno);
		return true;
	}
	errno = 0;
	rc = h->handle(req);
	/* Before finish, so handle_error still sees the request's data. */
	if (rc != 0)
		lifecycle_error(req, rc, errno);
	if (h->finish != NULL)
		h->finish(req);
	return true;
}

void
lifecycle_run(struct ss_request *req)
{
	struct ss_server *srv = req->srv;

	atomic_store(&srv->shared->last_request_ns,
	    (long long)(clock_now() * 1e9));
	if (lifecycle_hooks(req) && srv->transport->complete != NULL)
		srv->transport->complete(req);
}
