/*
 * jread.c: path-tracking JSON reading for scenarios (see jread.h).
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sim_assert.h"
#include "mm/jread.h"

void jread_init(struct jread *r)
{
	memset(r, 0, sizeof(*r));
}

size_t jread_push_key(struct jread *r, const char *key)
{
	size_t old = r->path_len;
	int n = snprintf(r->path + r->path_len, sizeof(r->path) - r->path_len,
			 "%s%s", r->path_len ? "." : "", key);
	if (n > 0)
		r->path_len += (size_t)n;
	if (r->path_len >= sizeof(r->path))
		r->path_len = sizeof(r->path) - 1;
	return old;
}

size_t jread_push_index(struct jread *r, int index)
{
	size_t old = r->path_len;
	int n = snprintf(r->path + r->path_len, sizeof(r->path) - r->path_len,
			 "[%d]", index);
	if (n > 0)
		r->path_len += (size_t)n;
	if (r->path_len >= sizeof(r->path))
		r->path_len = sizeof(r->path) - 1;
	return old;
}

void jread_pop(struct jread *r, size_t len)
{
	SIM_ASSERT(len <= r->path_len);
	r->path_len = len;
	r->path[len] = '\0';
}

static bool vfail(struct jread *r, const char *fmt, va_list ap)
{
	if (r->failed)
		return false;
	r->failed = true;
	int n = snprintf(r->err, sizeof(r->err), "%s: ",
			 r->path_len ? r->path : "(top level)");
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof(r->err))
		vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	return false;
}

bool jread_fail(struct jread *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(r, fmt, ap);
	va_end(ap);
	return false;
}

bool jread_fail_at(struct jread *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t old = jread_push_key(r, key);
	va_start(ap, fmt);
	vfail(r, fmt, ap);
	va_end(ap);
	jread_pop(r, old);
	return false;
}

static const char *type_name(const cJSON *v)
{
	if (!v)
		return "nothing";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "an invalid value";
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *jread_suggest(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (const char *const *k = known; *k; k++) {
		size_t d = edit_distance(key, *k);
		if (d < best_d) {
			best_d = d;
			best = *k;
		}
	}
	/* A typo is a few edits, never most of the word. */
	size_t len = strlen(key);
	if (best && best_d <= 3 && best_d * 2 <= len + 1)
		return best;
	return NULL;
}

bool jread_object(struct jread *r, const cJSON *v, const char *const *known)
{
	if (!cJSON_IsObject(v))
		return jread_fail(r, "expected an object, found %s",
				  type_name(v));
	for (const cJSON *m = v->child; m; m = m->next) {
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			if (strcmp(m->string, *k) == 0)
				ok = true;
		if (ok)
			continue;
		/* Keys beginning with '$' or "//" are comments and schema
		 * references, allowed anywhere. */
		if (m->string[0] == '$' || strncmp(m->string, "//", 2) == 0)
			continue;
		const char *s = jread_suggest(m->string, known);
		if (s)
			return jread_fail_at(r, m->string,
					     "unknown key; did you mean \"%s\"?",
					     s);
		char list[256] = "";
		size_t at = 0;
		for (const char *const *k = known; *k && at < sizeof(list) - 1;
		     k++) {
			int n = snprintf(list + at, sizeof(list) - at, "%s%s",
					 at ? ", " : "", *k);
			if (n > 0)
				at += (size_t)n;
		}
		return jread_fail_at(r, m->string,
				     "unknown key (known keys: %s)", list);
	}
	return true;
}

bool jread_array(struct jread *r, const cJSON *v, int *n)
{
	if (!cJSON_IsArray(v))
		return jread_fail(r, "expected an array, found %s",
				  type_name(v));
	*n = cJSON_GetArraySize(v);
	return true;
}

static const cJSON *member(struct jread *r, const cJSON *obj, const char *key,
			   bool required, bool *missing)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*missing = v == NULL;
	if (!v && required)
		jread_fail(r, "missing required key \"%s\"", key);
	return v;
}

bool jread_u64(struct jread *r, const cJSON *obj, const char *key,
	       bool required, uint64_t min, uint64_t max, uint64_t *out)
{
	bool missing;
	const cJSON *v = member(r, obj, key, required, &missing);
	if (missing)
		return !required;
	if (!cJSON_IsNumber(v))
		return jread_fail_at(r, key, "expected a number, found %s",
				     type_name(v));
	double d = v->valuedouble;
	if (d != floor(d) || d < 0)
		return jread_fail_at(r, key,
				     "expected a whole number >= 0, found %g",
				     d);
	if (d > 18446744073709549568.0)
		return jread_fail_at(r, key,
				     "%g is out of range (%" PRIu64 "..%" PRIu64 ")",
				     d, min, max);
	uint64_t u = (uint64_t)d;
	if (u < min || u > max)
		return jread_fail_at(r, key,
				     "%" PRIu64 " is out of range (%" PRIu64
				     "..%" PRIu64 ")",
				     u, min, max);
	*out = u;
	return true;
}

bool jread_whole(const cJSON *v, uint64_t max, uint64_t *out)
{
	SIM_ASSERT(max <= (1ull << 63));
	SIM_ASSERT(out != NULL);
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	/* Compared as doubles first: converting one out of range is
	 * undefined. */
	if (!(d >= 0) || d != floor(d) || d > (double)max)
		return false;
	uint64_t u = (uint64_t)d;
	if (u > max)
		return false;
	*out = u;
	return true;
}

bool jread_u32(struct jread *r, const cJSON *obj, const char *key,
	       bool required, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = *out;
	if (!jread_u64(r, obj, key, required, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool jread_bool(struct jread *r, const cJSON *obj, const char *key,
		bool required, bool *out)
{
	bool missing;
	const cJSON *v = member(r, obj, key, required, &missing);
	if (missing)
		return !required;
	if (!cJSON_IsBool(v))
		return jread_fail_at(r, key, "expected true or false, found %s",
				     type_name(v));
	*out = cJSON_IsTrue(v);
	return true;
}

bool jread_str(struct jread *r, const cJSON *obj, const char *key,
	       bool required, char *out, size_t out_len)
{
	bool missing;
	const cJSON *v = member(r, obj, key, required, &missing);
	if (missing)
		return !required;
	if (!cJSON_IsString(v))
		return jread_fail_at(r, key, "expected a string, found %s",
				     type_name(v));
	if (strlen(v->valuestring) >= out_len)
		return jread_fail_at(r, key,
				     "string is too long (at most %zu bytes)",
				     out_len - 1);
	snprintf(out, out_len, "%s", v->valuestring);
	return true;
}

bool jread_enum(struct jread *r, const cJSON *obj, const char *key,
		bool required, const char *const *names, int *out)
{
	bool missing;
	const cJSON *v = member(r, obj, key, required, &missing);
	if (missing)
		return !required;
	if (!cJSON_IsString(v))
		return jread_fail_at(r, key, "expected a string, found %s",
				     type_name(v));
	for (int i = 0; names[i]; i++) {
		if (strcmp(v->valuestring, names[i]) == 0) {
			*out = i;
			return true;
		}
	}
	char list[256] = "";
	size_t at = 0;
	for (int i = 0; names[i] && at < sizeof(list) - 1; i++) {
		int n = snprintf(list + at, sizeof(list) - at, "%s\"%s\"",
				 i ? ", " : "", names[i]);
		if (n > 0)
			at += (size_t)n;
	}
	const char *s = jread_suggest(v->valuestring, names);
	if (s)
		return jread_fail_at(r, key,
				     "\"%s\" is not one of %s; did you mean \"%s\"?",
				     v->valuestring, list, s);
	return jread_fail_at(r, key, "\"%s\" is not one of %s", v->valuestring,
			     list);
}

bool jread_parse_duration(const char *s, uint64_t *out_ns)
{
	char *end;
	double v = strtod(s, &end);
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 },
		      { "ms", 1e6 }, { "s", 1e9 } };

	if (end == s || v < 0 || v != v)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	double scale = 1;
	if (*end) {
		bool found = false;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(end, units[i].unit) == 0) {
				scale = units[i].ns;
				found = true;
			}
		}
		if (!found)
			return false;
	}
	double ns = v * scale;
	if (ns > 1.8e19)
		return false;
	/* Round to the nearest nanosecond: "1.7us" is 1700 exactly. */
	*out_ns = (uint64_t)(ns + 0.5);
	return true;
}

bool jread_duration(struct jread *r, const cJSON *obj, const char *key,
		    bool required, uint64_t *out_ns)
{
	bool missing;
	const cJSON *v = member(r, obj, key, required, &missing);
	if (missing)
		return !required;
	if (cJSON_IsNumber(v)) {
		uint64_t u = *out_ns;
		if (!jread_u64(r, obj, key, required, 0, UINT64_MAX / 2, &u))
			return false;
		*out_ns = u;
		return true;
	}
	if (cJSON_IsString(v) && jread_parse_duration(v->valuestring, out_ns))
		return true;
	return jread_fail_at(r, key,
			     "expected a duration (nanoseconds, or a string such as \"6ms\", \"50us\", \"1.7us\"), found %s%s%s",
			     type_name(v), cJSON_IsString(v) ? " " : "",
			     cJSON_IsString(v) ? v->valuestring : "");
}

void jread_merge_patch(cJSON *target, const cJSON *patch)
{
	SIM_ASSERT(cJSON_IsObject(target));
	SIM_ASSERT(cJSON_IsObject(patch));
	for (const cJSON *p = patch->child; p; p = p->next) {
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target,
								p->string);
			continue;
		}
		cJSON *t = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
			jread_merge_patch(t, p);
			continue;
		}
		cJSON *copy = cJSON_Duplicate(p, true);
		SIM_ASSERT(copy != NULL);
		if (t)
			cJSON_ReplaceItemInObjectCaseSensitive(target,
							       p->string, copy);
		else
			cJSON_AddItemToObject(target, p->string, copy);
	}
}
