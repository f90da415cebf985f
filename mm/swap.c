/*
 * swap.c: the LRU, as mm/swap.c feeds it (folio_add_lru).  One list in
 * age order: a folio's place is folio->lru_seq while PG_lru is set, the
 * smallest sequence the oldest.  Reclaim (vmscan.c) isolates from the old
 * end and puts back at the young end.  Not reclaim itself, and not the
 * swap device (swapfile.c), whatever the kernel file's name suggests.
 *
 * Simplified: one list for anonymous and file folios, no active and
 * inactive halves, no generations (MGLRU), no per-memcg or per-node
 * lists.  What reclaim races with is the folio it holds, not the list it
 * came from: the order only decides which folios a scan picks, and the
 * scenario can name those directly.  Adding is the per-CPU batch and its
 * drain under lru_lock in one: a folio is on the LRU from the moment it
 * is added, as it would be right after lru_add_drain.
 *
 * LRU membership (PG_lru), and invariants:
 *   not on the LRU --folio_add_lru--> on the LRU --isolation (vmscan.c)-->
 *   isolated --putback--> on the LRU; freeing clears PG_lru.
 *  1. lru_seq is unique among folios on the LRU and increases with every
 *     add or putback (folio_add_lru hands out mm_world->lru_seq_next).
 *  2. Device-private (ZONE_DEVICE) folios are never on the LRU.  THPs
 *     are, as in the kernel, but reclaim skips them (vmscan.c): it would
 *     split them first, which is not modeled.
 */
#include "mm/internal.h"

void folio_add_lru(struct folio *folio)
{
	struct mm_world *w = mm_world;

	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(!folio_test(folio, PG_lru));
	if (folio_test(folio, PG_device))
		return;		/* ZONE_DEVICE memory is never on an LRU */
	sim_cost(COST_LRU_ADD_NS);
	folio_set(folio, PG_lru);
	folio->lru_seq = ++w->lru_seq_next;			/* 1 */
}
