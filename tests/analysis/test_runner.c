/*
 * test_runner.c: the campaign loop's --verify (analysis/runner.c).  With
 * verify on, every problem run is executed a second time from its own
 * decision log and its trace hash compared: a deterministic campaign
 * verifies every problem run and records as usual.  When the second
 * execution is made to differ (the test-only verify_perturb hook moves a
 * CPU's clock by one nanosecond before the run starts), the campaign stops
 * at the first problem run with RUNNER_ERR_VERIFY, both hashes, the seed
 * and the schedule; that run is not recorded, the runs before it are, and
 * the campaign is recorded as failed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "analysis/runner.h"
#include "tests/support.h"

#define SCENARIO SIMRUN_SOURCE_DIR "/scenarios/rwsem-fair-deadlock.json"

static char dir[64], path[128];
static struct scenario *sc;

static void setup(void)
{
	char err[1024];

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/simrun.db", dir);
	sc = scenario_load_file(SCENARIO, "fair", err, sizeof(err));
	cr_assert_not_null(sc, "%s", err);
}

static void teardown(void)
{
	scenario_free(sc);
	test_rmtree(dir);
}

TestSuite(runner, .init = setup, .fini = teardown);

static struct runner_result *campaign(bool verify,
				      void (*perturb)(void *ctx, struct engine *e),
				      struct store *st)
{
	struct runner_result *res = calloc(1, sizeof(*res));
	struct runner_params p = {
		.sc = sc,
		.strategy = { .kind = STRATEGY_PCT },
		.base_seed = 1,
		.schedules = 60,
		.store = st,
		.verify = verify,
		.verify_perturb = perturb,
	};

	cr_assert_not_null(res);
	runner_run(&p, res);
	return res;
}

static struct store *open_store(void)
{
	char err[512];
	struct store *st;

	cr_assert_eq(store_open(path, NULL, &st, err, sizeof(err)), STORE_OK, "%s", err);
	return st;
}

Test(runner, verify_checks_every_problem_run)
{
	struct runner_result *plain = campaign(false, NULL, NULL);
	struct runner_result *res = campaign(true, NULL, NULL);

	cr_assert_eq(plain->rc, RUNNER_OK);
	cr_assert_gt(plain->problem_runs, 0, "no problem run to verify");
	cr_expect_eq(plain->verified, 0);
	cr_assert_eq(res->rc, RUNNER_OK, "%s", res->err);
	cr_expect_eq(res->verified, plain->problem_runs);
	cr_expect_eq(res->problem_runs, plain->problem_runs);
	cr_expect_eq(res->first.trace_hash, plain->first.trace_hash);
	free(plain);
	free(res);
}

static void shift_clock(void *ctx, struct engine *e)
{
	(void)ctx;
	e->cpus[0].clock_ns += 1;
}

Test(runner, a_run_that_does_not_repeat_itself_stops_the_campaign)
{
	struct runner_result *plain = campaign(false, NULL, NULL);
	cr_assert(plain->has_problem);
	uint64_t first = plain->first_problem_idx;

	struct store *st = open_store();
	struct runner_result *res = campaign(true, shift_clock, st);
	char err[512];
	cr_assert_eq(store_close(st, err, sizeof(err)), STORE_OK, "%s", err);

	cr_assert_eq(res->rc, RUNNER_ERR_VERIFY, "rc %d: %s", res->rc, res->err);
	cr_expect_eq(res->verify_idx, first);
	cr_expect_eq(res->verify_seed, sim_run_seed(1, first));
	cr_expect_neq(res->verify_hash_first, res->verify_hash_second);
	cr_expect_eq(res->schedules_run, first, "runs after the mismatch were counted");
	cr_expect_eq(res->verified, 0);
	cr_expect_eq(res->status, STORE_FAILED);

	char h1[17], h2[17], seed[32], sched[32];
	snprintf(h1, sizeof(h1), "%016" PRIx64, res->verify_hash_first);
	snprintf(h2, sizeof(h2), "%016" PRIx64, res->verify_hash_second);
	snprintf(seed, sizeof(seed), "run seed %" PRIu64, res->verify_seed);
	snprintf(sched, sizeof(sched), "schedule %" PRIu64 " ", first);
	cr_expect(strstr(res->err, h1) != NULL, "%s", res->err);
	cr_expect(strstr(res->err, h2) != NULL, "%s", res->err);
	cr_expect(strstr(res->err, seed) != NULL, "%s", res->err);
	cr_expect(strstr(res->err, sched) != NULL, "%s", res->err);

	/* The runs before it are recorded; it is not. */
	char sql[128];
	cr_expect_eq(test_sql_int(path, "SELECT count(*) FROM run"), (int64_t)first);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM run WHERE idx = %" PRIu64, first);
	cr_expect_eq(test_sql_int(path, sql), 0, "the run that differed was recorded");
	char *status = test_sql_text(path, "SELECT status FROM campaign");
	cr_expect_str_eq(status, "failed");
	free(status);
	free(plain);
	free(res);
}
