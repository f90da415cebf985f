/*
 * arena.h: the bump allocator that holds one schedule's world.  Reset, not
 * freed, between schedules; memory comes back zeroed.  Not for anything that
 * must outlive a schedule (campaign state lives in the analysis layer).
 */
#ifndef SIM_ARENA_H
#define SIM_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena {
	char *base;
	size_t reserved;	/* bytes of address space mapped */
	size_t used;		/* bytes handed out since the last reset */
	size_t high_water;	/* most ever used, for the benchmarks */
	size_t allocs;		/* allocations since the last reset */
};

bool arena_init(struct arena *a, size_t bytes);
void arena_fini(struct arena *a);
/* Zeroed, 16-byte aligned.  Asserts when the arena is exhausted: ARENA_BYTES
 * is sized far above any scenario, so running out is a bug, not an input. */
void *arena_alloc(struct arena *a, size_t size);
void arena_reset(struct arena *a);

#define arena_new(a, type) ((type *)arena_alloc((a), sizeof(type)))
#define arena_array(a, type, n) ((type *)arena_alloc((a), sizeof(type) * (n)))

#endif /* SIM_ARENA_H */
