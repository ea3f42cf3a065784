/*
 * reply.c - answers: headers, bodies, ETag/304 and the problem funnel.
 *
 * Every answer goes through queue(): it records the status for the log line,
 * applies the ETag rule to GET/HEAD 200s, and hands the bytes to
 * libmicrohttpd (which copies them).  Every error goes through
 * http_reply_problem(), which renders RFC 9457 problem+json and counts it.
 */
#include "http/http_int.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *reason(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return status >= 500 ? "Server Error" : "Client Error";
	}
}

void http_reply_header(struct http_request *req, const char *name, const char *value)
{
	if (req->nhdr >= HTTP_MAX_HEADERS)
		return;
	req->hdr_name[req->nhdr] = strdup(name);
	req->hdr_value[req->nhdr] = strdup(value);
	if (!req->hdr_name[req->nhdr] || !req->hdr_value[req->nhdr]) {
		free(req->hdr_name[req->nhdr]);
		free(req->hdr_value[req->nhdr]);
		return;
	}
	req->nhdr++;
}

/* FNV-1a over 64-bit words (then the tail bytes), mixed at the end: a
 * strong-enough validator for our own bodies, and eight times cheaper than
 * byte-wise FNV on the 15 KB list pages dashboards poll. */
static uint64_t fnv1a64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h ^= w;
		h *= 0x100000001b3ULL;
	}
	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Whether an If-None-Match header value names etag (or is "*").  Weak
 * validators (W/"...") compare by their opaque part, as RFC 9110 asks for
 * If-None-Match. */
static int etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm;

	while (*p) {
		const char *start;
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		start = p;
		while (*p && *p != ',')
			p++;
		n = (size_t)(p - start);
		while (n && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == elen && memcmp(start, etag, n) == 0)
			return 1;
	}
	return 0;
}

static void queue(struct http_request *req, unsigned status, const char *content_type,
		  const char *body, size_t len)
{
	struct MHD_Response *resp;
	char etag[24];
	int i, with_etag = 0;

	if (req->replied)
		return;
	req->replied = 1;
	if (status == 200 && (strcmp(req->method, "GET") == 0 ||
			      strcmp(req->method, "HEAD") == 0)) {
		const char *inm = http_request_header(req, "If-None-Match");

		snprintf(etag, sizeof(etag), "\"%016llx\"",
			 (unsigned long long)fnv1a64(body ? body : "", len));
		with_etag = 1;
		if (inm && etag_matches(inm, etag)) {
			status = 304;
			body = NULL;
			len = 0;
		}
	}
	resp = MHD_create_response_from_buffer(len, (void *)(body ? body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return; /* libmicrohttpd closes the connection */
	if (content_type && status != 304 && status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (with_etag)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	for (i = 0; i < req->nhdr; i++)
		MHD_add_response_header(resp, req->hdr_name[i], req->hdr_value[i]);
	req->status = status;
	req->reply_bytes = len;
	MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
}

void http_reply(struct http_request *req, unsigned status, const char *content_type,
		const char *body, size_t len)
{
	queue(req, status, content_type, body, len);
}

void http_reply_json(struct http_request *req, unsigned status, struct json_object *obj)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	queue(req, status, "application/json", s, len);
}

void http_reply_problem(struct http_request *req, const struct http_problem *p)
{
	struct json_object *o = json_object_new_object();
	char type[96];
	size_t len;
	const char *s;

	if (p->status >= 500)
		atomic_fetch_add(&req->srv->errors_5xx, 1);
	else
		atomic_fetch_add(&req->srv->errors_4xx, 1);
	if (!o) {
		queue(req, p->status, "text/plain", "out of memory\n", 14);
		return;
	}
	snprintf(type, sizeof(type), "urn:checkpointd:problem:%s", p->code);
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "title", json_object_new_string(reason(p->status)));
	json_object_object_add(o, "status", json_object_new_int((int)p->status));
	json_object_object_add(o, "detail",
			       json_object_new_string(p->detail ? p->detail : reason(p->status)));
	json_object_object_add(o, "code", json_object_new_string(p->code));
	if (p->hint)
		json_object_object_add(o, "hint", json_object_new_string(p->hint));
	if (p->field)
		json_object_object_add(o, "field", json_object_new_string(p->field));
	if (p->parameter)
		json_object_object_add(o, "parameter", json_object_new_string(p->parameter));
	if (p->id)
		json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "instance", json_object_new_string(req->path));
	if (p->extra) {
		json_object_object_foreach(p->extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	queue(req, p->status, "application/problem+json", s, len);
	json_object_put(o);
}

void http_reply_error(struct http_request *req, unsigned status, const char *code,
		      const char *fmt, ...)
{
	char detail[1024];
	struct http_problem p = {.status = status, .code = code, .detail = detail};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_reply_problem(req, &p);
}
