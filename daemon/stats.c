/*
 * stats.c - renders the servers' counters (counters.h) as a table, JSON
 * or Prometheus text. Counters are read one by one while requests go on:
 * each is exact, the set is a moment's snapshot only within a request
 * or two.
 */
#include <stdatomic.h>
#include <stdio.h>

#include "addr.h"
#include "concurrency.h"
#include "conf.h"
#include "counters.h"
#include "server.h"
#include "stats.h"
#include "strbuf.h"
#include "transport.h"

static const char *const refusal_names[COUNTERS_NREFUSALS] = {
	[COUNTERS_ACCESS] = "access",
	[COUNTERS_PER_SOURCE] = "max_per_source",
	[COUNTERS_VERIFY] = "verify_request",
	[COUNTERS_PROXY] = "proxy",
	[COUNTERS_TLS] = "tls",
};

static const char *const end_names[COUNTERS_NENDS] = {
	[COUNTERS_OK] = "ok",
	[COUNTERS_FAILED] = "failed",
	[COUNTERS_TIMED_OUT] = "timed_out",
	[COUNTERS_CUT] = "cut",
};

static unsigned long long
load(const atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void
stats_uptime(struct strbuf *out, double uptime)
{
	unsigned long s = (unsigned long)uptime;

	if (s >= 86400)
		strbuf_printf(out, "%lud ", s / 86400);
	strbuf_printf(out, "%02lu:%02lu:%02lu", s / 3600 % 24, s / 60 % 60,
	    s % 60);
}

void
stats_table(const struct stats_source *src, struct strbuf *out)
{
	char where[ADDR_NAME_MAX];
	size_t i;

	strbuf_printf(out, "sockservd %s, up ", src->version);
	stats_uptime(out, src->uptime);
	strbuf_printf(out, ", %zu server%s\n", src->nservers,
	    src->nservers == 1 ? "" : "s");
	strbuf_printf(out, "%-16s %-10s %-24s %-9s %7s %9s %10s %10s %8s "
	    "%8s\n", "SERVER", "TRANSPORT", "ADDRESS", "MODEL", "WORKERS",
	    "IN-FLIGHT", "REQUESTS", "OK", "FAILED", "REFUSED");
	for (i = 0; i < src->nservers; i++) {
		const struct ss_server *srv = src->servers[i];
		const struct counters *c = srv->counters;

		strbuf_printf(out, "%-16s %-10s %-24s %-9s %7d %9u %10llu "
		    "%10llu %8llu %8llu\n", srv->name, srv->transport->name,
		    server_where(srv, where, sizeof(where)),
		    srv->concurrency->name, srv->conf->workers,
		    atomic_load(&c->in_flight), counters_requests(c),
		    load(&c->ended[COUNTERS_OK]),
		    load(&c->ended[COUNTERS_FAILED]) +
		    load(&c->ended[COUNTERS_TIMED_OUT]),
		    counters_refusals(c));
	}
}

static void
stats_json_server(const struct ss_server *srv, struct strbuf *out)
{
	const struct counters *c = srv->counters;
	char where[ADDR_NAME_MAX];
	unsigned long long cumulative = 0;
	unsigned i;

	strbuf_printf(out, "{\"name\":");
	strbuf_json_string(out, srv->name);
	strbuf_printf(out, ",\"transport\":\"%s\",\"address\":",
	    srv->transport->name);
	strbuf_json_string(out, server_where(srv, where, sizeof(where)));
	strbuf_printf(out, ",\"model\":\"%s\",\"workers\":%d,\"handler\":",
	    srv->concurrency->name, srv->conf->workers);
	strbuf_json_string(out, srv->handler->name);
	strbuf_printf(out, ",\"accepted\":%llu,\"in_flight\":%u,"
	    "\"requests\":%llu", load(&c->accepted), atomic_load(&c->in_flight),
	    counters_requests(c));
	for (i = 0; i < COUNTERS_NENDS; i++)
		strbuf_printf(out, ",\"%s\":%llu", end_names[i],
		    load(&c->ended[i]));
	strbuf_printf(out, ",\"refused\":{");
	for (i = 0; i < COUNTERS_NREFUSALS; i++)
		strbuf_printf(out, "%s\"%s\":%llu", i > 0 ? "," : "",
		    refusal_names[i], load(&c->refused[i]));
	strbuf_printf(out, "},\"bytes_in\":%llu,\"bytes_out\":%llu,"
	    "\"latency\":{\"buckets\":[", load(&c->bytes_in),
	    load(&c->bytes_out));
	for (i = 0; i <= COUNTERS_BUCKETS; i++) {
		cumulative += load(&c->latency[i]);
		if (i < COUNTERS_BUCKETS)
			strbuf_printf(out, "%s{\"le\":%g,\"count\":%llu}",
			    i > 0 ? "," : "",
			    (double)counters_bound_us(i) / 1e6, cumulative);
		else
			strbuf_printf(out, ",{\"le\":\"+Inf\",\"count\":%llu}",
			    cumulative);
	}
	strbuf_printf(out, "],\"sum_seconds\":%.6f,\"count\":%llu}}",
	    (double)load(&c->latency_sum_us) / 1e6, cumulative);
}

void
stats_json(const struct stats_source *src, struct strbuf *out)
{
	size_t i;

	strbuf_printf(out, "{\"version\":");
	strbuf_json_string(out, src->version);
	strbuf_printf(out, ",\"uptime_seconds\":%.3f,\"servers\":[",
	    src->uptime);
	for (i = 0; i < src->nservers; i++) {
		if (i > 0)
			strbuf_printf(out, ",");
		stats_json_server(src->servers[i], out);
	}
	strbuf_printf(out, "]}\n");
}

/* The labels every series of srv carries, without braces. */
static void
stats_labels(const struct ss_server *srv, char *buf, size_t size)
{
	/* Server names are [A-Za-z0-9_.-]: nothing to escape (conf.c). */
	snprintf(buf, size, "server=\"%s\",transport=\"%s\",model=\"%s\"",
	    srv->name, srv->transport->name, srv->concurrency->name);
}

static void
stats_family(struct strbuf *out, const char *name, const char *type,
    const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

void
stats_prometheus(const struct stats_source *src, struct strbuf *out)
{
	char labels[256];
	unsigned long long cumulative;
	size_t i;
	unsigned k;

	stats_family(out, "sockserv_uptime_seconds", "gauge",
	    "Seconds since the daemon started.");
	strbuf_printf(out, "sockserv_uptime_seconds %.3f\n", src->uptime);
	stats_family(out, "sockserv_accepted_total", "counter",
	    "Connections and datagrams taken off the listening socket.");
	for (i = 0; i < src->nservers; i++) {
		stats_labels(src->servers[i], labels, sizeof(labels));
		strbuf_printf(out, "sockserv_accepted_total{%s} %llu\n", labels,
		    load(&src->servers[i]->counters->accepted));
	}
	stats_family(out, "sockserv_in_flight", "gauge",
	    "Requests running their hooks now.");
	for (i = 0; i < src->nservers; i++) {
		stats_labels(src->servers[i], labels, sizeof(labels));
		strbuf_printf(out, "sockserv_in_flight{%s} %u\n", labels,
		    atomic_load(&src->servers[i]->counters->in_flight));
	}
	stats_family(out, "sockserv_requests_total", "counter",
	    "Requests served to their end, by how it ended.");
	for (i = 0; i < src->nservers; i++) {
		stats_labels(src->servers[i], labels, sizeof(labels));
		for (k = 0; k < COUNTERS_NENDS; k++)
			strbuf_printf(out, "sockserv_requests_total{%s,"
			    "result=\"%s\"} %llu\n", labels, end_names[k],
			    load(&src->servers[i]->counters->ended[k]));
	}
	stats_family(out, "sockserv_refused_total", "counter",
	    "Requests refused, by reason.");
	for (i = 0; i < src->nservers; i++) {
		stats_labels(src->servers[i], labels, sizeof(labels));
		for (k = 0; k < COUNTERS_NREFUSALS; k++)
			strbuf_printf(out, "sockserv_refused_total{%s,"
			    "reason=\"%s\"} %llu\n", labels, refusal_names[k],
			    load(&src->servers[i]->counters->refused[k]));
	}
	stats_family(out, "sockserv_received_bytes_total", "counter",
	    "Bytes read from clients.");
	for (i = 0; i < src->nservers; i++) {
		stats_labels(src->servers[i], labels, sizeof(labels));
		strbuf_printf(out, "sockserv_received_bytes_total{%s} %llu\n",
		    labels, load(&src->servers[i]->counters->bytes_in));
	}
	stats_family(out, "sockserv_sent_bytes_total", "counter",
	    "Bytes written to clients.");
	for (i = 0; i < src->nservers; i++) {
		stats_labels(src->servers[i], labels, sizeof(labels));
		strbuf_printf(out, "sockserv_sent_bytes_total{%s} %llu\n",
		    labels, load(&src->servers[i]->counters->bytes_out));
	}
	stats_family(out, "sockserv_request_duration_seconds", "histogram",
	    "How long requests took, from accept to their end.");
	for (i = 0; i < src->nservers; i++) {
		const struct counters *c = src->servers[i]->counters;

		stats_labels(src->servers[i], labels, sizeof(labels));
		cumulative = 0;
		for (k = 0; k < COUNTERS_BUCKETS; k++) {
			cumulative += load(&c->latency[k]);
			strbuf_printf(out, "sockserv_request_duration_seconds_"
			    "bucket{%s,le=\"%g\"} %llu\n", labels,
			    (double)counters_bound_us(k) / 1e6, cumulative);
		}
		cumulative += load(&c->latency[COUNTERS_BUCKETS]);
		strbuf_printf(out, "sockserv_request_duration_seconds_bucket{%s,"
		    "le=\"+Inf\"} %llu\n", labels, cumulative);
		strbuf_printf(out, "sockserv_request_duration_seconds_sum{%s} "
		    "%.6f\n", labels, (double)load(&c->latency_sum_us) / 1e6);
		strbuf_printf(out, "sockserv_request_duration_seconds_count{%s} "
		    "%llu\n", labels, cumulative);
	}
}
