// Turns a LandlockPolicy into a kernel ruleset, in the supervisor, before the
// agent is cloned. The child inherits the descriptor and only has to call
// landlock_restrict_self() on it.
#pragma once

#include "base/result.h"
#include "base/unique_fd.h"
#include "landlock/policy.h"

namespace sandboxd {

Result<UniqueFd> build_landlock_ruleset(const LandlockPolicy& policy);

// What the child calls (no allocation): enforce the ruleset on itself and
// every process it will start. Returns 0 or -1 with errno.
int landlock_restrict_self(int ruleset_fd);

}  // namespace sandboxd
