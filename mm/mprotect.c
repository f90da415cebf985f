/*
 * mprotect.c: changing a VMA's write permission (mprotect_fixup and
 * change_protection).  Under mmap_lock for write and vma_start_write,
 * like every VMA change.  Not other protections (PROT_NONE, exec), which
 * the locking questions never need.
 *
 * Granting write leaves the PTEs read-only: the next write faults and
 * do_wp_page makes it writable (the kernel makes some PTEs writable at
 * once where it can prove exclusivity; that saves a fault, and changes no
 * lock taken).  Revoking write clears the write bit of every PTE and PMD
 * under its lock.
 */
#include <errno.h>

#include "mm/internal.h"

static void change_protection(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	for (uint64_t a = vma->vm_start; a < vma->vm_end;) {
		pmd_t *pmd = pmd_of(mm, a);
		uint64_t next = (a / PTRS_PER_PTE + 1) * PTRS_PER_PTE;
		uint64_t stop = next < vma->vm_end ? next : vma->vm_end;
		pmd_t v = pmdp_get(mm, pmd);

		if (v.kind == PMD_HUGE) {
			spin_lock(&mm->pmd_lock);
			v = pmdp_get(mm, pmd);
			if (v.kind == PMD_HUGE && v.write) {
				v.write = false;
				set_pmd_at(mm, pmd, v);
			}
			spin_unlock(&mm->pmd_lock);
		} else if (v.kind == PMD_TABLE) {
			spinlock_t *ptl;
			struct pte_table *pt = pte_offset_map_lock(mm, pmd, &ptl);
			for (uint64_t p = a; pt && p < stop; p++) {
				pte_t e = ptep_get(pt, pte_index(p));
				if (!pte_write(e))
					continue;
				e.write = false;
				set_pte_at(pt, pte_index(p), e);
			}
			if (pt)
				pte_unmap_unlock(ptl);
		}
		a = stop;
	}
}

int do_mprotect(uint64_t start, uint64_t pages, bool write)
{
	struct mm_struct *mm = mm_world->mm;
	int err = 0;

	SIM_ASSERT(pages > 0);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, mm->id);
	mmap_write_lock(mm);
	struct vm_area_struct *vma = find_vma(mm, start);
	if (!vma || vma->vm_start != start || vma->vm_end != start + pages) {
		/* No VMA there, or a split would be needed (not modeled). */
		SIM_MARK("do_mprotect: no VMA of that range");
		err = -ENOMEM;
		goto out;
	}
	vma_start_write(vma);
	mm_yield(TRACE_VMA_WRITE, vma->id);
	if (write) {
		vma->vm_flags |= VM_WRITE | VM_MAYWRITE;
	} else {
		vma->vm_flags &= ~VM_WRITE;
		change_protection(vma);
	}
	sim_cost(COST_VMA_UPDATE_NS);
out:
	mmap_write_unlock(mm);
	return err;
}
