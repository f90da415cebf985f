/*
 * test_leak.c: the leak and refcount_underflow checker (analysis/leak.c),
 * with every checker attached as simrun attaches them (checkers_create,
 * campaign_run_schedule).  Checks, on seed 004's bug (KERNEL.md 11,
 * pattern 6):
 *  - a THP fault-around racing a COW fault that installs a PTE table in
 *    the same PMD: with filemap_map_pmd `inverted_set_pmd`, some random
 *    schedules make do_set_pmd fail ("PMD populated meanwhile") and the
 *    THP keeps a reference nobody will put: a leak, whose details give
 *    the folio, refcount 513 against 512 expected, the function that took
 *    the reference (next_uptodate_folio) and the reference log oldest
 *    first with task and step; every such schedule gets one signature,
 *    although the schedules differ (and the last change in the log is the
 *    racing COW fault's put, which a signature must not key on); with
 *    `fixed`, the same schedules are silent;
 *  - a do_set_pmd that succeeds under `inverted_set_pmd` puts one
 *    reference too many: refcount_underflow, blamed on the put of a
 *    reference the task did not hold, silent with `fixed`;
 *  - another leak of the same THP (a reference taken elsewhere and never
 *    put) gets another signature;
 *  - a folio freed while a page cache slot still holds it (a test-only
 *    removal that clears folio->mapping and drops the cache's reference
 *    but leaves i_pages) is a refcount_underflow when it is freed; the
 *    proper removal is silent;
 *  - the checkers change nothing in the runs: the same trace hashes with
 *    and without them.
 */
#include <cjson/cJSON.h>

#include "analysis/campaign.h"
#include "analysis/checkers.h"
#include "tests/mm/mm_test.h"

/* F reads page 3 (fault-around maps the THP with a PMD); C writes page
 * 100 of the same private mapping (a COW fault whose finish_fault
 * installs a PTE table in the PMD).  do_fault_locking `in_callers`
 * (Linus, Oct 2020) has do_cow_fault unlock the THP before finish_fault,
 * which opens the window between filemap_map_pmd reading the PMD empty
 * and do_set_pmd finding it populated. */
static const char *const race_json =
	"{ \"name\": \"thp_race\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"filemap_map_pmd\": \"%s\", \"do_fault_locking\": \"in_callers\" },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"512 pages\", \"cached\": \"all\", \"thp\": true } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 512, \"kind\": \"file_private\", \"file\": \"f\", \"thp\": true } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 3 } } ] },"
	"               { \"name\": \"C\", \"cpu\": 1, \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 100, \"write\": true } } ] } ] }";

static struct scenario *race_scenario(const char *knob)
{
	static char json[4096];
	snprintf(json, sizeof(json), race_json, knob);
	return mt_load(json, NULL);
}

#define SCHEDULES 1000
#define BASE_SEED 7

struct campaign_tally {
	uint32_t leaks;			/* schedules with a leak */
	uint32_t underflows;
	uint32_t others;		/* any other finding */
	uint32_t raced;			/* do_set_pmd found the PMD populated */
	uint32_t leaks_raced;		/* leaks with the mark */
	uint64_t leak_sig;
	bool leak_sigs_differ;
	uint32_t hashes;		/* distinct trace hashes of leaks */
	uint64_t hash[SCHEDULES];
	uint32_t newest;		/* distinct last changes of a leak */
	const char *newest_where[FOLIO_REF_LOG_MAX * 4];
	char first_detail[FINDING_DETAIL_MAX];
	char first_summary[FINDING_SUMMARY_MAX];
	uint64_t run_hash[SCHEDULES];
};

static void note_newest(struct campaign_tally *t, const struct folio *thp)
{
	const struct folio_ref_change *c =
		&thp->ref_log[(thp->ref_log_next - 1) % FOLIO_REF_LOG_MAX];
	for (uint32_t i = 0; i < t->newest; i++)
		if (strcmp(t->newest_where[i], c->where) == 0)
			return;
	if (t->newest < sizeof(t->newest_where) / sizeof(t->newest_where[0]))
		t->newest_where[t->newest++] = c->where;
}

/* Run SCHEDULES random schedules of the race under `knob`, checked (or,
 * with_checkers false, not). */
static void run_campaign(const char *knob, bool with_checkers,
			 struct campaign_tally *t)
{
	struct scenario *sc = race_scenario(knob);
	struct engine *e = campaign_engine(sc, NULL);
	struct checkers *ck = with_checkers ? checkers_create(NULL) : NULL;
	struct strategy_params sp = { .kind = STRATEGY_RANDOM };
	char err[256];
	struct strategy *s = strategy_create(&sp, err, sizeof(err));

	cr_assert_not_null(e);
	cr_assert_not_null(s, "%s", err);
	if (with_checkers)
		cr_assert_not_null(ck);
	memset(t, 0, sizeof(*t));
	for (uint64_t i = 0; i < SCHEDULES; i++) {
		struct run_result r;
		sim_marks_reset();
		campaign_run_schedule(e, sc, s, ck, BASE_SEED, i, &r);
		cr_assert_eq(r.outcome, RUN_OK, "schedule %llu: %s",
			     (unsigned long long)i, run_outcome_name(r.outcome));
		t->run_hash[i] = r.trace_hash;
		bool raced = sim_mark_hits("do_set_pmd: PMD populated meanwhile") > 0;
		t->raced += raced;
		uint32_t leaks = test_findings_count(e, "leak");
		uint32_t underflows = test_findings_count(e, "refcount_underflow");
		t->others += e->findings_count - leaks - underflows;
		t->underflows += underflows > 0;
		if (!leaks) {
			engine_end(e);
			continue;
		}
		const struct finding *f = test_finding(e, "leak", 0);
		cr_assert_eq(leaks, 1);
		if (t->leaks++ == 0) {
			t->leak_sig = f->signature;
			snprintf(t->first_detail, sizeof(t->first_detail), "%s",
				 f->detail);
			snprintf(t->first_summary, sizeof(t->first_summary),
				 "%s", f->summary);
		}
		t->leak_sigs_differ |= f->signature != t->leak_sig;
		t->leaks_raced += raced;
		/* The leak leaves the PMD with the racer's PTE table. */
		cr_assert_eq(mt_pmd(0)->kind, PMD_TABLE);
		note_newest(t, mt_cached(0, 0));
		bool seen = false;
		for (uint32_t h = 0; h < t->hashes && !seen; h++)
			seen = t->hash[h] == r.trace_hash;
		if (!seen)
			t->hash[t->hashes++] = r.trace_hash;
		engine_end(e);
	}
	strategy_destroy(s);
	checkers_destroy(ck);
	engine_destroy(e);
	scenario_free(sc);
}

static struct campaign_tally inverted, fixed_knob;

Test(leak, inverted_set_pmd_leaks_when_a_racing_fault_installs_a_pte_table)
{
	run_campaign("inverted_set_pmd", true, &inverted);
	cr_assert_gt(inverted.leaks, 1, "some schedules hit the race");
	cr_assert_eq(inverted.leaks_raced, inverted.leaks,
		     "every leak comes from a do_set_pmd that found the PMD populated");
	cr_assert_not(inverted.leak_sigs_differ,
		      "one bug, one signature, in every schedule that hits it");
	cr_assert_gt(inverted.hashes, 1, "the leaking schedules are not one run");
	/* Why the signature does not key on the last change: it is the
	 * racer's put, not the leak. */
	cr_assert_eq(inverted.newest, 1);
	cr_assert_str_eq(inverted.newest_where[0], "do_cow_fault");
	cr_assert_eq(inverted.others, 0);

	run_campaign("fixed", true, &fixed_knob);
	cr_assert_gt(fixed_knob.raced, 0, "the fixed kernel meets the same race");
	cr_assert_eq(fixed_knob.leaks, 0);
	cr_assert_eq(fixed_knob.underflows, 0);
	cr_assert_eq(fixed_knob.others, 0);
}

Test(leak, the_details_give_the_folio_the_counts_and_the_last_changers)
{
	run_campaign("inverted_set_pmd", true, &inverted);
	cr_assert_gt(inverted.leaks, 0);
	cr_assert(strncmp(inverted.first_summary,
			  "folio #", strlen("folio #")) == 0, "%s",
		  inverted.first_summary);
	cr_assert(strstr(inverted.first_summary,
			 " (THP file, f index 0): refcount 513, expected 512; "
			 "reference taken in next_uptodate_folio never put: "
			 "F/0 returned holding it (step ") != NULL,
		  "%s", inverted.first_summary);

	cJSON *d = cJSON_Parse(inverted.first_detail);
	cr_assert_not_null(d, "%s", inverted.first_detail);
	cr_assert_str_eq(test_json_str(d, "check"), "run_end");
	cr_assert_eq(test_json_num(d, "order"), HPAGE_PMD_ORDER);
	cr_assert_str_eq(test_json_str(d, "folio_kind"), "THP file");
	cr_assert_str_eq(test_json_str(d, "mapping"), "f");
	cr_assert_eq(test_json_num(d, "index"), 0);
	const cJSON *rc = cJSON_GetObjectItem(d, "refcount");
	cr_assert_eq(test_json_num(rc, "actual"), 513);
	cr_assert_eq(test_json_num(rc, "expected"), 512);
	const cJSON *mc = cJSON_GetObjectItem(d, "mapcount");
	cr_assert_eq(test_json_num(mc, "actual"), 0, "nothing got mapped");
	cr_assert_eq(test_json_num(mc, "expected"), 0);
	const cJSON *h = cJSON_GetObjectItem(d, "holders");
	cr_assert_eq(test_json_num(h, "page_cache"), 512);
	cr_assert_eq(test_json_num(h, "pmds"), 0);
	cr_assert_eq(test_json_num(h, "task_refs"), 0);
	const cJSON *blame = cJSON_GetObjectItem(d, "blame");
	cr_assert_eq(cJSON_GetArraySize(blame), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(blame, 0)->valuestring,
			 "next_uptodate_folio");
	const cJSON *orph = cJSON_GetObjectItem(d, "orphaned");
	cr_assert_eq(test_json_num(orph, "references"), 1);
	cr_assert_str_eq(test_json_str(cJSON_GetObjectItem(orph, "last"), "task"), "F");

	/* The last changers, oldest first, each with task and step; the
	 * leaked reference is among them. */
	const cJSON *log = cJSON_GetObjectItem(d, "last_changes");
	int n = cJSON_GetArraySize(log);
	cr_assert_gt(n, 1);
	double step = -1;
	bool took = false;
	for (int i = 0; i < n; i++) {
		const cJSON *c = cJSON_GetArrayItem(log, i);
		cr_assert_geq(test_json_num(c, "step"), step, "oldest first");
		step = test_json_num(c, "step");
		test_json_str(c, "function");
		test_json_num(c, "ref");
		test_json_num(c, "refcount");
		test_json_num(c, "mapcount");
		const cJSON *task = cJSON_GetObjectItem(c, "task");
		cr_assert(cJSON_IsString(task) || cJSON_IsNull(task));
		if (strcmp(test_json_str(c, "function"), "next_uptodate_folio") == 0 &&
		    cJSON_IsString(task) && strcmp(task->valuestring, "F") == 0 &&
		    test_json_num(c, "ref") == 1)
			took = true;
	}
	cr_assert(took, "%s", inverted.first_detail);
	/* The newest change leaves the count where the check found it. */
	cr_assert_eq(test_json_num(cJSON_GetArrayItem(log, n - 1), "refcount"), 513);
	cJSON_Delete(d);
}

Test(leak, checkers_change_no_run)
{
	static struct campaign_tally bare;

	run_campaign("inverted_set_pmd", true, &inverted);
	run_campaign("inverted_set_pmd", false, &bare);
	for (uint32_t i = 0; i < SCHEDULES; i++)
		cr_assert_eq(inverted.run_hash[i], bare.run_hash[i],
			     "schedule %u", i);
}

/* ------------------------------------- do_set_pmd succeeds, inverted */

/* One task, nothing racing: do_set_pmd maps the THP and the inverted test
 * falls through to the PTE path, which puts a reference the PMD owns. */
static const char *const one_json =
	"{ \"name\": \"thp_one\", \"machine\": { \"cpus\": 1 },"
	"  \"kernel\": { \"filemap_map_pmd\": \"%s\" },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"512 pages\", \"cached\": \"all\", \"thp\": true } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 512, \"kind\": \"file_private\", \"file\": \"f\", \"thp\": true } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"ops\": [ { \"fault\": { \"vma\": \"map\", \"page\": 3 } } ] } ] }";

static struct checkers *ck;

Test(leak, inverted_set_pmd_puts_one_reference_too_many_on_success)
{
	struct engine *e = test_engine_checked(1, &ck);
	static char json[4096];

	snprintf(json, sizeof(json), one_json, "fixed");
	struct scenario *sc = mt_load(json, NULL);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(mt_pmd(0)->kind, PMD_HUGE);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);
	scenario_free(sc);

	snprintf(json, sizeof(json), one_json, "inverted_set_pmd");
	sc = mt_load(json, NULL);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(mt_pmd(0)->kind, PMD_HUGE);
	cr_assert_eq(e->findings_count, 1);
	const struct finding *f = test_finding(e, "refcount_underflow", 0);
	cr_assert_not_null(f);
	cr_assert(strstr(f->summary,
			 "(THP file, f index 0): refcount 512, expected 513; "
			 "map_release put a reference it did not hold (F/0, step ") != NULL,
		  "%s", f->summary);
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	const cJSON *mc = cJSON_GetObjectItem(d, "mapcount");
	cr_assert_eq(test_json_num(mc, "actual"), 1);
	cr_assert_eq(test_json_num(mc, "expected"), 1);
	cr_assert_eq(test_json_num(cJSON_GetObjectItem(d, "holders"), "pmds"), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "blame"), 0)->valuestring,
			 "map_release");
	cr_assert_eq(test_json_num(cJSON_GetObjectItem(d, "unowned_puts"), "puts"), 1);
	cJSON_Delete(d);
	uint64_t sig = f->signature;
	engine_end(e);

	/* The random strategy, another schedule: the same signature. */
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_RANDOM, 5), RUN_OK);
	cr_assert_eq(test_finding(e, "refcount_underflow", 0)->signature, sig);
	scenario_free(sc);
	test_engine_checked_done(e, ck);
}

/* ---------------------------------------- another leak, same THP */

/* A reference taken on the THP by some other path and never put. */
static void thp_ref_leaker(void *arg)
{
	(void)arg;
	folio_get(mt_cached(0, 0));
}

static void add_leaker(struct engine *e)
{
	mm_task_create(e, "L", 0, thp_ref_leaker, NULL);
}

static void thp_ref_balanced(void *arg)
{
	(void)arg;
	struct folio *thp = mt_cached(0, 0);
	folio_get(thp);
	folio_put(thp);
}

static void add_balanced(struct engine *e)
{
	mm_task_create(e, "L", 0, thp_ref_balanced, NULL);
}

Test(leak, another_leak_of_the_same_folio_gets_another_signature)
{
	struct engine *e = test_engine_checked(2, &ck);
	static char json[4096];

	snprintf(json, sizeof(json), one_json, "fixed");
	struct scenario *sc = mt_load(json, NULL);
	run_campaign("inverted_set_pmd", true, &inverted);
	cr_assert_gt(inverted.leaks, 0);

	cr_assert_eq(mt_run(e, sc, add_leaker, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 1);
	const struct finding *f = test_finding(e, "leak", 0);
	cr_assert_not_null(f);
	cr_assert_neq(f->signature, inverted.leak_sig);
	cr_assert(strstr(f->summary,
			 "(THP file, f index 0): refcount 514, expected 513; "
			 "reference taken in thp_ref_leaker still held by an exited task") != NULL,
		  "%s", f->summary);
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	cr_assert_eq(test_json_num(cJSON_GetObjectItem(d, "holders"), "pmds"), 1,
		     "F mapped the THP with its PMD");
	const cJSON *held = cJSON_GetObjectItem(d, "held_by_exited_tasks");
	cr_assert_eq(cJSON_GetArraySize(held), 1);
	cr_assert_str_eq(test_json_str(cJSON_GetArrayItem(held, 0), "task"), "L");
	cJSON_Delete(d);
	engine_end(e);

	/* Its twin puts the reference back: silent. */
	cr_assert_eq(mt_run(e, sc, add_balanced, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	scenario_free(sc);
	test_engine_checked_done(e, ck);
}

/* ------------------------------------- freed while the cache holds it */

static const char *const cached_json =
	"{ \"name\": \"cached\", \"machine\": { \"cpus\": 1 },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"16 pages\", \"cached\": \"all\" } ],"
	"  \"tasks\": [ { \"name\": \"S\", \"ops\": [ { \"sleep\": { \"ns\": 1000 } } ] } ] }";

/* Delete page 5 from the page cache; the broken removal forgets to clear
 * the i_pages slot, as a __filemap_remove_folio that skipped the xarray
 * store would. */
static void remove_page_5(bool clear_slot)
{
	struct address_space *m = mt_file(0)->f_mapping;
	struct folio *f = filemap_get_folio(m, 5);

	cr_assert_not_null(f);
	folio_lock(f);
	if (clear_slot) {
		filemap_remove_folio(f);
	} else {
		f->mapping = NULL;
		folio_put_refs(f, 1);
	}
	folio_unlock(f);
	folio_put(f);
}

static void forgets_the_slot(void *arg)
{
	(void)arg;
	remove_page_5(false);
}

static void clears_the_slot(void *arg)
{
	(void)arg;
	remove_page_5(true);
}

static void add_forgetful(struct engine *e)
{
	mm_task_create(e, "R", 0, forgets_the_slot, NULL);
}

static void add_proper(struct engine *e)
{
	mm_task_create(e, "R", 0, clears_the_slot, NULL);
}

Test(leak, a_folio_freed_while_the_page_cache_holds_it)
{
	struct engine *e = test_engine_checked(1, &ck);
	struct scenario *sc = mt_load(cached_json, NULL);

	cr_assert_eq(mt_run(e, sc, add_forgetful, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 1);
	const struct finding *f = test_finding(e, "refcount_underflow", 0);
	cr_assert_not_null(f);
	cr_assert_eq(f->task, mt_task(e, "R")->id, "found when R freed it");
	cr_assert(strstr(f->summary,
			 " (small file, index 5, mapping NULL) freed while still held: "
			 "refcount 0, expected 1;") != NULL,
		  "%s", f->summary);
	cJSON *d = cJSON_Parse(f->detail);
	cr_assert_not_null(d, "%s", f->detail);
	cr_assert_str_eq(test_json_str(d, "check"), "folio_freed");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "holders"),
						   "page_cache_slot")));
	cJSON_Delete(d);
	engine_end(e);

	cr_assert_eq(mt_run(e, sc, add_proper, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert_null(mt_cached(0, 5));
	scenario_free(sc);
	test_engine_checked_done(e, ck);
}
