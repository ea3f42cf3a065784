/*
 * test_http.c - unit tests of the router (src/http/router.c):
 * http_route_match() on hand-built requests, no sockets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api/api.h"
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

static void h_dummy(struct http_request *req, void *app)
{
	(void)req;
	(void)app;
}

/* The API's shape plus patterns with several captures and a literal
 * after a capture. */
enum {
	R_HEALTH,
	R_CK_LIST,
	R_CK_CREATE,
	R_CK_GET,
	R_CK_DELETE,
	R_CK_RESTORE,
	R_CONTAINER,
	R_FOUR,
	R_POST_ONLY,
	R_ROOT,
};

static const struct http_route routes[] = {
	[R_HEALTH] = {"GET", "/health", h_dummy, 0},
	[R_CK_LIST] = {"GET", "/checkpoints", h_dummy, 0},
	[R_CK_CREATE] = {"POST", "/checkpoints", h_dummy, HTTP_ROUTE_JSON_BODY},
	[R_CK_GET] = {"GET", "/checkpoints/{id}", h_dummy, 0},
	[R_CK_DELETE] = {"DELETE", "/checkpoints/{id}", h_dummy, 0},
	[R_CK_RESTORE] = {"POST", "/checkpoints/{id}/restore", h_dummy, HTTP_ROUTE_JSON_BODY},
	[R_CONTAINER] = {"GET", "/engines/{engine}/containers/{container}", h_dummy, 0},
	[R_FOUR] = {"GET", "/x/{a}/{b}/{c}/{d}", h_dummy, 0},
	[R_POST_ONLY] = {"POST", "/only-post", h_dummy, 0},
	[R_ROOT] = {"GET", "/", h_dummy, 0},
	{NULL, NULL, NULL, 0},
};

struct fixture {
	struct http_server srv;
	struct http_request *req;
	char allow[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->srv.routes = routes;
	*state = f;
	return 0;
}

static void free_req(struct fixture *f)
{
	if (f->req) {
		free(f->req->path);
		free(f->req->param_store);
		free(f->req);
		f->req = NULL;
	}
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free_req(f);
	free(f);
	return 0;
}

/* Builds a request for path as the server does and routes it. */
static int route(struct fixture *f, const char *method, const char *path)
{
	struct http_request *req;

	free_req(f);
	req = calloc(1, sizeof(*req));
	assert_non_null(req);
	req->srv = &f->srv;
	req->method = method;
	req->path = strdup(path);
	req->param_store = strdup(path);
	assert_non_null(req->path);
	assert_non_null(req->param_store);
	f->req = req;
	memset(f->allow, 'X', sizeof(f->allow));
	return http_route_match(req, method, f->allow, sizeof(f->allow));
}

static void assert_routed(struct fixture *f, const char *method, const char *path, int which)
{
	int rc = route(f, method, path);

	if (rc != 0)
		fail_msg("%s %s: %d, expected route %d", method, path, rc, which);
	assert_ptr_equal(f->req->route, &routes[which]);
	assert_string_equal(f->allow, "");
	/* the path the handlers see is untouched by the captures */
	assert_string_equal(http_request_path(f->req), path);
}

static void assert_404(struct fixture *f, const char *method, const char *path)
{
	int rc = route(f, method, path);

	if (rc != 404)
		fail_msg("%s '%s': %d, expected 404", method, path, rc);
	assert_null(f->req->route);
	assert_int_equal(f->req->nparams, 0);
	assert_string_equal(f->allow, "");
}

static void assert_405(struct fixture *f, const char *method, const char *path,
		       const char *allow)
{
	int rc = route(f, method, path);

	if (rc != 405)
		fail_msg("%s '%s': %d, expected 405", method, path, rc);
	assert_null(f->req->route);
	assert_string_equal(f->allow, allow);
}

/* --- matches */

static void test_exact(void **state)
{
	struct fixture *f = *state;

	assert_routed(f, "GET", "/health", R_HEALTH);
	assert_int_equal(f->req->nparams, 0);
	assert_routed(f, "GET", "/checkpoints", R_CK_LIST);
	assert_routed(f, "POST", "/checkpoints", R_CK_CREATE);
	assert_routed(f, "POST", "/only-post", R_POST_ONLY);
	assert_routed(f, "GET", "/", R_ROOT);
}

static void test_capture(void **state)
{
	struct fixture *f = *state;

	assert_routed(f, "GET", "/checkpoints/ck_0123abc", R_CK_GET);
	assert_int_equal(f->req->nparams, 1);
	assert_string_equal(http_request_param(f->req, "id"), "ck_0123abc");
	assert_null(http_request_param(f->req, "i"));
	assert_null(http_request_param(f->req, "idx"));
	assert_null(http_request_param(f->req, "name"));

	assert_routed(f, "DELETE", "/checkpoints/x", R_CK_DELETE);
	assert_string_equal(http_request_param(f->req, "id"), "x");

	/* whatever a segment holds, undecoded */
	assert_routed(f, "GET", "/checkpoints/a.b-c_d%20e{}", R_CK_GET);
	assert_string_equal(http_request_param(f->req, "id"), "a.b-c_d%20e{}");
}

/* A literal after a capture, and several captures. */
static void test_captures_in_the_middle(void **state)
{
	struct fixture *f = *state;

	assert_routed(f, "POST", "/checkpoints/ck_1/restore", R_CK_RESTORE);
	assert_int_equal(f->req->nparams, 1);
	assert_string_equal(http_request_param(f->req, "id"), "ck_1");

	assert_routed(f, "GET", "/engines/local/containers/web-1", R_CONTAINER);
	assert_int_equal(f->req->nparams, 2);
	assert_string_equal(http_request_param(f->req, "engine"), "local");
	assert_string_equal(http_request_param(f->req, "container"), "web-1");
	assert_null(http_request_param(f->req, "engines"));
	assert_null(http_request_param(f->req, "contain"));

	assert_routed(f, "GET", "/x/1/22/333/4444", R_FOUR);
	assert_int_equal(f->req->nparams, HTTP_MAX_PARAMS);
	assert_string_equal(http_request_param(f->req, "a"), "1");
	assert_string_equal(http_request_param(f->req, "b"), "22");
	assert_string_equal(http_request_param(f->req, "c"), "333");
	assert_string_equal(http_request_param(f->req, "d"), "4444");
}

static void test_head_is_get(void **state)
{
	struct fixture *f = *state;

	assert_routed(f, "HEAD", "/health", R_HEALTH);
	assert_routed(f, "HEAD", "/checkpoints", R_CK_LIST);
	assert_routed(f, "HEAD", "/checkpoints/abc", R_CK_GET);
	assert_string_equal(http_request_param(f->req, "id"), "abc");
	/* HEAD does not reach a POST-only route */
	assert_405(f, "HEAD", "/only-post", "POST");
}

/* --- misses */

static void test_unknown_paths(void **state)
{
	static const char *const paths[] = {
		"",
		"/nope",
		"/healthz",
		"/healt",
		"/Health",
		"/HEALTH",
		"health",
		"//health",
		"/checkpointsX",
		"/check",
		"/engines/local/containers",
		"/engines/local",
		"/x/1/2/3",
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_404(f, "GET", paths[i]);
		assert_404(f, "POST", paths[i]);
	}
}

static void test_trailing_slash(void **state)
{
	struct fixture *f = *state;

	assert_404(f, "GET", "/health/");
	assert_404(f, "GET", "/checkpoints/abc/");
	assert_404(f, "POST", "/checkpoints/abc/restore/");
	/* "/checkpoints/" is neither the list nor an empty id */
	assert_404(f, "GET", "/checkpoints/");
	assert_404(f, "POST", "/checkpoints/");
	assert_404(f, "DELETE", "/checkpoints/");
}

static void test_extra_segments(void **state)
{
	struct fixture *f = *state;

	assert_404(f, "GET", "/health/more");
	assert_404(f, "GET", "/checkpoints/abc/def");
	assert_404(f, "DELETE", "/checkpoints/abc/def");
	assert_404(f, "POST", "/checkpoints/abc/restore/now");
	assert_404(f, "GET", "/engines/local/containers/web/logs");
	assert_404(f, "GET", "/x/1/2/3/4/5");
}

/* An empty segment is never captured. */
static void test_empty_segment(void **state)
{
	struct fixture *f = *state;

	assert_404(f, "GET", "/checkpoints//restore");
	assert_404(f, "POST", "/checkpoints//restore");
	assert_404(f, "GET", "/engines//containers/web");
	assert_404(f, "GET", "/engines/local/containers/");
	assert_404(f, "GET", "/x/1//3/4");
	assert_404(f, "GET", "/x////");
}

/* --- wrong methods */

static void test_405_allow(void **state)
{
	struct fixture *f = *state;

	assert_405(f, "PUT", "/checkpoints", "GET, HEAD, POST");
	assert_405(f, "DELETE", "/checkpoints", "GET, HEAD, POST");
	assert_405(f, "PATCH", "/checkpoints/abc", "GET, HEAD, DELETE");
	assert_405(f, "POST", "/checkpoints/abc", "GET, HEAD, DELETE");
	assert_405(f, "POST", "/health", "GET, HEAD");
	assert_405(f, "DELETE", "/health", "GET, HEAD");
	assert_405(f, "GET", "/checkpoints/abc/restore", "POST");
	assert_405(f, "GET", "/only-post", "POST");
	assert_405(f, "OPTIONS", "/", "GET, HEAD");
	/* methods are case-sensitive (RFC 9110 section 9.1) */
	assert_405(f, "get", "/health", "GET, HEAD");
}

/* A short Allow buffer is cut, never overrun (ASan watches). */
static void test_405_short_allow_buffer(void **state)
{
	struct fixture *f = *state;
	char allow[9];
	int rc;

	route(f, "PUT", "/checkpoints"); /* builds f->req */
	memset(allow, 'X', sizeof(allow));
	f->req->route = NULL;
	rc = http_route_match(f->req, "PUT", allow, sizeof(allow));
	assert_int_equal(rc, 405);
	assert_string_equal(allow, "GET, HEA");
}

/* --- the service's own table */

static void test_api_routes(void **state)
{
	struct fixture *f = *state;
	const struct http_route *r;

	f->srv.routes = api_routes();
	assert_int_equal(route(f, "GET", "/health"), 0);
	assert_string_equal(f->req->route->pattern, "/health");
	assert_int_equal(route(f, "HEAD", "/openapi.json"), 0);
	assert_string_equal(f->req->route->pattern, "/openapi.json");
	assert_int_equal(route(f, "GET", "/engines"), 0);
	assert_int_equal(route(f, "POST", "/checkpoints"), 0);
	r = f->req->route;
	assert_string_equal(r->method, "POST");
	assert_true(r->flags & HTTP_ROUTE_JSON_BODY);
	assert_int_equal(route(f, "GET", "/checkpoints"), 0);
	assert_false(f->req->route->flags & HTTP_ROUTE_JSON_BODY);
	assert_int_equal(route(f, "DELETE", "/checkpoints/ck_1"), 0);
	assert_string_equal(f->req->route->method, "DELETE");
	assert_string_equal(http_request_param(f->req, "id"), "ck_1");
	assert_int_equal(route(f, "GET", "/checkpoints/ck_2"), 0);
	assert_string_equal(f->req->route->method, "GET");
	assert_string_equal(http_request_param(f->req, "id"), "ck_2");

	assert_int_equal(route(f, "PUT", "/checkpoints"), 405);
	assert_string_equal(f->allow, "GET, HEAD, POST");
	assert_int_equal(route(f, "POST", "/checkpoints/ck_1"), 405);
	assert_string_equal(f->allow, "GET, HEAD, DELETE");
	assert_int_equal(route(f, "POST", "/health"), 405);
	assert_string_equal(f->allow, "GET, HEAD");
	assert_int_equal(route(f, "GET", "/checkpoints/"), 404);
	assert_int_equal(route(f, "GET", "/checkpoints/ck_1/x"), 404);
	assert_int_equal(route(f, "GET", "/"), 404);
	f->srv.routes = routes;
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_exact),
		T(test_capture),
		T(test_captures_in_the_middle),
		T(test_head_is_get),
		T(test_unknown_paths),
		T(test_trailing_slash),
		T(test_extra_segments),
		T(test_empty_segment),
		T(test_405_allow),
		T(test_405_short_allow_buffer),
		T(test_api_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
