/*
 * test_scenario_world.c: the loader's kernel-model sections
 * (mm/scenario_world.c).  Good input builds the world it describes; bad
 * input fails with the JSON path of the culprit and what was expected,
 * and unknown keys and knob values suggest the nearest known one.
 */
#include "mm/devices.h"
#include "tests/mm/mm_test.h"

static void expect_error(const char *json, const char *needle)
{
	char err[1024];
	struct scenario *s = scenario_load_text(json, strlen(json), "t.json",
						NULL, err, sizeof(err));
	cr_assert_null(s, "loaded although it should fail with: %s", needle);
	cr_assert(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"",
		  err, needle);
}

#define BASE_FILES "\"files\": [ { \"name\": \"f\", \"size\": \"64 pages\", \"cached\": [[0, 8], 20] } ],"
#define BASE_VMAS "\"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 64, \"kind\": \"file_private\", \"file\": \"f\" } ],"

Test(scenario_world, errors_name_the_json_path)
{
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [] }, { \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 70 } } ] } ] }",
		     "tasks[1].ops[0].fault.page: 70 is past the end of vma \"map\" (64 pages)");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"fault\": { \"vma\": \"mapp\", \"page\": 1 } } ] } ] }",
		     "tasks[0].ops[0].fault.vma: no vma named \"mapp\"");
	expect_error("{ \"name\": \"x\", \"kernel\": { \"fault_retry\": \"drop_onse\" }, \"tasks\": [ { \"ops\": [] } ] }",
		     "kernel.fault_retry: \"drop_onse\" is not one of \"none\", \"drop_once\", \"drop_always\"; did you mean \"drop_once\"?");
	expect_error("{ \"name\": \"x\", \"kernel\": { \"fault_arround\": \"trylock\" }, \"tasks\": [ { \"ops\": [] } ] }",
		     "kernel.fault_arround: unknown key; did you mean \"fault_around\"?");
	expect_error("{ \"name\": \"x\", \"kernel\": { \"fault_retry\": \"none\" }, \"tasks\": [ { \"ops\": [] } ] }",
		     "kernel.fault_retry: \"none\" needs \"fault_lock\": \"mmap_only\"");
	expect_error("{ \"name\": \"x\", \"files\": [ { \"name\": \"f\", \"size\": \"8 pages\", \"cached\": [[4, 9]] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "files[0].cached[0]: pages up to 8 are past the end of file \"f\" (8 pages)");
	expect_error("{ \"name\": \"x\", " BASE_FILES
		     " \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\" },"
		     "            { \"name\": \"b\", \"start\": 4, \"pages\": 8, \"kind\": \"anon\" } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[1]: vma \"b\" (pages 4-11) overlaps vma \"a\"");
	expect_error("{ \"name\": \"x\", " BASE_FILES
		     " \"vmas\": [ { \"name\": \"m\", \"start\": 0, \"pages\": 16, \"kind\": \"file_private\", \"file\": \"f\", \"populated\": [[6, 10]] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].populated: page 8 of vma \"m\" maps page 8 of file \"f\", which is not cached");
	expect_error("{ \"name\": \"x\", \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"populated\": [1] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].populated: anonymous pages were written, so vma \"a\" has an anon_vma");
	expect_error("{ \"name\": \"x\", " BASE_FILES
		     " \"vmas\": [ { \"name\": \"m\", \"start\": 0, \"pages\": 16, \"kind\": \"file_shared\" } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0]: missing required key \"file\"");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"write\": { \"file\": \"f\", \"offset_pages\": 0, \"pages\": 4, \"source_vma\": \"map\", \"source_page\": 62 } } ] } ] }",
		     "tasks[0].ops[0].write.pages: the source runs past the end of vma \"map\"");
	expect_error("{ \"name\": \"x\", \"tasks\": [ { \"ops\": [ { \"mmap\": { \"name\": \"n\", \"start\": 0, \"pages\": 4, \"kind\": \"anon\", \"populated\": [0] } } ] } ] }",
		     "tasks[0].ops[0].mmap.populated: unknown key");
}

Test(scenario_world, builds_the_world_it_describes)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"x\", \"kernel\": { \"fault_around\": \"private_nolock\" }, " BASE_FILES
		" \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 64, \"kind\": \"file_private\", \"file\": \"f\", \"populated\": [[2, 4]] },"
		"            { \"name\": \"heap\", \"start\": 512, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true, \"populated\": \"all\" } ],"
		" \"tasks\": [ { \"ops\": [ { \"mmap\": { \"name\": \"late\", \"start\": 1024, \"pages\": 4, \"kind\": \"anon\" } },"
		"                          { \"fault\": { \"vma\": \"late\", \"page\": 3, \"write\": true } },"
		"                          { \"munmap\": { \"vma\": \"late\" } } ] } ] }", NULL);

	cr_assert_eq(sc->knobs.fault_around, FAULT_AROUND_PRIVATE_NOLOCK);
	cr_assert_eq(sc->knobs.fault_retry, FAULT_RETRY_DROP_ONCE);
	cr_assert_eq(sc->tasks[0].ops[1].u.fault.address, 1027);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	for (pgoff_t i = 0; i < 64; i++)
		cr_assert_eq(mt_cached(0, i) != NULL, i < 8 || i == 20, "page %llu",
			     (unsigned long long)i);
	cr_assert(pte_present(mt_pte(2)) && pte_present(mt_pte(3)));
	cr_assert_not(pte_present(mt_pte(4)));
	for (uint64_t a = 512; a < 520; a++)
		cr_assert(mt_pte(a).write && folio_test(mt_pte(a).folio, PG_anon));
	cr_assert_eq(mt_record_of("task0", 0)->kind, FAULT_KIND_ANON);
	cr_assert_eq(mm_world->mm->vmas_count, 2, "late was mapped and unmapped");
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

#define SWAP_DEVS "\"devices\": { \"z\": { \"kind\": \"zram\" }, \"d\": { \"kind\": \"disk\", \"preset\": \"hdd\" } }, \"swap\": { \"device\": \"z\", \"slots\": 4 },"

Test(scenario_world, swap_device_and_reclaim_sections_name_their_path)
{
	expect_error("{ \"name\": \"x\", \"kernel\": { \"swap_vma_lock\": \"retry_al\" }, \"tasks\": [ { \"ops\": [] } ] }",
		     "kernel.swap_vma_lock: \"retry_al\" is not one of");
	expect_error("{ \"name\": \"x\", \"kernel\": { \"fault_retry\": \"none\", \"fault_lock\": \"mmap_only\", \"speculative\": \"validated\" }, \"tasks\": [ { \"ops\": [] } ] }",
		     "kernel.speculative: \"validated\" needs a \"fault_retry\" other than \"none\"");
	expect_error("{ \"name\": \"x\", \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true, \"swapped\": [1] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].swapped: pages are swapped out, but the scenario has no \"swap\" section");
	expect_error("{ \"name\": \"x\", " SWAP_DEVS " \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"swapped\": [1] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].swapped: these pages were anonymous pages before, so vma \"a\" has an anon_vma");
	expect_error("{ \"name\": \"x\", " SWAP_DEVS " \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true, \"swapped\": [[0, 5]] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].swapped: 5 pages swapped out in all; the swap device has 4 slots");
	expect_error("{ \"name\": \"x\", " SWAP_DEVS " \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true, \"swapped\": [1], \"swapcache\": [2] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].swapcache: page 2 of vma \"a\" is in the swap cache but not in \"swapped\"");
	expect_error("{ \"name\": \"x\", " SWAP_DEVS " \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true, \"populated\": [[0, 2]], \"swapped\": [1] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0]: page 1 of vma \"a\" is in two of \"populated\", \"swapped\" and \"device_private\"");
	expect_error("{ \"name\": \"x\", " BASE_FILES " \"vmas\": [ { \"name\": \"m\", \"start\": 0, \"pages\": 8, \"kind\": \"file_private\", \"file\": \"f\", \"device_private\": [1] } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "vmas[0].device_private: only anonymous pages can be in device memory");
	expect_error("{ \"name\": \"x\", " SWAP_DEVS " \"files\": [ { \"name\": \"f\", \"size\": 4096, \"device\": \"e\" } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "files[0].device: no device \"e\" in devices");
	expect_error("{ \"name\": \"x\", " SWAP_DEVS " \"files\": [ { \"name\": \"f\", \"size\": 4096, \"device\": \"d\", \"read_latency\": \"1ms\" } ], \"tasks\": [ { \"ops\": [] } ] }",
		     "files[0].read_latency: the file lives on device \"d\"");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"reclaim\": { \"vma\": \"map\", \"file\": \"f\" } } ] } ] }",
		     "tasks[0].ops[0].reclaim.file: name a \"vma\" or a \"file\", not both");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"reclaim\": { \"vma\": \"map\", \"pages\": [4, 70] } } ] } ] }",
		     "tasks[0].ops[0].reclaim.pages: pages up to 69 are past the end of vma \"map\" (64 pages)");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"reclaim\": { \"wait_writeback\": true } } ] } ] }",
		     "tasks[0].ops[0].reclaim.wait_writeback: only direct reclaim of a legacy memcg waits");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"truncate\": { \"file\": \"f\", \"size\": \"5000 pages\" } } ] } ] }",
		     "tasks[0].ops[0].truncate.size: \"5000 pages\" is larger than the largest file modeled");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"migrate\": { \"vma\": \"map\", \"page\": 1 } } ] } ] }",
		     "tasks[0].ops[0].migrate.vma: migration is modeled for anonymous pages");
	expect_error("{ \"name\": \"x\", " BASE_FILES BASE_VMAS
		     " \"tasks\": [ { \"ops\": [ { \"gup_write\": { \"vma\": \"map\", \"page\": 1, \"hold\": \"soon\" } } ] } ] }",
		     "tasks[0].ops[0].gup_write.hold");
}

Test(scenario_world, builds_swapped_pages_and_reads_the_new_operations)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"x\", " SWAP_DEVS
		"  \"kernel\": { \"swap_vma_lock\": \"naive\", \"speculative\": \"unvalidated\","
		"              \"swapcache_fence\": \"off\", \"reclaim_order\": \"dirty_before_freeze\" },"
		"  \"files\": [ { \"name\": \"f\", \"size\": \"8 pages\", \"cached\": \"all\", \"device\": \"d\" } ],"
		"  \"vmas\": [ { \"name\": \"a\", \"start\": 0, \"pages\": 8, \"kind\": \"anon\", \"anon_vma\": true,"
		"               \"populated\": [0], \"swapped\": [[2, 5]], \"swapcache\": [3], \"device_private\": [6] } ],"
		"  \"tasks\": [ { \"ops\": [ { \"reclaim\": { \"scan\": 7, \"target\": \"file\", \"mode\": \"direct\","
		"                             \"file\": \"f\", \"pages\": [2, 4], \"wait_writeback\": true } },"
		"                            { \"truncate\": { \"file\": \"f\", \"size\": \"3 pages\" } },"
		"                            { \"punch_hole\": { \"file\": \"f\", \"offset_pages\": 1 } },"
		"                            { \"gup_write\": { \"vma\": \"a\", \"page\": 0, \"hold\": \"3us\" } } ] } ] }",
		NULL);

	cr_assert_eq(sc->knobs.swap_vma_lock, SWAP_VMA_LOCK_NAIVE);
	cr_assert_eq(sc->knobs.speculative, SPECULATIVE_UNVALIDATED);
	cr_assert_eq(sc->knobs.swapcache_fence, SWAPCACHE_FENCE_OFF);
	cr_assert_eq(sc->knobs.reclaim_order, RECLAIM_ORDER_DIRTY_BEFORE_FREEZE);
	const struct scenario_op *op = &sc->tasks[0].ops[0];
	cr_assert_eq(op->u.reclaim.nr_to_scan, 7);
	cr_assert_eq(op->u.reclaim.target, RECLAIM_TARGET_FILE);
	cr_assert_not(op->u.reclaim.kswapd);
	cr_assert(op->u.reclaim.filtered && op->u.reclaim.wait_writeback);
	cr_assert_eq(op->u.reclaim.file, 0);
	cr_assert_eq(op->u.reclaim.file_first, 2);
	cr_assert_eq(op->u.reclaim.file_end, 4);
	cr_assert_eq(sc->tasks[0].ops[1].u.truncate.size_bytes, 3 * 4096);
	cr_assert_eq(sc->tasks[0].ops[2].u.punch.index, 1);
	cr_assert_eq(sc->tasks[0].ops[2].u.punch.pages, 1);
	cr_assert_eq(sc->tasks[0].ops[3].u.access.hold_ns, 3000);

	/* Build it only: the world as the scenario describes it. */
	engine_begin(e, 1);
	world_build(e, sc);
	struct swap_info_struct *si = swap_device();
	cr_assert_eq(si->inuse_pages, 3);
	for (uint64_t p = 2; p < 5; p++) {
		cr_assert_eq(mt_pte(p).kind, PTE_SWAP);
		cr_assert_eq(mt_pte(p).swp.val, p - 1, "slots in address order");
	}
	struct folio *cached = mt_swap_cached(2);
	cr_assert_not_null(cached, "page 3's folio is in the swap cache");
	cr_assert_eq(cached->data, si->slot_data[2]);
	cr_assert_eq(si->swap_map[2], 1 | SWAP_HAS_CACHE);
	cr_assert_eq(mt_pte(6).kind, PTE_DEVICE_PRIVATE);
	cr_assert(folio_test(mt_pte(6).folio, PG_device));
	cr_assert_eq(mt_file(0)->f_mapping->bdev, bdev_lookup("d"));
	cr_assert_eq(inode_disk_load(mt_file(0)->f_inode, 5), mt_cached(0, 5)->data);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	swap_check_invariants(si);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
