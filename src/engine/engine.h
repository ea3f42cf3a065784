/*
 * engine.h - clients of container engines (today the Docker Engine API;
 * Podman's will sit behind the same functions).  Each struct engine is one
 * configured engine: a name, a URL and a pool of libcurl handles that keep
 * connections open.  Nothing here knows of HTTP serving or SQLite.
 *
 * Every call is synchronous and thread-safe.  Failures are reported as an
 * enum engine_result plus a struct engine_error that carries the engine's
 * own status and message (or libcurl's, when the engine did not answer), so
 * callers can show users the engine's words.
 *
 * Ownership: json_object results are new references the caller puts;
 * strings passed in are borrowed.
 */
#ifndef CHECKPOINTD_ENGINE_H
#define CHECKPOINTD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct engine;

/* Which API an engine speaks beyond the Docker-compatible routes both
 * serve: Docker's experimental checkpoints, or Podman's libpod ones. */
enum engine_kind {
	ENGINE_DOCKER = 0,
	ENGINE_PODMAN
};

enum engine_result {
	ENGINE_OK = 0,
	ENGINE_NOT_FOUND,     /* the engine answered 404 */
	ENGINE_CONFLICT,      /* the engine answered 409 */
	ENGINE_REFUSED,       /* other 4xx: the engine refused the request */
	ENGINE_NOT_SUPPORTED, /* 501: e.g. checkpoints without experimental */
	ENGINE_FAILED,        /* 5xx: the engine failed doing it */
	ENGINE_UNREACHABLE,   /* no answer: connection refused, timeout, a TLS
			       * failure (message "TLS: URL: ..."), ... */
	ENGINE_BAD_REPLY,     /* an answer we cannot read */
	ENGINE_ABORTED        /* the caller's stream callback stopped it */
};

struct engine_error {
	long http_status;   /* the engine's status, 0 when it did not answer */
	char message[2048]; /* the engine's message, or why there was none */
};

/* What an engine said about itself at the last probe. */
struct engine_info {
	int reachable;            /* 1 when the last probe got answers */
	char docker_version[32];  /* "20.10.24" */
	char api_version[16];     /* "1.41" */
	int experimental;         /* -1 unknown, 0 off, 1 on */
	char root_dir[512];       /* DockerRootDir on the engine host */
	char engine_id[128];      /* the daemon's own ID (/info "ID"): two names
				   * for one daemon have the same */
	char warning[256];        /* "" or a known problem with this version */
	char error[512];          /* "" or why it is unreachable */
	int64_t checked_at;       /* ms since the epoch */
};

/* Creates an engine client for url: "tcp://HOST:PORT", "http://HOST:PORT",
 * "https://HOST:PORT" or "unix:///path/to/docker.sock".  Does not connect.
 * A "podman+" prefix on any of them makes a Podman engine (a `podman system
 * service` on that address): same routes, but checkpoints go through
 * libpod (engine_podman_*).
 *
 * tls_dir (NULL or "": none) is a certificate folder in the docker CLI's
 * layout: ca.pem (the only CA trusted for the engine's certificate),
 * cert.pem and key.pem (our client certificate).  With it, tcp:// and
 * https:// URLs speak TLS; http:// and unix:// are refused.  An https:// URL
 * without it is TLS with the system's CAs and no client certificate.  The
 * engine's certificate and host name are always verified.
 *
 * NULL and a reason in err when the URL is not one of those or a file of
 * tls_dir cannot be read.  Strings are copied. */
struct engine *engine_new(const char *name, const char *url,
			  const char *tls_dir, /* NULL: plain (unless https://) */
			  char *err, size_t errlen);
void engine_free(struct engine *e);

const char *engine_name(const struct engine *e);
const char *engine_url(const struct engine *e);
enum engine_kind engine_kind(const struct engine *e);

/* "docker" or "podman". */
const char *engine_kind_name(enum engine_kind k);

/* 1 when calls go over TLS. */
int engine_tls(const struct engine *e);

/* The certificate folder given to engine_new(), NULL when none. */
const char *engine_tls_dir(const struct engine *e);

/* Asks the engine what it is (GET /version and /info), with short
 * timeouts, and keeps the answer for engine_info_get(). */
void engine_probe(struct engine *e);

/* A copy of what the last probe found. */
void engine_info_get(struct engine *e, struct engine_info *out);

/* The warning for a Docker version known to break checkpoint/restore, or
 * NULL.  Pure, for tests. */
const char *engine_version_warning(const char *docker_version);

/* --- containers */

/* GET /containers/{ref}/json: *out gets the whole inspect object. */
enum engine_result engine_container_inspect(struct engine *e, const char *ref,
					    struct json_object **out,
					    struct engine_error *err);

/* POST /containers/create with config (the Engine API's create body;
 * borrowed) and an optional name; id gets the new container's id. */
enum engine_result engine_container_create(struct engine *e, const char *name,
					   struct json_object *config, char id[72],
					   struct engine_error *err);

/* DELETE /containers/{id}?force=..&v=1 */
enum engine_result engine_container_remove(struct engine *e, const char *id, int force,
					   struct engine_error *err);

/* POST /containers/{id}/stop?t=timeout_s (304 "already stopped" is OK). */
enum engine_result engine_container_stop(struct engine *e, const char *id, int timeout_s,
					 struct engine_error *err);

/* POST /commit?container=..&repo=..&tag=..&pause=true: image_id gets
 * "sha256:...". */
enum engine_result engine_container_commit(struct engine *e, const char *id,
					   const char *repo, const char *tag,
					   char image_id[80], struct engine_error *err);

/* GET /containers/{id}/archive?path=..: streams the tar to fn as it
 * arrives (fn returns 0 to go on, non-zero to abort with ENGINE_ABORTED). */
typedef int (*engine_stream_fn)(void *arg, const char *data, size_t len);
enum engine_result engine_container_archive_get(struct engine *e, const char *id,
						const char *path, engine_stream_fn fn,
						void *arg, struct engine_error *err);

/* POST /containers/{id}/start, with ?checkpoint=NAME when checkpoint is
 * not NULL (a restore from <root>/containers/{id}/checkpoints/NAME). */
enum engine_result engine_container_start(struct engine *e, const char *id,
					  const char *checkpoint, struct engine_error *err);

/* PUT /containers/{id}/archive?path=..: unpacks the tar (len bytes,
 * borrowed) at path in the container's filesystem view. */
enum engine_result engine_container_archive_put(struct engine *e, const char *id,
						const char *path, const char *tar,
						size_t len, struct engine_error *err);

/* Runs argv (a JSON array of strings, borrowed) in the running container
 * through the Engine API's exec, attached, and waits up to timeout_ms for
 * it to end; *exit_code gets its status (-1 unknown).  ENGINE_ABORTED on
 * timeout (the command may go on running in the container). */
enum engine_result engine_exec(struct engine *e, const char *id, struct json_object *argv,
			       long timeout_ms, int *exit_code, struct engine_error *err);

/* engine_exec() that also hands the command's output (stdout and stderr,
 * demultiplexed, in order) to fn as it arrives, when fn is not NULL; fn
 * returning non-zero stops the call (ENGINE_ABORTED). */
enum engine_result engine_exec_output(struct engine *e, const char *id, struct json_object *argv,
				      long timeout_ms, int *exit_code, engine_stream_fn fn,
				      void *arg, struct engine_error *err);

/* The container's memory use in bytes, as `docker stats` shows it (the
 * cgroup's usage less its inactive file cache), from one stats sample. */
enum engine_result engine_container_memory(struct engine *e, const char *id, int64_t *bytes,
					   struct engine_error *err);

/* GET /containers/{id}/logs since since_ms (epoch ms), stdout and stderr,
 * streamed to fn as the engine sends them (Docker's 8-byte frame headers
 * included for containers without a TTY). */
enum engine_result engine_container_logs(struct engine *e, const char *id, int64_t since_ms,
					 engine_stream_fn fn, void *arg,
					 struct engine_error *err);

/* POST /containers/{id}/wait: waits up to timeout_ms for the container to
 * stop; *status gets its exit status. */
enum engine_result engine_container_wait(struct engine *e, const char *id, long timeout_ms,
					 int *status, struct engine_error *err);

/* Docker's log stream for containers without a TTY: frames of [stream, 0,
 * 0, 0, size (32 bits, big-endian)] + payload.  engine_demux_feed() hands
 * the payload bytes to fn; raw (a TTY) passes everything through. */
struct engine_demux {
	unsigned char hdr[8];
	size_t fill;
	uint32_t left;
	int raw;
};
int engine_demux_feed(struct engine_demux *d, const char *data, size_t len,
		      engine_stream_fn fn, void *arg);

/* --- images */

/* GET /images/{ref}/json: *out gets the inspect object. */
enum engine_result engine_image_inspect(struct engine *e, const char *ref,
					struct json_object **out,
					struct engine_error *err);

/* POST /images/create?fromSrc=-&repo=..&tag=..: imports a root
 * filesystem tar (len bytes, borrowed) as an image. */
enum engine_result engine_image_import(struct engine *e, const char *repo, const char *tag,
				       const char *tar, size_t len, struct engine_error *err);

/* POST /images/{ref}/tag?repo=..&tag=..: gives image ref that name too. */
enum engine_result engine_image_tag(struct engine *e, const char *ref, const char *repo,
				    const char *tag, struct engine_error *err);

/* DELETE /images/{ref} (not forced: ENGINE_CONFLICT when still in use). */
enum engine_result engine_image_remove(struct engine *e, const char *ref,
				       struct engine_error *err);

/* --- checkpoints (Docker's experimental API) */

/* POST /containers/{id}/checkpoints {CheckpointID, CheckpointDir, Exit}:
 * the files land in dir/name on the engine host. */
enum engine_result engine_checkpoint_create(struct engine *e, const char *id,
					    const char *name, const char *dir,
					    int exit_after, struct engine_error *err);

/* DELETE /containers/{id}/checkpoints/{name}[?dir=..]: removes dir/name
 * (dir NULL: the container's own checkpoints folder) on the engine host.  With a custom dir, any container serves as the anchor:
 * Docker uses it only to find the folder. */
enum engine_result engine_checkpoint_delete(struct engine *e, const char *id,
					    const char *name, const char *dir,
					    struct engine_error *err);

/* Streams the answer to GET src_path on src into a dst_method dst_path
 * request on dst (a chunked body of content_type), through a bounded
 * buffer: never the whole body in memory.  progress(arg, bytes) (optional)
 * is called as bytes pass; *moved gets the total.  Whichever side fails
 * stops the other; the result and err say which and why. */
enum engine_result engine_pipe(struct engine *src, const char *src_path, struct engine *dst,
			       const char *dst_method, const char *dst_path,
			       const char *content_type,
			       void (*progress)(void *arg, uint64_t bytes), void *arg,
			       uint64_t *moved, struct engine_error *err);

/* --- checkpoints (Podman's libpod API; Podman engines only) */

/* POST /libpod/containers/{id}/checkpoint?export=true&keep=true: CRIU
 * dumps the container and the answer is the exported archive (CRIU's
 * files, the root filesystem's changes, the container's configuration),
 * streamed to fn as it arrives.  The files also stay with the container,
 * for engine_podman_restore() in place.  leave_running: the container goes
 * on running (else it is stopped). */
enum engine_result engine_podman_checkpoint(struct engine *e, const char *id, int leave_running,
					    engine_stream_fn fn, void *arg,
					    struct engine_error *err);

/* Reads up to len bytes of a request body into buf: the count, 0 at the
 * end, ENGINE_READ_ABORT to give up. */
typedef size_t (*engine_read_fn)(void *arg, char *buf, size_t len);
#define ENGINE_READ_ABORT ((size_t)-1)

/* A restore.  With rd: POST /libpod/containers/import/restore?import=true
 * with the exported archive read from rd as the body (streamed, chunked),
 * into a new container called name (NULL: the original's name and id).
 * Without rd: the container id in place, from the files its last
 * checkpoint kept (keep=true, so it can be done again).  out_id gets the
 * restored container's id; *stats (optional) CRIU's statistics as Podman
 * reports them ({"forking_time": us, "restore_time": us, "pages_restored":
 * n}), or NULL. */
enum engine_result engine_podman_restore(struct engine *e, const char *id, const char *name,
					 engine_read_fn rd, void *arg, char out_id[72],
					 struct json_object **stats, struct engine_error *err);

/* Human text for a result, e.g. "engine unreachable". */
const char *engine_result_name(enum engine_result r);

#endif
