/*
 * vmscan.c: models mm/vmscan.c's page reclaim as KERNEL.md section 9
 * describes it: shrink_inactive_list isolates a batch of folios from the
 * old end of the LRU, shrink_folio_list decides each one's fate (keep,
 * write out, free), __remove_mapping frees, and what is kept goes back to
 * the LRU.  The rmap walks it uses (folio_referenced, try_to_unmap) are in
 * rmap.c, swap-out in swap_state.c and page_io.c, file writeback in
 * filemap.c.  Not the balancing that decides when and how much to reclaim
 * (watermarks, priorities, the anon/file ratio): the scenario's reclaim
 * operation says which folios and how many, run by a task that is kswapd
 * or a direct reclaimer.
 *
 * A folio through one reclaim (states):
 *
 *   on the LRU --isolate (PG_lru cleared, our reference)--> isolated
 *   isolated --trylock fails--> kept
 *   locked --writeback, referenced, cannot swap, still mapped, busy-->
 *     kept (unlocked)
 *   locked --dirty: pageout starts writeback, unlocks--> kept while the
 *     write is in flight; a synchronous write (zram) lets it go on:
 *     trylock again, then as clean
 *   locked, clean, unmapped --__remove_mapping: refcount frozen at
 *     1 + nr, not dirty, out of the cache--> freed
 *   kept --putback: PG_lru set, at the young end, our reference put--> LRU
 *
 * Invariants:
 *  1. Between isolation and putback or freeing, the folio holds exactly
 *     one reference of ours, and PG_lru is clear (nobody else isolates
 *     it).
 *  2. A folio is freed only from __remove_mapping's success: its refcount
 *     frozen at 0 from exactly 1 + folio_nr_pages (ours and the cache's),
 *     not dirty when frozen (with reclaim_order freeze_then_dirty), not
 *     under writeback, not mapped, out of the swap or page cache.
 *  3. The folio lock is held from the trylock to the decision, except
 *     across pageout, which returns it unlocked.
 *  4. One reclaim operation looks at each folio at most once: folios put
 *     back during it get an LRU position after the one it started from.
 *
 * The reclaim_order knob swaps __remove_mapping's two tests: the kernel
 * freezes the refcount and then tests the dirty bit; `dirty_before_freeze`
 * tests first, so a writer holding a reference (gup_write) that dirties
 * the folio and drops its reference in between sees its write freed
 * (KERNEL.md 11, pattern 10).  A model check compares the content version
 * of every folio reclaim frees with its backing store (the swap slot, the
 * file's disk) and reports a mismatch as a `lost_write` finding.
 *
 * Simplified: one LRU list (swap.c); anonymous THPs are not reclaimed
 * (the kernel splits them first, which changes no lock the fault paths
 * meet); a file THP is reclaimed whole, as kernels with large folios in
 * the page cache do, but only once nothing maps it and it is clean: a
 * mapped or dirty one is kept (the kernel would unmap its PMD or PTEs and
 * write it back first; the scenarios that reclaim THPs unmap them first,
 * and what they ask is whether __remove_mapping's refcount freeze can
 * succeed, which does not depend on how they got unmapped); no MGLRU, no
 * demotion, no
 * workingset shadows, no mlock; folios are freed one by one, not in a
 * batch after the list.
 */
#include <stdio.h>

#include "mm/internal.h"
#include "mm/page_io.h"
#include "mm/swap_state.h"

/* Folios isolated at once: SWAP_CLUSTER_MAX, the kernel's batch. */
#define SWAP_CLUSTER_MAX 32u

static_assert(SWAP_CLUSTER_MAX <= TASK_FOLIO_REFS_MAX,
	      "a batch's references fit a task's reference list");

enum folio_references {
	FOLIOREF_RECLAIM,
	FOLIOREF_KEEP,
	FOLIOREF_ACTIVATE,
};

enum pageout_t {
	PAGE_KEEP,		/* failed to write the folio out */
	PAGE_SUCCESS,		/* writeback started (or done) */
	PAGE_CLEAN,		/* the folio was clean after all */
};

/* ------------------------------------------------------------ isolation */

/* Is folio one of this reclaim's candidates? */
static bool folio_matches(const struct folio *f, const struct scan_control *sc,
			  uint64_t lru_limit)
{
	bool anon = folio_test(f, PG_anon);

	SIM_ASSERT(sc->target < RECLAIM_TARGETS_COUNT);
	SIM_ASSERT(!sc->filtered || sc->file < (int32_t)FILES_MAX);
	if (f->freed || !folio_test(f, PG_lru) || f->lru_seq > lru_limit)
		return false;
	/* Anonymous THPs and device memory are not reclaimed (see the
	 * top). */
	if ((f->order != 0 && anon) || folio_test(f, PG_device))
		return false;
	if (sc->target == RECLAIM_TARGET_ANON && !anon)
		return false;
	if (sc->target == RECLAIM_TARGET_FILE && anon)
		return false;
	if (!sc->filtered)
		return true;
	if (anon)
		return f->anon_vma && f->index >= sc->anon_first &&
		       f->index < sc->anon_end;
	return sc->file >= 0 && f->mapping &&
	       f->mapping == mm_world->files[sc->file]->f_mapping &&
	       f->index >= sc->file_first && f->index < sc->file_end;
}

/*
 * isolate_lru_folios: take up to `want` candidates from the old end of the
 * LRU, each with a reference of ours and PG_lru cleared.  Under lru_lock
 * no folio on the LRU can be freed (freeing takes it off the LRU under
 * the same lock), which the model gets by doing the whole selection in
 * one step.
 */
static uint32_t isolate_lru_folios(const struct scan_control *sc,
				   uint64_t lru_limit, uint32_t want,
				   struct folio **out)
{
	struct mm_world *w = mm_world;
	uint32_t n = 0;

	SIM_ASSERT(want <= SWAP_CLUSTER_MAX);
	spin_lock(&w->lru_lock);
	mm_yield(TRACE_LRU, w->mm->id);
	while (n < want) {
		struct folio *oldest = NULL;
		for (uint32_t i = 0; i < w->folios_used; i++) {
			struct folio *f = mm_pool_folio(w, i);
			if (folio_matches(f, sc, lru_limit) &&
			    (!oldest || f->lru_seq < oldest->lru_seq))
				oldest = f;
		}
		if (!oldest)
			break;
		SIM_ASSERT(oldest->refcount > 0);
		folio_clear(oldest, PG_lru);
		folio_get(oldest);
		sim_cost(COST_ISOLATE_FOLIO_NS);
		out[n++] = oldest;
	}
	count_vm_events(PGSCAN, n);
	spin_unlock(&w->lru_lock);
	return n;
}

/* move_folios_to_lru: the kept folios go back at the young end, and our
 * references go (the last one, if everyone else let go meanwhile, frees
 * the folio). */
static void putback_folios(struct folio **list, uint32_t n)
{
	struct mm_world *w = mm_world;

	SIM_ASSERT(n <= SWAP_CLUSTER_MAX);
	if (!n)
		return;
	spin_lock(&w->lru_lock);
	mm_yield(TRACE_LRU, w->mm->id);
	for (uint32_t i = 0; i < n; i++) {
		SIM_ASSERT(!folio_test(list[i], PG_lru));	/* invariant 1 */
		folio_set(list[i], PG_lru);
		list[i]->lru_seq = ++w->lru_seq_next;
	}
	spin_unlock(&w->lru_lock);
	for (uint32_t i = 0; i < n; i++)
		folio_put(list[i]);
}

/* ---------------------------------------------------- one folio's fate */

/* folio_check_references: mapped folios start with accessed bits from
 * the fault that mapped them, so reclaim looks twice: referenced once,
 * it is marked and kept; referenced again (or by several PTEs),
 * activated, which for one list means kept too. */
static enum folio_references folio_check_references(struct folio *folio)
{
	int referenced_ptes = folio_referenced(folio);
	bool referenced_folio = folio_test_flag_read(folio, PG_referenced);

	SIM_ASSERT(referenced_ptes >= 0);
	SIM_ASSERT(folio->lock_owner == sim_current());
	folio_clear(folio, PG_referenced);
	if (referenced_ptes) {
		folio_set(folio, PG_referenced);
		if (referenced_folio || referenced_ptes > 1)
			return FOLIOREF_ACTIVATE;
		return FOLIOREF_KEEP;
	}
	return FOLIOREF_RECLAIM;
}

/* is_page_cache_freeable: nobody but the cache and us holds it. */
static bool is_page_cache_freeable(struct folio *folio)
{
	SIM_ASSERT(folio->order == 0);
	SIM_ASSERT(folio->lock_owner == sim_current());
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_READ, folio->id);
	return folio->refcount == 1 + (int32_t)folio_nr_pages(folio);
}

/*
 * pageout: write a dirty, unmapped folio out.  Its dirty bit is cleared
 * before the write (folio_clear_dirty_for_io), so a write that dirties
 * it again during the I/O is not lost: the folio stays dirty.  The
 * writepage unlocks the folio (invariant 3).
 */
static enum pageout_t pageout(struct folio *folio)
{
	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(!folio_test(folio, PG_writeback));
	if (!is_page_cache_freeable(folio)) {
		SIM_MARK("pageout: someone else holds a reference, keep");
		return PAGE_KEEP;
	}
	/* Truncated meanwhile: truncate cleans a folio under its lock before
	 * it takes it out of the cache, so only a PTE that outlived the
	 * truncate (a broken knob's stale PTE, zapped dirty) gets here. */
	if (!folio_mapping(folio))
		return PAGE_KEEP;
	/* folio_clear_dirty_for_io: the folio is unmapped, so there are no
	 * PTEs to clean (folio_mkclean). */
	mm_yield(TRACE_FOLIO_WRITE, folio->id);
	if (!folio_test(folio, PG_dirty))
		return PAGE_CLEAN;
	folio_clear(folio, PG_dirty);
	folio_set(folio, PG_reclaim);
	if (folio_test(folio, PG_swapcache))
		swap_writepage(folio);
	else
		filemap_writepage(folio);
	if (!folio_test_writeback(folio))
		folio_clear(folio, PG_reclaim);	/* synchronous: done */
	return PAGE_SUCCESS;
}

/* A model check, not kernel code: the folio about to be freed holds what
 * its backing store holds.  Clean means written; a difference means the
 * last write to it exists nowhere else and is lost with it. */
static void check_lost_write(struct folio *folio)
{
	uint64_t stored;
	char detail[256];

	SIM_ASSERT(folio->refcount == 0);
	SIM_ASSERT(folio_test(folio, PG_swapcache) || folio->mapping != NULL);
	if (folio_test(folio, PG_swapcache))
		stored = swp_swap_info(folio->swap)->slot_data[swp_offset(folio->swap)];
	else
		stored = inode_disk_load(folio->mapping->host, folio->index);
	if (stored == folio->data)
		return;
	SIM_MARK("__remove_mapping: freeing a folio whose write was never stored");
	snprintf(detail, sizeof(detail),
		 "{\"function\":\"__remove_mapping\",\"folio\":%u,\"%s\":%llu,\"version\":%llu,\"stored_version\":%llu,\"order\":\"%s\"}",
		 folio->id, folio_test(folio, PG_swapcache) ? "slot" : "index",
		 (unsigned long long)(folio_test(folio, PG_swapcache)
					      ? swp_offset(folio->swap)
					      : folio->index),
		 (unsigned long long)folio->data, (unsigned long long)stored,
		 knob_reclaim_order_names[kernel_knobs()->reclaim_order]);
	sim_report("lost_write", sim_signature("lost_write:__remove_mapping"),
		   detail,
		   "reclaim frees folio #%u holding version %llu while its backing store has %llu: the last write is lost",
		   folio->id, (unsigned long long)folio->data,
		   (unsigned long long)stored);
}

/*
 * __remove_mapping: detach a locked, unmapped folio from its cache if
 * nobody else holds it.  Under the cache's i_pages lock: freeze the
 * refcount at its expected value, then test dirty (the kernel's order;
 * see reclaim_order at the top), then delete.  True with the refcount
 * frozen at 0 and the folio out of the cache.
 */
static bool __remove_mapping(struct address_space *mapping, struct folio *folio)
{
	int expected = 1 + (int)folio_nr_pages(folio);
	bool dirty_first = kernel_knobs()->reclaim_order ==
			   RECLAIM_ORDER_DIRTY_BEFORE_FREEZE;

	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(mapping == folio_mapping(folio));
	spin_lock(&mapping->i_pages_lock);
	if (dirty_first && folio_test_dirty(folio))
		goto cannot_free;
	if (!folio_ref_freeze(folio, expected)) {
		SIM_MARK("__remove_mapping: refcount not as expected");
		goto cannot_free;
	}
	if (!dirty_first && folio_test_dirty(folio)) {
		SIM_MARK("__remove_mapping: dirtied under us, unfreeze");
		folio_ref_unfreeze(folio, expected);
		goto cannot_free;
	}
	check_lost_write(folio);
	if (folio_test(folio, PG_swapcache)) {
		swp_entry_t swap = folio->swap;
		__delete_from_swap_cache(folio, swap);
		spin_unlock(&mapping->i_pages_lock);
		put_swap_folio(folio, swap);
	} else {
		__filemap_remove_folio(folio);
		spin_unlock(&mapping->i_pages_lock);
	}
	return true;

cannot_free:
	spin_unlock(&mapping->i_pages_lock);
	return false;
}

/*
 * shrink_folio: shrink_folio_list's loop body for one isolated folio.
 * True when the folio was freed; false when it is to be put back, with
 * the folio unlocked either way.
 */
static bool shrink_folio(struct folio *folio, const struct scan_control *sc)
{
	bool waited = false;
	enum folio_references references = FOLIOREF_RECLAIM;

	SIM_ASSERT(!folio_test(folio, PG_lru));		/* invariant 1 */
	if (folio->order != 0)
		SIM_ASSERT(!folio_test(folio, PG_anon));
	sim_cost(COST_RECLAIM_FOLIO_NS);
retry:
	if (!folio_trylock(folio)) {
		SIM_MARK("shrink_folio: trylock failed, keep");
		return false;
	}
	if (folio_test_writeback(folio)) {
		/* Case 3: legacy memcg reclaim waits for a folio it already
		 * marked, once, then looks at it again. */
		if (sc->wait_writeback && !waited &&
		    folio_test_flag_read(folio, PG_reclaim)) {
			SIM_MARK("shrink_folio: legacy memcg waits for writeback");
			folio_unlock(folio);
			folio_wait_writeback(folio);
			waited = true;
			goto retry;
		}
		/* Case 2: mark it for immediate reclaim and keep it. */
		folio_set(folio, PG_reclaim);
		goto keep_locked;
	}
	if (folio->order != 0) {
		/* A file THP: reclaimed whole if unmapped and clean (see the
		 * top), straight to __remove_mapping's freeze. */
		if (folio_mapped(folio) || folio_test_dirty(folio)) {
			SIM_MARK("shrink_folio: mapped or dirty file THP, keep");
			goto keep_locked;
		}
		goto remove;
	}
	if (!sc->ignore_references)
		references = folio_check_references(folio);
	if (references != FOLIOREF_RECLAIM)
		goto keep_locked;
	/* Anonymous folio not in the swap cache: give it a slot. */
	if (folio_test(folio, PG_anon) && !folio_test_swapcache(folio)) {
		if (!add_to_swap(folio)) {
			SIM_MARK("shrink_folio: swap is full, keep");
			goto keep_locked;
		}
	}
	if (folio_mapped(folio)) {
		try_to_unmap(folio);
		/* The kernel keeps a folio it could not unmap (mlocked, or
		 * a swap count it could not raise).  Here the walk finds
		 * every PTE and nothing maps a folio that reclaim holds
		 * locked, so this stays the kernel's defensive check. */
		if (folio_mapped(folio))
			goto keep_locked;
	}
	if (folio_test_dirty(folio)) {
		/* Only kswapd writes file folios (stack depth, and single
		 * folio I/O into the middle of the flusher's). */
		if (!folio_test(folio, PG_anon) && !sc->kswapd) {
			SIM_MARK("shrink_folio: direct reclaim leaves dirty file folios");
			folio_set(folio, PG_reclaim);
			goto keep_locked;
		}
		switch (pageout(folio)) {
		case PAGE_KEEP:
			goto keep_locked;
		case PAGE_SUCCESS:
			/* pageout unlocked it: it comes back later, unless
			 * the write is already done. */
			if (folio_test_writeback(folio)) {
				SIM_MARK("shrink_folio: writeback started, keep");
				return false;
			}
			if (folio_test_dirty(folio))
				return false;
			/* A synchronous write, probably zram: go ahead and
			 * try to reclaim it. */
			if (!folio_trylock(folio))
				return false;
			if (folio_test_dirty(folio) || folio_test_writeback(folio))
				goto keep_locked;
			break;
		case PAGE_CLEAN:
			break;
		}
	}
remove:;
	struct address_space *mapping = folio_mapping(folio);
	if (!mapping) {
		/* A file folio truncated while isolated: ours is probably
		 * the last reference. */
		SIM_MARK("shrink_folio: truncated while isolated");
		folio_unlock(folio);
		return false;
	}
	if (!__remove_mapping(mapping, folio))
		goto keep_locked;
	folio_unlock(folio);
	folio_free_frozen(folio);			/* invariant 2 */
	return true;

keep_locked:
	folio_unlock(folio);
	return false;
}

/* ----------------------------------------------------------- the batch */

uint32_t shrink_inactive_list(const struct scan_control *sc)
{
	struct folio *batch[SWAP_CLUSTER_MAX];
	struct folio *keep[SWAP_CLUSTER_MAX];
	uint32_t scanned = 0, reclaimed = 0;
	/* Invariant 4: the LRU as it was when we started. */
	uint64_t lru_limit = mm_world->lru_seq_next;

	SIM_ASSERT(sc->nr_to_scan >= 1);
	SIM_ASSERT(sc->target < RECLAIM_TARGETS_COUNT);
	sim_cost(COST_SYSCALL_NS);
	while (scanned < sc->nr_to_scan) {
		uint32_t want = sc->nr_to_scan - scanned;
		if (want > SWAP_CLUSTER_MAX)
			want = SWAP_CLUSTER_MAX;
		uint32_t n = isolate_lru_folios(sc, lru_limit, want, batch);
		if (!n)
			break;
		scanned += n;
		uint32_t kept = 0, freed = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (shrink_folio(batch[i], sc))
				freed++;
			else
				keep[kept++] = batch[i];
		}
		count_vm_events(PGSTEAL, freed);
		reclaimed += freed;
		putback_folios(keep, kept);
	}
	SIM_ASSERT(reclaimed <= scanned);
	return reclaimed;
}
