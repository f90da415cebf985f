/*
 * scenario.c: the scenario loader.  Reads the file, picks the variant and
 * merges its overrides into the document (RFC 7386 merge patch), then walks
 * the result section by section with jread, so every error carries its JSON
 * path.  Not the world: nothing here touches the engine.
 *
 * Top-level keys:
 *   name, description     what the scenario is and which kernel change
 *   machine               { cpus }
 *   kernel                { <knob>: <variant> }           scenario_world.c
 *   files                 [ { name, size, cached, ... } ]  scenario_world.c
 *   vmas                  [ { name, start, pages, kind, ... } ]
 *   devices, swap         block devices and the swap device
 *                         (scenario_devices.c)
 *   tasks                 [ { name, cpu, ops: [ { <op>: { ... } } ] } ]
 *                         ops: sleep here; fault, write, mmap, munmap,
 *                         mprotect, reclaim, truncate, punch_hole, store,
 *                         gup_write, migrate in scenario_world.c
 *   explore               { strategy, schedules, pct_depth, preemptions,
 *                           steps_max, virtual_time_max }
 *   variants              { NAME: { <overrides>..., expect: [kinds] } }
 *   expect                [kinds] for the base scenario
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/sim_assert.h"
#include "mm/jread.h"
#include "mm/scenario.h"
#include "mm/scenario_int.h"

/* The finding kinds an `expect` list may name (analysis/ reports these). */
static const char *const finding_kinds[] = {
	"deadlock", "lock_order", "leak", "refcount_underflow", "stale_pte",
	"unlock_not_held", "exit_holding_lock", "sleep_in_atomic",
	"assert_locked", "livelock", "hung_task", "model_assert", "lost_write",
	"stale_data", "stack_overflow", NULL,
};

static const char *const op_names[] = { "sleep", "fault", "write", "mmap",
					 "munmap", "mprotect", "reclaim",
					 "truncate", "store", "gup_write",
					 "migrate", "punch_hole", NULL };

static bool read_op(struct jread *r, const cJSON *v, struct scenario *s,
		    struct scenario_op *op)
{
	if (!jread_object(r, v, op_names))
		return false;
	if (cJSON_GetArraySize(v) != 1)
		return jread_fail(r, "an operation is an object with exactly one key, the operation's name (%s)",
				  "sleep, fault, write, mmap, munmap, mprotect, reclaim, truncate, punch_hole, store, gup_write, migrate");
	const cJSON *body = v->child;
	size_t at = jread_push_key(r, body->string);
	bool ok = false;
	if (strcmp(body->string, "sleep") == 0) {
		static const char *const keys[] = { "ns", NULL };
		op->kind = OP_SLEEP;
		ok = jread_object(r, body, keys) &&
		     jread_duration(r, body, "ns", true, &op->u.sleep.ns);
	} else {
		ok = scenario_read_mm_op(r, body, s, op);
	}
	jread_pop(r, at);
	return ok;
}

static bool read_task(struct jread *r, const cJSON *v, struct scenario *s,
		      struct scenario_task *t, int index)
{
	static const char *const keys[] = { "name", "cpu", "ops", NULL };
	uint32_t cpu = 0;

	if (!jread_object(r, v, keys))
		return false;
	snprintf(t->name, sizeof(t->name), "task%d", index);
	if (!jread_str(r, v, "name", false, t->name, sizeof(t->name)) ||
	    !jread_u32(r, v, "cpu", false, 0, CPUS_MAX - 1, &cpu))
		return false;
	if (cpu >= s->cpus)
		return jread_fail_at(r, "cpu",
				     "cpu %u does not exist (machine.cpus is %u)",
				     cpu, s->cpus);
	t->cpu = (uint16_t)cpu;
	for (int j = 0; j < index; j++)
		if (strcmp(s->tasks[j].name, t->name) == 0)
			return jread_fail_at(r, "name",
					     "task name \"%s\" is already used by tasks[%d]",
					     t->name, j);
	const cJSON *ops = cJSON_GetObjectItemCaseSensitive(v, "ops");
	if (!ops)
		return jread_fail(r, "missing required key \"ops\"");
	size_t at = jread_push_key(r, "ops");
	int n;
	bool ok = jread_array(r, ops, &n);
	if (ok && n > SCENARIO_OPS_MAX)
		ok = jread_fail(r, "%d operations; at most %d per task", n,
				SCENARIO_OPS_MAX);
	for (int i = 0; ok && i < n; i++) {
		size_t at2 = jread_push_index(r, i);
		ok = read_op(r, cJSON_GetArrayItem(ops, i), s, &t->ops[i]);
		jread_pop(r, at2);
	}
	t->ops_count = ok ? (uint32_t)n : 0;
	jread_pop(r, at);
	return ok;
}

static bool read_expect(struct jread *r, const cJSON *v,
			struct scenario_variant *var)
{
	int n;

	var->has_expect = true;
	if (!jread_array(r, v, &n))
		return false;
	if (n > SCENARIO_EXPECT_MAX)
		return jread_fail(r, "at most %d finding kinds",
				  SCENARIO_EXPECT_MAX);
	for (int i = 0; i < n; i++) {
		const cJSON *k = cJSON_GetArrayItem(v, i);
		size_t at = jread_push_index(r, i);
		bool known = false;
		if (!cJSON_IsString(k)) {
			jread_fail(r, "expected a finding kind (a string)");
			return false;
		}
		for (int j = 0; finding_kinds[j]; j++)
			known |= strcmp(finding_kinds[j], k->valuestring) == 0;
		if (!known) {
			const char *s = jread_suggest(k->valuestring,
						      finding_kinds);
			if (s)
				jread_fail(r, "\"%s\" is not a finding kind; did you mean \"%s\"?",
					   k->valuestring, s);
			else
				jread_fail(r, "\"%s\" is not a finding kind",
					   k->valuestring);
			return false;
		}
		snprintf(var->expect[i], sizeof(var->expect[i]), "%s",
			 k->valuestring);
		jread_pop(r, at);
	}
	var->expect_count = (uint32_t)n;
	return true;
}

/* The variants section: names and expectations, read from the document as
 * written (before any overrides are applied). */
static bool read_variants(struct jread *r, const cJSON *doc,
			  struct scenario *s)
{
	const cJSON *vars = cJSON_GetObjectItemCaseSensitive(doc, "variants");
	const cJSON *base_expect = cJSON_GetObjectItemCaseSensitive(doc,
								    "expect");

	if (base_expect) {
		size_t at = jread_push_key(r, "expect");
		bool ok = read_expect(r, base_expect, &s->base);
		jread_pop(r, at);
		if (!ok)
			return false;
	}
	if (!vars)
		return true;
	size_t at = jread_push_key(r, "variants");
	if (!cJSON_IsObject(vars)) {
		jread_fail(r, "expected an object of NAME: {overrides}");
		return false;
	}
	for (const cJSON *v = vars->child; v; v = v->next) {
		size_t at2 = jread_push_key(r, v->string);
		if (s->variants_count >= SCENARIO_VARIANTS_MAX) {
			jread_fail(r, "at most %d variants",
				   SCENARIO_VARIANTS_MAX);
			return false;
		}
		if (!cJSON_IsObject(v)) {
			jread_fail(r, "a variant is an object of overrides");
			return false;
		}
		if (strlen(v->string) == 0 ||
		    strlen(v->string) >= SCENARIO_NAME_MAX) {
			jread_fail(r, "variant names are 1 to %d characters",
				   SCENARIO_NAME_MAX - 1);
			return false;
		}
		if (cJSON_GetObjectItemCaseSensitive(v, "variants")) {
			/* Variants patch the base scenario; one that declared
			 * variants of its own would be silently ignored. */
			jread_fail_at(r, "variants",
				      "a variant cannot declare variants");
			return false;
		}
		struct scenario_variant *var = &s->variants[s->variants_count++];
		snprintf(var->name, sizeof(var->name), "%s", v->string);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(v, "expect");
		if (e) {
			size_t at3 = jread_push_key(r, "expect");
			bool ok = read_expect(r, e, var);
			jread_pop(r, at3);
			if (!ok)
				return false;
		}
		jread_pop(r, at2);
	}
	jread_pop(r, at);
	return true;
}

static bool read_explore(struct jread *r, const cJSON *doc,
			 struct scenario_explore *x)
{
	static const char *const keys[] = { "strategy", "schedules",
					    "pct_depth", "preemptions",
					    "steps_max", "virtual_time_max",
					    NULL };
	static const char *const strategies[] = { "timed", "random", "pct",
						  "dfs", NULL };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "explore");

	snprintf(x->strategy, sizeof(x->strategy), "timed");
	x->schedules = 1;
	x->pct_depth = 3;
	x->preemptions = UINT32_MAX;
	x->steps_max = STEPS_DEFAULT;
	x->virtual_ns_max = VIRTUAL_NS_DEFAULT;
	if (!v)
		return true;
	size_t at = jread_push_key(r, "explore");
	int strategy = 0;
	bool ok = jread_object(r, v, keys) &&
		  jread_enum(r, v, "strategy", false, strategies, &strategy) &&
		  jread_u64(r, v, "schedules", false, 1, 100000000, &x->schedules) &&
		  jread_u32(r, v, "pct_depth", false, 1, 16, &x->pct_depth) &&
		  jread_u32(r, v, "preemptions", false, 0, 64, &x->preemptions) &&
		  jread_u64(r, v, "steps_max", false, 100, STEPS_LIMIT,
			    &x->steps_max) &&
		  jread_duration(r, v, "virtual_time_max", false,
				 &x->virtual_ns_max);
	if (ok)
		snprintf(x->strategy, sizeof(x->strategy), "%s",
			 strategies[strategy]);
	jread_pop(r, at);
	return ok;
}

/* checks: the checkers' thresholds for this scenario.  A scenario built to
 * show a retry storm with a handful of reclaim passes may lower the bound
 * on retries; every finding names the bound it used. */
static bool read_checks(struct jread *r, const cJSON *doc,
			struct scenario_checks *c)
{
	static const char *const keys[] = { "hung_task_timeout",
					    "fault_retries_max", NULL };
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "checks");

	*c = (struct scenario_checks){ 0 };
	if (!v)
		return true;
	size_t at = jread_push_key(r, "checks");
	bool ok = jread_object(r, v, keys) &&
		  jread_duration(r, v, "hung_task_timeout", false,
				 &c->hung_task_timeout_ns) &&
		  jread_u32(r, v, "fault_retries_max", false, 1, 1000000,
			    &c->fault_retries_max);
	if (ok && cJSON_GetObjectItemCaseSensitive(v, "hung_task_timeout") &&
	    c->hung_task_timeout_ns == 0)
		ok = jread_fail_at(r, "hung_task_timeout",
				   "must be longer than 0 (omit the key for the kernel's 120 s)");
	jread_pop(r, at);
	return ok;
}

static bool read_scenario(struct jread *r, const cJSON *doc,
			  struct scenario *s)
{
	static const char *const keys[] = { "name", "description", "machine",
					    "kernel", "files", "vmas",
					    "tasks", "explore", "variants",
					    "expect", "devices", "swap", "checks",
					    "headline", NULL };
	static const char *const machine_keys[] = { "cpus", NULL };

	if (!jread_object(r, doc, keys))
		return false;
	if (!jread_str(r, doc, "name", true, s->name, sizeof(s->name)) ||
	    !jread_str(r, doc, "description", false, s->description,
		       sizeof(s->description)) ||
	    !jread_str(r, doc, "headline", false, s->headline,
		       sizeof(s->headline)))
		return false;

	s->cpus = 1;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "machine");
	if (m) {
		size_t at = jread_push_key(r, "machine");
		bool ok = jread_object(r, m, machine_keys) &&
			  jread_u32(r, m, "cpus", false, 1, CPUS_MAX, &s->cpus);
		jread_pop(r, at);
		if (!ok)
			return false;
	}
	if (!scenario_read_devices(r, doc, &s->devices))
		return false;

	if (!scenario_read_world(r, doc, s))
		return false;

	const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks");
	if (!tasks)
		return jread_fail(r, "missing required key \"tasks\"");
	size_t at = jread_push_key(r, "tasks");
	int n;
	if (!jread_array(r, tasks, &n))
		return false;
	if (n == 0)
		return jread_fail(r, "a scenario needs at least one task");
	if (n > TASKS_MAX)
		return jread_fail(r, "%d tasks; at most %d", n, TASKS_MAX);
	for (int i = 0; i < n; i++) {
		size_t at2 = jread_push_index(r, i);
		if (!read_task(r, cJSON_GetArrayItem(tasks, i), s,
			       &s->tasks[i], i))
			return false;
		jread_pop(r, at2);
	}
	s->tasks_count = (uint32_t)n;
	jread_pop(r, at);
	return read_explore(r, doc, &s->explore) &&
	       read_checks(r, doc, &s->checks);
}

/* Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF); *bad is the offset of the first byte
 * that is not. */
static bool utf8_valid(const char *s, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	SIM_ASSERT(s != NULL && bad != NULL);
	while (p[i]) {
		unsigned char c = p[i];
		int more;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			*bad = i;
			return false;
		}
		for (int k = 1; k <= more; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				*bad = i;
				return false;
			}
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			*bad = i;
			return false;
		}
		i += (size_t)more + 1;
	}
	return true;
}

/* The offset of the first control character in s (DEL included) that is
 * not one of `allowed`, or -1.  They reach terminals in messages and
 * output; an escape sequence in a name could rewrite what is shown. */
static long control_char(const char *s, const char *allowed)
{
	SIM_ASSERT(s != NULL && allowed != NULL);
	for (long i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 || c == 0x7f) && !strchr(allowed, c))
			return i;
	}
	return -1;
}

/* What holds for every value of a scenario, wherever it is (comments
 * included): nested at most SCENARIO_JSON_DEPTH_MAX deep, objects of at
 * most SCENARIO_OBJECT_KEYS_MAX keys with no key twice (cJSON keeps both,
 * and the loader would read only the first), and every string and key
 * valid UTF-8 without control characters (strings may hold tab and
 * newline).  `depth` is v's: the document is 0. */
static bool check_values(struct jread *r, const cJSON *v, int depth)
{
	size_t bad;

	SIM_ASSERT(v != NULL);
	SIM_ASSERT(depth >= 0);
	if (depth > SCENARIO_JSON_DEPTH_MAX)
		return jread_fail(r, "nested deeper than %d levels",
				  SCENARIO_JSON_DEPTH_MAX);
	if (cJSON_IsString(v) && !utf8_valid(v->valuestring, &bad))
		return jread_fail(r, "the string is not valid UTF-8 (byte %zu)",
				  bad);
	long at_c = cJSON_IsString(v) ? control_char(v->valuestring, "\t\n")
				      : -1;
	if (at_c >= 0)
		return jread_fail(r, "the string holds control character 0x%02x (byte %ld); only tab and newline may appear",
				  (unsigned char)v->valuestring[at_c], at_c);
	if (cJSON_IsArray(v)) {
		int i = 0;
		for (const cJSON *m = v->child; m; m = m->next, i++) {
			size_t at = jread_push_index(r, i);
			bool ok = check_values(r, m, depth + 1);
			jread_pop(r, at);
			if (!ok)
				return false;
		}
	}
	if (!cJSON_IsObject(v))
		return true;
	int n = 0;
	for (const cJSON *m = v->child; m; m = m->next) {
		if (++n > SCENARIO_OBJECT_KEYS_MAX)
			return jread_fail(r, "more than %d keys in one object",
					  SCENARIO_OBJECT_KEYS_MAX);
		if (!utf8_valid(m->string, &bad))
			return jread_fail(r, "key %d is not valid UTF-8 (byte %zu)",
					  n - 1, bad);
		if (control_char(m->string, "") >= 0)
			return jread_fail(r, "key %d holds a control character",
					  n - 1);
		for (const cJSON *o = v->child; o != m; o = o->next)
			if (strcmp(o->string, m->string) == 0)
				return jread_fail_at(r, m->string,
						     "\"%s\" is declared twice in this object",
						     m->string);
		size_t at = jread_push_key(r, m->string);
		bool ok = check_values(r, m, depth + 1);
		jread_pop(r, at);
		if (!ok)
			return false;
	}
	return true;
}

/* The line and column (from 1) of byte `off` of text. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
	SIM_ASSERT(line != NULL && col != NULL);
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* The nesting depth of text[0..end), counting brackets outside strings:
 * cJSON refuses documents nested deeper than CJSON_NESTING_LIMIT as
 * invalid, and the message should say why. */
static size_t nesting_at(const char *text, size_t end)
{
	size_t depth = 0;
	bool in_string = false;

	SIM_ASSERT(text != NULL || end == 0);
	for (size_t i = 0; i < end; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			depth++;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return depth;
}

const struct scenario_variant *scenario_find_variant(const struct scenario *s,
						     const char *name)
{
	for (uint32_t i = 0; i < s->variants_count; i++)
		if (strcmp(s->variants[i].name, name) == 0)
			return &s->variants[i];
	return NULL;
}

struct scenario *scenario_load_text(const char *text, size_t len,
				    const char *origin, const char *variant,
				    char *err, size_t err_len)
{
	struct scenario *s = calloc(1, sizeof(*s));
	cJSON *doc = NULL;
	struct jread r;

	jread_init(&r);
	if (!s) {
		snprintf(err, err_len, "%s: out of memory", origin);
		return NULL;
	}
	s->json_text = malloc(len + 1);
	if (!s->json_text) {
		snprintf(err, err_len, "%s: out of memory", origin);
		goto fail;
	}
	memcpy(s->json_text, text, len);
	s->json_text[len] = '\0';
	s->json_len = len;

	/* cJSON takes every byte up to a space for white space, NUL and
	 * escape characters included, and keeps raw control characters in
	 * strings; JSON allows neither. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
			int line, col;
			line_col(text, i, &line, &col);
			snprintf(err, err_len,
				 "%s:%d:%d: control character 0x%02x; not JSON text (escape it as \\u%04x in a string)",
				 origin, line, col, c, c);
			goto fail;
		}
	}
	const char *parse_end = NULL;
	doc = cJSON_ParseWithLengthOpts(text, len, &parse_end, false);
	if (!doc) {
		/* Name the line and column of the syntax error. */
		size_t off = parse_end ? (size_t)(parse_end - text) : 0;
		int line, col;
		line_col(text, off, &line, &col);
		if (nesting_at(text, off < len ? off + 1 : len) >=
		    CJSON_NESTING_LIMIT)
			snprintf(err, err_len,
				 "%s:%d:%d: nested deeper than %d levels",
				 origin, line, col, SCENARIO_JSON_DEPTH_MAX);
		else
			snprintf(err, err_len, "%s:%d:%d: not valid JSON",
				 origin, line, col);
		goto fail;
	}
	if (!cJSON_IsObject(doc)) {
		snprintf(err, err_len, "%s: a scenario is a JSON object",
			 origin);
		goto fail;
	}
	if (!check_values(&r, doc, 0) || !read_variants(&r, doc, s))
		goto fail_path;

	if (variant && variant[0]) {
		const cJSON *vars = cJSON_GetObjectItemCaseSensitive(doc,
								     "variants");
		const cJSON *v = vars ? cJSON_GetObjectItemCaseSensitive(vars,
								       variant)
				      : NULL;
		if (!v) {
			char names[512] = "";
			size_t at = 0;
			for (uint32_t i = 0; i < s->variants_count; i++) {
				int k = snprintf(names + at, sizeof(names) - at,
						 "%s%s", i ? ", " : "",
						 s->variants[i].name);
				if (k > 0 && (size_t)k < sizeof(names) - at)
					at += (size_t)k;
			}
			snprintf(err, err_len,
				 "%s: no variant \"%s\" (variants: %s)", origin,
				 variant, s->variants_count ? names : "none");
			goto fail;
		}
		cJSON *patch = cJSON_Duplicate(v, true);
		SIM_ASSERT(patch != NULL);
		cJSON_DeleteItemFromObjectCaseSensitive(patch, "expect");
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "variants");
		jread_merge_patch(doc, patch);
		cJSON_Delete(patch);
		snprintf(s->variant, sizeof(s->variant), "%s", variant);
	}
	if (!read_scenario(&r, doc, s))
		goto fail_path;
	cJSON_Delete(doc);
	return s;

fail_path:
	if (variant && variant[0])
		snprintf(err, err_len, "%s (variant %s): %s", origin, variant,
			 r.err);
	else
		snprintf(err, err_len, "%s: %s", origin, r.err);
fail:
	cJSON_Delete(doc);
	scenario_free(s);
	return NULL;
}

struct scenario *scenario_load_file(const char *path, const char *variant,
				    char *err, size_t err_len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, err_len, "%s: cannot open: %s", path,
			 strerror(errno));
		return NULL;
	}
	bool have_st = fstat(fileno(f), &st) == 0;
	if (have_st && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(err, err_len,
			 "%s: is a directory, not a scenario file", path);
		return NULL;
	}
	/* Scenarios are small; the bound keeps a wrong path (a device, a
	 * huge file) from eating memory, and a file is read up to one byte
	 * past it to tell. */
	const size_t max = SCENARIO_FILE_BYTES_MAX;
	if (have_st && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		fclose(f);
		snprintf(err, err_len,
			 "%s: %llu bytes, larger than a scenario may be (%zu KiB)",
			 path, (unsigned long long)st.st_size, max >> 10);
		return NULL;
	}
	char *buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, err_len, "%s: out of memory", path);
		return NULL;
	}
	size_t len = fread(buf, 1, max + 1, f);
	int read_errno = ferror(f) ? errno : 0;
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, err_len, "%s: read error: %s", path,
			 strerror(read_errno));
		return NULL;
	}
	if (len > max) {
		free(buf);
		snprintf(err, err_len,
			 "%s: larger than a scenario may be (%zu KiB)", path,
			 max >> 10);
		return NULL;
	}
	struct scenario *s = scenario_load_text(buf, len, path, variant, err,
						err_len);
	free(buf);
	return s;
}

int scenario_file_index(const struct scenario *s, const char *name)
{
	for (uint32_t i = 0; i < s->files_count; i++)
		if (strcmp(s->files[i].name, name) == 0)
			return (int)i;
	return -1;
}

int scenario_vma_index(const struct scenario *s, const char *name)
{
	for (uint32_t i = 0; i < s->vmas_count; i++)
		if (strcmp(s->vmas[i].name, name) == 0)
			return (int)i;
	return -1;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	free(s->json_text);
	free(s);
}
