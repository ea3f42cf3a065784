/*
 * store_diagnosis.c - the diagnoses table (sql/003_diagnoses.sql): the
 * explanation of a failed job, kept beside its record.
 */
#include "store_int.h"
#include "clock.h"

#include <stdlib.h>
#include <string.h>

static const char sql_put[] =
	"INSERT INTO diagnoses (record_id, hint, criu_line, log_tail, log, created_at) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
	"ON CONFLICT(record_id) DO UPDATE SET hint = excluded.hint, "
	"criu_line = excluded.criu_line, log_tail = excluded.log_tail, log = excluded.log, "
	"created_at = excluded.created_at";
static const char sql_get[] =
	"SELECT hint, criu_line, log_tail, CASE WHEN ?2 THEN log END "
	"FROM diagnoses WHERE record_id = ?1";
static const char sql_delete[] = "DELETE FROM diagnoses WHERE record_id = ?1";

void store_diagnosis_release(struct store_diagnosis *d)
{
	free(d->hint);
	free(d->criu_line);
	free(d->log_tail);
	free(d->log);
	memset(d, 0, sizeof(*d));
}

enum store_result store_diagnosis_put(struct store *st, const char *id, const char *hint,
				      const char *criu_line, const char *log_tail,
				      const char *log, size_t log_len)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	int rc = SQLITE_OK;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_DIAG_PUT, sql_put);
	if (!s)
		goto out;
	rc |= sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(s, 2, hint ? hint : "", -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(s, 3, criu_line ? criu_line : "", -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(s, 4, log_tail ? log_tail : "", -1, SQLITE_STATIC);
	if (log)
		rc |= sqlite3_bind_text(s, 5, log, (int)log_len, SQLITE_STATIC);
	else
		rc |= sqlite3_bind_null(s, 5);
	rc |= sqlite3_bind_int64(s, 6, clock_now_ms());
	if (rc != SQLITE_OK) {
		store_error_db(w->db, "cannot bind the diagnosis of '%.40s'", id);
		goto done;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot write the diagnosis of '%.40s'", id);
		goto done;
	}
	result = STORE_OK;
done:
	store_stmt_done(s);
out:
	store_writer_give(st, w);
	return result;
}

/* A copy of text column col, "" for NULL; -1 when out of memory. */
static int column_dup(sqlite3_stmt *s, int col, char **out, size_t *len)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);

	*out = malloc(n + 1);
	if (!*out)
		return -1;
	if (t)
		memcpy(*out, t, n);
	(*out)[n] = '\0';
	if (len)
		*len = n;
	return 0;
}

enum store_result store_diagnosis_get(struct store *st, const char *id, int with_log,
				      struct store_diagnosis *out)
{
	struct store_conn *r = store_reader_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;
	int rc;

	memset(out, 0, sizeof(*out));
	s = store_conn_stmt(r, STORE_STMT_DIAG_GET, sql_get);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(s, 2, with_log ? 1 : 0) != SQLITE_OK) {
		store_error_db(r->db, "cannot bind the diagnosis id");
		goto done;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		result = STORE_NOT_FOUND;
		goto done;
	}
	if (rc != SQLITE_ROW) {
		store_error_db(r->db, "cannot read the diagnosis of '%.40s'", id);
		goto done;
	}
	if (column_dup(s, 0, &out->hint, NULL) || column_dup(s, 1, &out->criu_line, NULL) ||
	    column_dup(s, 2, &out->log_tail, NULL) ||
	    (sqlite3_column_type(s, 3) != SQLITE_NULL &&
	     column_dup(s, 3, &out->log, &out->log_len))) {
		store_diagnosis_release(out);
		store_error("out of memory reading the diagnosis of '%.40s'", id);
		goto done;
	}
	result = STORE_OK;
done:
	store_stmt_done(s);
out:
	store_reader_give(st, r);
	return result;
}

enum store_result store_diagnosis_delete(struct store *st, const char *id)
{
	struct store_conn *w = store_writer_take(st);
	sqlite3_stmt *s;
	enum store_result result = STORE_ERROR;

	s = store_conn_stmt(w, STORE_STMT_DIAG_DELETE, sql_delete);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		store_error_db(w->db, "cannot delete the diagnosis of '%.40s'", id);
		goto done;
	}
	result = STORE_OK;
done:
	store_stmt_done(s);
out:
	store_writer_give(st, w);
	return result;
}
