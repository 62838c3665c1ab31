// Truncations, and opens that can change an existing file (its old bytes
// are kept first).
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/seccomp.h>
#include <sys/ioctl.h>

#include <optional>

#include "base/paths.h"
#include "gate/agent_tty.h"
#include "gate/agent_view.h"
#include "gate/guards.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"
#include "snapshot/xattrs.h"

namespace sandboxd {

namespace {

// The old bytes of the regular file open at `fd`, copied (or reflinked)
// into the store of its filesystem, before anything changes them: nullopt
// when it lives on a session-private filesystem (nothing outlives the
// session to keep). An error is the refusal to give the agent.
Result<std::optional<Snapshot>> keep_bytes(GateContext& ctx, const OpenObject& obj, int fd, const struct stat& st) {
    if (!obj.on_host) {
        // The session's own /tmp, or a file with no name at all (a memfd,
        // an O_TMPFILE file not linked yet): nothing of the host's changes.
        if (on_private_fs(ctx, fd) || st.st_nlink == 0) return std::optional<Snapshot>{};
        return Error{EACCES, "no snapshot possible: not reachable from the host"};
    }
    // A reader on the same file: the agent's descriptor may be write-only.
    UniqueFd in(::open(obj.link.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!in) return Error{EACCES, "no snapshot possible: the file is not readable"};
    auto xattrs = kept_xattrs(in.get());
    if (!xattrs) return xattrs.error();
    int64_t born = birth_usec(in.get());
    struct statfs fs{};
    bool overlay = ::fstatfs(in.get(), &fs) != 0 || fs.f_type == OVERLAYFS_SUPER_MAGIC;
    auto copy = ctx.store_on_dev(st.st_dev).take_copy(in.get(), st, ctx.droppable(born, st, overlay) ? born : -1,
                                                      [&ctx] { return ctx.give_up(); });
    if (!copy) return given_up(copy.error());
    copy->xattrs = std::move(*xattrs);
    return std::optional<Snapshot>(std::move(*copy));
}

// Whether writing the regular file open at `fd` in place would change what
// another made: it lies outside the destroy trees (GateContext::destroyable)
// and is not the agent's own, made this session.
bool overwrites_anothers(GateContext& ctx, int fd, const struct stat& st) {
    if (!ctx.destroyable || !S_ISREG(st.st_mode)) return false;
    OpenObject obj = open_object(fd, st);
    if (!obj.on_host || ctx.destroyable(obj.path)) return false;
    struct statfs fs{};
    bool overlay = ::fstatfs(fd, &fs) != 0 || fs.f_type == OVERLAYFS_SUPER_MAGIC;
    return !ctx.droppable(birth_usec(fd), st, overlay);
}

nlohmann::json restore_copy_record(const std::string& path, const Snapshot& snap, const struct stat& st) {
    nlohmann::json u = {{"op", "restore"}, {"path", path}, {"how", "copy"}, {"snapshot", snap.path},
                        {"meta", file_meta(st)}, {"ino", uint64_t(st.st_ino)}};
    if (!snap.xattrs.empty()) u["meta"]["xattrs"] = snap.xattrs;
    // Other names of the same file see what is written through this one:
    // rollback then puts the old bytes back into the file itself.
    if (st.st_nlink > 1) u["links"] = uint64_t(st.st_nlink);
    if (snap.born_usec >= 0) u["born_usec"] = snap.born_usec;
    return u;
}

}  // namespace

// Truncates the regular file open at `fd` to `len`, keeping its old bytes
// first when it shrinks. When it grows nothing is lost, but rollback must
// still cut it back to its old length (unless its old bytes are kept
// already, from an earlier open for writing).
GateOutcome truncate_file(const GateRequest& r, GateContext& ctx, const char* action, int fd, off_t len) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return failed(errno);
    if (r.foreign_mount) return refused(r, action, open_object(fd, st).path, foreign_descriptor());
    if (S_ISDIR(st.st_mode)) return failed(EISDIR);
    if (!S_ISREG(st.st_mode)) return failed(EINVAL);
    OpenObject obj = open_object(fd, st);
    bool kept = ctx.kept.count({st.st_dev, st.st_ino});
    // A truncation to the same length changes no byte, but strips set-id
    // bits and file capabilities, as any does: recorded where there are
    // some (below, as a resize to the same size), else just done.
    auto privileged = [&] {
        return (st.st_mode & (S_ISUID | S_ISGID)) || ::fgetxattr(fd, "security.capability", nullptr, 0) > 0;
    };
    // Cutting bytes off another's file destroys them: a destroy tree's
    // right (the gate is all that stands in the way in a write tree,
    // where Landlock lets the agent truncate what it made itself).
    if (len < st.st_size && overwrites_anothers(ctx, fd, st) && !ctx.audit) {
        GateOutcome no = refused(r, action, obj.path,
                                 Error{EACCES, "truncating a file in a write tree that is no destroy tree"});
        if (no.entry) no.entry->rule = "filesystem.destroy";
        return no;
    }
    if ((len == st.st_size && (kept || !privileged())) || (len > st.st_size && kept)) {
        if (::ftruncate(fd, len) != 0) return refused(r, action, obj.path, Error{errno, "truncate"});
        return GateOutcome{};
    }
    if (len >= st.st_size) {
        if (!obj.on_host && st.st_nlink > 0 && !on_private_fs(ctx, fd))
            return refused(r, action, obj.path, Error{EACCES, "no undo possible: not reachable from the host"});
        // The truncation strips file capabilities: kept for rollback.
        auto xattrs = obj.on_host ? kept_xattrs(fd) : Result<nlohmann::json>(nlohmann::json::object());
        if (!xattrs) return refused(r, action, obj.path, xattrs.error());
        if (::ftruncate(fd, len) != 0) return refused(r, action, obj.path, Error{errno, "truncate"});
        GateOutcome o;
        JournalEntry e = entry_for(r, action, obj.on_host ? obj.path : obj.path + " (session-private)");
        e.detail = {{"length", int64_t(len)}};
        if (obj.on_host) {
            e.undo = {{"op", "resize"}, {"path", obj.path}, {"size", int64_t(st.st_size)}, {"ino", uint64_t(st.st_ino)},
                      {"meta", file_meta(st)}};
            if (!xattrs->empty()) e.undo["meta"]["xattrs"] = std::move(*xattrs);
        } else {
            e.rule = "private-tmp";
        }
        o.entry = std::move(e);
        return o;
    }
    auto snap = keep_bytes(ctx, obj, fd, st);
    if (!snap) return refused(r, action, obj.path, snap.error());
    if (::ftruncate(fd, len) != 0) {
        int err = errno;
        if (*snap) ctx.store_on_dev(st.st_dev).discard(**snap);
        return refused(r, action, obj.path, Error{err, "truncate"});
    }
    GateOutcome o;
    JournalEntry e = entry_for(r, action, obj.on_host ? obj.path : obj.path + " (session-private)");
    e.detail = {{"length", int64_t(len)}};
    if (*snap) {
        e.snapshot = (*snap)->ref;
        e.undo = restore_copy_record(obj.path, **snap, st);
    } else {
        e.rule = "private-tmp";
    }
    o.entry = std::move(e);
    return o;
}

namespace {

// A file opened for writing again, its old bytes kept at an earlier line:
// a line of its own (no undo) when any other line came in between, which
// `rollback --to` may stop at. The bytes as they were there are not kept,
// and rollback then says it cannot bring them back rather than keep quiet.
// One line however often the file is opened with no other line between
// (a log appended to in a loop).
std::optional<JournalEntry> rewrite_line(const GateRequest& r, GateContext& ctx, int fd, const struct stat& st,
                                         bool writes) {
    if (!writes || !S_ISREG(st.st_mode)) return std::nullopt;
    auto it = ctx.kept.find({st.st_dev, st.st_ino});
    if (it == ctx.kept.end() || it->second >= ctx.lines) return std::nullopt;
    OpenObject obj = open_object(fd, st);
    if (!obj.on_host) return std::nullopt;
    it->second = ctx.lines + 1;
    JournalEntry e = entry_for(r, "file.open-write", obj.path);
    e.rule = "filesystem.write";
    e.detail = {{"bytes_kept", "earlier"}, {"ino", uint64_t(st.st_ino)}};
    return e;
}

// Keeps a copy of the regular file open at `fd` before the agent writes
// to it; journaled with the same undo record as a truncation.
GateOutcome keep_before_write(const GateRequest& r, GateContext& ctx, int fd) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return failed(errno);
    OpenObject obj = open_object(fd, st);
    auto snap = keep_bytes(ctx, obj, fd, st);
    if (!snap) return refused(r, "file.open-write", obj.path, snap.error());
    if (!*snap) return GateOutcome{};
    // The kernel strips file capabilities and set-id bits on write(),
    // truncate and chown, but not on a write through a shared mapping: the
    // agent could leave them on bytes of its own, for whoever runs the
    // file later outside the sandbox (a red-team finding). A truncation to
    // the same length has the kernel strip them now, as the agent's first
    // write would; rollback puts them back with the old bytes.
    bool privileged = (st.st_mode & (S_ISUID | S_ISGID)) || (*snap)->xattrs.contains("security.capability");
    if (privileged && ::ftruncate(fd, st.st_size) != 0) {
        int err = errno;
        ctx.store_on_dev(st.st_dev).discard(**snap);
        return refused(r, "file.open-write", obj.path, Error{err, "dropping the file's privileges"});
    }
    ctx.kept[{st.st_dev, st.st_ino}] = ctx.lines + 1;  // with the line below
    GateOutcome o;
    JournalEntry e = entry_for(r, "file.open-write", obj.path);
    e.rule = "filesystem.write";
    e.snapshot = (*snap)->ref;
    e.undo = restore_copy_record(obj.path, **snap, st);
    o.entry = std::move(e);
    return o;
}

// Opens without ever blocking the gate for good. Opening a FIFO for
// writing waits for a reader, which might never come (or come from an agent
// thread that is itself waiting on the gate); opening a file someone holds
// a lease on waits until the holder lets go, up to fs.lease-break-time (45
// s by default), and the holder may be the agent. Either stalls every
// later gated call of the session, and a frozen session cannot freeze while
// a call is stuck in the gate. So every open is made non-blocking, and one
// that would have waited is retried while the agent's call is still
// pending, for at most kOpenWaitMs, then answered: ENXIO for the FIFO,
// EAGAIN for the lease. Opening a FIFO for reading (the gate sees that
// only with odd flags: O_RDONLY|O_TRUNC, or O_CREAT where names are
// guarded) would wait for a writer: it does not wait (a read finds end of
// file until a writer comes). O_NONBLOCK is cleared again when the agent
// did not ask for it; an agent that did gets the kernel's answer at once.
// A file the open makes needs it as much: it has its name before the open
// breaks leases, and another agent thread can open it and take one in
// between (a red-team finding: 45 s with every gated call waiting).
constexpr int kOpenWaitMs = 5000;

UniqueFd open_bounded(const GateContext& ctx, int dir, const char* name, int flags, mode_t mode) {
    bool agent_nonblock = flags & O_NONBLOCK;
    // A terminal the agent opens never becomes sandbox-run's controlling
    // terminal (which it would where sandbox-run leads a session of its
    // own without one).
    flags |= O_NOCTTY;
    UniqueFd fd(::openat(dir, name, flags | O_NONBLOCK, mode));
    // ENXIO is "no reader yet" only for a FIFO: a socket opened through
    // /proc says ENXIO too, and always will. EWOULDBLOCK: a lease is being
    // broken.
    auto would_wait = [&] {
        if (fd || agent_nonblock) return false;
        int err = errno;
        struct stat st{};
        bool waits = err == EWOULDBLOCK ||
                     (err == ENXIO && ::fstatat(dir, name, &st, 0) == 0 && S_ISFIFO(st.st_mode));
        errno = err;
        return waits;
    };
    for (int waited = 0; would_wait() && waited < kOpenWaitMs; waited += 2) {
        if (!ctx.call_pending()) break;
        if (ctx.freezing()) {
            errno = kRestartCall;  // nothing was opened
            return UniqueFd();
        }
        ::usleep(2000);
        fd = UniqueFd(::openat(dir, name, flags | O_NONBLOCK, mode));
    }
    // F_SETFL takes only the flags an open sets for good (O_APPEND,
    // O_DIRECT, O_NOATIME, O_ASYNC): the agent's, as it opened with them.
    if (fd && !agent_nonblock) ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    return fd;
}

// An open of /dev/tty: the agent's own controlling terminal, not the
// worker's (gate/agent_tty.h).
GateOutcome agent_tty_outcome(const GateRequest& r, const GateContext& ctx, int flags, bool cloexec) {
    auto tty = open_agent_tty(r, ctx, flags);
    if (!tty) return failed(tty.error().code);
    GateOutcome o;
    o.install = std::move(*tty);
    o.cloexec = cloexec;
    return o;
}

}  // namespace

GateOutcome do_truncate_path(const GateRequest& r, GateContext& ctx) {
    auto res = resolve_for_agent(r.root, r.dir1.get(), r.path1, true);
    if (!res) return refused(r, "file.truncate", r.path1, res.error());
    if (res->name == "." || res->name == "..") return failed(EISDIR);
    if (const GuardedName* g = guarded_name(ctx, res->parent(), res->name))
        return refuse_guarded(r, "file.truncate", display_path(ctx, res->parent(), res->name), *g);
    // Not /dev/tty, which the worker would open as its own terminal, the
    // user's (a truncation of any device is EINVAL, as the kernel says).
    struct stat pre{};
    if (::fstatat(res->parent(), res->name.c_str(), &pre, AT_SYMLINK_NOFOLLOW) == 0 && is_current_tty(pre))
        return failed(EINVAL);
    UniqueFd fd(::openat(res->parent(), res->name.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd) return refused(r, "file.truncate", display_path(ctx, res->parent(), res->name), Error{errno, "open"});
    struct stat st{};
    if (!ctx.guarded.empty() && ::fstat(fd.get(), &st) == 0)
        if (const GuardedName* g = guarded_object(ctx, st))
            return refuse_guarded(r, "file.truncate", display_path(ctx, res->parent(), res->name), *g);
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
        if (auto no = refuse_guarded_open_file(r, ctx, action, r.path1, r.file.get(), st)) return std::move(*no);
        if (is_current_tty(st)) return agent_tty_outcome(r, ctx, flags, o.cloexec);
        exists = true;
        std::string link = fd_link(r.file.get());
        // Truncated below, after the snapshot, as the size is then.
        int reopen = (flags | O_CLOEXEC) & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECTORY | O_TRUNC);
        o.install = open_bounded(ctx, AT_FDCWD, link.c_str(), reopen, 0);
        where = r.path1;
        if (!o.install) return refused(r, action, where, Error{errno, "open"});
        if (::fstat(o.install.get(), &st) != 0) return failed(errno);
        truncates = (flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size > 0;
    } else {
        // O_TMPFILE names the directory, where it makes a file with no name.
        bool tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
        // With O_CREAT|O_EXCL the kernel follows no final symlink: any name
        // there is EEXIST (what mkstemp and lock files rely on). O_EXCL
        // without O_CREAT means nothing for a file.
        bool exclusive_create = (flags & O_CREAT) && (flags & O_EXCL);
        bool follow = !(flags & O_NOFOLLOW) && !exclusive_create;
        if (follow && !tmpfile && !ctx.guarded.empty()) {
            // A guarded name that is a symlink is not written through.
            auto own = resolve_for_agent(r.root, r.dir1.get(), r.path1, false);
            struct stat ls{};
            if (own && ::fstatat(own->parent(), own->name.c_str(), &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ls.st_mode))
                if (const GuardedName* g = guarded_name(ctx, own->parent(), own->name))
                    return refuse_guarded(r, action, display_path(ctx, own->parent(), own->name), *g);
        }
        // The name is looked up twice: by the checks here and by the open.
        // The open must not meet what it was not checked as: another
        // session or a host process can put a symbolic link there in
        // between (which the worker, outside the agent's root, /proc and
        // Landlock domain, would follow to the host or the snapshot store),
        // or move a file in. So it follows no symbolic link (the resolution
        // did), makes a file only where there was none (O_EXCL), truncates
        // nothing (that is done below, after the snapshot, on what was
        // opened), and a name that changed is looked at again.
        bool created = false;
        for (int attempt = 1;; ++attempt) {
            auto resolved = resolve_for_agent(r.root, r.dir1.get(), r.path1, follow);
            if (!resolved) return refused(r, action, r.path1, resolved.error());
            res.emplace(std::move(*resolved));
            int pfd = res->parent();
            const std::string& name = res->name;
            // Refused: making or writing a guarded name, or writing what holds
            // one under another name. Opening a directory on the way for
            // writing is the kernel's EISDIR. An exclusive create needs no
            // look at an unguarded name: whatever is there is its EEXIST.
            const GuardedName* guard = tmpfile ? nullptr : guarded_name(ctx, pfd, name);
            exists = (guard || !exclusive_create) && ::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
            if (guard && !(exists && S_ISDIR(st.st_mode)))
                return refuse_guarded(r, action, display_path(ctx, pfd, name), *guard);
            if (exists)
                if (const GuardedName* g = guarded_object(ctx, st))
                    return refuse_guarded(r, action, display_path(ctx, pfd, name), *g);
            if (exists && is_current_tty(st)) return agent_tty_outcome(r, ctx, flags, o.cloexec);
            created = !tmpfile && !exists && (flags & O_CREAT);
            // A name that was there is not made again should it go meanwhile
            // (it would be made with none of what a create gets: the
            // agent's umask, a journal line): looked at again instead.
            // (O_CREAT|O_EXCL keeps both: whatever is there is EEXIST.)
            bool recreate = exists && !exclusive_create;
            int open_flags = ((flags | O_CLOEXEC | O_NOFOLLOW) & ~(O_TRUNC | (recreate ? O_CREAT : 0))) |
                             (created ? O_EXCL : 0);
            if (tmpfile || created) use_agent_umask(r.umask());  // read only when the open makes a file
            // A file is made with no set-id bit, as if the umask held them
            // (see do_metadata).
            o.install = open_bounded(ctx, pfd, name.c_str(), open_flags, mode & ~mode_t(S_ISUID | S_ISGID));
            if (o.install) break;
            int err = errno;
            // What the agent's own O_NOFOLLOW or O_CREAT|O_EXCL make its answer is not a change.
            bool changed = (err == ELOOP && !(flags & O_NOFOLLOW)) || (err == EEXIST && !exclusive_create) ||
                           (err == ENOENT && recreate && (flags & O_CREAT)) ||
                           (err == ENOTDIR && tmpfile && exists && S_ISDIR(st.st_mode));
            if (changed && attempt < kNameChangeAttempts) continue;
            return refused(r, action, display_path(ctx, pfd, name),
                           changed ? Error{EAGAIN, "open: the name kept changing"} : Error{err, "open"});
        }
        int pfd = res->parent();
        const std::string& name = res->name;
        if (tmpfile || created) {
            struct stat made{};
            if (::fstat(o.install.get(), &made) == 0) ctx.note_made(made);
        }
        if (tmpfile) return o;  // a file with no name, nothing of the host's
        if (created) {
            // Created by the agent: rollback removes it (if it is still this
            // file). Not for O_EXCL creates, which reach the gate only where
            // names are guarded: they never had a line of their own (the
            // event stream journals them, rollback's sweep takes away what
            // was born in the session), and the line was a quarter of what
            // such a create costs here.
            if (exclusive_create) {
                o.entry = creation_line(r, ctx, "file.create", pfd, name, "file");  // where there is no sweep
                return o;
            }
            struct stat now{};
            if (::fstat(o.install.get(), &now) == 0) {
                if (auto host = host_dir(ctx, pfd)) {
                    JournalEntry e = entry_for(r, "file.create", join_path(host->path, name));
                    e.rule = "filesystem.write";
                    e.undo = {{"op", "remove"}, {"path", join_path(host->path, name)}, {"type", "file"},
                              {"ino", uint64_t(now.st_ino)}};
                    o.entry = std::move(e);
                }
            }
            return o;
        }
        where = display_path(ctx, pfd, name);  // not before: a create needs none, and it costs two calls
        // What was opened, which is what is kept and truncated below.
        if (::fstat(o.install.get(), &st) != 0) return failed(errno);
        if (const GuardedName* g = guarded_object(ctx, st)) return refuse_guarded(r, action, where, *g);
        // Looked at before the open too: here in case the name changed.
        if (is_current_tty(st)) return agent_tty_outcome(r, ctx, flags, o.cloexec);
        truncates = (flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size > 0;
    }
    bool writes = (flags & O_ACCMODE) != O_RDONLY;
    // Overwriting what was there destroys it, as a truncation does: in a
    // write tree that is no destroy tree an existing file is opened for
    // writing only to be added to, unless the agent made it.
    bool overwrite_refused = (truncates || (writes && !(flags & O_APPEND))) && overwrites_anothers(ctx, o.install.get(), st);
    if (overwrite_refused && !ctx.audit) {
        GateOutcome no = refused(r, action, where,
                                 Error{EACCES, "overwriting a file in a write tree that is no destroy tree (O_APPEND adds to it)"});
        if (no.entry) no.entry->rule = "filesystem.destroy";
        return no;
    }
    // O_RDONLY|O_TRUNC truncates too; a write descriptor is needed for it.
    UniqueFd writer;
    auto write_fd = [&]() -> int {
        if (writes) return o.install.get();
        if (!writer) writer = UniqueFd(::open(fd_link(o.install.get()).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
        return writer.get();
    };
    // An empty file loses nothing to O_TRUNC, but its times change all the
    // same (make's stamp files: `: > stamp`): truncated here, unkept (but
    // for the set-id bits and capabilities it strips, see truncate_file).
    bool empty_truncate = (flags & O_TRUNC) && S_ISREG(st.st_mode) && st.st_size == 0;
    auto truncate_empty = [&]() -> GateOutcome {
        if (!empty_truncate) return GateOutcome{};
        int fd = write_fd();
        if (fd < 0) return refused(r, action, where, Error{errno, "open for truncation"});
        return truncate_file(r, ctx, action, fd, 0);
    };
    if (!truncates && writes && S_ISREG(st.st_mode) && !ctx.kept.count({st.st_dev, st.st_ino})) {
        // The first open for writing of an existing file: whatever is
        // written through it (in place, appended), the old bytes are kept.
        GateOutcome k = keep_before_write(r, ctx, o.install.get());
        if (k.err) return k;
        if (overwrite_refused && k.entry) k.entry->rule = "filesystem.destroy";  // audit mode: would be denied
        if (GateOutcome t = truncate_empty(); t.err) return t;  // kept now: nothing more to record
        k.install = std::move(o.install);
        k.cloexec = o.cloexec;
        return k;
    }
    if (!truncates) {
        GateOutcome t = truncate_empty();
        if (t.err) return t;
        o.entry = t.entry ? std::move(t.entry) : rewrite_line(r, ctx, o.install.get(), st, writes);
        return o;
    }
    int tfd = write_fd();
    if (tfd < 0) return refused(r, action, where, Error{errno, "open for truncation"});
    GateOutcome t = truncate_file(r, ctx, action, tfd, 0);
    if (t.err) return t;
    t.install = std::move(o.install);
    t.cloexec = o.cloexec;
    return t;
}

}  // namespace sandboxd
