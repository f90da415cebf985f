/*
 * rmap.c: the reverse map as the fault paths use it: anon_vma creation
 * (__anon_vma_prepare), mapcount changes when a PTE or PMD maps or
 * unmaps a folio, and a file's list of mapping VMAs (i_mmap).  Not the
 * rmap walks of reclaim and truncate (try_to_unmap, folio_referenced),
 * which belong with those paths.
 *
 * Simplified: the anon_vma chain (AVC) is a flat list on the anon_vma,
 * since the model has one process and never forks; i_mmap is an array
 * instead of an interval tree (a handful of VMAs per file).
 */
#include "mm/internal.h"

static struct anon_vma *anon_vma_alloc(void)
{
	struct anon_vma *av = arena_new(sim_arena(), struct anon_vma);

	av->id = mm_obj_id();
	init_rwsem(&av->rwsem, LC_ANON_VMA_RWSEM, av->id);
	return av;
}

/*
 * __anon_vma_prepare: give a VMA its anon_vma before its first anonymous
 * page.  Two faults may race here under the VMA lock or mmap_lock held for
 * read; mm->page_table_lock decides which anon_vma wins, as in the kernel.
 */
int __anon_vma_prepare(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;

	might_sleep();
	vma_assert_locked(vma);
	struct anon_vma *av = anon_vma_alloc();
	down_write(&av->rwsem);
	spin_lock(&mm->page_table_lock);
	mm_yield(TRACE_VMA_READ, vma->id);
	if (!vma->anon_vma) {
		mm_yield(TRACE_VMA_WRITE, vma->id);
		vma->anon_vma = av;
		SIM_ASSERT(av->vmas_count < VMAS_MAX);
		av->vmas[av->vmas_count++] = vma;
	} else {
		SIM_MARK("__anon_vma_prepare: lost the race for anon_vma");
	}
	spin_unlock(&mm->page_table_lock);
	up_write(&av->rwsem);
	SIM_ASSERT(vma->anon_vma != NULL);
	return 0;
}

void folio_add_file_rmap_ptes(struct folio *folio, uint32_t nr)
{
	SIM_ASSERT(!folio_test(folio, PG_anon));
	SIM_ASSERT(nr >= 1 && nr <= folio_nr_pages(folio));
	folio_mapcount_add(folio, (int)nr);
}

void folio_add_file_rmap_pmd(struct folio *folio)
{
	SIM_ASSERT(!folio_test(folio, PG_anon));
	SIM_ASSERT(folio->order == HPAGE_PMD_ORDER);
	folio_mapcount_add(folio, 1);
}

/* A new private copy (COW, anonymous fault): exclusive to this VMA. */
void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma,
			     uint64_t address)
{
	SIM_ASSERT(vma->anon_vma != NULL);
	SIM_ASSERT(folio->mapping == NULL && folio->mapcount == 0);
	folio_set(folio, PG_anon);
	folio->anon_vma = vma->anon_vma;
	folio->index = address;
	folio_mapcount_add(folio, 1);
	sim_cost(COST_LRU_ADD_NS);
}

void folio_remove_rmap_ptes(struct folio *folio, uint32_t nr)
{
	SIM_ASSERT(nr >= 1);
	SIM_ASSERT(folio->mapcount >= (int32_t)nr);
	folio_mapcount_add(folio, -(int)nr);
}

void folio_remove_rmap_pmd(struct folio *folio)
{
	SIM_ASSERT(folio->order == HPAGE_PMD_ORDER);
	SIM_ASSERT(folio->mapcount >= 1);
	folio_mapcount_add(folio, -1);
}

void vma_interval_tree_insert(struct vm_area_struct *vma)
{
	struct address_space *mapping = vma->vm_file->f_mapping;

	lockdep_assert_held_write(&mapping->i_mmap_rwsem.c);
	SIM_ASSERT(mapping->i_mmap_count < VMAS_MAX);
	mm_yield(TRACE_VMA_WRITE, vma->id);
	mapping->i_mmap[mapping->i_mmap_count++] = vma;
}

void vma_interval_tree_remove(struct vm_area_struct *vma)
{
	struct address_space *mapping = vma->vm_file->f_mapping;

	lockdep_assert_held_write(&mapping->i_mmap_rwsem.c);
	mm_yield(TRACE_VMA_WRITE, vma->id);
	for (uint32_t i = 0; i < mapping->i_mmap_count; i++) {
		if (mapping->i_mmap[i] != vma)
			continue;
		/* Keep the order: walks visit VMAs in mapping order. */
		for (uint32_t j = i + 1; j < mapping->i_mmap_count; j++)
			mapping->i_mmap[j - 1] = mapping->i_mmap[j];
		mapping->i_mmap_count--;
		return;
	}
	SIM_ASSERT(!"vma not in i_mmap");
}
