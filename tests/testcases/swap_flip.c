/* An agent that keeps exchanging two names in its workspace (DIR/ws, a
 * directory, and DIR/lnk, a symbolic link it made to TARGET) for SECONDS:
 * a later session started on DIR/ws meanwhile must never be given the
 * link's target. Leaves ws a directory. Usage: swap_flip DIR TARGET SECONDS */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int exchange(void) { return (int)syscall(SYS_renameat2, AT_FDCWD, "ws", AT_FDCWD, "lnk", RENAME_EXCHANGE); }

int main(int argc, char** argv) {
    if (argc != 4 || chdir(argv[1]) != 0) return 2;
    if (symlink(argv[2], "lnk") != 0) return 1;
    time_t end = time(NULL) + atoi(argv[3]);
    long flips = 0;
    while (time(NULL) < end)
        if (exchange() == 0) ++flips;
    struct stat st;
    if (lstat("ws", &st) == 0 && S_ISLNK(st.st_mode)) exchange();
    printf("flips %ld\n", flips);
    return flips > 0 ? 0 : 1;
}
