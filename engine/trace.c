/*
 * trace.c: the record of a run.  Every step folds a compact record into a
 * 64-bit hash (two multiply-rotate rounds: cheap enough for the hot loop);
 * the text form of each step is written only when tracing is on.  Not the
 * decision log (engine.c): the trace says what happened, the log what was
 * chosen.
 */
#include <stdarg.h>
#include <string.h>

#include "engine/engine_int.h"

static const char *kind_names[TRACE_KINDS_MAX] = {
	[TRACE_YIELD] = "yield",
	[TRACE_BLOCK] = "block",
	[TRACE_EXIT] = "exit",
	[TRACE_TIMER] = "timer",
	[TRACE_ASSERT] = "assert",
	[TRACE_OVERFLOW] = "stack_overflow",
};

void trace_kind_register(uint16_t kind, const char *name)
{
	SIM_ASSERT(kind >= TRACE_MODEL_FIRST);
	SIM_ASSERT(kind < TRACE_KINDS_MAX);
	if (kind_names[kind])
		SIM_ASSERT(strcmp(kind_names[kind], name) == 0);
	kind_names[kind] = name;
}

const char *trace_kind_name(uint16_t kind)
{
	if (kind < TRACE_KINDS_MAX && kind_names[kind])
		return kind_names[kind];
	return "?";
}

uint64_t engine_trace_hash(const struct engine *e)
{
	return prng_mix64(e->trace_hash ^ e->steps);
}

void trace_text_step(struct engine *e, const struct trace_rec *r)
{
	char obj[96];

	obj[0] = '\0';
	if (e->obj_namer)
		e->obj_namer(e->obj_namer_ctx, r->kind, r->obj, obj,
			     sizeof(obj));
	if (!obj[0])
		snprintf(obj, sizeof(obj), "#%u", r->obj);
	if (r->task == TRACE_NO_TASK)
		fprintf(e->params.trace_out, "%8llu %12llu ns  event       %-14s %s\n",
			(unsigned long long)r->step,
			(unsigned long long)r->time_ns,
			trace_kind_name(r->kind), obj);
	else
		fprintf(e->params.trace_out,
			"%8llu %12llu ns  cpu%-2u %-5s %-14s %s\n",
			(unsigned long long)r->step,
			(unsigned long long)r->time_ns, r->cpu,
			e->tasks[r->task].name, trace_kind_name(r->kind), obj);
}

void sim_trace_note(const char *fmt, ...)
{
	struct engine *e = sim;
	va_list ap;

	if (!e || !e->params.trace_out)
		return;
	fprintf(e->params.trace_out, "%8s %12llu ns  %-11s ", "",
		(unsigned long long)sim_now(),
		e->current ? e->current->name : "-");
	va_start(ap, fmt);
	vfprintf(e->params.trace_out, fmt, ap);
	va_end(ap);
	fputc('\n', e->params.trace_out);
}
