/* A hostile agent racing the gate's look at a name against its use of it.
 * In its working directory, for MS milliseconds: one thread opens "B" with
 * O_WRONLY|O_CREAT|O_TRUNC and writes "PWNED" into whatever it got (MODE
 * open), or connects a unix socket to "B" (MODE connect), then removes B;
 * another puts a symbolic link at B whenever B is missing,
 * after a random pause, to each TARGET in turn. Targets name what the
 * gate's worker (outside the agent's root and pid namespace) would reach
 * if it followed the link: /proc/self/root/<a file> is the host's,
 * /proc/self/fd/N/... sandbox-run's own descriptors (its snapshot store).
 * First it removes "P" (the gate keeps it in the store, 00000/000001,
 * the first snapshot of the session) so that a snapshot is there to aim
 * at (MODE open). Prints how many opens got a file (or connects a
 * socket) and how many did not, then "race-done". What changed is for the test to check from outside. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static char** targets;
static int ntargets;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void* linker(void* arg) {
    (void)arg;
    unsigned seed = 1;
    struct stat st;
    for (long i = 0; !stop; ++i) {
        if (lstat("B", &st) == 0) continue;
        long long pause = rand_r(&seed) % 80000, t0 = now_ns();
        while (now_ns() - t0 < pause) {}
        if (symlink(targets[i % ntargets], "B") != 0) {}
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: open_swap_race open|connect MS TARGET...\n");
        return 2;
    }
    int connecting = strcmp(argv[1], "connect") == 0;
    long ms = atol(argv[2]);
    targets = argv + 3;
    ntargets = argc - 3;
    if (!connecting && unlink("P") != 0) perror("unlink P");
    pthread_t t;
    pthread_create(&t, NULL, linker, NULL);
    long opened = 0, met_link = 0;
    long long end = now_ns() + ms * 1000000LL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "B"};
    while (now_ns() < end) {
        int fd;
        if (connecting) {
            fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd >= 0 && connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
                close(fd);
                fd = -1;
            }
        } else {
            fd = open("B", O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0 && write(fd, "PWNED\n", 6) < 0) {}
        }
        if (fd < 0) {
            met_link++;
        } else {
            opened++;
            close(fd);
        }
        unlink("B");
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("opened %ld\nmet-link %ld\nrace-done\n", opened, met_link);
    return 0;
}
