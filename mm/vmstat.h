/*
 * vmstat.h: what the model counts and reports about faults, as the kernel's
 * vm_event_item counters plus one record per completed fault.  The analysis
 * layer subscribes to these hooks for metrics and checks; the model never
 * calls a checker by name.  Not the metrics themselves (analysis/).
 */
#ifndef SIM_MM_VMSTAT_H
#define SIM_MM_VMSTAT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

struct folio;

enum vm_event_item {
	PGFAULT = 0,		/* every fault, counted once by the attempt
				 * that completes it (mm_account_fault:
				 * RETRY attempts are not counted) */
	PGMAJFAULT,		/* faults that waited for I/O */
	VMA_LOCK_SUCCESS,	/* handled under the per-VMA lock */
	VMA_LOCK_ABORT,		/* vma_start_read failed: mmap_lock path */
	VMA_LOCK_RETRY,		/* RETRY under the VMA lock: redo under
				 * mmap_lock */
	VMA_LOCK_MISS,		/* the VMA was detached: look again */
	SPF_ATTEMPT,		/* speculative fault attempted */
	SPF_ABORT,		/* speculative fault fell back */
	FAULT_RETRY,		/* VM_FAULT_RETRY returned to the arch
				 * handler (any lock) */
	PSWPIN,			/* swap-ins */
	PSWPOUT,		/* swap-outs */
	IO_SUBMITTED,		/* block I/O requests submitted */
	IO_COMPLETED,		/* block I/O requests completed */
	PGSCAN,			/* folios reclaim looked at */
	PGSTEAL,		/* folios reclaim freed */
	NR_VM_EVENT_ITEMS,
};

const char *vm_event_name(enum vm_event_item item);

/* What kind of fault a record is, for latency histograms (issue "Checkers
 * and metrics": anon, file minor, file major, swap zram, swap disk, cow,
 * shared). */
enum fault_kind {
	FAULT_KIND_ANON = 0,
	FAULT_KIND_FILE_MINOR,
	FAULT_KIND_FILE_MAJOR,
	FAULT_KIND_SWAP_ZRAM,
	FAULT_KIND_SWAP_DISK,
	FAULT_KIND_COW,
	FAULT_KIND_SHARED,
	FAULT_KIND_WP,		/* write-protect fault on a present PTE */
	FAULT_KINDS_COUNT,
};

const char *fault_kind_name(enum fault_kind kind);

/* One fault from entry (do_user_addr_fault) to return. */
struct fault_record {
	struct task *task;
	enum fault_kind kind;
	uint64_t address;		/* page number */
	uint64_t start_ns;
	uint64_t end_ns;
	uint32_t attempts;		/* 1 + retries */
	bool vma_locked;		/* completed under the per-VMA lock */
	bool speculative;		/* completed speculatively */
	uint32_t result;		/* final vm_fault_t */
};

struct vmstat_hooks {
	void *ctx;
	void (*vm_event)(void *ctx, enum vm_event_item item, uint64_t delta);
	/* A fault finished (successfully or not). */
	void (*fault_done)(void *ctx, const struct fault_record *r);
	/* The arch handler is about to retry a fault (attempt is the one
	 * that returned RETRY, 1-based); `why` names the function that asked
	 * for the retry. */
	void (*fault_retry)(void *ctx, struct task *t, uint64_t address,
			    uint32_t attempt, const char *why);
	/* A folio's refcount dropped to zero and it was freed (leak and
	 * underflow checks run here as well as at the end of a run). */
	void (*folio_freed)(void *ctx, struct folio *folio);
};

#define VMSTAT_HOOKS_MAX 4

bool vmstat_hooks_subscribe(const struct vmstat_hooks *h);
void vmstat_hooks_unsubscribe(void *ctx);

void count_vm_events(enum vm_event_item item, uint64_t delta);
static inline void count_vm_event(enum vm_event_item item)
{
	count_vm_events(item, 1);
}
void vmstat_fault_done(const struct fault_record *r);
void vmstat_fault_retry(struct task *t, uint64_t address, uint32_t attempt,
			const char *why);
void vmstat_folio_freed(struct folio *folio);

/* The counters of the run in progress (reset by mm_world_reset). */
uint64_t vm_events(enum vm_event_item item);
void vm_events_reset(void);

#endif /* SIM_MM_VMSTAT_H */
