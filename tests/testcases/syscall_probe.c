/* Tries syscalls a sandboxed agent must not get, one per argument, and
 * prints "NAME ret=R errno=E" for each, then carries on: a blocked syscall
 * must fail with an errno, never kill the agent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

static long ia32_getpid(void) {
    long ret;
    /* int 0x80 enters the kernel's 32-bit syscall table: 20 is getpid. */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    return ret;
}

/* A file of the session's own /tmp, opened for reading only. */
static int own_file(void) { return open("/tmp/flags-probe", O_RDONLY | O_CREAT | O_CLOEXEC, 0600); }

/* `result` of a call on `fd`, after closing it, with the call's errno. */
static long closing(int fd, long result) {
    int e = errno;
    close(fd);
    errno = e;
    return result;
}

static long probe(const char* name) {
    if (!strcmp(name, "getpid")) return syscall(SYS_getpid);
    if (!strcmp(name, "ptrace")) {
        /* Our own child: the kernel alone would allow this attach. */
        pid_t kid = fork();
        if (kid == 0) {
            pause();
            _exit(0);
        }
        long r = syscall(SYS_ptrace, 16 /*PTRACE_ATTACH*/, kid, 0, 0);
        int e = errno;
        kill(kid, SIGKILL);
        waitpid(kid, NULL, 0);
        errno = e;
        return r;
    }
    if (!strcmp(name, "io_uring_setup")) {
        char params[120] = {0};
        return syscall(425, 4, params);
    }
    if (!strcmp(name, "bpf")) {
        char attr[128] = {0};
        return syscall(SYS_bpf, 0, attr, sizeof attr);
    }
    if (!strcmp(name, "mount")) return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, 0);
    if (!strcmp(name, "umount")) return syscall(SYS_umount2, "/proc", 0);
    /* open_tree_attr (Linux 6.15, 467 on x86_64), newer than libseccomp:
     * without its number it went unrefused while open_tree was refused. */
    if (!strcmp(name, "open_tree_attr")) return syscall(467, AT_FDCWD, "/etc", 0, NULL, 0);
    /* file_setattr (Linux 6.17, 469): inode flags by path, as FS_IOC_FSSETXATTR. */
    if (!strcmp(name, "file_setattr")) {
        char attr[32] = {0};
        return syscall(469, AT_FDCWD, "/tmp", attr, sizeof attr, 0);
    }
    if (!strcmp(name, "unshare_user")) return syscall(SYS_unshare, CLONE_NEWUSER);
    if (!strcmp(name, "unshare_files")) return syscall(SYS_unshare, CLONE_FILES);
    if (!strcmp(name, "clone_newuser")) {
        long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) _exit(0);
        return r;
    }
    if (!strcmp(name, "clone3")) {
        struct clone_args a;
        memset(&a, 0, sizeof a);
        a.flags = CLONE_NEWUSER;
        a.exit_signal = SIGCHLD;
        long r = syscall(SYS_clone3, &a, sizeof a);
        if (r == 0) _exit(0);
        return r;
    }
    if (!strcmp(name, "setns")) return syscall(SYS_setns, 0, CLONE_NEWNS);
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /*GET_KEYRING_ID*/, -3, 0);
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "user", "x", "y", 1, -3);
    if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 0);
    if (!strcmp(name, "perf_event_open")) {
        char attr[128] = {0};
        return syscall(SYS_perf_event_open, attr, 0, -1, -1, 0);
    }
    if (!strcmp(name, "kexec_load")) return syscall(SYS_kexec_load, 0, 0, 0, 0);
    if (!strcmp(name, "init_module")) return syscall(SYS_init_module, 0, 0, "");
    if (!strcmp(name, "open_by_handle_at")) return syscall(SYS_open_by_handle_at, AT_FDCWD, 0, 0);
    if (!strcmp(name, "chroot")) return syscall(SYS_chroot, "/");
    if (!strcmp(name, "personality_rie")) return syscall(SYS_personality, READ_IMPLIES_EXEC);
    if (!strcmp(name, "personality_norandom")) return syscall(SYS_personality, ADDR_NO_RANDOMIZE);
    if (!strcmp(name, "personality_highbits"))
        return syscall(SYS_personality, 0x100000000ul | ADDR_NO_RANDOMIZE);
    if (!strcmp(name, "personality_query")) return syscall(SYS_personality, 0xffffffff);
    if (!strcmp(name, "personality_linux")) return syscall(SYS_personality, PER_LINUX);
    if (!strcmp(name, "tiocsti")) {
        char c = 'x';
        return syscall(SYS_ioctl, 0, TIOCSTI, &c);
    }
    if (!strcmp(name, "tiocsti_highbits")) {
        char c = 'x';
        return syscall(SYS_ioctl, 0, 0x100000000ul | TIOCSTI, &c);
    }
    /* Inode flags (chattr), on a file of the session's own /tmp: nodump
     * makes backups skip a file, and no undo record could set it back. */
    if (!strcmp(name, "inode_flags")) {
        int fd = own_file();
        int flags = FS_NODUMP_FL;
        return fd < 0 ? -1 : closing(fd, syscall(SYS_ioctl, fd, FS_IOC_SETFLAGS, &flags));
    }
    /* The inode's generation number, settable through a descriptor open
     * for reading: no undo record could set it back. */
    if (!strcmp(name, "inode_version")) {
        int fd = own_file();
        int version = 4242;
        return fd < 0 ? -1 : closing(fd, syscall(SYS_ioctl, fd, 0x40087602 /* FS_IOC_SETVERSION */, &version));
    }
    /* A read lease on a file of its own: every other opener would wait. */
    if (!strcmp(name, "setlease")) {
        int fd = own_file();
        return fd < 0 ? -1 : closing(fd, syscall(SYS_fcntl, fd, 1024 /* F_SETLEASE */, 0 /* F_RDLCK */));
    }
    /* dnotify on a directory: a signal for each read of an entry in it. */
    if (!strcmp(name, "dnotify")) {
        int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -1 : closing(fd, syscall(SYS_fcntl, fd, 1026 /* F_NOTIFY */, 0x1 /* DN_ACCESS */));
    }
    /* A memfd: the dynamic loader maps one as code outside every exec tree. */
    if (!strcmp(name, "memfd_create")) return syscall(SYS_memfd_create, "probe", 0);
    /* Unprivileged fanotify reporting names: watches outside the read scope. */
    if (!strcmp(name, "fanotify_init")) return syscall(SYS_fanotify_init, 0xc00 /* FAN_REPORT_DFID_NAME */, 0);
    if (!strcmp(name, "ia32_getpid")) {
        long r = ia32_getpid();
        if (r < 0) {
            errno = (int)-r;
            return -1;
        }
        return r;
    }
    if (!strcmp(name, "x32_getpid")) return syscall(0x40000000 | SYS_getpid);
    if (!strcmp(name, "fork")) {
        pid_t p = fork();
        if (p == 0) _exit(0);
        return p > 0 ? 0 : -1;
    }
    fprintf(stderr, "unknown probe %s\n", name);
    _exit(2);
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        errno = 0;
        long r = probe(argv[i]);
        int e = r < 0 ? errno : 0;
        printf("%s ret=%d errno=%s\n", argv[i], r < 0 ? -1 : (r > 0 ? 1 : 0),
               e ? strerrorname_np(e) : "0");
        fflush(stdout);
    }
    printf("probe-done\n");
    return 0;
}
