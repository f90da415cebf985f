/*
 * types.h: the state of the modeled machine, under the kernel's names:
 * mm_struct, vm_area_struct, page tables (pmd_t, pte_t), inode,
 * address_space and its page cache, folio, swap entries.  Small, but every
 * reference has an owner that will drop it, so leak and refcount checks are
 * real.  Not behaviour: the functions that change this state live in the
 * mm/ file named like the kernel's (memory.c, filemap.c, ...).
 *
 * Simplifications, each harmless for the locking questions simrun answers:
 *  - Addresses are page numbers: a VMA is [vm_start, vm_end) in pages.
 *    Byte offsets inside a page never matter to the locking.
 *  - One process: one mm_struct, threads share it (every seed scenario is
 *    about threads of one process; reclaim walks it through rmap as usual).
 *  - Page tables have two levels: an array of PMD entries, each none, a PTE
 *    table (512 PTEs with their own ptl: split PTE locks) or a huge mapping.
 *    The PGD/P4D/PUD levels never change under the faults modeled.
 *  - The page cache is an array indexed by page offset (the xarray's
 *    meaning without its nodes); the i_pages lock guards changes to it, and
 *    lockless readers (fault-around under RCU) read it as the kernel's
 *    xas_load does.
 *  - Folio contents are a version number (`data`): a write bumps it, so a
 *    lost write or stale data shows as a version mismatch.
 */
#ifndef SIM_MM_TYPES_H
#define SIM_MM_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/locks.h"

typedef uint64_t pgoff_t;

#define PTRS_PER_PTE 512
#define HPAGE_PMD_ORDER 9
#define HPAGE_PMD_NR (1u << HPAGE_PMD_ORDER)

/* PMD entries per mm: 8 x 2 MiB = 16 MiB of address space, far more than
 * any scenario maps. */
#define PMDS_MAX 8
#define MM_PAGES_MAX ((uint64_t)PMDS_MAX * PTRS_PER_PTE)
/* VMAs per mm and mappings per file: scenarios use a handful. */
#define VMAS_MAX 32
/* Pages per file: the largest file a scenario can describe (16 MiB). */
#define FILE_PAGES_MAX 4096
/* Files per world. */
#define FILES_MAX 8
/* Folios that can exist in one run: page cache + anon + swap-in copies. */
#define FOLIOS_MAX 8192
/* Slots per chunk of the folio pool's table (struct mm_world): a run's
 * folios mostly fit the first. */
#define FOLIO_CHUNK_SLOTS 256
static_assert(FOLIOS_MAX % FOLIO_CHUNK_SLOTS == 0, "whole chunks");
/* Swap slots on the one swap device. */
#define SWAP_SLOTS_MAX 4096
/* Remembered changes of one folio's refcount or mapcount, for leak
 * reports ("the last functions that changed them"). */
#define FOLIO_REF_LOG_MAX 8
/* Functions remembered per kind of blame (struct folio_blame): the sites
 * of one bug are one or two functions. */
#define FOLIO_BLAME_SITES_MAX 4
/* VMA structs one run may create: the scenario's plus one per mmap
 * operation, which the loader bounds (SCENARIO_MMAPS_MAX). */
#define VMA_STRUCTS_MAX 96
/* Pages of the mmap read-around window: VM_READAHEAD_PAGES, 128 KiB. */
#define RA_PAGES 32u

static_assert(MM_PAGES_MAX % HPAGE_PMD_NR == 0, "whole PMDs");
static_assert(VMAS_MAX <= VMA_STRUCTS_MAX, "every linked VMA has a struct");

/* --------------------------------------------------------------- folios */

enum pageflags {
	PG_locked = 0,
	PG_uptodate,
	PG_dirty,
	PG_writeback,
	PG_readahead,
	PG_swapcache,
	PG_anon,
	PG_error,
	PG_reclaim,
	PG_lru,
	PG_referenced,		/* reclaim saw it referenced once already */
	PG_device,		/* ZONE_DEVICE device-private memory */
	PAGEFLAGS_COUNT,
};

/* A swap entry: the slot's offset on the one swap device.  Offset 0 is
 * never handed out, so val == 0 is "no entry". */
typedef struct {
	uint32_t val;
} swp_entry_t;

struct folio_ref_change {
	const char *where;	/* model function */
	int16_t ref_delta;
	int16_t map_delta;
	int32_t refcount;	/* after the change */
	int32_t mapcount;
	uint16_t task;		/* TRACE_NO_TASK for an event */
	uint64_t step;
};

/*
 * References the model saw go astray, for the leak checker to name: the
 * model's bookkeeping, not kernel state, cleared when the folio is
 * allocated.  `orphaned`: references a task still held when its operation
 * returned (task_folio_refs_orphan: no code path will put them), by the
 * function that took them.  `unowned_puts`: folio_put by a task of a
 * reference it did not hold (it dropped one a mapping or the page cache
 * owns), by the function that put it.
 */
struct folio_blame {
	uint32_t count;			/* references orphaned, or puts */
	uint32_t sites_count;
	/* Distinct functions, first seen first; more are counted in
	 * `count` only. */
	const char *sites[FOLIO_BLAME_SITES_MAX];
	const char *last_where;		/* the latest one */
	uint16_t last_task;
	uint64_t last_step;
};

struct address_space;
struct anon_vma;

struct folio {
	uint32_t id;			/* world object id */
	unsigned long flags;		/* 1 << PG_* */
	int32_t refcount;		/* folio_ref_count() */
	int32_t mapcount;		/* PTE and PMD mappings */
	uint8_t order;			/* 0, or HPAGE_PMD_ORDER for a THP */
	struct address_space *mapping;	/* page cache owner, NULL if none */
	struct anon_vma *anon_vma;	/* anonymous folios */
	pgoff_t index;			/* page offset in mapping / anon */
	swp_entry_t swap;		/* valid while PG_swapcache */
	struct lock_common lock;	/* PG_locked's class and wait queue */
	struct task *lock_owner;	/* NULL while I/O owns PG_locked */
	uint64_t data;			/* content version */
	bool freed;			/* back on the free list */
	struct folio *free_next;	/* the pool's free list */
	uint32_t pool_slot;		/* its index in mm_world.folios[],
					 * fixed for the run */
	uint64_t lru_seq;		/* LRU position while PG_lru: smaller
					 * is older (mm/vmscan.c) */
	uint32_t ref_log_next;
	struct folio_ref_change ref_log[FOLIO_REF_LOG_MAX];
	struct folio_blame orphaned;
	struct folio_blame unowned_puts;
};

static inline bool folio_test(const struct folio *f, enum pageflags b)
{
	return (f->flags >> b) & 1ul;
}

static inline void folio_set(struct folio *f, enum pageflags b)
{
	f->flags |= 1ul << b;
}

static inline void folio_clear(struct folio *f, enum pageflags b)
{
	f->flags &= ~(1ul << b);
}

static inline uint32_t folio_nr_pages(const struct folio *f)
{
	return 1u << f->order;
}

/* --------------------------------------------------------- page tables */

enum pte_kind {
	PTE_NONE = 0,
	PTE_PRESENT,		/* maps folio (page `subpage` of it) */
	PTE_SWAP,		/* a swap entry (swp) */
	PTE_MIGRATION,		/* a migration entry for folio: wait for it */
	PTE_DEVICE_PRIVATE,	/* folio is device-private memory
				 * (migrate_to_ram brings it back) */
};

/*
 * A present PTE with folio == NULL maps the shared zero page (a read
 * fault on anonymous memory): no folio, no reference, no mapcount, as
 * the kernel's pte_special zero-page entries.
 *
 * `young` is the accessed bit: set by the fault that installs a PTE (and
 * by the MMU on a user access, the `store` operation), cleared by
 * reclaim's folio_referenced.  Like the kernel's pte_same, which compares
 * the whole word, pte_same compares it too: a fault that read the PTE
 * before reclaim aged it backs out and is taken again, as it does in the
 * kernel when the hardware or reclaim changes the bit under it.
 *
 * A migration entry names the folio being migrated, as the kernel's
 * encodes its pfn, without holding a reference (the migrating task's
 * keeps it); a device-private entry holds a reference and a mapcount,
 * as a present PTE does.
 */
typedef struct {
	uint8_t kind;		/* enum pte_kind */
	bool write;
	bool dirty;
	bool young;
	uint16_t subpage;
	struct folio *folio;
	swp_entry_t swp;
} pte_t;

static inline bool pte_none(pte_t p)
{
	return p.kind == PTE_NONE;
}

static inline bool pte_present(pte_t p)
{
	return p.kind == PTE_PRESENT;
}

static inline bool pte_write(pte_t p)
{
	return p.kind == PTE_PRESENT && p.write;
}

static inline bool is_zero_pte(pte_t p)
{
	return p.kind == PTE_PRESENT && p.folio == NULL;
}

/* pte_same: every field, as the kernel compares the whole word. */
static inline bool pte_same(pte_t a, pte_t b)
{
	return a.kind == b.kind && a.write == b.write && a.dirty == b.dirty &&
	       a.young == b.young && a.subpage == b.subpage && a.folio == b.folio &&
	       a.swp.val == b.swp.val;
}

struct pte_table {
	uint32_t id;
	spinlock_t ptl;			/* split PTE lock of this table */
	struct pte_table *free_next;	/* the world's free list */
	pte_t ptes[PTRS_PER_PTE];
};

enum pmd_kind {
	PMD_NONE = 0,
	PMD_TABLE,
	PMD_HUGE,
};

typedef struct {
	uint8_t kind;		/* enum pmd_kind */
	bool write;
	struct pte_table *table;
	struct folio *folio;	/* PMD_HUGE */
} pmd_t;

/* --------------------------------------------------------------- files */

struct inode;

/* A page cache slot: a folio, a value (shadow) entry, or empty. */
struct xa_slot {
	struct folio *folio;
	bool value;
};

/* Page cache slots per chunk of an address_space's table (4 KiB), and
 * pages per chunk of an inode's disk contents (4 KiB). */
#define DISK_CHUNK_PAGES 512
static_assert(FILE_PAGES_MAX % DISK_CHUNK_PAGES == 0, "whole chunks");
#define XA_CHUNK_SLOTS 256
static_assert(FILE_PAGES_MAX % XA_CHUNK_SLOTS == 0, "whole chunks");

struct address_space {
	uint32_t id;
	struct inode *host;
	/* i_pages: FILE_PAGES_MAX slots, read with xa_slot_load and written
	 * through xa_slot_store.  A chunk of XA_CHUNK_SLOTS comes from the
	 * arena when a slot in it is first stored; until then its slots read
	 * as empty.  A flat table was 64 KiB per file (and per swap device)
	 * for the arena to zero after every schedule, for the few pages a
	 * scenario caches. */
	struct xa_slot *i_pages[FILE_PAGES_MAX / XA_CHUNK_SLOTS];
	spinlock_t i_pages_lock;		/* xa_lock */
	struct rw_semaphore i_mmap_rwsem;
	struct rw_semaphore invalidate_lock;
	struct vm_area_struct *i_mmap[VMAS_MAX];
	uint32_t i_mmap_count;
	uint32_t nrpages;
	struct block_device *bdev;		/* files[].device, or NULL: a
						 * fixed read_latency */
};

/* Every slot of a chunk not yet taken: empty, and never written. */
extern const struct xa_slot xa_slot_none;

/* Slot `index` of m's page cache, to read. */
static inline const struct xa_slot *xa_slot_load(const struct address_space *m,
						 uint64_t index)
{
	SIM_ASSERT(index < FILE_PAGES_MAX);
	const struct xa_slot *chunk = m->i_pages[index / XA_CHUNK_SLOTS];
	return chunk ? &chunk[index % XA_CHUNK_SLOTS] : &xa_slot_none;
}

/* Slot `index` of m's page cache, to write: its chunk is taken from the
 * arena if this is the first store in it. */
static inline struct xa_slot *xa_slot_store(struct address_space *m,
					    uint64_t index)
{
	SIM_ASSERT(index < FILE_PAGES_MAX);
	struct xa_slot **chunk = &m->i_pages[index / XA_CHUNK_SLOTS];
	if (!*chunk)
		*chunk = arena_array(sim_arena(), struct xa_slot,
				     XA_CHUNK_SLOTS);
	return &(*chunk)[index % XA_CHUNK_SLOTS];
}

struct inode {
	uint32_t id;
	char name[32];
	uint64_t i_size;			/* bytes */
	struct rw_semaphore i_rwsem;
	struct address_space i_data;
	bool fuse;				/* fuse write path */
	bool no_map_pages;			/* vm_ops without map_pages */
	bool thp;				/* page cache may hold THPs */
	/* I/O without a device (files[].read_latency): every read and
	 * write of a folio takes this long. */
	uint64_t read_latency_ns;
	/* The content version (folio->data) each page has on the backing
	 * store: what a read brings in and writeback stores, so a lost write
	 * shows as a mismatch.  FILE_PAGES_MAX entries, read with
	 * inode_disk_load and written with inode_disk_store, in chunks of
	 * DISK_CHUNK_PAGES taken from the arena on the first nonzero store
	 * (a page never written reads 0); a flat table was 32 KiB per file
	 * for the arena to zero after every schedule. */
	uint64_t *disk_data[FILE_PAGES_MAX / DISK_CHUNK_PAGES];
};

static inline uint64_t inode_disk_load(const struct inode *inode,
				       uint64_t index)
{
	SIM_ASSERT(index < FILE_PAGES_MAX);
	const uint64_t *chunk = inode->disk_data[index / DISK_CHUNK_PAGES];
	return chunk ? chunk[index % DISK_CHUNK_PAGES] : 0;
}

static inline void inode_disk_store(struct inode *inode, uint64_t index,
				    uint64_t data)
{
	SIM_ASSERT(index < FILE_PAGES_MAX);
	uint64_t **chunk = &inode->disk_data[index / DISK_CHUNK_PAGES];
	if (!*chunk) {
		if (data == 0)
			return;		/* reads 0 already */
		*chunk = arena_array(sim_arena(), uint64_t, DISK_CHUNK_PAGES);
	}
	(*chunk)[index % DISK_CHUNK_PAGES] = data;
}

/* The readahead window of an open file (struct file_ra_state): the last
 * window submitted and how much of its tail is the async part, whose
 * first folio carries PG_readahead. */
struct file_ra_state {
	pgoff_t start;
	uint32_t size;
	uint32_t async_size;
};

struct file {
	struct inode *f_inode;
	struct address_space *f_mapping;
	struct file_ra_state f_ra;
};

#define PAGE_SIZE_BYTES 4096ull

static inline pgoff_t i_size_pages(const struct inode *inode)
{
	return (inode->i_size + PAGE_SIZE_BYTES - 1) / PAGE_SIZE_BYTES;
}

/* ----------------------------------------------------------------- VMAs */

#define VM_READ		0x0001ul
#define VM_WRITE	0x0002ul
#define VM_SHARED	0x0008ul
#define VM_MAYWRITE	0x0020ul
#define VM_HUGEPAGE	0x20000000ul
#define VM_NOHUGEPAGE	0x40000000ul

struct vm_fault;
typedef uint32_t vm_fault_t;

struct vm_operations_struct {
	vm_fault_t (*fault)(struct vm_fault *vmf);
	vm_fault_t (*map_pages)(struct vm_fault *vmf, pgoff_t start,
				pgoff_t end);
	vm_fault_t (*page_mkwrite)(struct vm_fault *vmf);
};

struct anon_vma {
	uint32_t id;
	struct rw_semaphore rwsem;
	struct vm_area_struct *vmas[VMAS_MAX];
	uint32_t vmas_count;
};

struct mm_struct;

struct vm_area_struct {
	uint32_t id;
	char name[32];
	uint64_t vm_start;			/* page number */
	uint64_t vm_end;			/* page number, exclusive */
	unsigned long vm_flags;
	struct mm_struct *vm_mm;
	struct file *vm_file;
	pgoff_t vm_pgoff;
	struct anon_vma *anon_vma;
	const struct vm_operations_struct *vm_ops;
	struct rw_semaphore vm_lock;		/* the per-VMA lock */
	uint64_t vm_lock_seq;
	bool detached;
	/* munmap has torn down its page tables: model bookkeeping (the
	 * kernel frees the VMA after an RCU grace period instead), which
	 * lets a speculative fault that maps into them afterwards be seen
	 * (memory.c, spf_check_mapped). */
	bool zapped;
};

static inline bool vma_is_anonymous(const struct vm_area_struct *vma)
{
	return vma->vm_ops == NULL;
}

static inline uint64_t vma_pages(const struct vm_area_struct *vma)
{
	return vma->vm_end - vma->vm_start;
}

/* ------------------------------------------------------------ mm_struct */

struct mm_struct {
	uint32_t id;
	struct rw_semaphore mmap_lock;
	uint64_t mm_lock_seq;		/* VMA write locks: see mmap_lock.c */
	uint64_t mm_seq;		/* speculative faults: odd while
					 * mmap_lock is held for write */
	struct vm_area_struct *vmas[VMAS_MAX];	/* sorted by vm_start */
	uint32_t vmas_count;
	spinlock_t page_table_lock;
	spinlock_t pmd_lock;		/* split PMD lock of the one PMD page */
	pmd_t pmd[PMDS_MAX];
};

static inline pmd_t *pmd_of(struct mm_struct *mm, uint64_t addr)
{
	SIM_ASSERT(addr < MM_PAGES_MAX);
	return &mm->pmd[addr / PTRS_PER_PTE];
}

#endif /* SIM_MM_TYPES_H */
