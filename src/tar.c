/*
 * tar.c - see tar.h.  Understands ustar/GNU/PAX headers as Go's archive/tar
 * (which Docker uses) writes them: sizes in octal or GNU base-256, and
 * extended-header entries that carry data but are not files.
 */
#include "tar.h"
#include "buf.h"

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

static void ext_done(struct tar_counter *t);

/* Finds "path=" in PAX records ("LEN key=value\n"...) into longname. */
static void pax_path(struct tar_counter *t)
{
	size_t i = 0;

	while (i < t->ext_len) {
		size_t len = 0, j = i;

		while (j < t->ext_len && t->ext[j] >= '0' && t->ext[j] <= '9')
			len = len * 10 + (size_t)(t->ext[j++] - '0');
		if (len == 0 || i + len > t->ext_len || j >= t->ext_len || t->ext[j] != ' ')
			return;
		j++;
		if (i + len - j > 5 && memcmp(t->ext + j, "size=", 5) == 0) {
			uint64_t v = 0;
			size_t k;

			for (k = j + 5; k < i + len - 1 && t->ext[k] >= '0' && t->ext[k] <= '9'; k++)
				v = v * 10 + (uint64_t)(t->ext[k] - '0');
			t->pax_size = v;
			t->has_pax_size = 1;
		}
		if (i + len - j > 5 && memcmp(t->ext + j, "path=", 5) == 0) {
			size_t vlen = i + len - j - 5 - 1; /* minus the newline */

			if (vlen < sizeof(t->longname)) {
				memcpy(t->longname, t->ext + j + 5, vlen);
				t->longname[vlen] = '\0';
			}
		}
		i += len;
	}
}

/* The entry's path: a pending long name, else prefix/name from the header. */
static void entry_path(struct tar_counter *t, char *out, size_t len)
{
	const char *h = (const char *)t->hdr;

	if (t->longname[0]) {
		snprintf(out, len, "%s", t->longname);
		t->longname[0] = '\0';
	} else if (memcmp(h + 257, "ustar\0", 6) == 0 && h[345]) {
		snprintf(out, len, "%.155s/%.100s", h + 345, h);
	} else {
		snprintf(out, len, "%.100s", h);
	}
}

static int header_done(struct tar_counter *t)
{
	char path[4200];
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
	if (type == 'L' || type == 'x' || type == 'K' || type == 'g') {
		/* the data names the next entry: gather it (bounded) */
		t->ext_type = (char)type;
		t->data_left = 0;
		t->ext_len = 0;
		t->ext_want = size;
		t->skip = (size + 511) / 512 * 512;
		if (!t->skip)
			ext_done(t);
		return 0;
	}
	if (t->has_pax_size) {
		size = t->pax_size;
		t->has_pax_size = 0;
	}
	t->entries++;
	if (t->on_entry) {
		entry_path(t, path, sizeof(path));
		t->on_entry(t->arg, path, (char)(type ? type : '0'),
			    type == '0' || type == '\0' || type == '7' ? size : 0);
	} else {
		t->longname[0] = '\0';
	}
	if (type == '0' || type == '\0' || type == '7') {
		t->files++;
		t->file_bytes += size;
	} else if (type == '1' || type == '2' || type == '3' || type == '4' ||
		   type == '5' || type == '6') {
		size = 0; /* links, devices, folders, fifos carry no data */
	}
	/* 'x', 'g', 'L', 'K' and others: data that is not a file's */
	t->skip = (size + 511) / 512 * 512;
	t->data_left = (type == '0' || type == '\0' || type == '7') ? size : 0;
	return 0;
}

/* An extended record has been read whole: remember the name it gives. */
static void ext_done(struct tar_counter *t)
{
	if (t->ext_type == 'K' || t->ext_type == 'g') {
		/* a long link target, or global records: they name no entry */
	} else if (t->ext_type == 'L') {
		size_t n = t->ext_len < sizeof(t->longname) - 1 ? t->ext_len : sizeof(t->longname) - 1;

		memcpy(t->longname, t->ext, n);
		t->longname[n] = '\0';
	} else {
		pax_path(t);
	}
	t->ext_type = 0;
}

int tar_counter_feed(struct tar_counter *t, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	if (t->error[0])
		return -1;
	while (len && !t->done) {
		if (t->skip) {
			size_t n = t->skip < len ? (size_t)t->skip : len;

			if (t->ext_type) {
				/* keep what fits of the extended record's data */
				size_t room = sizeof(t->ext) - t->ext_len, want, k;

				want = t->ext_want > t->ext_len ? (size_t)(t->ext_want - t->ext_len) : 0;
				k = n < want ? n : want;
				if (k > room)
					k = room;
				memcpy(t->ext + t->ext_len, p, k);
				t->ext_len += k;
			}
			if (t->on_data && t->data_left) {
				size_t k = t->data_left < n ? (size_t)t->data_left : n;

				t->data_left -= k;
				if (t->on_data(t->arg, (const char *)p, k)) {
					snprintf(t->error, sizeof(t->error), "stopped by the reader");
					return -1;
				}
			}
			t->skip -= n;
			if (!t->skip && t->ext_type)
				ext_done(t);
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

/* --- writing */

/* Fills a ustar header for name/linkname (each cut to its field: callers
 * put the full names in a PAX record first when they do not fit). */
static void header_fill(unsigned char *h, const char *name, const char *link, char type,
			unsigned mode, uint64_t size)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", mode & 07777);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* Appends "LEN key=value\n" where LEN counts the whole record. */
static int pax_record(struct buf *rec, const char *key, const char *value)
{
	size_t base = strlen(key) + strlen(value) + 3, len = base + 1, digits;

	for (;;) {
		char tmp[24];

		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", len);
		if (base + digits == len)
			break;
		len = base + digits;
	}
	return buf_printf(rec, "%zu %s=%s\n", len, key, value) == BUF_OK ? 0 : -1;
}

static int add_entry(struct buf *b, const char *path, const char *link, char type, unsigned mode,
		     uint64_t size)
{
	unsigned char h[512];
	static const char zero[512];

	if (strlen(path) >= 100 || (link && strlen(link) >= 100)) {
		struct buf rec;
		int rc = -1;

		buf_init(&rec, 16384);
		if (strlen(path) >= 100 && pax_record(&rec, "path", path))
			goto pax_out;
		if (link && strlen(link) >= 100 && pax_record(&rec, "linkpath", link))
			goto pax_out;
		header_fill(h, "PaxHeader", NULL, 'x', 0644, rec.len);
		if (buf_add(b, h, 512) || buf_add(b, rec.data, rec.len) ||
		    buf_add(b, zero, (512 - rec.len % 512) % 512))
			goto pax_out;
		rc = 0;
pax_out:
		buf_release(&rec);
		if (rc)
			return -1;
	}
	header_fill(h, path, link, type, mode, size);
	return buf_add(b, h, 512) == BUF_OK ? 0 : -1;
}

int tar_add_hardlink(struct buf *b, const char *path, const char *target)
{
	return add_entry(b, path, target, '1', 0644, 0);
}

int tar_add_dir(struct buf *b, const char *path, unsigned mode)
{
	return add_entry(b, path, NULL, '5', mode, 0);
}

int tar_add_file(struct buf *b, const char *path, const char *data, size_t len, unsigned mode)
{
	static const char zero[512];

	if (add_entry(b, path, NULL, '0', mode, len) || buf_add(b, data, len) ||
	    buf_add(b, zero, (512 - len % 512) % 512))
		return -1;
	return 0;
}

int tar_finish(struct buf *b)
{
	static const char zero[1024];

	return buf_add(b, zero, sizeof(zero)) == BUF_OK ? 0 : -1;
}
