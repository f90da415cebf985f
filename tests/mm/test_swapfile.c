/*
 * test_swapfile.c: the swap slots of mm/swapfile.c.  Tasks allocate,
 * reference and release slots on a small swap device and record what they
 * see; the checks run after the run.  Checks next-fit allocation and a full
 * device; swap_duplicate / swap_free counts and when a slot is freed;
 * swapcache_prepare's answers (0, -EEXIST while another holds
 * SWAP_HAS_CACHE, -ENOENT on a free slot) and swapcache_clear; that of two
 * tasks racing to take SWAP_HAS_CACHE for one entry exactly one wins in
 * every schedule (what the skip-swapcache path relies on); and that
 * freeing a slot that has no reference is reported as a refcount_underflow
 * finding.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mm/pagemap.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"
#include "mm/world.h"
#include "mm/zram.h"
#include "tests/support.h"

/* The first failed check inside a task, reported after the run. */
static char failed[256];
#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond) && !failed[0])                                   \
			snprintf(failed, sizeof(failed), "line %d: %s",      \
				 __LINE__, #cond);                           \
	} while (0)

static struct swap_info_struct *si;
static uint32_t slots;
static void (*body)(void);

static void task_body(void *arg)
{
	(void)arg;
	body();
}

static void build_swap(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	failed[0] = '\0';
	struct block_device *z = zram_create(&e->arena, "zram0",
					     ZRAM_COMP_LZ4, NULL, NULL);
	si = swapon(&e->arena, z, slots);
	mm_task_create(e, "t", 0, task_body, NULL);
}

static struct engine *run_body(void (*fn)(void), uint32_t nslots)
{
	struct engine *e = test_engine(2);

	body = fn;
	slots = nslots;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_swap, NULL), RUN_OK);
	cr_assert(failed[0] == '\0', "%s", failed);
	swap_check_invariants(si);
	return e;
}

static struct folio *new_locked_folio(void)
{
	struct folio *f = swap_folio_alloc(__func__);
	folio_lock_new(f);
	return f;
}

static void drop_folio(struct folio *f)
{
	folio_unlock(f);
	swap_folio_put(f);
}

/* ------------------------------------------------------------ allocation */

static void allocation_body(void)
{
	struct folio *f[6];
	swp_entry_t e[6];

	CHECK(si->flags & SWP_SYNCHRONOUS_IO);
	for (int i = 0; i < 4; i++) {
		f[i] = new_locked_folio();
		e[i] = folio_alloc_swap(f[i]);
		CHECK(e[i].val == (uint32_t)i + 1);
		CHECK(si->swap_map[e[i].val] == SWAP_HAS_CACHE);
	}
	CHECK(si->inuse_pages == 4);
	f[4] = new_locked_folio();
	CHECK(folio_alloc_swap(f[4]).val == 0);		/* full */
	put_swap_folio(f[1], e[1]);
	CHECK(si->swap_map[2] == 0);
	CHECK(si->inuse_pages == 3);
	/* Next fit: the cursor wrapped to 1, which is taken; 2 is free. */
	e[4] = folio_alloc_swap(f[4]);
	CHECK(e[4].val == 2);
	for (int i = 0; i < 5; i++) {
		if (i != 1)
			put_swap_folio(f[i], e[i]);
		drop_folio(f[i]);
	}
	CHECK(si->inuse_pages == 0);
}

Test(swapfile, allocation_next_fit_and_full)
{
	sim_marks_reset();
	struct engine *e = run_body(allocation_body, 4);
	cr_assert_eq(sim_mark_hits("folio_alloc_swap: swap is full"), 1);
	cr_assert_eq(e->findings_count, 0);
	test_engine_done(e);
}

/* ---------------------------------------------------------------- counts */

static void counts_body(void)
{
	struct folio *f = new_locked_folio();
	swp_entry_t e = folio_alloc_swap(f);

	CHECK(e.val == 1);
	CHECK(__swap_count(e) == 0);
	CHECK(swap_duplicate(e) == 0);		/* try_to_unmap: a swap PTE */
	CHECK(si->swap_map[1] == (1 | SWAP_HAS_CACHE));
	CHECK(swap_duplicate(e) == 0);		/* a second PTE */
	CHECK(__swap_count(e) == 2);
	put_swap_folio(f, e);			/* the folio left the cache */
	CHECK(si->swap_map[1] == 2);
	CHECK(si->inuse_pages == 1);
	swap_free(e);
	CHECK(si->swap_map[1] == 1);
	swap_free(e);
	CHECK(si->swap_map[1] == 0);		/* free */
	CHECK(si->inuse_pages == 0);
	CHECK(swap_duplicate(e) == -ENOENT);
	swap_free(e);				/* underflow: a finding */
	CHECK(si->swap_map[1] == 0);
	drop_folio(f);
}

Test(swapfile, duplicate_free_counts)
{
	struct engine *e = run_body(counts_body, 8);
	cr_assert_eq(e->findings_count, 1);
	cr_assert_str_eq(e->findings[0].kind, "refcount_underflow");
	cr_assert(strstr(e->findings[0].summary,
			 "swap_free: Unused swap offset entry 1"),
		  "%s", e->findings[0].summary);
	test_engine_done(e);
}

/* ----------------------------------------------------- swapcache_prepare */

static void prepare_body(void)
{
	/* As after swap-out: one swap PTE, the folio reclaimed. */
	struct folio *f = new_locked_folio();
	swp_entry_t e = folio_alloc_swap(f);
	CHECK(e.val == 1);
	CHECK(swap_duplicate(e) == 0);
	put_swap_folio(f, e);
	drop_folio(f);
	CHECK(si->swap_map[1] == 1);

	CHECK(swapcache_prepare(e) == 0);
	CHECK(si->swap_map[1] == (1 | SWAP_HAS_CACHE));
	CHECK(swapcache_prepare(e) == -EEXIST);	/* already being swapped in */
	swapcache_clear(si, e);
	CHECK(si->swap_map[1] == 1);
	swap_free(e);
	CHECK(si->swap_map[1] == 0);
	CHECK(swapcache_prepare(e) == -ENOENT);	/* free slot */
	CHECK(si->inuse_pages == 0);
}

Test(swapfile, swapcache_prepare_answers)
{
	sim_marks_reset();
	struct engine *e = run_body(prepare_body, 8);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(sim_mark_hits("swapcache_prepare: -EEXIST"), 1);
	cr_assert_eq(sim_mark_hits("swapcache_prepare: -ENOENT"), 1);
	test_engine_done(e);
}

/* Two faults skip the swap cache for one entry (zram, count 1): each takes
 * SWAP_HAS_CACHE with swapcache_prepare before reading.  Exactly one may
 * win, whatever the interleaving. */
static int prep_result[2];

static void racer(void *arg)
{
	int i = (int)(uintptr_t)arg;

	prep_result[i] = swapcache_prepare(swp_entry(1));
}

static void build_race(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	struct block_device *z = zram_create(&e->arena, "zram0",
					     ZRAM_COMP_LZ4, NULL, NULL);
	si = swapon(&e->arena, z, 8);
	si->swap_map[1] = 1;		/* one swap PTE refers to slot 1 */
	si->inuse_pages = 1;
	prep_result[0] = prep_result[1] = 1;
	mm_task_create(e, "fault0", 0, racer, (void *)0);
	mm_task_create(e, "fault1", 1, racer, (void *)1);
}

Test(swapfile, racing_swapcache_prepare_has_one_winner)
{
	struct engine *e = test_engine(2);
	uint32_t first_won = 0;

	sim_marks_reset();
	for (uint64_t seed = 1; seed <= 60; seed++) {
		cr_assert_eq(test_run(e, seed % 2 ? STRATEGY_RANDOM
						  : STRATEGY_TIMED,
				      seed, build_race, NULL),
			     RUN_OK);
		cr_assert((prep_result[0] == 0) != (prep_result[1] == 0),
			  "seed %llu: results %d and %d",
			  (unsigned long long)seed, prep_result[0],
			  prep_result[1]);
		cr_assert(prep_result[0] == -EEXIST ||
			  prep_result[1] == -EEXIST);
		cr_assert_eq(si->swap_map[1], 1 | SWAP_HAS_CACHE);
		first_won += prep_result[0] == 0;
		swap_check_invariants(si);
		engine_end(e);
	}
	cr_assert_eq(sim_mark_hits("swapcache_prepare: -EEXIST"), 60);
	cr_assert(first_won > 0 && first_won < 60,
		  "either task can win (fault0 won %u of 60)", first_won);
	test_engine_done(e);
}
