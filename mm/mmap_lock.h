/*
 * mmap_lock.h: mmap_lock and the per-VMA lock (Linux 6.4+), under the
 * kernel's names.  Not the VMA lookup (lock_vma_under_rcu, mm/memory.c).
 *
 * Per-VMA lock states (Documentation/mm/process_addrs.rst):
 *
 *   unlocked:       vm_lock_seq != mm_lock_seq, vm_lock has no holder
 *   read-locked:    vm_lock held for read by faults (vma_start_read)
 *   write-locked:   vm_lock_seq == mm_lock_seq (set by vma_start_write
 *                   under mmap_lock held for write)
 *
 * Invariants:
 *  1. A VMA is write-locked only while its mm's mmap_lock is held for write
 *     by the task that write-locked it.
 *  2. mmap_write_unlock ends every VMA write lock of the mm at once by
 *     bumping mm_lock_seq; there is no vma_end_write.
 *  3. vma_start_read never blocks: it fails (spuriously, at worst) rather
 *     than wait, and never succeeds on a write-locked VMA.
 *  4. mm_seq (the speculative-fault sequence count) is odd exactly while
 *     mmap_lock is held for write.
 */
#ifndef SIM_MM_MMAP_LOCK_H
#define SIM_MM_MMAP_LOCK_H

#include "mm/types.h"

void mmap_init_lock(struct mm_struct *mm);
void mmap_read_lock_at(struct mm_struct *mm, const char *where);
bool mmap_read_trylock_at(struct mm_struct *mm, const char *where);
void mmap_read_unlock_at(struct mm_struct *mm, const char *where);
void mmap_write_lock_at(struct mm_struct *mm, const char *where);
void mmap_write_unlock_at(struct mm_struct *mm, const char *where);
/* mmap_write_downgrade: end every VMA write lock (as mmap_write_unlock
 * does) and keep mmap_lock for read.  munmap downgrades before zapping. */
void mmap_write_downgrade_at(struct mm_struct *mm, const char *where);
#define mmap_write_downgrade(mm) mmap_write_downgrade_at((mm), __func__)
#define mmap_read_lock(mm) mmap_read_lock_at((mm), __func__)
#define mmap_read_lock_killable(mm) (mmap_read_lock_at((mm), __func__), 0)
#define mmap_read_trylock(mm) mmap_read_trylock_at((mm), __func__)
#define mmap_read_unlock(mm) mmap_read_unlock_at((mm), __func__)
#define mmap_write_lock(mm) mmap_write_lock_at((mm), __func__)
#define mmap_write_unlock(mm) mmap_write_unlock_at((mm), __func__)

/* Real checks: a violation is an `assert_locked` finding. */
#define mmap_assert_locked(mm) lockdep_assert_held(&(mm)->mmap_lock.c)
#define mmap_assert_write_locked(mm) \
	lockdep_assert_held_write(&(mm)->mmap_lock.c)

void vma_lock_init(struct vm_area_struct *vma);
bool vma_start_read_at(struct mm_struct *mm, struct vm_area_struct *vma,
		       const char *where);
void vma_end_read_at(struct vm_area_struct *vma, const char *where);
void vma_start_write_at(struct vm_area_struct *vma, const char *where);
#define vma_start_read(mm, vma) vma_start_read_at((mm), (vma), __func__)
#define vma_end_read(vma) vma_end_read_at((vma), __func__)
#define vma_start_write(vma) vma_start_write_at((vma), __func__)

static inline bool vma_is_write_locked(const struct vm_area_struct *vma)
{
	return vma->vm_lock_seq == vma->vm_mm->mm_lock_seq;
}

/* vma_assert_locked: the VMA is read-locked by this task, or the mm's
 * mmap_lock is held (either gives a fault the right to run). */
bool vma_assert_locked_at(struct vm_area_struct *vma, const char *where);
#define vma_assert_locked(vma) vma_assert_locked_at((vma), __func__)
bool vma_assert_write_locked_at(struct vm_area_struct *vma,
				const char *where);
#define vma_assert_write_locked(vma) vma_assert_write_locked_at((vma), __func__)

#endif /* SIM_MM_MMAP_LOCK_H */
