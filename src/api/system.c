/*
 * system.c - /health, /profiles and /openapi.json, and the route table.  All answer from memory
 * (the engines' last probe), so dashboards can poll them cheaply.
 */
#include "api/api_int.h"
#include "clock.h"
#include "embedded.h"
#include "engine/engine.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

static const char *const no_params[] = {NULL};

void api_health(struct http_request *req, void *app)
{
	struct api *api = app;
	struct json_object *o, *engines, *down;
	struct engine_info info;
	struct engine *list[JOBS_MAX_ENGINES];
	int i, n = jobs_engines(api->jobs, list, JOBS_MAX_ENGINES);

	if (api_check_query(req, no_params))
		return;
	o = json_object_new_object();
	engines = json_object_new_array();
	down = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct engine *e = list[i];
		struct json_object *x = json_object_new_object();

		engine_info_get(e, &info);
		json_object_object_add(x, "name", json_object_new_string(engine_name(e)));
		json_object_object_add(x, "reachable", json_object_new_boolean(info.reachable));
		json_object_array_add(engines, x);
		if (!info.reachable)
			json_object_array_add(down, json_object_new_string(engine_name(e)));
	}
	json_object_object_add(o, "status", json_object_new_string(
				       json_object_array_length(down) ? "degraded" : "ok"));
	json_object_object_add(o, "version", json_object_new_string(CHECKPOINTD_VERSION));
	json_object_object_add(o, "engines", engines);
	json_object_object_add(o, "unreachable", down);
	http_reply_json(req, 200, o);
	json_object_put(o);
}

void api_openapi(struct http_request *req, void *app)
{
	const struct embedded_file *f = embedded_find("openapi/openapi.json");

	(void)app;
	if (api_check_query(req, no_params))
		return;
	if (!f) {
		http_reply_error(req, 500, "internal_error", "the OpenAPI document is not built in");
		return;
	}
	http_reply(req, 200, "application/json", (const char *)f->data, f->len);
}

/* GET /profiles: the named presets of hooks (jobs/hooks.c). */
void api_profiles(struct http_request *req, void *app)
{
	const struct jobs_profile *p;
	struct json_object *o, *items;
	int i, n = jobs_profiles(&p);

	(void)app;
	if (api_check_query(req, no_params))
		return;
	items = json_object_new_array();
	for (i = 0; i < n; i++) {
		struct json_object *x = json_tokener_parse(p[i].hooks);

		json_object_object_add(x, "name", json_object_new_string(p[i].name));
		json_object_object_add(x, "description", json_object_new_string(p[i].description));
		json_object_array_add(items, x);
	}
	o = json_object_new_object();
	json_object_object_add(o, "items", items);
	http_reply_json(req, 200, o);
	json_object_put(o);
}

static const struct http_route routes[] = {
	{"GET", "/health", api_health, 0},
	{"GET", "/openapi.json", api_openapi, 0},
	{"GET", "/profiles", api_profiles, 0},
	{"GET", "/engines", api_engines_list, 0},
	{"POST", "/engines", api_engines_create, HTTP_ROUTE_JSON_BODY},
	{"GET", "/engines/{name}", api_engines_get, 0},
	{"DELETE", "/engines/{name}", api_engines_delete, 0},
	{"GET", "/checkpoints", api_checkpoints_list, 0},
	{"POST", "/checkpoints", api_checkpoints_create, HTTP_ROUTE_JSON_BODY},
	{"GET", "/checkpoints/{id}", api_checkpoints_get, 0},
	{"DELETE", "/checkpoints/{id}", api_checkpoints_delete, 0},
	{"GET", "/checkpoints/{id}/log", api_checkpoints_log, 0},
	{"POST", "/checkpoints/{id}/copies", api_checkpoints_copy, HTTP_ROUTE_JSON_BODY},
	{"GET", "/restores", api_restores_list, 0},
	{"POST", "/restores", api_restores_create, HTTP_ROUTE_JSON_BODY},
	{"GET", "/restores/{id}", api_restores_get, 0},
	{"DELETE", "/restores/{id}", api_restores_delete, 0},
	{"GET", "/restores/{id}/log", api_restores_log, 0},
	{NULL, NULL, NULL, 0},
};

const struct http_route *api_routes(void)
{
	return routes;
}
