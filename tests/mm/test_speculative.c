/*
 * test_speculative.c: speculative page faults (Lespinasse 2021, seed
 * 002; the `speculative` knob in mm/fault.c and mm/memory.c).  Checks
 * which faults the speculative path completes without any lock
 * (anonymous pages, a swap entry whose folio is in the swap cache) and
 * which it aborts to the locked path (a swap entry not in the swap cache,
 * no page table yet), with SPF_ATTEMPT and SPF_ABORT counted; that with
 * the sequence-count validation no schedule racing munmap and reclaim
 * (random and PCT) produces a finding; and that without it
 * (`unvalidated`) some PCT schedule maps a page behind munmap's back,
 * reported as stale_pte.  PCT finds that race where random schedules
 * rarely do: the fault must stall between copying the VMA and taking the
 * PTE lock while munmap runs to its end, which a priority change point
 * does at once and a coin flip per step almost never.
 */
#include "tests/mm/mm_test.h"

static const char *const spf_json =
	"{ \"name\": \"spf\", \"machine\": { \"cpus\": 3 },"
	"  \"kernel\": { \"speculative\": \"%s\" },"
	"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
	"  \"swap\": { \"device\": \"z\", \"slots\": 16 },"
	"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 16, \"kind\": \"anon\", \"anon_vma\": true,"
	"               \"populated\": [0], \"swapped\": [[2, 4]], \"swapcache\": [3] },"
	"             { \"name\": \"far\", \"start\": 1024, \"pages\": 16, \"kind\": \"anon\", \"anon_vma\": true } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": ["
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 5, \"write\": true } },"
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 3 } },"
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 2 } },"
	"                 { \"fault\": { \"vma\": \"far\", \"page\": 0, \"write\": true } } ] }%s ] }";

/* munmap and reclaim racing the faults on a small VMA ("heap") whose
 * page table another VMA ("keep") shares, so that it stays after the
 * munmap: a page mapped into it behind munmap's back stays too. */
static const char *const race_json =
	"{ \"name\": \"spf_race\", \"machine\": { \"cpus\": 3 },"
	"  \"kernel\": { \"speculative\": \"%s\" },"
	"  \"devices\": { \"z\": { \"kind\": \"zram\" } },"
	"  \"swap\": { \"device\": \"z\", \"slots\": 16 },"
	"  \"vmas\": [ { \"name\": \"heap\", \"start\": 0, \"pages\": 4, \"kind\": \"anon\", \"anon_vma\": true,"
	"               \"swapped\": [[2, 4]], \"swapcache\": [3] },"
	"             { \"name\": \"keep\", \"start\": 64, \"pages\": 4, \"kind\": \"anon\", \"anon_vma\": true, \"populated\": [0] } ],"
	"  \"tasks\": [ { \"name\": \"F\", \"cpu\": 0, \"ops\": ["
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 0, \"write\": true } },"
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 3 } },"
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 1, \"write\": true } },"
	"                 { \"fault\": { \"vma\": \"heap\", \"page\": 2 } } ] },"
	"    { \"name\": \"U\", \"cpu\": 1, \"ops\": [ { \"munmap\": { \"vma\": \"heap\" } } ] },"
	"    { \"name\": \"R\", \"cpu\": 2, \"ops\": [ { \"reclaim\": { \"vma\": \"heap\", \"ignore_references\": true } } ] } ] }";

static struct scenario *spf_scenario(const char *knob, bool race)
{
	static char json[4096];
	if (race)
		snprintf(json, sizeof(json), race_json, knob);
	else
		snprintf(json, sizeof(json), spf_json, knob, "");
	return mt_load(json, NULL);
}

/* PCT for the race: depth 3 over about the run's length in decisions. */
#define RACE_PCT_DEPTH 3
#define RACE_PCT_STEPS 150

Test(speculative, handles_anon_and_swap_cache_faults_aborts_the_rest)
{
	struct engine *e = test_engine(3);
	struct scenario *sc = spf_scenario("validated", false);

	sim_marks_reset();
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(vm_events(SPF_ATTEMPT), 4);
	/* Page 2's folio is not in the swap cache; "far" has no page
	 * table yet: both are redone under the VMA lock. */
	cr_assert_eq(vm_events(SPF_ABORT), 2);
	cr_assert_eq(vm_events(VMA_LOCK_SUCCESS), 2);
	cr_assert(mt_record_of("F", 0)->speculative);
	cr_assert(mt_record_of("F", 1)->speculative);
	cr_assert_not(mt_record_of("F", 2)->speculative);
	cr_assert(mt_record_of("F", 2)->vma_locked);
	cr_assert_eq(mt_record_of("F", 2)->attempts, 2);
	cr_assert_not(mt_record_of("F", 3)->speculative);
	cr_assert_eq(sim_mark_hits("do_swap_page: speculative, not in the swap cache"), 1);
	cr_assert_eq(sim_mark_hits("handle_pte_fault: speculative, no page table"), 1);
	cr_assert_eq(mt_record_of("F", 1)->kind, FAULT_KIND_SWAP_ZRAM);
	for (uint64_t p = 2; p <= 5; p += p == 3 ? 2 : 1)
		cr_assert(pte_present(mt_pte(p)), "page %llu", (unsigned long long)p);
	cr_assert(pte_present(mt_pte(1024)));
	cr_assert_eq(mt_check_refs().mismatched, 0, "%s", mt_check_refs().first);
	cr_assert_eq(e->findings_count, 0);
	engine_end(e);

	/* Off: no speculative attempt at all. */
	scenario_free(sc);
	sc = spf_scenario("off", false);
	cr_assert_eq(mt_run(e, sc, NULL, STRATEGY_TIMED, 1), RUN_OK);
	cr_assert_eq(vm_events(SPF_ATTEMPT), 0);
	cr_assert_eq(vm_events(VMA_LOCK_SUCCESS), 4);
	engine_end(e);
	scenario_free(sc);
	test_engine_done(e);
}

struct spf_stats {
	uint32_t runs_with_finding;
	uint64_t attempts, aborts, completed;
};

static struct spf_stats race_runs(const char *knob, uint32_t seeds, bool pct)
{
	struct engine *e = test_engine(3);
	struct scenario *sc = spf_scenario(knob, true);
	struct spf_stats st = { 0 };

	for (uint64_t seed = 1; seed <= seeds; seed++) {
		enum run_outcome o =
			pct ? mt_run_pct(e, sc, NULL, seed, RACE_PCT_DEPTH,
					 RACE_PCT_STEPS)
			    : mt_run(e, sc, NULL, STRATEGY_RANDOM, seed);
		cr_assert_eq(o, RUN_OK, "%s seed %llu: %s", knob,
			     (unsigned long long)seed, run_outcome_name(o));
		st.attempts += vm_events(SPF_ATTEMPT);
		st.aborts += vm_events(SPF_ABORT);
		for (uint32_t i = 0; i < mt_rec_n; i++)
			st.completed += mt_rec[i].speculative;
		if (e->findings_count) {
			st.runs_with_finding++;
			for (uint32_t i = 0; i < e->findings_count; i++)
				cr_assert_str_eq(e->findings[i].kind, "stale_pte",
						 "%s seed %llu: %s", knob,
						 (unsigned long long)seed,
						 e->findings[i].summary);
		} else {
			cr_assert_eq(mt_check_refs().mismatched, 0, "%s seed %llu: %s",
				     knob, (unsigned long long)seed,
				     mt_check_refs().first);
		}
		engine_end(e);
	}
	scenario_free(sc);
	test_engine_done(e);
	return st;
}

Test(speculative, validated_never_produces_a_finding_racing_munmap_and_reclaim,
     .timeout = 120)
{
	sim_marks_reset();
	for (int pct = 0; pct < 2; pct++) {
		struct spf_stats st = race_runs("validated", 400, pct);
		fprintf(stderr, "speculative validated, 400 %s schedules: %llu attempts, %llu aborts, %llu completed, %u runs with findings\n",
			pct ? "PCT" : "random", (unsigned long long)st.attempts,
			(unsigned long long)st.aborts,
			(unsigned long long)st.completed, st.runs_with_finding);
		cr_assert_eq(st.runs_with_finding, 0);
		cr_assert_gt(st.completed, 0);
		cr_assert_gt(st.aborts, 0);
	}
	cr_assert_gt(sim_mark_hits("pte_map_lock: sequence changed before the lock") +
			     sim_mark_hits("pte_map_lock: sequence changed under the lock"),
		     0, "some fault saw munmap's sequence change and aborted");
}

Test(speculative, unvalidated_maps_behind_munmap_in_some_schedule)
{
	sim_marks_reset();
	struct spf_stats st = race_runs("unvalidated", 400, true);
	fprintf(stderr, "speculative unvalidated, 400 PCT schedules: %u runs with a stale_pte finding\n",
		st.runs_with_finding);
	cr_assert_gt(st.runs_with_finding, 0);
	cr_assert_gt(sim_mark_hits("spf_check_mapped: mapped after munmap tore the VMA down") +
			     sim_mark_hits("free_pgtables: PTE table still maps something"),
		     0);
}
