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
 * are dropped and computed again), with the lock_order findings that its
 * lock-graph events close in `g` (when `insert`; a shard's graph holds its
 * own slice only, so it applies the events but records no lock_order).
 * Returns how many are in f; *lock_order (may be NULL) counts the cycles
 * closed, inserted or not.
 */
static uint32_t final_findings(struct lockdep_graph *g, uint64_t idx,
			       const struct finding *in, uint32_t in_count,
			       const struct lockdep_event *ev,
			       uint32_t ev_count, struct finding *f,
			       struct finding *scratch, bool insert,
			       uint32_t *lock_order)
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
			if (insert && n < FINDINGS_PER_RUN_MAX)
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

bool runner_can_split(const struct runner_params *p, bool split, bool resume,
		      char *err, size_t len)
{
	/* dfs enumerates one tree depth first: schedule i is the i-th leaf
	 * of a walk that needs every earlier leaf, so its indices cannot be
	 * dealt out, nor a walk picked up in the middle. */
	if (p->strategy.kind == STRATEGY_DFS && (split || resume)) {
		snprintf(err, len,
			 "the dfs strategy walks its schedules in one sequence "
			 "and cannot be split (--jobs, --shard) or resumed; run "
			 "it in one process");
		return false;
	}
	/* Stopping at the first problem needs every earlier schedule's
	 * lock-graph events, which other shards hold; and the metrics of
	 * the runs a shard ran past that schedule could not be taken out
	 * of its sums. */
	if (p->stop_on_first && split) {
		snprintf(err, len,
			 "--stop-on-first needs the whole campaign in one "
			 "process; it cannot be combined with --jobs or "
			 "--shard");
		return false;
	}
	return true;
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
					    x->findings, &x->found,
					    p->shard_count <= 1, NULL);
		count_run(out, &rr, x->findings, n);
		want += p->shard_count;
	}
	store_cursor_close(p->store);
	if (src != STORE_OK)
		return store_failed(out, p->store);
	*next = want;
	return RUNNER_OK;
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

	if (!runner_can_split(p, shards > 1, p->resume_campaign_id != 0,
			      out->err, sizeof(out->err))) {
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

	if (p->store && p->attach_campaign_id) {
		/* A --jobs worker: the parent began the campaign. */
		store_campaign_attach(p->store, p->attach_campaign_id,
				      p->attach_run_id_base);
		out->campaign_id = p->attach_campaign_id;
	} else if (p->store && p->resume_campaign_id) {
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
		uint32_t kept = final_findings(x->graph, i, e->findings,
					       e->findings_count, ev, evn,
					       x->findings, &x->found,
					       shards == 1, &lock_order);
		if (p->verify && runner_is_problem(r.outcome, kept)) {
			rc = verify_run(p, &verifier, e, &r, out);
			if (rc != RUNNER_OK)
				break;
		}
		count_run(out, &r, x->findings, kept);
		if (p->store) {
			struct store_run sr;
			store_run_fill(&sr, &r, e);
			sr.lock_events = ev;
			sr.lock_events_count = evn;
			sr.keep_decisions = shards > 1 && has_dep_event(ev, evn);
			/* A full batch is committed with the metrics of its
			 * own runs, before this run joins the next one. */
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
		metrics_merge(&x->batch, checkers_run_metrics(ck));
		if (p->after_run && !p->after_run(p->ctx, &r, e)) {
			rc = RUNNER_STOPPED;
			break;
		}
		if (p->stop_on_first &&
		    runner_is_problem(r.outcome, kept + (shards > 1 ? lock_order : 0))) {
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
	if (p->store && p->attach_campaign_id) {
		enum store_rc src = rc == RUNNER_ERR_STORE
					    ? STORE_OK
					    : store_metrics(p->store,
							    out->campaign_id,
							    &x->batch);
		if (src == STORE_OK)
			src = store_campaign_detach(p->store);
		if (src != STORE_OK && rc != RUNNER_ERR_STORE)
			rc = store_failed(out, p->store);
	} else if (p->store) {
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
	verifier_destroy(&verifier);
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

static uint64_t params_pct_steps(const char *json);

/* --------------------------------------------- a campaign of workers */

enum runner_rc runner_campaign_begin(struct runner_params *p,
				     struct store *st, int64_t *campaign_id,
				     int64_t *id_base, char *err, size_t len)
{
	char params[512];

	SIM_ASSERT(p != NULL && st != NULL && campaign_id != NULL);
	*campaign_id = 0;
	if (p->strategy.kind == STRATEGY_PCT && p->strategy.pct_steps == 0) {
		struct engine *e = campaign_engine(p->sc, NULL);
		if (!e) {
			snprintf(err, len, "cannot create the engine: %s",
				 strerror(errno));
			return RUNNER_ERR_NOMEM;
		}
		p->strategy.pct_steps = campaign_estimate_pct_steps(e, p->sc,
								    p->base_seed);
		engine_end(e);
		engine_destroy(e);
	}
	bool fits = runner_params_json(p, p->strategy.pct_steps, params,
				       sizeof(params));
	SIM_ASSERT(fits);
	struct store_campaign c = {
		.scenario_name = p->sc->name,
		.scenario_json = p->sc->json_text,
		.scenario_json_len = p->sc->json_len,
		.variant = p->sc->variant,
		.strategy = strategy_kind_name(p->strategy.kind),
		.params_json = params,
		.base_seed = p->base_seed,
		.schedules = p->schedules,
	};
	if (store_campaign_begin(st, &c, campaign_id) != STORE_OK ||
	    store_campaign_detach(st) != STORE_OK ||
	    store_reserve_run_ids(st, *campaign_id, p->schedules, id_base) !=
		    STORE_OK) {
		snprintf(err, len, "%s", store_error(st));
		return RUNNER_ERR_STORE;
	}
	return RUNNER_OK;
}

enum runner_rc runner_finish(struct store *st, int64_t campaign_id,
			     bool interrupted, struct runner_result *out)
{
	struct runner_scratch *x = scratch_create();
	struct store_campaign_info ci;
	struct store_refind *todo = NULL;
	uint32_t todo_count = 0, todo_cap = 0;
	uint64_t totals[RUN_OUTCOMES_COUNT];
	enum runner_rc rc = RUNNER_OK;
	bool done = false;

	SIM_ASSERT(st != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	memset(&ci, 0, sizeof(ci));
	metrics_reset(&out->metrics);
	out->campaign_id = campaign_id;
	out->status = STORE_FAILED;
	if (!x) {
		snprintf(out->err, sizeof(out->err), "out of memory");
		rc = RUNNER_ERR_NOMEM;
		goto end;
	}
	if (store_campaign_info(st, campaign_id, &ci) != STORE_OK ||
	    store_outcome_counts(st, campaign_id, totals) != STORE_OK) {
		rc = store_failed(out, st);
		goto end;
	}
	out->pct_steps = params_pct_steps(ci.params_json);
	/* The runs that can matter, in schedule order, through the same
	 * final_findings as every other mode; the rest only count as ok. */
	store_cursor_open_notable(st, campaign_id);
	while (rc == RUNNER_OK) {
		if (store_cursor_next(st, &x->cur, &done) != STORE_OK) {
			rc = store_failed(out, st);
			break;
		}
		if (done)
			break;
		const struct store_run *r = &x->cur.run;
		struct run_result rr = run_of(r);
		uint32_t lo;
		uint32_t n = final_findings(x->graph, r->idx, x->cur.findings,
					    x->cur.findings_count,
					    r->lock_events, r->lock_events_count,
					    x->findings, &x->found, true, &lo);
		count_run(out, &rr, x->findings, n);
		/* A worker kept the log of a run that added a dependency
		 * (it might close a cycle); keep it only if one process
		 * would have. */
		bool drop = x->cur.has_decisions && !ci.keep_decisions &&
			    !runner_is_problem(r->outcome, n);
		if (!lo && !drop)
			continue;
		if (todo_count == todo_cap) {
			todo_cap = todo_cap ? 2 * todo_cap : 64;
			struct store_refind *t = realloc(todo, todo_cap * sizeof(*t));
			if (!t) {
				rc = RUNNER_ERR_NOMEM;
				break;
			}
			todo = t;
		}
		/* Rewritten once the cursor is closed. */
		struct store_refind *t = &todo[todo_count++];
		*t = (struct store_refind){ x->cur.run_id, drop, n, NULL };
		if (lo) {
			t->findings = malloc(n * sizeof(*t->findings));
			if (!t->findings) {
				rc = RUNNER_ERR_NOMEM;
				break;
			}
			memcpy(t->findings, x->findings, n * sizeof(*t->findings));
		}
	}
	store_cursor_close(st);
	if (rc == RUNNER_ERR_NOMEM)
		snprintf(out->err, sizeof(out->err), "out of memory");
	if (rc == RUNNER_OK &&
	    store_runs_refind(st, todo, todo_count) != STORE_OK)
		rc = store_failed(out, st);
	/* The runs not read are ok runs without findings. */
	uint64_t total = 0;
	for (int o = 0; o < RUN_OUTCOMES_COUNT; o++) {
		SIM_ASSERT(out->outcomes[o] <= totals[o]);
		total += totals[o];
	}
	out->outcomes[RUN_OK] = totals[RUN_OK];
	out->schedules_run = total;
	collect_cycles(out, x->graph);
	out->status = rc != RUNNER_OK ? STORE_FAILED
		      : interrupted || total < ci.schedules ? STORE_INTERRUPTED
							    : STORE_DONE;
end:
	if ((store_release_run_ids(st, campaign_id) != STORE_OK ||
	     store_campaign_attach(st, campaign_id, -1) != STORE_OK ||
	     store_campaign_end(st, campaign_id, out->status) != STORE_OK) &&
	    rc == RUNNER_OK)
		rc = store_failed(out, st);
	if (rc == RUNNER_OK)
		rc = find_run_ids(out, st);
	for (uint32_t i = 0; i < todo_count; i++)
		free(todo[i].findings);
	free(todo);
	store_campaign_info_free(&ci);
	scratch_destroy(x);
	out->rc = rc;
	return rc;
}

/* ------------------------------------------------------------- merge */

/* One shard database being merged. */
struct merge_source {
	const char *path;
	struct store *st;
	struct store_campaign_info info;
	bool open_cursor;
	bool done;			/* its cursor ran out */
	struct store_cursor_run *cur;	/* its next run, read ahead */
};

/* What makes two shards parts of one campaign. */
static bool same_campaign(const struct store_campaign_info *a,
			  const struct store_campaign_info *b, const char **what)
{
	*what = strcmp(a->scenario_sha256, b->scenario_sha256) ? "scenario (sha256)"
		: strcmp(a->variant, b->variant)	       ? "variant"
		: strcmp(a->strategy, b->strategy)	       ? "strategy"
		: strcmp(a->params_json, b->params_json)       ? "parameters"
		: a->base_seed != b->base_seed		       ? "base seed"
		: a->schedules != b->schedules		       ? "schedule count"
		: a->shard_count != b->shard_count	       ? "shard count"
		: a->keep_decisions != b->keep_decisions      ? "--keep-decisions"
							       : NULL;
	return *what == NULL;
}

/* Open one shard and read its campaign row. */
static enum runner_rc merge_open(struct merge_source *m,
				 struct runner_result *out)
{
	int64_t ids[2];
	uint32_t count;

	if (store_open(m->path, NULL, &m->st, out->err, sizeof(out->err)) !=
	    STORE_OK)
		return RUNNER_ERR_STORE;
	if (store_campaign_ids(m->st, ids, 2, &count) != STORE_OK)
		return store_failed(out, m->st);
	if (count != 1) {
		snprintf(out->err, sizeof(out->err),
			 "%s: holds %" PRIu32 " campaigns; a shard database "
			 "holds exactly one (give each shard its own --db)",
			 m->path, count);
		return RUNNER_ERR_PARAMS;
	}
	if (store_campaign_info(m->st, ids[0], &m->info) != STORE_OK)
		return store_failed(out, m->st);
	return RUNNER_OK;
}

/* Read the shard's next run ahead (m->done at its end). */
static enum runner_rc merge_advance(struct merge_source *m,
				    struct runner_result *out)
{
	if (m->done)
		return RUNNER_OK;
	if (store_cursor_next(m->st, m->cur, &m->done) != STORE_OK)
		return store_failed(out, m->st);
	return RUNNER_OK;
}

/* Check the shards are the N parts of one campaign, each complete (or,
 * partial, each stopped), and order them by shard index. */
static enum runner_rc merge_check(struct merge_source *ms, uint32_t n,
				  bool partial, struct runner_result *out)
{
	const struct store_campaign_info *a = &ms[0].info;
	const char *what;

	for (uint32_t i = 0; i < n; i++) {
		const struct store_campaign_info *b = &ms[i].info;
		if (!same_campaign(a, b, &what)) {
			snprintf(out->err, sizeof(out->err),
				 "%s and %s are not shards of one campaign: "
				 "their %s differs", ms[0].path, ms[i].path,
				 what);
			return RUNNER_ERR_PARAMS;
		}
		if (b->status != STORE_DONE && !partial) {
			snprintf(out->err, sizeof(out->err),
				 "%s: shard %" PRIu32 " of %" PRIu32 " is %s, "
				 "not done (%" PRIu64 " runs recorded); finish it "
				 "with simrun --resume --db %s, then merge",
				 ms[i].path, b->shard_index, b->shard_count,
				 store_status_name(b->status), b->runs,
				 ms[i].path);
			return RUNNER_ERR_PARAMS;
		}
	}
	if (a->shard_count != n) {
		snprintf(out->err, sizeof(out->err),
			 "the campaign was run as %" PRIu32 " shards and %"
			 PRIu32 " database%s given; give all %" PRIu32,
			 a->shard_count, n, n == 1 ? " is" : "s are",
			 a->shard_count);
		return RUNNER_ERR_PARAMS;
	}
	/* Order by shard index; a repeated index means a missing one. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = i;
		while (j < n && ms[j].info.shard_index != i)
			j++;
		if (j == n) {
			snprintf(out->err, sizeof(out->err),
				 "shard %" PRIu32 " of %" PRIu32 " is missing "
				 "(a shard was given twice?)", i, n);
			return RUNNER_ERR_PARAMS;
		}
		struct merge_source t = ms[i];
		ms[i] = ms[j];
		ms[j] = t;
	}
	return RUNNER_OK;
}

/* "pct_steps":K from a campaign's params_json (0 when absent). */
static uint64_t params_pct_steps(const char *json)
{
	const char *k = strstr(json, "\"pct_steps\":");
	unsigned long long v = 0;

	if (k && sscanf(k + strlen("\"pct_steps\":"), "%llu", &v) != 1)
		v = 0;
	return (uint64_t)v;
}

struct merge_metrics_ctx {
	struct store *target;
	int64_t campaign_id;
	enum store_rc rc;
};

static bool merge_metric(void *p, const char *name, const uint64_t *bucket,
			 uint64_t count)
{
	struct merge_metrics_ctx *c = p;

	c->rc = store_metric_add(c->target, c->campaign_id, name, bucket,
				 count);
	return c->rc == STORE_OK;
}

/* Merge the runs, schedule by schedule: schedule i from shard i % n. */
static enum runner_rc merge_runs(struct merge_source *ms, uint32_t n,
				 bool partial, struct store *target,
				 struct runner_scratch *x,
				 struct runner_result *out)
{
	const struct store_campaign_info *a = &ms[0].info;

	for (uint64_t i = 0; i < a->schedules; i++) {
		struct merge_source *m = &ms[i % n];
		if (m->done || m->cur->run.idx != i) {
			if (partial)
				break;
			snprintf(out->err, sizeof(out->err),
				 "%s: shard %" PRIu64 " of %" PRIu32 " lacks "
				 "schedule %" PRIu64 "; the file is damaged, or "
				 "was written by a simrun that numbers shards "
				 "differently", m->path, i % n, n, i);
			return RUNNER_ERR_PARAMS;
		}
		struct store_run r = m->cur->run;
		struct run_result rr = run_of(&r);
		uint32_t f = final_findings(x->graph, i, m->cur->findings,
					    m->cur->findings_count,
					    r.lock_events, r.lock_events_count,
					    x->findings, &x->found, true, NULL);
		count_run(out, &rr, x->findings, f);
		if (target) {
			bool keep = a->keep_decisions || f > 0 ||
				    r.outcome != RUN_OK;
			if (keep && !m->cur->has_decisions) {
				snprintf(out->err, sizeof(out->err),
					 "%s: schedule %" PRIu64 " has a "
					 "finding once merged but its shard "
					 "kept no decision log", m->path, i);
				return RUNNER_ERR_PARAMS;
			}
			/* The store keeps the log exactly when one process
			 * would have (a finding, a bad outcome, or
			 * --keep-decisions), not when the shard did. */
			r.keep_decisions = false;
			if (store_batch_full(target) &&
			    store_flush(target) != STORE_OK)
				return store_failed(out, target);
			if (store_run_add(target, out->campaign_id, &r,
					  x->findings, f) != STORE_OK)
				return store_failed(out, target);
		}
		enum runner_rc rc = merge_advance(m, out);
		if (rc != RUNNER_OK)
			return rc;
	}
	return RUNNER_OK;
}

enum runner_rc runner_merge(const struct runner_merge_params *p,
			    struct runner_result *out)
{
	struct merge_source *ms = NULL;
	struct runner_scratch *x = NULL;
	struct store *target = NULL;
	enum runner_rc rc = RUNNER_OK;
	uint32_t n = p->sources_count;
	char err[STORE_MESSAGE_MAX];

	SIM_ASSERT(p != NULL && out != NULL);
	SIM_ASSERT(n >= 1 && p->sources != NULL);
	memset(out, 0, sizeof(*out));
	out->status = STORE_FAILED;
	metrics_reset(&out->metrics);
	ms = calloc(n, sizeof(*ms));
	x = scratch_create();
	bool nomem = !ms || !x;
	for (uint32_t i = 0; ms && i < n; i++) {
		ms[i].path = p->sources[i];
		ms[i].cur = malloc(sizeof(*ms[i].cur));
		nomem |= ms[i].cur == NULL;
	}
	if (nomem) {
		snprintf(out->err, sizeof(out->err), "out of memory merging");
		rc = RUNNER_ERR_NOMEM;
		goto done;
	}
	for (uint32_t i = 0; i < n && rc == RUNNER_OK; i++)
		rc = merge_open(&ms[i], out);
	if (rc == RUNNER_OK)
		rc = merge_check(ms, n, p->partial, out);
	if (rc != RUNNER_OK)
		goto done;
	const struct store_campaign_info *a = &ms[0].info;
	out->pct_steps = params_pct_steps(a->params_json);

	if (p->target) {
		struct store_opts o = { .keep_all_decisions = a->keep_decisions };
		if (store_open(p->target, &o, &target, out->err,
			       sizeof(out->err)) != STORE_OK) {
			rc = RUNNER_ERR_STORE;
			goto done;
		}
		struct store_campaign c = {
			.scenario_name = a->scenario_name,
			.scenario_json = a->scenario_json,
			.scenario_json_len = a->scenario_json_len,
			.variant = a->variant,
			.strategy = a->strategy,
			.params_json = a->params_json,
			.base_seed = a->base_seed,
			.schedules = a->schedules,
		};
		if (store_campaign_begin(target, &c, &out->campaign_id) !=
		    STORE_OK) {
			rc = store_failed(out, target);
			goto done;
		}
	}
	for (uint32_t i = 0; i < n && rc == RUNNER_OK; i++) {
		store_cursor_open(ms[i].st, ms[i].info.campaign_id);
		ms[i].open_cursor = true;
		rc = merge_advance(&ms[i], out);
	}
	if (rc == RUNNER_OK)
		rc = merge_runs(ms, n, p->partial, target, x, out);
	collect_cycles(out, x->graph);
	out->status = rc != RUNNER_OK ? STORE_FAILED
		      : out->schedules_run == a->schedules ? STORE_DONE
							   : STORE_INTERRUPTED;
	if (target) {
		/* Metric counts add up: the shards' sum is the campaign's. */
		struct merge_metrics_ctx mc = { target, out->campaign_id,
						STORE_OK };
		for (uint32_t i = 0; i < n && rc == RUNNER_OK; i++) {
			if (store_campaign_metrics(ms[i].st, ms[i].info.campaign_id,
						   merge_metric, &mc) != STORE_OK)
				rc = store_failed(out, ms[i].st);
			else if (mc.rc != STORE_OK)
				rc = store_failed(out, target);
		}
		if (store_campaign_end(target, out->campaign_id,
				       out->status) != STORE_OK) {
			if (rc == RUNNER_OK)
				rc = store_failed(out, target);
		} else if (rc == RUNNER_OK) {
			rc = find_run_ids(out, target);
		}
	}
done:
	for (uint32_t i = 0; ms && i < n; i++) {
		if (ms[i].open_cursor)
			store_cursor_close(ms[i].st);
		store_close(ms[i].st, NULL, 0);
		store_campaign_info_free(&ms[i].info);
		free(ms[i].cur);
	}
	if (target && store_close(target, err, sizeof(err)) != STORE_OK &&
	    rc == RUNNER_OK) {
		snprintf(out->err, sizeof(out->err), "%s", err);
		rc = RUNNER_ERR_STORE;
	}
	free(ms);
	scratch_destroy(x);
	out->rc = rc;
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
