/*
 * buf.h - the one growable byte buffer of checkpointd, with a hard size cap.
 *
 * Every place that accumulates bytes of unknown length (a request body, an
 * engine's reply, a JSON rendering, a log line) uses a struct buf with a
 * named limit, so no input can make the service grow without bound.  Modelled
 * on curl's dynbuf: the cap is fixed at init, a failed append frees nothing
 * that was there but reports why, and buf_take() hands the bytes to the
 * caller.  The contents are always NUL-terminated (the NUL is not counted in
 * len), so text can be used as a C string directly.
 */
#ifndef CHECKPOINTD_BUF_H
#define CHECKPOINTD_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* Named limits, one per use. */
#define BUF_LIMIT_REQUEST_BODY  (1u << 20)  /* 1 MiB: larger bodies are a 413 */
#define BUF_LIMIT_ENGINE_REPLY  (8u << 20)  /* a JSON reply from an engine */
#define BUF_LIMIT_RESPONSE      (16u << 20) /* a JSON answer we render */
#define BUF_LIMIT_SMALL         (64u << 10) /* log lines, messages */

enum buf_result {
	BUF_OK = 0,
	BUF_TOO_BIG,  /* the append would pass the cap; nothing was appended */
	BUF_NOMEM     /* allocation failed; nothing was appended */
};

struct buf {
	char *data;   /* NULL until the first append; NUL-terminated after */
	size_t len;   /* bytes used, not counting the terminating NUL */
	size_t alloc; /* bytes allocated */
	size_t cap;   /* the most len may ever be */
};

/* Prepares an empty buffer that will refuse to hold more than cap bytes.
 * Allocates nothing. */
void buf_init(struct buf *b, size_t cap);

/* Frees the contents; the buffer is empty and reusable (same cap). */
void buf_release(struct buf *b);

/* Empties the buffer but keeps its memory for reuse. */
void buf_reset(struct buf *b);

/* Appends len bytes.  On failure the buffer is unchanged. */
enum buf_result buf_add(struct buf *b, const void *mem, size_t len);

/* Appends a C string. */
enum buf_result buf_adds(struct buf *b, const char *s);

/* Appends printf-formatted text. */
enum buf_result buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
enum buf_result buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* The contents as a C string; "" when empty (never NULL).  Borrowed. */
const char *buf_str(const struct buf *b);

/* Hands the contents to the caller, who frees them with free(); *len gets
 * the length when len is not NULL.  The buffer is left empty.  Returns a
 * freshly allocated "" for an empty buffer, or NULL when out of memory. */
char *buf_take(struct buf *b, size_t *len);

#endif
