/*
 * podman.c - what a checkpoint and a restore do on a Podman engine.
 *
 * Podman's libpod API exports a checkpoint as one archive (CRIU's files,
 * the root filesystem's changes, the container's configuration) in the
 * answer to the checkpoint call, and imports it as the body of a restore.
 * The archive is kept by the service, in <data>/archives/<record id>.tar:
 *  - a Podman engine keeps no exported checkpoint it could restore into a
 *    new container later: the archive has to live somewhere, and the service
 *    is the one place every engine can be given it from;
 *  - a restore on any Podman engine is then one streamed request (the base
 *    image being there), with no copy between engines first;
 *  - deleting the record deletes one local file.
 * The bytes go through the service in 256 KiB pieces (a file read, a libcurl
 * upload), never whole in memory; the digest and CRIU's statistics are
 * taken as they pass.
 *
 * Podman quirks met here and handled so a user never sees them: a restore
 * in network mode "none" leaves the container's loopback down (the app
 * listens, nothing reaches 127.0.0.1 inside): a short-lived helper in the
 * container's network namespace sets it up again (jobs_podman_loopback_up);
 * exec needs attached streams and a detached exec stays "Running" for
 * minutes (engine_exec attaches).
 */
#include "jobs/jobs_int.h"
#include "buf.h"
#include "clock.h"
#include "criu.h"
#include "log.h"
#include "sha256.h"
#include "store/store.h"
#include "tar.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest stats-dump kept (CRIU writes well under 100 bytes). */
#define STATS_MAX 4096

struct export_sink {
	struct jobs *j;
	const char *id;
	int fd;
	struct sha256 sha;
	struct tar_counter tar;
	uint64_t bytes;
	int in_stats;             /* the current tar entry is stats-dump */
	unsigned char stats[STATS_MAX];
	size_t stats_len;
	char why[256];            /* "" or why the sink stopped */
};

static void export_entry(void *arg, const char *path, char type, uint64_t size)
{
	struct export_sink *x = arg;

	(void)size;
	x->in_stats = type == '0' && strcmp(path, "stats-dump") == 0;
}

static int export_data(void *arg, const char *data, size_t len)
{
	struct export_sink *x = arg;

	if (x->in_stats && x->stats_len + len <= sizeof(x->stats)) {
		memcpy(x->stats + x->stats_len, data, len);
		x->stats_len += len;
	}
	return 0;
}

/* Each piece of the export: to the file, the digest and the tar reader. */
static int export_chunk(void *arg, const char *data, size_t len)
{
	struct export_sink *x = arg;
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(x->fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(x->why, sizeof(x->why), "writing the archive: %s", strerror(errno));
			return 1;
		}
		off += (size_t)n;
	}
	sha256_feed(&x->sha, data, len);
	if (!x->tar.error[0] && tar_counter_feed(&x->tar, data, len)) {
		snprintf(x->why, sizeof(x->why), "the engine's export is not a tar: %s",
			 x->tar.error);
		return 1;
	}
	x->bytes += len;
	jobs_progress_set(x->j, x->id, "export", x->bytes, 0);
	return 0;
}

void jobs_archive_path(struct jobs *j, const char *id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s.tar", j->archive_dir, id);
}

/* CRIU's dump statistics as the record's JSON, or NULL. */
static char *stats_json(const unsigned char *img, size_t len)
{
	struct criu_dump_stats st;
	char out[512];

	if (criu_dump_stats_parse(img, len, &st))
		return NULL;
	snprintf(out, sizeof(out),
		 "{\"freezing_time_us\":%llu,\"frozen_time_us\":%llu,\"memdump_time_us\":%llu,"
		 "\"memwrite_time_us\":%llu,\"pages_scanned\":%llu,\"pages_written\":%llu}",
		 (unsigned long long)st.freezing_time_us, (unsigned long long)st.frozen_time_us,
		 (unsigned long long)st.memdump_time_us, (unsigned long long)st.memwrite_time_us,
		 (unsigned long long)st.pages_scanned, (unsigned long long)st.pages_written);
	return strdup(out);
}

/* Splits "docker.io/library/app:1.0" into repository and tag ("latest"
 * when none); a digest reference keeps its whole name as repository. */
static void split_ref(const char *ref, char *repo, size_t repolen, char *tag, size_t taglen)
{
	const char *colon = strrchr(ref, ':'), *slash = strrchr(ref, '/');

	if (strchr(ref, '@') || !colon || (slash && colon < slash)) {
		snprintf(repo, repolen, "%s", ref);
		snprintf(tag, taglen, "%s", strchr(ref, '@') ? "" : "latest");
		return;
	}
	snprintf(repo, repolen, "%.*s", (int)(colon - ref), ref);
	snprintf(tag, taglen, "%s", colon + 1);
}

int jobs_podman_checkpoint(struct jobs *j, struct engine *e, struct store_checkpoint *ck,
			   struct jobs_error *err)
{
	struct json_object *cfg = ck->config_json ? json_tokener_parse(ck->config_json) : NULL;
	struct json_object *img = NULL, *v;
	struct export_sink *x = calloc(1, sizeof(*x));
	struct engine_error ee;
	enum engine_result r;
	char part[1100], final[1100], hex[65];
	const char *s;
	int64_t t;
	int rc = -1;

	if (x)
		x->fd = -1;
	if (!x || sha256_init(&x->sha)) {
		jobs_fail(err, "internal_error", "out of memory");
		goto out;
	}
	/* 1. the image a restore needs: the container's own (the export holds
	 * the root filesystem's changes on top of it; nothing is committed) */
	t = clock_mono_ms();
	if ((s = jobs_jstr(cfg, "Image")))
		snprintf(ck->image_id, sizeof(ck->image_id), "%s", s);
	if (json_object_object_get_ex(cfg, "Config", &v) && (s = jobs_jstr(v, "Image")))
		split_ref(s, ck->image_repository, sizeof(ck->image_repository), ck->image_tag,
			  sizeof(ck->image_tag));
	if (ck->image_id[0] && engine_image_inspect(e, ck->image_id, &img, &ee) == ENGINE_OK &&
	    json_object_object_get_ex(img, "Size", &v))
		ck->image_size = json_object_get_int64(v);
	ck->t_commit = clock_mono_ms() - t;
	store_checkpoint_update(jobs_store(j), ck);

	/* 2. the dump, exported into our archive as it arrives */
	jobs_archive_path(j, ck->id, final, sizeof(final));
	snprintf(part, sizeof(part), "%s.part", final);
	x->fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (x->fd < 0) {
		jobs_fail(err, "internal_error", "cannot create '%s': %s", part, strerror(errno));
		goto out;
	}
	x->j = j;
	x->id = ck->id;

	tar_counter_init(&x->tar);
	x->tar.on_entry = export_entry;
	x->tar.on_data = export_data;
	x->tar.arg = x;
	t = clock_mono_ms();
	r = engine_podman_checkpoint(e, ck->container_id, ck->leave_running, export_chunk, x, &ee);
	ck->t_checkpoint = clock_mono_ms() - t;
	if (r == ENGINE_OK && fsync(x->fd)) {
		snprintf(x->why, sizeof(x->why), "writing the archive: %s", strerror(errno));
		r = ENGINE_ABORTED;
	}
	close(x->fd);
	x->fd = -1;
	if (r == ENGINE_OK && !x->tar.done) {
		snprintf(x->why, sizeof(x->why), "the engine's export ended before the archive did");
		r = ENGINE_ABORTED;
	}
	if (r != ENGINE_OK) {
		unlink(part);
		if (r == ENGINE_ABORTED)
			jobs_fail(err, x->why[0] && strncmp(x->why, "writing", 7) == 0
					       ? "internal_error" : "engine_error",
				  "%s", x->why[0] ? x->why : ee.message);
		else if (r == ENGINE_UNREACHABLE)
			jobs_fail_engine(err, r, &ee, "taking the checkpoint");
		else if (r == ENGINE_NOT_FOUND)
			jobs_fail(err, "container_not_found", "taking the checkpoint: %s", ee.message);
		else if (strstr(ee.message, "not running"))
			jobs_fail(err, "container_not_running", "taking the checkpoint: %s", ee.message);
		else {
			jobs_fail(err, "checkpoint_failed", "%s", ee.message);
			jobs_diagnose(j, e, ck->id, ck->image_id, ee.message, err);
		}
		goto out;
	}
	if (rename(part, final)) {
		jobs_fail(err, "internal_error", "cannot rename '%s': %s", part, strerror(errno));
		unlink(part);
		goto out;
	}
	sha256_hex(&x->sha, hex);
	snprintf(ck->archive_sha256, sizeof(ck->archive_sha256), "%s", hex);
	snprintf(ck->directory, sizeof(ck->directory), "%s", final);
	ck->size_bytes = (int64_t)x->bytes;
	free(ck->criu_stats_json);
	ck->criu_stats_json = x->stats_len ? stats_json(x->stats, x->stats_len) : NULL;
	log_line("job %s: exported %llu bytes to %s in %lldms", ck->id,
		 (unsigned long long)x->bytes, final, (long long)ck->t_checkpoint);
	rc = 0;
out:
	if (x && x->fd >= 0)
		close(x->fd);
	if (x)
		sha256_release(&x->sha);
	free(x);
	json_object_put(img);
	json_object_put(cfg);
	return rc;
}

/* --- restore */

struct archive_reader {
	int fd;
	char why[256];
};

static size_t archive_read(void *arg, char *out, size_t len)
{
	struct archive_reader *rd = arg;
	ssize_t n;

	do
		n = read(rd->fd, out, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(rd->why, sizeof(rd->why), "reading the archive: %s", strerror(errno));
		return ENGINE_READ_ABORT;
	}
	return (size_t)n;
}

enum engine_result jobs_podman_restore(struct engine *e,
				       const struct store_checkpoint *ck, struct store_restore *rs,
				       struct engine_error *ee)
{
	struct archive_reader rd = {-1, ""};
	struct json_object *stats = NULL;
	enum engine_result r;
	char id[72];

	if (rs->in_place) {
		r = engine_podman_restore(e, rs->container_id, NULL, NULL, NULL, id, &stats, ee);
	} else {
		rd.fd = open(ck->directory, O_RDONLY | O_CLOEXEC);
		if (rd.fd < 0) {
			ee->http_status = 0;
			snprintf(ee->message, sizeof(ee->message), "cannot open the archive '%s': %s",
				 ck->directory, strerror(errno));
			return ENGINE_ABORTED;
		}
		r = engine_podman_restore(e, NULL, rs->container_name, archive_read, &rd, id, &stats,
					  ee);
		close(rd.fd);
		if (r == ENGINE_ABORTED && rd.why[0])
			snprintf(ee->message, sizeof(ee->message), "%s", rd.why);
	}
	if (r == ENGINE_OK) {
		snprintf(rs->container_id, sizeof(rs->container_id), "%s", id);
		free(rs->criu_stats_json);
		rs->criu_stats_json =
			stats ? strdup(json_object_to_json_string_ext(stats, JSON_C_TO_STRING_PLAIN))
			      : NULL;
	}
	json_object_put(stats);
	return r;
}

int jobs_podman_loopback_up(struct engine *e, const char *cid, const char *owner,
			    struct jobs_error *err)
{
	struct json_object *cmd = json_object_new_array();
	char why[512];
	int rc;

	json_object_array_add(cmd, json_object_new_string("/checkpointd-probe"));
	json_object_array_add(cmd, json_object_new_string("lo-up"));
	rc = jobs_helper_run(e, cid, 0, owner, cmd, "NET_ADMIN", NULL, why, sizeof(why));
	json_object_put(cmd);
	if (rc)
		return jobs_fail(err, "engine_error",
				 "cannot set up the restored container's loopback: %s", why);
	return 0;
}
