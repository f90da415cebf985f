/*
 * leak.c: the `leak` and `refcount_underflow` checker.  Every folio's
 * refcount and mapcount must equal what holds it (mm.h, folio invariant
 * 4, counted by mm_folio_expected_refs: the page cache, the swap cache,
 * each PTE and PMD mapping it, the temporary references of tasks still
 * running).  Checked at the end of a run, for every live folio in pool
 * order, and whenever a folio is freed: a folio freed while a PTE or PMD
 * still points at it, a page cache slot still holds it, or a task still
 * counts a reference on it had its count dropped to zero too early.
 *
 *   leak                refcount (or mapcount) above what holds it: a
 *                       reference nobody will put.  The folio can never be
 *                       freed; reclaim's refcount freeze fails on it
 *                       forever (seed 004: "page reclaim cannot get rid of
 *                       them").
 *   refcount_underflow  below what holds it: a put too many.  Whoever puts
 *                       last frees a folio that is still mapped or cached.
 *
 * When: the end check runs only for runs that ended with every task done
 * (RUN_OK).  A run cut short (budget, assertion) or deadlocked may leave a
 * task between an rmap change and the PTE write, or between a page cache
 * insert and its reference, which would read as a mismatch that is not
 * one; a deadlock is reported as such.  Folios at refcount 0 or below at
 * the end are the model's own "Bad page state" (page_alloc.c kept them
 * instead of freeing a mapped or cached folio, and reported
 * refcount_underflow there, at the put): not reported twice.
 *
 * Signature: kind | folio kind (THP or small; file, anon, swapcache) |
 * which counts are off | the functions to blame, sorted.  The functions to
 * blame come from what the model records as a reference goes astray
 * (struct folio_blame): for a leak, the functions that took the
 * references a task still held when its operation returned (or when it
 * exited); for an underflow, the functions that put a reference their
 * task did not hold.  Why these and not the reference log: the log is a
 * window of the last FOLIO_REF_LOG_MAX changes by any task, and which
 * changes it holds, in what order, depends on the schedule: with a racing
 * fault taking and dropping its own reference around the leak, the last
 * changer is sometimes the leaker and sometimes the racer.  The function
 * that took the reference nobody put does not depend on the schedule, so
 * two schedules that hit one bug (the inverted do_set_pmd: taken in
 * next_uptodate_folio) give one signature, and a leak of a reference taken
 * elsewhere gives another.  A mismatch with nothing to blame (a structure
 * whose reference went wrong: a PTE set without one) is "unattributed":
 * such bugs share a signature per folio kind and counts.  The number of
 * references off is left out: two faults that both hit the bug leak two.
 */
#include <string.h>

#include "analysis/checkers_int.h"

/* Blame sites of one folio: its own record, plus one per reference an
 * exited task left in its list. */
#define LEAK_SITES_MAX (FOLIO_BLAME_SITES_MAX + TASKS_MAX * TASK_FOLIO_REFS_MAX)

enum leak_when {
	LEAK_AT_RUN_END,
	LEAK_AT_FREE,
};

struct leak_state {
	const char *sites[LEAK_SITES_MAX];
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
};

/* What holds the folio, and what it is short of or above. */
struct leak_counts {
	struct folio_refs_expected x;
	bool slot;			/* a page cache slot holds it (at free) */
	int32_t refcount;		/* expected, the slot included */
	bool ref_off;
	bool map_off;
	bool underflow;
};

/* A page cache slot still pointing at the folio: filemap_remove_folio
 * clears the slots before it drops the cache's references, so a freed
 * folio found in one was freed while the cache could still hand it out. */
static bool page_cache_slot_holds(const struct folio *f)
{
	const struct mm_world *w = mm_world;

	SIM_ASSERT(w->files_count <= FILES_MAX);
	SIM_ASSERT(f->index < FILE_PAGES_MAX || folio_test(f, PG_anon));
	if (folio_test(f, PG_anon))
		return false;
	for (uint32_t i = 0; i < w->files_count; i++) {
		const struct address_space *m = w->files[i]->f_mapping;
		for (uint32_t p = 0; p < folio_nr_pages(f); p++)
			if (f->index + p < FILE_PAGES_MAX &&
			    xa_slot_load(m, f->index + p)->folio == f)
				return true;
	}
	return false;
}

/* References on f left in the lists of tasks that have exited: nobody
 * will put them (the model orphans a scenario task's after each
 * operation; a task body written in C may simply return). */
static uint32_t exited_task_refs(const struct folio *f, const char **out,
				 uint32_t n)
{
	for (uint32_t t = 0; t < sim->tasks_count; t++) {
		const struct task *task = &sim->tasks[t];
		const struct task_mm *tm = checked_task_mm(task);
		if (!tm || task->state != TASK_EXITED)
			continue;
		for (uint32_t i = 0; i < tm->folio_refs_count; i++) {
			if (tm->folio_refs[i] != f)
				continue;
			SIM_ASSERT(n < LEAK_SITES_MAX);
			out[n++] = tm->folio_refs_where[i];
		}
	}
	return n;
}

/* The sorted, distinct functions to blame, into st->sites; returns how
 * many. */
static uint32_t blame_sites(struct leak_state *st, const struct folio *f,
			    bool underflow)
{
	const struct folio_blame *b = underflow ? &f->unowned_puts
						: &f->orphaned;
	uint32_t n = 0;

	SIM_ASSERT(b->sites_count <= FOLIO_BLAME_SITES_MAX);
	for (uint32_t i = 0; i < b->sites_count; i++)
		st->sites[n++] = b->sites[i];
	if (!underflow)
		n = exited_task_refs(f, st->sites, n);
	sort_names(st->sites, n);
	uint32_t distinct = 0;
	for (uint32_t i = 0; i < n; i++)
		if (distinct == 0 ||
		    strcmp(st->sites[distinct - 1], st->sites[i]) != 0)
			st->sites[distinct++] = st->sites[i];
	return distinct;
}

/* `step_key` names what the step of the latest one is: when the put
 * happened, or when the task returned holding the reference. */
static void json_blame(struct jw *w, const char *key, const char *count_key,
		       const char *step_key, const struct folio_blame *b)
{
	if (b->count == 0)
		return;
	jw_obj_begin(w, key);
	jw_u64(w, count_key, b->count);
	jw_arr_begin(w, "functions");
	for (uint32_t i = 0; i < b->sites_count; i++)
		jw_str(w, NULL, b->sites[i]);
	jw_arr_end(w);
	jw_obj_begin(w, "last");
	jw_str(w, "function", b->last_where);
	const char *task = checked_task_name(b->last_task);
	if (task) {
		jw_str(w, "task", task);
		jw_u64(w, "task_id", b->last_task);
	}
	jw_u64(w, step_key, b->last_step);
	jw_obj_end(w);
	jw_obj_end(w);
}

static void json_exited_refs(struct jw *w, const struct folio *f)
{
	bool any = false;

	for (uint32_t t = 0; t < sim->tasks_count; t++) {
		const struct task *task = &sim->tasks[t];
		const struct task_mm *tm = checked_task_mm(task);
		if (!tm || task->state != TASK_EXITED)
			continue;
		for (uint32_t i = 0; i < tm->folio_refs_count; i++) {
			if (tm->folio_refs[i] != f)
				continue;
			if (!any)
				jw_arr_begin(w, "held_by_exited_tasks");
			any = true;
			jw_obj_begin(w, NULL);
			jw_str(w, "task", task->name);
			jw_u64(w, "task_id", task->id);
			jw_str(w, "function", tm->folio_refs_where[i]);
			jw_obj_end(w);
		}
	}
	if (any)
		jw_arr_end(w);
}

/* "; reference taken in next_uptodate_folio never put: F/0 returned
 * holding it (step 57)"; "; map_release put a reference it did not hold
 * (F/0, step 60)" */
static void text_blame(struct strbuf *b, const struct folio *f,
		       const struct leak_counts *k, uint32_t sites,
		       const char *const *site)
{
	const struct folio_blame *bl = k->underflow ? &f->unowned_puts
						    : &f->orphaned;
	const char *task = checked_task_name(bl->last_task);

	if (sites == 0) {
		strbuf_puts(b, "; no task left a reference behind or put one it did not hold");
		return;
	}
	if (!k->underflow && bl->count == 0) {
		/* Only exited tasks' leftovers. */
		strbuf_printf(b, "; reference taken in %s still held by an exited task",
			      site[0]);
		return;
	}
	if (k->underflow)
		strbuf_printf(b, "; %s put a reference it did not hold",
			      bl->last_where);
	else
		strbuf_printf(b, "; reference taken in %s never put",
			      bl->last_where);
	if (!task)
		return;
	if (k->underflow)
		strbuf_printf(b, " (%s/%u, step %llu)", task, bl->last_task,
			      (unsigned long long)bl->last_step);
	else
		strbuf_printf(b, ": %s/%u returned holding it (step %llu)",
			      task, bl->last_task,
			      (unsigned long long)bl->last_step);
}

static void report(struct leak_state *st, struct folio *f,
		   const struct leak_counts *k, enum leak_when when)
{
	const char *kind = k->underflow ? "refcount_underflow" : "leak";
	uint32_t sites = blame_sites(st, f, k->underflow);

	SIM_ASSERT(k->ref_off || k->map_off);
	if (k->underflow)
		SIM_ASSERT(f->refcount < k->refcount ||
			   f->mapcount < k->x.mapcount);

	uint64_t sig = sim_signature(kind);
	sig = sim_signature_mix(sig, "|");
	sig = sim_signature_mix(sig, folio_kind_name(f));
	sig = sim_signature_mix(sig, k->ref_off && k->map_off ? "|refcount,mapcount"
				     : k->ref_off		 ? "|refcount"
								 : "|mapcount");
	sig = sim_signature_mix(sig, sites ? (k->underflow ? "|unowned_put:"
							   : "|orphaned:")
					   : "|unattributed");
	for (uint32_t i = 0; i < sites; i++) {
		sig = sim_signature_mix(sig, i ? "," : "");
		sig = sim_signature_mix(sig, st->sites[i]);
	}

	struct strbuf b;
	strbuf_init(&b, st->summary, sizeof(st->summary));
	text_folio(&b, f);
	if (when == LEAK_AT_FREE)
		strbuf_puts(&b, " freed while still held");
	strbuf_printf(&b, ": refcount %d, expected %d", f->refcount,
		      k->refcount);
	if (k->map_off)
		strbuf_printf(&b, "; mapcount %d, expected %d", f->mapcount,
			      k->x.mapcount);
	text_blame(&b, f, k, sites, st->sites);

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_str(&w, "check", when == LEAK_AT_FREE ? "folio_freed" : "run_end");
	json_folio(&w, f);
	jw_obj_begin(&w, "refcount");
	jw_i64(&w, "actual", f->refcount);
	jw_i64(&w, "expected", k->refcount);
	jw_obj_end(&w);
	jw_obj_begin(&w, "mapcount");
	jw_i64(&w, "actual", f->mapcount);
	jw_i64(&w, "expected", k->x.mapcount);
	jw_obj_end(&w);
	/* What the expected counts are made of. */
	jw_obj_begin(&w, "holders");
	jw_i64(&w, "page_cache", k->x.page_cache);
	jw_i64(&w, "swap_cache", k->x.swap_cache);
	jw_i64(&w, "ptes", k->x.pte_maps);
	jw_i64(&w, "pmds", k->x.pmd_maps);
	jw_i64(&w, "task_refs", k->x.task_refs);
	if (when == LEAK_AT_FREE)
		jw_bool(&w, "page_cache_slot", k->slot);
	jw_obj_end(&w);
	jw_arr_begin(&w, "blame");
	for (uint32_t i = 0; i < sites; i++)
		jw_str(&w, NULL, st->sites[i]);
	jw_arr_end(&w);
	json_blame(&w, "orphaned", "references", "returned_at_step",
		   &f->orphaned);
	json_exited_refs(&w, f);
	json_blame(&w, "unowned_puts", "puts", "step", &f->unowned_puts);
	json_ref_log(&w, f);
	jw_finish(&w);
	sim_report(kind, sig, st->detail, "%s", st->summary);
}

/* x: what holds f, as mm_folio_expected_refs counts it. */
static void check_folio(struct leak_state *st, struct folio *f,
			const struct folio_refs_expected *x,
			enum leak_when when)
{
	struct leak_counts k = { .x = *x };

	SIM_ASSERT(!f->freed);
	SIM_ASSERT(k.x.mapcount == k.x.pte_maps + k.x.pmd_maps);
	k.refcount = k.x.refcount;
	if (when == LEAK_AT_FREE) {
		SIM_ASSERT(f->refcount == 0);
		k.slot = page_cache_slot_holds(f);
		/* Not counted as the page cache's by mm_folio_expected_refs:
		 * it goes by folio->mapping, which is NULL by now. */
		if (k.slot && k.x.page_cache == 0)
			k.refcount += (int32_t)folio_nr_pages(f);
	}
	k.ref_off = f->refcount != k.refcount;
	k.map_off = f->mapcount != k.x.mapcount;
	if (!k.ref_off && !k.map_off)
		return;
	/* One count below and the other above is an underflow: the count
	 * below is the one that frees a folio still in use. */
	k.underflow = f->refcount < k.refcount || f->mapcount < k.x.mapcount;
	report(st, f, &k, when);
}

static void check_live(struct folio *f, const struct folio_refs_expected *x,
		       void *arg)
{
	/* Reported by page_alloc.c when the count went wrong; see the top
	 * of this file. */
	if (f->refcount <= 0)
		return;
	check_folio(arg, f, x, LEAK_AT_RUN_END);
}

static void leak_run_end(struct checkers *c, void *p, struct engine *e,
			 enum run_outcome o)
{
	(void)c;
	(void)e;
	/* Worlds built by hand (lock-only tests) have no folio pool. */
	if (o != RUN_OK || !mm_world)
		return;
	mm_for_each_folio_expected(check_live, p);
}

static void leak_folio_freed(struct checkers *c, void *p, struct folio *f)
{
	(void)c;
	/* The swap cache's interim folios (swap_state.c) mark themselves
	 * freed before the hook and are not in the pool; they move to
	 * folio_put, and this check, when the branches merge. */
	if (f->freed || !mm_world)
		return;
	struct folio_refs_expected x;
	mm_folio_expected_refs(f, &x);
	check_folio(p, f, &x, LEAK_AT_FREE);
}

const struct checker_ops leak_checker = {
	.name = "leak",
	.state_bytes = sizeof(struct leak_state),
	.run_end = leak_run_end,
	.folio_freed = leak_folio_freed,
};
