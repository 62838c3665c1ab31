#include "launch/spawn.h"

#include <poll.h>
#include <sys/signalfd.h>

#include "landlock/ruleset.h"
#include "launch/mount_setup.h"
#include "launch/session_connect.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <grp.h>
#include <sys/capability.h>
#include <linux/keyctl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstring>
#include <memory>

namespace sandboxd {
namespace {

struct CapDeleter {
    void operator()(cap_t c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapDeleter>;

// Everything the child needs, laid out before the clone.
struct Prepared {
    std::vector<char*> argv;
    std::vector<char*> envp;
    const char* path_var = nullptr;  // the agent's PATH, for the lookup
    CapPtr empty_caps;
    sock_fprog prog{};
    int supervisor_pidfd = -1;  // readable once the supervisor has exited
    int listener_sock = -1;     // gated seccomp: where the listener goes
    int connector_sock = -1;    // gated seccomp: init's end (launch/session_connect.h)
};

// One byte carrying one descriptor (SCM_RIGHTS). Lives on the stack: the
// child sends with it between clone and exec, where nothing allocates.
struct FdMessage {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};

    FdMessage() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof ctl;
    }
    FdMessage(const FdMessage&) = delete;  // msg points into this object
    FdMessage& operator=(const FdMessage&) = delete;
};

// Hands the seccomp listener to the supervisor.
bool send_fd(int sock, int fd) {
    FdMessage m;
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return ::sendmsg(sock, &m.msg, MSG_NOSIGNAL) == 1;
}

UniqueFd receive_fd(int sock) {
    FdMessage m;
    if (::recvmsg(sock, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1) return UniqueFd();
    cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        return UniqueFd();
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

[[noreturn]] void fail(int pipe_fd, SpawnStep step, int err) {
    SpawnFailure f{step, err};
    // Best effort: if the parent is gone nobody is left to tell.
    ssize_t ignored = ::write(pipe_fd, &f, sizeof f);
    (void)ignored;
    _exit(125);
}

// execvp() searches the PATH of the *calling* process (root's, here), not
// the agent's, so the search is done by hand over the agent's PATH, with
// the shell's rules: keep looking past ENOENT, remember EACCES.
[[noreturn]] void exec_agent(const Prepared& p, int pipe_fd) {
    const char* file = p.argv[0];
    if (std::strchr(file, '/')) {
        ::execve(file, p.argv.data(), p.envp.data());
        fail(pipe_fd, SpawnStep::Exec, errno);
    }
    const char* path = p.path_var ? p.path_var : "/usr/local/bin:/usr/bin:/bin";
    int saved = ENOENT;
    char buf[PATH_MAX];
    size_t flen = std::strlen(file);
    for (const char* dir = path;; ) {
        const char* end = std::strchr(dir, ':');
        size_t dlen = end ? size_t(end - dir) : std::strlen(dir);
        if (dlen == 0) {
            dir = ".";
            dlen = 1;
        }
        if (dlen + 1 + flen + 1 <= sizeof buf) {
            std::memcpy(buf, dir, dlen);
            buf[dlen] = '/';
            std::memcpy(buf + dlen + 1, file, flen + 1);
            ::execve(buf, p.argv.data(), p.envp.data());
            if (errno != ENOENT && errno != ENOTDIR) saved = errno;
        }
        if (!end) break;
        dir = end + 1;
    }
    fail(pipe_fd, SpawnStep::Exec, saved);
}

// Capabilities, securebits, groups and ids: the agent's identity, nothing
// more. With pipe_fd -1 (init), a failure just ends the process.
void drop_privileges(const SpawnSpec& spec, const Prepared& p, int pipe_fd) {
    auto check = [pipe_fd](bool ok, SpawnStep step) {
        if (ok) return;
        if (pipe_fd < 0) _exit(125);
        fail(pipe_fd, step, errno);
    };
    // Locked securebits: uid 0 gets no capabilities on exec, setuid
    // transitions do not touch capability sets, and none of this can be
    // undone, also when root asked to keep uid 0.
    const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                               SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                               SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
    check(::prctl(PR_SET_SECUREBITS, bits) == 0, SpawnStep::Securebits);
    // Up to 63, not CAP_LAST_CAP: the running kernel may know capabilities
    // our headers do not. Numbers past the kernel's last one give EINVAL.
    for (int cap = 0; cap < 64; ++cap)
        check(cap_drop_bound(cap) == 0 || errno == EINVAL, SpawnStep::BoundingSet);
    check(cap_reset_ambient() == 0, SpawnStep::BoundingSet);
    const Identity& id = spec.identity;
    check(::setgroups(id.groups.size(), id.groups.data()) == 0, SpawnStep::Groups);
    check(::setresgid(id.gid, id.gid, id.gid) == 0, SpawnStep::Gid);
    check(::setresuid(id.uid, id.uid, id.uid) == 0, SpawnStep::Uid);
    check(cap_set_proc(p.empty_caps.get()) == 0, SpawnStep::Capabilities);
    // A session keyring of its own, new and empty: the one it inherits is
    // its caller's (root's under sudo), whose keys' names /proc/keys would
    // show it and which the kernel would search on its behalf. A kernel
    // without keys (ENOSYS) has nothing to share.
    // A container's own filter may refuse keyctl (EPERM, Docker's does):
    // the session still starts there, and /proc/keys is all that shows.
    check(::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) >= 0 || errno == ENOSYS || errno == EPERM,
          SpawnStep::Keyring);
    // No core dumps, and no raising the limit again: the kernel hands a
    // crashed process's memory to the host's core_pattern, which is often
    // a helper running as root outside the sandbox (systemd-coredump), or
    // writes it where the agent could not write itself.
    rlimit none{0, 0};
    check(::setrlimit(RLIMIT_CORE, &none) == 0, SpawnStep::CoreLimit);
    // Queued signals are counted per user, against each sender's own
    // limit: with half of it, the agent running as the user cannot take
    // the queue the user's other processes need (timer_create, sigqueue).
    rlimit pending{};
    if (::getrlimit(RLIMIT_SIGPENDING, &pending) == 0 && pending.rlim_max != RLIM_INFINITY) {
        pending.rlim_max /= 2;
        pending.rlim_cur = std::min(pending.rlim_cur, pending.rlim_max);
        check(::setrlimit(RLIMIT_SIGPENDING, &pending) == 0, SpawnStep::SignalQueue);
    }
}

// Drops everything the agent must not have and executes it.
[[noreturn]] void become_agent(const SpawnSpec& spec, const Prepared& p, int pipe_fd) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(pipe_fd, SpawnStep::NoNewPrivs, errno);
    drop_privileges(spec, p, pipe_fd);

    // As the agent, so the directory must be reachable with its rights.
    if (::chdir(spec.cwd.c_str()) != 0) fail(pipe_fd, SpawnStep::Chdir, errno);

    // From here on the agent's file scope holds, for it and all it starts.
    if (spec.landlock_ruleset_fd >= 0 && landlock_restrict_self(spec.landlock_ruleset_fd) != 0)
        fail(pipe_fd, SpawnStep::Landlock, errno);

    // Nothing the supervisor (or whoever started it) held open leaks into
    // the agent, except stdin/stdout/stderr.
    if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
        fail(pipe_fd, SpawnStep::CloseFds, errno);

    // Last: from here on the filter applies to this process too. A gated
    // program comes with a listener, which goes to the supervisor before
    // the exec (nothing between here and the exec is a gated syscall).
    if (p.prog.len && p.listener_sock >= 0) {
        // Once the gate has taken a call, only a fatal signal interrupts
        // the agent's wait (Linux 5.19): an interrupted call would be
        // restarted after the gate had already done it, and the kill
        // switch's freeze would count the thread frozen while the gate
        // still acts for it (and before its journal line is queued).
        int listener = int(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                     SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &p.prog));
        if (listener < 0 && errno == EINVAL)
            listener = int(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p.prog));
        if (listener < 0) fail(pipe_fd, SpawnStep::Seccomp, errno);
        if (!send_fd(p.listener_sock, listener)) fail(pipe_fd, SpawnStep::Seccomp, errno);
        ::close(listener);
        ::close(p.listener_sock);
    } else if (p.prog.len && ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p.prog) != 0) {
        fail(pipe_fd, SpawnStep::Seccomp, errno);
    }

    exec_agent(p, pipe_fd);
}

// pid 1 of the session's pid namespace: forwards the signals sandbox-run
// forwards, reaps orphans, and exits with the agent's status. Its exit makes
// the kernel kill everything else in the namespace, so nothing the agent
// started outlives it.
// With `connector` (not -1) it also makes the gate's unix connects
// (launch/session_connect.h).
[[noreturn]] void run_init(pid_t agent, const sigset_t& handled, int connector) {
    int sfd = ::signalfd(-1, &handled, SFD_CLOEXEC);
    if (sfd < 0) _exit(125);
    for (;;) {
        pollfd ready[2] = {{sfd, POLLIN, 0}, {connector, POLLIN, 0}};
        if (::poll(ready, connector >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(125);
        }
        if (connector >= 0 && (ready[1].revents & (POLLIN | POLLHUP | POLLERR)) && !serve_connect_request(connector)) {
            ::close(connector);
            connector = -1;
        }
        if (!(ready[0].revents & POLLIN)) continue;
        signalfd_siginfo si{};
        if (::read(sfd, &si, sizeof si) != sizeof si) {
            if (errno == EINTR) continue;
            _exit(125);
        }
        if (si.ssi_signo == SIGCHLD) {
            int st = 0;
            pid_t pid;
            while ((pid = ::waitpid(-1, &st, WNOHANG)) > 0) {
                if (pid != agent) continue;
                _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            }
            continue;
        }
        // What the terminal sent to sandbox-run's process group (of which
        // init is one) sandbox-run passes on: only once.
        if (si.ssi_code != SI_KERNEL) ::kill(agent, int(si.ssi_signo));
    }
}

[[noreturn]] void child_main(const SpawnSpec& spec, const Prepared& p, int pipe_fd) {
    // The parent blocks the signals it forwards; the agent starts clean.
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction sa{};
        sa.sa_handler = SIG_DFL;
        ::sigaction(sig, &sa, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);

    for (int i = 0; i < 3; ++i)
        if (spec.stdio[i] >= 0 && ::dup2(spec.stdio[i], i) != i) fail(pipe_fd, SpawnStep::CloseFds, errno);

    for (int fd : spec.cgroup_join_fds)
        if (::write(fd, "0", 1) != 1) fail(pipe_fd, SpawnStep::JoinCgroup, errno);

    // The OOM killer should not pick init: its death ends the session and
    // loses the agent's exit status. Best effort: lowering the score needs
    // CAP_SYS_RESOURCE, which some hosts withhold even from root; the agent
    // goes back to the default below.
    int oom = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    bool oom_protected = oom >= 0 && ::write(oom, "-1000", 5) == 5;
    if (oom >= 0) ::close(oom);

    MountFailure mf{};
    if (!setup_mounts(*spec.mounts, spec.landlock_ruleset_fd, spec.tmp_access, spec.proc_access, mf)) fail(pipe_fd, mf.step, mf.err);

    // Block what init handles before the fork, so no SIGCHLD is lost.
    sigset_t handled;
    sigemptyset(&handled);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&handled, sig);
    if (::sigprocmask(SIG_BLOCK, &handled, nullptr) != 0) fail(pipe_fd, SpawnStep::Signals, errno);
    pid_t agent = ::fork();
    if (agent < 0) fail(pipe_fd, SpawnStep::Init, errno);
    if (agent == 0) {
        if (oom_protected) {
            int own = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
            if (own < 0 || ::write(own, "0", 1) != 1) fail(pipe_fd, SpawnStep::Init, errno);
            ::close(own);
        }
        // A session of its own, and so a process group visible inside the
        // pid namespace (job-control shells must be able to name and later
        // restore theirs); its controlling terminal is its own pty if it
        // has one. Never the user's: with the user's session the agent
        // would have it as /dev/tty even with no descriptor of it.
        if (::setsid() < 0) fail(pipe_fd, SpawnStep::Signals, errno);
        if (spec.controlling_terminal >= 0 && ::ioctl(spec.controlling_terminal, TIOCSCTTY, 0) != 0)
            fail(pipe_fd, SpawnStep::Signals, errno);
        if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) fail(pipe_fd, SpawnStep::Signals, errno);
        become_agent(spec, p, pipe_fd);
    }
    // init keeps nothing the agent's set-up reports through, so the
    // supervisor sees EOF exactly when the agent's exec succeeds.
    ::close(pipe_fd);
    // init holds no privilege either: it only waits and forwards.
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(125);
    drop_privileges(spec, p, -1);
    // If the supervisor dies, the session dies with it: init's death makes
    // the kernel kill everything in the namespace. Set after the uid change,
    // which clears it; and a supervisor already gone by now is seen on its
    // pidfd (getppid() says 0 across the namespace boundary whatever happened).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) _exit(125);
    pollfd sup{p.supervisor_pidfd, POLLIN, 0};
    if (::poll(&sup, 1, 0) != 0) _exit(125);
    // The connector kept, as descriptor 3; nothing else.
    int connector = -1;
    if (p.connector_sock >= 0) {
        if (::dup2(p.connector_sock, 3) != 3) _exit(125);
        connector = 3;
    }
    ::syscall(SYS_close_range, connector >= 0 ? 4u : 3u, ~0u, 0u);
    run_init(agent, handled, connector);
}

}  // namespace

const char* spawn_step_name(SpawnStep s) {
    switch (s) {
        case SpawnStep::None: return "none";
        case SpawnStep::Signals: return "resetting signals";
        case SpawnStep::DeathSignal: return "setting the parent-death signal";
        case SpawnStep::JoinCgroup: return "joining the v1 cgroups";
        case SpawnStep::NoNewPrivs: return "setting no_new_privs";
        case SpawnStep::Securebits: return "locking securebits";
        case SpawnStep::BoundingSet: return "dropping the capability bounding set";
        case SpawnStep::Groups: return "setting supplementary groups";
        case SpawnStep::Gid: return "setting the group id";
        case SpawnStep::Uid: return "setting the user id";
        case SpawnStep::Capabilities: return "clearing capabilities";
        case SpawnStep::Chdir: return "entering the working directory";
        case SpawnStep::CloseFds: return "closing inherited descriptors";
        case SpawnStep::Seccomp: return "installing the seccomp filter";
        case SpawnStep::Exec: return "executing the command";
        case SpawnStep::Landlock: return "entering the Landlock domain";
        case SpawnStep::MountSlave: return "making the mount namespace private";
        case SpawnStep::PrivateTmp: return "mounting the private /tmp";
        case SpawnStep::LandlockTmp: return "granting the private /tmp in Landlock";
        case SpawnStep::NoExec: return "making what is outside the exec scope noexec";
        case SpawnStep::Protect: return "mounting protected paths read-only";
        case SpawnStep::Hide: return "hiding paths";
        case SpawnStep::Proc: return "mounting /proc for the pid namespace";
        case SpawnStep::MemfdNoexec: return "setting vm.memfd_noexec=2 (needs Linux 6.3)";
        case SpawnStep::Init: return "starting the session's init";
        case SpawnStep::Killed: return "starting (killed by a signal)";
        case SpawnStep::CoreLimit: return "forbidding core dumps";
        case SpawnStep::Keyring: return "joining a session keyring of its own";
        case SpawnStep::SignalQueue: return "limiting its queued signals";
        case SpawnStep::PrivateDev: return "making the session's own /dev";
    }
    return "unknown step";
}

Result<SpawnResult> spawn_agent(const SpawnSpec& spec) {
    if (spec.argv.empty()) return plain_error("no command to run");
    if (!spec.mounts) return plain_error("no mount plan for the session");
    Prepared p;
    for (const auto& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
    p.argv.push_back(nullptr);
    for (const auto& e : spec.env) {
        p.envp.push_back(const_cast<char*>(e.c_str()));
        if (e.starts_with("PATH=")) p.path_var = e.c_str() + 5;
    }
    p.envp.push_back(nullptr);
    p.empty_caps.reset(cap_init());
    if (!p.empty_caps) return errno_error("cannot allocate a capability set");
    if (spec.seccomp) p.prog = spec.seccomp->fprog();
    UniqueFd self(int(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    if (!self) return errno_error("cannot open a pidfd for the supervisor");
    p.supervisor_pidfd = self.get();

    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return errno_error("cannot create the spawn pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    UniqueFd listener_ours, listener_theirs, connector_ours, connector_theirs;
    if (spec.seccomp && spec.seccomp->gated) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0)
            return errno_error("cannot create the seccomp listener socket");
        listener_ours.reset(sv[0]);
        listener_theirs.reset(sv[1]);
        p.listener_sock = sv[1];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
            return errno_error("cannot create the session's connect socket");
        connector_ours.reset(sv[0]);
        connector_theirs.reset(sv[1]);
        p.connector_sock = sv[1];
    }

    int pidfd = -1;
    clone_args args{};
    args.flags = CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    // An IPC namespace too: System V shared memory, semaphores and message
    // queues and POSIX queues are found by key or name, not by path, so
    // neither Landlock nor the mounts would keep the agent off the host's.
    args.flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC;
    if (spec.cgroup_v2_dirfd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = uint64_t(spec.cgroup_v2_dirfd);
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return errno_error("cannot start the agent (clone3)");
    if (pid == 0) {
        child_main(spec, p, wr.get());
    }

    SpawnResult out;
    out.child.pid = pid_t(pid);
    out.child.pidfd = UniqueFd(pidfd);
    wr.reset();
    listener_theirs.reset();
    connector_theirs.reset();
    SpawnFailure f;
    ssize_t n;
    do {
        n = ::read(rd.get(), &f, sizeof f);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {  // EOF: the exec happened
        if (listener_ours) {
            out.listener = receive_fd(listener_ours.get());
            if (!out.listener) {
                // Killed before its exec (the kill switch can reach a
                // session that is still starting): a kill, not a failure.
                pollfd gone{pidfd, POLLIN, 0};
                siginfo_t info{};
                if (::poll(&gone, 1, 100) == 1 && ::waitid(P_PIDFD, pidfd, &info, WEXITED) == 0 &&
                    info.si_code == CLD_KILLED) {
                    out.child = Child{};
                    out.failure = SpawnFailure{SpawnStep::Killed, info.si_status};
                    return out;
                }
                // Without its gate the agent must not run at all.
                ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
                ::waitid(P_PIDFD, pidfd, &info, WEXITED);
                return plain_error("the agent's seccomp listener did not arrive");
            }
        }
        out.connector = std::move(connector_ours);
        return out;
    }
    if (n != sizeof f) f = SpawnFailure{SpawnStep::Exec, n < 0 ? errno : EIO};
    siginfo_t info{};
    ::waitid(P_PIDFD, pidfd, &info, WEXITED);
    out.child = Child{};
    out.failure = f;
    return out;
}

}  // namespace sandboxd
