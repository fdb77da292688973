/*
 * lifecycle.c - the per-request part of socketserver's BaseServer and
 * BaseRequestHandler.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "clock.h"
#include "lifecycle.h"
#include "log.h"
#include "request.h"
#include "server.h"
#include "transport.h"

static void
lifecycle_default_error(struct ss_request *req, int err, int saved_errno)
{
	/*
	 * A client that goes away mid-request is the client's business (and
	 * a load balancer's health check does it on purpose), and a request
	 * the stop cut is the operator's: info.
	 */
	if (saved_errno == ECONNRESET || saved_errno == EPIPE ||
	    atomic_load(&req->cut))
		log_info("server %s: request from %s failed (%d): %s",
		    req->srv->name, req->name, err, strerror(saved_errno));
	else if (saved_errno != 0)
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

enum outcome { OUTCOME_OK, OUTCOME_REFUSED, OUTCOME_FAILED, OUTCOME_CUT };

/* Runs the hooks; *rc_r gets what a failing setup or handle returned. */
static enum outcome
lifecycle_hooks(struct ss_request *req, int *rc_r)
{
	const struct ss_handler *h = req->srv->handler;
	int rc;

	if (h->verify_request != NULL && !h->verify_request(req))
		return OUTCOME_REFUSED;
	errno = 0;
	if (h->setup != NULL && (rc = h->setup(req)) != 0) {
		lifecycle_error(req, rc, errno);
		*rc_r = rc;
		return OUTCOME_FAILED;
	}
	errno = 0;
	rc = h->handle(req);
	/* Before finish, so handle_error still sees the request's data. */
	if (rc != 0)
		lifecycle_error(req, rc, errno);
	if (h->finish != NULL)
		h->finish(req);
	*rc_r = rc;
	return rc == 0 ? OUTCOME_OK : OUTCOME_FAILED;
}

/* The access log line: one per request, at info. */
static void
lifecycle_log(struct ss_request *req, enum outcome outcome, int rc)
{
	char result[32];

	if (log_get_level() < LOG_INFO)
		return;
	if (outcome == OUTCOME_FAILED)
		snprintf(result, sizeof(result), "failed (%d)", rc);
	else
		snprintf(result, sizeof(result), "%s", outcome == OUTCOME_OK ?
		    "ok" : outcome == OUTCOME_CUT ? "cut at stop" : "refused");
	log_info("server %s: %s in=%zu out=%zu time=%.3fs %s",
	    req->srv->name, req->name, req->bytes_in, req->bytes_out,
	    clock_now() - req->started, result);
}

void
lifecycle_run(struct ss_request *req)
{
	struct ss_server *srv = req->srv;
	enum outcome outcome;
	int rc = 0;

	atomic_store(&srv->shared->last_request_ns,
	    (long long)(clock_now() * 1e9));
	atomic_fetch_add(&srv->shared->requests, 1);
	atomic_fetch_add(&srv->shared->active, 1);
	request_set_current(req);
	server_live_add(req);
	/* A proxied client is known, and checked, only once its header is read. */
	if (req->proxy_pending && !admit_proxied(req)) {
		server_live_remove(req);
		goto out;
	}
	outcome = lifecycle_hooks(req, &rc);
	server_live_remove(req);
	/* Whatever the plugin made of it, the stop ended it. */
	if (outcome != OUTCOME_REFUSED && atomic_load(&req->cut))
		outcome = OUTCOME_CUT;
	if (outcome != OUTCOME_REFUSED && srv->transport->complete != NULL)
		srv->transport->complete(req);
	lifecycle_log(req, outcome, rc);
out:
	request_set_current(NULL);
	atomic_fetch_sub(&srv->shared->active, 1);
}
