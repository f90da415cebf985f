/*
 * lockdep.c: the `lock_order` checker, lockdep's circular-dependency check
 * over the model's lock classes, kept across every run of a campaign.  A
 * dependency A -> B is recorded when a task takes (or starts waiting for) a
 * lock of class B while holding one of class A; a new dependency that
 * closes a cycle of classes is a possible deadlock even if no schedule
 * deadlocked, and is reported once per campaign in lockdep's words.  Not
 * the wait-for graph of the run (deadlock.c).
 *
 * Following kernel/locking/lockdep.c:
 *  - Dependencies are recorded before the task waits (at the lock hooks'
 *    wait_begin), as lock_acquire runs before the lock is contended, so a
 *    schedule that does deadlock still records the dependency that closed
 *    the cycle.  Acquisitions that did not wait record at `acquired`.
 *  - A trylock records no dependency (it cannot block, so cannot close a
 *    cycle); a lock taken while a trylocked lock is held does depend on it.
 *    As check_prevs_add does, the walk back through the held list adds a
 *    dependency from each held lock and stops after the first one that was
 *    not a trylock: the older ones already lead to it.
 *  - Read acquisitions of rw_semaphores are lockdep's plain "read" (read=1),
 *    not "recursive read" (read=2, rwlock_t readers): a queued writer makes
 *    a second reader wait, so a cycle through read acquisitions is a real
 *    deadlock (KERNEL.md pattern 4) and counts like any other.  No lock in
 *    the model is recursive-read, so the strong-path rule that lockdep
 *    applies to recursive reads never drops an edge here.
 *  - Two locks of one class nested (two folio locks, two ptls) add no
 *    dependency.  lockdep would report "possible recursive locking" unless
 *    the kernel annotates the nesting (nest_lock, a subclass); the model
 *    has no annotations, and the kernel nests both safely by other rules
 *    (folios in index order, ptls under one mm), so the check is left out
 *    rather than reported wrongly.  A task waiting on the very instance it
 *    holds is a real self-deadlock, and the deadlock checker reports it.
 *  - folio_wait_locked takes nothing, but waiting for a folio's unlock
 *    while holding A is a dependency A -> folio lock, as the kernel
 *    records for flush_work with a lockdep_map: it is recorded too.
 *  - downgrade_write keeps its place in the held list (locks.c), as
 *    lock_downgrade does, so locks taken under the write are not mistaken
 *    for locks taken before it.
 *
 * Reports follow print_circular_bug: the task and the two locks, the
 * existing dependency chain in reverse order (-> #N ... -> #0), lockdep's
 * two-CPU "Possible unsafe locking scenario" and the locks held.  Where
 * lockdep prints a stack trace, this prints the model function that took
 * each lock, the task and the schedule.  Usage bits {++++} say which modes
 * a class was used in (write, read; hardirq and softirq alike, as nothing
 * in the model runs in interrupt context); -{3:3} is the wait type
 * (sleeping locks 3, spinlocks 2).
 *
 * Signature: the cycle's lock classes in dependency order, rotated to the
 * smallest start.
 *
 * Events.  What the checker sees is reduced to the events that change the
 * graph: a class used in a mode for the first time (LOCKDEP_EV_USE) and a
 * dependency recorded for the first time (LOCKDEP_EV_DEP, with what a
 * report would print: the task, the functions, the other locks held).
 * Everything lockdep reports is a function of these events in order, so a
 * campaign split over processes (--jobs, --shard, --resume) can rebuild the
 * one graph a single process would have: each process logs the events that
 * are new to it (the first occurrence in the whole campaign is new to the
 * process that ran it), and the runner applies the union in (schedule,
 * seq) order to a fresh lockdep_graph, where a repeated event changes
 * nothing.  With checker_settings.lock_order_deferred the checker only
 * logs (checkers_lock_events) and reports nothing itself; otherwise it
 * applies each event at once and reports through sim_report, as before.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/checkers_int.h"

struct dep {
	bool present;
	uint8_t prev_mode;
	uint8_t next_mode;
	uint16_t task_id;
	uint64_t schedule;
	char task[TASK_NAME_MAX];
	char prev_where[WHERE_NAME_MAX];	/* where the held lock was taken */
	char next_where[WHERE_NAME_MAX];	/* where the new one was */
};

/* The campaign's graph: a function of the events applied to it. */
struct lockdep_graph {
	/* deps[a][b]: a lock of class b taken while holding class a. */
	struct dep deps[LOCK_CLASSES_COUNT][LOCK_CLASSES_COUNT];
	bool used_read[LOCK_CLASSES_COUNT];
	bool used_write[LOCK_CLASSES_COUNT];
	uint32_t cycles_count;
	uint32_t cycles_dropped;
	struct lock_order_cycle cycles[LOCK_ORDER_REPORTS_MAX];

	/* Scratch, so that applying an event never allocates. */
	int8_t parent[LOCK_CLASSES_COUNT];
	uint8_t queue[LOCK_CLASSES_COUNT];
	uint8_t path[LOCK_CLASSES_COUNT];	/* next -> ... -> prev */
	struct lock_order_cycle scratch;
	char detail[FINDING_DETAIL_MAX];
};

struct lockdep_state {
	struct lockdep_graph g;
	/* This run's events that were new to the graph (deferred mode). */
	uint32_t events_count;
	struct lockdep_event events[LOCKDEP_RUN_EVENTS_MAX];
	struct lockdep_event ev;		/* the one being built */
	struct finding found;
};

static_assert(LOCK_CLASSES_COUNT < 127, "class ids fit the int8_t parents");
static_assert(LOCKDEP_RUN_EVENTS_MAX >=
		      2 * LOCK_CLASSES_COUNT + LOCK_CLASSES_COUNT * LOCK_CLASSES_COUNT,
	      "a run can add every usage bit and every dependency");
static_assert(LOCKDEP_HELD_MAX >= HELD_LOCKS_MAX, "a report names every held lock");

/* ------------------------------------------------------------ printing */

static const struct lock_class *cls_of(uint32_t id)
{
	return lock_class_get((enum lock_class_id)id);
}

static void lock_name(struct strbuf *b, const struct lockdep_graph *st,
		      const struct lock_class *cls)
{
	char w = st->used_write[cls->id] ? '+' : '.';
	char r = st->used_read[cls->id] ? '+' : '.';
	int wait = cls->kind == LOCK_KIND_SPIN ? 2 : 3;

	strbuf_printf(b, "(%s){%c%c%c%c}-{%d:%d}", cls->name, w, r, w, r, wait,
		      wait);
}

static void held_lines(struct strbuf *b, const struct lockdep_graph *st,
		       const struct lockdep_event *a)
{
	uint32_t n = a->held_count;

	strbuf_printf(b, "%u lock%s held by %s/%u:\n", n, n == 1 ? "" : "s",
		      a->task, a->task_id);
	for (uint32_t k = 0; k < a->held_count; k++) {
		const struct lockdep_held *h = &a->held[k];
		strbuf_printf(b, " #%u: ", k);
		lock_name(b, st, cls_of(h->cls));
		strbuf_printf(b, ", at: %s\n", h->where);
	}
}

/*
 * The report for the new dependency a->prev_cls -> a->cls, closing the
 * cycle st->path[0] (= a->cls) -> ... -> st->path[k] (= prev's class).
 */
static void build_report(struct lockdep_graph *st, uint64_t schedule,
			 const struct lockdep_event *a, uint32_t k,
			 struct strbuf *b)
{
	const struct lock_class *source = cls_of(a->cls);
	const struct lock_class *target = cls_of(a->prev_cls);
	const struct lock_class *parent = cls_of(st->path[k - 1]);

	strbuf_puts(b, "\n======================================================\n");
	strbuf_puts(b, "WARNING: possible circular locking dependency detected\n");
	strbuf_puts(b, "------------------------------------------------------\n");
	strbuf_printf(b, "%s/%u is trying to acquire lock:\n", a->task,
		      a->task_id);
	strbuf_puts(b, " ");
	lock_name(b, st, source);
	strbuf_printf(b, ", at: %s\n\n", a->where);
	strbuf_puts(b, "but task is already holding lock:\n ");
	lock_name(b, st, target);
	strbuf_printf(b, ", at: %s\n\n", a->prev_where);
	strbuf_puts(b, "which lock already depends on the new lock.\n\n\n");
	strbuf_puts(b, "the existing dependency chain (in reverse order) is:\n");
	for (uint32_t j = k; j > 0; j--) {
		const struct dep *d = &st->deps[st->path[j - 1]][st->path[j]];
		const struct lock_class *cj = cls_of(st->path[j]);
		SIM_ASSERT(d->present);
		strbuf_printf(b, "\n-> #%u ", j);
		lock_name(b, st, cj);
		strbuf_printf(b, ":\n       %s in %s, holding %s (taken in %s)\n",
			      lock_op_name(cj, d->next_mode), d->next_where,
			      cls_of(st->path[j - 1])->name, d->prev_where);
		strbuf_printf(b, "       task %s/%u, schedule %llu\n", d->task,
			      d->task_id, (unsigned long long)d->schedule);
	}
	strbuf_puts(b, "\n-> #0 ");
	lock_name(b, st, source);
	strbuf_printf(b, ":\n       %s in %s, holding %s (taken in %s)\n",
		      lock_op_name(source, a->mode), a->where, target->name,
		      a->prev_where);
	strbuf_printf(b, "       task %s/%u, schedule %llu\n", a->task,
		      a->task_id, (unsigned long long)schedule);
	strbuf_puts(b, "\nother info that might help us debug this:\n\n");
	if (parent != source)
		strbuf_printf(b, "Chain exists of:\n  %s --> %s --> %s\n\n",
			      source->name, parent->name, target->name);
	strbuf_puts(b, " Possible unsafe locking scenario:\n\n");
	strbuf_puts(b, "       CPU0                    CPU1\n");
	strbuf_puts(b, "       ----                    ----\n");
	strbuf_printf(b, "  %s(%s);\n", a->prev_mode == LOCK_READ ? "rlock" : "lock",
		      target->name);
	strbuf_printf(b, "                               lock(%s);\n", parent->name);
	strbuf_printf(b, "                               lock(%s);\n", target->name);
	strbuf_printf(b, "  %s(%s);\n", a->mode == LOCK_READ ? "rlock" : "lock",
		      source->name);
	strbuf_puts(b, "\n *** DEADLOCK ***\n\n");
	held_lines(b, st, a);
}

static void build_detail(struct lockdep_graph *st, uint64_t schedule,
			 const struct lockdep_event *a, uint32_t k,
			 const char *report)
{
	const struct lock_class *acq = cls_of(a->cls);
	struct jw w;

	jw_init(&w, st->detail, sizeof(st->detail));
	jw_arr_begin(&w, "cycle");
	jw_str(&w, NULL, cls_of(a->prev_cls)->name);
	for (uint32_t j = 0; j < k; j++)
		jw_str(&w, NULL, cls_of(st->path[j])->name);
	jw_arr_end(&w);
	jw_str(&w, "task", a->task);
	jw_u64(&w, "task_id", a->task_id);
	jw_u64(&w, "schedule", schedule);
	jw_obj_begin(&w, "acquiring");
	jw_str(&w, "lock", acq->name);
	jw_str(&w, "op", lock_op_name(acq, a->mode));
	jw_str(&w, "mode", lock_mode_name(a->mode));
	jw_str(&w, "where", a->where);
	jw_obj_end(&w);
	jw_obj_begin(&w, "holding");
	jw_str(&w, "lock", cls_of(a->prev_cls)->name);
	jw_str(&w, "mode", lock_mode_name(a->prev_mode));
	jw_str(&w, "where", a->prev_where);
	jw_obj_end(&w);
	/* The existing dependencies, in dependency order. */
	jw_arr_begin(&w, "chain");
	for (uint32_t j = 1; j <= k; j++) {
		const struct dep *d = &st->deps[st->path[j - 1]][st->path[j]];
		jw_obj_begin(&w, NULL);
		jw_str(&w, "holding", cls_of(st->path[j - 1])->name);
		jw_str(&w, "holding_mode", lock_mode_name(d->prev_mode));
		jw_str(&w, "holding_taken_in", d->prev_where);
		jw_str(&w, "took", cls_of(st->path[j])->name);
		jw_str(&w, "took_mode", lock_mode_name(d->next_mode));
		jw_str(&w, "took_in", d->next_where);
		jw_str(&w, "task", d->task);
		jw_u64(&w, "schedule", d->schedule);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_str_fit(&w, "report", report);
	jw_finish(&w);
}

/* ----------------------------------------------------------- the graph */

/* A path from class `from` to class `to` over recorded dependencies,
 * shortest first, classes tried in id order; into st->path, returns its
 * number of edges (0: none). */
static uint32_t find_path(struct lockdep_graph *st, uint32_t from, uint32_t to)
{
	uint32_t head = 0, tail = 0;

	for (uint32_t i = 0; i < LOCK_CLASSES_COUNT; i++)
		st->parent[i] = -1;
	st->parent[from] = (int8_t)from;
	st->queue[tail++] = (uint8_t)from;
	while (head < tail) {
		uint32_t u = st->queue[head++];
		for (uint32_t v = 0; v < LOCK_CLASSES_COUNT; v++) {
			if (!st->deps[u][v].present || st->parent[v] >= 0)
				continue;
			st->parent[v] = (int8_t)u;
			if (v == to) {
				uint32_t len = 0;
				for (uint32_t x = v; x != from; x = (uint32_t)st->parent[x])
					len++;
				uint32_t at = len;
				for (uint32_t x = v;; x = (uint32_t)st->parent[x]) {
					st->path[at] = (uint8_t)x;
					if (x == from)
						break;
					at--;
				}
				SIM_ASSERT(at == 0);
				return len;
			}
			SIM_ASSERT(tail < LOCK_CLASSES_COUNT);
			st->queue[tail++] = (uint8_t)v;
		}
	}
	return 0;
}

/* The cycle prev -> path[0] -> ... -> path[k] (= prev), rotated to its
 * smallest class name. */
static uint64_t cycle_signature(const struct lockdep_graph *st, uint32_t k)
{
	uint32_t len = k + 1;	/* path[0..k], path[k] being prev's class */
	uint32_t best = 0;

	for (uint32_t r = 1; r < len; r++) {
		for (uint32_t m = 0; m < len; m++) {
			int cmp = strcmp(cls_of(st->path[(r + m) % len])->name,
					 cls_of(st->path[(best + m) % len])->name);
			if (cmp < 0)
				best = r;
			if (cmp)
				break;
		}
	}
	uint64_t sig = sim_signature("lock_order");
	for (uint32_t m = 0; m < len; m++) {
		sig = sim_signature_mix(sig, " -> ");
		sig = sim_signature_mix(sig, cls_of(st->path[(best + m) % len])->name);
	}
	return sig;
}

/* A new cycle closed by a: remember it and fill *out, the finding as
 * sim_report would make it.  False when its signature was seen before. */
static bool report_cycle(struct lockdep_graph *st, uint64_t schedule,
			 const struct lockdep_event *a, uint32_t k,
			 struct finding *out)
{
	uint64_t sig = cycle_signature(st, k);
	const struct lock_class *prev = cls_of(a->prev_cls);

	for (uint32_t i = 0; i < st->cycles_count; i++)
		if (st->cycles[i].signature == sig)
			return false;
	struct lock_order_cycle *cy = st->cycles_count < LOCK_ORDER_REPORTS_MAX
					      ? &st->cycles[st->cycles_count++]
					      : &st->scratch;
	if (cy == &st->scratch)
		st->cycles_dropped++;
	memset(cy, 0, sizeof(*cy));
	cy->signature = sig;
	cy->schedule = schedule;
	cy->length = k + 1;

	struct strbuf b;
	strbuf_init(&b, cy->summary, sizeof(cy->summary));
	strbuf_printf(&b, "possible circular locking dependency detected: %s",
		      prev->name);
	for (uint32_t j = 0; j <= k; j++)
		strbuf_printf(&b, " -> %s", cls_of(st->path[j])->name);
	strbuf_printf(&b, "; %s/%u is trying to acquire %s in %s while holding %s (taken in %s)",
		      a->task, a->task_id, cls_of(a->cls)->name, a->where,
		      prev->name, a->prev_where);

	strbuf_init(&b, cy->report, sizeof(cy->report));
	build_report(st, schedule, a, k, &b);
	build_detail(st, schedule, a, k, cy->report);

	memset(out, 0, sizeof(*out));
	snprintf(out->kind, sizeof(out->kind), "lock_order");
	out->signature = sig;
	out->step = a->step;
	out->time_ns = a->time_ns;
	out->task = a->finding_task;
	out->hits = 1;
	snprintf(out->summary, sizeof(out->summary), "%s", cy->summary);
	snprintf(out->detail, sizeof(out->detail), "%s", st->detail);
	return true;
}

/* Would ev change g?  (A repeated event is a no-op.) */
static bool event_is_new(const struct lockdep_graph *g,
			 const struct lockdep_event *ev)
{
	SIM_ASSERT(ev->cls < LOCK_CLASSES_COUNT);
	if (ev->kind == LOCKDEP_EV_USE)
		return ev->mode == LOCK_READ ? !g->used_read[ev->cls]
					     : !g->used_write[ev->cls];
	SIM_ASSERT(ev->kind == LOCKDEP_EV_DEP);
	SIM_ASSERT(ev->prev_cls < LOCK_CLASSES_COUNT);
	return !g->deps[ev->prev_cls][ev->cls].present;
}

bool lockdep_graph_apply(struct lockdep_graph *g, uint64_t schedule,
			 const struct lockdep_event *ev, struct finding *out)
{
	SIM_ASSERT(g != NULL && ev != NULL && out != NULL);
	if (!event_is_new(g, ev))
		return false;
	if (ev->kind == LOCKDEP_EV_USE) {
		if (ev->mode == LOCK_READ)
			g->used_read[ev->cls] = true;
		else
			g->used_write[ev->cls] = true;
		return false;
	}
	uint32_t from = ev->prev_cls, to = ev->cls;
	struct dep *d = &g->deps[from][to];

	SIM_ASSERT(from != to);
	/* Is there already a path back from the new lock to the held one?
	 * Then this dependency closes a cycle (check_noncircular). */
	uint32_t k = find_path(g, to, from);
	d->present = true;
	d->prev_mode = ev->prev_mode;
	d->next_mode = ev->mode;
	d->task_id = (uint16_t)ev->task_id;
	d->schedule = schedule;
	snprintf(d->task, sizeof(d->task), "%s", ev->task);
	where_copy(d->prev_where, ev->prev_where);
	where_copy(d->next_where, ev->where);
	return k && report_cycle(g, schedule, ev, k, out);
}

struct lockdep_graph *lockdep_graph_create(void)
{
	return calloc(1, sizeof(struct lockdep_graph));
}

void lockdep_graph_destroy(struct lockdep_graph *g)
{
	free(g);
}

uint32_t lockdep_graph_cycles(const struct lockdep_graph *g, uint32_t *dropped)
{
	if (dropped)
		*dropped = g->cycles_dropped;
	return g->cycles_count;
}

const struct lock_order_cycle *lockdep_graph_cycle(const struct lockdep_graph *g,
						   uint32_t i)
{
	SIM_ASSERT(i < g->cycles_count);
	return &g->cycles[i];
}

/* ------------------------------------------------------ the checker */

/* Apply st->ev: report at once, or log it for the runner (deferred). */
static void emit(struct lockdep_state *st, struct checkers *c)
{
	const struct lockdep_event *ev = &st->ev;

	if (!event_is_new(&st->g, ev))
		return;
	if (c->settings.lock_order_deferred) {
		SIM_ASSERT(st->events_count < LOCKDEP_RUN_EVENTS_MAX);
		st->events[st->events_count++] = *ev;
	}
	if (lockdep_graph_apply(&st->g, c->run_index, ev, &st->found) &&
	    !c->settings.lock_order_deferred)
		sim_report("lock_order", st->found.signature, st->found.detail,
			   "%s", st->found.summary);
}

static void emit_use(struct lockdep_state *st, struct checkers *c,
		     const struct lock_class *cls, enum lock_mode mode)
{
	st->ev.kind = LOCKDEP_EV_USE;
	st->ev.cls = (uint8_t)cls->id;
	st->ev.mode = (uint8_t)mode;
	emit(st, c);
}

/* What is being acquired, or waited for. */
struct acquisition {
	const struct task *task;
	const struct task_mm *tm;
	uint32_t skip;			/* its own held index, or held_count */
	const struct lock_class *cls;
	enum lock_mode mode;
	const char *where;
};

/* The dependency prev -> a, with what a report of it would print. */
static void emit_dep(struct lockdep_state *st, struct checkers *c,
		     const struct acquisition *a, const struct held_lock *prev)
{
	struct lockdep_event *ev = &st->ev;

	ev->kind = LOCKDEP_EV_DEP;
	ev->cls = (uint8_t)a->cls->id;
	ev->mode = (uint8_t)a->mode;
	ev->prev_cls = (uint8_t)prev->lock->cls->id;
	ev->prev_mode = (uint8_t)prev->mode;
	/* Most are seen before: only a new one pays for the copy below. */
	if (!event_is_new(&st->g, ev))
		return;
	ev->task_id = a->task->id;
	snprintf(ev->task, sizeof(ev->task), "%s", a->task->name);
	where_copy(ev->where, a->where);
	where_copy(ev->prev_where, prev->where);
	ev->step = sim->steps;
	ev->time_ns = sim_now();
	ev->finding_task = sim->current ? sim->current->id : TRACE_NO_TASK;
	ev->finding_pos = sim->findings_count;
	ev->held_count = 0;
	for (uint32_t i = 0; i < a->tm->held_count; i++) {
		if (i == a->skip)
			continue;
		const struct held_lock *h = &a->tm->held[i];
		struct lockdep_held *out = &ev->held[ev->held_count++];
		out->cls = (uint8_t)h->lock->cls->id;
		out->mode = (uint8_t)h->mode;
		where_copy(out->where, h->where);
	}
	emit(st, c);
}

/* check_prevs_add: from the most recently taken held lock back. */
static void check_prevs(struct lockdep_state *st, struct checkers *c,
			const struct acquisition *a)
{
	emit_use(st, c, a->cls, a->mode);
	for (uint32_t i = a->skip; i-- > 0;) {
		const struct held_lock *prev = &a->tm->held[i];
		if (prev->lock->cls != a->cls)
			emit_dep(st, c, a, prev);
		if (!prev->trylock)
			break;
	}
}

/* --------------------------------------------------------------- hooks */

static void lockdep_run_begin(struct checkers *c, void *p, struct engine *e)
{
	struct lockdep_state *st = p;

	(void)c;
	(void)e;
	st->events_count = 0;
}

static void lockdep_acquired(struct checkers *c, void *p, struct task *t,
			     const struct held_lock *h)
{
	struct lockdep_state *st = p;
	const struct task_mm *tm = checked_task_mm(t);

	SIM_ASSERT(tm != NULL);
	SIM_ASSERT(h >= tm->held && h < tm->held + tm->held_count);
	if (h->trylock) {
		emit_use(st, c, h->lock->cls, h->mode);
		return;
	}
	struct acquisition a = {
		.task = t, .tm = tm, .skip = (uint32_t)(h - tm->held),
		.cls = h->lock->cls, .mode = h->mode, .where = h->where,
	};
	check_prevs(st, c, &a);
}

static void lockdep_wait_begin(struct checkers *c, void *p, struct task *t,
			       struct lock_common *l, enum lock_mode mode,
			       const char *where)
{
	struct lockdep_state *st = p;
	const struct task_mm *tm = checked_task_mm(t);

	SIM_ASSERT(tm != NULL);
	SIM_ASSERT(tm->waiting_on == l);
	struct acquisition a = {
		.task = t, .tm = tm, .skip = tm->held_count,
		.cls = l->cls, .mode = mode, .where = where,
	};
	check_prevs(st, c, &a);
}

uint32_t lockdep_checker_cycles(const void *p, uint32_t *dropped)
{
	const struct lockdep_state *st = p;

	return lockdep_graph_cycles(&st->g, dropped);
}

const struct lock_order_cycle *lockdep_checker_cycle(const void *p, uint32_t i)
{
	const struct lockdep_state *st = p;

	return lockdep_graph_cycle(&st->g, i);
}

uint32_t lockdep_checker_events(const void *p,
				const struct lockdep_event **events)
{
	const struct lockdep_state *st = p;

	*events = st->events;
	return st->events_count;
}

/* ------------------------------------------------------------ encoding */

/*
 * One event as text for the database's lock_event table: a first line of
 * numbers, then one line per string (task, where, prev_where) and one per
 * held lock ("class mode where").  Class and mode are this simrun's
 * numbers (enum lock_class_id, enum lock_mode); function names hold no
 * newline.
 */
bool lockdep_event_encode(const struct lockdep_event *ev, char *buf,
			  size_t len)
{
	struct strbuf b;

	strbuf_init(&b, buf, len);
	if (ev->kind == LOCKDEP_EV_USE) {
		strbuf_printf(&b, "use %u %u", ev->cls, ev->mode);
	} else {
		strbuf_printf(&b, "dep %u %u %u %u %u %" PRIu64 " %" PRIu64
			      " %u %u %u\n%s\n%s\n%s",
			      ev->cls, ev->mode, ev->prev_cls, ev->prev_mode,
			      ev->task_id, ev->step, ev->time_ns,
			      ev->finding_task, ev->finding_pos,
			      ev->held_count, ev->task,
			      ev->where, ev->prev_where);
		for (uint32_t i = 0; i < ev->held_count; i++)
			strbuf_printf(&b, "\n%u %u %s", ev->held[i].cls,
				      ev->held[i].mode, ev->held[i].where);
	}
	return !b.truncated;
}

/* Copy one line of *p into dst (cut to len), move *p past it. */
static bool take_line(const char **p, char *dst, size_t len)
{
	const char *nl = strchr(*p, '\n');
	size_t n = nl ? (size_t)(nl - *p) : strlen(*p);

	if (n >= len)
		return false;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p += n + (nl ? 1 : 0);
	return true;
}

static bool valid_mode(unsigned m)
{
	return m == LOCK_READ || m == LOCK_WRITE;
}

bool lockdep_event_decode(const char *text, struct lockdep_event *ev)
{
	unsigned cls, mode, pcls, pmode, task_id, ftask, pos, held;
	char line[128];
	int used = 0;

	memset(ev, 0, sizeof(*ev));
	if (sscanf(text, "use %u %u%n", &cls, &mode, &used) == 2 &&
	    text[used] == '\0') {
		if (cls >= LOCK_CLASSES_COUNT || !valid_mode(mode))
			return false;
		ev->kind = LOCKDEP_EV_USE;
		ev->cls = (uint8_t)cls;
		ev->mode = (uint8_t)mode;
		return true;
	}
	const char *p = text;
	if (!take_line(&p, line, sizeof(line)) ||
	    sscanf(line, "dep %u %u %u %u %u %" SCNu64 " %" SCNu64 " %u %u %u",
		   &cls, &mode, &pcls, &pmode, &task_id, &ev->step,
		   &ev->time_ns, &ftask, &pos, &held) != 10)
		return false;
	if (cls >= LOCK_CLASSES_COUNT || pcls >= LOCK_CLASSES_COUNT ||
	    cls == pcls || !valid_mode(mode) || !valid_mode(pmode) ||
	    held > LOCKDEP_HELD_MAX)
		return false;
	ev->kind = LOCKDEP_EV_DEP;
	ev->cls = (uint8_t)cls;
	ev->mode = (uint8_t)mode;
	ev->prev_cls = (uint8_t)pcls;
	ev->prev_mode = (uint8_t)pmode;
	ev->task_id = task_id;
	ev->finding_task = ftask;
	ev->finding_pos = pos;
	ev->held_count = held;
	if (!take_line(&p, ev->task, sizeof(ev->task)) ||
	    !take_line(&p, ev->where, sizeof(ev->where)) ||
	    !take_line(&p, ev->prev_where, sizeof(ev->prev_where)))
		return false;
	for (uint32_t i = 0; i < held; i++) {
		struct lockdep_held *h = &ev->held[i];
		int n = 0;
		if (!take_line(&p, line, sizeof(line)) ||
		    sscanf(line, "%u %u %n", &cls, &mode, &n) != 2 ||
		    cls >= LOCK_CLASSES_COUNT || !valid_mode(mode) ||
		    strlen(line + n) >= sizeof(h->where))
			return false;
		h->cls = (uint8_t)cls;
		h->mode = (uint8_t)mode;
		snprintf(h->where, sizeof(h->where), "%s", line + n);
	}
	return *p == '\0';
}

const struct checker_ops lockdep_checker = {
	.name = "lock_order",
	.state_bytes = sizeof(struct lockdep_state),
	.run_begin = lockdep_run_begin,
	.acquired = lockdep_acquired,
	.wait_begin = lockdep_wait_begin,
};
