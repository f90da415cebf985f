/*
 * runner.c: the loop over a campaign's schedules (see runner.h): engine and
 * strategy set-up, PCT's calibration, one campaign_run_schedule per
 * schedule, --verify's second execution of each problem run, grouping of
 * findings, and the store calls that record it all.
 * Not the printing of results, and nothing here reads a clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/runner.h"

bool runner_kind_is_campaign_wide(const char *kind)
{
	SIM_ASSERT(kind != NULL);
	return strcmp(kind, "lock_order") == 0;
}

bool runner_is_problem(enum run_outcome o, uint32_t findings_count)
{
	SIM_ASSERT(o < RUN_OUTCOMES_COUNT);
	return findings_count > 0 || o != RUN_OK;
}

uint32_t runner_run_problems(enum run_outcome o, const struct finding *f,
			     uint32_t findings_count,
			     struct runner_group *groups, uint32_t max)
{
	uint32_t n = 0;

	SIM_ASSERT(o < RUN_OUTCOMES_COUNT);
	SIM_ASSERT(findings_count == 0 || f != NULL);
	for (uint32_t i = 0; i < findings_count && n < max; i++) {
		struct runner_group *g = &groups[n++];
		memset(g, 0, sizeof(*g));
		snprintf(g->kind, sizeof(g->kind), "%s", f[i].kind);
		g->signature = f[i].signature;
		snprintf(g->summary, sizeof(g->summary), "%s", f[i].summary);
	}
	if (findings_count == 0 && o != RUN_OK && n < max) {
		/* No checker explained the outcome: keep it visible under a
		 * kind no checker uses. */
		struct runner_group *g = &groups[n++];
		memset(g, 0, sizeof(*g));
		snprintf(g->kind, sizeof(g->kind), "outcome:%s",
			 run_outcome_name(o));
		g->signature = 0;
		snprintf(g->summary, sizeof(g->summary),
			 "the run ended with outcome %s and no checker "
			 "reported why",
			 run_outcome_name(o));
	}
	return n;
}

bool runner_params_json(const struct runner_params *p, uint64_t pct_steps,
			char *buf, size_t len)
{
	const struct strategy_params *sp = &p->strategy;
	const struct scenario_explore *x = &p->sc->explore;
	char preempt[24];
	int n;

	SIM_ASSERT(buf != NULL && len > 0);
	if (sp->preemptions_max == UINT32_MAX)
		snprintf(preempt, sizeof(preempt), "null");
	else
		snprintf(preempt, sizeof(preempt), "%" PRIu32,
			 sp->preemptions_max);
	switch (sp->kind) {
	case STRATEGY_PCT:
		n = snprintf(buf, len,
			     "{\"pct_depth\":%" PRIu32 ",\"pct_steps\":%" PRIu64
			     ",",
			     sp->pct_depth ? sp->pct_depth : 3, pct_steps);
		break;
	case STRATEGY_DFS:
		n = snprintf(buf, len, "{\"preemptions\":%s,", preempt);
		break;
	default:
		n = snprintf(buf, len, "{");
		break;
	}
	if (n < 0 || (size_t)n >= len)
		return false;
	int m = snprintf(buf + n, len - (size_t)n,
			 "\"steps_max\":%" PRIu64 ",\"virtual_ns_max\":%" PRIu64
			 ",\"stop_on_first\":%s}",
			 x->steps_max, x->virtual_ns_max,
			 p->stop_on_first ? "true" : "false");
	return m >= 0 && (size_t)m < len - (size_t)n;
}

/* Count one problem of a run into the campaign's groups. */
static void group_add(struct runner_result *out, const struct runner_group *g,
		      const struct run_result *r)
{
	for (uint32_t i = 0; i < out->groups_count; i++) {
		struct runner_group *have = &out->groups[i];
		if (have->signature == g->signature &&
		    strcmp(have->kind, g->kind) == 0) {
			have->runs++;
			return;
		}
	}
	if (out->groups_count >= RUNNER_GROUPS_MAX) {
		out->groups_dropped++;
		return;
	}
	struct runner_group *n = &out->groups[out->groups_count++];
	*n = *g;
	n->runs = 1;
	n->first_idx = r->index;
	n->first_seed = r->seed;
	n->first_run_id = 0;
}

/* Count a run under one of its finding kinds (once per kind). */
static void kind_add(struct runner_result *out, const char *kind,
		     uint64_t idx)
{
	for (uint32_t i = 0; i < out->kinds_count; i++) {
		if (strcmp(out->kinds[i].kind, kind) == 0) {
			out->kinds[i].runs++;
			return;
		}
	}
	/* The kinds are a fixed vocabulary (the loader's list plus one per
	 * outcome), well within the table. */
	SIM_ASSERT(out->kinds_count < RUNNER_KINDS_MAX);
	struct runner_kind *k = &out->kinds[out->kinds_count++];
	size_t n = strnlen(kind, sizeof(k->kind) - 1);
	memcpy(k->kind, kind, n);
	k->kind[n] = '\0';
	k->runs = 1;
	k->first_idx = idx;
}

static void count_run(struct runner_result *out, const struct run_result *r,
		      const struct engine *e)
{
	struct runner_group g[FINDINGS_PER_RUN_MAX + 1];

	SIM_ASSERT(r->outcome < RUN_OUTCOMES_COUNT);
	SIM_ASSERT(e->findings_count <= FINDINGS_PER_RUN_MAX);
	out->schedules_run++;
	out->outcomes[r->outcome]++;
	if (r->index == 0)
		out->first = *r;
	if (!runner_is_problem(r->outcome, e->findings_count))
		return;
	out->problem_runs++;
	if (!out->has_problem) {
		out->has_problem = true;
		out->first_problem_idx = r->index;
	}
	uint32_t n = runner_run_problems(r->outcome, e->findings,
					 e->findings_count, g,
					 FINDINGS_PER_RUN_MAX + 1);
	for (uint32_t i = 0; i < n; i++)
		group_add(out, &g[i], r);
	for (uint32_t i = 0; i < n; i++) {
		bool seen = false;
		for (uint32_t j = 0; j < i; j++)
			seen |= strcmp(g[j].kind, g[i].kind) == 0;
		if (!seen)
			kind_add(out, g[i].kind, r->index);
	}
}

static enum runner_rc store_failed(struct runner_result *out,
				   const struct store *st)
{
	snprintf(out->err, sizeof(out->err), "%s", store_error(st));
	return RUNNER_ERR_STORE;
}

/* After the campaign is committed: the database ids of the first run of
 * each group, for the replay command the summary prints.  A run that a
 * store error kept out of the file has none (0). */
static enum runner_rc find_run_ids(struct runner_result *out,
				   struct store *st)
{
	for (uint32_t i = 0; i < out->groups_count; i++) {
		struct runner_group *g = &out->groups[i];
		enum store_rc rc = store_find_run(st, out->campaign_id,
						  g->first_idx,
						  &g->first_run_id);
		if (rc == STORE_ERR_NOT_FOUND)
			g->first_run_id = 0;
		else if (rc != STORE_OK)
			return store_failed(out, st);
	}
	return RUNNER_OK;
}

/* Add the campaign's metrics to the store: every histogram bucket and every
 * counter, as metrics_next gives them. */
static enum store_rc store_metrics(struct store *st, int64_t campaign_id,
				   const struct metrics *m)
{
	struct metrics_iter it = metrics_iter_start();
	struct metric_row row;

	while (metrics_next(m, &it, &row)) {
		enum store_rc rc = store_metric_add(st, campaign_id, row.name,
						    row.counter ? NULL
								: &row.bucket,
						    row.count);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* What the checkers kept for the whole campaign, into the result. */
static void collect_campaign(struct runner_result *out,
			     const struct checkers *ck)
{
	out->metrics = *checkers_campaign_metrics(ck);
	out->lock_order_count = checkers_lock_order_count(
		ck, &out->lock_order_dropped);
	SIM_ASSERT(out->lock_order_count <= LOCK_ORDER_REPORTS_MAX);
	for (uint32_t i = 0; i < out->lock_order_count; i++)
		out->lock_order[i] = *checkers_lock_order(ck, i);
}

/* --verify's second execution; see the end of this file. */
struct verifier {
	struct engine *e;
	struct checkers *ck;
};
static enum runner_rc verify_run(const struct runner_params *p,
				 struct verifier *v, struct engine *e,
				 const struct run_result *r,
				 struct runner_result *out);
static void verifier_destroy(struct verifier *v);

enum runner_rc runner_run(const struct runner_params *p,
			  struct runner_result *out)
{
	struct verifier verifier = { NULL, NULL };
	struct strategy_params sp = p->strategy;
	struct strategy *s = NULL;
	struct engine *e = NULL;
	struct checkers *ck = NULL;
	enum runner_rc rc = RUNNER_OK;
	char params[512];

	SIM_ASSERT(p != NULL && p->sc != NULL && out != NULL);
	SIM_ASSERT(sp.kind != STRATEGY_REPLAY);
	SIM_ASSERT(p->schedules >= 1 && p->schedules <= RUNNER_SCHEDULES_MAX);
	memset(out, 0, sizeof(*out));
	out->status = STORE_FAILED;
	metrics_reset(&out->metrics);

	e = campaign_engine(p->sc, p->trace_out);
	/* Every checker, with the scenario's thresholds (by default a hung
	 * task after 120 s of virtual time, a livelock after 16 retries of
	 * one fault). */
	ck = e ? checkers_create(&(struct checker_settings){
			 .hung_task_timeout_ns = p->sc->checks.hung_task_timeout_ns,
			 .fault_retries_max = p->sc->checks.fault_retries_max })
	       : NULL;
	if (!e || !ck) {
		snprintf(out->err, sizeof(out->err),
			 "cannot create the engine and checkers for %" PRIu32
			 " CPUs: %s (the stacks and arena need about %llu MiB "
			 "of address space; check `ulimit -v`)",
			 p->sc->cpus, strerror(errno),
			 (unsigned long long)((ARENA_BYTES +
					       (uint64_t)TASKS_MAX *
						       TASK_STACK_BYTES) >>
					      20));
		rc = RUNNER_ERR_NOMEM;
		goto done;
	}
	if (sp.kind == STRATEGY_PCT && sp.pct_steps == 0)
		sp.pct_steps = campaign_estimate_pct_steps(e, p->sc,
							   p->base_seed);
	out->pct_steps = sp.kind == STRATEGY_PCT ? sp.pct_steps : 0;
	s = strategy_create(&sp, out->err, sizeof(out->err));
	if (!s) {
		rc = RUNNER_ERR_PARAMS;
		goto done;
	}

	if (p->store) {
		struct runner_params rp = *p;
		rp.strategy = sp;
		bool fits = runner_params_json(&rp, sp.pct_steps, params,
					       sizeof(params));
		SIM_ASSERT(fits);
		struct store_campaign c = {
			.scenario_name = p->sc->name,
			.scenario_json = p->sc->json_text,
			.scenario_json_len = p->sc->json_len,
			.variant = p->sc->variant,
			.strategy = strategy_kind_name(sp.kind),
			.params_json = params,
			.base_seed = p->base_seed,
			.schedules = p->schedules,
		};
		if (store_campaign_begin(p->store, &c, &out->campaign_id) !=
		    STORE_OK) {
			rc = store_failed(out, p->store);
			goto done;
		}
	}

	bool space_done = false;	/* the strategy has nothing left */
	for (uint64_t i = 0; i < p->schedules; i++) {
		struct run_result r;
		bool more;

		if (p->trace_out)
			fprintf(p->trace_out, "# schedule %" PRIu64 "\n", i);
		more = campaign_run_schedule(e, p->sc, s, ck, p->base_seed, i,
					     &r);
		if (p->verify && runner_is_problem(r.outcome, e->findings_count)) {
			rc = verify_run(p, &verifier, e, &r, out);
			if (rc != RUNNER_OK)
				break;
		}
		count_run(out, &r, e);
		if (p->store) {
			struct store_run sr;
			store_run_fill(&sr, &r, e);
			if (store_run_add(p->store, out->campaign_id, &sr,
					  e->findings, e->findings_count) !=
			    STORE_OK) {
				rc = store_failed(out, p->store);
				break;
			}
		}
		if (p->after_run && !p->after_run(p->ctx, &r, e)) {
			rc = RUNNER_STOPPED;
			break;
		}
		if (p->stop_on_first &&
		    runner_is_problem(r.outcome, e->findings_count)) {
			out->stopped_on_first = i + 1 < p->schedules;
			break;
		}
		if (!more) {
			space_done = true;
			break;
		}
	}

	struct strategy_status st;
	strategy_status(s, &st);
	out->exhausted = st.exhausted;
	out->truncated = st.truncated;
	out->nondeterministic = st.diverged;
	out->diverged_at = st.diverged_at;
	/* done: every schedule asked for ran, or the strategy ran out of
	 * schedules (dfs); failed: the world did not repeat itself under
	 * dfs, so what it covered is unknown. */
	if (rc == RUNNER_OK && st.diverged)
		out->status = STORE_FAILED;
	else if (rc == RUNNER_OK)
		out->status = out->schedules_run == p->schedules || space_done
				      ? STORE_DONE
				      : STORE_INTERRUPTED;
	else if (rc == RUNNER_STOPPED)
		out->status = STORE_INTERRUPTED;

	collect_campaign(out, ck);
	if (p->store) {
		enum store_rc src = rc == RUNNER_ERR_STORE
					    ? STORE_OK
					    : store_metrics(p->store,
							    out->campaign_id,
							    &out->metrics);
		if (src != STORE_OK)
			rc = store_failed(out, p->store);
		src = store_campaign_end(p->store, out->campaign_id,
					 out->status);
		if (src != STORE_OK) {
			/* The first error says most; keep it. */
			if (rc != RUNNER_ERR_STORE)
				rc = store_failed(out, p->store);
		} else {
			enum runner_rc frc = find_run_ids(out, p->store);
			if (frc != RUNNER_OK && rc != RUNNER_ERR_STORE)
				rc = frc;
		}
	}

done:
	out->rc = rc;
	verifier_destroy(&verifier);
	/* The checkers detach from the engine as they go: first. */
	checkers_destroy(ck);
	if (e) {
		engine_end(e);
		engine_destroy(e);
	}
	strategy_destroy(s);
	return rc;
}

/*
 * REPLAY_EXTEND: a strategy made of two, the recorded log and then the
 * timed rule.  It is built here rather than in schedulers/ because it is
 * a way of using two strategies, not a way of picking: it sees nothing but
 * the choice point's decision index.
 *
 * Decisions below `entries` go to the replay strategy, which asserts that
 * it sees each one in order; later ones go to timed.  At the end, replay
 * is told the decisions it was given (never more than its log), so its
 * own accounting holds; a log with entries left over is then "diverged"
 * for replay, which this mode does not count: only a recorded choice that
 * was not enabled (the run ended RUN_DIVERGED) is.
 */
struct extend_state {
	struct strategy *replay;
	struct strategy *then;
	uint64_t entries;
	bool diverged;			/* a recorded choice not enabled */
	uint64_t diverged_at;
};

static const struct strategy_ops extend_ops;

static struct extend_state *extend_of(const struct strategy *s)
{
	SIM_ASSERT(s->ops == &extend_ops);
	SIM_ASSERT(s->state != NULL);
	return s->state;
}

static void extend_begin(struct strategy *s, uint64_t run_seed,
			 uint64_t index)
{
	struct extend_state *x = extend_of(s);

	x->diverged = false;
	x->diverged_at = 0;
	strategy_begin(x->replay, run_seed, index);
	strategy_begin(x->then, run_seed, index);
}

static uint32_t extend_pick(void *self, const struct choice_point *cp)
{
	struct extend_state *x = extend_of(self);

	if (cp->decision >= x->entries)
		return x->then->ops->pick(x->then, cp);
	uint32_t i = x->replay->ops->pick(x->replay, cp);
	if (i == CHOICE_DIVERGED) {
		x->diverged = true;
		x->diverged_at = cp->decision;
	}
	return i;
}

static bool extend_end(struct strategy *s, const struct schedule_result *r)
{
	struct extend_state *x = extend_of(s);
	struct schedule_result mine = *r;

	if (r->outcome == RUN_DIVERGED)
		SIM_ASSERT(x->diverged);
	if (mine.decisions > x->entries)
		mine.decisions = x->entries;
	strategy_end(x->replay, &mine);
	strategy_end(x->then, r);
	return false;
}

static void extend_status(const struct strategy *s,
			  struct strategy_status *st)
{
	const struct extend_state *x = extend_of(s);

	st->diverged = x->diverged;
	st->diverged_at = x->diverged ? x->diverged_at : 0;
}

static void extend_destroy(struct strategy *s)
{
	struct extend_state *x = extend_of(s);

	strategy_destroy(x->replay);
	strategy_destroy(x->then);
	free(x);
	s->state = NULL;
}

static const struct strategy_ops extend_ops = {
	.name = "replay+timed",
	.begin = extend_begin,
	.pick = extend_pick,
	.end = extend_end,
	.status = extend_status,
	.destroy = extend_destroy,
};

/* The replay strategy for `mode`, or NULL with a message in err. */
static struct strategy *replay_strategy(const uint8_t *log, size_t log_len,
					uint64_t entries,
					enum runner_replay_mode mode, char *err,
					size_t err_len)
{
	struct strategy_params rp = {
		.kind = STRATEGY_REPLAY,
		.replay_log = log,
		.replay_len = log_len,
	};
	struct strategy_params tp = { .kind = STRATEGY_TIMED };
	struct strategy *replay = strategy_create(&rp, err, err_len);

	if (!replay || mode == REPLAY_EXACT)
		return replay;
	struct strategy *then = strategy_create(&tp, err, err_len);
	struct strategy *s = calloc(1, sizeof(*s));
	struct extend_state *x = calloc(1, sizeof(*x));
	if (!then || !s || !x) {
		snprintf(err, err_len, "out of memory");
		strategy_destroy(replay);
		strategy_destroy(then);
		free(s);
		free(x);
		return NULL;
	}
	x->replay = replay;
	x->then = then;
	x->entries = entries;
	s->ops = &extend_ops;
	s->params = rp;
	s->state = x;
	return s;
}

enum runner_rc runner_replay(const struct scenario *sc, uint64_t seed,
			     const uint8_t *log, size_t log_len,
			     enum runner_replay_mode mode, FILE *trace_out,
			     struct runner_replay_result *out)
{
	return runner_replay_observed(sc, seed, log, log_len, mode, trace_out,
				      NULL, out);
}

enum runner_rc runner_replay_observed(const struct scenario *sc,
				      uint64_t seed, const uint8_t *log,
				      size_t log_len,
				      enum runner_replay_mode mode,
				      FILE *trace_out,
				      const struct runner_observer *obs,
				      struct runner_replay_result *out)
{
	bool attached = false;
	struct strategy *s = NULL;
	struct engine *e = NULL;
	struct checkers *ck = NULL;
	size_t pos = 0;
	uint8_t kind;
	uint32_t id;

	SIM_ASSERT(sc != NULL && out != NULL);
	SIM_ASSERT(log != NULL || log_len == 0);
	SIM_ASSERT(mode == REPLAY_EXACT || mode == REPLAY_EXTEND);
	memset(out, 0, sizeof(*out));
	while (decision_decode(log, log_len, &pos, &kind, &id))
		out->log_entries++;
	e = campaign_engine(sc, trace_out);
	ck = e ? checkers_create(&(struct checker_settings){
			 .hung_task_timeout_ns = sc->checks.hung_task_timeout_ns,
			 .fault_retries_max = sc->checks.fault_retries_max })
	       : NULL;
	if (!e || !ck) {
		snprintf(out->err, sizeof(out->err),
			 "cannot create the engine and checkers: %s (check "
			 "`ulimit -v`)",
			 strerror(errno));
		out->rc = RUNNER_ERR_NOMEM;
		goto done;
	}
	s = replay_strategy(log, log_len, out->log_entries, mode, out->err,
			    sizeof(out->err));
	if (!s) {
		out->rc = RUNNER_ERR_PARAMS;
		goto done;
	}
	if (obs) {
		SIM_ASSERT(obs->attach != NULL && obs->detach != NULL);
		if (!obs->attach(obs->ctx, e)) {
			snprintf(out->err, sizeof(out->err),
				 "cannot attach the timeline recorder (no memory, or a hook table is full)");
			out->rc = RUNNER_ERR_NOMEM;
			goto done;
		}
		attached = true;
	}
	/* Schedule 0 runs with its base seed: the recorded run seed, whatever
	 * schedule of whatever strategy it was. */
	campaign_run_schedule(e, sc, s, ck, seed, 0, &out->run);
	if (obs && obs->finish)
		obs->finish(obs->ctx, e, &out->run);
	out->diverged = strategy_diverged(s, &out->diverged_at);
	out->problems_count = runner_run_problems(
		out->run.outcome, e->findings, e->findings_count,
		out->problems, FINDINGS_PER_RUN_MAX + 1);
	out->rc = RUNNER_OK;
done:
	if (attached)
		obs->detach(obs->ctx, e);
	checkers_destroy(ck);
	if (e) {
		engine_end(e);
		engine_destroy(e);
	}
	strategy_destroy(s);
	return out->rc;
}

/*
 * --verify.  The run the engine e holds is executed again on a second
 * engine (made on first use, kept for the campaign) with its own checkers,
 * following e's decision log exactly, with the same run seed; the trace
 * hashes must be equal.  The second engine, not e, because e still holds
 * the run to record (findings, log); its own checkers, because a checker
 * that ended a run early (a failed assertion in a hook) would end the
 * second one at the same step only if it is there.  Returns RUNNER_OK, or
 * RUNNER_ERR_VERIFY with both hashes in out (and ERR_NOMEM / ERR_PARAMS
 * when the second engine cannot be made).
 */
static enum runner_rc verify_run(const struct runner_params *p,
				 struct verifier *v, struct engine *e,
				 const struct run_result *r,
				 struct runner_result *out)
{
	size_t len, pos = 0;
	const uint8_t *log = engine_decisions(e, &len);
	uint64_t entries = 0;
	uint8_t kind;
	uint32_t id;
	struct run_result again;

	SIM_ASSERT(p->verify);
	SIM_ASSERT(sim == e);
	if (!v->e) {
		v->e = campaign_engine(p->sc, NULL);
		v->ck = v->e ? checkers_create(&(struct checker_settings){
				       .hung_task_timeout_ns =
					       p->sc->checks.hung_task_timeout_ns,
				       .fault_retries_max =
					       p->sc->checks.fault_retries_max })
			     : NULL;
		if (!v->ck) {
			snprintf(out->err, sizeof(out->err),
				 "--verify: cannot create a second engine: %s "
				 "(check `ulimit -v`)",
				 strerror(errno));
			return RUNNER_ERR_NOMEM;
		}
		if (p->verify_perturb) {
			bool ok = engine_subscribe(
				v->e, &(struct engine_hooks){
					      .ctx = v,
					      .run_begin = p->verify_perturb });
			SIM_ASSERT(ok);
		}
	}
	while (decision_decode(log, len, &pos, &kind, &id))
		entries++;
	struct strategy *rs = replay_strategy(log, len, entries, REPLAY_EXACT,
					      out->err, sizeof(out->err));
	if (!rs)
		return RUNNER_ERR_PARAMS;
	/* Schedule 0 of base seed r->seed is the run seed itself. */
	campaign_run_schedule(v->e, p->sc, rs, v->ck, r->seed, 0, &again);
	strategy_destroy(rs);
	engine_end(v->e);
	/* Back to the campaign's engine, which still holds its run. */
	sim = e;
	if (again.trace_hash == r->trace_hash) {
		out->verified++;
		return RUNNER_OK;
	}
	out->verify_idx = r->index;
	out->verify_seed = r->seed;
	out->verify_hash_first = r->trace_hash;
	out->verify_hash_second = again.trace_hash;
	snprintf(out->err, sizeof(out->err),
		 "internal error: --verify: schedule %" PRIu64 " (run seed %" PRIu64
		 ") did not repeat itself: trace %016" PRIx64 " (%s, %" PRIu64
		 " steps) the first time, %016" PRIx64 " (%s, %" PRIu64
		 " steps) replayed from its own decision log.  This is a simrun "
		 "bug; the runs before it are recorded, this one is not",
		 r->index, r->seed, r->trace_hash, run_outcome_name(r->outcome),
		 r->steps, again.trace_hash, run_outcome_name(again.outcome),
		 again.steps);
	return RUNNER_ERR_VERIFY;
}

static void verifier_destroy(struct verifier *v)
{
	checkers_destroy(v->ck);
	if (v->e)
		engine_destroy(v->e);
	v->ck = NULL;
	v->e = NULL;
}
