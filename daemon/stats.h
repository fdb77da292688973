/*
 * stats.h - the servers' counters as people and programs read them: a
 * table, JSON (a stable schema, sockservctl(8)), and Prometheus's text
 * exposition format (the metrics plugin).
 */
#ifndef SS_STATS_H
#define SS_STATS_H

#include <stddef.h>

struct ss_server;
struct strbuf;

/* What is rendered: every server, in order, and the daemon's age. */
struct stats_source {
	struct ss_server *const *servers;
	size_t nservers;
	double uptime;			/* seconds */
	const char *version;
};

void stats_table(const struct stats_source *src, struct strbuf *out);
void stats_json(const struct stats_source *src, struct strbuf *out);
void stats_prometheus(const struct stats_source *src, struct strbuf *out);

#endif /* SS_STATS_H */
