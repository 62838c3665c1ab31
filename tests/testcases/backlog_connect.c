/* A connect() the snapshot gate makes for the agent and waits on: the
 * agent listens on a pathname unix socket "s" in its working directory
 * with a backlog of 0 and never accepts; a first connect fills the
 * backlog, a second waits (in the gate, which bounds it at 5 s and then
 * says ETIMEDOUT). Prints "connecting", then how the second ended
 * ("connect: <error>" or "connect: ok") and after how many milliseconds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, "s");
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(l, 0) != 0) {
        perror("listen");
        return 1;
    }
    int first = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(first, (struct sockaddr*)&sa, sizeof sa) != 0) {
        perror("first connect");
        return 1;
    }
    int second = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connecting\n");
    fflush(stdout);
    long t0 = now_ms();
    int rc = connect(second, (struct sockaddr*)&sa, sizeof sa);
    int err = errno;
    printf("connect: %s after %ld ms\n", rc == 0 ? "ok" : strerror(err), now_ms() - t0);
    return 0;
}
