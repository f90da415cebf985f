/*
 * test_write.c: write() from a user buffer (mm/filemap.c
 * generic_perform_write, mm/fuse_file.c fuse_perform_write) when the
 * buffer is an mmap of the very file written: the October 2020 fuse path
 * keeps the request's folios locked while it faults in the next source
 * page, and the fault waits on a folio its own task holds (KERNEL.md 11,
 * pattern 5); generic_perform_write, one folio at a time with the source
 * faulted in first, completes.
 */
#include "tests/mm/mm_test.h"

static const char *const write_json =
	"{ \"name\": \"self_write\", \"machine\": { \"cpus\": 1 },"
	"  \"kernel\": { \"write_path\": \"%s\" },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"fuse\": true, \"read_latency\": \"50us\" } ],"
	"  \"vmas\": [ { \"name\": \"src\", \"start\": 0, \"pages\": 16, \"kind\": \"file_shared\", \"file\": \"f\" } ],"
	"  \"tasks\": [ { \"name\": \"W\", \"ops\": ["
	"      { \"write\": { \"file\": \"f\", \"offset_pages\": 1, \"pages\": 4, \"source_vma\": \"src\", \"source_page\": 0 } } ] } ] }";

static struct scenario *write_scenario(const char *path)
{
	static char json[4096];
	snprintf(json, sizeof(json), write_json, path);
	return mt_load(json, NULL);
}

Test(write, fuse_multi_lock_over_an_mmap_of_the_same_file_waits_on_itself)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = write_scenario("fuse_multi_lock");

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 42), RUN_DEADLOCK);
	struct task *w = mt_task(e, "W");
	struct task_mm *tm = task_mm(w);
	cr_assert_not_null(tm->waiting_on);
	cr_assert_eq(tm->waiting_on->cls->id, LC_FOLIO_LOCK);
	cr_assert(lock_is_held_by(w, tm->waiting_on, 0),
		  "the folio W waits for is locked by W itself");
	/* It was the fault on the source that waited: inside filemap_fault,
	 * with the i_rwsem of the write held. */
	cr_assert_not_null(tm->fault);
	cr_assert(lock_is_held_by(w, &mt_file(0)->f_inode->i_rwsem.c, LOCK_WRITE));
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(write, generic_perform_write_over_the_same_mmap_completes)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = write_scenario("generic_perform_write");

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 42), RUN_OK);
	for (pgoff_t i = 1; i <= 4; i++) {
		struct folio *f = mt_cached(0, i);
		cr_assert(f && folio_test(f, PG_uptodate) && folio_test(f, PG_dirty),
			  "page %llu written", (unsigned long long)i);
		cr_assert_not(folio_test(f, PG_locked));
	}
	/* The source pages were faulted in, from kernel mode. */
	cr_assert_geq(mt_rec_n, 1);
	cr_assert_not(mt_rec[0].vma_locked);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

Test(write, fuse_multi_lock_from_another_buffer_completes)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = mt_load(
		"{ \"name\": \"fuse_anon\", \"kernel\": { \"write_path\": \"fuse_multi_lock\" },"
		"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"fuse\": true } ],"
		"  \"vmas\": [ { \"name\": \"buf\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\" } ],"
		"  \"tasks\": [ { \"name\": \"W\", \"ops\": ["
		"      { \"write\": { \"file\": \"f\", \"offset_pages\": 0, \"pages\": 8, \"source_vma\": \"buf\", \"source_page\": 0 } } ] } ] }",
		NULL);

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	for (pgoff_t i = 0; i < 8; i++)
		cr_assert(folio_test(mt_cached(0, i), PG_uptodate));
	cr_assert_eq(mt_file(0)->f_inode->i_size, 16 * PAGE_SIZE_BYTES);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
