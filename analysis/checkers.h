/*
 * checkers.h: the analysis layer's checkers and metrics, as one object a
 * campaign creates once, attaches to its engine, and reads after each run
 * and at the end.  The checkers learn what happens only through the
 * engine's, the lock layer's and vmstat's hooks; the model never calls one
 * by name, and no checker changes model state or yields, so a run with
 * checkers attached has the same trace hash as one without.
 *
 * Findings (kind: what, and the signature that is the same for the same bug
 * however many schedules hit it):
 *   deadlock           a cycle in the wait-for graph, found when a task
 *                      blocks; or, when a run ends with every task stuck
 *                      and no cycle, the stuck tasks (deadlock.c)
 *   lock_order         a circular dependency between lock classes, over
 *                      all runs of the campaign, in lockdep's words
 *                      (lockdep.c)
 *   hung_task          a task blocked on a wait queue longer than the
 *                      hung-task timeout of virtual time (hung_task.c)
 *   livelock           the run's step or time budget ran out, or one fault
 *                      retried more than the bound (livelock.c)
 *   exit_holding_lock  a task ended holding locks (invariants.c)
 *   leak               a folio's refcount or mapcount above what holds it
 *                      (page cache, swap cache, PTEs, PMDs, tasks), at
 *                      the end of a run; signature: the folio's kind and
 *                      the functions that took the references nobody put
 *                      (leak.c)
 *   refcount_underflow below what holds it, at the end of a run or when
 *                      the folio is freed; signature: the folio's kind
 *                      and the functions that put references they did not
 *                      hold (leak.c)
 *   stale_pte          a PTE or PMD maps a folio that was freed, left the
 *                      page cache, or lies past EOF; signature: PTE or
 *                      PMD, how it is stale, the folio's kind, the
 *                      function that installed it (stale.c)
 * The model's own findings (unlock_not_held, sleep_in_atomic,
 * assert_locked; refcount_underflow when a put takes a folio below zero
 * or frees one still mapped, cached or locked, page_alloc.c) and the
 * engine's model_assert reach the same per-run table (engine->findings)
 * untouched.
 *
 * Not the store, and not the loop over schedules.
 */
#ifndef SIM_CHECKERS_H
#define SIM_CHECKERS_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/metrics.h"
#include "engine/engine.h"

struct checkers;

struct checker_settings {
	/* hung_task: report a task blocked at least this long (virtual
	 * time).  0: HUNG_TASK_TIMEOUT_NS_DEFAULT (120 s, the kernel's
	 * default); UINT64_MAX: never. */
	uint64_t hung_task_timeout_ns;
	/* livelock: report a fault that returned VM_FAULT_RETRY more than
	 * this many times.  0: FAULT_RETRIES_DEFAULT (16). */
	uint32_t fault_retries_max;
	/* lock_order: log the events that change the lock-dependency graph
	 * (checkers_lock_events) and report nothing; the campaign runner
	 * applies them to its own lockdep_graph in schedule order, so that a
	 * campaign split over processes reports what one process would. */
	bool lock_order_deferred;
};

/* NULL settings: the defaults.  Returns NULL when memory runs out. */
struct checkers *checkers_create(const struct checker_settings *s);
/* Detaches first: destroy (or detach) the checkers before the engine they
 * are attached to. */
void checkers_destroy(struct checkers *c);
const struct checker_settings *checkers_settings(const struct checkers *c);

/*
 * Subscribe to e's hooks and to the lock and vmstat hooks.  Attaching to
 * the engine already attached does nothing; attaching to another detaches
 * from the first.  Returns false (attached to nothing) when a hook table
 * is full.
 */
bool checkers_attach(struct checkers *c, struct engine *e);
void checkers_detach(struct checkers *c);

/*
 * Name the schedule about to run: `index` is what campaign-level reports
 * (lock_order) say a dependency was seen in.  Optional: without it, runs
 * are numbered in the order they ran, from 0.  Per-run state is reset by
 * the engine's run_begin hook and the run is checked and folded into the
 * campaign by its run_end hook, so worlds run without a campaign (tests)
 * are checked the same way.
 */
void checkers_run_begin(struct checkers *c, uint64_t index);
/* Runs seen so far. */
uint64_t checkers_runs(const struct checkers *c);

/* The metrics of the last run, and of every run so far. */
const struct metrics *checkers_run_metrics(const struct checkers *c);
const struct metrics *checkers_campaign_metrics(const struct checkers *c);

/* A circular lock dependency, kept for the whole campaign. */
struct lock_order_cycle {
	uint64_t signature;
	uint64_t schedule;		/* the schedule that closed it */
	uint32_t length;		/* lock classes in the cycle */
	char summary[FINDING_SUMMARY_MAX];
	char report[LOCKDEP_REPORT_BYTES];	/* lockdep's text */
};

/* The cycles found so far, in the order found; *dropped (when not NULL)
 * counts those beyond LOCK_ORDER_REPORTS_MAX. */
uint32_t checkers_lock_order_count(const struct checkers *c,
				   uint32_t *dropped);
const struct lock_order_cycle *checkers_lock_order(const struct checkers *c,
						   uint32_t i);

/* ------------------------------------------- lock_order's graph */

/* At most this many held locks are named in a report (lockdep's
 * MAX_LOCK_DEPTH, the model's HELD_LOCKS_MAX). */
#define LOCKDEP_HELD_MAX 48u
/* Events one run can add: every usage bit and every dependency, at most
 * 2 * 13 + 13 * 13 = 195 with today's 13 classes (static_assert in
 * lockdep.c). */
#define LOCKDEP_RUN_EVENTS_MAX 256u

enum lockdep_event_kind {
	LOCKDEP_EV_USE = 1,		/* class cls used in mode (usage bits) */
	LOCKDEP_EV_DEP,			/* dependency prev_cls -> cls */
};

struct lockdep_held {
	uint8_t cls;
	uint8_t mode;
	char where[WHERE_NAME_MAX];
};

/* One change to the lock-dependency graph, with what lockdep would print
 * if it closes a cycle (see lockdep.c, "Events"). */
struct lockdep_event {
	uint8_t kind;			/* enum lockdep_event_kind */
	uint8_t cls, mode;		/* the lock taken or waited for */
	uint8_t prev_cls, prev_mode;	/* DEP: the held lock */
	uint32_t task_id;
	uint32_t finding_task;		/* the running task, for the finding */
	uint64_t step, time_ns;		/* when, for the finding */
	uint32_t finding_pos;		/* the run's other findings reported
					 * before it: where the lock_order
					 * finding goes among them */
	char task[TASK_NAME_MAX];
	char where[WHERE_NAME_MAX];
	char prev_where[WHERE_NAME_MAX];
	uint32_t held_count;		/* the other locks held */
	struct lockdep_held held[LOCKDEP_HELD_MAX];
};

/* The events of the last run that were new to this checkers object
 * (lock_order_deferred only; 0 otherwise), in the order they happened. */
uint32_t checkers_lock_events(const struct checkers *c,
			      const struct lockdep_event **events);

/* A campaign's lock-dependency graph, rebuilt from events. */
struct lockdep_graph;
struct lockdep_graph *lockdep_graph_create(void);	/* NULL: no memory */
void lockdep_graph_destroy(struct lockdep_graph *g);
/* Apply one event of schedule `schedule`.  True when it closed a new
 * cycle: *out is then the lock_order finding, as the checker reports it. */
bool lockdep_graph_apply(struct lockdep_graph *g, uint64_t schedule,
			 const struct lockdep_event *ev, struct finding *out);
uint32_t lockdep_graph_cycles(const struct lockdep_graph *g,
			      uint32_t *dropped);
const struct lock_order_cycle *lockdep_graph_cycle(const struct lockdep_graph *g,
						   uint32_t i);

/* The text form the database keeps (table lock_event); false when it
 * does not fit, or the text is malformed. */
#define LOCKDEP_EVENT_TEXT_MAX 4096u
bool lockdep_event_encode(const struct lockdep_event *ev, char *buf,
			  size_t len);
bool lockdep_event_decode(const char *text, struct lockdep_event *ev);

#endif /* SIM_CHECKERS_H */
