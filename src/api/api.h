/*
 * api.h - the HTTP handlers: each parses its request, calls one function of
 * jobs/ or store/, and renders the answer.  No engine logic lives here.
 */
#ifndef CHECKPOINTD_API_H
#define CHECKPOINTD_API_H

struct http_route;
struct http_server;
struct jobs;

/* What every handler is given (the http layer's "app" pointer). */
struct api_cache;

struct api {
	struct jobs *jobs;          /* borrowed */
	struct http_server *server; /* borrowed; set once the server runs */
	struct api_cache *lists;    /* owned by main: api_cache_new()/_free() */
};

/* The route table, ending with an entry whose method is NULL. */
const struct http_route *api_routes(void);

#endif
