/*
 * sim_assert.c: what a failed SIM_ASSERT does, and the coverage-mark table.
 * Inside a run, a failure becomes a `model_assert` finding and the run ends
 * (the campaign continues with the next schedule); outside a run it prints
 * and aborts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

static struct sim_mark *marks_head;

void sim_mark_link(struct sim_mark *m)
{
	m->next = marks_head;
	marks_head = m;
	m->linked = true;
}

uint64_t sim_mark_hits(const char *name)
{
	uint64_t hits = 0;

	for (struct sim_mark *m = marks_head; m; m = m->next)
		if (strcmp(m->name, name) == 0)
			hits += m->hits;
	return hits;
}

void sim_marks_reset(void)
{
	for (struct sim_mark *m = marks_head; m; m = m->next)
		m->hits = 0;
}

_Noreturn void sim_assert_fail(const char *file, int line, const char *expr)
{
	struct engine *e = sim;

	if (e && e->in_run && !e->asserted) {
		char detail[512];
		const char *base = strrchr(file, '/');
		base = base ? base + 1 : file;
		snprintf(detail, sizeof(detail),
			 "{\"file\":\"%s\",\"line\":%d}", base, line);
		/* One signature per assertion site: the same failed assert
		 * in many schedules is one bug. */
		char site[256];
		snprintf(site, sizeof(site), "%s:%d", base, line);
		e->asserted = true;
		sim_report("model_assert", sim_signature(site), detail,
			   "assertion failed: %s (%s:%d)", expr, base, line);
		if (e->current) {
			/* Leave the task's stack for good; the scheduler
			 * sees `asserted` and ends the run. */
			struct task *t = e->current;
			e->yield_kind = TRACE_ASSERT;
			e->yield_obj = (uint32_t)line;
			task_switch_out(e, t);
		}
		longjmp(e->run_jmp, 1);
	}
	fprintf(stderr, "simrun: assertion failed: %s at %s:%d (seed %llu)\n",
		expr, file, line, e ? (unsigned long long)e->seed : 0ull);
	fflush(stderr);
	abort();
}
