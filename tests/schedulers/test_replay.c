/*
 * test_replay.c: the `replay` strategy (schedulers/replay.c).  Records the
 * decision logs of random and pct runs of a world with blocking, sleeps,
 * model PRNG draws and two CPUs, replays each, and checks the outcome,
 * step count and trace hash are identical.  Then replays logs against
 * changed worlds and checks each way of diverging is reported, at the
 * decision and step it happened, which the test works out from the log
 * itself: a recorded choice that is not enabled, a log that ends while the
 * engine still asks, entries left over after the run; also that a malformed
 * log is refused when the strategy is created.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/waitq.h"
#include "tests/support.h"

struct recorded {
	uint8_t *log;
	size_t len;
	uint64_t hash;
	uint64_t steps;
	uint64_t decisions;
	enum run_outcome outcome;
};

static struct recorded record(struct engine *e, struct strategy *s,
			      uint64_t seed, uint64_t index,
			      void (*build)(struct engine *, void *), void *arg)
{
	struct recorded r;
	test_run_with(e, s, seed, index, build, arg, &r.outcome);
	const uint8_t *log = engine_decisions(e, &r.len);
	r.log = malloc(r.len ? r.len : 1);
	memcpy(r.log, log, r.len);
	r.hash = engine_trace_hash(e);
	r.steps = e->steps;
	r.decisions = e->decisions_count;
	engine_end(e);
	return r;
}

static struct strategy *make_replay(const struct recorded *r)
{
	char err[256];
	struct strategy_params sp = { .kind = STRATEGY_REPLAY,
				      .replay_log = r->log,
				      .replay_len = r->len };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	return s;
}

/* --------------------------------------------------- a world worth it */

/* Three tasks on two CPUs: a producer that sleeps a PRNG-drawn time and
 * wakes a consumer, a consumer that waits, and a task that yields with
 * drawn costs.  Replay must reproduce the model's draws as well as the
 * picks. */
static struct waitq *wq;
static int produced;

static void producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 4; i++) {
		sim_sleep(100 + prng_below(sim_prng(), 500));
		produced++;
		waitq_wake_all(wq);
		sim_yield(TRACE_YIELD, 1);
	}
}

static void consumer(void *arg)
{
	(void)arg;
	int seen = 0;
	while (seen < 4) {
		if (produced == seen) {
			waitq_wait(wq, 0, 0);
			continue;
		}
		seen++;
		sim_cost(50);
		sim_yield(TRACE_YIELD, 2);
	}
}

static void busy(void *arg)
{
	(void)arg;
	for (int i = 0; i < 12; i++) {
		sim_cost(prng_below(sim_prng(), 200));
		sim_yield(TRACE_YIELD, 3);
	}
}

static void build_world(struct engine *e, void *arg)
{
	(void)arg;
	produced = 0;
	wq = arena_new(&e->arena, struct waitq);
	waitq_init(wq, 7, NULL);
	task_create(e, "producer", 0, producer, NULL);
	task_create(e, "consumer", 1, consumer, NULL);
	task_create(e, "busy", 1, busy, NULL);
}

static void check_roundtrip(struct engine *e, struct strategy *s,
			    uint64_t base)
{
	for (uint32_t i = 0; i < 100; i++) {
		uint64_t seed = sim_run_seed(base, i);
		struct recorded r = record(e, s, seed, i, build_world, NULL);
		cr_assert_eq(r.outcome, RUN_OK);
		cr_assert_gt(r.decisions, 0);

		struct strategy *rp = make_replay(&r);
		enum run_outcome o;
		cr_assert_not(test_run_with(e, rp, seed, 0, build_world, NULL,
					    &o), "replay has one schedule");
		cr_assert_eq(o, r.outcome);
		cr_assert_eq(e->steps, r.steps);
		cr_assert_eq(e->decisions_count, r.decisions);
		cr_assert_eq(engine_trace_hash(e), r.hash, "seed index %u", i);
		cr_assert_not(strategy_diverged(rp, NULL));
		size_t len;
		const uint8_t *log = engine_decisions(e, &len);
		cr_assert_eq(len, r.len);
		cr_assert(memcmp(log, r.log, len) == 0);
		engine_end(e);
		strategy_destroy(rp);
		free(r.log);
	}
}

Test(replay, reproduces_random_runs)
{
	struct engine *e = test_engine(2);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	check_roundtrip(e, s, 31);
	strategy_destroy(s);
	test_engine_done(e);
}

Test(replay, reproduces_pct_runs)
{
	struct engine *e = test_engine(2);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_PCT, .pct_depth = 3,
				      .pct_steps = 30 };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	check_roundtrip(e, s, 32);
	strategy_destroy(s);
	test_engine_done(e);
}

/* ------------------------------------------------------ changed worlds */

/* Tasks of given step counts on one CPU. */
static void stepper(void *arg)
{
	uintptr_t steps = (uintptr_t)arg;
	for (uintptr_t i = 1; i < steps; i++)
		sim_yield(TRACE_YIELD, (uint32_t)i);
}

struct spec {
	uint32_t n;
	uint32_t steps[4];
};

static void build_spec(struct engine *e, void *arg)
{
	const struct spec *sp = arg;
	for (uint32_t i = 0; i < sp->n; i++)
		task_create(e, "t", 0, stepper,
			    (void *)(uintptr_t)sp->steps[i]);
}

static uint32_t decode_all(const struct recorded *r, uint32_t *ids,
			   uint32_t cap)
{
	size_t pos = 0;
	uint32_t n = 0;
	uint8_t kind;
	uint32_t id;
	while (decision_decode(r->log, r->len, &pos, &kind, &id)) {
		cr_assert_eq(kind, CHOICE_TASK);
		cr_assert_lt(n, cap);
		ids[n++] = id;
	}
	return n;
}

/*
 * Recorded with tasks of 5, 5 and 5 steps, replayed with task 0 cut to 3.
 * The replay follows the log until its entry for task 0's fourth step; up
 * to there all three tasks live or only task 0 has gone, so every step was
 * a decision, and the run diverges at that entry's decision, at that step.
 * The test picks the first seed whose log has that entry while tasks 1 and
 * 2 both still had steps left.
 */
Test(replay, a_choice_not_enabled_diverges_there)
{
	struct engine *e = test_engine(1);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *rnd = strategy_create(&sp, err, sizeof(err));
	struct spec recorded_world = { 3, { 5, 5, 5 } };
	struct spec changed_world = { 3, { 3, 5, 5 } };
	uint32_t tried = 0;

	for (uint64_t seed = 1; seed < 200; seed++) {
		struct recorded r = record(e, rnd, seed, 0, build_spec,
					   &recorded_world);
		uint32_t ids[64], left[3] = { 5, 5, 5 };
		uint32_t n = decode_all(&r, ids, 64), at = UINT32_MAX;
		uint32_t taken0 = 0;
		for (uint32_t d = 0; d < n && at == UINT32_MAX; d++) {
			if (ids[d] == 0 && ++taken0 == 4)
				at = d;
			left[ids[d]]--;
		}
		bool others_live = at != UINT32_MAX && left[1] > 0 &&
				   left[2] > 0;
		if (others_live) {
			/* left[] counted the entry at `at` too; 1 and 2 are
			 * unaffected by it. */
			struct strategy *rp = make_replay(&r);
			enum run_outcome o;
			uint64_t where = 0;
			cr_assert_not(test_run_with(e, rp, seed, 0, build_spec,
						    &changed_world, &o));
			cr_assert_eq(o, RUN_DIVERGED);
			cr_assert(strategy_diverged(rp, &where));
			cr_assert_eq(where, at, "seed %llu",
				     (unsigned long long)seed);
			cr_assert_eq(e->steps, at, "diverged at step %llu",
				     (unsigned long long)e->steps);
			cr_assert_eq(e->decisions_count, at);
			engine_end(e);
			strategy_destroy(rp);
			tried++;
		}
		free(r.log);
	}
	cr_log_info("%u seeds diverged where the log said", tried);
	cr_assert_gt(tried, 10);
	strategy_destroy(rnd);
	test_engine_done(e);
}

/* Recorded with two tasks, replayed with a third: the log runs out while
 * three tasks keep the engine asking.  Until then every step was a
 * decision, so it diverges at decision = step = the number of entries. */
Test(replay, a_log_that_ends_early_diverges_at_its_end)
{
	struct engine *e = test_engine(1);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *rnd = strategy_create(&sp, err, sizeof(err));
	struct spec two = { 2, { 4, 6 } };
	struct spec three = { 3, { 4, 6, 3 } };

	for (uint64_t seed = 1; seed < 50; seed++) {
		struct recorded r = record(e, rnd, seed, 0, build_spec, &two);
		struct strategy *rp = make_replay(&r);
		enum run_outcome o;
		uint64_t where = 0;
		cr_assert_not(test_run_with(e, rp, seed, 0, build_spec, &three,
					    &o));
		cr_assert_eq(o, RUN_DIVERGED);
		cr_assert(strategy_diverged(rp, &where));
		cr_assert_eq(where, r.decisions);
		cr_assert_eq(e->steps, r.decisions);
		engine_end(e);
		strategy_destroy(rp);
		free(r.log);
	}
	strategy_destroy(rnd);
	test_engine_done(e);
}

/* Recorded with tasks of 5 and 5 steps, replayed with task 0 cut to 2:
 * once task 0 has taken its two steps only task 1 is left, the engine
 * asks nothing more and the run ends ok, with the rest of the log unread.
 * That is a divergence at the decision after task 0's second entry. */
Test(replay, entries_left_over_are_a_divergence)
{
	struct engine *e = test_engine(1);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *rnd = strategy_create(&sp, err, sizeof(err));
	struct spec recorded_world = { 2, { 5, 5 } };
	struct spec changed_world = { 2, { 2, 5 } };
	uint32_t tried = 0;

	for (uint64_t seed = 1; seed < 100; seed++) {
		struct recorded r = record(e, rnd, seed, 0, build_spec,
					   &recorded_world);
		uint32_t ids[64];
		uint32_t n = decode_all(&r, ids, 64), at = UINT32_MAX;
		uint32_t taken0 = 0;
		for (uint32_t d = 0; d < n && at == UINT32_MAX; d++)
			if (ids[d] == 0 && ++taken0 == 2)
				at = d + 1;
		if (at == UINT32_MAX || at >= n) {
			free(r.log);
			continue;
		}
		struct strategy *rp = make_replay(&r);
		enum run_outcome o;
		uint64_t where = 0;
		cr_assert_not(test_run_with(e, rp, seed, 0, build_spec,
					    &changed_world, &o));
		cr_assert_eq(o, RUN_OK, "the engine saw nothing wrong");
		cr_assert(strategy_diverged(rp, &where));
		cr_assert_eq(where, at);
		cr_assert_eq(e->decisions_count, at);
		engine_end(e);
		strategy_destroy(rp);
		free(r.log);
		tried++;
	}
	cr_assert_gt(tried, 10);
	strategy_destroy(rnd);
	test_engine_done(e);
}

Test(replay, an_empty_log_diverges_at_the_first_choice)
{
	struct engine *e = test_engine(1);
	struct recorded r = { .log = NULL, .len = 0 };
	struct strategy *rp = make_replay(&r);
	struct spec two = { 2, { 2, 2 } };
	enum run_outcome o;
	uint64_t where = 99;
	cr_assert_not(test_run_with(e, rp, 1, 0, build_spec, &two, &o));
	cr_assert_eq(o, RUN_DIVERGED);
	cr_assert(strategy_diverged(rp, &where));
	cr_assert_eq(where, 0);
	cr_assert_eq(e->steps, 0);
	strategy_destroy(rp);
	/* The same empty log fits a world that never asks. */
	struct spec one = { 1, { 3 } };
	rp = make_replay(&r);
	cr_assert_not(test_run_with(e, rp, 1, 0, build_spec, &one, &o));
	cr_assert_eq(o, RUN_OK);
	cr_assert_not(strategy_diverged(rp, NULL));
	strategy_destroy(rp);
	test_engine_done(e);
}

Test(replay, refuses_a_malformed_log)
{
	char err[256] = "";
	uint8_t good[8];
	size_t len = decision_encode(good, CHOICE_TASK, 3);
	len += decision_encode(good + len, CHOICE_EVENT, 300);
	uint8_t bad[8];
	memcpy(bad, good, len);
	bad[len] = 0x80;		/* a varint that never ends */
	struct strategy_params sp = { .kind = STRATEGY_REPLAY,
				      .replay_log = bad,
				      .replay_len = len + 1 };
	cr_assert_null(strategy_create(&sp, err, sizeof(err)));
	cr_assert(strstr(err, "malformed at byte 3") != NULL, "%s", err);
	sp.replay_log = NULL;
	cr_assert_null(strategy_create(&sp, err, sizeof(err)));
	sp.replay_log = good;
	sp.replay_len = len;
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	strategy_destroy(s);
}
