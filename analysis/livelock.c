/*
 * livelock.c: the `livelock` checker.  Two signs that a run makes no
 * progress though something always runs: it ran out of its step or
 * virtual-time budget (RUN_BUDGET), or one fault came back with
 * VM_FAULT_RETRY more than fault_retries_max times (the retry storm of
 * KERNEL.md pattern 2: drop the lock, wait, retry, and find the folio
 * evicted again).  The retry report names the task, the page, how many
 * times, and which functions asked for the retries (vmstat's fault_retry
 * hook passes the one that returned RETRY).  Not starvation of a blocked
 * task (hung_task.c) and not a deadlock (nothing is enabled at all).
 *
 * Signatures: for retries, the set of functions that asked for them; for a
 * budget, which budget and what each unfinished task was doing (waiting on
 * a lock class in a function, retrying faults for a set of functions,
 * sleeping, or running), as a sorted multiset, so the same stuck shape is
 * one signature in every schedule.
 */
#include <string.h>

#include "analysis/checkers_int.h"

struct retry_site {
	const char *why;	/* model function: static text of the model */
	uint32_t count;
};

/* The fault a task is retrying, if any.  Reset when the fault completes
 * (fault_done) or a retry of another page starts. */
struct task_retries {
	bool active;
	bool reported;
	uint64_t address;
	uint32_t attempts;		/* the last attempt that retried */
	uint32_t sites_count;
	uint32_t sites_dropped;		/* retries from sites past the table */
	struct retry_site sites[FAULT_RETRY_SITES_MAX];
};

struct livelock_state {
	struct task_retries tasks[TASKS_MAX];
	/* tasks[] from here on are all zero: a run clears only what the one
	 * before it wrote (the whole table is 10 KiB, a run uses a few). */
	uint32_t tasks_dirty;
	const struct task *order[TASKS_MAX];
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
};

static void json_sites(struct jw *w, const struct task_retries *r)
{
	jw_arr_begin(w, "asked_by");
	for (uint32_t i = 0; i < r->sites_count; i++) {
		jw_obj_begin(w, NULL);
		jw_str(w, "function", r->sites[i].why);
		jw_u64(w, "retries", r->sites[i].count);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (r->sites_dropped)
		jw_u64(w, "retries_from_other_functions", r->sites_dropped);
}

/* The sites' names, sorted and joined, into the signature. */
static uint64_t mix_sites(uint64_t sig, const struct task_retries *r)
{
	const char *names[FAULT_RETRY_SITES_MAX];
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->sites_count; i++) {
		uint32_t at = n++;
		while (at > 0 && strcmp(names[at - 1], r->sites[i].why) > 0) {
			names[at] = names[at - 1];
			at--;
		}
		names[at] = r->sites[i].why;
	}
	for (uint32_t i = 0; i < n; i++) {
		sig = sim_signature_mix(sig, i ? "," : "");
		sig = sim_signature_mix(sig, names[i]);
	}
	return sig;
}

static void report_retries(struct livelock_state *st, struct checkers *c,
			   struct task *t, const struct task_retries *r)
{
	struct strbuf b;

	strbuf_init(&b, st->summary, sizeof(st->summary));
	strbuf_printf(&b, "livelock: task %s retried its fault at page 0x%llx %u times (bound %u); retries asked by ",
		      t->name, (unsigned long long)r->address, r->attempts,
		      c->settings.fault_retries_max);
	for (uint32_t i = 0; i < r->sites_count; i++)
		strbuf_printf(&b, "%s%s (%u)", i ? ", " : "", r->sites[i].why,
			      r->sites[i].count);

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_str(&w, "cause", "fault retries");
	jw_str(&w, "task", t->name);
	jw_u64(&w, "task_id", t->id);
	jw_u64(&w, "address", r->address);
	jw_u64(&w, "retries", r->attempts);
	jw_u64(&w, "bound", c->settings.fault_retries_max);
	json_sites(&w, r);
	json_held_locks(&w, "holds", t);
	jw_finish(&w);

	uint64_t sig = mix_sites(sim_signature("livelock: fault retries: "), r);
	struct finding *f = sim_report("livelock", sig, st->detail, "%s",
				       st->summary);
	if (f)
		f->task = t->id;
}

static void livelock_run_begin(struct checkers *c, void *p, struct engine *e)
{
	struct livelock_state *st = p;

	(void)c;
	(void)e;
	SIM_ASSERT(st->tasks_dirty <= TASKS_MAX);
	memset(st->tasks, 0, st->tasks_dirty * sizeof(st->tasks[0]));
	st->tasks_dirty = 0;
}

static void livelock_fault_retry(struct checkers *c, void *p, struct task *t,
				 uint64_t address, uint32_t attempt,
				 const char *why)
{
	struct livelock_state *st = p;

	SIM_ASSERT(t->id < TASKS_MAX);
	SIM_ASSERT(attempt >= 1);
	if (t->id >= st->tasks_dirty)
		st->tasks_dirty = t->id + 1;
	struct task_retries *r = &st->tasks[t->id];
	if (!r->active || r->address != address || attempt <= r->attempts)
		*r = (struct task_retries){ .active = true, .address = address };
	r->attempts = attempt;
	uint32_t i = 0;
	while (i < r->sites_count && strcmp(r->sites[i].why, why) != 0)
		i++;
	if (i < r->sites_count)
		r->sites[i].count++;
	else if (r->sites_count < FAULT_RETRY_SITES_MAX)
		r->sites[r->sites_count++] = (struct retry_site){ why, 1 };
	else
		r->sites_dropped++;
	if (attempt > c->settings.fault_retries_max && !r->reported) {
		r->reported = true;
		report_retries(st, c, t, r);
	}
}

static void livelock_fault_done(struct checkers *c, void *p,
				const struct fault_record *rec)
{
	struct livelock_state *st = p;

	(void)c;
	SIM_ASSERT(rec->task != NULL);
	SIM_ASSERT(rec->task->id < TASKS_MAX);
	st->tasks[rec->task->id].active = false;
}

/* ------------------------------------------------------------- budget */

/* What an unfinished task was doing when the budget ran out: two words
 * for the signature. */
static void activity(const struct livelock_state *st, const struct task *t,
		     const char **what, const char **where)
{
	const struct lock_common *l = waitfor_lock(t);

	*where = "";
	if (l) {
		*what = l->cls->name;
		*where = checked_task_mm(t)->waiting_where;
	} else if (st->tasks[t->id].active) {
		*what = "retrying";
	} else if (t->state == TASK_BLOCKED) {
		*what = t->wq ? "waitq" : "sleeping";
	} else {
		*what = "running";
	}
}

static int activity_cmp(const struct livelock_state *st, const struct task *x,
			const struct task *y)
{
	const char *xa, *xb, *ya, *yb;

	activity(st, x, &xa, &xb);
	activity(st, y, &ya, &yb);
	int cmp = strcmp(xa, ya);
	return cmp ? cmp : strcmp(xb, yb);
}

static void report_budget(struct livelock_state *st, const struct engine *e)
{
	bool steps = e->steps >= e->params.steps_max;
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->tasks_count; i++) {
		const struct task *t = &e->tasks[i];
		if (t->state == TASK_EXITED || t->state == TASK_FREE)
			continue;
		uint32_t at = n++;
		while (at > 0 && activity_cmp(st, st->order[at - 1], t) > 0) {
			st->order[at] = st->order[at - 1];
			at--;
		}
		st->order[at] = t;
	}

	struct strbuf b;
	strbuf_init(&b, st->summary, sizeof(st->summary));
	if (steps)
		strbuf_printf(&b, "livelock: the run used its budget of %llu steps",
			      (unsigned long long)e->params.steps_max);
	else {
		strbuf_puts(&b, "livelock: the run passed its virtual-time budget of ");
		strbuf_duration(&b, e->params.virtual_ns_max);
	}
	strbuf_printf(&b, " with %u task%s unfinished", n, n == 1 ? "" : "s");
	for (uint32_t i = 0; i < n; i++) {
		const struct task *t = st->order[i];
		const char *what, *where;
		activity(st, t, &what, &where);
		strbuf_printf(&b, "%s %s (%llu steps, ", i ? ";" : ":", t->name,
			      (unsigned long long)t->steps);
		if (*where)
			strbuf_printf(&b, "waits for %s in %s)", what, where);
		else if (st->tasks[t->id].active)
			strbuf_printf(&b, "retrying its fault at page 0x%llx)",
				      (unsigned long long)st->tasks[t->id].address);
		else
			strbuf_printf(&b, "%s)", what);
	}

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_str(&w, "cause", steps ? "step budget" : "virtual-time budget");
	jw_u64(&w, "steps", e->steps);
	jw_u64(&w, "steps_max", e->params.steps_max);
	jw_u64(&w, "virtual_ns", e->virtual_ns);
	jw_u64(&w, "virtual_ns_max", e->params.virtual_ns_max);
	jw_arr_begin(&w, "unfinished");
	for (uint32_t i = 0; i < n; i++) {
		const struct task *t = st->order[i];
		const struct task_retries *r = &st->tasks[t->id];
		const char *what, *where;
		activity(st, t, &what, &where);
		jw_obj_begin(&w, NULL);
		jw_str(&w, "task", t->name);
		jw_u64(&w, "task_id", t->id);
		jw_u64(&w, "steps", t->steps);
		jw_str(&w, "doing", *where ? "waiting" : what);
		json_wait(&w, "waits", t);
		if (r->active) {
			jw_obj_begin(&w, "retrying");
			jw_u64(&w, "address", r->address);
			jw_u64(&w, "retries", r->attempts);
			json_sites(&w, r);
			jw_obj_end(&w);
		}
		json_held_locks(&w, "holds", t);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_finish(&w);

	uint64_t sig = sim_signature(steps ? "livelock: step budget"
					   : "livelock: virtual-time budget");
	for (uint32_t i = 0; i < n; i++) {
		const char *what, *where;
		activity(st, st->order[i], &what, &where);
		sig = sim_signature_mix(sig, " | ");
		sig = sim_signature_mix(sig, what);
		sig = sim_signature_mix(sig, "@");
		sig = sim_signature_mix(sig, where);
		if (!*where && st->tasks[st->order[i]->id].active)
			sig = mix_sites(sig, &st->tasks[st->order[i]->id]);
	}
	sim_report("livelock", sig, st->detail, "%s", st->summary);
}

static void livelock_run_end(struct checkers *c, void *p, struct engine *e,
			     enum run_outcome o)
{
	(void)c;
	if (o == RUN_BUDGET)
		report_budget(p, e);
}

const struct checker_ops livelock_checker = {
	.name = "livelock",
	.state_bytes = sizeof(struct livelock_state),
	.run_begin = livelock_run_begin,
	.fault_retry = livelock_fault_retry,
	.fault_done = livelock_fault_done,
	.run_end = livelock_run_end,
};
