/*
 * deadlock.c: the `deadlock` checker.  Whenever a task blocks on a lock,
 * look for a cycle in the wait-for graph through it, so that a deadlock of
 * some tasks is reported the moment it forms, while the others still run.
 * Edges (waitfor.c): task -> the holders of the lock it is blocked on, and
 * a reader -> the writers queued ahead of it on an rw_semaphore (the edge
 * that makes pattern 4 of KERNEL.md a deadlock).  A task blocked on a lock
 * it holds itself (the fuse write path's folio) is a cycle of one.  When a
 * run ends with every task stuck (RUN_DEADLOCK) the checker looks again,
 * and if there is no cycle it reports the stuck tasks and what they wait
 * for (a lock held by a task that exited, I/O that never completes).
 *
 * Why checking at block time suffices: a deadlock needs every task of the
 * cycle blocked, and an edge between two blocked tasks only appears when
 * one of them blocks (a lock handed to a waiter makes it runnable).  So
 * the last task of a cycle to block closes it, and the search from that
 * task finds it.  The search is a breadth-first search, so it reports the
 * shortest cycle through the task, in task-id order on ties.
 *
 * Signature: the cycle's (lock class, model function where the task waits)
 * pairs in wait-for order, rotated to the lexicographically smallest start.
 * Task names, ids, lock instances and the schedule do not enter it, so the
 * same deadlock in any schedule or any task order is one signature.
 *
 * Not lock order (lockdep.c): that one finds deadlocks that could happen;
 * this one finds those that did.
 */
#include <string.h>

#include "analysis/checkers_int.h"

struct deadlock_state {
	/* Signatures reported in the run in progress: the run-end pass
	 * reports only cycles the block-time checks did not. */
	uint64_t reported[FINDINGS_PER_RUN_MAX];
	uint32_t reported_count;

	/* Scratch for the search and the report, here so that a hook never
	 * allocates. */
	struct waitfor_edge edges[TASKS_MAX];
	int32_t parent[TASKS_MAX];
	uint8_t via[TASKS_MAX];
	uint16_t queue[TASKS_MAX];
	struct task *cycle[TASKS_MAX];
	uint8_t cycle_why[TASKS_MAX];	/* cycle[i] -> cycle[i + 1] */
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
};

static const char *why_text(enum waitfor_why why)
{
	return why == WAITFOR_QUEUED_WRITER ? "writer queued ahead" : "holder";
}

/*
 * The shortest cycle through `start` in the wait-for graph, into
 * st->cycle (cycle[0] = start); returns its length, 0 when there is none.
 */
static uint32_t find_cycle(struct deadlock_state *st, const struct engine *e,
			   struct task *start)
{
	uint32_t head = 0, tail = 0;

	for (uint32_t i = 0; i < e->tasks_count; i++)
		st->parent[i] = -1;
	st->queue[tail++] = start->id;
	st->parent[start->id] = start->id;
	while (head < tail) {
		struct task *u = (struct task *)&e->tasks[st->queue[head++]];
		uint32_t n = waitfor_edges(e, u, st->edges);
		for (uint32_t k = 0; k < n; k++) {
			struct task *v = st->edges[k].to;
			if (v == start) {
				/* start -> ... -> u -> start */
				uint32_t len = 0;
				for (struct task *x = u; x != start;
				     x = (struct task *)&e->tasks[st->parent[x->id]])
					st->cycle[len++] = x;
				st->cycle[len++] = start;
				/* Reverse into wait-for order from start. */
				for (uint32_t a = 0, b = len - 1; a < b; a++, b--) {
					struct task *tmp = st->cycle[a];
					st->cycle[a] = st->cycle[b];
					st->cycle[b] = tmp;
				}
				for (uint32_t i = 0; i + 1 < len; i++)
					st->cycle_why[i] = st->via[st->cycle[i + 1]->id];
				st->cycle_why[len - 1] = (uint8_t)st->edges[k].why;
				SIM_ASSERT(st->cycle[0] == start);
				return len;
			}
			if (st->parent[v->id] >= 0)
				continue;
			st->parent[v->id] = u->id;
			st->via[v->id] = (uint8_t)st->edges[k].why;
			SIM_ASSERT(tail < TASKS_MAX);
			st->queue[tail++] = v->id;
		}
	}
	return 0;
}

/* Element i of the cycle for the signature: what cycle[i] waits on. */
static int elem_cmp(const struct deadlock_state *st, uint32_t i, uint32_t j)
{
	const struct task_mm *a = checked_task_mm(st->cycle[i]);
	const struct task_mm *b = checked_task_mm(st->cycle[j]);
	int c = strcmp(a->waiting_on->cls->name, b->waiting_on->cls->name);
	return c ? c : strcmp(a->waiting_where, b->waiting_where);
}

static uint64_t cycle_signature(const struct deadlock_state *st, uint32_t len)
{
	uint32_t best = 0;

	for (uint32_t r = 1; r < len; r++) {
		for (uint32_t m = 0; m < len; m++) {
			int c = elem_cmp(st, (r + m) % len, (best + m) % len);
			if (c < 0)
				best = r;
			if (c)
				break;
		}
	}
	uint64_t sig = sim_signature("deadlock");
	for (uint32_t m = 0; m < len; m++) {
		const struct task_mm *tm = checked_task_mm(st->cycle[(best + m) % len]);
		sig = sim_signature_mix(sig, " -> ");
		sig = sim_signature_mix(sig, tm->waiting_on->cls->name);
		sig = sim_signature_mix(sig, "@");
		sig = sim_signature_mix(sig, tm->waiting_where);
	}
	return sig;
}

static bool already_reported(struct deadlock_state *st, uint64_t sig)
{
	for (uint32_t i = 0; i < st->reported_count; i++)
		if (st->reported[i] == sig)
			return true;
	if (st->reported_count < FINDINGS_PER_RUN_MAX)
		st->reported[st->reported_count++] = sig;
	return false;
}

/* The held entry of l in t, or NULL. */
static const struct held_lock *held_entry(const struct task *t,
					  const struct lock_common *l)
{
	const struct task_mm *tm = checked_task_mm(t);

	for (uint32_t i = tm->held_count; i-- > 0;)
		if (tm->held[i].lock == l)
			return &tm->held[i];
	return NULL;
}

static void cycle_summary(struct deadlock_state *st, uint32_t len)
{
	struct strbuf b;

	strbuf_init(&b, st->summary, sizeof(st->summary));
	if (len == 1) {
		struct task *t = st->cycle[0];
		const struct task_mm *tm = checked_task_mm(t);
		const struct held_lock *h = held_entry(t, tm->waiting_on);
		strbuf_printf(&b, "deadlock: %s waits in %s (%s) for %s, which it holds itself",
			      t->name,
			      lock_op_name(tm->waiting_on->cls, tm->waiting_mode),
			      tm->waiting_where, tm->waiting_on->cls->name);
		if (h)
			strbuf_printf(&b, " (%s, taken in %s)",
				      lock_mode_name(h->mode), h->where);
		return;
	}
	strbuf_puts(&b, "deadlock: ");
	for (uint32_t i = 0; i < len; i++) {
		const struct task *t = st->cycle[i];
		const struct task *next = st->cycle[(i + 1) % len];
		const struct task_mm *tm = checked_task_mm(t);
		strbuf_printf(&b, "%s%s waits in %s (%s) %s %s", i ? "; " : "",
			      t->name,
			      lock_op_name(tm->waiting_on->cls, tm->waiting_mode),
			      tm->waiting_where,
			      st->cycle_why[i] == WAITFOR_QUEUED_WRITER
				      ? "behind queued writer"
				      : "for",
			      next->name);
	}
}

static void cycle_detail(struct deadlock_state *st, const struct engine *e,
			 uint32_t len)
{
	struct jw w;

	jw_init(&w, st->detail, sizeof(st->detail));
	jw_u64(&w, "tasks", len);
	jw_u64(&w, "time_ns", sim_now());
	jw_u64(&w, "step", e->steps);
	jw_arr_begin(&w, "cycle");
	for (uint32_t i = 0; i < len; i++) {
		const struct task *t = st->cycle[i];
		const struct task *next = st->cycle[(i + 1) % len];
		jw_obj_begin(&w, NULL);
		jw_str(&w, "task", t->name);
		jw_u64(&w, "task_id", t->id);
		jw_u64(&w, "cpu", t->cpu);
		json_wait(&w, "waits", t);
		jw_str(&w, "waits_for", next->name);
		jw_u64(&w, "waits_for_id", next->id);
		jw_str(&w, "because", why_text(st->cycle_why[i]));
		json_held_locks(&w, "holds", t);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_finish(&w);
}

static void report_cycle(struct deadlock_state *st, const struct engine *e,
			 uint32_t len)
{
	uint64_t sig = cycle_signature(st, len);

	if (already_reported(st, sig))
		return;
	cycle_summary(st, len);
	cycle_detail(st, e, len);
	sim_report("deadlock", sig, st->detail, "%s", st->summary);
}

static void deadlock_run_begin(struct checkers *c, void *p, struct engine *e)
{
	struct deadlock_state *st = p;

	(void)c;
	(void)e;
	st->reported_count = 0;
}

static void deadlock_block(struct checkers *c, void *p, struct task *t,
			   struct waitq *wq)
{
	struct deadlock_state *st = p;

	if (!wq || !waitfor_lock(t))
		return;
	SIM_ASSERT(t->wq == wq);
	uint32_t len = find_cycle(st, c->engine, t);
	if (len)
		report_cycle(st, c->engine, len);
}

/* ------------------------------------------- every task stuck, no cycle */

/* What a stuck task waits on, for the signature: "class@where", or a
 * fixed word when it is not a lock. */
static void stuck_elem(const struct task *t, const char **a, const char **b)
{
	const struct lock_common *l = waitfor_lock(t);

	if (l) {
		*a = l->cls->name;
		*b = checked_task_mm(t)->waiting_where;
	} else if (t->state == TASK_BLOCKED) {
		*a = "waitq";
		*b = "";
	} else {
		*a = "runnable";
		*b = "";
	}
}

static int stuck_cmp(const struct task *x, const struct task *y)
{
	const char *xa, *xb, *ya, *yb;

	stuck_elem(x, &xa, &xb);
	stuck_elem(y, &ya, &yb);
	int c = strcmp(xa, ya);
	return c ? c : strcmp(xb, yb);
}

static void stuck_describe(struct deadlock_state *st, const struct engine *e,
			   const struct task *t, struct strbuf *b)
{
	const struct lock_common *l = waitfor_lock(t);

	if (!l) {
		if (t->state == TASK_BLOCKED)
			strbuf_printf(b, "%s waits on a wait queue (object %u) nobody will wake",
				      t->name, t->wq ? t->wq->obj : 0);
		else
			strbuf_printf(b, "%s cannot get its CPU", t->name);
		return;
	}
	const struct task_mm *tm = checked_task_mm(t);
	strbuf_printf(b, "%s waits in %s (%s) for ", t->name,
		      lock_op_name(l->cls, tm->waiting_mode), tm->waiting_where);
	uint32_t n = waitfor_edges(e, t, st->edges);
	if (n == 0) {
		strbuf_puts(b, l->cls->id == LC_FOLIO_LOCK ? "I/O that never completes"
							  : "nobody");
		return;
	}
	for (uint32_t k = 0; k < n; k++) {
		const struct task *h = st->edges[k].to;
		strbuf_printf(b, "%s%s%s", k ? ", " : "", h->name,
			      h->state == TASK_EXITED ? " (exited)" : "");
	}
}

static void report_stuck(struct deadlock_state *st, const struct engine *e)
{
	uint32_t n = 0;

	/* The stuck tasks, sorted by what they wait on (insertion sort of
	 * at most TASKS_MAX; ties keep task-id order). */
	for (uint32_t i = 0; i < e->tasks_count; i++) {
		struct task *t = (struct task *)&e->tasks[i];
		if (t->state == TASK_EXITED || t->state == TASK_FREE)
			continue;
		uint32_t at = n++;
		while (at > 0 && stuck_cmp(st->cycle[at - 1], t) > 0) {
			st->cycle[at] = st->cycle[at - 1];
			at--;
		}
		st->cycle[at] = t;
	}
	SIM_ASSERT(n > 0);
	uint64_t sig = sim_signature("deadlock: no cycle");
	for (uint32_t i = 0; i < n; i++) {
		const char *a, *b;
		stuck_elem(st->cycle[i], &a, &b);
		sig = sim_signature_mix(sig, " | ");
		sig = sim_signature_mix(sig, a);
		sig = sim_signature_mix(sig, "@");
		sig = sim_signature_mix(sig, b);
	}
	if (already_reported(st, sig))
		return;

	struct strbuf sb;
	strbuf_init(&sb, st->summary, sizeof(st->summary));
	strbuf_puts(&sb, "deadlock: no task can run and there is no wait-for cycle: ");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			strbuf_puts(&sb, "; ");
		stuck_describe(st, e, st->cycle[i], &sb);
	}

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_u64(&w, "tasks", n);
	jw_u64(&w, "time_ns", sim_now());
	jw_u64(&w, "step", e->steps);
	jw_arr_begin(&w, "stuck");
	for (uint32_t i = 0; i < n; i++) {
		const struct task *t = st->cycle[i];
		jw_obj_begin(&w, NULL);
		jw_str(&w, "task", t->name);
		jw_u64(&w, "task_id", t->id);
		jw_str(&w, "state", t->state == TASK_BLOCKED ? "blocked" : "runnable");
		json_wait(&w, "waits", t);
		uint32_t m = waitfor_edges(e, t, st->edges);
		jw_arr_begin(&w, "waits_for");
		for (uint32_t k = 0; k < m; k++) {
			jw_obj_begin(&w, NULL);
			jw_str(&w, "task", st->edges[k].to->name);
			jw_u64(&w, "task_id", st->edges[k].to->id);
			jw_bool(&w, "exited", st->edges[k].to->state == TASK_EXITED);
			jw_str(&w, "because", why_text(st->edges[k].why));
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		json_held_locks(&w, "holds", t);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_finish(&w);
	sim_report("deadlock", sig, st->detail, "%s", st->summary);
}

static void deadlock_run_end(struct checkers *c, void *p, struct engine *e,
			     enum run_outcome o)
{
	struct deadlock_state *st = p;
	bool cycle = st->reported_count > 0;

	(void)c;
	if (o != RUN_DEADLOCK)
		return;
	/* Every cycle should have been reported when it closed; look again
	 * so that the outcome never stands without a finding. */
	for (uint32_t i = 0; i < e->tasks_count; i++) {
		struct task *t = &e->tasks[i];
		if (!waitfor_lock(t))
			continue;
		uint32_t len = find_cycle(st, e, t);
		if (len) {
			cycle = true;
			report_cycle(st, e, len);
		}
	}
	if (!cycle) {
		SIM_MARK("deadlock: every task stuck, no wait-for cycle");
		report_stuck(st, e);
	}
}

const struct checker_ops deadlock_checker = {
	.name = "deadlock",
	.state_bytes = sizeof(struct deadlock_state),
	.run_begin = deadlock_run_begin,
	.block = deadlock_block,
	.run_end = deadlock_run_end,
};
