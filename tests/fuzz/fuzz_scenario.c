/*
 * fuzz_scenario.c: the libFuzzer target over scenario JSON.  Each input is
 * loaded as the base scenario and with each of its variants applied, as
 * `simrun validate` does; a load that fails must say where ("fuzz: PATH:
 * what"), and one that succeeds must hold only what the model accepts:
 * its headline is looked up, and the base scenario's world is built and run
 * for one short `timed` schedule with every checker attached.  A model
 * assertion in that run means the loader let through a world the model
 * cannot hold, and is reported as a crash like any sanitizer finding.
 * Built only with -DSIMRUN_FUZZ=ON (clang); run by tools/fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/campaign.h"
#include "analysis/checkers.h"
#include "analysis/metrics.h"
#include "mm/scenario.h"
#include "schedulers/strategy.h"

/* Per input, a short schedule: enough steps to build the world and run
 * its first faults, few enough to keep an input well under a millisecond
 * of model time. */
#define FUZZ_STEPS_MAX 2000u
#define FUZZ_VIRTUAL_NS_MAX (50ull * 1000000ull)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const char *err)
{
	/* Every failed load names its origin first. */
	if (strncmp(err, "fuzz", 4) != 0 || strlen(err) < 6) {
		fprintf(stderr, "fuzz_scenario: a failed load without a message naming the origin: \"%s\"\n",
			err);
		abort();
	}
}

static void run_one_schedule(struct scenario *sc)
{
	if (sc->explore.steps_max > FUZZ_STEPS_MAX)
		sc->explore.steps_max = FUZZ_STEPS_MAX;
	if (sc->explore.virtual_ns_max > FUZZ_VIRTUAL_NS_MAX)
		sc->explore.virtual_ns_max = FUZZ_VIRTUAL_NS_MAX;

	struct engine *e = campaign_engine(sc, NULL);
	struct checkers *ck = checkers_create(&(struct checker_settings){
		.hung_task_timeout_ns = sc->checks.hung_task_timeout_ns,
		.fault_retries_max = sc->checks.fault_retries_max });
	char err[256];
	struct strategy *s = strategy_create(
		&(struct strategy_params){ .kind = STRATEGY_TIMED }, err,
		sizeof(err));
	if (!e || !ck || !s) {
		fprintf(stderr, "fuzz_scenario: cannot set up a run: %s\n",
			s ? "engine or checkers" : err);
		abort();
	}
	struct run_result r;
	campaign_run_schedule(e, sc, s, ck, 42, 0, &r);
	if (r.outcome == RUN_ASSERT) {
		for (uint32_t i = 0; i < e->findings_count; i++)
			fprintf(stderr, "fuzz_scenario: %s: %s\n",
				e->findings[i].kind, e->findings[i].summary);
		fprintf(stderr, "fuzz_scenario: the model asserted on a scenario the loader accepted\n");
		abort();
	}
	checkers_destroy(ck);
	engine_end(e);
	engine_destroy(e);
	strategy_destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	struct scenario *base = scenario_load_text((const char *)data, size,
						   "fuzz", NULL, err,
						   sizeof(err));
	if (!base) {
		check_error(err);
		return 0;
	}
	bool counter;
	uint32_t index;
	if (base->headline[0])
		(void)metrics_lookup(base->headline, &counter, &index);
	for (uint32_t k = 0; k < base->variants_count; k++) {
		struct scenario *sc = scenario_load_text(
			(const char *)data, size, "fuzz",
			base->variants[k].name, err, sizeof(err));
		if (!sc)
			check_error(err);
		scenario_free(sc);
	}
	run_one_schedule(base);
	scenario_free(base);
	return 0;
}
