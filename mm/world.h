/*
 * world.h: one schedule's world, built fresh from a frozen scenario into the
 * engine's arena: the tasks and what they run.  Not the loader
 * (scenario.c), not the engine.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include "engine/engine.h"
#include "mm/scenario.h"

struct world {
	const struct scenario *scenario;
	struct task *tasks[TASKS_MAX];
	uint32_t tasks_count;
};

/* Build the world of `s` in `e` (after engine_begin, before engine_run). */
struct world *world_build(struct engine *e, const struct scenario *s);

#endif /* SIM_WORLD_H */
