/*
 * podman.c - the calls only a Podman engine has (libpod's checkpoint and
 * restore); see engine.h.
 *
 * Everything else a Podman engine serves through the Docker-compatible
 * routes in docker.c.  libpod routes carry a version prefix; v4.0.0 is
 * served by every Podman 4 and 5.
 */
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "clock.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define LIBPOD "/v4.0.0/libpod"

enum engine_result engine_podman_checkpoint(struct engine *e, const char *id, int leave_running,
					    engine_stream_fn fn, void *arg,
					    struct engine_error *err)
{
	char path[800], i[400];
	/* a dump of a large container takes long before its first byte: a
	 * bound on the whole call, not a low-speed limit */
	struct call c = {.method = "POST", .path = path, .stream = fn, .arg = arg,
			 .timeout_ms = 30 * 60 * 1000L};
	enum engine_result r;

	engine_esc(id, i, sizeof(i));
	/* keep=true: the files stay with the container too, for in-place
	 * restores; export=true: the archive comes back as the answer */
	snprintf(path, sizeof(path), LIBPOD "/containers/%s/checkpoint?export=true&keep=true%s", i,
		 leave_running ? "&leaveRunning=true" : "");
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	return r;
}

struct upload {
	engine_read_fn fn;
	void *arg;
};

static size_t upload_read(char *out, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t got = u->fn(u->arg, out, size * n);

	return got == ENGINE_READ_ABORT ? CURL_READFUNC_ABORT : got;
}

enum engine_result engine_podman_restore(struct engine *e, const char *id, const char *name,
					 engine_read_fn rd, void *arg, char out_id[72],
					 struct json_object **stats, struct engine_error *err)
{
	char path[900], i[400], n[400];
	struct upload u = {rd, arg};
	struct call c = {.method = "POST", .path = path, .timeout_ms = 30 * 60 * 1000L};
	struct json_object *o = NULL, *v;
	enum engine_result r;
	const char *s;

	out_id[0] = '\0';
	if (stats)
		*stats = NULL;
	if (rd) {
		engine_esc(name ? name : "", n, sizeof(n));
		/* with import the path's name is not used: the archive is */
		snprintf(path, sizeof(path),
			 LIBPOD "/containers/import/restore?import=true&printStats=true%s%s",
			 name ? "&name=" : "", name ? n : "");
		c.upload_fn = upload_read;
		c.upload_arg = &u;
		c.body_type = "application/x-tar";
	} else {
		engine_esc(id, i, sizeof(i));
		snprintf(path, sizeof(path), LIBPOD "/containers/%s/restore?keep=true&printStats=true",
			 i);
	}
	r = engine_call_run(e, &c, err);
	if (r == ENGINE_OK) {
		o = json_tokener_parse(buf_str(&c.reply));
		if (!o || !(s = engine_jstr(o, "Id"))) {
			err->http_status = 200;
			snprintf(err->message, sizeof(err->message),
				 "the engine's answer to the restore names no container");
			r = ENGINE_BAD_REPLY;
		} else {
			snprintf(out_id, 72, "%s", s);
			if (stats && json_object_object_get_ex(o, "criu_statistics", &v) &&
			    json_object_is_type(v, json_type_object))
				*stats = json_object_get(v);
		}
	}
	json_object_put(o);
	buf_release(&c.reply);
	return r;
}

