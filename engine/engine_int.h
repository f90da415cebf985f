/*
 * engine_int.h: private to engine/; the pieces the engine's files share and
 * nothing outside engine/ may call.
 */
#ifndef SIM_ENGINE_INT_H
#define SIM_ENGINE_INT_H

#include "engine/engine.h"
#include "engine/limits.h"

/* The value engine_run's setjmp returns when a task ran off its stack (a
 * failed SIM_ASSERT jumps with 1). */
#define RUN_JMP_OVERFLOW 2

/* task.c */
_Noreturn void task_exit_current(struct engine *e);
_Noreturn void task_canary_clobbered(struct engine *e, struct task *t);
void task_guard_hit(const void *addr);
void task_make_runnable(struct engine *e, struct task *t, uint64_t now_ns);
void task_free_all(struct engine *e);
size_t task_describe_for_guard(char *buf, size_t len);

/* evq.c: a binary min-heap over (time_ns, id). */
void evq_reset(struct engine *e);
struct event *evq_alloc(struct engine *e);
void evq_push(struct engine *e, struct event *ev);
void evq_remove(struct engine *e, struct event *ev);
struct event *evq_by_id(struct engine *e, uint32_t id);
/* sim_event_add for the engine's own events, returning the event. */
struct event *evq_add(struct engine *e, uint64_t time_ns, uint16_t kind,
		      uint32_t obj, event_fn fn, void *arg);
void evq_check(const struct engine *e);

/* trace.c */
static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Fold one step into the trace hash: two multiply-rotate rounds over the
 * record's fields, cheap enough for every step. */
static inline void trace_fold(struct engine *e, const struct trace_rec *r)
{
	uint64_t a = r->time_ns ^ ((uint64_t)r->cpu << 56);
	uint64_t b = (uint64_t)r->kind | ((uint64_t)r->task << 16) |
		     ((uint64_t)r->obj << 32);
	uint64_t h = e->trace_hash;

	h = rotl64(h ^ a, 27) * 0x9e3779b97f4a7c15ull;
	h = rotl64(h ^ b, 31) * 0xc2b2ae3d27d4eb4full;
	e->trace_hash = h;
}
void trace_text_step(struct engine *e, const struct trace_rec *r);

/* report.c */
void report_reset(struct engine *e);

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The switches between the scheduler and a task: inline, they are the hot
 * path.  Sanitizer builds annotate them so AddressSanitizer follows the
 * stack changes. */
#if defined(SIM_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

/* Sanitizer fiber annotations, so AddressSanitizer follows the stack
 * switches instead of reporting them. */
static inline void asan_enter_task(struct engine *e, struct task *t)
{
#if defined(SIM_ASAN)
	__sanitizer_start_switch_fiber(&e->asan_sched_fake, t->stack->lo,
				       t->stack->size);
#else
	(void)e;
	(void)t;
#endif
}

static inline void asan_back_in_sched(struct engine *e)
{
#if defined(SIM_ASAN)
	__sanitizer_finish_switch_fiber(e->asan_sched_fake, NULL, NULL);
#else
	(void)e;
#endif
}

static inline void asan_leave_task(struct engine *e, struct task *t,
				   bool exiting)
{
#if defined(SIM_ASAN)
	__sanitizer_start_switch_fiber(exiting ? NULL : &t->asan_fake_stack,
				       e->asan_main_bottom, e->asan_main_size);
#else
	(void)e;
	(void)t;
	(void)exiting;
#endif
}

static inline void asan_back_in_task(struct engine *e, struct task *t)
{
#if defined(SIM_ASAN)
	__sanitizer_finish_switch_fiber(t->asan_fake_stack,
					&e->asan_main_bottom,
					&e->asan_main_size);
#else
	(void)e;
	(void)t;
#endif
}

static inline void task_switch_in(struct engine *e, struct task *t)
{
	SIM_ASSERT(t->state == TASK_RUNNABLE);
	SIM_ASSERT(e->current == NULL);
	t->state = TASK_RUNNING;
	e->current = t;
	asan_enter_task(e, t);
	sim_ctx_switch(&e->sched_ctx, &t->ctx);
	asan_back_in_sched(e);
	e->current = NULL;
	if (__builtin_expect(!stack_canary_ok(t->stack), 0))
		task_canary_clobbered(e, t);
}

static inline void task_switch_out(struct engine *e, struct task *t)
{
	SIM_ASSERT(e->current == t);
	asan_leave_task(e, t, false);
	sim_ctx_switch(&t->ctx, &e->sched_ctx);
	asan_back_in_task(e, t);
	SIM_ASSERT(t->state == TASK_RUNNING);
}

#endif /* SIM_ENGINE_INT_H */
