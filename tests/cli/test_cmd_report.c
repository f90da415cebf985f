/*
 * test_cmd_report.c: `simrun report`, through the built binary, on a
 * database that `simrun compare` filled with the three campaigns of the
 * rwsem fairness scenario, renamed so that its name is HTML.  The page
 * escapes everything from the database, fetches nothing (no src, no
 * href, no URL but SVG's namespace), has one SVG per histogram with
 * samples (plus the first finding's timeline), puts a scenario's
 * campaigns side by side, lists findings with their replay command and
 * the VMA-lock and SPF counters, and prints the first finding in
 * lockdep's shape.  The browser test is tests/cli/report_chromium.sh.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tests/support.h"

#define SCENARIO SIMRUN_SOURCE_DIR "/scenarios/rwsem-fair-deadlock.json"

static char dir[64], db[128], html[128];
static char *page;

static uint32_t count(const char *text, const char *what)
{
	uint32_t n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static void setup(void)
{
	char *err;

	test_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/r.db", dir);
	snprintf(html, sizeof(html), "%s/r.html", dir);
	char *text = test_read_file(SCENARIO);
	const char *old = "\"name\": \"rwsem-fair-deadlock\"";
	char *at = strstr(text, old);
	cr_assert(at != NULL);
	char *renamed = malloc(strlen(text) + 64);
	cr_assert(renamed != NULL);
	sprintf(renamed, "%.*s\"name\": \"rwsem <b>&\\\"fair\\\"</b>\"%s", (int)(at - text),
		text, at + strlen(old));
	const char *path = test_write_file(dir, "html-name.json", renamed);
	free(text);
	free(renamed);
	int rc = test_shf(NULL, &err, "%s compare %s --schedules 100 --db %s",
			  test_simrun_path(), path, db);
	cr_assert(rc == 0 || rc == 1, "%s", err);
	free(err);
	rc = test_shf(NULL, &err, "%s report --db %s -o %s", test_simrun_path(), db, html);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);
	page = test_read_file(html);
	cr_assert(strlen(page) > 1000);
}

static void teardown(void)
{
	free(page);
	test_rmtree(dir);
}

TestSuite(report, .init = setup, .fini = teardown);

Test(report, escapes_what_comes_from_the_database)
{
	cr_assert(strstr(page, "rwsem &lt;b&gt;&amp;&quot;fair&quot;&lt;/b&gt;"), "escaped name");
	cr_assert(!strstr(page, "<b>"), "no markup from the database");
	cr_assert(!strstr(page, "&\"fair"), "no raw ampersand or quote");
	/* Summaries have arrows. */
	cr_assert(strstr(page, "folio_lock -&gt; mmap_lock -&gt; folio_lock"));
}

Test(report, is_self_contained)
{
	cr_assert(!strstr(page, "src="), "nothing loaded");
	cr_assert(!strstr(page, "href="), "nothing linked");
	cr_assert_eq(count(page, "://"), count(page, "http://www.w3.org/2000/svg"),
		     "no URL but the SVG namespace");
	/* And the page says so to the browser. */
	cr_assert(strstr(page, "content=\"default-src 'none';"));
	cr_assert(strstr(page, "<!DOCTYPE html>"));
	cr_assert(strstr(page, "</body></html>"));
}

Test(report, one_svg_per_histogram_side_by_side)
{
	int64_t hists = test_sql_int(db, "SELECT count(*) FROM (SELECT DISTINCT campaign_id, name "
					 "FROM metric WHERE bucket IS NOT NULL)");
	cr_assert_gt(hists, 3);
	/* Plus the first finding's run. */
	cr_assert_eq(count(page, "<svg class=\"plot\""), (uint32_t)hists + 1);
	cr_assert_eq(count(page, "<svg"), (uint32_t)hists + 1);
	/* mmap_lock.read.hold_ns has samples in all three campaigns: its
	 * row holds three figures. */
	const char *row = strstr(page, "<div class=\"row\"><figure>");
	cr_assert(row != NULL);
	const char *end = strstr(row, "</div>");
	uint32_t figures = 0;
	for (const char *p = row; (p = strstr(p, "<figure>")) && p < end; p++)
		figures++;
	cr_assert_eq(figures, 3, "the three variants side by side");
	cr_assert(strstr(page, "mmap_lock.read.hold_ns, fair (campaign 2)"));
	cr_assert(strstr(page, "mmap_lock.read.hold_ns, reader_preferring (campaign 3)"));
}

Test(report, findings_counters_and_the_first_finding)
{
	char want[256];
	int64_t run = test_sql_int(db, "SELECT min(f.run_id) FROM finding f JOIN run r ON r.id = "
				       "f.run_id WHERE f.kind = 'deadlock' AND r.campaign_id = 2");

	snprintf(want, sizeof(want), "simrun replay --db %s --run %lld</code>", db, (long long)run);
	cr_assert(strstr(page, want), "%s", want);
	cr_assert(strstr(page, "<td>deadlock</td><td><code>ec097bbffff24f4f</code></td>"));
	cr_assert(strstr(page, "<th>vma_lock_success</th>"));
	cr_assert(strstr(page, "<th>spf_abort</th>"));
	cr_assert(strstr(page, "<h2>The first finding</h2>"));
	cr_assert(strstr(page, "WARNING: possible circular locking dependency detected"));
	cr_assert(strstr(page, " Possible unsafe locking scenario:"));
	cr_assert(strstr(page, "<title>run timeline per CPU</title>"));
	/* The finding's steps are drawn in red. */
	cr_assert(strstr(page, "fill=\"#d62728\""));
}

Test(report, no_database_is_exit_2)
{
	char *err;
	int rc = test_shf(NULL, &err, "%s report --db %s/none.db -o %s/x.html",
			  test_simrun_path(), dir, dir);

	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "none.db: no such database"), "%s", err);
	free(err);
}
