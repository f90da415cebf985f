/*
 * test_errors.c: malformed scenarios, each rejected by the built simrun with
 * exit status 2 and a message that names the file and the JSON path of
 * what is wrong.  The cases are files under tests/cli/fixtures/malformed/,
 * listed with the expected message fragment in its EXPECTED file, and each
 * is tried both as a campaign and with `simrun validate`.  A failed load
 * must leave no database behind.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define FIXTURES SIMRUN_SOURCE_DIR "/tests/cli/fixtures/malformed"

struct error_case {
	char file[128];
	char variant[64];
	char fragment[512];
};

static int read_cases(struct error_case *cases, int max)
{
	char *text = test_read_file(FIXTURES "/EXPECTED");
	int n = 0;

	cr_assert(text[0] != '\0', "cannot read %s/EXPECTED", FIXTURES);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		char *t1 = strchr(line, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		cr_assert(t1 && t2, "EXPECTED: malformed line: %s", line);
		cr_assert(n < max);
		*t1 = *t2 = '\0';
		snprintf(cases[n].file, sizeof(cases[n].file), "%s", line);
		snprintf(cases[n].variant, sizeof(cases[n].variant), "%s",
			 strcmp(t1 + 1, "-") == 0 ? "" : t1 + 1);
		snprintf(cases[n].fragment, sizeof(cases[n].fragment), "%s",
			 t2 + 1);
		n++;
	}
	free(text);
	return n;
}

Test(errors, every_malformed_scenario_exits_2_naming_file_and_path)
{
	struct error_case cases[64];
	int n = read_cases(cases, 64);
	char dir[64];

	/* The brief asks for 20 at least; each is one way users get it
	 * wrong. */
	cr_assert_geq(n, 20, "only %d cases", n);
	test_tmpdir(dir, sizeof(dir));
	for (int i = 0; i < n; i++) {
		const struct error_case *c = &cases[i];
		char *out = NULL, *err = NULL;
		char variant[96] = "";
		if (c->variant[0])
			snprintf(variant, sizeof(variant), "--variant %s",
				 c->variant);
		/* Run from an empty directory, with the default database:
		 * an input error must not create one. */
		int rc = test_shf(&out, &err, "cd %s && %s %s/%s %s --seed 7",
				  dir, test_simrun_path(), FIXTURES, c->file,
				  variant);
		cr_expect_eq(rc, 2, "%s: exit %d, stderr: %s", c->file, rc, err);
		cr_expect(strstr(err, c->fragment) != NULL,
			  "%s: expected \"%s\" in: %s", c->file, c->fragment, err);
		cr_expect(strstr(err, c->file) != NULL,
			  "%s: the message does not name the file: %s", c->file,
			  err);
		cr_expect(strncmp(err, "simrun: ", 8) == 0,
			  "%s: message without the program's name: %s", c->file,
			  err);
		/* The seed still comes first, and nothing else on stdout. */
		cr_expect_str_eq(out, "seed 7\n", "%s", c->file);
		free(out);
		free(err);
		char db[128];
		snprintf(db, sizeof(db), "%s/simrun.db", dir);
		cr_expect(access(db, F_OK) != 0,
			  "%s: a failed load created %s", c->file, db);

		if (c->variant[0])
			continue;	/* validate loads every variant itself */
		rc = test_shf(&out, &err, "cd %s && %s validate %s", FIXTURES,
			      test_simrun_path(), c->file);
		cr_expect_eq(rc, 2, "validate %s: exit %d", c->file, rc);
		cr_expect(strstr(err, c->fragment) != NULL,
			  "validate %s: expected \"%s\" in: %s", c->file,
			  c->fragment, err);
		cr_expect_str_eq(out, "", "validate %s printed ok", c->file);
		free(out);
		free(err);
	}
	test_rmtree(dir);
}

Test(errors, validate_accepts_good_scenarios_and_lists_variants)
{
	char *out = NULL, *err = NULL;
	int rc = test_shf(&out, &err, "cd %s && %s validate variants-ok.json %s/scenarios/default.json",
			  FIXTURES, test_simrun_path(), test_source_dir());

	cr_expect_eq(rc, 0, "stderr: %s", err);
	cr_expect(strstr(out, "ok variants-ok.json: scenario m, 2 tasks, 2 variants (buggy, fixed)\n"),
		  "%s", out);
	cr_expect(strstr(out, "default.json: scenario default"), "%s", out);
	free(out);
	free(err);

	/* One bad file among good ones: the good ones are still reported,
	 * and the status is 2. */
	rc = test_shf(&out, &err, "cd %s && %s validate variants-ok.json no-tasks.json",
		      FIXTURES, test_simrun_path());
	cr_expect_eq(rc, 2);
	cr_expect(strstr(out, "ok variants-ok.json"), "%s", out);
	cr_expect(strstr(err, "no-tasks.json: tasks: a scenario needs at least one task"),
		  "%s", err);
	free(out);
	free(err);
}
