/*
 * histogram.c: the log-linear histogram (see histogram.h for the bucket
 * scheme and its error).  Integer arithmetic only: the same samples give
 * the same quantiles in every build.
 */
#include <assert.h>
#include <string.h>

#include "analysis/histogram.h"
#include "engine/sim_assert.h"

static_assert(HIST_BUCKETS == 496, "the scheme of histogram.h");
static_assert(HIST_BUCKETS <= UINT16_MAX, "bucket indexes fit lo and hi");

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->lo = HIST_BUCKETS - 1;
	h->hi = 0;
}

void hist_clear(struct hist *h)
{
	/* Every bucket outside [lo, hi] is zero (hist_add and hist_merge
	 * widen the range before they count), so only the range needs it. */
	if (h->count > 0) {
		SIM_ASSERT(h->lo <= h->hi && h->hi < HIST_BUCKETS);
		memset(&h->buckets[h->lo], 0,
		       (h->hi - h->lo + 1u) * sizeof(h->buckets[0]));
	}
	h->count = 0;
	h->sum = 0;
	h->min = 0;
	h->max = 0;
	h->lo = HIST_BUCKETS - 1;
	h->hi = 0;
}

uint32_t hist_bucket_of(uint64_t v)
{
	if (v < HIST_EXACT_BELOW)
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v);	/* e >= 4 */
	uint32_t shift = e - HIST_SUB_BITS;
	uint32_t i = shift * HIST_SUB_BUCKETS + (uint32_t)(v >> shift);
	SIM_ASSERT(i >= HIST_EXACT_BELOW);
	SIM_ASSERT(i < HIST_BUCKETS);
	return i;
}

uint64_t hist_bucket_lower(uint32_t i)
{
	SIM_ASSERT(i < HIST_BUCKETS);
	if (i < HIST_EXACT_BELOW)
		return i;
	uint32_t shift = i / HIST_SUB_BUCKETS - 1;
	return (uint64_t)(HIST_SUB_BUCKETS + i % HIST_SUB_BUCKETS) << shift;
}

uint64_t hist_bucket_upper(uint32_t i)
{
	SIM_ASSERT(i < HIST_BUCKETS);
	if (i < HIST_EXACT_BELOW)
		return i;
	uint32_t shift = i / HIST_SUB_BUCKETS - 1;
	return hist_bucket_lower(i) + (((uint64_t)1 << shift) - 1);
}

void hist_add(struct hist *h, uint64_t v)
{
	uint32_t i = hist_bucket_of(v);

	if (h->count == 0 || v < h->min)
		h->min = v;
	if (h->count == 0 || v > h->max)
		h->max = v;
	h->count++;
	h->sum = h->sum + v < h->sum ? UINT64_MAX : h->sum + v;
	h->buckets[i]++;
	if (i < h->lo)
		h->lo = (uint16_t)i;
	if (i > h->hi)
		h->hi = (uint16_t)i;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	for (uint32_t i = src->lo; i <= src->hi; i++)
		dst->buckets[i] += src->buckets[i];
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum = dst->sum + src->sum < dst->sum ? UINT64_MAX
						  : dst->sum + src->sum;
	if (src->lo < dst->lo)
		dst->lo = src->lo;
	if (src->hi > dst->hi)
		dst->hi = src->hi;
	if (SIM_EXPENSIVE)
		hist_check_invariants(dst);
}

void hist_check_invariants(const struct hist *h)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		total += h->buckets[i];
		if (h->buckets[i])					/* 2 */
			SIM_ASSERT(i >= h->lo && i <= h->hi);
	}
	SIM_ASSERT(total == h->count);					/* 1 */
	if (h->count == 0)
		return;
	SIM_ASSERT(h->buckets[h->lo] > 0 && h->buckets[h->hi] > 0);	/* 2 */
	SIM_ASSERT(hist_bucket_of(h->min) == h->lo);			/* 3 */
	SIM_ASSERT(hist_bucket_of(h->max) == h->hi);
	SIM_ASSERT(h->sum >= h->max);					/* 4 */
}

uint64_t hist_quantile(const struct hist *h, uint32_t permille)
{
	SIM_ASSERT(permille <= 1000);
	if (h->count == 0)
		return 0;
	if (permille == 1000)
		return h->max;
	/* Nearest rank: the ceil(count * q)-th smallest sample, at least
	 * the first. */
	uint64_t rank = (h->count * permille + 999) / 1000;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t i = h->lo; i <= h->hi; i++) {
		seen += h->buckets[i];
		if (seen < rank)
			continue;
		uint64_t lo = hist_bucket_lower(i), hi = hist_bucket_upper(i);
		uint64_t mid = lo + (hi - lo) / 2;
		if (mid < h->min)
			mid = h->min;
		if (mid > h->max)
			mid = h->max;
		return mid;
	}
	SIM_ASSERT(!"histogram counts do not add up to its count");
	return h->max;
}

bool hist_next_bucket(const struct hist *h, uint32_t *i)
{
	if (h->count == 0)
		return false;
	uint32_t k = *i < h->lo ? h->lo : *i;
	for (; k <= h->hi; k++) {
		if (h->buckets[k]) {
			*i = k;
			return true;
		}
	}
	return false;
}
