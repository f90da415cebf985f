/*
 * sha256.h: SHA-256 (FIPS 180-4, identical to FIPS 180-2 for this function),
 * written here so that the store can fingerprint a scenario without another
 * dependency.  Not a general crypto library: no HMAC, no constant-time
 * promises; it names content, it does not protect secrets.
 */
#ifndef SIM_SHA256_H
#define SIM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32
#define SHA256_BLOCK_BYTES 64
/* Lowercase hex digits plus the terminating NUL. */
#define SHA256_HEX_BYTES (2 * SHA256_BYTES + 1)

struct sha256 {
	uint32_t h[8];			/* the running hash state */
	uint64_t bytes;			/* message bytes absorbed so far */
	uint8_t block[SHA256_BLOCK_BYTES];	/* a partial block */
	uint32_t block_len;		/* bytes waiting in block */
};

void sha256_init(struct sha256 *c);
/* Absorb len bytes; may be called any number of times. */
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Pad, write the 32-byte digest, and leave c unusable until sha256_init. */
void sha256_final(struct sha256 *c, uint8_t out[SHA256_BYTES]);

/* One call: the digest of data as 64 lowercase hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_BYTES]);

#endif /* SIM_SHA256_H */
