/*
 * test_checkers.c: the checkers object (analysis/checkers.c) and its
 * wiring into campaigns (analysis/campaign.c).  Checks: attaching takes one
 * slot in each hook table and detaching or destroying gives it back;
 * attaching twice to one engine is one attachment; checkers never change a
 * run (the same outcomes and trace hashes with and without them, over many
 * random schedules of a world that deadlocks in some); campaign_run_schedule
 * attaches them once and they see every schedule, metrics summed; the PCT
 * calibration run is invisible to them.  (The schedule index they are told
 * shows in lock-order reports: test_lockdep.c.)
 */
#include <criterion/criterion.h>
#include <string.h>

#include "analysis/campaign.h"
#include "analysis/checkers.h"
#include "mm/mmap_lock.h"
#include "mm/pagemap.h"
#include "mm/world.h"
#include "tests/support.h"

static struct mm_struct *mm;
static struct folio *P;

static void reader_with_folio(void *a)
{
	(void)a;
	folio_lock(P);
	sim_sleep(200);
	mmap_read_lock(mm);
	sim_sleep(500);
	mmap_read_unlock(mm);
	folio_unlock(P);
}

static void reader_wanting_folio(void *a)
{
	(void)a;
	mmap_read_lock(mm);
	sim_sleep(300);
	folio_lock(P);
	folio_unlock(P);
	mmap_read_unlock(mm);
}

static void writer(void *a)
{
	(void)a;
	sim_sleep(100);
	mmap_write_lock(mm);
	mmap_write_unlock(mm);
}

static void build(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	mm = arena_new(&e->arena, struct mm_struct);
	mm->id = mm_obj_id();
	mmap_init_lock(mm);
	P = arena_new(&e->arena, struct folio);
	P->id = mm_obj_id();
	folio_lock_init(P);
	mm_task_create(e, "A", 0, reader_with_folio, NULL);
	mm_task_create(e, "B", 1, reader_wanting_folio, NULL);
	mm_task_create(e, "C", 2, writer, NULL);
}

Test(checkers, attach_and_detach_use_one_slot_each)
{
	struct engine *e = test_engine(3);
	struct checkers *a = checkers_create(NULL);
	struct checkers *b = checkers_create(NULL);

	cr_assert_not_null(a);
	cr_assert_eq(e->hooks_count, 0);
	cr_assert(checkers_attach(a, e));
	cr_assert(checkers_attach(a, e));
	cr_assert_eq(e->hooks_count, 1);
	cr_assert_eq(e->step_hooks_count, 0, "no step hook in the hot loop");
	cr_assert(checkers_attach(b, e));
	cr_assert_eq(e->hooks_count, 2);
	checkers_detach(a);
	cr_assert_eq(e->hooks_count, 1);
	/* b alone sees the run. */
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, NULL), RUN_DEADLOCK);
	cr_assert_eq(checkers_runs(a), 0);
	cr_assert_eq(checkers_runs(b), 1);
	engine_end(e);
	checkers_destroy(b);
	cr_assert_eq(e->hooks_count, 0);
	/* Detached checkers see nothing, lock hooks included. */
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build, NULL), RUN_DEADLOCK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(checkers_campaign_metrics(a)->runs, 0);
	checkers_destroy(a);
	test_engine_done(e);
}

Test(checkers, checking_never_changes_a_run)
{
	struct engine *e = test_engine(3);
	struct checkers *c = checkers_create(NULL);
	uint64_t hashes[40];
	enum run_outcome outcomes[40];
	uint32_t deadlocks = 0;

	for (uint64_t s = 0; s < 40; s++) {
		outcomes[s] = test_run(e, STRATEGY_RANDOM, s + 1, build, NULL);
		hashes[s] = engine_trace_hash(e);
		cr_assert_eq(e->findings_count, 0);
		engine_end(e);
	}
	cr_assert(checkers_attach(c, e));
	for (uint64_t s = 0; s < 40; s++) {
		enum run_outcome o = test_run(e, STRATEGY_RANDOM, s + 1, build,
					      NULL);
		cr_assert_eq(o, outcomes[s], "seed %llu", (unsigned long long)s + 1);
		cr_assert_eq(engine_trace_hash(e), hashes[s]);
		deadlocks += test_findings_count(e, "deadlock");
		engine_end(e);
	}
	cr_assert_gt(deadlocks, 0, "the checkers did look");
	checkers_destroy(c);
	test_engine_done(e);
}

/* --------------------------------------------------- through campaigns */

static const char sleepers[] =
	"{ \"name\": \"sleepers\", \"machine\": { \"cpus\": 2 },"
	"  \"tasks\": ["
	"    { \"name\": \"a\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": 1000 } } ] },"
	"    { \"name\": \"b\", \"cpu\": 1, \"ops\": [ { \"sleep\": { \"ns\": 700 } } ] }"
	"  ] }";

Test(checkers, campaigns_attach_them_once_and_they_see_every_schedule)
{
	char err[256];
	struct scenario *sc = scenario_load_text(sleepers, strlen(sleepers),
						 "test", NULL, err, sizeof(err));
	cr_assert_not_null(sc, "%s", err);
	struct engine *e = campaign_engine(sc, NULL);
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	struct checkers *c = checkers_create(NULL);
	struct run_result r;

	cr_assert_not_null(s);
	for (uint64_t i = 0; i < 5; i++) {
		cr_assert(campaign_run_schedule(e, sc, s, c, 9, 10 + i, &r));
		cr_assert_eq(r.outcome, RUN_OK);
		cr_assert_eq(e->findings_count, 0);
	}
	cr_assert_eq(e->hooks_count, 1, "attached once");
	cr_assert_eq(checkers_runs(c), 5);
	cr_assert_eq(checkers_campaign_metrics(c)->runs, 5);

	/* The calibration run is not a schedule: the checkers do not see
	 * it. */
	campaign_estimate_pct_steps(e, sc, 9);
	cr_assert_eq(checkers_runs(c), 5);
	cr_assert_eq(e->hooks_count, 1);

	checkers_destroy(c);
	cr_assert_eq(e->hooks_count, 0);
	strategy_destroy(s);
	engine_end(e);
	engine_destroy(e);
	scenario_free(sc);
}
