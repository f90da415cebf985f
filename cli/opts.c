/*
 * opts.c: the command line's option parser and the campaign options that
 * the run, compare and check commands share.  Not the help texts (each
 * command has its own) and not what the options do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "mm/jread.h"

void cli_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "simrun%s%s: ", command ? " " : "",
		command ? command : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	char *end;

	if (!s || !*s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!*s)
			return false;
	}
	/* strtoull accepts leading blanks and a sign; people mean neither. */
	for (const char *c = s; *c; c++) {
		bool digit = base == 16 ? strchr("0123456789abcdefABCDEF", *c) != NULL
					: (*c >= '0' && *c <= '9');
		if (!digit)
			return false;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static int spec_index(const struct opt_spec *specs, const char *name,
		      size_t len)
{
	for (int i = 0; specs[i].name; i++)
		if (strlen(specs[i].name) == len &&
		    strncmp(specs[i].name, name, len) == 0)
			return i;
	return -1;
}

static void unknown_option(const char *command, const struct opt_spec *specs,
			   const char *a)
{
	const char *names[32];
	int n = 0;
	char key[64];
	const char *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);

	for (int i = 0; specs[i].name && n < 31; i++)
		names[n++] = specs[i].name;
	names[n] = NULL;
	snprintf(key, sizeof(key), "%.*s", (int)(len < 63 ? len : 63), a);
	const char *near = jread_suggest(key, names);
	if (near)
		cli_error(command, "unknown option %s; did you mean %s? (see simrun %s%s--help)",
			  key, near, command ? command : "", command ? " " : "");
	else
		cli_error(command, "unknown option %s (see simrun %s%s--help)", key,
			  command ? command : "", command ? " " : "");
}

bool opt_parse(const char *command, const struct opt_spec *specs, int argc,
	       char **argv, int first, struct opt_values *out)
{
	bool options_done = false;
	int nspecs = 0;

	memset(out, 0, sizeof(*out));
	while (specs[nspecs].name)
		nspecs++;
	SIM_ASSERT(nspecs <= (int)(sizeof(out->value) / sizeof(out->value[0])));
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
			if (out->positional_count >=
			    (int)(sizeof(out->positional) /
				  sizeof(out->positional[0]))) {
				cli_error(command, "too many arguments (at most %zu)",
					  sizeof(out->positional) /
						  sizeof(out->positional[0]));
				return false;
			}
			out->positional[out->positional_count++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
			continue;
		}
		/* -h is the one short option, as everywhere. */
		if (strcmp(a, "-h") == 0)
			a = "--help";
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		int k = spec_index(specs, a, len);
		if (k < 0) {
			unknown_option(command, specs, a);
			return false;
		}
		if (!specs[k].arg) {
			if (eq) {
				cli_error(command, "option %s takes no value",
					  specs[k].name);
				return false;
			}
			out->value[k] = "";
			continue;
		}
		if (eq) {
			out->value[k] = eq + 1;
		} else if (i + 1 < argc) {
			out->value[k] = argv[++i];
		} else {
			cli_error(command, "option %s needs a value (%s %s)",
				  specs[k].name, specs[k].name, specs[k].arg);
			return false;
		}
	}
	return true;
}

const char *opt_get(const struct opt_spec *specs, const struct opt_values *v,
		    const char *name)
{
	int k = spec_index(specs, name, strlen(name));
	SIM_ASSERT(k >= 0);	/* a command asks only for its own options */
	return v->value[k];
}

bool opt_has(const struct opt_spec *specs, const struct opt_values *v,
	     const char *name)
{
	return opt_get(specs, v, name) != NULL;
}

/* An option that may not be in this command's specs. */
static const char *opt_maybe(const struct opt_spec *specs,
			     const struct opt_values *v, const char *name)
{
	int k = spec_index(specs, name, strlen(name));
	return k < 0 ? NULL : v->value[k];
}

bool campaign_opts_read(const char *command, const struct opt_spec *specs,
			const struct opt_values *v, struct campaign_opts *o)
{
	const char *s;

	memset(o, 0, sizeof(*o));
	o->seed = CLI_DEFAULT_SEED;
	o->preemptions = UINT32_MAX;
	o->db = CLI_DEFAULT_DB;

	o->variant = opt_maybe(specs, v, "--variant");
	if (o->variant && !o->variant[0]) {
		cli_error(command, "--variant needs a name");
		return false;
	}
	if ((s = opt_maybe(specs, v, "--seed"))) {
		if (!cli_parse_u64(s, &o->seed)) {
			cli_error(command, "--seed %s: expected a whole number from 0 to 18446744073709551615 (decimal, or hex with 0x)",
				  s);
			return false;
		}
		o->has_seed = true;
	}
	if ((s = opt_maybe(specs, v, "--schedules"))) {
		if (!cli_parse_u64(s, &o->schedules) || o->schedules < 1 ||
		    o->schedules > RUNNER_SCHEDULES_MAX) {
			cli_error(command, "--schedules %s: expected a whole number from 1 to %llu",
				  s, (unsigned long long)RUNNER_SCHEDULES_MAX);
			return false;
		}
		o->has_schedules = true;
	}
	if ((s = opt_maybe(specs, v, "--strategy"))) {
		static const char *const names[] = { "timed", "random", "pct",
						     "dfs", NULL };
		bool ok = strategy_kind_parse(s, &o->strategy) &&
			  o->strategy != STRATEGY_REPLAY;
		if (!ok) {
			const char *near = jread_suggest(s, names);
			cli_error(command, "--strategy %s: not a strategy; use timed, random, pct or dfs%s%s%s",
				  s, near ? " (did you mean " : "",
				  near ? near : "", near ? "?)" : "");
			return false;
		}
		o->has_strategy = true;
	}
	if ((s = opt_maybe(specs, v, "--pct-depth"))) {
		uint64_t d;
		if (!cli_parse_u64(s, &d) || d < 1 || d > PCT_DEPTH_MAX) {
			cli_error(command, "--pct-depth %s: expected a whole number from 1 to %d",
				  s, PCT_DEPTH_MAX);
			return false;
		}
		o->pct_depth = (uint32_t)d;
		o->has_pct_depth = true;
	}
	if ((s = opt_maybe(specs, v, "--pct-steps"))) {
		if (!cli_parse_u64(s, &o->pct_steps) || o->pct_steps < 1 ||
		    o->pct_steps > STEPS_LIMIT) {
			cli_error(command, "--pct-steps %s: expected a whole number from 1 to %llu",
				  s, (unsigned long long)STEPS_LIMIT);
			return false;
		}
	}
	if ((s = opt_maybe(specs, v, "--preemptions"))) {
		uint64_t b;
		if (strcmp(s, "none") == 0) {
			o->preemptions = UINT32_MAX;
		} else if (cli_parse_u64(s, &b) && b <= 64) {
			o->preemptions = (uint32_t)b;
		} else {
			cli_error(command, "--preemptions %s: expected a whole number from 0 to 64, or none",
				  s);
			return false;
		}
		o->has_preemptions = true;
	}
	const char *db = opt_maybe(specs, v, "--db");
	bool no_db = opt_maybe(specs, v, "--no-db") != NULL;
	if (db && no_db) {
		cli_error(command, "--db and --no-db contradict each other; give one");
		return false;
	}
	if (db && !db[0]) {
		cli_error(command, "--db needs a file name");
		return false;
	}
	if (db)
		o->db = db;
	if (no_db)
		o->db = NULL;
	o->keep_decisions = opt_maybe(specs, v, "--keep-decisions") != NULL;
	o->stop_on_first = opt_maybe(specs, v, "--stop-on-first") != NULL;
	o->json = opt_maybe(specs, v, "--json") != NULL;
	o->trace = opt_maybe(specs, v, "--trace") != NULL;
	o->jobs = 1;
	if ((s = opt_maybe(specs, v, "--jobs"))) {
		uint64_t j;
		if (!cli_parse_u64(s, &j) || j < 1 || j > CLI_JOBS_MAX) {
			cli_error(command, "--jobs %s: expected a whole number from 1 to %u",
				  s, CLI_JOBS_MAX);
			return false;
		}
		o->jobs = (uint32_t)j;
	}
	if ((s = opt_maybe(specs, v, "--shard"))) {
		unsigned k, n;
		int used = 0;
		if (sscanf(s, "%u/%u%n", &k, &n, &used) != 2 || s[used] != '\0' ||
		    n < 1 || n > CLI_SHARDS_MAX || k >= n) {
			cli_error(command, "--shard %s: expected K/N, shard K of N with 0 <= K < N <= %u (e.g. --shard 0/4)",
				  s, CLI_SHARDS_MAX);
			return false;
		}
		o->has_shard = true;
		o->shard_index = k;
		o->shard_count = n;
	}
	if ((s = opt_maybe(specs, v, "--commit-every"))) {
		uint64_t c;
		if (!cli_parse_u64(s, &c) || c < 1 || c > STORE_BATCH_RUNS) {
			cli_error(command, "--commit-every %s: expected a whole number of runs from 1 to %u",
				  s, STORE_BATCH_RUNS);
			return false;
		}
		o->commit_every = (uint32_t)c;
	}
	if (o->has_shard && o->jobs > 1) {
		cli_error(command, "--shard and --jobs do not combine; run each shard with --jobs 1, or the whole campaign with --jobs");
		return false;
	}
	if (o->has_shard && !o->db) {
		cli_error(command, "--shard records its slice for `simrun merge`; it needs a database (--db PATH), not --no-db");
		return false;
	}
	if (o->keep_decisions && !o->db) {
		cli_error(command, "--keep-decisions needs a database; drop --no-db");
		return false;
	}
	if (o->pct_steps && o->has_strategy && o->strategy != STRATEGY_PCT) {
		cli_error(command, "--pct-steps applies to --strategy pct only");
		return false;
	}
	return true;
}

void campaign_opts_apply(const struct campaign_opts *o,
			 const struct scenario *sc, struct runner_params *p)
{
	const struct scenario_explore *x = &sc->explore;
	enum strategy_kind kind;

	memset(p, 0, sizeof(*p));
	p->sc = sc;
	if (o->has_strategy) {
		kind = o->strategy;
	} else {
		bool ok = strategy_kind_parse(x->strategy, &kind);
		SIM_ASSERT(ok);	/* the loader accepts known names only */
	}
	p->strategy.kind = kind;
	p->strategy.pct_depth = o->has_pct_depth ? o->pct_depth : x->pct_depth;
	p->strategy.pct_steps = o->pct_steps;
	p->strategy.preemptions_max = o->has_preemptions ? o->preemptions
							 : x->preemptions;
	p->base_seed = o->seed;
	p->schedules = o->has_schedules ? o->schedules : x->schedules;
	p->stop_on_first = o->stop_on_first;
	p->shard_index = o->has_shard ? o->shard_index : 0;
	p->shard_count = o->has_shard ? o->shard_count : 1;
}
