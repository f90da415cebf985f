/*
 * cmd_validate.c: `simrun validate SCENARIO...`: load each scenario as the
 * base and with every variant applied, without running anything, and say
 * what is wrong and where.  Not a schema checker: the loader is the
 * authority on what a scenario may hold.
 */
#include <stdio.h>

#include "cli/cli_int.h"

static const struct opt_spec validate_specs[] = {
	{ "--help", NULL },
	{ NULL, NULL },
};

static void validate_usage(FILE *f)
{
	fputs("usage: simrun validate SCENARIO...\n"
	      "\n"
	      "Loads each scenario as the base scenario and with each of its variants\n"
	      "applied, runs nothing, and prints one line per scenario: \"ok\" with its\n"
	      "variants, or the first error of each variant with its JSON path.\n"
	      "\n"
	      "Exit status: 0 every scenario and variant loads, 2 otherwise.\n",
	      f);
}

int cmd_validate(int argc, char **argv)
{
	struct opt_values v;
	int code = EXIT_CLEAN;

	if (!opt_parse("validate", validate_specs, argc, argv, 1, &v))
		return EXIT_USAGE;
	if (opt_has(validate_specs, &v, "--help")) {
		validate_usage(stdout);
		return EXIT_CLEAN;
	}
	if (!v.positional_count) {
		cli_error("validate", "which scenario? give one or more files");
		return EXIT_USAGE;
	}
	for (int i = 0; i < v.positional_count; i++) {
		const char *path = v.positional[i];
		char err[CLI_ERR_MAX];
		struct scenario *base = scenario_load_file(path, NULL, err,
							   sizeof(err));
		if (!base) {
			cli_error("validate", "%s", err);
			code = EXIT_USAGE;
			continue;
		}
		/* Each variant is a merge patch: the base may load and a
		 * variant still produce a document that does not. */
		bool ok = true;
		if (!cli_headline_valid(base, err, sizeof(err))) {
			cli_error("validate", "%s: %s", path, err);
			ok = false;
		}
		for (uint32_t k = 0; k < base->variants_count; k++) {
			struct scenario *sc = scenario_load_file(
				path, base->variants[k].name, err, sizeof(err));
			if (!sc) {
				cli_error("validate", "%s", err);
				ok = false;
				continue;
			}
			scenario_free(sc);
		}
		if (ok) {
			printf("ok %s: scenario %s, %u task%s, %u variant%s", path,
			       base->name, base->tasks_count,
			       base->tasks_count == 1 ? "" : "s",
			       base->variants_count,
			       base->variants_count == 1 ? "" : "s");
			for (uint32_t k = 0; k < base->variants_count; k++)
				printf("%s%s", k ? ", " : " (", base->variants[k].name);
			printf("%s\n", base->variants_count ? ")" : "");
		} else {
			code = EXIT_USAGE;
		}
		scenario_free(base);
	}
	return code;
}
