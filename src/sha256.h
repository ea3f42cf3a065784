/*
 * sha256.h - SHA-256 (FIPS 180-4), incremental, for digests of streams the
 * service writes (a Podman checkpoint's exported archive) without holding
 * them.  No allocation; a struct sha256 is all the state.
 */
#ifndef CHECKPOINTD_SHA256_H
#define CHECKPOINTD_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;        /* fed so far */
	unsigned char block[64];
	size_t fill;           /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_feed(struct sha256 *s, const void *data, size_t len);

/* Finishes s and writes the digest as 64 lower-case hex digits + NUL. */
void sha256_hex(struct sha256 *s, char out[65]);

#endif
