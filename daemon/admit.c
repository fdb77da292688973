/*
 * admit.c - the daemon's own checks on a request, before verify_request:
 * who the client is (the PROXY header, when a load balancer stands in
 * front), and whether it may be served. Refusals are logged through
 * ratelimit.h: a flood of them is one line a second with a count.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "acl.h"
#include "admit.h"
#include "conf.h"
#include "conn.h"
#include "counters.h"
#include "log.h"
#include "persource.h"
#include "proxy.h"
#include "ratelimit.h"
#include "request.h"
#include "server_state.h"
#include "transport.h"

/* A refusal: counted, and logged as a flood would be (ratelimit.h). */
static void
admit_refuse(struct ss_request *req, enum counters_refusal what,
    enum ratelimit_reason why, const char *fmt, ...)
{
	va_list ap;

	counters_refused(req->srv->counters, what);
	va_start(ap, fmt);
	ratelimit_vlog(&req->srv->shared->ratelimit, why, fmt, ap);
	va_end(ap);
}

static bool
admit_client(struct ss_request *req)
{
	struct ss_server *srv = req->srv;
	const struct sockaddr *peer = (const struct sockaddr *)&req->peer;

	if (!acl_permits(&srv->conf->acl, peer, req->peerlen)) {
		admit_refuse(req, COUNTERS_ACCESS, RATELIMIT_ACCESS, "server %s: "
		    "%s refused by access rules", srv->name, req->name);
		return false;
	}
	if (srv->persource != NULL && !persource_acquire(srv->persource, peer,
	    req->peerlen)) {
		admit_refuse(req, COUNTERS_PER_SOURCE, RATELIMIT_PER_SOURCE,
		    "server %s: %s refused: max_per_source (%d) requests in "
		    "flight", srv->name, req->name, srv->conf->max_per_source);
		return false;
	}
	req->counted = srv->persource != NULL;
	return true;
}

bool
admit_accepted(struct ss_request *req)
{
	struct ss_server *srv = req->srv;

	if (!srv->conf->proxy_protocol)
		return admit_client(req);
	if (!acl_permits(&srv->conf->proxy_trusted,
	    (const struct sockaddr *)&req->peer, req->peerlen)) {
		admit_refuse(req, COUNTERS_PROXY, RATELIMIT_TRUSTED, "server %s: "
		    "%s refused: not in proxy_trusted", srv->name, req->name);
		return false;
	}
	req->proxy_pending = true;
	return true;
}

_Static_assert(REQUEST_RBUF_SIZE >= PROXY_MAX,
    "a PROXY header fits the input buffer of a new request");

/*
 * Reads until proxy_parse decides, into the request's input buffer, so
 * whatever the client sent after the header stays there for the plugin.
 */
static int
admit_read_header(struct ss_request *req, struct proxy_header *h)
{
	struct ss_server *srv = req->srv;
	double deadline = request_deadline(req);
	const char *error = NULL;
	ssize_t n;
	int r;

	req->rpos = req->rlen = 0;
	while ((r = proxy_parse(req->in, req->rlen, h, &error)) == 0) {
		n = req->conn->read(req, req->in + req->rlen,
		    req->rcap - req->rlen, &deadline);
		if (n == 0) {
			admit_refuse(req, COUNTERS_PROXY, RATELIMIT_PROXY,
			    "server %s: %s closed before a whole PROXY header",
			    srv->name, req->name);
			return -1;
		}
		if (n < 0) {
			admit_refuse(req, COUNTERS_PROXY, RATELIMIT_PROXY,
			    "server %s: %s: no PROXY header: %s", srv->name,
			    req->name, strerror(errno));
			return -1;
		}
		req->rlen += (size_t)n;
	}
	if (r < 0) {
		admit_refuse(req, COUNTERS_PROXY, RATELIMIT_PROXY, "server %s: "
		    "%s: %s; closing", srv->name, req->name, error);
		return -1;
	}
	req->rpos = h->len;
	req->bytes_in -= h->len;
	return 0;
}

bool
admit_proxied(struct ss_request *req)
{
	struct proxy_header h;

	req->proxy_pending = false;
	if (admit_read_header(req, &h) < 0)
		return false;
	if (h.proxied) {
		char proxy[sizeof(req->name)];

		memcpy(proxy, req->name, sizeof(proxy));
		memcpy(&req->peer, &h.src, h.srclen);
		req->peerlen = h.srclen;
		request_accepted(req);
		log_debug("server %s: %s via proxy %s", req->srv->name,
		    req->name, proxy);
	}
	return admit_client(req);
}
