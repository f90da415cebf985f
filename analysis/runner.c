/*
 * runner.c: the loop over a campaign's schedules (see runner.h): engine and
 * strategy set-up, PCT's calibration, one campaign_run_schedule per
 * schedule, grouping of findings, and the store calls that record it all.
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
		      const struct finding *f, uint32_t findings_count)
{
	struct runner_group g[FINDINGS_PER_RUN_MAX + 1];

	SIM_ASSERT(r->outcome < RUN_OUTCOMES_COUNT);
	SIM_ASSERT(findings_count <= FINDINGS_PER_RUN_MAX);
	out->schedules_run++;
	out->outcomes[r->outcome]++;
	if (r->index == 0)
		out->first = *r;
	if (!runner_is_problem(r->outcome, findings_count))
		return;
	out->problem_runs++;
	if (!out->has_problem) {
		out->has_problem = true;
		out->first_problem_idx = r->index;
	}
	uint32_t n = runner_run_problems(r->outcome, f, findings_count, g,
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

/* Add metrics to the store's open campaign: every histogram bucket and
 * every counter, as metrics_next gives them.  Counts add up, so the
 * runner adds each batch's share when it commits the batch. */
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

/* The campaign's lock-order cycles, from its graph, into the result. */
static void collect_cycles(struct runner_result *out,
			   const struct lockdep_graph *g)
{
	out->lock_order_count = lockdep_graph_cycles(g, &out->lock_order_dropped);
	SIM_ASSERT(out->lock_order_count <= LOCK_ORDER_REPORTS_MAX);
	for (uint32_t i = 0; i < out->lock_order_count; i++)
		out->lock_order[i] = *lockdep_graph_cycle(g, i);
}

/*
 * The campaign-wide part of one run, the same for every way a campaign is
 * run (one process, --jobs, --shard and merge, --resume): the run's
 * findings without lock_order (as the checkers, running deferred, report
 * them; a stored run may hold lock_order rows from an earlier pass, which
 * are dropped and computed again), then the lock_order findings that its
 * lock-graph events close in `g`, in event order.  Returns how many are in
 * f; *local (may be NULL) counts the lock_order ones.
 */
static uint32_t final_findings(struct lockdep_graph *g, uint64_t idx,
			       const struct finding *in, uint32_t in_count,
			       const struct lockdep_event *ev,
			       uint32_t ev_count, struct finding *f,
			       struct finding *scratch, uint32_t *lock_order)
{
	uint32_t n = 0, lo = 0, seen = 0, e = 0;

	/* Each lock_order finding goes where the checker would have
	 * reported it: after the `finding_pos` other findings reported
	 * before its event, as sim_report appends (and drops past the
	 * table). */
	for (uint32_t i = 0; i <= in_count; i++) {
		for (; e < ev_count && (i == in_count ||
					ev[e].finding_pos <= seen); e++) {
			if (!lockdep_graph_apply(g, idx, &ev[e], scratch))
				continue;
			lo++;
			if (n < FINDINGS_PER_RUN_MAX)
				f[n++] = *scratch;
		}
		if (i == in_count)
			break;
		if (runner_kind_is_campaign_wide(in[i].kind))
			continue;
		seen++;
		if (n < FINDINGS_PER_RUN_MAX)
			f[n++] = in[i];
	}
	if (lock_order)
		*lock_order = lo;
	return n;
}

static bool has_dep_event(const struct lockdep_event *ev, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (ev[i].kind == LOCKDEP_EV_DEP)
			return true;
	return false;
}

static struct run_result run_of(const struct store_run *r)
{
	return (struct run_result){
		.index = r->idx,
		.seed = r->seed,
		.outcome = r->outcome,
		.steps = r->steps,
		.decisions = r->decisions_count,
		.virtual_ns = r->virtual_ns,
		.trace_hash = r->trace_hash,
	};
}

/* Scratch a campaign needs besides the engine: too big for the stack. */
struct runner_scratch {
	struct lockdep_graph *graph;
	struct metrics batch;		/* metrics of runs staged, not yet
					 * added to the store */
	struct finding found;
	struct finding findings[FINDINGS_PER_RUN_MAX];
	struct store_cursor_run cur;
};

static struct runner_scratch *scratch_create(void)
{
	struct runner_scratch *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->graph = lockdep_graph_create();
	if (!x->graph) {
		free(x);
		return NULL;
	}
	metrics_reset(&x->batch);
	return x;
}

static void scratch_destroy(struct runner_scratch *x)
{
	if (!x)
		return;
	lockdep_graph_destroy(x->graph);
	free(x);
}

/* Commit the staged batch with its metrics. */
static enum store_rc flush_batch(struct store *st, int64_t campaign_id,
				 struct runner_scratch *x)
{
	enum store_rc rc = store_metrics(st, campaign_id, &x->batch);

	if (rc == STORE_OK)
		rc = store_flush(st);
	if (rc == STORE_OK)
		metrics_reset(&x->batch);
	return rc;
}

/*
 * Resume: count the committed runs of the reopened campaign into out and
 * the graph, in schedule order.  They must be the first runs of the
 * campaign's slice (a campaign commits its runs in order); *next is the
 * first schedule not recorded.
 */
static enum runner_rc resume_committed(const struct runner_params *p,
				       struct runner_result *out,
				       struct runner_scratch *x,
				       uint64_t *next)
{
	uint64_t want = p->shard_index;
	enum store_rc src = store_cursor_open(p->store, p->resume_campaign_id);
	bool done = false;

	while (src == STORE_OK) {
		src = store_cursor_next(p->store, &x->cur, &done);
		if (src != STORE_OK || done)
			break;
		const struct store_run *r = &x->cur.run;
		if (r->idx != want) {
			store_cursor_close(p->store);
			snprintf(out->err, sizeof(out->err),
				 "%s: campaign %" PRId64 " cannot be resumed: "
				 "schedule %" PRIu64 " is recorded but %" PRIu64
				 " is not", store_path(p->store),
				 p->resume_campaign_id, r->idx, want);
			return RUNNER_ERR_PARAMS;
		}
		struct run_result rr = run_of(r);
		uint32_t n = final_findings(x->graph, r->idx, x->cur.findings,
					    x->cur.findings_count,
					    r->lock_events, r->lock_events_count,
					    x->findings, &x->found, NULL);
		count_run(out, &rr, x->findings, p->shard_count > 1 ? 0 : n);
		want += p->shard_count;
	}
	store_cursor_close(p->store);
	if (src != STORE_OK)
		return store_failed(out, p->store);
	*next = want;
	return RUNNER_OK;
}

enum runner_rc runner_run(const struct runner_params *p,
			  struct runner_result *out)
{
	struct strategy_params sp = p->strategy;
	struct strategy *s = NULL;
	struct engine *e = NULL;
	struct checkers *ck = NULL;
	struct runner_scratch *x = NULL;
	enum runner_rc rc = RUNNER_OK;
	uint32_t shards = p->shard_count ? p->shard_count : 1;
	uint64_t first_idx = p->shard_index;
	char params[512];

	SIM_ASSERT(p != NULL && p->sc != NULL && out != NULL);
	SIM_ASSERT(sp.kind != STRATEGY_REPLAY);
	SIM_ASSERT(p->schedules >= 1 && p->schedules <= RUNNER_SCHEDULES_MAX);
	SIM_ASSERT(p->shard_index < shards);
	if (p->resume_campaign_id)
		SIM_ASSERT(p->store != NULL);
	memset(out, 0, sizeof(*out));
	out->status = STORE_FAILED;
	metrics_reset(&out->metrics);

	/* dfs enumerates one tree depth first: schedule i is the i-th leaf
	 * of a walk that needs every earlier leaf, so its indices cannot be
	 * dealt out, nor a walk picked up in the middle. */
	if (sp.kind == STRATEGY_DFS && (shards > 1 || p->resume_campaign_id)) {
		snprintf(out->err, sizeof(out->err),
			 "the dfs strategy walks its schedules in one sequence "
			 "and cannot be split (--jobs, --shard) or resumed; run "
			 "it in one process");
		rc = RUNNER_ERR_PARAMS;
		goto done;
	}
	/* Stopping at the first problem needs every earlier schedule's
	 * lock-graph events, which other shards hold. */
	if (p->stop_on_first && shards > 1) {
		snprintf(out->err, sizeof(out->err),
			 "--stop-on-first needs the whole campaign in one "
			 "process; it cannot be combined with --jobs or "
			 "--shard");
		rc = RUNNER_ERR_PARAMS;
		goto done;
	}

	x = scratch_create();
	e = campaign_engine(p->sc, p->trace_out);
	/* Every checker, with the scenario's thresholds (by default a hung
	 * task after 120 s of virtual time, a livelock after 16 retries of
	 * one fault).  lock_order is computed here, from the checkers'
	 * events, in schedule order (final_findings). */
	ck = e ? checkers_create(&(struct checker_settings){
			 .hung_task_timeout_ns = p->sc->checks.hung_task_timeout_ns,
			 .fault_retries_max = p->sc->checks.fault_retries_max,
			 .lock_order_deferred = true })
	       : NULL;
	if (!e || !ck || !x) {
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

	if (p->store && p->resume_campaign_id) {
		if (store_campaign_reopen(p->store, p->resume_campaign_id) !=
		    STORE_OK) {
			rc = store_failed(out, p->store);
			goto done;
		}
		out->campaign_id = p->resume_campaign_id;
		rc = resume_committed(p, out, x, &first_idx);
		if (rc != RUNNER_OK)
			goto done;
	} else if (p->store) {
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
			.shard_index = p->shard_index,
			.shard_count = shards,
		};
		if (store_campaign_begin(p->store, &c, &out->campaign_id) !=
		    STORE_OK) {
			rc = store_failed(out, p->store);
			goto done;
		}
	}

	bool space_done = false;	/* the strategy has nothing left */
	uint64_t slice = (p->schedules - p->shard_index + shards - 1) / shards;
	for (uint64_t i = first_idx; i < p->schedules; i += shards) {
		struct run_result r;
		const struct lockdep_event *ev;
		uint32_t lock_order;
		bool more;

		if (p->trace_out)
			fprintf(p->trace_out, "# schedule %" PRIu64 "\n", i);
		more = campaign_run_schedule(e, p->sc, s, ck, p->base_seed, i,
					     &r);
		uint32_t evn = checkers_lock_events(ck, &ev);
		uint32_t n = final_findings(x->graph, i, e->findings,
					    e->findings_count, ev, evn,
					    x->findings, &x->found,
					    &lock_order);
		/* A shard's graph is its own slice's: what it closes is only
		 * known once the shards are merged, so it records none. */
		uint32_t kept = shards > 1 ? n - lock_order : n;
		count_run(out, &r, x->findings, kept);
		metrics_merge(&x->batch, checkers_run_metrics(ck));
		if (p->store) {
			struct store_run sr;
			store_run_fill(&sr, &r, e);
			sr.lock_events = ev;
			sr.lock_events_count = evn;
			sr.keep_decisions = shards > 1 && has_dep_event(ev, evn);
			enum store_rc src = STORE_OK;
			if (store_batch_full(p->store))
				src = flush_batch(p->store, out->campaign_id, x);
			if (src == STORE_OK)
				src = store_run_add(p->store, out->campaign_id,
						    &sr, x->findings, kept);
			if (src != STORE_OK) {
				rc = store_failed(out, p->store);
				break;
			}
		}
		if (p->after_run && !p->after_run(p->ctx, &r, e)) {
			rc = RUNNER_STOPPED;
			break;
		}
		if (p->stop_on_first && runner_is_problem(r.outcome, n)) {
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
		out->status = out->schedules_run == slice || space_done
				      ? STORE_DONE
				      : STORE_INTERRUPTED;
	else if (rc == RUNNER_STOPPED)
		out->status = STORE_INTERRUPTED;

	out->metrics = *checkers_campaign_metrics(ck);
	collect_cycles(out, x->graph);
	if (p->store) {
		enum store_rc src = rc == RUNNER_ERR_STORE
					    ? STORE_OK
					    : store_metrics(p->store,
							    out->campaign_id,
							    &x->batch);
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
	/* The checkers detach from the engine as they go: first. */
	checkers_destroy(ck);
	if (e) {
		engine_end(e);
		engine_destroy(e);
	}
	strategy_destroy(s);
	scratch_destroy(x);
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
	/* Schedule 0 runs with its base seed: the recorded run seed, whatever
	 * schedule of whatever strategy it was. */
	campaign_run_schedule(e, sc, s, ck, seed, 0, &out->run);
	out->diverged = strategy_diverged(s, &out->diverged_at);
	out->problems_count = runner_run_problems(
		out->run.outcome, e->findings, e->findings_count,
		out->problems, FINDINGS_PER_RUN_MAX + 1);
	out->rc = RUNNER_OK;
done:
	checkers_destroy(ck);
	if (e) {
		engine_end(e);
		engine_destroy(e);
	}
	strategy_destroy(s);
	return out->rc;
}
