/* A hostile agent that lets an exec take over the id of a thread the
 * snapshot gate is still working for. TRIALS times: a child process opens
 * big_T (an existing file) for writing, which the gate snapshots first (a
 * copy: slow), while its second thread, a few ms in, execs this program
 * again as "phase2 T": the exec kills the first thread and takes over its
 * id, and the new program at once makes files c_T_K (O_CREAT|O_EXCL,
 * which the gate does not see) for MS milliseconds. The gate's journal
 * mark for the killed thread's open must not swallow the line of one of
 * the new program's creates. Prints how many files it made in all. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int trial;
static const char* self;
static const char* ms;

static void* execer(void* arg) {
    (void)arg;
    usleep(500 + (trial * 997) % 2500);
    char t[16];
    snprintf(t, sizeof t, "%d", trial);
    char* av[] = {(char*)self, "phase2", t, (char*)ms, NULL};
    execv(self, av);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[1], "phase2") == 0) {
        long long end = now_ns() + atoll(argv[3]) * 1000000LL;
        char name[64];
        int made = 0;
        while (now_ns() < end) {
            snprintf(name, sizeof name, "c_%s_%d", argv[2], made);
            int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd < 0) break;
            close(fd);
            made++;
        }
        snprintf(name, sizeof name, "made_%s_%d", argv[2], made);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) close(fd);
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: exec_mark_race SELF TRIALS MS\n");
        return 2;
    }
    self = argv[1];
    ms = argv[3];
    int trials = atoi(argv[2]);
    for (trial = 0; trial < trials; ++trial) {
        pid_t p = fork();
        if (p == 0) {
            pthread_t t;
            pthread_create(&t, NULL, execer, NULL);
            char name[64];
            snprintf(name, sizeof name, "big_%d", trial);
            if (open(name, O_WRONLY) >= 0) pause();  /* the exec ends this thread */
            pause();
            _exit(0);
        }
        int status;
        waitpid(p, &status, 0);
    }
    printf("race-done\n");
    return 0;
}
