/*
 * slowboot - a stand-in for an application with a slow start and a heap.
 *
 *   slowboot --boot-seconds S --heap-mib N [--port P]
 *
 * Sleeps S seconds ("boot"), allocates and touches N MiB, prints "ready" and
 * creates /tmp/ready. With --port it then listens on 127.0.0.1:P and answers
 * each connection with "ok\n". Idles forever; SIGTERM/SIGINT exit 0.
 * SIGUSR1 frees the heap (as a garbage collector hands memory back) and
 * prints "freed N MiB": a hook before a checkpoint makes it smaller.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

static volatile sig_atomic_t free_heap;
static void on_usr1(int sig) { (void)sig; free_heap = 1; }

static void usage(void)
{
    fprintf(stderr, "usage: slowboot --boot-seconds S --heap-mib N [--port P]\n");
    exit(2);
}

static long num_arg(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0)
        usage();
    return v;
}

static int listen_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
    if (listen(fd, 16) < 0) { perror("listen"); exit(1); }
    return fd;
}

int main(int argc, char **argv)
{
    long boot = -1, heap = -1, port = -1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--boot-seconds"))
            boot = num_arg(argv[++i]);
        else if (!strcmp(argv[i], "--heap-mib"))
            heap = num_arg(argv[++i]);
        else if (!strcmp(argv[i], "--port"))
            port = num_arg(argv[++i]);
        else
            usage();
    }
    if (boot < 0 || heap < 0 || port > 65535)
        usage();

    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sigaction su = { .sa_handler = on_usr1 }; /* no SA_RESTART: wakes accept() */
    sigaction(SIGUSR1, &su, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    printf("booting for %ld s, heap %ld MiB, pid %ld\n", boot, heap, (long)getpid());
    struct timespec t = { .tv_sec = boot };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;

    size_t bytes = (size_t)heap << 20;
    unsigned char *mem = NULL;
    if (bytes) {
        mem = malloc(bytes);
        if (!mem) { perror("malloc"); return 1; }
        /* Touch every page with a non-zero value so nothing stays shared/zero. */
        for (size_t i = 0; i < bytes; i += 4096)
            mem[i] = (unsigned char)(i >> 12) | 1;
    }

    int lfd = port >= 0 ? listen_loopback((int)port) : -1;

    printf("ready\n");
    int rfd = open("/tmp/ready", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rfd >= 0)
        close(rfd);

    for (;;) {
        if (free_heap && mem) {
            free(mem); /* a block this size is its own mapping: unmapped now */
            mem = NULL;
            printf("freed %ld MiB\n", heap);
        }
        if (lfd < 0) {
            pause();
            continue;
        }
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        (void)!write(c, "ok\n", 3);
        close(c);
    }
}
