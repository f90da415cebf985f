/*
 * test_truncate.c: truncate (mm/truncate.c) and the fault paths' re-checks
 * against it.  Checks that truncating a mapped file unmaps and removes
 * every folio past the new EOF, private COW copies included, and that a
 * fault past EOF afterwards gets SIGBUS; that pass 2 waits for a folio
 * pass 1 could not lock and for one under writeback; that a THP across
 * the new EOF stays in the cache but unmapped past it; and that random
 * schedules of faults (read, COW write, fault-around) racing a truncate
 * never leave a PTE to a folio outside the page cache, past EOF, or an
 * anonymous copy past EOF.
 */
#include "tests/mm/mm_test.h"

static const char *const trunc_json =
	"{ \"name\": \"trunc\", \"machine\": { \"cpus\": 3 },"
	"  \"devices\": { \"disk\": { \"kind\": \"disk\", \"preset\": \"nvme\" } },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"64 pages\", \"cached\": \"all\", \"device\": \"disk\" } ],"
	"  \"vmas\": [ { \"name\": \"shared\", \"start\": 0, \"pages\": 64, \"kind\": \"file_shared\", \"file\": \"f\","
	"               \"populated\": [[0, 64]] },"
	"             { \"name\": \"priv\", \"start\": 512, \"pages\": 64, \"kind\": \"file_private\", \"file\": \"f\","
	"               \"anon_vma\": true, \"populated\": [[0, 8], [40, 48]] } ],"
	"  \"tasks\": [ { \"name\": \"T\", \"cpu\": 0, \"ops\": [ %s ] }%s ] }";

static struct scenario *trunc_scenario(const char *t_ops, const char *more)
{
	static char json[8192];
	snprintf(json, sizeof(json), trunc_json, t_ops, more);
	return mt_load(json, NULL);
}

/* Present PTEs that map a file folio no longer in the page cache or past
 * EOF, and anonymous pages mapped past EOF in the private mapping. */
static uint32_t stale_after_truncate(void)
{
	uint64_t eof = i_size_pages(mt_file(0)->f_inode);
	uint32_t n = 0;

	for (uint64_t v = 0; v < 2; v++) {
		uint64_t base = v ? 512 : 0;
		for (uint64_t p = 0; p < 64; p++) {
			pte_t e = mt_pte(base + p);
			if (!pte_present(e) || !e.folio)
				continue;
			if (folio_test(e.folio, PG_anon)) {
				n += p >= eof;
				continue;
			}
			n += e.folio->mapping == NULL ||
			     e.folio->index + e.subpage >= eof;
		}
	}
	return n;
}

Test(truncate, unmaps_and_removes_everything_past_eof)
{
	struct engine *e = test_engine(3);
	struct scenario *sc = trunc_scenario(
		"{ \"fault\": { \"vma\": \"priv\", \"page\": 44, \"write\": true } },"
		"{ \"truncate\": { \"file\": \"f\", \"size\": \"16 pages\" } },"
		"{ \"fault\": { \"vma\": \"shared\", \"page\": 20 } },"
		"{ \"fault\": { \"vma\": \"priv\", \"page\": 2 } }", "");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	struct address_space *m = mt_file(0)->f_mapping;
	cr_assert_eq(mt_file(0)->f_inode->i_size, 16 * PAGE_SIZE_BYTES);
	cr_assert_eq(m->nrpages, 16);
	for (pgoff_t i = 16; i < 64; i++) {
		cr_assert_null(mt_cached(0, i), "page %llu", (unsigned long long)i);
		cr_assert(pte_none(mt_pte(i)));
		cr_assert(pte_none(mt_pte(512 + i)), "COW copy %llu zapped",
			  (unsigned long long)i);
		cr_assert_eq(inode_disk_load(mt_file(0)->f_inode, i), 0);
	}
	for (pgoff_t i = 0; i < 16; i++)
		cr_assert(pte_present(mt_pte(i)) && mt_pte(i).folio == mt_cached(0, i));
	/* After the truncate, a fault past EOF is SIGBUS. */
	cr_assert(mt_record_of("T", 1)->result & VM_FAULT_SIGBUS);
	cr_assert_not(mt_record_of("T", 2)->result & VM_FAULT_ERROR);
	cr_assert_eq(stale_after_truncate(), 0);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* A task that holds page 50's folio locked across the truncate: pass 2
 * meets page 40 (under writeback) first, then waits for 50. */
static void locker_fn(void *arg)
{
	(void)arg;
	struct folio *f = mt_cached(0, 50);
	folio_get(f);
	folio_lock(f);
	sim_sleep(200000);
	folio_unlock(f);
	folio_put(f);
}

static void add_locker(struct engine *e)
{
	mm_task_create(e, "L", 1, locker_fn, NULL);
}

Test(truncate, pass_two_waits_for_a_locked_folio_and_for_writeback)
{
	struct engine *e = test_engine(3);
	struct scenario *sc = trunc_scenario(
		"{ \"sleep\": { \"ns\": \"10us\" } },"
		"{ \"truncate\": { \"file\": \"f\", \"size\": \"16 pages\" } }",
		", { \"name\": \"W\", \"cpu\": 2, \"ops\": ["
		"    { \"store\": { \"vma\": \"shared\", \"page\": 40 } },"
		"    { \"reclaim\": { \"vma\": \"shared\", \"pages\": 40, \"ignore_references\": true } } ] }");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, add_locker, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("truncate pass 1: locked, left for pass 2"), 1);
	cr_assert_eq(sim_mark_hits("truncate pass 1: writeback or moved, left for pass 2"), 1);
	cr_assert_eq(sim_mark_hits("truncate pass 2: a folio pass 1 left"), 2);
	cr_assert_null(mt_cached(0, 50));
	cr_assert_null(mt_cached(0, 40));
	/* The truncate ended after the locker let go. */
	cr_assert_geq(e->virtual_ns, 200000);
	cr_assert_eq(stale_after_truncate(), 0);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(truncate, racing_faults_never_leave_a_pte_past_eof)
{
	struct engine *e = test_engine(3);
	struct scenario *sc = trunc_scenario(
		"{ \"truncate\": { \"file\": \"f\", \"size\": \"16 pages\" } }",
		", { \"name\": \"A\", \"cpu\": 1, \"ops\": ["
		"    { \"fault\": { \"vma\": \"priv\", \"page\": 20, \"write\": true } },"
		"    { \"fault\": { \"vma\": \"priv\", \"page\": 33 } },"
		"    { \"fault\": { \"vma\": \"priv\", \"page\": 45, \"write\": true } } ] },"
		"  { \"name\": \"B\", \"cpu\": 2, \"ops\": ["
		"    { \"fault\": { \"vma\": \"shared\", \"page\": 24, \"write\": true } },"
		"    { \"fault\": { \"vma\": \"priv\", \"page\": 17 } } ] }");
	uint32_t sigbus = 0;

	/* Random schedules, then PCT ones (depth 3 over about the run's
	 * length), which stall a fault between its i_size check and its
	 * mapping while truncate runs: then pass 2 finds the folio mapped. */
	sim_marks_reset();
	for (uint64_t run = 1; run <= 800; run++) {
		uint64_t seed = (run - 1) % 400 + 1;
		enum run_outcome o = run <= 400
					     ? mt_run(e, sc, NULL, STRATEGY_RANDOM, seed)
					     : mt_run_pct(e, sc, NULL, seed, 3, 150);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s", (unsigned long long)seed,
			     run_outcome_name(o));
		cr_assert_eq(stale_after_truncate(), 0, "seed %llu",
			     (unsigned long long)seed);
		cr_assert_eq(mt_check_refs().mismatched, 0, "seed %llu: %s",
			     (unsigned long long)seed, mt_check_refs().first);
		cr_assert_eq(e->findings_count, 0, "seed %llu: %s",
			     (unsigned long long)seed, e->findings[0].summary);
		for (uint32_t i = 0; i < mt_rec_n; i++)
			sigbus += (mt_rec[i].result & VM_FAULT_SIGBUS) != 0;
		engine_end(e);
	}
	cr_assert_gt(sigbus, 0, "some faults came after the new i_size");
	cr_assert_gt(sim_mark_hits("truncate_cleanup_folio: still mapped, unmap it"), 0,
		     "some folio was mapped between the first unmap and its removal");
	scenario_free(sc);
	test_engine_done(e);
}

Test(truncate, a_thp_across_the_new_eof_stays_unmapped_past_it)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"thp_trunc\","
		"  \"files\": [ { \"name\": \"f\", \"size\": \"1024 pages\", \"cached\": \"all\", \"thp\": true } ],"
		"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 1024, \"kind\": \"file_shared\", \"file\": \"f\","
		"               \"thp\": true, \"populated\": \"all\" } ],"
		"  \"tasks\": [ { \"name\": \"T\", \"ops\": ["
		"    { \"truncate\": { \"file\": \"f\", \"size\": \"100 pages\" } },"
		"    { \"fault\": { \"vma\": \"map\", \"page\": 200 } } ] } ] }", NULL);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(sim_mark_hits("truncate: THP across EOF left in the cache"), 2,
		     "seen by pass 1 and by pass 2, left by both: %llu",
		     (unsigned long long)sim_mark_hits("truncate: THP across EOF left in the cache"));
	/* The first THP straddles page 100: it stays, whole; the second is
	 * gone. */
	struct folio *thp = mt_cached(0, 0);
	cr_assert(thp && thp->order == HPAGE_PMD_ORDER);
	cr_assert_eq(mt_cached(0, 511), thp);
	cr_assert_null(mt_cached(0, 512));
	/* Its PMD mapping went with the unmap of pages 100 on (a partial
	 * zap of a PMD-mapped THP removes the PMD; what stays inside EOF is
	 * faulted in again); page 200 is past EOF. */
	cr_assert_neq(mt_pmd(0)->kind, PMD_HUGE);
	cr_assert_neq(mt_pmd(512)->kind, PMD_HUGE);
	cr_assert(mt_record_of("T", 0)->result & VM_FAULT_SIGBUS);
	for (uint64_t a = 100; a < 1024; a++)
		cr_assert(!pte_present(mt_pte(a)), "page %llu", (unsigned long long)a);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
