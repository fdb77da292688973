/*
 * report.c - progress, report and summary of a run (see report.h).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

uint64_t
ss_totals_errors(const struct ss_totals *t)
{
	return t->connect_errors + t->resets + t->timeouts;
}

void
ss_totals_collect(struct ss_totals *t, struct ss_worker *ws, int n,
    const struct ss_run *run)
{
	uint64_t end = run->measure_ns;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < n; i++) {
		struct ss_counters *c = &ws[i].c;

		t->requests += ss_read_count(&c->requests);
		t->bytes += ss_read_count(&c->bytes);
		t->connect_errors += ss_read_count(&c->connect_errors);
		t->resets += ss_read_count(&c->resets);
		t->timeouts += ss_read_count(&c->timeouts);
		t->mismatches += ss_read_count(&c->mismatches);
		t->lost += ss_read_count(&c->lost);
		ss_hist_merge(&t->hist, &ws[i].hist);
		for (int j = 0; j < ws[i].nconns; j++)
			t->served += ws[i].conns[j].served;
		if (ws[i].finished_ns > end)
			end = ws[i].finished_ns;
	}
	/* Workers stop at end_ns, early under -n or on a signal. */
	if (end > run->end_ns)
		end = run->end_ns;
	t->seconds = end > run->measure_ns ?
	    (double)(end - run->measure_ns) / 1e9 : 1e-9;
}

static uint64_t
sum_errors(struct ss_worker *ws, int n)
{
	uint64_t e = 0;

	for (int i = 0; i < n; i++)
		e += ss_read_count(&ws[i].c.connect_errors) +
		    ss_read_count(&ws[i].c.resets) +
		    ss_read_count(&ws[i].c.timeouts) +
		    ss_read_count(&ws[i].c.mismatches) +
		    ss_read_count(&ws[i].c.lost);
	return e;
}

void
ss_report_progress(struct ss_worker *ws, int n, const struct ss_run *run,
    double elapsed, uint64_t *last_requests)
{
	const struct ss_settings *set = run->set;
	uint64_t requests = 0;
	bool tty = isatty(STDERR_FILENO);

	for (int i = 0; i < n; i++)
		requests += ss_read_count(&ws[i].c.requests);
	fprintf(stderr, "%s%s %s c=%d: %.0f s%s, %llu requests, %llu/s, "
	    "%llu errors%s", tty ? "\r" : "", set->mode->name,
	    set->target.text, set->connections, elapsed,
	    elapsed * 1e9 < (double)set->warmup_ns ? " (warm-up)" : "",
	    (unsigned long long)requests,
	    (unsigned long long)(requests - *last_requests),
	    (unsigned long long)sum_errors(ws, n), tty ? "\033[K" : "\n");
	fflush(stderr);
	*last_requests = requests;
}

void
ss_report_progress_end(const struct ss_run *run)
{
	if (run->set->progress && isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);
}

static double
us(const struct ss_totals *t, double q)
{
	return (double)ss_hist_quantile(&t->hist, q) / 1e3;
}

static const char *
expect_name(enum ss_expect e)
{
	return e == SS_EXPECT_ECHO ? "echo" :
	    e == SS_EXPECT_UPPER ? "upper" : "any";
}

static void
report_human(const struct ss_totals *t, const struct ss_run *run)
{
	const struct ss_settings *set = run->set;

	printf("%s %s: %d connection%s, %d thread%s, %zu-byte lines, "
	    "expect %s, %.2f s\n", set->mode->name, set->target.text,
	    set->connections, set->connections == 1 ? "" : "s",
	    set->threads, set->threads == 1 ? "" : "s", set->size,
	    expect_name(set->expect), t->seconds);
	printf("  requests     %llu (%.1f per second), %.2f MB/s\n",
	    (unsigned long long)t->requests,
	    (double)t->requests / t->seconds,
	    (double)t->bytes / t->seconds / 1e6);
	printf("  latency      p50 %.1f us, p99 %.1f us, p99.9 %.1f us, "
	    "max %.1f us\n", us(t, 0.5), us(t, 0.99), us(t, 0.999),
	    (double)t->hist.max / 1e3);
	printf("  errors       %llu (connect %llu, resets %llu, timeouts "
	    "%llu), mismatches %llu, lost %llu\n",
	    (unsigned long long)ss_totals_errors(t),
	    (unsigned long long)t->connect_errors,
	    (unsigned long long)t->resets,
	    (unsigned long long)t->timeouts,
	    (unsigned long long)t->mismatches,
	    (unsigned long long)t->lost);
	printf("  connections  %llu of %d answered at least once\n",
	    (unsigned long long)t->served, set->connections);
}

void
ss_report_final(const struct ss_totals *t, const struct ss_run *run)
{
	const struct ss_settings *set = run->set;

	if (!set->quiet)
		report_human(t, run);
	printf("summary mode=%s target=%s c=%d t=%d size=%zu expect=%s "
	    "seconds=%.3f requests=%llu rps=%.1f mbps=%.3f p50_us=%.1f "
	    "p99_us=%.1f p999_us=%.1f max_us=%.1f errors=%llu "
	    "connect_errors=%llu resets=%llu timeouts=%llu mismatches=%llu "
	    "lost=%llu served=%llu\n",
	    set->mode->name, set->target.text, set->connections,
	    set->threads, set->size, expect_name(set->expect), t->seconds,
	    (unsigned long long)t->requests,
	    (double)t->requests / t->seconds,
	    (double)t->bytes / t->seconds / 1e6,
	    us(t, 0.5), us(t, 0.99), us(t, 0.999),
	    (double)t->hist.max / 1e3,
	    (unsigned long long)ss_totals_errors(t),
	    (unsigned long long)t->connect_errors,
	    (unsigned long long)t->resets,
	    (unsigned long long)t->timeouts,
	    (unsigned long long)t->mismatches,
	    (unsigned long long)t->lost,
	    (unsigned long long)t->served);
	fflush(stdout);
}

void
ss_report_histogram(const struct ss_totals *t)
{
	const struct ss_hist *h = &t->hist;
	unsigned used = 0;
	uint64_t low, high;

	for (unsigned b = 0; b < SS_HIST_BUCKETS; b++)
		used += h->buckets[b] != 0;
	printf("histogram buckets=%u count=%llu\n", used,
	    (unsigned long long)h->count);
	for (unsigned b = 0; b < SS_HIST_BUCKETS; b++) {
		if (h->buckets[b] == 0)
			continue;
		ss_hist_bounds(b, &low, &high);
		printf("bucket from_ns=%llu to_ns=%llu count=%llu\n",
		    (unsigned long long)low, (unsigned long long)high,
		    (unsigned long long)h->buckets[b]);
	}
	fflush(stdout);
}
