/*
 * jread.h: reading a scenario's JSON with the path of every value at hand,
 * so that each error names where it is and what was expected:
 *     tasks[1].ops[0].fault.page: 70 is past the end of vma "map" (64 pages)
 * Unknown keys are errors with the nearest known key suggested.  Not the
 * scenario's meaning (scenario.c); only types, ranges and paths.
 */
#ifndef SIM_JREAD_H
#define SIM_JREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define JREAD_PATH_MAX 256
#define JREAD_ERR_MAX 512

struct jread {
	char path[JREAD_PATH_MAX];
	size_t path_len;
	char err[JREAD_ERR_MAX];
	bool failed;
};

void jread_init(struct jread *r);

/* Path bookkeeping: push returns the length to pop back to. */
size_t jread_push_key(struct jread *r, const char *key);
size_t jread_push_index(struct jread *r, int index);
void jread_pop(struct jread *r, size_t len);

/* Record the first error as "<path>: <message>"; returns false so callers
 * can `return jread_fail(...)`. */
bool jread_fail(struct jread *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same, with a key appended to the path for this message only. */
bool jread_fail_at(struct jread *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The value must be an object whose keys are all in `known` (a NULL-ended
 * list); an unknown key fails with the nearest known one suggested. */
bool jread_object(struct jread *r, const cJSON *v, const char *const *known);
/* The value must be an array; returns its size in *n. */
bool jread_array(struct jread *r, const cJSON *v, int *n);

/* Typed members of an object.  `present` (may be NULL) says whether the
 * key was there; absent optional members keep *out unchanged, so set the
 * default before the call.  Ranges are inclusive. */
bool jread_u64(struct jread *r, const cJSON *obj, const char *key,
	       bool required, uint64_t min, uint64_t max, uint64_t *out);
bool jread_u32(struct jread *r, const cJSON *obj, const char *key,
	       bool required, uint32_t min, uint32_t max, uint32_t *out);
/* Whether v is a number that is a whole number from 0 to max (at most
 * 2^63), and then its value in *out; no message.  For values read inside
 * arrays, such as page ranges, whose callers say what was expected. */
bool jread_whole(const cJSON *v, uint64_t max, uint64_t *out);
bool jread_bool(struct jread *r, const cJSON *obj, const char *key,
		bool required, bool *out);
/* A string copied into out (at most out_len - 1 bytes, longer is an
 * error). */
bool jread_str(struct jread *r, const cJSON *obj, const char *key,
	       bool required, char *out, size_t out_len);
/* One of `names` (NULL-ended); *out is its index. */
bool jread_enum(struct jread *r, const cJSON *obj, const char *key,
		bool required, const char *const *names, int *out);
/* A duration: a number of nanoseconds, or a string with a unit
 * ("6ms", "1.7us", "50 us", "2s", "800ns"). */
bool jread_duration(struct jread *r, const cJSON *obj, const char *key,
		    bool required, uint64_t *out_ns);
/* Parse a duration string; false when it is not one. */
bool jread_parse_duration(const char *s, uint64_t *out_ns);

/* The known key nearest to `key` by edit distance, or NULL when none is
 * close enough to be a plausible typo. */
const char *jread_suggest(const char *key, const char *const *known);

/* RFC 7386 JSON merge patch: apply `patch` onto `target` in place (null
 * members delete).  Used for scenario variants. */
void jread_merge_patch(cJSON *target, const cJSON *patch);

#endif /* SIM_JREAD_H */
