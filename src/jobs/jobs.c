/*
 * jobs.c - the worker pool, the registry of active jobs and their waiters,
 * the engines and their background probe.
 */
#include "jobs/jobs_int.h"
#include "engine/engine.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int jobs_fail(struct jobs_error *err, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->hint[0] = '\0';
	err->diagnosed = 0;
	return -1;
}

void jobs_new_id(const char *prefix, char *buf, size_t len)
{
	unsigned char r[8];
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n > 0)
			got += (size_t)n;
		else if (errno != EINTR)
			break;
	}
	snprintf(buf, len, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7]);
}

static void abs_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Takes the waiters of job (under the lock) and calls them (outside). */
static void call_waiters(struct job_waiter *w)
{
	while (w) {
		struct job_waiter *next = w->next;

		w->fn(w->arg);
		free(w);
		w = next;
	}
}

static void *worker_main(void *arg)
{
	struct jobs *j = arg;

	pthread_mutex_lock(&j->lock);
	for (;;) {
		struct job *job, **pp;
		struct job_waiter *w;

		for (job = j->active; job && job->running; job = job->next)
			;
		if (j->stopping)
			break;
		if (!job) {
			pthread_cond_wait(&j->wake, &j->lock);
			continue;
		}
		job->running = 1;
		pthread_mutex_unlock(&j->lock);

		job->run(j, job);

		pthread_mutex_lock(&j->lock);
		for (pp = &j->active; *pp != job; pp = &(*pp)->next)
			;
		*pp = job->next;
		w = job->waiters;
		pthread_cond_broadcast(&j->idle);
		pthread_mutex_unlock(&j->lock);
		call_waiters(w);
		free(job);
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

static void *prober_main(void *arg)
{
	struct jobs *j = arg;
	struct timespec ts;
	int i;

	pthread_mutex_lock(&j->lock);
	while (!j->stopping) {
		abs_deadline(&ts, j->probe_interval_ms);
		if (pthread_cond_timedwait(&j->halt, &j->lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&j->lock);
		for (i = 0; i < j->nengines; i++)
			engine_probe(j->engines[i]);
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

struct jobs *jobs_start(struct store *st, struct engine **engines, int nengines,
			unsigned workers, int probe_interval_ms)
{
	struct jobs *j = calloc(1, sizeof(*j));
	unsigned i;

	if (!j)
		return NULL;
	j->store = st;
	j->engines = engines;
	j->nengines = nengines;
	j->probe_interval_ms = probe_interval_ms;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->wake, NULL);
	pthread_cond_init(&j->idle, NULL);
	pthread_cond_init(&j->halt, NULL);
	for (i = 0; i < (unsigned)nengines; i++)
		engine_probe(engines[i]);
	j->workers = calloc(workers, sizeof(*j->workers));
	if (!j->workers) {
		free(j);
		return NULL;
	}
	for (i = 0; i < workers; i++)
		if (pthread_create(&j->workers[j->nworkers], NULL, worker_main, j) == 0)
			j->nworkers++;
	pthread_create(&j->prober, NULL, prober_main, j);
	return j;
}

int jobs_drain(struct jobs *j, int grace_ms)
{
	struct timespec ts;
	struct job *job;
	int left = 0;

	abs_deadline(&ts, grace_ms);
	pthread_mutex_lock(&j->lock);
	j->stopping = 1;
	pthread_cond_broadcast(&j->wake);
	pthread_cond_broadcast(&j->halt);
	for (;;) {
		int running = 0;

		for (job = j->active; job; job = job->next)
			running += job->running;
		if (!running)
			break;
		if (pthread_cond_timedwait(&j->idle, &j->lock, &ts) == ETIMEDOUT)
			break;
	}
	for (job = j->active; job; job = job->next) {
		struct job_waiter *w = job->waiters;

		left += job->running;
		job->waiters = NULL;
		pthread_mutex_unlock(&j->lock);
		call_waiters(w);
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	if (left)
		log_line("jobs: %d job(s) still running at exit; they will show as interrupted", left);
	return left ? -1 : 0;
}

void jobs_free(struct jobs *j)
{
	unsigned i;
	struct job *job;

	if (!j)
		return;
	for (i = 0; i < j->nworkers; i++)
		pthread_join(j->workers[i], NULL);
	pthread_join(j->prober, NULL);
	while ((job = j->active)) {
		j->active = job->next;
		free(job);
	}
	free(j->workers);
	pthread_cond_destroy(&j->wake);
	pthread_cond_destroy(&j->idle);
	pthread_cond_destroy(&j->halt);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

int jobs_queue(struct jobs *j, const char *id, struct engine *e, job_run_fn run)
{
	struct job *job = calloc(1, sizeof(*job)), **pp;

	if (!job)
		return -1;
	snprintf(job->id, sizeof(job->id), "%s", id);
	job->engine = e;
	job->run = run;
	pthread_mutex_lock(&j->lock);
	if (j->stopping) {
		pthread_mutex_unlock(&j->lock);
		free(job);
		return -1;
	}
	for (pp = &j->active; *pp; pp = &(*pp)->next)
		;
	*pp = job;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->lock);
	return 0;
}

int jobs_when_done(struct jobs *j, const char *id, void (*fn)(void *arg), void *arg)
{
	struct job *job;
	struct job_waiter *w = malloc(sizeof(*w));
	int rc = 1;

	if (!w)
		return 1;
	pthread_mutex_lock(&j->lock);
	for (job = j->active; job; job = job->next) {
		if (strcmp(job->id, id) == 0 && !j->stopping) {
			w->fn = fn;
			w->arg = arg;
			w->next = job->waiters;
			job->waiters = w;
			w = NULL;
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&j->lock);
	free(w);
	return rc;
}

int jobs_is_active(struct jobs *j, const char *id)
{
	struct job *job;
	int found = 0;

	pthread_mutex_lock(&j->lock);
	for (job = j->active; job && !found; job = job->next)
		found = strcmp(job->id, id) == 0;
	pthread_mutex_unlock(&j->lock);
	return found;
}

struct store *jobs_store(const struct jobs *j)
{
	return j->store;
}

int jobs_engine_count(const struct jobs *j)
{
	return j->nengines;
}

struct engine *jobs_engine_at(const struct jobs *j, int i)
{
	return i >= 0 && i < j->nengines ? j->engines[i] : NULL;
}

struct engine *jobs_engine_find(const struct jobs *j, const char *name)
{
	int i;

	if (!name) {
		if (j->nengines == 1)
			return j->engines[0];
		name = "default";
	}
	for (i = 0; i < j->nengines; i++)
		if (strcmp(engine_name(j->engines[i]), name) == 0)
			return j->engines[i];
	return NULL;
}
