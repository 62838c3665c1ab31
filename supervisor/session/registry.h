// All sessions on this host, as seen from their state entries and cgroups.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "session/dirs.h"
#include "session/record.h"

namespace sandboxd {

enum class SessionState {
    Running,   // supervisor alive, not frozen
    Frozen,    // cgroup frozen (kill switch engaged)
    Orphaned,  // supervisor gone, agent processes still confined in the cgroup
    Stale,     // supervisor gone, cgroup empty or missing: only the entry is left
};

const char* session_state_name(SessionState s);

struct SessionView {
    SessionRecord record;
    std::string record_path;
    SessionState state = SessionState::Running;
    int processes = 0;
};

// Every readable state entry; unreadable ones are skipped and described in
// `problems` so that one corrupt file never hides the other sessions.
std::vector<SessionView> list_sessions(const SandboxdDirs& dirs, std::vector<std::string>& problems);

// The one session whose id starts with `prefix` (or whose name equals it).
Result<SessionView> find_session(const SandboxdDirs& dirs, const std::string& prefix);

// Removes what a dead supervisor left behind for a session whose cgroup is
// empty: its cgroup directories and its state entry.
Status reap_stale(const SessionView& s);

}  // namespace sandboxd
