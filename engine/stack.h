/*
 * stack.h: the pool of coroutine stacks, allocated once per process.  Each
 * stack sits above a PROT_NONE guard page and carries a canary in its lowest
 * word; an overflow that reaches either ends the run with a stack_overflow
 * finding (engine/task.c), and a fault anywhere else stops simrun with the
 * run's seed.
 * Not an allocator for anything else.
 */
#ifndef SIM_STACK_H
#define SIM_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack {
	void *lo;		/* lowest usable byte (the canary lives here) */
	size_t size;		/* usable bytes, guard page excluded */
	uint32_t index;
	bool in_use;
	unsigned valgrind_id;	/* VALGRIND_STACK_REGISTER's, or 0 */
};

struct stack_pool {
	void *base;		/* the whole mapping, guards included */
	size_t map_bytes;
	uint32_t count;
	uint32_t in_use;
	struct stack *stacks;
};

/* Map `count` stacks of TASK_STACK_BYTES; returns false (errno set) when the
 * mapping fails. */
bool stack_pool_init(struct stack_pool *p, uint32_t count);
void stack_pool_fini(struct stack_pool *p);
struct stack *stack_get(struct stack_pool *p);
void stack_put(struct stack_pool *p, struct stack *s);

/* Write the canary and check it; a clobbered canary is a stack overflow
 * that skipped the guard page (a frame larger than a page). */
#define STACK_CANARY 0x53494d52554e2121ull

static inline void stack_canary_set(struct stack *s)
{
	*(volatile uint64_t *)s->lo = STACK_CANARY ^ s->index;
}

static inline bool stack_canary_ok(const struct stack *s)
{
	return *(volatile const uint64_t *)s->lo == (STACK_CANARY ^ s->index);
}

/* True when addr lies in the guard page below one of p's stacks; *index is
 * that stack's.  Arithmetic only: callable from a signal handler. */
bool stack_guard_index(const struct stack_pool *p, const void *addr,
		       uint32_t *index);

/*
 * Install the SIGSEGV handler (on its own signal stack).  It first offers
 * the fault address to `recover`, which does not return when it can end
 * the run in progress (a task that ran off its stack); when it returns,
 * the fault is simrun's own bug: the handler prints what it was (a guard
 * page of p hit outside a task step, or any other address) with what
 * `describe` writes (task, step and seed), then hands the fault to the
 * handler installed before it (a sanitizer's) or exits with status 3.
 * Both callbacks must be async-signal-safe.
 */
void stack_guard_install(struct stack_pool *p,
			 size_t (*describe)(char *buf, size_t len),
			 void (*recover)(const void *addr));

#endif /* SIM_STACK_H */
