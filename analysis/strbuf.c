/*
 * strbuf.c: bounded text appends (see strbuf.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analysis/strbuf.h"
#include "engine/sim_assert.h"

void strbuf_init(struct strbuf *b, char *buf, size_t cap)
{
	SIM_ASSERT(buf != NULL);
	SIM_ASSERT(cap > 0);
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->truncated = false;
	buf[0] = '\0';
}

void strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;

	SIM_ASSERT(b->len < b->cap);
	va_start(ap, fmt);
	int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	SIM_ASSERT(n >= 0);
	if ((size_t)n >= b->cap - b->len) {
		b->len = b->cap - 1;
		b->truncated = true;
	} else {
		b->len += (size_t)n;
	}
}

void strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_printf(b, "%s", s);
}

void strbuf_duration(struct strbuf *b, unsigned long long ns)
{
	static const struct {
		unsigned long long div;
		const char *unit;
	} units[] = { { 1000000000ull, "s" }, { 1000000ull, "ms" },
		      { 1000ull, "us" } };

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unsigned long long d = units[i].div;
		if (ns < d)
			continue;
		/* Up to three decimals, trailing zeros dropped: integer
		 * arithmetic only, so the text is the same in every build. */
		unsigned long long whole = ns / d;
		unsigned long long frac = (ns % d) * 1000 / d;
		if (frac == 0) {
			strbuf_printf(b, "%llu %s", whole, units[i].unit);
			return;
		}
		SIM_ASSERT(frac < 1000);
		char digits[4] = { (char)('0' + frac / 100),
				   (char)('0' + frac / 10 % 10),
				   (char)('0' + frac % 10), '\0' };
		for (int k = 2; k > 0 && digits[k] == '0'; k--)
			digits[k] = '\0';
		strbuf_printf(b, "%llu.%s %s", whole, digits, units[i].unit);
		return;
	}
	strbuf_printf(b, "%llu ns", ns);
}
