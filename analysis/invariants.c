/*
 * invariants.c: the invariants checker: what must hold of the model at
 * certain points, checked from the hooks.  Today one check:
 * `exit_holding_lock`, a task that ends with locks in its held list
 * (lockdep's debug_check_no_locks_held at do_exit: "WARNING: NAME/ID still
 * has locks held!").  Nobody will ever release those locks; whoever needs
 * one next waits forever, and the deadlock checker names the exited task.
 *
 * Not here: the lock misuse the model reports itself as it happens
 * (unlock_not_held, sleep_in_atomic, assert_locked, in mm/locks.c) and the
 * engine's model_assert; they reach the run's findings directly.  Nor
 * the folio invariants: leak.c (refcount and mapcount) and stale.c (PTEs
 * to folios freed, out of the page cache or past EOF).
 *
 * Signature: the held locks as (class, mode, model function that took
 * them), sorted; the task's name and the schedule do not enter it.
 */
#include <string.h>

#include "analysis/checkers_int.h"

struct invariants_state {
	const struct held_lock *sorted[HELD_LOCKS_MAX];
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
	char report[LOCKDEP_REPORT_BYTES];
};

static int held_cmp(const struct held_lock *a, const struct held_lock *b)
{
	int c = strcmp(a->lock->cls->name, b->lock->cls->name);
	if (c)
		return c;
	if (a->mode != b->mode)
		return a->mode < b->mode ? -1 : 1;
	return strcmp(a->where, b->where);
}

static void invariants_task_exit(struct checkers *c, void *p, struct task *t)
{
	struct invariants_state *st = p;
	const struct task_mm *tm = checked_task_mm(t);

	(void)c;
	if (!tm || tm->held_count == 0)
		return;
	uint32_t n = tm->held_count;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = i;
		while (at > 0 && held_cmp(st->sorted[at - 1], &tm->held[i]) > 0) {
			st->sorted[at] = st->sorted[at - 1];
			at--;
		}
		st->sorted[at] = &tm->held[i];
	}
	uint64_t sig = sim_signature("exit_holding_lock");
	for (uint32_t i = 0; i < n; i++) {
		const struct held_lock *h = st->sorted[i];
		sig = sim_signature_mix(sig, " | ");
		sig = sim_signature_mix(sig, h->lock->cls->name);
		sig = sim_signature_mix(sig, lock_mode_name(h->mode));
		sig = sim_signature_mix(sig, h->where);
	}

	struct strbuf b;
	strbuf_init(&b, st->summary, sizeof(st->summary));
	strbuf_printf(&b, "task %s/%u exited holding %u lock%s: ", t->name,
		      t->id, n, n == 1 ? "" : "s");
	text_held_locks(&b, t);

	/* lockdep's words, held locks in the order taken. */
	strbuf_init(&b, st->report, sizeof(st->report));
	strbuf_puts(&b, "\n=====================================\n");
	strbuf_printf(&b, "WARNING: %s/%u still has locks held!\n", t->name,
		      t->id);
	strbuf_puts(&b, "-------------------------------------\n");
	strbuf_printf(&b, "%u lock%s held by %s/%u:\n", n, n == 1 ? "" : "s",
		      t->name, t->id);
	for (uint32_t i = 0; i < n; i++) {
		const struct held_lock *h = &tm->held[i];
		strbuf_printf(&b, " #%u: (%s) %s, at: %s\n", i,
			      h->lock->cls->name, lock_mode_name(h->mode),
			      h->where);
	}

	struct jw w;
	jw_init(&w, st->detail, sizeof(st->detail));
	jw_str(&w, "task", t->name);
	jw_u64(&w, "task_id", t->id);
	jw_u64(&w, "time_ns", sim_now());
	json_held_locks(&w, "holds", t);
	jw_str_fit(&w, "report", st->report);
	jw_finish(&w);
	sim_report("exit_holding_lock", sig, st->detail, "%s", st->summary);
}

const struct checker_ops invariants_checker = {
	.name = "invariants",
	.state_bytes = sizeof(struct invariants_state),
	.task_exit = invariants_task_exit,
};
