/*
 * copy.c - placing a checkpoint on another engine ahead of time
 * (POST /checkpoints/{id}/copies), so restores there need no transfer.
 * The moving itself is jobs_transfer() (transfer.c); this file keeps the
 * copy's record.  A copy's job id is "<checkpoint id>@<engine>".
 */
#include "jobs/jobs_int.h"
#include "log.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

int jobs_copy_begin(struct jobs *j, const char *id, const char *engine, char *job_id,
		    size_t job_id_len, struct jobs_error *err)
{
	struct store_checkpoint ck;
	struct store_copy c;
	struct engine *src, *dst;
	struct engine_info info;
	enum store_result sr;
	int rc = -1;

	store_checkpoint_init(&ck);
	sr = store_checkpoint_get(jobs_store(j), id, &ck);
	if (sr == STORE_NOT_FOUND) {
		jobs_fail(err, "checkpoint_not_found", "no checkpoint '%s'", id);
		goto out;
	}
	if (sr != STORE_OK) {
		jobs_fail(err, "internal_error", "%s", store_last_error());
		goto out;
	}
	dst = jobs_engine_find(j, engine);
	if (!dst) {
		jobs_fail(err, "engine_not_found", "no engine called '%s'", engine);
		goto out;
	}
	if (ck.status != STORE_READY) {
		jobs_fail(err, "checkpoint_not_ready", "checkpoint '%s' is %s, not ready", id,
			  store_status_name(ck.status));
		goto out;
	}
	if (strcmp(ck.engine, engine) == 0) {
		jobs_fail(err, "copy_exists", "checkpoint '%s' was taken on engine '%s'", id, engine);
		goto out;
	}
	if (jobs_kind_matches(&ck, dst, err))
		goto out;
	snprintf(job_id, job_id_len, "%s@%s", id, engine);
	if (store_copy_get(jobs_store(j), id, engine, &c) == STORE_OK && c.status != STORE_FAILED) {
		jobs_fail(err, "copy_exists", "engine '%s' %s checkpoint '%s' already", engine,
			  c.status == STORE_READY ? "holds" : "is receiving", id);
		goto out;
	}
	src = jobs_engine_find(j, ck.engine);
	if (!src) {
		jobs_fail(err, "engine_not_found", "checkpoint '%s' lives on engine '%s', which is not "
			  "configured", id, ck.engine);
		goto out;
	}
	if (jobs_engine_ready(dst, &info, 1, err))
		goto out;
	if (jobs_same_daemon(src, dst)) {
		jobs_fail(err, "copy_exists",
			  "engine '%s' is the same Docker daemon as '%s', which holds checkpoint '%s'",
			  engine, ck.engine, id);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.checkpoint_id, sizeof(c.checkpoint_id), "%s", id);
	snprintf(c.engine, sizeof(c.engine), "%s", engine);
	c.status = STORE_PENDING;
	c.bytes = STORE_UNSET;
	if (store_copy_put(jobs_store(j), &c) != STORE_OK) {
		jobs_fail(err, "internal_error", "%s", store_last_error());
		goto out;
	}
	if (jobs_queue2(j, job_id, dst, src, jobs_copy_run)) {
		c.status = STORE_FAILED;
		snprintf(c.error_message, sizeof(c.error_message), "the service is stopping");
		store_copy_put(jobs_store(j), &c);
		jobs_fail(err, "shutting_down", "the service is stopping and takes no new jobs");
		goto out;
	}
	log_line("job %s: queued copy of %s to engine %s", job_id, id, engine);
	rc = 0;
out:
	store_checkpoint_release(&ck);
	return rc;
}

void jobs_copy_run(struct jobs *j, struct job *job)
{
	struct store_checkpoint ck;
	struct store_copy c;
	struct jobs_error err;
	char id[40];
	const char *at = strchr(job->id, '@');
	int64_t moved = 0;

	memset(&err, 0, sizeof(err));
	memset(&c, 0, sizeof(c));
	store_checkpoint_init(&ck);
	if (!at || (size_t)(at - job->id) >= sizeof(id))
		return;
	memcpy(id, job->id, (size_t)(at - job->id));
	id[at - job->id] = '\0';
	snprintf(c.checkpoint_id, sizeof(c.checkpoint_id), "%s", id);
	snprintf(c.engine, sizeof(c.engine), "%s", at + 1);
	c.bytes = STORE_UNSET;
	if (store_checkpoint_get(jobs_store(j), id, &ck) != STORE_OK) {
		jobs_fail(&err, "checkpoint_not_found", "checkpoint '%s' was deleted", id);
		goto failed;
	}
	c.status = STORE_RUNNING;
	store_copy_put(jobs_store(j), &c);
	if (jobs_transfer(j, job->id, &ck, job->engine2, job->engine, c.directory,
			  sizeof(c.directory), &moved, &err))
		goto failed;
	c.status = STORE_READY;
	c.bytes = moved;
	store_copy_put(jobs_store(j), &c);
	log_line("job %s: copy ready in %s", job->id, c.directory);
	goto out;
failed:
	c.status = STORE_FAILED;
	c.directory[0] = '\0';
	snprintf(c.error_message, sizeof(c.error_message), "%s", err.message);
	store_copy_put(jobs_store(j), &c);
	log_line("job %s: copy failed (%s): %s", job->id, err.code, err.message);
out:
	store_checkpoint_release(&ck);
}
