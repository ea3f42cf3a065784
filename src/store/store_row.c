/*
 * store_row.c - moving records between structs and statements, for every
 * table of the store: binding fields as parameters, reading columns back,
 * classifying a failed write, and building and binding the list queries.
 *
 * Values only ever reach SQLite as bound parameters.  A text field whose
 * bound is fixed travels with its length; one that does not fit its array
 * on the way back is an error rather than silently cut.
 */
#include "store_int.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum store_result store_bind_texts(sqlite3 *db, sqlite3_stmt *s,
				   const struct store_text_field *fields,
				   size_t n, const void *record,
				   const char *what)
{
	const struct store_text_field *f;
	const char *text;
	size_t i, len;
	enum store_result result = STORE_ERROR;

	for (i = 0; i < n; i++) {
		f = &fields[i];
		text = (const char *)record + f->offset;
		len = strnlen(text, f->size);
		if (len == f->size) {
			store_error("field '%s' of %s is not terminated", f->name,
				    what);
			goto out;
		}
		if (sqlite3_bind_text(s, f->col, text, (int)len, SQLITE_STATIC) !=
		    SQLITE_OK) {
			store_error_db(db, "cannot bind field '%s' of %s", f->name,
				       what);
			goto out;
		}
	}
	result = STORE_OK;
out:
	return result;
}

enum store_result store_read_texts(sqlite3 *db, sqlite3_stmt *s,
				   const struct store_text_field *fields,
				   size_t n, void *record, const char *what,
				   int64_t seq)
{
	const struct store_text_field *f;
	const unsigned char *text;
	char *dst;
	size_t i, len;
	enum store_result result = STORE_ERROR;

	for (i = 0; i < n; i++) {
		f = &fields[i];
		dst = (char *)record + f->offset;
		text = sqlite3_column_text(s, f->col);
		len = (size_t)sqlite3_column_bytes(s, f->col);
		if (!text && sqlite3_errcode(db) == SQLITE_NOMEM) {
			store_error("out of memory reading %s %lld", what,
				    (long long)seq);
			goto out;
		}
		if (len >= f->size) {
			store_error("field '%s' of %s %lld is too long", f->name,
				    what, (long long)seq);
			goto out;
		}
		if (len)
			memcpy(dst, text, len);
		dst[len] = '\0';
	}
	result = STORE_OK;
out:
	return result;
}

int store_bind_optional(sqlite3_stmt *s, int i, int64_t v)
{
	if (v == STORE_UNSET)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, v);
}

int store_bind_heap(sqlite3_stmt *s, int i, const char *v)
{
	if (!v)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

int64_t store_column_optional(sqlite3_stmt *s, int col)
{
	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return STORE_UNSET;
	return sqlite3_column_int64(s, col);
}

int store_column_heap(sqlite3_stmt *s, int col, char **out)
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

enum store_result store_write_failure(sqlite3 *db, int rc, const char *verb,
				      const char *what, const char *id)
{
	store_error_db(db, "cannot %s %s '%.40s'", verb, what, id);
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_CONFLICT;
	return STORE_ERROR;
}

enum store_result store_list_check(const struct store_list_params *p)
{
	if (p->limit < 1 || p->limit > STORE_LIST_LIMIT_MAX) {
		store_error("list limit %d is outside 1..%d", p->limit,
			    STORE_LIST_LIMIT_MAX);
		return STORE_ERROR;
	}
	if (p->status > STORE_FAILED) {
		store_error("list status filter %d is unknown", p->status);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_list_variant(const struct store_list_params *p)
{
	int v = 0;

	if (p->status >= 0)
		v |= 1 << STORE_LIST_BY_STATUS;
	if (p->container && p->container[0])
		v |= 1 << STORE_LIST_BY_CONTAINER;
	if (p->engine && p->engine[0])
		v |= 1 << STORE_LIST_BY_ENGINE;
	if (p->updated_since > 0)
		v |= 1 << STORE_LIST_BY_SINCE;
	if (p->checkpoint && p->checkpoint[0])
		v |= 1 << STORE_LIST_BY_CHECKPOINT;
	return v;
}

sqlite3_stmt *store_list_stmt(struct store_conn *c,
			      const struct store_list_query *q, int v)
{
	enum store_stmt_id id = (enum store_stmt_id)(q->first + v);
	struct buf sql;
	sqlite3_stmt *s = NULL;
	int i;
	enum buf_result br;

	buf_init(&sql, BUF_LIMIT_SMALL);
	if (v < 0 || v >= (1 << q->nconditions)) {
		/* a filter this table does not have: a bug of ours */
		store_error("list variant %d has a filter the table lacks", v);
		goto out;
	}
	if (c->stmt[id]) {
		s = c->stmt[id];
		goto out;
	}
	br = buf_adds(&sql, q->head);
	for (i = 0; i < q->nconditions; i++)
		if (br == BUF_OK && (v & (1 << i)))
			br = buf_adds(&sql, q->conditions[i]);
	if (br == BUF_OK)
		br = buf_adds(&sql, q->tail);
	if (br != BUF_OK) {
		store_error("out of memory building the list query");
		goto out;
	}
	s = store_conn_stmt(c, id, buf_str(&sql));
out:
	buf_release(&sql);
	return s;
}

int store_list_bind(sqlite3_stmt *s, int v, const struct store_list_params *p)
{
	int rc = SQLITE_OK;

	rc |= sqlite3_bind_int64(s, STORE_LIST_P_CURSOR,
				 p->cursor > 0 ? p->cursor : INT64_MAX);
	rc |= sqlite3_bind_int(s, STORE_LIST_P_LIMIT, p->limit + 1);
	if (v & (1 << STORE_LIST_BY_STATUS))
		rc |= sqlite3_bind_text(s, STORE_LIST_P_STATUS,
					store_status_name((enum store_status)p->status),
					-1, SQLITE_STATIC);
	if (v & (1 << STORE_LIST_BY_CONTAINER))
		rc |= sqlite3_bind_text(s, STORE_LIST_P_CONTAINER, p->container, -1,
					SQLITE_STATIC);
	if (v & (1 << STORE_LIST_BY_ENGINE))
		rc |= sqlite3_bind_text(s, STORE_LIST_P_ENGINE, p->engine, -1,
					SQLITE_STATIC);
	if (v & (1 << STORE_LIST_BY_SINCE))
		rc |= sqlite3_bind_int64(s, STORE_LIST_P_SINCE, p->updated_since);
	if (v & (1 << STORE_LIST_BY_CHECKPOINT))
		rc |= sqlite3_bind_text(s, STORE_LIST_P_CHECKPOINT, p->checkpoint, -1,
					SQLITE_STATIC);
	return rc;
}
