/*
 * test_marks.c: the rare paths of the fault model are reached.  Each test
 * runs a scenario built to get there (random schedules where it takes a
 * race) and asserts that the path's SIM_MARK was hit, so a refactoring
 * that makes a path unreachable fails here instead of silently shrinking
 * what the simulator explores.
 */
#include "tests/mm/mm_test.h"

/* The folio is deleted from the page cache while the fault sleeps on its
 * lock: filemap_fault must notice the mapping changed and look again. */
static void remove_under_lock_fn(void *arg)
{
	(void)arg;
	struct folio *f = mt_cached(0, 5);
	folio_get(f);
	folio_lock(f);
	sim_sleep(20000);
	filemap_remove_folio(f);
	folio_unlock(f);
	folio_put(f);
}

static void add_remover(struct engine *e)
{
	mm_task_create(e, "T", 1, remove_under_lock_fn, NULL);
}

Test(marks, filemap_fault_truncated_while_locking)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mt_load(
		"{ \"name\": \"trunc_lock\", \"machine\": { \"cpus\": 2 },"
		"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"cached\": \"all\", \"read_latency\": \"50us\" } ],"
		"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 16, \"kind\": \"file_private\", \"file\": \"f\" } ],"
		"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": \"5us\" } },"
		"                 { \"fault\": { \"vma\": \"map\", \"page\": 5 } } ] } ] }", NULL);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, add_remover, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("filemap_fault: truncated while locking"), 1);
	/* It then read a new folio for the index and mapped that. */
	struct folio *now = mt_cached(0, 5);
	cr_assert(now && pte_present(mt_pte(5)) && mt_pte(5).folio == now);
	cr_assert_eq(mt_record_of("F", 0)->kind, FAULT_KIND_FILE_MINOR);
	cr_assert_eq(mt_record_of("F", 0)->attempts, 2);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

static uint64_t hits_over_seeds(const char *json, const char *mark,
				uint32_t seeds)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mt_load(json, NULL);

	sim_marks_reset();
	for (uint64_t seed = 1; seed <= seeds; seed++) {
		enum run_outcome o = mt_run(e, sc, NULL, STRATEGY_RANDOM, seed);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s", (unsigned long long)seed,
			     run_outcome_name(o));
		cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
		engine_end(e);
	}
	scenario_free(sc);
	test_engine_done(e);
	return sim_mark_hits(mark);
}

Test(marks, vma_detached_after_lookup_counts_a_miss)
{
	cr_assert_gt(hits_over_seeds(
		"{ \"name\": \"miss\", \"machine\": { \"cpus\": 2 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\", \"anon_vma\": true } ],"
		"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } } ] },"
		"               { \"name\": \"U\", \"cpu\": 1, \"ops\": [ { \"munmap\": { \"vma\": \"heap\" } } ] } ] }",
		"lock_vma_under_rcu: VMA detached after lookup", 400), 0);
}

Test(marks, two_faults_race_for_one_anon_pte)
{
	cr_assert_gt(hits_over_seeds(
		"{ \"name\": \"race\", \"machine\": { \"cpus\": 2 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\", \"anon_vma\": true } ],"
		"  \"tasks\": [ { \"name\": \"A\", \"cpu\": 0, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } } ] },"
		"               { \"name\": \"B\", \"cpu\": 1, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } } ] } ] }",
		"do_anonymous_page: PTE changed (another fault won)", 200), 0);
}

Test(marks, sequential_faults_hit_the_async_readahead_marker)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"ra\", \"files\": [ { \"name\": \"f\", \"size\": \"128 pages\" } ],"
		"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 128, \"kind\": \"file_private\", \"file\": \"f\" } ],"
		"  \"tasks\": [ { \"name\": \"F\", \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 0 } },"
		"                 { \"fault\": { \"vma\": \"map\", \"page\": 24 } } ] } ] }", NULL);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("filemap_fault: async readahead marker hit"), 1);
	/* The first fault read [0, 32) (the window centred on 0, clamped at
	 * the start of the file) with the marker on 24; the second fault
	 * hit it and started [32, 64). */
	cr_assert_not_null(mt_cached(0, 63));
	cr_assert_null(mt_cached(0, 64));
	cr_assert_eq(mt_record_of("F", 0)->kind, FAULT_KIND_FILE_MAJOR);
	cr_assert_eq(mt_record_of("F", 1)->kind, FAULT_KIND_FILE_MINOR);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
