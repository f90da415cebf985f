/*
 * random.c: the `random` strategy: uniform among the enabled choices at
 * every choice point.  The baseline that PCT is measured against.
 */
#include "schedulers/strategy.h"

static void random_begin(struct strategy *s, uint64_t run_seed, uint64_t index)
{
	(void)index;
	prng_seed(&s->prng, sim_stream_seed(run_seed, SIM_STREAM_STRATEGY));
}

static uint32_t random_pick(void *self, const struct choice_point *cp)
{
	struct strategy *s = self;
	SIM_ASSERT(cp->n >= 2);
	return (uint32_t)prng_below(&s->prng, cp->n);
}

static bool random_end(struct strategy *s, const struct schedule_result *r)
{
	(void)s;
	(void)r;
	return true;
}

static const struct strategy_ops random_ops = {
	.name = "random",
	.begin = random_begin,
	.pick = random_pick,
	.end = random_end,
};

bool strategy_random_init(struct strategy *s, char *err, size_t err_len)
{
	(void)err;
	(void)err_len;
	s->ops = &random_ops;
	return true;
}
