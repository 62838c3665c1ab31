// mkdir, mknod, symlink, link, and the guarded names of protected paths
// that do not exist yet. These calls reach the gate only in sessions with
// such a path (seccomp_policy.h, create_gate): they destroy nothing, so they
// are done as the agent and journaled by the event stream, like any other
// call that changes something; the gate's part is to refuse the guarded
// names, which no mount can cover because they do not exist.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "gate/agent_view.h"
#include "gate/handlers.h"
#include "gate/outcome.h"
#include "gate/resolve.h"

namespace sandboxd {

const GuardedName* guarded_name(const GateContext& ctx, int dir, const std::string& name, bool as_directory) {
    if (ctx.guarded.empty()) return nullptr;
    struct stat st{};
    if (::fstat(dir, &st) != 0) return nullptr;
    for (const auto& g : ctx.guarded)
        if (g.dev == st.st_dev && g.ino == st.st_ino && g.name == name && !(as_directory && !g.rest.empty())) return &g;
    return nullptr;
}

const GuardedName* guarded_object(const GateContext& ctx, const struct stat& st) {
    for (const auto& g : ctx.guarded)
        if (g.held_ino != 0 && g.held_dev == st.st_dev && g.held_ino == st.st_ino) return &g;
    return nullptr;
}

void drop_guards_in(GateContext& ctx, const struct stat& st) {
    std::erase_if(ctx.guarded, [&](const GuardedName& g) { return g.dev == st.st_dev && g.ino == st.st_ino; });
}

GateOutcome refuse_guarded(const GateRequest& r, const char* action, const std::string& target, const GuardedName& g) {
    GateOutcome o = failed(EROFS);
    JournalEntry e = entry_for(r, action, target);
    e.decision = "deny";
    e.rule = "filesystem.protect";
    e.err = EROFS;
    e.detail = {{"protected", g.protected_path}};
    o.entry = std::move(e);
    return o;
}

namespace {

// The new name a call makes, resolved as the agent would (a final symlink
// is not followed: the kernel makes none of these through one), and
// checked against the guarded names.
struct NewName {
    ResolvedPath at;
    std::optional<GateOutcome> answer;  // set when the call ends here
};

NewName new_name(const GateRequest& r, GateContext& ctx, const char* action, const std::string& path, int start,
                 bool as_directory = false) {
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
    if (const GuardedName* g = guarded_name(ctx, n.at.parent(), n.at.name, as_directory))
        n.answer = refuse_guarded(r, action, display_path(ctx, n.at.parent(), n.at.name), *g);
    return n;
}

// The kernel's answer to the call the worker made for the agent; refusals
// reach the journal through the event stream, which sees the agent's call
// fail with the same errno.
GateOutcome kernel_answer(int rc) { return rc == 0 ? GateOutcome{} : failed(errno); }

// Guards made by guard_inside, at most: directories on the way made and
// moved aside over and over would otherwise grow the list (and the time of
// every check) without end. Past it, such a directory is refused.
constexpr size_t kMaxGuards = 1024;

// The guards `name` in `dir` would add inside itself if made by mkdir;
// nullopt when there is no room for them.
std::optional<std::vector<const GuardedName*>> guards_on_the_way(const GateContext& ctx, int dir, const std::string& name) {
    std::vector<const GuardedName*> out;
    struct stat parent{};
    if (ctx.guarded.empty() || ::fstat(dir, &parent) != 0) return out;
    for (const auto& g : ctx.guarded)
        if (g.dev == parent.st_dev && g.ino == parent.st_ino && g.name == name && !g.rest.empty()) out.push_back(&g);
    if (!out.empty() && ctx.guarded.size() + out.size() > kMaxGuards) return std::nullopt;
    return out;
}

// `name`, just made in `dir` by mkdir, is a name on the way to the
// protected paths of `on_way`: the next name of each is guarded inside it.
void guard_inside(GateContext& ctx, int dir, const std::string& name, const std::vector<const GuardedName*>& on_way) {
    struct stat made{};
    if (on_way.empty() || ::fstatat(dir, name.c_str(), &made, AT_SYMLINK_NOFOLLOW) != 0) return;
    std::vector<GuardedName> next;
    for (const GuardedName* g : on_way) {
        size_t slash = g->rest.find('/');
        next.push_back({g->protected_path, made.st_dev, made.st_ino, g->rest.substr(0, slash),
                        slash == std::string::npos ? "" : g->rest.substr(slash + 1)});
    }
    for (auto& g : next) ctx.guarded.push_back(std::move(g));
}

}  // namespace

GateOutcome do_mkdir(const GateRequest& r, GateContext& ctx, mode_t mode) {
    NewName n = new_name(r, ctx, "file.mkdir", r.path1, r.dir1.get(), true);
    if (n.answer) return std::move(*n.answer);
    auto on_way = guards_on_the_way(ctx, n.at.parent(), n.at.name);
    if (!on_way) return failed(EROFS);
    {
        AgentUmask as_agent(r.umask());
        if (::mkdirat(n.at.parent(), n.at.name.c_str(), mode) != 0) return failed(errno);
    }
    guard_inside(ctx, n.at.parent(), n.at.name, *on_way);
    return GateOutcome{};
}

GateOutcome do_mknod(const GateRequest& r, GateContext& ctx, mode_t mode, dev_t dev) {
    NewName n = new_name(r, ctx, "file.mknod", r.path1, r.dir1.get());
    if (n.answer) return std::move(*n.answer);
    if (n.at.trailing_slash) return failed(ENOENT);
    AgentUmask as_agent(r.umask());
    return kernel_answer(::mknodat(n.at.parent(), n.at.name.c_str(), mode, dev));
}

GateOutcome do_symlink(const GateRequest& r, GateContext& ctx) {
    if (r.link_target.empty()) return failed(ENOENT);
    NewName n = new_name(r, ctx, "file.symlink", r.path1, r.dir1.get());
    if (n.answer) return std::move(*n.answer);
    if (n.at.trailing_slash) return failed(ENOENT);
    return kernel_answer(::symlinkat(r.link_target.c_str(), n.at.parent(), n.at.name.c_str()));
}

GateOutcome do_link(const GateRequest& r, GateContext& ctx, int flags) {
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return failed(EINVAL);
    NewName n = new_name(r, ctx, "file.link", r.path2, r.dir2.get());
    if (n.answer) return std::move(*n.answer);
    if (n.at.trailing_slash) return failed(ENOENT);
    int to = n.at.parent();
    const char* name = n.at.name.c_str();
    // An open file given by descriptor (AT_EMPTY_PATH, or a /proc/self/fd
    // link followed): linked through the worker's own magic link to it.
    // Without AT_SYMLINK_FOLLOW the kernel would link the magic link
    // itself, which lives on procfs: EXDEV.
    if (r.file && !(flags & AT_SYMLINK_FOLLOW)) return failed(EXDEV);
    int held = r.file ? r.file.get() : (r.path1.empty() && (flags & AT_EMPTY_PATH)) ? r.dir1.get() : -1;
    if (held >= 0) return kernel_answer(::linkat(AT_FDCWD, fd_link(held).c_str(), to, name, AT_SYMLINK_FOLLOW));
    if (r.path1.empty()) return failed(ENOENT);
    auto from = resolve_for_agent(r.root, r.dir1.get(), r.path1, flags & AT_SYMLINK_FOLLOW);
    if (!from) return failed(from.error().code ? from.error().code : EACCES);
    if (from->name == "." || from->name == "..") return failed(EPERM);
    return kernel_answer(::linkat(from->parent(), from->name.c_str(), to, name, 0));
}

}  // namespace sandboxd
