/*
 * sha256.h - SHA-256 of a stream, fed in pieces, for digests of what the
 * service writes (a Podman checkpoint's exported archive) without holding
 * it.  OpenSSL's libcrypto does the work: it uses the CPU's SHA extensions
 * where there are some (about 1.6 GB/s here against 0.3 GB/s for portable
 * C), and the digest is on the checkpoint's critical path.  libcrypto is
 * in the process anyway, through libcurl's OpenSSL flavour.
 */
#ifndef CHECKPOINTD_SHA256_H
#define CHECKPOINTD_SHA256_H

#include <stddef.h>

struct sha256 {
	void *ctx; /* OpenSSL's EVP_MD_CTX, NULL once finished or released */
};

/* 0, or -1 when out of memory (then s holds nothing to release). */
int sha256_init(struct sha256 *s);
void sha256_feed(struct sha256 *s, const void *data, size_t len);

/* Finishes s and writes the digest as 64 lower-case hex digits + NUL;
 * frees what s held. */
void sha256_hex(struct sha256 *s, char out[65]);

/* Frees what an unfinished s holds (no-op after sha256_hex). */
void sha256_release(struct sha256 *s);

#endif
