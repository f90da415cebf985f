/*
 * test_fault_around.c: fault-around (do_fault_around, filemap_map_pages,
 * filemap_map_pmd in mm/filemap.c) under the knobs of seeds 003 and 004:
 * which neighbours get mapped and which are skipped; the stale PTE that
 * nolock_norecheck leaves when a truncate-like remover races it (found by
 * random schedules, never found with the kernel's trylock or with Linus's
 * re-checking order); the THP reference that inverted_set_pmd leaks when
 * do_set_pmd fails, and the one it puts too many when it succeeds.
 */
#include "tests/mm/mm_test.h"

static const char *const around_json =
	"{ \"name\": \"around\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"fault_around\": \"%s\", \"fault_around_bytes\": %u },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"64 pages\", \"cached\": \"all\" } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 64, \"kind\": \"%s\", \"file\": \"f\" } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": \"5us\" } },"
	"                 { \"fault\": { \"vma\": \"map\", \"page\": 2 } } ] } ] }";

static struct scenario *around(const char *knob, unsigned bytes,
			       const char *kind)
{
	static char json[4096];
	snprintf(json, sizeof(json), around_json, knob, bytes, kind);
	return mt_load(json, NULL);
}

/* Folio 5 is locked by another task across the fault, folio 9 is not
 * uptodate (a read that failed). */
static void hold_fn(void *arg)
{
	(void)arg;
	struct folio *f = mt_cached(0, 5);
	folio_get(f);
	folio_lock(f);
	sim_sleep(100000);
	folio_unlock(f);
	folio_put(f);
}

static void add_holder(struct engine *e)
{
	folio_clear(mt_cached(0, 9), PG_uptodate);
	mm_task_create(e, "H", 1, hold_fn, NULL);
}

Test(fault_around, maps_sixteen_neighbours_and_skips_locked_and_not_uptodate)
{
	const char *const kinds[] = { "file_private", "file_shared" };

	for (int k = 0; k < 2; k++) {
		struct engine *e = test_engine(2);
		struct scenario *sc = around("trylock", 65536, kinds[k]);
		cr_assert_eq(mt_run(e, sc, add_holder, STRATEGY_TIMED, 1), RUN_OK);
		for (uint64_t p = 0; p < 16; p++) {
			bool want = p != 5 && p != 9;
			cr_assert_eq(pte_present(mt_pte(p)), want, "%s page %llu",
				     kinds[k], (unsigned long long)p);
			if (want) {
				cr_assert_eq(mt_pte(p).folio, mt_cached(0, p));
				cr_assert_not(mt_pte(p).write, "prefaulted read-only");
			}
		}
		cr_assert_not(pte_present(mt_pte(16)), "the window is 16 pages");
		const struct fault_record *r = mt_record_of("F", 0);
		cr_assert_eq(r->attempts, 1);
		cr_assert_eq(r->kind, FAULT_KIND_FILE_MINOR);
		cr_assert(r->vma_locked);
		cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
		cr_assert_eq(e->findings_count, 0);
		engine_end(e);
		scenario_free(sc);
		test_engine_done(e);
	}
}

Test(fault_around, fault_around_bytes_of_one_page_maps_only_the_fault)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = around("trylock", 4096, "file_private");

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	for (uint64_t p = 0; p < 16; p++)
		cr_assert_eq(pte_present(mt_pte(p)), p == 2);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ------------------------------------------- stale PTE after truncate */

/*
 * A minimal truncate for the test (the real one is part of the reclaim
 * and truncate model): shrink i_size to 4 pages, zap the file's pages
 * past it in every mapping VMA, then for each cached folio past EOF: lock,
 * zap again if it got mapped (unmap_mapping_folio), delete from the page
 * cache, unlock.  Starts at a seed-chosen time in the fault's window.
 */
static void zap_file_range(struct address_space *m, pgoff_t from)
{
	down_read(&m->i_mmap_rwsem);
	for (uint32_t i = 0; i < m->i_mmap_count; i++) {
		struct vm_area_struct *vma = m->i_mmap[i];
		uint64_t start = vma->vm_start;
		if (from > vma->vm_pgoff)
			start += from - vma->vm_pgoff;
		if (start < vma->vm_end)
			unmap_page_range(vma, start, vma->vm_end);
	}
	up_read(&m->i_mmap_rwsem);
}

static void remover_fn(void *arg)
{
	(void)arg;
	struct address_space *m = mt_file(0)->f_mapping;
	const pgoff_t keep = 4;

	sim_sleep(prng_range(sim_prng(), 0, 3000));
	down_write(&m->host->i_rwsem);
	down_write(&m->invalidate_lock);
	m->host->i_size = keep * PAGE_SIZE_BYTES;
	zap_file_range(m, keep);
	for (pgoff_t i = keep; i < 64; i++) {
		struct folio *f = filemap_get_folio(m, i);
		if (!f)
			continue;
		folio_lock(f);
		if (f->mapcount)
			zap_file_range(m, keep);
		if (f->mapping == m)
			filemap_remove_folio(f);
		folio_unlock(f);
		folio_put(f);
	}
	up_write(&m->invalidate_lock);
	up_write(&m->host->i_rwsem);
}

static void add_remover(struct engine *e)
{
	mm_task_create(e, "T", 1, remover_fn, NULL);
}

/* PTEs that map a file folio no longer in the page cache, or past EOF. */
static uint32_t stale_ptes(void)
{
	uint32_t n = 0;
	uint64_t eof = (mt_file(0)->f_inode->i_size + PAGE_SIZE_BYTES - 1) /
		       PAGE_SIZE_BYTES;
	for (uint64_t p = 0; p < 64; p++) {
		pte_t e = mt_pte(p);
		if (!pte_present(e) || !e.folio || folio_test(e.folio, PG_anon))
			continue;
		if (e.folio->mapping == NULL || e.folio->index + e.subpage >= eof)
			n++;
	}
	return n;
}

static uint32_t stale_runs(const char *knob, uint32_t seeds)
{
	struct engine *e = test_engine(2);
	struct scenario *sc = around(knob, 65536, "file_private");
	uint32_t stale = 0;

	for (uint64_t seed = 1; seed <= seeds; seed++) {
		enum run_outcome o = mt_run(e, sc, add_remover, STRATEGY_RANDOM, seed);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s", (unsigned long long)seed,
			     run_outcome_name(o));
		uint32_t n = stale_ptes();
		if (n) {
			stale++;
			/* The stale PTE holds a reference of its own: the
			 * folio outlives the page cache. */
			cr_assert_eq(mt_check_refs().mismatched, 0, "%s",
				     mt_check_refs().first);
		}
		engine_end(e);
	}
	scenario_free(sc);
	test_engine_done(e);
	return stale;
}

Test(fault_around, nolock_norecheck_maps_a_truncated_folio)
{
	cr_assert_gt(stale_runs("nolock_norecheck", 400), 0,
		     "some schedule leaves a PTE to a folio outside the page cache");
}

Test(fault_around, trylock_and_rechecking_nolock_never_do)
{
	cr_assert_eq(stale_runs("trylock", 400), 0);
	cr_assert_eq(stale_runs("private_nolock", 400), 0);
}

/* ------------------------------------------------- inverted do_set_pmd */

static const char *const pmd_json =
	"{ \"name\": \"pmd\", \"machine\": { \"cpus\": 1 },"
	"  \"kernel\": { \"filemap_map_pmd\": \"%s\" },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"512 pages\", \"cached\": \"all\", \"thp\": true } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 512, \"kind\": \"file_private\", \"file\": \"f\", \"thp\": %s } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 3 } } ] } ] }";

static struct scenario *pmd_scenario(const char *knob, bool thp)
{
	static char json[4096];
	snprintf(json, sizeof(json), pmd_json, knob, thp ? "true" : "false");
	return mt_load(json, NULL);
}

Test(fault_around, inverted_set_pmd_leaks_a_reference_when_do_set_pmd_fails)
{
	struct engine *e = test_engine(1);

	/* MADV_NOHUGEPAGE: do_set_pmd refuses, the THP is mapped by PTEs. */
	struct scenario *sc = pmd_scenario("fixed", false);
	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	struct folio *thp = mt_cached(0, 0);
	cr_assert_eq(thp->order, HPAGE_PMD_ORDER);
	cr_assert_eq(mt_pmd(0)->kind, PMD_TABLE);
	cr_assert(pte_present(mt_pte(3)) && mt_pte(3).folio == thp);
	cr_assert_eq(thp->mapcount, 16);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	cr_assert_eq(sim_mark_hits("do_set_pmd: VMA refuses THPs"), 1);
	engine_end(e);
	scenario_free(sc);

	sc = pmd_scenario("inverted_set_pmd", false);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	thp = mt_cached(0, 0);
	struct mt_refs r = mt_check_refs();
	cr_assert_eq(r.mismatched, 1, "the THP's count is off");
	cr_assert_eq(r.worst_delta, 1, "one reference leaked: %s", r.first);
	cr_assert_eq(thp->mapcount, 0, "nothing got mapped");
	cr_assert_gt(sim_mark_hits("task returned holding a folio reference"), 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(fault_around, inverted_set_pmd_puts_one_reference_too_many_on_success)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = pmd_scenario("fixed", true);

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(mt_pmd(0)->kind, PMD_HUGE);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	engine_end(e);
	scenario_free(sc);

	sc = pmd_scenario("inverted_set_pmd", true);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(mt_pmd(0)->kind, PMD_HUGE);
	struct mt_refs r = mt_check_refs();
	cr_assert_eq(r.worst_delta, -1, "one reference too few: %s", r.first);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
