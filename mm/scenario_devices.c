/*
 * scenario_devices.c: the loader of a scenario's `devices` and `swap`
 * sections (their shape is in scenario_devices.h).  Resolves presets and
 * compressor defaults, so the frozen scenario names every latency
 * explicitly.  Every error names its JSON path and what was expected, as
 * the rest of the loader does.  Not the devices: nothing here touches the
 * engine.
 */
#include <stdio.h>
#include <string.h>

#include "mm/blkdev.h"
#include "mm/jread.h"
#include "mm/scenario_devices.h"
#include "mm/types.h"
#include "mm/zram.h"

static const char *const kind_names[] = { "disk", "zram", NULL };
static const char *const preset_names[] = { "nvme", "hdd", NULL };
static const char *const comp_names[] = { "lz4", "zstd", NULL };
static const char *const model_names[] = { "fixed", "uniform", "lognormal",
					   NULL };

static_assert(DEVICE_ZRAM == 1 && ZRAM_COMP_ZSTD == 1,
	      "name tables follow the enums");
static_assert(DISK_PRESET_NVME == 1 && DISK_PRESET_HDD == 2,
	      "preset names are offset by DISK_PRESET_NONE");
static_assert(LATENCY_LOGNORMAL == 2, "model names follow the enum");

/* `key` of obj, a latency: { model, and the model's members }.  Leaves
 * *out alone when the key is absent. */
static bool read_latency(struct jread *r, const cJSON *obj, const char *key,
			 struct latency_spec *out, bool *present)
{
	static const char *const any_keys[] = { "model", "ns", "min", "max",
						"median", "p99", NULL };
	static const char *const keys[LATENCY_MODELS_COUNT][4] = {
		[LATENCY_FIXED] = { "model", "ns", NULL },
		[LATENCY_UNIFORM] = { "model", "min", "max", NULL },
		[LATENCY_LOGNORMAL] = { "model", "median", "p99", NULL },
	};
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	struct latency_spec s = { 0 };
	int model = 0;
	bool ok;

	*present = v != NULL;
	if (!v)
		return true;
	size_t at = jread_push_key(r, key);
	ok = jread_object(r, v, any_keys) &&
	     jread_enum(r, v, "model", true, model_names, &model) &&
	     jread_object(r, v, keys[model]);
	if (ok) {
		s.model = (enum latency_model)model;
		switch (s.model) {
		case LATENCY_FIXED:
			ok = jread_duration(r, v, "ns", true, &s.ns);
			break;
		case LATENCY_UNIFORM:
			ok = jread_duration(r, v, "min", true, &s.min_ns) &&
			     jread_duration(r, v, "max", true, &s.max_ns);
			break;
		case LATENCY_LOGNORMAL:
			ok = jread_duration(r, v, "median", true,
					    &s.median_ns) &&
			     jread_duration(r, v, "p99", true, &s.p99_ns);
			break;
		case LATENCY_MODELS_COUNT:
			SIM_ASSERT(!"jread_enum returned a model past the list");
		}
	}
	if (ok) {
		char buf[192];
		const char *bad_key;
		const char *why = latency_spec_check(&s, &bad_key, buf,
						     sizeof(buf));
		if (why)
			ok = jread_fail_at(r, bad_key, "%s", why);
	}
	jread_pop(r, at);
	if (ok)
		*out = s;
	return ok;
}

static bool read_disk(struct jread *r, const cJSON *v,
		      struct scenario_device *dev)
{
	bool has_latency, has_write;
	int preset = -1;

	SIM_ASSERT(cJSON_IsObject(v));
	SIM_ASSERT(dev->kind == DEVICE_DISK);
	if (cJSON_GetObjectItemCaseSensitive(v, "compressor"))
		return jread_fail_at(r, "compressor",
				     "a compressor belongs to zram devices; this one is a disk");
	if (!jread_enum(r, v, "preset", false, preset_names, &preset))
		return false;
	dev->preset = (enum disk_preset)(preset + 1);
	dev->queue_depth = 1;
	if (dev->preset != DISK_PRESET_NONE)
		disk_preset_get(dev->preset, &dev->read_latency,
				&dev->queue_depth);
	if (!read_latency(r, v, "latency", &dev->read_latency, &has_latency))
		return false;
	if (dev->preset == DISK_PRESET_NONE && !has_latency)
		return jread_fail(r, "a disk needs a \"preset\" (\"nvme\" or \"hdd\") or a \"latency\"");
	dev->write_latency = dev->read_latency;
	return read_latency(r, v, "write_latency", &dev->write_latency,
			    &has_write) &&
	       jread_u32(r, v, "queue_depth", false, 1, BLKDEV_REQUESTS_MAX,
			 &dev->queue_depth);
}

static bool read_zram(struct jread *r, const cJSON *v,
		      struct scenario_device *dev)
{
	bool present;
	int comp = ZRAM_COMP_LZ4;

	SIM_ASSERT(cJSON_IsObject(v));
	SIM_ASSERT(dev->kind == DEVICE_ZRAM);
	if (cJSON_GetObjectItemCaseSensitive(v, "preset"))
		return jread_fail_at(r, "preset",
				     "presets are for disks; a zram device's costs follow its \"compressor\"");
	if (cJSON_GetObjectItemCaseSensitive(v, "queue_depth"))
		return jread_fail_at(r, "queue_depth",
				     "zram is synchronous: each request is done by the task that submits it, so there is no queue");
	if (!jread_enum(r, v, "compressor", false, comp_names, &comp))
		return false;
	dev->compressor = (enum zram_comp)comp;
	zram_cost_default(dev->compressor, &dev->read_latency,
			  &dev->write_latency);
	return read_latency(r, v, "latency", &dev->read_latency, &present) &&
	       read_latency(r, v, "write_latency", &dev->write_latency,
			    &present);
}

static bool read_device(struct jread *r, const cJSON *v,
			struct scenario_device *dev)
{
	static const char *const keys[] = { "kind", "preset", "latency",
					    "write_latency", "queue_depth",
					    "compressor", NULL };
	int kind = 0;

	SIM_ASSERT(r != NULL && dev != NULL);
	SIM_ASSERT(dev->name[0] != '\0');
	if (!jread_object(r, v, keys) ||
	    !jread_enum(r, v, "kind", true, kind_names, &kind))
		return false;
	dev->kind = (enum device_kind)kind;
	if (dev->kind == DEVICE_ZRAM)
		return read_zram(r, v, dev);
	return read_disk(r, v, dev);
}

/* "a, b, c" of the declared device names, for messages. */
static void device_names(const struct scenario_devices *d, char *buf,
			 size_t len)
{
	size_t at = 0;

	SIM_ASSERT(buf != NULL && len > 0);
	SIM_ASSERT(d->count <= DEVICES_MAX);
	buf[0] = '\0';
	for (uint32_t i = 0; i < d->count && at + 1 < len; i++) {
		int n = snprintf(buf + at, len - at, "%s\"%s\"", i ? ", " : "",
				 d->dev[i].name);
		if (n > 0)
			at += (size_t)n;
	}
}

static bool read_swap(struct jread *r, const cJSON *v,
		      struct scenario_devices *d)
{
	static const char *const keys[] = { "device", "slots", NULL };
	char name[DEVICE_NAME_MAX] = "";
	struct scenario_swap *sw = &d->swap;

	SIM_ASSERT(r != NULL && v != NULL);
	SIM_ASSERT(!sw->configured);
	sw->slots = SWAP_SLOTS_MAX - 1;
	if (!jread_object(r, v, keys) ||
	    !jread_str(r, v, "device", true, name, sizeof(name)) ||
	    !jread_u32(r, v, "slots", false, 1, SWAP_SLOTS_MAX - 1,
		       &sw->slots))
		return false;
	int i = scenario_device_find(d, name);
	if (i < 0) {
		const char *known[DEVICES_MAX + 1] = { NULL };
		char list[DEVICES_MAX * (DEVICE_NAME_MAX + 4)];
		for (uint32_t j = 0; j < d->count; j++)
			known[j] = d->dev[j].name;
		const char *near = jread_suggest(name, known);
		device_names(d, list, sizeof(list));
		if (near)
			return jread_fail_at(r, "device",
					     "no device \"%s\"; did you mean \"%s\"?",
					     name, near);
		if (d->count == 0)
			return jread_fail_at(r, "device",
					     "no device \"%s\": the scenario declares no devices",
					     name);
		return jread_fail_at(r, "device",
				     "no device \"%s\" (devices: %s)", name,
				     list);
	}
	sw->configured = true;
	sw->device = (uint32_t)i;
	return true;
}

int scenario_device_find(const struct scenario_devices *d, const char *name)
{
	SIM_ASSERT(d != NULL && name != NULL);
	SIM_ASSERT(d->count <= DEVICES_MAX);
	for (uint32_t i = 0; i < d->count; i++)
		if (strcmp(d->dev[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool scenario_read_devices(struct jread *r, const struct cJSON *doc,
			   struct scenario_devices *d)
{
	const cJSON *devs = cJSON_GetObjectItemCaseSensitive(doc, "devices");
	const cJSON *swap = cJSON_GetObjectItemCaseSensitive(doc, "swap");

	SIM_ASSERT(r != NULL && d != NULL);
	SIM_ASSERT(cJSON_IsObject(doc));
	*d = (struct scenario_devices){ 0 };
	if (devs) {
		size_t at = jread_push_key(r, "devices");
		if (!cJSON_IsObject(devs))
			return jread_fail(r, "expected an object of NAME: { kind, ... }");
		for (const cJSON *v = devs->child; v; v = v->next) {
			size_t len = strlen(v->string);
			if (d->count >= DEVICES_MAX)
				return jread_fail_at(r, v->string,
						     "at most %d devices",
						     DEVICES_MAX);
			if (len == 0 || len >= DEVICE_NAME_MAX)
				return jread_fail_at(r, v->string,
						     "device names are 1 to %d characters",
						     DEVICE_NAME_MAX - 1);
			if (scenario_device_find(d, v->string) >= 0)
				return jread_fail_at(r, v->string,
						     "device \"%s\" is declared twice",
						     v->string);
			struct scenario_device *dev = &d->dev[d->count];
			snprintf(dev->name, sizeof(dev->name), "%s", v->string);
			size_t at2 = jread_push_key(r, v->string);
			if (!read_device(r, v, dev))
				return false;
			jread_pop(r, at2);
			d->count++;
		}
		jread_pop(r, at);
	}
	if (swap) {
		size_t at = jread_push_key(r, "swap");
		if (!read_swap(r, swap, d))
			return false;
		jread_pop(r, at);
	}
	return true;
}
