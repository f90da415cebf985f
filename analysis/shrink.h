/*
 * shrink.h: make a failing schedule small.  Given a recorded run (its
 * scenario, run seed and decision log) and one of its findings, search for
 * a schedule with fewer preemptions and decisions that still produces a
 * finding of the same kind and signature, and record it as a new run.  Not
 * the command line (cli/cmd_shrink.c) and not a strategy: candidates are
 * replays of edited logs.
 *
 * Sizes.  A schedule's size is three numbers of the run it produces:
 *  - decisions: choice points with two or more enabled choices (the
 *    entries of its decision log);
 *  - preemptions: decisions that picked something other than the task
 *    that ran the previous step while that task was still enabled (the
 *    definition of schedulers/dfs.c: switching away from a task that
 *    blocked or exited, at the start, or after an event, is free);
 *  - steps: every step of the run.
 *
 * The search (shrink_run), replaying every candidate with the source run's
 * seed, much as REPLAY_EXTEND does: the candidate's entries are followed
 * while the engine asks, and once they run out the run goes on without
 * preempting (the task that ran last goes on while it can; when it cannot,
 * the timed rule picks).  A candidate whose entry is not enabled where it
 * is asked is rejected.  A candidate is accepted when its run has a finding of the
 * target's kind and signature, and is no larger in preemptions and
 * decisions and smaller in one of preemptions, decisions or steps; the
 * accepted run's own log (the entries it followed and the decisions the
 * timed rule added) becomes the list to shrink next.
 *  1. Removal (delta debugging, Zeller and Hildebrandt 2002, complements
 *     only): split the list into n chunks, try it without each; on an
 *     acceptance go on with n - 1 chunks (at least 2); when none is
 *     accepted double n, until chunks are single decisions.
 *  2. Preemptions: for each preemptive decision of the best run, try the
 *     list with that decision replaced by the task it preempted, first
 *     keeping the rest of the list and then dropping it (completed without
 *     preempting from there).
 *  3. Repeat 1 and 2 until a round accepts nothing, or the replay budget
 *     runs out (the best run so far is the result either way).
 *
 * The result is then replayed once more, exactly, in a fresh engine with
 * fresh checkers, and that run is the one recorded: `simrun replay` of it
 * is identical.
 */
#ifndef SIM_SHRINK_H
#define SIM_SHRINK_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/runner.h"
#include "analysis/store.h"
#include "mm/scenario.h"

struct shrink_size {
	uint64_t decisions;
	uint64_t preemptions;
	uint64_t steps;
};

struct shrink_params {
	const struct scenario *sc;
	uint64_t seed;			/* the source run's run seed */
	const uint8_t *log;		/* the source run's decision log */
	size_t log_len;
	/* The finding to keep.  Not a campaign-wide kind (lock_order): a
	 * run alone does not decide whether it is reported. */
	const char *kind;
	uint64_t signature;
	uint64_t replays_max;		/* 1..SHRINK_REPLAYS_LIMIT */
	/* Record the result here as a new campaign (strategy "shrink",
	 * params_json naming the source run) of one run; NULL: do not. */
	struct store *store;
	int64_t source_run_id;		/* for params_json */
};

enum shrink_rc {
	SHRINK_OK = 0,			/* out holds the smallest run found */
	SHRINK_NOT_REPRODUCED,		/* the source log does not give the
					 * finding (the scenario changed, or
					 * the log is not this run's) */
	SHRINK_ERR_NOMEM,		/* no engine, or no memory */
	SHRINK_ERR_INPUT,		/* the log is malformed or too long */
	SHRINK_ERR_STORE,		/* the database refused; see err */
	SHRINK_ERR_ENGINE,		/* the result did not replay to
					 * itself: a simrun bug */
};

struct shrink_result {
	enum shrink_rc rc;
	char err[STORE_MESSAGE_MAX];
	struct shrink_size before;	/* the source log replayed */
	struct shrink_size after;	/* the recorded result */
	uint64_t replays;		/* candidates replayed, the first
					 * (the source log) included */
	uint64_t accepted;		/* candidates accepted */
	bool budget_hit;		/* stopped by replays_max */
	struct run_result run;		/* the final, recorded run */
	char summary[FINDING_SUMMARY_MAX];	/* of its target finding */
	int64_t campaign_id;		/* 0 without a store */
	int64_t run_id;
	uint8_t *log;			/* the result's decision log (malloc) */
	size_t log_len;
};

/* Shrink; fills *out (free its log with shrink_result_free) and returns
 * out->rc. */
enum shrink_rc shrink_run(const struct shrink_params *p,
			  struct shrink_result *out);
void shrink_result_free(struct shrink_result *r);

#endif /* SIM_SHRINK_H */
