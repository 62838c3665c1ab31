// mkdir, mknod, symlink, link. These calls reach the gate only in sessions
// with a protected path that does not exist yet (seccomp_policy.h,
// create_gate), or a write tree on a filesystem without birth times: they
// destroy nothing, so they are done as the agent and journaled by the
// event stream, like any other call that changes something; the gate's
// part is to refuse the guarded names (guards.h), which no mount can cover
// because they do not exist, and to journal what rollback's sweep could
// not find (creation_line).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "base/paths.h"
#include "gate/agent_view.h"
#include "gate/guards.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"

namespace sandboxd {

namespace {

// The new name a call makes, resolved as the agent would (a final symlink
// is not followed: the kernel makes none of these through one), and
// checked against the guarded names. mkdir passes `on_way`: a name on the
// way to a protected path is its to make, and gets those guards back.
struct NewName {
    ResolvedPath at;
    std::optional<GateOutcome> answer;  // set when the call ends here
};

NewName new_name(const GateRequest& r, GateContext& ctx, const char* action, const std::string& path, int start,
                 std::vector<const GuardedName*>* on_way = nullptr) {
    NewName n;
    auto res = resolve_for_agent(r.root, start, path, false);
    if (!res) {
        n.answer = failed(res.error().code ? res.error().code : EACCES);
        return n;
    }
    n.at = std::move(*res);
    if (n.at.name == "." || n.at.name == "..") {
        n.answer = failed(EEXIST);
        return n;
    }
    auto guards = guards_on(ctx, n.at.parent(), n.at.name);
    for (const GuardedName* g : guards) {
        if (on_way && !g->rest.empty()) continue;
        n.answer = refuse_guarded(r, action, display_path(ctx, n.at.parent(), n.at.name), *g);
        return n;
    }
    if (on_way) *on_way = std::move(guards);
    return n;
}

// A name made for the agent: its creation_line(), if any. Refusals (the
// kernel's errno, given back with failed()) reach the journal through the
// event stream, which sees the agent's call fail with the same errno.
GateOutcome made(const GateRequest& r, GateContext& ctx, const char* action, const NewName& n, const char* type) {
    ctx.note_made_at(n.at.parent(), n.at.name);
    GateOutcome o;
    o.entry = creation_line(r, ctx, action, n.at.parent(), n.at.name, type);
    return o;
}

}  // namespace

std::optional<JournalEntry> creation_line(const GateRequest& r, GateContext& ctx, const char* action, int dir,
                                          const std::string& name, const char* type) {
    if (!ctx.journal_creates) return std::nullopt;
    struct statx sx{};
    if (::statx(dir, name.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_INO | STATX_BTIME, &sx) != 0 ||
        (sx.stx_mask & STATX_BTIME))
        return std::nullopt;
    const HostDir* host = host_dir(ctx, dir);
    if (!host) return std::nullopt;  // the session's own /tmp: nothing to take away
    std::string path = join_path(host->path, name);
    JournalEntry e = entry_for(r, action, path);
    e.rule = "filesystem.write";
    e.undo = {{"op", "remove"}, {"path", path}, {"type", type}, {"ino", uint64_t(sx.stx_ino)}};
    return e;
}

GateOutcome do_mkdir(const GateRequest& r, GateContext& ctx, mode_t mode) {
    std::vector<const GuardedName*> on_way;
    NewName n = new_name(r, ctx, "file.mkdir", r.path1, r.dir1.get(), &on_way);
    if (n.answer) return std::move(*n.answer);
    if (!on_way.empty() && ctx.guarded.size() + on_way.size() > kMaxGuards) return failed(EROFS);
    use_agent_umask(r.umask());
    if (::mkdirat(n.at.parent(), n.at.name.c_str(), mode) != 0) return failed(errno);
    guard_inside(ctx, n.at.parent(), n.at.name, on_way);
    return made(r, ctx, "file.mkdir", n, "dir");
}

GateOutcome do_mknod(const GateRequest& r, GateContext& ctx, mode_t mode, dev_t dev) {
    NewName n = new_name(r, ctx, "file.mknod", r.path1, r.dir1.get());
    if (n.answer) return std::move(*n.answer);
    if (n.at.trailing_slash) return failed(ENOENT);
    use_agent_umask(r.umask());
    // No set-id bit on what it makes (see do_metadata).
    if (::mknodat(n.at.parent(), n.at.name.c_str(), mode & ~mode_t(S_ISUID | S_ISGID), dev) != 0) return failed(errno);
    return made(r, ctx, "file.mknod", n, S_ISREG(mode) || (mode & S_IFMT) == 0 ? "file" : "special");
}

GateOutcome do_symlink(const GateRequest& r, GateContext& ctx) {
    if (r.link_target.empty()) return failed(ENOENT);
    NewName n = new_name(r, ctx, "file.symlink", r.path1, r.dir1.get());
    if (n.answer) return std::move(*n.answer);
    if (n.at.trailing_slash) return failed(ENOENT);
    if (::symlinkat(r.link_target.c_str(), n.at.parent(), n.at.name.c_str()) != 0) return failed(errno);
    return made(r, ctx, "file.symlink", n, "symlink");
}

GateOutcome do_link(const GateRequest& r, GateContext& ctx, int flags) {
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return failed(EINVAL);
    NewName n = new_name(r, ctx, "file.link", r.path2, r.dir2.get());
    if (n.answer) return std::move(*n.answer);
    if (n.at.trailing_slash) return failed(ENOENT);
    int to = n.at.parent();
    const char* name = n.at.name.c_str();
    // Its undo record names the new link by its host path: one rollback
    // could not find (past PATH_MAX) is not made, as for renames. The
    // session's own filesystems need none.
    auto host = host_dir(ctx, to);
    if (!host && !on_private_fs(ctx, to))
        return refused(r, "file.link", display_path(ctx, to, n.at.name),
                       Error{EACCES, "no undo possible: not reachable from the host"});
    // An open file given by descriptor (AT_EMPTY_PATH, or a /proc/self/fd
    // link followed): linked through the worker's own magic link to it.
    // Without AT_SYMLINK_FOLLOW the kernel would link the magic link
    // itself, which lives on procfs: EXDEV.
    if (r.file && !(flags & AT_SYMLINK_FOLLOW)) return failed(EXDEV);
    int held = r.file ? r.file.get() : (r.path1.empty() && (flags & AT_EMPTY_PATH)) ? r.dir1.get() : -1;
    // A protected file gets no other name: one written through it (or
    // through a descriptor opened by it) would write the protected file.
    auto refuse_protected_source = [&](int fd) -> std::optional<GateOutcome> {
        struct stat st{};
        if (::fstat(fd, &st) != 0) return failed(errno);
        return refuse_guarded_open_file(r, ctx, "file.link", r.path1, fd, st);
    };
    int rc;
    if (held >= 0) {
        if (auto no = refuse_protected_source(held)) return std::move(*no);
        rc = ::linkat(AT_FDCWD, fd_link(held).c_str(), to, name, AT_SYMLINK_FOLLOW);
    } else {
        if (r.path1.empty()) return failed(ENOENT);
        auto from = resolve_for_agent(r.root, r.dir1.get(), r.path1, flags & AT_SYMLINK_FOLLOW);
        if (!from) return failed(from.error().code ? from.error().code : EACCES);
        if (from->name == "." || from->name == "..") return failed(EPERM);
        if (const GuardedName* g = protected_name(ctx, from->parent(), from->name))
            return refuse_guarded(r, "file.link", display_path(ctx, from->parent(), from->name), *g);
        UniqueFd source(::openat(from->parent(), from->name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!source) return failed(errno);
        if (auto no = refuse_protected_source(source.get())) return std::move(*no);
        rc = ::linkat(AT_FDCWD, fd_link(source.get()).c_str(), to, name, AT_SYMLINK_FOLLOW);
    }
    if (rc != 0) return failed(errno);
    // The new name is the agent's: rollback takes it away (if it still
    // names this file). Its file may be older than the session, so the
    // sweep of what was born in the session would not.
    GateOutcome o;
    struct stat st{};
    if (::fstatat(to, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return o;
    if (host) {
        JournalEntry e = entry_for(r, "file.link", join_path(host->path, n.at.name));
        e.rule = "filesystem.write";
        e.undo = {{"op", "remove"}, {"path", join_path(host->path, n.at.name)}, {"type", "link"}, {"ino", uint64_t(st.st_ino)}};
        o.entry = std::move(e);
    }
    return o;
}

}  // namespace sandboxd
