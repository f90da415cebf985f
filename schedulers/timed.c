/*
 * timed.c: the `timed` strategy, simrun's default.  Always takes the enabled
 * choice that happens earliest in virtual time, breaking ties with the run's
 * PRNG, so its latencies are the ones a real machine would see.  Latency
 * metrics are quoted from timed runs.
 */
#include "schedulers/strategy.h"

static void timed_begin(struct strategy *s, uint64_t run_seed, uint64_t index)
{
	(void)index;
	prng_seed(&s->prng, sim_stream_seed(run_seed, SIM_STREAM_STRATEGY));
}

static uint32_t timed_pick(void *self, const struct choice_point *cp)
{
	struct strategy *s = self;
	const struct choice *c = cp->choices;
	uint32_t ties[CHOICES_MAX];
	uint64_t best = c[0].time_ns;
	uint32_t n = 1;

	SIM_ASSERT(cp->n >= 2);
	SIM_ASSERT(cp->n <= CHOICES_MAX);
	ties[0] = 0;
	for (uint32_t i = 1; i < cp->n; i++) {
		if (c[i].time_ns < best) {
			best = c[i].time_ns;
			n = 0;
		}
		if (c[i].time_ns == best)
			ties[n++] = i;
	}
	/* Uniform among the earliest. */
	return n == 1 ? ties[0] : ties[prng_below(&s->prng, n)];
}

static bool timed_end(struct strategy *s, const struct schedule_result *r)
{
	(void)s;
	(void)r;
	return true;
}

static const struct strategy_ops timed_ops = {
	.name = "timed",
	.begin = timed_begin,
	.pick = timed_pick,
	.end = timed_end,
};

bool strategy_timed_init(struct strategy *s, char *err, size_t err_len)
{
	(void)err;
	(void)err_len;
	s->ops = &timed_ops;
	return true;
}
