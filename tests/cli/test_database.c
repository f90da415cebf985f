/*
 * test_database.c: the command line and the result database when another
 * process holds SQLite's write lock: simrun exits with status 2 and a
 * message that names the file and says what to do, and nothing already
 * recorded is lost, whether the lock is there when the campaign starts or
 * is taken while it runs.  The lock is taken here, through a second
 * SQLite connection, as a user's open transaction in `sqlite3` would.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "tests/support.h"

#define BUDGET SIMRUN_SOURCE_DIR "/tests/cli/fixtures/budget.json"

/* dir: a fresh temporary directory per test; db: simrun.db in it. */
TEST_DB_FIXTURE(setup, teardown)

TestSuite(database, .init = setup, .fini = teardown);

static sqlite3 *lock_db(void)
{
	sqlite3 *h = NULL;
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 20000);
	cr_assert_eq(sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK,
		     "%s", sqlite3_errmsg(h));
	return h;
}

static void unlock_db(sqlite3 *h)
{
	cr_assert_eq(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

Test(database, locked_at_the_start_is_exit_2_and_loses_nothing)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "cd %s && %s %s --schedules 5", dir,
			  test_simrun_path(), BUDGET);
	cr_assert_eq(rc, 1, "%s", err);
	free(out);
	free(err);

	sqlite3 *h = lock_db();
	rc = test_shf(&out, &err, "cd %s && %s %s --schedules 5", dir,
		      test_simrun_path(), BUDGET);
	unlock_db(h);
	cr_expect_eq(rc, 2, "%s %s", out, err);
	cr_expect(strstr(err, "simrun: simrun.db: database is locked by another process (waited 2000 ms"),
		  "%s", err);
	cr_expect(strstr(err, "try again when it has finished, or use another file"), "%s", err);
	/* Refused when it opened the file: nothing ran. */
	cr_expect_str_eq(out, "seed 42\n");

	/* The first campaign is whole, and still replays. */
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM campaign"), 1);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run"), 5);
	cr_expect_eq(test_shf(NULL, NULL, "cd %s && %s replay --run 3", dir, test_simrun_path()), 0);
	char *ok = test_sql_text(db, "PRAGMA integrity_check");
	cr_expect_str_eq(ok, "ok");
	free(ok);
	free(out);
	free(err);

	/* replay opens the file as a campaign does (it checks the schema
	 * under the lock), so it is refused the same way. */
	h = lock_db();
	rc = test_shf(&out, &err, "cd %s && %s replay --run 2", dir, test_simrun_path());
	unlock_db(h);
	cr_expect_eq(rc, 2, "%s %s", out, err);
	cr_expect(strstr(err, "simrun replay: simrun.db: database is locked by another process"), "%s", err);
	free(out);
	free(err);
}

/* Runs committed so far, or -1 while the file or its schema is not there
 * yet. */
static int64_t committed_runs(void)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (access(db, F_OK) == 0 &&
	    sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, "SELECT count(*) FROM run", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

Test(database, locked_mid_campaign_is_exit_2_and_keeps_every_committed_run)
{
	char path[160];

	/* A campaign far too long to finish, in the background. */
	int rc = test_shf(NULL, NULL,
			  "cd %s && { %s %s --schedules 100000000 >out.txt 2>err.txt; echo $? >rc.txt; } &",
			  dir, test_simrun_path(), BUDGET);
	cr_assert_eq(rc, 0);
	int tries = 0;
	while (committed_runs() <= 0) {
		cr_assert_lt(tries++, 600, "the campaign never committed a batch");
		usleep(50000);
	}

	/* Take the lock (after simrun's batch in progress), count what is
	 * committed, and hold it past simrun's 2 s wait. */
	sqlite3 *h = lock_db();
	sqlite3_stmt *st;
	cr_assert_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM run", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	int64_t committed = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sleep(3);
	unlock_db(h);

	snprintf(path, sizeof(path), "%s/rc.txt", dir);
	for (tries = 0; access(path, F_OK) != 0; tries++) {
		cr_assert_lt(tries, 1200, "simrun did not stop");
		usleep(50000);
	}
	usleep(100000);
	char *code = test_read_file(path);
	cr_expect_str_eq(code, "2\n");
	snprintf(path, sizeof(path), "%s/err.txt", dir);
	char *err = test_read_file(path);
	cr_expect(strstr(err, "simrun: simrun.db: database is locked by another process"), "%s", err);
	cr_expect(strstr(err, "Sanitizer") == NULL && strstr(err, "runtime error:") == NULL, "%s", err);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	char *out = test_read_file(path);
	cr_expect(strstr(out, "of 100000000 schedules run"), "%s", out);

	/* Nothing committed before the lock is lost, and what is there is
	 * schedules 0..n-1 without a gap. */
	cr_expect_geq(test_sql_int(db, "SELECT count(*) FROM run"), committed);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run"),
		     test_sql_int(db, "SELECT max(idx) + 1 FROM run"));
	char *status = test_sql_text(db, "SELECT status FROM campaign");
	cr_expect(strcmp(status, "failed") == 0 || strcmp(status, "interrupted") == 0,
		  "status %s", status);
	free(status);
	free(code);
	free(err);
	free(out);
}
