#include "landlock/hidden_split.h"

#include <linux/limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <set>

#include "base/paths.h"
#include "landlock/abi.h"

namespace sandboxd {
namespace {

// Rules a session adds entry by entry, at most: past them, entries are
// not granted (fail closed: a directory an earlier session filled, such as
// a writable ~/.cache, must not switch the split off), and that is said.
constexpr size_t kMaxEntries = 20000;

// The nearest directory above `path` that exists.
std::string existing_parent(std::string path) {
    while (path != "/") {
        path = parent_path(path);
        struct stat st{};
        if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return path;
    }
    return path;
}

bool is_directory(const std::string& path) {
    struct stat st{};
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A hidden name, or its temporary or lock file in the same directory,
// which becomes the hidden file by a rename: the hidden name followed by
// anything but a letter (.git-credentials.lock, config.json1234,
// hosts.yml~), so that ~/.config/ghostty is not taken for gh's.
bool hidden_or_becoming(const std::string& dir, const std::string& name, const std::vector<std::string>& hidden) {
    for (const auto& h : hidden) {
        std::string base = last_component(h);
        if (parent_path(h) != dir || !name.starts_with(base)) continue;
        if (name.size() == base.size() || !std::isalpha(static_cast<unsigned char>(name[base.size()]))) return true;
    }
    return false;
}

}  // namespace

std::vector<std::string> resolved_hidden_paths(const std::vector<PathRule>& hide) {
    std::vector<std::string> out;
    for (const auto& h : hide) {
        // Each link of a chain and where the chain ends, taken a link at a
        // time: a chain that ends nowhere yet (~/.git-credentials to
        // dotfiles/x to ../vault/x) leads where the host may write later.
        std::string at = with_real_directories(h.path);
        out.push_back(at);
        for (int links = 0; links < 40; ++links) {
            struct stat st{};
            if (::lstat(at.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) break;
            char target[PATH_MAX];
            ssize_t n = ::readlink(at.c_str(), target, sizeof target - 1);
            if (n <= 0) break;
            std::string to(target, size_t(n));
            at = with_real_directories(normalize_path(to.front() == '/' ? to : parent_path(at) + "/" + to));
            out.push_back(at);
        }
    }
    return out;
}

void grant_around_hidden(std::vector<LandlockRule>& rules, const std::vector<std::string>& hidden, uid_t agent_uid,
                         uint64_t write_rights, std::vector<std::string>& notes, std::vector<std::string>& warnings) {
    // Only where the agent's user owns the directory: elsewhere what the
    // host puts there has its owner's permissions (a new /etc/shadow is
    // root's 0640 again), and granting /etc entry by entry would deny the
    // agent a /etc/resolv.conf renewed by DHCP.
    std::vector<std::string> guarded;
    for (const auto& h : hidden) {
        struct stat st{};
        if (::stat(existing_parent(h).c_str(), &st) == 0 && st.st_uid == agent_uid) guarded.push_back(h);
    }
    if (guarded.empty()) return;
    std::vector<LandlockRule> out;
    size_t entries = 0;
    for (const auto& r : rules) {
        std::vector<std::string> inside;
        const std::string& tree = r.path;  // where it leads: the profile loader resolved it
        if (!tree.empty() && is_directory(tree))
            for (const auto& g : guarded)
                if (g != tree && path_is_under(g, tree)) inside.push_back(g);
        if (inside.empty()) {
            out.push_back(r);
            continue;
        }
        // What the session's own /tmp holds gets that tmpfs's rights from
        // above (Landlock crosses mount points): left to the mounts.
        for (const auto& g : inside)
            if (path_is_under(g, "/tmp"))
                notes.push_back("hide " + g + ": carried into the session's own /tmp, hidden by its mount only: a file "
                                "the host puts there during the session is visible");
        if (r.access & write_rights) {
            for (const auto& g : inside)
                notes.push_back("hide " + g + ": in the write tree " + tree +
                                ", hidden by its mount only: a file the host puts there during the session is visible");
            out.push_back(r);
            continue;
        }
        // The directories on the way to each hidden path, as far as they exist.
        std::set<std::string> way{tree};
        for (const auto& g : inside)
            for (size_t slash = g.find('/', tree.size() == 1 ? 1 : tree.size() + 1); slash != std::string::npos;
                 slash = g.find('/', slash + 1)) {
                std::string dir = g.substr(0, slash);
                if (!is_directory(dir)) break;
                way.insert(dir);
            }
        // Each directory before those inside it (a set of paths sorts so):
        // past the most entries, what is left out is deeper than what is in.
        for (const auto& dir : way) {
            out.push_back({dir, r.access & LANDLOCK_ACCESS_FS_READ_DIR, r.why + ", listing only", true, true});
            std::error_code ec;
            size_t left_out = 0;
            // One that cannot be listed grants nothing inside: fail closed.
            for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
                std::string name = it->path().filename();
                std::string full = join_path(dir, name);
                if (way.count(full) || hidden_or_becoming(dir, name, hidden)) continue;
                struct stat st{};
                // A link is checked where it leads.
                if (::lstat(full.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
                if (entries == kMaxEntries) {
                    ++left_out;
                    continue;
                }
                ++entries;
                out.push_back({full, S_ISDIR(st.st_mode) ? r.access : r.access & landlock::kFsFileRights, r.why, true});
            }
            if (left_out)
                warnings.push_back(std::to_string(left_out) + " entries of " + dir + " are not readable in this session: " +
                                   "past the " + std::to_string(kMaxEntries) +
                                   " entries granted one by one around hidden paths");
        }
        std::string dirs;
        for (const auto& dir : way) dirs += (dirs.empty() ? "" : ", ") + dir;
        notes.push_back(r.why + " " + tree + ": granted entry by entry around hidden paths; what the host adds to " +
                        dirs + " during the session, or replaces by rename (git saving ~/.gitconfig), is not readable "
                        "until the next session");
    }
    rules = std::move(out);
}

}  // namespace sandboxd
