/*
 * stale.c: the `stale_pte` checker.  No PTE or PMD may map a folio that
 * has left the page cache, or a page at or past EOF, once a truncate is
 * over (KERNEL.md 8 and 9: truncate writes i_size, unmaps, locks each
 * folio, unmaps it again if a fault mapped it meanwhile, deletes it from
 * the page cache, and unmaps private COW copies past EOF too); and no
 * PTE or PMD may map a folio that has been freed.  Checked at the end of
 * a run, walking the page tables in address order, and for the folio
 * being freed whenever one is.
 *
 * Stale, how (the first that applies):
 *   freed          the folio went back to the allocator: any access
 *                  through the entry reads or writes someone else's page
 *   left_cache     a file folio whose mapping is NULL, or that is no
 *                  longer at its index in i_pages: truncate (or reclaim)
 *                  deleted it, and its contents will never be written
 *                  back or seen by read()
 *   past_eof       the page lies at or past EOF (its file page >= i_size
 *                  in pages; for a PMD, its last page): an access must
 *                  SIGBUS.  Applies to a private COW copy (anon) in a file
 *                  mapping too, which truncate's last unmap_mapping_range
 *                  removes.
 * left_cache and past_eof often come together (truncate deletes what
 * lies past the new EOF) and are then reported as one: "left_cache,past_eof".
 *
 * When: the end check runs only for runs where every task finished
 * (RUN_OK): truncate writes i_size before it unmaps, so a run stopped in
 * between shows PTEs past EOF that truncate was about to remove.  Nothing
 * the model does leaves a PTE to a folio being freed even for a moment
 * (zap clears the entry before it drops the reference), so that check
 * runs at every free.
 *
 * Signature: kind | PTE or PMD | how | folio kind (THP or small, file or
 * anon) | the function that installed the mapping.  The installer is what
 * tells one missing re-check from another (fault-around's
 * filemap_map_folio_range, finish_fault after ->fault, do_set_pmd); the
 * page, the folio, the task and the schedule do not enter it.  It is read
 * from the folio's reference log (ref_log_installer), which holds it
 * reliably for a folio that left the page cache: nobody can look such a
 * folio up any more, so after the stale install only the mapper's own
 * put and a zap touch its counts.  When the log no longer shows it (a
 * folio still cached and busy, or mapped before the run) the installer is
 * "unknown", and that is part of the signature.
 */
#include <string.h>

#include "analysis/checkers_int.h"

enum stale_when {
	STALE_AT_RUN_END,
	STALE_AT_FREE,
};

struct stale_state {
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
};

/* One present entry mapping a folio. */
struct stale_entry {
	const struct vm_area_struct *vma;	/* NULL: no VMA covers it */
	uint64_t address;			/* page; a PMD's first page */
	bool pmd;
	uint32_t subpage;			/* PTE: the folio's page */
	struct folio *folio;
};

/* The VMA covering addr, read without the model's accessors (which
 * yield): a checker reads state, it does not take part in the run. */
static const struct vm_area_struct *vma_covering(const struct mm_struct *mm,
						 uint64_t addr)
{
	SIM_ASSERT(mm->vmas_count <= VMAS_MAX);
	for (uint32_t i = 0; i < mm->vmas_count; i++) {
		const struct vm_area_struct *v = mm->vmas[i];
		if (v->vm_start <= addr && addr < v->vm_end)
			return v;
	}
	return NULL;
}

static bool in_page_cache(const struct folio *f)
{
	return f->mapping && f->index < FILE_PAGES_MAX &&
	       xa_slot_load(f->mapping, f->index)->folio == f;
}

/* The entry's last file page, when it lies in a file mapping. */
static bool entry_file_page(const struct stale_entry *s, pgoff_t *last)
{
	if (!s->vma || !s->vma->vm_file)
		return false;
	SIM_ASSERT(s->address >= s->vma->vm_start);
	if (s->pmd)
		SIM_ASSERT(s->address % HPAGE_PMD_NR == 0);
	*last = s->vma->vm_pgoff + (s->address - s->vma->vm_start) +
		(s->pmd ? HPAGE_PMD_NR - 1 : 0);
	return true;
}

static void report(struct stale_state *st, const struct stale_entry *s,
		   enum stale_when when, bool freed, bool left, bool past)
{
	const struct folio *f = s->folio;
	const struct folio_ref_change *inst = ref_log_installer(f);
	const char *how = freed		 ? "freed"
			  : left && past ? "left_cache,past_eof"
			  : left	 ? "left_cache"
					 : "past_eof";
	const char *level = s->pmd ? "PMD" : "PTE";
	const struct inode *inode =
		s->vma && s->vma->vm_file ? s->vma->vm_file->f_inode : NULL;
	pgoff_t last = 0;
	bool in_file = entry_file_page(s, &last);

	SIM_ASSERT(freed || left || past);
	if (past)
		SIM_ASSERT(in_file);

	uint64_t sig = sim_signature("stale_pte|");
	sig = sim_signature_mix(sig, level);
	sig = sim_signature_mix(sig, "|");
	sig = sim_signature_mix(sig, how);
	sig = sim_signature_mix(sig, "|");
	sig = sim_signature_mix(sig, folio_kind_name(f));
	sig = sim_signature_mix(sig, "|installed_by:");
	sig = sim_signature_mix(sig, inst ? inst->where : "unknown");

	struct strbuf b;
	strbuf_init(&b, st->summary, sizeof(st->summary));
	strbuf_printf(&b, "%s at page %llu maps ", level,
		      (unsigned long long)s->address);
	text_folio(&b, f);
	if (freed) {
		strbuf_puts(&b, ", which has been freed");
	} else {
		strbuf_puts(&b, ", which");
		if (left)
			strbuf_puts(&b, " left the page cache");
		if (left && past)
			strbuf_puts(&b, " and");
		if (past && inode)
			strbuf_printf(&b, " lies past EOF (i_size %llu pages)",
				      (unsigned long long)i_size_pages(inode));
	}
	if (inst) {
		const char *task = checked_task_name(inst->task);
		strbuf_printf(&b, "; installed by %s", inst->where);
		if (task)
			strbuf_printf(&b, " (%s/%u, step %llu)", task,
				      inst->task,
				      (unsigned long long)inst->step);
	}

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_str(&w, "check", when == STALE_AT_FREE ? "folio_freed" : "run_end");
	jw_str(&w, "level", s->pmd ? "pmd" : "pte");
	jw_u64(&w, "address", s->address);
	if (!s->pmd)
		jw_u64(&w, "subpage", s->subpage);
	jw_arr_begin(&w, "stale");
	if (freed)
		jw_str(&w, NULL, "freed");
	if (!freed && left)
		jw_str(&w, NULL, "left_cache");
	if (!freed && past)
		jw_str(&w, NULL, "past_eof");
	jw_arr_end(&w);
	if (s->vma)
		jw_str(&w, "vma", s->vma->name);
	else
		jw_null(&w, "vma");
	if (in_file) {
		jw_str(&w, "file", inode->name);
		jw_u64(&w, "file_page", last - (s->pmd ? HPAGE_PMD_NR - 1 : 0));
		jw_u64(&w, "i_size", inode->i_size);
		jw_u64(&w, "i_size_pages", i_size_pages(inode));
	}
	json_folio(&w, f);
	jw_bool(&w, "in_page_cache", in_page_cache(f));
	jw_i64(&w, "refcount", f->refcount);
	jw_i64(&w, "mapcount", f->mapcount);
	if (inst) {
		const char *task = checked_task_name(inst->task);
		jw_obj_begin(&w, "installed_by");
		jw_str(&w, "function", inst->where);
		if (task) {
			jw_str(&w, "task", task);
			jw_u64(&w, "task_id", inst->task);
		}
		jw_u64(&w, "step", inst->step);
		jw_obj_end(&w);
	} else {
		jw_null(&w, "installed_by");
	}
	json_ref_log(&w, f);
	jw_finish(&w);
	sim_report("stale_pte", sig, st->detail, "%s", st->summary);
}

static void check_entry(struct stale_state *st, const struct stale_entry *s,
			enum stale_when when)
{
	const struct folio *f = s->folio;
	bool freed = when == STALE_AT_FREE || f->freed;
	bool left = !folio_test(f, PG_anon) && !in_page_cache(f);
	pgoff_t last;
	bool past = entry_file_page(s, &last) &&
		    last >= i_size_pages(s->vma->vm_file->f_inode);

	if (freed || left || past)
		report(st, s, when, freed, left, past);
}

/* Every present PTE and PMD that maps a folio (only `only`, unless NULL),
 * in address order. */
static void walk(struct stale_state *st, const struct folio *only,
		 enum stale_when when)
{
	const struct mm_struct *mm = mm_world->mm;

	SIM_ASSERT(when == STALE_AT_RUN_END || only != NULL);
	for (uint32_t p = 0; mm && p < PMDS_MAX; p++) {
		const pmd_t *pmd = &mm->pmd[p];
		uint64_t base = (uint64_t)p * PTRS_PER_PTE;
		if (pmd->kind == PMD_HUGE && pmd->folio &&
		    (!only || pmd->folio == only)) {
			struct stale_entry s = {
				.vma = vma_covering(mm, base),
				.address = base,
				.pmd = true,
				.folio = pmd->folio,
			};
			check_entry(st, &s, when);
		}
		if (pmd->kind != PMD_TABLE)
			continue;
		for (uint32_t i = 0; i < PTRS_PER_PTE; i++) {
			const pte_t *pte = &pmd->table->ptes[i];
			if (pte->kind != PTE_PRESENT || !pte->folio ||
			    (only && pte->folio != only))
				continue;
			struct stale_entry s = {
				.vma = vma_covering(mm, base + i),
				.address = base + i,
				.subpage = pte->subpage,
				.folio = pte->folio,
			};
			check_entry(st, &s, when);
		}
	}
}

static void stale_run_end(struct checkers *c, void *p, struct engine *e,
			  enum run_outcome o)
{
	(void)c;
	(void)e;
	if (o != RUN_OK || !mm_world)
		return;
	walk(p, NULL, STALE_AT_RUN_END);
}

static void stale_folio_freed(struct checkers *c, void *p, struct folio *f)
{
	(void)c;
	SIM_ASSERT(f != NULL);
	if (!mm_world)
		return;
	walk(p, f, STALE_AT_FREE);
}

const struct checker_ops stale_checker = {
	.name = "stale_pte",
	.state_bytes = sizeof(struct stale_state),
	.run_end = stale_run_end,
	.folio_freed = stale_folio_freed,
};
