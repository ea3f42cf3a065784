/*
 * jobs.h - the operations of checkpointd, run against engines and recorded
 * in the store.  It knows the engines (by name), the store and a pool of
 * worker threads; it knows nothing of HTTP.
 *
 * Long operations (taking a checkpoint) are jobs: *_begin() checks what can
 * be checked at once, writes a pending record and queues the work, and a
 * worker carries it out, writing each step to the record.  Short ones
 * (deleting a checkpoint) run in the caller's thread.
 *
 * Failures come back as a struct jobs_error whose code is the stable
 * machine code users see (e.g. "container_not_running"); the api layer maps
 * codes to HTTP statuses.
 */
#ifndef CHECKPOINTD_JOBS_H
#define CHECKPOINTD_JOBS_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct store;
struct store_checkpoint;
struct store_restore;
struct json_object;
struct jobs;

struct jobs_error {
	char code[64];       /* stable machine code, "" when no error */
	char message[2048];  /* what happened, naming the object */
	char hint[512];      /* what to do, or "" */
	int diagnosed;       /* a diagnosis (CRIU's log explained) was kept */
	char field[64];      /* with invalid_field: which request field */
};

#define JOBS_MAX_ENGINES 64

/* Starts workers threads over the store and the engines: the seed engines
 * (from flags; taken over: jobs_free() frees them) are written to the store,
 * and engines the store holds from earlier POST /engines are added too.
 * Probes every engine once before returning, then again every
 * probe_interval_ms in the background.  NULL when a seed cannot be stored. */
struct jobs *jobs_start(struct store *st, struct engine **engines, int nengines,
			unsigned workers, int probe_interval_ms);

/* Where checkpoints taken on Podman engines keep their exported archives
 * (a folder of the service's, made by the caller; copied).  Set before
 * the first job. */
void jobs_set_archive_dir(struct jobs *j, const char *dir);

/* Refuses new jobs, waits up to grace_ms for running ones, then wakes every
 * waiter still registered (their jobs go on being unfinished).  Returns 0
 * when no job was left running (then jobs_free() may follow). */
int jobs_drain(struct jobs *j, int grace_ms);

/* Joins the threads and frees; call only after jobs_drain() returned 0. */
void jobs_free(struct jobs *j);

/* --- engines */

/* Copies up to max engine pointers into out, in the order they were added;
 * returns how many.  Engines stay valid until jobs_free(). */
int jobs_engines(struct jobs *j, struct engine **out, int max);
/* The engine called name; NULL name means the default one ("default", or
 * the only engine).  NULL when there is none. */
struct engine *jobs_engine_find(struct jobs *j, const char *name);

/* Adds an engine (POST /engines): checks the URL and TLS folder, keeps it
 * in the store, probes it.  *out gets it.  Returns 0, or -1 with err:
 * invalid_field (bad URL or folder; hint names the field), name_conflict,
 * internal_error. */
int jobs_engine_add(struct jobs *j, const char *name, const char *url, const char *tls_dir,
		    struct engine **out, struct jobs_error *err);

/* Removes an engine that holds no checkpoint, copy or running job.
 * Returns 0, or -1 with err: engine_not_found, engine_busy, internal_error. */
int jobs_engine_remove(struct jobs *j, const char *name, struct jobs_error *err);

/* --- checkpoints */

struct jobs_checkpoint_request {
	const char *container;   /* name or id, required */
	const char *name;        /* checkpoint name, or NULL to generate */
	const char *engine;      /* engine name, or NULL for the default */
	int leave_running;
	/* hooks (hooks.c); each NULL / -1 when not given; borrowed */
	const char *profile;              /* a profile's name: fills in the rest */
	struct json_object *before;       /* [{"exec": [...], "timeout_s": n}] */
	int settle;                       /* 0, 1, or -1 */
	struct json_object *after_restore;/* hooks every restore of it runs */
};

/* A named preset of hooks (GET /profiles). */
struct jobs_profile {
	const char *name;
	const char *description;
	const char *hooks;   /* JSON: {"before": [...], "settle": b, "after_restore": [...]} */
};

/* The profiles there are: *out gets the table, the count is returned. */
int jobs_profiles(const struct jobs_profile **out);
const struct jobs_profile *jobs_profile_find(const char *name);

/* Checks the request against the engine (it exists, answers, has
 * experimental features on; the container exists and runs), inserts the
 * pending record into *out (init'ed by the caller, who releases it) and
 * queues the job.  Returns 0, or -1 with err filled: engine_not_found,
 * engine_unreachable, experimental_disabled, container_not_found,
 * container_not_running, name_conflict, shutting_down, internal_error. */
int jobs_checkpoint_begin(struct jobs *j, const struct jobs_checkpoint_request *rq,
			  struct store_checkpoint *out, struct jobs_error *err);

/* Removes the checkpoint's files on its engine, its committed image unless
 * something else still uses it, and its record.  Returns 0, or -1 with err:
 * checkpoint_not_found, checkpoint_busy (its job runs), engine_not_found,
 * engine_unreachable, engine_error, internal_error. */
int jobs_checkpoint_delete(struct jobs *j, const char *id, struct jobs_error *err);

/* --- pre-flight: would a checkpoint work? */

#define JOBS_MAX_FINDINGS 32

struct jobs_finding {
	char code[64];
	char message[1024];
	char hint[512];
};

struct jobs_preflight {
	int ok;                   /* no blockers */
	char container_id[72];
	char container_name[256];
	char engine[64];
	struct jobs_finding blockers[JOBS_MAX_FINDINGS];
	int nblockers;
	struct jobs_finding warnings[JOBS_MAX_FINDINGS];
	int nwarnings;
};

/* Looks at the container (its configuration, and its processes' open files
 * through a helper sharing its PID namespace) and says what would make a
 * checkpoint fail (blockers) or a copy fragile (warnings), dumping nothing.
 * A stopped container or an engine without experimental features are
 * blockers, not errors.  Returns 0, or -1 with err: engine_not_found,
 * engine_unreachable, container_not_found, engine_error. */
int jobs_checkpoint_preflight(struct jobs *j, const struct jobs_checkpoint_request *rq,
			      struct jobs_preflight *pf, struct jobs_error *err);

/* --- restores */

struct jobs_restore_request {
	const char *checkpoint;          /* record id, required */
	const char *name;                /* new container's name, or NULL */
	const char *engine;              /* or NULL: the checkpoint's engine */
	int in_place;                    /* start the original container */
	int cold;                        /* no checkpoint: the baseline */
	struct json_object *overrides;   /* Engine API create fields, or NULL; borrowed */
	struct json_object *ready;       /* the probe, or NULL; borrowed */
	struct json_object *after;       /* hooks to run in the copy before the
					  * probe, or NULL: the checkpoint's
					  * after_restore; borrowed */
};

/* Checks the request (the checkpoint exists and is ready, the engine
 * answers, the name is free, the original exists and is stopped for
 * in_place), inserts the pending record into *out (init'ed by the caller,
 * who releases it) and queues the job.  Returns 0, or -1 with err:
 * checkpoint_not_found, checkpoint_not_ready, engine_not_found,
 * invalid_field (in_place on another engine), engine_unreachable, experimental_disabled,
 * container_not_found, container_running, name_conflict, shutting_down,
 * internal_error. */
int jobs_restore_begin(struct jobs *j, const struct jobs_restore_request *rq,
		       struct store_restore *out, struct jobs_error *err);

/* Places checkpoint id (image and files) on engine ahead of time, so that
 * restores there need no transfer.  Records the copy (pending) and queues
 * the job; *job_id gets its id for jobs_when_done().  Returns 0, or -1 with
 * err: checkpoint_not_found, checkpoint_not_ready, engine_not_found,
 * copy_exists, engine_unreachable, experimental_disabled, shutting_down,
 * internal_error. */
int jobs_copy_begin(struct jobs *j, const char *id, const char *engine, char *job_id,
		    size_t job_id_len, struct jobs_error *err);

/* Removes the restore's container from its engine (forced) and the
 * record.  Returns 0, or -1 with err: restore_not_found, restore_busy,
 * engine_not_found, engine_unreachable, engine_error, internal_error. */
int jobs_restore_delete(struct jobs *j, const char *id, struct jobs_error *err);

/* --- waiting for a job */

/* Calls fn(arg) once from a worker thread when the job of record id has
 * finished (or at jobs_drain()).  Returns 0 when registered, or 1 when no
 * such job is running (it has finished already: fn is not called). */
int jobs_when_done(struct jobs *j, const char *id, void (*fn)(void *arg), void *arg);

/* The progress of job id's transfer: 1 and *out filled while it moves
 * bytes between engines, else 0. */
struct jobs_progress {
	char phase[16];
	uint64_t bytes_done;
	uint64_t bytes_total;
};
int jobs_progress_get(struct jobs *j, const char *id, struct jobs_progress *out);

/* Whether a job for record id is queued or running. */
int jobs_is_active(struct jobs *j, const char *id);

/* The store the jobs write to (for readers). */
struct store *jobs_store(const struct jobs *j);

#endif
