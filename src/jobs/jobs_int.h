/*
 * jobs_int.h - what the files of jobs/ share.
 */
#ifndef CHECKPOINTD_JOBS_INT_H
#define CHECKPOINTD_JOBS_INT_H

#include "jobs/jobs.h"

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

#endif
