/*
 * metrics.c: the metrics (see metrics.h) and the metrics checker that
 * feeds them from the hooks: lock hold times from `released`, wait times
 * from `wait_end`, fault latency and retries from `fault_done`, counters
 * from `vm_event`.  A run's metrics are folded into the campaign's at the
 * run's end.  Nothing here allocates after checkers_create, and every hook
 * is a few additions.
 *
 * Not measured: a wait that never ends (a deadlock) has no wait time, and a
 * folio lock handed to read I/O (folio_lock_to_io) ends the task's hold
 * without a release, so it is not a hold time either; the fault that waits
 * for that I/O shows it in its latency.
 */
#include <stddef.h>
#include <string.h>

#include "analysis/checkers_int.h"
#include "analysis/metrics.h"

static const char *const hist_names[METRIC_HISTS_COUNT] = {
	[METRIC_MMAP_READ_HOLD] = "mmap_lock.read.hold_ns",
	[METRIC_MMAP_WRITE_HOLD] = "mmap_lock.write.hold_ns",
	[METRIC_MMAP_READ_WAIT] = "mmap_lock.read.wait_ns",
	[METRIC_MMAP_WRITE_WAIT] = "mmap_lock.write.wait_ns",
	[METRIC_FOLIO_HOLD] = "folio_lock.hold_ns",
	[METRIC_FOLIO_WAIT] = "folio_lock.wait_ns",
	[METRIC_FOLIO_WAIT_LOCKED] = "folio_wait_locked.wait_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_ANON] = "fault.anon.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_FILE_MINOR] = "fault.file_minor.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_FILE_MAJOR] = "fault.file_major.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_SWAP_ZRAM] = "fault.swap_zram.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_SWAP_DISK] = "fault.swap_disk.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_COW] = "fault.cow.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_SHARED] = "fault.shared.latency_ns",
	[METRIC_FAULT_LATENCY + FAULT_KIND_WP] = "fault.wp.latency_ns",
	[METRIC_FAULT_RETRIES] = "fault.retries",
};

static_assert(FAULT_KINDS_COUNT == 8, "a latency histogram name for each fault kind");

const char *metric_name(enum metric_id id)
{
	SIM_ASSERT(id < METRIC_HISTS_COUNT);
	SIM_ASSERT(hist_names[id] != NULL);
	return hist_names[id];
}

const char *metric_unit(enum metric_id id)
{
	SIM_ASSERT(id < METRIC_HISTS_COUNT);
	return id == METRIC_FAULT_RETRIES ? "retries" : "ns";
}

const char *metric_counter_name(uint32_t counter)
{
	SIM_ASSERT(counter < METRIC_COUNTERS_COUNT);
	if (counter == METRIC_COUNTER_PGMINFAULT)
		return "pgminfault";
	if (counter == METRIC_COUNTER_SWAP_FAULT)
		return "swap_fault";
	if (counter == METRIC_COUNTER_SWAP_FAULT_VMA_LOCKED)
		return "swap_fault_vma_locked";
	return vm_event_name((enum vm_event_item)counter);
}

bool metrics_lookup(const char *name, bool *counter, uint32_t *index)
{
	SIM_ASSERT(name != NULL);
	SIM_ASSERT(counter != NULL && index != NULL);
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++) {
		if (strcmp(metric_name((enum metric_id)i), name) == 0) {
			*counter = false;
			*index = i;
			return true;
		}
	}
	for (uint32_t c = 0; c < METRIC_COUNTERS_COUNT; c++) {
		if (strcmp(metric_counter_name(c), name) == 0) {
			*counter = true;
			*index = c;
			return true;
		}
	}
	return false;
}

uint64_t metrics_counter(const struct metrics *m, uint32_t counter)
{
	SIM_ASSERT(counter < METRIC_COUNTERS_COUNT);
	if (counter == METRIC_COUNTER_PGMINFAULT) {
		uint64_t all = m->events[PGFAULT], major = m->events[PGMAJFAULT];
		return all > major ? all - major : 0;
	}
	if (counter == METRIC_COUNTER_SWAP_FAULT)
		return m->swap_faults;
	if (counter == METRIC_COUNTER_SWAP_FAULT_VMA_LOCKED)
		return m->swap_faults_vma_locked;
	return m->events[counter];
}

void metrics_reset(struct metrics *m)
{
	m->runs = 0;
	memset(m->events, 0, sizeof(m->events));
	m->swap_faults = 0;
	m->swap_faults_vma_locked = 0;
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++)
		hist_reset(&m->hists[i]);
}

void metrics_add(struct metrics *m, enum metric_id id, uint64_t value)
{
	SIM_ASSERT(id < METRIC_HISTS_COUNT);
	hist_add(&m->hists[id], value);
}

void metrics_count(struct metrics *m, enum vm_event_item item, uint64_t delta)
{
	SIM_ASSERT(item < NR_VM_EVENT_ITEMS);
	m->events[item] += delta;
}

void metrics_merge(struct metrics *dst, const struct metrics *src)
{
	dst->runs += src->runs;
	for (uint32_t i = 0; i < NR_VM_EVENT_ITEMS; i++)
		dst->events[i] += src->events[i];
	dst->swap_faults += src->swap_faults;
	dst->swap_faults_vma_locked += src->swap_faults_vma_locked;
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++)
		hist_merge(&dst->hists[i], &src->hists[i]);
}

bool metrics_next(const struct metrics *m, struct metrics_iter *it,
		  struct metric_row *row)
{
	while (it->metric < METRIC_HISTS_COUNT) {
		const struct hist *h = &m->hists[it->metric];
		uint32_t b = it->bucket;
		if (hist_next_bucket(h, &b)) {
			*row = (struct metric_row){
				.name = metric_name(it->metric),
				.counter = false,
				.bucket = hist_bucket_lower(b),
				.count = h->buckets[b],
			};
			it->bucket = b + 1;
			return true;
		}
		it->metric++;
		it->bucket = 0;
	}
	uint32_t counter = it->metric - METRIC_HISTS_COUNT;
	if (counter >= METRIC_COUNTERS_COUNT)
		return false;
	*row = (struct metric_row){
		.name = metric_counter_name(counter),
		.counter = true,
		.bucket = 0,
		.count = metrics_counter(m, counter),
	};
	it->metric++;
	return true;
}

void metrics_summary(const struct metrics *m, enum metric_id id,
		     struct metric_summary *out)
{
	const struct hist *h = &m->hists[id];

	SIM_ASSERT(id < METRIC_HISTS_COUNT);
	*out = (struct metric_summary){
		.name = metric_name(id),
		.unit = metric_unit(id),
		.count = h->count,
		.min = h->count ? h->min : 0,
		.p50 = hist_quantile(h, 500),
		.p90 = hist_quantile(h, 900),
		.p99 = hist_quantile(h, 990),
		.max = h->count ? h->max : 0,
		.mean = h->count ? h->sum / h->count : 0,
	};
}

void metrics_print_summary(const struct metrics *m, FILE *f)
{
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++) {
		struct metric_summary s;
		metrics_summary(m, (enum metric_id)i, &s);
		if (!s.count)
			continue;
		fprintf(f,
			"metric %s: n=%llu p50=%llu p90=%llu p99=%llu max=%llu %s\n",
			s.name, (unsigned long long)s.count,
			(unsigned long long)s.p50, (unsigned long long)s.p90,
			(unsigned long long)s.p99, (unsigned long long)s.max,
			s.unit);
	}
	for (uint32_t i = 0; i < METRIC_COUNTERS_COUNT; i++) {
		uint64_t v = metrics_counter(m, i);
		if (v)
			fprintf(f, "counter %s: %llu\n", metric_counter_name(i),
				(unsigned long long)v);
	}
}

/* --------------------------------------------------- the metrics checker */

struct metrics_state {
	struct metrics run;
	struct metrics campaign;
};

static void metrics_init(struct checkers *c, void *p)
{
	struct metrics_state *st = p;

	(void)c;
	metrics_reset(&st->run);
	metrics_reset(&st->campaign);
	/* The names are checked once against the model's, so a renamed or
	 * reordered fault kind cannot go unnoticed. */
	for (uint32_t k = 0; k < FAULT_KINDS_COUNT; k++)
		SIM_ASSERT(strstr(metric_name(METRIC_FAULT_LATENCY + k),
				  fault_kind_name((enum fault_kind)k)) != NULL);
}

static void metrics_run_begin(struct checkers *c, void *p, struct engine *e)
{
	struct metrics_state *st = p;

	(void)c;
	(void)e;
	/* st->run is valid from the last run (the state starts zeroed and
	 * the first run_begin resets it fully): every field before the
	 * histograms is zeroed, and of the histograms only the buckets the
	 * run used (a full reset was 8 KiB per run). */
	static_assert(offsetof(struct metrics, hists) + sizeof(st->run.hists) ==
			      sizeof(struct metrics),
		      "the histograms are the last member");
	if (st->run.runs == 0) {
		metrics_reset(&st->run);
	} else {
		memset(&st->run, 0, offsetof(struct metrics, hists));
		for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++)
			hist_clear(&st->run.hists[i]);
	}
	st->run.runs = 1;
}

static void metrics_run_end(struct checkers *c, void *p, struct engine *e,
			    enum run_outcome o)
{
	struct metrics_state *st = p;

	(void)c;
	(void)e;
	(void)o;
	metrics_merge(&st->campaign, &st->run);
}

static void metrics_released(struct checkers *c, void *p, struct task *t,
			     const struct held_lock *h, uint64_t now_ns)
{
	struct metrics_state *st = p;

	(void)c;
	(void)t;
	SIM_ASSERT(now_ns >= h->since_ns);
	uint64_t held = now_ns - h->since_ns;
	switch (h->lock->cls->id) {
	case LC_MMAP_LOCK:
		metrics_add(&st->run, h->mode == LOCK_READ
					      ? METRIC_MMAP_READ_HOLD
					      : METRIC_MMAP_WRITE_HOLD,
			    held);
		break;
	case LC_FOLIO_LOCK:
		metrics_add(&st->run, METRIC_FOLIO_HOLD, held);
		break;
	default:
		break;
	}
}

static void metrics_wait_end(struct checkers *c, void *p, struct task *t,
			     struct lock_common *l, enum lock_mode mode,
			     uint64_t waited_ns)
{
	struct metrics_state *st = p;

	(void)c;
	(void)t;
	switch (l->cls->id) {
	case LC_MMAP_LOCK:
		metrics_add(&st->run, mode == LOCK_READ ? METRIC_MMAP_READ_WAIT
							: METRIC_MMAP_WRITE_WAIT,
			    waited_ns);
		break;
	case LC_FOLIO_LOCK:
		metrics_add(&st->run, mode == LOCK_READ ? METRIC_FOLIO_WAIT_LOCKED
							: METRIC_FOLIO_WAIT,
			    waited_ns);
		break;
	default:
		break;
	}
}

static void metrics_vm_event(struct checkers *c, void *p,
			     enum vm_event_item item, uint64_t delta)
{
	struct metrics_state *st = p;

	(void)c;
	metrics_count(&st->run, item, delta);
}

static void metrics_fault_done(struct checkers *c, void *p,
			       const struct fault_record *r)
{
	struct metrics_state *st = p;

	(void)c;
	SIM_ASSERT(r->kind < FAULT_KINDS_COUNT);
	SIM_ASSERT(r->end_ns >= r->start_ns);
	metrics_add(&st->run, METRIC_FAULT_LATENCY + r->kind,
		    r->end_ns - r->start_ns);
	metrics_add(&st->run, METRIC_FAULT_RETRIES,
		    r->attempts ? r->attempts - 1 : 0);
	if (r->kind == FAULT_KIND_SWAP_ZRAM || r->kind == FAULT_KIND_SWAP_DISK) {
		st->run.swap_faults++;
		if (r->vma_locked)
			st->run.swap_faults_vma_locked++;
	}
}

const struct metrics *metrics_checker_run(const void *p)
{
	return &((const struct metrics_state *)p)->run;
}

const struct metrics *metrics_checker_campaign(const void *p)
{
	return &((const struct metrics_state *)p)->campaign;
}

const struct checker_ops metrics_checker = {
	.name = "metrics",
	.state_bytes = sizeof(struct metrics_state),
	.init = metrics_init,
	.run_begin = metrics_run_begin,
	.run_end = metrics_run_end,
	.released = metrics_released,
	.wait_end = metrics_wait_end,
	.vm_event = metrics_vm_event,
	.fault_done = metrics_fault_done,
};
