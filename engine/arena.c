/*
 * arena.c: one anonymous mapping, handed out front to back.  Reset zeroes
 * only what was used, so a small world costs little to rebuild.
 */
#include <string.h>
#include <sys/mman.h>

#include "engine/arena.h"
#include "engine/sim_assert.h"

bool arena_init(struct arena *a, size_t bytes)
{
	memset(a, 0, sizeof(*a));
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	a->base = p;
	a->reserved = bytes;
	return true;
}

void arena_fini(struct arena *a)
{
	if (a->base)
		munmap(a->base, a->reserved);
	memset(a, 0, sizeof(*a));
}

void *arena_alloc(struct arena *a, size_t size)
{
	size_t start = (a->used + 15) & ~(size_t)15;

	SIM_ASSERT(a->base != NULL);
	SIM_ASSERT(size <= a->reserved);
	SIM_ASSERT(start <= a->reserved - size);
	a->used = start + size;
	if (a->used > a->high_water)
		a->high_water = a->used;
	a->allocs++;
	return a->base + start;
}

void arena_reset(struct arena *a)
{
	SIM_ASSERT(a->used <= a->reserved);
	memset(a->base, 0, a->used);
	a->used = 0;
	a->allocs = 0;
}
