/*
 * zram.c: the zram device (see zram.h): a synchronous submit_bio that
 * charges the compressor's per-page CPU cost to the submitting task and
 * completes the request at once.  Not the swap layer's use of it
 * (page_io.c).
 */
#include <stdio.h>

#include "mm/zram.h"

/*
 * Default costs per 4 KiB page, all log-normal.
 *
 * Reads (decompression, what a swap-in fault pays), KERNEL.md section 10:
 * lz4 median 1.7 us, p99 3.6 us; zstd about 5.7 us.  KERNEL.md gives no
 * p99 for zstd: it is given lz4's relative spread, 5.7 * 3.6 / 1.7 us.
 *
 * Writes (compression, what reclaim pays per swapped-out page) are not in
 * KERNEL.md.  They are estimated as the read cost times the compressor's
 * ratio of decompression to compression speed in the lzbench table of the
 * LZ4 project's README (LZ4 1.8.2: 730 MB/s compress, 3900 MB/s
 * decompress; Zstandard 1.3.4 -1: 470 and 1380 MB/s).  This scales the
 * whole per-page cost, fixed overheads included, so it errs on the slow
 * side; scenarios that measure their own should set write_latency.
 */
#define LZ4_READ_MEDIAN_NS 1700ull
#define LZ4_READ_P99_NS 3600ull
#define ZSTD_READ_MEDIAN_NS 5700ull
#define ZSTD_READ_P99_NS (ZSTD_READ_MEDIAN_NS * LZ4_READ_P99_NS / LZ4_READ_MEDIAN_NS)
#define LZ4_COMPRESS_MBPS 730ull
#define LZ4_DECOMPRESS_MBPS 3900ull
#define ZSTD_COMPRESS_MBPS 470ull
#define ZSTD_DECOMPRESS_MBPS 1380ull

void zram_cost_default(enum zram_comp comp, struct latency_spec *read_cost,
		       struct latency_spec *write_cost)
{
	uint64_t median, p99, num, den;

	SIM_ASSERT(read_cost != NULL && write_cost != NULL);
	SIM_ASSERT(comp < ZRAM_COMPS_COUNT);
	if (comp == ZRAM_COMP_LZ4) {
		median = LZ4_READ_MEDIAN_NS;
		p99 = LZ4_READ_P99_NS;
		num = LZ4_DECOMPRESS_MBPS;
		den = LZ4_COMPRESS_MBPS;
	} else {
		median = ZSTD_READ_MEDIAN_NS;
		p99 = ZSTD_READ_P99_NS;
		num = ZSTD_DECOMPRESS_MBPS;
		den = ZSTD_COMPRESS_MBPS;
	}
	*read_cost = (struct latency_spec){ .model = LATENCY_LOGNORMAL,
					    .median_ns = median,
					    .p99_ns = p99 };
	*write_cost = (struct latency_spec){ .model = LATENCY_LOGNORMAL,
					     .median_ns = median * num / den,
					     .p99_ns = p99 * num / den };
}

const char *zram_comp_name(enum zram_comp comp)
{
	static const char *const names[ZRAM_COMPS_COUNT] = {
		[ZRAM_COMP_LZ4] = "lz4",
		[ZRAM_COMP_ZSTD] = "zstd",
	};

	SIM_ASSERT(comp < ZRAM_COMPS_COUNT);
	SIM_ASSERT(names[comp] != NULL);
	return names[comp];
}

/* zram_submit_bio: every page is (de)compressed by the submitting task,
 * one cost draw per page in page order.  No yield: nothing can interleave
 * with a CPU-bound copy that takes no lock the model has. */
static void zram_submit_bio(struct block_device *bdev, struct blk_request *rq)
{
	struct zram *zram = bdev_zram(bdev);
	const struct latency_dist *d =
		rq->op == REQ_OP_READ ? &zram->read_cost : &zram->write_cost;
	uint64_t cost = 0;

	/* Synchronous: the cost is CPU time of a task; an event has none. */
	SIM_ASSERT(sim_current() != NULL);
	SIM_ASSERT(rq->nr_pages >= 1);
	rq->start_ns = sim_now();
	for (uint32_t i = 0; i < rq->nr_pages; i++)
		cost += latency_draw(d, sim_prng());
	sim_cost(cost);
	rq->service_ns = cost;
	rq->complete_ns = sim_now();
	if (rq->op == REQ_OP_READ)
		zram->reads += rq->nr_pages;
	else
		zram->writes += rq->nr_pages;
	blk_request_done(rq);
}

static const struct block_device_operations zram_fops = {
	.submit_bio = zram_submit_bio,
};

struct block_device *zram_create(struct arena *a, const char *name,
				 enum zram_comp comp,
				 const struct latency_spec *read_cost,
				 const struct latency_spec *write_cost)
{
	struct zram *zram = arena_new(a, struct zram);
	struct latency_spec r, w;

	SIM_ASSERT(comp < ZRAM_COMPS_COUNT);
	zram_cost_default(comp, &r, &w);
	if (read_cost)
		r = *read_cost;
	if (write_cost)
		w = *write_cost;
	blkdev_init(&zram->bdev, name);
	zram->bdev.synchronous = true;
	zram->bdev.fops = &zram_fops;
	zram->bdev.private_data = zram;
	zram->comp = comp;
	latency_dist_init(&zram->read_cost, &r);
	latency_dist_init(&zram->write_cost, &w);
	SIM_ASSERT(bdev_zram(&zram->bdev) == zram);
	return &zram->bdev;
}
