/*
 * fuzz_criu.c - libFuzzer target for criu_explain() and friends: CRIU logs
 * and Docker's error texts come from outside (an engine host) and must
 * never crash the service, whatever they hold.
 */
#include "criu.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct criu_diagnosis d;
	char tail[512], path[256], *text;

	criu_explain((const char *)data, size, &d);
	if (!d.code[0] || !d.message[0])
		abort(); /* never an empty explanation */
	criu_log_tail((const char *)data, size, 5, tail, sizeof(tail));
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	criu_log_path_from_error(text, path, sizeof(path));
	free(text);
	return 0;
}
