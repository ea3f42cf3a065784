/*
 * sha256.c - SHA-256 through OpenSSL's EVP interface (see sha256.h).
 * Checked against FIPS 180-4's examples in tests/unit/test_sha256.c.
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

int sha256_init(struct sha256 *s)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	s->ctx = NULL;
	if (!c)
		return -1;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	s->ctx = c;
	return 0;
}

void sha256_feed(struct sha256 *s, const void *data, size_t len)
{
	if (s->ctx && len)
		EVP_DigestUpdate(s->ctx, data, len);
}

void sha256_hex(struct sha256 *s, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	out[0] = '\0';
	if (!s->ctx || EVP_DigestFinal_ex(s->ctx, md, &n) != 1 || n != sizeof(md)) {
		sha256_release(s);
		return;
	}
	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	sha256_release(s);
}

void sha256_release(struct sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}
