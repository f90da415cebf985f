/*
 * test_livelock.c: the livelock checker (analysis/livelock.c).  A task
 * that yields forever runs out of a 500-step budget; one that sleeps in a
 * loop passes a 1 ms virtual-time budget while another waits on the lock
 * it holds; their twins finish.  A task standing in for a fault handler
 * calls vmstat_fault_retry itself: past the bound (16, or a setting) it is
 * reported with the page, the count and the functions that asked for the
 * retries; at the bound it is not; the same functions in another order
 * give the same signature.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "analysis/checkers.h"
#include "mm/mmap_lock.h"
#include "mm/world.h"
#include "tests/support.h"

static struct checkers *ck;
static struct mm_struct *mm;

static struct engine *setup(uint64_t steps_max, uint64_t virtual_ns_max,
			    uint32_t retries_max)
{
	struct engine_params p = { .cpus = 2, .steps_max = steps_max,
				   .virtual_ns_max = virtual_ns_max };
	struct engine *e = engine_create(&p);
	cr_assert_not_null(e);
	struct checker_settings s = { .fault_retries_max = retries_max };
	ck = checkers_create(&s);
	cr_assert_not_null(ck);
	cr_assert(checkers_attach(ck, e));
	return e;
}

static void teardown(struct engine *e)
{
	checkers_destroy(ck);
	test_engine_done(e);
}

/* ------------------------------------------------------------ budgets */

static void spinner(void *a)
{
	uintptr_t n = (uintptr_t)a;
	for (uintptr_t i = 0; n == 0 || i < n; i++)
		sim_yield(TRACE_YIELD, 0);
}

static void build_spinner(struct engine *e, void *arg)
{
	mm_world_reset();
	mm_task_create(e, "spinner", 0, spinner, arg);
}

Test(livelock, the_step_budget)
{
	struct engine *e = setup(500, 0, 0);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_spinner, NULL),
		     RUN_BUDGET);
	cr_assert_eq(test_findings_count(e, "livelock"), 1);
	const struct finding *f = test_finding(e, "livelock", 0);
	cr_assert_str_eq(f->summary,
			 "livelock: the run used its budget of 500 steps with 1 task unfinished: spinner (500 steps, running)");
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "cause")->valuestring,
			 "step budget");
	cJSON_Delete(d);
	engine_end(e);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_spinner,
			      (void *)100),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	teardown(e);
}

static void sleepy_holder(void *a)
{
	uintptr_t n = (uintptr_t)a;
	mmap_write_lock(mm);
	for (uintptr_t i = 0; n == 0 || i < n; i++)
		sim_sleep(100000);
	mmap_write_unlock(mm);
}

static void blocked_reader(void *a)
{
	(void)a;
	sim_sleep(50);
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
}

static void build_sleepy(struct engine *e, void *arg)
{
	mm_world_reset();
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	mm_task_create(e, "holder", 0, sleepy_holder, arg);
	mm_task_create(e, "reader", 1, blocked_reader, NULL);
}

Test(livelock, the_virtual_time_budget)
{
	struct engine *e = setup(0, 1000000, 0);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_sleepy, NULL),
		     RUN_BUDGET);
	const struct finding *f = test_finding(e, "livelock", 0);
	cr_assert_not_null(f);
	cr_assert(strstr(f->summary, "livelock: the run passed its virtual-time budget of 1 ms with 2 tasks unfinished") != NULL,
		  "%s", f->summary);
	cr_assert(strstr(f->summary, "reader (") != NULL, "%s", f->summary);
	cr_assert(strstr(f->summary, "waits for mmap_lock in blocked_reader)") != NULL,
		  "%s", f->summary);
	cr_assert(strstr(f->summary, "holder (") != NULL, "%s", f->summary);
	cr_assert(strstr(f->summary, ", sleeping)") != NULL, "%s", f->summary);
	uint64_t sig = f->signature;
	engine_end(e);

	/* Other schedules: whenever the run ends in the same shape (the
	 * reader waiting, the holder sleeping), the same signature. */
	uint32_t same_shape = 0;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		cr_assert_eq(test_run(e, STRATEGY_RANDOM, seed, build_sleepy,
				      NULL),
			     RUN_BUDGET);
		f = test_finding(e, "livelock", 0);
		cr_assert_not_null(f);
		bool shape = strstr(f->summary, "waits for mmap_lock") &&
			     strstr(f->summary, ", sleeping)");
		cr_assert_eq(f->signature == sig, shape, "seed %llu: %s",
			     (unsigned long long)seed, f->summary);
		same_shape += shape;
		engine_end(e);
	}
	cr_assert_gt(same_shape, 0);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_sleepy, (void *)3),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	teardown(e);
}

/* ------------------------------------------------------------ retries */

struct retry_plan {
	uint32_t retries;
	bool swap_sites;
};

static void faulter(void *a)
{
	const struct retry_plan *p = a;
	struct task *t = sim_current();
	uint64_t start = sim_now();

	for (uint32_t attempt = 1; attempt <= p->retries; attempt++) {
		bool first = (attempt % 3 == 0) != p->swap_sites;
		vmstat_fault_retry(t, 0x42, attempt,
				   first ? "__folio_lock_or_retry" : "filemap_fault");
		sim_yield(TRACE_YIELD, 0);
	}
	struct fault_record r = {
		.task = t, .kind = FAULT_KIND_FILE_MAJOR, .address = 0x42,
		.start_ns = start, .end_ns = sim_now(),
		.attempts = p->retries + 1,
	};
	vmstat_fault_done(&r);
	/* A fresh fault after it: its count starts again. */
	for (uint32_t attempt = 1; attempt <= 3; attempt++)
		vmstat_fault_retry(t, 0x43, attempt, "do_swap_page");
}

static void build_faulter(struct engine *e, void *arg)
{
	mm_world_reset();
	mm_task_create(e, "faulter", 0, faulter, arg);
}

Test(livelock, a_fault_retried_past_the_bound)
{
	struct engine *e = setup(0, 0, 0);
	struct retry_plan over = { .retries = 20 };

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_faulter, &over),
		     RUN_OK);
	cr_assert_eq(test_findings_count(e, "livelock"), 1);
	const struct finding *f = test_finding(e, "livelock", 0);
	cr_assert_eq(f->hits, 1, "one report per fault");
	/* Reported at the 17th retry: 12 from filemap_fault and 5 from
	 * __folio_lock_or_retry (every third) so far, in order of first
	 * appearance. */
	cr_assert_str_eq(f->summary,
			 "livelock: task faulter retried its fault at page 0x42 17 times (bound 16); retries asked by filemap_fault (12), __folio_lock_or_retry (5)");
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	cr_assert_str_eq(cJSON_GetObjectItem(d, "task")->valuestring, "faulter");
	cr_assert_eq(cJSON_GetObjectItem(d, "address")->valueint, 0x42);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "asked_by")), 2);
	cJSON_Delete(d);
	uint64_t sig = f->signature;
	engine_end(e);

	/* The same two functions, the other way round: one bug. */
	struct retry_plan swapped = { .retries = 20, .swap_sites = true };
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_faulter, &swapped),
		     RUN_OK);
	cr_assert_eq(test_finding(e, "livelock", 0)->signature, sig);
	engine_end(e);

	struct retry_plan at_bound = { .retries = 16 };
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_faulter, &at_bound),
		     RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	teardown(e);
}

Test(livelock, the_retry_bound_is_a_setting)
{
	struct engine *e = setup(0, 0, 4);
	struct retry_plan p = { .retries = 5 };

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_faulter, &p), RUN_OK);
	cr_assert_eq(test_findings_count(e, "livelock"), 1);
	cr_assert(strstr(test_finding(e, "livelock", 0)->summary,
			 "5 times (bound 4)") != NULL);
	engine_end(e);
	p.retries = 4;
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_faulter, &p), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	teardown(e);
}
