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
 */
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

struct lockdep_state {
	/* deps[a][b]: a lock of class b taken while holding class a. */
	struct dep deps[LOCK_CLASSES_COUNT][LOCK_CLASSES_COUNT];
	bool used_read[LOCK_CLASSES_COUNT];
	bool used_write[LOCK_CLASSES_COUNT];
	uint32_t cycles_count;
	uint32_t cycles_dropped;
	struct lock_order_cycle cycles[LOCK_ORDER_REPORTS_MAX];

	/* Scratch, so that the hooks never allocate. */
	int8_t parent[LOCK_CLASSES_COUNT];
	uint8_t queue[LOCK_CLASSES_COUNT];
	uint8_t path[LOCK_CLASSES_COUNT];	/* next -> ... -> prev */
	struct lock_order_cycle scratch;
	char detail[FINDING_DETAIL_MAX];
};

static_assert(LOCK_CLASSES_COUNT < 127, "class ids fit the int8_t parents");

/* What is being acquired, or waited for. */
struct acquisition {
	const struct task *task;
	const struct task_mm *tm;
	uint32_t skip;			/* its own held index, or held_count */
	const struct lock_class *cls;
	enum lock_mode mode;
	const char *where;
};

/* ------------------------------------------------------------ printing */

static void lock_name(struct strbuf *b, const struct lockdep_state *st,
		      const struct lock_class *cls)
{
	char w = st->used_write[cls->id] ? '+' : '.';
	char r = st->used_read[cls->id] ? '+' : '.';
	int wait = cls->kind == LOCK_KIND_SPIN ? 2 : 3;

	strbuf_printf(b, "(%s){%c%c%c%c}-{%d:%d}", cls->name, w, r, w, r, wait,
		      wait);
}

static const struct lock_class *cls_of(uint32_t id)
{
	return lock_class_get((enum lock_class_id)id);
}

static void held_lines(struct strbuf *b, const struct lockdep_state *st,
		       const struct acquisition *a)
{
	uint32_t n = a->tm->held_count - (a->skip < a->tm->held_count);

	strbuf_printf(b, "%u lock%s held by %s/%u:\n", n, n == 1 ? "" : "s",
		      a->task->name, a->task->id);
	for (uint32_t i = 0, k = 0; i < a->tm->held_count; i++) {
		if (i == a->skip)
			continue;
		const struct held_lock *h = &a->tm->held[i];
		strbuf_printf(b, " #%u: ", k++);
		lock_name(b, st, h->lock->cls);
		strbuf_printf(b, ", at: %s\n", h->where);
	}
}

/*
 * The report for the new dependency prev -> a->cls, closing the cycle
 * st->path[0] (= a->cls) -> ... -> st->path[k] (= prev's class).
 */
static void build_report(struct lockdep_state *st, struct checkers *c,
			 const struct acquisition *a,
			 const struct held_lock *prev, uint32_t k,
			 struct strbuf *b)
{
	const struct lock_class *source = a->cls;
	const struct lock_class *target = prev->lock->cls;
	const struct lock_class *parent = cls_of(st->path[k - 1]);

	strbuf_puts(b, "\n======================================================\n");
	strbuf_puts(b, "WARNING: possible circular locking dependency detected\n");
	strbuf_puts(b, "------------------------------------------------------\n");
	strbuf_printf(b, "%s/%u is trying to acquire lock:\n", a->task->name,
		      a->task->id);
	strbuf_puts(b, " ");
	lock_name(b, st, source);
	strbuf_printf(b, ", at: %s\n\n", a->where);
	strbuf_puts(b, "but task is already holding lock:\n ");
	lock_name(b, st, target);
	strbuf_printf(b, ", at: %s\n\n", prev->where);
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
		      prev->where);
	strbuf_printf(b, "       task %s/%u, schedule %llu\n", a->task->name,
		      a->task->id, (unsigned long long)c->run_index);
	strbuf_puts(b, "\nother info that might help us debug this:\n\n");
	if (parent != source)
		strbuf_printf(b, "Chain exists of:\n  %s --> %s --> %s\n\n",
			      source->name, parent->name, target->name);
	strbuf_puts(b, " Possible unsafe locking scenario:\n\n");
	strbuf_puts(b, "       CPU0                    CPU1\n");
	strbuf_puts(b, "       ----                    ----\n");
	strbuf_printf(b, "  %s(%s);\n", prev->mode == LOCK_READ ? "rlock" : "lock",
		      target->name);
	strbuf_printf(b, "                               lock(%s);\n", parent->name);
	strbuf_printf(b, "                               lock(%s);\n", target->name);
	strbuf_printf(b, "  %s(%s);\n", a->mode == LOCK_READ ? "rlock" : "lock",
		      source->name);
	strbuf_puts(b, "\n *** DEADLOCK ***\n\n");
	held_lines(b, st, a);
}

static void build_detail(struct lockdep_state *st, struct checkers *c,
			 const struct acquisition *a,
			 const struct held_lock *prev, uint32_t k,
			 const char *report)
{
	struct jw w;

	jw_init(&w, st->detail, sizeof(st->detail));
	jw_arr_begin(&w, "cycle");
	jw_str(&w, NULL, prev->lock->cls->name);
	for (uint32_t j = 0; j < k; j++)
		jw_str(&w, NULL, cls_of(st->path[j])->name);
	jw_arr_end(&w);
	jw_str(&w, "task", a->task->name);
	jw_u64(&w, "task_id", a->task->id);
	jw_u64(&w, "schedule", c->run_index);
	jw_obj_begin(&w, "acquiring");
	jw_str(&w, "lock", a->cls->name);
	jw_str(&w, "op", lock_op_name(a->cls, a->mode));
	jw_str(&w, "mode", lock_mode_name(a->mode));
	jw_str(&w, "where", a->where);
	jw_obj_end(&w);
	jw_obj_begin(&w, "holding");
	jw_str(&w, "lock", prev->lock->cls->name);
	jw_str(&w, "mode", lock_mode_name(prev->mode));
	jw_str(&w, "where", prev->where);
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
static uint32_t find_path(struct lockdep_state *st, uint32_t from, uint32_t to)
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
static uint64_t cycle_signature(const struct lockdep_state *st, uint32_t k)
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

static void report_cycle(struct lockdep_state *st, struct checkers *c,
			 const struct acquisition *a,
			 const struct held_lock *prev, uint32_t k)
{
	uint64_t sig = cycle_signature(st, k);

	for (uint32_t i = 0; i < st->cycles_count; i++)
		if (st->cycles[i].signature == sig)
			return;
	struct lock_order_cycle *cy = st->cycles_count < LOCK_ORDER_REPORTS_MAX
					      ? &st->cycles[st->cycles_count++]
					      : &st->scratch;
	if (cy == &st->scratch)
		st->cycles_dropped++;
	memset(cy, 0, sizeof(*cy));
	cy->signature = sig;
	cy->schedule = c->run_index;
	cy->length = k + 1;

	struct strbuf b;
	strbuf_init(&b, cy->summary, sizeof(cy->summary));
	strbuf_printf(&b, "possible circular locking dependency detected: %s",
		      prev->lock->cls->name);
	for (uint32_t j = 0; j <= k; j++)
		strbuf_printf(&b, " -> %s", cls_of(st->path[j])->name);
	strbuf_printf(&b, "; %s/%u is trying to acquire %s in %s while holding %s (taken in %s)",
		      a->task->name, a->task->id, a->cls->name, a->where,
		      prev->lock->cls->name, prev->where);

	strbuf_init(&b, cy->report, sizeof(cy->report));
	build_report(st, c, a, prev, k, &b);
	build_detail(st, c, a, prev, k, cy->report);
	sim_report("lock_order", sig, st->detail, "%s", cy->summary);
}

static void add_dependency(struct lockdep_state *st, struct checkers *c,
			   const struct acquisition *a,
			   const struct held_lock *prev)
{
	uint32_t from = prev->lock->cls->id, to = a->cls->id;
	struct dep *d = &st->deps[from][to];

	SIM_ASSERT(from != to);
	if (d->present)
		return;
	/* Is there already a path back from the new lock to the held one?
	 * Then this dependency closes a cycle (check_noncircular). */
	uint32_t k = find_path(st, to, from);
	d->present = true;
	d->prev_mode = (uint8_t)prev->mode;
	d->next_mode = (uint8_t)a->mode;
	d->task_id = a->task->id;
	d->schedule = c->run_index;
	snprintf(d->task, sizeof(d->task), "%s", a->task->name);
	where_copy(d->prev_where, prev->where);
	where_copy(d->next_where, a->where);
	if (k)
		report_cycle(st, c, a, prev, k);
}

/* check_prevs_add: from the most recently taken held lock back. */
static void check_prevs(struct lockdep_state *st, struct checkers *c,
			const struct acquisition *a)
{
	if (a->mode == LOCK_READ)
		st->used_read[a->cls->id] = true;
	else
		st->used_write[a->cls->id] = true;
	for (uint32_t i = a->skip; i-- > 0;) {
		const struct held_lock *prev = &a->tm->held[i];
		if (prev->lock->cls != a->cls)
			add_dependency(st, c, a, prev);
		if (!prev->trylock)
			break;
	}
}

/* --------------------------------------------------------------- hooks */

static void lockdep_acquired(struct checkers *c, void *p, struct task *t,
			     const struct held_lock *h)
{
	struct lockdep_state *st = p;
	const struct task_mm *tm = checked_task_mm(t);

	SIM_ASSERT(tm != NULL);
	SIM_ASSERT(h >= tm->held && h < tm->held + tm->held_count);
	if (h->trylock) {
		if (h->mode == LOCK_READ)
			st->used_read[h->lock->cls->id] = true;
		else
			st->used_write[h->lock->cls->id] = true;
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

	if (dropped)
		*dropped = st->cycles_dropped;
	return st->cycles_count;
}

const struct lock_order_cycle *lockdep_checker_cycle(const void *p, uint32_t i)
{
	const struct lockdep_state *st = p;

	SIM_ASSERT(i < st->cycles_count);
	return &st->cycles[i];
}

const struct checker_ops lockdep_checker = {
	.name = "lock_order",
	.state_bytes = sizeof(struct lockdep_state),
	.acquired = lockdep_acquired,
	.wait_begin = lockdep_wait_begin,
};
