/*
 * test_stack.c: coroutine stacks (engine/stack.c) and what a task that runs
 * off its stack does to a campaign.  A task that recurses without end in
 * schedule 1 of 3 hits its guard page: that run ends with outcome
 * stack_overflow and a finding naming the task, it is recorded with its
 * decision log, the other two schedules run normally, and replaying the
 * recorded run gives the same finding and trace hash.  A clobbered canary
 * ends the run the same way.  A fault anywhere else is simrun's own bug:
 * the process prints the seed and exits with status 3 (in a forked child
 * whose stderr the test reads).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/store.h"
#include "engine/engine.h"
#include "tests/support.h"

static volatile uint64_t sink;
/* An address no mapping holds, hidden from the compiler's bounds checks. */
static volatile uintptr_t wild_addr = 16;

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

enum deep_kind { DEEP_NONE, DEEP_RECURSE, DEEP_CANARY, DEEP_WILD };

static void deep(void *arg)
{
	enum deep_kind k = (enum deep_kind)(uintptr_t)arg;

	sim_yield(TRACE_YIELD, 0);
	if (k == DEEP_RECURSE)
		sink = recurse(0);
	if (k == DEEP_CANARY)	/* what a frame reaching the last word does */
		*(volatile uint64_t *)sim_current()->stack->lo = 0;
	if (k == DEEP_WILD)	/* not a stack at all: simrun's own bug */
		*(volatile uint64_t *)wild_addr = 1;
	sim_yield(TRACE_YIELD, 0);
}

static void shallow(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		sim_yield(TRACE_YIELD, 0);
}

static void build_deep(struct engine *e, void *arg)
{
	task_create(e, "deep", 0, deep, arg);
	task_create(e, "shallow", 0, shallow, NULL);
}

static const struct finding *overflow_finding(const struct engine *e)
{
	cr_assert_eq(test_findings_count(e, "stack_overflow"), 1);
	return test_finding(e, "stack_overflow", 0);
}

Test(stack, overflow_ends_only_its_run_and_replays)
{
	char dir[64], path[128], err[512];
	struct store *st;
	int64_t campaign, run_id;
	uint64_t base = 424242, sig = 0, hash = 0;

	test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/simrun.db", dir);
	cr_assert_eq(store_open(path, NULL, &st, err, sizeof(err)), STORE_OK, "%s", err);
	struct store_campaign c = { .scenario_name = "deep", .scenario_json = "{}",
				    .scenario_json_len = 2, .strategy = "random",
				    .base_seed = base, .schedules = 3 };
	cr_assert_eq(store_campaign_begin(st, &c, &campaign), STORE_OK);

	struct engine *e = test_engine(1);
	char serr[128];
	struct strategy *s = strategy_create(&(struct strategy_params){ .kind = STRATEGY_RANDOM },
					     serr, sizeof(serr));
	cr_assert_not_null(s, "%s", serr);
	for (uint64_t i = 0; i < 3; i++) {
		enum run_outcome o;
		uint64_t seed = sim_run_seed(base, i);
		test_run_with(e, s, seed, i, build_deep,
			      (void *)(uintptr_t)(i == 1 ? DEEP_RECURSE : DEEP_NONE), &o);
		if (i == 1) {
			cr_assert_eq(o, RUN_STACK_OVERFLOW, "outcome %s", run_outcome_name(o));
			const struct finding *f = overflow_finding(e);
			cr_expect(strstr(f->summary, "task deep (id 0)") != NULL, "%s", f->summary);
			cr_expect(strstr(f->summary, "guard page") != NULL, "%s", f->summary);
			cr_expect(strstr(f->detail, "\"caught_by\":\"guard_page\"") != NULL, "%s",
				  f->detail);
			cr_expect_eq(f->task, 0);
			sig = f->signature;
			hash = engine_trace_hash(e);
		} else {
			cr_assert_eq(o, RUN_OK, "schedule %llu: %s", (unsigned long long)i,
				     run_outcome_name(o));
			cr_assert_eq(e->findings_count, 0);
		}
		struct run_result r = { .index = i, .seed = seed, .outcome = o,
					.steps = e->steps, .decisions = e->decisions_count,
					.virtual_ns = e->virtual_ns,
					.trace_hash = engine_trace_hash(e) };
		struct store_run sr;
		store_run_fill(&sr, &r, e);
		cr_assert_eq(store_run_add(st, campaign, &sr, e->findings, e->findings_count),
			     STORE_OK, "%s", store_error(st));
	}
	strategy_destroy(s);
	cr_assert_eq(store_campaign_end(st, campaign, STORE_DONE), STORE_OK);

	/* Run 1 is recorded as a problem run, with its decision log. */
	struct store_run_info info;
	cr_assert_eq(store_find_run(st, campaign, 1, &run_id), STORE_OK);
	cr_assert_eq(store_load_run(st, run_id, &info), STORE_OK);
	cr_expect_eq(info.outcome, RUN_STACK_OVERFLOW);
	cr_assert(info.has_decisions);
	cr_assert_eq(info.findings_count, 1);
	cr_expect_str_eq(info.findings[0].kind, "stack_overflow");
	cr_expect_eq(info.findings[0].signature, sig);

	/* Replayed, it overflows again, the same way. */
	s = strategy_create(&(struct strategy_params){ .kind = STRATEGY_REPLAY,
						       .replay_log = info.decisions,
						       .replay_len = info.decisions_len },
			    serr, sizeof(serr));
	cr_assert_not_null(s, "%s", serr);
	enum run_outcome o;
	test_run_with(e, s, info.seed, 0, build_deep, (void *)(uintptr_t)DEEP_RECURSE, &o);
	cr_expect_eq(o, RUN_STACK_OVERFLOW);
	cr_expect_eq(overflow_finding(e)->signature, sig);
	cr_expect_eq(engine_trace_hash(e), hash);
	cr_expect_not(strategy_diverged(s, NULL));
	strategy_destroy(s);
	store_run_info_free(&info);
	cr_assert_eq(store_close(st, err, sizeof(err)), STORE_OK, "%s", err);
	test_rmtree(dir);

	/* The stack it overflowed is handed out again and works. */
	engine_end(e);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 7, build_deep, (void *)(uintptr_t)DEEP_NONE),
		     RUN_OK);
	test_engine_done(e);
}

Test(stack, a_clobbered_canary_ends_the_run)
{
	struct engine *e = test_engine(1);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 5, build_deep, (void *)(uintptr_t)DEEP_CANARY),
		     RUN_STACK_OVERFLOW);
	const struct finding *f = overflow_finding(e);
	cr_expect(strstr(f->summary, "canary") != NULL, "%s", f->summary);
	cr_expect(strstr(f->detail, "\"caught_by\":\"canary\"") != NULL, "%s", f->detail);
	engine_end(e);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 5, build_deep, (void *)(uintptr_t)DEEP_NONE),
		     RUN_OK);
	test_engine_done(e);
}

Test(stack, a_fault_elsewhere_is_exit_3_with_the_seed)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		struct engine *e = test_engine(1);
		test_run(e, STRATEGY_TIMED, 424242, build_deep, (void *)(uintptr_t)DEEP_WILD);
		_exit(0);
	}
	close(fds[1]);
	char buf[8192] = { 0 };
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(buf) - 1 &&
	       (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	int status;
	waitpid(pid, &status, 0);
	cr_assert(strstr(buf, "simrun: internal error: segmentation fault at 0x0000000000000010") != NULL,
		  "stderr: %s", buf);
	cr_assert(strstr(buf, "seed 424242") != NULL, "stderr: %s", buf);
	cr_assert(strstr(buf, "task deep") != NULL, "stderr: %s", buf);
#ifndef SIM_ASAN
	/* Under AddressSanitizer its own reporter takes the fault next and
	 * exits its own way. */
	cr_assert(WIFEXITED(status), "child died by signal %d",
		  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert_eq(WEXITSTATUS(status), 3, "stderr: %s", buf);
#endif
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
