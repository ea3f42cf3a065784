/*
 * server.c - libmicrohttpd wiring: the per-request context, reading the
 * body within its cap, dispatch to the route's handler, suspend/resume, the
 * log line, and a graceful stop.
 *
 * libmicrohttpd calls on_access() several times per request: once with the
 * headers (we allocate the context and refuse what we can refuse early: an
 * unknown route, a wrong method, a wrong media type, a declared length over
 * the cap), once per piece of body (appended, or discarded once over the
 * cap), and once at the end (the handler runs).  A resumed request comes
 * back through on_access() too, and its resume callback answers.
 */
#include "http/http_int.h"
#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static void reply_too_large(struct http_request *req);

static void request_free(struct http_request *req)
{
	int i;

	if (!req)
		return;
	for (i = 0; i < req->nhdr; i++) {
		free(req->hdr_name[i]);
		free(req->hdr_value[i]);
	}
	buf_release(&req->body);
	free(req->path);
	free(req->param_store);
	free(req);
}

/* Whether the request declares a JSON body: "application/json", optionally
 * with parameters ("; charset=utf-8"). */
static int is_json_media_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* First call of a request: sets up the context and answers at once what
 * needs no body.  Returns the context, or NULL when out of memory. */
static struct http_request *request_begin(struct http_server *srv,
					  struct MHD_Connection *conn,
					  const char *url, const char *method)
{
	struct http_request *req = calloc(1, sizeof(*req));
	char allow[64];
	const char *cl;
	int rc;

	if (!req)
		return NULL;
	req->srv = srv;
	req->conn = conn;
	req->method = method;
	req->started_ms = clock_mono_ms();
	buf_init(&req->body, BUF_LIMIT_REQUEST_BODY);
	req->path = strdup(url);
	req->param_store = strdup(url);
	if (!req->path || !req->param_store) {
		request_free(req);
		return NULL;
	}
	atomic_fetch_add(&srv->active, 1);

	rc = http_route_match(req, method, allow, sizeof(allow));
	if (rc == 404) {
		http_reply_error(req, 404, "not_found", "no route for '%s'", req->path);
		return req;
	}
	if (rc == 405) {
		http_reply_header(req, "Allow", allow);
		http_reply_error(req, 405, "method_not_allowed",
				 "'%s' does not accept %s; it accepts %s",
				 req->path, method, allow);
		return req;
	}
	if (req->route->flags & HTTP_ROUTE_JSON_BODY) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     "Content-Type");

		if (!is_json_media_type(ct)) {
			struct http_problem p = {
				.status = 415, .code = "unsupported_media_type",
				.detail = "the body must be JSON",
				.hint = "send the header 'Content-Type: application/json'",
			};
			http_reply_problem(req, &p);
			return req;
		}
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	if (cl) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = strtoull(cl, &end, 10);
		if (errno || *end || n > BUF_LIMIT_REQUEST_BODY)
			req->body_too_large = 1;
	}
	if (req->body_too_large)
		reply_too_large(req);
	return req;
}

static void reply_too_large(struct http_request *req)
{
	struct http_problem p = {
		.status = 413, .code = "payload_too_large",
		.detail = "the body is larger than 1 MiB",
	};

	http_reply_problem(req, &p);
}

static void dispatch(struct http_request *req)
{
	if (req->resume_fn) {
		http_resume_fn fn = req->resume_fn;

		req->resume_fn = NULL;
		fn(req, req->resume_arg);
	} else {
		req->route->fn(req, req->srv->app);
	}
	if (!req->replied && !req->resume_fn)
		http_reply_error(req, 500, "internal_error",
				 "the handler of '%s' gave no answer", req->path);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	(void)version;
	if (!req) {
		req = request_begin(srv, conn, url, method);
		if (!req)
			return MHD_NO;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past the cap the body is counted and dropped, never kept; the
		 * 413 goes out once the client has finished sending (answering
		 * mid-stream would make the kernel reset the connection and lose
		 * the answer).  A client that goes on for far too long is cut. */
		if (req->body_too_large) {
			req->discarded += *upload_data_size;
			if (req->discarded > HTTP_DISCARD_LIMIT && !req->replied)
				reply_too_large(req);
		} else if (!req->replied &&
			   buf_add(&req->body, upload_data, *upload_data_size) != BUF_OK) {
			req->body_too_large = 1;
			req->discarded = req->body.len + *upload_data_size;
			buf_release(&req->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->body_too_large && !req->replied)
		reply_too_large(req);
	if (req->replied)
		return MHD_YES;
	if (req->resume_fn && !req->resumed)
		return MHD_YES; /* still parked */
	dispatch(req);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	(void)conn;
	if (!req)
		return;
	log_line("%s %s %u %lldms %zuB%s", req->method, req->path, req->status,
		 (long long)(clock_mono_ms() - req->started_ms), req->reply_bytes,
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	request_free(req);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->active, 1);
}

/* Parses "A.B.C.D:PORT" or "[v6]:PORT" into storage. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss,
			int *is_v6, char *err, size_t errlen)
{
	char host[64];
	const char *colon, *h = listen;
	size_t hlen;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (*h == '[') {
		const char *close = strchr(h, ']');

		if (!close || close[1] != ':')
			goto bad;
		h++;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			goto bad;
		hlen = (size_t)(colon - h);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || colon[1] == '\0' || port < 0 || port > 65535)
		goto bad;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			*is_v6 = 0;
			return 0;
		}
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			*is_v6 = 1;
			return 0;
		}
	}
bad:
	snprintf(err, errlen, "bad listen address '%s' (want ADDR:PORT, e.g. 127.0.0.1:8780)",
		 listen);
	return -1;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_line("http: %s", msg);
}

struct http_server *http_server_start(const struct http_server_config *cfg,
				      char *err, size_t errlen)
{
	struct http_server *srv;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags;
	int v6;

	if (parse_listen(cfg->listen, &ss, &v6, err, errlen))
		return NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->routes = cfg->routes;
	srv->app = cfg->app;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_access, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 1),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(err, errlen, "cannot listen on '%s': %s", cfg->listen,
			 errno ? strerror(errno) : "libmicrohttpd refused");
		free(srv);
		return NULL;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : 0;
	return srv;
}

void http_server_stopping_begin(struct http_server *srv)
{
	MHD_socket fd;

	if (atomic_exchange(&srv->stopping, 1))
		return;
	fd = MHD_quiesce_daemon(srv->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

void http_server_stop(struct http_server *srv, int grace_ms)
{
	int64_t deadline;

	if (!srv)
		return;
	http_server_stopping_begin(srv);
	deadline = clock_mono_ms() + grace_ms;
	while (atomic_load(&srv->active) > 0 && clock_mono_ms() < deadline) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&srv->active) > 0)
		log_line("http: stopping with %d request(s) unfinished",
			 atomic_load(&srv->active));
	MHD_stop_daemon(srv->mhd);
	free(srv);
}

int http_server_stopping(const struct http_server *srv)
{
	return atomic_load(&srv->stopping);
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void http_server_error_counts(const struct http_server *srv, uint64_t *c4xx, uint64_t *c5xx)
{
	*c4xx = atomic_load(&srv->errors_4xx);
	*c5xx = atomic_load(&srv->errors_5xx);
}

/* --- request accessors */

const char *http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *http_request_path(const struct http_request *req)
{
	return req->path;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	int i;

	for (i = 0; i < req->nparams; i++)
		if (strlen(name) == req->param_name_len[i] &&
		    strncmp(req->param_name[i], name, req->param_name_len[i]) == 0)
			return req->param_value[i];
	return NULL;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);

	if (v)
		return v;
	/* a bare "?name" has no value but is present */
	return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name,
					     strlen(name), NULL, NULL) == MHD_YES ? "" : NULL;
}

struct query_iter {
	int (*fn)(void *arg, const char *key, const char *value);
	void *arg;
	int rc;
};

static enum MHD_Result query_iter_cb(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	struct query_iter *it = cls;

	(void)kind;
	it->rc = it->fn(it->arg, key, value ? value : "");
	return it->rc ? MHD_NO : MHD_YES;
}

int http_request_query_each(struct http_request *req,
			    int (*fn)(void *arg, const char *key, const char *value),
			    void *arg)
{
	struct query_iter it = {fn, arg, 0};

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_iter_cb, &it);
	return it.rc;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return buf_str(&req->body);
}

/* --- suspend / resume */

void http_request_suspend(struct http_request *req, http_resume_fn fn, void *arg)
{
	req->resume_fn = fn;
	req->resume_arg = arg;
	req->resumed = 0;
	MHD_suspend_connection(req->conn);
}

void http_request_resume(struct http_request *req)
{
	req->resumed = 1;
	MHD_resume_connection(req->conn);
}
