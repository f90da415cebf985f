/*
 * strategy.c: the strategy factory and the engine adapter.  Not a strategy
 * itself: each lives in its own file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedulers/strategy.h"

static const char *const kind_names[STRATEGY_KINDS_COUNT] = {
	[STRATEGY_TIMED] = "timed",
	[STRATEGY_RANDOM] = "random",
	[STRATEGY_PCT] = "pct",
	[STRATEGY_DFS] = "dfs",
	[STRATEGY_REPLAY] = "replay",
};

static bool (*const inits[STRATEGY_KINDS_COUNT])(struct strategy *, char *,
						  size_t) = {
	[STRATEGY_TIMED] = strategy_timed_init,
	[STRATEGY_RANDOM] = strategy_random_init,
	[STRATEGY_PCT] = strategy_pct_init,
	[STRATEGY_DFS] = strategy_dfs_init,
	[STRATEGY_REPLAY] = strategy_replay_init,
};

const char *strategy_kind_name(enum strategy_kind k)
{
	SIM_ASSERT(k < STRATEGY_KINDS_COUNT);
	return kind_names[k];
}

bool strategy_kind_parse(const char *name, enum strategy_kind *k)
{
	SIM_ASSERT(name != NULL);
	SIM_ASSERT(k != NULL);
	for (int i = 0; i < STRATEGY_KINDS_COUNT; i++) {
		if (strcmp(name, kind_names[i]) == 0) {
			*k = (enum strategy_kind)i;
			return true;
		}
	}
	return false;
}

struct strategy *strategy_create(const struct strategy_params *p, char *err,
				 size_t err_len)
{
	if (p->kind >= STRATEGY_KINDS_COUNT) {
		snprintf(err, err_len, "unknown strategy %d", (int)p->kind);
		return NULL;
	}
	struct strategy *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	s->params = *p;
	SIM_ASSERT(inits[p->kind] != NULL);
	if (!inits[p->kind](s, err, err_len)) {
		free(s);
		return NULL;
	}
	SIM_ASSERT(s->ops && s->ops->begin && s->ops->pick && s->ops->end);
	return s;
}

void strategy_destroy(struct strategy *s)
{
	if (!s)
		return;
	if (s->ops->destroy)
		s->ops->destroy(s);
	free(s);
}

void strategy_status(const struct strategy *s, struct strategy_status *st)
{
	SIM_ASSERT(s != NULL);
	SIM_ASSERT(st != NULL);
	*st = (struct strategy_status){ 0 };
	if (s->ops->status)
		s->ops->status(s, st);
	/* A search that diverged or was truncated has not covered the space,
	 * whatever else it says. */
	if (st->diverged || st->truncated)
		SIM_ASSERT(!st->exhausted);
}

bool strategy_exhausted(const struct strategy *s)
{
	struct strategy_status st;

	strategy_status(s, &st);
	return st.exhausted;
}

bool strategy_diverged(const struct strategy *s, uint64_t *at_decision)
{
	struct strategy_status st;

	strategy_status(s, &st);
	if (st.diverged && at_decision)
		*at_decision = st.diverged_at;
	return st.diverged;
}

struct chooser strategy_chooser(struct strategy *s)
{
	return (struct chooser){ .pick = s->ops->pick, .self = s };
}
