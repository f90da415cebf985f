/*
 * mm_test.h: helpers the mm/ tests share (header-only, since each test
 * file is its own executable): load a scenario from text, build and run
 * its world with optional extra tasks written in C (a test-only locker or
 * remover), record fault records and lock waits through the hooks, and
 * compare every folio's refcount with what holds it.  The tests include
 * mm/internal.h: they test the model's internals, as tests/ mirrors mm/.
 */
#ifndef SIM_TESTS_MM_TEST_H
#define SIM_TESTS_MM_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mm/internal.h"
#include "mm/scenario.h"
#include "mm/swap_state.h"
#include "mm/world.h"
#include "tests/support.h"

static inline struct scenario *mt_load(const char *json, const char *variant)
{
	char err[1024];
	struct scenario *s = scenario_load_text(json, strlen(json), "test",
						variant, err, sizeof(err));
	cr_assert(s != NULL, "scenario does not load: %s", err);
	return s;
}

/* The extra tasks a test adds beside the scenario's. */
static void (*mt_extra)(struct engine *e);
static struct scenario *mt_sc;

static inline void mt_build(struct engine *e, void *arg)
{
	(void)arg;
	world_build(e, mt_sc);
	if (mt_extra)
		mt_extra(e);
}

/* --------------------------------------------------------- fault records */

#define MT_RECORDS_MAX 256
static struct fault_record mt_rec[MT_RECORDS_MAX];
static uint32_t mt_rec_n;
static const char *mt_retry_why[MT_RECORDS_MAX];
static uint32_t mt_retry_n;

static inline void mt_on_fault(void *ctx, const struct fault_record *r)
{
	(void)ctx;
	if (mt_rec_n < MT_RECORDS_MAX)
		mt_rec[mt_rec_n++] = *r;
}

static inline void mt_on_retry(void *ctx, struct task *t, uint64_t address,
			       uint32_t attempt, const char *why)
{
	(void)ctx;
	(void)t;
	(void)address;
	(void)attempt;
	if (mt_retry_n < MT_RECORDS_MAX)
		mt_retry_why[mt_retry_n++] = why;
}

static struct vmstat_hooks mt_vm_hooks = { .ctx = &mt_rec,
					   .fault_done = mt_on_fault,
					   .fault_retry = mt_on_retry };

/* Run the scenario once; returns the outcome.  The engine keeps the
 * finished run for inspection until engine_end. */
static inline enum run_outcome mt_run(struct engine *e, struct scenario *sc,
				      void (*extra)(struct engine *e),
				      enum strategy_kind kind, uint64_t seed)
{
	mt_sc = sc;
	mt_extra = extra;
	mt_rec_n = 0;
	mt_retry_n = 0;
	vmstat_hooks_unsubscribe(&mt_rec);
	cr_assert(vmstat_hooks_subscribe(&mt_vm_hooks));
	enum run_outcome o = test_run(e, kind, seed, mt_build, NULL);
	vmstat_hooks_unsubscribe(&mt_rec);
	return o;
}

/* The same with PCT of depth d over an estimated k decisions (PCT needs
 * the run length; these scenarios are small enough to state it). */
static inline enum run_outcome mt_run_pct(struct engine *e, struct scenario *sc,
					  void (*extra)(struct engine *e),
					  uint64_t seed, uint32_t d, uint64_t k)
{
	char err[256];
	struct strategy_params sp = { .kind = STRATEGY_PCT, .pct_depth = d,
				      .pct_steps = k,
				      .preemptions_max = UINT32_MAX };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	enum run_outcome o;

	cr_assert(s != NULL, "strategy_create: %s", err);
	mt_sc = sc;
	mt_extra = extra;
	mt_rec_n = 0;
	mt_retry_n = 0;
	vmstat_hooks_unsubscribe(&mt_rec);
	cr_assert(vmstat_hooks_subscribe(&mt_vm_hooks));
	test_run_with(e, s, seed, 0, mt_build, NULL, &o);
	vmstat_hooks_unsubscribe(&mt_rec);
	strategy_destroy(s);
	return o;
}

static inline const struct fault_record *mt_record_of(const char *task,
						      uint32_t nth)
{
	for (uint32_t i = 0; i < mt_rec_n; i++)
		if (strcmp(mt_rec[i].task->name, task) == 0 && nth-- == 0)
			return &mt_rec[i];
	return NULL;
}

static inline uint32_t mt_findings(struct engine *e, const char *kind)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->findings_count; i++)
		n += strcmp(e->findings[i].kind, kind) == 0;
	return n;
}

static inline struct task *mt_task(struct engine *e, const char *name)
{
	for (uint32_t i = 0; i < e->tasks_count; i++)
		if (strcmp(e->tasks[i].name, name) == 0)
			return &e->tasks[i];
	cr_assert_fail("no task %s", name);
	return NULL;
}

/* ------------------------------------------------------------ lock waits */

/* Every time a task starts to wait for a lock: which, and which fault
 * locks it held while it waited. */
struct mt_lock_wait {
	char task[TASK_NAME_MAX];
	enum lock_class_id cls;
	bool holds_mmap;		/* mmap_lock, either mode */
	bool holds_vma;			/* some VMA lock for read */
};

#define MT_LOCK_WAITS_MAX 256
static struct mt_lock_wait mt_lw[MT_LOCK_WAITS_MAX];
static uint32_t mt_lw_n;

static inline bool mt_holds_class(const struct task *t, enum lock_class_id cls)
{
	const struct task_mm *tm = task_mm(t);
	for (uint32_t i = 0; i < tm->held_count; i++)
		if (tm->held[i].lock->cls->id == cls)
			return true;
	return false;
}

static inline void mt_on_lock_wait(void *ctx, struct task *t,
				   struct lock_common *l, enum lock_mode mode,
				   const char *where)
{
	(void)ctx;
	(void)mode;
	(void)where;
	if (mt_lw_n >= MT_LOCK_WAITS_MAX)
		return;
	struct mt_lock_wait *w = &mt_lw[mt_lw_n++];
	snprintf(w->task, sizeof(w->task), "%s", t->name);
	w->cls = l->cls->id;
	w->holds_mmap = mt_holds_class(t, LC_MMAP_LOCK);
	w->holds_vma = mt_holds_class(t, LC_VMA_LOCK);
}

static struct lock_hooks mt_lw_hooks = { .ctx = mt_lw,
					 .wait_begin = mt_on_lock_wait };

static inline void mt_lock_waits_start(void)
{
	mt_lw_n = 0;
	lock_hooks_unsubscribe(mt_lw);
	cr_assert(lock_hooks_subscribe(&mt_lw_hooks));
}

static inline void mt_lock_waits_stop(void)
{
	lock_hooks_unsubscribe(mt_lw);
}

static inline const struct mt_lock_wait *mt_lock_wait_of(const char *task,
							 enum lock_class_id cls,
							 uint32_t nth)
{
	for (uint32_t i = 0; i < mt_lw_n; i++)
		if (strcmp(mt_lw[i].task, task) == 0 && mt_lw[i].cls == cls &&
		    nth-- == 0)
			return &mt_lw[i];
	return NULL;
}

/* ------------------------------------------------------------ the world */

static inline struct file *mt_file(uint32_t i)
{
	cr_assert(i < mm_world->files_count);
	return mm_world->files[i];
}

static inline struct folio *mt_cached(uint32_t file, pgoff_t index)
{
	return xa_slot_load(mt_file(file)->f_mapping, index)->folio;
}

/* The PTE at a page number, or a none PTE when no table maps it. */
static inline pte_t mt_pte(uint64_t addr)
{
	const pmd_t *pmd = &mm_world->mm->pmd[addr / PTRS_PER_PTE];
	if (pmd->kind != PMD_TABLE)
		return (pte_t){ .kind = PTE_NONE };
	return pmd->table->ptes[addr % PTRS_PER_PTE];
}

static inline const pmd_t *mt_pmd(uint64_t addr)
{
	return &mm_world->mm->pmd[addr / PTRS_PER_PTE];
}

/* The swap slot's count (without SWAP_HAS_CACHE) and whether a folio is
 * in the swap cache for it. */
static inline uint32_t mt_swap_count(uint32_t offset)
{
	cr_assert_not_null(swap_device());
	return swap_device()->swap_map[offset] & ~SWAP_HAS_CACHE;
}

static inline struct folio *mt_swap_cached(uint32_t offset)
{
	cr_assert_not_null(swap_device());
	return xa_slot_load(swap_device()->swapper_space, offset)->folio;
}

struct mt_refs {
	uint32_t folios;
	uint32_t mismatched;
	int32_t worst_delta;		/* refcount - expected, of a mismatch */
	char first[160];
};

static inline void mt_check_one(struct folio *f, void *arg)
{
	struct mt_refs *r = arg;
	struct folio_refs_expected x;

	mm_folio_expected_refs(f, &x);
	r->folios++;
	if (f->refcount == x.refcount && f->mapcount == x.mapcount)
		return;
	if (r->mismatched++ == 0) {
		r->worst_delta = f->refcount - x.refcount;
		snprintf(r->first, sizeof(r->first),
			 "folio #%u: refcount %d expected %d, mapcount %d expected %d",
			 f->id, f->refcount, x.refcount, f->mapcount, x.mapcount);
	}
}

/* Every live folio's refcount and mapcount against what holds it. */
static inline struct mt_refs mt_check_refs(void)
{
	struct mt_refs r = { 0 };
	mm_for_each_folio(mt_check_one, &r);
	return r;
}

#endif /* SIM_TESTS_MM_TEST_H */
