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

#define SCENARIO_NAME_MAX 64
#define SCENARIO_DESCRIPTION_MAX 2048
#define SCENARIO_OPS_MAX 256		/* operations per task */
#define SCENARIO_VARIANTS_MAX 16
#define SCENARIO_EXPECT_MAX 16		/* finding kinds per expect list */
#define FINDING_KIND_MAX 24

enum op_kind {
	OP_SLEEP = 0,
	OP_KINDS_COUNT,
};

struct scenario_op {
	enum op_kind kind;
	union {
		struct {
			uint64_t ns;
		} sleep;
	} u;
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

struct scenario_variant {
	char name[SCENARIO_NAME_MAX];
	bool has_expect;
	uint32_t expect_count;		/* 0 with has_expect: no findings */
	char expect[SCENARIO_EXPECT_MAX][FINDING_KIND_MAX];
};

struct scenario {
	char name[SCENARIO_NAME_MAX];
	char description[SCENARIO_DESCRIPTION_MAX];
	uint32_t cpus;
	uint32_t tasks_count;
	struct scenario_task tasks[TASKS_MAX];
	struct scenario_explore explore;

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

#endif /* SIM_SCENARIO_H */
