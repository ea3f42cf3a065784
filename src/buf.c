/*
 * buf.c - see buf.h.  Growth doubles, so n appends cost O(n) copies.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Makes room for extra more bytes plus the NUL, within the cap. */
static enum buf_result buf_grow(struct buf *b, size_t extra)
{
	size_t need, n;
	char *p;

	if (extra > b->cap || b->len > b->cap - extra)
		return BUF_TOO_BIG;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return BUF_OK;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > ((size_t)-1) / 2 ? need : n * 2;
	if (n > b->cap + 1)
		n = b->cap + 1;
	if (n < need)
		n = need;
	p = realloc(b->data, n);
	if (!p)
		return BUF_NOMEM;
	b->data = p;
	b->alloc = n;
	return BUF_OK;
}

enum buf_result buf_add(struct buf *b, const void *mem, size_t len)
{
	enum buf_result r = buf_grow(b, len);

	if (r != BUF_OK)
		return r;
	if (len)
		memcpy(b->data + b->len, mem, len);
	b->len += len;
	b->data[b->len] = '\0';
	return BUF_OK;
}

enum buf_result buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum buf_result buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	enum buf_result r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return BUF_NOMEM;
	r = buf_grow(b, (size_t)n);
	if (r != BUF_OK)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return BUF_OK;
}

enum buf_result buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum buf_result r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

const char *buf_str(const struct buf *b)
{
	return b->data ? b->data : "";
}

char *buf_take(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (!p)
		p = calloc(1, 1);
	if (len)
		*len = p ? b->len : 0;
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}
