/*
 * output.c: what several commands print the same way: shell-quoted
 * commands that reproduce a finding, exact 64-bit JSON numbers, the
 * database's opening and closing, and the exit code of a campaign.  Not a
 * command's own report (each cmd_*.c prints its own).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "cli/cli_int.h"

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
		return EXIT_INTERNAL;
	}
	if (res->nondeterministic)
		return EXIT_INTERNAL;
	return res->groups_count || res->groups_dropped ? EXIT_FINDINGS
							: EXIT_CLEAN;
}
