/*
 * preflight.c - "would this checkpoint work?" without dumping anything.
 *
 * What the container's configuration says (a TTY, bind mounts) is read from
 * its inspect.  What its processes hold (connected sockets, established TCP,
 * locks, deleted files) can only be seen from inside its PID namespace: a
 * short-lived helper container of our own, from a tiny static image that
 * the service imports onto each engine on first use, shares the target's
 * PID and network namespaces (container:<id>), reads /proc and prints JSON
 * (src/probe/README.md).  It is gone again before any dump.  The
 * findings say what would make CRIU fail (blockers) or make a copy fragile
 * (warnings), each with a hint.
 */
#include "jobs/jobs_int.h"
#include "buf.h"
#include "embedded.h"
#include "helper_version.h"
#include "log.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HELPER_REPO "checkpointd-helper"

static void add(struct jobs_finding *list, int *n, int max, const char *code,
		const char *hint, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(struct jobs_finding *list, int *n, int max, const char *code,
		const char *hint, const char *fmt, ...)
{
	va_list ap;

	if (*n >= max)
		return;
	snprintf(list[*n].code, sizeof(list[*n].code), "%s", code);
	snprintf(list[*n].hint, sizeof(list[*n].hint), "%s", hint);
	va_start(ap, fmt);
	vsnprintf(list[*n].message, sizeof(list[*n].message), fmt, ap);
	va_end(ap);
	(*n)++;
}

#define BLOCKER(pf, code, hint, ...) \
	add((pf)->blockers, &(pf)->nblockers, JOBS_MAX_FINDINGS, code, hint, __VA_ARGS__)
#define WARNING(pf, code, hint, ...) \
	add((pf)->warnings, &(pf)->nwarnings, JOBS_MAX_FINDINGS, code, hint, __VA_ARGS__)

/* Makes sure the helper image is on the engine (imported from the binary)
 * and puts its id in ref.  The id, not the name: Podman files an imported
 * image under localhost/ but resolves a short name given to a compat
 * create under docker.io/library/. */
static int helper_image(struct engine *e, char *ref, size_t reflen, struct engine_error *ee)
{
	const struct embedded_file *tar = embedded_find("build/helper-image.tar");
	struct json_object *img = NULL;
	enum engine_result r;
	char name[128];
	const char *id;
	int rc = -1;

	snprintf(name, sizeof(name), "%s:%s", HELPER_REPO, HELPER_IMAGE_TAG);
	r = engine_image_inspect(e, name, &img, ee);
	if (r == ENGINE_NOT_FOUND && tar) {
		r = engine_image_import(e, HELPER_REPO, HELPER_IMAGE_TAG, (const char *)tar->data,
					tar->len, ee);
		if (r == ENGINE_OK)
			r = engine_image_inspect(e, name, &img, ee);
	}
	if (r == ENGINE_OK && (id = jobs_jstr(img, "Id"))) {
		snprintf(ref, reflen, "%s", id);
		rc = 0;
	} else if (r == ENGINE_OK) {
		snprintf(ee->message, sizeof(ee->message), "the helper image has no Id");
	}
	json_object_put(img);
	return rc;
}

static int keep_bytes(void *arg, const char *data, size_t len)
{
	return buf_add(arg, data, len) == BUF_OK ? 0 : 1;
}

static int collect(void *arg, const char *data, size_t len)
{
	struct { struct engine_demux d; struct buf out; } *c = arg;

	return engine_demux_feed(&c->d, data, len, keep_bytes, &c->out);
}

int jobs_helper_run(struct engine *e, const char *target, int share_pid, const char *owner,
		    struct json_object *cmd, const char *cap, struct buf *out, char *why,
		    size_t whylen)
{
	struct json_object *cfg, *hc, *labels, *caps;
	struct engine_error ee;
	struct { struct engine_demux d; struct buf out; } c;
	char image[128], helper[72], mode[120];
	int status = -1, rc = -1;

	if (helper_image(e, image, sizeof(image), &ee)) {
		snprintf(why, whylen, "the helper image is not on the engine: %s", ee.message);
		return -1;
	}
	cfg = json_object_new_object();
	hc = json_object_new_object();
	labels = json_object_new_object();
	caps = json_object_new_array();
	json_object_object_add(cfg, "Image", json_object_new_string(image));
	json_object_object_add(cfg, "Cmd", json_object_get(cmd));
	json_object_object_add(labels, "io.checkpointd.role", json_object_new_string("helper"));
	json_object_object_add(labels, "io.checkpointd.checkpoint", json_object_new_string(owner));
	json_object_object_add(cfg, "Labels", labels);
	/* the target's PID namespace (share_pid) shows its processes; its network
	 * namespace lets the kernel name the peers of unix sockets (and is the
	 * one whose loopback lo-up sets up) */
	snprintf(mode, sizeof(mode), "container:%s", target);
	if (share_pid)
		json_object_object_add(hc, "PidMode", json_object_new_string(mode));
	json_object_object_add(hc, "NetworkMode", json_object_new_string(mode));
	json_object_array_add(caps, json_object_new_string(cap));
	json_object_object_add(hc, "CapAdd", caps);
	jobs_helper_limits(hc);
	json_object_object_add(cfg, "HostConfig", hc);
	if (engine_container_create(e, NULL, cfg, helper, &ee) != ENGINE_OK) {
		json_object_put(cfg);
		snprintf(why, whylen, "cannot create the helper: %s", ee.message);
		return -1;
	}
	json_object_put(cfg);
	memset(&c.d, 0, sizeof(c.d));
	buf_init(&c.out, 4u << 20);
	if (engine_container_start(e, helper, NULL, &ee) != ENGINE_OK) {
		snprintf(why, whylen, "cannot start the helper: %s", ee.message);
		goto out;
	}
	if (engine_container_wait(e, helper, 30000, &status, &ee) != ENGINE_OK || status != 0) {
		snprintf(why, whylen, "the helper did not finish well (status %d): %s", status,
			 ee.message);
		goto out;
	}
	if (out && engine_container_logs(e, helper, 0, collect, &c, &ee) != ENGINE_OK) {
		snprintf(why, whylen, "cannot read the helper's answer: %s", ee.message);
		goto out;
	}
	if (out && buf_add(out, c.out.data ? c.out.data : "", c.out.len) != BUF_OK) {
		snprintf(why, whylen, "the helper's answer is too long");
		goto out;
	}
	rc = 0;
out:
	engine_container_remove(e, helper, 1, &ee);
	buf_release(&c.out);
	return rc;
}

/* Runs the probe in the target's PID namespace; *out gets its JSON.
 * SYS_PTRACE lets it read the /proc of a target that runs as another user
 * (it never calls ptrace). */
static int run_probe(struct engine *e, const char *target, const char *owner,
		     struct json_object **out, char *why, size_t whylen)
{
	struct json_object *cmd = json_object_new_array();
	struct buf answer;
	int rc;

	*out = NULL;
	json_object_array_add(cmd, json_object_new_string("/checkpointd-probe"));
	buf_init(&answer, 4u << 20);
	rc = jobs_helper_run(e, target, 1, owner, cmd, "SYS_PTRACE", &answer, why, whylen);
	json_object_put(cmd);
	if (rc == 0) {
		*out = json_tokener_parse(buf_str(&answer));
		if (!*out) {
			snprintf(why, whylen, "the probe's answer is not JSON");
			rc = -1;
		}
	}
	buf_release(&answer);
	return rc;
}

static int has_warning(const struct jobs_preflight *pf, const char *code)
{
	int i;

	for (i = 0; i < pf->nwarnings; i++)
		if (strcmp(pf->warnings[i].code, code) == 0)
			return 1;
	return 0;
}

/* Turns the probe's findings into blockers and warnings. */
static void judge(struct json_object *probe, struct jobs_preflight *pf)
{
	struct json_object *list, *f;
	size_t i, n;

	if (!json_object_object_get_ex(probe, "findings", &list) ||
	    !json_object_is_type(list, json_type_array))
		return;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		const char *kind, *comm, *path, *local, *remote, *tty;
		struct json_object *v;
		int pid = 0;
		long long size = 0;

		f = json_object_array_get_idx(list, i);
		kind = jobs_jstr(f, "kind");
		comm = jobs_jstr(f, "comm");
		path = jobs_jstr(f, "path");
		local = jobs_jstr(f, "local");
		remote = jobs_jstr(f, "remote");
		tty = jobs_jstr(f, "tty");
		if (json_object_object_get_ex(f, "pid", &v))
			pid = json_object_get_int(v);
		if (json_object_object_get_ex(f, "size", &v))
			size = json_object_get_int64(v);
		if (!kind)
			continue;
		comm = comm ? comm : "?";
		if (strcmp(kind, "unix_socket_external") == 0)
			BLOCKER(pf, "criu_external_unix_socket",
				"close the connection before the checkpoint; for Docker's socket, talk to "
				"Docker over TCP instead (DOCKER_HOST=tcp://HOST:2375) and drop the bind mount",
				"process %d (%s) holds a connection to the unix socket %s, whose other end "
				"is outside the container: CRIU cannot dump it", pid, comm,
				path ? path : "(unnamed)");
		else if (strcmp(kind, "tcp_established") == 0)
			BLOCKER(pf, "criu_tcp_established",
				"close the connection before the checkpoint, or set tcp-established in "
				"/etc/criu/runc.conf on the engine host (Docker passes no CRIU flags)",
				"process %d (%s) has an established TCP connection %s -> %s", pid, comm,
				local ? local : "?", remote ? remote : "?");
		else if (strcmp(kind, "tcp_in_flight") == 0)
			BLOCKER(pf, "criu_tcp_in_flight",
				"let the app accept its pending connections, or set skip-in-flight in "
				"/etc/criu/runc.conf on the engine host",
				"process %d (%s) has connections waiting to be accepted on %s", pid, comm,
				local ? local : "?");
		else if (strcmp(kind, "tty") == 0 && !has_warning(pf, "criu_tty"))
			WARNING(pf, "criu_tty",
				"keep a TTY in every copy, or run the app without one",
				"process %d (%s) uses the terminal %s: a copy restored without a TTY "
				"fails", pid, comm, tty ? tty : "?");
		else if (strcmp(kind, "file_lock") == 0)
			BLOCKER(pf, "criu_file_locks",
				"release the lock before the checkpoint, or set file-locks in "
				"/etc/criu/runc.conf on the engine host",
				"process %d (%s) holds a file lock%s%s", pid, comm, path ? " on " : "",
				path ? path : "");
		else if (strcmp(kind, "deleted_file") == 0 && size > (1 << 20))
			BLOCKER(pf, "criu_ghost_file",
				"close the file before the checkpoint, or raise ghost-limit in "
				"/etc/criu/runc.conf on the engine host",
				"process %d (%s) keeps the deleted file %s (%lld bytes) open: over CRIU's "
				"1 MiB limit for such files", pid, comm, path ? path : "?", size);
		else if (strcmp(kind, "inotify") == 0)
			WARNING(pf, "criu_inotify",
				"avoid file watchers in the app, or set force-irmap in /etc/criu/runc.conf",
				"process %d (%s) watches files with inotify: on overlayfs CRIU may fail to "
				"find the watched files", pid, comm);
		else if (strcmp(kind, "file_bind_mount") == 0)
			WARNING(pf, "bind_mount",
				"make sure every engine that restores it has the same file",
				"%s is a file bind-mounted from the host", path ? path : "?");
	}
}

int jobs_checkpoint_preflight(struct jobs *j, const struct jobs_checkpoint_request *rq,
			      struct jobs_preflight *pf, struct jobs_error *err)
{
	struct engine *e = jobs_engine_find(j, rq->engine);
	struct engine_info info;
	struct engine_error ee;
	struct json_object *c = NULL, *v, *mounts, *probe = NULL;
	enum engine_result r;
	const char *s;
	char why[600];
	size_t i, n;
	int running;

	memset(pf, 0, sizeof(*pf));
	if (!e)
		return jobs_fail(err, "engine_not_found", "no engine called '%s'",
				 rq->engine ? rq->engine : "default");
	snprintf(pf->engine, sizeof(pf->engine), "%s", engine_name(e));
	if (jobs_engine_ready(e, &info, 0, err))
		return -1;
	if (info.experimental == 0)
		BLOCKER(pf, "experimental_disabled",
			"start dockerd with --experimental (or set \"experimental\": true in "
			"/etc/docker/daemon.json) and restart it",
			"engine '%s' runs without experimental features; Docker's checkpoints need them",
			engine_name(e));
	r = engine_container_inspect(e, rq->container, &c, &ee);
	if (r == ENGINE_NOT_FOUND)
		return jobs_fail(err, "container_not_found", "no container '%s' on engine '%s'",
				 rq->container, engine_name(e));
	if (r != ENGINE_OK)
		return jobs_fail_engine(err, r, &ee, "inspecting the container");
	snprintf(pf->container_id, sizeof(pf->container_id), "%s",
		 (s = jobs_jstr(c, "Id")) ? s : rq->container);
	s = jobs_jstr(c, "Name");
	snprintf(pf->container_name, sizeof(pf->container_name), "%s",
		 s ? (s[0] == '/' ? s + 1 : s) : rq->container);
	running = json_object_object_get_ex(c, "State", &v) &&
		  json_object_object_get_ex(v, "Running", &v) && json_object_get_boolean(v);
	if (!running)
		BLOCKER(pf, "container_not_running", "start it, and checkpoint it once it is ready",
			"container '%s' is not running: only a running container can be checkpointed",
			pf->container_name);
	/* a TTY dumps fine here; it is a restore that needs one again */
	if (json_object_object_get_ex(c, "Config", &v) && json_object_object_get_ex(v, "Tty", &v) &&
	    json_object_get_boolean(v))
		WARNING(pf, "criu_tty",
			"keep Tty true in every copy (do not override it), or run the app without a "
			"TTY (no -t)",
			"container '%s' has a TTY (-t): a copy restored without one fails "
			"(\"Don't have tty to inherit session from\")", pf->container_name);
	if (json_object_object_get_ex(c, "Mounts", &mounts) &&
	    json_object_is_type(mounts, json_type_array)) {
		n = json_object_array_length(mounts);
		for (i = 0; i < n; i++) {
			struct json_object *m = json_object_array_get_idx(mounts, i);
			const char *type = jobs_jstr(m, "Type"), *src = jobs_jstr(m, "Source");
			const char *dst = jobs_jstr(m, "Destination");

			if (!type || strcmp(type, "bind") != 0 || !src)
				continue;
			if (strstr(src, ".sock") || strstr(src, "/run/"))
				WARNING(pf, "bind_mount_socket",
					"a connection to a host socket cannot be dumped: close it before "
					"the checkpoint (for Docker, use DOCKER_HOST=tcp://HOST:2375)",
					"the host path %s, likely a socket, is bind-mounted at %s", src,
					dst ? dst : "?");
			else
				WARNING(pf, "bind_mount",
					"a copy on another engine needs the same host path",
					"the host path %s is bind-mounted at %s: a copy restored on another "
					"host will not have it", src, dst ? dst : "?");
		}
	}
	if (running) {
		if (run_probe(e, pf->container_id, "preflight", &probe, why, sizeof(why)) == 0)
			judge(probe, pf);
		else
			WARNING(pf, "probe_failed",
				"the checkpoint may still work; the configuration checks above stand",
				"could not look inside the container: %s", why);
	}
	json_object_put(probe);
	json_object_put(c);
	pf->ok = pf->nblockers == 0;
	return 0;
}
