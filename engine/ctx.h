/*
 * ctx.h: the coroutine context switch.  A context is the stack pointer of a
 * suspended coroutine; everything else it needs (the callee-saved registers
 * and the address to resume at) was pushed on its own stack by the switch.
 * Not a scheduler: engine/task.c decides who runs, this only moves the CPU.
 */
#ifndef SIM_CTX_H
#define SIM_CTX_H

#include <stddef.h>

#if defined(SIMRUN_SWITCH_UCONTEXT)
#include <ucontext.h>
struct sim_ctx {
	ucontext_t uc;
};
#else
struct sim_ctx {
	void *sp;
};
#endif

/*
 * Save the callee-saved registers of the caller on its stack, record its
 * stack pointer in *from, and resume *to.  Returns when something switches
 * back to *from.  The hand-written versions resume with an indirect jump, not
 * `ret`, so the return-stack predictor is not trained on a stack that is then
 * swapped under it.
 */
void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to);

/*
 * Prepare *ctx so that the first switch to it calls entry(arg) on the stack
 * [lo, lo + size).  entry must never return: a finished coroutine switches
 * away for the last time.
 */
void sim_ctx_make(struct sim_ctx *ctx, void *lo, size_t size,
		  void (*entry)(void *), void *arg);

#endif /* SIM_CTX_H */
