/*
 * tcpserver - a listening TCP socket whose state must survive a restore.
 *
 *   tcpserver --port P
 *
 * Listens on 127.0.0.1:P and answers each connection with "hello N\n", N
 * counting connections from 1. A restored server continues the count.
 * SIGTERM/SIGINT exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--port")) {
        fprintf(stderr, "usage: tcpserver --port P\n");
        return 2;
    }
    char *end;
    long port = strtol(argv[2], &end, 10);
    if (*end || port < 1 || port > 65535) {
        fprintf(stderr, "tcpserver: bad port %s\n", argv[2]);
        return 2;
    }

    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    if (listen(fd, 16) < 0) { perror("listen"); return 1; }
    printf("listening on 127.0.0.1:%ld pid %ld\n", port, (long)getpid());

    for (unsigned long n = 1;; ) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            if (errno != EINTR)
                perror("accept");
            continue;
        }
        char line[64];
        int len = snprintf(line, sizeof line, "hello %lu\n", n++);
        (void)!write(c, line, (size_t)len);
        close(c);
        printf("served connection %lu\n", n - 1);
    }
}
