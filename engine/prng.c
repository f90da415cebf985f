/*
 * prng.c: xoshiro256** and splitmix64, as published by their authors.  Not a
 * cryptographic generator, and not meant to be one: what matters here is that
 * the sequence for a seed never changes.
 */
#include "engine/prng.h"
#include "engine/sim_assert.h"

uint64_t prng_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void prng_seed(struct prng *p, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++) {
		x += 0x9e3779b97f4a7c15ull;
		uint64_t z = x;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		p->s[i] = z ^ (z >> 31);
	}
	/* xoshiro's only forbidden state is all zeros; splitmix64 cannot
	 * produce four zero words in a row, but say so. */
	SIM_ASSERT((p->s[0] | p->s[1] | p->s[2] | p->s[3]) != 0);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t prng_u64(struct prng *p)
{
	uint64_t *s = p->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t prng_below(struct prng *p, uint64_t n)
{
	SIM_ASSERT(n > 0);
#if defined(__SIZEOF_INT128__)
	unsigned __int128 m = (unsigned __int128)prng_u64(p) * n;
	uint64_t low = (uint64_t)m;

	if (low < n) {
		uint64_t threshold = (0 - n) % n;
		while (low < threshold) {
			m = (unsigned __int128)prng_u64(p) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
#else
	/* Without 128-bit multiply: reject the biased tail, then reduce.  The
	 * sequence differs from the 128-bit path, so such builds do not share
	 * trace hashes with x86-64 and AArch64 builds. */
	uint64_t threshold = (0 - n) % n;
	uint64_t r;

	do
		r = prng_u64(p);
	while (r < threshold);
	return r % n;
#endif
}

uint64_t prng_range(struct prng *p, uint64_t lo, uint64_t hi)
{
	SIM_ASSERT(lo <= hi);
	if (lo == 0 && hi == UINT64_MAX)
		return prng_u64(p);
	return lo + prng_below(p, hi - lo + 1);
}

bool prng_chance(struct prng *p, uint64_t num, uint64_t den)
{
	SIM_ASSERT(den > 0);
	SIM_ASSERT(num <= den);
	return prng_below(p, den) < num;
}
