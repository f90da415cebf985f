/*
 * test_blkdev.c: the block device queue of mm/blkdev.c.  A task submits
 * requests to a disk at one instant and every completion is recorded from
 * its end_io (event context).  Checks FIFO service: with queue depth 1,
 * request i completes at submit time + the sum of the first i service
 * times, in submission order; with depth d, the service intervals
 * (completion time minus service time) never overlap more than d deep, are
 * d deep while requests wait, start in submission order and only when a
 * server frees.  Also: a submitter beyond BLKDEV_REQUESTS_MAX sleeps until
 * a completion hands it a request; one seed gives one set of completion
 * times; folio reads and writes end with folio_end_read /
 * folio_end_writeback at the completion time; the I/O counters.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "mm/blkdev.h"
#include "mm/pagemap.h"
#include "mm/vmstat.h"
#include "mm/world.h"
#include "tests/support.h"

#define REQS_MAX (BLKDEV_REQUESTS_MAX + 16)

struct done {
	uint32_t seq;
	uint64_t submit_ns, start_ns, service_ns, complete_ns, now_ns;
	bool in_event;
};

static struct done done[REQS_MAX];
static uint32_t done_n;
static struct block_device *bdev;
static uint32_t reqs_n;
static struct latency_spec lat;
static uint32_t depth;

static void record_end_io(const struct blk_request *rq)
{
	cr_assert_lt(done_n, REQS_MAX);
	done[done_n++] = (struct done){
		.seq = rq->seq,
		.submit_ns = rq->submit_ns,
		.start_ns = rq->start_ns,
		.service_ns = rq->service_ns,
		.complete_ns = rq->complete_ns,
		.now_ns = sim_now(),
		.in_event = sim_current() == NULL,
	};
}

static void submitter(void *arg)
{
	(void)arg;
	for (uint32_t i = 0; i < reqs_n; i++)
		blk_submit(bdev, REQ_OP_READ, i, 1, record_end_io, NULL);
}

static void build_disk(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	done_n = 0;
	bdev = blkdev_create_disk(&e->arena, "disk0", &lat, &lat, depth);
	mm_task_create(e, "submitter", 0, submitter, NULL);
}

static void run_disk(struct engine *e, uint64_t seed)
{
	cr_assert_eq(test_run(e, STRATEGY_TIMED, seed, build_disk, NULL),
		     RUN_OK);
	cr_assert_eq(done_n, reqs_n);
	cr_assert_eq(vm_events(IO_SUBMITTED), reqs_n);
	cr_assert_eq(vm_events(IO_COMPLETED), reqs_n);
	cr_assert_eq(bdev->inflight, 0);
	blkdev_check_invariants(bdev);
}

/* The done record of submission number seq. */
static const struct done *by_seq(uint32_t seq)
{
	for (uint32_t i = 0; i < done_n; i++)
		if (done[i].seq == seq)
			return &done[i];
	cr_assert_fail("no completion of request %u", seq);
	return NULL;
}

Test(blkdev, depth_1_completes_at_sum_of_latencies_in_order)
{
	struct engine *e = test_engine(1);

	disk_preset_get(DISK_PRESET_NVME, &lat, &depth);
	depth = 1;
	reqs_n = 16;
	run_disk(e, 7);
	uint64_t sum = 0, distinct = 0;
	for (uint32_t i = 0; i < done_n; i++) {
		const struct done *d = &done[i];
		cr_assert_eq(d->seq, i + 1, "completion %u is request %u", i,
			     d->seq);
		cr_assert_eq(d->submit_ns, 0, "all submitted at once");
		cr_assert(d->in_event, "disk completions are events");
		sum += d->service_ns;
		cr_assert_eq(d->complete_ns, sum,
			     "request %u: completes at %llu, expected %llu",
			     d->seq, (unsigned long long)d->complete_ns,
			     (unsigned long long)sum);
		cr_assert_eq(d->now_ns, d->complete_ns);
		distinct += i > 0 && d->service_ns != done[i - 1].service_ns;
	}
	cr_assert_gt(distinct, 10, "log-normal service times vary");
	test_engine_done(e);
}

Test(blkdev, depth_d_serves_at_most_d_at_once_fifo)
{
	struct engine *e = test_engine(1);

	disk_preset_get(DISK_PRESET_NVME, &lat, &depth);
	depth = 4;
	reqs_n = 40;
	run_disk(e, 11);
	uint32_t deepest = 0;
	for (uint32_t i = 0; i < done_n; i++) {
		/* Service intervals from completion times alone. */
		uint64_t t = done[i].complete_ns - done[i].service_ns;
		uint32_t busy = 0;
		for (uint32_t j = 0; j < done_n; j++) {
			uint64_t s = done[j].complete_ns - done[j].service_ns;
			busy += s <= t && t < done[j].complete_ns;
		}
		cr_assert_leq(busy, depth, "%u in service at %llu", busy,
			      (unsigned long long)t);
		if (busy > deepest)
			deepest = busy;
	}
	cr_assert_eq(deepest, depth, "the queue is full while requests wait");
	uint64_t prev_start = 0;
	for (uint32_t seq = 1; seq <= reqs_n; seq++) {
		const struct done *d = by_seq(seq);
		uint64_t start = d->complete_ns - d->service_ns;
		cr_assert_eq(start, d->start_ns);
		cr_assert_geq(start, prev_start, "FIFO: %u starts before %u",
			      seq, seq - 1);
		prev_start = start;
		/* The first `depth` start at once; every later one starts
		 * exactly when an earlier one completes. */
		bool at_completion = false;
		for (uint32_t j = 0; j < done_n; j++)
			at_completion |= done[j].seq < seq &&
					 done[j].complete_ns == start;
		if (seq <= depth)
			cr_assert_eq(start, 0);
		else
			cr_assert(at_completion,
				  "request %u starts at %llu, when no server frees",
				  seq, (unsigned long long)start);
	}
	test_engine_done(e);
}

Test(blkdev, same_seed_same_completion_times)
{
	struct engine *e = test_engine(1);
	static struct done first[REQS_MAX];

	disk_preset_get(DISK_PRESET_HDD, &lat, &depth);
	depth = 2;
	reqs_n = 12;
	run_disk(e, 99);
	memcpy(first, done, sizeof(first));
	engine_end(e);
	run_disk(e, 99);
	cr_assert(memcmp(first, done, sizeof(first)) == 0,
		  "seed 99 twice gives different completions");
	engine_end(e);
	run_disk(e, 100);
	cr_assert(memcmp(first, done, sizeof(first)) != 0,
		  "seeds 99 and 100 give the same completions");
	test_engine_done(e);
}

Test(blkdev, submitter_sleeps_when_requests_run_out)
{
	struct engine *e = test_engine(1);

	lat = (struct latency_spec){ .model = LATENCY_FIXED, .ns = 10000 };
	depth = 32;
	reqs_n = BLKDEV_REQUESTS_MAX + 8;
	sim_marks_reset();
	run_disk(e, 3);
	/* At least request 129 slept; how many more did depends on how
	 * many of the 32 completions at 10 us ran before the submitter. */
	uint64_t slept = sim_mark_hits("blk_submit: out of requests, submitter sleeps");
	cr_assert(slept >= 1 && slept <= 8, "slept %llu times",
		  (unsigned long long)slept);
	/* Request 129 could only be made once request 1 completed, at 10 us,
	 * and waits behind the 128 before it: 5 rounds of 32 in service. */
	const struct done *d = by_seq(BLKDEV_REQUESTS_MAX + 1);
	cr_assert_eq(d->submit_ns, 10000);
	cr_assert_eq(d->start_ns, 40000);
	cr_assert_eq(d->complete_ns, 50000);
	cr_assert_eq(by_seq(reqs_n)->complete_ns, 50000);
	test_engine_done(e);
}

/* ------------------------------------------------------------ folio I/O */

static struct folio *folio;
static uint64_t read_done_ns, write_done_ns;
static bool was_uptodate, writeback_clear;

static void folio_io_fn(void *arg)
{
	(void)arg;
	folio_lock(folio);
	blk_read_folio(bdev, folio, 5);
	/* The I/O holds PG_locked; this waits for the read to complete. */
	folio_lock(folio);
	read_done_ns = sim_now();
	was_uptodate = folio_test(folio, PG_uptodate);
	folio_start_writeback(folio);
	folio_unlock(folio);
	blk_write_folio(bdev, folio, 5);
	folio_wait_writeback(folio);
	write_done_ns = sim_now();
	writeback_clear = !folio_test(folio, PG_writeback);
}

static void build_folio_io(struct engine *e, void *arg)
{
	(void)arg;
	mm_world_reset();
	done_n = 0;
	lat = (struct latency_spec){ .model = LATENCY_FIXED, .ns = 6000000 };
	bdev = blkdev_create_disk(&e->arena, "hdd0", &lat, &lat, 1);
	folio = arena_new(&e->arena, struct folio);
	folio->id = mm_obj_id();
	folio_lock_init(folio);
	folio->refcount = 1;
	mm_task_create(e, "reader", 0, folio_io_fn, NULL);
}

Test(blkdev, folio_read_and_write_end_at_completion)
{
	struct engine *e = test_engine(1);

	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_folio_io, NULL),
		     RUN_OK);
	cr_assert(was_uptodate, "folio_end_read set uptodate");
	cr_assert_eq(read_done_ns, 6000000 + COST_LOCK_NS,
		     "woken when the read completed: %llu",
		     (unsigned long long)read_done_ns);
	cr_assert(writeback_clear);
	cr_assert_geq(write_done_ns, read_done_ns + 6000000);
	cr_assert_leq(write_done_ns, read_done_ns + 6000000 + 100);
	cr_assert(!folio_test_locked(folio));
	cr_assert_eq(e->findings_count, 0);
	cr_assert_eq(vm_events(IO_COMPLETED), 2);
	test_engine_done(e);
}
