/*
 * filemap.c: the page cache side of the model.  So far the folio lock and
 * the folio wait bits (see pagemap.h for the states and invariants); the
 * page cache fault paths (filemap_fault, filemap_map_pages) join them here,
 * as in the kernel's mm/filemap.c.
 */
#include <stdio.h>

#include "mm/pagemap.h"

void folio_lock_init(struct folio *folio)
{
	lock_init(&folio->lock, LC_FOLIO_LOCK, folio->id);
	folio->lock_owner = NULL;
}

/* Take PG_locked for t without waiting: a trylock, an uncontended
 * folio_lock, or a new folio nobody else can see.  `trylock` says whether
 * the caller could have waited (see held_lock.trylock). */
static void folio_take(struct folio *folio, struct task *t, const char *where,
		       bool trylock)
{
	SIM_ASSERT(!folio_test_locked(folio) || folio->lock_owner == t);
	folio_set(folio, PG_locked);
	folio->lock_owner = t;
	if (trylock)
		lock_tryacquired_current(&folio->lock, LOCK_WRITE, where);
	else
		lock_acquired_current(&folio->lock, LOCK_WRITE, where);
}

bool folio_trylock_at(struct folio *folio, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_TRYLOCK, folio->lock.id);
	if (folio_test_locked(folio))
		return false;
	folio_take(folio, t, where, true);
	return true;
}

void folio_lock_at(struct folio *folio, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	might_sleep_at(where);
	sim_cost(COST_LOCK_NS);
	sim_yield(TRACE_LOCK, folio->lock.id);
	if (!folio_test_locked(folio)) {
		folio_take(folio, t, where, false);
		return;
	}
	lock_wait_begin(&folio->lock, LOCK_WRITE, where);
	/* The unlocker hands PG_locked to us before waking us (invariant
	 * 2), so one wakeup is enough. */
	waitq_wait(&folio->lock.wq, FOLIO_WAIT_LOCKED | FOLIO_WAIT_EXCLUSIVE, 0);
	SIM_ASSERT(folio->lock_owner == t);
	SIM_ASSERT(folio_test_locked(folio));
	lock_wait_end(&folio->lock, LOCK_WRITE);
	lock_acquired_current(&folio->lock, LOCK_WRITE, where);
}

void folio_lock_new_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(!folio_test_locked(folio));
	/* __folio_set_locked cannot wait: for lockdep it is a trylock. */
	folio_take(folio, sim_current(), where, true);
}

/*
 * folio_wake_bit for PG_locked: wake every waiter that only waits for the
 * unlock, and hand the lock to the first exclusive waiter, if any.
 * Returns the new owner (NULL when the folio is now unlocked).
 */
static struct task *folio_wake_locked(struct folio *folio)
{
	struct task *handoff = NULL;
	struct task *t = waitq_first(&folio->lock.wq);

	while (t) {
		struct task *next = waitq_next(t);
		if (t->wait_flags & FOLIO_WAIT_LOCKED) {
			if (!(t->wait_flags & FOLIO_WAIT_EXCLUSIVE)) {
				waitq_wake(&folio->lock.wq, t);
			} else if (!handoff) {
				handoff = t;
				waitq_wake(&folio->lock.wq, t);
			}
		}
		t = next;
	}
	if (handoff) {
		folio->lock_owner = handoff;
	} else {
		folio_clear(folio, PG_locked);
		folio->lock_owner = NULL;
	}
	return handoff;
}

void folio_unlock_at(struct folio *folio, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	sim_cost(COST_UNLOCK_NS);
	sim_yield(TRACE_UNLOCK, folio->lock.id);
	if (!folio_test_locked(folio) || folio->lock_owner != t) {
		/* lock_release_current reports unlock_not_held. */
		lock_release_current(&folio->lock, LOCK_WRITE, where);
		return;
	}
	lock_release_current(&folio->lock, LOCK_WRITE, where);
	folio_wake_locked(folio);
}

void folio_wait_locked_at(struct folio *folio, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	might_sleep_at(where);
	sim_yield(TRACE_LOCK, folio->lock.id);
	if (!folio_test_locked(folio))
		return;
	/* Waiting on a folio this task holds cannot end: that is the fuse
	 * self-deadlock, left for the deadlock checker to report. */
	lock_wait_begin(&folio->lock, LOCK_READ, where);
	waitq_wait(&folio->lock.wq, FOLIO_WAIT_LOCKED, 0);
	lock_wait_end(&folio->lock, LOCK_READ);
}

void folio_lock_to_io_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio->lock_owner == sim_current());
	lock_transfer_current(&folio->lock, where);
	folio->lock_owner = NULL;
}

void folio_end_read(struct folio *folio, bool success)
{
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio->lock_owner == NULL);
	if (success)
		folio_set(folio, PG_uptodate);
	else
		folio_set(folio, PG_error);
	folio_wake_locked(folio);
}

void folio_wait_writeback_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(sim_current() != NULL);
	might_sleep_at(where);
	sim_yield(TRACE_LOCK, folio->lock.id);
	while (folio_test(folio, PG_writeback))
		waitq_wait(&folio->lock.wq, FOLIO_WAIT_WRITEBACK, 0);
}

void folio_start_writeback(struct folio *folio)
{
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(!folio_test(folio, PG_writeback));
	folio_set(folio, PG_writeback);
}

void folio_end_writeback(struct folio *folio)
{
	SIM_ASSERT(folio_test(folio, PG_writeback));
	folio_clear(folio, PG_writeback);
	struct task *t = waitq_first(&folio->lock.wq);
	while (t) {
		struct task *next = waitq_next(t);
		if (t->wait_flags & FOLIO_WAIT_WRITEBACK)
			waitq_wake(&folio->lock.wq, t);
		t = next;
	}
}
