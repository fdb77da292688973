/*
 * histogram.c - the log-linear latency histogram (see histogram.h).
 */
#include "histogram.h"

static unsigned
bucket_of(uint64_t v)
{
	unsigned h, shift;

	if (v < SS_HIST_LINEAR)
		return (unsigned)v;
	h = 63u - (unsigned)__builtin_clzll(v);	/* 2^h <= v, h >= 8 */
	if (h >= SS_HIST_TOP)
		return SS_HIST_BUCKETS - 1;
	shift = h - 7;				/* keeps 8 significant bits */
	return SS_HIST_LINEAR + (h - 8) * SS_HIST_SUB +
	    (unsigned)((v >> shift) - SS_HIST_SUB);
}

/* The smallest value of bucket b, and how many values it spans. */
static void
span_of(unsigned b, uint64_t *low_r, uint64_t *width_r)
{
	unsigned h, shift;

	if (b < SS_HIST_LINEAR) {
		*low_r = b;
		*width_r = 1;
		return;
	}
	h = (b - SS_HIST_LINEAR) / SS_HIST_SUB + 8;
	shift = h - 7;
	*low_r = ((uint64_t)(b - SS_HIST_LINEAR) % SS_HIST_SUB + SS_HIST_SUB)
	    << shift;
	*width_r = (uint64_t)1 << shift;
}

/* The middle of bucket b, the value a quantile falling in it reports. */
static uint64_t
value_of(unsigned b)
{
	uint64_t low, width;

	span_of(b, &low, &width);
	return low + width / 2;
}

void
ss_hist_bounds(unsigned b, uint64_t *low_r, uint64_t *high_r)
{
	uint64_t width;

	span_of(b, low_r, &width);
	/* The last bucket also takes every value above 2^48 ns. */
	*high_r = b == SS_HIST_BUCKETS - 1 ? UINT64_MAX : *low_r + width;
}

void
ss_hist_record(struct ss_hist *h, uint64_t ns)
{
	h->buckets[bucket_of(ns)]++;
	h->count++;
	if (ns > h->max)
		h->max = ns;
}

void
ss_hist_merge(struct ss_hist *into, const struct ss_hist *from)
{
	for (unsigned b = 0; b < SS_HIST_BUCKETS; b++)
		into->buckets[b] += from->buckets[b];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t
ss_hist_quantile(const struct ss_hist *h, double q)
{
	uint64_t rank, seen = 0;
	uint64_t v;

	if (h->count == 0)
		return 0;
	/* The smallest value with at least q of all values at or below it. */
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (unsigned b = 0; b < SS_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			v = value_of(b);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
