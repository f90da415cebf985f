/*
 * internal.h: private to mm/, like the kernel's mm/internal.h.  The trace
 * kinds of the model, the accessors that make every read or write of
 * shared state a yield point, and the functions the mm/ files call in
 * each other.  Nothing outside mm/ includes it.
 */
#ifndef SIM_MM_INTERNAL_H
#define SIM_MM_INTERNAL_H

#include "mm/cost.h"
#include "mm/mm.h"
#include "mm/mmap_lock.h"
#include "mm/pagemap.h"

/*
 * Trace kinds of model steps, after the lock layer's.  A step ends with
 * the kind of what it was about to do: the interleaving point is *before*
 * the access, so another choice may change the state the access will see.
 * New kinds of the fault paths go before TRACE_MM_KINDS_END.
 */
enum {
	TRACE_PTE_READ = TRACE_MODEL_LOCK_LAST + 1,
	TRACE_PTE_WRITE,
	TRACE_PMD_READ,
	TRACE_PMD_WRITE,
	TRACE_XA_READ,		/* page cache lookup */
	TRACE_XA_WRITE,		/* page cache insert or delete */
	TRACE_FOLIO_READ,	/* a folio flag or field */
	TRACE_FOLIO_WRITE,
	TRACE_ISIZE_READ,
	TRACE_VMA_READ,		/* VMA tree walk, VMA fields */
	TRACE_VMA_WRITE,
	TRACE_FAULT,		/* do_user_addr_fault entry */
	TRACE_READ_SUBMIT,
	TRACE_READ_DONE,		/* an I/O completion event */
	TRACE_SYSCALL,
	TRACE_COPY,		/* copy to or from user memory */
	TRACE_MM_KINDS_END,
};

/* Kinds 64..79 belong to devices and swap (blkdev.h, swapfile.h). */
static_assert(TRACE_MM_KINDS_END <= TRACE_MODEL_FIRST + 48,
	      "below the device and swap kinds");

/* A yield point in model code.  Event context (an I/O completion) runs to
 * its end without yielding, as an interrupt handler does. */
static inline void mm_yield(uint16_t kind, uint32_t obj)
{
	if (sim_current())
		sim_yield(kind, obj);
}

/* ----------------------------------------------- page table accessors */

static inline uint32_t pte_obj(const struct pte_table *pt, uint32_t i)
{
	return pt->id * PTRS_PER_PTE + i;
}

/* ptep_get: a lockless (or locked) read of one PTE. */
static inline pte_t ptep_get(struct pte_table *pt, uint32_t i)
{
	SIM_ASSERT(i < PTRS_PER_PTE);
	mm_yield(TRACE_PTE_READ, pte_obj(pt, i));
	return pt->ptes[i];
}

static inline void set_pte_at(struct pte_table *pt, uint32_t i, pte_t v)
{
	SIM_ASSERT(i < PTRS_PER_PTE);
	mm_yield(TRACE_PTE_WRITE, pte_obj(pt, i));
	pt->ptes[i] = v;
}

static inline uint32_t pmd_obj(const struct mm_struct *mm, const pmd_t *pmd)
{
	return mm->id * PMDS_MAX + (uint32_t)(pmd - mm->pmd);
}

static inline pmd_t pmdp_get(struct mm_struct *mm, pmd_t *pmd)
{
	mm_yield(TRACE_PMD_READ, pmd_obj(mm, pmd));
	return *pmd;
}

static inline void set_pmd_at(struct mm_struct *mm, pmd_t *pmd, pmd_t v)
{
	mm_yield(TRACE_PMD_WRITE, pmd_obj(mm, pmd));
	*pmd = v;
}

static inline uint32_t pte_index(uint64_t address)
{
	return (uint32_t)(address % PTRS_PER_PTE);
}

/* --------------------------------------------------- folio accessors */

static inline bool folio_test_flag_read(struct folio *f, enum pageflags b)
{
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_READ, f->id);
	return folio_test(f, b);
}

static inline bool folio_test_uptodate(struct folio *f)
{
	return folio_test_flag_read(f, PG_uptodate);
}

static inline bool folio_test_readahead(struct folio *f)
{
	return folio_test_flag_read(f, PG_readahead);
}

static inline bool folio_test_dirty(struct folio *f)
{
	return folio_test_flag_read(f, PG_dirty);
}

/* folio->mapping, read racily (READ_ONCE): truncate may clear it. */
static inline struct address_space *folio_mapping_read(struct folio *f)
{
	sim_cost(COST_FOLIO_FLAG_NS);
	mm_yield(TRACE_FOLIO_READ, f->id);
	return f->mapping;
}

static inline void folio_mark_uptodate(struct folio *f)
{
	mm_yield(TRACE_FOLIO_WRITE, f->id);
	folio_set(f, PG_uptodate);
}

static inline void folio_clear_readahead(struct folio *f)
{
	mm_yield(TRACE_FOLIO_WRITE, f->id);
	folio_clear(f, PG_readahead);
}

/* folio_mark_dirty: true when the folio was clean before. */
static inline bool folio_mark_dirty(struct folio *f)
{
	mm_yield(TRACE_FOLIO_WRITE, f->id);
	bool was = folio_test(f, PG_dirty);
	folio_set(f, PG_dirty);
	return !was;
}

static inline uint64_t i_size_read(struct inode *inode)
{
	mm_yield(TRACE_ISIZE_READ, inode->id);
	return inode->i_size;
}

static inline void filemap_invalidate_lock_shared(struct address_space *m)
{
	down_read(&m->invalidate_lock);
}

static inline void filemap_invalidate_unlock_shared(struct address_space *m)
{
	up_read(&m->invalidate_lock);
}

/* ------------------------------------------------- the fault lock (4) */

/* release_fault_lock: drop whichever lock the fault holds, the VMA lock
 * under FAULT_FLAG_VMA_LOCK, else mmap_lock (include/linux/mm.h). */
void release_fault_lock(struct vm_fault *vmf);

/* ------------------------------------------------------- mm/memory.c */

vm_fault_t do_set_pmd(struct vm_fault *vmf, struct folio *folio);
void set_pte_range(struct vm_fault *vmf, struct folio *folio,
		   uint32_t subpage, uint32_t nr, uint64_t addr);
void pmd_install(struct mm_struct *mm, pmd_t *pmd, struct pte_table **pte);
/* pte_offset_map_lock: take the PTE table's ptl; NULL (nothing locked)
 * when the PMD no longer points at a table. */
struct pte_table *pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
				      spinlock_t **ptlp);
void pte_unmap_unlock(spinlock_t *ptl);
vm_fault_t vmf_anon_prepare(struct vm_fault *vmf);
/* Zap every mapping in [start, end) of vma: PTEs and PMDs cleared, their
 * references and mapcounts dropped. */
void unmap_page_range(struct vm_area_struct *vma, uint64_t start,
		      uint64_t end);
/* Free the PTE tables no VMA uses any more in [start, end). */
void free_pgtables(struct mm_struct *mm, uint64_t start, uint64_t end);

/* ---------------------------------------------------------- mm/mmap.c */

/* World building: create and link a VMA without locks or yields (no task
 * runs yet). */
struct vm_area_struct *vma_build(struct mm_struct *mm,
				 const struct vma_desc *d);

/* ------------------------------------------------------ mm/filemap.c */

extern const struct vm_operations_struct generic_file_vm_ops;
extern const struct vm_operations_struct nomap_file_vm_ops;

vm_fault_t filemap_fault(struct vm_fault *vmf);
vm_fault_t filemap_map_pages(struct vm_fault *vmf, pgoff_t start_pgoff,
			     pgoff_t end_pgoff);
vm_fault_t filemap_page_mkwrite(struct vm_fault *vmf);
/* __folio_lock_or_retry, KERNEL.md 4 "today": 0 with the folio locked,
 * or VM_FAULT_RETRY. */
vm_fault_t __folio_lock_or_retry(struct folio *folio, struct vm_fault *vmf);
static inline vm_fault_t folio_lock_or_retry(struct folio *folio,
					     struct vm_fault *vmf)
{
	if (folio_trylock(folio))
		return 0;
	return __folio_lock_or_retry(folio, vmf);
}
/* Drop the fault lock for I/O on the first attempt; returns true when it
 * did (the kernel returns the pinned file). */
bool maybe_unlock_mmap_for_io(struct vm_fault *vmf, bool dropped);

/* The page cache.  filemap_get_folio returns the folio at index with a
 * reference (of the current task), or NULL. */
struct folio *filemap_get_folio(struct address_space *mapping, pgoff_t index);
/* Insert a new locked folio; false if the slot is taken (-EEXIST). */
bool filemap_add_folio(struct address_space *mapping, struct folio *folio,
		       pgoff_t index);
/* Delete a locked folio from the page cache and drop the cache's
 * references (__filemap_remove_folio + filemap_free_folio). */
void filemap_remove_folio(struct folio *folio);
/* Start the read of a locked folio; the I/O owns the lock from now on
 * and folio_end_read releases it (the device model replaces the body). */
void filemap_read_folio_submit(struct folio *folio,
			       struct address_space *mapping);
/* Read a locked folio and wait for it; 0, or -EIO. */
int filemap_read_folio(struct folio *folio, struct address_space *mapping);

/* ----------------------------------------------------- mm/readahead.c */

/* Read-around for a page cache miss of a mapping: allocate, insert and
 * start reading the folios of the window around index that are absent. */
void page_cache_ra_around(struct file *file, pgoff_t index);
/* The async part: the next window after the one whose PG_readahead
 * marker folio was hit. */
void page_cache_async_ra(struct file *file, struct folio *folio);

/* --------------------------------------------------------- mm/rmap.c */

int __anon_vma_prepare(struct vm_area_struct *vma);
void folio_add_file_rmap_ptes(struct folio *folio, uint32_t nr);
void folio_add_file_rmap_pmd(struct folio *folio);
void folio_add_new_anon_rmap(struct folio *folio, struct vm_area_struct *vma,
			     uint64_t address);
void folio_remove_rmap_ptes(struct folio *folio, uint32_t nr);
void folio_remove_rmap_pmd(struct folio *folio);
void vma_interval_tree_insert(struct vm_area_struct *vma);
void vma_interval_tree_remove(struct vm_area_struct *vma);

/* ------------------------------------------------------------- gup.c */

/* fault_in_readable: touch each page of [uaddr, uaddr + pages) from the
 * kernel, faulting those not present; returns the pages not faulted in. */
uint32_t fault_in_readable(uint64_t uaddr, uint32_t pages);
/* copy_folio_from_iter_atomic for one page: with page faults disabled,
 * copies only when the source PTE is present; true when it copied. */
bool copy_page_from_user_atomic(struct folio *dst, uint64_t uaddr);
void pagefault_disable(void);
void pagefault_enable(void);

/* ---------------------------------------------------- fs/fuse/file.c */

long fuse_perform_write(struct file *file, pgoff_t index, uint32_t pages,
			uint64_t src);

/* ----------------------------------------------------- mm/filemap.c */

long generic_perform_write(struct file *file, pgoff_t index, uint32_t pages,
			   uint64_t src);

#endif /* SIM_MM_INTERNAL_H */
