/*
 * test_scale.c: one campaign spread over processes and the database
 * surviving them.  Checks, each by comparing the database with the one a
 * single uninterrupted process records (tools/campaign_dump.sh: every
 * campaign column but ids and timestamps, every run, finding and metric
 * in schedule order) and the printed summaries: --jobs 2 equals --jobs 1;
 * 4 shards (--shard K/4) merged with `simrun merge` equal one process,
 * whatever order the shards are given in; merge refuses shards that are
 * missing, of another campaign, or unfinished; a campaign killed with a
 * real SIGKILL leaves a database that passes integrity_check and holds
 * its committed runs, and --resume ends it equal to an uninterrupted one;
 * two simruns writing one database at once both finish with every run;
 * a --jobs worker that dies is reported, exit 3.  The scenario is one
 * whose campaigns find deadlocks and a lock_order cycle, so the
 * campaign-wide lock-order graph is what is being split and rebuilt.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define SCENARIO SIMRUN_SOURCE_DIR "/scenarios/rwsem-fair-deadlock.json"
#define DUMP SIMRUN_SOURCE_DIR "/tools/campaign_dump.sh"

static char dir[64];

static void setup(void)
{
	test_tmpdir(dir, sizeof(dir));
}

static void teardown(void)
{
	test_rmtree(dir);
}

TestSuite(scale, .init = setup, .fini = teardown, .timeout = 240);

/* Run simrun in dir/sub (created) with args; its stdout into *out. */
static int simrun_in(const char *sub, char **out, const char *args)
{
	char *err = NULL;
	int rc = test_shf(out, &err, "mkdir -p %s/%s && cd %s/%s && %s %s",
			  dir, sub, dir, sub, test_simrun_path(), args);
	cr_expect(strstr(err, "Sanitizer") == NULL, "%s", err);
	free(err);
	return rc;
}

/* The campaign dump of dir/path (its newest campaign). */
static char *dump(const char *path)
{
	char *out = NULL, *err = NULL;
	int rc = test_shf(&out, &err, "sh %s %s/%s", DUMP, dir, path);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);
	return out;
}

static void expect_same_dump(const char *a, const char *b)
{
	char *x = dump(a), *y = dump(b);
	cr_expect(strlen(x) > 1000, "dump of %s is too short:\n%s", a, x);
	cr_expect_str_eq(x, y, "%s and %s differ", a, b);
	free(x);
	free(y);
}

/* The one-process campaign every test compares with: it finds deadlocks
 * and the lock_order cycle, so both kinds are split and rebuilt. */
#define CAMPAIGN SCENARIO " --strategy random --schedules 160 --seed 7"

static char *one_process(void)
{
	char *out = NULL;
	int rc = simrun_in("one", &out, CAMPAIGN);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "  lock_order "), "no lock_order finding:\n%s", out);
	cr_assert(strstr(out, "  deadlock "), "no deadlock finding:\n%s", out);
	return out;
}

Test(scale, jobs_2_equals_jobs_1)
{
	char *one = one_process(), *two = NULL;
	int rc = simrun_in("two", &two, CAMPAIGN " --jobs 2");

	cr_expect_eq(rc, 1, "%s", two);
	/* Every line of the summary, lock_order report and metrics
	 * included. */
	cr_expect_str_eq(one, two);
	expect_same_dump("one/simrun.db", "two/simrun.db");
	free(one);
	free(two);
}

Test(scale, four_shards_merged_equal_one_process)
{
	char *one = one_process(), *out = NULL;

	for (int k = 0; k < 4; k++) {
		char args[512];
		snprintf(args, sizeof(args), CAMPAIGN " --shard %d/4 --db s%d.db",
			 k, k);
		int rc = simrun_in("shards", &out, args);
		cr_assert_lt(rc, 2, "shard %d: %s", k, out);
		free(out);
	}
	int rc = simrun_in("shards", &out, "merge m.db s2.db s0.db s3.db s1.db");
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "4 shards merged, 160 runs (done)"), "%s", out);
	free(out);
	expect_same_dump("one/simrun.db", "shards/m.db");
	/* The merged campaign is a campaign like any other: its findings
	 * replay. */
	rc = test_shf(&out, NULL, "cd %s/shards && %s regress --db m.db",
		      dir, test_simrun_path());
	cr_expect_lt(rc, 2, "%s", out);
	free(out);
	free(one);
}

Test(scale, merge_refuses_what_is_not_one_complete_campaign)
{
	char *out = NULL, *err = NULL;

	for (int k = 0; k < 3; k++) {
		int rc = test_shf(NULL, NULL, "cd %s && %s %s --shard %d/3 "
				  "--db s%d.db", dir, test_simrun_path(),
				  CAMPAIGN, k, k);
		cr_assert_lt(rc, 2);
	}
	test_shf(NULL, NULL, "cd %s && %s %s --seed 8 --shard 2/3 --db other.db",
		 dir, test_simrun_path(), CAMPAIGN);

	int rc = test_shf(&out, &err, "cd %s && %s merge m.db s0.db s1.db",
			  dir, test_simrun_path());
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "run as 3 shards and 2 databases are given"), "%s", err);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "cd %s && %s merge m.db s0.db s1.db s1.db",
		      dir, test_simrun_path());
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "shard 2 of 3 is missing"), "%s", err);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "cd %s && %s merge m.db s0.db s1.db other.db",
		      dir, test_simrun_path());
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "not shards of one campaign: their base seed "
			      "differs"), "%s", err);
	free(out);
	free(err);

	/* An unfinished shard: as a killed simrun leaves it. */
	cr_assert_eq(test_shf(NULL, NULL, "sqlite3 %s/s1.db \"UPDATE campaign "
			      "SET status = 'running'\"", dir), 0);
	rc = test_shf(&out, &err, "cd %s && %s merge m.db s0.db s1.db s2.db",
		      dir, test_simrun_path());
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "s1.db: shard 1 of 3 is running, not done"), "%s", err);
	free(out);
	free(err);
	/* The refused merges recorded nothing: the output was never
	 * created. */
	char path[128];
	snprintf(path, sizeof(path), "%s/m.db", dir);
	cr_expect_neq(access(path, F_OK), 0);
}

/* The process that has file `path` open (0 if none), from /proc: the
 * test needs no fuser or pgrep. */
static pid_t pid_holding(const char *path)
{
	char want[PATH_MAX], fds[300], link[PATH_MAX + 300], got[PATH_MAX];
	pid_t found = 0;
	DIR *proc = opendir("/proc");

	if (!realpath(path, want) || !proc) {
		if (proc)
			closedir(proc);
		return 0;
	}
	struct dirent *p;
	while (!found && (p = readdir(proc))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(fds, sizeof(fds), "/proc/%s/fd", p->d_name);
		DIR *d = opendir(fds);
		struct dirent *f;
		while (d && !found && (f = readdir(d))) {
			snprintf(link, sizeof(link), "%s/%s", fds, f->d_name);
			ssize_t n = readlink(link, got, sizeof(got) - 1);
			if (n <= 0)
				continue;
			got[n] = '\0';
			if (strcmp(got, want) == 0)
				found = (pid_t)atol(p->d_name);
		}
		if (d)
			closedir(d);
	}
	closedir(proc);
	return found;
}

/* Runs committed in dir/path so far (-1 while the file is not there). */
static int64_t committed(const char *path)
{
	char *out = NULL;
	int rc = test_shf(&out, NULL, "sqlite3 %s/%s 'SELECT count(*) FROM run' "
			  "2>/dev/null", dir, path);
	int64_t n = rc == 0 && out[0] ? atoll(out) : -1;
	free(out);
	return n;
}

#define LONG SCENARIO " --strategy random --schedules 6000 --seed 11"

Test(scale, sigkill_then_resume_equals_an_uninterrupted_campaign)
{
	char *out = NULL, *err = NULL;

	int rc = simrun_in("whole", &out, LONG);
	cr_assert_eq(rc, 1, "%s", out);
	free(out);

	/* The same campaign, killed with SIGKILL once it has committed
	 * some batches. */
	rc = test_shf(NULL, NULL, "mkdir -p %s/killed && cd %s/killed && "
		      "{ %s %s --commit-every 16 >out.txt 2>err.txt & "
		      "echo $! >pid.txt; }", dir, dir, test_simrun_path(), LONG);
	cr_assert_eq(rc, 0);
	int tries = 0;
	while (committed("killed/simrun.db") < 64) {
		cr_assert_lt(tries++, 2000, "the campaign never committed");
		usleep(10000);
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/killed/pid.txt", dir);
	char *pid_text = test_read_file(path);
	pid_t pid = (pid_t)atol(pid_text);
	free(pid_text);
	cr_assert_gt(pid, 0);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	/* Wait for it to be gone (init reaps it). */
	for (tries = 0; kill(pid, 0) == 0 || errno != ESRCH; tries++) {
		cr_assert_lt(tries, 500, "simrun survived SIGKILL");
		usleep(10000);
	}

	rc = test_shf(&out, NULL, "sqlite3 %s/killed/simrun.db 'PRAGMA "
		      "integrity_check'", dir);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(out, "ok\n");
	free(out);
	int64_t kept = committed("killed/simrun.db");
	cr_expect_gt(kept, 0);
	cr_expect_lt(kept, 6000, "the campaign ended before the kill");
	cr_expect_eq(kept % 16, 0, "a batch was committed in part: %lld",
		     (long long)kept);
	snprintf(path, sizeof(path), "%s/killed/simrun.db", dir);
	char *st = test_sql_text(path, "SELECT status FROM campaign");
	cr_expect_str_eq(st, "running");
	free(st);

	rc = simrun_in("killed", &out, "--resume");
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "resuming campaign 1: "), "%s", out);
	cr_expect(strstr(out, "campaign 1: 6000 of 6000 schedules run (done)"),
		  "%s", out);
	free(out);
	expect_same_dump("whole/simrun.db", "killed/simrun.db");

	/* Nothing left to resume. */
	rc = test_shf(NULL, &err, "cd %s/killed && %s --resume", dir,
		      test_simrun_path());
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "nothing to resume"), "%s", err);
	free(err);
}

Test(scale, two_writers_on_one_database_both_finish)
{
	char *out = NULL, *err = NULL;

	/* Both at once, committing after every run to contend as much as
	 * two simruns can. */
	int rc = test_shf(&out, &err, "cd %s || exit 9; "
			  "%s %s --schedules 600 --seed 1 --commit-every 1 >a.txt 2>a.err & a=$!; "
			  "%s %s --schedules 600 --seed 2 --commit-every 1 >b.txt 2>b.err & b=$!; "
			  "wait $a; echo $?; wait $b; echo $?; cat a.err b.err",
			  dir, test_simrun_path(), SCENARIO, test_simrun_path(),
			  SCENARIO);
	cr_assert_eq(rc, 0, "%s", err);
	/* Each exits 0 or 1 (findings), never 2 (locked). */
	cr_expect(strncmp(out, "1\n1\n", 4) == 0 || strncmp(out, "0\n0\n", 4) == 0 ||
		  strncmp(out, "0\n1\n", 4) == 0 || strncmp(out, "1\n0\n", 4) == 0,
		  "%s", out);
	cr_expect(strstr(out, "locked") == NULL, "%s", out);
	free(out);
	free(err);
	char db[128];
	snprintf(db, sizeof(db), "%s/simrun.db", dir);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM campaign "
				  "WHERE status = 'done'"), 2);
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run"), 1200);
	cr_expect_eq(test_sql_int(db, "SELECT count(DISTINCT "
				  "campaign_id || ':' || idx) FROM run"), 1200);
}

Test(scale, a_worker_that_dies_is_named_and_exit_3)
{
	/* Kill a worker as soon as the workers have committed something
	 * (the parent has the file open only before and after them). */
	int rc = test_shf(NULL, NULL, "cd %s && { %s %s --jobs 2 --commit-every 8 "
			  ">out.txt 2>err.txt; echo $? >rc.txt; } &",
			  dir, test_simrun_path(), LONG);
	cr_assert_eq(rc, 0);
	int tries = 0;
	while (committed("simrun.db") < 16) {
		cr_assert_lt(tries++, 2000, "the workers never committed");
		usleep(10000);
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/simrun.db", dir);
	pid_t worker = pid_holding(path);
	cr_assert_gt(worker, 0);
	cr_assert_eq(kill(worker, SIGKILL), 0);

	snprintf(path, sizeof(path), "%s/rc.txt", dir);
	for (tries = 0; access(path, F_OK) != 0; tries++) {
		cr_assert_lt(tries, 3000, "simrun --jobs did not end");
		usleep(10000);
	}
	usleep(50000);
	char *code = test_read_file(path);
	cr_expect_str_eq(code, "3\n");
	free(code);
	snprintf(path, sizeof(path), "%s/err.txt", dir);
	char *err = test_read_file(path);
	cr_expect(strstr(err, "of 2 (schedules i with i % 2 == "), "%s", err);
	cr_expect(strstr(err, ", base seed 11) was killed by signal 9"), "%s", err);
	cr_expect(strstr(err, "campaign 1 is recorded as failed"), "%s", err);
	free(err);
	snprintf(path, sizeof(path), "%s/simrun.db", dir);
	char *st = test_sql_text(path, "SELECT status FROM campaign");
	cr_expect_str_eq(st, "failed");
	free(st);
}

Test(scale, jobs_stopped_by_sigterm_record_a_prefix_that_resumes)
{
	char *out = NULL;

	int rc = simrun_in("whole", &out, LONG);
	cr_assert_eq(rc, 1, "%s", out);
	free(out);

	rc = test_shf(NULL, NULL, "mkdir -p %s/jobs && cd %s/jobs && "
		      "{ %s %s --jobs 2 --commit-every 8 >out.txt 2>err.txt & "
		      "echo $! >pid.txt; wait $!; echo $? >rc.txt; } &",
		      dir, dir, test_simrun_path(), LONG);
	cr_assert_eq(rc, 0);
	int tries = 0;
	while (committed("jobs/simrun.db") < 16) {
		cr_assert_lt(tries++, 2000, "the workers never committed");
		usleep(10000);
	}
	char path[128];
	snprintf(path, sizeof(path), "%s/jobs/pid.txt", dir);
	char *pid = test_read_file(path);
	/* To simrun alone, not its process group: it must pass it on. */
	cr_assert_eq(kill((pid_t)atol(pid), SIGTERM), 0);
	free(pid);
	snprintf(path, sizeof(path), "%s/jobs/rc.txt", dir);
	for (tries = 0; access(path, F_OK) != 0; tries++) {
		cr_assert_lt(tries, 3000, "simrun --jobs did not stop");
		usleep(10000);
	}
	usleep(50000);
	char *code = test_read_file(path);
	cr_expect_str_eq(code, "143\n");
	free(code);
	snprintf(path, sizeof(path), "%s/jobs/simrun.db", dir);
	char *st = test_sql_text(path, "SELECT status FROM campaign");
	cr_expect_str_eq(st, "interrupted");
	free(st);
	int64_t runs = test_sql_int(path, "SELECT count(*) FROM run");
	cr_expect_gt(runs, 0);
	cr_expect_lt(runs, 6000);
	cr_expect_eq(test_sql_int(path, "SELECT max(idx) + 1 FROM run"), runs,
		     "the interrupted campaign is not a prefix");

	rc = simrun_in("jobs", &out, "--resume");
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "campaign 1: 6000 of 6000 schedules run (done)"),
		  "%s", out);
	free(out);
	expect_same_dump("whole/simrun.db", "jobs/simrun.db");
}

/* What cannot be split is refused before anything runs or is recorded. */
Test(scale, dfs_and_stop_on_first_are_not_split)
{
	char *err = NULL;

	int rc = test_shf(NULL, &err, "cd %s && %s %s --strategy dfs "
			  "--schedules 4 --jobs 2", dir, test_simrun_path(),
			  SCENARIO);
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "the dfs strategy walks its schedules in one "
			      "sequence and cannot be split"), "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "cd %s && %s %s --stop-on-first --shard 0/2",
		      dir, test_simrun_path(), SCENARIO);
	cr_expect_eq(rc, 2);
	cr_expect(strstr(err, "--stop-on-first needs the whole campaign in "
			      "one process"), "%s", err);
	free(err);
	char path[128];
	snprintf(path, sizeof(path), "%s/simrun.db", dir);
	cr_expect_neq(access(path, F_OK), 0, "a refused campaign made a database");
}
