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

/* Called for each entry with its full path (long names resolved), its
 * type flag ('0' file, '5' folder, '1' hard link, '2' symlink...) and size. */
typedef void (*tar_entry_fn)(void *arg, const char *path, char type, uint64_t size);

/* Called with the data of regular files, in order, in pieces (after the
 * file's on_entry).  A non-zero return stops the stream (feed returns -1). */
typedef int (*tar_data_fn)(void *arg, const char *data, size_t len);

struct tar_counter {
	unsigned char hdr[512]; /* the header being gathered */
	tar_entry_fn on_entry;  /* optional */
	tar_data_fn on_data;    /* optional */
	uint64_t data_left;     /* of the current regular file (rest of skip is padding) */
	void *arg;
	char longname[4096];    /* from a GNU 'L' or PAX 'path' record, for the next entry */
	char ext[8192];         /* the data of the extended record being read */
	size_t ext_len, ext_want;
	char ext_type;          /* 'L', 'K', 'x' or 'g' while gathering, else 0 */
	uint64_t pax_size;      /* a PAX "size" for the next entry ... */
	int has_pax_size;       /* ... when set (files of 8 GiB and more) */
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

/* --- writing: small archives built in memory (headers only, no data) */

struct buf;

/* Appends a hard-link entry: path (in the archive) names the same file as
 * target (an archive path too).  Long names get a PAX record.  0, or -1
 * when the buffer is full. */
int tar_add_hardlink(struct buf *b, const char *path, const char *target);

/* Appends a regular file holding len bytes of data. */
int tar_add_file(struct buf *b, const char *path, const char *data, size_t len, unsigned mode);

/* Appends a folder entry with the given mode. */
int tar_add_dir(struct buf *b, const char *path, unsigned mode);

/* Appends the end-of-archive marker (two zero blocks). */
int tar_finish(struct buf *b);
