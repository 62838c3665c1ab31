// sandboxctl kill ID...|--all: ends sessions (cgroup.kill) and returns once
// their cgroups are empty. Also clears sessions whose supervisor died.
#include "base/time_util.h"
#include "cgroup/control.h"
#include "commands.h"
#include "select.h"

namespace sandboxctl {

Action add_kill(CLI::App& app) {
    auto* cmd = app.add_subcommand("kill", "Kill every process of sessions; returns when they are gone");
    struct Opts {
        std::vector<std::string> ids;
        bool all = false;
    };
    auto o = std::make_shared<Opts>();
    add_target_options(cmd, o->ids, o->all);
    return [o] {
        sandboxd::RealtimeBoost boost;
        auto sessions = select_sessions(o->ids, o->all);
        if (!sessions) {
            complain(sessions.error().describe());
            return 2;
        }
        int rc = 0;
        for (const auto& s : *sessions) {
            int64_t t0 = sandboxd::monotonic_nsec();
            if (s.state != sandboxd::SessionState::Stale) {
                if (auto st = sandboxd::cgroup_kill(s.record.cgroup, 10000); !st) {
                    complain(s.record.id + ": " + st.error().describe());
                    rc = 1;
                    continue;
                }
            }
            double ms = double(sandboxd::monotonic_nsec() - t0) / 1e6;
            if (auto st = journal_admin_action(s, "session.kill", "info", ms); !st)
                complain(s.record.id + ": not journaled: " + st.error().describe());
            // A live supervisor sees its agent die and cleans up itself; a
            // dead one cannot, so its leftovers are cleared here.
            if (s.state == sandboxd::SessionState::Orphaned || s.state == sandboxd::SessionState::Stale) {
                if (auto st = sandboxd::reap_stale(s); !st) {
                    complain(s.record.id + ": " + st.error().describe());
                    rc = 1;
                }
            }
            std::printf("killed %s in %.3f ms\n", s.record.id.c_str(), ms);
        }
        return rc;
    };
}

}  // namespace sandboxctl
