/*
 * test_scenario_world.c: the loader's kernel-model sections
 * (mm/scenario_world.c).  Good input builds the world it describes; bad
 * input fails with the JSON path of the culprit and what was expected,
 * and unknown keys and knob values suggest the nearest known one.
 */
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
