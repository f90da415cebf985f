/*
 * swap_state.c: the swap cache and swap-in through it (see swap_state.h for
 * membership, its invariants and the one-page readahead window).  Not the
 * slot counts (swapfile.c) nor the I/O itself (page_io.c).
 */
#include <errno.h>
#include <stdio.h>

#include "mm/internal.h"
#include "mm/page_io.h"
#include "mm/swap_state.h"

/* --------------------------------------------------------------- the cache */

void swap_cache_init(struct arena *a, struct swap_info_struct *si)
{
	struct address_space *space = arena_new(a, struct address_space);

	SIM_ASSERT(si != NULL);
	SIM_ASSERT(si->swapper_space == NULL);
	space->id = mm_obj_id();
	spin_lock_init(&space->i_pages_lock, LC_I_PAGES, space->id);
	si->swapper_space = space;
}

struct address_space *swap_address_space(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);

	SIM_ASSERT(si->swapper_space != NULL);
	SIM_ASSERT(si->swapper_space->i_pages_lock.c.cls != NULL);
	return si->swapper_space;
}

void add_to_swap_cache(struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	struct address_space *space = swap_address_space(entry);
	uint32_t offset = swp_offset(entry);
	int nr = (int)folio_nr_pages(folio);

	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(!folio_test(folio, PG_swapcache));
	SIM_ASSERT(folio_test(folio, PG_anon));
	SIM_ASSERT(nr == 1);
	/* Invariant 1: the caller holds the slot's SWAP_HAS_CACHE, which is
	 * what makes it the only one inserting here. */
	SIM_ASSERT(si->swap_map[offset] & SWAP_HAS_CACHE);
	folio_ref_add(folio, nr);
	folio_set(folio, PG_swapcache);
	folio->swap = entry;
	sim_cost(COST_XA_NS);
	spin_lock(&space->i_pages_lock);
	SIM_ASSERT(xa_slot_load(space, offset)->folio == NULL);
	xa_slot_store(space, offset)->folio = folio;
	space->nrpages += (uint32_t)nr;
	sim_yield(TRACE_SWAP_CACHE, offset);
	spin_unlock(&space->i_pages_lock);
}

void __delete_from_swap_cache(struct folio *folio, swp_entry_t entry)
{
	struct address_space *space = swap_address_space(entry);
	uint32_t offset = swp_offset(entry);

	lockdep_assert_held(&space->i_pages_lock.c);
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio_test(folio, PG_swapcache));
	SIM_ASSERT(!folio_test(folio, PG_writeback));
	SIM_ASSERT(folio->swap.val == entry.val);
	SIM_ASSERT(xa_slot_load(space, offset)->folio == folio);
	SIM_ASSERT(space->nrpages >= folio_nr_pages(folio));
	xa_slot_store(space, offset)->folio = NULL;
	space->nrpages -= folio_nr_pages(folio);
	folio_clear(folio, PG_swapcache);
	folio->swap.val = 0;
	sim_yield(TRACE_SWAP_CACHE, offset);
}

void delete_from_swap_cache(struct folio *folio)
{
	swp_entry_t entry = folio->swap;
	struct address_space *space = swap_address_space(entry);
	int nr = (int)folio_nr_pages(folio);

	SIM_ASSERT(folio_test(folio, PG_swapcache));
	sim_cost(COST_XA_NS);
	spin_lock(&space->i_pages_lock);
	__delete_from_swap_cache(folio, entry);
	spin_unlock(&space->i_pages_lock);
	put_swap_folio(folio, entry);
	/* The caller's own reference keeps the folio alive. */
	SIM_ASSERT(folio->refcount > nr);
	folio_put_refs(folio, nr);
}

bool add_to_swap(struct folio *folio)
{
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio_test(folio, PG_uptodate));
	swp_entry_t entry = folio_alloc_swap(folio);
	if (!entry.val)
		return false;
	add_to_swap_cache(folio, entry);
	/* Its only copy is in memory until written: dirty, so that reclaim
	 * writes it out (the MADV_FREE case the kernel comments on). */
	folio_set(folio, PG_dirty);
	return true;
}

struct folio *swap_cache_get_folio(swp_entry_t entry)
{
	struct address_space *space = swap_address_space(entry);
	uint32_t offset = swp_offset(entry);

	SIM_ASSERT(sim_current() != NULL);
	for (uint64_t tries = 0;; tries++) {
		SIM_ASSERT(tries < SWAP_RACE_RETRIES_MAX);
		rcu_read_lock();
		sim_cost(COST_XA_NS);
		struct folio *folio = xa_slot_load(space, offset)->folio;
		/* Between the load and the reference, the folio may leave
		 * the cache and be freed. */
		sim_yield(TRACE_SWAP_CACHE, offset);
		if (!folio) {
			rcu_read_unlock();
			return NULL;
		}
		if (!folio_try_get(folio)) {
			SIM_MARK("swap_cache_get_folio: folio freed under lookup");
			folio_lookup_wait_unfreeze(space);
			rcu_read_unlock();
			continue;
		}
		if (xa_slot_load(space, offset)->folio != folio) {
			SIM_MARK("swap_cache_get_folio: slot changed under lookup");
			folio_put(folio);
			rcu_read_unlock();
			continue;
		}
		rcu_read_unlock();
		return folio;
	}
}

struct folio *__read_swap_cache_async(swp_entry_t entry,
				      bool *new_page_allocated)
{
	struct folio *folio;

	SIM_ASSERT(new_page_allocated != NULL);
	*new_page_allocated = false;
	for (uint64_t tries = 0;; tries++) {
		SIM_ASSERT(tries < SWAP_RACE_RETRIES_MAX);
		folio = swap_cache_get_folio(entry);
		if (folio)
			return folio;
		/* The slot was freed since the caller saw the entry: nothing
		 * to read. */
		if (__swap_count(entry) == 0) {
			SIM_MARK("__read_swap_cache_async: slot no longer used");
			return NULL;
		}
		/* Allocate before taking SWAP_HAS_CACHE, so that racers loop
		 * for as short a time as possible. */
		folio = folio_alloc(0);
		if (!folio)
			return NULL;
		/* __folio_set_swapbacked: an anonymous folio from birth. */
		folio_set(folio, PG_anon);
		int err = swapcache_prepare(entry);
		if (err == 0)
			break;
		folio_put(folio);
		if (err != -EEXIST)
			return NULL;
		/* Another task holds SWAP_HAS_CACHE and has not inserted its
		 * folio yet, or is deleting one: give it a tick. */
		SIM_MARK("__read_swap_cache_async: -EEXIST, backing off a tick");
		sim_sleep(SWAPCACHE_BACKOFF_NS);
	}
	folio_lock_new(folio);
	add_to_swap_cache(folio, entry);
	folio_add_lru(folio);
	*new_page_allocated = true;
	return folio;
}

struct folio *read_swap_cache_async(swp_entry_t entry)
{
	bool allocated;
	struct folio *folio = __read_swap_cache_async(entry, &allocated);

	if (allocated) {
		SIM_ASSERT(folio != NULL);
		SIM_ASSERT(folio_test(folio, PG_swapcache));
		swap_read_folio(folio);
	}
	return folio;
}

struct folio *swapin_readahead(swp_entry_t entry)
{
	SIM_ASSERT(entry.val != 0);
	SIM_ASSERT(swap_device() != NULL);
	return read_swap_cache_async(entry);
}

void swap_cache_build(struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	struct address_space *space = si->swapper_space;
	uint32_t offset = swp_offset(entry);

	SIM_ASSERT(sim == NULL || !sim->in_run);
	SIM_ASSERT(xa_slot_load(space, offset)->folio == NULL);
	SIM_ASSERT(folio_test(folio, PG_anon) && folio->refcount == 1);
	si->swap_map[offset] |= SWAP_HAS_CACHE;
	xa_slot_store(space, offset)->folio = folio;
	space->nrpages++;
	folio_set(folio, PG_swapcache);
	folio->swap = entry;
	folio->data = si->slot_data[offset];
}
