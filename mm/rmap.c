/*
 * rmap.c: the reverse map: anon_vma creation (__anon_vma_prepare) and
 * teardown (unlink_anon_vmas), mapcount changes when a PTE or PMD maps
 * or unmaps a folio, a file's list of mapping VMAs (i_mmap), and the rmap
 * walks reclaim needs (folio_referenced, try_to_unmap), under the anon_vma
 * lock or i_mmap_rwsem with the PTE lock per mapping.  Not reclaim's
 * decisions (vmscan.c) nor truncate's unmapping (truncate.c), which zaps
 * by file range instead.
 *
 * Simplified: the anon_vma chain (AVC) is a flat list on the anon_vma,
 * since the model has one process and never forks; i_mmap is an array
 * instead of an interval tree (a handful of VMAs per file).  An anonymous
 * folio's index is its address (no mremap, no fork: the kernel's
 * linear_page_index is then the address for anonymous VMAs, and the walk
 * only needs the address), and a walk visits PTE mappings only: reclaim
 * skips THPs, the only folios mapped by PMDs.
 */
#include "mm/internal.h"
#include "mm/swapfile.h"

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
}

void folio_add_anon_rmap_pte(struct folio *folio, struct vm_area_struct *vma,
			     uint64_t address)
{
	SIM_ASSERT(folio_test(folio, PG_anon));
	SIM_ASSERT(vma->anon_vma != NULL);
	SIM_ASSERT(folio->mapping == NULL && folio->order == 0);
	/* A swap cache folio that was never mapped (read ahead, or read by
	 * a fault whose PTE changed) gets its rmap identity now, as
	 * __folio_set_anon does. */
	if (!folio->anon_vma) {
		folio->anon_vma = vma->anon_vma;
		folio->index = address;
	}
	/* No fork, no mremap: a folio belongs to one place of one VMA. */
	SIM_ASSERT(folio->anon_vma == vma->anon_vma);
	SIM_ASSERT(folio->index == address);
	folio_mapcount_add(folio, 1);
}

void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma *av = vma->anon_vma;

	SIM_ASSERT(vma->detached);
	if (!av)
		return;
	down_write(&av->rwsem);
	for (uint32_t i = 0; i < av->vmas_count; i++) {
		if (av->vmas[i] != vma)
			continue;
		/* Keep the order: walks visit VMAs in the order they came. */
		for (uint32_t j = i + 1; j < av->vmas_count; j++)
			av->vmas[j - 1] = av->vmas[j];
		av->vmas_count--;
		break;
	}
	up_write(&av->rwsem);
	SIM_ASSERT(av->vmas_count < VMAS_MAX);
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

/* ------------------------------------------------------------ rmap walks */

/* What an rmap walk does at one mapping; false stops the walk. */
typedef bool (*rmap_one_t)(struct folio *folio, struct vm_area_struct *vma,
			   uint64_t address, void *arg);

/*
 * rmap_walk: visit every VMA that may map folio, with the address it
 * would be mapped at, under the anon_vma lock (folio_lock_anon_vma_read)
 * or i_mmap_rwsem (i_mmap_lock_read), both for read.  The caller holds
 * the folio lock, which keeps folio->anon_vma and folio->mapping stable.
 */
static void rmap_walk(struct folio *folio, rmap_one_t fn, void *arg)
{
	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(folio->order == 0);
	if (folio_test(folio, PG_anon)) {
		struct anon_vma *av = folio->anon_vma;
		if (!av)
			return;		/* never mapped */
		down_read(&av->rwsem);
		for (uint32_t i = 0; i < av->vmas_count; i++) {
			struct vm_area_struct *vma = av->vmas[i];
			sim_cost(COST_RMAP_VMA_NS);
			if (folio->index < vma->vm_start ||
			    folio->index >= vma->vm_end)
				continue;
			if (!fn(folio, vma, folio->index, arg))
				break;
		}
		up_read(&av->rwsem);
		return;
	}
	struct address_space *mapping = folio->mapping;
	if (!mapping)
		return;			/* truncated */
	down_read(&mapping->i_mmap_rwsem);
	for (uint32_t i = 0; i < mapping->i_mmap_count; i++) {
		struct vm_area_struct *vma = mapping->i_mmap[i];
		sim_cost(COST_RMAP_VMA_NS);
		if (folio->index < vma->vm_pgoff ||
		    folio->index >= vma->vm_pgoff + vma_pages(vma))
			continue;
		if (!fn(folio, vma, vma->vm_start + (folio->index - vma->vm_pgoff),
			arg))
			break;
	}
	up_read(&mapping->i_mmap_rwsem);
}

/* page_vma_mapped_walk for one small folio: the PTE table whose entry at
 * address maps folio (or, with PVMW_MIGRATION, is a migration entry for
 * it), locked, or NULL (nothing locked). */
#define PVMW_MIGRATION 0x1u

static struct pte_table *page_vma_mapped(struct folio *folio,
					 struct vm_area_struct *vma,
					 uint64_t address, unsigned int flags,
					 spinlock_t **ptl, pte_t *pte)
{
	struct mm_struct *mm = vma->vm_mm;
	struct pte_table *pt = pte_offset_map_lock(mm, pmd_of(mm, address), ptl);
	uint8_t kind = (flags & PVMW_MIGRATION) ? PTE_MIGRATION : PTE_PRESENT;

	SIM_ASSERT(address >= vma->vm_start && address < vma->vm_end);
	if (!pt)
		return NULL;
	*pte = ptep_get(pt, pte_index(address));
	if (pte->kind != kind || pte->folio != folio) {
		pte_unmap_unlock(*ptl);
		return NULL;
	}
	SIM_ASSERT(*ptl == &pt->ptl);
	return pt;
}

/* folio_referenced_one: test and clear the accessed bit
 * (ptep_clear_flush_young). */
static bool referenced_one(struct folio *folio, struct vm_area_struct *vma,
			   uint64_t address, void *arg)
{
	int *referenced = arg;
	spinlock_t *ptl;
	pte_t e;
	struct pte_table *pt = page_vma_mapped(folio, vma, address, 0, &ptl, &e);

	SIM_ASSERT(referenced != NULL && *referenced >= 0);
	if (!pt)
		return true;
	SIM_ASSERT(e.folio == folio);
	sim_cost(COST_SET_PTE_NS);
	if (ptep_test_and_clear_young(pt, pte_index(address)))
		(*referenced)++;
	pte_unmap_unlock(ptl);
	return true;
}

int folio_referenced(struct folio *folio)
{
	int referenced = 0;

	SIM_ASSERT(!folio->freed);
	if (!folio_mapped(folio))
		return 0;
	rmap_walk(folio, referenced_one, &referenced);
	SIM_ASSERT(referenced >= 0);
	return referenced;
}

/*
 * try_to_unmap_one: replace the PTE by a swap entry for the folio's slot
 * (anonymous; the slot gains a reference) or by nothing (file), moving
 * the PTE's dirty bit to the folio, and drop the mapping's rmap and
 * reference.  Stops the walk if the slot cannot be referenced, leaving
 * the folio mapped (the kernel restores the PTE and aborts; see below).
 */
static bool try_to_unmap_one(struct folio *folio, struct vm_area_struct *vma,
			     uint64_t address, void *arg)
{
	bool anon = folio_test(folio, PG_anon);
	spinlock_t *ptl;
	pte_t e;
	struct pte_table *pt = page_vma_mapped(folio, vma, address, 0, &ptl, &e);

	(void)arg;
	if (!pt)
		return true;
	uint32_t i = pte_index(address);
	sim_cost(COST_SET_PTE_NS);
	e = ptep_get_and_clear(pt, i);
	SIM_ASSERT(e.kind == PTE_PRESENT && e.folio == folio);
	/* Move the dirty bit to the folio now that the PTE is gone. */
	if (e.dirty)
		folio_mark_dirty(folio);
	if (anon) {
		/* Reclaim added it to the swap cache before unmapping, and
		 * holds its lock: the entry cannot change, and its slot is in
		 * use (SWAP_HAS_CACHE), so swap_duplicate cannot fail.  The
		 * kernel's failure is -ENOMEM allocating a count
		 * continuation, which the model does not have (swapfile.h);
		 * it would restore the PTE and stop the walk. */
		SIM_ASSERT(folio_test(folio, PG_swapcache));
		int err = swap_duplicate(folio->swap);
		SIM_ASSERT(err == 0);
		/* Every anonymous page is exclusive (no fork): the swap PTE
		 * would carry SWP_EXCLUSIVE, which do_swap_page relies on. */
		set_pte_at(pt, i, (pte_t){ .kind = PTE_SWAP, .swp = folio->swap });
	}
	folio_remove_rmap_ptes(folio, 1);
	folio_put_refs(folio, 1);
	pte_unmap_unlock(ptl);
	return true;
}

void try_to_unmap(struct folio *folio)
{
	SIM_ASSERT(!folio->freed);
	SIM_ASSERT(folio->order == 0);
	rmap_walk(folio, try_to_unmap_one, NULL);
}

/* try_to_migrate_one: the PTE becomes a migration entry for folio (its
 * write bit kept, its dirty bit moved to the folio); the mapping's rmap
 * and reference go (migrate.c, invariant 2). */
static bool try_to_migrate_one(struct folio *folio, struct vm_area_struct *vma,
			       uint64_t address, void *arg)
{
	spinlock_t *ptl;
	pte_t e;
	struct pte_table *pt = page_vma_mapped(folio, vma, address, 0, &ptl, &e);

	(void)arg;
	SIM_ASSERT(folio->lock_owner == sim_current());
	if (!pt)
		return true;
	sim_cost(COST_SET_PTE_NS);
	e = ptep_get_and_clear(pt, pte_index(address));
	SIM_ASSERT(e.kind == PTE_PRESENT && e.folio == folio);
	if (e.dirty)
		folio_mark_dirty(folio);
	set_pte_at(pt, pte_index(address),
		   (pte_t){ .kind = PTE_MIGRATION, .folio = folio,
			    .write = e.write });
	folio_remove_rmap_ptes(folio, 1);
	folio_put_refs(folio, 1);
	pte_unmap_unlock(ptl);
	return true;
}

void try_to_migrate(struct folio *folio)
{
	SIM_ASSERT(folio_test(folio, PG_anon));
	SIM_ASSERT(!folio_test(folio, PG_swapcache));
	rmap_walk(folio, try_to_migrate_one, NULL);
}

/* remove_migration_pte: an entry for src becomes a PTE of dst, which
 * gains a reference and a mapcount. */
static bool remove_migration_one(struct folio *src, struct vm_area_struct *vma,
				 uint64_t address, void *arg)
{
	struct folio *dst = arg;
	spinlock_t *ptl;
	pte_t e;
	struct pte_table *pt = page_vma_mapped(src, vma, address, PVMW_MIGRATION, &ptl, &e);

	SIM_ASSERT(dst != NULL && !dst->freed);
	SIM_ASSERT(src->lock_owner == sim_current());
	if (!pt)
		return true;
	folio_get(dst);
	folio_add_anon_rmap_pte(dst, vma, address);
	folio_ref_to_mapping(dst);
	sim_cost(COST_SET_PTE_NS);
	set_pte_at(pt, pte_index(address),
		   (pte_t){ .kind = PTE_PRESENT, .folio = dst, .write = e.write,
			    .dirty = e.write && folio_test(dst, PG_dirty),
			    .young = true });
	pte_unmap_unlock(ptl);
	return true;
}

void remove_migration_ptes(struct folio *src, struct folio *dst)
{
	SIM_ASSERT(src->lock_owner == sim_current());
	SIM_ASSERT(dst->lock_owner == sim_current() || dst == src);
	rmap_walk(src, remove_migration_one, dst);
}
