#include "gate/agent_view.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include <algorithm>
#include <optional>

#include "base/file_io.h"
#include "base/paths.h"

namespace sandboxd {

// The directory `agent_dir` (a descriptor in the agent's mount namespace)
// as seen from the host, when the host reaches the same directory at the
// path the agent sees it under (sandboxd mounts every tree it shares at its
// own path). The snapshot store is on the host side, and rename() needs
// both of its ends on one mount. Identity is checked, never assumed.
//
// The answers are kept, most recent first: an rm -rf or a tar extraction
// goes down and back up through the same directories, and a miss costs six
// calls. Each kept directory is held open (from the host's side), so no
// other directory can get its inode number while it is kept. Its path can
// change, by a rename of it or of a directory above it, by the host or by
// another session on the same tree: a kept answer is used again only while
// its path still leads the host to it (one statx, once in an operation),
// else the directory is looked up afresh. All are dropped when the agent
// renames a directory.
namespace {

constexpr size_t kHostDirsKept = 128;

struct DirKey {
    dev_t dev;
    ino_t ino;
    uint64_t mnt;
};

std::optional<DirKey> key_at(int dirfd, const char* path, int flags) {
    struct statx sx{};
    if (::statx(dirfd, path, flags, STATX_INO | STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID))
        return std::nullopt;
    return DirKey{makedev(sx.stx_dev_major, sx.stx_dev_minor), ino_t(sx.stx_ino), sx.stx_mnt_id};
}

std::optional<DirKey> dir_key(int fd) { return key_at(fd, "", AT_EMPTY_PATH); }

// What the kernel says `fd` is at, from the reader's root.
std::optional<std::string> path_of(int fd) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(fd_link(fd).c_str(), buf, sizeof buf - 1);
    if (n <= 0) return std::nullopt;
    return std::string(buf, size_t(n));
}

// Whether the host still reaches `h` at its kept path: one lookup of the
// path (a readlink of the descriptor's procfs link costs three times as
// much here, and would miss a mount the host put over the path).
bool still_at(const HostDir& h) {
    auto now = key_at(AT_FDCWD, h.path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
    return now && now->dev == h.dev && now->ino == h.ino && now->mnt == h.host_mnt;
}

}  // namespace

const HostDir* host_dir(GateContext& ctx, int agent_dir) {
    auto now = stat_dir(agent_dir);
    return now ? host_dir(ctx, agent_dir, *now) : nullptr;
}

const HostDir* host_dir(GateContext& ctx, int agent_dir, const NameStat& dir_now) {
    if (!dir_now.facts.mnt) return nullptr;  // a kernel before STATX_MNT_ID: mounts cannot be told apart
    const DirKey key{dir_now.st.st_dev, dir_now.st.st_ino, dir_now.facts.mnt};
    auto& kept = ctx.host_dirs;
    auto same = [&](const HostDir& h) { return h.dev == key.dev && h.ino == key.ino && h.agent_mnt == key.mnt; };
    if (auto it = std::find_if(kept.begin(), kept.end(), same); it != kept.end()) {
        if (it->checked_in == ctx.operation || still_at(*it)) {
            it->checked_in = ctx.operation;
            kept.splice(kept.begin(), kept, it);
            return &kept.front();
        }
        // Moved since: never matched again, left in place for a caller
        // that may still hold it from earlier in this operation.
        it->dev = 0;
        it->ino = 0;
    }
    auto miss = std::make_tuple(key.dev, key.ino, key.mnt);
    if (ctx.host_miss == miss) return nullptr;
    auto path = path_of(agent_dir);
    if (!path || path->front() != '/') return nullptr;
    ctx.host_miss = miss;  // until found below
    // (d_path has no links.)
    UniqueFd fd =
        open_resolved(AT_FDCWD, path->c_str(), O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!fd) return nullptr;
    auto host = dir_key(fd.get());
    if (!host || host->dev != key.dev || host->ino != key.ino) return nullptr;
    ctx.host_miss.reset();
    struct statfs fs{};
    if (::fstatfs(agent_dir, &fs) != 0) return nullptr;
    bool readonly = fs.f_flags & ST_RDONLY;  // the mount's flags, and its superblock's (Linux 2.6.36)
    bool overlay = fs.f_type == OVERLAYFS_SUPER_MAGIC;
    kept.push_front(HostDir{std::move(fd), std::move(*path), key.dev, key.ino, key.mnt, readonly, host->mnt, overlay,
                            ctx.operation});
    // The least recently used goes: never one this operation is using.
    if (kept.size() > kHostDirsKept) kept.pop_back();
    return &kept.front();
}

std::string display_path(GateContext& ctx, int dir, const std::string& name) {
    return display_path(host_dir(ctx, dir), dir, name);
}

std::string display_path(const HostDir* host, int dir, const std::string& name) {
    if (host) return join_path(host->path, name);
    auto path = path_of(dir);
    return path ? join_path(*path, name) + " (session-private)" : name;
}

bool is_mountpoint(int dir, const std::string& name) {
    struct statx a{};
    if (::statx(dir, "", AT_EMPTY_PATH, STATX_MNT_ID, &a) != 0) return false;
    auto f = name_facts(dir, name);
    return f && f->mnt != a.stx_mnt_id;
}

namespace {
int64_t usec_of(const struct statx& sx) {
    if (!(sx.stx_mask & STATX_BTIME)) return -1;
    return int64_t(sx.stx_btime.tv_sec) * 1000000 + sx.stx_btime.tv_nsec / 1000;
}
}  // namespace

std::optional<NameFacts> name_facts(int dir, const std::string& name) {
    struct statx sx{};
    if (::statx(dir, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID | STATX_BTIME, &sx) != 0)
        return std::nullopt;
    return NameFacts{sx.stx_mnt_id, usec_of(sx)};
}

namespace {
std::optional<NameStat> stat_at(int dir, const char* name, int flags) {
    struct statx sx{};
    if (::statx(dir, name, flags, STATX_BASIC_STATS | STATX_MNT_ID | STATX_BTIME, &sx) != 0) return std::nullopt;
    NameStat n;
    struct stat& st = n.st;
    st.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    st.st_ino = ino_t(sx.stx_ino);
    st.st_mode = mode_t(sx.stx_mode);
    st.st_nlink = nlink_t(sx.stx_nlink);
    st.st_uid = sx.stx_uid;
    st.st_gid = sx.stx_gid;
    st.st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
    st.st_size = off_t(sx.stx_size);
    st.st_blksize = blksize_t(sx.stx_blksize);
    st.st_blocks = blkcnt_t(sx.stx_blocks);
    st.st_atim = {sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec};
    st.st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
    st.st_ctim = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
    n.facts = NameFacts{(sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0, usec_of(sx)};
    return n;
}
}  // namespace

std::optional<NameStat> stat_name(int dir, const std::string& name) {
    return stat_at(dir, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
}

std::optional<NameStat> stat_dir(int fd) { return stat_at(fd, "", AT_EMPTY_PATH); }

int64_t birth_usec(int fd) {
    struct statx sx{};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) != 0) return -1;
    return usec_of(sx);
}

bool readonly_mount(int dir) {
    struct statvfs v{};
    return ::fstatvfs(dir, &v) == 0 && (v.f_flag & ST_RDONLY);
}

bool on_private_fs(const GateContext& ctx, int fd) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return false;
    return std::find(ctx.private_devs.begin(), ctx.private_devs.end(), st.st_dev) != ctx.private_devs.end();
}

std::string fd_link(int fd) { return "/proc/thread-self/fd/" + std::to_string(fd); }

OpenObject open_object(int fd, const struct stat& st) {
    OpenObject o;
    o.link = fd_link(fd);
    auto path = path_of(fd);
    o.path = path.value_or("?");
    struct stat hs{};
    o.on_host = path && path->front() == '/' && ::lstat(path->c_str(), &hs) == 0 && hs.st_dev == st.st_dev &&
                hs.st_ino == st.st_ino;
    return o;
}

}  // namespace sandboxd
