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
 *   PTE swap entry          -> do_swap_page (KERNEL.md 6, with the swap
 *                              model; no PTE holds one before it lands)
 *   PTE present, write, RO  -> do_wp_page (reuse, copy, or shared mkwrite)
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

#include "mm/internal.h"

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
static struct vm_area_struct *vma_walk_rcu(struct mm_struct *mm,
					   uint64_t address)
{
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
	vma = vma_walk_rcu(mm, address);
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

	mm_yield(TRACE_VMA_READ, vma->id);
	if (vma->anon_vma)
		return 0;
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

/* --------------------------------------------------- anonymous pages */

static vm_fault_t do_anonymous_page(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;
	uint32_t idx = pte_index(vmf->address);
	spinlock_t *ptl;
	struct pte_table *pt;
	vm_fault_t ret;

	SIM_ASSERT(vma_is_anonymous(vma));
	SIM_ASSERT(!(vma->vm_flags & VM_SHARED));
	fault_note_kind(FAULT_KIND_ANON);
	if (pte_alloc(mm, vmf->pmd))
		return VM_FAULT_OOM;

	/* Use the zero page for reads: no folio, no anon_vma needed. */
	if (!(vmf->flags & FAULT_FLAG_WRITE)) {
		pt = pte_offset_map_lock(mm, vmf->pmd, &ptl);
		if (!pt)
			return 0;
		if (!pte_none(ptep_get(pt, idx))) {
			SIM_MARK("do_anonymous_page: PTE changed (zero page)");
		} else {
			sim_cost(COST_SET_PTE_NS);
			set_pte_at(pt, idx, (pte_t){ .kind = PTE_PRESENT });
		}
		pte_unmap_unlock(ptl);
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

	pt = pte_offset_map_lock(mm, vmf->pmd, &ptl);
	if (!pt) {
		folio_put(folio);
		return 0;
	}
	if (!pte_none(ptep_get(pt, idx))) {
		SIM_MARK("do_anonymous_page: PTE changed (another fault won)");
		pte_unmap_unlock(ptl);
		folio_put(folio);
		return 0;
	}
	folio_add_new_anon_rmap(folio, vma, vmf->address);
	folio_ref_to_mapping(folio);
	sim_cost(COST_SET_PTE_NS);
	set_pte_at(pt, idx, (pte_t){ .kind = PTE_PRESENT, .folio = folio,
				     .write = (vma->vm_flags & VM_WRITE) != 0,
				     .dirty = true });
	pte_unmap_unlock(ptl);
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
	} else {
		folio_add_file_rmap_ptes(folio, nr);
	}
	for (uint32_t i = 0; i < nr; i++) {
		sim_cost(COST_SET_PTE_NS);
		set_pte_at(vmf->pt, pte_index(addr + i),
			   (pte_t){ .kind = PTE_PRESENT, .folio = folio,
				    .subpage = (uint16_t)(subpage + i),
				    .write = write && (vma->vm_flags & VM_WRITE),
				    .dirty = write });
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
		folio_ref_to_mapping(new);
		sim_cost(COST_SET_PTE_NS);
		set_pte_at(vmf->pt, vmf->pte_index,
			   (pte_t){ .kind = PTE_PRESENT, .folio = new,
				    .write = (vma->vm_flags & VM_WRITE) != 0,
				    .dirty = true });
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

/* ------------------------------------------------------------- dispatch */

static vm_fault_t handle_pte_fault(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	pmd_t pmdval = pmdp_get(mm, vmf->pmd);

	vmf->pt = NULL;
	vmf->pte_index = pte_index(vmf->address);
	if (pmdval.kind == PMD_HUGE) {
		/* A THP got mapped since __handle_mm_fault looked: the fault
		 * is taken again and finds it. */
		SIM_MARK("handle_pte_fault: PMD became huge");
		return 0;
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
	/* Swap, migration and device-private entries dispatch to
	 * do_swap_page (KERNEL.md 6), which arrives with the swap model;
	 * until then nothing writes a non-present entry. */
	SIM_ASSERT(pte_present(vmf->orig_pte));

	vmf->ptl = &vmf->pt->ptl;
	spin_lock(vmf->ptl);
	pte_t entry = ptep_get(vmf->pt, vmf->pte_index);
	if (!pte_same(entry, vmf->orig_pte)) {
		SIM_MARK("handle_pte_fault: PTE changed before the lock");
		goto unlock;
	}
	if (vmf->flags & FAULT_FLAG_WRITE) {
		if (!pte_write(entry))
			return do_wp_page(vmf);
		if (!entry.dirty) {
			entry.dirty = true;
			set_pte_at(vmf->pt, vmf->pte_index, entry);
		}
	}
	/* Otherwise a spurious fault (another thread mapped it first): the
	 * accessed bit is all there is to set. */
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
				    uint64_t address, unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_fault vmf = {
		.vma = vma,
		.address = address,
		.flags = flags,
		.pgoff = vma->vm_pgoff + (address - vma->vm_start),
		.pmd = pmd_of(mm, address),
	};

	SIM_ASSERT(address >= vma->vm_start && address < vma->vm_end);
	sim_cost(COST_PT_WALK_NS);
	pmd_t pmdval = pmdp_get(mm, vmf.pmd);
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
}

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address,
			   unsigned int flags)
{
	vm_fault_t ret;

	sanitize_fault_flags(flags);
	if (flags & FAULT_FLAG_VMA_LOCK)
		vma_assert_locked(vma);
	else
		mmap_assert_locked(vma->vm_mm);
	ret = __handle_mm_fault(vma, address, flags);
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

static void zap_pte_range(struct vm_area_struct *vma, pmd_t *pmd,
			  uint64_t start, uint64_t end)
{
	struct mm_struct *mm = vma->vm_mm;
	spinlock_t *ptl;
	struct pte_table *pt = pte_offset_map_lock(mm, pmd, &ptl);

	if (!pt)
		return;
	for (uint64_t a = start; a < end; a++) {
		uint32_t i = pte_index(a);
		pte_t e = ptep_get(pt, i);
		if (pte_none(e))
			continue;
		/* Swap entries are freed by free_swap_and_cache, which
		 * arrives with the swap model; until then no PTE holds one. */
		SIM_ASSERT(e.kind == PTE_PRESENT);
		set_pte_at(pt, i, (pte_t){ .kind = PTE_NONE });
		sim_cost(COST_SET_PTE_NS);
		if (!e.folio)
			continue;	/* the zero page */
		if (e.dirty && !folio_test(e.folio, PG_anon))
			folio_mark_dirty(e.folio);
		folio_remove_rmap_ptes(e.folio, 1);
		folio_put_refs(e.folio, 1);
	}
	pte_unmap_unlock(ptl);
}

void unmap_page_range(struct vm_area_struct *vma, uint64_t start,
		      uint64_t end)
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
			/* A PMD mapping lies wholly inside its VMA
			 * (thp_vma_suitable_pmd), so a whole-VMA zap covers
			 * it. */
			SIM_ASSERT(a % HPAGE_PMD_NR == 0 && stop == next);
			split_huge_pmd_file(vma, pmd);
		} else if (v.kind == PMD_TABLE) {
			zap_pte_range(vma, pmd, a, stop);
		}
		a = stop;
	}
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
		pte_free(mm, v.table);
	}
}
