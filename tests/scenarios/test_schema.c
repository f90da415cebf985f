/*
 * test_schema.c: scenarios/scenario.schema.json against the loader
 * (mm/scenario.c), so that the documented format and the accepted one
 * cannot drift apart.  Three checks:
 *
 *  1. Keys.  For every object section of the schema, a scenario with an
 *     unknown key in that section makes the loader list the keys it knows
 *     ("unknown key (known keys: ...)"); that list must equal the
 *     section's documented `properties`.  Every object section of the
 *     schema must be covered by a row of the table below, so a section
 *     added to the schema without a row fails, and a key added to the
 *     loader without documentation fails its row.
 *  2. Values.  Every documented strategy and finding kind is accepted, and
 *     the loader's own list of strategies equals the schema's enum, and
 *     the schema's metric names are exactly analysis/metrics.c's.
 *  3. Documents.  Every shipped scenario, and the example in
 *     scenarios/README.md, is valid under the schema (checked by the small
 *     validator below, which knows exactly the keywords the schema uses and
 *     fails on any other) and loads; every malformed fixture that the
 *     schema can describe is invalid under it.
 */
#include <dirent.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <criterion/criterion.h>

#include "analysis/metrics.h"

#include "mm/scenario.h"
#include "tests/support.h"

#define SCHEMA SIMRUN_SOURCE_DIR "/scenarios/scenario.schema.json"
#define UNKNOWN "zzzzzzzzzzzzzz"

static cJSON *schema;

static void load_schema(void)
{
	char *text = test_read_file(SCHEMA);
	schema = cJSON_Parse(text);
	cr_assert(schema != NULL, "%s is not JSON", SCHEMA);
	free(text);
}

static void free_schema(void)
{
	cJSON_Delete(schema);
}

TestSuite(schema, .init = load_schema, .fini = free_schema);

static const cJSON *def(const char *name)
{
	if (strcmp(name, "#") == 0)
		return schema;
	const cJSON *d = cJSON_GetObjectItem(cJSON_GetObjectItem(schema, "$defs"), name);
	cr_assert(d != NULL, "no $defs/%s in the schema", name);
	return d;
}

static const cJSON *resolve(const cJSON *s)
{
	const cJSON *ref = cJSON_GetObjectItem(s, "$ref");
	if (!ref)
		return s;
	cr_assert(strncmp(ref->valuestring, "#/$defs/", 8) == 0, "%s", ref->valuestring);
	return def(ref->valuestring + 8);
}

/* ------------------------------------------------------- the validator */

static const char *const keywords[] = {
	"$schema", "$id", "$defs", "$ref", "title", "description", "type",
	"properties", "required", "patternProperties", "additionalProperties",
	"propertyNames", "items", "minItems", "maxItems", "minProperties",
	"maxProperties", "enum", "minimum", "maximum", "minLength", "maxLength",
	"pattern", "oneOf", "anyOf", NULL,
};

/* Every schema object in the document uses only the keywords above, so
 * that the validator never skips a constraint it does not know. */
static void check_keywords(const cJSON *s, const char *where)
{
	if (cJSON_IsBool(s))
		return;
	cr_assert(cJSON_IsObject(s), "%s: a schema is an object", where);
	for (const cJSON *k = s->child; k; k = k->next) {
		bool known = false;
		for (int i = 0; keywords[i]; i++)
			known |= strcmp(k->string, keywords[i]) == 0;
		cr_assert(known, "%s: keyword %s is not one the validator knows", where, k->string);
		char sub[256];
		snprintf(sub, sizeof(sub), "%s/%s", where, k->string);
		if (!strcmp(k->string, "properties") || !strcmp(k->string, "$defs") ||
		    !strcmp(k->string, "patternProperties"))
			for (const cJSON *p = k->child; p; p = p->next)
				check_keywords(p, sub);
		else if (!strcmp(k->string, "oneOf") || !strcmp(k->string, "anyOf"))
			for (const cJSON *p = k->child; p; p = p->next)
				check_keywords(p, sub);
		else if (!strcmp(k->string, "items") || !strcmp(k->string, "propertyNames") ||
			 (!strcmp(k->string, "additionalProperties") && cJSON_IsObject(k)))
			check_keywords(k, sub);
	}
}

static bool matches(const char *pattern, const char *s)
{
	regex_t re;
	cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "regex %s", pattern);
	bool m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool json_equal(const cJSON *a, const cJSON *b)
{
	return cJSON_Compare(a, b, true);
}

static bool valid(const cJSON *s, const cJSON *v);

static bool valid_type(const char *t, const cJSON *v)
{
	if (!strcmp(t, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(t, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(t, "string"))
		return cJSON_IsString(v);
	if (!strcmp(t, "null"))
		return cJSON_IsNull(v);
	if (!strcmp(t, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(t, "number"))
		return cJSON_IsNumber(v);
	if (!strcmp(t, "integer"))
		return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
	cr_assert_fail("type %s", t);
	return false;
}

static bool valid_object(const cJSON *s, const cJSON *v)
{
	const cJSON *props = cJSON_GetObjectItem(s, "properties");
	const cJSON *pats = cJSON_GetObjectItem(s, "patternProperties");
	const cJSON *addl = cJSON_GetObjectItem(s, "additionalProperties");
	const cJSON *names = cJSON_GetObjectItem(s, "propertyNames");
	const cJSON *k;
	int n = cJSON_GetArraySize(v);

	if ((k = cJSON_GetObjectItem(s, "minProperties")) && n < k->valueint)
		return false;
	if ((k = cJSON_GetObjectItem(s, "maxProperties")) && n > k->valueint)
		return false;
	cJSON_ArrayForEach(k, cJSON_GetObjectItem(s, "required"))
		if (!cJSON_GetObjectItemCaseSensitive(v, k->valuestring))
			return false;
	for (const cJSON *m = v->child; m; m = m->next) {
		bool covered = false;
		if (names) {
			cJSON *name = cJSON_CreateString(m->string);
			bool ok = valid(names, name);
			cJSON_Delete(name);
			if (!ok)
				return false;
		}
		const cJSON *p = props ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
		if (p) {
			covered = true;
			if (!valid(p, m))
				return false;
		}
		for (const cJSON *pp = pats ? pats->child : NULL; pp; pp = pp->next) {
			if (matches(pp->string, m->string)) {
				covered = true;
				if (!valid(pp, m))
					return false;
			}
		}
		if (!covered && addl && !valid(addl, m))
			return false;
	}
	return true;
}

static bool valid(const cJSON *s, const cJSON *v)
{
	const cJSON *k;

	if (cJSON_IsBool(s))
		return cJSON_IsTrue(s);
	if (cJSON_GetObjectItem(s, "$ref"))
		return valid(resolve(s), v);
	if ((k = cJSON_GetObjectItem(s, "type")) && !valid_type(k->valuestring, v))
		return false;
	if ((k = cJSON_GetObjectItem(s, "enum"))) {
		bool in = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, k)
			in |= json_equal(e, v);
		if (!in)
			return false;
	}
	if ((k = cJSON_GetObjectItem(s, "anyOf"))) {
		bool any = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, k)
			any |= valid(e, v);
		if (!any)
			return false;
	}
	if ((k = cJSON_GetObjectItem(s, "oneOf"))) {
		int n = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, k)
			n += valid(e, v);
		if (n != 1)
			return false;
	}
	if (cJSON_IsNumber(v)) {
		if ((k = cJSON_GetObjectItem(s, "minimum")) && v->valuedouble < k->valuedouble)
			return false;
		if ((k = cJSON_GetObjectItem(s, "maximum")) && v->valuedouble > k->valuedouble)
			return false;
	}
	if (cJSON_IsString(v)) {
		size_t n = utf8_chars(v->valuestring);
		if ((k = cJSON_GetObjectItem(s, "minLength")) && n < (size_t)k->valueint)
			return false;
		if ((k = cJSON_GetObjectItem(s, "maxLength")) && n > (size_t)k->valueint)
			return false;
		if ((k = cJSON_GetObjectItem(s, "pattern")) && !matches(k->valuestring, v->valuestring))
			return false;
	}
	if (cJSON_IsArray(v)) {
		int n = cJSON_GetArraySize(v);
		if ((k = cJSON_GetObjectItem(s, "minItems")) && n < k->valueint)
			return false;
		if ((k = cJSON_GetObjectItem(s, "maxItems")) && n > k->valueint)
			return false;
		if ((k = cJSON_GetObjectItem(s, "items"))) {
			const cJSON *e;
			cJSON_ArrayForEach(e, v)
				if (!valid(k, e))
					return false;
		}
	}
	if (cJSON_IsObject(v) && !valid_object(s, v))
		return false;
	return true;
}

Test(schema, uses_only_keywords_the_validator_knows)
{
	check_keywords(schema, "#");
	cr_expect_str_eq(cJSON_GetObjectItem(schema, "$schema")->valuestring,
			 "https://json-schema.org/draft/2020-12/schema");
}

/* The validator itself: what it must reject, so that "valid" below means
 * something. */
Test(schema, validator_rejects_what_the_schema_forbids)
{
	static const char *const bad[] = {
		"{\"tasks\": [{\"ops\": []}]}",			/* no name */
		"{\"name\": \"x\", \"tasks\": []}",		/* no task */
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}], \"extra\": 1}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": [{\"sleep\": {\"ns\": \"5 parsecs\"}}]}]}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": [{\"sleep\": {\"ns\": 1}, \"x\": {}}]}]}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}], \"explore\": {\"schedules\": 0}}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}], \"expect\": [\"deadlok\"]}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}], \"variants\": {\"v\": {\"variants\": {}}}}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}], \"machine\": {\"cpus\": 1.5}}",
	};
	static const char *const good[] = {
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}]}",
		"{\"$schema\": \"s\", \"// note\": 1, \"name\": \"x\", \"tasks\": [{\"ops\": [{\"sleep\": {\"ns\": \"1.7us\"}}]}]}",
		"{\"name\": \"x\", \"tasks\": [{\"ops\": []}], \"variants\": {\"v\": {\"explore\": {\"schedules\": null}, \"expect\": []}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *d = cJSON_Parse(bad[i]);
		cr_assert(d);
		cr_expect(!valid(schema, d), "accepted: %s", bad[i]);
		cJSON_Delete(d);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cJSON *d = cJSON_Parse(good[i]);
		cr_assert(d);
		cr_expect(valid(schema, d), "rejected: %s", good[i]);
		cJSON_Delete(d);
	}
}

/* ----------------------------------------------------------- sections */

/* A scenario in which every section exists once, every operation too, and
 * a variant patches every object section. */
static const char base_scenario[] =
	"{\"name\": \"keys\", \"machine\": {\"cpus\": 2},"
	" \"kernel\": {\"fault_retry\": \"drop_once\"},"
	" \"files\": [{\"name\": \"f\", \"size\": \"8 pages\", \"cached\": \"all\"}],"
	" \"vmas\": [{\"name\": \"map\", \"start\": 0, \"pages\": 8, \"kind\": \"file_shared\", \"file\": \"f\"},"
	"            {\"name\": \"anon\", \"start\": 16, \"pages\": 4, \"kind\": \"anon\", \"anon_vma\": true}],"
	" \"devices\": {\"d\": {\"kind\": \"disk\", \"preset\": \"nvme\", \"latency\": {\"model\": \"fixed\", \"ns\": \"50us\"}},"
	"               \"z\": {\"kind\": \"zram\"}},"
	" \"swap\": {\"device\": \"z\"},"
	" \"tasks\": [{\"name\": \"a\", \"cpu\": 0, \"ops\": ["
	"   {\"sleep\": {\"ns\": 5}},"
	"   {\"fault\": {\"vma\": \"map\", \"page\": 1}},"
	"   {\"write\": {\"file\": \"f\", \"offset_pages\": 0, \"source_vma\": \"anon\", \"source_page\": 0}},"
	"   {\"mmap\": {\"name\": \"m2\", \"start\": 32, \"pages\": 2, \"kind\": \"anon\"}},"
	"   {\"mprotect\": {\"vma\": \"m2\", \"write\": false}},"
	"   {\"munmap\": {\"vma\": \"m2\"}},"
	"   {\"store\": {\"vma\": \"anon\", \"page\": 0}},"
	"   {\"gup_write\": {\"vma\": \"anon\", \"page\": 1, \"hold\": \"1us\"}},"
	"   {\"reclaim\": {\"vma\": \"anon\", \"pages\": [0, 2]}},"
	"   {\"truncate\": {\"file\": \"f\", \"size\": \"4 pages\"}},"
	"   {\"punch_hole\": {\"file\": \"f\", \"offset_pages\": 1}},"
	"   {\"migrate\": {\"vma\": \"anon\", \"page\": 0}}]}],"
	" \"explore\": {\"strategy\": \"random\"},"
	" \"checks\": {\"fault_retries_max\": 8},"
	" \"variants\": {\"v\": {\"machine\": {\"cpus\": 1}, \"explore\": {\"schedules\": 2},"
	"   \"checks\": {\"hung_task_timeout\": \"1s\"},"
	"   \"kernel\": {\"fault_around\": \"trylock\"}, \"swap\": {\"slots\": 8},"
	"   \"devices\": {\"d\": {\"queue_depth\": 2}}}},"
	" \"expect\": []}";

struct section {
	const char *def;	/* the schema's $defs name, "#" for the top */
	const char *path;	/* where it is in base_scenario */
	const char *variant;	/* load with this variant */
	const char *same_as;	/* a *_patch section must list these keys */
};

static const struct section sections[] = {
	{ "#", "", NULL, NULL },
	{ "machine", "machine", NULL, NULL },
	{ "kernel", "kernel", NULL, NULL },
	{ "file", "files[0]", NULL, NULL },
	{ "vma", "vmas[0]", NULL, NULL },
	{ "device", "devices.d", NULL, NULL },
	{ "latency", "devices.d.latency", NULL, NULL },
	{ "swap", "swap", NULL, NULL },
	{ "task", "tasks[0]", NULL, NULL },
	{ "op", "tasks[0].ops[0]", NULL, NULL },
	{ "op_sleep", "tasks[0].ops[0].sleep", NULL, NULL },
	{ "op_fault", "tasks[0].ops[1].fault", NULL, NULL },
	{ "op_write", "tasks[0].ops[2].write", NULL, NULL },
	{ "op_mmap", "tasks[0].ops[3].mmap", NULL, NULL },
	{ "op_mprotect", "tasks[0].ops[4].mprotect", NULL, NULL },
	{ "op_munmap", "tasks[0].ops[5].munmap", NULL, NULL },
	{ "op_store", "tasks[0].ops[6].store", NULL, NULL },
	{ "op_gup_write", "tasks[0].ops[7].gup_write", NULL, NULL },
	{ "op_reclaim", "tasks[0].ops[8].reclaim", NULL, NULL },
	{ "op_truncate", "tasks[0].ops[9].truncate", NULL, NULL },
	{ "op_punch_hole", "tasks[0].ops[10].punch_hole", NULL, NULL },
	{ "op_migrate", "tasks[0].ops[11].migrate", NULL, NULL },
	{ "explore", "explore", NULL, NULL },
	{ "checks", "checks", NULL, NULL },
	{ "variant", "variants.v", "v", NULL },
	{ "machine_patch", "variants.v.machine", "v", "machine" },
	{ "kernel_patch", "variants.v.kernel", "v", "kernel" },
	{ "device_patch", "variants.v.devices.d", "v", "device" },
	{ "swap_patch", "variants.v.swap", "v", "swap" },
	{ "explore_patch", "variants.v.explore", "v", "explore" },
	{ "checks_patch", "variants.v.checks", "v", "checks" },
};
#define SECTIONS_COUNT (sizeof(sections) / sizeof(sections[0]))

/* Walk "a.b[0].c" from the document's root. */
static cJSON *at_path(cJSON *doc, const char *path)
{
	char buf[256];
	cJSON *v = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, ".")) {
		char *br = strchr(tok, '[');
		if (br)
			*br = '\0';
		v = cJSON_GetObjectItemCaseSensitive(v, tok);
		cr_assert(v != NULL, "no %s in the base scenario", tok);
		if (br)
			v = cJSON_GetArrayItem(v, atoi(br + 1));
		cr_assert(v != NULL, "no %s in the base scenario", path);
	}
	return v;
}

/* The documented keys of a section, without comment keys. */
static int documented(const cJSON *d, const char **keys, int max)
{
	int n = 0;
	for (const cJSON *p = cJSON_GetObjectItem(d, "properties")->child; p; p = p->next) {
		if (p->string[0] == '$' || strncmp(p->string, "//", 2) == 0)
			continue;
		cr_assert(n < max);
		keys[n++] = p->string;
	}
	return n;
}

static bool in_list(const char *const *keys, int n, const char *k)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], k) == 0)
			return true;
	return false;
}

Test(schema, every_object_section_has_a_row)
{
	const cJSON *defs = cJSON_GetObjectItem(schema, "$defs");
	for (const cJSON *d = defs->child; d; d = d->next) {
		if (!cJSON_GetObjectItem(d, "properties"))
			continue;
		bool found = false;
		for (size_t i = 0; i < SECTIONS_COUNT; i++)
			found |= strcmp(sections[i].def, d->string) == 0;
		cr_expect(found, "$defs/%s has properties but no row in sections[]", d->string);
	}
}

Test(schema, loader_and_schema_know_the_same_keys_in_every_section)
{
	for (size_t i = 0; i < SECTIONS_COUNT; i++) {
		const struct section *sec = &sections[i];
		cJSON *doc = cJSON_Parse(base_scenario);
		char err[2048];
		cr_assert(doc);

		/* The base scenario itself loads, with its variant. */
		struct scenario *sc = scenario_load_text(base_scenario, strlen(base_scenario),
							 "base", sec->variant, err, sizeof(err));
		cr_assert(sc != NULL, "%s", err);
		scenario_free(sc);

		cJSON *obj = sec->path[0] ? at_path(doc, sec->path) : doc;
		cJSON_AddNumberToObject(obj, UNKNOWN, 1);
		char *text = cJSON_PrintUnformatted(doc);
		sc = scenario_load_text(text, strlen(text), "t", sec->variant, err, sizeof(err));
		cr_assert(sc == NULL, "%s: the loader accepted an unknown key", sec->def);
		free(text);
		cJSON_Delete(doc);

		/* "...zzz: unknown key (known keys: a, b, c)" */
		char *list = strstr(err, UNKNOWN ": unknown key (known keys: ");
		cr_assert(list, "%s: %s", sec->def, err);
		list += strlen(UNKNOWN ": unknown key (known keys: ");
		char *end = strchr(list, ')');
		cr_assert(end, "%s: the loader's list of keys was cut short: %s", sec->def, err);
		*end = '\0';
		const char *loader[64];
		int nl = 0;
		for (char *k = strtok(list, ", "); k; k = strtok(NULL, ", "))
			loader[nl++] = k;

		const char *doc_keys[64];
		const cJSON *d = def(sec->same_as ? sec->same_as : sec->def);
		int nd = documented(d, doc_keys, 64);
		/* A variant patches the top level but cannot declare variants
		 * (the loader rejects that separately). */
		bool is_variant = strcmp(sec->def, "variant") == 0;
		for (int k = 0; k < nl; k++) {
			if (is_variant && strcmp(loader[k], "variants") == 0)
				continue;
			cr_expect(in_list(doc_keys, nd, loader[k]),
				  "%s: the loader accepts \"%s\", the schema does not document it",
				  sec->def, loader[k]);
		}
		for (int k = 0; k < nd; k++)
			cr_expect(in_list(loader, nl, doc_keys[k]),
				  "%s: the schema documents \"%s\", the loader does not accept it",
				  sec->def, doc_keys[k]);
		if (sec->same_as) {
			const char *patch_keys[64];
			int np = documented(def(sec->def), patch_keys, 64);
			cr_expect_eq(np, nd, "%s and %s differ", sec->def, sec->same_as);
			for (int k = 0; k < np; k++)
				cr_expect(in_list(doc_keys, nd, patch_keys[k]), "%s: %s",
					  sec->def, patch_keys[k]);
		}
	}
}

/* ------------------------------------------------------------- values */

static bool loads_with(const char *key_path, const cJSON *value, char *err, size_t len)
{
	cJSON *doc = cJSON_Parse(base_scenario);
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", key_path);
	char *dot = strrchr(buf, '.');
	cJSON *obj = doc;
	if (dot) {
		*dot = '\0';
		obj = at_path(doc, buf);
	}
	const char *key = dot ? dot + 1 : buf;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	cJSON_AddItemToObject(obj, key, cJSON_Duplicate(value, true));
	char *text = cJSON_PrintUnformatted(doc);
	struct scenario *sc = scenario_load_text(text, strlen(text), "t", NULL, err, len);
	free(text);
	cJSON_Delete(doc);
	scenario_free(sc);
	return sc != NULL;
}

Test(schema, headline_names_are_the_metrics)
{
	const cJSON *names = cJSON_GetObjectItem(def("metric_name"), "enum");
	uint32_t n = 0;
	const cJSON *e;

	cJSON_ArrayForEach(e, names) {
		bool counter;
		uint32_t index;
		cr_expect(metrics_lookup(e->valuestring, &counter, &index),
			  "%s is not a metric", e->valuestring);
		n++;
	}
	cr_expect_eq(n, METRIC_HISTS_COUNT + METRIC_COUNTERS_COUNT,
		     "every metric is in the schema's enum");
}

Test(schema, documented_values_are_accepted)
{
	char err[1024];
	const cJSON *strategies = cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(def("explore"), "properties"), "strategy"), "enum");
	const cJSON *kinds = cJSON_GetObjectItem(def("finding_kind"), "enum");
	const cJSON *e;

	cJSON_ArrayForEach(e, strategies)
		cr_expect(loads_with("explore.strategy", e, err, sizeof(err)), "%s", err);
	cJSON_ArrayForEach(e, kinds) {
		cJSON *list = cJSON_CreateArray();
		cJSON_AddItemToArray(list, cJSON_Duplicate(e, true));
		cr_expect(loads_with("expect", list, err, sizeof(err)), "%s", err);
		cJSON_Delete(list);
	}

	/* The loader's own list of strategies is the schema's enum. */
	cJSON *nope = cJSON_CreateString("nope");
	cr_assert(!loads_with("explore.strategy", nope, err, sizeof(err)));
	cJSON_Delete(nope);
	char want[256] = "\"nope\" is not one of ";
	int i = 0;
	cJSON_ArrayForEach(e, strategies) {
		char item[32];
		snprintf(item, sizeof(item), "%s\"%s\"", i++ ? ", " : "", e->valuestring);
		strcat(want, item);
	}
	cr_expect(strstr(err, want), "expected [%s] in: %s", want, err);

	/* And a kind the schema does not list is refused. */
	cJSON *bad = cJSON_Parse("[\"not_a_kind\"]");
	cr_expect(!loads_with("expect", bad, err, sizeof(err)));
	cJSON_Delete(bad);
}

/* ---------------------------------------------------------- documents */

static void expect_valid_and_loadable(const char *path)
{
	char *text = test_read_file(path);
	cJSON *doc = cJSON_Parse(text);
	char err[2048];

	cr_assert(doc, "%s: not JSON", path);
	cr_expect(valid(schema, doc), "%s is not valid under the schema", path);
	struct scenario *sc = scenario_load_text(text, strlen(text), path, NULL, err, sizeof(err));
	cr_expect(sc != NULL, "%s", err);
	for (uint32_t i = 0; sc && i < sc->variants_count; i++) {
		struct scenario *v = scenario_load_text(text, strlen(text), path,
							sc->variants[i].name, err, sizeof(err));
		cr_expect(v != NULL, "%s", err);
		scenario_free(v);
	}
	scenario_free(sc);
	cJSON_Delete(doc);
	free(text);
}

static int for_each_json(const char *dir, void (*fn)(const char *path))
{
	DIR *d = opendir(dir);
	int n = 0;
	cr_assert(d, "%s", dir);
	for (struct dirent *de; (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    strstr(de->d_name, ".schema.json"))
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fn(path);
		n++;
	}
	closedir(d);
	return n;
}

Test(schema, shipped_scenarios_and_the_readme_example_are_valid)
{
	cr_expect_gt(for_each_json(SIMRUN_SOURCE_DIR "/scenarios", expect_valid_and_loadable), 0);
	expect_valid_and_loadable(SIMRUN_SOURCE_DIR "/tests/cli/fixtures/budget.json");

	char *readme = test_read_file(SIMRUN_SOURCE_DIR "/scenarios/README.md");
	char *start = strstr(readme, "```json\n{");
	cr_assert(start, "no example in scenarios/README.md");
	start += strlen("```json\n");
	char *end = strstr(start, "```");
	cr_assert(end);
	*end = '\0';
	char dir[64];
	test_tmpdir(dir, sizeof(dir));
	expect_valid_and_loadable(test_write_file(dir, "example.json", start));
	test_rmtree(dir);
	free(readme);
}

/* Malformed fixtures whose fault is one the schema cannot express: they
 * are valid under it and only the loader refuses them. */
static const char *const semantic_only[] = {
	"duplicate-task-name.json",	/* uniqueness across array items */
	"task-on-missing-cpu.json",	/* a value below another value */
	"variant-breaks-the-base.json",	/* a patch that yields a bad document */
	"variants-ok.json",		/* not malformed: used with a bad --variant */
	NULL,
};

static void expect_invalid(const char *path)
{
	char *text = test_read_file(path);
	cJSON *doc = cJSON_Parse(text);
	const char *base = strrchr(path, '/') + 1;
	bool semantic = false;

	for (int i = 0; semantic_only[i]; i++)
		semantic |= strcmp(base, semantic_only[i]) == 0;
	if (doc && semantic)
		cr_expect(valid(schema, doc), "%s: expected valid under the schema", base);
	else if (doc)
		cr_expect(!valid(schema, doc), "%s: the schema accepts what the loader refuses", base);
	cJSON_Delete(doc);
	free(text);
}

Test(schema, malformed_fixtures_are_invalid_under_the_schema)
{
	cr_expect_geq(for_each_json(SIMRUN_SOURCE_DIR "/tests/cli/fixtures/malformed", expect_invalid), 20);
}
