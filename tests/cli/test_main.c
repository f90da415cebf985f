/*
 * test_main.c: what every command shares, through the built binary: the
 * help of simrun and of each command (status 0, on stdout), --version,
 * usage errors (status 2, a message that says what to do, a suggestion
 * for a misspelt option), exit status 3 when the engine cannot get its
 * memory (under a real `ulimit -v`), and a manual page that documents
 * every option that some --help mentions.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define DEFAULT_SCENARIO SIMRUN_SOURCE_DIR "/tests/cli/fixtures/sleepers.json"

static const char *const commands[] = { "replay", "regress", "compare",
					"check", "validate", "merge" };
#define COMMANDS_COUNT (sizeof(commands) / sizeof(commands[0]))

static int sh(char **out, char **err, const char *args)
{
	return test_shf(out, err, "cd /tmp && %s %s", test_simrun_path(), args);
}

Test(main, help_and_version)
{
	char *out, *err;

	cr_expect_eq(sh(&out, &err, "--help"), 0);
	cr_expect(strncmp(out, "usage: simrun SCENARIO", 22) == 0, "%s", out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		cr_expect(strstr(out, commands[i]), "%s missing", commands[i]);
	cr_expect(strstr(out, "Exit status: 0 no findings, 1 findings"), "%s", out);
	cr_expect_str_eq(err, "");
	free(out);
	free(err);

	cr_expect_eq(sh(&out, &err, "--version"), 0);
	cr_expect_str_eq(out, "simrun " SIMRUN_VERSION "\n");
	free(out);
	free(err);

	/* Without arguments: the usage, on stderr, status 2. */
	cr_expect_eq(sh(&out, &err, ""), 2);
	cr_expect_str_eq(out, "");
	cr_expect(strncmp(err, "usage: simrun", 13) == 0, "%s", err);
	free(out);
	free(err);

	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		char args[64], *help2, *help3;
		snprintf(args, sizeof(args), "%s --help", commands[i]);
		cr_expect_eq(sh(&out, &err, args), 0, "%s", args);
		snprintf(args, sizeof(args), "usage: simrun %s", commands[i]);
		cr_expect(strncmp(out, args, strlen(args)) == 0, "%s", out);
		cr_expect(strstr(out, "Exit status"), "%s has no exit status", commands[i]);
		/* `simrun help CMD` and `simrun CMD -h` say the same. */
		snprintf(args, sizeof(args), "help %s", commands[i]);
		sh(&help2, NULL, args);
		snprintf(args, sizeof(args), "%s -h", commands[i]);
		sh(&help3, NULL, args);
		cr_expect_str_eq(help2, out);
		cr_expect_str_eq(help3, out);
		free(help2);
		free(help3);
		free(out);
		free(err);
	}
	cr_expect_eq(sh(&out, &err, DEFAULT_SCENARIO " --help"), 0);
	cr_expect(strstr(out, "--stop-on-first"), "%s", out);
	free(out);
	free(err);
}

struct usage_case {
	const char *args;
	const char *message;
};

Test(main, usage_errors_are_exit_2_with_a_message)
{
	static const struct usage_case cases[] = {
		{ DEFAULT_SCENARIO " --schedule 5", "unknown option --schedule; did you mean --schedules?" },
		{ DEFAULT_SCENARIO " --frobnicate", "unknown option --frobnicate (see simrun --help)" },
		{ DEFAULT_SCENARIO " --seed", "option --seed needs a value (--seed N)" },
		{ DEFAULT_SCENARIO " --seed abc", "--seed abc: expected a whole number from 0 to 18446744073709551615" },
		{ DEFAULT_SCENARIO " --seed -1", "--seed -1: expected a whole number" },
		{ DEFAULT_SCENARIO " --seed 18446744073709551616", "--seed 18446744073709551616: expected a whole number" },
		{ DEFAULT_SCENARIO " --schedules 0", "--schedules 0: expected a whole number from 1 to 100000000" },
		{ DEFAULT_SCENARIO " --strategy pcct", "--strategy pcct: not a strategy; use timed, random, pct or dfs (did you mean pct?)" },
		{ DEFAULT_SCENARIO " --strategy replay", "--strategy replay: not a strategy" },
		{ DEFAULT_SCENARIO " --pct-depth 17", "--pct-depth 17: expected a whole number from 1 to 16" },
		{ DEFAULT_SCENARIO " --preemptions 65", "--preemptions 65: expected a whole number from 0 to 64, or none" },
		{ DEFAULT_SCENARIO " --pct-steps 9 --strategy random", "--pct-steps applies to --strategy pct only" },
		{ DEFAULT_SCENARIO " --pct-steps 9 --no-db", "--pct-steps applies to the pct strategy, and this campaign uses timed" },
		{ DEFAULT_SCENARIO " --db x.db --no-db", "--db and --no-db contradict each other" },
		{ DEFAULT_SCENARIO " --keep-decisions --no-db", "--keep-decisions needs a database" },
		{ DEFAULT_SCENARIO " --json=yes", "option --json takes no value" },
		{ DEFAULT_SCENARIO " " DEFAULT_SCENARIO, "one scenario per campaign; 2 given" },
		{ "--no-db", "no scenario given" },
		{ "check", "which scenarios?" },
		{ "validate", "which scenario?" },
		{ "compare", "no scenario given" },
		{ "check --seed x " DEFAULT_SCENARIO, "--seed x: expected a whole number" },
		{ "help frob", "no command frob" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *err;
		int rc = sh(&out, &err, cases[i].args);
		cr_expect_eq(rc, 2, "%s: exit %d", cases[i].args, rc);
		cr_expect(strstr(err, cases[i].message), "%s: expected \"%s\" in: %s",
			  cases[i].args, cases[i].message, err);
		cr_expect(strncmp(err, "simrun", 6) == 0, "%s", err);
		free(out);
		free(err);
	}
}

Test(main, seeds_are_decimal_or_hex_never_octal)
{
	char *out, *err;

	cr_assert_eq(sh(&out, &err, DEFAULT_SCENARIO " --seed 010 --no-db"), 0);
	cr_expect(strncmp(out, "seed 10\n", 8) == 0, "%s", out);
	free(out);
	free(err);
	cr_assert_eq(sh(&out, &err, DEFAULT_SCENARIO " --seed=0x2a --no-db"), 0);
	cr_expect(strncmp(out, "seed 42\n", 8) == 0, "%s", out);
	free(out);
	free(err);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

Test(main, no_memory_for_the_engine_is_exit_3)
{
#ifdef UNDER_ASAN
	/* AddressSanitizer reserves terabytes of shadow memory, so no
	 * simrun of this build starts under an address-space limit. */
	cr_skip_test("not under AddressSanitizer");
#else
	char *out, *err;
	/* 48 MiB of address space: enough to start and load the scenario,
	 * not for the engine's 64 MiB arena.  A real limit, as a container
	 * or a shared machine sets it. */
	int rc = test_shf(&out, &err, "ulimit -v 49152 && %s " DEFAULT_SCENARIO " --no-db",
			  test_simrun_path());
	cr_expect_eq(rc, 3, "stdout: %s stderr: %s", out, err);
	cr_expect(strstr(err, "simrun: cannot create the engine and checkers for 2 CPUs: Cannot allocate memory (the stacks and arena need about "),
		  "%s", err);
	cr_expect(strstr(err, "check `ulimit -v`"), "%s", err);
	free(out);
	free(err);
#endif
}

/* Every --option in some help text appears in the manual page. */
Test(main, the_manual_documents_every_option)
{
	char *man = test_read_file(SIMRUN_SOURCE_DIR "/man/simrun.1");
	char *help[COMMANDS_COUNT + 1];
	char args[64];
	int checked = 0;

	cr_assert(strstr(man, ".TH SIMRUN 1"), "no manual page");
	sh(&help[0], NULL, DEFAULT_SCENARIO " --help");
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		snprintf(args, sizeof(args), "%s --help", commands[i]);
		sh(&help[i + 1], NULL, args);
		snprintf(args, sizeof(args), ".SS \"simrun %s\"", commands[i]);
		cr_expect(strstr(man, args), "the manual has no section %s", args);
	}
	for (size_t i = 0; i <= COMMANDS_COUNT; i++) {
		for (char *p = help[i]; (p = strstr(p, "--"));) {
			char opt[64], roff[128];
			size_t n = 2;
			while (n < sizeof(opt) - 1 && (islower((unsigned char)p[n]) || p[n] == '-'))
				n++;
			p += n;
			if (n <= 3)
				continue;
			snprintf(opt, sizeof(opt), "%.*s", (int)n, p - n);
			/* roff spells "-" as "\-". */
			size_t at = 0;
			for (size_t k = 0; k < n && at + 3 < sizeof(roff); k++) {
				if (opt[k] == '-')
					roff[at++] = '\\';
				roff[at++] = opt[k];
			}
			roff[at] = '\0';
			cr_expect(strstr(man, roff), "%s is not in man/simrun.1", opt);
			checked++;
		}
	}
	cr_expect_gt(checked, 20);
	for (size_t i = 0; i <= COMMANDS_COUNT; i++)
		free(help[i]);
	free(man);
}

Test(main, the_manual_is_installed)
{
	char dir[64], *out, *err;

	test_tmpdir(dir, sizeof(dir));
	int rc = test_shf(&out, &err, "cmake --install %s --prefix %s", SIMRUN_BUILD_DIR, dir);
	cr_expect_eq(rc, 0, "%s %s", out, err);
	char path[128];
	snprintf(path, sizeof(path), "%s/share/man/man1/simrun.1", dir);
	char *page = test_read_file(path);
	cr_expect(strstr(page, ".TH SIMRUN 1"), "%s not installed", path);
	snprintf(path, sizeof(path), "%s/bin/simrun", dir);
	cr_expect_eq(test_shf(NULL, NULL, "%s --version", path), 0);
	free(page);
	free(out);
	free(err);
	test_rmtree(dir);
}
