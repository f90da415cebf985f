/*
 * test_metrics.c: the metrics (analysis/metrics.c) measured by the
 * checkers on small worlds whose timings are worked out by hand from the
 * lock layer's costs (COST_LOCK_NS to take, COST_UNLOCK_NS to release, each
 * ending a step).  Checks: mmap_lock write hold and read wait and hold;
 * folio lock hold, folio_lock wait and folio_wait_locked wait; fault
 * latency by kind and retries per fault from fault records; vm event
 * counters and the derived minor faults; a run's metrics are summed into
 * the campaign's; the store's rows (histogram buckets by lower bound,
 * counters with no bucket) and the summary agree with the histograms.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/checkers.h"
#include "mm/mmap_lock.h"
#include "mm/pagemap.h"
#include "mm/world.h"
#include "tests/support.h"

static struct checkers *ck;
static struct mm_struct *mm;
static struct folio *P;

/*
 * writer: at 0 asks for the write lock (a step of COST_LOCK_NS), takes it
 * at L = COST_LOCK_NS, sleeps 1000, asks to unlock (COST_UNLOCK_NS) and
 * releases at L + 1000 + U.
 * reader: sleeps 100, asks for the read lock at 100 + L, finds the writer
 * and queues; granted at the writer's release; releases U later.
 */
static void writer(void *a)
{
	(void)a;
	mmap_write_lock(mm);
	sim_sleep(1000);
	mmap_write_unlock(mm);
}

static void reader(void *a)
{
	(void)a;
	sim_sleep(100);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
}

static void build_mmap(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	mm_task_create(e, "writer", 0, writer, NULL);
	mm_task_create(e, "reader", 1, reader, NULL);
}

static const struct hist *hist(const struct metrics *m, enum metric_id id)
{
	return &m->hists[id];
}

Test(metrics, mmap_lock_hold_and_wait_times)
{
	struct engine *e = test_engine_checked(3, &ck);
	const uint64_t L = COST_LOCK_NS, U = COST_UNLOCK_NS;

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_mmap, NULL), RUN_OK);
	const struct metrics *m = checkers_run_metrics(ck);
	const struct hist *wh = hist(m, METRIC_MMAP_WRITE_HOLD);
	cr_assert_eq(wh->count, 1);
	cr_assert_eq(wh->max, 1000 + U);
	const struct hist *rw = hist(m, METRIC_MMAP_READ_WAIT);
	cr_assert_eq(rw->count, 1);
	cr_assert_eq(rw->max, (L + 1000 + U) - (100 + L));
	const struct hist *rh = hist(m, METRIC_MMAP_READ_HOLD);
	cr_assert_eq(rh->count, 1);
	cr_assert_eq(rh->max, U);
	cr_assert_eq(hist(m, METRIC_MMAP_WRITE_WAIT)->count, 0);
	cr_assert_eq(m->runs, 1);

	/* One sample: the summary quotes it exactly. */
	struct metric_summary s;
	metrics_summary(m, METRIC_MMAP_WRITE_HOLD, &s);
	cr_assert_str_eq(s.name, "mmap_lock.write.hold_ns");
	cr_assert_str_eq(s.unit, "ns");
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.p50, 1000 + U);
	cr_assert_eq(s.p99, 1000 + U);
	cr_assert_eq(s.max, 1000 + U);
	engine_end(e);

	/* A second run: the campaign has both, the run only its own. */
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_mmap, NULL), RUN_OK);
	cr_assert_eq(hist(checkers_run_metrics(ck), METRIC_MMAP_WRITE_HOLD)->count, 1);
	const struct metrics *cm = checkers_campaign_metrics(ck);
	cr_assert_eq(cm->runs, 2);
	cr_assert_eq(hist(cm, METRIC_MMAP_WRITE_HOLD)->count, 2);
	cr_assert_eq(hist(cm, METRIC_MMAP_READ_WAIT)->count, 2);
	cr_assert_eq(hist(cm, METRIC_MMAP_READ_WAIT)->sum,
		     2 * ((L + 1000 + U) - (100 + L)));
	test_engine_checked_done(e, ck);
}

/*
 * holder: takes P at L, sleeps 500, releases at L + 500 + U.
 * locker: asks at 100 + L, queues, is handed P at the release, releases U
 * later.  waiter: folio_wait_locked at 200 (no cost before it queues), is
 * woken by the same release.
 */
static void folio_holder(void *a)
{
	(void)a;
	folio_lock(P);
	sim_sleep(500);
	folio_unlock(P);
}

static void folio_locker(void *a)
{
	(void)a;
	sim_sleep(100);
	folio_lock(P);
	folio_unlock(P);
}

static void folio_waiter(void *a)
{
	(void)a;
	sim_sleep(200);
	folio_wait_locked(P);
}

static void build_folio(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	P = arena_new(&e->arena, struct folio);
	P->id = mm_obj_id();
	folio_lock_init(P);
	mm_task_create(e, "holder", 0, folio_holder, NULL);
	mm_task_create(e, "locker", 1, folio_locker, NULL);
	mm_task_create(e, "waiter", 2, folio_waiter, NULL);
}

Test(metrics, folio_lock_hold_and_wait_times)
{
	struct engine *e = test_engine_checked(3, &ck);
	const uint64_t L = COST_LOCK_NS, U = COST_UNLOCK_NS;
	const uint64_t release = L + 500 + U;

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_folio, NULL), RUN_OK);
	const struct metrics *m = checkers_run_metrics(ck);
	const struct hist *hold = hist(m, METRIC_FOLIO_HOLD);
	cr_assert_eq(hold->count, 2);
	cr_assert_eq(hold->max, 500 + U);
	cr_assert_eq(hold->min, U);
	const struct hist *w = hist(m, METRIC_FOLIO_WAIT);
	cr_assert_eq(w->count, 1);
	cr_assert_eq(w->max, release - (100 + L));
	const struct hist *wl = hist(m, METRIC_FOLIO_WAIT_LOCKED);
	cr_assert_eq(wl->count, 1);
	cr_assert_eq(wl->max, release - 200);
	cr_assert_eq(hist(m, METRIC_MMAP_READ_HOLD)->count, 0);
	test_engine_checked_done(e, ck);
}

/* ------------------------------------------ faults and vm events */

static void fault_reporter(void *a)
{
	(void)a;
	struct task *t = sim_current();
	static const struct {
		enum fault_kind kind;
		uint64_t ns;
		uint32_t attempts;
	} faults[] = {
		{ FAULT_KIND_ANON, 1000, 1 },
		{ FAULT_KIND_ANON, 1200, 1 },
		{ FAULT_KIND_FILE_MAJOR, 6000000, 2 },
		{ FAULT_KIND_SWAP_ZRAM, 1700, 1 },
		{ FAULT_KIND_FILE_MINOR, 800, 3 },
	};
	/* The swap fault alone completed under the per-VMA lock. */

	count_vm_events(PGFAULT, 5);
	count_vm_event(PGMAJFAULT);
	count_vm_events(VMA_LOCK_SUCCESS, 3);
	count_vm_event(VMA_LOCK_RETRY);
	count_vm_event(IO_SUBMITTED);
	count_vm_event(IO_COMPLETED);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		struct fault_record r = {
			.task = t, .kind = faults[i].kind, .address = i,
			.start_ns = sim_now(), .end_ns = sim_now() + faults[i].ns,
			.attempts = faults[i].attempts,
			.vma_locked = faults[i].kind == FAULT_KIND_SWAP_ZRAM,
		};
		vmstat_fault_done(&r);
	}
}

static void build_faults(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	mm_task_create(e, "faults", 0, fault_reporter, NULL);
}

Test(metrics, fault_latency_retries_counters_and_rows)
{
	struct engine *e = test_engine_checked(3, &ck);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_faults, NULL), RUN_OK);
	const struct metrics *m = checkers_run_metrics(ck);
	const struct hist *anon = hist(m, METRIC_FAULT_LATENCY + FAULT_KIND_ANON);
	cr_assert_eq(anon->count, 2);
	cr_assert_eq(anon->min, 1000);
	cr_assert_eq(anon->max, 1200);
	cr_assert_eq(hist(m, METRIC_FAULT_LATENCY + FAULT_KIND_FILE_MAJOR)->max,
		     6000000);
	cr_assert_eq(hist(m, METRIC_FAULT_LATENCY + FAULT_KIND_SWAP_DISK)->count, 0);
	const struct hist *retries = hist(m, METRIC_FAULT_RETRIES);
	cr_assert_eq(retries->count, 5);
	cr_assert_eq(retries->buckets[0], 3);
	cr_assert_eq(retries->buckets[1], 1);
	cr_assert_eq(retries->buckets[2], 1);
	cr_assert_str_eq(metric_unit(METRIC_FAULT_RETRIES), "retries");
	cr_assert_eq(metrics_counter(m, PGFAULT), 5);
	cr_assert_eq(metrics_counter(m, PGMAJFAULT), 1);
	cr_assert_eq(metrics_counter(m, METRIC_COUNTER_PGMINFAULT), 4);
	cr_assert_eq(metrics_counter(m, VMA_LOCK_SUCCESS), 3);
	cr_assert_eq(metrics_counter(m, VMA_LOCK_ABORT), 0);
	cr_assert_eq(metrics_counter(m, METRIC_COUNTER_SWAP_FAULT), 1);
	cr_assert_eq(metrics_counter(m, METRIC_COUNTER_SWAP_FAULT_VMA_LOCKED), 1);

	/* The store's rows: every non-empty bucket, then every counter. */
	struct metrics_iter it = metrics_iter_start();
	struct metric_row row;
	uint32_t hist_rows = 0, counter_rows = 0;
	uint64_t samples = 0;
	bool saw_major = false, saw_minflt = false, counters_started = false;
	while (metrics_next(m, &it, &row)) {
		if (row.counter) {
			counters_started = true;
			counter_rows++;
			if (strcmp(row.name, "pgminfault") == 0) {
				saw_minflt = true;
				cr_assert_eq(row.count, 4);
			}
			if (strcmp(row.name, "vma_lock_success") == 0)
				cr_assert_eq(row.count, 3);
			continue;
		}
		cr_assert_not(counters_started, "histograms first");
		hist_rows++;
		samples += row.count;
		cr_assert_eq(row.bucket, hist_bucket_lower(hist_bucket_of(row.bucket)),
			     "a bucket's lower bound");
		if (strcmp(row.name, "fault.file_major.latency_ns") == 0) {
			saw_major = true;
			cr_assert_eq(row.bucket,
				     hist_bucket_lower(hist_bucket_of(6000000)));
			cr_assert_eq(row.count, 1);
		}
	}
	/* Latencies: 1000, 1200, 6 ms, 1700, 800 in five buckets; retries
	 * 0, 1, 2 in three. */
	cr_assert_eq(hist_rows, 8);
	cr_assert_eq(samples, 10);
	cr_assert_eq(counter_rows, METRIC_COUNTERS_COUNT);
	cr_assert(saw_major && saw_minflt);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	metrics_print_summary(m, f);
	fclose(f);
	cr_assert(strstr(text, "metric fault.file_major.latency_ns: n=1 p50=6000000 p90=6000000 p99=6000000 max=6000000 ns\n") != NULL,
		  "%s", text);
	cr_assert(strstr(text, "counter pgminfault: 4\n") != NULL, "%s", text);
	cr_assert(strstr(text, "counter swap_fault_vma_locked: 1\n") != NULL, "%s", text);
	cr_assert_null(strstr(text, "vma_lock_abort"), "zero counters left out");
	free(text);
	test_engine_checked_done(e, ck);
}
