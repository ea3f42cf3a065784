/*
 * checkpoint.c - taking a checkpoint (the seed's "docker commit" + "docker
 * checkpoint create" as one job) and deleting one.
 *
 * Where the files live: Docker writes a checkpoint to CheckpointDir/NAME on
 * the engine host.  We use <DockerRootDir>/checkpointd/<record id>, a folder
 * of our own that survives the removal of the source container, so a record
 * id maps to exactly one folder and deleting it removes the whole thing.
 * We read and remove those files through the Engine API only (archive and
 * checkpoint routes, anchored on a created-never-started helper container),
 * so the engine can be on another host.
 */
#include "jobs/jobs_int.h"
#include "clock.h"
#include "engine/engine.h"
#include "log.h"
#include "store/store.h"
#include "tar.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HELPER_ROLE_LABEL "io.checkpointd.role"
#define CHECKPOINT_LABEL "io.checkpointd.checkpoint"

/* Maps an engine failure to a jobs_error with a code users can act on. */
int jobs_fail_engine(struct jobs_error *err, enum engine_result r,
		     const struct engine_error *ee, const char *doing)
{
	const char *code = r == ENGINE_UNREACHABLE ? "engine_unreachable" : "engine_error";

	jobs_fail(err, code, "%s: %s", doing, ee->message);
	if (r == ENGINE_UNREACHABLE)
		snprintf(err->hint, sizeof(err->hint),
			 "check that the engine runs and that its URL is right (GET /engines)");
	return -1;
}

static const char *jpath_str(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int jpath_bool(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || !json_object_object_get_ex(v, b, &v))
		return 0;
	return json_object_get_boolean(v);
}

/* Checks that the engine answers and can take checkpoints. */
int jobs_engine_ready(struct engine *e, struct engine_info *info, int need_experimental,
		      struct jobs_error *err)
{
	engine_info_get(e, info);
	if (!info->reachable) {
		engine_probe(e);
		engine_info_get(e, info);
	}
	if (!info->reachable) {
		jobs_fail(err, "engine_unreachable", "engine '%s' (%s) does not answer: %s",
			  engine_name(e), engine_url(e), info->error);
		snprintf(err->hint, sizeof(err->hint),
			 "start the engine, or fix its URL (--engine %s=URL)", engine_name(e));
		return -1;
	}
	if (need_experimental && info->experimental == 0) {
		jobs_fail(err, "experimental_disabled",
			  "engine '%s' runs without experimental features; Docker's checkpoints need them",
			  engine_name(e));
		snprintf(err->hint, sizeof(err->hint),
			 "start dockerd with --experimental (or set \"experimental\": true in "
			 "/etc/docker/daemon.json) and restart it");
		return -1;
	}
	return 0;
}

int jobs_checkpoint_begin(struct jobs *j, const struct jobs_checkpoint_request *rq,
			  struct store_checkpoint *out, struct jobs_error *err)
{
	struct engine *e = jobs_engine_find(j, rq->engine);
	struct engine_info info;
	struct engine_error ee;
	struct json_object *c = NULL;
	enum engine_result r;
	enum store_result sr;
	const char *s;
	int rc = -1;

	/* the request's own mistakes first, whatever the engine */
	if (jobs_hooks_resolve(rq->profile, rq->before, rq->settle, rq->after_restore,
			       &out->hooks_json, err))
		return -1;
	if (!e) {
		if (rq->engine)
			return jobs_fail(err, "engine_not_found", "no engine called '%s'", rq->engine);
		jobs_fail(err, "engine_not_found", "no default engine: name one in 'engine'");
		snprintf(err->hint, sizeof(err->hint), "GET /engines lists them");
		return -1;
	}
	if (jobs_engine_ready(e, &info, 1, err))
		return -1;
	r = engine_container_inspect(e, rq->container, &c, &ee);
	if (r == ENGINE_NOT_FOUND)
		return jobs_fail(err, "container_not_found", "no container '%s' on engine '%s'",
				 rq->container, engine_name(e));
	if (r != ENGINE_OK)
		return jobs_fail_engine(err, r, &ee, "inspecting the container");
	if (!jpath_bool(c, "State", "Running")) {
		s = jpath_str(c, "State", "Status");
		jobs_fail(err, "container_not_running",
			  "container '%s' is %s, not running: only a running container can be checkpointed",
			  rq->container, s ? s : "not running");
		snprintf(err->hint, sizeof(err->hint), "start it first, and checkpoint it once it is ready");
		goto out;
	}
	jobs_new_id("ck-", out->id, sizeof(out->id));
	snprintf(out->name, sizeof(out->name), "%s", rq->name ? rq->name : out->id);
	snprintf(out->container_id, sizeof(out->container_id), "%s",
		 (s = jpath_str(c, "Id", NULL)) ? s : rq->container);
	s = jpath_str(c, "Name", NULL);
	snprintf(out->container_name, sizeof(out->container_name), "%s",
		 s ? (s[0] == '/' ? s + 1 : s) : rq->container);
	snprintf(out->engine, sizeof(out->engine), "%s", engine_name(e));
	snprintf(out->engine_kind, sizeof(out->engine_kind), "%s",
		 engine_kind_name(engine_kind(e)));
	out->status = STORE_PENDING;
	out->leave_running = rq->leave_running;
	out->config_json = strdup(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
	sr = store_checkpoint_insert(jobs_store(j), out);
	if (sr == STORE_CONFLICT) {
		jobs_fail(err, "name_conflict",
			  "container '%s' already has a checkpoint called '%s'", out->container_name,
			  out->name);
		snprintf(err->hint, sizeof(err->hint),
			 "choose another name, or delete the old checkpoint first");
		goto out;
	}
	if (sr != STORE_OK) {
		jobs_fail(err, "internal_error", "cannot record the checkpoint: %s", store_last_error());
		goto out;
	}
	if (jobs_queue(j, out->id, e, jobs_checkpoint_run)) {
		out->status = STORE_FAILED;
		snprintf(out->error_code, sizeof(out->error_code), "shutting_down");
		free(out->error_message);
		out->error_message = strdup("the service is stopping");
		store_checkpoint_update(jobs_store(j), out);
		jobs_fail(err, "shutting_down", "the service is stopping and takes no new jobs");
		goto out;
	}
	log_line("job %s: queued checkpoint '%s' of container %s on engine %s", out->id, out->name,
		 out->container_name, out->engine);
	rc = 0;
out:
	json_object_put(c);
	return rc;
}

/* --- the job */

/* The repository name for images committed from container name: Docker
 * wants lower case and no separator at either end of a component. */
static void repo_for(const char *container, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "checkpointd/");
	const char *p;

	for (p = container; *p && n + 1 < len; p++)
		out[n++] = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
	while (n > 12 && out[n - 1] == '-')
		n--;
	if (n == 12)
		n += (size_t)snprintf(out + n, len - n, "container");
	out[n] = '\0';
}

void jobs_helper_limits(struct json_object *hc)
{
	static const char *const names[] = {"nofile", "nproc"};
	struct json_object *list = json_object_new_array();
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct json_object *u = json_object_new_object();

		json_object_object_add(u, "Name", json_object_new_string(names[i]));
		json_object_object_add(u, "Soft", json_object_new_int(1024));
		json_object_object_add(u, "Hard", json_object_new_int(1024));
		json_object_array_add(list, u);
	}
	json_object_object_add(hc, "Ulimits", list);
}

/* Creates a helper container from image that is never started: it anchors
 * archive and checkpoint calls on folders of the engine host.  bind, when
 * not NULL, is "hostdir:/ck:ro"-style. */
enum engine_result jobs_helper_create(struct engine *e, const char *image, const char *bind,
				      const char *ckid, char id[72], struct engine_error *ee)
{
	struct json_object *cfg = json_object_new_object();
	struct json_object *hc = json_object_new_object();
	struct json_object *labels = json_object_new_object();
	struct json_object *ep = json_object_new_array();
	enum engine_result r;

	json_object_object_add(cfg, "Image", json_object_new_string(image));
	json_object_array_add(ep, json_object_new_string("/checkpointd-helper"));
	json_object_object_add(cfg, "Entrypoint", ep);
	json_object_object_add(cfg, "Cmd", json_object_new_array());
	json_object_object_add(cfg, "NetworkDisabled", json_object_new_boolean(1));
	json_object_object_add(labels, HELPER_ROLE_LABEL, json_object_new_string("helper"));
	json_object_object_add(labels, CHECKPOINT_LABEL, json_object_new_string(ckid));
	json_object_object_add(cfg, "Labels", labels);
	json_object_object_add(hc, "NetworkMode", json_object_new_string("none"));
	jobs_helper_limits(hc);
	if (bind) {
		struct json_object *binds = json_object_new_array();

		json_object_array_add(binds, json_object_new_string(bind));
		json_object_object_add(hc, "Binds", binds);
	}
	json_object_object_add(cfg, "HostConfig", hc);
	r = engine_container_create(e, NULL, cfg, id, ee);
	json_object_put(cfg);
	return r;
}

static int count_tar(void *arg, const char *data, size_t len)
{
	return tar_counter_feed(arg, data, len);
}

/* Most files a checkpoint may hold (CRIU writes tens). */
#define MAX_CHECKPOINT_FILES 100000

struct file_list {
	const char *top;            /* "<name>/": the archive's top folder */
	struct json_object *paths;  /* relative paths, folders ending in '/' */
	int overflow;
};

static void list_entry(void *arg, const char *path, char type, uint64_t size)
{
	struct file_list *fl = arg;
	size_t n = strlen(fl->top);
	char rel[4200];

	(void)size;
	if (strncmp(path, fl->top, n) != 0 || !path[n])
		return; /* the top folder itself */
	if (json_object_array_length(fl->paths) >= MAX_CHECKPOINT_FILES) {
		fl->overflow = 1;
		return;
	}
	snprintf(rel, sizeof(rel), "%s", path + n);
	if (type == '5' && rel[strlen(rel) - 1] != '/')
		strncat(rel, "/", sizeof(rel) - strlen(rel) - 1);
	if (type == '5' || type == '0' || type == '7')
		json_object_array_add(fl->paths, json_object_new_string(rel));
}

/* Sums the sizes of the files under dir/name on the engine host and lists
 * them into ck->files_json (a restore hard-links each one). */
static int measure(struct engine *e, struct store_checkpoint *ck, const char *dir,
		   int64_t *bytes, struct jobs_error *err)
{
	char helper[72], bind[1200], path[200], top[200];
	struct engine_error ee;
	struct tar_counter tc;
	enum engine_result r;
	struct file_list fl = {top, NULL, 0};

	snprintf(bind, sizeof(bind), "%s:/ck:ro", dir);
	r = jobs_helper_create(e, ck->image_id, bind, ck->id, helper, &ee);
	if (r != ENGINE_OK)
		return jobs_fail_engine(err, r, &ee, "creating a helper to measure the checkpoint");
	tar_counter_init(&tc);
	snprintf(top, sizeof(top), "%s/", ck->name);
	fl.paths = json_object_new_array();
	tc.on_entry = list_entry;
	tc.arg = &fl;
	snprintf(path, sizeof(path), "/ck/%s", ck->name);
	r = engine_container_archive_get(e, helper, path, count_tar, &tc, &ee);
	engine_container_remove(e, helper, 1, &(struct engine_error){0});
	if (r == ENGINE_ABORTED || r != ENGINE_OK || fl.overflow) {
		json_object_put(fl.paths);
		if (r == ENGINE_ABORTED)
			return jobs_fail(err, "engine_error", "the checkpoint's archive is not a tar: %s",
					 tc.error);
		if (fl.overflow)
			return jobs_fail(err, "checkpoint_failed",
					 "the checkpoint holds more than %d files", MAX_CHECKPOINT_FILES);
		return jobs_fail_engine(err, r, &ee, "reading the checkpoint's files");
	}
	*bytes = (int64_t)tc.file_bytes;
	free(ck->files_json);
	ck->files_json = strdup(json_object_to_json_string_ext(fl.paths, JSON_C_TO_STRING_PLAIN));
	json_object_put(fl.paths);
	return 0;
}

/* Removes <root>/checkpointd/<id> on the engine host, anchored on a helper
 * made from image (or on container when there is no image).  A folder that
 * is already gone is fine. */
static int remove_files(struct engine *e, const char *root, const char *id, const char *image,
			const char *container, struct jobs_error *err)
{
	char helper[72] = "", dir[700];
	struct engine_error ee;
	enum engine_result r;
	const char *anchor = container;

	snprintf(dir, sizeof(dir), "%s/checkpointd", root);
	if (image && image[0]) {
		r = jobs_helper_create(e, image, NULL, id, helper, &ee);
		if (r == ENGINE_OK)
			anchor = helper;
		else if (r == ENGINE_UNREACHABLE)
			return jobs_fail_engine(err, r, &ee, "creating a helper to remove the files");
	}
	if (!anchor || !anchor[0])
		return jobs_fail(err, "engine_error",
				 "nothing on engine '%s' to anchor the removal of %s/%s: its image and "
				 "container are gone", engine_name(e), dir, id);
	r = engine_checkpoint_delete(e, anchor, id, dir, &ee);
	if (helper[0])
		engine_container_remove(e, helper, 1, &(struct engine_error){0});
	if (r != ENGINE_OK && !strstr(ee.message, "does not exist"))
		return jobs_fail_engine(err, r, &ee, "removing the checkpoint's files");
	return 0;
}

/* The before hooks and the settle wait, with the memory they saved, before
 * anything touches the container.  0 when there are none. */
static int before_dump(struct jobs *j, struct engine *e, struct store_checkpoint *ck,
		       struct jobs_error *err)
{
	struct json_object *hooks = ck->hooks_json ? json_tokener_parse(ck->hooks_json) : NULL;
	struct json_object *before = NULL, *v;
	struct engine_error ee;
	int settle = 0, rc = -1;
	int64_t mem = STORE_UNSET;

	if (!hooks) {
		rc = 0;
		goto out;
	}
	json_object_object_get_ex(hooks, "before", &before);
	if (json_object_object_get_ex(hooks, "settle", &v))
		settle = json_object_get_boolean(v);
	if (engine_container_memory(e, ck->container_id, &mem, &ee) == ENGINE_OK)
		ck->memory_before_hooks = mem;
	rc = jobs_hooks_run(e, ck->container_id, before, "before", &ck->hook_results_json,
			    &ck->t_before, err);
	if (rc)
		goto out;
	if (engine_container_memory(e, ck->container_id, &mem, &ee) != ENGINE_OK)
		mem = STORE_UNSET;
	if (settle && mem != STORE_UNSET)
		ck->t_settle = jobs_settle(e, ck->container_id, mem, &mem);
	ck->memory_at_dump = mem;
	log_line("job %s: hooks in %lldms, settled in %lldms; memory %lld -> %lld bytes", ck->id,
		 (long long)ck->t_before, (long long)(settle ? ck->t_settle : 0),
		 (long long)ck->memory_before_hooks, (long long)ck->memory_at_dump);
out:
	store_checkpoint_update(jobs_store(j), ck);
	json_object_put(hooks);
	return rc;
}

static void job_failed(struct jobs *j, struct store_checkpoint *ck, int64_t t0,
		       const struct jobs_error *err)
{
	ck->status = STORE_FAILED;
	snprintf(ck->error_code, sizeof(ck->error_code), "%s", err->code);
	free(ck->error_message);
	ck->error_message = strdup(err->message);
	ck->t_total = clock_mono_ms() - t0;
	if (!err->diagnosed && err->hint[0])
		store_diagnosis_put(jobs_store(j), ck->id, err->hint, NULL, NULL, NULL, 0);
	store_checkpoint_update(jobs_store(j), ck);
	log_line("job %s: failed (%s): %s", ck->id, err->code, err->message);
}

void jobs_checkpoint_run(struct jobs *j, struct job *job)
{
	struct engine *e = job->engine;
	struct store_checkpoint ck;
	struct engine_info info;
	struct engine_error ee;
	struct jobs_error err, ignored;
	struct json_object *img = NULL, *v;
	enum engine_result r;
	char dir[700];
	int attempt;
	int64_t t0 = clock_mono_ms(), t;

	memset(&err, 0, sizeof(err));
	store_checkpoint_init(&ck);
	if (store_checkpoint_get(jobs_store(j), job->id, &ck) != STORE_OK) {
		log_line("job %s: record vanished", job->id);
		goto out;
	}
	ck.status = STORE_RUNNING;
	store_checkpoint_update(jobs_store(j), &ck);
	if (before_dump(j, e, &ck, &err))
		goto failed;
	if (engine_kind(e) == ENGINE_PODMAN) {
		if (jobs_podman_checkpoint(j, e, &ck, &err))
			goto failed;
		goto ready;
	}
	engine_info_get(e, &info);
	if (!info.root_dir[0]) {
		jobs_fail(&err, "engine_unreachable", "engine '%s' did not say its root folder",
			  engine_name(e));
		goto failed;
	}

	/* 1. commit the filesystem: the image a copy will be created from */
	t = clock_mono_ms();
	repo_for(ck.container_name, ck.image_repository, sizeof(ck.image_repository));
	snprintf(ck.image_tag, sizeof(ck.image_tag), "%s", ck.name);
	r = engine_container_commit(e, ck.container_id, ck.image_repository, ck.image_tag,
				    ck.image_id, &ee);
	if (r != ENGINE_OK) {
		jobs_fail_engine(&err, r, &ee, "committing the container's filesystem");
		if (r == ENGINE_NOT_FOUND)
			snprintf(err.code, sizeof(err.code), "container_not_found");
		goto failed;
	}
	if (engine_image_inspect(e, ck.image_id, &img, &ee) == ENGINE_OK &&
	    json_object_object_get_ex(img, "Size", &v))
		ck.image_size = json_object_get_int64(v);
	ck.t_commit = clock_mono_ms() - t;
	store_checkpoint_update(jobs_store(j), &ck);
	log_line("job %s: committed %s (%lld bytes) in %lldms", ck.id, ck.image_id,
		 (long long)ck.image_size, (long long)ck.t_commit);

	/* 2. the CRIU dump, into our own folder on the engine host */
	t = clock_mono_ms();
	snprintf(dir, sizeof(dir), "%s/checkpointd/%s", info.root_dir, ck.id);
	for (attempt = 1;; attempt++) {
		r = engine_checkpoint_create(e, ck.container_id, ck.name, dir, !ck.leave_running,
					     &ee);
		if (r == ENGINE_OK || attempt >= 3 || !jobs_is_transient(ee.message))
			break;
		/* the dump did not happen; a half-made folder would make the next
		 * attempt fail with "checkpoint ... already exists" */
		log_line("job %s: transient checkpoint failure, trying again: %s", ck.id, ee.message);
		remove_files(e, info.root_dir, ck.id, ck.image_id, ck.container_id, &ignored);
		{
			struct timespec ts = {0, 100 * 1000 * 1000L * attempt};

			nanosleep(&ts, NULL);
		}
	}
	if (r != ENGINE_OK) {
		if (r == ENGINE_NOT_SUPPORTED)
			jobs_fail(&err, "experimental_disabled", "engine '%s' refused: %s",
				  engine_name(e), ee.message);
		else if (r == ENGINE_UNREACHABLE)
			jobs_fail_engine(&err, r, &ee, "taking the checkpoint");
		else if (r == ENGINE_CONFLICT || strstr(ee.message, "is not running"))
			jobs_fail(&err, "container_not_running", "taking the checkpoint: %s",
				  ee.message);
		else {
			jobs_fail(&err, "checkpoint_failed", "%s", ee.message);
			jobs_diagnose(j, e, ck.id, ck.image_id, ee.message, &err);
		}
		ck.t_checkpoint = clock_mono_ms() - t;
		remove_files(e, info.root_dir, ck.id, ck.image_id, ck.container_id,
			     &ignored);
		engine_image_remove(e, ck.image_id, &ee);
		goto failed;
	}
	ck.t_checkpoint = clock_mono_ms() - t;
	snprintf(ck.directory, sizeof(ck.directory), "%s/%s", dir, ck.name);
	store_checkpoint_update(jobs_store(j), &ck);
	log_line("job %s: checkpoint in %s in %lldms", ck.id, ck.directory,
		 (long long)ck.t_checkpoint);

	/* 3. its size on disk */
	t = clock_mono_ms();
	if (measure(e, &ck, dir, &ck.size_bytes, &err)) {
		ck.t_measure = clock_mono_ms() - t;
		goto failed;
	}
	ck.t_measure = clock_mono_ms() - t;
ready:
	ck.t_total = clock_mono_ms() - t0;
	ck.status = STORE_READY;
	store_checkpoint_update(jobs_store(j), &ck);
	log_line("job %s: ready, %lld bytes, %lldms in all", ck.id, (long long)ck.size_bytes,
		 (long long)ck.t_total);
	goto out;
failed:
	job_failed(j, &ck, t0, &err);
out:
	json_object_put(img);
	store_checkpoint_release(&ck);
}

/* --- delete */

struct copy_list {
	struct store_copy items[JOBS_MAX_ENGINES];
	int n;
};

static int collect_copy(void *arg, const struct store_copy *c)
{
	struct copy_list *l = arg;

	if (l->n < JOBS_MAX_ENGINES)
		l->items[l->n++] = *c;
	return 0;
}

/* Removes the checkpoint's copies on other engines (files, and the image
 * unless still used there) and their records.  -1 with err when one cannot
 * be removed: the checkpoint's record then stays, so nothing is lost track
 * of. */
static int remove_copies(struct jobs *j, const struct store_checkpoint *ck,
			 struct copy_list *l, struct jobs_error *err)
{
	struct engine_info info;
	struct engine_error ee;
	int i;

	for (i = 0; i < l->n; i++) {
		struct store_copy *c = &l->items[i];
		struct engine *e = jobs_engine_find(j, c->engine);

		/* a Podman checkpoint's copy is its base image on the engine,
		 * which may serve other containers there: it stays */
		if (strcmp(ck->engine_kind, "podman") != 0 &&
		    (c->status == STORE_READY || c->directory[0])) {
			if (!e) {
				jobs_fail(err, "engine_not_found",
					  "a copy of '%s' is on engine '%s', which is not configured",
					  ck->id, c->engine);
				return -1;
			}
			if (jobs_engine_ready(e, &info, 0, err))
				return -1;
			if (remove_files(e, info.root_dir, ck->id, ck->image_id, NULL, err))
				return -1;
			engine_image_remove(e, ck->image_id, &ee);
		}
		store_copy_delete(jobs_store(j), ck->id, c->engine);
	}
	return 0;
}

int jobs_checkpoint_delete(struct jobs *j, const char *id, struct jobs_error *err)
{
	struct store_checkpoint ck;
	struct engine *e;
	struct engine_info info;
	struct engine_error ee;
	enum store_result sr;
	enum engine_result r;
	struct copy_list *copies = NULL;
	int rc = -1, active = 0, i;

	store_checkpoint_init(&ck);
	sr = store_checkpoint_get(jobs_store(j), id, &ck);
	if (sr == STORE_NOT_FOUND) {
		jobs_fail(err, "checkpoint_not_found", "no checkpoint '%s'", id);
		goto out;
	}
	if (sr != STORE_OK) {
		jobs_fail(err, "internal_error", "reading checkpoint '%s': %s", id, store_last_error());
		goto out;
	}
	if (jobs_is_active(j, id) || ck.status == STORE_PENDING || ck.status == STORE_RUNNING) {
		jobs_fail(err, "checkpoint_busy", "checkpoint '%s' is still being taken", id);
		snprintf(err->hint, sizeof(err->hint), "wait until its status is ready or failed");
		goto out;
	}
	if (store_restore_count_active(jobs_store(j), id, &active) != STORE_OK) {
		jobs_fail(err, "internal_error", "reading restores of '%s': %s", id, store_last_error());
		goto out;
	}
	if (active) {
		jobs_fail(err, "checkpoint_busy", "%d restore(s) of checkpoint '%s' are running",
			  active, id);
		snprintf(err->hint, sizeof(err->hint), "wait until they are ready or failed");
		goto out;
	}
	copies = calloc(1, sizeof(*copies));
	if (!copies || store_copy_list(jobs_store(j), id, collect_copy, copies) != STORE_OK) {
		jobs_fail(err, "internal_error", "reading the copies of '%s'", id);
		goto out;
	}
	for (i = 0; i < copies->n; i++)
		if (copies->items[i].status == STORE_PENDING ||
		    copies->items[i].status == STORE_RUNNING) {
			jobs_fail(err, "checkpoint_busy", "checkpoint '%s' is being copied to engine '%s'",
				  id, copies->items[i].engine);
			snprintf(err->hint, sizeof(err->hint), "wait until the copy is ready or failed");
			goto out;
		}
	if (remove_copies(j, &ck, copies, err))
		goto out;
	if (strcmp(ck.engine_kind, "podman") == 0) {
		/* the archive is ours; the image is the container's own */
		if (ck.directory[0] && unlink(ck.directory) && errno != ENOENT) {
			jobs_fail(err, "internal_error", "removing the archive '%s': %s",
				  ck.directory, strerror(errno));
			goto out;
		}
	} else if (ck.directory[0] || ck.image_id[0]) {
		e = jobs_engine_find(j, ck.engine);
		if (!e) {
			jobs_fail(err, "engine_not_found",
				  "checkpoint '%s' lives on engine '%s', which is not configured", id,
				  ck.engine);
			snprintf(err->hint, sizeof(err->hint),
				 "start checkpointd with --engine %s=URL to remove its files", ck.engine);
			goto out;
		}
		engine_info_get(e, &info);
		if (!info.reachable) {
			engine_probe(e);
			engine_info_get(e, &info);
		}
		if (!info.reachable) {
			jobs_fail(err, "engine_unreachable", "engine '%s' does not answer: %s",
				  ck.engine, info.error);
			goto out;
		}
		if (ck.directory[0] &&
		    remove_files(e, info.root_dir, ck.id, ck.image_id, ck.container_id, err))
			goto out;
		if (ck.image_id[0]) {
			r = engine_image_remove(e, ck.image_id, &ee);
			if (r == ENGINE_CONFLICT)
				log_line("checkpoint %s: image %s kept, still in use: %s", id,
					 ck.image_id, ee.message);
			else if (r != ENGINE_OK && r != ENGINE_NOT_FOUND) {
				jobs_fail_engine(err, r, &ee, "removing the committed image");
				goto out;
			}
		}
	}
	store_diagnosis_delete(jobs_store(j), id);
	if (store_checkpoint_delete(jobs_store(j), id) != STORE_OK) {
		jobs_fail(err, "internal_error", "deleting record '%s': %s", id, store_last_error());
		goto out;
	}
	log_line("checkpoint %s: deleted", id);
	rc = 0;
out:
	free(copies);
	store_checkpoint_release(&ck);
	return rc;
}
