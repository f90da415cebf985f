/*
 * test_histogram.c: the log-linear histogram (analysis/histogram.c).
 * Checks the bucket scheme of histogram.h (exact below 16, 8 buckets per
 * power of two, contiguous from 0 to UINT64_MAX, every value in the bucket
 * that claims it), quantiles on known data (exact for small values, within
 * the documented 6.25% otherwise, min and max exact, nearest-rank), and
 * that merging is the same as recording everything in one (invariants
 * checked after both).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "analysis/histogram.h"

Test(histogram, buckets_cover_every_value_once)
{
	cr_assert_eq(HIST_BUCKETS, 496);
	for (uint64_t v = 0; v < 16; v++) {
		cr_assert_eq(hist_bucket_of(v), v);
		cr_assert_eq(hist_bucket_lower((uint32_t)v), v);
		cr_assert_eq(hist_bucket_upper((uint32_t)v), v);
	}
	cr_assert_eq(hist_bucket_lower(0), 0);
	cr_assert_eq(hist_bucket_upper(HIST_BUCKETS - 1), UINT64_MAX);
	for (uint32_t i = 0; i + 1 < HIST_BUCKETS; i++) {
		uint64_t lo = hist_bucket_lower(i), hi = hist_bucket_upper(i);
		cr_assert_eq(hi + 1, hist_bucket_lower(i + 1), "bucket %u", i);
		cr_assert_eq(hist_bucket_of(lo), i);
		cr_assert_eq(hist_bucket_of(hi), i);
		/* A bucket is at most 1/8 of its lower bound wide. */
		if (lo >= 16)
			cr_assert_leq((hi - lo + 1) * 8, lo, "bucket %u", i);
	}
	cr_assert_eq(hist_bucket_of(UINT64_MAX), HIST_BUCKETS - 1);
	/* Spot checks of the formula in histogram.h. */
	cr_assert_eq(hist_bucket_of(16), 16);
	cr_assert_eq(hist_bucket_of(17), 16);
	cr_assert_eq(hist_bucket_of(18), 17);
	cr_assert_eq(hist_bucket_lower(24), 32);
	cr_assert_eq(hist_bucket_upper(24), 35);
	cr_assert_eq(hist_bucket_of(1000), hist_bucket_of(1023));
	cr_assert_eq(hist_bucket_lower(hist_bucket_of(1000)), 960);
}

static struct hist h, h2, h3;

Test(histogram, quantiles_of_small_values_are_exact)
{
	hist_reset(&h);
	cr_assert_eq(hist_quantile(&h, 500), 0, "empty");
	for (uint64_t v = 1; v <= 10; v++)
		hist_add(&h, v);
	cr_assert_eq(h.count, 10);
	cr_assert_eq(h.sum, 55);
	cr_assert_eq(hist_quantile(&h, 500), 5);
	cr_assert_eq(hist_quantile(&h, 900), 9);
	cr_assert_eq(hist_quantile(&h, 990), 10);
	cr_assert_eq(hist_quantile(&h, 1000), 10);
	cr_assert_eq(hist_quantile(&h, 0), 1);
}

static void within(uint64_t got, uint64_t want)
{
	uint64_t diff = got > want ? got - want : want - got;
	cr_assert_leq(diff * 16, want, "got %llu, want %llu within 6.25%%",
		      (unsigned long long)got, (unsigned long long)want);
}

Test(histogram, quantiles_of_known_data_within_the_bucket_error)
{
	hist_reset(&h);
	/* 1..1000 ns, shuffled: order must not matter. */
	uint64_t vals[1000];
	for (uint64_t i = 0; i < 1000; i++)
		vals[i] = i + 1;
	srand(7);
	for (int i = 999; i > 0; i--) {
		int j = rand() % (i + 1);
		uint64_t t = vals[i];
		vals[i] = vals[j];
		vals[j] = t;
	}
	for (int i = 0; i < 1000; i++)
		hist_add(&h, vals[i]);
	within(hist_quantile(&h, 500), 500);
	within(hist_quantile(&h, 900), 900);
	within(hist_quantile(&h, 990), 990);
	cr_assert_eq(hist_quantile(&h, 1000), 1000);
	hist_check_invariants(&h);
	cr_assert_eq(h.min, 1);
	cr_assert_eq(h.max, 1000);
	/* 500 lies in [480, 511]: the midpoint is what is reported. */
	cr_assert_eq(hist_quantile(&h, 500), 495);

	/* Latencies over six orders of magnitude: 99 fast, 1 slow. */
	hist_reset(&h2);
	for (int i = 0; i < 99; i++)
		hist_add(&h2, 1700);	/* zram swap-in */
	hist_add(&h2, 6000000);		/* HDD read */
	within(hist_quantile(&h2, 500), 1700);
	within(hist_quantile(&h2, 990), 1700);
	cr_assert_eq(hist_quantile(&h2, 1000), 6000000);
	/* One sample: every quantile is it, exactly (clamped to min/max). */
	hist_reset(&h3);
	hist_add(&h3, 12345);
	cr_assert_eq(hist_quantile(&h3, 500), 12345);
	cr_assert_eq(hist_quantile(&h3, 990), 12345);
}

Test(histogram, merging_is_recording_everything_in_one)
{
	hist_reset(&h);
	hist_reset(&h2);
	hist_reset(&h3);
	for (uint64_t v = 0; v < 5000; v += 7) {
		hist_add(v % 2 ? &h : &h2, v * v);
		hist_add(&h3, v * v);
	}
	hist_merge(&h, &h2);
	hist_check_invariants(&h);
	hist_check_invariants(&h3);
	cr_assert_eq(h.count, h3.count);
	cr_assert_eq(h.sum, h3.sum);
	cr_assert_eq(h.min, h3.min);
	cr_assert_eq(h.max, h3.max);
	cr_assert_eq(h.lo, h3.lo);
	cr_assert_eq(h.hi, h3.hi);
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		cr_assert_eq(h.buckets[i], h3.buckets[i], "bucket %u", i);
	/* Walking the non-empty buckets visits each once, in order. */
	uint64_t total = 0;
	uint32_t prev = 0;
	bool first = true;
	for (uint32_t i = 0; hist_next_bucket(&h, &i); i++) {
		cr_assert(first || i > prev);
		cr_assert_gt(h.buckets[i], 0);
		total += h.buckets[i];
		prev = i;
		first = false;
	}
	cr_assert_eq(total, h.count);
}
