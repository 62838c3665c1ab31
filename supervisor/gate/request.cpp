#include "gate/request.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include "base/file_io.h"

namespace sandboxd {
namespace {

// Reads a NUL-terminated string from the agent, never past the page the
// string may end in (an unmapped page after its end is never touched).
// Most paths are short: 256 bytes are looked at first, then a page at a time.
Result<std::string> read_agent_string(pid_t pid, uint64_t addr) {
    if (addr == 0) return Error{EFAULT, "null path"};
    std::string out;
    const uint64_t page = 4096;
    uint64_t chunk = 256;
    while (out.size() < PATH_MAX) {
        char buf[4096];
        size_t want = size_t(std::min(chunk, page - addr % page));
        iovec local{buf, want};
        iovec remote{reinterpret_cast<void*>(addr), want};
        ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0) return Error{n < 0 && errno == ESRCH ? ESRCH : EFAULT, "cannot read the agent's path"};
        const char* end = static_cast<const char*>(std::memchr(buf, '\0', size_t(n)));
        out.append(buf, end ? size_t(end - buf) : size_t(n));
        if (end) return out;
        addr += uint64_t(n);
        chunk = page;
    }
    return Error{ENAMETOOLONG, "path too long"};
}

// The directory a *at() call starts from: the agent's cwd for AT_FDCWD,
// otherwise the descriptor it passed, taken from its table; none for an
// absolute path (resolution starts at the agent's root).
Result<HeldFd> start_dir(AgentThreads& threads, AgentThreads::Thread& t, const std::function<int()>& pidfd,
                         uint64_t dirfd_arg, const std::string& path) {
    int dirfd = int(int32_t(dirfd_arg));  // the kernel reads the int
    if (!path.empty() && path.front() == '/') return HeldFd();  // resolved from the agent's root
    if (dirfd == AT_FDCWD) return threads.working_dir(t);
    UniqueFd fd(int(::syscall(SYS_pidfd_getfd, pidfd(), dirfd, 0)));
    if (!fd) return Error{EBADF, "bad directory descriptor"};
    return HeldFd(std::move(fd));
}

// Paths through the caller's own procfs magic links, which a textual
// lookup cannot follow (the worker is not the caller; "self" would name
// the wrong process): /proc/self/fd/N (also /dev/stdout, /dev/fd/N,
// /proc/<its own pid>/...) is its open file itself; /proc/self/root/X is X
// from its root, /proc/self/cwd/X is X from its working directory. Other
// spellings of the same fail to resolve: closed, not open. /proc/self (and
// /proc/PID) is the caller's thread group, /proc/thread-self the caller.
struct ProcSelf {
    enum Kind { None, Fd, Root, Cwd } kind = None;
    int fd = -1;
    std::string rest;
    bool group = false;  // the thread group's (its leader's), not the caller's own
};

ProcSelf proc_self_path(const std::string& path, int procdir) {
    std::string p = path;
    if (p == "/dev/stdin") p = "/proc/self/fd/0";
    if (p == "/dev/stdout") p = "/proc/self/fd/1";
    if (p == "/dev/stderr") p = "/proc/self/fd/2";
    if (p.starts_with("/dev/fd/")) p = "/proc/self/fd/" + p.substr(8);
    if (!p.starts_with("/proc/")) return {};
    std::string rest = p.substr(6);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) return {};
    std::string who = rest.substr(0, slash);
    rest = rest.substr(slash + 1);
    bool group = who != "thread-self";  // which is PID/task/TID already
    if (group && who != "self") {
        // A number: only the caller's own pid in its namespace.
        UniqueFd f(::openat(procdir, "status", O_RDONLY | O_CLOEXEC));
        if (!f) return {};
        auto text = read_fd(f.get());
        if (!text) return {};
        size_t at = text->find("\nNStgid:");
        if (at == std::string::npos) return {};
        size_t eol = text->find('\n', at + 1);
        std::string line = text->substr(at + 8, eol - at - 8);
        if (who != line.substr(line.find_last_of(" \t") + 1)) return {};
    }
    ProcSelf out;
    out.group = group;
    if (rest.starts_with("root/") || rest == "root") {
        out.kind = ProcSelf::Root;
        out.rest = "/" + (rest.size() > 5 ? rest.substr(5) : std::string());
    } else if (rest.starts_with("cwd/") || rest == "cwd") {
        out.kind = ProcSelf::Cwd;
        out.rest = rest.size() > 4 ? rest.substr(4) : ".";
    } else if (rest.starts_with("fd/")) {
        std::string num = rest.substr(3);
        if (num.empty() || num.size() > 9 || num.find_first_not_of("0123456789") != std::string::npos) return {};
        out.kind = ProcSelf::Fd;
        out.fd = std::stoi(num);
    }
    return out;
}

}  // namespace

mode_t GateRequest::umask() const { return threads && thread ? threads->umask(*thread) : 077; }

bool gate_handles(int nr) {
    switch (nr) {
        case SYS_unlink: case SYS_unlinkat: case SYS_rmdir:
        case SYS_rename: case SYS_renameat: case SYS_renameat2:
        case SYS_truncate: case SYS_ftruncate:
        case SYS_open: case SYS_openat: case SYS_creat:
        case SYS_connect: case SYS_bind: case SYS_inotify_add_watch:
        case SYS_mkdir: case SYS_mkdirat: case SYS_mknod: case SYS_mknodat:
        case SYS_symlink: case SYS_symlinkat: case SYS_link: case SYS_linkat:
        case SYS_chmod: case SYS_fchmod: case SYS_fchmodat:
        case SYS_chown: case SYS_lchown: case SYS_fchown: case SYS_fchownat:
        case SYS_setxattr: case SYS_lsetxattr: case SYS_fsetxattr:
        case SYS_removexattr: case SYS_lremovexattr: case SYS_fremovexattr:
            return true;
    }
    return false;
}

Result<GateRequest> fetch_request(int listener, const seccomp_notif& n, AgentThreads& threads, SessionMounts& mounts) {
    GateRequest r;
    r.id = n.id;
    r.pid = pid_t(n.pid);
    r.nr = n.data.nr;
    for (int i = 0; i < 6; ++i) r.args[i] = n.data.args[i];
    if (!gate_handles(r.nr)) return Error{ENOSYS, "not a gated syscall"};

    // What is opened here names the thread that asked only if its
    // notification is still pending afterwards: a pid reused in between
    // fails the ID_VALID check at the end, which is what makes it all valid.
    auto thread = threads.get(r.pid);
    if (!thread) return thread.error();
    AgentThreads::Thread& t = **thread;
    int procdir = t.procdir.get();
    auto pidfd = [&t]() { return t.pidfd_for(); };
    r.comm = t.name;
    r.root = t.root.get();

    auto path_at = [&](int arg, std::string& out) -> Status {
        auto s = read_agent_string(r.pid, r.args[arg]);
        if (!s) return s.error();
        out = std::move(*s);
        return {};
    };
    auto dir_at = [&](int arg, const std::string& path, HeldFd& out) -> Status {
        auto d = start_dir(threads, t, pidfd, arg < 0 ? uint64_t(uint32_t(AT_FDCWD)) : r.args[arg], path);
        if (!d) return d.error();
        out = std::move(*d);
        return {};
    };

    switch (r.nr) {
        case SYS_unlink: case SYS_rmdir: case SYS_truncate: case SYS_open: case SYS_creat:
        case SYS_mkdir: case SYS_mknod:
            SANDBOXD_TRY(path_at(0, r.path1));
            SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            break;
        case SYS_symlink:
            SANDBOXD_TRY(path_at(0, r.link_target));
            SANDBOXD_TRY(path_at(1, r.path1));
            SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            break;
        case SYS_symlinkat:
            SANDBOXD_TRY(path_at(0, r.link_target));
            SANDBOXD_TRY(path_at(2, r.path1));
            SANDBOXD_TRY(dir_at(1, r.path1, r.dir1));
            break;
        case SYS_unlinkat: case SYS_openat: case SYS_mkdirat: case SYS_mknodat:
            SANDBOXD_TRY(path_at(1, r.path1));
            SANDBOXD_TRY(dir_at(0, r.path1, r.dir1));
            break;
        case SYS_rename: case SYS_link:
            SANDBOXD_TRY(path_at(0, r.path1));
            SANDBOXD_TRY(path_at(1, r.path2));
            SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            SANDBOXD_TRY(dir_at(-1, r.path2, r.dir2));
            break;
        case SYS_renameat: case SYS_renameat2: case SYS_linkat:
            SANDBOXD_TRY(path_at(1, r.path1));
            SANDBOXD_TRY(path_at(3, r.path2));
            SANDBOXD_TRY(dir_at(0, r.path1, r.dir1));
            SANDBOXD_TRY(dir_at(2, r.path2, r.dir2));
            break;
        case SYS_ftruncate: case SYS_fchmod: case SYS_fchown: case SYS_fsetxattr: case SYS_fremovexattr: {
            r.file = UniqueFd(int(::syscall(SYS_pidfd_getfd, pidfd(), int(int32_t(r.args[0])), 0)));
            if (!r.file) return Error{EBADF, "bad file descriptor"};
            r.foreign_mount = mounts.on_host(procdir, mount_id_of(r.file.get()));
            break;
        }
        case SYS_chmod: case SYS_chown: case SYS_lchown:
        case SYS_setxattr: case SYS_lsetxattr: case SYS_removexattr: case SYS_lremovexattr:
            SANDBOXD_TRY(path_at(0, r.path1));
            SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            break;
        case SYS_fchmodat: case SYS_fchownat:
            SANDBOXD_TRY(path_at(1, r.path1));
            SANDBOXD_TRY(dir_at(0, r.path1, r.dir1));
            break;
        case SYS_connect: {
            sockaddr_un sa{};
            size_t len = std::min<size_t>(size_t(r.args[2]), sizeof sa);
            if (r.args[2] > sizeof(sockaddr_storage)) return Error{EINVAL, "address too long"};
            iovec local{&sa, len};
            iovec remote{reinterpret_cast<void*>(r.args[1]), len};
            if (len <= sizeof sa.sun_family || ::process_vm_readv(r.pid, &local, 1, &remote, 1, 0) != ssize_t(len))
                return Error{EFAULT, "cannot read the socket address"};
            if (sa.sun_family != AF_UNIX || sa.sun_path[0] == '\0') return Error{EINVAL, "not a pathname unix address"};
            r.sun_path = std::string(sa.sun_path, strnlen(sa.sun_path, len - sizeof sa.sun_family));
            r.path1 = r.sun_path;
            SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            r.file = UniqueFd(int(::syscall(SYS_pidfd_getfd, pidfd(), int(int32_t(r.args[0])), 0)));
            if (!r.file) return Error{EBADF, "bad socket descriptor"};
            break;
        }
        case SYS_inotify_add_watch: {
            SANDBOXD_TRY(path_at(1, r.path1));
            SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            // The agent's inotify instance itself: the watch is added to it.
            r.file = UniqueFd(int(::syscall(SYS_pidfd_getfd, pidfd(), int(int32_t(r.args[0])), 0)));
            if (!r.file) return Error{EBADF, "bad file descriptor"};
            char kind[32] = {};
            ssize_t len = ::readlink(("/proc/self/fd/" + std::to_string(r.file.get())).c_str(), kind, sizeof kind - 1);
            if (len <= 0 || std::string_view(kind, size_t(len)) != "anon_inode:inotify")
                return Error{EINVAL, "not an inotify descriptor"};
            break;
        }
        case SYS_bind: {
            // The whole address, whatever its family: the gate binds with
            // this copy (see do_bind).
            if (r.args[2] > sizeof(sockaddr_storage)) return Error{EINVAL, "address too long"};
            r.sockaddr.resize(size_t(r.args[2]));
            iovec local{r.sockaddr.data(), r.sockaddr.size()};
            iovec remote{reinterpret_cast<void*>(r.args[1]), r.sockaddr.size()};
            if (!r.sockaddr.empty() && ::process_vm_readv(r.pid, &local, 1, &remote, 1, 0) != ssize_t(r.sockaddr.size()))
                return Error{EFAULT, "cannot read the socket address"};
            const auto* sa = reinterpret_cast<const sockaddr_un*>(r.sockaddr.data());
            if (r.sockaddr.size() > sizeof(sa_family_t) && sa->sun_family == AF_UNIX && sa->sun_path[0] != '\0') {
                r.sun_path = std::string(sa->sun_path, strnlen(sa->sun_path, r.sockaddr.size() - sizeof(sa_family_t)));
                r.path1 = r.sun_path;
                SANDBOXD_TRY(dir_at(-1, r.path1, r.dir1));
            }
            r.file = UniqueFd(int(::syscall(SYS_pidfd_getfd, pidfd(), int(int32_t(r.args[0])), 0)));
            if (!r.file) return Error{EBADF, "bad socket descriptor"};
            break;
        }
    }
    // Extended attributes: the name, and the value being set (the old one
    // is what the snapshot keeps).
    switch (r.nr) {
        case SYS_setxattr: case SYS_lsetxattr: case SYS_fsetxattr:
        case SYS_removexattr: case SYS_lremovexattr: case SYS_fremovexattr: {
            auto name = read_agent_string(r.pid, r.args[1]);
            if (!name) return name.error();
            if (name->size() > 255) return Error{ERANGE, "xattr name too long"};
            r.xattr_name = std::move(*name);
            if (r.nr == SYS_setxattr || r.nr == SYS_lsetxattr || r.nr == SYS_fsetxattr) {
                size_t size = size_t(r.args[3]);
                if (size > 65536) return Error{E2BIG, "xattr value too large"};
                r.xattr_value.resize(size);
                if (size) {
                    iovec local{r.xattr_value.data(), size};
                    iovec remote{reinterpret_cast<void*>(r.args[2]), size};
                    if (::process_vm_readv(r.pid, &local, 1, &remote, 1, 0) != ssize_t(size))
                        return Error{EFAULT, "cannot read the xattr value"};
                }
            }
            break;
        }
    }
    // The worker reads the umask from /proc/TID/status, which it could not
    // open itself (the agent's Landlock domain): opened here, once a thread.
    if (r.nr == SYS_open || r.nr == SYS_openat || r.nr == SYS_creat || r.nr == SYS_mkdir || r.nr == SYS_mkdirat ||
        r.nr == SYS_mknod || r.nr == SYS_mknodat || r.nr == SYS_bind)
        (void)AgentThreads::status_fd(t);
    // An open of /dev/tty is the thread's controlling terminal, which its
    // stat names (gate/agent_tty.h).
    if (r.nr == SYS_open || r.nr == SYS_openat || r.nr == SYS_creat) (void)AgentThreads::stat_fd(t);
    r.threads = &threads;
    r.thread = &t;
    std::optional<AgentThreads::Group> group;  // for /proc/self paths, when first needed
    auto leader = [&]() -> Result<AgentThreads::Group*> {
        if (!group) {
            auto g = AgentThreads::group_of(t);
            if (!g) return g.error();
            group = std::move(*g);
        }
        return &*group;
    };
    for (auto [path, dir] : {std::pair{&r.path1, &r.dir1}, std::pair{&r.path2, &r.dir2}}) {
        if (path->empty()) continue;
        ProcSelf ps = proc_self_path(*path, procdir);
        AgentThreads::Group* g = nullptr;  // null: the caller's own
        if (ps.kind != ProcSelf::None && ps.group) {
            auto found = leader();
            if (!found) return found.error();
            if (!(*found)->self) g = *found;
        }
        if (ps.kind == ProcSelf::Root) {
            *path = ps.rest;
            if (g) {
                r.root_held = UniqueFd(::openat(g->procdir.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!r.root_held) return Error{ENOENT, "the thread group's leader is gone"};
                r.root = r.root_held.get();
            }
        } else if (ps.kind == ProcSelf::Cwd) {
            *path = ps.rest;
            if (g) {
                *dir = HeldFd(UniqueFd(::openat(g->procdir.get(), "cwd", O_PATH | O_DIRECTORY | O_CLOEXEC)));
                if (!*dir) return Error{ENOENT, "the thread group's leader is gone"};
            } else {
                auto cwd = threads.working_dir(t);
                if (!cwd) return cwd.error();
                *dir = std::move(*cwd);
            }
        } else if (ps.kind == ProcSelf::Fd) {
            // A descriptor may be reopened or linked to a new name (the
            // way an O_TMPFILE file gets one), never destroyed through.
            if (path != &r.path1 ||
                !(r.nr == SYS_open || r.nr == SYS_openat || r.nr == SYS_creat || r.nr == SYS_link || r.nr == SYS_linkat))
                return Error{EACCES, "destructive operation through a descriptor's magic link"};
            int from = g ? g->pidfd.get() : ps.group ? group->pidfd.get() : pidfd();
            r.file = UniqueFd(int(::syscall(SYS_pidfd_getfd, from, ps.fd, 0)));
            if (!r.file) return Error{ENOENT, "no such descriptor"};
        }
    }
    // Everything above is only valid if it was fetched from the thread that
    // is still waiting for this answer.
    if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &r.id) != 0) return Error{ESRCH, "the calling thread is gone"};
    return r;
}

}  // namespace sandboxd
