/*
 * task.c: tasks as coroutines, and the switches between a task and the
 * scheduler.  See the state machine at the top of engine.h.  Not the
 * scheduler loop (engine.c) nor wait queues (waitq.c).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"
#include "engine/waitq.h"

static void task_entry(void *arg)
{
	struct task *t = arg;
	struct engine *e = sim;

	asan_back_in_task(e, t);
	t->fn(t->arg);
	task_exit_current(e);
}

struct task *task_create(struct engine *e, const char *name, uint16_t cpu,
			 void (*fn)(void *arg), void *arg)
{
	SIM_ASSERT(e->tasks_count < TASKS_MAX);
	SIM_ASSERT(cpu < e->params.cpus);
	SIM_ASSERT(fn != NULL);

	struct task *t = &e->tasks[e->tasks_count];
	memset(t, 0, sizeof(*t));
	t->id = (uint16_t)e->tasks_count;
	t->cpu = cpu;
	t->fn = fn;
	t->arg = arg;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "task");
	t->stack = stack_get(&e->stacks);
	SIM_ASSERT(t->stack != NULL);
	sim_ctx_make(&t->ctx, t->stack->lo, t->stack->size, task_entry, t);
	/* A task created by a running task starts no earlier than its
	 * creator's present. */
	t->ready_ns = e->in_step ? sim_now() : 0;
	t->state = TASK_RUNNABLE;
	e->tasks_count++;
	e->tasks_live++;
	return t;
}

/* The canary at the bottom of t's stack was overwritten during the step
 * that just switched back: a frame that reached the stack's last word, or
 * jumped over the guard page (a frame larger than a page).  In the second
 * case it wrote below the guard, into the top of the stack beneath (whose
 * task belongs to this same run, which ends here and never resumes it) or,
 * for the lowest stack, below the pool's mapping, where the write itself
 * faults outside any guard page and stops simrun as an engine bug.  Back
 * in the scheduler's context, end the run as engine_run's overflow_end
 * says. */
_Noreturn void task_canary_clobbered(struct engine *e, struct task *t)
{
	SIM_ASSERT(e->in_run);
	SIM_ASSERT(e->current == NULL);
	e->overflow_task = t->id;
	e->overflow_guard = false;
	longjmp(e->run_jmp, RUN_JMP_OVERFLOW);
}

/*
 * Called from the SIGSEGV handler (engine/stack.c) with the fault address,
 * on the signal stack.  When the address is in the guard page below the
 * stack of the task running a step, that task ran off its stack: leave it
 * for good and jump back to engine_run, which ends the run with a
 * stack_overflow finding (overflow_end).  Anything else returns, and the
 * handler treats it as simrun's own bug.
 *
 * The jump leaves the handler without sigreturn, so SIGSEGV, blocked while
 * the handler runs, is unblocked here first.  Only model code runs on a
 * task's stack, and the model allocates nothing and takes no lock of the C
 * library inside a step (formatting a finding or a trace note, which it
 * may, takes none either), so no library state is left half-changed.
 */
void task_guard_hit(const void *addr)
{
	struct engine *e = sim;
	uint32_t index;
	sigset_t segv;

	if (!e || !e->in_run || !e->in_step || !e->current ||
	    !e->current->stack)
		return;
	if (!stack_guard_index(&e->stacks, addr, &index) ||
	    index != e->current->stack->index)
		return;
	e->overflow_task = e->current->id;
	e->overflow_guard = true;
	asan_leave_task(e, e->current, true);
	sigemptyset(&segv);
	sigaddset(&segv, SIGSEGV);
	sigprocmask(SIG_UNBLOCK, &segv, NULL);
	longjmp(e->run_jmp, RUN_JMP_OVERFLOW);
}

_Noreturn void task_exit_current(struct engine *e)
{
	struct task *t = e->current;

	SIM_ASSERT(t != NULL);
	SIM_ASSERT(t->wq == NULL);
	t->state = TASK_EXITED;
	SIM_ASSERT(e->tasks_live > 0);
	e->tasks_live--;
	if (t->preempt_count > 0 && e->cpus[t->cpu].atomic_owner == t)
		e->cpus[t->cpu].atomic_owner = NULL;
	e->yield_kind = TRACE_EXIT;
	e->yield_obj = t->id;
	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].task_exit)
			e->hooks[i].task_exit(e->hooks[i].ctx, t);
	asan_leave_task(e, t, true);
	sim_ctx_switch(&t->ctx, &e->sched_ctx);
	/* An exited task is never switched to again. */
	__builtin_trap();
}

void task_make_runnable(struct engine *e, struct task *t, uint64_t now_ns)
{
	SIM_ASSERT(t->state == TASK_BLOCKED);
	SIM_ASSERT(t->wq == NULL);
	t->state = TASK_RUNNABLE;
	t->ready_ns = max_u64(t->ready_ns, now_ns);
	(void)e;
}

void task_free_all(struct engine *e)
{
	for (uint32_t i = 0; i < e->tasks_count; i++) {
		struct task *t = &e->tasks[i];
		if (t->stack)
			stack_put(&e->stacks, t->stack);
		memset(t, 0, sizeof(*t));
	}
	e->tasks_count = 0;
	e->tasks_live = 0;
	for (uint32_t c = 0; c < CPUS_MAX; c++)
		e->cpus[c] = (struct cpu){ 0 };
}

void sim_yield(uint16_t kind, uint32_t obj)
{
	struct engine *e = sim;
	struct task *t = e->current;

	SIM_ASSERT(t != NULL);
	e->yield_kind = kind;
	e->yield_obj = obj;
	task_switch_out(e, t);
}

static void sleep_timer_fired(void *arg)
{
	struct task *t = arg;

	SIM_ASSERT(t->state == TASK_BLOCKED);
	SIM_ASSERT(t->wq == NULL);
	t->sleep_event = 0;
	task_make_runnable(sim, t, sim_now());
	for (uint32_t i = 0; i < sim->hooks_count; i++)
		if (sim->hooks[i].wake)
			sim->hooks[i].wake(sim->hooks[i].ctx, t, NULL);
}

void sim_sleep(uint64_t ns)
{
	struct engine *e = sim;
	struct task *t = e->current;

	SIM_ASSERT(t != NULL);
	struct event *ev = evq_add(e, sim_now() + ns, TRACE_TIMER, t->id,
				   sleep_timer_fired, t);
	ev->owner = t->id;
	t->sleep_event = ev->id;
	t->state = TASK_BLOCKED;
	t->blocked_ns = sim_now();
	for (uint32_t i = 0; i < e->hooks_count; i++)
		if (e->hooks[i].block)
			e->hooks[i].block(e->hooks[i].ctx, t, NULL);
	e->yield_kind = TRACE_BLOCK;
	e->yield_obj = t->sleep_event;
	task_switch_out(e, t);
}

void sim_preempt_disable(void)
{
	struct task *t = sim->current;

	SIM_ASSERT(t != NULL);
	if (t->preempt_count++ == 0) {
		SIM_ASSERT(sim->cpus[t->cpu].atomic_owner == NULL);
		sim->cpus[t->cpu].atomic_owner = t;
	}
}

void sim_preempt_enable(void)
{
	struct task *t = sim->current;

	SIM_ASSERT(t != NULL);
	SIM_ASSERT(t->preempt_count > 0);
	if (--t->preempt_count == 0) {
		SIM_ASSERT(sim->cpus[t->cpu].atomic_owner == t);
		sim->cpus[t->cpu].atomic_owner = NULL;
	}
}

static size_t put_str(char *buf, size_t len, size_t at, const char *s)
{
	while (*s && at + 1 < len)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

static size_t put_u64(char *buf, size_t len, size_t at, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0 && at + 1 < len)
		buf[at++] = tmp[--n];
	buf[at] = '\0';
	return at;
}

/* Called from the SIGSEGV handler: async-signal-safe formatting only.  The
 * seed is always there when an engine exists, so any fault can be
 * reproduced. */
size_t task_describe_for_guard(char *buf, size_t len)
{
	struct engine *e = sim;
	size_t at = 0;

	if (!e)
		return put_str(buf, len, 0, "(no engine)");
	at = put_str(buf, len, at, "(");
	if (e->current) {
		at = put_str(buf, len, at, "task ");
		at = put_str(buf, len, at, e->current->name);
		at = put_str(buf, len, at, ", id ");
		at = put_u64(buf, len, at, e->current->id);
		at = put_str(buf, len, at, ", ");
	} else {
		at = put_str(buf, len, at, "outside any task, ");
	}
	at = put_str(buf, len, at, "step ");
	at = put_u64(buf, len, at, e->steps);
	at = put_str(buf, len, at, ", seed ");
	at = put_u64(buf, len, at, e->seed);
	at = put_str(buf, len, at, ")");
	return at;
}
