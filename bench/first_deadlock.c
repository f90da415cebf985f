/*
 * bench/first_deadlock.c: how long a strategy takes to find a deadlock.
 * Runs a campaign of SCENARIO through runner_run (every checker on, no
 * database) and stops at the first run with a `deadlock` finding, the
 * checker's cycle in the wait-for graph; other findings (lock_order often
 * comes first) do not stop it.  Prints the schedules run up to and
 * including that one and the wall time, or that none was found within the
 * caps.  A figure, never a pass/fail.
 *
 *     bench/first_deadlock SCENARIO STRATEGY SCHEDULES_CAP SECONDS_CAP [SEED]
 *
 * SEED is the campaign's base seed (default 42).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/runner.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct hunt {
	double t0, seconds_max;
	bool found;
	uint64_t schedules;	/* run so far, the deadlocked one included */
	double found_s;
};

static bool after_run(void *ctx, const struct run_result *r,
		      const struct engine *e)
{
	struct hunt *h = ctx;

	h->schedules = r->index + 1;
	for (uint32_t i = 0; i < e->findings_count; i++) {
		if (strcmp(e->findings[i].kind, "deadlock") == 0) {
			h->found = true;
			h->found_s = now_s() - h->t0;
			return false;
		}
	}
	/* The clock is read once per schedule: the cap is a bench's, not
	 * the model's, and the model never sees it. */
	return now_s() - h->t0 < h->seconds_max;
}

int main(int argc, char **argv)
{
	char err[1024];

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: bench/first_deadlock SCENARIO STRATEGY "
				"SCHEDULES_CAP SECONDS_CAP [SEED]\n");
		return 2;
	}
	struct scenario *sc = scenario_load_file(argv[1], NULL, err, sizeof(err));
	struct runner_result *out = calloc(1, sizeof(*out));
	if (!sc || !out) {
		fprintf(stderr, "first_deadlock: %s\n", sc ? "out of memory" : err);
		return 2;
	}
	struct hunt h = { .seconds_max = strtod(argv[4], NULL) };
	struct runner_params p = {
		.sc = sc,
		.strategy = { .pct_depth = 3, .preemptions_max = UINT32_MAX },
		.base_seed = argc == 6 ? strtoull(argv[5], NULL, 0) : 42,
		.schedules = strtoull(argv[3], NULL, 0),
		.after_run = after_run,
		.ctx = &h,
	};
	if (!strategy_kind_parse(argv[2], &p.strategy.kind) ||
	    p.schedules < 1 || p.schedules > RUNNER_SCHEDULES_MAX) {
		fprintf(stderr, "first_deadlock: bad strategy or cap\n");
		return 2;
	}
	h.t0 = now_s();
	enum runner_rc rc = runner_run(&p, out);
	double dt = now_s() - h.t0;
	if (rc != RUNNER_OK && rc != RUNNER_STOPPED) {
		fprintf(stderr, "first_deadlock: %s\n", out->err);
		return 3;
	}
	if (h.found)
		printf("found %" PRIu64 " %.3f\n", h.schedules, h.found_s);
	else
		printf("none %" PRIu64 " %.3f%s\n", out->schedules_run, dt,
		       out->exhausted ? " exhausted" : "");
	free(out);
	scenario_free(sc);
	return 0;
}
