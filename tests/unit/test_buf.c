/*
 * test_buf.c - unit tests of src/buf.c, the capped growable buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The invariant every operation keeps: NUL-terminated contents within the
 * cap, and room for the NUL. */
static void assert_sane(const struct buf *b)
{
	assert_true(b->len <= b->cap);
	if (b->data) {
		assert_true(b->alloc >= b->len + 1);
		assert_int_equal(b->data[b->len], '\0');
	} else {
		assert_int_equal(b->len, 0);
	}
	assert_non_null(buf_str(b));
	assert_int_equal(buf_str(b)[b->len], '\0');
}

static void test_init_is_empty(void **state)
{
	struct buf b;

	(void)state;
	memset(&b, 0x5a, sizeof(b));
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap, 100);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
	assert_int_equal(b.cap, 100);
}

static void test_add_and_str(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_LIMIT_SMALL);
	assert_int_equal(buf_adds(&b, "hello"), BUF_OK);
	assert_int_equal(buf_add(&b, ", ", 2), BUF_OK);
	assert_int_equal(buf_adds(&b, "world"), BUF_OK);
	assert_int_equal(b.len, 12);
	assert_string_equal(buf_str(&b), "hello, world");
	assert_sane(&b);
	/* part of a string, not its NUL */
	assert_int_equal(buf_add(&b, "!?", 1), BUF_OK);
	assert_string_equal(buf_str(&b), "hello, world!");
	assert_sane(&b);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
}

/* Zero-length appends succeed and keep the string valid. */
static void test_add_nothing(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_add(&b, "", 0), BUF_OK);
	assert_int_equal(buf_adds(&b, ""), BUF_OK);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	assert_sane(&b);
	buf_release(&b);
}

/* Binary contents with NULs: len counts them, the NUL after is extra. */
static void test_binary(void **state)
{
	static const char bin[] = {'a', '\0', 'b', '\0', '\xff'};
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_add(&b, bin, sizeof(bin)), BUF_OK);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, bin, sizeof(bin));
	assert_int_equal(b.data[5], '\0');
	buf_release(&b);
}

/* Exactly cap bytes fit, in one append or many; one more byte does not,
 * and the contents stay as they were. */
static void test_cap_exact(void **state)
{
	static const size_t caps[] = {1, 63, 64, 65, 100, 127, 128, 1000, 4096};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		size_t cap = caps[i];
		char *src = malloc(cap + 1), *copy;
		struct buf b;

		assert_non_null(src);
		for (j = 0; j <= cap; j++)
			src[j] = (char)('a' + j % 26);

		/* in one go */
		buf_init(&b, cap);
		assert_int_equal(buf_add(&b, src, cap + 1), BUF_TOO_BIG);
		assert_int_equal(b.len, 0);
		assert_string_equal(buf_str(&b), "");
		assert_int_equal(buf_add(&b, src, cap), BUF_OK);
		assert_int_equal(b.len, cap);
		assert_memory_equal(b.data, src, cap);
		assert_sane(&b);
		assert_int_equal(buf_add(&b, "x", 1), BUF_TOO_BIG);
		assert_int_equal(buf_adds(&b, "x"), BUF_TOO_BIG);
		assert_int_equal(buf_printf(&b, "%c", 'x'), BUF_TOO_BIG);
		assert_int_equal(b.len, cap);
		assert_memory_equal(b.data, src, cap);
		assert_sane(&b);
		/* nothing more is still fine at the cap */
		assert_int_equal(buf_add(&b, "", 0), BUF_OK);
		assert_int_equal(buf_printf(&b, "%s", ""), BUF_OK);
		assert_int_equal(b.len, cap);
		buf_release(&b);

		/* byte by byte */
		buf_init(&b, cap);
		for (j = 0; j < cap; j++)
			assert_int_equal(buf_add(&b, src + j, 1), BUF_OK);
		assert_int_equal(buf_add(&b, src + cap, 1), BUF_TOO_BIG);
		assert_int_equal(b.len, cap);
		assert_memory_equal(b.data, src, cap);
		assert_sane(&b);
		copy = buf_take(&b, NULL);
		assert_non_null(copy);
		assert_memory_equal(copy, src, cap);
		assert_int_equal(copy[cap], '\0');
		free(copy);
		free(src);
	}
}

/* An append that would pass the cap leaves the contents as they were,
 * even when part of it would still fit. */
static void test_too_big_partial(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_adds(&b, "12345678"), BUF_OK);
	assert_int_equal(buf_adds(&b, "abc"), BUF_TOO_BIG);
	assert_string_equal(buf_str(&b), "12345678");
	assert_int_equal(buf_printf(&b, "%d", 123), BUF_TOO_BIG);
	assert_string_equal(buf_str(&b), "12345678");
	assert_int_equal(b.len, 8);
	assert_int_equal(buf_adds(&b, "ab"), BUF_OK);
	assert_string_equal(buf_str(&b), "12345678ab");
	buf_release(&b);
}

/* Lengths that would overflow size_t arithmetic are too big, not a crash. */
static void test_too_big_huge_len(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 16);
	assert_int_equal(buf_adds(&b, "abc"), BUF_OK);
	assert_int_equal(buf_add(&b, "x", (size_t)-1), BUF_TOO_BIG);
	assert_int_equal(buf_add(&b, "x", (size_t)-1 - 2), BUF_TOO_BIG);
	assert_int_equal(buf_add(&b, "x", 14), BUF_TOO_BIG);
	assert_string_equal(buf_str(&b), "abc");
	buf_release(&b);

	/* a cap of SIZE_MAX must not wrap the allocation size */
	buf_init(&b, (size_t)-1);
	assert_int_equal(buf_adds(&b, "abc"), BUF_OK);
	assert_string_equal(buf_str(&b), "abc");
	buf_release(&b);
}

static void test_cap_zero(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "a", 1), BUF_TOO_BIG);
	assert_int_equal(buf_add(&b, "", 0), BUF_OK);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_printf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, BUF_LIMIT_SMALL);
	assert_int_equal(buf_printf(&b, "%d-%s-%c", 42, "x", 'y'), BUF_OK);
	assert_string_equal(buf_str(&b), "42-x-y");
	assert_int_equal(b.len, 6);
	assert_int_equal(buf_printf(&b, "|%05.1f|%llu", 3.14159, 18446744073709551615ull), BUF_OK);
	assert_string_equal(buf_str(&b), "42-x-y|003.1|18446744073709551615");
	assert_int_equal(b.len, strlen("42-x-y|003.1|18446744073709551615"));
	assert_sane(&b);
	buf_release(&b);
}

/* printf output much larger than the first allocation, appended many
 * times: growth keeps earlier contents. */
static void test_printf_growth(void **state)
{
	struct buf b;
	char big[3001];
	size_t i;

	(void)state;
	memset(big, 'q', 3000);
	big[3000] = '\0';
	buf_init(&b, BUF_LIMIT_RESPONSE);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(buf_printf(&b, "[%zu]", i), BUF_OK);
		assert_sane(&b);
	}
	assert_int_equal(buf_printf(&b, "%s", big), BUF_OK);
	assert_int_equal(buf_printf(&b, "<%s>", big), BUF_OK);
	assert_sane(&b);
	assert_memory_equal(b.data, "[0][1][2]", 9);
	assert_non_null(strstr(b.data, "[998][999]qqq"));
	assert_int_equal(b.data[b.len - 1], '>');
	assert_int_equal(b.data[b.len - 3002], '<');
	{
		size_t digits = 10 * 3 + 90 * 4 + 900 * 5; /* "[i]" for 0..999 */

		assert_int_equal(b.len, digits + 3000 + 3002);
	}
	buf_release(&b);
}

/* buf_printf exactly to the cap works; one past fails cleanly. */
static void test_printf_cap_exact(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_printf(&b, "%s", "123"), BUF_OK);
	assert_int_equal(buf_printf(&b, "%05d", 42), BUF_OK);
	assert_string_equal(buf_str(&b), "12300042");
	assert_int_equal(b.len, 8);
	assert_sane(&b);
	buf_release(&b);

	buf_init(&b, 8);
	assert_int_equal(buf_printf(&b, "%09d", 7), BUF_TOO_BIG);
	assert_int_equal(b.len, 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
}

static enum buf_result via_vprintf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum buf_result via_vprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum buf_result r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

static void test_vprintf(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(via_vprintf(&b, "%s=%d;", "a", 1), BUF_OK);
	assert_int_equal(via_vprintf(&b, "%s=%d;", "bb", 22), BUF_OK);
	assert_string_equal(buf_str(&b), "a=1;bb=22;");
	buf_release(&b);
}

/* Reset keeps the memory; the next contents start at 0. */
static void test_reset(void **state)
{
	struct buf b;
	char *mem;
	size_t alloc;

	(void)state;
	buf_init(&b, 100);
	buf_reset(&b); /* on an empty buffer: nothing to do */
	assert_null(b.data);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_adds(&b, "something long enough"), BUF_OK);
	mem = b.data;
	alloc = b.alloc;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, mem);
	assert_int_equal(b.alloc, alloc);
	assert_int_equal(b.cap, 100);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_adds(&b, "new"), BUF_OK);
	assert_string_equal(buf_str(&b), "new");
	assert_ptr_equal(b.data, mem);
	/* after reset the whole cap is available again */
	buf_reset(&b);
	{
		char full[100];

		memset(full, 'z', sizeof(full));
		assert_int_equal(buf_add(&b, full, sizeof(full)), BUF_OK);
		assert_int_equal(buf_add(&b, "z", 1), BUF_TOO_BIG);
	}
	buf_release(&b);
}

static void test_take(void **state)
{
	struct buf b;
	size_t len = 999;
	char *p;

	(void)state;
	buf_init(&b, 50);
	assert_int_equal(buf_adds(&b, "taken"), BUF_OK);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "taken");
	assert_int_equal(len, 5);
	/* the buffer is empty and reusable, with the same cap */
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap, 50);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_adds(&b, "again"), BUF_OK);
	assert_string_equal(buf_str(&b), "again");
	assert_true(b.data != p);
	free(p);
	buf_release(&b);
}

/* Taking an empty buffer gives a fresh "" the caller frees. */
static void test_take_empty(void **state)
{
	struct buf b;
	size_t len = 999;
	char *p;

	(void)state;
	buf_init(&b, 50);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	p = buf_take(&b, NULL);
	assert_non_null(p);
	assert_string_equal(p, "");
	free(p);

	/* emptied by reset: "" as well, and the memory goes with it */
	assert_int_equal(buf_adds(&b, "xyz"), BUF_OK);
	buf_reset(&b);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	assert_null(b.data);
	free(p);
	buf_release(&b);
}

/* Release twice, and release after take: no double free (ASan checks). */
static void test_release_idempotent(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 20);
	assert_int_equal(buf_adds(&b, "abc"), BUF_OK);
	buf_release(&b);
	buf_release(&b);
	assert_int_equal(buf_adds(&b, "def"), BUF_OK);
	free(buf_take(&b, NULL));
	buf_release(&b);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(b.cap, 20);
}

/* Growth never allocates more than cap + 1 bytes. */
static void test_alloc_bounded_by_cap(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b, 100);
	for (i = 0; i < 100; i++) {
		assert_int_equal(buf_add(&b, "k", 1), BUF_OK);
		assert_true(b.alloc <= 101);
		assert_sane(&b);
	}
	assert_int_equal(b.len, 100);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_empty),
		cmocka_unit_test(test_add_and_str),
		cmocka_unit_test(test_add_nothing),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_cap_exact),
		cmocka_unit_test(test_too_big_partial),
		cmocka_unit_test(test_too_big_huge_len),
		cmocka_unit_test(test_cap_zero),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_growth),
		cmocka_unit_test(test_printf_cap_exact),
		cmocka_unit_test(test_vprintf),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_take_empty),
		cmocka_unit_test(test_release_idempotent),
		cmocka_unit_test(test_alloc_bounded_by_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
