/*
 * jobs_int.h - what the files of jobs/ share.
 */
#ifndef CHECKPOINTD_JOBS_INT_H
#define CHECKPOINTD_JOBS_INT_H

#include "jobs/jobs.h"
#include "engine/engine.h"

#include <pthread.h>
#include <stdarg.h>

struct job;
typedef void (*job_run_fn)(struct jobs *j, struct job *job);

struct job_waiter {
	void (*fn)(void *arg);
	void *arg;
	struct job_waiter *next;
};

struct job {
	char id[40];
	struct engine *engine;
	job_run_fn run;
	int running;               /* picked by a worker */
	struct job_waiter *waiters;
	struct job *next;
};

struct jobs {
	struct store *store;
	struct engine **engines;
	int nengines;
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

/* Queues a job for record id on engine.  Returns 0, or -1 when stopping. */
int jobs_queue(struct jobs *j, const char *id, struct engine *e, job_run_fn run);

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

#endif
