/*
 * engine_int.h - what the engine clients share inside src/engine/ (the
 * Docker client in docker.c, Podman's libpod calls in podman.c): the engine
 * itself and the one request function.  Not for use outside src/engine/.
 */
#ifndef CHECKPOINTD_ENGINE_INT_H
#define CHECKPOINTD_ENGINE_INT_H

#include "buf.h"
#include "engine/engine.h"

#include <curl/curl.h>
#include <pthread.h>

#define POOL_MAX 8

struct engine {
	char name[64];
	char url[512];          /* as given, "podman+" included */
	enum engine_kind kind;
	char base[512];         /* "http://host:port" or "https://host:port" */
	char unix_path[256];    /* "" unless a unix socket */
	int tls;                /* 1: https, peer and host verified */
	char tls_dir[512];      /* "" or the folder of the three below */
	char ca[600];           /* tls_dir/ca.pem: the only CA trusted */
	char cert[600];         /* tls_dir/cert.pem: our client certificate */
	char key[600];          /* tls_dir/key.pem */
	pthread_mutex_t lock;   /* guards pool and info */
	CURL *pool[POOL_MAX];
	int npool;
	struct engine_info info;
};

struct call {
	const char *method;
	const char *path;       /* escaped, starting with '/' */
	const char *body;       /* JSON (or body_type), or NULL */
	size_t body_len;        /* 0: strlen(body) */
	const char *body_type;  /* NULL: application/json */
	curl_read_callback upload_fn; /* a streamed body (chunked), instead of body */
	void *upload_arg;
	long timeout_ms;        /* 0: none (streams: a low-speed limit instead) */
	engine_stream_fn stream;/* 2xx bodies go here when set */
	void *arg;
	/* results */
	CURL *h;
	struct buf reply;       /* non-stream bodies and every error body */
	int aborted;
};

/* Runs c on e: the one place a request is made.  2xx bodies go to
 * c->stream (when set) or c->reply; error bodies become err's message.
 * The caller releases c->reply. */
enum engine_result engine_call_run(struct engine *e, struct call *c, struct engine_error *err);

/* A call whose 2xx body is JSON: *out (optional) gets it parsed. */
enum engine_result engine_call_json(struct engine *e, const char *method, const char *path,
				    const char *body, long timeout_ms,
				    struct json_object **out, struct engine_error *err);

/* Escapes s for use in a URL (path segment or query value) into out. */
void engine_esc(const char *s, char *out, size_t outlen);

/* o[key] when it is a string, else NULL (borrowed from o). */
const char *engine_jstr(struct json_object *o, const char *key);

#endif
