/*
 * test_readahead.c: mm/readahead.c's read-around on a file that lives on
 * a block device (files[].device) and on one with a fixed read_latency.
 * Checks that a window of new folios goes to the device as one request,
 * as read_pages submits one bio, so a fault on a one-actuator disk waits
 * one service time rather than one per page; that the contents read are
 * the disk's; and that a cached folio in the middle splits the window
 * into two requests.
 */
#include "tests/mm/mm_test.h"

static const char *const ra_json =
	"{ \"name\": \"ra_device\", \"machine\": { \"cpus\": 1 },"
	"  \"devices\": { \"hdd\": { \"kind\": \"disk\", \"latency\": { \"model\": \"fixed\", \"ns\": \"6ms\" } } },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"64 pages\", \"cached\": [%s] %s } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 64, \"kind\": \"file_private\", \"file\": \"f\" } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 0 } } ] } ] }";

static struct scenario *ra_scenario(const char *cached, const char *where)
{
	static char json[4096];
	snprintf(json, sizeof(json), ra_json, cached, where);
	return mt_load(json, NULL);
}

Test(readahead, a_window_is_one_request_to_the_disk)
{
	const char *const where[] = { ", \"device\": \"hdd\"",
				      ", \"read_latency\": \"6ms\"" };

	for (int w = 0; w < 2; w++) {
		struct engine *e = test_engine(1);
		struct scenario *sc = ra_scenario("", where[w]);
		cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
		/* The window [0, 32) around page 0, clamped at the start. */
		cr_assert_eq(vm_events(IO_SUBMITTED), 1, "%s", where[w]);
		const struct fault_record *r = mt_record_of("F", 0);
		cr_assert_eq(r->kind, FAULT_KIND_FILE_MAJOR);
		uint64_t took = r->end_ns - r->start_ns;
		cr_assert(took >= 6000000 && took < 7000000,
			  "%s: one service time, not 32: %llu ns", where[w],
			  (unsigned long long)took);
		for (pgoff_t i = 0; i < 64; i++) {
			struct folio *f = mt_cached(0, i);
			cr_assert_eq(f != NULL, i < 32);
			if (f)
				cr_assert(folio_test(f, PG_uptodate) &&
					  f->data == inode_disk_load(mt_file(0)->f_inode, i));
		}
		cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
		engine_end(e);
		scenario_free(sc);
		test_engine_done(e);
	}
}

Test(readahead, a_cached_folio_splits_the_window)
{
	struct engine *e = test_engine(1);
	struct scenario *sc = ra_scenario("10", ", \"device\": \"hdd\"");

	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	/* [0, 10) and [11, 32): two requests, served one after the other by
	 * the one actuator; page 0's is the first. */
	cr_assert_eq(vm_events(IO_SUBMITTED), 2);
	cr_assert_eq(vm_events(IO_COMPLETED), 2);
	cr_assert_geq(e->virtual_ns, 12000000);
	const struct fault_record *r = mt_record_of("F", 0);
	cr_assert_lt(r->end_ns - r->start_ns, 7000000);
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}
