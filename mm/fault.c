/*
 * fault.c: models arch/x86/mm/fault.c, do_user_addr_fault: the entry of
 * every fault on a user address, with the per-VMA lock attempt, the
 * fallback to mmap_lock and the retry loop, and the fault's accounting
 * (counters and the fault record).  Not the handler itself
 * (handle_mm_fault, memory.c).
 *
 * A fault's retry loop (states and invariants; tests cite the numbers):
 *
 *   VMA:   user fault with fault_lock vma_then_mmap: lock_vma_under_rcu,
 *          handle_mm_fault(flags | FAULT_FLAG_VMA_LOCK).
 *          -> done (VMA_LOCK_SUCCESS), or RETRY -> MMAP (VMA_LOCK_RETRY).
 *          No VMA, or vma_start_read failed -> MMAP (ABORT counted by
 *          lock_vma_under_rcu).
 *   MMAP:  lock_mm_and_find_vma (trylock, else lock), handle_mm_fault.
 *          -> done, COMPLETED (lock already dropped), or RETRY -> MMAP
 *          with FAULT_FLAG_TRIED (drop_once) or without (drop_always).
 *
 * Invariants:
 *  1. Flags are one of the legal sets: ALLOW_RETRY (first attempt),
 *     ALLOW_RETRY|TRIED (later attempts), or neither (fault_retry none),
 *     plus WRITE/USER/KILLABLE/INTERRUPTIBLE/VMA_LOCK; handle_mm_fault
 *     asserts it (sanitize_fault_flags).
 *  2. When handle_mm_fault returns RETRY or COMPLETED, it has released the
 *     fault lock itself (since late 2023 also the VMA lock): this loop
 *     never unlocks after either.  On any other result the loop unlocks.
 *  3. The VMA lock is tried once per fault; after VMA_LOCK_RETRY the fault
 *     continues under mmap_lock without TRIED (x86 up to v6.9 did not
 *     carry it over; each wait site still drops the lock at most once per
 *     lock kind).
 *  4. Every retry is reported (FAULT_RETRY, vmstat_fault_retry) before the
 *     next attempt; the loop has no bound of its own, the run's step budget
 *     is its bound, and the livelock checker judges the retries.
 *  5. PGFAULT is counted once per fault, by the attempt that completes it
 *     (handle_mm_fault's mm_account_fault); one fault record per fault.
 *
 * Signals are not modeled: KILLABLE waits behave as plain waits.
 */
#include "mm/internal.h"

/* access_error: the VMA does not allow this access. */
static bool access_error(bool write, const struct vm_area_struct *vma)
{
	if (write)
		return !(vma->vm_flags & VM_WRITE);
	return !(vma->vm_flags & VM_READ);
}

/* lock_mm_and_find_vma: mmap_lock for read (trylock first, as
 * get_mmap_lock_carefully), then the VMA containing address, or NULL with
 * the lock released. */
static struct vm_area_struct *lock_mm_and_find_vma(struct mm_struct *mm,
						   uint64_t address)
{
	if (!mmap_read_trylock(mm))
		mmap_read_lock(mm);
	struct vm_area_struct *vma = find_vma(mm, address);
	if (vma && vma->vm_start <= address)
		return vma;
	mmap_read_unlock(mm);
	return NULL;
}

static void fault_retry_report(struct task *t, uint64_t address,
			       struct fault_state *fs)
{
	count_vm_event(FAULT_RETRY);
	vmstat_fault_retry(t, address, fs->attempts,
			   fs->retry_why ? fs->retry_why : "handle_mm_fault");
	fs->retry_why = NULL;
}

vm_fault_t do_user_addr_fault(uint64_t address, bool write, bool user)
{
	struct mm_struct *mm = mm_world->mm;
	const struct kernel_knobs *kn = kernel_knobs();
	struct task *t = sim_current();
	struct task_mm *tm = task_mm(t);
	struct fault_state fs = { .kind = FAULT_KIND_ANON };
	struct fault_record rec = { .task = t, .address = address,
				    .start_ns = sim_now() };
	unsigned int flags = 0;
	struct vm_area_struct *vma = NULL;
	vm_fault_t fault = 0;

	SIM_ASSERT(tm->fault == NULL);
	SIM_ASSERT(tm->pagefault_disabled == 0);
	SIM_ASSERT(address < MM_PAGES_MAX);
	tm->fault = &fs;
	sim_cost(COST_FAULT_ENTRY_NS);
	mm_yield(TRACE_FAULT, (uint32_t)address);
	if (kn->fault_retry != FAULT_RETRY_NONE)
		flags = FAULT_FLAG_DEFAULT;
	if (user)
		flags |= FAULT_FLAG_USER;
	if (write)
		flags |= FAULT_FLAG_WRITE;

	/* Only user-mode faults try the per-VMA lock. */
	if (kn->fault_lock == FAULT_LOCK_VMA_THEN_MMAP &&
	    (flags & FAULT_FLAG_USER)) {
		vma = lock_vma_under_rcu(mm, address);
		if (!vma)
			goto lock_mmap;
		if (access_error(write, vma)) {
			vma_end_read(vma);
			goto lock_mmap;
		}
		fs.attempts++;
		fault = handle_mm_fault(vma, address,
					flags | FAULT_FLAG_VMA_LOCK);
		/* Invariant 2. */
		if (!(fault & (VM_FAULT_RETRY | VM_FAULT_COMPLETED)))
			vma_end_read(vma);
		if (!(fault & VM_FAULT_RETRY)) {
			count_vm_event(VMA_LOCK_SUCCESS);
			rec.vma_locked = true;
			goto done;
		}
		count_vm_event(VMA_LOCK_RETRY);
		fault_retry_report(t, address, &fs);
	}
lock_mmap:
	for (;;) {
		vma = lock_mm_and_find_vma(mm, address);
		if (!vma) {
			SIM_MARK("do_user_addr_fault: no VMA (SIGSEGV)");
			fault = VM_FAULT_SIGSEGV;
			goto done;
		}
		if (access_error(write, vma)) {
			SIM_MARK("do_user_addr_fault: access error (SIGSEGV)");
			mmap_read_unlock(mm);
			fault = VM_FAULT_SIGSEGV;
			goto done;
		}
		fs.attempts++;
		fault = handle_mm_fault(vma, address, flags);
		/* The fault is fully completed (including releasing the
		 * lock): invariant 2. */
		if (fault & VM_FAULT_COMPLETED)
			goto done;
		if (!(fault & VM_FAULT_RETRY))
			break;
		fault_retry_report(t, address, &fs);
		if (kn->fault_retry == FAULT_RETRY_DROP_ONCE)
			flags |= FAULT_FLAG_TRIED;
	}
	mmap_read_unlock(mm);
done:
	if (fs.kind_set) {
		rec.kind = fs.kind;
		if (fs.kind == FAULT_KIND_FILE_MINOR && fs.major)
			rec.kind = FAULT_KIND_FILE_MAJOR;
	} else {
		/* Nothing installed (a spurious fault, or an error before
		 * any handler): named after the mapping. */
		rec.kind = vma && !vma_is_anonymous(vma) ? FAULT_KIND_FILE_MINOR
							 : FAULT_KIND_ANON;
	}
	rec.attempts = fs.attempts;
	rec.result = fault;
	rec.end_ns = sim_now();
	tm->fault = NULL;
	vmstat_fault_done(&rec);
	return fault;
}

__attribute__((constructor)) static void mm_register_trace_kinds(void)
{
	static const struct {
		uint16_t kind;
		const char *name;
	} kinds[] = {
		{ TRACE_PTE_READ, "pte_read" },	{ TRACE_PTE_WRITE, "pte_write" },
		{ TRACE_PMD_READ, "pmd_read" },	{ TRACE_PMD_WRITE, "pmd_write" },
		{ TRACE_XA_READ, "xa_read" },	{ TRACE_XA_WRITE, "xa_write" },
		{ TRACE_FOLIO_READ, "folio_read" },
		{ TRACE_FOLIO_WRITE, "folio_write" },
		{ TRACE_ISIZE_READ, "isize_read" },
		{ TRACE_VMA_READ, "vma_read" },	{ TRACE_VMA_WRITE, "vma_write" },
		{ TRACE_FAULT, "fault" },	{ TRACE_READ_SUBMIT, "read_submit" },
		{ TRACE_READ_DONE, "read_done" },	{ TRACE_SYSCALL, "syscall" },
		{ TRACE_COPY, "copy" },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		trace_kind_register(kinds[i].kind, kinds[i].name);
}
