// Who the agent runs as. Never root unless root asked for it by name.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace sandboxd {

struct Identity {
    uid_t uid = 65534;
    gid_t gid = 65534;
    std::vector<gid_t> groups;  // supplementary groups
    std::string user;           // name, or the number when there is no passwd entry
    std::string home;           // from passwd; "/nonexistent" when unknown
    std::string shell;
};

// Resolves `spec` ("name", "uid", "name:group", "uid:gid"). Without a spec:
// SUDO_UID/SUDO_GID when set (the user behind sudo); otherwise, when the
// caller is root, the unprivileged "nobody" account, because an agent
// inherits root only when root says --user root; otherwise the caller.
Result<Identity> resolve_identity(const std::optional<std::string>& spec);

}  // namespace sandboxd
