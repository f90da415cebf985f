/*
 * test_jsonw.c: the bounded JSON writer (analysis/jsonw.c).  Checks that
 * a document is the JSON expected, with escapes; that for every buffer
 * size from the smallest allowed up, a document too big for it is still
 * valid JSON (cJSON parses it), keeps whole values only, and says
 * "truncated", while one that fits with JW_RESERVE to spare is whole; that
 * a long text value is cut to fit, ending in "..."; and that signed
 * numbers (a refcount gone below zero) come out whole, INT64_MIN included.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <string.h>

#include "analysis/jsonw.h"

static void write_doc(struct jw *w)
{
	jw_str(w, "name", "a \"quoted\"\nline\\");
	jw_u64(w, "big", UINT64_MAX);
	jw_u64(w, "zero", 0);
	jw_bool(w, "yes", true);
	jw_null(w, "none");
	jw_arr_begin(w, "list");
	for (int i = 0; i < 20; i++) {
		jw_obj_begin(w, NULL);
		jw_u64(w, "i", (uint64_t)i);
		jw_str(w, "s", "\x01 ctl");
		jw_arr_begin(w, "empty");
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_str(w, "after", "x");
}

Test(jsonw, a_document_with_escapes)
{
	char buf[4096];
	struct jw w;

	jw_init(&w, buf, sizeof(buf));
	jw_str(&w, "name", "a \"quoted\"\nline\\");
	jw_u64(&w, "n", 18446744073709551615ull);
	jw_arr_begin(&w, "a");
	jw_u64(&w, NULL, 1);
	jw_obj_begin(&w, NULL);
	jw_bool(&w, "t", true);
	jw_obj_end(&w);
	jw_null(&w, NULL);
	jw_arr_end(&w);
	jw_str(&w, "ctl", "\x01");
	cr_assert_str_eq(jw_finish(&w),
			 "{\"name\":\"a \\\"quoted\\\"\\nline\\\\\",\"n\":18446744073709551615,"
			 "\"a\":[1,{\"t\":true},null],\"ctl\":\"\\u0001\"}");
	cr_assert_not(w.truncated);
}

Test(jsonw, signed_numbers)
{
	char buf[256];
	struct jw w;

	jw_init(&w, buf, sizeof(buf));
	jw_i64(&w, "neg", -1);
	jw_i64(&w, "zero", 0);
	jw_i64(&w, "pos", 513);
	jw_i64(&w, "min", INT64_MIN);
	jw_i64(&w, "max", INT64_MAX);
	cr_assert_str_eq(jw_finish(&w),
			 "{\"neg\":-1,\"zero\":0,\"pos\":513,"
			 "\"min\":-9223372036854775808,\"max\":9223372036854775807}");
}

Test(jsonw, every_size_gives_valid_json)
{
	char full[8192];
	struct jw w;

	jw_init(&w, full, sizeof(full));
	write_doc(&w);
	jw_finish(&w);
	cr_assert_not(w.truncated);
	size_t need = strlen(full) + 1;

	/* Whole below `need`, never; from need + JW_RESERVE (what is kept
	 * back for closing), always; in between, either. */
	for (size_t cap = JW_RESERVE + 3; cap <= need + JW_RESERVE + 8; cap++) {
		char buf[8192];
		memset(buf, 'X', sizeof(buf));
		jw_init(&w, buf, cap);
		write_doc(&w);
		const char *text = jw_finish(&w);
		cr_assert_lt(strlen(text), cap, "cap %zu", cap);
		cr_assert_eq(buf[cap], 'X', "wrote past the buffer at cap %zu", cap);
		cJSON *j = cJSON_Parse(text);
		cr_assert_not_null(j, "cap %zu: %s", cap, text);
		cJSON *tr = cJSON_GetObjectItem(j, "truncated");
		if (cap < need)
			cr_assert(cJSON_IsTrue(tr), "cap %zu: %s", cap, text);
		if (cap >= need + JW_RESERVE)
			cr_assert_null(tr, "cap %zu", cap);
		if (!tr)
			cr_assert_str_eq(text, full);
		/* Whole values only: a string present is the full string. */
		cJSON *name = cJSON_GetObjectItem(j, "name");
		if (name)
			cr_assert_str_eq(name->valuestring, "a \"quoted\"\nline\\");
		cJSON_Delete(j);
	}
}

Test(jsonw, long_text_is_cut_to_fit)
{
	char text[3000], buf[512];
	struct jw w;

	for (size_t i = 0; i < sizeof(text) - 1; i++)
		text[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 26);
	text[sizeof(text) - 1] = '\0';
	jw_init(&w, buf, sizeof(buf));
	jw_u64(&w, "first", 1);
	jw_str_fit(&w, "report", text);
	const char *out = jw_finish(&w);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	const char *r = cJSON_GetObjectItem(j, "report")->valuestring;
	size_t n = strlen(r);
	cr_assert_gt(n, 300, "most of the buffer is used");
	cr_assert_str_eq(r + n - 3, "...");
	cr_assert_eq(strncmp(r, text, n - 3), 0, "a prefix of the text");
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
	cJSON_Delete(j);

	/* When it fits, it is whole. */
	jw_init(&w, buf, sizeof(buf));
	jw_str_fit(&w, "report", "short\ntext");
	j = cJSON_Parse(jw_finish(&w));
	cr_assert_str_eq(cJSON_GetObjectItem(j, "report")->valuestring,
			 "short\ntext");
	cr_assert_null(cJSON_GetObjectItem(j, "truncated"));
	cJSON_Delete(j);
}
