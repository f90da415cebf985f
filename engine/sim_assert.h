/*
 * sim_assert.h: assertions that stay on in every build, and coverage marks.
 * A failed SIM_ASSERT inside a run ends that run with a model_assert outcome
 * (the campaign goes on); outside a run it aborts the process.  Either way
 * the message names the file, the line and the run's seed.
 */
#ifndef SIM_ASSERT_H
#define SIM_ASSERT_H

#include <stdbool.h>
#include <stdint.h>

_Noreturn void sim_assert_fail(const char *file, int line, const char *expr);

#define SIM_ASSERT(cond)                                                     \
	do {                                                                 \
		if (__builtin_expect(!(cond), 0))                            \
			sim_assert_fail(__FILE__, __LINE__, #cond);          \
	} while (0)

/* Checks too costly for every build (walking whole structures at every
 * step) run only when configured with -DSIMRUN_EXPENSIVE_CHECKS=ON. */
#if defined(SIM_EXPENSIVE_CHECKS)
#define SIM_EXPENSIVE 1
#else
#define SIM_EXPENSIVE 0
#endif

/*
 * Coverage marks: SIM_MARK("filemap_fault: truncated while locking") on a
 * rare path counts its hits, and a test asserts that some scenario reaches
 * it.  Each site is a static record linked into one list on its first hit,
 * so a hit costs one branch after the first.
 */
struct sim_mark {
	const char *name;
	uint64_t hits;
	struct sim_mark *next;
	bool linked;
};

void sim_mark_link(struct sim_mark *m);

#define SIM_MARK(str)                                                        \
	do {                                                                 \
		static struct sim_mark sim_mark_site_ = { (str), 0, 0, false }; \
		if (__builtin_expect(!sim_mark_site_.linked, 0))             \
			sim_mark_link(&sim_mark_site_);                      \
		sim_mark_site_.hits++;                                       \
	} while (0)

/* Hits of the mark of that name since start (0 when never reached). */
uint64_t sim_mark_hits(const char *name);
/* Forget all counts, so a test can attribute hits to its own scenario. */
void sim_marks_reset(void);

#endif /* SIM_ASSERT_H */
