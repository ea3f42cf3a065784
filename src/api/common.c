/*
 * common.c - strict input reading and the error-code table.
 *
 * Bad input is always a 400 that names the field or parameter and says
 * why: invalid JSON (with the position), a member that is not allowed, the
 * wrong type, a string too long or too short or holding a NUL byte.
 */
#include "api/api_int.h"
#include "api/cache.h"
#include "buf.h"
#include "clock.h"
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *code;
	unsigned status;
} code_status[] = {
	{"not_found", 404},
	{"engine_not_found", 404},
	{"container_not_found", 404},
	{"checkpoint_not_found", 404},
	{"container_not_running", 409},
	{"name_conflict", 409},
	{"checkpoint_busy", 409},
	{"checkpoint_not_ready", 409},
	{"container_running", 409},
	{"restore_busy", 409},
	{"engine_busy", 409},
	{"copy_exists", 409},
	{"engine_kind_mismatch", 409},
	{"transfer_failed", 502},
	{"restore_not_found", 404},
	{"log_not_found", 404},
	{"restore_failed", 502},
	{"hook_failed", 502},
	{"not_ready", 502},
	{"invalid_json", 400},
	{"invalid_field", 400},
	{"unknown_field", 400},
	{"missing_field", 400},
	{"invalid_parameter", 400},
	{"engine_unreachable", 502},
	{"engine_error", 502},
	{"checkpoint_failed", 502},
	{"experimental_disabled", 503},
	{"shutting_down", 503},
	{"interrupted", 503},
	{"internal_error", 500},
};

unsigned api_status_for_code(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(code_status) / sizeof(code_status[0]); i++)
		if (strcmp(code_status[i].code, code) == 0)
			return code_status[i].status;
	return 502;
}

void api_reply_jobs_error(struct http_request *req, const struct jobs_error *err,
			  const char *id)
{
	struct http_problem p = {
		.status = api_status_for_code(err->code),
		.code = err->code,
		.detail = err->message,
		.hint = err->hint[0] ? err->hint : NULL,
		.id = id,
		.field = err->field[0] ? err->field : NULL,
	};

	http_reply_problem(req, &p);
}

int api_valid_docker_name(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return i >= 2;
}

int api_valid_engine_name(const char *s)
{
	return api_valid_docker_name(s) || (s[0] && !s[1] && isalnum((unsigned char)s[0]));
}

struct json_object *api_json_str(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

struct json_object *api_json_int(int64_t v)
{
	return v == STORE_UNSET ? NULL : json_object_new_int64(v);
}

struct json_object *api_json_stored(const char *text)
{
	return text && *text ? json_tokener_parse(text) : NULL;
}

struct json_object *api_json_time(int64_t ms)
{
	char buf[40];

	clock_format_rfc3339(ms, buf, sizeof(buf));
	return json_object_new_string(buf);
}

__attribute__((format(printf, 4, 5)))
static int bad_field(struct http_request *req, const char *code, const char *field,
		     const char *fmt, ...)
{
	va_list ap;
	char detail[512];
	struct http_problem p = {.status = 400, .code = code, .detail = detail, .field = field};

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_reply_problem(req, &p);
	return -1;
}

int api_read_body(struct http_request *req, const struct api_field *fields, size_t nfields,
		  struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t len, i, pos;
	const char *body = http_request_body(req, &len);
	char where[64];

	*out = NULL;
	if (len == 0)
		return bad_field(req, "invalid_json", NULL, "the body is empty; a JSON object%s%s",
				 " is expected", "");
	if (memchr(body, '\0', len))
		return bad_field(req, "invalid_json", NULL, "the body holds a NUL byte%s%s", "", "");
	tok = json_tokener_new_ex(32);
	if (!tok) {
		http_reply_error(req, 500, "internal_error", "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	pos = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		snprintf(where, sizeof(where), "%zu", pos);
		return bad_field(req, "invalid_json", NULL, "the body is not valid JSON: %s (at byte %s)",
				 jerr == json_tokener_continue ? "unexpected end"
							       : json_tokener_error_desc(jerr),
				 where);
	}
	while (pos < len && (body[pos] == ' ' || body[pos] == '\n' || body[pos] == '\r' ||
			     body[pos] == '\t'))
		pos++;
	if (pos < len) {
		json_object_put(obj);
		snprintf(where, sizeof(where), "%zu", pos);
		return bad_field(req, "invalid_json", NULL, "the body has more after the JSON value%s%s",
				 " at byte ", where);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return bad_field(req, "invalid_json", NULL, "the body must be a JSON object, not %s%s",
				 json_type_to_name(json_object_get_type(obj)), "");
	}
	{
		json_object_object_foreach(obj, key, val) {
			const struct api_field *f = NULL;

			for (i = 0; i < nfields; i++)
				if (strcmp(fields[i].name, key) == 0)
					f = &fields[i];
			if (!f) {
				bad_field(req, "unknown_field", key,
					  "'%s' is not a field of this request%s", key, "");
				goto bad;
			}
			if (f->type == API_OBJECT) {
				if (!json_object_is_type(val, json_type_object)) {
					bad_field(req, "invalid_field", key, "'%s' must be an object%s",
						  key, "");
					goto bad;
				}
				continue;
			}
			if (f->type == API_ARRAY) {
				if (!json_object_is_type(val, json_type_array)) {
					bad_field(req, "invalid_field", key, "'%s' must be an array%s",
						  key, "");
					goto bad;
				}
				continue;
			}
			if (f->type == API_BOOL) {
				if (!json_object_is_type(val, json_type_boolean)) {
					bad_field(req, "invalid_field", key, "'%s' must be true or false%s",
						  key, "");
					goto bad;
				}
				continue;
			}
			if (!json_object_is_type(val, json_type_string)) {
				bad_field(req, "invalid_field", key, "'%s' must be a string%s", key, "");
				goto bad;
			}
			len = (size_t)json_object_get_string_len(val);
			if (strlen(json_object_get_string(val)) != len) {
				bad_field(req, "invalid_field", key, "'%s' holds a NUL byte%s", key, "");
				goto bad;
			}
			if (len < f->min_len || len > f->max_len) {
				char lim[64];

				snprintf(lim, sizeof(lim), "%zu to %zu", f->min_len, f->max_len);
				bad_field(req, "invalid_field", key, "'%s' must be %s characters long",
					  key, lim);
				goto bad;
			}
			if (f->valid && !f->valid(json_object_get_string(val))) {
				bad_field(req, "invalid_field", key, "'%s' must be %s", key,
					  f->rule ? f->rule : "valid");
				goto bad;
			}
		}
	}
	for (i = 0; i < nfields; i++)
		if (fields[i].required && !json_object_object_get_ex(obj, fields[i].name, NULL)) {
			bad_field(req, "missing_field", fields[i].name, "'%s' is required%s",
				  fields[i].name, "");
			goto bad;
		}
	*out = obj;
	return 0;
bad:
	json_object_put(obj);
	return -1;
}

int api_plain_string(struct json_object *v, size_t min, size_t max)
{
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return 0;
	n = (size_t)json_object_get_string_len(v);
	return n >= min && n <= max && strlen(json_object_get_string(v)) == n;
}

int api_check_argv(struct http_request *req, struct json_object *argv, const char *field)
{
	size_t i, n = json_object_is_type(argv, json_type_array) ? json_object_array_length(argv) : 0;

	if (n < 1 || n > 64)
		return bad_field(req, "invalid_field", field, "'%s' must be an array of 1 to 64 %s",
				 field, "strings");
	for (i = 0; i < n; i++)
		if (!api_plain_string(json_object_array_get_idx(argv, i), 1, 4096))
			return bad_field(req, "invalid_field", field,
					 "'%s' must hold strings of 1 to %s characters", field,
					 "4096");
	return 0;
}

int api_check_hooks(struct http_request *req, struct json_object *hooks, const char *field)
{
	size_t i, n = json_object_array_length(hooks);
	char where[96];

	if (n > 16)
		return bad_field(req, "invalid_field", field, "'%s' holds at most 16 %s", field,
				 "hooks");
	for (i = 0; i < n; i++) {
		struct json_object *h = json_object_array_get_idx(hooks, i), *v;

		snprintf(where, sizeof(where), "%s[%zu]", field, i);
		if (!json_object_is_type(h, json_type_object))
			return bad_field(req, "invalid_field", where,
					 "'%s' must be an object {\"exec\": [...], %s}", where,
					 "\"timeout_s\": n");
		{
			json_object_object_foreach(h, key, val) {
				(void)val;
				if (strcmp(key, "exec") != 0 && strcmp(key, "timeout_s") != 0) {
					snprintf(where, sizeof(where), "%s[%zu].%s", field, i, key);
					return bad_field(req, "unknown_field", where,
							 "'%s' is not a field of a hook%s", where,
							 "");
				}
			}
		}
		snprintf(where, sizeof(where), "%s[%zu].exec", field, i);
		if (!json_object_object_get_ex(h, "exec", &v))
			return bad_field(req, "missing_field", where, "'%s' is required%s", where, "");
		if (api_check_argv(req, v, where))
			return -1;
		if (json_object_object_get_ex(h, "timeout_s", &v) &&
		    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		     json_object_get_int64(v) > 3600)) {
			snprintf(where, sizeof(where), "%s[%zu].timeout_s", field, i);
			return bad_field(req, "invalid_field", where,
					 "'%s' must be an integer from 1 to %s", where, "3600");
		}
	}
	return 0;
}

const char *api_str(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (obj && json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

int api_bool(struct json_object *obj, const char *key, int def)
{
	struct json_object *v;

	if (obj && json_object_object_get_ex(obj, key, &v) &&
	    json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	return def;
}

struct query_check {
	const char *const *allowed;
	struct http_request *req;
};

static int check_one(void *arg, const char *key, const char *value)
{
	struct query_check *qc = arg;
	const char *const *a;
	char detail[300];
	struct http_problem p = {.status = 400, .code = "invalid_parameter", .detail = detail};

	(void)value;
	for (a = qc->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return 0;
	snprintf(detail, sizeof(detail), "'%s' is not a parameter of this route", key);
	p.parameter = key;
	http_reply_problem(qc->req, &p);
	return -1;
}

int api_check_query(struct http_request *req, const char *const *allowed)
{
	struct query_check qc = {allowed, req};

	return http_request_query_each(req, check_one, &qc) ? -1 : 0;
}

int api_query_bool(struct http_request *req, const char *name, int *out)
{
	const char *v = http_request_query(req, name);
	char detail[200];
	struct http_problem p = {.status = 400, .code = "invalid_parameter", .detail = detail,
				 .parameter = name};

	if (!v)
		return 0;
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
		*out = 0;
		return 0;
	}
	snprintf(detail, sizeof(detail), "'%s' must be true or false", name);
	http_reply_problem(req, &p);
	return -1;
}

int api_valid_record_id(const char *id, const char *prefix)
{
	size_t i, n = strlen(prefix);

	if (strncmp(id, prefix, n) != 0 || strlen(id) != n + 16)
		return 0;
	for (i = n; i < n + 16; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

struct waiter {
	struct http_request *req;
	struct api *api;
	api_reply_fn reply;
	char id[128];
};

static void on_job_done(void *arg)
{
	struct waiter *w = arg;

	http_request_resume(w->req);
}

static void on_resumed(struct http_request *req, void *arg)
{
	struct waiter *w = arg;

	w->reply(req, w->api, w->id);
	free(w);
}

void api_wait_for_job(struct http_request *req, struct api *api, const char *id,
		      api_reply_fn reply)
{
	struct waiter *w = calloc(1, sizeof(*w));

	if (!w) {
		http_reply_error(req, 500, "internal_error", "out of memory");
		return;
	}
	w->req = req;
	w->api = api;
	w->reply = reply;
	snprintf(w->id, sizeof(w->id), "%s", id);
	/* suspend first: the job may end before jobs_when_done() returns, and
	 * a resume must never come before its suspend */
	http_request_suspend(req, on_resumed, w);
	if (jobs_when_done(api->jobs, id, on_job_done, w))
		http_request_resume(req); /* finished already */
}

static int bad_param(struct http_request *req, const char *name, const char *why)
{
	char detail[300];
	struct http_problem p = {.status = 400, .code = "invalid_parameter", .detail = detail,
				 .parameter = name};

	snprintf(detail, sizeof(detail), "'%s' %s", name, why);
	http_reply_problem(req, &p);
	return -1;
}

/* Reads a decimal integer in [lo, hi]; -1 when malformed. */
static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!*s || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int api_list_params(struct http_request *req, struct api_list_params *lp)
{
	const char *v;
	long long n;

	lp->limit = 50;
	lp->cursor = 0;
	lp->status = -1;
	lp->container = NULL;
	lp->engine = NULL;
	lp->updated_since = 0;
	if ((v = http_request_query(req, "limit"))) {
		if (parse_int(v, 1, 1000, &n))
			return bad_param(req, "limit", "must be an integer from 1 to 1000");
		lp->limit = (int)n;
	}
	if ((v = http_request_query(req, "cursor"))) {
		if (parse_int(v, 1, INT64_MAX, &n))
			return bad_param(req, "cursor", "is not a cursor this service gave (use next_cursor)");
		lp->cursor = n;
	}
	if ((v = http_request_query(req, "status")) && (lp->status = store_status_parse(v)) < 0)
		return bad_param(req, "status", "must be one of pending, running, ready, failed");
	if ((v = http_request_query(req, "container"))) {
		if (!v[0] || strlen(v) > 255)
			return bad_param(req, "container", "must be 1 to 255 characters long");
		lp->container = v[0] == '/' ? v + 1 : v;
	}
	if ((v = http_request_query(req, "engine"))) {
		if (!v[0] || strlen(v) > 63)
			return bad_param(req, "engine", "must be 1 to 63 characters long");
		lp->engine = v;
	}
	if ((v = http_request_query(req, "updated_since")) &&
	    clock_parse_rfc3339(v, &lp->updated_since))
		return bad_param(req, "updated_since",
				 "must be an RFC 3339 date-time, e.g. 2026-12-04T15:00:00Z");
	return 0;
}

struct json_object *api_error_json(struct store *st, const char *id, int failed,
				   const char *code, const char *message)
{
	struct json_object *err;

	if (!failed)
		return NULL;
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code && code[0] ? code : "failed"));
	json_object_object_add(err, "message", json_object_new_string(message ? message : ""));
	if (st)
		api_error_add_diagnosis(err, st, id);
	return err;
}

void api_error_add_diagnosis(struct json_object *err, struct store *st, const char *id)
{
	struct store_diagnosis d;

	if (store_diagnosis_get(st, id, 0, &d) == STORE_OK) {
		if (d.hint[0])
			json_object_object_add(err, "hint", json_object_new_string(d.hint));
		if (d.criu_line[0])
			json_object_object_add(err, "criu_line", json_object_new_string(d.criu_line));
		if (d.log_tail[0])
			json_object_object_add(err, "log_tail", json_object_new_string(d.log_tail));
		store_diagnosis_release(&d);
	}
}

void api_list_init(struct api_list *l, int (*complete)(struct json_object *, struct api *))
{
	l->items = json_object_new_array();
	l->complete = complete;
	l->live = 0;
}

void api_list_add(struct api_list *l, struct json_object *record)
{
	json_object_array_add(l->items, record);
}

void api_list_finish(struct api_list *l, struct api *api)
{
	size_t i, n = json_object_array_length(l->items);

	for (i = 0; i < n; i++)
		l->live |= l->complete(json_object_array_get_idx(l->items, i), api);
}

struct key_ctx {
	struct buf *key;
};

static int add_param(void *arg, const char *k, const char *v)
{
	struct key_ctx *kc = arg;

	buf_printf(kc->key, "&%s=%s", k, v);
	return 0;
}

int api_list_cached(struct http_request *req, struct api *api, const char *kind,
		    char *key, size_t keylen, uint64_t *gen)
{
	struct buf k;
	struct key_ctx kc = {&k};
	char *body;
	size_t len;

	/* read the generation before anything that reads the records */
	*gen = store_generation(jobs_store(api->jobs));
	buf_init(&k, keylen - 1);
	buf_adds(&k, kind);
	http_request_query_each(req, add_param, &kc);
	snprintf(key, keylen, "%s", buf_str(&k));
	buf_release(&k);
	body = api_cache_get(api->lists, key, *gen, &len);
	if (!body)
		return 0;
	http_reply(req, 200, "application/json", body, len);
	free(body);
	return 1;
}

void api_list_reply(struct http_request *req, struct api *api, struct api_list *l,
		    int64_t next, const char *key, uint64_t gen)
{
	struct json_object *o = json_object_new_object();
	char cur[32];
	const char *s;
	size_t len;

	api_list_finish(l, api);
	json_object_object_add(o, "items", l->items);
	snprintf(cur, sizeof(cur), "%lld", (long long)next);
	json_object_object_add(o, "next_cursor", next ? json_object_new_string(cur) : NULL);
	s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	http_reply(req, 200, "application/json", s, len);
	if (!l->live)
		api_cache_put(api->lists, key, gen, s, len);
	json_object_put(o);
}

struct json_object *api_progress_json(struct api *api, const char *job_id)
{
	struct jobs_progress p;
	struct json_object *o;

	if (!jobs_progress_get(api->jobs, job_id, &p))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "phase", json_object_new_string(p.phase));
	json_object_object_add(o, "bytes_done", json_object_new_int64((int64_t)p.bytes_done));
	json_object_object_add(o, "bytes_total", json_object_new_int64((int64_t)p.bytes_total));
	return o;
}

/* Adds the diagnosis of a failed record (its "error" is an object). */
static void complete_error(struct json_object *record, struct api *api)
{
	struct json_object *err, *id;

	if (json_object_object_get_ex(record, "error", &err) && err &&
	    json_object_object_get_ex(record, "id", &id))
		api_error_add_diagnosis(err, jobs_store(api->jobs), json_object_get_string(id));
}

struct copies_ctx {
	struct json_object *list;
	int live;
};

static int add_copy(void *arg, const struct store_copy *c)
{
	struct copies_ctx *cc = arg;
	struct json_object *o = json_object_new_object();
	int running = c->status == STORE_PENDING || c->status == STORE_RUNNING;

	json_object_object_add(o, "engine", json_object_new_string(c->engine));
	json_object_object_add(o, "status", json_object_new_string(store_status_name(c->status)));
	json_object_object_add(o, "directory", c->directory[0] ?
			       json_object_new_string(c->directory) : NULL);
	json_object_object_add(o, "bytes", c->bytes == STORE_UNSET ? NULL :
			       json_object_new_int64(c->bytes));
	json_object_object_add(o, "error", c->status == STORE_FAILED ?
			       json_object_new_string(c->error_message[0] ? c->error_message :
						      "failed") : NULL);
	/* progress is the jobs' (in memory): filled after the listing */
	json_object_object_add(o, "progress", NULL);
	json_object_array_add(cc->list, o);
	cc->live |= running;
	return 0;
}

int api_checkpoint_complete(struct json_object *record, struct api *api)
{
	struct copies_ctx cc = {json_object_new_array(), 0};
	struct json_object *id, *status;
	char job[160];
	size_t i, n;
	int live = 0;

	complete_error(record, api);
	if (json_object_object_get_ex(record, "id", &id)) {
		store_copy_list(jobs_store(api->jobs), json_object_get_string(id), add_copy, &cc);
		n = json_object_array_length(cc.list);
		for (i = 0; cc.live && i < n; i++) {
			struct json_object *o = json_object_array_get_idx(cc.list, i), *st, *eng;

			if (json_object_object_get_ex(o, "status", &st) &&
			    json_object_object_get_ex(o, "engine", &eng) &&
			    (strcmp(json_object_get_string(st), "pending") == 0 ||
			     strcmp(json_object_get_string(st), "running") == 0)) {
				snprintf(job, sizeof(job), "%s@%s", json_object_get_string(id),
					 json_object_get_string(eng));
				json_object_object_add(o, "progress", api_progress_json(api, job));
			}
		}
	}
	json_object_object_add(record, "copies", cc.list);
	live = cc.live;
	if (json_object_object_get_ex(record, "status", &status) &&
	    (strcmp(json_object_get_string(status), "pending") == 0 ||
	     strcmp(json_object_get_string(status), "running") == 0))
		live = 1;
	return live;
}

int api_restore_complete(struct json_object *record, struct api *api)
{
	struct json_object *id, *status;

	complete_error(record, api);
	if (json_object_object_get_ex(record, "id", &id) &&
	    json_object_object_get_ex(record, "status", &status) &&
	    (strcmp(json_object_get_string(status), "pending") == 0 ||
	     strcmp(json_object_get_string(status), "running") == 0)) {
		json_object_object_add(record, "progress",
				       api_progress_json(api, json_object_get_string(id)));
		return 1;
	}
	return 0;
}

void api_reply_failed_record(struct http_request *req, struct store *st, const char *id,
			     const char *code, const char *what, const char *message)
{
	char detail[2300];
	struct store_diagnosis d;
	struct json_object *extra = json_object_new_object();
	struct http_problem p = {
		.status = api_status_for_code(code),
		.code = code,
		.detail = detail,
		.id = id,
		.extra = extra,
	};
	int have = store_diagnosis_get(st, id, 0, &d) == STORE_OK;

	snprintf(detail, sizeof(detail), "the %s failed: %s", what, message ? message : "(no message)");
	if (have) {
		if (d.hint[0])
			p.hint = d.hint;
		if (d.criu_line[0])
			json_object_object_add(extra, "criu_line", json_object_new_string(d.criu_line));
		if (d.log_tail[0])
			json_object_object_add(extra, "log_tail", json_object_new_string(d.log_tail));
	}
	http_reply_problem(req, &p);
	json_object_put(extra);
	if (have)
		store_diagnosis_release(&d);
}

void api_reply_log(struct http_request *req, struct store *st, const char *id)
{
	struct store_diagnosis d;
	enum store_result r = store_diagnosis_get(st, id, 1, &d);

	if (r == STORE_OK && d.log) {
		http_reply(req, 200, "text/plain; charset=utf-8", d.log, d.log_len);
	} else if (r == STORE_OK || r == STORE_NOT_FOUND) {
		struct http_problem p = {
			.status = 404, .code = "log_not_found",
			.detail = "no CRIU log is kept for this record",
			.hint = "a log is kept when a checkpoint or restore fails in CRIU",
		};
		http_reply_problem(req, &p);
	} else {
		http_reply_error(req, 500, "internal_error", "%s", store_last_error());
	}
	if (r == STORE_OK)
		store_diagnosis_release(&d);
}
