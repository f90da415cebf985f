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
	uint32_t pct_depth;		/* pct: d, default 3 */
	uint64_t pct_steps;		/* pct: k, the estimated run length in
					 * decisions; 0 = estimate it */
	uint32_t preemptions_max;	/* dfs: preemption bound; UINT32_MAX
					 * for none */
	const uint8_t *replay_log;	/* replay: decision log to follow */
	size_t replay_len;
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
	/* Begin schedule `index` of the campaign, whose run seed is
	 * `run_seed`.  Strategies seed their own PRNG from
	 * sim_stream_seed(run_seed, SIM_STREAM_STRATEGY). */
	void (*begin)(struct strategy *s, uint64_t run_seed, uint64_t index);
	/* `self` is the struct strategy: the engine calls this directly
	 * through struct chooser, without a second indirection. */
	uint32_t (*pick)(void *self, const struct choice_point *cp);
	/* True while there are schedules left to explore (always true for
	 * the sampling strategies; false once dfs has exhausted its bound or
	 * replay has replayed its one schedule). */
	bool (*end)(struct strategy *s, const struct schedule_result *r);
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
