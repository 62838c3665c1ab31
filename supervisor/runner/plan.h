// A session's plan: everything computed from the profile and the host
// before anything is created (policy computed before clone, applied after).
// A bad profile, a missing kernel feature or a bad option fails here, with
// nothing to clean up.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "bpf/net_plan.h"
#include "cgroup/layout.h"
#include "landlock/policy.h"
#include "launch/identity.h"
#include "mounts/plan.h"
#include "policy/seccomp_policy.h"
#include "profile/profile.h"
#include "runner/run_session.h"
#include "session/dirs.h"

namespace sandboxd {

struct Plan {
    Identity identity;
    std::string workspace;
    Profile profile;
    SeccompProgram seccomp;
    std::optional<LandlockPolicy> landlock;  // none in audit mode
    MountPlan mounts;
    NetPlan network;
    CgroupHost cgroups;
    // Mount roots of destroy trees that are not on the state directory's
    // mount: each gets a snapshot store of its own (deletes are renames).
    std::vector<std::string> snapshot_mounts;
    // A write tree is on a filesystem that keeps no birth times (ext4 with
    // 128-byte inodes, NFS): rollback's sweep cannot tell what the agent
    // made there, so the gate sees every call that makes a name and
    // journals each with its undo record (GateConfig::journal_creates).
    bool journal_creates = false;
    // Every call that makes a name goes to the gate: where names are
    // guarded (a protected path that does not exist yet) or creates are
    // journaled.
    bool create_gate = false;
    // Kernel gaps the profile accepted: the session runs without them, says
    // so on stderr and journals them (session.start "weakened").
    std::vector<KernelGap> weakened;
};

Result<Plan> make_plan(const RunOptions& opts, const SandboxdDirs& dirs);

// The workspace (`--workspace`, else the working directory as the user
// reached it) as a real path, judged on the way for links an agent could
// have made or moved (base/path_trust.h); refused otherwise.
Result<std::string> resolve_workspace(const std::optional<std::string>& ws, const Identity& agent);

}  // namespace sandboxd
