/* An agent that keeps exchanging two names in its workspace (DIR/NAME, a
 * directory, "ws" unless given, and DIR/lnk, a symbolic link it made to
 * TARGET) for SECONDS: a later session started on DIR/ws meanwhile must
 * never be given the link's target. Leaves NAME a directory.
 * Usage: swap_flip DIR TARGET SECONDS [NAME] */
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

static const char* name = "ws";

static int exchange(void) { return (int)syscall(SYS_renameat2, AT_FDCWD, name, AT_FDCWD, "lnk", RENAME_EXCHANGE); }

int main(int argc, char** argv) {
    if ((argc != 4 && argc != 5) || chdir(argv[1]) != 0) return 2;
    if (argc == 5) name = argv[4];
    if (symlink(argv[2], "lnk") != 0) return 1;
    time_t end = time(NULL) + atoi(argv[3]);
    long flips = 0;
    while (time(NULL) < end)
        if (exchange() == 0) ++flips;
    struct stat st;
    if (lstat(name, &st) == 0 && S_ISLNK(st.st_mode)) exchange();
    printf("flips %ld\n", flips);
    return flips > 0 ? 0 : 1;
}
