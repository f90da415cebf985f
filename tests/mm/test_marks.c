/*
 * test_marks.c: the rare paths of the fault, swap, reclaim, truncate,
 * migration and speculative-fault model are reached.  Each test runs a
 * scenario built to get there (random or PCT schedules where it takes a
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

/* ---------------------------------------- the swap, reclaim and SPF marks */

/* Run json over seeds with strategy kind (PCT with depth 3 over k
 * decisions when kind is STRATEGY_PCT); every run must finish without a
 * finding and with every reference accounted for, unless findings_ok. */
static void run_for_marks(const char *json, enum strategy_kind kind,
			  uint64_t k, uint32_t seeds, bool findings_ok)
{
	struct engine *e = test_engine(4);
	struct scenario *sc = mt_load(json, NULL);

	for (uint64_t seed = 1; seed <= seeds; seed++) {
		enum run_outcome o = kind == STRATEGY_PCT
					     ? mt_run_pct(e, sc, NULL, seed, 3, k)
					     : mt_run(e, sc, NULL, kind, seed);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s", (unsigned long long)seed,
			     run_outcome_name(o));
		if (!findings_ok) {
			cr_assert_eq(e->findings_count, 0, "seed %llu: %s",
				     (unsigned long long)seed,
				     e->findings[0].summary);
			cr_assert_eq(mt_check_refs().mismatched, 0, "seed %llu: %s",
				     (unsigned long long)seed,
				     mt_check_refs().first);
		}
		engine_end(e);
	}
	scenario_free(sc);
	test_engine_done(e);
}

static void expect_marks(const char *const *marks)
{
	char missing[1024] = "";

	for (int i = 0; marks[i]; i++)
		if (!sim_mark_hits(marks[i]) &&
		    strlen(missing) + strlen(marks[i]) + 3 < sizeof(missing)) {
			strcat(missing, marks[i]);
			strcat(missing, "; ");
		}
	cr_assert_eq(missing[0], '\0', "never reached: %s", missing);
}

/* Two faults on the same swapped pages, one of them writing while swap
 * is more than half full (so it frees the swap cache copy even while the
 * other fault holds a reference), and reclaim beside them.  PCT: the
 * interesting orders need one fault to stall between two of its steps. */
Test(marks, racing_swap_faults_and_reclaim)
{
	static const char *const marks[] = {
		"do_swap_page: PTE changed before the fault looked",
		"do_swap_page: PTE changed, back out",
		"do_swap_page: left the swap cache before the lock",
		"do_swap_page: no folio for the entry",
		NULL
	};

	sim_marks_reset();
	run_for_marks(
		"{ \"name\": \"swap_races\", \"machine\": { \"cpus\": 4 },"
		"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\", \"slots\": 6 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true,"
		"              \"swapped\": [[0, 4]], \"swapcache\": [1, 3], \"populated\": [[4, 8]] } ],"
		"  \"tasks\": [ { \"name\": \"A\", \"cpu\": 0, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 0 } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 2 } } ] },"
		"             { \"name\": \"B\", \"cpu\": 1, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 0 } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 1 } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 2 } } ] },"
		"             { \"name\": \"R\", \"cpu\": 2, \"ops\": [ { \"reclaim\": { \"vma\": \"heap\", \"ignore_references\": true } } ] },"
		"             { \"name\": \"U\", \"cpu\": 3, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 3 } }, { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } } ] } ] }",
		STRATEGY_PCT, 100, 600, false);
	expect_marks(marks);
}

/* munmap zaps swap entries whose cached folios reclaim holds locked. */
Test(marks, munmap_racing_reclaim_of_swap_cache_folios)
{
	static const char *const marks[] = {
		"free_swap_and_cache: cached folio busy, left cached",
		"shrink_folio: trylock failed, keep",
		"swap_cache_get_folio: folio freed under lookup",
		NULL
	};

	sim_marks_reset();
	run_for_marks(
		"{ \"name\": \"swap_unmap\", \"machine\": { \"cpus\": 2 },"
		"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\", \"slots\": 16 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true,"
		"              \"swapped\": [[0, 4]], \"swapcache\": [[0, 4]] } ],"
		"  \"tasks\": [ { \"name\": \"R\", \"cpu\": 0, \"ops\": [ { \"reclaim\": { \"vma\": \"heap\", \"ignore_references\": true } } ] },"
		"             { \"name\": \"U\", \"cpu\": 1, \"ops\": [ { \"munmap\": { \"vma\": \"heap\" } } ] } ] }",
		STRATEGY_RANDOM, 0, 600, false);
	expect_marks(marks);
}

/* Reclaim of a file's pages while GUP writers hold some, a store dirties
 * one and truncate takes the tail. */
Test(marks, racing_reclaim_truncate_and_gup)
{
	static const char *const marks[] = {
		"__remove_mapping: refcount not as expected",
		"pageout: someone else holds a reference, keep",
		"shrink_folio: truncated while isolated",
		"gup_fast_one: PTE changed under the walk",
		"shrink_folio: writeback started, keep",
		"truncate pass 1: writeback or moved, left for pass 2",
		"filemap_get_next_folio: entry went away",
		NULL
	};

	sim_marks_reset();
	run_for_marks(
		"{ \"name\": \"file_races\", \"machine\": { \"cpus\": 4 },"
		"  \"devices\": { \"disk\": { \"kind\": \"disk\", \"preset\": \"nvme\" } },"
		"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"cached\": \"all\", \"device\": \"disk\" } ],"
		"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 16, \"kind\": \"file_shared\", \"file\": \"f\", \"populated\": [[0, 16]] } ],"
		"  \"tasks\": [ { \"name\": \"W\", \"cpu\": 0, \"ops\": [ { \"store\": { \"vma\": \"map\", \"page\": 9 } },"
		"                 { \"gup_write\": { \"vma\": \"map\", \"page\": 9, \"hold\": \"1us\" } },"
		"                 { \"fault\": { \"vma\": \"map\", \"page\": 12 } } ] },"
		"             { \"name\": \"G\", \"cpu\": 1, \"ops\": [ { \"gup_write\": { \"vma\": \"map\", \"page\": 10, \"hold\": \"1us\" } },"
		"                 { \"gup_write\": { \"vma\": \"map\", \"page\": 11, \"hold\": \"1us\" } } ] },"
		"             { \"name\": \"R\", \"cpu\": 2, \"ops\": [ { \"reclaim\": { \"file\": \"f\", \"pages\": [8, 16], \"ignore_references\": true } } ] },"
		"             { \"name\": \"T\", \"cpu\": 3, \"ops\": [ { \"truncate\": { \"file\": \"f\", \"size\": \"10 pages\" } } ] } ] }",
		STRATEGY_RANDOM, 0, 600, false);
	expect_marks(marks);
}

/* Every way a speculative fault gives up.  Unvalidated, so that one can
 * also get past the sequence check to find the PMD changed (which leaves
 * findings, allowed here). */
Test(marks, speculative_aborts)
{
	static const char *const marks[] = {
		"do_speculative_fault: VMA changed while copied",
		"do_speculative_fault: mmap_lock held for write",
		"pte_map_lock: PTE lock busy",
		"pte_map_lock: PMD changed",
		"do_swap_page: speculative trylock failed",
		"vmf_anon_prepare: speculative fault without anon_vma",
		"handle_pte_fault: speculative write-protect fault",
		NULL
	};

	sim_marks_reset();
	run_for_marks(
		"{ \"name\": \"spf_marks\", \"machine\": { \"cpus\": 3 },"
		"  \"kernel\": { \"speculative\": \"unvalidated\" },"
		"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\", \"slots\": 8 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true,"
		"              \"populated\": [0], \"swapped\": [[1, 3]], \"swapcache\": [[1, 3]] },"
		"            { \"name\": \"fresh\", \"start\": 1024, \"pages\": 8, \"kind\": \"anon\" } ],"
		"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": ["
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 1 } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 4, \"write\": true } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 5 } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 5, \"write\": true } },"
		"                 { \"fault\": { \"vma\": \"fresh\", \"page\": 0 } },"
		"                 { \"fault\": { \"vma\": \"fresh\", \"page\": 1, \"write\": true } } ] },"
		"             { \"name\": \"R\", \"cpu\": 1, \"ops\": [ { \"reclaim\": { \"vma\": \"heap\", \"pages\": [1, 3], \"ignore_references\": true } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 6, \"write\": true } } ] },"
		"             { \"name\": \"U\", \"cpu\": 2, \"ops\": [ { \"mprotect\": { \"vma\": \"fresh\", \"write\": true } },"
		"                 { \"munmap\": { \"vma\": \"heap\" } } ] } ] }",
		STRATEGY_PCT, 200, 600, true);
	expect_marks(marks);
}

/* Migrations racing faults and reclaim, one of a swap cache folio, and
 * reclaim running out of swap. */
Test(marks, migration_races_and_swap_cache_folios)
{
	static const char *const marks[] = {
		"migrate_folio_at: not on the LRU",
		"migrate_folio_at: swap cache folio not migrated",
		"migration_entry_wait: migration already over",
		"migration_entry_wait: waits for the migration",
		"migrate_folio_once: busy, entries restored",
		"shrink_folio: swap is full, keep",
		NULL
	};

	sim_marks_reset();
	run_for_marks(
		"{ \"name\": \"migrate_marks\", \"machine\": { \"cpus\": 3 },"
		"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\", \"slots\": 4 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true,"
		"              \"populated\": [[0, 4]], \"swapped\": [5], \"swapcache\": [5] } ],"
		"  \"tasks\": [ { \"name\": \"M\", \"cpu\": 0, \"ops\": [ { \"migrate\": { \"vma\": \"heap\", \"page\": 0 } },"
		"                 { \"migrate\": { \"vma\": \"heap\", \"page\": 1 } },"
		"                 { \"migrate\": { \"vma\": \"heap\", \"page\": 2 } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 5 } },"
		"                 { \"migrate\": { \"vma\": \"heap\", \"page\": 5 } },"
		"                 { \"migrate\": { \"vma\": \"heap\", \"page\": 3 } } ] },"
		"             { \"name\": \"F\", \"cpu\": 1, \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 0, \"write\": true } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 2, \"write\": true } },"
		"                 { \"fault\": { \"vma\": \"heap\", \"page\": 3, \"write\": true } } ] },"
		"             { \"name\": \"R\", \"cpu\": 2, \"ops\": [ { \"reclaim\": { \"vma\": \"heap\", \"pages\": [0, 4], \"ignore_references\": true } } ] } ] }",
		STRATEGY_PCT, 150, 600, false);
	expect_marks(marks);
}
