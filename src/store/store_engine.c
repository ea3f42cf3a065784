/*
 * store_engine.c - the engines table and the checkpoint_copies table
 * (sql/004_engines.sql): the engines the service knows, the copies of a
 * checkpoint placed on them, how much lives on each engine, and marking
 * copies a stop interrupted at open.
 *
 * As in store_restore.c, each table's statements name their columns in one
 * order, the ENGINE_* and COPY_* numbers below, and the writes use the same
 * numbers for their parameters, so one function binds a record and one
 * reads it back.  Column 0 is the rowid, which nothing uses: it stands where
 * the other tables have seq, so that column i is parameter ?i.
 *
 * Text arrays are bound with their length and refused when not terminated;
 * a key passed as a string (a name to delete, say) is refused when it could
 * not fit its array, since no row can have it and the caller skipped its
 * validation.  Either refusal is STORE_ERROR with the reason recorded.
 */
#include "store_int.h"
#include "clock.h"

#include <stddef.h>
#include <string.h>

/* Column numbers of ENGINE_COLUMNS, and parameter numbers of the put. */
enum engine_column {
	ENGINE_ROWID = 0,
	ENGINE_NAME,
	ENGINE_URL,
	ENGINE_TLS_DIR,
	ENGINE_CREATED_AT
};

#define ENGINE_COLUMNS "rowid, name, url, tls_dir, created_at"

static const char sql_engine_put[] =
	"INSERT INTO engines (name, url, tls_dir, created_at) "
	"VALUES (?1, ?2, ?3, ?4) "
	"ON CONFLICT (name) DO UPDATE SET url = excluded.url, "
	"tls_dir = excluded.tls_dir";

static const char sql_engine_delete[] = "DELETE FROM engines WHERE name = ?1";

static const char sql_engine_list[] =
	"SELECT " ENGINE_COLUMNS " FROM engines ORDER BY created_at, name";

/* Both counts use an index on engine (checkpoints_engine,
 * checkpoint_copies_engine). */
static const char sql_engine_usage[] =
	"SELECT (SELECT count(*) FROM checkpoints "
	"WHERE engine = ?1 AND status != 'failed') + "
	"(SELECT count(*) FROM checkpoint_copies "
	"WHERE engine = ?1 AND status != 'failed')";

/* Column numbers of COPY_COLUMNS, and parameter numbers of the put. */
enum copy_column {
	COPY_ROWID = 0,
	COPY_CHECKPOINT_ID,
	COPY_ENGINE,
	COPY_STATUS,
	COPY_DIRECTORY,
	COPY_BYTES,
	COPY_CREATED_AT,
	COPY_UPDATED_AT,
	COPY_ERROR_MESSAGE
};

#define COPY_COLUMNS                                               \
	"rowid, checkpoint_id, engine, status, directory, bytes, " \
	"created_at, updated_at, error_message"

/* A replaced row keeps its created_at. */
static const char sql_copy_put[] =
	"INSERT INTO checkpoint_copies (checkpoint_id, engine, status, directory, "
	"bytes, created_at, updated_at, error_message) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
	"ON CONFLICT (checkpoint_id, engine) DO UPDATE SET status = excluded.status, "
	"directory = excluded.directory, bytes = excluded.bytes, "
	"updated_at = excluded.updated_at, error_message = excluded.error_message";

static const char sql_copy_get[] =
	"SELECT " COPY_COLUMNS " FROM checkpoint_copies "
	"WHERE checkpoint_id = ?1 AND engine = ?2";

static const char sql_copy_delete[] =
	"DELETE FROM checkpoint_copies WHERE checkpoint_id = ?1 AND engine = ?2";

static const char sql_copy_list[] =
	"SELECT " COPY_COLUMNS " FROM checkpoint_copies "
	"WHERE checkpoint_id = ?1 ORDER BY created_at, engine";

static const char sql_copy_interrupt[] =
	"UPDATE checkpoint_copies SET status = 'failed', error_message = ?1, "
	"updated_at = ?2 WHERE status IN ('pending', 'running')";

#define ENGINE_TEXT(c, f) STORE_TEXT_FIELD(struct store_engine, c, f)

static const struct store_text_field engine_text_fields[] = {
	ENGINE_TEXT(ENGINE_NAME, name),
	ENGINE_TEXT(ENGINE_URL, url),
	ENGINE_TEXT(ENGINE_TLS_DIR, tls_dir),
};

#define COPY_TEXT(c, f) STORE_TEXT_FIELD(struct store_copy, c, f)

static const struct store_text_field copy_text_fields[] = {
	COPY_TEXT(COPY_CHECKPOINT_ID, checkpoint_id),
	COPY_TEXT(COPY_ENGINE, engine),
	COPY_TEXT(COPY_DIRECTORY, directory),
	COPY_TEXT(COPY_ERROR_MESSAGE, error_message),
};

#define N_FIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* The size of field f of struct type, for checking keys against it. */
#define FIELD_SIZE(type, f) sizeof(((type *)0)->f)

/* Binds key v as parameter i, a copy (v may point into a record the
 * caller's read then clears).  NULL, "" and text that cannot fit the
 * record's array of size bytes are refused: no row can have them. */
static enum store_result bind_key(sqlite3 *db, sqlite3_stmt *s, int i, const char *v,
				  size_t size, const char *what)
{
	enum store_result result = STORE_ERROR;

	if (!v || !v[0]) {
		store_error("no %s given", what);
		goto out;
	}
	if (strnlen(v, size) == size) {
		store_error("%s '%.64s...' is longer than %zu bytes", what, v, size - 1);
		goto out;
	}
	if (sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		store_error_db(db, "cannot bind the %s", what);
		goto out;
	}
	result = STORE_OK;
out:
	return result;
}

/* --- engines */

/* Reads the current row (columns ENGINE_COLUMNS) into *e. */
static enum store_result engine_read(sqlite3 *db, sqlite3_stmt *s, struct store_engine *e)
{
	enum store_result result;

	memset(e, 0, sizeof(*e));
	result = store_read_texts(db, s, engine_text_fields, N_FIELDS(engine_text_fields), e,
				  "engine", sqlite3_column_int64(s, ENGINE_ROWID));
	if (result != STORE_OK)
		goto out;
	e->created_at = sqlite3_column_int64(s, ENGINE_CREATED_AT);
out:
	return result;
}

enum store_result store_engine_put(struct store *st, const struct store_engine *e)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s = NULL;
	int64_t created_at = e->created_at;
	int rc;
	enum store_result result = STORE_ERROR;

	if (!e->name[0]) {
		store_error("no engine name given");
		goto out;
	}
	if (created_at == STORE_UNSET || created_at == 0)
		created_at = clock_now_ms();
	s = store_conn_stmt(w, STORE_STMT_ENGINE_PUT, sql_engine_put);
	if (!s)
		goto out;
	result = store_bind_texts(w->db, s, engine_text_fields, N_FIELDS(engine_text_fields),
				  e, "engine");
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	if (sqlite3_bind_int64(s, ENGINE_CREATED_AT, created_at) != SQLITE_OK) {
		store_error_db(w->db, "cannot bind engine '%.64s'", e->name);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = store_write_failure(w->db, rc, "write", "engine", e->name);
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

enum store_result store_engine_delete(struct store *st, const char *name)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_ENGINE_DELETE, sql_engine_delete);
	if (!s)
		goto out;
	if (bind_key(w->db, s, 1, name, FIELD_SIZE(struct store_engine, name),
		     "engine name") != STORE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot delete engine '%.64s'", name);
		goto out;
	}
	if (sqlite3_changes(w->db) == 0) {
		store_error("no engine '%.64s'", name);
		result = STORE_NOT_FOUND;
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

/* One statement, so one read transaction.  The connection is held during the
 * callbacks: a callback must not call into the store (with a database in
 * memory that would deadlock on the writer's mutex). */
enum store_result store_engine_list(struct store *st, store_engine_cb cb, void *arg)
{
	struct store_conn *r = store_reader_take(st);
	struct store_engine e;
	sqlite3_stmt *s;
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(r, STORE_STMT_ENGINE_LIST, sql_engine_list);
	if (!s)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (engine_read(r->db, s, &e) != STORE_OK)
			goto out;
		if (cb(arg, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		store_error_db(r->db, "cannot list engines");
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}

/* Runs on a reader: the last committed state, which is all a caller could
 * act on anyway (a job may start right after). */
enum store_result store_engine_usage(struct store *st, const char *engine, int *n)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	*n = 0;
	s = store_conn_stmt(r, STORE_STMT_ENGINE_USAGE, sql_engine_usage);
	if (!s)
		goto out;
	if (bind_key(r->db, s, 1, engine, FIELD_SIZE(struct store_engine, name),
		     "engine name") != STORE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_error_db(r->db, "cannot count what lives on engine '%.64s'", engine);
		goto out;
	}
	*n = sqlite3_column_int(s, 0);
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}

/* --- copies of a checkpoint on other engines */

/* Reads the current row (columns COPY_COLUMNS) into *c. */
static enum store_result copy_read(sqlite3 *db, sqlite3_stmt *s, struct store_copy *c)
{
	int64_t rowid = sqlite3_column_int64(s, COPY_ROWID);
	int status;
	enum store_result result;

	memset(c, 0, sizeof(*c));
	result = store_read_texts(db, s, copy_text_fields, N_FIELDS(copy_text_fields), c,
				  "checkpoint copy", rowid);
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	status = store_status_parse((const char *)sqlite3_column_text(s, COPY_STATUS));
	if (status < 0) {
		store_error("copy of '%s' on engine '%s' has unknown status",
			    c->checkpoint_id, c->engine);
		goto out;
	}
	c->status = (enum store_status)status;
	c->bytes = store_column_optional(s, COPY_BYTES);
	c->created_at = sqlite3_column_int64(s, COPY_CREATED_AT);
	c->updated_at = sqlite3_column_int64(s, COPY_UPDATED_AT);
	result = STORE_OK;
out:
	return result;
}

/* c's created_at and updated_at are not read: both are now for a new row,
 * and a replaced row keeps its created_at (sql_copy_put). */
enum store_result store_copy_put(struct store *st, const struct store_copy *c)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s = NULL;
	int64_t now = clock_now_ms();
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	if (!c->checkpoint_id[0] || !c->engine[0]) {
		store_error("a copy needs a checkpoint id and an engine");
		goto out;
	}
	s = store_conn_stmt(w, STORE_STMT_COPY_PUT, sql_copy_put);
	if (!s)
		goto out;
	result = store_bind_texts(w->db, s, copy_text_fields, N_FIELDS(copy_text_fields), c,
				  "checkpoint copy");
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	/* a status outside the enum binds as "unknown", which the CHECK
	 * refuses; so does a negative size other than STORE_UNSET */
	rc |= sqlite3_bind_text(s, COPY_STATUS, store_status_name(c->status), -1,
				SQLITE_STATIC);
	rc |= store_bind_optional(s, COPY_BYTES, c->bytes);
	rc |= sqlite3_bind_int64(s, COPY_CREATED_AT, now);
	rc |= sqlite3_bind_int64(s, COPY_UPDATED_AT, now);
	if (rc != SQLITE_OK) {
		store_error_db(w->db, "cannot bind the copy of '%.40s' on engine '%.64s'",
			       c->checkpoint_id, c->engine);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = store_write_failure(w->db, rc, "write", "copy of checkpoint",
					     c->checkpoint_id);
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

/* Binds the key of a copy as ?1 and ?2. */
static enum store_result bind_copy_key(sqlite3 *db, sqlite3_stmt *s,
				       const char *checkpoint_id, const char *engine)
{
	enum store_result result;

	result = bind_key(db, s, COPY_CHECKPOINT_ID, checkpoint_id,
			  FIELD_SIZE(struct store_copy, checkpoint_id), "checkpoint id");
	if (result == STORE_OK)
		result = bind_key(db, s, COPY_ENGINE, engine,
				  FIELD_SIZE(struct store_copy, engine), "engine name");
	return result;
}

enum store_result store_copy_get(struct store *st, const char *checkpoint_id,
				 const char *engine, struct store_copy *out)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(r, STORE_STMT_COPY_GET, sql_copy_get);
	if (!s)
		goto out;
	if (bind_copy_key(r->db, s, checkpoint_id, engine) != STORE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_error("no copy of '%.40s' on engine '%.64s'", checkpoint_id, engine);
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		store_error_db(r->db, "cannot read the copy of '%.40s' on engine '%.64s'",
			       checkpoint_id, engine);
		goto out;
	}
	result = copy_read(r->db, s, out);
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}

enum store_result store_copy_delete(struct store *st, const char *checkpoint_id,
				    const char *engine)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_COPY_DELETE, sql_copy_delete);
	if (!s)
		goto out;
	if (bind_copy_key(w->db, s, checkpoint_id, engine) != STORE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot delete the copy of '%.40s' on engine '%.64s'",
			       checkpoint_id, engine);
		goto out;
	}
	if (sqlite3_changes(w->db) == 0) {
		store_error("no copy of '%.40s' on engine '%.64s'", checkpoint_id, engine);
		result = STORE_NOT_FOUND;
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

/* As store_engine_list(): one read transaction, and a callback must not call
 * into the store. */
enum store_result store_copy_list(struct store *st, const char *checkpoint_id,
				  store_copy_cb cb, void *arg)
{
	struct store_conn *r = store_reader_take(st);
	struct store_copy c;
	sqlite3_stmt *s;
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(r, STORE_STMT_COPY_LIST, sql_copy_list);
	if (!s)
		goto out;
	if (bind_key(r->db, s, COPY_CHECKPOINT_ID, checkpoint_id,
		     FIELD_SIZE(struct store_copy, checkpoint_id), "checkpoint id") != STORE_OK)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (copy_read(r->db, s, &c) != STORE_OK)
			goto out;
		if (cb(arg, &c) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		store_error_db(r->db, "cannot list the copies of '%.40s'", checkpoint_id);
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}

enum store_result store_copy_mark_interrupted(struct store_conn *w, int *count)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	*count = 0;
	s = store_conn_stmt(w, STORE_STMT_COPY_INTERRUPT, sql_copy_interrupt);
	if (!s)
		goto out;
	rc |= sqlite3_bind_text(s, 1, STORE_COPY_INTERRUPTED_MESSAGE, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_int64(s, 2, clock_now_ms());
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot mark interrupted copies");
		goto out;
	}
	*count = sqlite3_changes(w->db);
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	return result;
}
