#include "session/registry.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>

#include "base/file_io.h"
#include "cgroup/control.h"

namespace sandboxd {

const char* session_state_name(SessionState s) {
    switch (s) {
        case SessionState::Running: return "running";
        case SessionState::Frozen: return "frozen";
        case SessionState::Orphaned: return "orphaned";
        case SessionState::Stale: return "stale";
    }
    return "unknown";
}

std::vector<SessionView> list_sessions(const SandboxdDirs& dirs, std::vector<std::string>& problems) {
    std::vector<SessionView> out;
    std::string dir = dirs.sessions_dir();
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno != ENOENT) problems.push_back(errno_error("cannot list " + dir).describe());
        return out;
    }
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (!name.ends_with(".json")) continue;
        SessionView v;
        v.record_path = dir + "/" + name;
        auto text = read_file(v.record_path);
        if (!text) {
            if (text.error().code != ENOENT) problems.push_back(text.error().describe());
            continue;
        }
        auto rec = record_from_json(*text, v.record_path);
        if (!rec) {
            problems.push_back(rec.error().describe());
            continue;
        }
        v.record = std::move(*rec);
        bool alive = v.record.supervisor_start != 0 &&
                     process_start_time(v.record.supervisor_pid) == v.record.supervisor_start;
        auto procs = cgroup_process_count(v.record.cgroup);
        v.processes = procs ? *procs : 0;
        auto frozen = cgroup_is_frozen(v.record.cgroup);
        if (frozen && *frozen) v.state = SessionState::Frozen;
        else if (alive) v.state = SessionState::Running;
        else v.state = v.processes > 0 ? SessionState::Orphaned : SessionState::Stale;
        out.push_back(std::move(v));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const SessionView& a, const SessionView& b) {
        return a.record.started_usec < b.record.started_usec;
    });
    return out;
}

Result<SessionView> find_session(const SandboxdDirs& dirs, const std::string& prefix) {
    if (prefix.empty()) return plain_error("empty session id");
    std::vector<std::string> problems;
    std::vector<SessionView> matches;
    for (auto& s : list_sessions(dirs, problems)) {
        if (s.record.id.starts_with(prefix) || (!s.record.name.empty() && s.record.name == prefix))
            matches.push_back(std::move(s));
    }
    if (matches.empty())
        return plain_error("no session matches '" + prefix + "' (see sandboxctl ps)");
    if (matches.size() > 1)
        return plain_error("'" + prefix + "' matches " + std::to_string(matches.size()) +
                           " sessions; give more of the id");
    return std::move(matches.front());
}

Status reap_stale(const SessionView& s) {
    for (const auto& p : s.record.cgroup_v1)
        if (::rmdir(p.c_str()) != 0 && errno != ENOENT) return errno_error("cannot remove " + p);
    if (::rmdir(s.record.cgroup.c_str()) != 0 && errno != ENOENT)
        return errno_error("cannot remove " + s.record.cgroup);
    if (::unlink(s.record_path.c_str()) != 0 && errno != ENOENT)
        return errno_error("cannot remove " + s.record_path);
    return {};
}

}  // namespace sandboxd
