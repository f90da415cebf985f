/*
 * test_sim_assert.c: a failed model assertion (engine/sim_assert.c) inside
 * one schedule is that run's finding, not the end of the campaign.  Four
 * schedules of a world whose task asserts in schedules 1 and 3 are
 * recorded in a result database: those two runs end model_assert with a
 * model_assert finding whose summary names the expression and file:line,
 * with one signature in both (different seeds, same assertion site), and
 * keep their decision logs; schedules 0 and 2 end ok; and a recorded
 * failing run replays to the same finding and trace hash.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/store.h"
#include "engine/engine.h"
#include "tests/support.h"

static volatile int two = 2;
static int assert_line;

static void checker(void *arg)
{
	bool fail = arg != NULL;

	sim_yield(TRACE_YIELD, 0);
	assert_line = __LINE__ + 1;
	SIM_ASSERT(!fail || two + two == 5);
	sim_yield(TRACE_YIELD, 0);
}

static void other(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		sim_yield(TRACE_YIELD, 0);
}

static void build(struct engine *e, void *arg)
{
	task_create(e, "checker", 0, checker, arg);
	task_create(e, "other", 0, other, NULL);
}

static bool fails(uint64_t i)
{
	return i == 1 || i == 3;
}

Test(sim_assert, a_model_assert_is_recorded_and_the_campaign_goes_on)
{
	char dir[64], path[128], err[512], serr[128], site[64];
	struct store *st;
	int64_t campaign;
	uint64_t base = 99, sig = 0, hash = 0;

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/simrun.db", dir);
	cr_assert_eq(store_open(path, NULL, &st, err, sizeof(err)), STORE_OK, "%s", err);
	struct store_campaign c = { .scenario_name = "asserts", .scenario_json = "{}",
				    .scenario_json_len = 2, .strategy = "random",
				    .base_seed = base, .schedules = 4 };
	cr_assert_eq(store_campaign_begin(st, &c, &campaign), STORE_OK);
	struct engine *e = test_engine(1);
	struct strategy *s = strategy_create(&(struct strategy_params){ .kind = STRATEGY_RANDOM },
					     serr, sizeof(serr));
	cr_assert_not_null(s, "%s", serr);
	for (uint64_t i = 0; i < 4; i++) {
		enum run_outcome o;
		uint64_t seed = sim_run_seed(base, i);
		test_run_with(e, s, seed, i, build, fails(i) ? (void *)1 : NULL, &o);
		if (fails(i)) {
			cr_assert_eq(o, RUN_ASSERT, "schedule %llu: %s", (unsigned long long)i,
				     run_outcome_name(o));
			cr_assert_eq(test_findings_count(e, "model_assert"), 1);
			const struct finding *f = test_finding(e, "model_assert", 0);
			snprintf(site, sizeof(site), "(test_sim_assert.c:%d)", assert_line);
			cr_expect(strstr(f->summary, "two + two == 5") != NULL, "%s", f->summary);
			cr_expect(strstr(f->summary, site) != NULL, "%s", f->summary);
			if (i == 1) {
				sig = f->signature;
				hash = engine_trace_hash(e);
			}
			cr_expect_eq(f->signature, sig, "the signature changed between schedules");
		} else {
			cr_assert_eq(o, RUN_OK, "schedule %llu: %s", (unsigned long long)i,
				     run_outcome_name(o));
		}
		struct run_result r = { .index = i, .seed = seed, .outcome = o,
					.steps = e->steps, .decisions = e->decisions_count,
					.virtual_ns = e->virtual_ns,
					.trace_hash = engine_trace_hash(e) };
		struct store_run sr;
		store_run_fill(&sr, &r, e);
		cr_assert_eq(store_run_add(st, campaign, &sr, e->findings, e->findings_count),
			     STORE_OK, "%s", store_error(st));
	}
	strategy_destroy(s);
	cr_assert_eq(store_campaign_end(st, campaign, STORE_DONE), STORE_OK);

	for (uint64_t i = 0; i < 4; i++) {
		struct store_run_info info;
		int64_t run_id;
		cr_assert_eq(store_find_run(st, campaign, i, &run_id), STORE_OK);
		cr_assert_eq(store_load_run(st, run_id, &info), STORE_OK);
		cr_expect_eq(info.outcome, fails(i) ? RUN_ASSERT : RUN_OK);
		cr_expect_eq(info.has_decisions, fails(i), "schedule %llu", (unsigned long long)i);
		cr_expect_eq(info.findings_count, fails(i) ? 1u : 0u);
		if (i == 1) {
			cr_expect_str_eq(info.findings[0].kind, "model_assert");
			cr_expect_eq(info.findings[0].signature, sig);
			s = strategy_create(&(struct strategy_params){
						    .kind = STRATEGY_REPLAY,
						    .replay_log = info.decisions,
						    .replay_len = info.decisions_len },
					    serr, sizeof(serr));
			cr_assert_not_null(s, "%s", serr);
			enum run_outcome o;
			test_run_with(e, s, info.seed, 0, build, (void *)1, &o);
			cr_expect_eq(o, RUN_ASSERT);
			cr_expect_eq(test_finding(e, "model_assert", 0)->signature, sig);
			cr_expect_eq(engine_trace_hash(e), hash);
			strategy_destroy(s);
		}
		store_run_info_free(&info);
	}
	cr_assert_eq(store_close(st, err, sizeof(err)), STORE_OK, "%s", err);
	test_rmtree(dir);
	test_engine_done(e);
}
