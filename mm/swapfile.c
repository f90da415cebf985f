/*
 * swapfile.c: the swap device, its slot allocator and the swap_map counts
 * (see swapfile.h for the slot states and invariants).  Not the swap cache
 * (swap_state.c) nor swap I/O (page_io.c).
 */
#include <errno.h>
#include <stdio.h>

#include "mm/internal.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"

/* The world's one swap device (the kernel's swap_info[0]); in the arena,
 * set by swapon and forgotten by swap_world_reset. */
static struct swap_info_struct *swap_info_one;

struct swap_info_struct *swapon(struct arena *a, struct block_device *bdev,
				uint32_t slots)
{
	struct swap_info_struct *si = arena_new(a, struct swap_info_struct);

	SIM_ASSERT(bdev != NULL);
	SIM_ASSERT(slots >= 1 && slots < SWAP_SLOTS_MAX);
	si->id = mm_obj_id();
	spin_lock_init(&si->lock, LC_SWAP_LOCK, si->id);
	si->bdev = bdev;
	si->flags = SWP_USED | SWP_WRITEOK;
	if (bdev->synchronous)
		si->flags |= SWP_SYNCHRONOUS_IO;
	si->max = slots + 1;
	si->swap_map[0] = SWAP_MAP_BAD;		/* invariant 1 */
	si->inuse_pages = 0;
	si->cluster_next = 1;
	swap_cache_init(a, si);
	swap_info_one = si;
	return si;
}

void swap_world_reset(void)
{
	/* Never in the middle of a run: the device lives as long as its
	 * world. */
	SIM_ASSERT(sim == NULL || !sim->in_run);
	swap_info_one = NULL;
}

struct swap_info_struct *swap_device(void)
{
	return swap_info_one;
}

struct swap_info_struct *swp_swap_info(swp_entry_t entry)
{
	struct swap_info_struct *si = swap_info_one;

	SIM_ASSERT(si != NULL);
	SIM_ASSERT(swp_offset(entry) >= 1 && swp_offset(entry) < si->max);
	return si;
}

/* Write a slot's swap_map byte (invariant 5), keep inuse_pages (invariant
 * 3), and end the step: lockless readers may look now. */
static void swap_map_set(struct swap_info_struct *si, uint32_t offset,
			 uint8_t usage)
{
	uint8_t old = si->swap_map[offset];

	SIM_ASSERT(lock_is_held_by(sim_current(), &si->lock.c, LOCK_WRITE));
	SIM_ASSERT((usage & ~SWAP_HAS_CACHE) <= SWAP_MAP_MAX);	/* inv. 2 */
	if (old == 0 && usage != 0)
		si->inuse_pages++;
	if (old != 0 && usage == 0) {
		SIM_ASSERT(si->inuse_pages > 0);
		si->inuse_pages--;
	}
	si->swap_map[offset] = usage;
	sim_yield(TRACE_SWAP_MAP_WRITE, offset);
}

swp_entry_t folio_alloc_swap(struct folio *folio)
{
	struct swap_info_struct *si = swap_info_one;
	swp_entry_t entry = { 0 };

	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(!folio_test(folio, PG_swapcache));
	/* Large folios are split by reclaim before they get here. */
	SIM_ASSERT(folio->order == 0);
	if (!si || !(si->flags & SWP_WRITEOK))
		return entry;
	spin_lock(&si->lock);
	/* Next fit from the cursor: scan_swap_map_slots without clusters. */
	uint32_t slots = si->max - 1;
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t offset = 1 + (si->cluster_next - 1 + i) % slots;
		if (si->swap_map[offset] != 0)
			continue;
		swap_map_set(si, offset, SWAP_HAS_CACHE);
		si->cluster_next = offset % slots + 1;
		entry = swp_entry(offset);
		break;
	}
	if (!entry.val)
		SIM_MARK("folio_alloc_swap: swap is full");
	spin_unlock(&si->lock);
	return entry;
}

int swap_duplicate(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	uint32_t offset = swp_offset(entry);
	int err = 0;

	spin_lock(&si->lock);
	uint8_t has_cache = si->swap_map[offset] & SWAP_HAS_CACHE;
	uint8_t count = si->swap_map[offset] & ~SWAP_HAS_CACHE;
	SIM_ASSERT(count != SWAP_MAP_BAD);
	if (count == 0 && !has_cache) {
		err = -ENOENT;
	} else {
		/* Invariant 2: no continuations. */
		SIM_ASSERT(count < SWAP_MAP_MAX);
		swap_map_set(si, offset, (uint8_t)((count + 1) | has_cache));
	}
	spin_unlock(&si->lock);
	return err;
}

/* __swap_entry_free_locked: drop one reference (usage 1) or the cache bit
 * (usage SWAP_HAS_CACHE); the slot is free when nothing is left.  Returns
 * what is left. */
static uint8_t swap_entry_put_locked(struct swap_info_struct *si,
				     uint32_t offset, uint8_t usage)
{
	uint8_t has_cache = si->swap_map[offset] & SWAP_HAS_CACHE;
	uint8_t count = si->swap_map[offset] & ~SWAP_HAS_CACHE;

	SIM_ASSERT(usage == 1 || usage == SWAP_HAS_CACHE);
	if (usage == SWAP_HAS_CACHE) {
		SIM_ASSERT(has_cache);
		has_cache = 0;
	} else {
		SIM_ASSERT(count > 0);
		count--;
	}
	uint8_t left = (uint8_t)(count | has_cache);
	swap_map_set(si, offset, left);
	return left;
}

void swap_free(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	uint32_t offset = swp_offset(entry);

	SIM_ASSERT(sim_current() != NULL);
	spin_lock(&si->lock);
	SIM_ASSERT((si->swap_map[offset] & ~SWAP_HAS_CACHE) <= SWAP_MAP_MAX);
	if ((si->swap_map[offset] & ~SWAP_HAS_CACHE) == 0) {
		sim_report("refcount_underflow",
			   sim_signature("swap_free:unused"),
			   "{\"function\":\"swap_free\"}",
			   "swap_free: Unused swap offset entry %u", offset);
		spin_unlock(&si->lock);
		return;
	}
	swap_entry_put_locked(si, offset, 1);
	spin_unlock(&si->lock);
}

int __swap_count(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	uint32_t offset = swp_offset(entry);

	SIM_ASSERT(sim_current() != NULL);
	/* READ_ONCE without the lock: the value may be stale by the time the
	 * caller acts on it, which the yield lets happen. */
	int count = si->swap_map[offset] & ~SWAP_HAS_CACHE;
	SIM_ASSERT(count <= SWAP_MAP_MAX);
	sim_yield(TRACE_SWAP_MAP_READ, offset);
	return count;
}

int swapcache_prepare(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	uint32_t offset = swp_offset(entry);
	int err = 0;

	SIM_ASSERT(sim_current() != NULL);
	spin_lock(&si->lock);
	uint8_t has_cache = si->swap_map[offset] & SWAP_HAS_CACHE;
	uint8_t count = si->swap_map[offset] & ~SWAP_HAS_CACHE;
	SIM_ASSERT(count <= SWAP_MAP_MAX);
	if (has_cache) {
		SIM_MARK("swapcache_prepare: -EEXIST");
		err = -EEXIST;
	} else if (count == 0) {
		SIM_MARK("swapcache_prepare: -ENOENT");
		err = -ENOENT;
	} else {
		swap_map_set(si, offset, (uint8_t)(count | SWAP_HAS_CACHE));
	}
	spin_unlock(&si->lock);
	return err;
}

void swapcache_clear(struct swap_info_struct *si, swp_entry_t entry)
{
	uint32_t offset = swp_offset(entry);

	SIM_ASSERT(si == swp_swap_info(entry));
	/* Only the holder of the bit clears it, and never with a folio in
	 * the cache (invariant 4). */
	SIM_ASSERT(xa_slot_load(si->swapper_space, offset)->folio == NULL);
	spin_lock(&si->lock);
	swap_entry_put_locked(si, offset, SWAP_HAS_CACHE);
	spin_unlock(&si->lock);
}

void put_swap_folio(struct folio *folio, swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);

	SIM_ASSERT(folio->order == 0);
	SIM_ASSERT(!folio_test(folio, PG_swapcache));
	swapcache_clear(si, entry);
}

bool folio_free_swap(struct folio *folio)
{
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio->lock_owner == sim_current());
	if (!folio_test(folio, PG_swapcache))
		return false;
	if (folio_test(folio, PG_writeback))
		return false;
	/* folio_swapped: a PTE still refers to the slot. */
	if (__swap_count(folio->swap) > 0)
		return false;
	delete_from_swap_cache(folio);
	folio_set(folio, PG_dirty);
	return true;
}

bool vm_swap_full(void)
{
	const struct swap_info_struct *si = swap_info_one;

	SIM_ASSERT(si != NULL);
	SIM_ASSERT(si->inuse_pages < si->max);
	return si->inuse_pages * 2 > si->max - 1;
}

/* __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL). */
static void try_to_reclaim_swap(swp_entry_t entry)
{
	struct folio *folio = swap_cache_get_folio(entry);

	SIM_ASSERT(entry.val != 0);
	if (!folio)
		return;
	/* Only a trylock: the caller holds a PTE lock. */
	if (folio_trylock(folio)) {
		if ((folio->mapcount == 0 || vm_swap_full()) &&
		    folio_free_swap(folio))
			SIM_MARK("free_swap_and_cache: freed the cached folio");
		folio_unlock(folio);
	} else {
		SIM_MARK("free_swap_and_cache: cached folio busy, left cached");
	}
	SIM_ASSERT(!folio->freed);
	folio_put(folio);
}

void free_swap_and_cache(swp_entry_t entry)
{
	struct swap_info_struct *si = swp_swap_info(entry);
	uint32_t offset = swp_offset(entry);

	SIM_ASSERT(sim_current() != NULL);
	/* zap holds the PTE lock of the entry it clears. */
	SIM_ASSERT(sim_current()->preempt_count > 0);
	spin_lock(&si->lock);
	if ((si->swap_map[offset] & ~SWAP_HAS_CACHE) == 0) {
		sim_report("refcount_underflow",
			   sim_signature("free_swap_and_cache:unused"),
			   "{\"function\":\"free_swap_and_cache\"}",
			   "free_swap_and_cache: Unused swap offset entry %u",
			   offset);
		spin_unlock(&si->lock);
		return;
	}
	uint8_t left = swap_entry_put_locked(si, offset, 1);
	spin_unlock(&si->lock);
	if (left == SWAP_HAS_CACHE)
		try_to_reclaim_swap(entry);
}

swp_entry_t swap_slot_build(uint64_t data)
{
	struct swap_info_struct *si = swap_info_one;

	SIM_ASSERT(si != NULL);
	SIM_ASSERT(sim == NULL || !sim->in_run);
	for (uint32_t offset = si->cluster_next; offset < si->max; offset++) {
		if (si->swap_map[offset] != 0)
			continue;
		si->swap_map[offset] = 1;
		si->inuse_pages++;
		si->slot_data[offset] = data;
		/* As folio_alloc_swap leaves the next-fit cursor. */
		si->cluster_next = offset % (si->max - 1) + 1;
		return swp_entry(offset);
	}
	return swp_entry(0);
}

void swap_check_invariants(const struct swap_info_struct *si)
{
	uint32_t inuse = 0;

	SIM_ASSERT(si->max >= 2 && si->max <= SWAP_SLOTS_MAX);
	SIM_ASSERT(si->swap_map[0] == SWAP_MAP_BAD);		/* 1 */
	for (uint32_t o = 1; o < si->max; o++) {
		uint8_t v = si->swap_map[o];
		SIM_ASSERT((v & ~SWAP_HAS_CACHE) <= SWAP_MAP_MAX);	/* 2 */
		inuse += v != 0;
		const struct folio *f = xa_slot_load(si->swapper_space, o)->folio;
		if (!f)
			continue;
		SIM_ASSERT(v & SWAP_HAS_CACHE);				/* 4 */
		SIM_ASSERT(folio_test(f, PG_swapcache));
		SIM_ASSERT(f->swap.val == o);
		SIM_ASSERT(f->refcount >= 1);
	}
	SIM_ASSERT(inuse == si->inuse_pages);				/* 3 */
}

__attribute__((constructor)) static void swap_register_trace_kinds(void)
{
	trace_kind_register(TRACE_SWAP_MAP_READ, "swap_map_read");
	trace_kind_register(TRACE_SWAP_MAP_WRITE, "swap_map_write");
	trace_kind_register(TRACE_SWAP_CACHE, "swap_cache");
}
