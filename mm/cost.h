/*
 * cost.h: the modeled CPU time of what the fault paths do, in one place,
 * each with where its number comes from.  Not device latency (I/O
 * completes as an event after the file's read_latency) and not lock
 * operations (COST_LOCK_NS / COST_UNLOCK_NS in locks.h).
 *
 * Calibration: a minor anonymous write fault (exception entry, VMA lookup
 * and lock, page allocation, zeroing, PTE lock, rmap and LRU, set_pte,
 * exit) totals about 1 us, KERNEL.md section 10's default (range
 * 0.6-4 us); tests/mm/test_fault.c checks the sum stays in that range.
 * The numbers are order-of-magnitude figures for a current x86 server
 * core; what the simulator answers (who waits for whom, and for how long
 * relative to I/O) is insensitive to them within a factor of two.
 */
#ifndef SIM_MM_COST_H
#define SIM_MM_COST_H

/* Exception entry and exit around do_user_addr_fault: the #PF vector,
 * irqentry_enter/exit, reading cr2, perf and accounting (~150 ns on
 * recent cores, measured by page-fault microbenchmarks with the handler
 * body excluded). */
#define COST_FAULT_ENTRY_NS 150

/* A VMA lookup: a maple tree walk of a few levels under RCU, a handful of
 * cache misses at most. */
#define COST_VMA_LOOKUP_NS 40

/* Allocating one 4 KiB page from the per-CPU lists plus the memcg charge. */
#define COST_PAGE_ALLOC_NS 150

/* Clearing one 4 KiB page with rep stosb: ~16 GB/s from L2, ~250 ns. */
#define COST_PAGE_ZERO_NS 250

/* Copying one 4 KiB page (COW, copy_from_user of a page): twice the
 * traffic of clearing it. */
#define COST_PAGE_COPY_NS 400

/* Walking the page table to a PMD or PTE entry that is cached. */
#define COST_PT_WALK_NS 20

/* Writing one PTE or PMD, with the rmap and mm counter update that goes
 * with mapping a page (folio_add_*_rmap, add_mm_counter). */
#define COST_SET_PTE_NS 40

/* Putting a new anonymous folio on the LRU (folio_add_lru_vma, batched). */
#define COST_LRU_ADD_NS 40

/* One page cache (xarray) lookup or store, under RCU or the xa_lock. */
#define COST_XA_NS 40

/* Reading or testing one folio field or flag: a cache hit. */
#define COST_FOLIO_FLAG_NS 2

/* Building and submitting one block read (bio allocation, submit_bio,
 * the driver's queue_rq): about 1.5 us of CPU per request. */
#define COST_IO_SUBMIT_NS 1500

/* Allocating and initialising a PTE table (pte_alloc_one, zeroed 4 KiB). */
#define COST_PTE_ALLOC_NS 300

/* Syscall entry and exit for mmap, munmap, mprotect and write. */
#define COST_SYSCALL_NS 100

/* Creating or tearing down a VMA: allocation, maple tree store,
 * i_mmap linking (excluding the locks, charged separately). */
#define COST_VMA_UPDATE_NS 300

/* A fuse WRITE request round trip to a daemon on the same machine
 * (request queueing, two context switches, reply): ~20 us. */
#define COST_FUSE_WRITE_NS 20000

#endif /* SIM_MM_COST_H */
