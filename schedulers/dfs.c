/*
 * dfs.c: the `dfs` strategy, a stateless, systematic, depth-first
 * enumeration of the schedules of one world, bounded by the number of
 * preemptions (Musuvathi and Qadeer, "Iterative context bounding for
 * systematic testing of multithreaded programs", PLDI 2007).  Stateless: it
 * keeps no model state, only the decisions of the current schedule, and the
 * world is re-executed from the start for every schedule.  Not a sampler:
 * the order is fixed, and it knows when it has run every schedule.
 *
 * The search.  A schedule is the path of its decisions through a tree whose
 * nodes are choice points and whose edges are the enabled choices, in the
 * choice point's order (tasks by id, then events in heap order; both are
 * functions of the schedule so far).  A preemption is a pick of anything
 * other than cp->last_task while last_task is among the enabled choices:
 * switching away from a task that blocked or exited, or at the start, or
 * after an event, is free.  An edge is allowed when the preemptions on the
 * path up to and including it stay within params.preemptions_max
 * (UINT32_MAX: no bound).
 *
 * One schedule (dfs_begin, dfs_pick, dfs_end):
 *  1. Decisions below replay_to follow the recorded frames, after checking
 *     that the choice point presents what was recorded there: the same
 *     count, and the same hash of every choice's kind, id, CPU and time and
 *     of last_task.  A mismatch means the world is not a function of the
 *     decisions (nondeterminism): the run ends as RUN_DIVERGED and the
 *     search stops, reporting the decision (strategy_diverged).
 *  2. Each later decision pushes a frame and takes the first allowed edge.
 *  3. At the end, backtrack: drop frames from the top until one has an
 *     allowed edge after the one taken, take it, and follow that prefix
 *     next time.  When no frame is left, every schedule within the bound
 *     has run: dfs_end returns false and strategy_exhausted says so.
 *
 * Invariants (dfs_check asserts them):
 *  1. frames[i].preemptions_before counts the preemptions of frames[0..i).
 *  2. Every frame's edge is allowed: preemptions_before plus its own
 *     preemption is within the bound.
 *  3. frames[i].chosen < frames[i].n, and frames[i].last_idx < n or is
 *     DFS_NO_LAST.
 *  4. replay_to <= depth <= DFS_DEPTH_MAX.
 *
 * Bounded memory: DFS_DEPTH_MAX frames, allocated once.  Decisions past it
 * are not branched on: they take the non-preempting edge (last_task when
 * enabled, else the first choice), which is deterministic and within any
 * bound, and the search reports itself truncated rather than exhausted.
 *
 * One seed.  The model draws latencies from a PRNG seeded by the run seed,
 * so every schedule of the search must run with the same one, or the world
 * would change under it: dfs sets same_seed_every_schedule, which
 * campaign_run_schedule honours, and dfs_begin asserts it got the seed of
 * the first schedule.
 */
#include <stdio.h>
#include <stdlib.h>

#include "schedulers/strategy.h"

#define DFS_NO_LAST CHOICE_NONE	/* choice_point_last_index: none */

struct dfs_frame {
	uint64_t hash;			/* of the choice point, rule 1 */
	uint32_t n;			/* enabled choices */
	uint32_t chosen;		/* the edge taken */
	uint32_t last_idx;		/* index of last_task, or DFS_NO_LAST */
	uint32_t preemptions_before;	/* invariant 1 */
};

static_assert(sizeof(struct dfs_frame) == 24,
	      "DFS_DEPTH_MAX's memory budget assumes 24-byte frames");

struct dfs_state {
	uint32_t bound;			/* params.preemptions_max */
	uint32_t depth;			/* frames in use */
	uint32_t replay_to;		/* frames this schedule follows */
	uint64_t decision_next;		/* the decision pick expects next */
	uint64_t seed;			/* the run seed of every schedule */
	bool done;			/* no schedule left */
	bool truncated;
	bool diverged;
	uint64_t diverged_at;
	struct dfs_frame *frames;	/* DFS_DEPTH_MAX of them */
};

static const struct strategy_ops dfs_ops;

static struct dfs_state *dfs_of(const struct strategy *s)
{
	SIM_ASSERT(s->ops == &dfs_ops);
	SIM_ASSERT(s->state != NULL);
	SIM_ASSERT(((const struct dfs_state *)s->state)->frames != NULL);
	return s->state;
}

static bool dfs_preempts(const struct dfs_frame *f, uint32_t idx)
{
	SIM_ASSERT(idx < f->n);
	SIM_ASSERT(f->last_idx == DFS_NO_LAST || f->last_idx < f->n);
	return f->last_idx != DFS_NO_LAST && idx != f->last_idx;
}

static bool dfs_allowed(const struct dfs_state *st, const struct dfs_frame *f,
			uint32_t idx)
{
	uint64_t used = (uint64_t)f->preemptions_before + dfs_preempts(f, idx);

	SIM_ASSERT(f->preemptions_before <= st->bound);
	SIM_ASSERT(used <= (uint64_t)st->bound + 1);
	return used <= st->bound;
}

/* Rule 1: what a choice point presents, as one 64-bit hash. */
static uint64_t dfs_hash(const struct choice_point *cp)
{
	uint64_t h = prng_mix64(((uint64_t)cp->n << 32) | cp->last_task);

	SIM_ASSERT(cp->n >= 2);
	SIM_ASSERT(cp->n <= CHOICES_MAX);
	for (uint32_t i = 0; i < cp->n; i++) {
		const struct choice *c = &cp->choices[i];
		h = prng_mix64(h ^ ((uint64_t)c->kind | (uint64_t)c->id << 1 |
				    (uint64_t)c->cpu << 40));
		h = prng_mix64(h ^ c->time_ns);
	}
	return h;
}

static void dfs_check(const struct dfs_state *st)
{
	uint32_t preemptions = 0;

	SIM_ASSERT(st->replay_to <= st->depth);		/* invariant 4 */
	SIM_ASSERT(st->depth <= DFS_DEPTH_MAX);
	for (uint32_t i = 0; i < st->depth; i++) {
		const struct dfs_frame *f = &st->frames[i];
		SIM_ASSERT(f->chosen < f->n);			/* invariant 3 */
		SIM_ASSERT(f->last_idx == DFS_NO_LAST || f->last_idx < f->n);
		SIM_ASSERT(f->preemptions_before == preemptions); /* inv. 1 */
		SIM_ASSERT(dfs_allowed(st, f, f->chosen));	/* invariant 2 */
		preemptions += dfs_preempts(f, f->chosen);
	}
}

static void dfs_begin(struct strategy *s, uint64_t run_seed, uint64_t index)
{
	struct dfs_state *st = dfs_of(s);

	(void)index;
	/* The campaign must stop when dfs_end says there is nothing left. */
	SIM_ASSERT(!st->done);
	if (s->schedules == 1)
		st->seed = run_seed;
	/* Every schedule of one search runs the same world (see the top). */
	SIM_ASSERT(run_seed == st->seed);
	st->replay_to = st->depth;
	st->decision_next = 0;
	if (SIM_EXPENSIVE)
		dfs_check(st);
}

static uint32_t dfs_pick(void *self, const struct choice_point *cp)
{
	struct strategy *s = self;
	struct dfs_state *st = dfs_of(s);
	uint32_t last_idx = choice_point_last_index(cp);

	SIM_ASSERT(cp->n >= 2);
	SIM_ASSERT(cp->decision == st->decision_next);
	st->decision_next++;

	if (cp->decision >= DFS_DEPTH_MAX) {
		st->truncated = true;
		return last_idx != DFS_NO_LAST ? last_idx : 0;
	}

	uint32_t d = (uint32_t)cp->decision;
	uint64_t h = dfs_hash(cp);
	if (d < st->replay_to) {
		const struct dfs_frame *f = &st->frames[d];
		if (f->hash != h || f->n != cp->n || f->last_idx != last_idx) {
			st->diverged = true;
			st->diverged_at = d;
			return CHOICE_DIVERGED;
		}
		return f->chosen;
	}

	SIM_ASSERT(d == st->depth);
	struct dfs_frame *f = &st->frames[st->depth++];
	*f = (struct dfs_frame){ .hash = h, .n = cp->n, .last_idx = last_idx };
	if (d > 0) {
		const struct dfs_frame *prev = f - 1;
		f->preemptions_before = prev->preemptions_before +
					dfs_preempts(prev, prev->chosen);
	}
	/* The first allowed edge; there is always one, the non-preempting
	 * one, because the path so far is within the bound. */
	while (!dfs_allowed(st, f, f->chosen))
		f->chosen++;
	SIM_ASSERT(f->chosen < f->n);
	return f->chosen;
}

static bool dfs_end(struct strategy *s, const struct schedule_result *r)
{
	struct dfs_state *st = dfs_of(s);

	SIM_ASSERT(!st->done);
	if (!st->diverged && st->decision_next < st->replay_to) {
		/* The run ended before the prefix it had to follow: the same
		 * decisions no longer lead to the same world. */
		st->diverged = true;
		st->diverged_at = st->decision_next;
	}
	if (st->diverged) {
		SIM_ASSERT(r->decisions <= st->diverged_at);
		st->done = true;
		return false;
	}
	SIM_ASSERT(r->decisions == st->decision_next);
	dfs_check(st);

	/* Rule 3: the deepest frame with an allowed edge left takes it. */
	while (st->depth > 0) {
		struct dfs_frame *f = &st->frames[st->depth - 1];
		for (uint32_t alt = f->chosen + 1; alt < f->n; alt++) {
			if (dfs_allowed(st, f, alt)) {
				f->chosen = alt;
				return true;
			}
		}
		st->depth--;
	}
	st->done = true;
	return false;
}

static void dfs_status(const struct strategy *s, struct strategy_status *out)
{
	const struct dfs_state *st = dfs_of(s);

	SIM_ASSERT(out != NULL);
	out->truncated = st->truncated;
	out->diverged = st->diverged;
	out->diverged_at = st->diverged ? st->diverged_at : 0;
	out->exhausted = st->done && !st->diverged && !st->truncated;
}

static void dfs_destroy(struct strategy *s)
{
	struct dfs_state *st = dfs_of(s);

	SIM_ASSERT(st->depth <= DFS_DEPTH_MAX);
	free(st->frames);
	free(st);
	s->state = NULL;
}

static const struct strategy_ops dfs_ops = {
	.name = "dfs",
	.same_seed_every_schedule = true,
	.begin = dfs_begin,
	.pick = dfs_pick,
	.end = dfs_end,
	.status = dfs_status,
	.destroy = dfs_destroy,
};

bool strategy_dfs_init(struct strategy *s, char *err, size_t err_len)
{
	struct dfs_state *st = calloc(1, sizeof(*st));

	SIM_ASSERT(s->params.kind == STRATEGY_DFS);
	SIM_ASSERT(s->state == NULL);
	if (st)
		st->frames = calloc(DFS_DEPTH_MAX, sizeof(*st->frames));
	if (!st || !st->frames) {
		free(st);
		snprintf(err, err_len, "out of memory for %u dfs frames",
			 (unsigned)DFS_DEPTH_MAX);
		return false;
	}
	st->bound = s->params.preemptions_max;
	s->state = st;
	s->ops = &dfs_ops;
	return true;
}
