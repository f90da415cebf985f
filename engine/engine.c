/*
 * engine.c: the step loop and the choice point.  Collect the enabled
 * choices, ask the chooser when there is more than one, log the decision,
 * run the choice to its next yield point, fold the step into the trace.
 * Nothing here allocates or formats unless tracing is on.  Not the tasks'
 * coroutine mechanics (task.c) nor the event heap (evq.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/engine_int.h"
#include "engine/waitq.h"

struct engine *sim;

static const char *const outcome_names[RUN_OUTCOMES_COUNT] = {
	[RUN_OK] = "ok",
	[RUN_DEADLOCK] = "deadlock",
	[RUN_BUDGET] = "budget",
	[RUN_DIVERGED] = "diverged",
	[RUN_ASSERT] = "model_assert",
	[RUN_STACK_OVERFLOW] = "stack_overflow",
};

const char *run_outcome_name(enum run_outcome o)
{
	SIM_ASSERT(o < RUN_OUTCOMES_COUNT);
	return outcome_names[o];
}

uint64_t sim_run_seed(uint64_t base, uint64_t index)
{
	if (index == 0)
		return base;
	return prng_mix64(base ^ prng_mix64(index));
}

uint64_t sim_stream_seed(uint64_t run_seed, enum sim_stream stream)
{
	return prng_mix64(run_seed ^ ((uint64_t)stream * 0xd1b54a32d192ed03ull));
}

/* Worst case five bytes per decision (a 32-bit id shifted left by one). */
#define DECISION_BYTES_MAX 5u

struct engine *engine_create(const struct engine_params *p)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->params = *p;
	if (e->params.cpus == 0)
		e->params.cpus = 1;
	if (e->params.steps_max == 0)
		e->params.steps_max = STEPS_DEFAULT;
	if (e->params.virtual_ns_max == 0)
		e->params.virtual_ns_max = VIRTUAL_NS_DEFAULT;
	SIM_ASSERT(e->params.cpus <= CPUS_MAX);
	SIM_ASSERT(e->params.steps_max <= STEPS_LIMIT);

	if (!stack_pool_init(&e->stacks, TASKS_MAX))
		goto fail;
	if (!arena_init(&e->arena, ARENA_BYTES))
		goto fail;
	/* The log is mapped lazily: a run touches only the pages its
	 * decisions fill. */
	e->decisions_cap = (size_t)e->params.steps_max * DECISION_BYTES_MAX;
	e->decisions = mmap(NULL, e->decisions_cap, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (e->decisions == MAP_FAILED) {
		e->decisions = NULL;
		goto fail;
	}
	e->findings = calloc(FINDINGS_PER_RUN_MAX, sizeof(*e->findings));
	if (!e->findings)
		goto fail;
	stack_guard_install(&e->stacks, task_describe_for_guard, task_guard_hit);
	evq_reset(e);
	return e;
fail:
	engine_destroy(e);
	errno = ENOMEM;
	return NULL;
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	if (sim == e)
		sim = NULL;
	stack_pool_fini(&e->stacks);
	arena_fini(&e->arena);
	if (e->decisions)
		munmap(e->decisions, e->decisions_cap);
	free(e->findings);
	free(e);
}

void engine_begin(struct engine *e, uint64_t run_seed)
{
	SIM_ASSERT(!e->in_run);
	if (e->tasks_count || e->heap_count || e->arena.used)
		engine_end(e);
	sim = e;
	e->seed = run_seed;
	prng_seed(&e->prng, sim_stream_seed(run_seed, SIM_STREAM_MODEL));
	evq_reset(e);
	report_reset(e);
	e->steps = 0;
	e->decisions_count = 0;
	e->decisions_len = 0;
	e->virtual_ns = 0;
	e->trace_hash = 0x6a09e667f3bcc908ull;
	e->last_task = CHOICE_NONE;
	e->current = NULL;
	e->step_start_ns = 0;
	e->step_cost_ns = 0;
	e->asserted = false;
	e->in_step = false;
	e->overflow_task = CHOICE_NONE;
	e->overflow_guard = false;
}

void engine_end(struct engine *e)
{
	SIM_ASSERT(!e->in_run);
	task_free_all(e);
	evq_reset(e);
	arena_reset(&e->arena);
}

struct engine_live engine_live_counts(const struct engine *e)
{
	return (struct engine_live){
		.tasks = e->tasks_count,
		.stacks = e->stacks.in_use,
		.events = e->heap_count,
		.arena_bytes = e->arena.used,
	};
}

struct arena *sim_arena(void)
{
	return &sim->arena;
}

bool engine_subscribe(struct engine *e, const struct engine_hooks *h)
{
	if (e->hooks_count >= HOOK_SUBSCRIBERS_MAX)
		return false;
	e->hooks[e->hooks_count++] = *h;
	/* The step hook runs in the hot loop: keep its subscribers in their
	 * own dense array so an empty one costs one compare. */
	if (h->step)
		e->step_hooks[e->step_hooks_count++] = *h;
	return true;
}

void engine_unsubscribe(struct engine *e, void *ctx)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].ctx != ctx)
			e->hooks[w++] = e->hooks[i];
	e->hooks_count = w;
	w = 0;
	for (uint32_t i = 0; i < e->step_hooks_count; i++)
		if (e->step_hooks[i].ctx != ctx)
			e->step_hooks[w++] = e->step_hooks[i];
	e->step_hooks_count = w;
}

void engine_set_obj_namer(struct engine *e,
			  void (*namer)(void *ctx, uint16_t kind, uint32_t obj,
					char *buf, size_t len),
			  void *ctx)
{
	e->obj_namer = namer;
	e->obj_namer_ctx = ctx;
}

size_t decision_encode(uint8_t *buf, uint8_t kind, uint32_t id)
{
	uint64_t v = ((uint64_t)id << 1) | (kind & 1u);
	size_t n = 0;

	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		buf[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	return n;
}

bool decision_decode(const uint8_t *buf, size_t len, size_t *pos,
		     uint8_t *kind, uint32_t *id)
{
	uint64_t v = 0;
	int shift = 0;

	while (*pos < len) {
		uint8_t byte = buf[(*pos)++];
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			if (v >> 33)
				return false;
			*kind = v & 1u;
			*id = (uint32_t)(v >> 1);
			return true;
		}
		shift += 7;
		if (shift > 35)
			return false;
	}
	return false;
}

const uint8_t *engine_decisions(const struct engine *e, size_t *len)
{
	*len = e->decisions_len;
	return e->decisions;
}

/*
 * The enabled choices: runnable tasks in id order (skipping those whose CPU
 * is held by another task in atomic context, invariant 3), then pending
 * events in heap order.  Both orders are functions of the schedule alone.
 */
static uint32_t collect_choices(struct engine *e, uint32_t *tasks_n)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->tasks_count; i++) {
		struct task *t = &e->tasks[i];
		if (t->state != TASK_RUNNABLE)
			continue;
		struct cpu *c = &e->cpus[t->cpu];
		if (c->atomic_owner && c->atomic_owner != t)
			continue;
		e->choices[n++] = (struct choice){
			.time_ns = max_u64(c->clock_ns, t->ready_ns),
			.id = t->id,
			.kind = CHOICE_TASK,
			.cpu = (uint8_t)t->cpu,
			.owner = TRACE_NO_TASK,
		};
	}
	/* Events follow in heap order: choice tasks_n + i is e->heap[i]. */
	*tasks_n = n;
	for (uint32_t i = 0; i < e->heap_count; i++) {
		const struct event *ev = e->heap[i];
		e->choices[n++] = (struct choice){
			.time_ns = ev->time_ns,
			.id = ev->id,
			.kind = CHOICE_EVENT,
			.owner = ev->owner,
		};
	}
	return n;
}

static void run_task_step(struct engine *e, struct task *t,
			  struct trace_rec *rec)
{
	struct cpu *c = &e->cpus[t->cpu];

	e->step_start_ns = max_u64(c->clock_ns, t->ready_ns);
	e->step_cost_ns = 0;
	e->yield_kind = TRACE_YIELD;
	e->yield_obj = 0;
	e->in_step = true;
	task_switch_in(e, t);
	e->in_step = false;

	uint64_t end = e->step_start_ns + e->step_cost_ns;
	c->clock_ns = end;
	t->ready_ns = max_u64(t->ready_ns, end);
	t->steps++;
	if (t->state == TASK_RUNNING)
		t->state = TASK_RUNNABLE;
	else if (t->state == TASK_EXITED)
		stack_put(&e->stacks, t->stack), t->stack = NULL;
	e->last_task = t->id;
	rec->time_ns = end;
	rec->task = t->id;
	rec->cpu = (uint8_t)t->cpu;
	rec->kind = e->yield_kind;
	rec->obj = e->yield_obj;
}

static void fire_event(struct engine *e, struct event *ev,
		       struct trace_rec *rec)
{
	event_fn fn = ev->fn;
	void *arg = ev->arg;

	rec->time_ns = ev->time_ns;
	rec->task = TRACE_NO_TASK;
	rec->cpu = 0;
	rec->kind = ev->kind;
	rec->obj = ev->obj;
	e->step_start_ns = ev->time_ns;
	e->step_cost_ns = 0;
	evq_remove(e, ev);
	e->last_task = CHOICE_NONE;
	fn(arg);
}

static enum run_outcome step_loop(struct engine *e, const struct chooser *ch)
{
	for (;;) {
		if (e->steps >= e->params.steps_max)
			return RUN_BUDGET;
		uint32_t tasks_n;
		uint32_t n = collect_choices(e, &tasks_n);
		if (n == 0)
			return e->tasks_live ? RUN_DEADLOCK : RUN_OK;

		uint32_t idx = 0;
		if (n > 1) {
			struct choice_point cp = {
				.choices = e->choices,
				.n = n,
				.last_task = e->last_task,
				.step = e->steps,
				.decision = e->decisions_count,
			};
			idx = ch->pick(ch->self, &cp);
			if (idx == CHOICE_DIVERGED)
				return RUN_DIVERGED;
			SIM_ASSERT(idx < n);
			SIM_ASSERT(e->decisions_len + DECISION_BYTES_MAX <=
				   e->decisions_cap);
			e->decisions_len += decision_encode(
				e->decisions + e->decisions_len,
				e->choices[idx].kind, e->choices[idx].id);
			e->decisions_count++;
		}

		const struct choice *c = &e->choices[idx];
		if (c->time_ns > e->params.virtual_ns_max)
			return RUN_BUDGET;

		struct trace_rec rec = { .step = e->steps };
		if (c->kind == CHOICE_TASK)
			run_task_step(e, &e->tasks[c->id], &rec);
		else
		{
			SIM_ASSERT(idx >= tasks_n);
			SIM_ASSERT(e->heap[idx - tasks_n]->id == c->id);
			fire_event(e, e->heap[idx - tasks_n], &rec);
		}
		e->steps++;
		if (rec.time_ns > e->virtual_ns)
			e->virtual_ns = rec.time_ns;
		trace_fold(e, &rec);
		for (uint32_t i = 0; i < e->step_hooks_count; i++)
			e->step_hooks[i].step(e->step_hooks[i].ctx, &rec);
		if (__builtin_expect(e->params.trace_out != NULL, 0))
			trace_text_step(e, &rec);
		if (e->asserted)
			return RUN_ASSERT;
		if (e->virtual_ns > e->params.virtual_ns_max)
			return RUN_BUDGET;
		if (SIM_EXPENSIVE)
			engine_check_invariants(e);
	}
}

/* What becomes of a step that ran off its task's stack: the step is
 * abandoned (the task cannot go on), folded into the trace as a
 * TRACE_OVERFLOW record in its place, and reported as a stack_overflow
 * finding that names the task; the run ends.  The stack is reused by a later
 * run as it is: its guard page is still PROT_NONE (a fault does not change
 * that), stack_get rewrites the canary and sim_ctx_make a fresh first
 * frame. */
static enum run_outcome overflow_end(struct engine *e)
{
	struct task *t = &e->tasks[e->overflow_task];
	char name[TASK_NAME_MAX], detail[256];
	size_t i;

	SIM_ASSERT(e->overflow_task < e->tasks_count);
	SIM_ASSERT(t->stack != NULL);
	if (e->overflow_guard)
		asan_back_in_sched(e);
	e->current = NULL;
	/* Task names come from scenarios: keep the JSON detail well formed
	 * whatever they hold. */
	for (i = 0; t->name[i] && i + 1 < sizeof(name); i++)
		name[i] = (t->name[i] == '"' || t->name[i] == '\\' ||
			   (unsigned char)t->name[i] < 0x20)
				  ? '_'
				  : t->name[i];
	name[i] = '\0';
	struct trace_rec rec = {
		.step = e->steps,
		.time_ns = e->step_start_ns + e->step_cost_ns,
		.task = t->id,
		.cpu = (uint8_t)t->cpu,
		.kind = TRACE_OVERFLOW,
		.obj = e->overflow_guard,
	};
	e->steps++;
	if (rec.time_ns > e->virtual_ns)
		e->virtual_ns = rec.time_ns;
	trace_fold(e, &rec);
	if (__builtin_expect(e->params.trace_out != NULL, 0))
		trace_text_step(e, &rec);
	snprintf(detail, sizeof(detail),
		 "{\"task\":\"%s\",\"task_id\":%u,\"stack_bytes\":%zu,"
		 "\"caught_by\":\"%s\"}",
		 name, t->id, t->stack->size,
		 e->overflow_guard ? "guard_page" : "canary");
	/* One signature per task name: the same task overflowing in many
	 * schedules is one bug. */
	struct finding *f = sim_report(
		"stack_overflow",
		sim_signature_mix(sim_signature("stack_overflow:"), t->name),
		detail,
		"stack overflow: task %s (id %u) ran off its %zu KiB stack at "
		"step %llu (the %s caught it)",
		t->name, t->id, t->stack->size >> 10,
		(unsigned long long)rec.step,
		e->overflow_guard ? "guard page below the stack"
				  : "canary at the stack's bottom");
	if (f)
		f->task = t->id;
	return RUN_STACK_OVERFLOW;
}

enum run_outcome engine_run(struct engine *e, const struct chooser *ch)
{
	enum run_outcome outcome;
	int jumped;

	SIM_ASSERT(!e->in_run);
	SIM_ASSERT(ch != NULL && ch->pick != NULL);
	sim = e;
	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].run_begin)
			e->hooks[i].run_begin(e->hooks[i].ctx, e);
	e->in_run = true;
	/* A SIM_ASSERT outside a task step (in an event handler or a hook)
	 * lands here; one inside a task switches back to the loop. */
	/* A stack overflow lands here too, from the SIGSEGV handler or the
	 * canary check (task.c), with RUN_JMP_OVERFLOW. */
	jumped = setjmp(e->run_jmp);
	if (jumped == 0)
		outcome = step_loop(e, ch);
	else if (jumped == RUN_JMP_OVERFLOW)
		outcome = overflow_end(e);
	else
		outcome = RUN_ASSERT;
	e->in_run = false;
	e->in_step = false;
	e->current = NULL;
	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].run_end)
			e->hooks[i].run_end(e->hooks[i].ctx, e, outcome);
	return outcome;
}

void engine_check_invariants(const struct engine *e)
{
	uint32_t running = 0, blocked = 0, waiting = 0;

	for (uint32_t i = 0; i < e->tasks_count; i++) {
		const struct task *t = &e->tasks[i];
		SIM_ASSERT(t->id == i);
		if (t->state == TASK_RUNNING) {
			running++;
			SIM_ASSERT(e->current == t);	/* invariant 1 */
		}
		if (t->state == TASK_BLOCKED)
			blocked++;
		if (t->wq) {
			waiting++;
			SIM_ASSERT(t->state == TASK_BLOCKED);	/* invariant 2 */
		}
		if (t->preempt_count > 0 && t->state != TASK_EXITED)
			SIM_ASSERT(e->cpus[t->cpu].atomic_owner == t);
	}
	SIM_ASSERT(running <= 1);
	SIM_ASSERT(waiting <= blocked);
	for (uint32_t c = 0; c < e->params.cpus; c++) {
		const struct task *o = e->cpus[c].atomic_owner;
		if (o) {
			SIM_ASSERT(o->cpu == c);		/* invariant 3 */
			SIM_ASSERT(o->preempt_count > 0);
		}
	}
	evq_check(e);						/* invariant 4 */
}
