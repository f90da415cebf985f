/*
 * locks.h: the model's locks, each with a lockdep-style class: spinlocks
 * (ptl, pmd lock, page_table_lock, i_pages, swap_lock, lru_lock), the
 * rw_semaphore (mmap_lock, i_rwsem, invalidate_lock, i_mmap_rwsem, anon_vma
 * lock, and the per-VMA lock's inner semaphore), and the held-lock list
 * every task carries, as lockdep keeps one in task_struct.  The folio lock
 * lives with the folio (mm/filemap.c), the VMA lock protocol in
 * mm/mmap_lock.c; both build on what is here.
 *
 * Every lock operation is a yield point: another choice may run between any
 * two of them.  Lock-held assertions are real checks: a violation is a
 * finding (assert_locked, unlock_not_held, sleep_in_atomic), never a no-op.
 *
 * Not modeled: lock debugging states (lockdep's chains live in analysis/),
 * optimistic spinning of rwsem writers (a writer that would spin on a
 * running owner queues and sleeps instead; that shifts which writer wins a
 * race by nanoseconds but creates or removes no deadlock and no wait chain),
 * killable waits (no signals are modeled).
 */
#ifndef SIM_MM_LOCKS_H
#define SIM_MM_LOCKS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/waitq.h"

/* Lock classes in KERNEL.md section 1's order, outermost first. */
enum lock_class_id {
	LC_I_RWSEM = 0,
	LC_MMAP_LOCK,
	LC_INVALIDATE_LOCK,
	LC_FOLIO_LOCK,
	LC_VMA_LOCK,
	LC_I_MMAP_RWSEM,
	LC_ANON_VMA_RWSEM,
	LC_PAGE_TABLE_LOCK,
	LC_PTL,
	LC_PMD_LOCK,
	LC_SWAP_LOCK,
	LC_I_PAGES,
	LC_LRU_LOCK,
	LOCK_CLASSES_COUNT,
};

enum lock_kind {
	LOCK_KIND_SPIN,		/* no sleeping while held */
	LOCK_KIND_RWSEM,	/* sleeping reader/writer semaphore */
	LOCK_KIND_BIT,		/* a flag bit with a wait queue (folio lock) */
};

struct lock_class {
	enum lock_class_id id;
	const char *name;
	enum lock_kind kind;
};

const struct lock_class *lock_class_get(enum lock_class_id id);

enum lock_mode {
	LOCK_READ = 1,
	LOCK_WRITE = 2,		/* exclusive: writers, spinlocks, bit locks */
};

/* What every lock instance starts with. */
struct lock_common {
	const struct lock_class *cls;
	uint32_t id;		/* world object id: traces and reports */
	uint32_t owner_obj;	/* id of what it protects (a folio, a VMA) */
	struct waitq wq;	/* wq.owner points back here */
};

/* ------------------------------------------------------------ held locks */

/* lockdep's MAX_LOCK_DEPTH; no model path nests anywhere near it. */
#define HELD_LOCKS_MAX 48

/* Folio references one task may hold at once: fuse_fill_write_pages
 * holds a request's worth (FUSE_WRITE_PAGES_MAX, 32) plus a fault's two
 * (the faulting folio and a COW copy). */
#define TASK_FOLIO_REFS_MAX 48

struct held_lock {
	struct lock_common *lock;
	enum lock_mode mode;
	const char *where;	/* model function that took it */
	uint64_t since_ns;	/* virtual time it was acquired */
	/* Taken without being able to wait (a trylock that succeeded, or a
	 * folio locked before anyone else can see it).  lockdep records no
	 * dependency on such an acquisition: it cannot block, so it cannot
	 * close a cycle.  Locks taken later while it is held still depend
	 * on it. */
	bool trylock;
};

/* A task's place in an rw_semaphore's FIFO wait list.  A task waits for
 * one lock at a time, so it lives in the task. */
struct rwsem_waiter {
	struct task *task;
	struct rwsem_waiter *next;
	struct rwsem_waiter *prev;
	enum lock_mode mode;
	uint64_t since_ns;	/* when it queued: the handoff clock */
	bool granted;		/* readers: the waker gave it the lock */
	bool handoff_set;	/* writers: it set the handoff flag */
};

/*
 * The model's per-task state (task->priv), as lockdep's part of
 * task_struct plus what the fault paths keep.  Allocated in the arena by
 * world_build.
 */
struct task_mm {
	struct held_lock held[HELD_LOCKS_MAX];
	uint32_t held_count;
	uint32_t rcu_depth;		/* rcu_read_lock nesting */

	/* The lock it is blocked on, if any (for the wait-for graph). */
	struct lock_common *waiting_on;
	enum lock_mode waiting_mode;
	const char *waiting_where;
	uint64_t waiting_since_ns;
	struct rwsem_waiter rwsem_waiter;

	void *fault;			/* the fault in progress (mm/fault.c) */

	/* Folio references the task holds itself (folio_get/folio_put):
	 * the leak checker counts them as owned while the task runs a
	 * kernel path, and as leaked once the operation that took them has
	 * returned (mm/page_alloc.c). */
	struct folio *folio_refs[TASK_FOLIO_REFS_MAX];
	const char *folio_refs_where[TASK_FOLIO_REFS_MAX];	/* who took it */
	uint32_t folio_refs_count;
	uint32_t pagefault_disabled;	/* pagefault_disable() nesting */
};

static inline struct task_mm *task_mm(const struct task *t)
{
	return (struct task_mm *)t->priv;
}

static inline struct task_mm *current_mm_state(void)
{
	return task_mm(sim_current());
}

/* The held-lock entry of `l` in the current task (held in any mode), or
 * NULL. */
struct held_lock *lock_held_by_current(const struct lock_common *l);
bool lock_is_held_by(const struct task *t, const struct lock_common *l,
		     enum lock_mode mode);

/* lockdep_assert_held: report `assert_locked` (with `what` and the caller)
 * when the current task does not hold `l` in `mode` (0 = any). */
bool lockdep_assert_held_at(const struct lock_common *l, enum lock_mode mode,
			    const char *where);
#define lockdep_assert_held(l) lockdep_assert_held_at((l), 0, __func__)
#define lockdep_assert_held_write(l) \
	lockdep_assert_held_at((l), LOCK_WRITE, __func__)
#define lockdep_assert_held_read(l) \
	lockdep_assert_held_at((l), LOCK_READ, __func__)

/* might_sleep(): report `sleep_in_atomic` when the current task holds a
 * spinlock or is inside an RCU read section. */
void might_sleep_at(const char *where);
#define might_sleep() might_sleep_at(__func__)

void rcu_read_lock(void);
void rcu_read_unlock(void);

/*
 * Held-lock bookkeeping for lock types built elsewhere (the folio lock):
 * record an acquisition or a release by the current task, with the hooks.
 * lock_release_current returns false (and reports unlock_not_held) when
 * the task does not hold it.
 */
void lock_acquired_current(struct lock_common *l, enum lock_mode mode,
			   const char *where);
/* The same for an acquisition that could not have waited (held->trylock). */
void lock_tryacquired_current(struct lock_common *l, enum lock_mode mode,
			      const char *where);
bool lock_release_current(struct lock_common *l, enum lock_mode mode,
			  const char *where);
/* downgrade_write's bookkeeping: the current task's write entry for `l`
 * becomes a read entry where it stands in the held list (lockdep's
 * lock_downgrade keeps its place too, so the locks taken after it are not
 * made to look as if they were taken before it).  Hooks see the write
 * released and the read acquired. */
void lock_downgrade_current(struct lock_common *l, const char *where);
/* Drop the current task's entry without reporting a release to hooks that
 * measure hold time: ownership passes to something that is not a task (a
 * folio locked for read I/O is unlocked by the I/O completion). */
void lock_transfer_current(struct lock_common *l, const char *where);
/* Mark the current task as waiting for `l` / done waiting (hooks). */
void lock_wait_begin(struct lock_common *l, enum lock_mode mode,
		     const char *where);
void lock_wait_end(struct lock_common *l, enum lock_mode mode);

void lock_init(struct lock_common *l, enum lock_class_id cls,
	       uint32_t owner_obj);

/* ------------------------------------------------------------- spinlocks */

/* A queued spinlock: FIFO hand-off like qspinlock's MCS queue.  A waiter
 * spins with preemption disabled, so it keeps its CPU. */
struct spinlock {
	struct lock_common c;
	struct task *owner;
};
typedef struct spinlock spinlock_t;

void spin_lock_init(spinlock_t *l, enum lock_class_id cls, uint32_t owner_obj);
void spin_lock_at(spinlock_t *l, const char *where);
bool spin_trylock_at(spinlock_t *l, const char *where);
void spin_unlock_at(spinlock_t *l, const char *where);
#define spin_lock(l) spin_lock_at((l), __func__)
#define spin_trylock(l) spin_trylock_at((l), __func__)
#define spin_unlock(l) spin_unlock_at((l), __func__)

/* --------------------------------------------------------- rw_semaphore */

/*
 * rw_semaphore states (kernel/locking/rwsem.c, v6.x):
 *
 *   free:         readers == 0, writer == NULL
 *   read-held:    readers > 0,  writer == NULL
 *   write-held:   readers == 0, writer != NULL
 * plus a FIFO wait list and a handoff flag.
 *
 * Invariants (rwsem_check asserts them):
 *  1. readers > 0 and writer != NULL never hold at once.
 *  2. A waiter is on the list until it owns the lock: readers are removed
 *     when granted by the waker, writers when their own trylock succeeds.
 *  3. handoff is set only while the first waiter is the writer that set it.
 *  4. Every reader counted in `readers` has a held_lock entry (the model
 *     knows its readers, as the kernel does not).
 *
 * Transitions:
 *  - down_read: takes it at once when no writer holds it, nobody waits and
 *    no handoff is pending (fast path); steals it when it is free and no
 *    handoff is pending even though waiters are queued (the window right
 *    after a writer releases, before the woken writer runs); otherwise
 *    queues.  A reader that finds the lock read-held with a writer queued
 *    therefore waits: one queued writer blocks every later reader.
 *  - down_write: takes it when free and no handoff is pending; otherwise
 *    queues and retries each time it is woken.  The first waiter that has
 *    waited RWSEM_HANDOFF_NS sets handoff: no more stealing, the lock goes
 *    to it next.
 *  - up_read / up_write: on the last release with waiters, rwsem_mark_wake:
 *    if the first waiter is a writer it is woken (it must still win the
 *    lock); if it is a reader, every queued reader (up to 256, skipping
 *    writers, as kernels since 5.3 do) is granted the lock and woken.
 *  - down_read_trylock fails whenever a writer holds it, a waiter is queued
 *    or a handoff is pending; down_write_trylock only succeeds on a free
 *    lock with nobody queued.
 */
struct rw_semaphore {
	struct lock_common c;
	uint32_t readers;
	struct task *writer;
	struct rwsem_waiter *head;
	struct rwsem_waiter *tail;
	uint32_t waiters;
	bool handoff;
};

/* RWSEM_WAIT_TIMEOUT: DIV_ROUND_UP(HZ, 250) jiffies, 4 ms at HZ=1000. */
#define RWSEM_HANDOFF_NS (4ull * 1000 * 1000)
/* MAX_READERS_WAKEUP in kernel/locking/rwsem.c. */
#define RWSEM_READERS_WAKEUP_MAX 256

/*
 * The rw_semaphore's reader rule for the whole world.  RWSEM_FAIR is the
 * kernel's.  RWSEM_READER_PREFERRING is a counterfactual, not any kernel:
 * a reader takes the lock whenever no writer holds it, ignoring queued
 * writers and the handoff flag, so scenarios can show which deadlocks exist
 * only because one queued writer blocks every later reader (KERNEL.md 11,
 * pattern 4).  Writers starve under it; that is its point.
 */
enum rwsem_policy {
	RWSEM_FAIR = 0,
	RWSEM_READER_PREFERRING,
};
void rwsem_policy_set(enum rwsem_policy policy);
enum rwsem_policy rwsem_policy_get(void);

void init_rwsem(struct rw_semaphore *sem, enum lock_class_id cls,
		uint32_t owner_obj);
void down_read_at(struct rw_semaphore *sem, const char *where);
bool down_read_trylock_at(struct rw_semaphore *sem, const char *where);
void up_read_at(struct rw_semaphore *sem, const char *where);
void down_write_at(struct rw_semaphore *sem, const char *where);
bool down_write_trylock_at(struct rw_semaphore *sem, const char *where);
void up_write_at(struct rw_semaphore *sem, const char *where);
void downgrade_write_at(struct rw_semaphore *sem, const char *where);
#define down_read(s) down_read_at((s), __func__)
#define down_read_trylock(s) down_read_trylock_at((s), __func__)
#define up_read(s) up_read_at((s), __func__)
#define down_write(s) down_write_at((s), __func__)
#define down_write_trylock(s) down_write_trylock_at((s), __func__)
#define up_write(s) up_write_at((s), __func__)
#define downgrade_write(s) downgrade_write_at((s), __func__)

static inline bool rwsem_is_locked(const struct rw_semaphore *sem)
{
	return sem->readers > 0 || sem->writer != NULL;
}

static inline bool rwsem_is_contended(const struct rw_semaphore *sem)
{
	return sem->waiters > 0;
}

void rwsem_check(const struct rw_semaphore *sem);

/* ------------------------------------------------------ hooks (analysis) */

/*
 * What the analysis layer learns of locks, without the model knowing who
 * listens.  `h` points into the task's held list and is valid only for the
 * call; `acquired` may find it anywhere in the list, not only last: a
 * downgrade_write turns the held entry into a read entry where it stands,
 * as lockdep's lock_downgrade does, and reports a release of the write and
 * an acquisition of the read.  h->trylock tells whether the acquisition
 * could have waited.
 */
struct lock_hooks {
	void *ctx;
	void (*acquired)(void *ctx, struct task *t, const struct held_lock *h);
	void (*released)(void *ctx, struct task *t, const struct held_lock *h,
			 uint64_t now_ns);
	void (*wait_begin)(void *ctx, struct task *t, struct lock_common *l,
			   enum lock_mode mode, const char *where);
	void (*wait_end)(void *ctx, struct task *t, struct lock_common *l,
			 enum lock_mode mode, uint64_t waited_ns);
};

#define LOCK_HOOKS_MAX 4

bool lock_hooks_subscribe(const struct lock_hooks *h);
void lock_hooks_unsubscribe(void *ctx);

/* Trace kinds of lock operations (registered by locks.c). */
enum {
	TRACE_LOCK = TRACE_MODEL_FIRST,		/* about to take a lock */
	TRACE_UNLOCK,
	TRACE_TRYLOCK,
	TRACE_MODEL_LOCK_LAST = TRACE_TRYLOCK,
};

/* Modeled CPU cost of lock operations: an uncontended atomic RMW plus
 * bookkeeping on a modern x86 core. */
#define COST_LOCK_NS 20
#define COST_UNLOCK_NS 10

/* A world object id for a new lock or object (traces name them). */
uint32_t mm_obj_id(void);
void mm_obj_ids_reset(void);

#endif /* SIM_MM_LOCKS_H */
