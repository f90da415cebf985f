/*
 * zram.h: drivers/block/zram as used for swap: a block device in RAM that
 * compresses each page written to it.  It is synchronous
 * (QUEUE_FLAG_SYNCHRONOUS, so swapon sets SWP_SYNCHRONOUS_IO): a request is
 * done in the submitting task's context, costing that task CPU time drawn
 * per page from the compressor's distribution, and completes before
 * blk_submit returns.  It never sleeps and never yields.
 *
 * Not modeled: the compressed pool (zsmalloc) and its memory limit, writeback
 * to a backing device, same-filled-page detection, and the per-slot lock.
 * The slot lock would only contend between two requests for one slot, and
 * the swap layer never issues those at once: a slot is read or written only
 * by the holder of its SWAP_HAS_CACHE, with the folio locked.
 */
#ifndef SIM_MM_ZRAM_H
#define SIM_MM_ZRAM_H

#include "mm/blkdev.h"
#include "mm/latency.h"
#include "mm/scenario_devices.h"

struct zram {
	struct block_device bdev;
	enum zram_comp comp;
	struct latency_dist read_cost;		/* decompress one page */
	struct latency_dist write_cost;		/* compress one page */
	uint64_t reads;				/* pages, for tests */
	uint64_t writes;
};

/*
 * A zram device in the arena.  read_cost / write_cost override the
 * compressor's defaults when not NULL.
 */
struct block_device *zram_create(struct arena *a, const char *name,
				 enum zram_comp comp,
				 const struct latency_spec *read_cost,
				 const struct latency_spec *write_cost);

static inline struct zram *bdev_zram(struct block_device *bdev)
{
	return (struct zram *)bdev->private_data;
}

/* The compressor's default per-page costs (see zram.c for the sources). */
void zram_cost_default(enum zram_comp comp, struct latency_spec *read_cost,
		       struct latency_spec *write_cost);

const char *zram_comp_name(enum zram_comp comp);

#endif /* SIM_MM_ZRAM_H */
