/*
 * checkers.c: the registry of checkers and the one subscription to each
 * hook table that dispatches to them.  One subscription, not one per
 * checker: the hook tables are small (HOOK_SUBSCRIBERS_MAX,
 * LOCK_HOOKS_MAX, VMSTAT_HOOKS_MAX), and a checker added later should
 * cost a line in the registry, not a hook slot.  Not
 * the checks themselves: one file each.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/checkers_int.h"

/* In this order at every hook: the metrics last, so that at run_end they
 * fold a run the checkers have finished with. */
static const struct checker_ops *const registry[] = {
	&deadlock_checker,
	&lockdep_checker,
	&hung_task_checker,
	&livelock_checker,
	&invariants_checker,
	&leak_checker,
	&stale_checker,
	&metrics_checker,
};

#define REGISTRY_COUNT (sizeof(registry) / sizeof(registry[0]))
static_assert(REGISTRY_COUNT <= CHECKERS_MAX, "CHECKERS_MAX holds the registry");

#define EACH(c, i) for (uint32_t i = 0; i < (c)->count; i++)

struct checkers *checkers_create(const struct checker_settings *s)
{
	struct checkers *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (s)
		c->settings = *s;
	if (c->settings.hung_task_timeout_ns == 0)
		c->settings.hung_task_timeout_ns = HUNG_TASK_TIMEOUT_NS_DEFAULT;
	if (c->settings.fault_retries_max == 0)
		c->settings.fault_retries_max = FAULT_RETRIES_DEFAULT;
	for (uint32_t i = 0; i < REGISTRY_COUNT; i++) {
		const struct checker_ops *ops = registry[i];
		SIM_ASSERT(ops->name != NULL);
		void *st = calloc(1, ops->state_bytes ? ops->state_bytes : 1);
		if (!st) {
			checkers_destroy(c);
			return NULL;
		}
		c->ops[c->count] = ops;
		c->state[c->count++] = st;
		if (ops->init)
			ops->init(c, st);
	}
	return c;
}

void checkers_destroy(struct checkers *c)
{
	if (!c)
		return;
	checkers_detach(c);
	EACH(c, i)
		free(c->state[i]);
	free(c);
}

const struct checker_settings *checkers_settings(const struct checkers *c)
{
	return &c->settings;
}

void *checkers_state(const struct checkers *c, const struct checker_ops *ops)
{
	EACH(c, i)
		if (c->ops[i] == ops)
			return c->state[i];
	SIM_ASSERT(!"checker not in the registry");
	return NULL;
}

/* ------------------------------------------------------- engine hooks */

static void on_run_begin(void *ctx, struct engine *e)
{
	struct checkers *c = ctx;

	SIM_ASSERT(c->engine == e);
	SIM_ASSERT(!c->in_run);
	c->run_index = c->index_set ? c->next_index : c->runs;
	c->index_set = false;
	c->in_run = true;
	EACH(c, i)
		if (c->ops[i]->run_begin)
			c->ops[i]->run_begin(c, c->state[i], e);
}

static void on_block(void *ctx, struct task *t, struct waitq *wq)
{
	struct checkers *c = ctx;

	EACH(c, i)
		if (c->ops[i]->block)
			c->ops[i]->block(c, c->state[i], t, wq);
}

static void on_wake(void *ctx, struct task *t, struct waitq *wq)
{
	struct checkers *c = ctx;

	EACH(c, i)
		if (c->ops[i]->wake)
			c->ops[i]->wake(c, c->state[i], t, wq);
}

static void on_task_exit(void *ctx, struct task *t)
{
	struct checkers *c = ctx;

	EACH(c, i)
		if (c->ops[i]->task_exit)
			c->ops[i]->task_exit(c, c->state[i], t);
}

static void on_run_end(void *ctx, struct engine *e, enum run_outcome o)
{
	struct checkers *c = ctx;

	SIM_ASSERT(c->engine == e);
	SIM_ASSERT(c->in_run);
	EACH(c, i)
		if (c->ops[i]->run_end)
			c->ops[i]->run_end(c, c->state[i], e, o);
	c->in_run = false;
	c->runs++;
}

/* --------------------------------------------- lock and vmstat hooks */

/* The lock and vmstat hook tables are global to the model, not per
 * engine: listen only during a run of the engine attached to.  (The PCT
 * calibration run, for one, hides itself from the engine's subscribers,
 * and so from these.) */
static bool listening(const struct checkers *c)
{
	return c->in_run && sim == c->engine;
}

static void on_acquired(void *ctx, struct task *t, const struct held_lock *h)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->acquired)
			c->ops[i]->acquired(c, c->state[i], t, h);
}

static void on_released(void *ctx, struct task *t, const struct held_lock *h,
			uint64_t now_ns)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->released)
			c->ops[i]->released(c, c->state[i], t, h, now_ns);
}

static void on_wait_begin(void *ctx, struct task *t, struct lock_common *l,
			  enum lock_mode mode, const char *where)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->wait_begin)
			c->ops[i]->wait_begin(c, c->state[i], t, l, mode, where);
}

static void on_wait_end(void *ctx, struct task *t, struct lock_common *l,
			enum lock_mode mode, uint64_t waited_ns)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->wait_end)
			c->ops[i]->wait_end(c, c->state[i], t, l, mode,
					    waited_ns);
}

static void on_vm_event(void *ctx, enum vm_event_item item, uint64_t delta)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->vm_event)
			c->ops[i]->vm_event(c, c->state[i], item, delta);
}

static void on_fault_done(void *ctx, const struct fault_record *r)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->fault_done)
			c->ops[i]->fault_done(c, c->state[i], r);
}

static void on_fault_retry(void *ctx, struct task *t, uint64_t address,
			   uint32_t attempt, const char *why)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->fault_retry)
			c->ops[i]->fault_retry(c, c->state[i], t, address,
					       attempt, why);
}

static void on_folio_freed(void *ctx, struct folio *folio)
{
	struct checkers *c = ctx;

	if (!listening(c))
		return;
	EACH(c, i)
		if (c->ops[i]->folio_freed)
			c->ops[i]->folio_freed(c, c->state[i], folio);
}

/* ------------------------------------------------------------- attach */

bool checkers_attach(struct checkers *c, struct engine *e)
{
	SIM_ASSERT(e != NULL);
	SIM_ASSERT(!c->in_run);
	if (c->engine == e)
		return true;
	checkers_detach(c);

	struct engine_hooks eh = {
		.ctx = c,
		.run_begin = on_run_begin,
		.block = on_block,
		.wake = on_wake,
		.task_exit = on_task_exit,
		.run_end = on_run_end,
	};
	struct lock_hooks lh = {
		.ctx = c,
		.acquired = on_acquired,
		.released = on_released,
		.wait_begin = on_wait_begin,
		.wait_end = on_wait_end,
	};
	struct vmstat_hooks vh = {
		.ctx = c,
		.vm_event = on_vm_event,
		.fault_done = on_fault_done,
		.fault_retry = on_fault_retry,
		.folio_freed = on_folio_freed,
	};
	/* No step hook: nothing here needs to run at every step. */
	if (!engine_subscribe(e, &eh))
		return false;
	if (!lock_hooks_subscribe(&lh)) {
		engine_unsubscribe(e, c);
		return false;
	}
	if (!vmstat_hooks_subscribe(&vh)) {
		lock_hooks_unsubscribe(c);
		engine_unsubscribe(e, c);
		return false;
	}
	c->engine = e;
	return true;
}

void checkers_detach(struct checkers *c)
{
	if (!c->engine)
		return;
	SIM_ASSERT(!c->in_run);
	engine_unsubscribe(c->engine, c);
	lock_hooks_unsubscribe(c);
	vmstat_hooks_unsubscribe(c);
	c->engine = NULL;
}

void checkers_run_begin(struct checkers *c, uint64_t index)
{
	SIM_ASSERT(!c->in_run);
	c->next_index = index;
	c->index_set = true;
}

uint64_t checkers_runs(const struct checkers *c)
{
	return c->runs;
}

/* ------------------------------------------------------------ results */

const struct metrics *checkers_run_metrics(const struct checkers *c)
{
	return metrics_checker_run(checkers_state(c, &metrics_checker));
}

const struct metrics *checkers_campaign_metrics(const struct checkers *c)
{
	return metrics_checker_campaign(checkers_state(c, &metrics_checker));
}

uint32_t checkers_lock_order_count(const struct checkers *c,
				   uint32_t *dropped)
{
	return lockdep_checker_cycles(checkers_state(c, &lockdep_checker),
				      dropped);
}

const struct lock_order_cycle *checkers_lock_order(const struct checkers *c,
						   uint32_t i)
{
	return lockdep_checker_cycle(checkers_state(c, &lockdep_checker), i);
}

uint32_t checkers_lock_events(const struct checkers *c,
			      const struct lockdep_event **events)
{
	SIM_ASSERT(events != NULL);
	return lockdep_checker_events(checkers_state(c, &lockdep_checker),
				      events);
}
