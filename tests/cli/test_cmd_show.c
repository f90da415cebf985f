/*
 * test_cmd_show.c: `simrun show`, through the built binary, on the rwsem
 * fairness deadlock (scenarios/rwsem-fair-deadlock.json, variant fair,
 * its own explore settings: pct, 300 schedules from seed 42, which find
 * both a lock_order cycle and the deadlock).  The deadlock prints in
 * lockdep's shape: the warning, each task with the lock it wants and the
 * locks it holds, the dependency chain, the unsafe-scenario table with a
 * column per CPU and the rows in the order they happened, then the replay
 * command.  The trace marks exactly the steps that make each finding.
 * Asking for what is not there is exit status 2 with a message.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define SCENARIO SIMRUN_SOURCE_DIR "/scenarios/rwsem-fair-deadlock.json"

static char dir[64], db[128];

static void setup(void)
{
	char *err;

	test_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/r.db", dir);
	int rc = test_shf(NULL, &err, "%s %s --variant fair --db %s", test_simrun_path(),
			  SCENARIO, db);
	cr_assert_eq(rc, 1, "the fair variant has findings: %s", err);
	free(err);
}

static void teardown(void)
{
	test_rmtree(dir);
}

TestSuite(show, .init = setup, .fini = teardown);

/* Each of want[] found in text, in order; returns where the last ends. */
static const char *in_order(const char *text, const char *const *want)
{
	const char *at = text;

	for (; *want; want++) {
		const char *p = strstr(at, *want);
		cr_assert(p != NULL, "missing, or out of order: \"%s\" in\n%s", *want, text);
		at = p + strlen(*want);
	}
	return at;
}

static int64_t finding_id(const char *kind)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT min(id) FROM finding WHERE kind = '%s'", kind);
	int64_t id = test_sql_int(db, sql);
	cr_assert(id > 0, "the campaign found a %s", kind);
	return id;
}

static uint32_t count(const char *text, const char *what)
{
	uint32_t n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

Test(show, deadlock_in_lockdeps_shape)
{
	char *out, *err;
	int64_t id = finding_id("deadlock");
	char sql[128], replay[256];

	snprintf(sql, sizeof(sql), "SELECT run_id FROM finding WHERE id = %lld", (long long)id);
	int64_t run = test_sql_int(db, sql);
	int rc = test_shf(&out, &err, "%s show --db %s --finding %lld", test_simrun_path(),
			  db, (long long)id);
	cr_assert_eq(rc, 0, "%s", err);
	snprintf(replay, sizeof(replay), "replay: simrun replay --db %s --run %lld\n", db,
		 (long long)run);
	/* The cycle as the checker found it: reader waits for writer's folio
	 * lock, writer's mmap_read_lock waits behind the queued writer
	 * unmapper, whose mmap_write_lock waits for reader's read hold. */
	const char *const shape[] = {
		"======================================================\n"
		"WARNING: circular locking deadlock: 3 tasks blocked in a cycle\n"
		"------------------------------------------------------\n",
		"reader/1 (CPU1) is trying to acquire lock:\n"
		" (folio_lock)#12 {write}, at: lock_folio_maybe_drop_mmap [folio_lock]\n"
		"held by writer/0\n",
		"but task is already holding:\n1 lock held by reader/1:\n"
		" #0: (mmap_lock)#3 {read, trylock}, at: lock_mm_and_find_vma\n",
		"writer/0 (CPU0) is trying to acquire lock:\n"
		" (mmap_lock)#3 {read}, at: lock_mm_and_find_vma [mmap_read_lock]\n"
		"behind unmapper/2, a writer queued ahead of it",
		"4 locks held by writer/0:\n #0: (i_rwsem)#7 {write}, at: fuse_perform_write\n"
		" #1: (folio_lock)#12 {write}, at: fuse_fill_write_pages\n",
		"unmapper/2 (CPU2) is trying to acquire lock:\n"
		" (mmap_lock)#3 {write}, at: do_munmap [mmap_write_lock]\nheld by reader/1\n",
		"0 locks held by unmapper/2:\n",
		"the existing dependency chain (in reverse order) is:\n",
		"-> #2 (mmap_lock)#3:\n       mmap_write_lock in do_munmap by unmapper/2, held by reader/1\n",
		"-> #1 (mmap_lock)#3:\n",
		"-> #0 (folio_lock)#12:\n"
		"       folio_lock in lock_folio_maybe_drop_mmap by reader/1, held by writer/0\n",
		"other info that might help us debug this:\n",
		"Chain exists of:\n  folio_lock --> mmap_lock --> mmap_lock --> folio_lock\n",
		" Possible unsafe locking scenario:\n",
		/* Rows in virtual-time order, each in its task's column:
		 * the first at 2, the others under their heading (7, 31,
		 * 55), as lockdep lays out its two columns. */
		"\n       CPU1                    CPU0                    CPU2\n"
		"       ----                    ----                    ----\n"
		"                                                       lock(mmap_lock);\n"
		"  rlock(mmap_lock);\n"
		"                               lock(folio_lock);\n"
		"  lock(folio_lock);\n"
		"                               rlock(mmap_lock);\n",
		"\n *** DEADLOCK ***\n",
		replay,
		NULL,
	};
	in_order(out, shape);
	free(out);
	free(err);
}

Test(show, marks_the_deadlocks_last_blocking_steps)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "%s show --db %s --finding %lld", test_simrun_path(),
			  db, (long long)finding_id("deadlock"));

	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "# 3 steps marked >> make the finding\n"), "%s", out);
	/* One marked line per task of the cycle: the wait it never left. */
	cr_assert_eq(count(out, "\n>>"), 3, "%s", out);
	const char *const reader[] = { "\n>>         reader/1  [001]", "folio_lock(#12) waits (write) in lock_folio_maybe_drop_mmap\n", NULL };
	const char *const writer[] = { "\n>>         writer/0  [000]", "mmap_lock(#3) waits (read) in lock_mm_and_find_vma\n", NULL };
	const char *const unmapper[] = { "\n>>       unmapper/2  [002]", "mmap_lock(#3) waits (write) in do_munmap\n", NULL };
	in_order(out, reader);
	in_order(out, writer);
	in_order(out, unmapper);
	/* Per CPU, then the events. */
	const char *const sections[] = { "\n# cpu 0\n", "\n# cpu 1\n", "\n# cpu 2\n", NULL };
	in_order(out, sections);
	free(out);
	free(err);
}

Test(show, marks_the_two_acquisitions_of_a_lock_order_cycle)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "%s show --db %s --finding %lld", test_simrun_path(),
			  db, (long long)finding_id("lock_order"));

	cr_assert_eq(rc, 0, "%s", err);
	const char *const shape[] = {
		"WARNING: possible circular locking dependency detected\n",
		"the existing dependency chain (in reverse order) is:\n",
		" Possible unsafe locking scenario:\n",
		" *** DEADLOCK ***\n",
		"replay: simrun replay --db ",
		"# 2 steps marked >> make the finding\n",
		/* The folio lock writer holds, then the mmap_lock it wants. */
		"\n>>         writer/0  [000]", "folio_lock(#12) acquired (write) in fuse_fill_write_pages\n",
		"\n>>         writer/0  [000]", "mmap_lock(#3) waits (read) in lock_mm_and_find_vma\n",
		NULL,
	};
	in_order(out, shape);
	cr_assert_eq(count(out, "\n>>"), 2, "%s", out);
	free(out);
	free(err);
}

Test(show, a_run_shows_all_its_findings)
{
	char *out, *err;
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT run_id FROM finding WHERE id = %lld",
		 (long long)finding_id("deadlock"));
	int64_t run = test_sql_int(db, sql);
	int rc = test_shf(&out, &err, "%s show --db %s --run %lld", test_simrun_path(), db,
			  (long long)run);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "WARNING: circular locking deadlock"), "%s", out);
	cr_assert(strstr(out, "outcome deadlock"), "%s", out);
	free(out);
	free(err);
}

Test(show, what_is_not_there_is_exit_2)
{
	char *err;
	int rc;

	rc = test_shf(NULL, &err, "%s show --db %s/none.db --run 1", test_simrun_path(), dir);
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "none.db: no such database"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s show --db %s --run 999999", test_simrun_path(), db);
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "no run 999999"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s show --db %s --finding 999999", test_simrun_path(), db);
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "no finding 999999"), "%s", err);
	free(err);
	/* Schedule 0 ran clean: its decision log was not kept. */
	int64_t clean = test_sql_int(db, "SELECT min(id) FROM run WHERE decisions IS NULL");
	cr_assert(clean > 0);
	rc = test_shf(NULL, &err, "%s show --db %s --run %lld", test_simrun_path(), db,
		      (long long)clean);
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "has no decision log"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s show --db %s --run 1 --finding 1", test_simrun_path(), db);
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "give one of --finding ID or --run ID"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s show --db %s --run x", test_simrun_path(), db);
	cr_assert_eq(rc, 2);
	free(err);
}
