/*
 * restores.c - /restores: start copies from checkpoints (or a cold start
 * to compare with), list, read and delete them.
 */
#include "api/api_int.h"
#include "clock.h"
#include "store/store.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_ck_id(const char *s)
{
	return api_valid_record_id(s, "ck-");
}

static const struct api_field create_fields[] = {
	{"checkpoint", API_STRING, 1, 19, 19, valid_ck_id, "a checkpoint id (ck- and 16 hex digits)"},
	{"name", API_STRING, 0, 2, 128, api_valid_docker_name,
	 "a container name following ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"},
	{"engine", API_STRING, 0, 1, 63, api_valid_engine_name, "an engine name"},
	{"in_place", API_BOOL, 0, 0, 0, NULL, NULL},
	{"cold", API_BOOL, 0, 0, 0, NULL, NULL},
	{"overrides", API_OBJECT, 0, 0, 0, NULL, NULL},
	{"ready", API_OBJECT, 0, 0, 0, NULL, NULL},
	{"after", API_ARRAY, 0, 0, 0, NULL, NULL},
};

static int bad(struct http_request *req, const char *field, const char *detail)
{
	struct http_problem p = {.status = 400, .code = "invalid_field", .detail = detail,
				 .field = field};

	http_reply_problem(req, &p);
	return -1;
}

/* An integer member in [lo, hi], when present. */
static int check_int(struct http_request *req, struct json_object *o, const char *key,
		     const char *field, int lo, int hi)
{
	struct json_object *v;
	char detail[160];
	int64_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	n = json_object_get_int64(v);
	if (!json_object_is_type(v, json_type_int) || n < lo || n > hi) {
		snprintf(detail, sizeof(detail), "'%s' must be an integer from %d to %d", field, lo, hi);
		return bad(req, field, detail);
	}
	return 0;
}

/* The ready probe: exactly one of exec, http, tcp, log; timeout_s and
 * interval_ms optional. */
static int check_ready(struct http_request *req, struct json_object *ready)
{
	struct json_object *v;
	int kinds = 0;

	json_object_object_foreach(ready, key, val) {
		char field[80], detail[200];

		snprintf(field, sizeof(field), "ready.%s", key);
		if (strcmp(key, "exec") == 0) {
			kinds++;
			if (api_check_argv(req, val, field))
				return -1;
		} else if (strcmp(key, "http") == 0) {
			kinds++;
			if (!api_plain_string(val, 8, 2048) ||
			    (strncmp(json_object_get_string(val), "http://", 7) != 0 &&
			     strncmp(json_object_get_string(val), "https://", 8) != 0))
				return bad(req, field, "'ready.http' must be an http:// or https:// URL");
		} else if (strcmp(key, "tcp") == 0) {
			const char *s = json_object_get_string(val), *colon;

			kinds++;
			if (!api_plain_string(val, 3, 300) || !(colon = strrchr(s, ':')) || colon == s ||
			    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
				return bad(req, field, "'ready.tcp' must be HOST:PORT");
		} else if (strcmp(key, "log") == 0) {
			regex_t re;

			kinds++;
			if (!api_plain_string(val, 1, 1024))
				return bad(req, field, "'ready.log' must be a regular expression of 1 to 1024 characters");
			if (regcomp(&re, json_object_get_string(val), REG_EXTENDED | REG_NOSUB))
				return bad(req, field, "'ready.log' is not a valid extended regular expression");
			regfree(&re);
		} else if (strcmp(key, "timeout_s") != 0 && strcmp(key, "interval_ms") != 0) {
			struct http_problem p = {.status = 400, .code = "unknown_field",
						 .detail = detail, .field = field};

			snprintf(detail, sizeof(detail), "'%s' is not a field of a ready probe", field);
			http_reply_problem(req, &p);
			return -1;
		}
	}
	if (kinds != 1)
		return bad(req, "ready",
			   "'ready' must name exactly one probe: exec, http, tcp or log");
	if (check_int(req, ready, "timeout_s", "ready.timeout_s", 1, 3600) ||
	    check_int(req, ready, "interval_ms", "ready.interval_ms", 10, 10000))
		return -1;
	(void)v;
	return 0;
}

struct json_object *api_restore_json(const struct store_restore *rs)
{
	struct json_object *o = json_object_new_object(), *c, *t;

	json_object_object_add(o, "id", json_object_new_string(rs->id));
	json_object_object_add(o, "checkpoint", json_object_new_string(rs->checkpoint_id));
	json_object_object_add(o, "engine", json_object_new_string(rs->engine));
	c = json_object_new_object();
	json_object_object_add(c, "id", rs->container_id[0] ?
				       json_object_new_string(rs->container_id) : NULL);
	json_object_object_add(c, "name", rs->container_name[0] ?
				       json_object_new_string(rs->container_name) : NULL);
	json_object_object_add(o, "container", c);
	json_object_object_add(o, "in_place", json_object_new_boolean(rs->in_place));
	json_object_object_add(o, "cold", json_object_new_boolean(rs->cold));
	json_object_object_add(o, "status", json_object_new_string(store_status_name(rs->status)));
	t = json_object_new_object();
	json_object_object_add(t, "create", api_json_int(rs->t_create));
	json_object_object_add(t, "stage", api_json_int(rs->t_stage));
	json_object_object_add(t, "start", api_json_int(rs->t_start));
	json_object_object_add(t, "ready", api_json_int(rs->t_ready));
	json_object_object_add(t, "after", api_json_int(rs->t_after));
	json_object_object_add(t, "total", api_json_int(rs->t_total));
	json_object_object_add(o, "timings_ms", t);
	json_object_object_add(o, "retries", json_object_new_int(rs->retries));
	json_object_object_add(o, "hook_results", api_json_stored(rs->hook_results_json));
	json_object_object_add(o, "criu_stats", api_json_stored(rs->criu_stats_json));
	json_object_object_add(o, "created_at", api_json_time(rs->created_at));
	json_object_object_add(o, "updated_at", api_json_time(rs->updated_at));
	json_object_object_add(o, "error", api_error_json(NULL, rs->id, rs->status == STORE_FAILED,
							   rs->error_code, rs->error_message));
	json_object_object_add(o, "progress", NULL);
	return o;
}

/* Answers with the record called id: status normally; with
 * failure_as_problem (for ?wait=true) a failed one is its problem. */
static void reply_record(struct http_request *req, struct api *api, const char *id,
			 unsigned status, int failure_as_problem)
{
	struct store_restore rs;
	struct json_object *o;
	char loc[64];

	store_restore_init(&rs);
	if (store_restore_get(jobs_store(api->jobs), id, &rs) != STORE_OK) {
		http_reply_error(req, 500, "internal_error", "restore '%s' vanished", id);
		goto out;
	}
	if (failure_as_problem && rs.status == STORE_FAILED) {
		api_reply_failed_record(req, jobs_store(api->jobs), rs.id, rs.error_code,
					rs.cold ? "cold start" : "restore", rs.error_message);
		goto out;
	}
	if (failure_as_problem && rs.status != STORE_READY) {
		struct http_problem p = {
			.status = 503, .code = "shutting_down", .id = rs.id,
			.detail = "the service is stopping before the restore finished",
			.hint = "GET the record later: it will show failed with code 'interrupted'",
		};
		http_reply_problem(req, &p);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/restores/%s", rs.id);
	http_reply_header(req, "Location", loc);
	o = api_restore_json(&rs);
	api_restore_complete(o, api);
	http_reply_json(req, status, o);
	json_object_put(o);
out:
	store_restore_release(&rs);
}

static void reply_finished(struct http_request *req, struct api *api, const char *id)
{
	reply_record(req, api, id, 201, 1);
}

void api_restores_create(struct http_request *req, void *app)
{
	static const char *const params[] = {"wait", NULL};
	struct api *api = app;
	struct json_object *body = NULL, *v;
	struct jobs_restore_request rq = {0};
	struct store_restore rs;
	struct jobs_error err;
	int wait = 0;

	store_restore_init(&rs);
	if (api_check_query(req, params) || api_query_bool(req, "wait", &wait))
		goto out;
	if (http_server_stopping(api->server)) {
		http_reply_error(req, 503, "shutting_down", "the service is stopping");
		goto out;
	}
	if (api_read_body(req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]),
			  &body))
		goto out;
	rq.checkpoint = api_str(body, "checkpoint");
	rq.name = api_str(body, "name");
	rq.engine = api_str(body, "engine");
	rq.in_place = api_bool(body, "in_place", 0);
	rq.cold = api_bool(body, "cold", 0);
	if (json_object_object_get_ex(body, "overrides", &v))
		rq.overrides = v;
	if (json_object_object_get_ex(body, "ready", &v)) {
		rq.ready = v;
		if (check_ready(req, v))
			goto out;
	}
	if (json_object_object_get_ex(body, "after", &v)) {
		rq.after = v;
		if (api_check_hooks(req, v, "after"))
			goto out;
	}
	if (rq.cold && rq.after) {
		bad(req, "after", "after hooks run in restored copies, not in a cold start");
		goto out;
	}
	if (rq.in_place && rq.overrides) {
		bad(req, "overrides", "'overrides' cannot change a container restored in place");
		goto out;
	}
	if (rq.in_place && rq.cold) {
		bad(req, "cold", "a cold start creates a new container: it cannot be in place");
		goto out;
	}
	if (rq.in_place && rq.name) {
		bad(req, "name", "an in-place restore keeps the original container's name");
		goto out;
	}
	if (jobs_restore_begin(api->jobs, &rq, &rs, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		goto out;
	}
	if (!wait)
		reply_record(req, api, rs.id, 202, 0);
	else
		api_wait_for_job(req, api, rs.id, reply_finished);
out:
	json_object_put(body);
	store_restore_release(&rs);
}

void api_restores_get(struct http_request *req, void *app)
{
	static const char *const params[] = {NULL};
	const char *id = http_request_param(req, "id");
	struct api *api = app;
	struct store_restore rs;
	enum store_result r;

	if (api_check_query(req, params))
		return;
	if (!api_valid_record_id(id, "rs-")) {
		http_reply_error(req, 404, "restore_not_found", "no restore '%s'", id);
		return;
	}
	store_restore_init(&rs);
	r = store_restore_get(jobs_store(api->jobs), id, &rs);
	if (r == STORE_NOT_FOUND) {
		http_reply_error(req, 404, "restore_not_found", "no restore '%s'", id);
	} else if (r != STORE_OK) {
		http_reply_error(req, 500, "internal_error", "%s", store_last_error());
	} else {
		struct json_object *o = api_restore_json(&rs);

		api_restore_complete(o, api);
		http_reply_json(req, 200, o);
		json_object_put(o);
	}
	store_restore_release(&rs);
}

void api_restores_delete(struct http_request *req, void *app)
{
	static const char *const params[] = {NULL};
	struct api *api = app;
	const char *id = http_request_param(req, "id");
	struct jobs_error err;

	if (api_check_query(req, params))
		return;
	if (!api_valid_record_id(id, "rs-")) {
		http_reply_error(req, 404, "restore_not_found", "no restore '%s'", id);
		return;
	}
	if (jobs_restore_delete(api->jobs, id, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		return;
	}
	http_reply(req, 204, NULL, NULL, 0);
}

static int list_add(void *arg, const struct store_restore *rs)
{
	api_list_add(arg, api_restore_json(rs));
	return 0;
}

void api_restores_list(struct http_request *req, void *app)
{
	static const char *const params[] = {"limit", "cursor", "status", "container", "engine",
					     "updated_since", "checkpoint", NULL};
	struct api *api = app;
	struct store_restore_filter f = {0};
	struct api_list_params lp;
	struct api_list list;
	int64_t next = 0;
	uint64_t gen;
	const char *ck;
	char key[512];

	if (api_check_query(req, params) || api_list_params(req, &lp))
		return;
	if ((ck = http_request_query(req, "checkpoint")) && !api_valid_record_id(ck, "ck-")) {
		struct http_problem p = {.status = 400, .code = "invalid_parameter",
					 .detail = "'checkpoint' must be a checkpoint id (ck- and 16 hex digits)",
					 .parameter = "checkpoint"};
		http_reply_problem(req, &p);
		return;
	}
	f.limit = lp.limit;
	f.cursor = lp.cursor;
	f.status = lp.status;
	f.container = lp.container;
	f.engine = lp.engine;
	f.updated_since = lp.updated_since;
	f.checkpoint = ck;
	if (api_list_cached(req, api, "restores", key, sizeof(key), &gen))
		return;
	api_list_init(&list, api_restore_complete);
	if (store_restore_list(jobs_store(api->jobs), &f, list_add, &list, &next) != STORE_OK) {
		json_object_put(list.items);
		http_reply_error(req, 500, "internal_error", "%s", store_last_error());
		return;
	}
	api_list_reply(req, api, &list, next, key, gen);
}

void api_restores_log(struct http_request *req, void *app)
{
	static const char *const params[] = {NULL};
	struct api *api = app;
	const char *id = http_request_param(req, "id");
	struct store_restore rs;
	enum store_result r;

	if (api_check_query(req, params))
		return;
	store_restore_init(&rs);
	r = api_valid_record_id(id, "rs-") ? store_restore_get(jobs_store(api->jobs), id, &rs)
					    : STORE_NOT_FOUND;
	if (r == STORE_NOT_FOUND)
		http_reply_error(req, 404, "restore_not_found", "no restore '%s'", id);
	else if (r != STORE_OK)
		http_reply_error(req, 500, "internal_error", "%s", store_last_error());
	else
		api_reply_log(req, jobs_store(api->jobs), id);
	store_restore_release(&rs);
}
