/*
 * store_checkpoint.c - the checkpoints table: insert, update, get, delete,
 * list, the ready times restores report, and marking interrupted jobs at
 * open.
 *
 * Every statement names its columns in one order, the CK_* numbers below,
 * and the parameters of INSERT and UPDATE use the same numbers (?1 is id,
 * column 1), so one function binds a record and one reads it back.  Values
 * only ever reach SQLite as bound parameters (store_row.c).
 */
#include "store_int.h"
#include "clock.h"

#include <stddef.h>
#include <stdio.h>
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
	CK_CONFIG_JSON,
	CK_FILES_JSON,
	CK_READY_RESTORE_MS,
	CK_READY_COLD_MS,
	CK_ENGINE_KIND,
	CK_ARCHIVE_SHA256,
	CK_CRIU_STATS_JSON,
	CK_HOOKS_JSON,
	CK_HOOK_RESULTS_JSON,
	CK_MEMORY_BEFORE_HOOKS,
	CK_MEMORY_AT_DUMP,
	CK_T_BEFORE,
	CK_T_SETTLE
};

#define CK_COLUMNS                                                           \
	"seq, id, name, container_id, container_name, engine, status, "      \
	"leave_running, image_id, image_repository, image_tag, image_size, " \
	"size_bytes, directory, t_commit, t_checkpoint, t_measure, t_total, " \
	"created_at, updated_at, error_code, error_message, config_json, "   \
	"files_json, ready_restore_ms, ready_cold_ms, engine_kind, "         \
	"archive_sha256, criu_stats_json, hooks_json, hook_results_json, "   \
	"memory_before_hooks, memory_at_dump, t_before, t_settle"

/* The same columns for listings, without the two big texts (the container's
 * inspect and the file list, kilobytes each) that no listing shows. */
#define CK_LIST_COLUMNS                                                      \
	"seq, id, name, container_id, container_name, engine, status, "      \
	"leave_running, image_id, image_repository, image_tag, image_size, " \
	"size_bytes, directory, t_commit, t_checkpoint, t_measure, t_total, " \
	"created_at, updated_at, error_code, error_message, NULL, "          \
	"NULL, ready_restore_ms, ready_cold_ms, engine_kind, "                \
	"archive_sha256, criu_stats_json, hooks_json, NULL, "                \
	"memory_before_hooks, memory_at_dump, t_before, t_settle"

static const char sql_insert[] =
	"INSERT INTO checkpoints (id, name, container_id, container_name, "
	"engine, status, leave_running, image_id, image_repository, image_tag, "
	"image_size, size_bytes, directory, t_commit, t_checkpoint, t_measure, "
	"t_total, created_at, updated_at, error_code, error_message, config_json, "
	"files_json, ready_restore_ms, ready_cold_ms, engine_kind, "
	"archive_sha256, criu_stats_json, hooks_json, hook_results_json, "
	"memory_before_hooks, memory_at_dump, t_before, t_settle) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
	"?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
	"?29, ?30, ?31, ?32, ?33, ?34)";

/* Everything but seq, id and created_at, which never change; ?18 is unused.
 * RETURNING hands back what the caller's struct may lack. */
static const char sql_update[] =
	"UPDATE checkpoints SET name = ?2, container_id = ?3, "
	"container_name = ?4, engine = ?5, status = ?6, leave_running = ?7, "
	"image_id = ?8, image_repository = ?9, image_tag = ?10, "
	"image_size = ?11, size_bytes = ?12, directory = ?13, t_commit = ?14, "
	"t_checkpoint = ?15, t_measure = ?16, t_total = ?17, updated_at = ?19, "
	"error_code = ?20, error_message = ?21, config_json = ?22, "
	"files_json = ?23, ready_restore_ms = ?24, ready_cold_ms = ?25, "
	"engine_kind = ?26, archive_sha256 = ?27, criu_stats_json = ?28, "
	"hooks_json = ?29, hook_results_json = ?30, memory_before_hooks = ?31, "
	"memory_at_dump = ?32, t_before = ?33, t_settle = ?34 "
	"WHERE id = ?1 RETURNING seq, created_at";

static const char sql_get[] =
	"SELECT " CK_COLUMNS " FROM checkpoints WHERE id = ?1";

static const char sql_delete[] = "DELETE FROM checkpoints WHERE id = ?1";

static const char sql_interrupt[] =
	"UPDATE checkpoints SET status = 'failed', error_code = 'interrupted', "
	"error_message = ?1, updated_at = ?2 "
	"WHERE status IN ('pending', 'running')";

/* One statement per column: a column name cannot be a parameter. */
static const char sql_set_ready_restore[] =
	"UPDATE checkpoints SET ready_restore_ms = ?2, updated_at = ?3 "
	"WHERE id = ?1";
static const char sql_set_ready_cold[] =
	"UPDATE checkpoints SET ready_cold_ms = ?2, updated_at = ?3 "
	"WHERE id = ?1";

static const char *const list_conditions[STORE_CK_LIST_FILTERS] = {
	[STORE_LIST_BY_STATUS] = " AND status = ?3",
	[STORE_LIST_BY_CONTAINER] = " AND (container_id = ?4 OR container_name = ?4)",
	[STORE_LIST_BY_ENGINE] = " AND engine = ?5",
	[STORE_LIST_BY_SINCE] = " AND updated_at >= ?6",
};

static const struct store_list_query list_query = {
	STORE_STMT_CK_LIST,
	"SELECT " CK_LIST_COLUMNS " FROM checkpoints WHERE seq < ?1",
	list_conditions,
	STORE_CK_LIST_FILTERS,
	" ORDER BY seq DESC LIMIT ?2",
};

#define CK_TEXT(c, f) STORE_TEXT_FIELD(struct store_checkpoint, c, f)

static const struct store_text_field ck_text_fields[] = {
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
	CK_TEXT(CK_ENGINE_KIND, engine_kind),
	CK_TEXT(CK_ARCHIVE_SHA256, archive_sha256),
};

#define N_TEXT_FIELDS (sizeof(ck_text_fields) / sizeof(ck_text_fields[0]))

void store_checkpoint_init(struct store_checkpoint *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->seq = STORE_UNSET;
	ck->status = STORE_PENDING;
	ck->image_size = STORE_UNSET;
	ck->size_bytes = STORE_UNSET;
	ck->t_commit = STORE_UNSET;
	ck->t_checkpoint = STORE_UNSET;
	ck->t_measure = STORE_UNSET;
	ck->t_total = STORE_UNSET;
	ck->created_at = STORE_UNSET;
	ck->updated_at = STORE_UNSET;
	ck->ready_restore_ms = STORE_UNSET;
	ck->ready_cold_ms = STORE_UNSET;
	ck->memory_before_hooks = STORE_UNSET;
	ck->memory_at_dump = STORE_UNSET;
	ck->t_before = STORE_UNSET;
	ck->t_settle = STORE_UNSET;
	snprintf(ck->engine_kind, sizeof(ck->engine_kind), "docker");
}

void store_checkpoint_release(struct store_checkpoint *ck)
{
	free(ck->error_message);
	ck->error_message = NULL;
	free(ck->config_json);
	ck->config_json = NULL;
	free(ck->files_json);
	ck->files_json = NULL;
	free(ck->criu_stats_json);
	ck->criu_stats_json = NULL;
	free(ck->hooks_json);
	ck->hooks_json = NULL;
	free(ck->hook_results_json);
	ck->hook_results_json = NULL;
}

/* Binds every field of ck as parameters ?1..?34 (seq excepted).  ck must
 * outlive the statement's use: text is bound without a copy. */
static enum store_result bind_record(sqlite3 *db, sqlite3_stmt *s,
				     const struct store_checkpoint *ck)
{
	int rc = SQLITE_OK;
	enum store_result result;

	result = store_bind_texts(db, s, ck_text_fields, N_TEXT_FIELDS, ck,
				  "checkpoint");
	if (result != STORE_OK)
		goto out;
	rc |= sqlite3_bind_text(s, CK_STATUS, store_status_name(ck->status), -1,
				SQLITE_STATIC);
	rc |= sqlite3_bind_int(s, CK_LEAVE_RUNNING, ck->leave_running != 0);
	rc |= store_bind_optional(s, CK_IMAGE_SIZE, ck->image_size);
	rc |= store_bind_optional(s, CK_SIZE_BYTES, ck->size_bytes);
	rc |= store_bind_optional(s, CK_T_COMMIT, ck->t_commit);
	rc |= store_bind_optional(s, CK_T_CHECKPOINT, ck->t_checkpoint);
	rc |= store_bind_optional(s, CK_T_MEASURE, ck->t_measure);
	rc |= store_bind_optional(s, CK_T_TOTAL, ck->t_total);
	rc |= sqlite3_bind_int64(s, CK_CREATED_AT, ck->created_at);
	rc |= sqlite3_bind_int64(s, CK_UPDATED_AT, ck->updated_at);
	rc |= store_bind_heap(s, CK_ERROR_MESSAGE, ck->error_message);
	rc |= store_bind_heap(s, CK_CONFIG_JSON, ck->config_json);
	rc |= store_bind_heap(s, CK_FILES_JSON, ck->files_json);
	rc |= store_bind_optional(s, CK_READY_RESTORE_MS, ck->ready_restore_ms);
	rc |= store_bind_optional(s, CK_READY_COLD_MS, ck->ready_cold_ms);
	rc |= store_bind_heap(s, CK_CRIU_STATS_JSON, ck->criu_stats_json);
	rc |= store_bind_heap(s, CK_HOOKS_JSON, ck->hooks_json);
	rc |= store_bind_heap(s, CK_HOOK_RESULTS_JSON, ck->hook_results_json);
	rc |= store_bind_optional(s, CK_MEMORY_BEFORE_HOOKS, ck->memory_before_hooks);
	rc |= store_bind_optional(s, CK_MEMORY_AT_DUMP, ck->memory_at_dump);
	rc |= store_bind_optional(s, CK_T_BEFORE, ck->t_before);
	rc |= store_bind_optional(s, CK_T_SETTLE, ck->t_settle);
	if (rc != SQLITE_OK) {
		store_error_db(db, "cannot bind checkpoint '%.40s'", ck->id);
		result = STORE_ERROR;
	}
out:
	return result;
}

/* Reads the current row (columns CK_COLUMNS) into ck, freeing the heap
 * strings ck held. */
static enum store_result read_record(sqlite3 *db, sqlite3_stmt *s,
				     struct store_checkpoint *ck)
{
	int status;
	enum store_result result;

	store_checkpoint_release(ck);
	store_checkpoint_init(ck);
	ck->seq = sqlite3_column_int64(s, CK_SEQ);
	result = store_read_texts(db, s, ck_text_fields, N_TEXT_FIELDS, ck,
				  "checkpoint", ck->seq);
	if (result != STORE_OK)
		goto out;
	result = STORE_ERROR;
	status = store_status_parse((const char *)sqlite3_column_text(s, CK_STATUS));
	if (status < 0) {
		store_error("checkpoint '%s' has unknown status", ck->id);
		goto out;
	}
	ck->status = (enum store_status)status;
	ck->leave_running = sqlite3_column_int(s, CK_LEAVE_RUNNING) != 0;
	ck->image_size = store_column_optional(s, CK_IMAGE_SIZE);
	ck->size_bytes = store_column_optional(s, CK_SIZE_BYTES);
	ck->t_commit = store_column_optional(s, CK_T_COMMIT);
	ck->t_checkpoint = store_column_optional(s, CK_T_CHECKPOINT);
	ck->t_measure = store_column_optional(s, CK_T_MEASURE);
	ck->t_total = store_column_optional(s, CK_T_TOTAL);
	ck->created_at = sqlite3_column_int64(s, CK_CREATED_AT);
	ck->updated_at = sqlite3_column_int64(s, CK_UPDATED_AT);
	ck->ready_restore_ms = store_column_optional(s, CK_READY_RESTORE_MS);
	ck->ready_cold_ms = store_column_optional(s, CK_READY_COLD_MS);
	ck->memory_before_hooks = store_column_optional(s, CK_MEMORY_BEFORE_HOOKS);
	ck->memory_at_dump = store_column_optional(s, CK_MEMORY_AT_DUMP);
	ck->t_before = store_column_optional(s, CK_T_BEFORE);
	ck->t_settle = store_column_optional(s, CK_T_SETTLE);
	if (store_column_heap(s, CK_ERROR_MESSAGE, &ck->error_message) != 0 ||
	    store_column_heap(s, CK_CONFIG_JSON, &ck->config_json) != 0 ||
	    store_column_heap(s, CK_FILES_JSON, &ck->files_json) != 0 ||
	    store_column_heap(s, CK_CRIU_STATS_JSON, &ck->criu_stats_json) != 0 ||
	    store_column_heap(s, CK_HOOKS_JSON, &ck->hooks_json) != 0 ||
	    store_column_heap(s, CK_HOOK_RESULTS_JSON, &ck->hook_results_json) != 0) {
		store_error("out of memory reading checkpoint '%s'", ck->id);
		goto out;
	}
	result = STORE_OK;
out:
	if (result != STORE_OK)
		store_checkpoint_release(ck);
	return result;
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
		result = store_write_failure(w->db, rc, "insert", "checkpoint", ck->id);
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
		result = store_write_failure(w->db, rc, "update", "checkpoint", ck->id);
		goto out;
	}
	seq = sqlite3_column_int64(s, 0);
	created_at = sqlite3_column_int64(s, 1);
	/* run to the end so a failure to commit is seen here, not lost in
	 * the reset */
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = store_write_failure(w->db, rc, "update", "checkpoint", ck->id);
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

/* A single-column UPDATE rather than get, change, update: two restores of
 * one checkpoint finishing together would otherwise lose one's write, and
 * the checkpoint's other fields are not the restore's to rewrite. */
enum store_result store_checkpoint_set_ready(struct store *st, const char *id,
					     int cold, int64_t ms)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	if (cold)
		s = store_conn_stmt(w, STORE_STMT_CK_SET_READY_COLD, sql_set_ready_cold);
	else
		s = store_conn_stmt(w, STORE_STMT_CK_SET_READY_RESTORE,
				    sql_set_ready_restore);
	if (!s)
		goto out;
	rc |= sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc |= store_bind_optional(s, 2, ms);
	rc |= sqlite3_bind_int64(s, 3, clock_now_ms());
	if (rc != SQLITE_OK) {
		store_error_db(w->db, "cannot bind checkpoint '%.40s'", id);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		result = store_write_failure(w->db, rc, "set the ready time of",
					     "checkpoint", id);
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
	rc |= sqlite3_bind_text(s, 1, STORE_INTERRUPTED_MESSAGE, -1, SQLITE_STATIC);
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

/* The whole listing runs as one statement, hence one read transaction: a
 * page is a consistent snapshot even while jobs write.  The connection is
 * held during the callbacks, so a callback must not call into the store
 * (with a database in memory that would deadlock on the writer's mutex). */
enum store_result store_checkpoint_list(struct store *st,
					const struct store_checkpoint_filter *f,
					store_checkpoint_cb cb, void *arg,
					int64_t *next_cursor)
{
	struct store_list_params p = {
		.limit = f->limit,
		.cursor = f->cursor,
		.status = f->status,
		.container = f->container,
		.engine = f->engine,
		.updated_since = f->updated_since,
	};
	struct store_conn *r = NULL;
	struct store_checkpoint ck;
	sqlite3_stmt *s = NULL;
	int64_t next = 0;
	int v, rc, n = 0;
	enum store_result result = STORE_ERROR;

	store_checkpoint_init(&ck);
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
