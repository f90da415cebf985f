/*
 * test_fuzz_regressions.c: every input the scenario fuzzer (tests/fuzz/)
 * ever crashed on, kept in tests/fuzz/regressions/, goes through the built
 * simrun as a file: `simrun validate` and a one-schedule campaign without a
 * database.  Each must end with a status simrun documents (0, 1 or 2, never
 * a signal or 3), a rejected one with a message naming the file, and no
 * sanitizer report (the sanitizer build of .ci/run makes that bite).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define REGRESSIONS SIMRUN_SOURCE_DIR "/tests/fuzz/regressions"

static void expect_clean(const char *what, const char *file, int rc,
			 const char *err)
{
	cr_expect(rc == 0 || rc == 1 || rc == 2, "%s %s: exit %d: %s", what,
		  file, rc, err);
	cr_expect(rc != 2 || strstr(err, file) != NULL,
		  "%s %s: the message does not name the file: %s", what, file,
		  err);
	cr_expect(strstr(err, "runtime error") == NULL &&
			  strstr(err, "Sanitizer") == NULL,
		  "%s %s: sanitizer report: %s", what, file, err);
}

Test(fuzz_regressions, every_input_the_fuzzer_found_ends_cleanly)
{
	DIR *d = opendir(REGRESSIONS);
	int n = 0;

	cr_assert(d != NULL, "cannot open %s", REGRESSIONS);
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char *out = NULL, *err = NULL;
		int rc = test_shf(&out, &err, "cd %s && %s validate %s",
				  REGRESSIONS, test_simrun_path(), de->d_name);
		expect_clean("validate", de->d_name, rc, err);
		free(out);
		free(err);
		rc = test_shf(&out, &err,
			      "cd %s && %s %s --no-db --schedules 1",
			      REGRESSIONS, test_simrun_path(), de->d_name);
		expect_clean("run", de->d_name, rc, err);
		free(out);
		free(err);
		n++;
	}
	closedir(d);
	cr_expect_geq(n, 1, "no regression inputs in %s", REGRESSIONS);
}
