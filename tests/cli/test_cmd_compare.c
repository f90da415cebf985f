/*
 * test_cmd_compare.c: `simrun compare`, through the built binary: every
 * variant run with the same seed, schedules and strategy, one recorded
 * campaign each, side by side; the JSON form; exit status 1 when any
 * column found something, 0 when none did.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "tests/support.h"

#define FIXTURES SIMRUN_SOURCE_DIR "/tests/cli/fixtures"

static char dir[64];

static void setup(void)
{
	test_tmpdir(dir, sizeof(dir));
}

static void teardown(void)
{
	test_rmtree(dir);
}

TestSuite(compare, .init = setup, .fini = teardown);

/* The text with every run of spaces made one, and none at line starts. */
static char *squeeze(const char *text)
{
	char *w = malloc(strlen(text) + 1), *o = w;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' && (o == w || o[-1] == ' ' || o[-1] == '\n'))
			continue;
		if (*p == '\n' && o > w && o[-1] == ' ')
			o--;
		*o++ = *p;
	}
	*o = '\0';
	return w;
}

Test(compare, variants_side_by_side)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "cd %s && %s compare %s/budget.json --schedules 7 --seed 5",
			  dir, test_simrun_path(), FIXTURES);

	cr_expect_eq(rc, 1, "%s %s", out, err);
	cr_expect(strncmp(out, "seed 5\ncompare budget: random, 7 schedules per variant, database simrun.db\n", 73) == 0,
		  "%s", out);
	/* Column widths follow the labels: compare words, not spaces. */
	char *words = squeeze(out);
	cr_expect(strstr(words, "\n(base) roomy\n"), "%s", out);
	cr_expect(strstr(words, "\ncampaign 1 2\n"), "%s", out);
	cr_expect(strstr(words, "\nschedules run 7 7\n"), "%s", out);
	cr_expect(strstr(words, "\noutcome ok 0 7\n"), "%s", out);
	cr_expect(strstr(words, "\noutcome budget 7 0\n"), "%s", out);
	cr_expect(strstr(words, "\nruns with livelock 7 0\n"), "%s", out);
	cr_expect(strstr(words, "\nfirst finding at 0 -\n"), "%s", out);
	/* Counters: those these tasks never move are left out. */
	cr_expect(strstr(words, "\ncounter pgfault ") == NULL, "%s", out);
	free(words);
	char db[128];
	snprintf(db, sizeof(db), "%s/simrun.db", dir);
	/* Same seeds: both campaigns ran the same run seeds. */
	cr_expect_eq(test_sql_int(db, "SELECT count(*) FROM run a JOIN run b ON a.idx = b.idx AND a.seed = b.seed "
				      "WHERE a.campaign_id = 1 AND b.campaign_id = 2"), 7);
	cr_expect_eq(test_sql_int(db, "SELECT count(DISTINCT base_seed) FROM campaign"), 1);
	free(out);
	free(err);
}

Test(compare, json_and_no_findings)
{
	char *out, *err;
	int rc = test_shf(&out, &err, "cd %s && %s compare %s/check/a-pass.json --no-db --json --strategy pct --schedules 3",
			  dir, test_simrun_path(), FIXTURES);

	cr_expect_eq(rc, 0, "%s %s", out, err);
	cr_expect_str_eq(err, "seed 42\n");
	cJSON *j = cJSON_Parse(out);
	cr_assert(j, "%s", out);
	cr_expect_str_eq(cJSON_GetObjectItem(j, "strategy")->valuestring, "pct");
	cJSON *v = cJSON_GetObjectItem(j, "variants");
	cr_expect_eq(cJSON_GetArraySize(v), 3, "the base and two variants");
	cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 0), "variant")->valuestring, "");
	cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 2), "variant")->valuestring, "unchecked");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(v, 1), "campaign_id")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(j, "database")));
	cJSON_Delete(j);
	free(out);
	free(err);
}

/* The counters row by row: a swap fault on zram completes under the
 * per-VMA lock today and never under v6.4's retry_all, which redoes it
 * under mmap_lock (one vma_lock_retry). */
Test(compare, counters_side_by_side)
{
	char *out, *err;
	const char *scen = test_write_file(dir, "swapin.json",
		"{ \"name\": \"swapin\", \"devices\": { \"z\": { \"kind\": \"zram\" } },"
		"  \"swap\": { \"device\": \"z\", \"slots\": 4 },"
		"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 4, \"kind\": \"anon\","
		"               \"anon_vma\": true, \"swapped\": [0] } ],"
		"  \"tasks\": [ { \"ops\": [ { \"fault\": { \"vma\": \"heap\", \"page\": 0 } } ] } ],"
		"  \"variants\": { \"retry_all\": { \"kernel\": { \"swap_vma_lock\": \"retry_all\" } } } }");
	int rc = test_shf(&out, &err, "cd %s && %s compare %s --no-db", dir,
			  test_simrun_path(), scen);

	cr_expect_eq(rc, 0, "%s %s", out, err);
	char *words = squeeze(out);
	cr_expect(strstr(words, "\ncounter pgfault 1 1\n"), "%s", out);
	cr_expect(strstr(words, "\ncounter vma_lock_success 1 0\n"), "%s", out);
	cr_expect(strstr(words, "\ncounter vma_lock_retry 0 1\n"), "%s", out);
	cr_expect(strstr(words, "\ncounter swap_fault 1 1\n"), "%s", out);
	cr_expect(strstr(words, "\ncounter swap_fault_vma_locked 1 0\n"), "%s", out);
	cr_expect(strstr(words, "\ncounter vma_lock_abort ") == NULL, "%s", out);
	free(words);
	free(out);
	free(err);
}
