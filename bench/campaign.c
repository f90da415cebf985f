/*
 * bench/campaign.c: what exploration costs on real scenarios.  For each
 * scenario and variant given (default: a fixed list of shipped ones), runs
 * N schedules with every checker attached, the way `simrun` does minus the
 * database, and prints schedules per second, steps per second and the
 * arena's high-water mark (the memory one schedule's world needs).  A
 * figure, never a pass/fail.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/campaign.h"
#include "analysis/checkers.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_one(const char *path, const char *variant, const char *strategy,
		     uint64_t schedules)
{
	char err[1024];
	struct scenario *sc = scenario_load_file(path, variant, err, sizeof(err));
	if (!sc) {
		fprintf(stderr, "bench: %s\n", err);
		return 2;
	}
	struct engine *e = campaign_engine(sc, NULL);
	struct strategy_params sp = { .pct_depth = 3,
				      .preemptions_max = UINT32_MAX };
	if (!e || !strategy_kind_parse(strategy, &sp.kind)) {
		fprintf(stderr, "bench: setup failed\n");
		return 3;
	}
	if (sp.kind == STRATEGY_PCT)
		sp.pct_steps = campaign_estimate_pct_steps(e, sc, 42);
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	struct checkers *ck = checkers_create(NULL);
	if (!s || !ck) {
		fprintf(stderr, "bench: %s\n", s ? "checkers" : err);
		return 3;
	}
	uint64_t steps = 0, findings = 0;
	double t0 = now_s();
	for (uint64_t i = 0; i < schedules; i++) {
		struct run_result r;
		campaign_run_schedule(e, sc, s, ck, 42, i, &r);
		steps += r.steps;
		findings += e->findings_count;
	}
	double dt = now_s() - t0;
	printf("%-28s %-20s %-6s %8" PRIu64 " sched  %9.0f sched/s  %6.2f M steps/s  arena %7zu KiB  findings %" PRIu64 "\n",
	       sc->name, variant ? variant : "(base)", strategy, schedules,
	       (double)schedules / dt, (double)steps / dt / 1e6,
	       e->arena.high_water / 1024, findings);
	checkers_destroy(ck);
	strategy_destroy(s);
	engine_end(e);
	engine_destroy(e);
	scenario_free(sc);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *file, *variant, *strategy;
	} defaults[] = {
		{ "scenarios/default.json", NULL, "timed" },
		{ "scenarios/mmap-lock-convoy.json", "release-hdd", "timed" },
		{ "scenarios/fuse-write-deadlock.json", "fuse_multi_lock", "pct" },
		{ "scenarios/vma-then-mmap-inversion.json", "broken", "random" },
		{ "scenarios/faultaround-thp-leak.json", "inverted_set_pmd", "pct" },
		{ "scenarios/rwsem-fair-deadlock.json", "fair", "pct" },
	};
	uint64_t schedules = 2000;

	if (argc == 5) {
		schedules = strtoull(argv[4], NULL, 0);
		return bench_one(argv[1], argv[2][0] ? argv[2] : NULL, argv[3],
				 schedules);
	}
	if (argc != 1 && argc != 2) {
		fprintf(stderr, "usage: bench/campaign [SCHEDULES] | SCENARIO VARIANT STRATEGY SCHEDULES\n");
		return 2;
	}
	if (argc == 2)
		schedules = strtoull(argv[1], NULL, 0);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		int rc = bench_one(defaults[i].file, defaults[i].variant,
				   defaults[i].strategy, schedules);
		if (rc)
			return rc;
	}
	return 0;
}
