// The compiled seccomp program, loaded for real in a forked child (that only
// needs no_new_privs, not root), then probed with the syscalls it must stop.
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>

#include "policy/seccomp_policy.h"

using namespace sandboxd;

namespace {

// Result of fn in a child under the program: the errno of a failed call,
// 0 for success, or -signal when the child was killed.
int under_filter(const SeccompProgram& prog, const std::function<long()>& fn) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        sock_fprog fp = prog.fprog();
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) _exit(99);
        if (!prog.insns.empty() && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp)) _exit(99);
        errno = 0;
        long r = fn();
        int result = r < 0 ? errno : 0;
        (void)!write(fds[1], &result, sizeof result);
        _exit(0);
    }
    close(fds[1]);
    int result = -1000;
    ssize_t n = read(fds[0], &result, sizeof result);
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) return -WTERMSIG(st);
    REQUIRE(WEXITSTATUS(st) == 0);
    REQUIRE(n == sizeof result);
    return result;
}

long ia32_getpid() {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20) : "memory");
    if (ret < 0) {
        errno = int(-ret);
        return -1;
    }
    return ret;
}

long io_uring_setup_call() {
    char params[120] = {};
    long fd = syscall(425 /* io_uring_setup */, 4, params);
    if (fd >= 0) close(int(fd));
    return fd;
}

long clone_child(unsigned long flags) {
    long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
    if (r == 0) _exit(0);
    if (r > 0) waitpid(pid_t(r), nullptr, 0);
    return r;
}

SeccompProgram compile(SyscallRules rules = {}, bool audit = false) {
    auto p = compile_seccomp(rules, audit);
    REQUIRE(p.ok());
    return std::move(*p);
}

}  // namespace

TEST_CASE("the baseline denies escape syscalls with an errno and the process carries on") {
    auto prog = compile();
    CHECK(prog.denied.count("ptrace"));
    CHECK(prog.denied.count("bpf"));
    CHECK(prog.denied.count("io_uring_setup"));
    CHECK(prog.denied.count("%personality"));
    CHECK(prog.insns.size() < BPF_MAXINSNS);

    CHECK(under_filter(prog, [] { return syscall(SYS_getpid); }) == 0);
    CHECK(under_filter(prog, io_uring_setup_call) == ENOSYS);
    CHECK(under_filter(prog, [] { return syscall(SYS_ptrace, 0x4206 /*SEIZE*/, getppid(), 0, 0); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_bpf, 0, nullptr, 0); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_keyctl, 0, -3, 0); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_userfaultfd, 1); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_mount, "none", "/", "tmpfs", 0, 0); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_move_mount, -1, "", -1, "", 0); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_kexec_load, 0, 0, 0, 0); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_finit_module, -1, "", 0); }) == EPERM);
}

TEST_CASE("without the filter the same probes succeed: the test can tell") {
    // Controls run in a child with an empty allow-all program, so a broken
    // filter that denied nothing would make the previous test fail.
    SyscallRules open_all;
    open_all.allow = {"@baseline"};
    auto prog = compile(open_all);
    CHECK(prog.denied.empty());
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, READ_IMPLIES_EXEC); }) == 0);
    CHECK(under_filter(prog, [] { return syscall(SYS_keyctl, 0, -3, 0); }) == 0);
    // Foreign ABIs stay refused even with the whole baseline allowed...
    CHECK(under_filter(prog, [] { return ia32_getpid(); }) == ENOSYS);
    // ...and work with no filter at all, so the ENOSYS is ours.
    CHECK(under_filter(SeccompProgram{}, [] { return ia32_getpid(); }) == 0);
    CHECK(under_filter(prog, [] { return syscall(SYS_ioctl, 0, TIOCSTI, "x"); }) != EPERM);
}

TEST_CASE("foreign ABIs are refused: an ia32 syscall gets ENOSYS") {
    auto prog = compile();
    CHECK(under_filter(prog, [] { return ia32_getpid(); }) == ENOSYS);
    // x32 numbers carry bit 30; libseccomp treats them as a foreign ABI too.
    CHECK(under_filter(prog, [] { return syscall(0x40000000 | SYS_getpid); }) == ENOSYS);
}

TEST_CASE("namespaces: user namespaces refused through clone / unshare and clone3") {
    auto prog = compile();
    CHECK(under_filter(prog, [] { return syscall(SYS_unshare, CLONE_NEWUSER); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_unshare, CLONE_NEWNET | CLONE_FILES); }) == EPERM);
    CHECK(under_filter(prog, [] { return clone_child(CLONE_NEWUSER); }) == EPERM);
    CHECK(under_filter(prog, [] {
              clone_args a{};
              a.exit_signal = SIGCHLD;
              return syscall(SYS_clone3, &a, sizeof a);
          }) == ENOSYS);
    // Ordinary process creation keeps working (glibc's fork falls back to clone).
    CHECK(under_filter(prog, [] { return clone_child(0); }) == 0);
    CHECK(under_filter(prog, [] {
              pid_t p = fork();
              if (p == 0) _exit(0);
              waitpid(p, nullptr, 0);
              return long(p);
          }) == 0);
    CHECK(under_filter(prog, [] { return syscall(SYS_unshare, CLONE_FILES); }) == 0);
}

TEST_CASE("personality: only PER_LINUX / PER_LINUX32 and the query / all 64 bits checked") {
    auto prog = compile();
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, 0xffffffffUL); }) == 0);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, PER_LINUX); }) == 0);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, READ_IMPLIES_EXEC); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, ADDR_NO_RANDOMIZE); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, 0xfffffffeUL); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, 1UL); }) == EPERM);
    // The kernel truncates to 32 bits: high bits must not smuggle a flag past.
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, 0x100000000UL | ADDR_NO_RANDOMIZE); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, 0x100000000UL); }) == EPERM);
}

TEST_CASE("TIOCSTI terminal injection is refused / also with high bits in the command") {
    auto prog = compile();
    CHECK(under_filter(prog, [] { return syscall(SYS_ioctl, 0, TIOCSTI, "x"); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_ioctl, 0, 0x100000000UL | TIOCSTI, "x"); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_ioctl, 0, TIOCLINUX, "x"); }) == EPERM);
    // Other ioctls are untouched.
    CHECK(under_filter(prog, [] {
              int n;
              return syscall(SYS_ioctl, 0, FIONREAD, &n);
          }) != EPERM);
}

TEST_CASE("profiles widen and narrow the baseline explicitly") {
    SyscallRules r;
    r.allow = {"@io-uring"};
    r.deny = {"chown", "fchownat"};
    auto prog = compile(r);
    CHECK_FALSE(prog.denied.count("io_uring_setup"));
    CHECK(prog.denied.count("fchownat"));
    CHECK(under_filter(prog, io_uring_setup_call) != ENOSYS);
    CHECK(under_filter(prog, [] { return syscall(SYS_fchownat, AT_FDCWD, "/", 0, 0, 0); }) == EPERM);
}

TEST_CASE("audit mode logs the profile's own denials but keeps the baseline") {
    SyscallRules r;
    r.deny = {"fchownat", "ptrace"};
    auto prog = compile(r, true);
    CHECK(prog.logged.count("fchownat"));
    CHECK_FALSE(prog.denied.count("fchownat"));
    CHECK(prog.denied.count("ptrace"));
    // fchownat of / to root:root as root-or-not: whatever the kernel says, not EPERM from us.
    CHECK(under_filter(prog, [] { return syscall(SYS_fchownat, AT_FDCWD, "/nonexistent-x", 0, 0, 0); }) == ENOENT);
    CHECK(under_filter(prog, io_uring_setup_call) == ENOSYS);
}

TEST_CASE("the binary tree keeps the filter small as rules grow") {
    auto base = compile();
    SyscallRules many;
    many.deny = {"@privileged", "@obsolete", "chmod", "fchmod", "fchmodat", "truncate", "ftruncate",
                 "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir", "link", "linkat"};
    auto big = compile(many);
    CHECK(big.denied.size() > base.denied.size() + 20);
    CHECK(big.insns.size() < BPF_MAXINSNS);
}

TEST_CASE("socket families: unix / IPv4 / IPv6 and route netlink only") {
    auto prog = compile();
    auto sock = [](long family, long type, long protocol) {
        return [=] {
            long fd = syscall(SYS_socket, family, type, protocol);
            if (fd >= 0) close(int(fd));
            return fd;
        };
    };
    CHECK(under_filter(prog, sock(AF_UNIX, SOCK_STREAM, 0)) == 0);
    CHECK(under_filter(prog, sock(AF_INET, SOCK_DGRAM, 0)) == 0);
    CHECK(under_filter(prog, sock(AF_INET6, SOCK_STREAM, 0)) == 0);
    CHECK(under_filter(prog, sock(AF_NETLINK, SOCK_RAW, 0)) == 0);
    CHECK(under_filter(prog, sock(AF_NETLINK, SOCK_RAW, 4 /*SOCK_DIAG*/)) == EPERM);
    CHECK(under_filter(prog, sock(AF_PACKET, SOCK_RAW, 0)) == EPERM);
    CHECK(under_filter(prog, sock(40 /*AF_VSOCK*/, SOCK_STREAM, 0)) == EPERM);
    CHECK(under_filter(prog, sock(0x100000000L | AF_NETLINK, SOCK_RAW, 4)) == EPERM);
    // Control: without the filter the kernel creates a sock_diag socket.
    CHECK(under_filter(SeccompProgram{}, sock(AF_NETLINK, SOCK_RAW, 4)) == 0);
}

TEST_CASE("a gated program sends its refusals to the gate - with the errno its own action gives - not clone3's") {
    auto plain = compile_seccomp({}, false);
    REQUIRE(plain);
    CHECK(plain->refusals.empty());  // no gate listening: the filter answers itself

    auto gated = compile_seccomp({}, false, false, true);
    REQUIRE(gated);
    const auto& r = gated->refusals;
    REQUIRE(r.count(SYS_ptrace));
    CHECK(r.at(SYS_ptrace).err == EPERM);
    CHECK(r.at(SYS_ptrace).rule == "ptrace");
    REQUIRE(r.count(SYS_io_uring_setup));
    CHECK(r.at(SYS_io_uring_setup).err == ENOSYS);
    REQUIRE(r.count(SYS_unshare));
    CHECK(r.at(SYS_unshare).rule == "%clone-namespaces");
    REQUIRE(r.count(SYS_ioctl));  // two rules on one syscall: both named
    CHECK(r.at(SYS_ioctl).rule.find("%tty-injection") != std::string::npos);
    CHECK(r.at(SYS_ioctl).rule.find("%inode-flags") != std::string::npos);
    CHECK_FALSE(r.count(SYS_clone3));
    CHECK_FALSE(r.count(SYS_getpid));
    CHECK_FALSE(r.count(SYS_connect));  // sent to the gate to be done, not refused

    // A syscall the profile denies whole, which an argument-shaped rule also
    // covers: the whole rule refuses every call of it (libseccomp keeps no
    // argument-shaped rule beside it); the argument-shaped rule's other
    // syscalls still go to the gate.
    SyscallRules whole;
    whole.deny = {"ioctl", "unshare"};
    auto named = compile_seccomp(whole, false, false, true);
    REQUIRE(named);
    REQUIRE(named->refusals.count(SYS_ioctl));
    CHECK(named->refusals.at(SYS_ioctl).rule == "ioctl");
    CHECK(named->refusals.at(SYS_unshare).rule == "unshare");
    REQUIRE(named->refusals.count(SYS_clone));
    CHECK(named->refusals.at(SYS_clone).rule == "%clone-namespaces");

    // Audit mode: the profile's own denials are logged and let through,
    // never refused by the gate.
    SyscallRules own;
    own.deny = {"fchownat"};
    auto audit = compile_seccomp(own, true, false, true);
    REQUIRE(audit);
    CHECK_FALSE(audit->refusals.count(SYS_fchownat));
    CHECK(audit->refusals.count(SYS_ptrace));
}

// libseccomp drops every argument-shaped rule on a syscall once a rule on
// the whole syscall is added. Audit mode logs a profile's denial with such
// a rule: a profile denying unshare or ioctl whole would have taken the
// baseline's user-namespace and TIOCSTI rules away in audit mode.
TEST_CASE("audit mode keeps the baseline's argument-shaped rules when the profile denies the same syscall whole") {
    SyscallRules r;
    r.deny = {"unshare", "ioctl", "personality", "fchownat"};
    auto prog = compile(r, true);
    CHECK(prog.logged.count("fchownat"));
    for (const char* s : {"unshare", "ioctl", "personality"}) {
        INFO(s);
        CHECK(prog.unlogged.count(s));
        CHECK_FALSE(prog.logged.count(s));
    }
    CHECK(under_filter(prog, [] { return syscall(SYS_unshare, CLONE_NEWUSER); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_unshare, CLONE_FILES); }) == 0);
    CHECK(under_filter(prog, [] { char c = 'x'; return syscall(SYS_ioctl, 0, TIOCSTI, &c); }) == EPERM);
    CHECK(under_filter(prog, [] { return syscall(SYS_personality, 0x0040000); }) == EPERM);  // ADDR_NO_RANDOMIZE
}
