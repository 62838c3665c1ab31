// The cgroup(s) of one session: a cgroup v2 directory the agent is cloned
// into (CLONE_INTO_CGROUP, so no instant of the agent's life is outside it),
// plus, on hybrid hosts, v1 pids/memory/cpu directories for the limits.
// Only directories this object created are ever written to or removed.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/layout.h"
#include "profile/profile.h"

namespace sandboxd {

class SessionCgroup {
public:
    // Creates <base>/<id> in v2 and, on hybrid hosts, in the v1 controller
    // of each limit that is set: joining a v1 cgroup costs the agent an RCU
    // grace period at start-up, so controllers nobody needs are left alone.
    static Result<SessionCgroup> create(const CgroupHost& host, const std::string& id, const Limits& limits);

    SessionCgroup(SessionCgroup&&) noexcept = default;
    SessionCgroup& operator=(SessionCgroup&&) noexcept = default;
    // Kills whatever is left and removes the directories.
    ~SessionCgroup();

    // Writes the profile's limits. A limit whose controller is missing is not
    // fatal; it is returned in `unapplied` with the reason, for the caller to
    // say out loud.
    Status apply_limits(const Limits& limits, std::vector<std::string>& unapplied);

    const std::string& v2_path() const { return v2_path_; }
    std::vector<std::string> v1_paths() const;
    int v2_dirfd() const { return v2_dir_.get(); }
    // "tasks" of each v1 directory, for the child to join by writing "0".
    std::vector<int> v1_join_fds() const;

    // Kills every process (cgroup.kill) and waits until the cgroup is empty,
    // then removes the directories. Idempotent.
    Status destroy();

private:
    SessionCgroup() = default;

    struct V1Dir {
        std::string controller;
        std::string path;
        UniqueFd procs;
    };
    std::string v2_path_;
    UniqueFd v2_dir_;
    std::vector<V1Dir> v1_;
    bool v1_host_ = false;  // limits live in v1 controllers (hybrid layout)
    bool destroyed_ = true;
};

}  // namespace sandboxd
