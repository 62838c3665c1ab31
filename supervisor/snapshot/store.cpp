#include "snapshot/store.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "base/file_io.h"

namespace sandboxd {
namespace {

// A long copy is made in pieces of this size, `stop` asked before each.
constexpr uint64_t kCopyPiece = 16 << 20;

Error stopped() { return Error{ECANCELED, "the snapshot's copy was stopped"}; }

// Copies what FICLONE could not share: copy_file_range first (the kernel
// copies server-side or in the page cache), read/write when even that is
// refused (e.g. some special filesystems).
Status copy_bytes(int from, int to, uint64_t size, const std::function<bool()>& stop) {
    uint64_t done = 0, next_look = kCopyPiece;
    auto stop_now = [&] {
        if (!stop || done < next_look) return false;
        next_look = done + kCopyPiece;
        return stop();
    };
    loff_t in = 0, out = 0;
    while (done < size) {
        if (stop_now()) return stopped();
        ssize_t n = ::copy_file_range(from, &in, to, &out, std::min(size - done, kCopyPiece), 0);
        if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) break;
        if (n < 0) return errno_error("cannot copy the file into the snapshot store");
        if (n == 0) return {};  // the file shrank meanwhile: keep what there was
        done += uint64_t(n);
    }
    std::vector<char> buf(1 << 16);
    while (done < size) {
        if (stop_now()) return stopped();
        ssize_t n = ::pread(from, buf.data(), buf.size(), loff_t(done));
        if (n < 0) return errno_error("cannot read the file for its snapshot");
        if (n == 0) return {};
        SANDBOXD_TRY(write_all(to, std::string_view(buf.data(), size_t(n))));
        done += uint64_t(n);
    }
    return {};
}

// user.* extended attributes (the ones the agent itself could set); the
// others need privileges the gate's worker does not have, and a moved
// object keeps all of them anyway.
void copy_user_xattrs(int from, int to) {
    char names[4096];
    ssize_t n = ::flistxattr(from, names, sizeof names);
    for (ssize_t i = 0; n > 0 && i < n;) {
        std::string name(names + i);
        i += ssize_t(name.size()) + 1;
        if (!name.starts_with("user.")) continue;
        char value[4096];
        ssize_t v = ::fgetxattr(from, name.c_str(), value, sizeof value);
        if (v >= 0) (void)::fsetxattr(to, name.c_str(), value, size_t(v), 0);
    }
}

}  // namespace

const char* file_type_name(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFREG: return "file";
        case S_IFDIR: return "dir";
        case S_IFLNK: return "symlink";
        case S_IFIFO: return "fifo";
        case S_IFSOCK: return "socket";
        case S_IFCHR: return "chardev";
        case S_IFBLK: return "blockdev";
    }
    return "unknown";
}

nlohmann::json file_meta(const struct stat& st) {
    auto ns = [](const timespec& t) { return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec; };
    return {{"type", file_type_name(st.st_mode)},
            {"mode", st.st_mode & 07777},
            {"uid", st.st_uid},
            {"gid", st.st_gid},
            {"size", st.st_size},
            {"atime_ns", ns(st.st_atim)},
            {"mtime_ns", ns(st.st_mtim)},
            {"dev", uint64_t(st.st_dev)},
            {"ino", uint64_t(st.st_ino)}};
}

Result<SnapshotStore> SnapshotStore::adopt(UniqueFd dir, std::string path, uid_t owner, gid_t group,
                                           std::shared_ptr<SnapshotBudget> budget) {
    SnapshotStore s;
    s.dir_ = std::move(dir);
    if (::fchownat(s.dir_.get(), "", owner, group, AT_EMPTY_PATH) != 0) return errno_error("cannot chown " + path);
    s.path_ = std::move(path);
    s.budget_ = std::move(budget);
    struct statx sx{};
    if (::statx(s.dir_.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0) return errno_error("cannot stat " + s.path_);
    s.dev_ = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    s.mnt_ = sx.stx_mnt_id;
    struct statfs fs{};
    s.ordered_log_ = ::fstatfs(s.dir_.get(), &fs) == 0 && fs.f_type == XFS_SUPER_MAGIC;
    return s;
}

Result<SnapshotStore> SnapshotStore::create(const std::string& dir, uid_t owner, gid_t group,
                                            std::shared_ptr<SnapshotBudget> budget) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("cannot create " + dir);
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno_error("cannot open " + dir);
    return adopt(std::move(fd), dir, owner, group, std::move(budget));
}

Result<SnapshotStore> SnapshotStore::create_in(const std::string& parent, const std::string& name, uid_t owner,
                                               gid_t group, std::shared_ptr<SnapshotBudget> budget) {
    if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
        return errno_error("cannot create the snapshot store directory " + parent);
    UniqueFd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st{};
    if (!pfd || ::fstat(pfd.get(), &st) != 0 || st.st_uid != 0 || (st.st_mode & 077) != 0)
        return plain_error(parent + " is not sandboxd's own snapshot directory (a symlink, or not root's with mode "
                                    "0700): it may have been planted by an agent; remove it and start again");
    // From the checked directory on, by descriptor: the path may be
    // swapped meanwhile, the directory cannot.
    std::string path = parent + "/" + name;
    if (::mkdirat(pfd.get(), name.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("cannot create " + path);
    UniqueFd fd(::openat(pfd.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat own{};
    if (!fd || ::fstat(fd.get(), &own) != 0 || own.st_uid != 0)
        return plain_error(path + " is not sandboxd's own: remove it and start again");
    return adopt(std::move(fd), std::move(path), owner, group, std::move(budget));
}

Result<std::string> mount_root_of(const std::string& path) {
    auto mnt = [](const std::string& p) -> std::optional<uint64_t> {
        struct statx sx{};
        if (::statx(AT_FDCWD, p.c_str(), 0, STATX_MNT_ID, &sx) != 0) return std::nullopt;
        return sx.stx_mnt_id;
    };
    auto here = mnt(path);
    if (!here) return errno_error("cannot stat " + path);
    std::string cur = path;
    while (cur != "/") {
        size_t slash = cur.find_last_of('/');
        std::string up = slash == 0 ? "/" : cur.substr(0, slash);
        if (mnt(up) != here) break;
        cur = up;
    }
    return cur;
}

Result<std::string> mount_root_of_dir(int dir_fd) {
    auto mnt = [](int fd) -> std::optional<uint64_t> {
        struct statx sx{};
        if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID)) return std::nullopt;
        return sx.stx_mnt_id;
    };
    auto here = mnt(dir_fd);
    if (!here) return errno_error("cannot look at a directory's mount");
    UniqueFd cur(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!cur) return errno_error("cannot look at a directory's mount");
    for (int depth = 0; depth < 4096; ++depth) {
        UniqueFd up(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!up) return errno_error("cannot walk up to a mount's root");
        struct stat a{}, b{};
        bool top = ::fstat(up.get(), &a) == 0 && ::fstat(cur.get(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
        if (top || mnt(up.get()) != here) break;  // "/" itself, or the parent is on another mount
        cur = std::move(up);
    }
    char buf[PATH_MAX];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(cur.get())).c_str(), buf, sizeof buf - 1);
    if (n <= 0 || buf[0] != '/') return plain_error("cannot name a mount's root");
    return std::string(buf, size_t(n));
}

Status SnapshotStore::charge(uint64_t bytes) {
    SnapshotBudget& b = *budget_;
    auto fits = [&] { return bytes <= b.limit && b.used <= b.limit - bytes; };
    if (!fits()) {
        // Dropped only if that makes room, and only as many as one journal
        // line can list: otherwise they would be gone for nothing.
        uint64_t could_free = 0;
        size_t n = 0;
        for (const auto& d : b.droppable) {
            if (b.used - could_free <= b.limit - std::min(bytes, b.limit) || n >= kMaxDropsPerCall) break;
            could_free += d.bytes;
            ++n;
        }
        if (bytes > b.limit || b.used - could_free > b.limit - bytes)
            return Error{ENOSPC, "snapshot budget exhausted (" + std::to_string(b.used) + " of " +
                                     std::to_string(b.limit) + " bytes used, " + std::to_string(bytes) + " more needed)"};
    }
    while (!fits() && !b.droppable.empty()) {
        SnapshotBudget::Droppable d = std::move(b.droppable.front());
        b.droppable.pop_front();
        // A directory only when it replaced nothing but an empty one.
        if (::unlinkat(d.store_dir, d.ref.c_str(), 0) != 0 && errno == EISDIR)
            (void)::unlinkat(d.store_dir, d.ref.c_str(), AT_REMOVEDIR);
        b.used -= d.bytes;
        b.dropped.push_back(std::move(d.path));
    }
    if (!fits())
        return Error{ENOSPC, "snapshot budget exhausted (" + std::to_string(b.used) + " of " + std::to_string(b.limit) +
                                 " bytes used, " + std::to_string(bytes) + " more needed)"};
    b.used += bytes;
    return {};
}

void SnapshotStore::discard(const Snapshot& s) {
    if (s.how == "move" || s.how == "copy") ::unlinkat(dir_.get(), s.ref.c_str(), 0);
    forget(s);
}

void SnapshotStore::forget(const Snapshot& s) {
    budget_->used -= s.bytes;
    auto& d = budget_->droppable;
    if (!d.empty() && d.back().ref == s.ref && d.back().store_dir == dir_.get()) d.pop_back();
}

void SnapshotStore::note_droppable(const Snapshot& s) {
    // Dropping one that holds no bytes would free nothing.
    if (s.born_usec >= 0 && s.bytes > 0) budget_->droppable.push_back({dir_.get(), s.ref, s.path, s.bytes});
}

Result<std::string> SnapshotStore::next_name(const char* suffix, bool makes_file) {
    uint64_t n = budget_->next++;
    uint64_t shard = n / kPerShard;
    char dir[24], name[48];
    snprintf(dir, sizeof dir, "%05llu", static_cast<unsigned long long>(shard));
    snprintf(name, sizeof name, "%s/%06llu%s", dir, static_cast<unsigned long long>(n), suffix);
    if (makes_file && shard != shard_made_) {
        if (::mkdirat(dir_.get(), dir, 0700) != 0 && errno != EEXIST)
            return errno_error("cannot create " + path_ + "/" + dir);
        shard_made_ = shard;
    }
    return std::string(name);
}

Result<Snapshot> SnapshotStore::take_by_move(int parent, const std::string& name, const struct stat& st,
                                             int64_t born_usec) {
    uint64_t bytes = S_ISREG(st.st_mode) ? uint64_t(st.st_size) : 0;
    auto ref = next_name("", true);
    if (!ref) return ref.error();
    SANDBOXD_TRY(charge(bytes));
    Snapshot s{*ref, "", "move", bytes, born_usec};
    s.path = path_ + "/" + s.ref;
    if (::renameat2(parent, name.c_str(), dir_.get(), s.ref.c_str(), RENAME_NOREPLACE) != 0) {
        budget_->used -= bytes;
        return errno_error("cannot move " + name + " into the snapshot store");
    }
    note_droppable(s);
    return s;
}

Status SnapshotStore::put_back(const Snapshot& s, int parent, const std::string& name) {
    if (::renameat2(dir_.get(), s.ref.c_str(), parent, name.c_str(), RENAME_NOREPLACE) != 0)
        return errno_error("cannot put " + name + " back from the snapshot store");
    forget(s);
    return {};
}

Result<Snapshot> SnapshotStore::take_copy(int fd, const struct stat& st, int64_t born_usec,
                                          const std::function<bool()>& stop) {
    auto ref = next_name(".copy", true);
    if (!ref) return ref.error();
    SANDBOXD_TRY(charge(uint64_t(st.st_size)));
    Snapshot s{*ref, "", "copy", uint64_t(st.st_size), born_usec};
    s.path = path_ + "/" + s.ref;
    auto fail = [&](Error e) -> Result<Snapshot> {
        discard(s);
        return e;
    };
    UniqueFd out(::openat(dir_.get(), s.ref.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out) {
        budget_->used -= s.bytes;
        return errno_error("cannot create a snapshot file");
    }
    bool cloned = ::ioctl(out.get(), FICLONE, fd) == 0;
    if (!cloned) {
        if (auto st2 = copy_bytes(fd, out.get(), uint64_t(st.st_size), stop); !st2) return fail(st2.error());
    }
    if (stop && stop()) return fail(stopped());
    copy_user_xattrs(fd, out.get());
    // Durable before the destructive operation is allowed to land. A copy
    // must be synced: its blocks are written back whenever, and the
    // operation may reach the disk first. A reflink on XFS need not be:
    // the clone shares blocks FICLONE first wrote and waited for, and is
    // made of log transactions; whatever later changes the original (a
    // truncate, a copy-on-write remap) is logged after them, and recovery
    // replays a prefix of the log, so the operation is never on disk
    // without its snapshot. (Not so on btrfs, whose fsync writes one
    // file's changes to a log tree ahead of the transaction holding the
    // clone.) That sync was most of the cost of an overwrite there.
    if (!(cloned && ordered_log_) && ::fdatasync(out.get()) != 0) return fail(errno_error("cannot sync the snapshot"));
    note_droppable(s);
    return s;
}

// Without a file to make, naming cannot fail.
Snapshot SnapshotStore::take_metadata() { return Snapshot{*next_name(".dir", false), "", "mkdir"}; }

}  // namespace sandboxd
