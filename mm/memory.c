/*
 * memory.c: the generic fault handler (handle_mm_fault down to the
 * handlers that install a page), the per-VMA lock lookup, and the zap
 * and page-table teardown munmap uses, under the kernel's names.  Not the
 * page cache side (filemap.c), nor the arch entry and its retry loop
 * (fault.c).
 *
 * Dispatch (handle_pte_fault), as in the kernel:
 *   PMD huge, read          -> done (accessed)
 *   PMD huge, write         -> file THP: split (zap the PMD), then PTEs
 *   PTE none, anon VMA      -> do_anonymous_page (zero page on read)
 *   PTE none, file VMA      -> do_fault: do_read_fault (fault-around first,
 *                              then __do_fault + finish_fault),
 *                              do_cow_fault, do_shared_fault
 *   PTE not present         -> do_swap_page (KERNEL.md 6): swap entries,
 *                              migration and device-private entries
 *   PTE present, write, RO  -> do_wp_page (reuse, copy, or shared mkwrite)
 *
 * Speculative faults (KERNEL.md 7, the `speculative` knob) run the same
 * handlers on a copy of the VMA with FAULT_FLAG_SPECULATIVE and no lock;
 * pte_map_lock validates the mm's sequence count when it takes the PTE
 * lock.  Lespinasse's series handled anonymous VMAs: do_anonymous_page,
 * do_swap_page (seed 002) and faults that only set the accessed or dirty
 * bit.  Everything else returns VM_FAULT_RETRY (an abort: the fault is
 * redone with a lock), as do a missing page table or anon_vma, which
 * only a locked fault may create.
 *
 * Every read of a PTE or PMD is a yield point; the handlers re-check what
 * they read under the PTE lock (pte_same) exactly where the kernel does,
 * so a race the kernel survives, the model survives, and a missing
 * re-check shows up as a stale mapping or a leaked reference.
 *
 * Simplified, each without effect on the locking answers: anonymous THP
 * faults and mTHP are not modeled (THPs come from the page cache); the
 * zero page is a present PTE without a folio; TLB flushes are not modeled
 * (no other CPU caches a translation in this model); page-table pages
 * other than PTE tables never change.
 */
#include <errno.h>
#include <stdio.h>

#include "mm/internal.h"
#include "mm/page_io.h"
#include "mm/swap_state.h"
#include "mm/swapfile.h"

/* -------------------------------------------------- fault bookkeeping */

void fault_note_kind(enum fault_kind kind)
{
	struct fault_state *fs = current_mm_state()->fault;

	SIM_ASSERT(kind < FAULT_KINDS_COUNT);
	/* Faults taken outside do_user_addr_fault (none today) carry no
	 * record. */
	if (!fs)
		return;
	fs->kind = kind;
	fs->kind_set = true;
}

void fault_note_retry(const char *why)
{
	struct fault_state *fs = current_mm_state()->fault;

	SIM_ASSERT(why != NULL);
	if (fs)
		fs->retry_why = why;
}

void release_fault_lock(struct vm_fault *vmf)
{
	SIM_ASSERT(vmf->vma != NULL);
	/* A speculative fault holds no lock and never waits. */
	SIM_ASSERT(!(vmf->flags & FAULT_FLAG_SPECULATIVE));
	if (vmf->flags & FAULT_FLAG_VMA_LOCK)
		vma_end_read(vmf->vma);
	else
		mmap_read_unlock(vmf->vma->vm_mm);
}

/* ------------------------------------------------------ page tables */

void pmd_install(struct mm_struct *mm, pmd_t *pmd, struct pte_table **pte)
{
	SIM_ASSERT(*pte != NULL);
	spin_lock(&mm->pmd_lock);
	/* Has another populated it? */
	if (pmdp_get(mm, pmd).kind == PMD_NONE) {
		set_pmd_at(mm, pmd, (pmd_t){ .kind = PMD_TABLE, .table = *pte });
		*pte = NULL;
	} else {
		SIM_MARK("pmd_install: another task populated the PMD");
	}
	spin_unlock(&mm->pmd_lock);
}

static int pte_alloc(struct mm_struct *mm, pmd_t *pmd)
{
	if (pmdp_get(mm, pmd).kind != PMD_NONE)
		return 0;
	struct pte_table *new = pte_alloc_one(mm);
	pmd_install(mm, pmd, &new);
	if (new)
		pte_free(mm, new);
	return 0;
}

struct pte_table *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
				      spinlock_t **ptlp)
{
	pmd_t v = pmdp_get(mm, pmd);

	if (v.kind != PMD_TABLE)
		return NULL;
	spin_lock(&v.table->ptl);
	/* pmd_same under the lock: the table may have been freed and the
	 * PMD reused between the read and the lock. */
	pmd_t again = pmdp_get(mm, pmd);
	if (again.kind != PMD_TABLE || again.table != v.table) {
		SIM_MARK("pte_offset_map_lock: PMD changed under us");
		spin_unlock(&v.table->ptl);
		return NULL;
	}
	*ptlp = &v.table->ptl;
	return v.table;
}

void pte_unmap_unlock(spinlock_t *ptl)
{
	SIM_ASSERT(ptl != NULL);
	spin_unlock(ptl);
}

/* -------------------------------------------------- the per-VMA lock */

/* The VMA that contains address (mas_walk under RCU), or NULL. */
struct vm_area_struct *vma_lookup_rcu(struct mm_struct *mm, uint64_t address)
{
	SIM_ASSERT(current_mm_state()->rcu_depth > 0);
	SIM_ASSERT(mm->vmas_count <= VMAS_MAX);
	sim_cost(COST_VMA_LOOKUP_NS);
	mm_yield(TRACE_VMA_READ, mm->id);
	for (uint32_t i = 0; i < mm->vmas_count; i++) {
		struct vm_area_struct *v = mm->vmas[i];
		if (v->vm_start <= address && address < v->vm_end)
			return v;
	}
	return NULL;
}

/*
 * lock_vma_under_rcu (KERNEL.md 3): look the VMA up under RCU and read-
 * lock it.  A failed vma_start_read counts VMA_LOCK_ABORT (the fault falls
 * back to mmap_lock); a VMA detached after the lookup counts VMA_LOCK_MISS
 * and the lookup is repeated (bounded by the unmaps that can race with it,
 * and by the run's step budget); an address no longer inside the VMA
 * aborts.
 */
struct vm_area_struct *lock_vma_under_rcu(struct mm_struct *mm,
					  uint64_t address)
{
	struct vm_area_struct *vma;

	rcu_read_lock();
retry:
	vma = vma_lookup_rcu(mm, address);
	if (!vma)
		goto inval;
	if (!vma_start_read(mm, vma))
		goto inval;
	mm_yield(TRACE_VMA_READ, vma->id);
	if (vma->detached) {
		SIM_MARK("lock_vma_under_rcu: VMA detached after lookup");
		vma_end_read(vma);
		count_vm_event(VMA_LOCK_MISS);
		goto retry;
	}
	if (address < vma->vm_start || address >= vma->vm_end)
		goto inval_end_read;
	rcu_read_unlock();
	return vma;

inval_end_read:
	vma_end_read(vma);
inval:
	rcu_read_unlock();
	count_vm_event(VMA_LOCK_ABORT);
	return NULL;
}

/* --------------------------------------------------------- anon_vma */

/*
 * vmf_anon_prepare: a VMA needs an anon_vma before its first anonymous
 * page.  Finding a mergeable anon_vma looks at neighbouring VMAs, which
 * needs mmap_lock; under the VMA lock the kernel may only trylock it
 * (KERNEL.md 3), else drop the VMA lock and RETRY.  The `lock` knob takes
 * it with a sleeping lock instead: KERNEL.md 11, pattern 3.
 */
vm_fault_t vmf_anon_prepare(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	vm_fault_t ret = 0;

	SIM_ASSERT(vma_is_anonymous(vma) || !(vma->vm_flags & VM_SHARED));
	SIM_ASSERT(!(vmf->flags & FAULT_FLAG_VMA_LOCK) ||
		   !(vmf->flags & FAULT_FLAG_SPECULATIVE));
	mm_yield(TRACE_VMA_READ, vma->id);
	if (vma->anon_vma)
		return 0;
	/* Finding or making an anon_vma needs mmap_lock: a speculative
	 * fault, which holds no lock at all, gives up. */
	if (vmf->flags & FAULT_FLAG_SPECULATIVE) {
		SIM_MARK("vmf_anon_prepare: speculative fault without anon_vma");
		return VM_FAULT_RETRY;
	}
	if (vmf->flags & FAULT_FLAG_VMA_LOCK) {
		if (kernel_knobs()->vma_anon_fallback == VMA_ANON_FALLBACK_LOCK) {
			SIM_MARK("vmf_anon_prepare: mmap_read_lock under the VMA lock");
			mmap_read_lock(mm);
		} else if (!mmap_read_trylock(mm)) {
			SIM_MARK("vmf_anon_prepare: trylock failed, RETRY");
			vma_end_read(vma);
			fault_note_retry(__func__);
			return VM_FAULT_RETRY;
		}
	}
	if (__anon_vma_prepare(vma))
		ret = VM_FAULT_OOM;
	if (vmf->flags & FAULT_FLAG_VMA_LOCK)
		mmap_read_unlock(mm);
	return ret;
}

/* vmf_can_call_fault: ->fault() without ->map_pages may need mmap_lock
 * (KERNEL.md 3): under the VMA lock, drop it and RETRY. */
static vm_fault_t vmf_can_call_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;

	SIM_ASSERT(vma->vm_ops != NULL);
	if (vma->vm_ops->map_pages || !(vmf->flags & FAULT_FLAG_VMA_LOCK))
		return 0;
	SIM_MARK("vmf_can_call_fault: no map_pages under the VMA lock");
	vma_end_read(vma);
	fault_note_retry(__func__);
	return VM_FAULT_RETRY;
}

/* ------------------------------------------- the speculative PTE lock */

/*
 * pte_map_lock (Lespinasse 2021, seed 002): take the PTE lock of
 * vmf->address into vmf->pt / vmf->ptl.  An ordinary fault takes it as
 * pte_offset_map_lock does (vmf->pt NULL when the PMD no longer points at
 * a table) and returns true.  A speculative fault holds no lock that
 * keeps the page tables or the VMA alive, so it checks, as the series
 * does: the sequence count unchanged (no mmap_lock writer since the fault
 * began), the PMD still the one the walk saw, the PTE lock free (only a
 * trylock: the walk runs with interrupts off, where spinning could
 * deadlock against a TLB shootdown), and the sequence count again now
 * that the lock is held.  Any failure returns false, nothing locked: the
 * fault aborts with VM_FAULT_RETRY.  The `unvalidated` knob skips both
 * sequence checks.
 */
static bool pte_map_lock(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	bool validate = kernel_knobs()->speculative != SPECULATIVE_UNVALIDATED;

	SIM_ASSERT(vmf->address >= vmf->vma->vm_start &&
		   vmf->address < vmf->vma->vm_end);
	vmf->pte_index = pte_index(vmf->address);
	if (!(vmf->flags & FAULT_FLAG_SPECULATIVE)) {
		vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
		return true;
	}
	SIM_ASSERT(vmf->orig_pmd.kind == PMD_TABLE);
	vmf->pt = NULL;
	if (validate && !mmap_seq_read_check(mm, vmf->seq)) {
		SIM_MARK("pte_map_lock: sequence changed before the lock");
		return false;
	}
	pmd_t v = pmdp_get(mm, vmf->pmd);
	if (v.kind != PMD_TABLE || v.table != vmf->orig_pmd.table) {
		SIM_MARK("pte_map_lock: PMD changed");
		return false;
	}
	if (!spin_trylock(&v.table->ptl)) {
		SIM_MARK("pte_map_lock: PTE lock busy");
		return false;
	}
	if (validate && !mmap_seq_read_check(mm, vmf->seq)) {
		SIM_MARK("pte_map_lock: sequence changed under the lock");
		spin_unlock(&v.table->ptl);
		return false;
	}
	vmf->pt = v.table;
	vmf->ptl = &v.table->ptl;
	return true;
}

/* pte_spinlock: the same for a PTE already mapped (the kernel's differs
 * in skipping pte_offset_map, which the model does not have). */
static bool pte_spinlock(struct vm_fault *vmf)
{
	SIM_ASSERT(vmf->pt != NULL || (vmf->flags & FAULT_FLAG_SPECULATIVE));
	SIM_ASSERT(vmf->pte_index == pte_index(vmf->address));
	return pte_map_lock(vmf);
}

/*
 * spf_check_mapped: a model check, not kernel code.  A speculative fault
 * has just set a PTE under the PTE lock.  If munmap finished tearing down
 * the VMA's page tables before that (vma->zapped, set at the end of
 * do_munmap), nothing will ever unmap the new PTE: the folio's reference
 * leaks and the PTE outlives its VMA.  The kernel notices only much
 * later ("BUG: Bad rss-counter state" at exit); the model reports the
 * moment it happens as a `stale_pte` finding.  A PTE set before munmap's
 * zap reached it is not reported: the zap removes it.  A PTE set after
 * the zap but before munmap finished is reported by munmap itself
 * (free_pgtables, munmap_check_torn_down in mmap.c).
 */
static void spf_check_mapped(struct vm_fault *vmf, struct folio *folio)
{
	struct fault_state *fs = current_mm_state()->fault;
	char sig[160], detail[320];

	if (!(vmf->flags & FAULT_FLAG_SPECULATIVE))
		return;
	SIM_ASSERT(fs != NULL && fs->spf_vma != NULL);
	SIM_ASSERT(lock_held_by_current(&vmf->ptl->c) != NULL);
	if (!fs->spf_vma->zapped)
		return;
	SIM_MARK("spf_check_mapped: mapped after munmap tore the VMA down");
	snprintf(sig, sizeof(sig), "stale_pte:speculative:%s",
		 kernel_knobs()->speculative == SPECULATIVE_UNVALIDATED
			 ? "unvalidated" : "validated");
	snprintf(detail, sizeof(detail),
		 "{\"function\":\"spf_check_mapped\",\"vma\":\"%s\",\"page\":%llu,\"folio\":%u}",
		 fs->spf_vma->name, (unsigned long long)vmf->address,
		 folio ? folio->id : 0);
	sim_report("stale_pte", sim_signature(sig), detail,
		   "a speculative fault mapped %s at page %llu of vma \"%s\" after munmap tore its page tables down: nothing will unmap it",
		   folio ? "a folio" : "the zero page",
		   (unsigned long long)vmf->address, fs->spf_vma->name);
}

/* --------------------------------------------------- anonymous pages */

static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	bool spf = vmf->flags & FAULT_FLAG_SPECULATIVE;
	vm_fault_t ret;

	SIM_ASSERT(vma_is_anonymous(vma));
	SIM_ASSERT(!(vma->vm_flags & VM_SHARED));
	fault_note_kind(FAULT_KIND_ANON);
	/* A speculative fault never allocates page tables: handle_pte_fault
	 * aborted it when the PMD was empty. */
	if (!spf && pte_alloc(mm, vmf->pmd))
		return VM_FAULT_OOM;

	/* Use the zero page for reads: no folio, no anon_vma needed. */
	if (!(vmf->flags & FAULT_FLAG_WRITE)) {
		if (!pte_map_lock(vmf))
			return VM_FAULT_RETRY;
		if (!vmf->pt)
			return 0;
		if (!pte_none(ptep_get(vmf->pt, vmf->pte_index))) {
			SIM_MARK("do_anonymous_page: PTE changed (zero page)");
		} else {
			sim_cost(COST_SET_PTE_NS);
			set_pte_at(vmf->pt, vmf->pte_index,
				   (pte_t){ .kind = PTE_PRESENT, .young = true });
			spf_check_mapped(vmf, NULL);
		}
		pte_unmap_unlock(vmf->ptl);
		return 0;
	}

	ret = vmf_anon_prepare(vmf);
	if (ret)
		return ret;
	struct folio *folio = folio_alloc(0);
	if (!folio)
		return VM_FAULT_OOM;
	/* folio_zero_user, then __folio_mark_uptodate: nobody else can see
	 * the folio yet, so neither is a yield point. */
	sim_cost(COST_PAGE_ZERO_NS);
	folio_set(folio, PG_uptodate);

	if (!pte_map_lock(vmf)) {
		folio_put(folio);
		return VM_FAULT_RETRY;
	}
	if (!vmf->pt) {
		folio_put(folio);
		return 0;
	}
	if (!pte_none(ptep_get(vmf->pt, vmf->pte_index))) {
		SIM_MARK("do_anonymous_page: PTE changed (another fault won)");
		pte_unmap_unlock(vmf->ptl);
		folio_put(folio);
		return 0;
	}
	folio_add_new_anon_rmap(folio, vma, vmf->address);
	folio_add_lru(folio);
	folio_ref_to_mapping(folio);
	sim_cost(COST_SET_PTE_NS);
	set_pte_at(vmf->pt, vmf->pte_index,
		   (pte_t){ .kind = PTE_PRESENT, .folio = folio,
			    .write = (vma->vm_flags & VM_WRITE) != 0,
			    .dirty = true, .young = true });
	spf_check_mapped(vmf, folio);
	pte_unmap_unlock(vmf->ptl);
	return 0;
}

/* ------------------------------------------------------- mapping pages */

/*
 * set_pte_range: map nr pages of folio from page `subpage` at addr, under
 * the PTE lock the caller holds.  A write fault on a private mapping maps
 * a new anonymous copy; otherwise the pages are file pages (rmap), read-
 * only unless the fault writes a shared mapping.  The caller owns the
 * references the new PTEs take over.
 */
void set_pte_range(struct vm_fault *vmf, struct folio *folio,
		   uint32_t subpage, uint32_t nr, uint64_t addr)
{
	struct vm_area_struct *vma = vmf->vma;
	bool write = vmf->flags & FAULT_FLAG_WRITE;

	SIM_ASSERT(vmf->pt != NULL && vmf->ptl == &vmf->pt->ptl);
	SIM_ASSERT(subpage + nr <= folio_nr_pages(folio));
	lockdep_assert_held(&vmf->pt->ptl.c);
	if (write && !(vma->vm_flags & VM_SHARED)) {
		SIM_ASSERT(nr == 1);
		folio_add_new_anon_rmap(folio, vma, addr);
		folio_add_lru(folio);
	} else {
		folio_add_file_rmap_ptes(folio, nr);
	}
	for (uint32_t i = 0; i < nr; i++) {
		sim_cost(COST_SET_PTE_NS);
		set_pte_at(vmf->pt, pte_index(addr + i),
			   (pte_t){ .kind = PTE_PRESENT, .folio = folio,
				    .subpage = (uint16_t)(subpage + i),
				    .write = write && (vma->vm_flags & VM_WRITE),
				    .dirty = write, .young = true });
	}
}

/* thp_vma_suitable_order for a PMD: the aligned 2 MiB range lies inside
 * the VMA and file offsets line up with virtual addresses. */
static bool thp_vma_suitable_pmd(const struct vm_area_struct *vma,
				 uint64_t haddr)
{
	if (haddr < vma->vm_start || haddr + HPAGE_PMD_NR > vma->vm_end)
		return false;
	return (vma->vm_start - vma->vm_pgoff) % HPAGE_PMD_NR == 0;
}

/*
 * do_set_pmd: map a whole THP with one PMD.  VM_FAULT_FALLBACK when the
 * VMA refuses THPs (MADV_NOHUGEPAGE), the range does not fit, the folio
 * is small, or another task populated the PMD first.  On success the
 * caller's reference becomes the PMD's.
 */
vm_fault_t do_set_pmd(struct vm_fault *vmf, struct folio *folio)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	uint64_t haddr = vmf->address - vmf->address % HPAGE_PMD_NR;
	vm_fault_t ret = VM_FAULT_FALLBACK;

	SIM_ASSERT(pmd_of(mm, haddr) == vmf->pmd);
	if (vma->vm_flags & VM_NOHUGEPAGE) {
		SIM_MARK("do_set_pmd: VMA refuses THPs");
		return ret;
	}
	if (!thp_vma_suitable_pmd(vma, haddr) ||
	    folio->order != HPAGE_PMD_ORDER)
		return ret;
	spin_lock(&mm->pmd_lock);
	if (pmdp_get(mm, vmf->pmd).kind != PMD_NONE) {
		SIM_MARK("do_set_pmd: PMD populated meanwhile");
		goto out;
	}
	folio_add_file_rmap_pmd(folio);
	folio_ref_to_mapping(folio);
	sim_cost(COST_SET_PTE_NS);
	set_pmd_at(mm, vmf->pmd,
		   (pmd_t){ .kind = PMD_HUGE, .folio = folio,
			    .write = (vmf->flags & FAULT_FLAG_WRITE) &&
				     (vma->vm_flags & VM_WRITE) });
	ret = 0;
out:
	spin_unlock(&mm->pmd_lock);
	return ret;
}

/*
 * finish_fault: install the PTE for vmf->folio (or the COW copy) after
 * ->fault(), taking the PTE lock and checking that the PTE is still what
 * the fault saw.  A THP meeting an empty PMD is mapped whole.
 */
static vm_fault_t finish_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	bool is_cow = (vmf->flags & FAULT_FLAG_WRITE) &&
		      !(vma->vm_flags & VM_SHARED);
	struct folio *folio = is_cow ? vmf->cow_folio : vmf->folio;
	uint32_t subpage = is_cow ? 0 : (uint32_t)(vmf->pgoff - folio->index);
	uint32_t idx = pte_index(vmf->address);
	vm_fault_t ret;

	SIM_ASSERT(folio != NULL);
	SIM_ASSERT(subpage < folio_nr_pages(folio));
	if (pmdp_get(mm, vmf->pmd).kind == PMD_NONE) {
		if (folio->order == HPAGE_PMD_ORDER) {
			ret = do_set_pmd(vmf, folio);
			if (ret != VM_FAULT_FALLBACK)
				return ret;
		}
		if (vmf->prealloc_pte)
			pmd_install(mm, vmf->pmd, &vmf->prealloc_pte);
		else if (pte_alloc(mm, vmf->pmd))
			return VM_FAULT_OOM;
	}
	vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
	if (!vmf->pt)
		return VM_FAULT_NOPAGE;
	vmf->pte_index = idx;
	/* vmf_pte_changed: someone else mapped this PTE meanwhile. */
	pte_t now = ptep_get(vmf->pt, idx);
	bool changed = (vmf->flags & FAULT_FLAG_ORIG_PTE_VALID)
			       ? !pte_same(now, vmf->orig_pte)
			       : !pte_none(now);
	if (changed) {
		SIM_MARK("finish_fault: PTE changed under us");
		ret = VM_FAULT_NOPAGE;
		goto unlock;
	}
	set_pte_range(vmf, folio, subpage, 1, vmf->address);
	folio_ref_to_mapping(folio);
	ret = 0;
unlock:
	pte_unmap_unlock(vmf->ptl);
	return ret;
}

/* ---------------------------------------------------------- file faults */

/*
 * __do_fault: call ->fault (filemap_fault) with a PTE table preallocated
 * (not under the folio lock: memcg reclaim may wait on writeback of the
 * very folio).  With do_fault_locking `in_do_fault` (the kernel) it also
 * locks the folio when ->fault did not; `in_callers` (Linus 2020, patch 1)
 * leaves that to the callers.
 */
static vm_fault_t __do_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret;

	if (pmdp_get(vma->vm_mm, vmf->pmd).kind == PMD_NONE &&
	    !vmf->prealloc_pte)
		vmf->prealloc_pte = pte_alloc_one(vma->vm_mm);
	ret = vma->vm_ops->fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY |
		   VM_FAULT_DONE_COW))
		return ret;
	SIM_ASSERT(vmf->folio != NULL);
	if (kernel_knobs()->do_fault_locking == DO_FAULT_LOCKING_IN_DO_FAULT) {
		if (!(ret & VM_FAULT_LOCKED)) {
			folio_lock(vmf->folio);
			ret |= VM_FAULT_LOCKED;
		}
	}
	if (ret & VM_FAULT_LOCKED)
		SIM_ASSERT(vmf->folio->lock_owner == sim_current());
	return ret;
}

static unsigned int fault_around_pages(void)
{
	uint64_t pages = kernel_knobs()->fault_around_bytes / PAGE_SIZE_BYTES;
	unsigned int p = 1;

	/* rounddown_pow_of_two, capped at a PTE table. */
	while (p * 2 <= pages && p * 2 <= PTRS_PER_PTE)
		p *= 2;
	return pages == 0 ? 0 : p;
}

static bool should_fault_around(struct vm_fault *vmf)
{
	/* No ->map_pages?  No way to fault around... */
	if (!vmf->vma->vm_ops->map_pages)
		return false;
	/* A single page implies no faulting 'around' at all. */
	return fault_around_pages() > 1;
}

/*
 * do_fault_around: map the cached, uptodate neighbours of the faulting
 * page that are not mapped yet, over a window of fault_around_pages
 * aligned around it and clamped to the VMA and the PTE table, under RCU
 * (so ->map_pages may only trylock folios).  VM_FAULT_NOPAGE when the
 * faulting address itself got mapped.
 */
static vm_fault_t do_fault_around(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	uint64_t nr_pages = fault_around_pages();
	uint64_t pte_off = pte_index(vmf->address);
	uint64_t vma_off = vmf->pgoff - vma->vm_pgoff;
	uint64_t from_pte, to_pte, a, b;
	vm_fault_t ret;

	SIM_ASSERT(nr_pages > 1);
	SIM_ASSERT(vma_off == vmf->address - vma->vm_start);
	/* The PTE offset of the start address, clamped to the VMA. */
	a = pte_off - pte_off % nr_pages;
	b = pte_off - (pte_off < vma_off ? pte_off : vma_off);
	from_pte = a > b ? a : b;
	/* The PTE offset of the end address, clamped to the VMA and PTE. */
	to_pte = from_pte + nr_pages;
	if (to_pte > PTRS_PER_PTE)
		to_pte = PTRS_PER_PTE;
	if (to_pte > pte_off + vma_pages(vma) - vma_off)
		to_pte = pte_off + vma_pages(vma) - vma_off;
	to_pte -= 1;

	if (pmdp_get(vma->vm_mm, vmf->pmd).kind == PMD_NONE)
		vmf->prealloc_pte = pte_alloc_one(vma->vm_mm);
	rcu_read_lock();
	ret = vma->vm_ops->map_pages(vmf, vmf->pgoff + from_pte - pte_off,
				     vmf->pgoff + to_pte - pte_off);
	rcu_read_unlock();
	return ret;
}

static vm_fault_t do_read_fault(struct vm_fault *vmf)
{
	vm_fault_t ret = 0;

	fault_note_kind(FAULT_KIND_FILE_MINOR);
	/* ->map_pages first; ->fault as the fallback when the page is not
	 * ready to be mapped (cold cache or something). */
	if (should_fault_around(vmf)) {
		ret = do_fault_around(vmf);
		if (ret)
			return ret;
	}
	ret = vmf_can_call_fault(vmf);
	if (ret)
		return ret;
	ret = __do_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		return ret;
	struct folio *folio = vmf->folio;
	if (!(ret & VM_FAULT_LOCKED)) {
		/* in_callers: the lock moved here from __do_fault. */
		folio_lock(folio);
		ret |= VM_FAULT_LOCKED;
	}
	ret |= finish_fault(vmf);
	folio_unlock(folio);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		folio_put(folio);
	return ret;
}

/*
 * do_cow_fault: a write to a private file mapping whose PTE is empty:
 * read the page cache folio through ->fault and map a private copy.  The
 * page cache folio is never mapped here.  in_do_fault (the kernel) keeps
 * the source locked until the copy is mapped; in_callers (Linus 2020,
 * patch 3) unlocks it as soon as it is copied.
 */
static vm_fault_t do_cow_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret;

	fault_note_kind(FAULT_KIND_COW);
	ret = vmf_can_call_fault(vmf);
	if (!ret)
		ret = vmf_anon_prepare(vmf);
	if (ret)
		return ret;
	struct folio *cow = folio_alloc(0);
	if (!cow)
		return VM_FAULT_OOM;
	vmf->cow_folio = cow;
	ret = __do_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		goto uncharge_out;
	SIM_ASSERT(!(ret & VM_FAULT_DONE_COW));
	struct folio *src = vmf->folio;
	/* copy_mc_user_highpage, then __folio_mark_uptodate on the copy. */
	sim_cost(COST_PAGE_COPY_NS);
	mm_yield(TRACE_COPY, src->id);
	cow->data = src->data;
	folio_set(cow, PG_uptodate);
	if (kernel_knobs()->do_fault_locking == DO_FAULT_LOCKING_IN_CALLERS) {
		if (ret & VM_FAULT_LOCKED)
			folio_unlock(src);
		ret |= finish_fault(vmf);
	} else {
		ret |= finish_fault(vmf);
		folio_unlock(src);
	}
	folio_put(src);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		goto uncharge_out;
	SIM_ASSERT(vma->anon_vma != NULL);
	return ret;
uncharge_out:
	folio_put(cow);
	return ret;
}

/*
 * do_page_mkwrite: tell the filesystem a page is about to become
 * writable.  It returns with the folio locked, or 0 when the folio was
 * truncated meanwhile (the fault is then simply taken again).
 */
static vm_fault_t do_page_mkwrite(struct vm_fault *vmf, struct folio *folio)
{
	unsigned int old_flags = vmf->flags;
	vm_fault_t ret;

	vmf->flags = FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE;
	vmf->folio = folio;
	ret = vmf->vma->vm_ops->page_mkwrite(vmf);
	vmf->flags = old_flags;
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))
		return ret;
	if (!(ret & VM_FAULT_LOCKED)) {
		folio_lock(folio);
		if (!folio_mapping_read(folio)) {
			folio_unlock(folio);
			return 0;
		}
		ret |= VM_FAULT_LOCKED;
	}
	SIM_ASSERT(folio->lock_owner == sim_current());
	return ret;
}

/*
 * fault_dirty_shared_page: the folio was dirtied through a shared
 * mapping; unlock it, and throttle the dirtier.  Throttling may wait for
 * writeback, so on the first attempt the fault lock is dropped first and
 * the fault reports VM_FAULT_COMPLETED: done, lock already released.
 * Dirty throttling itself (balance_dirty_pages) is not modeled: it waits
 * on writeback progress, which belongs to the device model.
 */
static vm_fault_t fault_dirty_shared_page(struct vm_fault *vmf,
					  struct folio *folio)
{
	bool page_mkwrite = vmf->vma->vm_ops->page_mkwrite != NULL;
	bool dirtied = folio_mark_dirty(folio);
	struct address_space *mapping = folio_mapping_read(folio);

	SIM_ASSERT(!folio_test(folio, PG_anon));
	folio_unlock(folio);
	if ((dirtied || page_mkwrite) && mapping) {
		if (maybe_unlock_mmap_for_io(vmf, false)) {
			SIM_MARK("fault_dirty_shared_page: COMPLETED, lock dropped");
			return VM_FAULT_COMPLETED;
		}
	}
	return 0;
}

static vm_fault_t do_shared_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret, tmp;

	fault_note_kind(FAULT_KIND_SHARED);
	ret = vmf_can_call_fault(vmf);
	if (ret)
		return ret;
	ret = __do_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
		return ret;
	struct folio *folio = vmf->folio;
	/* ->page_mkwrite wants the folio unlocked.  Both knob settings
	 * arrive here with it locked (filemap_fault returns LOCKED), and
	 * Linus's patch 2 only avoids locking it to unlock it again, which
	 * filemap_fault never needs; the sequence of lock operations is the
	 * same. */
	if (vma->vm_ops->page_mkwrite) {
		if (ret & VM_FAULT_LOCKED)
			folio_unlock(folio);
		ret &= ~VM_FAULT_LOCKED;
		tmp = do_page_mkwrite(vmf, folio);
		if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
			folio_put(folio);
			return tmp;
		}
		ret |= tmp & VM_FAULT_LOCKED;
	}
	if (!(ret & VM_FAULT_LOCKED))
		folio_lock(folio);
	ret |= finish_fault(vmf);
	if (ret & (VM_FAULT_ERROR | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
		folio_unlock(folio);
		folio_put(folio);
		return ret;
	}
	/* The reference now belongs to the PTE; the folio is still locked. */
	ret |= fault_dirty_shared_page(vmf, folio);
	return ret;
}

static vm_fault_t do_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret;

	SIM_ASSERT(vma->vm_ops && vma->vm_ops->fault);
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		ret = do_read_fault(vmf);
	else if (!(vma->vm_flags & VM_SHARED))
		ret = do_cow_fault(vmf);
	else
		ret = do_shared_fault(vmf);
	/* The preallocated table went unused: free it. */
	if (vmf->prealloc_pte) {
		pte_free(vma->vm_mm, vmf->prealloc_pte);
		vmf->prealloc_pte = NULL;
	}
	return ret;
}

/* ------------------------------------------------------------- do_wp_page */

/* wp_page_reuse: make the present PTE writable and dirty (PTE lock held
 * on entry, released on return). */
static void wp_page_reuse(struct vm_fault *vmf)
{
	pte_t e = vmf->orig_pte;

	e.write = true;
	e.dirty = true;
	e.young = true;
	sim_cost(COST_SET_PTE_NS);
	set_pte_at(vmf->pt, vmf->pte_index, e);
	pte_unmap_unlock(vmf->ptl);
}

/*
 * wp_can_reuse_anon_folio: an anonymous folio is ours alone when its only
 * reference is our PTE's (plus the swap cache's, if it is in it).  A
 * transient reference from anyone else (reclaim, a racing lookup) makes
 * the kernel copy instead, and so does the model.
 */
static bool wp_can_reuse_anon_folio(struct folio *folio)
{
	int32_t swapcache = folio_test(folio, PG_swapcache) ? 1 : 0;

	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_READ, folio->id);
	return folio->mapcount == 1 && folio->refcount == 1 + swapcache;
}

/*
 * wp_page_copy: replace a read-only PTE (the zero page, or a page cache
 * page in a private mapping) by a private copy.  The old folio's PTE
 * reference is dropped once the new PTE is in place; the temporary
 * reference do_wp_page took is dropped at the end.
 */
static vm_fault_t wp_page_copy(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	struct folio *old = vmf->orig_pte.folio;
	vm_fault_t ret;

	fault_note_kind(FAULT_KIND_COW);
	ret = vmf_anon_prepare(vmf);
	if (ret)
		goto out;
	struct folio *new = folio_alloc(0);
	if (!new) {
		ret = VM_FAULT_OOM;
		goto out;
	}
	if (old) {
		sim_cost(COST_PAGE_COPY_NS);
		mm_yield(TRACE_COPY, old->id);
		new->data = old->data;
	} else {
		sim_cost(COST_PAGE_ZERO_NS);
	}
	folio_set(new, PG_uptodate);

	vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
	if (vmf->pt && pte_same(ptep_get(vmf->pt, vmf->pte_index),
				vmf->orig_pte)) {
		if (old)
			folio_remove_rmap_ptes(old, 1);
		folio_add_new_anon_rmap(new, vma, vmf->address);
		folio_add_lru(new);
		folio_ref_to_mapping(new);
		sim_cost(COST_SET_PTE_NS);
		set_pte_at(vmf->pt, vmf->pte_index,
			   (pte_t){ .kind = PTE_PRESENT, .folio = new,
				    .write = (vma->vm_flags & VM_WRITE) != 0,
				    .dirty = true, .young = true });
		/* The old PTE's reference. */
		if (old)
			folio_put_refs(old, 1);
	} else {
		SIM_MARK("wp_page_copy: PTE changed, copy dropped");
		folio_put(new);
	}
	if (vmf->pt)
		pte_unmap_unlock(vmf->ptl);
out:
	if (old)
		folio_put(old);
	return ret;
}

/* finish_mkwrite_fault: after ->page_mkwrite, make the PTE writable if it
 * is still the one the fault saw. */
static vm_fault_t finish_mkwrite_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;

	vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
	if (!vmf->pt)
		return VM_FAULT_NOPAGE;
	if (!pte_same(ptep_get(vmf->pt, vmf->pte_index), vmf->orig_pte)) {
		SIM_MARK("finish_mkwrite_fault: PTE changed");
		pte_unmap_unlock(vmf->ptl);
		return VM_FAULT_NOPAGE;
	}
	wp_page_reuse(vmf);
	return 0;
}

/* wp_page_shared: a write to a read-only PTE of a shared file mapping
 * (write-notify): ->page_mkwrite, make it writable, dirty the folio. */
static vm_fault_t wp_page_shared(struct vm_fault *vmf, struct folio *folio)
{
	struct vm_area_struct *vma = vmf->vma;
	vm_fault_t ret, tmp;

	fault_note_kind(FAULT_KIND_WP);
	folio_get(folio);
	SIM_ASSERT(vma->vm_ops->page_mkwrite != NULL);
	pte_unmap_unlock(vmf->ptl);
	tmp = vmf_can_call_fault(vmf);
	if (tmp) {
		folio_put(folio);
		return tmp;
	}
	tmp = do_page_mkwrite(vmf, folio);
	if (!tmp || (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE))) {
		folio_put(folio);
		return tmp;
	}
	tmp = finish_mkwrite_fault(vmf);
	if (tmp & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) {
		folio_unlock(folio);
		folio_put(folio);
		return tmp;
	}
	ret = fault_dirty_shared_page(vmf, folio);
	folio_put(folio);
	return ret;
}

/* do_wp_page: entered with the PTE lock held and the PTE present and
 * read-only; every path releases the lock. */
static vm_fault_t do_wp_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct folio *folio = vmf->orig_pte.folio;

	lockdep_assert_held(&vmf->ptl->c);
	if (vma->vm_flags & VM_SHARED) {
		SIM_ASSERT(folio != NULL);
		return wp_page_shared(vmf, folio);
	}
	if (folio && folio_test(folio, PG_anon) &&
	    wp_can_reuse_anon_folio(folio)) {
		fault_note_kind(FAULT_KIND_WP);
		wp_page_reuse(vmf);
		return 0;
	}
	/* Ok, we need to copy.  Oh, well.. */
	if (folio)
		folio_get(folio);
	pte_unmap_unlock(vmf->ptl);
	return wp_page_copy(vmf);
}

/* ----------------------------------------------------------- do_swap_page */

/*
 * should_try_to_free_swap: after swap_free, is the swap cache copy of a
 * folio about to be mapped still worth its slot?  Not when swap is more
 * than half full (vm_swap_full), nor for a write fault when the cache and
 * this fault hold the only references: the folio is about to be dirtied,
 * and dropping the cache's reference lets the write map it exclusively.
 * mlock and memcg swap limits are not modeled.
 */
static bool should_try_to_free_swap(struct folio *folio, unsigned int flags)
{
	struct swap_info_struct *si = swap_device();

	SIM_ASSERT(si != NULL);
	SIM_ASSERT(folio->lock_owner == sim_current());
	if (!folio_test_swapcache(folio))
		return false;
	if (si->inuse_pages * 2 > si->max - 1)
		return true;
	return (flags & FAULT_FLAG_WRITE) && folio->refcount == 2;
}

/*
 * pte_unmap_same (step 1): the PTE still holds what handle_pte_fault read.
 * The kernel compares under the PTE lock only where a pte_t is wider than
 * a long (i386 PAE), the one configuration where the unlocked read can
 * be torn; elsewhere step 7's pte_same under the lock catches the same
 * changes, later.  The model reads the PTE again without the lock: a
 * changed PTE ends the fault at once, as on PAE, and an unchanged one
 * costs a read.
 */
static bool pte_unmap_same(struct vm_fault *vmf)
{
	SIM_ASSERT(vmf->pt != NULL);
	SIM_ASSERT(!pte_present(vmf->orig_pte) && !pte_none(vmf->orig_pte));
	return pte_same(ptep_get(vmf->pt, vmf->pte_index), vmf->orig_pte);
}

/* The fault lock goes on a VM_FAULT_RETRY return (fault.c invariant 2):
 * the VMA lock under FAULT_FLAG_VMA_LOCK; a speculative fault holds none,
 * and a fault under mmap_lock returning RETRY here dropped it already. */
static vm_fault_t swap_retry_vma_locked(struct vm_fault *vmf, const char *why)
{
	SIM_ASSERT(vmf->flags & FAULT_FLAG_VMA_LOCK);
	SIM_ASSERT(!(vmf->flags & FAULT_FLAG_SPECULATIVE));
	vma_end_read(vmf->vma);
	fault_note_retry(why);
	return VM_FAULT_RETRY;
}

/*
 * do_swap_page (KERNEL.md 6; the numbers are its steps): a fault on a
 * non-present PTE.  Entered without the PTE lock, with vmf->orig_pte the
 * entry handle_pte_fault read.  Returns with the PTE lock released and,
 * on VM_FAULT_RETRY, the fault lock released (or never held).
 *
 * The references: a folio from the swap cache comes with the lookup's
 * reference, a new one (skip-swapcache) with the allocation's; mapping it
 * hands that reference to the PTE.  The slot: swap_free drops the PTE's
 * count once the folio is mapped; a skip-swapcache fault also holds
 * SWAP_HAS_CACHE (swapcache_prepare) from before its read until the PTE
 * lock is released, so that nobody can free and reuse the slot in
 * between (swapcache_fence `off` does without, KERNEL.md 11 pattern 9).
 *
 * The knobs: swap_vma_lock (under FAULT_FLAG_VMA_LOCK; retry_all here,
 * the others in __folio_lock_or_retry, filemap.c), swapcache_fence, and
 * speculative, under which the fault gives up (VM_FAULT_RETRY) unless
 * the entry is a swap entry whose folio is in the swap cache, and only
 * trylocks the folio (seed 002).
 *
 * Simplified: the swap PTE is always exclusive (no fork, no KSM), so a
 * write fault maps the folio writable at once; a read fault maps it
 * read-only and a later write reuses it in do_wp_page.  swapoff is not
 * modeled (get_swap_device cannot fail).
 */
static vm_fault_t do_swap_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	const struct kernel_knobs *kn = kernel_knobs();
	bool spf = vmf->flags & FAULT_FLAG_SPECULATIVE;
	bool need_clear_cache = false;
	struct folio *folio = NULL, *swapcache = NULL;
	vm_fault_t ret = 0;

	/* 1. */
	if (!pte_unmap_same(vmf)) {
		SIM_MARK("do_swap_page: PTE changed before the fault looked");
		return 0;
	}
	/* v6.4 (Feb 2023): no swap fault under the per-VMA lock at all. */
	if ((vmf->flags & FAULT_FLAG_VMA_LOCK) &&
	    kn->swap_vma_lock == SWAP_VMA_LOCK_RETRY_ALL) {
		SIM_MARK("do_swap_page: retry_all under the VMA lock");
		return swap_retry_vma_locked(vmf, __func__);
	}

	/* 2. Non-swap entries. */
	if (vmf->orig_pte.kind != PTE_SWAP) {
		if (spf) {
			SIM_MARK("do_swap_page: speculative, not a swap entry");
			return VM_FAULT_RETRY;
		}
		if (vmf->orig_pte.kind == PTE_MIGRATION) {
			/* Wait for the migration, holding the fault lock;
			 * the fault is then taken again. */
			migration_entry_wait(vmf);
			return 0;
		}
		SIM_ASSERT(vmf->orig_pte.kind == PTE_DEVICE_PRIVATE);
		/* migrate_to_ram is not ready to run under the VMA lock. */
		if (vmf->flags & FAULT_FLAG_VMA_LOCK) {
			SIM_MARK("do_swap_page: device-private under the VMA lock");
			return swap_retry_vma_locked(vmf, __func__);
		}
		return migrate_to_ram(vmf);
	}

	swp_entry_t entry = vmf->orig_pte.swp;
	struct swap_info_struct *si = swp_swap_info(entry);
	bool synchronous = si->flags & SWP_SYNCHRONOUS_IO;
	fault_note_kind(synchronous ? FAULT_KIND_SWAP_ZRAM : FAULT_KIND_SWAP_DISK);

	/* 3. */
	folio = swap_cache_get_folio(entry);
	swapcache = folio;
	if (!folio) {
		if (spf) {
			SIM_MARK("do_swap_page: speculative, not in the swap cache");
			return VM_FAULT_RETRY;
		}
		/* 4. */
		if (synchronous && __swap_count(entry) == 1) {
			/* Skip the swap cache.  Without SWAP_HAS_CACHE another
			 * fault could swap the entry in too, free it, and a
			 * swap-out reuse it: undetectable by pte_same. */
			if (kn->swapcache_fence == SWAPCACHE_FENCE_ON) {
				if (swapcache_prepare(entry)) {
					SIM_MARK("do_swap_page: swapcache_prepare raced, back off a tick");
					/* Relax a bit, holding the fault lock;
					 * the fault is taken again. */
					sim_sleep(SWAPCACHE_BACKOFF_NS);
					return 0;
				}
				need_clear_cache = true;
			}
			folio = folio_alloc(0);
			if (folio) {
				folio_set(folio, PG_anon);	/* swapbacked */
				folio_lock_new(folio);
				folio_add_lru(folio);
				/* To provide the entry to swap_read_folio. */
				folio->swap = entry;
				swap_read_folio(folio);
				folio->swap.val = 0;
				/* Synchronous: read and unlocked already. */
				SIM_ASSERT(!folio_test_locked(folio));
			}
		} else {
			folio = swapin_readahead(entry);
			swapcache = folio;
		}
		if (!folio) {
			/* Back out if somebody else faulted in this PTE
			 * while we looked. */
			SIM_MARK("do_swap_page: no folio for the entry");
			pte_map_lock(vmf);
			if (vmf->pt && pte_same(ptep_get(vmf->pt, vmf->pte_index),
						vmf->orig_pte))
				ret = VM_FAULT_OOM;
			goto unlock;
		}
		/* Had to read the page from swap: a major fault. */
		struct fault_state *fs = current_mm_state()->fault;
		ret = VM_FAULT_MAJOR;
		count_vm_event(PGMAJFAULT);
		if (fs)
			fs->major = true;
	}

	/* 5. */
	if (spf) {
		if (!folio_trylock(folio)) {
			SIM_MARK("do_swap_page: speculative trylock failed");
			ret = VM_FAULT_RETRY;
			goto out_release;
		}
	} else {
		ret |= folio_lock_or_retry(folio, vmf);
		if (ret & VM_FAULT_RETRY)
			goto out_release;
	}

	/* 6. folio_free_swap or reclaim may have taken it out of the swap
	 * cache, or put it back for another entry, before we locked it. */
	if (swapcache && (!folio_test_swapcache(folio) ||
			  folio->swap.val != entry.val)) {
		SIM_MARK("do_swap_page: left the swap cache before the lock");
		goto out_page;
	}

	/* 7. Back out if somebody else already faulted in this PTE. */
	if (!pte_map_lock(vmf)) {
		ret = VM_FAULT_RETRY;
		goto out_page;
	}
	if (!vmf->pt)
		goto out_page;
	if (!pte_same(ptep_get(vmf->pt, vmf->pte_index), vmf->orig_pte)) {
		SIM_MARK("do_swap_page: PTE changed, back out");
		goto out_nomap;
	}
	if (!folio_test_uptodate(folio)) {
		ret = VM_FAULT_SIGBUS;
		goto out_nomap;
	}
	/* A model check, not kernel code: a folio read past the swap cache
	 * must hold what the slot holds now.  With SWAP_HAS_CACHE pinned
	 * nobody can have written the slot since; without it the slot may
	 * have been freed and reused while pte_same still matches. */
	if (!swapcache && folio->data != si->slot_data[swp_offset(entry)]) {
		char detail[256];
		snprintf(detail, sizeof(detail),
			 "{\"function\":\"do_swap_page\",\"page\":%llu,\"slot\":%u,\"mapped_version\":%llu,\"slot_version\":%llu}",
			 (unsigned long long)vmf->address, swp_offset(entry),
			 (unsigned long long)folio->data,
			 (unsigned long long)si->slot_data[swp_offset(entry)]);
		sim_report("stale_data", sim_signature("stale_data:do_swap_page:skip_swapcache"),
			   detail,
			   "do_swap_page maps stale data at page %llu: swap slot %u was freed and reused after this fault read it",
			   (unsigned long long)vmf->address, swp_offset(entry));
	}

	/* Remove the swap entry and conditionally try to free up the swap
	 * cache: we hold a reference on the folio but have not mapped it. */
	swap_free(entry);
	if (should_try_to_free_swap(folio, vmf->flags) && folio_free_swap(folio))
		SIM_MARK("do_swap_page: freed the swap cache copy");
	pte_t pte = { .kind = PTE_PRESENT, .folio = folio, .young = true };
	if (vmf->flags & FAULT_FLAG_WRITE) {
		/* Exclusive (see above): map it writable and dirty. */
		pte.write = (vma->vm_flags & VM_WRITE) != 0;
		pte.dirty = true;
		vmf->flags &= ~FAULT_FLAG_WRITE;
	}
	if (swapcache) {
		folio_add_anon_rmap_pte(folio, vma, vmf->address);
	} else {
		folio_add_new_anon_rmap(folio, vma, vmf->address);
	}
	folio_ref_to_mapping(folio);
	sim_cost(COST_SET_PTE_NS);
	set_pte_at(vmf->pt, vmf->pte_index, pte);
	spf_check_mapped(vmf, folio);
	folio_unlock(folio);
unlock:
	if (vmf->pt)
		pte_unmap_unlock(vmf->ptl);
	/* Clear the swap cache pin of the skip path after the PTE lock. */
	if (need_clear_cache)
		swapcache_clear(si, entry);
	return ret;

out_nomap:
	pte_unmap_unlock(vmf->ptl);
out_page:
	folio_unlock(folio);
out_release:
	folio_put(folio);
	if (need_clear_cache)
		swapcache_clear(si, entry);
	return ret;
}

/* ------------------------------------------------------------- dispatch */

static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	bool spf = vmf->flags & FAULT_FLAG_SPECULATIVE;
	pmd_t pmdval = pmdp_get(mm, vmf->pmd);

	SIM_ASSERT(vmf->pmd == pmd_of(mm, vmf->address));
	if (spf)
		SIM_ASSERT(vma_is_anonymous(vmf->vma));
	vmf->pt = NULL;
	vmf->pte_index = pte_index(vmf->address);
	vmf->orig_pmd = pmdval;
	if (pmdval.kind == PMD_HUGE) {
		/* A THP got mapped since __handle_mm_fault looked: the fault
		 * is taken again and finds it. */
		SIM_MARK("handle_pte_fault: PMD became huge");
		return 0;
	}
	/* Page tables are allocated only with a lock that keeps them. */
	if (spf && pmdval.kind != PMD_TABLE) {
		SIM_MARK("handle_pte_fault: speculative, no page table");
		return VM_FAULT_RETRY;
	}
	if (pmdval.kind == PMD_TABLE) {
		vmf->orig_pte = ptep_get(pmdval.table, vmf->pte_index);
		vmf->flags |= FAULT_FLAG_ORIG_PTE_VALID;
		if (!pte_none(vmf->orig_pte))
			vmf->pt = pmdval.table;
	}
	if (!vmf->pt) {
		/* do_pte_missing */
		if (vma_is_anonymous(vmf->vma))
			return do_anonymous_page(vmf);
		return do_fault(vmf);
	}
	if (!pte_present(vmf->orig_pte))
		return do_swap_page(vmf);

	if (spf) {
		if (!pte_spinlock(vmf))
			return VM_FAULT_RETRY;
	} else {
		vmf->ptl = &vmf->pt->ptl;
		spin_lock(vmf->ptl);
	}
	pte_t entry = ptep_get(vmf->pt, vmf->pte_index);
	if (!pte_same(entry, vmf->orig_pte)) {
		SIM_MARK("handle_pte_fault: PTE changed before the lock");
		goto unlock;
	}
	if (vmf->flags & FAULT_FLAG_WRITE) {
		if (!pte_write(entry)) {
			if (spf) {
				/* wp_page_copy's speculative version is not
				 * modeled: the fault is redone with a lock. */
				SIM_MARK("handle_pte_fault: speculative write-protect fault");
				pte_unmap_unlock(vmf->ptl);
				return VM_FAULT_RETRY;
			}
			return do_wp_page(vmf);
		}
		entry.dirty = true;
	}
	/* Otherwise a spurious fault (another thread mapped it first): the
	 * accessed and dirty bits are all there is to set
	 * (ptep_set_access_flags writes only a change). */
	entry.young = true;
	if (!pte_same(entry, vmf->orig_pte)) {
		sim_cost(COST_SET_PTE_NS);
		set_pte_at(vmf->pt, vmf->pte_index, entry);
	}
unlock:
	pte_unmap_unlock(vmf->ptl);
	return 0;
}

/* __split_huge_pmd for a file THP: the PMD mapping is simply removed
 * (the page cache keeps the folio); the fault then maps PTEs. */
static void split_huge_pmd_file(struct vm_area_struct *vma, pmd_t *pmd)
{
	struct mm_struct *mm = vma->vm_mm;

	spin_lock(&mm->pmd_lock);
	pmd_t v = pmdp_get(mm, pmd);
	if (v.kind == PMD_HUGE) {
		SIM_ASSERT(!vma_is_anonymous(vma));
		set_pmd_at(mm, pmd, (pmd_t){ .kind = PMD_NONE });
		folio_remove_rmap_pmd(v.folio);
		folio_put_refs(v.folio, 1);
	}
	spin_unlock(&mm->pmd_lock);
}

static vm_fault_t __handle_mm_fault(struct vm_area_struct *vma,
				    uint64_t address, unsigned int flags,
				    uint64_t seq)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_fault vmf = {
		.vma = vma,
		.address = address,
		.flags = flags,
		.pgoff = vma->vm_pgoff + (address - vma->vm_start),
		.pmd = pmd_of(mm, address),
		.seq = seq,
	};

	SIM_ASSERT(address >= vma->vm_start && address < vma->vm_end);
	sim_cost(COST_PT_WALK_NS);
	pmd_t pmdval = pmdp_get(mm, vmf.pmd);
	/* The series gave up on huge PMDs; only file THPs are mapped by one
	 * here, and a speculative fault only runs on anonymous VMAs. */
	if (flags & FAULT_FLAG_SPECULATIVE)
		SIM_ASSERT(pmdval.kind != PMD_HUGE);
	if (pmdval.kind == PMD_HUGE) {
		if (!(flags & FAULT_FLAG_WRITE) || pmdval.write)
			return 0;	/* huge_pmd_set_accessed */
		/* wp_huge_pmd: no COW or write-notify at PMD level for file
		 * THPs; split and fall back to PTEs. */
		SIM_MARK("__handle_mm_fault: write to a PMD-mapped file THP");
		split_huge_pmd_file(vma, vmf.pmd);
	}
	return handle_pte_fault(&vmf);
}

/* sanitize_fault_flags: the legal sets (KERNEL.md 4).  A violation is a
 * bug in the model's callers, never an input. */
static void sanitize_fault_flags(unsigned int flags)
{
	if (flags & FAULT_FLAG_TRIED)
		SIM_ASSERT(flags & FAULT_FLAG_ALLOW_RETRY);
	if (flags & FAULT_FLAG_RETRY_NOWAIT)
		SIM_ASSERT(flags & FAULT_FLAG_ALLOW_RETRY);
	if (flags & FAULT_FLAG_VMA_LOCK) {
		SIM_ASSERT(flags & FAULT_FLAG_ALLOW_RETRY);
		SIM_ASSERT(!(flags & FAULT_FLAG_RETRY_NOWAIT));
	}
	/* A speculative fault aborts through RETRY and holds no lock. */
	if (flags & FAULT_FLAG_SPECULATIVE) {
		SIM_ASSERT(flags & FAULT_FLAG_ALLOW_RETRY);
		SIM_ASSERT(!(flags & (FAULT_FLAG_VMA_LOCK | FAULT_FLAG_TRIED)));
	}
}

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address,
			   unsigned int flags)
{
	SIM_ASSERT(!(flags & FAULT_FLAG_SPECULATIVE));
	SIM_ASSERT(vma != NULL);
	return do_handle_mm_fault(vma, address, flags, 0);
}

vm_fault_t do_handle_mm_fault(struct vm_area_struct *vma, uint64_t address,
			      unsigned int flags, uint64_t seq)
{
	vm_fault_t ret;

	sanitize_fault_flags(flags);
	if (flags & FAULT_FLAG_SPECULATIVE) {
		/* No lock to assert: the VMA is a copy, validated by seq. */
		SIM_ASSERT(vma_is_anonymous(vma));
		SIM_ASSERT(seq % 2 == 0);
	} else if (flags & FAULT_FLAG_VMA_LOCK) {
		vma_assert_locked(vma);
	} else {
		mmap_assert_locked(vma->vm_mm);
	}
	ret = __handle_mm_fault(vma, address, flags, seq);
	/* mm_account_fault: an incomplete (RETRY) fault is accounted when
	 * it completes; failed faults count too. */
	if (!(ret & VM_FAULT_RETRY))
		count_vm_event(PGFAULT);
	/* A RETRY without ALLOW_RETRY has nowhere to go. */
	if (ret & VM_FAULT_RETRY)
		SIM_ASSERT(flags & FAULT_FLAG_ALLOW_RETRY);
	return ret;
}

/* ------------------------------------------------------------- zapping */

/* should_zap_folio: what a zap with details leaves alone (see
 * struct zap_details in internal.h). */
static bool should_zap_folio(const struct zap_details *details,
			     const struct folio *folio)
{
	SIM_ASSERT(!folio || !folio->freed);
	if (details)
		SIM_ASSERT(!details->single_folio || !details->even_cows);
	if (!details)
		return true;
	if (details->single_folio)
		return folio == details->single_folio;
	/* Otherwise the file pages only, unless even_cows. */
	return details->even_cows || !folio || !folio_test(folio, PG_anon);
}

/*
 * zap_pte_range: clear the PTEs of [start, end) in one table, under its
 * lock.  A present PTE drops its rmap and reference (a dirty file page is
 * dirtied first); a device-private entry likewise; a swap entry gives
 * its slot reference back (free_swap_and_cache); a migration entry holds
 * nothing.
 */
static void zap_pte_range(struct vm_area_struct *vma, pmd_t *pmd,
			  uint64_t start, uint64_t end,
			  const struct zap_details *details)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	struct pte_table *pt = pte_offset_map_lock(mm, pmd, &ptl);

	SIM_ASSERT(start < end && (end - 1) / PTRS_PER_PTE == start / PTRS_PER_PTE);
	if (!pt)
		return;
	for (uint64_t a = start; a < end; a++) {
		uint32_t i = pte_index(a);
		pte_t e = ptep_get(pt, i);
		if (pte_none(e))
			continue;
		if (e.kind == PTE_SWAP) {
			/* A swap entry is an anonymous page: kept by a zap of
			 * file pages alone. */
			if (details && (details->single_folio || !details->even_cows))
				continue;
			set_pte_at(pt, i, (pte_t){ .kind = PTE_NONE });
			sim_cost(COST_SET_PTE_NS);
			free_swap_and_cache(e.swp);
			continue;
		}
		if (!should_zap_folio(details, e.folio))
			continue;
		/* Clear it atomically: the dirty bit the MMU may set right
		 * now must reach the folio. */
		sim_cost(COST_SET_PTE_NS);
		e = ptep_get_and_clear(pt, i);
		if (e.kind == PTE_MIGRATION || !e.folio)
			continue;	/* no reference: migration, zero page */
		SIM_ASSERT(e.kind == PTE_PRESENT || e.kind == PTE_DEVICE_PRIVATE);
		if (e.dirty && !folio_test(e.folio, PG_anon))
			folio_mark_dirty(e.folio);
		folio_remove_rmap_ptes(e.folio, 1);
		folio_put_refs(e.folio, 1);
	}
	pte_unmap_unlock(ptl);
}

/* The zap of [start, end) of vma, PMD by PMD. */
static void zap_range(struct vm_area_struct *vma, uint64_t start,
		      uint64_t end, const struct zap_details *details)
{
	struct mm_struct *mm = vma->vm_mm;

	SIM_ASSERT(start >= vma->vm_start && end <= vma->vm_end);
	SIM_ASSERT(start < end);
	for (uint64_t a = start; a < end;) {
		uint64_t next = (a / PTRS_PER_PTE + 1) * PTRS_PER_PTE;
		uint64_t stop = next < end ? next : end;
		pmd_t *pmd = pmd_of(mm, a);
		pmd_t v = pmdp_get(mm, pmd);

		if (v.kind == PMD_HUGE) {
			/* A file THP: zapped whole when the zap covers the
			 * PMD (munmap) or names the folio (truncate's
			 * unmap_mapping_folio); a partial zap splits it, which
			 * here is the same removal (split_huge_pmd_file), the
			 * PTEs that a split would leave being refaulted. */
			if (!details || !details->single_folio ||
			    details->single_folio == v.folio)
				split_huge_pmd_file(vma, pmd);
		} else if (v.kind == PMD_TABLE) {
			zap_pte_range(vma, pmd, a, stop, details);
		}
		a = stop;
	}
}

void unmap_page_range(struct vm_area_struct *vma, uint64_t start,
		      uint64_t end)
{
	SIM_ASSERT(start >= vma->vm_start && end <= vma->vm_end);
	SIM_ASSERT(start < end);
	zap_range(vma, start, end, NULL);
}

void zap_page_range_single(struct vm_area_struct *vma, uint64_t start,
			   uint64_t end, const struct zap_details *details)
{
	SIM_ASSERT(details != NULL);
	SIM_ASSERT(vma->vm_file != NULL);
	zap_range(vma, start, end, details);
}

static bool pmd_range_in_use(const struct mm_struct *mm, uint64_t pmd_start)
{
	uint64_t pmd_end = pmd_start + PTRS_PER_PTE;

	for (uint32_t i = 0; i < mm->vmas_count; i++)
		if (mm->vmas[i]->vm_start < pmd_end &&
		    pmd_start < mm->vmas[i]->vm_end)
			return true;
	return false;
}

/* A model check, not kernel code: the first entry left in a PTE table
 * that is about to be freed, or PTRS_PER_PTE when it is empty. */
static uint32_t pte_table_first_entry(const struct pte_table *pt)
{
	SIM_ASSERT(pt != NULL);
	SIM_ASSERT(lock_held_by_current(&pt->ptl.c) != NULL);
	for (uint32_t i = 0; i < PTRS_PER_PTE; i++)
		if (pt->ptes[i].kind != PTE_NONE)
			return i;
	return PTRS_PER_PTE;
}

/*
 * free_pgtables: free the PTE tables no VMA uses any more.  Before the
 * memory is reused the kernel waits for lockless walkers (the TLB
 * shootdown IPI that interrupts-off walkers such as a speculative fault
 * hold off, or an RCU grace period); the model waits for whoever holds
 * the table's PTE lock, the one thing such a walker can still be doing.
 *
 * Every entry of the range was zapped, so a table still holding one was
 * filled by something that did not respect munmap: the kernel would free
 * it with a live mapping (a leaked page, "BUG: Bad rss-counter state").
 * The model reports a `stale_pte` finding and keeps the table out of use
 * (unreachable, never freed), so the folio's reference shows as leaked.
 */
void free_pgtables(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	SIM_ASSERT(start < end && end <= MM_PAGES_MAX);
	mmap_assert_locked(mm);
	for (uint64_t p = start / PTRS_PER_PTE * PTRS_PER_PTE; p < end;
	     p += PTRS_PER_PTE) {
		pmd_t *pmd = pmd_of(mm, p);
		if (pmdp_get(mm, pmd).kind != PMD_TABLE ||
		    pmd_range_in_use(mm, p))
			continue;
		spin_lock(&mm->pmd_lock);
		pmd_t v = pmdp_get(mm, pmd);
		set_pmd_at(mm, pmd, (pmd_t){ .kind = PMD_NONE });
		spin_unlock(&mm->pmd_lock);
		SIM_ASSERT(v.kind == PMD_TABLE);
		spin_lock(&v.table->ptl);
		uint32_t live = pte_table_first_entry(v.table);
		spin_unlock(&v.table->ptl);
		if (live == PTRS_PER_PTE) {
			pte_free(mm, v.table);
			continue;
		}
		SIM_MARK("free_pgtables: PTE table still maps something");
		char detail[192];
		snprintf(detail, sizeof(detail),
			 "{\"function\":\"free_pgtables\",\"page\":%llu,\"folio\":%u}",
			 (unsigned long long)(p + live),
			 v.table->ptes[live].folio ? v.table->ptes[live].folio->id : 0);
		sim_report("stale_pte", sim_signature("stale_pte:free_pgtables"),
			   detail,
			   "free_pgtables frees the PTE table of page %llu with an entry still in it: the mapped page leaks",
			   (unsigned long long)(p + live));
	}
}
