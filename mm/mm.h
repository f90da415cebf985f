/*
 * mm.h: the model's include/linux/mm.h: fault flags and results, struct
 * vm_fault, the world's mm state of the run in progress, folio references,
 * and the entry points other layers and tests call (the arch fault
 * handler, mmap/munmap/mprotect, write()).  Not the state's layout
 * (types.h) nor the locks (locks.h, mmap_lock.h, pagemap.h).
 */
#ifndef SIM_MM_MM_H
#define SIM_MM_MM_H

#include "mm/knobs.h"
#include "mm/types.h"
#include "mm/vmstat.h"

/* ------------------------------------------------------ fault flags */

#define FAULT_FLAG_WRITE		0x0001u
#define FAULT_FLAG_MKWRITE		0x0002u
#define FAULT_FLAG_ALLOW_RETRY		0x0004u
#define FAULT_FLAG_RETRY_NOWAIT		0x0008u
#define FAULT_FLAG_KILLABLE		0x0010u
#define FAULT_FLAG_TRIED		0x0020u
#define FAULT_FLAG_USER			0x0040u
#define FAULT_FLAG_INTERRUPTIBLE	0x0800u
#define FAULT_FLAG_ORIG_PTE_VALID	0x0400u
#define FAULT_FLAG_VMA_LOCK		0x1000u
/* Lespinasse's 2021 series (never merged): the fault runs without
 * mmap_lock or the VMA lock, on a copy of the VMA, validated by the mm's
 * sequence count when it takes the page table lock (KERNEL.md 7). */
#define FAULT_FLAG_SPECULATIVE		0x2000u

/* What do_user_addr_fault starts from today (include/linux/mm.h). */
#define FAULT_FLAG_DEFAULT \
	(FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE | FAULT_FLAG_INTERRUPTIBLE)

/* fault_flag_allow_retry_first(): the attempt that may drop the lock. */
static inline bool fault_flag_allow_retry_first(unsigned int flags)
{
	return (flags & FAULT_FLAG_ALLOW_RETRY) && !(flags & FAULT_FLAG_TRIED);
}

/* ----------------------------------------------------- fault results */

#define VM_FAULT_OOM		0x000001u
#define VM_FAULT_SIGBUS		0x000002u
#define VM_FAULT_MAJOR		0x000004u
#define VM_FAULT_HWPOISON	0x000010u
#define VM_FAULT_SIGSEGV	0x000040u
#define VM_FAULT_NOPAGE		0x000100u
#define VM_FAULT_LOCKED		0x000200u
#define VM_FAULT_RETRY		0x000400u
#define VM_FAULT_FALLBACK	0x000800u
#define VM_FAULT_DONE_COW	0x001000u
#define VM_FAULT_COMPLETED	0x004000u

#define VM_FAULT_ERROR \
	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON)

/* ------------------------------------------------------------ vm_fault */

/*
 * One attempt of one fault, as the kernel's struct vm_fault.  The page
 * table position is (pt, index) where the kernel keeps a pte_t pointer.
 */
struct vm_fault {
	struct vm_area_struct *vma;
	unsigned int flags;
	pgoff_t pgoff;			/* file offset of address */
	uint64_t address;		/* page number */
	pmd_t *pmd;
	struct pte_table *pt;		/* the PTE table, once mapped */
	uint32_t pte_index;		/* address's slot in pt */
	pte_t orig_pte;			/* what the PTE held at entry */
	spinlock_t *ptl;		/* the PTE or PMD lock once taken */
	struct folio *folio;		/* ->fault()'s result (vmf->page) */
	struct folio *cow_folio;	/* do_cow_fault's destination */
	struct pte_table *prealloc_pte;	/* do_fault_around, __do_fault */
	pmd_t orig_pmd;			/* speculative: the PMD the walk saw */
	uint64_t seq;			/* speculative: mm_seq at the start */
};

/* The fault in progress of a task (task_mm->fault), for the fault record:
 * what kind of fault it turned out to be, and who asked for a retry. */
struct fault_state {
	enum fault_kind kind;
	bool kind_set;
	bool major;
	const char *retry_why;
	uint32_t attempts;
	/* A speculative attempt's VMA, the one its copy was made from: model
	 * bookkeeping for spf_check_mapped, never read by modeled code. */
	struct vm_area_struct *spf_vma;
};

/* Record what the handler did (the innermost handler that did the work
 * sets the kind; mm/fault.c reports it). */
void fault_note_kind(enum fault_kind kind);
void fault_note_retry(const char *why);

/* ------------------------------------------------------- the mm world */

/*
 * The mm state of the run in progress: one process, its files, the folio
 * pool, the knobs.  Built by world_build in the engine's arena; the model
 * reaches it through mm_world as kernel code reaches its globals.
 */
struct mm_world {
	struct kernel_knobs knobs;
	struct mm_struct *mm;
	uint32_t files_count;
	struct inode *inodes[FILES_MAX];
	struct file *files[FILES_MAX];

	/* The folio pool: slots handed out in order, freed folios reused
	 * from free_list, so iteration (slot order) is deterministic.  Slot
	 * i is folio_chunks[i / FOLIO_CHUNK_SLOTS][i % FOLIO_CHUNK_SLOTS]
	 * (mm_pool_folio); a chunk comes from the arena when the pool first
	 * reaches it.  A flat table of FOLIOS_MAX pointers was 64 KiB for
	 * the arena to zero after every schedule, most runs using a dozen. */
	struct folio **folio_chunks[FOLIOS_MAX / FOLIO_CHUNK_SLOTS];
	uint32_t folios_used;		/* slots ever handed out */
	uint32_t folios_live;
	struct folio *free_list;

	struct pte_table *pte_free_list;
	uint32_t pte_tables_live;

	struct vm_area_struct *vma_structs[VMA_STRUCTS_MAX];
	uint32_t vma_structs_count;

	uint64_t data_versions;		/* content versions handed out */

	/* The LRU (mm/swap.c): lru_lock and the next position handed out;
	 * a folio's place is folio->lru_seq while PG_lru is set. */
	spinlock_t lru_lock;
	uint64_t lru_seq_next;
};

extern struct mm_world *mm_world;

/* The folio in pool slot `slot` (below folios_used). */
static inline struct folio *mm_pool_folio(const struct mm_world *w,
					  uint32_t slot)
{
	SIM_ASSERT(slot < w->folios_used);
	return w->folio_chunks[slot / FOLIO_CHUNK_SLOTS]
			      [slot % FOLIO_CHUNK_SLOTS];
}

static inline const struct kernel_knobs *kernel_knobs(void)
{
	return &mm_world->knobs;
}

/* Create an empty mm world in the engine's arena (world_build calls it). */
struct mm_world *mm_world_create(struct engine *e,
				 const struct kernel_knobs *knobs);

/* ------------------------------------------------- folios (page_alloc.c) */

/*
 * Folio lifetime.  States: free (on the pool's free list) -> allocated
 * (refcount >= 1) -> free again when the last reference is put.
 *
 * Invariants (mm_folio_check asserts 1-3; the leak checker checks 4):
 *  1. A free folio has refcount 0, mapcount 0, no mapping, no flags.
 *  2. An allocated folio has refcount >= 1 (0 would have freed it) and
 *     mapcount >= 0, except while reclaim holds it frozen at 0
 *     (folio_ref_freeze) on its way to being freed or unfrozen.
 *  3. PG_locked is set only while a task or an I/O owns the lock.
 *  4. refcount == page cache + swap cache + mappings + task references;
 *     mapcount == PTEs + PMDs mapping it (mm_folio_expected_refs).
 *
 * References, who takes and who drops them:
 *  - the page cache: folio_nr_pages() refs, taken by filemap_add_folio,
 *    dropped when the folio leaves the cache (filemap_remove_folio);
 *  - the swap cache: likewise, add_to_swap_cache to the deletion;
 *  - each PTE or PMD mapping: one ref (and one mapcount), handed over
 *    from the mapper's own reference (folio_ref_to_mapping) or added
 *    (folio_ref_add), dropped by zap and try_to_unmap; a device-private
 *    entry counts as a PTE, a swap or migration entry holds nothing;
 *  - a task's temporary reference: folio_get/folio_try_get/
 *    folio_alloc, dropped by folio_put; the task's list remembers which
 *    function took it, and a task that has exited holds none; reclaim's
 *    isolation and a GUP user's reference are such;
 *  - in-flight I/O takes none: a folio under read is locked and one
 *    under writeback is flagged, and either stays in its cache, whose
 *    reference keeps it (truncate and reclaim wait for or skip both), as
 *    in the kernel; a skip-swapcache read is synchronous, inside the
 *    reading task's own reference.
 */
struct folio *folio_alloc_at(unsigned int order, const char *where);
#define folio_alloc(order) folio_alloc_at((order), __func__)
void folio_get_at(struct folio *folio, const char *where);
bool folio_try_get_at(struct folio *folio, const char *where);
void folio_put_at(struct folio *folio, const char *where);
/* folio_put of a reference the task does not hold drops one a structure
 * owns: the count allows it, and the folio notes the function
 * (folio->unowned_puts) for the leak checker's underflow report. */
#define folio_get(f) folio_get_at((f), __func__)
#define folio_try_get(f) folio_try_get_at((f), __func__)
#define folio_put(f) folio_put_at((f), __func__)
/* References owned by a structure (page cache, mappings), not a task. */
void folio_ref_add_at(struct folio *folio, int nr, const char *where);
void folio_put_refs_at(struct folio *folio, int nr, const char *where);
#define folio_ref_add(f, nr) folio_ref_add_at((f), (nr), __func__)
#define folio_put_refs(f, nr) folio_put_refs_at((f), (nr), __func__)
/* The current task's reference now belongs to the mapping it installed
 * (finish_fault, do_set_pmd): bookkeeping only, the count is unchanged. */
void folio_ref_to_mapping_at(struct folio *folio, const char *where);
#define folio_ref_to_mapping(f) folio_ref_to_mapping_at((f), __func__)
/* Mapcount changes (rmap), logged with the references. */
void folio_mapcount_add_at(struct folio *folio, int nr, const char *where);
#define folio_mapcount_add(f, nr) folio_mapcount_add_at((f), (nr), __func__)
/* folio_ref_freeze: if the refcount is `count`, make it 0 so that no
 * lockless lookup can take a reference (folio_try_get fails); false, and
 * nothing changed, otherwise.  folio_ref_unfreeze puts `count` back. */
bool folio_ref_freeze_at(struct folio *folio, int count, const char *where);
void folio_ref_unfreeze_at(struct folio *folio, int count, const char *where);
#define folio_ref_freeze(f, c) folio_ref_freeze_at((f), (c), __func__)
#define folio_ref_unfreeze(f, c) folio_ref_unfreeze_at((f), (c), __func__)
/* Free a folio whose refcount the current task froze and which has left
 * every cache and mapping: the frozen count included the task's own
 * reference, which goes with it (shrink_folio_list's free_it). */
void folio_free_frozen_at(struct folio *folio, const char *where);
#define folio_free_frozen(f) folio_free_frozen_at((f), __func__)

/* An operation of the current task returned: any reference it still
 * holds is leaked (no code path will put it); forget it so the leak
 * checker sees refcount above expected, and note on the folio which
 * function took it (folio->orphaned).  Returns how many. */
uint32_t task_folio_refs_orphan(void);

/* What holds a folio, counted from the world's state. */
struct folio_refs_expected {
	int32_t refcount;
	int32_t mapcount;
	int32_t page_cache;		/* refs of the page cache */
	int32_t swap_cache;		/* refs of the swap cache */
	int32_t pte_maps;		/* PTEs mapping it */
	int32_t pmd_maps;		/* PMDs mapping it */
	int32_t task_refs;		/* temporary refs tasks hold */
};

void mm_folio_expected_refs(const struct folio *folio,
			    struct folio_refs_expected *out);
/* Call fn for every allocated folio, in pool order. */
void mm_for_each_folio(void (*fn)(struct folio *folio, void *arg), void *arg);
/* The same with what mm_folio_expected_refs counts for each folio, counted
 * for all of them in one walk of the page tables and the tasks' lists (a
 * walk per folio was a quarter of a campaign's time).  Takes scratch from
 * the arena: call it only once the run is over. */
void mm_for_each_folio_expected(
	void (*fn)(struct folio *folio, const struct folio_refs_expected *x,
		   void *arg),
	void *arg);
void mm_folio_check(const struct folio *folio);

/* --------------------------------------------------------- page tables */

struct pte_table *pte_alloc_one(struct mm_struct *mm);
void pte_free(struct mm_struct *mm, struct pte_table *pt);

/* -------------------------------------------------------- entry points */

/* arch/x86/mm/fault.c: a fault at `address` (page number) by the current
 * task; user says whether it came from user mode (FAULT_FLAG_USER and the
 * per-VMA lock) or from the kernel touching user memory.  Returns the
 * final vm_fault_t (the kernel turns errors into signals or exception
 * fixups; the model's callers look at the bits). */
vm_fault_t do_user_addr_fault(uint64_t address, bool write, bool user);

vm_fault_t handle_mm_fault(struct vm_area_struct *vma, uint64_t address,
			   unsigned int flags);
struct vm_area_struct *lock_vma_under_rcu(struct mm_struct *mm,
					  uint64_t address);
struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t address);

/* mm/mmap.c, mm/mprotect.c: a new mapping, the end of one, a change of
 * its protection.  Return 0 or a negative errno. */
struct vma_desc {
	const char *name;
	uint64_t start;			/* page */
	uint64_t pages;
	unsigned long vm_flags;		/* VM_READ/WRITE/SHARED/HUGEPAGE */
	struct file *file;		/* NULL: anonymous */
	pgoff_t pgoff;
	bool anon_vma;			/* give it an anon_vma at once */
};
int do_mmap(const struct vma_desc *d, struct vm_area_struct **out);
int do_munmap(uint64_t start, uint64_t pages);
int do_mprotect(uint64_t start, uint64_t pages, bool write);

/* write(2) of `pages` pages at file page `index` from user address
 * `src` (page number); returns pages written or a negative errno. */
long ksys_write(struct file *file, pgoff_t index, uint32_t pages,
		uint64_t src);

/* truncate(2) / ftruncate to size_bytes (mm/truncate.c): 0. */
long do_truncate(struct file *file, uint64_t size_bytes);
/* fallocate(FALLOC_FL_PUNCH_HOLE) of pages [start, start + pages): 0. */
long do_punch_hole(struct file *file, pgoff_t start, pgoff_t pages);

/* A user-mode store to the page at uaddr (mm/gup.c): the MMU writes it
 * when the PTE is present and writable, else the store faults and is
 * retried.  The page's content gets a new version.  False when the fault
 * failed (SIGSEGV, SIGBUS) and nothing was stored. */
bool user_store(uint64_t uaddr);
/* A kernel write into user memory through get_user_pages (mm/gup.c):
 * take a reference on the page mapped at uaddr (faulting it in if it is
 * not), wait hold_ns (the device transfer), write new contents, dirty
 * the folio (set_page_dirty, without the folio lock) and drop the
 * reference.  False when the page could not be faulted in. */
bool gup_write(uint64_t uaddr, uint64_t hold_ns);

/* Page reclaim (mm/vmscan.c), as the scenario's reclaim operation asks
 * for it: the kernel's struct scan_control, reduced to what changes the
 * locking. */
enum reclaim_target {
	RECLAIM_TARGET_ALL = 0,
	RECLAIM_TARGET_ANON,
	RECLAIM_TARGET_FILE,
	RECLAIM_TARGETS_COUNT,
};

struct scan_control {
	uint32_t nr_to_scan;		/* folios isolated from the LRU */
	enum reclaim_target target;
	bool kswapd;			/* current_is_kswapd(); else direct */
	/* reclaim_pages() (MADV_PAGEOUT): folio_check_references is
	 * skipped, referenced folios are reclaimed too. */
	bool ignore_references;
	/* Legacy memcg (cgroup v1) reclaim without dirty throttling: wait
	 * for writeback of a folio already marked for reclaim. */
	bool wait_writeback;
	/* Which folios count as candidates (the scenario's choice of
	 * targets): anonymous folios whose address is in
	 * [anon_first, anon_end), and folios of file `file` (a world file
	 * index, or -1) at indices [file_first, file_end).  `filtered` false:
	 * every folio on the LRU. */
	bool filtered;
	uint64_t anon_first, anon_end;
	int32_t file;
	uint64_t file_first, file_end;
};

/* Isolate, shrink and put back one batch; returns the folios freed. */
uint32_t shrink_inactive_list(const struct scan_control *sc);

/* Migrate the anonymous folio mapped at uaddr to a new folio
 * (mm/migrate.c): 0, or -EAGAIN when there is nothing to migrate or it
 * is busy. */
int migrate_folio_at(uint64_t uaddr);

#endif /* SIM_MM_MM_H */
