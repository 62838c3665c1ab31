/* (a) N openat+close of one allowed file. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char** argv) {
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    for (long i = 0; i < n; ++i) {
        int fd = openat(AT_FDCWD, argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0) return 1;
        close(fd);
    }
    return 0;
}
