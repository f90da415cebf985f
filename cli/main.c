/*
 * main.c: the simrun command.  Parses arguments, loads the scenario, runs
 * the campaign and prints what it found.  Knows nothing of the model's
 * internals.  Exit codes: 0 no findings, 1 findings, 2 usage or input
 * error, 3 internal error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/campaign.h"
#include "mm/scenario.h"

enum exit_code {
	EXIT_CLEAN = 0,
	EXIT_FINDINGS = 1,
	EXIT_USAGE = 2,
	EXIT_INTERNAL = 3,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: simrun SCENARIO.json [--variant NAME] [--seed N] [--json] [--trace]\n"
		"\n"
		"Runs one schedule of SCENARIO with the timed strategy and prints its\n"
		"outcome.  The seed is printed first; the same seed gives the same run.\n"
		"\n"
		"  --variant NAME  apply the scenario's variant NAME\n"
		"  --seed N        base seed (default 42)\n"
		"  --json          print one JSON object on stdout\n"
		"  --trace         print every step to stderr\n"
		"  --list-variants print the scenario's variant names and exit\n"
		"\n"
		"Exit status: 0 no findings, 1 findings, 2 usage or input error,\n"
		"3 internal error.\n");
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		return false;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int main(int argc, char **argv)
{
	const char *path = NULL, *variant = NULL;
	uint64_t seed = 42;
	bool json = false, trace = false, list_variants = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EXIT_CLEAN;
		} else if (strcmp(a, "--version") == 0) {
			printf("simrun %s\n", SIMRUN_VERSION);
			return EXIT_CLEAN;
		} else if (strcmp(a, "--seed") == 0) {
			if (!parse_u64(i + 1 < argc ? argv[++i] : NULL, &seed)) {
				fprintf(stderr, "simrun: --seed needs a number from 0 to 2^64-1\n");
				return EXIT_USAGE;
			}
		} else if (strcmp(a, "--variant") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "simrun: --variant needs a name\n");
				return EXIT_USAGE;
			}
			variant = argv[++i];
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--no-db") == 0) {
			/* The first cut keeps no database; accepted so that
			 * scripts written for the full command line work. */
		} else if (strcmp(a, "--list-variants") == 0) {
			list_variants = true;
		} else if (strcmp(a, "--trace") == 0) {
			trace = true;
		} else if (a[0] == '-') {
			fprintf(stderr, "simrun: unknown option %s (see simrun --help)\n", a);
			return EXIT_USAGE;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "simrun: more than one scenario given (%s)\n", a);
			return EXIT_USAGE;
		}
	}
	if (!path) {
		usage(stderr);
		return EXIT_USAGE;
	}

	char err[1024];
	if (list_variants) {
		struct scenario *sc = scenario_load_file(path, NULL, err, sizeof(err));
		if (!sc) {
			fprintf(stderr, "simrun: %s\n", err);
			return EXIT_USAGE;
		}
		for (uint32_t i = 0; i < sc->variants_count; i++)
			printf("%s\n", sc->variants[i].name);
		scenario_free(sc);
		return EXIT_CLEAN;
	}
	if (json)
		fprintf(stderr, "seed %" PRIu64 "\n", seed);
	else
		printf("seed %" PRIu64 "\n", seed);
	fflush(stdout);

	struct scenario *sc = scenario_load_file(path, variant, err, sizeof(err));
	if (!sc) {
		fprintf(stderr, "simrun: %s\n", err);
		return EXIT_USAGE;
	}
	struct engine *e = campaign_engine(sc, trace ? stderr : NULL);
	if (!e) {
		fprintf(stderr, "simrun: cannot allocate the engine: %s\n",
			strerror(errno));
		scenario_free(sc);
		return EXIT_INTERNAL;
	}
	struct strategy_params sp = { .kind = STRATEGY_TIMED };
	struct strategy *s = strategy_create(&sp, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "simrun: %s\n", err);
		engine_destroy(e);
		scenario_free(sc);
		return EXIT_INTERNAL;
	}

	/* Every checker with its defaults (hung task 120 s of virtual time,
	 * 16 retries of one fault). */
	struct checkers *ck = checkers_create(NULL);
	if (!ck) {
		fprintf(stderr, "simrun: cannot allocate the checkers: %s\n",
			strerror(errno));
		strategy_destroy(s);
		engine_destroy(e);
		scenario_free(sc);
		return EXIT_INTERNAL;
	}

	struct run_result r;
	campaign_run_schedule(e, sc, s, ck, seed, 0, &r);
	int code = e->findings_count ? EXIT_FINDINGS : EXIT_CLEAN;

	if (json) {
		printf("{\"seed\":%" PRIu64 ",\"scenario\":", r.seed);
		json_string(stdout, sc->name);
		printf(",\"variant\":");
		json_string(stdout, sc->variant);
		printf(",\"strategy\":\"timed\",\"outcome\":\"%s\",\"steps\":%" PRIu64
		       ",\"virtual_ns\":%" PRIu64 ",\"trace_hash\":\"%016" PRIx64
		       "\",\"findings\":[",
		       run_outcome_name(r.outcome), r.steps, r.virtual_ns,
		       r.trace_hash);
		for (uint32_t i = 0; i < e->findings_count; i++) {
			const struct finding *f = &e->findings[i];
			printf("%s{\"kind\":\"%s\",\"signature\":\"%016" PRIx64
			       "\",\"summary\":",
			       i ? "," : "", f->kind, f->signature);
			json_string(stdout, f->summary);
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("scenario %s%s%s\n", sc->name, sc->variant[0] ? " variant " : "",
		       sc->variant);
		printf("outcome %s: %" PRIu64 " steps, %" PRIu64
		       " ns virtual, trace %016" PRIx64 "\n",
		       run_outcome_name(r.outcome), r.steps, r.virtual_ns,
		       r.trace_hash);
		for (uint32_t i = 0; i < e->findings_count; i++)
			printf("finding %s: %s\n", e->findings[i].kind,
			       e->findings[i].summary);
		/* Lock-order findings in the words kernel developers know
		 * from lockdep splats. */
		uint32_t cycles = checkers_lock_order_count(ck, NULL);
		for (uint32_t i = 0; i < cycles; i++)
			fputs(checkers_lock_order(ck, i)->report, stdout);
	}

	checkers_destroy(ck);
	strategy_destroy(s);
	engine_end(e);
	engine_destroy(e);
	scenario_free(sc);
	return code;
}
