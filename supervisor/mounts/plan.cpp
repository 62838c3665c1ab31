#include "mounts/plan.h"

#include <linux/limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/paths.h"
#include "profile/scope_check.h"

namespace sandboxd {
namespace {

// Keeps only the outermost of nested paths.
std::vector<std::string> outermost(std::vector<std::string> paths) {
    std::vector<std::string> out;
    for (const auto& p : paths) {
        bool nested = false;
        for (const auto& q : paths) nested = nested || (q != p && path_is_under(p, q));
        bool dup = false;
        for (const auto& o : out) dup = dup || o == p;
        if (!nested && !dup) out.push_back(p);
    }
    return out;
}

// Walks `path` (a protected path, or where a symlink on its way leads) down
// from the write tree holding it: pins each directory on the way and guards
// the first name that is missing, a symlink, or not a directory (see
// GuardedName). A symlink is guarded where it is, so that it cannot be
// replaced or pointed elsewhere, and followed: what it leads to is secured
// the same way (a dotfile kept in another directory, ~/.config linked to a
// dotfiles repository).
// The innermost of `trees` that `path` lies below, or null.
const std::string* innermost_tree(const std::vector<std::string>& trees, const std::string& path) {
    const std::string* tree = nullptr;
    for (const auto& t : trees)
        if (path != t && path_is_under(path, t) && (!tree || t.size() > tree->size())) tree = &t;
    return tree;
}

// Binds directory `dir` onto itself (once), so that it cannot be moved.
void pin(const Profile& p, MountPlan& plan, const std::string& dir) {
    for (const auto& q : plan.pinned)
        if (q.path == dir) return;
    plan.pinned.push_back({dir, !under_existing_tree(dir, p.exec_allow)});
}

void secure_path(const Profile& p, MountPlan& plan, const std::vector<std::string>& trees,
                 const std::string& protected_path, const std::string& path, int links, bool hidden) {
    const std::string* tree = innermost_tree(trees, path);
    if (!tree) return;  // outside the write trees: read-only anyway
    std::string dir = *tree;
    size_t from = tree->size() + 1;
    while (from <= path.size()) {
        size_t slash = path.find('/', from);
        if (slash == std::string::npos) slash = path.size();
        std::string component = path.substr(from, slash - from);
        std::string next = path.substr(0, slash);
        std::string rest = slash < path.size() ? path.substr(slash + 1) : "";
        from = slash + 1;
        struct stat st{};
        bool exists = ::lstat(next.c_str(), &st) == 0;
        if (exists && next == path && !S_ISLNK(st.st_mode)) {
            // Mounted read-only (plan.protect), and guarded by name too: a
            // host process that replaces the file by rename (git rewriting
            // .git/config, an editor saving ~/.bashrc) detaches that mount
            // in every namespace, and the agent would find the new file
            // writable, or remove it and make its own.
            struct stat d{};
            if (::stat(dir.c_str(), &d) != 0) return;
            GuardedName g{protected_path, d.st_dev, d.st_ino, component, ""};
            g.held_dev = st.st_dev;
            g.held_ino = st.st_ino;
            g.dir_path = dir;
            g.hidden = hidden;
            plan.guarded.push_back(std::move(g));
            return;
        }
        if (exists && S_ISDIR(st.st_mode)) {
            pin(p, plan, next);
            dir = next;
            continue;
        }
        struct stat d{};
        if (::stat(dir.c_str(), &d) != 0) return;
        GuardedName g{protected_path, d.st_dev, d.st_ino, component, rest};
        g.dir_path = dir;
        g.hidden = hidden;
        if (exists) {
            g.held_dev = st.st_dev;
            g.held_ino = st.st_ino;
        }
        plan.guarded.push_back(std::move(g));
        if (!exists || !S_ISLNK(st.st_mode) || links >= 40) return;
        char target[PATH_MAX];
        ssize_t n = ::readlink(next.c_str(), target, sizeof target - 1);
        if (n <= 0) return;
        std::string to(target, size_t(n));
        std::string led = to.front() == '/' ? to : dir + "/" + to;
        secure_path(p, plan, trees, protected_path, normalize_path(rest.empty() ? led : led + "/" + rest), links + 1,
                    hidden);
        return;
    }
}

std::vector<std::string> write_trees(const MountPlan& plan) {
    std::vector<std::string> trees;
    for (const auto& w : plan.writable) trees.push_back(w.path);
    for (const auto& c : plan.carry_into_tmp)
        if (!c.readonly) trees.push_back(c.path);
    return trees;
}

// Protected and hidden paths in the write trees: the directories on their
// way pinned (`mv .git x` would carry .git/hooks off, `mv .cache/hf x`
// take a hidden token out from under its cover), their names guarded.
// A hidden path too: the agent could otherwise make it, or a symlink on
// its way, and have the host's next login write its token where the agent
// reads it (`ln -s ~/ws/hf ~/.cache/huggingface`).
void secure_protected_and_hidden(const Profile& p, MountPlan& plan) {
    auto trees = write_trees(plan);
    for (const auto& r : p.protect) secure_path(p, plan, trees, r.path, r.path, 0, false);
    for (const auto& r : p.hide) secure_path(p, plan, trees, r.path, r.path, 0, true);
}

}  // namespace

MountPlan plan_mounts(const Profile& given, const std::string& workspace, const std::vector<std::string>& self_hidden,
                      bool audit) {
    MountPlan plan;
    // The read, write, destroy and exec trees are named by where they lead
    // already (the profile loader resolved them, judging every link on the
    // way): one named through a symlink into a write tree is an exec tree
    // inside it all the same, trees under /tmp are carried by where they
    // lead (below), and the mounts are made with no link followed.
    Profile p = given;
    // Protected and hidden paths by where their directories lead, the path
    // itself not followed (a protected symlink is guarded where it is, and
    // where it leads secured too: secure_path). Spelled through a symlinked
    // directory (/home -> /var/home), a protected path was no path under
    // the write trees, so nothing on its way was pinned or guarded.
    for (auto* list : {&p.protect, &p.hide})
        for (auto& e : *list) e.path = with_real_directories(e.path);
    std::vector<std::string> under_tmp;
    auto in_tmp = [](const std::string& path) { return path != "/tmp" && path_is_under(path, "/tmp"); };
    // The workspace is the agent's working directory: always visible.
    if (in_tmp(workspace)) under_tmp.push_back(workspace);
    // Carried into the private /tmp where they really are: a tree named
    // through a symbolic link is carried at the link's end, and one that
    // leads out of /tmp is not carried at all (it is reached where it is).
    // A copy of the tree the link leads to would be taken before the
    // hidden paths are covered: a link to / would bring the host's own
    // /tmp, /dev and every hidden path back in under its name.
    for (const auto* list : {&given.read, &given.write, &given.destroy, &given.exec_allow})
        for (const auto& r : *list)
            if (r.exists && in_tmp(r.path)) under_tmp.push_back(r.path);
    for (const auto& r : given.protect) {
        char real[PATH_MAX];
        if (r.exists && in_tmp(r.path) && ::realpath(r.path.c_str(), real) && in_tmp(real)) under_tmp.push_back(real);
    }
    plan.readonly_root = !audit;
    std::vector<std::string> exec_trees;
    for (const auto& e : p.exec_allow)
        if (e.exists) exec_trees.push_back(e.path);
    plan.exec_trees = outermost(exec_trees);
    plan.noexec_root = !audit && std::find(plan.exec_trees.begin(), plan.exec_trees.end(), "/") == plan.exec_trees.end();
    if (!plan.noexec_root) plan.exec_trees.clear();
    for (const auto& c : outermost(under_tmp)) {
        bool writable = audit || under_existing_tree(c, p.write);
        plan.carry_into_tmp.push_back({c, !writable, plan.noexec_root && !under_existing_tree(c, p.exec_allow)});
        if (writable && !under_existing_tree(c, p.destroy)) plan.tmp_destroy = false;
    }

    std::vector<std::string> writable;
    for (const auto& w : p.write)
        if (w.exists && !audit) writable.push_back(w.path);
    for (const auto& w : outermost(writable)) {
        bool noexec = !under_existing_tree(w, p.exec_allow);
        plan.writable.push_back({w, noexec});
        if (!noexec) continue;
        for (const auto& e : p.exec_allow)
            if (e.exists && e.path != w && path_is_under(e.path, w)) plan.exec_again.push_back(e.path);
    }

    // Named devices, carried into the session's own /dev. /dev itself,
    // what every session gets and its own /dev/shm and /dev/pts are not.
    std::vector<std::string> devices;
    for (const auto* list : {&p.read, &p.write, &p.destroy, &p.exec_allow})
        for (const auto& r : *list) {
            if (!r.exists || r.path == "/dev" || !path_is_under(r.path, "/dev")) continue;
            bool own = false;
            for (const char* d : {"/dev/shm", "/dev/pts", "/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"})
                own = own || path_is_under(r.path, d);
            for (const char* d : kSessionDevices) own = own || r.path == d;
            if (!own) devices.push_back(r.path);
        }
    plan.devices = outermost(devices);

    auto hide = [&](const std::string& path) {
        struct stat st{};
        if (::lstat(path.c_str(), &st) != 0) return;
        (S_ISDIR(st.st_mode) ? plan.hide_dirs : plan.hide_files).push_back(path);
    };
    // Audit mode studies what the agent would do, so the profile's own
    // carve-outs are not applied; sandboxd's directories stay hidden always.
    if (!audit) {
        for (const auto& r : p.protect)
            if (r.exists) plan.protect.push_back({r.path, !under_existing_tree(r.path, p.exec_allow)});
        secure_protected_and_hidden(p, plan);
        for (const auto& r : p.hide)
            if (r.exists) hide(r.path);
        // Outer before inner: a directory bound onto itself after one
        // inside it would cover that one's mount.
        std::stable_sort(plan.pinned.begin(), plan.pinned.end(),
                         [](const auto& a, const auto& b) { return a.path.size() < b.path.size(); });
    }
    for (const auto& s : self_hidden) {
        bool dup = false;
        for (const auto& d : plan.hide_dirs) dup = dup || d == s;
        if (!dup) hide(s);
    }
    return plan;
}

}  // namespace sandboxd
