/*
 * jobs_int.h - what the files of jobs/ share.
 */
#ifndef CHECKPOINTD_JOBS_INT_H
#define CHECKPOINTD_JOBS_INT_H

#include "jobs/jobs.h"
#include "engine/engine.h"

#include <stdint.h>

#include <pthread.h>
#include <stdarg.h>

struct job;
struct store_checkpoint;
typedef void (*job_run_fn)(struct jobs *j, struct job *job);

struct job_waiter {
	void (*fn)(void *arg);
	void *arg;
	struct job_waiter *next;
};

struct job {
	char id[128];               /* record id, or "<ck id>@<engine>" for a copy */
	struct engine *engine;
	struct engine *engine2;    /* a second engine a transfer uses, or NULL */
	char phase[16];            /* progress of a transfer: "" when none */
	uint64_t bytes_done;
	uint64_t bytes_total;
	job_run_fn run;
	int running;               /* picked by a worker */
	struct job_waiter *waiters;
	struct job *next;
};

struct jobs {
	struct store *store;
	char archive_dir[1024];    /* where Podman checkpoints' archives live */
	pthread_rwlock_t engines_lock; /* guards engines/nengines */
	struct engine *engines[JOBS_MAX_ENGINES];
	int nengines;
	/* engines removed through the API: kept until jobs_free() so a
	 * pointer handed out before the removal stays valid */
	struct engine *retired[JOBS_MAX_ENGINES];
	int nretired;
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* work queued, or stopping */
	pthread_cond_t idle;       /* a job finished */
	pthread_cond_t halt;       /* stopping: wakes the prober */
	struct job *active;        /* queued and running jobs, oldest first */
	int stopping;
	pthread_t *workers;
	unsigned nworkers;
	pthread_t prober;
	int probe_interval_ms;
};

/* Queues a job for record id on engine (and engine2, a second engine it
 * uses, or NULL).  Returns 0, or -1 when stopping. */
int jobs_queue(struct jobs *j, const char *id, struct engine *e, job_run_fn run);
int jobs_queue2(struct jobs *j, const char *id, struct engine *e, struct engine *e2,
		job_run_fn run);

/* Whether a and b are two names for one Docker daemon (same /info ID and
 * root folder): nothing needs to travel between them. */
int jobs_same_daemon(struct engine *a, struct engine *b);

/* Publishes the progress of job id's transfer (shown in its record). */
void jobs_progress_set(struct jobs *j, const char *id, const char *phase, uint64_t done,
		       uint64_t total);

/* Moves checkpoint ck (image and files) from src to dst for job job_id,
 * with progress; directory gets the files' folder on dst's host.  On
 * failure leaves nothing on dst and fills err (transfer_failed,
 * engine_unreachable, ...). */
int jobs_transfer(struct jobs *j, const char *job_id, const struct store_checkpoint *ck,
		  struct engine *src, struct engine *dst, char *directory, size_t dirlen,
		  int64_t *bytes_moved, struct jobs_error *err);

/* The copy job's body (copy.c); the job's id is "<checkpoint id>@<engine>". */
void jobs_copy_run(struct jobs *j, struct job *job);

/* Whether an engine error is one of the four known transient ones (retried
 * a bounded number of times; nothing else is). */
int jobs_is_transient(const char *msg);

/* Fills buf with "<prefix>" + 16 random hex digits. */
void jobs_new_id(const char *prefix, char *buf, size_t len);

/* Sets err's code and printf-formatted message (hint cleared); returns -1. */
int jobs_fail(struct jobs_error *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The checkpoint job's body (checkpoint.c). */
void jobs_checkpoint_run(struct jobs *j, struct job *job);

/* The restore job's body (restore.c). */
void jobs_restore_run(struct jobs *j, struct job *job);

/* After an engine failed a dump or restore with engine_message: reads the
 * CRIU log it names (through a helper made from image), explains it, keeps
 * the explanation and the log with record owner, and rewrites err (code,
 * message, hint).  Returns 1 when it did, 0 when there was nothing to add
 * (err is left as it was). */
int jobs_diagnose(struct jobs *j, struct engine *e, const char *owner, const char *image,
		  const char *engine_message, struct jobs_error *err);

/* Shared helpers of checkpoint.c, used by restore.c. */

/* Maps an engine failure to err ("engine_unreachable" or "engine_error")
 * with doing as context; returns -1. */
int jobs_fail_engine(struct jobs_error *err, enum engine_result r,
		     const struct engine_error *ee, const char *doing);

/* Checks that e answers (probing again when the last probe failed) and,
 * when need_experimental, that it has experimental features on. */
int jobs_engine_ready(struct engine *e, struct engine_info *info, int need_experimental,
		      struct jobs_error *err);

/* Creates a never-started helper container from image, labelled as ours,
 * with bind ("host:container[:ro]") when not NULL. */
enum engine_result jobs_helper_create(struct engine *e, const char *image, const char *bind,
				      const char *owner, char id[72], struct engine_error *ee);

/* Adds to a helper's HostConfig hc the small fixed limits helpers need:
 * Podman otherwise asks for a higher open-files limit than some hosts
 * allow, and the helper does not start. */
void jobs_helper_limits(struct json_object *hc);

/* Runs the helper image's program cmd (a JSON array, borrowed) in a
 * short-lived helper container that shares target's network namespace (and
 * its PID namespace with share_pid), with capability cap added, and removes it again; its output
 * goes to out (NULL: dropped).  0, or -1 with why.  Labels name owner (a
 * record id).  The helper image is imported onto the engine on first use. */
struct buf;
int jobs_helper_run(struct engine *e, const char *target, int share_pid, const char *owner,
		    struct json_object *cmd, const char *cap, struct buf *out, char *why,
		    size_t whylen);

/* --- Podman engines (podman.c) */

/* The archive file of checkpoint id on the service's host. */
void jobs_archive_path(struct jobs *j, const char *id, char *out, size_t outlen);

/* Takes checkpoint ck (its record pending, config_json the container's
 * inspect) on Podman engine e: image fields from the container, the export
 * into <archive dir>/<id>.tar, digest, size, CRIU's statistics, timings.
 * 0, or -1 with err (nothing left on disk). */
int jobs_podman_checkpoint(struct jobs *j, struct engine *e, struct store_checkpoint *ck,
			   struct jobs_error *err);

/* Restores ck on Podman engine e as rs says: in place (rs->container_id),
 * or into a new container called rs->container_name from the archive.
 * Sets rs->container_id and rs->criu_stats_json. */
struct store_restore;
enum engine_result jobs_podman_restore(struct engine *e,
				       const struct store_checkpoint *ck, struct store_restore *rs,
				       struct engine_error *ee);

/* Sets up the loopback of container cid again (a Podman restore in network
 * mode none leaves it down). */
int jobs_podman_loopback_up(struct engine *e, const char *cid, const char *owner,
			    struct jobs_error *err);

/* --- hooks (hooks.c) */

/* The hooks record of a checkpoint request: profile (NULL or a name) filled
 * in, overridden by whatever of before / settle (-1: not given) /
 * after_restore is given.  *out gets the JSON text (heap), or NULL when
 * nothing is asked.  -1 with err (invalid_field) for an unknown profile. */
int jobs_hooks_resolve(const char *profile, struct json_object *before, int settle,
		       struct json_object *after_restore, char **out, struct jobs_error *err);

/* Runs hooks (a JSON array of {"exec": [...], "timeout_s": n}; borrowed)
 * in container cid, in order, stopping at the first that fails.
 * *results_json (heap; what it held is freed) gets what each did as a JSON
 * array, or NULL when none ran; *ms the time they took.  when ("before",
 * "after") names them in messages.  -1 with err: hook_failed (a non-zero
 * exit, a timeout) or the engine's failure. */
int jobs_hooks_run(struct engine *e, const char *cid, struct json_object *hooks,
		   const char *when, char **results_json, int64_t *ms, struct jobs_error *err);

/* Waits until container cid's memory use (first: the last sample) stops
 * falling: it fell and then held for one interval, or it held for a few;
 * at most a few seconds.  *last gets the last sample; returns the ms
 * waited. */
int64_t jobs_settle(struct engine *e, const char *cid, int64_t first, int64_t *last);

/* o[key] when it is a string, else NULL (borrowed from o; o may be NULL). */
const char *jobs_jstr(struct json_object *o, const char *key);

/* 0 when checkpoint ck (its engine_kind) can go to engine e, else -1 with
 * err engine_kind_mismatch: a checkpoint restores on engines of its own
 * kind only. */
int jobs_kind_matches(const struct store_checkpoint *ck, struct engine *e,
		      struct jobs_error *err);

#endif
