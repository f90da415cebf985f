/*
 * test_valgrind.c: a short campaign under valgrind's memcheck, recorded in
 * a database and replayed from it, and a malformed scenario refused: no
 * memory error, no leak, and no "client switching stacks?" warning (the
 * coroutine stacks are registered with valgrind, engine/stack.c).  Needs
 * valgrind (tools/deps.sh installs it); skipped in sanitizer builds,
 * which valgrind cannot run.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "engine/limits.h"
#include "tests/support.h"

#define VALGRIND "valgrind --error-exitcode=99 --leak-check=full " \
		 "--errors-for-leak-kinds=definite,indirect,possible "

/* valgrind SIMRUN ARGS from dir; the exit status, having checked that
 * valgrind said nothing. */
static int under_valgrind(const char *dir, const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = test_shf(&out, &err, "cd %s && " VALGRIND "%s %s", dir,
			  test_simrun_path(), args);

	cr_expect_neq(rc, 99, "valgrind found errors in simrun %s:\n%s", args,
		      err);
	cr_expect(strstr(err, "ERROR SUMMARY: 0 errors") != NULL,
		  "valgrind reported on simrun %s:\n%s", args, err);
	/* Without the stacks registered, valgrind warns at the first switch
	 * and may then miss or invent errors on coroutine stacks. */
	cr_expect(strstr(err, "client switching stacks") == NULL,
		  "simrun %s: stacks not registered with valgrind:\n%s", args,
		  err);
	free(out);
	free(err);
	return rc;
}

Test(valgrind, campaign_replay_and_bad_input_are_memcheck_clean)
{
#if defined(SIM_ASAN)
	cr_skip_test("a sanitizer build: valgrind cannot run it");
#endif
	char dir[64], args[1024];

	cr_assert_eq(test_sh("valgrind --version >/dev/null 2>&1", NULL, NULL),
		     0, "valgrind is not installed (sh tools/deps.sh)");
	test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args),
		 "%s/scenarios/default.json --db v.db --schedules 3 "
		 "--strategy random --keep-decisions",
		 test_source_dir());
	cr_expect_eq(under_valgrind(dir, args), 0);
	cr_expect_eq(under_valgrind(dir, "replay --run 2 --db v.db"), 0);
	snprintf(args, sizeof(args),
		 "validate %s/tests/bad-scenarios/vmas-overlap.json",
		 test_source_dir());
	cr_expect_eq(under_valgrind(dir, args), 2);
	test_rmtree(dir);
}
