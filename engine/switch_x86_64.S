/*
 * switch_x86_64.S: coroutine switch for x86-64 System V.  Saves only the
 * callee-saved registers (rbx, rbp, r12-r15; rsp in the context) and resumes
 * with `pop; jmp *` rather than `ret`.  MXCSR and the x87 control word are
 * callee-saved too, but nothing in simrun changes them, so they are not moved.
 */
	.text

/* void sim_ctx_switch(struct sim_ctx *from, struct sim_ctx *to) */
	.globl	sim_ctx_switch
	.type	sim_ctx_switch, @function
	.p2align 4
sim_ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	popq	%rcx
	jmpq	*%rcx
	.cfi_endproc
	.size	sim_ctx_switch, .-sim_ctx_switch

/*
 * First code a new coroutine runs: sim_ctx_make left the entry function in
 * r13 and its argument in r12.  Align the stack as a call site must be, call
 * entry, and trap if it ever returns.
 */
	.globl	sim_ctx_trampoline
	.type	sim_ctx_trampoline, @function
	.p2align 4
sim_ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	andq	$-16, %rsp
	callq	*%r13
	ud2
	.cfi_endproc
	.size	sim_ctx_trampoline, .-sim_ctx_trampoline

	.section .note.GNU-stack,"",@progbits
