/*
 * store_int.h - what the files of the store module share and nobody else
 * sees: the connection and its statement cache, the pool, error reporting.
 *
 * store.c owns the connections (opening, migrations, the reader pool);
 * store_checkpoint.c holds the SQL of the checkpoints table.  A statement is
 * prepared the first time a connection needs it and kept until the store
 * closes, in the slot its enum value names, so each connection prepares each
 * statement at most once.
 */
#ifndef CHECKPOINTD_STORE_INT_H
#define CHECKPOINTD_STORE_INT_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>

/* Reader connections of a file database. */
#define STORE_READERS 4

/* The list query has one variant per combination of filters present
 * (status, container, engine, updated_since): STORE_LIST_VARIANTS slots
 * starting at STORE_STMT_CK_LIST. */
#define STORE_LIST_FILTERS  4
#define STORE_LIST_VARIANTS (1 << STORE_LIST_FILTERS)

/* Statement slots; each slot always holds the same SQL. */
enum store_stmt_id {
	STORE_STMT_USER_VERSION = 0,
	STORE_STMT_CK_INSERT,
	STORE_STMT_CK_UPDATE,
	STORE_STMT_CK_GET,
	STORE_STMT_CK_DELETE,
	STORE_STMT_CK_INTERRUPT,
	STORE_STMT_CK_LIST,
	STORE_STMT_COUNT = STORE_STMT_CK_LIST + STORE_LIST_VARIANTS
};

/* One SQLite connection, used by one thread at a time. */
struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[STORE_STMT_COUNT]; /* NULL until first used */
};

struct store {
	struct store_conn writer;  /* every write, behind write_lock */
	pthread_mutex_t write_lock;

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

/* Marks every pending or running record failed with error code
 * "interrupted"; *count gets how many.  Runs on the writer at open. */
enum store_result store_checkpoint_mark_interrupted(struct store_conn *w,
						    int *count);

#endif
