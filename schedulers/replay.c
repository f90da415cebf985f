/*
 * replay.c: the `replay` strategy: follows a recorded decision log (the
 * engine's varint list of id << 1 | kind, one entry per choice point) to
 * run that one schedule again, bit for bit.  Not a search: it makes no
 * choice of its own and has one schedule to run.
 *
 * A replay diverges, meaning that this world does not reproduce the
 * recorded run, in three ways, each reported by strategy_diverged with the
 * decision index where it happened:
 *  1. the recorded choice is not among the enabled ones: pick returns
 *     CHOICE_DIVERGED and the engine ends the run as RUN_DIVERGED, with
 *     e->steps the step that could not be taken;
 *  2. the log ends while the engine still asks for a choice: the same;
 *  3. the run finishes (any outcome) with log entries left over.  The
 *     engine cannot see this one, since it only asks and never offers, so
 *     replay_end notices it; campaign_run_schedule then reports the run as
 *     RUN_DIVERGED.  The decision index is that of the first entry left.
 *
 * The run seed must be the recorded run's: the model's latency draws come
 * from it (engine.h, SIM_STREAM_MODEL), and replay draws nothing itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedulers/strategy.h"

struct replay_state {
	uint8_t *log;			/* a copy: the caller's may go away */
	size_t len;
	uint64_t entries;		/* decisions the log holds */
	size_t pos;			/* next entry's byte offset */
	uint64_t decision_next;		/* its decision index */
	bool diverged;
	uint64_t diverged_at;
};

static const struct strategy_ops replay_ops;

static struct replay_state *replay_of(const struct strategy *s)
{
	SIM_ASSERT(s->ops == &replay_ops);
	SIM_ASSERT(s->state != NULL);
	SIM_ASSERT(((const struct replay_state *)s->state)->pos <=
		   ((const struct replay_state *)s->state)->len);
	return s->state;
}

static void replay_begin(struct strategy *s, uint64_t run_seed,
			 uint64_t index)
{
	struct replay_state *st = replay_of(s);

	(void)run_seed;
	(void)index;
	SIM_ASSERT(st->len == 0 || st->log != NULL);
	/* A campaign stops when replay_end returns false; a caller that
	 * begins again (the same log against another variant of the world)
	 * replays the log from its start. */
	SIM_ASSERT(s->schedules >= 1);
	st->pos = 0;
	st->decision_next = 0;
	st->diverged = false;
	st->diverged_at = 0;
}

static uint32_t replay_diverge(struct replay_state *st, uint64_t decision)
{
	SIM_ASSERT(!st->diverged);
	SIM_ASSERT(decision <= st->entries);
	st->diverged = true;
	st->diverged_at = decision;
	return CHOICE_DIVERGED;
}

static uint32_t replay_pick(void *self, const struct choice_point *cp)
{
	struct strategy *s = self;
	struct replay_state *st = replay_of(s);
	uint8_t kind;
	uint32_t id;

	SIM_ASSERT(cp->n >= 2);
	SIM_ASSERT(cp->decision == st->decision_next);
	/* Case 2: the log has no entry for this decision.  The log was
	 * validated at creation, so decoding fails only at its end. */
	if (!decision_decode(st->log, st->len, &st->pos, &kind, &id)) {
		SIM_ASSERT(st->pos == st->len);
		return replay_diverge(st, cp->decision);
	}
	for (uint32_t i = 0; i < cp->n; i++) {
		if (cp->choices[i].kind == kind && cp->choices[i].id == id) {
			st->decision_next++;
			return i;
		}
	}
	/* Case 1: the recorded choice is not enabled here. */
	return replay_diverge(st, cp->decision);
}

static bool replay_end(struct strategy *s, const struct schedule_result *r)
{
	struct replay_state *st = replay_of(s);

	if (!st->diverged) {
		SIM_ASSERT(r->decisions == st->decision_next);
		/* Case 3: the run is over and the log is not. */
		if (st->pos < st->len)
			replay_diverge(st, st->decision_next);
	}
	if (r->outcome == RUN_DIVERGED)
		SIM_ASSERT(st->diverged);
	return false;
}

static void replay_status(const struct strategy *s, struct strategy_status *out)
{
	const struct replay_state *st = replay_of(s);

	SIM_ASSERT(out != NULL);
	SIM_ASSERT(st->diverged_at <= st->entries);
	out->diverged = st->diverged;
	out->diverged_at = st->diverged ? st->diverged_at : 0;
}

static void replay_destroy(struct strategy *s)
{
	struct replay_state *st = replay_of(s);

	SIM_ASSERT(st->len == 0 || st->log != NULL);
	free(st->log);
	free(st);
	s->state = NULL;
}

static const struct strategy_ops replay_ops = {
	.name = "replay",
	.begin = replay_begin,
	.pick = replay_pick,
	.end = replay_end,
	.status = replay_status,
	.destroy = replay_destroy,
};

bool strategy_replay_init(struct strategy *s, char *err, size_t err_len)
{
	const uint8_t *log = s->params.replay_log;
	size_t len = s->params.replay_len;

	SIM_ASSERT(s->params.kind == STRATEGY_REPLAY);
	SIM_ASSERT(s->state == NULL);
	if (len > 0 && log == NULL) {
		snprintf(err, err_len, "replay log of %zu bytes has no data",
			 len);
		return false;
	}
	/* A malformed log is an input error, not a divergence: say where. */
	uint64_t entries = 0;
	size_t pos = 0;
	while (pos < len) {
		size_t at = pos;
		uint8_t kind;
		uint32_t id;
		if (!decision_decode(log, len, &pos, &kind, &id)) {
			snprintf(err, err_len,
				 "replay log is malformed at byte %zu (entry %llu)",
				 at, (unsigned long long)entries);
			return false;
		}
		entries++;
	}
	struct replay_state *st = calloc(1, sizeof(*st));
	if (st && len > 0) {
		st->log = malloc(len);
		if (!st->log) {
			free(st);
			st = NULL;
		}
	}
	if (!st) {
		snprintf(err, err_len, "out of memory for a %zu-byte replay log",
			 len);
		return false;
	}
	if (len > 0)
		memcpy(st->log, log, len);
	st->len = len;
	st->entries = entries;
	s->state = st;
	s->ops = &replay_ops;
	return true;
}
