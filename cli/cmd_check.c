/*
 * cmd_check.c: `simrun check`: run each scenario's variants (and the base
 * scenario when it has a top-level `expect`) with the scenario's own
 * exploration budget, and verify that the finding kinds found are exactly
 * the ones expected.  With --table, also measure how many schedules pct and
 * random need to the first finding (median over 20 base seeds) and print a
 * Markdown table.  Not the campaign's report (cmd_run.c).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_int.h"

/* Base seeds 1..CHECK_TABLE_SEEDS for --table's medians: 20 gives a
 * median that one unlucky seed cannot move far, at a cost that small
 * scenarios pay in seconds. */
#define CHECK_TABLE_SEEDS 20

static const struct opt_spec check_specs[] = {
	{ "--seed", "N" },
	{ "--table", NULL },
	{ "--db", "PATH" },
	{ "--json", NULL },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void check_usage(FILE *f)
{
	fputs("usage: simrun check [--seed N] [--table] [--db PATH] [--json] SCENARIO|DIR...\n"
	      "\n"
	      "Runs every variant of each scenario (and the base scenario when it has a\n"
	      "top-level \"expect\") with the scenario's own \"explore\" settings, and checks\n"
	      "that the finding kinds found are exactly those its \"expect\" list names (an\n"
	      "empty list: no finding may appear).  A variant without an \"expect\" list is\n"
	      "listed as SKIP and not run.  A DIR stands for its *.json files, in name\n"
	      "order, except *.schema.json.  One line per scenario and variant:\n"
	      "PASS or FAIL, the kinds expected and found (each with the first schedule\n"
	      "that found it), the schedules run and the strategy.\n"
	      "\n"
	      "  --seed N    base seed of every campaign (default 42)\n"
	      "  --table     also print a Markdown table: per scenario and variant, the\n"
	      "              finding kinds, and the schedules pct and random need to the\n"
	      "              first finding (the median over base seeds 1 to 20, each\n"
	      "              campaign stopping at its first finding, within the scenario's\n"
	      "              explore.schedules; \">N\" when more than half found none),\n"
	      "              and the p99 of fault latency over explore.schedules timed\n"
	      "              schedules (\"-\" when nothing faulted)\n"
	      "  --db PATH   record every campaign in PATH (check records nothing unless\n"
	      "              asked: it is a test, not an exploration)\n"
	      "  --json      print one JSON object on stdout (seed on stderr)\n"
	      "\n"
	      "Exit status: 0 every expectation met, 1 a mismatch, 2 usage or input error\n"
	      "(a scenario that does not load; the others are still checked), 3 internal\n"
	      "error, 128+N interrupted by signal N.\n",
	      f);
}

struct check_files {
	char *path[CLI_CHECK_FILES_MAX];
	int count;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool add_file(struct check_files *f, const char *path)
{
	if (f->count >= CLI_CHECK_FILES_MAX) {
		cli_error("check", "more than %d scenario files", CLI_CHECK_FILES_MAX);
		return false;
	}
	f->path[f->count] = strdup(path);
	if (!f->path[f->count]) {
		cli_error("check", "out of memory");
		return false;
	}
	f->count++;
	return true;
}

/* A named file, or a directory's *.json files in name order. */
static bool collect(struct check_files *f, const char *arg)
{
	struct stat sb;

	if (stat(arg, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return add_file(f, arg);	/* the loader says what is wrong */
	DIR *d = opendir(arg);
	if (!d) {
		cli_error("check", "%s: cannot read the directory: %s", arg,
			  strerror(errno));
		return false;
	}
	int first = f->count;
	bool ok = true;
	for (struct dirent *de; ok && (de = readdir(d));) {
		if (de->d_name[0] == '.' || !ends_with(de->d_name, ".json") ||
		    ends_with(de->d_name, ".schema.json"))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s%s%s", arg,
			 ends_with(arg, "/") ? "" : "/", de->d_name);
		ok = add_file(f, path);
	}
	closedir(d);
	qsort(f->path + first, (size_t)(f->count - first), sizeof(char *),
	      cmp_str);
	if (ok && f->count == first)
		cli_error("check", "%s: no *.json scenarios in this directory", arg);
	return ok && f->count > first;
}

/* The kinds found, each with the first schedule that found it, as
 * "[deadlock@3, leak@17]". */
static void kinds_text(char *buf, size_t len, const struct runner_result *res)
{
	size_t at = 0;

	at += (size_t)snprintf(buf, len, "[");
	for (uint32_t i = 0; i < res->kinds_count && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s@%" PRIu64,
				       i ? ", " : "", res->kinds[i].kind,
				       res->kinds[i].first_idx);
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

static void expect_text(char *buf, size_t len, const struct scenario_variant *x)
{
	size_t at = 0;

	at += (size_t)snprintf(buf, len, "[");
	for (uint32_t i = 0; i < x->expect_count && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s",
				       i ? ", " : "", x->expect[i]);
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

/* Found exactly the expected kinds? */
static bool expectation_met(const struct scenario_variant *x,
			    const struct runner_result *res)
{
	for (uint32_t i = 0; i < x->expect_count; i++) {
		bool found = false;
		for (uint32_t k = 0; k < res->kinds_count; k++)
			found |= strcmp(res->kinds[k].kind, x->expect[i]) == 0;
		if (!found)
			return false;
	}
	for (uint32_t k = 0; k < res->kinds_count; k++) {
		bool expected = false;
		for (uint32_t i = 0; i < x->expect_count; i++)
			expected |= strcmp(res->kinds[k].kind, x->expect[i]) == 0;
		if (!expected)
			return false;
	}
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* --table: schedules to the first finding under `kind`, the lower median
 * over base seeds 1..CHECK_TABLE_SEEDS, into buf.  False on an error
 * (printed) or an interrupt. */
static bool median_text(const struct scenario *sc, enum strategy_kind kind,
			struct store *st, struct runner_result *res, char *buf,
			size_t len, int *code)
{
	uint64_t needed[CHECK_TABLE_SEEDS];
	char label[192];

	for (int s = 0; s < CHECK_TABLE_SEEDS; s++) {
		struct runner_params p = { 0 };
		p.sc = sc;
		p.strategy.kind = kind;
		p.strategy.pct_depth = sc->explore.pct_depth;
		p.strategy.preemptions_max = sc->explore.preemptions;
		p.base_seed = (uint64_t)s + 1;
		p.schedules = sc->explore.schedules;
		p.stop_on_first = true;
		p.store = st;
		snprintf(label, sizeof(label), "%s%s%s %s seed %d", sc->name,
			 sc->variant[0] ? "/" : "", sc->variant,
			 strategy_kind_name(kind), s + 1);
		if (cli_run_campaign(&p, label, res) != RUNNER_OK) {
			int e = cli_campaign_exit(res);
			cli_error("check", "%s: %s", label,
				  res->rc == RUNNER_STOPPED ? "interrupted" : res->err);
			*code = e;
			return false;
		}
		/* Schedules needed: the index of the first problem run plus
		 * one; UINT64_MAX when the budget found none. */
		needed[s] = res->has_problem ? res->first_problem_idx + 1
					     : UINT64_MAX;
	}
	qsort(needed, CHECK_TABLE_SEEDS, sizeof(needed[0]), cmp_u64);
	uint64_t m = needed[(CHECK_TABLE_SEEDS - 1) / 2];
	if (m == UINT64_MAX)
		snprintf(buf, len, ">%" PRIu64, sc->explore.schedules);
	else
		snprintf(buf, len, "%" PRIu64, m);
	return true;
}

/* --table's headline metric: the scenario's `headline` (p99 of a
 * histogram, mean per run of a counter), else the p99 of every fault's
 * latency, over a timed campaign of explore.schedules schedules from the
 * check's seed (latencies are realistic only under timed). */
static bool headline_text(const struct scenario *sc, uint64_t seed,
			  struct store *st, struct runner_result *res,
			  char *buf, size_t len, int *code)
{
	struct runner_params p = { 0 };
	char label[192];

	p.sc = sc;
	p.strategy.kind = STRATEGY_TIMED;
	p.base_seed = seed;
	p.schedules = sc->explore.schedules;
	p.store = st;
	snprintf(label, sizeof(label), "%s%s%s timed", sc->name,
		 sc->variant[0] ? "/" : "", sc->variant);
	if (cli_run_campaign(&p, label, res) != RUNNER_OK) {
		*code = cli_campaign_exit(res);
		cli_error("check", "%s: %s", label,
			  res->rc == RUNNER_STOPPED ? "interrupted" : res->err);
		return false;
	}
	cli_headline_text(sc, &res->metrics, buf, len);
	return true;
}

struct table_rows {
	char **row;
	size_t count, cap;
};

static bool rows_add(struct table_rows *t, char *row)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **n = realloc(t->row, cap * sizeof(*n));
		if (!n)
			return false;
		t->row = n;
		t->cap = cap;
	}
	t->row[t->count++] = row;
	return true;
}

int cmd_check(int argc, char **argv)
{
	struct opt_values v;
	struct check_files files = { 0 };
	struct store *st = NULL;
	struct runner_result *res = NULL;
	cJSON *json = NULL, *results = NULL;
	/* The table is printed after the verdicts; its rows wait here. */
	struct table_rows rows = { 0 };
	uint64_t seed = CLI_DEFAULT_SEED;
	int code = EXIT_USAGE;
	int passed = 0, failed = 0, skipped = 0, errors = 0;

	if (!opt_parse("check", check_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(check_specs, &v, "--help")) {
		check_usage(stdout);
		return EXIT_CLEAN;
	}
	if (!v.positional_count) {
		cli_error("check", "which scenarios? give files or directories (e.g. simrun check scenarios/)");
		return EXIT_USAGE;
	}
	const char *s = opt_get(check_specs, &v, "--seed");
	if (s && !cli_parse_u64(s, &seed)) {
		cli_error("check", "--seed %s: expected a whole number from 0 to 18446744073709551615 (decimal, or hex with 0x)",
			  s);
		return EXIT_USAGE;
	}
	bool table = opt_has(check_specs, &v, "--table");
	bool as_json = opt_has(check_specs, &v, "--json");
	const char *db = opt_get(check_specs, &v, "--db");
	if (db && !db[0]) {
		cli_error("check", "--db needs a file name");
		return EXIT_USAGE;
	}
	for (int i = 0; i < v.positional_count; i++)
		if (!collect(&files, v.positional[i]))
			goto out;

	FILE *head = as_json ? stderr : stdout;
	fprintf(head, "seed %" PRIu64 "\n", seed);
	fflush(head);
	res = calloc(1, sizeof(*res));
	json = cJSON_CreateObject();
	results = cJSON_CreateArray();
	if (!res || !json || !results) {
		cli_error("check", "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	if (db && !(st = cli_store_open("check", db, false)))
		goto out;
	cli_catch_interrupts();

	code = EXIT_CLEAN;
	for (int fi = 0; fi < files.count; fi++) {
		char err[CLI_ERR_MAX];
		const char *path = files.path[fi];
		struct scenario *base = scenario_load_file(path, NULL, err,
							   sizeof(err));
		if (!base) {
			if (!as_json)
				printf("ERROR %s\n", err);
			cli_error("check", "%s", err);
			errors++;
			continue;
		}
		if (!cli_headline_valid(base, err, sizeof(err))) {
			if (!as_json)
				printf("ERROR %s: %s\n", path, err);
			cli_error("check", "%s: %s", path, err);
			errors++;
			scenario_free(base);
			continue;
		}
		for (int vi = -1; vi < (int)base->variants_count; vi++) {
			const struct scenario_variant *x =
				vi < 0 ? &base->base : &base->variants[vi];
			const char *vname = vi < 0 ? NULL : x->name;
			char what[512], exp[256], found[512];
			snprintf(what, sizeof(what), "%s %s%s", path,
				 vname ? "variant " : "(base)", vname ? vname : "");
			if (!x->has_expect) {
				/* The base without `expect` is what the
				 * variants patch, not a case of its own,
				 * unless there are no variants. */
				if (vi >= 0 || base->variants_count == 0) {
					skipped++;
					if (!as_json)
						printf("SKIP  %s: no \"expect\" list\n", what);
				}
				continue;
			}
			struct scenario *sc = scenario_load_file(path, vname, err,
								 sizeof(err));
			if (!sc) {
				if (!as_json)
					printf("ERROR %s\n", err);
				cli_error("check", "%s", err);
				errors++;
				continue;
			}
			struct campaign_opts o = { .seed = seed, .has_seed = true };
			struct runner_params p;
			o.preemptions = UINT32_MAX;
			campaign_opts_apply(&o, sc, &p);
			p.store = st;
			if (cli_run_campaign(&p, what, res) != RUNNER_OK) {
				int e = cli_campaign_exit(res);
				cli_error("check", "%s: %s", what,
					  res->rc == RUNNER_STOPPED ? "interrupted" : res->err);
				scenario_free(sc);
				scenario_free(base);
				code = e;
				goto out;
			}
			bool ok = expectation_met(x, res) && !res->nondeterministic;
			expect_text(exp, sizeof(exp), x);
			kinds_text(found, sizeof(found), res);
			if (ok)
				passed++;
			else
				failed++;
			if (as_json) {
				cJSON *r = cJSON_CreateObject();
				cJSON *e = cJSON_CreateArray();
				cJSON *fnd = cJSON_CreateArray();
				cJSON_AddStringToObject(r, "file", path);
				cJSON_AddStringToObject(r, "scenario", sc->name);
				cJSON_AddStringToObject(r, "variant", sc->variant);
				cJSON_AddBoolToObject(r, "pass", ok);
				for (uint32_t k = 0; k < x->expect_count; k++)
					cJSON_AddItemToArray(e, cJSON_CreateString(x->expect[k]));
				for (uint32_t k = 0; k < res->kinds_count; k++) {
					cJSON *f = cJSON_CreateObject();
					cJSON_AddStringToObject(f, "kind", res->kinds[k].kind);
					cJSON_AddItemToObject(f, "first_schedule",
							      cli_json_u64(res->kinds[k].first_idx));
					cJSON_AddItemToObject(f, "runs",
							      cli_json_u64(res->kinds[k].runs));
					cJSON_AddItemToArray(fnd, f);
				}
				cJSON_AddItemToObject(r, "expected", e);
				cJSON_AddItemToObject(r, "found", fnd);
				cJSON_AddStringToObject(r, "strategy",
							strategy_kind_name(p.strategy.kind));
				cJSON_AddItemToObject(r, "schedules_run",
						      cli_json_u64(res->schedules_run));
				cJSON_AddItemToArray(results, r);
			} else {
				printf("%s  %s: expected %s, found %s (%" PRIu64 " schedule%s, %s)\n",
				       ok ? "PASS" : "FAIL", what, exp, found,
				       res->schedules_run,
				       res->schedules_run == 1 ? "" : "s",
				       strategy_kind_name(p.strategy.kind));
				fflush(stdout);
			}
			if (table) {
				char pct[32], rnd[32], kinds[256];
				size_t at = 0;
				kinds[0] = '\0';
				for (uint32_t k = 0; k < res->kinds_count && at < sizeof(kinds); k++)
					at += (size_t)snprintf(kinds + at, sizeof(kinds) - at,
							       "%s%s", k ? ", " : "",
							       res->kinds[k].kind);
				if (!median_text(sc, STRATEGY_PCT, st, res, pct, sizeof(pct), &code) ||
				    !median_text(sc, STRATEGY_RANDOM, st, res, rnd, sizeof(rnd), &code)) {
					scenario_free(sc);
					scenario_free(base);
					goto out;
				}
				char headline[96];
				if (!headline_text(sc, seed, st, res, headline,
						   sizeof(headline), &code)) {
					scenario_free(sc);
					scenario_free(base);
					goto out;
				}
				char *row = NULL;
				if (asprintf(&row, "| %s | %s | %s | %s | %s | %s | %" PRIu64 " | %s |",
					     sc->name, sc->variant[0] ? sc->variant : "(base)",
					     kinds[0] ? kinds : "none", ok ? "PASS" : "FAIL",
					     pct, rnd, sc->explore.schedules, headline) < 0 ||
				    !rows_add(&rows, row)) {
					free(row);
					cli_error("check", "out of memory");
					scenario_free(sc);
					scenario_free(base);
					code = EXIT_INTERNAL;
					goto out;
				}
			}
			scenario_free(sc);
		}
		scenario_free(base);
	}
	if (failed && code == EXIT_CLEAN)
		code = EXIT_FINDINGS;
	if (errors && code < EXIT_USAGE)
		code = EXIT_USAGE;
	if (as_json) {
		cJSON_AddItemToObject(json, "seed", cli_json_u64(seed));
		cJSON_AddItemToObject(json, "results", results);
		results = NULL;
		cJSON_AddNumberToObject(json, "passed", passed);
		cJSON_AddNumberToObject(json, "failed", failed);
		cJSON_AddNumberToObject(json, "skipped", skipped);
		cJSON_AddNumberToObject(json, "errors", errors);
		if (!cli_json_print(stdout, json)) {
			cli_error("check", "out of memory printing JSON");
			code = EXIT_INTERNAL;
		}
	} else {
		printf("check: %d passed, %d failed, %d skipped, %d not loadable\n",
		       passed, failed, skipped, errors);
	}
	if (table && !as_json) {
		printf("\n<!-- simrun check --table: expectations checked with base seed %" PRIu64
		       "; medians over base seeds 1..%d -->\n",
		       seed, CHECK_TABLE_SEEDS);
		printf("| scenario | variant | findings | expect | pct: schedules to first finding | random: schedules to first finding | budget | headline (timed) |\n");
		printf("|---|---|---|---|---:|---:|---:|---:|\n");
		for (size_t i = 0; i < rows.count; i++)
			printf("%s\n", rows.row[i]);
	}
out:
	fflush(stdout);
	if (st && !cli_store_close("check", st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	cJSON_Delete(results);
	cJSON_Delete(json);
	free(res);
	for (int i = 0; i < files.count; i++)
		free(files.path[i]);
	for (size_t i = 0; i < rows.count; i++)
		free(rows.row[i]);
	free(rows.row);
	return code;
}
