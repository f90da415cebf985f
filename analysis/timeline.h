/*
 * timeline.h: the record of one replayed run that `simrun show`, `export`
 * and `report` draw: every step (time, CPU, task, what it did), what
 * happened inside the steps (locks taken, released and waited for, tasks
 * blocked, woken and ended, faults and I/O finished), the spans that make
 * slices (lock holds, lock waits, faults, I/O), the wake-ups as arrows from
 * waker to woken, and the run's findings.  Not the replay itself
 * (runner_replay_observed runs it) and not any output format (cli/).
 *
 * The recorder subscribes to the engine's, the lock layer's, vmstat's and
 * the block layer's hooks only for the one run it watches; it allocates as
 * it records, which is why campaigns never attach it.  Everything it keeps
 * outlives the run: names are copied, and `where` and lock class names are
 * the model's static strings.
 */
#ifndef SIM_TIMELINE_H
#define SIM_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/runner.h"
#include "engine/engine.h"
#include "mm/scenario_devices.h"

/* Steps, notes and slices one timeline keeps: ten times the longest run a
 * shipped scenario takes to its first finding.  A longer run is recorded
 * up to here and said to be truncated. */
#define TIMELINE_RECORDS_MAX 2000000u
/* Lanes (nesting levels that do not partially overlap) one task's slices
 * need: holds cross (mmap_lock dropped before the folio lock) but rarely
 * more than a few at once. */
#define TIMELINE_LANES_MAX 32u
/* Slices open at once in one lane: a task's held locks plus a fault and a
 * wait. */
#define TIMELINE_DEPTH_MAX (64u)

struct tl_step {
	uint64_t step;
	uint64_t start_ns;
	uint64_t end_ns;
	uint16_t task;			/* TRACE_NO_TASK for an event */
	uint8_t cpu;			/* 0 for events */
	uint16_t kind;			/* trace kind */
	uint32_t obj;
	uint64_t next_same_task;	/* the task's next step, or UINT64_MAX */
	bool marked;			/* one of the steps of a finding */
};

enum tl_note_kind {
	TL_ACQUIRED = 0,	/* a lock taken (or tried and taken) */
	TL_RELEASED,
	TL_WAIT,		/* started waiting for a lock */
	TL_WAIT_END,		/* done waiting (value: waited ns) */
	TL_BLOCK,		/* blocked on a wait queue that is no lock's */
	TL_WAKE,		/* woke `other` */
	TL_EXIT,
	TL_FAULT,		/* a fault finished (value: page) */
	TL_RETRY,		/* a fault will retry (where: who asked) */
	TL_IO,			/* an I/O request completed (value: io index) */
	TL_NOTE_KINDS_COUNT,
};

/* Something that happened inside a step, in the order it happened. */
struct tl_note {
	uint64_t step;
	uint64_t time_ns;
	uint16_t task;			/* who did it, TRACE_NO_TASK: an event */
	uint16_t other;			/* TL_WAKE: the task woken */
	uint8_t kind;			/* enum tl_note_kind */
	uint8_t mode;			/* enum lock_mode, locks only */
	bool trylock;
	const char *cls;		/* lock class name, locks only */
	uint32_t lock_id;
	const char *where;		/* model function, or NULL */
	uint64_t value;
};

enum tl_slice_kind {
	TL_SLICE_FAULT = 0,
	TL_SLICE_HOLD,
	TL_SLICE_WAIT,
};

/* A span of one task: a lock held or waited for, a fault. */
struct tl_slice {
	uint8_t kind;			/* enum tl_slice_kind */
	uint16_t task;
	uint16_t lane;			/* see timeline_lanes */
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t start_step;
	bool unfinished;		/* still held / waiting when the run ended */
	const char *cls;		/* locks */
	uint32_t lock_id;
	uint8_t mode;
	const char *where;		/* locks: where taken; faults: NULL */
	uint32_t fault_kind;		/* faults: enum fault_kind */
	uint64_t address;		/* faults: the page */
	uint32_t attempts;
	const void *lock;		/* while recording only */
};

/* One I/O request, submit to completion. */
struct tl_io {
	uint32_t device;		/* index into the timeline's devices */
	uint32_t seq;
	uint8_t op;			/* enum req_op */
	uint32_t nr_pages;
	uint64_t pgoff;
	uint16_t task;			/* submitter, TRACE_NO_TASK for none */
	uint64_t submit_ns;
	uint64_t start_ns;
	uint64_t complete_ns;
	uint64_t done_step;
};

/* A wake-up: from the waker's step to the woken task's next step. */
struct tl_flow {
	uint64_t from_step;
	uint16_t to_task;
	uint64_t to_step;		/* UINT64_MAX: the task never ran again */
};

struct timeline {
	struct run_result run;
	bool truncated;			/* hit TIMELINE_RECORDS_MAX */
	uint32_t cpus;
	uint32_t tasks_count;
	char task_names[TASKS_MAX][TASK_NAME_MAX];
	uint8_t task_cpu[TASKS_MAX];
	uint16_t task_lanes[TASKS_MAX];	/* lanes its slices use */
	uint32_t devices_count;
	uint32_t device_ids[DEVICES_MAX];
	char device_names[DEVICES_MAX][DEVICE_NAME_MAX];

	struct tl_step *steps;		/* steps[i].step == i */
	uint64_t steps_count;
	struct tl_note *notes;
	uint64_t notes_count;
	struct tl_slice *slices;
	uint64_t slices_count;
	struct tl_io *ios;
	uint64_t ios_count;
	struct tl_flow *flows;
	uint64_t flows_count;

	struct finding *findings;	/* the run's, as the checkers said */
	uint32_t findings_count;

	/* Recording state. */
	uint64_t steps_cap, notes_cap, slices_cap, ios_cap, flows_cap;
	bool nomem;
	struct engine *engine;
};

struct timeline *timeline_create(void);
void timeline_destroy(struct timeline *tl);

/* The observer that records into tl, for runner_replay_observed.  After
 * the replay tl holds the run: slices closed (unfinished ones at the run's
 * last time), lanes assigned, wake-ups resolved, findings copied.
 * tl->nomem says whether memory ran out while recording. */
struct runner_observer timeline_observer(struct timeline *tl);

/* "name/id" of a task, or "event" for TRACE_NO_TASK. */
const char *timeline_task_name(const struct timeline *tl, uint16_t task);

/* Mark step `step` as part of a finding (ignored past the end). */
void timeline_mark(struct timeline *tl, uint64_t step);
/* The last step task ran, or UINT64_MAX. */
uint64_t timeline_last_step(const struct timeline *tl, uint16_t task);
/* The latest note at or before step `before` of `task` whose kind is in
 * kinds_mask (1 << kind), with class `cls` and function `where` (NULL:
 * any); its step, or UINT64_MAX. */
uint64_t timeline_find_note(const struct timeline *tl, uint16_t task,
			    uint32_t kinds_mask, const char *cls,
			    const char *where, uint64_t before);

/* The text of a note for people: "mmap_lock#3 acquired (read) in
 * lock_mm_and_find_vma", "wakes writer/0", ... into buf. */
void timeline_note_text(const struct timeline *tl, const struct tl_note *n,
			char *buf, size_t len);

#endif /* SIM_TIMELINE_H */
