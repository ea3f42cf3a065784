/*
 * router.c - maps a path to a route.  Patterns are literal segments and
 * {name} captures; a table scan is plenty for a dozen routes.
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

/* Whether path matches pattern; when caps is not NULL fills the captures
 * (pointing into store, a writable copy of path cut at '/'). */
static int match(const char *pattern, const char *path, struct http_request *caps)
{
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p && *s) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			size_t seglen = strcspn(s, "/");

			if (!close || seglen == 0 || n >= HTTP_MAX_PARAMS)
				return 0;
			if (caps) {
				char *v = caps->param_store + (s - path);

				caps->param_name[n] = p + 1;
				caps->param_name_len[n] = (size_t)(close - p - 1);
				v[seglen] = '\0';
				caps->param_value[n] = v;
			}
			n++;
			p = close + 1;
			s += seglen;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	if (*p || *s)
		return 0;
	if (caps)
		caps->nparams = n;
	return 1;
}

int http_route_match(struct http_request *req, const char *method,
		     char *allow, size_t allowlen)
{
	const struct http_route *r;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	int path_known = 0;

	allow[0] = '\0';
	for (r = req->srv->routes; r->method; r++) {
		if (!match(r->pattern, req->path, NULL))
			continue;
		path_known = 1;
		if (strcmp(r->method, want) == 0) {
			req->route = r;
			match(r->pattern, req->path, req);
			return 0;
		}
	}
	if (!path_known)
		return 404;
	for (r = req->srv->routes; r->method; r++) {
		if (!match(r->pattern, req->path, NULL))
			continue;
		if (allow[0])
			strncat(allow, ", ", allowlen - strlen(allow) - 1);
		strncat(allow, r->method, allowlen - strlen(allow) - 1);
		if (strcmp(r->method, "GET") == 0)
			strncat(allow, ", HEAD", allowlen - strlen(allow) - 1);
	}
	return 405;
}
