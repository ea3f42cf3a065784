/*
 * log.c - see log.h.
 */
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void log_line(const char *fmt, ...)
{
	char line[2048];
	size_t n;
	int k;
	va_list ap;

	clock_format_rfc3339(clock_now_ms(), line, sizeof(line));
	n = 0;
	while (line[n])
		n++;
	line[n++] = ' ';
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}
