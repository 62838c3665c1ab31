// Picking the sessions a verb acts on, and recording admin actions in the
// session's own journal, so the log shows who froze or killed it and when.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "session/registry.h"

namespace sandboxctl {

// `ids` (unique prefixes or names) or, with `all`, every session.
sandboxd::Result<std::vector<sandboxd::SessionView>> select_sessions(const std::vector<std::string>& ids,
                                                                     bool all);

// Appends an admin action ("session.freeze", ...) to the session's journal.
sandboxd::Status journal_admin_action(const sandboxd::SessionView& s, const std::string& action,
                                      const std::string& decision, double elapsed_ms);

// The id of the one session journal directory whose name starts with
// `prefix`: also finds sessions that have ended (their journals remain).
sandboxd::Result<std::string> find_session_id(const sandboxd::SandboxdDirs& dirs, const std::string& prefix);

// Adds the ID... positional and --all to a verb.
void add_target_options(CLI::App* cmd, std::vector<std::string>& ids, bool& all);

}  // namespace sandboxctl
