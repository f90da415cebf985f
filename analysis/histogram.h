/*
 * histogram.h: log-linear histograms of non-negative integers (nanoseconds,
 * or counts), fixed-size, for metrics kept in the hot loop.  Not the
 * metrics themselves (metrics.c says what is measured).
 *
 * Bucket scheme (HdrHistogram's, with 3 significant bits):
 *   values 0..15 each have their own bucket (exact);
 *   from 16 on, each power of two [2^e, 2^(e+1)) is cut into
 *   HIST_SUB_BUCKETS = 8 equal buckets of width 2^(e-3).
 * So bucket i < 16 holds exactly i, and bucket i >= 16 holds
 *   [(8 + i%8) << (i/8 - 1), (9 + i%8) << (i/8 - 1)),
 * 496 buckets for all of uint64_t.  A bucket's width is at most 1/8 of its
 * lower bound.  Quantiles are reported as the midpoint of their bucket,
 * clamped to the exact minimum and maximum seen, so a reported quantile is
 * within 1/16 (6.25%) of a value that lies at that rank; values below 16,
 * the minimum and the maximum are exact.
 *
 * Quantiles use the nearest-rank definition: pQ is the smallest recorded
 * value v such that at least Q% of the samples are <= v.
 */
#ifndef SIM_HISTOGRAM_H
#define SIM_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SUB_BITS 3u
#define HIST_SUB_BUCKETS (1u << HIST_SUB_BITS)
/* Values below this have a bucket each. */
#define HIST_EXACT_BELOW (2u * HIST_SUB_BUCKETS)
/* (63 - HIST_SUB_BITS + 1) powers of two of HIST_SUB_BUCKETS each, after
 * the exact ones. */
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) * HIST_SUB_BUCKETS)

struct hist {
	uint64_t count;
	uint64_t sum;		/* saturates at UINT64_MAX */
	uint64_t min;		/* valid when count > 0 */
	uint64_t max;
	uint16_t lo, hi;	/* the non-zero buckets lie in [lo, hi] */
	uint64_t buckets[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
/* hist_reset for a histogram already valid (reset before): clears only
 * the buckets in use, for a histogram emptied after every run. */
void hist_clear(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* dst += src, bucket by bucket. */
void hist_merge(struct hist *dst, const struct hist *src);

uint32_t hist_bucket_of(uint64_t v);
uint64_t hist_bucket_lower(uint32_t i);
/* The highest value bucket i holds. */
uint64_t hist_bucket_upper(uint32_t i);

/* The value at `permille`/1000 of the samples (500 = p50, 990 = p99,
 * 1000 = max); 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, uint32_t permille);

/* Invariants: 1. count is the sum of the buckets; 2. every non-zero bucket
 * lies in [lo, hi], and lo and hi are non-zero when count > 0; 3. min is in
 * bucket lo and max in bucket hi; 4. sum >= max.  Walks every bucket:
 * called from tests and, with SIMRUN_EXPENSIVE_CHECKS, after merges. */
void hist_check_invariants(const struct hist *h);

/* Walk the non-zero buckets in ascending order: finds the first non-zero
 * bucket at or above *i, stores its index in *i and returns true, or
 * returns false when there is none.  Start at 0; continue from the index
 * found plus one. */
bool hist_next_bucket(const struct hist *h, uint32_t *i);

#endif /* SIM_HISTOGRAM_H */
