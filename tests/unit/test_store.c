/*
 * test_store.c - unit tests of src/store for checkpoints: migrations (also
 * from an older schema), the record round trip, uniqueness, listing and
 * paging, the ready times restores set, interrupted jobs, concurrency.
 * Restores and the leak tally are in test_store_restore.c.
 *
 * Most tests run twice, on ":memory:" (one connection serves reads and
 * writes) and on a file in a fresh temporary folder (WAL, a writer and a
 * reader pool), because the two take different paths through the store.
 * Tests about reopening a database only make sense on a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "embedded.h"
#include "clock.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
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

/* The highest migration number among the embedded sql/ files. */
static int newest_migration(void)
{
	const struct embedded_file *e;
	int n = 0;

	for (e = embedded_files; e->name; e++)
		if (strncmp(e->name, "sql/", 4) == 0)
			n = atoi(e->name + 4);
	return n;
}

/* A pending record with the given names and everything else empty. */
static void make_record(struct store_checkpoint *ck, const char *id,
			const char *engine, const char *container_id,
			const char *container_name, const char *name)
{
	store_checkpoint_init(ck);
	snprintf(ck->id, sizeof(ck->id), "%s", id);
	snprintf(ck->engine, sizeof(ck->engine), "%s", engine);
	snprintf(ck->container_id, sizeof(ck->container_id), "%s", container_id);
	snprintf(ck->container_name, sizeof(ck->container_name), "%s",
		 container_name);
	snprintf(ck->name, sizeof(ck->name), "%s", name);
}

static void insert_ok(struct store *st, struct store_checkpoint *ck)
{
	enum store_result r = store_checkpoint_insert(st, ck);

	if (r != STORE_OK)
		fail_msg("insert '%s': %d %s", ck->id, r, store_last_error());
}

/* Asserts a and b hold the same record, field by field. */
static void assert_same_record(const struct store_checkpoint *a,
			       const struct store_checkpoint *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->container_id, b->container_id);
	assert_string_equal(a->container_name, b->container_name);
	assert_string_equal(a->engine, b->engine);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->leave_running, b->leave_running);
	assert_string_equal(a->image_id, b->image_id);
	assert_string_equal(a->image_repository, b->image_repository);
	assert_string_equal(a->image_tag, b->image_tag);
	assert_int_equal(a->image_size, b->image_size);
	assert_int_equal(a->size_bytes, b->size_bytes);
	assert_string_equal(a->directory, b->directory);
	assert_int_equal(a->t_commit, b->t_commit);
	assert_int_equal(a->t_checkpoint, b->t_checkpoint);
	assert_int_equal(a->t_measure, b->t_measure);
	assert_int_equal(a->t_total, b->t_total);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
	assert_string_equal(a->error_code, b->error_code);
	if (a->error_message || b->error_message) {
		assert_non_null(a->error_message);
		assert_non_null(b->error_message);
		assert_string_equal(a->error_message, b->error_message);
	}
	if (a->config_json || b->config_json) {
		assert_non_null(a->config_json);
		assert_non_null(b->config_json);
		assert_string_equal(a->config_json, b->config_json);
	}
	if (a->files_json || b->files_json) {
		assert_non_null(a->files_json);
		assert_non_null(b->files_json);
		assert_string_equal(a->files_json, b->files_json);
	}
	assert_int_equal(a->ready_restore_ms, b->ready_restore_ms);
	assert_int_equal(a->ready_cold_ms, b->ready_cold_ms);
	assert_string_equal(a->engine_kind, b->engine_kind);
	assert_string_equal(a->archive_sha256, b->archive_sha256);
	assert_int_equal(a->memory_before_hooks, b->memory_before_hooks);
	assert_int_equal(a->memory_at_dump, b->memory_at_dump);
	assert_int_equal(a->t_before, b->t_before);
	assert_int_equal(a->t_settle, b->t_settle);
	if (a->hooks_json || b->hooks_json) {
		assert_non_null(a->hooks_json);
		assert_non_null(b->hooks_json);
		assert_string_equal(a->hooks_json, b->hooks_json);
	}
	if (a->hook_results_json || b->hook_results_json) {
		assert_non_null(a->hook_results_json);
		assert_non_null(b->hook_results_json);
		assert_string_equal(a->hook_results_json, b->hook_results_json);
	}
	if (a->criu_stats_json || b->criu_stats_json) {
		assert_non_null(a->criu_stats_json);
		assert_non_null(b->criu_stats_json);
		assert_string_equal(a->criu_stats_json, b->criu_stats_json);
	}
}

/* Collects listed seqs. */
struct collected {
	int64_t seq[2048];
	int n;
	int stop_after; /* stop the listing after this many, 0 = never */
};

static int collect(void *arg, const struct store_checkpoint *ck)
{
	struct collected *c = arg;

	if (c->n < (int)(sizeof(c->seq) / sizeof(c->seq[0])))
		c->seq[c->n++] = ck->seq;
	return c->stop_after && c->n >= c->stop_after;
}

/* Lists every page with filter f (its cursor is overwritten), checking the
 * order, and returns the total; *pages gets the number of pages. */
static int list_all(struct store *st, struct store_checkpoint_filter *f,
		    struct collected *c, int *pages)
{
	int64_t next;
	int before, np = 0, i;

	memset(c, 0, sizeof(*c));
	f->cursor = 0;
	do {
		before = c->n;
		assert_int_equal(store_checkpoint_list(st, f, collect, c, &next),
				 STORE_OK);
		np++;
		assert_true(c->n - before <= f->limit);
		if (next) {
			assert_int_equal(c->n - before, f->limit);
			assert_int_equal(next, c->seq[c->n - 1]);
		}
		f->cursor = next;
	} while (next && np < 10000);
	for (i = 1; i < c->n; i++)
		assert_true(c->seq[i] < c->seq[i - 1]);
	if (pages)
		*pages = np;
	return c->n;
}

static void filter_init(struct store_checkpoint_filter *f, int limit)
{
	memset(f, 0, sizeof(*f));
	f->limit = limit;
	f->status = -1;
}

static void test_status_names(void **state)
{
	int s;

	(void)state;
	for (s = STORE_PENDING; s <= STORE_FAILED; s++)
		assert_int_equal(store_status_parse(store_status_name(s)), s);
	assert_string_equal(store_status_name(STORE_READY), "ready");
	assert_int_equal(store_status_parse("bogus"), -1);
	assert_int_equal(store_status_parse(NULL), -1);
	assert_string_equal(store_status_name((enum store_status)42), "unknown");
}

/* The schema is in force, the version recorded; a file is in WAL mode and
 * reopening applies nothing twice. */
static void test_migrations(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_true(newest_migration() >= 1);
	assert_int_equal(store_schema_version(f->st), newest_migration());
	assert_int_equal(store_interrupted_count(f->st), 0);
	if (f->kind != DB_FILE)
		return;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM sqlite_master WHERE name IN "
					    "('checkpoints', 'checkpoints_live_name', "
					    "'restores', 'restores_checkpoint_id', "
					    "'engine_leaks')",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 5);
	sqlite3_finalize(s);
	sqlite3_close(db);

	store_close(f->st);
	f->st = fixture_open(f);
	assert_int_equal(store_schema_version(f->st), newest_migration());
}

/* Every field survives a round trip, both fully set and fully unset. */
static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck, got;
	int64_t before = clock_now_ms();

	make_record(&ck, "ck-0123456789abcdef", "docker",
		    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    "web-1", "before-upgrade");
	ck.status = STORE_FAILED;
	ck.leave_running = 1;
	snprintf(ck.image_id, sizeof(ck.image_id), "sha256:%064d", 7);
	snprintf(ck.image_repository, sizeof(ck.image_repository), "checkpointd/web-1");
	snprintf(ck.image_tag, sizeof(ck.image_tag), "before-upgrade");
	ck.image_size = 123456789012LL;
	ck.size_bytes = 0;
	snprintf(ck.directory, sizeof(ck.directory), "/var/lib/checkpointd/x");
	ck.t_commit = 11;
	ck.t_checkpoint = 22;
	ck.t_measure = 0;
	ck.t_total = 44;
	ck.created_at = 1700000000000LL;
	ck.updated_at = 1700000000123LL;
	snprintf(ck.error_code, sizeof(ck.error_code), "engine_error");
	ck.error_message = strdup("criu failed: \"quotes\", 'apostrophes'; DROP TABLE x; --");
	ck.config_json = strdup("{\"Id\":\"0123\",\"Config\":{\"Env\":[\"A=1\"]},\"u\":\"\xc3\xa9\"}");
	ck.files_json = strdup("[\"checkpoint/\",\"checkpoint/pages-1.img\",\"x y\\\"z\"]");
	ck.ready_restore_ms = 0;
	ck.ready_cold_ms = 98765;
	snprintf(ck.engine_kind, sizeof(ck.engine_kind), "podman");
	snprintf(ck.archive_sha256, sizeof(ck.archive_sha256), "%064d", 5);
	ck.criu_stats_json = strdup("{\"frozen_time_us\":1234}");
	ck.hooks_json = strdup("{\"profile\":\"jvm\",\"settle\":true}");
	ck.hook_results_json = strdup("[{\"exit_code\":0}]");
	ck.memory_before_hooks = 268435456;
	ck.memory_at_dump = 0;
	ck.t_before = 120;
	ck.t_settle = 400;
	assert_non_null(ck.error_message);
	assert_non_null(ck.config_json);
	assert_non_null(ck.files_json);
	insert_ok(f->st, &ck);
	assert_true(ck.seq > 0);

	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, ck.id, &got), STORE_OK);
	assert_same_record(&ck, &got);
	/* a second get into the same struct frees what it held */
	assert_int_equal(store_checkpoint_get(f->st, ck.id, &got), STORE_OK);
	assert_same_record(&ck, &got);
	store_checkpoint_release(&got);
	/* the id may point into the struct being filled */
	store_checkpoint_init(&got);
	snprintf(got.id, sizeof(got.id), "%s", ck.id);
	assert_int_equal(store_checkpoint_get(f->st, got.id, &got), STORE_OK);
	assert_same_record(&ck, &got);
	store_checkpoint_release(&got);
	store_checkpoint_release(&ck);

	/* unset numbers stay unset, absent heap strings NULL, times filled */
	make_record(&ck, "ck-fedcba9876543210", "podman", "abc", "db", "cp1");
	insert_ok(f->st, &ck);
	assert_true(ck.created_at >= before);
	assert_int_equal(ck.updated_at, ck.created_at);
	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, ck.id, &got), STORE_OK);
	assert_same_record(&ck, &got);
	assert_int_equal(got.status, STORE_PENDING);
	assert_int_equal(got.image_size, STORE_UNSET);
	assert_int_equal(got.size_bytes, STORE_UNSET);
	assert_int_equal(got.t_commit, STORE_UNSET);
	assert_int_equal(got.t_checkpoint, STORE_UNSET);
	assert_int_equal(got.t_measure, STORE_UNSET);
	assert_int_equal(got.t_total, STORE_UNSET);
	assert_int_equal(got.ready_restore_ms, STORE_UNSET);
	assert_int_equal(got.ready_cold_ms, STORE_UNSET);
	assert_null(got.error_message);
	assert_null(got.config_json);
	assert_null(got.files_json);
	assert_string_equal(got.image_id, "");
	store_checkpoint_release(&got);

	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-0000000000000000", &got),
			 STORE_NOT_FOUND);
	store_checkpoint_release(&got);
}

/* Bad values are refused with a message, and store nothing. */
static void test_invalid(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck;
	struct store_checkpoint_filter flt;
	int64_t next = 99;

	make_record(&ck, "ck-1", "docker", "c1", "n1", "a");
	ck.status = (enum store_status)42;
	assert_int_equal(store_checkpoint_insert(f->st, &ck), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "CHECK"));

	make_record(&ck, "ck-2", "docker", "c1", "n1", "a");
	ck.t_total = -5;
	assert_int_equal(store_checkpoint_insert(f->st, &ck), STORE_ERROR);

	make_record(&ck, "ck-2b", "docker", "c1", "n1", "a");
	ck.ready_cold_ms = -7;
	assert_int_equal(store_checkpoint_insert(f->st, &ck), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "CHECK"));

	make_record(&ck, "ck-3", "docker", "c1", "n1", "a");
	memset(ck.name, 'x', sizeof(ck.name));
	assert_int_equal(store_checkpoint_insert(f->st, &ck), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "'name'"));

	filter_init(&flt, 0);
	assert_int_equal(store_checkpoint_list(f->st, &flt, collect, NULL, &next),
			 STORE_ERROR);
	assert_int_equal(next, 0);
	filter_init(&flt, 1001);
	assert_int_equal(store_checkpoint_list(f->st, &flt, collect, NULL, &next),
			 STORE_ERROR);
	assert_string_not_equal(store_last_error(), "");

	filter_init(&flt, 10);
	{
		struct collected c;
		int pages;

		assert_int_equal(list_all(f->st, &flt, &c, &pages), 0);
		assert_int_equal(pages, 1);
	}
}

/* A name is taken while a live checkpoint of the same container by the
 * same engine has it; failing that one frees it. */
static void test_conflict(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint a, b, c;

	make_record(&a, "ck-a", "docker", "cid1", "web", "snap");
	insert_ok(f->st, &a);

	make_record(&b, "ck-b", "docker", "cid1", "web", "snap");
	assert_int_equal(store_checkpoint_insert(f->st, &b), STORE_CONFLICT);
	assert_string_not_equal(store_last_error(), "");
	a.status = STORE_READY;
	assert_int_equal(store_checkpoint_update(f->st, &a), STORE_OK);
	assert_int_equal(store_checkpoint_insert(f->st, &b), STORE_CONFLICT);

	/* another engine, another container, another name: all fine */
	make_record(&c, "ck-c", "podman", "cid1", "web", "snap");
	insert_ok(f->st, &c);
	make_record(&c, "ck-d", "docker", "cid2", "web", "snap");
	insert_ok(f->st, &c);
	make_record(&c, "ck-e", "docker", "cid1", "web", "snap2");
	insert_ok(f->st, &c);

	/* the same id is a conflict too */
	make_record(&c, "ck-a", "docker", "cid9", "other", "x");
	assert_int_equal(store_checkpoint_insert(f->st, &c), STORE_CONFLICT);

	/* once a has failed, the name is free again */
	a.status = STORE_FAILED;
	assert_int_equal(store_checkpoint_update(f->st, &a), STORE_OK);
	insert_ok(f->st, &b);
	/* and a cannot come back to life while b holds the name */
	a.status = STORE_RUNNING;
	assert_int_equal(store_checkpoint_update(f->st, &a), STORE_CONFLICT);
	/* two failed ones with the same name are fine */
	b.status = STORE_FAILED;
	assert_int_equal(store_checkpoint_update(f->st, &b), STORE_OK);
	make_record(&c, "ck-f", "docker", "cid1", "web", "snap");
	c.status = STORE_FAILED;
	insert_ok(f->st, &c);
}

/* Update writes every field, sets updated_at to now, keeps created_at. */
static void test_update(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck, got;
	int64_t before;

	make_record(&ck, "ck-u", "docker", "cid", "web", "snap");
	ck.created_at = 1000;
	ck.updated_at = 2000;
	insert_ok(f->st, &ck);

	before = clock_now_ms();
	ck.status = STORE_READY;
	ck.created_at = STORE_UNSET; /* ignored: created_at never changes */
	ck.seq = 0;                  /* filled back in */
	ck.t_total = 1234;
	ck.size_bytes = 4096;
	snprintf(ck.image_id, sizeof(ck.image_id), "sha256:abc");
	ck.config_json = strdup("{}");
	ck.files_json = strdup("[\"a\"]");
	ck.ready_restore_ms = 10;
	ck.ready_cold_ms = 20;
	assert_int_equal(store_checkpoint_update(f->st, &ck), STORE_OK);
	assert_true(ck.updated_at >= before);
	assert_int_equal(ck.created_at, 1000);
	assert_true(ck.seq > 0);

	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-u", &got), STORE_OK);
	assert_same_record(&ck, &got);
	store_checkpoint_release(&got);

	/* clearing works too */
	free(ck.config_json);
	ck.config_json = NULL;
	free(ck.files_json);
	ck.files_json = NULL;
	ck.t_total = STORE_UNSET;
	ck.ready_cold_ms = STORE_UNSET;
	assert_int_equal(store_checkpoint_update(f->st, &ck), STORE_OK);
	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-u", &got), STORE_OK);
	assert_same_record(&ck, &got);
	store_checkpoint_release(&got);
	store_checkpoint_release(&ck);

	make_record(&ck, "ck-missing", "docker", "cid", "web", "other");
	assert_int_equal(store_checkpoint_update(f->st, &ck), STORE_NOT_FOUND);
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck, got;

	make_record(&ck, "ck-del", "docker", "cid", "web", "snap");
	insert_ok(f->st, &ck);
	assert_int_equal(store_checkpoint_delete(f->st, "ck-del"), STORE_OK);
	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-del", &got), STORE_NOT_FOUND);
	assert_int_equal(store_checkpoint_delete(f->st, "ck-del"), STORE_NOT_FOUND);
	/* the name is free again */
	make_record(&ck, "ck-del2", "docker", "cid", "web", "snap");
	insert_ok(f->st, &ck);
}

/* Newest first; paging with the cursor visits every record once, for page
 * sizes that divide the total and ones that do not. */
static void test_list_paging(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck;
	struct store_checkpoint_filter flt;
	struct collected c;
	int64_t seqs[25], next;
	char id[40], name[32];
	int i, pages, limits[] = { 1, 5, 7, 24, 25, 26, 1000 };
	size_t k;

	for (i = 0; i < 25; i++) {
		snprintf(id, sizeof(id), "ck-%016x", i);
		snprintf(name, sizeof(name), "n%d", i);
		make_record(&ck, id, "docker", "cid", "web", name);
		insert_ok(f->st, &ck);
		seqs[i] = ck.seq;
		if (i > 0)
			assert_true(seqs[i] > seqs[i - 1]);
	}
	for (k = 0; k < sizeof(limits) / sizeof(limits[0]); k++) {
		filter_init(&flt, limits[k]);
		assert_int_equal(list_all(f->st, &flt, &c, &pages), 25);
		assert_int_equal(pages, (25 + limits[k] - 1) / limits[k]);
		for (i = 0; i < 25; i++)
			assert_int_equal(c.seq[i], seqs[24 - i]);
	}

	/* a cursor in the middle */
	filter_init(&flt, 3);
	flt.cursor = seqs[10];
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_checkpoint_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seq[0], seqs[9]);
	assert_int_equal(next, seqs[7]);

	/* a callback that stops: the cursor resumes after what it saw */
	filter_init(&flt, 10);
	memset(&c, 0, sizeof(c));
	c.stop_after = 4;
	assert_int_equal(store_checkpoint_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(next, seqs[21]);

	/* records deleted between pages leave no gap or repeat */
	filter_init(&flt, 10);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_checkpoint_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(next, seqs[15]);
	assert_int_equal(store_checkpoint_delete(f->st, "ck-000000000000000e"), STORE_OK);
	make_record(&ck, "ck-new", "docker", "cid", "web", "new");
	insert_ok(f->st, &ck);
	flt.cursor = next;
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_checkpoint_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.seq[0], seqs[13]);
	assert_int_equal(c.n, 10);
}

/* Each filter alone and together, paged. */
static void test_list_filters(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck;
	struct store_checkpoint_filter flt;
	struct collected c;
	char id[40], name[32];
	int i;

	/* 40 records: engine alternates, container cycles over 4 (ids
	 * cid0..cid3, names web0..web3), status cycles over 4, updated_at is
	 * 1000 * (i + 1) */
	for (i = 0; i < 40; i++) {
		char cid[16], cname[16];

		snprintf(id, sizeof(id), "ck-%016x", i);
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(cid, sizeof(cid), "cid%d", i % 4);
		snprintf(cname, sizeof(cname), "web%d", i % 4);
		make_record(&ck, id, i % 2 ? "podman" : "docker", cid, cname, name);
		ck.status = (enum store_status)((i / 4) % 4);
		ck.created_at = 1000LL * (i + 1);
		ck.updated_at = 1000LL * (i + 1);
		insert_ok(f->st, &ck);
	}

	filter_init(&flt, 3);
	flt.engine = "podman";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 20);
	flt.engine = "none";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);
	flt.engine = "";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 40);

	filter_init(&flt, 4);
	flt.container = "cid1";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 10);
	flt.container = "web1";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 10);
	flt.container = "cid";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);

	/* i / 4 runs 0..9, so statuses 0 and 1 get three groups of 4 */
	for (i = STORE_PENDING; i <= STORE_FAILED; i++) {
		filter_init(&flt, 3);
		flt.status = i;
		assert_int_equal(list_all(f->st, &flt, &c, NULL), i < 2 ? 12 : 8);
	}

	filter_init(&flt, 7);
	flt.updated_since = 30000;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 11);
	flt.updated_since = 40001;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);

	/* together: podman (odd i), container 1 or 3 (odd) -> "web3" means
	 * i % 4 == 3; status ready means (i / 4) % 4 == 2: i in 8..11,
	 * 24..27 -> i = 11, 27; updated since 20000 -> i >= 19 -> 27 */
	filter_init(&flt, 1);
	flt.engine = "podman";
	flt.container = "web3";
	flt.status = STORE_READY;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 2);
	flt.updated_since = 20000;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 1);
	store_checkpoint_init(&ck);
	assert_int_equal(store_checkpoint_get(f->st, "ck-000000000000001b", &ck), STORE_OK);
	assert_int_equal(c.seq[0], ck.seq);
	store_checkpoint_release(&ck);
}

/* A file reopened after a stop: jobs that were pending or running are
 * failed as interrupted; the rest is untouched. */
static void test_interrupted(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck, got;
	const char *ids[] = { "ck-pending", "ck-running", "ck-ready", "ck-failed" };
	int64_t before;
	int i;

	for (i = 0; i < 4; i++) {
		make_record(&ck, ids[i], "docker", "cid", "web", ids[i]);
		ck.status = (enum store_status)i;
		ck.updated_at = 5;
		ck.created_at = 5;
		if (i == STORE_FAILED) {
			snprintf(ck.error_code, sizeof(ck.error_code), "engine_error");
			ck.error_message = strdup("boom");
		}
		insert_ok(f->st, &ck);
		store_checkpoint_release(&ck);
	}
	store_close(f->st);
	before = clock_now_ms();
	f->st = fixture_open(f);
	assert_int_equal(store_interrupted_count(f->st), 2);

	for (i = 0; i < 4; i++) {
		store_checkpoint_init(&got);
		assert_int_equal(store_checkpoint_get(f->st, ids[i], &got), STORE_OK);
		assert_int_equal(got.created_at, 5);
		if (i <= STORE_RUNNING) {
			assert_int_equal(got.status, STORE_FAILED);
			assert_string_equal(got.error_code, "interrupted");
			assert_string_equal(got.error_message,
					    "the service stopped while this job was running");
			assert_true(got.updated_at >= before);
		} else {
			assert_int_equal(got.status, i);
			assert_int_equal(got.updated_at, 5);
		}
		store_checkpoint_release(&got);
	}
	assert_int_equal(store_checkpoint_get(f->st, "ck-failed", &got), STORE_OK);
	assert_string_equal(got.error_code, "engine_error");
	store_checkpoint_release(&got);

	store_close(f->st);
	f->st = fixture_open(f);
	assert_int_equal(store_interrupted_count(f->st), 0);
}

/* A database written by a newer checkpointd is refused, and left alone. */
static void test_newer_version(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", pragma[64];
	sqlite3 *db;
	struct store *st;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	st = store_open(f->path, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "newer checkpointd"));
	assert_non_null(strstr(err, "999"));
	assert_non_null(strstr(store_last_error(), "newer checkpointd"));

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	/* back to the truth, so teardown's store opens it again */
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", newest_migration());
	assert_int_equal(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	f->st = fixture_open(f);
}

/* A path that cannot be opened gives a message, not a crash. */
static void test_open_failure(void **state)
{
	char err[512] = "";

	(void)state;
	assert_null(store_open("/nonexistent-dir/x/checkpointd.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/x/checkpointd.db"));
	store_close(NULL);
}

/* Runs sql on db, failing the test with SQLite's message. */
static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A database written by the first release (only sql/001_init.sql, version
 * 1) is brought to the newest schema on open, and its records survive
 * whole: the new columns read as not known yet, and can be written. */
static void test_migrate_from_v1(void **state)
{
	struct fixture *f = *state;
	const struct embedded_file *v1 = embedded_find("sql/001_init.sql");
	struct store_checkpoint ck, got;
	sqlite3 *db;

	assert_non_null(v1);
	store_close(f->st);
	f->st = NULL;
	unlink(f->path);

	/* what checkpointd 1 left behind, one ready and one running record */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode = WAL");
	exec_ok(db, "BEGIN");
	exec_ok(db, (const char *)v1->data);
	exec_ok(db, "PRAGMA user_version = 1");
	exec_ok(db, "COMMIT");
	exec_ok(db,
		"INSERT INTO checkpoints (id, name, container_id, container_name, "
		"engine, status, leave_running, image_id, image_repository, "
		"image_tag, image_size, size_bytes, directory, t_commit, "
		"t_checkpoint, t_measure, t_total, created_at, updated_at, "
		"error_code, error_message, config_json) VALUES "
		"('ck-00000000000000a1', 'v1snap', 'cid', 'web', 'docker', 'ready', "
		"1, 'sha256:aa', 'checkpointd/web', 'v1snap', 1000, 2000, '/d', 1, "
		"2, 3, 6, 111, 222, '', NULL, '{\"Id\":\"cid\"}')");
	exec_ok(db,
		"INSERT INTO checkpoints (id, name, container_id, container_name, "
		"engine, status, created_at, updated_at) VALUES "
		"('ck-00000000000000a2', 'v1run', 'cid', 'web', 'docker', "
		"'running', 333, 333)");
	sqlite3_close(db);

	f->st = fixture_open(f);
	assert_int_equal(store_schema_version(f->st), newest_migration());
	assert_int_equal(store_interrupted_count(f->st), 1);

	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-00000000000000a1", &got),
			 STORE_OK);
	assert_int_equal(got.status, STORE_READY);
	assert_string_equal(got.name, "v1snap");
	assert_string_equal(got.container_id, "cid");
	assert_string_equal(got.container_name, "web");
	assert_string_equal(got.engine, "docker");
	assert_int_equal(got.leave_running, 1);
	assert_string_equal(got.image_id, "sha256:aa");
	assert_string_equal(got.image_repository, "checkpointd/web");
	assert_string_equal(got.image_tag, "v1snap");
	assert_int_equal(got.image_size, 1000);
	assert_int_equal(got.size_bytes, 2000);
	assert_string_equal(got.directory, "/d");
	assert_int_equal(got.t_commit, 1);
	assert_int_equal(got.t_checkpoint, 2);
	assert_int_equal(got.t_measure, 3);
	assert_int_equal(got.t_total, 6);
	assert_int_equal(got.created_at, 111);
	assert_int_equal(got.updated_at, 222);
	assert_null(got.error_message);
	assert_string_equal(got.config_json, "{\"Id\":\"cid\"}");
	assert_null(got.files_json);
	assert_int_equal(got.ready_restore_ms, STORE_UNSET);
	assert_int_equal(got.ready_cold_ms, STORE_UNSET);

	/* the old record takes the new fields */
	got.files_json = strdup("[\"f\"]");
	assert_non_null(got.files_json);
	assert_int_equal(store_checkpoint_update(f->st, &got), STORE_OK);
	assert_int_equal(store_checkpoint_set_ready(f->st, got.id, 1, 77), STORE_OK);
	store_checkpoint_init(&ck);
	assert_int_equal(store_checkpoint_get(f->st, got.id, &ck), STORE_OK);
	assert_string_equal(ck.files_json, "[\"f\"]");
	assert_int_equal(ck.ready_cold_ms, 77);
	assert_int_equal(ck.seq, got.seq);
	store_checkpoint_release(&ck);
	store_checkpoint_release(&got);

	/* the job v1 left running was failed by the open */
	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-00000000000000a2", &got),
			 STORE_OK);
	assert_int_equal(got.status, STORE_FAILED);
	assert_string_equal(got.error_code, "interrupted");
	store_checkpoint_release(&got);

	/* a new record gets a seq after the old ones */
	make_record(&ck, "ck-00000000000000a3", "docker", "cid", "web", "v2snap");
	ck.status = STORE_READY;
	insert_ok(f->st, &ck);
	assert_true(ck.seq > got.seq);

	/* and reopening applies nothing twice */
	store_close(f->st);
	f->st = fixture_open(f);
	assert_int_equal(store_schema_version(f->st), newest_migration());
	assert_int_equal(store_interrupted_count(f->st), 0);
}

/* set_ready writes its one column and updated_at, and nothing else: a
 * record whose every field is set comes back the same otherwise. */
static void test_set_ready(void **state)
{
	struct fixture *f = *state;
	struct store_checkpoint ck, got;
	int64_t before;

	make_record(&ck, "ck-ready", "docker", "cid", "web", "snap");
	ck.status = STORE_READY;
	ck.leave_running = 1;
	snprintf(ck.image_id, sizeof(ck.image_id), "sha256:1");
	snprintf(ck.image_repository, sizeof(ck.image_repository), "r");
	snprintf(ck.image_tag, sizeof(ck.image_tag), "t");
	ck.image_size = 1;
	ck.size_bytes = 2;
	snprintf(ck.directory, sizeof(ck.directory), "/d");
	ck.t_commit = 3;
	ck.t_checkpoint = 4;
	ck.t_measure = 5;
	ck.t_total = 6;
	ck.created_at = 1000;
	ck.updated_at = 2000;
	snprintf(ck.error_code, sizeof(ck.error_code), "e");
	ck.error_message = strdup("m");
	ck.config_json = strdup("{}");
	ck.files_json = strdup("[]");
	ck.ready_restore_ms = 7;
	ck.ready_cold_ms = 8;
	insert_ok(f->st, &ck);

	before = clock_now_ms();
	assert_int_equal(store_checkpoint_set_ready(f->st, "ck-ready", 0, 1500), STORE_OK);
	store_checkpoint_init(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-ready", &got), STORE_OK);
	assert_true(got.updated_at >= before);
	assert_int_equal(got.ready_restore_ms, 1500);
	ck.ready_restore_ms = 1500;
	ck.updated_at = got.updated_at;
	assert_same_record(&ck, &got);

	assert_int_equal(store_checkpoint_set_ready(f->st, "ck-ready", 1, 2500), STORE_OK);
	assert_int_equal(store_checkpoint_get(f->st, "ck-ready", &got), STORE_OK);
	assert_int_equal(got.ready_cold_ms, 2500);
	assert_int_equal(got.ready_restore_ms, 1500);
	ck.ready_cold_ms = 2500;
	ck.updated_at = got.updated_at;
	assert_same_record(&ck, &got);

	/* STORE_UNSET clears it; a negative time is refused and changes nothing */
	assert_int_equal(store_checkpoint_set_ready(f->st, "ck-ready", 1, STORE_UNSET),
			 STORE_OK);
	assert_int_equal(store_checkpoint_set_ready(f->st, "ck-ready", 0, -5),
			 STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "ck-ready"));
	assert_int_equal(store_checkpoint_get(f->st, "ck-ready", &got), STORE_OK);
	assert_int_equal(got.ready_cold_ms, STORE_UNSET);
	assert_int_equal(got.ready_restore_ms, 1500);
	store_checkpoint_release(&got);
	store_checkpoint_release(&ck);

	assert_int_equal(store_checkpoint_set_ready(f->st, "ck-none", 0, 1), STORE_NOT_FOUND);
	assert_non_null(strstr(store_last_error(), "ck-none"));
	assert_int_equal(store_checkpoint_set_ready(f->st, "ck-none", 1, 1), STORE_NOT_FOUND);
}

#define WRITERS 6
#define PER_WRITER 60
#define READERS 3

struct worker {
	struct store *st;
	int index;
	int failures;
	int done;
};

static pthread_mutex_t workers_lock = PTHREAD_MUTEX_INITIALIZER;
static int writers_left;

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	struct store_checkpoint ck;
	char id[40], name[32];
	int i;

	for (i = 0; i < PER_WRITER; i++) {
		snprintf(id, sizeof(id), "ck-%08x%08x", w->index, i);
		snprintf(name, sizeof(name), "w%d-%d", w->index, i);
		make_record(&ck, id, "docker", "cid", "web", name);
		ck.status = STORE_RUNNING;
		if (store_checkpoint_insert(w->st, &ck) != STORE_OK)
			w->failures++;
		ck.status = STORE_READY;
		if (store_checkpoint_update(w->st, &ck) != STORE_OK)
			w->failures++;
	}
	pthread_mutex_lock(&workers_lock);
	writers_left--;
	pthread_mutex_unlock(&workers_lock);
	return NULL;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	struct store_checkpoint_filter flt;
	struct collected *c = malloc(sizeof(*c));
	int64_t next;
	int left;

	if (!c) {
		w->failures++;
		return NULL;
	}
	do {
		memset(c, 0, sizeof(*c));
		filter_init(&flt, 50);
		if (store_checkpoint_list(w->st, &flt, collect, c, &next) != STORE_OK)
			w->failures++;
		w->done++;
		pthread_mutex_lock(&workers_lock);
		left = writers_left;
		pthread_mutex_unlock(&workers_lock);
	} while (left > 0);
	free(c);
	return NULL;
}

/* Writers in several threads, readers listing meanwhile: every write lands
 * and nothing fails. */
static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[WRITERS + READERS];
	struct worker workers[WRITERS + READERS];
	struct store_checkpoint_filter flt;
	struct collected *c;
	int i;

	writers_left = WRITERS;
	for (i = 0; i < WRITERS + READERS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].st = f->st;
		workers[i].index = i;
		assert_int_equal(pthread_create(&threads[i], NULL,
						i < WRITERS ? writer_main : reader_main,
						&workers[i]),
				 0);
	}
	for (i = 0; i < WRITERS + READERS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(workers[i].failures, 0);
	}

	c = malloc(sizeof(*c));
	assert_non_null(c);
	filter_init(&flt, 37);
	assert_int_equal(list_all(f->st, &flt, c, NULL), WRITERS * PER_WRITER);
	flt.status = STORE_READY;
	assert_int_equal(list_all(f->st, &flt, c, NULL), WRITERS * PER_WRITER);
	free(c);
}

#define BOTH(t)                                                              \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_memory), \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_file)
#define FILE_ONLY(t) \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_file)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_open_failure),
		BOTH(test_migrations),
		BOTH(test_roundtrip),
		BOTH(test_invalid),
		BOTH(test_conflict),
		BOTH(test_update),
		BOTH(test_delete),
		BOTH(test_list_paging),
		BOTH(test_list_filters),
		FILE_ONLY(test_interrupted),
		FILE_ONLY(test_newer_version),
		FILE_ONLY(test_migrate_from_v1),
		BOTH(test_set_ready),
		BOTH(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
