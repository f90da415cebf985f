/*
 * blkdev.h: a modeled block device queue: requests are served FIFO,
 * `queue_depth` of them at once, each for a service time drawn from the
 * device's latency distribution, and complete as engine events at
 * submit time + queueing + service time.  A synchronous device (zram)
 * plugs in its own submit function, which does the request in the
 * submitter's context and completes it before returning.
 *
 * Not the kernel's blk-mq: no hardware contexts, tags, I/O schedulers,
 * merging, plugging or sectors.  What a fault waiting for I/O sees is when
 * its request completes, and that is what is kept: parallel service up to
 * the device's internal parallelism, FIFO queueing behind it, and
 * submitters that sleep when the device holds BLKDEV_REQUESTS_MAX requests
 * (as blk_mq_get_tag sleeps when the scheduler's requests run out).
 *
 * A request's life (disks):
 *
 *   free --blk_submit--> in flight: queued until start_ns, in service in
 *   [start_ns, complete_ns) --completion event--> end_io --> free
 *
 * A synchronous device's request is done inside blk_submit: free -->
 * submit_bio (charges CPU time, calls end_io) --> free.
 *
 * Invariants (blkdev_check_invariants asserts them):
 *  1. At any instant at most queue_depth requests of a disk are in
 *     service: requests given to one server slot have disjoint service
 *     intervals.
 *  2. Service starts in submission order (FIFO): start_ns never decreases
 *     from one submitted request to the next.
 *  3. submit_ns <= start_ns and complete_ns = start_ns + service_ns.
 *  4. inflight is the number of requests in use; each in-flight disk
 *     request has exactly one pending completion event.
 *  5. A synchronous device's request has completed when blk_submit
 *     returns.
 *
 * Service times are drawn at submission, in submission order, from the
 * model's PRNG stream: drawing when service starts would draw the same
 * numbers in the same order, since FIFO starts requests in the order they
 * were submitted.
 */
#ifndef SIM_MM_BLKDEV_H
#define SIM_MM_BLKDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/waitq.h"
#include "mm/latency.h"
#include "mm/locks.h"
#include "mm/scenario_devices.h"
#include "mm/types.h"

/* Requests one device holds at once, queued and in service: the kernel's
 * BLKDEV_DEFAULT_RQ (include/linux/blk-mq.h), the default request count of
 * a queue.  Also the most a queue_depth may be: deeper parallelism than the
 * requests that can exist would never be used. */
#define BLKDEV_REQUESTS_MAX 128

/* Trace kinds 64..79 belong to devices and swap (this file and
 * swapfile.h); lock kinds start at TRACE_MODEL_FIRST (locks.h). */
enum {
	TRACE_IO_SUBMIT = TRACE_MODEL_FIRST + 48,	/* a task submitted */
	TRACE_IO_COMPLETE,				/* completion event */
};

static_assert((int)TRACE_IO_SUBMIT > (int)TRACE_MODEL_LOCK_LAST,
	      "after the lock kinds");
/* Every pending request is an event; timers (one per task) need room too. */
static_assert(DEVICES_MAX * BLKDEV_REQUESTS_MAX + TASKS_MAX <= EVENTS_MAX,
	      "the event pool holds every device's requests and every timer");

enum req_op {
	REQ_OP_READ = 0,
	REQ_OP_WRITE = 1,
};

struct block_device;
struct blk_request;

/* Completion: event context for a disk, the submitter's context for a
 * synchronous device.  The request is valid only during the call. */
typedef void (*blk_end_io_t)(const struct blk_request *rq);

struct blk_request {
	struct block_device *bdev;
	uint32_t seq;			/* submission order on the device, from 1 */
	enum req_op op;
	uint32_t nr_pages;
	uint64_t pgoff;			/* where on the device, in pages */
	uint64_t submit_ns;
	uint64_t start_ns;		/* service starts */
	uint64_t service_ns;		/* the drawn latency */
	uint64_t complete_ns;
	uint32_t server;		/* disks: the service slot used */
	blk_end_io_t end_io;
	void *private;			/* the submitter's (bi_private) */
	uint16_t task;			/* the submitting task's id, or
					 * TRACE_NO_TASK from an event */
	bool in_use;
	bool completed;
};

struct block_device_operations {
	/* Synchronous devices: do the request now, in the submitter's
	 * context, charging its CPU time; set start_ns, service_ns and
	 * complete_ns; then call blk_request_done.  NULL for a disk. */
	void (*submit_bio)(struct block_device *bdev, struct blk_request *rq);
};

struct block_device {
	uint32_t id;			/* world object id */
	char name[DEVICE_NAME_MAX];
	bool synchronous;		/* QUEUE_FLAG_SYNCHRONOUS: zram */
	const struct block_device_operations *fops;
	void *private_data;		/* the driver's (struct zram) */

	/* The queue model (disks). */
	struct latency_dist read_latency;
	struct latency_dist write_latency;
	uint32_t queue_depth;
	uint64_t busy_until_ns[BLKDEV_REQUESTS_MAX];	/* per server slot */
	uint64_t last_start_ns;		/* invariant 2 */

	uint32_t seq_next;
	uint32_t inflight;		/* invariant 4 */
	struct blk_request requests[BLKDEV_REQUESTS_MAX];
	struct waitq rq_wait;		/* submitters waiting for a request */
};

/* A disk in the arena: service times from `read`/`write`, `queue_depth`
 * requests served at once. */
struct block_device *blkdev_create_disk(struct arena *a, const char *name,
					const struct latency_spec *read,
					const struct latency_spec *write,
					uint32_t queue_depth);
/* The common part, for drivers of synchronous devices (zram.c). */
void blkdev_init(struct block_device *bdev, const char *name);

/*
 * Submit a request of nr_pages at pgoff (task or event context).  end_io
 * runs when it completes, with `private`.  From a task, blk_submit may
 * sleep (no free request) and, for a disk, ends the step after queueing
 * (another choice may run before the submitter goes on); a synchronous
 * device neither sleeps nor yields.  From an event, a free request must
 * exist.  Counts IO_SUBMITTED; the completion counts IO_COMPLETED.
 */
void blk_submit(struct block_device *bdev, enum req_op op, uint64_t pgoff,
		uint32_t nr_pages, blk_end_io_t end_io, void *private);

/* A synchronous driver's completion of rq (calls end_io, frees rq). */
void blk_request_done(struct blk_request *rq);

/*
 * Folio I/O.  The device completes a folio read by calling
 * folio_end_read(folio, true) and a write by calling folio_end_writeback:
 * these two helpers do it.  Callers that must do more at completion (swap
 * I/O records the slot's contents, page_io.c) use blk_submit with their
 * own end_io and finish the same way.
 *
 * blk_read_folio: the folio is locked by the current task and not
 * uptodate; the lock passes to the I/O (folio_lock_to_io) until the read
 * completes.
 * blk_write_folio: the folio is under writeback (folio_start_writeback).
 */
void blk_read_folio(struct block_device *bdev, struct folio *folio,
		    uint64_t pgoff);
void blk_write_folio(struct block_device *bdev, struct folio *folio,
		     uint64_t pgoff);

/*
 * What the analysis layer may learn of I/O, without the model knowing who
 * listens: `done` runs once per request when it completes (before end_io),
 * with its submit, start and completion times filled in.  Only the timeline
 * recorder of `simrun show`, `export` and `report` subscribes; campaigns
 * leave the list empty, so a completion costs one test of a count.
 */
struct blk_hooks {
	void *ctx;
	void (*done)(void *ctx, const struct blk_request *rq);
};

#define BLK_HOOKS_MAX 2

bool blk_hooks_subscribe(const struct blk_hooks *h);
void blk_hooks_unsubscribe(void *ctx);

/* The presets of KERNEL.md section 10 (see blkdev.c for the reasons). */
void disk_preset_get(enum disk_preset preset, struct latency_spec *latency,
		     uint32_t *queue_depth);

void blkdev_check_invariants(const struct block_device *bdev);

#endif /* SIM_MM_BLKDEV_H */
