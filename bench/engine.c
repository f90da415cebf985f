/*
 * bench/engine.c: raw speed of the step loop.  Four tasks on one CPU that do
 * nothing but yield, run under the timed strategy with the trace hash on
 * (it always is); prints steps per second.  A figure, never a pass/fail.
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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
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
	double best = 0;
	for (int round = 0; round < 3; round++) {
		engine_begin(e, 42);
		for (int i = 0; i < 4; i++)
			task_create(e, "y", 0, yielder, NULL);
		strategy_begin(s, 42, 0);
		struct chooser ch = strategy_chooser(s);
		double t0 = now_s();
		enum run_outcome o = engine_run(e, &ch);
		double dt = now_s() - t0;
		double rate = (double)e->steps / dt;
		printf("round %d: %" PRIu64 " steps in %.3f s: %.1f M steps/s (outcome %s, hash %016" PRIx64 ")\n",
		       round, e->steps, dt, rate / 1e6, run_outcome_name(o),
		       engine_trace_hash(e));
		if (rate > best)
			best = rate;
		engine_end(e);
	}
	printf("engine: %.1f M steps/s (best of 3; 4 yielding tasks, timed, trace hash on)\n",
	       best / 1e6);
	strategy_destroy(s);
	engine_destroy(e);
	return 0;
}
