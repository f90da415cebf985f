/*
 * cmd_run.c: `simrun SCENARIO [options]`, one campaign: load the scenario,
 * run its schedules through the runner, record them, and print the seed,
 * the outcome counts and each distinct finding with the command that
 * reproduces it (or one JSON object).  Not the loop itself (runner.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"

static const struct opt_spec run_specs[] = {
	{ "--variant", "NAME" },
	{ "--seed", "N" },
	{ "--schedules", "N" },
	{ "--strategy", "NAME" },
	{ "--pct-depth", "D" },
	{ "--pct-steps", "K" },
	{ "--preemptions", "B" },
	{ "--db", "PATH" },
	{ "--no-db", NULL },
	{ "--keep-decisions", NULL },
	{ "--stop-on-first", NULL },
	{ "--verify", NULL },
	{ "--jobs", "N" },
	{ "--shard", "K/N" },
	{ "--commit-every", "N" },
	{ "--resume", NULL },
	{ "--json", NULL },
	{ "--trace", NULL },
	{ "--list-variants", NULL },
	{ "--help", NULL },
	{ NULL, NULL },
};

void cmd_run_usage(FILE *f)
{
	fputs("usage: simrun SCENARIO [--variant NAME] [--seed N] [--schedules N]\n"
	      "              [--strategy timed|random|pct|dfs] [--pct-depth D] [--pct-steps K]\n"
	      "              [--preemptions B|none] [--db PATH | --no-db] [--keep-decisions]\n"
	      "              [--stop-on-first] [--verify] [--json] [--trace]\n"
	      "              [--jobs N | --shard K/N] [--commit-every N]\n"
	      "       simrun --resume [CAMPAIGN_ID] [--db PATH] [--json]\n"
	      "       simrun SCENARIO --list-variants\n"
	      "\n"
	      "Runs one campaign: schedules 0..N-1 of SCENARIO (a JSON file) from one base\n"
	      "seed, records every run in the result database, and prints the outcome counts\n"
	      "and each distinct finding with a command that reproduces it.  The seed is the\n"
	      "first line of output (on stderr with --json).  Options not given come from the\n"
	      "scenario's \"explore\" section, then from the built-in defaults.\n"
	      "\n"
	      "  --variant NAME     apply the scenario's variant NAME (default: the base)\n"
	      "  --seed N           base seed, decimal or 0x hex (default 42); schedule 0\n"
	      "                     runs with N itself\n"
	      "  --schedules N      schedules to run, 1 to 100000000 (explore.schedules, 1)\n"
	      "  --strategy NAME    timed, random, pct or dfs (explore.strategy, timed)\n"
	      "  --pct-depth D      pct: bug depth d, 1 to 16 (explore.pct_depth, 3)\n"
	      "  --pct-steps K      pct: run length k in decisions (default: measured by one\n"
	      "                     timed run of schedule 0)\n"
	      "  --preemptions B    dfs: preemption bound 0 to 64, or none\n"
	      "                     (explore.preemptions, none)\n"
	      "  --db PATH          record the campaign in PATH (default simrun.db)\n"
	      "  --no-db            record nothing\n"
	      "  --keep-decisions   keep every run's decision log, not only those of runs\n"
	      "                     with a finding, so that any run can be replayed\n"
	      "  --stop-on-first    stop after the first run with a finding\n"
	      "  --verify           execute every run with a finding twice (the second time\n"
	      "                     from its own decision log) and compare the trace hashes\n"
	      "                     before recording it; a difference is a simrun bug: both\n"
	      "                     hashes, the seed and the schedule are printed, the runs\n"
	      "                     before it stay recorded, and the exit status is 3\n"
	      "  --json             print one JSON object on stdout\n"
	      "  --trace            print every step of every run (stdout; stderr with --json)\n"
	      "  --jobs N           run the campaign as N worker processes, each a disjoint\n"
	      "                     slice of the schedules (i % N), merged into one\n"
	      "                     campaign: the same runs, findings and summary as\n"
	      "                     --jobs 1 (not with dfs or --stop-on-first)\n"
	      "  --shard K/N        run only schedules i with i % N == K, recorded as\n"
	      "                     shard K of N; combine the N databases with\n"
	      "                     `simrun merge` (not with dfs or --stop-on-first)\n"
	      "  --commit-every N   commit the database every N runs (default 256): what\n"
	      "                     a killed simrun can lose at most\n"
	      "  --resume [ID]      continue the campaign of --db left running or\n"
	      "                     interrupted (the newest, or campaign ID): its scenario\n"
	      "                     and settings come from the database, recorded runs are\n"
	      "                     kept, the rest run; it ends as an uninterrupted run\n"
	      "  --list-variants    print the scenario's variant names, one a line\n"
	      "\n"
	      "Exit status: 0 no findings, 1 findings, 2 usage or input error (including a\n"
	      "database that is locked or cannot be written), 3 internal error, 128+N when\n"
	      "interrupted by signal N (the campaign is recorded as interrupted).\n",
	      f);
}

static int list_variants(const char *path)
{
	char err[CLI_ERR_MAX];
	struct scenario *sc = scenario_load_file(path, NULL, err, sizeof(err));

	if (!sc) {
		cli_error(NULL, "%s", err);
		return EXIT_USAGE;
	}
	for (uint32_t i = 0; i < sc->variants_count; i++)
		printf("%s\n", sc->variants[i].name);
	scenario_free(sc);
	return EXIT_CLEAN;
}

static void print_outcomes(const struct runner_result *res)
{
	bool first = true;

	printf("outcomes:");
	for (int o = 0; o < RUN_OUTCOMES_COUNT; o++) {
		if (!res->outcomes[o])
			continue;
		printf("%s %" PRIu64 " %s", first ? "" : ",", res->outcomes[o],
		       run_outcome_name((enum run_outcome)o));
		first = false;
	}
	printf("\n");
}

static void print_search(const struct runner_params *p,
			 const struct runner_result *res)
{
	if (p->strategy.kind != STRATEGY_DFS || res->nondeterministic)
		return;
	char bound[32];
	if (p->strategy.preemptions_max == UINT32_MAX)
		snprintf(bound, sizeof(bound), "with any number of preemptions");
	else
		snprintf(bound, sizeof(bound), "within %" PRIu32 " preemption%s",
			 p->strategy.preemptions_max,
			 p->strategy.preemptions_max == 1 ? "" : "s");
	if (res->exhausted)
		printf("dfs: explored every schedule %s: %" PRIu64
		       " schedule%s\n",
		       bound, res->schedules_run,
		       res->schedules_run == 1 ? "" : "s");
	else if (res->truncated)
		printf("dfs: explored every schedule %s over each run's first %u "
		       "decisions (%" PRIu64 " schedules); decisions beyond "
		       "those were not branched on\n",
		       bound, DFS_DEPTH_MAX, res->schedules_run);
	else if (!res->stopped_on_first && res->rc == RUNNER_OK)
		printf("dfs: not exhausted after %" PRIu64 " schedules %s; "
		       "give --schedules a larger number to explore further\n",
		       res->schedules_run, bound);
}

static void print_summary(const char *path, const struct runner_params *p,
			  const struct runner_result *res, const char *db)
{
	char cmd[8192];

	if (res->campaign_id)
		printf("campaign %" PRId64 ": %" PRIu64 " of %" PRIu64
		       " schedules run (%s)\n",
		       res->campaign_id, res->schedules_run, p->schedules,
		       store_status_name(res->status));
	else
		printf("%" PRIu64 " of %" PRIu64 " schedules run\n",
		       res->schedules_run, p->schedules);
	if (res->schedules_run == 0)
		return;
	print_outcomes(res);
	printf("schedule 0: %s, %" PRIu64 " steps, %" PRIu64
	       " ns virtual, trace %016" PRIx64 "\n",
	       run_outcome_name(res->first.outcome), res->first.steps,
	       res->first.virtual_ns, res->first.trace_hash);
	if (p->strategy.kind == STRATEGY_PCT)
		printf("pct: depth %" PRIu32 ", k = %" PRIu64 " decisions\n",
		       p->strategy.pct_depth ? p->strategy.pct_depth : 3,
		       res->pct_steps);
	print_search(p, res);
	if (p->verify && res->rc != RUNNER_ERR_VERIFY)
		printf("verify: %" PRIu64 " run%s with a finding executed twice, the "
		       "same trace hash each time\n",
		       res->verified, res->verified == 1 ? "" : "s");
	if (res->rc == RUNNER_ERR_VERIFY)
		printf("verify: stopped at schedule %" PRIu64 ", which did not repeat "
		       "itself (trace %016" PRIx64 ", then %016" PRIx64 "); its "
		       "findings are not counted or recorded\n",
		       res->verify_idx, res->verify_hash_first,
		       res->verify_hash_second);
	if (res->stopped_on_first)
		printf("stopped after the first run with a finding (schedule %"
		       PRIu64 "), as --stop-on-first asks\n",
		       res->first_problem_idx);
	if (!res->groups_count) {
		printf("no findings\n");
		cli_print_metrics(stdout, &res->metrics);
		return;
	}
	printf("findings: %" PRIu32 " distinct, in %" PRIu64 " of %" PRIu64
	       " runs (first at schedule %" PRIu64 ")\n",
	       res->groups_count, res->problem_runs, res->schedules_run,
	       res->first_problem_idx);
	for (uint32_t i = 0; i < res->groups_count; i++) {
		const struct runner_group *g = &res->groups[i];
		printf("  %s %016" PRIx64 ": %" PRIu64 " run%s, first schedule %"
		       PRIu64 " (run seed %" PRIu64 ")\n",
		       g->kind, g->signature, g->runs, g->runs == 1 ? "" : "s",
		       g->first_idx, g->first_seed);
		printf("    %s\n", g->summary);
		cli_reproduce_command(cmd, sizeof(cmd), db, path, p, res, g);
		printf("    %s: %s\n", g->first_run_id ? "replay" : "re-run", cmd);
		if (db && g->first_run_id > 0 && strcmp(g->kind, "deadlock") == 0) {
			cmd[0] = '\0';
			cli_shell_quote(cmd, sizeof(cmd), db);
			printf("    in lockdep's shape, with its trace: simrun show --db %s --run %"
			       PRId64 "\n", cmd, g->first_run_id);
		}
	}
	if (res->groups_dropped)
		printf("  ... and %" PRIu64 " more distinct findings (all are in "
		       "the database)\n",
		       res->groups_dropped);
	if (!db) {
		switch (p->strategy.kind) {
		case STRATEGY_DFS:
			printf("(each re-run repeats the dfs search up to that "
			       "schedule: the same runs, exactly)\n");
			break;
		case STRATEGY_PCT:
			printf("(each re-run is exact: a pct schedule depends only "
			       "on its run seed, d and k)\n");
			break;
		default:
			printf("(each re-run is exact: a %s schedule depends only "
			       "on its run seed)\n",
			       strategy_kind_name(p->strategy.kind));
			break;
		}
	}
	/* Lock-order cycles in the words kernel developers know from
	 * lockdep splats. */
	for (uint32_t i = 0; i < res->lock_order_count; i++)
		printf("\n%s", res->lock_order[i].report);
	if (res->lock_order_count)
		printf("\n");
	cli_print_metrics(stdout, &res->metrics);
}

static cJSON *summary_json(const struct runner_params *p,
			   const struct runner_result *res, const char *db)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *outcomes = cJSON_CreateObject();
	cJSON *findings = cJSON_CreateArray();
	const struct scenario *sc = p->sc;

	cJSON_AddItemToObject(o, "seed", cli_json_u64(p->base_seed));
	cJSON_AddStringToObject(o, "scenario", sc->name);
	cJSON_AddStringToObject(o, "variant", sc->variant);
	cJSON_AddStringToObject(o, "strategy",
				strategy_kind_name(p->strategy.kind));
	cJSON_AddItemToObject(o, "schedules", cli_json_u64(p->schedules));
	cJSON_AddItemToObject(o, "schedules_run",
			      cli_json_u64(res->schedules_run));
	/* Schedule 0, under the keys the first simrun printed. */
	if (res->schedules_run) {
		cJSON_AddStringToObject(o, "outcome",
					run_outcome_name(res->first.outcome));
		cJSON_AddItemToObject(o, "steps", cli_json_u64(res->first.steps));
		cJSON_AddItemToObject(o, "virtual_ns",
				      cli_json_u64(res->first.virtual_ns));
		cJSON_AddItemToObject(o, "trace_hash",
				      cli_json_hex16(res->first.trace_hash));
	}
	for (int i = 0; i < RUN_OUTCOMES_COUNT; i++)
		cJSON_AddItemToObject(outcomes,
				      run_outcome_name((enum run_outcome)i),
				      cli_json_u64(res->outcomes[i]));
	cJSON_AddItemToObject(o, "outcomes", outcomes);
	for (uint32_t i = 0; i < res->groups_count; i++) {
		const struct runner_group *g = &res->groups[i];
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "kind", g->kind);
		cJSON_AddItemToObject(f, "signature", cli_json_hex16(g->signature));
		cJSON_AddStringToObject(f, "summary", g->summary);
		cJSON_AddItemToObject(f, "runs", cli_json_u64(g->runs));
		cJSON_AddItemToObject(f, "schedule", cli_json_u64(g->first_idx));
		cJSON_AddItemToObject(f, "seed", cli_json_u64(g->first_seed));
		if (g->first_run_id)
			cJSON_AddItemToObject(f, "run_id",
					      cli_json_u64((uint64_t)g->first_run_id));
		else
			cJSON_AddNullToObject(f, "run_id");
		cJSON_AddItemToArray(findings, f);
	}
	cJSON_AddItemToObject(o, "findings", findings);
	cJSON_AddItemToObject(o, "findings_dropped",
			      cli_json_u64(res->groups_dropped));
	cJSON_AddItemToObject(o, "problem_runs", cli_json_u64(res->problem_runs));
	if (res->has_problem)
		cJSON_AddItemToObject(o, "first_finding_schedule",
				      cli_json_u64(res->first_problem_idx));
	else
		cJSON_AddNullToObject(o, "first_finding_schedule");
	if (p->strategy.kind == STRATEGY_PCT) {
		cJSON_AddItemToObject(o, "pct_depth",
				      cli_json_u64(p->strategy.pct_depth ? p->strategy.pct_depth : 3));
		cJSON_AddItemToObject(o, "pct_steps", cli_json_u64(res->pct_steps));
	}
	if (p->strategy.kind == STRATEGY_DFS) {
		if (p->strategy.preemptions_max == UINT32_MAX)
			cJSON_AddNullToObject(o, "preemptions");
		else
			cJSON_AddItemToObject(o, "preemptions",
					      cli_json_u64(p->strategy.preemptions_max));
		cJSON_AddBoolToObject(o, "exhausted", res->exhausted);
		cJSON_AddBoolToObject(o, "truncated", res->truncated);
	}
	cJSON *cycles = cJSON_CreateArray();
	for (uint32_t i = 0; i < res->lock_order_count; i++) {
		const struct lock_order_cycle *cy = &res->lock_order[i];
		cJSON *c = cJSON_CreateObject();
		cJSON_AddItemToObject(c, "signature", cli_json_hex16(cy->signature));
		cJSON_AddItemToObject(c, "schedule", cli_json_u64(cy->schedule));
		cJSON_AddStringToObject(c, "summary", cy->summary);
		cJSON_AddStringToObject(c, "report", cy->report);
		cJSON_AddItemToArray(cycles, c);
	}
	cJSON_AddItemToObject(o, "lock_order", cycles);
	cJSON_AddItemToObject(o, "metrics", cli_metrics_json(&res->metrics));
	cJSON_AddBoolToObject(o, "stopped_on_first", res->stopped_on_first);
	if (p->verify)
		cJSON_AddItemToObject(o, "verified", cli_json_u64(res->verified));
	cJSON_AddStringToObject(o, "status", store_status_name(res->status));
	if (db) {
		cJSON_AddStringToObject(o, "database", db);
		cJSON_AddItemToObject(o, "campaign_id",
				      cli_json_u64((uint64_t)res->campaign_id));
	} else {
		cJSON_AddNullToObject(o, "database");
		cJSON_AddNullToObject(o, "campaign_id");
	}
	return o;
}

/*
 * --resume: the campaign to continue and everything needed to run it
 * again, from the database alone: the scenario text, the variant, the
 * strategy and its parameters, the seed, the schedule count and the
 * slice.  The options that would change the campaign are refused.
 */
static const char *const resume_refused[] = {
	"--variant", "--seed", "--schedules", "--strategy", "--pct-depth",
	"--pct-steps", "--preemptions", "--keep-decisions", "--stop-on-first",
	"--jobs", "--shard", "--no-db", "--list-variants", NULL,
};

static bool resume_params(const struct store_campaign_info *ci,
			  struct scenario **sc, struct runner_params *p,
			  char *err, size_t len)
{
	enum strategy_kind kind;
	cJSON *j = NULL;
	bool ok = false;

	memset(p, 0, sizeof(*p));
	*sc = scenario_load_text(ci->scenario_json, ci->scenario_json_len,
				 "(the campaign's scenario)",
				 ci->variant[0] ? ci->variant : NULL, err, len);
	if (!*sc)
		return false;
	if (!strategy_kind_parse(ci->strategy, &kind) ||
	    kind == STRATEGY_REPLAY) {
		snprintf(err, len, "campaign %" PRId64 " has strategy %s, which "
			 "this simrun cannot run", ci->campaign_id, ci->strategy);
		goto out;
	}
	j = cJSON_Parse(ci->params_json);
	if (!cJSON_IsObject(j)) {
		snprintf(err, len, "campaign %" PRId64 ": params_json is not a "
			 "JSON object", ci->campaign_id);
		goto out;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "pct_depth");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "pct_steps");
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "preemptions");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "stop_on_first");
	p->sc = *sc;
	p->strategy.kind = kind;
	p->strategy.pct_depth = cJSON_IsNumber(d) ? (uint32_t)d->valuedouble : 0;
	p->strategy.pct_steps = cJSON_IsNumber(k) ? (uint64_t)k->valuedouble : 0;
	p->strategy.preemptions_max = cJSON_IsNumber(b) ? (uint32_t)b->valuedouble
							: UINT32_MAX;
	p->stop_on_first = cJSON_IsTrue(f);
	p->base_seed = ci->base_seed;
	p->schedules = ci->schedules;
	p->shard_index = ci->shard_index;
	p->shard_count = ci->shard_count;
	p->resume_campaign_id = ci->campaign_id;
	if (p->schedules < 1 || p->schedules > RUNNER_SCHEDULES_MAX) {
		snprintf(err, len, "campaign %" PRId64 " asks for %" PRIu64
			 " schedules, outside 1..%llu", ci->campaign_id,
			 p->schedules, (unsigned long long)RUNNER_SCHEDULES_MAX);
		goto out;
	}
	ok = true;
out:
	cJSON_Delete(j);
	if (!ok) {
		scenario_free(*sc);
		*sc = NULL;
	}
	return ok;
}

/* Open the database to resume in, find the campaign (the newest
 * unfinished one, or `id_text`), and reopen the file with that campaign's
 * --keep-decisions. */
static struct store *resume_open(const char *db, const char *id_text,
				 const struct store_opts *so,
				 struct store_campaign_info *ci)
{
	struct store_opts o = *so;
	struct store *st = NULL;
	uint64_t id = 0;
	int64_t cid = 0;

	if (id_text && (!cli_parse_u64(id_text, &id) || id == 0 ||
			id > (uint64_t)INT64_MAX)) {
		cli_error(NULL, "--resume %s: expected a campaign id (a whole "
			  "number from 1); --resume takes its scenario from "
			  "the database", id_text);
		return NULL;
	}
	if (access(db, F_OK) != 0) {
		cli_error(NULL, "%s: no such database; --resume continues a "
			  "campaign recorded there", db);
		return NULL;
	}
	st = cli_store_open(NULL, db, false);
	if (!st)
		return NULL;
	enum store_rc rc = id ? STORE_OK : store_campaign_unfinished(st, &cid);
	if (id)
		cid = (int64_t)id;
	if (rc == STORE_OK)
		rc = store_campaign_info(st, cid, ci);
	if (rc != STORE_OK) {
		cli_error(NULL, "%s", store_error(st));
		cli_store_close(NULL, st);
		return NULL;
	}
	if (ci->status == STORE_DONE) {
		cli_error(NULL, "%s: campaign %" PRId64 " is done (%" PRIu64
			  " runs); there is nothing to resume", db, cid,
			  ci->runs);
		store_campaign_info_free(ci);
		cli_store_close(NULL, st);
		return NULL;
	}
	cli_store_close(NULL, st);
	o.keep_all_decisions = ci->keep_decisions;
	char err[STORE_MESSAGE_MAX];
	if (store_open(db, &o, &st, err, sizeof(err)) != STORE_OK) {
		cli_error(NULL, "%s", err);
		store_campaign_info_free(ci);
		return NULL;
	}
	return st;
}

int cmd_run(int argc, char **argv)
{
	struct opt_values v;
	struct campaign_opts o;
	struct runner_params p;
	struct runner_result *res = NULL;
	struct scenario *sc = NULL;
	struct store *st = NULL;
	struct store_campaign_info ci;
	struct run_progress rp;
	char err[CLI_ERR_MAX];
	int code = EXIT_USAGE;

	memset(&ci, 0, sizeof(ci));
	if (!opt_parse(NULL, run_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(run_specs, &v, "--help")) {
		cmd_run_usage(stdout);
		return EXIT_CLEAN;
	}
	bool resume = opt_has(run_specs, &v, "--resume");
	if (resume) {
		for (int i = 0; resume_refused[i]; i++) {
			if (opt_has(run_specs, &v, resume_refused[i])) {
				cli_error(NULL, "--resume continues a campaign as "
					  "it was recorded; %s cannot change it",
					  resume_refused[i]);
				return EXIT_USAGE;
			}
		}
		if (v.positional_count > 1) {
			cli_error(NULL, "--resume takes at most one campaign id");
			return EXIT_USAGE;
		}
	} else if (v.positional_count != 1) {
		if (v.positional_count == 0)
			cli_error(NULL, "no scenario given");
		else
			cli_error(NULL, "one scenario per campaign; %d given (%s, %s%s)",
				  v.positional_count, v.positional[0],
				  v.positional[1],
				  v.positional_count > 2 ? ", ..." : "");
		fputs("usage: simrun SCENARIO [options]; see simrun --help\n",
		      stderr);
		return EXIT_USAGE;
	}
	const char *path = resume ? NULL : v.positional[0];
	if (!resume && opt_has(run_specs, &v, "--list-variants"))
		return list_variants(path);
	if (!campaign_opts_read(NULL, run_specs, &v, &o))
		return EXIT_USAGE;
	struct store_opts so = { .keep_all_decisions = o.keep_decisions,
				 .batch_runs = o.commit_every };

	if (resume) {
		st = resume_open(o.db, v.positional_count ? v.positional[0] : NULL,
				 &so, &ci);
		if (!st)
			return EXIT_USAGE;
		if (!resume_params(&ci, &sc, &p, err, sizeof(err))) {
			cli_error(NULL, "%s: campaign %" PRId64 ": %s", o.db,
				  ci.campaign_id, err);
			goto out;
		}
		/* The re-run command names the database: the scenario is
		 * there. */
		path = o.db;
	}

	/* The seed first, before anything can fail: whatever happens next,
	 * the output says how to get it again. */
	FILE *head = o.json ? stderr : stdout;
	fprintf(head, "seed %" PRIu64 "\n", resume ? p.base_seed : o.seed);
	fflush(head);

	if (!resume) {
		sc = scenario_load_file(path, o.variant, err, sizeof(err));
		if (!sc) {
			cli_error(NULL, "%s", err);
			goto out;
		}
		if (!cli_headline_valid(sc, err, sizeof(err))) {
			cli_error(NULL, "%s: %s", path, err);
			goto out;
		}
		campaign_opts_apply(&o, sc, &p);
	}
	if (!runner_can_split(&p, o.jobs > 1 || p.shard_count > 1, resume, err,
			      sizeof(err))) {
		cli_error(NULL, "%s", err);
		goto out;
	}
	p.verify = opt_has(run_specs, &v, "--verify");
	if (o.pct_steps && p.strategy.kind != STRATEGY_PCT) {
		cli_error(NULL, "--pct-steps applies to the pct strategy, and this campaign uses %s",
			  strategy_kind_name(p.strategy.kind));
		goto out;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		cli_error(NULL, "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	if (o.db && !st && o.jobs == 1) {
		if (store_open(o.db, &so, &st, err, sizeof(err)) != STORE_OK) {
			cli_error(NULL, "%s", err);
			goto out;
		}
	}
	p.store = st;
	p.trace_out = o.trace ? (o.json ? stderr : stdout) : NULL;
	if (o.jobs > 1 && o.trace) {
		cli_error(NULL, "--trace prints one campaign's steps in order; use it with --jobs 1");
		goto out;
	}
	if (!o.json) {
		printf("scenario %s", sc->name);
		if (sc->variant[0])
			printf(", variant %s", sc->variant);
		printf(": %s, %" PRIu64 " schedule%s", strategy_kind_name(p.strategy.kind),
		       p.schedules, p.schedules == 1 ? "" : "s");
		if (o.db)
			printf(", database %s", o.db);
		printf("\n");
		if (p.shard_count > 1)
			printf("shard %" PRIu32 " of %" PRIu32 ": schedules i with "
			       "i %% %" PRIu32 " == %" PRIu32 "\n",
			       p.shard_index, p.shard_count, p.shard_count,
			       p.shard_index);
		if (resume)
			printf("resuming campaign %" PRId64 ": %" PRIu64
			       " runs recorded\n", ci.campaign_id, ci.runs);
		fflush(stdout);
	}

	cli_catch_interrupts();
	if (o.jobs > 1) {
		cli_run_jobs(&p, o.db, &so, o.jobs, res);
	} else {
		memset(&rp, 0, sizeof(rp));
		progress_begin(&rp.bar, progress_wanted() && !o.trace,
			       "schedules", p.schedules);
		p.after_run = cli_after_run;
		p.ctx = &rp;
		runner_run(&p, res);
		progress_end(&rp.bar);
	}

	bool closed = true;
	if (st) {
		closed = cli_store_close(NULL, st);
		st = NULL;
	}
	if (o.json) {
		cJSON *j = summary_json(&p, res, o.db);
		if (!j || !cli_json_print(stdout, j)) {
			cli_error(NULL, "out of memory printing the JSON summary");
			cJSON_Delete(j);
			code = EXIT_INTERNAL;
			goto out;
		}
		cJSON_Delete(j);
	} else {
		print_summary(path, &p, res, o.db);
	}
	fflush(stdout);
	code = cli_campaign_exit(res);
	switch (res->rc) {
	case RUNNER_OK:
		break;
	case RUNNER_STOPPED:
		cli_error(NULL, "interrupted by %s after %" PRIu64 " of %" PRIu64
			  " schedules%s",
			  cli_signal_name(cli_interrupted),
			  res->schedules_run, p.schedules,
			  o.db ? "; the campaign is recorded as interrupted" : "");
		break;
	default:
		cli_error(NULL, "%s", res->err);
		break;
	}
	if (res->nondeterministic)
		cli_error(NULL, "internal error: under dfs, a re-execution of this "
			  "world met other choices than before (decision %" PRIu64
			  " of schedule %" PRIu64 "): the model is not a function of "
			  "its seed and decisions.  This is a simrun bug; please "
			  "report it with this command line",
			  res->diverged_at, res->schedules_run - 1);
	if (!closed && code < EXIT_USAGE)
		code = EXIT_USAGE;
out:
	if (st)
		cli_store_close(NULL, st);
	store_campaign_info_free(&ci);
	free(res);
	scenario_free(sc);
	return code;
}
