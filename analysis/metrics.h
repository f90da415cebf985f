/*
 * metrics.h: what simrun measures, per run and summed over a campaign:
 * histograms of lock hold and wait times, fault latency by kind and retries
 * per fault, and the vm event counters.  Fixed size (about 60 KiB), so
 * recording never allocates.  The metrics checker (metrics.c) fills them
 * from the lock and vmstat hooks; the store reads them as rows
 * (metrics_next) and reports print them (metrics_summary).  Not a checker's
 * verdict: nothing here is a finding.
 *
 * Bucket scheme and quantile error: see histogram.h (8 buckets per power of
 * two; a quantile is within 6.25% of a sample at its rank; min and max are
 * exact).
 */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/histogram.h"
#include "mm/vmstat.h"

enum metric_id {
	METRIC_MMAP_READ_HOLD = 0,	/* mmap_lock held for read, ns */
	METRIC_MMAP_WRITE_HOLD,		/* mmap_lock held for write, ns */
	METRIC_MMAP_READ_WAIT,		/* waited in mmap_read_lock, ns */
	METRIC_MMAP_WRITE_WAIT,		/* waited in mmap_write_lock, ns */
	METRIC_FOLIO_HOLD,		/* folio lock held by a task, ns */
	METRIC_FOLIO_WAIT,		/* waited in folio_lock, ns */
	METRIC_FOLIO_WAIT_LOCKED,	/* waited in folio_wait_locked, ns */
	/* Fault latency, entry to return, one per enum fault_kind. */
	METRIC_FAULT_LATENCY,
	METRIC_FAULT_RETRIES = METRIC_FAULT_LATENCY + FAULT_KINDS_COUNT,
	METRIC_HISTS_COUNT,
};

/* Counters: the vm events in enum vm_event_item's order, then the minor
 * faults (pgfault - pgmajfault, as the kernel's min_flt), then the swap
 * faults completed (records of kind swap_zram or swap_disk) and how many
 * of them completed under the per-VMA lock: the kernel has no counter for
 * that share, which is what the swap_vma_lock variants change. */
#define METRIC_COUNTER_PGMINFAULT ((uint32_t)NR_VM_EVENT_ITEMS)
#define METRIC_COUNTER_SWAP_FAULT ((uint32_t)NR_VM_EVENT_ITEMS + 1u)
#define METRIC_COUNTER_SWAP_FAULT_VMA_LOCKED ((uint32_t)NR_VM_EVENT_ITEMS + 2u)
#define METRIC_COUNTERS_COUNT ((uint32_t)NR_VM_EVENT_ITEMS + 3u)

struct metrics {
	uint64_t runs;			/* runs summed in */
	uint64_t events[NR_VM_EVENT_ITEMS];
	uint64_t swap_faults;		/* swap fault records */
	uint64_t swap_faults_vma_locked;	/* of them, vma_locked */
	struct hist hists[METRIC_HISTS_COUNT];
};

/* "mmap_lock.read.hold_ns", "fault.swap_zram.latency_ns",
 * "fault.retries", ... */
const char *metric_name(enum metric_id id);
/* "ns", or "retries" for fault.retries. */
const char *metric_unit(enum metric_id id);
/* "pgfault", ..., "pgminfault", "swap_fault", "swap_fault_vma_locked". */
const char *metric_counter_name(uint32_t counter);
uint64_t metrics_counter(const struct metrics *m, uint32_t counter);
/* Find a histogram (metric_name) or counter (metric_counter_name) by name:
 * *counter says which, *index is its metric_id or counter number. */
bool metrics_lookup(const char *name, bool *counter, uint32_t *index);

void metrics_reset(struct metrics *m);
void metrics_add(struct metrics *m, enum metric_id id, uint64_t value);
void metrics_count(struct metrics *m, enum vm_event_item item, uint64_t delta);
/* dst += src: histograms bucket by bucket, counters and runs summed. */
void metrics_merge(struct metrics *dst, const struct metrics *src);

/*
 * One row of the store's metric(campaign_id, name, bucket, count) table:
 * for a histogram, one non-empty bucket (bucket = its lower bound, in the
 * metric's unit); for a counter, bucket is NULL (counter = true) and count
 * is its value.  Rows come histogram by histogram in enum order, buckets
 * ascending, then every counter in order (zeros included).
 */
struct metric_row {
	const char *name;
	bool counter;
	uint64_t bucket;
	uint64_t count;
};

struct metrics_iter {
	uint32_t metric;		/* histograms, then counters */
	uint32_t bucket;
};

static inline struct metrics_iter metrics_iter_start(void)
{
	return (struct metrics_iter){ 0, 0 };
}
bool metrics_next(const struct metrics *m, struct metrics_iter *it,
		  struct metric_row *row);

struct metric_summary {
	const char *name;
	const char *unit;
	uint64_t count;
	uint64_t min, p50, p90, p99, max;
	uint64_t mean;
};
void metrics_summary(const struct metrics *m, enum metric_id id,
		     struct metric_summary *out);
/* One line per non-empty histogram and one per non-zero counter. */
void metrics_print_summary(const struct metrics *m, FILE *f);

#endif /* SIM_METRICS_H */
