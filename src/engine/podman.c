/*
 * podman.c - the calls only a Podman engine has (libpod's checkpoint and
 * restore, and exec the way Podman's compat API needs it); see engine.h.
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

struct exec_out {
	struct engine_demux d;
	engine_stream_fn fn;
	void *arg;
};

static int exec_chunk(void *arg, const char *data, size_t len)
{
	struct exec_out *x = arg;

	if (!x->fn)
		return 0;
	return engine_demux_feed(&x->d, data, len, x->fn, x->arg);
}

enum engine_result engine_podman_exec(struct engine *e, const char *id, struct json_object *argv,
				      long timeout_ms, int *exit_code, engine_stream_fn fn,
				      void *arg, struct engine_error *err)
{
	char path[600], i[400], xid[80];
	struct json_object *body = json_object_new_object(), *out = NULL, *v;
	struct exec_out x = {.fn = fn, .arg = arg};
	struct call c = {.method = "POST", .path = path, .body = "{\"Detach\":false}",
			 .stream = exec_chunk, .arg = &x};
	enum engine_result r;
	const char *s;
	int64_t t0 = clock_mono_ms();

	*exit_code = -1;
	engine_esc(id, i, sizeof(i));
	snprintf(path, sizeof(path), "/containers/%s/exec", i);
	json_object_object_add(body, "Cmd", json_object_get(argv));
	/* Podman refuses an exec with no stream attached (500 "must provide at
	 * least one stream"), and a detached one stays "Running" until its
	 * session is reaped minutes later: attach, and the start call ends
	 * when the command does */
	json_object_object_add(body, "AttachStdout", json_object_new_boolean(1));
	json_object_object_add(body, "AttachStderr", json_object_new_boolean(1));
	r = engine_call_json(e, "POST", path,
			     json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), 30000,
			     &out, err);
	json_object_put(body);
	if (r != ENGINE_OK)
		goto done;
	s = engine_jstr(out, "Id");
	if (!s) {
		snprintf(err->message, sizeof(err->message), "exec create answered no Id");
		r = ENGINE_BAD_REPLY;
		goto done;
	}
	snprintf(xid, sizeof(xid), "%s", s);
	json_object_put(out);
	out = NULL;
	snprintf(path, sizeof(path), "/exec/%s/start", xid);
	c.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	if (r == ENGINE_UNREACHABLE && clock_mono_ms() - t0 >= timeout_ms) {
		snprintf(err->message, sizeof(err->message), "exec still running after %ldms",
			 timeout_ms);
		r = ENGINE_ABORTED;
	}
	if (r != ENGINE_OK)
		goto done;
	snprintf(path, sizeof(path), "/exec/%s/json", xid);
	r = engine_call_json(e, "GET", path, NULL, 30000, &out, err);
	if (r == ENGINE_OK && json_object_object_get_ex(out, "ExitCode", &v) &&
	    json_object_is_type(v, json_type_int))
		*exit_code = json_object_get_int(v);
done:
	json_object_put(out);
	return r;
}
