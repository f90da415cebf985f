/*
 * test_evq.c: the event queue (engine/evq.c).  Events fire in order of due
 * time, equal times in creation order; any pending event can be removed;
 * under the timed strategy events interleave with tasks by time.
 */
#include <criterion/criterion.h>

#include "engine/engine.h"
#include "tests/support.h"

static uint32_t fired[64];
static uint32_t fired_n;

static void record(void *arg)
{
	fired[fired_n++] = (uint32_t)(uintptr_t)arg;
}

static void build_events(struct engine *e, void *arg)
{
	(void)e;
	(void)arg;
	fired_n = 0;
	/* Due times out of order, with ties at 300. */
	uint64_t times[] = { 500, 300, 100, 300, 200, 300, 50 };
	for (uintptr_t i = 0; i < 7; i++)
		sim_event_add(times[i], TRACE_TIMER, (uint32_t)i, record,
			      (void *)i);
}

Test(evq, fires_by_time_then_creation_order)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_events, NULL),
		     RUN_OK);
	uint32_t want[] = { 6, 2, 4, 1, 3, 5, 0 };
	cr_assert_eq(fired_n, 7);
	/* The timed rule breaks ties at random, so the three events at 300
	 * (1, 3, 5) may come in any order; the rest are fixed by time. */
	cr_assert_eq(fired[0], want[0]);
	cr_assert_eq(fired[1], want[1]);
	cr_assert_eq(fired[2], want[2]);
	cr_assert_eq(fired[6], want[6]);
	cr_assert_eq(fired[3] + fired[4] + fired[5], 1 + 3 + 5);
	cr_assert_eq(e->virtual_ns, 500);
	test_engine_done(e);
}

static uint32_t cancel_id;

static void build_cancel(struct engine *e, void *arg)
{
	(void)e;
	(void)arg;
	fired_n = 0;
	for (uintptr_t i = 0; i < 40; i++) {
		uint32_t id = sim_event_add(1000 - i * 13 % 400, TRACE_TIMER,
					    (uint32_t)i, record, (void *)i);
		if (i == 17)
			cancel_id = id;
	}
	cr_assert(sim_event_cancel(cancel_id));
	cr_assert_not(sim_event_cancel(cancel_id));
	engine_check_invariants(sim);
}

Test(evq, removal_anywhere_keeps_the_heap)
{
	struct engine *e = test_engine(1);
	cr_assert_eq(test_run(e, STRATEGY_RANDOM, 9, build_cancel, NULL),
		     RUN_OK);
	cr_assert_eq(fired_n, 39);
	for (uint32_t i = 0; i < fired_n; i++)
		cr_assert_neq(fired[i], 17);
	test_engine_done(e);
}

/* Timed picks are monotone in virtual time: a wrapper around the timed
 * chooser checks the time of every choice it takes. */
static uint64_t last_time;
static bool monotone;
static struct chooser inner;

static uint32_t checking_pick(void *self, const struct choice_point *cp)
{
	(void)self;
	uint32_t i = inner.pick(inner.self, cp);
	if (cp->choices[i].time_ns < last_time)
		monotone = false;
	last_time = cp->choices[i].time_ns;
	return i;
}

static void ticker(void *arg)
{
	for (int i = 0; i < 30; i++) {
		sim_cost(100 + (uintptr_t)arg * 37);
		sim_yield(TRACE_YIELD, 0);
	}
}

static void build_mixed(struct engine *e, void *arg)
{
	(void)arg;
	fired_n = 0;
	task_create(e, "a", 0, ticker, (void *)1);
	task_create(e, "b", 1, ticker, (void *)2);
	for (uintptr_t i = 0; i < 20; i++)
		sim_event_add(i * 211, TRACE_TIMER, 0, record, (void *)i);
}

Test(evq, timed_interleaves_events_and_tasks_by_time)
{
	struct engine *e = test_engine(2);
	char err[64];
	struct strategy_params sp = { .kind = STRATEGY_TIMED };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	inner = strategy_chooser(s);
	struct chooser ch = { checking_pick, NULL };
	last_time = 0;
	monotone = true;
	engine_begin(e, 1);
	build_mixed(e, NULL);
	strategy_begin(s, 1, 0);
	cr_assert_eq(engine_run(e, &ch), RUN_OK);
	cr_assert(monotone);
	cr_assert_eq(fired_n, 20);
	strategy_destroy(s);
	test_engine_done(e);
}
