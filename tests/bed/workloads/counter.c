/*
 * counter - test workload for checkpoint/restore.
 *
 * Prints "count N pid P" every 100 ms on stdout (line-buffered), N starting
 * at 0, and writes N to /tmp/count on each tick. After a restore the count
 * continues; after a restart it starts at 0 again.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) { (void)sig; stop = 1; }

int main(void)
{
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
    for (unsigned long n = 0; !stop; n++) {
        printf("count %lu pid %ld\n", n, (long)getpid());
        FILE *f = fopen("/tmp/count.tmp", "w");
        if (f) {
            fprintf(f, "%lu\n", n);
            fclose(f);
            rename("/tmp/count.tmp", "/tmp/count");
        }
        nanosleep(&tick, NULL);
    }
    return 0;
}
