/*
 * engine.h: the deterministic discrete-event engine.  Tasks are coroutines
 * bound to simulated CPUs; events (I/O completions, timers) wait in a queue;
 * at every step the engine collects the enabled choices, asks a chooser (a
 * strategy) for one, runs it to its next yield point, and folds a record of
 * the step into the trace hash.  The engine knows nothing of the kernel, of
 * strategies or of SQLite: the model calls it, strategies plug in through
 * `struct chooser`, and analysis subscribes to `struct engine_hooks`.
 *
 * Task states (the state machine of engine/task.c):
 *
 *     FREE --task_create--> RUNNABLE --chosen--> RUNNING
 *     RUNNING --sim_yield--> RUNNABLE
 *     RUNNING --waitq_wait / sim_sleep--> BLOCKED --waitq_wake--> RUNNABLE
 *     RUNNING --fn returns--> EXITED --engine_end--> FREE
 *
 * Invariants (engine_check_invariants asserts them):
 *  1. At most one task is RUNNING, and only while the engine is inside a
 *     task step; it is sim->current.
 *  2. A BLOCKED task is on exactly one wait queue (task->wq); no other task is
 *     on any wait queue.
 *  3. A CPU's `atomic_owner` is a task bound to it whose preempt_count > 0;
 *     while set, no other task of that CPU is enabled.
 *  4. Every pending event is in the heap at event->heap_idx.
 *  5. A task's ready_ns never decreases (clocks are causal).
 *
 * Time: each CPU has a virtual clock.  A task step starts at
 * max(cpu clock, task ready time), costs what the model charges with
 * sim_cost(), and ends there; the CPU clock and the task's ready time move to
 * the end.  An event fires at its due time.  A woken task is ready no earlier
 * than its waker's present.
 */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/arena.h"
#include "engine/ctx.h"
#include "engine/limits.h"
#include "engine/prng.h"
#include "engine/sim_assert.h"
#include "engine/stack.h"

struct engine;
struct waitq;

/* ---------------------------------------------------------------- tasks */

enum task_state {
	TASK_FREE = 0,
	TASK_RUNNABLE,
	TASK_RUNNING,
	TASK_BLOCKED,
	TASK_EXITED,
};

struct task {
	uint16_t id;			/* creation order within the run */
	uint16_t cpu;			/* the simulated CPU it is bound to */
	enum task_state state;
	char name[TASK_NAME_MAX];
	void (*fn)(void *arg);
	void *arg;
	void *priv;			/* the model's per-task state */

	struct sim_ctx ctx;
	struct stack *stack;
	void *asan_fake_stack;		/* sanitizer fiber bookkeeping */

	uint64_t ready_ns;		/* earliest time it may run again */
	uint64_t blocked_ns;		/* when it last blocked */
	uint64_t steps;			/* steps it has run */
	uint32_t preempt_count;		/* >0: in atomic context */

	/* Wait queue membership (invariant 2). */
	struct waitq *wq;
	struct task *wq_next;
	struct task *wq_prev;
	uint32_t wait_flags;		/* what the waiter waits for, for wakers */
	uintptr_t wait_data;
	uint32_t sleep_event;		/* pending timer of sim_sleep, or 0 */
};

struct cpu {
	uint64_t clock_ns;		/* when this CPU is next free */
	struct task *atomic_owner;	/* invariant 3 */
};

/* --------------------------------------------------------------- events */

typedef void (*event_fn)(void *arg);

struct event {
	uint64_t time_ns;
	uint32_t id;			/* creation order within the run; never 0 */
	uint32_t heap_idx;
	uint16_t kind;			/* trace kind, for the step record */
	uint16_t owner;			/* the task a sim_sleep timer wakes, or
					 * TRACE_NO_TASK */
	uint32_t obj;			/* trace object */
	event_fn fn;
	void *arg;
	struct event *next_free;
};

/* --------------------------------------------------------- choice point */

enum choice_kind {
	CHOICE_TASK = 0,
	CHOICE_EVENT = 1,
};

/* One enabled choice: a runnable task (id = task id) or a pending event
 * (id = event id).  time_ns is when it would happen under the timed rule. */
struct choice {
	uint64_t time_ns;
	uint32_t id;
	uint8_t kind;
	uint8_t cpu;			/* tasks only */
	uint16_t owner;			/* events: the task a sleep timer wakes
					 * (the task gave way voluntarily), else
					 * TRACE_NO_TASK */
};

#define CHOICE_NONE UINT32_MAX
#define CHOICE_DIVERGED UINT32_MAX

/* What a chooser sees at a choice point: the enabled choices (tasks in id
 * order, then events), how far the run has come, and which task ran the
 * previous step (CHOICE_NONE after an event or at the start).  Nothing
 * else: a strategy never reads model state. */
struct choice_point {
	const struct choice *choices;
	uint32_t n;			/* >= 2: single choices are not asked */
	uint32_t last_task;
	uint64_t step;
	uint64_t decision;		/* index of this decision in the log */
};

/* The index of cp->last_task among the enabled choices, or CHOICE_NONE
 * when it is not one of them.  A pick of any other choice while it is one
 * is a preemption (dfs's preemption bound, shrink's count). */
static inline uint32_t choice_point_last_index(const struct choice_point *cp)
{
	for (uint32_t i = 0; i < cp->n; i++)
		if (cp->choices[i].kind == CHOICE_TASK &&
		    cp->choices[i].id == cp->last_task)
			return i;
	return CHOICE_NONE;
}

/* A strategy as the engine sees it: returns an index below cp->n, or
 * CHOICE_DIVERGED to end the run with outcome `diverged`. */
struct chooser {
	uint32_t (*pick)(void *self, const struct choice_point *cp);
	void *self;
};

/* ---------------------------------------------------------------- trace */

/* Trace kinds below TRACE_MODEL_FIRST belong to the engine; the model
 * registers names for its own kinds with trace_kind_register(). */
enum trace_kind {
	TRACE_YIELD = 0,
	TRACE_BLOCK = 1,
	TRACE_EXIT = 2,
	TRACE_TIMER = 3,
	TRACE_ASSERT = 4,
	TRACE_OVERFLOW = 5,		/* the step a task ran off its stack */
	TRACE_MODEL_FIRST = 16,
};

/* The compact record of one step, folded into the trace hash. */
struct trace_rec {
	uint64_t step;
	uint64_t time_ns;		/* when the step ended */
	uint16_t task;			/* TRACE_NO_TASK for an event */
	uint8_t cpu;
	uint16_t kind;
	uint32_t obj;
};

#define TRACE_NO_TASK 0xffffu

/* --------------------------------------------------------------- hooks */

enum run_outcome {
	RUN_OK = 0,		/* every task finished, no event pending */
	RUN_DEADLOCK,		/* tasks remain and nothing is enabled */
	RUN_BUDGET,		/* the step or virtual-time budget ran out */
	RUN_DIVERGED,		/* replay: the recorded choice is not enabled */
	RUN_ASSERT,		/* a SIM_ASSERT in the model failed */
	RUN_STACK_OVERFLOW,	/* a task ran off its stack (engine/stack.c) */
	RUN_OUTCOMES_COUNT,
};

const char *run_outcome_name(enum run_outcome o);

/* Subscribers (the analysis layer) learn what happens without the engine
 * knowing who they are.  Any member may be NULL. */
struct engine_hooks {
	void *ctx;
	void (*run_begin)(void *ctx, struct engine *e);
	void (*block)(void *ctx, struct task *t, struct waitq *wq);
	void (*wake)(void *ctx, struct task *t, struct waitq *wq);
	void (*step)(void *ctx, const struct trace_rec *r);
	void (*task_exit)(void *ctx, struct task *t);
	void (*run_end)(void *ctx, struct engine *e, enum run_outcome o);
};

/* ------------------------------------------------------------ findings */

struct finding {
	char kind[24];			/* "deadlock", "leak", ... */
	uint64_t signature;		/* same bug, same signature */
	uint64_t step;
	uint64_t time_ns;
	uint32_t task;			/* TRACE_NO_TASK when none */
	uint32_t hits;			/* times reported in this run */
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];	/* a JSON object */
};

/* -------------------------------------------------------------- engine */

struct engine_params {
	uint32_t cpus;
	uint64_t steps_max;		/* 0: STEPS_DEFAULT */
	uint64_t virtual_ns_max;	/* 0: VIRTUAL_NS_DEFAULT */
	FILE *trace_out;		/* text trace of every step, or NULL */
};

struct engine {
	/* The step in progress and the run's counters come first: they are
	 * what the step loop touches. */
	struct task *current;
	uint64_t step_start_ns;
	uint64_t step_cost_ns;
	uint16_t yield_kind;
	uint32_t yield_obj;
	bool in_run;
	bool in_step;
	bool asserted;
	uint32_t last_task;
	uint32_t tasks_count;
	uint32_t tasks_live;		/* created and not exited */
	uint32_t heap_count;
	uint32_t events_next_id;
	uint32_t step_hooks_count;
	uint64_t steps;
	uint64_t decisions_count;
	size_t decisions_len;
	uint64_t virtual_ns;		/* latest time any step reached */
	uint64_t trace_hash;
	uint8_t *decisions;		/* varint log, see engine_decisions */
	size_t decisions_cap;
	struct engine_params params;
	struct sim_ctx sched_ctx;
	void *asan_sched_fake;
	const void *asan_main_bottom;
	size_t asan_main_size;

	/* Reset by engine_begin. */
	uint64_t seed;
	struct prng prng;		/* the model's stream: latency draws */
	struct event *events_free;
	uint32_t events_used;		/* events[] below this were handed out */
	uint32_t findings_count;
	uint32_t findings_dropped;
	/* A task that ran off its stack: its id (CHOICE_NONE when none) and
	 * whether its guard page caught it (else the canary did).  Set just
	 * before the jump to run_jmp that ends the run. */
	uint32_t overflow_task;
	bool overflow_guard;
	jmp_buf run_jmp;

	/* Fixed at creation. */
	struct stack_pool stacks;
	struct arena arena;
	struct finding *findings;
	uint32_t hooks_count;
	struct engine_hooks hooks[HOOK_SUBSCRIBERS_MAX];
	struct engine_hooks step_hooks[HOOK_SUBSCRIBERS_MAX];
	void (*obj_namer)(void *ctx, uint16_t kind, uint32_t obj, char *buf,
			  size_t len);
	void *obj_namer_ctx;
	struct cpu cpus[CPUS_MAX];
	struct task tasks[TASKS_MAX];
	struct choice choices[CHOICES_MAX];
	struct event *heap[EVENTS_MAX];
	struct event events[EVENTS_MAX];
};

/* The engine whose run (or world building) is in progress.  The model is
 * written like kernel code, against one implicit machine. */
extern struct engine *sim;

/* Allocate every pool once.  Returns NULL, with errno set, when memory for
 * the pools cannot be mapped. */
struct engine *engine_create(const struct engine_params *p);
void engine_destroy(struct engine *e);

/* Start a schedule: empty world, clocks at zero, the model's PRNG seeded
 * from run_seed.  Sets `sim`. */
void engine_begin(struct engine *e, uint64_t run_seed);
/* Run the schedule until it finishes, deadlocks, diverges, asserts or runs
 * out of budget. */
enum run_outcome engine_run(struct engine *e, const struct chooser *c);
/* Release every task's stack, drop pending events, reset the arena.
 * Afterwards nothing is live: engine_live_counts() is all zeros. */
void engine_end(struct engine *e);

struct engine_live {
	uint32_t tasks;		/* tasks not yet freed */
	uint32_t stacks;	/* stacks taken from the pool */
	uint32_t events;	/* pending events */
	size_t arena_bytes;	/* arena bytes in use */
};
struct engine_live engine_live_counts(const struct engine *e);

bool engine_subscribe(struct engine *e, const struct engine_hooks *h);
void engine_unsubscribe(struct engine *e, void *ctx);
void engine_set_obj_namer(struct engine *e,
			  void (*namer)(void *ctx, uint16_t kind, uint32_t obj,
					char *buf, size_t len),
			  void *ctx);

/* The 64-bit trace hash of the run so far (finalised; cheap). */
uint64_t engine_trace_hash(const struct engine *e);

/* The decision log: one entry per choice point with two or more choices,
 * each the unsigned LEB128 varint of (id << 1 | kind). */
const uint8_t *engine_decisions(const struct engine *e, size_t *len);
/* Decode the entry at *pos; returns false at the end or on a malformed
 * log. */
bool decision_decode(const uint8_t *buf, size_t len, size_t *pos,
		     uint8_t *kind, uint32_t *id);
size_t decision_encode(uint8_t *buf, uint8_t kind, uint32_t id);

void engine_check_invariants(const struct engine *e);

/* ------------------------------------------- building the world (setup) */

/* Create a task bound to `cpu`, runnable at time 0.  Only between
 * engine_begin and engine_run, or from a running task. */
struct task *task_create(struct engine *e, const char *name, uint16_t cpu,
			 void (*fn)(void *arg), void *arg);
struct arena *sim_arena(void);

/* -------------------------------------------------- inside a task step */

static inline struct task *sim_current(void)
{
	return sim->current;
}

/* The present of whatever is running: the current step's start plus what it
 * has cost so far, or the due time of the event being fired. */
static inline uint64_t sim_now(void)
{
	return sim->step_start_ns + sim->step_cost_ns;
}

/* Charge modeled CPU time to the step in progress. */
static inline void sim_cost(uint64_t ns)
{
	sim->step_cost_ns += ns;
}

static inline struct prng *sim_prng(void)
{
	return &sim->prng;
}

/* End the current step here: another choice may run before this task goes
 * on.  kind/obj describe what the step did, for the trace. */
void sim_yield(uint16_t kind, uint32_t obj);
/* Block the current task for ns of virtual time (a timer event wakes it). */
void sim_sleep(uint64_t ns);
/* Atomic context: while preempt_count > 0, no other task of this CPU runs.
 * The model's spinlocks use it. */
void sim_preempt_disable(void);
void sim_preempt_enable(void);

/* Queue an event at time_ns; returns its id.  Callable from tasks, events
 * and world building. */
uint32_t sim_event_add(uint64_t time_ns, uint16_t kind, uint32_t obj,
		       event_fn fn, void *arg);
/* Remove a pending event; false if it already fired. */
bool sim_event_cancel(uint32_t id);

/* ------------------------------------------------------------- findings */

/*
 * Record a finding for the run in progress.  A repeat of the same kind and
 * signature in one run only counts a hit.  detail_json is a JSON object (or
 * NULL for {}); the summary is formatted.  Returns the stored finding, or
 * NULL when it was a repeat or the table is full.
 */
struct finding *sim_report(const char *kind, uint64_t signature,
			   const char *detail_json, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* FNV-1a over a string: signatures are hashes of canonical text, never of
 * pointers. */
uint64_t sim_signature(const char *text);
uint64_t sim_signature_mix(uint64_t sig, const char *text);

/* ---------------------------------------------------------------- trace */

void trace_kind_register(uint16_t kind, const char *name);
const char *trace_kind_name(uint16_t kind);
/* A free-form note in the text trace (only when tracing is on). */
void sim_trace_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define SIM_TRACE(...)                                                       \
	do {                                                                 \
		if (__builtin_expect(sim->params.trace_out != NULL, 0))      \
			sim_trace_note(__VA_ARGS__);                         \
	} while (0)

/* ------------------------------------------------------- seeds, streams */

/* The run seed of schedule `index` of a campaign with base seed `base`:
 * schedule 0 runs with the base seed itself, so `--seed S` alone and
 * schedule 0 of `--seed S --schedules N` are the same run; later schedules
 * use prng_mix64(base ^ prng_mix64(index)). */
uint64_t sim_run_seed(uint64_t base, uint64_t index);

/* Independent PRNG streams of one run seed: the model's draws and the
 * strategy's picks never share a sequence, so replay (which makes no
 * picks) reproduces the model's draws exactly. */
enum sim_stream {
	SIM_STREAM_MODEL = 1,
	SIM_STREAM_STRATEGY = 2,
};
uint64_t sim_stream_seed(uint64_t run_seed, enum sim_stream stream);

#endif /* SIM_ENGINE_H */
