/*
 * http.h - the HTTP front of checkpointd: libmicrohttpd wiring, routing and
 * replies.  It knows nothing of engines, jobs or SQLite: it calls a handler
 * per route with a complete request (headers, query, path parameters and a
 * body of at most BUF_LIMIT_REQUEST_BODY bytes) and gives the handler ways to
 * answer.  Every handler must answer exactly once, either at once or, after
 * http_request_suspend(), later from its resume callback.
 *
 * Generic HTTP behaviour lives here so no handler has to remember it:
 *  - unknown path: 404; known path, other method: 405 with Allow;
 *  - routes that take a JSON body: 415 unless Content-Type is
 *    application/json, 413 as soon as the body passes 1 MiB (never buffered
 *    whole);
 *  - every 200 answer to GET/HEAD gets an ETag (a hash of the body) and a
 *    matching If-None-Match turns it into a 304 with no body;
 *  - every error leaves through http_reply_problem() (RFC 9457);
 *  - one log line per request when it completes.
 *
 * Threading: libmicrohttpd's internal thread pool with epoll; a handler runs
 * on one of its threads and must not block for long.  A handler that waits
 * for a long job suspends the request (no thread is held meanwhile).
 */
#ifndef CHECKPOINTD_HTTP_H
#define CHECKPOINTD_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct http_server;
struct http_request;

typedef void (*http_handler_fn)(struct http_request *req, void *app);

/* Route flags. */
#define HTTP_ROUTE_JSON_BODY 1 /* the route reads a JSON body */

struct http_route {
	const char *method;  /* "GET", "POST", "DELETE"; GET also serves HEAD */
	const char *pattern; /* "/checkpoints/{id}": {name} captures a segment */
	http_handler_fn fn;
	unsigned flags;
};

struct http_server_config {
	const char *listen;         /* "ADDR:PORT", "[v6]:PORT" */
	unsigned threads;           /* thread-pool size, >= 1 */
	const struct http_route *routes; /* ends with an entry whose method is NULL */
	void *app;                  /* passed to every handler, borrowed */
};

/* Starts serving.  On failure returns NULL and writes why into err. */
struct http_server *http_server_start(const struct http_server_config *cfg,
				      char *err, size_t errlen);

/* Stops accepting new connections (closes the listening socket); requests
 * in progress go on.  Idempotent. */
void http_server_stopping_begin(struct http_server *srv);

/* Stops accepting new connections and waits up to grace_ms for requests in
 * progress (also suspended ones) to complete, then stops and frees the
 * server.  NULL is fine. */
void http_server_stop(struct http_server *srv, int grace_ms);

/* Whether the server is stopping (handlers may refuse new work with 503). */
int http_server_stopping(const struct http_server *srv);

/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);

/* --- the request: everything is borrowed and lives until the request ends */

const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);
/* A path parameter captured by {name} in the route's pattern, or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);
/* A query parameter's value, or NULL when absent ("" when given bare). */
const char *http_request_query(const struct http_request *req, const char *name);
/* Calls fn for each query parameter; stops and returns the first non-zero. */
int http_request_query_each(struct http_request *req,
			    int (*fn)(void *arg, const char *key, const char *value),
			    void *arg);
/* A request header's value (case-insensitive name), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* The body (NUL-terminated; may contain other NULs: use *len). */
const char *http_request_body(const struct http_request *req, size_t *len);

/* --- answers */

/* Adds a header to the coming answer (copied).  At most 8 per answer. */
void http_reply_header(struct http_request *req, const char *name, const char *value);

/* Answers with status and body (copied); body may be NULL for none. */
void http_reply(struct http_request *req, unsigned status, const char *content_type,
		const char *body, size_t len);

/* Answers with a JSON value rendered compactly.  Does not take obj. */
void http_reply_json(struct http_request *req, unsigned status, struct json_object *obj);

/* An RFC 9457 problem.  code is the stable machine code; detail says what
 * happened in words; hint (optional) what to do; field/parameter/id
 * (optional) name the body field, query parameter or record concerned;
 * extra (optional, borrowed) adds members. */
struct http_problem {
	unsigned status;
	const char *code;
	const char *detail;
	const char *hint;
	const char *field;
	const char *parameter;
	const char *id;
	struct json_object *extra;
};

/* The one exit for every HTTP error. */
void http_reply_problem(struct http_request *req, const struct http_problem *p);

/* Shorthand: a problem with status, code and a printf-style detail. */
void http_reply_error(struct http_request *req, unsigned status, const char *code,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* How many problems were answered, per status class (4xx, 5xx). */
void http_server_error_counts(const struct http_server *srv, uint64_t *c4xx, uint64_t *c5xx);

/* --- waiting without holding a thread */

typedef void (*http_resume_fn)(struct http_request *req, void *arg);

/* Parks the request: the handler returns without answering, and after
 * http_request_resume() the server calls fn(req, arg) on one of its threads,
 * which must answer.  Call only from a handler. */
void http_request_suspend(struct http_request *req, http_resume_fn fn, void *arg);

/* Wakes a parked request; safe from any thread, exactly once per suspend. */
void http_request_resume(struct http_request *req);

#endif
