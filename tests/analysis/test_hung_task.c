/*
 * test_hung_task.c: the hung-task checker (analysis/hung_task.c) with a
 * threshold of 1 ms of virtual time.  A reader waits 5 ms for mmap_lock
 * held by a writer that sleeps: reported in the kernel's words, with what
 * it waits for and who holds it; the holder, only sleeping, is not.  The
 * twin holds the lock 0.5 ms and stays silent, and so does the 5 ms world
 * under the kernel's default of 120 s.  A task still blocked when the run
 * ends is found then; one whose own wakeup is the first hook after its
 * deadline (the holder ran one 5 ms step) is found at that wakeup.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "analysis/checkers.h"
#include "mm/mmap_lock.h"
#include "mm/world.h"
#include "tests/support.h"

#define MS 1000000ull

static struct checkers *ck;
static struct mm_struct *mm;
static struct task *t_holder, *t_waiter;

static void holder(void *a)
{
	mmap_write_lock(mm);
	sim_sleep((uintptr_t)a);
	mmap_write_unlock(mm);
}

static void holder_exits(void *a)
{
	mmap_write_lock(mm);
	sim_sleep((uintptr_t)a);
}

static void waiter(void *a)
{
	(void)a;
	sim_sleep(100);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
}

/* Holds the lock through one long step: no hook runs until the unlock
 * wakes the waiter. */
static void holder_one_step(void *a)
{
	mmap_write_lock(mm);
	sim_cost((uintptr_t)a);
	mmap_write_unlock(mm);
}

static void (*holder_fn)(void *) = holder;

static void build(struct engine *e, void *arg)
{
	mm_world_reset();
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	t_holder = mm_task_create(e, "holder", 0, holder_fn, arg);
	t_waiter = mm_task_create(e, "waiter", 1, waiter, NULL);
}

static struct engine *setup(uint64_t timeout_ns)
{
	struct engine *e = test_engine(2);
	struct checker_settings s = { .hung_task_timeout_ns = timeout_ns };
	ck = checkers_create(&s);
	cr_assert_not_null(ck);
	cr_assert(checkers_attach(ck, e));
	return e;
}

Test(hung_task, a_long_lock_wait_is_reported_in_the_kernels_words)
{
	struct engine *e = setup(1 * MS);

	cr_assert_eq(checkers_settings(ck)->hung_task_timeout_ns, 1 * MS);
	holder_fn = holder;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, (void *)(5 * MS)),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "hung_task"), 1,
		     "the sleeping holder is not hung");
	const struct finding *f = test_finding(e, "hung_task", 0);
	cr_assert_str_eq(f->summary,
			 "INFO: task waiter:1 blocked for more than 0.001 seconds. It waits in mmap_read_lock (waiter) for mmap_lock held by holder.");
	cr_assert_eq(f->task, t_waiter->id, "the finding is the waiter's");
	/* Seen at the first hook after its deadline, no earlier: the
	 * holder's timer, 5 ms after it took the lock. */
	cr_assert_geq(f->time_ns, t_waiter->blocked_ns + 1 * MS);
	cr_assert_leq(f->time_ns, 5 * MS + 100);
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(d, "still_blocked")));
	cr_assert_geq(cJSON_GetObjectItem(d, "blocked_for_ns")->valuedouble,
		      (double)(1 * MS));
	const cJSON *by = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "waits_for"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(by, "task")->valuestring, "holder");
	cJSON_Delete(d);
	engine_end(e);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, (void *)(MS / 2)),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "hung_task"), 0);
	checkers_destroy(ck);
	test_engine_done(e);
}

Test(hung_task, the_kernel_default_is_120_seconds)
{
	struct engine *e = setup(0);

	cr_assert_eq(checkers_settings(ck)->hung_task_timeout_ns,
		     120ull * 1000 * MS);
	holder_fn = holder;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, (void *)(5 * MS)),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	checkers_destroy(ck);
	test_engine_done(e);
}

Test(hung_task, a_task_still_blocked_at_the_end_is_found)
{
	struct engine *e = setup(1 * MS);

	/* The holder exits holding the lock after 3 ms: the waiter never
	 * wakes; the check at the holder's timer or at the run's end
	 * reports it. */
	holder_fn = holder_exits;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, (void *)(3 * MS)),
		     RUN_DEADLOCK);
	cr_assert_eq(test_findings_count(e, "hung_task"), 1);
	cr_assert_eq(test_findings_count(e, "exit_holding_lock"), 1);
	cr_assert_eq(test_findings_count(e, "deadlock"), 1);
	holder_fn = holder;
	checkers_destroy(ck);
	test_engine_done(e);
}

Test(hung_task, found_at_its_own_wakeup)
{
	struct engine *e = setup(1 * MS);

	sim_marks_reset();
	holder_fn = holder_one_step;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, (void *)(5 * MS)),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "hung_task"), 1);
	cr_assert_eq(sim_mark_hits("hung_task: found at its own wakeup"), 1);
	const struct finding *f = test_finding(e, "hung_task", 0);
	cr_assert(strstr(f->summary, "INFO: task waiter:1 blocked for more than 0.001 seconds. It waits in mmap_read_lock (waiter) for mmap_lock.") != NULL,
		  "%s", f->summary);
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d);
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(d, "still_blocked")));
	/* From its block (100 ns + a lock step) to the unlock, 5 ms after
	 * the holder took the lock. */
	cr_assert_gt(cJSON_GetObjectItem(d, "blocked_for_ns")->valuedouble,
		     (double)(5 * MS - 200));
	cJSON_Delete(d);
	holder_fn = holder;
	checkers_destroy(ck);
	test_engine_done(e);
}
