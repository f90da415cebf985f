/*
 * world.c: builds a schedule's world from a scenario and runs each
 * scenario task's operations in order.
 */
#include "engine/engine.h"
#include "mm/devices.h"
#include "mm/locks.h"
#include "mm/vmstat.h"
#include "mm/world.h"

struct task_ctx {
	struct world *world;
	const struct scenario_task *st;
};

static void run_op(const struct scenario_op *op)
{
	switch (op->kind) {
	case OP_SLEEP:
		sim_sleep(op->u.sleep.ns);
		break;
	case OP_KINDS_COUNT:
		SIM_ASSERT(!"not an operation");
	}
}

static void scenario_task_main(void *arg)
{
	struct task_ctx *c = arg;

	for (uint32_t i = 0; i < c->st->ops_count; i++)
		run_op(&c->st->ops[i]);
}

struct task *mm_task_create(struct engine *e, const char *name, uint16_t cpu,
			    void (*fn)(void *arg), void *arg)
{
	struct task *t = task_create(e, name, cpu, fn, arg);

	t->priv = arena_new(&e->arena, struct task_mm);
	return t;
}

void mm_world_reset(void)
{
	mm_obj_ids_reset();
	vm_events_reset();
}

struct world *world_build(struct engine *e, const struct scenario *s)
{
	struct world *w = arena_new(&e->arena, struct world);

	mm_world_reset();
	devices_build(e, &s->devices);
	SIM_ASSERT(s->cpus <= e->params.cpus);
	w->scenario = s;
	for (uint32_t i = 0; i < s->tasks_count; i++) {
		struct task_ctx *c = arena_new(&e->arena, struct task_ctx);
		c->world = w;
		c->st = &s->tasks[i];
		w->tasks[i] = mm_task_create(e, s->tasks[i].name, s->tasks[i].cpu,
					  scenario_task_main, c);
	}
	w->tasks_count = s->tasks_count;
	return w;
}
