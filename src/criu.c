/*
 * criu.c - finds why CRIU failed in its log, and says it in plain words.
 *
 * The log is read line by line and never past its length.  A line is an
 * error when "Error (" starts within its first bytes, after the timestamp and,
 * in restore logs, the task's pid:
 *   (00.118541) Error (criu/sk-unix.c:874): unix: External socket is used...
 *   (00.198761)      1: Error (criu/files-reg.c:2175): File etc/passwd has bad size 71 (expect 84)
 * Some errors are in every log or only report the failure afterwards (the
 * rlimit one at the start, "Dumping FAILED.", "Dump files (pid: N) failed",
 * "Unable to open fd=...", a broken RPC pipe, cgroupd going away): they are
 * never the cause.  The first error that matches a known pattern is the
 * decisive line; without one, the first error that may be a cause.  Each
 * pattern has an explainer that names the object from the line itself or
 * from the lines around it (CRIU often names the socket or file only
 * before it fails), with the remedy from ENGINE-NOTES' table.
 */
#include "criu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "Error (" must start within this many bytes of the line's start. */
#define ERROR_PREFIX_MAX 48
/* How far back explainers look for the object an error is about. */
#define LOOKBACK_LINES 400

struct span {
	const char *p;
	size_t n;
};

static const struct span no_span = { "", 0 };

struct log {
	const char *p;
	size_t len;
};

/* A line of the log: text excludes its "\n" (and a "\r" before it). */
struct line {
	struct span text;
	size_t start; /* offset of the line in the log */
	size_t next;  /* offset of the line after it (len at the end) */
};

/* ---- spans */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *span_find(struct span s, const char *needle)
{
	size_t n = strlen(needle);

	return n <= s.n ? memmem(s.p, s.n, needle, n) : NULL;
}

static struct span span_from(struct span s, const char *at)
{
	struct span r = { at, s.n - (size_t)(at - s.p) };

	return r;
}

/* The text after the first needle, or an empty span when there is none. */
static struct span span_after(struct span s, const char *needle)
{
	const char *at = span_find(s, needle);

	return at ? span_from(s, at + strlen(needle)) : no_span;
}

/* The text before the first needle, or all of s when there is none. */
static struct span span_before(struct span s, const char *needle)
{
	const char *at = span_find(s, needle);
	struct span r = { s.p, at ? (size_t)(at - s.p) : s.n };

	return r;
}

static struct span span_trim(struct span s)
{
	while (s.n && is_blank(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

static int span_eq(struct span s, const char *str)
{
	return s.n == strlen(str) && memcmp(s.p, str, s.n) == 0;
}

static int span_starts(struct span s, const char *str)
{
	size_t n = strlen(str);

	return s.n >= n && memcmp(s.p, str, n) == 0;
}

/* Takes the next blank-separated word off the front of *rest. */
static struct span next_token(struct span *rest)
{
	size_t i = 0, j;
	struct span t;

	while (i < rest->n && is_blank(rest->p[i]))
		i++;
	j = i;
	while (j < rest->n && !is_blank(rest->p[j]))
		j++;
	t.p = rest->p + i;
	t.n = j - i;
	rest->p += j;
	rest->n -= j;
	return t;
}

/* The word after the word key ("port" in "... port 5000 state ..."). */
static struct span field_after(struct span s, const char *key)
{
	struct span rest = s, t;

	while ((t = next_token(&rest)).n)
		if (span_eq(t, key))
			return next_token(&rest);
	return no_span;
}

/* Length of s[0..n) cut back so that it does not end inside a UTF-8
 * character (n < len, s[n] being the first byte left out). */
static size_t utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* Copies s into dst (size > 0), NUL-terminated, cut to fit; control
 * characters but tabs become '?'. */
static void span_copy(char *dst, size_t size, struct span s)
{
	size_t n = s.n, i;

	if (n > size - 1)
		n = utf8_cut(s.p, size - 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s.p[i];

		dst[i] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

/* printf into a field; a cut falls on a UTF-8 character start. */
__attribute__((format(printf, 3, 4)))
static void set(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		dst[0] = '\0';
	else if ((size_t)n >= size)
		dst[utf8_cut(dst, size - 1)] = '\0';
}

/* A path as CRIU prints it relative to the root ("tmp/x", "./tmp/x") made
 * absolute ("/tmp/x"). */
static void path_copy(char *dst, size_t size, struct span s)
{
	if (span_starts(s, "./")) {
		s.p++;
		s.n--;
	}
	if (s.n && s.p[0] == '/') {
		span_copy(dst, size, s);
	} else if (size > 1) {
		dst[0] = '/';
		span_copy(dst + 1, size - 1, s);
	} else {
		dst[0] = '\0';
	}
}

/* ---- lines */

static int line_at(const struct log *lg, size_t start, struct line *l)
{
	const char *nl;
	size_t end;

	if (start >= lg->len)
		return 0;
	nl = memchr(lg->p + start, '\n', lg->len - start);
	end = nl ? (size_t)(nl - lg->p) : lg->len;
	l->start = start;
	l->next = nl ? end + 1 : lg->len;
	l->text.p = lg->p + start;
	l->text.n = end - start;
	if (l->text.n && l->text.p[l->text.n - 1] == '\r')
		l->text.n--;
	return 1;
}

static int line_before(const struct log *lg, const struct line *l, struct line *prev)
{
	const char *nl;

	if (l->start == 0)
		return 0;
	/* lg->p[l->start - 1] is the '\n' that ends the line before */
	nl = l->start > 1 ? memrchr(lg->p, '\n', l->start - 1) : NULL;
	return line_at(lg, nl ? (size_t)(nl - lg->p) + 1 : 0, prev);
}

/* When line is an error, *text gets it from "Error (" on. */
static int error_text(struct span line, struct span *text)
{
	size_t look = line.n < ERROR_PREFIX_MAX + 7 ? line.n : ERROR_PREFIX_MAX + 7;
	struct span head = { line.p, look };
	const char *e = span_find(head, "Error (");

	if (!e)
		return 0;
	*text = span_from(line, e);
	return 1;
}

/* The message of an error line, after "Error (file:line): ". */
static struct span error_words(struct span err)
{
	struct span w = span_after(err, "): ");

	return w.n ? w : err;
}

/* Errors that are never the cause. */
static const char *const not_causes[] = {
	"RLIMIT_NOFILE",           /* every log on these hosts starts with it */
	"Dumping FAILED",          /* the summary at the end */
	"Restoring FAILED",
	"Dump files (pid:",        /* "... failed with -1", after the cause */
	"Unable to open fd=",      /* restore: after the file's own error */
	"Can't send response",     /* runc hung up after the failure */
	"cgroupd: recv req error", /* cgroupd ending after the failure */
	"exited, status=",         /* restore: a task ended by the failure */
	"killed by signal",
	NULL,
};

static int is_cause(struct span err)
{
	int i;

	for (i = 0; not_causes[i]; i++)
		if (span_find(err, not_causes[i]))
			return 0;
	return 1;
}

/* ---- explainers: each fills code, message and hint */

struct ctx {
	const struct log *lg;
	const struct line *line; /* the decisive line */
	struct span err;         /* its text from "Error (" on */
	struct criu_diagnosis *out;
};

#define SET(field, ...) set(c->out->field, sizeof(c->out->field), __VA_ARGS__)

/* Calls fn on each of the lines before the decisive one, nearest first,
 * until it returns non-zero (then returns that) or LOOKBACK_LINES went by. */
static int look_back(const struct ctx *c, int (*fn)(struct span, void *), void *arg)
{
	struct line l = *c->line, prev;
	int i, r;

	for (i = 0; i < LOOKBACK_LINES && line_before(c->lg, &l, &prev); i++) {
		r = fn(prev.text, arg);
		if (r)
			return r;
		l = prev;
	}
	return 0;
}

/* Calls fn on every line of the log until it returns non-zero. */
static int each_line(const struct log *lg, int (*fn)(struct span, void *), void *arg)
{
	struct line l;
	size_t at;
	int r;

	for (at = 0; line_at(lg, at, &l); at = l.next) {
		r = fn(l.text, arg);
		if (r)
			return r;
	}
	return 0;
}

/* -- unix sockets */

struct unix_search {
	char path[512];
	char peer[32]; /* peer_ino of the socket CRIU was dumping */
};

/* The name of a unix socket line ("... name /run/docker.sock"), or empty
 * for unnamed ones ("name null"). */
static struct span unix_name(struct span line)
{
	struct span name;

	if (!span_find(line, "unix:"))
		return no_span;
	name = span_trim(span_after(line, " name "));
	return span_eq(name, "null") ? no_span : name;
}

/* Nearest first: the socket CRIU was dumping when it gave up.  Runaway and
 * extern lines are about the outside socket itself; a "Dumping:" line about
 * the container's end, whose peer is the outside socket. */
static int find_dumped_unix(struct span line, void *arg)
{
	struct unix_search *u = arg;
	struct span name;

	if (!span_find(line, "unix:") ||
	    !(span_find(line, "Runaway socket:") || span_find(line, "Dumping extern:") ||
	      span_find(line, "Dumping:")))
		return 0;
	name = unix_name(line);
	if (name.n) {
		span_copy(u->path, sizeof(u->path), name);
		return 1;
	}
	span_copy(u->peer, sizeof(u->peer), field_after(line, "peer_ino"));
	return 1;
}

/* A unix socket line about the socket whose inode is u->peer. */
static int find_unix_ino(struct span line, void *arg)
{
	struct unix_search *u = arg;
	struct span name = unix_name(line);

	if (!name.n || !span_eq(field_after(line, "ino"), u->peer))
		return 0;
	span_copy(u->path, sizeof(u->path), name);
	return 1;
}

/* Where the host path is mounted in the container, from CRIU's mount lines
 * ("... /tmp/d/docker.sock @ ./var/run/docker.sock flags ..."). */
static void mountpoint_of(const struct log *lg, const char *host_path, char *mnt, size_t size)
{
	char needle[600];
	const char *at;
	struct span rest;

	mnt[0] = '\0';
	set(needle, sizeof(needle), "%s @ ./", host_path);
	at = memmem(lg->p, lg->len, needle, strlen(needle));
	if (!at)
		return;
	rest.p = at + strlen(needle) - 2; /* at "./" */
	rest.n = lg->len - (size_t)(rest.p - lg->p);
	rest.n = span_before(rest, "\n").n;
	path_copy(mnt, size, next_token(&rest));
}

static void explain_unix_socket(const struct ctx *c)
{
	struct unix_search u = { "", "" };
	char mnt[512];

	SET(code, "criu_external_unix_socket");
	/* No guessing from other sockets' lines: naming the wrong one is worse. */
	if (look_back(c, find_dumped_unix, &u) && !u.path[0] && u.peer[0])
		each_line(c->lg, find_unix_ino, &u);
	if (u.path[0]) {
		mountpoint_of(c->lg, u.path, mnt, sizeof(mnt));
		if (mnt[0])
			SET(message,
			    "a process in the container is connected to the unix socket %s of the "
			    "engine host, bind-mounted into the container at %s; CRIU cannot "
			    "checkpoint a connection whose other end is outside the container",
			    u.path, mnt);
		else
			SET(message,
			    "a process in the container is connected to the unix socket %s, whose "
			    "other end is outside the container; CRIU cannot checkpoint such a "
			    "connection",
			    u.path);
	} else {
		SET(message, "a process in the container is connected to a unix socket whose other "
			     "end is outside the container (such as a bind-mounted "
			     "/var/run/docker.sock); CRIU cannot checkpoint such a connection");
	}
	SET(hint, "close that connection before the checkpoint; if it is Docker's socket, let "
		  "the client talk to Docker over TCP instead of a bind-mounted docker.sock "
		  "(DOCKER_HOST=tcp://<engine host>:2375, no -v /var/run/docker.sock); Docker "
		  "cannot pass CRIU's --ext-unix-sk option");
}

/* -- TCP */

/* "127.0.0.1:5000" (or "[::1]:5000") from an inet socket line. */
static int inet_address(struct span line, char *buf, size_t size)
{
	char addr[128], port[16];
	struct span a = field_after(line, "src_addr"), p = field_after(line, "port");

	if (!a.n || !p.n)
		return 0;
	span_copy(addr, sizeof(addr), a);
	span_copy(port, sizeof(port), p);
	if (strchr(addr, ':'))
		set(buf, size, "[%s]:%s", addr, port);
	else
		set(buf, size, "%s:%s", addr, port);
	return 1;
}

struct inet_search {
	char ino[40];   /* "0x44085" */
	char addr[160]; /* its address */
	char list[512]; /* the established connections' local addresses */
	int count;
};

static int is_inet_collected(struct span line)
{
	return span_find(line, "inet:") && span_find(line, "Collected:");
}

static int find_inet_ino(struct span line, void *arg)
{
	struct inet_search *s = arg;

	if (!is_inet_collected(line) || !span_eq(field_after(line, "ino"), s->ino))
		return 0;
	return inet_address(line, s->addr, sizeof(s->addr));
}

static int list_established(struct span line, void *arg)
{
	struct inet_search *s = arg;
	char addr[160];
	size_t used = strlen(s->list);

	if (!is_inet_collected(line) || !span_eq(field_after(line, "state"), "TCP_ESTABLISHED") ||
	    span_eq(field_after(line, "ino"), "0") || !inet_address(line, addr, sizeof(addr)))
		return 0;
	s->count++;
	if (s->count <= 6)
		set(s->list + used, sizeof(s->list) - used, "%s%s", used ? ", " : "", addr);
	else if (s->count == 7)
		set(s->list + used, sizeof(s->list) - used, ", ...");
	return 0;
}

/* "sockets: Searching for socket 0x44085 family 2", just before the error. */
static int find_searched_socket(struct span line, void *arg)
{
	struct inet_search *s = arg;
	struct span ino = field_after(line, "socket");

	if (!span_find(line, "Searching for socket") || !ino.n)
		return 0;
	span_copy(s->ino, sizeof(s->ino), ino);
	return 1;
}

static void explain_tcp_established(const struct ctx *c)
{
	struct inet_search s = { "", "", "", 0 };

	SET(code, "criu_tcp_established");
	if (span_find(c->err, "in image")) {
		SET(message, "the checkpoint holds established TCP connections, and CRIU on this "
			     "engine host may not restore them (its tcp-established option is off)");
		SET(hint, "add the line 'tcp-established' to /etc/criu/runc.conf on the engine host "
			  "that restores, as on the one that took the checkpoint (Docker passes no "
			  "CRIU options), or close the connections before the checkpoint");
		return;
	}
	if (look_back(c, find_searched_socket, &s))
		each_line(c->lg, find_inet_ino, &s);
	each_line(c->lg, list_established, &s);
	if (s.addr[0] && s.count)
		SET(message,
		    "a process in the container has an open TCP connection from %s (established "
		    "connections in the container, by local address: %s); CRIU checkpoints open "
		    "TCP connections only with its tcp-established option",
		    s.addr, s.list);
	else if (s.count)
		SET(message,
		    "the container has established TCP connections (by local address: %s); CRIU "
		    "checkpoints open TCP connections only with its tcp-established option",
		    s.list);
	else
		SET(message, "a process in the container has an established TCP connection; CRIU "
			     "checkpoints open TCP connections only with its tcp-established option");
	SET(hint, "Docker passes no CRIU options: add the line 'tcp-established' to "
		  "/etc/criu/runc.conf on the engine host (and on the host that restores), or close "
		  "the connections before the checkpoint (stop clients, drain connection pools)");
}

static void explain_tcp_in_flight(const struct ctx *c)
{
	struct inet_search s = { "", "", "", 0 };
	struct span rest = span_after(c->err, " for "); /* "In-flight connection (l) for 44356" */
	struct span ino = next_token(&rest);

	SET(code, "criu_tcp_in_flight");
	if (ino.n) {
		char hex[32];

		span_copy(hex, sizeof(hex), ino);
		set(s.ino, sizeof(s.ino), "0x%s", hex);
		each_line(c->lg, find_inet_ino, &s);
	}
	if (s.addr[0])
		SET(message,
		    "the listening socket %s has connections that arrived but were not accepted "
		    "yet (in flight); CRIU refuses to checkpoint them by default",
		    s.addr);
	else
		SET(message, "a listening socket in the container has connections that arrived but "
			     "were not accepted yet (in flight); CRIU refuses to checkpoint them by "
			     "default");
	SET(hint, "add the line 'skip-in-flight' to /etc/criu/runc.conf on the engine host (the "
		  "waiting connections are dropped and their clients retry), or checkpoint when no "
		  "connection waits to be accepted");
}

/* -- terminals */

static void explain_tty(const struct ctx *c)
{
	SET(code, "criu_tty");
	if (span_find(c->err, "inherit session")) {
		SET(message, "the checkpointed process ran on a terminal (its container had a TTY, "
			     "docker run -t), but the container it is restored into has none");
		SET(hint, "create the container to restore into with the same Tty and OpenStdin "
			  "settings as the checkpointed one");
	} else {
		SET(message, "a process uses a terminal whose other end is outside the container (a "
			     "TTY of 'docker exec -t' or of the container's console); CRIU cannot "
			     "checkpoint it");
		SET(hint, "run the container without a TTY (no -t, Tty false) and end 'docker exec -t' "
			  "sessions before the checkpoint");
	}
}

/* -- file locks */

struct lock_search {
	int after_lock; /* lines left in which to find the locked file's path */
	char paths[512];
	int count;
};

/* A "lockinfo:" line comes while CRIU reads the file descriptor's info; the
 * "Dumping path for N fd via self M [/tmp/app.lock]" line right after
 * names the file. */
static int find_locked_files(struct span line, void *arg)
{
	struct lock_search *s = arg;
	struct span path;
	const char *end;
	char one[256];
	size_t used;

	if (span_find(line, "lockinfo:")) {
		s->after_lock = 8;
		return 0;
	}
	if (!s->after_lock)
		return 0;
	s->after_lock--;
	path = span_after(line, "Dumping path for ");
	if (!path.n || !(path = span_after(path, "[")).n)
		return 0;
	end = memrchr(path.p, ']', path.n);
	if (end)
		path.n = (size_t)(end - path.p);
	s->after_lock = 0;
	span_copy(one, sizeof(one), path);
	if (strstr(s->paths, one) || s->count >= 3)
		return 0;
	used = strlen(s->paths);
	set(s->paths + used, sizeof(s->paths) - used, "%s%s", used ? ", " : "", one);
	s->count++;
	return 0;
}

static void explain_file_locks(const struct ctx *c)
{
	struct lock_search s = { 0, "", 0 };

	SET(code, "criu_file_locks");
	each_line(c->lg, find_locked_files, &s);
	if (s.count)
		SET(message,
		    "a process in the container holds a file lock (flock or POSIX lock) on %s; CRIU "
		    "checkpoints file locks only with its file-locks option",
		    s.paths);
	else
		SET(message, "a process in the container holds a file lock (flock or POSIX lock); "
			     "CRIU checkpoints file locks only with its file-locks option");
	SET(hint, "add the line 'file-locks' to /etc/criu/runc.conf on the engine host (and on the "
		  "host that restores; Docker passes no CRIU options), or release the lock before "
		  "the checkpoint");
}

/* -- ghost files */

static void human_size(struct span bytes, char *buf, size_t size)
{
	char digits[32];
	char *end;
	unsigned long long n;

	span_copy(digits, sizeof(digits), bytes);
	n = strtoull(digits, &end, 10);
	if (!digits[0] || *end)
		set(buf, size, "%s bytes", digits[0] ? digits : "?");
	else if (n >= 1024ull * 1024)
		set(buf, size, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else
		set(buf, size, "%llu bytes", n);
}

static void explain_ghost_file(const struct ctx *c)
{
	/* "Can't dump ghost file /tmp/x of 2097152 size, increase limit" */
	struct span rest = span_after(c->err, "ghost file "), path = rest, bytes = no_span;
	const char *of = NULL, *at;
	char file[512], sz[64];

	SET(code, "criu_ghost_file");
	while ((at = span_find(span_from(rest, of ? of + 4 : rest.p), " of ")))
		of = at; /* the last " of ": a path may contain one */
	if (of) {
		struct span tail = span_from(rest, of + 4);

		path.n = (size_t)(of - rest.p);
		bytes = next_token(&tail);
	}
	span_copy(file, sizeof(file), path);
	human_size(bytes, sz, sizeof(sz));
	if (file[0])
		SET(message,
		    "a process keeps the deleted file %s (%s) open; CRIU copies deleted files into "
		    "the checkpoint and refuses those over its ghost-limit (1 MiB unless set)",
		    file, sz);
	else
		SET(message, "a process keeps a large deleted file open; CRIU copies deleted files "
			     "into the checkpoint and refuses those over its ghost-limit (1 MiB unless "
			     "set)");
	SET(hint, "close deleted files before the checkpoint, or raise the limit with a line such "
		  "as 'ghost-limit 64M' in /etc/criu/runc.conf on the engine host (the file is then "
		  "copied into the checkpoint)");
}

/* -- inotify */

static int find_handle(struct span line, void *arg)
{
	struct span h = field_after(line, "Handle");

	if (!span_find(line, "cannot be opened") || !h.n)
		return 0;
	span_copy(arg, 64, h);
	return 1;
}

static void explain_inotify(const struct ctx *c)
{
	char handle[64] = "";
	char *colon;

	SET(code, "criu_inotify");
	look_back(c, find_handle, handle);
	colon = strchr(handle, ':');
	if (colon) {
		*colon = '\0';
		SET(message,
		    "a process watches a file with inotify or fanotify (inode %s on device %s) that "
		    "CRIU cannot reopen by its file handle, which fails on overlayfs, the container's "
		    "root filesystem",
		    colon + 1, handle);
	} else {
		SET(message, "a process watches a file with inotify or fanotify that CRIU cannot "
			     "reopen by its file handle, which fails on overlayfs, the container's root "
			     "filesystem");
	}
	SET(hint, "stop file watchers before the checkpoint (auto-reload in development mode, "
		  "inotifywait), or keep watched files on a volume; 'force-irmap' in "
		  "/etc/criu/runc.conf on the engine host lets CRIU look for the watched path");
}

/* -- mounts */

struct mount_search {
	char needle[64];
	char path[512];
};

/* "mnt: 	Read 280 mp @ /data" or "Will mount 280 @ /tmp/.criu.mntns.X/mnt-280 /data". */
static int find_mount_path(struct span line, void *arg)
{
	struct mount_search *m = arg;
	struct span rest = span_after(line, m->needle), last = no_span, t;

	if (!rest.n)
		return 0;
	while ((t = next_token(&rest)).n)
		last = t;
	if (!last.n)
		return 0;
	path_copy(m->path, sizeof(m->path), last);
	return 1;
}

static void explain_mount_missing(const struct ctx *c)
{
	/* "No mapping for 280:(null) mountpoint" */
	struct span rest = span_after(c->err, "No mapping for "), id, mp;
	struct mount_search m = { "", "" };
	char idbuf[32];

	SET(code, "criu_mount_missing");
	id = span_before(rest, ":");
	mp = span_trim(span_before(span_after(rest, ":"), " mountpoint"));
	span_copy(idbuf, sizeof(idbuf), id);
	if (mp.n && !span_eq(mp, "(null)")) {
		path_copy(m.path, sizeof(m.path), mp);
	} else if (idbuf[0]) {
		set(m.needle, sizeof(m.needle), "Read %s mp @ ", idbuf);
		if (!each_line(c->lg, find_mount_path, &m)) {
			set(m.needle, sizeof(m.needle), "Will mount %s @ ", idbuf);
			each_line(c->lg, find_mount_path, &m);
		}
	}
	if (m.path[0])
		SET(message,
		    "the container restored into has no mount at %s, which the checkpointed "
		    "container had; CRIU restores only into the same mounts",
		    m.path);
	else
		SET(message,
		    "the container restored into lacks a mount that the checkpointed container had "
		    "(a bind mount or volume; CRIU's log names it only by its number, %s)",
		    idbuf[0] ? idbuf : "?");
	SET(hint, "create the container to restore into with the same bind mounts and volumes "
		  "(HostConfig.Binds, Mounts) as the checkpointed one; on another host their source "
		  "folders must exist there too");
}

/* The mount point after "Mount <id> " ("Mount 919 ./boot/efi (master_id: ..."). */
static void explain_mount_sharing(const struct ctx *c)
{
	struct span rest = span_after(c->err, "Mount "), mp;
	char path[512] = "";

	SET(code, "criu_mount_sharing");
	if (rest.n) {
		next_token(&rest); /* the id */
		mp = next_token(&rest);
		if (mp.n && mp.p[0] != '(')
			path_copy(path, sizeof(path), mp);
	}
	if (path[0])
		SET(message,
		    "the mount %s in the container shares mount events with mounts outside it "
		    "(shared or slave propagation), which CRIU cannot recreate",
		    path);
	else
		SET(message, "a mount in the container shares mount events with mounts outside it "
			     "(shared or slave propagation), which CRIU cannot recreate");
	SET(hint, "use the default private propagation for the container's bind mounts (drop "
		  ":shared, :slave, rshared or rslave from -v, or BindOptions.Propagation)");
}

/* "mnt: 126:./dev/console doesn't have a proper root mount" */
static void explain_bad_root_mount(const struct ctx *c)
{
	struct span words = span_before(error_words(c->err), " doesn't have"), rest = words, t,
		    last = no_span;
	char path[512] = "";
	const char *colon;

	SET(code, "criu_bad_root_mount");
	while ((t = next_token(&rest)).n)
		last = t;
	colon = last.n ? memchr(last.p, ':', last.n) : NULL;
	if (colon)
		path_copy(path, sizeof(path), span_from(last, colon + 1));
	if (!strcmp(path, "/dev/console"))
		SET(message, "CRIU cannot resolve the mount /dev/console: the container has a TTY "
			     "(docker run -t), whose console CRIU cannot checkpoint here");
	else if (path[0])
		SET(message,
		    "CRIU cannot resolve the mount %s in the container: it is a bind mount of a "
		    "single file, or of a part of a filesystem that is not mounted as a whole",
		    path);
	else
		SET(message, "CRIU cannot resolve a mount in the container: a bind mount of a single "
			     "file, or of a part of a filesystem that is not mounted as a whole");
	SET(hint, "run the container without a TTY (no -t) and bind-mount folders rather than "
		  "single files");
}

/* -- root filesystem */

static void explain_rootfs_changed(const struct ctx *c)
{
	struct span rest;
	char path[512], a[32], b[32], why[128];

	SET(code, "criu_rootfs_changed");
	rest = span_after(c->err, "File ");
	if (span_find(c->err, " has bad size ") && rest.n) {
		/* "File etc/passwd has bad size 71 (expect 84)" */
		struct span size = span_after(rest, " has bad size ");

		path_copy(path, sizeof(path), span_before(rest, " has bad size "));
		span_copy(a, sizeof(a), next_token(&size));
		span_copy(b, sizeof(b), span_before(span_after(size, "(expect "), ")"));
		SET(message,
		    "the file %s, open in the checkpointed process, has %s bytes in the container "
		    "restored into but had %s at checkpoint time: its root filesystem is not the "
		    "one that was checkpointed",
		    path, a, b[0] ? b : "another size");
	} else {
		/* "Can't open file tmp/session.db on restore: No such file or directory" */
		rest = span_after(c->err, "open file ");
		path_copy(path, sizeof(path), span_before(rest, " on restore"));
		span_copy(why, sizeof(why), span_after(rest, " on restore: "));
		SET(message,
		    "the file %s, open in the checkpointed process, cannot be opened in the "
		    "container restored into (%s): its root filesystem is not the one that was "
		    "checkpointed",
		    path, why[0] ? why : "missing");
	}
	SET(hint, "a Docker checkpoint holds the processes, not the container's files: restore "
		  "into a container created from an image committed from the checkpointed "
		  "container at checkpoint time, or keep such files on a volume mounted in both");
}

/* -- the engine host */

static void explain_too_old(const struct ctx *c)
{
	SET(code, "criu_too_old");
	if (span_find(c->err, "vDSO"))
		SET(message, "CRIU on the engine host is too old for its Linux kernel: it cannot "
			     "read the vDSO layout of Linux 6.13 and later (CRIU before 4.1)");
	else
		SET(message, "CRIU on the engine host is too old for its Linux kernel: since Linux "
			     "6.16 it fails on every process with a TCP socket (SO_PASSCRED is refused "
			     "there; CRIU before 4.2)");
	SET(hint, "install CRIU 4.2 or newer on the engine host and put it first on dockerd's "
		  "and containerd's PATH (Debian 12's 3.17 and Debian 13's 4.1 fail on current "
		  "kernels); 'criu check' should say 'Looks good'");
}

static void explain_kernel_feature(const struct ctx *c)
{
	SET(code, "criu_kernel_feature");
	if (span_find(c->err, "rlimit")) {
		/* prlimit() on another user's process needs CAP_SYS_RESOURCE */
		SET(message, "CRIU cannot read the resource limits of the container's processes: "
			     "they run as a user other than root, and CRIU runs without the "
			     "CAP_SYS_RESOURCE capability on the engine host");
		SET(hint, "run the engine (containerd, runc and so CRIU) with root's full set of "
			  "capabilities, or run the container's processes as root (--user 0)");
	} else if (span_find(c->err, "map_files")) {
		SET(message, "CRIU cannot read /proc/<pid>/map_files: it runs without the "
			     "CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE capability");
		SET(hint, "run the engine (dockerd and containerd) as root");
	} else {
		SET(message, "the engine host's kernel lacks a feature CRIU needs: "
			     "PTRACE_O_SUSPEND_SECCOMP, to checkpoint processes under a seccomp "
			     "profile");
		SET(hint, "use a newer kernel on the engine host, or run the container with "
			  "--security-opt seccomp=unconfined");
	}
}

static void explain_cgroup(const struct ctx *c)
{
	struct span rest = span_after(c->err, "controller dir ");
	char dir[256];

	SET(code, "criu_cgroup");
	span_copy(dir, sizeof(dir), next_token(&rest));
	if (dir[0] && dir[strlen(dir) - 1] == ':')
		dir[strlen(dir) - 1] = '\0';
	SET(message,
	    "CRIU could not mount the cgroup controller %s for the restore: the engine host's "
	    "cgroup layout differs from the one where the checkpoint was taken",
	    dir[0] ? dir : "it needs");
	SET(hint, "use the same cgroup version (v1 or v2) and layout on both engine hosts");
}

static void explain_network_lock(const struct ctx *c)
{
	SET(code, "criu_network_lock");
	if (span_find(c->err, "nftables"))
		SET(message, "CRIU could not lock the container's network with nftables (it blocks "
			     "traffic during a checkpoint or restore)");
	else
		SET(message, "CRIU could not lock the container's network with iptables (it blocks "
			     "traffic during a checkpoint or restore)");
	SET(hint, "check that iptables or nftables work on the engine host, or choose another way "
		  "with the 'network-lock' option in /etc/criu/runc.conf (iptables, nftables or "
		  "skip)");
}

/* ---- the table */

struct pattern {
	const char *needle;
	const char *also; /* a second piece the line must have, or NULL */
	void (*explain)(const struct ctx *c);
};

static const struct pattern patterns[] = {
	{ "External socket is used", NULL, explain_unix_socket },
	{ "half of stream unix connection", NULL, explain_unix_socket },
	{ "Connected TCP socket", NULL, explain_tcp_established },
	{ "In-flight connection", NULL, explain_tcp_in_flight },
	{ "Found dangling tty", NULL, explain_tty },
	{ "Don't have tty to inherit session from", NULL, explain_tty },
	{ "Some file locks are hold by dumping tasks", NULL, explain_file_locks },
	{ "Can't dump ghost file", NULL, explain_ghost_file },
	{ "Can't dump that handle", NULL, explain_inotify },
	{ "cannot be opened", "Handle", explain_inotify },
	{ "No mapping for", "mountpoint", explain_mount_missing },
	{ "has unreachable sharing", NULL, explain_mount_sharing },
	{ "doesn't have a proper root mount", NULL, explain_bad_root_mount },
	{ " has bad size ", "File ", explain_rootfs_changed },
	{ "Can't open file ", " on restore", explain_rootfs_changed },
	{ "Unexpected rt vDSO area bounds", NULL, explain_too_old },
	{ "Can't get 1:16 opt", NULL, explain_too_old },
	{ "PTRACE_O_SUSPEND_SECCOMP", NULL, explain_kernel_feature },
	{ "map_files is inaccessible", NULL, explain_kernel_feature },
	{ "Can't get rlimit", NULL, explain_kernel_feature },
	{ "Can't mount controller dir", NULL, explain_cgroup },
	{ "Locking network failed", NULL, explain_network_lock },
};

static const struct pattern *match(struct span err)
{
	size_t i;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		if (span_find(err, patterns[i].needle) &&
		    (!patterns[i].also || span_find(err, patterns[i].also)))
			return &patterns[i];
	return NULL;
}

/* ---- no known cause */

struct scan {
	struct line cause;   /* the first error that may be a cause */
	struct line summary; /* "Dumping FAILED.", or else the last error that is
				no cause (but rlimit) */
	struct line last;    /* the last line with text */
	int have_cause, have_summary, have_last, saw_rlimit, saw_success;
};

static void explain_unknown(const struct scan *s, struct criu_diagnosis *out)
{
	struct span err = no_span;
	char text[900];

	set(out->code, sizeof(out->code), "criu_failed");
	if (s->have_cause) {
		span_copy(out->criu_line, sizeof(out->criu_line), s->cause.text);
		error_text(s->cause.text, &err);
		span_copy(text, sizeof(text), err);
		set(out->message, sizeof(out->message), "CRIU failed: %s", text);
		set(out->hint, sizeof(out->hint),
		    "this CRIU error has no known remedy here: read the lines before it in CRIU's "
		    "log, and run 'criu check' on the engine host");
		return;
	}
	if (!s->have_last) {
		set(out->message, sizeof(out->message),
		    "CRIU's log is empty: CRIU did not run, or its log was lost before it was read");
		set(out->hint, sizeof(out->hint),
		    "read Docker's error message; on the engine host, check that CRIU runs ('criu "
		    "check') and is found first on dockerd's and containerd's PATH");
		return;
	}
	if (s->saw_success) {
		const struct line *l = s->have_summary ? &s->summary : &s->last;

		span_copy(out->criu_line, sizeof(out->criu_line), l->text);
		span_copy(text, sizeof(text), span_trim(l->text));
		set(out->message, sizeof(out->message),
		    "CRIU's log reports success (its last line: %s); what failed came after CRIU, "
		    "in runc, containerd or Docker",
		    text);
		set(out->hint, sizeof(out->hint),
		    "read Docker's error message, and the engine's logs on the engine host");
		return;
	}
	if (s->have_summary && error_text(s->summary.text, &err)) {
		span_copy(out->criu_line, sizeof(out->criu_line), s->summary.text);
		span_copy(text, sizeof(text), err);
	} else {
		span_copy(out->criu_line, sizeof(out->criu_line), s->last.text);
		span_copy(text, sizeof(text), span_trim(s->last.text));
	}
	set(out->message, sizeof(out->message),
	    "CRIU failed without logging a cause; its last word was: %s%s", text,
	    s->saw_rlimit ? " (the rlimit error at the start of every log here is harmless)" : "");
	set(out->hint, sizeof(out->hint),
	    "the log may have been cut short: read all of it and Docker's error message, and run "
	    "'criu check' on the engine host");
}

/* ---- interface */

void criu_explain(const char *log, size_t len, struct criu_diagnosis *out)
{
	struct log lg = { log ? log : "", log ? len : 0 };
	struct scan s;
	struct line l;
	struct span err;
	size_t at;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	for (at = 0; line_at(&lg, at, &l); at = l.next) {
		const struct pattern *p;

		if (span_trim(l.text).n) {
			s.last = l;
			s.have_last = 1;
		}
		if (span_find(l.text, "finished successfully"))
			s.saw_success = 1;
		if (!error_text(l.text, &err))
			continue;
		if (!is_cause(err)) {
			if (span_find(err, "RLIMIT_NOFILE")) {
				s.saw_rlimit = 1;
			} else if (s.have_summary != 2) {
				s.summary = l;
				s.have_summary = span_find(err, "FAILED") ? 2 : 1;
			}
			continue;
		}
		p = match(err);
		if (p) {
			struct ctx c = { &lg, &l, err, out };

			span_copy(out->criu_line, sizeof(out->criu_line), l.text);
			p->explain(&c);
			return;
		}
		if (!s.have_cause) {
			s.cause = l;
			s.have_cause = 1;
		}
	}
	explain_unknown(&s, out);
}

void criu_log_tail(const char *log, size_t len, int lines, char *out, size_t outlen)
{
	size_t start = 0, pos, n, i;
	const char *nl;
	int k;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!log || !len || lines <= 0)
		return;
	/* A final "\n" ends the last line; it does not start an empty one. */
	pos = log[len - 1] == '\n' ? len - 1 : len;
	for (k = 0; k < lines; k++) {
		nl = pos ? memrchr(log, '\n', pos) : NULL;
		if (!nl) {
			start = 0;
			break;
		}
		start = (size_t)(nl - log) + 1;
		pos = (size_t)(nl - log);
	}
	/* Drop lines from the front until the rest fits. */
	while (len - start > outlen - 1) {
		nl = memchr(log + start, '\n', len - start);
		if (!nl || (size_t)(nl - log) + 1 >= len)
			break;
		start = (size_t)(nl - log) + 1;
	}
	n = len - start;
	if (n > outlen - 1)
		n = utf8_cut(log + start, outlen - 1);
	for (i = 0; i < n; i++)
		out[i] = log[start + i] ? log[start + i] : '?';
	out[n] = '\0';
}

int criu_log_path_from_error(const char *docker_error, char *path, size_t pathlen)
{
	static const char *const keys[] = { "path=", "log file:", NULL };
	const char *k, *s;
	size_t n;
	int i;

	if (pathlen)
		path[0] = '\0';
	if (!docker_error)
		return 0;
	for (i = 0; keys[i]; i++) {
		for (k = strstr(docker_error, keys[i]); k; k = strstr(k + 1, keys[i])) {
			s = k + strlen(keys[i]);
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s != '/')
				continue;
			n = strcspn(s, " \t\r\n\"");
			while (n > 1 && s[n - 1] == ':') /* "...criu-dump.log: unknown" */
				n--;
			if (n >= pathlen)
				return 0;
			memcpy(path, s, n);
			path[n] = '\0';
			return 1;
		}
	}
	/* Podman names runc's command line instead: "`/usr/bin/runc checkpoint
	 * --image-path X --work-path DIR ID` failed"; runc writes CRIU's log
	 * into DIR as dump.log (or restore.log) */
	k = strstr(docker_error, "--work-path ");
	if (k) {
		const char *file = strstr(docker_error, "runc restore") ? "/restore.log" : "/dump.log";

		s = k + 12;
		n = strcspn(s, " \t\r\n\"`");
		if (*s != '/' || n + strlen(file) >= pathlen)
			return 0;
		memcpy(path, s, n);
		memcpy(path + n, file, strlen(file) + 1);
		return 1;
	}
	return 0;
}

/* --- CRIU's statistics file */

#define CRIU_IMG_SERVICE_MAGIC 0x55105940u
#define CRIU_STATS_MAGIC 0x57093306u

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A protobuf varint at *p (before end): 0 and *v, or -1. */
static int varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Skips a field of wire type wt, or -1. */
static int skip_field(const unsigned char **p, const unsigned char *end, unsigned wt)
{
	uint64_t v;

	switch (wt) {
	case 0: return varint(p, end, &v);
	case 1: v = 8; break;
	case 2:
		if (varint(p, end, &v))
			return -1;
		break;
	case 5: v = 4; break;
	default: return -1;
	}
	if (v > (uint64_t)(end - *p))
		return -1;
	*p += v;
	return 0;
}

int criu_dump_stats_parse(const unsigned char *img, size_t len, struct criu_dump_stats *out)
{
	const unsigned char *p, *end, *d, *dend;
	uint64_t key, v;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (len < 12 || le32(img) != CRIU_IMG_SERVICE_MAGIC || le32(img + 4) != CRIU_STATS_MAGIC)
		return -1;
	n = le32(img + 8);
	if (n > len - 12)
		return -1;
	p = img + 12;
	end = p + n;
	/* StatsEntry { optional DumpStatsEntry dump = 1; RestoreStatsEntry restore = 2; } */
	while (p < end) {
		if (varint(&p, end, &key))
			return -1;
		if (key != ((1u << 3) | 2)) {
			if (skip_field(&p, end, (unsigned)(key & 7)))
				return -1;
			continue;
		}
		if (varint(&p, end, &v) || v > (uint64_t)(end - p))
			return -1;
		d = p;
		dend = p + v;
		p = dend;
		while (d < dend) {
			if (varint(&d, dend, &key))
				return -1;
			if ((key & 7) != 0) {
				if (skip_field(&d, dend, (unsigned)(key & 7)))
					return -1;
				continue;
			}
			if (varint(&d, dend, &v))
				return -1;
			switch (key >> 3) {
			case 1: out->freezing_time_us = v; break;
			case 2: out->frozen_time_us = v; break;
			case 3: out->memdump_time_us = v; break;
			case 4: out->memwrite_time_us = v; break;
			case 5: out->pages_scanned = v; break;
			case 7: out->pages_written = v; break;
			default: break;
			}
		}
		return 0;
	}
	return -1;
}
