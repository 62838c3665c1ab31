/* Opens a FIFO nobody reads, for writing: an open the snapshot gate makes
 * for the agent and retries for at most 5 s, then answers ENXIO. Makes the
 * FIFO "p" in its working directory, prints "opening", then how the open
 * ended ("open: <error>" or "open: ok") and after how many milliseconds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
    if (mkfifo("p", 0600) != 0) {
        perror("mkfifo");
        return 1;
    }
    printf("opening\n");
    fflush(stdout);
    long t0 = now_ms();
    int fd = open("p", O_WRONLY);
    int err = errno;
    printf("open: %s after %ld ms\n", fd >= 0 ? "ok" : strerror(err), now_ms() - t0);
    return 0;
}
