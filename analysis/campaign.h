/*
 * campaign.h: running schedules of a scenario: build the world, run it
 * under a strategy, collect the outcome.  Not the command line (cli/) and not
 * the store: callers decide what to keep.
 */
#ifndef SIM_CAMPAIGN_H
#define SIM_CAMPAIGN_H

#include <stdint.h>

#include "analysis/checkers.h"
#include "engine/engine.h"
#include "mm/scenario.h"
#include "schedulers/strategy.h"

struct run_result {
	uint64_t index;		/* schedule index in the campaign */
	uint64_t seed;		/* run seed: sim_run_seed(base, index), or
				 * the base seed for every schedule of a
				 * strategy that enumerates one world (dfs) */
	enum run_outcome outcome;
	uint64_t steps;
	uint64_t decisions;
	uint64_t virtual_ns;
	uint64_t trace_hash;
};

/* An engine sized for the scenario: its CPUs and step budget. */
struct engine *campaign_engine(const struct scenario *sc, FILE *trace_out);

/*
 * Run schedule `index` of the campaign with base seed `base_seed`.  The run
 * seed is sim_run_seed(base_seed, index), except for strategies with
 * same_seed_every_schedule (dfs), whose schedules all run with base_seed.
 * The engine is left holding the finished run (findings, decision log) until
 * the next call or engine_end.  A run whose strategy reports a divergence
 * that the engine could not see (replay finishing with log entries left
 * over) is reported as RUN_DIVERGED in out->outcome.  Returns false when the
 * strategy has nothing more to explore after this schedule.
 *
 * With `checkers` (NULL: none), the run is checked: they are attached to e
 * (once; later calls find them attached) and told the schedule's index,
 * and their findings join the engine's for the run; their metrics and the
 * campaign-wide lock-order graph accumulate in them across calls.
 */
bool campaign_run_schedule(struct engine *e, const struct scenario *sc,
			   struct strategy *s, struct checkers *checkers,
			   uint64_t base_seed, uint64_t index,
			   struct run_result *out);

/*
 * PCT's k, the estimated run length in decisions, when the user gave none:
 * the number of decisions of one `timed` run of the campaign's schedule 0
 * (run seed sim_run_seed(base_seed, 0)), at least 1.  The campaign passes it
 * as params.pct_steps.  The estimate depends only on the scenario and the
 * base seed, never on earlier schedules, so any PCT schedule re-run alone
 * (same base seed, same index) draws the same change points.  The
 * calibration run is not a schedule of the campaign: hook subscribers
 * (checkers, the store) and the text trace do not see it, and the engine is
 * ended afterwards.
 */
uint64_t campaign_estimate_pct_steps(struct engine *e,
				     const struct scenario *sc,
				     uint64_t base_seed);

#endif /* SIM_CAMPAIGN_H */
