/*
 * test_stale.c: the stale_pte checker (analysis/stale.c), with every
 * checker attached.  Checks, on KERNEL.md 11 pattern 7 (seed 003's
 * fault-around without the folio lock):
 *  - fault-around of a private mapping racing a truncate (a test-only
 *    remover, until the model's truncate lands: i_size down to 4 pages,
 *    unmap, then lock, unmap again if mapped, delete from the page cache,
 *    unlock, for each folio past EOF): over 400 random schedules,
 *    `nolock_norecheck` leaves a PTE to a folio that left the page cache
 *    and lies past EOF in some, reported with the page, the folio, i_size
 *    and the function that installed the PTE, one signature for all of
 *    them; `trylock` and `private_nolock` never do, although their
 *    re-checks meet the truncate, and no run of any of the three leaks
 *    (the stale PTE holds a reference of its own);
 *  - a folio freed while a PTE still points at it (a test-only zap that
 *    drops the PTE's mapcount and reference but forgets the entry) is
 *    reported when it is freed, as stale_pte "freed" and as a
 *    refcount_underflow, and again at the end of the run only as a hit of
 *    the same finding; the proper zap is silent.
 */
#include <cjson/cJSON.h>

#include "analysis/checkers.h"
#include "tests/mm/mm_test.h"

static struct checkers *ck;

/* ------------------------------------------ fault-around vs truncate */

static const char *const around_json =
	"{ \"name\": \"around\", \"machine\": { \"cpus\": 2 },"
	"  \"kernel\": { \"fault_around\": \"%s\" },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"64 pages\", \"cached\": \"all\" } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 64, \"kind\": \"file_private\", \"file\": \"f\" } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": [ { \"sleep\": { \"ns\": \"5us\" } },"
	"                 { \"fault\": { \"vma\": \"map\", \"page\": 2 } } ] } ] }";

/* Truncate's order (KERNEL.md 9), as tests/mm/test_fault_around.c has
 * it: zap the file's pages from `from` on in every VMA mapping it. */
static void zap_file_range(struct address_space *m, pgoff_t from)
{
	down_read(&m->i_mmap_rwsem);
	for (uint32_t i = 0; i < m->i_mmap_count; i++) {
		struct vm_area_struct *vma = m->i_mmap[i];
		uint64_t start = vma->vm_start;
		if (from > vma->vm_pgoff)
			start += from - vma->vm_pgoff;
		if (start < vma->vm_end)
			unmap_page_range(vma, start, vma->vm_end);
	}
	up_read(&m->i_mmap_rwsem);
}

#define KEEP_PAGES 4

static void remover_fn(void *arg)
{
	(void)arg;
	struct address_space *m = mt_file(0)->f_mapping;

	sim_sleep(prng_range(sim_prng(), 0, 3000));
	down_write(&m->host->i_rwsem);
	down_write(&m->invalidate_lock);
	m->host->i_size = KEEP_PAGES * PAGE_SIZE_BYTES;
	zap_file_range(m, KEEP_PAGES);
	for (pgoff_t i = KEEP_PAGES; i < 64; i++) {
		struct folio *f = filemap_get_folio(m, i);
		if (!f)
			continue;
		folio_lock(f);
		if (f->mapcount)
			zap_file_range(m, KEEP_PAGES);
		if (f->mapping == m)
			filemap_remove_folio(f);
		folio_unlock(f);
		folio_put(f);
	}
	up_write(&m->invalidate_lock);
	up_write(&m->host->i_rwsem);
}

static void add_remover(struct engine *e)
{
	mm_task_create(e, "T", 1, remover_fn, NULL);
}

#define SEEDS 400

struct stale_tally {
	uint32_t stale;			/* runs with a stale_pte */
	uint32_t others;		/* runs with any other finding */
	uint64_t sig;
	bool sigs_differ;
	uint64_t first_hash;
	bool hashes_differ;
	uint64_t rechecks_failed;	/* fault-around caught the truncate */
	char summary[FINDING_SUMMARY_MAX];
	char detail[FINDING_DETAIL_MAX];
};

static struct stale_tally stale_runs(const char *knob)
{
	static char json[4096];
	struct stale_tally t = { 0 };
	struct engine *e = test_engine_checked(2, &ck);

	snprintf(json, sizeof(json), around_json, knob);
	struct scenario *sc = mt_load(json, NULL);
	sim_marks_reset();
	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		enum run_outcome o =
			mt_run(e, sc, add_remover, STRATEGY_RANDOM, seed);
		cr_assert_eq(o, RUN_OK, "seed %llu: %s",
			     (unsigned long long)seed, run_outcome_name(o));
		uint32_t n = test_findings_count(e, "stale_pte");
		t.others += e->findings_count != n;
		if (n) {
			const struct finding *f = test_finding(e, "stale_pte", 0);
			cr_assert_eq(n, 1, "one bug, one finding per run");
			if (t.stale++ == 0) {
				t.sig = f->signature;
				t.first_hash = engine_trace_hash(e);
				snprintf(t.summary, sizeof(t.summary), "%s",
					 f->summary);
				snprintf(t.detail, sizeof(t.detail), "%s",
					 f->detail);
			}
			t.sigs_differ |= f->signature != t.sig;
			t.hashes_differ |= engine_trace_hash(e) != t.first_hash;
		}
		engine_end(e);
	}
	t.rechecks_failed =
		sim_mark_hits("next_uptodate_folio: re-check failed") +
		sim_mark_hits("filemap_map_folio_range: nolock re-check failed");
	scenario_free(sc);
	test_engine_checked_done(e, ck);
	return t;
}

Test(stale_pte, nolock_norecheck_maps_a_truncated_folio)
{
	struct stale_tally t = stale_runs("nolock_norecheck");

	cr_assert_gt(t.stale, 1, "some schedules leave a stale PTE");
	cr_assert_not(t.sigs_differ, "one bug, one signature");
	cr_assert(t.hashes_differ, "found in more than one schedule");
	cr_assert_eq(t.others, 0, "the stale PTE holds its own reference: no leak");

	cr_assert(strncmp(t.summary, "PTE at page ", strlen("PTE at page ")) == 0,
		  "%s", t.summary);
	cr_assert(strstr(t.summary, "(small file, index ") != NULL, "%s",
		  t.summary);
	cr_assert(strstr(t.summary,
			 ", mapping NULL), which left the page cache and lies past EOF "
			 "(i_size 4 pages); installed by filemap_map_folio_range (F/0, step ") != NULL,
		  "%s", t.summary);
	cJSON *d = cJSON_Parse(t.detail);
	cr_assert_not_null(d, "%s", t.detail);
	cr_assert_str_eq(test_json_str(d, "check"), "run_end");
	cr_assert_str_eq(test_json_str(d, "level"), "pte");
	double addr = test_json_num(d, "address");
	cr_assert_geq(addr, KEEP_PAGES);
	cr_assert_eq(test_json_num(d, "file_page"), addr, "the VMA maps page n at n");
	cr_assert_eq(test_json_num(d, "index"), addr);
	cr_assert_str_eq(test_json_str(d, "file"), "f");
	cr_assert_eq(test_json_num(d, "i_size_pages"), KEEP_PAGES);
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "mapping")));
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(d, "in_page_cache")));
	const cJSON *how = cJSON_GetObjectItem(d, "stale");
	cr_assert_eq(cJSON_GetArraySize(how), 2);
	cr_assert_str_eq(cJSON_GetArrayItem(how, 0)->valuestring, "left_cache");
	cr_assert_str_eq(cJSON_GetArrayItem(how, 1)->valuestring, "past_eof");
	cr_assert_eq(test_json_num(d, "refcount"), 1, "the PTE's own");
	cr_assert_eq(test_json_num(d, "mapcount"), 1);
	const cJSON *inst = cJSON_GetObjectItem(d, "installed_by");
	cr_assert_str_eq(test_json_str(inst, "function"), "filemap_map_folio_range");
	cr_assert_str_eq(test_json_str(inst, "task"), "F");
	cr_assert_gt(cJSON_GetArraySize(cJSON_GetObjectItem(d, "last_changes")), 0);
	cJSON_Delete(d);
}

Test(stale_pte, trylock_and_rechecking_nolock_never_do)
{
	struct stale_tally t = stale_runs("trylock");
	cr_assert_eq(t.stale, 0, "%s", t.summary);
	cr_assert_eq(t.others, 0);
	cr_assert_gt(t.rechecks_failed, 0, "the re-checks met the truncate");

	t = stale_runs("private_nolock");
	cr_assert_eq(t.stale, 0, "%s", t.summary);
	cr_assert_eq(t.others, 0);
	cr_assert_gt(t.rechecks_failed, 0, "the re-checks met the truncate");
}

/* ------------------------------------------- freed under a live PTE */

static const char *const populated_json =
	"{ \"name\": \"populated\", \"machine\": { \"cpus\": 1 },"
	"  \"files\": [ { \"name\": \"f\", \"size\": \"64 pages\", \"cached\": \"all\" } ],"
	"  \"vmas\": [ { \"name\": \"map\", \"start\": 0, \"pages\": 64, \"kind\": \"file_private\", \"file\": \"f\", \"populated\": [ 9 ] } ],"
	"  \"tasks\": [ { \"name\": \"S\", \"ops\": [ { \"sleep\": { \"ns\": 1000 } } ] } ] }";

/* Take page 9 out of the page cache.  The broken zap drops the PTE's
 * mapcount and reference but leaves the entry; the proper one clears it. */
static void remove_page_9(bool clear_pte)
{
	struct address_space *m = mt_file(0)->f_mapping;
	struct folio *f = filemap_get_folio(m, 9);

	cr_assert_not_null(f);
	folio_lock(f);
	if (clear_pte) {
		unmap_page_range(mm_world->mm->vmas[0], 9, 10);
	} else {
		folio_remove_rmap_ptes(f, 1);
		folio_put_refs(f, 1);
	}
	filemap_remove_folio(f);
	folio_unlock(f);
	folio_put(f);
}

static void forgets_the_pte(void *arg)
{
	(void)arg;
	remove_page_9(false);
}

static void clears_the_pte(void *arg)
{
	(void)arg;
	remove_page_9(true);
}

static void add_forgetful(struct engine *e)
{
	mm_task_create(e, "Z", 0, forgets_the_pte, NULL);
}

static void add_proper(struct engine *e)
{
	mm_task_create(e, "Z", 0, clears_the_pte, NULL);
}

Test(stale_pte, a_folio_freed_under_a_pte)
{
	struct engine *e = test_engine_checked(1, &ck);
	struct scenario *sc = mt_load(populated_json, NULL);

	cr_assert_eq(mt_run(e, sc, add_forgetful, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 2);
	const struct finding *s = test_finding(e, "stale_pte", 0);
	cr_assert_not_null(s);
	cr_assert_eq(s->task, mt_task(e, "Z")->id, "found as Z freed the folio");
	cr_assert_eq(s->hits, 2, "and again at the end of the run");
	cr_assert(strstr(s->summary, "PTE at page 9 maps folio #") != NULL &&
		  strstr(s->summary, " (small file, index 9, mapping NULL), which has been freed") != NULL,
		  "%s", s->summary);
	cJSON *d = cJSON_Parse(s->detail);
	cr_assert_not_null(d, "%s", s->detail);
	cr_assert_str_eq(test_json_str(d, "check"), "folio_freed");
	cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "stale"), 0)->valuestring,
			 "freed");
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "installed_by")),
		  "mapped before the run: nobody in the log installed it");
	cJSON_Delete(d);

	const struct finding *u = test_finding(e, "refcount_underflow", 0);
	cr_assert_not_null(u);
	cr_assert(strstr(u->summary,
			 " (small file, index 9, mapping NULL) freed while still held: "
			 "refcount 0, expected 1; mapcount 0, expected 1") != NULL,
		  "%s", u->summary);
	d = cJSON_Parse(u->detail);
	cr_assert_not_null(d, "%s", u->detail);
	cr_assert_str_eq(test_json_str(d, "check"), "folio_freed");
	cr_assert_eq(test_json_num(cJSON_GetObjectItem(d, "holders"), "ptes"), 1);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "blame")), 0);
	/* The last changes end with the put that freed it. */
	const cJSON *log = cJSON_GetObjectItem(d, "last_changes");
	const cJSON *last = cJSON_GetArrayItem(log, cJSON_GetArraySize(log) - 1);
	cr_assert_str_eq(test_json_str(last, "function"), "remove_page_9");
	cr_assert_eq(test_json_num(last, "refcount"), 0);
	cr_assert_str_eq(test_json_str(last, "task"), "Z");
	cJSON_Delete(d);
	engine_end(e);

	cr_assert_eq(mt_run(e, sc, add_proper, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(e->findings_count, 0);
	cr_assert(pte_none(mt_pte(9)));
	scenario_free(sc);
	test_engine_checked_done(e, ck);
}
