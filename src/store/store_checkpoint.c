/*
 * store_checkpoint.c - the checkpoints table: insert, update, get, delete,
 * list, and marking interrupted jobs at open.
 *
 * Every statement names its columns in one order, the CK_* numbers below,
 * and the parameters of INSERT and UPDATE use the same numbers (?1 is id,
 * column 1), so one function binds a record and one reads it back.  Values
 * only ever reach SQLite as bound parameters.  A text field whose bound is
 * fixed travels with its length; one that does not fit its array on the way
 * back is an error rather than silently cut (the header promises no
 * truncation).
 */
#include "store_int.h"
#include "buf.h"
#include "clock.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Column numbers of CK_COLUMNS, and parameter numbers of INSERT/UPDATE. */
enum ck_column {
	CK_SEQ = 0,
	CK_ID,
	CK_NAME,
	CK_CONTAINER_ID,
	CK_CONTAINER_NAME,
	CK_ENGINE,
	CK_STATUS,
	CK_LEAVE_RUNNING,
	CK_IMAGE_ID,
	CK_IMAGE_REPOSITORY,
	CK_IMAGE_TAG,
	CK_IMAGE_SIZE,
	CK_SIZE_BYTES,
	CK_DIRECTORY,
	CK_T_COMMIT,
	CK_T_CHECKPOINT,
	CK_T_MEASURE,
	CK_T_TOTAL,
	CK_CREATED_AT,
	CK_UPDATED_AT,
	CK_ERROR_CODE,
	CK_ERROR_MESSAGE,
	CK_CONFIG_JSON
};

#define CK_COLUMNS                                                           \
	"seq, id, name, container_id, container_name, engine, status, "      \
	"leave_running, image_id, image_repository, image_tag, image_size, " \
	"size_bytes, directory, t_commit, t_checkpoint, t_measure, t_total, " \
	"created_at, updated_at, error_code, error_message, config_json"

static const char sql_insert[] =
	"INSERT INTO checkpoints (id, name, container_id, container_name, "
	"engine, status, leave_running, image_id, image_repository, image_tag, "
	"image_size, size_bytes, directory, t_commit, t_checkpoint, t_measure, "
	"t_total, created_at, updated_at, error_code, error_message, config_json) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	"?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";

/* Everything but seq, id and created_at, which never change; ?18 is unused.
 * RETURNING hands back what the caller's struct may lack. */
static const char sql_update[] =
	"UPDATE checkpoints SET name = ?2, container_id = ?3, "
	"container_name = ?4, engine = ?5, status = ?6, leave_running = ?7, "
	"image_id = ?8, image_repository = ?9, image_tag = ?10, "
	"image_size = ?11, size_bytes = ?12, directory = ?13, t_commit = ?14, "
	"t_checkpoint = ?15, t_measure = ?16, t_total = ?17, updated_at = ?19, "
	"error_code = ?20, error_message = ?21, config_json = ?22 "
	"WHERE id = ?1 RETURNING seq, created_at";

static const char sql_get[] =
	"SELECT " CK_COLUMNS " FROM checkpoints WHERE id = ?1";

static const char sql_delete[] = "DELETE FROM checkpoints WHERE id = ?1";

static const char sql_interrupt[] =
	"UPDATE checkpoints SET status = 'failed', error_code = 'interrupted', "
	"error_message = ?1, updated_at = ?2 "
	"WHERE status IN ('pending', 'running')";

/* The list query is these pieces: the head, one condition per filter
 * present (bit i of the variant for list_filters[i]), the tail.  Only fixed
 * text is joined; the values are parameters ?1..?6. */
enum list_param {
	LIST_CURSOR = 1,
	LIST_LIMIT,
	LIST_STATUS,
	LIST_CONTAINER,
	LIST_ENGINE,
	LIST_SINCE
};

static const char list_head[] =
	"SELECT " CK_COLUMNS " FROM checkpoints WHERE seq < ?1";
static const char *const list_filters[STORE_LIST_FILTERS] = {
	" AND status = ?3",
	" AND (container_id = ?4 OR container_name = ?4)",
	" AND engine = ?5",
	" AND updated_at >= ?6",
};
static const char list_tail[] = " ORDER BY seq DESC LIMIT ?2";

#define LIST_LIMIT_MAX 1000

/* The fixed-size text fields, for binding and reading in one loop. */
struct ck_text_field {
	enum ck_column col;
	size_t offset;
	size_t size;
	const char *name;
};

#define CK_TEXT(c, f)                                       \
	{ c, offsetof(struct store_checkpoint, f),          \
	  sizeof(((struct store_checkpoint *)0)->f), #f }

static const struct ck_text_field ck_text_fields[] = {
	CK_TEXT(CK_ID, id),
	CK_TEXT(CK_NAME, name),
	CK_TEXT(CK_CONTAINER_ID, container_id),
	CK_TEXT(CK_CONTAINER_NAME, container_name),
	CK_TEXT(CK_ENGINE, engine),
	CK_TEXT(CK_IMAGE_ID, image_id),
	CK_TEXT(CK_IMAGE_REPOSITORY, image_repository),
	CK_TEXT(CK_IMAGE_TAG, image_tag),
	CK_TEXT(CK_DIRECTORY, directory),
	CK_TEXT(CK_ERROR_CODE, error_code),
};

#define N_TEXT_FIELDS (sizeof(ck_text_fields) / sizeof(ck_text_fields[0]))

/* Binds v, or NULL when it is STORE_UNSET. */
static int bind_optional(sqlite3_stmt *s, int i, int64_t v)
{
	if (v == STORE_UNSET)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, v);
}

/* Binds a heap string, NULL as NULL. */
static int bind_heap(sqlite3_stmt *s, int i, const char *v)
{
	if (!v)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Binds every field of ck as parameters ?1..?22 (seq excepted).  The text
 * is bound SQLITE_STATIC: ck outlives the statement's use.  An array with
 * no NUL in it is a caller's bug; it is refused, not stored cut. */
static enum store_result bind_record(sqlite3 *db, sqlite3_stmt *s,
				     const struct store_checkpoint *ck)
{
	const struct ck_text_field *f;
	const char *text;
	size_t i, len;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	for (i = 0; i < N_TEXT_FIELDS; i++) {
		f = &ck_text_fields[i];
		text = (const char *)ck + f->offset;
		len = strnlen(text, f->size);
		if (len == f->size) {
			store_error("field '%s' of checkpoint is not terminated",
				    f->name);
			goto out;
		}
		rc |= sqlite3_bind_text(s, (int)f->col, text, (int)len, SQLITE_STATIC);
	}
	rc |= sqlite3_bind_text(s, CK_STATUS, store_status_name(ck->status), -1,
				SQLITE_STATIC);
	rc |= sqlite3_bind_int(s, CK_LEAVE_RUNNING, ck->leave_running != 0);
	rc |= bind_optional(s, CK_IMAGE_SIZE, ck->image_size);
	rc |= bind_optional(s, CK_SIZE_BYTES, ck->size_bytes);
	rc |= bind_optional(s, CK_T_COMMIT, ck->t_commit);
	rc |= bind_optional(s, CK_T_CHECKPOINT, ck->t_checkpoint);
	rc |= bind_optional(s, CK_T_MEASURE, ck->t_measure);
	rc |= bind_optional(s, CK_T_TOTAL, ck->t_total);
	rc |= sqlite3_bind_int64(s, CK_CREATED_AT, ck->created_at);
	rc |= sqlite3_bind_int64(s, CK_UPDATED_AT, ck->updated_at);
	rc |= bind_heap(s, CK_ERROR_MESSAGE, ck->error_message);
	rc |= bind_heap(s, CK_CONFIG_JSON, ck->config_json);
	if (rc != SQLITE_OK) {
		store_error_db(db, "cannot bind checkpoint '%.40s'", ck->id);
		goto out;
	}
	result = STORE_OK;
out:
	return result;
}

/* Column col as an int64, STORE_UNSET for NULL. */
static int64_t column_optional(sqlite3_stmt *s, int col)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return STORE_UNSET;
	return sqlite3_column_int64(s, col);
}

/* Copies column col into a fresh heap string; *out is NULL for NULL. */
static int column_heap(sqlite3_stmt *s, int col, char **out)
{
	const unsigned char *text;
	int len;

	*out = NULL;
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return 0;
	text = sqlite3_column_text(s, col);
	len = sqlite3_column_bytes(s, col);
	if (!text)
		return -1;
	*out = malloc((size_t)len + 1);
	if (!*out)
		return -1;
	memcpy(*out, text, (size_t)len);
	(*out)[len] = '\0';
	return 0;
}

/* Reads the current row (columns CK_COLUMNS) into ck, freeing the heap
 * strings ck held. */
static enum store_result read_record(sqlite3 *db, sqlite3_stmt *s,
				     struct store_checkpoint *ck)
{
	const struct ck_text_field *f;
	const unsigned char *text;
	char *dst;
	size_t i, len;
	int status;
	enum store_result result = STORE_ERROR;

	store_checkpoint_release(ck);
	store_checkpoint_init(ck);
	ck->seq = sqlite3_column_int64(s, CK_SEQ);
	for (i = 0; i < N_TEXT_FIELDS; i++) {
		f = &ck_text_fields[i];
		dst = (char *)ck + f->offset;
		text = sqlite3_column_text(s, (int)f->col);
		len = (size_t)sqlite3_column_bytes(s, (int)f->col);
		if (!text && sqlite3_errcode(db) == SQLITE_NOMEM) {
			store_error("out of memory reading checkpoint %lld",
				    (long long)ck->seq);
			goto out;
		}
		if (len >= f->size) {
			store_error("field '%s' of checkpoint %lld is too long",
				    f->name, (long long)ck->seq);
			goto out;
		}
		if (len)
			memcpy(dst, text, len);
		dst[len] = '\0';
	}
	text = sqlite3_column_text(s, CK_STATUS);
	status = store_status_parse((const char *)text);
	if (status < 0) {
		store_error("checkpoint '%s' has unknown status", ck->id);
		goto out;
	}
	ck->status = (enum store_status)status;
	ck->leave_running = sqlite3_column_int(s, CK_LEAVE_RUNNING) != 0;
	ck->image_size = column_optional(s, CK_IMAGE_SIZE);
	ck->size_bytes = column_optional(s, CK_SIZE_BYTES);
	ck->t_commit = column_optional(s, CK_T_COMMIT);
	ck->t_checkpoint = column_optional(s, CK_T_CHECKPOINT);
	ck->t_measure = column_optional(s, CK_T_MEASURE);
	ck->t_total = column_optional(s, CK_T_TOTAL);
	ck->created_at = sqlite3_column_int64(s, CK_CREATED_AT);
	ck->updated_at = sqlite3_column_int64(s, CK_UPDATED_AT);
	if (column_heap(s, CK_ERROR_MESSAGE, &ck->error_message) != 0 ||
	    column_heap(s, CK_CONFIG_JSON, &ck->config_json) != 0) {
		store_error("out of memory reading checkpoint '%s'", ck->id);
		goto out;
	}
	result = STORE_OK;
out:
	if (result != STORE_OK)
		store_checkpoint_release(ck);
	return result;
}

/* The result of a failed write step: a uniqueness rule is a conflict the
 * caller can act on, anything else (a CHECK, I/O) is an error. */
static enum store_result write_failure(sqlite3 *db, int rc, const char *what,
				       const char *id)
{
	store_error_db(db, "cannot %s checkpoint '%.40s'", what, id);
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_CONFLICT;
	return STORE_ERROR;
}

enum store_result store_checkpoint_insert(struct store *st,
					  struct store_checkpoint *ck)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	int64_t now = clock_now_ms();
	int rc;
	enum store_result result = STORE_ERROR;

	if (ck->created_at == STORE_UNSET)
		ck->created_at = now;
	if (ck->updated_at == STORE_UNSET)
		ck->updated_at = now;
	s = store_conn_stmt(w, STORE_STMT_CK_INSERT, sql_insert);
	if (!s)
		goto out;
	result = bind_record(w->db, s, ck);
	if (result != STORE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = write_failure(w->db, rc, "insert", ck->id);
		goto out;
	}
	ck->seq = sqlite3_last_insert_rowid(w->db);
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

enum store_result store_checkpoint_update(struct store *st,
					  struct store_checkpoint *ck)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	int64_t seq, created_at, updated_at = clock_now_ms();
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_CK_UPDATE, sql_update);
	if (!s)
		goto out;
	result = bind_record(w->db, s, ck);
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	if (sqlite3_bind_int64(s, CK_UPDATED_AT, updated_at) != SQLITE_OK) {
		store_error_db(w->db, "cannot bind checkpoint '%.40s'", ck->id);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_error("no checkpoint '%.40s'", ck->id);
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		result = write_failure(w->db, rc, "update", ck->id);
		goto out;
	}
	seq = sqlite3_column_int64(s, 0);
	created_at = sqlite3_column_int64(s, 1);
	/* run to the end so a failure to commit is seen here, not lost in
	 * the reset */
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = write_failure(w->db, rc, "update", ck->id);
		goto out;
	}
	ck->seq = seq;
	ck->created_at = created_at;
	ck->updated_at = updated_at;
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

enum store_result store_checkpoint_get(struct store *st, const char *id,
				       struct store_checkpoint *out)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(r, STORE_STMT_CK_GET, sql_get);
	if (!s)
		goto out;
	/* a copy: id may point into *out, which read_record() clears */
	if (sqlite3_bind_text(s, CK_ID, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind checkpoint id");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_error("no checkpoint '%.40s'", id);
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		store_error_db(r->db, "cannot read checkpoint '%.40s'", id);
		goto out;
	}
	result = read_record(r->db, s, out);
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}

enum store_result store_checkpoint_delete(struct store *st, const char *id)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_CK_DELETE, sql_delete);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		store_error_db(w->db, "cannot bind checkpoint id");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot delete checkpoint '%.40s'", id);
		goto out;
	}
	if (sqlite3_changes(w->db) == 0) {
		store_error("no checkpoint '%.40s'", id);
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

enum store_result store_checkpoint_mark_interrupted(struct store_conn *w,
						    int *count)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	*count = 0;
	s = store_conn_stmt(w, STORE_STMT_CK_INTERRUPT, sql_interrupt);
	if (!s)
		goto out;
	rc |= sqlite3_bind_text(s, 1, "the service stopped while this job was running",
				-1, SQLITE_STATIC);
	rc |= sqlite3_bind_int64(s, 2, clock_now_ms());
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot mark interrupted checkpoints");
		goto out;
	}
	*count = sqlite3_changes(w->db);
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	return result;
}

/* Which filters of f are present, as the list variant's bits. */
static int list_variant(const struct store_checkpoint_filter *f)
{
	int v = 0;

	if (f->status >= 0)
		v |= 1 << 0;
	if (f->container && f->container[0])
		v |= 1 << 1;
	if (f->engine && f->engine[0])
		v |= 1 << 2;
	if (f->updated_since > 0)
		v |= 1 << 3;
	return v;
}

/* The list statement for variant v on c, built from the fixed pieces the
 * first time c needs it. */
static sqlite3_stmt *list_stmt(struct store_conn *c, int v)
{
	enum store_stmt_id id = (enum store_stmt_id)(STORE_STMT_CK_LIST + v);
	struct buf sql;
	sqlite3_stmt *s = NULL;
	int i;
	enum buf_result br;

	buf_init(&sql, BUF_LIMIT_SMALL);
	if (c->stmt[id]) {
		s = c->stmt[id];
		goto out;
	}
	br = buf_adds(&sql, list_head);
	for (i = 0; i < STORE_LIST_FILTERS; i++)
		if (br == BUF_OK && (v & (1 << i)))
			br = buf_adds(&sql, list_filters[i]);
	if (br == BUF_OK)
		br = buf_adds(&sql, list_tail);
	if (br != BUF_OK) {
		store_error("out of memory building the list query");
		goto out;
	}
	s = store_conn_stmt(c, id, buf_str(&sql));
out:
	buf_release(&sql);
	return s;
}

/* Binds f's values; variant v says which parameters the statement has. */
static int list_bind(sqlite3_stmt *s, int v,
		     const struct store_checkpoint_filter *f)
{
	int rc = SQLITE_OK;

	rc |= sqlite3_bind_int64(s, LIST_CURSOR,
				 f->cursor > 0 ? f->cursor : INT64_MAX);
	/* one more than asked, to know whether a next page exists */
	rc |= sqlite3_bind_int(s, LIST_LIMIT, f->limit + 1);
	if (v & (1 << 0))
		rc |= sqlite3_bind_text(s, LIST_STATUS,
					store_status_name((enum store_status)f->status),
					-1, SQLITE_STATIC);
	if (v & (1 << 1))
		rc |= sqlite3_bind_text(s, LIST_CONTAINER, f->container, -1,
					SQLITE_STATIC);
	if (v & (1 << 2))
		rc |= sqlite3_bind_text(s, LIST_ENGINE, f->engine, -1, SQLITE_STATIC);
	if (v & (1 << 3))
		rc |= sqlite3_bind_int64(s, LIST_SINCE, f->updated_since);
	return rc;
}

/* The whole listing runs as one statement, hence one read transaction: a
 * page is a consistent snapshot even while jobs write.  The connection is
 * held during the callbacks, so a callback must not call into the store
 * (with a database in memory that would deadlock on the writer's mutex). */
enum store_result store_checkpoint_list(struct store *st,
					const struct store_checkpoint_filter *f,
					store_checkpoint_cb cb, void *arg,
					int64_t *next_cursor)
{
	struct store_conn *r = NULL;
	struct store_checkpoint ck;
	sqlite3_stmt *s = NULL;
	int64_t next = 0;
	int v, rc, n = 0;
	enum store_result result = STORE_ERROR;

	store_checkpoint_init(&ck);
	if (f->limit < 1 || f->limit > LIST_LIMIT_MAX) {
		store_error("list limit %d is outside 1..%d", f->limit,
			    LIST_LIMIT_MAX);
		goto out;
	}
	if (f->status > STORE_FAILED) {
		store_error("list status filter %d is unknown", f->status);
		goto out;
	}
	v = list_variant(f);
	r = store_reader_take(st);
	s = list_stmt(r, v);
	if (!s)
		goto out;
	if (list_bind(s, v, f) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind the list filters");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == f->limit) {
			/* the extra row: there is a next page */
			next = ck.seq;
			break;
		}
		if (read_record(r->db, s, &ck) != STORE_OK)
			goto out;
		n++;
		if (cb(arg, &ck) != 0) {
			/* the caller stopped: resume after what it saw */
			next = ck.seq;
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_error_db(r->db, "cannot list checkpoints");
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	if (r)
		store_reader_give(st, r);
	store_checkpoint_release(&ck);
	if (next_cursor)
		*next_cursor = result == STORE_OK ? next : 0;
	return result;
}
