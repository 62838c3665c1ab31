#include "gate/guards.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file_io.h"
#include "base/paths.h"
#include "gate/agent_view.h"
#include "gate/outcome.h"

namespace sandboxd {

namespace {

// A guard of the same protected (or hidden) path on `name` in directory
// (dev, ino).
GuardedName derived(const GuardedName& g, dev_t dev, ino_t ino, std::string name, std::string rest) {
    GuardedName out{g.protected_path, dev, ino, std::move(name), std::move(rest)};
    out.hidden = g.hidden;
    return out;
}

// A protected directory that is there now without the read-only mount a
// protected path that existed at the start has: made since by someone else
// (the user's `git submodule update` makes .git/modules/NAME/config), or
// put in place of the mounted one.
struct Unmounted {
    dev_t dev;
    ino_t ino;
    const GuardedName* guard;
};

bool mounted_at_start(const GuardedName& g, const struct stat& now) {
    return g.rest.empty() && g.held_ino != 0 && g.held_dev == now.st_dev && g.held_ino == now.st_ino;
}

// Deepest directory the walk up from a gated call's directory goes: a
// deeper one is treated as inside a protected directory (fail closed).
constexpr int kMaxDepth = 256;

// Whether `dir` lies beneath one of `found`: then every name in it is
// guarded, as the read-only mount would have kept it (`full` set: the
// list has no room, the caller refuses).
void guard_beneath(GateContext& ctx, int dir_fd, const struct stat& dir, const std::vector<Unmounted>& found,
                   bool& full) {
    const GuardedName* under = nullptr;
    UniqueFd cur(::openat(dir_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat below = dir;
    int depth = 0;
    for (; cur && !under && depth < kMaxDepth; ++depth) {
        struct stat st{};
        if (::fstat(cur.get(), &st) != 0) return;
        if (st.st_dev == below.st_dev && st.st_ino == below.st_ino) return;  // the root: beneath none
        for (const auto& f : found)
            if (f.dev == st.st_dev && f.ino == st.st_ino) under = f.guard;
        below = st;
        cur = UniqueFd(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    if (!under && depth < kMaxDepth) return;
    for (const auto& h : ctx.guarded)
        if (h.dev == dir.st_dev && h.ino == dir.st_ino && h.name.empty()) return;
    if (ctx.guarded.size() >= kMaxGuards) {
        full = true;
        return;
    }
    ctx.guarded.push_back(derived(under ? *under : *found.front().guard, dir.st_dev, dir.st_ino, "", ""));
}

// Whether `dir` (its stat) is a directory on the way of one of the
// session's first guards, made by anyone: found by following the names
// from the guard's directory, as they are now. Its guards are added as if
// the agent had made it (guard_inside). False when the list is full: the
// caller then refuses (`full` set). A protected directory there now
// without its read-only mount has every name in it guarded, and in every
// directory beneath it.
void follow_roots(GateContext& ctx, int dir_fd, const struct stat& dir, bool& full) {
    // The first name of several guards is often the same (.git): looked up
    // once a call, and the walk goes on from what was opened.
    struct First {
        dev_t dev;
        ino_t ino;
        const std::string* name;
        UniqueFd fd;  // none: not there, or no directory
        struct stat st;
    };
    std::vector<First> first;
    std::vector<Unmounted> unmounted;
    auto add = [&](const GuardedName& g, const std::string& guarded, const std::string& rest) {
        for (const auto& h : ctx.guarded)
            if (h.dev == dir.st_dev && h.ino == dir.st_ino && h.name == guarded && h.protected_path == g.protected_path)
                return;
        if (ctx.guarded.size() >= kMaxGuards) {
            full = true;
            return;
        }
        ctx.guarded.push_back(derived(g, dir.st_dev, dir.st_ino, guarded, rest));
    };
    for (const auto& root : ctx.guard_roots) {
        const GuardedName& g = *root.guard;
        // The guard's own directory has its guards already: the walk is
        // for the directories below it (and most calls are in one of the
        // roots, the workspace).
        if (g.dev == dir.st_dev && g.ino == dir.st_ino) continue;
        const auto& chain = root.chain;
        if (chain.size() == 1) {
            // The protected path itself: one stat.
            struct stat p{};
            if (::fstatat(root.dir.get(), chain[0].c_str(), &p, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(p.st_mode) ||
                mounted_at_start(g, p))
                continue;
            if (p.st_dev == dir.st_dev && p.st_ino == dir.st_ino) add(g, "", "");
            else unmounted.push_back({p.st_dev, p.st_ino, &g});
            if (full) return;
            continue;
        }
        First* top = nullptr;
        for (auto& f : first)
            if (f.dev == g.dev && f.ino == g.ino && *f.name == chain[0]) top = &f;
        if (!top) {
            First f{g.dev, g.ino, &chain[0],
                    UniqueFd(::openat(root.dir.get(), chain[0].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)), {}};
            if (f.fd && ::fstat(f.fd.get(), &f.st) != 0) f.fd.reset();
            first.push_back(std::move(f));
            top = &first.back();
        }
        if (!top->fd) continue;
        UniqueFd cur;
        int at = top->fd.get();
        struct stat next = top->st;
        // Down to the protected path itself: a directory there now (the
        // user's `git init` made .git/hooks) has every name in it guarded
        // (name ""), as its read-only mount would have had.
        size_t k = 0;
        for (; k < chain.size(); ++k) {
            if (k > 0) {
                UniqueFd opened(::openat(at, chain[k].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
                if (!opened || ::fstat(opened.get(), &next) != 0) break;
                cur = std::move(opened);
                at = cur.get();
            }
            if (next.st_dev != dir.st_dev || next.st_ino != dir.st_ino) continue;
            std::string guarded = k + 1 < chain.size() ? chain[k + 1] : "", rest;
            for (size_t j = k + 2; j < chain.size(); ++j) rest += (rest.empty() ? "" : "/") + chain[j];
            add(g, guarded, rest);
            if (full) return;
            break;
        }
        if (k == chain.size()) unmounted.push_back({next.st_dev, next.st_ino, &g});
    }
    if (!unmounted.empty()) guard_beneath(ctx, dir_fd, dir, unmounted, full);
}

}  // namespace

std::vector<std::string> guard_chain(const GuardedName& g) {
    std::vector<std::string> out = {g.name};
    for (size_t from = 0; from < g.rest.size();) {
        size_t slash = g.rest.find('/', from);
        if (slash == std::string::npos) slash = g.rest.size();
        out.push_back(g.rest.substr(from, slash - from));
        from = slash + 1;
    }
    return out;
}

std::vector<const GuardedName*> guards_on(GateContext& ctx, int dir, const std::string& name) {
    struct stat st{};
    if (ctx.guarded.empty() || ::fstat(dir, &st) != 0) return {};
    return guards_on(ctx, dir, st, name);
}

std::vector<const GuardedName*> guards_on(GateContext& ctx, int dir, const struct stat& st, const std::string& name) {
    std::vector<const GuardedName*> out;
    if (ctx.guarded.empty()) return out;
    bool full = false;
    if (S_ISDIR(st.st_mode)) follow_roots(ctx, dir, st, full);
    if (full && !ctx.roots_of.empty()) out.push_back(&ctx.roots_of.front());  // fail closed
    for (const auto& g : ctx.guarded)
        if (g.dev == st.st_dev && g.ino == st.st_ino && (g.name == name || g.name.empty())) out.push_back(&g);
    return out;
}

const GuardedName* guarded_name(GateContext& ctx, int dir, const std::string& name) {
    auto on = guards_on(ctx, dir, name);
    return on.empty() ? nullptr : on.front();
}

namespace {
const GuardedName* first_protected(const std::vector<const GuardedName*>& on) {
    for (const GuardedName* g : on)
        if (g->rest.empty()) return g;
    return nullptr;
}
}  // namespace

const GuardedName* protected_name(GateContext& ctx, int dir, const std::string& name) {
    return first_protected(guards_on(ctx, dir, name));
}

const GuardedName* protected_name(GateContext& ctx, int dir, const struct stat& dir_st, const std::string& name) {
    return first_protected(guards_on(ctx, dir, dir_st, name));
}

const GuardedName* guarded_object(const GateContext& ctx, const struct stat& st) {
    for (const auto& g : ctx.guarded)
        if (g.held_ino != 0 && g.held_dev == st.st_dev && g.held_ino == st.st_ino) return &g;
    return nullptr;
}

std::optional<GateOutcome> refuse_guarded_open_file(const GateRequest& r, GateContext& ctx, const char* action,
                                                    const std::string& target, int fd, const struct stat& st) {
    if (ctx.guarded.empty()) return std::nullopt;
    if (const GuardedName* g = guarded_object(ctx, st)) return refuse_guarded(r, action, target, *g);
    OpenObject obj = open_object(fd, st);
    if (!obj.on_host) return std::nullopt;  // no name of the host's (deleted, private): nothing to guard
    std::string dir = parent_path(obj.path), name = last_component(obj.path);
    // Its directory by the name the kernel gave, no link followed: the
    // name must still be this file's, or the answer would be another's.
    UniqueFd parent = open_resolved(AT_FDCWD, dir.c_str(), O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
    struct stat now{};
    if (!parent || ::fstatat(parent.get(), name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 || now.st_dev != st.st_dev ||
        now.st_ino != st.st_ino)
        return refused(r, action, target, Error{EAGAIN, "its name changed while it was looked at"});
    if (const GuardedName* g = protected_name(ctx, parent.get(), name)) return refuse_guarded(r, action, target, *g);
    return std::nullopt;
}

void drop_guards_in(GateContext& ctx, const struct stat& st) {
    std::erase_if(ctx.guarded, [&](const GuardedName& g) { return g.dev == st.st_dev && g.ino == st.st_ino; });
}

GateOutcome refuse_guarded(const GateRequest& r, const char* action, const std::string& target, const GuardedName& g) {
    // A hidden name is refused as Landlock refuses what is out of scope.
    int err = g.hidden ? EACCES : EROFS;
    GateOutcome o = failed(err);
    JournalEntry e = entry_for(r, action, target);
    e.decision = "deny";
    e.rule = g.hidden ? "filesystem.hide" : "filesystem.protect";
    e.err = err;
    e.detail = {{g.hidden ? "hidden" : "protected", g.protected_path}};
    o.entry = std::move(e);
    return o;
}

void guard_inside(GateContext& ctx, int dir, const std::string& name, const std::vector<const GuardedName*>& on_way) {
    struct stat made{};
    if (on_way.empty() || ::fstatat(dir, name.c_str(), &made, AT_SYMLINK_NOFOLLOW) != 0) return;
    std::vector<GuardedName> next;
    for (const GuardedName* g : on_way) {
        size_t slash = g->rest.find('/');
        next.push_back(derived(*g, made.st_dev, made.st_ino, g->rest.substr(0, slash),
                               slash == std::string::npos ? "" : g->rest.substr(slash + 1)));
    }
    for (auto& g : next) ctx.guarded.push_back(std::move(g));
}

}  // namespace sandboxd
