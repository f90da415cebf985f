/*
 * test_scenario_devices.c: the `devices` and `swap` sections of the
 * scenario loader (mm/scenario_devices.c) and building them into a world
 * (mm/devices.c).  Loads good sections and checks presets, defaults and
 * overrides land in the frozen scenario; loads malformed ones and checks
 * each error names the JSON path at fault and what was expected; builds a
 * world from a scenario and checks the devices and the swap device exist
 * with the settings given.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "mm/devices.h"
#include "mm/scenario.h"
#include "mm/world.h"
#include "mm/zram.h"
#include "tests/support.h"

static const char good[] =
	"{ \"name\": \"devs\", \"machine\": { \"cpus\": 2 },\n"
	"  \"devices\": {\n"
	"    \"nvme0\": { \"kind\": \"disk\", \"preset\": \"nvme\" },\n"
	"    \"hdd0\": { \"kind\": \"disk\", \"preset\": \"hdd\", \"queue_depth\": 4,\n"
	"              \"write_latency\": { \"model\": \"fixed\", \"ns\": \"8ms\" } },\n"
	"    \"z\": { \"kind\": \"zram\", \"compressor\": \"zstd\" },\n"
	"    \"slow\": { \"kind\": \"disk\",\n"
	"              \"latency\": { \"model\": \"uniform\", \"min\": \"1ms\", \"max\": 3000000 } }\n"
	"  },\n"
	"  \"swap\": { \"device\": \"z\", \"slots\": 512 },\n"
	"  \"variants\": { \"on_hdd\": { \"swap\": { \"device\": \"hdd0\" } } },\n"
	"  \"tasks\": [ { \"ops\": [] } ] }\n";

static struct scenario *load(const char *text, const char *variant, char *err,
			     size_t len)
{
	return scenario_load_text(text, strlen(text), "t.json", variant, err,
				  len);
}

Test(scenario_devices, good_sections_load_with_presets_resolved)
{
	char err[512] = "";
	struct scenario *s = load(good, NULL, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	const struct scenario_devices *d = &s->devices;
	cr_assert_eq(d->count, 4);

	const struct scenario_device *nvme = &d->dev[0];
	cr_assert_str_eq(nvme->name, "nvme0");
	cr_assert_eq(nvme->kind, DEVICE_DISK);
	cr_assert_eq(nvme->preset, DISK_PRESET_NVME);
	cr_assert_eq(nvme->read_latency.model, LATENCY_LOGNORMAL);
	cr_assert_eq(nvme->read_latency.median_ns, 50000);
	cr_assert_eq(nvme->read_latency.p99_ns, 100000);
	cr_assert_eq(nvme->write_latency.median_ns, 50000);
	cr_assert_eq(nvme->queue_depth, 32);

	const struct scenario_device *hdd = &d->dev[1];
	cr_assert_eq(hdd->read_latency.median_ns, 6000000);
	cr_assert_eq(hdd->queue_depth, 4, "queue_depth overrides the preset");
	cr_assert_eq(hdd->write_latency.model, LATENCY_FIXED);
	cr_assert_eq(hdd->write_latency.ns, 8000000);

	const struct scenario_device *z = &d->dev[2];
	cr_assert_eq(z->kind, DEVICE_ZRAM);
	cr_assert_eq(z->compressor, ZRAM_COMP_ZSTD);
	cr_assert_eq(z->read_latency.median_ns, 5700);
	cr_assert_eq(z->write_latency.median_ns, 5700ull * 1380 / 470);

	const struct scenario_device *slow = &d->dev[3];
	cr_assert_eq(slow->preset, DISK_PRESET_NONE);
	cr_assert_eq(slow->read_latency.model, LATENCY_UNIFORM);
	cr_assert_eq(slow->read_latency.min_ns, 1000000);
	cr_assert_eq(slow->read_latency.max_ns, 3000000);
	cr_assert_eq(slow->write_latency.max_ns, 3000000,
		     "write_latency defaults to latency");
	cr_assert_eq(slow->queue_depth, 1);

	cr_assert(d->swap.configured);
	cr_assert_eq(d->swap.device, 2);
	cr_assert_eq(d->swap.slots, 512);
	scenario_free(s);

	s = load(good, "on_hdd", err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->devices.swap.device, 1, "the variant moved swap");
	cr_assert_eq(s->devices.swap.slots, 512);
	scenario_free(s);
}

Test(scenario_devices, no_sections_means_no_devices)
{
	char err[512] = "";
	struct scenario *s = load("{ \"name\": \"n\", \"tasks\": [ { \"ops\": [] } ] }",
				  NULL, err, sizeof(err));

	cr_assert_not_null(s, "%s", err);
	cr_assert_eq(s->devices.count, 0);
	cr_assert(!s->devices.swap.configured);
	scenario_free(s);
}

/* Each malformed document, and what its error must say: the JSON path at
 * fault and part of what was expected. */
static const struct {
	const char *devices;	/* the members after "name" */
	const char *path;
	const char *says;
} bad[] = {
	{ "\"devices\": { \"d0\": { \"preset\": \"nvme\" } }",
	  "t.json: devices.d0: ", "missing required key \"kind\"" },
	{ "\"devices\": { \"d0\": { \"kind\": \"ssd\" } }",
	  "t.json: devices.d0.kind: ", "\"ssd\" is not one of \"disk\", \"zram\"" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"model\": \"normal\", \"median\": 5 } } }",
	  "t.json: devices.d0.latency.model: ", "did you mean \"lognormal\"?" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"model\": \"lognormal\", \"median\": \"50us\", \"p99\": \"40us\" } } }",
	  "t.json: devices.d0.latency.p99: ", "p99 (40000 ns) is below median (50000 ns)" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"model\": \"uniform\", \"min\": \"3ms\", \"max\": \"1ms\" } } }",
	  "t.json: devices.d0.latency.min: ", "min (3000000 ns) is above max (1000000 ns)" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"preset\": \"hdd\", \"queue_depth\": 0 } }",
	  "t.json: devices.d0.queue_depth: ", "0 is out of range (1..128)" },
	{ "\"devices\": { \"z\": { \"kind\": \"zram\", \"preset\": \"nvme\" } }",
	  "t.json: devices.z.preset: ", "presets are for disks" },
	{ "\"devices\": { \"z\": { \"kind\": \"zram\", \"queue_depth\": 8 } }",
	  "t.json: devices.z.queue_depth: ", "zram is synchronous" },
	{ "\"devices\": { \"z\": { \"kind\": \"zram\", \"compressor\": \"lz5\" } }",
	  "t.json: devices.z.compressor: ", "did you mean \"lz4\"?" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"preset\": \"nvme\", \"compressor\": \"lz4\" } }",
	  "t.json: devices.d0.compressor: ", "belongs to zram devices" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latncy\": { \"model\": \"fixed\", \"ns\": 5 } } }",
	  "t.json: devices.d0.latncy: ", "unknown key; did you mean \"latency\"?" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"model\": \"fixed\", \"ns\": \"6 parsecs\" } } }",
	  "t.json: devices.d0.latency.ns: ", "expected a duration" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"model\": \"fixed\", \"ns\": 61000000000 } } }",
	  "t.json: devices.d0.latency.ns: ", "61000000000 ns is above the 60 s" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"model\": \"fixed\", \"median\": 5 } } }",
	  "t.json: devices.d0.latency.median: ", "unknown key (known keys: model, ns)" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\" } }",
	  "t.json: devices.d0: ", "a disk needs a \"preset\"" },
	{ "\"devices\": { \"d0\": { \"kind\": \"disk\", \"latency\": { \"ns\": 5 } } }",
	  "t.json: devices.d0.latency: ", "missing required key \"model\"" },
	{ "\"devices\": [ ]",
	  "t.json: devices: ", "expected an object of NAME" },
	{ "\"devices\": { \"nvme0\": { \"kind\": \"disk\", \"preset\": \"nvme\" } }, \"swap\": { \"device\": \"nvme1\" }",
	  "t.json: swap.device: ", "no device \"nvme1\"; did you mean \"nvme0\"?" },
	{ "\"swap\": { \"device\": \"z\" }",
	  "t.json: swap.device: ", "the scenario declares no devices" },
	{ "\"devices\": { \"z\": { \"kind\": \"zram\" } }, \"swap\": { \"device\": \"z\", \"slots\": 5000 }",
	  "t.json: swap.slots: ", "5000 is out of range (1..4095)" },
	{ "\"devices\": { \"z\": { \"kind\": \"zram\" } }, \"swap\": { \"device\": \"z\", \"slot\": 5 }",
	  "t.json: swap.slot: ", "did you mean \"slots\"?" },
	{ "\"devices\": { \"a\": { \"kind\": \"zram\" }, \"b\": { \"kind\": \"zram\" }, \"c\": { \"kind\": \"zram\" }, \"d\": { \"kind\": \"zram\" }, \"e\": { \"kind\": \"zram\" } }",
	  "t.json: devices.e: ", "at most 4 devices" },
	{ "\"devices\": { \"z\": { \"kind\": \"zram\" }, \"z\": { \"kind\": \"zram\" } }",
	  "t.json: devices.z: ", "declared twice" },
};

Test(scenario_devices, malformed_sections_name_their_path)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char doc[1024], err[512] = "";
		snprintf(doc, sizeof(doc),
			 "{ \"name\": \"bad\", %s, \"tasks\": [ { \"ops\": [] } ] }",
			 bad[i].devices);
		struct scenario *s = load(doc, NULL, err, sizeof(err));
		cr_assert_null(s, "case %zu loaded", i);
		cr_expect(strncmp(err, bad[i].path, strlen(bad[i].path)) == 0,
			  "case %zu: \"%s\" does not start with \"%s\"", i,
			  err, bad[i].path);
		cr_expect(strstr(err, bad[i].says) != NULL,
			  "case %zu: \"%s\" does not say \"%s\"", i, err,
			  bad[i].says);
	}
}

/* -------------------------------------------------------------- the world */

static struct scenario *world_scenario;
static struct world_devices *built;

static void build_world(struct engine *e, void *arg)
{
	(void)arg;
	world_build(e, world_scenario);
	built = NULL;
}

Test(scenario_devices, world_build_makes_the_devices)
{
	char err[512] = "";
	struct engine *e = test_engine(2);

	world_scenario = load(good, NULL, err, sizeof(err));
	cr_assert_not_null(world_scenario, "%s", err);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_world, NULL),
		     RUN_OK);
	struct block_device *nvme = bdev_lookup("nvme0");
	struct block_device *z = bdev_lookup("z");
	cr_assert_not_null(nvme);
	cr_assert_not_null(z);
	cr_assert_null(bdev_lookup("sda"));
	cr_assert_eq(nvme->queue_depth, 32);
	cr_assert(!nvme->synchronous);
	cr_assert_eq(nvme->read_latency.spec.median_ns, 50000);
	cr_assert_eq(bdev_lookup("hdd0")->write_latency.spec.ns, 8000000);
	cr_assert(z->synchronous);
	cr_assert_eq(bdev_zram(z)->comp, ZRAM_COMP_ZSTD);
	struct swap_info_struct *si = swap_device();
	cr_assert_not_null(si);
	cr_assert_eq(si->bdev, z);
	cr_assert_eq(si->max, 513);
	cr_assert(si->flags & SWP_SYNCHRONOUS_IO);
	swap_check_invariants(si);
	engine_end(e);
	scenario_free(world_scenario);

	/* Swap on the disk: not synchronous. */
	world_scenario = load(good, "on_hdd", err, sizeof(err));
	cr_assert_not_null(world_scenario, "%s", err);
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_world, NULL),
		     RUN_OK);
	cr_assert_eq(swap_device()->bdev, bdev_lookup("hdd0"));
	cr_assert(!(swap_device()->flags & SWP_SYNCHRONOUS_IO));
	engine_end(e);
	scenario_free(world_scenario);

	/* No swap section: no swap device. */
	world_scenario = load("{ \"name\": \"n\", \"tasks\": [ { \"ops\": [] } ] }",
			      NULL, err, sizeof(err));
	cr_assert_eq(test_run(e, STRATEGY_TIMED, 1, build_world, NULL),
		     RUN_OK);
	cr_assert_null(swap_device());
	scenario_free(world_scenario);
	test_engine_done(e);
}
