/*
 * test_strategy.c: the strategy factory (schedulers/strategy.c).  Checks
 * that every strategy name parses to its kind and back, that near-miss
 * names do not parse, that every kind can be created with usable
 * parameters and names itself, that only dfs asks for one seed per search,
 * and that the status of a fresh strategy claims nothing.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "schedulers/strategy.h"

static const char *const names[] = { "timed", "random", "pct", "dfs",
				     "replay" };

Test(strategy, every_name_parses_to_its_kind_and_back)
{
	cr_assert_eq(sizeof(names) / sizeof(names[0]), STRATEGY_KINDS_COUNT);
	for (int i = 0; i < STRATEGY_KINDS_COUNT; i++) {
		enum strategy_kind k = STRATEGY_KINDS_COUNT;
		cr_assert(strategy_kind_parse(names[i], &k), "%s", names[i]);
		cr_assert_eq(k, (enum strategy_kind)i);
		cr_assert_str_eq(strategy_kind_name(k), names[i]);
	}
}

Test(strategy, near_miss_names_do_not_parse)
{
	static const char *const bad[] = { "", "PCT", "Dfs", "dfs ", " pct",
					   "replays", "time", "rand", "bfs" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum strategy_kind k = STRATEGY_REPLAY;
		cr_assert_not(strategy_kind_parse(bad[i], &k), "'%s'", bad[i]);
		cr_assert_eq(k, STRATEGY_REPLAY, "k untouched on failure");
	}
}

Test(strategy, every_kind_is_built)
{
	for (int i = 0; i < STRATEGY_KINDS_COUNT; i++) {
		char err[256] = "";
		struct strategy_params sp = {
			.kind = (enum strategy_kind)i,
			.pct_depth = 3,
			.pct_steps = 100,
			.preemptions_max = 2,
		};
		struct strategy *s = strategy_create(&sp, err, sizeof(err));
		cr_assert_not_null(s, "%s: %s", names[i], err);
		cr_assert_str_eq(s->ops->name, names[i]);
		cr_assert_eq(s->ops->same_seed_every_schedule,
			     i == STRATEGY_DFS, "%s", names[i]);
		struct strategy_status st = { .exhausted = true,
					      .truncated = true,
					      .diverged = true };
		strategy_status(s, &st);
		cr_assert_not(st.exhausted || st.truncated || st.diverged,
			      "%s", names[i]);
		cr_assert_not(strategy_exhausted(s));
		cr_assert_not(strategy_diverged(s, NULL));
		strategy_destroy(s);
	}
}

Test(strategy, unknown_kind_is_refused)
{
	char err[128] = "";
	struct strategy_params sp = { .kind = STRATEGY_KINDS_COUNT };
	cr_assert_null(strategy_create(&sp, err, sizeof(err)));
	cr_assert(strstr(err, "unknown strategy") != NULL, "%s", err);
}
