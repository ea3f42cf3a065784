/*
 * api_int.h - what the handlers share: strict reading of JSON bodies and
 * query parameters, and the mapping from job error codes to HTTP.
 */
#ifndef CHECKPOINTD_API_INT_H
#define CHECKPOINTD_API_INT_H

#include "api/api.h"
#include "http/http.h"
#include "jobs/jobs.h"

#include <json-c/json.h>
#include <stdint.h>

struct store_checkpoint;

/* A field a JSON body may hold. */
enum api_field_type { API_STRING, API_BOOL, API_OBJECT, API_ARRAY };

struct api_field {
	const char *name;
	enum api_field_type type;
	int required;
	size_t min_len, max_len;            /* strings */
	int (*valid)(const char *s);        /* strings: extra rule, or NULL */
	const char *rule;                   /* words for the rule, for errors */
};

/* Parses the request's body as a JSON object whose members are all among
 * fields, with the right types and lengths; *out gets the object (the
 * caller puts it).  On a bad body answers the 400 and returns -1. */
int api_read_body(struct http_request *req, const struct api_field *fields, size_t nfields,
		  struct json_object **out);

/* 1 when v is a string of min to max bytes with no NUL inside. */
int api_plain_string(struct json_object *v, size_t min, size_t max);

/* An exec array (1 to 64 strings of 1 to 4096 characters) named field;
 * answers the 400 and returns -1 when it is not one. */
int api_check_argv(struct http_request *req, struct json_object *argv, const char *field);

/* A list of hooks named field: at most 16 objects {"exec": argv,
 * "timeout_s": 1..3600}; answers the 400 and returns -1 otherwise. */
int api_check_hooks(struct http_request *req, struct json_object *hooks, const char *field);

/* A string member of obj, or NULL (borrowed). */
const char *api_str(struct json_object *obj, const char *key);
/* A boolean member of obj, or def. */
int api_bool(struct json_object *obj, const char *key, int def);

/* Answers 400 when a query parameter is not among allowed (NULL-ended). */
int api_check_query(struct http_request *req, const char *const *allowed);

/* Reads an optional boolean query parameter ("true"/"false"/"1"/"0");
 * answers the 400 and returns -1 when malformed. */
int api_query_bool(struct http_request *req, const char *name, int *out);

/* Answers the problem for a failed jobs call. */
void api_reply_jobs_error(struct http_request *req, const struct jobs_error *err,
			  const char *id);

/* The HTTP status for a stable error code. */
unsigned api_status_for_code(const char *code);

/* Docker's rule for checkpoint names: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
int api_valid_docker_name(const char *s);

/* An engine name: Docker's rule, or a single letter or digit. */
int api_valid_engine_name(const char *s);

/* JSON values of record fields (new references; NULL is JSON null): a
 * string, null when empty; an integer, null when STORE_UNSET; a time in
 * ms as RFC 3339. */
struct json_object *api_json_str(const char *s);
struct json_object *api_json_int(int64_t v);
struct json_object *api_json_time(int64_t ms);

/* The JSON text a record keeps (e.g. CRIU's statistics) as an object, or
 * NULL (JSON null) when there is none or it does not parse. */
struct json_object *api_json_stored(const char *text);

/* Renders a checkpoint record (the same shape everywhere) from the
 * record alone; api_checkpoint_complete() adds what needs the store or the
 * jobs.  New reference. */
struct store;
struct json_object *api_checkpoint_json(const struct store_checkpoint *ck);

/* The "error" member of a record: null unless failed; {code, message} plus
 * hint, criu_line and log_tail when a diagnosis was kept.  New reference. */
struct json_object *api_error_json(struct store *st, const char *id, int failed,
				   const char *code, const char *message);

/* Adds the diagnosis kept for record id (if any) to an error object. */
void api_error_add_diagnosis(struct json_object *err, struct store *st, const char *id);

/* A list answer being built.  Store listings must not call back into the
 * store from their callbacks, so records are rendered without their
 * diagnoses first (st NULL) and api_list_finish() adds them after. */
struct api_list {
	struct json_object *items;   /* the answer's array */
	int (*complete)(struct json_object *record, struct api *api);
	int live;                    /* a record shows a running job: do not cache */
};
void api_list_init(struct api_list *l, int (*complete)(struct json_object *, struct api *));
void api_list_add(struct api_list *l, struct json_object *record);
void api_list_finish(struct api_list *l, struct api *api);

/* Fill in what a rendered record needs the store or the running jobs for:
 * a failed one's diagnosis, a checkpoint's copies, a transfer's progress.
 * Return 1 when the record shows a running job (its answer changes without
 * the store changing), else 0. */
int api_checkpoint_complete(struct json_object *record, struct api *api);
int api_restore_complete(struct json_object *record, struct api *api);

/* GET list answers through the cache (cache.h): answers from it when
 * possible (returns 1), else returns 0 and fills key and *gen for
 * api_list_reply(). */
int api_list_cached(struct http_request *req, struct api *api, const char *kind,
		    char *key, size_t keylen, uint64_t *gen);
/* Answers the finished list {items, next_cursor} and keeps it for key. */
void api_list_reply(struct http_request *req, struct api *api, struct api_list *l,
		    int64_t next, const char *key, uint64_t gen);

/* {phase, bytes_done, bytes_total} of job id while it moves bytes, else
 * NULL.  New reference. */
struct json_object *api_progress_json(struct api *api, const char *job_id);

/* Answers a failed job's record as a problem (?wait=true), carrying the
 * record's id and its diagnosis. */
void api_reply_failed_record(struct http_request *req, struct store *st, const char *id,
			     const char *code, const char *what, const char *message);

/* GET /{checkpoints,restores}/{id}/log: the whole CRIU log as text. */
void api_reply_log(struct http_request *req, struct store *st, const char *id);

/* Whether id is prefix + 16 lower-case hex digits (a record id). */
int api_valid_record_id(const char *id, const char *prefix);

/* Answers ?wait=true: parks the request until the job of record id ends,
 * then calls reply(req, api, id) on a server thread. */
typedef void (*api_reply_fn)(struct http_request *req, struct api *api, const char *id);
void api_wait_for_job(struct http_request *req, struct api *api, const char *id,
		      api_reply_fn reply);

/* Parses the list parameters common to /checkpoints and /restores (limit,
 * cursor, status, container, engine, updated_since) into the out fields;
 * answers the 400 and returns -1 on a bad one. */
struct api_list_params {
	int limit;
	int64_t cursor;
	int status;
	const char *container;
	const char *engine;
	int64_t updated_since;
};
int api_list_params(struct http_request *req, struct api_list_params *lp);

/* Renders a restore record from the record alone (then
 * api_restore_complete()).  New reference. */
struct store_restore;
struct json_object *api_restore_json(const struct store_restore *rs);

/* Handlers. */
void api_health(struct http_request *req, void *app);
void api_profiles(struct http_request *req, void *app);
void api_engines_list(struct http_request *req, void *app);
void api_engines_get(struct http_request *req, void *app);
void api_engines_create(struct http_request *req, void *app);
void api_engines_delete(struct http_request *req, void *app);
void api_openapi(struct http_request *req, void *app);
void api_checkpoints_create(struct http_request *req, void *app);
void api_checkpoints_list(struct http_request *req, void *app);
void api_checkpoints_get(struct http_request *req, void *app);
void api_checkpoints_delete(struct http_request *req, void *app);
void api_restores_create(struct http_request *req, void *app);
void api_restores_list(struct http_request *req, void *app);
void api_restores_get(struct http_request *req, void *app);
void api_restores_delete(struct http_request *req, void *app);
void api_checkpoints_log(struct http_request *req, void *app);
void api_checkpoints_copy(struct http_request *req, void *app);
void api_restores_log(struct http_request *req, void *app);

#endif
