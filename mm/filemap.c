/*
 * filemap.c: the page cache side of the model, as the kernel's
 * mm/filemap.c: the folio lock and wait bits (states and invariants in
 * pagemap.h), the page cache itself (lookup, insert, delete), the read
 * I/O of a folio, the fault paths (filemap_fault, filemap_map_pages,
 * filemap_page_mkwrite) and buffered write (generic_perform_write).  Not
 * readahead's window logic (readahead.c) nor truncate and reclaim.
 *
 * filemap_fault's steps follow KERNEL.md section 5; the numbers in the
 * comments below are its steps.  The fault lock it may drop is whichever
 * the fault holds (release_fault_lock): mmap_lock, or the VMA lock.
 *
 * Simplified: the page cache is a flat array (no xarray nodes, so no
 * xas_retry); large folios in the page cache only come from the scenario
 * (files[].thp), readahead allocates small ones; mmap_miss accounting
 * (which turns readahead off for random access) is not modeled, so
 * readahead always runs; read errors never happen (no device model fails
 * a request), but every error branch the kernel has is here.
 */
#include <errno.h>
#include <stdio.h>

#include "mm/internal.h"
#include "mm/swap_state.h"

const struct xa_slot xa_slot_none;

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

void folio_put_wait_locked_at(struct folio *folio, const char *where)
{
	struct task *t = sim_current();

	SIM_ASSERT(t != NULL);
	might_sleep_at(where);
	sim_yield(TRACE_LOCK, folio->lock.id);
	if (!folio_test_locked(folio)) {
		folio_put_at(folio, where);
		return;
	}
	/* Whoever holds the lock holds a reference too: ours is not the
	 * last, and the folio outlives our wait. */
	SIM_ASSERT(folio->refcount > 1);
	SIM_ASSERT(folio->lock_owner != t);
	folio_put_at(folio, where);
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
	SIM_ASSERT(!folio->freed);
	/* Reclaim marked it to be freed as soon as it is written: the kernel
	 * rotates it to the LRU's reclaim end (folio_rotate_reclaimable).
	 * The mark goes; the rotation is not modeled, since a scenario's
	 * reclaim picks its folios by its own filter. */
	folio_clear(folio, PG_reclaim);
	folio_clear(folio, PG_writeback);
	struct task *t = waitq_first(&folio->lock.wq);
	while (t) {
		struct task *next = waitq_next(t);
		if (t->wait_flags & FOLIO_WAIT_WRITEBACK)
			waitq_wake(&folio->lock.wq, t);
		t = next;
	}
}

/* ------------------------------------------------------- the page cache */

/* Lookups that race with a folio being freed retry, as filemap_get_entry
 * does (xas_reset and again), and so do the lookup-or-create loops that
 * lose an insertion race: a folio whose refcount reclaim froze stays in
 * the cache, unreferenceable, until reclaim deletes or unfreezes it, a
 * few steps later.  Every retry takes a step, so the run's step budget
 * (at most STEPS_LIMIT) ends a livelock first: the bound only guards the
 * model. */
#define FILEMAP_GET_RETRIES_MAX STEPS_LIMIT

static struct folio *xa_load_folio(struct address_space *mapping,
				   pgoff_t index)
{
	SIM_ASSERT(index < FILE_PAGES_MAX);
	sim_cost(COST_XA_NS);
	mm_yield(TRACE_XA_READ, mapping->id);
	const struct xa_slot *s = xa_slot_load(mapping, index);
	return s->value ? NULL : s->folio;
}

struct folio *filemap_get_folio(struct address_space *mapping, pgoff_t index)
{
	struct folio *folio = NULL;

	SIM_ASSERT(mapping != NULL);
	rcu_read_lock();
	for (uint64_t tries = 0; tries < FILEMAP_GET_RETRIES_MAX; tries++) {
		folio = xa_load_folio(mapping, index);
		if (!folio)
			break;
		if (!folio_try_get(folio)) {
			SIM_MARK("filemap_get_folio: folio being freed");
			folio_lookup_wait_unfreeze(mapping);
			folio = NULL;
			continue;
		}
		/* Has the folio moved or been split? */
		if (folio == xa_load_folio(mapping, index))
			break;
		SIM_MARK("filemap_get_folio: folio moved under us");
		folio_put(folio);
		folio = NULL;
	}
	rcu_read_unlock();
	return folio;
}

struct folio *filemap_get_next_folio(struct address_space *mapping,
				     pgoff_t *index, pgoff_t end)
{
	SIM_ASSERT(mapping != NULL);
	SIM_ASSERT(*index <= end && end <= FILE_PAGES_MAX);
	for (uint64_t tries = 0; tries < FILEMAP_GET_RETRIES_MAX; tries++) {
		/* xas_find: one walk of the tree to the next entry. */
		sim_cost(COST_XA_NS);
		mm_yield(TRACE_XA_READ, mapping->id);
		pgoff_t i = *index;
		while (i < end && (!xa_slot_load(mapping, i)->folio ||
				   xa_slot_load(mapping, i)->value))
			i++;
		*index = i;
		if (i == end)
			return NULL;
		/* The entry found, looked up again with a reference as
		 * filemap_get_folio does; gone by now means look further. */
		struct folio *folio = filemap_get_folio(mapping, i);
		if (folio)
			return folio;
		SIM_MARK("filemap_get_next_folio: entry went away");
	}
	SIM_ASSERT(!"a page cache walk retried more often than the step budget allows");
	return NULL;
}

bool filemap_add_folio(struct address_space *mapping, struct folio *folio,
		       pgoff_t index)
{
	uint32_t nr = folio_nr_pages(folio);

	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(folio->mapping == NULL && index % nr == 0);
	SIM_ASSERT(index + nr <= FILE_PAGES_MAX);
	/* The page cache's references, and the folio's identity, before it
	 * becomes visible. */
	folio_ref_add(folio, (int)nr);
	folio->mapping = mapping;
	folio->index = index;
	spin_lock(&mapping->i_pages_lock);
	for (uint32_t i = 0; i < nr; i++) {
		if (xa_load_folio(mapping, index + i)) {
			SIM_MARK("filemap_add_folio: lost the race (-EEXIST)");
			spin_unlock(&mapping->i_pages_lock);
			folio->mapping = NULL;
			folio_put_refs(folio, (int)nr);
			return false;
		}
	}
	sim_cost(COST_XA_NS);
	mm_yield(TRACE_XA_WRITE, mapping->id);
	for (uint32_t i = 0; i < nr; i++)
		*xa_slot_store(mapping, index + i) =
			(struct xa_slot){ .folio = folio, .value = false };
	mapping->nrpages += nr;
	spin_unlock(&mapping->i_pages_lock);
	folio_add_lru(folio);
	return true;
}

void __filemap_remove_folio(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	uint32_t nr = folio_nr_pages(folio);

	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(mapping != NULL && xa_slot_load(mapping, folio->index)->folio == folio);
	lockdep_assert_held(&mapping->i_pages_lock.c);
	sim_cost(COST_XA_NS);
	mm_yield(TRACE_XA_WRITE, mapping->id);
	for (uint32_t i = 0; i < nr; i++)
		*xa_slot_store(mapping, folio->index + i) = (struct xa_slot){ 0 };
	mapping->nrpages -= nr;
	mm_yield(TRACE_FOLIO_WRITE, folio->id);
	folio->mapping = NULL;
}

void filemap_remove_folio(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;
	uint32_t nr = folio_nr_pages(folio);

	SIM_ASSERT(mapping != NULL);
	spin_lock(&mapping->i_pages_lock);
	__filemap_remove_folio(folio);
	spin_unlock(&mapping->i_pages_lock);
	/* filemap_free_folio: the cache's references go. */
	folio_put_refs(folio, (int)nr);
}

struct address_space *folio_mapping(struct folio *folio)
{
	SIM_ASSERT(!folio->freed);
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_READ, folio->id);
	if (folio_test(folio, PG_swapcache))
		return swap_address_space(folio->swap);
	SIM_ASSERT(!folio_test(folio, PG_anon) || folio->mapping == NULL);
	return folio->mapping;
}

/* ------------------------------------------------------------ read I/O */

/* One read request's folios: a readahead batch, contiguous in the file
 * (the bio of read_pages), or a single folio.  In the arena: it lives
 * until the completion, and the arena until the end of the schedule. */
struct read_batch {
	uint32_t nr;
	struct folio *folios[RA_PAGES];
};

/* The read completes: each folio's contents are what the backing store
 * holds for its index (a THP's head page stands for it). */
static void filemap_read_done(struct read_batch *rb)
{
	SIM_ASSERT(rb->nr >= 1 && rb->nr <= RA_PAGES);
	for (uint32_t i = 0; i < rb->nr; i++) {
		struct folio *folio = rb->folios[i];
		/* A folio locked for read stays in the page cache (removal
		 * needs the lock), so it cannot have been freed. */
		SIM_ASSERT(!folio->freed && folio->mapping != NULL);
		SIM_ASSERT(folio->lock_owner == NULL && folio_test_locked(folio));
		folio->data = inode_disk_load(folio->mapping->host, folio->index);
		folio_end_read(folio, true);
	}
}

static void read_end_io(void *arg)
{
	SIM_ASSERT(arg != NULL);
	SIM_ASSERT(sim_current() == NULL);
	count_vm_event(IO_COMPLETED);
	filemap_read_done(arg);
}

static void read_end_bio(const struct blk_request *rq)
{
	SIM_ASSERT(rq->op == REQ_OP_READ);
	SIM_ASSERT(rq->private != NULL);
	filemap_read_done(rq->private);
}

/*
 * Start one read of nr locked folios at consecutive indices of mapping:
 * through the file's block device (files[].device: its queue and latency
 * distribution), or, without one, as one I/O that completes after the
 * file's fixed read_latency.  The I/O owns the folio locks from now on.
 */
void filemap_read_folios_submit(struct address_space *mapping,
				struct folio *const *folios, uint32_t nr)
{
	struct read_batch *rb = arena_new(sim_arena(), struct read_batch);
	uint32_t pages = 0;

	SIM_ASSERT(nr >= 1 && nr <= RA_PAGES);
	SIM_ASSERT(mapping != NULL);
	for (uint32_t i = 0; i < nr; i++) {
		struct folio *folio = folios[i];
		SIM_ASSERT(folio->lock_owner == sim_current());
		SIM_ASSERT(!folio_test(folio, PG_uptodate) && folio->mapping == mapping);
		SIM_ASSERT(folio->index == folios[0]->index + pages);
		pages += folio_nr_pages(folio);
		rb->folios[i] = folio;
	}
	rb->nr = nr;
	sim_cost(COST_IO_SUBMIT_NS);
	mm_yield(TRACE_READ_SUBMIT, folios[0]->id);
	for (uint32_t i = 0; i < nr; i++)
		folio_lock_to_io(folios[i]);
	if (mapping->bdev) {
		blk_submit(mapping->bdev, REQ_OP_READ, folios[0]->index, pages,
			   read_end_bio, rb);
		return;
	}
	count_vm_event(IO_SUBMITTED);
	sim_event_add(sim_now() + mapping->host->read_latency_ns, TRACE_READ_DONE,
		      folios[0]->id, read_end_io, rb);
}

void filemap_read_folio_submit(struct folio *folio,
			       struct address_space *mapping)
{
	SIM_ASSERT(folio != NULL);
	SIM_ASSERT(folio_nr_pages(folio) <= FILE_PAGES_MAX);
	filemap_read_folios_submit(mapping, &folio, 1);
}

/* Writeback completes: the backing store holds the folio's contents. */
static void filemap_write_done(struct folio *folio)
{
	/* Under writeback a folio stays in the page cache: truncate waits
	 * for it, reclaim skips it. */
	SIM_ASSERT(folio->mapping != NULL);
	SIM_ASSERT(folio_test(folio, PG_writeback));
	inode_disk_store(folio->mapping->host, folio->index, folio->data);
	folio_end_writeback(folio);
}

static void write_end_io(void *arg)
{
	SIM_ASSERT(arg != NULL);
	SIM_ASSERT(sim_current() == NULL);
	count_vm_event(IO_COMPLETED);
	filemap_write_done(arg);
}

static void write_end_bio(const struct blk_request *rq)
{
	SIM_ASSERT(rq->op == REQ_OP_WRITE);
	SIM_ASSERT(rq->private != NULL);
	filemap_write_done(rq->private);
}

/*
 * filemap_writepage: the ->writepage of pageout for a file folio
 * (writepage_cb of the filesystem, reduced to one folio and one I/O).
 * Writes to the file's device, or without one after read_latency.
 */
void filemap_writepage(struct folio *folio)
{
	struct address_space *mapping = folio->mapping;

	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(mapping != NULL && !folio_test(folio, PG_anon));
	folio_start_writeback(folio);
	folio_unlock(folio);
	sim_cost(COST_IO_SUBMIT_NS);
	mm_yield(TRACE_WRITE_SUBMIT, folio->id);
	if (mapping->bdev) {
		blk_submit(mapping->bdev, REQ_OP_WRITE, folio->index,
			   folio_nr_pages(folio), write_end_bio, folio);
		return;
	}
	count_vm_event(IO_SUBMITTED);
	sim_event_add(sim_now() + mapping->host->read_latency_ns,
		      TRACE_WRITE_DONE, folio->id, write_end_io, folio);
}

int filemap_read_folio(struct folio *folio, struct address_space *mapping)
{
	SIM_ASSERT(folio->lock_owner == sim_current());
	folio_clear(folio, PG_error);
	filemap_read_folio_submit(folio, mapping);
	folio_wait_locked(folio);
	if (!folio_test_uptodate(folio)) {
		SIM_MARK("filemap_read_folio: read failed");
		return -EIO;
	}
	return 0;
}

/* -------------------------------------------------- the fault lock (4) */

bool maybe_unlock_mmap_for_io(struct vm_fault *vmf, bool dropped)
{
	if (dropped)
		return true;
	/* RETRY_NOWAIT: nothing may wait, the lock stays. */
	if (fault_flag_allow_retry_first(vmf->flags) &&
	    !(vmf->flags & FAULT_FLAG_RETRY_NOWAIT)) {
		release_fault_lock(vmf);
		return true;
	}
	return false;
}

/*
 * __folio_lock_or_retry (KERNEL.md 4 and 6), with the swap_vma_lock knob
 * for a fault under the per-VMA lock (do_swap_page is its only caller):
 *  - first attempt with RETRY_NOWAIT: RETRY, fault lock still held;
 *  - first attempt: drop the fault lock (release_fault_lock: the VMA lock
 *    or mmap_lock, Peter Xu's version, merged), wait for the folio to be
 *    unlocked without taking it, RETRY;
 *  - later attempt (TRIED) or no ALLOW_RETRY: lock the folio (killable
 *    when KILLABLE; no signals are modeled) and return 0 with the folio
 *    and the fault lock held.
 * Under FAULT_FLAG_VMA_LOCK, `uncontended_v1` (Suren's v1) fails at once
 * without waiting, and `naive` calls mmap_read_unlock as the code did
 * before either: a lock the fault does not hold.  Both then leave the VMA
 * lock to be released on the way out: the 6.4 arch handler released it
 * after any RETRY; the model's handler releases it itself (fault.c,
 * invariant 2), here, which is the same release at the same point.
 */
vm_fault_t __folio_lock_or_retry(struct folio *folio, struct vm_fault *vmf)
{
	unsigned int flags = vmf->flags;
	enum knob_swap_vma_lock k = kernel_knobs()->swap_vma_lock;

	SIM_ASSERT(!(flags & FAULT_FLAG_SPECULATIVE));
	SIM_ASSERT(!folio->freed);
	if ((flags & FAULT_FLAG_VMA_LOCK) && k == SWAP_VMA_LOCK_UNCONTENDED_V1) {
		/* "Can't do this if not holding mmap_lock". */
		SIM_MARK("__folio_lock_or_retry: v1 gives up under the VMA lock");
		vma_end_read(vmf->vma);
		fault_note_retry(__func__);
		return VM_FAULT_RETRY;
	}
	if (fault_flag_allow_retry_first(flags)) {
		if (flags & FAULT_FLAG_RETRY_NOWAIT)
			return VM_FAULT_RETRY;
		if ((flags & FAULT_FLAG_VMA_LOCK) && k == SWAP_VMA_LOCK_NAIVE) {
			SIM_MARK("__folio_lock_or_retry: naive mmap_read_unlock under the VMA lock");
			mmap_read_unlock(vmf->vma->vm_mm);
			folio_wait_locked(folio);
			vma_end_read(vmf->vma);
			fault_note_retry(__func__);
			return VM_FAULT_RETRY;
		}
		release_fault_lock(vmf);
		folio_wait_locked(folio);
		fault_note_retry(__func__);
		return VM_FAULT_RETRY;
	}
	folio_lock(folio);
	return 0;
}

/*
 * lock_folio_maybe_drop_mmap (step 4): trylock; else, unless
 * RETRY_NOWAIT, drop the fault lock for the wait (first attempt only) and
 * lock the folio.  0 (no lock) only for RETRY_NOWAIT.
 */
static bool lock_folio_maybe_drop_mmap(struct vm_fault *vmf,
				       struct folio *folio, bool *dropped)
{
	if (folio_trylock(folio))
		return true;
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return false;
	*dropped = maybe_unlock_mmap_for_io(vmf, *dropped);
	if (!*dropped)
		SIM_MARK("lock_folio_maybe_drop_mmap: sleeping with the fault lock held");
	folio_lock(folio);
	return true;
}

/* do_sync_mmap_readahead (step 3, miss): drop the fault lock for the I/O
 * and read around the faulting page. */
static bool do_sync_mmap_readahead(struct vm_fault *vmf)
{
	bool dropped = maybe_unlock_mmap_for_io(vmf, false);

	page_cache_ra_around(vmf->vma->vm_file, vmf->pgoff);
	return dropped;
}

/* do_async_mmap_readahead (step 3, hit): a folio that carries the
 * PG_readahead marker starts the next window, lock dropped first. */
static bool do_async_mmap_readahead(struct vm_fault *vmf, struct folio *folio)
{
	if (!folio_test_readahead(folio))
		return false;
	SIM_MARK("filemap_fault: async readahead marker hit");
	bool dropped = maybe_unlock_mmap_for_io(vmf, false);
	page_cache_async_ra(vmf->vma->vm_file, folio);
	return dropped;
}

/* __filemap_get_folio(FGP_CREAT | FGP_FOR_MMAP): the folio at index, or a
 * new one inserted there; a new folio is returned unlocked and not
 * uptodate, so the caller does its own locking dance. */
static struct folio *filemap_get_or_create_folio(struct address_space *mapping,
						 pgoff_t index)
{
	for (uint64_t tries = 0; tries < FILEMAP_GET_RETRIES_MAX; tries++) {
		struct folio *folio = filemap_get_folio(mapping, index);
		if (folio)
			return folio;
		folio = folio_alloc(0);
		if (!folio)
			return NULL;
		folio_lock_new(folio);
		if (filemap_add_folio(mapping, folio, index)) {
			folio_unlock(folio);
			return folio;
		}
		folio_unlock(folio);
		folio_put(folio);
	}
	return NULL;
}

vm_fault_t filemap_fault(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = mapping->host;
	pgoff_t index = vmf->pgoff;
	bool dropped = false, mapping_locked = false;
	struct folio *folio;
	vm_fault_t ret = 0;

	SIM_ASSERT(index < FILE_PAGES_MAX);
	/* 1. Beyond EOF. */
	if (index >= (i_size_read(inode) + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES)
		return VM_FAULT_SIGBUS;

	/* 2. Do we have something in the page cache already? */
	folio = filemap_get_folio(mapping, index);
	if (folio) {
		/* 3. Found: async readahead before waiting for the lock. */
		if (!(vmf->flags & FAULT_FLAG_TRIED))
			dropped = do_async_mmap_readahead(vmf, folio);
		if (!folio_test_uptodate(folio)) {
			filemap_invalidate_lock_shared(mapping);
			mapping_locked = true;
		}
	} else {
		/* 3. No page in the page cache at all: a major fault. */
		struct fault_state *fs = current_mm_state()->fault;
		count_vm_event(PGMAJFAULT);
		if (fs)
			fs->major = true;
		ret = VM_FAULT_MAJOR;
		dropped = do_sync_mmap_readahead(vmf);
retry_find:
		if (!mapping_locked) {
			filemap_invalidate_lock_shared(mapping);
			mapping_locked = true;
		}
		folio = filemap_get_or_create_folio(mapping, index);
		if (!folio) {
			if (dropped)
				goto out_retry;
			filemap_invalidate_unlock_shared(mapping);
			return VM_FAULT_OOM;
		}
	}

	/* 4. */
	if (!lock_folio_maybe_drop_mmap(vmf, folio, &dropped))
		goto out_retry;

	/* 5. Did it get truncated? */
	if (folio_mapping_read(folio) != mapping) {
		SIM_MARK("filemap_fault: truncated while locking");
		folio_unlock(folio);
		folio_put(folio);
		goto retry_find;
	}
	SIM_ASSERT(folio->index <= index &&
		   index < folio->index + folio_nr_pages(folio));

	/* 6. A locked folio in the page cache that is not uptodate: an
	 * error, or readahead could not read it. */
	if (!folio_test_uptodate(folio)) {
		/* Without the invalidate lock it was uptodate a moment ago;
		 * take the lock and look again. */
		if (!mapping_locked) {
			SIM_MARK("filemap_fault: uptodate lost, retake invalidate_lock");
			folio_unlock(folio);
			folio_put(folio);
			goto retry_find;
		}
		goto page_not_uptodate;
	}

	/* 7. The fault lock was dropped: return to the arch handler, which
	 * retakes it and redoes the fault, finding the folio cached. */
	if (dropped) {
		folio_unlock(folio);
		goto out_retry;
	}
	if (mapping_locked)
		filemap_invalidate_unlock_shared(mapping);

	/* 8. Re-check i_size under the folio lock. */
	if (index >= (i_size_read(inode) + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES) {
		SIM_MARK("filemap_fault: beyond EOF after locking");
		folio_unlock(folio);
		folio_put(folio);
		return VM_FAULT_SIGBUS;
	}
	vmf->folio = folio;
	return ret | VM_FAULT_LOCKED;

page_not_uptodate:
	/* 6. Read it synchronously, the fault lock dropped for the I/O on
	 * the first attempt. */
	dropped = maybe_unlock_mmap_for_io(vmf, dropped);
	int error = filemap_read_folio(folio, mapping);
	if (dropped)
		goto out_retry;
	folio_put(folio);
	if (!error)
		goto retry_find;
	filemap_invalidate_unlock_shared(mapping);
	return VM_FAULT_SIGBUS;

out_retry:
	if (folio)
		folio_put(folio);
	if (mapping_locked)
		filemap_invalidate_unlock_shared(mapping);
	fault_note_retry(__func__);
	return ret | VM_FAULT_RETRY;
}

vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct folio *folio = vmf->folio;

	SIM_ASSERT(folio != NULL);
	SIM_ASSERT(vmf->flags & FAULT_FLAG_MKWRITE);
	folio_lock(folio);
	if (folio_mapping_read(folio) != mapping) {
		SIM_MARK("filemap_page_mkwrite: truncated");
		folio_unlock(folio);
		return VM_FAULT_NOPAGE;
	}
	/* Dirty now, so that writeback after a freeze sees it; waiting for
	 * stable pages (folio_wait_stable) only matters to devices that
	 * need them, and the model has none. */
	folio_mark_dirty(folio);
	return VM_FAULT_LOCKED;
}

/* ---------------------------------------------------------- fault-around */

/*
 * How fault-around holds a folio while it maps it: locked (trylock, the
 * kernel), or not locked at all for a small folio of a private mapping
 * (the fault_around knob's private_nolock and nolock_norecheck).
 */
enum map_hold {
	MAP_LOCKED,
	MAP_NOLOCK_RECHECK,	/* Linus's safe order, under the PTE lock */
	MAP_NOLOCK_NORECHECK,	/* broken: no re-checks at all */
};

struct map_cursor {
	struct address_space *mapping;
	pgoff_t index;			/* next index to look at */
	pgoff_t end;			/* last index, inclusive */
	struct folio *last;		/* a THP is returned once */
};

static bool beyond_eof(struct address_space *mapping, pgoff_t index)
{
	uint64_t max_idx = (i_size_read(mapping->host) + PAGE_SIZE_BYTES - 1) /
			   PAGE_SIZE_BYTES;
	return index >= max_idx;
}

/*
 * next_uptodate_folio: the next folio of the window that can be mapped
 * without sleeping, with a reference, locked or not as *hold says.  Skips
 * value entries, locked folios, folios it cannot get a reference on,
 * moved folios, folios not uptodate or carrying the readahead marker, and
 * (when it locks) folios it cannot trylock; after the trylock it re-checks
 * mapping, uptodate and i_size (KERNEL.md 8).  *first_index is where the
 * folio starts mapping within the window.
 */
static struct folio *next_uptodate_folio(struct map_cursor *c, bool shared,
					 enum map_hold *hold,
					 pgoff_t *first_index)
{
	enum knob_fault_around knob = kernel_knobs()->fault_around;

	for (; c->index <= c->end; c->index++) {
		pgoff_t idx = c->index;
		struct folio *folio = xa_load_folio(c->mapping, idx);
		if (!folio || folio == c->last)
			continue;
		if (folio_test_flag_read(folio, PG_locked))
			continue;
		if (!folio_try_get(folio))
			continue;
		/* Has the page moved or been split? */
		if (folio != xa_load_folio(c->mapping, idx))
			goto skip;
		if (!folio_test_uptodate(folio) || folio_test_readahead(folio))
			goto skip;
		*hold = MAP_LOCKED;
		if (!shared && folio->order == 0 && knob != FAULT_AROUND_TRYLOCK)
			*hold = knob == FAULT_AROUND_PRIVATE_NOLOCK
					? MAP_NOLOCK_RECHECK
					: MAP_NOLOCK_NORECHECK;
		if (*hold == MAP_NOLOCK_NORECHECK)
			goto found;
		if (*hold == MAP_NOLOCK_RECHECK) {
			/* Patch 4: the lock state, read again after the
			 * reference was taken, so that a locker sees our
			 * reference or we see its lock. */
			if (folio_test_flag_read(folio, PG_locked))
				goto skip;
		} else if (!folio_trylock(folio)) {
			goto skip;
		}
		if (folio_mapping_read(folio) != c->mapping ||
		    !folio_test_uptodate(folio) || beyond_eof(c->mapping, idx)) {
			SIM_MARK("next_uptodate_folio: re-check failed");
			goto unlock;
		}
found:
		c->last = folio;
		*first_index = idx;
		c->index = folio->index + folio_nr_pages(folio);
		return folio;
unlock:
		if (*hold == MAP_LOCKED)
			folio_unlock(folio);
skip:
		folio_put(folio);
	}
	return NULL;
}

/* Drop fault-around's hold on a folio: its lock if it took it, then its
 * reference. */
static void map_release(struct folio *folio, enum map_hold hold)
{
	if (hold == MAP_LOCKED)
		folio_unlock(folio);
	folio_put(folio);
}

/*
 * filemap_map_pmd: a THP at the start of the window meets an empty PMD:
 * map it whole with do_set_pmd.  True when nothing is left to do (the PMD
 * maps a THP).  The filemap_map_pmd knob's inverted_set_pmd tests
 * do_set_pmd's result backwards (seed 004): a failure returns true with
 * the reference still held (leaked), a success falls through to the PTE
 * path, which finds the huge PMD and puts a reference it does not own.
 */
static bool filemap_map_pmd(struct vm_fault *vmf, struct folio *folio,
			    enum map_hold hold)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	pmd_t v = pmdp_get(mm, vmf->pmd);

	/* Huge page is mapped?  No need to proceed. */
	if (v.kind == PMD_HUGE) {
		map_release(folio, hold);
		return true;
	}
	if (v.kind == PMD_NONE && folio->order == HPAGE_PMD_ORDER) {
		SIM_ASSERT(hold == MAP_LOCKED);
		vm_fault_t ret = do_set_pmd(vmf, folio);
		bool inverted = kernel_knobs()->filemap_map_pmd ==
				FILEMAP_MAP_PMD_INVERTED_SET_PMD;
		if (inverted ? ret != 0 : ret == 0) {
			/* Mapped (or, inverted, not): the reference is
			 * consumed by the PMD (or, inverted, leaked). */
			if (inverted)
				SIM_MARK("filemap_map_pmd: inverted, leak on do_set_pmd failure");
			folio_unlock(folio);
			return true;
		}
		if (inverted)
			SIM_MARK("filemap_map_pmd: inverted, mapped yet falls through");
	}
	if (pmdp_get(mm, vmf->pmd).kind == PMD_NONE && vmf->prealloc_pte)
		pmd_install(mm, vmf->pmd, &vmf->prealloc_pte);
	return false;
}

/*
 * Map pages [first, last] of folio (file page numbers) where their PTEs
 * are empty; each PTE takes a reference of its own.  VM_FAULT_NOPAGE when
 * the faulting address was among them.  Under the PTE lock.
 */
static vm_fault_t filemap_map_folio_range(struct vm_fault *vmf,
					  struct folio *folio, pgoff_t first,
					  pgoff_t last, enum map_hold hold)
{
	struct vm_area_struct *vma = vmf->vma;
	struct address_space *mapping = vma->vm_file->f_mapping;
	vm_fault_t ret = 0;

	SIM_ASSERT(first >= folio->index);
	SIM_ASSERT(last < folio->index + folio_nr_pages(folio));
	for (pgoff_t p = first; p <= last; p++) {
		uint64_t addr = vma->vm_start + (p - vma->vm_pgoff);
		uint32_t i = pte_index(addr);
		/* Markers and existing entries are left to the fault path. */
		if (!pte_none(ptep_get(vmf->pt, i)))
			continue;
		if (hold == MAP_NOLOCK_RECHECK) {
			/* Linus's proposed order: raise the mapcount, then
			 * check the lock and the mapping again.  A truncate
			 * that locked the folio after this point sees it
			 * mapped and unmaps it under this PTE lock; one that
			 * got there first has cleared the mapping. */
			folio_add_file_rmap_ptes(folio, 1);
			if (folio_test_flag_read(folio, PG_locked) ||
			    folio_mapping_read(folio) != mapping ||
			    !folio_test_uptodate(folio) ||
			    beyond_eof(mapping, p)) {
				SIM_MARK("filemap_map_folio_range: nolock re-check failed");
				folio_remove_rmap_ptes(folio, 1);
				continue;
			}
			folio_ref_add(folio, 1);
			sim_cost(COST_SET_PTE_NS);
			set_pte_at(vmf->pt, i,
				   (pte_t){ .kind = PTE_PRESENT, .folio = folio,
					    .subpage = (uint16_t)(p - folio->index),
					    .young = true });
		} else {
			set_pte_range(vmf, folio, (uint32_t)(p - folio->index),
				      1, addr);
			folio_ref_add(folio, 1);
		}
		if (addr == vmf->address)
			ret = VM_FAULT_NOPAGE;
	}
	return ret;
}

vm_fault_t filemap_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
			     pgoff_t end_pgoff)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct map_cursor c = { .mapping = vma->vm_file->f_mapping,
				.index = start_pgoff, .end = end_pgoff };
	bool shared = vma->vm_flags & VM_SHARED;
	enum map_hold hold;
	pgoff_t first;
	vm_fault_t ret = 0;

	SIM_ASSERT(current_mm_state()->rcu_depth > 0);
	SIM_ASSERT(start_pgoff <= end_pgoff);
	struct folio *folio = next_uptodate_folio(&c, shared, &hold, &first);
	if (!folio)
		return 0;
	if (filemap_map_pmd(vmf, folio, hold))
		return VM_FAULT_NOPAGE;
	vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
	if (!vmf->pt) {
		map_release(folio, hold);
		return 0;
	}
	do {
		pgoff_t end = folio->index + folio_nr_pages(folio) - 1;
		ret |= filemap_map_folio_range(vmf, folio, first,
					       end < end_pgoff ? end : end_pgoff,
					       hold);
		map_release(folio, hold);
	} while ((folio = next_uptodate_folio(&c, shared, &hold, &first)));
	pte_unmap_unlock(vmf->ptl);
	vmf->pt = NULL;
	return ret;
}

const struct vm_operations_struct generic_file_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = filemap_page_mkwrite,
};

/* A filesystem whose vm_ops lack ->map_pages (files[].no_map_pages): no
 * fault-around, and no ->fault under the per-VMA lock. */
const struct vm_operations_struct nomap_file_vm_ops = {
	.fault = filemap_fault,
	.map_pages = NULL,
	.page_mkwrite = filemap_page_mkwrite,
};

/* ------------------------------------------------------ buffered write */

/*
 * __filemap_get_folio(FGP_WRITEBEGIN): the folio at index, locked and
 * stable (no writeback), created if absent.  A folio truncated while we
 * slept on its lock is dropped and looked up again.
 */
static struct folio *write_begin_get_folio(struct address_space *mapping,
					   pgoff_t index)
{
	for (uint64_t tries = 0; tries < FILEMAP_GET_RETRIES_MAX; tries++) {
		struct folio *folio = filemap_get_folio(mapping, index);
		if (folio) {
			folio_lock(folio);
			if (folio_mapping_read(folio) != mapping) {
				SIM_MARK("write_begin: truncated while locking");
				folio_unlock(folio);
				folio_put(folio);
				continue;
			}
			folio_wait_writeback(folio);
			return folio;
		}
		folio = folio_alloc(0);
		if (!folio)
			return NULL;
		folio_lock_new(folio);
		if (filemap_add_folio(mapping, folio, index))
			return folio;
		folio_unlock(folio);
		folio_put(folio);
	}
	return NULL;
}

/* write_end for a whole page copied: uptodate, dirty, i_size extended
 * (i_rwsem is held), unlocked, reference dropped. */
static void write_end(struct inode *inode, struct folio *folio, pgoff_t index)
{
	folio_mark_uptodate(folio);
	folio_mark_dirty(folio);
	uint64_t end = (index + 1) * PAGE_SIZE_BYTES;
	if (end > i_size_read(inode))
		i_size_write(inode, end);
	folio_unlock(folio);
	folio_put(folio);
}

/*
 * generic_perform_write: per page, bring the source in first
 * (fault_in_readable, nothing locked), then lock the destination folio and
 * copy with page faults disabled.  If the source went away in between,
 * the copy is short: unlock, fault it in again, retry (bounded by the
 * step budget, like the kernel's loop).  One folio lock at a time, so the
 * source may be an mmap of the very file written.
 */
long generic_perform_write(struct file *file, pgoff_t index, uint32_t pages,
			   uint64_t src)
{
	struct address_space *mapping = file->f_mapping;
	long written = 0;

	lockdep_assert_held_write(&mapping->host->i_rwsem.c);
	for (uint32_t i = 0; i < pages;) {
		if (fault_in_readable(src + i, 1))
			return written ? written : -EFAULT;
		struct folio *folio = write_begin_get_folio(mapping, index + i);
		if (!folio)
			return written ? written : -ENOMEM;
		if (!copy_page_from_user_atomic(folio, src + i)) {
			SIM_MARK("generic_perform_write: short copy, fault in again");
			folio_unlock(folio);
			folio_put(folio);
			continue;
		}
		write_end(mapping->host, folio, index + i);
		written++;
		i++;
	}
	return written;
}

long ksys_write(struct file *file, pgoff_t index, uint32_t pages, uint64_t src)
{
	struct inode *inode = file->f_inode;
	long ret;

	SIM_ASSERT(pages > 0 && index + pages <= FILE_PAGES_MAX);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, inode->id);
	if (inode->fuse &&
	    kernel_knobs()->write_path == WRITE_PATH_FUSE_MULTI_LOCK)
		return fuse_perform_write(file, index, pages, src);
	/* generic_file_write_iter (and fuse in writeback-cache mode). */
	down_write(&inode->i_rwsem);
	ret = generic_perform_write(file, index, pages, src);
	up_write(&inode->i_rwsem);
	return ret;
}
