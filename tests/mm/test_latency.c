/*
 * test_latency.c: the latency distributions of mm/latency.c.  Checks the
 * fixed-point pieces against libm and against normal quantiles computed
 * offline with mpmath (50 digits): Phi^-1 within 2.5e-4, ln and exp within
 * 1e-8.  Then draws 100,000 log-normal latencies for the NVMe and HDD
 * presets and a custom setting and checks the sample median and p99 are
 * within 5% of the configured ones (printing the figures); that fixed and
 * uniform draw exactly what they must; that one seed gives one sequence,
 * the same on every build (pinned values: this suite runs at -O2 and, in
 * the sanitizer build, at -O0); and that invalid specs are refused naming
 * the member at fault.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/blkdev.h"
#include "mm/latency.h"

/* u, and Phi^-1((u + 1/2) / 2^64) from mpmath at 50 digits. */
static const struct {
	uint64_t u;
	double z;
} quantiles[] = {
	{ 0x8000000000000000ull, 0.000000000000 },	/* p = 0.5 */
	{ 0x4000000000000000ull, -0.674489750196 },	/* p = 0.25 */
	{ 0x199999999999999aull, -1.281551565545 },	/* p = 0.1 */
	{ 0x028f5c28f5c28f5cull, -2.326347874041 },	/* p = 0.01 */
	{ 0x004189374bc6a7f0ull, -3.090232306168 },	/* p = 0.001 */
	{ 0x000010c6f7a0b5eeull, -4.753424308823 },	/* p = 1e-6 */
	{ 0x000000044b82fa0aull, -5.997807015001 },	/* p = 1e-9 */
	{ 0x0000000001197998ull, -7.034483822079 },	/* p = 1e-12 */
	{ 0xc000000000000000ull, 0.674489750196 },	/* p = 0.75 */
	{ 0xfd70a3d70a3d70a4ull, 2.326347874041 },	/* p = 0.99 */
	{ 0xffbe76c8b4395810ull, 3.090232306168 },	/* p = 0.999 */
	{ 0xffffef39085f4a12ull, 4.753424308823 },	/* p = 0.999999 */
	{ 0xfffffffbb47d05f6ull, 5.997807015010 },	/* p = 0.999999999 */
};

Test(latency, normal_quantile_matches_mpmath)
{
	double worst = 0;

	for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
		double z = (double)normal_quantile_q24(quantiles[i].u) /
			   (1 << 24);
		double err = fabs(z - quantiles[i].z);
		cr_expect(err < 2.5e-4, "u=%#llx: z=%.6f, expected %.6f",
			  (unsigned long long)quantiles[i].u, z,
			  quantiles[i].z);
		if (err > worst)
			worst = err;
	}
	fprintf(stderr, "normal quantile: worst |dz| at the reference points %.2e\n",
		worst);
}

Test(latency, normal_quantile_is_symmetric_monotone_and_clamped)
{
	/* Mirror halves: u and ~u give opposite z. */
	for (uint64_t u = 1; u < (1ull << 63); u = u * 3 + 7)
		cr_assert_eq(normal_quantile_q24(u), -normal_quantile_q24(~u));
	/* Rising in u, across octave and step boundaries. */
	int64_t prev = normal_quantile_q24(0);
	for (uint64_t u = 1ull << 20; u < (1ull << 63); u += u / 97 + 1) {
		int64_t z = normal_quantile_q24(u);
		cr_assert_geq(z, prev, "not monotone at u=%#llx",
			      (unsigned long long)u);
		prev = z;
	}
	/* Below p = 2^-41 the tail is clamped at Phi^-1(2^-41) = -7.1436. */
	double lo = (double)normal_quantile_q24(0) / (1 << 24);
	double hi = (double)normal_quantile_q24(UINT64_MAX) / (1 << 24);
	cr_assert(fabs(lo + 7.143552) < 1e-5, "clamp %.6f", lo);
	cr_assert(fabs(hi - 7.143552) < 1e-5, "clamp %.6f", hi);
}

Test(latency, ln_exp_and_mul_match_libm)
{
	static const uint64_t xs[] = { 1, 2, 3, 7, 1000, 1700, 3600, 50000,
				       6000000, 10000000, 10000000000ull,
				       (1ull << 40) + 12345, UINT64_MAX };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double got = (double)ln_q32(xs[i]) / 4294967296.0;
		cr_expect(fabs(got - log((double)xs[i])) < 1e-8,
			  "ln(%llu) = %.10f, libm %.10f",
			  (unsigned long long)xs[i], got, log((double)xs[i]));
	}
	for (double x = -20; x < 15; x += 0.37) {
		int64_t xq = (int64_t)llround(x * 4294967296.0);
		double got = (double)exp_q32(xq) / 4294967296.0;
		double want = exp((double)xq / 4294967296.0);
		cr_expect(fabs(got - want) <= 1e-8 * want + 5e-10,
			  "exp(%.2f) = %.12g, libm %.12g", x, got, want);
	}
	cr_assert_eq(exp_q32(25ll << 32), UINT64_MAX, "saturates");
	cr_assert_eq(mul_u64_shift(1ull << 63, 4, 64), 2);
	cr_assert_eq(mul_u64_shift(UINT64_MAX, UINT64_MAX, 64),
		     UINT64_MAX - 1);
	cr_assert_eq(mul_u64_shift(1ull << 63, 4, 0), UINT64_MAX);
	cr_assert_eq(mul_u64_shift(123456789, 987654321, 0),
		     123456789ull * 987654321ull);
	cr_assert_eq(mul_u64_shift(3ull << 40, 5ull << 40, 64), 15ull << 16);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

#define DRAWS 100000

/* Draw DRAWS latencies of spec from seed; check the sample median and p99
 * within 5% of the spec's, and print them. */
static void check_lognormal(const char *what, const struct latency_spec *s,
			    uint64_t seed)
{
	static uint64_t v[DRAWS];
	struct latency_dist d;
	struct prng p;

	latency_dist_init(&d, s);
	prng_seed(&p, seed);
	for (size_t i = 0; i < DRAWS; i++)
		v[i] = latency_draw(&d, &p);
	qsort(v, DRAWS, sizeof(v[0]), cmp_u64);
	double med = (double)v[DRAWS / 2], p99 = (double)v[DRAWS * 99 / 100];
	double med_err = med / (double)s->median_ns - 1;
	double p99_err = p99 / (double)s->p99_ns - 1;
	fprintf(stderr,
		"lognormal %-7s median %9llu ns: measured %9.0f (%+.2f%%); p99 %9llu ns: measured %9.0f (%+.2f%%); %d draws\n",
		what, (unsigned long long)s->median_ns, med, 100 * med_err,
		(unsigned long long)s->p99_ns, p99, 100 * p99_err, DRAWS);
	cr_assert(fabs(med_err) < 0.05, "%s median off by %.2f%%", what,
		  100 * med_err);
	cr_assert(fabs(p99_err) < 0.05, "%s p99 off by %.2f%%", what,
		  100 * p99_err);
	/* The quantile function itself, without sampling error. */
	cr_assert(fabs((double)latency_lognormal_at(&d, 1ull << 63) -
		       (double)s->median_ns) <= 1.0);
	double q99 = (double)latency_lognormal_at(&d, quantiles[9].u);
	cr_assert(fabs(q99 / (double)s->p99_ns - 1) < 1e-3,
		  "%s: quantile at 0.99 is %.0f", what, q99);
}

Test(latency, lognormal_presets_and_custom_hit_median_and_p99)
{
	struct latency_spec s;
	uint32_t depth;

	disk_preset_get(DISK_PRESET_NVME, &s, &depth);
	cr_assert_eq(s.median_ns, 50000);
	cr_assert_eq(s.p99_ns, 100000);
	check_lognormal("nvme", &s, 1);
	disk_preset_get(DISK_PRESET_HDD, &s, &depth);
	cr_assert_eq(s.median_ns, 6000000);
	cr_assert_eq(s.p99_ns, 10000000);
	check_lognormal("hdd", &s, 2);
	s = (struct latency_spec){ .model = LATENCY_LOGNORMAL,
				   .median_ns = 1200000,
				   .p99_ns = 20000000 };
	check_lognormal("custom", &s, 3);
}

Test(latency, fixed_draws_exactly_and_consumes_nothing)
{
	struct latency_spec s = { .model = LATENCY_FIXED, .ns = 12345 };
	struct latency_dist d;
	struct prng p, before;

	latency_dist_init(&d, &s);
	prng_seed(&p, 9);
	before = p;
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(latency_draw(&d, &p), 12345);
	cr_assert(memcmp(&p, &before, sizeof(p)) == 0,
		  "a fixed latency must not draw from the PRNG");
}

Test(latency, uniform_is_prng_range_exactly)
{
	struct latency_spec s = { .model = LATENCY_UNIFORM, .min_ns = 10,
				  .max_ns = 13 };
	struct latency_dist d;
	struct prng p, q;
	uint32_t seen[4] = { 0 };

	latency_dist_init(&d, &s);
	prng_seed(&p, 5);
	prng_seed(&q, 5);
	for (int i = 0; i < 4000; i++) {
		uint64_t v = latency_draw(&d, &p);
		cr_assert_eq(v, prng_range(&q, 10, 13));
		cr_assert(v >= 10 && v <= 13);
		seen[v - 10]++;
	}
	for (int i = 0; i < 4; i++)
		cr_assert_gt(seen[i], 850, "value %d drawn %u times of 4000",
			     10 + i, seen[i]);
	s.min_ns = s.max_ns = 777;
	latency_dist_init(&d, &s);
	cr_assert_eq(latency_draw(&d, &p), 777);
}

Test(latency, same_seed_same_sequence)
{
	struct latency_spec s = { .model = LATENCY_LOGNORMAL,
				  .median_ns = 50000, .p99_ns = 100000 };
	struct latency_dist d;
	struct prng a, b, c;
	uint32_t differ = 0;

	latency_dist_init(&d, &s);
	prng_seed(&a, 42);
	prng_seed(&b, 42);
	prng_seed(&c, 43);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = latency_draw(&d, &a);
		cr_assert_eq(x, latency_draw(&d, &b));
		differ += x != latency_draw(&d, &c);
	}
	cr_assert_gt(differ, 990, "another seed gives another sequence");
}

Test(latency, invalid_specs_name_the_member)
{
	char buf[160];
	const char *key;
	struct latency_spec s = { .model = LATENCY_LOGNORMAL,
				  .median_ns = 5000, .p99_ns = 3000 };

	cr_assert_not_null(latency_spec_check(&s, &key, buf, sizeof(buf)));
	cr_assert_str_eq(key, "p99");
	s.p99_ns = 5000 * 100 + 1;
	cr_assert_not_null(latency_spec_check(&s, &key, buf, sizeof(buf)));
	cr_assert_str_eq(key, "p99");
	s.p99_ns = 5000 * 100;
	cr_assert_null(latency_spec_check(&s, &key, buf, sizeof(buf)));
	s.median_ns = 0;
	cr_assert_not_null(latency_spec_check(&s, &key, buf, sizeof(buf)));
	cr_assert_str_eq(key, "median");
	s = (struct latency_spec){ .model = LATENCY_UNIFORM, .min_ns = 9,
				   .max_ns = 8 };
	cr_assert_not_null(latency_spec_check(&s, &key, buf, sizeof(buf)));
	cr_assert_str_eq(key, "min");
	s = (struct latency_spec){ .model = LATENCY_FIXED,
				   .ns = LATENCY_NS_MAX + 1 };
	cr_assert_not_null(latency_spec_check(&s, &key, buf, sizeof(buf)));
	cr_assert_str_eq(key, "ns");
}

/* The first draws of seed 42, and sigma against mpmath's
 * floor(2^32 * ln(p99/median) / Phi^-1(0.99)): any build, compiler or
 * architecture must give exactly these. */
Test(latency, pinned_draws_on_every_build)
{
	static const uint64_t first[] = { 33147, 45613, 57480, 76733, 102224 };
	struct latency_spec s;
	struct latency_dist d;
	struct prng p;
	uint32_t depth;
	uint64_t sum = 0;

	disk_preset_get(DISK_PRESET_NVME, &s, &depth);
	latency_dist_init(&d, &s);
	cr_assert(d.sigma_q32 >= 1279707349 - 2 && d.sigma_q32 <= 1279707349 + 2,
		  "nvme sigma_q32 %llu", (unsigned long long)d.sigma_q32);
	prng_seed(&p, 42);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(latency_draw(&d, &p), first[i], "draw %d", i);
	for (int i = 0; i < 1000; i++)
		sum += latency_draw(&d, &p);
	cr_assert_eq(sum, 51856673);
	disk_preset_get(DISK_PRESET_HDD, &s, &depth);
	latency_dist_init(&d, &s);
	cr_assert(d.sigma_q32 >= 943100287 - 2 && d.sigma_q32 <= 943100287 + 2,
		  "hdd sigma_q32 %llu", (unsigned long long)d.sigma_q32);
	sum = 0;
	for (int i = 0; i < 1000; i++)
		sum += latency_draw(&d, &p);
	cr_assert_eq(sum, 6141094691ull);
}
