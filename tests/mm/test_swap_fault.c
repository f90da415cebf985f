/*
 * test_swap_fault.c: do_swap_page (mm/memory.c) end to end, through the
 * arch handler, on zram and on an NVMe disk.  Checks what a kernel
 * developer asks of it: a zram swap-in neither sleeps nor drops the fault
 * lock; a disk swap-in's first attempt drops the lock, waits for the read
 * and retries; the four swap_vma_lock variants under the per-VMA lock
 * (retry_all always falls back; uncontended_v1 finishes an uncontended
 * fault and falls back on a contended one without waiting; naive unlocks
 * mmap_lock, which it does not hold; release_fault_lock drops the VMA
 * lock to wait); the skip-swapcache race with swapcache_fence off maps
 * stale data in some PCT schedule and never with it on; zap frees the
 * swap entries munmap finds.  Every run ends with every folio's refcount
 * and mapcount what holds it.
 */
#include "tests/mm/mm_test.h"

static const char *const zram_dev = "{ \"kind\": \"zram\" }";
static const char *const nvme_dev = "{ \"kind\": \"disk\", \"preset\": \"nvme\" }";

static const char *const swap_json =
	"{ \"name\": \"swapfault\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"fault_lock\": \"%s\", \"swap_vma_lock\": \"%s\" },"
	"  \"devices\": { \"swapdev\": %s },"
	"  \"swap\": { \"device\": \"swapdev\", \"slots\": 16 },"
	"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\","
	"               \"anon_vma\": true, \"swapped\": [[0, 4]], \"swapcache\": [3] } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": \"5us\" } },"
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": %u, \"write\": %s } } ] } ] }";

static struct scenario *swap_scenario(const char *fault_lock,
				      const char *swap_vma_lock,
				      const char *dev, unsigned page, bool write)
{
	static char json[4096];
	snprintf(json, sizeof(json), swap_json, fault_lock, swap_vma_lock, dev,
		 page, write ? "true" : "false");
	return mt_load(json, NULL);
}

/* Blocks and fault-lock acquisitions of task F. */
static uint32_t f_blocks, f_vma_locks, f_mmap_locks;

static void on_block(void *ctx, struct task *t, struct waitq *wq)
{
	(void)ctx;
	(void)wq;
	f_blocks += strcmp(t->name, "F") == 0;
}

static struct engine_hooks block_hooks = { .ctx = &f_blocks,
					   .block = on_block };

static void on_acquired(void *ctx, struct task *t, const struct held_lock *h)
{
	(void)ctx;
	if (strcmp(t->name, "F") != 0)
		return;
	f_vma_locks += h->lock->cls->id == LC_VMA_LOCK;
	f_mmap_locks += h->lock->cls->id == LC_MMAP_LOCK;
}

static struct lock_hooks acq_hooks = { .ctx = &f_vma_locks,
				       .acquired = on_acquired };

static struct engine *watch_start(void)
{
	struct engine *e = test_engine(2);

	f_blocks = f_vma_locks = f_mmap_locks = 0;
	cr_assert(engine_subscribe(e, &block_hooks));
	lock_hooks_unsubscribe(&f_vma_locks);
	cr_assert(lock_hooks_subscribe(&acq_hooks));
	mt_lock_waits_start();
	return e;
}

static void watch_stop(struct engine *e)
{
	engine_unsubscribe(e, &f_blocks);
	lock_hooks_unsubscribe(&f_vma_locks);
	mt_lock_waits_stop();
}

static void expect_refs_consistent(void)
{
	struct mt_refs r = mt_check_refs();
	cr_assert_eq(r.mismatched, 0, "%s", r.first);
}

/* ------------------------------------------------------------------ zram */

Test(swap_fault, zram_completes_without_sleeping_or_dropping_the_lock)
{
	struct engine *e = watch_start();
	struct scenario *sc = swap_scenario("vma_then_mmap", "release_fault_lock",
					    zram_dev, 1, false);

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	/* Page 1 was swapped to slot 2 before the run. */
	uint64_t version = swap_device()->slot_data[2];
	pte_t p = mt_pte(1);
	cr_assert(pte_present(p) && p.folio != NULL);
	cr_assert_eq(p.folio->data, version, "the slot's contents are mapped");
	cr_assert_not(p.write, "a read fault maps it read-only");
	const struct fault_record *r = mt_record_of("F", 0);
	cr_assert_eq(r->kind, FAULT_KIND_SWAP_ZRAM);
	cr_assert_eq(r->attempts, 1);
	cr_assert(r->vma_locked);
	cr_assert_eq(f_blocks, 1, "F slept only in its scenario sleep");
	cr_assert_eq(f_vma_locks, 1, "one VMA lock, never dropped and retaken");
	cr_assert_eq(f_mmap_locks, 0);
	cr_assert_eq(mt_lw_n, 0, "F waited for no lock");
	cr_assert_eq(vm_events(VMA_LOCK_SUCCESS), 1);
	cr_assert_eq(vm_events(FAULT_RETRY), 0);
	cr_assert_eq(vm_events(PSWPIN), 1);
	cr_assert_eq(vm_events(PGMAJFAULT), 1);
	/* Skip-swapcache: the slot is free now, nothing cached. */
	cr_assert_eq(swap_device()->swap_map[2], 0);
	cr_assert_null(mt_swap_cached(2));
	cr_assert_not(folio_test(p.folio, PG_swapcache));
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	watch_stop(e);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(swap_fault, write_fault_from_the_swap_cache_frees_the_swap_copy)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = swap_scenario("vma_then_mmap", "release_fault_lock",
					    zram_dev, 3, true);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	pte_t p = mt_pte(3);
	cr_assert(pte_present(p) && p.write && p.dirty);
	/* should_try_to_free_swap: a write, and only the cache and the
	 * fault held it: the cache copy goes, the slot with it. */
	cr_assert_not(folio_test(p.folio, PG_swapcache));
	cr_assert_null(mt_swap_cached(4));
	cr_assert_eq(swap_device()->swap_map[4], 0);
	cr_assert_eq(sim_mark_hits("do_swap_page: freed the swap cache copy"), 1);
	cr_assert_eq(vm_events(PSWPIN), 0, "found in the cache, no read");
	cr_assert_eq(vm_events(PGMAJFAULT), 0);
	expect_refs_consistent();
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ------------------------------------------------------------------ disk */

static void disk_first_attempt_drops(const char *fault_lock)
{
	struct engine *e = watch_start();
	struct scenario *sc = swap_scenario(fault_lock, "release_fault_lock",
					    nvme_dev, 1, false);

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	const struct fault_record *r = mt_record_of("F", 0);
	cr_assert_eq(r->kind, FAULT_KIND_SWAP_DISK);
	cr_assert_eq(r->attempts, 2, "%s: the first attempt retried", fault_lock);
	cr_assert_not(r->vma_locked);
	cr_assert_geq(r->end_ns - r->start_ns, 20000, "it waited for the disk");
	cr_assert_eq(mt_retry_n, 1);
	cr_assert_str_eq(mt_retry_why[0], "__folio_lock_or_retry");
	/* The wait for the read held neither fault lock. */
	const struct mt_lock_wait *w = mt_lock_wait_of("F", LC_FOLIO_LOCK, 0);
	cr_assert_not_null(w);
	cr_assert_not(w->holds_mmap);
	cr_assert_not(w->holds_vma);
	cr_assert_null(mt_lock_wait_of("F", LC_FOLIO_LOCK, 1),
		       "the retry found the folio read and unlocked");
	cr_assert_eq(vm_events(VMA_LOCK_RETRY),
		     strcmp(fault_lock, "vma_then_mmap") == 0 ? 1 : 0);
	cr_assert_eq(vm_events(PSWPIN), 1);
	/* Read into the swap cache, where a read fault leaves it. */
	pte_t p = mt_pte(1);
	cr_assert(pte_present(p));
	cr_assert_eq(mt_swap_cached(2), p.folio);
	cr_assert_eq(swap_device()->swap_map[2], SWAP_HAS_CACHE);
	cr_assert_eq(p.folio->data, swap_device()->slot_data[2]);
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	watch_stop(e);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(swap_fault, disk_first_attempt_drops_the_lock_and_retries)
{
	disk_first_attempt_drops("vma_then_mmap");
	disk_first_attempt_drops("mmap_only");
}

/* ---------------------------------------------------- the VMA lock knobs */

Test(swap_vma_lock, retry_all_always_falls_back)
{
	const char *const devs[] = { zram_dev, nvme_dev };

	for (int d = 0; d < 2; d++) {
		struct engine *e = test_engine(2);
		struct scenario *sc = swap_scenario("vma_then_mmap", "retry_all",
						    devs[d], 1, false);
		sim_marks_reset();
		cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
		cr_assert_eq(sim_mark_hits("do_swap_page: retry_all under the VMA lock"), 1);
		cr_assert_eq(vm_events(VMA_LOCK_RETRY), 1);
		cr_assert_eq(vm_events(VMA_LOCK_SUCCESS), 0);
		cr_assert_str_eq(mt_retry_why[0], "do_swap_page");
		cr_assert_not(mt_record_of("F", 0)->vma_locked);
		cr_assert(pte_present(mt_pte(1)));
		expect_refs_consistent();
		cr_assert_eq(e->findings_count, 0);
		engine_end(e);
		scenario_free(sc);
		test_engine_done(e);
	}
}

/* Another task holds the swap cache folio of page 3 locked for 50 us. */
static void locker_fn(void *arg)
{
	(void)arg;
	struct folio *f = mt_swap_cached(4);
	folio_get(f);
	folio_lock(f);
	sim_sleep(50000);
	folio_unlock(f);
	folio_put(f);
}

static void add_locker(struct engine *e)
{
	mm_task_create(e, "L", 1, locker_fn, NULL);
}

Test(swap_vma_lock, uncontended_v1_handles_uncontended_falls_back_contended)
{
	struct engine *e = watch_start();
	struct scenario *sc = swap_scenario("vma_then_mmap", "uncontended_v1",
					    zram_dev, 3, false);

	/* Uncontended: the folio is in the swap cache, unlocked. */
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(vm_events(VMA_LOCK_SUCCESS), 1);
	cr_assert_eq(vm_events(VMA_LOCK_RETRY), 0);
	cr_assert(mt_record_of("F", 0)->vma_locked);
	cr_assert(pte_present(mt_pte(3)));
	expect_refs_consistent();
	engine_end(e);

	/* Contended: no wait under the VMA lock; under mmap_lock the first
	 * attempt drops it to wait, the second maps. */
	mt_lock_waits_start();
	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, add_locker, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("__folio_lock_or_retry: v1 gives up under the VMA lock"), 1);
	cr_assert_eq(vm_events(VMA_LOCK_RETRY), 1);
	cr_assert_eq(vm_events(VMA_LOCK_SUCCESS), 0);
	cr_assert_str_eq(mt_retry_why[0], "__folio_lock_or_retry");
	for (uint32_t i = 0; i < mt_lw_n; i++)
		if (strcmp(mt_lw[i].task, "F") == 0)
			cr_assert_not(mt_lw[i].holds_vma,
				      "v1 never waits holding the VMA lock");
	const struct fault_record *r = mt_record_of("F", 0);
	cr_assert_eq(r->attempts, 3, "VMA lock, mmap_lock, mmap_lock TRIED");
	cr_assert_geq(r->end_ns, 50000);
	cr_assert(pte_present(mt_pte(3)));
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	watch_stop(e);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(swap_vma_lock, naive_unlocks_mmap_lock_it_does_not_hold)
{
	struct engine *e = watch_start();
	struct scenario *sc = swap_scenario("vma_then_mmap", "naive", nvme_dev,
					    1, false);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(mt_findings(e, "unlock_not_held"), 1);
	cr_assert_eq(e->findings_count, 1);
	cr_assert_str_eq(e->findings[0].kind, "unlock_not_held");
	cr_assert(strstr(e->findings[0].summary, "mmap_lock") != NULL, "%s",
		  e->findings[0].summary);
	/* It waited for the disk read holding the VMA lock. */
	const struct mt_lock_wait *w = mt_lock_wait_of("F", LC_FOLIO_LOCK, 0);
	cr_assert_not_null(w);
	cr_assert(w->holds_vma);
	cr_assert_eq(sim_mark_hits("__folio_lock_or_retry: naive mmap_read_unlock under the VMA lock"), 1);
	watch_stop(e);
	engine_end(e);

	/* The merged version on the same fault: no finding. */
	scenario_free(sc);
	sc = swap_scenario("vma_then_mmap", "release_fault_lock", nvme_dev, 1,
			   false);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(swap_vma_lock, release_fault_lock_drops_the_vma_lock_and_retries)
{
	struct engine *e = watch_start();
	struct scenario *sc = swap_scenario("vma_then_mmap", "release_fault_lock",
					    zram_dev, 3, false);

	cr_assert_eq(mt_run(e, sc, add_locker, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(vm_events(VMA_LOCK_RETRY), 1);
	const struct mt_lock_wait *w = mt_lock_wait_of("F", LC_FOLIO_LOCK, 0);
	cr_assert_not_null(w);
	cr_assert_not(w->holds_vma, "the VMA lock was dropped for the wait");
	cr_assert_not(w->holds_mmap);
	cr_assert_eq(f_vma_locks, 1);
	const struct fault_record *r = mt_record_of("F", 0);
	cr_assert_eq(r->attempts, 2);
	cr_assert_str_eq(mt_retry_why[0], "__folio_lock_or_retry");
	cr_assert(pte_present(mt_pte(3)));
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	watch_stop(e);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ---------------------------------------- the skip-swapcache fence */

/*
 * X swaps page 0 in, writes to it and has it reclaimed again, into the
 * only slot, which its swap-in freed; Y faults on page 0 too.  If Y read
 * the slot before X freed it and reaches pte_same after X's reclaim, the
 * PTE holds the same swap entry again: without the fence Y maps its old
 * copy (KERNEL.md 11, pattern 9).
 */
static const char *const fence_json =
	"{ \"name\": \"fence\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"swapcache_fence\": \"%s\" },"
	"  \"devices\": { \"zram0\": { \"kind\": \"zram\" } },"
	"  \"swap\": { \"device\": \"zram0\", \"slots\": 1 },"
	"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\","
	"               \"anon_vma\": true, \"swapped\": [0] } ],"
	"  \"tasks\": [ { \"name\": \"X\", \"cpu\": 0, \"ops\": ["
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 0 } },"
	"                 { \"store\": { \"vma\": \"heap\", \"page\": 0 } },"
	"                 { \"reclaim\": { \"vma\": \"heap\", \"pages\": 0, \"ignore_references\": true } } ] },"
	"               { \"name\": \"Y\", \"cpu\": 1, \"ops\": ["
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 0 } } ] } ] }";

/* PCT's run length for this scenario, about what a run takes, so that
 * its change points fall inside the race (PCT needs it stated). */
#define FENCE_PCT_DEPTH 3
#define FENCE_PCT_STEPS 120
/* Under PCT a timer may fire again and again before a runnable task on
 * another CPU moves (strict priorities are unfair to it): with the fence
 * on, a fault backing off a tick can starve the one holding
 * SWAP_HAS_CACHE, and the run ends on its step budget, a livelock of the
 * strategy that no fair scheduler shows.  A small budget keeps such runs
 * cheap; they must not map stale data either. */
#define FENCE_STEPS_MAX 20000

static uint32_t stale_runs(const char *fence, uint32_t seeds, uint32_t *backoffs,
			   uint32_t *starved)
{
	char json[4096];
	struct engine_params p = { .cpus = 2, .steps_max = FENCE_STEPS_MAX };
	struct engine *e = engine_create(&p);
	uint32_t stale = 0;

	cr_assert_not_null(e);
	*starved = 0;
	snprintf(json, sizeof(json), fence_json, fence);
	struct scenario *sc = mt_load(json, NULL);
	sim_marks_reset();
	for (uint64_t seed = 1; seed <= seeds; seed++) {
		enum run_outcome o = mt_run_pct(e, sc, NULL, seed,
						FENCE_PCT_DEPTH, FENCE_PCT_STEPS);
		bool on = strcmp(fence, "on") == 0;
		cr_assert(o == RUN_OK || (on && o == RUN_BUDGET),
			  "seed %llu: %s", (unsigned long long)seed,
			  run_outcome_name(o));
		*starved += o == RUN_BUDGET;
		uint32_t n = mt_findings(e, "stale_data");
		if (n) {
			/* A fault mapped a version the slot no longer held
			 * (X's reclaim may have swapped it out again since). */
			stale++;
			cr_assert(strstr(e->findings[0].summary, "page 0") != NULL,
				  "%s", e->findings[0].summary);
		}
		cr_assert_eq(e->findings_count, n, "seed %llu: %s",
			     (unsigned long long)seed,
			     e->findings_count ? e->findings[0].summary : "");
		if (o == RUN_OK)
			expect_refs_consistent();
		engine_end(e);
	}
	*backoffs = (uint32_t)sim_mark_hits("do_swap_page: swapcache_prepare raced, back off a tick");
	scenario_free(sc);
	test_engine_done(e);
	return stale;
}

Test(swapcache_fence, off_maps_stale_data_on_never_does)
{
	uint32_t backoffs, starved, off, on;

	off = stale_runs("off", 2000, &backoffs, &starved);
	on = stale_runs("on", 2000, &backoffs, &starved);
	fprintf(stderr, "swapcache_fence, 2000 PCT schedules each: off maps stale data in %u, on in %u (%u back-offs, %u runs starved by PCT)\n",
		off, on, backoffs, starved);
	cr_assert_gt(off, 0, "some schedule maps stale data without the fence");
	cr_assert_eq(on, 0);
	cr_assert_gt(backoffs, 0, "the racing fault backed off a tick");
}

/* ---------------------------------------------------------------- munmap */

Test(swap_fault, munmap_frees_swap_entries_and_cached_copies)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mt_load(
		"{ \"name\": \"unmap\", \"machine\": { \"cpus\": 1 },"
		"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\", \"slots\": 8 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\","
		"               \"anon_vma\": true, \"populated\": [4], \"swapped\": [[0, 4]], \"swapcache\": [[1, 3]] } ],"
		"  \"tasks\": [ { \"name\": \"U\", \"ops\": [ { \"munmap\": { \"vma\": \"heap\" } } ] } ] }",
		NULL);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	struct swap_info_struct *si = swap_device();
	cr_assert_eq(si->inuse_pages, 0, "every slot given back");
	for (uint32_t o = 1; o <= 4; o++)
		cr_assert_null(mt_swap_cached(o));
	cr_assert_eq(sim_mark_hits("free_swap_and_cache: freed the cached folio"), 2);
	cr_assert_eq(mm_world->folios_live, 0, "cached copies freed with the rest");
	swap_check_invariants(si);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
