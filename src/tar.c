/*
 * tar.c - see tar.h.  Understands ustar/GNU/PAX headers as Go's archive/tar
 * (which Docker uses) writes them: sizes in octal or GNU base-256, and
 * extended-header entries that carry data but are not files.
 */
#include "tar.h"

#include <stdio.h>
#include <string.h>

void tar_counter_init(struct tar_counter *t)
{
	memset(t, 0, sizeof(*t));
}

/* Reads a numeric header field: octal text, or base-256 when the first
 * byte has its high bit set.  Returns -1 on a malformed field. */
static int field_number(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		v = f[0] & 0x7f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static int header_checksum_ok(const unsigned char *h)
{
	uint64_t want, sum = 0;
	size_t i;

	if (field_number(h + 148, 8, &want))
		return 0;
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

static int header_done(struct tar_counter *t)
{
	static const unsigned char zero[512];
	uint64_t size;
	unsigned char type;

	if (memcmp(t->hdr, zero, 512) == 0) {
		if (++t->zero_blocks == 2)
			t->done = 1;
		return 0;
	}
	t->zero_blocks = 0;
	if (!header_checksum_ok(t->hdr)) {
		snprintf(t->error, sizeof(t->error), "bad header checksum at entry %llu",
			 (unsigned long long)t->entries);
		return -1;
	}
	if (field_number(t->hdr + 124, 12, &size)) {
		snprintf(t->error, sizeof(t->error), "bad size field at entry %llu",
			 (unsigned long long)t->entries);
		return -1;
	}
	type = t->hdr[156];
	t->entries++;
	if (type == '0' || type == '\0' || type == '7') {
		t->files++;
		t->file_bytes += size;
	} else if (type == '1' || type == '2' || type == '3' || type == '4' ||
		   type == '5' || type == '6') {
		size = 0; /* links, devices, folders, fifos carry no data */
	}
	/* 'x', 'g', 'L', 'K' and others: data that is not a file's */
	t->skip = (size + 511) / 512 * 512;
	return 0;
}

int tar_counter_feed(struct tar_counter *t, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	if (t->error[0])
		return -1;
	while (len && !t->done) {
		if (t->skip) {
			size_t n = t->skip < len ? (size_t)t->skip : len;

			t->skip -= n;
			p += n;
			len -= n;
			continue;
		}
		{
			size_t n = 512 - t->hdr_fill;

			if (n > len)
				n = len;
			memcpy(t->hdr + t->hdr_fill, p, n);
			t->hdr_fill += n;
			p += n;
			len -= n;
		}
		if (t->hdr_fill == 512) {
			t->hdr_fill = 0;
			if (header_done(t))
				return -1;
		}
	}
	return 0;
}
