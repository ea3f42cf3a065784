/* hold MODE ARG - holds an object that a CRIU dump refuses, then sleeps. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int die(const char *what) { perror(what); return 1; }

static int tcp_socket(int port, int listening)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (listening) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 8))
			return -1;
	} else if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		return -1;
	}
	return fd;
}

static int unix_socket(const char *path, int listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	if (fd < 0)
		return -1;
	if (listening) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 8))
			return -1;
	} else if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3) {
		fprintf(stderr, "usage: hold unix-listen|unix|tcp|inflight|flock|inotify|open ARG\n");
		return 2;
	}
	const char *mode = argv[1], *arg = argv[2];
	if (!strcmp(mode, "unix-listen")) { /* the host side: accept, keep all */
		int fd = unix_socket(arg, 1);
		if (fd < 0)
			return die("unix-listen");
		printf("listening on %s\n", arg);
		for (;;)
			if (accept(fd, NULL, NULL) >= 0)
				printf("accepted\n");
	} else if (!strcmp(mode, "unix")) {
		if (unix_socket(arg, 0) < 0)
			return die("unix connect");
		printf("connected to %s\n", arg);
	} else if (!strcmp(mode, "tcp") || !strcmp(mode, "inflight")) {
		int port = atoi(arg), l = tcp_socket(port, 1);
		if (l < 0 || tcp_socket(port, 0) < 0)
			return die("tcp");
		if (!strcmp(mode, "tcp") && accept(l, NULL, NULL) < 0)
			return die("accept");
		printf("%s connection on 127.0.0.1:%d\n", mode, port);
	} else if (!strcmp(mode, "flock")) {
		int fd = open(arg, O_RDWR | O_CREAT, 0644);
		if (fd < 0 || flock(fd, LOCK_EX))
			return die("flock");
		printf("flock on %s\n", arg);
	} else if (!strcmp(mode, "inotify")) {
		int fd = inotify_init();
		if (fd < 0 || inotify_add_watch(fd, arg, IN_MODIFY | IN_CREATE) < 0)
			return die("inotify");
		printf("watching %s\n", arg);
	} else if (!strcmp(mode, "open")) { /* append a line, keep it open */
		int fd = open(arg, O_RDWR | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || write(fd, "held by hold\n", 13) != 13)
			return die("open");
		printf("holding %s\n", arg);
	} else {
		fprintf(stderr, "hold: unknown mode %s\n", mode);
		return 2;
	}
	for (;;)
		pause();
}
