#include "base/path_trust.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <climits>
#include <cstdlib>
#include <deque>
#include <optional>
#include <thread>

#include "base/paths.h"
#include "base/unique_fd.h"

namespace sandboxd {
namespace {

std::string octal(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", unsigned(mode & 07777));
    return buf;
}

std::string join_name(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace

TrustedOwners trusted_owners(uid_t agent_uid, gid_t agent_gid) {
    TrustedOwners out{{0, ::getuid(), agent_uid}, {0, ::getgid(), agent_gid}};
    auto from_env = [](const char* name) -> std::optional<unsigned long> {
        const char* v = std::getenv(name);
        if (!v || !*v) return std::nullopt;
        char* end = nullptr;
        unsigned long n = std::strtoul(v, &end, 10);
        if (!end || *end != '\0' || n >= UINT_MAX) return std::nullopt;
        return n;
    };
    if (auto u = from_env("SUDO_UID")) out.uids.push_back(uid_t(*u));
    if (auto g = from_env("SUDO_GID")) out.gids.push_back(gid_t(*g));
    return out;
}

namespace {

// Whether the agent may rename entries of any of the directories open at
// `dirs`, as the kernel decides for its user and all its groups (mode
// bits, ACLs): asked by a thread of its own that takes on the agent's
// filesystem credentials (per thread, raw syscalls: glibc would change
// every thread's). A sticky directory lets it move only its own entries,
// which the walk judges as the agent's (and a directory of the agent's
// below is one it may write to). Any doubt (the thread could not become
// the agent) is a yes: the link is refused.
bool agent_may_write_any(const AgentLinks& who, const std::vector<UniqueFd>& dirs) {
    bool any = true;
    std::thread asker([&] {
        std::vector<gid_t> groups = who.groups;
        groups.push_back(who.gid);
        if (::syscall(SYS_setgroups, groups.size(), groups.data()) != 0) return;
        ::syscall(SYS_setfsgid, who.gid);
        ::syscall(SYS_setfsuid, who.uid);
        if (::syscall(SYS_setfsuid, -1) != long(who.uid) || ::syscall(SYS_setfsgid, -1) != long(who.gid)) return;
        any = false;
        for (const auto& d : dirs) {
            struct stat st{};
            if (::fstat(d.get(), &st) != 0) {
                any = true;
                return;
            }
            bool writable = ::faccessat(d.get(), "", W_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
            if ((st.st_mode & S_ISVTX) ? st.st_uid == who.uid : writable) {
                any = true;
                return;
            }
        }
    });
    asker.join();
    return any;
}

// The walk behind both calls below: entry by entry, each opened (O_PATH,
// no symbolic link followed) from the directory before it and judged by
// what was opened, so that what is judged is what the walk goes on from,
// whatever is renamed or swapped meanwhile. Links are read from the
// descriptor they were judged by.
struct Walk {
    std::optional<std::string> problem;  // why the path cannot be trusted
    std::string real;                    // where it leads, with no symbolic link on the way (else as given)
};

Walk walk_path(const std::string& path, const TrustedOwners& trusted, const AgentLinks* agent_links) {
    auto has = [](const auto& list, auto v) { return std::find(list.begin(), list.end(), v) != list.end(); };
    Walk w;
    std::deque<std::string> todo;
    push_front_components(todo, path);
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
        w.real = path;
        return w;
    }
    UniqueFd cur(::dup(root.get()));  // the directory `done` names
    std::string done = "/";
    int links = 0;
    // The directories of `done`, from / down: the agent may have moved a
    // link below one it may write to (see agent_may_write_any).
    std::vector<UniqueFd> on_way;
    auto from_root = [&]() -> bool {
        on_way.clear();
        on_way.emplace_back(::dup(root.get()));
        return bool(on_way.back());
    };
    // Stops quietly: whether a missing or unreadable path is an error is
    // the caller's to say (its own stat says why).
    auto stop = [&]() -> Walk {
        w.real = path;
        return w;
    };
    if (!from_root()) return stop();
    while (!todo.empty()) {
        std::string name = std::move(todo.front());
        todo.pop_front();
        if (name == ".") continue;
        if (name == "..") {
            if (done != "/") {
                cur = UniqueFd(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
                if (!cur) return stop();
                done = parent_path(done);
                if (on_way.size() > 1) on_way.pop_back();
            }
            continue;
        }
        struct stat dir{}, st{};
        std::string here = join_name(done, name);
        UniqueFd entry(::openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!entry || ::fstat(cur.get(), &dir) != 0 || ::fstat(entry.get(), &st) != 0) return stop();
        bool open_to_others = (dir.st_mode & S_IWOTH) || ((dir.st_mode & S_IWGRP) && !has(trusted.gids, dir.st_gid));
        // In a shared directory its owner may remove or rename any entry:
        // the entry is as trusted as the directory's owner, at most.
        bool dir_owner_trusted = has(trusted.uids, dir.st_uid);
        bool owner_trusted = dir_owner_trusted && (st.st_uid == dir.st_uid || has(trusted.uids, st.st_uid));
        // Anyone may replace anything there. (A group's members may too in
        // a directory without the sticky bit that their group may write,
        // but they are trusted with it: /usr/local is root:staff 2775 on
        // many Debian systems.)
        if ((dir.st_mode & S_IWOTH) && !(dir.st_mode & S_ISVTX)) {
            w.problem = here + " is in " + done + ", which anyone may write to (mode " + octal(dir.st_mode) +
                        ", no sticky bit): anyone may replace it";
            return w;
        }
        if (open_to_others && !dir_owner_trusted) {
            w.problem = here + " is in " + done + ", which others may write to and uid " + std::to_string(dir.st_uid) +
                        " owns: its owner decides what the path names";
            return w;
        }
        if (open_to_others && !owner_trusted) {
            w.problem = here + (S_ISLNK(st.st_mode) ? " is a symbolic link" : " is") + " of uid " +
                        std::to_string(st.st_uid) + " in " + done +
                        ", which others may write to: its owner decides what the path names";
            return w;
        }
        if (!S_ISLNK(st.st_mode)) {
            if (!todo.empty() && !S_ISDIR(st.st_mode)) return stop();  // ENOTDIR
            on_way.emplace_back(::dup(entry.get()));
            if (!on_way.back()) return stop();
            cur = std::move(entry);
            done = here;
            continue;
        }
        if (++links > 40) return stop();  // ELOOP
        char target[PATH_MAX];
        ssize_t n = ::readlinkat(entry.get(), "", target, sizeof target - 1);
        if (n <= 0) return stop();
        std::string to(target, size_t(n));
        // Where the link leads, for the message: as the kernel would go.
        auto leads = [&] {
            char real[PATH_MAX];
            return ::realpath(here.c_str(), real) ? std::string(real) : to;
        };
        if (agent_links && agent_links->uid != 0 && st.st_uid == agent_links->uid) {
            w.problem = here + " is a symbolic link of uid " + std::to_string(st.st_uid) + ", the agent's user (to " +
                        leads() + "): an agent could have made it in an earlier session, to point this one elsewhere; "
                        "name where it leads instead";
            return w;
        }
        if (agent_links && agent_links->uid != 0 && agent_may_write_any(*agent_links, on_way)) {
            w.problem = here + " is a symbolic link (to " + leads() + ") below a directory the agent may write to: "
                        "an agent could have moved it, or what holds it, there in an earlier session, to point this "
                        "one elsewhere; name where it leads instead";
            return w;
        }
        if (to.front() == '/') {
            cur = UniqueFd(::dup(root.get()));
            done = "/";
            if (!from_root()) return stop();
        }
        push_front_components(todo, to);
    }
    w.real = done;
    return w;
}

}  // namespace

std::optional<std::string> untrusted_entry(const std::string& path, const TrustedOwners& trusted,
                                           const AgentLinks* agent_links) {
    return walk_path(path, trusted, agent_links).problem;
}

Result<std::string> trusted_real_path(const std::string& path, const TrustedOwners& trusted,
                                      const AgentLinks* agent_links) {
    Walk w = walk_path(path, trusted, agent_links);
    if (w.problem) return plain_error(*w.problem);
    return w.real;
}

}  // namespace sandboxd
