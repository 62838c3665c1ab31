#include "gate/guards.h"

#include <fcntl.h>

#include "gate/outcome.h"

namespace sandboxd {

std::vector<const GuardedName*> guards_on(const GateContext& ctx, int dir, const std::string& name) {
    std::vector<const GuardedName*> out;
    struct stat st{};
    if (ctx.guarded.empty() || ::fstat(dir, &st) != 0) return out;
    for (const auto& g : ctx.guarded)
        if (g.dev == st.st_dev && g.ino == st.st_ino && g.name == name) out.push_back(&g);
    return out;
}

const GuardedName* guarded_name(const GateContext& ctx, int dir, const std::string& name) {
    auto on = guards_on(ctx, dir, name);
    return on.empty() ? nullptr : on.front();
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

}  // namespace sandboxd
