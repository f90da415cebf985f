/*
 * cmd_regress.c: `simrun regress`: replay every recorded run that has a
 * finding (or an outcome other than ok), against the recorded scenario or
 * a changed one, and report per finding signature whether it is the same,
 * fixed, changed, or whether the schedule no longer applies (diverged).
 * Not replay's single-run report (cmd_replay.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

static const struct opt_spec regress_specs[] = {
	{ "--db", "PATH" },
	{ "--scenario", "FILE" },
	{ "--variant", "NAME" },
	{ "--campaign", "ID" },
	{ "--expect-fixed", NULL },
	{ "--json", NULL },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void regress_usage(FILE *f)
{
	fputs("usage: simrun regress [--db PATH] [--scenario FILE] [--variant NAME]\n"
	      "                      [--campaign ID] [--expect-fixed] [--json]\n"
	      "\n"
	      "Replays every recorded run that has a finding (or an outcome other than ok)\n"
	      "and says, for each one, whether it is\n"
	      "  same      the same findings again (and, against the recorded scenario\n"
	      "            text, the same trace hash: a model change that alters a recorded\n"
	      "            run shows at once)\n"
	      "  fixed     the run now ends ok with no finding\n"
	      "  changed   other findings, or the same ones by another trace\n"
	      "  diverged  a recorded choice is not enabled any more: the schedule no\n"
	      "            longer applies\n"
	      "and sums these up per finding signature (kind and signature).  lock_order\n"
	      "findings belong to the campaign, not to a run, and are not judged: a run\n"
	      "whose only findings are lock_order is listed as unjudged.  Each run\n"
	      "follows its recorded decisions while the run asks for them; a run that\n"
	      "goes on longer (a fix that no longer deadlocks) continues by the timed\n"
	      "rule, and one that ends sooner leaves the rest of its log unused.\n"
	      "\n"
	      "  --db PATH        the database (default simrun.db); it must exist\n"
	      "  --scenario FILE  replay against FILE instead of the recorded scenario text\n"
	      "  --variant NAME   replay against variant NAME instead of each run's own\n"
	      "                   (use \"\" for the base scenario)\n"
	      "  --campaign ID    only the runs of campaign ID\n"
	      "  --expect-fixed   succeed only when every run is fixed (after a fix)\n"
	      "  --json           print one JSON object on stdout\n"
	      "\n"
	      "Exit status: 0 when every run is `same` (with --expect-fixed: every run is\n"
	      "`fixed`), or when there is nothing to replay; 1 otherwise; 2 usage or input\n"
	      "error (no such database or campaign, a FILE that does not load, a variant\n"
	      "FILE lacks); 3 internal error; 128+N interrupted by signal N.\n",
	      f);
}

/* V_UNJUDGED: a run whose only findings are campaign-wide (lock_order),
 * which a run replayed alone cannot confirm or refute. */
enum verdict { V_SAME, V_FIXED, V_CHANGED, V_DIVERGED, V_UNJUDGED, V_COUNT };
static const char *const verdict_names[V_COUNT] = {
	"same", "fixed", "changed", "diverged", "unjudged",
};

struct sig_row {
	struct runner_group g;		/* kind, signature, summary */
	int64_t first_run_id;
	uint64_t counts[V_COUNT];
};

/* Everything one regress keeps while it streams through the recorded runs:
 * bounded tables, whatever the number of runs. */
struct regress {
	struct store *st;
	const char *db;
	const char *file;		/* --scenario, or NULL */
	const char *file_text;
	size_t file_len;
	const char *variant;		/* --variant, or NULL */
	bool expect_fixed;
	bool json;

	uint64_t total;			/* runs to replay (first pass) */
	uint64_t done;
	int code;			/* an error ends the iteration */
	struct progress bar;
	struct runner_replay_result *rr;

	uint64_t counts[V_COUNT];
	uint32_t rows_count;
	uint64_t rows_dropped;
	struct sig_row rows[RUNNER_GROUPS_MAX];
	uint64_t listed;		/* runs listed (not the wanted verdict) */
	cJSON *json_runs;
};

static bool count_run(void *ctx, const struct store_run_ref *ref)
{
	struct regress *r = ctx;

	(void)ref;
	r->total++;
	return true;
}

/* The row of a finding signature; NULL when the table is full (counted in
 * rows_dropped). */
static struct sig_row *row_for(struct regress *r, const struct runner_group *g,
			       int64_t run_id)
{
	for (uint32_t i = 0; i < r->rows_count; i++)
		if (r->rows[i].g.signature == g->signature &&
		    strcmp(r->rows[i].g.kind, g->kind) == 0)
			return &r->rows[i];
	if (r->rows_count >= RUNNER_GROUPS_MAX) {
		r->rows_dropped++;
		return NULL;
	}
	struct sig_row *row = &r->rows[r->rows_count++];
	memset(row, 0, sizeof(*row));
	row->g = *g;
	row->first_run_id = run_id;
	return row;
}

static const char *row_verdict(const struct sig_row *row, char *buf,
			       size_t len)
{
	int only = -1;

	for (int v = 0; v < V_COUNT; v++) {
		if (!row->counts[v])
			continue;
		if (only >= 0) {
			snprintf(buf, len, "mixed");
			return buf;
		}
		only = v;
	}
	SIM_ASSERT(only >= 0);
	return verdict_names[only];
}

/* Load the scenario a run is replayed against. */
static struct scenario *scenario_for(const struct store_run_info *info,
				     const char *file, const char *file_text,
				     size_t file_len, const char *variant,
				     char *err, size_t err_len)
{
	char origin[128];

	if (file)
		return scenario_load_text(file_text, file_len, file, variant,
					  err, err_len);
	snprintf(origin, sizeof(origin), "run %" PRId64 " (scenario as recorded)",
		 info->run_id);
	return scenario_load_text(info->scenario_json, info->scenario_json_len,
				  origin, variant, err, err_len);
}

static bool read_file(const char *path, char **text, size_t *len)
{
	char err[CLI_ERR_MAX];
	/* The loader reads the file with its own limits and messages; its
	 * copy of the text is what the replays use. */
	struct scenario *sc = scenario_load_file(path, NULL, err, sizeof(err));

	if (!sc) {
		cli_error("regress", "%s", err);
		return false;
	}
	*text = sc->json_text;
	*len = sc->json_len;
	sc->json_text = NULL;
	scenario_free(sc);
	return true;
}

static void print_now(const struct runner_replay_result *rr)
{
	if (!rr->problems_count)
		printf("      now: none\n");
	for (uint32_t i = 0; i < rr->problems_count; i++)
		printf("      now: %s %016" PRIx64 ": %s\n", rr->problems[i].kind,
		       rr->problems[i].signature, rr->problems[i].summary);
}

/* Why a run got its verdict, for people: one line, and what it finds now
 * when that changed. */
static void print_notable(const struct regress *r, const struct store_run_info *info,
			  enum verdict vd, const struct runner_group *rec, uint32_t nrec)
{
	const struct runner_replay_result *rr = r->rr;

	printf("  run %" PRId64 " (campaign %" PRId64 ", schedule %" PRIu64 "): %s",
	       info->run_id, info->campaign_id, info->idx, verdict_names[vd]);
	if (vd == V_DIVERGED)
		printf(" at decision %" PRIu64 " (step %" PRIu64 ")",
		       rr->diverged_at, rr->run.steps);
	else if (vd == V_CHANGED &&
		 cli_same_problems(rec, nrec, rr->problems, rr->problems_count))
		printf(": the same findings, but the trace hash is %016" PRIx64
		       ", recorded %016" PRIx64,
		       rr->run.trace_hash, info->trace_hash);
	printf("\n");
	if (vd == V_CHANGED)
		print_now(rr);
}

static cJSON *run_json(const struct store_run_info *info, enum verdict vd,
		       const struct runner_replay_result *rr)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *now = cJSON_CreateArray();

	cJSON_AddItemToObject(o, "run_id", cli_json_u64((uint64_t)info->run_id));
	cJSON_AddItemToObject(o, "campaign_id", cli_json_u64((uint64_t)info->campaign_id));
	cJSON_AddItemToObject(o, "schedule", cli_json_u64(info->idx));
	cJSON_AddStringToObject(o, "verdict", verdict_names[vd]);
	cJSON_AddStringToObject(o, "outcome", run_outcome_name(rr->run.outcome));
	cJSON_AddItemToObject(o, "trace_hash", cli_json_hex16(rr->run.trace_hash));
	if (vd == V_DIVERGED)
		cJSON_AddItemToObject(o, "diverged_at_decision", cli_json_u64(rr->diverged_at));
	for (uint32_t k = 0; k < rr->problems_count; k++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "kind", rr->problems[k].kind);
		cJSON_AddItemToObject(f, "signature", cli_json_hex16(rr->problems[k].signature));
		cJSON_AddItemToArray(now, f);
	}
	cJSON_AddItemToObject(o, "findings", now);
	return o;
}

/* Replay one recorded run and count its verdict.  Returns false (with
 * r->code set and the error printed) to end the iteration. */
static bool replay_one(void *ctx, const struct store_run_ref *ref)
{
	struct regress *r = ctx;
	struct runner_group rec[FINDINGS_PER_RUN_MAX + 1];
	struct store_run_info info;
	char err[CLI_ERR_MAX];
	struct scenario *sc = NULL;
	bool ok = false;

	SIM_ASSERT(r->rr != NULL);
	SIM_ASSERT(r->done < r->total);
	if (store_load_run(r->st, ref->run_id, &info) != STORE_OK) {
		cli_error("regress", "%s", store_error(r->st));
		return false;
	}
	if (!info.has_decisions) {
		cli_error("regress", "%s: run %" PRId64 " has a finding but no decision log; "
			  "the database is damaged",
			  r->db, info.run_id);
		goto done;
	}
	const char *var = r->variant ? r->variant : info.variant;
	sc = scenario_for(&info, r->file, r->file_text, r->file_len, var, err,
			  sizeof(err));
	if (!sc) {
		cli_error("regress", "run %" PRId64 " (campaign %" PRId64 "): %s",
			  info.run_id, info.campaign_id, err);
		goto done;
	}
	/* The trace must match too when nothing was changed: same text,
	 * same variant. */
	bool unchanged = strcmp(var, info.variant) == 0 &&
			 sc->json_len == info.scenario_json_len &&
			 memcmp(sc->json_text, info.scenario_json, sc->json_len) == 0;
	enum runner_rc rrc = runner_replay(sc, info.seed, info.decisions,
					   info.decisions_len, REPLAY_EXTEND,
					   NULL, r->rr);
	if (rrc != RUNNER_OK) {
		cli_error("regress", "%s", r->rr->err);
		r->code = rrc == RUNNER_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
		goto done;
	}
	const struct runner_replay_result *rr = r->rr;
	uint32_t nrec = cli_recorded_problems(&info, rec, FINDINGS_PER_RUN_MAX + 1);
	enum verdict vd;
	if (cli_run_level(rec, nrec) == 0)
		vd = V_UNJUDGED;
	else if (rr->diverged && info.outcome != RUN_DIVERGED)
		vd = V_DIVERGED;
	else if (cli_run_level(rr->problems, rr->problems_count) == 0)
		vd = V_FIXED;
	else if (cli_same_problems(rec, nrec, rr->problems, rr->problems_count) &&
		 (!unchanged || rr->run.trace_hash == info.trace_hash))
		vd = V_SAME;
	else
		vd = V_CHANGED;
	r->counts[vd]++;
	for (uint32_t k = 0; k < nrec; k++) {
		struct sig_row *row = row_for(r, &rec[k], info.run_id);
		if (row)
			row->counts[runner_kind_is_campaign_wide(rec[k].kind)
					    ? V_UNJUDGED
					    : vd]++;
	}
	if (vd != (r->expect_fixed ? V_FIXED : V_SAME) && vd != V_UNJUDGED) {
		if (r->listed < CLI_REGRESS_LISTED_MAX) {
			if (r->json) {
				cJSON_AddItemToArray(r->json_runs, run_json(&info, vd, rr));
			} else {
				progress_end(&r->bar);
				print_notable(r, &info, vd, rec, nrec);
				r->bar.on = progress_wanted();
			}
		}
		r->listed++;
	}
	r->done++;
	progress_update(&r->bar, r->done,
			r->counts[V_CHANGED] + r->counts[V_DIVERGED]);
	/* A second Ctrl-C ends simrun; the first ends the iteration here. */
	if (cli_interrupted) {
		cli_error("regress", "interrupted after %" PRIu64 " of %" PRIu64 " replays",
			  r->done, r->total);
		r->code = EXIT_SIGNAL_BASE + cli_interrupted;
		goto done;
	}
	ok = true;
done:
	scenario_free(sc);
	store_run_info_free(&info);
	return ok;
}

static void print_report(const struct regress *r)
{
	for (uint32_t k = 0; k < r->rows_count; k++) {
		char buf[16];
		const struct sig_row *row = &r->rows[k];
		printf("%-8s %s %016" PRIx64 ":", row_verdict(row, buf, sizeof(buf)),
		       row->g.kind, row->g.signature);
		for (int q = 0; q < V_COUNT; q++)
			if (row->counts[q])
				printf(" %" PRIu64 " %s", row->counts[q], verdict_names[q]);
		printf(" (first: run %" PRId64 ")\n", row->first_run_id);
		printf("    %s\n", row->g.summary);
	}
	if (r->rows_dropped)
		printf("  ... and %" PRIu64 " more signatures\n", r->rows_dropped);
	if (r->listed > CLI_REGRESS_LISTED_MAX)
		printf("  (%" PRIu64 " more runs without the verdict wanted are not listed)\n",
		       r->listed - CLI_REGRESS_LISTED_MAX);
	printf("runs: %" PRIu64 " same, %" PRIu64 " fixed, %" PRIu64 " changed, %" PRIu64
	       " diverged\n",
	       r->counts[V_SAME], r->counts[V_FIXED], r->counts[V_CHANGED],
	       r->counts[V_DIVERGED]);
	if (r->counts[V_UNJUDGED])
		printf("%" PRIu64 " run%s whose only findings are lock_order %s not judged: "
		       "a lock-order cycle belongs to the campaign (it may close on lock "
		       "dependencies of earlier runs, and is reported once per campaign), "
		       "so run the campaign again to check it\n",
		       r->counts[V_UNJUDGED], r->counts[V_UNJUDGED] == 1 ? "" : "s",
		       r->counts[V_UNJUDGED] == 1 ? "was" : "were");
	if (!r->total)
		printf("nothing to replay: no recorded run has a finding\n");
	else if (r->counts[V_UNJUDGED] == r->total)
		printf("nothing judged\n");
	else if (r->code == EXIT_CLEAN)
		printf("%s\n", r->expect_fixed ? "every finding is fixed"
					       : "every finding reproduces");
	else
		printf("%s\n", r->expect_fixed ? "not every finding is fixed"
					       : "not every finding reproduces as recorded");
}

static cJSON *report_json(struct regress *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *counts = cJSON_CreateObject();
	cJSON *sigs = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "database", r->db);
	if (r->file)
		cJSON_AddStringToObject(o, "scenario", r->file);
	else
		cJSON_AddNullToObject(o, "scenario");
	if (r->variant)
		cJSON_AddStringToObject(o, "variant", r->variant);
	else
		cJSON_AddNullToObject(o, "variant");
	cJSON_AddBoolToObject(o, "expect_fixed", r->expect_fixed);
	cJSON_AddItemToObject(o, "runs_replayed", cli_json_u64(r->done));
	for (int k = 0; k < V_COUNT; k++)
		cJSON_AddItemToObject(counts, verdict_names[k], cli_json_u64(r->counts[k]));
	cJSON_AddItemToObject(o, "runs", counts);
	for (uint32_t k = 0; k < r->rows_count; k++) {
		char buf[16];
		const struct sig_row *row = &r->rows[k];
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "kind", row->g.kind);
		cJSON_AddItemToObject(s, "signature", cli_json_hex16(row->g.signature));
		cJSON_AddStringToObject(s, "summary", row->g.summary);
		cJSON_AddStringToObject(s, "verdict", row_verdict(row, buf, sizeof(buf)));
		for (int q = 0; q < V_COUNT; q++)
			cJSON_AddItemToObject(s, verdict_names[q], cli_json_u64(row->counts[q]));
		cJSON_AddItemToObject(s, "first_run_id", cli_json_u64((uint64_t)row->first_run_id));
		cJSON_AddItemToArray(sigs, s);
	}
	cJSON_AddItemToObject(o, "signatures", sigs);
	cJSON_AddItemToObject(o, "signatures_dropped", cli_json_u64(r->rows_dropped));
	/* The runs without the verdict wanted (at most CLI_REGRESS_LISTED_MAX). */
	cJSON_AddItemToObject(o, "runs_listed", r->json_runs);
	r->json_runs = NULL;
	cJSON_AddItemToObject(o, "runs_not_listed",
			      cli_json_u64(r->listed > CLI_REGRESS_LISTED_MAX
						   ? r->listed - CLI_REGRESS_LISTED_MAX
						   : 0));
	return o;
}

int cmd_regress(int argc, char **argv)
{
	struct opt_values v;
	struct regress *r = NULL;
	char *file_text = NULL;
	uint64_t campaign = 0;
	int code = EXIT_USAGE;

	if (!opt_parse("regress", regress_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(regress_specs, &v, "--help")) {
		regress_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count) {
		cli_error("regress", "unexpected argument %s (a changed scenario is given with --scenario FILE)",
			  v.positional[0]);
		return EXIT_USAGE;
	}
	const char *cid = opt_get(regress_specs, &v, "--campaign");
	if (cid && (!cli_parse_u64(cid, &campaign) || campaign < 1 ||
		    campaign > INT64_MAX)) {
		cli_error("regress", "--campaign %s: expected a campaign id, a whole number from 1",
			  cid);
		return EXIT_USAGE;
	}
	r = calloc(1, sizeof(*r));
	if (r)
		r->rr = calloc(1, sizeof(*r->rr));
	if (r)
		r->json_runs = cJSON_CreateArray();
	if (!r || !r->rr || !r->json_runs) {
		cli_error("regress", "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	r->db = opt_get(regress_specs, &v, "--db");
	if (!r->db)
		r->db = CLI_DEFAULT_DB;
	r->file = opt_get(regress_specs, &v, "--scenario");
	r->variant = opt_get(regress_specs, &v, "--variant");
	r->expect_fixed = opt_has(regress_specs, &v, "--expect-fixed");
	r->json = opt_has(regress_specs, &v, "--json");
	if (r->file) {
		if (!read_file(r->file, &file_text, &r->file_len))
			goto out;
		r->file_text = file_text;
	}
	r->st = cli_store_open_existing("regress", r->db);
	if (!r->st)
		goto out;
	/* Two passes: one to count (for the header and the progress bar),
	 * one to replay, each run as the store reads it. */
	enum store_rc src = store_runs_with_findings(r->st, (int64_t)campaign,
						     count_run, r);
	if (src == STORE_ERR_NOT_FOUND) {
		cli_error("regress", "%s: no campaign %" PRIu64, r->db, campaign);
		goto out;
	}
	if (src != STORE_OK) {
		cli_error("regress", "%s", store_error(r->st));
		goto out;
	}
	if (!r->json)
		printf("regress: %" PRIu64 " recorded run%s with findings in %s, replayed against %s%s%s\n",
		       r->total, r->total == 1 ? "" : "s", r->db,
		       r->file ? r->file : "the recorded scenarios",
		       r->variant ? ", variant " : "",
		       r->variant ? (r->variant[0] ? r->variant : "(base)") : "");
	fflush(stdout);
	cli_catch_interrupts();
	r->code = EXIT_USAGE;
	progress_begin(&r->bar, progress_wanted(), "replays", r->total);
	src = store_runs_with_findings(r->st, (int64_t)campaign, replay_one, r);
	progress_end(&r->bar);
	if (src != STORE_OK) {
		cli_error("regress", "%s", store_error(r->st));
		goto out;
	}
	if (r->done < r->total) {
		code = r->code;		/* replay_one said why */
		goto out;
	}
	uint64_t want = r->expect_fixed ? r->counts[V_FIXED] : r->counts[V_SAME];
	code = r->code = want + r->counts[V_UNJUDGED] == r->total ? EXIT_CLEAN
								  : EXIT_FINDINGS;
	if (r->json) {
		cJSON *o = report_json(r);
		bool ok = cli_json_print(stdout, o);
		cJSON_Delete(o);
		if (!ok) {
			cli_error("regress", "out of memory printing JSON");
			code = EXIT_INTERNAL;
		}
	} else {
		print_report(r);
	}
out:
	fflush(stdout);
	if (r) {
		if (r->st && !cli_store_close("regress", r->st) && code < EXIT_USAGE)
			code = EXIT_USAGE;
		cJSON_Delete(r->json_runs);
		free(r->rr);
		free(r);
	}
	free(file_text);
	return code;
}
