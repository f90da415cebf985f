/*
 * ctx_asm.c: builds the first frame of a coroutine for the hand-written
 * switch routines (switch_x86_64.S, switch_aarch64.S).  The frame is exactly
 * what sim_ctx_switch pops, so the first switch "returns" into the trampoline.
 */
#include <stdint.h>
#include <string.h>

#include "engine/ctx.h"
#include "engine/sim_assert.h"

void sim_ctx_trampoline(void);

void sim_ctx_make(struct sim_ctx *ctx, void *lo, size_t size,
		  void (*entry)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;

	SIM_ASSERT(size >= 4096);
	SIM_ASSERT(entry != NULL);
#if defined(__x86_64__)
	/* Popped in this order: r15 r14 r13 r12 rbx rbp, then the resume
	 * address; one zero word above keeps a debugger's unwind finite. */
	uint64_t *sp = (uint64_t *)top - 8;
	memset(sp, 0, 8 * sizeof(*sp));
	sp[2] = (uint64_t)(uintptr_t)entry;	/* r13 */
	sp[3] = (uint64_t)(uintptr_t)arg;	/* r12 */
	sp[6] = (uint64_t)(uintptr_t)sim_ctx_trampoline;
	ctx->sp = sp;
#elif defined(__aarch64__)
	/* 0xa0 bytes: x19..x28, x29, x30, d8..d15, as sim_ctx_switch lays
	 * them out. */
	uint64_t *sp = (uint64_t *)(top - 0xa0);
	memset(sp, 0, 0xa0);
	sp[0] = (uint64_t)(uintptr_t)arg;	/* x19 */
	sp[1] = (uint64_t)(uintptr_t)entry;	/* x20 */
	sp[11] = (uint64_t)(uintptr_t)sim_ctx_trampoline; /* x30 */
	ctx->sp = sp;
#else
#error "ctx_asm.c is built only for x86-64 and AArch64"
#endif
}
