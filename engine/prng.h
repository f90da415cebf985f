/*
 * prng.h: the one pseudo-random generator of simrun.  xoshiro256** (Blackman
 * and Vigna, 2018) seeded through splitmix64.  Integer API only: probabilities
 * are ratios of integers, so a run draws the same numbers on every compiler,
 * optimisation level and architecture.
 */
#ifndef SIM_PRNG_H
#define SIM_PRNG_H

#include <stdbool.h>
#include <stdint.h>

struct prng {
	uint64_t s[4];
};

/* splitmix64's output function: a bijective 64-bit mixer.  Used to seed
 * xoshiro and to derive run seeds; public so that seed derivation is one
 * documented function. */
uint64_t prng_mix64(uint64_t x);

void prng_seed(struct prng *p, uint64_t seed);
uint64_t prng_u64(struct prng *p);
/* Uniform in [0, n); n > 0.  Lemire's multiply-shift with rejection, so no
 * modulo bias. */
uint64_t prng_below(struct prng *p, uint64_t n);
/* Uniform in [lo, hi]; lo <= hi. */
uint64_t prng_range(struct prng *p, uint64_t lo, uint64_t hi);
/* True with probability num/den; 0 <= num <= den, den > 0. */
bool prng_chance(struct prng *p, uint64_t num, uint64_t den);

#endif /* SIM_PRNG_H */
