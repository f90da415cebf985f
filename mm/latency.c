/*
 * latency.c: integer-only latency draws (see latency.h for the method and
 * its accuracy).  Not a device: nothing here knows queues or costs.
 */
#include <assert.h>
#include <stdio.h>

#include "engine/sim_assert.h"
#include "mm/latency.h"

/* ln 2 in Q32: round(ln(2) * 2^32). */
#define LN2_Q32 2977044472ll
/* 1 / Phi^-1(0.99) in Q48: round(2^48 / 2.3263478740408411009). */
#define INV_Z99_Q48 120994361957456ull
#define ONE_Q32 (1ull << 32)

/* Terms of the series below; each bound is where the next term falls below
 * one unit of Q32 (asserted). */
#define LN_SERIES_TERMS_MAX 24
#define EXP_SERIES_TERMS 13

static_assert(NORMAL_QUANTILE_STEPS == 16, "the index below takes 4 bits");
static_assert(LATENCY_NS_MAX < (1ull << 36),
	      "median (< 2^36) times exp(sigma z) (< 2^56 in Q32) fits 2^92 >> 31");

/*
 * normal_quantile_q24[k][j] = round(2^24 * Phi^-1(2^-(k+2) * (1 + j/16))),
 * printed by this script (Python 3.11; statistics.NormalDist.inv_cdf is
 * Wichura's AS241, accurate to 1e-15 here, checked against mpmath):
 *
 *     from statistics import NormalDist
 *     K, N, Q = 40, 16, 24
 *     inv = NormalDist().inv_cdf
 *     for k in range(K):
 *         row = [round(inv(2.0 ** -(k + 2) * (1 + j / N)) * (1 << Q))
 *                for j in range(N + 1)]
 *         lines = [row[0:6], row[6:12], row[12:]]
 *         print("\t{ " + ", ".join(map(str, lines[0])) + ",")
 *         print("\t  " + ", ".join(map(str, lines[1])) + ",")
 *         print("\t  " + ", ".join(map(str, lines[2])) + " },")
 *
 * The error figures in latency.h come from evaluating normal_quantile_q24's
 * interpolation (same integer steps, in Python) at 400 points per octave
 * against mpmath.erfinv at 40 digits.
 */
static const int32_t
normal_quantile_table[NORMAL_QUANTILE_OCTAVES][NORMAL_QUANTILE_STEPS + 1] = {
	{ -11316060, -10504198, -9716225, -8949130, -8200307, -7467481,
	  -6748636, -6041977, -5345881, -4658872, -3979591, -3306774,
	  -2639235, -1975851, -1315542, -657266, 0 },
	{ -19299660, -18676301, -18077711, -17501292, -16944823, -16406398,
	  -15884362, -15377269, -14883849, -14402979, -13933660, -13475000,
	  -13026196, -12586525, -12155334, -11732027, -11316060 },
	{ -25738272, -25217883, -24720684, -24244295, -23786689, -23346125,
	  -22921097, -22510290, -22112554, -21726871, -21352340, -20988158,
	  -20633606, -20288037, -19950867, -19621568, -19299660 },
	{ -31251455, -30797458, -30364953, -29951734, -29555925, -29175914,
	  -28810307, -28457891, -28117603, -27788503, -27469762, -27160637,
	  -26860468, -26568659, -26284673, -26008024, -25738272 },
	{ -36136021, -35729069, -35342113, -34973092, -34620253, -34282094,
	  -33957314, -33644782, -33343507, -33052615, -32771334, -32498973,
	  -32234917, -31978613, -31729561, -31487312, -31251455 },
	{ -40559910, -40188395, -39835600, -39499587, -39178709, -38871553,
	  -38576898, -38293683, -38020977, -37757961, -37503910, -37258179,
	  -37020189, -36789424, -36565415, -36347742, -36136021 },
	{ -44628526, -44284873, -43958853, -43648633, -43352655, -43069584,
	  -42798267, -42537702, -42287010, -42045419, -41812244, -41586876,
	  -41368771, -41157441, -40952447, -40753390, -40559910 },
	{ -48412920, -48091878, -47787535, -47498149, -47222240, -46958541,
	  -46705955, -46463532, -46230439, -46005941, -45789391, -45580211,
	  -45377884, -45181950, -44991991, -44807630, -44628526 },
	{ -51963552, -51661313, -51374963, -51102840, -50843531, -50595827,
	  -50358684, -50131195, -49912565, -49702097, -49499171, -49303238,
	  -49113807, -48930437, -48752733, -48580336, -48412920 },
	{ -55317725, -55031427, -54760309, -54502778, -54257483, -54023265,
	  -53799124, -53584194, -53377713, -53179013, -52987504, -52802660,
	  -52624012, -52451138, -52283659, -52121234, -51963552 },
	{ -58503899, -58231330, -57973314, -57728322, -57495053, -57272396,
	  -57059391, -56855204, -56659106, -56470457, -56288687, -56113294,
	  -55943828, -55779884, -55621099, -55467145, -55317725 },
	{ -61544353, -61283762, -61037167, -60803092, -60580286, -60367678,
	  -60164343, -59969479, -59782384, -59602440, -59429102, -59261884,
	  -59100355, -58944124, -58792843, -58646197, -58503899 },
	{ -64456901, -64206877, -63970348, -63745887, -63532288, -63328515,
	  -63133676, -62946997, -62767801, -62595491, -62429541, -62269483,
	  -62114899, -61965415, -61820694, -61680432, -61544353 },
	{ -67256044, -67015429, -66787855, -66571943, -66366523, -66170595,
	  -65983296, -65803876, -65631680, -65466132, -65306723, -65153000,
	  -65004560, -64861040, -64722115, -64587491, -64456901 },
	{ -69953765, -69721595, -69502055, -69293806, -69095715, -68906813,
	  -68726261, -68553334, -68387397, -68227892, -68074325, -67926257,
	  -67783299, -67645099, -67511342, -67381743, -67256044 },
	{ -72560101, -72335565, -72123282, -71921953, -71730476, -71547910,
	  -71373442, -71206367, -71046068, -70892003, -70743694, -70600716,
	  -70462688, -70329270, -70200157, -70075072, -69953765 },
	{ -75083552, -74865959, -74660273, -74465232, -74279762, -74102949,
	  -73934002, -73772234, -73617048, -73467915, -73324370, -73186000,
	  -73052437, -72923348, -72798437, -72677436, -72560101 },
	{ -77531391, -77320147, -77120493, -76931196, -76751214, -76579653,
	  -76415744, -76258819, -76108295, -75963659, -75824457, -75690287,
	  -75560789, -75435643, -75314558, -75197273, -75083552 },
	{ -79909897, -79704489, -79510375, -79326354, -79151408, -78984667,
	  -78825380, -78672896, -78526647, -78386131, -78250908, -78120584,
	  -77994811, -77873273, -77755690, -77641806, -77531391 },
	{ -82224535, -82024513, -81835511, -81656356, -81486054, -81323756,
	  -81168729, -81020336, -80878024, -80741302, -80609742, -80482958,
	  -80360611, -80242393, -80128030, -80017273, -79909897 },
	{ -84480094, -84285063, -84100796, -83926148, -83760146, -83601960,
	  -83450874, -83306266, -83167595, -83034382, -82906207, -82782696,
	  -82663514, -82548363, -82436974, -82329105, -82224535 },
	{ -86680797, -86490408, -86310545, -86140085, -85978078, -85823712,
	  -85676287, -85535194, -85399902, -85269946, -85144913, -85024437,
	  -84908192, -84795886, -84687255, -84582062, -84480094 },
	{ -88830394, -88644336, -88468580, -88302026, -88143745, -87992940,
	  -87848926, -87711107, -87578964, -87452041, -87329933, -87212284,
	  -87098772, -86989113, -86883048, -86780347, -86680797 },
	{ -90932228, -90750224, -90578310, -90415410, -90260613, -90113137,
	  -89972312, -89837554, -89708353, -89584263, -89464889, -89349878,
	  -89238919, -89131731, -89028063, -88927686, -88830394 },
	{ -92989298, -92811096, -92642788, -92483315, -92331785, -92187431,
	  -92049595, -91917706, -91791263, -91669828, -91553013, -91440475,
	  -91331907, -91227033, -91125607, -91027406, -90932228 },
	{ -95004301, -94829678, -94664760, -94508511, -94360052, -94218633,
	  -94083607, -93954413, -93830561, -93711620, -93597210, -93486994,
	  -93380671, -93277970, -93178650, -93082492, -92989298 },
	{ -96979679, -96808430, -96646710, -96493499, -96347935, -96209281,
	  -96076902, -95950248, -95828836, -95712244, -95600098, -95492068,
	  -95387858, -95287203, -95189865, -95095629, -95004301 },
	{ -98917647, -98749587, -98590887, -98440546, -98297717, -98161675,
	  -98031796, -97907538, -97788430, -97674055, -97564047, -97458080,
	  -97355863, -97257138, -97161669, -97069247, -96979679 },
	{ -100820223, -100655182, -100499342, -100351718, -100211477, -100077907,
	  -99950393, -99828404, -99711474, -99599196, -99491209, -99387193,
	  -99286862, -99189961, -99096259, -99005551, -98917647 },
	{ -102689250, -102527075, -102373947, -102228900, -102091113, -101959886,
	  -101834615, -101714776, -101599912, -101489621, -101383549, -101281381,
	  -101182836, -101087663, -100995636, -100906551, -100820223 },
	{ -104526420, -104366967, -104216417, -104073818, -103938363, -103809362,
	  -103686220, -103568423, -103455520, -103347116, -103242863, -103142449,
	  -103045600, -102952067, -102861628, -102774083, -102689250 },
	{ -106333286, -106176425, -106028329, -105888060, -105754823, -105627939,
	  -105506824, -105390969, -105279931, -105173322, -105070797, -104972052,
	  -104876815, -104784841, -104695913, -104609832, -104526420 },
	{ -108111281, -107956891, -107811133, -107673085, -107541963, -107417098,
	  -107297913, -107183908, -107074647, -106969748, -106868870, -106771714,
	  -106678011, -106587522, -106500032, -106415345, -106333286 },
	{ -109861730, -109709698, -109566174, -109430245, -109301141, -109178202,
	  -109060859, -108948620, -108841055, -108737786, -108638479, -108542838,
	  -108450600, -108361527, -108275408, -108192051, -108111281 },
	{ -111585857, -111436081, -111294691, -111160789, -111033614, -110912515,
	  -110796932, -110686381, -110580435, -110478724, -110380918, -110286725,
	  -110195885, -110108165, -110023355, -109941267, -109861730 },
	{ -113284803, -113137186, -112997839, -112865876, -112740547, -112621209,
	  -112507311, -112398373, -112293978, -112193757, -112097386, -112004578,
	  -111915075, -111828649, -111745091, -111664217, -111585857 },
	{ -114959626, -114814078, -114676690, -114546585, -114423025, -114305374,
	  -114193090, -114085699, -113982787, -113883994, -113788998, -113697516,
	  -113609294, -113524106, -113441747, -113362035, -113284803 },
	{ -116611314, -116467752, -116332242, -116203921, -116082057, -115966025,
	  -115855289, -115749380, -115647893, -115550468, -115456790, -115366579,
	  -115279585, -115195584, -115114376, -115035778, -114959626 },
	{ -118240790, -118099135, -117965430, -117838821, -117718586, -117604109,
	  -117494859, -117390374, -117290253, -117194142, -117101730, -117012740,
	  -116926924, -116844063, -116763958, -116686429, -116611314 },
	{ -119848915, -119709095, -119577125, -119452162, -119333494, -119220512,
	  -119112690, -119009574, -118910766, -118815918, -118724722, -118636905,
	  -118552222, -118470455, -118391410, -118314908, -118240790 },
};

uint64_t mul_u64_shift(uint64_t a, uint64_t b, unsigned shift)
{
	const uint64_t mask = 0xffffffffull;
	uint64_t al = a & mask, ah = a >> 32, bl = b & mask, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & mask) + (hl & mask);
	uint64_t lo = (mid << 32) | (ll & mask);
	uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);

	SIM_ASSERT(shift <= 64);
	/* The high half of a 64 x 64 product cannot wrap. */
	SIM_ASSERT(hi >= hh);
	if (shift == 64)
		return hi;
	if (shift == 0)
		return hi ? UINT64_MAX : lo;
	if (hi >> shift)
		return UINT64_MAX;
	return (hi << (64 - shift)) | (lo >> shift);
}

/* Phi^-1(p) for p = (2P + 1) / 2^65 < 1/2, that is P < 2^63: negative. */
static int64_t lower_quantile_q24(uint64_t P)
{
	uint64_t q = 2 * P + 1;
	unsigned k = (unsigned)__builtin_clzll(q);

	SIM_ASSERT(P < (1ull << 63));
	if (k >= NORMAL_QUANTILE_OCTAVES)
		return normal_quantile_table[NORMAL_QUANTILE_OCTAVES - 1][0];
	/* q in [2^(63-k), 2^(64-k)): p in octave k.  Its position in the
	 * octave: 4 bits choose the step, the rest interpolate. */
	unsigned shift = 63 - k;
	uint64_t rem = q - (1ull << shift);
	unsigned bits = shift - 4;
	uint64_t j = rem >> bits;
	uint64_t frac = rem & ((1ull << bits) - 1);
	uint64_t f_q24 = bits >= 24 ? frac >> (bits - 24) : frac << (24 - bits);
	SIM_ASSERT(j < NORMAL_QUANTILE_STEPS);
	SIM_ASSERT(f_q24 < (1ull << 24));
	int64_t a = normal_quantile_table[k][j];
	int64_t b = normal_quantile_table[k][j + 1];
	/* The table rises along each row: b - a >= 0, so the product is
	 * non-negative and the shift rounds down as in the offline check. */
	SIM_ASSERT(b >= a);
	return a + (int64_t)(((uint64_t)(b - a) * f_q24) >> 24);
}

int64_t normal_quantile_q24(uint64_t u)
{
	/* p < 1/2: P = u.  p > 1/2: 1 - p = (~u + 1/2) / 2^64, so the mirror
	 * image of ~u; the two halves are exactly symmetric. */
	if (u < (1ull << 63)) {
		int64_t z = lower_quantile_q24(u);
		SIM_ASSERT(z <= 0);
		return z;
	}
	int64_t z = -lower_quantile_q24(~u);
	SIM_ASSERT(z >= 0);
	return z;
}

uint64_t ln_q32(uint64_t x)
{
	SIM_ASSERT(x >= 1);
	unsigned e = 63 - (unsigned)__builtin_clzll(x);
	/* x = m * 2^e with m in [1, 2), m in Q32. */
	uint64_t m = e <= 32 ? x << (32 - e) : x >> (e - 32);
	SIM_ASSERT(m >= ONE_Q32 && m < 2 * ONE_Q32);
	/* ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1)
	 * <= 1/3, so each term is at most a ninth of the one before. */
	uint64_t s = ((m - ONE_Q32) << 32) / (m + ONE_Q32);
	uint64_t s2 = mul_u64_shift(s, s, 32);
	uint64_t term = s, sum = 0;
	unsigned n = 0;
	for (uint64_t k = 1; term != 0; k += 2) {
		SIM_ASSERT(++n <= LN_SERIES_TERMS_MAX);
		sum += term / k;
		term = mul_u64_shift(term, s2, 32);
	}
	return (uint64_t)e * (uint64_t)LN2_Q32 + 2 * sum;
}

uint64_t exp_q32(int64_t x_q32)
{
	/* x = n ln 2 + r with r in [0, ln 2): exp(x) = 2^n exp(r). */
	int64_t n = x_q32 / LN2_Q32;
	if (x_q32 % LN2_Q32 < 0)
		n--;
	int64_t r = x_q32 - n * LN2_Q32;
	SIM_ASSERT(r >= 0 && r < LN2_Q32);
	/* Horner: exp(r) = 1 + r/1 (1 + r/2 (1 + r/3 (...))). */
	uint64_t acc = ONE_Q32;
	for (uint64_t k = EXP_SERIES_TERMS; k >= 1; k--)
		acc = ONE_Q32 + mul_u64_shift(acc, (uint64_t)r, 32) / k;
	SIM_ASSERT(acc >= ONE_Q32 && acc < 2 * ONE_Q32);
	if (n >= 0) {
		/* acc < 2^33: a shift up to 30 stays below 2^63. */
		if (n > 30)
			return UINT64_MAX;
		return acc << n;
	}
	if (n <= -64)
		return 0;
	unsigned down = (unsigned)-n;
	return (acc + (1ull << (down - 1))) >> down;
}

/* "<ns> ns is above the 60 s a latency may be", in buf. */
static const char *too_long(uint64_t ns, char *buf, size_t len)
{
	SIM_ASSERT(ns > LATENCY_NS_MAX);
	SIM_ASSERT(buf != NULL && len > 0);
	snprintf(buf, len, "%llu ns is above the %llu s a latency may be",
		 (unsigned long long)ns,
		 (unsigned long long)(LATENCY_NS_MAX / 1000000000ull));
	return buf;
}

const char *latency_spec_check(const struct latency_spec *s, const char **key,
			       char *buf, size_t len)
{
	SIM_ASSERT(key != NULL);
	SIM_ASSERT(buf != NULL && len > 0);
	*key = "model";
	switch (s->model) {
	case LATENCY_FIXED:
		*key = "ns";
		return s->ns > LATENCY_NS_MAX ? too_long(s->ns, buf, len) : NULL;
	case LATENCY_UNIFORM:
		*key = "max";
		if (s->max_ns > LATENCY_NS_MAX)
			return too_long(s->max_ns, buf, len);
		*key = "min";
		if (s->min_ns > s->max_ns) {
			snprintf(buf, len,
				 "min (%llu ns) is above max (%llu ns)",
				 (unsigned long long)s->min_ns,
				 (unsigned long long)s->max_ns);
			return buf;
		}
		return NULL;
	case LATENCY_LOGNORMAL:
		*key = "median";
		if (s->median_ns == 0)
			return "median must be at least 1 ns";
		if (s->median_ns > LATENCY_NS_MAX)
			return too_long(s->median_ns, buf, len);
		*key = "p99";
		if (s->p99_ns < s->median_ns) {
			snprintf(buf, len,
				 "p99 (%llu ns) is below median (%llu ns)",
				 (unsigned long long)s->p99_ns,
				 (unsigned long long)s->median_ns);
			return buf;
		}
		if (s->p99_ns > (uint64_t)LATENCY_P99_RATIO_MAX * s->median_ns) {
			snprintf(buf, len,
				 "p99 (%llu ns) is more than %d times median (%llu ns); use the uniform model for so wide a spread",
				 (unsigned long long)s->p99_ns,
				 LATENCY_P99_RATIO_MAX,
				 (unsigned long long)s->median_ns);
			return buf;
		}
		return NULL;
	case LATENCY_MODELS_COUNT:
		break;
	}
	return "unknown latency model";
}

void latency_dist_init(struct latency_dist *d, const struct latency_spec *s)
{
	char buf[160];
	const char *key;

	SIM_ASSERT(s->model < LATENCY_MODELS_COUNT);
	SIM_ASSERT(latency_spec_check(s, &key, buf, sizeof(buf)) == NULL);
	d->spec = *s;
	d->sigma_q32 = 0;
	if (s->model == LATENCY_LOGNORMAL) {
		uint64_t ln_ratio = ln_q32(s->p99_ns) - ln_q32(s->median_ns);
		d->sigma_q32 = mul_u64_shift(ln_ratio, INV_Z99_Q48, 48);
		/* ln(100) / 2.326 < 2 (LATENCY_P99_RATIO_MAX). */
		SIM_ASSERT(d->sigma_q32 < 2 * ONE_Q32);
	}
}

uint64_t latency_lognormal_at(const struct latency_dist *d, uint64_t u)
{
	SIM_ASSERT(d->spec.model == LATENCY_LOGNORMAL);
	SIM_ASSERT(d->sigma_q32 < 2 * ONE_Q32);
	int64_t z = normal_quantile_q24(u);
	uint64_t mag = (uint64_t)(z < 0 ? -z : z);
	/* sigma < 2^33 and |z| < 2^27 (7.15 in Q24): the product fits. */
	uint64_t w = (d->sigma_q32 * mag + (1ull << 23)) >> 24;
	uint64_t e = exp_q32(z < 0 ? -(int64_t)w : (int64_t)w);
	/* median * e / 2^32, rounded to the nearest nanosecond. */
	uint64_t x2 = mul_u64_shift(d->spec.median_ns, e, 31);
	if (x2 == UINT64_MAX)
		return LATENCY_NS_MAX;
	uint64_t x = (x2 + 1) / 2;
	return x > LATENCY_NS_MAX ? LATENCY_NS_MAX : x;
}

uint64_t latency_draw(const struct latency_dist *d, struct prng *p)
{
	SIM_ASSERT(p != NULL);
	switch (d->spec.model) {
	case LATENCY_FIXED:
		return d->spec.ns;
	case LATENCY_UNIFORM:
		return prng_range(p, d->spec.min_ns, d->spec.max_ns);
	case LATENCY_LOGNORMAL:
		return latency_lognormal_at(d, prng_u64(p));
	case LATENCY_MODELS_COUNT:
		break;
	}
	SIM_ASSERT(!"unknown latency model");
	return 0;
}
