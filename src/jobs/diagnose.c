/*
 * diagnose.c - turning "criu failed ... see criu-dump.log" into words.
 *
 * Docker's error names CRIU's log on the engine host.  While the container
 * lives, that folder is there: a created-never-started helper bound to it
 * lets us read the log through the archive API, from anywhere.  The log is
 * kept (bounded) with the record, explained by criu_explain(), and its
 * explanation becomes the job's error.
 */
#include "jobs/jobs_int.h"
#include "buf.h"
#include "criu.h"
#include "log.h"
#include "store/store.h"
#include "tar.h"

#include <stdio.h>
#include <string.h>

/* The most of a CRIU log we keep (logs of big apps run to megabytes). */
#define CRIU_LOG_LIMIT (16u << 20)

struct log_read {
	struct buf log;
	int truncated;
};

static int keep_data(void *arg, const char *data, size_t len)
{
	struct log_read *lr = arg;
	size_t room = lr->log.cap - lr->log.len;

	if (len > room) {
		lr->truncated = 1;
		len = room;
	}
	if (len)
		buf_add(&lr->log, data, len);
	return 0;
}

static int feed(void *arg, const char *data, size_t len)
{
	return tar_counter_feed(arg, data, len);
}

/* Reads the file at path on the engine host into lr (bounded). */
static int fetch_log(struct engine *e, const char *image, const char *owner, const char *path,
		     struct log_read *lr)
{
	char dir[1024], bind[1100], inner[600], helper[72];
	const char *slash = strrchr(path, '/');
	struct engine_error ee;
	struct tar_counter tc;
	enum engine_result r;

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir) || !slash[1])
		return -1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	snprintf(bind, sizeof(bind), "%s:/log:ro", dir);
	if (jobs_helper_create(e, image, bind, owner, helper, &ee) != ENGINE_OK) {
		log_line("%s: cannot create a helper to read %s: %s", owner, path, ee.message);
		return -1;
	}
	tar_counter_init(&tc);
	tc.on_data = keep_data;
	tc.arg = lr;
	snprintf(inner, sizeof(inner), "/log/%s", slash + 1);
	r = engine_container_archive_get(e, helper, inner, feed, &tc, &ee);
	engine_container_remove(e, helper, 1, &ee);
	if (r != ENGINE_OK) {
		log_line("%s: cannot read %s: %s", owner, path, ee.message);
		return -1;
	}
	return lr->log.len ? 0 : -1;
}

int jobs_diagnose(struct jobs *j, struct engine *e, const char *owner, const char *image,
		  const char *engine_message, struct jobs_error *err)
{
	struct criu_diagnosis d;
	struct log_read lr;
	char path[1024], tail[4096];
	int have_log;

	if (!criu_log_path_from_error(engine_message, path, sizeof(path)))
		path[0] = '\0';
	buf_init(&lr.log, CRIU_LOG_LIMIT);
	lr.truncated = 0;
	have_log = path[0] && image && image[0] && fetch_log(e, image, owner, path, &lr) == 0;
	if (have_log) {
		criu_explain(buf_str(&lr.log), lr.log.len, &d);
		criu_log_tail(buf_str(&lr.log), lr.log.len, 20, tail, sizeof(tail));
	} else {
		/* no log to read: explain what the engine said */
		criu_explain(engine_message, strlen(engine_message), &d);
		tail[0] = '\0';
	}
	if (!have_log && strcmp(d.code, "criu_failed") == 0) {
		buf_release(&lr.log);
		return 0; /* nothing better than the engine's own words */
	}
	snprintf(err->code, sizeof(err->code), "%s", d.code);
	snprintf(err->message, sizeof(err->message), "%s", d.message);
	snprintf(err->hint, sizeof(err->hint), "%s", d.hint);
	err->diagnosed = 1;
	if (store_diagnosis_put(jobs_store(j), owner, d.hint, d.criu_line, tail,
				have_log ? buf_str(&lr.log) : NULL, have_log ? lr.log.len : 0) != STORE_OK)
		log_line("%s: cannot keep the diagnosis: %s", owner, store_last_error());
	log_line("%s: %s: %s%s", owner, d.code, d.criu_line[0] ? d.criu_line : d.message,
		 lr.truncated ? " (log truncated)" : "");
	buf_release(&lr.log);
	return 1;
}
