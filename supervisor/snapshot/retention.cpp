#include "snapshot/retention.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/unique_fd.h"
#include "journal/journal.h"
#include "journal/json_text.h"

namespace sandboxd {
namespace {

// Removes a store tree, counting what it held. No symlink is followed:
// the store holds the agent's objects, symlinks among them.
uint64_t remove_tree(int parent, const std::string& name) {
    uint64_t bytes = 0;
    struct stat st{};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    if (S_ISDIR(st.st_mode)) {
        int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            DIR* d = ::fdopendir(fd);
            std::vector<std::string> names;
            while (dirent* e = d ? ::readdir(d) : nullptr)
                if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") names.emplace_back(e->d_name);
            for (const auto& n : names) bytes += remove_tree(::dirfd(d), n);
            if (d) ::closedir(d);
        }
        ::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
    } else {
        if (S_ISREG(st.st_mode)) bytes = uint64_t(st.st_size);
        ::unlinkat(parent, name.c_str(), 0);
    }
    return bytes;
}

}  // namespace

std::vector<PrunedSession> prune_expired_snapshots(const SandboxdDirs& dirs, int64_t now_usec, bool dry_run) {
    std::vector<PrunedSession> out;
    std::string base = dirs.state + "/sessions";
    DIR* d = ::opendir(base.c_str());
    if (!d) return out;
    std::vector<std::string> ids;
    while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& id : ids) {
        if (::access(dirs.record_path(id).c_str(), F_OK) == 0) continue;  // live or frozen
        auto course = [](const nlohmann::json& l) {
            std::string action = text_at(l, "action");
            return action == "session.start" || action == "session.end" || action == "snapshots.pruned";
        };
        auto scan = scan_journal_file(dirs.journal_path(id), course);
        if (!scan || !scan->problems.empty()) continue;  // unreadable: never guess, keep everything
        int64_t ended = 0, retention = -1;
        std::vector<std::string> stores;
        bool pruned = false;
        for (const auto& l : scan->lines) {
            const auto& j = l.value;
            std::string action = text_at(j, "action");
            if (!j.contains("detail") || !j["detail"].is_object()) continue;
            const auto& det = j["detail"];
            if (action == "session.start") {
                retention = integer_at(det, "snapshot_retention_sec").value_or(-1);
                if (det.contains("snapshot_stores") && det["snapshot_stores"].is_array())
                    for (const auto& s : det["snapshot_stores"])
                        if (auto store = text_value(s); !store.empty()) stores.push_back(store);
            } else if (action == "session.end") {
                ended = integer_at(det, "ended_usec").value_or(0);
            } else if (action == "snapshots.pruned") {
                pruned = true;
            }
        }
        // No end line: the supervisor died (the session has no record, so
        // it is not running). It ended at the latest with its journal's
        // last write.
        struct stat jst{};
        if (ended == 0 && ::stat(dirs.journal_path(id).c_str(), &jst) == 0)
            ended = int64_t(jst.st_mtim.tv_sec) * 1000000 + jst.st_mtim.tv_nsec / 1000;
        if (pruned || stores.empty() || ended == 0 || retention < 0) continue;
        if (ended + retention * 1000000 > now_usec) continue;
        PrunedSession p;
        p.id = id;
        for (const auto& s : stores) {
            // Only what this session's journal names as its store, and only
            // a directory named for this session or its "snapshots" one.
            if (!(s.ends_with("/" + id) || s == dirs.session_state_dir(id) + "/snapshots")) {
                p.problem = "store path " + s + " does not belong to the session; left alone";
                continue;
            }
            size_t slash = s.find_last_of('/');
            UniqueFd parent(::open(s.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            if (!parent) continue;
            p.stores.push_back(s);
            if (!dry_run) p.bytes += remove_tree(parent.get(), s.substr(slash + 1));
        }
        if (!dry_run) {
            auto j = Journal::open(dirs.journal_path(id), id);
            if (j) {
                JournalEntry e = sandboxctl_entry("snapshots.pruned", id, "info", "snapshots.retention");
                e.detail = {{"stores", p.stores}, {"bytes", p.bytes}};
                (void)j->append(e);
            }
        }
        out.push_back(std::move(p));
    }
    return out;
}

void prune_in_background_if_due(const SandboxdDirs& dirs, int64_t now_usec) {
    std::string stamp = dirs.state + "/.last-prune";
    auto due = [&](int fd) {
        struct stat st{};
        return ::fstat(fd, &st) != 0 || st.st_size == 0 ||
               int64_t(st.st_mtime) * 1000000 + int64_t(kPruneEveryHours) * 3600 * 1000000 <= now_usec;
    };
    UniqueFd fd(::open(stamp.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd || !due(fd.get())) return;
    // Claimed under a lock, then looked at again: sessions ending together
    // start one pruner, not one each.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0 || !due(fd.get())) return;
    if (::pwrite(fd.get(), "1", 1, 0) != 1 || ::futimens(fd.get(), nullptr) != 0) return;
    // Two forks: the pruner is nobody's child to wait for.
    pid_t child = ::fork();
    if (child < 0) return;
    if (child == 0) {
        if (::fork() == 0) {
            // Nothing of the session's: no descriptor held open (a tty, a
            // pipe someone waits on to close, BPF objects), signals as for
            // any process, so that it can be stopped.
            ::setsid();
            ::close_range(3, ~0U, 0);
            int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            for (int std_fd = 0; std_fd < 3 && null >= 0; ++std_fd) ::dup2(null, std_fd);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            (void)prune_expired_snapshots(dirs, now_usec, false);
        }
        ::_exit(0);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace sandboxd
