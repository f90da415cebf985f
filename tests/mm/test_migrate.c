/*
 * test_migrate.c: do_swap_page's non-swap entries (KERNEL.md 6, step 2)
 * and what makes them: page migration (mm/migrate.c, with rmap.c's
 * migration entries) and device-private memory.  Checks that a migration
 * moves a mapped folio's contents to a new folio and frees the old; that
 * a fault meeting the migration entry waits for it holding its fault
 * lock and then maps the new folio; that a reference someone else holds
 * makes the migration back out and restore the old mapping; that a fault
 * on device-private memory retries under mmap_lock when it came under
 * the VMA lock, and brings the page back with migrate_to_ram; and that a
 * speculative fault gives up on both.
 */
#include "tests/mm/mm_test.h"

static const char *const mig_json =
	"{ \"name\": \"migrate\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"speculative\": \"%s\" },"
	"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\", \"anon_vma\": true,"
	"               \"populated\": [[0, 4]], \"device_private\": [[8, 10]] } ],"
	"  \"tasks\": [ { \"name\": \"A\", \"cpu\": 0, \"ops\": [ %s ] }%s ] }";

static struct scenario *mig_scenario(const char *spf, const char *a_ops,
				     const char *more)
{
	static char json[4096];
	snprintf(json, sizeof(json), mig_json, spf, a_ops, more);
	return mt_load(json, NULL);
}

static void expect_refs_consistent(void)
{
	struct mt_refs r = mt_check_refs();
	cr_assert_eq(r.mismatched, 0, "%s", r.first);
}

Test(migrate, moves_the_contents_to_a_new_folio)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mig_scenario("off",
		"{ \"migrate\": { \"vma\": \"heap\", \"page\": 1 } }", "");

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	pte_t p = mt_pte(1);
	cr_assert(pte_present(p) && p.folio);
	/* Populated pages got versions 1, 2, ... in address order. */
	cr_assert_eq(p.folio->data, 2);
	cr_assert(p.write, "the write permission travels with the entry");
	cr_assert_eq(p.folio->mapcount, 1);
	cr_assert(folio_test(p.folio, PG_lru), "the new folio is on the LRU");
	/* Four populated pages, two in device memory: the old folio is
	 * gone, its replacement counted instead. */
	cr_assert_eq(mm_world->folios_live, 6);
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

static uint32_t held_fault_lock_waits(void)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < mt_lw_n; i++)
		n += strcmp(mt_lw[i].task, "F") == 0 &&
		     mt_lw[i].cls == LC_FOLIO_LOCK &&
		     (mt_lw[i].holds_vma || mt_lw[i].holds_mmap);
	return n;
}

Test(migrate, a_fault_waits_for_the_migration_holding_its_lock)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mig_scenario("off",
		"{ \"migrate\": { \"vma\": \"heap\", \"page\": 2 } }",
		", { \"name\": \"F\", \"cpu\": 1, \"ops\": ["
		"    { \"fault\": { \"vma\": \"heap\", \"page\": 2, \"write\": true } },"
		"    { \"fault\": { \"vma\": \"heap\", \"page\": 2, \"write\": true } } ] }");
	uint32_t waited = 0, held = 0;

	sim_marks_reset();
	mt_lock_waits_start();
	for (uint64_t seed = 1; seed <= 300; seed++) {
		mt_lw_n = 0;
		enum run_outcome o = mt_run(e, sc, NULL, STRATEGY_RANDOM, seed);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s", (unsigned long long)seed,
			     run_outcome_name(o));
		/* Whatever the order, page 2 ends mapped with its contents. */
		pte_t p = mt_pte(2);
		cr_assert(pte_present(p) && p.folio && p.folio->data == 3,
			  "seed %llu", (unsigned long long)seed);
		held += held_fault_lock_waits();
		expect_refs_consistent();
		cr_assert_eq(e->findings_count, 0);
		engine_end(e);
	}
	mt_lock_waits_stop();
	waited = (uint32_t)sim_mark_hits("migration_entry_wait: waits for the migration");
	cr_assert_gt(waited, 0, "some fault met the migration entry");
	cr_assert_gt(held, 0, "and waited for it holding its fault lock");
	scenario_free(sc);
	test_engine_done(e);
}

Test(migrate, a_reference_held_elsewhere_makes_it_back_out)
{
	struct engine *e = test_engine(2);
	/* G takes a reference first (gup) and holds it across the whole
	 * migration: every pass finds it busy and restores the PTE. */
	struct scenario *sc = mig_scenario("off",
		"{ \"sleep\": { \"ns\": \"1us\" } }, { \"migrate\": { \"vma\": \"heap\", \"page\": 3 } }",
		", { \"name\": \"G\", \"cpu\": 1, \"ops\": ["
		"    { \"gup_write\": { \"vma\": \"heap\", \"page\": 3, \"hold\": \"1ms\" } } ] }");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("migrate_folio_once: busy, entries restored"), 10,
		     "NR_MAX_MIGRATE_PAGES_RETRY passes");
	pte_t p = mt_pte(3);
	cr_assert(pte_present(p) && p.folio);
	cr_assert(folio_test(p.folio, PG_dirty), "G's write dirtied the old folio");
	cr_assert_eq(mm_world->folios_live, 6, "no folio left behind");
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ------------------------------------------------------- device memory */

Test(device_private, retries_off_the_vma_lock_then_migrates_to_ram)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mig_scenario("off",
		"{ \"fault\": { \"vma\": \"heap\", \"page\": 8 } }", "");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(vm_events(VMA_LOCK_RETRY), 1);
	cr_assert_str_eq(mt_retry_why[0], "do_swap_page");
	cr_assert_eq(sim_mark_hits("do_swap_page: device-private under the VMA lock"), 1);
	pte_t p = mt_pte(8);
	cr_assert(pte_present(p) && p.folio);
	cr_assert_not(folio_test(p.folio, PG_device));
	cr_assert_eq(p.folio->data, 5, "the device page's contents");
	cr_assert_eq(mt_pte(9).kind, PTE_DEVICE_PRIVATE, "the other stays");
	cr_assert_eq(mm_world->folios_live, 6, "the device folio was freed");
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(device_private, racing_faults_migrate_it_once)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mig_scenario("off",
		"{ \"fault\": { \"vma\": \"heap\", \"page\": 9, \"write\": true } }",
		", { \"name\": \"B\", \"cpu\": 1, \"ops\": ["
		"    { \"fault\": { \"vma\": \"heap\", \"page\": 9 } } ] }");

	sim_marks_reset();
	for (uint64_t seed = 1; seed <= 200; seed++) {
		cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_RANDOM, seed), RUN_OK);
		pte_t p = mt_pte(9);
		cr_assert(pte_present(p) && p.folio && p.folio->data == 6);
		cr_assert_eq(mm_world->folios_live, 6);
		expect_refs_consistent();
		engine_end(e);
	}
	cr_assert_gt(sim_mark_hits("migrate_to_ram: entry changed, copy dropped"), 0);
	scenario_free(sc);
	test_engine_done(e);
}

Test(device_private, speculative_fault_gives_up)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = mig_scenario("validated",
		"{ \"fault\": { \"vma\": \"heap\", \"page\": 8 } }", "");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("do_swap_page: speculative, not a swap entry"), 1);
	cr_assert_eq(vm_events(SPF_ABORT), 1);
	cr_assert(pte_present(mt_pte(8)));
	expect_refs_consistent();
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
