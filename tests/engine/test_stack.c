/*
 * test_stack.c: coroutine stacks (engine/stack.c).  A task that recurses
 * until it overflows must be stopped by the guard page and reported with
 * the run's seed and exit status 3, not crash silently.  The overflow runs
 * in a forked child whose stderr the test reads.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "tests/support.h"

static volatile uint64_t sink;

/* Recursion without a base case the compiler can see: the limit is a
 * volatile it cannot prove is never reached. */
static volatile uint64_t depth_limit = UINT64_MAX;

static uint64_t recurse(uint64_t depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	pad[511] = (char)(depth >> 8);
	sink += pad[0];
	if (depth >= depth_limit)
		return 0;
	return recurse(depth + 1) + pad[511];
}

static void overflower(void *arg)
{
	(void)arg;
	sim_yield(TRACE_YIELD, 0);
	sink = recurse(0);
}

static void build_overflow(struct engine *e, void *arg)
{
	(void)arg;
	task_create(e, "deep", 0, overflower, NULL);
}

Test(stack, overflow_is_caught_by_the_guard_page)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		struct engine *e = test_engine(1);
		test_run(e, STRATEGY_TIMED, 424242, build_overflow, NULL);
		_exit(0);
	}
	close(fds[1]);
	char buf[1024] = { 0 };
	size_t got = 0;
	ssize_t n;
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st), "child died by signal %d",
		  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), 3, "stderr: %s", buf);
	cr_assert(strstr(buf, "stack overflow") != NULL, "stderr: %s", buf);
	cr_assert(strstr(buf, "seed 424242") != NULL, "stderr: %s", buf);
	cr_assert(strstr(buf, "deep") != NULL, "stderr: %s", buf);
}

Test(stack, pool_hands_out_guarded_stacks)
{
	struct stack_pool p;
	cr_assert(stack_pool_init(&p, 4));
	struct stack *s[4];
	for (int i = 0; i < 4; i++) {
		s[i] = stack_get(&p);
		cr_assert_not_null(s[i]);
		cr_assert(stack_canary_ok(s[i]));
	}
	cr_assert_null(stack_get(&p));
	*(uint64_t *)s[2]->lo = 0;
	cr_assert_not(stack_canary_ok(s[2]));
	for (int i = 0; i < 4; i++)
		stack_put(&p, s[i]);
	cr_assert_eq(p.in_use, 0);
	stack_pool_fini(&p);
}
