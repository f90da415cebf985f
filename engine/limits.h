/*
 * limits.h: every fixed bound in simrun, in one place, each with the reason
 * for its number.  Not a tuning file: the values that users tune (step and
 * time budgets) are run parameters, and these are only their ceilings.
 */
#ifndef SIM_LIMITS_H
#define SIM_LIMITS_H

#include <assert.h>

/* Tasks in one run.  The scenarios the seeds describe need at most a dozen
 * (faulting threads, a writer, reclaim, truncate); 64 leaves room for stress
 * scenarios while keeping the stack pool at a few MiB. */
#define TASKS_MAX 64

/* Simulated CPUs.  Faults contend on shared locks, not on CPU count; 64 is
 * more CPUs than tasks could ever use. */
#define CPUS_MAX 64

/* SIM_ASAN: this is an AddressSanitizer build (gcc says so with
 * __SANITIZE_ADDRESS__, clang with __has_feature). */
#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif

/* Bytes of each coroutine stack, excluding its guard page.  The deepest model
 * path (a fault under tracing, formatting a line) uses well under 16 KiB;
 * sanitizers inflate frames several times, so their builds get more. */
#if defined(SIM_ASAN)
#define TASK_STACK_BYTES (512u * 1024u)
#else
#define TASK_STACK_BYTES (128u * 1024u)
#endif

/* Pending events (I/O completions, timers).  Bounded by devices' queue depth
 * (at most 256 each) plus one timer per task. */
#define EVENTS_MAX 1024

/* Enabled choices at one choice point: every task plus every pending event. */
#define CHOICES_MAX (TASKS_MAX + EVENTS_MAX)

/* Ceiling on the per-run step budget.  The default budget is far lower; this
 * only bounds the decision log a run may be asked to keep. */
#define STEPS_LIMIT 100000000ull

/* Default per-run budgets: a run that has not finished after this many steps
 * or this much virtual time is reported as `budget` (livelock). */
#define STEPS_DEFAULT 2000000ull
#define VIRTUAL_NS_DEFAULT (600ull * 1000000000ull)

/* Findings recorded by one run.  A run that finds more is reporting the same
 * bug repeatedly; the first ones name it. */
#define FINDINGS_PER_RUN_MAX 64

/* Bytes of one finding's summary and detail text. */
#define FINDING_SUMMARY_MAX 256
#define FINDING_DETAIL_MAX 4096

/* Task names as shown in traces and reports. */
#define TASK_NAME_MAX 32

/* The arena that holds one schedule's world (mm, VMAs, folios, files).  The
 * largest scenario we ship uses well under 1 MiB; 64 MiB of address space is
 * reserved once and only touched pages cost memory. */
#define ARENA_BYTES (64ull * 1024ull * 1024ull)

/* Hook subscribers per hook point: the analysis layer registers a handful. */
#define HOOK_SUBSCRIBERS_MAX 8

/* Model-defined trace event kinds (lock acquire, PTE write, ...). */
#define TRACE_KINDS_MAX 256

/* Coverage marks (SIM_MARK sites) in the whole program. */
#define MARKS_MAX 512

/* The result database (analysis/store.c).
 *
 * Runs are staged in memory and written in one transaction per batch of
 * this many: each commit costs a WAL append (and now and then a
 * checkpoint), which a batch spreads over many runs, while a crash loses at
 * most the staged batch.  The write lock is held only while a batch is
 * written, never while schedules run, so several simrun processes can share
 * one database file. */
#define STORE_BATCH_RUNS 256u
/* Staged bytes (decision logs and finding text) that also end a batch: with
 * every decision log kept, a batch of long runs would otherwise hold
 * gigabytes in memory. */
#define STORE_BATCH_BYTES (16u * 1024u * 1024u)
/* How long a store waits for another process's write lock before it gives
 * up with "database is locked by another process".  Another simrun holds it
 * for one batch, well under a second; anything holding it for seconds is a
 * user's open transaction, and waiting longer would only hide that. */
#define STORE_BUSY_TIMEOUT_MS 2000

/* Pause between attempts at what SQLite reports busy without waiting (the
 * switch of a new file to WAL while another simrun creates it), within
 * STORE_BUSY_TIMEOUT_MS in all. */
#define STORE_OPEN_RETRY_MS 10
static_assert(STORE_BUSY_TIMEOUT_MS % STORE_OPEN_RETRY_MS == 0, "whole attempts");

/* Bytes of a store error message: a path (PATH_MAX is 4096, but paths that
 * long are not typed by people) and a sentence. */
#define STORE_MESSAGE_MAX 1024
/* Columns of one report query's row (store_query): the widest query,
 * simrun report's campaign list, selects a dozen. */
#define STORE_QUERY_COLUMNS_MAX 32

/* PCT's bug depth d (schedulers/pct.c): d - 1 priority change points per
 * schedule.  The guarantee 1/(n * k^(d-1)) is already below 2^-100 at d = 16
 * for any run worth simulating, so deeper settings would only sample noise;
 * the scenario loader accepts the same range. */
#define PCT_DEPTH_MAX 16

/* Decisions one DFS schedule may branch on (schedulers/dfs.c keeps one
 * 24-byte frame per decision, 1.5 MiB in all, allocated once).  With a
 * preemption bound c the schedules of a run of D decisions number roughly
 * (D * choices)^c, so a run past 65536 decisions is far beyond what DFS can
 * exhaust even at c = 1; such runs are what PCT is for.  Decisions past the
 * limit follow a fixed non-preempting rule and the search says it was
 * truncated. */
#define DFS_DEPTH_MAX 65536u

/* Distinct findings (kind and signature) one campaign keeps for its summary
 * (analysis/runner.c).  Each is one bug, however many schedules hit it; a
 * campaign that finds more than 256 distinct ones is reporting one mistake
 * many ways, and the first ones name it.  The rest are counted, and every
 * finding of every run is in the database regardless. */
#define RUNNER_GROUPS_MAX 256u

/* Finding kinds one campaign tells apart (analysis/runner.c): the
 * checkers' and the model's kinds (about 15, the loader's list) and one
 * pseudo-kind per run outcome. */
#define RUNNER_KINDS_MAX 32u

/* The command line (cli/).  Options one command accepts, and arguments
 * besides them: `simrun check` takes the most, files and directories; 64
 * is more than a shell line of scenario paths, and a directory stands for
 * any number. */
#define CLI_OPTIONS_MAX 24
#define CLI_ARGS_MAX 64
/* Scenario files one `simrun check` takes, named or found in directories:
 * ten times the scenarios a project ships, with room for a user's own. */
#define CLI_CHECK_FILES_MAX 1024
/* Rows of `simrun compare`'s table: a header, the campaign, schedules,
 * six outcomes, up to RUNNER_KINDS_MAX finding kinds, p50 and p99 of
 * each of the 15 time histograms of the metrics, the 18 counters, and the
 * first finding. */
#define CLI_COMPARE_ROWS_MAX 112
/* Campaigns one `simrun report` page shows: a database from a few
 * `simrun compare` runs holds tens; beyond 256 a page of plots is no
 * longer read, and the rest are said to be left out. */
#define REPORT_CAMPAIGNS_MAX 256u
/* Runs `simrun regress` lists one by one when their verdict is not the one
 * wanted; the per-signature table counts every run.  A thousand changed
 * runs are one change seen many ways. */
#define CLI_REGRESS_LISTED_MAX 1000u

/* Schedules one campaign may be asked for: the loader's ceiling for
 * explore.schedules, and the command line's.  At a few microseconds per
 * schedule of a small scenario, 10^8 is hours; beyond that a campaign should
 * be split so its results are seen. */
#define RUNNER_SCHEDULES_MAX 100000000ull

/* Replays one `simrun shrink` makes by default (analysis/shrink.c): its
 * delta debugging tries O(n log n) candidates for a log of n decisions in
 * the usual case and O(n^2) at worst; a deadlock found in a few hundred
 * decisions shrinks well within 2000, at a few hundred microseconds each.
 * --max-replays changes it, up to SHRINK_REPLAYS_LIMIT. */
#define SHRINK_REPLAYS_MAX 2000u
#define SHRINK_REPLAYS_LIMIT 1000000u
/* Decisions of a run shrink accepts: it keeps a few words per decision of
 * the best run and of each candidate; a run of more than 2^20 decisions is
 * far past what a person reads, and is a livelock's, not a schedule's. */
#define SHRINK_DECISIONS_MAX (1u << 20)

/* Checkers in the analysis layer's registry (analysis/checkers.c): six
 * today (deadlock, lock order, hung task, livelock, invariants, metrics),
 * with leak and stale-PTE checks to come; 16 leaves room without making
 * the per-hook dispatch loop long. */
#define CHECKERS_MAX 16

/* The hung-task threshold when a campaign sets none: the kernel's default
 * CONFIG_DEFAULT_HUNG_TASK_TIMEOUT (hung_task_timeout_secs = 120). */
#define HUNG_TASK_TIMEOUT_NS_DEFAULT (120ull * 1000000000ull)

/* Retries of one fault before the livelock checker reports it.  Today's
 * kernels allow several retries but only the first attempt drops the lock
 * and waits (KERNEL.md section 4); a fault still retrying after 16 is in a
 * retry storm (pattern 2), not unlucky. */
#define FAULT_RETRIES_DEFAULT 16u

/* Distinct functions asking one fault to retry that the livelock checker
 * names in its report.  A fault path has a handful of retry sites
 * (filemap_fault, __folio_lock_or_retry, do_swap_page, the VMA-lock
 * fallbacks); more than 8 in one fault would be counted, not named. */
#define FAULT_RETRY_SITES_MAX 8u

/* Circular lock dependencies remembered per campaign.  Each report comes
 * from a new dependency between two lock classes, so there can never be
 * more than classes squared (169 today); a campaign that finds more than 64
 * is reporting one mistake many ways, and the first ones name it.  The
 * rest are counted. */
#define LOCK_ORDER_REPORTS_MAX 64u

/* Bytes of one lockdep-style report (the chain, the two-CPU scenario and
 * the held locks).  A cycle through every one of the 13 lock classes with
 * long function names fits in 4 KiB. */
#define LOCKDEP_REPORT_BYTES 4096u

/* Model function names kept beyond the run that produced them (the lock
 * dependency graph lives for the whole campaign).  Kernel function names
 * are far shorter than 64 bytes; a longer one is cut, not dropped. */
#define WHERE_NAME_MAX 64u

/* Nesting of the JSON objects that findings carry as details: a finding is
 * an object of arrays of objects of small objects, four levels; 8 leaves
 * room. */
#define JSON_DEPTH_MAX 8u

static_assert(CHOICES_MAX == TASKS_MAX + EVENTS_MAX, "every task and event can be a choice");
static_assert(STEPS_DEFAULT <= STEPS_LIMIT, "default budget within the ceiling");
static_assert(TASKS_MAX <= 65535, "task ids fit the 16-bit trace field");
static_assert(CPUS_MAX <= 255, "cpu ids fit the 8-bit trace field");
static_assert(TASK_STACK_BYTES % 4096 == 0, "stacks are whole pages");
static_assert(STORE_BATCH_RUNS >= 1, "a batch holds at least one run");
static_assert(STORE_BATCH_BYTES >= 1024u * 1024u,
	      "a batch holds a long run's decision log");
static_assert(RUNNER_GROUPS_MAX >= FINDINGS_PER_RUN_MAX,
	      "one run's findings fit a campaign's summary");
static_assert(CLI_COMPARE_ROWS_MAX >= 3 + 6 + RUNNER_KINDS_MAX + 2 * 15 + 18 + 1,
	      "compare's table has a row for everything it can show");
static_assert(PCT_DEPTH_MAX >= 3, "the default PCT depth is within the limit");
static_assert(DFS_DEPTH_MAX >= 1024, "DFS covers at least the runs of small scenarios");
static_assert(SHRINK_REPLAYS_MAX <= SHRINK_REPLAYS_LIMIT, "the default replay budget is within the limit");
static_assert(CHECKERS_MAX >= 8, "the registry holds today's checkers and the ones to come");
static_assert(WHERE_NAME_MAX >= 32, "kernel function names fit");

#endif /* SIM_LIMITS_H */
