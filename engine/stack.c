/*
 * stack.c: coroutine stacks from one mapping, each above a guard page.
 * Layout, low to high: [guard][stack 0][guard][stack 1]...  A task that runs
 * off the bottom of its stack touches its guard page; the SIGSEGV handler
 * below hands the address to the engine, which ends that run with a
 * stack_overflow finding (engine/task.c, task_guard_hit).  Any other fault
 * is simrun's own bug: the handler prints it with the task, step and seed,
 * and exits with status 3.  Not the engine's bookkeeping of runs.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/limits.h"
#include "engine/sim_assert.h"
#include "engine/stack.h"

#if defined(SIM_ASAN)
#include <sanitizer/asan_interface.h>
#endif

/* Built with SIMRUN_VALGRIND (the default) where valgrind's header is
 * installed, each stack is registered with valgrind, so memcheck takes a
 * switch to it for a stack switch and not for a wild stack pointer.  Out
 * of valgrind, the requests are a few instructions that do nothing. */
#if defined(SIM_VALGRIND) && defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SIM_VALGRIND_STACKS 1
#endif
#endif

#define GUARD_BYTES 4096u

static struct stack_pool *guarded_pool;
static size_t (*guard_describe)(char *buf, size_t len);
static void (*guard_recover)(const void *addr);
static struct sigaction old_segv;
static char alt_stack[64 * 1024];

bool stack_pool_init(struct stack_pool *p, uint32_t count)
{
	size_t stride = GUARD_BYTES + TASK_STACK_BYTES;

	SIM_ASSERT(count > 0 && count <= TASKS_MAX);
	memset(p, 0, sizeof(*p));
	p->map_bytes = stride * count;
	p->base = mmap(NULL, p->map_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		return false;
	}
	p->stacks = calloc(count, sizeof(*p->stacks));
	if (!p->stacks) {
		munmap(p->base, p->map_bytes);
		p->base = NULL;
		errno = ENOMEM;
		return false;
	}
	p->count = count;
	for (uint32_t i = 0; i < count; i++) {
		char *guard = (char *)p->base + i * stride;
		if (mprotect(guard, GUARD_BYTES, PROT_NONE) != 0) {
			stack_pool_fini(p);
			return false;
		}
		p->stacks[i].lo = guard + GUARD_BYTES;
		p->stacks[i].size = TASK_STACK_BYTES;
		p->stacks[i].index = i;
#if defined(SIM_VALGRIND_STACKS)
		p->stacks[i].valgrind_id = VALGRIND_STACK_REGISTER(
			p->stacks[i].lo, (char *)p->stacks[i].lo + TASK_STACK_BYTES);
#endif
	}
	return true;
}

void stack_pool_fini(struct stack_pool *p)
{
	if (guarded_pool == p)
		guarded_pool = NULL;
#if defined(SIM_VALGRIND_STACKS)
	for (uint32_t i = 0; p->stacks && i < p->count; i++)
		if (p->stacks[i].valgrind_id)
			VALGRIND_STACK_DEREGISTER(p->stacks[i].valgrind_id);
#endif
	if (p->base)
		munmap(p->base, p->map_bytes);
	free(p->stacks);
	memset(p, 0, sizeof(*p));
}

struct stack *stack_get(struct stack_pool *p)
{
	/* Lowest free index first, so which stack a task gets is a function
	 * of the schedule alone. */
	for (uint32_t i = 0; i < p->count; i++) {
		struct stack *s = &p->stacks[i];
		if (!s->in_use) {
			s->in_use = true;
			p->in_use++;
#if defined(SIM_ASAN)
			/* A coroutine abandoned mid-frame (a run that ended
			 * in deadlock) leaves its redzones poisoned. */
			__asan_unpoison_memory_region(s->lo, s->size);
#endif
			stack_canary_set(s);
			return s;
		}
	}
	return NULL;
}

void stack_put(struct stack_pool *p, struct stack *s)
{
	SIM_ASSERT(s->in_use);
	SIM_ASSERT(p->in_use > 0);
	s->in_use = false;
	p->in_use--;
}

static void write_all(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

bool stack_guard_index(const struct stack_pool *p, const void *addr,
		       uint32_t *index)
{
	uintptr_t a = (uintptr_t)addr, base = (uintptr_t)p->base;
	size_t stride = GUARD_BYTES + TASK_STACK_BYTES;

	if (!p->base || a < base || a >= base + p->map_bytes ||
	    (a - base) % stride >= GUARD_BYTES)
		return false;
	*index = (uint32_t)((a - base) / stride);
	return true;
}

static void write_hex(uintptr_t v)
{
	char buf[2 + 16];
	int n = 0;

	buf[n++] = '0';
	buf[n++] = 'x';
	for (int shift = 60; shift >= 0; shift -= 4)
		buf[n++] = "0123456789abcdef"[(v >> shift) & 15];
	write_all(buf, (size_t)n);
}

static void segv_handler(int sig, siginfo_t *info, void *uctx)
{
	struct stack_pool *p = guarded_pool;
	uint32_t index;
	char buf[512];
	size_t n = 0;

	if (guard_recover)
		guard_recover(info->si_addr);	/* returns only when it cannot */
	if (p && stack_guard_index(p, info->si_addr, &index)) {
		static const char head[] =
			"simrun: stack overflow outside a task step: the guard page below a task's stack was hit ";
		write_all(head, sizeof(head) - 1);
	} else {
		static const char head[] =
			"simrun: internal error: segmentation fault at ";
		write_all(head, sizeof(head) - 1);
		write_hex((uintptr_t)info->si_addr);
		write_all(" ", 1);
	}
	if (guard_describe)
		n = guard_describe(buf, sizeof(buf));
	write_all(buf, n);
	write_all("\n", 1);
	/* Hand the fault to whoever had it before (the sanitizer's reporter
	 * says more); without one, exit as an internal error. */
	if ((old_segv.sa_flags & SA_SIGINFO) && old_segv.sa_sigaction) {
		old_segv.sa_sigaction(sig, info, uctx);
		return;
	}
	if (old_segv.sa_handler != SIG_DFL && old_segv.sa_handler != SIG_IGN &&
	    old_segv.sa_handler != NULL) {
		old_segv.sa_handler(sig);
		return;
	}
	_exit(3);
}

void stack_guard_install(struct stack_pool *p,
			 size_t (*describe)(char *buf, size_t len),
			 void (*recover)(const void *addr))
{
	static bool installed;
	guarded_pool = p;
	guard_describe = describe;
	guard_recover = recover;
	if (installed)
		return;
	stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof(alt_stack) };
	SIM_ASSERT(sigaltstack(&ss, NULL) == 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	SIM_ASSERT(sigaction(SIGSEGV, &sa, &old_segv) == 0);
	installed = true;
}
