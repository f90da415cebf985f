/*
 * test_lockdep.c: the lock-order checker (analysis/lockdep.c).  Each world
 * is one task taking locks in an order; a campaign is several runs sharing
 * one checkers object.  Checks: an inversion taken one half per run, with
 * no run deadlocking, is reported in the run that closes it, once per
 * campaign, in lockdep's words (the header, the chain -> #1 / -> #0 with
 * the functions and schedules, the two-CPU scenario, the held locks); the
 * same order twice is silent; a trylock adds no dependency, but a lock
 * taken under a trylocked one does; two locks of one class nested are not
 * an inversion; downgrade_write does not invent one; a schedule that does
 * deadlock still records the dependency that closed the cycle (pattern
 * 3); the signature does not depend on which half came first; longer
 * cycles print lockdep's "Chain exists of".
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "analysis/checkers.h"
#include "mm/mmap_lock.h"
#include "mm/pagemap.h"
#include "mm/world.h"
#include "tests/support.h"

static struct checkers *ck;
static struct mm_struct *mm;
static struct vm_area_struct *vma;
static struct rw_semaphore *i_rwsem, *i_mmap;
static struct folio *F0, *F1;

/* write(): i_rwsem, then the fault on the user buffer takes mmap_lock. */
static void vfs_write_fault_in(void *a)
{
	(void)a;
	down_write(i_rwsem);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
	up_write(i_rwsem);
}

/* The other half: under mmap_lock, take i_rwsem. */
static void mmap_then_inode(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	down_write(i_rwsem);
	up_write(i_rwsem);
	mmap_read_unlock(mm);
}

static void mmap_then_inode_trylock(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	if (down_write_trylock(i_rwsem))
		up_write(i_rwsem);
	mmap_read_unlock(mm);
}

/* mmap_lock only trylocked, then i_rwsem taken under it. */
static void mmap_trylocked_then_inode(void *a)
{
	(void)a;
	SIM_ASSERT(mmap_read_trylock(mm));
	down_write(i_rwsem);
	up_write(i_rwsem);
	mmap_read_unlock(mm);
}

static void folios_in_order(void *a)
{
	(void)a;
	folio_lock(F0);
	folio_lock(F1);
	folio_unlock(F1);
	folio_unlock(F0);
}

static void folios_reversed(void *a)
{
	(void)a;
	folio_lock(F1);
	folio_lock(F0);
	folio_unlock(F0);
	folio_unlock(F1);
}

/* mmap_lock for write, i_mmap_rwsem under it, then downgrade: the read
 * mmap_lock stays outside i_mmap_rwsem. */
static void write_then_downgrade(void *a)
{
	(void)a;
	mmap_write_lock(mm);
	down_read(i_mmap);
	downgrade_write(&mm->mmap_lock);
	up_read(i_mmap);
	mmap_read_unlock(mm);
}

static void build_one(struct engine *e, void *fn)
{
	mm_world_reset();
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	vma = arena_new(&e->arena, struct vm_area_struct);
	vma->id = mm_obj_id();
	vma->vm_mm = mm;
	vma->vm_end = 16;
	vma_lock_init(vma);
	i_rwsem = arena_new(&e->arena, struct rw_semaphore);
	init_rwsem(i_rwsem, LC_I_RWSEM, 0);
	i_mmap = arena_new(&e->arena, struct rw_semaphore);
	init_rwsem(i_mmap, LC_I_MMAP_RWSEM, 0);
	F0 = arena_new(&e->arena, struct folio);
	F0->id = mm_obj_id();
	folio_lock_init(F0);
	F1 = arena_new(&e->arena, struct folio);
	F1->id = mm_obj_id();
	folio_lock_init(F1);
	mm_task_create(e, "T", 0, (void (*)(void *))fn, NULL);
}

static enum run_outcome run(struct engine *e, uint64_t schedule,
			    void (*fn)(void *))
{
	engine_end(e);
	checkers_run_begin(ck, schedule);
	return test_run(e, STRATEGY_TIMED, 1, build_one, (void *)fn);
}

static void expect_text(const char *text, const char *want)
{
	cr_assert(strstr(text, want) != NULL, "missing:\n%s\nin:\n%s", want,
		  text);
}

Test(lockdep, inversion_over_two_runs_in_lockdeps_words)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(run(e, 0, vfs_write_fault_in), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(run(e, 1, mmap_then_inode), RUN_OK);
	cr_assert_eq(test_findings_count(e, "lock_order"), 1);
	cr_assert_eq(e->findings_count, 1);
	const struct finding *f = test_finding(e, "lock_order", 0);
	cr_assert_str_eq(f->summary,
			 "possible circular locking dependency detected: mmap_lock -> i_rwsem -> mmap_lock; T/0 is trying to acquire i_rwsem in mmap_then_inode while holding mmap_lock (taken in mmap_then_inode)");

	cr_assert_eq(checkers_lock_order_count(ck, NULL), 1);
	const struct lock_order_cycle *cy = checkers_lock_order(ck, 0);
	cr_assert_eq(cy->signature, f->signature);
	cr_assert_eq(cy->schedule, 1);
	cr_assert_eq(cy->length, 2);
	const char *r = cy->report;
	expect_text(r, "======================================================\n"
		       "WARNING: possible circular locking dependency detected\n"
		       "------------------------------------------------------\n"
		       "T/0 is trying to acquire lock:\n"
		       " (i_rwsem){+.+.}-{3:3}, at: mmap_then_inode\n"
		       "\n"
		       "but task is already holding lock:\n"
		       " (mmap_lock){.+.+}-{3:3}, at: mmap_then_inode\n"
		       "\n"
		       "which lock already depends on the new lock.\n"
		       "\n\n"
		       "the existing dependency chain (in reverse order) is:\n"
		       "\n"
		       "-> #1 (mmap_lock){.+.+}-{3:3}:\n"
		       "       mmap_read_lock in vfs_write_fault_in, holding i_rwsem (taken in vfs_write_fault_in)\n"
		       "       task T/0, schedule 0\n"
		       "\n"
		       "-> #0 (i_rwsem){+.+.}-{3:3}:\n"
		       "       down_write in mmap_then_inode, holding mmap_lock (taken in mmap_then_inode)\n"
		       "       task T/0, schedule 1\n");
	expect_text(r, " Possible unsafe locking scenario:\n"
		       "\n"
		       "       CPU0                    CPU1\n"
		       "       ----                    ----\n"
		       "  rlock(mmap_lock);\n"
		       "                               lock(i_rwsem);\n"
		       "                               lock(mmap_lock);\n"
		       "  lock(i_rwsem);\n"
		       "\n"
		       " *** DEADLOCK ***\n"
		       "\n"
		       "1 lock held by T/0:\n"
		       " #0: (mmap_lock){.+.+}-{3:3}, at: mmap_then_inode\n");
	cr_assert_null(strstr(r, "Chain exists of"), "only for longer chains");

	/* The finding's detail carries the chain and the report. */
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	const cJSON *cycle = cJSON_GetObjectItem(d, "cycle");
	cr_assert_eq(cJSON_GetArraySize(cycle), 2);
	cr_assert_str_eq(cJSON_GetArrayItem(cycle, 0)->valuestring, "mmap_lock");
	cr_assert_str_eq(cJSON_GetArrayItem(cycle, 1)->valuestring, "i_rwsem");
	const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "chain"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(c0, "took_in")->valuestring,
			 "vfs_write_fault_in");
	cr_assert_eq(cJSON_GetObjectItem(c0, "schedule")->valueint, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "report")->valuestring, r);
	cJSON_Delete(d);

	/* Once per campaign: the same inversion again is not news. */
	cr_assert_eq(run(e, 2, mmap_then_inode), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(run(e, 3, vfs_write_fault_in), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(checkers_lock_order_count(ck, NULL), 1);
	test_engine_checked_done(e, ck);
}

Test(lockdep, the_same_order_twice_is_silent)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(run(e, 0, vfs_write_fault_in), RUN_OK);
	cr_assert_eq(run(e, 1, vfs_write_fault_in), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(checkers_lock_order_count(ck, NULL), 0);
	test_engine_checked_done(e, ck);
}

Test(lockdep, the_signature_does_not_depend_on_which_half_came_first)
{
	struct engine *e = test_engine_checked(2, &ck);

	run(e, 0, vfs_write_fault_in);
	run(e, 1, mmap_then_inode);
	uint64_t sig = test_finding(e, "lock_order", 0)->signature;
	checkers_destroy(ck);
	ck = checkers_create(NULL);
	cr_assert(checkers_attach(ck, e));
	run(e, 0, mmap_then_inode);
	cr_assert_eq(e->findings_count, 0);
	run(e, 1, vfs_write_fault_in);
	const struct finding *f = test_finding(e, "lock_order", 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->signature, sig);
	/* Closed from the other side, the report says so. */
	expect_text(checkers_lock_order(ck, 0)->report,
		    "T/0 is trying to acquire lock:\n (mmap_lock)");
	test_engine_checked_done(e, ck);
}

Test(lockdep, trylocks_add_no_dependency_but_locks_under_them_do)
{
	struct engine *e = test_engine_checked(2, &ck);

	run(e, 0, vfs_write_fault_in);
	/* i_rwsem only trylocked under mmap_lock: it cannot block, no
	 * inversion. */
	cr_assert_eq(run(e, 1, mmap_then_inode_trylock), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	/* mmap_lock trylocked, i_rwsem taken under it: the dependency
	 * mmap_lock -> i_rwsem is real. */
	cr_assert_eq(run(e, 2, mmap_trylocked_then_inode), RUN_OK);
	cr_assert_eq(test_findings_count(e, "lock_order"), 1);
	expect_text(checkers_lock_order(ck, 0)->report,
		    "       task T/0, schedule 2\n");
	test_engine_checked_done(e, ck);
}

Test(lockdep, same_class_nesting_and_downgrade_are_not_inversions)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(run(e, 0, folios_in_order), RUN_OK);
	cr_assert_eq(run(e, 1, folios_reversed), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(run(e, 2, write_then_downgrade), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(run(e, 3, write_then_downgrade), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(checkers_lock_order_count(ck, NULL), 0);
	test_engine_checked_done(e, ck);
}

/* ----------------- pattern 3 deadlocks, and lockdep still sees it */

static void fault_under_vma_lock(void *a)
{
	(void)a;
	SIM_ASSERT(vma_start_read(mm, vma));
	sim_sleep(200);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
	vma_end_read(vma);
}

static void do_vmi_munmap(void *a)
{
	(void)a;
	sim_sleep(100);
	mmap_write_lock(mm);
	vma_start_write(vma);
	mmap_write_unlock(mm);
}

static void build_p3(struct engine *e, void *arg)
{
	build_one(e, arg);
	/* build_one made T run fault_under_vma_lock; add the writer. */
	mm_task_create(e, "munmap", 1, do_vmi_munmap, NULL);
}

Test(lockdep, a_deadlocking_schedule_records_the_closing_dependency)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p3,
			      (void *)fault_under_vma_lock),
		     RUN_DEADLOCK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 1);
	cr_assert_eq(test_findings_count(e, "lock_order"), 1);
	const char *r = checkers_lock_order(ck, 0)->report;
	/* The fault never got mmap_lock: the dependency was recorded as it
	 * started to wait, the VMA lock having been only trylocked. */
	expect_text(r, "T/0 is trying to acquire lock:\n (mmap_lock){++++}-{3:3}, at: fault_under_vma_lock\n");
	expect_text(r, "but task is already holding lock:\n (vma_lock)");
	expect_text(r, "-> #1 (vma_lock){++++}-{3:3}:\n       vma_start_write in do_vmi_munmap, holding mmap_lock (taken in do_vmi_munmap)\n       task munmap/1, schedule 0\n");
	test_engine_checked_done(e, ck);
}

/* -------------------------------------- a cycle of three classes */

static void chain_ab(void *a)
{
	(void)a;
	down_write(i_rwsem);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
	up_write(i_rwsem);
}

static void chain_bc(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	down_read(i_mmap);
	up_read(i_mmap);
	mmap_read_unlock(mm);
}

static void chain_ca(void *a)
{
	(void)a;
	down_read(i_mmap);
	down_write(i_rwsem);
	up_write(i_rwsem);
	up_read(i_mmap);
}

Test(lockdep, a_longer_cycle_prints_the_chain)
{
	struct engine *e = test_engine_checked(2, &ck);

	run(e, 0, chain_ab);
	run(e, 1, chain_bc);
	cr_assert_eq(e->findings_count, 0);
	run(e, 2, chain_ca);
	cr_assert_eq(test_findings_count(e, "lock_order"), 1);
	const struct lock_order_cycle *cy = checkers_lock_order(ck, 0);
	cr_assert_eq(cy->length, 3);
	expect_text(cy->report, "-> #2 (i_mmap_rwsem)");
	expect_text(cy->report, "-> #1 (mmap_lock)");
	expect_text(cy->report, "-> #0 (i_rwsem)");
	expect_text(cy->report, "Chain exists of:\n  i_rwsem --> mmap_lock --> i_mmap_rwsem\n\n");
	expect_text(cy->report, "  rlock(i_mmap_rwsem);\n"
				"                               lock(mmap_lock);\n"
				"                               lock(i_mmap_rwsem);\n"
				"  lock(i_rwsem);\n");
	cr_assert(strstr(cy->summary, "i_mmap_rwsem -> i_rwsem -> mmap_lock -> i_mmap_rwsem") != NULL,
		  "%s", cy->summary);
	test_engine_checked_done(e, ck);
}
