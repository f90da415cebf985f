/*
 * runner.h: a campaign from start to end: the loop over schedules, what it
 * keeps of each run (outcome counts, findings grouped by signature, the
 * first schedule that found something), and the recording of every run in
 * the result database.  Not the command line (cli/ prints, parses and shows
 * progress) and not one schedule (campaign.c runs those).
 *
 * A run is a "problem run" when it has a finding, or ended with an outcome
 * other than ok.  Findings group by (kind, signature).  A run that ended
 * badly with no finding to explain it (a deadlock no checker named) groups
 * under the pseudo-kind "outcome:<outcome>" with signature 0, so that it is
 * never silently counted as clean.
 */
#ifndef SIM_RUNNER_H
#define SIM_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/campaign.h"
#include "analysis/checkers.h"
#include "analysis/metrics.h"
#include "analysis/store.h"
#include "engine/engine.h"
#include "mm/scenario.h"
#include "schedulers/strategy.h"

/* Room for "outcome:" and the longest outcome name as well as any finding
 * kind. */
#define RUNNER_KIND_MAX 32

/* One distinct finding of the campaign and the first run that hit it. */
struct runner_group {
	char kind[RUNNER_KIND_MAX];
	uint64_t signature;
	char summary[FINDING_SUMMARY_MAX];
	uint64_t runs;			/* runs that hit it */
	uint64_t first_idx;		/* the first such run's schedule */
	uint64_t first_seed;		/* and its run seed */
	int64_t first_run_id;		/* its id in the database, 0 without */
};

/* Runs per finding kind (a run with two deadlocks counts once). */
struct runner_kind {
	char kind[RUNNER_KIND_MAX];
	uint64_t runs;
	uint64_t first_idx;
};

/* What a campaign is asked to do. */
struct runner_params {
	const struct scenario *sc;
	/* kind, pct_depth, pct_steps (0: measure it, see
	 * campaign_estimate_pct_steps), preemptions_max.  Not replay: the
	 * replay command runs one schedule itself. */
	struct strategy_params strategy;
	uint64_t base_seed;
	uint64_t schedules;		/* 1..RUNNER_SCHEDULES_MAX */
	bool stop_on_first;		/* stop after the first problem run */
	/* Run only the schedules i with i % shard_count == shard_index
	 * (--shard K/N, and each worker of --jobs N); 0 of 0 or 0 of 1: all.
	 * A shard records no lock_order findings (its graph lacks the other
	 * shards' dependencies): runner_merge computes them. */
	uint32_t shard_index;
	uint32_t shard_count;
	/* Continue this campaign of `store` (--resume): its committed runs
	 * are counted, the rest run.  0: begin a new campaign. */
	int64_t resume_campaign_id;
	/* A --jobs worker: add this slice's runs to campaign
	 * attach_campaign_id of `store`, begun by runner_campaign_begin in
	 * another process, without ending it.  0: not a worker. */
	int64_t attach_campaign_id;
	int64_t attach_run_id_base;	/* its reserved run ids' base */
	FILE *trace_out;		/* text trace of every step, or NULL */
	/* Record the campaign here (NULL: record nothing).  The runner
	 * begins and ends the campaign; the caller opens and closes. */
	struct store *store;
	/* Called after every schedule with its result and the engine that
	 * still holds the run (findings, decision log).  Return false to
	 * stop the campaign there (an interrupt): it is then recorded as
	 * interrupted.  May be NULL. */
	bool (*after_run)(void *ctx, const struct run_result *r,
			  const struct engine *e);
	void *ctx;
	/* --verify: execute every problem run a second time, from its own
	 * decision log in exact replay (a second engine, fresh checkers),
	 * before it is recorded, and compare the trace hashes.  A mismatch
	 * stops the campaign with RUNNER_ERR_VERIFY. */
	bool verify;
	/* TESTS ONLY; NULL everywhere else (no command line sets it).
	 * Subscribed as the run_begin hook of the verification engine, so a
	 * test can make the second execution differ (nondeterminism on
	 * purpose) and see the mismatch reported. */
	void (*verify_perturb)(void *ctx, struct engine *e);
};

enum runner_rc {
	RUNNER_OK = 0,		/* ran to its end (or stopped on first) */
	RUNNER_STOPPED,		/* after_run asked to stop */
	RUNNER_ERR_PARAMS,	/* the strategy refused its parameters */
	RUNNER_ERR_NOMEM,	/* the engine's pools could not be mapped */
	RUNNER_ERR_STORE,	/* the database refused a write; see err */
	RUNNER_ERR_VERIFY,	/* --verify: a run did not repeat itself (a
				 * simrun bug); see err and verify_* */
};

struct runner_result {
	enum runner_rc rc;
	char err[STORE_MESSAGE_MAX];	/* what went wrong, for a person */

	uint64_t schedules_run;
	uint64_t outcomes[RUN_OUTCOMES_COUNT];
	uint64_t problem_runs;		/* runs with a finding or a bad
					 * outcome */
	bool has_problem;
	uint64_t first_problem_idx;	/* valid when has_problem */
	struct run_result first;	/* schedule 0 */
	uint64_t pct_steps;		/* pct: the k used (given or measured) */

	uint32_t groups_count;
	uint64_t groups_dropped;	/* distinct findings past the table */
	struct runner_group groups[RUNNER_GROUPS_MAX];
	uint32_t kinds_count;		/* in order of first appearance */
	struct runner_kind kinds[RUNNER_KINDS_MAX];

	/* Where the search stands (strategy_status after the last run). */
	bool exhausted;			/* dfs covered its whole space */
	bool truncated;			/* dfs branched on a prefix only */
	bool nondeterministic;		/* dfs met a world that did not
					 * repeat itself: a simrun bug */
	uint64_t diverged_at;		/* the decision where it did */
	bool stopped_on_first;

	int64_t campaign_id;		/* 0 without a store */
	enum store_status status;	/* as recorded */

	/* --verify: problem runs executed twice with equal trace hashes,
	 * and on RUNNER_ERR_VERIFY the run that differed (not recorded;
	 * the runs before it are). */
	uint64_t verified;
	uint64_t verify_idx;
	uint64_t verify_seed;
	uint64_t verify_hash_first;
	uint64_t verify_hash_second;

	/* What the checkers measured over every run, and the circular lock
	 * dependencies of the whole campaign in lockdep's words. */
	struct metrics metrics;
	uint32_t lock_order_count;
	uint32_t lock_order_dropped;
	struct lock_order_cycle lock_order[LOCK_ORDER_REPORTS_MAX];
};

/*
 * Run the campaign.  Always fills *out (what ran before any error stays
 * counted) and returns out->rc.  With a store, every run is recorded with
 * its findings, and the campaign ends `done` (every schedule ran, or dfs
 * exhausted its space early), `interrupted` (stopped early: on the first
 * problem or by after_run) or `failed` (a store error).  A store error
 * stops the campaign at once; runs committed before it stay in the file.
 */
enum runner_rc runner_run(const struct runner_params *p,
			  struct runner_result *out);

/* Whether campaign p may be split over processes (split: --jobs,
 * --shard) or resumed; false with a message in err when not (dfs; a split
 * --stop-on-first). */
bool runner_can_split(const struct runner_params *p, bool split, bool resume,
		      char *err, size_t len);

/*
 * --jobs: begin campaign p in st for workers to attach to (recorded as a
 * whole campaign, shard 0 of 1), measuring PCT's k first when it is not
 * given (p->strategy.pct_steps is set, so the workers need not), and
 * reserving run ids for it (*id_base, for attach_run_id_base).
 */
enum runner_rc runner_campaign_begin(struct runner_params *p,
				     struct store *st, int64_t *campaign_id,
				     int64_t *id_base, char *err, size_t len);

/*
 * --jobs, after the workers: the campaign-wide pass over campaign
 * campaign_id of st.  Reads schedule 0 and every run with a finding, an
 * outcome other than ok or a lock-graph event, in schedule order; computes
 * lock_order as runner_run does and rewrites the findings of the runs
 * that close a cycle; forgets the decision logs the workers kept only in
 * case; ends the campaign (done, or interrupted when `interrupted` or
 * runs are missing) and fills *out as runner_run does, except
 * out->metrics.  The campaign's rows then equal one process's.
 */
enum runner_rc runner_finish(struct store *st, int64_t campaign_id,
			     bool interrupted, struct runner_result *out);

/* What runner_merge combines. */
struct runner_merge_params {
	const char *const *sources;	/* shard databases, any order */
	uint32_t sources_count;
	const char *target;		/* record the campaign here, or NULL */
	/* Merge what every shard reached (--jobs after an interrupt): the
	 * schedules up to the first one missing, recorded as interrupted.
	 * Otherwise every shard must be done and complete. */
	bool partial;
};

/*
 * Combine the N shard databases of one campaign (each from --shard K/N,
 * or a --jobs worker) into one campaign equal to the one a single process
 * records: the same runs in schedule order, the same findings (lock_order
 * computed from the shards' lock-graph events in schedule order, as
 * runner_run does), the same kept decision logs, the metric counts summed.
 * Fills *out as runner_run does, except out->metrics (the shards keep
 * histogram buckets, not their sums and extremes).  A mismatch between
 * shards, a missing or unfinished shard: RUNNER_ERR_PARAMS with err saying
 * which file and what; database errors: RUNNER_ERR_STORE.
 */
enum runner_rc runner_merge(const struct runner_merge_params *p,
			    struct runner_result *out);

/* How strictly a replay follows its log. */
enum runner_replay_mode {
	/* The recorded run exactly: a recorded choice that is not enabled,
	 * a log that runs out, or entries left over all diverge (replay). */
	REPLAY_EXACT = 0,
	/* The recorded schedule applied to a world that may have changed
	 * (regress): follow the log while the engine asks; when it runs out,
	 * go on by the timed rule (ties broken by the run seed) until the run
	 * ends; entries left when it ends are not a divergence.  Only a
	 * recorded choice that is not enabled diverges. */
	REPLAY_EXTEND,
};

/* One recorded run re-executed. */
struct runner_replay_result {
	enum runner_rc rc;		/* RUNNER_OK, or ERR_NOMEM/ERR_PARAMS */
	char err[256];
	struct run_result run;		/* outcome RUN_DIVERGED when the log
					 * could not be followed */
	bool diverged;
	uint64_t diverged_at;		/* the decision it could not follow */
	uint64_t log_entries;		/* decisions the log holds */
	uint32_t problems_count;	/* as runner_run_problems groups them */
	struct runner_group problems[FINDINGS_PER_RUN_MAX + 1];
};

/*
 * Re-execute one run: scenario sc (the recorded one, or a changed one),
 * the recorded run seed as the base seed of schedule 0, and the recorded
 * decision log followed as `mode` says, with the same checkers a campaign
 * has.  Returns out->rc.
 */
enum runner_rc runner_replay(const struct scenario *sc, uint64_t seed,
			     const uint8_t *log, size_t log_len,
			     enum runner_replay_mode mode, FILE *trace_out,
			     struct runner_replay_result *out);

/*
 * Something that watches a replayed run besides the checkers: the timeline
 * recorder of `simrun show`, `export` and `report`.  attach runs once the
 * engine exists, before the run (subscribe to its hooks there); finish
 * after the run, while the engine still holds it (its tasks, findings and
 * the model's state); detach before the engine is destroyed.  attach
 * returning false ends the replay with RUNNER_ERR_NOMEM (a full hook table
 * or no memory).  Campaigns never have one.
 */
struct runner_observer {
	void *ctx;
	bool (*attach)(void *ctx, struct engine *e);
	void (*finish)(void *ctx, struct engine *e, const struct run_result *r);
	void (*detach)(void *ctx, struct engine *e);
};

/* runner_replay with an observer (NULL: none, which is runner_replay). */
enum runner_rc runner_replay_observed(const struct scenario *sc,
				      uint64_t seed, const uint8_t *log,
				      size_t log_len,
				      enum runner_replay_mode mode,
				      FILE *trace_out,
				      const struct runner_observer *obs,
				      struct runner_replay_result *out);

/* The params_json recorded for a campaign: the strategy's parameters and
 * the budgets, into buf.  False when it does not fit. */
bool runner_params_json(const struct runner_params *p, uint64_t pct_steps,
			char *buf, size_t len);

/* lock_order findings belong to the campaign, not to the run that
 * reported them: the cycle closes on dependencies that earlier runs
 * recorded, and a cycle is reported once per campaign.  A run replayed
 * alone may therefore report one that was not recorded with it, or not
 * report one that was; replay and regress compare the other kinds. */
bool runner_kind_is_campaign_wide(const char *kind);

/* True when the run is a problem run (see the top of this file). */
bool runner_is_problem(enum run_outcome o, uint32_t findings_count);

/* Group a run's problems into `groups` (kind, signature, summary), the
 * same way the runner does: its findings, or the pseudo-kind for a bad
 * outcome without one.  Returns how many it wrote (at most max). */
uint32_t runner_run_problems(enum run_outcome o, const struct finding *f,
			     uint32_t findings_count,
			     struct runner_group *groups, uint32_t max);

#endif /* SIM_RUNNER_H */
