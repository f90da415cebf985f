/*
 * mmap_lock.c: mmap_lock and the per-VMA lock protocol (see mmap_lock.h for
 * the states and invariants).  The locks themselves are rw_semaphores from
 * locks.c; what is added here is the sequence-number protocol that lets a
 * writer of mmap_lock exclude VMA-lock readers without a vma_end_write.
 */
#include <stdio.h>

#include "mm/mmap_lock.h"

void mmap_init_lock(struct mm_struct *mm)
{
	init_rwsem(&mm->mmap_lock, LC_MMAP_LOCK, mm->id);
	mm->mm_lock_seq = 0;
	mm->mm_seq = 0;
}

void mmap_read_lock_at(struct mm_struct *mm, const char *where)
{
	down_read_at(&mm->mmap_lock, where);
}

bool mmap_read_trylock_at(struct mm_struct *mm, const char *where)
{
	return down_read_trylock_at(&mm->mmap_lock, where);
}

void mmap_read_unlock_at(struct mm_struct *mm, const char *where)
{
	up_read_at(&mm->mmap_lock, where);
}

void mmap_write_lock_at(struct mm_struct *mm, const char *where)
{
	down_write_at(&mm->mmap_lock, where);
	/* The speculative-fault count goes odd while the lock is held for
	 * write (Lespinasse 2021, mmap_seq_write_start). */
	SIM_ASSERT(mm->mm_seq % 2 == 0);
	mm->mm_seq++;
}

/* vma_end_write_all: one increment ends every VMA write lock
 * (invariant 2).  Their held-lock entries go with it. */
static void vma_end_write_all(struct mm_struct *mm, const char *where)
{
	struct task_mm *tm = current_mm_state();

	SIM_ASSERT(mm->mmap_lock.writer == sim_current());
	mm->mm_lock_seq++;
	for (uint32_t i = tm->held_count; i-- > 0;) {
		struct held_lock *h = &tm->held[i];
		if (h->lock->cls->id == LC_VMA_LOCK && h->mode == LOCK_WRITE)
			lock_release_current(h->lock, LOCK_WRITE, where);
	}
	SIM_ASSERT(mm->mm_seq % 2 == 1);
	mm->mm_seq++;
}

void mmap_write_unlock_at(struct mm_struct *mm, const char *where)
{
	struct task *t = sim_current();

	if (mm->mmap_lock.writer != t) {
		/* up_write reports the misuse; nothing else changes. */
		up_write_at(&mm->mmap_lock, where);
		return;
	}
	vma_end_write_all(mm, where);
	up_write_at(&mm->mmap_lock, where);
}

void mmap_write_downgrade_at(struct mm_struct *mm, const char *where)
{
	struct task *t = sim_current();

	if (mm->mmap_lock.writer != t) {
		downgrade_write_at(&mm->mmap_lock, where);
		return;
	}
	vma_end_write_all(mm, where);
	sim_cost(COST_UNLOCK_NS);
	sim_yield(TRACE_UNLOCK, mm->mmap_lock.c.id);
	downgrade_write_at(&mm->mmap_lock, where);
}

void vma_lock_init(struct vm_area_struct *vma)
{
	init_rwsem(&vma->vm_lock, LC_VMA_LOCK, vma->id);
	/* Unlocked: any value other than the mm's current sequence. */
	vma->vm_lock_seq = vma->vm_mm->mm_lock_seq - 1;
}

bool vma_start_read_at(struct mm_struct *mm, struct vm_area_struct *vma,
		       const char *where)
{
	SIM_ASSERT(vma->vm_mm == mm);
	/* A racy read of the sequence, as the kernel's READ_ONCE: a
	 * write-locked VMA makes the attempt fail at once. */
	sim_yield(TRACE_TRYLOCK, vma->vm_lock.c.id);
	if (vma->vm_lock_seq == mm->mm_lock_seq) {
		SIM_MARK("vma_start_read: write-locked, fail fast");
		return false;
	}
	if (!down_read_trylock_at(&vma->vm_lock, where))
		return false;
	/* A writer may have marked the VMA between the check and the
	 * trylock: check again with the read lock held (invariant 3). */
	if (vma->vm_lock_seq == mm->mm_lock_seq) {
		SIM_MARK("vma_start_read: write-locked after trylock");
		up_read_at(&vma->vm_lock, where);
		return false;
	}
	return true;
}

void vma_end_read_at(struct vm_area_struct *vma, const char *where)
{
	up_read_at(&vma->vm_lock, where);
}

void vma_start_write_at(struct vm_area_struct *vma, const char *where)
{
	struct mm_struct *mm = vma->vm_mm;

	if (!lockdep_assert_held_at(&mm->mmap_lock.c, LOCK_WRITE, where))
		return;
	if (vma->vm_lock_seq == mm->mm_lock_seq)
		return;		/* already write-locked by us */
	/* Wait for the VMA's readers (faults holding it) to leave, then
	 * mark it; the rwsem is not held afterwards, the mark is the lock. */
	down_write_at(&vma->vm_lock, where);
	vma->vm_lock_seq = mm->mm_lock_seq;
	up_write_at(&vma->vm_lock, where);
	lock_acquired_current(&vma->vm_lock.c, LOCK_WRITE, where);
}

bool vma_assert_locked_at(struct vm_area_struct *vma, const char *where)
{
	struct task *t = sim_current();

	if (lock_is_held_by(t, &vma->vm_lock.c, LOCK_READ) ||
	    lock_is_held_by(t, &vma->vm_mm->mmap_lock.c, 0))
		return true;
	return lockdep_assert_held_at(&vma->vm_lock.c, LOCK_READ, where);
}

bool vma_assert_write_locked_at(struct vm_area_struct *vma, const char *where)
{
	if (vma_is_write_locked(vma) &&
	    lock_is_held_by(sim_current(), &vma->vm_mm->mmap_lock.c, LOCK_WRITE))
		return true;
	return lockdep_assert_held_at(&vma->vm_lock.c, LOCK_WRITE, where);
}
