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

#endif /* SIM_CHECKERS_H */
