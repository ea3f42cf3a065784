/*
 * test_store_engine.c - unit tests of src/store for the engines table and
 * the copies of checkpoints on engines: put, replace, list and delete
 * engines, refused values, what lives on an engine, the copies' round trip
 * (a replace keeps created_at), interrupted copies after a reopen, the
 * schema version, concurrency.
 *
 * As in test_store_restore.c, most tests run on ":memory:" (one connection
 * for everything) and on a file in a fresh temporary folder (WAL, a writer
 * and a reader pool); the reopening ones only on a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum db_kind { DB_MEMORY, DB_FILE };

static enum db_kind kind_memory = DB_MEMORY;
static enum db_kind kind_file = DB_FILE;

struct fixture {
	enum db_kind kind;
	char dir[64];
	char path[128];
	struct store *st;
};

/* Opens f's database, asserting success. */
static struct store *fixture_open(struct fixture *f)
{
	char err[512] = "";
	struct store *st = store_open(f->path, err, sizeof(err));

	if (!st)
		fail_msg("store_open('%s'): %s", f->path, err);
	return st;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->kind = *(enum db_kind *)*state;
	if (f->kind == DB_FILE) {
		snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_engine.XXXXXX");
		assert_non_null(mkdtemp(f->dir));
		snprintf(f->path, sizeof(f->path), "%s/checkpointd.db", f->dir);
	} else {
		snprintf(f->path, sizeof(f->path), ":memory:");
	}
	f->st = fixture_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[256];

	store_close(f->st);
	if (f->kind == DB_FILE) {
		unlink(f->path);
		snprintf(p, sizeof(p), "%s-wal", f->path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", f->path);
		unlink(p);
		rmdir(f->dir);
	}
	free(f);
	return 0;
}

/* Sleeps a few milliseconds, so the next clock_now_ms() differs. */
static void pause_ms(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* --- engines */

static void make_engine(struct store_engine *e, const char *name, const char *url,
			const char *tls_dir, int64_t created_at)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->url, sizeof(e->url), "%s", url);
	snprintf(e->tls_dir, sizeof(e->tls_dir), "%s", tls_dir);
	e->created_at = created_at;
}

static void engine_put_ok(struct store *st, const struct store_engine *e)
{
	enum store_result r = store_engine_put(st, e);

	if (r != STORE_OK)
		fail_msg("put engine '%s': %d %s", e->name, r, store_last_error());
}

#define MAX_LISTED 16

/* What a listing saw, in order; stop_after > 0 makes the callback stop
 * after that many. */
struct engine_listing {
	struct store_engine e[MAX_LISTED];
	int n;
	int stop_after;
};

static int collect_engine(void *arg, const struct store_engine *e)
{
	struct engine_listing *l = arg;

	assert_true(l->n < MAX_LISTED);
	l->e[l->n++] = *e;
	return l->stop_after > 0 && l->n >= l->stop_after;
}

static void list_engines(struct store *st, struct engine_listing *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_engine_list(st, collect_engine, l), STORE_OK);
}

/* The listed engine called name, or NULL. */
static const struct store_engine *find_engine(const struct engine_listing *l,
					      const char *name)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->e[i].name, name) == 0)
			return &l->e[i];
	return NULL;
}

/* Put, read back through the listing, its order, replace, delete. */
static void test_engines(void **state)
{
	struct fixture *f = *state;
	struct store_engine e;
	struct engine_listing l;
	const struct store_engine *got;
	struct store_engine first;
	int64_t before = clock_now_ms();

	list_engines(f->st, &l);
	assert_int_equal(l.n, 0);

	make_engine(&e, "b", "http://10.0.0.2:2375", "", 200);
	engine_put_ok(f->st, &e);
	make_engine(&e, "a", "https://10.0.0.1:2376", "/etc/checkpointd/tls/a", 200);
	engine_put_ok(f->st, &e);
	make_engine(&e, "c", "unix:///run/podman/podman.sock", "", 100);
	engine_put_ok(f->st, &e);
	/* no time given: now */
	make_engine(&e, "unset", "http://u", "", STORE_UNSET);
	engine_put_ok(f->st, &e);
	make_engine(&e, "zero", "http://z", "", 0);
	engine_put_ok(f->st, &e);

	/* oldest first, then by name */
	list_engines(f->st, &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.e[0].name, "c");
	assert_string_equal(l.e[1].name, "a");
	assert_string_equal(l.e[2].name, "b");
	assert_string_equal(l.e[0].url, "unix:///run/podman/podman.sock");
	assert_int_equal(l.e[0].created_at, 100);
	assert_string_equal(l.e[1].url, "https://10.0.0.1:2376");
	assert_string_equal(l.e[1].tls_dir, "/etc/checkpointd/tls/a");
	assert_string_equal(l.e[2].tls_dir, "");
	got = find_engine(&l, "unset");
	assert_non_null(got);
	assert_true(got->created_at >= before);
	assert_true(got->created_at <= clock_now_ms());
	got = find_engine(&l, "zero");
	assert_non_null(got);
	assert_true(got->created_at >= before);

	/* a callback that stops ends the listing */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_engine_list(f->st, collect_engine, &l), STORE_OK);
	assert_int_equal(l.n, 2);

	/* replaced, still one row, keeping its place (created_at): flags seed
	 * their engines at every start and must not reorder the list */
	first = l.e[0];
	make_engine(&e, first.name, "http://10.0.0.9:2375", "", 50);
	engine_put_ok(f->st, &e);
	list_engines(f->st, &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.e[0].name, first.name);
	assert_string_equal(l.e[0].url, "http://10.0.0.9:2375");
	assert_string_equal(l.e[0].tls_dir, "");
	assert_int_equal(l.e[0].created_at, first.created_at);

	assert_int_equal(store_engine_delete(f->st, first.name), STORE_OK);
	assert_int_equal(store_engine_delete(f->st, first.name), STORE_NOT_FOUND);
	assert_non_null(strstr(store_last_error(), first.name));
	list_engines(f->st, &l);
	assert_int_equal(l.n, 4);
	assert_null(find_engine(&l, first.name));
	assert_string_not_equal(l.e[0].name, first.name);
}

/* Text that does not fit, and missing names, are refused and store
 * nothing. */
static void test_engine_invalid(void **state)
{
	struct fixture *f = *state;
	struct store_engine e;
	struct engine_listing l;
	char long_name[100];
	int n = -1;

	make_engine(&e, "x", "http://x", "", 1);
	memset(e.name, 'n', sizeof(e.name));
	assert_int_equal(store_engine_put(f->st, &e), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "name"));

	make_engine(&e, "x", "http://x", "", 1);
	memset(e.url, 'u', sizeof(e.url));
	assert_int_equal(store_engine_put(f->st, &e), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "url"));

	make_engine(&e, "x", "http://x", "", 1);
	memset(e.tls_dir, 't', sizeof(e.tls_dir));
	assert_int_equal(store_engine_put(f->st, &e), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "tls_dir"));

	make_engine(&e, "", "http://x", "", 1);
	assert_int_equal(store_engine_put(f->st, &e), STORE_ERROR);

	list_engines(f->st, &l);
	assert_int_equal(l.n, 0);

	/* a name as long as the array cannot name an engine */
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(store_engine_delete(f->st, long_name), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "longer than 63"));
	long_name[sizeof(e.name)] = '\0';
	assert_int_equal(store_engine_delete(f->st, long_name), STORE_ERROR);
	long_name[sizeof(e.name) - 1] = '\0';
	assert_int_equal(store_engine_delete(f->st, long_name), STORE_NOT_FOUND);
	assert_int_equal(store_engine_delete(f->st, NULL), STORE_ERROR);
	assert_int_equal(store_engine_delete(f->st, ""), STORE_ERROR);
	assert_int_equal(store_engine_usage(f->st, NULL, &n), STORE_ERROR);
	assert_int_equal(n, 0);
	long_name[sizeof(e.name) - 1] = 'n';
	assert_int_equal(store_engine_usage(f->st, long_name, &n), STORE_ERROR);
}

/* --- copies */

static void make_copy(struct store_copy *c, const char *checkpoint_id, const char *engine,
		      enum store_status status)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->checkpoint_id, sizeof(c->checkpoint_id), "%s", checkpoint_id);
	snprintf(c->engine, sizeof(c->engine), "%s", engine);
	c->status = status;
	c->bytes = STORE_UNSET;
	c->created_at = STORE_UNSET;
	c->updated_at = STORE_UNSET;
}

static void copy_put_ok(struct store *st, const struct store_copy *c)
{
	enum store_result r = store_copy_put(st, c);

	if (r != STORE_OK)
		fail_msg("put copy '%s' on '%s': %d %s", c->checkpoint_id, c->engine, r,
			 store_last_error());
}

struct copy_listing {
	struct store_copy c[MAX_LISTED];
	int n;
	int stop_after;
};

static int collect_copy(void *arg, const struct store_copy *c)
{
	struct copy_listing *l = arg;

	assert_true(l->n < MAX_LISTED);
	l->c[l->n++] = *c;
	return l->stop_after > 0 && l->n >= l->stop_after;
}

/* collect_copy() without asserts, for other threads: stops when full. */
static int collect_list_quiet(void *arg, const struct store_copy *c)
{
	struct copy_listing *l = arg;

	l->c[l->n++] = *c;
	return l->n == MAX_LISTED;
}

static void list_copies(struct store *st, const char *checkpoint_id, struct copy_listing *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(store_copy_list(st, checkpoint_id, collect_copy, l), STORE_OK);
}

/* Put, get, replace (created_at kept), list oldest first, delete. */
static void test_copies(void **state)
{
	struct fixture *f = *state;
	struct store_copy c, got;
	struct copy_listing l;
	int64_t before = clock_now_ms(), created;

	assert_int_equal(store_copy_get(f->st, "ck-1", "podman", &got), STORE_NOT_FOUND);
	list_copies(f->st, "ck-1", &l);
	assert_int_equal(l.n, 0);

	/* the struct's times are not read: both are now */
	make_copy(&c, "ck-1", "podman", STORE_PENDING);
	c.created_at = 7;
	c.updated_at = 7;
	copy_put_ok(f->st, &c);
	memset(&got, 0x55, sizeof(got));
	assert_int_equal(store_copy_get(f->st, "ck-1", "podman", &got), STORE_OK);
	assert_string_equal(got.checkpoint_id, "ck-1");
	assert_string_equal(got.engine, "podman");
	assert_int_equal(got.status, STORE_PENDING);
	assert_string_equal(got.directory, "");
	assert_int_equal(got.bytes, STORE_UNSET);
	assert_true(got.created_at >= before);
	assert_int_equal(got.updated_at, got.created_at);
	assert_string_equal(got.error_message, "");
	created = got.created_at;

	/* the keys may point into the record being read */
	assert_int_equal(store_copy_get(f->st, got.checkpoint_id, got.engine, &got), STORE_OK);
	assert_string_equal(got.engine, "podman");

	pause_ms();
	make_copy(&c, "ck-1", "podman", STORE_READY);
	snprintf(c.directory, sizeof(c.directory), "/var/lib/checkpointd/copies/ck-1");
	c.bytes = 123456789012LL;
	copy_put_ok(f->st, &c);
	assert_int_equal(store_copy_get(f->st, "ck-1", "podman", &got), STORE_OK);
	assert_int_equal(got.status, STORE_READY);
	assert_string_equal(got.directory, "/var/lib/checkpointd/copies/ck-1");
	assert_int_equal(got.bytes, 123456789012LL);
	assert_int_equal(got.created_at, created);
	assert_true(got.updated_at > created);

	/* a failed one carries its message; a replace may clear bytes again */
	pause_ms();
	make_copy(&c, "ck-1", "docker-b", STORE_FAILED);
	snprintf(c.error_message, sizeof(c.error_message), "cannot load the image: 'no space'");
	copy_put_ok(f->st, &c);
	make_copy(&c, "ck-2", "docker-b", STORE_RUNNING);
	copy_put_ok(f->st, &c);

	list_copies(f->st, "ck-1", &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.c[0].engine, "podman");
	assert_int_equal(l.c[0].status, STORE_READY);
	assert_int_equal(l.c[0].bytes, 123456789012LL);
	assert_string_equal(l.c[1].engine, "docker-b");
	assert_int_equal(l.c[1].status, STORE_FAILED);
	assert_string_equal(l.c[1].error_message, "cannot load the image: 'no space'");
	assert_true(l.c[1].created_at > l.c[0].created_at);
	list_copies(f->st, "ck-2", &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.c[0].status, STORE_RUNNING);
	list_copies(f->st, "ck-3", &l);
	assert_int_equal(l.n, 0);

	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(store_copy_list(f->st, "ck-1", collect_copy, &l), STORE_OK);
	assert_int_equal(l.n, 1);

	assert_int_equal(store_copy_delete(f->st, "ck-1", "podman"), STORE_OK);
	assert_int_equal(store_copy_delete(f->st, "ck-1", "podman"), STORE_NOT_FOUND);
	assert_int_equal(store_copy_get(f->st, "ck-1", "podman", &got), STORE_NOT_FOUND);
	assert_non_null(strstr(store_last_error(), "'ck-1'"));
	list_copies(f->st, "ck-1", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.c[0].engine, "docker-b");
	/* the other checkpoint's copy on the same engine is untouched */
	assert_int_equal(store_copy_get(f->st, "ck-2", "docker-b", &got), STORE_OK);
}

/* Values the schema or the arrays refuse, and keys that cannot fit. */
static void test_copy_invalid(void **state)
{
	struct fixture *f = *state;
	struct store_copy c, got;
	struct copy_listing l;
	char long_id[64];

	make_copy(&c, "ck-1", "podman", (enum store_status)7);
	assert_int_equal(store_copy_put(f->st, &c), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "CHECK"));

	make_copy(&c, "ck-1", "podman", STORE_READY);
	c.bytes = -5;
	assert_int_equal(store_copy_put(f->st, &c), STORE_ERROR);

	make_copy(&c, "ck-1", "podman", STORE_FAILED);
	memset(c.error_message, 'e', sizeof(c.error_message));
	assert_int_equal(store_copy_put(f->st, &c), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "error_message"));

	make_copy(&c, "ck-1", "podman", STORE_READY);
	memset(c.directory, 'd', sizeof(c.directory));
	assert_int_equal(store_copy_put(f->st, &c), STORE_ERROR);

	make_copy(&c, "ck-1", "", STORE_READY);
	assert_int_equal(store_copy_put(f->st, &c), STORE_ERROR);
	make_copy(&c, "", "podman", STORE_READY);
	assert_int_equal(store_copy_put(f->st, &c), STORE_ERROR);

	list_copies(f->st, "ck-1", &l);
	assert_int_equal(l.n, 0);

	memset(long_id, 'k', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_int_equal(store_copy_get(f->st, long_id, "podman", &got), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "checkpoint id"));
	assert_int_equal(store_copy_get(f->st, "ck-1", long_id, &got), STORE_NOT_FOUND);
	assert_int_equal(store_copy_delete(f->st, long_id, "podman"), STORE_ERROR);
	assert_int_equal(store_copy_delete(f->st, "ck-1", NULL), STORE_ERROR);
	assert_int_equal(store_copy_list(f->st, long_id, collect_copy, &l), STORE_ERROR);
}

/* --- what lives on an engine */

static void insert_checkpoint(struct store *st, const char *id, const char *engine,
			      const char *name, enum store_status status)
{
	struct store_checkpoint ck;
	enum store_result r;

	store_checkpoint_init(&ck);
	snprintf(ck.id, sizeof(ck.id), "%s", id);
	snprintf(ck.name, sizeof(ck.name), "%s", name);
	snprintf(ck.container_id, sizeof(ck.container_id), "c0ffee");
	snprintf(ck.container_name, sizeof(ck.container_name), "web");
	snprintf(ck.engine, sizeof(ck.engine), "%s", engine);
	ck.status = status;
	r = store_checkpoint_insert(st, &ck);
	if (r != STORE_OK)
		fail_msg("insert '%s': %d %s", id, r, store_last_error());
	store_checkpoint_release(&ck);
}

static int usage_of(struct store *st, const char *engine)
{
	int n = -1;

	assert_int_equal(store_engine_usage(st, engine, &n), STORE_OK);
	return n;
}

/* Checkpoints that are not failed, plus copies that are not failed. */
static void test_usage(void **state)
{
	struct fixture *f = *state;
	struct store_copy c;

	assert_int_equal(usage_of(f->st, "docker"), 0);

	insert_checkpoint(f->st, "ck-1", "docker", "one", STORE_PENDING);
	insert_checkpoint(f->st, "ck-2", "docker", "two", STORE_RUNNING);
	insert_checkpoint(f->st, "ck-3", "docker", "three", STORE_READY);
	insert_checkpoint(f->st, "ck-4", "docker", "four", STORE_FAILED);
	insert_checkpoint(f->st, "ck-5", "podman", "five", STORE_READY);
	assert_int_equal(usage_of(f->st, "docker"), 3);
	assert_int_equal(usage_of(f->st, "podman"), 1);

	make_copy(&c, "ck-3", "podman", STORE_READY);
	copy_put_ok(f->st, &c);
	make_copy(&c, "ck-1", "podman", STORE_RUNNING);
	copy_put_ok(f->st, &c);
	make_copy(&c, "ck-2", "podman", STORE_FAILED);
	copy_put_ok(f->st, &c);
	make_copy(&c, "ck-5", "docker", STORE_PENDING);
	copy_put_ok(f->st, &c);
	assert_int_equal(usage_of(f->st, "docker"), 4);
	assert_int_equal(usage_of(f->st, "podman"), 3);
	assert_int_equal(usage_of(f->st, "elsewhere"), 0);

	/* a copy that fails stops counting; one deleted too */
	make_copy(&c, "ck-1", "podman", STORE_FAILED);
	copy_put_ok(f->st, &c);
	assert_int_equal(usage_of(f->st, "podman"), 2);
	assert_int_equal(store_copy_delete(f->st, "ck-3", "podman"), STORE_OK);
	assert_int_equal(usage_of(f->st, "podman"), 1);
	assert_int_equal(store_checkpoint_delete(f->st, "ck-5"), STORE_OK);
	assert_int_equal(usage_of(f->st, "podman"), 0);
	/* the copy of a deleted checkpoint still counts until the job
	 * deletes it */
	assert_int_equal(usage_of(f->st, "docker"), 4);
}

/* --- across a reopen */

/* Copies left pending or running by a previous run are failed at open and
 * counted; the others are untouched.  Engines survive. */
static void test_interrupted(void **state)
{
	struct fixture *f = *state;
	static const char *const engines[] = { "e-pending", "e-running", "e-ready",
					       "e-failed" };
	struct store_copy c, got;
	struct store_engine e;
	struct engine_listing l;
	int64_t before;
	int i;

	for (i = STORE_PENDING; i <= STORE_FAILED; i++) {
		make_copy(&c, "ck-1", engines[i], (enum store_status)i);
		c.bytes = 10;
		if (i == STORE_FAILED)
			snprintf(c.error_message, sizeof(c.error_message), "boom");
		copy_put_ok(f->st, &c);
	}
	make_engine(&e, "podman", "unix:///run/podman/podman.sock", "", 42);
	engine_put_ok(f->st, &e);
	/* and one checkpoint job left running */
	insert_checkpoint(f->st, "ck-1", "docker", "snap", STORE_RUNNING);
	assert_int_equal(store_copy_get(f->st, "ck-1", "e-ready", &c), STORE_OK);

	store_close(f->st);
	pause_ms();
	before = clock_now_ms();
	f->st = fixture_open(f);
	assert_int_equal(store_interrupted_count(f->st), 3);

	for (i = STORE_PENDING; i <= STORE_FAILED; i++) {
		assert_int_equal(store_copy_get(f->st, "ck-1", engines[i], &got), STORE_OK);
		assert_int_equal(got.bytes, 10);
		assert_true(got.created_at < before);
		if (i <= STORE_RUNNING) {
			assert_int_equal(got.status, STORE_FAILED);
			assert_string_equal(got.error_message,
					    "the service stopped while this copy was being made");
			assert_true(got.updated_at >= before);
		} else {
			assert_int_equal(got.status, i);
			assert_true(got.updated_at < before);
		}
	}
	assert_int_equal(store_copy_get(f->st, "ck-1", "e-failed", &got), STORE_OK);
	assert_string_equal(got.error_message, "boom");
	assert_int_equal(store_copy_get(f->st, "ck-1", "e-ready", &got), STORE_OK);
	assert_int_equal(got.updated_at, c.updated_at);

	list_engines(f->st, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.e[0].name, "podman");
	assert_string_equal(l.e[0].url, "unix:///run/podman/podman.sock");
	assert_int_equal(l.e[0].created_at, 42);

	store_close(f->st);
	f->st = fixture_open(f);
	assert_int_equal(store_interrupted_count(f->st), 0);
}

/* The migration of this table is the fourth; later ones follow it. */
static void test_schema_version(void **state)
{
	struct fixture *f = *state;

	assert_true(store_schema_version(f->st) >= 4);
}

/* --- concurrency */

#define WRITERS    4
#define PER_WRITER 50

struct writer_arg {
	struct store *st;
	int n;
	char err[512]; /* "" when all went well */
};

/* Puts PER_WRITER copies on engine "w<n>" (each twice: pending, then
 * ready) while reading usage and listings.  Failures go to a->err: cmocka's
 * asserts belong to the main thread. */
static void *writer_main(void *p)
{
	struct writer_arg *a = p;
	struct store_copy c;
	struct copy_listing l;
	char engine[16];
	int i, n;

	snprintf(engine, sizeof(engine), "w%d", a->n);
	for (i = 0; i < PER_WRITER; i++) {
		make_copy(&c, "", engine, STORE_PENDING);
		snprintf(c.checkpoint_id, sizeof(c.checkpoint_id), "ck-%d", i);
		if (store_copy_put(a->st, &c) != STORE_OK)
			goto fail;
		c.status = STORE_READY;
		c.bytes = i;
		if (store_copy_put(a->st, &c) != STORE_OK)
			goto fail;
		if (store_engine_usage(a->st, engine, &n) != STORE_OK)
			goto fail;
		if (n != i + 1) {
			snprintf(a->err, sizeof(a->err), "usage %d after %d copies", n, i + 1);
			return NULL;
		}
		memset(&l, 0, sizeof(l));
		if (store_copy_list(a->st, c.checkpoint_id, collect_list_quiet, &l) != STORE_OK)
			goto fail;
		if (l.n < 1) {
			snprintf(a->err, sizeof(a->err), "'%s' lists no copy", c.checkpoint_id);
			return NULL;
		}
	}
	return NULL;
fail:
	snprintf(a->err, sizeof(a->err), "%s", store_last_error());
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	pthread_t t[WRITERS];
	struct writer_arg a[WRITERS];
	struct copy_listing l;
	int i;

	memset(a, 0, sizeof(a));
	for (i = 0; i < WRITERS; i++) {
		a[i].st = f->st;
		a[i].n = i;
		assert_int_equal(pthread_create(&t[i], NULL, writer_main, &a[i]), 0);
	}
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (a[i].err[0])
			fail_msg("writer %d: %s", i, a[i].err);
	}
	list_copies(f->st, "ck-7", &l);
	assert_int_equal(l.n, WRITERS);
	for (i = 0; i < l.n; i++) {
		assert_int_equal(l.c[i].status, STORE_READY);
		assert_int_equal(l.c[i].bytes, 7);
	}
	assert_int_equal(usage_of(f->st, "w0"), PER_WRITER);
}

#define BOTH(t)                                                              \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_memory), \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_file)
#define FILE_ONLY(t) \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_file)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_engines),
		BOTH(test_engine_invalid),
		BOTH(test_copies),
		BOTH(test_copy_invalid),
		BOTH(test_usage),
		FILE_ONLY(test_interrupted),
		BOTH(test_schema_version),
		BOTH(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
