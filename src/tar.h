/*
 * tar.h - a streaming reader that measures a tar archive as it passes.
 *
 * The checkpoint's size on disk is measured on the engine host's files as
 * Docker's archive API streams them: the bytes are counted, never kept.
 * Feed it the stream in pieces of any size.
 */
#ifndef CHECKPOINTD_TAR_H
#define CHECKPOINTD_TAR_H

#include <stddef.h>
#include <stdint.h>

struct tar_counter {
	unsigned char hdr[512]; /* the header being gathered */
	size_t hdr_fill;
	uint64_t skip;          /* data (and padding) bytes left of the entry */
	uint64_t file_bytes;    /* sum of regular files' sizes */
	uint64_t files;         /* regular files seen */
	uint64_t entries;       /* every entry seen */
	int zero_blocks;        /* consecutive zero blocks (two end the archive) */
	int done;               /* the end-of-archive marker was seen */
	char error[96];         /* "" or why the stream is not a tar */
};

void tar_counter_init(struct tar_counter *t);

/* Consumes len bytes.  Returns 0, or -1 when the stream is not a valid tar
 * (t->error says why); bytes after the end marker are ignored. */
int tar_counter_feed(struct tar_counter *t, const char *data, size_t len);

#endif
