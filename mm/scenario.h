/*
 * scenario.h: a scenario as the model sees it, frozen after loading.  The
 * loader (scenario.c) turns JSON into this struct, applying the selected
 * variant's overrides first; every error names its JSON path.  Not the
 * world: world.c builds a fresh world from this for each schedule.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/limits.h"
#include "mm/knobs.h"
#include "mm/scenario_devices.h"

#define SCENARIO_NAME_MAX 64
#define SCENARIO_DESCRIPTION_MAX 2048
#define SCENARIO_OPS_MAX 256		/* operations per task */
#define SCENARIO_VARIANTS_MAX 16
#define SCENARIO_EXPECT_MAX 16		/* finding kinds per expect list */
#define FINDING_KIND_MAX 24
#define SCENARIO_OBJ_NAME_MAX 32	/* names of files and VMAs */
#define SCENARIO_RANGES_MAX 16		/* ranges in one cached/populated list */
#define SCENARIO_FILES_MAX 8		/* = FILES_MAX of mm/types.h */
#define SCENARIO_VMAS_MAX 96		/* = VMA_STRUCTS_MAX: initial + mmap ops */
#define SCENARIO_PAGE_NUMBER_MAX (1ull << 52)	/* page numbers in ranges:
						 * a 64-bit address space */
#define SCENARIO_FILE_BYTES_MAX (1u << 20)	/* a scenario file; real ones
						 * are a few KiB */
#define SCENARIO_JSON_DEPTH_MAX 16	/* nesting of JSON values; real
					 * scenarios nest 7 deep */
#define SCENARIO_OBJECT_KEYS_MAX 256	/* keys of one JSON object */
#define SCENARIO_WRITE_PAGES_MAX 32	/* pages of one write op: one fuse
					 * request (FUSE_WRITE_PAGES_MAX) */

enum op_kind {
	OP_SLEEP = 0,
	OP_FAULT,
	OP_WRITE,
	OP_MMAP,
	OP_MUNMAP,
	OP_MPROTECT,
	OP_RECLAIM,
	OP_TRUNCATE,
	OP_STORE,
	OP_GUP_WRITE,
	OP_MIGRATE,
	OP_PUNCH_HOLE,
	OP_KINDS_COUNT,
};

struct scenario_op {
	enum op_kind kind;
	union {
		struct {
			uint64_t ns;
		} sleep;
		struct {
			uint64_t address;	/* page number */
			bool write;
			bool user;		/* from user mode (default) */
		} fault;
		struct {
			uint32_t file;		/* index in files[] */
			uint64_t index;		/* file page */
			uint32_t pages;
			uint64_t src;		/* source address (page) */
		} write;
		struct {
			uint32_t vma;		/* index in vmas[] */
		} mmap;
		struct {
			uint64_t start;		/* page */
			uint64_t pages;
			bool write;		/* mprotect: PROT_WRITE or not */
		} range;
		struct {
			uint32_t nr_to_scan;
			uint8_t target;		/* enum reclaim_target */
			bool kswapd;
			bool ignore_references;
			bool wait_writeback;
			bool filtered;
			uint64_t anon_first, anon_end;	/* addresses */
			int32_t file;		/* index in files[], or -1 */
			uint64_t file_first, file_end;	/* file pages */
		} reclaim;
		struct {
			uint32_t file;		/* index in files[] */
			uint64_t size_bytes;
		} truncate;
		struct {
			uint32_t file;		/* index in files[] */
			uint64_t index;		/* first page */
			uint64_t pages;
		} punch;
		struct {
			uint64_t address;	/* page number */
			uint64_t hold_ns;	/* gup_write */
		} access;		/* store, gup_write, migrate */
	} u;
};

/* [first, end) in pages. */
struct scenario_range {
	uint64_t first;
	uint64_t end;
};

struct scenario_file {
	char name[SCENARIO_OBJ_NAME_MAX];
	uint64_t size_bytes;
	uint32_t cached_count;
	struct scenario_range cached[SCENARIO_RANGES_MAX];
	bool thp;			/* cached aligned 2 MiB runs are THPs */
	bool fuse;			/* write() takes the fuse path */
	bool no_map_pages;		/* vm_ops without ->map_pages */
	uint64_t read_latency_ns;	/* without a device */
	int32_t device;			/* index in devices, or -1 */
};

enum scenario_vma_kind {
	VMA_KIND_ANON = 0,
	VMA_KIND_FILE_PRIVATE,
	VMA_KIND_FILE_SHARED,
	VMA_KINDS_COUNT,
};

struct scenario_vma {
	char name[SCENARIO_OBJ_NAME_MAX];
	uint64_t start;			/* page */
	uint64_t pages;
	enum scenario_vma_kind kind;
	int32_t file;			/* index in files[], -1 for anon */
	uint64_t pgoff;
	bool anon_vma;
	bool thp;
	bool write;			/* PROT_WRITE (default true) */
	bool at_start;			/* in the world from the start, or
					 * made by an mmap op */
	uint32_t populated_count;
	struct scenario_range populated[SCENARIO_RANGES_MAX];
	/* Anonymous pages swapped out before the run (PTE swap entries),
	 * those of them still in the swap cache, and pages in device
	 * memory (device-private entries). */
	uint32_t swapped_count;
	struct scenario_range swapped[SCENARIO_RANGES_MAX];
	uint32_t swapcache_count;
	struct scenario_range swapcache[SCENARIO_RANGES_MAX];
	uint32_t device_private_count;
	struct scenario_range device_private[SCENARIO_RANGES_MAX];
};

struct scenario_task {
	char name[TASK_NAME_MAX];
	uint16_t cpu;
	uint32_t ops_count;
	struct scenario_op ops[SCENARIO_OPS_MAX];
};

/* Exploration settings: the defaults of a campaign, overridden by the
 * command line. */
struct scenario_explore {
	char strategy[16];		/* "timed", "random", "pct", "dfs" */
	uint64_t schedules;
	uint32_t pct_depth;
	uint32_t preemptions;		/* dfs bound; UINT32_MAX for none */
	uint64_t steps_max;
	uint64_t virtual_ns_max;
};

/* Checker settings (analysis/checkers.h's struct checker_settings): 0
 * keeps the checker's default. */
struct scenario_checks {
	uint64_t hung_task_timeout_ns;	/* default 120 s */
	uint32_t fault_retries_max;	/* default 16 */
};

struct scenario_variant {
	char name[SCENARIO_NAME_MAX];
	bool has_expect;
	uint32_t expect_count;		/* 0 with has_expect: no findings */
	char expect[SCENARIO_EXPECT_MAX][FINDING_KIND_MAX];
};

struct scenario {
	char name[SCENARIO_NAME_MAX];
	char description[SCENARIO_DESCRIPTION_MAX];
	/* The metric the scenario is about (a histogram or counter name of
	 * analysis/metrics.h), for `simrun check --table`; empty: fault p99.
	 * The loader cannot know metric names (they live above it); the
	 * command line checks it. */
	char headline[SCENARIO_NAME_MAX];
	uint32_t cpus;
	uint32_t tasks_count;
	struct scenario_task tasks[TASKS_MAX];
	struct scenario_explore explore;
	struct scenario_checks checks;
	struct scenario_devices devices;	/* devices, swap */

	/* The kernel model: variants, files, mappings. */
	struct kernel_knobs knobs;
	uint32_t files_count;
	struct scenario_file files[SCENARIO_FILES_MAX];
	uint32_t vmas_count;
	struct scenario_vma vmas[SCENARIO_VMAS_MAX];

	/* Every variant the file declares; `variant` is the one applied
	 * (empty for the base scenario). */
	uint32_t variants_count;
	struct scenario_variant variants[SCENARIO_VARIANTS_MAX];
	char variant[SCENARIO_NAME_MAX];
	/* The top-level `expect` list, for the base scenario (name ""). */
	struct scenario_variant base;

	/* The file as read, byte for byte, for the result database. */
	char *json_text;
	size_t json_len;
};

/*
 * Load a scenario file, applying variant `variant` (NULL or "" for the base
 * scenario).  Returns NULL with a message in err ("PATH: what was expected")
 * on any input error.
 */
struct scenario *scenario_load_file(const char *path, const char *variant,
				    char *err, size_t err_len);
/* The same from text already in memory (the database's copy); `origin`
 * names it in messages. */
struct scenario *scenario_load_text(const char *text, size_t len,
				    const char *origin, const char *variant,
				    char *err, size_t err_len);
void scenario_free(struct scenario *s);

const struct scenario_variant *scenario_find_variant(const struct scenario *s,
						     const char *name);

/* Name lookups; -1 when there is none. */
int scenario_file_index(const struct scenario *s, const char *name);
int scenario_vma_index(const struct scenario *s, const char *name);

#endif /* SIM_SCENARIO_H */
