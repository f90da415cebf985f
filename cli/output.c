/*
 * output.c: what several commands print the same way: shell-quoted
 * commands that reproduce a finding, exact 64-bit JSON numbers, the
 * database's opening and closing, and the exit code of a campaign.  Not a
 * command's own report (each cmd_*.c prints its own).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "mm/jread.h"

void cli_shell_quote(char *buf, size_t len, const char *s)
{
	size_t at = strlen(buf);
	bool plain = *s != '\0';

	for (const char *c = s; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_./=:,+@%", *c))
			plain = false;
	if (plain) {
		snprintf(buf + at, len - at, "%s", s);
		return;
	}
	/* 'it'\''s': close the quote, an escaped quote, reopen. */
	if (at + 1 < len)
		buf[at++] = '\'';
	for (const char *c = s; *c && at + 5 < len; c++) {
		if (*c == '\'') {
			memcpy(buf + at, "'\\''", 4);
			at += 4;
		} else {
			buf[at++] = *c;
		}
	}
	if (at + 1 < len)
		buf[at++] = '\'';
	buf[at < len ? at : len - 1] = '\0';
}

cJSON *cli_json_u64(uint64_t v)
{
	char digits[24];

	snprintf(digits, sizeof(digits), "%" PRIu64, v);
	return cJSON_CreateRaw(digits);
}

cJSON *cli_json_hex16(uint64_t v)
{
	char hex[17];

	snprintf(hex, sizeof(hex), "%016" PRIx64, v);
	return cJSON_CreateString(hex);
}

bool cli_json_print(FILE *f, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);

	if (!text)
		return false;
	fprintf(f, "%s\n", text);
	cJSON_free(text);
	return true;
}

static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t at = strlen(buf);
	va_list ap;

	if (at + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + at, len - at, fmt, ap);
	va_end(ap);
}

void cli_reproduce_command(char *buf, size_t len, const char *db,
			   const char *scenario_path,
			   const struct runner_params *p,
			   const struct runner_result *res,
			   const struct runner_group *g)
{
	const struct strategy_params *sp = &p->strategy;

	SIM_ASSERT(g->runs >= 1);
	/* A shard's runs are every N-th schedule: bounded by the campaign. */
	SIM_ASSERT(g->first_idx < p->schedules);
	buf[0] = '\0';
	if (db && g->first_run_id > 0) {
		append(buf, len, "simrun replay --db ");
		cli_shell_quote(buf, len, db);
		append(buf, len, " --run %" PRId64, g->first_run_id);
		return;
	}
	append(buf, len, "simrun ");
	cli_shell_quote(buf, len, scenario_path);
	if (p->sc->variant[0]) {
		append(buf, len, " --variant ");
		cli_shell_quote(buf, len, p->sc->variant);
	}
	switch (sp->kind) {
	case STRATEGY_DFS:
		/* A dfs schedule is a point in a search, not a function of
		 * its seed: the same search up to it finds it again. */
		append(buf, len, " --seed %" PRIu64 " --strategy dfs"
			       " --preemptions ", p->base_seed);
		if (sp->preemptions_max == UINT32_MAX)
			append(buf, len, "none");
		else
			append(buf, len, "%" PRIu32, sp->preemptions_max);
		append(buf, len, " --schedules %" PRIu64, g->first_idx + 1);
		break;
	case STRATEGY_PCT:
		/* The run seed as base seed makes it schedule 0; k must be
		 * the campaign's, not one measured from the new seed. */
		append(buf, len, " --seed %" PRIu64 " --strategy pct"
			       " --pct-depth %" PRIu32 " --pct-steps %" PRIu64,
		       g->first_seed, sp->pct_depth ? sp->pct_depth : 3,
		       res->pct_steps);
		break;
	default:
		append(buf, len, " --seed %" PRIu64 " --strategy %s",
		       g->first_seed, strategy_kind_name(sp->kind));
		break;
	}
	if (!db)
		append(buf, len, " --no-db");
}

bool cli_after_run(void *ctx, const struct run_result *r,
		   const struct engine *e)
{
	struct run_progress *rp = ctx;

	if (runner_is_problem(r->outcome, e->findings_count))
		rp->problems++;
	progress_update(&rp->bar, r->index + 1, rp->problems);
	return cli_interrupted == 0;
}

enum runner_rc cli_run_campaign(struct runner_params *p, const char *label,
				struct runner_result *res)
{
	struct run_progress rp;

	memset(&rp, 0, sizeof(rp));
	progress_begin(&rp.bar, progress_wanted() && !p->trace_out, label,
		       p->schedules);
	p->after_run = cli_after_run;
	p->ctx = &rp;
	runner_run(p, res);
	progress_end(&rp.bar);
	return res->rc;
}

struct store *cli_store_open(const char *command, const char *path,
			     bool keep_decisions)
{
	struct store_opts opts = { .keep_all_decisions = keep_decisions };
	struct store *s = NULL;
	char err[STORE_MESSAGE_MAX];

	if (store_open(path, &opts, &s, err, sizeof(err)) != STORE_OK) {
		cli_error(command, "%s", err);
		return NULL;
	}
	return s;
}

bool cli_store_close(const char *command, struct store *s)
{
	char err[STORE_MESSAGE_MAX];

	if (store_close(s, err, sizeof(err)) != STORE_OK) {
		cli_error(command, "%s", err);
		return false;
	}
	return true;
}

int cli_campaign_exit(const struct runner_result *res)
{
	SIM_ASSERT(res->rc <= RUNNER_ERR_VERIFY);
	if (res->rc == RUNNER_STOPPED)
		SIM_ASSERT(res->status == STORE_INTERRUPTED);
	switch (res->rc) {
	case RUNNER_OK:
		break;
	case RUNNER_STOPPED:
		return EXIT_SIGNAL_BASE + (cli_interrupted ? cli_interrupted
							   : SIGINT);
	case RUNNER_ERR_PARAMS:
	case RUNNER_ERR_STORE:
		return EXIT_USAGE;
	case RUNNER_ERR_NOMEM:
	case RUNNER_ERR_VERIFY:
		return EXIT_INTERNAL;
	}
	if (res->nondeterministic)
		return EXIT_INTERNAL;
	return res->groups_count || res->groups_dropped ? EXIT_FINDINGS
							: EXIT_CLEAN;
}

void cli_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

cJSON *cli_metrics_json(const struct metrics *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *h = cJSON_CreateObject();
	cJSON *c = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "runs", cli_json_u64(m->runs));
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++) {
		struct metric_summary s;
		metrics_summary(m, (enum metric_id)i, &s);
		if (!s.count)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "unit", s.unit);
		cJSON_AddItemToObject(x, "count", cli_json_u64(s.count));
		cJSON_AddItemToObject(x, "min", cli_json_u64(s.min));
		cJSON_AddItemToObject(x, "p50", cli_json_u64(s.p50));
		cJSON_AddItemToObject(x, "p90", cli_json_u64(s.p90));
		cJSON_AddItemToObject(x, "p99", cli_json_u64(s.p99));
		cJSON_AddItemToObject(x, "max", cli_json_u64(s.max));
		cJSON_AddItemToObject(x, "mean", cli_json_u64(s.mean));
		cJSON_AddItemToObject(h, s.name, x);
	}
	for (uint32_t i = 0; i < METRIC_COUNTERS_COUNT; i++) {
		uint64_t v = metrics_counter(m, i);
		if (v)
			cJSON_AddItemToObject(c, metric_counter_name(i),
					      cli_json_u64(v));
	}
	cJSON_AddItemToObject(o, "histograms", h);
	cJSON_AddItemToObject(o, "counters", c);
	return o;
}

static void fmt_value(char *buf, size_t len, const char *unit, uint64_t v)
{
	if (strcmp(unit, "ns") == 0)
		cli_fmt_ns(buf, len, v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

void cli_print_metrics(FILE *f, const struct metrics *m)
{
	bool any = false;

	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++) {
		struct metric_summary s;
		char p50[24], p99[24], max[24];
		metrics_summary(m, (enum metric_id)i, &s);
		if (!s.count)
			continue;
		if (!any)
			fprintf(f, "metrics over %" PRIu64 " run%s (virtual time):\n",
				m->runs, m->runs == 1 ? "" : "s");
		any = true;
		fmt_value(p50, sizeof(p50), s.unit, s.p50);
		fmt_value(p99, sizeof(p99), s.unit, s.p99);
		fmt_value(max, sizeof(max), s.unit, s.max);
		fprintf(f, "  %-30s n=%-8" PRIu64 " p50 %-9s p99 %-9s max %s\n",
			s.name, s.count, p50, p99, max);
	}
	bool counters = false;
	for (uint32_t i = 0; i < METRIC_COUNTERS_COUNT; i++) {
		uint64_t v = metrics_counter(m, i);
		if (!v)
			continue;
		fprintf(f, "%s %s %" PRIu64, counters ? "," : "  counters:",
			metric_counter_name(i), v);
		counters = true;
	}
	if (counters)
		fputc('\n', f);
}

bool cli_fault_p99(const struct metrics *m, uint64_t *p99_ns)
{
	struct hist all;

	SIM_ASSERT(p99_ns != NULL);
	hist_reset(&all);
	for (uint32_t k = 0; k < FAULT_KINDS_COUNT; k++)
		hist_merge(&all, &m->hists[METRIC_FAULT_LATENCY + k]);
	if (!all.count)
		return false;
	*p99_ns = hist_quantile(&all, 990);
	return true;
}

bool cli_headline_valid(const struct scenario *sc, char *err, size_t len)
{
	bool counter;
	uint32_t index;

	SIM_ASSERT(sc != NULL && err != NULL);
	if (!sc->headline[0] || metrics_lookup(sc->headline, &counter, &index))
		return true;
	/* The nearest of every histogram and counter name. */
	const char *names[METRIC_HISTS_COUNT + METRIC_COUNTERS_COUNT + 1];
	uint32_t n = 0;
	for (uint32_t i = 0; i < METRIC_HISTS_COUNT; i++)
		names[n++] = metric_name((enum metric_id)i);
	for (uint32_t c = 0; c < METRIC_COUNTERS_COUNT; c++)
		names[n++] = metric_counter_name(c);
	names[n] = NULL;
	const char *near = jread_suggest(sc->headline, names);
	snprintf(err, len, "headline: \"%s\" is not a metric%s%s%s", sc->headline,
		 near ? "; did you mean \"" : " (see simrun compare for the names)",
		 near ? near : "", near ? "\"?" : "");
	return false;
}

void cli_headline_text(const struct scenario *sc, const struct metrics *m,
		       char *buf, size_t len)
{
	bool counter;
	uint32_t index;
	uint64_t v;
	char num[32];

	SIM_ASSERT(sc != NULL && m != NULL);
	if (!sc->headline[0] || !metrics_lookup(sc->headline, &counter, &index)) {
		if (cli_fault_p99(m, &v)) {
			cli_fmt_ns(num, sizeof(num), v);
			snprintf(buf, len, "fault p99 %s", num);
		} else {
			snprintf(buf, len, "-");
		}
		return;
	}
	if (counter) {
		uint64_t total = metrics_counter(m, index);
		/* Tenths, in integers: a figure, not a model value. */
		uint64_t tenths = m->runs ? (total * 10 + m->runs / 2) / m->runs : 0;
		snprintf(buf, len, "%s %" PRIu64 ".%" PRIu64 "/run", sc->headline,
			 tenths / 10, tenths % 10);
		return;
	}
	const struct hist *h = &m->hists[index];
	if (!h->count) {
		snprintf(buf, len, "%s -", sc->headline);
		return;
	}
	v = hist_quantile(h, 990);
	if (index == METRIC_FAULT_RETRIES)
		snprintf(num, sizeof(num), "%" PRIu64, v);
	else
		cli_fmt_ns(num, sizeof(num), v);
	snprintf(buf, len, "%s p99 %s", sc->headline, num);
}
