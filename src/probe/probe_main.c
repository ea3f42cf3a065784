/*
 * probe_main.c - checkpointd-probe, the program of checkpointd's helper image
 * (see src/probe/README.md).  Not part of libcheckpointd: built alone,
 * statically, with libc only.
 *
 * Run in a helper container that shares the target container's PID
 * namespace, it looks at every process it can see in /proc except itself
 * and prints ONE JSON object on stdout about what would trouble a CRIU
 * dump of them: unix sockets connected outside, TCP connections, pending
 * accepts, terminals, file locks, inotify watches, deleted open files and
 * file bind mounts.  It changes nothing.  Exit status 0 when the object
 * was written, 1 otherwise (then stdout holds nothing useful).
 *
 * "checkpointd-probe lo-up", run in a container's network namespace with
 * CAP_NET_ADMIN, sets that namespace's loopback up (the kernel gives it
 * 127.0.0.1 and ::1 again): Podman leaves it down after restoring a
 * container whose network mode is "none".  Exit status 0 when it is up.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#define PROBE_FORMAT_VERSION 1
#define MAX_PROCS 32768       /* processes looked at */
#define MAX_SOCKS 1000000     /* entries of /proc/net/{unix,tcp,tcp6} kept */
#define MAX_HELD 1000000      /* socket fds kept */
#define MAX_FINDINGS 1000     /* findings written */
#define FIELD_MAX 1024        /* bytes of one string field written */
#define NS_UNKNOWN (1ul << 62) /* | pid: a namespace the probe cannot name */

enum kind {
	K_UNIX_EXTERNAL,
	K_TCP_ESTABLISHED,
	K_TCP_IN_FLIGHT,
	K_TTY,
	K_FILE_LOCK,
	K_INOTIFY,
	K_DELETED_FILE,
	K_FILE_BIND_MOUNT,
};

static const char *const kind_names[] = {
	"unix_socket_external", "tcp_established", "tcp_in_flight", "tty",
	"file_lock",            "inotify",         "deleted_file",  "file_bind_mount",
};

struct proc {
	int pid;
	char comm[64];
	unsigned long netns; /* inode of ns/net; or a per-pid stand-in */
	unsigned long mntns;
	unsigned tty_nr;     /* field 7 of /proc/<pid>/stat */
	char tty_path[128];  /* an fd of it that names the controlling tty */
	const char *socket_mount; /* a socket file bind mounted in its mount ns */
};

enum sock_family { S_UNIX, S_TCP4, S_TCP6 };

struct sock {
	unsigned long ino;
	unsigned char family; /* enum sock_family */
	unsigned char has_peer; /* peer is known (sock_diag) */
	unsigned type, state, flags;
	unsigned long rxq;
	unsigned long peer; /* unix: inode of the peer, 0 = none */
	unsigned lport, rport;
	unsigned char laddr[16], raddr[16];
	char *path; /* unix: its name; NULL when it has none */
};

struct held {
	unsigned long ino;
	int proc;
	int fd;
};

struct finding {
	enum kind kind;
	int proc;
	int fd; /* -1: not about one fd */
	long long size; /* -1: none */
	char *detail, *path, *local, *remote, *tty;
};

static struct proc *procs;
static int nprocs;
static struct sock *socks;
static size_t nsocks, asocks;
static struct held *helds;
static size_t nhelds, ahelds;
static int locks_exist; /* /proc/locks is not empty */
static struct finding *findings;
static size_t nfindings;
static int truncated;
static int unreadable;
static unsigned long self_netns;
static int diag_ok; /* the sock_diag dump of our own netns worked */
static int peers_unknown; /* unix sockets held whose peer is unknown */

static void die(const char *what)
{
	fprintf(stderr, "checkpointd-probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* arr (*alloc elements of size sz, n used) with room for one more: arr
 * itself or a bigger copy; NULL when n has reached max. */
static void *grow(void *arr, size_t *alloc, size_t n, size_t sz, size_t max)
{
	size_t want;
	void *q;

	if (n < *alloc)
		return arr;
	if (n >= max)
		return NULL;
	want = *alloc ? *alloc * 2 : 64;
	if (want > max)
		want = max;
	q = realloc(arr, want * sz);
	if (!q)
		die("out of memory");
	*alloc = want;
	return q;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		die("out of memory");
	return d;
}

static char *xfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

/* ---- reading /proc ---------------------------------------------------- */

/* Reads a small file into buf (NUL-terminated); bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)got < size - 1) {
		n = read(fd, buf + got, size - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

static ssize_t readlink0(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The inode of a namespace link ("net:[4026531840]"), 0 when unreadable. */
static unsigned long ns_inode(const char *path)
{
	char buf[64];
	const char *p;

	if (readlink0(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strchr(buf, '[');
	return p ? strtoul(p + 1, NULL, 10) : 0;
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* A new finding, or NULL when there are MAX_FINDINGS already. */
static struct finding *add_finding(enum kind k, int proc, int fd, const char *detail,
				   const char *path)
{
	struct finding *f;

	if (nfindings >= MAX_FINDINGS) {
		truncated = 1;
		return NULL;
	}
	f = &findings[nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = k;
	f->proc = proc;
	f->fd = fd;
	f->size = -1;
	f->detail = xstrdup(detail);
	f->path = path && *path ? xstrdup(path) : NULL;
	return f;
}

/* Processes: comm, stat's tty_nr, namespaces.  0 when the pid is gone. */
static int read_proc(struct proc *p, int pid)
{
	char path[64], buf[1024];
	const char *s;
	unsigned long v;
	int i;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* "pid (comm) S ppid pgrp session tty_nr ..."; comm may hold ')' */
	s = strrchr(buf, ')');
	if (!s)
		return 0;
	s++;
	for (i = 0; i < 5 && s; i++) {
		while (*s == ' ')
			s++;
		if (i == 4) {
			v = strtoul(s, NULL, 10);
			p->tty_nr = (unsigned)v;
		}
		s = strchr(s, ' ');
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (read_small(path, p->comm, sizeof(p->comm)) > 0)
		p->comm[strcspn(p->comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	p->netns = ns_inode(path);
	if (!p->netns)
		p->netns = NS_UNKNOWN | (unsigned long)pid;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	p->mntns = ns_inode(path);
	if (!p->mntns)
		p->mntns = NS_UNKNOWN | (unsigned long)pid;
	return 1;
}

/* ---- sockets ---------------------------------------------------------- */

static struct sock *new_sock(void)
{
	struct sock *s = grow(socks, &asocks, nsocks, sizeof(*socks), MAX_SOCKS);

	if (!s) {
		truncated = 1;
		return NULL;
	}
	socks = s;
	s = &socks[nsocks++];
	memset(s, 0, sizeof(*s));
	return s;
}

/* /proc/<pid>/net/unix:
 * "Num: RefCount Protocol Flags Type St Inode Path" */
static void read_unix_table(int pid)
{
	char path[64], line[4096 + 128];
	unsigned long ino;
	unsigned flags, type, st;
	struct sock *s;
	FILE *f;
	int off;

	snprintf(path, sizeof(path), "/proc/%d/net/unix", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		off = 0;
		if (sscanf(line, "%*x: %*x %*x %x %x %x %lu%n", &flags, &type, &st, &ino, &off) != 4)
			continue;
		if (!ino || !(s = new_sock()))
			continue;
		s->ino = ino;
		s->family = S_UNIX;
		s->flags = flags;
		s->type = type;
		s->state = st;
		line[strcspn(line, "\n")] = '\0';
		if (line[off] == ' ' && line[off + 1])
			s->path = xstrdup(line + off + 1);
	}
	fclose(f);
}

/* An address of /proc/net/tcp{,6}: the kernel prints each 32-bit word of
 * the network-order address as a native integer, so copying the parsed
 * words back gives the bytes. */
static int parse_addr(const char *hex, unsigned char *out, int words)
{
	char w[9];
	uint32_t v;
	int i;

	if ((int)strlen(hex) != 8 * words)
		return -1;
	for (i = 0; i < words; i++) {
		memcpy(w, hex + 8 * i, 8);
		w[8] = '\0';
		v = (uint32_t)strtoul(w, NULL, 16);
		memcpy(out + 4 * i, &v, 4);
	}
	return 0;
}

static void read_tcp_table(int pid, int v6)
{
	char path[64], line[512], la[40], ra[40];
	unsigned lp, rp, st;
	unsigned long txq, rxq, ino;
	struct sock *s;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, v6 ? "tcp6" : "tcp");
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, " %*d: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %lx:%lx %*x:%*x %*x %*u %*d %lu",
			   la, &lp, ra, &rp, &st, &txq, &rxq, &ino) != 8)
			continue;
		if (!ino || !(s = new_sock()))
			continue;
		s->ino = ino;
		s->family = v6 ? S_TCP6 : S_TCP4;
		s->state = st;
		s->rxq = rxq;
		s->lport = lp;
		s->rport = rp;
		if (parse_addr(la, s->laddr, v6 ? 4 : 1) < 0 || parse_addr(ra, s->raddr, v6 ? 4 : 1) < 0)
			nsocks--;
	}
	fclose(f);
}

static int cmp_sock(const void *a, const void *b)
{
	const struct sock *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static struct sock *find_sock(unsigned long ino)
{
	struct sock key;

	key.ino = ino;
	return nsocks ? bsearch(&key, socks, nsocks, sizeof(*socks), cmp_sock) : NULL;
}

/* One message of a sock_diag answer: the socket's inode and, when it has
 * one, its peer's (UNIX_DIAG_PEER).  Copies out of the buffer, so nothing
 * depends on its alignment. */
static void diag_message(const unsigned char *p, size_t len)
{
	struct unix_diag_msg m;
	struct rtattr a;
	struct sock *s;
	uint32_t peer = 0;
	size_t off;

	if (len < NLMSG_HDRLEN + sizeof(m))
		return;
	memcpy(&m, p + NLMSG_HDRLEN, sizeof(m));
	for (off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(m)); off + sizeof(a) <= len;
	     off += RTA_ALIGN(a.rta_len)) {
		memcpy(&a, p + off, sizeof(a));
		if (a.rta_len < sizeof(a) || off + a.rta_len > len)
			break;
		if (a.rta_type == UNIX_DIAG_PEER && a.rta_len >= sizeof(a) + 4)
			memcpy(&peer, p + off + RTA_LENGTH(0), 4);
	}
	s = find_sock(m.udiag_ino);
	if (s && s->family == S_UNIX) {
		s->has_peer = 1;
		s->peer = peer;
	}
}

/* Peers of the unix sockets of the probe's own network namespace, from a
 * NETLINK_SOCK_DIAG dump (what `ss -x` shows).  /proc/net/unix has no
 * peers, and sock_diag only answers for the caller's namespace. */
static void unix_diag_peers(void)
{
	static unsigned char buf[65536];
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg;
	struct sockaddr_nl sa;
	struct nlmsghdr h;
	size_t off, i;
	ssize_t n;
	int fd, done = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = 1;
	msg.req.sdiag_family = AF_UNIX;
	msg.req.udiag_states = ~0u;
	msg.req.udiag_show = UDIAG_SHOW_PEER;
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	while (!done) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (off = 0; !done && off + sizeof(h) <= (size_t)n; off += NLMSG_ALIGN(h.nlmsg_len)) {
			memcpy(&h, buf + off, sizeof(h));
			if (h.nlmsg_len < sizeof(h) || off + h.nlmsg_len > (size_t)n) {
				done = 1; /* malformed */
			} else if (h.nlmsg_type == NLMSG_DONE) {
				done = 1;
				diag_ok = 1;
			} else if (h.nlmsg_type == NLMSG_ERROR) {
				done = 1; /* e.g. no unix_diag in the kernel */
			} else if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
				diag_message(buf + off, h.nlmsg_len);
			}
		}
	}
	close(fd);
	if (!diag_ok) /* a partial answer is no answer */
		for (i = 0; i < nsocks; i++)
			socks[i].has_peer = 0;
}

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int is_held(unsigned long ino)
{
	struct held key;

	key.ino = ino;
	return nhelds && bsearch(&key, helds, nhelds, sizeof(*helds), cmp_held) != NULL;
}

static void format_addr(const struct sock *s, int remote, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	const unsigned char *bytes = remote ? s->raddr : s->laddr;
	unsigned port = remote ? s->rport : s->lport;

	if (s->family == S_TCP4) {
		inet_ntop(AF_INET, bytes, a, sizeof(a));
		snprintf(out, size, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, bytes, a, sizeof(a));
		snprintf(out, size, "[%s]:%u", a, port);
	}
}

static const char *tcp_state_name(unsigned st)
{
	static const char *const names[] = {
		"?",         "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
		"NEW_SYN_RECV",
	};

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static const char *unix_type_name(unsigned type)
{
	return type == 1 ? "stream" : type == 2 ? "dgram" : type == 5 ? "seqpacket" : "?";
}

static void check_socket(const struct held *h)
{
	struct sock *s = find_sock(h->ino), *peer;
	struct proc *p = &procs[h->proc];
	char l[64], r[64], *d;
	struct finding *f;

	if (!s)
		return; /* not of a table we read (e.g. passed in from another netns) */
	if (s->family == S_UNIX) {
		const char *path = s->path;

		if (s->has_peer) {
			if (!s->peer || is_held(s->peer))
				return;
			peer = find_sock(s->peer);
			if (!path && peer && peer->path)
				path = peer->path;
			d = xfmt("%s unix socket connected to a socket that no process of the "
				 "container holds (peer inode %lu)",
				 unix_type_name(s->type), s->peer);
		} else {
			/* No peers (the probe is in another network namespace):
			 * a connected stream socket is suspect when a socket file is
			 * bind mounted into the process's mount namespace. */
			if ((s->type != 1 && s->type != 5) || s->state != 3 || !p->socket_mount)
				return;
			if (path && strcmp(path, p->socket_mount) != 0)
				return; /* named after a listener of the container itself */
			d = xfmt("%s unix socket connected; its peer is unknown (the probe is not in "
				 "the container's network namespace) and a socket is bind mounted at %s",
				 unix_type_name(s->type), p->socket_mount);
			if (!path)
				path = p->socket_mount;
		}
		add_finding(K_UNIX_EXTERNAL, h->proc, h->fd, d, path);
		free(d);
		return;
	}
	if (s->state == 0x0A) {
		if (!s->rxq)
			return;
		format_addr(s, 0, l, sizeof(l));
		d = xfmt("listening TCP socket with %lu connection(s) waiting to be accepted", s->rxq);
		f = add_finding(K_TCP_IN_FLIGHT, h->proc, h->fd, d, NULL);
		if (f)
			f->local = xstrdup(l);
		free(d);
		return;
	}
	if (s->state == 0x07)
		return; /* CLOSE: bound or unconnected */
	format_addr(s, 0, l, sizeof(l));
	format_addr(s, 1, r, sizeof(r));
	d = xfmt("TCP connection in state %s", tcp_state_name(s->state));
	f = add_finding(K_TCP_ESTABLISHED, h->proc, h->fd, d, NULL);
	if (f) {
		f->local = xstrdup(l);
		f->remote = xstrdup(r);
	}
	free(d);
}

/* ---- locks, mounts, files ---------------------------------------------- */

/* Whether /proc/locks lists any lock ("1: FLOCK  ADVISORY  WRITE 1234
 * fd:01:5678 0 EOF"); it lists the locks of the processes the probe's PID
 * namespace shows.  Which fd holds one is told by the fd's fdinfo. */
static int any_locks(void)
{
	char line[256];
	FILE *f = fopen("/proc/locks", "re");
	int any;

	if (!f)
		return 1; /* unknown: look at every fd */
	any = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	return any;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Mount points the runtime makes itself: masked and read-only /proc and
 * /sys files, and Docker's own /etc files.  runc checkpoints these. */
static int runtime_mount(const char *mp)
{
	static const char *const files[] = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
					    "/dev/console"};
	size_t i;

	if (strncmp(mp, "/proc/", 6) == 0 || strncmp(mp, "/sys/", 5) == 0)
		return 1;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(mp, files[i]) == 0)
			return 1;
	return 0;
}

static const char *file_type(mode_t m)
{
	return S_ISSOCK(m)  ? "a socket"
	       : S_ISREG(m) ? "a regular file"
	       : S_ISCHR(m) ? "a character device"
	       : S_ISBLK(m) ? "a block device"
	       : S_ISFIFO(m) ? "a FIFO"
			     : "a file";
}

/* File bind mounts of the mount namespace of procs[pi] (once per
 * namespace, reported for its first process). */
static void read_mounts(int pi)
{
	char path[64], line[8192], full[PATH_MAX + 64], *f[10], *save, *tok, *d;
	int pid = procs[pi].pid, n, i, sep;
	struct stat st;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	fp = fopen(path, "re");
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		n = 0;
		sep = -1;
		for (tok = strtok_r(line, " ", &save); tok && n < 10; tok = strtok_r(NULL, " ", &save)) {
			if (sep < 0 && n >= 6 && strcmp(tok, "-") == 0) {
				sep = n;
				continue;
			}
			if (sep < 0 && n >= 6)
				continue; /* optional fields */
			f[n++] = tok;
		}
		if (n < 8)
			continue;
		unescape(f[3]);
		unescape(f[4]);
		unescape(f[7]);
		if (strcmp(f[4], "/") == 0 || runtime_mount(f[4]))
			continue;
		if (snprintf(full, sizeof(full), "/proc/%d/root%s", pid, f[4]) >= (int)sizeof(full))
			continue;
		if (stat(full, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		d = xfmt("bind mount of %s (%s of %s %s)", file_type(st.st_mode), f[3], f[6], f[7]);
		add_finding(K_FILE_BIND_MOUNT, pi, -1, d, f[4]);
		free(d);
		/* the first socket mount, for check_socket()'s fallback */
		if (S_ISSOCK(st.st_mode) && !procs[pi].socket_mount) {
			d = xstrdup(f[4]);
			for (i = 0; i < nprocs; i++)
				if (procs[i].mntns == procs[pi].mntns)
					procs[i].socket_mount = d;
		}
	}
	fclose(fp);
}

static const char *tty_name(unsigned tty_nr, char *buf, size_t size)
{
	unsigned maj = (tty_nr >> 8) & 0xfff, min = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);

	if (maj >= 136 && maj <= 143)
		snprintf(buf, size, "/dev/pts/%u", (maj - 136) * 256 + min);
	else if (maj == 4 && min < 64)
		snprintf(buf, size, "/dev/tty%u", min);
	else if (maj == 4)
		snprintf(buf, size, "/dev/ttyS%u", min - 64);
	else if (maj == 5 && min == 0)
		snprintf(buf, size, "/dev/tty");
	else if (maj == 5 && min == 1)
		snprintf(buf, size, "/dev/console");
	else
		snprintf(buf, size, "char device %u:%u", maj, min);
	return buf;
}

/* Counts the lines of /proc/<pid>/fdinfo/<fd> that start with prefix;
 * copies the rest of the first one into first. */
static int fdinfo_lines(int pid, int fd, const char *prefix, char *first, size_t size)
{
	char path[64], line[512];
	size_t plen = strlen(prefix);
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, prefix, plen) != 0)
			continue;
		if (!n++ && first) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(first, size, "%s", line + plen);
		}
	}
	fclose(f);
	return n;
}

/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" -> "FLOCK ADVISORY WRITE" */
static void lock_words(const char *line, char *out, size_t size)
{
	char t1[16] = "", t2[16] = "", t3[16] = "";

	if (sscanf(line, "%*d: %15s %15s %15s", t1, t2, t3) == 3)
		snprintf(out, size, "%s %s %s", t1, t2, t3);
	else
		snprintf(out, size, "%s", line);
}

static void check_file(int pi, int fd, const char *target, const char *fdpath)
{
	static const char deleted[] = " (deleted)";
	struct proc *p = &procs[pi];
	size_t len = strlen(target), dl = sizeof(deleted) - 1;
	unsigned maj, min;
	struct finding *f;
	struct stat st;
	char *d, *name;

	if (strcmp(target, "anon_inode:inotify") == 0) {
		int n = fdinfo_lines(p->pid, fd, "inotify wd:", NULL, 0);

		if (n > 0) {
			d = xfmt("inotify instance with %d watch%s", n, n == 1 ? "" : "es");
			add_finding(K_INOTIFY, pi, fd, d, NULL);
			free(d);
		}
		return;
	}
	if (target[0] != '/')
		return;
	if (locks_exist) {
		char line[256], what[64];
		int n = fdinfo_lines(p->pid, fd, "lock:\t", line, sizeof(line));

		if (n > 0) {
			lock_words(line, what, sizeof(what));
			d = n == 1 ? xfmt("%s lock", what) : xfmt("%d locks, the first %s", n, what);
			add_finding(K_FILE_LOCK, pi, fd, d, target);
			free(d);
		}
	}
	if (!(len > dl && strcmp(target + len - dl, deleted) == 0) &&
	    !(p->tty_nr && !p->tty_path[0] && strncmp(target, "/dev/", 5) == 0))
		return; /* nothing to stat for */
	if (stat(fdpath, &st) < 0)
		return;
	if (p->tty_nr && S_ISCHR(st.st_mode) && !p->tty_path[0]) {
		maj = (p->tty_nr >> 8) & 0xfff;
		min = (p->tty_nr & 0xff) | ((p->tty_nr >> 12) & 0xfff00);
		if (major(st.st_rdev) == maj && minor(st.st_rdev) == min)
			snprintf(p->tty_path, sizeof(p->tty_path), "%s", target);
	}
	if (len > dl && strcmp(target + len - dl, deleted) == 0 && S_ISREG(st.st_mode) &&
	    strncmp(target, "/memfd:", 7) != 0) {
		name = xstrdup(target);
		name[len - dl] = '\0';
		d = xfmt("file deleted while open, %lld bytes", (long long)st.st_size);
		f = add_finding(K_DELETED_FILE, pi, fd, d, name);
		if (f)
			f->size = (long long)st.st_size;
		free(d);
		free(name);
	}
}

static void add_held(unsigned long ino, int pi, int fd)
{
	struct held *h = grow(helds, &ahelds, nhelds, sizeof(*helds), MAX_HELD);

	if (!h) {
		truncated = 1;
		return;
	}
	helds = h;
	helds[nhelds].ino = ino;
	helds[nhelds].proc = pi;
	helds[nhelds].fd = fd;
	nhelds++;
}

static void walk_fds(int pi)
{
	char dir[64], path[96], target[PATH_MAX + 1];
	struct proc *p = &procs[pi];
	unsigned long ino;
	struct dirent *e;
	int fd, denied = 0;
	DIR *dp;

	/* Without ptrace read access to the process (another uid, more
	 * capabilities than the probe's, not dumpable) the fd directory may
	 * still list, but no link reads: the process counts as unreadable. */
	snprintf(dir, sizeof(dir), "/proc/%d/fd", p->pid);
	dp = opendir(dir);
	if (!dp) {
		denied = errno == EACCES || errno == EPERM;
	} else {
		while ((e = readdir(dp))) {
			if (!is_number(e->d_name))
				continue;
			fd = atoi(e->d_name);
			snprintf(path, sizeof(path), "%s/%d", dir, fd);
			if (readlink0(path, target, sizeof(target)) < 0) {
				denied |= errno == EACCES || errno == EPERM;
				continue;
			}
			if (sscanf(target, "socket:[%lu]", &ino) == 1)
				add_held(ino, pi, fd);
			else
				check_file(pi, fd, target, path);
		}
		closedir(dp);
	}
	unreadable += denied;
	if (p->tty_nr) {
		char name[128];
		struct finding *f = add_finding(K_TTY, pi, -1, "the process has a controlling terminal",
						NULL);

		if (f)
			f->tty = xstrdup(p->tty_path[0] ? p->tty_path
							 : tty_name(p->tty_nr, name, sizeof(name)));
	}
}

/* ---- JSON output ----------------------------------------------------- */

static char *out;
static size_t out_len, out_alloc;

static void out_bytes(const char *s, size_t n)
{
	if (out_len + n + 1 > out_alloc) {
		size_t want = out_alloc ? out_alloc : 65536;
		char *q;

		while (out_len + n + 1 > want)
			want *= 2;
		q = realloc(out, want);
		if (!q)
			die("out of memory");
		out = q;
		out_alloc = want;
	}
	memcpy(out + out_len, s, n);
	out_len += n;
	out[out_len] = '\0';
}

static void out_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_fmt(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_bytes(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string: escapes quotes, backslashes and control characters,
 * replaces bytes that are not UTF-8 with U+FFFD, cuts at FIELD_MAX bytes. */
static void out_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0, len, start;
	char esc[8];

	out_bytes("\"", 1);
	start = out_len;
	while (i < n) {
		if (out_len - start >= FIELD_MAX) {
			out_bytes("...", 3);
			break;
		}
		len = utf8_len(s + i, n - i);
		if (len == 0) {
			out_bytes("\\ufffd", 6);
			i++;
			continue;
		}
		if (len == 1 && (s[i] == '"' || s[i] == '\\')) {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			out_bytes(esc, 2);
		} else if (len == 1 && s[i] < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			out_bytes(esc, 6);
		} else {
			out_bytes((const char *)s + i, len);
		}
		i += len;
	}
	out_bytes("\"", 1);
}

static void out_key_str(const char *key, const char *val)
{
	if (!val)
		return;
	out_fmt(",\"%s\":", key);
	out_str(val);
}

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int px = procs[x->proc].pid, py = procs[y->proc].pid;

	if (px != py)
		return px < py ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

/* At most MAX_FINDINGS findings of at most 6 fields of FIELD_MAX bytes
 * (plus an escape): a few MiB at worst. */
static void write_json(void)
{
	size_t i, off = 0;
	ssize_t n;

	qsort(findings, nfindings, sizeof(*findings), cmp_finding);
	out_fmt("{\"version\":%d,\"processes\":%d,\"unreadable\":%d,\"unix_peers_unknown\":%d,"
		"\"truncated\":%s,\"findings\":[",
		PROBE_FORMAT_VERSION, nprocs, unreadable, peers_unknown, truncated ? "true" : "false");
	for (i = 0; i < nfindings; i++) {
		const struct finding *f = &findings[i];

		out_fmt("%s{\"kind\":\"%s\",\"pid\":%d,\"comm\":", i ? "," : "", kind_names[f->kind],
			procs[f->proc].pid);
		out_str(procs[f->proc].comm);
		if (f->fd >= 0)
			out_fmt(",\"fd\":%d", f->fd);
		out_key_str("detail", f->detail);
		out_key_str("path", f->path);
		out_key_str("local", f->local);
		out_key_str("remote", f->remote);
		out_key_str("tty", f->tty);
		if (f->size >= 0)
			out_fmt(",\"size\":%lld", f->size);
		out_bytes("}", 1);
	}
	out_bytes("]}\n", 3);
	while (off < out_len) {
		n = write(STDOUT_FILENO, out + off, out_len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writing stdout");
		off += (size_t)n;
	}
}

/* ---- main ------------------------------------------------------------ */

/* Whether procs[i] is the first process of its network (net=1) or mount
 * namespace.  Remembers the namespaces seen: few, so a plain list. */
static int first_of_ns(int i, int net)
{
	static unsigned long *seen[2];
	static size_t n[2], alloc[2];
	unsigned long ns = net ? procs[i].netns : procs[i].mntns, *q;
	size_t k;

	for (k = 0; k < n[net]; k++)
		if (seen[net][k] == ns)
			return 0;
	q = grow(seen[net], &alloc[net], n[net], sizeof(*q), (size_t)MAX_PROCS);
	if (q) {
		seen[net] = q;
		seen[net][n[net]++] = ns;
	}
	return 1;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct proc *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Sets the loopback interface of this network namespace up. */
static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		perror("checkpointd-probe: socket");
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		perror("checkpointd-probe: lo");
		close(fd);
		return 1;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr)) {
			perror("checkpointd-probe: setting lo up");
			close(fd);
			return 1;
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int self = getpid(), i, j, pid;
	size_t aprocs = 0, k;
	struct proc *p;
	struct dirent *e;
	DIR *dp;

	if (argc == 2 && strcmp(argv[1], "lo-up") == 0)
		return lo_up();
	if (argc > 1) {
		fprintf(stderr, "usage: checkpointd-probe [lo-up] (no arguments: JSON on stdout)\n");
		return 2;
	}
	findings = calloc(MAX_FINDINGS, sizeof(*findings));
	if (!findings)
		die("out of memory");
	self_netns = ns_inode("/proc/self/ns/net");
	locks_exist = any_locks();

	dp = opendir("/proc");
	if (!dp)
		die("/proc");
	while ((e = readdir(dp))) {
		if (!is_number(e->d_name))
			continue;
		pid = atoi(e->d_name);
		if (pid == self)
			continue;
		p = grow(procs, &aprocs, (size_t)nprocs, sizeof(*procs), MAX_PROCS);
		if (!p) {
			truncated = 1;
			break;
		}
		procs = p;
		if (read_proc(&procs[nprocs], pid))
			nprocs++;
	}
	closedir(dp);
	qsort(procs, (size_t)nprocs, sizeof(*procs), cmp_proc);

	/* each network namespace's tables once, through its first process;
	 * not those the probe cannot name: their fds will not read either */
	for (i = 0; i < nprocs; i++) {
		if (procs[i].netns & NS_UNKNOWN || !first_of_ns(i, 1))
			continue;
		read_unix_table(procs[i].pid);
		read_tcp_table(procs[i].pid, 0);
		read_tcp_table(procs[i].pid, 1);
	}
	qsort(socks, nsocks, sizeof(*socks), cmp_sock);
	for (k = 1, j = 0; k < nsocks; k++) /* an inode is in one table; just in case */
		if (socks[k].ino != socks[j].ino)
			socks[++j] = socks[k];
	nsocks = nsocks ? (size_t)j + 1 : 0;
	for (i = 0; i < nprocs; i++) {
		if (self_netns && procs[i].netns == self_netns) {
			unix_diag_peers();
			break;
		}
	}

	/* each mount namespace's file bind mounts once */
	for (i = 0; i < nprocs; i++)
		if (!(procs[i].mntns & NS_UNKNOWN) && first_of_ns(i, 0))
			read_mounts(i);

	for (i = 0; i < nprocs; i++)
		walk_fds(i);
	qsort(helds, nhelds, sizeof(*helds), cmp_held);

	for (k = 0; k < nhelds; k++) {
		struct sock *s = find_sock(helds[k].ino);

		if (s && s->family == S_UNIX && !s->has_peer)
			peers_unknown++;
		check_socket(&helds[k]);
	}
	write_json();
	return 0;
}
