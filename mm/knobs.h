/*
 * knobs.h: the kernel variants a scenario selects in its `kernel` section.
 * Each knob names one behaviour that a kernel change (one of the seeds)
 * altered; both sides are modeled, so one scenario runs against both and
 * the results compare.  Not the loader (scenario_world.c parses these) and
 * not the behaviour (the mm/ file named like the kernel's reads them).
 *
 * Defaults are today's kernel (v6.6 and later with the late-2023 fault
 * path changes), except where a knob is deliberately broken: those default
 * to the correct behaviour and say "broken" in their comment.
 */
#ifndef SIM_MM_KNOBS_H
#define SIM_MM_KNOBS_H

#include <stdint.h>

/* FAULT_FLAG_ALLOW_RETRY and how the arch handler retries (KERNEL.md 4). */
enum knob_fault_retry {
	/* Before Lespinasse 2010: no ALLOW_RETRY, a fault sleeps on the folio
	 * lock holding mmap_lock for the whole disk latency. */
	FAULT_RETRY_NONE = 0,
	/* Today: the first attempt may drop the fault lock and return
	 * VM_FAULT_RETRY; later attempts carry FAULT_FLAG_TRIED and wait
	 * holding it. */
	FAULT_RETRY_DROP_ONCE,
	/* Broken on purpose: every attempt is treated as the first (TRIED is
	 * never set), so every attempt may drop, wait and retry (KERNEL.md 11,
	 * pattern 2). */
	FAULT_RETRY_DROP_ALWAYS,
	KNOB_FAULT_RETRY_COUNT,
};

/* Where the final folio lock of a ->fault() result is taken (seed 003,
 * Linus's Oct 2020 patches 1-3). */
enum knob_do_fault_locking {
	/* __do_fault locks the page when ->fault() did not (the kernel before
	 * the patches, and still today: the series was never merged). */
	DO_FAULT_LOCKING_IN_DO_FAULT = 0,
	/* The patches: callers lock; do_cow_fault unlocks the source as soon
	 * as it is copied, before finish_fault. */
	DO_FAULT_LOCKING_IN_CALLERS,
	KNOB_DO_FAULT_LOCKING_COUNT,
};

/* How filemap_map_pages treats the folio lock (seed 003, patch 4). */
enum knob_fault_around {
	/* Today: trylock every folio; skip it when the trylock fails. */
	FAULT_AROUND_TRYLOCK = 0,
	/* Linus's patch 4: private mappings skip the lock for small folios,
	 * re-checking mapping, uptodate and i_size instead. */
	FAULT_AROUND_PRIVATE_NOLOCK,
	/* Broken on purpose: skip the lock for private small folios and skip
	 * the re-checks too (KERNEL.md 11, pattern 7). */
	FAULT_AROUND_NOLOCK_NORECHECK,
	KNOB_FAULT_AROUND_COUNT,
};

/* filemap_map_pmd's use of do_set_pmd's result (seed 004). */
enum knob_filemap_map_pmd {
	FILEMAP_MAP_PMD_FIXED = 0,
	/* The Dec 2020 bug: the result tested backwards; a failure leaks the
	 * folio reference, a success puts one reference too many. */
	FILEMAP_MAP_PMD_INVERTED_SET_PMD,
	KNOB_FILEMAP_MAP_PMD_COUNT,
};

/* How write() to a fuse file fills the page cache (KERNEL.md 8). */
enum knob_write_path {
	/* One folio locked at a time, the source faulted in first (what
	 * fuse does in writeback-cache mode, and every other filesystem). */
	WRITE_PATH_GENERIC_PERFORM_WRITE = 0,
	/* fuse_perform_write of Oct 2020: fuse_fill_write_pages keeps every
	 * folio of the request locked while it faults in the next source
	 * page. */
	WRITE_PATH_FUSE_MULTI_LOCK,
	KNOB_WRITE_PATH_COUNT,
};

/* Which lock a user fault takes first (KERNEL.md 3). */
enum knob_fault_lock {
	FAULT_LOCK_MMAP_ONLY = 0,	/* before Linux 6.4 */
	FAULT_LOCK_VMA_THEN_MMAP,	/* 6.4+: lock_vma_under_rcu first */
	KNOB_FAULT_LOCK_COUNT,
};

/* vmf_anon_prepare under the VMA lock for an anon VMA without anon_vma. */
enum knob_vma_anon_fallback {
	/* The kernel: mmap_read_trylock, else drop the VMA lock and RETRY. */
	VMA_ANON_FALLBACK_TRYLOCK = 0,
	/* Broken on purpose: mmap_read_lock while holding the VMA read lock
	 * (KERNEL.md 11, pattern 3: deadlocks against a writer waiting in
	 * vma_start_write). */
	VMA_ANON_FALLBACK_LOCK,
	KNOB_VMA_ANON_FALLBACK_COUNT,
};

/* do_swap_page under the per-VMA lock (KERNEL.md 6, seed 000). */
enum knob_swap_vma_lock {
	/* Merged in v6.6 after Peter Xu's review: __folio_lock_or_retry
	 * drops whichever lock the fault holds (release_fault_lock), the VMA
	 * lock exactly like mmap_lock, and waits for the folio. */
	SWAP_VMA_LOCK_RELEASE_FAULT_LOCK = 0,
	/* v6.4, Feb 2023: every swap fault under the VMA lock returns
	 * VM_FAULT_RETRY at once and is redone under mmap_lock. */
	SWAP_VMA_LOCK_RETRY_ALL,
	/* Suren's June 2023 v1: under FAULT_FLAG_VMA_LOCK
	 * __folio_lock_or_retry fails at once (RETRY, redo under mmap_lock)
	 * without waiting: only an uncontended folio is handled under the
	 * VMA lock. */
	SWAP_VMA_LOCK_UNCONTENDED_V1,
	/* Broken on purpose: no VMA-lock check at all;
	 * __folio_lock_or_retry releases mmap_lock, which a fault holding
	 * only the VMA lock does not hold (KERNEL.md 11, pattern 8). */
	SWAP_VMA_LOCK_NAIVE,
	KNOB_SWAP_VMA_LOCK_COUNT,
};

/* Speculative page faults (Lespinasse 2021, never merged; KERNEL.md 7,
 * seed 002). */
enum knob_speculative {
	SPECULATIVE_OFF = 0,
	/* The series: a per-mm sequence count checked when the page table
	 * lock is taken (pte_map_lock / pte_spinlock). */
	SPECULATIVE_VALIDATED,
	/* Broken on purpose: pte_map_lock skips the sequence check, so a
	 * speculative fault can map into the page tables of a VMA that
	 * munmap has torn down. */
	SPECULATIVE_UNVALIDATED,
	KNOB_SPECULATIVE_COUNT,
};

/* do_swap_page's skip-swapcache path for SWP_SYNCHRONOUS_IO devices. */
enum knob_swapcache_fence {
	/* Since v6.8 (Kairui Song, Feb 2024, "mm/swap: fix race when
	 * skipping swapcache"): swapcache_prepare pins the entry with
	 * SWAP_HAS_CACHE; a racing fault backs off a tick. */
	SWAPCACHE_FENCE_ON = 0,
	/* Before it (broken): two faults may both skip the swap cache for
	 * one entry; the slot can be freed and reused between the second
	 * fault's read and its pte_same (KERNEL.md 11, pattern 9). */
	SWAPCACHE_FENCE_OFF,
	KNOB_SWAPCACHE_FENCE_COUNT,
};

/* The order of __remove_mapping's two checks (mm/vmscan.c). */
enum knob_reclaim_order {
	/* The kernel: freeze the refcount at its expected value, then test
	 * the dirty bit. */
	RECLAIM_ORDER_FREEZE_THEN_DIRTY = 0,
	/* Broken on purpose: test dirty first; a writer holding a reference
	 * that dirties the folio and drops its reference in between loses
	 * its write (KERNEL.md 11, pattern 10). */
	RECLAIM_ORDER_DIRTY_BEFORE_FREEZE,
	KNOB_RECLAIM_ORDER_COUNT,
};

/* The rw_semaphore's reader rule (mm/locks.h, enum rwsem_policy). */
enum knob_rwsem {
	/* The kernel: a queued waiter blocks new readers (KERNEL.md 2). */
	RWSEM_KNOB_FAIR = 0,
	/* A counterfactual, not any kernel: readers pass queued writers, so
	 * scenarios can show which deadlocks exist only because of the
	 * queued-writer rule (KERNEL.md 11, pattern 4). */
	RWSEM_KNOB_READER_PREFERRING,
	KNOB_RWSEM_COUNT,
};

struct kernel_knobs {
	enum knob_fault_retry fault_retry;
	enum knob_do_fault_locking do_fault_locking;
	enum knob_fault_around fault_around;
	enum knob_filemap_map_pmd filemap_map_pmd;
	enum knob_write_path write_path;
	enum knob_fault_lock fault_lock;
	enum knob_vma_anon_fallback vma_anon_fallback;
	enum knob_swap_vma_lock swap_vma_lock;
	enum knob_speculative speculative;
	enum knob_swapcache_fence swapcache_fence;
	enum knob_reclaim_order reclaim_order;
	enum knob_rwsem rwsem;
	/* The debugfs knob fault_around_bytes (mm/memory.c): 64 KiB, 16
	 * pages, by default.  A value below two pages turns fault-around
	 * off, as should_fault_around() does. */
	uint64_t fault_around_bytes;
};

/* The names the scenario's `kernel` section uses, NULL-ended, indexed by
 * the enums above. */
extern const char *const knob_fault_retry_names[];
extern const char *const knob_do_fault_locking_names[];
extern const char *const knob_fault_around_names[];
extern const char *const knob_filemap_map_pmd_names[];
extern const char *const knob_write_path_names[];
extern const char *const knob_fault_lock_names[];
extern const char *const knob_vma_anon_fallback_names[];
extern const char *const knob_swap_vma_lock_names[];
extern const char *const knob_speculative_names[];
extern const char *const knob_swapcache_fence_names[];
extern const char *const knob_reclaim_order_names[];
extern const char *const knob_rwsem_names[];

/* fault_around_bytes' default in mm/memory.c: rounddown_pow_of_two(65536). */
#define FAULT_AROUND_BYTES_DEFAULT 65536ull

/* Today's kernel. */
struct kernel_knobs kernel_knobs_default(void);

#endif /* SIM_MM_KNOBS_H */
