/*
 * test_timeline.c: the recorder of analysis/timeline.c, attached to
 * replays of shipped scenarios (an empty decision log followed by the
 * timed rule, REPLAY_EXTEND).  Recording changes nothing about the run
 * (same trace hash and steps as without it); it keeps one step record per
 * step; every lock acquisition it noted has a hold slice; each task's
 * slices nest within each lane; wake-ups point at the woken task's next
 * step; I/O requests are ordered submit <= start <= complete.  And a run
 * that deadlocks (the first of a pct campaign, replayed exactly) leaves
 * the cycle's waits unfinished.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "analysis/runner.h"
#include "analysis/timeline.h"
#include "tests/support.h"

#define SCENARIOS SIMRUN_SOURCE_DIR "/scenarios"

static struct scenario *load(const char *file, const char *variant)
{
	char err[1024];
	struct scenario *sc = scenario_load_file(file, variant, err, sizeof(err));

	cr_assert(sc != NULL, "%s", err);
	return sc;
}

static struct timeline *record(const struct scenario *sc, uint64_t seed,
			       struct runner_replay_result *plain)
{
	struct runner_replay_result *rr = calloc(1, sizeof(*rr));
	struct timeline *tl = timeline_create();

	cr_assert(rr && tl);
	struct runner_observer obs = timeline_observer(tl);
	cr_assert_eq(runner_replay_observed(sc, seed, NULL, 0, REPLAY_EXTEND, NULL, &obs, rr),
		     RUNNER_OK, "%s", rr->err);
	cr_assert_eq(runner_replay(sc, seed, NULL, 0, REPLAY_EXTEND, NULL, plain), RUNNER_OK);
	/* Watching a run does not change it. */
	cr_assert_eq(rr->run.trace_hash, plain->run.trace_hash);
	cr_assert_eq(rr->run.steps, plain->run.steps);
	cr_assert(!tl->nomem && !tl->truncated);
	cr_assert_eq(tl->steps_count, rr->run.steps);
	cr_assert_eq(tl->run.trace_hash, rr->run.trace_hash);
	free(rr);
	return tl;
}

static void check_structure(const struct timeline *tl)
{
	uint64_t acquired = 0, holds = 0;

	for (uint64_t i = 0; i < tl->steps_count; i++) {
		cr_assert_eq(tl->steps[i].step, i);
		cr_assert_leq(tl->steps[i].start_ns, tl->steps[i].end_ns);
	}
	for (uint64_t i = 0; i < tl->notes_count; i++) {
		cr_assert_lt(tl->notes[i].step, tl->steps_count + 1);
		if (i)
			cr_assert_geq(tl->notes[i].step, tl->notes[i - 1].step, "notes in step order");
		acquired += tl->notes[i].kind == TL_ACQUIRED;
	}
	for (uint64_t i = 0; i < tl->slices_count; i++)
		holds += tl->slices[i].kind == TL_SLICE_HOLD;
	cr_assert_gt(acquired, 0);
	cr_assert_eq(holds, acquired, "a hold per acquisition");

	/* Within each task's lane, slices nest. */
	for (uint64_t i = 0; i < tl->slices_count; i++) {
		const struct tl_slice *a = &tl->slices[i];
		cr_assert_leq(a->start_ns, a->end_ns);
		cr_assert_neq(a->lane, UINT16_MAX);
		cr_assert_lt(a->lane, tl->task_lanes[a->task]);
		for (uint64_t j = i + 1; j < tl->slices_count; j++) {
			const struct tl_slice *b = &tl->slices[j];
			if (b->task != a->task || b->lane != a->lane)
				continue;
			bool disjoint = a->end_ns <= b->start_ns || b->end_ns <= a->start_ns;
			bool a_in_b = b->start_ns <= a->start_ns && a->end_ns <= b->end_ns;
			bool b_in_a = a->start_ns <= b->start_ns && b->end_ns <= a->end_ns;
			cr_assert(disjoint || a_in_b || b_in_a,
				  "slices %llu and %llu of task %u partly overlap in lane %u",
				  (unsigned long long)i, (unsigned long long)j, a->task, a->lane);
		}
	}
	for (uint64_t i = 0; i < tl->flows_count; i++) {
		const struct tl_flow *f = &tl->flows[i];
		if (f->to_step == UINT64_MAX)
			continue;
		cr_assert_gt(f->to_step, f->from_step);
		cr_assert_eq(tl->steps[f->to_step].task, f->to_task);
		/* ... and it is the woken task's first step after the wake. */
		for (uint64_t s = f->from_step + 1; s < f->to_step; s++)
			cr_assert_neq(tl->steps[s].task, f->to_task);
	}
	for (uint64_t i = 0; i < tl->ios_count; i++) {
		const struct tl_io *io = &tl->ios[i];
		cr_assert_leq(io->submit_ns, io->start_ns);
		cr_assert_leq(io->start_ns, io->complete_ns);
		cr_assert_lt(io->device, tl->devices_count);
	}
}

Test(timeline, hdd_convoy_records_io_wakeups_and_nested_lanes)
{
	struct scenario *sc = load(SCENARIOS "/mmap-lock-convoy.json", "old-hdd");
	struct runner_replay_result plain;
	struct timeline *tl = record(sc, 42, &plain);

	check_structure(tl);
	cr_assert_gt(tl->ios_count, 0, "the disk was read");
	cr_assert_str_eq(tl->device_names[0], "hdd");
	cr_assert_gt(tl->flows_count, 0, "tasks were woken");
	uint64_t faults = 0;
	for (uint64_t i = 0; i < tl->slices_count; i++)
		faults += tl->slices[i].kind == TL_SLICE_FAULT;
	cr_assert_gt(faults, 0);
	/* mmap_lock is dropped before the folio lock on this path, so some
	 * task needs a second lane. */
	bool crossing = false;
	for (uint32_t t = 0; t < tl->tasks_count; t++)
		crossing |= tl->task_lanes[t] > 1;
	cr_assert(crossing);
	timeline_destroy(tl);
	scenario_free(sc);
}

/* The decision log and run seed of the campaign's first deadlocked run. */
struct captured {
	uint8_t *log;
	size_t len;
	uint64_t seed;
	bool found;
};

static bool capture_deadlock(void *ctx, const struct run_result *r,
			     const struct engine *e)
{
	struct captured *c = ctx;
	size_t len;
	const uint8_t *log = engine_decisions(e, &len);

	if (r->outcome != RUN_DEADLOCK)
		return true;
	c->log = malloc(len + 1);
	cr_assert(c->log != NULL);
	memcpy(c->log, log, len);
	c->len = len;
	c->seed = r->seed;
	c->found = true;
	return false;
}

Test(timeline, a_deadlock_leaves_the_cycles_waits_unfinished)
{
	/* The fair variant's own exploration (pct from seed 42) deadlocks
	 * within its 300 schedules; record that run exactly. */
	struct scenario *sc = load(SCENARIOS "/rwsem-fair-deadlock.json", "fair");
	struct captured cap = { 0 };
	struct runner_params p = {
		.sc = sc,
		.strategy = { .kind = STRATEGY_PCT },
		.base_seed = 42,
		.schedules = 300,
		.after_run = capture_deadlock,
		.ctx = &cap,
	};
	struct runner_result *res = calloc(1, sizeof(*res));
	cr_assert(res != NULL);
	runner_run(&p, res);
	cr_assert(cap.found, "a deadlock within 300 schedules");
	free(res);

	struct runner_replay_result *rr = calloc(1, sizeof(*rr));
	struct timeline *tl = timeline_create();
	cr_assert(rr && tl);
	struct runner_observer obs = timeline_observer(tl);
	cr_assert_eq(runner_replay_observed(sc, cap.seed, cap.log, cap.len, REPLAY_EXACT, NULL,
					    &obs, rr), RUNNER_OK, "%s", rr->err);
	cr_assert_eq(rr->run.outcome, RUN_DEADLOCK);
	check_structure(tl);
	/* The three tasks of the cycle wait until the end. */
	uint32_t unfinished_waits = 0;
	for (uint64_t i = 0; i < tl->slices_count; i++)
		unfinished_waits += tl->slices[i].kind == TL_SLICE_WAIT &&
				    tl->slices[i].unfinished;
	cr_assert_eq(unfinished_waits, 3);
	bool deadlock = false;
	for (uint32_t i = 0; i < tl->findings_count; i++)
		deadlock |= strcmp(tl->findings[i].kind, "deadlock") == 0;
	cr_assert(deadlock, "the findings are copied");
	timeline_destroy(tl);
	free(rr);
	free(cap.log);
	scenario_free(sc);
}

Test(timeline, marks_and_lookups)
{
	struct scenario *sc = load(SCENARIOS "/rwsem-fair-deadlock.json", "fair");
	struct runner_replay_result plain;
	struct timeline *tl = record(sc, 42, &plain);

	uint64_t last = timeline_last_step(tl, 0);
	cr_assert_neq(last, UINT64_MAX);
	cr_assert_eq(tl->steps[last].task, 0);
	for (uint64_t s = last + 1; s < tl->steps_count; s++)
		cr_assert_neq(tl->steps[s].task, 0);
	timeline_mark(tl, last);
	timeline_mark(tl, tl->steps_count + 5);	/* ignored */
	cr_assert(tl->steps[last].marked);
	/* writer (task 0) takes i_rwsem in fuse_perform_write. */
	uint64_t at = timeline_find_note(tl, 0, 1u << TL_ACQUIRED, "i_rwsem",
					 "fuse_perform_write", UINT64_MAX);
	cr_assert_neq(at, UINT64_MAX);
	cr_assert_eq(timeline_find_note(tl, 0, 1u << TL_ACQUIRED, "i_rwsem",
					"no_such_function", UINT64_MAX), UINT64_MAX);
	char text[256];
	for (uint64_t i = 0; i < tl->notes_count; i++) {
		if (tl->notes[i].step != at || tl->notes[i].kind != TL_ACQUIRED)
			continue;
		timeline_note_text(tl, &tl->notes[i], text, sizeof(text));
		cr_assert(strstr(text, "i_rwsem(#") && strstr(text, "acquired (write) in fuse_perform_write"),
			  "%s", text);
	}
	cr_assert_str_eq(timeline_task_name(tl, TRACE_NO_TASK), "event");
	timeline_destroy(tl);
	scenario_free(sc);
}
