/*
 * test_timed.c: the `timed` strategy (schedulers/timed.c).  Wraps its
 * chooser to see every pick in a world of tasks with varied costs on three
 * CPUs, sleeps, wakeups and timers, and checks over many seeds that each
 * pick is the earliest enabled choice and that the picked times never go
 * back (virtual time is monotone under timed); that ties are broken by the
 * seed, so seeds differ only where times tie; and that the same seed gives
 * the same trace.
 */
#include <criterion/criterion.h>

#include "engine/engine.h"
#include "engine/waitq.h"
#include "tests/support.h"

struct watch {
	struct chooser inner;
	uint64_t last_ns;
	uint32_t picks;
	uint32_t backwards;	/* picks earlier than the previous pick */
	uint32_t not_earliest;	/* picks later than some enabled choice */
	uint32_t advances;	/* picks later than the previous pick */
	uint32_t ties;		/* picks with another choice at the same time */
};

static uint32_t watch_pick(void *self, const struct choice_point *cp)
{
	struct watch *w = self;
	uint32_t i = w->inner.pick(w->inner.self, cp);
	uint64_t t = cp->choices[i].time_ns;
	uint64_t earliest = UINT64_MAX;
	uint32_t same = 0;

	cr_assert_lt(i, cp->n);
	for (uint32_t j = 0; j < cp->n; j++) {
		if (cp->choices[j].time_ns < earliest)
			earliest = cp->choices[j].time_ns;
		same += cp->choices[j].time_ns == t;
	}
	w->not_earliest += t != earliest;
	w->backwards += w->picks > 0 && t < w->last_ns;
	w->advances += w->picks > 0 && t > w->last_ns;
	w->ties += same > 1;
	w->last_ns = t;
	w->picks++;
	return i;
}

static struct waitq *wq;

static void worker(void *arg)
{
	uintptr_t k = (uintptr_t)arg;
	for (int i = 0; i < 20; i++) {
		sim_cost(((uint64_t)i * 37 + k * 11) % 90);
		if (i % 7 == 3)
			sim_sleep(200 + k * 50);
		else
			sim_yield(TRACE_YIELD, (uint32_t)k);
	}
}

static void waiter(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		waitq_wait(wq, 0, 0);
}

static void waker(void *arg)
{
	(void)arg;
	for (int woken = 0; woken < 3;) {
		sim_cost(120);
		if (waitq_wake_one(wq))
			woken++;
		sim_yield(TRACE_YIELD, 9);
	}
}

static void timer(void *arg)
{
	(void)arg;
}

static void build_mixed(struct engine *e, void *arg)
{
	(void)arg;
	wq = arena_new(&e->arena, struct waitq);
	waitq_init(wq, 3, NULL);
	for (uintptr_t k = 0; k < 5; k++)
		task_create(e, "w", (uint16_t)(k % 3), worker, (void *)k);
	task_create(e, "waiter", 1, waiter, NULL);
	task_create(e, "waker", 2, waker, NULL);
	for (uint64_t i = 0; i < 15; i++)
		sim_event_add(i * 173, TRACE_TIMER, (uint32_t)i, timer, NULL);
}

Test(timed, picks_the_earliest_and_time_never_goes_back)
{
	struct engine *e = test_engine(3);
	char err[64];
	struct strategy_params sp = { .kind = STRATEGY_TIMED };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	uint32_t advances = 0, ties = 0, picks = 0;

	for (uint32_t i = 0; i < 200; i++) {
		uint64_t seed = sim_run_seed(77, i);
		struct watch w = { .inner = strategy_chooser(s) };
		struct chooser ch = { watch_pick, &w };
		engine_begin(e, seed);
		build_mixed(e, NULL);
		strategy_begin(s, seed, i);
		cr_assert_eq(engine_run(e, &ch), RUN_OK);
		cr_assert_eq(w.backwards, 0, "seed index %u went back in time",
			     i);
		cr_assert_eq(w.not_earliest, 0, "seed index %u", i);
		advances += w.advances;
		ties += w.ties;
		picks += w.picks;
		engine_end(e);
	}
	cr_log_info("timed: %u picks, %u moved time forward, %u among ties",
		    picks, advances, ties);
	/* The check means something only if time moved and ties occurred. */
	cr_assert_gt(advances, picks / 4);
	cr_assert_gt(ties, 0);
	strategy_destroy(s);
	test_engine_done(e);
}

Test(timed, seeds_break_ties_and_repeat_exactly)
{
	struct engine *e = test_engine(3);
	uint64_t first = 0;
	uint32_t differ = 0;

	for (uint32_t i = 0; i < 50; i++) {
		cr_assert_eq(test_run(e, STRATEGY_TIMED, sim_run_seed(5, i),
				      build_mixed, NULL), RUN_OK);
		uint64_t h = engine_trace_hash(e);
		engine_end(e);
		cr_assert_eq(test_run(e, STRATEGY_TIMED, sim_run_seed(5, i),
				      build_mixed, NULL), RUN_OK);
		cr_assert_eq(engine_trace_hash(e), h, "seed index %u", i);
		engine_end(e);
		if (i == 0)
			first = h;
		differ += h != first;
	}
	cr_assert_gt(differ, 0, "tie-breaking depends on the seed");
	test_engine_done(e);
}
