/*
 * test_cmd_run_verify.c: `simrun SCENARIO --verify`, through the built
 * binary.  Every run with a finding is executed twice: the count printed
 * (and in --json, "verified") is the number of problem runs the database
 * holds, the exit status stays that of the findings, and without --verify
 * nothing is said of it.  The mismatch path needs nondeterminism, which
 * only a test can inject: tests/analysis/test_runner.c covers it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define SCENARIO SIMRUN_SOURCE_DIR "/scenarios/rwsem-fair-deadlock.json"

/* dir: a fresh temporary directory per test; db: simrun.db in it. */
TEST_DB_FIXTURE(setup, teardown)

TestSuite(verify, .init = setup, .fini = teardown);

Test(verify, every_problem_run_is_executed_twice)
{
	char *out, *err, want[128];

	int rc = test_shf(&out, &err, "%s " SCENARIO " --variant fair --seed 1 --schedules 100 --verify --db %s",
			  test_simrun_path(), db);
	cr_assert_eq(rc, 1, "%s %s", out, err);
	int64_t problems = test_sql_int(db, "SELECT count(*) FROM run WHERE outcome <> 'ok' OR "
					    "EXISTS (SELECT 1 FROM finding f WHERE f.run_id = run.id)");
	cr_assert_gt(problems, 0, "the campaign found nothing to verify");
	snprintf(want, sizeof(want), "verify: %" PRId64 " runs with a finding executed twice, the same trace hash each time\n",
		 problems);
	cr_expect(strstr(out, want) != NULL, "%s", out);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "%s " SCENARIO " --variant fair --seed 1 --schedules 100 --verify --no-db --json",
		      test_simrun_path());
	cr_assert_eq(rc, 1, "%s %s", out, err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	cr_expect_eq(test_json_num(j, "verified"), (double)problems);
	cJSON_Delete(j);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "%s " SCENARIO " --variant fair --seed 1 --schedules 100 --no-db",
		      test_simrun_path());
	cr_assert_eq(rc, 1, "%s %s", out, err);
	cr_expect(strstr(out, "verify:") == NULL, "%s", out);
	free(out);
	free(err);
}
