/*
 * test_random.c: the `random` strategy (schedulers/random.c).  Counts its
 * picks at choice points of known size over many seeds and checks they are
 * uniform over the enabled choices, tasks and events alike.
 */
#include <criterion/criterion.h>

#include "engine/engine.h"
#include "tests/support.h"

struct tally {
	struct chooser inner;
	uint32_t by_index[4][4];	/* [n - 1][picked index], n <= 4 */
};

static uint32_t tally_pick(void *self, const struct choice_point *cp)
{
	struct tally *t = self;
	uint32_t i = t->inner.pick(t->inner.self, cp);
	cr_assert_lt(i, cp->n);
	if (cp->n <= 4)
		t->by_index[cp->n - 1][i]++;
	return i;
}

static void stepper(void *arg)
{
	uintptr_t steps = (uintptr_t)arg;
	for (uintptr_t i = 1; i < steps; i++)
		sim_yield(TRACE_YIELD, (uint32_t)i);
}

static void nothing(void *arg)
{
	(void)arg;
}

/* Three tasks and one event at time 0: the first choice point has four
 * choices, later ones fewer. */
static void build(struct engine *e, void *arg)
{
	(void)arg;
	for (uintptr_t i = 0; i < 3; i++)
		task_create(e, "t", 0, stepper, (void *)(uintptr_t)3);
	sim_event_add(0, TRACE_TIMER, 0, nothing, NULL);
}

Test(random, picks_are_uniform_over_enabled_choices)
{
	struct engine *e = test_engine(1);
	char err[64];
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	struct tally t = { .inner = strategy_chooser(s) };
	struct chooser ch = { tally_pick, &t };

	for (uint32_t i = 0; i < 4000; i++) {
		uint64_t seed = sim_run_seed(99, i);
		engine_begin(e, seed);
		build(e, NULL);
		strategy_begin(s, seed, i);
		cr_assert_eq(engine_run(e, &ch), RUN_OK);
		engine_end(e);
	}
	for (uint32_t n = 2; n <= 4; n++) {
		uint32_t total = 0;
		for (uint32_t i = 0; i < n; i++)
			total += t.by_index[n - 1][i];
		cr_assert_gt(total, 1000);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t got = t.by_index[n - 1][i];
			cr_log_info("n=%u index %u: %u of %u", n, i, got, total);
			/* Within 15% of total / n: over 5 standard
			 * deviations at these counts. */
			cr_assert(got * n * 100 > total * 85 &&
				  got * n * 100 < total * 115,
				  "n=%u index %u picked %u of %u", n, i, got,
				  total);
		}
	}
	strategy_destroy(s);
	test_engine_done(e);
}
