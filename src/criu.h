/*
 * criu.h - explains a failed checkpoint or restore from CRIU's log.
 *
 * When Docker fails to checkpoint or restore, all it says is "criu failed
 * ... path= <engine host path>/criu-dump.log".  The log has thousands of
 * lines, and its first Error line is a harmless one (rlimit) and its last a
 * summary ("Dumping FAILED."); the cause sits between them.  These pure
 * functions find the decisive line, name the object it is about (a socket's
 * path, a file, a mount, a port), and say in plain words what went wrong and
 * what to do, for users far from the engine host.  They read only the bytes
 * given (which need not be NUL-terminated; "\r\n" line ends are fine) and
 * write only into the caller's fixed-size fields, so any input is safe.
 *
 * Where the logs are (Docker 20.10, containerd 1.6, runc 1.1):
 *  - failed checkpoint: <exec-root>/containerd/daemon/
 *    io.containerd.runtime.v2.task/moby/<id>/criu-dump.log, named in Docker's
 *    error ("... path= X: unknown"); it stays while the container exists.
 *  - failed restore: Docker's error names <same folder>/work/restore.log
 *    ("... log file: X: unknown"), but "work" links to containerd's task
 *    folder under the data root, which containerd deletes when it cleans up
 *    the failed task, before the error reaches the client: the log must be
 *    caught while CRIU writes it (tests/bed/failures.sh keeps it with a hard
 *    link).  Some restore failures name no log at all ("OCI runtime restore
 *    failed: bad file descriptor: unknown" for a TTY mismatch).
 *  - successful checkpoint: <task folder>/criu-work/dump.log, deleted too.
 */
#ifndef CHECKPOINTD_CRIU_H
#define CHECKPOINTD_CRIU_H

#include <stddef.h>
#include <stdint.h>

struct criu_diagnosis {
	/* Stable machine code: criu_external_unix_socket, criu_tcp_established,
	 * criu_tcp_in_flight, criu_tty, criu_file_locks, criu_ghost_file,
	 * criu_mount_missing, criu_mount_sharing, criu_bad_root_mount,
	 * criu_rootfs_changed, criu_too_old, criu_kernel_feature, criu_inotify,
	 * criu_cgroup, criu_network_lock, or criu_failed (no known cause). */
	char code[64];
	char message[1024];   /* what went wrong, naming the object */
	char hint[1024];      /* what to do; under 512 bytes for the known codes */
	char criu_line[1024]; /* the decisive line verbatim ("" when the log has none) */
};

/* Explains a CRIU log (dump or restore) of len bytes.  Always fills out
 * completely, with a non-empty code, message and hint: for an unknown error
 * the code is criu_failed and the message quotes the decisive line; for an
 * empty log or one without a cause it says so.  log may be NULL when len is
 * 0.  Fields longer than their size are cut (at a UTF-8 character start);
 * control characters of the log (but tabs) become '?'. */
void criu_explain(const char *log, size_t len, struct criu_diagnosis *out);

/* Copies the last `lines` lines of the log (fewer when the log has fewer, or
 * when they do not fit) into out, NUL-terminated, at most outlen - 1 bytes,
 * starting at a line start.  When even the last line does not fit, out gets
 * its beginning.  Bytes are copied as they are, but NULs become '?'.
 * Nothing is written when outlen is 0. */
void criu_log_tail(const char *log, size_t len, int lines, char *out, size_t outlen);

/* Finds the CRIU log path that a Docker error message names: "... path=
 * /x/criu-dump.log: unknown" (failed checkpoint) or "... log file:
 * /x/work/restore.log: unknown" (failed restore).  Copies it into path and
 * returns 1; returns 0 (path "", when pathlen > 0) when the message names no
 * absolute path or it does not fit in pathlen - 1 bytes. */
int criu_log_path_from_error(const char *docker_error, char *path, size_t pathlen);

/* CRIU's statistics of a dump: the stats-dump file it writes next to its
 * images (a Podman export carries it).  Times in microseconds. */
struct criu_dump_stats {
	uint64_t freezing_time_us; /* stopping the tasks */
	uint64_t frozen_time_us;   /* how long they stayed stopped */
	uint64_t memdump_time_us;  /* collecting their memory */
	uint64_t memwrite_time_us; /* writing it */
	uint64_t pages_scanned;
	uint64_t pages_written;
};

/* Reads a stats-dump file (len bytes): 0 and *out filled, or -1 when it is
 * not one (wrong magic, a truncated or malformed entry).  Fields CRIU did not
 * write stay 0. */
int criu_dump_stats_parse(const unsigned char *img, size_t len, struct criu_dump_stats *out);

#endif
