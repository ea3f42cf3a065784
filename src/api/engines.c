/*
 * engines.c - /engines: the engines the service drives, as a resource.
 * --engine flags seed them at every start; POST /engines adds more, kept
 * in the store across restarts.
 */
#include "api/api_int.h"
#include "clock.h"
#include "engine/engine.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One engine as the API shows it (what its last probe found). */
static struct json_object *engine_json(struct api *api, struct engine *e)
{
	struct json_object *x = json_object_new_object();
	struct engine_info info;
	int64_t leaked = 0, restores = 0;
	char when[40];

	engine_info_get(e, &info);
	json_object_object_add(x, "name", json_object_new_string(engine_name(e)));
	json_object_object_add(x, "kind", json_object_new_string(engine_kind_name(engine_kind(e))));
	json_object_object_add(x, "url", json_object_new_string(engine_url(e)));
	json_object_object_add(x, "tls", json_object_new_boolean(engine_tls(e)));
	json_object_object_add(x, "reachable", json_object_new_boolean(info.reachable));
	json_object_object_add(x, "docker_version", api_json_str(info.docker_version));
	json_object_object_add(x, "api_version", api_json_str(info.api_version));
	json_object_object_add(x, "experimental", info.experimental < 0 ? NULL :
			       json_object_new_boolean(info.experimental));
	json_object_object_add(x, "root_dir", api_json_str(info.root_dir));
	json_object_object_add(x, "warning", api_json_str(info.warning));
	json_object_object_add(x, "error", api_json_str(info.error));
	store_engine_leak_get(jobs_store(api->jobs), engine_name(e), &leaked, &restores);
	json_object_object_add(x, "leaked_bytes", json_object_new_int64(leaked));
	json_object_object_add(x, "leaked_restores", json_object_new_int64(restores));
	clock_format_rfc3339(info.checked_at, when, sizeof(when));
	json_object_object_add(x, "checked_at", json_object_new_string(when));
	return x;
}

static const char *const no_params[] = {NULL};

void api_engines_list(struct http_request *req, void *app)
{
	struct api *api = app;
	struct engine *list[JOBS_MAX_ENGINES];
	struct json_object *o, *items;
	int i, n;

	if (api_check_query(req, no_params))
		return;
	n = jobs_engines(api->jobs, list, JOBS_MAX_ENGINES);
	items = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(items, engine_json(api, list[i]));
	o = json_object_new_object();
	json_object_object_add(o, "items", items);
	http_reply_json(req, 200, o);
	json_object_put(o);
}

void api_engines_get(struct http_request *req, void *app)
{
	struct api *api = app;
	const char *name = http_request_param(req, "name");
	struct engine *e;
	struct json_object *o;

	if (api_check_query(req, no_params))
		return;
	e = jobs_engine_find(api->jobs, name);
	if (!e) {
		http_reply_error(req, 404, "engine_not_found", "no engine called '%s'", name);
		return;
	}
	o = engine_json(api, e);
	http_reply_json(req, 200, o);
	json_object_put(o);
}

static int valid_url(const char *s)
{
	return strncmp(s, "tcp://", 6) == 0 || strncmp(s, "https://", 8) == 0 ||
	       strncmp(s, "unix:///", 8) == 0;
}

static int valid_dir(const char *s)
{
	return s[0] == '/';
}

static const struct api_field create_fields[] = {
	{"name", API_STRING, 1, 1, 63, api_valid_engine_name,
	 "an engine name (letters, digits, '_', '.', '-')"},
	{"url", API_STRING, 1, 8, 255, valid_url,
	 "tcp://HOST:PORT, https://HOST:PORT or unix:///PATH"},
	{"tls", API_STRING, 0, 2, 1000, valid_dir,
	 "an absolute folder on the service's host holding ca.pem, cert.pem and key.pem"},
};

void api_engines_create(struct http_request *req, void *app)
{
	struct api *api = app;
	struct json_object *body = NULL, *o;
	struct jobs_error err;
	struct engine *e;
	char loc[128];

	if (api_check_query(req, no_params) ||
	    api_read_body(req, create_fields, sizeof(create_fields) / sizeof(create_fields[0]),
			  &body))
		goto out;
	if (jobs_engine_add(api->jobs, api_str(body, "name"), api_str(body, "url"),
			    api_str(body, "tls"), &e, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		goto out;
	}
	snprintf(loc, sizeof(loc), "/engines/%s", engine_name(e));
	http_reply_header(req, "Location", loc);
	o = engine_json(api, e);
	http_reply_json(req, 201, o);
	json_object_put(o);
out:
	json_object_put(body);
}

void api_engines_delete(struct http_request *req, void *app)
{
	struct api *api = app;
	const char *name = http_request_param(req, "name");
	struct jobs_error err;

	if (api_check_query(req, no_params))
		return;
	if (jobs_engine_remove(api->jobs, name, &err)) {
		api_reply_jobs_error(req, &err, NULL);
		return;
	}
	http_reply(req, 204, NULL, NULL, 0);
}
