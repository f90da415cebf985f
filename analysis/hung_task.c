/*
 * hung_task.c: the `hung_task` checker, the kernel's hung-task detector
 * (kernel/hung_task.c) in virtual time: a task blocked on a wait queue (a
 * lock, a folio, writeback) for at least hung_task_timeout_ns is reported
 * as "INFO: task NAME:ID blocked for more than N seconds.", with what it
 * waits for and who holds it.  Not deadlock detection: a hung task may be
 * waiting behind a very slow disk, and a deadlocked run's clock stops, so
 * its tasks are hung only if they had waited long enough already.
 *
 * What counts as blocked: waiting on a wait queue.  A task in sim_sleep
 * models time spent computing or in a device the model charges as a
 * delay, not a sleep on something another task must release, so it is not
 * watched (the kernel's detector would see an uninterruptible msleep, but
 * nothing in the model sleeps that way).
 *
 * Blocked since: the task's last block (task->blocked_ns), as the kernel
 * measures from the last context switch: a queued rwsem writer woken to
 * compete and queued again starts a new episode, in both.
 *
 * When: khungtaskd wakes periodically; here the check runs at the hooks
 * that come anyway (every block and wake, and the end of the run), and
 * only scans the tasks when the earliest deadline has passed, so the step
 * loop pays nothing.  A task is reported once per blocking episode; the
 * time of the finding is when the check saw it, no earlier than its
 * deadline.
 *
 * Signature: what it is blocked on, (lock class, model function), or the
 * wait queue kind when it is not a lock.
 */
#include "analysis/checkers_int.h"

struct hung_state {
	uint64_t next_ns;		/* no deadline is earlier than this */
	bool reported[TASKS_MAX];	/* in the current blocking episode */
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
	struct waitfor_edge edges[TASKS_MAX];
};

static uint64_t deadline(uint64_t since, uint64_t timeout)
{
	return since + timeout < since ? UINT64_MAX : since + timeout;
}

/* "120 seconds", or with the fraction a test's short threshold needs. */
static void seconds(struct strbuf *b, uint64_t ns)
{
	uint64_t whole = ns / 1000000000ull, frac = ns % 1000000000ull;

	if (frac == 0) {
		strbuf_printf(b, "%llu seconds", (unsigned long long)whole);
		return;
	}
	char digits[10];
	for (int i = 8; i >= 0; i--) {
		digits[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	int end = 9;
	while (end > 1 && digits[end - 1] == '0')
		end--;
	digits[end] = '\0';
	strbuf_printf(b, "%llu.%s seconds", (unsigned long long)whole, digits);
}

static void report(struct hung_state *st, struct checkers *c, struct task *t,
		   uint64_t now)
{
	const struct task_mm *tm = checked_task_mm(t);
	const struct lock_common *l = tm ? tm->waiting_on : NULL;
	uint64_t timeout = c->settings.hung_task_timeout_ns;
	bool still = t->state == TASK_BLOCKED;
	uint32_t n = still ? waitfor_edges(c->engine, t, st->edges) : 0;

	st->reported[t->id] = true;

	struct strbuf b;
	strbuf_init(&b, st->summary, sizeof(st->summary));
	strbuf_printf(&b, "INFO: task %s:%u blocked for more than ", t->name,
		      t->id);
	seconds(&b, timeout);
	strbuf_puts(&b, ".");
	if (l) {
		strbuf_printf(&b, " It waits in %s (%s) for %s",
			      lock_op_name(l->cls, tm->waiting_mode),
			      tm->waiting_where, l->cls->name);
		for (uint32_t k = 0; k < n; k++)
			strbuf_printf(&b, "%s %s", k ? "," : " held by",
				      st->edges[k].to->name);
		strbuf_puts(&b, ".");
	}

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_str(&w, "task", t->name);
	jw_u64(&w, "task_id", t->id);
	jw_u64(&w, "blocked_since_ns", t->blocked_ns);
	jw_u64(&w, "blocked_for_ns", now - t->blocked_ns);
	jw_u64(&w, "timeout_ns", timeout);
	jw_bool(&w, "still_blocked", still);
	json_wait(&w, "waits", t);
	jw_arr_begin(&w, "waits_for");
	for (uint32_t k = 0; k < n; k++) {
		jw_obj_begin(&w, NULL);
		jw_str(&w, "task", st->edges[k].to->name);
		jw_u64(&w, "task_id", st->edges[k].to->id);
		jw_str(&w, "because", st->edges[k].why == WAITFOR_QUEUED_WRITER
					      ? "writer queued ahead"
					      : "holder");
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	json_held_locks(&w, "holds", t);
	jw_finish(&w);

	uint64_t sig = sim_signature("hung_task");
	if (l) {
		sig = sim_signature_mix(sig, l->cls->name);
		sig = sim_signature_mix(sig, "@");
		sig = sim_signature_mix(sig, tm->waiting_where);
	} else {
		sig = sim_signature_mix(sig, "waitq");
	}
	/* Found during whatever task's hook ran: the finding is the hung
	 * task's. */
	struct finding *f = sim_report("hung_task", sig, st->detail, "%s",
				       st->summary);
	if (f)
		f->task = t->id;
}

static bool watched(const struct task *t)
{
	return t->state == TASK_BLOCKED && t->wq != NULL;
}

/* Report every watched task past its deadline; find the next deadline. */
static void scan(struct hung_state *st, struct checkers *c, uint64_t now)
{
	const struct engine *e = c->engine;
	uint64_t timeout = c->settings.hung_task_timeout_ns;
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < e->tasks_count; i++) {
		struct task *t = (struct task *)&e->tasks[i];
		if (!watched(t) || st->reported[t->id])
			continue;
		uint64_t due = deadline(t->blocked_ns, timeout);
		if (now >= due)
			report(st, c, t, now);
		else if (due < next)
			next = due;
	}
	st->next_ns = next;
}

static void hung_run_begin(struct checkers *c, void *p, struct engine *e)
{
	struct hung_state *st = p;

	(void)c;
	(void)e;
	st->next_ns = UINT64_MAX;
	for (uint32_t i = 0; i < TASKS_MAX; i++)
		st->reported[i] = false;
}

static void hung_block(struct checkers *c, void *p, struct task *t,
		       struct waitq *wq)
{
	struct hung_state *st = p;
	uint64_t now = sim_now();

	if (wq) {
		st->reported[t->id] = false;
		uint64_t due = deadline(t->blocked_ns,
					c->settings.hung_task_timeout_ns);
		if (due < st->next_ns)
			st->next_ns = due;
	}
	if (now >= st->next_ns)
		scan(st, c, now);
}

static void hung_wake(struct checkers *c, void *p, struct task *t,
		      struct waitq *wq)
{
	struct hung_state *st = p;
	uint64_t now = sim_now();

	/* It waited its whole time out, and its own wakeup is the first
	 * hook since (the waker ran one long step): the scan below no longer
	 * sees it blocked. */
	if (wq && !st->reported[t->id] &&
	    now >= deadline(t->blocked_ns, c->settings.hung_task_timeout_ns)) {
		SIM_MARK("hung_task: found at its own wakeup");
		report(st, c, t, now);
	}
	if (now >= st->next_ns)
		scan(st, c, now);
}

static void hung_run_end(struct checkers *c, void *p, struct engine *e,
			 enum run_outcome o)
{
	struct hung_state *st = p;

	if (o == RUN_ASSERT || o == RUN_STACK_OVERFLOW || o == RUN_DIVERGED)
		return;
	scan(st, c, e->virtual_ns);
}

const struct checker_ops hung_task_checker = {
	.name = "hung_task",
	.state_bytes = sizeof(struct hung_state),
	.run_begin = hung_run_begin,
	.block = hung_block,
	.wake = hung_wake,
	.run_end = hung_run_end,
};
