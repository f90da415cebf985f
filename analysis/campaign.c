/*
 * campaign.c: one schedule at a time: seed, world, strategy, run.
 */
#include "analysis/campaign.h"
#include "mm/world.h"

struct engine *campaign_engine(const struct scenario *sc, FILE *trace_out)
{
	struct engine_params p = {
		.cpus = sc->cpus,
		.steps_max = sc->explore.steps_max,
		.virtual_ns_max = sc->explore.virtual_ns_max,
		.trace_out = trace_out,
	};
	return engine_create(&p);
}

bool campaign_run_schedule(struct engine *e, const struct scenario *sc,
			   struct strategy *s, uint64_t base_seed,
			   uint64_t index, struct run_result *out)
{
	/* A search over one world (dfs) must see the same latency draws in
	 * every schedule, hence the same seed. */
	uint64_t seed = s->ops->same_seed_every_schedule
				? base_seed
				: sim_run_seed(base_seed, index);

	SIM_ASSERT(out != NULL);
	SIM_ASSERT(sc->cpus <= e->params.cpus);
	engine_begin(e, seed);
	world_build(e, sc);
	strategy_begin(s, seed, index);
	struct chooser ch = strategy_chooser(s);
	enum run_outcome o = engine_run(e, &ch);

	*out = (struct run_result){
		.index = index,
		.seed = seed,
		.outcome = o,
		.steps = e->steps,
		.decisions = e->decisions_count,
		.virtual_ns = e->virtual_ns,
		.trace_hash = engine_trace_hash(e),
	};
	struct schedule_result r = { o, e->steps, e->decisions_count };
	bool more = strategy_end(s, &r);
	/* The engine's outcome cannot show a replay that finished with log
	 * entries left: it did not reproduce the recorded run either. */
	if (strategy_diverged(s, NULL))
		out->outcome = RUN_DIVERGED;
	return more;
}
