/*
 * store.h - the service's records in SQLite.
 *
 * One database file (checkpointd.db in the data folder) in WAL mode.  The
 * schema is the numbered files sql/NNN_*.sql, compiled into the binary and
 * applied in order at open; PRAGMA user_version holds the number of the last
 * one applied.  Every statement is prepared once per connection and reused.
 *
 * Concurrency: one writer connection behind a mutex (SQLite allows one
 * writer; serialising in-process avoids SQLITE_BUSY), and a small pool of
 * reader connections, so GETs never wait for a job's write.  All functions
 * are safe to call from any thread.
 *
 * Records cross this interface as plain structs.  Text fields that have a
 * natural bound are fixed arrays (truncation is impossible: callers validate
 * lengths first); unbounded ones (error text, the container's configuration)
 * are heap strings owned by the struct and freed by store_checkpoint_release().
 * This layer knows nothing of HTTP.
 */
#ifndef CHECKPOINTD_STORE_H
#define CHECKPOINTD_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum store_result {
	STORE_OK = 0,
	STORE_NOT_FOUND, /* no such record */
	STORE_CONFLICT,  /* a uniqueness rule refused the write */
	STORE_ERROR      /* SQLite failed; the message says why */
};

/* Lifecycle of a job's record. */
enum store_status {
	STORE_PENDING = 0,
	STORE_RUNNING,
	STORE_READY,
	STORE_FAILED
};

/* "pending", "running", "ready", "failed". */
const char *store_status_name(enum store_status s);
/* The status called name; -1 when there is none. */
int store_status_parse(const char *name);

/* -1 in an int64_t field means "not known yet" (rendered as null). */
#define STORE_UNSET (-1)

struct store_checkpoint {
	int64_t seq;              /* insertion order, assigned by the store */
	char id[40];              /* "ck-" + 16 hex digits */
	char name[129];           /* Docker's checkpoint name rule, <= 128 */
	char container_id[72];    /* the engine's full id */
	char container_name[256]; /* without the leading '/' */
	char engine[64];          /* engine name */
	enum store_status status;
	int leave_running;        /* 0 or 1 */
	char image_id[80];        /* "sha256:...", "" until committed */
	char image_repository[256];
	char image_tag[129];
	int64_t image_size;       /* bytes, or STORE_UNSET */
	int64_t size_bytes;       /* the checkpoint's files, or STORE_UNSET */
	char directory[1024];     /* its folder on the engine host (docker), the
				   * exported archive on the service's host
				   * (podman), or "" */
	int64_t t_commit;         /* timings in ms, each STORE_UNSET until known */
	int64_t t_checkpoint;
	int64_t t_measure;
	int64_t t_total;
	int64_t created_at;       /* ms since the epoch */
	int64_t updated_at;       /* ms since the epoch */
	char error_code[64];      /* "" unless failed */
	char *error_message;      /* heap, NULL unless failed */
	char *config_json;        /* heap: the container's inspect JSON, or NULL */
	char *files_json;         /* heap: JSON array of the checkpoint's file
				   * paths relative to its folder (folders end
				   * in '/'), or NULL until measured */
	int64_t ready_restore_ms; /* the latest restore's time to ready, or STORE_UNSET */
	int64_t ready_cold_ms;    /* the latest cold start's time to ready, or STORE_UNSET */
	char engine_kind[16];     /* "docker" or "podman" (init: "docker") */
	char archive_sha256[72];  /* podman: the archive's SHA-256 (hex), or "" */
	char *criu_stats_json;    /* heap: CRIU's statistics as a JSON object, or NULL */
	char *hooks_json;         /* heap: the hooks asked for (profile filled in), or NULL */
	char *hook_results_json;  /* heap: what the before hooks did (JSON array), or NULL */
	int64_t memory_before_hooks; /* bytes, or STORE_UNSET */
	int64_t memory_at_dump;   /* bytes, or STORE_UNSET */
	int64_t t_before;         /* ms running the before hooks, or STORE_UNSET */
	int64_t t_settle;         /* ms waiting for memory to settle, or STORE_UNSET */
};

/* Zeroes *ck and sets every int64 field to STORE_UNSET, status pending. */
void store_checkpoint_init(struct store_checkpoint *ck);
/* Frees the heap strings; the struct may be reused after init. */
void store_checkpoint_release(struct store_checkpoint *ck);

/* Filters for store_checkpoint_list(); empty strings and a zero/negative
 * updated_since mean "any". */
struct store_checkpoint_filter {
	int limit;               /* 1..1000 */
	int64_t cursor;          /* list records with seq < cursor; 0 = from newest */
	int status;              /* enum store_status, or -1 for any */
	const char *container;   /* matches container_id or container_name, or NULL */
	const char *engine;      /* or NULL */
	int64_t updated_since;   /* ms; records with updated_at >= it, or 0 */
};

/* Opens (creating when needed) the database at path (":memory:" for tests),
 * sets WAL mode, applies the migrations it lacks, and marks every record
 * still pending or running as failed with error code "interrupted" (the
 * service died under it).  On failure returns NULL and writes why into err.
 * The caller closes the store with store_close(). */
struct store *store_open(const char *path, char *err, size_t errlen);

/* Finishes and frees everything; NULL is fine. */
void store_close(struct store *st);

/* The schema version now in force (PRAGMA user_version). */
int store_schema_version(struct store *st);

/* How many records (checkpoints, restores and copies) store_open() marked
 * interrupted. */
int store_interrupted_count(const struct store *st);

/* Inserts a new record.  ck->seq is filled in; created_at/updated_at are
 * set to now when they are STORE_UNSET.  STORE_CONFLICT when another record
 * that is not failed has the same (engine, container_id, name), or the id
 * is taken. */
enum store_result store_checkpoint_insert(struct store *st, struct store_checkpoint *ck);

/* Writes every field of the record called ck->id and sets updated_at to
 * now (also in *ck).  STORE_NOT_FOUND when there is no such record. */
enum store_result store_checkpoint_update(struct store *st, struct store_checkpoint *ck);

/* Reads the record called id into *out (which the caller had init'ed and
 * must release). */
enum store_result store_checkpoint_get(struct store *st, const char *id,
				       struct store_checkpoint *out);

/* Deletes the record called id. */
enum store_result store_checkpoint_delete(struct store *st, const char *id);

/* Called once per listed record, newest first; a non-zero return stops the
 * listing.  The record is borrowed for the call only. */
typedef int (*store_checkpoint_cb)(void *arg, const struct store_checkpoint *ck);

/* Lists records matching f, newest first (by seq), at most f->limit.
 * Listed records carry no config_json or files_json (NULL): read one
 * record with store_checkpoint_get() for those.
 * *next_cursor gets the seq to pass as the next page's cursor, or 0 when
 * this page is the last. */
enum store_result store_checkpoint_list(struct store *st,
					const struct store_checkpoint_filter *f,
					store_checkpoint_cb cb, void *arg,
					int64_t *next_cursor);

/* Sets only the checkpoint's ready_restore_ms (cold 0) or ready_cold_ms
 * (cold 1) to ms, and updated_at to now: restores of one checkpoint run
 * concurrently and must not overwrite each other's whole record. */
enum store_result store_checkpoint_set_ready(struct store *st, const char *id, int cold,
					     int64_t ms);

/* --- restores */

struct store_restore {
	int64_t seq;              /* insertion order, assigned by the store */
	char id[40];              /* "rs-" + 16 hex digits */
	char checkpoint_id[40];   /* the checkpoint restored (not a foreign key:
				   * records outlive a deleted checkpoint) */
	char engine[64];
	char container_id[72];    /* the restored (or cold) container, "" until created */
	char container_name[256];
	int in_place;             /* 0 or 1 */
	int cold;                 /* 0 or 1: a cold start, no checkpoint */
	enum store_status status;
	int64_t t_create;         /* timings in ms, STORE_UNSET until known */
	int64_t t_stage;
	int64_t t_start;
	int64_t t_ready;
	int64_t t_total;
	int retries;              /* extra start attempts after transient errors */
	int64_t created_at;
	int64_t updated_at;
	char error_code[64];
	char *error_message;      /* heap, NULL unless failed */
	char *request_json;       /* heap: the request's options (name, overrides,
				   * ready) as JSON, for the job; or NULL */
	char *criu_stats_json;    /* heap: CRIU's statistics as a JSON object, or NULL */
	char *hook_results_json;  /* heap: what the after hooks did (JSON array), or NULL */
	int64_t t_after;          /* ms running the after hooks, or STORE_UNSET */
};

void store_restore_init(struct store_restore *rs);
void store_restore_release(struct store_restore *rs);

struct store_restore_filter {
	int limit;               /* 1..1000 */
	int64_t cursor;          /* seq < cursor; 0 = from newest */
	int status;              /* enum store_status, or -1 */
	const char *container;   /* container_id or container_name, or NULL */
	const char *engine;      /* or NULL */
	const char *checkpoint;  /* checkpoint_id, or NULL */
	int64_t updated_since;   /* ms, or 0 */
};

/* Inserts; seq filled in, created/updated set to now when STORE_UNSET.
 * STORE_CONFLICT when the id is taken. */
enum store_result store_restore_insert(struct store *st, struct store_restore *rs);
/* Writes every mutable field of the record called rs->id; updated_at = now. */
enum store_result store_restore_update(struct store *st, struct store_restore *rs);
enum store_result store_restore_get(struct store *st, const char *id, struct store_restore *out);
enum store_result store_restore_delete(struct store *st, const char *id);

typedef int (*store_restore_cb)(void *arg, const struct store_restore *rs);
enum store_result store_restore_list(struct store *st, const struct store_restore_filter *f,
				     store_restore_cb cb, void *arg, int64_t *next_cursor);

/* How many restores of checkpoint id are pending or running (*n). */
enum store_result store_restore_count_active(struct store *st, const char *checkpoint_id,
					     int *n);

/* --- what containerd leaves behind on an engine host: every restore leaves a
 * copy of the checkpoint in containerd's temporary folder (a containerd
 * bug); the service cannot see that folder, so it counts what it caused. */

/* Adds bytes (and one restore) to engine's tally. */
enum store_result store_engine_leak_add(struct store *st, const char *engine, int64_t bytes);
/* Reads engine's tally (0, 0 when none). */
enum store_result store_engine_leak_get(struct store *st, const char *engine,
					int64_t *bytes, int64_t *restores);

/* --- why a job failed, explained (CRIU's log and what it means) */

struct store_diagnosis {
	char *hint;       /* heap, "" when none */
	char *criu_line;  /* heap: CRIU's decisive line, "" when none */
	char *log_tail;   /* heap: the log's last lines, "" when none */
	char *log;        /* heap: the whole log (bounded), or NULL */
	size_t log_len;
};

void store_diagnosis_release(struct store_diagnosis *d);

/* Writes (replaces) the diagnosis of record id; strings may be NULL. */
enum store_result store_diagnosis_put(struct store *st, const char *id, const char *hint,
				      const char *criu_line, const char *log_tail,
				      const char *log, size_t log_len);

/* Reads it into *out (zeroed first; the caller releases).  with_log 0
 * leaves out->log NULL (lists need not read whole logs). */
enum store_result store_diagnosis_get(struct store *st, const char *id, int with_log,
				      struct store_diagnosis *out);

/* Deletes it; no row is fine. */
enum store_result store_diagnosis_delete(struct store *st, const char *id);

/* --- engines added through the API (and the --engine flags, seeded at
 * every start) */

struct store_engine {
	char name[64];
	char url[512];
	char tls_dir[1024];   /* "" for plain HTTP */
	int64_t created_at;
};

/* Inserts or replaces the engine called e->name (created_at set to now
 * when STORE_UNSET or 0). */
enum store_result store_engine_put(struct store *st, const struct store_engine *e);
/* Deletes it; STORE_NOT_FOUND when there is none. */
enum store_result store_engine_delete(struct store *st, const char *name);
typedef int (*store_engine_cb)(void *arg, const struct store_engine *e);
/* Lists every engine, oldest first (by created_at, then name). */
enum store_result store_engine_list(struct store *st, store_engine_cb cb, void *arg);
/* How many checkpoints that are not failed live on engine, plus the copies
 * placed there (*n). */
enum store_result store_engine_usage(struct store *st, const char *engine, int *n);

/* --- copies of a checkpoint on other engines */

struct store_copy {
	char checkpoint_id[40];
	char engine[64];
	enum store_status status;  /* pending/running while copying, ready, failed */
	char directory[1024];      /* the files' folder on that engine's host, or "" */
	int64_t bytes;             /* bytes moved (image + files), or STORE_UNSET */
	int64_t created_at;
	int64_t updated_at;
	char error_message[512];   /* "" unless failed */
};

/* Inserts or replaces the copy (checkpoint_id, engine); times set to now
 * (created_at kept when the row exists). */
enum store_result store_copy_put(struct store *st, const struct store_copy *c);
enum store_result store_copy_get(struct store *st, const char *checkpoint_id,
				 const char *engine, struct store_copy *out);
/* Deletes the copy; STORE_NOT_FOUND when there is none. */
enum store_result store_copy_delete(struct store *st, const char *checkpoint_id,
				    const char *engine);
typedef int (*store_copy_cb)(void *arg, const struct store_copy *c);
/* Lists the copies of a checkpoint, oldest first. */
enum store_result store_copy_list(struct store *st, const char *checkpoint_id,
				  store_copy_cb cb, void *arg);

/* A number that changes whenever anything may have been written: an answer
 * rendered from the store when it was G stays true while it is still G.
 * Read it before reading the records. */
uint64_t store_generation(struct store *st);

/* The last error's text for this thread (after STORE_ERROR). */
const char *store_last_error(void);

#endif
