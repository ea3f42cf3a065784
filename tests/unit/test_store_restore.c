/*
 * test_store_restore.c - unit tests of src/store for restores and the
 * engine leak tally: the record round trip, refused values, update and
 * delete, listing and paging with every filter, counting a checkpoint's
 * active restores, interrupted jobs after a reopen, concurrency.
 *
 * As in test_store.c, most tests run on ":memory:" (one connection for
 * everything) and on a file in a fresh temporary folder (WAL, a writer and
 * a reader pool); the reopening ones only on a file.
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
		snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_restore.XXXXXX");
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

/* A pending restore with the given names and everything else empty. */
static void make_restore(struct store_restore *rs, const char *id,
			 const char *checkpoint_id, const char *engine,
			 const char *container_id, const char *container_name)
{
	store_restore_init(rs);
	snprintf(rs->id, sizeof(rs->id), "%s", id);
	snprintf(rs->checkpoint_id, sizeof(rs->checkpoint_id), "%s", checkpoint_id);
	snprintf(rs->engine, sizeof(rs->engine), "%s", engine);
	snprintf(rs->container_id, sizeof(rs->container_id), "%s", container_id);
	snprintf(rs->container_name, sizeof(rs->container_name), "%s",
		 container_name);
}

static void insert_ok(struct store *st, struct store_restore *rs)
{
	enum store_result r = store_restore_insert(st, rs);

	if (r != STORE_OK)
		fail_msg("insert '%s': %d %s", rs->id, r, store_last_error());
}

/* Asserts a and b hold the same record, field by field. */
static void assert_same_restore(const struct store_restore *a,
				const struct store_restore *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->checkpoint_id, b->checkpoint_id);
	assert_string_equal(a->engine, b->engine);
	assert_string_equal(a->container_id, b->container_id);
	assert_string_equal(a->container_name, b->container_name);
	assert_int_equal(a->in_place, b->in_place);
	assert_int_equal(a->cold, b->cold);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->t_create, b->t_create);
	assert_int_equal(a->t_stage, b->t_stage);
	assert_int_equal(a->t_start, b->t_start);
	assert_int_equal(a->t_ready, b->t_ready);
	assert_int_equal(a->t_total, b->t_total);
	assert_int_equal(a->t_after, b->t_after);
	if (a->hook_results_json || b->hook_results_json) {
		assert_non_null(a->hook_results_json);
		assert_non_null(b->hook_results_json);
		assert_string_equal(a->hook_results_json, b->hook_results_json);
	}
	assert_int_equal(a->retries, b->retries);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
	assert_string_equal(a->error_code, b->error_code);
	if (a->error_message || b->error_message) {
		assert_non_null(a->error_message);
		assert_non_null(b->error_message);
		assert_string_equal(a->error_message, b->error_message);
	}
	if (a->request_json || b->request_json) {
		assert_non_null(a->request_json);
		assert_non_null(b->request_json);
		assert_string_equal(a->request_json, b->request_json);
	}
}

/* Collects listed seqs. */
struct collected {
	int64_t seq[2048];
	int n;
	int stop_after; /* stop the listing after this many, 0 = never */
};

static int collect(void *arg, const struct store_restore *rs)
{
	struct collected *c = arg;

	if (c->n < (int)(sizeof(c->seq) / sizeof(c->seq[0])))
		c->seq[c->n++] = rs->seq;
	return c->stop_after && c->n >= c->stop_after;
}

/* Lists every page with filter f (its cursor is overwritten), checking the
 * order and the cursors, and returns the total; *pages gets the number of
 * pages. */
static int list_all(struct store *st, struct store_restore_filter *f,
		    struct collected *c, int *pages)
{
	int64_t next;
	int before, np = 0, i;

	memset(c, 0, sizeof(*c));
	f->cursor = 0;
	do {
		before = c->n;
		assert_int_equal(store_restore_list(st, f, collect, c, &next), STORE_OK);
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

static void filter_init(struct store_restore_filter *f, int limit)
{
	memset(f, 0, sizeof(*f));
	f->limit = limit;
	f->status = -1;
}

/* Every field survives a round trip, both fully set and fully unset. */
static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs, got;
	int64_t before = clock_now_ms();

	make_restore(&rs, "rs-0123456789abcdef", "ck-fedcba9876543210", "podman",
		     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		     "web-1-restored");
	rs.in_place = 1;
	rs.cold = 1;
	rs.status = STORE_FAILED;
	rs.t_create = 0;
	rs.t_stage = 12;
	rs.t_start = 345;
	rs.t_ready = 6789;
	rs.t_total = 123456789012LL;
	rs.t_after = 77;
	rs.hook_results_json = strdup("[{\"exec\":[\"rm\"],\"exit_code\":0}]");
	rs.retries = 3;
	rs.created_at = 1700000000000LL;
	rs.updated_at = 1700000000123LL;
	snprintf(rs.error_code, sizeof(rs.error_code), "not_ready");
	rs.error_message = strdup("probe failed: \"quotes\", 'apostrophes'; DROP TABLE x; --");
	rs.request_json = strdup("{\"name\":\"web-2\",\"ready\":{\"tcp\":8080},\"u\":\"\xc3\xa9\"}");
	assert_non_null(rs.error_message);
	assert_non_null(rs.request_json);
	insert_ok(f->st, &rs);
	assert_true(rs.seq > 0);

	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, rs.id, &got), STORE_OK);
	assert_same_restore(&rs, &got);
	/* a second get into the same struct frees what it held */
	assert_int_equal(store_restore_get(f->st, rs.id, &got), STORE_OK);
	assert_same_restore(&rs, &got);
	store_restore_release(&got);
	/* the id may point into the struct being filled */
	store_restore_init(&got);
	snprintf(got.id, sizeof(got.id), "%s", rs.id);
	assert_int_equal(store_restore_get(f->st, got.id, &got), STORE_OK);
	assert_same_restore(&rs, &got);
	store_restore_release(&got);
	store_restore_release(&rs);

	/* unset numbers stay unset, absent heap strings NULL, times filled */
	make_restore(&rs, "rs-1111111111111111", "ck-1", "docker", "", "");
	insert_ok(f->st, &rs);
	assert_true(rs.created_at >= before);
	assert_int_equal(rs.updated_at, rs.created_at);
	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, rs.id, &got), STORE_OK);
	assert_same_restore(&rs, &got);
	assert_int_equal(got.status, STORE_PENDING);
	assert_int_equal(got.in_place, 0);
	assert_int_equal(got.cold, 0);
	assert_int_equal(got.t_create, STORE_UNSET);
	assert_int_equal(got.t_stage, STORE_UNSET);
	assert_int_equal(got.t_start, STORE_UNSET);
	assert_int_equal(got.t_ready, STORE_UNSET);
	assert_int_equal(got.t_total, STORE_UNSET);
	assert_int_equal(got.retries, 0);
	assert_string_equal(got.container_id, "");
	assert_string_equal(got.error_code, "");
	assert_null(got.error_message);
	assert_null(got.request_json);
	store_restore_release(&got);

	/* any non-zero flag is stored as 1 */
	make_restore(&rs, "rs-2222222222222222", "ck-1", "docker", "", "");
	rs.in_place = 7;
	rs.cold = -1;
	insert_ok(f->st, &rs);
	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, rs.id, &got), STORE_OK);
	assert_int_equal(got.in_place, 1);
	assert_int_equal(got.cold, 1);
	store_restore_release(&got);

	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, "rs-0000000000000000", &got),
			 STORE_NOT_FOUND);
	assert_non_null(strstr(store_last_error(), "rs-0000000000000000"));
	store_restore_release(&got);
}

/* Bad values are refused with a message, and store nothing; a taken id is
 * a conflict. */
static void test_invalid(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs;
	struct store_restore_filter flt;
	struct collected c;
	int64_t next = 99;

	make_restore(&rs, "rs-1", "ck-1", "docker", "", "");
	rs.status = (enum store_status)42;
	assert_int_equal(store_restore_insert(f->st, &rs), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "CHECK"));

	make_restore(&rs, "rs-2", "ck-1", "docker", "", "");
	rs.retries = -1;
	assert_int_equal(store_restore_insert(f->st, &rs), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "CHECK"));

	make_restore(&rs, "rs-3", "ck-1", "docker", "", "");
	rs.t_ready = -5;
	assert_int_equal(store_restore_insert(f->st, &rs), STORE_ERROR);

	make_restore(&rs, "rs-4", "ck-1", "docker", "", "");
	memset(rs.container_name, 'x', sizeof(rs.container_name));
	assert_int_equal(store_restore_insert(f->st, &rs), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "'container_name'"));

	filter_init(&flt, 10);
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);

	make_restore(&rs, "rs-5", "ck-1", "docker", "", "");
	insert_ok(f->st, &rs);
	make_restore(&rs, "rs-5", "ck-2", "podman", "", "");
	assert_int_equal(store_restore_insert(f->st, &rs), STORE_CONFLICT);
	assert_non_null(strstr(store_last_error(), "rs-5"));
	/* an update that breaks a rule changes nothing */
	make_restore(&rs, "rs-5", "ck-1", "docker", "", "");
	rs.retries = -2;
	assert_int_equal(store_restore_update(f->st, &rs), STORE_ERROR);
	rs.retries = 0;
	assert_int_equal(store_restore_get(f->st, "rs-5", &rs), STORE_OK);
	assert_int_equal(rs.retries, 0);
	store_restore_release(&rs);

	filter_init(&flt, 0);
	assert_int_equal(store_restore_list(f->st, &flt, collect, NULL, &next),
			 STORE_ERROR);
	assert_int_equal(next, 0);
	filter_init(&flt, 1001);
	assert_int_equal(store_restore_list(f->st, &flt, collect, NULL, &next),
			 STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "1001"));
	filter_init(&flt, 10);
	flt.status = STORE_FAILED + 1;
	assert_int_equal(store_restore_list(f->st, &flt, collect, NULL, &next),
			 STORE_ERROR);
}

/* Update writes every mutable field, sets updated_at to now, keeps seq and
 * created_at. */
static void test_update(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs, got;
	int64_t before;

	make_restore(&rs, "rs-u", "ck-1", "docker", "", "");
	rs.created_at = 1000;
	rs.updated_at = 2000;
	rs.request_json = strdup("{\"name\":\"a\"}");
	insert_ok(f->st, &rs);

	before = clock_now_ms();
	rs.status = STORE_READY;
	rs.created_at = STORE_UNSET; /* ignored: created_at never changes */
	rs.seq = 0;                  /* filled back in */
	snprintf(rs.checkpoint_id, sizeof(rs.checkpoint_id), "ck-2");
	snprintf(rs.engine, sizeof(rs.engine), "podman");
	snprintf(rs.container_id, sizeof(rs.container_id), "newcid");
	snprintf(rs.container_name, sizeof(rs.container_name), "newname");
	rs.in_place = 1;
	rs.cold = 1;
	rs.t_create = 1;
	rs.t_stage = 2;
	rs.t_start = 3;
	rs.t_ready = 4;
	rs.t_total = 10;
	rs.retries = 2;
	snprintf(rs.error_code, sizeof(rs.error_code), "x");
	rs.error_message = strdup("y");
	assert_int_equal(store_restore_update(f->st, &rs), STORE_OK);
	assert_true(rs.updated_at >= before);
	assert_int_equal(rs.created_at, 1000);
	assert_true(rs.seq > 0);

	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, "rs-u", &got), STORE_OK);
	assert_same_restore(&rs, &got);
	store_restore_release(&got);

	/* clearing works too */
	free(rs.request_json);
	rs.request_json = NULL;
	free(rs.error_message);
	rs.error_message = NULL;
	rs.t_ready = STORE_UNSET;
	rs.error_code[0] = '\0';
	assert_int_equal(store_restore_update(f->st, &rs), STORE_OK);
	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, "rs-u", &got), STORE_OK);
	assert_same_restore(&rs, &got);
	assert_null(got.request_json);
	store_restore_release(&got);
	store_restore_release(&rs);

	make_restore(&rs, "rs-missing", "ck-1", "docker", "", "");
	assert_int_equal(store_restore_update(f->st, &rs), STORE_NOT_FOUND);
	assert_non_null(strstr(store_last_error(), "rs-missing"));
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs, got;

	make_restore(&rs, "rs-del", "ck-1", "docker", "", "");
	insert_ok(f->st, &rs);
	assert_int_equal(store_restore_delete(f->st, "rs-del"), STORE_OK);
	store_restore_init(&got);
	assert_int_equal(store_restore_get(f->st, "rs-del", &got), STORE_NOT_FOUND);
	assert_int_equal(store_restore_delete(f->st, "rs-del"), STORE_NOT_FOUND);
	/* the id is free again */
	insert_ok(f->st, &rs);
}

/* Newest first; paging with the cursor visits every record once, for page
 * sizes that divide the total and ones that do not. */
static void test_list_paging(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs;
	struct store_restore_filter flt;
	struct collected c;
	int64_t seqs[25], next;
	char id[40];
	int i, pages, limits[] = { 1, 5, 7, 24, 25, 26, 1000 };
	size_t k;

	for (i = 0; i < 25; i++) {
		snprintf(id, sizeof(id), "rs-%016x", i);
		make_restore(&rs, id, "ck-1", "docker", "", "");
		insert_ok(f->st, &rs);
		seqs[i] = rs.seq;
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
	assert_int_equal(store_restore_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seq[0], seqs[9]);
	assert_int_equal(next, seqs[7]);

	/* the last page says so */
	flt.cursor = seqs[2];
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_restore_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.n, 2);
	assert_int_equal(next, 0);

	/* a callback that stops: the cursor resumes after what it saw */
	filter_init(&flt, 10);
	memset(&c, 0, sizeof(c));
	c.stop_after = 4;
	assert_int_equal(store_restore_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(next, seqs[21]);

	/* records deleted between pages leave no gap or repeat */
	filter_init(&flt, 10);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_restore_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(next, seqs[15]);
	assert_int_equal(store_restore_delete(f->st, "rs-000000000000000e"), STORE_OK);
	make_restore(&rs, "rs-new", "ck-1", "docker", "", "");
	insert_ok(f->st, &rs);
	flt.cursor = next;
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_restore_list(f->st, &flt, collect, &c, &next), STORE_OK);
	assert_int_equal(c.seq[0], seqs[13]);
	assert_int_equal(c.n, 10);
}

/* Each filter alone and together, paged; the checkpoint filter is exact. */
static void test_list_filters(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs;
	struct store_restore_filter flt;
	struct collected c;
	char id[40], cid[16], cname[16], ckid[40];
	int i;

	/* 60 records: engine alternates, container cycles over 4 (ids
	 * cid0..cid3, names web0..web3), status cycles over 4 in groups of 4,
	 * checkpoint cycles over 3 (ck-0..ck-2), updated_at is
	 * 1000 * (i + 1) */
	for (i = 0; i < 60; i++) {
		snprintf(id, sizeof(id), "rs-%016x", i);
		snprintf(cid, sizeof(cid), "cid%d", i % 4);
		snprintf(cname, sizeof(cname), "web%d", i % 4);
		snprintf(ckid, sizeof(ckid), "ck-%d", i % 3);
		make_restore(&rs, id, ckid, i % 2 ? "podman" : "docker", cid, cname);
		rs.status = (enum store_status)((i / 4) % 4);
		rs.created_at = 1000LL * (i + 1);
		rs.updated_at = 1000LL * (i + 1);
		insert_ok(f->st, &rs);
	}

	filter_init(&flt, 3);
	flt.engine = "podman";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 30);
	flt.engine = "none";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);
	flt.engine = "";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 60);

	filter_init(&flt, 4);
	flt.container = "cid1";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 15);
	flt.container = "web1";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 15);
	flt.container = "cid";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);

	/* i / 4 runs 0..14, so statuses 0, 1, 2 get four groups of 4 */
	for (i = STORE_PENDING; i <= STORE_FAILED; i++) {
		filter_init(&flt, 3);
		flt.status = i;
		assert_int_equal(list_all(f->st, &flt, &c, NULL), i < 3 ? 16 : 12);
	}

	filter_init(&flt, 7);
	flt.updated_since = 50000;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 11);
	flt.updated_since = 60001;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);

	filter_init(&flt, 6);
	flt.checkpoint = "ck-1";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 20);
	flt.checkpoint = "ck-";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);
	flt.checkpoint = "CK-1";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);
	flt.checkpoint = "ck-1%";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 0);
	flt.checkpoint = "";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 60);

	/* together: checkpoint ck-2 (i % 3 == 2) and podman (odd i):
	 * i % 6 == 5 -> 5, 11, ..., 59: 10 records */
	filter_init(&flt, 3);
	flt.checkpoint = "ck-2";
	flt.engine = "podman";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 10);
	/* and container web3 (i % 4 == 3): i % 12 == 11 -> 11, 23, 35, 47, 59 */
	flt.container = "web3";
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 5);
	/* and status ready ((i / 4) % 4 == 2): 11 (group 2), 59 (group 14) */
	flt.status = STORE_READY;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 2);
	/* and updated since 30000 (i >= 29): only 59 */
	flt.updated_since = 30000;
	flt.limit = 1;
	assert_int_equal(list_all(f->st, &flt, &c, NULL), 1);
	store_restore_init(&rs);
	assert_int_equal(store_restore_get(f->st, "rs-000000000000003b", &rs), STORE_OK);
	assert_int_equal(c.seq[0], rs.seq);
	store_restore_release(&rs);
}

/* count_active counts a checkpoint's pending and running restores only. */
static void test_count_active(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs;
	char id[40];
	int i, n = -1;

	assert_int_equal(store_restore_count_active(f->st, "ck-a", &n), STORE_OK);
	assert_int_equal(n, 0);

	/* ck-a: one of each status, twice; ck-b: one running; ck-ab: pending */
	for (i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "rs-a%d", i);
		make_restore(&rs, id, "ck-a", "docker", "", "");
		rs.status = (enum store_status)(i % 4);
		insert_ok(f->st, &rs);
	}
	make_restore(&rs, "rs-b", "ck-b", "docker", "", "");
	rs.status = STORE_RUNNING;
	insert_ok(f->st, &rs);
	make_restore(&rs, "rs-ab", "ck-ab", "docker", "", "");
	insert_ok(f->st, &rs);

	assert_int_equal(store_restore_count_active(f->st, "ck-a", &n), STORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(store_restore_count_active(f->st, "ck-b", &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_restore_count_active(f->st, "ck-c", &n), STORE_OK);
	assert_int_equal(n, 0);

	/* finishing one lowers the count; failing another too */
	make_restore(&rs, "rs-a0", "ck-a", "docker", "", "");
	rs.status = STORE_READY;
	assert_int_equal(store_restore_update(f->st, &rs), STORE_OK);
	make_restore(&rs, "rs-a5", "ck-a", "docker", "", "");
	rs.status = STORE_FAILED;
	assert_int_equal(store_restore_update(f->st, &rs), STORE_OK);
	assert_int_equal(store_restore_count_active(f->st, "ck-a", &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_restore_delete(f->st, "rs-a1"), STORE_OK);
	assert_int_equal(store_restore_count_active(f->st, "ck-a", &n), STORE_OK);
	assert_int_equal(n, 1);
}

/* A file reopened after a stop: restores (and checkpoints) that were
 * pending or running are failed as interrupted, all counted; the rest is
 * untouched. */
static void test_interrupted(void **state)
{
	struct fixture *f = *state;
	struct store_restore rs, got;
	struct store_checkpoint ck;
	const char *ids[] = { "rs-pending", "rs-running", "rs-ready", "rs-failed" };
	int64_t before;
	int i;

	for (i = 0; i < 4; i++) {
		make_restore(&rs, ids[i], "ck-1", "docker", "cid", "web");
		rs.status = (enum store_status)i;
		rs.updated_at = 5;
		rs.created_at = 5;
		rs.t_create = 9;
		rs.request_json = strdup("{}");
		if (i == STORE_FAILED) {
			snprintf(rs.error_code, sizeof(rs.error_code), "engine_error");
			rs.error_message = strdup("boom");
		}
		insert_ok(f->st, &rs);
		store_restore_release(&rs);
	}
	/* and one checkpoint job left running */
	store_checkpoint_init(&ck);
	snprintf(ck.id, sizeof(ck.id), "ck-running");
	snprintf(ck.engine, sizeof(ck.engine), "docker");
	snprintf(ck.name, sizeof(ck.name), "snap");
	ck.status = STORE_RUNNING;
	assert_int_equal(store_checkpoint_insert(f->st, &ck), STORE_OK);

	store_close(f->st);
	before = clock_now_ms();
	f->st = fixture_open(f);
	assert_int_equal(store_interrupted_count(f->st), 3);

	for (i = 0; i < 4; i++) {
		store_restore_init(&got);
		assert_int_equal(store_restore_get(f->st, ids[i], &got), STORE_OK);
		assert_int_equal(got.created_at, 5);
		assert_int_equal(got.t_create, 9);
		assert_string_equal(got.request_json, "{}");
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
		store_restore_release(&got);
	}
	assert_int_equal(store_restore_get(f->st, "rs-failed", &got), STORE_OK);
	assert_string_equal(got.error_code, "engine_error");
	assert_string_equal(got.error_message, "boom");
	store_restore_release(&got);
	assert_int_equal(store_checkpoint_get(f->st, "ck-running", &ck), STORE_OK);
	assert_int_equal(ck.status, STORE_FAILED);
	assert_string_equal(ck.error_code, "interrupted");
	store_checkpoint_release(&ck);

	store_close(f->st);
	f->st = fixture_open(f);
	assert_int_equal(store_interrupted_count(f->st), 0);
}

/* The leak tally adds up per engine and survives a reopen. */
static void test_leaks(void **state)
{
	struct fixture *f = *state;
	int64_t bytes = -1, restores = -1;

	assert_int_equal(store_engine_leak_get(f->st, "docker", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(bytes, 0);
	assert_int_equal(restores, 0);

	assert_int_equal(store_engine_leak_add(f->st, "docker", 1000), STORE_OK);
	assert_int_equal(store_engine_leak_add(f->st, "docker", 0), STORE_OK);
	assert_int_equal(store_engine_leak_add(f->st, "docker", 5000000000LL), STORE_OK);
	assert_int_equal(store_engine_leak_add(f->st, "podman", 7), STORE_OK);

	assert_int_equal(store_engine_leak_get(f->st, "docker", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(bytes, 5000001000LL);
	assert_int_equal(restores, 3);
	assert_int_equal(store_engine_leak_get(f->st, "podman", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(bytes, 7);
	assert_int_equal(restores, 1);
	assert_int_equal(store_engine_leak_get(f->st, "Docker", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(bytes, 0);
	assert_int_equal(restores, 0);

	/* a negative size (an unmeasured STORE_UNSET, say) is refused */
	assert_int_equal(store_engine_leak_add(f->st, "docker", STORE_UNSET), STORE_ERROR);
	assert_non_null(strstr(store_last_error(), "negative"));
	assert_int_equal(store_engine_leak_add(f->st, "", 1), STORE_ERROR);
	assert_int_equal(store_engine_leak_get(f->st, "docker", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(bytes, 5000001000LL);
	assert_int_equal(restores, 3);

	if (f->kind != DB_FILE)
		return;
	store_close(f->st);
	f->st = fixture_open(f);
	assert_int_equal(store_engine_leak_get(f->st, "docker", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(bytes, 5000001000LL);
	assert_int_equal(restores, 3);
}

#define WRITERS 6
#define PER_WRITER 60
#define READERS 3

struct worker {
	struct store *st;
	int index;
	int failures;
};

static pthread_mutex_t workers_lock = PTHREAD_MUTEX_INITIALIZER;
static int writers_left;

/* Inserts, runs and finishes restores of one checkpoint per writer, and
 * adds each to the leak tally, as restore jobs do. */
static void *writer_main(void *arg)
{
	struct worker *w = arg;
	struct store_restore rs;
	char id[40], ckid[40];
	int i;

	snprintf(ckid, sizeof(ckid), "ck-%d", w->index);
	for (i = 0; i < PER_WRITER; i++) {
		snprintf(id, sizeof(id), "rs-%08x%08x", w->index, i);
		make_restore(&rs, id, ckid, "docker", "", "");
		if (store_restore_insert(w->st, &rs) != STORE_OK)
			w->failures++;
		rs.status = STORE_RUNNING;
		if (store_restore_update(w->st, &rs) != STORE_OK)
			w->failures++;
		rs.status = STORE_READY;
		rs.t_total = i;
		if (store_restore_update(w->st, &rs) != STORE_OK)
			w->failures++;
		if (store_engine_leak_add(w->st, "docker", 10) != STORE_OK)
			w->failures++;
	}
	pthread_mutex_lock(&workers_lock);
	writers_left--;
	pthread_mutex_unlock(&workers_lock);
	return NULL;
}

/* Lists, counts and reads the tally until the writers are done. */
static void *reader_main(void *arg)
{
	struct worker *w = arg;
	struct store_restore_filter flt;
	struct collected *c = malloc(sizeof(*c));
	int64_t next, bytes, restores;
	int left, n;

	if (!c) {
		w->failures++;
		return NULL;
	}
	do {
		memset(c, 0, sizeof(*c));
		filter_init(&flt, 50);
		if (store_restore_list(w->st, &flt, collect, c, &next) != STORE_OK)
			w->failures++;
		if (store_restore_count_active(w->st, "ck-0", &n) != STORE_OK || n < 0 ||
		    n > 1)
			w->failures++;
		if (store_engine_leak_get(w->st, "docker", &bytes, &restores) != STORE_OK ||
		    bytes != restores * 10)
			w->failures++;
		pthread_mutex_lock(&workers_lock);
		left = writers_left;
		pthread_mutex_unlock(&workers_lock);
	} while (left > 0);
	free(c);
	return NULL;
}

/* Writers in several threads, readers meanwhile: every write lands, the
 * tally misses none, and nothing fails. */
static void test_concurrent(void **state)
{
	struct fixture *f = *state;
	pthread_t threads[WRITERS + READERS];
	struct worker workers[WRITERS + READERS];
	struct store_restore_filter flt;
	struct collected *c;
	int64_t bytes, restores;
	int i, n;

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
	filter_init(&flt, 1000);
	flt.checkpoint = "ck-2";
	assert_int_equal(list_all(f->st, &flt, c, NULL), PER_WRITER);
	free(c);
	assert_int_equal(store_restore_count_active(f->st, "ck-0", &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_engine_leak_get(f->st, "docker", &bytes, &restores),
			 STORE_OK);
	assert_int_equal(restores, WRITERS * PER_WRITER);
	assert_int_equal(bytes, 10 * WRITERS * PER_WRITER);
}

#define BOTH(t)                                                              \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_memory), \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_file)
#define FILE_ONLY(t) \
	cmocka_unit_test_prestate_setup_teardown(t, setup, teardown, &kind_file)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_roundtrip),
		BOTH(test_invalid),
		BOTH(test_update),
		BOTH(test_delete),
		BOTH(test_list_paging),
		BOTH(test_list_filters),
		BOTH(test_count_active),
		FILE_ONLY(test_interrupted),
		BOTH(test_leaks),
		BOTH(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
