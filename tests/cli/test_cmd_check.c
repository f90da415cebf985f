/*
 * test_cmd_check.c: `simrun check`, through the built binary, on the
 * scenarios in tests/cli/fixtures/check/: one line per case (PASS, FAIL,
 * SKIP, ERROR) with the kinds expected and found, a directory expanded to
 * its *.json files except *.schema.json, exit status 0 / 1 / 2, the JSON
 * form, and the Markdown table of --table with its medians.  Also that
 * every shipped scenario under scenarios/ meets its expectations.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define FIXTURES SIMRUN_SOURCE_DIR "/tests/cli/fixtures"

static int sh(char **out, char **err, const char *args)
{
	return test_shf(out, err, "cd %s && %s %s", FIXTURES, test_simrun_path(), args);
}

Test(check, passing_scenario_is_exit_0)
{
	char *out, *err;
	int rc = sh(&out, &err, "check check/a-pass.json");

	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect_str_eq(out,
			 "seed 42\n"
			 "PASS  check/a-pass.json (base): expected [], found [] (5 schedules, random)\n"
			 "PASS  check/a-pass.json variant also-clean: expected [], found [] (5 schedules, random)\n"
			 "SKIP  check/a-pass.json variant unchecked: no \"expect\" list\n"
			 "check: 2 passed, 0 failed, 1 skipped, 0 not loadable\n");
	cr_expect_str_eq(err, "");
	free(out);
	free(err);
}

Test(check, a_mismatch_is_exit_1_either_way)
{
	char *out, *err;
	int rc = sh(&out, &err, "check check/b-fail.json --seed 3");

	cr_expect_eq(rc, 1, "%s %s", out, err);
	cr_expect(strncmp(out, "seed 3\n", 7) == 0, "%s", out);
	/* Found what was not expected, with the first schedule that found
	 * it... */
	cr_expect(strstr(out, "FAIL  check/b-fail.json variant tight: expected [], found [livelock@0] (5 schedules, random)\n"),
		  "%s", out);
	/* ...and did not find what was. */
	cr_expect(strstr(out, "FAIL  check/b-fail.json variant clean-but-expects: expected [deadlock], found [] (5 schedules, random)\n"),
		  "%s", out);
	/* A base without "expect" but with variants is not a case. */
	cr_expect(strstr(out, "(base)") == NULL, "%s", out);
	free(out);
	free(err);
}

Test(check, a_directory_is_its_scenarios_and_a_broken_one_is_exit_2)
{
	char *out, *err;
	int rc = sh(&out, &err, "check check/");

	cr_expect_eq(rc, 2, "%s", out);
	/* In name order; the schema and other files are not scenarios. */
	char *a = strstr(out, "check/a-pass.json (base)");
	char *b = strstr(out, "check/b-fail.json variant tight");
	char *c = strstr(out, "ERROR check/c-broken.json:1:31: not valid JSON\n");
	cr_expect(a && b && c && a < b && b < c, "%s", out);
	cr_expect(strstr(out, "schema") == NULL, "%s", out);
	cr_expect(strstr(out, "notes") == NULL, "%s", out);
	cr_expect(strstr(out, "check: 2 passed, 2 failed, 1 skipped, 1 not loadable\n"), "%s", out);
	cr_expect(strstr(err, "c-broken.json:1:31: not valid JSON"), "%s", err);
	free(out);
	free(err);

	rc = sh(&out, &err, "check malformed/EXPECTED-does-not-exist");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "cannot open: No such file or directory"), "%s", err);
	free(out);
	free(err);
}

Test(check, json_and_a_database_when_asked)
{
	char dir[64], *out, *err;

	test_tmpdir(dir, sizeof(dir));
	int rc = test_shf(&out, &err, "cd %s && %s check --json --db check.db %s/check/b-fail.json",
			  dir, test_simrun_path(), FIXTURES);
	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "seed 42\n");
	cJSON *j = cJSON_Parse(out);
	cr_assert(j, "%s", out);
	cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "results"), 0);
	cr_expect_str_eq(cJSON_GetObjectItem(r, "variant")->valuestring, "tight");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(r, "pass")));
	cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "found"), 0);
	cr_expect_eq(cJSON_GetObjectItem(f, "first_schedule")->valuedouble, 0);
	cr_expect_eq(cJSON_GetObjectItem(j, "failed")->valuedouble, 2);
	cJSON_Delete(j);
	char db[128];
	snprintf(db, sizeof(db), "%s/check.db", dir);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM campaign"), 2);
	free(out);
	free(err);

	/* Without --db, check leaves nothing behind. */
	rc = test_shf(&out, &err, "cd %s && %s check %s/check/a-pass.json && ls", dir,
		      test_simrun_path(), FIXTURES);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(out, "simrun.db") == NULL, "%s", out);
	free(out);
	free(err);
	test_rmtree(dir);
}

Test(check, table_gives_medians_of_twenty_seeds)
{
	char *out, *err;
	int rc = sh(&out, &err, "check --table check/b-fail.json check/a-pass.json");

	cr_expect_eq(rc, 1, "%s", err);
	char *t = strstr(out, "\n<!-- simrun check --table: expectations checked with base seed 42; medians over base seeds 1..20 -->\n"
			      "| scenario | variant | findings | expect | pct: schedules to first finding | random: schedules to first finding | budget | headline (timed) |\n"
			      "|---|---|---|---|---:|---:|---:|---:|\n");
	cr_assert(t, "%s", out);
	/* Every run of `tight` runs out of time: the first schedule of every
	 * seed finds it.  Nothing finds anything in the clean ones.  These
	 * tasks only sleep: no fault, no fault latency. */
	cr_expect(strstr(t, "| fail | tight | livelock | FAIL | 1 | 1 | 5 | - |\n"), "%s", t);
	cr_expect(strstr(t, "| fail | clean-but-expects | none | FAIL | >5 | >5 | 5 | - |\n"), "%s", t);
	cr_expect(strstr(t, "| pass | (base) | none | PASS | >5 | >5 | 5 | - |\n"), "%s", t);
	/* A variant may name its headline: a counter shows its mean per
	 * run. */
	cr_expect(strstr(t, "| pass | also-clean | none | PASS | >5 | >5 | 5 | pgfault 0.0/run |\n"), "%s", t);
	free(out);
	free(err);
}

Test(check, shipped_scenarios_meet_their_expectations)
{
	char *out, *err;
	/* The campaigns go to a database of the test's own, not to the
	 * source tree's working directory. */
	int rc = test_shf(&out, &err, "cd %s && %s check --db \"$(mktemp -d)/check.db\" scenarios/",
			  SIMRUN_SOURCE_DIR, test_simrun_path());

	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "FAIL") == NULL && strstr(out, "ERROR") == NULL, "%s", out);
	free(out);
	free(err);
}
