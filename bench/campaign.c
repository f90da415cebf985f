/*
 * bench/campaign.c: what exploration costs on real scenarios.  For each
 * scenario and variant given (default: a fixed list of shipped ones), runs a
 * campaign of N schedules through runner_run, the loop `simrun` itself uses:
 * every checker attached and, with --db, every run recorded in a result
 * database.  Prints schedules and model steps per second of CPU time (per
 * core, whatever else the machine runs; the database's writes are the
 * process's own CPU time too) and of wall time, and the arena's high-water
 * mark.  A figure, never a pass/fail.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analysis/runner.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What after_run adds up: the runner reports outcomes, not steps. */
struct tally {
	uint64_t steps;
	size_t arena_bytes;
};

static bool tally_run(void *ctx, const struct run_result *r,
		      const struct engine *e)
{
	struct tally *t = ctx;

	t->steps += r->steps;
	if (e->arena.high_water > t->arena_bytes)
		t->arena_bytes = e->arena.high_water;
	return true;
}

static int bench_one(const char *path, const char *variant, const char *strategy,
		     uint64_t schedules, const char *db)
{
	char err[1024];
	struct scenario *sc = scenario_load_file(path, variant, err, sizeof(err));
	struct store *st = NULL;
	struct tally t = { 0 };
	struct runner_result *out = calloc(1, sizeof(*out));

	if (!sc || !out) {
		fprintf(stderr, "bench: %s\n", sc ? "out of memory" : err);
		return 2;
	}
	struct runner_params p = {
		.sc = sc,
		.strategy = { .pct_depth = 3, .preemptions_max = UINT32_MAX },
		.base_seed = 42,
		.schedules = schedules,
		.after_run = tally_run,
		.ctx = &t,
	};
	if (!strategy_kind_parse(strategy, &p.strategy.kind)) {
		fprintf(stderr, "bench: unknown strategy %s\n", strategy);
		return 2;
	}
	if (db) {
		/* A fresh file each time, so every figure starts from the
		 * same empty database. */
		unlink(db);
		if (store_open(db, NULL, &st, err, sizeof(err)) != STORE_OK) {
			fprintf(stderr, "bench: %s\n", err);
			return 2;
		}
		p.store = st;
	}
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	double t0 = clock_s(CLOCK_MONOTONIC);
	enum runner_rc rc = runner_run(&p, out);
	if (st && store_close(st, err, sizeof(err)) != STORE_OK &&
	    rc == RUNNER_OK) {
		snprintf(out->err, sizeof(out->err), "%s", err);
		rc = RUNNER_ERR_STORE;
	}
	double dt = clock_s(CLOCK_MONOTONIC) - t0;
	double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (rc != RUNNER_OK) {
		fprintf(stderr, "bench: %s\n", out->err);
		return 3;
	}
	printf("%-24s %-17s %-6s %8" PRIu64 " sched %9.0f sched/s %6.2f M steps/s"
	       " per CPU s (wall: %9.0f sched/s %6.2f M steps/s)"
	       "  arena %4zu KiB  problem runs %" PRIu64 "  db %s\n",
	       sc->name, variant ? variant : "(base)", strategy,
	       out->schedules_run, (double)out->schedules_run / dc,
	       (double)t.steps / dc / 1e6, (double)out->schedules_run / dt,
	       (double)t.steps / dt / 1e6, t.arena_bytes / 1024,
	       out->problem_runs, db ? "on" : "off");
	if (db) {
		unlink(db);
		char side[4096];
		snprintf(side, sizeof(side), "%s-wal", db);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", db);
		unlink(side);
	}
	free(out);
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
		{ "scenarios/swap-fault-vma-lock.json", NULL, "random" },
	};
	uint64_t schedules = 2000;
	const char *db = NULL;
	int argi = 1;

	if (argi + 1 < argc && strcmp(argv[argi], "--db") == 0) {
		db = argv[argi + 1];
		argi += 2;
	}
	int rest = argc - argi;
	if (rest == 4) {
		schedules = strtoull(argv[argi + 3], NULL, 0);
		return bench_one(argv[argi],
				 argv[argi + 1][0] ? argv[argi + 1] : NULL,
				 argv[argi + 2], schedules, db);
	}
	if (rest != 0 && rest != 1) {
		fprintf(stderr, "usage: bench/campaign [--db PATH] [SCHEDULES]\n"
				"       bench/campaign [--db PATH] SCENARIO VARIANT STRATEGY SCHEDULES\n"
				"(VARIANT \"\" for the base scenario; run from the source tree)\n");
		return 2;
	}
	if (rest == 1)
		schedules = strtoull(argv[argi], NULL, 0);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		int rc = bench_one(defaults[i].file, defaults[i].variant,
				   defaults[i].strategy, schedules, db);
		if (rc)
			return rc;
	}
	return 0;
}
