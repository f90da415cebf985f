/*
 * swap_state.c: the swap cache and swap-in through it (see swap_state.h for
 * membership, its invariants and the one-page readahead window).  Not the
 * slot counts (swapfile.c) nor the I/O itself (page_io.c).
 */
#include <errno.h>
#include <stdio.h>

#include "mm/page_io.h"
#include "mm/pagemap.h"
#include "mm/swap_state.h"
#include "mm/vmstat.h"

/* Folios allocated by swap_folio_alloc in this world, held to FOLIOS_MAX
 * until the fault paths' allocator, which will own that count, exists. */
static uint32_t swap_folios_allocated;

/* ---------------------------------------------- folio references (interim) */

static void ref_log(struct folio *folio, int ref_delta, const char *where)
{
	struct task *t = sim_current();
	struct folio_ref_change *c =
		&folio->ref_log[folio->ref_log_next++ % FOLIO_REF_LOG_MAX];

	SIM_ASSERT(where != NULL);
	SIM_ASSERT(ref_delta != 0);
	c->where = where;
	c->ref_delta = (int16_t)ref_delta;
	c->map_delta = 0;
	c->refcount = folio->refcount;
	c->mapcount = folio->mapcount;
	c->task = t ? t->id : TRACE_NO_TASK;
	c->step = sim->steps;
}

struct folio *swap_folio_alloc(const char *where)
{
	struct folio *folio = arena_new(sim_arena(), struct folio);

	SIM_ASSERT(where != NULL);
	SIM_ASSERT(++swap_folios_allocated <= FOLIOS_MAX);
	folio->id = mm_obj_id();
	folio_lock_init(folio);
	folio_set(folio, PG_anon);	/* swap-backed */
	folio->refcount = 1;
	ref_log(folio, 1, where);
	return folio;
}

void swap_folio_ref_add(struct folio *folio, int nr, const char *where)
{
	SIM_ASSERT(nr > 0);
	SIM_ASSERT(folio->refcount > 0 && !folio->freed);
	folio->refcount += nr;
	ref_log(folio, nr, where);
}

bool swap_folio_try_get(struct folio *folio, const char *where)
{
	SIM_ASSERT(folio->refcount >= 0);
	if (folio->refcount == 0)
		return false;
	SIM_ASSERT(!folio->freed);
	folio->refcount++;
	ref_log(folio, 1, where);
	return true;
}

void swap_folio_ref_sub(struct folio *folio, int nr, const char *where)
{
	SIM_ASSERT(nr > 0);
	SIM_ASSERT(!folio->freed);
	if (folio->refcount < nr) {
		char sig[128];
		snprintf(sig, sizeof(sig), "refcount_underflow:folio:%s", where);
		sim_report("refcount_underflow", sim_signature(sig), NULL,
			   "%s drops %d references of folio %u, which has %d",
			   where, nr, folio->id, folio->refcount);
		return;
	}
	folio->refcount -= nr;
	ref_log(folio, -nr, where);
	if (folio->refcount > 0)
		return;
	SIM_ASSERT(!folio_test_locked(folio));
	SIM_ASSERT(!folio_test(folio, PG_swapcache));
	folio->freed = true;
	vmstat_folio_freed(folio);
}

/* --------------------------------------------------------------- the cache */

void swap_cache_init(struct arena *a, struct swap_info_struct *si)
{
	struct address_space *space = arena_new(a, struct address_space);

	SIM_ASSERT(si != NULL);
	SIM_ASSERT(si->swapper_space == NULL);
	space->id = mm_obj_id();
	spin_lock_init(&space->i_pages_lock, LC_I_PAGES, space->id);
	si->swapper_space = space;
	/* A new world's swap device: its swap-in folios count from zero. */
	swap_folios_allocated = 0;
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
	swap_folio_ref_add(folio, nr, __func__);
	folio_set(folio, PG_swapcache);
	folio->swap = entry;
	spin_lock(&space->i_pages_lock);
	SIM_ASSERT(space->i_pages[offset].folio == NULL);
	space->i_pages[offset].folio = folio;
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
	SIM_ASSERT(space->i_pages[offset].folio == folio);
	SIM_ASSERT(space->nrpages >= folio_nr_pages(folio));
	space->i_pages[offset].folio = NULL;
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
	spin_lock(&space->i_pages_lock);
	__delete_from_swap_cache(folio, entry);
	spin_unlock(&space->i_pages_lock);
	put_swap_folio(folio, entry);
	/* The caller's own reference keeps the folio alive. */
	SIM_ASSERT(folio->refcount > nr);
	swap_folio_ref_sub(folio, nr, __func__);
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
		struct folio *folio = space->i_pages[offset].folio;
		/* Between the load and the reference, the folio may leave
		 * the cache and be freed. */
		sim_yield(TRACE_SWAP_CACHE, offset);
		if (!folio) {
			rcu_read_unlock();
			return NULL;
		}
		if (!swap_folio_try_get(folio, __func__)) {
			SIM_MARK("swap_cache_get_folio: folio freed under lookup");
			rcu_read_unlock();
			continue;
		}
		if (space->i_pages[offset].folio != folio) {
			SIM_MARK("swap_cache_get_folio: slot changed under lookup");
			swap_folio_put(folio);
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
		folio = swap_folio_alloc(__func__);
		int err = swapcache_prepare(entry);
		if (err == 0)
			break;
		swap_folio_put(folio);
		if (err != -EEXIST)
			return NULL;
		/* Another task holds SWAP_HAS_CACHE and has not inserted its
		 * folio yet, or is deleting one: give it a tick. */
		SIM_MARK("__read_swap_cache_async: -EEXIST, backing off a tick");
		sim_sleep(SWAPCACHE_BACKOFF_NS);
	}
	folio_lock_new(folio);
	add_to_swap_cache(folio, entry);
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
