/*
 * jsonw.c: the bounded JSON writer (see jsonw.h).  Each public call is one
 * unit: it remembers where it started and, if the buffer's limit is hit
 * part-way, goes back there and marks the document truncated.  A container
 * that could not be opened is "dead": everything inside it is dropped until
 * its matching end.
 */
#include <string.h>

#include "analysis/jsonw.h"
#include "engine/sim_assert.h"

static bool put(struct jw *w, const char *s, size_t n, size_t limit)
{
	if (w->len + n > limit)
		return false;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
	return true;
}

/* The JSON form of one byte of a string; returns its length. */
static size_t escape_char(unsigned char c, char out[6])
{
	static const char hex[] = "0123456789abcdef";

	if (c == '"' || c == '\\') {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	if (c == '\n' || c == '\t') {
		out[0] = '\\';
		out[1] = c == '\n' ? 'n' : 't';
		return 2;
	}
	if (c < 0x20) {
		memcpy(out, "\\u00", 4);
		out[4] = hex[c >> 4];
		out[5] = hex[c & 15];
		return 6;
	}
	out[0] = (char)c;
	return 1;
}

static bool put_escaped(struct jw *w, const char *s, size_t limit)
{
	if (!put(w, "\"", 1, limit))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6];
		if (!put(w, esc, escape_char(*p, esc), limit))
			return false;
	}
	return put(w, "\"", 1, limit);
}

/* The comma and key that precede a value at the current level. */
static bool put_prefix(struct jw *w, const char *key)
{
	SIM_ASSERT(w->depth > 0);
	bool in_object = w->closer[w->depth - 1] == '}';
	if (in_object)
		SIM_ASSERT(key != NULL);
	else
		SIM_ASSERT(key == NULL);
	if (!w->first[w->depth - 1] && !put(w, ",", 1, w->limit))
		return false;
	if (key && (!put_escaped(w, key, w->limit) ||
		    !put(w, ":", 1, w->limit)))
		return false;
	return true;
}

static void unit_failed(struct jw *w, size_t start)
{
	w->len = start;
	w->buf[w->len] = '\0';
	w->truncated = true;
}

void jw_init(struct jw *w, char *buf, size_t cap)
{
	SIM_ASSERT(buf != NULL);
	SIM_ASSERT(cap > JW_RESERVE + 2);
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
	w->limit = cap - JW_RESERVE;
	buf[0] = '\0';
	put(w, "{", 1, w->limit);
	w->depth = 1;
	w->first[0] = true;
	w->closer[0] = '}';
}

static void open_container(struct jw *w, const char *key, char open,
			   char close)
{
	size_t start = w->len;

	if (w->dead) {
		w->dead++;
		return;
	}
	/* Details are written by this layer's own code: nesting deeper than
	 * the limit is a bug here, not an input. */
	SIM_ASSERT(w->depth < JSON_DEPTH_MAX);
	if (!put_prefix(w, key) || !put(w, &open, 1, w->limit)) {
		unit_failed(w, start);
		w->dead++;
		return;
	}
	w->first[w->depth - 1] = false;
	w->first[w->depth] = true;
	w->closer[w->depth] = close;
	w->depth++;
}

static void close_container(struct jw *w, char close)
{
	if (w->dead) {
		w->dead--;
		return;
	}
	SIM_ASSERT(w->depth > 1);
	SIM_ASSERT(w->closer[w->depth - 1] == close);
	/* Closers use the reserve: they always fit. */
	bool ok = put(w, &close, 1, w->cap - 1);
	SIM_ASSERT(ok);
	w->depth--;
}

void jw_obj_begin(struct jw *w, const char *key)
{
	open_container(w, key, '{', '}');
}

void jw_obj_end(struct jw *w)
{
	close_container(w, '}');
}

void jw_arr_begin(struct jw *w, const char *key)
{
	open_container(w, key, '[', ']');
}

void jw_arr_end(struct jw *w)
{
	close_container(w, ']');
}

static void value_done(struct jw *w, bool ok, size_t start)
{
	if (!ok) {
		unit_failed(w, start);
		return;
	}
	w->first[w->depth - 1] = false;
}

void jw_str(struct jw *w, const char *key, const char *val)
{
	size_t start = w->len;

	if (w->dead)
		return;
	value_done(w, put_prefix(w, key) && put_escaped(w, val ? val : "",
							 w->limit),
		   start);
}

void jw_str_fit(struct jw *w, const char *key, const char *val)
{
	size_t start = w->len;
	/* Room for at least a few characters, "...", and the quotes. */
	static const size_t tail = sizeof("...\"") - 1;

	if (w->dead)
		return;
	if (!put_prefix(w, key) || w->len + 1 + 8 + tail > w->limit) {
		unit_failed(w, start);
		return;
	}
	size_t before = w->len;
	if (put_escaped(w, val ? val : "", w->limit)) {
		value_done(w, true, start);
		return;
	}
	/* Cut: write the escaped text again, whole characters only, and
	 * stop short of the limit by the tail. */
	w->len = before;
	w->buf[w->len] = '\0';
	size_t cut_limit = w->limit - tail;
	put(w, "\"", 1, cut_limit);
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		char esc[6];
		if (!put(w, esc, escape_char(*p, esc), cut_limit))
			break;
	}
	bool ok = put(w, "...\"", tail, w->limit);
	SIM_ASSERT(ok);
	w->truncated = true;
	value_done(w, true, start);
}

/* A number: `neg` puts a minus sign before the magnitude v. */
static void put_number(struct jw *w, const char *key, bool neg, uint64_t v)
{
	char num[24];
	int n = 0;
	char tmp[24];
	size_t start = w->len;

	if (w->dead)
		return;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		num[0] = '-';
	for (int i = 0; i < n; i++)
		num[neg + i] = tmp[n - 1 - i];
	value_done(w, put_prefix(w, key) &&
			      put(w, num, (size_t)n + neg, w->limit),
		   start);
}

void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	put_number(w, key, false, v);
}

void jw_i64(struct jw *w, const char *key, int64_t v)
{
	/* The magnitude of INT64_MIN does not fit an int64_t: negate in
	 * unsigned arithmetic. */
	put_number(w, key, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	size_t start = w->len;

	if (w->dead)
		return;
	value_done(w, put_prefix(w, key) &&
			      put(w, v ? "true" : "false", v ? 4 : 5, w->limit),
		   start);
}

void jw_null(struct jw *w, const char *key)
{
	size_t start = w->len;

	if (w->dead)
		return;
	value_done(w, put_prefix(w, key) && put(w, "null", 4, w->limit), start);
}

const char *jw_finish(struct jw *w)
{
	SIM_ASSERT(w->dead == 0);
	while (w->depth > 1)
		close_container(w, w->closer[w->depth - 1]);
	if (w->truncated) {
		const char *flag = w->first[0] ? "\"truncated\":true"
					       : ",\"truncated\":true";
		bool ok = put(w, flag, strlen(flag), w->cap - 2);
		SIM_ASSERT(ok);
	}
	bool ok = put(w, "}", 1, w->cap - 1);
	SIM_ASSERT(ok);
	w->depth = 0;
	return w->buf;
}
