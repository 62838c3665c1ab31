// sandboxctl prune [--dry-run]: removes the snapshots of finished sessions
// whose retention has run out, and the cgroups of sessions whose supervisor
// was killed before it could remove them. Journals stay.
#include "base/terminal_text.h"
#include "cgroup/abandoned.h"
#include "cgroup/layout.h"
#include "base/time_util.h"
#include "commands.h"
#include "session/dirs.h"
#include "snapshot/retention.h"

namespace sandboxctl {

Action add_prune(CLI::App& app) {
    auto* cmd = app.add_subcommand("prune", "Remove snapshots of finished sessions past their retention, and abandoned cgroups");
    auto dry = std::make_shared<bool>(false);
    cmd->add_flag("--dry-run,-n", *dry, "List what would be removed");
    return [dry] {
        auto dirs = sandboxd::SandboxdDirs::from_env();
        auto pruned = sandboxd::prune_expired_snapshots(dirs, sandboxd::realtime_usec(), *dry);
        int problems = 0;
        for (const auto& p : pruned) {
            for (const auto& s : p.stores)
                std::printf("%s  %s %s\n", p.id.c_str(), *dry ? "would remove" : "removed",
                            sandboxd::terminal_safe(s).c_str());
            if (!p.problem.empty()) {
                complain(p.id + ": " + p.problem);
                ++problems;
            }
        }
        std::printf("%zu session(s) past retention%s\n", pruned.size(), *dry ? " (dry run: nothing removed)" : "");
        auto host = sandboxd::detect_cgroup_host();
        if (!host) {
            complain(host.error().describe());
            return 1;
        }
        auto swept = sandboxd::sweep_abandoned_cgroups(*host, *dry);
        for (const auto& c : swept.removed)
            std::printf("%s abandoned cgroup %s\n", *dry ? "would remove" : "removed", c.c_str());
        for (const auto& p : swept.problems) complain(p);
        problems += int(swept.problems.size());
        return problems ? 1 : 0;
    };
}

}  // namespace sandboxctl
