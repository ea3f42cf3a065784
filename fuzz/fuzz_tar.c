/*
 * fuzz_tar.c - libFuzzer target for the streaming tar reader, which reads
 * archives an engine streams to us: any bytes, cut at any point.
 */
#include "tar.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_entry(void *arg, const char *path, char type, uint64_t size)
{
	(void)arg;
	(void)path;
	(void)type;
	(void)size;
}

static int on_data(void *arg, const char *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_counter t;
	size_t half = size / 2;

	/* fed in two pieces, so state carried across calls is exercised */
	tar_counter_init(&t);
	t.on_entry = on_entry;
	t.on_data = on_data;
	if (tar_counter_feed(&t, (const char *)data, half) == 0)
		tar_counter_feed(&t, (const char *)data + half, size - half);
	return 0;
}
