#include "launch/mount_setup.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "landlock/abi.h"
#include "launch/spawn.h"

namespace sandboxd {
namespace {

constexpr size_t kMaxCarried = 64;
constexpr unsigned long kSafe = MS_NOSUID | MS_NODEV;

// mkdir -p inside the new /tmp, with a stack copy of the path.
bool make_path(const char* path) {
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
        if (::mkdir(buf, 0755) != 0 && errno != EEXIST) return false;
        buf[i] = saved;
    }
    return true;
}

bool bind_remount(const char* path, unsigned long flags) {
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
    return ::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | flags, nullptr) == 0;
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

}  // namespace

bool setup_mounts(const MountPlan& plan, int ruleset_fd, uint64_t tmp_access, uint64_t proc_access,
                  MountFailure& f) {
    // Nothing mounted here may propagate back to the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0) return fail(f, SpawnStep::MountSlave);

    // Detach copies of the trees under /tmp the profile names, cover /tmp,
    // put the copies back at their paths.
    int carried[kMaxCarried];
    size_t n = 0;
    for (const auto& t : plan.carry_into_tmp) {
        if (n == kMaxCarried) {
            errno = E2BIG;
            return fail(f, SpawnStep::PrivateTmp);
        }
        int fd = int(::syscall(SYS_open_tree, AT_FDCWD, t.path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
        if (fd < 0) return fail(f, SpawnStep::PrivateTmp);
        carried[n++] = fd;
    }
    // Read-only by default: everything the host had is now read-only for
    // the session, so outside its write trees not even what Landlock does
    // not cover (chmod, chown, utimes, xattrs) can change anything. Write
    // trees get writable bind mounts of their own below.
    mount_attr ro{};
    // (Not nodev: /dev/null and the terminal must keep working.)
    ro.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
    if (plan.readonly_root && ::syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) != 0)
        return fail(f, SpawnStep::MountSlave);
    if (::mount("tmpfs", "/tmp", "tmpfs", kSafe | MS_NOEXEC, "mode=1777") != 0) return fail(f, SpawnStep::PrivateTmp);
    for (size_t i = 0; i < n; ++i) {
        const char* path = plan.carry_into_tmp[i].path.c_str();
        if (!make_path(path)) return fail(f, SpawnStep::PrivateTmp);
        if (::syscall(SYS_move_mount, carried[i], "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return fail(f, SpawnStep::PrivateTmp);
        ::close(carried[i]);
        if (plan.carry_into_tmp[i].readonly &&
            ::mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | kSafe, nullptr) != 0)
            return fail(f, SpawnStep::PrivateTmp);
    }
    if (::access("/dev/shm", F_OK) == 0 &&
        ::mount("tmpfs", "/dev/shm", "tmpfs", kSafe | MS_NOEXEC, "mode=1777") != 0)
        return fail(f, SpawnStep::PrivateTmp);
    if (!grant(ruleset_fd, "/tmp", tmp_access)) return fail(f, SpawnStep::LandlockTmp);
    if (::access("/dev/shm", F_OK) == 0 && !grant(ruleset_fd, "/dev/shm", tmp_access))
        return fail(f, SpawnStep::LandlockTmp);

    for (const auto& w : plan.writable)
        if (!bind_remount(w.path.c_str(), kSafe | (w.noexec ? MS_NOEXEC : 0))) return fail(f, SpawnStep::NoExec);
    for (const auto& p : plan.exec_again)
        if (!bind_remount(p.c_str(), kSafe)) return fail(f, SpawnStep::NoExec);
    // Pinned before the protected paths inside them are bound read-only, so
    // those stay on top.
    for (const auto& p : plan.pinned)
        if (!bind_remount(p.path.c_str(), kSafe | (p.noexec ? MS_NOEXEC : 0))) return fail(f, SpawnStep::Protect);
    for (const auto& p : plan.protect)
        if (!bind_remount(p.path.c_str(), kSafe | MS_RDONLY | (p.noexec ? MS_NOEXEC : 0)))
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
