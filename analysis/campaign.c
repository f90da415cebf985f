/*
 * campaign.c: one schedule at a time: seed, world, strategy, run; and the
 * calibration run that gives PCT its estimate of a run's length.  Checkers,
 * when given, see each schedule through their hooks.  Not the loop over
 * schedules (the caller's) nor the store.
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
			   struct strategy *s, struct checkers *checkers,
			   uint64_t base_seed, uint64_t index,
			   struct run_result *out)
{
	/* A search over one world (dfs) must see the same latency draws in
	 * every schedule, hence the same seed. */
	uint64_t seed = s->ops->same_seed_every_schedule
				? base_seed
				: sim_run_seed(base_seed, index);

	SIM_ASSERT(out != NULL);
	SIM_ASSERT(sc->cpus <= e->params.cpus);
	if (checkers) {
		/* Only full hook tables refuse, and the campaign is the one
		 * that fills them: a programming error, not an input. */
		bool attached = checkers_attach(checkers, e);
		SIM_ASSERT(attached);
		checkers_run_begin(checkers, index);
	}
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

uint64_t campaign_estimate_pct_steps(struct engine *e,
				     const struct scenario *sc,
				     uint64_t base_seed)
{
	struct strategy_params sp = { .kind = STRATEGY_TIMED };
	struct engine_hooks saved[HOOK_SUBSCRIBERS_MAX];
	uint32_t saved_count = e->hooks_count;
	FILE *trace_out = e->params.trace_out;
	char err[128];
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	uint64_t seed = sim_run_seed(base_seed, 0);

	SIM_ASSERT(s != NULL);		/* timed takes no parameters */
	SIM_ASSERT(saved_count <= HOOK_SUBSCRIBERS_MAX);
	/* Set the subscribers aside through the public calls, and put them
	 * back in their order, so the calibration is invisible to them. */
	for (uint32_t i = 0; i < saved_count; i++)
		saved[i] = e->hooks[i];
	for (uint32_t i = 0; i < saved_count; i++)
		engine_unsubscribe(e, saved[i].ctx);
	e->params.trace_out = NULL;

	engine_begin(e, seed);
	world_build(e, sc);
	strategy_begin(s, seed, 0);
	struct chooser ch = strategy_chooser(s);
	engine_run(e, &ch);
	uint64_t decisions = e->decisions_count;
	engine_end(e);

	e->params.trace_out = trace_out;
	for (uint32_t i = 0; i < saved_count; i++) {
		bool ok = engine_subscribe(e, &saved[i]);
		SIM_ASSERT(ok);
	}
	strategy_destroy(s);
	return decisions > 0 ? decisions : 1;
}
