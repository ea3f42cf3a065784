/*
 * clock.h - wall-clock and monotonic time in milliseconds, RFC 3339 text.
 */
#ifndef CHECKPOINTD_CLOCK_H
#define CHECKPOINTD_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock): for records. */
int64_t clock_now_ms(void);

/* Milliseconds from an arbitrary start (monotonic): for durations. */
int64_t clock_mono_ms(void);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 characters + NUL). */
void clock_format_rfc3339(int64_t ms, char *out, size_t outlen);

/* Parses an RFC 3339 date-time ("2026-12-04T15:37:18Z", optional fraction,
 * "Z" or "+hh:mm"/"-hh:mm") into ms since the epoch.  Returns 0 on success,
 * -1 when the text is not such a date-time. */
int clock_parse_rfc3339(const char *s, int64_t *ms);

#endif
