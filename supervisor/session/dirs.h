// Where sessions are recorded. The runtime directory holds one state file a
// live session (gone at reboot, like the sessions); the state directory
// holds journals (and later snapshots), which outlive them.
#pragma once

#include <string>

#include "base/result.h"

namespace sandboxd {

struct SandboxdDirs {
    std::string runtime = "/run/sandboxd";   // $SANDBOXD_RUNTIME_DIR
    std::string state = "/var/lib/sandboxd";  // $SANDBOXD_STATE_DIR

    static SandboxdDirs from_env();
    std::string sessions_dir() const { return runtime + "/sessions"; }
    std::string record_path(const std::string& id) const { return sessions_dir() + "/" + id + ".json"; }
    std::string session_state_dir(const std::string& id) const { return state + "/sessions/" + id; }
    std::string journal_path(const std::string& id) const {
        return session_state_dir(id) + "/journal.jsonl";
    }
};

// 12 lowercase hex digits from getrandom(): unique enough to never collide
// on one host, short enough to type (any unique prefix is accepted).
Result<std::string> new_session_id();

}  // namespace sandboxd
