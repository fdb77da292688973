/*
 * lifecycle.c - the per-request part of socketserver's BaseServer and
 * BaseRequestHandler.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "clock.h"
#include "conf.h"
#include "counters.h"
#include "lifecycle.h"
#include "log.h"
#include "ratelimit.h"
#include "request.h"
#include "server_live.h"
#include "transport.h"

/*
 * Whether a failure with saved_errno is max_request_time's doing: an
 * ss_* call timed out at the request's whole deadline (request.c's
 * request_deadline), not at request_timeout.
 */
static bool
lifecycle_overtime(const struct ss_request *req, int saved_errno)
{
	double max = req->srv->conf->max_request_time;

	return saved_errno == ETIMEDOUT && max > 0 &&
	    clock_now() >= req->started + max;
}

static void
lifecycle_default_error(struct ss_request *req, int err, int saved_errno)
{
	if (lifecycle_overtime(req, saved_errno)) {
		log_warning("server %s: request from %s failed (%d): "
		    "max_request_time (%gs) reached", req->srv->name,
		    req->name, err, req->srv->conf->max_request_time);
		return;
	}
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

enum outcome {
	OUTCOME_OK,
	OUTCOME_REFUSED,
	OUTCOME_FAILED,
	OUTCOME_OVERTIME,	/* failed at max_request_time */
	OUTCOME_UNDELIVERABLE,	/* served; its datagram reply could not go */
	OUTCOME_CUT,		/* ended by the daemon's stop */
};

static enum outcome
lifecycle_failed(struct ss_request *req, int rc, int saved_errno)
{
	bool overtime = lifecycle_overtime(req, saved_errno);

	req->timed_out = saved_errno == ETIMEDOUT;
	lifecycle_error(req, rc, saved_errno);
	return overtime ? OUTCOME_OVERTIME : OUTCOME_FAILED;
}

/* Runs the hooks; *rc_r gets what a failing setup or handle returned. */
static enum outcome
lifecycle_hooks(struct ss_request *req, int *rc_r)
{
	const struct ss_handler *h = req->srv->handler;
	enum outcome outcome = OUTCOME_OK;
	int rc;

	if (h->verify_request != NULL && !h->verify_request(req))
		return OUTCOME_REFUSED;
	errno = 0;
	if (h->setup != NULL && (rc = h->setup(req)) != 0) {
		*rc_r = rc;
		return lifecycle_failed(req, rc, errno);
	}
	errno = 0;
	rc = h->handle(req);
	/* Before finish, so handle_error still sees the request's data. */
	if (rc != 0)
		outcome = lifecycle_failed(req, rc, errno);
	if (h->finish != NULL)
		h->finish(req);
	*rc_r = rc;
	return outcome;
}

/*
 * The access log line: one per request, at info, unless access_log is
 * off. A request verify_request refused gets it as its refusal line,
 * which is rate-limited with the daemon's own refusals (ratelimit.h)
 * whatever access_log says.
 */
static void
lifecycle_log(struct ss_request *req, enum outcome outcome, int rc,
    double took)
{
	struct ss_server *srv = req->srv;
	char result[48], line[512];

	if (log_get_level() < LOG_INFO || (outcome != OUTCOME_REFUSED &&
	    !srv->conf->access_log))
		return;
	if (outcome == OUTCOME_FAILED)
		snprintf(result, sizeof(result), "failed (%d)", rc);
	else if (outcome == OUTCOME_OVERTIME)
		snprintf(result, sizeof(result), "failed (%d): "
		    "max_request_time", rc);
	else
		snprintf(result, sizeof(result), "%s", outcome == OUTCOME_OK ?
		    "ok" : outcome == OUTCOME_REFUSED ? "refused" :
		    outcome == OUTCOME_CUT ? "cut at stop" : "undeliverable");
	snprintf(line, sizeof(line), "server %s: %s in=%zu out=%zu time=%.3fs "
	    "%s", srv->name, req->name, req->bytes_in, req->bytes_out, took,
	    result);
	if (outcome == OUTCOME_REFUSED)
		ratelimit_log(&srv->shared->ratelimit, RATELIMIT_VERIFY, "%s",
		    line);
	else
		log_access(&(struct log_access){ .server = srv->name,
		    .client = req->name, .bytes_in = req->bytes_in,
		    .bytes_out = req->bytes_out, .duration_us =
		    (unsigned long long)(took * 1e6), .result = result }, line);
}

/* The request's end in its server's counters. */
static void
lifecycle_count(struct ss_request *req, enum outcome outcome, double took)
{
	struct counters *c = req->srv->counters;
	enum counters_end how;

	switch (outcome) {
	case OUTCOME_REFUSED:
		counters_refused(c, COUNTERS_VERIFY);
		counters_leave(c);
		return;
	case OUTCOME_OK:
		how = COUNTERS_OK;
		break;
	case OUTCOME_CUT:
		how = COUNTERS_CUT;
		break;
	default:
		how = req->timed_out ? COUNTERS_TIMED_OUT : COUNTERS_FAILED;
		break;
	}
	counters_end(c, how, req->bytes_in, req->bytes_out, took);
}

void
lifecycle_run(struct ss_request *req)
{
	struct ss_server *srv = req->srv;
	enum outcome outcome;
	double took;
	int rc = 0;

	atomic_store(&srv->shared->last_request_ns,
	    (long long)(clock_now() * 1e9));
	counters_begin(srv->counters);
	request_set_current(req);
	server_live_add(req);
	/* A proxied client is known, and checked, only once its header is read. */
	if (req->proxy_pending && !admit_proxied(req)) {
		server_live_remove(req);
		counters_leave(srv->counters);	/* admit counted why */
		goto out;
	}
	outcome = lifecycle_hooks(req, &rc);
	server_live_remove(req);
	/* Whatever the plugin made of it, the stop ended it. */
	if (outcome != OUTCOME_REFUSED && atomic_load(&req->cut))
		outcome = OUTCOME_CUT;
	if (outcome != OUTCOME_REFUSED && srv->transport->complete != NULL &&
	    srv->transport->complete(req) < 0 && outcome == OUTCOME_OK)
		outcome = OUTCOME_UNDELIVERABLE;
	/* One clock reading serves the access line and the counters. */
	took = clock_now() - req->started;
	lifecycle_log(req, outcome, rc, took);
	lifecycle_count(req, outcome, took);
out:
	request_set_current(NULL);
}
