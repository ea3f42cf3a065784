/*
 * checkpoints.c - /checkpoints: take, list, read and delete checkpoints.
 */
#include "api/api_int.h"
#include "clock.h"
#include "store/store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_container_ref(const char *s)
{
	if (*s == '/')
		s++;
	return api_valid_docker_name(s) || (s[0] && !s[1] && isalnum((unsigned char)s[0]));
}

static const struct api_field create_fields[] = {
	{"container", API_STRING, 1, 1, 255, valid_container_ref,
	 "a container name or id (letters, digits, '_', '.', '-')"},
	{"name", API_STRING, 0, 2, 128, api_valid_docker_name,
	 "Docker's checkpoint name rule ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"},
	{"engine", API_STRING, 0, 1, 63, api_valid_engine_name, "an engine name"},
	{"leave_running", API_BOOL, 0, 0, 0, NULL, NULL},
	{"profile", API_STRING, 0, 1, 63, NULL, NULL},
	{"before", API_ARRAY, 0, 0, 0, NULL, NULL},
	{"settle", API_BOOL, 0, 0, 0, NULL, NULL},
	{"after_restore", API_ARRAY, 0, 0, 0, NULL, NULL},
};

struct json_object *api_checkpoint_json(const struct store_checkpoint *ck)
{
	struct json_object *o = json_object_new_object(), *c, *img, *t;

	json_object_object_add(o, "id", json_object_new_string(ck->id));
	json_object_object_add(o, "name", json_object_new_string(ck->name));
	c = json_object_new_object();
	json_object_object_add(c, "id", json_object_new_string(ck->container_id));
	json_object_object_add(c, "name", json_object_new_string(ck->container_name));
	json_object_object_add(o, "container", c);
	json_object_object_add(o, "engine", json_object_new_string(ck->engine));
	json_object_object_add(o, "engine_kind", json_object_new_string(ck->engine_kind));
	json_object_object_add(o, "status", json_object_new_string(store_status_name(ck->status)));
	json_object_object_add(o, "leave_running", json_object_new_boolean(ck->leave_running));
	img = json_object_new_object();
	json_object_object_add(img, "id", api_json_str(ck->image_id));
	json_object_object_add(img, "repository", api_json_str(ck->image_repository));
	json_object_object_add(img, "tag", api_json_str(ck->image_tag));
	json_object_object_add(img, "size_bytes", api_json_int(ck->image_size));
	json_object_object_add(o, "image", img);
	json_object_object_add(o, "size_bytes", api_json_int(ck->size_bytes));
	json_object_object_add(o, "directory", api_json_str(ck->directory));
	json_object_object_add(o, "archive_sha256", api_json_str(ck->archive_sha256));
	json_object_object_add(o, "criu_stats", api_json_stored(ck->criu_stats_json));
	t = json_object_new_object();
	json_object_object_add(t, "commit", api_json_int(ck->t_commit));
	json_object_object_add(t, "checkpoint", api_json_int(ck->t_checkpoint));
	json_object_object_add(t, "measure", api_json_int(ck->t_measure));
	json_object_object_add(t, "before", api_json_int(ck->t_before));
	json_object_object_add(t, "settle", api_json_int(ck->t_settle));
	json_object_object_add(t, "total", api_json_int(ck->t_total));
	json_object_object_add(o, "timings_ms", t);
	json_object_object_add(o, "hooks", api_json_stored(ck->hooks_json));
	json_object_object_add(o, "hook_results", api_json_stored(ck->hook_results_json));
	t = json_object_new_object();
	json_object_object_add(t, "before_hooks", api_json_int(ck->memory_before_hooks));
	json_object_object_add(t, "at_dump", api_json_int(ck->memory_at_dump));
	json_object_object_add(o, "memory_bytes", t);
	t = json_object_new_object();
	json_object_object_add(t, "restore", api_json_int(ck->ready_restore_ms));
	json_object_object_add(t, "cold", api_json_int(ck->ready_cold_ms));
	json_object_object_add(o, "ready_ms", t);
	json_object_object_add(o, "created_at", api_json_time(ck->created_at));
	json_object_object_add(o, "updated_at", api_json_time(ck->updated_at));
	json_object_object_add(o, "error", api_error_json(NULL, ck->id, ck->status == STORE_FAILED,
							   ck->error_code, ck->error_message));
	json_object_object_add(o, "copies", json_object_new_array());
	return o;
}

/* Answers with the record called id: 'status' normally, or its failure as
 * a problem (for ?wait=true). */
static void reply_record(struct http_request *req, struct api *api, const char *id,
			 unsigned status, int failure_as_problem)
{
	struct store_checkpoint ck;
	struct json_object *o;
	char loc[64];

	store_checkpoint_init(&ck);
	if (store_checkpoint_get(jobs_store(api->jobs), id, &ck) != STORE_OK) {
		http_reply_error(req, 500, "internal_error", "checkpoint '%s' vanished", id);
		goto out;
	}
	if (failure_as_problem && ck.status == STORE_FAILED) {
		api_reply_failed_record(req, jobs_store(api->jobs), ck.id, ck.error_code,
					"checkpoint", ck.error_message);
		goto out;
	}
	if (failure_as_problem && ck.status != STORE_READY) {
		struct http_problem p = {
			.status = 503, .code = "shutting_down", .id = ck.id,
			.detail = "the service is stopping before the checkpoint finished",
			.hint = "GET the record later: it will show failed with code 'interrupted'",
		};
		http_reply_problem(req, &p);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/checkpoints/%s", ck.id);
	http_reply_header(req, "Location", loc);
	o = api_checkpoint_json(&ck);
	api_checkpoint_complete(o, api);
	http_reply_json(req, status, o);
	json_object_put(o);
out:
	store_checkpoint_release(&ck);
}

static void reply_finished(struct http_request *req, struct api *api, const char *id)
{
	reply_record(req, api, id, 201, 1);
}

static struct json_object *findings_json(const struct jobs_finding *f, int n)
{
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "code", json_object_new_string(f[i].code));
		json_object_object_add(o, "message", json_object_new_string(f[i].message));
		json_object_object_add(o, "hint", json_object_new_string(f[i].hint));
		json_object_array_add(a, o);
	}
	return a;
}

/* POST /checkpoints?dry_run=true: the pre-flight answer. */
static void reply_preflight(struct http_request *req, struct api *api,
			    const struct jobs_checkpoint_request *rq)
{
	struct jobs_preflight *pf = malloc(sizeof(*pf));
	struct jobs_error err;
	struct json_object *o, *c;

	if (!pf) {
		http_reply_error(req, 500, "internal_error", "out of memory");
		return;
	}
	if (jobs_checkpoint_preflight(api->jobs, rq, pf, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		free(pf);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(pf->ok));
	c = json_object_new_object();
	json_object_object_add(c, "id", json_object_new_string(pf->container_id));
	json_object_object_add(c, "name", json_object_new_string(pf->container_name));
	json_object_object_add(o, "container", c);
	json_object_object_add(o, "engine", json_object_new_string(pf->engine));
	json_object_object_add(o, "blockers", findings_json(pf->blockers, pf->nblockers));
	json_object_object_add(o, "warnings", findings_json(pf->warnings, pf->nwarnings));
	http_reply_json(req, 200, o);
	json_object_put(o);
	free(pf);
}

void api_checkpoints_create(struct http_request *req, void *app)
{
	static const char *const params[] = {"wait", "dry_run", NULL};
	struct api *api = app;
	struct json_object *body = NULL;
	struct jobs_checkpoint_request rq = {0};
	struct store_checkpoint ck;
	struct jobs_error err;
	int wait = 0, dry_run = 0;

	store_checkpoint_init(&ck);
	if (api_check_query(req, params) || api_query_bool(req, "wait", &wait) ||
	    api_query_bool(req, "dry_run", &dry_run))
		goto out;
	if (http_server_stopping(api->server)) {
		http_reply_error(req, 503, "shutting_down", "the service is stopping");
		goto out;
	}
	if (api_read_body(req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]),
			  &body))
		goto out;
	rq.container = api_str(body, "container");
	rq.name = api_str(body, "name");
	rq.engine = api_str(body, "engine");
	rq.leave_running = api_bool(body, "leave_running", 0);
	rq.profile = api_str(body, "profile");
	rq.settle = api_bool(body, "settle", -1);
	if (json_object_object_get_ex(body, "before", &rq.before) &&
	    api_check_hooks(req, rq.before, "before"))
		goto out;
	if (json_object_object_get_ex(body, "after_restore", &rq.after_restore) &&
	    api_check_hooks(req, rq.after_restore, "after_restore"))
		goto out;
	if (dry_run) {
		reply_preflight(req, api, &rq);
		goto out;
	}
	if (jobs_checkpoint_begin(api->jobs, &rq, &ck, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		goto out;
	}
	if (!wait) {
		reply_record(req, api, ck.id, 202, 0);
		goto out;
	}
	api_wait_for_job(req, api, ck.id, reply_finished);
out:
	json_object_put(body);
	store_checkpoint_release(&ck);
}

void api_checkpoints_get(struct http_request *req, void *app)
{
	static const char *const params[] = {NULL};
	const char *id = http_request_param(req, "id");

	if (api_check_query(req, params))
		return;
	if (!api_valid_record_id(id, "ck-")) {
		http_reply_error(req, 404, "checkpoint_not_found", "no checkpoint '%s'", id);
		return;
	}
	{
		struct store_checkpoint ck;
		struct api *api = app;
		enum store_result r;

		store_checkpoint_init(&ck);
		r = store_checkpoint_get(jobs_store(api->jobs), id, &ck);
		if (r == STORE_NOT_FOUND)
			http_reply_error(req, 404, "checkpoint_not_found", "no checkpoint '%s'", id);
		else if (r != STORE_OK)
			http_reply_error(req, 500, "internal_error", "%s", store_last_error());
		else {
			struct json_object *o = api_checkpoint_json(&ck);

			api_checkpoint_complete(o, api);
			http_reply_json(req, 200, o);
			json_object_put(o);
		}
		store_checkpoint_release(&ck);
	}
}

void api_checkpoints_delete(struct http_request *req, void *app)
{
	static const char *const params[] = {NULL};
	struct api *api = app;
	const char *id = http_request_param(req, "id");
	struct jobs_error err;

	if (api_check_query(req, params))
		return;
	if (!api_valid_record_id(id, "ck-")) {
		http_reply_error(req, 404, "checkpoint_not_found", "no checkpoint '%s'", id);
		return;
	}
	if (jobs_checkpoint_delete(api->jobs, id, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		return;
	}
	http_reply(req, 204, NULL, NULL, 0);
}

static int list_add(void *arg, const struct store_checkpoint *ck)
{
	api_list_add(arg, api_checkpoint_json(ck));
	return 0;
}

void api_checkpoints_list(struct http_request *req, void *app)
{
	static const char *const params[] = {"limit", "cursor", "status", "container", "engine",
					     "updated_since", NULL};
	struct api *api = app;
	struct store_checkpoint_filter f;
	struct api_list_params lp;
	struct api_list list;
	int64_t next = 0;
	uint64_t gen;
	char key[512];

	if (api_check_query(req, params) || api_list_params(req, &lp))
		return;
	f.limit = lp.limit;
	f.cursor = lp.cursor;
	f.status = lp.status;
	f.container = lp.container;
	f.engine = lp.engine;
	f.updated_since = lp.updated_since;
	if (api_list_cached(req, api, "checkpoints", key, sizeof(key), &gen))
		return;
	api_list_init(&list, api_checkpoint_complete);
	if (store_checkpoint_list(jobs_store(api->jobs), &f, list_add, &list, &next) != STORE_OK) {
		json_object_put(list.items);
		http_reply_error(req, 500, "internal_error", "%s", store_last_error());
		return;
	}
	api_list_reply(req, api, &list, next, key, gen);
}

void api_checkpoints_log(struct http_request *req, void *app)
{
	static const char *const params[] = {NULL};
	struct api *api = app;
	const char *id = http_request_param(req, "id");
	struct store_checkpoint ck;
	enum store_result r;

	if (api_check_query(req, params))
		return;
	store_checkpoint_init(&ck);
	r = api_valid_record_id(id, "ck-") ? store_checkpoint_get(jobs_store(api->jobs), id, &ck)
					    : STORE_NOT_FOUND;
	if (r == STORE_NOT_FOUND)
		http_reply_error(req, 404, "checkpoint_not_found", "no checkpoint '%s'", id);
	else if (r != STORE_OK)
		http_reply_error(req, 500, "internal_error", "%s", store_last_error());
	else
		api_reply_log(req, jobs_store(api->jobs), id);
	store_checkpoint_release(&ck);
}

static const struct api_field copy_fields[] = {
	{"engine", API_STRING, 1, 1, 63, api_valid_engine_name, "an engine name"},
};

static void reply_copied(struct http_request *req, struct api *api, const char *job_id)
{
	struct store_copy c;
	char id[40], detail[700];
	const char *at = strchr(job_id, '@');

	snprintf(id, sizeof(id), "%.*s", (int)(at - job_id), job_id);
	if (store_copy_get(jobs_store(api->jobs), id, at + 1, &c) != STORE_OK) {
		http_reply_error(req, 500, "internal_error", "the copy of '%s' vanished", id);
		return;
	}
	if (c.status == STORE_FAILED) {
		struct http_problem p = {.status = 502, .code = "transfer_failed", .detail = detail,
					 .id = id};

		snprintf(detail, sizeof(detail), "the copy to engine '%s' failed: %s", at + 1,
			 c.error_message);
		http_reply_problem(req, &p);
		return;
	}
	if (c.status != STORE_READY) {
		struct http_problem p = {
			.status = 503, .code = "shutting_down", .id = id,
			.detail = "the service is stopping before the copy finished",
			.hint = "GET the checkpoint later: the copy will show failed",
		};
		http_reply_problem(req, &p);
		return;
	}
	reply_record(req, api, id, 201, 0);
}

/* POST /checkpoints/{id}/copies: place the checkpoint on another engine. */
void api_checkpoints_copy(struct http_request *req, void *app)
{
	static const char *const params[] = {"wait", NULL};
	struct api *api = app;
	const char *id = http_request_param(req, "id");
	struct json_object *body = NULL;
	struct jobs_error err;
	char job[160];
	int wait = 0;

	if (api_check_query(req, params) || api_query_bool(req, "wait", &wait))
		return;
	if (!api_valid_record_id(id, "ck-")) {
		http_reply_error(req, 404, "checkpoint_not_found", "no checkpoint '%s'", id);
		return;
	}
	if (http_server_stopping(api->server)) {
		http_reply_error(req, 503, "shutting_down", "the service is stopping");
		return;
	}
	if (api_read_body(req, copy_fields, sizeof(copy_fields) / sizeof(copy_fields[0]), &body))
		return;
	if (jobs_copy_begin(api->jobs, id, api_str(body, "engine"), job, sizeof(job), &err)) {
		api_reply_jobs_error(req, &err, NULL);
	} else if (!wait) {
		reply_record(req, api, id, 202, 0);
	} else {
		api_wait_for_job(req, api, job, reply_copied);
	}
	json_object_put(body);
}
