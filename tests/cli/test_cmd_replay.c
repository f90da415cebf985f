/*
 * test_cmd_replay.c: `simrun replay`, through the built binary.  A run with
 * a finding, recorded by a campaign, replays from a copy of the database
 * file alone in a fresh directory to the identical trace hash; a database
 * whose scenario text or decision log was changed replays to a different
 * hash or diverges, and says so with exit status 1; and every way of
 * asking for something that is not there is exit status 2 with a message
 * that says what is missing.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define FIXTURES SIMRUN_SOURCE_DIR "/tests/cli/fixtures"
#define BUDGET FIXTURES "/budget.json"

static char dir[64], fresh[64];

static void setup(void)
{
	test_tmpdir(dir, sizeof(dir));
	test_tmpdir(fresh, sizeof(fresh));
}

static void teardown(void)
{
	test_rmtree(dir);
	test_rmtree(fresh);
}

TestSuite(replay, .init = setup, .fini = teardown);

/* Record a campaign in dir and copy only its database file to fresh. */
static void record_and_copy(const char *args)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "cd %s && %s %s && ls", dir,
			  test_simrun_path(), args);
	cr_assert(rc == 0 || rc == 1, "%s: %s", args, err);
	/* simrun checkpoints and removes its WAL when it closes the file:
	 * the .db alone is the whole database. */
	cr_assert(strstr(out, "simrun.db-wal") == NULL, "%s", out);
	free(out);
	free(err);
	rc = test_shf(NULL, NULL, "cp %s/simrun.db %s/", dir, fresh);
	cr_assert_eq(rc, 0);
}

static int replay(char **out, char **err, const char *args)
{
	return test_shf(out, err, "cd %s && %s replay %s", fresh,
			test_simrun_path(), args);
}

static char *fresh_sql(const char *sql)
{
	char db[128];
	snprintf(db, sizeof(db), "%s/simrun.db", fresh);
	return test_sql_text(db, sql);
}

static void fresh_exec(const char *sql)
{
	int rc = test_shf(NULL, NULL, "cd %s && sqlite3 simrun.db \"%s\"", fresh, sql);
	cr_assert_eq(rc, 0, "%s", sql);
}

Test(replay, a_finding_replays_identically_from_the_database_file_alone)
{
	record_and_copy(BUDGET " --seed 3 --schedules 8");
	/* Schedule 5: its run seed is not the base seed, so replay has to
	 * take it from the file. */
	char *id = fresh_sql("SELECT id FROM run WHERE idx = 5");
	char *seed = fresh_sql("SELECT seed FROM run WHERE idx = 5");
	char *hash = fresh_sql("SELECT trace_hash FROM run WHERE idx = 5");
	cr_assert_str_neq(seed, "3");

	char args[64], *out, *err, want[160];
	snprintf(args, sizeof(args), "--run %s", id);
	int rc = replay(&out, &err, args);
	cr_expect_eq(rc, 0, "stdout: %s stderr: %s", out, err);
	snprintf(want, sizeof(want), "seed %s\n", seed);
	cr_expect(strncmp(out, want, strlen(want)) == 0, "%s", out);
	snprintf(want, sizeof(want), "identical: trace %s, outcome budget", hash);
	cr_expect(strstr(out, want), "%s not in %s", want, out);
	free(out);
	free(err);

	/* The same as JSON, and with an explicit --db. */
	snprintf(args, sizeof(args), "--db simrun.db --run %s --json", id);
	rc = replay(&out, &err, args);
	cr_expect_eq(rc, 0);
	cJSON *j = cJSON_Parse(out);
	cr_assert(j, "%s", out);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(j, "identical")));
	cJSON *rec = cJSON_GetObjectItem(j, "recorded");
	cJSON *rep = cJSON_GetObjectItem(j, "replayed");
	cr_expect_str_eq(cJSON_GetObjectItem(rec, "trace_hash")->valuestring, hash);
	cr_expect_str_eq(cJSON_GetObjectItem(rep, "trace_hash")->valuestring, hash);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(j, "diverged_at_decision")));
	cJSON_Delete(j);
	free(out);
	free(err);

	/* --trace prints the run's steps. */
	snprintf(args, sizeof(args), "--run %s --trace", id);
	rc = replay(&out, &err, args);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(out, "cpu0  a"), "%s", out);
	free(out);
	free(err);
	free(id);
	free(seed);
	free(hash);
}

Test(replay, a_changed_scenario_text_gives_another_hash_and_exit_1)
{
	record_and_copy(BUDGET " --schedules 2");
	fresh_exec("UPDATE campaign SET scenario_json = replace(scenario_json, '\\\"700ns\\\"', '\\\"900ns\\\"')");
	char *out, *err;
	int rc = replay(&out, &err, "--run 2");
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "differs: trace hash "), "%s", out);
	cr_expect(strstr(out, " recorded, ") && strstr(out, " now\n"), "%s", out);
	cr_expect(strstr(out, "identical") == NULL, "%s", out);
	free(out);
	free(err);
}

Test(replay, a_decision_that_cannot_be_followed_is_a_divergence)
{
	record_and_copy(BUDGET " --schedules 2");
	/* The first decision names task 63, which this world does not have. */
	fresh_exec("UPDATE run SET decisions = CAST(X'7e' || substr(decisions, 2) AS BLOB) WHERE id = 1");
	char *out, *err;
	int rc = replay(&out, &err, "--run 1");
	cr_expect_eq(rc, 1, "%s %s", out, err);
	cr_expect(strstr(out, "differs: diverged at decision 0 (step "), "%s", out);
	cr_expect(strstr(out, "differs: outcome budget recorded, diverged now\n"), "%s", out);
	free(out);
	free(err);
}

Test(replay, what_is_not_there_is_exit_2)
{
	char *out, *err;

	/* No database: an error, and no empty database left behind. */
	int rc = replay(&out, &err, "--run 1");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "simrun replay: simrun.db: no such database (give it with --db PATH)"), "%s", err);
	char path[128];
	snprintf(path, sizeof(path), "%s/simrun.db", fresh);
	cr_expect(access(path, F_OK) != 0, "replay created %s", path);
	free(out);
	free(err);

	record_and_copy(BUDGET " --variant roomy --schedules 3");
	rc = replay(&out, &err, "--run 99");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "simrun.db: no run 99"), "%s", err);
	free(out);
	free(err);

	/* A clean run keeps no decision log. */
	rc = replay(&out, &err, "--run 2");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "run 2 has no decision log"), "%s", err);
	cr_expect(strstr(err, "--keep-decisions"), "%s", err);
	free(out);
	free(err);

	rc = replay(&out, &err, "");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "give --run ID"), "%s", err);
	free(out);
	free(err);
	rc = replay(&out, &err, "--run x12");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "--run x12: expected a run id"), "%s", err);
	free(out);
	free(err);
	rc = replay(&out, &err, "--run 1 --rnu 2");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "unknown option --rnu; did you mean --run?"), "%s", err);
	free(out);
	free(err);

	/* A file that is not a database. */
	test_write_file(fresh, "notes.db", "these are not the results you are looking for\n");
	rc = replay(&out, &err, "--db notes.db --run 1");
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "notes.db: is not a SQLite database"), "%s", err);
	free(out);
	free(err);
}

Test(replay, runs_kept_with_keep_decisions_replay_too)
{
	record_and_copy(BUDGET " --variant roomy --schedules 4 --keep-decisions");
	char *out, *err;
	for (int id = 1; id <= 4; id++) {
		char args[32];
		snprintf(args, sizeof(args), "--run %d", id);
		int rc = replay(&out, &err, args);
		cr_expect_eq(rc, 0, "run %d: %s %s", id, out, err);
		cr_expect(strstr(out, "identical: trace "), "%s", out);
		free(out);
		free(err);
	}
}

/* The kernel model's deadlock: the fuse write path of Oct 2020 locking the
 * folio its own source page faults on (scenarios/fuse-write-deadlock.json,
 * whose check expects the deadlock). */
Test(replay, a_deadlock_replays_identically_from_a_copied_database)
{
	record_and_copy(SIMRUN_SOURCE_DIR "/scenarios/fuse-write-deadlock.json --variant fuse_multi_lock");
	char *id = fresh_sql("SELECT min(run_id) FROM finding WHERE kind = 'deadlock'");
	cr_assert_str_neq(id, "", "the campaign found no deadlock");
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT trace_hash FROM run WHERE id = %s", id);
	char *hash = fresh_sql(sql);
	snprintf(sql, sizeof(sql), "SELECT outcome FROM run WHERE id = %s", id);
	char *outcome = fresh_sql(sql);
	cr_expect_str_eq(outcome, "deadlock");

	char args[64], *out, *err, want[160];
	snprintf(args, sizeof(args), "--run %s", id);
	int rc = replay(&out, &err, args);
	cr_expect_eq(rc, 0, "stdout: %s stderr: %s", out, err);
	cr_expect(strstr(out, "\nfinding deadlock "), "%s", out);
	snprintf(want, sizeof(want), "identical: trace %s, outcome deadlock", hash);
	cr_expect(strstr(out, want), "%s not in %s", want, out);
	free(out);
	free(err);
	free(id);
	free(hash);
	free(outcome);
}
