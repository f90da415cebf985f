/*
 * strategy.h: how simrun searches the space of interleavings, behind one
 * small interface.  A strategy begins a schedule, picks one of the enabled
 * choices at each choice point (it sees only their ids, kinds and times,
 * never model state), and at the end says whether there is more to
 * explore.  One file per strategy: timed.c, random.c, pct.c, dfs.c,
 * replay.c.
 */
#ifndef SIM_STRATEGY_H
#define SIM_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/prng.h"

enum strategy_kind {
	STRATEGY_TIMED = 0,
	STRATEGY_RANDOM,
	STRATEGY_PCT,
	STRATEGY_DFS,
	STRATEGY_REPLAY,
	STRATEGY_KINDS_COUNT,
};

struct strategy_params {
	enum strategy_kind kind;
	uint32_t pct_depth;		/* pct: d, 0 for the default 3 */
	uint64_t pct_steps;		/* pct: k, the estimated run length in
					 * decisions.  Required: a campaign
					 * that has no estimate measures one
					 * with campaign_estimate_pct_steps */
	uint32_t preemptions_max;	/* dfs: preemption bound; UINT32_MAX
					 * for none */
	const uint8_t *replay_log;	/* replay: decision log to follow
					 * (copied by strategy_create) */
	size_t replay_len;
};

/* Where a search stands, for the strategies that can say more than "keep
 * sampling".  All false for timed, random and pct. */
struct strategy_status {
	bool exhausted;		/* dfs: every schedule within the bound ran */
	bool truncated;		/* dfs: some schedule had more than
				 * DFS_DEPTH_MAX decisions, so the search
				 * branched only on the first DFS_DEPTH_MAX */
	bool diverged;		/* replay: the run left the log; dfs: a
				 * re-execution presented other choices than
				 * recorded (the world is nondeterministic) */
	uint64_t diverged_at;	/* the decision index where it did */
};

/* What a strategy learns at the end of a schedule. */
struct schedule_result {
	enum run_outcome outcome;
	uint64_t steps;
	uint64_t decisions;
};

struct strategy;

struct strategy_ops {
	const char *name;
	/* True for strategies that enumerate schedules of one fixed world
	 * (dfs): every schedule must then run with the campaign's base seed,
	 * because the model draws latencies from a PRNG seeded by the run
	 * seed, and a different seed per schedule would change the world
	 * under the search.  campaign_run_schedule honours it. */
	bool same_seed_every_schedule;
	/* Begin schedule `index` of the campaign, whose run seed is
	 * `run_seed`.  Strategies seed their own PRNG from
	 * sim_stream_seed(run_seed, SIM_STREAM_STRATEGY). */
	void (*begin)(struct strategy *s, uint64_t run_seed, uint64_t index);
	/* `self` is the struct strategy: the engine calls this directly
	 * through struct chooser, without a second indirection. */
	uint32_t (*pick)(void *self, const struct choice_point *cp);
	/* True while there are schedules left to explore (always true for
	 * the sampling strategies; false once dfs has no schedule left,
	 * because it exhausted its bound, finished a truncated search or
	 * met nondeterminism, and after replay's one schedule). */
	bool (*end)(struct strategy *s, const struct schedule_result *r);
	/* Optional: fill in where the search stands (NULL: all false). */
	void (*status)(const struct strategy *s, struct strategy_status *st);
	void (*destroy)(struct strategy *s);
};

struct strategy {
	const struct strategy_ops *ops;
	struct strategy_params params;
	struct prng prng;
	void *state;			/* the strategy's own */
	uint64_t schedules;		/* schedules begun */
};

/* Create a strategy; NULL with a message in err when the parameters are not
 * usable. */
struct strategy *strategy_create(const struct strategy_params *p, char *err,
				 size_t err_len);
void strategy_destroy(struct strategy *s);

const char *strategy_kind_name(enum strategy_kind k);
/* Parse a name ("timed", "random", "pct", "dfs", "replay"); false if
 * unknown. */
bool strategy_kind_parse(const char *name, enum strategy_kind *k);

/* Where the search stands; see struct strategy_status. */
void strategy_status(const struct strategy *s, struct strategy_status *st);

/* dfs: true once every schedule within the preemption bound has run, so the
 * campaign has covered the whole space and can say so.  False while
 * schedules remain, after a divergence, after a truncated search, and for
 * every other strategy. */
bool strategy_exhausted(const struct strategy *s);

/* True when the last schedules did not follow what they had to: for replay,
 * the recorded choice was not enabled, the log ended while the engine still
 * asked for choices (both end the run with RUN_DIVERGED), or the run
 * finished with log entries left over (the engine's outcome then looks
 * normal, so this is the only way to see it; campaign_run_schedule reports
 * such a run as RUN_DIVERGED).  For dfs, a re-execution met other choices
 * than recorded.  *at_decision (when not NULL) is the decision index: the
 * one that could not be followed, or for left-over entries the index of the
 * first entry not consumed. */
bool strategy_diverged(const struct strategy *s, uint64_t *at_decision);

/* The engine-facing view of a strategy. */
struct chooser strategy_chooser(struct strategy *s);

static inline void strategy_begin(struct strategy *s, uint64_t run_seed,
				  uint64_t index)
{
	s->schedules++;
	s->ops->begin(s, run_seed, index);
}

static inline bool strategy_end(struct strategy *s,
				const struct schedule_result *r)
{
	return s->ops->end(s, r);
}

/* Per-strategy constructors (one per file). */
bool strategy_timed_init(struct strategy *s, char *err, size_t err_len);
bool strategy_random_init(struct strategy *s, char *err, size_t err_len);
bool strategy_pct_init(struct strategy *s, char *err, size_t err_len);
bool strategy_dfs_init(struct strategy *s, char *err, size_t err_len);
bool strategy_replay_init(struct strategy *s, char *err, size_t err_len);

#endif /* SIM_STRATEGY_H */
