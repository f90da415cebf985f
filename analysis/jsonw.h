/*
 * jsonw.h: a JSON writer into a caller's fixed buffer, for the details of
 * findings.  Every value, and every object or array opened, is written
 * whole or not at all, so the text is always valid JSON: when the buffer
 * runs out, what follows is left out and the top-level object gets
 * "truncated":true.  Not a parser, and nothing here allocates.
 */
#ifndef SIM_JSONW_H
#define SIM_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/limits.h"

/* Bytes kept back for closing every open container and the truncation
 * flag. */
#define JW_RESERVE (JSON_DEPTH_MAX + sizeof(",\"truncated\":true") + 1)

struct jw {
	char *buf;
	size_t cap;
	size_t len;
	size_t limit;			/* values may not pass it */
	uint32_t depth;			/* open containers written */
	uint32_t dead;			/* open containers left out */
	bool first[JSON_DEPTH_MAX];	/* nothing written yet at this level */
	char closer[JSON_DEPTH_MAX];
	bool truncated;
};

/* Start a document; its top level is one object (opened here). */
void jw_init(struct jw *w, char *buf, size_t cap);
/* Close what is open and return the text (buf). */
const char *jw_finish(struct jw *w);

/* `key` names the member inside an object and must be NULL inside an
 * array. */
void jw_obj_begin(struct jw *w, const char *key);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w, const char *key);
void jw_arr_end(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *val);
/* A long string (a report's text): as much as fits, ending in "...". */
void jw_str_fit(struct jw *w, const char *key, const char *val);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);

#endif /* SIM_JSONW_H */
