/*
 * histogram.h - latencies in log-linear buckets: 256 exact values below
 * 256 ns, then 128 buckets per power of two, so any value is kept to
 * better than 1 % in a fixed 43 KB, however long the run.
 */
#ifndef SS_BENCH_HISTOGRAM_H
#define SS_BENCH_HISTOGRAM_H

#include <stdint.h>

#define SS_HIST_LINEAR	256	/* values below this have a bucket each */
#define SS_HIST_SUB	128	/* buckets per power of two above it */
#define SS_HIST_TOP	48	/* values up to 2^48 ns (78 hours) */
#define SS_HIST_BUCKETS	(SS_HIST_LINEAR + (SS_HIST_TOP - 8) * SS_HIST_SUB)

struct ss_hist {
	uint64_t count;
	uint64_t max;
	uint64_t buckets[SS_HIST_BUCKETS];
};

void ss_hist_record(struct ss_hist *h, uint64_t ns);
/* Adds every value of `from` into `into`. */
void ss_hist_merge(struct ss_hist *into, const struct ss_hist *from);
/* The value at quantile q (0..1): the middle of its bucket; 0 when empty. */
uint64_t ss_hist_quantile(const struct ss_hist *h, double q);
/* The values bucket b holds: from *low_r up to, not including, *high_r. */
void ss_hist_bounds(unsigned b, uint64_t *low_r, uint64_t *high_r);

#endif /* SS_BENCH_HISTOGRAM_H */
