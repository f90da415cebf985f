/*
 * latency.h: the latency distributions of the modeled devices (a disk's
 * service time per request, zram's CPU cost per page): fixed, uniform, and
 * log-normal given by its median and 99th percentile.  Every draw uses
 * integer arithmetic only, from the model's PRNG stream, so a seed gives the
 * same latencies on every compiler, optimisation level and architecture.
 * Not a device: blkdev.c queues requests and zram.c charges costs with what
 * is drawn here.
 *
 * The log-normal draw, X = median * exp(sigma * Z) with Z standard normal:
 *  1. 64 random bits u give p = (u + 1/2) / 2^64 in (0, 1).
 *  2. Z = Phi^-1(p) from a fixed-point table (Q24) of the normal quantile
 *     function, built offline (the generating script is in latency.c):
 *     the lower half p < 1/2 is split into octaves [2^-(k+2), 2^-(k+1)),
 *     k = 0..39, each tabulated at 17 evenly spaced points and linearly
 *     interpolated; the upper half is the mirror image.  Octaves keep the
 *     tails, where Phi^-1 bends hardest, as finely sampled as the centre.
 *     Measured against mpmath at 40 digits (400 points per octave): the
 *     absolute error of Z is at most 2.0e-4 everywhere, 1.5e-4 around
 *     p = 0.01.  Below p = 2^-41 (probability 2^-40 per draw, either
 *     tail) Z is clamped to +-7.14.
 *  3. sigma = ln(p99 / median) / Phi^-1(0.99), computed once per device with
 *     a fixed-point logarithm (atanh series, Q32).
 *  4. exp(sigma * Z) in Q32: exp(w) = 2^n * exp(r), r in [0, ln 2), exp(r)
 *     by a 13-term Taylor series (truncation below 1e-13; the result is
 *     within 1e-8 relative of libm's, Q32 rounding included, which the
 *     tests check).
 * The relative error of a draw is therefore about sigma * 2e-4: 0.006% for
 * the NVMe preset, far below the sampling error of any run.  The median is
 * exact (Z = 0 at p = 1/2).
 */
#ifndef SIM_MM_LATENCY_H
#define SIM_MM_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/prng.h"

enum latency_model {
	LATENCY_FIXED = 0,
	LATENCY_UNIFORM,
	LATENCY_LOGNORMAL,
	LATENCY_MODELS_COUNT,
};

/* A distribution as a scenario gives it. */
struct latency_spec {
	enum latency_model model;
	uint64_t ns;			/* fixed */
	uint64_t min_ns;		/* uniform, inclusive */
	uint64_t max_ns;
	uint64_t median_ns;		/* log-normal */
	uint64_t p99_ns;
};

/* A distribution ready to draw from: the spec and what is derived from it
 * once (log-normal sigma), so a draw does no logarithm. */
struct latency_dist {
	struct latency_spec spec;
	uint64_t sigma_q32;		/* log-normal: ln(p99/median)/z_0.99 */
};

/* The longest latency any distribution may be given or may draw: one
 * minute of virtual time.  Nothing a block device or a compressor does
 * takes longer; a log-normal draw beyond it (its far tail) is clamped. */
#define LATENCY_NS_MAX (60ull * 1000 * 1000 * 1000)

/* The widest log-normal: p99 at most 100 times the median (sigma 1.98).
 * Real devices are far narrower (NVMe 2x, HDD 1.7x, zram 2.1x); the bound
 * keeps every fixed-point product of a draw inside 64 bits. */
#define LATENCY_P99_RATIO_MAX 100

/* The Q24 normal quantile table's shape (see latency.c). */
#define NORMAL_QUANTILE_OCTAVES 40
#define NORMAL_QUANTILE_STEPS 16

/* NULL when the spec is valid, else what is wrong with it ("p99 (3000000
 * ns) is below median (5000000 ns)"), with *key set to the member at fault
 * as a scenario spells it ("p99").  The message is in static storage or in
 * buf. */
const char *latency_spec_check(const struct latency_spec *s, const char **key,
			       char *buf, size_t len);

/* Derive what draws need.  The spec must pass latency_spec_check. */
void latency_dist_init(struct latency_dist *d, const struct latency_spec *s);

/* One draw in nanoseconds.  Fixed draws nothing from the PRNG; uniform and
 * log-normal draw one 64-bit number each. */
uint64_t latency_draw(const struct latency_dist *d, struct prng *p);

/* The log-normal draw as a function of its 64 random bits: the
 * distribution's quantile at p = (u + 1/2) / 2^64.  Public for the tests. */
uint64_t latency_lognormal_at(const struct latency_dist *d, uint64_t u);

/* ---------------------------------------------- fixed-point primitives */

/* Phi^-1((u + 1/2) / 2^64) in Q24 (see the method above). */
int64_t normal_quantile_q24(uint64_t u);
/* ln(x) in Q32 for an integer x >= 1. */
uint64_t ln_q32(uint64_t x);
/* exp(x) for x in Q32; the result in Q32, UINT64_MAX when it does not
 * fit (x above about 21.4). */
uint64_t exp_q32(int64_t x_q32);
/* floor(a * b / 2^shift) for shift in [0, 64], UINT64_MAX when the result
 * does not fit in 64 bits: the 128-bit product from 32-bit halves, since C11
 * has no 128-bit integer. */
uint64_t mul_u64_shift(uint64_t a, uint64_t b, unsigned shift);

#endif /* SIM_MM_LATENCY_H */
