#include "launch/mount_setup.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "base/file_io.h"
#include "base/paths.h"
#include "base/unique_fd.h"
#include "landlock/abi.h"
#include "launch/spawn.h"
#include "mounts/plan.h"

namespace sandboxd {
namespace {

constexpr size_t kMaxCarried = 64;
constexpr unsigned long kSafe = MS_NOSUID | MS_NODEV;

// mkdir -p inside the new /tmp, with a stack copy of the path; the last
// component an empty file instead when what is mounted there is a file.
bool make_path(const char* path, bool last_is_dir) {
    char buf[PATH_MAX];
    size_t n = std::strlen(path);
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return false;
    }
    std::memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; ++i) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (i == n && !last_is_dir) {
            int fd = ::open(buf, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0) return false;
            ::close(fd);
        } else if (::mkdir(buf, 0755) != 0 && errno != EEXIST) {
            return false;
        }
        buf[i] = saved;
    }
    return true;
}

// The tree at `path` opened with no symbolic link followed: the plan names
// where each tree leads, so a link on the way now was put there since
// (by a session still running on a directory above), and is refused
// (ELOOP) rather than followed to where it points.
// Protected paths are the exception, followed as before: they only take
// away, and a protected symlink is covered where it leads (its own name is
// guarded where it is: mounts/plan.h).
UniqueFd open_planned(const char* path, bool follow) {
    return open_resolved(AT_FDCWD, path, O_PATH, follow ? 0 : RESOLVE_NO_SYMLINKS);
}

// The tree at `path` (and what is mounted inside it) bound onto itself,
// its own mount then with the attributes `set` and without those in
// `clear`; by descriptors throughout, so that the tree mounted is the one
// opened.
bool bind_with_attrs(const char* path, uint64_t set, uint64_t clear, bool recursive_attrs, bool follow = false) {
    UniqueFd at = open_planned(path, follow);
    if (!at) return false;
    UniqueFd tree(int(::syscall(SYS_open_tree, at.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH)));
    if (!tree) return false;
    mount_attr attr{};
    attr.attr_set = set;
    attr.attr_clr = clear;
    if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | (recursive_attrs ? AT_RECURSIVE : 0), &attr,
                  sizeof attr) != 0)
        return false;
    return ::syscall(SYS_move_mount, tree.get(), "", at.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0;
}

// A bind mount of `path` onto itself that is writable (read-only when
// asked), nosuid, nodev, and executable unless `noexec`: what a remount of
// a bind with exactly those flags would leave.
bool bind_remount(const char* path, bool readonly, bool noexec, bool follow = false) {
    uint64_t set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0) | (noexec ? MOUNT_ATTR_NOEXEC : 0);
    uint64_t clear = (readonly ? 0 : MOUNT_ATTR_RDONLY) | (noexec ? 0 : MOUNT_ATTR_NOEXEC);
    return bind_with_attrs(path, set, clear, false, follow);
}

bool fail(MountFailure& f, SpawnStep step) {
    f = MountFailure{step, errno};
    return false;
}

bool grant(int ruleset_fd, const char* path, uint64_t access) {
    if (ruleset_fd < 0) return true;
    int fd = ::open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return false;
    landlock_path_beneath_attr pb{};
    pb.allowed_access = access;
    pb.parent_fd = fd;
    long r = ::syscall(__NR_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    int saved = errno;
    ::close(fd);
    errno = saved;
    return r == 0;
}

// Creates what a bind mount of a file (or a directory) can go on.
bool make_mount_point(const char* path, bool dir) {
    if (dir) return ::mkdir(path, 0755) == 0 || errno == EEXIST;
    int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd);
    return true;
}

// Terminals one session may hold: the kernel's pool (kernel.pty.max less
// the host's reserve) is shared by every devpts instance, and a session
// that took it all left other sessions none.
#define kSessionPtysText "256"

// The session's own /dev (see MountPlan::devices). The host's device files
// are carried in as bind mounts, which keep their inodes and so the
// Landlock rules computed for them before the clone; the new /dev and its
// devpts instance are new inodes, granted here. No allocation: this runs
// in the child of a threaded process.
bool private_dev(const MountPlan& plan, int ruleset_fd, MountFailure& f) {
    constexpr size_t kMaxDevices = 64;
    struct Carried {
        int fd;
        bool dir;
        const char* path;
    } carried[kMaxDevices];
    size_t n = 0;
    char path[PATH_MAX];
    auto carry = [&](const char* p) {
        if (n == kMaxDevices) {
            errno = E2BIG;
            return false;
        }
        struct stat st{};
        if (::stat(p, &st) != 0) return errno == ENOENT;  // this host has none: neither has the session
        int fd = int(::syscall(SYS_open_tree, AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
        if (fd < 0) return false;
        carried[n++] = {fd, S_ISDIR(st.st_mode), p};
        return true;
    };
    for (const char* p : kSessionDevices)
        if (!carry(p)) return fail(f, SpawnStep::PrivateDev);
    for (const auto& d : plan.devices)
        if (!carry(d.c_str())) return fail(f, SpawnStep::PrivateDev);

    if (::mount("tmpfs", "/dev", "tmpfs", kSafe | MS_NOEXEC, "mode=0755,size=64k") != 0)
        return fail(f, SpawnStep::PrivateDev);
    for (size_t i = 0; i < n; ++i) {
        // Named devices may be nested (/dev/dri/renderD128): their
        // directories first, as plain directories of the new /dev.
        std::snprintf(path, sizeof path, "%s", carried[i].path);
        for (char* slash = path + 5; (slash = std::strchr(slash, '/')) != nullptr; ++slash) {
            *slash = '\0';
            if (::mkdir(path, 0755) != 0 && errno != EEXIST) return fail(f, SpawnStep::PrivateDev);
            *slash = '/';
        }
        if (!make_mount_point(carried[i].path, carried[i].dir)) return fail(f, SpawnStep::PrivateDev);
        if (::syscall(SYS_move_mount, carried[i].fd, "", AT_FDCWD, carried[i].path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return fail(f, SpawnStep::PrivateDev);
        ::close(carried[i].fd);
    }
    // Terminals the session opens (script, tmux, expect) are its own; the
    // terminal it was started on stays reachable through its descriptors
    // and /dev/tty.
    if (::mkdir("/dev/pts", 0755) != 0 ||
        ::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=0620,max=" kSessionPtysText) != 0)
        return fail(f, SpawnStep::PrivateDev);
    if (::symlink("pts/ptmx", "/dev/ptmx") != 0 || ::symlink("/proc/self/fd", "/dev/fd") != 0 ||
        ::symlink("/proc/self/fd/0", "/dev/stdin") != 0 || ::symlink("/proc/self/fd/1", "/dev/stdout") != 0 ||
        ::symlink("/proc/self/fd/2", "/dev/stderr") != 0 || ::mkdir("/dev/shm", 01777) != 0)
        return fail(f, SpawnStep::PrivateDev);
    if (::mount(nullptr, "/dev", nullptr, MS_REMOUNT | MS_RDONLY | kSafe | MS_NOEXEC, "mode=0755,size=64k") != 0)
        return fail(f, SpawnStep::PrivateDev);
    constexpr uint64_t kTerminal = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    if (!grant(ruleset_fd, "/dev", LANDLOCK_ACCESS_FS_READ_DIR) || !grant(ruleset_fd, "/dev/pts", kTerminal))
        return fail(f, SpawnStep::PrivateDev);
    return true;
}

// The exec trees inside /tmp (`carried`: in the trees carried into the
// session's own /tmp) or the others, bound onto themselves and made
// executable again with all that is mounted inside them.
bool make_exec_trees_executable(const std::vector<std::string>& trees, bool carried) {
    for (const auto& e : trees) {
        if ((e != "/tmp" && path_is_under(e, "/tmp")) != carried) continue;
        if (!bind_with_attrs(e.c_str(), 0, MOUNT_ATTR_NOEXEC, true)) return false;
    }
    return true;
}

}  // namespace

bool setup_mounts(const MountPlan& plan, int ruleset_fd, uint64_t tmp_access, uint64_t proc_access,
                  MountFailure& f) {
    // Nothing mounted here may propagate back to the host, and nothing the
    // host mounts later comes in: it would arrive writable and executable,
    // outside the read-only, noexec view made below (a USB stick, autofs).
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(f, SpawnStep::MountSlave);

    // Detach copies of the trees under /tmp the profile names, cover /tmp,
    // put the copies back at their paths.
    int carried[kMaxCarried];
    size_t n = 0;
    for (const auto& t : plan.carry_into_tmp) {
        if (n == kMaxCarried) {
            errno = E2BIG;
            return fail(f, SpawnStep::PrivateTmp);
        }
        // The plan names where the tree really is: a symbolic link on the
        // way now is one made since, and is not followed.
        UniqueFd at = open_resolved(AT_FDCWD, t.path.c_str(), O_PATH, RESOLVE_NO_SYMLINKS);
        if (!at) return fail(f, SpawnStep::PrivateTmp);
        int fd = int(::syscall(SYS_open_tree, at.get(), "",
                               OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH));
        if (fd < 0) return fail(f, SpawnStep::PrivateTmp);
        carried[n++] = fd;
    }
    // Read-only by default: everything the host had is now read-only for
    // the session, so outside its write trees not even what Landlock does
    // not cover (chmod, chown, utimes, xattrs) can change anything. Write
    // trees get writable bind mounts of their own below.
    // Noexec too, but for the exec trees (made executable again below):
    // Landlock's EXECUTE is checked by execve() only, and the dynamic
    // loader maps a program or library with mmap(PROT_EXEC), which only a
    // noexec mount refuses.
    mount_attr ro{};
    // (Not nodev: /dev/null and the terminal must keep working.)
    ro.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | (plan.noexec_root ? MOUNT_ATTR_NOEXEC : 0);
    if (plan.readonly_root && ::syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) != 0)
        return fail(f, SpawnStep::MountSlave);
    // Each exec tree, bound onto itself, executable again with all that is
    // mounted inside it. Before the session's own /tmp, /dev and /dev/shm
    // are mounted, so that an exec tree holding them ("/tmp") makes only the
    // host's directory executable, which the session no longer sees: the
    // agent's own writable places stay noexec. Those inside /tmp are in
    // the trees carried there, and made executable once those are in place.
    if (!make_exec_trees_executable(plan.exec_trees, false)) return fail(f, SpawnStep::NoExec);
    if (::mount("tmpfs", "/tmp", "tmpfs", kSafe | MS_NOEXEC, "mode=1777") != 0) return fail(f, SpawnStep::PrivateTmp);
    for (size_t i = 0; i < n; ++i) {
        const auto& c = plan.carry_into_tmp[i];
        const char* path = c.path.c_str();
        struct stat st{};
        if (::fstat(carried[i], &st) != 0 || !make_path(path, S_ISDIR(st.st_mode))) return fail(f, SpawnStep::PrivateTmp);
        if (::syscall(SYS_move_mount, carried[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return fail(f, SpawnStep::PrivateTmp);
        ::close(carried[i]);
        // Taken before the host tree was made read-only and noexec.
        mount_attr attr{};
        attr.attr_set = (c.readonly ? MOUNT_ATTR_RDONLY : 0) | (c.noexec ? MOUNT_ATTR_NOEXEC : 0) | MOUNT_ATTR_NOSUID |
                        MOUNT_ATTR_NODEV;
        if (::syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) != 0)
            return fail(f, SpawnStep::PrivateTmp);
    }
    if (!make_exec_trees_executable(plan.exec_trees, true)) return fail(f, SpawnStep::NoExec);
    if (!private_dev(plan, ruleset_fd, f)) return false;
    if (::mount("tmpfs", "/dev/shm", "tmpfs", kSafe | MS_NOEXEC, "mode=1777") != 0)
        return fail(f, SpawnStep::PrivateTmp);
    if (!grant(ruleset_fd, "/tmp", tmp_access)) return fail(f, SpawnStep::LandlockTmp);
    if (!grant(ruleset_fd, "/dev/shm", tmp_access)) return fail(f, SpawnStep::LandlockTmp);

    for (const auto& w : plan.writable)
        if (!bind_remount(w.path.c_str(), false, w.noexec)) return fail(f, SpawnStep::NoExec);
    for (const auto& p : plan.exec_again)
        if (!bind_remount(p.c_str(), false, false)) return fail(f, SpawnStep::NoExec);
    // Pinned before the protected paths inside them are bound read-only, so
    // those stay on top.
    for (const auto& p : plan.pinned)
        // A pinned directory is bound writable: never where a link put on
        // its way since would lead (the plan named it by its real path).
        if (!bind_remount(p.path.c_str(), false, p.noexec, false)) return fail(f, SpawnStep::Protect);
    // Followed, and mounted where they lead: with the exec attribute of
    // the mount there, never cleared. A protected path in an exec tree,
    // made a link by an earlier session's agent, leads anywhere: cleared,
    // noexec went off a tree outside the exec scope, and ld.so ran what
    // the agent had put there (helper 40).
    for (const auto& p : plan.protect)
        if (!bind_with_attrs(p.path.c_str(),
                             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY | (p.noexec ? MOUNT_ATTR_NOEXEC : 0), 0,
                             false, true))
            return fail(f, SpawnStep::Protect);

    // What the private /tmp already covers is hidden: ENOENT is success here.
    for (const auto& p : plan.hide_dirs) {
        if (::mount("tmpfs", p.c_str(), "tmpfs", kSafe | MS_NOEXEC | MS_RDONLY, "size=4k,mode=000") != 0 &&
            errno != ENOENT)
            return fail(f, SpawnStep::Hide);
    }
    for (const auto& p : plan.hide_files) {
        if (::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            if (errno == ENOENT) continue;
            return fail(f, SpawnStep::Hide);
        }
        if (::mount(nullptr, p.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kSafe | MS_NOEXEC, nullptr) != 0)
            return fail(f, SpawnStep::Hide);
    }

    // The session's own processes only, and no exec from memory-backed
    // files (memfd) anywhere in the session's pid namespace.
    if (::mount("proc", "/proc", "proc", kSafe | MS_NOEXEC, nullptr) != 0) return fail(f, SpawnStep::Proc);
    if (proc_access && !grant(ruleset_fd, "/proc", proc_access)) return fail(f, SpawnStep::Proc);
    if (!plan.memfd_noexec) return true;
    int fd = ::open("/proc/sys/vm/memfd_noexec", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail(f, SpawnStep::MemfdNoexec);
    ssize_t w = ::write(fd, "2", 1);
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (w != 1) return fail(f, SpawnStep::MemfdNoexec);
    return true;
}

}  // namespace sandboxd
