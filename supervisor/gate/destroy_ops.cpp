// unlink, rmdir, rename: the object destroyed is moved into the store
// first (or copied, across mounts), then the operation is done as the agent.
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/paths.h"
#include "gate/agent_view.h"
#include "gate/guards.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"
#include "gate/session_mounts.h"
#include "snapshot/xattrs.h"

namespace sandboxd {

namespace {

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
// needs no snapshot. `known`: the object's stat_name(), taken just before;
// `host`: host_dir() of `dir`.
Result<std::optional<Taken>> take_out(GateContext& ctx, const HostDir* host, int dir, const std::string& name,
                                      const NameStat& known) {
    const struct stat& st = known.st;
    if (!host) {
        if (readonly_mount(dir)) return Error{EROFS, "read-only in the agent's view"};
        if (is_mountpoint(dir, name)) return Error{EBUSY, "a mount point in the agent's view"};
        if (on_private_fs(ctx, dir)) return std::optional<Taken>{};
        return Error{EACCES, "no snapshot possible: " + name + " is not reachable from the host"};
    }
    if (host->agent_readonly) return Error{EROFS, "read-only in the agent's view"};
    const NameFacts& facts = known.facts;
    if (facts.mnt != host->agent_mnt) return Error{EBUSY, "a mount point in the agent's view"};
    int64_t born = ctx.droppable(facts.born_usec, st, host->overlay) ? facts.born_usec : -1;
    Taken t;
    t.host_path = join_path(host->path, name);
    t.meta = file_meta(st);
    t.store = &ctx.store_on_mount(host->host_mnt);
    if (S_ISDIR(st.st_mode)) {
        // Its extended attributes (ACLs, the user's own) go with it.
        UniqueFd d(::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        struct stat ds{};
        if (!d || ::fstat(d.get(), &ds) != 0 || ds.st_ino != st.st_ino || ds.st_dev != st.st_dev)
            return Error{EAGAIN, "no snapshot possible: " + name + " changed while it was looked at"};
        auto xattrs = kept_xattrs(d.get());
        if (!xattrs) return xattrs.error();
        if (!xattrs->empty()) t.meta["xattrs"] = std::move(*xattrs);
        t.snap = t.store->take_metadata();
        t.snap.born_usec = born;  // the agent's own: rollback to a point before it makes nothing
        return std::optional<Taken>(std::move(t));
    }
    // Moved, also a file with other names: the store then holds one more
    // name of the same file, and rollback gives it back its name, so the
    // names are one file again. Whatever the agent writes through the
    // others goes through an open for writing first, which keeps the old
    // bytes and puts them back into the file itself (see write_ops.cpp).
    auto moved = t.store->take_by_move(host->fd.get(), name, st, born);
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
    // A copy brought back is a file of its own: the other names would keep
    // whatever is written through them later, never the bytes rollback
    // puts back. Refused rather than parted.
    if (st.st_nlink > 1)
        return Error{EACCES, "no snapshot possible: " + name + " has other names, and no store on its filesystem"};
    UniqueFd in(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!in) return Error{EACCES, "no snapshot possible: cannot read " + name};
    auto xattrs = kept_xattrs(in.get());
    if (!xattrs) return xattrs.error();
    if (!xattrs->empty()) t.meta["xattrs"] = std::move(*xattrs);
    t.store = &ctx.store_on_dev(st.st_dev);
    auto copy = t.store->take_copy(in.get(), st, born, [&ctx] { return ctx.give_up(); });
    if (!copy) return given_up(copy.error());
    t.snap = std::move(*copy);
    return std::optional<Taken>(std::move(t));
}

nlohmann::json restore_record(const Taken& t) {
    nlohmann::json u = {{"op", "restore"}, {"path", t.host_path}, {"how", t.snap.how}, {"snapshot", t.snap.path}, {"meta", t.meta}};
    if (t.snap.born_usec >= 0) u["born_usec"] = t.snap.born_usec;
    return u;
}

}  // namespace

GateOutcome do_unlink(const GateRequest& r, GateContext& ctx, bool dir) {
    const char* action = dir ? "file.rmdir" : "file.unlink";
    auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, false);
    if (!res) return refused(r, action, r.path1, res.error());
    const std::string& name = res->name;
    int pfd = res->parent();
    if (name == "." || name == "..") return failed(dir ? (name == "." ? EINVAL : ENOTEMPTY) : EISDIR);
    auto known = stat_name(pfd, name);
    if (!known) return failed(errno);
    const struct stat& st = known->st;
    if (!dir && S_ISDIR(st.st_mode)) return failed(EISDIR);
    if (dir && !S_ISDIR(st.st_mode)) return failed(ENOTDIR);
    if (!dir && res->trailing_slash) return failed(ENOTDIR);

    // The directory's stat once, for both its host path and its guards.
    auto dir_now = stat_dir(pfd);
    if (!dir_now) return failed(errno);
    const HostDir* host = host_dir(ctx, pfd, *dir_now);
    std::string where = display_path(host, pfd, name);
    // A protected path whose read-only mount the host's rename over it took
    // away (the mount point itself is the kernel's EBUSY).
    if (const GuardedName* g = protected_name(ctx, pfd, dir_now->st, name)) return refuse_guarded(r, action, where, *g);
    if (dir) ctx.forget_miss();
    auto taken = take_out(ctx, host, pfd, name, *known);
    if (!taken) return refused(r, action, where, taken.error());
    if (!*taken || !(*taken)->gone) {
        // A directory, a copy, or nothing to keep: the removal itself.
        if (::unlinkat(pfd, name.c_str(), dir ? AT_REMOVEDIR : 0) != 0) {
            int err = errno;
            if (*taken) (*taken)->store->discard((*taken)->snap);
            return refused(r, action, where, Error{err, "removing " + name});
        }
    }
    if (dir) drop_guards_in(ctx, st);  // its inode number may come back as another directory
    ctx.made.erase({st.st_dev, st.st_ino});  // its snapshot is judged: kept no longer than needed
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
    auto from = resolve_for_agent(r.root, r.dir1.get(), r.path1, false);
    if (!from) return refused(r, action, r.path1, from.error());
    auto to = resolve_for_agent(r.root, r.dir2.get(), r.path2, false);
    if (!to) return refused(r, action, r.path2, to.error());
    for (const auto* n : {&from->name, &to->name})
        if (*n == "." || *n == "..") return failed(EBUSY);
    int fd1 = from->parent(), fd2 = to->parent();
    const std::string &n1 = from->name, &n2 = to->name;
    // A guarded name is never given to anything: not as the target, not
    // as the source of an exchange (which puts the target there).
    if (const GuardedName* g = guarded_name(ctx, fd2, n2)) return refuse_guarded(r, action, display_path(ctx, fd2, n2), *g);
    if (flags & RENAME_EXCHANGE)
        if (const GuardedName* g = guarded_name(ctx, fd1, n1)) return refuse_guarded(r, action, display_path(ctx, fd1, n1), *g);
    // Nor is a protected path itself moved away.
    if (const GuardedName* g = protected_name(ctx, fd1, n1)) return refuse_guarded(r, action, display_path(ctx, fd1, n1), *g);
    // A target that appears after the look below (moved there by another
    // session or a host process) must not be replaced unseen: where no
    // target was seen, the rename refuses to replace (RENAME_NOREPLACE),
    // and the target is looked at again.
    for (int attempt = 1;; ++attempt) {
        struct stat s1{};
        if (::fstatat(fd1, n1.c_str(), &s1, AT_SYMLINK_NOFOLLOW) != 0) return failed(errno);
        if ((from->trailing_slash || to->trailing_slash) && !S_ISDIR(s1.st_mode)) return failed(ENOTDIR);
        auto target = stat_name(fd2, n2);
        bool target_exists = target.has_value();
        if (!target_exists && errno != ENOENT) return failed(errno);
        struct stat s2{};
        if (target_exists) s2 = target->st;
        if (is_mountpoint(fd1, n1) || (target_exists && is_mountpoint(fd2, n2))) return failed(EBUSY);

        // Both ends by their host paths, or both on the session's own
        // filesystems (nothing to undo there): else the undo record would name
        // what rollback cannot find (a path past PATH_MAX, the agent made).
        bool on_host = host_dir(ctx, fd1) && host_dir(ctx, fd2);
        if (!on_host && !(on_private_fs(ctx, fd1) && on_private_fs(ctx, fd2)))
            return refused(r, action, r.path1, Error{EACCES, "no undo possible: not reachable from the host"});
        std::string src = display_path(ctx, fd1, n1), dst = display_path(ctx, fd2, n2);
        // A directory's path is about to change (either one, in an exchange).
        if (S_ISDIR(s1.st_mode) || (target_exists && S_ISDIR(s2.st_mode))) ctx.forget_dirs();
        GateOutcome o;
        JournalEntry e = entry_for(r, action, src + " -> " + dst);
        e.detail = {{"from", src}, {"to", dst}, {"flags", flags}};

        // Nothing is destroyed: an exchange, a move to a free name, a refusal
        // to replace, or two names of one object (rename does nothing then).
        bool replaces = target_exists && !(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) &&
                        !(s1.st_dev == s2.st_dev && s1.st_ino == s2.st_ino);
        if (!replaces) {
            // Two names of one object: the kernel does nothing (after its
            // checks of the mounts). Exchanged instead, which leaves the same
            // two names of it, or swaps in whatever was moved onto the target
            // meanwhile rather than destroy it; where a filesystem cannot
            // exchange, the mounts are checked here and nothing is done.
            if (target_exists && !(flags & RENAME_EXCHANGE)) {
                if (flags & RENAME_NOREPLACE) return failed(EEXIST);
                if (::renameat2(fd1, n1.c_str(), fd2, n2.c_str(), RENAME_EXCHANGE) != 0) {
                    if (errno != EINVAL) return refused(r, action, src, Error{errno, "rename"});
                    if (readonly_mount(fd1) || readonly_mount(fd2)) return refused(r, action, src, Error{EROFS, "rename"});
                    if (mount_id_of(fd1) != mount_id_of(fd2)) return failed(EXDEV);
                }
                o.entry = std::move(e);
                return o;
            }
            bool free_name = !target_exists && !(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE));
            int rc = ::renameat2(fd1, n1.c_str(), fd2, n2.c_str(), flags | (free_name ? RENAME_NOREPLACE : 0));
            // NFS, 9p and FUSE without rename2 take no flags at all: there the
            // rename cannot refuse to replace, and a file moved onto the name
            // between the look and the rename is the one risk left.
            if (rc != 0 && free_name && errno == EINVAL) rc = ::renameat2(fd1, n1.c_str(), fd2, n2.c_str(), flags);
            if (rc != 0) {
                int err = errno;
                if (free_name && err == EEXIST) {
                    if (attempt < kNameChangeAttempts) continue;
                    err = EAGAIN;
                }
                return refused(r, action, src, Error{err, "rename"});
            }
            if (flags & RENAME_EXCHANGE) e.undo = {{"op", "exchange"}, {"a", src}, {"b", dst}};
            else if (!target_exists) e.undo = {{"op", "rename"}, {"from", dst}, {"to", src}};
            o.entry = std::move(e);
            return o;
        }
        if (S_ISDIR(s1.st_mode) && !S_ISDIR(s2.st_mode)) return failed(ENOTDIR);
        if (!S_ISDIR(s1.st_mode) && S_ISDIR(s2.st_mode)) return failed(EISDIR);

        auto taken = take_out(ctx, host_dir(ctx, fd2), fd2, n2, *target);
        if (!taken) return refused(r, action, dst, taken.error());
        bool gone = *taken && (*taken)->gone;
        // Once the target is in the store the rename must not replace anything
        // else: something appearing there meanwhile (from outside the session)
        // makes it fail with EEXIST rather than be destroyed unseen.
        // RENAME_WHITEOUT kept: the kernel's whiteout (or its refusal, on a
        // filesystem without them) is the agent's, never a plain rename.
        unsigned replace_flags = (gone ? RENAME_NOREPLACE : 0) | (flags & RENAME_WHITEOUT);
        if (::renameat2(fd1, n1.c_str(), fd2, n2.c_str(), replace_flags) != 0) {
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
}

}  // namespace sandboxd
