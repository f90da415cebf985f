/*
 * cmd_shrink.c: `simrun shrink --db PATH --run ID`: reduce a recorded
 * failing schedule to a small one that still gives the same finding,
 * record it as a new run and print both sizes.  The search itself is
 * analysis/shrink.c; this file picks the finding, prints and exits.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/shrink.h"
#include "cli/cli_int.h"

static const struct opt_spec shrink_specs[] = {
	{ "--db", "PATH" },
	{ "--run", "ID" },
	{ "--kind", "KIND" },
	{ "--max-replays", "N" },
	{ "--help", NULL },
	{ NULL, NULL },
};

static void shrink_usage(FILE *f)
{
	fprintf(f,
		"usage: simrun shrink [--db PATH] --run ID [--kind KIND] [--max-replays N]\n"
		"\n"
		"Reduces the schedule of run ID to one with as few preemptions and decisions as\n"
		"it can find that still gives a finding of the same kind and signature, records\n"
		"it as a new run (a campaign of strategy `shrink` whose params_json names the\n"
		"source run) and prints both sizes.  `simrun replay --run NEW` replays the\n"
		"result exactly.\n"
		"\n"
		"  --db PATH         the database (default simrun.db); it must exist\n"
		"  --run ID          the run to shrink (it needs its decision log)\n"
		"  --kind KIND       which of its findings to keep, when it has several\n"
		"                    (default: the first that belongs to the run)\n"
		"  --max-replays N   candidates to replay at most (default %u, up to %u);\n"
		"                    the smallest run found by then is the result\n"
		"\n"
		"Sizes: decisions are the choice points with two or more enabled choices;\n"
		"a preemption is a decision that picked something other than the task that\n"
		"ran the previous step while that task could still run (as dfs counts them:\n"
		"switching away from a task that blocked or exited, or after an event, is\n"
		"free); steps are every step of the run.\n"
		"\n"
		"The search replays edited decision lists with the run's seed: each list is\n"
		"followed while the engine asks, and when it runs out the run goes on without\n"
		"preempting (the task that ran last goes on while it can, else the timed rule\n"
		"picks); a list whose choice is not enabled where it is asked is dropped.\n"
		"It removes chunks of the list (delta debugging), then replaces each\n"
		"preemptive decision by the task it preempted, and repeats until nothing\n"
		"smaller is found.  A candidate is kept when its run has the finding and is\n"
		"no larger in preemptions and decisions, and smaller in one of them or in\n"
		"steps.\n"
		"\n"
		"lock_order findings are refused: they belong to the campaign (the cycle may\n"
		"close on lock dependencies earlier runs recorded, and each is reported once\n"
		"per campaign), so no run alone can be said to keep one.  Shrink the run's\n"
		"deadlock or other finding instead, or a run of a campaign whose first run\n"
		"reports the cycle.\n"
		"\n"
		"Exit status: 0 shrunk (or already as small as it gets) and recorded, 1 the\n"
		"recorded schedule no longer gives the finding, 2 usage or input error (no\n"
		"such database, run, decision log or finding; a lock_order finding), 3\n"
		"internal error (the result did not replay to itself).\n",
		SHRINK_REPLAYS_MAX, SHRINK_REPLAYS_LIMIT);
}

/* The finding to keep: the first run-level one, or the first of `kind`.
 * NULL (after printing why) when there is none. */
static const struct runner_group *pick_target(const char *db, uint64_t run_id,
					      const struct runner_group *g,
					      uint32_t n, const char *kind)
{
	if (kind && runner_kind_is_campaign_wide(kind)) {
		cli_error("shrink", "--kind %s: lock_order findings belong to the campaign, not to "
			  "one run (a cycle may close on dependencies earlier runs recorded, and "
			  "is reported once per campaign), so shrink cannot keep one; shrink the "
			  "run's deadlock or another finding of it",
			  kind);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (runner_kind_is_campaign_wide(g[i].kind))
			continue;
		if (!kind || strcmp(kind, g[i].kind) == 0)
			return &g[i];
	}
	if (kind) {
		cli_error("shrink", "%s: run %" PRIu64 " has no %s finding (it has %" PRIu32
			  " finding%s%s%s)",
			  db, run_id, kind, n, n == 1 ? "" : "s", n ? ", the first " : "",
			  n ? g[0].kind : "");
	} else if (n) {
		cli_error("shrink", "%s: run %" PRIu64 " has only lock_order findings, which "
			  "belong to the campaign and not to one run; there is nothing a run "
			  "alone can keep",
			  db, run_id);
	} else {
		cli_error("shrink", "%s: run %" PRIu64 " has no finding and ended ok: nothing "
			  "to shrink",
			  db, run_id);
	}
	return NULL;
}

static void print_size(const char *label, int64_t run_id,
		       const struct shrink_size *s)
{
	printf("%s %" PRId64 ": %" PRIu64 " decision%s, %" PRIu64 " preemption%s, %" PRIu64
	       " step%s",
	       label, run_id, s->decisions, s->decisions == 1 ? "" : "s",
	       s->preemptions, s->preemptions == 1 ? "" : "s", s->steps,
	       s->steps == 1 ? "" : "s");
}

int cmd_shrink(int argc, char **argv)
{
	struct opt_values v;
	struct store *st = NULL;
	struct store_run_info info;
	struct scenario *sc = NULL;
	struct shrink_result *res = NULL;
	struct runner_group rec[FINDINGS_PER_RUN_MAX + 1];
	char err[CLI_ERR_MAX], origin[128];
	uint64_t run_id, replays = SHRINK_REPLAYS_MAX;
	int code = EXIT_USAGE;

	memset(&info, 0, sizeof(info));
	if (!opt_parse("shrink", shrink_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(shrink_specs, &v, "--help")) {
		shrink_usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count) {
		cli_error("shrink", "unexpected argument %s (the run is given with --run ID)",
			  v.positional[0]);
		return EXIT_USAGE;
	}
	const char *id = opt_get(shrink_specs, &v, "--run");
	if (!id) {
		cli_error("shrink", "which run? give --run ID (the id column of the run table)");
		return EXIT_USAGE;
	}
	if (!cli_parse_u64(id, &run_id) || run_id < 1 || run_id > INT64_MAX) {
		cli_error("shrink", "--run %s: expected a run id, a whole number from 1", id);
		return EXIT_USAGE;
	}
	const char *mr = opt_get(shrink_specs, &v, "--max-replays");
	if (mr && (!cli_parse_u64(mr, &replays) || replays < 1 ||
		   replays > SHRINK_REPLAYS_LIMIT)) {
		cli_error("shrink", "--max-replays %s: expected a whole number from 1 to %u", mr,
			  SHRINK_REPLAYS_LIMIT);
		return EXIT_USAGE;
	}
	const char *kind = opt_get(shrink_specs, &v, "--kind");
	const char *db = opt_get(shrink_specs, &v, "--db");
	if (!db)
		db = CLI_DEFAULT_DB;

	st = cli_store_open_existing("shrink", db);
	if (!st)
		return EXIT_USAGE;
	enum store_rc src = store_load_run(st, (int64_t)run_id, &info);
	if (src == STORE_ERR_NOT_FOUND) {
		cli_error("shrink", "%s: no run %" PRIu64 " (SELECT id FROM run lists them)", db,
			  run_id);
		goto out;
	}
	if (src != STORE_OK) {
		cli_error("shrink", "%s", store_error(st));
		goto out;
	}
	printf("seed %" PRIu64 "\n", info.seed);
	fflush(stdout);
	if (!info.has_decisions) {
		cli_error("shrink", "%s: run %" PRIu64 " has no decision log: only runs with a "
			  "finding or an outcome other than ok keep theirs",
			  db, run_id);
		goto out;
	}
	uint32_t nrec = cli_recorded_problems(&info, rec, FINDINGS_PER_RUN_MAX + 1);
	const struct runner_group *target = pick_target(db, run_id, rec, nrec, kind);
	if (!target)
		goto out;
	snprintf(origin, sizeof(origin), "%s run %" PRIu64 " (scenario as recorded)", db,
		 run_id);
	sc = scenario_load_text(info.scenario_json, info.scenario_json_len, origin,
				info.variant, err, sizeof(err));
	if (!sc) {
		cli_error("shrink", "this simrun cannot load the recorded scenario (recorded by simrun %s): %s",
			  info.simrun_version, err);
		goto out;
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		cli_error("shrink", "out of memory");
		code = EXIT_INTERNAL;
		goto out;
	}
	printf("shrinking run %" PRId64 " (campaign %" PRId64 ", schedule %" PRIu64
	       ", %s): %s %016" PRIx64 "\n",
	       info.run_id, info.campaign_id, info.idx, info.strategy, target->kind,
	       target->signature);
	fflush(stdout);
	struct shrink_params sp = {
		.sc = sc,
		.seed = info.seed,
		.log = info.decisions,
		.log_len = info.decisions_len,
		.kind = target->kind,
		.signature = target->signature,
		.replays_max = replays,
		.store = st,
		.source_run_id = info.run_id,
	};
	switch (shrink_run(&sp, res)) {
	case SHRINK_OK:
		break;
	case SHRINK_NOT_REPRODUCED:
		cli_error("shrink", "%s: run %" PRIu64 ": %s", db, run_id, res->err);
		code = EXIT_FINDINGS;
		goto out;
	case SHRINK_ERR_INPUT:
	case SHRINK_ERR_STORE:
		cli_error("shrink", "%s: run %" PRIu64 ": %s", db, run_id, res->err);
		goto out;
	case SHRINK_ERR_NOMEM:
	case SHRINK_ERR_ENGINE:
		cli_error("shrink", "%s (seed %" PRIu64 ")", res->err, info.seed);
		code = EXIT_INTERNAL;
		goto out;
	}
	print_size("run", info.run_id, &res->before);
	print_size(" -> run", res->run_id, &res->after);
	printf("; signature %s %016" PRIx64 " kept\n", target->kind, target->signature);
	printf("%" PRIu64 " replays, %" PRIu64 " accepted%s\n", res->replays, res->accepted,
	       res->budget_hit ? " (the --max-replays budget ran out: a longer search may "
				 "find a smaller schedule)"
			       : "");
	printf("finding %s %016" PRIx64 ": %s\n", target->kind, target->signature,
	       res->summary);
	char quoted[CLI_ERR_MAX] = "";
	cli_shell_quote(quoted, sizeof(quoted), db);
	printf("replay: simrun replay --db %s --run %" PRId64 "\n", quoted, res->run_id);
	code = EXIT_CLEAN;
out:
	fflush(stdout);
	if (res)
		shrink_result_free(res);
	free(res);
	scenario_free(sc);
	store_run_info_free(&info);
	if (st && !cli_store_close("shrink", st) && code < EXIT_USAGE)
		code = EXIT_USAGE;
	return code;
}
