// Carries out a MountPlan inside the child's new mount namespace. Runs
// between clone and exec: no allocation, errors returned as {step, errno}.
#pragma once

#include <cstdint>

#include "mounts/plan.h"

namespace sandboxd {

enum class SpawnStep : int;

struct MountFailure {
    SpawnStep step;
    int err;
};

// Returns true on success; on failure fills `failure`. `ruleset_fd` (may be
// -1) receives rules granting `tmp_access` on the new private /tmp and
// /dev/shm, which did not exist when the supervisor built the ruleset.
// `proc_access`, when not 0, is granted on the session's new /proc the same way.
bool setup_mounts(const MountPlan& plan, int ruleset_fd, uint64_t tmp_access, uint64_t proc_access,
                  MountFailure& failure);

}  // namespace sandboxd
