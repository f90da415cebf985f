/*
 * swap_state.h: the swap cache, as mm/swap_state.c keeps it: an address
 * space indexed by swap offset (swapper_space) whose folios are the
 * in-memory copies of swap slots, and swap-in through it
 * (swapin_readahead).  Not the slots and their counts (swapfile.c) nor the
 * I/O (page_io.c).
 *
 * Swap cache membership of a folio:
 *
 *   not cached --add_to_swap_cache--> cached --__delete_from_swap_cache-->
 *   not cached
 *
 * Invariants (swap_check_invariants asserts 1-3 with the slots'):
 *  1. A cached folio has PG_swapcache, folio->swap == its slot's entry, and
 *     its slot has SWAP_HAS_CACHE (swapfile.h invariant 4).
 *  2. The swap cache holds one folio reference per page of each cached
 *     folio, taken by add_to_swap_cache and dropped by the caller of
 *     __delete_from_swap_cache (delete_from_swap_cache drops it itself).
 *  3. Membership changes only under the swap cache's i_pages lock and with
 *     the folio locked; lookups are lockless (RCU) and take a reference
 *     only on a folio whose refcount is not zero, then re-check the slot.
 *
 * Shadow entries (workingset refault detection) are not modeled: a
 * deleted folio's slot becomes empty.  Only i_pages, its lock and nrpages
 * of the swapper address_space are used.
 */
#ifndef SIM_MM_SWAP_STATE_H
#define SIM_MM_SWAP_STATE_H

#include <stdbool.h>

#include "mm/swapfile.h"
#include "mm/types.h"

static_assert(SWAP_SLOTS_MAX <= FILE_PAGES_MAX,
	      "the swap cache is an address_space indexed by swap offset");

/* Bound on the retry loops of a lookup racing with deletion and of a
 * swap-in racing with another (-EEXIST).  Every iteration takes at least
 * one step, so the run's step budget (at most STEPS_LIMIT) ends a livelock
 * before this bound is reached: the assert only guards the model. */
#define SWAP_RACE_RETRIES_MAX STEPS_LIMIT

/* Set up the swap cache of si (swapon calls it). */
void swap_cache_init(struct arena *a, struct swap_info_struct *si);

struct address_space *swap_address_space(swp_entry_t entry);

/* Insert folio (locked, anon, not cached) at entry, whose SWAP_HAS_CACHE
 * the caller holds; takes the cache's references.  The kernel's version
 * can fail on xarray node allocation, which the model does not have. */
void add_to_swap_cache(struct folio *folio, swp_entry_t entry);
/* Remove folio (locked, cached, not under writeback) from the cache; the
 * caller holds the i_pages lock and drops the cache's references. */
void __delete_from_swap_cache(struct folio *folio, swp_entry_t entry);
/* The whole removal: lock, remove, return SWAP_HAS_CACHE, drop the cache's
 * references (the caller still holds one of its own). */
void delete_from_swap_cache(struct folio *folio);
/* Reclaim's add_to_swap: allocate a slot for folio (locked, uptodate,
 * anon) and add it to the swap cache, dirty; false when swap is full. */
bool add_to_swap(struct folio *folio);

/* The cached folio for entry with a reference taken, or NULL. */
struct folio *swap_cache_get_folio(swp_entry_t entry);

/*
 * Find or create the swap cache folio for entry.  A new one is locked, in
 * the swap cache, and *new_page_allocated is set: the caller starts the
 * read.  On -EEXIST from swapcache_prepare (another task owns the slot's
 * SWAP_HAS_CACHE but has not inserted its folio yet) it sleeps one tick
 * and looks again.  NULL when the slot is no longer in use.
 */
struct folio *__read_swap_cache_async(swp_entry_t entry,
				      bool *new_page_allocated);
/* The same, starting the read of a new folio. */
struct folio *read_swap_cache_async(swp_entry_t entry);
/*
 * do_swap_page's swap-in through the swap cache: returns the folio for
 * entry with a reference, or NULL.  A folio whose read is in flight is
 * locked until the read completes (folio_lock_or_retry waits there).
 *
 * The readahead window is one page: the kernel reads up to 2^page_cluster
 * pages around the entry, but its window shrinks to the one page needed
 * when earlier readahead was not used (random access, which is what the
 * seeds' faults are), so the one page is what a fault waits for.
 */
struct folio *swapin_readahead(swp_entry_t entry);

/*
 * Folio references, until the fault paths' folio_alloc / folio_get /
 * folio_put exist: these act on folio->refcount and its change log exactly
 * as those will, and are to be replaced by them when the branches merge.
 * A folio whose refcount reaches 0 is freed (vmstat_folio_freed).
 */
struct folio *swap_folio_alloc(const char *where);
void swap_folio_ref_add(struct folio *folio, int nr, const char *where);
/* folio_try_get: false when the refcount is already 0 (being freed). */
bool swap_folio_try_get(struct folio *folio, const char *where);
void swap_folio_ref_sub(struct folio *folio, int nr, const char *where);
#define swap_folio_put(f) swap_folio_ref_sub((f), 1, __func__)

#endif /* SIM_MM_SWAP_STATE_H */
