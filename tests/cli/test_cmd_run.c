/*
 * test_cmd_run.c: `simrun SCENARIO`, one campaign, driven through the built
 * binary as a user drives it: the seed on the first line, the summary and
 * exit status 0 or 1, the JSON object and its exact numbers, what the
 * database holds afterwards (every run, decision logs for the runs worth
 * replaying, the campaign's status), --stop-on-first, dfs's exhaustion,
 * the re-run commands that --no-db prints and the claim that they are
 * exact, --trace, --list-variants, and SIGINT recorded as an interrupted
 * campaign.  Each test works in its own temporary directory.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define FIXTURES SIMRUN_SOURCE_DIR "/tests/cli/fixtures"
#define DEFAULT_SCENARIO SIMRUN_SOURCE_DIR "/tests/cli/fixtures/sleepers.json"
#define BUDGET FIXTURES "/budget.json"

/* dir: a fresh temporary directory per test; db: simrun.db in it. */
TEST_DB_FIXTURE(setup, teardown)

TestSuite(run, .init = setup, .fini = teardown);

/* Run simrun in the test's directory. */
static int simrun(char **out, char **err, const char *args)
{
	return test_shf(out, err, "cd %s && %s %s", dir, test_simrun_path(),
			args);
}

static cJSON *parse_one_object(const char *out)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(out, &end, false);
	cr_assert(j != NULL, "not JSON: %s", out);
	cr_assert(cJSON_IsObject(j));
	/* One object and a newline: nothing else on stdout. */
	cr_expect_str_eq(end, "\n", "after the object: [%s]", end);
	return j;
}

static bool is_hex16(const char *s)
{
	if (strlen(s) != 16)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

Test(run, seed_first_then_summary_and_a_recorded_campaign)
{
	char *out, *err;
	int rc = simrun(&out, &err, DEFAULT_SCENARIO " --seed 42");

	cr_assert_eq(rc, 0, "stderr: %s", err);
	cr_expect(strncmp(out, "seed 42\n", 8) == 0, "%s", out);
	cr_expect(strstr(out, "scenario sleepers: timed, 1 schedule, database simrun.db\n"), "%s", out);
	cr_expect(strstr(out, "campaign 1: 1 of 1 schedules run (done)\n"), "%s", out);
	cr_expect(strstr(out, "outcomes: 1 ok\n"), "%s", out);
	cr_expect(strstr(out, "no findings\n"), "%s", out);
	cr_expect_str_eq(err, "", "stderr is not a terminal: no progress bar");
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM campaign WHERE status = 'done' AND base_seed = '42'"), 1);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run"), 1);
	/* A clean run keeps no decision log unless asked. */
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run WHERE decisions IS NULL"), 1);
	/* The hash printed is the hash recorded. */
	char *hash = test_sql_text(db, "SELECT trace_hash FROM run");
	char line[64];
	snprintf(line, sizeof(line), "trace %s\n", hash);
	cr_expect(strstr(out, line), "%s not in %s", line, out);
	free(hash);
	free(out);
	free(err);

	/* Every campaign is recorded: a second one is campaign 2. */
	rc = simrun(&out, &err, DEFAULT_SCENARIO " --seed 42 --strategy random --schedules 30");
	cr_expect_eq(rc, 0);
	cr_expect(strstr(out, "campaign 2: 30 of 30 schedules run (done)\n"), "%s", out);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run WHERE campaign_id = 2"), 30);
	free(out);
	free(err);
}

Test(run, json_is_one_exact_object_with_the_seed_on_stderr)
{
	char *out, *err;
	int rc = simrun(&out, &err, DEFAULT_SCENARIO " --seed 18446744073709551615 --json --no-db");

	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_eq(err, "seed 18446744073709551615\n");
	/* Seeds above 2^53 are printed digit for digit. */
	cr_expect(strncmp(out, "{\"seed\":18446744073709551615,", 29) == 0, "%s", out);
	cJSON *j = parse_one_object(out);
	cr_expect_str_eq(test_json_str(j, "scenario"), "sleepers");
	cr_expect_str_eq(test_json_str(j, "variant"), "");
	cr_expect_str_eq(test_json_str(j, "strategy"), "timed");
	cr_expect_eq(test_json_num(j, "schedules"), 1);
	cr_expect_eq(test_json_num(j, "schedules_run"), 1);
	cr_expect_str_eq(test_json_str(j, "outcome"), "ok");
	cr_expect_gt(test_json_num(j, "steps"), 0);
	cr_expect_gt(test_json_num(j, "virtual_ns"), 0);
	cr_expect(is_hex16(test_json_str(j, "trace_hash")), "%s", test_json_str(j, "trace_hash"));
	const cJSON *oc = cJSON_GetObjectItemCaseSensitive(j, "outcomes");
	cr_expect_eq(test_json_num(oc, "ok"), 1);
	cr_expect_eq(test_json_num(oc, "deadlock"), 0);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "findings")), 0);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "first_finding_schedule")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "database")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "campaign_id")));
	cr_expect_str_eq(test_json_str(j, "status"), "done");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "metrics");
	cr_expect_eq(test_json_num(m, "runs"), 1, "the checkers measured the run");
	cr_expect(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "histograms")));
	cr_expect(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "lock_order")));
	cJSON_Delete(j);
	free(out);
	free(err);

	/* The same run twice is the same object, byte for byte. */
	char *again;
	simrun(&out, &err, DEFAULT_SCENARIO " --seed 5 --strategy random --schedules 40 --json --no-db");
	simrun(&again, NULL, DEFAULT_SCENARIO " --seed 5 --strategy random --schedules 40 --json --no-db");
	cr_expect_str_eq(out, again);
	free(out);
	free(err);
	free(again);

	/* With a database: its path as given and the campaign id. */
	rc = simrun(&out, &err, DEFAULT_SCENARIO " --json --db results.db");
	cr_assert_eq(rc, 0, "%s", err);
	j = parse_one_object(out);
	cr_expect_str_eq(test_json_str(j, "database"), "results.db");
	cr_expect_eq(test_json_num(j, "campaign_id"), 1);
	cr_expect_eq(test_json_num(j, "seed"), 42, "the default seed");
	cJSON_Delete(j);
	free(out);
	free(err);
}

Test(run, runs_that_end_badly_exit_1_and_keep_their_decisions)
{
	char *out, *err;
	int rc = simrun(&out, &err, BUDGET);

	cr_assert_eq(rc, 1, "stdout: %s stderr: %s", out, err);
	cr_expect(strstr(out, "outcomes: 20 budget\n"), "%s", out);
	cr_expect(strstr(out, "findings: 1 distinct, in 20 of 20 runs (first at schedule 0)\n"), "%s", out);
	cr_expect(strstr(out, "    replay: simrun replay --db simrun.db --run 1\n"), "%s", out);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run WHERE outcome = 'budget' AND decisions IS NOT NULL"), 20);
	/* The JSON says the same, with the run id to replay. */
	free(out);
	free(err);
	rc = simrun(&out, &err, BUDGET " --json");
	cr_assert_eq(rc, 1);
	cJSON *j = parse_one_object(out);
	const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "findings"), 0);
	cr_assert(f != NULL, "%s", out);
	cr_expect_eq(test_json_num(f, "runs"), 20);
	cr_expect_eq(test_json_num(f, "schedule"), 0);
	cr_expect_eq(test_json_num(f, "seed"), 42);
	cr_expect_eq(test_json_num(f, "run_id"), 21, "the first run of campaign 2");
	cr_expect(is_hex16(test_json_str(f, "signature")));
	cr_expect_eq(test_json_num(j, "first_finding_schedule"), 0);
	cr_expect_eq(test_json_num(j, "problem_runs"), 20);
	cJSON_Delete(j);
	free(out);
	free(err);

	/* The variant that gives the task time enough: clean, exit 0, and
	 * no decision log kept... */
	rc = simrun(&out, &err, BUDGET " --variant roomy");
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(strstr(out, "scenario budget, variant roomy: random, 20 schedules"), "%s", out);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run WHERE campaign_id = 3 AND decisions IS NULL"), 20);
	free(out);
	free(err);
	/* ...unless asked to keep every one. */
	rc = simrun(&out, &err, BUDGET " --variant roomy --keep-decisions");
	cr_expect_eq(rc, 0);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run WHERE campaign_id = 4 AND length(decisions) > 0"), 20);
	char *variant = test_sql_text(db, "SELECT variant FROM campaign WHERE id = 4");
	cr_expect_str_eq(variant, "roomy");
	free(variant);
	free(out);
	free(err);
}

Test(run, stop_on_first_records_an_interrupted_campaign)
{
	char *out, *err;
	int rc = simrun(&out, &err, BUDGET " --stop-on-first --schedules 50");

	cr_expect_eq(rc, 1);
	cr_expect(strstr(out, "campaign 1: 1 of 50 schedules run (interrupted)\n"), "%s", out);
	cr_expect(strstr(out, "stopped after the first run with a finding (schedule 0), as --stop-on-first asks\n"),
		  "%s", out);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run"), 1);
	char *status = test_sql_text(db, "SELECT status FROM campaign");
	cr_expect_str_eq(status, "interrupted");
	free(status);
	free(out);
	free(err);
}

Test(run, dfs_says_when_it_has_explored_everything)
{
	char *out, *err;
	int rc = simrun(&out, &err, DEFAULT_SCENARIO " --strategy dfs --schedules 100000 --json --no-db");

	cr_assert_eq(rc, 0, "%s", err);
	cJSON *j = parse_one_object(out);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "exhausted")), "%s", out);
	int all = (int)test_json_num(j, "schedules_run");
	cr_expect_gt(all, 1);
	cr_expect_lt(all, 100000);
	cJSON_Delete(j);
	free(out);
	free(err);

	char args[256], line[160];
	snprintf(args, sizeof(args), DEFAULT_SCENARIO " --strategy dfs --schedules %d --no-db", all + 5);
	rc = simrun(&out, &err, args);
	snprintf(line, sizeof(line), "dfs: explored every schedule with any number of preemptions: %d schedules\n", all);
	cr_expect(strstr(out, line), "%s not in %s", line, out);
	cr_expect(strstr(out, "0 schedules run\n") == NULL);
	free(out);
	free(err);

	/* One schedule short of the whole space is not exhaustion. */
	snprintf(args, sizeof(args), DEFAULT_SCENARIO " --strategy dfs --schedules %d --no-db", all - 1);
	rc = simrun(&out, &err, args);
	snprintf(line, sizeof(line), "dfs: not exhausted after %d schedules", all - 1);
	cr_expect(strstr(out, line), "%s not in %s", line, out);
	free(out);
	free(err);

	/* A bound is never a larger space.  (In this world every step
	 * blocks, so every switch is free and the bound changes nothing.) */
	rc = simrun(&out, &err, DEFAULT_SCENARIO " --strategy dfs --preemptions 0 --schedules 100000 --json --no-db");
	j = parse_one_object(out);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "exhausted")));
	cr_expect_leq(test_json_num(j, "schedules_run"), all);
	cr_expect_eq(test_json_num(j, "preemptions"), 0);
	cJSON_Delete(j);
	free(out);
	free(err);
}

/* The run seed and trace hash of schedule idx of campaign cid. */
static void recorded(int cid, int idx, char *seed, char *hash)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT seed FROM run WHERE campaign_id = %d AND idx = %d", cid, idx);
	char *s = test_sql_text(db, sql);
	snprintf(sql, sizeof(sql), "SELECT trace_hash FROM run WHERE campaign_id = %d AND idx = %d", cid, idx);
	char *h = test_sql_text(db, sql);
	snprintf(seed, 24, "%s", s);
	snprintf(hash, 17, "%s", h);
	free(s);
	free(h);
}

static void expect_schedule_0_hash(const char *args, const char *hash)
{
	char *out, *err;
	int rc = simrun(&out, &err, args);
	cr_assert_eq(rc, 0, "%s: %s", args, err);
	cJSON *j = parse_one_object(out);
	cr_expect_str_eq(test_json_str(j, "trace_hash"), hash, "%s", args);
	cJSON_Delete(j);
	free(out);
	free(err);
}

Test(run, rerun_by_run_seed_is_exact_for_timed_random_and_pct)
{
	static const char *const kinds[] = { "timed", "random", "pct" };
	char args[512], seed[24], hash[17];

	for (int k = 0; k < 3; k++) {
		snprintf(args, sizeof(args), DEFAULT_SCENARIO " --seed 9 --strategy %s --schedules 12", kinds[k]);
		cr_assert_eq(simrun(NULL, NULL, args), 0);
		int cid = k + 1;
		char *params = test_sql_text(db, "SELECT params_json FROM campaign ORDER BY id DESC LIMIT 1");
		char *ks = strstr(params, "\"pct_steps\":");
		for (int i = 1; i < 12; i += 5) {
			recorded(cid, i, seed, hash);
			if (k == 2)
				snprintf(args, sizeof(args), DEFAULT_SCENARIO " --seed %s --strategy pct --pct-steps %ld --json --no-db",
					 seed, strtol(ks + 12, NULL, 10));
			else
				snprintf(args, sizeof(args), DEFAULT_SCENARIO " --seed %s --strategy %s --json --no-db",
					 seed, kinds[k]);
			expect_schedule_0_hash(args, hash);
		}
		free(params);
	}
}

Test(run, printed_rerun_commands_reproduce_the_run)
{
	static const char *const kinds[] = { "timed", "random", "pct", "dfs" };

	for (int k = 0; k < 4; k++) {
		char args[256], *out, *err;
		snprintf(args, sizeof(args), BUDGET " --seed 77 --strategy %s --schedules 3 --no-db", kinds[k]);
		cr_assert_eq(simrun(&out, &err, args), 1, "%s", err);
		char *cmd = strstr(out, "re-run: ");
		cr_assert(cmd, "%s", out);
		cmd += strlen("re-run: ");
		*strchr(cmd, '\n') = '\0';
		cr_expect(strncmp(cmd, "simrun ", 7) == 0, "%s", cmd);
		cr_expect(strstr(cmd, " --no-db"), "%s", cmd);
		if (k == 2)
			cr_expect(strstr(cmd, " --pct-depth 3 --pct-steps "), "%s", cmd);
		if (k == 3)
			cr_expect(strstr(cmd, " --schedules 1"), "%s", cmd);
		char *hash = strstr(out, "trace ");
		cr_assert(hash);
		char want[17];
		snprintf(want, sizeof(want), "%s", hash + 6);
		/* Run it as printed (with the built binary) and compare the
		 * hash of its schedule 0. */
		char *again, *err2;
		int rc = test_shf(&again, &err2, "cd %s && %s %s --json", dir,
				  test_simrun_path(), cmd + 7);
		cr_expect_eq(rc, 1, "%s: %s", cmd, err2);
		cJSON *j = parse_one_object(again);
		cr_expect_str_eq(test_json_str(j, "trace_hash"), want, "%s", cmd);
		cJSON_Delete(j);
		free(again);
		free(err2);
		free(out);
		free(err);
	}
}

Test(run, dfs_schedules_repeat_exactly_from_the_same_seed)
{
	char args[256];

	cr_assert_eq(simrun(NULL, NULL, DEFAULT_SCENARIO " --strategy dfs --schedules 40"), 0);
	for (int i = 7; i < 40; i += 16) {
		char seed[24], hash[17], again[17];
		recorded(1, i, seed, hash);
		snprintf(args, sizeof(args), DEFAULT_SCENARIO " --strategy dfs --schedules %d", i + 1);
		cr_assert_eq(simrun(NULL, NULL, args), 0);
		int cid = (int)test_sql_int(db, "SELECT max(id) FROM campaign");
		recorded(cid, i, seed, again);
		cr_expect_str_eq(again, hash, "schedule %d", i);
	}
}

Test(run, trace_goes_to_stdout_or_to_stderr_with_json)
{
	char *out, *err;
	int rc = simrun(&out, &err, DEFAULT_SCENARIO " --trace --no-db --strategy random --schedules 2");

	cr_assert_eq(rc, 0);
	cr_expect(strstr(out, "# schedule 0\n"), "%s", out);
	cr_expect(strstr(out, "# schedule 1\n"), "%s", out);
	cr_expect(strstr(out, "cpu0  a"), "%s", out);
	free(out);
	free(err);
	rc = simrun(&out, &err, DEFAULT_SCENARIO " --trace --json --no-db");
	cr_assert_eq(rc, 0);
	cJSON_Delete(parse_one_object(out));
	cr_expect(strncmp(err, "seed 42\n# schedule 0\n", 21) == 0, "%s", err);
	free(out);
	free(err);
}

Test(run, list_variants)
{
	char *out, *err;
	int rc = simrun(&out, &err, FIXTURES "/malformed/variants-ok.json --list-variants");

	cr_expect_eq(rc, 0);
	cr_expect_str_eq(out, "buggy\nfixed\n");
	free(out);
	free(err);
}

Test(run, sigint_ends_the_campaign_recorded_as_interrupted)
{
	char *out, *err;
	/* Wait until the campaign row exists (the handler is in place by
	 * then), interrupt, and collect the exit status. */
	int rc = test_shf(&out, &err,
			  "cd %s && { %s " DEFAULT_SCENARIO " --strategy random --schedules 100000000 >out.txt 2>err.txt & pid=$!; "
			  "i=0; while [ \"$(sqlite3 simrun.db 'SELECT count(*) FROM campaign' 2>/dev/null)\" != 1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
			  "kill -INT $pid; wait $pid; echo $?; }",
			  dir, test_simrun_path());
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_str_eq(out, "130\n", "exit status 128 + SIGINT");
	char path[160];
	snprintf(path, sizeof(path), "%s/err.txt", dir);
	char *e = test_read_file(path);
	cr_expect(strstr(e, "simrun: interrupted by SIGINT after "), "%s", e);
	cr_expect(strstr(e, "the campaign is recorded as interrupted"), "%s", e);
	cr_expect(strstr(e, "Sanitizer") == NULL && strstr(e, "runtime error:") == NULL, "%s", e);
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	char *o = test_read_file(path);
	cr_expect(strstr(o, "schedules run (interrupted)\n"), "%s", o);
	char *status = test_sql_text(db, "SELECT status FROM campaign");
	cr_expect_str_eq(status, "interrupted");
	/* Every run that ran before the interrupt is recorded. */
	cr_expect_gt(test_sql_int(db, "SELECT count(*) FROM run"), 0);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run"),
		     test_sql_int(db, "SELECT max(idx) + 1 FROM run"));
	free(status);
	free(e);
	free(o);
	free(out);
	free(err);
}

/* With the kernel model: a lock-order cycle is printed in lockdep's words,
 * and the metrics the checkers measured reach the summary, the JSON and
 * the database. */
Test(run, lockdep_report_and_metrics)
{
	char *out, *err;
	int rc = simrun(&out, &err, SIMRUN_SOURCE_DIR "/scenarios/vma-then-mmap-inversion.json --variant broken");

	cr_assert_eq(rc, 1, "%s", err);
	cr_expect(strstr(out, "WARNING: possible circular locking dependency detected"), "%s", out);
	cr_expect(strstr(out, " *** DEADLOCK ***"), "%s", out);
	cr_expect(strstr(out, "\nmetrics over 100 runs (virtual time):\n"), "%s", out);
	cr_expect(strstr(out, "  fault.anon.latency_ns "), "%s", out);
	cr_expect_gt(test_sql_int(db, "SELECT count(*) FROM metric WHERE name = 'fault.anon.latency_ns'"), 0);
	cr_expect_eq(test_sql_int(db, "SELECT sum(count) FROM metric WHERE name = 'pgfault' AND bucket IS NULL"),
		     test_sql_int(db, "SELECT sum(count) FROM metric WHERE name = 'pgfault'"));
	free(out);
	free(err);

	rc = simrun(&out, &err, SIMRUN_SOURCE_DIR "/scenarios/vma-then-mmap-inversion.json --variant broken --json --no-db");
	cJSON *j = parse_one_object(out);
	const cJSON *cy = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "lock_order"), 0);
	cr_assert(cy, "%s", out);
	cr_expect(strstr(test_json_str(cy, "report"), "possible circular locking dependency"));
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metrics"), "histograms");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(h, "fault.anon.latency_ns");
	cr_assert(f, "%s", out);
	cr_expect_leq(test_json_num(f, "p50"), test_json_num(f, "p99"));
	cr_expect_leq(test_json_num(f, "p99"), test_json_num(f, "max"));
	cJSON_Delete(j);
	free(out);
	free(err);
}

Test(run, a_closed_output_ends_the_campaign_recorded_as_interrupted)
{
	char *out, *err;
	/* `| head -2`: the reader goes away while the trace is written. */
	int rc = test_shf(&out, &err,
			  "cd %s && { %s " DEFAULT_SCENARIO " --strategy random --schedules 100000000 --trace; echo $? >rc.txt; } | head -2",
			  dir, test_simrun_path());
	cr_assert_eq(rc, 0);
	cr_expect(strncmp(out, "seed 42\n", 8) == 0, "%s", out);
	cr_expect(strstr(err, "simrun: interrupted by SIGPIPE (the output was closed) after "), "%s", err);
	char path[160];
	snprintf(path, sizeof(path), "%s/rc.txt", dir);
	char *code = test_read_file(path);
	cr_expect_str_eq(code, "141\n", "128 + SIGPIPE");
	char *status = test_sql_text(db, "SELECT status FROM campaign");
	cr_expect_str_eq(status, "interrupted");
	free(status);
	free(code);
	free(out);
	free(err);
}
