/* What the kernel mechanisms sandbox-run is built on cost per call on this
 * machine, with nothing of sandboxd around them: the floor under
 * bench/scope's ratios. Each line is "name nanoseconds-per-call":
 *   open_bare        open+close of FILE
 *   open_landlock    the same under a Landlock domain that handles every
 *                    filesystem right and grants all of them on "/": the
 *                    least any Landlock file scope can cost
 *   notify_bare      getppid()
 *   notify_continue  getppid() sent to a seccomp user-notification listener
 *                    (a thread of the same process, as the gate's is one of
 *                    sandbox-run's) that answers "continue" at once: the
 *                    least a gated call can cost
 * Each measurement runs in a child of its own (Landlock and seccomp cannot
 * be undone). Usage: floors FILE ITERATIONS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Newer than Debian 12's headers. */
#define ALL_FS_RIGHTS ((1ULL << 16) - 1) /* up to LANDLOCK_ACCESS_FS_IOCTL_DEV (ABI 5) */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1UL
#endif

static const char* file;
static long iterations;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void fail(const char* what) {
    fprintf(stderr, "floors: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void open_loop(const char* name) {
    double t0 = now_ns();
    for (long i = 0; i < iterations; ++i) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail(file);
        close(fd);
    }
    printf("%s %.0f\n", name, (now_ns() - t0) / iterations);
}

static void getppid_loop(const char* name) {
    double t0 = now_ns();
    for (long i = 0; i < iterations; ++i) syscall(SYS_getppid);
    printf("%s %.0f\n", name, (now_ns() - t0) / iterations);
}

/* Whether this kernel has Landlock: without it there is no floor to print
 * for it ("-"), and the other floors still are. */
static int landlock_abi(void) {
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : abi;
}

static void enter_landlock(void) {
    unsigned long long handled = ALL_FS_RIGHTS;
    int abi = landlock_abi();
    if (abi < 5) handled &= ~(1ULL << 15);
    if (abi < 3) handled &= ~(1ULL << 14);
    if (abi < 2) handled &= ~(1ULL << 13);
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled};
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0) fail("landlock_create_ruleset");
    struct landlock_path_beneath_attr everything = {.allowed_access = handled,
                                                    .parent_fd = open("/", O_PATH | O_CLOEXEC)};
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &everything, 0) != 0)
        fail("landlock_add_rule");
    close(everything.parent_fd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
        fail("landlock_restrict_self");
}

/* Answers every notification with "continue", until the listener closes. */
static void* answer_all(void* arg) {
    int listener = *(int*)arg;
    for (;;) {
        struct seccomp_notif n;
        memset(&n, 0, sizeof n);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) {
            if (errno == EINTR || errno == ENOENT) continue;
            return NULL;
        }
        struct seccomp_notif_resp r = {.id = n.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
    }
}

static int listener;

static void notified_getppid_loop(void) {
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no_new_privs");
    /* The answering thread inherits the filter; it never calls getppid. */
    listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
    if (listener < 0) fail("seccomp");
    (void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
    pthread_t answerer;
    if (pthread_create(&answerer, NULL, answer_all, &listener) != 0) fail("pthread_create");
    getppid_loop("notify_continue");
}

static void in_child(void (*measure)(void)) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        measure();
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) exit(1);
}

static void bare_open(void) { open_loop("open_bare"); }
static void landlocked_open(void) {
    enter_landlock();
    open_loop("open_landlock");
}
static void bare_getppid(void) { getppid_loop("notify_bare"); }

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: floors FILE ITERATIONS\n");
        return 2;
    }
    file = argv[1];
    iterations = atol(argv[2]);
    if (iterations <= 0) return 2;
    in_child(bare_open);
    if (landlock_abi() > 0) in_child(landlocked_open);
    else printf("open_landlock -\n");
    in_child(bare_getppid);
    in_child(notified_getppid_loop);
    return 0;
}
