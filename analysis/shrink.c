/*
 * shrink.c: the search that makes a failing schedule small (see shrink.h
 * for what it keeps, what a preemption is and the order of the passes),
 * the candidate strategy it replays with, and the recording of the result.
 * Not the command line, and nothing here reads a clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/shrink.h"

/* A decision as the shrinker edits it: (id << 1 | kind), the value the
 * log's varint holds. */
typedef uint64_t shrink_entry;

static shrink_entry entry_make(uint8_t kind, uint32_t id)
{
	SIM_ASSERT(kind <= CHOICE_EVENT);
	return ((uint64_t)id << 1) | kind;
}

#define ALT_NONE UINT64_MAX

/*
 * The candidate strategy: follow `n` entries, then complete the run without
 * preempting: the task that ran the previous step goes on while it is
 * enabled, and otherwise the timed rule picks (or, when strict, diverge if
 * the engine asks for more).  Plain timed completion (regress's
 * REPLAY_EXTEND) would switch between CPUs wherever their clocks cross and
 * add preemptions back to every shortened list; this completion adds none.
 * It also measures the run: its preemptions, and for each decision below
 * alt_cap the non-preemptive alternative (the preempted task's entry) or
 * ALT_NONE.
 */
struct cand_state {
	const shrink_entry *entries;
	uint64_t n;
	bool strict;
	struct strategy *tail;		/* timed, where no task goes on */
	uint64_t preemptions;
	shrink_entry *alt;
	uint64_t alt_cap;
};

static const struct strategy_ops cand_ops;

static struct cand_state *cand_of(const struct strategy *s)
{
	SIM_ASSERT(s->ops == &cand_ops);
	SIM_ASSERT(s->state != NULL);
	return s->state;
}

static void cand_begin(struct strategy *s, uint64_t run_seed, uint64_t index)
{
	struct cand_state *c = cand_of(s);

	c->preemptions = 0;
	strategy_begin(c->tail, run_seed, index);
}

static uint32_t cand_pick(void *self, const struct choice_point *cp)
{
	struct cand_state *c = cand_of(self);
	uint32_t idx = CHOICE_DIVERGED;
	uint32_t last = choice_point_last_index(cp);

	SIM_ASSERT(cp->n >= 2 && cp->n <= CHOICES_MAX);
	if (cp->decision < c->n) {
		shrink_entry want = c->entries[cp->decision];
		for (uint32_t i = 0; i < cp->n && idx == CHOICE_DIVERGED; i++)
			if (entry_make(cp->choices[i].kind, cp->choices[i].id) ==
			    want)
				idx = i;
		if (idx == CHOICE_DIVERGED)
			return CHOICE_DIVERGED;	/* not enabled: rejected */
	} else if (c->strict) {
		return CHOICE_DIVERGED;
	} else {
		idx = last != CHOICE_NONE ? last
					  : c->tail->ops->pick(c->tail, cp);
	}
	SIM_ASSERT(idx < cp->n);
	/* dfs.c's preemption: a pick other than last_task while it is one
	 * of the enabled choices. */
	bool preempts = last != CHOICE_NONE && idx != last;
	c->preemptions += preempts;
	if (cp->decision < c->alt_cap)
		c->alt[cp->decision] =
			preempts ? entry_make(CHOICE_TASK, cp->last_task)
				 : ALT_NONE;
	return idx;
}

static bool cand_end(struct strategy *s, const struct schedule_result *r)
{
	struct cand_state *c = cand_of(s);

	strategy_end(c->tail, r);
	return false;
}

static void cand_destroy(struct strategy *s)
{
	struct cand_state *c = cand_of(s);

	strategy_destroy(c->tail);
	free(c);
	s->state = NULL;
}

static const struct strategy_ops cand_ops = {
	.name = "shrink",
	.begin = cand_begin,
	.pick = cand_pick,
	.end = cand_end,
	.destroy = cand_destroy,
};

static struct strategy *cand_create(shrink_entry *alt, uint64_t alt_cap)
{
	struct strategy_params tp = { .kind = STRATEGY_TIMED };
	char err[128];
	struct strategy *s = calloc(1, sizeof(*s));
	struct cand_state *c = calloc(1, sizeof(*c));
	struct strategy *tail = strategy_create(&tp, err, sizeof(err));

	if (!s || !c || !tail) {
		free(s);
		free(c);
		strategy_destroy(tail);
		return NULL;
	}
	c->tail = tail;
	c->alt = alt;
	c->alt_cap = alt_cap;
	s->ops = &cand_ops;
	s->params = tp;
	s->state = c;
	return s;
}

/* ------------------------------------------------------------ search */

struct shrinker {
	const struct shrink_params *p;
	struct shrink_result *out;
	struct engine *e;
	struct checkers *ck;
	struct strategy *s;
	uint64_t cap;			/* entries any list may hold */

	shrink_entry *cur;		/* the best run's own log */
	uint64_t cur_n;
	struct shrink_size best;
	uint64_t best_hash;
	shrink_entry *best_alt;		/* per decision of the best run */

	shrink_entry *cand;		/* the candidate being built */
	shrink_entry *cand_alt;		/* what the candidate run measured */
};

static bool has_target(const struct shrink_params *p, const struct engine *e,
		       enum run_outcome o, char *summary, size_t len)
{
	struct runner_group g[FINDINGS_PER_RUN_MAX + 1];
	uint32_t n = runner_run_problems(o, e->findings, e->findings_count, g,
					 FINDINGS_PER_RUN_MAX + 1);

	for (uint32_t i = 0; i < n; i++) {
		if (g[i].signature == p->signature &&
		    strcmp(g[i].kind, p->kind) == 0) {
			if (summary)
				snprintf(summary, len, "%s", g[i].summary);
			return true;
		}
	}
	return false;
}

static bool smaller(const struct shrink_size *a, const struct shrink_size *b)
{
	if (a->preemptions > b->preemptions || a->decisions > b->decisions)
		return false;
	return a->preemptions < b->preemptions || a->decisions < b->decisions ||
	       a->steps < b->steps;
}

/* The engine's log of the run it holds, decoded into sh->cur. */
static bool take_log(struct shrinker *sh)
{
	size_t len, pos = 0;
	const uint8_t *log = engine_decisions(sh->e, &len);
	uint8_t kind;
	uint32_t id;
	uint64_t n = 0;

	while (decision_decode(log, len, &pos, &kind, &id)) {
		if (n >= sh->cap)
			return false;
		sh->cur[n++] = entry_make(kind, id);
	}
	SIM_ASSERT(pos == len);
	SIM_ASSERT(n == sh->e->decisions_count);
	sh->cur_n = n;
	return true;
}

/*
 * Replay the candidate sh->cand[0..n) and keep it when it is accepted (see
 * shrink.h).  With `force` (the source log), keep it whenever the finding
 * is there.  False when the budget is spent or the candidate is rejected.
 */
static bool try_candidate(struct shrinker *sh, uint64_t n, bool force)
{
	struct cand_state *c = cand_of(sh->s);
	struct run_result r;

	SIM_ASSERT(n <= sh->cap);
	if (sh->out->replays >= sh->p->replays_max) {
		sh->out->budget_hit = true;
		return false;
	}
	sh->out->replays++;
	c->entries = sh->cand;
	c->n = n;
	c->strict = false;
	campaign_run_schedule(sh->e, sh->p->sc, sh->s, sh->ck, sh->p->seed, 0,
			      &r);
	if (r.outcome == RUN_DIVERGED ||
	    !has_target(sh->p, sh->e, r.outcome, NULL, 0))
		return false;
	struct shrink_size now = {
		.decisions = r.decisions,
		.preemptions = c->preemptions,
		.steps = r.steps,
	};
	if (!force && !smaller(&now, &sh->best))
		return false;
	if (r.decisions > sh->cap)
		return false;	/* only a forced source can be this long */
	bool ok = take_log(sh);
	SIM_ASSERT(ok);
	sh->best = now;
	sh->best_hash = r.trace_hash;
	memcpy(sh->best_alt, sh->cand_alt, sh->cur_n * sizeof(*sh->best_alt));
	if (!force)
		sh->out->accepted++;
	return true;
}

/* Pass 1: remove chunks.  True when anything was accepted. */
static bool pass_remove(struct shrinker *sh)
{
	uint64_t chunks = 2;
	bool any = false;

	while (sh->cur_n > 0 && !sh->out->budget_hit) {
		uint64_t len = sh->cur_n;
		if (chunks > len)
			chunks = len;
		uint64_t size = (len + chunks - 1) / chunks;
		bool accepted = false;
		for (uint64_t at = 0; at < len && !accepted; at += size) {
			uint64_t end = at + size < len ? at + size : len;
			memcpy(sh->cand, sh->cur, at * sizeof(*sh->cand));
			memcpy(sh->cand + at, sh->cur + end,
			       (len - end) * sizeof(*sh->cand));
			accepted = try_candidate(sh, len - (end - at), false);
		}
		if (accepted) {
			any = true;
			chunks = chunks > 2 ? chunks - 1 : 2;
			continue;
		}
		if (chunks >= len)
			break;
		chunks = chunks * 2 < len ? chunks * 2 : len;
	}
	return any;
}

/* Pass 2: replace preemptive decisions.  True when anything was
 * accepted. */
static bool pass_preemptions(struct shrinker *sh)
{
	bool any = false;

	for (uint64_t i = 0; i < sh->cur_n && !sh->out->budget_hit; i++) {
		if (sh->best_alt[i] == ALT_NONE)
			continue;
		uint64_t len = sh->cur_n;
		memcpy(sh->cand, sh->cur, len * sizeof(*sh->cand));
		sh->cand[i] = sh->best_alt[i];
		if (try_candidate(sh, len, false) ||
		    try_candidate(sh, i + 1, false)) {
			any = true;
			/* The best run changed from decision i on: look at
			 * its decisions again from the start. */
			i = (uint64_t)-1;
		}
	}
	return any;
}

static enum shrink_rc fail(struct shrink_result *out, enum shrink_rc rc,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum shrink_rc fail(struct shrink_result *out, enum shrink_rc rc,
			   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->err, sizeof(out->err), fmt, ap);
	va_end(ap);
	out->rc = rc;
	return rc;
}

static struct checkers *shrink_checkers(const struct scenario *sc)
{
	return checkers_create(&(struct checker_settings){
		.hung_task_timeout_ns = sc->checks.hung_task_timeout_ns,
		.fault_retries_max = sc->checks.fault_retries_max });
}

/* Record the final run, which the engine holds, as a campaign of one. */
static enum shrink_rc record(const struct shrink_params *p,
			     struct shrink_result *out, struct engine *e)
{
	struct store *st = p->store;
	char params[512];
	struct store_run sr;

	int n = snprintf(params, sizeof(params),
			 "{\"source_run\":%" PRId64 ",\"kind\":\"%s\","
			 "\"signature\":\"%016" PRIx64 "\",\"replays\":%" PRIu64
			 ",\"replays_max\":%" PRIu64 ",\"before\":{\"decisions\":%" PRIu64
			 ",\"preemptions\":%" PRIu64 ",\"steps\":%" PRIu64 "}}",
			 p->source_run_id, p->kind, p->signature, out->replays,
			 p->replays_max, out->before.decisions,
			 out->before.preemptions, out->before.steps);
	/* Kinds are short identifiers: the text always fits. */
	SIM_ASSERT(n > 0 && (size_t)n < sizeof(params));
	struct store_campaign c = {
		.scenario_name = p->sc->name,
		.scenario_json = p->sc->json_text,
		.scenario_json_len = p->sc->json_len,
		.variant = p->sc->variant,
		.strategy = "shrink",
		.params_json = params,
		.base_seed = p->seed,
		.schedules = 1,
	};
	if (store_campaign_begin(st, &c, &out->campaign_id) != STORE_OK)
		goto failed;
	store_run_fill(&sr, &out->run, e);
	if (store_run_add(st, out->campaign_id, &sr, e->findings,
			  e->findings_count) != STORE_OK)
		goto failed;
	if (store_campaign_end(st, out->campaign_id, STORE_DONE) != STORE_OK)
		goto failed;
	if (store_find_run(st, out->campaign_id, 0, &out->run_id) != STORE_OK)
		goto failed;
	return SHRINK_OK;
failed:
	return fail(out, SHRINK_ERR_STORE, "%s", store_error(st));
}

/*
 * Replay the best list exactly in a fresh engine with fresh checkers (no
 * lock dependency left over from the candidates), check that it is the
 * run the search saw, and record it.
 */
static enum shrink_rc finish(struct shrinker *sh)
{
	const struct shrink_params *p = sh->p;
	struct shrink_result *out = sh->out;
	struct engine *e = campaign_engine(p->sc, NULL);
	struct checkers *ck = e ? shrink_checkers(p->sc) : NULL;
	struct strategy *s = ck ? cand_create(sh->cand_alt, sh->cap) : NULL;
	enum shrink_rc rc = SHRINK_OK;

	if (!s) {
		rc = fail(out, SHRINK_ERR_NOMEM,
			  "cannot create the engine for the final replay: %s",
			  strerror(errno));
		goto done;
	}
	struct cand_state *c = cand_of(s);
	c->entries = sh->cur;
	c->n = sh->cur_n;
	c->strict = true;
	campaign_run_schedule(e, p->sc, s, ck, p->seed, 0, &out->run);
	out->after = (struct shrink_size){
		.decisions = out->run.decisions,
		.preemptions = c->preemptions,
		.steps = out->run.steps,
	};
	if (out->run.outcome == RUN_DIVERGED ||
	    out->run.decisions != sh->cur_n ||
	    out->run.trace_hash != sh->best_hash ||
	    !has_target(p, e, out->run.outcome, out->summary,
			sizeof(out->summary))) {
		rc = fail(out, SHRINK_ERR_ENGINE,
			  "the shrunk schedule did not replay to itself: trace "
			  "%016" PRIx64 " in the search, %016" PRIx64
			  " replayed (outcome %s, %" PRIu64 " of %" PRIu64
			  " decisions); the engine is not deterministic",
			  sh->best_hash, out->run.trace_hash,
			  run_outcome_name(out->run.outcome),
			  out->run.decisions, sh->cur_n);
		goto done;
	}
	size_t len;
	const uint8_t *log = engine_decisions(e, &len);
	out->log = malloc(len ? len : 1);
	if (!out->log) {
		rc = fail(out, SHRINK_ERR_NOMEM, "out of memory");
		goto done;
	}
	memcpy(out->log, log, len);
	out->log_len = len;
	if (p->store)
		rc = record(p, out, e);
done:
	checkers_destroy(ck);
	if (e) {
		engine_end(e);
		engine_destroy(e);
	}
	strategy_destroy(s);
	out->rc = rc;
	return rc;
}

enum shrink_rc shrink_run(const struct shrink_params *p,
			  struct shrink_result *out)
{
	struct shrinker sh = { .p = p, .out = out };
	enum shrink_rc rc = SHRINK_OK;
	size_t pos = 0;
	uint8_t kind;
	uint32_t id;
	uint64_t n = 0;

	SIM_ASSERT(p != NULL && p->sc != NULL && out != NULL);
	SIM_ASSERT(p->kind != NULL);
	SIM_ASSERT(!runner_kind_is_campaign_wide(p->kind));
	SIM_ASSERT(p->replays_max >= 1 &&
		   p->replays_max <= SHRINK_REPLAYS_LIMIT);
	memset(out, 0, sizeof(*out));
	while (decision_decode(p->log, p->log_len, &pos, &kind, &id))
		n++;
	if (pos != p->log_len)
		return fail(out, SHRINK_ERR_INPUT,
			    "the decision log is malformed at byte %zu of %zu",
			    pos, p->log_len);
	if (n > SHRINK_DECISIONS_MAX)
		return fail(out, SHRINK_ERR_INPUT,
			    "the run has %" PRIu64 " decisions; shrink takes "
			    "at most %u",
			    n, SHRINK_DECISIONS_MAX);
	/* Lists only get shorter than the source's; the +1 keeps every
	 * buffer non-empty. */
	sh.cap = n + 1;
	sh.cur = calloc(sh.cap, sizeof(*sh.cur));
	sh.cand = calloc(sh.cap, sizeof(*sh.cand));
	sh.best_alt = calloc(sh.cap, sizeof(*sh.best_alt));
	sh.cand_alt = calloc(sh.cap, sizeof(*sh.cand_alt));
	sh.e = campaign_engine(p->sc, NULL);
	sh.ck = sh.e ? shrink_checkers(p->sc) : NULL;
	sh.s = sh.ck ? cand_create(sh.cand_alt, sh.cap) : NULL;
	if (!sh.cur || !sh.cand || !sh.best_alt || !sh.cand_alt || !sh.s) {
		rc = fail(out, SHRINK_ERR_NOMEM,
			  "cannot create the engine and checkers: %s (check "
			  "`ulimit -v`)",
			  strerror(errno));
		goto done;
	}
	pos = 0;
	for (uint64_t i = 0; i < n; i++) {
		bool ok = decision_decode(p->log, p->log_len, &pos, &kind, &id);
		SIM_ASSERT(ok);
		sh.cand[i] = entry_make(kind, id);
	}
	if (!try_candidate(&sh, n, true)) {
		rc = fail(out, SHRINK_NOT_REPRODUCED,
			  "the recorded schedule no longer gives the %s "
			  "finding %016" PRIx64,
			  p->kind, p->signature);
		goto done;
	}
	out->before = sh.best;
	for (;;) {
		bool removed = pass_remove(&sh);
		bool replaced = pass_preemptions(&sh);
		if ((!removed && !replaced) || out->budget_hit)
			break;
	}
	/* The last engine run was a candidate: let the final replay start
	 * from a clean slate. */
	checkers_destroy(sh.ck);
	sh.ck = NULL;
	engine_end(sh.e);
	engine_destroy(sh.e);
	sh.e = NULL;
	rc = finish(&sh);
done:
	checkers_destroy(sh.ck);
	if (sh.e) {
		engine_end(sh.e);
		engine_destroy(sh.e);
	}
	strategy_destroy(sh.s);
	free(sh.cur);
	free(sh.cand);
	free(sh.best_alt);
	free(sh.cand_alt);
	out->rc = rc;
	return rc;
}

void shrink_result_free(struct shrink_result *r)
{
	free(r->log);
	r->log = NULL;
	r->log_len = 0;
}
