/*
 * swapfile.h: the swap device and its slots, as mm/swapfile.c keeps them:
 * swap_info_struct with one swap_map byte per slot, holding the number of
 * references to the slot (swap PTEs) and SWAP_HAS_CACHE while a folio for
 * the slot is in, or is being added to or removed from, the swap cache.
 * One swap device per world, on a block device (a disk or zram).  Not the
 * swap cache (swap_state.c) nor swap I/O (page_io.c).
 *
 * Slot states (swap_map[offset]):
 *
 *   free:        0
 *   cache only:  SWAP_HAS_CACHE          (just allocated by
 *                folio_alloc_swap, or the last reference went while a folio
 *                is still in the swap cache)
 *   referenced:  count in 1..SWAP_MAP_MAX, with or without SWAP_HAS_CACHE
 *
 * Transitions (all under si->lock):
 *   folio_alloc_swap      free -> cache only
 *   swap_duplicate        count + 1 (the slot must not be free)
 *   swap_free             count - 1; free when nothing is left
 *   swapcache_prepare     sets SWAP_HAS_CACHE on a referenced slot; fails
 *                         with -EEXIST when it is set already (another task
 *                         is swapping the slot in, or a folio is still being
 *                         deleted from the cache) and -ENOENT on a free slot
 *   swapcache_clear,      clear SWAP_HAS_CACHE; free when the count is 0
 *   put_swap_folio
 *
 * Invariants (swap_check_invariants asserts them):
 *  1. Offset 0 is never handed out (swp_entry_t 0 is "no entry"):
 *     swap_map[0] == SWAP_MAP_BAD.
 *  2. A count never exceeds SWAP_MAP_MAX (count continuations are not
 *     modeled: only fork and KSM make more than a few PTEs share a slot).
 *  3. inuse_pages is the number of slots that are not free.
 *  4. A folio is in the swap cache at an offset only while that slot has
 *     SWAP_HAS_CACHE: the bit is the right to insert and to remove, given by
 *     folio_alloc_swap or swapcache_prepare and returned by put_swap_folio
 *     or swapcache_clear after the folio has left the cache.
 *  5. Every write of swap_map is made under si->lock.
 *
 * Interleaving: every swap_map write ends a step (after the write, with
 * si->lock still held), and so does every lockless read (__swap_count,
 * after the read), since lockless readers are what can see a slot change
 * between their check and their use of it.  Reads under si->lock do not
 * yield: every writer holds the lock, so nothing could change them.
 *
 * Simplifications: si->lock stands for both swap_lock and the swap
 * device's own lock and cluster locks (one device; one lock gives the same
 * exclusion, and they nest in that order anyway).  The per-CPU swap slots
 * cache is not modeled: a freed slot can be handed out again at once,
 * which only makes slot-reuse races easier to reach, never hides one.
 * Swap of large folios is not modeled: reclaim splits them first.
 */
#ifndef SIM_MM_SWAPFILE_H
#define SIM_MM_SWAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/blkdev.h"
#include "mm/types.h"

/* swap_map values, as include/linux/swap.h has them. */
#define SWAP_MAP_MAX 0x3e
#define SWAP_MAP_BAD 0x3f
#define SWAP_HAS_CACHE 0x40

/* si->flags: the kernel's names; the values are the model's. */
#define SWP_USED (1ul << 0)
#define SWP_WRITEOK (1ul << 1)
#define SWP_SYNCHRONOUS_IO (1ul << 2)	/* the device completes inline */

/* swapcache_prepare's collision backoff, schedule_timeout_uninterruptible(1)
 * in __read_swap_cache_async and do_swap_page: one tick (KERNEL.md section
 * 10: 1-4 ms).  HZ=1000, as RWSEM_HANDOFF_NS in locks.h assumes. */
#define SWAPCACHE_BACKOFF_NS (1000ull * 1000)

/* Trace kinds: after blkdev.h's (64..79 are devices' and swap's). */
enum {
	TRACE_SWAP_MAP_READ = TRACE_IO_COMPLETE + 1,	/* lockless read */
	TRACE_SWAP_MAP_WRITE,				/* under si->lock */
	TRACE_SWAP_CACHE,				/* lookup, add, delete */
};

static_assert(TRACE_SWAP_CACHE < TRACE_MODEL_FIRST + 64, "within 64..79");

struct swap_info_struct {
	uint32_t id;			/* world object id */
	unsigned long flags;		/* SWP_* */
	spinlock_t lock;		/* si->lock, lock class swap_lock */
	struct block_device *bdev;
	uint32_t max;			/* slots + 1: offset 0 is the header */
	uint32_t inuse_pages;		/* invariant 3 */
	uint32_t cluster_next;		/* next-fit allocation cursor */
	uint8_t swap_map[SWAP_SLOTS_MAX];
	/* The content version (folio->data) each slot last had written to
	 * it: what a swap-in reads back, so stale data shows. */
	uint64_t slot_data[SWAP_SLOTS_MAX];
	struct address_space *swapper_space;	/* the swap cache */
};

static inline uint32_t swp_offset(swp_entry_t entry)
{
	return entry.val;
}

static inline swp_entry_t swp_entry(uint32_t offset)
{
	return (swp_entry_t){ .val = offset };
}

/* Enable swap on bdev with `slots` usable slots (1..SWAP_SLOTS_MAX - 1):
 * the world's one swap device from now on.  Sets SWP_SYNCHRONOUS_IO for a
 * synchronous device, as swapon does for QUEUE_FLAG_SYNCHRONOUS. */
struct swap_info_struct *swapon(struct arena *a, struct block_device *bdev,
				uint32_t slots);
/* Forget the swap device (a new world without swap). */
void swap_world_reset(void);

/* The swap device of entry (there is one), checking the offset. */
struct swap_info_struct *swp_swap_info(swp_entry_t entry);
/* The world's swap device, or NULL. */
struct swap_info_struct *swap_device(void);

/* Allocate a slot for folio (locked, not yet in the swap cache): returns
 * the entry with SWAP_HAS_CACHE set, or entry 0 when swap is full. */
swp_entry_t folio_alloc_swap(struct folio *folio);
/* Add a reference to a slot in use: 0, or -ENOENT for a free slot. */
int swap_duplicate(swp_entry_t entry);
/* Drop a reference.  Dropping one the slot does not have is reported as a
 * refcount_underflow finding ("swap_free: Unused swap offset entry"). */
void swap_free(swp_entry_t entry);
/* The reference count (without SWAP_HAS_CACHE): a lockless read. */
int __swap_count(swp_entry_t entry);
/* Take SWAP_HAS_CACHE: 0, -EEXIST if set already, -ENOENT if free. */
int swapcache_prepare(swp_entry_t entry);
/* Return SWAP_HAS_CACHE taken by swapcache_prepare without adding a folio
 * to the cache (do_swap_page's skip-swapcache path). */
void swapcache_clear(struct swap_info_struct *si, swp_entry_t entry);
/* Return SWAP_HAS_CACHE after folio left the swap cache (or was never
 * added). */
void put_swap_folio(struct folio *folio, swp_entry_t entry);
/* try_to_free_swap: if folio (locked) is in the swap cache, not under
 * writeback, and no PTE references its slot, delete it from the swap cache
 * and free the slot; it is dirty afterwards, its only copy now in memory. */
bool folio_free_swap(struct folio *folio);

void swap_check_invariants(const struct swap_info_struct *si);

#endif /* SIM_MM_SWAPFILE_H */
