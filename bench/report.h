/*
 * report.h - what sockserv-bench prints: the progress line while it runs,
 * and at the end a short report and the one-line summary scripts parse.
 */
#ifndef SS_BENCH_REPORT_H
#define SS_BENCH_REPORT_H

#include "bench.h"

/* Everything the workers counted, added up once they are done. */
struct ss_totals {
	uint64_t requests, bytes;
	uint64_t connect_errors, resets, timeouts, mismatches, lost;
	uint64_t served;	/* slots answered at least once */
	double seconds;		/* the measured time */
	struct ss_hist hist;
};

/* errors= of the summary: connect errors, resets and timeouts. */
uint64_t ss_totals_errors(const struct ss_totals *t);

/* Adds up the workers' counters and histograms (after they ended). */
void ss_totals_collect(struct ss_totals *t, struct ss_worker *ws, int n,
    const struct ss_run *run);

/*
 * The progress line, on stderr: rewritten in place on a terminal, a line
 * each time otherwise. elapsed is since the start; last_requests is the
 * count at the previous call (per-second rate), updated.
 */
void ss_report_progress(struct ss_worker *ws, int n, const struct ss_run *run,
    double elapsed, uint64_t *last_requests);
/* Clears the progress line of a terminal before the report. */
void ss_report_progress_end(const struct ss_run *run);

/* The human report (unless quiet), then the summary line, on stdout. */
void ss_report_final(const struct ss_totals *t, const struct ss_run *run);
/*
 * The latency histogram (--histogram), after the summary: a line with the
 * number of non-empty buckets and of values, then one line per non-empty
 * bucket, in increasing order: the values from_ns <= v < to_ns, counted.
 */
void ss_report_histogram(const struct ss_totals *t);

#endif /* SS_BENCH_REPORT_H */
