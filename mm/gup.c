/*
 * gup.c: the kernel touching user memory: fault_in_readable (mm/gup.c)
 * and the atomic user copy (copy_folio_from_iter_atomic, lib/iov_iter.c)
 * that write() uses with page faults disabled.  What the MMU would find
 * is a walk of the page tables; a page that is not present takes a real
 * fault through do_user_addr_fault from kernel mode (no FAULT_FLAG_USER,
 * so no per-VMA lock, as x86 does for kernel-mode faults).  Not GUP
 * proper (get_user_pages), which no modeled path needs.
 */
#include "mm/internal.h"

void pagefault_disable(void)
{
	struct task_mm *tm = current_mm_state();

	SIM_ASSERT(tm->pagefault_disabled < UINT32_MAX);
	tm->pagefault_disabled++;
}

void pagefault_enable(void)
{
	struct task_mm *tm = current_mm_state();

	SIM_ASSERT(tm->pagefault_disabled > 0);
	tm->pagefault_disabled--;
}

/* What the MMU finds for a read at uaddr: the folio's content version,
 * or false when the translation is not present (it would fault).  The
 * zero page reads as version 0. */
static bool mmu_read(uint64_t uaddr, uint64_t *data)
{
	struct mm_struct *mm = mm_world->mm;

	SIM_ASSERT(uaddr < MM_PAGES_MAX);
	sim_cost(COST_PT_WALK_NS);
	pmd_t v = pmdp_get(mm, pmd_of(mm, uaddr));
	if (v.kind == PMD_HUGE) {
		*data = v.folio->data;
		return true;
	}
	if (v.kind != PMD_TABLE)
		return false;
	pte_t e = ptep_get(v.table, pte_index(uaddr));
	if (!pte_present(e))
		return false;
	*data = e.folio ? e.folio->data : 0;
	return true;
}

uint32_t fault_in_readable(uint64_t uaddr, uint32_t pages)
{
	uint64_t data;

	SIM_ASSERT(pages > 0);
	SIM_ASSERT(current_mm_state()->pagefault_disabled == 0);
	for (uint32_t i = 0; i < pages; i++) {
		if (mmu_read(uaddr + i, &data))
			continue;
		vm_fault_t f = do_user_addr_fault(uaddr + i, false, false);
		if (f & VM_FAULT_ERROR)
			return pages - i;
		/* The access is retried by the instruction; a fault that
		 * completed without mapping (a racing unmap) is simply taken
		 * again by the caller's next attempt. */
	}
	return 0;
}

bool copy_page_from_user_atomic(struct folio *dst, uint64_t uaddr)
{
	uint64_t data;
	bool ok;

	pagefault_disable();
	mm_yield(TRACE_COPY, dst->id);
	ok = mmu_read(uaddr, &data);
	if (ok) {
		/* The destination gets new content: a version no folio has
		 * had before, so a write that is later lost shows. */
		sim_cost(COST_PAGE_COPY_NS);
		dst->data = ++mm_world->data_versions;
	} else {
		SIM_MARK("copy_page_from_user_atomic: source not present");
	}
	pagefault_enable();
	return ok;
}
