/*
 * cmd_replay.c: `simrun replay --db PATH --run ID`: rebuild a recorded run
 * from the database alone (its scenario text, variant, run seed and
 * decision log), re-execute it with the replay strategy, and say whether
 * it is the same run: trace hash, outcome and findings.  Also the helpers
 * that regress shares: opening an existing database and comparing a run's
 * findings with the recorded ones.  Not regress's report (cmd_regress.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"

static const struct opt_spec replay_specs[] = {
	{ "--db", "PATH" },
	{ "--run", "ID" },
	{ "--trace", NULL },
	{ "--json", NULL },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void replay_usage(FILE *f)
{
	fputs("usage: simrun replay [--db PATH] --run ID [--trace] [--json]\n"
	      "\n"
	      "Re-executes run ID of the result database from what the database holds (the\n"
	      "scenario text, variant, run seed and decision log; no scenario file is\n"
	      "needed) and checks that it is the same run: the same trace hash, outcome and\n"
	      "findings.  Run ids are the `id` column of the `run` table; a campaign's\n"
	      "summary prints the replay command of each finding's first run.\n"
	      "\n"
	      "  --db PATH    the database (default simrun.db); it must exist\n"
	      "  --run ID     the run to replay\n"
	      "  --trace      print every step of the replayed run on stdout\n"
	      "  --json       print one JSON object on stdout (seed on stderr)\n"
	      "\n"
	      "Only runs whose decision log was kept can be replayed: every run with a\n"
	      "finding or an outcome other than ok, and every run of a campaign run with\n"
	      "--keep-decisions.\n"
	      "\n"
	      "Exit status: 0 the same run, 1 it differs (what differs is printed: the\n"
	      "trace hash, the outcome, the findings, or the decision at which the\n"
	      "recorded schedule could no longer be followed), 2 usage or input error (no\n"
	      "such database or run, no decision log, a scenario this simrun cannot load),\n"
	      "3 internal error.\n",
	      f);
}

struct store *cli_store_open_existing(const char *command, const char *path)
{
	/* store_open creates a missing file: right for a campaign, wrong
	 * for a command that reads what a campaign wrote. */
	if (access(path, F_OK) != 0) {
		cli_error(command, "%s: no such database (give it with --db PATH)",
			  path);
		return NULL;
	}
	return cli_store_open(command, path, false);
}

uint32_t cli_recorded_problems(const struct store_run_info *info,
			       struct runner_group *g, uint32_t max)
{
	struct finding f[FINDINGS_PER_RUN_MAX];
	uint32_t n = info->findings_count < FINDINGS_PER_RUN_MAX
			     ? info->findings_count
			     : FINDINGS_PER_RUN_MAX;

	for (uint32_t i = 0; i < n; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		snprintf(f[i].kind, sizeof(f[i].kind), "%s",
			 info->findings[i].kind);
		f[i].signature = info->findings[i].signature;
		snprintf(f[i].summary, sizeof(f[i].summary), "%s",
			 info->findings[i].summary);
	}
	return runner_run_problems(info->outcome, f, n, g, max);
}

static bool has_problem(const struct runner_group *set, uint32_t n,
			const struct runner_group *g)
{
	for (uint32_t i = 0; i < n; i++)
		if (set[i].signature == g->signature &&
		    strcmp(set[i].kind, g->kind) == 0)
			return true;
	return false;
}

bool cli_same_problems(const struct runner_group *a, uint32_t na,
		       const struct runner_group *b, uint32_t nb)
{
	for (uint32_t i = 0; i < na; i++)
		if (!runner_kind_is_campaign_wide(a[i].kind) &&
		    !has_problem(b, nb, &a[i]))
			return false;
	for (uint32_t i = 0; i < nb; i++)
		if (!runner_kind_is_campaign_wide(b[i].kind) &&
		    !has_problem(a, na, &b[i]))
			return false;
	return true;
}

uint32_t cli_run_level(const struct runner_group *g, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++)
		k += !runner_kind_is_campaign_wide(g[i].kind);
	return k;
}

/* Say which campaign-wide findings a run alone did or did not give again,
 * and why that is not a difference. */
static void note_campaign_wide(const struct runner_group *rec, uint32_t nrec,
			       const struct runner_group *now, uint32_t nnow)
{
	bool differ = false;

	for (uint32_t i = 0; i < nrec; i++)
		if (runner_kind_is_campaign_wide(rec[i].kind) &&
		    !has_problem(now, nnow, &rec[i]))
			differ = true;
	for (uint32_t i = 0; i < nnow; i++)
		if (runner_kind_is_campaign_wide(now[i].kind) &&
		    !has_problem(rec, nrec, &now[i]))
			differ = true;
	if (!differ)
		return;
	printf("note: lock_order findings belong to the campaign, not to one run: a "
	       "cycle may close on lock dependencies that earlier runs recorded, and "
	       "each is reported once per campaign, so a run replayed alone may give "
	       "one that was not recorded with it or miss one that was.  They are "
	       "not compared; run the campaign again to check them.\n");
	for (uint32_t i = 0; i < nrec; i++)
		if (runner_kind_is_campaign_wide(rec[i].kind))
			printf("  recorded: %s %016" PRIx64 "\n", rec[i].kind,
			       rec[i].signature);
	for (uint32_t i = 0; i < nnow; i++)
		if (runner_kind_is_campaign_wide(now[i].kind))
			printf("  now: %s %016" PRIx64 "\n", now[i].kind,
			       now[i].signature);
}

static void print_problems(const char *label, const struct runner_group *g,
			   uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		printf("%s %s %016" PRIx64 ": %s\n", label, g[i].kind,
		       g[i].signature, g[i].summary);
}

static cJSON *run_json(enum run_outcome o, uint64_t steps, uint64_t vns,
		       uint64_t hash, const struct runner_group *g, uint32_t n)
{
	cJSON *r = cJSON_CreateObject();
	cJSON *fs = cJSON_CreateArray();

	cJSON_AddStringToObject(r, "outcome", run_outcome_name(o));
	cJSON_AddItemToObject(r, "steps", cli_json_u64(steps));
	cJSON_AddItemToObject(r, "virtual_ns", cli_json_u64(vns));
	cJSON_AddItemToObject(r, "trace_hash", cli_json_hex16(hash));
	for (uint32_t i = 0; i < n; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "kind", g[i].kind);
		cJSON_AddItemToObject(f, "signature", cli_json_hex16(g[i].signature));
		cJSON_AddStringToObject(f, "summary", g[i].summary);
		cJSON_AddItemToArray(fs, f);
	}
	cJSON_AddItemToObject(r, "findings", fs);
	return r;
}

int cmd_replay(int argc, char **argv)
{
	struct opt_values v;
	struct store *st = NULL;
	struct store_run_info info;
	struct scenario *sc = NULL;
	struct runner_replay_result *rr = NULL;
	struct runner_group rec[FINDINGS_PER_RUN_MAX + 1];
	char err[CLI_ERR_MAX], origin[128];
	uint64_t run_id;
	int code = EXIT_USAGE;

	memset(&info, 0, sizeof(info));
	if (!opt_parse("replay", replay_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(replay_specs, &v, "--help")) {
		replay_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count) {
		cli_error("replay", "unexpected argument %s (the run is given with --run ID)",
			  v.positional[0]);
		return EXIT_USAGE;
	}
	const char *id = opt_get(replay_specs, &v, "--run");
	if (!id) {
		cli_error("replay", "which run? give --run ID (the id column of the run table)");
		return EXIT_USAGE;
	}
	if (!cli_parse_u64(id, &run_id) || run_id < 1 || run_id > INT64_MAX) {
		cli_error("replay", "--run %s: expected a run id, a whole number from 1", id);
		return EXIT_USAGE;
	}
	const char *db = opt_get(replay_specs, &v, "--db");
	if (!db)
		db = CLI_DEFAULT_DB;
	bool json = opt_has(replay_specs, &v, "--json");
	bool trace = opt_has(replay_specs, &v, "--trace");

	st = cli_store_open_existing("replay", db);
	if (!st)
		return EXIT_USAGE;
	enum store_rc src = store_load_run(st, (int64_t)run_id, &info);
	if (src == STORE_ERR_NOT_FOUND) {
		cli_error("replay", "%s: no run %" PRIu64 " (SELECT id FROM run lists them)",
			  db, run_id);
		goto out;
	}
	if (src != STORE_OK) {
		cli_error("replay", "%s", store_error(st));
		goto out;
	}
	FILE *head = json ? stderr : stdout;
	fprintf(head, "seed %" PRIu64 "\n", info.seed);
	fflush(head);
	if (!info.has_decisions) {
		cli_error("replay", "%s: run %" PRIu64 " has no decision log: only runs with a finding "
			  "or an outcome other than ok keep theirs, unless the campaign ran "
			  "with --keep-decisions",
			  db, run_id);
		goto out;
	}
	snprintf(origin, sizeof(origin), "%s run %" PRIu64 " (scenario as recorded)",
		 db, run_id);
	sc = scenario_load_text(info.scenario_json, info.scenario_json_len,
				origin, info.variant, err, sizeof(err));
	if (!sc) {
		cli_error("replay", "this simrun cannot load the recorded scenario (recorded by simrun %s): %s",
			  info.simrun_version, err);
		goto out;
	}
	rr = calloc(1, sizeof(*rr));
	if (!rr) {
		cli_error("replay", "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	if (!json)
		printf("replaying run %" PRId64 " (campaign %" PRId64 ", schedule %" PRIu64
		       ", %s): scenario %s%s%s, %" PRIu64 " decisions\n",
		       info.run_id, info.campaign_id, info.idx, info.strategy,
		       info.scenario_name, info.variant[0] ? ", variant " : "",
		       info.variant, info.decisions_count);
	fflush(stdout);
	if (runner_replay(sc, info.seed, info.decisions, info.decisions_len,
			  REPLAY_EXACT, trace ? (json ? stderr : stdout) : NULL,
			  rr) != RUNNER_OK) {
		cli_error("replay", "%s", rr->err);
		code = rr->rc == RUNNER_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
		goto out;
	}
	uint32_t nrec = cli_recorded_problems(&info, rec, FINDINGS_PER_RUN_MAX + 1);
	bool same_hash = rr->run.trace_hash == info.trace_hash;
	bool same_outcome = rr->run.outcome == info.outcome;
	bool same_findings = cli_same_problems(rec, nrec, rr->problems,
					       rr->problems_count);
	bool diverged = rr->diverged && info.outcome != RUN_DIVERGED;
	bool identical = same_hash && same_outcome && same_findings && !diverged &&
			 rr->run.steps == info.steps;

	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "seed", cli_json_u64(info.seed));
		cJSON_AddItemToObject(o, "run_id", cli_json_u64((uint64_t)info.run_id));
		cJSON_AddItemToObject(o, "campaign_id", cli_json_u64((uint64_t)info.campaign_id));
		cJSON_AddItemToObject(o, "schedule", cli_json_u64(info.idx));
		cJSON_AddStringToObject(o, "scenario", info.scenario_name);
		cJSON_AddStringToObject(o, "variant", info.variant);
		cJSON_AddStringToObject(o, "strategy", info.strategy);
		cJSON_AddBoolToObject(o, "identical", identical);
		cJSON_AddItemToObject(o, "recorded",
				      run_json(info.outcome, info.steps, info.virtual_ns,
					       info.trace_hash, rec, nrec));
		cJSON_AddItemToObject(o, "replayed",
				      run_json(rr->run.outcome, rr->run.steps,
					       rr->run.virtual_ns, rr->run.trace_hash,
					       rr->problems, rr->problems_count));
		if (diverged)
			cJSON_AddItemToObject(o, "diverged_at_decision",
					      cli_json_u64(rr->diverged_at));
		else
			cJSON_AddNullToObject(o, "diverged_at_decision");
		bool ok = cli_json_print(stdout, o);
		cJSON_Delete(o);
		if (!ok) {
			cli_error("replay", "out of memory printing JSON");
			code = EXIT_INTERNAL;
			goto out;
		}
	} else {
		printf("outcome %s: %" PRIu64 " steps, %" PRIu64 " ns virtual, trace %016" PRIx64 "\n",
		       run_outcome_name(rr->run.outcome), rr->run.steps,
		       rr->run.virtual_ns, rr->run.trace_hash);
		print_problems("finding", rr->problems, rr->problems_count);
		note_campaign_wide(rec, nrec, rr->problems, rr->problems_count);
		if (identical) {
			printf("identical: trace %016" PRIx64 ", outcome %s, %" PRIu32
			       " finding%s, as recorded\n",
			       info.trace_hash, run_outcome_name(info.outcome), nrec,
			       nrec == 1 ? "" : "s");
		} else {
			if (diverged)
				printf("differs: diverged at decision %" PRIu64 " (step %" PRIu64
				       "): the recorded schedule cannot be followed there\n",
				       rr->diverged_at, rr->run.steps);
			if (!same_outcome)
				printf("differs: outcome %s recorded, %s now\n",
				       run_outcome_name(info.outcome),
				       run_outcome_name(rr->run.outcome));
			if (!same_hash)
				printf("differs: trace hash %016" PRIx64 " recorded, %016" PRIx64 " now\n",
				       info.trace_hash, rr->run.trace_hash);
			if (rr->run.steps != info.steps)
				printf("differs: %" PRIu64 " steps recorded, %" PRIu64 " now\n",
				       info.steps, rr->run.steps);
			if (!same_findings) {
				printf("differs: the findings; recorded:\n");
				print_problems(" ", rec, nrec);
				if (!nrec)
					printf("  (none)\n");
			}
		}
	}
	code = identical ? EXIT_CLEAN : EXIT_FINDINGS;
out:
	fflush(stdout);
	free(rr);
	scenario_free(sc);
	store_run_info_free(&info);
	if (st && !cli_store_close("replay", st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	return code;
}
