/*
 * report.c: the findings of the run in progress.  Checkers (analysis/) and
 * the model's lock-held assertions both report here; the table is fixed-size
 * and deduplicated by (kind, signature).  Not a store: the analysis layer
 * copies findings out at the end of a run.
 */
#include <stdarg.h>
#include <string.h>

#include "engine/engine_int.h"

void report_reset(struct engine *e)
{
	e->findings_count = 0;
	e->findings_dropped = 0;
}

uint64_t sim_signature_mix(uint64_t sig, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		sig ^= *p;
		sig *= 0x100000001b3ull;
	}
	return sig;
}

uint64_t sim_signature(const char *text)
{
	return sim_signature_mix(0xcbf29ce484222325ull, text);
}

struct finding *sim_report(const char *kind, uint64_t signature,
			   const char *detail_json, const char *fmt, ...)
{
	struct engine *e = sim;
	va_list ap;

	SIM_ASSERT(e != NULL);
	SIM_ASSERT(kind != NULL && strlen(kind) < sizeof(e->findings[0].kind));
	for (uint32_t i = 0; i < e->findings_count; i++) {
		struct finding *f = &e->findings[i];
		if (f->signature == signature && strcmp(f->kind, kind) == 0) {
			f->hits++;
			return NULL;
		}
	}
	if (e->findings_count >= FINDINGS_PER_RUN_MAX) {
		e->findings_dropped++;
		return NULL;
	}
	struct finding *f = &e->findings[e->findings_count++];
	memset(f, 0, sizeof(*f));
	snprintf(f->kind, sizeof(f->kind), "%s", kind);
	f->signature = signature;
	f->step = e->steps;
	f->time_ns = sim_now();
	f->task = e->current ? e->current->id : TRACE_NO_TASK;
	f->hits = 1;
	va_start(ap, fmt);
	vsnprintf(f->summary, sizeof(f->summary), fmt, ap);
	va_end(ap);
	snprintf(f->detail, sizeof(f->detail), "%s",
		 detail_json ? detail_json : "{}");
	return f;
}
