/*
 * test_engine.c: the step loop and the choice point (engine/engine.c).
 * Builds small worlds of tasks that yield, sleep and block, runs them with
 * the timed and random strategies, and checks what users rely on: the same
 * seed gives the same trace hash; different seeds explore different
 * schedules; outcomes (ok, deadlock, budget, model_assert) are reported as
 * such; virtual time is causal; nothing is left live after a run.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/waitq.h"
#include "tests/support.h"

/* Four tasks on two CPUs, each yielding with a small modeled cost: plenty
 * of ties and so of real choices for the timed strategy. */
static void yielder(void *arg)
{
	uintptr_t k = (uintptr_t)arg;
	for (int i = 0; i < 50; i++) {
		sim_cost((i * 7 + k) % 3);
		sim_yield(TRACE_YIELD, (uint32_t)k);
	}
}

static void build_yielders(struct engine *e, void *arg)
{
	(void)arg;
	for (uintptr_t k = 0; k < 4; k++)
		task_create(e, "y", (uint16_t)(k % 2), yielder, (void *)k);
}

Test(engine, same_seed_same_hash_1000_times)
{
	struct engine *e = test_engine(2);
	uint64_t first = 0;
	for (int i = 0; i < 1000; i++) {
		enum run_outcome o = test_run(e, STRATEGY_TIMED, 42,
					      build_yielders, NULL);
		cr_assert_eq(o, RUN_OK);
		uint64_t h = engine_trace_hash(e);
		if (i == 0)
			first = h;
		cr_assert_eq(h, first, "run %d hash %016llx != %016llx", i,
			     (unsigned long long)h, (unsigned long long)first);
		engine_end(e);
	}
	test_engine_done(e);
}

Test(engine, different_seeds_explore_different_schedules)
{
	struct engine *e = test_engine(2);
	uint64_t hashes[1000];
	uint32_t distinct = 0;
	for (int i = 0; i < 1000; i++) {
		cr_assert_eq(test_run(e, STRATEGY_TIMED, sim_run_seed(7, i),
				      build_yielders, NULL), RUN_OK);
		uint64_t h = engine_trace_hash(e);
		bool seen = false;
		for (uint32_t j = 0; j < distinct; j++)
			seen |= hashes[j] == h;
		if (!seen)
			hashes[distinct++] = h;
		engine_end(e);
	}
	cr_log_info("1000 seeds gave %u distinct schedules", distinct);
	cr_assert_gt(distinct, 1);
	test_engine_done(e);
}

/* Replaying the decision log of a run with a strategy that follows it must
 * give the same hash: the log alone fixes the schedule. */
struct log_follower {
	const uint8_t *log;
	size_t len, pos;
};

static uint32_t follow_pick(void *self, const struct choice_point *cp)
{
	struct log_follower *f = self;
	uint8_t kind;
	uint32_t id;
	if (!decision_decode(f->log, f->len, &f->pos, &kind, &id))
		return CHOICE_DIVERGED;
	for (uint32_t i = 0; i < cp->n; i++)
		if (cp->choices[i].kind == kind && cp->choices[i].id == id)
			return i;
	return CHOICE_DIVERGED;
}

Test(engine, decision_log_fixes_the_schedule)
{
	struct engine *e = test_engine(2);
	cr_assert_eq(test_run(e, STRATEGY_RANDOM, 99, build_yielders, NULL),
		     RUN_OK);
	uint64_t h = engine_trace_hash(e);
	size_t len;
	const uint8_t *log = engine_decisions(e, &len);
	uint8_t *copy = malloc(len);
	memcpy(copy, log, len);
	cr_assert_gt(len, 0);
	engine_end(e);

	struct log_follower f = { copy, len, 0 };
	struct chooser ch = { follow_pick, &f };
	engine_begin(e, 99);
	build_yielders(e, NULL);
	cr_assert_eq(engine_run(e, &ch), RUN_OK);
	cr_assert_eq(engine_trace_hash(e), h);
	cr_assert_eq(f.pos, len, "the whole log was consumed");
	free(copy);
	test_engine_done(e);
}

Test(engine, decision_varint_roundtrip)
{
	uint8_t buf[64];
	size_t len = 0;
	uint32_t ids[] = { 0, 1, 63, 64, 127, 128, 70000, UINT32_MAX };
	for (unsigned i = 0; i < 8; i++)
		len += decision_encode(buf + len, i & 1, ids[i]);
	size_t pos = 0;
	for (unsigned i = 0; i < 8; i++) {
		uint8_t kind;
		uint32_t id;
		cr_assert(decision_decode(buf, len, &pos, &kind, &id));
		cr_assert_eq(kind, i & 1);
		cr_assert_eq(id, ids[i]);
	}
	uint8_t kind;
	uint32_t id;
	cr_assert_not(decision_decode(buf, len, &pos, &kind, &id));
	/* A truncated varint is malformed, not a decision. */
	pos = 0;
	uint8_t bad[] = { 0x80, 0x80 };
	cr_assert_not(decision_decode(bad, sizeof(bad), &pos, &kind, &id));
}

/* Two tasks each waiting on a queue nobody wakes: nothing is enabled while
 * tasks remain, which is a deadlock. */
static struct waitq *wq_a;

static void waiter(void *arg)
{
	(void)arg;
	waitq_wait(wq_a, 0, 0);
}

static void build_stuck(struct engine *e, void *arg)
{
	(void)arg;
	wq_a = arena_new(&e->arena, struct waitq);
	waitq_init(wq_a, 1, NULL);
	task_create(e, "w0", 0, waiter, NULL);
	task_create(e, "w1", 0, waiter, NULL);
}

Test(engine, nothing_enabled_is_deadlock)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_stuck, NULL),
		     RUN_DEADLOCK);
	cr_assert_eq(wq_a->count, 2);
	test_engine_done(e);
}

static void spinner(void *arg)
{
	(void)arg;
	for (;;)
		sim_yield(TRACE_YIELD, 0);
}

static void build_spinner(struct engine *e, void *arg)
{
	(void)arg;
	task_create(e, "spin", 0, spinner, NULL);
}

Test(engine, step_budget_ends_a_livelock)
{
	struct engine_params p = { .cpus = 1, .steps_max = 1000 };
	struct engine *e = engine_create(&p);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_spinner, NULL),
		     RUN_BUDGET);
	cr_assert_eq(e->steps, 1000);
	test_engine_done(e);
}

static void costly_spinner(void *arg)
{
	(void)arg;
	for (;;) {
		sim_cost(1000000);
		sim_yield(TRACE_YIELD, 0);
	}
}

static void build_costly(struct engine *e, void *arg)
{
	(void)arg;
	task_create(e, "spin", 0, costly_spinner, NULL);
}

Test(engine, virtual_time_budget_ends_a_run)
{
	struct engine_params p = { .cpus = 1, .virtual_ns_max = 50000000 };
	struct engine *e = engine_create(&p);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_costly, NULL),
		     RUN_BUDGET);
	/* The step that crosses the budget completes, then the run ends. */
	cr_assert_gt(e->virtual_ns, 50000000);
	cr_assert_leq(e->virtual_ns, 51000000);
	test_engine_done(e);
}

/* An assertion in the model ends the run with model_assert and a finding;
 * the engine is usable for the next schedule. */
static void asserter(void *arg)
{
	(void)arg;
	sim_yield(TRACE_YIELD, 0);
	SIM_ASSERT(1 + 1 == 3);
}

static void build_asserter(struct engine *e, void *arg)
{
	(void)arg;
	task_create(e, "bad", 0, asserter, NULL);
	task_create(e, "good", 0, yielder, (void *)1);
}

Test(engine, model_assert_ends_only_that_run)
{
	struct engine *e = test_engine(2);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 3, build_asserter, NULL),
		     RUN_ASSERT);
	cr_assert_eq(e->findings_count, 1);
	cr_assert_str_eq(e->findings[0].kind, "model_assert");
	cr_assert(strstr(e->findings[0].summary, "1 + 1 == 3") != NULL);
	engine_end(e);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 3, build_yielders, NULL),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	test_engine_done(e);
}

/* An assertion in an event handler (outside any task) also ends the run. */
static void bad_event(void *arg)
{
	(void)arg;
	SIM_ASSERT(!"event handler bug");
}

static void build_bad_event(struct engine *e, void *arg)
{
	(void)arg;
	sim_event_add(100, TRACE_TIMER, 0, bad_event, NULL);
	task_create(e, "t", 0, yielder, (void *)0);
}

Test(engine, model_assert_in_event_handler)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 3, build_bad_event, NULL),
		     RUN_ASSERT);
	cr_assert_str_eq(e->findings[0].kind, "model_assert");
	test_engine_done(e);
}

/* Sleep: a timer wakes the task at the right virtual time; a task woken by
 * another is ready no earlier than its waker's present. */
static uint64_t woke_at, waker_at;
static struct waitq *wq_b;

static void sleeper_then_wait(void *arg)
{
	(void)arg;
	waitq_wait(wq_b, 0, 0);
	woke_at = sim_now();
}

static void waker(void *arg)
{
	(void)arg;
	/* Without this the wakeup could come before the wait, a lost wakeup
	 * that the random strategy would rightly find. */
	while (wq_b->count == 0)
		sim_yield(TRACE_YIELD, 0);
	sim_sleep(5000);
	sim_cost(300);
	waker_at = sim_now();
	waitq_wake_one(wq_b);
}

static void build_wake(struct engine *e, void *arg)
{
	(void)arg;
	wq_b = arena_new(&e->arena, struct waitq);
	waitq_init(wq_b, 2, NULL);
	task_create(e, "sleeper", 0, sleeper_then_wait, NULL);
	task_create(e, "waker", 1, waker, NULL);
}

Test(engine, wakeups_are_causal)
{
	struct engine *e = test_engine(2);
	for (uint64_t seed = 0; seed < 50; seed++) {
		cr_assert_eq(test_run(e, STRATEGY_RANDOM, seed, build_wake,
				      NULL), RUN_OK);
		cr_assert_geq(waker_at, 5300);
		cr_assert_geq(woke_at, waker_at);
		engine_end(e);
	}
	test_engine_done(e);
}

/* Atomic context: while a task on CPU 0 has preemption disabled, the other
 * task of CPU 0 is not enabled, whatever the strategy picks. */
static int in_atomic, violations;

static void atomic_task(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		sim_preempt_disable();
		in_atomic = 1;
		sim_yield(TRACE_YIELD, 1);
		sim_yield(TRACE_YIELD, 2);
		in_atomic = 0;
		sim_preempt_enable();
		sim_yield(TRACE_YIELD, 3);
	}
}

static void same_cpu_task(void *arg)
{
	(void)arg;
	for (int i = 0; i < 60; i++) {
		violations += in_atomic;
		sim_yield(TRACE_YIELD, 4);
	}
}

static void build_atomic(struct engine *e, void *arg)
{
	(void)arg;
	in_atomic = violations = 0;
	task_create(e, "atomic", 0, atomic_task, NULL);
	task_create(e, "other", 0, same_cpu_task, NULL);
}

Test(engine, atomic_context_excludes_same_cpu_tasks)
{
	struct engine *e = test_engine(1);
	for (uint64_t seed = 0; seed < 100; seed++) {
		cr_assert_eq(test_run(e, STRATEGY_RANDOM, seed, build_atomic,
				      NULL), RUN_OK);
		cr_assert_eq(violations, 0, "seed %llu",
			     (unsigned long long)seed);
		engine_end(e);
	}
	test_engine_done(e);
}

/* Hooks see every block, wake, step and exit, without the engine knowing
 * who listens. */
struct counts {
	int block, wake, step, exit, begin, end;
};

static void h_block(void *c, struct task *t, struct waitq *wq)
{
	(void)t; (void)wq;
	((struct counts *)c)->block++;
}
static void h_wake(void *c, struct task *t, struct waitq *wq)
{
	(void)t; (void)wq;
	((struct counts *)c)->wake++;
}
static void h_step(void *c, const struct trace_rec *r)
{
	(void)r;
	((struct counts *)c)->step++;
}
static void h_exit(void *c, struct task *t)
{
	(void)t;
	((struct counts *)c)->exit++;
}
static void h_begin(void *c, struct engine *e)
{
	(void)e;
	((struct counts *)c)->begin++;
}
static void h_end(void *c, struct engine *e, enum run_outcome o)
{
	(void)e; (void)o;
	((struct counts *)c)->end++;
}

Test(engine, hooks_see_block_wake_step_exit)
{
	struct engine *e = test_engine(2);
	struct counts c = { 0 };
	struct engine_hooks h = { .ctx = &c, .block = h_block, .wake = h_wake,
				  .step = h_step, .task_exit = h_exit,
				  .run_begin = h_begin, .run_end = h_end };
	cr_assert(engine_subscribe(e, &h));
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 5, build_wake, NULL), RUN_OK);
	/* sleeper blocks on wq_b, waker blocks in sim_sleep; both wake. */
	cr_assert_eq(c.block, 2);
	cr_assert_eq(c.wake, 2);
	cr_assert_eq(c.exit, 2);
	cr_assert_eq((uint64_t)c.step, e->steps);
	cr_assert_eq(c.begin, 1);
	cr_assert_eq(c.end, 1);
	engine_unsubscribe(e, &c);
	engine_end(e);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 5, build_wake, NULL), RUN_OK);
	cr_assert_eq(c.exit, 2, "unsubscribed hooks are not called");
	test_engine_done(e);
}

Test(engine, findings_dedupe_by_kind_and_signature)
{
	struct engine *e = test_engine(1);
	engine_begin(e, 1);
	e->in_run = true;
	cr_assert_not_null(sim_report("leak", 10, NULL, "a %d", 1));
	cr_assert_null(sim_report("leak", 10, NULL, "again"));
	cr_assert_not_null(sim_report("leak", 11, NULL, "other"));
	cr_assert_not_null(sim_report("deadlock", 10, NULL, "other kind"));
	cr_assert_eq(e->findings_count, 3);
	cr_assert_eq(e->findings[0].hits, 2);
	cr_assert_str_eq(e->findings[0].summary, "a 1");
	cr_assert_str_eq(e->findings[0].detail, "{}");
	e->in_run = false;
	test_engine_done(e);
}

Test(engine, run_seeds_are_documented_function)
{
	cr_assert_eq(sim_run_seed(42, 0), 42);
	cr_assert_eq(sim_run_seed(42, 1), prng_mix64(42 ^ prng_mix64(1)));
	cr_assert_neq(sim_run_seed(42, 1), sim_run_seed(42, 2));
	cr_assert_neq(sim_stream_seed(42, SIM_STREAM_MODEL),
		      sim_stream_seed(42, SIM_STREAM_STRATEGY));
}
