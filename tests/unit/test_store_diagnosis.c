/*
 * test_store_diagnosis.c - the diagnoses table: put, get with and without
 * the log, replace, delete, and survival across a reopen.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_put_get_delete(void **state)
{
	char err[256];
	struct store *st = store_open(":memory:", err, sizeof(err));
	struct store_diagnosis d;
	static const char log[] = "line one\nError (criu/sk-unix.c:874): unix: External socket\n";

	(void)state;
	assert_non_null(st);
	assert_int_equal(store_diagnosis_get(st, "ck-0000000000000001", 1, &d), STORE_NOT_FOUND);
	assert_int_equal(store_diagnosis_put(st, "ck-0000000000000001", "close it", "the line",
					     "tail", log, sizeof(log) - 1), STORE_OK);
	assert_int_equal(store_diagnosis_get(st, "ck-0000000000000001", 1, &d), STORE_OK);
	assert_string_equal(d.hint, "close it");
	assert_string_equal(d.criu_line, "the line");
	assert_string_equal(d.log_tail, "tail");
	assert_int_equal(d.log_len, sizeof(log) - 1);
	assert_memory_equal(d.log, log, sizeof(log) - 1);
	store_diagnosis_release(&d);

	/* without the log */
	assert_int_equal(store_diagnosis_get(st, "ck-0000000000000001", 0, &d), STORE_OK);
	assert_null(d.log);
	assert_string_equal(d.hint, "close it");
	store_diagnosis_release(&d);

	/* replaced whole; NULL strings read back as "" and no log */
	assert_int_equal(store_diagnosis_put(st, "ck-0000000000000001", NULL, "other", NULL, NULL, 0),
			 STORE_OK);
	assert_int_equal(store_diagnosis_get(st, "ck-0000000000000001", 1, &d), STORE_OK);
	assert_string_equal(d.hint, "");
	assert_string_equal(d.criu_line, "other");
	assert_null(d.log);
	store_diagnosis_release(&d);

	assert_int_equal(store_diagnosis_delete(st, "ck-0000000000000001"), STORE_OK);
	assert_int_equal(store_diagnosis_delete(st, "ck-0000000000000001"), STORE_OK);
	assert_int_equal(store_diagnosis_get(st, "ck-0000000000000001", 1, &d), STORE_NOT_FOUND);
	store_close(st);
}

static void test_survives_reopen(void **state)
{
	char dir[] = "/tmp/diag-XXXXXX", path[64], err[256];
	struct store *st;
	struct store_diagnosis d;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.db", dir);
	st = store_open(path, err, sizeof(err));
	assert_non_null(st);
	assert_true(store_schema_version(st) >= 3);
	assert_int_equal(store_diagnosis_put(st, "rs-0000000000000002", "h", "c", "t", "log", 3),
			 STORE_OK);
	store_close(st);
	st = store_open(path, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_diagnosis_get(st, "rs-0000000000000002", 1, &d), STORE_OK);
	assert_string_equal(d.log, "log");
	store_diagnosis_release(&d);
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_delete),
		cmocka_unit_test(test_survives_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
