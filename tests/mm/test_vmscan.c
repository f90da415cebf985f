/*
 * test_vmscan.c: page reclaim (mm/vmscan.c, with rmap.c's walks and the
 * swap-out and writeback paths).  Checks what reclaim leaves behind: a
 * mapped anonymous folio on a disk becomes a swap PTE with the folio in
 * the swap cache under writeback, and a later fault maps that folio
 * again without reading; on zram the write completes inside reclaim and
 * the folio is freed, a later fault reading it back; a clean file folio
 * is unmapped and freed, a dirty one written back (by kswapd only); a
 * folio referenced once is kept and reclaimed on the next pass; legacy
 * memcg reclaim waits for writeback; an unmapped clean file THP is freed
 * whole, a mapped one kept.  And __remove_mapping's order: with
 * dirty_before_freeze a GUP writer's write is lost in some schedule,
 * with the kernel's freeze_then_dirty never.  Every run ends with every
 * folio's references accounted for.
 */
#include "tests/mm/mm_test.h"

static void expect_refs_consistent(void)
{
	struct mt_refs r = mt_check_refs();
	cr_assert_eq(r.mismatched, 0, "%s", r.first);
}

/* ------------------------------------------- anonymous, swap on a disk */

static const char *const anon_json =
	"{ \"name\": \"anon_reclaim\", \"machine\": { \"cpus\": 1 },"
	"  \"devices\": { \"swapdev\": %s },"
	"  \"swap\": { \"device\": \"swapdev\", \"slots\": 16 },"
	"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\","
	"               \"anon_vma\": true, \"populated\": [[0, 4]] } ],"
	"  \"tasks\": [ { \"name\": \"idle\", \"ops\": [ { \"sleep\": { \"ns\": 1 } } ] } ] }";

/* What the reclaiming task saw right after reclaim, and after its fault. */
static struct {
	uint32_t reclaimed;
	pte_t pte;
	struct folio *folio;
	uint32_t folio_id;
	uint64_t data;
	bool swapcache, writeback, locked;
	uint32_t swap_map;
	pte_t after;
	uint64_t after_data;
} seen;

static void reclaim_then_fault(void *arg)
{
	(void)arg;
	struct folio *folio = mt_pte(1).folio;
	struct scan_control sc = { .nr_to_scan = 32, .filtered = true,
				   .anon_first = 1, .anon_end = 2, .file = -1,
				   .kswapd = true };

	seen.folio = folio;
	seen.folio_id = folio->id;
	seen.data = folio->data;
	seen.reclaimed = shrink_inactive_list(&sc);
	seen.pte = mt_pte(1);
	seen.swapcache = !folio->freed && folio->id == seen.folio_id &&
			 folio_test(folio, PG_swapcache);
	seen.writeback = !folio->freed && folio_test(folio, PG_writeback);
	seen.locked = !folio->freed && folio_test_locked(folio);
	seen.swap_map = seen.pte.kind == PTE_SWAP
				? swap_device()->swap_map[seen.pte.swp.val]
				: 0;
	task_folio_refs_orphan();
	do_user_addr_fault(1, false, true);
	seen.after = mt_pte(1);
	seen.after_data = seen.after.folio ? seen.after.folio->data : 0;
}

static void add_reclaimer(struct engine *e)
{
	memset(&seen, 0, sizeof(seen));
	mm_task_create(e, "R", 0, reclaim_then_fault, NULL);
}

static struct scenario *anon_scenario(const char *dev)
{
	static char json[2048];
	snprintf(json, sizeof(json), anon_json, dev);
	return mt_load(json, NULL);
}

Test(vmscan, mapped_anon_on_disk_leaves_swap_pte_and_cached_folio_under_writeback)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = anon_scenario("{ \"kind\": \"disk\", \"preset\": \"nvme\" }");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, add_reclaimer, STRATEGY_TIMED, 1), RUN_OK);
	/* Right after reclaim. */
	cr_assert_eq(sim_mark_hits("shrink_folio: writeback started, keep"), 1);
	cr_assert_eq(seen.reclaimed, 0, "kept while the write is in flight");
	cr_assert_eq(seen.pte.kind, PTE_SWAP);
	cr_assert(seen.swapcache, "the folio stays in the swap cache");
	cr_assert(seen.writeback, "under writeback");
	cr_assert_not(seen.locked, "pageout unlocked it");
	cr_assert_eq(seen.swap_map, 1 | SWAP_HAS_CACHE, "the PTE's and the cache's");
	cr_assert_eq(vm_events(PGSCAN), 1);
	cr_assert_eq(vm_events(PSWPOUT), 1);
	/* The later fault found it in the swap cache: mapped again, the
	 * same folio and contents, nothing read. */
	cr_assert(pte_present(seen.after));
	cr_assert_eq(seen.after.folio, seen.folio);
	cr_assert_eq(seen.after_data, seen.data);
	cr_assert_eq(vm_events(PSWPIN), 0);
	cr_assert_eq(vm_events(PGSTEAL), 0);
	/* The write completed meanwhile: the slot holds the contents. */
	cr_assert_eq(swap_device()->slot_data[seen.pte.swp.val], seen.data);
	cr_assert_not(folio_test(seen.folio, PG_writeback));
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(vmscan, mapped_anon_on_zram_is_freed_and_read_back)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = anon_scenario("{ \"kind\": \"zram\" }");

	cr_assert_eq(mt_run(e, sc, add_reclaimer, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(seen.reclaimed, 1, "zram's write completes inside reclaim");
	cr_assert_eq(seen.pte.kind, PTE_SWAP);
	cr_assert_eq(seen.swap_map, 1, "only the PTE's reference is left");
	cr_assert_null(mt_swap_cached(seen.pte.swp.val));
	cr_assert_eq(vm_events(PGSTEAL), 1);
	cr_assert(pte_present(seen.after));
	cr_assert_eq(seen.after_data, seen.data, "read back as written");
	cr_assert_eq(vm_events(PSWPIN), 1);
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ------------------------------------------------------------ references */

Test(vmscan, a_referenced_folio_is_kept_once_then_reclaimed)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"refs\", \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\" },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\", \"anon_vma\": true } ],"
		"  \"tasks\": [ { \"name\": \"F\", \"ops\": ["
		"    { \"fault\": { \"vma\": \"heap\", \"page\": 0, \"write\": true } },"
		"    { \"reclaim\": { \"vma\": \"heap\" } },"
		"    { \"reclaim\": { \"vma\": \"heap\" } } ] } ] }", NULL);

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	/* The fault left the PTE young: the first pass clears it and keeps
	 * the folio (PG_referenced), the second finds it old and frees it. */
	cr_assert_eq(vm_events(PGSCAN), 2);
	cr_assert_eq(vm_events(PGSTEAL), 1);
	cr_assert_eq(mt_pte(0).kind, PTE_SWAP);
	expect_refs_consistent();
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ----------------------------------------------------------------- files */

static const char *const file_json =
	"{ \"name\": \"file_reclaim\", \"machine\": { \"cpus\": 1 },"
	"  \"devices\": { \"disk\": { \"kind\": \"disk\", \"preset\": \"nvme\" } },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"cached\": \"all\", \"device\": \"disk\" } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 16, \"kind\": \"file_shared\", \"file\": \"f\","
	"               \"populated\": [[0, 4]] } ],"
	"  \"tasks\": [ { \"name\": \"T\", \"ops\": [ %s ] } ] }";

static struct scenario *file_scenario(const char *ops)
{
	static char json[4096];
	snprintf(json, sizeof(json), file_json, ops);
	return mt_load(json, NULL);
}

Test(vmscan, clean_file_folio_is_unmapped_freed_and_read_again)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = file_scenario(
		"{ \"reclaim\": { \"vma\": \"map\", \"pages\": 2 } },"
		"{ \"fault\": { \"vma\": \"map\", \"page\": 2 } }");

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(vm_events(PGSTEAL), 1);
	/* Faulted back in from the disk: a major fault, the same contents. */
	const struct fault_record *r = mt_record_of("T", 0);
	cr_assert_eq(r->kind, FAULT_KIND_FILE_MAJOR);
	struct folio *now = mt_cached(0, 2);
	cr_assert_not_null(now);
	cr_assert_eq(now->data, inode_disk_load(mt_file(0)->f_inode, 2));
	cr_assert(pte_present(mt_pte(2)) && mt_pte(2).folio == now);
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* A file THP: nothing maps it, so reclaim frees its 512 pages at once;
 * once a PMD maps it, it is kept. */
static const char *const thp_json =
	"{ \"name\": \"thp_reclaim\", \"machine\": { \"cpus\": 1 },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"512 pages\", \"cached\": \"all\", \"thp\": true } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 512, \"kind\": \"file_private\", \"file\": \"f\", \"thp\": true } ],"
	"  \"tasks\": [ { \"name\": \"T\", \"ops\": [ %s ] } ] }";

static uint64_t thp_nrpages_after(const char *ops, uint64_t *stolen,
				  uint8_t *pmd_kind)
{
	static char json[2048];
	struct engine *e = test_engine(1);

	snprintf(json, sizeof(json), thp_json, ops);
	struct scenario *sc = mt_load(json, NULL);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	uint64_t n = mt_file(0)->f_mapping->nrpages;
	*stolen = vm_events(PGSTEAL);
	*pmd_kind = mt_pmd(3)->kind;
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
	return n;
}

Test(vmscan, an_unmapped_file_thp_is_freed_whole_a_mapped_one_kept)
{
	uint64_t stolen;
	uint8_t pmd;

	cr_assert_eq(thp_nrpages_after("{ \"reclaim\": { \"file\": \"f\" } }",
				       &stolen, &pmd), 0);
	cr_assert_eq(stolen, 1, "one folio, 512 pages");
	sim_marks_reset();
	cr_assert_eq(thp_nrpages_after("{ \"fault\": { \"vma\": \"map\", \"page\": 3 } },"
				       "{ \"reclaim\": { \"file\": \"f\" } }",
				       &stolen, &pmd), 512);
	cr_assert_eq(stolen, 0);
	cr_assert_eq(pmd, PMD_HUGE, "mapped by one PMD");
	cr_assert_gt(sim_mark_hits("shrink_folio: mapped or dirty file THP, keep"), 0);
}

Test(vmscan, dirty_file_folio_is_written_by_kswapd_not_by_direct_reclaim)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = file_scenario(
		"{ \"store\": { \"vma\": \"map\", \"page\": 1 } },"
		"{ \"reclaim\": { \"vma\": \"map\", \"pages\": 1, \"mode\": \"direct\", \"ignore_references\": true } }");

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	struct folio *f = mt_cached(0, 1);
	cr_assert_not_null(f, "direct reclaim leaves it in the cache");
	cr_assert(folio_test(f, PG_dirty));
	cr_assert_neq(f->data, inode_disk_load(mt_file(0)->f_inode, 1));
	cr_assert_eq(sim_mark_hits("shrink_folio: direct reclaim leaves dirty file folios"), 1);
	cr_assert_eq(vm_events(PGSTEAL), 0);
	engine_end(e);
	scenario_free(sc);

	sc = file_scenario(
		"{ \"store\": { \"vma\": \"map\", \"page\": 1 } },"
		"{ \"reclaim\": { \"vma\": \"map\", \"pages\": 1, \"ignore_references\": true } },"
		"{ \"sleep\": { \"ns\": \"1ms\" } },"
		"{ \"reclaim\": { \"vma\": \"map\", \"pages\": 1, \"ignore_references\": true } }");
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	/* kswapd wrote it out (first pass), then freed it once written
	 * (second pass): the disk has the stored contents. */
	cr_assert_eq(vm_events(PGSTEAL), 1);
	cr_assert_null(mt_cached(0, 1));
	cr_assert_neq(inode_disk_load(mt_file(0)->f_inode, 1), 0);
	expect_refs_consistent();
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ------------------------------------------- legacy memcg writeback wait */

Test(vmscan, legacy_memcg_reclaim_waits_for_writeback)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"memcg\", \"devices\": { \"d\": { \"kind\": \"disk\", \"preset\": \"hdd\" } },"
		"  \"swap\": { \"device\": \"d\" },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\","
		"               \"anon_vma\": true, \"populated\": [0] } ],"
		"  \"tasks\": [ { \"name\": \"R\", \"ops\": ["
		"    { \"reclaim\": { \"vma\": \"heap\", \"mode\": \"direct\" } },"
		"    { \"reclaim\": { \"vma\": \"heap\", \"mode\": \"direct\", \"wait_writeback\": true } } ] } ] }",
		NULL);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	/* The first pass started the write; the second found it under
	 * writeback, marked, and waited the disk's milliseconds for it,
	 * then freed it. */
	cr_assert_eq(sim_mark_hits("shrink_folio: legacy memcg waits for writeback"), 1);
	cr_assert_eq(vm_events(PGSTEAL), 1);
	cr_assert_eq(mt_pte(0).kind, PTE_SWAP);
	cr_assert_geq(e->virtual_ns, 3000000);
	expect_refs_consistent();
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

/* ------------------------------------ __remove_mapping's order, lost writes */

/*
 * G looks the mapped file page up with get_user_pages and, a moment
 * later, writes into it, dirties it and lets go; R reclaims the page
 * meanwhile.  If R tests dirty before freezing the refcount, G can dirty
 * and drop its reference between the two: R frees a folio whose write
 * never reached the disk (KERNEL.md 11, pattern 10).  The window is one
 * step wide, as it is one instruction wide in the kernel: about one
 * random schedule in four hundred hits it, so the test runs 4000.
 */
static const char *const lost_json =
	"{ \"name\": \"lost_write\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"reclaim_order\": \"%s\" },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"cached\": \"all\" } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 16, \"kind\": \"file_shared\", \"file\": \"f\","
	"               \"populated\": [0] } ],"
	"  \"tasks\": [ { \"name\": \"G\", \"cpu\": 0, \"ops\": [ { \"gup_write\": { \"vma\": \"map\", \"page\": 0, \"hold\": \"2us\" } } ] },"
	"               { \"name\": \"R\", \"cpu\": 1, \"ops\": [ { \"reclaim\": { \"file\": \"f\", \"pages\": 0, \"ignore_references\": true } } ] } ] }";

static uint32_t lost_runs(const char *order, uint32_t seeds)
{
	char json[4096];
	struct engine *e = test_engine(2);
	uint32_t lost = 0;

	snprintf(json, sizeof(json), lost_json, order);
	struct scenario *sc = mt_load(json, NULL);
	for (uint64_t seed = 1; seed <= seeds; seed++) {
		enum run_outcome o = mt_run(e, sc, NULL, STRATEGY_RANDOM, seed);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s", (unsigned long long)seed,
			     run_outcome_name(o));
		uint32_t n = mt_findings(e, "lost_write");
		cr_assert_eq(e->findings_count, n, "seed %llu: %s",
			     (unsigned long long)seed,
			     e->findings_count ? e->findings[0].summary : "");
		if (n) {
			lost++;
			/* Freed: the page cache lost the only copy. */
			cr_assert_null(mt_cached(0, 0));
		} else if (mt_cached(0, 0) == NULL) {
			/* Freed legitimately: the disk has G's write, or G
			 * wrote into a folio faulted in again afterwards. */
			cr_assert(inode_disk_load(mt_file(0)->f_inode, 0) != 0);
		}
		expect_refs_consistent();
		engine_end(e);
	}
	scenario_free(sc);
	test_engine_done(e);
	return lost;
}

Test(vmscan, dirty_before_freeze_loses_a_write_freeze_then_dirty_never)
{
	sim_marks_reset();
	uint32_t broken = lost_runs("dirty_before_freeze", 4000);
	cr_assert_eq(sim_mark_hits("__remove_mapping: dirtied under us, unfreeze"), 0);
	uint32_t kernel = lost_runs("freeze_then_dirty", 4000);
	/* The kernel's order sees the write instead: the folio was dirtied
	 * after it was frozen, so it is unfrozen and kept. */
	cr_assert_gt(sim_mark_hits("__remove_mapping: dirtied under us, unfreeze"), 0);
	cr_assert_gt(sim_mark_hits("__remove_mapping: freeing a folio whose write was never stored"), 0);

	fprintf(stderr, "reclaim_order, 4000 random schedules each: dirty_before_freeze loses a write in %u, freeze_then_dirty in %u\n",
		broken, kernel);
	cr_assert_gt(broken, 0);
	cr_assert_eq(kernel, 0);
}
