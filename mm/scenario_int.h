/*
 * scenario_int.h: private to the scenario loader (scenario.c and the
 * section readers beside it, one file per group of sections).  Nothing
 * outside the loader includes it.
 */
#ifndef SIM_SCENARIO_INT_H
#define SIM_SCENARIO_INT_H

#include "mm/jread.h"
#include "mm/scenario.h"

/* scenario_world.c: the `kernel`, `files` and `vmas` sections, and the
 * VMAs that tasks' mmap operations create (read before any task, so that
 * every operation can name every VMA). */
bool scenario_read_world(struct jread *r, const cJSON *doc,
			 struct scenario *s);
/* One operation other than sleep, whose name is body->string; the path
 * already ends at the operation's name. */
bool scenario_read_mm_op(struct jread *r, const cJSON *body,
			 struct scenario *s, struct scenario_op *op);

/* The operation names scenario_read_mm_op understands. */
extern const char *const scenario_mm_op_names[];

#endif /* SIM_SCENARIO_INT_H */
