// One file per sandboxctl verb; each registers its subcommand and returns
// the exit status: 0 success, 1 the operation failed, 2 bad usage.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace sandboxctl {

using Action = std::function<int()>;

Action add_ps(CLI::App& app);
Action add_freeze(CLI::App& app);
Action add_thaw(CLI::App& app);
Action add_kill(CLI::App& app);
Action add_profile(CLI::App& app);
Action add_log(CLI::App& app);
Action add_rollback(CLI::App& app);
Action add_prune(CLI::App& app);

// "sandboxctl: message" on stderr.
void complain(const std::string& message);

}  // namespace sandboxctl
