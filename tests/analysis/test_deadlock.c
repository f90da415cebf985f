/*
 * test_deadlock.c: the deadlock checker (analysis/deadlock.c) on small
 * worlds built with the model's locks, each with a fixed twin that must
 * stay silent.  Checks: KERNEL.md pattern 4 (rwsem fairness: a reader
 * holding a folio queues behind a writer that waits for a reader who
 * wants the folio) is reported only when the writer is queued between the
 * two readers; the fuse self-deadlock is a cycle of one, reported while
 * another task still runs; pattern 3 (VMA read lock, then mmap_read_lock
 * against a writer in vma_start_write) names vma_start_write; a reader
 * re-taking an rwsem behind a queued writer; a run whose tasks are all
 * stuck without a cycle (a lock left by an exited task) still gets a
 * finding; the signature is the same whatever the task order, names or
 * schedule, and differs between different cycles; details are valid JSON
 * naming every task, its held locks and its wait.
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
static struct folio *P, *P0, *P1;

static void new_mm(struct engine *e)
{
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	vma = arena_new(&e->arena, struct vm_area_struct);
	vma->id = mm_obj_id();
	vma->vm_mm = mm;
	vma->vm_end = 16;
	vma_lock_init(vma);
}

static struct folio *new_folio(struct engine *e)
{
	struct folio *f = arena_new(&e->arena, struct folio);
	f->id = mm_obj_id();
	folio_lock_init(f);
	return f;
}

static cJSON *detail_of(const struct finding *f)
{
	cJSON *j = cJSON_Parse(f->detail);
	cr_assert_not_null(j, "detail is not JSON: %s", f->detail);
	return j;
}

/* ------------------------------------------ pattern 4: rwsem fairness */

/* A: holds folio P, then faults: mmap_read_lock. */
static void fault_with_folio_locked(void *a)
{
	(void)a;
	folio_lock(P);
	sim_sleep(200);
	mmap_read_lock(mm);
	sim_sleep(500);
	mmap_read_unlock(mm);
	folio_unlock(P);
}

/* B: holds mmap_lock for read, then wants P. */
static void fault_wanting_folio(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	sim_sleep(300);
	folio_lock(P);
	folio_unlock(P);
	mmap_read_unlock(mm);
}

/* C: a writer (munmap, mprotect) arriving after `a` ns. */
static void writer_after(void *a)
{
	sim_sleep((uintptr_t)a);
	mmap_write_lock(mm);
	mmap_write_unlock(mm);
}

struct p4 {
	uint64_t writer_delay_ns;	/* 0: no writer */
	bool reversed;			/* create C, B, A with other names */
};
static struct task *tA, *tB, *tC;

static void build_p4(struct engine *e, void *arg)
{
	const struct p4 *p = arg;

	mm_world_reset();
	new_mm(e);
	P = new_folio(e);
	tC = NULL;
	if (!p->reversed) {
		tA = mm_task_create(e, "A", 0, fault_with_folio_locked, NULL);
		tB = mm_task_create(e, "B", 1, fault_wanting_folio, NULL);
		if (p->writer_delay_ns)
			tC = mm_task_create(e, "C", 2, writer_after,
					    (void *)(uintptr_t)p->writer_delay_ns);
	} else {
		if (p->writer_delay_ns)
			tC = mm_task_create(e, "munmap", 0, writer_after,
					    (void *)(uintptr_t)p->writer_delay_ns);
		tB = mm_task_create(e, "reader", 1, fault_wanting_folio, NULL);
		tA = mm_task_create(e, "faulter", 2, fault_with_folio_locked,
				    NULL);
	}
}

Test(deadlock, rwsem_fairness_only_with_the_writer_queued_between)
{
	struct engine *e = test_engine_checked(3, &ck);
	struct p4 between = { .writer_delay_ns = 100 };

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p4, &between),
		     RUN_DEADLOCK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 1);
	const struct finding *f = test_finding(e, "deadlock", 0);
	cr_assert_eq(f->hits, 1, "reported once, not again at the run's end");
	/* Found when the last of the three blocked: B, on the folio. */
	cr_assert_eq(f->task, tB->id);
	cr_assert_eq(f->time_ns, tB->blocked_ns);
	cr_assert(strstr(f->summary, "A waits in mmap_read_lock (fault_with_folio_locked) behind queued writer C") != NULL,
		  "%s", f->summary);
	cr_assert(strstr(f->summary, "C waits in mmap_write_lock (writer_after) for B") != NULL,
		  "%s", f->summary);
	cr_assert(strstr(f->summary, "B waits in folio_lock (fault_wanting_folio) for A") != NULL,
		  "%s", f->summary);

	cJSON *d = detail_of(f);
	cr_assert_eq(cJSON_GetObjectItem(d, "tasks")->valueint, 3);
	cr_assert_eq((uint64_t)cJSON_GetObjectItem(d, "time_ns")->valuedouble,
		     f->time_ns);
	const cJSON *cycle = cJSON_GetObjectItem(d, "cycle");
	cr_assert_eq(cJSON_GetArraySize(cycle), 3);
	bool seen[3] = { false };
	const cJSON *el;
	cJSON_ArrayForEach(el, cycle) {
		const char *name = test_json_str(el, "task");
		const cJSON *waits = cJSON_GetObjectItem(el, "waits");
		const cJSON *holds = cJSON_GetObjectItem(el, "holds");
		if (strcmp(name, "A") == 0) {
			seen[0] = true;
			cr_assert_str_eq(test_json_str(waits, "lock"), "mmap_lock");
			cr_assert_str_eq(test_json_str(waits, "mode"), "read");
			cr_assert_str_eq(test_json_str(el, "because"), "writer queued ahead");
			cr_assert_eq(cJSON_GetArraySize(holds), 1);
			cr_assert_str_eq(test_json_str(cJSON_GetArrayItem(holds, 0), "lock"),
					 "folio_lock");
			cr_assert_str_eq(test_json_str(cJSON_GetArrayItem(holds, 0), "where"),
					 "fault_with_folio_locked");
		} else if (strcmp(name, "B") == 0) {
			seen[1] = true;
			cr_assert_str_eq(test_json_str(waits, "op"), "folio_lock");
			cr_assert_str_eq(test_json_str(waits, "where"), "fault_wanting_folio");
			cr_assert_str_eq(test_json_str(cJSON_GetArrayItem(holds, 0), "lock"),
					 "mmap_lock");
			cr_assert_str_eq(test_json_str(cJSON_GetArrayItem(holds, 0), "mode"),
					 "read");
		} else {
			cr_assert_str_eq(name, "C");
			seen[2] = true;
			cr_assert_str_eq(test_json_str(waits, "op"), "mmap_write_lock");
			cr_assert_eq(cJSON_GetArraySize(holds), 0);
		}
	}
	cr_assert(seen[0] && seen[1] && seen[2]);
	cJSON_Delete(d);
	engine_end(e);

	/* No writer: both readers share mmap_lock, A finishes, B gets P. */
	struct p4 none = { 0 };
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p4, &none), RUN_OK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 0);
	engine_end(e);

	/* The writer queues after A got its read lock: it waits for both
	 * readers, nobody waits behind it, no deadlock. */
	struct p4 late = { .writer_delay_ns = 250 };
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p4, &late), RUN_OK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 0);
	const struct metrics *m = checkers_run_metrics(ck);
	cr_assert_eq(m->hists[METRIC_MMAP_WRITE_WAIT].count, 1,
		     "the late writer did queue behind the readers");
	test_engine_checked_done(e, ck);
}

Test(deadlock, same_cycle_same_signature_whatever_the_order_or_schedule)
{
	struct engine *e = test_engine_checked(3, &ck);
	struct p4 p = { .writer_delay_ns = 100 };

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p4, &p), RUN_DEADLOCK);
	uint64_t sig = test_finding(e, "deadlock", 0)->signature;
	engine_end(e);

	/* Other names, created in the other order: other task ids. */
	struct p4 rev = { .writer_delay_ns = 100, .reversed = true };
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p4, &rev),
		     RUN_DEADLOCK);
	const struct finding *f = test_finding(e, "deadlock", 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->signature, sig);
	cr_assert(strstr(f->summary, "faulter waits in mmap_read_lock") != NULL,
		  "%s", f->summary);
	engine_end(e);

	/* Any schedule: the random strategy closes the cycle at different
	 * tasks and times, or not at all. */
	uint32_t deadlocked = 0, clean = 0;
	for (uint64_t seed = 1; seed <= 60; seed++) {
		enum run_outcome o = test_run(e, STRATEGY_RANDOM, seed, build_p4,
					      &p);
		uint32_t n = test_findings_count(e, "deadlock");
		if (o == RUN_DEADLOCK) {
			deadlocked++;
			cr_assert_eq(n, 1, "seed %llu", (unsigned long long)seed);
			cr_assert_eq(test_finding(e, "deadlock", 0)->signature,
				     sig, "seed %llu", (unsigned long long)seed);
		} else {
			cr_assert_eq(o, RUN_OK);
			cr_assert_eq(n, 0);
			clean++;
		}
		engine_end(e);
	}
	cr_assert_gt(deadlocked, 0);
	cr_assert_gt(clean, 0);
	test_engine_checked_done(e, ck);
}

/* ------------------------------------------------- fuse self-deadlock */

static bool wait_by_lock;

static void fuse_fill_write_pages(void)
{
	folio_lock(P0);
	folio_lock(P1);
}

/* The copy from the user buffer faults on an mmap of the same file, at
 * the page the write holds locked. */
static void copy_from_user_fault(void)
{
	if (wait_by_lock) {
		folio_lock(P1);
		folio_unlock(P1);
	} else {
		folio_wait_locked(P1);
	}
}

static void fuse_perform_write(void *a)
{
	(void)a;
	fuse_fill_write_pages();
	copy_from_user_fault();
	folio_unlock(P1);
	folio_unlock(P0);
}

/* generic_perform_write's order: fault the source in first, then lock
 * one page at a time. */
static void generic_perform_write(void *a)
{
	(void)a;
	copy_from_user_fault();
	folio_lock(P0);
	folio_unlock(P0);
	folio_lock(P1);
	folio_unlock(P1);
}

static void bystander(void *a)
{
	(void)a;
	for (int i = 0; i < 10; i++)
		sim_sleep(1000);
}

static struct task *tW, *tBy;

static void build_fuse(struct engine *e, void *arg)
{
	mm_world_reset();
	P0 = new_folio(e);
	P1 = new_folio(e);
	tW = mm_task_create(e, "writer", 0, (void (*)(void *))arg, NULL);
	tBy = mm_task_create(e, "bystander", 1, bystander, NULL);
}

Test(deadlock, fuse_self_deadlock_is_a_cycle_of_one_found_while_others_run)
{
	struct engine *e = test_engine_checked(2, &ck);
	uint64_t sigs[2];

	for (int v = 0; v < 2; v++) {
		wait_by_lock = v == 1;
		cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_fuse,
				      (void *)fuse_perform_write),
			     RUN_DEADLOCK);
		cr_assert_eq(test_findings_count(e, "deadlock"), 1);
		const struct finding *f = test_finding(e, "deadlock", 0);
		sigs[v] = f->signature;
		cr_assert_eq(f->task, tW->id);
		cr_assert(strstr(f->summary, v ? "writer waits in folio_lock (copy_from_user_fault)"
					       : "writer waits in folio_wait_locked (copy_from_user_fault)") != NULL,
			  "%s", f->summary);
		cr_assert(strstr(f->summary, "which it holds itself (write, taken in fuse_fill_write_pages)") != NULL,
			  "%s", f->summary);
		/* Partial: found long before the bystander finished. */
		cr_assert_eq(tBy->state, TASK_EXITED);
		cr_assert_lt(f->time_ns, 1000);
		cr_assert_geq(e->virtual_ns, 10000);
		cr_assert_lt(f->step, e->steps);
		cJSON *d = detail_of(f);
		cr_assert_eq(cJSON_GetObjectItem(d, "tasks")->valueint, 1);
		const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "cycle"), 0);
		cr_assert_str_eq(test_json_str(t0, "waits_for"), "writer");
		cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(t0, "holds")), 2);
		cJSON_Delete(d);
		engine_end(e);
	}
	/* The signature is (lock class, function): waiting to take the folio
	 * or only for its unlock, at the same place, is the same bug. */
	cr_assert_eq(sigs[0], sigs[1]);

	wait_by_lock = false;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_fuse,
			      (void *)generic_perform_write),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0, "%s",
		     e->findings_count ? e->findings[0].summary : "");
	test_engine_checked_done(e, ck);
}

/* --------------------------- pattern 3: VMA lock, then mmap_read_lock */

static bool drop_vma_first;

static void fault_under_vma_lock(void *a)
{
	(void)a;
	bool ok = vma_start_read(mm, vma);
	SIM_ASSERT(ok);
	sim_sleep(200);
	if (drop_vma_first)
		vma_end_read(vma);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
	if (!drop_vma_first)
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
	(void)arg;
	mm_world_reset();
	new_mm(e);
	tA = mm_task_create(e, "fault", 0, fault_under_vma_lock, NULL);
	tB = mm_task_create(e, "munmap", 1, do_vmi_munmap, NULL);
}

static uint64_t p3_signature(struct engine *e)
{
	drop_vma_first = false;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p3, NULL),
		     RUN_DEADLOCK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 1);
	uint64_t sig = test_finding(e, "deadlock", 0)->signature;
	engine_end(e);
	return sig;
}

Test(deadlock, vma_lock_then_mmap_lock_against_vma_start_write)
{
	struct engine *e = test_engine_checked(2, &ck);

	drop_vma_first = false;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p3, NULL),
		     RUN_DEADLOCK);
	const struct finding *f = test_finding(e, "deadlock", 0);
	cr_assert_not_null(f);
	cr_assert(strstr(f->summary, "fault waits in mmap_read_lock (fault_under_vma_lock) for munmap") != NULL,
		  "%s", f->summary);
	cr_assert(strstr(f->summary, "munmap waits in vma_start_write (do_vmi_munmap) for fault") != NULL,
		  "%s", f->summary);
	cJSON *d = detail_of(f);
	const cJSON *el;
	bool named = false;
	cJSON_ArrayForEach(el, cJSON_GetObjectItem(d, "cycle")) {
		const cJSON *waits = cJSON_GetObjectItem(el, "waits");
		if (strcmp(test_json_str(waits, "op"), "vma_start_write") == 0) {
			named = true;
			cr_assert_str_eq(test_json_str(waits, "lock"), "vma_lock");
		}
	}
	cr_assert(named);
	cJSON_Delete(d);
	engine_end(e);

	drop_vma_first = true;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p3, NULL), RUN_OK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 0);
	test_engine_checked_done(e, ck);
}

/* ------------------- a reader re-taking an rwsem behind a queued writer */

static void recursive_reader(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	sim_sleep(200);
	mmap_read_lock(mm);	/* queues behind the writer */
	mmap_read_unlock(mm);
	mmap_read_unlock(mm);
}

static void build_recursive(struct engine *e, void *arg)
{
	mm_world_reset();
	new_mm(e);
	tA = mm_task_create(e, "R", 0, recursive_reader, NULL);
	tB = mm_task_create(e, "W", 1, writer_after, arg);
}

Test(deadlock, recursive_read_behind_a_queued_writer)
{
	struct engine *e = test_engine_checked(2, &ck);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_recursive,
			      (void *)100),
		     RUN_DEADLOCK);
	const struct finding *f = test_finding(e, "deadlock", 0);
	cr_assert_not_null(f);
	cr_assert(strstr(f->summary, "R waits in mmap_read_lock (recursive_reader) behind queued writer W; W waits in mmap_write_lock (writer_after) for R") != NULL,
		  "%s", f->summary);
	engine_end(e);

	/* The writer comes after: the second read joins the first. */
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_recursive,
			      (void *)300),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "deadlock"), 0);
	test_engine_checked_done(e, ck);
}

/* ------------------------------------------ different cycles differ */

Test(deadlock, different_cycles_have_different_signatures)
{
	struct engine *e = test_engine_checked(3, &ck);
	uint64_t sigs[4];
	struct p4 p = { .writer_delay_ns = 100 };

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_p4, &p), RUN_DEADLOCK);
	sigs[0] = test_finding(e, "deadlock", 0)->signature;
	engine_end(e);
	sigs[1] = p3_signature(e);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_recursive, (void *)100),
		     RUN_DEADLOCK);
	sigs[2] = test_finding(e, "deadlock", 0)->signature;
	engine_end(e);
	wait_by_lock = false;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_fuse,
			      (void *)fuse_perform_write),
		     RUN_DEADLOCK);
	sigs[3] = test_finding(e, "deadlock", 0)->signature;
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			cr_assert_neq(sigs[i], sigs[j], "%d and %d", i, j);
	/* And each is stable: pattern 3 again gives the same. */
	engine_end(e);
	cr_assert_eq(p3_signature(e), sigs[1]);
	test_engine_checked_done(e, ck);
}

/* ------------------------- all stuck, no cycle: a lock left at exit */

static void leaves_mmap_locked(void *a)
{
	(void)a;
	mmap_write_lock(mm);
}

static void reader_after(void *a)
{
	(void)a;
	sim_sleep(100);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
}

static void build_leak(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	new_mm(e);
	tA = mm_task_create(e, "leaker", 0, leaves_mmap_locked, NULL);
	tB = mm_task_create(e, "victim", 1, reader_after, NULL);
}

Test(deadlock, every_task_stuck_without_a_cycle_is_still_a_deadlock)
{
	struct engine *e = test_engine_checked(2, &ck);

	sim_marks_reset();
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_leak, NULL),
		     RUN_DEADLOCK);
	cr_assert_eq(sim_mark_hits("deadlock: every task stuck, no wait-for cycle"), 1);
	cr_assert_eq(test_findings_count(e, "deadlock"), 1);
	const struct finding *f = test_finding(e, "deadlock", 0);
	cr_assert(strstr(f->summary, "no wait-for cycle") != NULL, "%s",
		  f->summary);
	cr_assert(strstr(f->summary, "victim waits in mmap_read_lock (reader_after) for leaker (exited)") != NULL,
		  "%s", f->summary);
	cr_assert_eq(f->task, TRACE_NO_TASK, "found at the run's end");
	cJSON *d = detail_of(f);
	const cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "stuck"), 0);
	cr_assert_str_eq(test_json_str(s0, "task"), "victim");
	const cJSON *by = cJSON_GetArrayItem(cJSON_GetObjectItem(s0, "waits_for"), 0);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(by, "exited")));
	cJSON_Delete(d);
	cr_assert_eq(test_findings_count(e, "exit_holding_lock"), 1);
	test_engine_checked_done(e, ck);
}
