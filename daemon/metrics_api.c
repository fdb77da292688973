/*
 * metrics_api.c - ss_metrics: every server's counters as Prometheus text,
 * for the metrics plugin. The daemon renders them (server_env's
 * render_metrics); this layer only keeps the text with the request, so a
 * plugin frees nothing and needs no buffer of its own.
 */
#include <errno.h>
#include <stdlib.h>

#include "request.h"
#include "server_state.h"
#include "strbuf.h"

const char *
ss_metrics(ss_request *req, size_t *len)
{
	const struct server_env *env = req->srv->env;
	struct strbuf sb = { 0 };

	if (env->render_metrics == NULL) {
		errno = ENOTSUP;
		return NULL;
	}
	env->render_metrics(env->render_arg, &sb);
	if (sb.failed || sb.data == NULL) {
		strbuf_free(&sb);
		errno = ENOMEM;
		return NULL;
	}
	free(req->metrics);
	req->metrics = sb.data;
	if (len != NULL)
		*len = sb.len;
	return req->metrics;
}
