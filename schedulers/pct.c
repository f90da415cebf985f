/*
 * pct.c: the `pct` strategy, Probabilistic Concurrency Testing (Burckhardt,
 * Kothari, Musuvathi and Nagarakatte, "A randomized scheduler with
 * probabilistic guarantees of finding bugs", ASPLOS 2010).  It runs the
 * highest-priority enabled choice; priorities are random and distinct, and
 * d - 1 change points each drop the choice about to run below all others.
 * Not a uniform sampler of interleavings (random.c) and not exhaustive
 * (dfs.c).
 *
 * The rule, for one schedule with depth d and estimated length k (begin()
 * draws, pct_pick() applies):
 *  1. A task or a pending event gets a priority the first time it is an
 *     enabled choice at a choice point: a 64-bit value drawn from the
 *     strategy's PRNG, at least PCT_INITIAL_MIN, and redrawn while it equals
 *     a priority in use, so that priorities are distinct.
 *  2. The change points are a uniformly random set of c = min(d - 1, k)
 *     distinct decision indices in [0, k) (Floyd's sampling), taken in
 *     increasing order.
 *  3. At each choice point the enabled choice of highest priority is the one
 *     that would run.  At the j-th change point (j = 1..c, in time order) it
 *     is dropped to priority PCT_DROP_BASE + c - j + 1, below every initial priority and
 *     below every earlier drop, and the highest-priority choice after the
 *     drop runs instead.
 *
 *  4. A task that gives way voluntarily (it sleeps: a backoff, a timed
 *     wait) drops below every other task and event, change-point drops
 *     included, together with the timer that will wake it: both take the
 *     next values of a counter that counts down from PCT_YIELD_TOP.  Below
 *     the drops too, because the task a sleeper waits for may be the one a
 *     change point held back.
 *     Without this, a task backing off in a loop (do_swap_page's one-tick
 *     sleep when swapcache_prepare races) draws a fresh priority for each
 *     timer and, whenever it beats the task it waits for, runs again first:
 *     a starvation that exists only in the strategy, reported as a
 *     livelock.  The PCT paper makes the same assumption (no unbounded
 *     busy-waiting); CHESS's fair scheduler demotes yielding threads the
 *     same way.
 *
 * Invariants (pct_check asserts them):
 *  1. The priorities of the tasks and pending events seen so far are
 *     distinct.
 *  2. Initial priorities are >= PCT_INITIAL_MIN; dropped ones are in
 *     PCT_DROP_BASE + [1, c]; yield priorities are in [1, PCT_YIELD_TOP];
 *     0 means "not seen yet".
 *  3. events[] holds exactly the pending events seen at the last choice
 *     point, sorted by id.
 *
 * The guarantee.  For a bug of depth d (d ordering constraints between
 * steps suffice to cause it) in a program of n threads and at most k steps,
 * one PCT schedule finds it with probability at least 1/(n * k^(d-1)): the
 * thread that must go first gets the top priority (1/n), and each of the
 * d - 1 change points lands on the one step where the thread that would
 * otherwise run past a constraint must be held back (1/k each).  Here:
 *
 *  - Steps are decisions.  k and the change points count choice points
 *    (steps where two or more choices were enabled), because a step with a
 *    single choice cannot be preempted and a change point there would be
 *    wasted.  The run's length k comes from params.pct_steps; a campaign
 *    without an estimate measures one (campaign_estimate_pct_steps).
 *  - Events are threads.  An I/O completion or timer is, for PCT, a thread
 *    that becomes enabled when queued and runs one step.  It gets a
 *    priority exactly as a task does, so n counts the tasks and events a
 *    run sees, and an ordering constraint that involves an event ("the
 *    completion fires before the fault retries") is enforced the same way
 *    as one between tasks: by the initial order or by a change point
 *    dropping whichever would run first.  A fixed rule for events (always
 *    first, or always last) would make such orderings certain or
 *    impossible, which is what the guarantee must not do.
 *  - Lazy priorities are the paper's permutation.  The paper permutes n
 *    priorities up front; here a newcomer draws a value at first sight.  The
 *    draws are i.i.d. and kept distinct, so the order they induce over
 *    everything a run sees is a uniformly random permutation, and the rank
 *    of each newcomer among those seen before is uniform and independent of
 *    their order, as it would be in a permutation drawn up front.
 *  - The drop happens before the dropped choice runs (the paper lowers a
 *    thread after its change-point step).  Each change point is then a real
 *    preemption at a real choice point, never spent on a step the thread
 *    would have ended with anyway; a constraint "hold A back before step s"
 *    is met by a change point at the decision of step s, one index earlier
 *    than in the paper, which leaves the 1/k per constraint unchanged.
 *  - Change points are distinct and dropped choices go below all earlier
 *    ones, so the probability of hitting a given increasing set of d - 1
 *    decisions is 1/C(k, d-1), which is at least 1/k^(d-1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedulers/strategy.h"

#define PCT_DEPTH_DEFAULT 3u

/* Three bands (invariant 2): yields count down from PCT_YIELD_TOP towards
 * 1; change-point drops sit just above, at PCT_DROP_BASE + [1, c]; initial
 * priorities start at PCT_INITIAL_MIN.  A run yields at most once per step,
 * and the step budget is far below 2^32, so the yield band never runs
 * out. */
#define PCT_YIELD_TOP ((1ull << 32) - 1)
#define PCT_DROP_BASE (1ull << 32)
#define PCT_INITIAL_MIN (1ull << 33)
static_assert(STEPS_LIMIT < PCT_YIELD_TOP / 2,
	      "two yield values per step never exhaust the band");

/* Draws allowed for one distinct priority.  At most CHOICES_MAX values are
 * in use out of nearly 2^64, so a draw collides with probability below
 * 2^-52; four collisions in a row mean the PRNG is broken. */
#define PCT_DRAWS_MAX 4

struct pct_event {
	uint32_t id;
	uint32_t choice;		/* fresh[] only: index in the choices */
	uint64_t prio;
};

struct pct_state {
	uint32_t depth;			/* d */
	uint64_t steps;			/* k, in decisions */
	uint32_t changes_count;		/* c = min(d - 1, k) */
	uint32_t changes_next;		/* the next change point to apply */
	uint64_t change_at[PCT_DEPTH_MAX];	/* increasing decision indices */
	uint64_t decision_next;		/* the decision pick expects next */

	uint64_t task_prio[TASKS_MAX];	/* 0: not seen yet */
	uint64_t yield_next;		/* rule 4's counter */
	uint32_t events_count;
	struct pct_event events[EVENTS_MAX];	/* invariant 3 */

	/* Scratch of one pick, here so that pick never allocates. */
	uint64_t prio[CHOICES_MAX];
	uint8_t alive[EVENTS_MAX];
	struct pct_event fresh[EVENTS_MAX];
};

static const struct strategy_ops pct_ops;

static struct pct_state *pct_of(const struct strategy *s)
{
	SIM_ASSERT(s->ops == &pct_ops);
	SIM_ASSERT(s->state != NULL);
	return s->state;
}

/* Index of event `id` in the sorted table, or UINT32_MAX. */
static uint32_t pct_event_find(const struct pct_state *st, uint32_t id)
{
	uint32_t lo = 0, hi = st->events_count;

	SIM_ASSERT(hi <= EVENTS_MAX);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (st->events[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < st->events_count && st->events[lo].id == id)
		return lo;
	return UINT32_MAX;
}

static bool pct_prio_in_use(const struct pct_state *st, uint64_t p,
			    const struct pct_event *fresh, uint32_t fresh_n)
{
	SIM_ASSERT(p >= PCT_INITIAL_MIN);
	SIM_ASSERT(fresh_n <= EVENTS_MAX);
	for (uint32_t i = 0; i < TASKS_MAX; i++)
		if (st->task_prio[i] == p)
			return true;
	for (uint32_t i = 0; i < st->events_count; i++)
		if (st->events[i].prio == p)
			return true;
	for (uint32_t i = 0; i < fresh_n; i++)
		if (fresh[i].prio == p)
			return true;
	return false;
}

/* Rule 1: a distinct initial priority for a newcomer. */
static uint64_t pct_draw_prio(struct strategy *s, const struct pct_event *fresh,
			      uint32_t fresh_n)
{
	struct pct_state *st = pct_of(s);

	for (int i = 0; i < PCT_DRAWS_MAX; i++) {
		uint64_t p = prng_range(&s->prng, PCT_INITIAL_MIN, UINT64_MAX);
		if (!pct_prio_in_use(st, p, fresh, fresh_n))
			return p;
	}
	SIM_ASSERT(!"pct: no distinct priority in PCT_DRAWS_MAX draws");
	return 0;
}

static void pct_check(const struct pct_state *st)
{
	SIM_ASSERT(st->changes_count < PCT_DEPTH_MAX);
	SIM_ASSERT(st->changes_next <= st->changes_count);
	for (uint32_t i = 0; i < TASKS_MAX; i++) {
		uint64_t p = st->task_prio[i];
		if (p > PCT_DROP_BASE && p < PCT_INITIAL_MIN)	/* invariant 2 */
			SIM_ASSERT(p <= PCT_DROP_BASE + st->changes_count);
		for (uint32_t j = i + 1; p != 0 && j < TASKS_MAX; j++)
			SIM_ASSERT(st->task_prio[j] != p);	/* invariant 1 */
		for (uint32_t j = 0; p != 0 && j < st->events_count; j++)
			SIM_ASSERT(st->events[j].prio != p);
	}
	for (uint32_t i = 0; i < st->events_count; i++) {
		SIM_ASSERT(st->events[i].prio != 0);
		if (i > 0)					/* invariant 3 */
			SIM_ASSERT(st->events[i - 1].id < st->events[i].id);
		for (uint32_t j = i + 1; j < st->events_count; j++)
			SIM_ASSERT(st->events[j].prio != st->events[i].prio);
	}
}

static void pct_begin(struct strategy *s, uint64_t run_seed, uint64_t index)
{
	struct pct_state *st = pct_of(s);
	uint64_t k = st->steps;
	uint32_t c = st->changes_count;

	(void)index;
	SIM_ASSERT(k >= 1);
	SIM_ASSERT(c == (st->depth - 1 < k ? st->depth - 1 : k));
	prng_seed(&s->prng, sim_stream_seed(run_seed, SIM_STREAM_STRATEGY));
	memset(st->task_prio, 0, sizeof(st->task_prio));
	st->yield_next = PCT_YIELD_TOP;
	st->events_count = 0;
	st->decision_next = 0;
	st->changes_next = 0;

	/* Rule 2, Floyd's algorithm: c draws give a uniformly random c-subset
	 * of [0, k).  Each is inserted in order, so change_at stays sorted. */
	uint32_t n = 0;
	for (uint64_t j = k - c; j < k; j++) {
		uint64_t t = prng_below(&s->prng, j + 1);
		for (uint32_t i = 0; i < n; i++)
			if (st->change_at[i] == t)
				t = j;
		uint32_t at = n++;
		while (at > 0 && st->change_at[at - 1] > t) {
			st->change_at[at] = st->change_at[at - 1];
			at--;
		}
		st->change_at[at] = t;
	}
	SIM_ASSERT(n == c);
	for (uint32_t i = 1; i < n; i++)
		SIM_ASSERT(st->change_at[i - 1] < st->change_at[i]);
}

/*
 * Give every choice its priority in st->prio[], drawing priorities for
 * newcomers (tasks in id order, then events in id order) and forgetting the
 * events that have fired or been cancelled since the last choice point.
 */
static void pct_assign(struct strategy *s, const struct choice_point *cp)
{
	struct pct_state *st = pct_of(s);
	uint32_t fresh_n = 0;

	SIM_ASSERT(cp->n <= CHOICES_MAX);
	memset(st->alive, 0, st->events_count);
	for (uint32_t i = 0; i < cp->n; i++) {
		const struct choice *c = &cp->choices[i];
		if (c->kind == CHOICE_TASK) {
			SIM_ASSERT(c->id < TASKS_MAX);
			st->prio[i] = st->task_prio[c->id];
			continue;
		}
		uint32_t at = pct_event_find(st, c->id);
		if (at != UINT32_MAX) {
			st->alive[at] = 1;
			st->prio[i] = st->events[at].prio;
		} else {
			SIM_ASSERT(fresh_n < EVENTS_MAX);
			st->fresh[fresh_n++] = (struct pct_event){
				.id = c->id, .choice = i, .prio = 0 };
		}
	}

	/* Every pending event is a choice at every choice point, and ids are
	 * never reused in a run, so an event missing here is gone for good. */
	uint32_t w = 0;
	for (uint32_t i = 0; i < st->events_count; i++)
		if (st->alive[i])
			st->events[w++] = st->events[i];
	st->events_count = w;

	/* Newcomer events in id order (creation order): a deterministic order
	 * that does not depend on the heap's layout.  Usually zero or one. */
	for (uint32_t i = 1; i < fresh_n; i++) {
		struct pct_event x = st->fresh[i];
		uint32_t j = i;
		while (j > 0 && st->fresh[j - 1].id > x.id) {
			st->fresh[j] = st->fresh[j - 1];
			j--;
		}
		st->fresh[j] = x;
	}

	for (uint32_t i = 0; i < cp->n; i++) {
		const struct choice *c = &cp->choices[i];
		if (c->kind == CHOICE_TASK && st->prio[i] == 0) {
			uint64_t p = pct_draw_prio(s, st->fresh, 0);
			st->task_prio[c->id] = p;
			st->prio[i] = p;
		}
	}
	for (uint32_t i = 0; i < fresh_n; i++) {
		const struct choice *c = &cp->choices[st->fresh[i].choice];
		uint64_t p;
		if (c->owner != TRACE_NO_TASK) {
			/* Rule 4: the sleeper and its timer give way. */
			SIM_ASSERT(c->owner < TASKS_MAX);
			SIM_ASSERT(st->yield_next > 1);
			/* Distinct values (invariant 1): the timer runs
			 * before the task it wakes, so it ranks above. */
			p = st->yield_next--;
			st->task_prio[c->owner] = st->yield_next--;
		} else {
			p = pct_draw_prio(s, st->fresh, i);
		}
		st->fresh[i].prio = p;
		st->prio[st->fresh[i].choice] = p;
	}

	/* Merge the newcomers into the sorted table from the back, in place. */
	SIM_ASSERT(st->events_count + fresh_n <= EVENTS_MAX);
	uint32_t a = st->events_count, b = fresh_n, out = a + b;
	while (b > 0) {
		if (a > 0 && st->events[a - 1].id > st->fresh[b - 1].id)
			st->events[--out] = st->events[--a];
		else
			st->events[--out] = st->fresh[--b];
	}
	st->events_count += fresh_n;
}

static uint32_t pct_highest(const struct pct_state *st, uint32_t n)
{
	uint32_t best = 0;

	SIM_ASSERT(n >= 1);
	for (uint32_t i = 1; i < n; i++) {
		SIM_ASSERT(st->prio[i] != st->prio[best]);	/* invariant 1 */
		if (st->prio[i] > st->prio[best])
			best = i;
	}
	SIM_ASSERT(st->prio[best] != 0);
	return best;
}

static uint32_t pct_pick(void *self, const struct choice_point *cp)
{
	struct strategy *s = self;
	struct pct_state *st = pct_of(s);

	SIM_ASSERT(cp->n >= 2);
	SIM_ASSERT(cp->decision == st->decision_next);
	st->decision_next++;
	pct_assign(s, cp);
	if (SIM_EXPENSIVE)
		pct_check(st);

	uint32_t best = pct_highest(st, cp->n);
	if (st->changes_next < st->changes_count &&
	    st->change_at[st->changes_next] == cp->decision) {
		/* Rule 3: drop the choice that would run below all others. */
		uint64_t low = PCT_DROP_BASE + st->changes_count - st->changes_next;
		const struct choice *c = &cp->choices[best];
		st->changes_next++;
		st->prio[best] = low;
		if (c->kind == CHOICE_TASK) {
			st->task_prio[c->id] = low;
		} else {
			uint32_t at = pct_event_find(st, c->id);
			SIM_ASSERT(at != UINT32_MAX);
			st->events[at].prio = low;
		}
		/* If every other choice is a sleeper or its timer (rule 4,
		 * below the drops), the dropped choice still runs: nothing
		 * else is ready to go ahead of it.  The drop stands. */
		best = pct_highest(st, cp->n);
	}
	return best;
}

static bool pct_end(struct strategy *s, const struct schedule_result *r)
{
	struct pct_state *st = pct_of(s);

	/* The engine asked once per decision, in order (a run that ended in
	 * an assertion or a stack overflow may have stopped inside a pick). */
	if (r->outcome != RUN_DIVERGED && r->outcome != RUN_ASSERT &&
	    r->outcome != RUN_STACK_OVERFLOW)
		SIM_ASSERT(r->decisions == st->decision_next);
	pct_check(st);
	return true;
}

static void pct_destroy(struct strategy *s)
{
	SIM_ASSERT(s->ops == &pct_ops);
	SIM_ASSERT(s->state != NULL);
	free(s->state);
	s->state = NULL;
}

static const struct strategy_ops pct_ops = {
	.name = "pct",
	.begin = pct_begin,
	.pick = pct_pick,
	.end = pct_end,
	.destroy = pct_destroy,
};

bool strategy_pct_init(struct strategy *s, char *err, size_t err_len)
{
	uint32_t d = s->params.pct_depth ? s->params.pct_depth
					 : PCT_DEPTH_DEFAULT;
	uint64_t k = s->params.pct_steps;

	SIM_ASSERT(s->params.kind == STRATEGY_PCT);
	SIM_ASSERT(s->state == NULL);
	if (d > PCT_DEPTH_MAX) {
		snprintf(err, err_len, "pct depth %u is above the limit %u",
			 d, (unsigned)PCT_DEPTH_MAX);
		return false;
	}
	if (k == 0) {
		snprintf(err, err_len,
			 "pct needs pct_steps, the estimated run length in decisions (a campaign measures it with campaign_estimate_pct_steps)");
		return false;
	}
	struct pct_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, err_len, "out of memory");
		return false;
	}
	st->depth = d;
	st->steps = k;
	st->changes_count = d - 1 < k ? d - 1 : (uint32_t)k;
	s->state = st;
	s->ops = &pct_ops;
	return true;
}
