/*
 * devices.c: building a world's devices from the scenario (see devices.h).
 * Not the loader: the scenario arrives validated, presets resolved.
 */
#include <string.h>

#include "mm/devices.h"
#include "mm/zram.h"

/* This world's devices, in its arena; replaced by the next devices_build. */
static struct world_devices *world_devices;

struct world_devices *devices_build(struct engine *e,
				    const struct scenario_devices *d)
{
	struct world_devices *w = arena_new(&e->arena, struct world_devices);

	SIM_ASSERT(d != NULL);
	SIM_ASSERT(d->count <= DEVICES_MAX);
	swap_world_reset();
	for (uint32_t i = 0; i < d->count; i++) {
		const struct scenario_device *sd = &d->dev[i];
		if (sd->kind == DEVICE_ZRAM)
			w->bdev[i] = zram_create(&e->arena, sd->name,
						 sd->compressor,
						 &sd->read_latency,
						 &sd->write_latency);
		else
			w->bdev[i] = blkdev_create_disk(&e->arena, sd->name,
							&sd->read_latency,
							&sd->write_latency,
							sd->queue_depth);
	}
	w->count = d->count;
	if (d->swap.configured) {
		SIM_ASSERT(d->swap.device < d->count);
		w->swap = swapon(&e->arena, w->bdev[d->swap.device],
				 d->swap.slots);
	}
	world_devices = w;
	return w;
}

struct block_device *bdev_lookup(const char *name)
{
	SIM_ASSERT(name != NULL);
	SIM_ASSERT(world_devices != NULL);
	for (uint32_t i = 0; i < world_devices->count; i++)
		if (strcmp(world_devices->bdev[i]->name, name) == 0)
			return world_devices->bdev[i];
	return NULL;
}
