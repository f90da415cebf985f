/*
 * cmd_merge.c: `simrun merge OUT.db IN.db...`: combine the shard databases
 * of one campaign (each from `simrun SCENARIO --shard K/N --db IN.db`) into
 * one campaign in OUT.db, equal to what one process would have recorded.
 * Not the merge itself (runner_merge in analysis/runner.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"

static const struct opt_spec merge_specs[] = {
	{ "--help", NULL },
	{ NULL, NULL },
};

static void usage(FILE *f)
{
	fputs("usage: simrun merge OUT.db IN.db...\n"
	      "\n"
	      "Combines the N shard databases of one campaign, each written by\n"
	      "`simrun SCENARIO --shard K/N --db IN.db` (on this machine or another),\n"
	      "into one campaign in OUT.db: the same runs, findings (lock_order included),\n"
	      "kept decision logs and metrics as the campaign run in one process, run ids\n"
	      "numbered in schedule order.  The shards must be of one campaign (the same\n"
	      "scenario text, variant, strategy, parameters, base seed, schedule count and\n"
	      "N), all N present, each done.  OUT.db may hold other campaigns; it may not\n"
	      "be one of the inputs.  Replay and regress then work on OUT.db as on any\n"
	      "campaign.\n"
	      "\n"
	      "Exit status: 0 merged, no findings; 1 merged, with findings; 2 the inputs\n"
	      "do not make one complete campaign, or a database error; 3 internal error.\n",
	      f);
}

/* Two paths naming one file (merge reads the inputs while it writes). */
static bool same_file(const char *a, const char *b)
{
	char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
	bool same = ra && rb && strcmp(ra, rb) == 0;

	free(ra);
	free(rb);
	return same;
}

int cmd_merge(int argc, char **argv)
{
	struct opt_values v;
	struct runner_result *res = NULL;
	int code = EXIT_USAGE;

	if (!opt_parse("merge", merge_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(merge_specs, &v, "--help")) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	if (v.positional_count < 2) {
		cli_error("merge", "give the output database and at least one "
			  "shard database (simrun merge OUT.db IN.db...)");
		return EXIT_USAGE;
	}
	const char *out = v.positional[0];
	for (int i = 1; i < v.positional_count; i++) {
		if (access(v.positional[i], R_OK) != 0) {
			cli_error("merge", "%s: no such shard database",
				  v.positional[i]);
			return EXIT_USAGE;
		}
		if (same_file(out, v.positional[i])) {
			cli_error("merge", "%s is both the output and an input; "
				  "merge into another file", out);
			return EXIT_USAGE;
		}
	}
	res = calloc(1, sizeof(*res));
	if (!res) {
		cli_error("merge", "out of memory");
		return EXIT_INTERNAL;
	}
	runner_merge(&(struct runner_merge_params){
			     .sources = (const char *const *)&v.positional[1],
			     .sources_count = (uint32_t)(v.positional_count - 1),
			     .target = out,
		     },
		     res);
	if (res->rc != RUNNER_OK) {
		cli_error("merge", "%s", res->err);
		code = res->rc == RUNNER_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
		goto done;
	}
	printf("campaign %" PRId64 " in %s: %d shards merged, %" PRIu64
	       " runs (%s)\n",
	       res->campaign_id, out, v.positional_count - 1,
	       res->schedules_run, store_status_name(res->status));
	printf("findings: %" PRIu32 " distinct, in %" PRIu64 " runs\n",
	       res->groups_count, res->problem_runs);
	for (uint32_t i = 0; i < res->groups_count; i++) {
		const struct runner_group *g = &res->groups[i];
		printf("  %s %016" PRIx64 ": %" PRIu64 " run%s, first schedule %"
		       PRIu64 "; replay: simrun replay --db %s --run %" PRId64 "\n",
		       g->kind, g->signature, g->runs, g->runs == 1 ? "" : "s",
		       g->first_idx, out, g->first_run_id);
	}
	code = res->groups_count || res->groups_dropped ? EXIT_FINDINGS
							: EXIT_CLEAN;
done:
	free(res);
	return code;
}
