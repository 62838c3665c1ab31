#include "gate/operations.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "gate/resolve.h"

namespace sandboxd {
namespace {

// The directory `agent_dir` (a descriptor in the agent's mount namespace)
// as seen from the host, when the host reaches the same directory at the
// path the agent sees it under (sandboxd mounts every tree it shares at its
// own path). The snapshot store is on the host side, and rename() needs
// both of its ends on one mount. Identity is checked, never assumed; the
// last answer is kept (an rm -rf asks about one directory many times in a
// row) and dropped whenever the agent renames or removes a directory.
const HostDir* host_dir(GateContext& ctx, int agent_dir) {
    struct stat a{};
    if (::fstat(agent_dir, &a) != 0) return nullptr;
    if (ctx.host_cache && ctx.host_cache->dev == a.st_dev && ctx.host_cache->ino == a.st_ino) return &*ctx.host_cache;
    ctx.host_cache.reset();
    char link[64];
    snprintf(link, sizeof link, "/proc/thread-self/fd/%d", agent_dir);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    if (n <= 0 || buf[0] != '/') return nullptr;
    std::string path(buf, size_t(n));
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;  // d_path has none
    UniqueFd fd(int(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how)));
    struct stat h{};
    if (!fd || ::fstat(fd.get(), &h) != 0) return nullptr;
    if (a.st_dev != h.st_dev || a.st_ino != h.st_ino) return nullptr;
    ctx.host_cache = HostDir{std::move(fd), std::move(path), a.st_dev, a.st_ino};
    return &*ctx.host_cache;
}

std::string join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

// For the journal: where the object is, as the host names it, else as the
// agent does.
std::string display_path(GateContext& ctx, int dir, const std::string& name) {
    if (auto h = host_dir(ctx, dir)) return join(h->path, name);
    char link[64], buf[PATH_MAX];
    snprintf(link, sizeof link, "/proc/thread-self/fd/%d", dir);
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    return n > 0 ? join(std::string(buf, size_t(n)), name) + " (session-private)" : name;
}

bool is_mountpoint(int dir, const std::string& name) {
    struct statx a{}, b{};
    if (::statx(dir, "", AT_EMPTY_PATH, STATX_MNT_ID, &a) != 0) return false;
    if (::statx(dir, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID, &b) != 0) return false;
    return a.stx_mnt_id != b.stx_mnt_id;
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

GateOutcome failed(int err) {
    GateOutcome o;
    o.err = err;
    return o;
}

JournalEntry entry_for(const GateRequest& r, std::string action, std::string target) {
    JournalEntry e;
    e.action = std::move(action);
    e.target = std::move(target);
    e.decision = "allow";
    e.rule = "filesystem.destroy";
    e.layer = "seccomp-notify";
    e.pid = r.pid;
    e.comm = r.comm;
    return e;
}

// The kernel said no (Landlock, permissions, a read-only mount) or the gate
// did (no snapshot possible): journaled as a denial. Ordinary failures
// (ENOENT from `rm -f`) are the agent's business and the event stream's.
bool is_refusal(int err) { return err == EACCES || err == EPERM || err == EROFS || err == ENOSPC || err == EBUSY; }

GateOutcome refused(const GateRequest& r, std::string action, std::string target, const Error& why) {
    GateOutcome o = failed(why.code ? why.code : EPERM);
    if (is_refusal(o.err)) {
        bool writes = action == "file.open-write" || action == "file.create" || action == "dir.create";
        JournalEntry e = entry_for(r, std::move(action), std::move(target));
        if (writes) e.rule = "filesystem.write";
        e.decision = "deny";
        e.err = o.err;
        if (o.err == ENOSPC) e.rule = "snapshots.budget";
        else if (why.message.starts_with("no snapshot")) e.rule = "snapshots";
        else e.layer = "kernel";  // Landlock, file permissions or the mount namespace
        e.detail = {{"reason", why.describe()}};
        o.entry = std::move(e);
    }
    return o;
}

// An object taken out of the agent's way, and how to bring it back.
struct Taken {
    SnapshotStore* store = nullptr;
    Snapshot snap;
    nlohmann::json meta;
    std::string host_path;
    bool gone = false;  // moved into the store; otherwise a copy, still in place
};

// Snapshots `name` in `dir` before it is destroyed. Regular files,
// symlinks, special files: moved into the store whole when on the store's
// mount, copied otherwise. Directories (only empty ones reach here):
// metadata. nullopt: the object is on a session-private filesystem and
// needs no snapshot.
Result<std::optional<Taken>> take_out(GateContext& ctx, int dir, const std::string& name, const struct stat& st) {
    if (readonly_mount(dir)) return Error{EROFS, "read-only in the agent's view"};
    if (is_mountpoint(dir, name)) return Error{EBUSY, "a mount point in the agent's view"};
    auto host = host_dir(ctx, dir);
    if (!host) {
        if (on_private_fs(ctx, dir)) return std::optional<Taken>{};
        return Error{EACCES, "no snapshot possible: " + name + " is not reachable from the host"};
    }
    Taken t;
    t.host_path = join(host->path, name);
    t.meta = file_meta(st);
    struct statx hx{};
    if (::statx(host->fd.get(), "", AT_EMPTY_PATH, STATX_MNT_ID, &hx) != 0) return errno_error("cannot stat " + name);
    t.store = &ctx.store_on_mount(hx.stx_mnt_id);
    if (S_ISDIR(st.st_mode)) {
        t.snap = t.store->take_metadata();
        return std::optional<Taken>(std::move(t));
    }
    auto moved = t.store->take_by_move(host->fd.get(), name, st);
    if (moved) {
        t.snap = std::move(*moved);
        t.gone = true;
        return std::optional<Taken>(std::move(t));
    }
    // EXDEV: another mount (or Landlock would let the object gain rights
    // in the store). Keep a copy instead; the caller then destroys the name.
    if (moved.error().code != EXDEV) return moved.error();
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = ::readlinkat(dir, name.c_str(), target, sizeof target - 1);
        if (n < 0) return errno_error("cannot read symbolic link " + name);
        t.meta["target"] = std::string(target, size_t(n));
        t.snap = t.store->take_metadata();
        t.snap.how = "symlink";
        return std::optional<Taken>(std::move(t));
    }
    if (!S_ISREG(st.st_mode)) return Error{EACCES, "no snapshot possible: cannot copy " + name + " across mounts"};
    UniqueFd in(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!in) return Error{EACCES, "no snapshot possible: cannot read " + name};
    t.store = &ctx.store_on_dev(st.st_dev);
    auto copy = t.store->take_copy(in.get(), st);
    if (!copy) return copy.error();
    t.snap = std::move(*copy);
    return std::optional<Taken>(std::move(t));
}

nlohmann::json restore_record(const Taken& t) {
    return {{"op", "restore"}, {"path", t.host_path}, {"how", t.snap.how}, {"snapshot", t.snap.path}, {"meta", t.meta}};
}

GateOutcome do_unlink(const GateRequest& r, GateContext& ctx, bool dir) {
    const char* action = dir ? "file.rmdir" : "file.unlink";
    auto res = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, false);
    if (!res) return refused(r, action, r.path1, res.error());
    const std::string& name = res->name;
    int pfd = res->parent.get();
    if (name == "." || name == "..") return failed(dir ? (name == "." ? EINVAL : ENOTEMPTY) : EISDIR);
    struct stat st{};
    if (::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return failed(errno);
    if (!dir && S_ISDIR(st.st_mode)) return failed(EISDIR);
    if (dir && !S_ISDIR(st.st_mode)) return failed(ENOTDIR);
    if (!dir && res->trailing_slash) return failed(ENOTDIR);

    std::string where = display_path(ctx, pfd, name);
    if (dir) ctx.host_cache.reset();
    auto taken = take_out(ctx, pfd, name, st);
    if (!taken) return refused(r, action, where, taken.error());
    if (!*taken || !(*taken)->gone) {
        // A directory, a copy, or nothing to keep: the removal itself.
        if (::unlinkat(pfd, name.c_str(), dir ? AT_REMOVEDIR : 0) != 0) {
            int err = errno;
            if (*taken) (*taken)->store->discard((*taken)->snap);
            return refused(r, action, where, Error{err, "removing " + name});
        }
    }
    GateOutcome o;
    JournalEntry e = entry_for(r, action, where);
    if (*taken) {
        e.snapshot = (*taken)->snap.ref;
        e.undo = restore_record(**taken);
        e.durable = false;
    } else {
        e.rule = "private-tmp";
    }
    o.entry = std::move(e);
    return o;
}

GateOutcome do_rename(const GateRequest& r, GateContext& ctx, unsigned flags) {
    const char* action = "file.rename";
    if (flags & ~unsigned(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return failed(EINVAL);
    if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT))) return failed(EINVAL);
    auto from = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, false);
    if (!from) return refused(r, action, r.path1, from.error());
    auto to = resolve_for_agent(r.root.get(), r.dir2.get(), r.path2, false);
    if (!to) return refused(r, action, r.path2, to.error());
    for (const auto* n : {&from->name, &to->name})
        if (*n == "." || *n == "..") return failed(EBUSY);
    int fd1 = from->parent.get(), fd2 = to->parent.get();
    const std::string &n1 = from->name, &n2 = to->name;
    struct stat s1{}, s2{};
    if (::fstatat(fd1, n1.c_str(), &s1, AT_SYMLINK_NOFOLLOW) != 0) return failed(errno);
    if ((from->trailing_slash || to->trailing_slash) && !S_ISDIR(s1.st_mode)) return failed(ENOTDIR);
    bool target_exists = ::fstatat(fd2, n2.c_str(), &s2, AT_SYMLINK_NOFOLLOW) == 0;
    if (!target_exists && errno != ENOENT) return failed(errno);
    if (is_mountpoint(fd1, n1) || (target_exists && is_mountpoint(fd2, n2))) return failed(EBUSY);

    std::string src = display_path(ctx, fd1, n1), dst = display_path(ctx, fd2, n2);
    if (S_ISDIR(s1.st_mode)) ctx.host_cache.reset();  // a directory's path is about to change
    GateOutcome o;
    JournalEntry e = entry_for(r, action, src + " -> " + dst);
    e.detail = {{"from", src}, {"to", dst}, {"flags", flags}};

    // Nothing is destroyed: an exchange, a move to a free name, a refusal
    // to replace, or two names of one object (rename does nothing then).
    bool replaces = target_exists && !(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) &&
                    !(s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino);
    if (!replaces) {
        if (::renameat2(fd1, n1.c_str(), fd2, n2.c_str(), flags) != 0) return refused(r, action, src, Error{errno, "rename"});
        if (flags & RENAME_EXCHANGE) e.undo = {{"op", "exchange"}, {"a", src}, {"b", dst}};
        else if (!target_exists) e.undo = {{"op", "rename"}, {"from", dst}, {"to", src}};
        o.entry = std::move(e);
        return o;
    }
    if (S_ISDIR(s1.st_mode) && !S_ISDIR(s2.st_mode)) return failed(ENOTDIR);
    if (!S_ISDIR(s1.st_mode) && S_ISDIR(s2.st_mode)) return failed(EISDIR);

    auto taken = take_out(ctx, fd2, n2, s2);
    if (!taken) return refused(r, action, dst, taken.error());
    bool gone = *taken && (*taken)->gone;
    // Once the target is in the store the rename must not replace anything
    // else: something appearing there meanwhile (from outside the session)
    // makes it fail with EEXIST rather than be destroyed unseen.
    if (::renameat2(fd1, n1.c_str(), fd2, n2.c_str(), gone ? RENAME_NOREPLACE : 0) != 0) {
        int err = errno;
        if (gone) {
            auto host = host_dir(ctx, fd2);
            if (!host || !(*taken)->store->put_back((*taken)->snap, host->fd.get(), n2)) {
                // Not lost: still in the store, and the journal says where.
                JournalEntry kept = entry_for(r, "file.rename-failed", dst);
                kept.decision = "info";
                kept.err = err;
                kept.snapshot = (*taken)->snap.ref;
                kept.undo = restore_record(**taken);
                o.entry = std::move(kept);
                o.err = err;
                return o;
            }
        } else if (*taken) {
            (*taken)->store->discard((*taken)->snap);
        }
        return refused(r, action, src, Error{err, "rename"});
    }
    e.undo = {{"op", "rename"}, {"from", dst}, {"to", src}};
    if (*taken) {
        e.snapshot = (*taken)->snap.ref;
        e.undo["replaced"] = restore_record(**taken);
    }
    o.entry = std::move(e);
    return o;
}

// Truncates the regular file open at `fd` to `len`, keeping its old bytes
// first when it shrinks. `writable` is the descriptor to truncate through.
GateOutcome truncate_file(const GateRequest& r, GateContext& ctx, const char* action, int fd, off_t len) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return failed(errno);
    if (S_ISDIR(st.st_mode)) return failed(EISDIR);
    if (!S_ISREG(st.st_mode)) return failed(EINVAL);
    char link[64];
    snprintf(link, sizeof link, "/proc/thread-self/fd/%d", fd);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    std::string agent_path = n > 0 ? std::string(buf, size_t(n)) : "?";
    if (len >= st.st_size) {
        if (::ftruncate(fd, len) != 0) return refused(r, action, agent_path, Error{errno, "truncate"});
        return GateOutcome{};
    }
    // The host's name for the file, checked to be the same file.
    std::string host_path;
    struct stat hs{};
    if (n > 0 && buf[0] == '/' && ::lstat(agent_path.c_str(), &hs) == 0 && hs.st_dev == st.st_dev && hs.st_ino == st.st_ino)
        host_path = agent_path;
    std::optional<Snapshot> snap;
    SnapshotStore& store = ctx.store_on_dev(st.st_dev);
    if (host_path.empty()) {
        if (!on_private_fs(ctx, fd))
            return refused(r, action, agent_path, Error{EACCES, "no snapshot possible: not reachable from the host"});
    } else {
        // A reader on the same file: the agent's descriptor may be write-only.
        UniqueFd in(::open(link, O_RDONLY | O_CLOEXEC));
        if (!in) return refused(r, action, host_path, Error{EACCES, "no snapshot possible: the file is not readable"});
        auto copy = store.take_copy(in.get(), st);
        if (!copy) return refused(r, action, host_path, copy.error());
        snap = std::move(*copy);
    }
    if (::ftruncate(fd, len) != 0) {
        int err = errno;
        if (snap) store.discard(*snap);
        return refused(r, action, host_path.empty() ? agent_path : host_path, Error{err, "truncate"});
    }
    GateOutcome o;
    JournalEntry e = entry_for(r, action, host_path.empty() ? agent_path + " (session-private)" : host_path);
    e.detail = {{"length", int64_t(len)}};
    if (snap) {
        e.snapshot = snap->ref;
        nlohmann::json meta = file_meta(st);
        e.undo = {{"op", "restore"}, {"path", host_path}, {"how", "copy"}, {"snapshot", snap->path}, {"meta", meta},
                  {"ino", uint64_t(st.st_ino)}};
    } else {
        e.rule = "private-tmp";
    }
    o.entry = std::move(e);
    return o;
}

// Keeps a copy of the regular file open at `fd` before the agent writes
// to it; journaled with the same undo record as a truncation.
GateOutcome keep_before_write(const GateRequest& r, GateContext& ctx, int fd) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return failed(errno);
    char link[64];
    snprintf(link, sizeof link, "/proc/thread-self/fd/%d", fd);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    std::string agent_path = n > 0 ? std::string(buf, size_t(n)) : "?";
    struct stat hs{};
    bool on_host = n > 0 && buf[0] == '/' && ::lstat(agent_path.c_str(), &hs) == 0 && hs.st_dev == st.st_dev &&
                   hs.st_ino == st.st_ino;
    if (!on_host) {
        if (on_private_fs(ctx, fd)) return GateOutcome{};
        return refused(r, "file.open-write", agent_path, Error{EACCES, "no snapshot possible: not reachable from the host"});
    }
    UniqueFd in(::open(link, O_RDONLY | O_CLOEXEC));
    if (!in) return refused(r, "file.open-write", agent_path, Error{EACCES, "no snapshot possible: the file is not readable"});
    auto copy = ctx.store_on_dev(st.st_dev).take_copy(in.get(), st);
    if (!copy) return refused(r, "file.open-write", agent_path, copy.error());
    ctx.kept.insert({st.st_dev, st.st_ino});
    GateOutcome o;
    JournalEntry e = entry_for(r, "file.open-write", agent_path);
    e.rule = "filesystem.write";
    e.snapshot = copy->ref;
    e.undo = {{"op", "restore"}, {"path", agent_path}, {"how", "copy"}, {"snapshot", copy->path}, {"meta", file_meta(st)},
              {"ino", uint64_t(st.st_ino)}};
    o.entry = std::move(e);
    return o;
}

GateOutcome do_truncate_path(const GateRequest& r, GateContext& ctx) {
    auto res = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, true);
    if (!res) return refused(r, "file.truncate", r.path1, res.error());
    if (res->name == "." || res->name == "..") return failed(EISDIR);
    UniqueFd fd(::openat(res->parent.get(), res->name.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return refused(r, "file.truncate", display_path(ctx, res->parent.get(), res->name), Error{errno, "open"});
    return truncate_file(r, ctx, "file.truncate", fd.get(), off_t(int64_t(r.args[1])));
}

GateOutcome do_open(const GateRequest& r, GateContext& ctx, int flags, mode_t mode) {
    const char* action = (flags & O_TRUNC) ? "file.open-truncate" : "file.open-write";
    GateOutcome o;
    o.cloexec = flags & O_CLOEXEC;
    struct stat st{};
    bool exists = false, truncates = false;
    std::string where;
    std::optional<ResolvedPath> res;
    if (r.file) {
        // /proc/self/fd/N and friends: the kernel reopens the agent's own
        // open file, so does the worker (from its own table: no ptrace).
        if (::fstat(r.file.get(), &st) != 0) return failed(errno);
        exists = true;
        truncates = (flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size > 0;
        char link[64];
        snprintf(link, sizeof link, "/proc/thread-self/fd/%d", r.file.get());
        int reopen = (flags | O_CLOEXEC) & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECTORY | (truncates ? O_TRUNC : 0));
        o.install = UniqueFd(::open(link, reopen));
        where = r.path1;
        if (!o.install) return refused(r, action, where, Error{errno, "open"});
    } else {
        auto resolved = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, !(flags & O_NOFOLLOW));
        if (!resolved) return refused(r, action, r.path1, resolved.error());
        res.emplace(std::move(*resolved));
        int pfd = res->parent.get();
        const std::string& name = res->name;
        ::umask(r.umask);  // this thread's own (the worker unshared CLONE_FS)
        exists = ::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
        truncates = (flags & O_TRUNC) && exists && S_ISREG(st.st_mode) && st.st_size > 0 && !(flags & O_EXCL);
        int open_flags = (flags | O_CLOEXEC) & ~(truncates ? O_TRUNC : 0);
        o.install = UniqueFd(::openat(pfd, name.c_str(), open_flags, mode));
        if (!o.install) return refused(r, action, display_path(ctx, pfd, name), Error{errno, "open"});
        where = display_path(ctx, pfd, name);
        if (!exists) {
            // Created by the agent: rollback removes it (if it is still this file).
            struct stat now{};
            if ((flags & O_CREAT) && ::fstat(o.install.get(), &now) == 0) {
                if (auto host = host_dir(ctx, pfd)) {
                    JournalEntry e = entry_for(r, "file.create", join(host->path, name));
                    e.rule = "filesystem.write";
                    e.undo = {{"op", "remove"}, {"path", join(host->path, name)}, {"type", "file"},
                              {"ino", uint64_t(now.st_ino)}};
                    o.entry = std::move(e);
                }
            }
            return o;
        }
    }
    bool writes = (flags & O_ACCMODE) != O_RDONLY;
    if (!truncates && writes && S_ISREG(st.st_mode) && !ctx.kept.count({st.st_dev, st.st_ino})) {
        // The first open for writing of an existing file: whatever is
        // written through it (in place, appended), the old bytes are kept.
        GateOutcome k = keep_before_write(r, ctx, o.install.get());
        if (k.err) return k;
        k.install = std::move(o.install);
        k.cloexec = o.cloexec;
        return k;
    }
    if (!truncates) return o;
    // O_RDONLY|O_TRUNC truncates too; a write descriptor is needed for it.
    int tfd = o.install.get();
    UniqueFd writer;
    if ((flags & O_ACCMODE) == O_RDONLY) {
        char link[64];
        snprintf(link, sizeof link, "/proc/thread-self/fd/%d", o.install.get());
        writer = UniqueFd(::open(link, O_WRONLY | O_CLOEXEC));
        if (!writer) return refused(r, action, where, Error{errno, "open for truncation"});
        tfd = writer.get();
    }
    GateOutcome t = truncate_file(r, ctx, action, tfd, 0);
    if (t.err) return t;
    t.install = std::move(o.install);
    t.cloexec = o.cloexec;
    return t;
}

GateOutcome do_mkdir(const GateRequest& r, GateContext& ctx, mode_t mode) {
    auto res = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, false);
    if (!res) return refused(r, "dir.create", r.path1, res.error());
    if (res->name == "." || res->name == "..") return failed(EEXIST);
    ::umask(r.umask);
    if (::mkdirat(res->parent.get(), res->name.c_str(), mode) != 0)
        return refused(r, "dir.create", display_path(ctx, res->parent.get(), res->name), Error{errno, "mkdir"});
    GateOutcome o;
    if (auto host = host_dir(ctx, res->parent.get())) {
        struct stat st{};
        std::string path = join(host->path, res->name);
        JournalEntry e = entry_for(r, "dir.create", path);
        e.rule = "filesystem.write";
        if (::fstatat(res->parent.get(), res->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
            e.undo = {{"op", "remove"}, {"path", path}, {"type", "dir"}, {"ino", uint64_t(st.st_ino)}};
        o.entry = std::move(e);
    }
    return o;
}

std::string to_hex(std::string_view bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out;
}

// chmod, chown and extended attributes: the metadata before the change is
// the snapshot, kept in the journal line itself. The object is pinned by
// an O_PATH descriptor (resolved as the agent, or the agent's own open
// file) and changed through it.
GateOutcome do_metadata(const GateRequest& r) {
    const uint64_t* a = r.args;
    const char* action = "file.chmod";
    bool follow = true;
    switch (r.nr) {
        case SYS_chown: case SYS_fchown: action = "file.chown"; break;
        case SYS_lchown: action = "file.chown"; follow = false; break;
        case SYS_fchownat:
            action = "file.chown";
            if (a[4] & ~uint64_t(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return failed(EINVAL);
            follow = !(a[4] & AT_SYMLINK_NOFOLLOW);
            break;
        case SYS_setxattr: case SYS_fsetxattr: action = "file.setxattr"; break;
        case SYS_lsetxattr: action = "file.setxattr"; follow = false; break;
        case SYS_removexattr: case SYS_fremovexattr: action = "file.removexattr"; break;
        case SYS_lremovexattr: action = "file.removexattr"; follow = false; break;
    }
    UniqueFd target;
    int fd = r.file.get();
    if (!r.file) {
        bool empty_ok = r.nr == SYS_fchownat && (a[4] & AT_EMPTY_PATH) && r.path1.empty();
        if (empty_ok) {
            target = UniqueFd(::fcntl(r.dir1.get(), F_DUPFD_CLOEXEC, 3));
        } else {
            auto res = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, follow);
            if (!res) return refused(r, action, r.path1, res.error());
            target = UniqueFd(::openat(res->parent.get(), res->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        }
        if (!target) return failed(errno);
        fd = target.get();
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0) return failed(errno);
    char link[64];
    snprintf(link, sizeof link, "/proc/thread-self/fd/%d", fd);
    char buf[PATH_MAX];
    ssize_t n = ::readlink(link, buf, sizeof buf - 1);
    std::string agent_path = n > 0 ? std::string(buf, size_t(n)) : "?";
    struct stat hs{};
    bool on_host = n > 0 && buf[0] == '/' && ::lstat(agent_path.c_str(), &hs) == 0 && hs.st_dev == st.st_dev &&
                   hs.st_ino == st.st_ino;

    nlohmann::json undo;
    std::string old_value;
    bool had_value = false;
    if (r.nr == SYS_setxattr || r.nr == SYS_lsetxattr || r.nr == SYS_fsetxattr || r.nr == SYS_removexattr ||
        r.nr == SYS_lremovexattr || r.nr == SYS_fremovexattr) {
        old_value.resize(65536);
        // Through the magic link, which lands on the pinned object itself
        // (also a symlink, for the l* calls): the non-l calls, so that the
        // link in /proc is jumped through rather than acted on.
        ssize_t v = ::getxattr(link, r.xattr_name.c_str(), old_value.data(), old_value.size());
        had_value = v >= 0;
        old_value.resize(had_value ? size_t(v) : 0);
        undo = {{"op", "xattr"}, {"path", agent_path}, {"name", r.xattr_name}, {"ino", uint64_t(st.st_ino)}};
        if (had_value) undo["value_hex"] = to_hex(old_value);
    } else {
        undo = {{"op", "meta"}, {"path", agent_path}, {"mode", st.st_mode & 07777}, {"uid", st.st_uid},
                {"gid", st.st_gid}, {"ino", uint64_t(st.st_ino)}};
    }

    int rc = 0;
    switch (r.nr) {
        case SYS_chmod: case SYS_fchmod: case SYS_fchmodat:
            // Through the magic link: chmod cannot take an O_PATH descriptor.
            rc = S_ISLNK(st.st_mode) ? (errno = EOPNOTSUPP, -1) : ::chmod(link, mode_t(r.nr == SYS_fchmodat ? a[2] : a[1]));
            break;
        case SYS_chown: case SYS_lchown: case SYS_fchown:
            rc = ::fchownat(fd, "", uid_t(a[1]), gid_t(a[2]), AT_EMPTY_PATH);
            break;
        case SYS_fchownat:
            rc = ::fchownat(fd, "", uid_t(a[2]), gid_t(a[3]), AT_EMPTY_PATH);
            break;
        case SYS_setxattr: case SYS_lsetxattr: case SYS_fsetxattr:
            rc = ::setxattr(link, r.xattr_name.c_str(), r.xattr_value.data(), r.xattr_value.size(), int(a[4]));
            break;
        default:
            rc = ::removexattr(link, r.xattr_name.c_str());
            break;
    }
    if (rc != 0) return refused(r, action, agent_path, Error{errno, action});
    GateOutcome o;
    JournalEntry e = entry_for(r, action, on_host ? agent_path : agent_path + " (session-private)");
    e.rule = "filesystem.write";
    if (on_host) {
        e.undo = std::move(undo);
        e.detail = {{"before", file_meta(st)}};
    }
    o.entry = std::move(e);
    return o;
}

// connect() to a pathname unix socket: resolved as the agent (symlinks
// followed, hidden sockets are /dev/null in its view), allowed inside the
// read scope (or on the session's own filesystems), and connected by this
// thread, as the agent, through the pinned directory.
GateOutcome do_connect(const GateRequest& r, GateContext& ctx) {
    auto res = resolve_for_agent(r.root.get(), r.dir1.get(), r.path1, true);
    JournalEntry e = entry_for(r, "net.connect", r.path1);
    e.rule = "filesystem.read";
    if (!res) {
        GateOutcome o = failed(res.error().code ? res.error().code : ECONNREFUSED);
        return o;
    }
    int pfd = res->parent.get();
    e.target = display_path(ctx, pfd, res->name);
    std::optional<std::string> denied;
    if (auto host = host_dir(ctx, pfd)) {
        if (ctx.read_denied) denied = ctx.read_denied(join(host->path, res->name));
    } else if (!on_private_fs(ctx, pfd)) {
        denied = "filesystem.read: not reachable from the host";
    }
    if (denied && !ctx.audit) {
        GateOutcome o = failed(EACCES);
        e.decision = "deny";
        e.err = EACCES;
        e.rule = *denied;
        o.entry = std::move(e);
        return o;
    }
    if (denied) {
        e.decision = "log";
        e.rule = "would be denied: " + *denied;
    }
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    int n = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/thread-self/fd/%d/%s", pfd, res->name.c_str());
    if (n < 0 || size_t(n) >= sizeof sa.sun_path) return failed(ENAMETOOLONG);
    GateOutcome o;
    if (::connect(r.file.get(), reinterpret_cast<sockaddr*>(&sa), socklen_t(sizeof sa)) != 0) {
        o.err = errno;
        e.decision = "deny";
        e.err = o.err;
        e.rule = "kernel";
    }
    o.entry = std::move(e);
    return o;
}

}  // namespace

SnapshotStore& GateContext::store_on_mount(uint64_t mnt_id) {
    for (auto& s : *stores)
        if (s.mount_id() == mnt_id) return s;
    return stores->front();
}

SnapshotStore& GateContext::store_on_dev(dev_t dev) {
    for (auto& s : *stores)
        if (s.dev() == dev) return s;
    return stores->front();
}

GateOutcome perform_gated(const GateRequest& r, GateContext& ctx) {
    const uint64_t* a = r.args;
    // Without a store only connect() is sent here; anything else would be
    // a filter out of step with its gate: refuse rather than act unkept.
    if (ctx.stores->empty() && r.nr != SYS_connect) return failed(ENOSYS);
    switch (r.nr) {
        case SYS_unlink: return do_unlink(r, ctx, false);
        case SYS_rmdir: return do_unlink(r, ctx, true);
        case SYS_unlinkat:
            if (a[2] & ~uint64_t(AT_REMOVEDIR)) return failed(EINVAL);
            return do_unlink(r, ctx, a[2] & AT_REMOVEDIR);
        case SYS_rename:
        case SYS_renameat: return do_rename(r, ctx, 0);
        case SYS_renameat2: return do_rename(r, ctx, unsigned(a[4]));
        case SYS_truncate: return do_truncate_path(r, ctx);
        case SYS_ftruncate: return truncate_file(r, ctx, "file.truncate", r.file.get(), off_t(int64_t(a[1])));
        case SYS_open: return do_open(r, ctx, int(a[1]), mode_t(a[2]));
        case SYS_openat: return do_open(r, ctx, int(a[2]), mode_t(a[3]));
        case SYS_creat: return do_open(r, ctx, O_CREAT | O_WRONLY | O_TRUNC, mode_t(a[1]));
        case SYS_mkdir: return do_mkdir(r, ctx, mode_t(a[1]));
        case SYS_mkdirat: return do_mkdir(r, ctx, mode_t(a[2]));
        case SYS_chmod: case SYS_fchmod: case SYS_fchmodat:
        case SYS_chown: case SYS_lchown: case SYS_fchown: case SYS_fchownat:
        case SYS_setxattr: case SYS_lsetxattr: case SYS_fsetxattr:
        case SYS_removexattr: case SYS_lremovexattr: case SYS_fremovexattr:
            return do_metadata(r);
        case SYS_connect: return do_connect(r, ctx);
    }
    return failed(ENOSYS);
}

}  // namespace sandboxd
