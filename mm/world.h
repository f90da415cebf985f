/*
 * world.h: one schedule's world, built fresh from a frozen scenario into the
 * engine's arena: the tasks and what they run.  Not the loader
 * (scenario.c), not the engine.
 */
#ifndef SIM_WORLD_H
#define SIM_WORLD_H

#include "engine/engine.h"
#include "mm/mm.h"
#include "mm/scenario.h"

struct world {
	const struct scenario *scenario;
	struct mm_world *mm;		/* = mm_world while the run lasts */
	struct task *tasks[TASKS_MAX];
	uint32_t tasks_count;
};

/* Create a task that carries the model's per-task state (struct task_mm):
 * every task that runs model code must be made with this. */
struct task *mm_task_create(struct engine *e, const char *name, uint16_t cpu,
			    void (*fn)(void *arg), void *arg);

/* Start a fresh world: object ids from 1 again.  world_build calls it;
 * tests that build worlds by hand call it first. */
void mm_world_reset(void);

/* Build the world of `s` in `e` (after engine_begin, before engine_run). */
struct world *world_build(struct engine *e, const struct scenario *s);

/* The VMA a scenario entry describes (also what an mmap op maps). */
void world_vma_desc(const struct scenario_vma *v, struct vma_desc *d);

#endif /* SIM_WORLD_H */
