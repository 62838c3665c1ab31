/* A hostile agent that stalls whoever opens its file: it takes a read
 * lease on "f" (in its working directory), ignores SIGIO, the signal that
 * asks it to let go, and from another thread keeps opening "f" for reading
 * and writing, which goes through the snapshot gate and breaks the lease -
 * a wait of fs.lease-break-time (45 s by default) for a blocking open.
 * Prints "leased", then "beat N" every 100 ms until killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void* opener(void* arg) {
    (void)arg;
    for (;;) {
        int fd = open("f", O_RDWR);
        if (fd >= 0) close(fd);
    }
    return NULL;
}

int main(void) {
    signal(SIGIO, SIG_IGN);
    int w = open("f", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (w < 0 || write(w, "x", 1) != 1) return 1;
    close(w);
    int fd = open("f", O_RDONLY);
    /* The snapshot gate made "f" and may hold its descriptor for writing a
     * moment after the agent has it: a read lease waits for no writer. */
    int tries = 0;
    while (fd >= 0 && fcntl(fd, F_SETLEASE, F_RDLCK) != 0 && errno == EAGAIN && ++tries < 200) usleep(5000);
    if (fd < 0 || tries == 200 || fcntl(fd, F_GETLEASE) != F_RDLCK) {
        perror("lease");
        return 1;
    }
    printf("leased\n");
    fflush(stdout);
    pthread_t t;
    pthread_create(&t, NULL, opener, NULL);
    for (int i = 0;; ++i) {
        printf("beat %d\n", i);
        fflush(stdout);
        usleep(100000);
    }
}
