/*
 * test_strbuf.c: bounded text (analysis/strbuf.c): appends that do not fit
 * are cut and flagged, never overflow; durations read in the best unit.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "analysis/strbuf.h"

Test(strbuf, appends_are_cut_not_overflowed)
{
	char buf[16];
	struct strbuf b;

	memset(buf, 'X', sizeof(buf));
	strbuf_init(&b, buf, 10);
	strbuf_printf(&b, "%d-%s", 12, "ab");
	cr_assert_str_eq(buf, "12-ab");
	cr_assert_not(b.truncated);
	strbuf_puts(&b, "cdefghij");
	cr_assert_str_eq(buf, "12-abcdef");
	cr_assert(b.truncated);
	cr_assert_eq(b.len, 9);
	strbuf_puts(&b, "more");
	cr_assert_str_eq(buf, "12-abcdef");
	cr_assert_eq(buf[10], 'X');
}

static const char *dur(unsigned long long ns)
{
	static char buf[64];
	struct strbuf b;

	strbuf_init(&b, buf, sizeof(buf));
	strbuf_duration(&b, ns);
	return buf;
}

Test(strbuf, durations)
{
	cr_assert_str_eq(dur(0), "0 ns");
	cr_assert_str_eq(dur(850), "850 ns");
	cr_assert_str_eq(dur(1700), "1.7 us");
	cr_assert_str_eq(dur(12500), "12.5 us");
	cr_assert_str_eq(dur(4000000), "4 ms");
	cr_assert_str_eq(dur(6123456), "6.123 ms");
	cr_assert_str_eq(dur(120000000000ull), "120 s");
	cr_assert_str_eq(dur(600500000000ull), "600.5 s");
}
