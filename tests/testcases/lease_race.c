/* A hostile agent racing the snapshot gate's own create: one thread makes
 * files "L<i>" with O_CREAT|O_EXCL (which the gate makes for it where
 * names are guarded), another opens each new name for reading and takes a
 * read lease on it, ignoring SIGIO. A file has its name before the open
 * that made it breaks leases, so a lease taken in between makes that open
 * wait for fs.lease-break-time (45 s) unless it is non-blocking - with
 * every other gated call of the session waiting behind it.
 * Usage: lease_race N: at most N creates, until a lease is taken in the
 * window. Prints "leases <count>" (taken in the window: 0 or 1) and
 * "slowest <ms>" (the slowest create). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int current = -1;
static atomic_int done = 0;
static atomic_int leases = 0;

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void* leaser(void* arg) {
    (void)arg;
    char name[32];
    while (!atomic_load(&done)) {
        int i = atomic_load(&current);
        if (i < 0) continue;
        snprintf(name, sizeof name, "L%d", i);
        int fd = open(name, O_RDONLY | O_NONBLOCK);
        if (fd < 0) continue;
        /* Taken while the create is still under way: the window. (Once the
         * create has returned, its writer keeps any lease off, or it failed
         * and there is nothing to hold up.) */
        if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0 && atomic_load(&current) == i) {
            atomic_fetch_add(&leases, 1);
            while (atomic_load(&current) == i && !atomic_load(&done)) usleep(1000);
        }
        close(fd);
    }
    return NULL;
}

int main(int argc, char** argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    signal(SIGIO, SIG_IGN);
    pthread_t t;
    pthread_create(&t, NULL, leaser, NULL);
    long slowest = 0;
    char name[32];
    for (int i = 0; i < n; ++i) {
        snprintf(name, sizeof name, "L%d", i);
        atomic_store(&current, i);
        long t0 = now_ms();
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        long took = now_ms() - t0;
        atomic_store(&current, -1);
        if (took > slowest) slowest = took;
        if (fd >= 0) close(fd);
        unlink(name);
        if (atomic_load(&leases) > 0) break;
    }
    atomic_store(&done, 1);
    pthread_join(t, NULL);
    printf("leases %d\nslowest %ld\n", atomic_load(&leases), slowest);
    return 0;
}
