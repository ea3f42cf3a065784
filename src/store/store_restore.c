/*
 * store_restore.c - the restores table (insert, update, get, delete, list,
 * counting a checkpoint's active restores, marking interrupted jobs at open)
 * and the engine_leaks tally.
 *
 * As in store_checkpoint.c, every statement names its columns in one order,
 * the RS_* numbers below, and INSERT and UPDATE use the same numbers for
 * their parameters, so one function binds a record and one reads it back.
 */
#include "store_int.h"
#include "clock.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Column numbers of RS_COLUMNS, and parameter numbers of INSERT/UPDATE. */
enum rs_column {
	RS_SEQ = 0,
	RS_ID,
	RS_CHECKPOINT_ID,
	RS_ENGINE,
	RS_CONTAINER_ID,
	RS_CONTAINER_NAME,
	RS_IN_PLACE,
	RS_COLD,
	RS_STATUS,
	RS_T_CREATE,
	RS_T_STAGE,
	RS_T_START,
	RS_T_READY,
	RS_T_TOTAL,
	RS_RETRIES,
	RS_CREATED_AT,
	RS_UPDATED_AT,
	RS_ERROR_CODE,
	RS_ERROR_MESSAGE,
	RS_REQUEST_JSON,
	RS_CRIU_STATS_JSON,
	RS_HOOK_RESULTS_JSON,
	RS_T_AFTER
};

#define RS_COLUMNS                                                        \
	"seq, id, checkpoint_id, engine, container_id, container_name, "  \
	"in_place, cold, status, t_create, t_stage, t_start, t_ready, "   \
	"t_total, retries, created_at, updated_at, error_code, "          \
	"error_message, request_json, criu_stats_json, hook_results_json, t_after"

static const char sql_insert[] =
	"INSERT INTO restores (id, checkpoint_id, engine, container_id, "
	"container_name, in_place, cold, status, t_create, t_stage, t_start, "
	"t_ready, t_total, retries, created_at, updated_at, error_code, "
	"error_message, request_json, criu_stats_json, hook_results_json, t_after) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	"?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)";

/* Everything but seq, id and created_at, which never change; ?15 is unused.
 * RETURNING hands back what the caller's struct may lack. */
static const char sql_update[] =
	"UPDATE restores SET checkpoint_id = ?2, engine = ?3, "
	"container_id = ?4, container_name = ?5, in_place = ?6, cold = ?7, "
	"status = ?8, t_create = ?9, t_stage = ?10, t_start = ?11, "
	"t_ready = ?12, t_total = ?13, retries = ?14, updated_at = ?16, "
	"error_code = ?17, error_message = ?18, request_json = ?19, "
	"criu_stats_json = ?20, hook_results_json = ?21, t_after = ?22 "
	"WHERE id = ?1 RETURNING seq, created_at";

static const char sql_get[] = "SELECT " RS_COLUMNS " FROM restores WHERE id = ?1";

static const char sql_delete[] = "DELETE FROM restores WHERE id = ?1";

static const char sql_interrupt[] =
	"UPDATE restores SET status = 'failed', error_code = 'interrupted', "
	"error_message = ?1, updated_at = ?2 "
	"WHERE status IN ('pending', 'running')";

static const char sql_count_active[] =
	"SELECT count(*) FROM restores "
	"WHERE checkpoint_id = ?1 AND status IN ('pending', 'running')";

static const char sql_leak_add[] =
	"INSERT INTO engine_leaks (engine, bytes, restores) VALUES (?1, ?2, 1) "
	"ON CONFLICT (engine) DO UPDATE SET bytes = bytes + excluded.bytes, "
	"restores = restores + 1";

static const char sql_leak_get[] =
	"SELECT bytes, restores FROM engine_leaks WHERE engine = ?1";

static const char *const list_conditions[STORE_RS_LIST_FILTERS] = {
	[STORE_LIST_BY_STATUS] = " AND status = ?3",
	[STORE_LIST_BY_CONTAINER] = " AND (container_id = ?4 OR container_name = ?4)",
	[STORE_LIST_BY_ENGINE] = " AND engine = ?5",
	[STORE_LIST_BY_SINCE] = " AND updated_at >= ?6",
	[STORE_LIST_BY_CHECKPOINT] = " AND checkpoint_id = ?7",
};

static const struct store_list_query list_query = {
	STORE_STMT_RS_LIST,
	"SELECT " RS_COLUMNS " FROM restores WHERE seq < ?1",
	list_conditions,
	STORE_RS_LIST_FILTERS,
	" ORDER BY seq DESC LIMIT ?2",
};

#define RS_TEXT(c, f) STORE_TEXT_FIELD(struct store_restore, c, f)

static const struct store_text_field rs_text_fields[] = {
	RS_TEXT(RS_ID, id),
	RS_TEXT(RS_CHECKPOINT_ID, checkpoint_id),
	RS_TEXT(RS_ENGINE, engine),
	RS_TEXT(RS_CONTAINER_ID, container_id),
	RS_TEXT(RS_CONTAINER_NAME, container_name),
	RS_TEXT(RS_ERROR_CODE, error_code),
};

#define N_TEXT_FIELDS (sizeof(rs_text_fields) / sizeof(rs_text_fields[0]))

void store_restore_init(struct store_restore *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->seq = STORE_UNSET;
	rs->status = STORE_PENDING;
	rs->t_create = STORE_UNSET;
	rs->t_stage = STORE_UNSET;
	rs->t_start = STORE_UNSET;
	rs->t_ready = STORE_UNSET;
	rs->t_total = STORE_UNSET;
	rs->t_after = STORE_UNSET;
	rs->created_at = STORE_UNSET;
	rs->updated_at = STORE_UNSET;
}

void store_restore_release(struct store_restore *rs)
{
	free(rs->error_message);
	rs->error_message = NULL;
	free(rs->request_json);
	rs->request_json = NULL;
	free(rs->criu_stats_json);
	rs->criu_stats_json = NULL;
	free(rs->hook_results_json);
	rs->hook_results_json = NULL;
}

/* Binds every field of rs as parameters ?1..?19 (seq excepted).  rs must
 * outlive the statement's use: text is bound without a copy. */
static enum store_result bind_record(sqlite3 *db, sqlite3_stmt *s,
				     const struct store_restore *rs)
{
	int rc = SQLITE_OK;
	enum store_result result;

	result = store_bind_texts(db, s, rs_text_fields, N_TEXT_FIELDS, rs,
				  "restore");
	if (result != STORE_OK)
		goto out;
	rc |= sqlite3_bind_int(s, RS_IN_PLACE, rs->in_place != 0);
	rc |= sqlite3_bind_int(s, RS_COLD, rs->cold != 0);
	rc |= sqlite3_bind_text(s, RS_STATUS, store_status_name(rs->status), -1,
				SQLITE_STATIC);
	rc |= store_bind_optional(s, RS_T_CREATE, rs->t_create);
	rc |= store_bind_optional(s, RS_T_STAGE, rs->t_stage);
	rc |= store_bind_optional(s, RS_T_START, rs->t_start);
	rc |= store_bind_optional(s, RS_T_READY, rs->t_ready);
	rc |= store_bind_optional(s, RS_T_TOTAL, rs->t_total);
	rc |= sqlite3_bind_int(s, RS_RETRIES, rs->retries);
	rc |= sqlite3_bind_int64(s, RS_CREATED_AT, rs->created_at);
	rc |= sqlite3_bind_int64(s, RS_UPDATED_AT, rs->updated_at);
	rc |= store_bind_heap(s, RS_ERROR_MESSAGE, rs->error_message);
	rc |= store_bind_heap(s, RS_REQUEST_JSON, rs->request_json);
	rc |= store_bind_heap(s, RS_CRIU_STATS_JSON, rs->criu_stats_json);
	rc |= store_bind_heap(s, RS_HOOK_RESULTS_JSON, rs->hook_results_json);
	rc |= store_bind_optional(s, RS_T_AFTER, rs->t_after);
	if (rc != SQLITE_OK) {
		store_error_db(db, "cannot bind restore '%.40s'", rs->id);
		result = STORE_ERROR;
	}
out:
	return result;
}

/* Reads the current row (columns RS_COLUMNS) into rs, freeing the heap
 * strings rs held. */
static enum store_result read_record(sqlite3 *db, sqlite3_stmt *s,
				     struct store_restore *rs)
{
	int status;
	enum store_result result;

	store_restore_release(rs);
	store_restore_init(rs);
	rs->seq = sqlite3_column_int64(s, RS_SEQ);
	result = store_read_texts(db, s, rs_text_fields, N_TEXT_FIELDS, rs,
				  "restore", rs->seq);
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	status = store_status_parse((const char *)sqlite3_column_text(s, RS_STATUS));
	if (status < 0) {
		store_error("restore '%s' has unknown status", rs->id);
		goto out;
	}
	rs->status = (enum store_status)status;
	rs->in_place = sqlite3_column_int(s, RS_IN_PLACE) != 0;
	rs->cold = sqlite3_column_int(s, RS_COLD) != 0;
	rs->t_create = store_column_optional(s, RS_T_CREATE);
	rs->t_stage = store_column_optional(s, RS_T_STAGE);
	rs->t_start = store_column_optional(s, RS_T_START);
	rs->t_ready = store_column_optional(s, RS_T_READY);
	rs->t_total = store_column_optional(s, RS_T_TOTAL);
	rs->t_after = store_column_optional(s, RS_T_AFTER);
	rs->retries = sqlite3_column_int(s, RS_RETRIES);
	rs->created_at = sqlite3_column_int64(s, RS_CREATED_AT);
	rs->updated_at = sqlite3_column_int64(s, RS_UPDATED_AT);
	if (store_column_heap(s, RS_ERROR_MESSAGE, &rs->error_message) != 0 ||
	    store_column_heap(s, RS_REQUEST_JSON, &rs->request_json) != 0 ||
	    store_column_heap(s, RS_CRIU_STATS_JSON, &rs->criu_stats_json) != 0 ||
	    store_column_heap(s, RS_HOOK_RESULTS_JSON, &rs->hook_results_json) != 0) {
		store_error("out of memory reading restore '%s'", rs->id);
		goto out;
	}
	result = STORE_OK;
out:
	if (result != STORE_OK)
		store_restore_release(rs);
	return result;
}

enum store_result store_restore_insert(struct store *st, struct store_restore *rs)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	int64_t now = clock_now_ms();
	int rc;
	enum store_result result = STORE_ERROR;

	if (rs->created_at == STORE_UNSET)
		rs->created_at = now;
	if (rs->updated_at == STORE_UNSET)
		rs->updated_at = now;
	s = store_conn_stmt(w, STORE_STMT_RS_INSERT, sql_insert);
	if (!s)
		goto out;
	result = bind_record(w->db, s, rs);
	if (result != STORE_OK)
		goto out;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = store_write_failure(w->db, rc, "insert", "restore", rs->id);
		goto out;
	}
	rs->seq = sqlite3_last_insert_rowid(w->db);
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

enum store_result store_restore_update(struct store *st, struct store_restore *rs)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	int64_t seq, created_at, updated_at = clock_now_ms();
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_RS_UPDATE, sql_update);
	if (!s)
		goto out;
	result = bind_record(w->db, s, rs);
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	if (sqlite3_bind_int64(s, RS_UPDATED_AT, updated_at) != SQLITE_OK) {
		store_error_db(w->db, "cannot bind restore '%.40s'", rs->id);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_error("no restore '%.40s'", rs->id);
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		result = store_write_failure(w->db, rc, "update", "restore", rs->id);
		goto out;
	}
	seq = sqlite3_column_int64(s, 0);
	created_at = sqlite3_column_int64(s, 1);
	/* run to the end so a failure to commit is seen here, not lost in
	 * the reset */
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = store_write_failure(w->db, rc, "update", "restore", rs->id);
		goto out;
	}
	rs->seq = seq;
	rs->created_at = created_at;
	rs->updated_at = updated_at;
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

enum store_result store_restore_get(struct store *st, const char *id,
				    struct store_restore *out)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	int rc;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(r, STORE_STMT_RS_GET, sql_get);
	if (!s)
		goto out;
	/* a copy: id may point into *out, which read_record() clears */
	if (sqlite3_bind_text(s, RS_ID, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind restore id");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_error("no restore '%.40s'", id);
		result = STORE_NOT_FOUND;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		store_error_db(r->db, "cannot read restore '%.40s'", id);
		goto out;
	}
	result = read_record(r->db, s, out);
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}

enum store_result store_restore_delete(struct store *st, const char *id)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_RS_DELETE, sql_delete);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		store_error_db(w->db, "cannot bind restore id");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot delete restore '%.40s'", id);
		goto out;
	}
	if (sqlite3_changes(w->db) == 0) {
		store_error("no restore '%.40s'", id);
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

enum store_result store_restore_mark_interrupted(struct store_conn *w, int *count)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	*count = 0;
	s = store_conn_stmt(w, STORE_STMT_RS_INTERRUPT, sql_interrupt);
	if (!s)
		goto out;
	rc |= sqlite3_bind_text(s, 1, STORE_INTERRUPTED_MESSAGE, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_int64(s, 2, clock_now_ms());
	if (rc != SQLITE_OK || sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot mark interrupted restores");
		goto out;
	}
	*count = sqlite3_changes(w->db);
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	return result;
}

/* Runs on a reader: it sees the last committed state, which is all a
 * caller could act on anyway (a restore may start right after). */
enum store_result store_restore_count_active(struct store *st,
					     const char *checkpoint_id, int *n)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	*n = 0;
	s = store_conn_stmt(r, STORE_STMT_RS_COUNT_ACTIVE, sql_count_active);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, checkpoint_id, -1, SQLITE_STATIC) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind checkpoint id");
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_ROW) {
		store_error_db(r->db, "cannot count the restores of checkpoint '%.40s'",
			       checkpoint_id);
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

/* The listing holds its connection during the callbacks, as
 * store_checkpoint_list() does: a callback must not call into the store. */
enum store_result store_restore_list(struct store *st,
				     const struct store_restore_filter *f,
				     store_restore_cb cb, void *arg,
				     int64_t *next_cursor)
{
	struct store_list_params p = {
		.limit = f->limit,
		.cursor = f->cursor,
		.status = f->status,
		.container = f->container,
		.engine = f->engine,
		.updated_since = f->updated_since,
		.checkpoint = f->checkpoint,
	};
	struct store_conn *r = NULL;
	struct store_restore rs;
	sqlite3_stmt *s = NULL;
	int64_t next = 0;
	int v, rc, n = 0;
	enum store_result result = STORE_ERROR;

	store_restore_init(&rs);
	if (store_list_check(&p) != STORE_OK)
		goto out;
	v = store_list_variant(&p);
	r = store_reader_take(st);
	s = store_list_stmt(r, &list_query, v);
	if (!s)
		goto out;
	if (store_list_bind(s, v, &p) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind the list filters");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == f->limit) {
			/* the extra row: there is a next page */
			next = rs.seq;
			break;
		}
		if (read_record(r->db, s, &rs) != STORE_OK)
			goto out;
		n++;
		if (cb(arg, &rs) != 0) {
			/* the caller stopped: resume after what it saw */
			next = rs.seq;
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_error_db(r->db, "cannot list restores");
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	if (r)
		store_reader_give(st, r);
	store_restore_release(&rs);
	if (next_cursor)
		*next_cursor = result == STORE_OK ? next : 0;
	return result;
}

/* One statement, so concurrent restores of one engine add up rather than
 * overwrite each other.  A negative size is a caller's bug (an unmeasured
 * STORE_UNSET, say) and would corrupt the tally: it is refused. */
enum store_result store_engine_leak_add(struct store *st, const char *engine,
					int64_t bytes)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	if (!engine || !engine[0]) {
		store_error("no engine named for the leak tally");
		goto out;
	}
	if (bytes < 0) {
		store_error("leak of %lld bytes on engine '%.64s' is negative",
			    (long long)bytes, engine);
		goto out;
	}
	s = store_conn_stmt(w, STORE_STMT_LEAK_ADD, sql_leak_add);
	if (!s)
		goto out;
	rc |= sqlite3_bind_text(s, 1, engine, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_int64(s, 2, bytes);
	if (rc != SQLITE_OK) {
		store_error_db(w->db, "cannot bind the leak of engine '%.64s'", engine);
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot add to the leak of engine '%.64s'", engine);
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_writer_give(st, w);
	return result;
}

enum store_result store_engine_leak_get(struct store *st, const char *engine,
					int64_t *bytes, int64_t *restores)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	int rc;
	enum store_result result = STORE_ERROR;

	*bytes = 0;
	*restores = 0;
	s = store_conn_stmt(r, STORE_STMT_LEAK_GET, sql_leak_get);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, engine, -1, SQLITE_STATIC) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind engine name");
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*bytes = sqlite3_column_int64(s, 0);
		*restores = sqlite3_column_int64(s, 1);
	} else if (rc != SQLITE_DONE) {
		store_error_db(r->db, "cannot read the leak of engine '%.64s'", engine);
		goto out;
	}
	result = STORE_OK;
out:
	if (s)
		store_stmt_done(s);
	store_reader_give(st, r);
	return result;
}
