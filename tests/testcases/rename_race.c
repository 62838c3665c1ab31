/* Two agents, in two sessions on one workspace, racing renames onto one
 * name. In its working directory, for at most SEC seconds:
 *   mover   (MODE mover N)  makes src_K, waits a random moment, renames it
 *           onto "dst" (a free name when it looked), then moves dst away
 *           to done_K; N times;
 *   feeder  (MODE feeder N) waits until "dst" is free, waits a random
 *           moment, renames victim v_I (a file older than both sessions)
 *           onto it; for each of N victims.
 * A mover's rename the gate judged "to a free name" must not replace the
 * victim the feeder put there in between: what it replaces is kept as a
 * snapshot, or the rename fails. Prints how many renames each made. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pause_randomly(unsigned* seed) {
    long long d = rand_r(seed) % 40000, t0 = now_ns();
    while (now_ns() - t0 < d) {}
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: rename_race mover|feeder N SEC\n");
        return 2;
    }
    int mover = strcmp(argv[1], "mover") == 0;
    int n = atoi(argv[2]);
    long long deadline = now_ns() + atoll(argv[3]) * 1000000000LL;
    unsigned seed = (unsigned)getpid();
    char name[64], done[64];
    struct stat st;
    int made = 0;
    if (mover) {
        for (int k = 0; k < n && now_ns() < deadline; ++k) {
            snprintf(name, sizeof name, "src_%d", k);
            int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd < 0) return 1;
            dprintf(fd, "MOVER %d\n", k);
            close(fd);
            pause_randomly(&seed);
            if (rename(name, "dst") == 0) made++;
            snprintf(done, sizeof done, "done_%d", k);
            if (rename("dst", done) != 0) {}
        }
    } else {
        while (made < n && now_ns() < deadline) {
            while (lstat("dst", &st) == 0 && now_ns() < deadline) {}
            pause_randomly(&seed);
            snprintf(name, sizeof name, "v_%d", made);
            if (rename(name, "dst") == 0) made++;
        }
    }
    printf("%s renamed %d\nrace-done\n", argv[1], made);
    return 0;
}
