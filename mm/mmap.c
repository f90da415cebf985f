/*
 * mmap.c: the process's VMAs: lookup (find_vma), creation (do_mmap) and
 * removal (do_munmap), under the kernel's locking: mmap_lock for write,
 * vma_start_write on every VMA changed, i_mmap_rwsem for a file's list,
 * and munmap's downgrade to read before it zaps.  Not the page tables
 * themselves (memory.c zaps and frees them).
 *
 * Simplified: VMAs never merge or split (mmap places a new VMA only in a
 * free range, as MAP_FIXED_NOREPLACE does; munmap and mprotect act on
 * whole VMAs), and the maple tree is a sorted array.  Merging and
 * splitting take the same locks as what is modeled, in the same order;
 * leaving them out changes which VMA a fault finds, not who waits for
 * whom.  A detached VMA's struct is never reused, standing for the RCU
 * grace period that keeps it valid for a racing lock_vma_under_rcu.
 */
#include <errno.h>
#include <stdio.h>

#include "mm/internal.h"

/* The VMA containing address, or the first after it (find_vma); a walk
 * of the tree that another task may change between steps. */
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t address)
{
	sim_cost(COST_VMA_LOOKUP_NS);
	mm_yield(TRACE_VMA_READ, mm->id);
	SIM_ASSERT(mm->vmas_count <= VMAS_MAX);
	for (uint32_t i = 0; i < mm->vmas_count; i++)
		if (mm->vmas[i]->vm_end > address)
			return mm->vmas[i];
	return NULL;
}

static struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct mm_world *w = mm_world;

	if (w->vma_structs_count >= VMA_STRUCTS_MAX)
		return NULL;
	struct vm_area_struct *vma = arena_new(sim_arena(),
					       struct vm_area_struct);
	w->vma_structs[w->vma_structs_count++] = vma;
	vma->id = mm_obj_id();
	vma->vm_mm = mm;
	vma_lock_init(vma);
	return vma;
}

static void vma_init(struct vm_area_struct *vma, const struct vma_desc *d)
{
	snprintf(vma->name, sizeof(vma->name), "%s", d->name ? d->name : "");
	vma->vm_start = d->start;
	vma->vm_end = d->start + d->pages;
	vma->vm_flags = d->vm_flags | VM_READ;
	if (d->vm_flags & VM_WRITE)
		vma->vm_flags |= VM_MAYWRITE;
	vma->vm_file = d->file;
	vma->vm_pgoff = d->file ? d->pgoff : d->start;
	if (d->file)
		vma->vm_ops = d->file->f_inode->no_map_pages ? &nomap_file_vm_ops
							     : &generic_file_vm_ops;
	if (d->anon_vma) {
		struct anon_vma *av = arena_new(sim_arena(), struct anon_vma);
		av->id = mm_obj_id();
		init_rwsem(&av->rwsem, LC_ANON_VMA_RWSEM, av->id);
		av->vmas[av->vmas_count++] = vma;
		vma->anon_vma = av;
	}
}

static bool range_free(const struct mm_struct *mm, uint64_t start,
		       uint64_t end)
{
	for (uint32_t i = 0; i < mm->vmas_count; i++)
		if (start < mm->vmas[i]->vm_end && mm->vmas[i]->vm_start < end)
			return false;
	return true;
}

/* Insert into the sorted array (the maple tree store). */
static void vma_link_mm(struct mm_struct *mm, struct vm_area_struct *vma)
{
	uint32_t i = mm->vmas_count;

	SIM_ASSERT(mm->vmas_count < VMAS_MAX);
	mm_yield(TRACE_VMA_WRITE, vma->id);
	while (i > 0 && mm->vmas[i - 1]->vm_start > vma->vm_start) {
		mm->vmas[i] = mm->vmas[i - 1];
		i--;
	}
	mm->vmas[i] = vma;
	mm->vmas_count++;
	vma->detached = false;
}

static void vma_unlink_mm(struct mm_struct *mm, struct vm_area_struct *vma)
{
	uint32_t i;

	mm_yield(TRACE_VMA_WRITE, vma->id);
	for (i = 0; i < mm->vmas_count; i++)
		if (mm->vmas[i] == vma)
			break;
	SIM_ASSERT(i < mm->vmas_count);
	for (; i + 1 < mm->vmas_count; i++)
		mm->vmas[i] = mm->vmas[i + 1];
	mm->vmas_count--;
	/* vma_mark_detached: a VMA-lock reader that still finds it counts
	 * VMA_LOCK_MISS and looks again. */
	vma->detached = true;
}

struct vm_area_struct *vma_build(struct mm_struct *mm,
				 const struct vma_desc *d)
{
	struct vm_area_struct *vma = vm_area_alloc(mm);

	SIM_ASSERT(vma != NULL);
	SIM_ASSERT(range_free(mm, d->start, d->start + d->pages));
	vma_init(vma, d);
	if (vma->vm_file) {
		struct address_space *m = vma->vm_file->f_mapping;
		SIM_ASSERT(m->i_mmap_count < VMAS_MAX);
		m->i_mmap[m->i_mmap_count++] = vma;
	}
	vma_link_mm(mm, vma);
	return vma;
}

int do_mmap(const struct vma_desc *d, struct vm_area_struct **out)
{
	struct mm_struct *mm = mm_world->mm;
	int err = 0;

	SIM_ASSERT(d->pages > 0);
	SIM_ASSERT(d->start + d->pages <= MM_PAGES_MAX);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, mm->id);
	mmap_write_lock(mm);
	if (!range_free(mm, d->start, d->start + d->pages)) {
		SIM_MARK("do_mmap: range already mapped");
		err = -EEXIST;
		goto out;
	}
	if (mm->vmas_count >= VMAS_MAX) {
		err = -ENOMEM;
		goto out;
	}
	struct vm_area_struct *vma = vm_area_alloc(mm);
	if (!vma) {
		err = -ENOMEM;
		goto out;
	}
	vma_init(vma, d);
	sim_cost(COST_VMA_UPDATE_NS);
	/* __mmap_region: the new VMA is write-locked before it is visible,
	 * since it is still being set up after the tree store. */
	vma_start_write(vma);
	if (vma->vm_file) {
		struct address_space *m = vma->vm_file->f_mapping;
		down_write(&m->i_mmap_rwsem);
		vma_interval_tree_insert(vma);
		up_write(&m->i_mmap_rwsem);
	}
	vma_link_mm(mm, vma);
	if (out)
		*out = vma;
out:
	mmap_write_unlock(mm);
	return err;
}

/*
 * do_munmap of whole VMAs (do_vmi_munmap with unlock = true): under
 * mmap_lock for write, write-lock and detach each VMA; downgrade to read;
 * zap the page tables (references and mapcounts dropped) and free the
 * PTE tables nothing else uses; unlink from the file's i_mmap.
 */
int do_munmap(uint64_t start, uint64_t pages)
{
	struct mm_struct *mm = mm_world->mm;
	struct vm_area_struct *gone[VMAS_MAX];
	uint32_t n = 0;
	uint64_t end = start + pages;

	SIM_ASSERT(pages > 0);
	sim_cost(COST_SYSCALL_NS);
	mm_yield(TRACE_SYSCALL, mm->id);
	mmap_write_lock(mm);
	for (uint32_t i = 0; i < mm->vmas_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];
		if (vma->vm_end <= start || vma->vm_start >= end)
			continue;
		if (vma->vm_start < start || vma->vm_end > end) {
			/* Splitting is not modeled (see the top). */
			mmap_write_unlock(mm);
			return -EINVAL;
		}
		gone[n++] = vma;
	}
	if (n == 0) {
		SIM_MARK("do_munmap: nothing mapped there");
		mmap_write_unlock(mm);
		return 0;
	}
	/* vms_gather_munmap_vmas: every VMA write-locked, then detached. */
	for (uint32_t i = 0; i < n; i++)
		vma_start_write(gone[i]);
	for (uint32_t i = 0; i < n; i++)
		vma_unlink_mm(mm, gone[i]);
	mmap_write_downgrade(mm);
	/* unmap_region */
	for (uint32_t i = 0; i < n; i++)
		unmap_page_range(gone[i], gone[i]->vm_start, gone[i]->vm_end);
	free_pgtables(mm, start, end);
	/* remove_vma / unlink_file_vma */
	for (uint32_t i = 0; i < n; i++) {
		if (!gone[i]->vm_file)
			continue;
		struct address_space *m = gone[i]->vm_file->f_mapping;
		down_write(&m->i_mmap_rwsem);
		vma_interval_tree_remove(gone[i]);
		up_write(&m->i_mmap_rwsem);
	}
	sim_cost(COST_VMA_UPDATE_NS * n);
	mmap_read_unlock(mm);
	return 0;
}
