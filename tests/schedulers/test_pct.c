/*
 * test_pct.c: the `pct` strategy (schedulers/pct.c).  Plants ordering bugs
 * of depth 2 and 3 in worlds of n = 4 tasks and k = 16 steps, runs 10,000
 * seeds of pct and of random on each, prints both rates, and checks that
 * pct finds the bug in at least the fraction 1/(n * k^(d-1)) of seeds (the
 * paper's bound) and more often than random.  Also checks the rule itself
 * from outside: the same seed gives the same schedule, alone or within a
 * campaign; with d = 1 the first choice is uniform over tasks and events
 * alike and nothing is preempted; a run has at most d - 1 preemptions; a
 * change point drops the choice below all others, earlier drops included;
 * a task that backs off in a sleep loop gives way to the task it waits for
 * (rule 4); bad parameters are refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/support.h"

#define RUNS 10000u
#define BASE_SEED 2010u

static struct strategy *make(enum strategy_kind kind, uint32_t depth,
			     uint64_t steps)
{
	char err[256];
	struct strategy_params sp = { .kind = kind, .pct_depth = depth,
				      .pct_steps = steps };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert(s != NULL, "strategy_create: %s", err);
	return s;
}

/* --------------------------------------------------------- planted bugs */

/*
 * Task A opens a window in its step W and closes it in step W + 1, its
 * last.  Task B checks the window in its step 1 and, for the depth-3 bug,
 * in its steps J and J + 1, its last.  C and D take two steps each and
 * touch nothing: they make n = 4 and shift the decisions around.
 *
 * Depth 2: B's step 1 sees the window open: A.W -> B.1 -> A.(W+1).  Random
 * needs A to run W steps before B's first one and then B: about 2^-(W+1).
 * PCT needs A above B (1/2) and its change point at A's step W + 1 (1/k).
 *
 * Depth 3: B sees the window open in steps 1 and J, closed in step J + 1:
 * A.W -> B.1, B.J -> A.(W+1), A.(W+1) -> B.(J+1).  Random needs that and
 * B to run J steps in a row, about 2^-(W+J+1); PCT needs A above B and its
 * two change points at A's step W + 1 and B's step J + 1 (1/C(k, 2)).
 */
struct bug {
	uint32_t a_steps;	/* W + 1 */
	uint32_t b_steps;	/* J + 1 for depth 3, anything for depth 2 */
	uint32_t depth;
};

static bool window_open;
static bool b_saw[3];		/* open at step 1, open at J, closed at J+1 */

static void bug_a(void *arg)
{
	const struct bug *b = arg;
	for (uint32_t s = 1; s <= b->a_steps; s++) {
		if (s == b->a_steps - 1)
			window_open = true;
		if (s == b->a_steps)
			window_open = false;
		if (s < b->a_steps)
			sim_yield(TRACE_YIELD, s);
	}
}

static void bug_b(void *arg)
{
	const struct bug *b = arg;
	for (uint32_t s = 1; s <= b->b_steps; s++) {
		if (s == 1)
			b_saw[0] = window_open;
		if (s == b->b_steps - 1)
			b_saw[1] = window_open;
		if (s == b->b_steps)
			b_saw[2] = !window_open;
		if (s < b->b_steps)
			sim_yield(TRACE_YIELD, 100 + s);
	}
}

static void two_steps(void *arg)
{
	(void)arg;
	sim_yield(TRACE_YIELD, 200);
}

static void build_bug(struct engine *e, void *arg)
{
	window_open = false;
	memset(b_saw, 0, sizeof(b_saw));
	task_create(e, "A", 0, bug_a, arg);
	task_create(e, "B", 1, bug_b, arg);
	task_create(e, "C", 0, two_steps, NULL);
	task_create(e, "D", 1, two_steps, NULL);
}

static bool bug_found(const struct bug *b)
{
	if (b->depth == 2)
		return b_saw[0];
	return b_saw[0] && b_saw[1] && b_saw[2];
}

static uint32_t hits(struct engine *e, struct strategy *s,
		     const struct bug *b)
{
	uint32_t found = 0;
	for (uint32_t i = 0; i < RUNS; i++) {
		enum run_outcome o;
		test_run_with(e, s, sim_run_seed(BASE_SEED, i), i, build_bug,
			      (void *)b, &o);
		cr_assert_eq(o, RUN_OK);
		found += bug_found(b);
		engine_end(e);
	}
	return found;
}

static void check_planted(const struct bug *b)
{
	const uint32_t n = 4;
	const uint64_t k = b->a_steps + b->b_steps + 2 + 2;
	uint64_t k_pow = 1;
	for (uint32_t i = 1; i < b->depth; i++)
		k_pow *= k;

	struct engine *e = test_engine(2);
	struct strategy *pct = make(STRATEGY_PCT, b->depth, k);
	struct strategy *rnd = make(STRATEGY_RANDOM, 0, 0);
	uint32_t pct_hits = hits(e, pct, b);
	uint32_t rnd_hits = hits(e, rnd, b);

	cr_log_info("depth %u bug, n=%u k=%llu, %u seeds: pct %.4f (%u), random %.4f (%u), bound 1/(n*k^(d-1)) = %.4f",
		    b->depth, n, (unsigned long long)k, RUNS,
		    (double)pct_hits / RUNS, pct_hits,
		    (double)rnd_hits / RUNS, rnd_hits, 1.0 / (double)(n * k_pow));
	printf("depth %u bug, n=%u k=%llu, %u seeds: pct %.4f (%u), random %.4f (%u), bound %.4f\n",
	       b->depth, n, (unsigned long long)k, RUNS,
	       (double)pct_hits / RUNS, pct_hits, (double)rnd_hits / RUNS,
	       rnd_hits, 1.0 / (double)(n * k_pow));
	fflush(stdout);
	/* pct_hits / RUNS >= 1 / (n * k^(d-1)), in integers. */
	cr_assert_geq((uint64_t)pct_hits * n * k_pow, RUNS,
		      "pct found the depth-%u bug in %u of %u seeds, below the bound",
		      b->depth, pct_hits, RUNS);
	cr_assert_gt(pct_hits, rnd_hits);
	strategy_destroy(pct);
	strategy_destroy(rnd);
	test_engine_done(e);
}

Test(pct, finds_depth_2_bug_within_the_bound)
{
	struct bug b = { .a_steps = 9, .b_steps = 3, .depth = 2 };
	check_planted(&b);
}

Test(pct, finds_depth_3_bug_within_the_bound)
{
	struct bug b = { .a_steps = 6, .b_steps = 6, .depth = 3 };
	check_planted(&b);
}

/* ------------------------------------------------------------ the rule */

/* Three tasks of a few steps and two events queued at time 0: five
 * entities that all compete from the first choice point. */
static int first_kind;			/* 0..2 a task, 3..4 an event */
static uint32_t order[64];
static uint32_t order_n;

static void note(uint32_t who)
{
	if (first_kind < 0)
		first_kind = (int)who;
	if (order_n < 64)
		order[order_n++] = who;
}

static void noting_task(void *arg)
{
	uintptr_t who = (uintptr_t)arg;
	for (int i = 0; i < 3; i++) {
		note((uint32_t)who);
		if (i < 2)
			sim_yield(TRACE_YIELD, (uint32_t)who);
	}
}

static void noting_event(void *arg)
{
	note((uint32_t)(uintptr_t)arg);
}

static void build_five(struct engine *e, void *arg)
{
	(void)arg;
	first_kind = -1;
	order_n = 0;
	for (uintptr_t t = 0; t < 3; t++)
		task_create(e, "t", (uint16_t)(t % 2), noting_task, (void *)t);
	for (uintptr_t v = 3; v < 5; v++)
		sim_event_add(0, TRACE_TIMER, (uint32_t)v, noting_event,
			      (void *)v);
}

/* With d = 1 there are no change points: the order is the priority order,
 * a uniformly random permutation of tasks and events together.  So each of
 * the five runs first in about a fifth of the seeds, and no task is ever
 * interrupted by another. */
Test(pct, depth_one_is_a_uniform_priority_order_over_tasks_and_events)
{
	struct engine *e = test_engine(2);
	struct strategy *s = make(STRATEGY_PCT, 1, 20);
	uint32_t firsts[5] = { 0 };
	const uint32_t runs = 5000;

	for (uint32_t i = 0; i < runs; i++) {
		enum run_outcome o;
		test_run_with(e, s, sim_run_seed(7, i), i, build_five, NULL, &o);
		cr_assert_eq(o, RUN_OK);
		cr_assert_eq(order_n, 3 * 3 + 2);
		firsts[first_kind]++;
		/* Each task's three steps are adjacent. */
		for (uint32_t j = 0; j < order_n; j++)
			if (order[j] < 3 && (j == 0 || order[j - 1] != order[j]))
				cr_assert(j + 2 < order_n &&
					  order[j + 1] == order[j] &&
					  order[j + 2] == order[j],
					  "seed index %u: task %u interrupted",
					  i, order[j]);
		engine_end(e);
	}
	for (int w = 0; w < 5; w++) {
		cr_log_info("d=1: entity %d ran first in %u of %u seeds", w,
			    firsts[w], runs);
		/* Expected 1000, standard deviation 28. */
		cr_assert(firsts[w] > 850 && firsts[w] < 1150,
			  "entity %d first in %u of %u", w, firsts[w], runs);
	}
	strategy_destroy(s);
	test_engine_done(e);
}

/* Preemptions counted from outside, by the definition. */
struct counting {
	struct chooser inner;
	uint32_t preemptions;
	uint32_t picks;
	uint32_t seq[256];	/* task id of each pick */
};

static uint32_t counting_pick(void *self, const struct choice_point *cp)
{
	struct counting *c = self;
	uint32_t i = c->inner.pick(c->inner.self, cp);
	bool last_enabled = false;
	for (uint32_t j = 0; j < cp->n; j++)
		last_enabled |= cp->choices[j].kind == CHOICE_TASK &&
				cp->choices[j].id == cp->last_task;
	if (last_enabled && cp->choices[i].id != cp->last_task)
		c->preemptions++;
	if (c->picks < 256)
		c->seq[c->picks] = cp->choices[i].id;
	c->picks++;
	return i;
}

static void stepper(void *arg)
{
	uintptr_t steps = (uintptr_t)arg;
	for (uintptr_t i = 1; i < steps; i++)
		sim_yield(TRACE_YIELD, (uint32_t)i);
}

static void build_three(struct engine *e, void *arg)
{
	(void)arg;
	for (uintptr_t t = 0; t < 3; t++)
		task_create(e, "t", 0, stepper, (void *)(uintptr_t)(4 + t));
}

/* Tasks that never block are only switched by change points: at most
 * d - 1 preemptions.  Not always exactly d - 1: a change point at decision
 * 0, or just after a task exited, drops a choice that was not preempting
 * anything.  But k = 8 is below the decisions of any run (at least 9), so
 * every change point falls in the run and most runs have d - 1. */
Test(pct, at_most_d_minus_1_preemptions)
{
	struct engine *e = test_engine(1);
	for (uint32_t d = 1; d <= 4; d++) {
		struct strategy *s = make(STRATEGY_PCT, d, 8);
		uint32_t exact = 0;
		for (uint32_t i = 0; i < 500; i++) {
			uint64_t seed = sim_run_seed(3, i);
			struct counting c = { .inner = strategy_chooser(s) };
			struct chooser ch = { counting_pick, &c };
			engine_begin(e, seed);
			build_three(e, NULL);
			strategy_begin(s, seed, i);
			cr_assert_eq(engine_run(e, &ch), RUN_OK);
			struct schedule_result r = { RUN_OK, e->steps,
						     e->decisions_count };
			strategy_end(s, &r);
			cr_assert_leq(c.preemptions, d - 1);
			exact += c.preemptions == d - 1;
			engine_end(e);
		}
		cr_log_info("d=%u: %u of 500 runs had d-1 preemptions", d,
			    exact);
		cr_assert_gt(exact, 250);
		strategy_destroy(s);
	}
	test_engine_done(e);
}

/*
 * d = 3 and k = 2: the change points are decisions 0 and 1.  Two tasks X
 * (higher) and Y of 3 steps.  Decision 0: X would run, drops (to 2), Y
 * runs.  Decision 1: Y would run, drops to 1, below X: X runs, and keeps
 * running to its end; then Y.  So every seed gives Y X X X Y Y, with X and
 * Y the seed's two tasks; were the second drop not below the first, Y
 * would run on at decision 1.
 */
Test(pct, a_dropped_choice_goes_below_earlier_drops)
{
	struct engine *e = test_engine(1);
	struct strategy *s = make(STRATEGY_PCT, 3, 2);
	for (uint32_t i = 0; i < 200; i++) {
		uint64_t seed = sim_run_seed(11, i);
		struct counting c = { .inner = strategy_chooser(s) };
		struct chooser ch = { counting_pick, &c };
		engine_begin(e, seed);
		task_create(e, "t0", 0, stepper, (void *)(uintptr_t)3);
		task_create(e, "t1", 0, stepper, (void *)(uintptr_t)3);
		strategy_begin(s, seed, i);
		cr_assert_eq(engine_run(e, &ch), RUN_OK);
		/* Decisions: Y, X, X, X (then Y runs alone). */
		cr_assert_eq(c.picks, 4);
		uint32_t y = c.seq[0], x = c.seq[1];
		cr_assert_neq(x, y);
		cr_assert_eq(c.seq[2], x);
		cr_assert_eq(c.seq[3], x);
		engine_end(e);
	}
	strategy_destroy(s);
	test_engine_done(e);
}

static uint64_t hash_of(struct engine *e, struct strategy *s, uint64_t seed,
			uint64_t index)
{
	enum run_outcome o;
	test_run_with(e, s, seed, index, build_five, NULL, &o);
	cr_assert_eq(o, RUN_OK);
	uint64_t h = engine_trace_hash(e);
	engine_end(e);
	return h;
}

/* A schedule re-run alone, with a fresh strategy, is the schedule the
 * campaign ran: nothing carries over from one schedule to the next. */
Test(pct, a_schedule_is_reproducible_alone)
{
	struct engine *e = test_engine(2);
	struct strategy *campaign = make(STRATEGY_PCT, 3, 11);
	uint64_t hashes[40];
	uint32_t distinct = 0;

	for (uint32_t i = 0; i < 40; i++)
		hashes[i] = hash_of(e, campaign, sim_run_seed(5, i), i);
	for (uint32_t i = 0; i < 40; i++) {
		struct strategy *alone = make(STRATEGY_PCT, 3, 11);
		cr_assert_eq(hash_of(e, alone, sim_run_seed(5, i), i),
			     hashes[i], "schedule %u", i);
		strategy_destroy(alone);
		bool seen = false;
		for (uint32_t j = 0; j < i; j++)
			seen |= hashes[j] == hashes[i];
		distinct += !seen;
	}
	cr_assert_gt(distinct, 10, "seeds explore different schedules");
	/* Depth 0 means the default, 3. */
	struct strategy *dflt = make(STRATEGY_PCT, 0, 11);
	for (uint32_t i = 0; i < 40; i++)
		cr_assert_eq(hash_of(e, dflt, sim_run_seed(5, i), i),
			     hashes[i]);
	strategy_destroy(dflt);
	strategy_destroy(campaign);
	test_engine_done(e);
}

/* Rule 4: a task that backs off in a sleep loop, waiting for another that
 * still has work to do, gives way to it.  Without the rule every new timer
 * draws a fresh priority and the sleeper wins half the rounds; with it, the
 * worker (never sleeping) always runs first, so the sleeper checks its flag
 * at most twice: once before sleeping and once when the worker is done. */
static bool work_done;
static uint32_t backoff_checks;

static void backoff_waiter(void *arg)
{
	(void)arg;
	for (;;) {
		backoff_checks++;
		if (work_done)
			break;
		sim_sleep(1000000);
	}
}

static void busy_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 30; i++)
		sim_yield(TRACE_YIELD, 0);
	work_done = true;
}

static void build_backoff(struct engine *e, void *arg)
{
	(void)arg;
	work_done = false;
	backoff_checks = 0;
	task_create(e, "waiter", 0, backoff_waiter, NULL);
	task_create(e, "worker", 1, busy_worker, NULL);
}

Test(pct, a_task_backing_off_gives_way_to_the_one_it_waits_for)
{
	struct engine *e = test_engine(2);
	struct strategy *s = make(STRATEGY_PCT, 3, 40);
	uint32_t most = 0;

	for (uint64_t seed = 0; seed < 1000; seed++) {
		enum run_outcome o;
		test_run_with(e, s, seed, seed, build_backoff, NULL, &o);
		cr_assert_eq(o, RUN_OK);
		if (backoff_checks > most)
			most = backoff_checks;
		engine_end(e);
	}
	cr_assert_leq(most, 2, "the sleeper ran ahead of the worker");
	strategy_destroy(s);
	test_engine_done(e);
}

Test(pct, refuses_unusable_parameters)
{
	char err[256] = "";
	struct strategy_params sp = { .kind = STRATEGY_PCT, .pct_depth = 3 };
	cr_assert_null(strategy_create(&sp, err, sizeof(err)));
	cr_assert(strstr(err, "pct_steps") != NULL, "%s", err);
	sp.pct_steps = 100;
	sp.pct_depth = PCT_DEPTH_MAX + 1;
	cr_assert_null(strategy_create(&sp, err, sizeof(err)));
	cr_assert(strstr(err, "depth") != NULL, "%s", err);
	sp.pct_depth = PCT_DEPTH_MAX;
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	strategy_destroy(s);
}
