/*
 * switch_aarch64.S: coroutine switch for AArch64 (AAPCS64).  Saves only the
 * callee-saved registers: x19-x28, the frame pointer x29, the link register
 * x30 and the low halves of v8-v15 (d8-d15); sp lives in the context.
 * Resumes with `br x30` rather than `ret` so the return-address predictor is
 * not consulted for a return that crosses stacks.
 */
	.text

/* void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to) */
	.globl	sim_ctx_switch
	.type	sim_ctx_switch, %function
	.p2align 4
sim_ctx_switch:
	sub	sp, sp, #0xa0
	stp	x19, x20, [sp, #0x00]
	stp	x21, x22, [sp, #0x10]
	stp	x23, x24, [sp, #0x20]
	stp	x25, x26, [sp, #0x30]
	stp	x27, x28, [sp, #0x40]
	stp	x29, x30, [sp, #0x50]
	stp	d8,  d9,  [sp, #0x60]
	stp	d10, d11, [sp, #0x70]
	stp	d12, d13, [sp, #0x80]
	stp	d14, d15, [sp, #0x90]
	mov	x9, sp
	str	x9, [x0]
	ldr	x9, [x1]
	mov	sp, x9
	ldp	x19, x20, [sp, #0x00]
	ldp	x21, x22, [sp, #0x10]
	ldp	x23, x24, [sp, #0x20]
	ldp	x25, x26, [sp, #0x30]
	ldp	x27, x28, [sp, #0x40]
	ldp	x29, x30, [sp, #0x50]
	ldp	d8,  d9,  [sp, #0x60]
	ldp	d10, d11, [sp, #0x70]
	ldp	d12, d13, [sp, #0x80]
	ldp	d14, d15, [sp, #0x90]
	add	sp, sp, #0xa0
	br	x30
	.size	sim_ctx_switch, .-sim_ctx_switch

/*
 * First code a new coroutine runs: sim_ctx_make left the argument in x19 and
 * the entry function in x20.  The frame pointer is zero, ending backtraces.
 */
	.globl	sim_ctx_trampoline
	.type	sim_ctx_trampoline, %function
	.p2align 4
sim_ctx_trampoline:
	mov	x29, #0
	mov	x0, x19
	blr	x20
	brk	#0
	.size	sim_ctx_trampoline, .-sim_ctx_trampoline

	.section .note.GNU-stack,"",%progbits
