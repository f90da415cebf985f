/*
 * page_alloc.c: folios and PTE tables, where they come from and go back
 * to, and who holds references on them (the lifetime rules and invariants
 * are in mm.h).  The pool is per world, FOLIOS_MAX slots, filled lazily
 * from the arena and recycled through a free list.  Not the page cache
 * (filemap.c) nor the rmap (rmap.c); this file only counts.
 *
 * Simplified: no zones, watermarks, memcg or reclaim from the allocator (an
 * exhausted pool is VM_FAULT_OOM, which no shipped scenario reaches); the
 * refcount is a plain integer, and the lockless folio_try_get against a
 * frozen count is a test for zero, which is what the callers' races need.
 */
#include <stdio.h>
#include <string.h>

#include "mm/internal.h"

/* ---------------------------------------------------- the reference log */

static void ref_log(struct folio *f, int ref_delta, int map_delta,
		    const char *where)
{
	struct folio_ref_change *c =
		&f->ref_log[f->ref_log_next++ % FOLIO_REF_LOG_MAX];
	struct task *t = sim->current;

	*c = (struct folio_ref_change){
		.where = where,
		.ref_delta = (int16_t)ref_delta,
		.map_delta = (int16_t)map_delta,
		.refcount = f->refcount,
		.mapcount = f->mapcount,
		.task = t ? t->id : TRACE_NO_TASK,
		.step = sim->steps,
	};
}

/* ------------------------------------------------------- blame */

/* Remember a reference gone astray (struct folio_blame in types.h) for
 * the leak checker; `where` is the function to blame. */
static void blame_note(struct folio_blame *b, const char *where,
		       const struct task *t)
{
	bool known = false;

	SIM_ASSERT(where != NULL);
	SIM_ASSERT(b->sites_count <= FOLIO_BLAME_SITES_MAX);
	for (uint32_t i = 0; i < b->sites_count && !known; i++)
		known = strcmp(b->sites[i], where) == 0;
	if (!known && b->sites_count < FOLIO_BLAME_SITES_MAX)
		b->sites[b->sites_count++] = where;
	b->count++;
	b->last_where = where;
	b->last_task = t ? t->id : TRACE_NO_TASK;
	b->last_step = sim->steps;
}

/* --------------------------------------------- task-held references */

static void task_ref_add(struct folio *f, const char *where)
{
	struct task *t = sim_current();

	/* Events (I/O completions) take no references in this model. */
	if (!t || !t->priv)
		return;
	struct task_mm *tm = task_mm(t);
	SIM_ASSERT(tm->folio_refs_count < TASK_FOLIO_REFS_MAX);
	tm->folio_refs_where[tm->folio_refs_count] = where;
	tm->folio_refs[tm->folio_refs_count++] = f;
}

/* Forget one reference of f held by the current task; false when it holds
 * none (the put drops a reference someone else owns). */
static bool task_ref_drop(struct folio *f)
{
	struct task *t = sim_current();

	if (!t || !t->priv)
		return false;
	struct task_mm *tm = task_mm(t);
	for (uint32_t i = tm->folio_refs_count; i-- > 0;) {
		if (tm->folio_refs[i] != f)
			continue;
		tm->folio_refs_count--;
		tm->folio_refs[i] = tm->folio_refs[tm->folio_refs_count];
		tm->folio_refs_where[i] =
			tm->folio_refs_where[tm->folio_refs_count];
		return true;
	}
	return false;
}

uint32_t task_folio_refs_orphan(void)
{
	struct task_mm *tm = current_mm_state();
	uint32_t n = tm->folio_refs_count;

	SIM_ASSERT(n <= TASK_FOLIO_REFS_MAX);
	if (n) {
		SIM_MARK("task returned holding a folio reference");
		for (uint32_t i = 0; i < n; i++) {
			struct folio *f = tm->folio_refs[i];
			SIM_TRACE("leaked reference on folio #%u, taken in %s",
				  f->id, tm->folio_refs_where[i]);
			blame_note(&f->orphaned, tm->folio_refs_where[i],
				   sim_current());
		}
	}
	tm->folio_refs_count = 0;
	return n;
}

/* ------------------------------------------------------- allocation */

struct folio *folio_alloc_at(unsigned int order, const char *where)
{
	struct mm_world *w = mm_world;
	struct folio *f = w->free_list;

	SIM_ASSERT(order == 0 || order == HPAGE_PMD_ORDER);
	sim_cost(COST_PAGE_ALLOC_NS);
	uint32_t slot;

	if (f) {
		SIM_ASSERT(f->freed);
		w->free_list = f->free_next;
		slot = f->pool_slot;
	} else {
		if (w->folios_used >= FOLIOS_MAX)
			return NULL;
		f = arena_new(sim_arena(), struct folio);
		slot = w->folios_used++;
		struct folio ***chunk = &w->folio_chunks[slot / FOLIO_CHUNK_SLOTS];
		if (!*chunk)
			*chunk = arena_array(sim_arena(), struct folio *,
					     FOLIO_CHUNK_SLOTS);
		(*chunk)[slot % FOLIO_CHUNK_SLOTS] = f;
	}
	SIM_ASSERT(mm_pool_folio(w, slot) == f);
	/* Waiting on a folio needs a reference, so a free folio has no
	 * waiters left to lose. */
	SIM_ASSERT(f->lock.wq.count == 0);
	memset(f, 0, sizeof(*f));
	f->pool_slot = slot;
	f->id = mm_obj_id();
	f->order = (uint8_t)order;
	folio_lock_init(f);
	f->refcount = 1;
	w->folios_live++;
	ref_log(f, 1, 0, where);
	task_ref_add(f, where);
	return f;
}

static void folio_report_underflow(struct folio *f, const char *where,
				   const char *what)
{
	char sig[128], detail[512];
	int n;

	snprintf(sig, sizeof(sig), "refcount_underflow:%s:%s", where, what);
	n = snprintf(detail, sizeof(detail),
		     "{\"folio\":%u,\"refcount\":%d,\"mapcount\":%d,\"function\":\"%s\",\"last\":[",
		     f->id, f->refcount, f->mapcount, where);
	for (uint32_t i = 0; i < FOLIO_REF_LOG_MAX && n > 0 &&
			     (size_t)n < sizeof(detail) - 64; i++) {
		uint32_t k = f->ref_log_next - 1 - i;
		if (i >= f->ref_log_next)
			break;
		const struct folio_ref_change *c =
			&f->ref_log[k % FOLIO_REF_LOG_MAX];
		n += snprintf(detail + n, sizeof(detail) - (size_t)n,
			      "%s{\"where\":\"%s\",\"ref\":%d}", i ? "," : "",
			      c->where, c->ref_delta);
	}
	if (n > 0 && (size_t)n < sizeof(detail) - 3)
		snprintf(detail + n, sizeof(detail) - (size_t)n, "]}");
	else
		snprintf(detail, sizeof(detail), "{\"folio\":%u}", f->id);
	sim_report("refcount_underflow", sim_signature(sig), detail,
		   "folio #%u: %s in %s (refcount %d, mapcount %d)", f->id,
		   what, where, f->refcount, f->mapcount);
}

/* The last reference is gone: back to the pool, unless something still
 * points at the folio, in which case freeing it would be the kernel's
 * "Bad page state"; the folio is kept (refcount 0) and reported. */
static void folio_free(struct folio *f, const char *where)
{
	struct mm_world *w = mm_world;

	if (f->mapcount != 0 || f->mapping != NULL ||
	    folio_test(f, PG_locked) || folio_test(f, PG_swapcache)) {
		folio_report_underflow(f, where,
				       "last reference dropped while still mapped, cached or locked");
		return;
	}
	vmstat_folio_freed(f);
	SIM_ASSERT(f->lock.wq.count == 0);
	SIM_ASSERT(w->folios_live > 0);
	f->flags = 0;
	f->anon_vma = NULL;
	f->freed = true;
	f->free_next = w->free_list;
	w->free_list = f;
	w->folios_live--;
}

/* ------------------------------------------------------ references */

void folio_get_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(!folio->freed);
	/* folio_get requires a reference already held (VM_BUG_ON). */
	SIM_ASSERT(folio->refcount > 0);
	folio->refcount++;
	ref_log(folio, 1, 0, where);
	task_ref_add(folio, where);
}

bool folio_try_get_at(struct folio *folio, const char *where)
{
	/* Lockless lookups find folios that may be free: the RCU-protected
	 * struct stays, its count is zero. */
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_WRITE, folio->id);
	if (folio->freed || folio->refcount <= 0)
		return false;
	folio->refcount++;
	ref_log(folio, 1, 0, where);
	task_ref_add(folio, where);
	return true;
}

void folio_put_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(!folio->freed);
	folio->refcount--;
	ref_log(folio, -1, 0, where);
	/* A put of a reference the task did not take itself drops one that
	 * belongs to a structure (a mapping, the page cache): legal for the
	 * count, and exactly what a double put looks like. */
	if (!task_ref_drop(folio)) {
		SIM_MARK("folio_put of a reference the task does not own");
		/* World building and events own no references: only a
		 * task's put can be one it did not hold. */
		struct task *t = sim_current();
		if (t && t->priv)
			blame_note(&folio->unowned_puts, where, t);
	}
	if (folio->refcount < 0)
		folio_report_underflow(folio, where, "refcount below zero");
	else if (folio->refcount == 0)
		folio_free(folio, where);
}

void folio_ref_add_at(struct folio *folio, int nr, const char *where)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(nr > 0);
	SIM_ASSERT(folio->refcount > 0);
	folio->refcount += nr;
	ref_log(folio, nr, 0, where);
}

void folio_put_refs_at(struct folio *folio, int nr, const char *where)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(nr > 0);
	folio->refcount -= nr;
	ref_log(folio, -nr, 0, where);
	if (folio->refcount < 0)
		folio_report_underflow(folio, where, "refcount below zero");
	else if (folio->refcount == 0)
		folio_free(folio, where);
}

void folio_ref_to_mapping_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(folio->refcount > 0);
	/* A caller that hands over a reference it never took is a model
	 * bug, not a kernel one: the kernel code it models took one. */
	bool had = task_ref_drop(folio);
	SIM_ASSERT(had);
	ref_log(folio, 0, 0, where);
}

void folio_mapcount_add_at(struct folio *folio, int nr, const char *where)
{
	SIM_ASSERT(!folio->freed);
	folio->mapcount += nr;
	SIM_ASSERT(folio->mapcount >= 0);
	ref_log(folio, 0, nr, where);
}

bool folio_ref_freeze_at(struct folio *folio, int count, const char *where)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(count > 0);
	/* One atomic compare-and-exchange. */
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_WRITE, folio->id);
	if (folio->refcount != count)
		return false;
	folio->refcount = 0;
	ref_log(folio, -count, 0, where);
	return true;
}

void folio_ref_unfreeze_at(struct folio *folio, int count, const char *where)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(folio->refcount == 0 && count > 0);
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_WRITE, folio->id);
	folio->refcount = count;
	ref_log(folio, count, 0, where);
}

void folio_free_frozen_at(struct folio *folio, const char *where)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(folio->refcount == 0);
	/* The frozen count held the freeing task's own reference. */
	bool had = task_ref_drop(folio);
	SIM_ASSERT(had);
	folio_free(folio, where);
}

/* ------------------------------------------------ expected references */

static bool in_page_cache(const struct folio *f)
{
	const struct address_space *m = f->mapping;

	if (!m || f->index >= FILE_PAGES_MAX)
		return false;
	return xa_slot_load(m, f->index)->folio == f;
}

void mm_folio_expected_refs(const struct folio *folio,
			    struct folio_refs_expected *out)
{
	const struct mm_world *w = mm_world;
	const struct mm_struct *mm = w->mm;
	int32_t nr = (int32_t)folio_nr_pages(folio);

	SIM_ASSERT(!folio->freed);
	*out = (struct folio_refs_expected){ 0 };
	if (in_page_cache(folio))
		out->page_cache = nr;
	if (folio_test(folio, PG_swapcache))
		out->swap_cache = nr;
	for (uint32_t p = 0; mm && p < PMDS_MAX; p++) {
		const pmd_t *pmd = &mm->pmd[p];
		if (pmd->kind == PMD_HUGE && pmd->folio == folio)
			out->pmd_maps++;
		if (pmd->kind != PMD_TABLE)
			continue;
		for (uint32_t i = 0; i < PTRS_PER_PTE; i++) {
			const pte_t *pte = &pmd->table->ptes[i];
			/* A device-private entry maps its folio as a present
			 * PTE does; a migration entry holds nothing. */
			if ((pte->kind == PTE_PRESENT ||
			     pte->kind == PTE_DEVICE_PRIVATE) &&
			    pte->folio == folio)
				out->pte_maps++;
		}
	}
	for (uint32_t t = 0; t < sim->tasks_count; t++) {
		const struct task *task = &sim->tasks[t];
		/* An exited task holds nothing: references left in its list
		 * (a task body that returned without folio_put; scenario
		 * tasks orphan theirs after each operation) are leaked. */
		if (!task->priv || task->state == TASK_EXITED)
			continue;
		const struct task_mm *tm = task_mm(task);
		for (uint32_t i = 0; i < tm->folio_refs_count; i++)
			out->task_refs += tm->folio_refs[i] == folio;
	}
	out->mapcount = out->pte_maps + out->pmd_maps;
	out->refcount = out->page_cache + out->swap_cache + out->mapcount +
			out->task_refs;
}

void mm_for_each_folio(void (*fn)(struct folio *folio, void *arg), void *arg)
{
	const struct mm_world *w = mm_world;

	SIM_ASSERT(fn != NULL);
	SIM_ASSERT(w->folios_used <= FOLIOS_MAX);
	for (uint32_t i = 0; i < w->folios_used; i++) {
		struct folio *f = mm_pool_folio(w, i);
		if (!f->freed)
			fn(f, arg);
	}
}

/* The pool slot of a folio that a PTE, PMD or task list points at, or
 * UINT32_MAX for none or one not in the pool (the swap cache's interim
 * folios). */
static uint32_t pool_slot_of(const struct mm_world *w, const struct folio *f)
{
	if (f && f->pool_slot < w->folios_used &&
	    mm_pool_folio(w, f->pool_slot) == f)
		return f->pool_slot;
	return UINT32_MAX;
}

void mm_for_each_folio_expected(
	void (*fn)(struct folio *folio, const struct folio_refs_expected *x,
		   void *arg),
	void *arg)
{
	const struct mm_world *w = mm_world;
	const struct mm_struct *mm = w->mm;
	uint32_t n = w->folios_used;

	SIM_ASSERT(fn != NULL);
	SIM_ASSERT(n <= FOLIOS_MAX);
	if (n == 0)
		return;
	/* Scratch for the counts, from the arena: zeroed, and given back
	 * with the world. */
	struct folio_refs_expected *x =
		arena_alloc(sim_arena(), (size_t)n * sizeof(*x));
	/* The walks of mm_folio_expected_refs, once for every folio. */
	for (uint32_t p = 0; mm && p < PMDS_MAX; p++) {
		const pmd_t *pmd = &mm->pmd[p];
		uint32_t slot;
		if (pmd->kind == PMD_HUGE &&
		    (slot = pool_slot_of(w, pmd->folio)) != UINT32_MAX)
			x[slot].pmd_maps++;
		if (pmd->kind != PMD_TABLE)
			continue;
		for (uint32_t i = 0; i < PTRS_PER_PTE; i++) {
			const pte_t *pte = &pmd->table->ptes[i];
			if ((pte->kind == PTE_PRESENT ||
			     pte->kind == PTE_DEVICE_PRIVATE) &&
			    (slot = pool_slot_of(w, pte->folio)) != UINT32_MAX)
				x[slot].pte_maps++;
		}
	}
	for (uint32_t t = 0; t < sim->tasks_count; t++) {
		const struct task *task = &sim->tasks[t];
		if (!task->priv || task->state == TASK_EXITED)
			continue;
		const struct task_mm *tm = task_mm(task);
		for (uint32_t i = 0; i < tm->folio_refs_count; i++) {
			uint32_t slot = pool_slot_of(w, tm->folio_refs[i]);
			if (slot != UINT32_MAX)
				x[slot].task_refs++;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct folio *f = mm_pool_folio(w, i);
		if (f->freed)
			continue;
		int32_t nr = (int32_t)folio_nr_pages(f);
		struct folio_refs_expected *e = &x[i];
		if (in_page_cache(f))
			e->page_cache = nr;
		if (folio_test(f, PG_swapcache))
			e->swap_cache = nr;
		e->mapcount = e->pte_maps + e->pmd_maps;
		e->refcount = e->page_cache + e->swap_cache + e->mapcount +
			      e->task_refs;
		if (SIM_EXPENSIVE) {
			struct folio_refs_expected one;
			mm_folio_expected_refs(f, &one);
			SIM_ASSERT(memcmp(&one, e, sizeof(one)) == 0);
		}
		fn(f, e, arg);
	}
}

void mm_folio_check(const struct folio *f)
{
	if (f->freed) {						/* 1 */
		SIM_ASSERT(f->refcount == 0);
		SIM_ASSERT(f->mapcount == 0);
		SIM_ASSERT(f->mapping == NULL);
		SIM_ASSERT(f->flags == 0);
		return;
	}
	SIM_ASSERT(f->mapcount >= 0);				/* 2 */
	if (f->lock_owner)					/* 3 */
		SIM_ASSERT(folio_test(f, PG_locked));
}

/* ----------------------------------------------------- PTE tables */

struct pte_table *pte_alloc_one(struct mm_struct *mm)
{
	struct mm_world *w = mm_world;
	struct pte_table *pt = w->pte_free_list;

	SIM_ASSERT(mm != NULL);
	sim_cost(COST_PTE_ALLOC_NS);
	if (pt) {
		w->pte_free_list = pt->free_next;
		SIM_ASSERT(pt->ptl.owner == NULL);
		memset(pt, 0, sizeof(*pt));
	} else {
		pt = arena_new(sim_arena(), struct pte_table);
	}
	pt->id = mm_obj_id();
	spin_lock_init(&pt->ptl, LC_PTL, pt->id);
	w->pte_tables_live++;
	return pt;
}

void pte_free(struct mm_struct *mm, struct pte_table *pt)
{
	struct mm_world *w = mm_world;

	SIM_ASSERT(mm != NULL);
	SIM_ASSERT(pt->ptl.owner == NULL && pt->ptl.c.wq.count == 0);
	for (uint32_t i = 0; i < PTRS_PER_PTE; i++)
		SIM_ASSERT(pt->ptes[i].kind == PTE_NONE);
	SIM_ASSERT(w->pte_tables_live > 0);
	w->pte_tables_live--;
	pt->free_next = w->pte_free_list;
	w->pte_free_list = pt;
}
