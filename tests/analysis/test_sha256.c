/*
 * test_sha256.c: the SHA-256 of analysis/sha256.c, which names scenarios in
 * the result database.  Checks the FIPS 180-2 Appendix B vectors (one block,
 * two blocks, a million 'a's fed in uneven pieces), the empty message, and
 * the padding boundaries (55, 56, 63, 64, 119, 120 bytes) against digests
 * computed with coreutils sha256sum.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "analysis/sha256.h"

static void expect_hex(const void *data, size_t len, const char *want)
{
	char got[SHA256_HEX_BYTES];

	sha256_hex(data, len, got);
	cr_expect_str_eq(got, want, "sha256 of %zu bytes", len);
}

Test(sha256, fips_180_2_one_block)
{
	expect_hex("abc", 3,
		   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(sha256, fips_180_2_two_blocks)
{
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect_hex(m, strlen(m),
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(sha256, fips_180_2_million_a_in_uneven_pieces)
{
	/* Pieces of 1, 2, ..., 127 bytes cross block boundaries at every
	 * offset. */
	static char a[128];
	struct sha256 c;
	uint8_t d[SHA256_BYTES];
	size_t left = 1000000, piece = 1;

	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	while (left) {
		size_t n = piece < left ? piece : left;
		sha256_update(&c, a, n);
		left -= n;
		piece = piece % 127 + 1;
	}
	sha256_final(&c, d);
	static const uint8_t want[SHA256_BYTES] = {
		0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92,
		0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
		0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
		0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0,
	};
	cr_expect_arr_eq(d, want, SHA256_BYTES);
}

Test(sha256, empty_message)
{
	expect_hex("", 0,
		   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sha256, padding_boundaries)
{
	static const struct {
		size_t len;
		const char *hex;
	} v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	char a[120];

	memset(a, 'a', sizeof(a));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		expect_hex(a, v[i].len, v[i].hex);
}
