/*
 * log.h - one line per event on stderr, with a UTC timestamp.
 *
 * The service logs one line per HTTP request and one per job step.  Lines are
 * written with a single write(2) so lines from several threads never mix.
 */
#ifndef CHECKPOINTD_LOG_H
#define CHECKPOINTD_LOG_H

/* Logs "2026-12-04T15:37:18.123Z <text>\n" to stderr. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
