/*
 * blkdev.c: the block device queue model (see blkdev.h for the request
 * states and invariants) and the disk presets.  Not zram (zram.c), which
 * plugs in through block_device_operations.
 */
#include <stdio.h>

#include "mm/blkdev.h"
#include "mm/pagemap.h"
#include "mm/vmstat.h"

/*
 * Presets, from KERNEL.md section 10.  Both are log-normal: service times
 * of random reads are skewed to the right (a long tail of slow requests,
 * nothing below a physical minimum), and median and p99 are the two
 * figures the kernel discussions quote.
 *
 * nvme: median 50 us (the 4 KiB random-read QD1 figure); p99 100 us, the
 * top of the quoted 20-100 us range, because latency comparisons are about
 * the tail.  The bottom then falls at p1 = 25 us, inside the range.
 * Queue depth 32: flash serves many reads at once; a datacenter NVMe SSD
 * sustains roughly 500k random reads per second near its QD1 latency,
 * which by Little's law is about 30 requests in service.  Scenarios
 * modeling a particular drive should set their own.
 *
 * hdd: median 6 ms; p99 10 ms, again the top of the 4-10 ms range; p1 is
 * then 3.6 ms, a little under the range's 4 ms, on the side that matters
 * least.  Queue depth 1: one actuator serves one request at a time.  NCQ's
 * 32 tags only reorder requests to shorten seeks, and the drawn random-read
 * latency already averages over seek distances.
 *
 * Writes: both presets use the read distribution for writes.  NVMe writes
 * often land in the drive's cache and finish sooner, but no fault waits for
 * a swap-out or writeback write to finish; set write_latency to study it.
 * A request of several pages costs one service time: transfer (1.4 us per
 * 4 KiB at 3 GB/s) is small against access time on both kinds.
 */
void disk_preset_get(enum disk_preset preset, struct latency_spec *latency,
		     uint32_t *queue_depth)
{
	SIM_ASSERT(latency != NULL && queue_depth != NULL);
	*latency = (struct latency_spec){ .model = LATENCY_LOGNORMAL };
	switch (preset) {
	case DISK_PRESET_NVME:
		latency->median_ns = 50ull * 1000;
		latency->p99_ns = 100ull * 1000;
		*queue_depth = 32;
		return;
	case DISK_PRESET_HDD:
		latency->median_ns = 6ull * 1000 * 1000;
		latency->p99_ns = 10ull * 1000 * 1000;
		*queue_depth = 1;
		return;
	case DISK_PRESET_NONE:
	case DISK_PRESETS_COUNT:
		break;
	}
	SIM_ASSERT(!"not a disk preset");
}

void blkdev_init(struct block_device *bdev, const char *name)
{
	SIM_ASSERT(bdev != NULL);
	SIM_ASSERT(name != NULL && name[0] != '\0');
	bdev->id = mm_obj_id();
	snprintf(bdev->name, sizeof(bdev->name), "%s", name);
	bdev->seq_next = 1;
	/* Not a lock: nobody holds the requests a submitter waits for, and
	 * the completion that frees one is always enabled. */
	waitq_init(&bdev->rq_wait, bdev->id, NULL);
}

struct block_device *blkdev_create_disk(struct arena *a, const char *name,
					const struct latency_spec *read,
					const struct latency_spec *write,
					uint32_t queue_depth)
{
	struct block_device *bdev = arena_new(a, struct block_device);

	SIM_ASSERT(queue_depth >= 1 && queue_depth <= BLKDEV_REQUESTS_MAX);
	SIM_ASSERT(read != NULL && write != NULL);
	blkdev_init(bdev, name);
	latency_dist_init(&bdev->read_latency, read);
	latency_dist_init(&bdev->write_latency, write);
	bdev->queue_depth = queue_depth;
	return bdev;
}

/* A free request, marked in use; NULL when all are taken.  The lowest free
 * index, so the choice is deterministic. */
static struct blk_request *rq_alloc(struct block_device *bdev)
{
	SIM_ASSERT(bdev->inflight <= BLKDEV_REQUESTS_MAX);
	if (bdev->inflight == BLKDEV_REQUESTS_MAX)
		return NULL;
	for (uint32_t i = 0; i < BLKDEV_REQUESTS_MAX; i++) {
		struct blk_request *rq = &bdev->requests[i];
		if (rq->in_use)
			continue;
		*rq = (struct blk_request){ .bdev = bdev, .in_use = true };
		bdev->inflight++;
		return rq;
	}
	SIM_ASSERT(!"inflight below the maximum but no request free");
	return NULL;
}

/* Take a request, sleeping for one when the device holds all of them.  A
 * completion hands its freed request straight to the first sleeper (see
 * rq_release), so one wakeup is enough. */
static struct blk_request *rq_get(struct block_device *bdev)
{
	struct blk_request *rq = rq_alloc(bdev);
	struct task *t = sim_current();

	if (rq)
		return rq;
	SIM_ASSERT(t != NULL);	/* events never submit to a full device */
	SIM_MARK("blk_submit: out of requests, submitter sleeps");
	struct blk_request *granted = NULL;
	waitq_wait(&bdev->rq_wait, 0, (uintptr_t)&granted);
	SIM_ASSERT(granted != NULL);
	SIM_ASSERT(granted->in_use && granted->bdev == bdev);
	return granted;
}

static void rq_release(struct blk_request *rq)
{
	struct block_device *bdev = rq->bdev;

	SIM_ASSERT(rq->in_use && rq->completed);
	SIM_ASSERT(bdev->inflight > 0);
	rq->in_use = false;
	bdev->inflight--;
	struct task *t = waitq_first(&bdev->rq_wait);
	if (!t)
		return;
	struct blk_request **slot = (struct blk_request **)t->wait_data;
	*slot = rq_alloc(bdev);
	SIM_ASSERT(*slot != NULL);
	waitq_wake(&bdev->rq_wait, t);
}

static struct blk_hooks blk_hooks[BLK_HOOKS_MAX];
static uint32_t blk_hooks_count;

bool blk_hooks_subscribe(const struct blk_hooks *h)
{
	SIM_ASSERT(h != NULL && h->done != NULL);
	if (blk_hooks_count >= BLK_HOOKS_MAX)
		return false;
	blk_hooks[blk_hooks_count++] = *h;
	return true;
}

void blk_hooks_unsubscribe(void *ctx)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < blk_hooks_count; i++)
		if (blk_hooks[i].ctx != ctx)
			blk_hooks[w++] = blk_hooks[i];
	blk_hooks_count = w;
}

void blk_request_done(struct blk_request *rq)
{
	SIM_ASSERT(rq->in_use);
	SIM_ASSERT(!rq->completed);
	rq->completed = true;
	count_vm_event(IO_COMPLETED);
	for (uint32_t i = 0; i < blk_hooks_count; i++)
		blk_hooks[i].done(blk_hooks[i].ctx, rq);
	rq->end_io(rq);
	rq_release(rq);
}

static void blk_complete_event(void *arg)
{
	struct blk_request *rq = arg;

	SIM_ASSERT(sim_current() == NULL);
	SIM_ASSERT(sim_now() == rq->complete_ns);
	blk_request_done(rq);
	if (SIM_EXPENSIVE)
		blkdev_check_invariants(rq->bdev);
}

/* FIFO service on queue_depth servers: the request starts when the server
 * that frees first is free, and never before an earlier request started
 * (invariant 2, which also orders submitters whose clocks disagree). */
static void disk_queue(struct block_device *bdev, struct blk_request *rq)
{
	uint32_t server = 0;

	SIM_ASSERT(bdev->queue_depth >= 1);
	SIM_ASSERT(bdev->queue_depth <= BLKDEV_REQUESTS_MAX);
	for (uint32_t i = 1; i < bdev->queue_depth; i++)
		if (bdev->busy_until_ns[i] < bdev->busy_until_ns[server])
			server = i;
	uint64_t start = rq->submit_ns;
	if (bdev->busy_until_ns[server] > start)
		start = bdev->busy_until_ns[server];
	if (bdev->last_start_ns > start)
		start = bdev->last_start_ns;
	const struct latency_dist *d = rq->op == REQ_OP_READ
					       ? &bdev->read_latency
					       : &bdev->write_latency;
	rq->server = server;
	rq->start_ns = start;
	rq->service_ns = latency_draw(d, sim_prng());
	rq->complete_ns = start + rq->service_ns;
	bdev->busy_until_ns[server] = rq->complete_ns;
	bdev->last_start_ns = start;
	sim_event_add(rq->complete_ns, TRACE_IO_COMPLETE, bdev->id,
		      blk_complete_event, rq);
}

void blk_submit(struct block_device *bdev, enum req_op op, uint64_t pgoff,
		uint32_t nr_pages, blk_end_io_t end_io, void *private)
{
	struct task *t = sim_current();

	SIM_ASSERT(bdev != NULL && end_io != NULL);
	SIM_ASSERT(nr_pages >= 1);
	/* submit_bio may sleep for a request (blk_mq_get_tag). */
	if (t)
		might_sleep();
	struct blk_request *rq = rq_get(bdev);
	rq->seq = bdev->seq_next++;
	rq->op = op;
	rq->pgoff = pgoff;
	rq->nr_pages = nr_pages;
	rq->end_io = end_io;
	rq->private = private;
	rq->task = t ? t->id : TRACE_NO_TASK;
	rq->submit_ns = sim_now();
	count_vm_event(IO_SUBMITTED);
	if (bdev->fops && bdev->fops->submit_bio) {
		SIM_ASSERT(bdev->synchronous);
		uint32_t seq = rq->seq;
		bdev->fops->submit_bio(bdev, rq);
		/* Invariant 5: done, and the request freed (or, if a sleeper
		 * waited, handed on under a new sequence number later). */
		SIM_ASSERT(!rq->in_use || rq->seq != seq);
		return;
	}
	disk_queue(bdev, rq);
	if (t)
		sim_yield(TRACE_IO_SUBMIT, bdev->id);
}

/* ------------------------------------------------------------ folio I/O */

static void blk_end_folio_read(const struct blk_request *rq)
{
	struct folio *folio = rq->private;

	SIM_ASSERT(rq->op == REQ_OP_READ);
	SIM_ASSERT(folio_test_locked(folio) && folio->lock_owner == NULL);
	folio_end_read(folio, true);
}

static void blk_end_folio_write(const struct blk_request *rq)
{
	struct folio *folio = rq->private;

	SIM_ASSERT(rq->op == REQ_OP_WRITE);
	SIM_ASSERT(folio_test(folio, PG_writeback));
	folio_end_writeback(folio);
}

void blk_read_folio(struct block_device *bdev, struct folio *folio,
		    uint64_t pgoff)
{
	SIM_ASSERT(folio_test_locked(folio));
	SIM_ASSERT(folio->lock_owner == sim_current());
	SIM_ASSERT(!folio_test(folio, PG_uptodate));
	folio_lock_to_io(folio);
	blk_submit(bdev, REQ_OP_READ, pgoff, folio_nr_pages(folio),
		   blk_end_folio_read, folio);
}

void blk_write_folio(struct block_device *bdev, struct folio *folio,
		     uint64_t pgoff)
{
	SIM_ASSERT(folio_test(folio, PG_writeback));
	SIM_ASSERT(bdev != NULL);
	blk_submit(bdev, REQ_OP_WRITE, pgoff, folio_nr_pages(folio),
		   blk_end_folio_write, folio);
}

/* ----------------------------------------------------------- invariants */

void blkdev_check_invariants(const struct block_device *bdev)
{
	uint32_t in_use = 0;

	SIM_ASSERT(bdev->inflight <= BLKDEV_REQUESTS_MAX);
	for (uint32_t i = 0; i < BLKDEV_REQUESTS_MAX; i++) {
		const struct blk_request *a = &bdev->requests[i];
		if (!a->in_use)
			continue;
		in_use++;
		if (bdev->synchronous)
			continue;
		/* Invariant 3. */
		SIM_ASSERT(a->submit_ns <= a->start_ns);
		SIM_ASSERT(a->complete_ns == a->start_ns + a->service_ns);
		SIM_ASSERT(a->server < bdev->queue_depth);
		for (uint32_t j = 0; j < BLKDEV_REQUESTS_MAX; j++) {
			const struct blk_request *b = &bdev->requests[j];
			if (j == i || !b->in_use || b->seq < a->seq)
				continue;
			/* Invariant 2: a was submitted first. */
			SIM_ASSERT(a->start_ns <= b->start_ns);
			/* Invariant 1: one server, disjoint service. */
			if (a->server == b->server)
				SIM_ASSERT(a->complete_ns <= b->start_ns);
		}
	}
	SIM_ASSERT(in_use == bdev->inflight);	/* invariant 4 */
}

__attribute__((constructor)) static void blkdev_register_trace_kinds(void)
{
	trace_kind_register(TRACE_IO_SUBMIT, "io_submit");
	trace_kind_register(TRACE_IO_COMPLETE, "io_complete");
}
