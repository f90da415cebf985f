/*
 * test_campaign.c: running schedules of a scenario (analysis/campaign.c).
 * Loads small scenarios from JSON text and checks: dfs schedules all run
 * with the base seed and the search ends exhausted after the count worked
 * out by hand, while sampling strategies get sim_run_seed(base, index);
 * the PCT calibration returns the decisions of a timed run of schedule 0,
 * whatever ran before it, unseen by hook subscribers and the text trace,
 * and leaves nothing live; a replay that finishes with log entries left
 * over is reported as diverged.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/campaign.h"
#include "tests/support.h"

/* Two tasks on two CPUs, each sleeping twice: each task's steps are
 * T1 E1 T2 E2 T3 (a sleep blocks, its timer fires, the task goes on), so
 * dfs without a bound enumerates the C(10, 5) = 252 interleavings of two
 * chains of five. */
static const char two_sleepers[] =
	"{ \"name\": \"two-sleepers\", \"machine\": { \"cpus\": 2 },"
	"  \"tasks\": ["
	"    { \"name\": \"a\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": 1000 } }, { \"sleep\": { \"ns\": 300 } } ] },"
	"    { \"name\": \"b\", \"cpu\": 1, \"ops\": [ { \"sleep\": { \"ns\": 700 } }, { \"sleep\": { \"ns\": 900 } } ] }"
	"  ] }";

/* Task a alone: nothing is ever a choice. */
static const char one_sleeper[] =
	"{ \"name\": \"one-sleeper\", \"machine\": { \"cpus\": 2 },"
	"  \"tasks\": ["
	"    { \"name\": \"a\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": 1000 } }, { \"sleep\": { \"ns\": 300 } } ] }"
	"  ] }";

static struct scenario *load(const char *text)
{
	char err[512];
	struct scenario *sc = scenario_load_text(text, strlen(text), "test",
						 NULL, err, sizeof(err));
	cr_assert_not_null(sc, "%s", err);
	return sc;
}

static struct strategy *make(struct strategy_params sp)
{
	char err[256];
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	return s;
}

static void done(struct engine *e, struct scenario *sc)
{
	engine_end(e);
	struct engine_live live = engine_live_counts(e);
	cr_expect_eq(live.tasks + live.stacks + live.events, 0);
	cr_expect_eq(live.arena_bytes, 0);
	engine_destroy(e);
	scenario_free(sc);
}

Test(campaign, dfs_schedules_all_run_with_the_base_seed)
{
	struct scenario *sc = load(two_sleepers);
	struct engine *e = campaign_engine(sc, NULL);
	struct strategy *s = make((struct strategy_params){
		.kind = STRATEGY_DFS, .preemptions_max = UINT32_MAX });
	struct run_result r;
	uint64_t index = 0;
	bool more = true;

	while (more) {
		cr_assert_lt(index, 1000);
		more = campaign_run_schedule(e, sc, s, NULL, 42, index, &r);
		cr_assert_eq(r.seed, 42, "schedule %llu",
			     (unsigned long long)index);
		cr_assert_eq(r.outcome, RUN_OK);
		index++;
	}
	cr_assert_eq(index, 252);
	cr_assert(strategy_exhausted(s));
	strategy_destroy(s);
	done(e, sc);
}

Test(campaign, sampling_strategies_get_a_seed_per_schedule)
{
	struct scenario *sc = load(two_sleepers);
	struct engine *e = campaign_engine(sc, NULL);
	struct strategy *s = make((struct strategy_params){
		.kind = STRATEGY_RANDOM });
	struct run_result r;

	for (uint64_t i = 0; i < 5; i++) {
		cr_assert(campaign_run_schedule(e, sc, s, NULL, 42, i, &r));
		cr_assert_eq(r.seed, sim_run_seed(42, i));
		cr_assert_eq(r.index, i);
	}
	strategy_destroy(s);
	done(e, sc);
}

static int hook_calls;

static void count_begin(void *ctx, struct engine *e)
{
	(void)ctx;
	(void)e;
	hook_calls++;
}

static void count_step(void *ctx, const struct trace_rec *rec)
{
	(void)ctx;
	(void)rec;
	hook_calls++;
}

Test(campaign, pct_calibration_is_a_timed_run_of_schedule_0)
{
	struct scenario *sc = load(two_sleepers);
	char *trace = NULL;
	size_t trace_len = 0;
	FILE *trace_out = open_memstream(&trace, &trace_len);
	struct engine *e = campaign_engine(sc, trace_out);
	struct strategy *timed = make((struct strategy_params){
		.kind = STRATEGY_TIMED });
	struct strategy *rnd = make((struct strategy_params){
		.kind = STRATEGY_RANDOM });
	struct engine_hooks h = { .ctx = &hook_calls,
				  .run_begin = count_begin,
				  .step = count_step };
	struct run_result r;

	cr_assert(engine_subscribe(e, &h));
	for (uint64_t base = 1; base < 30; base++) {
		campaign_run_schedule(e, sc, timed, NULL, base, 0, &r);
		uint64_t want = r.decisions;
		cr_assert_gt(want, 0);
		/* Whatever ran before does not matter. */
		for (uint64_t i = 0; i < 3; i++)
			campaign_run_schedule(e, sc, rnd, NULL, base, i, &r);
		fflush(trace_out);
		size_t trace_before = trace_len;
		hook_calls = 0;
		uint64_t k = campaign_estimate_pct_steps(e, sc, base);
		cr_assert_eq(k, want, "base %llu", (unsigned long long)base);
		cr_assert_eq(hook_calls, 0, "subscribers saw the calibration");
		fflush(trace_out);
		cr_assert_eq(trace_len, trace_before, "the trace showed it");
		struct engine_live live = engine_live_counts(e);
		cr_assert_eq(live.tasks + live.events, 0);
		cr_assert_eq(e->hooks_count, 1);
		cr_assert_eq(e->step_hooks_count, 1);
	}
	/* The subscriber is back for the campaign's own schedules. */
	campaign_run_schedule(e, sc, rnd, NULL, 1, 0, &r);
	cr_assert_eq((uint64_t)hook_calls, 1 + r.steps);
	cr_assert_gt(trace_len, 0);
	strategy_destroy(timed);
	strategy_destroy(rnd);
	done(e, sc);
	fclose(trace_out);
	free(trace);
}

Test(campaign, pct_calibration_is_at_least_one)
{
	struct scenario *sc = load(one_sleeper);
	struct engine *e = campaign_engine(sc, NULL);
	cr_assert_eq(campaign_estimate_pct_steps(e, sc, 9), 1);
	/* And it is usable as pct_steps. */
	struct strategy *s = make((struct strategy_params){
		.kind = STRATEGY_PCT, .pct_depth = 3, .pct_steps = 1 });
	struct run_result r;
	cr_assert(campaign_run_schedule(e, sc, s, NULL, 9, 0, &r));
	cr_assert_eq(r.outcome, RUN_OK);
	strategy_destroy(s);
	done(e, sc);
}

Test(campaign, replay_with_entries_left_is_reported_diverged)
{
	struct scenario *two = load(two_sleepers);
	struct scenario *one = load(one_sleeper);
	struct engine *e = campaign_engine(two, NULL);
	struct strategy *rnd = make((struct strategy_params){
		.kind = STRATEGY_RANDOM });
	struct run_result r;

	campaign_run_schedule(e, two, rnd, NULL, 5, 0, &r);
	size_t len;
	const uint8_t *log = engine_decisions(e, &len);
	uint8_t *copy = malloc(len);
	memcpy(copy, log, len);
	cr_assert_gt(len, 0);

	/* Against its own world it replays cleanly ... */
	struct strategy *rp = make((struct strategy_params){
		.kind = STRATEGY_REPLAY, .replay_log = copy,
		.replay_len = len });
	uint64_t hash = r.trace_hash;
	cr_assert_not(campaign_run_schedule(e, two, rp, NULL, 5, 0, &r));
	cr_assert_eq(r.outcome, RUN_OK);
	cr_assert_eq(r.trace_hash, hash);
	strategy_destroy(rp);

	/* ... and against a world that never asks, it finishes with every
	 * entry left: the engine says ok, the campaign says diverged. */
	rp = make((struct strategy_params){ .kind = STRATEGY_REPLAY,
					    .replay_log = copy,
					    .replay_len = len });
	uint64_t at = 99;
	cr_assert_not(campaign_run_schedule(e, one, rp, NULL, 5, 0, &r));
	cr_assert_eq(r.outcome, RUN_DIVERGED);
	cr_assert(strategy_diverged(rp, &at));
	cr_assert_eq(at, 0);
	strategy_destroy(rp);
	strategy_destroy(rnd);
	free(copy);
	scenario_free(one);
	done(e, two);
}
