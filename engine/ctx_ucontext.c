/*
 * ctx_ucontext.c: the portable fallback switch, on glibc's swapcontext.
 * Some 50 times slower than the hand-written routines (it saves the signal
 * mask with a system call), so used only where neither routine exists.
 */
#include <stdint.h>

#include "engine/ctx.h"
#include "engine/sim_assert.h"

static void ucontext_entry(unsigned int lo, unsigned int hi, unsigned int flo,
			   unsigned int fhi)
{
	void *arg = (void *)(((uintptr_t)hi << 32) | lo);
	void (*entry)(void *) =
		(void (*)(void *))(((uintptr_t)fhi << 32) | flo);

	entry(arg);
	SIM_ASSERT(!"a coroutine entry returned");
}

void sim_ctx_make(struct sim_ctx *ctx, void *lo, size_t size,
		  void (*entry)(void *), void *arg)
{
	uintptr_t a = (uintptr_t)arg, f = (uintptr_t)entry;

	SIM_ASSERT(getcontext(&ctx->uc) == 0);
	ctx->uc.uc_stack.ss_sp = lo;
	ctx->uc.uc_stack.ss_size = size;
	ctx->uc.uc_link = NULL;
	makecontext(&ctx->uc, (void (*)(void))ucontext_entry, 4,
		    (unsigned int)a, (unsigned int)((uint64_t)a >> 32),
		    (unsigned int)f, (unsigned int)((uint64_t)f >> 32));
}

void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to)
{
	SIM_ASSERT(swapcontext(&from->uc, &to->uc) == 0);
}
