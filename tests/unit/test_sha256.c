/*
 * test_sha256.c - src/sha256.c against FIPS 180-4's examples and against
 * itself fed in pieces of every size (the block boundary cases).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sha256.h"

#include <string.h>

static void digest(const char *data, size_t len, char out[65])
{
	struct sha256 s;

	assert_int_equal(sha256_init(&s), 0);
	sha256_feed(&s, data, len);
	sha256_hex(&s, out);
}

static void test_vectors(void **state)
{
	char out[65];

	(void)state;
	digest("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* A million 'a's, fed 1000 at a time (FIPS 180-2's long example). */
static void test_million(void **state)
{
	char a[1000], out[65];
	struct sha256 s;
	int i;

	(void)state;
	memset(a, 'a', sizeof(a));
	assert_int_equal(sha256_init(&s), 0);
	for (i = 0; i < 1000; i++)
		sha256_feed(&s, a, sizeof(a));
	sha256_hex(&s, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Any split of the input gives the same digest as one piece. */
static void test_pieces(void **state)
{
	char data[300], whole[65], split[65];
	struct sha256 s;
	size_t len, cut;

	(void)state;
	for (len = 0; len < sizeof(data); len++)
		data[len] = (char)(len * 7 + 3);
	for (len = 0; len <= sizeof(data); len += 13) {
		digest(data, len, whole);
		for (cut = 0; cut <= len; cut++) {
			assert_int_equal(sha256_init(&s), 0);
			sha256_feed(&s, data, cut);
			sha256_feed(&s, data + cut, len - cut);
			sha256_hex(&s, split);
			assert_string_equal(whole, split);
		}
	}
}

/* An unfinished digest is released; finishing twice gives nothing new. */
static void test_release(void **state)
{
	struct sha256 s;
	char out[65];

	(void)state;
	assert_int_equal(sha256_init(&s), 0);
	sha256_feed(&s, "abc", 3);
	sha256_release(&s);
	sha256_release(&s);
	sha256_hex(&s, out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million),
		cmocka_unit_test(test_pieces),
		cmocka_unit_test(test_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
