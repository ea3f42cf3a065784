/*
 * store_int.h - what the files of the store module share and nobody else
 * sees: the connection and its statement cache, the pool, error reporting,
 * and the helpers that move records between structs and statements.
 *
 * store.c owns the connections (opening, migrations, the reader pool);
 * store_row.c binds and reads record fields and builds the list queries;
 * store_checkpoint.c holds the SQL of the checkpoints table and
 * store_restore.c that of the restores and engine_leaks tables,
 * store_engine.c that of the engines and checkpoint_copies tables.  A
 * statement is prepared the first time a connection needs it and kept until
 * the store closes, in the slot its enum value names, so each connection
 * prepares each statement at most once.
 */
#ifndef CHECKPOINTD_STORE_INT_H
#define CHECKPOINTD_STORE_INT_H

#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

/* Reader connections of a file database. */
#define STORE_READERS 4

/* A list query has one variant per combination of the filters present
 * (bit i of the variant for filter i, see enum store_list_bit), so
 * 1 << filters slots starting at its STORE_STMT_*_LIST. */
#define STORE_CK_LIST_FILTERS  4 /* status, container, engine, updated_since */
#define STORE_CK_LIST_VARIANTS (1 << STORE_CK_LIST_FILTERS)
#define STORE_RS_LIST_FILTERS  5 /* the same and checkpoint */
#define STORE_RS_LIST_VARIANTS (1 << STORE_RS_LIST_FILTERS)

/* The most records one list call returns. */
#define STORE_LIST_LIMIT_MAX 1000

/* The error text of a job the service's stop interrupted. */
#define STORE_INTERRUPTED_MESSAGE "the service stopped while this job was running"

/* The error text of a copy the service's stop interrupted. */
#define STORE_COPY_INTERRUPTED_MESSAGE "the service stopped while this copy was being made"

/* Statement slots; each slot always holds the same SQL. */
enum store_stmt_id {
	STORE_STMT_USER_VERSION = 0,
	STORE_STMT_CK_INSERT,
	STORE_STMT_CK_UPDATE,
	STORE_STMT_CK_GET,
	STORE_STMT_CK_DELETE,
	STORE_STMT_CK_INTERRUPT,
	STORE_STMT_CK_SET_READY_RESTORE,
	STORE_STMT_CK_SET_READY_COLD,
	STORE_STMT_RS_INSERT,
	STORE_STMT_RS_UPDATE,
	STORE_STMT_RS_GET,
	STORE_STMT_RS_DELETE,
	STORE_STMT_RS_INTERRUPT,
	STORE_STMT_RS_COUNT_ACTIVE,
	STORE_STMT_LEAK_ADD,
	STORE_STMT_LEAK_GET,
	STORE_STMT_DIAG_PUT,
	STORE_STMT_DIAG_GET,
	STORE_STMT_DIAG_DELETE,
	STORE_STMT_ENGINE_PUT,
	STORE_STMT_ENGINE_DELETE,
	STORE_STMT_ENGINE_LIST,
	STORE_STMT_ENGINE_USAGE,
	STORE_STMT_COPY_PUT,
	STORE_STMT_COPY_GET,
	STORE_STMT_COPY_DELETE,
	STORE_STMT_COPY_LIST,
	STORE_STMT_COPY_INTERRUPT,
	STORE_STMT_CK_LIST,
	STORE_STMT_RS_LIST = STORE_STMT_CK_LIST + STORE_CK_LIST_VARIANTS,
	STORE_STMT_COUNT = STORE_STMT_RS_LIST + STORE_RS_LIST_VARIANTS
};

/* One SQLite connection, used by one thread at a time. */
struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[STORE_STMT_COUNT]; /* NULL until first used */
};

struct store {
	struct store_conn writer;  /* every write, behind write_lock */
	pthread_mutex_t write_lock;
	atomic_ullong generation;  /* bumped as each use of the writer ends */

	/* Readers of a file database.  A database that lives in memory cannot
	 * be shared between connections: then nreaders is 0 and reads borrow
	 * the writer. */
	struct store_conn readers[STORE_READERS];
	int nreaders;
	int idle[STORE_READERS]; /* indexes of the readers not in use */
	int nidle;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;

	int interrupted; /* records store_open() marked interrupted */
};

/* The writer connection, locked for the caller until store_writer_give(). */
struct store_conn *store_writer_take(struct store *st);
void store_writer_give(struct store *st, struct store_conn *c);

/* A connection to read with, waiting while all are busy; give it back with
 * store_reader_give().  Reads see the last committed state. */
struct store_conn *store_reader_take(struct store *st);
void store_reader_give(struct store *st, struct store_conn *c);

/* The statement in slot id of c, preparing sql there on first use.  NULL
 * (with the error recorded) when it does not prepare.  The statement is
 * borrowed: the caller resets it with store_stmt_done() after use. */
sqlite3_stmt *store_conn_stmt(struct store_conn *c, enum store_stmt_id id,
			      const char *sql);

/* Resets s and clears its bindings, ready for the next use. */
void store_stmt_done(sqlite3_stmt *s);

/* Records "<context>: <SQLite's message>" as this thread's last error. */
void store_error_db(sqlite3 *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records a message of our own as this thread's last error. */
void store_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Mark every pending or running record of their table failed with error
 * code "interrupted" and STORE_INTERRUPTED_MESSAGE; *count gets how many.
 * Run on the writer at open. */
enum store_result store_checkpoint_mark_interrupted(struct store_conn *w,
						    int *count);
enum store_result store_restore_mark_interrupted(struct store_conn *w,
						 int *count);

/* Mark every pending or running copy failed with
 * STORE_COPY_INTERRUPTED_MESSAGE; *count gets how many.  Run on the writer
 * at open. */
enum store_result store_copy_mark_interrupted(struct store_conn *w, int *count);

/* --- records and statements (store_row.c) */

/* A fixed-size text field of a record struct: its column (and parameter)
 * number, where it lies in the struct, and its name for messages. */
struct store_text_field {
	int col;
	size_t offset;
	size_t size;
	const char *name;
};

#define STORE_TEXT_FIELD(type, c, f) \
	{ c, offsetof(type, f), sizeof(((type *)0)->f), #f }

/* Binds the n text fields of record (a struct of the fields' type) as their
 * parameters, SQLITE_STATIC: the record must outlive the statement's use.
 * An array with no NUL in it is a caller's bug; it is refused, not stored
 * cut.  what names the record in messages ("checkpoint"). */
enum store_result store_bind_texts(sqlite3 *db, sqlite3_stmt *s,
				   const struct store_text_field *fields,
				   size_t n, const void *record,
				   const char *what);

/* Copies the n text columns of the current row into record's arrays.  A
 * value that does not fit is an error rather than silently cut (store.h
 * promises no truncation).  seq names the row in messages. */
enum store_result store_read_texts(sqlite3 *db, sqlite3_stmt *s,
				   const struct store_text_field *fields,
				   size_t n, void *record, const char *what,
				   int64_t seq);

/* Binds v, or NULL when it is STORE_UNSET. */
int store_bind_optional(sqlite3_stmt *s, int i, int64_t v);

/* Binds a heap string (SQLITE_STATIC), NULL as NULL. */
int store_bind_heap(sqlite3_stmt *s, int i, const char *v);

/* Column col as an int64, STORE_UNSET for NULL. */
int64_t store_column_optional(sqlite3_stmt *s, int col);

/* Copies column col into a fresh heap string the caller frees; *out is NULL
 * for NULL.  -1 when out of memory. */
int store_column_heap(sqlite3_stmt *s, int col, char **out);

/* Records why a write step failed and classifies it: a uniqueness rule is
 * a conflict the caller can act on, anything else (a CHECK, I/O) is an
 * error.  Message: "cannot <verb> <what> '<id>': <SQLite's>". */
enum store_result store_write_failure(sqlite3 *db, int rc, const char *verb,
				      const char *what, const char *id);

/* --- list queries (store_row.c) */

/* The filters of a listing, whichever table it lists. */
struct store_list_params {
	int limit;              /* 1..STORE_LIST_LIMIT_MAX */
	int64_t cursor;         /* seq < cursor; 0 = from newest */
	int status;             /* enum store_status, or -1 */
	const char *container;  /* or NULL / "" */
	const char *engine;     /* or NULL / "" */
	int64_t updated_since;  /* or 0 */
	const char *checkpoint; /* restores only; or NULL / "" */
};

/* Bit of a list variant, and index of the filter's condition, per filter. */
enum store_list_bit {
	STORE_LIST_BY_STATUS = 0,
	STORE_LIST_BY_CONTAINER,
	STORE_LIST_BY_ENGINE,
	STORE_LIST_BY_SINCE,
	STORE_LIST_BY_CHECKPOINT
};

/* Parameter numbers of a list query: the conditions and the tail use these
 * (the condition of STORE_LIST_BY_X uses STORE_LIST_P_X). */
enum store_list_param {
	STORE_LIST_P_CURSOR = 1,
	STORE_LIST_P_LIMIT,
	STORE_LIST_P_STATUS,
	STORE_LIST_P_CONTAINER,
	STORE_LIST_P_ENGINE,
	STORE_LIST_P_SINCE,
	STORE_LIST_P_CHECKPOINT
};

/* A list query of one table: head (SELECT ... WHERE seq < ?1), one fixed
 * condition per filter in enum store_list_bit order, tail (ORDER BY seq
 * DESC LIMIT ?2).  Only this fixed text is ever joined; values are bound. */
struct store_list_query {
	enum store_stmt_id first; /* slot of variant 0 */
	const char *head;
	const char *const *conditions;
	int nconditions;
	const char *tail;
};

/* Checks the limit and status of p; STORE_ERROR with a message when out of
 * range. */
enum store_result store_list_check(const struct store_list_params *p);

/* The variant of p: which filters are present. */
int store_list_variant(const struct store_list_params *p);

/* The statement of variant v of q on c, built the first time c needs it. */
sqlite3_stmt *store_list_stmt(struct store_conn *c,
			      const struct store_list_query *q, int v);

/* Binds p's values to the list statement of variant v, asking for one row
 * more than p->limit (the extra row says a next page exists).  An SQLite
 * code. */
int store_list_bind(sqlite3_stmt *s, int v, const struct store_list_params *p);

#endif
