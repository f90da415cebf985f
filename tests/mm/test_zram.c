/*
 * test_zram.c: the zram device of mm/zram.c.  A task reads and writes
 * through it and records its clock, its step count and whether end_io ran
 * before blk_submit returned; an engine hook counts the task's blocks.
 * Checks that a zram request costs the submitting task CPU time (sim_now
 * advances by exactly the drawn cost, the sum of per-page costs), does not
 * block or even end the step, completes inline in task context, and draws
 * reads and writes from the compressor's distributions (lz4 and zstd
 * defaults, and an override).  Submitting to zram from an event, which has
 * no CPU to charge, is a model error.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mm/vmstat.h"
#include "mm/world.h"
#include "mm/zram.h"
#include "tests/support.h"

static struct block_device *zdev;
static enum zram_comp comp;
static const struct latency_spec *override;
static uint32_t pages;
static enum req_op op;

static uint64_t now_before, now_after, steps_before, steps_after;
static uint64_t service_ns, end_io_now;
static bool done_inline, done_in_task;
static uint32_t blocks;

static void end_io(const struct blk_request *rq)
{
	done_inline = true;
	done_in_task = sim_current() != NULL;
	service_ns = rq->service_ns;
	end_io_now = sim_now();
	cr_assert_eq(rq->complete_ns, rq->start_ns + rq->service_ns);
}

static void on_block(void *ctx, struct task *t, struct waitq *wq)
{
	(void)ctx;
	(void)t;
	(void)wq;
	blocks++;
}

static void zram_user(void *arg)
{
	struct task *t = sim_current();

	(void)arg;
	sim_cost(100);		/* the step already did something */
	now_before = sim_now();
	steps_before = t->steps;
	blk_submit(zdev, op, 3, pages, end_io, NULL);
	cr_assert(done_inline, "zram completes before blk_submit returns");
	now_after = sim_now();
	steps_after = t->steps;
}

static void build_zram(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	done_inline = done_in_task = false;
	blocks = 0;
	zdev = zram_create(&e->arena, "zram0", comp, override, override);
	mm_task_create(e, "faulter", 0, zram_user, NULL);
}

static struct engine_hooks block_hook = { .ctx = &blocks, .block = on_block };

static void run_zram(uint64_t seed)
{
	struct engine *e = test_engine(1);

	cr_assert(engine_subscribe(e, &block_hook));
	cr_assert_eq(test_run(e, STRATEGY_TIMED, seed, build_zram, NULL),
		     RUN_OK);
	cr_assert(done_in_task, "completion ran in the submitter's context");
	cr_assert_eq(blocks, 0, "zram never blocks");
	cr_assert_eq(steps_after, steps_before,
		     "zram does not even end the step");
	cr_assert_eq(now_after - now_before, service_ns,
		     "the clock advances by the cost: %llu vs %llu",
		     (unsigned long long)(now_after - now_before),
		     (unsigned long long)service_ns);
	cr_assert_eq(end_io_now, now_after);
	cr_assert_eq(vm_events(IO_SUBMITTED), 1);
	cr_assert_eq(vm_events(IO_COMPLETED), 1);
	struct zram *z = bdev_zram(zdev);
	cr_assert_eq(op == REQ_OP_READ ? z->reads : z->writes, pages);
	cr_assert_eq(zdev->inflight, 0);
	engine_unsubscribe(e, &blocks);
	test_engine_done(e);
}

Test(zram, read_costs_cpu_time_without_blocking)
{
	struct latency_spec r, w;

	comp = ZRAM_COMP_LZ4;
	override = NULL;
	pages = 1;
	op = REQ_OP_READ;
	zram_cost_default(comp, &r, &w);
	uint64_t lo = UINT64_MAX, hi = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		run_zram(seed);
		lo = service_ns < lo ? service_ns : lo;
		hi = service_ns > hi ? service_ns : hi;
	}
	/* Drawn from lz4's decompression cost: around 1.7 us. */
	cr_assert(lo < r.median_ns && hi > r.median_ns,
		  "40 draws in [%llu, %llu] straddle the median",
		  (unsigned long long)lo, (unsigned long long)hi);
	cr_assert_gt(lo, 400);
	cr_assert_lt(hi, 10000);
}

Test(zram, fixed_cost_is_charged_per_page)
{
	static const struct latency_spec fixed = { .model = LATENCY_FIXED,
						   .ns = 2500 };

	comp = ZRAM_COMP_ZSTD;
	override = &fixed;
	pages = 4;
	op = REQ_OP_WRITE;
	run_zram(5);
	cr_assert_eq(service_ns, 4 * 2500);
	cr_assert_eq(now_after - now_before, 10000);
}

Test(zram, compressor_defaults)
{
	struct latency_spec r, w;

	zram_cost_default(ZRAM_COMP_LZ4, &r, &w);
	cr_assert_eq(r.model, LATENCY_LOGNORMAL);
	cr_assert_eq(r.median_ns, 1700);
	cr_assert_eq(r.p99_ns, 3600);
	cr_assert_eq(w.median_ns, 1700ull * 3900 / 730);
	cr_assert_eq(w.p99_ns, 3600ull * 3900 / 730);
	zram_cost_default(ZRAM_COMP_ZSTD, &r, &w);
	cr_assert_eq(r.median_ns, 5700);
	cr_assert_eq(r.p99_ns, 5700ull * 3600 / 1700);
	cr_assert_eq(w.median_ns, 5700ull * 1380 / 470);
	cr_assert_str_eq(zram_comp_name(ZRAM_COMP_ZSTD), "zstd");

	/* A zstd device draws its reads from zstd's cost. */
	comp = ZRAM_COMP_ZSTD;
	override = NULL;
	pages = 1;
	op = REQ_OP_READ;
	uint64_t sum = 0;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		run_zram(seed);
		sum += service_ns;
	}
	cr_assert_gt(sum / 20, 4000, "zstd reads cost ~5.7 us, mean %llu",
		     (unsigned long long)(sum / 20));
}

/* An event has no CPU to charge: submitting to zram from one is a bug. */
static void submit_from_event(void *arg)
{
	(void)arg;
	blk_submit(zdev, REQ_OP_READ, 0, 1, end_io, NULL);
}

static void build_event_submit(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	zdev = zram_create(&e->arena, "zram0", ZRAM_COMP_LZ4, NULL, NULL);
	sim_event_add(1000, TRACE_TIMER, 0, submit_from_event, NULL);
}

Test(zram, event_context_submission_is_a_model_error)
{
	struct engine *e = test_engine(1);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_event_submit, NULL),
		     RUN_ASSERT);
	cr_assert_eq(e->findings_count, 1);
	cr_assert(strstr(e->findings[0].summary, "sim_current() != NULL") &&
		  strstr(e->findings[0].summary, "zram.c"),
		  "%s", e->findings[0].summary);
	test_engine_done(e);
}
