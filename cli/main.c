/*
 * main.c: the simrun command: picks the subcommand and hands it argv.
 * Knows nothing of the model's internals; each command lives in its own
 * cmd_*.c.  Exit codes (the same for every command, see simrun(1)):
 * 0 no findings, 1 findings or a mismatch, 2 usage or input error,
 * 3 internal error, 128+N interrupted by signal N.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "replay", cmd_replay, "re-execute a recorded run and check its trace hash" },
	{ "shrink", cmd_shrink, "reduce a failing run's schedule, keeping its finding" },
	{ "regress", cmd_regress, "replay every recorded finding: same, fixed, changed, diverged" },
	{ "compare", cmd_compare, "run every variant of a scenario with the same seeds, side by side" },
	{ "check", cmd_check, "verify scenarios' expected findings" },
	{ "validate", cmd_validate, "check scenarios and their variants without running them" },
	{ "show", cmd_show, "a finding in lockdep's shape and its run's trace per CPU" },
	{ "report", cmd_report, "one self-contained HTML page of a database: findings, histograms, a timeline" },
	{ "export", cmd_export, "a recorded run as a Perfetto (Chrome trace-event JSON) file" },
	{ "merge", cmd_merge, "combine the shard databases of one campaign (--shard K/N)" },
};

/* The campaign's options (the command people run most), then the other
 * commands. */
static void usage(FILE *f)
{
	cmd_run_usage(f);
	fputs("\n"
	      "Other commands (`simrun COMMAND --help` describes each):\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  simrun %-9s %s\n", commands[i].name,
			commands[i].what);
	fputs("\n"
	      "Examples:\n"
	      "  simrun scenarios/default.json --seed 42\n"
	      "  simrun scen.json --variant buggy --strategy pct --schedules 10000\n"
	      "  simrun replay --db simrun.db --run 17\n"
	      "  simrun shrink --db simrun.db --run 17\n"
	      "  simrun regress --variant fixed --expect-fixed\n"
	      "  simrun check scenarios/\n"
	      "  simrun show --db simrun.db --finding 3\n"
	      "  simrun report --db simrun.db -o report.html\n"
	      "\n"
	      "simrun --version prints the version; man simrun is the manual.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: simrun SCENARIO [options]\n"
		      "       simrun replay|shrink|regress|compare|check|validate|show|export|report|merge [options]\n"
		      "simrun --help says more.\n",
		      stderr);
		return EXIT_USAGE;
	}
	const char *a = argv[1];
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
	    strcmp(a, "help") == 0) {
		if (strcmp(a, "help") == 0 && argc > 2) {
			/* `simrun help replay` is `simrun replay --help`. */
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
				if (strcmp(argv[2], commands[i].name) == 0) {
					char help[] = "--help";
					char *args[] = { argv[2], help, NULL };
					return commands[i].fn(2, args);
				}
			}
			cli_error(NULL, "no command %s (commands: replay, shrink, regress, compare, check, validate, show, export, report, merge)",
				  argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return EXIT_CLEAN;
	}
	if (strcmp(a, "--version") == 0) {
		printf("simrun %s\n", SIMRUN_VERSION);
		return EXIT_CLEAN;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(a, commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	return cmd_run(argc, argv);
}
