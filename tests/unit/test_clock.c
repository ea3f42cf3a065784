/*
 * test_clock.c - unit tests of src/clock.c: RFC 3339 formatting and
 * parsing, and the two clocks.
 *
 * Expected epoch values were computed independently (Python's
 * calendar.timegm), not with the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* --- clock_format_rfc3339 */

static void check_format(int64_t ms, const char *want)
{
	char out[64];

	memset(out, 'X', sizeof(out));
	clock_format_rfc3339(ms, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("format(%lld) = '%s', expected '%s'", (long long)ms, out, want);
	assert_int_equal(strlen(out), 24);
}

static void test_format_epoch(void **state)
{
	(void)state;
	check_format(0, "1970-01-01T00:00:00.000Z");
}

static void test_format_milliseconds(void **state)
{
	(void)state;
	check_format(1, "1970-01-01T00:00:00.001Z");
	check_format(10, "1970-01-01T00:00:00.010Z");
	check_format(999, "1970-01-01T00:00:00.999Z");
	check_format(1000, "1970-01-01T00:00:01.000Z");
	check_format(59999, "1970-01-01T00:00:59.999Z");
	check_format(86400000 - 1, "1970-01-01T23:59:59.999Z");
}

static void test_format_2026(void **state)
{
	(void)state;
	check_format(1796398638000, "2026-12-04T15:37:18.000Z");
	check_format(1796398638123, "2026-12-04T15:37:18.123Z");
	check_format(1798763400000, "2027-01-01T00:30:00.000Z");
}

static void test_format_leap_day(void **state)
{
	(void)state;
	check_format(1709164800000, "2024-02-29T00:00:00.000Z");
	check_format(1709208000000, "2024-02-29T12:00:00.000Z");
	check_format(1709251200000 - 1, "2024-02-29T23:59:59.999Z");
	check_format(1709251200000, "2024-03-01T00:00:00.000Z");
	check_format(951782400000, "2000-02-29T00:00:00.000Z");
	/* past 2038 and the non-leap century 2100 */
	check_format(2147483648000, "2038-01-19T03:14:08.000Z");
	check_format(4102444800000, "2100-01-01T00:00:00.000Z");
	check_format(253402300799999, "9999-12-31T23:59:59.999Z");
}

/* A short buffer gets a truncated but NUL-terminated string; the
 * documented size (24 + NUL) is enough. */
static void test_format_buffer_sizes(void **state)
{
	char out[32];

	(void)state;
	memset(out, 'X', sizeof(out));
	clock_format_rfc3339(1796398638123, out, 25);
	assert_string_equal(out, "2026-12-04T15:37:18.123Z");
	memset(out, 'X', sizeof(out));
	clock_format_rfc3339(1796398638123, out, 11);
	assert_string_equal(out, "2026-12-04");
	assert_int_equal(out[11], 'X');
}

/* --- clock_parse_rfc3339 */

static void check_parse(const char *s, int64_t want)
{
	int64_t ms = -42;

	if (clock_parse_rfc3339(s, &ms) != 0)
		fail_msg("parse('%s') refused, expected %lld", s, (long long)want);
	if (ms != want)
		fail_msg("parse('%s') = %lld, expected %lld", s, (long long)ms, (long long)want);
}

static void check_invalid(const char *s)
{
	int64_t ms = -42;

	if (clock_parse_rfc3339(s, &ms) != -1)
		fail_msg("parse('%s') accepted (= %lld), expected -1", s, (long long)ms);
}

static void test_parse_zulu(void **state)
{
	(void)state;
	check_parse("1970-01-01T00:00:00Z", 0);
	check_parse("2026-12-04T15:37:18Z", 1796398638000);
	check_parse("2026-12-04T15:37:18z", 1796398638000);
	check_parse("2100-01-01T00:00:00Z", 4102444800000);
	check_parse("9999-12-31T23:59:59Z", 253402300799000);
	check_parse("1969-12-31T23:59:59Z", -1000);
}

/* RFC 3339 section 5.6: "T" and "Z" may be lower case. */
static void test_parse_lower_t(void **state)
{
	(void)state;
	check_parse("2026-12-04t15:37:18Z", 1796398638000);
	check_parse("2026-12-04t15:37:18z", 1796398638000);
}

static void test_parse_offsets(void **state)
{
	(void)state;
	check_parse("2026-12-04T17:37:18+02:00", 1796398638000);
	check_parse("2026-12-04T10:07:18-05:30", 1796398638000);
	check_parse("2026-12-04T15:37:18+00:00", 1796398638000);
	check_parse("2026-12-04T15:37:18-00:00", 1796398638000);
	/* across midnight and the year */
	check_parse("2026-12-31T23:30:00-01:00", 1798763400000);
	check_parse("2027-01-01T02:30:00+02:00", 1798763400000);
	check_parse("2026-12-05T05:22:18+13:45", 1796398638000);
	check_parse("2026-12-04T15:37:18.5+02:00", 1796391438500);
}

static void test_parse_fractions(void **state)
{
	static const struct {
		const char *frac;
		int64_t ms;
	} cases[] = {
		{"1", 100},          {"12", 120},          {"123", 123},
		{"1234", 123},       {"12345", 123},       {"123456", 123},
		{"1234567", 123},    {"12345678", 123},    {"123456789", 123},
		{"0", 0},            {"000000001", 0},     {"999999999", 999},
		{"05", 50},          {"007", 7},
	};
	size_t i;
	char s[64];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(s, sizeof(s), "2026-12-04T15:37:18.%sZ", cases[i].frac);
		check_parse(s, 1796398638000 + cases[i].ms);
	}
	check_parse("1970-01-01T00:00:00.001Z", 1);
}

static void test_parse_leap_day(void **state)
{
	(void)state;
	check_parse("2024-02-29T00:00:00Z", 1709164800000);
	check_parse("2024-02-29T12:00:00Z", 1709208000000);
	check_parse("2000-02-29T00:00:00Z", 951782400000);
}

/* February 29 exists only in leap years (RFC 3339 section 5.7). */
static void test_parse_feb29_non_leap_year(void **state)
{
	(void)state;
	check_invalid("2025-02-29T00:00:00Z");
	check_invalid("2026-02-29T12:00:00Z");
	check_invalid("1900-02-29T00:00:00Z");
	check_invalid("2100-02-29T00:00:00Z");
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"2026-12-04",
		"2026-12-04T",
		"2026-12-04T15:37:18",           /* no zone */
		"2026-12-04T15:37:18.123",       /* no zone */
		"2026-12-04T15:37Z",             /* no seconds */
		"2026-13-01T00:00:00Z",          /* month 13 */
		"2026-00-10T00:00:00Z",          /* month 0 */
		"2026-04-31T00:00:00Z",          /* April has 30 days */
		"2026-06-31T00:00:00Z",
		"2026-02-30T00:00:00Z",
		"2024-02-30T00:00:00Z",
		"2026-12-32T00:00:00Z",
		"2026-12-00T00:00:00Z",
		"2026-12-04T24:00:00Z",
		"2026-12-04T15:60:00Z",
		"2026-12-04T15:37:61Z",
		"2026-12-04T15:37:18Zjunk",      /* trailing junk */
		"2026-12-04T15:37:18Z ",
		"2026-12-04T15:37:18+02:00x",
		"2026-12-04T15:37:18.Z",         /* a dot without digits */
		"2026-12-04T15:37:18.",
		"2026-12-04T15:37:18,5Z",
		"2026-12-04T15:37:18+02",        /* offset without minutes */
		"2026-12-04T15:37:18+0200",
		"2026-12-04T15:37:18+24:00",
		"2026-12-04T15:37:18+02:60",
		"2026-12-04T15:37:18+2:00",
		"2026-12-04X15:37:18Z",
		"2026-12-04T15-37-18Z",
		"26-12-04T15:37:18Z",
		"2026-1-04T15:37:18Z",
		"2026-12-4T15:37:18Z",
		"2026-12-04T5:37:18Z",
		"+2026-12-04T15:37:18Z",
		" 2026-12-04T15:37:18Z",
		"2026/12/04T15:37:18Z",
		"2026-12-04T15:37:18UTC",
		"Thu, 04 Dec 2026 15:37:18 GMT",
		"1796398638",
		"now",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_invalid(bad[i]);
}

/* --- both ways */

static void check_roundtrip(int64_t ms)
{
	char out[64];
	int64_t back = -1;

	clock_format_rfc3339(ms, out, sizeof(out));
	if (clock_parse_rfc3339(out, &back) != 0)
		fail_msg("'%s' (from %lld) does not parse", out, (long long)ms);
	if (back != ms)
		fail_msg("%lld -> '%s' -> %lld", (long long)ms, out, (long long)back);
}

static void test_roundtrip(void **state)
{
	static const int64_t fixed[] = {
		0, 1, 999, 1000, 951782400000, 1709164800000, 1709251200000 - 1,
		1796398638123, 2147483647999, 2147483648000, 4102444800000,
		253402300799999,
	};
	uint64_t s = 0x243f6a8885a308d3ull;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_roundtrip(fixed[i]);
	/* 20000 pseudo-random instants in years 1970..9999 */
	for (i = 0; i < 20000; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		check_roundtrip((int64_t)(s % 253402300800000ull));
	}
}

/* Parsing then formatting gives the canonical UTC text. */
static void test_parse_then_format(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"2026-12-04T17:37:18.123456+02:00", "2026-12-04T15:37:18.123Z"},
		{"2026-12-31t23:30:00-01:00", "2027-01-01T00:30:00.000Z"},
		{"2024-02-29T23:59:59.9z", "2024-02-29T23:59:59.900Z"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms;
		char out[64];

		assert_int_equal(clock_parse_rfc3339(cases[i].in, &ms), 0);
		clock_format_rfc3339(ms, out, sizeof(out));
		assert_string_equal(out, cases[i].out);
	}
}

/* --- the clocks */

static void test_now_is_wall_clock(void **state)
{
	int64_t a, b;
	time_t t;

	(void)state;
	t = time(NULL);
	a = clock_now_ms();
	/* within two seconds of time(2), and after 2024 */
	assert_true(a / 1000 >= (int64_t)t - 1 && a / 1000 <= (int64_t)t + 2);
	assert_true(a > 1704067200000);
	b = clock_now_ms();
	assert_true(b >= a);
}

static void test_mono_advances(void **state)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	int64_t a, b;

	(void)state;
	a = clock_mono_ms();
	nanosleep(&ts, NULL);
	b = clock_mono_ms();
	assert_true(b - a >= 19);
	assert_true(b - a < 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_epoch),
		cmocka_unit_test(test_format_milliseconds),
		cmocka_unit_test(test_format_2026),
		cmocka_unit_test(test_format_leap_day),
		cmocka_unit_test(test_format_buffer_sizes),
		cmocka_unit_test(test_parse_zulu),
		cmocka_unit_test(test_parse_lower_t),
		cmocka_unit_test(test_parse_offsets),
		cmocka_unit_test(test_parse_fractions),
		cmocka_unit_test(test_parse_leap_day),
		cmocka_unit_test(test_parse_feb29_non_leap_year),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_parse_then_format),
		cmocka_unit_test(test_now_is_wall_clock),
		cmocka_unit_test(test_mono_advances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
