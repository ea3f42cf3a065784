/*
 * restore.c - starting a ready copy from a checkpoint, and the cold
 * baseline to compare it with.
 *
 * Docker restores only from <root>/containers/<target>/checkpoints/NAME
 * (a custom checkpoint folder on start is refused, moby#37344), so the
 * checkpoint's files must be staged there first.  We stage without copying a
 * byte: a PUT of a tiny tar of *hard links* through the archive API of a
 * created-never-started helper that binds the engine's root folder.  Docker
 * unpacks it on the engine host, so each staged file is one more name for
 * the checkpoint's own file (same filesystem, same inode).  Staging costs one
 * small request whatever the checkpoint's size, and works on a remote
 * engine.  The staged names go away again once the container has started.
 *
 * Every staging also holds one small file of its own (checkpointd-restore,
 * naming the restore).  Docker turns the folder into a tar for containerd,
 * whose content store is addressed by digest: two restores of one checkpoint
 * would send byte-identical tars, and the second, or a concurrent one, fails
 * with "content sha256:...: already exists" (moby#42900).  One unique file
 * makes each tar unique; CRIU ignores files it does not know.
 *
 * Known engine flakes on start?checkpoint= are still retried (only those, at
 * most three attempts): moby#42900 and the three others CRIU's own CI
 * retries.
 */
#include "jobs/jobs_int.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "store/store.h"
#include "tar.h"

#include <ctype.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <poll.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESTORE_LABEL "io.checkpointd.restore"
#define START_ATTEMPTS 3

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* --- begin */

int jobs_restore_begin(struct jobs *j, const struct jobs_restore_request *rq,
		       struct store_restore *out, struct jobs_error *err)
{
	struct store_checkpoint ck;
	struct engine *e, *src;
	struct engine_info info;
	struct engine_error ee;
	struct json_object *c = NULL, *req = NULL, *v;
	enum engine_result r;
	enum store_result sr;
	int rc = -1;

	store_checkpoint_init(&ck);
	sr = store_checkpoint_get(jobs_store(j), rq->checkpoint, &ck);
	if (sr == STORE_NOT_FOUND) {
		jobs_fail(err, "checkpoint_not_found", "no checkpoint '%s'", rq->checkpoint);
		goto out;
	}
	if (sr != STORE_OK) {
		jobs_fail(err, "internal_error", "reading checkpoint '%s': %s", rq->checkpoint,
			  store_last_error());
		goto out;
	}
	if (ck.status != STORE_READY) {
		jobs_fail(err, "checkpoint_not_ready", "checkpoint '%s' is %s, not ready", ck.id,
			  store_status_name(ck.status));
		snprintf(err->hint, sizeof(err->hint), "%s",
			 ck.status == STORE_FAILED ? "take a new checkpoint"
						   : "wait until its status is ready");
		goto out;
	}
	src = jobs_engine_find(j, ck.engine);
	e = rq->engine ? jobs_engine_find(j, rq->engine) : src;
	if (!e) {
		if (rq->engine)
			jobs_fail(err, "engine_not_found", "no engine called '%s'", rq->engine);
		else
			jobs_fail(err, "engine_not_found",
				  "checkpoint '%s' lives on engine '%s', which is not configured", ck.id,
				  ck.engine);
		goto out;
	}
	if (e != src) {
		if (!src) {
			jobs_fail(err, "engine_not_found",
				  "checkpoint '%s' lives on engine '%s', which is not configured", ck.id,
				  ck.engine);
			goto out;
		}
		if (rq->in_place) {
			jobs_fail(err, "invalid_field",
				  "an in-place restore happens on the checkpoint's engine '%s'", ck.engine);
			snprintf(err->field, sizeof(err->field), "engine");
			goto out;
		}
	}
	if (jobs_engine_ready(e, &info, !rq->cold, err))
		goto out;
	if (!rq->cold && jobs_kind_matches(&ck, e, err))
		goto out;
	if (!rq->cold && rq->overrides && engine_kind(e) == ENGINE_PODMAN) {
		jobs_fail(err, "invalid_field",
			  "a restore on a Podman engine takes the container's configuration from the "
			  "checkpoint's archive: overrides apply to cold starts only there");
		snprintf(err->field, sizeof(err->field), "overrides");
		goto out;
	}

	jobs_new_id("rs-", out->id, sizeof(out->id));
	snprintf(out->checkpoint_id, sizeof(out->checkpoint_id), "%s", ck.id);
	snprintf(out->engine, sizeof(out->engine), "%s", engine_name(e));
	out->in_place = rq->in_place;
	out->cold = rq->cold;
	out->status = STORE_PENDING;
	if (rq->in_place) {
		r = engine_container_inspect(e, ck.container_id, &c, &ee);
		if (r == ENGINE_NOT_FOUND) {
			jobs_fail(err, "container_not_found",
				  "the checkpoint's container '%s' is gone from engine '%s'",
				  ck.container_name, ck.engine);
			snprintf(err->hint, sizeof(err->hint),
				 "restore into a new container (in_place false)");
			goto out;
		}
		if (r != ENGINE_OK) {
			jobs_fail_engine(err, r, &ee, "inspecting the original container");
			goto out;
		}
		if (json_object_object_get_ex(c, "State", &v) &&
		    json_object_object_get_ex(v, "Running", &v) && json_object_get_boolean(v)) {
			jobs_fail(err, "container_running",
				  "container '%s' is running: an in-place restore needs it stopped",
				  ck.container_name);
			snprintf(err->hint, sizeof(err->hint),
				 "stop it first, or restore into a new container (in_place false)");
			goto out;
		}
		snprintf(out->container_id, sizeof(out->container_id), "%s", ck.container_id);
		snprintf(out->container_name, sizeof(out->container_name), "%s", ck.container_name);
	} else {
		if (rq->name)
			snprintf(out->container_name, sizeof(out->container_name), "%s", rq->name);
		else
			snprintf(out->container_name, sizeof(out->container_name), "%.200s-%s",
				 ck.container_name, out->id);
		r = engine_container_inspect(e, out->container_name, &c, &ee);
		if (r == ENGINE_OK) {
			jobs_fail(err, "name_conflict", "a container called '%s' exists on engine '%s'",
				  out->container_name, engine_name(e));
			snprintf(err->hint, sizeof(err->hint), "choose another name, or leave it out");
			goto out;
		}
		if (r != ENGINE_NOT_FOUND) {
			jobs_fail_engine(err, r, &ee, "checking the container name");
			goto out;
		}
	}
	req = json_object_new_object();
	if (rq->overrides)
		json_object_object_add(req, "overrides", json_object_get(rq->overrides));
	if (rq->ready)
		json_object_object_add(req, "ready", json_object_get(rq->ready));
	if (rq->after)
		json_object_object_add(req, "after", json_object_get(rq->after));
	out->request_json = strdup(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	sr = store_restore_insert(jobs_store(j), out);
	if (sr != STORE_OK) {
		jobs_fail(err, "internal_error", "cannot record the restore: %s", store_last_error());
		goto out;
	}
	if (jobs_queue2(j, out->id, e, jobs_same_daemon(e, src) ? NULL : src, jobs_restore_run)) {
		out->status = STORE_FAILED;
		snprintf(out->error_code, sizeof(out->error_code), "shutting_down");
		free(out->error_message);
		out->error_message = strdup("the service is stopping");
		store_restore_update(jobs_store(j), out);
		jobs_fail(err, "shutting_down", "the service is stopping and takes no new jobs");
		goto out;
	}
	log_line("job %s: queued %s of checkpoint %s on engine %s", out->id,
		 rq->cold ? "cold start" : rq->in_place ? "in-place restore" : "restore", ck.id,
		 engine_name(e));
	rc = 0;
out:
	json_object_put(c);
	json_object_put(req);
	store_checkpoint_release(&ck);
	return rc;
}

/* --- building the copy */

/* Merges src into dst (objects member by member, recursively; anything
 * else replaces).  Takes nothing: dst gets new references. */
static void merge(struct json_object *dst, struct json_object *src)
{
	json_object_object_foreach(src, k, v) {
		struct json_object *d;

		if (json_object_is_type(v, json_type_object) &&
		    json_object_object_get_ex(dst, k, &d) && json_object_is_type(d, json_type_object))
			merge(d, v);
		else
			json_object_object_add(dst, k, json_object_get(v));
	}
}

/* Podman's inspect names limits "RLIMIT_NOFILE", which its own create
 * refuses: the Engine API's names are "nofile".  Changes hc in place. */
static void ulimit_names(struct json_object *hc)
{
	struct json_object *list, *u, *name;
	size_t i;

	if (!json_object_object_get_ex(hc, "Ulimits", &list) ||
	    !json_object_is_type(list, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(list); i++) {
		char low[64];
		const char *s;
		size_t k;

		u = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(u, "Name", &name) ||
		    !json_object_is_type(name, json_type_string))
			continue;
		s = json_object_get_string(name);
		if (strncmp(s, "RLIMIT_", 7) != 0)
			continue;
		for (k = 0; s[7 + k] && k + 1 < sizeof(low); k++)
			low[k] = (char)tolower((unsigned char)s[7 + k]);
		low[k] = '\0';
		json_object_object_add(u, "Name", json_object_new_string(low));
	}
}

/* The create body for a copy of the checkpointed container: its recorded
 * Config and HostConfig, the committed image, our labels, the overrides. */
static struct json_object *copy_config(const struct store_checkpoint *ck,
				       const struct store_restore *rs,
				       struct json_object *overrides)
{
	struct json_object *inspect = ck->config_json ? json_tokener_parse(ck->config_json) : NULL;
	struct json_object *cfg, *v, *labels;

	if (!inspect)
		return NULL;
	if (json_object_object_get_ex(inspect, "Config", &v) && json_object_is_type(v, json_type_object))
		cfg = json_object_get(v);
	else
		cfg = json_object_new_object();
	if (json_object_object_get_ex(inspect, "HostConfig", &v)) {
		json_object_object_add(cfg, "HostConfig", json_object_get(v));
		ulimit_names(v);
	}
	json_object_object_add(cfg, "Image", json_object_new_string(ck->image_id));
	if (!json_object_object_get_ex(cfg, "Labels", &labels) ||
	    !json_object_is_type(labels, json_type_object)) {
		labels = json_object_new_object();
		json_object_object_add(cfg, "Labels", labels);
	}
	json_object_object_add(labels, RESTORE_LABEL, json_object_new_string(rs->id));
	json_object_object_add(labels, "io.checkpointd.checkpoint", json_object_new_string(ck->id));
	if (overrides)
		merge(cfg, overrides);
	json_object_put(inspect);
	return cfg;
}

/* Stages the checkpoint's files into <root>/containers/<target>/
 * checkpoints/<as> as hard links (see the file comment). */
static int stage(struct engine *e, const char *root, const struct store_checkpoint *ck,
		 const char *srcdir, const char *target, const char *as, struct jobs_error *err)
{
	struct json_object *files = ck->files_json ? json_tokener_parse(ck->files_json) : NULL;
	struct buf tar;
	struct engine_error ee;
	enum engine_result r;
	char helper[72] = "", bind[700], dst[400], path[5000], link[5000];
	const char *src;
	size_t rootlen = strlen(root), i, n;
	int rc = -1;

	buf_init(&tar, 64u << 20);
	if (!files || !json_object_is_type(files, json_type_array)) {
		jobs_fail(err, "internal_error", "checkpoint '%s' has no list of files", ck->id);
		goto out;
	}
	if (strncmp(srcdir, root, rootlen) != 0 || srcdir[rootlen] != '/') {
		jobs_fail(err, "engine_error",
			  "checkpoint folder '%s' is not under the engine's root folder '%s'",
			  srcdir, root);
		goto out;
	}
	src = srcdir + rootlen + 1;
	snprintf(dst, sizeof(dst), "containers/%s/checkpoints/%s", target, as);
	n = json_object_array_length(files);
	for (i = 0; i < n; i++) {
		const char *f = json_object_get_string(json_object_array_get_idx(files, i));
		size_t flen = strlen(f);

		if (!flen || strstr(f, "..") || f[0] == '/')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dst, f);
		if (f[flen - 1] == '/') {
			path[strlen(path) - 1] = '\0';
			if (tar_add_dir(&tar, path, 0700))
				goto toobig;
		} else {
			snprintf(link, sizeof(link), "%s/%s", src, f);
			if (tar_add_hardlink(&tar, path, link))
				goto toobig;
		}
	}
	snprintf(path, sizeof(path), "%s/checkpointd-restore", dst);
	snprintf(link, sizeof(link), "%s %s %lld\n", as, ck->id, (long long)clock_now_ms());
	if (tar_add_file(&tar, path, link, strlen(link), 0600) || tar_finish(&tar))
		goto toobig;
	snprintf(bind, sizeof(bind), "%s:/r", root);
	r = jobs_helper_create(e, ck->image_id, bind, as, helper, &ee);
	if (r != ENGINE_OK) {
		jobs_fail_engine(err, r, &ee, "creating the staging helper");
		goto out;
	}
	r = engine_container_archive_put(e, helper, "/r", tar.data, tar.len, &ee);
	engine_container_remove(e, helper, 1, &(struct engine_error){0});
	if (r != ENGINE_OK) {
		jobs_fail_engine(err, r, &ee, "staging the checkpoint's files");
		goto out;
	}
	rc = 0;
	goto out;
toobig:
	jobs_fail(err, "internal_error", "checkpoint '%s' lists too many files to stage", ck->id);
out:
	buf_release(&tar);
	json_object_put(files);
	return rc;
}

/* --- ready probes */

struct log_scan {
	regex_t re;
	struct engine_demux demux;
	char line[65536];
	size_t line_len;
	int matched;
};

static int scan_bytes(void *arg, const char *p, size_t n)
{
	struct log_scan *ls = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' || ls->line_len == sizeof(ls->line) - 1) {
			ls->line[ls->line_len] = '\0';
			ls->line_len = 0;
			if (regexec(&ls->re, ls->line, 0, NULL, 0) == 0) {
				ls->matched = 1;
				return 1;
			}
			if (p[i] == '\n')
				continue;
		}
		ls->line[ls->line_len++] = p[i];
	}
	return 0;
}

static int log_chunk(void *arg, const char *data, size_t len)
{
	struct log_scan *ls = arg;

	return engine_demux_feed(&ls->demux, data, len, scan_bytes, ls);
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One HTTP probe attempt from the service: ready on a 2xx or 3xx. */
static int http_once(const char *url, long timeout_ms)
{
	CURL *h = curl_easy_init();
	long status = 0;
	CURLcode cc;

	if (!h)
		return 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	return cc == CURLE_OK && status >= 200 && status < 400;
}

/* One TCP probe attempt: ready when a connection opens. */
static int tcp_once(const char *hostport, long timeout_ms)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = {0}, *ai = NULL, *a;
	int ok = 0;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return 0;
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai))
		return 0;
	for (a = ai; a && !ok; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ok = 1;
		} else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, (int)timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				ok = 1;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

/* Waits until the probe says ready.  *ms gets the time it took.  A missing
 * probe means ready once started.  0 when ready, -1 with err otherwise. */
static int wait_ready(struct engine *e, const char *cid, struct json_object *probe, int tty,
		      int64_t since_ms, int64_t *ms, struct jobs_error *err)
{
	struct json_object *v, *argv = NULL;
	const char *url = NULL, *tcp = NULL, *pattern = NULL;
	long timeout_ms = 60000, interval = 100;
	int64_t t0 = clock_mono_ms(), deadline;
	struct log_scan *ls = NULL;
	struct engine_error ee;
	const char *kind;
	int rc = -1;

	*ms = 0;
	if (!probe)
		return 0;
	if (json_object_object_get_ex(probe, "timeout_s", &v))
		timeout_ms = (long)json_object_get_int(v) * 1000;
	if (json_object_object_get_ex(probe, "interval_ms", &v))
		interval = json_object_get_int(v);
	if (json_object_object_get_ex(probe, "exec", &v))
		argv = v, kind = "exec";
	else if (json_object_object_get_ex(probe, "http", &v))
		url = json_object_get_string(v), kind = "http";
	else if (json_object_object_get_ex(probe, "tcp", &v))
		tcp = json_object_get_string(v), kind = "tcp";
	else if (json_object_object_get_ex(probe, "log", &v))
		pattern = json_object_get_string(v), kind = "log";
	else
		return 0;
	if (pattern) {
		ls = calloc(1, sizeof(*ls));
		if (!ls || regcomp(&ls->re, pattern, REG_EXTENDED | REG_NOSUB)) {
			free(ls);
			return jobs_fail(err, "internal_error", "the log pattern does not compile");
		}
		ls->demux.raw = tty;
	}
	deadline = t0 + timeout_ms;
	for (;;) {
		long left = (long)(deadline - clock_mono_ms());
		long attempt = left < 2000 ? (left > 50 ? left : 50) : 2000;
		int ready = 0, code;

		if (argv) {
			enum engine_result r = engine_exec(e, cid, argv, attempt > 1000 ? attempt : 1000,
							   &code, &ee);
			ready = r == ENGINE_OK && code == 0;
			if (r != ENGINE_OK && r != ENGINE_ABORTED && r != ENGINE_CONFLICT) {
				jobs_fail_engine(err, r, &ee, "running the ready probe");
				goto out;
			}
		} else if (url) {
			ready = http_once(url, attempt);
		} else if (tcp) {
			ready = tcp_once(tcp, attempt);
		} else {
			ls->demux.fill = 0;
			ls->demux.left = 0;
			ls->line_len = 0;
			engine_container_logs(e, cid, since_ms, log_chunk, ls, &ee);
			ready = ls->matched;
		}
		if (ready) {
			*ms = clock_mono_ms() - t0;
			rc = 0;
			goto out;
		}
		if (clock_mono_ms() + interval > deadline) {
			jobs_fail(err, "not_ready", "the %s probe did not succeed within %lds", kind,
				  timeout_ms / 1000);
			snprintf(err->hint, sizeof(err->hint),
				 "check the probe, or give it a longer timeout_s");
			*ms = clock_mono_ms() - t0;
			goto out;
		}
		sleep_ms(interval);
	}
out:
	if (ls) {
		regfree(&ls->re);
		free(ls);
	}
	return rc;
}

/* A checkpoint taken with a TTY restores only into a container that has
 * one: CRIU fails with "Don't have tty to inherit session from", which
 * Docker reports as a bare "bad file descriptor" (and containerd deletes
 * the restore log).  Says so when it is the case. */
static int tty_lost(const struct store_checkpoint *ck, struct json_object *cfg,
		    struct jobs_error *err)
{
	struct json_object *inspect, *v;
	char said[sizeof(err->message)];
	int had = 0, has = 0;

	if (!cfg || !ck->config_json)
		return 0;
	inspect = json_tokener_parse(ck->config_json);
	if (inspect && json_object_object_get_ex(inspect, "Config", &v) &&
	    json_object_object_get_ex(v, "Tty", &v))
		had = json_object_get_boolean(v);
	json_object_put(inspect);
	if (json_object_object_get_ex(cfg, "Tty", &v))
		has = json_object_get_boolean(v);
	if (!had || has)
		return 0;
	snprintf(said, sizeof(said), "%s", err->message);
	jobs_fail(err, "criu_tty",
		  "the checkpoint was taken with a TTY and this copy has none: CRIU cannot give "
		  "the restored processes their terminal back (Docker said: %s)", said);
	snprintf(err->hint, sizeof(err->hint),
		 "keep Tty true in the copy (do not override it), or checkpoint the app running "
		 "without a TTY");
	return 1;
}

/* --- the job */

/* Runs the after hooks in the restored container: the request's "after"
 * when it has one (even empty), else the checkpoint's after_restore. */
static int after_restore(struct jobs *j, struct engine *e, const struct store_checkpoint *ck,
			 struct store_restore *rs, struct json_object *req,
			 struct jobs_error *err)
{
	struct json_object *hooks = NULL, *after = NULL;
	int rc;

	if (!(req && json_object_object_get_ex(req, "after", &after)) && ck->hooks_json) {
		hooks = json_tokener_parse(ck->hooks_json);
		json_object_object_get_ex(hooks, "after_restore", &after);
	}
	if (!after || !json_object_array_length(after)) {
		json_object_put(hooks);
		return 0;
	}
	rc = jobs_hooks_run(e, rs->container_id, after, "after", &rs->hook_results_json,
			    &rs->t_after, err);
	store_restore_update(jobs_store(j), rs);
	log_line("job %s: after hooks in %lldms", rs->id, (long long)rs->t_after);
	json_object_put(hooks);
	return rc;
}

/* A restore on a Podman engine: the libpod call, then the loopback set up
 * again when the container has no network of its own (Podman leaves it
 * down).  Fills rs's container, timings and CRIU statistics; *tty says
 * whether the container has a terminal (for the log probe). */
static int podman_start(struct jobs *j, struct engine *e, const struct store_checkpoint *ck,
			struct store_restore *rs, int *tty, struct jobs_error *err)
{
	struct json_object *cfg = ck->config_json ? json_tokener_parse(ck->config_json) : NULL;
	struct json_object *v, *hc;
	struct engine_error ee;
	enum engine_result r;
	int none = 0, rc = -1;
	int64_t t = clock_mono_ms();

	if (json_object_object_get_ex(cfg, "Config", &v) && json_object_object_get_ex(v, "Tty", &v))
		*tty = json_object_get_boolean(v);
	if (json_object_object_get_ex(cfg, "HostConfig", &hc) &&
	    json_object_object_get_ex(hc, "NetworkMode", &v) && json_object_is_type(v, json_type_string))
		none = strcmp(json_object_get_string(v), "none") == 0;
	r = jobs_podman_restore(e, ck, rs, &ee);
	rs->t_start = clock_mono_ms() - t;
	if (r != ENGINE_OK) {
		if (r == ENGINE_UNREACHABLE)
			jobs_fail_engine(err, r, &ee, "restoring the container");
		else if (r == ENGINE_CONFLICT || strstr(ee.message, "already in use"))
			jobs_fail(err, "name_conflict", "a container called '%s' exists: %s",
				  rs->container_name, ee.message);
		else {
			jobs_fail(err, "restore_failed", "%s", ee.message);
			jobs_diagnose(j, e, rs->id, ck->image_id, ee.message, err);
		}
		goto out;
	}
	store_restore_update(jobs_store(j), rs);
	log_line("job %s: restored %s on Podman in %lldms", rs->id, rs->container_name,
		 (long long)rs->t_start);
	if (none) {
		int64_t lo = clock_mono_ms();

		if (jobs_podman_loopback_up(e, rs->container_id, rs->id, err))
			goto out;
		rs->t_start = clock_mono_ms() - t;
		store_restore_update(jobs_store(j), rs);
		log_line("job %s: loopback set up in %lldms", rs->id,
			 (long long)(clock_mono_ms() - lo));
	}
	rc = 0;
out:
	json_object_put(cfg);
	return rc;
}

static void restore_failed(struct jobs *j, struct store_restore *rs, int64_t t0,
			   const struct jobs_error *err)
{
	rs->status = STORE_FAILED;
	snprintf(rs->error_code, sizeof(rs->error_code), "%s", err->code);
	free(rs->error_message);
	rs->error_message = strdup(err->message);
	rs->t_total = clock_mono_ms() - t0;
	if (!err->diagnosed && err->hint[0])
		store_diagnosis_put(jobs_store(j), rs->id, err->hint, NULL, NULL, NULL, 0);
	store_restore_update(jobs_store(j), rs);
	log_line("job %s: failed (%s): %s", rs->id, err->code, err->message);
}

void jobs_restore_run(struct jobs *j, struct job *job)
{
	struct engine *e = job->engine;
	struct store_restore rs;
	struct store_checkpoint ck;
	struct engine_info info;
	struct engine_error ee;
	struct jobs_error err;
	struct json_object *req = NULL, *overrides = NULL, *probe = NULL, *cfg = NULL, *v;
	enum engine_result r;
	int64_t t0 = clock_mono_ms(), t, since;
	int created = 0, tty = 0, attempt;
	char copydir[1024];
	const char *srcdir;

	memset(&err, 0, sizeof(err));
	store_restore_init(&rs);
	store_checkpoint_init(&ck);
	if (store_restore_get(jobs_store(j), job->id, &rs) != STORE_OK) {
		log_line("job %s: record vanished", job->id);
		goto out;
	}
	rs.status = STORE_RUNNING;
	store_restore_update(jobs_store(j), &rs);
	if (store_checkpoint_get(jobs_store(j), rs.checkpoint_id, &ck) != STORE_OK) {
		jobs_fail(&err, "checkpoint_not_found", "checkpoint '%s' was deleted", rs.checkpoint_id);
		goto failed;
	}
	engine_info_get(e, &info);
	srcdir = ck.directory;
	req = rs.request_json ? json_tokener_parse(rs.request_json) : NULL;
	if (req) {
		json_object_object_get_ex(req, "overrides", &overrides);
		json_object_object_get_ex(req, "ready", &probe);
	}

	/* 0. on another engine: the checkpoint goes there first, unless a copy
	 * is there already (then it is reused, and kept for later restores) */
	if (job->engine2) {
		struct store_copy cp;

		if (store_copy_get(jobs_store(j), ck.id, rs.engine, &cp) == STORE_OK &&
		    cp.status == STORE_READY) {
			snprintf(copydir, sizeof(copydir), "%s", cp.directory);
		} else {
			int64_t moved = 0;

			t = clock_mono_ms();
			memset(&cp, 0, sizeof(cp));
			snprintf(cp.checkpoint_id, sizeof(cp.checkpoint_id), "%s", ck.id);
			snprintf(cp.engine, sizeof(cp.engine), "%s", rs.engine);
			cp.status = STORE_RUNNING;
			cp.bytes = STORE_UNSET;
			store_copy_put(jobs_store(j), &cp);
			if (jobs_transfer(j, rs.id, &ck, job->engine2, e, copydir, sizeof(copydir),
					  &moved, &err)) {
				cp.status = STORE_FAILED;
				snprintf(cp.error_message, sizeof(cp.error_message), "%s", err.message);
				store_copy_put(jobs_store(j), &cp);
				goto failed;
			}
			cp.status = STORE_READY;
			cp.bytes = moved;
			snprintf(cp.directory, sizeof(cp.directory), "%s", copydir);
			store_copy_put(jobs_store(j), &cp);
			log_line("job %s: moved %lld bytes in %lldms", rs.id, (long long)moved,
				 (long long)(clock_mono_ms() - t));
		}
		srcdir = copydir;
	}

	/* on Podman, one call restores (into a new container from the
	 * archive, or in place) */
	if (engine_kind(e) == ENGINE_PODMAN && !rs.cold) {
		since = clock_now_ms();
		if (podman_start(j, e, &ck, &rs, &tty, &err)) {
			/* what a failed import left under the new name goes too
			 * (not a container that held the name before) */
			if (!rs.in_place && !rs.container_id[0] &&
			    strcmp(err.code, "name_conflict") != 0)
				snprintf(rs.container_id, sizeof(rs.container_id), "%s",
					 rs.container_name);
			created = !rs.in_place && rs.container_id[0];
			goto failed;
		}
		goto started;
	}

	/* 1. the container: a new one (copy or cold), or the original */
	if (!rs.in_place) {
		t = clock_mono_ms();
		cfg = copy_config(&ck, &rs, overrides);
		if (!cfg) {
			jobs_fail(&err, "internal_error", "checkpoint '%s' has no recorded configuration",
				  ck.id);
			goto failed;
		}
		if (json_object_object_get_ex(cfg, "Tty", &v))
			tty = json_object_get_boolean(v);
		r = engine_container_create(e, rs.container_name, cfg, rs.container_id, &ee);
		if (r == ENGINE_CONFLICT) {
			jobs_fail(&err, "name_conflict", "a container called '%s' exists: %s",
				  rs.container_name, ee.message);
			goto failed;
		}
		if (r != ENGINE_OK) {
			jobs_fail_engine(&err, r, &ee, "creating the container");
			if (r == ENGINE_REFUSED || r == ENGINE_FAILED)
				snprintf(err.hint, sizeof(err.hint),
					 "check the overrides: they are Engine API create fields");
			goto failed;
		}
		created = 1;
		rs.t_create = clock_mono_ms() - t;
		store_restore_update(jobs_store(j), &rs);
	}

	/* 2. stage the files (not for a cold start) */
	if (!rs.cold) {
		t = clock_mono_ms();
		if (stage(e, info.root_dir, &ck, srcdir, rs.container_id, rs.id, &err))
			goto failed;
		rs.t_stage = clock_mono_ms() - t;
		store_restore_update(jobs_store(j), &rs);
	}

	/* 3. start: from the checkpoint, retrying the known flakes */
	since = clock_now_ms();
	t = clock_mono_ms();
	for (attempt = 1;; attempt++) {
		r = engine_container_start(e, rs.container_id, rs.cold ? NULL : rs.id, &ee);
		if (!rs.cold)
			store_engine_leak_add(jobs_store(j), rs.engine, ck.size_bytes > 0 ? ck.size_bytes : 0);
		if (r == ENGINE_OK || rs.cold || attempt >= START_ATTEMPTS || !jobs_is_transient(ee.message))
			break;
		log_line("job %s: transient start failure, trying again: %s", rs.id, ee.message);
		rs.retries++;
		sleep_ms(100L * attempt);
	}
	rs.t_start = clock_mono_ms() - t;
	if (r != ENGINE_OK) {
		if (r == ENGINE_UNREACHABLE) {
			jobs_fail_engine(&err, r, &ee, "starting the container");
		} else {
			jobs_fail(&err, "restore_failed", "%s", ee.message);
			if (!rs.cold && !tty_lost(&ck, cfg, &err))
				jobs_diagnose(j, e, rs.id, ck.image_id, ee.message, &err);
		}
		goto failed;
	}
	store_restore_update(jobs_store(j), &rs);
	if (!rs.cold)
		engine_checkpoint_delete(e, rs.container_id, rs.id, NULL, &ee);
	log_line("job %s: started %s in %lldms (%d retries)", rs.id, rs.container_name,
		 (long long)rs.t_start, rs.retries);

started:
	/* 4. the after hooks, in the copy, before it is called ready */
	if (!rs.cold && after_restore(j, e, &ck, &rs, req, &err))
		goto failed_kept;

	/* 5. ready */
	if (wait_ready(e, rs.container_id, probe, tty, since, &rs.t_ready, &err))
		goto failed_kept;
	rs.t_total = clock_mono_ms() - t0;
	rs.status = STORE_READY;
	store_restore_update(jobs_store(j), &rs);
	store_checkpoint_set_ready(jobs_store(j), ck.id, rs.cold, rs.t_start + rs.t_ready);
	log_line("job %s: ready in %lldms after start, %lldms in all", rs.id,
		 (long long)rs.t_ready, (long long)rs.t_total);
	goto out;
failed:
	/* leave nothing half-made: a container we created that never came up
	 * goes again */
	if (created) {
		engine_container_remove(e, rs.container_id, 1, &ee);
		rs.container_id[0] = '\0';
	}
failed_kept:
	restore_failed(j, &rs, t0, &err);
out:
	json_object_put(cfg);
	json_object_put(req);
	store_checkpoint_release(&ck);
	store_restore_release(&rs);
}

/* --- delete */

int jobs_restore_delete(struct jobs *j, const char *id, struct jobs_error *err)
{
	struct store_restore rs;
	struct engine *e;
	struct engine_error ee;
	enum store_result sr;
	enum engine_result r;
	int rc = -1;

	store_restore_init(&rs);
	sr = store_restore_get(jobs_store(j), id, &rs);
	if (sr == STORE_NOT_FOUND) {
		jobs_fail(err, "restore_not_found", "no restore '%s'", id);
		goto out;
	}
	if (sr != STORE_OK) {
		jobs_fail(err, "internal_error", "reading restore '%s': %s", id, store_last_error());
		goto out;
	}
	if (jobs_is_active(j, id) || rs.status == STORE_PENDING || rs.status == STORE_RUNNING) {
		jobs_fail(err, "restore_busy", "restore '%s' is still running", id);
		snprintf(err->hint, sizeof(err->hint), "wait until its status is ready or failed");
		goto out;
	}
	if (rs.container_id[0]) {
		e = jobs_engine_find(j, rs.engine);
		if (!e) {
			jobs_fail(err, "engine_not_found",
				  "restore '%s' is on engine '%s', which is not configured", id, rs.engine);
			goto out;
		}
		r = engine_container_remove(e, rs.container_id, 1, &ee);
		if (r != ENGINE_OK && r != ENGINE_NOT_FOUND) {
			jobs_fail_engine(err, r, &ee, "removing the container");
			goto out;
		}
	}
	store_diagnosis_delete(jobs_store(j), id);
	if (store_restore_delete(jobs_store(j), id) != STORE_OK) {
		jobs_fail(err, "internal_error", "deleting record '%s': %s", id, store_last_error());
		goto out;
	}
	log_line("restore %s: deleted", id);
	rc = 0;
out:
	store_restore_release(&rs);
	return rc;
}
