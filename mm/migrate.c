/*
 * migrate.c: page migration of one anonymous folio (migrate_pages as
 * move_pages(2), compaction or NUMA balancing drive it: the `migrate`
 * operation), the wait of a fault that meets a migration entry
 * (migration_entry_wait), and a device driver bringing device-private
 * memory back on a fault (migrate_to_ram).  Not the rmap walks that
 * install and remove migration entries (rmap.c).
 *
 * A migration (states; invariants):
 *
 *   src mapped --folio_lock, try_to_migrate--> every PTE of src a
 *   migration entry --copy, remove_migration_ptes(src, dst)--> every
 *   entry a PTE of dst --unlock--> src freed.
 *   If someone else holds a reference to src at the copy
 *   (folio_migrate_mapping's refcount check), the entries go back to src
 *   (remove_migration_ptes(src, src)) and the migration is retried, up to
 *   NR_MAX_MIGRATE_PAGES_RETRY passes.
 *
 *  1. While a PTE holds a migration entry for src, src is locked by the
 *     migrating task: a fault that finds the entry waits for that lock.
 *  2. A migration entry holds no reference and no mapcount; the
 *     migrating task's reference keeps src.
 *
 * Simplified: one small anonymous folio at a time, not in the swap cache
 * (migrating a swap cache folio also moves its cache entry, which adds
 * xarray work and no lock that the fault paths meet); MIGRATE_SYNC mode
 * only.  migration_entry_wait is the v5.18 one: it takes a reference
 * under the PTE lock and drops it as it starts waiting
 * (put_and_wait_on_page_locked).  Since v5.19 it takes none
 * (migration_entry_wait_on_locked); the wait is the same, and only the
 * short window in which the old waiter's reference makes the migration
 * retry differs.
 */
#include <errno.h>

#include "mm/internal.h"

/* migrate_pages' passes over a folio that cannot be migrated yet
 * (NR_MAX_MIGRATE_PAGES_RETRY in mm/migrate.c). */
#define NR_MAX_MIGRATE_PAGES_RETRY 10

void migration_entry_wait(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->vma->vm_mm;
	spinlock_t *ptl;
	struct pte_table *pt = pte_offset_map_lock(mm, vmf->pmd, &ptl);

	SIM_ASSERT(!(vmf->flags & FAULT_FLAG_SPECULATIVE));
	SIM_ASSERT(vmf->orig_pte.kind == PTE_MIGRATION);
	if (!pt)
		return;
	pte_t e = ptep_get(pt, pte_index(vmf->address));
	if (e.kind != PTE_MIGRATION) {
		SIM_MARK("migration_entry_wait: migration already over");
		pte_unmap_unlock(ptl);
		return;
	}
	struct folio *folio = e.folio;
	/* Under the PTE lock the entry pins nothing, but the migration
	 * cannot have finished: a reference may be taken if the folio is
	 * not on its way to being freed. */
	if (!folio_try_get(folio)) {
		pte_unmap_unlock(ptl);
		return;
	}
	pte_unmap_unlock(ptl);
	SIM_MARK("migration_entry_wait: waits for the migration");
	folio_put_wait_locked(folio);
}

/*
 * The device-private branch of do_swap_page and the driver's
 * migrate_to_ram (lib/test_hmm.c's dmirror_devmem_fault is the model):
 * under the PTE lock check the entry and take a reference on the device
 * folio; then copy it into a new folio and replace the entry if it is
 * still the one the fault saw.  The driver's migrate_vma_setup / pages /
 * finalize sequence, which holds the device folio locked and puts a
 * migration entry in place while it copies, is reduced to the copy and
 * a pte_same-checked replacement: a racing fault on the same page either
 * still finds the device entry (and copies too, its copy then dropped)
 * or finds the new PTE.
 */
vm_fault_t migrate_to_ram(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mm_struct *mm = vma->vm_mm;

	SIM_ASSERT(vmf->orig_pte.kind == PTE_DEVICE_PRIVATE);
	SIM_ASSERT(!(vmf->flags & (FAULT_FLAG_VMA_LOCK | FAULT_FLAG_SPECULATIVE)));
	vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
	if (!vmf->pt)
		return 0;
	if (!pte_same(ptep_get(vmf->pt, vmf->pte_index), vmf->orig_pte)) {
		pte_unmap_unlock(vmf->ptl);
		return 0;
	}
	/* Get a reference while we know the folio cannot be freed. */
	struct folio *dev = vmf->orig_pte.folio;
	folio_get(dev);
	pte_unmap_unlock(vmf->ptl);

	struct folio *new = folio_alloc(0);
	if (!new) {
		folio_put(dev);
		return VM_FAULT_OOM;
	}
	folio_set(new, PG_anon);
	sim_cost(COST_DEVICE_COPY_NS);
	mm_yield(TRACE_COPY, dev->id);
	new->data = dev->data;
	folio_set(new, PG_uptodate);
	vmf->pt = pte_offset_map_lock(mm, vmf->pmd, &vmf->ptl);
	if (vmf->pt && pte_same(ptep_get(vmf->pt, vmf->pte_index),
				vmf->orig_pte)) {
		folio_add_new_anon_rmap(new, vma, vmf->address);
		folio_add_lru(new);
		folio_ref_to_mapping(new);
		sim_cost(COST_SET_PTE_NS);
		set_pte_at(vmf->pt, vmf->pte_index,
			   (pte_t){ .kind = PTE_PRESENT, .folio = new,
				    .write = vmf->orig_pte.write, .dirty = true,
				    .young = true });
		/* The device entry's rmap and reference. */
		folio_remove_rmap_ptes(dev, 1);
		folio_put_refs(dev, 1);
	} else {
		SIM_MARK("migrate_to_ram: entry changed, copy dropped");
		folio_put(new);
	}
	if (vmf->pt)
		pte_unmap_unlock(vmf->ptl);
	folio_put(dev);
	return 0;
}

/*
 * The anonymous folio mapped at uaddr, with a reference (follow_page with
 * FOLL_GET, under mmap_lock as move_pages does), or NULL.
 */
static struct folio *folio_at(struct mm_struct *mm, uint64_t uaddr)
{
	struct folio *folio = NULL;
	spinlock_t *ptl;

	mmap_read_lock(mm);
	struct vm_area_struct *vma = find_vma(mm, uaddr);
	if (vma && vma->vm_start <= uaddr && vma_is_anonymous(vma)) {
		struct pte_table *pt = pte_offset_map_lock(mm, pmd_of(mm, uaddr),
							   &ptl);
		if (pt) {
			pte_t e = ptep_get(pt, pte_index(uaddr));
			if (pte_present(e) && e.folio && e.folio->order == 0) {
				folio = e.folio;
				folio_get(folio);
			}
			pte_unmap_unlock(ptl);
		}
	}
	mmap_read_unlock(mm);
	SIM_ASSERT(!folio || folio_test(folio, PG_anon));
	SIM_ASSERT(!folio || !folio_test(folio, PG_device));
	return folio;
}

/* One pass of migrate_pages over src (locked by the caller, isolated,
 * holding only our reference besides its mappings): 0 when moved to a
 * new folio, -EAGAIN to try again. */
static int migrate_folio_once(struct folio *src)
{
	struct folio *dst = folio_alloc(0);

	SIM_ASSERT(src->lock_owner == sim_current());
	SIM_ASSERT(!folio_test(src, PG_swapcache));
	if (!dst)
		return -ENOMEM;
	folio_set(dst, PG_anon);
	folio_lock_new(dst);
	/* migrate_folio_unmap */
	if (folio_mapped(src))
		try_to_migrate(src);
	/* folio_migrate_mapping: nobody else may hold a reference now. */
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_READ, src->id);
	if (src->mapcount != 0 || src->refcount != 1) {
		SIM_MARK("migrate_folio_once: busy, entries restored");
		remove_migration_ptes(src, src);
		folio_unlock(dst);
		folio_put(dst);
		return -EAGAIN;
	}
	/* folio_migrate_copy and folio_migrate_flags. */
	sim_cost(COST_PAGE_COPY_NS);
	mm_yield(TRACE_COPY, src->id);
	dst->data = src->data;
	folio_set(dst, PG_uptodate);
	if (folio_test(src, PG_dirty))
		folio_set(dst, PG_dirty);
	dst->anon_vma = src->anon_vma;
	dst->index = src->index;
	remove_migration_ptes(src, dst);
	folio_unlock(dst);
	folio_add_lru(dst);
	folio_put(dst);
	return 0;
}

int migrate_folio_at(uint64_t uaddr)
{
	struct mm_struct *mm = mm_world->mm;
	struct mm_world *w = mm_world;
	int err = -EAGAIN;

	SIM_ASSERT(uaddr < MM_PAGES_MAX);
	SIM_ASSERT(current_mm_state()->folio_refs_count < TASK_FOLIO_REFS_MAX);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, mm->id);
	struct folio *src = folio_at(mm, uaddr);
	if (!src)
		return -ENOENT;
	/* folio_isolate_lru: the FOLL_GET reference becomes the isolation
	 * reference. */
	spin_lock(&w->lru_lock);
	bool isolated = folio_test(src, PG_lru);
	folio_clear(src, PG_lru);
	spin_unlock(&w->lru_lock);
	if (!isolated) {
		SIM_MARK("migrate_folio_at: not on the LRU");
		folio_put(src);
		return -EBUSY;
	}
	for (int pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY; pass++) {
		folio_lock(src);
		folio_wait_writeback(src);
		if (folio_test(src, PG_swapcache)) {
			SIM_MARK("migrate_folio_at: swap cache folio not migrated");
			folio_unlock(src);
			break;
		}
		err = migrate_folio_once(src);
		folio_unlock(src);
		if (err != -EAGAIN)
			break;
	}
	if (err) {
		/* putback_movable_pages */
		spin_lock(&w->lru_lock);
		folio_set(src, PG_lru);
		src->lru_seq = ++w->lru_seq_next;
		spin_unlock(&w->lru_lock);
	}
	/* The isolation reference: the last one once migrated. */
	folio_put(src);
	return err;
}
