/*
 * jobs.c - the worker pool, the registry of active jobs and their waiters,
 * the engines and their background probe.
 */
#include "jobs/jobs_int.h"
#include "engine/engine.h"
#include "log.h"
#include "store/store.h"

#include <errno.h>
#include <json-c/json.h>
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
	err->field[0] = '\0';
	return -1;
}

/* The engine errors CRIU's own CI retries on Docker (moby#42900 and kin):
 * the same call again works. */
static const char *const transient_errors[] = {
	"already exists",
	"failed to upload checkpoint to containerd",
	"context deadline exceeded",
	"transport is closing",
};

int jobs_is_transient(const char *msg)
{
	size_t i;

	for (i = 0; i < sizeof(transient_errors) / sizeof(transient_errors[0]); i++)
		if (strstr(msg, transient_errors[i]))
			return 1;
	return 0;
}

const char *jobs_jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

int jobs_kind_matches(const struct store_checkpoint *ck, struct engine *e,
		      struct jobs_error *err)
{
	const char *kind = engine_kind_name(engine_kind(e));

	if (strcmp(ck->engine_kind, kind) == 0)
		return 0;
	return jobs_fail(err, "engine_kind_mismatch",
			 "checkpoint '%s' was taken on a %s engine; engine '%s' is %s: a checkpoint "
			 "restores on an engine of its own kind", ck->id, ck->engine_kind,
			 engine_name(e), kind);
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
		{
			struct engine *list[JOBS_MAX_ENGINES];
			int n = jobs_engines(j, list, JOBS_MAX_ENGINES);

			for (i = 0; i < n; i++)
				engine_probe(list[i]);
		}
		pthread_mutex_lock(&j->lock);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* Takes over the seed engines, stores them (a flag wins over what the
 * store had under that name), then adds the stored engines not seeded. */
static int load_stored(void *arg, const struct store_engine *se)
{
	struct jobs *j = arg;
	struct engine *e;
	char err[300];
	int i;

	for (i = 0; i < j->nengines; i++)
		if (strcmp(engine_name(j->engines[i]), se->name) == 0)
			return 0;
	if (j->nengines >= JOBS_MAX_ENGINES)
		return 0;
	e = engine_new(se->name, se->url, se->tls_dir[0] ? se->tls_dir : NULL, err, sizeof(err));
	if (!e) {
		log_line("engine %s: not loaded from the store: %s", se->name, err);
		return 0;
	}
	j->engines[j->nengines++] = e;
	return 0;
}

static int engines_seed(struct jobs *j, struct engine **engines, int nengines)
{
	int i;

	for (i = 0; i < nengines && i < JOBS_MAX_ENGINES; i++) {
		struct store_engine se = {0};
		const char *tls = engine_tls_dir(engines[i]);

		snprintf(se.name, sizeof(se.name), "%s", engine_name(engines[i]));
		snprintf(se.url, sizeof(se.url), "%s", engine_url(engines[i]));
		snprintf(se.tls_dir, sizeof(se.tls_dir), "%s", tls ? tls : "");
		if (store_engine_put(j->store, &se) != STORE_OK) {
			log_line("engine %s: cannot store it: %s", se.name, store_last_error());
			return -1;
		}
		j->engines[j->nengines++] = engines[i];
	}
	if (store_engine_list(j->store, load_stored, j) != STORE_OK) {
		log_line("engines: cannot read the stored ones: %s", store_last_error());
		return -1;
	}
	return 0;
}

struct jobs *jobs_start(struct store *st, struct engine **engines, int nengines,
			unsigned workers, int probe_interval_ms)
{
	struct jobs *j = calloc(1, sizeof(*j));
	unsigned i;

	if (!j)
		return NULL;
	j->store = st;
	j->probe_interval_ms = probe_interval_ms;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->wake, NULL);
	pthread_cond_init(&j->idle, NULL);
	pthread_cond_init(&j->halt, NULL);
	pthread_rwlock_init(&j->engines_lock, NULL);
	if (engines_seed(j, engines, nengines)) {
		/* the seeds stay the caller's: free only what the store added */
		for (i = (unsigned)nengines; i < (unsigned)j->nengines; i++)
			engine_free(j->engines[i]);
		pthread_rwlock_destroy(&j->engines_lock);
		free(j);
		return NULL;
	}
	for (i = 0; i < (unsigned)j->nengines; i++)
		engine_probe(j->engines[i]);
	j->workers = calloc(workers, sizeof(*j->workers));
	if (!j->workers) {
		for (i = (unsigned)nengines; i < (unsigned)j->nengines; i++)
			engine_free(j->engines[i]);
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

void jobs_set_archive_dir(struct jobs *j, const char *dir)
{
	snprintf(j->archive_dir, sizeof(j->archive_dir), "%s", dir);
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
	for (i = 0; i < (unsigned)j->nengines; i++)
		engine_free(j->engines[i]);
	for (i = 0; i < (unsigned)j->nretired; i++)
		engine_free(j->retired[i]);
	pthread_rwlock_destroy(&j->engines_lock);
	free(j->workers);
	pthread_cond_destroy(&j->wake);
	pthread_cond_destroy(&j->idle);
	pthread_cond_destroy(&j->halt);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

int jobs_queue(struct jobs *j, const char *id, struct engine *e, job_run_fn run)
{
	return jobs_queue2(j, id, e, NULL, run);
}

int jobs_queue2(struct jobs *j, const char *id, struct engine *e, struct engine *e2,
		job_run_fn run)
{
	struct job *job = calloc(1, sizeof(*job)), **pp;

	if (!job)
		return -1;
	snprintf(job->id, sizeof(job->id), "%s", id);
	job->engine = e;
	job->engine2 = e2;
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

int jobs_same_daemon(struct engine *a, struct engine *b)
{
	struct engine_info ia, ib;

	if (a == b)
		return 1;
	engine_info_get(a, &ia);
	engine_info_get(b, &ib);
	/* the ID alone is not enough: dockerd keeps it in /etc/docker, so
	 * daemons of one host with their own data roots share it */
	return ia.engine_id[0] && strcmp(ia.engine_id, ib.engine_id) == 0 &&
	       strcmp(ia.root_dir, ib.root_dir) == 0;
}

void jobs_progress_set(struct jobs *j, const char *id, const char *phase, uint64_t done,
		       uint64_t total)
{
	struct job *job;

	pthread_mutex_lock(&j->lock);
	for (job = j->active; job; job = job->next)
		if (strcmp(job->id, id) == 0) {
			snprintf(job->phase, sizeof(job->phase), "%s", phase);
			job->bytes_done = done;
			job->bytes_total = total > done ? total : done;
			break;
		}
	pthread_mutex_unlock(&j->lock);
}

int jobs_progress_get(struct jobs *j, const char *id, struct jobs_progress *out)
{
	struct job *job;
	int found = 0;

	pthread_mutex_lock(&j->lock);
	for (job = j->active; job && !found; job = job->next)
		if (strcmp(job->id, id) == 0 && job->phase[0]) {
			snprintf(out->phase, sizeof(out->phase), "%s", job->phase);
			out->bytes_done = job->bytes_done;
			out->bytes_total = job->bytes_total;
			found = 1;
		}
	pthread_mutex_unlock(&j->lock);
	return found;
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

int jobs_engines(struct jobs *j, struct engine **out, int max)
{
	int i, n;

	pthread_rwlock_rdlock(&j->engines_lock);
	n = j->nengines < max ? j->nengines : max;
	for (i = 0; i < n; i++)
		out[i] = j->engines[i];
	pthread_rwlock_unlock(&j->engines_lock);
	return n;
}

struct engine *jobs_engine_find(struct jobs *j, const char *name)
{
	struct engine *e = NULL;
	int i;

	pthread_rwlock_rdlock(&j->engines_lock);
	if (!name && j->nengines == 1)
		e = j->engines[0];
	for (i = 0; !e && i < j->nengines; i++)
		if (strcmp(engine_name(j->engines[i]), name ? name : "default") == 0)
			e = j->engines[i];
	pthread_rwlock_unlock(&j->engines_lock);
	return e;
}

int jobs_engine_add(struct jobs *j, const char *name, const char *url, const char *tls_dir,
		    struct engine **out, struct jobs_error *err)
{
	struct store_engine se = {0};
	struct engine *e;
	char why[512];
	int i, rc = -1;

	e = engine_new(name, url, tls_dir, why, sizeof(why));
	if (!e) {
		jobs_fail(err, "invalid_field", "%s", why);
		snprintf(err->field, sizeof(err->field), "%s", strstr(why, "TLS") ? "tls" : "url");
		return -1;
	}
	snprintf(se.name, sizeof(se.name), "%s", name);
	snprintf(se.url, sizeof(se.url), "%s", url);
	snprintf(se.tls_dir, sizeof(se.tls_dir), "%s", tls_dir ? tls_dir : "");
	pthread_rwlock_wrlock(&j->engines_lock);
	for (i = 0; i < j->nengines; i++)
		if (strcmp(engine_name(j->engines[i]), name) == 0) {
			jobs_fail(err, "name_conflict", "an engine called '%s' exists", name);
			snprintf(err->hint, sizeof(err->hint),
				 "choose another name, or DELETE /engines/%s first", name);
			goto out;
		}
	if (j->nengines >= JOBS_MAX_ENGINES) {
		jobs_fail(err, "invalid_field", "at most %d engines", JOBS_MAX_ENGINES);
		goto out;
	}
	if (store_engine_put(j->store, &se) != STORE_OK) {
		jobs_fail(err, "internal_error", "cannot store engine '%s': %s", name,
			  store_last_error());
		goto out;
	}
	j->engines[j->nengines++] = e;
	e = NULL;
	rc = 0;
out:
	pthread_rwlock_unlock(&j->engines_lock);
	if (rc == 0) {
		*out = jobs_engine_find(j, name);
		engine_probe(*out);
		log_line("engine %s: added (%s)", name, url);
	}
	engine_free(e);
	return rc;
}

/* Whether a queued or running job works on engine e. */
static int engine_has_jobs(struct jobs *j, const struct engine *e)
{
	struct job *job;
	int found = 0;

	pthread_mutex_lock(&j->lock);
	for (job = j->active; job && !found; job = job->next)
		found = job->engine == e || job->engine2 == e;
	pthread_mutex_unlock(&j->lock);
	return found;
}

int jobs_engine_remove(struct jobs *j, const char *name, struct jobs_error *err)
{
	struct engine *e = jobs_engine_find(j, name);
	int used = 0, i, rc = -1;

	if (!e || !name)
		return jobs_fail(err, "engine_not_found", "no engine called '%s'", name ? name : "?");
	if (store_engine_usage(j->store, name, &used) != STORE_OK)
		return jobs_fail(err, "internal_error", "%s", store_last_error());
	if (used || engine_has_jobs(j, e)) {
		jobs_fail(err, "engine_busy",
			  "engine '%s' holds %d checkpoint(s) or copies%s", name, used,
			  engine_has_jobs(j, e) ? " and has running jobs" : "");
		snprintf(err->hint, sizeof(err->hint),
			 "delete its checkpoints (and copies) first, and wait for its jobs");
		return -1;
	}
	pthread_rwlock_wrlock(&j->engines_lock);
	for (i = 0; i < j->nengines; i++)
		if (j->engines[i] == e) {
			memmove(&j->engines[i], &j->engines[i + 1],
				(size_t)(j->nengines - i - 1) * sizeof(j->engines[0]));
			j->nengines--;
			if (j->nretired < JOBS_MAX_ENGINES)
				j->retired[j->nretired++] = e;
			rc = 0;
			break;
		}
	pthread_rwlock_unlock(&j->engines_lock);
	if (rc == 0 && store_engine_delete(j->store, name) == STORE_ERROR)
		log_line("engine %s: removed, but not from the store: %s", name, store_last_error());
	if (rc == 0)
		log_line("engine %s: removed", name);
	else
		jobs_fail(err, "engine_not_found", "no engine called '%s'", name);
	return rc;
}
