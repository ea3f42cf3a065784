/*
 * docker.c - the Docker Engine API over libcurl (see engine.h).
 *
 * Paths are unversioned: Docker serves them at its own API version, which
 * keeps one code path for 20.10 and later.  Each engine keeps a small pool of
 * easy handles so calls reuse open connections instead of paying a TCP
 * handshake each time.  JSON replies are read into a bounded buffer; archive
 * streams go straight to the caller's callback, never whole into memory.
 */
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "buf.h"
#include "clock.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* Sets path to dir/file when that file can be read; else a reason in err. */
static int tls_file(const char *name, const char *dir, const char *file, char *path,
		    size_t pathlen, char *err, size_t errlen)
{
	FILE *f;

	snprintf(path, pathlen, "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "engine '%s': cannot read the TLS file '%s': %s", name, path,
			 strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

struct engine *engine_new(const char *name, const char *url, const char *tls_dir, char *err,
			  size_t errlen)
{
	struct engine *e;
	const char *rest;
	size_t n;

	if (tls_dir && !*tls_dir)
		tls_dir = NULL;
	if (strlen(name) >= sizeof(e->name) || strlen(url) >= 256 ||
	    (tls_dir && strlen(tls_dir) >= 400)) {
		snprintf(err, errlen, "engine name, URL or TLS folder too long");
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->url, sizeof(e->url), "%s", url);
	if (strncmp(url, "podman+", 7) == 0) {
		e->kind = ENGINE_PODMAN;
		url += 7;
	}
	if (strncmp(url, "tcp://", 6) == 0 || strncmp(url, "http://", 7) == 0 ||
	    strncmp(url, "https://", 8) == 0) {
		rest = strstr(url, "://") + 3;
		if (!*rest || strchr(rest, '/') || !strchr(rest, ':'))
			goto bad;
		if (url[0] == 'h' && url[4] == ':' && tls_dir) {
			snprintf(err, errlen,
				 "engine '%s': '%s' is plain HTTP but a TLS folder is given: use "
				 "https:// or tcp://", name, url);
			free(e);
			return NULL;
		}
		e->tls = tls_dir || url[4] == 's';
		snprintf(e->base, sizeof(e->base), "%s://%s", e->tls ? "https" : "http", rest);
	} else if (strncmp(url, "unix://", 7) == 0 && url[7] == '/') {
		if (tls_dir) {
			snprintf(err, errlen, "engine '%s': TLS is for tcp:// engines, not '%s'",
				 name, url);
			free(e);
			return NULL;
		}
		snprintf(e->unix_path, sizeof(e->unix_path), "%s", url + 7);
		snprintf(e->base, sizeof(e->base), "http://localhost");
	} else {
		goto bad;
	}
	if (tls_dir) {
		snprintf(e->tls_dir, sizeof(e->tls_dir), "%s", tls_dir);
		n = strlen(e->tls_dir);
		while (n > 1 && e->tls_dir[n - 1] == '/')
			e->tls_dir[--n] = '\0';
		if (tls_file(name, e->tls_dir, "ca.pem", e->ca, sizeof(e->ca), err, errlen) ||
		    tls_file(name, e->tls_dir, "cert.pem", e->cert, sizeof(e->cert), err, errlen) ||
		    tls_file(name, e->tls_dir, "key.pem", e->key, sizeof(e->key), err, errlen)) {
			free(e);
			return NULL;
		}
	}
	pthread_mutex_init(&e->lock, NULL);
	e->info.experimental = -1;
	snprintf(e->info.error, sizeof(e->info.error), "not probed yet");
	return e;
bad:
	snprintf(err, errlen,
		 "engine URL '%s' is not tcp://HOST:PORT, http://HOST:PORT, https://HOST:PORT "
		 "or unix:///PATH (with podman+ in front for a Podman engine)", e->url);
	free(e);
	return NULL;
}

void engine_free(struct engine *e)
{
	int i;

	if (!e)
		return;
	for (i = 0; i < e->npool; i++)
		curl_easy_cleanup(e->pool[i]);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

const char *engine_name(const struct engine *e)
{
	return e->name;
}

const char *engine_url(const struct engine *e)
{
	return e->url;
}

enum engine_kind engine_kind(const struct engine *e)
{
	return e->kind;
}

const char *engine_kind_name(enum engine_kind k)
{
	return k == ENGINE_PODMAN ? "podman" : "docker";
}

int engine_tls(const struct engine *e)
{
	return e->tls;
}

const char *engine_tls_dir(const struct engine *e)
{
	return e->tls_dir[0] ? e->tls_dir : NULL;
}

const char *engine_result_name(enum engine_result r)
{
	switch (r) {
	case ENGINE_OK: return "ok";
	case ENGINE_NOT_FOUND: return "not found";
	case ENGINE_CONFLICT: return "conflict";
	case ENGINE_REFUSED: return "refused";
	case ENGINE_NOT_SUPPORTED: return "not supported";
	case ENGINE_FAILED: return "engine failed";
	case ENGINE_UNREACHABLE: return "engine unreachable";
	case ENGINE_BAD_REPLY: return "unreadable engine reply";
	case ENGINE_ABORTED: return "aborted";
	}
	return "?";
}

/* --- the one request function */

static CURL *handle_take(struct engine *e)
{
	CURL *h = NULL;

	pthread_mutex_lock(&e->lock);
	if (e->npool)
		h = e->pool[--e->npool];
	pthread_mutex_unlock(&e->lock);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

static void handle_give(struct engine *e, CURL *h)
{
	pthread_mutex_lock(&e->lock);
	if (e->npool < POOL_MAX) {
		e->pool[e->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&e->lock);
	if (h)
		curl_easy_cleanup(h);
}


static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
	struct call *c = userp;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (c->stream && status >= 200 && status < 300) {
		if (c->stream(c->arg, data, len)) {
			c->aborted = 1;
			return 0;
		}
		return len;
	}
	if (buf_add(&c->reply, data, len) != BUF_OK)
		return 0;
	return len;
}

/* The message in a Docker error body {"message": "..."}, else the body. */
static void error_from_reply(const struct buf *reply, long status, struct engine_error *err)
{
	struct json_object *o = json_tokener_parse(buf_str(reply));
	struct json_object *m;

	err->http_status = status;
	if (o && json_object_object_get_ex(o, "message", &m))
		snprintf(err->message, sizeof(err->message), "%s", json_object_get_string(m));
	else if (reply->len)
		snprintf(err->message, sizeof(err->message), "%s", buf_str(reply));
	else
		snprintf(err->message, sizeof(err->message), "the engine answered %ld", status);
	json_object_put(o);
}

/* 1 when h's connection was opened for this call, completed its TLS
 * handshake and broke within a second of it before any answer: with TLS 1.3
 * the engine checks our client certificate only after the handshake, and its
 * refusal often reaches us as a reset connection, not as its alert. */
static int tls_dropped_after_handshake(CURL *h)
{
	curl_off_t app = 0, total = 0;
	long connects = 0, header_bytes = 0;

	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(h, CURLINFO_HEADER_SIZE, &header_bytes);
	curl_easy_getinfo(h, CURLINFO_APPCONNECT_TIME_T, &app);
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total);
	return connects > 0 && header_bytes == 0 && app > 0 && total - app < 1000000;
}

/* Explains a TLS failure of a call on h as "TLS: URL: what failed (curl's
 * words)" in msg; 0 when cc is not about TLS.  detail is libcurl's error
 * buffer.  Users see this text in GET /engines and in 502s, so it names the
 * file or the setting to fix. */
static int tls_failure(const struct engine *e, CURL *h, CURLcode cc, const char *detail,
		       char *msg, size_t msglen)
{
	char what[1400];
	int alert = strstr(detail, "alert") != NULL;
	int cert_alert = alert && (strstr(detail, "certificate") || strstr(detail, "unknown ca"));
	int not_tls = strstr(detail, "wrong version number") ||
		      strstr(detail, "packet length too long");

	if (!e->tls)
		return 0;
	if (!alert && (cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR) &&
	    tls_dropped_after_handshake(h)) {
		alert = cert_alert = 1;
		detail = "the connection was reset after the handshake";
	}
	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		if (strstr(detail, "subject name") || strstr(detail, "host name"))
			snprintf(what, sizeof(what),
				 "the engine's certificate is not made out to the host in the URL");
		else if (strstr(detail, "expired") || strstr(detail, "not yet valid"))
			snprintf(what, sizeof(what), "the engine's certificate is out of its dates");
		else if (e->tls_dir[0])
			snprintf(what, sizeof(what), "the engine's certificate is not signed by %s",
				 e->ca);
		else
			snprintf(what, sizeof(what),
				 "the engine's certificate is not signed by a CA this system trusts "
				 "(give the engine's certificate folder: ,tls=DIR)");
		break;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(what, sizeof(what), "cannot load the CA certificate %s", e->ca);
		break;
	case CURLE_SSL_CERTPROBLEM:
		snprintf(what, sizeof(what), "cannot load the client certificate %s or its key %s",
			 e->cert, e->key);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_SSL_CLIENTCERT:
		if (not_tls)
			snprintf(what, sizeof(what),
				 "the engine does not speak TLS on this port (plain HTTP: use tcp:// "
				 "without tls=)");
		else if ((cert_alert || cc == CURLE_SSL_CLIENTCERT) && e->tls_dir[0])
			snprintf(what, sizeof(what),
				 "the engine refused the client certificate %s (not signed by a CA "
				 "it trusts?)", e->cert);
		else if (cert_alert || cc == CURLE_SSL_CLIENTCERT)
			snprintf(what, sizeof(what),
				 "the engine refused the connection: it wants a client certificate "
				 "(give its certificate folder: ,tls=DIR)");
		else if (alert)
			snprintf(what, sizeof(what), "the engine broke off the TLS session");
		else if (cc == CURLE_SSL_CONNECT_ERROR)
			snprintf(what, sizeof(what), "the handshake failed");
		else
			return 0;
		break;
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		snprintf(what, sizeof(what), "%s", curl_easy_strerror(cc));
		break;
	default:
		return 0;
	}
	snprintf(msg, msglen, "TLS: %s: %s (%s)", e->url, what,
		 detail[0] ? detail : curl_easy_strerror(cc));
	return 1;
}

/* Go's TLS server answers a plain-HTTP request with this 400. */
#define PLAIN_HTTP_ON_TLS_PORT "Client sent an HTTP request to an HTTPS server"

enum engine_result engine_call_run(struct engine *e, struct call *c, struct engine_error *err)
{
	char url[2048], detail[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	enum engine_result r;
	CURLcode cc;
	long status = 0;

	buf_init(&c->reply, BUF_LIMIT_ENGINE_REPLY);
	c->h = handle_take(e);
	if (!c->h) {
		err->http_status = 0;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return ENGINE_UNREACHABLE;
	}
	snprintf(url, sizeof(url), "%s%s", e->base, c->path);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	if (e->unix_path[0])
		curl_easy_setopt(c->h, CURLOPT_UNIX_SOCKET_PATH, e->unix_path);
	if (e->tls) {
		/* never relaxed: a wrong certificate fails the call */
		curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (e->tls_dir[0]) {
			curl_easy_setopt(c->h, CURLOPT_CAINFO, e->ca);
			curl_easy_setopt(c->h, CURLOPT_SSLCERT, e->cert);
			curl_easy_setopt(c->h, CURLOPT_SSLKEY, e->key);
		}
	}
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, detail);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (c->timeout_ms)
		curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	else {
		curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c->h, CURLOPT_LOW_SPEED_TIME, 120L);
	}
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
	if (c->upload_fn) {
		/* a body of unknown length, sent chunked as it comes */
		curl_easy_setopt(c->h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->h, CURLOPT_READFUNCTION, c->upload_fn);
		curl_easy_setopt(c->h, CURLOPT_READDATA, c->upload_arg);
		if (strcmp(c->method, "PUT") != 0)
			curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, c->method);
		hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
	} else if (strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0) {
		size_t n = c->body ? (c->body_len ? c->body_len : strlen(c->body)) : 0;

		curl_easy_setopt(c->h, CURLOPT_POST, 1L);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
		if (c->method[1] == 'U')
			curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, "PUT");
	} else if (strcmp(c->method, "GET") != 0) {
		curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, c->method);
	}
	if ((c->body || c->upload_fn) && c->body_type) {
		char ct[128];

		snprintf(ct, sizeof(ct), "Content-Type: %s", c->body_type);
		hdrs = curl_slist_append(hdrs, ct);
	} else if (c->body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(c->h);
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK) {
		err->http_status = status;
		if (c->aborted) {
			snprintf(err->message, sizeof(err->message), "transfer stopped by the reader");
			r = ENGINE_ABORTED;
		} else if (status >= 200 && status < 300 && cc == CURLE_WRITE_ERROR) {
			snprintf(err->message, sizeof(err->message),
				 "the engine's reply to %s %s is larger than %u bytes",
				 c->method, c->path, BUF_LIMIT_ENGINE_REPLY);
			r = ENGINE_BAD_REPLY;
		} else if (tls_failure(e, c->h, cc, detail, err->message, sizeof(err->message))) {
			r = ENGINE_UNREACHABLE;
		} else {
			snprintf(err->message, sizeof(err->message), "%s %s: %s", c->method,
				 url, curl_easy_strerror(cc));
			r = ENGINE_UNREACHABLE;
		}
		/* a broken connection is not worth keeping */
		curl_easy_cleanup(c->h);
		c->h = NULL;
		return r;
	}
	handle_give(e, c->h);
	c->h = NULL;
	if (status >= 200 && status < 300)
		return ENGINE_OK;
	if (!e->tls && status == 400 && strstr(buf_str(&c->reply), PLAIN_HTTP_ON_TLS_PORT)) {
		err->http_status = 0;
		snprintf(err->message, sizeof(err->message),
			 "TLS: %s: the engine speaks TLS on this port: give its certificate folder "
			 "(--engine %s=https://HOST:PORT,tls=DIR)", e->url, e->name);
		return ENGINE_UNREACHABLE;
	}
	error_from_reply(&c->reply, status, err);
	if (status == 404)
		return ENGINE_NOT_FOUND;
	if (status == 409)
		return ENGINE_CONFLICT;
	if (status == 501)
		return ENGINE_NOT_SUPPORTED;
	if (status >= 400 && status < 500)
		return ENGINE_REFUSED;
	return ENGINE_FAILED;
}

/* A call whose 2xx body is JSON: *out (optional) gets it parsed. */
enum engine_result engine_call_json(struct engine *e, const char *method, const char *path,
				    const char *body, long timeout_ms,
				    struct json_object **out, struct engine_error *err)
{
	struct call c = {.method = method, .path = path, .body = body, .timeout_ms = timeout_ms};
	enum engine_result r = engine_call_run(e, &c, err);

	if (r == ENGINE_OK && out) {
		struct json_tokener *tok = json_tokener_new();

		*out = tok ? json_tokener_parse_ex(tok, buf_str(&c.reply), (int)c.reply.len) : NULL;
		json_tokener_free(tok);
		if (!*out) {
			err->http_status = 200;
			snprintf(err->message, sizeof(err->message),
				 "the engine's reply to %s %s is not JSON", method, path);
			r = ENGINE_BAD_REPLY;
		}
	}
	buf_release(&c.reply);
	return r;
}

/* Escapes s for use in a URL (path segment or query value) into out. */
void engine_esc(const char *s, char *out, size_t outlen)
{
	char *q = curl_easy_escape(NULL, s, 0);

	snprintf(out, outlen, "%s", q ? q : "");
	curl_free(q);
}

const char *engine_jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* --- probing */

const char *engine_version_warning(const char *v)
{
	if (v && strncmp(v, "28.", 3) == 0)
		return "Docker 28 breaks checkpoint/restore (moby#50750): use 20.10-27.x";
	return NULL;
}

void engine_probe(struct engine *e)
{
	struct engine_info in;
	struct engine_error err;
	struct json_object *ver = NULL, *info = NULL, *v;
	const char *s;

	memset(&in, 0, sizeof(in));
	in.experimental = -1;
	in.checked_at = clock_now_ms();
	if (engine_call_json(e, "GET", "/version", NULL, 3000, &ver, &err) != ENGINE_OK ||
	    engine_call_json(e, "GET", "/info", NULL, 5000, &info, &err) != ENGINE_OK) {
		snprintf(in.error, sizeof(in.error), "%s", err.message);
		goto out;
	}
	in.reachable = 1;
	if ((s = engine_jstr(ver, "Version")))
		snprintf(in.docker_version, sizeof(in.docker_version), "%s", s);
	if ((s = engine_jstr(ver, "ApiVersion")))
		snprintf(in.api_version, sizeof(in.api_version), "%s", s);
	if ((s = engine_jstr(info, "DockerRootDir")))
		snprintf(in.root_dir, sizeof(in.root_dir), "%s", s);
	if ((s = engine_jstr(info, "ID")))
		snprintf(in.engine_id, sizeof(in.engine_id), "%s", s);
	if (json_object_object_get_ex(info, "ExperimentalBuild", &v))
		in.experimental = json_object_get_boolean(v) ? 1 : 0;
	if ((s = engine_version_warning(in.docker_version)))
		snprintf(in.warning, sizeof(in.warning), "%s", s);
out:
	json_object_put(ver);
	json_object_put(info);
	pthread_mutex_lock(&e->lock);
	e->info = in;
	pthread_mutex_unlock(&e->lock);
}

void engine_info_get(struct engine *e, struct engine_info *out)
{
	pthread_mutex_lock(&e->lock);
	*out = e->info;
	pthread_mutex_unlock(&e->lock);
}

/* --- containers */

enum engine_result engine_container_inspect(struct engine *e, const char *ref,
					    struct json_object **out,
					    struct engine_error *err)
{
	char path[600], r[400];

	engine_esc(ref, r, sizeof(r));
	snprintf(path, sizeof(path), "/containers/%s/json", r);
	return engine_call_json(e, "GET", path, NULL, 30000, out, err);
}

enum engine_result engine_container_create(struct engine *e, const char *name,
					   struct json_object *config, char id[72],
					   struct engine_error *err)
{
	char path[600], n[400];
	struct json_object *out = NULL;
	enum engine_result r;
	const char *s;

	if (name) {
		engine_esc(name, n, sizeof(n));
		snprintf(path, sizeof(path), "/containers/create?name=%s", n);
	} else {
		snprintf(path, sizeof(path), "/containers/create");
	}
	r = engine_call_json(e, "POST", path,
		      json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN), 60000,
		      &out, err);
	if (r == ENGINE_OK) {
		s = engine_jstr(out, "Id");
		if (!s) {
			snprintf(err->message, sizeof(err->message), "container create answered no Id");
			r = ENGINE_BAD_REPLY;
		} else {
			snprintf(id, 72, "%s", s);
		}
	}
	json_object_put(out);
	return r;
}

enum engine_result engine_container_remove(struct engine *e, const char *id, int force,
					   struct engine_error *err)
{
	char path[600], r[400];

	engine_esc(id, r, sizeof(r));
	snprintf(path, sizeof(path), "/containers/%s?v=1&force=%d", r, force ? 1 : 0);
	return engine_call_json(e, "DELETE", path, NULL, 60000, NULL, err);
}

enum engine_result engine_container_stop(struct engine *e, const char *id, int timeout_s,
					 struct engine_error *err)
{
	char path[600], r[400];
	struct call c = {.method = "POST"};
	enum engine_result res;

	engine_esc(id, r, sizeof(r));
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%d", r, timeout_s);
	c.path = path;
	c.timeout_ms = (timeout_s + 30) * 1000L;
	res = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	return res;
}

enum engine_result engine_container_commit(struct engine *e, const char *id,
					   const char *repo, const char *tag,
					   char image_id[80], struct engine_error *err)
{
	char path[1200], i[400], rp[400], t[200];
	struct json_object *out = NULL;
	enum engine_result r;
	const char *s;

	engine_esc(id, i, sizeof(i));
	engine_esc(repo, rp, sizeof(rp));
	engine_esc(tag, t, sizeof(t));
	snprintf(path, sizeof(path), "/commit?container=%s&repo=%s&tag=%s&pause=true", i, rp, t);
	r = engine_call_json(e, "POST", path, "{}", 30 * 60 * 1000L, &out, err);
	if (r == ENGINE_OK) {
		s = engine_jstr(out, "Id");
		if (!s) {
			snprintf(err->message, sizeof(err->message), "commit answered no Id");
			r = ENGINE_BAD_REPLY;
		} else {
			snprintf(image_id, 80, "%s", s);
		}
	}
	json_object_put(out);
	return r;
}

enum engine_result engine_container_archive_get(struct engine *e, const char *id,
						const char *path, engine_stream_fn fn,
						void *arg, struct engine_error *err)
{
	char p[1600], i[400], pa[1024];
	struct call c = {.method = "GET", .stream = fn, .arg = arg};
	enum engine_result r;

	engine_esc(id, i, sizeof(i));
	engine_esc(path, pa, sizeof(pa));
	snprintf(p, sizeof(p), "/containers/%s/archive?path=%s", i, pa);
	c.path = p;
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	return r;
}

/* --- images */

enum engine_result engine_image_inspect(struct engine *e, const char *ref,
					struct json_object **out,
					struct engine_error *err)
{
	char path[600], r[400];

	engine_esc(ref, r, sizeof(r));
	snprintf(path, sizeof(path), "/images/%s/json", r);
	return engine_call_json(e, "GET", path, NULL, 30000, out, err);
}

enum engine_result engine_image_remove(struct engine *e, const char *ref,
				       struct engine_error *err)
{
	char path[600], r[400];

	engine_esc(ref, r, sizeof(r));
	snprintf(path, sizeof(path), "/images/%s", r);
	return engine_call_json(e, "DELETE", path, NULL, 120000, NULL, err);
}

/* --- checkpoints */

enum engine_result engine_checkpoint_create(struct engine *e, const char *id,
					    const char *name, const char *dir,
					    int exit_after, struct engine_error *err)
{
	char path[600], i[400];
	struct json_object *body = json_object_new_object();
	enum engine_result r;

	engine_esc(id, i, sizeof(i));
	snprintf(path, sizeof(path), "/containers/%s/checkpoints", i);
	json_object_object_add(body, "CheckpointID", json_object_new_string(name));
	json_object_object_add(body, "CheckpointDir", json_object_new_string(dir));
	json_object_object_add(body, "Exit", json_object_new_boolean(exit_after));
	r = engine_call_json(e, "POST", path, json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
		      30 * 60 * 1000L, NULL, err);
	json_object_put(body);
	return r;
}

enum engine_result engine_checkpoint_delete(struct engine *e, const char *id,
					    const char *name, const char *dir,
					    struct engine_error *err)
{
	char path[2000], i[400], n[300], d[1200];

	engine_esc(id, i, sizeof(i));
	engine_esc(name, n, sizeof(n));
	if (dir) {
		engine_esc(dir, d, sizeof(d));
		snprintf(path, sizeof(path), "/containers/%s/checkpoints/%s?dir=%s", i, n, d);
	} else {
		snprintf(path, sizeof(path), "/containers/%s/checkpoints/%s", i, n);
	}
	return engine_call_json(e, "DELETE", path, NULL, 120000, NULL, err);
}

/* --- starting, staging, exec, logs */

enum engine_result engine_container_start(struct engine *e, const char *id,
					  const char *checkpoint, struct engine_error *err)
{
	char path[800], i[400], ck[300];
	struct call c = {.method = "POST", .timeout_ms = 10 * 60 * 1000L};
	enum engine_result r;

	engine_esc(id, i, sizeof(i));
	if (checkpoint) {
		engine_esc(checkpoint, ck, sizeof(ck));
		snprintf(path, sizeof(path), "/containers/%s/start?checkpoint=%s", i, ck);
	} else {
		snprintf(path, sizeof(path), "/containers/%s/start", i);
	}
	c.path = path;
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	return r;
}

enum engine_result engine_container_archive_put(struct engine *e, const char *id,
						const char *path, const char *tar,
						size_t len, struct engine_error *err)
{
	char p[1600], i[400], pa[1024];
	struct call c = {.method = "PUT", .body = tar, .body_len = len,
			 .body_type = "application/x-tar", .timeout_ms = 10 * 60 * 1000L};
	enum engine_result r;

	engine_esc(id, i, sizeof(i));
	engine_esc(path, pa, sizeof(pa));
	snprintf(p, sizeof(p), "/containers/%s/archive?path=%s", i, pa);
	c.path = p;
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	return r;
}

enum engine_result engine_exec(struct engine *e, const char *id, struct json_object *argv,
			       long timeout_ms, int *exit_code, struct engine_error *err)
{
	return engine_exec_output(e, id, argv, timeout_ms, exit_code, NULL, NULL, err);
}

struct exec_out {
	struct engine_demux d;
	engine_stream_fn fn;
	void *arg;
};

static int exec_chunk(void *arg, const char *data, size_t len)
{
	struct exec_out *x = arg;

	if (!x->fn)
		return 0;
	return engine_demux_feed(&x->d, data, len, x->fn, x->arg);
}

enum engine_result engine_exec_output(struct engine *e, const char *id, struct json_object *argv,
				      long timeout_ms, int *exit_code, engine_stream_fn fn,
				      void *arg, struct engine_error *err)
{
	char path[600], i[400], xid[80];
	struct json_object *body = json_object_new_object(), *out = NULL, *v;
	struct exec_out x = {.fn = fn, .arg = arg};
	struct call c = {.method = "POST", .path = path, .body = "{\"Detach\":false}",
			 .stream = exec_chunk, .arg = &x};
	enum engine_result r;
	const char *s;
	int64_t t0 = clock_mono_ms();

	*exit_code = -1;
	engine_esc(id, i, sizeof(i));
	snprintf(path, sizeof(path), "/containers/%s/exec", i);
	json_object_object_add(body, "Cmd", json_object_get(argv));
	/* attached: the start call ends when the command does, with its
	 * output; no polling.  (Podman also refuses an exec with no stream
	 * attached, 500 "must provide at least one stream", and a detached one
	 * stays "Running" there until its session is reaped minutes later.) */
	json_object_object_add(body, "AttachStdout", json_object_new_boolean(1));
	json_object_object_add(body, "AttachStderr", json_object_new_boolean(1));
	r = engine_call_json(e, "POST", path,
			     json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN), 30000,
			     &out, err);
	json_object_put(body);
	if (r != ENGINE_OK)
		goto done;
	s = engine_jstr(out, "Id");
	if (!s) {
		snprintf(err->message, sizeof(err->message), "exec create answered no Id");
		r = ENGINE_BAD_REPLY;
		goto done;
	}
	snprintf(xid, sizeof(xid), "%s", s);
	json_object_put(out);
	out = NULL;
	snprintf(path, sizeof(path), "/exec/%s/start", xid);
	c.timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	if (r == ENGINE_UNREACHABLE && clock_mono_ms() - t0 >= timeout_ms) {
		snprintf(err->message, sizeof(err->message), "exec still running after %ldms",
			 timeout_ms);
		r = ENGINE_ABORTED;
	}
	if (r != ENGINE_OK)
		goto done;
	snprintf(path, sizeof(path), "/exec/%s/json", xid);
	r = engine_call_json(e, "GET", path, NULL, 30000, &out, err);
	if (r == ENGINE_OK && json_object_object_get_ex(out, "ExitCode", &v) &&
	    json_object_is_type(v, json_type_int))
		*exit_code = json_object_get_int(v);
done:
	json_object_put(out);
	return r;
}

enum engine_result engine_container_memory(struct engine *e, const char *id, int64_t *bytes,
					   struct engine_error *err)
{
	char path[600], i[400];
	struct json_object *out = NULL, *m, *st, *v;
	enum engine_result r;
	int64_t usage, inactive = 0;

	*bytes = -1;
	engine_esc(id, i, sizeof(i));
	/* one-shot: one sample at once (Docker otherwise waits for a second
	 * one, about a second, to compute CPU figures) */
	snprintf(path, sizeof(path), "/containers/%s/stats?stream=false&one-shot=true", i);
	r = engine_call_json(e, "GET", path, NULL, 30000, &out, err);
	if (r != ENGINE_OK)
		goto out;
	if (!json_object_object_get_ex(out, "memory_stats", &m) ||
	    !json_object_object_get_ex(m, "usage", &v) || !json_object_is_type(v, json_type_int)) {
		snprintf(err->message, sizeof(err->message), "the engine's stats name no memory use");
		r = ENGINE_BAD_REPLY;
		goto out;
	}
	usage = json_object_get_int64(v);
	if (json_object_object_get_ex(m, "stats", &st) &&
	    (json_object_object_get_ex(st, "inactive_file", &v) ||
	     json_object_object_get_ex(st, "total_inactive_file", &v)))
		inactive = json_object_get_int64(v);
	*bytes = usage > inactive ? usage - inactive : usage;
out:
	json_object_put(out);
	return r;
}

enum engine_result engine_container_logs(struct engine *e, const char *id, int64_t since_ms,
					 engine_stream_fn fn, void *arg,
					 struct engine_error *err)
{
	char p[800], i[400];
	struct call c = {.method = "GET", .stream = fn, .arg = arg, .timeout_ms = 60000};
	enum engine_result r;

	engine_esc(id, i, sizeof(i));
	snprintf(p, sizeof(p), "/containers/%s/logs?stdout=1&stderr=1&since=%lld.%03lld", i,
		 (long long)(since_ms / 1000), (long long)(since_ms % 1000));
	c.path = p;
	r = engine_call_run(e, &c, err);
	buf_release(&c.reply);
	return r;
}

enum engine_result engine_image_tag(struct engine *e, const char *ref, const char *repo,
				    const char *tag, struct engine_error *err)
{
	char p[1400], r[400], rp[400], t[200];

	engine_esc(ref, r, sizeof(r));
	engine_esc(repo, rp, sizeof(rp));
	engine_esc(tag, t, sizeof(t));
	snprintf(p, sizeof(p), "/images/%s/tag?repo=%s&tag=%s", r, rp, t);
	return engine_call_json(e, "POST", p, NULL, 30000, NULL, err);
}

enum engine_result engine_image_import(struct engine *e, const char *repo, const char *tag,
				       const char *tar, size_t len, struct engine_error *err)
{
	char p[800], ref[400], rp[600];
	struct call c = {.method = "POST", .body = tar, .body_len = len,
			 .body_type = "application/x-tar", .timeout_ms = 5 * 60 * 1000L};
	enum engine_result r;

	/* the tag inside repo ("repo:tag"), which the Engine API allows:
	 * Podman's compat import ignores a separate tag parameter */
	snprintf(ref, sizeof(ref), "%s:%s", repo, tag);
	engine_esc(ref, rp, sizeof(rp));
	snprintf(p, sizeof(p), "/images/create?fromSrc=-&repo=%s", rp);
	c.path = p;
	r = engine_call_run(e, &c, err);
	/* the answer is a progress stream; an error inside it still says 200 */
	if (r == ENGINE_OK && strstr(buf_str(&c.reply), "\"error")) {
		snprintf(err->message, sizeof(err->message), "image import failed: %.1900s",
			 buf_str(&c.reply));
		r = ENGINE_FAILED;
	}
	buf_release(&c.reply);
	return r;
}

enum engine_result engine_container_wait(struct engine *e, const char *id, long timeout_ms,
					 int *status, struct engine_error *err)
{
	char path[600], i[400];
	struct json_object *out = NULL, *v;
	enum engine_result r;

	*status = -1;
	engine_esc(id, i, sizeof(i));
	snprintf(path, sizeof(path), "/containers/%s/wait", i);
	r = engine_call_json(e, "POST", path, NULL, timeout_ms, &out, err);
	if (r == ENGINE_OK && json_object_object_get_ex(out, "StatusCode", &v))
		*status = json_object_get_int(v);
	json_object_put(out);
	return r;
}

int engine_demux_feed(struct engine_demux *d, const char *data, size_t len,
		      engine_stream_fn fn, void *arg)
{
	if (d->raw)
		return fn(arg, data, len);
	while (len) {
		size_t k;

		if (d->left == 0) {
			k = 8 - d->fill;
			if (k > len)
				k = len;
			memcpy(d->hdr + d->fill, data, k);
			d->fill += k;
			data += k;
			len -= k;
			if (d->fill < 8)
				return 0;
			d->fill = 0;
			d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
				  (uint32_t)d->hdr[6] << 8 | d->hdr[7];
			continue;
		}
		k = d->left < len ? d->left : len;
		if (fn(arg, data, k))
			return 1;
		d->left -= (uint32_t)k;
		data += k;
		len -= k;
	}
	return 0;
}

/* --- piping one engine's answer into another engine's request */

/* The bounded buffer between the two transfers: the download fills it, the
 * upload drains it; whichever side fails stops the other. */
#define PIPE_SIZE (1u << 20)

struct pipe {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *ring;
	size_t head, len;      /* read position, bytes held */
	int eof;               /* the download ended (well or not) */
	int down_failed;       /* ... and failed */
	int up_done;           /* the upload ended: stop downloading */
	uint64_t moved;
	void (*progress)(void *arg, uint64_t bytes);
	void *arg;
	/* the download side */
	struct engine *src;
	const char *src_path;
	enum engine_result down_result;
	struct engine_error down_err;
};

static int pipe_push(void *arg, const char *data, size_t len)
{
	struct pipe *p = arg;

	pthread_mutex_lock(&p->lock);
	while (len) {
		size_t room, tail, k;

		while (p->len == PIPE_SIZE && !p->up_done)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->up_done) {
			pthread_mutex_unlock(&p->lock);
			return 1; /* the upload is gone: stop reading */
		}
		room = PIPE_SIZE - p->len;
		tail = (p->head + p->len) % PIPE_SIZE;
		k = len < room ? len : room;
		if (k > PIPE_SIZE - tail)
			k = PIPE_SIZE - tail;
		memcpy(p->ring + tail, data, k);
		p->len += k;
		data += k;
		len -= k;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static size_t pipe_pull(char *out, size_t size, size_t n, void *arg)
{
	struct pipe *p = arg;
	size_t want = size * n, k;

	pthread_mutex_lock(&p->lock);
	while (p->len == 0 && !p->eof)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->len == 0) {
		int failed = p->down_failed;

		pthread_mutex_unlock(&p->lock);
		return failed ? CURL_READFUNC_ABORT : 0; /* 0: the body is complete */
	}
	k = want < p->len ? want : p->len;
	if (k > PIPE_SIZE - p->head)
		k = PIPE_SIZE - p->head;
	memcpy(out, p->ring + p->head, k);
	p->head = (p->head + k) % PIPE_SIZE;
	p->len -= k;
	p->moved += k;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->progress)
		p->progress(p->arg, p->moved);
	return k;
}

static void *pipe_download(void *arg)
{
	struct pipe *p = arg;
	struct call c = {.method = "GET", .path = p->src_path, .stream = pipe_push, .arg = p};

	p->down_result = engine_call_run(p->src, &c, &p->down_err);
	buf_release(&c.reply);
	pthread_mutex_lock(&p->lock);
	p->eof = 1;
	p->down_failed = p->down_result != ENGINE_OK;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

enum engine_result engine_pipe(struct engine *src, const char *src_path, struct engine *dst,
			       const char *dst_method, const char *dst_path,
			       const char *content_type,
			       void (*progress)(void *arg, uint64_t bytes), void *arg,
			       uint64_t *moved, struct engine_error *err)
{
	struct pipe p;
	struct call up = {.method = dst_method, .path = dst_path, .body_type = content_type,
			  .upload_fn = pipe_pull, .timeout_ms = 0};
	pthread_t t;
	enum engine_result r;

	memset(&p, 0, sizeof(p));
	*moved = 0;
	p.ring = malloc(PIPE_SIZE);
	if (!p.ring) {
		err->http_status = 0;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return ENGINE_FAILED;
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	p.src = src;
	p.src_path = src_path;
	p.progress = progress;
	p.arg = arg;
	up.upload_arg = &p;
	if (pthread_create(&t, NULL, pipe_download, &p)) {
		free(p.ring);
		err->http_status = 0;
		snprintf(err->message, sizeof(err->message), "cannot start the download thread");
		return ENGINE_FAILED;
	}
	r = engine_call_run(dst, &up, err);
	pthread_mutex_lock(&p.lock);
	p.up_done = 1;
	pthread_cond_broadcast(&p.cond);
	pthread_mutex_unlock(&p.lock);
	pthread_join(t, NULL);
	buf_release(&up.reply);
	if (p.down_result != ENGINE_OK && p.down_result != ENGINE_ABORTED) {
		/* the source failed: that is the cause, whatever the target said */
		snprintf(err->message, sizeof(err->message), "reading %s from engine '%s': %s",
			 src_path, engine_name(src), p.down_err.message);
		err->http_status = p.down_err.http_status;
		r = p.down_result;
	} else if (r == ENGINE_OK && p.down_result != ENGINE_OK) {
		snprintf(err->message, sizeof(err->message), "reading %s from engine '%s' stopped early",
			 src_path, engine_name(src));
		r = ENGINE_FAILED;
	} else if (r != ENGINE_OK) {
		char msg[sizeof(err->message)];

		snprintf(msg, sizeof(msg), "writing %s to engine '%s': %s", dst_path, engine_name(dst),
			 err->message);
		snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	*moved = p.moved;
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	free(p.ring);
	return r;
}
