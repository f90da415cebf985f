/*
 * test_progress.c: the progress bar of a campaign, through the built
 * binary: shown on standard error when it is a terminal (a pseudo-terminal
 * from util-linux's script(1)), with schedules done of total, the rate,
 * runs with findings and the time left, and cleared at the end; absent
 * when standard error is a pipe or a file, when TERM is dumb, and under
 * --trace.  Nothing is asserted about the rate or the time: they are wall
 * clock, which tests never assert on.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define BUDGET SIMRUN_SOURCE_DIR "/tests/cli/fixtures/budget.json"

Test(progress, shown_on_a_terminal)
{
	char *out, *err;
	/* script runs the command on a pseudo-terminal and copies what it
	 * writes there (stdout and stderr both) to its own stdout. */
	int rc = test_shf(&out, &err, "script -qec '%s %s --schedules 300 --no-db' /dev/null",
			  test_simrun_path(), BUDGET);

	cr_assert_eq(rc, 1, "script: %s %s", out, err);
	cr_expect(strstr(out, "\r\033[Kschedules 1/300 ["), "%s", out);
	cr_expect(strstr(out, "\r\033[Kschedules 300/300 [####"), "%s", out);
	cr_expect(strstr(out, " with findings  left "), "%s", out);
	cr_expect(strstr(out, "300 with findings  left -\r\033[K"), "the last state, then cleared: %s", out);
	/* The summary follows on a clean line. */
	cr_expect(strstr(out, "\r\033[K300 of 300 schedules run"), "%s", out);
	free(out);
	free(err);
}

Test(progress, absent_when_not_a_terminal)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "%s %s --schedules 300 --no-db", test_simrun_path(), BUDGET);

	cr_expect_eq(rc, 1);
	cr_expect_str_eq(err, "", "stderr to a file: nothing on it");
	cr_expect(strchr(out, '\r') == NULL && strchr(out, '\033') == NULL, "%s", out);
	free(out);
	free(err);

	/* A terminal that cannot move the cursor, and a trace, get none. */
	const char *const variants[] = { "TERM=dumb %s %s --schedules 30 --no-db",
					 "%s %s --schedules 30 --no-db --trace" };
	for (int i = 0; i < 2; i++) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), variants[i], test_simrun_path(), BUDGET);
		rc = test_shf(&out, &err, "script -qec '%s' /dev/null", cmd);
		cr_expect_eq(rc, 1, "%s", cmd);
		cr_expect(strstr(out, "\033[K") == NULL, "%s: %s", cmd, out);
		free(out);
		free(err);
	}
}
