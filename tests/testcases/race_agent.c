/* A hostile agent racing the snapshot gate. In DIR (its workspace's race
 * directory) it finds
 *     file_a   a regular file              evil   a symlink to a file outside
 *     d/       a directory with victim     dlink  a symlink to a directory outside
 * and for MS milliseconds, on four threads at once:
 *     swap     exchanges file_a<->evil and d<->dlink (RENAME_EXCHANGE)
 *     trunc    truncate() and open(O_TRUNC) on both names
 *     del      unlink d/victim, recreate it with O_CREAT|O_TRUNC
 *     mv       rename d/victim to d/victim2 and back
 * so that at any moment a name the gate resolves may have been swapped for
 * a path outside. Prints how many of each operation succeeded, then
 * "race-done". Whether anything outside changed, and whether every change
 * inside can be rolled back, is for the test to check. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long ok_swap, ok_trunc, ok_del, ok_create, ok_mv;

static void* swapper(void* arg) {
    (void)arg;
    while (!stop) {
        if (renameat2(AT_FDCWD, "file_a", AT_FDCWD, "evil", RENAME_EXCHANGE) == 0) ok_swap++;
        if (renameat2(AT_FDCWD, "d", AT_FDCWD, "dlink", RENAME_EXCHANGE) == 0) ok_swap++;
    }
    return NULL;
}

static void* truncator(void* arg) {
    (void)arg;
    while (!stop) {
        if (truncate("file_a", 10) == 0) ok_trunc++;
        if (truncate("evil", 5) == 0) ok_trunc++;
        int fd = open("evil", O_WRONLY | O_TRUNC);
        if (fd >= 0) {
            ok_trunc++;
            if (write(fd, "B", 1) < 0) {}
            close(fd);
        }
        fd = open("file_a", O_WRONLY | O_TRUNC);
        if (fd >= 0) {
            ok_trunc++;
            if (write(fd, "C", 1) < 0) {}
            close(fd);
        }
    }
    return NULL;
}

static void* deleter(void* arg) {
    (void)arg;
    while (!stop) {
        if (unlink("d/victim") == 0) ok_del++;
        int fd = open("d/victim", O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd >= 0) {
            ok_create++;
            if (write(fd, "N", 1) < 0) {}
            close(fd);
        }
    }
    return NULL;
}

static void* mover(void* arg) {
    (void)arg;
    while (!stop) {
        if (rename("d/victim", "d/victim2") == 0) ok_mv++;
        if (rename("d/victim2", "d/victim") == 0) ok_mv++;
    }
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 3 || chdir(argv[1]) != 0) {
        fprintf(stderr, "usage: race_agent DIR MS\n");
        return 2;
    }
    long ms = atol(argv[2]);
    void* (*fns[])(void*) = {swapper, truncator, deleter, mover};
    pthread_t t[4];
    for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, fns[i], NULL);
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&d, NULL);
    stop = 1;
    for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
    printf("swap %ld\ntrunc %ld\ndel %ld\ncreate %ld\nmv %ld\nrace-done\n", (long)ok_swap, (long)ok_trunc,
           (long)ok_del, (long)ok_create, (long)ok_mv);
    return 0;
}
