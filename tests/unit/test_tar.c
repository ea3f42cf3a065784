/*
 * test_tar.c - unit tests of src/tar.c, the streaming tar measurer.
 *
 * Real archives written by GNU tar and Python's tarfile (ustar, GNU and PAX
 * formats; see tests/unit/data/make_tar_fixtures.py) are fed whole, byte by
 * byte and in pseudo-random chunks; the counts must match what tarfile
 * reads.  Hand-made headers cover what the fixtures cannot: base-256 sizes,
 * checksum spellings, bad fields, and PAX 'size' records.
 *
 * Run from the repository root (tests/run.sh does): the fixtures are opened
 * as tests/unit/data/NAME.tar.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024ull * 1024 * 1024)

/* 1 MiB of zeros, for feeding large files' data */
static const char zeros_1m[1 << 20];

/* --- fixtures */

struct fixture_tar {
	const char *path;
	uint64_t files;      /* regular files, as Python's tarfile counts them */
	uint64_t file_bytes; /* the sum of their sizes */
	size_t end;          /* offset just past the second zero block, or 0
			      * for "the end of the file" */
};

static const struct fixture_tar fixtures[] = {
	/* 10 KiB blocking: 8 zero blocks of padding follow the end marker */
	{"tests/unit/data/gnu.tar", 8, 3561, 16384},
	{"tests/unit/data/gnu_pax.tar", 8, 3561, 0},
	{"tests/unit/data/gnu_ustar.tar", 7, 2861, 0},
	{"tests/unit/data/py_pax.tar", 7, 3738, 0},
	{"tests/unit/data/py_gnu.tar", 2, 1035, 0},
	{"tests/unit/data/py_ustar.tar", 2, 2559, 0},
};

#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

/* Reads a whole file; fails the test when it cannot. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (!f)
		fail_msg("cannot open %s (run the tests from the repository root)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	data = malloc((size_t)n);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

static size_t fixture_end(const struct fixture_tar *fx, size_t len)
{
	return fx->end ? fx->end : len;
}

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void assert_counts(const struct tar_counter *t, const struct fixture_tar *fx)
{
	if (t->files != fx->files || t->file_bytes != fx->file_bytes)
		fail_msg("%s: files=%llu file_bytes=%llu, expected files=%llu file_bytes=%llu",
			 fx->path, (unsigned long long)t->files,
			 (unsigned long long)t->file_bytes, (unsigned long long)fx->files,
			 (unsigned long long)fx->file_bytes);
	assert_string_equal(t->error, "");
}

/* --- hand-made headers */

static void set_octal(unsigned char *field, size_t n, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(n - 1), (unsigned long long)v);
	assert_int_equal(strlen(tmp), n - 1);
	memcpy(field, tmp, n); /* with the NUL */
}

/* GNU base-256: 0x80 then the value big-endian in the remaining bytes. */
static void set_base256(unsigned char *field, size_t n, uint64_t v)
{
	size_t i;

	memset(field, 0, n);
	field[0] = 0x80;
	for (i = n - 1; i > 0 && v; i--, v >>= 8)
		field[i] = (unsigned char)(v & 0xff);
}

static unsigned header_sum(const unsigned char *h)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum;
}

/* Writes the checksum as GNU tar does: six octal digits, NUL, space. */
static void set_checksum(unsigned char *h)
{
	char tmp[16];

	snprintf(tmp, sizeof(tmp), "%06o", header_sum(h));
	memcpy(h + 148, tmp, 6);
	h[154] = '\0';
	h[155] = ' ';
}

/* A ustar header for name with type and an octal size; checksum set. */
static void make_header(unsigned char *h, const char *name, char type, uint64_t size)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	set_octal(h + 100, 8, 0644);
	set_octal(h + 108, 8, 0);
	set_octal(h + 116, 8, 0);
	set_octal(h + 124, 12, size);
	set_octal(h + 136, 12, 1700000000);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	set_checksum(h);
}

/* A growing in-memory archive. */
struct arch {
	unsigned char data[16384];
	size_t len;
};

static unsigned char *arch_block(struct arch *a)
{
	unsigned char *b;

	assert_true(a->len + 512 <= sizeof(a->data));
	b = a->data + a->len;
	memset(b, 0, 512);
	a->len += 512;
	return b;
}

/* Appends n bytes of c padded with zeros to a multiple of 512. */
static void arch_data(struct arch *a, size_t n, int c)
{
	size_t padded = (n + 511) / 512 * 512;

	assert_true(a->len + padded <= sizeof(a->data));
	memset(a->data + a->len, 0, padded);
	memset(a->data + a->len, c, n);
	a->len += padded;
}

static void arch_file(struct arch *a, const char *name, size_t n)
{
	make_header(arch_block(a), name, '0', n);
	arch_data(a, n, 'q');
}

static void arch_end(struct arch *a)
{
	arch_block(a);
	arch_block(a);
}

static int feed(struct tar_counter *t, const void *data, size_t len)
{
	return tar_counter_feed(t, (const char *)data, len);
}

/* --- real archives */

static void test_fixtures_whole(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NFIXTURES; i++) {
		struct tar_counter t;
		size_t len;
		char *data = slurp(fixtures[i].path, &len);

		tar_counter_init(&t);
		assert_int_equal(tar_counter_feed(&t, data, len), 0);
		assert_counts(&t, &fixtures[i]);
		assert_true(t.done);
		assert_true(t.entries > t.files); /* folders, links, ... */
		free(data);
	}
}

/* Byte by byte, "done" must turn on exactly with the last byte of the
 * second zero block, and the counts must not move after it. */
static void test_fixtures_byte_by_byte(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < NFIXTURES; i++) {
		struct tar_counter t;
		size_t len;
		char *data = slurp(fixtures[i].path, &len);
		size_t end = fixture_end(&fixtures[i], len);

		tar_counter_init(&t);
		for (j = 0; j < len; j++) {
			if (j < end && t.done)
				fail_msg("%s: done after %zu bytes, before the end marker at %zu",
					 fixtures[i].path, j, end);
			assert_int_equal(tar_counter_feed(&t, data + j, 1), 0);
			if (j + 1 == end && !t.done)
				fail_msg("%s: not done after the end marker at %zu",
					 fixtures[i].path, end);
		}
		assert_counts(&t, &fixtures[i]);
		assert_true(t.done);
		free(data);
	}
}

static void test_fixtures_random_chunks(void **state)
{
	size_t i;
	uint64_t seed;

	(void)state;
	for (i = 0; i < NFIXTURES; i++) {
		size_t len;
		char *data = slurp(fixtures[i].path, &len);

		for (seed = 1; seed <= 50; seed++) {
			struct tar_counter t;
			uint64_t s = seed * 0x9e3779b97f4a7c15ull;
			size_t off = 0;

			tar_counter_init(&t);
			while (off < len) {
				uint64_t r = rng_next(&s);
				/* mostly small pieces, sometimes around a block */
				size_t n = (r & 3) == 0 ? 510 + (size_t)(r >> 8) % 5
							: 1 + (size_t)(r >> 8) % 1500;

				if (n > len - off)
					n = len - off;
				assert_int_equal(tar_counter_feed(&t, data + off, n), 0);
				off += n;
			}
			assert_counts(&t, &fixtures[i]);
			assert_true(t.done);
		}
		free(data);
	}
}

/* Pieces of exactly 512, and of 512 split as 511 + 1 and 1 + 511. */
static void test_fixtures_block_edges(void **state)
{
	size_t i, off, k;

	(void)state;
	for (i = 0; i < NFIXTURES; i++) {
		size_t len;
		char *data = slurp(fixtures[i].path, &len);

		for (k = 0; k < 3; k++) {
			struct tar_counter t;

			tar_counter_init(&t);
			for (off = 0; off < len; off += 512) {
				size_t cut = k == 0 ? 512 : k == 1 ? 511 : 1;

				assert_int_equal(tar_counter_feed(&t, data + off, cut), 0);
				assert_int_equal(tar_counter_feed(&t, data + off + cut, 512 - cut), 0);
			}
			assert_counts(&t, &fixtures[i]);
			assert_true(t.done);
		}
		free(data);
	}
}

/* Whatever follows the end marker is not looked at, in the same piece or
 * in later ones. */
static void test_data_after_end_ignored(void **state)
{
	static const char junk[] = "this is not a tar header at all, and never will be";
	size_t i;

	(void)state;
	for (i = 0; i < NFIXTURES; i++) {
		struct tar_counter t;
		size_t len, k;
		char *data = slurp(fixtures[i].path, &len);
		size_t end = fixture_end(&fixtures[i], len);
		char *more = malloc(end + 4096);

		assert_non_null(more);
		memcpy(more, data, end);
		for (k = 0; k < 4096; k++)
			more[end + k] = junk[k % (sizeof(junk) - 1)];
		tar_counter_init(&t);
		assert_int_equal(tar_counter_feed(&t, more, end + 4096), 0);
		assert_true(t.done);
		assert_counts(&t, &fixtures[i]);
		assert_int_equal(tar_counter_feed(&t, junk, sizeof(junk)), 0);
		assert_int_equal(tar_counter_feed(&t, more + end, 4096), 0);
		assert_true(t.done);
		assert_counts(&t, &fixtures[i]);
		free(more);
		free(data);
	}
}

/* Every proper prefix that stops before the end marker is not done, and
 * never an error. */
static void test_truncated_not_done(void **state)
{
	size_t i, cut;

	(void)state;
	for (i = 0; i < NFIXTURES; i++) {
		size_t len;
		char *data = slurp(fixtures[i].path, &len);
		size_t end = fixture_end(&fixtures[i], len);

		for (cut = 0; cut < end; cut += (cut % 7) + 61) {
			struct tar_counter t;

			tar_counter_init(&t);
			assert_int_equal(tar_counter_feed(&t, data, cut), 0);
			assert_false(t.done);
			assert_string_equal(t.error, "");
			assert_true(t.files <= fixtures[i].files);
			assert_true(t.file_bytes <= fixtures[i].file_bytes);
		}
		{
			/* one zero block short of the end marker */
			struct tar_counter t;

			tar_counter_init(&t);
			assert_int_equal(tar_counter_feed(&t, data, end - 512), 0);
			assert_false(t.done);
			assert_counts(&t, &fixtures[i]);
			assert_int_equal(tar_counter_feed(&t, data + end - 512, 511), 0);
			assert_false(t.done);
			assert_int_equal(tar_counter_feed(&t, data + end - 1, 1), 0);
			assert_true(t.done);
		}
		free(data);
	}
}

/* A truncated hand-made archive: counted as far as it goes. */
static void test_truncated_mid_file(void **state)
{
	struct arch a = {.len = 0};
	struct tar_counter t;

	(void)state;
	arch_file(&a, "a", 700);
	arch_file(&a, "b", 100);
	tar_counter_init(&t);
	/* the first header and half of its data */
	assert_int_equal(feed(&t, a.data, 512 + 350), 0);
	assert_int_equal(t.files, 1);
	assert_int_equal(t.file_bytes, 700);
	assert_false(t.done);
	/* the rest but the last byte of the second file's data */
	assert_int_equal(feed(&t, a.data + 862, a.len - 862 - 1), 0);
	assert_int_equal(t.files, 2);
	assert_int_equal(t.file_bytes, 800);
	assert_false(t.done);
}

/* --- the smallest archives */

static void test_empty_archive(void **state)
{
	static const unsigned char zeros[1024];
	struct tar_counter t;

	(void)state;
	tar_counter_init(&t);
	assert_false(t.done);
	assert_int_equal(feed(&t, zeros, 0), 0);
	assert_false(t.done);
	assert_int_equal(feed(&t, zeros, 512), 0);
	assert_false(t.done); /* one zero block is not the end */
	assert_int_equal(feed(&t, zeros, 512), 0);
	assert_true(t.done);
	assert_int_equal(t.files, 0);
	assert_int_equal(t.file_bytes, 0);
	assert_int_equal(t.entries, 0);
	assert_string_equal(t.error, "");
}

static void test_init_clears(void **state)
{
	struct tar_counter t;

	(void)state;
	memset(&t, 0xa5, sizeof(t));
	tar_counter_init(&t);
	assert_int_equal(t.hdr_fill, 0);
	assert_int_equal(t.skip, 0);
	assert_int_equal(t.file_bytes, 0);
	assert_int_equal(t.files, 0);
	assert_int_equal(t.entries, 0);
	assert_int_equal(t.zero_blocks, 0);
	assert_false(t.done);
	assert_string_equal(t.error, "");
}

/* Only two consecutive zero blocks end the archive: a lone zero block
 * between entries does not, nor do two that a header separates. */
static void test_lone_zero_block(void **state)
{
	struct arch a = {.len = 0};
	struct tar_counter t;
	size_t mark;

	(void)state;
	arch_file(&a, "a", 10);
	arch_block(&a); /* a lone zero block */
	arch_file(&a, "b", 20);
	arch_block(&a); /* another lone one */
	mark = a.len;
	arch_file(&a, "c", 30);
	arch_end(&a);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, a.data, mark), 0);
	assert_false(t.done);
	assert_int_equal(t.files, 2);
	assert_int_equal(feed(&t, a.data + mark, a.len - mark), 0);
	assert_true(t.done);
	assert_int_equal(t.files, 3);
	assert_int_equal(t.file_bytes, 60);
}

/* Sizes around the block: 0, 1, 511, 512, 513, 1024, 1025; a zero block
 * inside a file's data is data, not the end. */
static void test_sizes_and_zero_data(void **state)
{
	static const size_t sizes[] = {0, 1, 511, 512, 513, 1024, 1025};
	struct arch a = {.len = 0};
	struct tar_counter t;
	size_t i, total = 0;
	char name[16];

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "f%zu", sizes[i]);
		make_header(arch_block(&a), name, '0', sizes[i]);
		arch_data(&a, sizes[i], 0); /* all-zero contents */
		total += sizes[i];
	}
	arch_end(&a);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, a.data, a.len), 0);
	assert_true(t.done);
	assert_int_equal(t.files, 7);
	assert_int_equal(t.file_bytes, total);
	assert_int_equal(total, 3586);
}

/* Header-only types (links, devices, folders, fifos) carry no data even
 * when their size field says otherwise (as Go's archive/tar reads them);
 * '0', '\0' and '7' are files; other types carry data that is skipped. */
static void test_types(void **state)
{
	struct arch a = {.len = 0};
	struct tar_counter t;
	const char *p;

	(void)state;
	for (p = "123456"; *p; p++) {
		char name[8] = {'t', *p, '\0'};

		make_header(arch_block(&a), name, *p, 600); /* no data follows */
	}
	make_header(arch_block(&a), "reg", '0', 10);
	arch_data(&a, 10, 'r');
	make_header(arch_block(&a), "old", '\0', 20);
	arch_data(&a, 20, 'o');
	make_header(arch_block(&a), "contig", '7', 30);
	arch_data(&a, 30, 'c');
	/* a vendor type with data that must be skipped, not counted */
	make_header(arch_block(&a), "vendor", 'V', 700);
	arch_data(&a, 700, 'v');
	/* a GNU long name record */
	make_header(arch_block(&a), "././@LongLink", 'L', 200);
	arch_data(&a, 200, 'n');
	make_header(arch_block(&a), "nnn", '0', 40);
	arch_data(&a, 40, 'x');
	arch_end(&a);

	tar_counter_init(&t);
	assert_int_equal(feed(&t, a.data, a.len), 0);
	assert_string_equal(t.error, "");
	assert_true(t.done);
	assert_int_equal(t.files, 4);
	assert_int_equal(t.file_bytes, 100);
}

/* --- numbers */

/* GNU base-256 sizes: a small one whose data follows, then an octal one. */
static void test_base256_small(void **state)
{
	struct arch a = {.len = 0};
	struct tar_counter t;
	unsigned char *h;

	(void)state;
	h = arch_block(&a);
	make_header(h, "b256", '0', 0);
	set_base256(h + 124, 12, 1000);
	set_checksum(h);
	assert_int_equal(h[124], 0x80);
	assert_int_equal(h[134], 0x03);
	assert_int_equal(h[135], 0xe8);
	arch_data(&a, 1000, 'z');
	arch_file(&a, "after", 10);
	arch_end(&a);

	tar_counter_init(&t);
	assert_int_equal(feed(&t, a.data, a.len), 0);
	assert_string_equal(t.error, "");
	assert_true(t.done);
	assert_int_equal(t.files, 2);
	assert_int_equal(t.file_bytes, 1010);
}

/* A 9 GiB file (more than octal's 8 GiB) in base-256.  Its data is fed as
 * 1 MiB pieces of zeros: thousands of zero blocks that are data, not the end
 * marker. */
static void test_base256_9gib(void **state)
{
	const uint64_t size = 9 * GIB;
	unsigned char h[512];
	struct tar_counter t;
	const char *zeros = zeros_1m;
	uint64_t left;

	(void)state;
	make_header(h, "pages-1.img", '0', 0);
	set_base256(h + 124, 12, size);
	set_checksum(h);

	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), 0);
	assert_int_equal(t.files, 1);
	assert_int_equal(t.file_bytes, size);
	for (left = size; left; left -= 1 << 20) {
		assert_int_equal(tar_counter_feed(&t, zeros, 1 << 20), 0);
		if (t.done)
			fail_msg("done with %llu bytes of data left", (unsigned long long)left);
	}
	assert_int_equal(t.skip, 0);
	assert_int_equal(tar_counter_feed(&t, zeros, 1024), 0);
	assert_true(t.done);
	assert_int_equal(t.files, 1);
	assert_int_equal(t.file_bytes, size);
}

/* A base-256 size that does not fit 64 bits (or is negative) is refused. */
static void test_base256_too_big(void **state)
{
	unsigned char h[512];
	struct tar_counter t;

	(void)state;
	make_header(h, "huge", '0', 0);
	memset(h + 124, 0xff, 12); /* -1 in two's complement base-256 */
	set_checksum(h);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), -1);
	assert_non_null(strstr(t.error, "size"));

	make_header(h, "huge", '0', 0);
	set_base256(h + 124, 12, 0);
	h[126] = 1; /* 2^72 */
	set_checksum(h);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), -1);
	assert_non_null(strstr(t.error, "size"));
	assert_int_equal(t.files, 0);

	/* value bits in the first byte count: 0x81 then 11 bytes is >= 2^88 */
	make_header(h, "huge", '0', 0);
	set_base256(h + 124, 12, 1000);
	h[124] = 0x81;
	set_checksum(h);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), -1);
	assert_non_null(strstr(t.error, "size"));
	assert_int_equal(t.files, 0);
}

/* Octal fields as writers spell them: leading spaces, space or NUL ends,
 * all 12 digits with no terminator. */
static void test_octal_spellings(void **state)
{
	static const struct {
		const char field[13];
		uint64_t value;
	} cases[] = {
		{"00000001750\0", 1000},
		{"00000001750 ", 1000},
		{"     1750 \0\0", 1000},
		{"000000001750", 1000}, /* no terminator */
		{"\0\0\0\0\0\0\0\0\0\0\0\0", 0},
		{"           \0", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char h[512];
		struct tar_counter t;

		make_header(h, "o", '0', 0);
		memcpy(h + 124, cases[i].field, 12);
		set_checksum(h);
		tar_counter_init(&t);
		if (feed(&t, h, 512) != 0)
			fail_msg("case %zu refused: %s", i, t.error);
		assert_int_equal(t.file_bytes, cases[i].value);
		assert_int_equal(t.skip, (cases[i].value + 511) / 512 * 512);
	}
}

static void test_bad_size_field(void **state)
{
	static const char *const bad[] = {"0000000175x\0", "00000001750x", "12 34\0\0\0\0\0\0\0",
					  "00000001758\0"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char h[512];
		struct tar_counter t;

		make_header(h, "bad", '0', 0);
		memcpy(h + 124, bad[i], 12);
		set_checksum(h);
		tar_counter_init(&t);
		if (feed(&t, h, 512) != -1)
			fail_msg("size field %zu accepted", i);
		assert_non_null(strstr(t.error, "size"));
		assert_int_equal(t.files, 0);
		assert_int_equal(t.file_bytes, 0);
	}
}

/* Checksums as different tars write them. */
static void test_checksum_spellings(void **state)
{
	unsigned char h[512];
	struct tar_counter t;
	char tmp[16];
	unsigned sum;

	(void)state;
	/* POSIX: seven digits and a NUL */
	make_header(h, "c", '0', 3);
	sum = header_sum(h);
	snprintf(tmp, sizeof(tmp), "%07o", sum);
	memcpy(h + 148, tmp, 8);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), 0);
	assert_int_equal(t.file_bytes, 3);

	/* old style: leading spaces */
	make_header(h, "c", '0', 3);
	snprintf(tmp, sizeof(tmp), "%6o", sum);
	memcpy(h + 148, tmp, 6);
	h[154] = '\0';
	h[155] = ' ';
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), 0);
	assert_int_equal(t.file_bytes, 3);

	/* off by one */
	make_header(h, "c", '0', 3);
	snprintf(tmp, sizeof(tmp), "%06o", sum + 1);
	memcpy(h + 148, tmp, 6);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), -1);
	assert_non_null(strstr(t.error, "checksum"));
}

/* --- not a tar */

static void test_garbage_first_header(void **state)
{
	char junk[1024];
	struct tar_counter t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)('a' + i % 26);
	tar_counter_init(&t);
	/* less than a block: nothing can be said yet */
	assert_int_equal(tar_counter_feed(&t, junk, 100), 0);
	assert_string_equal(t.error, "");
	assert_int_equal(tar_counter_feed(&t, junk + 100, 500), -1);
	assert_non_null(strstr(t.error, "checksum"));
	assert_false(t.done);
	assert_int_equal(t.files, 0);
	/* the error sticks */
	assert_int_equal(tar_counter_feed(&t, junk, 1), -1);
	assert_int_equal(tar_counter_feed(&t, junk, 0), -1);
}

/* A corrupt header after good entries: the good ones are counted, the
 * piece that holds the bad header fails, and so does everything after. */
static void test_garbage_later_header(void **state)
{
	size_t len, i;
	char *data = slurp("tests/unit/data/py_ustar.tar", &len);
	struct tar_counter t;
	char err_before[sizeof(t.error)];

	(void)state;
	/* py_ustar.tar: u/ (header), u/x (511: header + 1 block), u/y (2048:
	 * header + 4 blocks), u/s: the symlink's header is at 512 * 8. */
	assert_true(len >= 512 * 9);
	assert_int_equal(data[512 * 8 + 156], '2');
	data[512 * 8 + 3] ^= 0x20;
	tar_counter_init(&t);
	assert_int_equal(tar_counter_feed(&t, data, 512 * 8), 0);
	assert_int_equal(t.files, 2);
	assert_int_equal(t.file_bytes, 2559);
	assert_int_equal(tar_counter_feed(&t, data + 512 * 8, len - 512 * 8), -1);
	assert_non_null(strstr(t.error, "checksum"));
	assert_false(t.done);
	snprintf(err_before, sizeof(err_before), "%s", t.error);
	for (i = 0; i < 3; i++)
		assert_int_equal(tar_counter_feed(&t, data, 512), -1);
	assert_string_equal(t.error, err_before);
	free(data);
}

/* Flipping any single byte of the first header (outside the checksum
 * field) is caught by the checksum. */
static void test_any_flipped_header_byte(void **state)
{
	unsigned char h[512];
	size_t i;

	(void)state;
	for (i = 0; i < 512; i++) {
		struct tar_counter t;

		if (i >= 148 && i < 156)
			continue;
		make_header(h, "flip", '0', 5);
		h[i] ^= 0x01;
		tar_counter_init(&t);
		if (feed(&t, h, 512) != -1)
			fail_msg("flipping byte %zu went unnoticed", i);
		assert_true(t.error[0] != '\0');
	}
}

/* A header that is zero except its checksum field is not an end block. */
static void test_nearly_zero_block(void **state)
{
	unsigned char h[512] = {0};
	struct tar_counter t;

	(void)state;
	h[150] = '1';
	tar_counter_init(&t);
	assert_int_equal(feed(&t, h, 512), -1);
	assert_false(t.done);
}

/* --- PAX size records
 *
 * Docker's archives are written by Go's archive/tar in PAX format (moby's
 * pkg/archive sets hdr.Format = tar.FormatPAX).  For a file of 8 GiB or more
 * Go writes the real size as a "size" record of the entry's 'x' header and
 * leaves zeros ("00000000000") in the ustar size field.  A reader that
 * ignores the record skips no data and reads the file's contents as headers.
 * POSIX (pax, "size"): the record overrides the header field. */

/* Appends an 'x' header holding one record "key=value". */
static void arch_pax(struct arch *a, const char *key, const char *value)
{
	char rec[256];
	size_t n = strlen(key) + strlen(value) + 3, digits, len;

	/* the length counts its own digits */
	for (digits = 1;; digits++) {
		len = n + digits;
		if ((size_t)snprintf(NULL, 0, "%zu", len) == digits)
			break;
	}
	snprintf(rec, sizeof(rec), "%zu %s=%s\n", len, key, value);
	assert_int_equal(strlen(rec), len);
	make_header(arch_block(a), "PaxHeaders.0/f", 'x', len);
	assert_true(a->len + 512 <= sizeof(a->data));
	memset(a->data + a->len, 0, 512);
	memcpy(a->data + a->len, rec, len);
	a->len += 512;
}

static void test_pax_size_record_small(void **state)
{
	struct arch a = {.len = 0};
	struct tar_counter t;

	(void)state;
	arch_pax(&a, "size", "600");
	make_header(arch_block(&a), "f", '0', 0); /* the size is in the record */
	arch_data(&a, 600, 'A');
	arch_file(&a, "g", 7);
	arch_end(&a);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, a.data, a.len), 0);
	assert_string_equal(t.error, "");
	assert_true(t.done);
	assert_int_equal(t.files, 2);
	assert_int_equal(t.file_bytes, 607);
}

/* Exactly what Go writes for a 9 GiB file: 'x' header, ustar header with a
 * zero size field, then 9 GiB of data (zeros here, as in a sparse or
 * freshly allocated memory image), then the end marker. */
static void test_pax_size_record_9gib(void **state)
{
	const uint64_t size = 9 * GIB;
	struct arch a = {.len = 0};
	struct tar_counter t;
	const char *zeros = zeros_1m;
	uint64_t left;
	char num[32];

	(void)state;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
	arch_pax(&a, "size", num);
	make_header(arch_block(&a), "pages-1.img", '0', 0);
	tar_counter_init(&t);
	assert_int_equal(feed(&t, a.data, a.len), 0);
	for (left = size; left; left -= 1 << 20) {
		assert_int_equal(tar_counter_feed(&t, zeros, 1 << 20), 0);
		if (t.done)
			fail_msg("done with %llu of %llu data bytes left: the PAX size record "
				 "was not applied (file_bytes=%llu)",
				 (unsigned long long)left, (unsigned long long)size,
				 (unsigned long long)t.file_bytes);
	}
	assert_int_equal(tar_counter_feed(&t, zeros, 1024), 0);
	assert_true(t.done);
	assert_int_equal(t.files, 1);
	assert_int_equal(t.file_bytes, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_whole),
		cmocka_unit_test(test_fixtures_byte_by_byte),
		cmocka_unit_test(test_fixtures_random_chunks),
		cmocka_unit_test(test_fixtures_block_edges),
		cmocka_unit_test(test_data_after_end_ignored),
		cmocka_unit_test(test_truncated_not_done),
		cmocka_unit_test(test_truncated_mid_file),
		cmocka_unit_test(test_empty_archive),
		cmocka_unit_test(test_init_clears),
		cmocka_unit_test(test_lone_zero_block),
		cmocka_unit_test(test_sizes_and_zero_data),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_base256_small),
		cmocka_unit_test(test_base256_9gib),
		cmocka_unit_test(test_base256_too_big),
		cmocka_unit_test(test_octal_spellings),
		cmocka_unit_test(test_bad_size_field),
		cmocka_unit_test(test_checksum_spellings),
		cmocka_unit_test(test_garbage_first_header),
		cmocka_unit_test(test_garbage_later_header),
		cmocka_unit_test(test_any_flipped_header_byte),
		cmocka_unit_test(test_nearly_zero_block),
		cmocka_unit_test(test_pax_size_record_small),
		cmocka_unit_test(test_pax_size_record_9gib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
