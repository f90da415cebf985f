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

struct kernel_knobs {
	enum knob_fault_retry fault_retry;
	enum knob_do_fault_locking do_fault_locking;
	enum knob_fault_around fault_around;
	enum knob_filemap_map_pmd filemap_map_pmd;
	enum knob_write_path write_path;
	enum knob_fault_lock fault_lock;
	enum knob_vma_anon_fallback vma_anon_fallback;
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

/* fault_around_bytes' default in mm/memory.c: rounddown_pow_of_two(65536). */
#define FAULT_AROUND_BYTES_DEFAULT 65536ull

/* Today's kernel. */
struct kernel_knobs kernel_knobs_default(void);

#endif /* SIM_MM_KNOBS_H */
