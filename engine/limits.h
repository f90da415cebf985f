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

/* Bytes of each coroutine stack, excluding its guard page.  The deepest model
 * path (a fault under tracing, formatting a line) uses well under 16 KiB;
 * sanitizers inflate frames several times, so their builds get more. */
#if defined(__SANITIZE_ADDRESS__)
#define TASK_STACK_BYTES (512u * 1024u)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TASK_STACK_BYTES (512u * 1024u)
#endif
#endif
#ifndef TASK_STACK_BYTES
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

/* Nesting of the JSON objects that findings carry as details: a finding is
 * an object of arrays of objects of small objects, four levels; 8 leaves
 * room. */
#define JSON_DEPTH_MAX 8u

static_assert(CHOICES_MAX == TASKS_MAX + EVENTS_MAX, "every task and event can be a choice");
static_assert(STEPS_DEFAULT <= STEPS_LIMIT, "default budget within the ceiling");
static_assert(TASKS_MAX <= 65535, "task ids fit the 16-bit trace field");
static_assert(CPUS_MAX <= 255, "cpu ids fit the 8-bit trace field");
static_assert(TASK_STACK_BYTES % 4096 == 0, "stacks are whole pages");
static_assert(PCT_DEPTH_MAX >= 3, "the default PCT depth is within the limit");
static_assert(DFS_DEPTH_MAX >= 1024, "DFS covers at least the runs of small scenarios");

#endif /* SIM_LIMITS_H */
