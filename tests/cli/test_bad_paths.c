/*
 * test_bad_paths.c: paths that are wrong for simrun to read or write: a
 * scenario file that does not exist, a directory given as a scenario or as
 * the database, a read-only database and a full disk.  Each must end with
 * exit 2 and a message naming the path, and leave what was recorded before
 * whole: the database passes PRAGMA integrity_check, the runs committed
 * before are there, and no stored scenario is cut short.
 *
 * Permissions do not bind root, which is how CI runs, so the read-only and
 * full-disk cases mount a small tmpfs in a mount namespace of their own
 * (`unshare -m`, or `unshare -rm` for other users; the scripts are in
 * fixtures/bad-paths/).  Where no namespace can be made, the full disk is a
 * file size limit instead (RLIMIT_FSIZE) and the read-only mount is
 * skipped, with a message; a read-only file under /proc is tried anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define SCRIPTS SIMRUN_SOURCE_DIR "/tests/cli/fixtures/bad-paths"

static char scenario[512];

static void set_scenario(void)
{
	snprintf(scenario, sizeof(scenario), "%s/scenarios/default.json",
		 test_source_dir());
}

/* `simrun ARGS` from dir: exit 2 and every fragment in the message. */
static void expect_refused(const char *dir, const char *args,
			   const char *frag1, const char *frag2)
{
	char *out = NULL, *err = NULL;
	int rc = test_shf(&out, &err, "cd %s && %s %s", dir,
			  test_simrun_path(), args);

	cr_expect_eq(rc, 2, "simrun %s: exit %d: %s", args, rc, err);
	cr_expect(strstr(err, frag1) != NULL, "simrun %s: no \"%s\" in: %s",
		  args, frag1, err);
	cr_expect(!frag2 || strstr(err, frag2) != NULL,
		  "simrun %s: no \"%s\" in: %s", args, frag2, err);
	free(out);
	free(err);
}

/* The unshare command that gives a mount namespace here, or NULL. */
static const char *mount_namespace(void)
{
	const char *cmd = getuid() == 0 ? "unshare -m" : "unshare -rm";
	char *out = NULL, *err = NULL;
	int rc = test_shf(&out, &err,
			  "%s sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d && rmdir $d'",
			  cmd);
	free(out);
	free(err);
	return rc == 0 ? cmd : NULL;
}

Test(bad_paths, missing_scenario_file)
{
	expect_refused("/tmp", "no-such-scenario.json --no-db",
		       "no-such-scenario.json: cannot open: No such file or directory",
		       NULL);
	expect_refused("/tmp", "validate no-such-scenario.json",
		       "no-such-scenario.json: cannot open", NULL);
}

Test(bad_paths, directory_as_scenario_or_database)
{
	char dir[64], args[1024];

	set_scenario();
	test_tmpdir(dir, sizeof(dir));
	expect_refused(dir, ". --no-db", ".: is a directory, not a scenario file",
		       NULL);
	snprintf(args, sizeof(args), "validate %s", dir);
	expect_refused(dir, args, "is a directory", dir);
	snprintf(args, sizeof(args), "%s --db %s", scenario, dir);
	expect_refused(dir, args, dir, "is a directory");
	test_rmtree(dir);
}

Test(bad_paths, read_only_file_under_proc)
{
	char args[1024];

	set_scenario();
	snprintf(args, sizeof(args), "%s --db /proc/version", scenario);
	expect_refused("/tmp", args, "/proc/version", "read-only");
}

Test(bad_paths, read_only_file_and_directory_by_permissions)
{
	char dir[64], args[1024], path[128];

	if (getuid() == 0) {
		cr_skip_test("running as root: permissions are not enforced, so "
			    "the mode 0444 and 0555 cases are skipped (the "
			    "read-only mount covers them)");
		return;
	}
	set_scenario();
	test_tmpdir(dir, sizeof(dir));
	snprintf(args, sizeof(args), "%s --db ro.db --schedules 2", scenario);
	int rc = test_shf(NULL, NULL, "cd %s && %s %s", dir,
			  test_simrun_path(), args);
	cr_assert_eq(rc, 0);
	snprintf(path, sizeof(path), "%s/ro.db", dir);
	cr_assert_eq(chmod(path, 0444), 0);
	expect_refused(dir, args, "ro.db", "read-only");
	cr_expect_eq(test_sql_int(path, "SELECT count(*) FROM run"), 2);

	snprintf(path, sizeof(path), "%s/sub", dir);
	cr_assert_eq(mkdir(path, 0555), 0);
	snprintf(args, sizeof(args), "%s --db sub/new.db", scenario);
	expect_refused(dir, args, "sub/new.db", "not writable");
	snprintf(path, sizeof(path), "%s/sub/new.db", dir);
	cr_expect(access(path, F_OK) != 0, "a refused database was created");
	snprintf(path, sizeof(path), "%s/sub", dir);
	chmod(path, 0755);
	test_rmtree(dir);
}

Test(bad_paths, read_only_mount)
{
	const char *ns = mount_namespace();
	char dir[64], *out = NULL, *err = NULL;

	if (!ns) {
		cr_skip_test("cannot mount a tmpfs in a mount namespace here: "
			    "the read-only mount case is skipped");
		return;
	}
	set_scenario();
	test_tmpdir(dir, sizeof(dir));
	int rc = test_shf(&out, &err, "%s sh %s/read-only-mount.sh %s %s %s",
			  ns, SCRIPTS, test_simrun_path(), scenario, dir);
	cr_assert_eq(rc, 0, "read-only-mount.sh: exit %d: %s", rc, err);
	/* Both campaigns refused; the database as it was. */
	cr_expect(strncmp(out, "exit 2\nexit 2\nok\ncampaigns|1|done\nro.db\n",
			  strlen(out) + 1) == 0,
		  "got: %s", out);
	cr_expect(strstr(err, "ro.db: database is read-only") != NULL, "%s",
		  err);
	cr_expect(strstr(err, "new.db: cannot create the database") != NULL,
		  "%s", err);
	free(out);
	free(err);
	test_rmtree(dir);
}

static void full_disk(const char *ns, const char *how, const char *what)
{
	char dir[64], db[96], *out = NULL, *err = NULL;

	set_scenario();
	test_tmpdir(dir, sizeof(dir));
	int rc = test_shf(&out, &err, "%s sh %s/full-disk.sh %s %s %s %s",
			  ns, SCRIPTS, test_simrun_path(), scenario, dir, how);
	cr_assert_eq(rc, 0, "full-disk.sh %s: exit %d: %s", how, rc, err);
	/* The second campaign fails with exit 2 naming the database; the
	 * first stays whole, and no stored scenario is cut short. */
	cr_expect_str_eq(out, "exit 2\nok\ncampaign 1|done|2\nhalf-written|0\n",
			 "full-disk.sh %s: %s", how, err);
	snprintf(db, sizeof(db), "%s/full.db: ", dir);
	cr_expect(strstr(err, db) != NULL, "no \"%s\" in: %s", db, err);
	cr_expect(strstr(err, what) != NULL, "no \"%s\" in: %s", what, err);
	free(out);
	free(err);
	test_rmtree(dir);
}

Test(bad_paths, full_disk)
{
	const char *ns = mount_namespace();

	if (ns) {
		full_disk(ns, "tmpfs", "disk full");
	} else {
		fprintf(stderr, "bad_paths: cannot mount a tmpfs in a mount "
			"namespace here: the full disk is a file size limit "
			"instead\n");
	}
	/* Either way, a file that cannot grow. */
	full_disk("", "fsize", "I/O error");
}
