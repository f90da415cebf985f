/*
 * cmd_compare.c: `simrun compare SCENARIO`: one campaign per variant (the
 * base scenario first), all with the same strategy, schedules and base
 * seed, printed side by side: outcomes, runs per finding kind, latency
 * p50 and p99, the counters summed over each campaign's runs, the first
 * schedule with a finding.  Not a statistical test: the same seeds make
 * the columns comparable, nothing more.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

static const struct opt_spec compare_specs[] = {
	{ "--seed", "N" },
	{ "--schedules", "N" },
	{ "--strategy", "NAME" },
	{ "--pct-depth", "D" },
	{ "--preemptions", "B" },
	{ "--db", "PATH" },
	{ "--no-db", NULL },
	{ "--json", NULL },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void compare_usage(FILE *f)
{
	fputs("usage: simrun compare SCENARIO [--seed N] [--schedules N]\n"
	      "                      [--strategy timed|random|pct|dfs] [--pct-depth D]\n"
	      "                      [--preemptions B|none] [--db PATH | --no-db] [--json]\n"
	      "\n"
	      "Runs the base scenario and every variant with the same strategy, schedules\n"
	      "and base seed (the command line over the base scenario's \"explore\"\n"
	      "section), one campaign each, and prints them side by side: outcomes, runs\n"
	      "per finding kind, p50 and p99 of each lock hold, lock wait and fault\n"
	      "latency measured (in virtual time: realistic under --strategy timed), the\n"
	      "counters summed over the runs (those not zero in every column), and the\n"
	      "first schedule with a finding.  pct measures k for each variant's own\n"
	      "world.  Every campaign is recorded in the database.\n"
	      "\n"
	      "  --seed N, --schedules N, --strategy NAME, --pct-depth D, --preemptions B,\n"
	      "  --db PATH, --no-db   as for a campaign (simrun --help)\n"
	      "  --json               print one JSON object on stdout (seed on stderr)\n"
	      "\n"
	      "Exit status: 0 no findings in any column, 1 findings, 2 usage or input\n"
	      "error, 3 internal error, 128+N interrupted by signal N.\n",
	      f);
}

#define COMPARE_COLS_MAX (SCENARIO_VARIANTS_MAX + 1)

struct table {
	int rows, cols;
	char cell[CLI_COMPARE_ROWS_MAX][COMPARE_COLS_MAX + 1][SCENARIO_NAME_MAX + 8];
};

static int table_row(struct table *t, const char *label)
{
	for (int r = 0; r < t->rows; r++)
		if (strcmp(t->cell[r][0], label) == 0)
			return r;
	if (t->rows >= CLI_COMPARE_ROWS_MAX)
		return -1;
	int r = t->rows++;
	snprintf(t->cell[r][0], sizeof(t->cell[r][0]), "%s", label);
	for (int c = 1; c <= t->cols; c++)
		snprintf(t->cell[r][c], sizeof(t->cell[r][c]), "0");
	return r;
}

static void table_print(const struct table *t)
{
	int w[COMPARE_COLS_MAX + 1] = { 0 };

	for (int r = 0; r < t->rows; r++)
		for (int c = 0; c <= t->cols; c++) {
			int n = (int)strlen(t->cell[r][c]);
			if (n > w[c])
				w[c] = n;
		}
	for (int r = 0; r < t->rows; r++) {
		printf("%-*s", w[0], t->cell[r][0]);
		for (int c = 1; c <= t->cols; c++)
			printf("  %*s", w[c], t->cell[r][c]);
		printf("\n");
	}
}

int cmd_compare(int argc, char **argv)
{
	struct opt_values v;
	struct campaign_opts o;
	struct scenario *base = NULL;
	struct runner_result *res = NULL;
	struct store *st = NULL;
	struct table *t = NULL;
	cJSON *json = NULL, *cols = NULL;
	char err[CLI_ERR_MAX];
	int code = EXIT_USAGE;
	int ncols = 0;

	if (!opt_parse("compare", compare_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(compare_specs, &v, "--help")) {
		compare_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count != 1) {
		cli_error("compare", v.positional_count ? "one scenario at a time"
							: "no scenario given");
		return EXIT_USAGE;
	}
	const char *path = v.positional[0];
	if (!campaign_opts_read("compare", compare_specs, &v, &o))
		return EXIT_USAGE;
	fprintf(o.json ? stderr : stdout, "seed %" PRIu64 "\n", o.seed);
	fflush(o.json ? stderr : stdout);

	base = scenario_load_file(path, NULL, err, sizeof(err));
	if (!base) {
		cli_error("compare", "%s", err);
		goto out;
	}
	ncols = 1 + (int)base->variants_count;
	res = calloc((size_t)ncols, sizeof(*res));
	t = calloc(1, sizeof(*t));
	json = cJSON_CreateObject();
	cols = cJSON_CreateArray();
	if (!res || !t || !json || !cols) {
		cli_error("compare", "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	if (o.db) {
		st = cli_store_open("compare", o.db, false);
		if (!st)
			goto out;
	}
	struct runner_params tmpl;
	campaign_opts_apply(&o, base, &tmpl);
	if (!o.json) {
		printf("compare %s: %s, %" PRIu64 " schedule%s per variant",
		       base->name, strategy_kind_name(tmpl.strategy.kind),
		       tmpl.schedules, tmpl.schedules == 1 ? "" : "s");
		if (o.db)
			printf(", database %s", o.db);
		printf("\n");
		fflush(stdout);
	}

	cli_catch_interrupts();
	t->cols = ncols;
	int r_head = table_row(t, "");
	int r_camp = o.db ? table_row(t, "campaign") : -1;
	int r_runs = table_row(t, "schedules run");
	for (int c = 0; c < ncols; c++) {
		const char *vname = c ? base->variants[c - 1].name : NULL;
		struct scenario *sc = scenario_load_file(path, vname, err,
							 sizeof(err));
		if (!sc) {
			cli_error("compare", "%s", err);
			goto out;
		}
		struct runner_params p = tmpl;
		p.sc = sc;
		p.store = st;
		cli_run_campaign(&p, vname ? vname : "(base)", &res[c]);
		scenario_free(sc);
		if (res[c].rc != RUNNER_OK) {
			code = cli_campaign_exit(&res[c]);
			if (res[c].rc == RUNNER_STOPPED)
				cli_error("compare", "interrupted during %s",
					  vname ? vname : "the base scenario");
			else
				cli_error("compare", "%s", res[c].err);
			goto out;
		}
		snprintf(t->cell[r_head][c + 1], sizeof(t->cell[0][0]), "%s",
			 vname ? vname : "(base)");
		if (r_camp >= 0)
			snprintf(t->cell[r_camp][c + 1], sizeof(t->cell[0][0]),
				 "%" PRId64, res[c].campaign_id);
		snprintf(t->cell[r_runs][c + 1], sizeof(t->cell[0][0]),
			 "%" PRIu64, res[c].schedules_run);
	}
	/* Outcomes in enum order, then finding kinds in order of first
	 * appearance, so that the rows are the same for the same results. */
	for (int oc = 0; oc < RUN_OUTCOMES_COUNT; oc++) {
		char label[48];
		bool any = false;
		for (int c = 0; c < ncols; c++)
			any |= res[c].outcomes[oc] > 0;
		if (!any && oc != RUN_OK)
			continue;
		snprintf(label, sizeof(label), "outcome %s",
			 run_outcome_name((enum run_outcome)oc));
		int r = table_row(t, label);
		for (int c = 0; r >= 0 && c < ncols; c++)
			snprintf(t->cell[r][c + 1], sizeof(t->cell[0][0]),
				 "%" PRIu64, res[c].outcomes[oc]);
	}
	for (int c = 0; c < ncols; c++) {
		for (uint32_t k = 0; k < res[c].kinds_count; k++) {
			char label[64];
			snprintf(label, sizeof(label), "runs with %s",
				 res[c].kinds[k].kind);
			int r = table_row(t, label);
			if (r >= 0)
				snprintf(t->cell[r][c + 1], sizeof(t->cell[0][0]),
					 "%" PRIu64, res[c].kinds[k].runs);
		}
	}
	/* Latency: p50 and p99 of every time histogram that has samples in
	 * some column (virtual time; realistic under timed). */
	for (uint32_t m = 0; m < METRIC_HISTS_COUNT; m++) {
		struct metric_summary ms[COMPARE_COLS_MAX];
		bool any = false;
		for (int c = 0; c < ncols; c++) {
			metrics_summary(&res[c].metrics, (enum metric_id)m, &ms[c]);
			any |= ms[c].count > 0;
		}
		if (!any || strcmp(ms[0].unit, "ns") != 0)
			continue;
		for (int q = 0; q < 2; q++) {
			char label[64];
			snprintf(label, sizeof(label), "%s %s", ms[0].name,
				 q ? "p99" : "p50");
			int r = table_row(t, label);
			for (int c = 0; r >= 0 && c < ncols; c++) {
				if (ms[c].count)
					cli_fmt_ns(t->cell[r][c + 1], sizeof(t->cell[0][0]),
						   q ? ms[c].p99 : ms[c].p50);
				else
					snprintf(t->cell[r][c + 1], sizeof(t->cell[0][0]), "-");
			}
		}
	}
	/* Counters summed over the campaign's runs, each that is not zero
	 * in some column (vm events, then the derived ones: metrics.h). */
	for (uint32_t i = 0; i < METRIC_COUNTERS_COUNT; i++) {
		bool any = false;
		for (int c = 0; c < ncols; c++)
			any |= metrics_counter(&res[c].metrics, i) > 0;
		if (!any)
			continue;
		char label[64];
		snprintf(label, sizeof(label), "counter %s", metric_counter_name(i));
		int r = table_row(t, label);
		for (int c = 0; r >= 0 && c < ncols; c++)
			snprintf(t->cell[r][c + 1], sizeof(t->cell[0][0]), "%" PRIu64,
				 metrics_counter(&res[c].metrics, i));
	}
	int r_first = table_row(t, "first finding at");
	for (int c = 0; c < ncols; c++) {
		if (res[c].has_problem)
			snprintf(t->cell[r_first][c + 1], sizeof(t->cell[0][0]),
				 "%" PRIu64, res[c].first_problem_idx);
		else
			snprintf(t->cell[r_first][c + 1], sizeof(t->cell[0][0]),
				 "-");
	}

	code = EXIT_CLEAN;
	for (int c = 0; c < ncols; c++) {
		int e = cli_campaign_exit(&res[c]);
		if (e > code)
			code = e;
	}
	if (o.json) {
		cJSON_AddItemToObject(json, "seed", cli_json_u64(o.seed));
		cJSON_AddStringToObject(json, "scenario", base->name);
		cJSON_AddStringToObject(json, "strategy",
					strategy_kind_name(tmpl.strategy.kind));
		cJSON_AddItemToObject(json, "schedules", cli_json_u64(tmpl.schedules));
		for (int c = 0; c < ncols; c++) {
			cJSON *col = cJSON_CreateObject();
			cJSON *oc = cJSON_CreateObject();
			cJSON *fs = cJSON_CreateArray();
			cJSON_AddStringToObject(col, "variant",
						c ? base->variants[c - 1].name : "");
			if (res[c].campaign_id)
				cJSON_AddItemToObject(col, "campaign_id",
						      cli_json_u64((uint64_t)res[c].campaign_id));
			else
				cJSON_AddNullToObject(col, "campaign_id");
			cJSON_AddItemToObject(col, "schedules_run",
					      cli_json_u64(res[c].schedules_run));
			for (int k = 0; k < RUN_OUTCOMES_COUNT; k++)
				cJSON_AddItemToObject(oc, run_outcome_name((enum run_outcome)k),
						      cli_json_u64(res[c].outcomes[k]));
			cJSON_AddItemToObject(col, "outcomes", oc);
			for (uint32_t g = 0; g < res[c].groups_count; g++) {
				const struct runner_group *gr = &res[c].groups[g];
				cJSON *f = cJSON_CreateObject();
				cJSON_AddStringToObject(f, "kind", gr->kind);
				cJSON_AddItemToObject(f, "signature", cli_json_hex16(gr->signature));
				cJSON_AddItemToObject(f, "runs", cli_json_u64(gr->runs));
				cJSON_AddItemToObject(f, "schedule", cli_json_u64(gr->first_idx));
				cJSON_AddItemToArray(fs, f);
			}
			cJSON_AddItemToObject(col, "findings", fs);
			cJSON_AddItemToObject(col, "metrics", cli_metrics_json(&res[c].metrics));
			if (res[c].has_problem)
				cJSON_AddItemToObject(col, "first_finding_schedule",
						      cli_json_u64(res[c].first_problem_idx));
			else
				cJSON_AddNullToObject(col, "first_finding_schedule");
			cJSON_AddItemToArray(cols, col);
		}
		cJSON_AddItemToObject(json, "variants", cols);
		cols = NULL;
		if (o.db)
			cJSON_AddStringToObject(json, "database", o.db);
		else
			cJSON_AddNullToObject(json, "database");
		if (!cli_json_print(stdout, json)) {
			cli_error("compare", "out of memory printing JSON");
			code = EXIT_INTERNAL;
		}
	} else {
		table_print(t);
	}
out:
	fflush(stdout);
	if (st && !cli_store_close("compare", st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	cJSON_Delete(cols);
	cJSON_Delete(json);
	free(t);
	free(res);
	scenario_free(base);
	return code;
}
