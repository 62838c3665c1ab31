// Turning profile text into a resolved Profile, in three steps:
//   parse   TOML -> ProfileSpec: every key and type checked, values typed,
//           paths still raw (they may hold ${WORKSPACE} and ${HOME});
//   merge   follow `extends`: a key set in a child replaces the parent's;
//   resolve expand variables, normalize, check that paths exist.
// Every error names the file, line and column, the key, and what was
// expected; unknown keys are errors, because a typo that silently dropped a
// scope would widen or narrow the sandbox without anyone noticing.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "profile/profile.h"

namespace sandboxd {

template <typename T>
struct Located {
    T value;
    SourcePos pos;
};

// One profile file as written, before `extends` and variables.
struct ProfileSpec {
    std::string source;
    std::optional<Located<std::string>> name;
    std::optional<Located<std::string>> description;
    std::optional<Located<std::string>> extends;
    std::optional<Located<int>> tier;

    using Paths = std::vector<Located<std::string>>;
    std::optional<Paths> read, write, destroy, protect, hide, exec_allow;
    std::optional<std::vector<NetRule>> connect;
    std::optional<std::vector<Located<std::string>>> syscall_deny, syscall_allow;

    std::optional<bool> events_files;
    std::optional<Located<bool>> events_reads;
    std::optional<uint64_t> journal_limit;
    std::optional<std::vector<Located<std::string>>> accept_missing;
    std::optional<uint64_t> snapshot_budget;
    std::optional<uint32_t> snapshot_retention_sec;
    std::optional<uint64_t> memory_bytes;
    std::optional<uint64_t> pids;
    std::optional<uint32_t> cpu_millicores;
    std::optional<uint32_t> approval_timeout_sec;
    std::optional<TimeoutAction> on_timeout;
};

// Values the profile's paths may refer to.
struct ProfileVars {
    std::string workspace;  // ${WORKSPACE}
    std::string home;       // ${HOME}
    // The agent's user and group: their entries in shared directories are
    // trusted (path_trust.h).
    uid_t agent_uid = 0;
    gid_t agent_gid = 0;
    std::vector<gid_t> agent_groups;  // supplementary
};

// Parses one profile document. `source` names it in error messages.
Result<ProfileSpec> parse_profile(std::string_view text, const std::string& source);

// Parses one network entry ("10.0.0.0/8:443", "[::1]:53", "example.com:*").
Result<NetRule> parse_net_rule(std::string_view text);

// Finds profiles by name or path and resolves them.
class ProfileLoader {
public:
    // Directories searched for NAME.toml, first match wins; the profiles
    // compiled into the binary come last.
    explicit ProfileLoader(std::vector<std::string> search_dirs);
    // The default search path: $SANDBOXD_PROFILE_PATH (colon-separated),
    // then /etc/sandboxd/profiles, then the installed profile directory.
    static ProfileLoader with_default_path();

    // `ref` is a profile name ("workspace") or a path to a .toml file (it
    // contains a '/' or ends in ".toml").
    Result<Profile> load(const std::string& ref, const ProfileVars& vars) const;

    const std::vector<std::string>& search_dirs() const { return dirs_; }

private:
    struct Found {
        std::string text;
        std::string source;
    };
    Result<Found> find(const std::string& ref, const std::string& relative_to) const;

    std::vector<std::string> dirs_;
};

// Renders a resolved profile as TOML, as `sandboxctl profile check` prints it.
std::string format_profile(const Profile& p);

}  // namespace sandboxd
