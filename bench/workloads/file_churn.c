/* (b) N times: create a file in the current directory, write 4 KiB, close,
 * unlink. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    char name[64];
    for (long i = 0; i < n; ++i) {
        snprintf(name, sizeof name, "churn-%ld", i);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf) return 1;
        close(fd);
        if (unlink(name) != 0) return 1;
    }
    return 0;
}
