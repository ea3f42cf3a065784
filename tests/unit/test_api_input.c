/*
 * test_api_input.c - unit tests of the pure input helpers of src/api and
 * src/engine: Docker's name rule, the error-code -> HTTP status table (also
 * checked against the OpenAPI document), the JSON member readers, and the
 * Docker version warning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "embedded.h"
#include "engine/engine.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- api_valid_docker_name: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */

static int ref_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void test_name_valid(void **state)
{
	static const char *const good[] = {
		"ab", "a1", "0a", "Z9", "a.", "a_", "a-", "a.b-c_d", "checkpoint1",
		"ck-2026-12-04T15.37.18", "A__", "9...", "x-------",
	};
	char longname[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!api_valid_docker_name(good[i]))
			fail_msg("'%s' refused", good[i]);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_true(api_valid_docker_name(longname)); /* no upper bound here */
}

static void test_name_invalid(void **state)
{
	static const char *const bad[] = {
		"", "a", "Z", "0", "_", ".", "-", "_a", ".a", "-a", "..", "._", "a b", " ab",
		"ab ", "a/b", "/ab", "a:b", "a+b", "a@b", "a*", "a\n", "ab\t", "a\\b", "a~",
		"\xc3\xa4" "b", "a\xc3\xa4", "a\xff", "\xff" "a", "ab!", "a,b", "a=b", "a;b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (api_valid_docker_name(bad[i]))
			fail_msg("'%s' (case %zu) accepted", bad[i], i);
}

/* Every byte in every position against the rule written out. */
static void test_name_every_byte(void **state)
{
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		char first[3] = {(char)c, 'a', '\0'};
		char later[4] = {'a', (char)c, 'b', '\0'};
		char last[3] = {'a', (char)c, '\0'};
		int want_later = ref_alnum(c) || c == '_' || c == '.' || c == '-';

		if (api_valid_docker_name(first) != ref_alnum(c))
			fail_msg("first byte 0x%02x: got %d", c, api_valid_docker_name(first));
		if (api_valid_docker_name(later) != want_later)
			fail_msg("middle byte 0x%02x: got %d", c, api_valid_docker_name(later));
		if (api_valid_docker_name(last) != want_later)
			fail_msg("last byte 0x%02x: got %d", c, api_valid_docker_name(last));
	}
}

/* --- api_status_for_code */

static const struct {
	const char *code;
	unsigned status;
} code_table[] = {
	{"not_found", 404},
	{"engine_not_found", 404},
	{"container_not_found", 404},
	{"checkpoint_not_found", 404},
	{"container_not_running", 409},
	{"name_conflict", 409},
	{"checkpoint_busy", 409},
	{"invalid_json", 400},
	{"invalid_field", 400},
	{"unknown_field", 400},
	{"missing_field", 400},
	{"invalid_parameter", 400},
	{"engine_unreachable", 502},
	{"engine_error", 502},
	{"checkpoint_failed", 502},
	{"experimental_disabled", 503},
	{"shutting_down", 503},
	{"interrupted", 503},
	{"internal_error", 500},
};

static void test_status_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++) {
		unsigned got = api_status_for_code(code_table[i].code);

		if (got != code_table[i].status)
			fail_msg("'%s' -> %u, expected %u", code_table[i].code, got,
				 code_table[i].status);
	}
}

/* Unknown codes are a server-side failure (5xx), never a client error or
 * a success; codes are case-sensitive. */
static void test_status_unknown(void **state)
{
	static const char *const unknown[] = {"", "nope", "NOT_FOUND", "not_found ", "notfound",
					      "internal", "engine_error_x"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		unsigned got = api_status_for_code(unknown[i]);

		if (got < 500 || got > 599)
			fail_msg("unknown code '%s' -> %u", unknown[i], got);
	}
}

/* Codes the http layer answers itself, with their own status: they never
 * pass through api_status_for_code(). */
static int http_layer_code(const char *code)
{
	return strcmp(code, "payload_too_large") == 0 ||
	       strcmp(code, "unsupported_media_type") == 0 ||
	       strcmp(code, "method_not_allowed") == 0 || strcmp(code, "not_found") == 0;
}

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static void check_spec_code(const char *code, const char *where, unsigned status,
			    size_t *checked)
{
	unsigned got;

	if (http_layer_code(code))
		return;
	got = api_status_for_code(code);
	if (got != status)
		fail_msg("openapi.json documents '%s' as %u (%s), api_status_for_code says %u", code,
			 status, where, got);
	(*checked)++;
}

/* Every problem code the OpenAPI document lists under an error status of
 * an operation maps to that status. */
static void test_status_matches_openapi(void **state)
{
	const struct embedded_file *f = embedded_find("openapi/openapi.json");
	struct json_object *doc, *paths, *responses;
	size_t checked = 0;

	(void)state;
	assert_non_null(f);
	doc = json_tokener_parse((const char *)f->data);
	assert_non_null(doc);
	paths = jget(doc, "paths");
	responses = jget(jget(doc, "components"), "responses");
	assert_non_null(paths);
	assert_non_null(responses);
	json_object_object_foreach(paths, path, ops) {
		json_object_object_foreach(ops, method, op) {
			struct json_object *rs = jget(op, "responses");

			if (!rs)
				continue;
			json_object_object_foreach(rs, st, resp) {
				struct json_object *ref = jget(resp, "$ref"), *schema, *code, *v;
				const char *name;
				unsigned status = (unsigned)atoi(st);
				char where[200];
				size_t i;

				if (status < 400 || !ref)
					continue;
				name = strrchr(json_object_get_string(ref), '/');
				assert_non_null(name);
				schema = jget(jget(jget(jget(responses, name + 1), "content"),
						   "application/problem+json"),
					      "schema");
				code = jget(jget(schema, "properties"), "code");
				if (!code)
					fail_msg("%s %s %s: no problem code in %s", method, path, st,
						 name + 1);
				snprintf(where, sizeof(where), "%s %s", method, path);
				if ((v = jget(code, "const")))
					check_spec_code(json_object_get_string(v), where, status,
							&checked);
				if ((v = jget(code, "enum")))
					for (i = 0; i < json_object_array_length(v); i++)
						check_spec_code(
							json_object_get_string(
								json_object_array_get_idx(v, i)),
							where, status, &checked);
			}
		}
	}
	json_object_put(doc);
	/* the document has some twenty (code, operation) pairs */
	assert_true(checked >= 20);
}

/* --- api_str / api_bool */

static void test_json_members(void **state)
{
	struct json_object *o = json_tokener_parse(
		"{\"s\":\"text\",\"e\":\"\",\"n\":1,\"t\":true,\"f\":false,\"z\":null,"
		"\"o\":{},\"a\":[\"x\"],\"bs\":\"true\"}");

	(void)state;
	assert_non_null(o);
	assert_string_equal(api_str(o, "s"), "text");
	assert_string_equal(api_str(o, "e"), "");
	assert_null(api_str(o, "n"));
	assert_null(api_str(o, "t"));
	assert_null(api_str(o, "z"));
	assert_null(api_str(o, "o"));
	assert_null(api_str(o, "a"));
	assert_null(api_str(o, "missing"));
	assert_null(api_str(NULL, "s"));

	assert_int_equal(api_bool(o, "t", 0), 1);
	assert_int_equal(api_bool(o, "t", 7), 1);
	assert_int_equal(api_bool(o, "f", 1), 0);
	assert_int_equal(api_bool(o, "missing", 1), 1);
	assert_int_equal(api_bool(o, "missing", 0), 0);
	assert_int_equal(api_bool(o, "n", 5), 5); /* a number is not a boolean */
	assert_int_equal(api_bool(o, "bs", 0), 0); /* nor is the string "true" */
	assert_int_equal(api_bool(o, "z", 1), 1);
	assert_int_equal(api_bool(NULL, "t", 3), 3);
	json_object_put(o);
}

/* --- engine_version_warning */

static void test_version_warning(void **state)
{
	static const char *const warn[] = {"28.0.1", "28.0.0", "28.3.3", "28.5.2", "28.0.0-rc.1"};
	static const char *const fine[] = {
		"20.10.24", "27.5.1", "27.0.0", "26.1.4", "24.0.7", "25.0.5", "2.8.0",
		"128.0.0", "18.09.9", "280.1.0", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(warn) / sizeof(warn[0]); i++) {
		const char *w = engine_version_warning(warn[i]);

		if (!w)
			fail_msg("no warning for Docker %s", warn[i]);
		assert_true(strlen(w) > 10);
		assert_true(strlen(w) < sizeof(((struct engine_info *)0)->warning));
		assert_non_null(strstr(w, "28"));
	}
	for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
		if (engine_version_warning(fine[i]))
			fail_msg("a warning for Docker '%s': %s", fine[i],
				 engine_version_warning(fine[i]));
	assert_null(engine_version_warning(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_name_every_byte),
		cmocka_unit_test(test_status_table),
		cmocka_unit_test(test_status_unknown),
		cmocka_unit_test(test_status_matches_openapi),
		cmocka_unit_test(test_json_members),
		cmocka_unit_test(test_version_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
