/*
 * gup.c: memory accesses that go through the page tables rather than a
 * fault handler: the user store the MMU performs (user_store), the kernel
 * touching user memory (fault_in_readable, and the atomic user copy of
 * lib/iov_iter.c that write() uses with page faults disabled), and
 * get_user_pages_fast for a kernel write into a user page (gup_write).
 * What the MMU or GUP finds is a walk of the page tables; a page that is
 * not there takes a real fault through do_user_addr_fault.  Not the
 * fault handlers (memory.c), nor long-term pinning (FOLL_PIN).
 *
 * gup_write is the writer of the kernel's own comment in
 * __remove_mapping: get_user_pages takes a plain reference (FOLL_GET) to
 * the page as it is mapped, without making it writable or dirty (as a
 * driver that looks a buffer up for reading and lets its device write
 * into it does: the pattern behind the 2018 "get_user_pages() and
 * filesystems" problems); the user mapping goes away (reclaim's
 * try_to_unmap); the device writes; set_page_dirty; put_page.  Reclaim
 * does not see a FOLL_GET reference as a pin and unmaps under it, which
 * is what makes __remove_mapping's order matter (KERNEL.md 11, pattern
 * 10).
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

/* The MMU's store at uaddr: a present, writable PTE gets its accessed
 * and dirty bits set (one locked update of the entry, as the hardware
 * does it) and the page new contents.  False when it would fault. */
static bool mmu_write(uint64_t uaddr)
{
	struct mm_struct *mm = mm_world->mm;

	SIM_ASSERT(uaddr < MM_PAGES_MAX);
	SIM_ASSERT(current_mm_state()->pagefault_disabled == 0);
	sim_cost(COST_PT_WALK_NS);
	pmd_t v = pmdp_get(mm, pmd_of(mm, uaddr));
	if (v.kind == PMD_HUGE) {
		if (!v.write)
			return false;
		mm_yield(TRACE_USER_STORE, v.folio->id);
		v.folio->data = ++mm_world->data_versions;
		return true;
	}
	if (v.kind != PMD_TABLE)
		return false;
	uint32_t i = pte_index(uaddr);
	pte_t e = ptep_get(v.table, i);
	if (!pte_write(e) || !e.folio)
		return false;
	/* The walk and the update are one step: the hardware's locked
	 * update of the entry that it walked. */
	mm_yield(TRACE_USER_STORE, e.folio->id);
	e = v.table->ptes[i];
	if (!pte_write(e) || !e.folio)
		return false;
	v.table->ptes[i].dirty = true;
	v.table->ptes[i].young = true;
	e.folio->data = ++mm_world->data_versions;
	return true;
}

/* A store is retried after each fault until it lands: the run's step
 * budget, which the livelock checker judges, bounds a store that never
 * does; this bound only guards the model. */
#define USER_STORE_FAULTS_MAX STEPS_LIMIT

bool user_store(uint64_t uaddr)
{
	SIM_ASSERT(current_mm_state()->pagefault_disabled == 0);
	SIM_ASSERT(uaddr < MM_PAGES_MAX);
	for (uint64_t n = 0; n < USER_STORE_FAULTS_MAX; n++) {
		if (mmu_write(uaddr))
			return true;
		vm_fault_t f = do_user_addr_fault(uaddr, true, true);
		if (f & VM_FAULT_ERROR)
			return false;
	}
	SIM_ASSERT(!"a store faulted more often than the step budget allows");
	return false;
}

/*
 * get_user_pages_fast for one page, FOLL_GET: walk the page tables
 * without a lock (interrupts off in the kernel, which keeps the tables),
 * take a reference if the PTE maps a page, and check the PTE did not
 * change meanwhile (else drop it and fail).  The folio with the
 * reference, or NULL: the caller faults and tries again (*zero_page: the
 * PTE maps the zero page, which only a write fault replaces).
 */
static struct folio *gup_fast_one(uint64_t uaddr, bool *zero_page)
{
	struct mm_struct *mm = mm_world->mm;

	SIM_ASSERT(uaddr < MM_PAGES_MAX);
	sim_cost(COST_PT_WALK_NS);
	pmd_t v = pmdp_get(mm, pmd_of(mm, uaddr));
	if (v.kind != PMD_TABLE)
		return NULL;	/* huge mappings take the slow path here */
	uint32_t i = pte_index(uaddr);
	pte_t e = ptep_get(v.table, i);
	*zero_page = is_zero_pte(e);
	if (!pte_present(e) || !e.folio)
		return NULL;
	if (!folio_try_get(e.folio))
		return NULL;
	if (!pte_same(ptep_get(v.table, i), e)) {
		SIM_MARK("gup_fast_one: PTE changed under the walk");
		folio_put(e.folio);
		return NULL;
	}
	SIM_ASSERT(e.folio->refcount >= 2);
	return e.folio;
}

bool gup_write(uint64_t uaddr, uint64_t hold_ns)
{
	struct folio *folio;
	bool zero_page = false;

	SIM_ASSERT(current_mm_state()->pagefault_disabled == 0);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, (uint32_t)uaddr);
	/* The slow path faults the page in (from the kernel, as
	 * __get_user_pages does under mmap_lock) and walks again. */
	for (uint64_t n = 0; !(folio = gup_fast_one(uaddr, &zero_page)); n++) {
		SIM_ASSERT(n < USER_STORE_FAULTS_MAX);
		if (do_user_addr_fault(uaddr, zero_page, false) & VM_FAULT_ERROR)
			return false;
	}
	/* The device's transfer: the reference is all that holds the page;
	 * reclaim may unmap it meanwhile. */
	if (hold_ns)
		sim_sleep(hold_ns);
	sim_cost(COST_PAGE_COPY_NS);
	mm_yield(TRACE_COPY, folio->id);
	folio->data = ++mm_world->data_versions;
	/* set_page_dirty, without the folio lock. */
	folio_mark_dirty(folio);
	folio_put(folio);
	return true;
}
