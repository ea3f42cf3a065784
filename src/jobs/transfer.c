/*
 * transfer.c - moving a checkpoint to another engine: its committed image
 * (GET /images/{id}/get on one, POST /images/load on the other; skipped when
 * the target has that image id already) and its files (the archive API on
 * both sides, through helpers bound to the checkpoint folders).  A Podman
 * checkpoint's archive is kept by the service (jobs/podman.c): only its
 * image moves.
 *
 * Bytes go from one engine's connection straight into the other's through
 * engine_pipe(), a bounded buffer between two libcurl transfers: never a
 * whole image or checkpoint in memory or on the service's disk.  Progress is
 * published to the job as it goes.  A transfer that fails halfway removes
 * what it made on the target: helpers, the partial files, and the image when
 * this transfer loaded it.
 */
#include "jobs/jobs_int.h"
#include "clock.h"
#include "log.h"
#include "store/store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct progress_ctx {
	struct jobs *j;
	const char *id;         /* the job's record */
	const char *phase;
	uint64_t base;          /* bytes done before this phase */
	uint64_t total;
};

static void on_bytes(void *arg, uint64_t bytes)
{
	struct progress_ctx *p = arg;

	jobs_progress_set(p->j, p->id, p->phase, p->base + bytes, p->total);
}

/* Removes what a failed copy left on the target. */
static void undo(struct engine *dst, const char *root, const struct store_checkpoint *ck,
		 const char *helper, int loaded_image)
{
	struct engine_error ee;
	char dir[700];

	snprintf(dir, sizeof(dir), "%s/checkpointd", root);
	if (helper && helper[0]) {
		engine_checkpoint_delete(dst, helper, ck->id, dir, &ee);
		engine_container_remove(dst, helper, 1, &ee);
	}
	if (loaded_image)
		engine_image_remove(dst, ck->image_id, &ee);
}

int jobs_transfer(struct jobs *j, const char *job_id, const struct store_checkpoint *ck,
		  struct engine *src, struct engine *dst, char *directory, size_t dirlen,
		  int64_t *bytes_moved, struct jobs_error *err)
{
	struct engine_info si, di;
	struct engine_error ee;
	struct json_object *img = NULL, *v;
	struct progress_ctx pc = {j, job_id, "image", 0, 0};
	char shelper[72] = "", dhelper[72] = "", bind[1200], path[300];
	const char *srcdir;
	uint64_t image_bytes = 0, moved = 0;
	int loaded = 0, rc = -1, podman;
	enum engine_result r;
	char p1[300], p2[300];

	*bytes_moved = 0;
	if (jobs_engine_ready(src, &si, 0, err) || jobs_engine_ready(dst, &di, 1, err))
		return -1;
	if (jobs_kind_matches(ck, dst, err))
		return -1;
	podman = engine_kind(dst) == ENGINE_PODMAN;
	if (!podman && strncmp(ck->directory, si.root_dir, strlen(si.root_dir)) != 0)
		return jobs_fail(err, "engine_error", "checkpoint folder '%s' is not under '%s'",
				 ck->directory, si.root_dir);
	srcdir = ck->directory; /* <src root>/checkpointd/<id>/<name> */

	/* what there is to move, for progress */
	if (engine_image_inspect(src, ck->image_id, &img, &ee) == ENGINE_OK &&
	    json_object_object_get_ex(img, "Size", &v))
		image_bytes = (uint64_t)json_object_get_int64(v);
	json_object_put(img);
	img = NULL;
	/* a Podman checkpoint's archive stays with the service: only its
	 * image travels */
	pc.total = image_bytes + (uint64_t)(ck->size_bytes > 0 && !podman ? ck->size_bytes : 0);

	/* 1. the image, unless the target has it */
	r = engine_image_inspect(dst, ck->image_id, &img, &ee);
	json_object_put(img);
	if (r == ENGINE_NOT_FOUND) {
		jobs_progress_set(j, job_id, "image", 0, pc.total);
		snprintf(p1, sizeof(p1), "/images/%s/get", ck->image_id);
		r = engine_pipe(src, p1, dst, "POST", "/images/load?quiet=1", "application/x-tar",
				on_bytes, &pc, &moved, &ee);
		if (r != ENGINE_OK) {
			jobs_fail_engine(err, r, &ee, "moving the image");
			snprintf(err->code, sizeof(err->code), "transfer_failed");
			undo(dst, di.root_dir, ck, NULL, 1);
			goto out;
		}
		loaded = 1;
		if (engine_image_inspect(dst, ck->image_id, &img, &ee) != ENGINE_OK) {
			json_object_put(img);
			jobs_fail(err, "transfer_failed", "engine '%s' did not keep the image %s: %s",
				  engine_name(dst), ck->image_id, ee.message);
			undo(dst, di.root_dir, ck, NULL, 1);
			goto out;
		}
		json_object_put(img);
		*bytes_moved += (int64_t)moved;
		log_line("job %s: image %s moved to engine %s (%llu bytes)", job_id, ck->image_id,
			 engine_name(dst), (unsigned long long)moved);
	} else if (r != ENGINE_OK) {
		jobs_fail_engine(err, r, &ee, "looking for the image on the target");
		goto out;
	}

	if (podman) {
		/* Podman's import finds the image by the name the container
		 * was made with, and would pull it from a registry when that
		 * name is missing: a loaded image (got by id) has none */
		if (ck->image_repository[0] && ck->image_tag[0] &&
		    (r = engine_image_tag(dst, ck->image_id, ck->image_repository, ck->image_tag,
					  &ee)) != ENGINE_OK) {
			jobs_fail_engine(err, r, &ee, "naming the image on the target");
			snprintf(err->code, sizeof(err->code), "transfer_failed");
			undo(dst, di.root_dir, ck, NULL, loaded);
			goto out;
		}
		snprintf(directory, dirlen, "%s", ck->directory);
		jobs_progress_set(j, job_id, "done", pc.total, pc.total);
		rc = 0;
		goto out;
	}

	/* 2. the files */
	pc.phase = "files";
	pc.base = image_bytes;
	jobs_progress_set(j, job_id, "files", pc.base, pc.total);
	snprintf(bind, sizeof(bind), "%s/checkpointd/%s:/ck:ro", si.root_dir, ck->id);
	r = jobs_helper_create(src, ck->image_id, bind, ck->id, shelper, &ee);
	if (r != ENGINE_OK) {
		jobs_fail_engine(err, r, &ee, "creating the reading helper");
		undo(dst, di.root_dir, ck, NULL, loaded);
		goto out;
	}
	snprintf(bind, sizeof(bind), "%s/checkpointd/%s:/ck", di.root_dir, ck->id);
	r = jobs_helper_create(dst, ck->image_id, bind, ck->id, dhelper, &ee);
	if (r != ENGINE_OK) {
		jobs_fail_engine(err, r, &ee, "creating the writing helper");
		undo(dst, di.root_dir, ck, NULL, loaded);
		goto out;
	}
	snprintf(p1, sizeof(p1), "/containers/%s/archive?path=/ck/%s", shelper, ck->name);
	snprintf(p2, sizeof(p2), "/containers/%s/archive?path=/ck", dhelper);
	r = engine_pipe(src, p1, dst, "PUT", p2, "application/x-tar", on_bytes, &pc, &moved, &ee);
	if (r != ENGINE_OK) {
		jobs_fail_engine(err, r, &ee, "moving the checkpoint's files");
		snprintf(err->code, sizeof(err->code), "transfer_failed");
		undo(dst, di.root_dir, ck, dhelper, loaded);
		dhelper[0] = '\0';
		goto out;
	}
	*bytes_moved += (int64_t)moved;
	snprintf(path, sizeof(path), "%s", srcdir + strlen(si.root_dir));
	snprintf(directory, dirlen, "%s%s", di.root_dir, path);
	jobs_progress_set(j, job_id, "done", pc.total, pc.total);
	log_line("job %s: files of %s moved to engine %s (%s)", job_id, ck->id, engine_name(dst),
		 directory);
	rc = 0;
out:
	if (shelper[0])
		engine_container_remove(src, shelper, 1, &ee);
	if (dhelper[0])
		engine_container_remove(dst, dhelper, 1, &ee);
	return rc;
}
