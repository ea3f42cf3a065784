/*
 * store.c - the store's connections: opening the database, applying the
 * schema migrations, the writer and the pool of readers, error text.
 *
 * A file database gets one writer connection and STORE_READERS reader
 * connections.  The writer is serialised by a mutex, so SQLite never sees two
 * writers of ours at once and SQLITE_BUSY can only come from another process
 * (busy_timeout covers that).  In WAL mode readers do not wait for the writer
 * nor the writer for them, which is why a GET stays fast while a job writes.
 * A database in memory is private to its connection, so there the writer
 * serves reads as well, under the same mutex.
 *
 * Migrations are the embedded files named sql/NNN_<what>.sql.  Each one runs
 * in its own transaction together with "PRAGMA user_version = NNN", so a
 * crash leaves the database at one version or the next, never between.
 */
#include "store_int.h"
#include "embedded.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a connection waits for a lock held by another process. */
#define STORE_BUSY_TIMEOUT_MS 5000

static _Thread_local char store_last_error_text[512];

const char *store_last_error(void)
{
	return store_last_error_text;
}

void store_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store_last_error_text, sizeof(store_last_error_text), fmt, ap);
	va_end(ap);
}

void store_error_db(sqlite3 *db, const char *fmt, ...)
{
	char context[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	snprintf(store_last_error_text, sizeof(store_last_error_text), "%s: %s",
		 context, db ? sqlite3_errmsg(db) : "out of memory");
}

static const char *const status_names[] = {
	[STORE_PENDING] = "pending",
	[STORE_RUNNING] = "running",
	[STORE_READY] = "ready",
	[STORE_FAILED] = "failed",
};

/* "unknown" for a value outside the enum, so a caller's printf never gets
 * NULL; the schema's CHECK refuses to store it. */
const char *store_status_name(enum store_status s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

int store_status_parse(const char *name)
{
	size_t i;

	if (!name)
		return -1;
	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(status_names[i], name) == 0)
			return (int)i;
	return -1;
}

sqlite3_stmt *store_conn_stmt(struct store_conn *c, enum store_stmt_id id,
			      const char *sql)
{
	sqlite3_stmt *s = c->stmt[id];

	if (s)
		goto out;
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK) {
		store_error_db(c->db, "cannot prepare statement %d", (int)id);
		s = NULL;
		goto out;
	}
	c->stmt[id] = s;
out:
	return s;
}

void store_stmt_done(sqlite3_stmt *s)
{
	/* reset repeats the last step's error, which the caller has seen */
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Finalizes c's statements and closes it; a zeroed c is fine. */
static void conn_close(struct store_conn *c)
{
	int i;

	for (i = 0; i < STORE_STMT_COUNT; i++) {
		sqlite3_finalize(c->stmt[i]);
		c->stmt[i] = NULL;
	}
	sqlite3_close(c->db);
	c->db = NULL;
}

/* Opens c on path with the settings every connection shares.  flags are
 * sqlite3_open_v2()'s; the connection is used by one thread at a time (we
 * lock around it), so SQLite's own per-connection mutex is not needed. */
static int conn_open(struct store_conn *c, const char *path, int flags,
		     char *err, size_t errlen)
{
	int result = -1;

	memset(c, 0, sizeof(*c));
	if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "cannot open database '%s': %s", path,
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);
	if (sqlite3_exec(c->db,
			 "PRAGMA foreign_keys = ON;"
			 "PRAGMA synchronous = NORMAL;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot configure database '%s': %s", path,
			 sqlite3_errmsg(c->db));
		goto out;
	}
	result = 0;
out:
	if (result != 0)
		conn_close(c);
	return result;
}

#define JOURNAL_MODE_MAX 32

/* sqlite3_exec() callback keeping the first column of the first row in a
 * JOURNAL_MODE_MAX buffer. */
static int keep_first_text(void *arg, int ncols, char **values, char **names)
{
	char *dst = arg;

	(void)names;
	if (ncols > 0 && values[0] && !dst[0])
		snprintf(dst, JOURNAL_MODE_MAX, "%s", values[0]);
	return 0;
}

/* Switches the writer's database to WAL; a memory database stays "memory".
 * A file that cannot be WAL (a filesystem without shared memory) is
 * refused: readers would then block the writer and the design fails. */
static int conn_set_wal(struct store_conn *c, const char *path, int in_memory,
			char *err, size_t errlen)
{
	char mode[JOURNAL_MODE_MAX] = "";
	int result = -1;

	if (sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", keep_first_text,
			 mode, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set WAL mode on '%s': %s", path,
			 sqlite3_errmsg(c->db));
		goto out;
	}
	if (!in_memory && strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "cannot set WAL mode on '%s': journal mode is '%s'",
			 path, mode);
		goto out;
	}
	result = 0;
out:
	return result;
}

/* PRAGMA user_version of c, or -1 with the error recorded. */
static int conn_user_version(struct store_conn *c)
{
	sqlite3_stmt *s;
	int version = -1;

	s = store_conn_stmt(c, STORE_STMT_USER_VERSION, "PRAGMA user_version");
	if (!s)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_error_db(c->db, "cannot read the schema version");
		goto out;
	}
	version = sqlite3_column_int(s, 0);
out:
	if (s)
		store_stmt_done(s);
	return version;
}

/* The number of migration file name ("sql/001_init.sql" -> 1); 0 when name
 * is not under sql/ or not a .sql file; -1 when it is a .sql file under sql/
 * that does not follow the NNN_<what>.sql rule. */
static int migration_number(const char *name)
{
	const char *p;
	size_t len = strlen(name);
	int n = 0, digits = 0;

	if (strncmp(name, "sql/", 4) != 0 || len < 8 ||
	    strcmp(name + len - 4, ".sql") != 0)
		return 0;
	for (p = name + 4; *p >= '0' && *p <= '9'; p++) {
		if (++digits > 6)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (digits < 3 || *p != '_' || n == 0)
		return -1;
	return n;
}

/* Checks the embedded migrations' names: numbered, without repeats (the
 * table is sorted by name, so numbers must rise).  *newest gets the highest
 * number. */
static int migrations_check(int *newest, char *err, size_t errlen)
{
	const struct embedded_file *f;
	int n, last = 0;

	for (f = embedded_files; f->name; f++) {
		n = migration_number(f->name);
		if (n == 0)
			continue;
		if (n < 0) {
			snprintf(err, errlen,
				 "migration '%s' is not named sql/NNN_<what>.sql", f->name);
			return -1;
		}
		if (n <= last) {
			snprintf(err, errlen, "migration '%s' repeats number %d",
				 f->name, n);
			return -1;
		}
		last = n;
	}
	*newest = last;
	return 0;
}

/* Runs one migration and sets user_version to its number, all in one
 * transaction.  BEGIN IMMEDIATE takes the write lock up front so another
 * process migrating the same file waits rather than failing halfway. */
static int migration_apply(struct store_conn *c, const struct embedded_file *f,
			   int n, char *err, size_t errlen)
{
	char pragma[64];
	int result = -1, begun = 0;

	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	begun = 1;
	if (sqlite3_exec(c->db, (const char *)f->data, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	/* The one SQL text built with a number in it: PRAGMA takes no bound
	 * parameters, and n comes from our own file's name. */
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", n);
	if (sqlite3_exec(c->db, pragma, NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	result = 0;
out:
	if (result != 0) {
		snprintf(err, errlen, "migration '%s' failed: %s", f->name,
			 sqlite3_errmsg(c->db));
		if (begun)
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return result;
}

/* Applies the migrations newer than the database's user_version, in order.
 * A database newer than every migration we know was written by a later
 * checkpointd: we refuse it rather than run on a schema we do not know. */
static int migrations_run(struct store_conn *c, const char *path, char *err,
			  size_t errlen)
{
	const struct embedded_file *f;
	int version, newest, n, result = -1;

	if (migrations_check(&newest, err, errlen) != 0)
		goto out;
	version = conn_user_version(c);
	if (version < 0) {
		snprintf(err, errlen, "%s", store_last_error());
		goto out;
	}
	if (version > newest) {
		snprintf(err, errlen,
			 "database '%s' has schema version %d but this checkpointd "
			 "knows only up to %d: it was written by a newer checkpointd",
			 path, version, newest);
		goto out;
	}
	for (f = embedded_files; f->name; f++) {
		n = migration_number(f->name);
		if (n <= version)
			continue;
		if (migration_apply(c, f, n, err, errlen) != 0)
			goto out;
	}
	result = 0;
out:
	return result;
}

/* Opens the reader pool of a file database. */
static int readers_open(struct store *st, const char *path, char *err,
			size_t errlen)
{
	int i, result = -1;

	for (i = 0; i < STORE_READERS; i++) {
		if (conn_open(&st->readers[i], path, SQLITE_OPEN_READWRITE, err,
			      errlen) != 0)
			goto out;
		st->nreaders++;
		/* read-write plus query_only rather than SQLITE_OPEN_READONLY:
		 * a read-only connection cannot always recover a WAL index */
		if (sqlite3_exec(st->readers[i].db, "PRAGMA query_only = ON", NULL,
				 NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "cannot configure reader of '%s': %s",
				 path, sqlite3_errmsg(st->readers[i].db));
			goto out;
		}
		st->idle[st->nidle++] = i;
	}
	result = 0;
out:
	return result;
}

/* Fails the jobs a previous run left pending or running, checkpoints,
 * restores and copies, and counts them in st->interrupted.  One
 * transaction: the count is of what this open changed. */
static enum store_result mark_interrupted(struct store *st)
{
	struct store_conn *w = &st->writer;
	int checkpoints = 0, restores = 0, copies = 0, begun = 0;
	enum store_result result = STORE_ERROR;

	if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		store_error_db(w->db, "cannot mark interrupted jobs");
		goto out;
	}
	begun = 1;
	if (store_checkpoint_mark_interrupted(w, &checkpoints) != STORE_OK ||
	    store_restore_mark_interrupted(w, &restores) != STORE_OK ||
	    store_copy_mark_interrupted(w, &copies) != STORE_OK)
		goto out;
	if (sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_error_db(w->db, "cannot mark interrupted jobs");
		goto out;
	}
	begun = 0;
	st->interrupted = checkpoints + restores + copies;
	result = STORE_OK;
out:
	if (begun)
		sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
	return result;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *st;
	const char *file;
	int in_memory, ok = 0;

	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->write_lock, NULL);
	pthread_mutex_init(&st->pool_lock, NULL);
	pthread_cond_init(&st->pool_cond, NULL);

	if (conn_open(&st->writer, path,
		      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, errlen) != 0)
		goto out;
	/* ":memory:" and "" (a temporary database) have no file name, and
	 * nothing another connection could open */
	file = sqlite3_db_filename(st->writer.db, "main");
	in_memory = !file || !file[0];
	if (conn_set_wal(&st->writer, path, in_memory, err, errlen) != 0)
		goto out;
	if (migrations_run(&st->writer, path, err, errlen) != 0)
		goto out;
	if (mark_interrupted(st) != STORE_OK) {
		snprintf(err, errlen, "%s", store_last_error());
		goto out;
	}
	if (!in_memory && readers_open(st, path, err, errlen) != 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		store_error("%s", err);
		store_close(st);
		st = NULL;
	}
	return st;
}

void store_close(struct store *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < st->nreaders; i++)
		conn_close(&st->readers[i]);
	/* the writer last: the last connection to close checkpoints the WAL
	 * into the database file and removes it */
	conn_close(&st->writer);
	pthread_cond_destroy(&st->pool_cond);
	pthread_mutex_destroy(&st->pool_lock);
	pthread_mutex_destroy(&st->write_lock);
	free(st);
}

struct store_conn *store_writer_take(struct store *st)
{
	pthread_mutex_lock(&st->write_lock);
	return &st->writer;
}

void store_writer_give(struct store *st, struct store_conn *c)
{
	(void)c;
	atomic_fetch_add(&st->generation, 1);
	pthread_mutex_unlock(&st->write_lock);
}

uint64_t store_generation(struct store *st)
{
	return atomic_load(&st->generation);
}

struct store_conn *store_reader_take(struct store *st)
{
	struct store_conn *c;

	if (st->nreaders == 0)
		return store_writer_take(st);
	pthread_mutex_lock(&st->pool_lock);
	while (st->nidle == 0)
		pthread_cond_wait(&st->pool_cond, &st->pool_lock);
	c = &st->readers[st->idle[--st->nidle]];
	pthread_mutex_unlock(&st->pool_lock);
	return c;
}

void store_reader_give(struct store *st, struct store_conn *c)
{
	if (c == &st->writer) {
		store_writer_give(st, c);
		return;
	}
	pthread_mutex_lock(&st->pool_lock);
	st->idle[st->nidle++] = (int)(c - st->readers);
	pthread_cond_signal(&st->pool_cond);
	pthread_mutex_unlock(&st->pool_lock);
}

int store_schema_version(struct store *st)
{
	struct store_conn *c = store_reader_take(st);
	int version = conn_user_version(c);

	store_reader_give(st, c);
	return version;
}

int store_interrupted_count(const struct store *st)
{
	return st->interrupted;
}
