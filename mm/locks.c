/*
 * locks.c: lock classes, held-lock tracking, spinlocks and rw_semaphores
 * (see the state machine in locks.h).  Not the folio lock (filemap.c) nor
 * the VMA lock protocol (mmap_lock.c), which use the bookkeeping here.
 */
#include <stdio.h>
#include <string.h>

#include "mm/locks.h"

static const struct lock_class classes[LOCK_CLASSES_COUNT] = {
	[LC_I_RWSEM] = { LC_I_RWSEM, "i_rwsem", LOCK_KIND_RWSEM },
	[LC_MMAP_LOCK] = { LC_MMAP_LOCK, "mmap_lock", LOCK_KIND_RWSEM },
	[LC_INVALIDATE_LOCK] = { LC_INVALIDATE_LOCK, "invalidate_lock",
				 LOCK_KIND_RWSEM },
	[LC_FOLIO_LOCK] = { LC_FOLIO_LOCK, "folio_lock", LOCK_KIND_BIT },
	[LC_VMA_LOCK] = { LC_VMA_LOCK, "vma_lock", LOCK_KIND_RWSEM },
	[LC_I_MMAP_RWSEM] = { LC_I_MMAP_RWSEM, "i_mmap_rwsem",
			      LOCK_KIND_RWSEM },
	[LC_ANON_VMA_RWSEM] = { LC_ANON_VMA_RWSEM, "anon_vma_rwsem",
				LOCK_KIND_RWSEM },
	[LC_PAGE_TABLE_LOCK] = { LC_PAGE_TABLE_LOCK, "page_table_lock",
				 LOCK_KIND_SPIN },
	[LC_PTL] = { LC_PTL, "ptl", LOCK_KIND_SPIN },
	[LC_PMD_LOCK] = { LC_PMD_LOCK, "pmd_lock", LOCK_KIND_SPIN },
	[LC_SWAP_LOCK] = { LC_SWAP_LOCK, "swap_lock", LOCK_KIND_SPIN },
	[LC_I_PAGES] = { LC_I_PAGES, "i_pages", LOCK_KIND_SPIN },
	[LC_LRU_LOCK] = { LC_LRU_LOCK, "lru_lock", LOCK_KIND_SPIN },
};

static enum rwsem_policy rwsem_policy = RWSEM_FAIR;
static struct lock_hooks hooks[LOCK_HOOKS_MAX];
static uint32_t hooks_count;
static uint32_t next_obj_id = 1;

const struct lock_class *lock_class_get(enum lock_class_id id)
{
	SIM_ASSERT(id < LOCK_CLASSES_COUNT);
	SIM_ASSERT(classes[id].name != NULL);
	return &classes[id];
}

uint32_t mm_obj_id(void)
{
	SIM_ASSERT(next_obj_id != 0);
	return next_obj_id++;
}

void mm_obj_ids_reset(void)
{
	next_obj_id = 1;
}

bool lock_hooks_subscribe(const struct lock_hooks *h)
{
	if (hooks_count >= LOCK_HOOKS_MAX)
		return false;
	hooks[hooks_count++] = *h;
	return true;
}

void lock_hooks_unsubscribe(void *ctx)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].ctx != ctx)
			hooks[w++] = hooks[i];
	hooks_count = w;
}

void lock_init(struct lock_common *l, enum lock_class_id cls,
	       uint32_t owner_obj)
{
	l->cls = lock_class_get(cls);
	l->id = mm_obj_id();
	l->owner_obj = owner_obj;
	waitq_init(&l->wq, l->id, l);
}

/* ------------------------------------------------------------ held locks */

struct held_lock *lock_held_by_current(const struct lock_common *l)
{
	struct task_mm *tm = current_mm_state();

	for (uint32_t i = tm->held_count; i-- > 0;)
		if (tm->held[i].lock == l)
			return &tm->held[i];
	return NULL;
}

bool lock_is_held_by(const struct task *t, const struct lock_common *l,
		     enum lock_mode mode)
{
	const struct task_mm *tm = task_mm(t);

	for (uint32_t i = 0; i < tm->held_count; i++)
		if (tm->held[i].lock == l && (!mode || tm->held[i].mode == mode))
			return true;
	return false;
}

static const char *mode_name(enum lock_mode mode)
{
	return mode == LOCK_READ ? "read" : mode == LOCK_WRITE ? "write" : "any";
}

bool lockdep_assert_held_at(const struct lock_common *l, enum lock_mode mode,
			    const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	SIM_ASSERT(l->cls != NULL);
	if (lock_is_held_by(t, l, mode))
		return true;
	char sig[128], detail[256];
	snprintf(sig, sizeof(sig), "assert_locked:%s:%s:%s", l->cls->name,
		 mode_name(mode), where);
	snprintf(detail, sizeof(detail),
		 "{\"lock\":\"%s\",\"mode\":\"%s\",\"function\":\"%s\",\"task\":\"%s\"}",
		 l->cls->name, mode_name(mode), where, t->name);
	sim_report("assert_locked", sim_signature(sig), detail,
		   "%s requires %s held (%s) but task %s does not hold it",
		   where, l->cls->name, mode_name(mode), t->name);
	return false;
}

void might_sleep_at(const char *where)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);

	SIM_ASSERT(t != NULL);
	if (t->preempt_count == 0 && tm->rcu_depth == 0)
		return;
	/* Name the innermost spinlock held, as the kernel's "BUG: sleeping
	 * function called from invalid context" names the preempt count. */
	const char *spin = tm->rcu_depth ? "rcu_read_lock" : "?";
	for (uint32_t i = tm->held_count; i-- > 0;) {
		if (tm->held[i].lock->cls->kind == LOCK_KIND_SPIN) {
			spin = tm->held[i].lock->cls->name;
			break;
		}
	}
	char sig[128], detail[256];
	snprintf(sig, sizeof(sig), "sleep_in_atomic:%s:%s", where, spin);
	snprintf(detail, sizeof(detail),
		 "{\"function\":\"%s\",\"atomic\":\"%s\",\"task\":\"%s\"}",
		 where, spin, t->name);
	sim_report("sleep_in_atomic", sim_signature(sig), detail,
		   "sleeping function %s called from atomic context (%s held) by task %s",
		   where, spin, t->name);
}

void rcu_read_lock(void)
{
	current_mm_state()->rcu_depth++;
}

void rcu_read_unlock(void)
{
	struct task_mm *tm = current_mm_state();

	SIM_ASSERT(tm->rcu_depth > 0);
	tm->rcu_depth--;
}

static void held_add(struct lock_common *l, enum lock_mode mode,
		     const char *where, bool trylock)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);

	/* HELD_LOCKS_MAX is lockdep's depth; a model path that nests deeper
	 * is a bug in the model. */
	SIM_ASSERT(tm->held_count < HELD_LOCKS_MAX);
	struct held_lock *h = &tm->held[tm->held_count++];
	h->lock = l;
	h->mode = mode;
	h->where = where;
	h->since_ns = sim_now();
	h->trylock = trylock;
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].acquired)
			hooks[i].acquired(hooks[i].ctx, t, h);
}

void lock_acquired_current(struct lock_common *l, enum lock_mode mode,
			   const char *where)
{
	held_add(l, mode, where, false);
}

void lock_tryacquired_current(struct lock_common *l, enum lock_mode mode,
			      const char *where)
{
	held_add(l, mode, where, true);
}

static void report_unlock_not_held(struct lock_common *l, enum lock_mode mode,
				   const char *where)
{
	struct task *t = sim_current();
	char sig[128], detail[256];

	snprintf(sig, sizeof(sig), "unlock_not_held:%s:%s:%s", l->cls->name,
		 mode_name(mode), where);
	snprintf(detail, sizeof(detail),
		 "{\"lock\":\"%s\",\"mode\":\"%s\",\"function\":\"%s\",\"task\":\"%s\"}",
		 l->cls->name, mode_name(mode), where, t ? t->name : "-");
	sim_report("unlock_not_held", sim_signature(sig), detail,
		   "%s releases %s (%s) which task %s does not hold",
		   where, l->cls->name, mode_name(mode), t ? t->name : "-");
}

/* Remove the current task's entry for l (the innermost one); false when
 * there is none. */
static bool held_remove(struct lock_common *l, enum lock_mode mode,
			struct held_lock *out)
{
	struct task_mm *tm = current_mm_state();

	for (uint32_t i = tm->held_count; i-- > 0;) {
		if (tm->held[i].lock != l || (mode && tm->held[i].mode != mode))
			continue;
		*out = tm->held[i];
		memmove(&tm->held[i], &tm->held[i + 1],
			(tm->held_count - i - 1) * sizeof(tm->held[0]));
		tm->held_count--;
		return true;
	}
	return false;
}

bool lock_release_current(struct lock_common *l, enum lock_mode mode,
			  const char *where)
{
	struct held_lock h;

	if (!held_remove(l, mode, &h)) {
		report_unlock_not_held(l, mode, where);
		return false;
	}
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].released)
			hooks[i].released(hooks[i].ctx, sim_current(), &h,
					  sim_now());
	return true;
}

void lock_downgrade_current(struct lock_common *l, const char *where)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);
	uint64_t now = sim_now();

	for (uint32_t i = tm->held_count; i-- > 0;) {
		struct held_lock *h = &tm->held[i];
		if (h->lock != l || h->mode != LOCK_WRITE)
			continue;
		struct held_lock was = *h;
		for (uint32_t k = 0; k < hooks_count; k++)
			if (hooks[k].released)
				hooks[k].released(hooks[k].ctx, t, &was, now);
		h->mode = LOCK_READ;
		h->where = where;
		h->since_ns = now;
		for (uint32_t k = 0; k < hooks_count; k++)
			if (hooks[k].acquired)
				hooks[k].acquired(hooks[k].ctx, t, h);
		return;
	}
	/* The caller checked that it is the writer; the held list agrees
	 * (invariant 4 of the rw_semaphore). */
	SIM_ASSERT(!"downgrade of a write lock with no held entry");
}

void lock_transfer_current(struct lock_common *l, const char *where)
{
	struct held_lock h;

	if (!held_remove(l, 0, &h))
		report_unlock_not_held(l, 0, where);
}

void lock_wait_begin(struct lock_common *l, enum lock_mode mode,
		     const char *where)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);

	SIM_ASSERT(tm->waiting_on == NULL);
	tm->waiting_on = l;
	tm->waiting_mode = mode;
	tm->waiting_where = where;
	tm->waiting_since_ns = sim_now();
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].wait_begin)
			hooks[i].wait_begin(hooks[i].ctx, t, l, mode, where);
}

void lock_wait_end(struct lock_common *l, enum lock_mode mode)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);

	SIM_ASSERT(tm->waiting_on == l);
	uint64_t waited = sim_now() - tm->waiting_since_ns;
	tm->waiting_on = NULL;
	for (uint32_t i = 0; i < hooks_count; i++)
		if (hooks[i].wait_end)
			hooks[i].wait_end(hooks[i].ctx, t, l, mode, waited);
}

/* ------------------------------------------------------------- spinlocks */

void spin_lock_init(spinlock_t *l, enum lock_class_id cls, uint32_t owner_obj)
{
	lock_init(&l->c, cls, owner_obj);
	SIM_ASSERT(l->c.cls->kind == LOCK_KIND_SPIN);
	l->owner = NULL;
}

void spin_lock_at(spinlock_t *l, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	/* A spinlock the task already holds would spin forever: the model
	 * reports that as the self-deadlock it is (the wait-for graph sees
	 * the task waiting on itself). */
	sim_preempt_disable();
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_LOCK, l->c.id);
	if (l->owner) {
		lock_wait_begin(&l->c, LOCK_WRITE, where);
		/* Spin: blocked for the engine, but the CPU stays ours
		 * (preemption is off).  The releaser hands the lock over. */
		waitq_wait(&l->c.wq, LOCK_WRITE, 0);
		SIM_ASSERT(l->owner == t);
		lock_wait_end(&l->c, LOCK_WRITE);
	} else {
		l->owner = t;
	}
	lock_acquired_current(&l->c, LOCK_WRITE, where);
}

bool spin_trylock_at(spinlock_t *l, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_TRYLOCK, l->c.id);
	if (l->owner)
		return false;
	sim_preempt_disable();
	l->owner = t;
	lock_tryacquired_current(&l->c, LOCK_WRITE, where);
	return true;
}

void spin_unlock_at(spinlock_t *l, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	sim_cost(COST_UNLOCK_NS);
	sim_yield(TRACE_UNLOCK, l->c.id);
	if (l->owner != t) {
		report_unlock_not_held(&l->c, LOCK_WRITE, where);
		return;
	}
	lock_release_current(&l->c, LOCK_WRITE, where);
	struct task *next = waitq_first(&l->c.wq);
	l->owner = next;
	if (next)
		waitq_wake(&l->c.wq, next);
	sim_preempt_enable();
}

/* --------------------------------------------------------- rw_semaphore */

void rwsem_policy_set(enum rwsem_policy policy)
{
	SIM_ASSERT(policy == RWSEM_FAIR || policy == RWSEM_READER_PREFERRING);
	rwsem_policy = policy;
}

enum rwsem_policy rwsem_policy_get(void)
{
	return rwsem_policy;
}

void init_rwsem(struct rw_semaphore *sem, enum lock_class_id cls,
		uint32_t owner_obj)
{
	lock_init(&sem->c, cls, owner_obj);
	SIM_ASSERT(sem->c.cls->kind == LOCK_KIND_RWSEM);
	sem->readers = 0;
	sem->writer = NULL;
	sem->head = sem->tail = NULL;
	sem->waiters = 0;
	sem->handoff = false;
}

void rwsem_check(const struct rw_semaphore *sem)
{
	uint32_t n = 0;

	SIM_ASSERT(!(sem->readers > 0 && sem->writer));		/* 1 */
	for (const struct rwsem_waiter *w = sem->head; w; w = w->next) {
		n++;
		SIM_ASSERT(!w->granted);				/* 2 */
		if (w->next)
			SIM_ASSERT(w->next->prev == w);
	}
	SIM_ASSERT(n == sem->waiters);
	if (sem->handoff)						/* 3 */
		SIM_ASSERT(sem->head && sem->head->mode == LOCK_WRITE &&
			   sem->head->handoff_set);
}

static void waiter_add(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	w->next = NULL;
	w->prev = sem->tail;
	if (sem->tail)
		sem->tail->next = w;
	else
		sem->head = w;
	sem->tail = w;
	sem->waiters++;
}

static void waiter_del(struct rw_semaphore *sem, struct rwsem_waiter *w)
{
	SIM_ASSERT(sem->waiters > 0);
	if (w->prev)
		w->prev->next = w->next;
	else
		sem->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		sem->tail = w->prev;
	w->next = w->prev = NULL;
	sem->waiters--;
	/* rwsem_del_waiter: an empty list clears the handoff flag. */
	if (!sem->head)
		sem->handoff = false;
}

/*
 * rwsem_mark_wake(RWSEM_WAKE_ANY).  A first waiter that is a writer is
 * woken to compete for the lock (it stays queued); readers are granted the
 * lock here, before they run, and removed from the list.
 */
static void rwsem_mark_wake(struct rw_semaphore *sem)
{
	struct rwsem_waiter *w = sem->head;

	if (!w)
		return;
	if (w->mode == LOCK_WRITE) {
		if (w->task->wq == &sem->c.wq)
			waitq_wake(&sem->c.wq, w->task);
		return;
	}
	uint32_t woken = 0;
	while (w && woken < RWSEM_READERS_WAKEUP_MAX) {
		struct rwsem_waiter *next = w->next;
		if (w->mode == LOCK_READ) {
			waiter_del(sem, w);
			w->granted = true;
			sem->readers++;
			woken++;
			waitq_wake(&sem->c.wq, w->task);
		}
		w = next;
	}
	/* Readers took the lock: no writer needs forcing any more. */
	if (woken)
		sem->handoff = false;
}

static void rwsem_acquired(struct rw_semaphore *sem, enum lock_mode mode,
			   const char *where, bool trylock)
{
	if (trylock)
		lock_tryacquired_current(&sem->c, mode, where);
	else
		lock_acquired_current(&sem->c, mode, where);
	if (SIM_EXPENSIVE)
		rwsem_check(sem);
}

void down_read_at(struct rw_semaphore *sem, const char *where)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);

	SIM_ASSERT(t != NULL);
	might_sleep_at(where);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_LOCK, sem->c.id);
	if (!sem->writer && !sem->waiters && !sem->handoff) {
		sem->readers++;
		rwsem_acquired(sem, LOCK_READ, where, false);
		return;
	}
	if (rwsem_policy == RWSEM_READER_PREFERRING && !sem->writer) {
		SIM_MARK("down_read: reader-preferring policy passed queued writers");
		sem->readers++;
		rwsem_acquired(sem, LOCK_READ, where, false);
		return;
	}
	/* Reader optimistic stealing: only when nobody holds it at all (the
	 * kernel declines when the lock is likely reader-owned, so a stream
	 * of readers cannot starve a queued writer). */
	if (!sem->writer && !sem->handoff && sem->readers == 0) {
		SIM_MARK("down_read: stole the lock from queued waiters");
		sem->readers++;
		rwsem_acquired(sem, LOCK_READ, where, false);
		/* The first reader wakes the readers queued behind. */
		if (sem->head && sem->head->mode == LOCK_READ)
			rwsem_mark_wake(sem);
		return;
	}
	struct rwsem_waiter *w = &tm->rwsem_waiter;
	*w = (struct rwsem_waiter){ .task = t, .mode = LOCK_READ,
				    .since_ns = sim_now() };
	waiter_add(sem, w);
	lock_wait_begin(&sem->c, LOCK_READ, where);
	while (!w->granted)
		waitq_wait(&sem->c.wq, LOCK_READ, 0);
	w->granted = false;
	lock_wait_end(&sem->c, LOCK_READ);
	rwsem_acquired(sem, LOCK_READ, where, false);
}

bool down_read_trylock_at(struct rw_semaphore *sem, const char *where)
{
	SIM_ASSERT(sim_current() != NULL);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_TRYLOCK, sem->c.id);
	if (sem->writer)
		return false;
	if (rwsem_policy == RWSEM_FAIR && (sem->waiters || sem->handoff))
		return false;
	sem->readers++;
	rwsem_acquired(sem, LOCK_READ, where, true);
	return true;
}

void up_read_at(struct rw_semaphore *sem, const char *where)
{
	SIM_ASSERT(sim_current() != NULL);
	sim_cost(COST_UNLOCK_NS);
	sim_yield(TRACE_UNLOCK, sem->c.id);
	if (!lock_release_current(&sem->c, LOCK_READ, where))
		return;
	SIM_ASSERT(sem->readers > 0);
	sem->readers--;
	if (sem->readers == 0 && sem->waiters)
		rwsem_mark_wake(sem);
}

/*
 * rwsem_try_write_lock for a queued writer: the lock is taken only when
 * free, and while a handoff is pending only by the first waiter.  The first
 * waiter that has waited RWSEM_HANDOFF_NS sets the handoff flag instead.
 */
static bool rwsem_try_write_lock(struct rw_semaphore *sem,
				 struct rwsem_waiter *w)
{
	bool first = sem->head == w;

	if (sem->handoff && !first)
		return false;
	if (sem->writer || sem->readers) {
		if (first && !sem->handoff &&
		    sim_now() - w->since_ns >= RWSEM_HANDOFF_NS) {
			SIM_MARK("rwsem: writer set handoff");
			sem->handoff = true;
			w->handoff_set = true;
		}
		return false;
	}
	waiter_del(sem, w);
	sem->handoff = false;
	sem->writer = w->task;
	return true;
}

void down_write_at(struct rw_semaphore *sem, const char *where)
{
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);

	SIM_ASSERT(t != NULL);
	might_sleep_at(where);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_LOCK, sem->c.id);
	if (!sem->writer && !sem->readers && !sem->handoff) {
		if (sem->waiters)
			SIM_MARK("down_write: stole the lock from queued waiters");
		sem->writer = t;
		rwsem_acquired(sem, LOCK_WRITE, where, false);
		return;
	}
	struct rwsem_waiter *w = &tm->rwsem_waiter;
	*w = (struct rwsem_waiter){ .task = t, .mode = LOCK_WRITE,
				    .since_ns = sim_now() };
	waiter_add(sem, w);
	lock_wait_begin(&sem->c, LOCK_WRITE, where);
	/* A writer queued behind readers of a read-held lock lets the
	 * readers ahead of it in; rwsem_cond_wake_waiter does the same. */
	if (!sem->writer && sem->head != w && sem->head->mode == LOCK_READ)
		rwsem_mark_wake(sem);
	while (!rwsem_try_write_lock(sem, w)) {
		waitq_wait(&sem->c.wq, LOCK_WRITE, 0);
		sim_cost(COST_LOCK_NS);
	}
	lock_wait_end(&sem->c, LOCK_WRITE);
	rwsem_acquired(sem, LOCK_WRITE, where, false);
}

bool down_write_trylock_at(struct rw_semaphore *sem, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_TRYLOCK, sem->c.id);
	if (sem->writer || sem->readers || sem->waiters || sem->handoff)
		return false;
	sem->writer = t;
	rwsem_acquired(sem, LOCK_WRITE, where, true);
	return true;
}

void up_write_at(struct rw_semaphore *sem, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	sim_cost(COST_UNLOCK_NS);
	sim_yield(TRACE_UNLOCK, sem->c.id);
	if (sem->writer != t) {
		report_unlock_not_held(&sem->c, LOCK_WRITE, where);
		return;
	}
	lock_release_current(&sem->c, LOCK_WRITE, where);
	sem->writer = NULL;
	if (sem->waiters)
		rwsem_mark_wake(sem);
}

void downgrade_write_at(struct rw_semaphore *sem, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	if (sem->writer != t) {
		report_unlock_not_held(&sem->c, LOCK_WRITE, where);
		return;
	}
	lock_downgrade_current(&sem->c, where);
	sem->writer = NULL;
	sem->readers++;
	/* rwsem_downgrade_wake: readers at the front join us. */
	if (sem->head && sem->head->mode == LOCK_READ)
		rwsem_mark_wake(sem);
}

/* ------------------------------------------------------------------ trace */

__attribute__((constructor)) static void locks_register_trace_kinds(void)
{
	trace_kind_register(TRACE_LOCK, "lock");
	trace_kind_register(TRACE_UNLOCK, "unlock");
	trace_kind_register(TRACE_TRYLOCK, "trylock");
}
