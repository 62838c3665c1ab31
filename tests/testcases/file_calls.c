/* Makes each file syscall the event stream watches once, as the raw
 * syscall (not glibc's choice of variant), on a path in OUTSIDE named after
 * the call, where the agent may not write: every call is refused, and each
 * refusal must reach the journal from that syscall's own exit tracepoint.
 * The two execs use copies of a binary in WS (mounted noexec).
 * Prints "NAME errno=E" for each call. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char a[4096], b[4096];

static void at(const char* dir, const char* name) {
    snprintf(a, sizeof a, "%s/%s", dir, name);
    snprintf(b, sizeof b, "%s/%s.new", dir, name);
}

static void report(const char* name, long r) {
    printf("%s errno=%d\n", name, r < 0 ? errno : 0);
}

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    const char* out = argv[1];
    const char* ws = argv[2];
    char* args[] = {"x", NULL};
    char* env[] = {NULL};
#define CALL(name, ...)              \
    do {                             \
        at(out, name);               \
        report(name, syscall(__VA_ARGS__)); \
    } while (0)
    CALL("open", SYS_open, a, O_WRONLY);
    CALL("creat", SYS_creat, a, 0644);
    CALL("openat", SYS_openat, AT_FDCWD, a, O_WRONLY);
    CALL("unlink", SYS_unlink, a);
    CALL("unlinkat", SYS_unlinkat, AT_FDCWD, a, 0);
    CALL("rmdir", SYS_rmdir, a);
    CALL("mkdir", SYS_mkdir, a, 0755);
    CALL("mkdirat", SYS_mkdirat, AT_FDCWD, a, 0755);
    CALL("mknod", SYS_mknod, a, 0010644 /* S_IFIFO */, 0);
    CALL("mknodat", SYS_mknodat, AT_FDCWD, a, 0010644, 0);
    CALL("rename", SYS_rename, a, b);
    CALL("renameat", SYS_renameat, AT_FDCWD, a, AT_FDCWD, b);
    CALL("renameat2", SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 0);
    CALL("link", SYS_link, a, b);
    CALL("linkat", SYS_linkat, AT_FDCWD, a, AT_FDCWD, b, 0);
    CALL("symlink", SYS_symlink, "/etc/passwd", a);
    CALL("symlinkat", SYS_symlinkat, "/etc/passwd", AT_FDCWD, a);
    CALL("truncate", SYS_truncate, a, 0);
    CALL("chmod", SYS_chmod, a, 0777);
    CALL("fchmodat", SYS_fchmodat, AT_FDCWD, a, 0777);
    CALL("chown", SYS_chown, a, 0, 0);
    CALL("lchown", SYS_lchown, a, 0, 0);
    CALL("fchownat", SYS_fchownat, AT_FDCWD, a, 0, 0, 0);
    CALL("utimensat", SYS_utimensat, AT_FDCWD, a, NULL, 0);
    CALL("setxattr", SYS_setxattr, a, "user.sbx", "v", 1, 0);
    CALL("lsetxattr", SYS_lsetxattr, a, "user.sbx", "v", 1, 0);
    CALL("removexattr", SYS_removexattr, a, "user.sbx");
    CALL("lremovexattr", SYS_lremovexattr, a, "user.sbx");
    CALL("utime", SYS_utime, a, NULL);
    CALL("utimes", SYS_utimes, a, NULL);
    CALL("futimesat", SYS_futimesat, AT_FDCWD, a, NULL);
    struct { unsigned long long flags, mode, resolve; } how = {O_WRONLY, 0, 0};
    CALL("openat2", 437 /* openat2: ENOSYS under the snapshot gate */, AT_FDCWD, a, &how, sizeof how);
    CALL("fchmodat2", 452, AT_FDCWD, a, 0777, 0);
    struct { unsigned long long value; unsigned size, flags; } xattr = {(unsigned long long)(uintptr_t)"v", 1, 0};
    CALL("setxattrat", 463, AT_FDCWD, a, 0, "user.sbx", &xattr, sizeof xattr);
    CALL("removexattrat", 466, AT_FDCWD, a, 0, "user.sbx");
    at(ws, "execve");
    report("execve", syscall(SYS_execve, a, args, env));
    at(ws, "execveat");
    report("execveat", syscall(SYS_execveat, AT_FDCWD, a, args, env, 0));
    return 0;
}
