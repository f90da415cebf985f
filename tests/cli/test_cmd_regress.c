/*
 * test_cmd_regress.c: `simrun regress`, through the built binary: recorded
 * findings replayed against the recorded scenario (same), against the
 * variant that fixes them (fixed, and --expect-fixed), against a changed
 * scenario file (diverged when the schedule no longer applies), and a run
 * whose recorded trace no longer matches (changed); the exit status of
 * each; and the input errors.  The scenario is tests/cli/fixtures/
 * budget.json, whose base runs out of virtual time and whose variant
 * `roomy` does not.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define BUDGET SIMRUN_SOURCE_DIR "/tests/cli/fixtures/budget.json"

static char dir[64];

static void setup(void)
{
	test_tmpdir(dir, sizeof(dir));
}

static void teardown(void)
{
	test_rmtree(dir);
}

TestSuite(regress, .init = setup, .fini = teardown);

static int sh(char **out, char **err, const char *args)
{
	return test_shf(out, err, "cd %s && %s %s", dir, test_simrun_path(), args);
}

static void record(const char *args)
{
	int rc = sh(NULL, NULL, args);
	cr_assert(rc == 0 || rc == 1, "%s: exit %d", args, rc);
}

Test(regress, recorded_findings_reproduce_as_same)
{
	char *out, *err;

	record(BUDGET " --schedules 6");
	record(BUDGET " --variant roomy --schedules 6");	/* clean: not replayed */
	int rc = sh(&out, &err, "regress");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "regress: 6 recorded runs with findings in simrun.db, replayed against the recorded scenarios\n"),
		  "%s", out);
	cr_expect(strstr(out, "\nsame     "), "%s", out);
	cr_expect(strstr(out, ": 6 same (first: run 1)\n"), "%s", out);
	cr_expect(strstr(out, "runs: 6 same, 0 fixed, 0 changed, 0 diverged\n"), "%s", out);
	cr_expect(strstr(out, "every finding reproduces\n"), "%s", out);
	free(out);
	free(err);

	/* --expect-fixed when nothing is fixed: exit 1. */
	rc = sh(&out, &err, "regress --expect-fixed");
	cr_expect_eq(rc, 1);
	cr_expect(strstr(out, "not every finding is fixed\n"), "%s", out);
	free(out);
	free(err);
}

Test(regress, the_fixing_variant_reports_fixed)
{
	char *out, *err;

	record(BUDGET " --strategy pct --schedules 5");
	int rc = sh(&out, &err, "regress --variant roomy --expect-fixed");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "replayed against the recorded scenarios, variant roomy\n"), "%s", out);
	cr_expect(strstr(out, "\nfixed    "), "%s", out);
	cr_expect(strstr(out, "runs: 0 same, 5 fixed, 0 changed, 0 diverged\n"), "%s", out);
	cr_expect(strstr(out, "every finding is fixed\n"), "%s", out);
	free(out);
	free(err);

	/* Without --expect-fixed a fix is a change from what was recorded:
	 * exit 1, and each run is named. */
	rc = sh(&out, &err, "regress --variant roomy");
	cr_expect_eq(rc, 1);
	cr_expect(strstr(out, "  run 1 (campaign 1, schedule 0): fixed\n"), "%s", out);
	free(out);
	free(err);

	/* The same as JSON. */
	rc = sh(&out, &err, "regress --variant roomy --expect-fixed --json");
	cr_expect_eq(rc, 0);
	cJSON *j = cJSON_Parse(out);
	cr_assert(j, "%s", out);
	cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "runs"), "fixed")->valuedouble, 5);
	cJSON *sig = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "signatures"), 0);
	cr_expect_str_eq(cJSON_GetObjectItem(sig, "verdict")->valuestring, "fixed");
	cr_expect_eq(cJSON_GetObjectItem(j, "runs_replayed")->valuedouble, 5);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "runs_listed")), 0,
		     "every run has the verdict wanted");
	cr_expect_str_eq(cJSON_GetObjectItem(j, "variant")->valuestring, "roomy");
	cJSON_Delete(j);
	free(out);
	free(err);
}

Test(regress, a_scenario_without_a_task_no_longer_applies)
{
	char *out, *err;

	record(BUDGET " --schedules 4");
	/* Task c removed: the recorded decisions name a task that is not
	 * there. */
	char *text = test_read_file(BUDGET);
	char *c = strstr(text, ",\n    {\n      \"name\": \"c\"");
	cr_assert(c, "budget.json changed shape");
	char *end = strstr(c, "\n    }");
	cr_assert(end);
	memmove(c, end + 6, strlen(end + 6) + 1);
	test_write_file(dir, "two-tasks.json", text);
	free(text);
	int rc = sh(&out, &err, "validate two-tasks.json");
	cr_assert_eq(rc, 0, "%s", err);
	free(out);
	free(err);

	rc = sh(&out, &err, "regress --scenario two-tasks.json");
	cr_expect_eq(rc, 1, "%s %s", out, err);
	cr_expect(strstr(out, "replayed against two-tasks.json\n"), "%s", out);
	cr_expect(strstr(out, "\ndiverged "), "%s", out);
	cr_expect(strstr(out, ": diverged at decision "), "%s", out);
	cr_expect(strstr(out, "runs: 0 same, 0 fixed, 0 changed, 4 diverged\n"), "%s", out);
	free(out);
	free(err);

	/* The unchanged text given as FILE is the recorded scenario. */
	rc = sh(&out, &err, "regress --scenario " BUDGET);
	cr_expect_eq(rc, 0, "%s", out);
	free(out);
	free(err);
}

Test(regress, same_findings_by_another_trace_is_changed)
{
	char *out, *err, db[128];

	record(BUDGET " --schedules 3");
	snprintf(db, sizeof(db), "%s/simrun.db", dir);
	/* As if the model had changed since the run was recorded. */
	int rc = test_shf(NULL, NULL, "sqlite3 %s \"UPDATE run SET trace_hash = '0123456789abcdef' WHERE idx = 1\"", db);
	cr_assert_eq(rc, 0);
	rc = sh(&out, &err, "regress");
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "\nmixed    "), "%s", out);
	cr_expect(strstr(out, ": 2 same 1 changed (first: run 1)\n"), "%s", out);
	cr_expect(strstr(out, "  run 2 (campaign 1, schedule 1): changed: the same findings, but the trace hash is "),
		  "%s", out);
	cr_expect(strstr(out, ", recorded 0123456789abcdef\n"), "%s", out);
	free(out);
	free(err);
}

Test(regress, input_errors_are_exit_2)
{
	char *out, *err;

	int rc = sh(&out, &err, "regress");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "simrun regress: simrun.db: no such database"), "%s", err);
	free(out);
	free(err);

	record(BUDGET " --schedules 2");
	rc = sh(&out, &err, "regress --campaign 7");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "simrun.db: no campaign 7"), "%s", err);
	free(out);
	free(err);
	rc = sh(&out, &err, "regress --scenario nothere.json");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "nothere.json: cannot open: No such file or directory"), "%s", err);
	free(out);
	free(err);
	rc = sh(&out, &err, "regress --variant tight");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "no variant \"tight\" (variants: roomy)"), "%s", err);
	free(out);
	free(err);

	/* Nothing to replay is not a failure. */
	rc = sh(&out, &err, "regress --db empty.db");
	cr_expect_eq(rc, 2, "a database that does not exist");
	free(out);
	free(err);
	record(BUDGET " --variant roomy --schedules 2 --db clean.db");
	rc = sh(&out, &err, "regress --db clean.db");
	cr_expect_eq(rc, 0);
	cr_expect(strstr(out, "nothing to replay: no recorded run has a finding\n"), "%s", out);
	free(out);
	free(err);
}

Test(regress, one_campaign_only)
{
	char *out, *err;

	record(BUDGET " --schedules 2");
	record(BUDGET " --schedules 3");
	int rc = sh(&out, &err, "regress --campaign 2");
	cr_expect_eq(rc, 0);
	cr_expect(strstr(out, "regress: 3 recorded runs"), "%s", out);
	free(out);
	free(err);
}

/* The kernel model's deadlock, recorded under the Oct 2020 fuse write path,
 * is fixed by generic_perform_write: by switching the variant, or by a
 * changed scenario file whose variant takes the other path. */
Test(regress, a_deadlock_is_fixed_by_the_fixed_variant)
{
	char *out, *err;
	const char *scen = SIMRUN_SOURCE_DIR "/scenarios/fuse-write-deadlock.json";
	char args[512];

	snprintf(args, sizeof(args), "%s --variant fuse_multi_lock", scen);
	record(args);
	int rc = sh(&out, &err, "regress");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "\nsame     deadlock "), "%s", out);
	free(out);
	free(err);

	rc = sh(&out, &err, "regress --variant generic_perform_write --expect-fixed");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "\nfixed    deadlock "), "%s", out);
	cr_expect(strstr(out, " same, ") && strstr(out, "runs: 0 same, "), "%s", out);
	cr_expect(strstr(out, " fixed, 0 changed, 0 diverged\n"), "%s", out);
	free(out);
	free(err);

	/* The same fix as a changed file: the variant keeps its name and
	 * takes the other write path. */
	char *text = test_read_file(scen);
	char *knob = strstr(text, "\"write_path\": \"fuse_multi_lock\"");
	cr_assert(knob, "fuse-write-deadlock.json changed shape");
	const char *fixed = "\"write_path\": \"generic_perform_write\"";
	size_t head = (size_t)(knob - text), old = strlen("\"write_path\": \"fuse_multi_lock\"");
	char *changed = malloc(strlen(text) + strlen(fixed) + 1);
	memcpy(changed, text, head);
	strcpy(changed + head, fixed);
	strcat(changed, knob + old);
	test_write_file(dir, "fixed.json", changed);
	free(text);
	free(changed);
	rc = sh(&out, &err, "regress --scenario fixed.json --expect-fixed");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "replayed against fixed.json\n"), "%s", out);
	cr_expect(strstr(out, "every finding is fixed\n"), "%s", out);
	free(out);
	free(err);
}

/* A lock-order cycle belongs to the campaign: regress says it did not
 * judge it, and judges the deadlocks beside it. */
Test(regress, lock_order_is_not_judged_per_run)
{
	char *out, *err, args[512];

	snprintf(args, sizeof(args), "%s/scenarios/vma-then-mmap-inversion.json --variant broken --seed 5",
		 SIMRUN_SOURCE_DIR);
	record(args);
	int rc = sh(&out, &err, "regress");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "\nunjudged lock_order "), "%s", out);
	cr_expect(strstr(out, "\nsame     deadlock "), "%s", out);
	cr_expect(strstr(out, "was not judged: a lock-order cycle belongs to the campaign"), "%s", out);
	free(out);
	free(err);
	rc = sh(&out, &err, "regress --variant fixed --expect-fixed");
	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect(strstr(out, "\nfixed    deadlock "), "%s", out);
	free(out);
	free(err);
}
