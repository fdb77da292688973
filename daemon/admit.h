/*
 * admit.h - whether the daemon serves a request at all, decided before
 * any plugin code sees it: the PROXY header of a proxy_protocol server
 * (which names the real client), then the access rules and
 * max_per_source, applied to that client.
 */
#ifndef SS_ADMIT_H
#define SS_ADMIT_H

#include <stdbool.h>

struct ss_request;

/*
 * At accept, on the connection's own peer: the access rules and
 * max_per_source; for a proxy_protocol server only proxy_trusted, the
 * rest waiting for the header (req->proxy_pending). Logs a refusal and
 * returns false; the caller frees the request.
 */
bool admit_accepted(struct ss_request *req);

/*
 * In the thread or process that serves the request, when proxy_pending:
 * reads the PROXY header (bounded by PROXY_MAX bytes and request_timeout),
 * makes its client the request's, then applies the access rules and
 * max_per_source to it. Input after the header stays for the plugin.
 * Logs a refusal and returns false.
 */
bool admit_proxied(struct ss_request *req);

#endif /* SS_ADMIT_H */
