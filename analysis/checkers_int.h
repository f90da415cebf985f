/*
 * checkers_int.h: private to analysis/: the checker interface behind
 * checkers.h, the registry, and what several checkers share (the wait-for
 * edges of a blocked task, names for lock operations, JSON for held locks,
 * the description of a folio and its reference log).
 */
#ifndef SIM_CHECKERS_INT_H
#define SIM_CHECKERS_INT_H

#include "analysis/checkers.h"
#include "analysis/jsonw.h"
#include "analysis/strbuf.h"
#include "engine/waitq.h"
#include "mm/locks.h"
#include "mm/mm.h"
#include "mm/vmstat.h"

/*
 * One checker: its state (state_bytes, zeroed and kept for the campaign)
 * and what it does at each hook.  Any callback may be NULL.  Callbacks get
 * the checkers object (settings, engine, schedule index) and their state.
 * A new checker is a file defining one of these and a line in the
 * registry in checkers.c.
 */
struct checker_ops {
	const char *name;
	size_t state_bytes;
	void (*init)(struct checkers *c, void *st);

	/* engine hooks */
	void (*run_begin)(struct checkers *c, void *st, struct engine *e);
	void (*block)(struct checkers *c, void *st, struct task *t,
		      struct waitq *wq);
	void (*wake)(struct checkers *c, void *st, struct task *t,
		     struct waitq *wq);
	void (*task_exit)(struct checkers *c, void *st, struct task *t);
	void (*run_end)(struct checkers *c, void *st, struct engine *e,
			enum run_outcome o);

	/* lock hooks */
	void (*acquired)(struct checkers *c, void *st, struct task *t,
			 const struct held_lock *h);
	void (*released)(struct checkers *c, void *st, struct task *t,
			 const struct held_lock *h, uint64_t now_ns);
	void (*wait_begin)(struct checkers *c, void *st, struct task *t,
			   struct lock_common *l, enum lock_mode mode,
			   const char *where);
	void (*wait_end)(struct checkers *c, void *st, struct task *t,
			 struct lock_common *l, enum lock_mode mode,
			 uint64_t waited_ns);

	/* vmstat hooks */
	void (*vm_event)(struct checkers *c, void *st, enum vm_event_item item,
			 uint64_t delta);
	void (*fault_done)(struct checkers *c, void *st,
			   const struct fault_record *r);
	void (*fault_retry)(struct checkers *c, void *st, struct task *t,
			    uint64_t address, uint32_t attempt,
			    const char *why);
	void (*folio_freed)(struct checkers *c, void *st, struct folio *folio);
};

extern const struct checker_ops deadlock_checker;
extern const struct checker_ops lockdep_checker;
extern const struct checker_ops hung_task_checker;
extern const struct checker_ops livelock_checker;
extern const struct checker_ops invariants_checker;
extern const struct checker_ops leak_checker;
extern const struct checker_ops stale_checker;
extern const struct checker_ops metrics_checker;

struct checkers {
	struct checker_settings settings;
	struct engine *engine;		/* attached to, or NULL */
	bool in_run;			/* between run_begin and run_end */
	bool index_set;
	uint64_t next_index;
	uint64_t run_index;		/* schedule of the run in progress */
	uint64_t runs;
	uint32_t count;
	const struct checker_ops *ops[CHECKERS_MAX];
	void *state[CHECKERS_MAX];
};

/* The state of checker `ops` in c (it is always registered). */
void *checkers_state(const struct checkers *c, const struct checker_ops *ops);

/* What the metrics and lockdep checkers keep for checkers.c to hand out. */
const struct metrics *metrics_checker_run(const void *st);
const struct metrics *metrics_checker_campaign(const void *st);
uint32_t lockdep_checker_cycles(const void *st, uint32_t *dropped);
const struct lock_order_cycle *lockdep_checker_cycle(const void *st,
						     uint32_t i);
uint32_t lockdep_checker_events(const void *st,
				const struct lockdep_event **events);

/* ------------------------------------------------ shared: waitfor.c */

/* The model's per-task state, or NULL for a task not made with
 * mm_task_create (it holds and waits for no model lock). */
static inline struct task_mm *checked_task_mm(const struct task *t)
{
	return (struct task_mm *)t->priv;
}

/* The lock t is blocked on: set only while t is BLOCKED on that lock's
 * wait queue.  A task woken (granted the lock, or the folio unlocked) but
 * not yet run still has waiting_on set; it is not waiting any more. */
struct lock_common *waitfor_lock(const struct task *t);

enum waitfor_why {
	WAITFOR_HOLDER = 0,		/* `to` holds the lock */
	WAITFOR_QUEUED_WRITER,		/* `to` is a writer queued ahead */
};

struct waitfor_edge {
	struct task *to;
	enum waitfor_why why;
};

/*
 * The tasks t waits for, in a deterministic order (holders by task id,
 * then queued writers in queue order), each once; at most TASKS_MAX.  A
 * task waits for the holders of the lock it is blocked on: the owner of a
 * spinlock, the owner of a folio lock (none while I/O owns it), every task
 * whose held list has an rw_semaphore, except that a reader waits for
 * readers only while no writer is queued ahead of it: with writers queued
 * ahead (the run of writers at the head of the FIFO, which go first), it
 * waits for them and for a writer holder.  Returns 0 when t is not
 * blocked on a lock.
 */
uint32_t waitfor_edges(const struct engine *e, const struct task *t,
		       struct waitfor_edge *out);

/* The kernel call that waits in this class and mode: "mmap_read_lock",
 * "vma_start_write", "folio_wait_locked", "spin_lock", "down_write", ... */
const char *lock_op_name(const struct lock_class *cls, enum lock_mode mode);
const char *lock_mode_name(enum lock_mode mode);

/* JSON: one held lock {"lock","lock_id","object","mode","where","since_ns"}
 * as an array element, and t's held list as the array `key`. */
void json_held_lock(struct jw *w, const struct held_lock *h);
void json_held_locks(struct jw *w, const char *key, const struct task *t);
/* JSON: what t is blocked on, as object `key`:
 * {"lock","lock_id","object","op","mode","where","since_ns"}. */
void json_wait(struct jw *w, const char *key, const struct task *t);

/* Text: "mmap_lock (read, taken in f)" for each held lock, comma
 * separated; "nothing" when none. */
void text_held_locks(struct strbuf *b, const struct task *t);

/* Copy a model function name into a fixed field, cutting if needed. */
void where_copy(char *dst, const char *where);

/* -------------------------------------------- shared: folio_report.c */

/* "THP file", "small file", "small anon", "small anon swapcache", ... */
const char *folio_kind_name(const struct folio *f);
/* Text: "folio #12 (THP file, f index 0)"; "(small anon, page 7)"; a file
 * folio out of the page cache: "(small file, index 9, mapping NULL)". */
void text_folio(struct strbuf *b, const struct folio *f);
/* JSON members of the enclosing object: folio, order, folio_kind, anon,
 * mapping (the file's name, or null), index, locked, swapcache. */
void json_folio(struct jw *w, const struct folio *f);
/* The name of task `id` of the run in progress; NULL for none (world
 * building, an I/O completion). */
const char *checked_task_name(uint16_t id);
/* The folio's reference log as far as it reaches back, oldest first: how
 * many entries, and the i-th. */
uint32_t ref_log_count(const struct folio *f);
const struct folio_ref_change *ref_log_entry(const struct folio *f,
					     uint32_t i);
/* JSON members: "last_changes" [{function, ref, map, refcount, mapcount,
 * task, task_id, step}, oldest first] and "earlier_changes" (how many the
 * log no longer holds).  Text: "f ref +1 (T/0, step 9), ...". */
void json_ref_log(struct jw *w, const struct folio *f);
void text_ref_log(struct strbuf *b, const struct folio *f);
/* The log entry of the function that installed the folio's latest PTE or
 * PMD (the reference change that follows the mapcount increase), or NULL
 * when the log does not show it. */
const struct folio_ref_change *ref_log_installer(const struct folio *f);
/* Sort names (function names) in strcmp order, in place. */
void sort_names(const char **names, uint32_t n);

#endif /* SIM_CHECKERS_INT_H */
