/*
 * test_criu.c - unit tests of src/criu.c, the CRIU log explainer.
 *
 * The logs under tests/unit/data/criu/ are real: tests/bed/failures.sh made
 * CRIU 4.2 (and Debian 12's 3.17 for too_old) fail through Docker 20.10 and
 * saved them untouched, with Docker's error message beside each
 * (NAME.docker-error.txt); see that folder's README.md.  Cases that could not
 * be made fail here are small logs written from CRIU's message texts.
 * Fixtures are read into buffers of their exact size, with no NUL after
 * them, so the sanitizers catch any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "criu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "tests/unit/data/criu/"

/* ---- helpers */

/* The file's bytes in a buffer of exactly their size (not NUL-terminated;
 * malloc(1) for an empty file).  The caller frees. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	if (!f)
		fail_msg("cannot open %s (run the tests from the repository's root)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	b = malloc(n ? (size_t)n : 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* The same bytes, NUL-terminated, for Docker's error texts. */
static char *slurp_str(const char *path)
{
	size_t n;
	char *b = slurp(path, &n), *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, b, n);
	s[n] = '\0';
	free(b);
	return s;
}

/* A copy of a C string in a buffer of exactly its length (no NUL). */
static char *exact(const char *s, size_t *len)
{
	char *b;

	*len = strlen(s);
	b = malloc(*len ? *len : 1);
	assert_non_null(b);
	memcpy(b, s, *len);
	return b;
}

/* True when line is one whole line of the log (between line ends). */
static int has_line(const char *log, size_t len, const char *line)
{
	size_t n = strlen(line), at = 0;

	while (at + n <= len) {
		const char *nl;

		if (memcmp(log + at, line, n) == 0 &&
		    (at + n == len || log[at + n] == '\n' || log[at + n] == '\r'))
			return 1;
		nl = memchr(log + at, '\n', len - at);
		if (!nl)
			break;
		at = (size_t)(nl - log) + 1;
	}
	return 0;
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* What every diagnosis must be: filled, bounded, no control characters. */
static void assert_sane(const struct criu_diagnosis *d)
{
	const char *fields[] = { d->code, d->message, d->hint, d->criu_line };
	size_t i;
	const char *p;

	assert_true(strlen(d->code) > 0 && strlen(d->code) < sizeof(d->code));
	assert_true(strncmp(d->code, "criu_", 5) == 0);
	assert_true(strlen(d->message) > 20);
	assert_true(strlen(d->hint) > 20);
	assert_true(strlen(d->criu_line) < sizeof(d->criu_line));
	/* the service's jobs_error keeps 512 bytes of a hint */
	if (strcmp(d->code, "criu_failed") != 0)
		assert_true(strlen(d->hint) < 512);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		for (p = fields[i]; *p; p++)
			assert_true((unsigned char)*p >= 0x20 || *p == '\t');
}

/* Explains fixture NAME.log; checks the decisive line is that very line of
 * the file. */
static void explain_fixture(const char *name, const char *line, struct criu_diagnosis *d)
{
	char path[256];
	size_t len;
	char *log;

	snprintf(path, sizeof(path), DATA "%s.log", name);
	log = slurp(path, &len);
	memset(d, 0x5a, sizeof(*d));
	criu_explain(log, len, d);
	assert_sane(d);
	assert_string_equal(d->criu_line, line);
	assert_true(has_line(log, len, line));
	free(log);
}

/* Explains a small log given as a C string (copied without its NUL). */
static void explain_text(const char *text, struct criu_diagnosis *d)
{
	size_t len;
	char *log = exact(text, &len);

	memset(d, 0x5a, sizeof(*d));
	criu_explain(log, len, d);
	assert_sane(d);
	free(log);
}

#define RLIMIT "(00.039500) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n"
#define DUMP_FAILED "(00.162375) Error (criu/cr-dump.c:1975): Dumping FAILED.\n"

/* ---- real logs */

static void test_real_external_unix_socket(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("external_unix_socket",
			"(00.118541) Error (criu/sk-unix.c:874): unix: External socket is used. "
			"Consider using --ext-unix-sk option.",
			&d);
	assert_string_equal(d.code, "criu_external_unix_socket");
	/* the host socket (named in earlier "Runaway socket: ... name" lines)
	 * and where it is bind-mounted in the container */
	assert_contains(d.message, "/tmp/checkpointd-failures.FJz3I7/host/docker.sock");
	assert_contains(d.message, "/var/run/docker.sock");
	assert_contains(d.hint, "close");
	assert_contains(d.hint, "DOCKER_HOST=tcp://");
}

static void test_real_tcp_established(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("tcp_established",
			"(00.074137) Error (criu/sk-inet.c:200): inet: Connected TCP socket, "
			"consider using --tcp-established option.",
			&d);
	assert_string_equal(d.code, "criu_tcp_established");
	assert_contains(d.message, "127.0.0.1:41198"); /* the one CRIU stopped at */
	assert_contains(d.message, "127.0.0.1:5000");  /* the server's end */
	assert_contains(d.hint, "tcp-established");
	assert_contains(d.hint, "/etc/criu/runc.conf");
}

static void test_real_tcp_in_flight(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("tcp_in_flight",
			"(00.056095) Error (criu/sk-inet.c:185): inet: In-flight connection (l) for 44356",
			&d);
	assert_string_equal(d.code, "criu_tcp_in_flight");
	assert_contains(d.message, "listening socket 127.0.0.1:5000");
	assert_contains(d.hint, "skip-in-flight");
}

static void test_real_file_locks(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("file_locks",
			"(00.108953) Error (criu/file-lock.c:110): Some file locks are hold by dumping "
			"tasks! You can try --file-locks to dump them.",
			&d);
	assert_string_equal(d.code, "criu_file_locks");
	assert_contains(d.message, "/tmp/app.lock");
	assert_contains(d.hint, "file-locks");
	assert_contains(d.hint, "/etc/criu/runc.conf");
}

static void test_real_inotify(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* the Warn line before names the handle; the Error line is decisive */
	explain_fixture("inotify",
			"(00.058125) Error (criu/fsnotify.c:284): fsnotify: \tCan't dump that handle", &d);
	assert_string_equal(d.code, "criu_inotify");
	assert_contains(d.message, "inotify");
	assert_contains(d.message, "0x10ab62");
	assert_contains(d.hint, "watchers");
	assert_contains(d.hint, "force-irmap");
}

static void test_real_ghost_file(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("ghost_file",
			"(00.062837) Error (criu/files-reg.c:1031): Can't dump ghost file "
			"/tmp/scratch.bin of 2097152 size, increase limit",
			&d);
	assert_string_equal(d.code, "criu_ghost_file");
	assert_contains(d.message, "/tmp/scratch.bin");
	assert_contains(d.message, "2.0 MiB");
	assert_contains(d.hint, "ghost-limit");
}

static void test_real_restore_mount_missing(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* after it: "cg: cgroupd: recv req error", and no "Restoring FAILED." */
	explain_fixture("restore_mount_missing",
			"(00.055654) Error (criu/mount.c:3141): mnt: No mapping for 280:(null) mountpoint",
			&d);
	assert_string_equal(d.code, "criu_mount_missing");
	assert_contains(d.message, "mount");
	assert_contains(d.message, "280"); /* all the log says about it */
	assert_contains(d.hint, "same bind mounts");
}

static void test_real_restore_file_missing(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("restore_file_missing",
			"(00.193889)      1: Error (criu/files-reg.c:2353): Can't open file "
			"tmp/session.db on restore: No such file or directory",
			&d);
	assert_string_equal(d.code, "criu_rootfs_changed");
	assert_contains(d.message, "/tmp/session.db");
	assert_contains(d.message, "No such file or directory");
	assert_contains(d.hint, "committed");
}

static void test_real_restore_bad_size(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("restore_bad_size",
			"(00.198761)      1: Error (criu/files-reg.c:2175): File etc/passwd has bad size "
			"71 (expect 84)",
			&d);
	assert_string_equal(d.code, "criu_rootfs_changed");
	assert_contains(d.message, "/etc/passwd");
	assert_contains(d.message, "71 bytes");
	assert_contains(d.message, "had 84");
	assert_contains(d.hint, "committed");
}

static void test_real_restore_tty(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* the log goes on after "Restoring FAILED." (broken pipe, cgroupd) */
	explain_fixture("restore_tty",
			"(00.209583)      1: Error (criu/tty.c:1010): tty: Don't have tty to inherit "
			"session from, aborting",
			&d);
	assert_string_equal(d.code, "criu_tty");
	assert_contains(d.message, "terminal");
	assert_contains(d.hint, "Tty");
}

static void test_real_too_old(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* Debian 12's CRIU 3.17 on Linux 6.18; this log has no rlimit line */
	explain_fixture("too_old",
			"(00.015119) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds", &d);
	assert_string_equal(d.code, "criu_too_old");
	assert_contains(d.message, "too old");
	assert_contains(d.hint, "CRIU 4.2 or newer");
}

static void test_real_dump_ok(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* a successful dump has only the rlimit error: no cause to report */
	explain_fixture("dump_ok", "(00.116849) Dumping finished successfully", &d);
	assert_string_equal(d.code, "criu_failed");
	assert_contains(d.message, "success");
}

/* ---- the table rows that could not be made fail here */

static void test_half_stream_unix_criu3(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* CRIU 3.x: the container's end is dumped, its peer is the host's socket */
	explain_text(RLIMIT
		     "(00.050000) unix: \tCollected: ino 4242 peer_ino 4243 family    1 type    1 state  1 name /var/run/docker.sock\n"
		     "(00.050001) unix: \tCollected: ino 4100 peer_ino 0 family    1 type    1 state 10 name /tmp/app.sock\n"
		     "(00.060000) unix: Dumping unix socket at 5\n"
		     "(00.060001) unix: \tDumping: ino 4243 peer_ino 4242 family    1 type    1 state  1 name null\n"
		     "(00.060002) Error (criu/sk-unix.c:331): unix: Can't dump half of stream unix connection.\n"
		     DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_external_unix_socket");
	assert_string_equal(d.criu_line, "(00.060002) Error (criu/sk-unix.c:331): unix: Can't dump "
					 "half of stream unix connection.");
	assert_contains(d.message, "/var/run/docker.sock");
	assert_true(strstr(d.message, "/tmp/app.sock") == NULL);
	assert_contains(d.hint, "DOCKER_HOST=tcp://");
}

static void test_unix_socket_unnamed(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.1) Error (criu/sk-unix.c:874): unix: External socket is used. "
			    "Consider using --ext-unix-sk option.\n" DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_external_unix_socket");
	assert_contains(d.message, "unix socket");
	assert_contains(d.hint, "DOCKER_HOST=tcp://");
}

static void test_tcp_in_image_on_restore(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.022100)      1: Error (criu/sk-inet.c:912): inet: Connected TCP socket in image\n"
			    "(00.022150)      1: Error (criu/files.c:1221): Unable to open fd=4 id=0x7\n"
			    "(00.022200) Error (criu/cr-restore.c:2522): Restoring FAILED.\n",
		     &d);
	assert_string_equal(d.code, "criu_tcp_established");
	assert_string_equal(d.criu_line, "(00.022100)      1: Error (criu/sk-inet.c:912): inet: "
					 "Connected TCP socket in image");
	assert_contains(d.message, "restore");
	assert_contains(d.hint, "tcp-established");
}

static void test_tcp_established_ipv6(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT
		     "(00.05) inet: \tCollected: ino  0x5001 family AF_INET6   type SOCK_STREAM    port     8080 state TCP_ESTABLISHED  src_addr ::1\n"
		     "(00.07) sockets: Searching for socket 0x5001 family 10\n"
		     "(00.07) Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option.\n",
		     &d);
	assert_string_equal(d.code, "criu_tcp_established");
	assert_contains(d.message, "[::1]:8080");
}

static void test_dangling_tty(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.08) Error (criu/tty.c:2072): tty: Found dangling tty with sid 14 "
			    "pgid 14 (pts) on peer fd 0.\n" DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_tty");
	assert_contains(d.message, "terminal");
	assert_contains(d.hint, "without a TTY");
}

static void test_mount_sharing(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.002964) Error (criu/mount.c:1088): mnt: Mount 919 ./boot/efi "
			    "(master_id: 30 shared_id: 0) has unreachable sharing. Try "
			    "--enable-external-masters.\n" DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_mount_sharing");
	assert_contains(d.message, "/boot/efi");
	assert_contains(d.hint, "private");
}

static void test_mount_sharing_group(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text("(00.1) Error (criu/mount.c:1120): mnt: Sharing group (30, 0) has unreachable "
		     "sharing. Try --enable-external-masters.\n",
		     &d);
	assert_string_equal(d.code, "criu_mount_sharing");
	assert_contains(d.message, "a mount");
}

static void test_bad_root_mount_console(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* an old CRIU's file name has no "criu/" */
	explain_text("Error (mount.c:740): mnt: 126:./dev/console doesn't have a proper root mount\n"
		     "Error (cr-dump.c:1882): Dumping FAILED.\n",
		     &d);
	assert_string_equal(d.code, "criu_bad_root_mount");
	assert_string_equal(d.criu_line,
			    "Error (mount.c:740): mnt: 126:./dev/console doesn't have a proper root mount");
	assert_contains(d.message, "/dev/console");
	assert_contains(d.message, "TTY");
	assert_contains(d.hint, "without a TTY");
}

static void test_bad_root_mount_file(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.150425) Error (criu/mount.c:753): mnt: 730:./etc/hosts doesn't "
			    "have a proper root mount\n",
		     &d);
	assert_string_equal(d.code, "criu_bad_root_mount");
	assert_contains(d.message, "/etc/hosts");
	assert_contains(d.hint, "folders");
}

static void test_mount_missing_named(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.05) Error (criu/mount.c:3141): mnt: No mapping for 97:./data "
			    "mountpoint\n",
		     &d);
	assert_string_equal(d.code, "criu_mount_missing");
	assert_contains(d.message, "/data");
}

static void test_mount_missing_from_read_line(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text("(00.05) mnt: \tRead 97 mp @ /srv/data\n"
		     "(00.06) Error (criu/mount.c:3141): mnt: No mapping for 97:(null) mountpoint\n",
		     &d);
	assert_string_equal(d.code, "criu_mount_missing");
	assert_contains(d.message, "/srv/data");
}

static void test_too_old_inet(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	/* CRIU 4.1 on Linux 6.16+, criu#2718 */
	explain_text(RLIMIT "(00.07) Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: "
			    "Operation not supported\n"
			    "(00.07) Error (criu/cr-dump.c:1545): Dump files (pid: 12) failed with -1\n"
			    DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_too_old");
	assert_contains(d.criu_line, "Can't get 1:16 opt");
	assert_contains(d.message, "TCP socket");
	assert_contains(d.hint, "CRIU 4.2 or newer");
}

static void test_kernel_seccomp(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text("(00.01) Error (criu/cr-check.c:562): Kernel doesn't support "
		     "PTRACE_O_SUSPEND_SECCOMP\n",
		     &d);
	assert_string_equal(d.code, "criu_kernel_feature");
	assert_contains(d.message, "PTRACE_O_SUSPEND_SECCOMP");
	assert_contains(d.hint, "seccomp=unconfined");
}

static void test_kernel_map_files(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text("(00.01) Error (criu/cr-check.c:95): /proc/<pid>/map_files is inaccessible: "
		     "Operation not permitted\n",
		     &d);
	assert_string_equal(d.code, "criu_kernel_feature");
	assert_contains(d.hint, "root");
}

static void test_cgroup(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.03) Error (criu/cgroup.c:1766): cg: \tCan't mount controller dir "
			    ".criu.cgyard.mFGLVf/cpu,cpuacct: No such file or directory\n"
			    "(00.04) Error (criu/cr-restore.c:2447): Restoring FAILED.\n",
		     &d);
	assert_string_equal(d.code, "criu_cgroup");
	assert_contains(d.message, ".criu.cgyard.mFGLVf/cpu,cpuacct");
	assert_true(strstr(d.message, "cpuacct:") == NULL);
	assert_contains(d.hint, "cgroup version");
}

static void test_network_lock(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.03) Error (criu/net.c:3071): net: Locking network failed: "
			    "iptables-restore returned 1. This may be connected to disabled "
			    "CONFIG_NETFILTER_XT_MARK kernel build config option.\n" DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_network_lock");
	assert_contains(d.message, "iptables");
	assert_contains(d.hint, "network-lock");
	explain_text("(00.03) Error (criu/netfilter.c:284): Locking network failed using nftables\n",
		     &d);
	assert_string_equal(d.code, "criu_network_lock");
	assert_contains(d.message, "nftables");
}

/* ---- choosing the decisive line, and the fallback */

static void test_unknown_error_falls_back(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.05) Warn  (criu/x.c:1): something harmless\n"
			    "(00.06) Error (criu/pie-util.c:77): pie: Can't map the frobnicator: "
			    "Invalid argument\n"
			    "(00.06) Error (criu/cr-dump.c:1545): Dump files (pid: 9) failed with -1\n"
			    DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_failed");
	assert_string_equal(d.criu_line, "(00.06) Error (criu/pie-util.c:77): pie: Can't map the "
					 "frobnicator: Invalid argument");
	assert_contains(d.message, "Error (criu/pie-util.c:77): pie: Can't map the frobnicator: "
				   "Invalid argument");
	assert_true(strstr(d.message, "RLIMIT") == NULL);
}

static void test_known_pattern_beats_earlier_error(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.04) Error (criu/foo.c:1): foo: an unknown complaint\n"
			    "(00.05) Error (criu/file-lock.c:110): Some file locks are hold by dumping "
			    "tasks! You can try --file-locks to dump them.\n" DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_file_locks");
	assert_contains(d.criu_line, "file-lock.c:110");
}

static void test_restore_aftermath_is_not_the_cause(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.20)      1: Error (criu/files.c:1221): Unable to open fd=0 id=0x2\n"
			    "(00.21) Error (criu/cr-restore.c:1480): 28 exited, status=1\n"
			    "(00.21) Error (criu/cr-restore.c:2331): Restoring FAILED.\n"
			    "(00.21) Error (criu/cr-service.c:121): Can't send response: Broken pipe\n"
			    "(00.22) Error (criu/cgroup.c:2055): cg: cgroupd: recv req error: No such "
			    "file or directory\n",
		     &d);
	assert_string_equal(d.code, "criu_failed");
	/* no cause logged: the summary is the last word, and the message says so */
	assert_string_equal(d.criu_line, "(00.21) Error (criu/cr-restore.c:2331): Restoring FAILED.");
	assert_contains(d.message, "without logging a cause");
}

static void test_empty_log(void **state)
{
	struct criu_diagnosis d;
	char one = 'x';

	(void)state;
	memset(&d, 0x5a, sizeof(d));
	criu_explain(NULL, 0, &d);
	assert_sane(&d);
	assert_string_equal(d.code, "criu_failed");
	assert_string_equal(d.criu_line, "");
	assert_contains(d.message, "empty");

	criu_explain(&one, 0, &d); /* a pointer, no bytes */
	assert_sane(&d);
	assert_contains(d.message, "empty");

	explain_text("\n\r\n  \n", &d); /* only blank lines */
	assert_contains(d.message, "empty");
}

static void test_rlimit_only(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT, &d);
	assert_string_equal(d.code, "criu_failed");
	assert_contains(d.message, "without logging a cause");
	assert_contains(d.message, "harmless");

	explain_text(RLIMIT DUMP_FAILED, &d);
	assert_string_equal(d.criu_line, "(00.162375) Error (criu/cr-dump.c:1975): Dumping FAILED.");
	assert_contains(d.message, "Dumping FAILED.");
}

static void test_crlf_and_no_final_newline(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text("(00.01) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: "
		     "Operation not permitted\r\n"
		     "(00.02) Error (criu/files-reg.c:1031): Can't dump ghost file /tmp/big of "
		     "5242880 size, increase limit",
		     &d);
	assert_string_equal(d.code, "criu_ghost_file");
	assert_string_equal(d.criu_line, "(00.02) Error (criu/files-reg.c:1031): Can't dump ghost "
					 "file /tmp/big of 5242880 size, increase limit");
	assert_contains(d.message, "/tmp/big (5.0 MiB)");

	explain_text("(00.02) Error (criu/x.c:1): odd\r\n", &d);
	assert_string_equal(d.criu_line, "(00.02) Error (criu/x.c:1): odd");
}

static void test_ghost_file_path_with_of(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text("(00.02) Error (criu/files-reg.c:1031): Can't dump ghost file /tmp/list of "
		     "things.bin of 1048577 size, increase limit\n",
		     &d);
	assert_contains(d.message, "/tmp/list of things.bin (1.0 MiB)");
}

static void test_error_far_into_a_line_is_not_an_error(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_text(RLIMIT "(00.05) files: a file called /tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			    "/Error (criu/sk-unix.c:1): External socket is used\n" DUMP_FAILED,
		     &d);
	assert_string_equal(d.code, "criu_failed");
}

static void test_long_lines_are_cut(void **state)
{
	struct criu_diagnosis d;
	size_t n = 200000, len, i;
	char *log = malloc(n), *mixed;
	const char head[] = "(00.01) Error (criu/x.c:1): ";
	const char *euro = "\xe2\x82\xac"; /* 3 bytes */

	(void)state;
	assert_non_null(log);
	memcpy(log, head, sizeof(head) - 1);
	memset(log + sizeof(head) - 1, 'y', n - (sizeof(head) - 1));
	memset(&d, 0x5a, sizeof(d));
	criu_explain(log, n, &d); /* one line, no end */
	assert_sane(&d);
	assert_string_equal(d.code, "criu_failed");
	assert_int_equal(strlen(d.criu_line), sizeof(d.criu_line) - 1);
	assert_true(strncmp(d.criu_line, head, sizeof(head) - 1) == 0);
	assert_contains(d.message, "CRIU failed: Error (criu/x.c:1): yyy");
	free(log);

	/* multi-byte characters across the cut: no half character at the end */
	len = sizeof(head) - 1 + 3 * 600;
	mixed = malloc(len);
	assert_non_null(mixed);
	memcpy(mixed, head, sizeof(head) - 1);
	for (i = 0; i < 600; i++)
		memcpy(mixed + sizeof(head) - 1 + 3 * i, euro, 3);
	criu_explain(mixed, len, &d);
	assert_sane(&d);
	i = strlen(d.criu_line);
	assert_true(i < sizeof(d.criu_line));
	assert_int_equal((i - (sizeof(head) - 1)) % 3, 0);
	i = strlen(d.message);
	assert_true(i > 3 && memcmp(d.message + i - 3, euro, 3) == 0);
	free(mixed);
}

static void test_long_socket_path(void **state)
{
	struct criu_diagnosis d;
	char *text = malloc(4000);
	char path[1600];

	(void)state;
	assert_non_null(text);
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, 4000,
		 "(00.1) unix: \tRunaway socket: ino 1 peer_ino 2 family    1 type    1 state  1 name %s\n"
		 "(00.2) Error (criu/sk-unix.c:874): unix: External socket is used. Consider using "
		 "--ext-unix-sk option.\n",
		 path);
	explain_text(text, &d);
	assert_string_equal(d.code, "criu_external_unix_socket");
	assert_contains(d.message, "/ppppppppp");
	free(text);
}

static void test_control_characters(void **state)
{
	struct criu_diagnosis d;
	static const char raw[] = "(00.1) Error (criu/x.c:1): bad\001byte\0and nul\n";
	char *log = malloc(sizeof(raw) - 1);

	(void)state;
	assert_non_null(log);
	memcpy(log, raw, sizeof(raw) - 1);
	criu_explain(log, sizeof(raw) - 1, &d);
	assert_sane(&d);
	assert_string_equal(d.criu_line, "(00.1) Error (criu/x.c:1): bad?byte?and nul");
	free(log);
}

/* ---- the tail */

static void tail_of(const char *text, int lines, size_t outlen, char *out)
{
	size_t len;
	char *log = exact(text, &len);

	criu_log_tail(log, len, lines, out, outlen);
	free(log);
}

static void test_tail(void **state)
{
	char out[64];

	(void)state;
	tail_of("a\nb\nc\nd\n", 3, sizeof(out), out);
	assert_string_equal(out, "b\nc\nd\n");
	tail_of("a\nb\nc\nd\n", 1, sizeof(out), out);
	assert_string_equal(out, "d\n");
	tail_of("a\nb\nc\nd", 2, sizeof(out), out);
	assert_string_equal(out, "c\nd");
	tail_of("a\nb\n", 10, sizeof(out), out);
	assert_string_equal(out, "a\nb\n");
	tail_of("a\r\nb\r\n", 1, sizeof(out), out);
	assert_string_equal(out, "b\r\n");
	tail_of("one line", 5, sizeof(out), out);
	assert_string_equal(out, "one line");
	tail_of("a\n\n\n", 2, sizeof(out), out);
	assert_string_equal(out, "\n\n");
}

static void test_tail_bounds(void **state)
{
	char out[16];

	(void)state;
	/* whole lines only: "aaaa\n" does not fit with the rest in 6 bytes */
	tail_of("aaaa\nbb\ncc\n", 3, 7, out);
	assert_string_equal(out, "bb\ncc\n");
	/* the last line alone is too long: its beginning */
	tail_of("x\nyyyyyyyyyyyyyyyyyyyy", 2, 10, out);
	assert_string_equal(out, "yyyyyyyyy");
	/* nothing asked, nothing given */
	strcpy(out, "untouched");
	tail_of("a\nb\n", 0, sizeof(out), out);
	assert_string_equal(out, "");
	strcpy(out, "untouched");
	tail_of("a\nb\n", -3, sizeof(out), out);
	assert_string_equal(out, "");
	strcpy(out, "untouched");
	criu_log_tail("a\n", 2, 1, out, 0);
	assert_string_equal(out, "untouched");
	criu_log_tail("a\n", 2, 1, out, 1);
	assert_string_equal(out, "");
	criu_log_tail(NULL, 0, 3, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_tail_nul_and_utf8(void **state)
{
	char out[8];
	static const char raw[] = "a\0b\n";

	(void)state;
	criu_log_tail(raw, sizeof(raw) - 1, 1, out, sizeof(out));
	assert_string_equal(out, "a?b\n");
	/* "€€€" is 9 bytes; 7 fit, cut back to a character start: 6 */
	tail_of("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 1, sizeof(out), out);
	assert_string_equal(out, "\xe2\x82\xac\xe2\x82\xac");
}

static void test_tail_real_log(void **state)
{
	size_t len;
	char *log = slurp(DATA "external_unix_socket.log", &len);
	char out[4096];

	(void)state;
	criu_log_tail(log, len, 1, out, sizeof(out));
	assert_string_equal(out, "(00.168152) Error (criu/cr-dump.c:1975): Dumping FAILED.\n");
	criu_log_tail(log, len, 20, out, sizeof(out));
	assert_int_equal(strlen(out) > 0 && out[strlen(out) - 1] == '\n', 1);
	assert_true(len >= strlen(out) && memcmp(log + len - strlen(out), out, strlen(out)) == 0);
	assert_true(out[0] == '(' || out[0] == 'p'); /* a line start */
	criu_log_tail(log, len, 100000, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_true(memcmp(log + len - strlen(out), out, strlen(out)) == 0);
	assert_true(log[len - strlen(out) - 1] == '\n');
	free(log);
}

/* ---- the log's path in Docker's error */

static void path_of_fixture(const char *name, const char *want_suffix)
{
	static const char dir[] = "/var/tmp/checkpointd-bed/criu/exec/containerd/daemon/"
				  "io.containerd.runtime.v2.task/moby/";
	char file[256], path[512];
	char *msg;

	snprintf(file, sizeof(file), DATA "%s.docker-error.txt", name);
	msg = slurp_str(file);
	assert_int_equal(criu_log_path_from_error(msg, path, sizeof(path)), 1);
	assert_true(strncmp(path, dir, sizeof(dir) - 1) == 0);
	assert_true(strlen(path) > strlen(want_suffix));
	assert_string_equal(path + strlen(path) - strlen(want_suffix), want_suffix);
	free(msg);
}

static void test_path_from_real_errors(void **state)
{
	static const char *const dumps[] = { "external_unix_socket", "tcp_established",
					     "tcp_in_flight", "file_locks", "inotify",
					     "ghost_file", "too_old" };
	static const char *const restores[] = { "restore_mount_missing", "restore_file_missing",
						"restore_bad_size" };
	size_t i;
	char path[512];
	char *msg;

	(void)state;
	for (i = 0; i < sizeof(dumps) / sizeof(dumps[0]); i++)
		path_of_fixture(dumps[i], "/criu-dump.log");
	for (i = 0; i < sizeof(restores) / sizeof(restores[0]); i++)
		path_of_fixture(restores[i], "/work/restore.log");

	msg = slurp_str(DATA "external_unix_socket.docker-error.txt");
	assert_int_equal(criu_log_path_from_error(msg, path, sizeof(path)), 1);
	assert_string_equal(path, "/var/tmp/checkpointd-bed/criu/exec/containerd/daemon/"
				  "io.containerd.runtime.v2.task/moby/b932a425720d5635cb5ea560b4ba04d6"
				  "bb41c1f35b715460f1178903dc71cb0c/criu-dump.log");
	free(msg);

	/* restore failures that name no log, and a refusal before CRIU */
	msg = slurp_str(DATA "restore_tty.docker-error.txt");
	assert_int_equal(criu_log_path_from_error(msg, path, sizeof(path)), 0);
	assert_string_equal(path, "");
	free(msg);
	msg = slurp_str(DATA "no_experimental.docker-error.txt");
	assert_int_equal(criu_log_path_from_error(msg, path, sizeof(path)), 0);
	free(msg);
}

static void test_path_edge_cases(void **state)
{
	char path[64], tiny[8];

	(void)state;
	/* the raw JSON body, "\n" still escaped */
	assert_int_equal(criu_log_path_from_error(
				 "{\"message\":\"OCI runtime restore failed: criu failed: type NOTIFY "
				 "errno 0\\nlog file: /x/work/restore.log: unknown\"}",
				 path, sizeof(path)),
			 1);
	assert_string_equal(path, "/x/work/restore.log");
	assert_int_equal(criu_log_path_from_error("criu failed: path= /a/criu-dump.log", path,
						  sizeof(path)),
			 1);
	assert_string_equal(path, "/a/criu-dump.log");
	assert_int_equal(criu_log_path_from_error("path=/b/dump.log: unknown", path, sizeof(path)), 1);
	assert_string_equal(path, "/b/dump.log");
	/* a relative one first, an absolute one later */
	assert_int_equal(criu_log_path_from_error("path= x.log, then path= /c/d.log: unknown", path,
						  sizeof(path)),
			 1);
	assert_string_equal(path, "/c/d.log");
	assert_int_equal(criu_log_path_from_error("path= relative.log: unknown", path, sizeof(path)), 0);
	assert_int_equal(criu_log_path_from_error("no path here", path, sizeof(path)), 0);
	assert_string_equal(path, "");
	assert_int_equal(criu_log_path_from_error("path= ", path, sizeof(path)), 0);
	assert_int_equal(criu_log_path_from_error(NULL, path, sizeof(path)), 0);
	assert_int_equal(criu_log_path_from_error("path= /too/long/for/it.log", tiny, sizeof(tiny)), 0);
	assert_string_equal(tiny, "");
	assert_int_equal(criu_log_path_from_error("path= /a.log", tiny, 0), 0);
}

/* The stats-dump of a real dump (Podman 4.3 + CRIU 4.2 export, here). */
static void test_dump_stats(void **state)
{
	static const unsigned char img[] = {
		0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x22, 0x00, 0x00, 0x00,
		0x0a, 0x20, 0x08, 0xcc, 0x04, 0x10, 0xcf, 0xf6, 0x08, 0x18, 0xb1, 0x04,
		0x20, 0x66, 0x28, 0x18, 0x30, 0x00, 0x38, 0x11, 0x40, 0x00, 0x48, 0x00,
		0x50, 0x04, 0x58, 0x04, 0x60, 0x00, 0x68, 0x00, 0x70, 0x00};
	struct criu_dump_stats st;
	unsigned char bad[sizeof(img)];
	size_t n;

	(void)state;
	assert_int_equal(criu_dump_stats_parse(img, sizeof(img), &st), 0);
	assert_int_equal(st.freezing_time_us, 588);
	assert_int_equal(st.frozen_time_us, 146255);
	assert_int_equal(st.memdump_time_us, 561);
	assert_int_equal(st.memwrite_time_us, 102);
	assert_int_equal(st.pages_scanned, 24);
	assert_int_equal(st.pages_written, 17);
	/* every truncation is refused, never read past */
	for (n = 0; n < sizeof(img); n++)
		assert_int_equal(criu_dump_stats_parse(img, n, &st), -1);
	memcpy(bad, img, sizeof(img));
	bad[0] ^= 1;
	assert_int_equal(criu_dump_stats_parse(bad, sizeof(bad), &st), -1);
	memcpy(bad, img, sizeof(img));
	bad[13] = 0x7f; /* the dump entry claims more than there is */
	assert_int_equal(criu_dump_stats_parse(bad, sizeof(bad), &st), -1);
}

/* Podman 4.3 names runc's command line, not the log: the log is dump.log
 * in runc's --work-path.  The log itself (a real one, Podman + runc +
 * CRIU 4.2 here) is explained like Docker's. */
static void test_podman_error_and_log(void **state)
{
	struct criu_diagnosis d;
	char path[512];
	char *msg;

	(void)state;
	msg = slurp_str(DATA "podman_tcp_established.podman-error.txt");
	assert_int_equal(criu_log_path_from_error(msg, path, sizeof(path)), 1);
	assert_string_equal(path, "/var/tmp/pexp/storage/overlay-containers/b1a479516408d8d1dc29e9798b"
				  "3b0db1888a49f2c04157512dee9b3260c78b82/userdata/dump.log");
	assert_int_equal(criu_log_path_from_error(msg, path, 40), 0);
	free(msg);
	assert_int_equal(criu_log_path_from_error("`/usr/bin/runc restore --work-path /x/userdata "
						  "--image-path /x/userdata/checkpoint id` failed",
						  path, sizeof(path)), 1);
	assert_string_equal(path, "/x/userdata/restore.log");
	explain_fixture("podman_tcp_established",
			"(00.079256) Error (criu/sk-inet.c:200): inet: Connected TCP socket, "
			"consider using --tcp-established option.",
			&d);
	assert_string_equal(d.code, "criu_tcp_established");
	assert_contains(d.message, "127.0.0.1:5000");
}

/* A process running as another user than root, with CRIU lacking
 * CAP_SYS_RESOURCE (this sandbox's engines): prlimit() on it fails. */
static void test_real_non_root(void **state)
{
	struct criu_diagnosis d;

	(void)state;
	explain_fixture("non_root",
			"(00.082011) Error (criu/cr-dump.c:389): Can't get rlimit 0: Operation not "
			"permitted",
			&d);
	assert_string_equal(d.code, "criu_kernel_feature");
	assert_contains(d.message, "CAP_SYS_RESOURCE");
	assert_contains(d.hint, "--user 0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_external_unix_socket),
		cmocka_unit_test(test_real_tcp_established),
		cmocka_unit_test(test_real_tcp_in_flight),
		cmocka_unit_test(test_real_file_locks),
		cmocka_unit_test(test_real_inotify),
		cmocka_unit_test(test_real_ghost_file),
		cmocka_unit_test(test_real_restore_mount_missing),
		cmocka_unit_test(test_real_restore_file_missing),
		cmocka_unit_test(test_real_restore_bad_size),
		cmocka_unit_test(test_real_restore_tty),
		cmocka_unit_test(test_real_too_old),
		cmocka_unit_test(test_real_dump_ok),
		cmocka_unit_test(test_half_stream_unix_criu3),
		cmocka_unit_test(test_unix_socket_unnamed),
		cmocka_unit_test(test_tcp_in_image_on_restore),
		cmocka_unit_test(test_tcp_established_ipv6),
		cmocka_unit_test(test_dangling_tty),
		cmocka_unit_test(test_mount_sharing),
		cmocka_unit_test(test_mount_sharing_group),
		cmocka_unit_test(test_bad_root_mount_console),
		cmocka_unit_test(test_bad_root_mount_file),
		cmocka_unit_test(test_mount_missing_named),
		cmocka_unit_test(test_mount_missing_from_read_line),
		cmocka_unit_test(test_too_old_inet),
		cmocka_unit_test(test_kernel_seccomp),
		cmocka_unit_test(test_kernel_map_files),
		cmocka_unit_test(test_cgroup),
		cmocka_unit_test(test_network_lock),
		cmocka_unit_test(test_unknown_error_falls_back),
		cmocka_unit_test(test_known_pattern_beats_earlier_error),
		cmocka_unit_test(test_restore_aftermath_is_not_the_cause),
		cmocka_unit_test(test_empty_log),
		cmocka_unit_test(test_rlimit_only),
		cmocka_unit_test(test_crlf_and_no_final_newline),
		cmocka_unit_test(test_ghost_file_path_with_of),
		cmocka_unit_test(test_error_far_into_a_line_is_not_an_error),
		cmocka_unit_test(test_long_lines_are_cut),
		cmocka_unit_test(test_long_socket_path),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_tail_bounds),
		cmocka_unit_test(test_tail_nul_and_utf8),
		cmocka_unit_test(test_tail_real_log),
		cmocka_unit_test(test_path_from_real_errors),
		cmocka_unit_test(test_dump_stats),
		cmocka_unit_test(test_podman_error_and_log),
		cmocka_unit_test(test_real_non_root),
		cmocka_unit_test(test_path_edge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
