/*
 * scenario_devices.h: the `devices` and `swap` sections of a scenario as
 * the loader freezes them (mm/scenario_devices.c reads them; devices.c
 * builds them into a world).  Presets and defaults are resolved by the
 * loader, so every device here carries explicit latencies.  Not the devices
 * themselves (blkdev.h, zram.h, swapfile.h).
 *
 *   devices: { NAME: { kind: "disk" | "zram",
 *                      preset: "nvme" | "hdd",               (disks)
 *                      latency: { model: "fixed", ns }
 *                             | { model: "uniform", min, max }
 *                             | { model: "lognormal", median, p99 },
 *                      write_latency: { ... as latency ... },
 *                      queue_depth: N,                       (disks)
 *                      compressor: "lz4" | "zstd" } }        (zram)
 *   swap: { device: NAME, slots: N }
 *
 * For a disk, `latency` is the service time of one request (default: the
 * preset's); `write_latency` defaults to `latency`.  For zram, `latency` is
 * the CPU cost of reading (decompressing) one page and `write_latency` of
 * writing (compressing) one; both default to the compressor's.
 */
#ifndef SIM_MM_SCENARIO_DEVICES_H
#define SIM_MM_SCENARIO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "mm/latency.h"

/* Block devices per world: a scenario compares at most a swap device and
 * the disk its files live on; four leaves room for a file on each kind. */
#define DEVICES_MAX 4
/* Device names, as the scenario spells them in paths and traces. */
#define DEVICE_NAME_MAX 32

enum device_kind {
	DEVICE_DISK = 0,
	DEVICE_ZRAM,
	DEVICE_KINDS_COUNT,
};

enum disk_preset {
	DISK_PRESET_NONE = 0,
	DISK_PRESET_NVME,
	DISK_PRESET_HDD,
	DISK_PRESETS_COUNT,
};

enum zram_comp {
	ZRAM_COMP_LZ4 = 0,
	ZRAM_COMP_ZSTD,
	ZRAM_COMPS_COUNT,
};

struct scenario_device {
	char name[DEVICE_NAME_MAX];
	enum device_kind kind;
	enum disk_preset preset;	/* disks; NONE when not given */
	enum zram_comp compressor;	/* zram */
	struct latency_spec read_latency;
	struct latency_spec write_latency;
	uint32_t queue_depth;		/* disks */
};

struct scenario_swap {
	bool configured;
	uint32_t device;		/* index into scenario_devices.dev */
	uint32_t slots;			/* usable slots (offset 0 excluded) */
};

struct scenario_devices {
	uint32_t count;
	struct scenario_device dev[DEVICES_MAX];
	struct scenario_swap swap;
};

struct jread;
struct cJSON;

/* Read `devices` and `swap` from the scenario document (both optional).
 * False, with the error recorded in r, on bad input. */
bool scenario_read_devices(struct jread *r, const struct cJSON *doc,
			   struct scenario_devices *d);

/* The index of the device called `name`, or -1. */
int scenario_device_find(const struct scenario_devices *d, const char *name);

#endif /* SIM_MM_SCENARIO_DEVICES_H */
