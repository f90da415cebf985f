/*
 * test_dfs.c: the `dfs` strategy (schedulers/dfs.c).  Builds worlds of
 * independent tasks with known step counts (and one with a timer event),
 * runs the search to its end, and checks what users rely on: it enumerates
 * exactly the schedules within the preemption bound (C(a+b, a) for two
 * tasks without a bound, n! with bound 0, a+b with bound 1 for two tasks,
 * and the count of an independent brute-force enumerator for other cases),
 * no schedule twice (trace hashes), no schedule over the bound, and then
 * says it is exhausted; it reports nondeterminism as a divergence at the
 * right decision; it says when a run was too deep to search completely;
 * and it refuses a different seed for a later schedule.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "tests/support.h"

#define SEED 12345u
#define TASKS_TEST_MAX 8
#define SCHEDULES_TEST_MAX 20000u

/* ------------------------------------------------ worlds of plain tasks */

struct spec {
	uint32_t n;
	uint32_t steps[TASKS_TEST_MAX];
};

/* A task of `steps` steps: it yields steps - 1 times, then returns. */
static void stepper(void *arg)
{
	uintptr_t steps = (uintptr_t)arg;
	for (uintptr_t i = 1; i < steps; i++)
		sim_yield(TRACE_YIELD, (uint32_t)i);
}

static void build_spec(struct engine *e, void *arg)
{
	const struct spec *sp = arg;
	for (uint32_t i = 0; i < sp->n; i++)
		task_create(e, "t", (uint16_t)(i % 2), stepper,
			    (void *)(uintptr_t)sp->steps[i]);
}

/* ------------------------------------------------------ running a search */

/* A chooser around the dfs chooser that counts the preemptions of the
 * schedule by the definition (another pick while last_task is enabled), so
 * the bound is checked from outside the strategy. */
struct counting {
	struct chooser inner;
	uint32_t preemptions;
};

static uint32_t counting_pick(void *self, const struct choice_point *cp)
{
	struct counting *c = self;
	uint32_t i = c->inner.pick(c->inner.self, cp);
	if (i == CHOICE_DIVERGED)
		return i;
	bool last_enabled = false;
	for (uint32_t j = 0; j < cp->n; j++)
		last_enabled |= cp->choices[j].kind == CHOICE_TASK &&
				cp->choices[j].id == cp->last_task;
	if (last_enabled && !(cp->choices[i].kind == CHOICE_TASK &&
			      cp->choices[i].id == cp->last_task))
		c->preemptions++;
	return i;
}

struct search {
	uint64_t schedules;
	uint32_t preemptions_max;	/* most preemptions in one schedule */
	bool exhausted;
	uint64_t *hashes;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Run the whole search; check each run ends ok and within the bound, and
 * that every schedule's trace hash is new. */
static struct search run_search(struct engine *e, uint32_t bound,
				void (*build)(struct engine *, void *),
				void *arg)
{
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_DFS,
				      .preemptions_max = bound };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	struct search r = { .hashes = calloc(SCHEDULES_TEST_MAX, 8) };
	bool more = true;

	while (more) {
		cr_assert_lt(r.schedules, SCHEDULES_TEST_MAX);
		cr_assert_not(strategy_exhausted(s));
		struct counting c = { strategy_chooser(s), 0 };
		struct chooser ch = { counting_pick, &c };
		engine_begin(e, SEED);
		build(e, arg);
		strategy_begin(s, SEED, r.schedules);
		enum run_outcome o = engine_run(e, &ch);
		cr_assert_eq(o, RUN_OK, "schedule %llu: %s",
			     (unsigned long long)r.schedules,
			     run_outcome_name(o));
		cr_assert_leq(c.preemptions, bound);
		if (c.preemptions > r.preemptions_max)
			r.preemptions_max = c.preemptions;
		r.hashes[r.schedules++] = engine_trace_hash(e);
		struct schedule_result res = { o, e->steps, e->decisions_count };
		more = strategy_end(s, &res);
		engine_end(e);
	}
	r.exhausted = strategy_exhausted(s);
	cr_assert_not(strategy_diverged(s, NULL));
	strategy_destroy(s);

	qsort(r.hashes, r.schedules, 8, cmp_u64);
	for (uint64_t i = 1; i < r.schedules; i++)
		cr_assert_neq(r.hashes[i - 1], r.hashes[i],
			      "two schedules gave the same trace");
	return r;
}

static uint64_t binomial(uint32_t n, uint32_t k)
{
	uint64_t r = 1;
	for (uint32_t i = 1; i <= k; i++)
		r = r * (n - k + i) / i;
	return r;
}

/* Independent count of the schedules of independent tasks within a bound:
 * a decision happens while two or more tasks have steps left; picking
 * another task than the last one while the last one has steps left is a
 * preemption. */
static uint64_t brute(uint32_t n, uint32_t *left, uint32_t last,
		      uint32_t used, uint32_t bound)
{
	uint32_t alive = 0;
	for (uint32_t t = 0; t < n; t++)
		alive += left[t] > 0;
	if (alive <= 1)
		return 1;
	bool last_enabled = last != UINT32_MAX && left[last] > 0;
	uint64_t total = 0;
	for (uint32_t t = 0; t < n; t++) {
		if (!left[t])
			continue;
		uint32_t p = last_enabled && t != last;
		if ((uint64_t)used + p > bound)
			continue;
		left[t]--;
		total += brute(n, left, t, used + p, bound);
		left[t]++;
	}
	return total;
}

/* ----------------------------------------------------------------- tests */

Test(dfs, two_tasks_unbounded_enumerates_binomial)
{
	static const uint32_t ab[][2] = { { 1, 1 }, { 1, 4 }, { 2, 2 },
					  { 3, 4 }, { 5, 5 }, { 4, 7 } };
	struct engine *e = test_engine(2);
	for (unsigned i = 0; i < sizeof(ab) / sizeof(ab[0]); i++) {
		struct spec sp = { 2, { ab[i][0], ab[i][1] } };
		struct search r = run_search(e, UINT32_MAX, build_spec, &sp);
		uint64_t want = binomial(ab[i][0] + ab[i][1], ab[i][0]);
		cr_log_info("dfs a=%u b=%u unbounded: %llu schedules (C(a+b,a) = %llu)",
			    ab[i][0], ab[i][1],
			    (unsigned long long)r.schedules,
			    (unsigned long long)want);
		cr_assert_eq(r.schedules, want, "a=%u b=%u", ab[i][0],
			     ab[i][1]);
		cr_assert(r.exhausted);
		free(r.hashes);
	}
	test_engine_done(e);
}

Test(dfs, bound_zero_on_n_tasks_enumerates_n_factorial)
{
	struct engine *e = test_engine(2);
	uint64_t factorial = 1;
	for (uint32_t n = 1; n <= 5; n++) {
		factorial *= n;
		struct spec sp = { n, { 0 } };
		for (uint32_t i = 0; i < n; i++)
			sp.steps[i] = 2 + (i * 3) % 4;
		struct search r = run_search(e, 0, build_spec, &sp);
		cr_log_info("dfs n=%u bound 0: %llu schedules (n! = %llu)", n,
			    (unsigned long long)r.schedules,
			    (unsigned long long)factorial);
		cr_assert_eq(r.schedules, factorial, "n=%u", n);
		cr_assert_eq(r.preemptions_max, 0);
		cr_assert(r.exhausted);
		free(r.hashes);
	}
	test_engine_done(e);
}

/*
 * Bound 1, two tasks of a and b steps, derived by hand.  A schedule is a
 * sequence of blocks of one task; every switch is a preemption except the
 * one after the first task to finish, after which the other runs alone.  So
 * a schedule with m blocks has m - 2 preemptions, and bound 1 allows two
 * or three blocks: A^a B^b and B^b A^a (2 schedules), A^i B^b A^(a-i) for
 * 1 <= i < a (a - 1), and B^j A^a B^(b-j) for 1 <= j < b (b - 1).  In all
 * 2 + (a - 1) + (b - 1) = a + b.
 */
Test(dfs, bound_one_on_two_tasks_gives_a_plus_b)
{
	static const uint32_t ab[][2] = { { 1, 1 }, { 2, 5 }, { 3, 4 },
					  { 5, 5 }, { 6, 2 } };
	struct engine *e = test_engine(2);
	for (unsigned i = 0; i < sizeof(ab) / sizeof(ab[0]); i++) {
		struct spec sp = { 2, { ab[i][0], ab[i][1] } };
		struct search r = run_search(e, 1, build_spec, &sp);
		cr_log_info("dfs a=%u b=%u bound 1: %llu schedules (a+b = %u)",
			    ab[i][0], ab[i][1],
			    (unsigned long long)r.schedules,
			    ab[i][0] + ab[i][1]);
		cr_assert_eq(r.schedules, ab[i][0] + ab[i][1]);
		cr_assert(r.exhausted);
		if (ab[i][0] > 1 || ab[i][1] > 1)
			cr_assert_eq(r.preemptions_max, 1);
		free(r.hashes);
	}
	test_engine_done(e);
}

Test(dfs, counts_match_an_independent_enumerator)
{
	static const struct spec specs[] = {
		{ 3, { 2, 3, 2 } },
		{ 3, { 1, 4, 2 } },
		{ 4, { 2, 2, 2, 2 } },
		{ 3, { 3, 3, 3 } },
	};
	static const uint32_t bounds[] = { 0, 1, 2, 3, UINT32_MAX };
	struct engine *e = test_engine(2);
	for (unsigned i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		for (unsigned j = 0; j < sizeof(bounds) / sizeof(bounds[0]); j++) {
			struct spec sp = specs[i];
			uint32_t left[TASKS_TEST_MAX];
			for (uint32_t t = 0; t < sp.n; t++)
				left[t] = sp.steps[t];
			uint64_t want = brute(sp.n, left, UINT32_MAX, 0,
					      bounds[j]);
			struct search r = run_search(e, bounds[j], build_spec,
						     &sp);
			char b[16];
			snprintf(b, sizeof(b), "%u", bounds[j]);
			cr_log_info("dfs spec %u bound %s: %llu schedules, enumerator %llu",
				    i, bounds[j] == UINT32_MAX ? "none" : b,
				    (unsigned long long)r.schedules,
				    (unsigned long long)want);
			cr_assert_eq(r.schedules, want, "spec %u bound %u", i,
				     bounds[j]);
			cr_assert(r.exhausted);
			free(r.hashes);
		}
	}
	test_engine_done(e);
}

/* -------------------------------------------------------------- events */

/*
 * Events are choices too.  Task A sleeps (its timer is event E) and then
 * takes one more step; task B takes two steps.  The steps are A1 E A2 in
 * that order and B1 B2 in that order, so without a bound the schedules are
 * their C(5, 2) = 10 interleavings.  With bound 0 (switching away from a
 * blocked task or after an event is free): A1 E A2 B1 B2, A1 E B1 B2 A2,
 * A1 B1 B2 E A2, B1 B2 A1 E A2, which is 4.
 */
static void sleeper(void *arg)
{
	(void)arg;
	sim_sleep(100);
}

static void build_sleep(struct engine *e, void *arg)
{
	(void)arg;
	task_create(e, "a", 0, sleeper, NULL);
	task_create(e, "b", 1, stepper, (void *)(uintptr_t)2);
}

Test(dfs, explores_event_orderings)
{
	struct engine *e = test_engine(2);
	struct search r = run_search(e, UINT32_MAX, build_sleep, NULL);
	cr_assert_eq(r.schedules, 10);
	cr_assert(r.exhausted);
	free(r.hashes);
	r = run_search(e, 0, build_sleep, NULL);
	cr_assert_eq(r.schedules, 4);
	cr_assert(r.exhausted);
	free(r.hashes);
	test_engine_done(e);
}

/* ------------------------------------------------------ nondeterminism */

/* A world that is not a function of the decisions: from its second build
 * on, task a queues an event in its second step.  The first schedule runs
 * a's four steps (decisions 0..3) with b enabled; the second follows
 * decisions 0..2 and takes b at 3, so it meets the new event at decision
 * 2, the first choice point after a's second step. */
static int builds;

static void noop_event(void *arg)
{
	(void)arg;
}

static void drifting(void *arg)
{
	(void)arg;
	sim_yield(TRACE_YIELD, 1);
	if (builds > 1)
		sim_event_add(sim_now() + 1000000, TRACE_TIMER, 0, noop_event,
			      NULL);
	sim_yield(TRACE_YIELD, 2);
	sim_yield(TRACE_YIELD, 3);
}

static void build_drifting(struct engine *e, void *arg)
{
	(void)arg;
	builds++;
	task_create(e, "a", 0, drifting, NULL);
	task_create(e, "b", 1, stepper, (void *)(uintptr_t)4);
}

Test(dfs, reports_nondeterminism_at_the_decision)
{
	struct engine *e = test_engine(2);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_DFS,
				      .preemptions_max = UINT32_MAX };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	enum run_outcome o;

	builds = 0;
	cr_assert(test_run_with(e, s, SEED, 0, build_drifting, NULL, &o));
	cr_assert_eq(o, RUN_OK);
	cr_assert_eq(e->decisions_count, 4);
	cr_assert_not(strategy_diverged(s, NULL));
	engine_end(e);

	bool more = test_run_with(e, s, SEED, 1, build_drifting, NULL, &o);
	uint64_t at = 0;
	cr_assert_eq(o, RUN_DIVERGED);
	cr_assert_not(more, "a nondeterministic world ends the search");
	cr_assert(strategy_diverged(s, &at));
	cr_assert_eq(at, 2);
	cr_assert_eq(e->steps, 2, "the run stopped before the third step");
	cr_assert_not(strategy_exhausted(s));
	strategy_destroy(s);
	test_engine_done(e);
}

/* A world whose second build has another task: the very first choice point
 * differs. */
static void build_growing(struct engine *e, void *arg)
{
	(void)arg;
	builds++;
	for (int i = 0; i < (builds > 1 ? 3 : 2); i++)
		task_create(e, "t", 0, stepper, (void *)(uintptr_t)2);
}

Test(dfs, reports_a_changed_first_choice_point)
{
	struct engine *e = test_engine(1);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_DFS,
				      .preemptions_max = UINT32_MAX };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	enum run_outcome o;
	uint64_t at = 99;

	builds = 0;
	cr_assert(test_run_with(e, s, SEED, 0, build_growing, NULL, &o));
	engine_end(e);
	cr_assert_not(test_run_with(e, s, SEED, 1, build_growing, NULL, &o));
	cr_assert_eq(o, RUN_DIVERGED);
	cr_assert(strategy_diverged(s, &at));
	cr_assert_eq(at, 0);
	cr_assert_eq(e->steps, 0);
	strategy_destroy(s);
	test_engine_done(e);
}

/* A world whose second build charges task a's first step 50 ns: the
 * choice points have the same choices, but task a's time differs from
 * decision 1 on.  The first schedule runs a's three steps (decisions 0..2);
 * the second follows 0..1 and meets the change at decision 1.  This is
 * what a different run seed would do to the model's latency draws. */
static void costly_first(void *arg)
{
	(void)arg;
	if (builds > 1)
		sim_cost(50);
	sim_yield(TRACE_YIELD, 1);
	sim_yield(TRACE_YIELD, 2);
}

static void build_costly(struct engine *e, void *arg)
{
	(void)arg;
	builds++;
	task_create(e, "a", 0, costly_first, NULL);
	task_create(e, "b", 1, stepper, (void *)(uintptr_t)3);
}

Test(dfs, reports_a_changed_time_as_nondeterminism)
{
	struct engine *e = test_engine(2);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_DFS,
				      .preemptions_max = UINT32_MAX };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	enum run_outcome o;
	uint64_t at = 99;

	builds = 0;
	cr_assert(test_run_with(e, s, SEED, 0, build_costly, NULL, &o));
	cr_assert_eq(e->decisions_count, 3);
	engine_end(e);
	cr_assert_not(test_run_with(e, s, SEED, 1, build_costly, NULL, &o));
	cr_assert_eq(o, RUN_DIVERGED);
	cr_assert(strategy_diverged(s, &at));
	cr_assert_eq(at, 1);
	cr_assert_eq(e->steps, 1);
	strategy_destroy(s);
	test_engine_done(e);
}

/* ---------------------------------------------------------- the limits */

/*
 * Two tasks of 70000 steps, bound 0: every step while both live is a
 * decision, so a run has 70000 of them, past DFS_DEPTH_MAX.  The search
 * branches only on the first DFS_DEPTH_MAX (here: which task goes first),
 * so it runs 2 schedules, ends, and says it was truncated, not exhausted.
 */
Test(dfs, runs_past_the_depth_limit_are_reported_truncated)
{
	struct engine *e = test_engine(2);
	struct spec sp = { 2, { 70000, 70000 } };
	static_assert(70000 > DFS_DEPTH_MAX, "the run must overflow");
	char err[128];
	struct strategy_params p = { .kind = STRATEGY_DFS,
				     .preemptions_max = 0 };
	struct strategy *s = strategy_create(&p, err, sizeof(err));
	struct strategy_status st;
	enum run_outcome o;

	cr_assert(test_run_with(e, s, SEED, 0, build_spec, &sp, &o));
	cr_assert_eq(o, RUN_OK);
	cr_assert_eq(e->decisions_count, 70000);
	strategy_status(s, &st);
	cr_assert(st.truncated);
	cr_assert_not(st.exhausted);
	engine_end(e);
	cr_assert_not(test_run_with(e, s, SEED, 1, build_spec, &sp, &o));
	cr_assert_eq(o, RUN_OK);
	strategy_status(s, &st);
	cr_assert(st.truncated);
	cr_assert_not(st.exhausted);
	cr_assert_not(st.diverged);
	strategy_destroy(s);
	test_engine_done(e);
}

/* Every schedule of one search must run with the same seed; a campaign
 * that passed another would change the world under the search. */
Test(dfs, refuses_another_seed, .signal = SIGABRT)
{
	struct engine *e = test_engine(2);
	struct spec sp = { 2, { 2, 2 } };
	char err[128];
	struct strategy_params p = { .kind = STRATEGY_DFS,
				     .preemptions_max = UINT32_MAX };
	struct strategy *s = strategy_create(&p, err, sizeof(err));

	cr_assert(test_run_with(e, s, SEED, 0, build_spec, &sp, NULL));
	engine_end(e);
	test_run_with(e, s, SEED + 1, 1, build_spec, &sp, NULL);
	cr_assert_fail("dfs_begin accepted a second seed");
}
