/*
 * strbuf.h: text built into a caller's fixed buffer, for finding summaries
 * and lockdep-style reports.  Appending never overflows: what does not fit
 * is cut and `truncated` says so.  Not a growable string: nothing here
 * allocates, so checkers may build text inside hooks.
 */
#ifndef SIM_STRBUF_H
#define SIM_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t cap;		/* bytes of buf, the terminating NUL included */
	size_t len;		/* strlen(buf) */
	bool truncated;		/* something did not fit */
};

void strbuf_init(struct strbuf *b, char *buf, size_t cap);
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_puts(struct strbuf *b, const char *s);

/* A duration in the unit that reads best: "850 ns", "12.5 us", "4 ms",
 * "120 s". */
void strbuf_duration(struct strbuf *b, unsigned long long ns);

#endif /* SIM_STRBUF_H */
