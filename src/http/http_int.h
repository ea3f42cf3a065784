/*
 * http_int.h - what the files of http/ share and nobody else sees.
 */
#ifndef CHECKPOINTD_HTTP_INT_H
#define CHECKPOINTD_HTTP_INT_H

#include "buf.h"
#include "http/http.h"

#include <microhttpd.h>
#include <stdatomic.h>

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 8
/* Bytes of an over-long body read and dropped before the connection is cut. */
#define HTTP_DISCARD_LIMIT (64u << 20)

struct http_server {
	struct MHD_Daemon *mhd;
	const struct http_route *routes;
	void *app;
	atomic_int active;      /* requests begun and not completed */
	atomic_int stopping;
	atomic_ullong errors_4xx;
	atomic_ullong errors_5xx;
	unsigned port;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;          /* MHD's, valid for the request */
	char *path;                  /* our copy */
	char *param_store;           /* copy of path cut into parameter values */
	const struct http_route *route;
	const char *param_name[HTTP_MAX_PARAMS];
	size_t param_name_len[HTTP_MAX_PARAMS];
	const char *param_value[HTTP_MAX_PARAMS];
	int nparams;
	struct buf body;
	int body_too_large;
	size_t discarded;            /* body bytes dropped past the cap */
	int replied;
	unsigned status;
	size_t reply_bytes;
	int64_t started_ms;
	char *hdr_name[HTTP_MAX_HEADERS];
	char *hdr_value[HTTP_MAX_HEADERS];
	int nhdr;
	http_resume_fn resume_fn;    /* set while suspended */
	void *resume_arg;
	atomic_int resumed;
};

/* Router (router.c).  Matches req->path against the routes for method:
 * sets req->route and the parameters and returns 0; returns 404 when no
 * pattern matches the path, 405 when patterns match but not the method
 * (then allow gets the allowed methods, comma-separated). */
int http_route_match(struct http_request *req, const char *method,
		     char *allow, size_t allowlen);

#endif
