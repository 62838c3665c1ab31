// Turns a LandlockPolicy into a kernel ruleset, in the supervisor, before the
// agent is cloned. The child inherits the descriptor and only has to call
// landlock_restrict_self() on it.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "landlock/policy.h"

namespace sandboxd {

Result<UniqueFd> build_landlock_ruleset(const LandlockPolicy& policy);

// Adds a rule for the directory open at `dir_fd` (any descriptor, also one
// for a path the agent's mount namespace hides): the snapshot gate's
// worker gets the agent's rules plus its store this way.
Status landlock_add_tree(int ruleset_fd, int dir_fd, uint64_t access);

// What the child calls (no allocation): enforce the ruleset on itself and
// every process it will start. Returns 0 or -1 with errno.
int landlock_restrict_self(int ruleset_fd);

}  // namespace sandboxd
