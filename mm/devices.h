/*
 * devices.h: a world's block devices and swap device, built from the
 * scenario's `devices` and `swap` sections, and found by name (a file's
 * backing disk, in traces and tests).  Not the device models (blkdev.h,
 * zram.h, swapfile.h) nor the loader (scenario_devices.c).
 */
#ifndef SIM_MM_DEVICES_H
#define SIM_MM_DEVICES_H

#include "engine/engine.h"
#include "mm/blkdev.h"
#include "mm/scenario_devices.h"
#include "mm/swapfile.h"

struct world_devices {
	uint32_t count;
	struct block_device *bdev[DEVICES_MAX];	/* in scenario order */
	struct swap_info_struct *swap;		/* NULL without swap */
};

/* Build every device of d in e's arena, in the order the scenario declares
 * them, then enable swap if configured.  world_build calls it; it replaces
 * the previous world's devices (also when d declares none). */
struct world_devices *devices_build(struct engine *e,
				    const struct scenario_devices *d);

/* The device of this world called name, or NULL. */
struct block_device *bdev_lookup(const char *name);

#endif /* SIM_MM_DEVICES_H */
