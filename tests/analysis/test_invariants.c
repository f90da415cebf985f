/*
 * test_invariants.c: the invariants checker (analysis/invariants.c) and
 * the findings the model reports itself, with every checker attached.  A
 * task that returns holding mmap_lock and a folio lock is reported with
 * both locks and where it took them, in lockdep's words; its twin that
 * unlocks is silent.  Misuse the model catches (unlocking a lock not held,
 * sleeping under a spinlock, vma_start_write without mmap_lock held for
 * write) and a failed SIM_ASSERT reach the run's findings untouched beside
 * the checkers' own, and the checkers survive a run that ends in an
 * assertion.
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
static struct folio *P;
static spinlock_t *ptl;

static void build_world(struct engine *e, void (*fn)(void *))
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
	P = arena_new(&e->arena, struct folio);
	P->id = mm_obj_id();
	folio_lock_init(P);
	ptl = arena_new(&e->arena, spinlock_t);
	spin_lock_init(ptl, LC_PTL, 0);
	mm_task_create(e, "T", 0, fn, NULL);
}

static void build(struct engine *e, void *arg)
{
	build_world(e, (void (*)(void *))arg);
}

static void returns_holding(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	folio_lock(P);
}

static void returns_clean(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	folio_lock(P);
	folio_unlock(P);
	mmap_read_unlock(mm);
}

Test(invariants, a_task_that_exits_holding_locks)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build,
			      (void *)returns_holding),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 1);
	const struct finding *f = test_finding(e, "exit_holding_lock", 0);
	cr_assert_not_null(f);
	cr_assert_str_eq(f->summary,
			 "task T/0 exited holding 2 locks: mmap_lock (read, taken in returns_holding), folio_lock (write, taken in returns_holding)");
	cr_assert_eq(f->task, 0);
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	const cJSON *holds = cJSON_GetObjectItem(d, "holds");
	cr_assert_eq(cJSON_GetArraySize(holds), 2);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(holds, 1), "lock")->valuestring,
			 "folio_lock");
	const char *report = cJSON_GetObjectItem(d, "report")->valuestring;
	cr_assert(strstr(report, "WARNING: T/0 still has locks held!\n") != NULL,
		  "%s", report);
	cr_assert(strstr(report, "2 locks held by T/0:\n #0: (mmap_lock) read, at: returns_holding\n #1: (folio_lock) write, at: returns_holding\n") != NULL,
		  "%s", report);
	cJSON_Delete(d);
	uint64_t sig = f->signature;
	engine_end(e);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, (void *)returns_clean),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);

	/* The same locks left in another schedule: the same signature. */
	cr_assert_eq(test_run(e, STRATEGY_RANDOM, 3, build,
			      (void *)returns_holding),
		     RUN_OK);
	cr_assert_eq(test_finding(e, "exit_holding_lock", 0)->signature, sig);
	test_engine_checked_done(e, ck);
}

/* ---------------------------------- the model's findings pass through */

static void misuses_locks(void *a)
{
	(void)a;
	/* unlock_not_held */
	mmap_read_unlock(mm);
	/* sleep_in_atomic: a sleeping lock under the ptl */
	spin_lock(ptl);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
	spin_unlock(ptl);
	/* assert_locked: vma_start_write needs mmap_lock for write */
	mmap_read_lock(mm);
	vma_start_write(vma);
	mmap_read_unlock(mm);
	/* and a checker's own finding beside them */
	folio_lock(P);
}

Test(invariants, the_models_own_findings_pass_through)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build,
			      (void *)misuses_locks),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "unlock_not_held"), 1);
	cr_assert_eq(test_findings_count(e, "sleep_in_atomic"), 1);
	cr_assert_eq(test_findings_count(e, "assert_locked"), 1);
	cr_assert_eq(test_findings_count(e, "exit_holding_lock"), 1);
	cr_assert_eq(e->findings_count, 4);
	cr_assert(strstr(test_finding(e, "sleep_in_atomic", 0)->summary,
			 "ptl") != NULL);
	cr_assert(strstr(test_finding(e, "assert_locked", 0)->summary,
			 "mmap_lock") != NULL);
	for (uint32_t i = 0; i < e->findings_count; i++) {
		cJSON *d = cJSON_Parse(e->findings[i].detail);
		cr_assert_not_null(d, "%s", e->findings[i].detail);
		cJSON_Delete(d);
	}
	test_engine_checked_done(e, ck);
}

static void asserts_holding(void *a)
{
	(void)a;
	mmap_write_lock(mm);
	SIM_ASSERT(mm->mm_seq == 0);	/* odd while write-locked: fails */
	mmap_write_unlock(mm);
}

Test(invariants, a_run_that_asserts_keeps_its_finding_and_the_checkers_go_on)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build,
			      (void *)asserts_holding),
		     RUN_ASSERT);
	cr_assert_eq(e->findings_count, 1);
	cr_assert_eq(test_findings_count(e, "model_assert"), 1);
	engine_end(e);

	/* The next run is checked as usual. */
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build,
			      (void *)returns_holding),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "exit_holding_lock"), 1);
	cr_assert_eq(checkers_runs(ck), 2);
	test_engine_checked_done(e, ck);
}
