/*
 * bare_mhd.c - the API benchmark's baseline: a libmicrohttpd server with
 * the service's daemon set-up (src/http/server.c) and none of its work.
 *
 *   bare_mhd [--threads N] PORT PATH=FILE [PATH=FILE...]
 *
 * Listens on 127.0.0.1:PORT (0: any free port) and answers GET and HEAD of
 * each PATH with the bytes of FILE, read once at start: status 200,
 * Content-Type application/json and an ETag computed as the service computes
 * it (FNV-1a 64 of the body, "%016llx" in quotes), so a body fetched from
 * the service comes back byte for byte, headers included.  PATH is matched
 * against the request's path; its query string is ignored (libmicrohttpd
 * parses it all the same).  Any other path gets an empty 404, any other
 * method an empty 405.  Each answer is one response object made at start
 * and queued again for every request: no parsing, no store, no JSON, no
 * copy, no log line (libmicrohttpd itself leaves the body out of a HEAD).
 *
 * Daemon flags and options are the service's: internal polling thread +
 * a thread pool (--threads, default 4 as the service's --threads), epoll,
 * suspend/resume, ITC, connection timeout 60 s, limit 1000, address reuse.
 * Like the service it answers on the second call of the access handler
 * (the first only sets the request's context).
 *
 * Prints the port it listens on (one line) on stdout once it listens, then
 * runs until SIGINT or SIGTERM.  Exit status 0 after a signal, 2 on bad
 * arguments, 1 when it cannot read a file or listen.
 */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 16

struct route {
	const char *path;
	struct MHD_Response *resp;
	char *body;
	size_t len;
};

static struct route routes[MAX_ROUTES];
static int nroutes;
static struct MHD_Response *not_found, *not_allowed;
static int request_mark; /* its address marks a request's first call */

/* The service's validator (src/http/reply.c). */
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

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return -1;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *q;

			cap = cap ? cap * 2 : 65536;
			q = realloc(p, cap);
			if (!q)
				goto fail;
			p = q;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	*data = p;
	*len = n;
	return 0;
fail:
	free(p);
	fclose(f);
	return -1;
}

static struct MHD_Response *json_response(const char *body, size_t len, const char *etag)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_PERSISTENT);

	if (!r)
		return NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, etag) != MHD_YES) {
		MHD_destroy_response(r);
		return NULL;
	}
	return r;
}

static int add_route(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct route *rt;
	char etag[24];
	char *path;

	if (!eq || eq == arg || arg[0] != '/' || !eq[1]) {
		fprintf(stderr, "bare_mhd: '%s' is not PATH=FILE (PATH starting with '/')\n", arg);
		return 2;
	}
	if (nroutes == MAX_ROUTES) {
		fprintf(stderr, "bare_mhd: at most %d PATH=FILE\n", MAX_ROUTES);
		return 2;
	}
	rt = &routes[nroutes];
	path = strndup(arg, (size_t)(eq - arg));
	if (!path) {
		fprintf(stderr, "bare_mhd: out of memory\n");
		return 1;
	}
	path[strcspn(path, "?")] = '\0';
	rt->path = path;
	if (read_file(eq + 1, &rt->body, &rt->len)) {
		fprintf(stderr, "bare_mhd: cannot read '%s': %s\n", eq + 1, strerror(errno));
		return 1;
	}
	snprintf(etag, sizeof(etag), "\"%016llx\"",
		 (unsigned long long)fnv1a64(rt->body, rt->len));
	rt->resp = json_response(rt->body, rt->len, etag);
	if (!rt->resp) {
		fprintf(stderr, "bare_mhd: cannot make the answer of '%s'\n", path);
		return 1;
	}
	nroutes++;
	return 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version,
				 const char *upload_data, size_t *upload_data_size,
				 void **con_cls)
{
	int i;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (*con_cls != &request_mark) {
		*con_cls = &request_mark;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed);
	for (i = 0; i < nroutes; i++)
		if (strcmp(url, routes[i].path) == 0)
			return MHD_queue_response(conn, MHD_HTTP_OK, routes[i].resp);
	return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, not_found);
}

/* As the service's on_completed() does, minus its log line and frees: the
 * next request on the connection starts with its first call again. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	*con_cls = NULL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || s[0] == '-' || *out > max ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bare_mhd [--threads N] PORT PATH=FILE [PATH=FILE...]\n");
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	unsigned long port, threads = 4;
	sigset_t set;
	int i = 1, rc, sig;

	if (argc > 2 && strcmp(argv[1], "--threads") == 0) {
		if (parse_uint(argv[2], 256, &threads) || threads == 0) {
			usage();
			return 2;
		}
		i = 3;
	}
	if (argc - i < 2 || parse_uint(argv[i], 65535, &port)) {
		usage();
		return 2;
	}
	for (i++; i < argc; i++)
		if ((rc = add_route(argv[i])) != 0)
			return rc;
	not_found = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	not_allowed = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!not_found || !not_allowed ||
	    MHD_add_response_header(not_allowed, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES) {
		fprintf(stderr, "bare_mhd: out of memory\n");
		return 1;
	}

	/* SIGINT/SIGTERM are taken by sigwait() below; block them before the
	 * daemon's threads exist so that they inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
				     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG,
			     0, NULL, NULL, on_access, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
			     MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bare_mhd: cannot listen on 127.0.0.1:%lu: %s\n", port,
			errno ? strerror(errno) : "libmicrohttpd refused");
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("%u\n", info ? (unsigned)info->port : (unsigned)port);
	fflush(stdout);

	do
		rc = sigwait(&set, &sig);
	while (rc == EINTR);
	MHD_stop_daemon(d);
	for (i = 0; i < nroutes; i++) {
		MHD_destroy_response(routes[i].resp);
		free(routes[i].body);
		free((char *)routes[i].path);
	}
	MHD_destroy_response(not_found);
	MHD_destroy_response(not_allowed);
	return 0;
}
