/*
 * test_cmd_shrink.c: `simrun shrink`, through the built binary.  A deadlock
 * that a random campaign of the fair-rwsem scenario finds (seed 1, first at
 * schedule 219) shrinks to a run with strictly fewer decisions and
 * preemptions, recorded as a new campaign of strategy "shrink" that names
 * its source, with the same deadlock signature, and `simrun replay` of the
 * new run is identical; shrinking it again finds nothing smaller; the
 * replay budget is kept.  A lock_order finding, a kind the run does not
 * have, a missing run and a bad budget are refused with exit status 2.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define SCENARIO SIMRUN_SOURCE_DIR "/scenarios/rwsem-fair-deadlock.json"

static char dir[64], db[128];

static void setup(void)
{
	char *out, *err;

	test_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/simrun.db", dir);
	int rc = test_shf(&out, &err,
			  "%s " SCENARIO " --variant fair --strategy random --seed 1 "
			  "--schedules 300 --stop-on-first --db %s",
			  test_simrun_path(), db);
	cr_assert_eq(rc, 1, "%s %s", out, err);
	free(out);
	free(err);
}

static void teardown(void)
{
	test_rmtree(dir);
}

TestSuite(shrink, .init = setup, .fini = teardown);

static int64_t source_run(void)
{
	int64_t id = test_sql_int(db, "SELECT run_id FROM finding WHERE kind = 'deadlock' "
				      "ORDER BY run_id LIMIT 1");
	cr_assert_gt(id, 0, "the campaign found no deadlock");
	return id;
}

Test(shrink, a_deadlock_shrinks_and_keeps_its_signature)
{
	char *out, *err, sql[256];
	int64_t src = source_run();
	uint64_t d0, p0, s0, d1, p1, s1;
	int64_t r0, r1;

	int rc = test_shf(&out, &err, "%s shrink --db %s --run %" PRId64, test_simrun_path(), db,
			  src);
	cr_assert_eq(rc, 0, "%s %s", out, err);
	const char *line = strstr(out, "\nrun ");
	cr_assert_not_null(line, "%s", out);
	int n = sscanf(line + 1,
		       "run %" SCNd64 ": %" SCNu64 " decisions, %" SCNu64 " preemptions, %" SCNu64
		       " steps -> run %" SCNd64 ": %" SCNu64 " decisions, %" SCNu64
		       " preemption%*[s], %" SCNu64 " steps",
		       &r0, &d0, &p0, &s0, &r1, &d1, &p1, &s1);
	if (n < 8) /* "1 preemption" has no s to skip */
		n = sscanf(line + 1,
			   "run %" SCNd64 ": %" SCNu64 " decisions, %" SCNu64 " preemptions, %" SCNu64
			   " steps -> run %" SCNd64 ": %" SCNu64 " decisions, %" SCNu64
			   " preemption, %" SCNu64 " steps",
			   &r0, &d0, &p0, &s0, &r1, &d1, &p1, &s1);
	cr_assert_eq(n, 8, "%s", out);
	cr_expect_eq(r0, src);
	cr_expect_lt(d1, d0, "%s", out);
	cr_expect_lt(p1, p0, "%s", out);
	cr_expect_leq(s1, s0, "%s", out);

	/* What the database says of both runs. */
	snprintf(sql, sizeof(sql), "SELECT steps FROM run WHERE id = %" PRId64, r0);
	cr_expect_eq(test_sql_int(db, sql), (int64_t)s0);
	snprintf(sql, sizeof(sql), "SELECT steps FROM run WHERE id = %" PRId64, r1);
	cr_expect_eq(test_sql_int(db, sql), (int64_t)s1);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM finding a JOIN finding b ON a.kind = b.kind AND "
		 "a.signature = b.signature WHERE a.kind = 'deadlock' AND a.run_id = %" PRId64
		 " AND b.run_id = %" PRId64,
		 r0, r1);
	cr_expect_eq(test_sql_int(db, sql), 1, "the signature changed");
	snprintf(sql, sizeof(sql),
		 "SELECT c.strategy || ' ' || json_extract(c.params_json, '$.source_run') "
		 "FROM run r JOIN campaign c ON c.id = r.campaign_id WHERE r.id = %" PRId64,
		 r1);
	char *camp = test_sql_text(db, sql);
	char want[64];
	snprintf(want, sizeof(want), "shrink %" PRId64, src);
	cr_expect_str_eq(camp, want);
	free(camp);
	free(out);
	free(err);

	/* The new run replays to itself. */
	rc = test_shf(&out, &err, "%s replay --db %s --run %" PRId64, test_simrun_path(), db, r1);
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "identical: ") != NULL, "%s", out);
	free(out);
	free(err);

	/* Shrinking the shrunk run finds nothing smaller, and says so with
	 * the same sizes. */
	rc = test_shf(&out, &err, "%s shrink --db %s --run %" PRId64, test_simrun_path(), db, r1);
	cr_expect_eq(rc, 0, "%s %s", out, err);
	char again[160];
	snprintf(again, sizeof(again), "run %" PRId64 ": %" PRIu64 " decisions", r1, d1);
	cr_expect(strstr(out, again) != NULL, "%s", out);
	free(out);
	free(err);
}

Test(shrink, the_replay_budget_is_kept)
{
	char *out, *err;
	int64_t src = source_run();

	int rc = test_shf(&out, &err, "%s shrink --db %s --run %" PRId64 " --max-replays 3",
			  test_simrun_path(), db, src);
	cr_assert_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "\n3 replays, ") != NULL, "%s", out);
	cr_expect(strstr(out, "budget ran out") != NULL, "%s", out);
	free(out);
	free(err);
}

Test(shrink, what_cannot_be_shrunk_is_refused)
{
	char *out, *err;
	int64_t src = source_run();

	int rc = test_shf(&out, &err, "%s shrink --db %s --run %" PRId64 " --kind lock_order",
			  test_simrun_path(), db, src);
	cr_expect_eq(rc, 2, "%s %s", out, err);
	cr_expect(strstr(err, "lock_order findings belong to the campaign") != NULL, "%s", err);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "%s shrink --db %s --run %" PRId64 " --kind leak",
		      test_simrun_path(), db, src);
	cr_expect_eq(rc, 2, "%s %s", out, err);
	cr_expect(strstr(err, "has no leak finding") != NULL, "%s", err);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "%s shrink --db %s --run 999999", test_simrun_path(), db);
	cr_expect_eq(rc, 2, "%s %s", out, err);
	cr_expect(strstr(err, "no run 999999") != NULL, "%s", err);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "%s shrink --db %s --run %" PRId64 " --max-replays 0",
		      test_simrun_path(), db, src);
	cr_expect_eq(rc, 2, "%s %s", out, err);
	cr_expect(strstr(err, "--max-replays 0") != NULL, "%s", err);
	free(out);
	free(err);
}
