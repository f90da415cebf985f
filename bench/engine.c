/*
 * bench/engine.c: raw speed of the step loop.  Four tasks on one CPU that do
 * nothing but yield, run under the timed strategy with the trace hash on
 * (it always is); prints steps per second of CPU time (per core, whatever
 * else the machine runs) and of wall time.  A figure, never a pass/fail.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine/engine.h"
#include "schedulers/strategy.h"

static void yielder(void *arg)
{
	(void)arg;
	for (;;)
		sim_yield(TRACE_YIELD, 0);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	uint64_t steps = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000ull;
	struct engine_params p = { .cpus = 1, .steps_max = steps };
	struct engine *e = engine_create(&p);
	char err[128];
	struct strategy_params sp = { .kind = STRATEGY_TIMED };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));

	if (!e || !s) {
		fprintf(stderr, "bench: setup failed\n");
		return 3;
	}
	double best = 0, best_wall = 0;
	for (int round = 0; round < 3; round++) {
		engine_begin(e, 42);
		for (int i = 0; i < 4; i++)
			task_create(e, "y", 0, yielder, NULL);
		strategy_begin(s, 42, 0);
		struct chooser ch = strategy_chooser(s);
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		double t0 = clock_s(CLOCK_MONOTONIC);
		enum run_outcome o = engine_run(e, &ch);
		double dt = clock_s(CLOCK_MONOTONIC) - t0;
		double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		double rate = (double)e->steps / dc;
		double wall = (double)e->steps / dt;
		printf("round %d: %" PRIu64 " steps in %.3f s CPU, %.3f s wall: %.1f M steps/s per CPU second, %.1f M per wall second (outcome %s, hash %016" PRIx64 ")\n",
		       round, e->steps, dc, dt, rate / 1e6, wall / 1e6,
		       run_outcome_name(o), engine_trace_hash(e));
		if (rate > best)
			best = rate;
		if (wall > best_wall)
			best_wall = wall;
		engine_end(e);
	}
	printf("engine: %.1f M steps/s per CPU second, %.1f M per wall second (best of 3; 4 yielding tasks, timed, trace hash on)\n",
	       best / 1e6, best_wall / 1e6);
	strategy_destroy(s);
	engine_destroy(e);
	return 0;
}
