#define _GNU_SOURCE
/* Forks sleeping children until the kernel refuses, then reports how many it
 * got and why it stopped. Bounded at 5000 so a broken limit cannot take the
 * test host down with it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    static pid_t kids[5000];
    int n = 0, err = 0;
    for (; n < 5000; ++n) {
        pid_t p = fork();
        if (p == 0) {
            pause();
            _exit(0);
        }
        if (p < 0) {
            err = errno;
            break;
        }
        kids[n] = p;
    }
    printf("forked=%d errno=%s\n", n, err ? strerrorname_np(err) : "0");
    fflush(stdout);
    for (int i = 0; i < n; ++i) kill(kids[i], SIGKILL);
    while (wait(NULL) > 0) {
    }
    return 0;
}
