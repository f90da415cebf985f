/*
 * test_bad_scenarios.c: the malformed scenarios of tests/bad-scenarios/,
 * each named for what is wrong with it and listed in its EXPECTED file
 * with a fragment of the message (the JSON path, or line:column, and what
 * was expected).  Each goes through the built simrun both as a campaign
 * without a database and with `simrun validate`: exit 2, the file and the
 * fragment in the message, nothing on stdout but the campaign's seed.
 * The 100 MB case is written to a temporary directory by the test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define BAD SIMRUN_SOURCE_DIR "/tests/bad-scenarios"
#define BAD_CASES_MAX 256

struct bad_case {
	char file[96];
	char fragment[256];
};

static int read_cases(struct bad_case *cases, int max)
{
	char *text = test_read_file(BAD "/EXPECTED");
	int n = 0;

	cr_assert(text[0] != '\0', "cannot read %s/EXPECTED", BAD);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#')
			continue;
		char *tab = strchr(line, '\t');
		cr_assert(tab != NULL, "EXPECTED: no tab in: %s", line);
		cr_assert(n < max);
		*tab = '\0';
		snprintf(cases[n].file, sizeof(cases[n].file), "%s", line);
		snprintf(cases[n].fragment, sizeof(cases[n].fragment), "%s",
			 tab + 1);
		n++;
	}
	free(text);
	return n;
}

/* `simrun FILE --no-db` and `simrun validate FILE`, run in dir: both must
 * exit 2 naming the file and saying `fragment`. */
static void expect_rejected(const char *dir, const char *file,
			    const char *fragment)
{
	char *out = NULL, *err = NULL;
	int rc = test_shf(&out, &err, "cd %s && %s %s --no-db --seed 3", dir,
			  test_simrun_path(), file);

	cr_expect_eq(rc, 2, "%s: exit %d, stderr: %s", file, rc, err);
	cr_expect(strstr(err, fragment) != NULL, "%s: expected \"%s\" in: %s",
		  file, fragment, err);
	cr_expect(strstr(err, file) != NULL,
		  "%s: the message does not name the file: %s", file, err);
	cr_expect_str_eq(out, "seed 3\n", "%s", file);
	free(out);
	free(err);

	rc = test_shf(&out, &err, "cd %s && %s validate %s", dir,
		      test_simrun_path(), file);
	cr_expect_eq(rc, 2, "validate %s: exit %d, stderr: %s", file, rc, err);
	cr_expect(strstr(err, fragment) != NULL,
		  "validate %s: expected \"%s\" in: %s", file, fragment, err);
	cr_expect(strstr(err, file) != NULL,
		  "validate %s: the message does not name the file: %s", file,
		  err);
	cr_expect_str_eq(out, "", "validate %s printed: %s", file, out);
	free(out);
	free(err);
}

Test(bad_scenarios, each_exits_2_naming_file_and_json_path)
{
	static struct bad_case cases[BAD_CASES_MAX];
	int n = read_cases(cases, BAD_CASES_MAX);

	cr_assert_geq(n, 50, "only %d cases", n);
	for (int i = 0; i < n; i++)
		expect_rejected(BAD, cases[i].file, cases[i].fragment);
}

Test(bad_scenarios, every_file_in_the_directory_is_listed)
{
	static struct bad_case cases[BAD_CASES_MAX];
	int n = read_cases(cases, BAD_CASES_MAX);
	DIR *d = opendir(BAD);

	cr_assert(d != NULL);
	for (struct dirent *de; (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		bool listed = false;
		for (int i = 0; i < n; i++)
			listed |= strcmp(cases[i].file, de->d_name) == 0;
		cr_expect(listed, "%s is not in EXPECTED, so nothing checks it",
			  de->d_name);
	}
	closedir(d);
}

Test(bad_scenarios, a_100_mb_file_is_refused_from_its_size)
{
	char dir[64];
	char path[128];
	static char chunk[1 << 20];

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/huge.json", dir);
	FILE *f = fopen(path, "wb");
	cr_assert(f != NULL);
	/* A scenario in form, with a 100 MB description. */
	memset(chunk, 'a', sizeof(chunk));
	fputs("{ \"name\": \"huge\", \"description\": \"", f);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(fwrite(chunk, 1, sizeof(chunk), f), sizeof(chunk));
	fputs("\", \"tasks\": [ { \"ops\": [] } ] }\n", f);
	cr_assert_eq(fclose(f), 0, "cannot write 100 MB to %s", dir);
	expect_rejected(dir, "huge.json", "huge.json: 104857");
	expect_rejected(dir, "huge.json", "larger than a scenario may be (1024 KiB)");
	test_rmtree(dir);
}

Test(bad_scenarios, an_endless_device_is_refused_after_the_limit)
{
	/* Not a regular file: no size to look at, so it is read up to one
	 * byte past the limit. */
	expect_rejected("/dev", "zero",
			"zero: larger than a scenario may be (1024 KiB)");
}
