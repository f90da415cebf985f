/*
 * test_swap_state.c: the swap cache of mm/swap_state.c and swap I/O of
 * mm/page_io.c, on zram and on an NVMe disk.  Tasks add, look up and
 * delete folios and swap them in and out, recording what they see; the
 * checks run after each run.  Checks the references the cache holds and
 * that lookups take; folio_free_swap's conditions; that two faults racing
 * to swap in one entry from a disk share one folio and one read in every
 * schedule, the loser either finding the folio in the cache or backing off
 * a tick on -EEXIST (both paths are reached); that a lookup racing with
 * the folio's deletion and freeing retries and never returns a freed or
 * moved folio (both retry paths are reached); that swapping in a slot
 * freed meanwhile gives nothing; that a zram swap-in completes inline,
 * including do_swap_page's skip-swapcache sequence; and that what
 * swap_writepage writes is what a later swap-in reads.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mm/page_io.h"
#include "mm/pagemap.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"
#include "mm/vmstat.h"
#include "mm/world.h"
#include "mm/zram.h"
#include "tests/support.h"

static char failed[256];
#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond) && !failed[0])                                   \
			snprintf(failed, sizeof(failed), "line %d: %s",      \
				 __LINE__, #cond);                           \
	} while (0)

static struct swap_info_struct *si;
static bool on_disk;
static void (*body)(void);
static uint32_t freed;

static void on_folio_freed(void *ctx, struct folio *folio)
{
	(void)ctx;
	(void)folio;
	freed++;
}

static struct vmstat_hooks freed_hook = { .ctx = &freed,
					  .folio_freed = on_folio_freed };

static void task_body(void *arg)
{
	(void)arg;
	body();
}

static struct block_device *make_device(struct engine *e)
{
	struct latency_spec lat;
	uint32_t depth;

	if (!on_disk)
		return zram_create(&e->arena, "zram0", ZRAM_COMP_LZ4, NULL,
				   NULL);
	disk_preset_get(DISK_PRESET_NVME, &lat, &depth);
	return blkdev_create_disk(&e->arena, "nvme0", &lat, &lat, depth);
}

/* A world of the swap device alone: the folio pool, no mm contents. */
static void world_begin(struct engine *e)
{
	struct kernel_knobs k = kernel_knobs_default();

	mm_world_reset();
	mm_world_create(e, &k);
}

static void build_one(struct engine *e, void *arg)
{
	(void)arg;
	world_begin(e);
	failed[0] = '\0';
	freed = 0;
	si = swapon(&e->arena, make_device(e), 16);
	mm_task_create(e, "t", 0, task_body, NULL);
}

static struct engine *run_body(void (*fn)(void), bool disk)
{
	struct engine *e = test_engine(2);

	vmstat_hooks_unsubscribe(&freed);
	cr_assert(vmstat_hooks_subscribe(&freed_hook));
	body = fn;
	on_disk = disk;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_one, NULL), RUN_OK);
	cr_assert(failed[0] == '\0', "%s", failed);
	cr_assert_eq(e->findings_count, 0, "%s", e->findings[0].summary);
	swap_check_invariants(si);
	return e;
}

/* ------------------------------------------------- references and removal */

static void refs_body(void)
{
	struct folio *f = folio_alloc(0);
	struct address_space *space;

	folio_set(f, PG_anon);
	folio_lock_new(f);
	folio_set(f, PG_uptodate);
	CHECK(f->refcount == 1);
	CHECK(add_to_swap(f));
	swp_entry_t e = f->swap;
	space = swap_address_space(e);
	CHECK(e.val == 1);
	CHECK(folio_test(f, PG_swapcache) && folio_test(f, PG_dirty));
	CHECK(f->refcount == 2);		/* ours and the cache's */
	CHECK(space->nrpages == 1);
	CHECK(si->swap_map[1] == SWAP_HAS_CACHE);

	struct folio *g = swap_cache_get_folio(e);
	CHECK(g == f);
	CHECK(f->refcount == 3);		/* the lookup's */
	folio_put(g);
	CHECK(f->refcount == 2);

	CHECK(swap_duplicate(e) == 0);		/* a swap PTE */
	CHECK(!folio_free_swap(f));		/* still referenced */
	swap_free(e);				/* the PTE is gone */
	CHECK(si->swap_map[1] == SWAP_HAS_CACHE);
	folio_clear(f, PG_dirty);
	CHECK(folio_free_swap(f));
	CHECK(!folio_test(f, PG_swapcache) && f->swap.val == 0);
	CHECK(folio_test(f, PG_dirty));		/* only copy in memory */
	CHECK(f->refcount == 1);
	CHECK(space->nrpages == 0);
	CHECK(si->swap_map[1] == 0 && si->inuse_pages == 0);
	CHECK(swap_cache_get_folio(e) == NULL);
	CHECK(!folio_free_swap(f));		/* not in the cache */
	folio_unlock(f);
	CHECK(freed == 0);
	folio_put(f);
	CHECK(f->freed && freed == 1);
}

Test(swap_state, cache_references_and_folio_free_swap)
{
	struct engine *e = run_body(refs_body, false);
	test_engine_done(e);
}

/* --------------------------------------------- two faults, one disk entry */

static struct folio *got[2];
static uint64_t end_ns[2];
static uint64_t got_data[2];

static void swapin_task(void *arg)
{
	int i = (int)(uintptr_t)arg;
	struct folio *f = swapin_readahead(swp_entry(1));

	CHECK(f != NULL);
	if (!f)
		return;
	folio_lock(f);			/* waits while the read is in flight */
	CHECK(folio_test(f, PG_uptodate));
	CHECK(folio_test(f, PG_swapcache) && f->swap.val == 1);
	got_data[i] = f->data;
	folio_unlock(f);
	got[i] = f;
	end_ns[i] = sim_now();
	folio_put(f);
}

static void build_race(struct engine *e, void *arg)
{
	(void)arg;
	world_begin(e);
	failed[0] = '\0';
	si = swapon(&e->arena, make_device(e), 16);
	si->swap_map[1] = 1;		/* one swap PTE refers to slot 1 */
	si->inuse_pages = 1;
	si->slot_data[1] = 77;		/* what was swapped out */
	got[0] = got[1] = NULL;
	mm_task_create(e, "fault0", 0, swapin_task, (void *)0);
	mm_task_create(e, "fault1", 1, swapin_task, (void *)1);
}

Test(swap_state, racing_swapins_share_one_folio_and_one_read)
{
	struct engine *e = test_engine(2);
	uint32_t backed_off = 0, cache_hit = 0;

	on_disk = true;
	for (uint64_t seed = 1; seed <= 1000; seed++) {
		sim_marks_reset();
		enum strategy_kind k = seed % 4 ? STRATEGY_RANDOM
						: STRATEGY_TIMED;
		cr_assert_eq(test_run(e, k, seed, build_race, NULL), RUN_OK);
		cr_assert(failed[0] == '\0', "seed %llu: %s",
			  (unsigned long long)seed, failed);
		cr_assert_eq(e->findings_count, 0);
		cr_assert(got[0] != NULL && got[0] == got[1],
			  "seed %llu: one folio for both",
			  (unsigned long long)seed);
		cr_assert(got_data[0] == 77 && got_data[1] == 77);
		cr_assert_eq(vm_events(IO_SUBMITTED), 1, "one read");
		cr_assert_eq(vm_events(PSWPIN), 1);
		/* Afterwards only the cache holds the folio. */
		cr_assert_eq(got[0]->refcount, 1);
		cr_assert_eq(si->swap_map[1], 1 | SWAP_HAS_CACHE);
		swap_check_invariants(si);
		if (sim_mark_hits("__read_swap_cache_async: -EEXIST, backing off a tick")) {
			backed_off++;
			/* The loser slept a tick before finding the folio. */
			uint64_t last = end_ns[0] > end_ns[1] ? end_ns[0]
							      : end_ns[1];
			cr_assert_geq(last, SWAPCACHE_BACKOFF_NS);
		} else {
			cache_hit++;
		}
		engine_end(e);
	}
	fprintf(stderr, "racing swap-ins: %u of 1000 schedules backed off on -EEXIST, %u found the folio cached\n",
		backed_off, cache_hit);
	cr_assert_gt(backed_off, 0, "the -EEXIST path is reached");
	cr_assert_gt(cache_hit, 0, "the cache-hit path is reached");
	test_engine_done(e);
}

/* ------------------------------------------ lookup racing with deletion */

static struct folio *victim;
static struct folio *looked_up;
static bool victim_was_freed_when_returned;

static void lookup_task(void *arg)
{
	(void)arg;
	looked_up = swap_cache_get_folio(swp_entry(1));
	if (looked_up) {
		victim_was_freed_when_returned = looked_up->freed;
		CHECK(looked_up->refcount >= 1);
		folio_put(looked_up);
	}
}

/* Reclaim's side: it takes a reference (isolating the folio from the
 * LRU), removes the folio from the cache and frees it. */
static void delete_task(void *arg)
{
	(void)arg;
	folio_get(victim);
	folio_lock(victim);
	delete_from_swap_cache(victim);
	folio_unlock(victim);
	folio_put(victim);
}

static void build_lookup_race(struct engine *e, void *arg)
{
	(void)arg;
	world_begin(e);
	failed[0] = '\0';
	freed = 0;
	si = swapon(&e->arena, make_device(e), 16);
	/* Slot 1 cached, no PTE left: as reclaim finds it.  Built before any
	 * task runs, so the allocation's reference is the cache's. */
	victim = folio_alloc(0);
	folio_set(victim, PG_anon);
	folio_set(victim, PG_uptodate);
	folio_set(victim, PG_swapcache);
	victim->swap = swp_entry(1);
	si->swap_map[1] = SWAP_HAS_CACHE;
	si->inuse_pages = 1;
	xa_slot_store(si->swapper_space, 1)->folio = victim;
	si->swapper_space->nrpages = 1;
	looked_up = NULL;
	victim_was_freed_when_returned = false;
	mm_task_create(e, "fault", 0, lookup_task, NULL);
	mm_task_create(e, "reclaim", 1, delete_task, NULL);
}

Test(swap_state, lookup_racing_with_deletion_retries)
{
	struct engine *e = test_engine(2);
	uint64_t freed_under = 0, moved_under = 0, found = 0;

	vmstat_hooks_unsubscribe(&freed);
	cr_assert(vmstat_hooks_subscribe(&freed_hook));
	on_disk = false;
	sim_marks_reset();
	for (uint64_t seed = 1; seed <= 1000; seed++) {
		cr_assert_eq(test_run(e, STRATEGY_RANDOM, seed,
				      build_lookup_race, NULL),
			     RUN_OK);
		cr_assert(failed[0] == '\0', "seed %llu: %s",
			  (unsigned long long)seed, failed);
		cr_assert_eq(e->findings_count, 0);
		cr_assert(!victim_was_freed_when_returned);
		cr_assert_eq(freed, 1, "freed exactly once");
		cr_assert(victim->freed && victim->refcount == 0);
		cr_assert_eq(si->swap_map[1], 0);
		found += looked_up != NULL;
		swap_check_invariants(si);
		engine_end(e);
	}
	freed_under = sim_mark_hits("swap_cache_get_folio: folio freed under lookup");
	moved_under = sim_mark_hits("swap_cache_get_folio: slot changed under lookup");
	fprintf(stderr, "lookup vs deletion, 1000 schedules: found %llu, retried on a freed folio %llu, on a moved one %llu times\n",
		(unsigned long long)found, (unsigned long long)freed_under,
		(unsigned long long)moved_under);
	cr_assert_gt(freed_under, 0);
	cr_assert_gt(moved_under, 0);
	cr_assert_gt(found, 0);
	test_engine_done(e);
}

/* ------------------------------------------------------- zram swap-ins */

static void zram_body(void)
{
	struct task *t = sim_current();

	/* Through the swap cache: the read completes inside. */
	uint64_t steps = t->steps;
	struct folio *f = swapin_readahead(swp_entry(1));
	CHECK(f != NULL);
	CHECK(!folio_test_locked(f) && folio_test(f, PG_uptodate));
	CHECK(f->data == 77);
	CHECK(vm_events(PSWPIN) == 1);
	CHECK(t->steps > steps);	/* lookups and the cache insert yield */
	folio_put(f);

	/* do_swap_page's skip-swapcache sequence on slot 2 (count 1). */
	struct folio *g = folio_alloc(0);
	folio_set(g, PG_anon);
	folio_lock_new(g);
	CHECK(swapcache_prepare(swp_entry(2)) == 0);
	g->swap = swp_entry(2);
	swap_read_folio(g);
	CHECK(folio_test(g, PG_uptodate) && !folio_test_locked(g));
	CHECK(g->data == 88);
	CHECK(!folio_test(g, PG_swapcache));
	swap_free(swp_entry(2));		/* the PTE now maps g */
	CHECK(si->swap_map[2] == SWAP_HAS_CACHE);
	swapcache_clear(si, swp_entry(2));
	CHECK(si->swap_map[2] == 0);
	g->swap.val = 0;
	folio_put(g);

	/* Slot 3 is free: the PTE that named it is stale. */
	CHECK(swapin_readahead(swp_entry(3)) == NULL);
}

static uint32_t blocks;

static void on_block(void *ctx, struct task *t, struct waitq *wq)
{
	(void)ctx;
	(void)t;
	(void)wq;
	blocks++;
}

static struct engine_hooks block_hook = { .ctx = &blocks, .block = on_block };

static void build_zram(struct engine *e, void *arg)
{
	build_one(e, arg);
	si->swap_map[1] = 1;
	si->swap_map[2] = 1;
	si->inuse_pages = 2;
	si->slot_data[1] = 77;
	si->slot_data[2] = 88;
	blocks = 0;
}

Test(swap_state, zram_swapin_completes_inline)
{
	struct engine *e = test_engine(1);

	body = zram_body;
	on_disk = false;
	cr_assert(engine_subscribe(e, &block_hook));
	sim_marks_reset();
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 3, build_zram, NULL), RUN_OK);
	cr_assert_eq(sim_mark_hits("__read_swap_cache_async: slot no longer used"),
		     1);
	cr_assert(failed[0] == '\0', "%s", failed);
	cr_assert_eq(blocks, 0, "a zram swap-in never sleeps");
	cr_assert_eq(vm_events(PSWPIN), 2);
	cr_assert(si->flags & SWP_SYNCHRONOUS_IO);
	swap_check_invariants(si);
	engine_unsubscribe(e, &blocks);
	test_engine_done(e);
}

/* --------------------------------------------------- out and back in */

static void roundtrip_body(void)
{
	struct folio *f = folio_alloc(0);

	folio_set(f, PG_anon);
	folio_lock_new(f);
	folio_set(f, PG_uptodate);
	f->data = 5;
	CHECK(add_to_swap(f));
	swp_entry_t e = f->swap;
	CHECK(swap_duplicate(e) == 0);		/* try_to_unmap's swap PTE */
	folio_clear(f, PG_dirty);		/* folio_clear_dirty_for_io */
	swap_writepage(f);
	CHECK(!folio_test_locked(f));
	CHECK(folio_test(f, PG_writeback));
	CHECK(si->slot_data[e.val] == 0);	/* not written yet */
	folio_wait_writeback(f);
	CHECK(si->slot_data[e.val] == 5);
	/* Reclaim frees it: out of the cache, last reference dropped. */
	folio_lock(f);
	delete_from_swap_cache(f);
	folio_unlock(f);
	uint32_t f_id = f->id;
	folio_put(f);
	CHECK(f->freed);
	CHECK(si->swap_map[e.val] == 1);

	/* The pool may hand the same struct out again: a new folio is a new
	 * object id. */
	uint64_t t0 = sim_now();
	struct folio *g = swapin_readahead(e);
	CHECK(g != NULL && g->id != f_id);
	folio_lock(g);
	CHECK(sim_now() - t0 >= 20000);		/* waited for the disk */
	CHECK(g->data == 5);
	folio_unlock(g);
	folio_put(g);
	CHECK(g->refcount == 1);		/* the cache's */
}

Test(swap_state, written_contents_are_read_back)
{
	struct engine *e = run_body(roundtrip_body, true);
	cr_assert_eq(vm_events(PSWPOUT), 1);
	cr_assert_eq(vm_events(PSWPIN), 1);
	cr_assert_eq(vm_events(IO_SUBMITTED), 2);
	cr_assert_eq(vm_events(IO_COMPLETED), 2);
	test_engine_done(e);
}
