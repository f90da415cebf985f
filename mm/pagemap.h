/*
 * pagemap.h: the folio lock and the folio's wait bits (PG_locked,
 * PG_writeback), as include/linux/pagemap.h declares them; the bodies are in
 * mm/filemap.c like the kernel's.  Not the page cache fault paths.
 *
 * Folio lock states:
 *
 *   unlocked:         !PG_locked
 *   locked by a task: PG_locked, lock_owner == that task (held-lock entry)
 *   locked by I/O:    PG_locked, lock_owner == NULL (a read in flight; the
 *                     completion unlocks it with folio_end_read)
 *
 * Invariants:
 *  1. lock_owner != NULL implies PG_locked and a held-lock entry in that
 *     task.
 *  2. Unlocking hands the lock straight to the first exclusive waiter
 *     (Linus's 2020 page-lock fairness change): PG_locked never clears
 *     while an exclusive waiter is queued.  Every waiter that only waits
 *     for the unlock (folio_wait_locked) is woken by it.
 *  3. Writeback waiters are woken when PG_writeback clears, not before.
 */
#ifndef SIM_MM_PAGEMAP_H
#define SIM_MM_PAGEMAP_H

#include "mm/types.h"

/* How a task waits on a folio's wait queue (task->wait_flags). */
#define FOLIO_WAIT_LOCKED	0x1u	/* for PG_locked to clear */
#define FOLIO_WAIT_WRITEBACK	0x2u	/* for PG_writeback to clear */
#define FOLIO_WAIT_EXCLUSIVE	0x4u	/* and take PG_locked (folio_lock) */

void folio_lock_init(struct folio *folio);

void folio_lock_at(struct folio *folio, const char *where);
bool folio_trylock_at(struct folio *folio, const char *where);
void folio_unlock_at(struct folio *folio, const char *where);
/* Wait until PG_locked is clear, without taking it. */
void folio_wait_locked_at(struct folio *folio, const char *where);
void folio_wait_writeback_at(struct folio *folio, const char *where);
/* put_and_wait_on_page_locked: drop a reference of the current task and,
 * if the folio is locked, wait for the unlock; the drop and the start of
 * the wait are one step, so the lock holder's reference keeps the folio
 * until the waiter is queued. */
void folio_put_wait_locked_at(struct folio *folio, const char *where);
#define folio_put_wait_locked(f) folio_put_wait_locked_at((f), __func__)
#define folio_lock(f) folio_lock_at((f), __func__)
#define folio_trylock(f) folio_trylock_at((f), __func__)
#define folio_unlock(f) folio_unlock_at((f), __func__)
#define folio_wait_locked(f) folio_wait_locked_at((f), __func__)
#define folio_wait_writeback(f) folio_wait_writeback_at((f), __func__)

static inline bool folio_test_locked(const struct folio *f)
{
	return folio_test(f, PG_locked);
}

/* Lock a folio the current task has just allocated and nobody else can
 * see yet (__folio_set_locked): no yield, no waiting. */
void folio_lock_new_at(struct folio *folio, const char *where);
#define folio_lock_new(f) folio_lock_new_at((f), __func__)

/* The current task submits read I/O on a folio it locked: from now on the
 * I/O owns PG_locked, and folio_end_read releases it. */
void folio_lock_to_io_at(struct folio *folio, const char *where);
#define folio_lock_to_io(f) folio_lock_to_io_at((f), __func__)

/* I/O completion (task or event context): set uptodate if the read
 * succeeded and unlock in one step, waking waiters. */
void folio_end_read(struct folio *folio, bool success);
/* Start and end writeback: PG_writeback set by the submitter, cleared by
 * the completion, which wakes writeback waiters. */
void folio_start_writeback(struct folio *folio);
void folio_end_writeback(struct folio *folio);

#endif /* SIM_MM_PAGEMAP_H */
